/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The process-level verdict: a process's memory as the kernel counts it (resident, anonymous)
 * against its live heap as the probes count it, over time.
 *
 * - leak: one of its sites leaks.
 * - fragmentation: no site leaks and the heap does not grow, but memory the process freed is
 *   not given back: either anonymous memory grows while the live heap does not (and the
 *   process freed at least that much meanwhile), or the live heap fell and has stayed down
 *   while anonymous memory stayed up.
 * - growing: resident memory or the live heap grows significantly.
 * - stable: none of these.
 *
 * Only changes seen since the daemon started count: memory allocated before it is invisible to
 * the probes, so the absolute gap between resident memory and live heap says nothing. Pure
 * logic: no I/O.
 */
#ifndef LW_PROCMEM_H
#define LW_PROCMEM_H

#include <stdint.h>

#include "snapshot.h"
#include "trend.h"

struct lw_procmem;

/* One drain's measurements of one process. */
struct lw_procmem_sample {
	double t;		/* monotonic seconds */
	int64_t rss_bytes;
	int64_t anon_bytes;
	int64_t live_bytes;	/* live heap: the sum over its sites */
	int64_t live_allocs;
	uint64_t freed_bytes;	/* bytes freed since the process was first seen (cumulative) */
	unsigned int nleaks;	/* its sites with verdict leak */
};

struct lw_procmem_result {
	enum lw_proc_verdict verdict;
	double rss_growth_bytes_per_sec;
	double live_growth_bytes_per_sec;
	int64_t held_bytes;	/* freed but not given back, as the verdict measured it */
};

/* NULL with errno on failure; history is the number of samples kept. */
struct lw_procmem *lw_procmem__new(unsigned int history);
void lw_procmem__free(struct lw_procmem *m);

/*
 * Add a sample and decide. frag_min_bytes is the least memory held back that counts as
 * fragmentation. p NULL means LW_TREND_PARAMS_DEFAULT.
 */
void lw_procmem__update(struct lw_procmem *m, const struct lw_trend_params *p,
			uint64_t frag_min_bytes, const struct lw_procmem_sample *smp,
			struct lw_procmem_result *out);

#endif /* LW_PROCMEM_H */
