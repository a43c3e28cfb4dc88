// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "elfsym.h"
#include "prologue.h"
#include "log.h"
#include "tracer.h"
#include "uprobe_multi.h"
#include "leakwatch.skel.h"

/* Keys per batch syscall: big enough to amortise the syscall, small enough to stay in cache. */
#define BATCH 4096

/* One attachment of the allocator probes: a libbpf perf-event link, or a uprobe_multi link fd. */
struct probe_link {
	struct bpf_link *link;	/* classic */
	int fd;			/* uprobe_multi; -1 for classic */
	pid_t pid;		/* the one process it fires in; 0: every process */
};

/*
 * The probes one program gets on one object, each offset with its cookie. In uprobe_multi mode
 * they are one link, detached with one grace period; in classic mode one perf event each.
 */
struct probe_group {
	struct bpf_program *prog;
	enum lw_umulti_kind kind;
	unsigned int n;
	uint64_t offs[LW_MAX_OBJ_PROBES];
	uint64_t cookies[LW_MAX_OBJ_PROBES];
};

/*
 * Everything attached to one object: returns first (a return without its entry is ignored,
 * while an entry whose return is never seen leaves the thread's nesting depth up, and its next
 * calls look nested), then entries; or one session group. Kept to attach the same probes for
 * each process that joins the traced set.
 */
struct probe_plan {
	char *path;
	struct probe_group groups[2];
	unsigned int ngroups;
};

struct lw_tracer {
	struct leakwatch_bpf *skel;
	struct ring_buffer *rb;
	void (*ev_cb)(void *ctx, const struct lw_event *e);
	void *ev_ctx;
	struct probe_link *links;
	size_t nlinks, links_cap;
	struct lw_attached_obj *objs;
	size_t nobjs;
	bool python;			/* CPython programs loaded */
	struct probe_plan **plans;	/* one per attached object, libc's and interpreters' */
	size_t nplans;
	/* per-process attach: the traced processes, each with links of its own on every object */
	bool per_process;
	pid_t *tpids;
	size_t ntpids, tpids_cap;
	int ncpus;
	struct lw_tracer_opts opts;
};

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t len;

	/*
	 * libbpf's messages (the verifier log among them) are details of a failure this module
	 * reports itself in one line: they are shown with -v only.
	 */
	if (!lw_log_enabled(LW_LOG_DEBUG))
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	len = strlen(buf);
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	lw_debug("%s", buf);
	return 0;
}

static void free_plan(struct probe_plan *p)
{
	if (p)
		free(p->path);
	free(p);
}

static void drop_link(struct probe_link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	else
		bpf_link__destroy(l->link);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct lw_tracer *t = ctx;

	if (size >= sizeof(struct lw_event) && t->ev_cb)
		t->ev_cb(t->ev_ctx, data);
	return 0;
}

/* The sampling tables of LW_SAMPLE_TABLE in leakwatch_abi.h. */
static void fill_sample_tables(struct leakwatch_bpf *skel, uint64_t sample_bytes)
{
	const double n = LW_SAMPLE_TABLE;

	skel->rodata->sample_bytes = sample_bytes;
	for (unsigned int i = 0; i < LW_SAMPLE_TABLE; i++) {
		/*
		 * F(u) = (1 - u) ln(1 - u) + u is a primitive of -ln(1 - u), the inverse of Exp(1)'s
		 * distribution function: the bucket's mean is n (F(b) - F(a)), and F(1) = 1.
		 */
		double a = i / n, b = (i + 1) / n;
		double fa = (1 - a) * log1p(-a) + a;
		double fb = i + 1 == LW_SAMPLE_TABLE ? 1.0 : (1 - b) * log1p(-b) + b;
		double x = (i + 0.5) / LW_SAMPLE_STEPS;

		skel->rodata->sample_exp[i] = (uint32_t)lround(n * (fb - fa) *
							       (1 << LW_SAMPLE_EXP_SHIFT));
		skel->rodata->sample_h[i] = (uint32_t)lround(x / expm1(x) * (1 << LW_SAMPLE_H_SHIFT));
	}
}

struct lw_tracer *lw_tracer__new(const struct lw_tracer_opts *opts)
{
	struct lw_tracer *t;
	int err;

