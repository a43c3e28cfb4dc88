// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trend verdicts on synthetic sites sampled once a second with the configuration defaults
 * (window 60 s, alpha 0.01, warmup 15 s, min_growth 4096 B). Live bytes are exact counts, so
 * noise is churn: allocations of a few hundred bytes to a few KiB made and freed between two
 * drains. Every scenario that must not be a leak runs with several seeds.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "trend.h"
#include "unit.h"

#define KIB	1024
#define MIB	(1024 * 1024)
#define HISTORY 120
#define NSEEDS	8

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

/* TREND_SEED=N shifts every seed: the same checks on other random draws. */
static void rng_seed(struct rng *r, uint64_t seed)
{
	const char *base = getenv("TREND_SEED");

	if (base)
		seed += strtoull(base, NULL, 0) * 1000;
	r->s = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (int i = 0; i < 4; i++)
		rng_next(r);
}

static double rng_unit(struct rng *r)
{
	return (rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Churn: uniform in [0, width), in 8-byte units like malloc sizes. */
static int64_t churn(struct rng *r, int64_t width)
{
	return width ? (int64_t)(rng_unit(r) * (width / 8)) * 8 : 0;
}

struct sim {
	struct lw_series *s;
	struct lw_trend_params p;
	struct lw_trend_state st;
	struct lw_trend_result r;
	unsigned int changes;
	double t;
};

static bool sim_init(struct sim *sim, unsigned int history)
{
	memset(sim, 0, sizeof(*sim));
	sim->p = (struct lw_trend_params)LW_TREND_PARAMS_DEFAULT;
	sim->s = lw_series__new(history);
	return sim->s != NULL;
}

static void sim_step(struct sim *sim, double t, int64_t bytes)
{
	enum lw_verdict before = sim->st.verdict;

	sim->t = t;
	lw_series__push(sim->s, t, bytes, bytes / 64);
	lw_trend__eval(sim->s, &sim->p, NULL, &sim->st, &sim->r);
	if (sim->r.verdict != before)
		sim->changes++;
	if (getenv("TREND_TRACE"))
		fprintf(stderr,
			"t=%6.1f bytes=%10lld %-7s cand=%-7s conf=%.4f p=%.2e slope=%.1f %s\n", t,
			(long long)bytes, lw_verdict_name(sim->r.verdict),
			lw_verdict_name(sim->r.candidate), sim->r.confidence, sim->r.p_value,
			sim->r.growth_bytes_per_sec, lw_trend__explain(sim->r.reason));
}

static void sim_fini(struct sim *sim)
{
	lw_series__free(sim->s);
}

static bool is_up(enum lw_verdict v)
{
	return v == LW_VERDICT_GROWING || v == LW_VERDICT_LEAK;
}

/* ---- building blocks ---- */

static bool test_series_ring(void)
{
	struct lw_series *s = lw_series__new(4);
	const struct lw_sample *x;

	CHECK(s);
	CHECK(lw_series__len(s) == 0 && lw_series__cap(s) == 4);
	CHECK(!lw_series__last(s) && !lw_series__at(s, 0));
	for (int i = 0; i < 6; i++)
		lw_series__push(s, 10 + i, 100 * (i + 1), i);
	CHECK(lw_series__len(s) == 4);
	x = lw_series__at(s, 0);
	CHECK(x && x->t == 12 && x->live_bytes == 300 && x->live_allocs == 2);
	x = lw_series__last(s);
	CHECK(x && x->t == 15 && x->live_bytes == 600);
	CHECK(!lw_series__at(s, 4));
	CHECK(lw_series__first_t(s) == 10);
	CHECK(lw_series__min_bytes(s) == 100 && lw_series__max_bytes(s) == 600);
	/* same time replaces, older is ignored */
	lw_series__push(s, 15, 50, 1);
	lw_series__push(s, 14, 9999, 1);
	CHECK(lw_series__len(s) == 4);
	CHECK(lw_series__last(s)->live_bytes == 50);
	CHECK(lw_series__min_bytes(s) == 50);
	lw_series__free(s);

	errno = 0;
	CHECK(!lw_series__new(0) && errno == EINVAL);
	lw_series__free(NULL);
	return true;
}

static bool test_statistics(void)
{
	double t[10], x[10];
	/* Hollander & Wolfe style check values: 1..10 gives S = 45, var = 125 */
	double z = 44 / sqrt(125.0);

	for (int i = 0; i < 10; i++) {
		t[i] = i;
		x[i] = i + 1;
	}
	CHECK(fabs(lw_trend__mk_p_increase(x, 10) - 0.5 * erfc(z / M_SQRT2)) < 1e-12);
	/* reversed: no evidence of an increase */
	for (int i = 0; i < 10; i++)
		x[i] = 10 - i;
	CHECK(lw_trend__mk_p_increase(x, 10) > 0.99);
	/* all tied: no evidence at all */
	for (int i = 0; i < 10; i++)
		x[i] = 7;
	CHECK(lw_trend__mk_p_increase(x, 10) == 1);
	/* ties: 1 1 2 2 3 -> S = 8, var = (5*4*15 - 2*(2*1*9)) / 18 = 14.667 */
	{
		double y[5] = {1, 1, 2, 2, 3};

		z = 7 / sqrt((300 - 36) / 18.0);
		CHECK(fabs(lw_trend__mk_p_increase(y, 5) - 0.5 * erfc(z / M_SQRT2)) < 1e-12);
	}
	/* Theil-Sen ignores an outlier and handles uneven time */
	for (int i = 0; i < 10; i++) {
		t[i] = i * 1.5 + (i > 5 ? 0.25 : 0);
		x[i] = 100 + 3 * t[i];
	}
	x[4] = 1e9;
	CHECK(fabs(lw_trend__theil_sen(t, x, 10) - 3) < 1e-9);
	CHECK(lw_trend__theil_sen(t, x, 1) == 0);
	return true;
}

static bool test_few_samples(void)
{
	struct sim sim;

	CHECK(sim_init(&sim, HISTORY));
	sim_step(&sim, 0, 1000);
	CHECK(sim.r.verdict == LW_VERDICT_STABLE && sim.r.growth_bytes_per_sec == 0);
	sim_step(&sim, 1, 2000);
	CHECK(sim.r.growth_bytes_per_sec == 0);
	sim_step(&sim, 2, 3000);
	CHECK(fabs(sim.r.growth_bytes_per_sec - 1000) < 1e-9);
	CHECK(sim.r.reason == LW_TREND_FEW_SAMPLES && sim.r.confidence == 0);
	sim_fini(&sim);

	/* empty series, NULL params */
	{
		struct lw_series *s = lw_series__new(8);
		struct lw_trend_state st = {0};
		struct lw_trend_result r;

		CHECK(s);
		lw_trend__eval(s, NULL, NULL, &st, &r);
		CHECK(r.verdict == LW_VERDICT_STABLE && r.growth_bytes_per_sec == 0);
		lw_series__free(s);
	}
	return true;
}

/* Re-evaluating without a new sample must not count towards a change. */
static bool test_idempotent_eval(void)
{
	struct sim sim;
	int t;

	CHECK(sim_init(&sim, HISTORY));
	for (t = 0; t < 8; t++)
		sim_step(&sim, t, 0);
	sim_step(&sim, t, 10 * MIB); /* a jump: not yet anything */
	for (int i = 0; i < 5; i++) {
		lw_trend__eval(sim.s, &sim.p, NULL, &sim.st, &sim.r);
		CHECK(sim.st.pending_count <= 1);
	}
	sim_fini(&sim);
	return true;
}

/* ---- leaks ---- */

static bool test_linear_leak(void)
{
	for (int seed = 1; seed <= NSEEDS; seed++) {
		struct sim sim;
		struct rng r;
		int t, found = -1;

		rng_seed(&r, seed);
		CHECK(sim_init(&sim, HISTORY));
		for (t = 0; t < 120; t++) {
			sim_step(&sim, t, 8 * MIB + 40 * KIB * t + churn(&r, 512));
			if (found < 0 && sim.r.verdict == LW_VERDICT_LEAK)
				found = t;
			if (found >= 0)
				CHECK(sim.r.verdict == LW_VERDICT_LEAK);
		}
		CHECK(found >= 0 && found < 30);
		CHECK(fabs(sim.r.growth_bytes_per_sec - 40 * KIB) < 0.02 * 40 * KIB);
		CHECK(sim.r.confidence > 0.999);
		sim_fini(&sim);
	}
	return true;
}

static bool test_slow_leak(void)
{
	for (int seed = 1; seed <= NSEEDS; seed++) {
		struct sim sim;
		struct rng r;
		int found = -1;

		rng_seed(&r, 100 + seed);
		CHECK(sim_init(&sim, HISTORY));
		for (int t = 0; t < 300; t++) {
			sim_step(&sim, t, 64 * KIB + 256 * t + churn(&r, 2 * KIB));
			if (found < 0 && sim.r.verdict == LW_VERDICT_LEAK)
				found = t;
			/* once found it stays found */
			if (found >= 0)
				CHECK(sim.r.verdict == LW_VERDICT_LEAK);
		}
		CHECK(found >= 0 && found <= 120);
		CHECK(fabs(sim.r.growth_bytes_per_sec - 256) < 0.15 * 256);
		sim_fini(&sim);
	}
	return true;
}

/* Churn four times the window's growth: found later, but found, and then kept. */
static bool test_slow_leak_heavy_churn(void)
{
	for (int seed = 1; seed <= NSEEDS; seed++) {
		struct sim sim;
		struct rng r;
		int found = -1;

		rng_seed(&r, 150 + seed);
		CHECK(sim_init(&sim, HISTORY));
		for (int t = 0; t < 600; t++) {
			sim_step(&sim, t, 64 * KIB + 256 * t + churn(&r, 8 * KIB));
			if (found < 0 && sim.r.verdict == LW_VERDICT_LEAK)
				found = t;
			if (found >= 0)
				CHECK(sim.r.verdict == LW_VERDICT_LEAK);
		}
		CHECK(found >= 0 && found <= 300);
		sim_fini(&sim);
	}
	return true;
}

static bool test_bursty_leak(void)
{
	for (int seed = 1; seed <= NSEEDS; seed++) {
		struct sim sim;
		struct rng r;
		int found = -1;

		rng_seed(&r, 200 + seed);
		CHECK(sim_init(&sim, HISTORY));
		for (int t = 0; t < 300; t++) {
			sim_step(&sim, t, MIB + 64 * KIB * (t / 5) + churn(&r, 4 * KIB));
			if (found < 0 && sim.r.verdict == LW_VERDICT_LEAK)
				found = t;
			if (found >= 0)
				CHECK(sim.r.verdict == LW_VERDICT_LEAK);
		}
		CHECK(found >= 0 && found <= 60);
		/* 64 KiB / 5 s = 13107 B/s */
		CHECK(fabs(sim.r.growth_bytes_per_sec - 64 * KIB / 5.0) < 0.1 * 64 * KIB / 5.0);
		sim_fini(&sim);
	}
	return true;
}

/* Default daemon cadence: a drain every 10 s, so the 60 s window holds 7 samples. */
static bool test_sparse_leak(void)
{
	struct sim sim;
	int found = -1;
	struct rng r;

	rng_seed(&r, 7);
	CHECK(sim_init(&sim, HISTORY));
	for (int t = 0; t < 600; t += 10) {
		sim_step(&sim, t, 4 * MIB + 2 * KIB * t + churn(&r, 4 * KIB));
		if (found < 0 && sim.r.verdict == LW_VERDICT_LEAK)
			found = t;
	}
	CHECK(found >= 0 && found <= 150);
	CHECK(sim.r.verdict == LW_VERDICT_LEAK);
	sim_fini(&sim);
	return true;
}

/* ---- things that grow and are not leaks ---- */

static bool test_cache_plateau(void)
{
	for (int seed = 1; seed <= NSEEDS; seed++) {
		int last_growth = 60, plateau_at = -1;
		struct sim sim;
		struct rng r;

		rng_seed(&r, 300 + seed);
		CHECK(sim_init(&sim, HISTORY));
		for (int t = 0; t < 400; t++) {
			int64_t fill = 16 * KIB * (t < last_growth ? t : last_growth);

			/* entries evicted and replaced: size varies a little */
			sim_step(&sim, t, fill + churn(&r, 2 * KIB));
			if (plateau_at < 0 && sim.r.verdict == LW_VERDICT_PLATEAU)
				plateau_at = t;
			if (plateau_at >= 0)
				CHECK(sim.r.verdict == LW_VERDICT_PLATEAU);
		}
		CHECK(plateau_at >= last_growth && plateau_at <= last_growth + 30);
		CHECK(sim.r.confidence > 0.9);
		sim_fini(&sim);
	}
	return true;
}

/* After a leak stops and the memory is then released, the site ends stable. */
static bool test_leak_stops_then_freed(void)
{
	struct sim sim;
	struct rng r;
	int t;

	rng_seed(&r, 11);
	CHECK(sim_init(&sim, HISTORY));
	for (t = 0; t < 100; t++)
		sim_step(&sim, t, 8 * KIB * t + churn(&r, KIB));
	CHECK(sim.r.verdict == LW_VERDICT_LEAK);
	for (; t < 160; t++)
		sim_step(&sim, t, 8 * KIB * 100 + churn(&r, KIB));
	CHECK(sim.r.verdict == LW_VERDICT_PLATEAU);
	for (; t < 240; t++)
		sim_step(&sim, t, churn(&r, KIB));
	CHECK(sim.r.verdict == LW_VERDICT_STABLE);
	/* and growth again is seen again */
	for (; t < 340; t++)
		sim_step(&sim, t, 8 * KIB * (t - 240) + churn(&r, KIB));
	CHECK(sim.r.verdict == LW_VERDICT_LEAK);
	sim_fini(&sim);
	return true;
}

static bool test_sawtooth_queue(void)
{
	for (int seed = 1; seed <= NSEEDS; seed++) {
		struct sim sim;
		struct rng r;
		int phase;

		rng_seed(&r, 400 + seed);
		phase = (int)(rng_unit(&r) * 10);
		CHECK(sim_init(&sim, HISTORY));
		for (int t = 0; t < 600; t++) {
			/* fills to 1 MiB over 10 s, drains to empty, again */
			int64_t q = (int64_t)((t + phase) % 10) * MIB / 9;

			sim_step(&sim, t, 32 * KIB + q + churn(&r, 4 * KIB));
			if (t >= sim.p.warmup_sec)
				CHECK(!is_up(sim.r.verdict));
		}
		sim_fini(&sim);
	}
	return true;
}

/*
 * A bounded queue with random fill rates and random drain points. Its first fills, while the
 * window is short, are growth like any other: verdicts are checked once the window is mostly
 * full (three warmups, 45 s).
 */
static bool test_random_queue(void)
{
	for (int seed = 1; seed <= NSEEDS; seed++) {
		int64_t q = 0;
		struct sim sim;
		struct rng r;

		rng_seed(&r, 450 + seed);
		CHECK(sim_init(&sim, HISTORY));
		for (int t = 0; t < 1200; t++) {
			q += (int64_t)(rng_unit(&r) * 200 * KIB);
			if (rng_unit(&r) < 0.15 || q > MIB)
				q = 0;
			sim_step(&sim, t, q + churn(&r, 4 * KIB));
			CHECK(sim.r.verdict != LW_VERDICT_LEAK);
			if (t >= 3 * sim.p.warmup_sec)
				CHECK(!is_up(sim.r.verdict));
		}
		sim_fini(&sim);
	}
	return true;
}

static bool test_churn_constant(void)
{
	for (int seed = 1; seed <= NSEEDS; seed++) {
		struct sim sim;
		struct rng r;

		rng_seed(&r, 500 + seed);
		CHECK(sim_init(&sim, HISTORY));
		for (int t = 0; t < 600; t++) {
			sim_step(&sim, t, 2 * MIB + churn(&r, 256 * KIB));
			CHECK(sim.r.verdict == LW_VERDICT_STABLE);
		}
		CHECK(sim.r.growth_bytes_per_sec < 4096);
		sim_fini(&sim);
	}
	return true;
}

static bool test_allocate_once(void)
{
	for (int seed = 1; seed <= NSEEDS; seed++) {
		struct sim sim;
		struct rng r;

		rng_seed(&r, 600 + seed);
		CHECK(sim_init(&sim, HISTORY));
		for (int t = 0; t < 300; t++) {
			/* odd seeds: the first drain already sees it; even: it lands after it */
			int64_t held = (seed & 1) || t > 0 ? MIB : 0;

			sim_step(&sim, t, held + churn(&r, KIB));
			CHECK(sim.r.verdict != LW_VERDICT_LEAK);
			if (t >= sim.p.warmup_sec)
				CHECK(sim.r.verdict == LW_VERDICT_STABLE ||
				      sim.r.verdict == LW_VERDICT_PLATEAU);
		}
		sim_fini(&sim);
	}
	return true;
}

/* Large buffers allocated, held a few seconds and freed, at random. */
static bool test_alloc_free_cycles(void)
{
	for (int seed = 1; seed <= NSEEDS; seed++) {
		int64_t held = 0;
		struct sim sim;
		struct rng r;
		int left = 0;

		rng_seed(&r, 700 + seed);
		CHECK(sim_init(&sim, HISTORY));
		for (int t = 0; t < 600; t++) {
			if (left-- <= 0) {
				if (held) {
					held = 0;
					left = 1 + (int)(rng_unit(&r) * 4);
				} else {
					held = (1 + (int64_t)(rng_unit(&r) * 16)) * MIB;
					left = 2 + (int)(rng_unit(&r) * 5);
				}
			}
			sim_step(&sim, t, 64 * KIB + held + churn(&r, 4 * KIB));
			CHECK(sim.r.verdict != LW_VERDICT_LEAK);
			if (t >= sim.p.warmup_sec)
				CHECK(!is_up(sim.r.verdict));
		}
		sim_fini(&sim);
	}
	return true;
}

/* Noisy but flat: wide churn on top of a short-memory wander. The verdict must not flap. */
static bool test_no_flapping(void)
{
	unsigned int total = 0;

	for (int seed = 1; seed <= NSEEDS; seed++) {
		double ar = 0;
		struct sim sim;
		struct rng r;

		rng_seed(&r, 800 + seed);
		CHECK(sim_init(&sim, HISTORY));
		for (int t = 0; t < 1200; t++) {
			/* AR(1), phi 0.5: +-30 KiB, plus churn 32 KiB wide */
			ar = 0.5 * ar + (rng_unit(&r) - 0.5) * 64 * KIB;
			sim_step(&sim, t, 4 * MIB + (int64_t)ar + churn(&r, 32 * KIB));
			CHECK(sim.r.verdict != LW_VERDICT_LEAK);
		}
		CHECK(sim.r.verdict == LW_VERDICT_STABLE);
		CHECK(sim.changes <= 2);
		total += sim.changes;
		sim_fini(&sim);
	}
	CHECK(total <= NSEEDS / 2);
	return true;
}

/*
 * Slow wander (AR(1), phi 0.9, about +-100 KiB, 10 s memory): at 1 s sampling a 60 s window
 * cannot tell an upswing from growth, so short "growing" spells are allowed; "leak" is not.
 */
static bool test_slow_wander(void)
{
	unsigned int up = 0, evals = 0;

	for (int seed = 1; seed <= NSEEDS; seed++) {
		double ar = 0;
		struct sim sim;
		struct rng r;

		rng_seed(&r, 850 + seed);
		CHECK(sim_init(&sim, HISTORY));
		for (int t = 0; t < 1200; t++) {
			ar = 0.9 * ar + (rng_unit(&r) - 0.5) * 80 * KIB;
			sim_step(&sim, t, 4 * MIB + (int64_t)ar + churn(&r, 16 * KIB));
			CHECK(sim.r.verdict != LW_VERDICT_LEAK);
			up += is_up(sim.r.verdict);
			evals++;
		}
		sim_fini(&sim);
	}
	CHECK(up <= evals / 20);
	return true;
}

/* A history shorter than the window still gives verdicts (on what it has). */
static bool test_short_history(void)
{
	struct sim sim;
	struct rng r;

	rng_seed(&r, 900);
	CHECK(sim_init(&sim, 16));
	for (int t = 0; t < 100; t++)
		sim_step(&sim, t, 40 * KIB * t + churn(&r, 512));
	CHECK(sim.r.verdict == LW_VERDICT_LEAK);
	CHECK(sim.r.nsamples == 16);
	sim_fini(&sim);
	return true;
}

/* A long window at a fast interval is subsampled, and still right. */
static bool test_long_window(void)
{
	struct sim sim;
	struct rng r;

	rng_seed(&r, 901);
	CHECK(sim_init(&sim, 1200));
	sim.p.window_sec = 600;
	for (int t = 0; t < 1000; t++)
		sim_step(&sim, t, 64 * KIB + 64 * t + churn(&r, 2 * KIB));
	CHECK(sim.r.verdict == LW_VERDICT_LEAK);
	CHECK(sim.r.nsamples == LW_TREND_MAX_SAMPLES);
	CHECK(fabs(sim.r.growth_bytes_per_sec - 64) < 0.1 * 64);
	sim_fini(&sim);
	return true;
}

/* ---- allocation-age evidence ---- */

/*
 * A site whose live bytes grow linearly, with cohort boundaries moved as the engine moves them
 * (every 8 s, three in turn, the two older used once both are 8 s old). keep is the share of
 * the bytes born between them still live: 1 for a leak, 0 for a rising population of blocks
 * that each die young.
 */
struct age_sim {
	struct sim sim;
	double bt[3];
	int64_t bbytes[3];
	int next;
};

static void age_step(struct age_sim *a, double t, int64_t bytes, double keep, bool valid)
{
	struct lw_trend_age age = {0};
	int old = -1, mid = -1;

	if (!a->bt[0] || t - a->bt[(a->next + 2) % 3] >= 8) {
		a->bt[a->next] = t;
		a->bbytes[a->next] = bytes;
		a->next = (a->next + 1) % 3;
	}
	for (int i = 0; i < 3; i++) {
		if (!a->bt[i] || t - a->bt[i] < 8)
			continue;
		if (old < 0 || a->bt[i] < a->bt[old]) {
			mid = old;
			old = i;
		} else if (mid < 0 || a->bt[i] < a->bt[mid]) {
			mid = i;
		}
	}
	if (old >= 0 && mid >= 0 && valid) {
		age.valid = true;
		age.from_t = a->bt[old];
		age.to_t = a->bt[mid];
		age.retained_bytes = (int64_t)(keep * (a->bbytes[mid] - a->bbytes[old]));
	}
	a->sim.t = t;
	lw_series__push(a->sim.s, t, bytes, bytes / 64);
	lw_trend__eval(a->sim.s, &a->sim.p, &age, &a->sim.st, &a->sim.r);
}

/* A leak keeps everything: leak as without evidence, confidence not discounted. */
static bool test_age_leak(void)
{
	struct age_sim a = {0};
	int found = -1;

	CHECK(sim_init(&a.sim, HISTORY));
	for (int t = 1; t <= 90; t++) {
		age_step(&a, t, 1 * MIB + 8 * KIB * t, 1.0, true);
		if (found < 0 && a.sim.r.verdict == LW_VERDICT_LEAK)
			found = t;
	}
	CHECK(found > 0 && found <= 40);
	CHECK(a.sim.r.retained_share > 0.99);
	CHECK(a.sim.r.confidence > 0.95);
	sim_fini(&a.sim);
	return true;
}

/* The same growth made of blocks that die young is not a leak: growing, for turnover. */
static bool test_age_turnover(void)
{
	struct age_sim a = {0};

	CHECK(sim_init(&a.sim, HISTORY));
	for (int t = 1; t <= 90; t++) {
		age_step(&a, t, 1 * MIB + 8 * KIB * t, 0.0, true);
		CHECK(a.sim.r.verdict != LW_VERDICT_LEAK);
	}
	CHECK(a.sim.r.verdict == LW_VERDICT_GROWING);
	CHECK(a.sim.r.reason == LW_TREND_TURNOVER);
	CHECK(a.sim.r.retained_share == 0);
	sim_fini(&a.sim);
	return true;
}

/* No evidence yet (a boundary too young): the leak waits. */
static bool test_age_pending(void)
{
	struct age_sim a = {0};

	CHECK(sim_init(&a.sim, HISTORY));
	for (int t = 1; t <= 60; t++) {
		age_step(&a, t, 1 * MIB + 8 * KIB * t, 1.0, false);
		CHECK(a.sim.r.verdict != LW_VERDICT_LEAK);
		CHECK(a.sim.r.retained_share < 0);
	}
	CHECK(a.sim.r.reason == LW_TREND_AGE_PENDING);
	sim_fini(&a.sim);
	return true;
}

/* A published leak whose old blocks start dying (a slow queue after all) stops being one. */
static bool test_age_leak_then_turnover(void)
{
	struct age_sim a = {0};
	int t;

	CHECK(sim_init(&a.sim, HISTORY));
	for (t = 1; t <= 60; t++)
		age_step(&a, t, 1 * MIB + 8 * KIB * t, 1.0, true);
	CHECK(a.sim.r.verdict == LW_VERDICT_LEAK);
	/* turnover must last half a window (30 s) before the leak gives way */
	for (; t <= 80; t++) {
		age_step(&a, t, 1 * MIB + 8 * KIB * t, 0.1, true);
		CHECK(a.sim.r.verdict == LW_VERDICT_LEAK);
	}
	for (; t <= 100; t++)
		age_step(&a, t, 1 * MIB + 8 * KIB * t, 0.1, true);
	CHECK(a.sim.r.verdict == LW_VERDICT_GROWING);
	sim_fini(&a.sim);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_series_ring), UNIT_TEST(test_statistics), UNIT_TEST(test_few_samples),
	  UNIT_TEST(test_idempotent_eval), UNIT_TEST(test_linear_leak), UNIT_TEST(test_slow_leak),
	  UNIT_TEST(test_slow_leak_heavy_churn), UNIT_TEST(test_bursty_leak),
	  UNIT_TEST(test_sparse_leak), UNIT_TEST(test_cache_plateau),
	  UNIT_TEST(test_leak_stops_then_freed), UNIT_TEST(test_sawtooth_queue),
	  UNIT_TEST(test_random_queue), UNIT_TEST(test_churn_constant),
	  UNIT_TEST(test_allocate_once), UNIT_TEST(test_alloc_free_cycles),
	  UNIT_TEST(test_no_flapping), UNIT_TEST(test_slow_wander), UNIT_TEST(test_short_history),
	  UNIT_TEST(test_long_window), UNIT_TEST(test_age_leak), UNIT_TEST(test_age_turnover),
	  UNIT_TEST(test_age_pending), UNIT_TEST(test_age_leak_then_turnover))
