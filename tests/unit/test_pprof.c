// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The pprof encoder on hand-made snapshots, checked by decoding what it wrote: gunzip with zlib,
 * unpack with protobuf-c from the same schema, and compare every sample, location, function and
 * mapping with the snapshot they came from.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "pprof.h"
#include "profile.pb-c.h"
#include "unit.h"


/* ---- snapshots ---- */

static struct lw_procinfo *mkproc(pid_t pid, uint64_t ident, const char *comm)
{
	struct lw_procinfo *p = calloc(1, sizeof(*p));

	if (!p)
		abort();
	p->refcnt = 1;
	p->pid = pid;
	p->ident = ident;
	memcpy(p->comm, comm, strnlen(comm, sizeof(p->comm)));
	return p;
}

static char *sdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* A native frame of /usr/bin/svc, mapped at 0x400000, or of libx.so when unsymbolized. */
static struct lw_frame native(uint64_t addr, const char *sym, const char *file, int line)
{
	bool lib = !sym;

	return (struct lw_frame){
		.addr = addr, .symbol = sdup(sym), .file = sdup(file), .line = line,
		.module = sdup(lib ? "/usr/lib/libx.so" : "/usr/bin/svc"),
		.map_start = lib ? 0x7f0000000000 : 0x400000,
		.map_limit = lib ? 0x7f0000100000 : 0x480000,
		.map_offset = lib ? 0x3000 : 0x1000,
		.build_id = sdup(lib ? "feedface" : "0123456789abcdef"),
		.kind = LW_FRAME_NATIVE,
	};
}

static struct lw_frame python(const char *func, const char *file, int line)
{
	return (struct lw_frame){
		.symbol = sdup(func), .file = sdup(file), .line = line,
		.module = sdup("/usr/bin/python3.11"), .kind = LW_FRAME_PYTHON,
	};
}

static struct lw_stackinfo *stack2(struct lw_frame a, struct lw_frame b)
{
	struct lw_stackinfo *si = lw_stackinfo__new(2);

	if (!si)
		abort();
	si->frames[0] = a;
	si->frames[1] = b;
	return si;
}

static void add_site(struct lw_snapshot *s, struct lw_procinfo *p, struct lw_stackinfo *st,
		     int64_t live, bool exited)
{
	struct lw_site_snap *o = &s->sites[s->nsites++];

	o->proc = lw_procinfo__get(p);
	o->stack = st;
	o->allocator = "libc";
	o->live_bytes = live;
	o->live_allocs = live > 0 ? live / 16 : 0;
	o->allocs = 1000 + s->nsites;
	o->alloc_bytes = 1000000 + s->nsites;
	o->exited = exited;
}

/*
 * [0] pid 100 "svc": leaky (a.c:10) <- main, 4096 live bytes
 * [1] pid 100: a Python stack, handler (app.py:42) <- an unsymbolized frame of libx.so
 * [2] pid 100: no stack recorded
 * [3] pid 100: leaky again (same return address) <- other, 1024 bytes
 * [4] pid 100, an older identity that exited: leaky, 999 bytes
 * [5] pid 200 "other": leaky at the same address in its own process, -8 bytes (underflow)
 * [6] pid 300, exited and alone: 512 bytes
 */
static struct lw_snapshot *fixture(void)
{
	struct lw_snapshot *s = lw_snapshot__new(7);
	struct lw_procinfo *a = mkproc(100, 11, "svc"), *old = mkproc(100, 10, "svc-old");
	struct lw_procinfo *b = mkproc(200, 20, "other"), *c = mkproc(300, 30, "gone");

	if (!s)
		abort();
	s->nsites = 0;
	s->taken_unix = 1700000000.5;
	add_site(s, a, stack2(native(0x401234, "leaky", "a.c", 10), native(0x400500, "main",
									NULL, 0)),
		 4096, false);
	add_site(s, a, stack2(python("handler", "app.py", 42), native(0x7f0000004321, NULL, NULL, 0)),
		 160, false);
	add_site(s, a, NULL, 32, false);
	add_site(s, a, stack2(native(0x401234, "leaky", "a.c", 10), native(0x400600, "other",
									"b.c", 7)),
		 1024, false);
	add_site(s, old, stack2(native(0x401234, "leaky", "a.c", 10), native(0x400500, "main",
									  NULL, 0)),
		 999, true);
	add_site(s, b, stack2(native(0x401234, "leaky", "a.c", 10), native(0x400500, "main",
									NULL, 0)),
		 -8, false);
	add_site(s, c, stack2(native(0x401234, "leaky", "a.c", 10), native(0x400500, "main",
									NULL, 0)),
		 512, true);
	lw_procinfo__put(a);
	lw_procinfo__put(old);
	lw_procinfo__put(b);
	lw_procinfo__put(c);
	return s;
}