	libbpf_set_print(libbpf_log);
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->opts = *opts;
	t->ncpus = libbpf_num_possible_cpus();
	if (t->ncpus <= 0) {
		err = t->ncpus ? t->ncpus : -EINVAL;
		goto fail;
	}

	t->skel = leakwatch_bpf__open();
	if (!t->skel) {
		err = -errno;
		lw_err("failed to open BPF object: %s", strerror(-err));
		goto fail;
	}
	/* the configured capacities (bpf.max_allocations, max_sites, max_stacks) */
	bpf_map__set_max_entries(t->skel->maps.allocs, opts->max_allocations);
	bpf_map__set_max_entries(t->skel->maps.aggs, opts->max_sites);
	bpf_map__set_max_entries(t->skel->maps.stacks, opts->max_stacks);
	t->skel->rodata->self_tgid = opts->self;
	t->skel->rodata->filter_pids = opts->npids > 0;
	t->skel->rodata->stack_depth = opts->stack_depth;
	t->skel->rodata->py_tss_base = opts->py_tss_base;
	/* without the thread key table the CPython programs could only record frameless sites */
	t->python = opts->py_tss_base != 0;
	if (!t->python) {
		bpf_program__set_autoload(t->skel->progs.lw_py_entry, false);
	} else if (opts->attach == LW_ATTACH_MULTI) {
		bpf_program__set_expected_attach_type(
			t->skel->progs.lw_py_entry, (enum bpf_attach_type)LW_BPF_TRACE_UPROBE_MULTI);
	}
	if (opts->attach == LW_ATTACH_MULTI) {
		/* the kernel takes a uprobe_multi link only for programs loaded for one */
		bpf_program__set_expected_attach_type(
			t->skel->progs.lw_alloc_entry, (enum bpf_attach_type)LW_BPF_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(
			t->skel->progs.lw_alloc_ret, (enum bpf_attach_type)LW_BPF_TRACE_UPROBE_MULTI);
	}
	/*
	 * Session programs call a kfunc the verifier allows only in programs loaded for session
	 * links: they are loaded in session mode alone, and then the others are not.
	 */
	if (opts->session) {
		bpf_program__set_expected_attach_type(t->skel->progs.lw_alloc_session,
			(enum bpf_attach_type)LW_BPF_TRACE_UPROBE_SESSION);
		bpf_program__set_expected_attach_type(t->skel->progs.lw_py_session,
			(enum bpf_attach_type)LW_BPF_TRACE_UPROBE_SESSION);
		bpf_program__set_autoload(t->skel->progs.lw_alloc_entry, false);
		bpf_program__set_autoload(t->skel->progs.lw_alloc_ret, false);
		bpf_program__set_autoload(t->skel->progs.lw_py_entry, false);
	} else {
		bpf_program__set_autoload(t->skel->progs.lw_alloc_session, false);
	}
	if (!opts->session || !t->python)
		bpf_program__set_autoload(t->skel->progs.lw_py_session, false);
	t->per_process = opts->npids > 0 && opts->attach == LW_ATTACH_MULTI;
	if (opts->sample_bytes)
		fill_sample_tables(t->skel, opts->sample_bytes);

	err = leakwatch_bpf__load(t->skel);
	if (err) {
		err = -errno;
		lw_err("failed to load BPF programs: %s%s", strerror(-err),
		       err == -EPERM ? " (BPF not permitted here: a seccomp filter, a container, or "
				       "a security module forbids it)" : " (run with -v for details)");
		goto fail;
	}

	for (unsigned int i = 0; i < opts->npids; i++) {
		__u32 pid = opts->pids[i];
		__u8 one = 1;

		bpf_map__update_elem(t->skel->maps.targets, &pid, sizeof(pid), &one, sizeof(one),
				     BPF_ANY);
		/* no object attached yet: this only lists it */
		err = lw_tracer__add_pid(t, pid);
		if (err)
			goto fail;
	}

	if (!opts->mmap) {
		bpf_program__set_autoload(t->skel->progs.lw_sys_enter, false);
		bpf_program__set_autoload(t->skel->progs.lw_sys_exit, false);
	}

	t->skel->links.lw_exec = bpf_program__attach(t->skel->progs.lw_exec);
	t->skel->links.lw_exit = bpf_program__attach(t->skel->progs.lw_exit);
	t->skel->links.lw_fork = bpf_program__attach(t->skel->progs.lw_fork);
	if (!t->skel->links.lw_exec || !t->skel->links.lw_exit || !t->skel->links.lw_fork) {
		err = -errno;
		lw_err("failed to attach process tracepoints: %s", strerror(-err));
		goto fail;
	}
	/* the generic system-call tracepoints, as BTF tracepoints: no tracefs either */
	if (opts->mmap) {
		t->skel->links.lw_sys_enter = bpf_program__attach(t->skel->progs.lw_sys_enter);
		t->skel->links.lw_sys_exit = bpf_program__attach(t->skel->progs.lw_sys_exit);
		if (!t->skel->links.lw_sys_enter || !t->skel->links.lw_sys_exit) {
			err = -errno;
			lw_err("failed to attach system-call tracepoints for mmap: %s",
			       strerror(-err));
			goto fail;
		}
	}

	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), handle_event, t, NULL);
	if (!t->rb) {
		err = -errno;
		lw_err("failed to create event ring buffer: %s", strerror(-err));
		goto fail;
	}
	return t;
