// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "allocfns.h"
#include "discover.h"
#include "engine.h"
#include "log.h"
#include "proctab.h"
#include "pyframes.h"
#include "pyinterp.h"
#include "pysym.h"
#include "sitetab.h"
#include "symbolize.h"
#include "tracer.h"
#include "trend.h"

/* A site with no live allocation and no activity for this long is dropped from the maps. */
#define IDLE_SITE_SEC 120.0
/* Code objects whose names are kept (about 0.5 KiB each). */
#define PYSYM_CACHE 16384

struct lw_engine {
	struct lw_config cfg;
	struct lw_trend_params trend;
	struct lw_tracer *tracer;
	struct lw_allocfns fns;		/* which functions of which objects get probes */
	struct lw_discover *disc;
	struct lw_proctab *procs;
	struct lw_sitetab *sites;
	struct lw_symbolizer *sym;
	struct lw_pyinterp *py;
	struct lw_pysym *pysym;
	struct lw_snapshot *snap;

	double started_mono;
	unsigned int gen;
	uint64_t drains;
	double last_drain_wall, last_drain_dur;
	uint64_t drain_hist[LW_DRAIN_BUCKETS];
	double drain_sum;
	double last_sweep;
	uint64_t sweep_gen;
	uint64_t naggs, nallocs, nstacks;

	/* age evidence: when each cohort boundary was set (0: never), which one moves next */
	double cohort_t[LW_COHORTS];
	double last_cohort;
	int cohort_moved;		/* the boundary moved by this drain, -1 none */
	unsigned int cohort_next;

	/* sites whose stack is still to be resolved, oldest first */
	struct lw_agg_key *pending;
	size_t npending, pending_cap;
	/* agg keys to delete from the kernel after this drain */
	struct lw_agg_key *dead;
	size_t ndead, dead_cap;
	/* running processes with sites, this drain: the process-level view */
	struct lw_proc **procv;
	size_t nprocv, procv_cap;
	bool swept;			/* this drain swept the tables */
	/* stacks found unreferenced by the previous stack sweep */
	uint64_t *orphans;
	size_t norphans, orphans_cap;
};

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void set_trend_params(struct lw_engine *e, const struct lw_config *cfg)
{
	e->trend = (struct lw_trend_params){
		.window_sec = cfg->window,
		.min_growth_bytes = cfg->min_growth_bytes,
		.significance = cfg->significance,
		.warmup_sec = cfg->warmup,
	};
}

static struct lw_snapshot *build_snapshot(struct lw_engine *e);

struct lw_engine *lw_engine__new(const struct lw_config *cfg)
{
	struct lw_tracer_opts topts = {
		.self = getpid(),
		.pids = cfg->npids ? cfg->pids : NULL,
		.npids = cfg->npids,
		.max_allocations = cfg->max_allocations,
		.max_sites = cfg->max_sites,
		.max_stacks = cfg->max_stacks,
		.stack_depth = cfg->stack_depth,
		.attach = cfg->attach,
		.mmap = cfg->mmap,
		.sample_bytes = cfg->sample_bytes,
		/* resolved by the daemon: on means the kernel has them */
		.session = cfg->session == LW_SESSION_ON,
	};
	struct lw_engine *e = calloc(1, sizeof(*e));
	char why[256];
	int err;

	if (!e)
		return NULL;
	e->cfg = *cfg;
	set_trend_params(e, cfg);
	e->started_mono = mono_now();
	err = cfg->python ? lw_py_tss_base(&topts.py_tss_base) : 0;
	if (err)
		lw_warn("Python frames unavailable: cannot locate glibc's thread keys: %s",
			strerror(-err));

	e->tracer = lw_tracer__new(&topts);
	if (!e->tracer)
		goto fail;
	e->procs = lw_proctab__new();
	e->sites = lw_sitetab__new(cfg->max_series, cfg->history);
	e->sym = lw_symbolizer__new();
	err = lw_allocfns__init(&e->fns, cfg->wrappers, why, sizeof(why));
	if (err) {
		lw_err("wrappers: %s", why);
		errno = -err;
		goto fail;
	}
	e->disc = lw_discover__new(e->tracer, &e->fns);
	e->py = lw_pyinterp__new(e->tracer);
	e->pysym = lw_pysym__new(PYSYM_CACHE);
	if (!e->procs || !e->sites || !e->sym || !e->disc || !e->py || !e->pysym)
		goto fail;
	if (lw_tracer__python(e->tracer))
		lw_discover__set_python(e->disc, e->py);

