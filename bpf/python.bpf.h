/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * CPython frames for leakwatch.bpf.c, which includes this file once.
 *
 * Finds the allocating thread's Python frames and stores them in the stack record as
 * (code object address, instruction) pairs: the walk reads one frame header per frame and never
 * a string, so its cost is a few memory reads per frame. Names, files and lines are read by
 * user space from the process, once per code object.
 *
 * The thread state comes from CPython's PyGILState key (autoTSSkey), read through the thread's
 * own pthread key table: it is the calling thread's state whether or not the thread holds the
 * GIL (a C extension may call malloc with the GIL released), and it is the same route for every
 * version 3.8-3.13 (3.12 dropped the global "current thread state"). The key table sits at
 * py_tss_base in glibc's struct pthread, which user space measures at start.
 *
 * A process is known to run CPython once one of its threads hits a CPython probe: the probe's
 * cookie locates _PyRuntime and the interpreter's offsets, and "pyprocs" keeps them for its libc
 * probes, which then attach Python frames too.
 */
#ifndef LW_PYTHON_BPF_H
#define LW_PYTHON_BPF_H

/* glibc's struct pthread: offset of specific_1stblock; 0 disables Python frames. */
const volatile __u32 py_tss_base = 0;

/* Bumped whenever a process is added to "pyprocs": threads look the map up again. */
volatile __u64 py_gen;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LW_MAX_INTERPS);
	__type(key, __u32);
	__type(value, struct lw_py_offsets);
} pyinterps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct lw_py_proc);
} pyprocs SEC(".maps");

/* Per-thread Python state, part of struct thread_state. */
struct py_thread {
	__u64 runtime;		/* _PyRuntime of this thread's process; 0: not a Python process */
	__u64 ident;		/* process identity runtime was looked up for */
	__u64 gen;		/* py_gen at that lookup */
	__u64 freed;		/* block the last CPython free released (its libc free follows) */
	__u32 interp;
	__u32 pad;
	__u8 buf[LW_PY_FRAME_READ];	/* one frame header */
};

/* A CPython probe ran in this thread: remember where its runtime is, for its libc probes. */
static __always_inline void py_note(struct py_thread *pt, __u32 tgid, __u64 ident, __u64 runtime,
				    __u32 interp)
{
	struct lw_py_proc v = { .ident = ident, .runtime = runtime, .interp = interp };

	if (pt->runtime == runtime && pt->ident == ident && pt->interp == interp)
		return;
	bpf_map_update_elem(&pyprocs, &tgid, &v, BPF_ANY);
	pt->runtime = runtime;
	pt->ident = ident;
	pt->interp = interp;
	pt->gen = __sync_fetch_and_add(&py_gen, 1) + 1;
}

/* A libc probe: is this a Python process? Looked up again only when "pyprocs" changed. */
static __always_inline void py_lookup(struct py_thread *pt, __u32 tgid, __u64 ident)
{
	__u64 gen = py_gen;
	struct lw_py_proc *v;

	if (pt->gen == gen && pt->ident == ident)
		return;
	pt->gen = gen;
	pt->ident = ident;
	pt->runtime = 0;
	v = bpf_map_lookup_elem(&pyprocs, &tgid);
	if (v && v->ident == ident) {
		pt->runtime = v->runtime;
		pt->interp = v->interp;
	}
}

/* Fields of the frame header in buf; offsets come from a map, so they are bounded here. */
static __always_inline __u64 py_field64(const __u8 *buf, __u32 off)
{
	if (off > LW_PY_FRAME_READ - 8)
		return 0;
	return *(const __u64 *)(buf + off);
}

static __always_inline __u32 py_field32(const __u8 *buf, __u32 off)
{
	if (off > LW_PY_FRAME_READ - 4)
		return 0;
	return *(const __u32 *)(buf + off);
}

static __always_inline __u8 py_field8(const __u8 *buf, __u32 off)
{
	if (off > LW_PY_FRAME_READ - 1)
		return 0;
	return buf[off];
}

