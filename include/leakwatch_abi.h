/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one boundary between the BPF programs and user space: map keys, map values, event records
 * and the drop/counter enums. Fixed-width types only, explicit padding, no pointers. User space
 * checks every size with _Static_assert (see the end of this file), so a layout change that
 * breaks one side breaks the build, not the data.
 */
#ifndef LEAKWATCH_ABI_H
#define LEAKWATCH_ABI_H

#ifdef __bpf__
/* vmlinux.h already provides __u8 .. __u64 */
#else
#include <linux/types.h>
#endif

/* Deepest user stack kept per allocation site; the innermost frame is the allocator's caller. */
#define LW_MAX_STACK_DEPTH 32
/* Innermost Python frames kept per allocation site (a power of two: the BPF side masks). */
#define LW_MAX_PY_DEPTH 16
/* CPython interpreter binaries the daemon can describe to the BPF side at once. */
#define LW_MAX_INTERPS 64

/* Which allocator entry point a probe program serves (indexes per-function counters). */
enum lw_func {
	LW_FN_MALLOC = 0,
	LW_FN_CALLOC,
	LW_FN_REALLOC,
	LW_FN_REALLOCARRAY,
	LW_FN_POSIX_MEMALIGN,
	LW_FN_ALIGNED_ALLOC,
	LW_FN_MEMALIGN,
	LW_FN_VALLOC,
	LW_FN_PVALLOC,
	LW_FN_FREE,
	/* CPython's allocator (PyObject_Malloc family) and its object entry points */
	LW_FN_PY_MALLOC,
	LW_FN_PY_CALLOC,
	LW_FN_PY_REALLOC,
	LW_FN_PY_FREE,
	LW_FN_PY_GC_NEW,	/* _PyObject_GC_New(type) */
	LW_FN_PY_GC_NEWVAR,	/* _PyObject_GC_NewVar(type, n) */
	LW_FN_PY_GENERIC_ALLOC,	/* PyType_GenericAlloc(type, n): n + 1 items */
	LW_FN_PY_GC_RESIZE,	/* _PyObject_GC_Resize(op, n): a realloc */
	/*
	 * A function that hands out what the allocator call it makes returns: C++ operator new,
	 * strdup, an application's xmalloc. Its entry captures the stack (its caller is the site);
	 * the first allocator call inside it supplies the size and the address.
	 */
	LW_FN_WRAPPER,
	LW_FN_MAX,
};

/*
 * Which allocator an allocation site's blocks came from (struct lw_stack_val.kind). The probes
 * of an allocator library carry it in their cookie (LW_COOKIE_KIND_SHIFT); a wrapper's scope
 * takes the kind of the call it adopts.
 */
enum lw_alloc_kind {
	LW_ALLOC_LIBC = 0,
	LW_ALLOC_PYMALLOC,
	LW_ALLOC_JEMALLOC,
	LW_ALLOC_TCMALLOC,
	LW_ALLOC_MIMALLOC,
	LW_ALLOC_MMAP,		/* anonymous mmap made outside any allocator call */
	LW_ALLOC_MAX,
};

/*
 * The bytes jemalloc 5 hands out for a request of n (its size class, what malloc_usable_size
 * says): 8, multiples of 16 up to 128, then four classes per doubling. jemalloc sites count
 * these, since that is what a jemalloc program holds and what programs built on it (redis's
 * used_memory) count. Shared by the BPF side and its unit test.
 */
static inline __u64 lw_jemalloc_class(__u64 n)
{
	__u64 v, d;
	unsigned int lg = 0;

	if (n <= 8)
		return 8;
	if (n <= 128)
		return (n + 15) & ~15ULL;
	/* lg = floor(log2(n - 1)): 2^lg < n <= 2^(lg + 1) */
	v = n - 1;
	if (v >> 32) {
		v >>= 32;
		lg += 32;
	}
	if (v >> 16) {
		v >>= 16;
		lg += 16;
	}
	if (v >> 8) {
		v >>= 8;
		lg += 8;
	}
	if (v >> 4) {
		v >>= 4;
		lg += 4;
	}
	if (v >> 2) {
		v >>= 2;
		lg += 2;
	}
	if (v >> 1)
		lg += 1;
	d = 1ULL << (lg - 2);
	return (n + d - 1) & ~(d - 1);
}

