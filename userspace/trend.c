// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trend verdicts for allocation sites.
 *
 * A leak is memory allocated and never freed: live bytes rise and their low points rise with
 * them. Queues and caches also rise for a while, churn rises at random, load wanders. Of the
 * samples in the last window the evaluation asks:
 *   - is there an increasing trend?  Mann-Kendall: rank based, so one huge allocation weighs
 *     no more than a small one; its variance is widened for serial correlation (memory series
 *     are smooth, and a slow wander otherwise reads as a trend);
 *   - is it material?  Theil-Sen slope times the window span against min_growth_bytes;
 *   - is it kept?  the deepest fall stays under half the range and the last quarter's low sits
 *     above the first quarter's: a queue that fills and drains fails both;
 *   - is it new?  the last quarter holds a high above everything of the two windows before;
 *   - is it a leak?  also new highs in three quarters of four, every quarter's low above the
 *     previous one, nothing given back over two windows, the site watched for warmup_sec and
 *     growing for a quarter window already.
 * Hysteresis: a verdict is published once two evaluations in a row support it (growing and leak
 * count together, as do stable and plateau); growing becomes leak at once, growth having been
 * confirmed. A published growing or leak is kept at a 5x looser level, and while new highs keep
 * coming; it ends when the recent quarter is clearly flat (its slope significantly below the
 * window's, no new high for 1.5 times the longest gap between highs), when nothing new came
 * for half a window and the test no longer holds, or when the growth was given back.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trend.h"

#define TS_MAX		128   /* Theil-Sen points: 8128 pairwise slopes on the stack */
#define STAY_FACTOR	5.0   /* a published growing/leak keeps it while p < 5 alpha */
#define GIVE_BACK_MAX	0.5   /* growth: deepest fall under half the window's range */
#define GIVE_BACK_STAY	0.75  /* ... under 3/4 to stay growing or leak */
#define FLOOR_RISE	0.25  /* growth: last-quarter low rises by 1/4 of it (1/8 to stay) */
#define LEAK_FLOOR_RISE 0.5   /* leak: ... by half of it */
#define LEAK_GIVE_BACK	0.25  /* leak: over two windows, deepest fall under 1/4 of the range */
#define LEAK_QUARTERS	3     /* leak: a material new high in at least 3 of the 4 quarters */
#define ACF_Z		1.96  /* serial correlation: used when significant at 5% */
#define RHO_MAX		0.95  /* ... and capped: a random walk is not estimable */
#define NOISE_K		2.0   /* a new high counts when it clears the old one by 2 sigma */
#define WARMUP_ALPHA	0.1   /* growing before warmup needs alpha/10 */
#define STOP_ALPHA	0.001 /* "stopped" needs alpha/1000: windows overlap, chance stops recur */
#define PLATEAU_KEEP	0.5   /* plateau: recent low keeps half the growth to the peak */
#define RETAIN_ENTER	0.5   /* leak: at least half the growth before the age boundary lives */
#define RETAIN_STAY	0.25  /* ... a quarter to stay a leak */

struct lw_series {
	unsigned int cap;
	unsigned int len;
	unsigned int head; /* index of the oldest sample */
	bool started;
	double first_t;
	int64_t min_bytes;
	int64_t max_bytes;
	struct lw_sample v[];
};

struct lw_series *lw_series__new(unsigned int cap)
{
	struct lw_series *s;

	if (!cap) {
		errno = EINVAL;
		return NULL;
	}
	s = malloc(sizeof(*s) + (size_t)cap * sizeof(s->v[0]));
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->cap = cap;
	return s;
}

void lw_series__free(struct lw_series *s)
{
	free(s);
}

static struct lw_sample *series_slot(const struct lw_series *s, unsigned int i)
{
	return (struct lw_sample *)&s->v[(s->head + i) % s->cap];
}

void lw_series__push(struct lw_series *s, double t, int64_t live_bytes, int64_t live_allocs)
{
	struct lw_sample *slot;

	if (!s || !isfinite(t))
		return;
	if (s->len) {
		slot = series_slot(s, s->len - 1);
		if (t < slot->t)
			return;
		if (t > slot->t) {
			if (s->len == s->cap)
				s->head = (s->head + 1) % s->cap;
			else
				s->len++;
			slot = series_slot(s, s->len - 1);
		}
	} else {
		s->len = 1;
		slot = series_slot(s, 0);
	}
	if (!s->started) {
		s->started = true;
		s->first_t = t;
		s->min_bytes = live_bytes;
		s->max_bytes = live_bytes;
	}
	if (live_bytes < s->min_bytes)
		s->min_bytes = live_bytes;
	if (live_bytes > s->max_bytes)
		s->max_bytes = live_bytes;
	slot->t = t;
	slot->live_bytes = live_bytes;
	slot->live_allocs = live_allocs;
}

unsigned int lw_series__len(const struct lw_series *s)
{
	return s ? s->len : 0;
}

unsigned int lw_series__cap(const struct lw_series *s)
{
	return s ? s->cap : 0;
}

const struct lw_sample *lw_series__at(const struct lw_series *s, unsigned int i)
{
	return s && i < s->len ? series_slot(s, i) : NULL;
}

const struct lw_sample *lw_series__last(const struct lw_series *s)
{
	return s && s->len ? series_slot(s, s->len - 1) : NULL;
}

double lw_series__first_t(const struct lw_series *s)
{
	return s && s->started ? s->first_t : 0;
}

int64_t lw_series__min_bytes(const struct lw_series *s)
{
	return s && s->started ? s->min_bytes : 0;
}

int64_t lw_series__max_bytes(const struct lw_series *s)
{
	return s && s->started ? s->max_bytes : 0;
}

/* ---- order statistics ---- */

static void swap_d(double *a, double *b)
{
	double t = *a;

	*a = *b;
	*b = t;
}

/* k-th smallest (0-based) by quickselect; leaves v[0..k-1] <= v[k] <= v[k+1..n-1]. */
static double select_kth(double *v, int n, int k)
{
	int lo = 0, hi = n - 1;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2, i = lo, j = hi;
		double pivot;

		/* median of three: sorted input, the common case here, stays O(n) */
		if (v[mid] < v[lo])
			swap_d(&v[mid], &v[lo]);
		if (v[hi] < v[lo])
			swap_d(&v[hi], &v[lo]);
		if (v[hi] < v[mid])
			swap_d(&v[hi], &v[mid]);
		pivot = v[mid];
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j)
				swap_d(&v[i++], &v[j--]);
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

/* Median of v (reordered); n > 0. */
static double median(double *v, int n)
{
	double lo, hi;

	if (n & 1)
		return select_kth(v, n, n / 2);
	lo = select_kth(v, n, n / 2 - 1);
	hi = v[n / 2];
	for (int i = n / 2 + 1; i < n; i++)
		if (v[i] < hi)
			hi = v[i];
	return (lo + hi) / 2;
}

/* ---- Mann-Kendall and Theil-Sen ---- */

struct ranked {
	double v;
	int i;
};

struct work {
	double t[LW_TREND_MAX_SAMPLES]; /* seconds, relative to the newest sample (<= 0) */
	double x[LW_TREND_MAX_SAMPLES]; /* live bytes */
	double y[LW_TREND_MAX_SAMPLES];
	double tmp[LW_TREND_MAX_SAMPLES];
	struct ranked rk[LW_TREND_MAX_SAMPLES];
	double slopes[TS_MAX * (TS_MAX - 1) / 2];
};

/*
 * S and its no-trend variance with the tie correction, in one pass: eq[i] ends as the size g of
 * the tie group of y[i], so summing g(g-1)(2g+5)/g over its g members counts each group once.
 */
static void mk_stat(const double *y, int n, double *eq, double *s_out, double *var_out)
{
	double ties = 0;
	long s = 0;

	for (int i = 0; i < n; i++)
		eq[i] = 1;
	for (int i = 0; i < n - 1; i++) {
		for (int j = i + 1; j < n; j++) {
			int d = (y[j] > y[i]) - (y[j] < y[i]);

			s += d;
			if (!d) {
				eq[i]++;
				eq[j]++;
			}
		}
	}
	for (int i = 0; i < n; i++)
		ties += (eq[i] - 1) * (2 * eq[i] + 5);
	*s_out = s;
	*var_out = ((double)n * (n - 1) * (2.0 * n + 5) - ties) / 18;
}

/* Normal score with continuity correction. */
static double mk_z(double s, double var)
{
	if (var <= 0 || s == 0)
		return 0;
	return (s > 0 ? s - 1 : s + 1) / sqrt(var);
}

static double upper_tail(double z)
{
	return 0.5 * erfc(z / M_SQRT2);
}

/* One-sided p-values; with no variance at all (every value tied) there is no evidence. */
static double mk_p_up(double s, double var)
{
	return var > 0 ? upper_tail(mk_z(s, var)) : 1;
}

static double mk_p_down(double s, double var)
{
	return var > 0 ? upper_tail(-mk_z(s, var)) : 1;
}

static double theil_sen(const double *t, const double *x, int n, double *slopes)
{
	int m = n > TS_MAX ? TS_MAX : n, idx[TS_MAX], np = 0;

	if (n < 2)
		return 0;
	for (int a = 0; a < m; a++)
		idx[a] = m == n ? a : (int)((long)a * (n - 1) / (m - 1));
	for (int a = 0; a < m - 1; a++) {
		for (int b = a + 1; b < m; b++) {
			double dt = t[idx[b]] - t[idx[a]];

			if (dt > 0)
				slopes[np++] = (x[idx[b]] - x[idx[a]]) / dt;
		}
	}
	return np ? median(slopes, np) : 0;
}

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *p = a, *q = b;

	return p->v < q->v ? -1 : p->v > q->v;
}

