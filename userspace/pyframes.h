/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The pure part of Python frames: CPython's line tables (the 3.8-3.9 lnotab, 3.10's line table,
 * the 3.11+ location table) decoded to the line of one instruction, the instruction a frame
 * record names, and str objects' characters as UTF-8. No I/O: the bytes come from pysym.c,
 * which reads them from the process.
 */
#ifndef LW_PYFRAMES_H
#define LW_PYFRAMES_H

#include <stddef.h>
#include <stdint.h>

/* CPython versions as major << 8 | minor. */
#define LW_PY_VERSION(major, minor) ((major) << 8 | (minor))

enum lw_py_linetable {
	LW_PY_LNOTAB,		/* 3.8, 3.9: co_lnotab, (bytecode delta, line delta) pairs */
	LW_PY_LINETABLE_310,	/* 3.10: co_linetable, (bytecode delta, line delta or -128) pairs */
	LW_PY_LOCATIONS,	/* 3.11+: co_linetable, the location table of PEP 657 */
};

/* The table format of a version; versions outside 3.8.. are given the nearest. */
enum lw_py_linetable lw_py_linetable_of(unsigned int version);

/*
 * The source line of the instruction at byte offset addr in the code object's bytecode, as
 * PyCode_Addr2Line() computes it: firstlineno for addr < 0, -1 when the table says the
 * instruction has no line or does not reach addr. Never reads past table[len - 1].
 */
int lw_py_addr2line(enum lw_py_linetable fmt, const uint8_t *table, size_t len, int firstlineno,
		    int addr);

/*
 * The bytecode offset named by a frame record's instruction field (struct lw_stack_val
 * py_instr): f_lasti in bytes (3.8, 3.9) or in code units (3.10); from 3.11 the distance of the
 * frame's instruction pointer from the code object, whose bytecode starts code_off bytes in.
 * Negative when the frame has not started.
 */
int lw_py_instr_addr(unsigned int version, uint32_t instr, uint32_t code_off);

/* What a str object's state bits say about where and how its characters are stored. */
struct lw_py_strstate {
	unsigned int kind;	/* bytes per character: 1, 2 or 4 */
	int compact;		/* characters follow the object header */
	int ascii;		/* ... right after PyASCIIObject (else after PyCompactUnicodeObject) */
};

/* The bit layout is the same in 3.8-3.13: interned:2, kind:3, compact:1, ascii:1. */
struct lw_py_strstate lw_py_str_state(uint32_t state);

/*
 * nchars characters of the given kind at data as NUL-terminated UTF-8 in out (size outlen > 0),
 * cut at a character boundary if it does not fit. Returns the bytes written, or -EINVAL for a
 * bad kind or a character no Unicode string may hold.
 */
int lw_py_str_utf8(unsigned int kind, const void *data, size_t nchars, char *out, size_t outlen);

#endif /* LW_PYFRAMES_H */
