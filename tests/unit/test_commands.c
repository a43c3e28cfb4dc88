// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Command handlers against hand-built snapshots: shapes, order, limits and peer filtering. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "unit.h"

static const struct lw_peer root_peer = { .uid = 0, .see_all = true };

static struct lw_procinfo *proc_new(pid_t pid, uid_t uid, uint64_t ident, const char *comm,
				    const char *exe)
{
	struct lw_procinfo *pi = calloc(1, sizeof(*pi));

	if (!pi)
		abort();
	pi->refcnt = 1;
	pi->pid = pid;
	pi->uid = uid;
	pi->ident = ident;
	/* May fill all 16 bytes, on purpose: comm is not trusted to be terminated. */
	memcpy(pi->comm, comm, strnlen(comm, sizeof(pi->comm)));
	pi->exe = exe ? strdup(exe) : NULL;
	return pi;
}

static struct lw_stackinfo *stack_known(uint64_t addr, const char *sym, const char *file, int line)
{
	struct lw_stackinfo *si = lw_stackinfo__new(2);

	if (!si)
		abort();
	si->frames[0] = (struct lw_frame){
		.addr = addr, .symbol = strdup(sym), .offset = 0x10,
		.module = strdup("/usr/bin/svc"), .file = strdup(file), .line = line,
	};
	si->frames[1] = (struct lw_frame){
		.addr = 0x401000, .symbol = strdup("main"), .module = strdup("/usr/bin/svc"),
	};
	return si;
}

static struct lw_stackinfo *stack_unknown(uint64_t addr)
{
	struct lw_stackinfo *si = lw_stackinfo__new(1);

	if (!si)
		abort();
	si->frames[0].addr = addr;
	return si;
}

static void site_set(struct lw_site_snap *s, struct lw_procinfo *p, struct lw_stackinfo *st,
		     enum lw_verdict v, double growth, int64_t live)
{
	s->proc = p;
	s->stack = st;
	s->allocator = "libc";
	s->verdict = v;
	s->growth_bytes_per_sec = growth;
	s->live_bytes = live;
	s->live_allocs = live ? live / 64 + 1 : 0;
	s->allocs = s->live_allocs + 10;
	s->alloc_bytes = live + 640;
	s->frees = 10;
	s->confidence = 0.5;
	s->oldest_alloc_age_sec = 12.5;
}

/*
 * Already in published (ranked) order, built by hand so these tests do not depend on the ranker:
 * [0] pid 100 (uid 1000) "svc": a leak of 1 MiB;
 * [1] pid 200 (uid 2000), comm of all 16 bytes, no exe: growing, one unresolved frame;
 * [2] pid 100, an older exited identity: a plateau of 64 KiB;
 * [3] pid 100: stable 4 KiB, no stack, unknown age;
 * [4] pid 100: a dead site (0 live bytes);
 * [5] pid 200: 1 byte at a rate nobody could compute (NaN).
 */
static struct lw_snapshot *fake_snapshot(void)
{
	struct lw_snapshot *s = lw_snapshot__new(6);
	struct lw_procinfo *a = proc_new(100, 1000, 5000, "svc", "/usr/bin/svc");
	struct lw_procinfo *b = proc_new(200, 2000, 6000, "exactly16bytes!!", NULL);
	struct lw_procinfo *old = proc_new(100, 1000, 4000, "svc-old", "/usr/bin/svc");

	if (!s)
		abort();
	site_set(&s->sites[0], a, stack_known(0x55d0c0de1234, "cache_insert", "src/cache.c", 88),
		 LW_VERDICT_LEAK, 4096.0, 1 << 20);
	s->sites[0].confidence = 0.99;
	s->sites[0].oldest_alloc_age_sec = 250.0;
	site_set(&s->sites[1], b, stack_unknown(0x7f0000001000), LW_VERDICT_GROWING, 100.0, 2048);
	site_set(&s->sites[2], old, stack_known(0x55d0c0de0000, "old_fn", "src/old.c", 7),
		 LW_VERDICT_PLATEAU, 0.0, 65536);
	s->sites[2].exited = true;
	site_set(&s->sites[3], lw_procinfo__get(a), NULL, LW_VERDICT_STABLE, 0.0, 4096);
	s->sites[3].oldest_alloc_age_sec = -1;
	site_set(&s->sites[4], lw_procinfo__get(a), stack_unknown(0x1), LW_VERDICT_STABLE, -10.0,
		 0);
	site_set(&s->sites[5], lw_procinfo__get(b), NULL, LW_VERDICT_STABLE, NAN, 1);
	return s;
}