/*
 * Variance inflation n/n* for serially correlated samples (Hamed & Rao 1998):
 *   n/n* = 1 + 2/(n(n-1)(n-2)) sum_k (n-k)(n-k-1)(n-k-2) rho_k
 * with rho_k the autocorrelation of the ranks of the detrended series. Summing the sample
 * autocorrelations lag by lag, as the paper does, under-corrects badly on 60 samples (they are
 * biased towards 0): on AR(1) noise with phi 0.8 the 1% test fired 11% of the time. Instead the
 * lag-1 value, bias-corrected (E[r1] ~ rho - (1 + 4 rho) / n), feeds an AR(1) model
 * rho_k = rho^k, and only when it is significant; that holds it to 3.5%. Residuals are rounded to
 * whole bytes so that floating-point dust on an exact line is not read as structure. Never
 * below 1: anticorrelation does not make a trend more significant here.
 */
static double serial_factor(struct work *w, int n, double beta)
{
	double *r = w->y, mean = (n + 1) / 2.0, den = 0, num = 0, sum = 0, rho, rk = 1;

	for (int i = 0; i < n; i++) {
		w->rk[i].v = round(w->x[i] - beta * w->t[i]);
		w->rk[i].i = i;
	}
	qsort(w->rk, n, sizeof(w->rk[0]), cmp_ranked);
	for (int i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && w->rk[j].v == w->rk[i].v; j++)
			;
		for (int k = i; k < j; k++)
			r[w->rk[k].i] = (i + j + 1) / 2.0; /* average of ranks i+1 .. j */
	}
	for (int i = 0; i < n; i++) {
		r[i] -= mean;
		den += r[i] * r[i];
	}
	if (den <= 0)
		return 1;
	for (int i = 0; i + 1 < n; i++)
		num += r[i] * r[i + 1];
	rho = num / den;
	if (rho <= ACF_Z / sqrt(n))
		return 1;
	rho = fmin(RHO_MAX, (n * rho + 1) / (n - 4));
	for (int k = 1; k < n - 2; k++) {
		rk *= rho;
		sum += (double)(n - k) * (n - k - 1) * (n - k - 2) * rk;
	}
	return 1 + 2 * sum / ((double)n * (n - 1) * (n - 2));
}