/* The calling thread's current Python frame, 0 when it runs no Python code. */
static __always_inline __u64 py_current_frame(const struct py_thread *pt,
					      const struct lw_py_offsets *o)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 fsbase, tstate = 0, frame = 0;
	__u32 key[2];	/* Py_tss_t: _is_initialized, _key */

	if (bpf_probe_read_user(key, sizeof(key), (void *)(pt->runtime + o->tss)))
		goto bad;
	/* not initialised yet (interpreter starting), or a key past glibc's first block */
	if (key[0] != 1 || key[1] >= 32)
		return 0;
	fsbase = BPF_CORE_READ(task, thread.fsbase);
	if (bpf_probe_read_user(&tstate, sizeof(tstate),
				(void *)(fsbase + py_tss_base + 16 * key[1] + 8)))
		goto bad;
	if (!tstate)
		return 0;	/* a thread the interpreter does not know */
	if (bpf_probe_read_user(&frame, sizeof(frame), (void *)(tstate + o->tstate_frame)))
		goto bad;
	if ((o->flags & LW_PYO_CFRAME) && frame &&
	    bpf_probe_read_user(&frame, sizeof(frame), (void *)(frame + o->cframe_frame)))
		goto bad;
	return frame;
bad:
	bump(&drops, LW_DROP_PY_STATE);
	return 0;
}

/*
 * Fill st's Python part, innermost frame first. Frames owned by the C stack (3.12+ shims at each
 * C-to-Python entry) carry no code of their own: they are stored with code 0, which user space
 * skips, so that the frame count grows by one each round and the verifier sees one path.
 */
static __always_inline void py_walk(struct py_thread *pt, struct lw_stack_val *st)
{
	const struct lw_py_offsets *o;
	__u32 idx = pt->interp, n = 0, sz;
	__u64 frame, code, instr;

	st->py_nr = 0;
	st->interp = idx;
	if (!pt->runtime || !py_tss_base)
		return;
	o = bpf_map_lookup_elem(&pyinterps, &idx);
	if (!o || !(o->flags & LW_PYO_VALID))
		return;
	frame = py_current_frame(pt, o);
	sz = o->frame_size;
	if (sz > LW_PY_FRAME_READ)
		sz = LW_PY_FRAME_READ;
	for (__u32 i = 0; i < LW_MAX_PY_DEPTH; i++) {
		if (!frame)
			break;
		if (bpf_probe_read_user(pt->buf, sz, (void *)frame)) {
			bump(&drops, LW_DROP_PY_STATE);
			break;
		}
		code = py_field64(pt->buf, o->frame_code);
		if ((o->flags & LW_PYO_OWNER) &&
		    py_field8(pt->buf, o->frame_owner) == LW_PY_OWNED_BY_CSTACK)
			code = 0;
		if (o->flags & LW_PYO_IFRAME)
			instr = py_field64(pt->buf, o->frame_instr) - code;
		else
			instr = py_field32(pt->buf, o->frame_instr);
		st->py_code[i] = code;
		st->py_instr[i] = (__u32)instr;
		n = i + 1;
		frame = py_field64(pt->buf, o->frame_back);
	}
	st->py_nr = n;
	if (frame && n == LW_MAX_PY_DEPTH)
		bump(&counts, LW_CNT_PY_FRAMES_CUT);
	if (n)
		bump(&counts, LW_CNT_PY_STACKS);
}

static __always_inline __u64 py_hash(const struct lw_stack_val *st, __u64 h)
{
	for (__u32 i = 0; i < LW_MAX_PY_DEPTH; i++) {
		if (i >= st->py_nr)
			break;
		h ^= st->py_code[i];
		h *= 0x100000001b3ULL;
#ifdef LW_KEY_LASTI
		h ^= st->py_instr[i];
		h *= 0x100000001b3ULL;
#endif
		h ^= h >> 29;
	}
	h ^= (__u64)st->kind << 56;
	return h;
}

/*
 * Bytes an object of type tp with nitems items takes in pymalloc: the type's basic and item
 * sizes (at 32 and 40 in PyTypeObject, the same in 3.8-3.13), rounded as _PyObject_VAR_SIZE does,
 * plus the GC header of GC types (tp_flags, at 168, bit 14) and the managed dict/weakref
 * pre-header (3.11+). 0 when the type is unreadable.
 */
static __always_inline __u64 py_object_size(__u64 tp, __u64 nitems, const struct lw_py_offsets *o)
{
	__u64 sizes[2], flags, size;

	if (bpf_probe_read_user(sizes, sizeof(sizes), (void *)(tp + 32)) ||
	    bpf_probe_read_user(&flags, sizeof(flags), (void *)(tp + 168)))
		return 0;
	size = (sizes[0] + nitems * sizes[1] + 7) & ~7ULL;
	if (flags & (1ULL << 14))
		size += 16;
	if (o && (flags & o->preheader_flags))
		size += 16;
	return size;
}

#endif /* LW_PYTHON_BPF_H */
