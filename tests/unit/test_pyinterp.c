// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>

#include "pyframes.h"
#include "pyinterp.h"
#include "unit.h"

static bool test_version_tables(void)
{
	struct lw_py_offsets o;
	struct lw_py_layout l;

	/* 3.8-3.10: PyFrameObject chain from tstate->frame, f_lasti an int */
	CHECK(lw_py_version_offsets(LW_PY_VERSION(3, 8), &o, &l) == 0);
	CHECK((o.flags & LW_PYO_VALID) && !(o.flags & LW_PYO_IFRAME) && o.tss == 1392);
	CHECK(o.frame_instr + 4 <= o.frame_size && o.frame_size <= LW_PY_FRAME_READ);
	CHECK(l.version == LW_PY_VERSION(3, 8) && l.str_ascii_size == 48);
	/* 3.11: cframe, interpreter frames, qualname */
	CHECK(lw_py_version_offsets(LW_PY_VERSION(3, 11), &o, &l) == 0);
	CHECK((o.flags & LW_PYO_CFRAME) && (o.flags & LW_PYO_IFRAME) && !(o.flags & LW_PYO_OWNER));
	CHECK(l.co_name == 128 && l.co_code == 184);
	/* 3.12: shim frames to skip, smaller str header */
	CHECK(lw_py_version_offsets(LW_PY_VERSION(3, 12), &o, &l) == 0);
	CHECK((o.flags & LW_PYO_OWNER) && o.frame_owner < o.frame_size && l.str_ascii_size == 40);
	/* every table's frame fields fit the BPF read */
	for (unsigned int minor = 8; minor <= 13; minor++) {
		CHECK(lw_py_version_offsets(LW_PY_VERSION(3, minor), &o, &l) == 0);
		CHECK(o.frame_code + 8 <= o.frame_size && o.frame_back + 8 <= o.frame_size);
		CHECK(o.frame_size <= LW_PY_FRAME_READ);
	}
	CHECK(lw_py_version_offsets(LW_PY_VERSION(3, 7), &o, &l) == -ENOTSUP);
	CHECK(lw_py_version_offsets(LW_PY_VERSION(3, 14), &o, &l) == -ENOTSUP);
	return true;
}

static void put64(uint8_t *buf, size_t off, uint64_t v)
{
	memcpy(buf + off, &v, sizeof(v));
}

/* A 3.13 _Py_DebugOffsets block with the values of a release build. */
static void debug_block(uint8_t *buf, uint64_t version, uint64_t free_threaded)
{
	memset(buf, 0, 584);
	memcpy(buf, "xdebugpy", 8);
	put64(buf, 8, version);
	put64(buf, 16, free_threaded);
	put64(buf, 184, 72);	/* thread_state.current_frame */
	put64(buf, 232, 8);	/* interpreter_frame.previous */
	put64(buf, 240, 0);	/* interpreter_frame.executable */
	put64(buf, 248, 56);	/* interpreter_frame.instr_ptr */
	put64(buf, 264, 70);	/* interpreter_frame.owner */
	put64(buf, 280, 112);	/* code_object.filename */
	put64(buf, 296, 128);	/* code_object.qualname */
	put64(buf, 304, 136);	/* code_object.linetable */
	put64(buf, 312, 68);	/* code_object.firstlineno */
	put64(buf, 344, 200);	/* code_object.co_code_adaptive */
	put64(buf, 560, 40);	/* unicode_object.asciiobject_size */
}

static bool test_debug_offsets(void)
{
	struct lw_py_offsets o, t;
	struct lw_py_layout l, tl;
	uint8_t buf[584];
	uint64_t hex;

	debug_block(buf, 0x030d00f0, 0);
	CHECK(lw_py_debug_offsets(buf, sizeof(buf), &hex, &o, &l) == 0);
	CHECK(hex == 0x030d00f0);
	/* they agree with the table, which was checked against the headers */
	CHECK(lw_py_version_offsets(LW_PY_VERSION(3, 13), &t, &tl) == 0);
	CHECK(o.tstate_frame == t.tstate_frame && o.frame_back == t.frame_back &&
	      o.frame_code == t.frame_code && o.frame_instr == t.frame_instr &&
	      o.frame_owner == t.frame_owner && o.frame_size == t.frame_size);
	CHECK(l.co_filename == tl.co_filename && l.co_name == tl.co_name &&
	      l.co_linetable == tl.co_linetable && l.co_firstlineno == tl.co_firstlineno &&
	      l.co_code == tl.co_code && l.str_ascii_size == tl.str_ascii_size);
	/* an offset the BPF read cannot hold is refused, not trusted */
	put64(buf, 248, 4096);
	CHECK(lw_py_debug_offsets(buf, sizeof(buf), &hex, &o, &l) == -EINVAL);
	/* free-threaded builds and other versions' layouts are not this one */
	debug_block(buf, 0x030d00f0, 1);
	CHECK(lw_py_debug_offsets(buf, sizeof(buf), &hex, &o, &l) == -ENOTSUP);
	debug_block(buf, 0x030e00f0, 0);
	CHECK(lw_py_debug_offsets(buf, sizeof(buf), &hex, &o, &l) == -ENOTSUP);
	/* not a debug block at all, or cut short */
	memcpy(buf, "xdebugpz", 8);
	CHECK(lw_py_debug_offsets(buf, sizeof(buf), &hex, &o, &l) == -EINVAL);
	debug_block(buf, 0x030d00f0, 0);
	CHECK(lw_py_debug_offsets(buf, 100, &hex, &o, &l) == -EINVAL);
	return true;
}

static bool test_names(void)
{
	CHECK(lw_py_version_from_name("/usr/bin/python3.11") == LW_PY_VERSION(3, 11));
	CHECK(lw_py_version_from_name("/x/lib/libpython3.9.so.1.0") == LW_PY_VERSION(3, 9));
	CHECK(lw_py_version_from_name("libpython3.7m.so.1.0") == LW_PY_VERSION(3, 7));
	CHECK(lw_py_version_from_name("/usr/bin/python3") == 0);
	CHECK(lw_py_version_from_name("/usr/lib/python3.11/lib-dynload/_ssl.so") == 0);
	CHECK(lw_py_version_from_name("/opt/mypython3.10") == 0);

	CHECK(lw_pyinterp__candidate("/usr/bin/python3.11"));
	CHECK(lw_pyinterp__candidate("/root/.pyenv/versions/3.8.18/lib/libpython3.8.so.1.0"));
	CHECK(!lw_pyinterp__candidate("/usr/lib/python3.11/lib-dynload/_ssl.cpython-311.so"));
	CHECK(!lw_pyinterp__candidate("/usr/lib/x86_64-linux-gnu/libc.so.6"));
	return true;
}

UNIT_MAIN(UNIT_TEST(test_version_tables), UNIT_TEST(test_debug_offsets), UNIT_TEST(test_names))