fail:
	lw_tracer__free(t);
	errno = -err;
	return NULL;
}

void lw_tracer__free(struct lw_tracer *t)
{
	if (!t)
		return;
	while (t->nlinks)
		drop_link(&t->links[--t->nlinks]);
	free(t->links);
	for (size_t i = 0; i < t->nplans; i++)
		free_plan(t->plans[i]);
	free(t->plans);
	free(t->tpids);
	ring_buffer__free(t->rb);
	leakwatch_bpf__destroy(t->skel);
	for (size_t i = 0; i < t->nobjs; i++) {
		free(t->objs[i].path);
		free(t->objs[i].functions);
		free(t->objs[i].probe_points);
	}
	free(t->objs);
	free(t);
}

bool lw_tracer__has_object(const struct lw_tracer *t, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < t->nobjs; i++)
		if (t->objs[i].dev == dev && t->objs[i].ino == ino)
			return true;
	return false;
}

static int keep_link(struct lw_tracer *t, struct probe_link l)
{
	if (t->nlinks == t->links_cap) {
		size_t cap = t->links_cap ? t->links_cap * 2 : 32;
		struct probe_link *v = realloc(t->links, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->links = v;
		t->links_cap = cap;
	}
	t->links[t->nlinks++] = l;
	return 0;
}

static int attach_group(struct lw_tracer *t, const struct probe_group *g, const char *path,
			pid_t pid)
{
	struct probe_link l = { .fd = -1, .pid = pid };
	int err;

	if (t->opts.attach == LW_ATTACH_MULTI) {
		struct lw_umulti_opts o = {
			.path = path, .offsets = g->offs, .cookies = g->cookies, .cnt = g->n,
			.kind = g->kind, .pid = pid,
		};

		l.fd = lw_umulti__attach(bpf_program__fd(g->prog), &o);
		if (l.fd < 0)
			return l.fd;
		err = keep_link(t, l);
		if (err)
			close(l.fd);
		return err;
	}
	for (unsigned int i = 0; i < g->n; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = g->kind == LW_UMULTI_RETURN,
			    .bpf_cookie = g->cookies[i]);

		l.link = bpf_program__attach_uprobe_opts(g->prog, -1, path, g->offs[i], &uo);
		if (!l.link)
			return -errno;
		err = keep_link(t, l);
		if (err) {
			bpf_link__destroy(l.link);
			return err;
		}
	}
	return 0;
}