/*
 * p-value of "the slope is at least beta0" against "it is smaller", on samples from..n-1:
 * Mann-Kendall for a decrease of x - beta0 t. 1 - p is how sure we are growth is immaterial.
 */
static double p_not_below(struct work *w, int from, int n, double beta0, double f)
{
	double s, var;
	int m = n - from;

	if (m < 3)
		return 1;
	for (int i = 0; i < m; i++)
		w->y[i] = w->x[from + i] - beta0 * w->t[from + i];
	mk_stat(w->y, m, w->tmp, &s, &var);
	return mk_p_down(s, var * f);
}

double lw_trend__theil_sen(const double *t, const double *x, unsigned int n)
{
	double slopes[TS_MAX * (TS_MAX - 1) / 2];

	if (!t || !x)
		return 0;
	return theil_sen(t, x, n > INT32_MAX ? INT32_MAX : (int)n, slopes);
}

double lw_trend__mk_p_increase(const double *x, unsigned int n)
{
	double *tmp, s, var;

	if (!x || n < 3)
		return 1;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return 1;
	mk_stat(x, n, tmp, &s, &var);
	free(tmp);
	return mk_p_up(s, var);
}

/* ---- the shape of the window ---- */

struct shape {
	double min, max;
	double drawdown;      /* deepest fall below an earlier high */
	double q[4];	      /* low point of each quarter */
	unsigned int renewed; /* quarters holding a material new high */
	int last_high;	      /* sample of the last material new high, 0 if none */
	double gap_max;	      /* longest time between two material new highs */
	double noise;	      /* what a new high must clear: NOISE_K robust sigmas */
	int r0;		      /* first sample of the recent part (last quarter) */
	double recent_max, recent_min;
};

