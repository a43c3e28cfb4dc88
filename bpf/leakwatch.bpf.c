// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * leakwatch's hot path.
 *
 * Hooks: uprobes at the entry of every libc allocator function (malloc, calloc, realloc,
 * reallocarray, posix_memalign, aligned_alloc, memalign, valloc, pvalloc; free just after its
 * NULL check, where the stack and arguments are still as at entry), all served by one program
 * that the attach cookie tells which function fired, and uretprobes on those that return
 * memory; the same for the other allocators (jemalloc, tcmalloc, mimalloc, a static binary's),
 * whose kind rides in the cookie, and for CPython's allocator or its object entry points (see the
 * end of this file and python.bpf.h); BTF tracepoints on exec, exit and fork, and on system-call
 * entry and exit for anonymous mmap, munmap and mremap.
 *
 * Keeps: one record per live allocation keyed by (tgid, address); per (process, stack)
 * aggregates of live bytes and counts; the stacks themselves in a hash keyed by a 64-bit hash of
 * the frames; a per-thread state in task storage (nesting depth, arguments of the call in
 * flight, the stack scratch buffer), which the kernel frees with the thread.
 *
 * Never: symbolizes, sleeps, or drops anything without counting it in "drops". It never takes a
 * decision user space can take later: exited processes are reported through the ring buffer and
 * their state is swept by the daemon.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "leakwatch_abi.h"

/* Session uprobes (6.10+): is this the return half? Only session programs may call it. */
extern bool bpf_session_is_return(void) __ksym __weak;

/* vmlinux.h carries no errno values */
#define EEXIST 17
#define E2BIG 7

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space before load. */
const volatile __u32 self_tgid = 0;	/* the daemon: its own allocations are not traced */
const volatile bool filter_pids = false;	/* trace only tgids in "targets" (and children) */
const volatile __u32 stack_depth = 16;	/* frames kept, 1..LW_MAX_STACK_DEPTH */
/* Mean bytes between samples, 0: every allocation is recorded. See LW_SAMPLE_TABLE. */
const volatile __u64 sample_bytes = 0;
const volatile __u32 sample_exp[LW_SAMPLE_TABLE];
const volatile __u32 sample_h[LW_SAMPLE_TABLE];

/* Moved by user space while running: the cohort boundaries of struct lw_agg_val. */
volatile __u64 cohort_ns[LW_COHORTS];

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct lw_proc_val);
} procs SEC(".maps");

/* Sizes of the big maps are set by user space from the configuration. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 20);
	__type(key, struct lw_alloc_key);
	__type(value, struct lw_alloc_val);
} allocs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct lw_agg_key);
	__type(value, struct lw_agg_val);
} aggs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct lw_stack_val);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LW_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline void bump(void *map, __u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(map, &idx);

	if (c)
		*c += 1;	/* per-CPU slot: no atomics needed */
}

#include "python.bpf.h"

/*
 * Per-thread state. The stack scratch buffer lives here rather than in a per-CPU array because
 * a uprobe program may be preempted on some attach paths (uprobe_multi runs with only migration
 * disabled), and another thread on the same CPU would then scribble over a per-CPU buffer.
 */
struct thread_state {
	__u64 ident;		/* cached process identity, 0 = not looked up yet */
	__u64 entry_sp;		/* stack pointer at the outermost allocator entry */
	__u32 depth;		/* allocator calls in flight on this thread */
	__u32 func;		/* enum lw_func of the outermost call (or of the one adopted) */
	__u32 adopt_depth;	/* a wrapper's adopted call is in flight above this depth; 0: none */
	__u8 kind;		/* enum lw_alloc_kind of the call accounted */
	__u64 size;		/* requested size of the outermost call */
	__u64 memptr;		/* posix_memalign's out pointer */
	__u64 stack_id;
	/* sampling: bytes to the next sample, drawn once armed */
	__s64 sample_left;
	bool sample_armed;
	/* sampling: a wrapper's scope keeps its caller's registers; its stack is taken if sampled */
	__u64 wrap_sp, wrap_fp;
	/* realloc: the old block's record, removed at entry, restored if realloc fails */
	__u64 old_addr;
	struct lw_alloc_val old;
	bool have_old;
	/* mremap: the mapping's record, removed at entry, recorded again at its new place */
	bool have_mremap;
	__u64 mremap_addr;
	struct lw_alloc_val mremap_old;
	struct py_thread py;
	struct lw_stack_val scratch;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} tstate SEC(".maps");

static __always_inline bool traced(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	return !filter_pids || bpf_map_lookup_elem(&targets, &tgid);
}

