// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "elfsym.h"
#include "log.h"
#include "prologue.h"
#include "pyframes.h"
#include "pyinterp.h"
#include "tracer.h"

/* Bytes of a function's start decoded to choose its probe point. */
#define PROLOGUE_BYTES 64
/* A PyObject_Malloc this short only dispatches through the allocator's function pointer. */
#define THIN_WRAPPER_MAX 64

struct interp {
	struct lw_interp_status st;
	int idx;			/* in pyinterps, -1 when not traced */
	struct lw_py_layout layout;
};

struct lw_pyinterp {
	struct lw_tracer *tracer;
	struct interp *v;
	size_t n, cap;
	unsigned int next_idx;
};

/*
 * Release builds, x86_64, checked with offsetof() against each version's internal headers
 * (pyenv 3.8.18-3.13.0, Debian 3.11.2). The layouts change between minor versions, not within.
 */
static const struct {
	unsigned int minor;
	struct lw_py_offsets o;
	struct lw_py_layout l;
} tables[] = {
	{ 8, { .flags = 0, .tss = 1392, .tstate_frame = 24, .frame_code = 32, .frame_back = 24,
	       .frame_instr = 104, .frame_size = 112 },
	  { .co_filename = 104, .co_name = 112, .co_firstlineno = 40, .co_linetable = 120,
	    .str_ascii_size = 48, .str_compact_size = 72 } },
	{ 9, { .flags = 0, .tss = 584, .tstate_frame = 24, .frame_code = 32, .frame_back = 24,
	       .frame_instr = 104, .frame_size = 112 },
	  { .co_filename = 104, .co_name = 112, .co_firstlineno = 40, .co_linetable = 120,
	    .str_ascii_size = 48, .str_compact_size = 72 } },
	{ 10, { .flags = 0, .tss = 584, .tstate_frame = 24, .frame_code = 32, .frame_back = 24,
		.frame_instr = 96, .frame_size = 104 },
	  { .co_filename = 104, .co_name = 112, .co_firstlineno = 40, .co_linetable = 120,
	    .str_ascii_size = 48, .str_compact_size = 72 } },
	{ 11, { .flags = LW_PYO_CFRAME | LW_PYO_IFRAME, .tss = 592, .tstate_frame = 56,
		.cframe_frame = 8, .frame_code = 32, .frame_back = 48, .frame_instr = 56,
		.frame_owner = 69, .frame_size = 72, .preheader_flags = 1 << 4 },
	  { .co_filename = 112, .co_name = 128, .co_firstlineno = 72, .co_linetable = 136,
	    .co_code = 184, .str_ascii_size = 48, .str_compact_size = 72 } },
	{ 12, { .flags = LW_PYO_CFRAME | LW_PYO_IFRAME | LW_PYO_OWNER, .tss = 1544,
		.tstate_frame = 56, .cframe_frame = 0, .frame_code = 0, .frame_back = 8,
		.frame_instr = 56, .frame_owner = 70, .frame_size = 72,
		.preheader_flags = 1 << 3 | 1 << 4 },
	  { .co_filename = 112, .co_name = 128, .co_firstlineno = 68, .co_linetable = 136,
	    .co_code = 192, .str_ascii_size = 40, .str_compact_size = 56 } },
	{ 13, { .flags = LW_PYO_IFRAME | LW_PYO_OWNER, .tss = 2160, .tstate_frame = 72,
		.frame_code = 0, .frame_back = 8, .frame_instr = 56, .frame_owner = 70,
		.frame_size = 72, .preheader_flags = 1 << 3 | 1 << 4 },
	  { .co_filename = 112, .co_name = 128, .co_firstlineno = 68, .co_linetable = 136,
	    .co_code = 200, .str_ascii_size = 40, .str_compact_size = 56 } },
};

int lw_py_version_offsets(unsigned int version, struct lw_py_offsets *o, struct lw_py_layout *l)
{
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (LW_PY_VERSION(3, tables[i].minor) != version)
			continue;
		*o = tables[i].o;
		o->flags |= LW_PYO_VALID;
		*l = tables[i].l;
		l->version = version;
		return 0;
	}
	return -ENOTSUP;
}

