// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>

#include "snapshot.h"

struct lw_stackinfo *lw_stackinfo__new(unsigned int nframes)
{
	struct lw_stackinfo *si = calloc(1, sizeof(*si) + nframes * sizeof(si->frames[0]));

	if (!si)
		return NULL;
	si->refcnt = 1;
	si->nframes = nframes;
	return si;
}

struct lw_stackinfo *lw_stackinfo__get(struct lw_stackinfo *si)
{
	if (si)
		si->refcnt++;
	return si;
}

void lw_stackinfo__put(struct lw_stackinfo *si)
{
	if (!si || --si->refcnt)
		return;
	for (unsigned int i = 0; i < si->nframes; i++) {
		free((char *)si->frames[i].symbol);
		free((char *)si->frames[i].module);
		free((char *)si->frames[i].file);
		free((char *)si->frames[i].build_id);
	}
	free(si);
}

struct lw_procinfo *lw_procinfo__get(struct lw_procinfo *pi)
{
	if (pi)
		pi->refcnt++;
	return pi;
}

void lw_procinfo__put(struct lw_procinfo *pi)
{
	if (!pi || --pi->refcnt)
		return;
	free(pi->exe);
	free(pi->cgroup);
	free(pi);
}

const char *lw_verdict_name(enum lw_verdict v)
{
	switch (v) {
	case LW_VERDICT_LEAK:
		return "leak";
	case LW_VERDICT_GROWING:
		return "growing";
	case LW_VERDICT_PLATEAU:
		return "plateau";
	case LW_VERDICT_STABLE:
	default:
		return "stable";
	}
}

const char *lw_proc_verdict_name(enum lw_proc_verdict v)
{
	switch (v) {
	case LW_PROC_LEAK:
		return "leak";
	case LW_PROC_FRAGMENTATION:
		return "fragmentation";
	case LW_PROC_GROWING:
		return "growing";
	case LW_PROC_STABLE:
	default:
		return "stable";
	}
}

/* 1 ms to 2.5 s: a drain of a quiet machine takes a few ms, a burst of new sites far more. */
const double lw_drain_bucket_le[LW_DRAIN_BUCKETS - 1] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};

unsigned int lw_drain_bucket(double sec)
{
	unsigned int i = 0;

	while (i < LW_DRAIN_BUCKETS - 1 && sec > lw_drain_bucket_le[i])
		i++;
	return i;
}

const char *lw_drop_name(enum lw_drop d)
{
	static const char *const names[LW_DROP_MAX] = {
		[LW_DROP_ALLOC_MAP_FULL] = "alloc_map_full",
		[LW_DROP_AGG_MAP_FULL] = "site_map_full",
		[LW_DROP_STACK_MAP_FULL] = "stack_map_full",
		[LW_DROP_STACK_MISSING] = "stack_missing",
		[LW_DROP_FREE_UNKNOWN] = "free_unknown",
		[LW_DROP_NO_TASK_STORAGE] = "no_task_storage",
		[LW_DROP_PROC_MAP_FULL] = "proc_map_full",
		[LW_DROP_EVENT_LOST] = "event_lost",
		[LW_DROP_PY_STATE] = "python_state_unreadable",
	};

	return d < LW_DROP_MAX && names[d] ? names[d] : "unknown";
}

const char *lw_count_name(enum lw_count c)
{
	static const char *const names[LW_CNT_MAX] = {
		[LW_CNT_ALLOCS] = "allocs",
		[LW_CNT_FREES] = "frees",
		[LW_CNT_FAILED_ALLOCS] = "failed_allocs",
		[LW_CNT_NESTED] = "nested_calls",
		[LW_CNT_PY_STACKS] = "python_stacks",
		[LW_CNT_PY_FRAMES_CUT] = "python_stacks_cut",
		[LW_CNT_MMAPS] = "mmaps",
		[LW_CNT_MMAPS_IN_ALLOCATOR] = "mmaps_in_allocator",
		[LW_CNT_UNMAPS] = "unmaps",
	};

	return c < LW_CNT_MAX && names[c] ? names[c] : "unknown";
}

