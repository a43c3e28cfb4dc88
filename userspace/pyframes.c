// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "pyframes.h"

enum lw_py_linetable lw_py_linetable_of(unsigned int version)
{
	if (version < LW_PY_VERSION(3, 10))
		return LW_PY_LNOTAB;
	if (version < LW_PY_VERSION(3, 11))
		return LW_PY_LINETABLE_310;
	return LW_PY_LOCATIONS;
}

/* 3.8/3.9 PyCode_Addr2Line: the line of the last entry whose address is <= addr. */
static int lnotab_line(const uint8_t *t, size_t len, int line, int addr)
{
	int a = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		a += t[i];
		if (a > addr)
			break;
		line += (int8_t)t[i + 1];
	}
	return line;
}

/*
 * 3.10 and 3.11+ both describe consecutive address ranges, each with a line or none; they differ
 * in how one entry is encoded. A cursor over either, as CPython's PyCodeAddressRange.
 */
struct range {
	const uint8_t *p, *end;
	enum lw_py_linetable fmt;
	int start, stop, line, computed;
};

static uint32_t varint(const uint8_t **p, const uint8_t *end)
{
	uint32_t val = 0;
	unsigned int shift = 0;
	uint8_t b;

	do {
		if (*p >= end || shift > 30)
			return 0;
		b = *(*p)++;
		val |= (uint32_t)(b & 63) << shift;
		shift += 6;
	} while (b & 64);
	return val;
}

static int svarint(const uint8_t **p, const uint8_t *end)
{
	uint32_t u = varint(p, end);

	return (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
}

/* One entry of the 3.11+ location table: its line delta, and whether it has a line at all. */
static int location_delta(const uint8_t *p, const uint8_t *end, bool *noline)
{
	unsigned int code = (p[0] >> 3) & 15;

	*noline = code == 15;
	p++;
	switch (code) {
	case 13:	/* no columns */
	case 14:	/* long form: the line delta comes first */
		return svarint(&p, end);
	case 10:
	case 11:
	case 12:	/* one-line forms: the delta is in the code */
		return (int)code - 10;
	default:	/* short forms (same line), and no location */
		return 0;
	}
}

static bool advance(struct range *r)
{
	bool noline;

	if (r->p >= r->end)
		return false;
	r->start = r->stop;
	if (r->fmt == LW_PY_LINETABLE_310) {
		if (r->p + 1 >= r->end)
			return false;
		r->stop += r->p[0];
		if ((int8_t)r->p[1] == -128) {
			r->line = -1;
		} else {
			r->computed += (int8_t)r->p[1];
			r->line = r->computed;
		}
		r->p += 2;
		return true;
	}
	if (!(r->p[0] & 128))
		return false;	/* not at the start of an entry: a corrupt table */
	r->computed += location_delta(r->p, r->end, &noline);
	r->line = noline ? -1 : r->computed;
	r->stop += ((r->p[0] & 7) + 1) * 2;
	do
		r->p++;
	while (r->p < r->end && !(r->p[0] & 128));
	return true;
}

int lw_py_addr2line(enum lw_py_linetable fmt, const uint8_t *table, size_t len, int firstlineno,
		    int addr)
{
	struct range r = { table, table + len, fmt, -1, 0, -1, firstlineno };

	if (addr < 0)
		return firstlineno;
	if (fmt == LW_PY_LNOTAB)
		return lnotab_line(table, len, firstlineno, addr);
	/* forward only: each entry is visited once, so a corrupt table cannot loop */
	while (r.stop <= addr || r.start == r.stop) {
		if (!advance(&r))
			return -1;
	}
	return r.line;
}

int lw_py_instr_addr(unsigned int version, uint32_t instr, uint32_t code_off)
{
	int32_t v = (int32_t)instr;

	if (version < LW_PY_VERSION(3, 10))
		return v;
	if (version < LW_PY_VERSION(3, 11))
		return v < 0 ? -1 : v * 2;
	/* a frame that has not started points just before its first instruction */
	return (int64_t)instr < (int64_t)code_off ? -1 : (int)(instr - code_off);
}

struct lw_py_strstate lw_py_str_state(uint32_t state)
{
	struct lw_py_strstate s = {
		.kind = (state >> 2) & 7,
		.compact = (state >> 5) & 1,
		.ascii = (state >> 6) & 1,
	};

	return s;
}

static size_t utf8_encode(uint32_t c, char *buf)
{
	if (c < 0x80) {
		buf[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		buf[0] = (char)(0xc0 | c >> 6);
		buf[1] = (char)(0x80 | (c & 63));
		return 2;
	}
	if (c < 0x10000) {
		buf[0] = (char)(0xe0 | c >> 12);
		buf[1] = (char)(0x80 | (c >> 6 & 63));
		buf[2] = (char)(0x80 | (c & 63));
		return 3;
	}
	buf[0] = (char)(0xf0 | c >> 18);
	buf[1] = (char)(0x80 | (c >> 12 & 63));
	buf[2] = (char)(0x80 | (c >> 6 & 63));
	buf[3] = (char)(0x80 | (c & 63));
	return 4;
}

int lw_py_str_utf8(unsigned int kind, const void *data, size_t nchars, char *out, size_t outlen)
{
	size_t n = 0;

	if (kind != 1 && kind != 2 && kind != 4)
		return -EINVAL;
	for (size_t i = 0; i < nchars; i++) {
		uint32_t c;
		char buf[4];
		size_t k;

		if (kind == 1)
			c = ((const uint8_t *)data)[i];
		else if (kind == 2)
			c = ((const uint16_t *)data)[i];
		else
			c = ((const uint32_t *)data)[i];
		/* a NUL would cut the name short; past U+10FFFF is no character */
		if (!c || c > 0x10ffff) {
			out[n] = '\0';
			return -EINVAL;
		}
		k = utf8_encode(c, buf);
		if (n + k >= outlen)
			break;
		memcpy(out + n, buf, k);
		n += k;
	}
	out[n] = '\0';
	return (int)n;
}