static __always_inline struct thread_state *thread_state(bool create)
{
	struct thread_state *ts;

	ts = bpf_task_storage_get(&tstate, bpf_get_current_task_btf(), 0,
				  create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (!ts && create)
		bump(&drops, LW_DROP_NO_TASK_STORAGE);
	return ts;
}

static __always_inline __u64 leader_start_ns(struct task_struct *task)
{
	return BPF_CORE_READ(task, group_leader, start_boottime);
}

/*
 * The identity of the calling process, cached per thread. A procs entry left behind by a process
 * whose exit we missed is recognised by its start time and replaced, so a reused pid never
 * inherits it.
 */
static __always_inline __u64 proc_ident(__u32 tgid, struct thread_state *ts)
{
	struct lw_proc_val *pv, nv;
	__u64 start;

	if (ts->ident)
		return ts->ident;
	start = leader_start_ns(bpf_get_current_task_btf());
	pv = bpf_map_lookup_elem(&procs, &tgid);
	if (pv && pv->start_ns == start) {
		ts->ident = pv->ident;
		return ts->ident;
	}
	nv.ident = start;
	nv.start_ns = start;
	if (bpf_map_update_elem(&procs, &tgid, &nv, BPF_ANY))
		bump(&drops, LW_DROP_PROC_MAP_FULL);
	ts->ident = start;
	return start;
}

static __always_inline __u64 hash_frames(struct lw_stack_val *st, __u32 nr)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (__u32 i = 0; i < LW_MAX_STACK_DEPTH; i++) {
		if (i >= nr)
			break;
		h ^= st->ips[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h | 1;	/* 0 means "no stack" */
}

/*
 * The return address at sp, as the caller pushed it. A return probe that fired at a function's
 * entry replaced it with the kernel's uretprobe trampoline and keeps the original in one of the
 * thread's return instances, newest first, the one made for this very stack slot: a wrapper's
 * own return probe when its scope takes the stack at the call it adopts, or another tracer's
 * (another leakwatchd's) return probe at the function's first byte, before ours further in.
 */
#define LW_MAX_RETURN_INSTANCES 4

static __always_inline __u64 caller_of(__u64 ret, __u64 sp)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct return_instance *ri = BPF_CORE_READ(task, utask, return_instances);

	for (int i = 0; i < LW_MAX_RETURN_INSTANCES && ri; i++) {
		__u64 at = BPF_CORE_READ(ri, stack);

		if (at == sp)
			return BPF_CORE_READ(ri, orig_ret_vaddr);
		if (at > sp)
			break;	/* older calls lie higher: none is for this slot */
		ri = BPF_CORE_READ(ri, next);
	}
	return ret;
}

/* How far above the stack pointer a frame may lie: the default 8 MiB thread stack. */
#define STACK_SPAN (8ULL << 20)

/*
 * Capture the user stack at allocator entry (or at an mmap system call) into the thread's
 * scratch buffer. *sp is the caller's return address whether or not the caller keeps frame
 * pointers. The rest comes from walking the frame-pointer chain, which we do ourselves rather
 * than with bpf_get_stack() so that every link can be checked: a frame must lie on this thread's
 * stack, above the previous one. Code built without frame pointers uses rbp as an ordinary
 * register, and a walk that trusted it would invent a new stack for every value it happens to
 * hold — one kernel site per call instead of one per call path. False: no stack.
 */
static __always_inline bool capture_frames(struct thread_state *ts, __u32 tgid, __u64 sp,
					   __u64 fp, bool py_known)
{
	struct lw_stack_val *st = &ts->scratch;
	__u64 frame[2];	/* saved rbp, return address */
	__u32 depth = stack_depth, i;

	if (bpf_probe_read_user(&st->ips[0], sizeof(__u64), (void *)sp)) {
		bump(&drops, LW_DROP_STACK_MISSING);
		return false;
	}
	st->ips[0] = caller_of(st->ips[0], sp);
	for (i = 1; i < LW_MAX_STACK_DEPTH; i++) {
		if (i >= depth)
			break;
		if (fp <= sp || fp - sp > STACK_SPAN || (fp & 7))
			break;
		if (bpf_probe_read_user(frame, sizeof(frame), (void *)fp) || !frame[1])
			break;
		st->ips[i] = frame[1];
		if (frame[0] <= fp)
			break;
		fp = frame[0];
	}
	/* the verifier wants i visibly bounded before it becomes nr */
	st->nr = i & (LW_MAX_STACK_DEPTH * 2 - 1);
	/* a CPython probe has just noted its process; any other asks whether it is one */
	if (!py_known)
		py_lookup(&ts->py, tgid, proc_ident(tgid, ts));
	py_walk(&ts->py, st);
	/*
	 * With Python frames, the native frames past the allocator's caller are the interpreter's
	 * own (or, without frame pointers, whatever rbp held): they would split one Python site
	 * into many and tell nothing the Python frames do not.
	 */
	if (st->py_nr)
		st->nr = 1;
	return true;
}

/*
 * Store the captured stack as a site of allocator kind; returns its id. The kind is part of
 * the hash: one call path into two allocators is two sites.
 */
static __always_inline __u64 commit_stack(struct thread_state *ts, enum lw_alloc_kind kind)
{
	struct lw_stack_val *st = &ts->scratch;
	__u64 id;

	st->kind = kind;
	id = py_hash(st, hash_frames(st, st->nr)) | 1;
	if (!bpf_map_lookup_elem(&stacks, &id) &&
	    bpf_map_update_elem(&stacks, &id, st, BPF_NOEXIST) == -E2BIG)
		bump(&drops, LW_DROP_STACK_MAP_FULL);
	return id;
}

/* Capture and store the stack at (sp, fp) as a site of allocator kind: its id, 0 if none. */
static __always_inline __u64 capture_stack_at(__u64 sp, __u64 fp, struct thread_state *ts,
					      __u32 tgid, enum lw_alloc_kind kind)
{
	if (!capture_frames(ts, tgid, sp, fp, kind == LW_ALLOC_PYMALLOC))
		return 0;
	return commit_stack(ts, kind);
}

static __always_inline __u64 capture_stack(struct pt_regs *ctx, struct thread_state *ts,
					   __u32 tgid, enum lw_alloc_kind kind)
{
	return capture_stack_at(PT_REGS_SP(ctx), PT_REGS_FP(ctx), ts, tgid, kind);
}

/*
 * Sampling. A random draw of the distance to the next sample, in bytes (mean sample_bytes; at
 * least 1, so that a countdown is never born spent).
 */
static __always_inline __s64 sample_draw(void)
{
	__u32 i = bpf_get_prandom_u32() & (LW_SAMPLE_TABLE - 1);
	__u64 d = (sample_bytes * sample_exp[i]) >> LW_SAMPLE_EXP_SHIFT;

	return d ? (__s64)d : 1;
}

/*
 * Is an allocation of size bytes sampled? Each byte allocated moves the thread's countdown; an
 * allocation that reaches it is sampled, and a new distance is drawn. The draws being
 * exponential (memoryless), each allocation is sampled with probability 1 - exp(-size/R),
 * whatever came before it on the thread.
 */
static __always_inline bool sample_take(struct thread_state *ts, __u64 size)
{
	if (!ts->sample_armed) {
		/* a new thread starts at a random point, not at a sample */
		ts->sample_left = sample_draw();
		ts->sample_armed = true;
	}
	if ((__s64)size < ts->sample_left) {
		ts->sample_left -= size;
		return false;
	}
	ts->sample_left = sample_draw();
	return true;
}

/* The bytes a recorded block of size bytes stands for: size / p, see LW_SAMPLE_TABLE. */
static __always_inline __u64 sample_weight(__u64 size)
{
	__u64 i;

	if (!sample_bytes || size >= sample_bytes * (LW_SAMPLE_TABLE / LW_SAMPLE_STEPS))
		return size;
	i = size * LW_SAMPLE_STEPS / sample_bytes;
	return size + ((sample_bytes * sample_h[i & (LW_SAMPLE_TABLE - 1)]) >> LW_SAMPLE_H_SHIFT);
}

/* The blocks it stands for, 1/p = weight/size, rounded. */
static __always_inline __s64 sample_count(__u64 size, __u64 weight)
{
	if (!sample_bytes || !size)
		return 1;
	return (weight + size / 2) / size;
}

static __always_inline struct lw_agg_val *agg_get(struct lw_agg_key *key, bool create)
{
	static const struct lw_agg_val zero;
	struct lw_agg_val *a;

	a = bpf_map_lookup_elem(&aggs, key);
	if (a || !create)
		return a;
	bpf_map_update_elem(&aggs, key, &zero, BPF_NOEXIST);
	a = bpf_map_lookup_elem(&aggs, key);
	if (!a)
		bump(&drops, LW_DROP_AGG_MAP_FULL);
	return a;
}

static __always_inline void agg_add(__u32 tgid, const struct lw_alloc_val *v)
{
	struct lw_agg_key key = { .tgid = tgid, .ident = v->ident, .stack_id = v->stack_id };
	struct lw_agg_val *a = agg_get(&key, true);
	__u64 w = sample_weight(v->size);
	__s64 n = sample_count(v->size, w);

	if (!a)
		return;
	__sync_fetch_and_add(&a->live_bytes, w);
	__sync_fetch_and_add(&a->live_allocs, n);
	__sync_fetch_and_add(&a->allocs, n);
	__sync_fetch_and_add(&a->alloc_bytes, w);
}

/* A block died: count it against every cohort it was born before. */
static __always_inline void cohort_death(struct lw_agg_val *a, const struct lw_alloc_val *v)
{
	__u64 w = sample_weight(v->size);
	__s64 n = sample_count(v->size, w);

#pragma unroll
	for (int i = 0; i < LW_COHORTS; i++) {
		if (v->birth_ns < cohort_ns[i]) {
			__sync_fetch_and_add(&a->cohort_frees[i], n);
			__sync_fetch_and_add(&a->cohort_free_bytes[i], w);
		}
	}
}

/* Take a block off its site; death is false when realloc moves it (it lives on). */
static __always_inline void agg_sub(__u32 tgid, const struct lw_alloc_val *v, bool death)
{
	struct lw_agg_key key = { .tgid = tgid, .ident = v->ident, .stack_id = v->stack_id };
	struct lw_agg_val *a = agg_get(&key, false);
	__u64 w = sample_weight(v->size);
	__s64 n = sample_count(v->size, w);

	if (!a)
		return;
	__sync_fetch_and_add(&a->live_bytes, -(__s64)w);
	__sync_fetch_and_add(&a->live_allocs, -n);
	__sync_fetch_and_add(&a->frees, n);
	__sync_fetch_and_add(&a->free_bytes, w);
	if (death)
		cohort_death(a, v);
}

/* realloc(p, 0) freed the block it had taken off its site at entry. */
static __always_inline void agg_death(__u32 tgid, const struct lw_alloc_val *v)
{
	struct lw_agg_key key = { .tgid = tgid, .ident = v->ident, .stack_id = v->stack_id };
	struct lw_agg_val *a = agg_get(&key, false);

	if (a)
		cohort_death(a, v);
}

/* birth_ns 0: born now; realloc passes the birth of the block it moved. */
static __always_inline void record_alloc(__u32 tgid, __u64 ident, __u64 addr, __u64 size,
					 __u64 stack_id, __u64 birth_ns)
{
	struct lw_alloc_key key = { .tgid = tgid, .addr = addr };
	struct lw_alloc_val val = {
		.size = size, .stack_id = stack_id, .ident = ident,
		.birth_ns = birth_ns ? birth_ns : bpf_ktime_get_boot_ns(),
	};
	struct lw_alloc_val *stale;
	long err;

	err = bpf_map_update_elem(&allocs, &key, &val, BPF_NOEXIST);
	if (err == -EEXIST) {
		/* We missed this block's free: retire its old record before reusing the key. */
		stale = bpf_map_lookup_elem(&allocs, &key);
		if (stale && stale->ident == ident)
			agg_sub(tgid, stale, true);
		err = bpf_map_update_elem(&allocs, &key, &val, BPF_ANY);
	}
	if (err) {
		bump(&drops, LW_DROP_ALLOC_MAP_FULL);
		return;
	}
	agg_add(tgid, &val);
	bump(&counts, LW_CNT_ALLOCS);
}

/*
 * Remove addr's record; copies it to *out when given. Returns true if it was ours. death is
 * false for realloc, which decides at return whether the block moved or was freed.
 */
static __always_inline bool forget_alloc(__u32 tgid, __u64 ident, __u64 addr,
					 struct lw_alloc_val *out, bool death)
{
	struct lw_alloc_key key = { .tgid = tgid, .addr = addr };
	struct lw_alloc_val *v, copy;

	v = bpf_map_lookup_elem(&allocs, &key);
	if (!v) {
		/* sampling: most blocks were never recorded, and that is no loss */
		if (!sample_bytes)
			bump(&drops, LW_DROP_FREE_UNKNOWN);
		return false;
	}
	copy = *v;
	/* Two threads freeing one block (a double free) race here: only the deleter counts it. */
	if (bpf_map_delete_elem(&allocs, &key))
		return false;
	if (copy.ident != ident) {
		/* left by an earlier process with this pid */
		bump(&drops, LW_DROP_FREE_UNKNOWN);
		return false;
	}
	agg_sub(tgid, &copy, death);
	bump(&counts, LW_CNT_FREES);
	if (out)
		*out = copy;
	return true;
}

/*
 * Outermost-call tracking. glibc's allocator functions call each other (realloc(NULL, n) and
 * the memalign family call malloc, reallocarray calls realloc, realloc(p, 0) calls free); only
 * the outermost call describes what the program asked for. If a return was never seen (the
 * thread left the allocator by longjmp, or the probe was attached mid-call), the stack pointer
 * tells: a call made above the recorded entry frame cannot be nested in it.
 *
 * A wrapper (LW_FN_WRAPPER) is the exception: its entry only opens a scope with the stack of
 * its caller, and the first allocator call made inside it is adopted as the allocation, with
 * that stack. Wrappers nested in it (xcalloc calling xmalloc) stay inside the one scope; once
 * the adopted call returns, the scope may adopt the next (a wrapper allocating twice).
 */
static __always_inline struct thread_state *enter(struct pt_regs *ctx, enum lw_func fn,
						  bool *adopted)
{
	struct thread_state *ts = thread_state(true);
	__u64 sp = PT_REGS_SP(ctx);

	*adopted = false;
	if (!ts)
		return NULL;
	if (ts->depth && sp > ts->entry_sp)
		ts->depth = 0;
	if (!ts->depth) {
		ts->entry_sp = sp;
		ts->adopt_depth = 0;
	} else if (ts->func == LW_FN_WRAPPER && !ts->adopt_depth && fn != LW_FN_WRAPPER) {
		ts->adopt_depth = ts->depth;
		*adopted = true;
	} else {
		ts->depth++;
		bump(&counts, LW_CNT_NESTED);
		return NULL;
	}
	ts->depth++;
	ts->have_old = false;
	ts->old_addr = 0;
	ts->memptr = 0;
	return ts;
}

/*
 * Returns the thread's state when this call is the one to account (the outermost, or the one a
 * wrapper adopts), else NULL.
 */
static __always_inline struct thread_state *alloc_enter_kind(struct pt_regs *ctx, enum lw_func fn,
							      __u64 size, enum lw_alloc_kind kind)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct thread_state *ts;
	bool adopted;

	if (!traced(tgid))
		return NULL;
	ts = enter(ctx, fn, &adopted);
	if (!ts)
		return NULL;
	ts->func = fn;
	ts->size = size;
	ts->kind = kind;
	/*
	 * A wrapper's scope notes where its caller's stack is and takes it only when it adopts a
	 * call (sampling: a sampled one). The allocator that call goes to names the site (operator
	 * new may reach glibc or jemalloc), and a scope that allocates nothing leaves no stack
	 * behind. The wrapper is still in its frame then: its return address is at its entry sp.
	 */
	if (fn == LW_FN_WRAPPER) {
		ts->wrap_sp = PT_REGS_SP(ctx);
		ts->wrap_fp = PT_REGS_FP(ctx);
		ts->stack_id = 0;
	} else if (adopted) {
		ts->stack_id = capture_stack_at(ts->wrap_sp, ts->wrap_fp, ts, tgid, kind);
	} else {
		ts->stack_id = capture_stack(ctx, ts, tgid, kind);
	}
	return ts;
}