/* ---- decoding ---- */

static Perftools__Profiles__Profile *decode(uint8_t *gz, size_t len)
{
	size_t cap = 1 << 20;
	uint8_t *raw = malloc(cap);
	z_stream z = { 0 };
	Perftools__Profiles__Profile *p = NULL;

	/* 15 + 16: gzip framing only, as pprof expects, not zlib's */
	if (!raw || inflateInit2(&z, 15 + 16) != Z_OK)
		goto out;
	z.next_in = gz;
	z.avail_in = len;
	z.next_out = raw;
	z.avail_out = cap;
	if (inflate(&z, Z_FINISH) == Z_STREAM_END && !z.avail_in)
		p = perftools__profiles__profile__unpack(NULL, z.total_out, raw);
	inflateEnd(&z);
out:
	free(raw);
	free(gz);
	return p;
}

static Perftools__Profiles__Profile *encode(const struct lw_snapshot *s, const struct lw_pprof_opts *o, int *n)
{
	uint8_t *gz = NULL;
	size_t len = 0;

	*n = lw_pprof__encode(s, o, &gz, &len);
	if (*n < 0)
		return NULL;
	return decode(gz, len);
}

static const char *str(const Perftools__Profiles__Profile *p, int64_t i)
{
	return i >= 0 && (size_t)i < p->n_string_table ? p->string_table[i] : "(bad index)";
}

static const Perftools__Profiles__Location *loc(const Perftools__Profiles__Profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_location; i++)
		if (p->location[i]->id == id)
			return p->location[i];
	return NULL;
}

static const Perftools__Profiles__Function *func(const Perftools__Profiles__Profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_function; i++)
		if (p->function[i]->id == id)
			return p->function[i];
	return NULL;
}

static const Perftools__Profiles__Mapping *mapping(const Perftools__Profiles__Profile *p, uint64_t id)
{
	for (size_t i = 0; i < p->n_mapping; i++)
		if (p->mapping[i]->id == id)
			return p->mapping[i];
	return NULL;
}

/* The function name at the innermost line of a location, or NULL. */
static const char *loc_func(const Perftools__Profiles__Profile *p, uint64_t id)
{
	const Perftools__Profiles__Location *l = loc(p, id);
	const Perftools__Profiles__Function *f;

	if (!l || l->n_line != 1 || !(f = func(p, l->line[0]->function_id)))
		return NULL;
	return str(p, f->name);
}

static int64_t label_num(const Perftools__Profiles__Profile *p, const Perftools__Profiles__Sample *s, const char *key)
{
	for (size_t i = 0; i < s->n_label; i++)
		if (!strcmp(str(p, s->label[i]->key), key))
			return s->label[i]->num;
	return -1;
}

static const char *label_str(const Perftools__Profiles__Profile *p, const Perftools__Profiles__Sample *s,
			     const char *key)
{
	for (size_t i = 0; i < s->n_label; i++)
		if (!strcmp(str(p, s->label[i]->key), key))
			return str(p, s->label[i]->str);
	return NULL;
}

/* Every reference resolves, every id is unique and non-zero: what pprof itself checks. */
static bool consistent(const Perftools__Profiles__Profile *p)
{
	CHECK(p->n_string_table >= 1 && !strcmp(p->string_table[0], ""));
	for (size_t i = 0; i < p->n_sample; i++) {
		CHECK(p->sample[i]->n_value == p->n_sample_type);
		CHECK(p->sample[i]->n_location_id >= 1);
		for (size_t j = 0; j < p->sample[i]->n_location_id; j++)
			CHECK(loc(p, p->sample[i]->location_id[j]));
	}
	for (size_t i = 0; i < p->n_location; i++) {
		const Perftools__Profiles__Location *l = p->location[i];

		CHECK(l->id && loc(p, l->id) == l);
		CHECK(!l->mapping_id || mapping(p, l->mapping_id));
		for (size_t j = 0; j < l->n_line; j++)
			CHECK(func(p, l->line[j]->function_id));
		if (l->mapping_id) {
			const Perftools__Profiles__Mapping *m = mapping(p, l->mapping_id);

			CHECK(l->address >= m->memory_start && l->address < m->memory_limit);
		}
	}
	for (size_t i = 0; i < p->n_function; i++)
		CHECK(p->function[i]->id && func(p, p->function[i]->id) == p->function[i]);
	for (size_t i = 0; i < p->n_mapping; i++)
		CHECK(p->mapping[i]->id && mapping(p, p->mapping[i]->id) == p->mapping[i]);
	return true;
}

