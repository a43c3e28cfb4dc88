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

UNIT_MAIN(UNIT_TEST(test_glibc_free), UNIT_TEST(test_endbr_short_jump_r12), UNIT_TEST(test_no_match))
