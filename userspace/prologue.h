/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Choosing where in a function to put its uprobe. The kernel emulates a few instructions
 * (push among them) when a uprobe hits, and single-steps every other one out of line, which
 * costs ten times more here. Pure: decodes bytes handed to it.
 */
#ifndef LW_PROLOGUE_H
#define LW_PROLOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakwatch_abi.h"

/*
 * For a function whose first argument may be NULL to no effect (free): if it opens with
 * "[endbr64] test %rdi,%rdi; je/jz ..." followed by a push, the offset of that push, which
 * every non-NULL call reaches with the stack and the arguments untouched. 0 otherwise.
 */
size_t lw_prologue_skip_null_check(const uint8_t *code, size_t len);

/*
 * Does the function only jump elsewhere ([endbr64] jmp ..., a tail call such as jemalloc's
 * nothrow operator delete, "jmp free@plt")? Then its target's probe sees the call as made by
 * its caller, and a probe of its own would see it twice.
 */
bool lw_prologue_is_tail_call(const uint8_t *code, size_t len);

/* x86-64 register numbers as instructions encode them, for lw_prologue_first_emulated(). */
enum lw_x86_reg {
	LW_RAX = 0, LW_RCX, LW_RDX, LW_RBX, LW_RSP, LW_RBP, LW_RSI, LW_RDI,
	LW_R8, LW_R9, LW_R10, LW_R11, LW_R12, LW_R13, LW_R14, LW_R15,
};

/*
 * The offset of the first instruction of a function at which the kernel emulates a uprobe hit
 * (push, jmp, call, jcc), if every call reaches it through straight-line code that leaves the
 * stack pointer, the stack and the registers in keep (a mask of 1 << enum lw_x86_reg) as they
 * were at entry: a probe there sees the arguments and the return address as at the entry. 0 when
 * the code does not decode that way within len bytes (then probe the entry).
 */
size_t lw_prologue_first_emulated(const uint8_t *code, size_t len, unsigned int keep);

/* Does the instruction at code[0] decode as one the kernel emulates (push, jmp, call, jcc)? */
bool lw_prologue_is_emulated(const uint8_t *code, size_t len);

/*
 * Where to probe allocator function fn (an enum lw_func) whose first len bytes are code: the
 * offset of the first emulated instruction every call reaches with fn's argument registers, the
 * stack pointer and the stack as at entry (free: past its NULL check), or 0. A return probe may
 * sit at the same offset, since the return address is still on top of the stack there, so that
 * one trap serves both.
 */
size_t lw_prologue_probe_offset(enum lw_func fn, const uint8_t *code, size_t len);

#endif /* LW_PROLOGUE_H */