struct lw_snapshot *lw_snapshot__new(size_t nsites)
{
	struct lw_snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->refcnt = 1;
	if (nsites) {
		s->sites = calloc(nsites, sizeof(*s->sites));
		if (!s->sites) {
			free(s);
			return NULL;
		}
	}
	s->nsites = nsites;
	return s;
}

int lw_snapshot__alloc_procs(struct lw_snapshot *s, size_t nprocs)
{
	if (!nprocs)
		return 0;
	s->procs = calloc(nprocs, sizeof(*s->procs));
	if (!s->procs)
		return -ENOMEM;
	s->nprocs = nprocs;
	return 0;
}

struct lw_snapshot *lw_snapshot__get(struct lw_snapshot *s)
{
	if (s)
		s->refcnt++;
	return s;
}

void lw_snapshot__put(struct lw_snapshot *s)
{
	if (!s || --s->refcnt)
		return;
	for (size_t i = 0; i < s->nsites; i++) {
		lw_procinfo__put(s->sites[i].proc);
		lw_stackinfo__put(s->sites[i].stack);
	}
	for (size_t i = 0; i < s->nprocs; i++)
		lw_procinfo__put(s->procs[i].proc);
	free(s->procs);
	for (size_t i = 0; i < s->status.nattached; i++) {
		free(s->status.attached[i].path);
		free(s->status.attached[i].functions);
		free(s->status.attached[i].probe_points);
	}
	free(s->status.attached);
	for (size_t i = 0; i < s->status.ninterps; i++)
		free(s->status.interps[i].path);
	free(s->status.interps);
	free(s->sites);
	free(s);
}

/* Growth for ranking: a rate that is not a number ranks as no growth. */
static double rank_growth(const struct lw_site_snap *s)
{
	return s->growth_bytes_per_sec == s->growth_bytes_per_sec ? s->growth_bytes_per_sec : 0;
}

/*
 * Leaks first, then growing, plateau, stable (the enum's order, highest first), then by growth
 * rate, then by live bytes.
 */
static int site_cmp(const void *pa, const void *pb)
{
	const struct lw_site_snap *a = pa, *b = pb;
	double ga = rank_growth(a), gb = rank_growth(b);

	if (a->verdict != b->verdict)
		return a->verdict > b->verdict ? -1 : 1;
	if (ga != gb)
		return ga > gb ? -1 : 1;
	if (a->live_bytes != b->live_bytes)
		return a->live_bytes > b->live_bytes ? -1 : 1;
	return a->proc->pid < b->proc->pid ? -1 : a->proc->pid > b->proc->pid;
}

/* Leaks first, then fragmentation, growing, stable; then by the faster of the two growths. */
static int proc_cmp(const void *pa, const void *pb)
{
	const struct lw_proc_snap *a = pa, *b = pb;
	double ga = a->live_growth_bytes_per_sec > a->rss_growth_bytes_per_sec ?
			    a->live_growth_bytes_per_sec : a->rss_growth_bytes_per_sec;
	double gb = b->live_growth_bytes_per_sec > b->rss_growth_bytes_per_sec ?
			    b->live_growth_bytes_per_sec : b->rss_growth_bytes_per_sec;

	if (a->verdict != b->verdict)
		return a->verdict > b->verdict ? -1 : 1;
	if (ga != gb && ga == ga && gb == gb)
		return ga > gb ? -1 : 1;
	if (a->rss_bytes != b->rss_bytes)
		return a->rss_bytes > b->rss_bytes ? -1 : 1;
	return a->proc->pid < b->proc->pid ? -1 : a->proc->pid > b->proc->pid;
}

void lw_snapshot__rank(struct lw_snapshot *s)
{
	if (s->nsites > 1)
		qsort(s->sites, s->nsites, sizeof(s->sites[0]), site_cmp);
	if (s->nprocs > 1)
		qsort(s->procs, s->nprocs, sizeof(s->procs[0]), proc_cmp);
}