/* Is addr a block recorded for this process? */
static __always_inline bool recorded(__u32 tgid, __u64 addr)
{
	struct lw_alloc_key key = { .tgid = tgid, .addr = addr };

	return bpf_map_lookup_elem(&allocs, &key);
}

/*
 * Sampling: should this allocator call go unrecorded? The decision is the outermost call's (or
 * the call a wrapper adopts): calls nested in a recorded one take the full path, which counts
 * them as nested. realloc of a recorded block is always followed, or its record would outlive
 * it. Wrappers always open their scope; the call they adopt decides. When this says yes, the
 * call has left no trace: its return probe may be skipped.
 */
static __always_inline bool sample_skip(struct pt_regs *ctx, enum lw_func fn, __u64 size,
					__u64 old)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct thread_state *ts;

	if (!traced(tgid))
		return true;
	if (fn == LW_FN_WRAPPER)
		return false;
	ts = thread_state(true);
	if (!ts)
		return true;
	if (ts->depth && PT_REGS_SP(ctx) <= ts->entry_sp &&
	    !(ts->func == LW_FN_WRAPPER && !ts->adopt_depth))
		return false;
	if (old && recorded(tgid, old))
		return false;
	return !sample_take(ts, size);
}

/* Is the call in flight on this thread, which a call at sp is nested in, a realloc? */
static __always_inline bool in_realloc(const struct thread_state *ts, __u64 sp)
{
	if (!ts->depth || sp >= ts->entry_sp)
		return false;
	return ts->func == LW_FN_REALLOC || ts->func == LW_FN_REALLOCARRAY ||
	       ts->func == LW_FN_PY_REALLOC || ts->func == LW_FN_PY_GC_RESIZE;
}