/*
 * The BPF cookie of an allocator probe (lw_alloc_entry, lw_alloc_ret): bits 0..7 the enum
 * lw_func, bits 8..15 the enum lw_alloc_kind of the library it is attached to.
 */
#define LW_COOKIE_KIND_SHIFT 8

/*
 * Everything the hot path gives up on, by reason, in a per-CPU array. User space sums the CPUs
 * and exports the totals; nothing is dropped without being counted here.
 */
enum lw_drop {
	LW_DROP_ALLOC_MAP_FULL = 0,	/* live-allocation map had no room: allocation untracked */
	LW_DROP_AGG_MAP_FULL,		/* per-site aggregate map had no room */
	LW_DROP_STACK_MAP_FULL,		/* stack map had no room: site recorded without frames */
	LW_DROP_STACK_MISSING,		/* could not read the caller's return address */
	LW_DROP_FREE_UNKNOWN,		/* free/realloc of an address never seen allocated */
	LW_DROP_NO_TASK_STORAGE,	/* per-thread state unavailable (recursion or no memory) */
	LW_DROP_PROC_MAP_FULL,		/* process identity map had no room */
	LW_DROP_EVENT_LOST,		/* exit/exec event ring full: user space sweeps later */
	LW_DROP_PY_STATE,		/* Python process: its thread or frame state was unreadable */
	LW_DROP_MAX,
};

/* Event counters (not drops): also per CPU, summed by user space. */
enum lw_count {
	LW_CNT_ALLOCS = 0,		/* successful allocations recorded */
	LW_CNT_FREES,			/* frees matched to a recorded allocation */
	LW_CNT_FAILED_ALLOCS,		/* allocator returned NULL / error */
	LW_CNT_NESTED,			/* allocator calls made inside another allocator call */
	LW_CNT_PY_STACKS,		/* allocations recorded with Python frames */
	LW_CNT_PY_FRAMES_CUT,		/* ... whose Python stack was deeper than LW_MAX_PY_DEPTH */
	LW_CNT_MMAPS,			/* anonymous mappings recorded (allocator "mmap") */
	LW_CNT_MMAPS_IN_ALLOCATOR,	/* ... not recorded: an allocator call made them */
	LW_CNT_UNMAPS,			/* recorded mappings unmapped, whole or in part */
	LW_CNT_MAX,
};

/*
 * A process is (tgid, ident). ident is the boot-time ns of the process start, replaced by the
 * boot-time ns of its last exec, so PID reuse and exec both start a new identity.
 */
struct lw_proc_val {
	__u64 ident;
	__u64 start_ns;		/* task->group_leader->start_boottime, matches /proc/PID/stat */
};

/*
 * Which table of the "allocs" map a key belongs to: the allocators' blocks, anonymous mappings
 * (by start address), and the mappings' end addresses (value .size holds the start), which let
 * an munmap of a mapping's tail find it.
 */
enum lw_space {
	LW_SPACE_HEAP = 0,
	LW_SPACE_MMAP,
	LW_SPACE_MMAP_END,
};

/* Key of one live allocation. */
struct lw_alloc_key {
	__u32 tgid;
	__u32 space;		/* enum lw_space */
	__u64 addr;
};

struct lw_alloc_val {
	__u64 size;
	__u64 stack_id;
	__u64 ident;		/* owner identity: a free from a reused pid never matches */
	__u64 birth_ns;		/* bpf_ktime_get_boot_ns() at allocation */
};

