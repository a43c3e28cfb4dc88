/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Processes as the daemon knows them: one entry per identity (pid, ident), created at first
 * sight with what /proc says then (command, executable, owner, mappings), so that a process
 * that exits before anyone asks is still described. /proc is only trusted for an identity once
 * its start time matches: a reused pid never lends its name to a dead process.
 */
#ifndef LW_PROCTAB_H
#define LW_PROCTAB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "procmaps.h"
#include "procmem.h"
#include "snapshot.h"

struct lw_proc {
	pid_t pid;
	uint64_t ident;
	uint64_t start_ns;	/* boot ns, 0 when unknown */
	struct lw_procinfo *info;
	struct lw_maps maps;
	double maps_read_at;	/* monotonic seconds; 0 = never read */
	bool exited;
	double exited_at;
	unsigned int nsites;	/* sites referring to this process */

	/* process-level view, kept by the engine for running processes with sites */
	struct lw_procmem *mem;		/* NULL until first needed */
	struct lw_procmem_sample smp;	/* this drain's sample (sums over its sites) */
	struct lw_procmem_result memres;
	unsigned int mem_gen;		/* drain that last summed smp */
	int64_t pss_bytes;		/* -1 until measured */

	struct lw_proc *next;	/* hash chain */
};

struct lw_proctab;

struct lw_proctab *lw_proctab__new(void);
void lw_proctab__free(struct lw_proctab *pt);
/*
 * The entry for (pid, ident), created on first sight. start_ns is the process's start time
 * (boot ns) when known, 0 otherwise; it decides whether /proc/PID is this process.
 */
struct lw_proc *lw_proctab__get(struct lw_proctab *pt, pid_t pid, uint64_t ident,
				uint64_t start_ns, double now);
struct lw_proc *lw_proctab__find(struct lw_proctab *pt, pid_t pid, uint64_t ident);
/* Re-read the mappings if the last read is older than min_age seconds. 0 or -errno. */
int lw_proc__refresh_maps(struct lw_proc *p, double now, double min_age);
void lw_proctab__mark_exited(struct lw_proctab *pt, pid_t pid, uint64_t ident, double now);
/* Mark exited the entries whose /proc no longer matches (their exit event was lost). */
uint64_t lw_proctab__check_alive(struct lw_proctab *pt, double now);
/* Record an identity known to be gone (its exit arrived before any of its sites). */
struct lw_proc *lw_proctab__add_dead(struct lw_proctab *pt, pid_t pid, uint64_t ident,
				     double now);
/* Remove entries with no sites left that exited more than retention seconds ago. */
void lw_proctab__prune(struct lw_proctab *pt, double now, double retention);
/* Live (not exited) entries. */
uint64_t lw_proctab__nalive(const struct lw_proctab *pt);

/*
 * Resident and anonymous resident bytes from /proc/PID/statm (cheap: no page-table walk).
 * 0 or -errno (-ENOENT: the process is gone).
 */
int lw_proc__read_mem(const struct lw_proc *p, int64_t *rss, int64_t *anon);
/* Proportional set size from /proc/PID/smaps_rollup (walks the page tables). 0 or -errno. */
int lw_proc__read_pss(const struct lw_proc *p, int64_t *pss);
/* Pure helpers for the two: -EINVAL on text they cannot parse. */
int lw_parse_statm(const char *text, long page_size, int64_t *rss, int64_t *anon);
int lw_parse_rollup_pss(const char *text, int64_t *pss);

/* Pure helper: /proc/PID/stat's start time (clock ticks since boot), field 22. -EINVAL if bad. */
int lw_parse_stat_starttime(const char *stat, unsigned long long *ticks);

#endif /* LW_PROCTAB_H */