/* Append text to the comma-separated list *list (NULL: empty). 0 or -ENOMEM. */
static int add_item(char **list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int add_item(char **list, const char *fmt, ...)
{
	size_t len = *list ? strlen(*list) : 0;
	char item[256], *v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	v = realloc(*list, len + strlen(item) + 2);
	if (!v)
		return -ENOMEM;
	sprintf(v + len, "%s%s", len ? "," : "", item);
	*list = v;
	return 0;
}

static bool elf_defines(void *ctx, const char *name)
{
	struct lw_elf_sym sym;

	return !lw_elf__find_func(ctx, name, &sym);
}

/* Attach a plan's groups for one process (0: every process); all or nothing. */
static int attach_plan_for(struct lw_tracer *t, const struct probe_plan *p, pid_t pid)
{
	size_t first_link = t->nlinks;
	int err = 0;

	for (unsigned int i = 0; i < p->ngroups && !err; i++) {
		if (!p->groups[i].n)
			continue;
		err = attach_group(t, &p->groups[i], p->path, pid);
		if (err)
			lw_err("failed to attach %s %s to %s%s: %s",
			       t->opts.attach == LW_ATTACH_MULTI ? "uprobe_multi link" : "uprobe",
			       bpf_program__name(p->groups[i].prog), p->path,
			       pid ? " for one process" : "", strerror(-err));
	}
	if (err) {
		while (t->nlinks > first_link)
			drop_link(&t->links[--t->nlinks]);
	}
	return err;
}

/*
 * Attach a plan where it belongs: for every process, or, per process, for each traced one (a
 * process that is gone meanwhile is skipped). Keeps the plan (taking it) on success.
 */
static int attach_plan(struct lw_tracer *t, struct probe_plan *p)
{
	size_t first_link = t->nlinks;
	struct probe_plan **v;
	int err = 0;

	if (!t->per_process) {
		err = attach_plan_for(t, p, 0);
	} else {
		for (size_t i = 0; i < t->ntpids && !err; i++) {
			err = attach_plan_for(t, p, t->tpids[i]);
			if (err == -ESRCH)
				err = 0;
		}
	}
	if (!err) {
		v = realloc(t->plans, (t->nplans + 1) * sizeof(*v));
		if (v) {
			t->plans = v;
			t->plans[t->nplans++] = p;
			return 0;
		}
		err = -ENOMEM;
	}
	while (t->nlinks > first_link)
		drop_link(&t->links[--t->nlinks]);
	return err;
}

/*
 * A plan's groups: in session mode one session group, else returns first, then entries. The
 * session program serves both halves; the return group's program gets the return probes.
 */
static struct probe_plan *new_plan(struct lw_tracer *t, const char *path, bool python,
				   struct probe_group **entry, struct probe_group **ret)
{
	struct probe_plan *p = calloc(1, sizeof(*p));

	if (!p || !(p->path = strdup(path))) {
		free(p);
		return NULL;
	}
	if (t->opts.session) {
		p->ngroups = 1;
		*entry = &p->groups[0];
		**entry = (struct probe_group){ .kind = LW_UMULTI_SESSION,
			.prog = python ? t->skel->progs.lw_py_session : t->skel->progs.lw_alloc_session };
		*ret = NULL;
		return p;
	}
	p->ngroups = 2;
	*ret = &p->groups[0];
	*entry = &p->groups[1];
	**ret = (struct probe_group){ .prog = t->skel->progs.lw_alloc_ret,
				      .kind = LW_UMULTI_RETURN };
	**entry = (struct probe_group){ .kind = LW_UMULTI_ENTRY,
		.prog = python ? t->skel->progs.lw_py_entry : t->skel->progs.lw_alloc_entry };
	return p;
}

/*
 * Where fn's probe goes in sym: the first instruction the kernel emulates (a push, a conditional
 * jump) that every call reaches with its arguments and the stack as at entry; a probe anywhere
 * else is single-stepped, ten times the cost. glibc's free is probed past its NULL check
 * (free(NULL) is no event), posix_memalign, valloc and memalign past a load and compare,
 * jemalloc's malloc past its compare, mimalloc's past its loads. The return probe sits at the
 * same point (the return address is still on top of the stack there), so one trap serves both.
 * false: the function is a tail call into another entry point, whose probe sees the call.
 */
static bool probe_point(struct lw_elf *elf, const struct lw_elf_sym *sym, enum lw_func fn,
			uint64_t *off)
{
	uint8_t code[64];	/* jemalloc's free reaches its first jump at +48 */
	size_t len = sym->size && sym->size < sizeof(code) ? sym->size : sizeof(code);

	*off = sym->file_offset;
	if (lw_elf__read(elf, sym->file_offset, code, len))
		return true;
	if (fn != LW_FN_WRAPPER && lw_prologue_is_tail_call(code, len))
		return false;
	*off += lw_prologue_probe_offset(fn, code, len);
	return true;
}

uint64_t lw_tracer__probe_offset(struct lw_elf *elf, const struct lw_elf_sym *sym,
				 enum lw_func fn)
{
	uint64_t off;

	probe_point(elf, sym, fn, &off);
	return off;
}

int lw_tracer__attach_object(struct lw_tracer *t, const char *path, uint64_t dev, uint64_t ino,
			     const struct lw_allocfns *fns)
{
	struct probe_group *entry, *ret;
	struct lw_attached_obj *objs, *obj;
	unsigned int missing = 0, probes = 0;
	struct probe_plan *plan;
	char *names = NULL, *points = NULL;
	uint64_t starts[LW_MAX_OBJ_PROBES];	/* the functions' own offsets, for aliases */
	struct lw_objplan fplan;
	struct lw_elf *elf;
	uint64_t kind;
	int err = 0;

	if (lw_tracer__has_object(t, dev, ino))
		return 0;
	elf = lw_elf__open(path);
	if (!elf)
		return -errno;
	lw_allocfns__plan(fns, path, elf_defines, elf, &fplan);
	kind = fplan.kind < 0 ? 0 : (uint64_t)fplan.kind << LW_COOKIE_KIND_SHIFT;
	plan = new_plan(t, path, false, &entry, &ret);
	if (!plan) {
		lw_elf__free(elf);
		return -ENOMEM;
	}
	for (size_t i = 0; i < fplan.n; i++) {
		const struct lw_allocfn *f = fplan.fns[i];
		bool has_ret = lw_allocfn__has_return(f->fn), alias = false;
		struct lw_elf_sym sym;
		uint64_t off;

		if (lw_elf__find_func(elf, f->name, &sym)) {
			missing += f->fn != LW_FN_WRAPPER && !f->optional;
			continue;
		}
		if (!probe_point(elf, &sym, f->fn, &off))
			continue;
		/* aliases (glibc's memalign = aligned_alloc, strdup = __strdup): one probe each */
		for (unsigned int k = 0; k < entry->n; k++)
			alias |= starts[k] == sym.file_offset;
		if (alias)
			continue;
		if (entry->n == LW_MAX_OBJ_PROBES) {
			lw_warn("%s: more than %d allocator functions, %s and later not probed", path,
				LW_MAX_OBJ_PROBES, f->name);
			break;
		}
		starts[entry->n] = sym.file_offset;
		entry->cookies[entry->n] = f->fn | kind;
		entry->offs[entry->n++] = off;
		if (has_ret && ret) {
			ret->cookies[ret->n] = f->fn | kind;
			ret->offs[ret->n++] = off;
		}
		probes += has_ret ? 2 : 1;
		err = add_item(&names, "%s", f->name);
		if (!err)
			err = add_item(&points, "%s+%llu", f->name,
				       (unsigned long long)(off - sym.file_offset));
		if (err)
			goto undo;
	}
	lw_elf__free(elf);
	elf = NULL;
	if (!probes) {
		err = -ENOENT;
		goto undo;
	}
	objs = realloc(t->objs, (t->nobjs + 1) * sizeof(*objs));
	if (!objs) {
		err = -ENOMEM;
		goto undo;
	}
	t->objs = objs;
	obj = &objs[t->nobjs];
	obj->path = strdup(path);
	if (!obj->path) {
		err = -ENOMEM;
		goto undo;
	}
	/* all or nothing: a half-probed libc would count frees without their allocations */
	err = attach_plan(t, plan);
	if (err) {
		free(obj->path);
		goto undo;
	}
	obj->dev = dev;
	obj->ino = ino;
	obj->nprobes = probes;
	obj->nmissing = fplan.kind >= 0 ? missing : 0;
	obj->allocator = fplan.kind >= 0 ? lw_alloc_kind__name(fplan.kind) : NULL;
	obj->functions = names;
	obj->probe_points = points;
	t->nobjs++;
	return probes;
undo:
	free_plan(plan);
	free(names);
	free(points);
	lw_elf__free(elf);
	return err;
}

int lw_tracer__set_pyinterp(struct lw_tracer *t, unsigned int idx, const struct lw_py_offsets *o)
{
	__u32 key = idx;

	if (idx >= LW_MAX_INTERPS)
		return -E2BIG;
	if (bpf_map__update_elem(t->skel->maps.pyinterps, &key, sizeof(key), o, sizeof(*o),
				 BPF_ANY))
		return -errno;
	return 0;
}

int lw_tracer__attach_python(struct lw_tracer *t, const char *path, const struct lw_py_probe *p,
			     size_t n)
{
	struct probe_group *entry, *ret;
	struct probe_plan *plan;
	int err;

	if (!t->python)
		return -EOPNOTSUPP;
	if (n > LW_MAX_OBJ_PROBES)
		return -E2BIG;
	plan = new_plan(t, path, true, &entry, &ret);
	if (!plan)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		entry->cookies[entry->n] = p[i].cookie | (uint64_t)p[i].fn << LW_PYC_FN_SHIFT;
		entry->offs[entry->n++] = p[i].offset;
		/*
		 * The return probe goes where the entry probe is, not at the function's first byte:
		 * nothing has moved the stack pointer yet, so the return address is still at the
		 * top of the stack, and one emulated trap serves both.
		 */
		if (p[i].ret && ret) {
			ret->cookies[ret->n] = p[i].fn;
			ret->offs[ret->n++] = p[i].offset;
		}
	}
	/* all or nothing: frees without their allocations would be counted unknown */
	err = attach_plan(t, plan);
	if (err) {
		free_plan(plan);
		return err;
	}
	return (int)(entry->n + (ret ? ret->n : 0));
}

