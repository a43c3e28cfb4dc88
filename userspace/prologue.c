// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdbool.h>
#include <string.h>

#include "leakwatch_abi.h"
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

bool lw_prologue_is_tail_call(const uint8_t *code, size_t len)
{
	static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	size_t off = 0;

	if (len >= sizeof(endbr64) && !memcmp(code, endbr64, sizeof(endbr64)))
		off += sizeof(endbr64);
	if (len - off >= 5 && code[off] == 0xe9)
		return true;	/* jmp rel32 */
	if (len - off >= 2 && code[off] == 0xeb)
		return true;	/* jmp rel8 */
	/* jmp *disp32(%rip): a PLT-less call through the GOT */
	return len - off >= 6 && code[off] == 0xff && code[off + 1] == 0x25;
}

/* What one decoded instruction does, as far as choosing a probe point needs to know. */
struct insn {
	size_t len;
	bool emulated;		/* the kernel emulates it: a cheap place for a probe */
	int dest;		/* register it writes, -1 none */
	bool writes_stack;	/* writes memory through rsp or rbp, or moves rsp */
};

/* Length of a ModRM operand (ModRM byte, SIB, displacement) at p; 0 if it runs past end. */
static size_t modrm_len(const uint8_t *p, size_t left, int rex, int *rm_reg, bool *rm_mem,
			int *base)
{
	size_t n = 1;
	unsigned int mod, rm;

	if (left < 1)
		return 0;
	mod = p[0] >> 6;
	rm = p[0] & 7;
	*rm_reg = (int)(rm | (rex & 1) << 3);
	*rm_mem = mod != 3;
	*base = *rm_reg;
	if (mod == 3)
		return 1;
	if (rm == 4) {		/* SIB */
		if (left < 2)
			return 0;
		*base = (int)((p[1] & 7) | (rex & 1) << 3);
		n++;
		if (mod == 0 && (p[1] & 7) == 5)
			n += 4;	/* no base, disp32 */
	} else if (mod == 0 && rm == 5) {
		*base = -1;	/* RIP-relative */
		n += 4;
	}
	if (mod == 1)
		n += 1;
	else if (mod == 2)
		n += 4;
	return n <= left ? n : 0;
}

/*
 * Decode the instruction at p, for the forms compilers put in front of a function's first push:
 * moves, loads, lea, ALU operations and tests between registers, immediates, shifts. false for
 * anything else.
 */