static void shape_of(struct work *w, int n, double window, struct shape *sh)
{
	const double *x = w->x, *t = w->t;
	double hi = x[0], mark = x[0], med, recent_sec;
	unsigned int bits = 0;

	/*
	 * Noise from the median absolute deviation of the steps: robust to the trend (the median
	 * step absorbs it) and to bursts (rare large steps do not move a median).
	 */
	for (int i = 0; i < n - 1; i++)
		w->tmp[i] = x[i + 1] - x[i];
	med = median(w->tmp, n - 1);
	for (int i = 0; i < n - 1; i++)
		w->tmp[i] = fabs(w->tmp[i] - med);
	sh->noise = NOISE_K * 1.4826 * median(w->tmp, n - 1) / M_SQRT2;

	sh->min = sh->max = x[0];
	sh->drawdown = 0;
	sh->last_high = 0;
	sh->gap_max = 0;
	for (int k = 0; k < 4; k++)
		sh->q[k] = INFINITY;
	for (int i = 0; i < n; i++) {
		int quarter = 4 * i / n;

		if (x[i] < sh->min)
			sh->min = x[i];
		if (x[i] > sh->max)
			sh->max = x[i];
		if (x[i] > hi)
			hi = x[i];
		if (hi - x[i] > sh->drawdown)
			sh->drawdown = hi - x[i];
		if (x[i] < sh->q[quarter])
			sh->q[quarter] = x[i];
		/* the mark moves only on material highs, so a slow creep still registers */
		if (i && x[i] > mark + sh->noise) {
			if (sh->last_high)
				sh->gap_max = fmax(sh->gap_max, t[i] - t[sh->last_high]);
			mark = x[i];
			sh->last_high = i;
			bits |= 1u << quarter;
		}
	}
	sh->renewed = __builtin_popcount(bits);

	/* the last quarter of the window (of the span, when stretched), at least 3 samples */
	recent_sec = fmax(window, -t[0]) / 4;
	for (sh->r0 = n - 1; sh->r0 > 0 && t[sh->r0 - 1] >= -recent_sec; sh->r0--)
		;
	if (sh->r0 < n / 2)
		sh->r0 = n / 2;
	if (sh->r0 > n - 3)
		sh->r0 = n - 3;
	sh->recent_max = -INFINITY;
	sh->recent_min = INFINITY;
	for (int i = sh->r0; i < n; i++) {
		sh->recent_max = fmax(sh->recent_max, x[i]);
		sh->recent_min = fmin(sh->recent_min, x[i]);
	}
}

/* Leak shape: new highs all along, quarter lows never falling back, low points rising. */
static bool shape_monotone(const struct shape *sh, double growth)
{
	if (sh->renewed < LEAK_QUARTERS)
		return false;
	for (int k = 0; k < 3; k++)
		if (!(sh->q[k + 1] > sh->q[k]))
			return false;
	return sh->q[3] - sh->q[0] >= LEAK_FLOOR_RISE * growth;
}

/* ---- verdict ---- */

/*
 * Deepest fall below an earlier high among the samples since from, against their range:
 * a leak never gives memory back, a queue that drained a minute ago is not a leak now.
 */