/*
 * realloc's old block is retired at entry, before realloc can hand it to another thread: doing
 * it at return would race with that thread's record of the same address.
 */
static __always_inline void realloc_retire(struct thread_state *ts, __u64 old)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	ts->old_addr = old;
	ts->have_old = forget_alloc(tgid, proc_ident(tgid, ts), old, &ts->old, false);
}

static __always_inline int alloc_exit(struct pt_regs *ctx, __u64 ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct thread_state *ts;
	__u64 addr = ret, ident;
	__u32 fn;

	if (!traced(tgid))
		return 0;
	ts = thread_state(false);
	if (!ts || !ts->depth)
		return 0;
	fn = ts->func;
	if (--ts->depth) {
		if (ts->depth != ts->adopt_depth)
			return 0;
		/* the call a wrapper made returned: account it; the scope may adopt another */
		ts->adopt_depth = 0;
		ts->func = LW_FN_WRAPPER;
	} else {
		ts->adopt_depth = 0;
		if (fn == LW_FN_WRAPPER)
			return 0;	/* a wrapper's scope closed: its allocation is accounted */
	}
	ident = proc_ident(tgid, ts);

	switch (fn) {
	case LW_FN_POSIX_MEMALIGN:
		/* returns an error number; the block is in *memptr */
		if ((int)ret != 0 || !ts->memptr ||
		    bpf_probe_read_user(&addr, sizeof(addr), (void *)ts->memptr))
			addr = 0;
		break;
	case LW_FN_REALLOC:
	case LW_FN_REALLOCARRAY:
	case LW_FN_PY_REALLOC:
	case LW_FN_PY_GC_RESIZE:
		if (!ret && ts->size && ts->have_old) {
			/* failed: the old block is untouched and still live */
			record_alloc(tgid, ts->old.ident, ts->old_addr, ts->old.size,
				     ts->old.stack_id, ts->old.birth_ns);
			bump(&counts, LW_CNT_FAILED_ALLOCS);
			return 0;
		}
		if (!ret && !ts->size && ts->old_addr) {
			/* realloc(p, 0) freed p */
			if (ts->have_old)
				agg_death(tgid, &ts->old);
			return 0;
		}
		break;
	default:
		break;
	}
	if (!addr) {
		bump(&counts, LW_CNT_FAILED_ALLOCS);
		return 0;
	}
	/* a block realloc moved keeps its age: resizing is not dying */
	record_alloc(tgid, ident, addr,
		     ts->kind == LW_ALLOC_JEMALLOC ? lw_jemalloc_class(ts->size) : ts->size,
		     ts->stack_id,
		     ts->have_old && ts->old.ident == ident ? ts->old.birth_ns : 0);
	return 0;
}

