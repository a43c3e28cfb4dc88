// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <string.h>

#include "prologue.h"

static int is_push(const uint8_t *p, size_t left)
{
	if (left >= 1 && p[0] >= 0x50 && p[0] <= 0x57)
		return 1;	/* push %rax..%rdi */
	if (left >= 2 && p[0] == 0x41 && p[1] >= 0x50 && p[1] <= 0x57)
		return 2;	/* push %r8..%r15 */
	return 0;
}

size_t lw_prologue_skip_null_check(const uint8_t *code, size_t len)
{
	static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	static const uint8_t test_rdi[] = { 0x48, 0x85, 0xff };
	size_t off = 0;

	if (len >= sizeof(endbr64) && !memcmp(code, endbr64, sizeof(endbr64)))
		off += sizeof(endbr64);
	if (len - off < sizeof(test_rdi) || memcmp(code + off, test_rdi, sizeof(test_rdi)))
		return 0;
	off += sizeof(test_rdi);
	if (len - off >= 2 && code[off] == 0x74)
		off += 2;	/* je rel8 */
	else if (len - off >= 6 && code[off] == 0x0f && code[off + 1] == 0x84)
		off += 6;	/* je rel32 */
	else
		return 0;
	return is_push(code + off, len - off) ? off : 0;
}