static json_t *run(const struct lw_snapshot *s, const struct lw_peer *peer, enum lw_cmd cmd,
		   unsigned int n, pid_t pid)
{
	struct lw_request req = { .cmd = cmd, .n = n, .pid = pid };
	char err[256];

	return lw_command_run(&req, s, peer, err, sizeof(err));
}

static const char *run_err(const struct lw_snapshot *s, const struct lw_peer *peer,
			   enum lw_cmd cmd, pid_t pid)
{
	struct lw_request req = { .cmd = cmd, .pid = pid };
	static char err[256];
	json_t *res = lw_command_run(&req, s, peer, err, sizeof(err));

	if (res) {
		json_decref(res);
		return NULL;
	}
	return err;
}

static json_t *grower(json_t *res, size_t i)
{
	return json_array_get(json_object_get(res, "growers"), i);
}

static long long jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool test_top_shape(void)
{
	static const char *const keys[] = {
		"pid", "comm", "exe", "allocator", "live_bytes", "live_allocs",
		"growth_bytes_per_sec", "verdict", "confidence", "oldest_alloc_age_sec", "frames",
	};
	static const char *const fkeys[] = { "addr", "symbol", "module", "file", "line", "kind" };
	struct lw_snapshot *s = fake_snapshot();
	json_t *res = run(s, &root_peer, LW_CMD_TOP, 0, 0), *g, *f;
	bool ok = true;

	g = grower(res, 0);
	f = json_array_get(json_object_get(g, "frames"), 0);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ok = ok && json_object_get(g, keys[i]);
	for (size_t i = 0; i < sizeof(fkeys) / sizeof(fkeys[0]); i++)
		ok = ok && json_object_get(f, fkeys[i]);
	ok = ok && jint(g, "pid") == 100 && !strcmp(jstr(g, "comm"), "svc") &&
	     !strcmp(jstr(g, "exe"), "/usr/bin/svc") && !strcmp(jstr(g, "allocator"), "libc") &&
	     jint(g, "live_bytes") == 1 << 20 &&
	     json_is_integer(json_object_get(g, "live_allocs")) &&
	     json_real_value(json_object_get(g, "growth_bytes_per_sec")) == 4096.0 &&
	     !strcmp(jstr(g, "verdict"), "leak") &&
	     json_real_value(json_object_get(g, "confidence")) == 0.99 &&
	     json_real_value(json_object_get(g, "oldest_alloc_age_sec")) == 250.0 &&
	     json_is_false(json_object_get(g, "exited")) && jint(g, "ident") == 5000;
	ok = ok && !strcmp(jstr(f, "addr"), "0x55d0c0de1234") &&
	     !strcmp(jstr(f, "symbol"), "cache_insert") && jint(f, "offset") == 0x10 &&
	     !strcmp(jstr(f, "module"), "/usr/bin/svc") &&
	     !strcmp(jstr(f, "file"), "src/cache.c") &&
	     jint(f, "line") == 88 && !strcmp(jstr(f, "kind"), "native");
	/* The caller's frame: symbol known, no debug info. */
	f = json_array_get(json_object_get(g, "frames"), 1);
	ok = ok && json_is_null(json_object_get(f, "file")) &&
	     json_is_null(json_object_get(f, "line")) && !strcmp(jstr(f, "symbol"), "main");
	json_decref(res);
	lw_snapshot__put(s);
	CHECK(ok);
	return true;
}