static bool kept_since(const struct lw_series *s, double from)
{
	double hi = -INFINITY, lo = INFINITY, dd = 0;
	unsigned int i = s->len;

	while (i > 0 && series_slot(s, i - 1)->t >= from)
		i--;
	for (; i < s->len; i++) {
		double x = (double)series_slot(s, i)->live_bytes;

		hi = fmax(hi, x);
		lo = fmin(lo, x);
		dd = fmax(dd, hi - x);
	}
	return dd <= LEAK_GIVE_BACK * (hi - lo);
}

/* Highest live bytes of the samples in [from, before); -inf when none. */
static double lookback_max(const struct lw_series *s, double before, double from)
{
	double hi = -INFINITY;

	for (unsigned int i = s->len; i-- > 0;) {
		const struct lw_sample *smp = series_slot(s, i);

		if (smp->t < from)
			break;
		if (smp->t < before && smp->live_bytes > hi)
			hi = (double)smp->live_bytes;
	}
	return hi;
}

/*
 * Share of the growth between the two age boundaries that is still live: what was born between
 * them and lives, against what the window's slope says the site grew between them. Churn dies
 * young and held blocks were born before: only lasting growth counts. -1 when unknown.
 */
static double retained_share(const struct lw_trend_age *age, double beta)
{
	double expect;

	if (!age || !age->valid || !(age->to_t > age->from_t) || !(beta > 0))
		return -1;
	expect = beta * (age->to_t - age->from_t);
	if (expect < 1)
		return -1;
	return fmin(1, fmax(0, (double)age->retained_bytes / expect));
}

static bool is_up(enum lw_verdict v)
{
	return v == LW_VERDICT_GROWING || v == LW_VERDICT_LEAK;
}

static void confirm(struct lw_trend_state *st, enum lw_verdict cand, double now,
		    const struct shape *sh)
{
	if (cand == st->verdict) {
		st->pending_count = 0;
		return;
	}
	/* growing and leak support each other, as do stable and plateau */
	if (st->pending_count && is_up(cand) == is_up(st->pending))
		st->pending_count++;
	else
		st->pending_count = 1;
	st->pending = cand;
	if (st->pending_count < LW_TREND_CONFIRM &&
	    !(cand == LW_VERDICT_LEAK && st->verdict == LW_VERDICT_GROWING))
		return;
	st->verdict = cand;
	st->pending_count = 0;
	st->since_t = now;
	if (is_up(cand)) {
		st->grown = true;
	} else if (cand == LW_VERDICT_STABLE) {
		/* a fresh start: a later plateau is measured against what is live now */
		st->grown = false;
		st->peak_bytes = (int64_t)sh->recent_max;
		st->peak_t = now;
	}
}

void lw_trend__eval(const struct lw_series *s, const struct lw_trend_params *p,
		    const struct lw_trend_age *age, struct lw_trend_state *st,
		    struct lw_trend_result *out)
{
	static const struct lw_trend_params defaults = LW_TREND_PARAMS_DEFAULT;
	double window, alpha, min_growth, warmup, now, span, beta, growth, quiet_for, lookback;
	double p_up = 1, f = 1, retained = -1;
	enum lw_trend_reason why;
	enum lw_verdict cand;
	unsigned int len, first, m;
	bool stopped, sustained, up, sig, big, kept, floor_up, fresh, warm, elevated, new_sample;
	struct shape sh;
	struct work w;
	int n;

	memset(out, 0, sizeof(*out));
	out->verdict = out->candidate = st->verdict;
	out->reason = LW_TREND_FEW_SAMPLES;
	out->p_value = 1;
	out->retained_share = -1;
	len = lw_series__len(s);
	if (!len)
		return;
	if (!p)
		p = &defaults;
	window = p->window_sec > 0 && isfinite(p->window_sec) ? p->window_sec : defaults.window_sec;
	alpha = p->significance > 0 && p->significance < 0.5 ? p->significance
							     : defaults.significance;
	warmup = p->warmup_sec > 0 ? p->warmup_sec : 0;
	min_growth = (double)p->min_growth_bytes;