	err = lw_discover__scan(e->disc);
	if (err < 0) {
		errno = -err;
		lw_err("failed to scan /proc: %s", strerror(errno));
		goto fail;
	}
	if (!lw_discover__libcs(e->disc)) {
		lw_err("libc not found: no process maps a glibc libc.so that exports malloc");
		errno = ENOENT;
		goto fail;
	}
	e->snap = build_snapshot(e);
	if (!e->snap)
		goto fail;
	return e;
fail:
	err = errno;
	lw_engine__free(e);
	errno = err;
	return NULL;
}

void lw_engine__free(struct lw_engine *e)
{
	if (!e)
		return;
	lw_snapshot__put(e->snap);
	/* sites refer to processes: free them first */
	lw_sitetab__free(e->sites);
	lw_proctab__free(e->procs);
	lw_discover__free(e->disc);
	lw_allocfns__free(&e->fns);
	lw_pyinterp__free(e->py);
	lw_pysym__free(e->pysym);
	lw_symbolizer__free(e->sym);
	lw_tracer__free(e->tracer);
	free(e->dead);
	free(e->pending);
	free(e->orphans);
	free(e->procv);
	free(e);
}

void lw_engine__reconfigure(struct lw_engine *e, const struct lw_config *cfg)
{
	/* map sizes, stack depth and the pid filter are fixed at load: they need a restart */
	e->cfg.window = cfg->window;
	e->cfg.min_growth_bytes = cfg->min_growth_bytes;
	e->cfg.min_fragmentation_bytes = cfg->min_fragmentation_bytes;
	e->cfg.significance = cfg->significance;
	e->cfg.warmup = cfg->warmup;
	e->cfg.scan_interval = cfg->scan_interval;
	e->cfg.exited_retention = cfg->exited_retention;
	e->cfg.interval = cfg->interval;
	set_trend_params(e, cfg);
}

int lw_engine__events_fd(const struct lw_engine *e)
{
	return lw_tracer__events_fd(e->tracer);
}

static void on_event(void *ctx, const struct lw_event *ev)
{
	struct lw_engine *e = ctx;
	double now = mono_now();

	if (ev->type == LW_EV_FORK) {
		/* a traced process's child: probes of its own (per-process attach) */
		int err = lw_tracer__add_pid(e->tracer, ev->tgid);

		if (err && err != -ESRCH)
			lw_warn("failed to attach probes for process %u: %s", ev->tgid,
				strerror(-err));
		return;
	}
	if (ev->type == LW_EV_EXIT)
		lw_tracer__drop_pid(e->tracer, ev->tgid);
	/* the old identity ended either way; create it dead if it was never seen */
	if (!lw_proctab__find(e->procs, ev->tgid, ev->old_ident))
		lw_proctab__add_dead(e->procs, ev->tgid, ev->old_ident, now);
	lw_proctab__mark_exited(e->procs, ev->tgid, ev->old_ident, now);
	/* at once, not at the next drain: a program's own wrappers are probed before it runs far */
	if (ev->type == LW_EV_EXEC)
		lw_discover__exec(e->disc, ev->tgid);
}

void lw_engine__consume_events(struct lw_engine *e)
{
	lw_tracer__consume_events(e->tracer, on_event, e);
}

struct lw_snapshot *lw_engine__snapshot(struct lw_engine *e)
{
	return e->snap;
}

/*
 * Resolve a site's stack at first sight. Frames after the first that fall outside executable
 * code are what a frame-pointer walk reads through functions built without frame pointers:
 * the stack is cut there rather than shown with invented callers.
 */
