/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * CPython interpreters: recognise an interpreter binary (a python executable that carries the
 * interpreter, or a libpython), read its version, choose how its allocations can be seen,
 * describe its structures to the BPF side and attach its probes, once per file (device, inode).
 * Interpreters it cannot trace are kept too, with the reason, for status.
 *
 * How allocations are seen ("strategy"):
 * - allocator: the functions behind PyObject_Malloc and PyMem_Malloc (_PyObject_Malloc and co.,
 *   from .symtab). Builds without LTO reach them through a function pointer, so every pymalloc
 *   allocation is a call there. Their prologues let probes sit on an emulated instruction.
 * - exported-allocator: the same build without .symtab: the exported PyObject_* and PyMem_*
 *   wrappers, which are real calls too but begin with a single-stepped instruction.
 * - entry-points: LTO builds inline pymalloc into its callers (Debian's python3 does), so the
 *   probes go where calls remain: the object constructors called through type slots or from
 *   many places (_PyObject_GC_New, _PyObject_GC_NewVar, PyType_GenericAlloc,
 *   _PyObject_GC_Resize, PyObject_GC_Del) and the exported allocator. Containers and instances
 *   are seen; small str, int, float and bytes objects are not, except through libc above 512
 *   bytes. See the README for the coverage measured.
 */
#ifndef LW_PYINTERP_H
#define LW_PYINTERP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch_abi.h"
#include "snapshot.h"

struct lw_tracer;
struct lw_pyinterp;

/* Where user space finds what it reads of a code object and of str objects. */
struct lw_py_layout {
	unsigned int version;		/* LW_PY_VERSION(major, minor) */
	uint32_t co_filename;
	uint32_t co_name;		/* co_qualname from 3.11 */
	uint32_t co_firstlineno;	/* int */
	uint32_t co_linetable;		/* co_lnotab before 3.10; a bytes object */
	uint32_t co_code;		/* 3.11+: where the bytecode starts in the code object */
	uint32_t str_ascii_size;	/* sizeof(PyASCIIObject) */
	uint32_t str_compact_size;	/* sizeof(PyCompactUnicodeObject) */
};

struct lw_pyinterp *lw_pyinterp__new(struct lw_tracer *t);
void lw_pyinterp__free(struct lw_pyinterp *pi);

/*
 * Worth examining, by its base name: python3.N or libpython3.N*.so*. A process's executable is
 * worth examining whatever its name (an application that embeds the interpreter statically).
 */
bool lw_pyinterp__candidate(const char *path);
/* Examined already (traced or not). */
bool lw_pyinterp__seen(const struct lw_pyinterp *pi, uint64_t dev, uint64_t ino);
/*
 * Examine the file (dev, ino), reachable at path and shown as shown: if it is a CPython
 * interpreter, record it and, when supported, attach its probes. Returns 1 when probes were
 * attached, 0 when there was nothing to do, -errno when attaching failed (logged).
 */
int lw_pyinterp__examine(struct lw_pyinterp *pi, const char *path, const char *shown,
			 uint64_t dev, uint64_t ino);
/* Interpreter idx (struct lw_stack_val.interp): its layout and path; NULL if unknown. */
const struct lw_py_layout *lw_pyinterp__layout(const struct lw_pyinterp *pi, unsigned int idx,
					       const char **path);
/* Every interpreter found, for status: how many, and the i-th (owned by pi; copy it). */
size_t lw_pyinterp__count(const struct lw_pyinterp *pi);
const struct lw_interp_status *lw_pyinterp__status(const struct lw_pyinterp *pi, size_t i);

/*
 * Offset in glibc's struct pthread of the first block of pthread keys, measured on this
 * process's own glibc (x86_64). -ENOTSUP elsewhere, -ENOENT if not found.
 */
int lw_py_tss_base(uint32_t *out);

/*
 * Pure, for tests: the per-version tables. Fills the BPF offsets and the user-space layout of a
 * release build of version (LW_PY_VERSION); -ENOTSUP outside 3.8-3.13.
 */
int lw_py_version_offsets(unsigned int version, struct lw_py_offsets *o, struct lw_py_layout *l);
/*
 * Pure: override what a 3.13 _Py_DebugOffsets block (the first len bytes of _PyRuntime) says.
 * 0, -EINVAL when it is not one, -ENOTSUP for another layout (other versions, free-threaded).
 */
int lw_py_debug_offsets(const uint8_t *buf, size_t len, uint64_t *hexversion,
			struct lw_py_offsets *o, struct lw_py_layout *l);
/* Pure: "3.N" from a file name such as python3.10 or libpython3.9.so.1.0; 0 when none. */
unsigned int lw_py_version_from_name(const char *path);

#endif /* LW_PYINTERP_H */
