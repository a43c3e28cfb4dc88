// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "prologue.h"
#include "unit.h"

/* glibc 2.36's free: test %rdi,%rdi; je rel32; push %rbp */
static bool test_glibc_free(void)
{
	static const uint8_t code[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55,
					0x48, 0x8d, 0x77, 0xf0 };

	CHECK(lw_prologue_skip_null_check(code, sizeof(code)) == 9);
	return true;
}

static bool test_endbr_short_jump_r12(void)
{
	static const uint8_t code[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x85, 0xff, 0x74, 0x10,
					0x41, 0x54 };

	CHECK(lw_prologue_skip_null_check(code, sizeof(code)) == 9);
	return true;
}

static bool test_no_match(void)
{
	/* malloc: push first — already cheap, nothing to skip */
	static const uint8_t push_first[] = { 0x41, 0x54, 0x55, 0x53 };
	/* test of another register: the NULL check is not on the first argument */
	static const uint8_t test_rsi[] = { 0x48, 0x85, 0xf6, 0x74, 0x05, 0x55 };
	/* check then a mov: the probe would land on a single-stepped instruction anyway */
	static const uint8_t then_mov[] = { 0x48, 0x85, 0xff, 0x74, 0x05, 0x48, 0x89, 0xfb };
	/* truncated */
	static const uint8_t cut[] = { 0x48, 0x85, 0xff, 0x0f, 0x84 };

	CHECK(lw_prologue_skip_null_check(push_first, sizeof(push_first)) == 0);
	CHECK(lw_prologue_skip_null_check(test_rsi, sizeof(test_rsi)) == 0);
	CHECK(lw_prologue_skip_null_check(then_mov, sizeof(then_mov)) == 0);
	CHECK(lw_prologue_skip_null_check(cut, sizeof(cut)) == 0);
	CHECK(lw_prologue_skip_null_check(cut, 0) == 0);
	return true;
}

#define BIT(r) (1u << (r))

/* Debian's python3.11 PyObject_GC_Del: loads, shifts and masks, then jne; rdi untouched */
static bool test_gc_del_lto(void)
{
	static const uint8_t code[] = {
		0x48, 0x8b, 0x47, 0x08, 0x48, 0x8b, 0x90, 0xa8, 0x00, 0x00, 0x00, 0x48, 0x89, 0xd0,
		0x48, 0xc1, 0xea, 0x03, 0x48, 0xc1, 0xe8, 0x0d, 0x83, 0xe2, 0x02, 0x83, 0xe0, 0x02,
		0x48, 0x01, 0xd0, 0x48, 0x8b, 0x57, 0xf0, 0x48, 0xc1, 0xe0, 0x03, 0x48, 0x85, 0xd2,
		0x0f, 0x85, 0x6a, 0xe2, 0xf1, 0xff,
	};

	CHECK(lw_prologue_first_emulated(code, sizeof(code), BIT(LW_RDI)) == 42);
	/* the same code cannot keep rdx: it is loaded before the jump */
	CHECK(lw_prologue_first_emulated(code, sizeof(code), BIT(LW_RDI) | BIT(LW_RDX)) == 0);
	return true;
}

/* Debian's PyObject_Free: two RIP-relative loads, cmp rax with an immediate, jne */
static bool test_free_lto(void)
{
	static const uint8_t code[] = {
		0x48, 0x8b, 0x05, 0x09, 0x96, 0x45, 0x00, 0x48, 0x8b, 0x15, 0xe2, 0x95, 0x45, 0x00,
		0x48, 0x3d, 0xe0, 0x0f, 0x50, 0x00, 0x0f, 0x85, 0xb4, 0x01, 0x00, 0x00,
	};

	CHECK(lw_prologue_first_emulated(code, sizeof(code), BIT(LW_RDI)) == 20);
	return true;
}

/*
 * Debian's jemalloc 5.3 free: its fast path reads the thread's cache through %fs and reaches
 * its first jump 48 bytes in, with rdi untouched: the probe goes there, not on the mov at +0.
 */
static bool test_jemalloc_free_tls(void)
{
	static const uint8_t code[] = {
		0x48, 0x89, 0xf8, 0x48, 0x8b, 0x15, 0x0e, 0x53, 0x0a, 0x00, 0x48, 0x89, 0xf9,
		0x48, 0xc1, 0xe8, 0x1a, 0x48, 0x81, 0xe1, 0x00, 0x00, 0x00, 0xc0, 0x25, 0xf0,
		0x00, 0x00, 0x00, 0x64, 0x48, 0x03, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00, 0x48,
		0x01, 0xd0, 0x48, 0x3b, 0x88, 0xb0, 0x01, 0x00, 0x00, 0x0f, 0x85, 0x8a, 0x00,
		0x00, 0x00, 0x48, 0x89, 0xfe,
	};

	CHECK(lw_prologue_first_emulated(code, sizeof(code), BIT(LW_RDI)) == 48);
	CHECK(lw_prologue_probe_offset(LW_FN_FREE, code, sizeof(code)) == 48);
	/* cut before the jump: no probe point but the entry */
	CHECK(lw_prologue_first_emulated(code, 40, BIT(LW_RDI)) == 0);
	return true;
}