static uint64_t u64_at(const uint8_t *buf, size_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/*
 * 3.13's _Py_DebugOffsets, at the start of _PyRuntime: a cookie, the version, then sections of
 * 64-bit offsets. Byte positions of the fields used, in the 3.13 layout (3.14 adds fields).
 */
enum {
	DO_VERSION = 8, DO_FREE_THREADED = 16,
	DO_TS_CURRENT_FRAME = 184,
	DO_IF_PREVIOUS = 232, DO_IF_EXECUTABLE = 240, DO_IF_INSTR_PTR = 248, DO_IF_OWNER = 264,
	DO_CO_FILENAME = 280, DO_CO_QUALNAME = 296, DO_CO_LINETABLE = 304,
	DO_CO_FIRSTLINENO = 312, DO_CO_CODE_ADAPTIVE = 344,
	DO_UNICODE_ASCII_SIZE = 560,
	DO_SIZE = 584,
};

int lw_py_debug_offsets(const uint8_t *buf, size_t len, uint64_t *hexversion,
			struct lw_py_offsets *o, struct lw_py_layout *l)
{
	uint64_t ver, f[6];

	if (len < DO_SIZE || memcmp(buf, "xdebugpy", 8))
		return -EINVAL;
	ver = u64_at(buf, DO_VERSION);
	*hexversion = ver;
	if ((ver >> 16) != 0x030d || u64_at(buf, DO_FREE_THREADED))
		return -ENOTSUP;
	if (lw_py_version_offsets(LW_PY_VERSION(3, 13), o, l))
		return -ENOTSUP;
	f[0] = u64_at(buf, DO_TS_CURRENT_FRAME);
	f[1] = u64_at(buf, DO_IF_PREVIOUS);
	f[2] = u64_at(buf, DO_IF_EXECUTABLE);
	f[3] = u64_at(buf, DO_IF_INSTR_PTR);
	f[4] = u64_at(buf, DO_IF_OWNER);
	/* what the BPF walk reads of a frame must fit its buffer */
	f[5] = f[1] > f[2] ? f[1] : f[2];
	f[5] = f[5] > f[3] ? f[5] : f[3];
	if (f[0] > 4096 || f[5] + 8 > LW_PY_FRAME_READ || f[4] >= LW_PY_FRAME_READ)
		return -EINVAL;
	o->tstate_frame = f[0];
	o->frame_back = f[1];
	o->frame_code = f[2];
	o->frame_instr = f[3];
	o->frame_owner = f[4];
	o->frame_size = (f[5] > f[4] ? f[5] + 8 : f[4] + 1);
	o->frame_size = (o->frame_size + 7) & ~7u;
	l->co_filename = u64_at(buf, DO_CO_FILENAME);
	l->co_name = u64_at(buf, DO_CO_QUALNAME);
	l->co_linetable = u64_at(buf, DO_CO_LINETABLE);
	l->co_firstlineno = u64_at(buf, DO_CO_FIRSTLINENO);
	l->co_code = u64_at(buf, DO_CO_CODE_ADAPTIVE);
	l->str_ascii_size = u64_at(buf, DO_UNICODE_ASCII_SIZE);
	return 0;
}

unsigned int lw_py_version_from_name(const char *path)
{
	const char *base = strrchr(path, '/'), *p;
	unsigned int minor = 0;

	base = base ? base + 1 : path;
	p = strstr(base, "python3.");
	if (!p || (p != base && strncmp(base, "lib", 3)))
		return 0;
	p += strlen("python3.");
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9' && minor < 100)
		minor = minor * 10 + (*p++ - '0');
	return LW_PY_VERSION(3, minor);
}

bool lw_pyinterp__candidate(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !fnmatch("python[0-9]*", base, 0) || !fnmatch("libpython[0-9]*.so*", base, 0);
}

int lw_py_tss_base(uint32_t *out)
{
#if defined(__x86_64__)
	/* pthread_self() is the thread's TCB, which %fs points at: where the BPF side starts */
	const uint8_t *self = (const uint8_t *)pthread_self();
	void *const marks[2] = { (void *)0x1eac0a7c4e11ULL, (void *)0x2eac0a7c4e12ULL };
	pthread_key_t key;
	int err = -ENOENT;

	if (pthread_key_create(&key, NULL))
		return -EAGAIN;
	if (key >= 32 || pthread_setspecific(key, marks[0]))
		goto out;
	/* struct pthread is about 2.3 KiB in glibc 2.3x; look for the value, then move it */
	for (size_t off = 8 + 16 * key; off < 4096; off += 8) {
		if (memcmp(self + off, &marks[0], sizeof(void *)))
			continue;
		if (pthread_setspecific(key, marks[1]) || memcmp(self + off, &marks[1], sizeof(void *)))
			break;
		*out = (uint32_t)(off - 8 - 16 * key);
		err = 0;
		break;
	}
out:
	pthread_key_delete(key);
	return err;
#else
	*out = 0;
	return -ENOTSUP;
#endif
}

struct lw_pyinterp *lw_pyinterp__new(struct lw_tracer *t)
{
	struct lw_pyinterp *pi = calloc(1, sizeof(*pi));

	if (pi)
		pi->tracer = t;
	return pi;
}

void lw_pyinterp__free(struct lw_pyinterp *pi)
{
	if (!pi)
		return;
	for (size_t i = 0; i < pi->n; i++)
		free(pi->v[i].st.path);
	free(pi->v);
	free(pi);
}

bool lw_pyinterp__seen(const struct lw_pyinterp *pi, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < pi->n; i++)
		if (pi->v[i].st.dev == dev && pi->v[i].st.ino == ino)
			return true;
	return false;
}