/* Key of one allocation site of one process. stack_id is the key of lw_stack_val in "stacks". */
struct lw_agg_key {
	__u32 tgid;
	__u32 pad;
	__u64 ident;
	__u64 stack_id;
};

/*
 * Allocation-age evidence. User space moves LW_COHORTS boundaries in time ("cohort_ns" in the
 * BPF program's .bss, boot-time ns), in turn; a free of a block born before boundary i is
 * counted in cohort_frees[i]. Reading an aggregate when boundary i moves, and again later,
 * tells how many of the blocks live at the boundary have died since; two boundaries tell how
 * many of the blocks born between them still live: leaked blocks never die. realloc moves a
 * block without killing it: the new block keeps the old one's birth.
 */
#define LW_COHORTS 3

/* Updated with atomic adds from every CPU; live_* may transiently lag the other fields. */
struct lw_agg_val {
	__s64 live_bytes;
	__s64 live_allocs;
	__u64 allocs;
	__u64 alloc_bytes;
	__u64 frees;
	__u64 free_bytes;
	__u64 cohort_frees[LW_COHORTS];		/* frees of blocks born before cohort_ns[i] */
	__u64 cohort_free_bytes[LW_COHORTS];
};

/*
 * A site's stack: native return addresses, then the Python frames of the allocating thread when
 * the process runs CPython. A Python frame is (code object address, instruction): the
 * instruction is f_lasti for CPython <= 3.10, and for 3.11+ the frame's instruction pointer
 * minus the code object's address. User space reads names, files and line tables from the
 * process (see userspace/pysym.h). Both parts and the allocator kind make the stack's hash.
 */
struct lw_stack_val {
	__u32 nr;		/* frames used in ips[] */
	__u8 kind;		/* enum lw_alloc_kind */
	__u8 py_nr;		/* frames used in py_code[] and py_instr[], innermost first */
	__u8 interp;		/* index of the interpreter (pyinterps) the Python frames belong to */
	__u8 pad;
	__u64 ips[LW_MAX_STACK_DEPTH];
	__u64 py_code[LW_MAX_PY_DEPTH];
	__u32 py_instr[LW_MAX_PY_DEPTH];
};

/*
 * What the BPF side needs to walk one interpreter binary's Python frames, indexed by the
 * interpreter's number in the "pyinterps" array. Offsets in bytes, x86_64 builds.
 */
enum lw_py_flags {
	LW_PYO_VALID = 1 << 0,		/* filled in: the interpreter is supported */
	LW_PYO_CFRAME = 1 << 1,		/* 3.11, 3.12: tstate->cframe->current_frame */
	LW_PYO_IFRAME = 1 << 2,		/* 3.11+: _PyInterpreterFrame, instruction is a pointer */
	LW_PYO_OWNER = 1 << 3,		/* 3.12+: skip frames owned by the C stack (shims) */
};

#define LW_PY_FRAME_READ 128		/* most bytes of one frame the walk reads */
#define LW_PY_OWNED_BY_CSTACK 3

struct lw_py_offsets {
	__u32 flags;			/* enum lw_py_flags */
	__u32 tss;			/* _PyRuntime -> Py_tss_t autoTSSkey */
	__u32 tstate_frame;		/* tstate -> frame, cframe or current_frame */
	__u32 cframe_frame;		/* _PyCFrame -> current_frame (LW_PYO_CFRAME) */
	__u32 frame_code;		/* frame -> code object */
	__u32 frame_back;		/* frame -> calling frame */
	__u32 frame_instr;		/* frame -> f_lasti (int) or instruction pointer (LW_PYO_IFRAME) */
	__u32 frame_owner;		/* frame -> owner (char, LW_PYO_OWNER) */
	__u32 frame_size;		/* bytes read per frame: past the last field used */
	__u32 pad;
	__u64 preheader_flags;		/* tp_flags bits that put two pointers before an object */
};

