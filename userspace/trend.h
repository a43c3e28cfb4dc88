/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Growth statistics for one allocation site: a bounded series of (time, live bytes, live count)
 * samples, and a verdict (leak / growing / plateau / stable) drawn from it after every drain.
 *
 * The test is Mann-Kendall on the samples of the last window (ties, continuity correction,
 * variance widened for serial correlation), the rate is the Theil-Sen slope; both rank based.
 * Shape checks on top of the test keep queues, caches, churn and slow wander out of "leak";
 * hysteresis keeps the published verdict from flapping. trend.c says how. Pure logic: no I/O,
 * no global state.
 */
#ifndef LW_TREND_H
#define LW_TREND_H

#include <stdbool.h>
#include <stdint.h>

#include "snapshot.h"

/* Fewest samples the test decides on; a shorter window is stretched back to this many. */
#define LW_TREND_MIN_SAMPLES 8
/* Fewest samples the slope is measured on; below it growth_bytes_per_sec is 0. */
#define LW_TREND_MIN_SLOPE 3
/* Most samples tested (O(n^2)); a longer window is subsampled evenly. */
#define LW_TREND_MAX_SAMPLES 256
/* Consecutive evaluations that must support a new verdict before it is published. */
#define LW_TREND_CONFIRM 2

struct lw_sample {
	double t; /* seconds, monotonic clock */
	int64_t live_bytes;
	int64_t live_allocs;
};

/* Ring buffer of the last cap samples of one site; opaque, one allocation of 24 B a sample. */
struct lw_series;

/* NULL with errno EINVAL (cap 0) or ENOMEM. */
struct lw_series *lw_series__new(unsigned int cap);
void lw_series__free(struct lw_series *s);
/*
 * Append a sample, dropping the oldest when full. Time must increase: a sample at the time of
 * the last one replaces it, an older one is ignored.
 */
void lw_series__push(struct lw_series *s, double t, int64_t live_bytes, int64_t live_allocs);
unsigned int lw_series__len(const struct lw_series *s);
unsigned int lw_series__cap(const struct lw_series *s);
/* Sample i, 0 the oldest kept; NULL when out of range. */
const struct lw_sample *lw_series__at(const struct lw_series *s, unsigned int i);
/* The newest sample, NULL when empty. */
const struct lw_sample *lw_series__last(const struct lw_series *s);
/* Time of the first sample ever pushed (it may have left the ring); 0 when empty. */
double lw_series__first_t(const struct lw_series *s);
/* Lowest and highest live bytes ever pushed, including samples that left the ring. */
int64_t lw_series__min_bytes(const struct lw_series *s);
int64_t lw_series__max_bytes(const struct lw_series *s);

struct lw_trend_params {
	double window_sec;	   /* samples tested: those of the last window_sec */
	uint64_t min_growth_bytes; /* least Theil-Sen growth over the window to count */
	double significance;	   /* test level alpha, 0 < alpha < 0.5 */
	double warmup_sec;	   /* a site seen for less than this is never "leak" */
};

/* The configuration defaults, which the tests use. */
#define LW_TREND_PARAMS_DEFAULT                                                                    \
	{                                                                                          \
		.window_sec = 60.0, .min_growth_bytes = 4096, .significance = 0.01,                \
		.warmup_sec = 15.0,                                                                \
	}

/*
 * What one site carries from one evaluation to the next. All zeros is the valid initial state
 * (stable, nothing pending).
 */
struct lw_trend_state {
	enum lw_verdict verdict;    /* the published verdict */
	enum lw_verdict pending;    /* the change waiting for confirmation */
	unsigned int pending_count; /* consecutive evaluations supporting it */
	bool grown;		    /* was growing or leak since it was last stable */
	bool evaluated;		    /* last_t and peak_bytes are valid */
	int64_t peak_bytes;	    /* highest live bytes since it was last stable */
	double peak_t;		    /* when peak_bytes was seen */
	double since_t;		    /* when the published verdict was entered */
	double last_t;		    /* newest sample the last evaluation saw */
	double turnover_t;	    /* since when a leak's age evidence says turnover; 0 not */
};