/* What one examined file is, before anything is attached. */
struct probe_plan {
	struct lw_py_probe probes[16];
	size_t n;
	unsigned int missing;
	uint64_t runtime;		/* vaddr of _PyRuntime */
};

/* Add a probe on name, at the first emulated instruction that leaves the argument registers. */
static void plan_probe(struct lw_elf *elf, struct probe_plan *pp, const char *name,
		       enum lw_func fn, unsigned int keep, bool ret, uint64_t flags,
		       unsigned int idx)
{
	struct lw_elf_sym sym;
	uint8_t code[PROLOGUE_BYTES];
	uint64_t skip = 0;
	struct lw_py_probe *p;

	if (lw_elf__find_func(elf, name, &sym)) {
		pp->missing++;
		return;
	}
	if (!lw_elf__read(elf, sym.file_offset, code, sizeof(code)))
		skip = lw_prologue_first_emulated(code, sym.size && sym.size < sizeof(code) ?
						  sym.size : sizeof(code), keep);
	p = &pp->probes[pp->n++];
	p->fn = fn;
	p->name = name;
	p->offset = sym.file_offset + skip;
	p->ret = ret;
	/* _PyRuntime relative to the probe point, which is where the uprobe's ip will be */
	p->cookie = ((pp->runtime - (sym.vaddr + skip)) & ((1ULL << LW_PYC_DELTA_BITS) - 1)) |
		    (uint64_t)idx << LW_PYC_INTERP_SHIFT | flags;
}

#define R(r) (1u << LW_##r)

/* The allocator behind PyObject_Malloc and PyMem_Malloc: (ctx, ...) */
static void plan_allocator(struct lw_elf *elf, struct probe_plan *pp, unsigned int idx)
{
	plan_probe(elf, pp, "_PyObject_Malloc", LW_FN_PY_MALLOC, R(RSI), true, LW_PYC_ARG2, idx);
	plan_probe(elf, pp, "_PyObject_Calloc", LW_FN_PY_CALLOC, R(RSI) | R(RDX), true,
		   LW_PYC_ARG2, idx);
	plan_probe(elf, pp, "_PyObject_Realloc", LW_FN_PY_REALLOC, R(RSI) | R(RDX), true,
		   LW_PYC_ARG2, idx);
	plan_probe(elf, pp, "_PyObject_Free", LW_FN_PY_FREE, R(RSI), false, LW_PYC_ARG2, idx);
}

static void plan_exported(struct lw_elf *elf, struct probe_plan *pp, unsigned int idx)
{
	static const char *const fam[][4] = {
		{ "PyObject_Malloc", "PyObject_Calloc", "PyObject_Realloc", "PyObject_Free" },
		{ "PyMem_Malloc", "PyMem_Calloc", "PyMem_Realloc", "PyMem_Free" },
	};

	for (size_t k = 0; k < 2; k++) {
		plan_probe(elf, pp, fam[k][0], LW_FN_PY_MALLOC, R(RDI), true, 0, idx);
		plan_probe(elf, pp, fam[k][1], LW_FN_PY_CALLOC, R(RDI) | R(RSI), true, 0, idx);
		plan_probe(elf, pp, fam[k][2], LW_FN_PY_REALLOC, R(RDI) | R(RSI), true, 0, idx);
		plan_probe(elf, pp, fam[k][3], LW_FN_PY_FREE, R(RDI), false, 0, idx);
	}
}