static __always_inline int free_enter(struct pt_regs *ctx, __u64 addr)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct thread_state *ts;

	if (!addr || !traced(tgid))
		return 0;
	/* sampling: one lookup settles the frees of the blocks never recorded, nearly all */
	if (sample_bytes && !recorded(tgid, addr))
		return 0;
	ts = thread_state(true);
	if (!ts)
		return 0;
	/* a free made by realloc itself is accounted when realloc returns */
	if (in_realloc(ts, PT_REGS_SP(ctx))) {
		bump(&counts, LW_CNT_NESTED);
		return 0;
	}
	/* CPython's free of a large block ends here: the block was recorded by CPython's probes */
	if (addr == ts->py.freed) {
		ts->py.freed = 0;
		return 0;
	}
	/*
	 * Any other call in flight is a CPython object allocation, inside which the collector may
	 * run and free what it likes: those frees are real. With none in flight, an allocator
	 * call whose return we never saw is over.
	 */
	if (!ts->depth || PT_REGS_SP(ctx) >= ts->entry_sp)
		ts->depth = 0;
	forget_alloc(tgid, proc_ident(tgid, ts), addr, NULL, true);
	return 0;
}

/*
 * Every allocator entry point, told apart by the attach cookie (an enum lw_func): one
 * uprobe_multi link then covers all of a library's entry offsets, and detaching it costs one
 * grace period instead of one per function. Arguments are read by position; the registers past
 * a function's own arguments are never used for it. Returns 1 when the call needs no return
 * probe (a session uprobe then skips it), 0 when it does.
 */
static __always_inline int alloc_entry(struct pt_regs *ctx, __u64 cookie, __u64 a1, __u64 a2,
				       __u64 a3)
{
	__u32 fn = cookie & 0xff, kind = (cookie >> LW_COOKIE_KIND_SHIFT) & 0xff;
	struct thread_state *ts;
	__u64 size;

	switch (fn) {
	case LW_FN_FREE:
		free_enter(ctx, a1);
		return 1;
	case LW_FN_CALLOC:
		/* an overflowing product fails in calloc itself; the record is never made */
		size = a1 * a2;
		break;
	case LW_FN_REALLOC:
	case LW_FN_ALIGNED_ALLOC:
	case LW_FN_MEMALIGN:
		size = a2;
		break;
	case LW_FN_REALLOCARRAY:
		size = a2 * a3;
		break;
	case LW_FN_POSIX_MEMALIGN:
		size = a3;
		break;
	case LW_FN_MALLOC:
	case LW_FN_VALLOC:
	case LW_FN_PVALLOC:
		size = a1;
		break;
	case LW_FN_WRAPPER:
		size = 0;	/* the call it makes tells */
		break;
	default:
		return 1;
	}
	if (!traced(bpf_get_current_pid_tgid() >> 32))
		return 1;
	if (sample_bytes &&
	    sample_skip(ctx, fn, size,
			fn == LW_FN_REALLOC || fn == LW_FN_REALLOCARRAY ? a1 : 0))
		return 1;
	ts = alloc_enter_kind(ctx, fn, size, kind);
	if (!ts)
		return 0;	/* nested: its return still counts the depth down */
	if (fn == LW_FN_POSIX_MEMALIGN)
		ts->memptr = a1;
	else if ((fn == LW_FN_REALLOC || fn == LW_FN_REALLOCARRAY) && a1)
		realloc_retire(ts, a1);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(lw_alloc_entry, __u64 a1, __u64 a2, __u64 a3)
{
	alloc_entry(ctx, bpf_get_attach_cookie(ctx), a1, a2, a3);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(lw_alloc_ret, __u64 ret)
{
	return alloc_exit(ctx, ret);
}

/*
 * The same as one session uprobe (Linux 6.10+): entry and return in one program and one link,
 * and the return half runs only for the calls whose entry asked for it (returned 0). With
 * sampling, an allocation not sampled then costs one trap instead of two.
 */
SEC("uprobe")
int BPF_KPROBE(lw_alloc_session, __u64 a1, __u64 a2, __u64 a3)
{
	if (bpf_session_is_return()) {
		alloc_exit(ctx, PT_REGS_RC(ctx));
		return 0;
	}
	return alloc_entry(ctx, bpf_get_attach_cookie(ctx), a1, a2, a3);
}

static __always_inline void emit(__u32 type, __u32 tgid, __u64 old_ident, __u64 new_ident)
{
	struct lw_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		bump(&drops, LW_DROP_EVENT_LOST);
		return;
	}
	e->type = type;
	e->tgid = tgid;
	e->old_ident = old_ident;
	e->new_ident = new_ident;
	e->ts_ns = bpf_ktime_get_boot_ns();
	bpf_ringbuf_submit(e, 0);
}

/* Exec keeps the pid but replaces the image: a new identity starts. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(lw_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct lw_proc_val *pv, nv;
	struct thread_state *ts;

	pv = bpf_map_lookup_elem(&procs, &tgid);
	if (!pv)
		return 0;	/* never allocated while traced: nothing to retire */
	nv.ident = bpf_ktime_get_boot_ns();
	nv.start_ns = pv->start_ns;
	emit(LW_EV_EXEC, tgid, pv->ident, nv.ident);
	bpf_map_update_elem(&procs, &tgid, &nv, BPF_ANY);
	bpf_map_delete_elem(&pyprocs, &tgid);
	ts = thread_state(false);
	if (ts) {
		ts->ident = nv.ident;
		ts->depth = 0;
		ts->py.runtime = 0;
		ts->py.ident = 0;
	}
	return 0;
}