static bool test_top_nulls(void)
{
	struct lw_snapshot *s = fake_snapshot();
	json_t *res = run(s, &root_peer, LW_CMD_TOP, 0, 200), *g, *f;
	bool ok;

	/* pid 200's growing site: no exe, a frame known only by address. */
	g = grower(res, 0);
	f = json_array_get(json_object_get(g, "frames"), 0);
	ok = g && !strcmp(jstr(g, "verdict"), "growing") &&
	     json_is_null(json_object_get(g, "exe")) &&
	     !strcmp(jstr(g, "comm"), "exactly16bytes!!") &&
	     !strcmp(jstr(f, "addr"), "0x7f0000001000") &&
	     json_is_null(json_object_get(f, "symbol")) &&
	     json_is_null(json_object_get(f, "offset")) &&
	     json_is_null(json_object_get(f, "module")) &&
	     json_is_null(json_object_get(f, "file")) && json_is_null(json_object_get(f, "line"));
	/* Its other site: no stack at all, NaN growth. */
	g = grower(res, 1);
	ok = ok && g && json_array_size(json_object_get(g, "frames")) == 0 &&
	     json_is_array(json_object_get(g, "frames")) &&
	     json_is_null(json_object_get(g, "growth_bytes_per_sec"));
	json_decref(res);

	/* pid 100's stable site has an unknown age. */
	res = run(s, &root_peer, LW_CMD_TOP, 0, 100);
	ok = ok && json_array_size(json_object_get(res, "growers")) == 4;
	for (size_t i = 0; ok && i < 4; i++) {
		g = grower(res, i);
		if (jint(g, "live_bytes") == 4096)
			ok = json_is_null(json_object_get(g, "oldest_alloc_age_sec"));
	}
	json_decref(res);
	lw_snapshot__put(s);
	CHECK(ok);
	return true;
}

static bool test_top_order_and_n(void)
{
	struct lw_snapshot *s = fake_snapshot();
	json_t *res = run(s, &root_peer, LW_CMD_TOP, 0, 0);
	bool ok = json_array_size(json_object_get(res, "growers")) == s->nsites;

	/* Exactly the snapshot's ranked order. */
	for (size_t i = 0; ok && i < s->nsites; i++) {
		json_t *g = grower(res, i);

		ok = jint(g, "pid") == s->sites[i].proc->pid &&
		     jint(g, "live_bytes") == s->sites[i].live_bytes;
	}
	ok = ok && !strcmp(jstr(grower(res, 0), "verdict"), "leak");
	json_decref(res);

	res = run(s, &root_peer, LW_CMD_TOP, 2, 0);
	ok = ok && json_array_size(json_object_get(res, "growers")) == 2 &&
	     !strcmp(jstr(grower(res, 0), "verdict"), "leak") &&
	     !strcmp(jstr(grower(res, 1), "verdict"), "growing");
	json_decref(res);

	res = run(s, &root_peer, LW_CMD_TOP, 1, 200);
	ok = ok && json_array_size(json_object_get(res, "growers")) == 1 &&
	     jint(grower(res, 0), "pid") == 200;
	json_decref(res);

	res = run(s, &root_peer, LW_CMD_TOP, 0, 999);
	ok = ok && json_is_array(json_object_get(res, "growers")) &&
	     json_array_size(json_object_get(res, "growers")) == 0;
	json_decref(res);
	lw_snapshot__put(s);
	CHECK(ok);
	return true;
}

static bool top_default_n(void)
{
	struct lw_snapshot *s = lw_snapshot__new(50);
	struct lw_procinfo *p = proc_new(1, 0, 1, "init", "/sbin/init");
	json_t *res;
	bool ok;

	for (size_t i = 0; i < 50; i++)
		site_set(&s->sites[i], i ? lw_procinfo__get(p) : p, NULL, LW_VERDICT_GROWING,
			 1000.0 - i, 100);
	res = run(s, &root_peer, LW_CMD_TOP, 0, 0);
	ok = json_array_size(json_object_get(res, "growers")) == LW_TOP_DEFAULT_N;
	json_decref(res);
	res = run(s, &root_peer, LW_CMD_TOP, 10000, 0);
	ok = ok && json_array_size(json_object_get(res, "growers")) == 50;
	json_decref(res);
	lw_snapshot__put(s);
	return ok;
}

