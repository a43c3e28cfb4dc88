// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Python frames named from a process's memory: this process, holding hand-made objects laid out
 * as CPython 3.11's (a code type, str objects, a bytes line table taken from a real function),
 * read through process_vm_readv like any other process.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyframes.h"
#include "pyinterp.h"
#include "pysym.h"
#include "unit.h"

#include "pylines_vectors.h"

static uint64_t addr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void put64(uint8_t *obj, size_t off, uint64_t v)
{
	memcpy(obj + off, &v, sizeof(v));
}

/* A compact ASCII str (3.11: PyASCIIObject is 48 bytes, state at 32, data after). */
static void make_str(uint8_t *obj, const char *text, uint64_t length)
{
	uint32_t state = 1 << 2 | 1 << 5 | 1 << 6;	/* kind 1, compact, ascii */

	memset(obj, 0, 48);
	put64(obj, 16, length);
	memcpy(obj + 32, &state, sizeof(state));
	strcpy((char *)obj + 48, text);
}

struct fake {
	uint8_t type[64];
	uint8_t other_type[64];
	uint8_t code[256];
	uint8_t name[128], file[128];
	uint8_t table[32 + sizeof(table_311)];
};

static struct fake *make_fake(void)
{
	static const char tp_code[] = "code", tp_other[] = "dict";
	struct fake *f = calloc(1, sizeof(*f));
	int first = FIRSTLINE_311;

	if (!f)
		return NULL;
	put64(f->type, 24, addr(tp_code));
	put64(f->other_type, 24, addr(tp_other));
	make_str(f->name, "Cache.add", 9);
	make_str(f->file, "/srv/app/cache.py", 17);
	put64(f->table, 16, sizeof(table_311));
	memcpy(f->table + 32, table_311, sizeof(table_311));
	put64(f->code, 8, addr(f->type));
	put64(f->code, 112, addr(f->file));
	put64(f->code, 128, addr(f->name));
	memcpy(f->code + 72, &first, sizeof(first));
	put64(f->code, 136, addr(f->table));
	return f;
}

static void frame_free(struct lw_frame *fr)
{
	free((char *)fr->symbol);
	free((char *)fr->file);
	free((char *)fr->module);
}

static bool test_resolve(void)
{
	struct lw_pysym *s = lw_pysym__new(16);
	struct fake *f = make_fake();
	struct lw_py_offsets o;
	struct lw_py_layout l;
	struct lw_frame fr;
	uint64_t lookups, hits, failures;
	/* one instruction of the real function, and the line CPython gives it */
	int off = lines_311[10][0], line = lines_311[10][1];

	CHECK(s && f && !lw_py_version_offsets(LW_PY_VERSION(3, 11), &o, &l));
	CHECK(lw_pysym__resolve(s, getpid(), 1, &l, "/usr/lib/libpython3.11.so", addr(f->code),
				l.co_code + off, &fr) == 0);
	CHECK(fr.kind == LW_FRAME_PYTHON && fr.addr == addr(f->code));
	CHECK_STR(fr.symbol, "Cache.add");
	CHECK_STR(fr.file, "/srv/app/cache.py");
	CHECK_STR(fr.module, "/usr/lib/libpython3.11.so");
	CHECK(fr.line == line && line > 0);
	frame_free(&fr);
	/* again: from the cache */
	CHECK(lw_pysym__resolve(s, getpid(), 1, &l, NULL, addr(f->code), l.co_code, &fr) == 0);
	CHECK_STR(fr.symbol, "Cache.add");
	CHECK(fr.line == lines_311[0][1]);
	frame_free(&fr);
	lw_pysym__stats(s, &lookups, &hits, &failures);
	CHECK(lookups == 2 && hits == 1 && failures == 0);
	lw_pysym__free(s);
	free(f);
	return true;
}

/* Freed memory, another type, unmapped addresses, absurd lengths: no name, never a crash. */
static bool test_bad_objects(void)
{
	struct lw_pysym *s = lw_pysym__new(16);
	struct fake *f = make_fake();
	struct lw_py_offsets o;
	struct lw_py_layout l;
	struct lw_frame fr;
	uint64_t failures;

	CHECK(s && f && !lw_py_version_offsets(LW_PY_VERSION(3, 11), &o, &l));
	put64(f->code, 8, addr(f->other_type));
	CHECK(lw_pysym__resolve(s, getpid(), 1, &l, NULL, addr(f->code), 0, &fr) == 0);
	CHECK(!fr.symbol && !fr.file && fr.line == 0 && fr.kind == LW_FRAME_PYTHON);
	frame_free(&fr);
	CHECK(lw_pysym__resolve(s, getpid(), 1, &l, NULL, 16, 0, &fr) == 0 && !fr.symbol);
	frame_free(&fr);
	/* a gone process */
	CHECK(lw_pysym__resolve(s, 0x7ffffff0, 1, &l, NULL, addr(f->code), 0, &fr) == 0 &&
	      !fr.symbol);
	frame_free(&fr);
	lw_pysym__stats(s, NULL, NULL, &failures);
	CHECK(failures == 3);

	/* a code object whose name claims a length past any mapping, and no line table */
	free(f);
	f = make_fake();
	CHECK(f);
	put64(f->name, 16, 1ULL << 40);
	put64(f->code, 136, 8);
	CHECK(lw_pysym__resolve(s, getpid(), 2, &l, NULL, addr(f->code), 0, &fr) == 0);
	CHECK(!fr.symbol || strlen(fr.symbol) <= 1024);
	CHECK_STR(fr.file, "/srv/app/cache.py");
	CHECK(fr.line == 0);
	frame_free(&fr);
	lw_pysym__free(s);
	free(f);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_resolve), UNIT_TEST(test_bad_objects))