/* Fires per thread; the process is gone when the last thread's exit drops signal->live to 0. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(lw_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct lw_proc_val *pv;

	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	pv = bpf_map_lookup_elem(&procs, &tgid);
	if (!pv)
		return 0;
	emit(LW_EV_EXIT, tgid, pv->ident, 0);
	bpf_map_delete_elem(&procs, &tgid);
	bpf_map_delete_elem(&pyprocs, &tgid);
	if (filter_pids)
		bpf_map_delete_elem(&targets, &tgid);
	return 0;
}

/* With --pid, children of traced processes are traced too. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(lw_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);
	__u8 one = 1;

	if (!filter_pids || ptgid == ctgid || !bpf_map_lookup_elem(&targets, &ptgid))
		return 0;
	bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY);
	/* user space gives it probes of its own when they are per process */
	emit(LW_EV_FORK, ctgid, 0, 0);
	return 0;
}

/*
 * Anonymous mappings: allocator "mmap". The system-call tracepoints fire for every system call
 * of every process; all but mmap, munmap and mremap leave at the first comparison.
 *
 * The rule against counting memory twice: a mapping made while an allocator call is in flight
 * on the thread (glibc's large chunks and arenas, jemalloc's extents, pymalloc's arenas where
 * its allocator is probed) belongs to that allocator, whose own records describe what it hands
 * out. Only mappings the program makes itself, outside any probed call, are recorded: one
 * record per mapping in "allocs" (LW_SPACE_MMAP, keyed by start), plus its end address
 * (LW_SPACE_MMAP_END), so that an munmap of the mapping's tail finds it. Sizes are pages.
 * Not recorded: file mappings, thread stacks (MAP_STACK), reservations without write access.
 */
#define LW_NR_MMAP 9		/* x86_64 system call numbers */
#define LW_NR_MUNMAP 11
#define LW_NR_MREMAP 25
#define LW_PROT_WRITE 0x2
#define LW_MAP_FIXED 0x10
#define LW_MAP_ANONYMOUS 0x20
#define LW_MAP_STACK 0x20000
#define LW_MAP_FIXED_NOREPLACE 0x100000
#define LW_MREMAP_DONTUNMAP 4
#define LW_PAGE 4096ULL
/* Mappings one munmap may take out whole before the rest of the range is left alone. */
#define LW_UNMAP_SPAN 8

static __always_inline __u64 page_up(__u64 len)
{
	return (len + LW_PAGE - 1) & ~(LW_PAGE - 1);
}

/* Is the thread, its user stack pointer at sp, inside an allocator call? */
static __always_inline bool in_allocator(struct thread_state *ts, __u64 sp)
{
	return ts && ts->depth && sp < ts->entry_sp;
}

/* Part of a mapping went away, the rest lives on: its site holds fewer bytes. */
static __always_inline void agg_shrink(__u32 tgid, const struct lw_alloc_val *v, __u64 bytes)
{
	struct lw_agg_key key = { .tgid = tgid, .ident = v->ident, .stack_id = v->stack_id };
	struct lw_agg_val *a = agg_get(&key, false);

	if (!a)
		return;
	__sync_fetch_and_add(&a->live_bytes, -(__s64)bytes);
	__sync_fetch_and_add(&a->free_bytes, bytes);
}

static __always_inline void mmap_put(__u32 tgid, __u64 start, const struct lw_alloc_val *v)
{
	struct lw_alloc_key key = { .tgid = tgid, .space = LW_SPACE_MMAP, .addr = start };
	struct lw_alloc_val end = { .size = start, .ident = v->ident, .birth_ns = v->birth_ns };

	if (bpf_map_update_elem(&allocs, &key, v, BPF_ANY)) {
		bump(&drops, LW_DROP_ALLOC_MAP_FULL);
		return;
	}
	key.space = LW_SPACE_MMAP_END;
	key.addr = start + v->size;
	bpf_map_update_elem(&allocs, &key, &end, BPF_ANY);
}

static __always_inline void mmap_del(__u32 tgid, __u64 start, __u64 size)
{
	struct lw_alloc_key key = { .tgid = tgid, .space = LW_SPACE_MMAP, .addr = start };

	bpf_map_delete_elem(&allocs, &key);
	key.space = LW_SPACE_MMAP_END;
	key.addr = start + size;
	bpf_map_delete_elem(&allocs, &key);
}

/*
 * [addr, addr + len) is no longer mapped. Whole mappings from addr on go (up to LW_UNMAP_SPAN
 * of them); one reaching past the range loses its head; one that starts before addr and ends
 * exactly at the range's end loses its tail. A hole punched in the middle of a mapping is not
 * seen (no record starts or ends there): the mapping keeps counting whole.
 */
