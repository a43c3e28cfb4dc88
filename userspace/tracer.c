// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
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
	ring_buffer__free(t->rb);
	leakwatch_bpf__destroy(t->skel);
	for (size_t i = 0; i < t->nobjs; i++) {
		free(t->objs[i].path);
		free(t->objs[i].functions);
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

/*
 * The probes one program gets on one object, each offset with its cookie. In uprobe_multi mode
 * they are one link, detached with one grace period; in classic mode one perf event each.
 */
struct probe_group {
	struct bpf_program *prog;
	bool ret;
	unsigned int n;
	uint64_t offs[LW_MAX_OBJ_PROBES];
	uint64_t cookies[LW_MAX_OBJ_PROBES];
	uint64_t skip[LW_MAX_OBJ_PROBES];	/* bytes past the function's start */
};

static int attach_group(struct lw_tracer *t, const struct probe_group *g, const char *path)
{
	struct probe_link l = { .fd = -1 };
	int err;

	if (t->opts.attach == LW_ATTACH_MULTI) {
		struct lw_umulti_opts o = {
			.path = path, .offsets = g->offs, .cookies = g->cookies, .cnt = g->n,
			.kind = g->ret ? LW_UMULTI_RETURN : LW_UMULTI_ENTRY,
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
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = g->ret, .bpf_cookie = g->cookies[i]);

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

/* Append name to the comma-separated list *names (NULL: empty). 0 or -ENOMEM. */
static int add_name(char **names, const char *name)
{
	size_t len = *names ? strlen(*names) : 0;
	char *v = realloc(*names, len + strlen(name) + 2);

	if (!v)
		return -ENOMEM;
	sprintf(v + len, "%s%s", len ? "," : "", name);
	*names = v;
	return 0;
}

static bool elf_defines(void *ctx, const char *name)
{
	struct lw_elf_sym sym;

	return !lw_elf__find_func(ctx, name, &sym);
}

/* The argument registers an allocator entry point's probe reads (see lw_alloc_entry). */
static unsigned int arg_regs(enum lw_func fn)
{
	switch (fn) {
	case LW_FN_MALLOC:
	case LW_FN_VALLOC:
	case LW_FN_PVALLOC:
	case LW_FN_FREE:
		return 1u << LW_RDI;
	case LW_FN_REALLOCARRAY:
	case LW_FN_POSIX_MEMALIGN:
		return 1u << LW_RDI | 1u << LW_RSI | 1u << LW_RDX;
	case LW_FN_WRAPPER:
		return 0;
	default:
		return 1u << LW_RDI | 1u << LW_RSI;
	}
}

/*
 * Where fn's probe goes in a function whose first bytes are code: past free's NULL check;
 * otherwise at the first instruction the kernel emulates, if the arguments and the stack are
 * still as at entry there (jemalloc's malloc opens with a compare, mimalloc's with loads: each a
 * single-stepped trap at the entry). Its return probe goes there too: the return address is still
 * on top of the stack.
 */
static uint64_t probe_skip(enum lw_func fn, const uint8_t *code, size_t len)
{
	size_t skip = 0;

	if (fn == LW_FN_FREE)
		skip = lw_prologue_skip_null_check(code, len);
	if (!skip)
		skip = lw_prologue_first_emulated(code, len, arg_regs(fn));
	return skip;
}

int lw_tracer__attach_object(struct lw_tracer *t, const char *path, uint64_t dev, uint64_t ino,
			     const struct lw_allocfns *fns)
{
	struct probe_group groups[2], *ret = &groups[0], *entry = &groups[1];
	struct lw_attached_obj *objs, *obj;
	unsigned int missing = 0, probes = 0;
	size_t first_link = t->nlinks;
	struct lw_objplan plan;
	struct lw_elf *elf;
	char *names = NULL;
	uint64_t kind;
	int err = 0;

	if (lw_tracer__has_object(t, dev, ino))
		return 0;
	elf = lw_elf__open(path);
	if (!elf)
		return -errno;
	lw_allocfns__plan(fns, path, elf_defines, elf, &plan);
	kind = plan.kind < 0 ? 0 : (uint64_t)plan.kind << LW_COOKIE_KIND_SHIFT;
	*entry = (struct probe_group){ .prog = t->skel->progs.lw_alloc_entry };
	*ret = (struct probe_group){ .prog = t->skel->progs.lw_alloc_ret, .ret = true };
	for (size_t i = 0; i < plan.n; i++) {
		const struct lw_allocfn *f = plan.fns[i];
		bool has_ret = lw_allocfn__has_return(f->fn), alias = false;
		struct lw_elf_sym sym;
		uint8_t code[32];
		size_t clen;
		uint64_t off;

		if (lw_elf__find_func(elf, f->name, &sym)) {
			missing += f->fn != LW_FN_WRAPPER && !f->optional;
			continue;
		}
		/* aliases (glibc's memalign = aligned_alloc, strdup = __strdup): one probe per address */
		for (unsigned int k = 0; k < entry->n; k++)
			alias |= entry->offs[k] - entry->skip[k] == sym.file_offset;
		if (alias)
			continue;
		if (entry->n == LW_MAX_OBJ_PROBES || ret->n == LW_MAX_OBJ_PROBES) {
			lw_warn("%s: more than %d allocator functions, %s and later not probed", path,
				LW_MAX_OBJ_PROBES, f->name);
			break;
		}
		off = sym.file_offset;
		clen = sym.size && sym.size < sizeof(code) ? sym.size : sizeof(code);
		if (!lw_elf__read(elf, sym.file_offset, code, clen)) {
			/* a thunk into another entry point: that one's probe sees the call */
			if (f->fn != LW_FN_WRAPPER && lw_prologue_is_tail_call(code, clen))
				continue;
			off += probe_skip(f->fn, code, clen);
		}
		entry->skip[entry->n] = off - sym.file_offset;
		entry->cookies[entry->n] = f->fn | kind;
		entry->offs[entry->n++] = off;
		if (has_ret) {
			ret->cookies[ret->n] = f->fn | kind;
			ret->offs[ret->n++] = off;
		}
		probes += has_ret ? 2 : 1;
		err = add_name(&names, f->name);
		if (err)
			goto undo;
	}
	lw_elf__free(elf);
	elf = NULL;
	if (!probes) {
		err = -ENOENT;
		goto undo;
	}
	/*
	 * Returns first: a return without its entry is ignored, while an entry whose return is
	 * never seen leaves the thread's nesting depth up, and its next calls look nested.
	 */
	for (unsigned int i = 0; i < 2; i++) {
		if (!groups[i].n)
			continue;
		err = attach_group(t, &groups[i], path);
		if (err) {
			lw_err("failed to attach %s %s to %s: %s",
			       t->opts.attach == LW_ATTACH_MULTI ? "uprobe_multi link" : "uprobe",
			       bpf_program__name(groups[i].prog), path, strerror(-err));
			goto undo;
		}
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
	obj->dev = dev;
	obj->ino = ino;
	obj->nprobes = probes;
	obj->nmissing = plan.kind >= 0 ? missing : 0;
	obj->allocator = plan.kind >= 0 ? lw_alloc_kind__name(plan.kind) : NULL;
	obj->functions = names;
	t->nobjs++;
	return probes;
undo:
	/* all or nothing: a half-probed libc would count frees without their allocations */
	free(names);
	lw_elf__free(elf);
	while (t->nlinks > first_link)
		drop_link(&t->links[--t->nlinks]);
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
	struct probe_group groups[2], *ret = &groups[0], *entry = &groups[1];
	size_t first_link = t->nlinks;
	int err = 0;

	if (!t->python)
		return -EOPNOTSUPP;
	if (n > LW_MAX_OBJ_PROBES)
		return -E2BIG;
	*entry = (struct probe_group){ .prog = t->skel->progs.lw_py_entry };
	*ret = (struct probe_group){ .prog = t->skel->progs.lw_alloc_ret, .ret = true };
	for (size_t i = 0; i < n; i++) {
		entry->cookies[entry->n] = p[i].cookie | (uint64_t)p[i].fn << LW_PYC_FN_SHIFT;
		entry->offs[entry->n++] = p[i].offset;
		/*
		 * The return probe goes where the entry probe is, not at the function's first byte:
		 * nothing has moved the stack pointer yet, so the return address is still at the
		 * top of the stack, and one emulated trap serves both.
		 */
		if (p[i].ret) {
			ret->cookies[ret->n] = p[i].fn;
			ret->offs[ret->n++] = p[i].offset;
		}
	}
	/* returns first, as for libc */
	for (unsigned int i = 0; i < 2 && !err; i++)
		if (groups[i].n)
			err = attach_group(t, &groups[i], path);
	if (err) {
		lw_err("failed to attach %s to %s: %s",
		       t->opts.attach == LW_ATTACH_MULTI ? "uprobe_multi links" : "uprobes", path,
		       strerror(-err));
		/* all or nothing: frees without their allocations would be counted unknown */
		while (t->nlinks > first_link)
			drop_link(&t->links[--t->nlinks]);
		return err;
	}
	return (int)(entry->n + ret->n);
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