int lw_tracer__add_pid(struct lw_tracer *t, pid_t pid)
{
	size_t first_link = t->nlinks;
	int err = 0;

	if (!t->per_process)
		return 0;
	for (size_t i = 0; i < t->ntpids; i++)
		if (t->tpids[i] == pid)
			return 0;
	if (t->ntpids == t->tpids_cap) {
		size_t cap = t->tpids_cap ? t->tpids_cap * 2 : 64;
		pid_t *v = realloc(t->tpids, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->tpids = v;
		t->tpids_cap = cap;
	}
	for (size_t i = 0; i < t->nplans && !err; i++)
		err = attach_plan_for(t, t->plans[i], pid);
	if (err) {
		while (t->nlinks > first_link)
			drop_link(&t->links[--t->nlinks]);
		return err;
	}
	t->tpids[t->ntpids++] = pid;
	return 0;
}

void lw_tracer__drop_pid(struct lw_tracer *t, pid_t pid)
{
	size_t keep = 0;

	if (!t->per_process)
		return;
	for (size_t i = 0; i < t->nlinks; i++) {
		if (t->links[i].pid == pid)
			drop_link(&t->links[i]);
		else
			t->links[keep++] = t->links[i];
	}
	t->nlinks = keep;
	keep = 0;
	for (size_t i = 0; i < t->ntpids; i++)
		if (t->tpids[i] != pid)
			t->tpids[keep++] = t->tpids[i];
	t->ntpids = keep;
}

bool lw_tracer__per_process(const struct lw_tracer *t)
{
	return t->per_process;
}

bool lw_tracer__session(const struct lw_tracer *t)
{
	return t->opts.session;
}

size_t lw_tracer__links(const struct lw_tracer *t)
{
	return t->nlinks;
}

bool lw_tracer__mmap(const struct lw_tracer *t)
{
	return t->opts.mmap;
}

bool lw_tracer__python(const struct lw_tracer *t)
{
	return t->python;
}

const char *lw_tracer__attach_mode(const struct lw_tracer *t)
{
	return t->opts.attach == LW_ATTACH_MULTI ? "uprobe_multi" : "classic";
}

const struct lw_attached_obj *lw_tracer__objects(const struct lw_tracer *t, size_t *n)
{
	*n = t->nobjs;
	return t->objs;
}

int lw_tracer__events_fd(const struct lw_tracer *t)
{
	return ring_buffer__epoll_fd(t->rb);
}

int lw_tracer__consume_events(struct lw_tracer *t,
			      void (*cb)(void *ctx, const struct lw_event *e), void *ctx)
{
	int n;

	t->ev_cb = cb;
	t->ev_ctx = ctx;
	n = ring_buffer__consume(t->rb);
	t->ev_cb = NULL;
	return n < 0 ? n : 0;
}

/*
 * Walk a hash map in batches (one syscall per BATCH entries), falling back to get_next_key on
 * kernels without batch operations. cb returns <0 to abort.
 */
static int map_walk(int fd, size_t ksz, size_t vsz,
		    int (*cb)(void *ctx, const void *key, const void *val), void *ctx)
{
	char *keys = malloc(BATCH * ksz), *vals = malloc(BATCH * vsz);
	char in[64], out[64];	/* opaque batch cursor: at least key size */
	bool first = true;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 count = BATCH;
		int rc = bpf_map_lookup_batch(fd, first ? NULL : in, out, keys, vals, &count, NULL);

		if (rc < 0 && errno != ENOENT) {
			err = -errno;
			if (first && (err == -EINVAL || err == -524 /* ENOTSUPP */ || err == -EOPNOTSUPP))
				goto fallback;
			goto out;
		}
		for (__u32 i = 0; i < count; i++) {
			err = cb(ctx, keys + i * ksz, vals + i * vsz);
			if (err < 0)
				goto out;
		}
		if (rc < 0)	/* ENOENT: that was the last batch */
			break;
		memcpy(in, out, sizeof(in));
		first = false;
	}
	err = 0;
	goto out;
fallback:
	err = 0;
	{
		char *prev = NULL, *key = keys, *next = keys + ksz;

		while (!bpf_map_get_next_key(fd, prev, next)) {
			memcpy(key, next, ksz);
			prev = key;
			if (bpf_map_lookup_elem(fd, key, vals))
				continue;	/* deleted under us */
			err = cb(ctx, key, vals);
			if (err < 0)
				break;
		}
	}
out:
	free(keys);
	free(vals);
	return err;
}