static struct lw_stackinfo *resolve_stack(struct lw_engine *e, struct lw_proc *p,
					  uint64_t stack_id, double now, uint8_t *kind)
{
	const struct lw_py_layout *layout = NULL;
	const char *interp = NULL;
	struct lw_stack_val sv;
	struct lw_stackinfo *si;
	unsigned int n, npy = 0;

	if (!stack_id || lw_tracer__read_stack(e->tracer, stack_id, &sv) || !sv.nr)
		return NULL;
	*kind = sv.kind;
	/* code mapped after we read the maps (dlopen): read them again, at most once a second */
	if (!lw_maps__is_code(&p->maps, sv.ips[0]))
		lw_proc__refresh_maps(p, now, 1.0);
	for (n = 1; n < sv.nr; n++)
		if (!lw_maps__is_code(&p->maps, sv.ips[n]))
			break;
	/*
	 * Python frames first, innermost first: the code that asked, then the C that served it.
	 * Trampolines carry no code of the program: the BPF side stores 3.12+ shim frames with
	 * code 0, and 3.13's __init__ cleanup frame runs a code object that is static data of the
	 * interpreter binary, where no code object of the program lives.
	 */
	if (sv.py_nr && !p->exited)
		layout = lw_pyinterp__layout(e->py, sv.interp, &interp);
	for (unsigned int i = 0; layout && i < sv.py_nr && i < LW_MAX_PY_DEPTH; i++) {
		const struct lw_mapping *mp = lw_maps__find(&p->maps, sv.py_code[i]);

		if (sv.py_code[i] && !(mp && mp->path && mp->path[0] == '/')) {
			sv.py_code[npy] = sv.py_code[i];
			sv.py_instr[npy++] = sv.py_instr[i];
		}
	}
	si = lw_stackinfo__new(npy + n);
	if (!si)
		return NULL;
	for (unsigned int i = 0; i < npy; i++)
		lw_pysym__resolve(e->pysym, p->pid, p->ident, layout, interp, sv.py_code[i],
				  sv.py_instr[i], &si->frames[i]);
	for (unsigned int i = 0; i < n; i++)
		lw_symbolizer__resolve(e->sym, p->pid, &p->maps, sv.ips[i], true,
				       &si->frames[npy + i]);
	return si;
}

static int push_key(struct lw_agg_key **v, size_t *n, size_t *cap, const struct lw_agg_key *k)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct lw_agg_key *nv = realloc(*v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = *k;
	return 0;
}

static int push_dead(struct lw_engine *e, const struct lw_agg_key *k)
{
	return push_key(&e->dead, &e->ndead, &e->dead_cap, k);
}

struct pending_rank {
	int64_t live_bytes;
	size_t pos;
	struct lw_agg_key key;
};