static bool test_top_default_n(void)
{
	CHECK(top_default_n());
	return true;
}

static size_t count_growers(const struct lw_snapshot *s, uid_t uid, bool see_all, pid_t pid)
{
	struct lw_peer peer = { .uid = uid, .see_all = see_all };
	json_t *res = run(s, &peer, LW_CMD_TOP, 0, pid), *g;
	size_t n, i;

	n = json_array_size(json_object_get(res, "growers"));
	json_array_foreach(json_object_get(res, "growers"), i, g) {
		/* Every grower a non-privileged peer gets must belong to its uid. */
		if (!see_all && jint(g, "pid") != (uid == 1000 ? 100 : 200))
			n = 1000;
	}
	json_decref(res);
	return n;
}

static bool test_peer_filter(void)
{
	struct lw_snapshot *s = fake_snapshot();
	bool ok;

	ok = count_growers(s, 0, true, 0) == 6 && count_growers(s, 4242, true, 0) == 6 &&
	     count_growers(s, 1000, false, 0) == 4 && count_growers(s, 2000, false, 0) == 2 &&
	     count_growers(s, 3000, false, 0) == 0 && count_growers(s, 2000, false, 100) == 0 &&
	     count_growers(s, 1000, false, 100) == 4;
	/* see_all is what grants everything, not uid 0 by itself. */
	ok = ok && count_growers(s, 0, false, 0) == 0;
	lw_snapshot__put(s);
	CHECK(ok);
	return true;
}

static bool test_stacks(void)
{
	struct lw_snapshot *s = fake_snapshot();
	struct lw_peer other = { .uid = 2000 }, owner = { .uid = 1000 };
	json_t *res = run(s, &root_peer, LW_CMD_STACKS, 0, 100), *sites;
	bool ok;

	/* Running identity only (the exited one is hidden), live sites only, by live bytes. */
	sites = json_object_get(res, "sites");
	ok = jint(res, "pid") == 100 && jint(res, "total_sites") == 2 &&
	     json_array_size(sites) == 2 &&
	     jint(json_array_get(sites, 0), "live_bytes") == 1 << 20 &&
	     jint(json_array_get(sites, 1), "live_bytes") == 4096 &&
	     json_is_array(json_object_get(json_array_get(sites, 0), "frames")) &&
	     !strcmp(jstr(json_array_get(sites, 0), "verdict"), "leak");
	json_decref(res);

	res = run(s, &root_peer, LW_CMD_STACKS, 1, 100);
	ok = ok && json_array_size(json_object_get(res, "sites")) == 1 &&
	     jint(res, "total_sites") == 2;
	json_decref(res);

	res = run(s, &other, LW_CMD_STACKS, 0, 100);
	ok = ok && json_is_array(json_object_get(res, "sites")) &&
	     json_array_size(json_object_get(res, "sites")) == 0;
	json_decref(res);

	res = run(s, &owner, LW_CMD_STACKS, 0, 100);
	ok = ok && json_array_size(json_object_get(res, "sites")) == 2;
	json_decref(res);

	res = run(s, &root_peer, LW_CMD_STACKS, 0, 200);
	sites = json_object_get(res, "sites");
	ok = ok && json_array_size(sites) == 2 &&
	     jint(json_array_get(sites, 0), "live_bytes") == 2048;
	json_decref(res);

	/* By live bytes, not by rank: the stable site outgrows the leak in size. */
	s->sites[3].live_bytes = 2 << 20;
	res = run(s, &root_peer, LW_CMD_STACKS, 0, 100);
	sites = json_object_get(res, "sites");
	ok = ok && json_array_size(sites) == 2 &&
	     !strcmp(jstr(json_array_get(sites, 0), "verdict"), "stable") &&
	     !strcmp(jstr(json_array_get(sites, 1), "verdict"), "leak");
	json_decref(res);
	lw_snapshot__put(s);
	CHECK(ok);
	return true;
}