/* ---- tests ---- */

static bool test_header(void)
{
	static const char *const types[4][2] = {
		{ "inuse_objects", "count" }, { "inuse_space", "bytes" },
		{ "alloc_objects", "count" }, { "alloc_space", "bytes" },
	};
	struct lw_snapshot *s = fixture();
	struct lw_pprof_opts o = { .pid = 100 };
	Perftools__Profiles__Profile *p;
	int n;

	p = encode(s, &o, &n);
	lw_snapshot__put(s);
	CHECK(p);
	CHECK(consistent(p));
	CHECK(p->n_sample_type == 4);
	for (int i = 0; i < 4; i++) {
		CHECK_STR(str(p, p->sample_type[i]->type), types[i][0]);
		CHECK_STR(str(p, p->sample_type[i]->unit), types[i][1]);
	}
	CHECK_STR(str(p, p->default_sample_type), "inuse_space");
	CHECK(p->period_type && !strcmp(str(p, p->period_type->type), "space"));
	CHECK(p->period == 1);
	CHECK(p->time_nanos == 1700000000500000000LL);
	CHECK(p->n_comment == 1 && strstr(str(p, p->comment[0]), "pid 100"));
	perftools__profiles__profile__free_unpacked(p, NULL);
	return true;
}

/* One pid: its running identity's sites, each a sample with its stack and values. */
static bool test_one_process(void)
{
	struct lw_snapshot *s = fixture();
	struct lw_pprof_opts o = { .pid = 100 };
	const Perftools__Profiles__Sample *leak, *py, *none, *again;
	const Perftools__Profiles__Location *l;
	const Perftools__Profiles__Function *f;
	const Perftools__Profiles__Mapping *m;
	Perftools__Profiles__Profile *p;
	int n;

	p = encode(s, &o, &n);
	lw_snapshot__put(s);
	CHECK(p && n == 4 && p->n_sample == 4);
	CHECK(consistent(p));
	/* in the snapshot's order; the exited identity's site left out */
	leak = p->sample[0];
	py = p->sample[1];
	none = p->sample[2];
	again = p->sample[3];
	CHECK(leak->value[0] == 256 && leak->value[1] == 4096);
	CHECK(leak->value[2] == 1001 && leak->value[3] == 1000001);
	CHECK(label_num(p, leak, "pid") == 100);
	CHECK_STR(label_str(p, leak, "comm"), "svc");
	CHECK_STR(label_str(p, leak, "allocator"), "libc");

	/* the leak site: innermost first, symbolized, in svc's mapping with its build id */
	CHECK(leak->n_location_id == 2);
	CHECK_STR(loc_func(p, leak->location_id[0]), "leaky");
	CHECK_STR(loc_func(p, leak->location_id[1]), "main");
	l = loc(p, leak->location_id[0]);
	CHECK(l->address == 0x401234 && l->line[0]->line == 10);
	f = func(p, l->line[0]->function_id);
	CHECK_STR(str(p, f->filename), "a.c");
	CHECK_STR(str(p, f->system_name), "leaky");
	m = mapping(p, l->mapping_id);
	CHECK(m->memory_start == 0x400000 && m->memory_limit == 0x480000 && m->file_offset == 0x1000);
	CHECK_STR(str(p, m->filename), "/usr/bin/svc");
	CHECK_STR(str(p, m->build_id), "0123456789abcdef");
	CHECK(m->has_functions && m->has_filenames && m->has_line_numbers);

	/* the same return address at another site: one location, shared */
	CHECK(again->location_id[0] == leak->location_id[0]);
	CHECK_STR(loc_func(p, again->location_id[1]), "other");

	/* Python: a function with its file and line, no address, no mapping */
	l = loc(p, py->location_id[0]);
	CHECK(l && !l->mapping_id && !l->address && l->n_line == 1 && l->line[0]->line == 42);
	f = func(p, l->line[0]->function_id);
	CHECK_STR(str(p, f->name), "handler");
	CHECK_STR(str(p, f->filename), "app.py");
	/*
	 * an unsymbolized native frame: an address in its mapping, marked as symbolized all the
	 * same (the daemon tried; pprof must not try again through /debug/pprof/symbol)
	 */
	l = loc(p, py->location_id[1]);
	CHECK(l && l->n_line == 0 && l->address == 0x7f0000004321);
	m = mapping(p, l->mapping_id);
	CHECK_STR(str(p, m->filename), "/usr/lib/libx.so");
	CHECK_STR(str(p, m->build_id), "feedface");
	CHECK(m->has_functions && !m->has_filenames && m->file_offset == 0x3000);

	/* no stack: one placeholder frame, never an empty stack */
	CHECK(none->n_location_id == 1);
	CHECK_STR(loc_func(p, none->location_id[0]), "[stack not recorded]");
	CHECK(p->n_mapping == 2);
	perftools__profiles__profile__free_unpacked(p, NULL);
	return true;
}