/* Delete keys in batches; a key already gone (deleted by BPF meanwhile) is skipped. */
static int map_delete(int fd, const void *keys, size_t ksz, size_t n)
{
	const char *k = keys;

	while (n) {
		__u32 count = n;

		if (!bpf_map_delete_batch(fd, k, &count, NULL))
			return 0;
		if (errno != ENOENT) {
			/* no batch support: one by one */
			for (size_t i = 0; i < n; i++)
				bpf_map_delete_elem(fd, k + i * ksz);
			return 0;
		}
		k += (count + 1) * ksz;
		n -= count + 1 > n ? n : count + 1;
	}
	return 0;
}

struct vec {
	char *v;
	size_t n, cap, esz;
};

static int vec_push(struct vec *v, const void *a, const void *b, size_t asz)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 1024;
		char *p = realloc(v->v, cap * v->esz);

		if (!p)
			return -ENOMEM;
		v->v = p;
		v->cap = cap;
	}
	memcpy(v->v + v->n * v->esz, a, asz);
	if (b)
		memcpy(v->v + v->n * v->esz + asz, b, v->esz - asz);
	v->n++;
	return 0;
}

static int collect_agg(void *ctx, const void *key, const void *val)
{
	return vec_push(ctx, key, val, sizeof(struct lw_agg_key));
}

