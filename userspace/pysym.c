// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "pyframes.h"
#include "pysym.h"

#define NBUCKETS 4096
/* Longest name or file name read, in characters; longest line table, in bytes. */
#define MAX_STR_CHARS 1024
#define MAX_TABLE_BYTES (256 * 1024)

struct entry {
	pid_t pid;
	uint64_t ident, code, file_obj, name_obj;
	char *name, *file;
	int firstlineno;
	uint8_t *table;
	size_t table_len;
	struct entry *next;
};

struct lw_pysym {
	struct entry *buckets[NBUCKETS];
	size_t n, max;
	/* the last type object found to be the code type, per process: one per interpreter */
	pid_t code_type_pid;
	uint64_t code_type_ident, code_type;
	uint64_t lookups, hits, failures;
};

struct lw_pysym *lw_pysym__new(size_t max_entries)
{
	struct lw_pysym *s = calloc(1, sizeof(*s));

	if (s)
		s->max = max_entries ? max_entries : 1;
	return s;
}

static void clear(struct lw_pysym *s)
{
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct entry *e = s->buckets[b], *next;

		for (; e; e = next) {
			next = e->next;
			free(e->name);
			free(e->file);
			free(e->table);
			free(e);
		}
		s->buckets[b] = NULL;
	}
	s->n = 0;
}

void lw_pysym__free(struct lw_pysym *s)
{
	if (!s)
		return;
	clear(s);
	free(s);
}

/* All or nothing: a process gone or an address unmapped meanwhile is -EFAULT or -ESRCH. */
static int readmem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n;

	if (!addr)
		return -EFAULT;
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

static uint64_t u64_at(const uint8_t *buf, size_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/* Is type (an object's ob_type) CPython's code type? Its tp_name, at 24, says "code". */
static bool is_code_type(struct lw_pysym *s, pid_t pid, uint64_t ident, uint64_t type)
{
	uint64_t name_ptr;
	char name[8];

	if (s->code_type == type && s->code_type_pid == pid && s->code_type_ident == ident)
		return true;
	if (readmem(pid, type + 24, &name_ptr, sizeof(name_ptr)) ||
	    readmem(pid, name_ptr, name, sizeof(name)) || memcmp(name, "code", 5))
		return false;
	s->code_type_pid = pid;
	s->code_type_ident = ident;
	s->code_type = type;
	return true;
}

/* A str object's characters as UTF-8 (malloc'd), or NULL. */
static char *read_str(pid_t pid, const struct lw_py_layout *l, uint64_t obj)
{
	uint8_t hdr[128];
	struct lw_py_strstate st;
	size_t nchars, off;
	uint64_t len;
	void *data;
	char *out;

	if (l->str_compact_size > sizeof(hdr) || readmem(pid, obj, hdr, l->str_ascii_size))
		return NULL;
	len = u64_at(hdr, 16);
	st = lw_py_str_state((uint32_t)u64_at(hdr, 32));
	if (!st.compact || (st.ascii && st.kind != 1))
		return NULL;	/* legacy strings never name code; anything else is not a str */
	off = st.ascii ? l->str_ascii_size : l->str_compact_size;
	nchars = len > MAX_STR_CHARS ? MAX_STR_CHARS : len;
	data = malloc(nchars * st.kind + 1);
	out = malloc(nchars * 4 + 1);
	if (!data || !out || readmem(pid, obj + off, data, nchars * st.kind) ||
	    lw_py_str_utf8(st.kind, data, nchars, out, nchars * 4 + 1) < 0) {
		free(data);
		free(out);
		return NULL;
	}
	free(data);
	return out;
}

/* A bytes object's contents (malloc'd): ob_size at 16, the bytes at 32. */
static uint8_t *read_bytes(pid_t pid, uint64_t obj, size_t *len)
{
	uint64_t size;
	uint8_t *buf;

	if (readmem(pid, obj + 16, &size, sizeof(size)) || size > MAX_TABLE_BYTES)
		return NULL;
	buf = malloc(size ? size : 1);
	if (buf && readmem(pid, obj + 32, buf, size)) {
		free(buf);
		return NULL;
	}
	*len = size;
	return buf;
}

static size_t bucket_of(pid_t pid, uint64_t code)
{
	uint64_t h = (code >> 4) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)pid * 0xff51afd7ed558ccdULL;

	return (h >> 32) % NBUCKETS;
}