/* Without a pid: every running process, each in its own mappings, told apart by labels. */
static bool test_every_process(void)
{
	struct lw_snapshot *s = fixture();
	struct lw_pprof_opts o = { 0 };
	const Perftools__Profiles__Sample *b;
	Perftools__Profiles__Profile *p;
	int n;

	p = encode(s, &o, &n);
	lw_snapshot__put(s);
	CHECK(p && n == 5 && p->n_sample == 5);
	CHECK(consistent(p));
	b = p->sample[4];
	CHECK(label_num(p, b, "pid") == 200);
	CHECK_STR(label_str(p, b, "comm"), "other");
	/* the same address in another process is another location, in another mapping */
	CHECK(b->location_id[0] != p->sample[0]->location_id[0]);
	CHECK(loc(p, b->location_id[0])->mapping_id != loc(p, p->sample[0]->location_id[0])->mapping_id);
	/* live bytes below zero (a free the probes saw, not its allocation) count as none */
	CHECK(b->value[0] == 0 && b->value[1] == 0);
	CHECK(p->n_mapping == 3);
	perftools__profiles__profile__free_unpacked(p, NULL);
	return true;
}

/* A pid that only exited: what it never freed, for the record. */
static bool test_exited_process(void)
{
	struct lw_snapshot *s = fixture();
	struct lw_pprof_opts o = { .pid = 300 };
	Perftools__Profiles__Profile *p;
	int n;

	p = encode(s, &o, &n);
	lw_snapshot__put(s);
	CHECK(p && n == 1 && p->sample[0]->value[1] == 512);
	CHECK_STR(label_str(p, p->sample[0], "comm"), "gone");
	perftools__profiles__profile__free_unpacked(p, NULL);
	return true;
}

static bool only_pid_100(const struct lw_site_snap *site, void *ctx)
{
	(*(int *)ctx)++;
	return site->proc->pid == 100;
}

/* The caller's filter (a peer's own processes) applies before anything else. */
static bool test_filter_and_empty(void)
{
	struct lw_snapshot *s = fixture(), *empty = lw_snapshot__new(0);
	int calls = 0, n;
	struct lw_pprof_opts o = { .want = only_pid_100, .ctx = &calls };
	Perftools__Profiles__Profile *p;

	p = encode(s, &o, &n);
	CHECK(p && n == 4 && calls > 0);
	for (size_t i = 0; i < p->n_sample; i++)
		CHECK(label_num(p, p->sample[i], "pid") == 100);
	perftools__profiles__profile__free_unpacked(p, NULL);
	o.pid = 200;
	p = encode(s, &o, &n);
	CHECK(p && n == 0 && p->n_sample == 0);
	perftools__profiles__profile__free_unpacked(p, NULL);

	/* nothing at all: still a valid profile, with its types */
	o = (struct lw_pprof_opts){ 0 };
	p = encode(empty, &o, &n);
	CHECK(p && n == 0 && p->n_sample == 0 && p->n_sample_type == 4);
	CHECK(consistent(p));
	perftools__profiles__profile__free_unpacked(p, NULL);
	lw_snapshot__put(s);
	lw_snapshot__put(empty);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_header), UNIT_TEST(test_one_process), UNIT_TEST(test_every_process),
	  UNIT_TEST(test_exited_process), UNIT_TEST(test_filter_and_empty))