	/* the window, stretched back to LW_TREND_MIN_SAMPLES when sampling is sparse */
	now = series_slot(s, len - 1)->t;
	for (first = len; first > 0; first--)
		if (series_slot(s, first - 1)->t < now - window * (1 + 1e-9))
			break;
	m = len - first;
	if (m < LW_TREND_MIN_SAMPLES) {
		m = len < LW_TREND_MIN_SAMPLES ? len : LW_TREND_MIN_SAMPLES;
		first = len - m;
	}
	n = m > LW_TREND_MAX_SAMPLES ? LW_TREND_MAX_SAMPLES : (int)m;
	for (int k = 0; k < n; k++) {
		uint64_t i = (int)m == n ? (uint64_t)k : (uint64_t)k * (m - 1) / (n - 1);
		const struct lw_sample *smp = series_slot(s, first + (unsigned int)i);

		w.t[k] = smp->t - now;
		w.x[k] = (double)smp->live_bytes;
	}
	out->nsamples = n;
	span = -w.t[0];

	new_sample = !st->evaluated || now > st->last_t;
	if (!st->evaluated)
		st->peak_bytes = series_slot(s, len - 1)->live_bytes;
	st->evaluated = true;
	st->last_t = now;
	if (n < LW_TREND_MIN_SAMPLES) {
		if (n >= LW_TREND_MIN_SLOPE)
			out->growth_bytes_per_sec = theil_sen(w.t, w.x, n, w.slopes);
		return;
	}

	shape_of(&w, n, window, &sh);
	/* most sites hold still: a constant window needs no slope and no test */
	beta = sh.max > sh.min ? theil_sen(w.t, w.x, n, w.slopes) : 0;
	out->growth_bytes_per_sec = beta;
	retained = retained_share(age, beta);
	out->retained_share = retained;
	if (sh.max > (double)st->peak_bytes) {
		st->peak_bytes = (int64_t)sh.max;
		st->peak_t = now;
	}
	if (sh.max > sh.min) {
		double sv, var;

		mk_stat(w.x, n, w.tmp, &sv, &var);
		f = serial_factor(&w, n, beta);
		p_up = mk_p_up(sv, var * f);
	}
	out->p_value = p_up;

	up = is_up(st->verdict);
	growth = beta * span;
	warm = now - lw_series__first_t(s) >= warmup;
	/* while warming up every site starts at once: hold the test to alpha/10 */
	sig = p_up < (up ? fmin(0.5, alpha * STAY_FACTOR) : warm ? alpha : alpha * WARMUP_ALPHA);
	big = beta > 0 && growth >= min_growth;
	/* a published growth keeps its verdict at looser shape limits too */
	kept = sh.drawdown <= (up ? GIVE_BACK_STAY : GIVE_BACK_MAX) * (sh.max - sh.min);
	floor_up = sh.q[3] - sh.q[0] >= (up ? FLOOR_RISE / 2 : FLOOR_RISE) * growth;
	lookback = now - 2 * fmax(window, span);
	fresh = sh.recent_max > lookback_max(s, now + w.t[sh.r0], lookback) + sh.noise;
	/* leak only after growth held a quarter window: slow wander seldom keeps it that long */
	sustained = st->verdict == LW_VERDICT_GROWING && now - st->since_t >= window / 4;
	{
		/* plateau: the recent low is still well above where the site started */
		double base = (double)lw_series__min_bytes(s), lvl = sh.recent_min - base;

		elevated = lvl >= fmax(min_growth, 1) &&
			   lvl >= PLATEAU_KEEP * ((double)st->peak_bytes - base);
	}