static bool test_stacks_exited_only(void)
{
	struct lw_snapshot *s = fake_snapshot();
	json_t *res, *sites;
	bool ok;

	/* Once the running identity is gone too, the record of the exited one is shown. */
	for (size_t i = 0; i < s->nsites; i++)
		if (s->sites[i].proc->pid == 100)
			s->sites[i].exited = true;
	res = run(s, &root_peer, LW_CMD_STACKS, 0, 100);
	sites = json_object_get(res, "sites");
	ok = json_array_size(sites) == 3 &&
	     jint(json_array_get(sites, 0), "live_bytes") == 1 << 20 &&
	     jint(json_array_get(sites, 1), "live_bytes") == 65536 &&
	     json_is_true(json_object_get(json_array_get(sites, 1), "exited"));
	json_decref(res);
	lw_snapshot__put(s);
	CHECK(ok);
	return true;
}

static bool test_errors(void)
{
	struct lw_snapshot *s = fake_snapshot();
	const char *e;
	bool ok;

	e = run_err(s, &root_peer, LW_CMD_STACKS, 0);
	ok = e && !strcmp(e, "'stacks' needs 'pid'");
	ok = ok && !run_err(s, &root_peer, LW_CMD_PROCS, 0);
	e = run_err(s, &root_peer, LW_CMD_PPROF, 0);
	ok = ok && e && !strcmp(e, "'pprof' needs 'pid'");
	e = run_err(s, &root_peer, LW_CMD_PPROF, 999);
	ok = ok && e && !strncmp(e, "no allocation sites for pid 999", 31);
	e = run_err(NULL, &root_peer, LW_CMD_STATUS, 0);
	ok = ok && e && !strncmp(e, "no data yet", 11);
	e = run_err(s, &root_peer, LW_CMD_MAX, 0);
	ok = ok && e;
	lw_snapshot__put(s);
	CHECK(ok);
	return true;
}

/* procs: every field of the contract, rates as numbers, unknowns null, filtered by peer. */
static bool test_procs(void)
{
	struct lw_snapshot *s = fake_snapshot();
	const struct lw_peer other = { .uid = 2000 };
	json_t *res, *procs, *p;
	bool ok = false;

	if (lw_snapshot__alloc_procs(s, 2))
		abort();
	s->procs[0] = (struct lw_proc_snap){
		.proc = lw_procinfo__get(s->sites[0].proc), .rss_bytes = 50 << 20,
		.anon_bytes = 40 << 20, .pss_bytes = -1, .live_bytes = 1 << 20,
		.live_allocs = 100, .rss_growth_bytes_per_sec = 4096,
		.live_growth_bytes_per_sec = 4000, .verdict = LW_PROC_LEAK, .nsites = 3, .nleaks = 1,
	};
	s->procs[1] = (struct lw_proc_snap){
		.proc = lw_procinfo__get(s->sites[1].proc), .rss_bytes = 60 << 20,
		.anon_bytes = 55 << 20, .pss_bytes = 30 << 20, .live_bytes = 2048,
		.rss_growth_bytes_per_sec = NAN, .held_bytes = 20 << 20,
		.verdict = LW_PROC_FRAGMENTATION, .nsites = 2,
	};
	res = run(s, &root_peer, LW_CMD_PROCS, 0, 0);
	procs = json_object_get(res, "processes");
	if (!res || json_array_size(procs) != 2)
		goto out;
	p = json_array_get(procs, 0);
	if (jint(p, "pid") != 100 || strcmp(jstr(p, "verdict"), "leak") ||
	    jint(p, "rss_bytes") != 50 << 20 || jint(p, "live_bytes") != 1 << 20 ||
	    !json_is_null(json_object_get(p, "pss_bytes")) ||
	    json_real_value(json_object_get(p, "rss_growth_bytes_per_sec")) != 4096 ||
	    json_real_value(json_object_get(p, "live_growth_bytes_per_sec")) != 4000 ||
	    strcmp(jstr(p, "comm"), "svc") || strcmp(jstr(p, "exe"), "/usr/bin/svc"))
		goto out;
	p = json_array_get(procs, 1);
	if (strcmp(jstr(p, "verdict"), "fragmentation") || jint(p, "held_bytes") != 20 << 20 ||
	    !json_is_null(json_object_get(p, "rss_growth_bytes_per_sec")) ||
	    !json_is_null(json_object_get(p, "exe")) || jint(p, "pss_bytes") != 30 << 20)
		goto out;
	json_decref(res);
	/* uid 2000 sees only its own process; --pid narrows */
	res = run(s, &other, LW_CMD_PROCS, 0, 0);
	procs = json_object_get(res, "processes");
	if (!res || json_array_size(procs) != 1 || jint(json_array_get(procs, 0), "pid") != 200)
		goto out;
	json_decref(res);
	res = run(s, &root_peer, LW_CMD_PROCS, 0, 100);
	procs = json_object_get(res, "processes");
	ok = res && json_array_size(procs) == 1 && jint(json_array_get(procs, 0), "pid") == 100;
out:
	json_decref(res);
	lw_snapshot__put(s);
	CHECK(ok);
	return true;
}