static struct entry *lookup(struct lw_pysym *s, pid_t pid, uint64_t ident, uint64_t code,
			    uint64_t file_obj, uint64_t name_obj)
{
	for (struct entry *e = s->buckets[bucket_of(pid, code)]; e; e = e->next)
		if (e->code == code && e->pid == pid && e->ident == ident &&
		    e->file_obj == file_obj && e->name_obj == name_obj)
			return e;
	return NULL;
}

/* Read a code object's names and line table into a new cache entry; NULL if unreadable. */
static struct entry *load(struct lw_pysym *s, pid_t pid, uint64_t ident,
			  const struct lw_py_layout *l, uint64_t code, const uint8_t *hdr)
{
	struct entry *e = calloc(1, sizeof(*e));
	size_t b;

	if (!e)
		return NULL;
	e->pid = pid;
	e->ident = ident;
	e->code = code;
	e->file_obj = u64_at(hdr, l->co_filename);
	e->name_obj = u64_at(hdr, l->co_name);
	memcpy(&e->firstlineno, hdr + l->co_firstlineno, sizeof(e->firstlineno));
	e->name = read_str(pid, l, e->name_obj);
	e->file = read_str(pid, l, e->file_obj);
	e->table = read_bytes(pid, u64_at(hdr, l->co_linetable), &e->table_len);
	if (!e->name && !e->file) {
		free(e->table);
		free(e);
		return NULL;
	}
	if (s->n >= s->max)
		clear(s);
	b = bucket_of(pid, code);
	e->next = s->buckets[b];
	s->buckets[b] = e;
	s->n++;
	return e;
}

static char *dup_or_null(const char *str)
{
	return str ? strdup(str) : NULL;
}

int lw_pysym__resolve(struct lw_pysym *s, pid_t pid, uint64_t ident, const struct lw_py_layout *l,
		      const char *module, uint64_t code, uint32_t instr, struct lw_frame *out)
{
	uint8_t hdr[256];
	size_t need = 0;
	struct entry *e;
	int addr, line;

	memset(out, 0, sizeof(*out));
	out->kind = LW_FRAME_PYTHON;
	out->addr = code;
	out->module = dup_or_null(module);
	if (module && !out->module)
		return -ENOMEM;
	s->lookups++;
	need = l->co_filename > need ? l->co_filename : need;
	need = l->co_name > need ? l->co_name : need;
	need = l->co_linetable > need ? l->co_linetable : need;
	need = l->co_firstlineno > need ? l->co_firstlineno : need;
	need += 8;
	/* the object's type is at 8: its own, so freed memory reads as something else */
	if (need > sizeof(hdr) || readmem(pid, code, hdr, need) ||
	    !is_code_type(s, pid, ident, u64_at(hdr, 8))) {
		s->failures++;
		return 0;
	}
	e = lookup(s, pid, ident, code, u64_at(hdr, l->co_filename), u64_at(hdr, l->co_name));
	if (e)
		s->hits++;
	else
		e = load(s, pid, ident, l, code, hdr);
	if (!e) {
		s->failures++;
		return 0;
	}
	addr = lw_py_instr_addr(l->version, instr, l->co_code);
	line = e->table ? lw_py_addr2line(lw_py_linetable_of(l->version), e->table, e->table_len,
					  e->firstlineno, addr)
			: -1;
	out->line = line > 0 ? line : 0;
	out->offset = addr > 0 ? (uint64_t)addr : 0;
	out->symbol = dup_or_null(e->name);
	out->file = dup_or_null(e->file);
	if ((e->name && !out->symbol) || (e->file && !out->file))
		return -ENOMEM;
	return 0;
}

void lw_pysym__stats(const struct lw_pysym *s, uint64_t *lookups, uint64_t *hits,
		     uint64_t *failures)
{
	if (lookups)
		*lookups = s->lookups;
	if (hits)
		*hits = s->hits;
	if (failures)
		*failures = s->failures;
}