/*
 * Allocation-age evidence for one site (struct lw_agg_val's cohorts): of the blocks born between
 * two boundaries some time ago, how many bytes still live. Leaked blocks never die, so a leak
 * keeps what it grew between them; a queue, a turning-over cache or short-lived churn that
 * happens to rise does not, and blocks held since before the first boundary do not count.
 */
struct lw_trend_age {
	bool valid;		/* two boundaries old enough to have seen deaths */
	double from_t, to_t;	/* when they were set, on the series' clock */
	int64_t retained_bytes;	/* bytes born between them still live now */
};

/* Why this evaluation's own verdict (the candidate) is what it is. */
enum lw_trend_reason {
	LW_TREND_FEW_SAMPLES = 0, /* too few samples to decide; verdict kept */
	LW_TREND_NO_TREND,	  /* no significant increase */
	LW_TREND_SMALL_GROWTH,	  /* significant but below min_growth_bytes */
	LW_TREND_GIVEN_BACK,	  /* rises are freed again (queue, sawtooth, churn) */
	LW_TREND_FLOOR_FLAT,	  /* the low points do not rise with the rest */
	LW_TREND_STOPPED,	  /* no new high lately: growth has stopped */
	LW_TREND_INCONCLUSIVE,	  /* was growing, still new highs, test not clear: kept */
	LW_TREND_WARMUP,	  /* growing, but seen for less than warmup_sec */
	LW_TREND_NOT_MONOTONE,	  /* growing, but not steadily enough for a leak */
	LW_TREND_AGE_PENDING,	  /* leak-shaped, but no age evidence yet */
	LW_TREND_TURNOVER,	  /* leak-shaped, but the blocks behind the growth die */
	LW_TREND_MONOTONE,	  /* steady, significant, material growth: leak */
	LW_TREND_CONTINUES,	  /* a leak that keeps growing */
	LW_TREND_LEVELLED,	  /* grew, now flat at a higher level: plateau */
	LW_TREND_REASON_MAX,
};

struct lw_trend_result {
	enum lw_verdict verdict; /* published verdict, after hysteresis */
	/*
	 * leak, growing: 1 - p of the trend test for an increase. stable: 1 - p of the test that
	 * the window's growth rate is below min_growth_bytes per window (how sure we are there is
	 * no material growth); plateau: the same on the flat stretch (the whole window once it
	 * shows no increase, else since the last new high). 0 with too few samples.
	 */
	double confidence;
	double growth_bytes_per_sec; /* Theil-Sen slope over the window; 0 with < 3 samples */
	enum lw_verdict candidate;   /* this evaluation's verdict, before hysteresis */
	enum lw_trend_reason reason; /* why the candidate */
	double p_value;		     /* one-sided p of the increase test; 1 when untested */
	/*
	 * Bytes born between the age boundaries still live, against the growth the Theil-Sen
	 * slope puts between them, 0..1; < 0 when unknown (no evidence, or no growth).
	 */
	double retained_share;
	unsigned int nsamples;	     /* samples the evaluation used */
};

/*
 * Evaluate the site after a push: updates st (call once per new sample; a call that sees no
 * new sample recomputes the result without counting towards a verdict change) and fills out.
 * p NULL means LW_TREND_PARAMS_DEFAULT. age NULL judges on the series alone; otherwise a
 * leak needs the age evidence too (valid, and most of the growth retained). Uses about 80 KiB
 * of stack.
 */
void lw_trend__eval(const struct lw_series *s, const struct lw_trend_params *p,
		    const struct lw_trend_age *age, struct lw_trend_state *st,
		    struct lw_trend_result *out);

/* One line for debug logs and tests: "steady, significant, material growth". */
const char *lw_trend__explain(enum lw_trend_reason reason);

/*
 * The statistics alone, for tests and for callers with their own arrays. Theil-Sen: median of
 * the pairwise slopes of (t, x) over pairs with distinct t (at most 128 points are used, evenly
 * spread); 0 with fewer than 2 points. Mann-Kendall: one-sided p-value for an increasing trend
 * of x in sample order, tie and continuity corrected, without the serial-correlation
 * correction; 1 with fewer than 3 points.
 */
double lw_trend__theil_sen(const double *t, const double *x, unsigned int n);
double lw_trend__mk_p_increase(const double *x, unsigned int n);

#endif /* LW_TREND_H */
