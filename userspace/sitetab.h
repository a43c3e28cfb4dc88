/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Allocation sites as the daemon tracks them: one entry per kernel aggregate (process identity,
 * stack), holding the latest counters, the bounded time series, the trend verdict and the
 * resolved stack. The table is bounded; a site that does not fit is counted, not tracked.
 */
#ifndef LW_SITETAB_H
#define LW_SITETAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch_abi.h"
#include "proctab.h"
#include "snapshot.h"
#include "trend.h"

struct lw_site {
	struct lw_agg_key key;
	struct lw_proc *proc;		/* holds proc->nsites */
	struct lw_stackinfo *stack;	/* NULL when the kernel lost the stack */
	uint8_t alloc_kind;		/* enum lw_alloc_kind, from the stack record */
	struct lw_series *series;
	struct lw_trend_state trend;
	struct lw_trend_result res;
	struct lw_agg_val val;
	/* each cohort's baseline: live bytes at its boundary, and its death counter then */
	struct {
		int64_t live_bytes;
		uint64_t free_bytes;
		bool set;
		bool predates;	/* the boundary is older than the site: nothing was live */
	} cohort[LW_COHORTS];
	uint64_t oldest_birth_ns;	/* boot ns of its oldest live allocation, 0 unknown */
	uint64_t oldest_gen;		/* sweep that set oldest_birth_ns */
	uint64_t freed_delta;		/* bytes freed at it since the previous drain */
	double last_change;		/* monotonic time allocs or frees last moved */
	int64_t last_bytes;		/* live bytes at the last drain */
	double bytes_since;		/* since when live bytes have been last_bytes */
	unsigned int gen;		/* last drain that read it from the kernel */
	struct lw_site *next;
};

struct lw_sitetab;

struct lw_sitetab *lw_sitetab__new(size_t max_sites, unsigned int history);
void lw_sitetab__free(struct lw_sitetab *st);
struct lw_site *lw_sitetab__find(struct lw_sitetab *st, const struct lw_agg_key *key);
/* Create an entry for key (with a series); NULL with errno ENOSPC when the table is full. */
struct lw_site *lw_sitetab__add(struct lw_sitetab *st, const struct lw_agg_key *key,
				struct lw_proc *proc);
size_t lw_sitetab__count(const struct lw_sitetab *st);
uint64_t lw_sitetab__rejected(const struct lw_sitetab *st);
/* Visit every site; fn returns true to have the site removed. */
void lw_sitetab__for_each(struct lw_sitetab *st, bool (*fn)(void *ctx, struct lw_site *s),
			  void *ctx);

#endif /* LW_SITETAB_H */