static bool test_command_table(void)
{
	for (unsigned int i = 0; i < LW_CMD_MAX; i++) {
		const struct lw_command *c = lw_command__find(i);

		CHECK(c && c->name && c->help);
		CHECK_STR(c->name, lw_cmd_name(i));
	}
	CHECK(lw_command__find(LW_CMD_STACKS)->needs_pid);
	CHECK(!lw_command__find(LW_CMD_TOP)->needs_pid);
	CHECK(!lw_command__find(LW_CMD_MAX));
	return true;
}

static bool test_status(void)
{
	struct lw_snapshot *s = fake_snapshot();
	struct lw_peer nobody = { .uid = 65534 };
	json_t *res, *drops, *att, *map;
	bool ok;

	s->status.version = "0.1.0";
	s->status.uptime_sec = 12.5;
	s->status.nattached = 1;
	s->status.attached = calloc(1, sizeof(*s->status.attached));
	s->status.attached[0] = (struct lw_attached_obj){
		.path = strdup("/usr/lib/x86_64-linux-gnu/libc.so.6"),
		.dev = 2049, .ino = 1234, .nprobes = 10, .nmissing = 1, .allocator = "libc",
	};
	s->status.tracked_processes = 7;
	s->status.nmaps = 2;
	s->status.maps[0] = (struct lw_map_fill){ .name = "allocs", .used = 512, .max = 1024 };
	s->status.maps[1] = (struct lw_map_fill){ .name = "stacks", .used = 0, .max = 0 };
	s->status.drops[LW_DROP_ALLOC_MAP_FULL] = 3;
	s->status.counts[LW_CNT_ALLOCS] = 99;
	s->status.drains = 4;
	s->status.interval_sec = 10;
	s->status.last_drain_duration_sec = 0.25;

	res = run(s, &root_peer, LW_CMD_STATUS, 0, 0);
	drops = json_object_get(res, "drops");
	att = json_array_get(json_object_get(res, "attached"), 0);
	map = json_array_get(json_object_get(res, "maps"), 0);
	ok = res && !strcmp(jstr(res, "version"), "0.1.0") &&
	     json_real_value(json_object_get(res, "uptime_sec")) == 12.5 &&
	     jint(res, "tracked_processes") == 7 && jint(res, "drains") == 4 &&
	     json_number_value(json_object_get(res, "interval_sec")) == 10 &&
	     json_real_value(json_object_get(res, "last_drain_duration_sec")) == 0.25 &&
	     json_is_null(json_object_get(res, "last_drain_unix")) &&
	     json_object_size(drops) == LW_DROP_MAX && jint(drops, "alloc_map_full") == 3 &&
	     jint(drops, "event_lost") == 0 &&
	     jint(json_object_get(res, "counts"), "allocs") == 99 &&
	     json_object_size(json_object_get(res, "counts")) == LW_CNT_MAX &&
	     !strcmp(jstr(att, "path"), "/usr/lib/x86_64-linux-gnu/libc.so.6") &&
	     jint(att, "dev") == 2049 && jint(att, "ino") == 1234 && jint(att, "probes") == 10 &&
	     jint(att, "missing") == 1 && !strcmp(jstr(att, "kind"), "libc") &&
	     json_array_size(json_object_get(res, "maps")) == 2 &&
	     !strcmp(jstr(map, "name"), "allocs") && jint(map, "used") == 512 &&
	     jint(map, "max") == 1024 && json_real_value(json_object_get(map, "fill")) == 0.5 &&
	     json_real_value(json_object_get(json_array_get(json_object_get(res, "maps"), 1),
					     "fill")) == 0.0;
	json_decref(res);

	/* Health is for everyone, and the same for everyone. */
	s->status.last_drain_unix = 1700000000.5;
	res = run(s, &nobody, LW_CMD_STATUS, 0, 0);
	ok = ok && res && jint(res, "tracked_processes") == 7 &&
	     json_real_value(json_object_get(res, "last_drain_unix")) == 1700000000.5;
	json_decref(res);
	lw_snapshot__put(s);
	CHECK(ok);
	return true;
}