static int rank_cmp(const void *a, const void *b)
{
	const struct pending_rank *x = a, *y = b;

	if (x->live_bytes != y->live_bytes)
		return x->live_bytes > y->live_bytes ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * A backlog is resolved biggest site first, oldest first among equals. Python processes bring
 * thousands of small sites each as they import their modules, and the sites users look at, the
 * ones that hold memory, must not wait behind them.
 */
static void rank_pending(struct lw_engine *e)
{
	struct pending_rank *r = malloc(e->npending * sizeof(*r));

	if (!r)
		return;	/* resolved in arrival order instead */
	for (size_t i = 0; i < e->npending; i++) {
		struct lw_site *s = lw_sitetab__find(e->sites, &e->pending[i]);

		r[i].live_bytes = s ? s->val.live_bytes : INT64_MIN;
		r[i].pos = i;
		r[i].key = e->pending[i];
	}
	qsort(r, e->npending, sizeof(*r), rank_cmp);
	for (size_t i = 0; i < e->npending; i++)
		e->pending[i] = r[i].key;
	free(r);
}

/*
 * Symbolization is the drain's one unbounded cost (a burst of new processes brings thousands of
 * new sites): it gets a time budget per drain, and what does not fit waits for the next one,
 * so the loop keeps answering clients and signals.
 */
static void resolve_pending(struct lw_engine *e, double now)
{
	double budget = e->cfg.interval / 4, t0 = mono_now();
	size_t i;

	if (budget < 0.05)
		budget = 0.05;
	/* a long interval is no licence to stall: the service watchdog counts on the loop */
	if (budget > 5)
		budget = 5;
	if (e->npending > 256)
		rank_pending(e);
	for (i = 0; i < e->npending; i++) {
		struct lw_site *s = lw_sitetab__find(e->sites, &e->pending[i]);

		if (s && !s->stack)
			s->stack = resolve_stack(e, s->proc, s->key.stack_id, now, &s->alloc_kind);
		if ((i & 15) == 15 && mono_now() - t0 > budget) {
			i++;
			break;
		}
	}
	memmove(e->pending, e->pending + i, (e->npending - i) * sizeof(*e->pending));
	e->npending -= i;
}

/*
 * A cohort boundary moves every period, the three in turn, so the two older ones are always at
 * least a period old: old enough that churn has died and a queue or a cache has turned over,
 * young enough to be measured inside the trend window.
 */
static double cohort_period(const struct lw_engine *e)
{
	return fmax(e->cfg.window / 8, 2 * e->cfg.interval);
}

static void move_cohort(struct lw_engine *e, double now)
{
	unsigned int i = e->cohort_next;

	e->cohort_moved = -1;
	if (e->last_cohort && now - e->last_cohort < cohort_period(e))
		return;
	/* before the maps are read: what they hold then is the cohort's baseline */
	lw_tracer__set_cohort(e->tracer, i, boot_ns());
	e->cohort_t[i] = now;
	e->cohort_moved = (int)i;
	e->cohort_next = (i + 1) % LW_COHORTS;
	e->last_cohort = now;
}

/* Bytes of the blocks live at cohort i's boundary that still live. */
static int64_t cohort_survivors(const struct lw_site *s, int i)
{
	int64_t died = (int64_t)(s->val.cohort_free_bytes[i] - s->cohort[i].free_bytes);

	return s->cohort[i].live_bytes > died ? s->cohort[i].live_bytes - died : 0;
}

/*
 * The age evidence of a site: its two oldest cohorts, both at least a period old. What survives
 * of the younger one and not of the older was born between them and has outlived the period.
 */
static void site_age(const struct lw_engine *e, const struct lw_site *s, double now,
		     struct lw_trend_age *age)
{
	int old = -1, mid = -1;
	int64_t kept;

	memset(age, 0, sizeof(*age));
	for (int i = 0; i < LW_COHORTS; i++) {
		if (!e->cohort_t[i] || !s->cohort[i].set ||
		    now - e->cohort_t[i] < 0.99 * cohort_period(e))
			continue;
		if (old < 0 || e->cohort_t[i] < e->cohort_t[old]) {
			mid = old;
			old = i;
		} else if (mid < 0 || e->cohort_t[i] < e->cohort_t[mid]) {
			mid = i;
		}
	}
	/* both older than the site: it has no blocks of that age yet, no evidence either way */
	if (old < 0 || mid < 0 || s->cohort[mid].predates)
		return;
	kept = cohort_survivors(s, mid) - cohort_survivors(s, old);
	age->valid = true;
	age->from_t = e->cohort_t[old];
	age->to_t = e->cohort_t[mid];
	age->retained_bytes = kept > 0 ? kept : 0;
}

static void set_cohort_base(struct lw_engine *e, struct lw_site *s, const struct lw_agg_val *v,
			    bool is_new)
{
	/* a site first seen now held nothing at the earlier boundaries */
	if (is_new)
		for (int i = 0; i < LW_COHORTS; i++) {
			s->cohort[i].live_bytes = 0;
			s->cohort[i].free_bytes = v->cohort_free_bytes[i];
			s->cohort[i].set = e->cohort_t[i] != 0;
			s->cohort[i].predates = true;
		}
	if (e->cohort_moved >= 0) {
		int i = e->cohort_moved;

		s->cohort[i].live_bytes = v->live_bytes > 0 ? v->live_bytes : 0;
		s->cohort[i].free_bytes = v->cohort_free_bytes[i];
		s->cohort[i].set = true;
		s->cohort[i].predates = false;
	}
}

static void update_site(struct lw_engine *e, const struct lw_agg_entry *a, double now)
{
	struct lw_site *s = lw_sitetab__find(e->sites, &a->key);
	struct lw_trend_age age;
	bool is_new = !s;

	if (!s) {
		uint64_t start = 0;
		struct lw_proc *p;

		lw_tracer__proc_start(e->tracer, a->key.tgid, a->key.ident, &start);
		p = lw_proctab__get(e->procs, a->key.tgid, a->key.ident, start, now);
		if (!p)
			return;
		s = lw_sitetab__add(e->sites, &a->key, p);
		if (!s) {
			/* not tracked: its process may still be dead, and must still be retired */
			if (p->exited)
				push_dead(e, &a->key);
			return;
		}
		push_key(&e->pending, &e->npending, &e->pending_cap, &a->key);
		s->last_change = now;
	}
	if (s->val.allocs != a->val.allocs || s->val.frees != a->val.frees)
		s->last_change = now;
	s->freed_delta = is_new || a->val.free_bytes < s->val.free_bytes
				 ? 0
				 : a->val.free_bytes - s->val.free_bytes;
	s->val = a->val;
	s->gen = e->gen;
	set_cohort_base(e, s, &a->val, is_new);
	if (s->proc->exited) {
		/*
		 * Final counters read: retire the kernel entry and keep ours for the record. A site
		 * that grows no more needs no series: its verdict is frozen from here on.
		 */
		push_dead(e, &a->key);
		lw_series__free(s->series);
		s->series = NULL;
		return;
	}
	if (a->val.live_bytes != s->last_bytes || !s->bytes_since) {
		s->last_bytes = a->val.live_bytes;
		s->bytes_since = now;
	}
	lw_series__push(s->series, now, a->val.live_bytes, a->val.live_allocs);
	/*
	 * Most sites of a machine hold still. A stable site whose live bytes have not moved for a
	 * whole window gets the same verdict again: skip the O(n^2) test for it.
	 */
	if (s->res.verdict != LW_VERDICT_STABLE || now - s->bytes_since < e->cfg.window) {
		site_age(e, s, now, &age);
		lw_trend__eval(s->series, &e->trend, &age, &s->trend, &s->res);
	} else {
		s->res.growth_bytes_per_sec = 0;
	}
	if (!a->val.live_allocs && now - s->last_change > IDLE_SITE_SEC &&
	    s->res.verdict == LW_VERDICT_STABLE)
		push_dead(e, &a->key);
}

struct expire_ctx {
	struct lw_engine *e;
	double now;
};

/* Drop sites of processes gone longer than the retention, and sites retired from the kernel. */
static bool expire_site(void *ctx, struct lw_site *s)
{
	struct expire_ctx *x = ctx;

	/* an exited process's site is kept only as the record of what it never freed */
	if (s->proc->exited)
		return s->val.live_bytes <= 0 ||
		       x->now - s->proc->exited_at > x->e->cfg.exited_retention;
	return s->gen != x->e->gen;
}

struct alloc_sweep {
	struct lw_engine *e;
	/* the last identity asked of the kernel, since a process's records come in runs */
	uint32_t tgid;
	uint64_t ident;
	bool current;
};

/* Is (tgid, ident) still a running process? The kernel's process map knows. */
static bool identity_current(struct alloc_sweep *as, uint32_t tgid, uint64_t ident)
{
	uint64_t start;

	if (as->tgid != tgid || as->ident != ident) {
		as->tgid = tgid;
		as->ident = ident;
		as->current = !lw_tracer__proc_start(as->e->tracer, tgid, ident, &start);
	}
	return as->current;
}

/* Sweep of the live-allocation table: ages per site, and leftovers of exited processes. */
static bool sweep_alloc(void *ctx, const struct lw_alloc_entry *a)
{
	struct alloc_sweep *as = ctx;
	struct lw_engine *e = as->e;
	struct lw_agg_key key = { .tgid = a->key.tgid, .ident = a->val.ident,
				  .stack_id = a->val.stack_id };
	struct lw_site *s = lw_sitetab__find(e->sites, &key);
	struct lw_proc *p;

	if (s) {
		if (s->proc->exited)
			return true;
		if (s->oldest_gen != e->sweep_gen || a->val.birth_ns < s->oldest_birth_ns) {
			s->oldest_birth_ns = a->val.birth_ns;
			s->oldest_gen = e->sweep_gen;
		}
		return false;
	}
	/* a site we do not track (table full, or already retired): ask who owns the record */
	p = lw_proctab__find(e->procs, a->key.tgid, a->val.ident);
	if (p)
		return p->exited;
	return !identity_current(as, a->key.tgid, a->val.ident);
}

struct id_vec {
	uint64_t *v;
	size_t n, cap;
};

static int id_push(struct id_vec *iv, uint64_t id)
{
	if (iv->n == iv->cap) {
		size_t cap = iv->cap ? iv->cap * 2 : 1024;
		uint64_t *v = realloc(iv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		iv->v = v;
		iv->cap = cap;
	}
	iv->v[iv->n++] = id;
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool id_has(const struct id_vec *iv, uint64_t id)
{
	return iv->n && bsearch(&id, iv->v, iv->n, sizeof(uint64_t), u64_cmp);
}

struct stack_sweep {
	struct id_vec refs;	/* stack ids sites refer to, sorted */
	struct id_vec prev;	/* unreferenced at the previous sweep, sorted */
	struct id_vec next;	/* unreferenced now */
};

static bool collect_ref(void *ctx, struct lw_site *s)
{
	id_push(ctx, s->key.stack_id);
	return false;
}

/*
 * A stack is deleted when no site refers to it at two sweeps in a row: BPF stores a stack just
 * before the aggregate that refers to it, so one that appeared since the last drain survives.
 */
static bool sweep_stack(void *ctx, uint64_t id)
{
	struct stack_sweep *ss = ctx;

	if (id_has(&ss->refs, id))
		return false;
	if (id_has(&ss->prev, id))
		return true;
	id_push(&ss->next, id);
	return false;
}

static void sweep(struct lw_engine *e, double now)
{
	struct stack_sweep ss = { .prev = { e->orphans, e->norphans, e->norphans } };
	struct alloc_sweep as = { .e = e };
	size_t nleft;
	int err;

	e->sweep_gen++;
	err = lw_tracer__sweep_allocs(e->tracer, sweep_alloc, &as, &nleft);
	if (err)
		lw_warn("failed to sweep allocation map: %s", strerror(-err));
	else
		e->nallocs = nleft;

	lw_sitetab__for_each(e->sites, collect_ref, &ss.refs);
	qsort(ss.refs.v, ss.refs.n, sizeof(uint64_t), u64_cmp);
	err = lw_tracer__sweep_stacks(e->tracer, sweep_stack, &ss, &nleft);
	if (err)
		lw_warn("failed to sweep stack map: %s", strerror(-err));
	else
		e->nstacks = nleft;
	qsort(ss.next.v, ss.next.n, sizeof(uint64_t), u64_cmp);
	free(ss.refs.v);
	free(ss.prev.v);
	e->orphans = ss.next.v;
	e->norphans = ss.next.n;

	lw_proctab__check_alive(e->procs, now);
	e->last_sweep = now;
}

/* Sum this drain's sites into their running processes, and list those processes. */
static bool sum_site(void *ctx, struct lw_site *s)
{
	struct lw_engine *e = ctx;
	struct lw_proc *p = s->proc;

	if (p->exited || s->gen != e->gen)
		return false;
	if (p->mem_gen != e->gen) {
		if (e->nprocv == e->procv_cap) {
			size_t cap = e->procv_cap ? e->procv_cap * 2 : 64;
			struct lw_proc **v = realloc(e->procv, cap * sizeof(*v));

			if (!v)
				return false;
			e->procv = v;
			e->procv_cap = cap;
		}
		e->procv[e->nprocv++] = p;
		p->mem_gen = e->gen;
		p->smp.live_bytes = 0;
		p->smp.live_allocs = 0;
		p->smp.nleaks = 0;
	}
	p->smp.live_bytes += s->val.live_bytes;
	p->smp.live_allocs += s->val.live_allocs;
	p->smp.freed_bytes += s->freed_delta;
	if (s->res.verdict == LW_VERDICT_LEAK)
		p->smp.nleaks++;
	return false;
}

/*
 * The process-level view: resident memory against live heap, per running process with sites.
 * statm every drain (cheap); PSS, which walks page tables, only when the tables are swept.
 */
static void update_procs(struct lw_engine *e, double now)
{
	e->nprocv = 0;
	lw_sitetab__for_each(e->sites, sum_site, e);
	for (size_t i = 0; i < e->nprocv; i++) {
		struct lw_proc *p = e->procv[i];
		int64_t pss;

		p->smp.t = now;
		if (lw_proc__read_mem(p, &p->smp.rss_bytes, &p->smp.anon_bytes)) {
			/* gone since the last scan: its exit event will say so */
			p->smp.rss_bytes = p->smp.anon_bytes = -1;
			continue;
		}
		if ((e->swept || p->pss_bytes < 0) && !lw_proc__read_pss(p, &pss))
			p->pss_bytes = pss;
		if (!p->mem) {
			p->mem = lw_procmem__new(e->cfg.history);
			if (!p->mem)
				continue;
		}
		lw_procmem__update(p->mem, &e->trend, e->cfg.min_fragmentation_bytes, &p->smp,
				   &p->memres);
	}
}

int lw_engine__drain(struct lw_engine *e)
{
	double t0 = mono_now(), now;
	struct expire_ctx x = { .e = e };
	struct lw_agg_entry *aggs;
	struct lw_snapshot *snap;
	size_t n;
	int err;

	lw_engine__consume_events(e);
	err = lw_discover__scan(e->disc);
	if (err < 0)
		lw_warn("failed to scan /proc: %s", strerror(-err));
	move_cohort(e, mono_now());

	err = lw_tracer__read_aggs(e->tracer, &aggs, &n);
	if (err) {
		lw_warn("failed to read site map: %s", strerror(-err));
		return err;
	}
	now = mono_now();
	/* the snapshot describes the maps as read now, however long the rest takes */
	e->last_drain_wall = wall_now();
	e->gen++;
	e->naggs = n;
	e->ndead = 0;
	for (size_t i = 0; i < n; i++)
		update_site(e, &aggs[i], now);
	free(aggs);
	resolve_pending(e, now);
	if (e->ndead) {
		lw_tracer__delete_aggs(e->tracer, e->dead, e->ndead);
		e->naggs -= e->ndead;
	}

	e->swept = !e->last_sweep || now - e->last_sweep >= e->cfg.scan_interval;
	if (e->swept)
		sweep(e, now);
	x.now = now;
	lw_sitetab__for_each(e->sites, expire_site, &x);
	lw_proctab__prune(e->procs, now, e->cfg.exited_retention);
	update_procs(e, now);

	e->drains++;
	e->last_drain_dur = mono_now() - t0;
	e->drain_hist[lw_drain_bucket(e->last_drain_dur)]++;
	e->drain_sum += e->last_drain_dur;
	snap = build_snapshot(e);
	if (snap) {
		lw_snapshot__put(e->snap);
		e->snap = snap;
	}
	return 0;
}

struct snap_ctx {
	struct lw_snapshot *snap;
	uint64_t now_boot;
	size_t i;
};

static bool snap_site(void *ctx, struct lw_site *s)
{
	struct snap_ctx *c = ctx;
	struct lw_site_snap *o;

	if (c->i >= c->snap->nsites)
		return false;
	o = &c->snap->sites[c->i++];
	o->proc = lw_procinfo__get(s->proc->info);
	o->stack = lw_stackinfo__get(s->stack);
	o->stack_id = s->key.stack_id;
	o->allocator = lw_alloc_kind__name(s->alloc_kind);
	o->live_bytes = s->val.live_bytes;
	o->live_allocs = s->val.live_allocs;
	o->allocs = s->val.allocs;
	o->alloc_bytes = s->val.alloc_bytes;
	o->frees = s->val.frees;
	o->growth_bytes_per_sec = s->res.growth_bytes_per_sec;
	o->verdict = s->res.verdict;
	o->confidence = s->res.confidence;
	o->retained_share = s->res.retained_share;
	o->reason = lw_trend__explain(s->res.reason);
	o->exited = s->proc->exited;
	o->oldest_alloc_age_sec = -1;
	if (s->oldest_birth_ns && s->val.live_allocs > 0 && c->now_boot > s->oldest_birth_ns)
		o->oldest_alloc_age_sec = (c->now_boot - s->oldest_birth_ns) / 1e9;
	if (o->exited) {
		/* a process that is gone grows no more */
		o->growth_bytes_per_sec = 0;
		o->verdict = LW_VERDICT_STABLE;
		o->confidence = 0;
	}
	return false;
}

static void snap_procs(struct lw_engine *e, struct lw_snapshot *snap)
{
	size_t n = 0;

	if (lw_snapshot__alloc_procs(snap, e->nprocv))
		return;
	for (size_t i = 0; i < e->nprocv; i++) {
		struct lw_proc *p = e->procv[i];
		struct lw_proc_snap *o;

		/* not measured this drain (gone, or no memory for its history) */
		if (p->exited || !p->mem || p->smp.rss_bytes < 0)
			continue;
		o = &snap->procs[n++];
		o->proc = lw_procinfo__get(p->info);
		o->rss_bytes = p->smp.rss_bytes;
		o->anon_bytes = p->smp.anon_bytes;
		o->pss_bytes = p->pss_bytes;
		o->live_bytes = p->smp.live_bytes;
		o->live_allocs = p->smp.live_allocs;
		o->rss_growth_bytes_per_sec = p->memres.rss_growth_bytes_per_sec;
		o->live_growth_bytes_per_sec = p->memres.live_growth_bytes_per_sec;
		o->held_bytes = p->memres.held_bytes;
		o->verdict = p->memres.verdict;
		o->nsites = p->nsites;
		o->nleaks = p->smp.nleaks;
	}
	snap->nprocs = n;
}

static struct lw_snapshot *build_snapshot(struct lw_engine *e)
{
	struct lw_snapshot *snap = lw_snapshot__new(lw_sitetab__count(e->sites));
	struct snap_ctx c = { .snap = snap, .now_boot = boot_ns() };
	const struct lw_attached_obj *objs;
	struct lw_status *st;
	uint64_t max_allocs, max_sites, max_stacks;
	size_t nobjs;

	if (!snap)
		return NULL;
	lw_sitetab__for_each(e->sites, snap_site, &c);
	snap->nsites = c.i;
	snap_procs(e, snap);
	lw_snapshot__rank(snap);
	snap->taken_unix = wall_now();

	st = &snap->status;
	st->version = LW_VERSION;
	st->attach_mode = lw_tracer__attach_mode(e->tracer);
	st->tracking = e->cfg.sample_bytes ? "sampled" : "full";
	st->sample_bytes = e->cfg.sample_bytes;
	st->return_probes = lw_tracer__session(e->tracer) ? "session" : "uretprobe";
	st->processes = !e->cfg.npids ? "all" :
			lw_tracer__per_process(e->tracer) ? "chosen, per-process links" :
							    "chosen, in-kernel filter";
	st->links = lw_tracer__links(e->tracer);
	st->uptime_sec = mono_now() - e->started_mono;
	objs = lw_tracer__objects(e->tracer, &nobjs);
	st->attached = calloc(nobjs ? nobjs : 1, sizeof(*st->attached));
	if (st->attached) {
		for (size_t i = 0; i < nobjs; i++) {
			st->attached[i] = objs[i];
			st->attached[i].path = strdup(objs[i].path);
			st->attached[i].functions =
				objs[i].functions ? strdup(objs[i].functions) : NULL;
			st->attached[i].probe_points =
				objs[i].probe_points ? strdup(objs[i].probe_points) : NULL;
		}
		st->nattached = nobjs;
	}
	st->interps = calloc(lw_pyinterp__count(e->py) + 1, sizeof(*st->interps));
	if (st->interps) {
		for (size_t i = 0; i < lw_pyinterp__count(e->py); i++) {
			st->interps[i] = *lw_pyinterp__status(e->py, i);
			st->interps[i].path = strdup(st->interps[i].path);
		}
		st->ninterps = lw_pyinterp__count(e->py);
	}
	st->tracked_processes = lw_proctab__nalive(e->procs);
	lw_tracer__map_limits(e->tracer, &max_allocs, &max_sites, &max_stacks);
	st->maps[0] = (struct lw_map_fill){ "allocations", e->nallocs, max_allocs };
	st->maps[1] = (struct lw_map_fill){ "sites", e->naggs, max_sites };
	st->maps[2] = (struct lw_map_fill){ "stacks", e->nstacks, max_stacks };
	st->maps[3] = (struct lw_map_fill){ "series", lw_sitetab__count(e->sites),
					    e->cfg.max_series };
	st->nmaps = 4;
	lw_tracer__counters(e->tracer, st->drops, st->counts);
	st->last_drain_unix = e->last_drain_wall;
	st->last_drain_duration_sec = e->last_drain_dur;
	st->drains = e->drains;
	memcpy(st->drain_hist, e->drain_hist, sizeof(st->drain_hist));
	st->drain_sum_sec = e->drain_sum;
	st->interval_sec = e->cfg.interval;
	return snap;
}

int lw_engine__report(struct lw_engine *e, FILE *f)
{
	const struct lw_attached_obj *objs;
	size_t n;

	objs = lw_tracer__objects(e->tracer, &n);
	fprintf(f, "attach mode: %s\n", lw_tracer__attach_mode(e->tracer));
	fprintf(f, "return probes: %s\n", lw_tracer__session(e->tracer) ? "session" : "uretprobe");
	if (e->cfg.sample_bytes)
		fprintf(f, "tracking: sampled, one per %llu bytes on average\n",
			(unsigned long long)e->cfg.sample_bytes);
	else
		fprintf(f, "tracking: full\n");
	if (e->cfg.npids)
		fprintf(f, "processes: %u chosen, %s\n", e->cfg.npids,
			lw_tracer__per_process(e->tracer) ? "per-process links" :
							    "in-kernel filter");
	fprintf(f, "process tracepoints: exec, exit, fork: attached\n");
	fprintf(f, "anonymous mappings (mmap, munmap, mremap): %s\n",
		lw_tracer__mmap(e->tracer) ? "traced" : "not traced (mmap = false)");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s %s (dev %lu:%lu, inode %lu): %u probes attached, %u functions "
			"missing\n", objs[i].allocator ? objs[i].allocator : "wrappers", objs[i].path, (unsigned long)major(objs[i].dev),
			(unsigned long)minor(objs[i].dev), (unsigned long)objs[i].ino,
			objs[i].nprobes, objs[i].nmissing);
	for (size_t i = 0; i < n; i++)
		if (objs[i].allocator && objs[i].probe_points)
			fprintf(f, "probe points in %s: %s\n", objs[i].path, objs[i].probe_points);
	for (size_t i = 0; i < lw_pyinterp__count(e->py); i++) {
		const struct lw_interp_status *in = lw_pyinterp__status(e->py, i);

		if (in->supported)
			fprintf(f, "python %s %s: %s, %u probes attached, %u entry points missing\n",
				in->version, in->path, in->strategy, in->nprobes, in->nmissing);
		else
			fprintf(f, "python %s %s: not traced: %s\n", in->version, in->path,
				in->reason);
	}
	return n ? 0 : 1;
}