static __always_inline void unmap_range(__u32 tgid, __u64 ident, __u64 addr, __u64 len)
{
	struct lw_alloc_key key = { .tgid = tgid, .space = LW_SPACE_MMAP };
	__u64 end = addr + page_up(len), cur = addr;
	struct lw_alloc_val *v, copy;

	for (int i = 0; i < LW_UNMAP_SPAN && cur < end; i++) {
		key.addr = cur;
		v = bpf_map_lookup_elem(&allocs, &key);
		if (!v)
			break;
		copy = *v;
		if (copy.ident != ident) {
			mmap_del(tgid, cur, copy.size);	/* left by an earlier process */
			break;
		}
		bump(&counts, LW_CNT_UNMAPS);
		if (cur + copy.size <= end) {
			mmap_del(tgid, cur, copy.size);
			agg_sub(tgid, &copy, true);
			cur += copy.size;
			continue;
		}
		/* the head goes; the rest is the same mapping, of the same age */
		mmap_del(tgid, cur, copy.size);
		agg_shrink(tgid, &copy, end - cur);
		copy.size -= end - cur;
		mmap_put(tgid, end, &copy);
		return;
	}
	if (cur != addr)
		return;
	/* a mapping that ends where the range ends and starts before it: its tail goes */
	key.space = LW_SPACE_MMAP_END;
	key.addr = end;
	v = bpf_map_lookup_elem(&allocs, &key);
	if (!v || v->ident != ident || v->size >= addr)
		return;
	key.space = LW_SPACE_MMAP;
	key.addr = v->size;
	v = bpf_map_lookup_elem(&allocs, &key);
	if (!v || key.addr + v->size != end)
		return;
	copy = *v;
	bump(&counts, LW_CNT_UNMAPS);
	mmap_del(tgid, key.addr, copy.size);
	agg_shrink(tgid, &copy, end - addr);
	copy.size = addr - key.addr;
	mmap_put(tgid, key.addr, &copy);
}

/* A new mapping of the program's own: a block of allocator "mmap" (birth_ns 0: now). */
static __always_inline void mmap_record(__u32 tgid, __u64 ident, __u64 addr, __u64 len, __u64 stack_id, __u64 birth_ns)
{
	struct lw_alloc_val v = {
		.size = page_up(len), .stack_id = stack_id, .ident = ident,
		.birth_ns = birth_ns ? birth_ns : bpf_ktime_get_boot_ns(),
	};

	/* a mapping placed over others replaced them; so did one whose munmap we missed */
	unmap_range(tgid, ident, addr, len);
	mmap_put(tgid, addr, &v);
	agg_add(tgid, &v);
	bump(&counts, LW_CNT_MMAPS);
}

static __always_inline bool mmap_wanted(__u64 prot, __u64 flags)
{
	return (flags & LW_MAP_ANONYMOUS) && !(flags & LW_MAP_STACK) && (prot & LW_PROT_WRITE);
}

/* munmap and mremap take the old mapping's record at entry, before another thread can reuse it. */
SEC("tp_btf/sys_enter")
int BPF_PROG(lw_sys_enter, struct pt_regs *regs, long id)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct lw_alloc_key key = { .tgid = tgid, .space = LW_SPACE_MMAP };
	struct thread_state *ts;
	struct lw_alloc_val *v;
	__u64 addr, len, ident;

	if (id != LW_NR_MUNMAP && id != LW_NR_MREMAP)
		return 0;
	if (!traced(tgid))
		return 0;
	addr = regs->di;
	len = regs->si;
	if (id == LW_NR_MUNMAP) {
		ts = thread_state(true);
		if (ts)
			unmap_range(tgid, proc_ident(tgid, ts), addr, len);
		return 0;
	}
	/* mremap(old, old_len, new_len, flags, new_addr) */
	ts = thread_state(true);
	if (!ts)
		return 0;
	ts->have_mremap = false;
	if (in_allocator(ts, regs->sp) || (regs->r10 & LW_MREMAP_DONTUNMAP))
		return 0;
	key.addr = addr;
	v = bpf_map_lookup_elem(&allocs, &key);
	if (!v)
		return 0;
	ident = proc_ident(tgid, ts);
	ts->mremap_old = *v;
	ts->mremap_addr = addr;
	ts->have_mremap = ts->mremap_old.ident == ident;
	if (!ts->have_mremap)
		return 0;
	if (page_up(len) >= ts->mremap_old.size) {
		/* the whole mapping moves or resizes */
		mmap_del(tgid, addr, ts->mremap_old.size);
		agg_sub(tgid, &ts->mremap_old, false);
	} else {
		/* its head moves: the tail stays a mapping of its own */
		unmap_range(tgid, ident, addr, len);
		ts->mremap_old.size = page_up(len);
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(lw_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	long id = regs->orig_ax;
	struct thread_state *ts;
	__u64 ident, stack_id = 0;

	if (id != LW_NR_MMAP && id != LW_NR_MREMAP)
		return 0;
	if (!traced(tgid))
		return 0;
	if (id == LW_NR_MREMAP) {
		ts = thread_state(false);
		if (!ts || !ts->have_mremap)
			return 0;
		ts->have_mremap = false;
		ident = proc_ident(tgid, ts);
		if (ret < 0 && ret > -4096) {
			/* failed: the old mapping is as it was */
			mmap_record(tgid, ident, ts->mremap_addr, ts->mremap_old.size,
				    ts->mremap_old.stack_id, ts->mremap_old.birth_ns);
			return 0;
		}
		/* resizing is not dying: the mapping keeps its site and its age */
		mmap_record(tgid, ident, ret, regs->dx, ts->mremap_old.stack_id,
			    ts->mremap_old.birth_ns);
		return 0;
	}
	/* mmap(addr, len, prot, flags, fd, off) */
	if ((ret < 0 && ret > -4096) || !mmap_wanted(regs->dx, regs->r10))
		return 0;
	ts = thread_state(true);
	if (!ts)
		return 0;
	if (in_allocator(ts, regs->sp)) {
		bump(&counts, LW_CNT_MMAPS_IN_ALLOCATOR);
		return 0;
	}
	ident = proc_ident(tgid, ts);
	if (capture_frames(ts, tgid, regs->sp, regs->bp, false))
		stack_id = commit_stack(ts, LW_ALLOC_MMAP);
	mmap_record(tgid, ident, ret, regs->si, stack_id, 0);
	return 0;
}

/*
 * CPython. Two ways in, chosen per interpreter binary by user space (userspace/pyinterp.h):
 * - its allocator, where calls to it are real calls (builds without LTO): the functions behind
 *   PyObject_Malloc and PyMem_Malloc, which every pymalloc allocation goes through;
 * - where LTO has inlined the allocator into its callers (distribution builds), the object entry
 *   points that are called through type slots or from many places and so stay functions
 *   (_PyObject_GC_New, _PyObject_GC_NewVar, PyType_GenericAlloc, _PyObject_GC_Resize,
 *   PyObject_GC_Del), besides whatever calls still reach the exported allocator.
 * Each probe's cookie locates _PyRuntime (see struct lw_py_proc); blocks are "pymalloc" sites.
 */
static __always_inline __u64 py_arg(struct pt_regs *ctx, __u64 cookie, unsigned int n)
{
	__u64 a0 = PT_REGS_PARM1(ctx), a1 = PT_REGS_PARM2(ctx), a2 = PT_REGS_PARM3(ctx);

	/* loads first: clang would otherwise pick the register by a variable ctx offset */
	asm volatile("" : "+r"(a0), "+r"(a1), "+r"(a2));
	if (cookie & LW_PYC_ARG2)
		n++;
	if (n == 0)
		return a0;
	if (n == 1)
		return a1;
	return a2;
}

static __always_inline __u32 py_interp_of(__u64 cookie)
{
	return (cookie >> LW_PYC_INTERP_SHIFT) & 0xff;
}

static __always_inline struct thread_state *py_enter(struct pt_regs *ctx, __u64 cookie,
						      enum lw_func fn, __u64 size)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	/* sign-extend the 48-bit distance from this probe to _PyRuntime */
	__s64 delta = (__s64)(cookie << (64 - LW_PYC_DELTA_BITS)) >> (64 - LW_PYC_DELTA_BITS);
	struct thread_state *ts;

	if (!traced(tgid))
		return NULL;
	ts = thread_state(true);
	if (!ts)
		return NULL;
	py_note(&ts->py, tgid, proc_ident(tgid, ts), PT_REGS_IP(ctx) + delta,
		py_interp_of(cookie));
	return alloc_enter_kind(ctx, fn, size, LW_ALLOC_PYMALLOC);
}