static void plan_entry_points(struct lw_elf *elf, struct probe_plan *pp, unsigned int idx)
{
	plan_exported(elf, pp, idx);
	plan_probe(elf, pp, "_PyObject_GC_New", LW_FN_PY_GC_NEW, R(RDI), true, 0, idx);
	plan_probe(elf, pp, "_PyObject_GC_NewVar", LW_FN_PY_GC_NEWVAR, R(RDI) | R(RSI), true, 0,
		   idx);
	plan_probe(elf, pp, "PyType_GenericAlloc", LW_FN_PY_GENERIC_ALLOC, R(RDI) | R(RSI), true,
		   0, idx);
	plan_probe(elf, pp, "_PyObject_GC_Resize", LW_FN_PY_GC_RESIZE, R(RDI) | R(RSI), true, 0,
		   idx);
	plan_probe(elf, pp, "PyObject_GC_Del", LW_FN_PY_FREE, R(RDI), false, 0, idx);
}

static struct interp *add_interp(struct lw_pyinterp *pi, const char *shown, uint64_t dev,
				 uint64_t ino)
{
	struct interp *in;

	if (pi->n == pi->cap) {
		size_t cap = pi->cap ? pi->cap * 2 : 8;
		struct interp *v = realloc(pi->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		pi->v = v;
		pi->cap = cap;
	}
	in = &pi->v[pi->n];
	memset(in, 0, sizeof(*in));
	in->st.path = strdup(shown);
	if (!in->st.path)
		return NULL;
	in->st.dev = dev;
	in->st.ino = ino;
	in->idx = -1;
	pi->n++;
	return in;
}

static void set_version(struct interp *in, uint64_t hex, unsigned int version)
{
	if (hex)
		snprintf(in->st.version, sizeof(in->st.version), "%u.%u.%u",
			 (unsigned int)(hex >> 24 & 0xff), (unsigned int)(hex >> 16 & 0xff),
			 (unsigned int)(hex >> 8 & 0xff));
	else if (version)
		snprintf(in->st.version, sizeof(in->st.version), "%u.%u", version >> 8,
			 version & 0xff);
	else
		snprintf(in->st.version, sizeof(in->st.version), "unknown");
}

/*
 * The version: 3.13+ carries its debug offsets (and so its version) at the start of _PyRuntime,
 * 3.11+ exports Py_Version, and before that only the file name tells.
 */
static unsigned int read_version(struct lw_elf *elf, const char *path, const struct lw_elf_sym *rt,
				 uint64_t *hex, uint8_t *dbg, size_t dbglen, bool *have_dbg)
{
	struct lw_elf_sym sym;
	uint64_t v = 0;

	*hex = 0;
	*have_dbg = rt->file_offset != LW_ELF_NO_OFFSET &&
		    !lw_elf__read(elf, rt->file_offset, dbg, dbglen) && !memcmp(dbg, "xdebugpy", 8);
	if (*have_dbg)
		memcpy(&v, dbg + DO_VERSION, sizeof(v));
	else if (!lw_elf__find_object(elf, "Py_Version", &sym) &&
		 sym.file_offset != LW_ELF_NO_OFFSET && sym.size >= 4)
		lw_elf__read(elf, sym.file_offset, &v, sym.size >= 8 ? 8 : 4);
	if (v >> 24 == 3) {
		*hex = v;
		return LW_PY_VERSION(3, (unsigned int)(v >> 16 & 0xff));
	}
	return lw_py_version_from_name(path);
}

int lw_pyinterp__examine(struct lw_pyinterp *pi, const char *path, const char *shown,
			 uint64_t dev, uint64_t ino)
{
	struct lw_elf_sym rt, wrapper, sym;
	struct lw_py_offsets o = { 0 };
	struct lw_py_layout l = { 0 };
	struct probe_plan pp = { 0 };
	uint8_t dbg[DO_SIZE];
	bool have_dbg;
	struct interp *in;
	unsigned int version;
	uint64_t hex;
	struct lw_elf *elf;
	int err = 0;

	if (lw_pyinterp__seen(pi, dev, ino))
		return 0;
	elf = lw_elf__open(path);
	if (!elf)
		return 0;	/* not an ELF file we can read: not ours to report */
	/* every CPython has Py_Initialize; only one we can trace also has _PyRuntime */
	if (lw_elf__find_func(elf, "Py_Initialize", &sym) ||
	    lw_elf__find_func(elf, "PyObject_Malloc", &wrapper)) {
		lw_elf__free(elf);
		return 0;
	}
	in = add_interp(pi, shown, dev, ino);
	if (!in) {
		lw_elf__free(elf);
		return -ENOMEM;
	}
	if (lw_elf__find_object(elf, "_PyRuntime", &rt)) {
		version = lw_py_version_from_name(path);
		set_version(in, 0, version);
		in->st.reason = "no _PyRuntime symbol (CPython older than 3.7, or a stripped build)";
		goto unsupported;
	}
	version = read_version(elf, path, &rt, &hex, dbg, sizeof(dbg), &have_dbg);
	set_version(in, hex, version);
	if (!version) {
		in->st.reason = "version unknown";
		goto unsupported;
	}
	if (version < LW_PY_VERSION(3, 8) || version > LW_PY_VERSION(3, 13)) {
		in->st.reason = "version not supported (3.8-3.13 are)";
		goto unsupported;
	}
	/* debug builds change the object header and the structures after it */
	if (!lw_elf__find_object(elf, "_Py_RefTotal", &sym) ||
	    !lw_elf__find_func(elf, "_Py_GetGlobalRefTotal", &sym)) {
		in->st.reason = "debug build (Py_DEBUG layouts are not supported)";
		goto unsupported;
	}
	if (have_dbg) {
		err = lw_py_debug_offsets(dbg, sizeof(dbg), &hex, &o, &l);
		if (err) {
			in->st.reason = err == -ENOTSUP ? "free-threaded or unknown debug offsets"
							: "corrupt _Py_DebugOffsets";
			goto unsupported;
		}
	} else if (lw_py_version_offsets(version, &o, &l)) {
		in->st.reason = "version not supported (3.8-3.13 are)";
		goto unsupported;
	}
	if (pi->next_idx >= LW_MAX_INTERPS) {
		in->st.reason = "too many interpreter builds on this machine";
		goto unsupported;
	}

	pp.runtime = rt.vaddr;
	if (wrapper.size && wrapper.size < THIN_WRAPPER_MAX &&
	    !lw_elf__find_func(elf, "_PyObject_Malloc", &sym)) {
		in->st.strategy = "allocator";
		plan_allocator(elf, &pp, pi->next_idx);
	} else if (wrapper.size && wrapper.size < THIN_WRAPPER_MAX) {
		in->st.strategy = "exported-allocator";
		plan_exported(elf, &pp, pi->next_idx);
	} else {
		in->st.strategy = "entry-points";
		plan_entry_points(elf, &pp, pi->next_idx);
	}
	lw_elf__free(elf);
	elf = NULL;
	in->st.nmissing = pp.missing;
	in->layout = l;
	in->st.supported = true;

	err = lw_tracer__set_pyinterp(pi->tracer, pi->next_idx, &o);
	if (!err)
		err = lw_tracer__attach_python(pi->tracer, path, pp.probes, pp.n);
	if (err < 0) {
		lw_warn("failed to attach to Python %s at %s: %s", in->st.version, shown,
			strerror(-err));
		in->st.strategy = NULL;
		in->st.supported = false;
		in->st.reason = "failed to attach its probes";
		return err;
	}
	in->idx = (int)pi->next_idx++;
	in->st.nprobes = err;
	lw_info("tracing Python %s %s (dev %lu:%lu ino %lu): %s, %d probes", in->st.version, shown,
		(unsigned long)major(dev), (unsigned long)minor(dev), (unsigned long)ino,
		in->st.strategy, err);
	return 1;
unsupported:
	lw_elf__free(elf);
	lw_warn("not tracing Python %s at %s: %s", in->st.version, shown, in->st.reason);
	return 0;
}

const struct lw_py_layout *lw_pyinterp__layout(const struct lw_pyinterp *pi, unsigned int idx,
					       const char **path)
{
	for (size_t i = 0; i < pi->n; i++) {
		if (pi->v[i].idx != (int)idx)
			continue;
		if (path)
			*path = pi->v[i].st.path;
		return &pi->v[i].layout;
	}
	return NULL;
}

size_t lw_pyinterp__count(const struct lw_pyinterp *pi)
{
	return pi->n;
}

const struct lw_interp_status *lw_pyinterp__status(const struct lw_pyinterp *pi, size_t i)
{
	return i < pi->n ? &pi->v[i].st : NULL;
}