	/*
	 * Growth has stopped when the recent quarter holds no new high, none came for 1.5 times
	 * the longest gap between new highs (bursty growth), and the recent slope is clearly
	 * below the window's: x - beta t decreases there. Merely missing a new high is not enough:
	 * churn as wide as a quarter's growth hides highs half the time.
	 */
	quiet_for = -w.t[sh.last_high];
	stopped = !fresh && quiet_for >= 1.5 * sh.gap_max &&
		  p_not_below(&w, sh.r0, n, beta, 1) < alpha * STOP_ALPHA;
	if (sig && big && kept && floor_up && (fresh || (up && !stopped))) {
		if (st->verdict == LW_VERDICT_LEAK) {
			cand = LW_VERDICT_LEAK;
			why = LW_TREND_CONTINUES;
			/*
			 * Sparse bursts leave some boundary pairs with nothing between them: a leak
			 * gives way to turnover only after half a window of it.
			 */
			if (age && retained >= 0 && retained < RETAIN_STAY) {
				if (!st->turnover_t)
					st->turnover_t = now;
				if (now - st->turnover_t >= window / 2) {
					cand = LW_VERDICT_GROWING;
					why = LW_TREND_TURNOVER;
				}
			} else {
				st->turnover_t = 0;
			}
		} else if (!warm) {
			cand = LW_VERDICT_GROWING;
			why = LW_TREND_WARMUP;
		} else if (!fresh || !shape_monotone(&sh, growth) || !sustained ||
			   !kept_since(s, lookback) || quiet_for > 1.5 * sh.gap_max) {
			/*
			 * Not steady, or no longer making new highs at its own pace: a cache full
			 * for a few seconds is still "fresh" over the last quarter, but quiet.
			 */
			cand = LW_VERDICT_GROWING;
			why = LW_TREND_NOT_MONOTONE;
		} else if (age && retained < 0) {
			cand = LW_VERDICT_GROWING;
			why = LW_TREND_AGE_PENDING;
		} else if (age && retained < RETAIN_ENTER) {
			cand = LW_VERDICT_GROWING;
			why = LW_TREND_TURNOVER;
		} else {
			cand = LW_VERDICT_LEAK;
			why = LW_TREND_MONOTONE;
		}
	} else if (up && kept && floor_up && !stopped && quiet_for < window / 2) {
		/* new highs lately but the test is not clear: not flat, keep the verdict */
		cand = st->verdict;
		why = LW_TREND_INCONCLUSIVE;
	} else {
		if (!sig)
			why = LW_TREND_NO_TREND;
		else if (!big)
			why = LW_TREND_SMALL_GROWTH;
		else if (!kept)
			why = LW_TREND_GIVEN_BACK;
		else if (!floor_up)
			why = LW_TREND_FLOOR_FLAT;
		else
			why = LW_TREND_STOPPED;
		cand = LW_VERDICT_STABLE;
		if (st->grown && elevated) {
			cand = LW_VERDICT_PLATEAU;
			why = LW_TREND_LEVELLED;
		}
	}
	out->candidate = cand;
	out->reason = why;
	if (new_sample)
		confirm(st, cand, now, &sh);
	out->verdict = st->verdict;

	switch (out->verdict) {
	case LW_VERDICT_LEAK:
		/* the trend test, discounted when the age evidence is only just enough */
		out->confidence = 1 - p_up;
		if (retained >= 0)
			out->confidence *= fmin(1, 0.5 + retained);
		break;
	case LW_VERDICT_GROWING:
		out->confidence = 1 - p_up;
		break;
	case LW_VERDICT_PLATEAU: {
		/*
		 * Flat since when: the whole window once it shows no increase, else the stretch
		 * since the last new high, at least the last quarter.
		 */
		int from = sh.last_high + 1 < sh.r0 ? sh.last_high + 1 : sh.r0;

		if (p_up >= alpha)
			from = 0;
		out->confidence = 1 - p_not_below(&w, from, n, min_growth / window, 1);
		break;
	}
	case LW_VERDICT_STABLE:
	default:
		out->confidence = 1 - p_not_below(&w, 0, n, min_growth / window, f);
		break;
	}
}

const char *lw_trend__explain(enum lw_trend_reason reason)
{
	static const char *const text[LW_TREND_REASON_MAX] = {
		[LW_TREND_FEW_SAMPLES] = "too few samples to decide",
		[LW_TREND_NO_TREND] = "no significant increase",
		[LW_TREND_SMALL_GROWTH] = "significant increase below min_growth_bytes",
		[LW_TREND_GIVEN_BACK] = "increases are freed again (queue or churn)",
		[LW_TREND_FLOOR_FLAT] = "low points do not rise",
		[LW_TREND_STOPPED] = "no new high lately",
		[LW_TREND_INCONCLUSIVE] = "still new highs, test not clear: verdict kept",
		[LW_TREND_WARMUP] = "growing, watched for less than warmup",
		[LW_TREND_NOT_MONOTONE] = "growing, not steadily enough for a leak",
		[LW_TREND_AGE_PENDING] = "leak-shaped growth, allocation ages not known yet",
		[LW_TREND_TURNOVER] = "growth made of blocks that are freed again later",
		[LW_TREND_MONOTONE] = "steady, significant, material growth",
		[LW_TREND_CONTINUES] = "leak still growing",
		[LW_TREND_LEVELLED] = "grew, now level",
	};

	return (unsigned int)reason < LW_TREND_REASON_MAX ? text[reason] : "unknown";
}