static bool test_bad_utf8(void)
{
	struct lw_snapshot *s = lw_snapshot__new(1);
	json_t *res;
	bool ok;

	site_set(&s->sites[0], proc_new(5, 0, 1, "bad\xff", "/tmp/\xc3(x"), NULL,
		 LW_VERDICT_LEAK, 1.0, 10);
	res = run(s, &root_peer, LW_CMD_TOP, 0, 0);
	ok = res && !strcmp(jstr(grower(res, 0), "comm"), "bad?") &&
	     !strcmp(jstr(grower(res, 0), "exe"), "/tmp/?(x");
	json_decref(res);
	lw_snapshot__put(s);
	CHECK(ok);
	return true;
}

/* Standard base64 back to bytes; -1 on a character outside the alphabet. */
static long unbase64(const char *in, unsigned char *out, size_t cap)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned int acc = 0, bits = 0;
	size_t n = 0;

	for (; *in && *in != '='; in++) {
		const char *d = strchr(digits, *in);

		if (!d || n >= cap)
			return -1;
		acc = acc << 6 | (unsigned int)(d - digits);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = acc >> bits & 0xff;
		}
	}
	return n;
}

/* pprof: the profile of the peer's own process, gzipped and base64-encoded in "profile". */
static bool test_pprof(void)
{
	struct lw_snapshot *s = fake_snapshot();
	const struct lw_peer owner = { .uid = 1000 }, stranger = { .uid = 2000 };
	unsigned char bytes[65536];
	json_t *res = run(s, &owner, LW_CMD_PPROF, 0, 100);
	const char *b64 = res ? jstr(res, "profile") : NULL, *e;
	long n = b64 ? unbase64(b64, bytes, sizeof(bytes)) : -1;
	bool ok;

	/* pid 100's running identity has three sites; the exited one's is left out */
	ok = res && jint(res, "pid") == 100 && jint(res, "sites") == 3 &&
	     !strcmp(jstr(res, "encoding"), "gzip") && n > 20 && bytes[0] == 0x1f &&
	     bytes[1] == 0x8b && strlen(b64) % 4 == 0;
	json_decref(res);
	e = run_err(s, &stranger, LW_CMD_PPROF, 100);
	ok = ok && e && !strncmp(e, "no allocation sites for pid 100", 31);
	lw_snapshot__put(s);
	CHECK(ok);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_top_shape), UNIT_TEST(test_top_nulls), UNIT_TEST(test_top_order_and_n),
	  UNIT_TEST(test_top_default_n), UNIT_TEST(test_peer_filter), UNIT_TEST(test_stacks),
	  UNIT_TEST(test_stacks_exited_only), UNIT_TEST(test_errors), UNIT_TEST(test_command_table),
	  UNIT_TEST(test_status), UNIT_TEST(test_bad_utf8), UNIT_TEST(test_procs),
	  UNIT_TEST(test_pprof))