/* movabs into a scratch register, then push; pyenv 3.11's _PyObject_Malloc: lea, push */
static bool test_movabs_lea(void)
{
	static const uint8_t gc_new[] = { 0x48, 0xba, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0x7f, 0x41, 0x55 };
	static const uint8_t malloc311[] = { 0x48, 0x8d, 0x46, 0xff, 0x53, 0x48, 0x89, 0xf3 };

	CHECK(lw_prologue_first_emulated(gc_new, sizeof(gc_new), BIT(LW_RDI)) == 10);
	CHECK(lw_prologue_first_emulated(malloc311, sizeof(malloc311), BIT(LW_RSI)) == 4);
	/* lea writes rax: not allowed when rax must be kept */
	CHECK(lw_prologue_first_emulated(malloc311, sizeof(malloc311), BIT(LW_RAX)) == 0);
	return true;
}

/* pyenv 3.10's _PyObject_Free(ctx, p): the NULL test's je is itself emulated */
static bool test_null_check_jcc(void)
{
	static const uint8_t code[] = { 0x48, 0x85, 0xf6, 0x74, 0x7b, 0x48, 0x89, 0xf2, 0x53 };
	static const uint8_t push_first[] = { 0x41, 0x54, 0x55 };

	CHECK(lw_prologue_first_emulated(code, sizeof(code), BIT(LW_RSI)) == 3);
	CHECK(lw_prologue_first_emulated(push_first, sizeof(push_first), BIT(LW_RDI)) == 0);
	return true;
}

static bool test_first_emulated_refuses(void)
{
	/* pyenv 3.8's PyObject_Free wrapper: overwrites rdi, the pointer, before its jmp */
	static const uint8_t wrapper[] = { 0x48, 0x89, 0xfe, 0x48, 0x8b, 0x3d, 0x56, 0x0c, 0x25,
					   0x00, 0xff, 0x25, 0x70, 0x0c, 0x25, 0x00 };
	/* sub $8, %rsp before anything emulated */
	static const uint8_t stack[] = { 0x48, 0x83, 0xec, 0x08, 0x53 };
	/* a store through rsp */
	static const uint8_t store[] = { 0x48, 0x89, 0x3c, 0x24, 0x53 };
	/* div: writes rdx:rax, not decoded */
	static const uint8_t div[] = { 0x48, 0xf7, 0xf6, 0x53 };
	/* truncated mov */
	static const uint8_t cut[] = { 0x48, 0x8b };

	CHECK(lw_prologue_first_emulated(wrapper, sizeof(wrapper), BIT(LW_RDI)) == 0);
	/* keeping only rsi, the mov to rsi is the problem */
	CHECK(lw_prologue_first_emulated(wrapper, sizeof(wrapper), BIT(LW_RSI)) == 0);
	CHECK(lw_prologue_first_emulated(stack, sizeof(stack), 0) == 0);
	CHECK(lw_prologue_first_emulated(store, sizeof(store), 0) == 0);
	CHECK(lw_prologue_first_emulated(div, sizeof(div), 0) == 0);
	CHECK(lw_prologue_first_emulated(cut, sizeof(cut), 0) == 0);
	CHECK(lw_prologue_first_emulated(cut, 0, 0) == 0);
	return true;
}

/* jemalloc's nothrow operator delete is "jmp free@plt"; malloc's own code is no tail call */
static bool test_tail_call(void)
{
	static const uint8_t jmp32[] = { 0xe9, 0xcb, 0xaf, 0xf5, 0xff, 0x66 };
	static const uint8_t endbr_jmp8[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0xeb, 0x10 };
	static const uint8_t got[] = { 0xff, 0x25, 0x00, 0x10, 0x00, 0x00 };
	static const uint8_t cmp[] = { 0x48, 0x81, 0xff, 0x00, 0x10, 0x00, 0x00 };
	static const uint8_t push[] = { 0x55, 0xe9, 0, 0, 0, 0 };

	CHECK(lw_prologue_is_tail_call(jmp32, sizeof(jmp32)));
	CHECK(lw_prologue_is_tail_call(endbr_jmp8, sizeof(endbr_jmp8)));
	CHECK(lw_prologue_is_tail_call(got, sizeof(got)));
	CHECK(!lw_prologue_is_tail_call(cmp, sizeof(cmp)));
	CHECK(!lw_prologue_is_tail_call(push, sizeof(push)));
	/* cut short: not enough bytes for the jump */
	CHECK(!lw_prologue_is_tail_call(jmp32, 3) && !lw_prologue_is_tail_call(got, 0));
	return true;
}

UNIT_MAIN(UNIT_TEST(test_tail_call), UNIT_TEST(test_glibc_free), UNIT_TEST(test_endbr_short_jump_r12), UNIT_TEST(test_no_match),
	  UNIT_TEST(test_gc_del_lto), UNIT_TEST(test_free_lto), UNIT_TEST(test_jemalloc_free_tls), UNIT_TEST(test_movabs_lea),
	  UNIT_TEST(test_null_check_jcc), UNIT_TEST(test_first_emulated_refuses))
