// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>

#include "pyframes.h"
#include "unit.h"

#include "pylines_vectors.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Every instruction of a real function, against the line CPython itself gives it. */
static bool check_vectors(unsigned int version, const uint8_t *table, size_t len, int first,
			  const int (*lines)[2], size_t n)
{
	enum lw_py_linetable fmt = lw_py_linetable_of(version);

	for (size_t i = 0; i < n; i++) {
		int got = lw_py_addr2line(fmt, table, len, first, lines[i][0]);

		if (got != lines[i][1]) {
			fprintf(stderr, "version %#x: offset %d: line %d, CPython says %d\n", version,
				lines[i][0], got, lines[i][1]);
			return false;
		}
	}
	return true;
}

#define VECTORS(maj, min, v) \
	check_vectors(LW_PY_VERSION(maj, min), table_##v, sizeof(table_##v), FIRSTLINE_##v, \
		      lines_##v, N(lines_##v))

static bool test_real_tables(void)
{
	CHECK(VECTORS(3, 8, 38));
	CHECK(VECTORS(3, 9, 39));
	CHECK(VECTORS(3, 10, 310));
	CHECK(VECTORS(3, 11, 311));
	CHECK(VECTORS(3, 12, 312));
	CHECK(VECTORS(3, 13, 313));
	return true;
}

static bool test_before_start_and_past_end(void)
{
	/* a frame that has not started is on its first line */
	CHECK(lw_py_addr2line(LW_PY_LOCATIONS, table_311, sizeof(table_311), 7, -1) == 7);
	/* past the last range: no line, not an invented one */
	CHECK(lw_py_addr2line(LW_PY_LOCATIONS, table_311, sizeof(table_311), 7, 1 << 20) == -1);
	CHECK(lw_py_addr2line(LW_PY_LINETABLE_310, table_310, sizeof(table_310), 7, 1 << 20) == -1);
	/* empty tables */
	CHECK(lw_py_addr2line(LW_PY_LOCATIONS, NULL, 0, 7, 0) == -1);
	CHECK(lw_py_addr2line(LW_PY_LNOTAB, NULL, 0, 7, 10) == 7);
	return true;
}

static bool test_corrupt_tables(void)
{
	/* a continuation byte where an entry must start */
	static const uint8_t cont[] = { 0x05, 0x01, 0x02 };
	/* a long-form entry whose varint runs off the end */
	static const uint8_t cut[] = { 0xf0 | 0x00, 0x7f };
	/* 3.10 pair cut in half */
	static const uint8_t half[] = { 0x04 };

	CHECK(lw_py_addr2line(LW_PY_LOCATIONS, cont, sizeof(cont), 1, 0) == -1);
	CHECK(lw_py_addr2line(LW_PY_LOCATIONS, cut, sizeof(cut), 1, 0) == 1);
	CHECK(lw_py_addr2line(LW_PY_LOCATIONS, cut, sizeof(cut), 1, 2) == -1);
	CHECK(lw_py_addr2line(LW_PY_LINETABLE_310, half, sizeof(half), 1, 0) == -1);
	return true;
}

static bool test_instr_addr(void)
{
	CHECK(lw_py_instr_addr(LW_PY_VERSION(3, 8), 24, 0) == 24);
	CHECK(lw_py_instr_addr(LW_PY_VERSION(3, 9), (uint32_t)-1, 0) == -1);
	CHECK(lw_py_instr_addr(LW_PY_VERSION(3, 10), 12, 0) == 24);
	CHECK(lw_py_instr_addr(LW_PY_VERSION(3, 10), (uint32_t)-1, 0) == -1);
	/* 3.11: prev_instr - code, bytecode 184 bytes into the code object */
	CHECK(lw_py_instr_addr(LW_PY_VERSION(3, 11), 184 + 40, 184) == 40);
	CHECK(lw_py_instr_addr(LW_PY_VERSION(3, 11), 182, 184) == -1);
	CHECK(lw_py_instr_addr(LW_PY_VERSION(3, 13), 200, 200) == 0);
	return true;
}

static bool test_strings(void)
{
	static const uint16_t ucs2[] = { 'c', 0xe9, 0x4e2d };
	static const uint32_t ucs4[] = { 'x', 0x1f600 };
	static const uint32_t bad[] = { 'x', 0x110000 };
	char out[16];
	struct lw_py_strstate st;

	/* an interned compact ASCII string: interned 1, kind 1, compact, ascii */
	st = lw_py_str_state(1 | 1 << 2 | 1 << 5 | 1 << 6);
	CHECK(st.kind == 1 && st.compact && st.ascii);
	st = lw_py_str_state(2 << 2 | 1 << 5);
	CHECK(st.kind == 2 && st.compact && !st.ascii);

	CHECK(lw_py_str_utf8(1, "main", 4, out, sizeof(out)) == 4 && !strcmp(out, "main"));
	CHECK(lw_py_str_utf8(2, ucs2, 3, out, sizeof(out)) == 6 &&
	      !strcmp(out, "c\xc3\xa9\xe4\xb8\xad"));
	CHECK(lw_py_str_utf8(4, ucs4, 2, out, sizeof(out)) == 5 && !strcmp(out, "x\xf0\x9f\x98\x80"));
	/* cut at a character boundary */
	CHECK(lw_py_str_utf8(2, ucs2, 3, out, 4) == 3 && !strcmp(out, "c\xc3\xa9"));
	CHECK(lw_py_str_utf8(4, bad, 2, out, sizeof(out)) == -EINVAL);
	CHECK(lw_py_str_utf8(3, "abc", 1, out, sizeof(out)) == -EINVAL);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_real_tables), UNIT_TEST(test_before_start_and_past_end),
	  UNIT_TEST(test_corrupt_tables), UNIT_TEST(test_instr_addr), UNIT_TEST(test_strings))
