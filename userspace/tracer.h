/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The BPF side's lifecycle and every map access user space makes: load the object sized from
 * the configuration, attach the process-lifecycle tracepoints, attach the allocator uprobes to
 * each libc object once (by device and inode), read the per-site aggregates in batches, sweep
 * the live-allocation table, and hand exit/exec events to the daemon.
 */
#ifndef LW_TRACER_H
#define LW_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "allocfns.h"
#include "config.h"
#include "leakwatch_abi.h"
#include "snapshot.h"

struct lw_tracer_opts {
	pid_t self;			/* the daemon's tgid, never traced */
	const pid_t *pids;		/* trace only these (and their children); NULL = all */
	unsigned int npids;
	uint32_t max_allocations;
	uint32_t max_sites;
	uint32_t max_stacks;
	uint32_t stack_depth;
	enum lw_attach_mode attach;	/* resolved: LW_ATTACH_MULTI or LW_ATTACH_CLASSIC */
	bool mmap;			/* trace anonymous mappings (system-call tracepoints) */
	uint32_t py_tss_base;		/* glibc's pthread key table in struct pthread; 0: no Python */
	uint64_t sample_bytes;		/* mean bytes between samples; 0: every allocation */
	bool session;			/* session uprobes (resolved: the kernel has them) */
};

struct lw_agg_entry {
	struct lw_agg_key key;
	struct lw_agg_val val;
};

struct lw_alloc_entry {
	struct lw_alloc_key key;
	struct lw_alloc_val val;
};

struct lw_tracer;

/* Opens, loads and attaches the tracepoints. NULL with errno set; logs the reason. */
struct lw_tracer *lw_tracer__new(const struct lw_tracer_opts *opts);
void lw_tracer__free(struct lw_tracer *t);

bool lw_tracer__has_object(const struct lw_tracer *t, uint64_t dev, uint64_t ino);
/* Most probe points on one object (entries; returns are as many at most). */
#define LW_MAX_OBJ_PROBES 64

/*
 * Attach the probes the object reachable at path, identified by (dev, ino), gets by its plan
 * (see lw_allocfns__plan): an allocator's entry points, labelled with its kind in their cookies,
 * and the wrappers it defines. Returns the number of probes attached (> 0), -ENOENT when it
 * defines none, or -errno. Attaching the same object twice is a no-op that returns 0. An
 * allocator is probed all or nothing.
 */
int lw_tracer__attach_object(struct lw_tracer *t, const char *path, uint64_t dev, uint64_t ino,
			     const struct lw_allocfns *fns);
/*
 * The file offset where function sym of elf gets its probe as allocator function fn (and its
 * return probe, at the same point): see lw_prologue_probe_offset. The benchmarks' empty-probe
 * floor uses it too, to probe the very same points.
 */
struct lw_elf;
struct lw_elf_sym;
uint64_t lw_tracer__probe_offset(struct lw_elf *elf, const struct lw_elf_sym *sym,
				 enum lw_func fn);
/* "uprobe_multi" or "classic": how the allocator probes are attached. */
const char *lw_tracer__attach_mode(const struct lw_tracer *t);
/* One probe of a CPython interpreter binary (see userspace/pyinterp.h). */
struct lw_py_probe {
	enum lw_func fn;		/* LW_FN_PY_*, goes into the cookie */
	const char *name;		/* the function, for messages */
	uint64_t offset;		/* file offset of the probe point */
	uint64_t cookie;		/* see LW_PYC_* in leakwatch_abi.h, less the function */
	bool ret;			/* a return probe too, at the same point */
};

/* Describe interpreter idx (< LW_MAX_INTERPS) to the BPF side. 0 or -errno. */
int lw_tracer__set_pyinterp(struct lw_tracer *t, unsigned int idx, const struct lw_py_offsets *o);
/*
 * Attach the n probes of one interpreter binary reachable at path, all or none, in the attach
 * mode of the libc probes (uprobe_multi: two links, entries and returns). Returns the number of
 * kernel probes (> 0) or -errno (logged); -EOPNOTSUPP when the CPython programs are not loaded.
 */
int lw_tracer__attach_python(struct lw_tracer *t, const char *path, const struct lw_py_probe *p,
			     size_t n);
/* Anonymous mappings are traced. */
bool lw_tracer__mmap(const struct lw_tracer *t);
/*
 * Per-process attach (a pid list and uprobe_multi links): each traced process has links of its
 * own, filtered by the kernel, so that others run untouched. add_pid gives pid links on every
 * object attached so far (and later ones); drop_pid removes them. Both are no-ops otherwise.
 */
int lw_tracer__add_pid(struct lw_tracer *t, pid_t pid);
void lw_tracer__drop_pid(struct lw_tracer *t, pid_t pid);
bool lw_tracer__per_process(const struct lw_tracer *t);
/* The allocator probes are session uprobes. */
bool lw_tracer__session(const struct lw_tracer *t);
/* Kernel links (or perf events) held. */
size_t lw_tracer__links(const struct lw_tracer *t);
/* The CPython programs are loaded (glibc's thread key table was found). */
bool lw_tracer__python(const struct lw_tracer *t);
/* The attached objects, for status (owned by t). */
const struct lw_attached_obj *lw_tracer__objects(const struct lw_tracer *t, size_t *n);

/* Exit/exec events: the fd to poll, and a non-blocking consume that calls cb per event. */
int lw_tracer__events_fd(const struct lw_tracer *t);
int lw_tracer__consume_events(struct lw_tracer *t,
			      void (*cb)(void *ctx, const struct lw_event *e), void *ctx);

/* All aggregates, in one array the caller frees. */
int lw_tracer__read_aggs(struct lw_tracer *t, struct lw_agg_entry **out, size_t *n);
int lw_tracer__delete_aggs(struct lw_tracer *t, const struct lw_agg_key *keys, size_t n);
int lw_tracer__read_stack(struct lw_tracer *t, uint64_t stack_id, struct lw_stack_val *out);
/* Visit every stack id; delete those the callback returns true for. */
int lw_tracer__sweep_stacks(struct lw_tracer *t, bool (*drop)(void *ctx, uint64_t id),
			    void *ctx, size_t *nleft);
/* Visit every live allocation; delete those the callback returns true for. */
int lw_tracer__sweep_allocs(struct lw_tracer *t,
			    bool (*drop)(void *ctx, const struct lw_alloc_entry *e), void *ctx,
			    size_t *nleft);
/* The start time (boot ns) of process tgid if its current identity is ident; -ENOENT if not. */
/* Move cohort boundary i (< LW_COHORTS) to boot-time ns; see struct lw_agg_val. */
void lw_tracer__set_cohort(struct lw_tracer *t, unsigned int i, uint64_t boot_ns);
int lw_tracer__proc_start(struct lw_tracer *t, uint32_t tgid, uint64_t ident, uint64_t *start_ns);

void lw_tracer__counters(struct lw_tracer *t, uint64_t drops[LW_DROP_MAX],
			 uint64_t counts[LW_CNT_MAX]);
void lw_tracer__map_limits(const struct lw_tracer *t, uint64_t *allocs, uint64_t *sites,
			   uint64_t *stacks);

#endif /* LW_TRACER_H */
