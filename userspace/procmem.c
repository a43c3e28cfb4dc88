// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "procmem.h"

/* Drains in a row a fragmentation call must hold (or fail) before it is published (cleared). */
#define FRAG_CONFIRM 2
/* Held back: at least half of what the live heap dropped is still resident. */
#define HELD_SHARE 0.5
/* Anonymous growth with a heap that grows by less than this share of it is not heap growth. */
#define HEAP_SHARE 0.25

struct lw_procmem {
	struct lw_series *rss;	/* (t, rss, -) */
	struct lw_series *anon;	/* (t, anon, freed bytes so far) */
	struct lw_series *live;	/* (t, live heap, live allocations) */
	struct lw_trend_state rss_st, anon_st, live_st;
	/* the highest live heap seen, and the anonymous memory then */
	int64_t peak_live, peak_anon;
	double peak_t;
	bool have_peak;
	/* the lowest memory the live heap does not explain (anon - live) before the recent stretch */
	int64_t low_unexplained;
	uint64_t low_freed;	/* bytes freed so far when it was seen */
	bool have_low;
	bool frag;		/* published fragmentation */
	unsigned int frag_count;	/* drains in a row disagreeing with it */
};

struct lw_procmem *lw_procmem__new(unsigned int history)
{
	struct lw_procmem *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->rss = lw_series__new(history);
	m->anon = lw_series__new(history);
	m->live = lw_series__new(history);
	if (!m->rss || !m->anon || !m->live) {
		lw_procmem__free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

void lw_procmem__free(struct lw_procmem *m)
{
	if (!m)
		return;
	lw_series__free(m->rss);
	lw_series__free(m->anon);
	lw_series__free(m->live);
	free(m);
}

static bool is_up(enum lw_verdict v)
{
	return v == LW_VERDICT_GROWING || v == LW_VERDICT_LEAK;
}

/* The oldest sample of the series at or after time from; NULL when none. */
static const struct lw_sample *first_since(const struct lw_series *s, double from)
{
	unsigned int n = lw_series__len(s), i = n;

	while (i > 0 && lw_series__at(s, i - 1)->t >= from)
		i--;
	return i < n ? lw_series__at(s, i) : NULL;
}

/*
 * Fell and not given back: the live heap dropped from an earlier high (the highest ever seen,
 * or one inside the window) while anonymous memory did not drop with it. Measured at each low
 * of the window against the highest live heap before it, so a heap that peaks now and then and
 * is held at its peak between (a pinned, fragmented heap) counts as well as one that fell once.
 * A queue that drains and has its memory trimmed gives it back. Returns the most held back.
 */
static int64_t held_after_fall(const struct lw_procmem *m, double now, double window)
{
	int64_t hi_live = INT64_MIN, hi_anon = 0, best = 0;
	unsigned int n = lw_series__len(m->live);

	if (m->have_peak && m->peak_t < now - window) {
		hi_live = m->peak_live;
		hi_anon = m->peak_anon;
	}
	for (unsigned int i = 0; i < n; i++) {
		const struct lw_sample *l = lw_series__at(m->live, i);
		const struct lw_sample *a = lw_series__at(m->anon, i);
		int64_t dropped, returned, held;

		if (l->t < now - window || a->live_bytes < 0)
			continue;
		if (l->live_bytes >= hi_live) {
			hi_live = l->live_bytes;
			hi_anon = a->live_bytes;
			continue;
		}
		dropped = hi_live - l->live_bytes;
		returned = hi_anon - a->live_bytes;
		held = dropped - (returned > 0 ? returned : 0);
		if (held >= HELD_SHARE * (double)dropped && held > best)
			best = held;
	}
	return best;
}

/*
 * Grew outside the heap: anonymous memory rose significantly over the window while the live
 * heap did not, and the process freed at least as much meanwhile (memory it could have reused).
 * Returns the growth, 0 when the pattern is not there.
 */
static int64_t held_while_freeing(const struct lw_procmem *m, const struct lw_trend_result *anon,
				  const struct lw_trend_result *live, double alpha, double now,
				  double window)
{
	const struct lw_sample *a0 = first_since(m->anon, now - window);
	const struct lw_sample *a1 = lw_series__last(m->anon);
	const struct lw_sample *l0 = first_since(m->live, now - window);
	const struct lw_sample *l1 = lw_series__last(m->live);
	double span, grown, heap_grown, freed;

	if (!a0 || !a1 || !l0 || !l1 || a1->t <= a0->t || anon->p_value >= alpha)
		return 0;
	span = a1->t - a0->t;
	grown = anon->growth_bytes_per_sec * span;
	heap_grown = fmax(0, live->growth_bytes_per_sec * span);
	freed = (double)(a1->live_allocs - a0->live_allocs);
	if (grown <= 0 || is_up(live->verdict) || heap_grown > HEAP_SHARE * grown ||
	    freed < grown)
		return 0;
	return (int64_t)grown;
}

/*
 * Stepped up and stayed: the memory the live heap does not explain (anonymous memory minus the
 * live heap) stays, over the recent stretch, above the lowest it has been since the process was
 * first seen, and the process freed at least that much since. A burst that was built, freed and
 * not given back: CPython after building and dropping a million objects keeps part of it in
 * pymalloc's arenas and glibc's heap, while the live heap is back where it was and its fall is
 * too small a share of the peak for held_after_fall. Returns the rise, 0 when not there.
 */
static int64_t held_after_burst(struct lw_procmem *m, double now, double recent)
{
	int64_t recent_min = INT64_MAX, rise;
	unsigned int n = lw_series__len(m->anon);
	const struct lw_sample *last = lw_series__last(m->anon);

	for (unsigned int i = 0; i < n; i++) {
		const struct lw_sample *a = lw_series__at(m->anon, i);
		const struct lw_sample *l = lw_series__at(m->live, i);
		int64_t u = a->live_bytes - l->live_bytes;

		if (a->live_bytes < 0)
			continue;
		if (a->t >= now - recent) {
			if (u < recent_min)
				recent_min = u;
		} else if (!m->have_low || u < m->low_unexplained) {
			m->low_unexplained = u;
			m->low_freed = (uint64_t)a->live_allocs;
			m->have_low = true;
		}
	}
	if (!m->have_low || recent_min == INT64_MAX || !last)
		return 0;
	rise = recent_min - m->low_unexplained;
	if (rise <= 0 || (uint64_t)last->live_allocs - m->low_freed < (uint64_t)rise)
		return 0;
	return rise;
}

void lw_procmem__update(struct lw_procmem *m, const struct lw_trend_params *p,
			uint64_t frag_min_bytes, const struct lw_procmem_sample *smp,
			struct lw_procmem_result *out)
{
	static const struct lw_trend_params defaults = LW_TREND_PARAMS_DEFAULT;
	struct lw_trend_params pp;
	struct lw_trend_result rss, anon, live;
	int64_t held, held_fall, held_grow, held_burst;
	double window;
	bool frag_now;

	/* resident memory moves by pages and arenas: growth that matters is counted in MiB */
	pp = p ? *p : defaults;
	if (pp.min_growth_bytes < frag_min_bytes / 8)
		pp.min_growth_bytes = frag_min_bytes / 8;
	p = &pp;
	window = p->window_sec > 0 ? p->window_sec : defaults.window_sec;
	lw_series__push(m->rss, smp->t, smp->rss_bytes, 0);
	lw_series__push(m->anon, smp->t, smp->anon_bytes, (int64_t)smp->freed_bytes);
	lw_series__push(m->live, smp->t, smp->live_bytes, smp->live_allocs);
	lw_trend__eval(m->rss, p, NULL, &m->rss_st, &rss);
	lw_trend__eval(m->anon, p, NULL, &m->anon_st, &anon);
	lw_trend__eval(m->live, p, NULL, &m->live_st, &live);

	if (smp->anon_bytes >= 0 && (!m->have_peak || smp->live_bytes >= m->peak_live)) {
		m->peak_live = smp->live_bytes;
		m->peak_anon = smp->anon_bytes;
		m->peak_t = smp->t;
		m->have_peak = true;
	}
	held_fall = held_after_fall(m, smp->t, window);
	held_grow = held_while_freeing(m, &anon, &live, p->significance, smp->t, window);
	held_burst = held_after_burst(m, smp->t, window / 4);
	held = held_fall > held_grow ? held_fall : held_grow;
	held = held > held_burst ? held : held_burst;
	frag_now = !smp->nleaks && !is_up(live.verdict) && held >= (int64_t)frag_min_bytes;
	/* once published, it holds until half the threshold */
	if (m->frag && !smp->nleaks && !is_up(live.verdict) &&
	    held >= (int64_t)frag_min_bytes / 2)
		frag_now = true;
	if (frag_now != m->frag) {
		if (++m->frag_count >= FRAG_CONFIRM || smp->nleaks) {
			m->frag = frag_now;
			m->frag_count = 0;
		}
	} else {
		m->frag_count = 0;
	}

	out->held_bytes = held;
	out->rss_growth_bytes_per_sec = rss.growth_bytes_per_sec;
	out->live_growth_bytes_per_sec = live.growth_bytes_per_sec;
	if (smp->nleaks)
		out->verdict = LW_PROC_LEAK;
	else if (m->frag)
		out->verdict = LW_PROC_FRAGMENTATION;
	else if (is_up(rss.verdict) || is_up(live.verdict))
		out->verdict = LW_PROC_GROWING;
	else
		out->verdict = LW_PROC_STABLE;
}