/* Per process, once one of its threads has hit a CPython probe: how to find its frames. */
struct lw_py_proc {
	__u64 ident;			/* the process identity this holds for */
	__u64 runtime;			/* runtime address of _PyRuntime */
	__u32 interp;			/* index in pyinterps */
	__u32 pad;
};

/*
 * The BPF cookie of a CPython probe: bits 0..47 the signed distance from the probe address to
 * _PyRuntime (so that one program serves every build, static or shared, with no per-process
 * state), bits 48..55 the interpreter's index, bit 56 a flag, bits 57..61 the enum lw_func of
 * the probed function: one program serves all of an interpreter's entry points.
 */
#define LW_PYC_DELTA_BITS 48
#define LW_PYC_INTERP_SHIFT 48
#define LW_PYC_ARG2 (1ULL << 56)	/* arguments start at the 2nd register (ctx comes first) */
#define LW_PYC_FN_SHIFT 57

enum lw_event_type {
	LW_EV_EXIT = 1,		/* the whole thread group exited */
	LW_EV_EXEC = 2,		/* the process exec'd: old_ident ended, new_ident began */
	LW_EV_FORK = 3,		/* with a pid filter: tgid, a traced process's child, is traced too */
};

/*
 * Byte-based Poisson sampling (the sample_bytes knob, mean R bytes between samples). Each thread
 * counts down bytes to its next sample, drawn from an exponential distribution of mean R, so an
 * allocation of S bytes is sampled with probability p = 1 - exp(-S/R), independently of the
 * others. A sampled block stands for S/p bytes and 1/p blocks, so that sums over sites stay
 * right on average. BPF has no floating point: user space fills two tables before load.
 * - sample_exp[i]: the mean of Exp(1) over its i-th quantile bucket (of LW_SAMPLE_TABLE equal
 *   ones), scaled by 2^LW_SAMPLE_EXP_SHIFT: a draw is R * sample_exp[random] >> shift, and its
 *   mean is exactly R.
 * - sample_h[i]: h(x) = x / (e^x - 1) at x = (i + 0.5) / LW_SAMPLE_STEPS, scaled by
 *   2^LW_SAMPLE_H_SHIFT. S/p = S + R * h(S/R); past the table (S >= 16 R), S/p = S.
 */
#define LW_SAMPLE_TABLE 4096
#define LW_SAMPLE_STEPS 256		/* table entries per R of allocation size */
#define LW_SAMPLE_EXP_SHIFT 20
#define LW_SAMPLE_H_SHIFT 24
#define LW_SAMPLE_MAX_BYTES (1ULL << 32)	/* R * table value must fit 64 bits */

struct lw_event {
	__u32 type;
	__u32 tgid;
	__u64 old_ident;
	__u64 new_ident;
	__u64 ts_ns;
};

#ifndef __bpf__
_Static_assert(sizeof(struct lw_proc_val) == 16, "lw_proc_val layout");
_Static_assert(sizeof(struct lw_alloc_key) == 16, "lw_alloc_key layout");
_Static_assert(sizeof(struct lw_alloc_val) == 32, "lw_alloc_val layout");
_Static_assert(sizeof(struct lw_agg_key) == 24, "lw_agg_key layout");
_Static_assert(sizeof(struct lw_agg_val) == 48 + 16 * LW_COHORTS, "lw_agg_val layout");
_Static_assert(sizeof(struct lw_stack_val) == 8 + 8 * LW_MAX_STACK_DEPTH + 12 * LW_MAX_PY_DEPTH,
	       "lw_stack_val layout");
_Static_assert(sizeof(struct lw_py_offsets) == 48, "lw_py_offsets layout");
_Static_assert(sizeof(struct lw_py_proc) == 24, "lw_py_proc layout");
_Static_assert(LW_MAX_INTERPS <= 256, "interpreter index is 8 bits");
_Static_assert(LW_FN_MAX <= 32, "function in the cookie is 5 bits");
_Static_assert(sizeof(struct lw_event) == 32, "lw_event layout");
#endif

#endif /* LEAKWATCH_ABI_H */