int lw_tracer__read_aggs(struct lw_tracer *t, struct lw_agg_entry **out, size_t *n)
{
	struct vec v = { .esz = sizeof(struct lw_agg_entry) };
	int err;

	err = map_walk(bpf_map__fd(t->skel->maps.aggs), sizeof(struct lw_agg_key),
		       sizeof(struct lw_agg_val), collect_agg, &v);
	if (err) {
		free(v.v);
		return err;
	}
	*out = (struct lw_agg_entry *)v.v;
	*n = v.n;
	return 0;
}

int lw_tracer__delete_aggs(struct lw_tracer *t, const struct lw_agg_key *keys, size_t n)
{
	return map_delete(bpf_map__fd(t->skel->maps.aggs), keys, sizeof(*keys), n);
}

int lw_tracer__read_stack(struct lw_tracer *t, uint64_t stack_id, struct lw_stack_val *out)
{
	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.stacks), &stack_id, out))
		return -errno;
	if (out->nr > LW_MAX_STACK_DEPTH)
		out->nr = LW_MAX_STACK_DEPTH;
	return 0;
}

struct sweep_ctx {
	void *ctx;
	bool (*drop_alloc)(void *ctx, const struct lw_alloc_entry *e);
	bool (*drop_stack)(void *ctx, uint64_t id);
	struct vec del;
	size_t left;
};