static __always_inline __u64 py_type_size(__u64 cookie, __u64 tp, __u64 nitems)
{
	__u32 idx = py_interp_of(cookie);

	return py_object_size(tp, nitems, bpf_map_lookup_elem(&pyinterps, &idx));
}

/* A CPython free: PyObject_Free, PyMem_Free, PyObject_GC_Del, or the allocator's own. */
static __always_inline int py_free(struct pt_regs *ctx, __u64 addr)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct thread_state *ts;

	if (!addr || !traced(tgid))
		return 0;
	if (sample_bytes && !recorded(tgid, addr))
		return 0;
	ts = thread_state(true);
	if (!ts)
		return 0;
	if (in_realloc(ts, PT_REGS_SP(ctx))) {
		bump(&counts, LW_CNT_NESTED);
		return 0;
	}
	/*
	 * A free inside an object allocation is the collector's: the depth stays. One at or above
	 * the frame of the call in flight is not inside it: that call's return was never seen.
	 */
	if (ts->depth && PT_REGS_SP(ctx) >= ts->entry_sp)
		ts->depth = 0;
	ts->py.freed = addr;
	forget_alloc(tgid, proc_ident(tgid, ts), addr, NULL, true);
	return 0;
}

/*
 * Every entry point of every interpreter binary, told apart by the cookie: one uprobe_multi link
 * per binary, like libc's. Their returns are lw_alloc_ret's. 1: no return probe needed.
 */
static __always_inline int py_entry(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 fn = (cookie >> LW_PYC_FN_SHIFT) & 31;
	__u64 a0 = py_arg(ctx, cookie, 0), a1 = py_arg(ctx, cookie, 1), size, old = 0, tp = 0;
	struct thread_state *ts;

	switch (fn) {
	case LW_FN_PY_MALLOC:
		size = a0;
		break;
	case LW_FN_PY_CALLOC:
		size = a0 * a1;
		break;
	case LW_FN_PY_REALLOC:
		old = a0;
		size = a1;
		break;
	case LW_FN_PY_FREE:
		py_free(ctx, a0);
		return 1;
	case LW_FN_PY_GC_NEW:
		size = py_type_size(cookie, a0, 0);
		break;
	case LW_FN_PY_GC_NEWVAR:
		size = py_type_size(cookie, a0, a1);
		break;
	case LW_FN_PY_GENERIC_ALLOC:
		/* PyType_GenericAlloc keeps room for one more item than asked (a sentinel) */
		size = py_type_size(cookie, a0, a1 + 1);
		break;
	case LW_FN_PY_GC_RESIZE:
		/* a realloc of the object; its type is its ob_type, 8 bytes in */
		old = a0;
		if (a0)
			bpf_probe_read_user(&tp, sizeof(tp), (void *)(a0 + 8));
		size = tp ? py_type_size(cookie, tp, a1) : 0;
		break;
	default:
		return 1;
	}
	if (sample_bytes && sample_skip(ctx, fn, size, old))
		return 1;
	ts = py_enter(ctx, cookie, fn, size);
	if (ts && old)
		realloc_retire(ts, old);
	return 0;
}

SEC("uprobe")
int lw_py_entry(struct pt_regs *ctx)
{
	py_entry(ctx);
	return 0;
}

/* lw_py_entry and lw_alloc_ret as one session uprobe; see lw_alloc_session. */
SEC("uprobe")
int lw_py_session(struct pt_regs *ctx)
{
	if (bpf_session_is_return()) {
		alloc_exit(ctx, PT_REGS_RC(ctx));
		return 0;
	}
	return py_entry(ctx);
}