static bool decode(const uint8_t *p, size_t left, struct insn *in)
{
	size_t i = 0, m;
	int rex = 0, rm_reg, base, reg;
	bool rm_mem, opsize16 = false, rm_dest = false, reg_dest = false;
	size_t imm = 0;
	uint8_t op;

	memset(in, 0, sizeof(*in));
	in->dest = -1;
	if (left >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa) {
		in->len = 4;	/* endbr64 */
		return true;
	}
	/* fs/gs segment (thread-local data: not the stack), then operand size, in either order */
	for (int k = 0; k < 2 && i < left; k++) {
		if (p[i] == 0x64 || p[i] == 0x65)
			i++;
		else if (p[i] == 0x66)
			opsize16 = true, i++;
	}
	if (i < left && (p[i] & 0xf0) == 0x40)
		rex = p[i++];
	if (i >= left)
		return false;
	op = p[i++];
	if ((op >= 0x50 && op <= 0x57) || (op >= 0x70 && op <= 0x7f) || op == 0xe8 || op == 0xe9 ||
	    op == 0xeb) {
		in->emulated = true;	/* push, jcc rel8, call, jmp */
		in->len = i;
		return true;
	}
	if (op == 0x90) {
		in->len = i;
		return true;
	}
	/* ALU operations on rax with an immediate: add, or, and, sub, xor, then cmp, test */
	if (op < 0x40 && ((op & 7) == 4 || (op & 7) == 5) && op != 0x14 && op != 0x15 &&
	    op != 0x1c && op != 0x1d) {
		in->dest = (op & 0xf8) == 0x38 ? -1 : LW_RAX;
		in->len = i + ((op & 1) ? (opsize16 ? 2 : 4) : 1);
		return in->len <= left;
	}
	if (op == 0xa8 || op == 0xa9) {
		in->len = i + (op == 0xa8 ? 1 : opsize16 ? 2 : 4);
		return in->len <= left;
	}
	if (op >= 0xb8 && op <= 0xbf) {	/* mov $imm, reg */
		in->dest = (op & 7) | (rex & 1) << 3;
		in->len = i + ((rex & 8) ? 8 : opsize16 ? 2 : 4);
		return in->len <= left;
	}
	if (op == 0x0f) {
		if (i >= left)
			return false;
		op = p[i++];
		if (op >= 0x80 && op <= 0x8f) {	/* jcc rel32 */
			in->emulated = true;
			in->len = i;
			return true;
		}
		/* multi-byte nop; imul, movzx, movsx to a register */
		if (op != 0x1f && op != 0xaf && op != 0xb6 && op != 0xb7 && op != 0xbe && op != 0xbf)
			return false;
		reg_dest = op != 0x1f;
	} else {
		switch (op) {
		case 0x01: case 0x09: case 0x21: case 0x29: case 0x31: case 0x89:
			rm_dest = true;		/* add, or, and, sub, xor, mov to r/m */
			break;
		case 0x03: case 0x0b: case 0x23: case 0x2b: case 0x33: case 0x8b: case 0x8d:
		case 0x63:
			reg_dest = true;	/* the same to a register; lea; movsxd */
			break;
		case 0x84: case 0x85: case 0x38: case 0x39: case 0x3a: case 0x3b:
			break;			/* test, cmp */
		case 0x80: case 0x83: case 0xc1:
			imm = 1;
			break;
		case 0x81: case 0xc7:
			imm = opsize16 ? 2 : 4;
			break;
		case 0xd1:
			break;
		case 0xf7:
			imm = opsize16 ? 2 : 4;	/* test $imm only, checked below */
			break;
		default:
			return false;
		}
	}
	m = modrm_len(p + i, left - i, rex, &rm_reg, &rm_mem, &base);
	if (!m)
		return false;
	reg = (p[i] >> 3 & 7) | (rex & 4) << 1;
	switch (op) {
	case 0x80: case 0x83: case 0x81:
		rm_dest = (p[i] >> 3 & 7) != 7;	/* /7 is cmp */
		break;
	case 0xc1: case 0xd1:
		rm_dest = true;			/* shifts and rotates */
		break;
	case 0xc7:
		if (p[i] >> 3 & 7)
			return false;
		rm_dest = true;
		break;
	case 0xf7:
		if (p[i] >> 3 & 7)
			return false;		/* mul, div and co. write rdx:rax */
		break;
	}
	in->len = i + m + imm;
	if (in->len > left)
		return false;
	if (reg_dest)
		in->dest = reg;
	if (rm_dest) {
		if (rm_mem)
			in->writes_stack = base == LW_RSP || base == LW_RBP;
		else
			in->dest = rm_reg;
	}
	if (in->dest == LW_RSP)
		in->writes_stack = true;
	return true;
}

size_t lw_prologue_first_emulated(const uint8_t *code, size_t len, unsigned int keep)
{
	size_t off = 0;
	struct insn in;

	while (off < len && decode(code + off, len - off, &in)) {
		if (in.emulated)
			return off;
		if (in.writes_stack || (in.dest >= 0 && (keep & 1u << in.dest)))
			return 0;
		off += in.len;
	}
	return 0;
}

bool lw_prologue_is_emulated(const uint8_t *code, size_t len)
{
	struct insn in;

	return decode(code, len, &in) && in.emulated;
}

/* The registers that carry fn's arguments, which the probe reads. */
static unsigned int arg_regs(enum lw_func fn)
{
	switch (fn) {
	case LW_FN_MALLOC:
	case LW_FN_VALLOC:
	case LW_FN_PVALLOC:
	case LW_FN_FREE:
		return 1u << LW_RDI;
	case LW_FN_CALLOC:
	case LW_FN_REALLOC:
	case LW_FN_ALIGNED_ALLOC:
	case LW_FN_MEMALIGN:
		return 1u << LW_RDI | 1u << LW_RSI;
	case LW_FN_REALLOCARRAY:
	case LW_FN_POSIX_MEMALIGN:
		return 1u << LW_RDI | 1u << LW_RSI | 1u << LW_RDX;
	case LW_FN_WRAPPER:
		return 0;	/* reads only the return address */
	default:
		return ~0u;	/* unknown: every register matters */
	}
}

size_t lw_prologue_probe_offset(enum lw_func fn, const uint8_t *code, size_t len)
{
	/* free(NULL) is no event: skip the check to the push, which every real free reaches */
	if (fn == LW_FN_FREE && lw_prologue_skip_null_check(code, len))
		return lw_prologue_skip_null_check(code, len);
	/* a function that opens with an emulated instruction is probed there already */
	if (lw_prologue_is_emulated(code, len))
		return 0;
	return lw_prologue_first_emulated(code, len, arg_regs(fn));
}