static int sweep_alloc(void *ctx, const void *key, const void *val)
{
	struct sweep_ctx *s = ctx;
	struct lw_alloc_entry e;

	memcpy(&e.key, key, sizeof(e.key));
	memcpy(&e.val, val, sizeof(e.val));
	if (!s->drop_alloc(s->ctx, &e)) {
		s->left++;
		return 0;
	}
	return vec_push(&s->del, key, NULL, sizeof(e.key));
}

int lw_tracer__sweep_allocs(struct lw_tracer *t,
			    bool (*drop)(void *ctx, const struct lw_alloc_entry *e), void *ctx,
			    size_t *nleft)
{
	struct sweep_ctx s = { .ctx = ctx, .drop_alloc = drop,
			       .del.esz = sizeof(struct lw_alloc_key) };
	int fd = bpf_map__fd(t->skel->maps.allocs);
	int err;

	err = map_walk(fd, sizeof(struct lw_alloc_key), sizeof(struct lw_alloc_val), sweep_alloc,
		       &s);
	if (!err)
		err = map_delete(fd, s.del.v, sizeof(struct lw_alloc_key), s.del.n);
	free(s.del.v);
	*nleft = s.left;
	return err;
}

static int sweep_stack(void *ctx, const void *key, const void *val)
{
	struct sweep_ctx *s = ctx;
	uint64_t id;

	memcpy(&id, key, sizeof(id));
	if (!s->drop_stack(s->ctx, id)) {
		s->left++;
		return 0;
	}
	return vec_push(&s->del, key, NULL, sizeof(id));
}

int lw_tracer__sweep_stacks(struct lw_tracer *t, bool (*drop)(void *ctx, uint64_t id),
			    void *ctx, size_t *nleft)
{
	struct sweep_ctx s = { .ctx = ctx, .drop_stack = drop, .del.esz = sizeof(uint64_t) };
	int fd = bpf_map__fd(t->skel->maps.stacks);
	int err;

	err = map_walk(fd, sizeof(uint64_t), sizeof(struct lw_stack_val), sweep_stack, &s);
	if (!err)
		err = map_delete(fd, s.del.v, sizeof(uint64_t), s.del.n);
	free(s.del.v);
	*nleft = s.left;
	return err;
}

void lw_tracer__set_cohort(struct lw_tracer *t, unsigned int i, uint64_t boot_ns)
{
	/* .bss is mapped into our memory: an aligned 8-byte store the programs see at once */
	if (i < LW_COHORTS)
		t->skel->bss->cohort_ns[i] = boot_ns;
}

int lw_tracer__proc_start(struct lw_tracer *t, uint32_t tgid, uint64_t ident, uint64_t *start_ns)
{
	struct lw_proc_val pv;

	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.procs), &tgid, &pv))
		return -errno;
	if (pv.ident != ident)
		return -ENOENT;
	*start_ns = pv.start_ns;
	return 0;
}

static void sum_percpu(struct lw_tracer *t, int fd, unsigned int n, uint64_t *out)
{
	uint64_t vals[t->ncpus];

	for (__u32 i = 0; i < n; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (int c = 0; c < t->ncpus; c++)
			out[i] += vals[c];
	}
}

void lw_tracer__counters(struct lw_tracer *t, uint64_t drops[LW_DROP_MAX],
			 uint64_t counts[LW_CNT_MAX])
{
	sum_percpu(t, bpf_map__fd(t->skel->maps.drops), LW_DROP_MAX, drops);
	sum_percpu(t, bpf_map__fd(t->skel->maps.counts), LW_CNT_MAX, counts);
}

void lw_tracer__map_limits(const struct lw_tracer *t, uint64_t *allocs, uint64_t *sites,
			   uint64_t *stacks)
{
	*allocs = bpf_map__max_entries(t->skel->maps.allocs);
	*sites = bpf_map__max_entries(t->skel->maps.aggs);
	*stacks = bpf_map__max_entries(t->skel->maps.stacks);
}
