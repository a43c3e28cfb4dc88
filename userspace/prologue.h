/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Choosing where in a function to put its uprobe. The kernel emulates a few instructions
 * (push among them) when a uprobe hits, and single-steps every other one out of line, which
 * costs ten times more here. Pure: decodes bytes handed to it.
 */
#ifndef LW_PROLOGUE_H
#define LW_PROLOGUE_H

#include <stddef.h>
#include <stdint.h>

/*
 * For a function whose first argument may be NULL to no effect (free): if it opens with
 * "[endbr64] test %rdi,%rdi; je/jz ..." followed by a push, the offset of that push, which
 * every non-NULL call reaches with the stack and the arguments untouched. 0 otherwise.
 */
size_t lw_prologue_skip_null_check(const uint8_t *code, size_t len);

#endif /* LW_PROLOGUE_H */
