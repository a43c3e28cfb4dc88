// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The /metrics renderer on hand-made snapshots: the exposition's structure (HELP and TYPE
 * first, families contiguous, unique label sets), escaping, the top-N cut and its count, and
 * the values of every kind of series.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
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
	memcpy(p->comm, comm, strnlen(comm, sizeof(p->comm)));	/* all 16 bytes may be used */
	return p;
}

/* One frame: a symbol, or a module and mapping, or only an address. */
static struct lw_stackinfo *mkstack(const char *symbol, const char *module, uint64_t addr)
{
	struct lw_stackinfo *si = lw_stackinfo__new(1);

	if (!si)
		abort();
	si->frames[0].addr = addr;
	si->frames[0].symbol = symbol ? strdup(symbol) : NULL;
	si->frames[0].module = module ? strdup(module) : NULL;
	if (module) {
		si->frames[0].map_start = addr & ~0xfffULL;
		si->frames[0].map_limit = si->frames[0].map_start + 0x10000;
		si->frames[0].map_offset = 0x2000;
	}
	return si;
}

/* Sites are appended in the order given: that is the ranking the renderer trusts. */
static struct lw_site_snap *add_site(struct lw_snapshot *s, struct lw_procinfo *p,
				     struct lw_stackinfo *st, uint64_t stack_id, int64_t live,
				     double growth, enum lw_verdict v)
{
	struct lw_site_snap *o = &s->sites[s->nsites++];

	o->proc = lw_procinfo__get(p);
	o->stack = st;
	o->stack_id = stack_id;
	o->allocator = "libc";
	o->live_bytes = live;
	o->live_allocs = live / 32;
	o->growth_bytes_per_sec = growth;
	o->verdict = v;
	return o;
}

static struct lw_proc_snap *add_proc(struct lw_snapshot *s, struct lw_procinfo *p, int64_t rss,
				     int64_t live)
{
	struct lw_proc_snap *o = &s->procs[s->nprocs++];

	o->proc = lw_procinfo__get(p);
	o->rss_bytes = rss;
	o->anon_bytes = rss / 2;
	o->pss_bytes = -1;		/* not measured yet: no sample */
	o->live_bytes = live;
	o->live_allocs = live / 32;
	o->verdict = LW_PROC_LEAK;
	o->nleaks = 1;
	return o;
}

static struct lw_snapshot *mksnap(size_t max_sites, size_t max_procs)
{
	struct lw_snapshot *s = lw_snapshot__new(max_sites);

	if (!s || lw_snapshot__alloc_procs(s, max_procs))
		abort();
	s->nsites = 0;
	s->nprocs = 0;
	s->status.version = "9.9.9";
	s->status.uptime_sec = 12.5;
	return s;
}

static char *render(const struct lw_snapshot *s, unsigned int top)
{
	struct lw_metrics_opts o = { .top_sites = top };
	struct lw_buf b = { 0 };

	lw_metrics__render(s, &o, &b);
	return lw_buf__steal(&b, NULL);
}

/* ---- checking an exposition ---- */

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	fprintf(stderr, "missing line: %s\n", line);
	return false;
}

static size_t count_prefix(const char *text, const char *prefix)
{
	size_t n = 0, len = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += !strncmp(p, prefix, len);
	return n;
}

/* The family a sample belongs to: a histogram's series carry a suffix. */
static void family_of(const char *name, size_t n, const char *hist, char *out, size_t len)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count" };

	snprintf(out, len, "%.*s", (int)n, name);
	for (size_t i = 0; hist && i < 3; i++) {
		size_t k = strlen(sfx[i]);

		if (n > k && !strcmp(out + n - k, sfx[i]) && strlen(hist) == n - k &&
		    !strncmp(out, hist, n - k))
			out[n - k] = '\0';
	}
}

/*
 * What promtool checks, and what it does not: every sample after its family's HELP and TYPE,
 * each family in one block, names with the prefix, and no label set twice.
 */
static bool well_formed(const char *text)
{
	char **seen = NULL, fam[256] = "", cur[256] = "", hist[256] = "";
	size_t nseen = 0, cap = 0;
	bool ok = true;
	const char *p = text;

	while (ok && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[4096];

		if (len >= sizeof(line) || !nl) {
			fprintf(stderr, "line too long or unterminated\n");
			ok = false;
			break;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		if (!strncmp(line, "# HELP ", 7)) {
			sscanf(line + 7, "%255s", fam);
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			char type[32];

			sscanf(line + 7, "%255s %31s", cur, type);
			if (strcmp(cur, fam) || strncmp(cur, "leakwatch_", 10)) {
				fprintf(stderr, "TYPE without HELP or prefix: %s\n", line);
				ok = false;
			}
			snprintf(hist, sizeof(hist), "%s", !strcmp(type, "histogram") ? cur : "");
			for (size_t i = 0; i < nseen; i++)
				if (!strcmp(seen[i], cur)) {
					fprintf(stderr, "family twice: %s\n", cur);
					ok = false;
				}
			continue;
		}
		family_of(line, strcspn(line, "{ "), hist[0] ? hist : NULL, fam, sizeof(fam));
		if (strcmp(fam, cur)) {
			fprintf(stderr, "sample outside its family: %s (in %s)\n", line, cur);
			ok = false;
		}
		/* the series: everything before the value */
		line[strrchr(line, ' ') - line] = '\0';
		for (size_t i = 0; i < nseen; i++)
			if (!strcmp(seen[i], line)) {
				fprintf(stderr, "duplicate series: %s\n", line);
				ok = false;
			}
		if (nseen + 2 > cap) {
			cap = cap ? 2 * cap : 256;
			seen = realloc(seen, cap * sizeof(*seen));
		}
		seen[nseen++] = strdup(line);
		seen[nseen++] = strdup(cur);	/* families count as seen too */
	}
	for (size_t i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	return ok;
}

/* ---- tests ---- */

static bool test_health(void)
{
	struct lw_snapshot *s = mksnap(0, 0);
	struct lw_attached_obj objs[2] = {
		{ .path = "/lib/libc.so.6", .nprobes = 17 },
		{ .path = "/lib/libc.so.6", .nprobes = 16, .nmissing = 1 },	/* a container's */
	};
	char *t;
	bool ok;

	s->status.attached = calloc(2, sizeof(objs));
	memcpy(s->status.attached, objs, sizeof(objs));
	s->status.attached[0].path = strdup(objs[0].path);
	s->status.attached[1].path = strdup(objs[1].path);
	s->status.nattached = 2;
	s->status.last_drain_unix = 1700000000.25;
	s->status.counts[LW_CNT_ALLOCS] = 123456789012ULL;
	s->status.counts[LW_CNT_FREES] = 5;
	s->status.drops[LW_DROP_FREE_UNKNOWN] = 7;
	s->status.nmaps = 1;
	s->status.maps[0] = (struct lw_map_fill){ "allocations", 10, 1024 };
	s->status.drain_hist[0] = 2;
	s->status.drain_hist[3] = 1;
	s->status.drain_hist[LW_DRAIN_BUCKETS - 1] = 1;	/* slower than every bound */
	s->status.drain_sum_sec = 4.5;
	t = render(s, 20);
	CHECK(t);
	ok = well_formed(t) &&
	     has_line(t, "leakwatch_build_info{version=\"9.9.9\"} 1") &&
	     has_line(t, "leakwatch_uptime_seconds 12.5") &&
	     has_line(t, "leakwatch_last_drain_timestamp_seconds 1700000000.25") &&
	     has_line(t, "# TYPE leakwatch_drain_duration_seconds histogram") &&
	     has_line(t, "leakwatch_drain_duration_seconds_bucket{le=\"0.001\"} 2") &&
	     has_line(t, "leakwatch_drain_duration_seconds_bucket{le=\"0.005\"} 2") &&
	     has_line(t, "leakwatch_drain_duration_seconds_bucket{le=\"0.01\"} 3") &&
	     has_line(t, "leakwatch_drain_duration_seconds_bucket{le=\"2.5\"} 3") &&
	     has_line(t, "leakwatch_drain_duration_seconds_bucket{le=\"+Inf\"} 4") &&
	     has_line(t, "leakwatch_drain_duration_seconds_sum 4.5") &&
	     has_line(t, "leakwatch_drain_duration_seconds_count 4") &&
	     count_prefix(t, "leakwatch_drain_duration_seconds_bucket{") == LW_DRAIN_BUCKETS &&
	     /* one series per path, the two objects summed */
	     has_line(t, "leakwatch_probes_attached{object=\"/lib/libc.so.6\"} 33") &&
	     has_line(t, "leakwatch_probes_missing{object=\"/lib/libc.so.6\"} 1") &&
	     has_line(t, "# TYPE leakwatch_allocations_total counter") &&
	     has_line(t, "leakwatch_allocations_total{allocator=\"libc\"} 123456789012") &&
	     has_line(t, "leakwatch_frees_total{allocator=\"libc\"} 5") &&
	     has_line(t, "leakwatch_drops_total{reason=\"free_unknown\"} 7") &&
	     has_line(t, "leakwatch_drops_total{reason=\"alloc_map_full\"} 0") &&
	     count_prefix(t, "leakwatch_drops_total{") == LW_DROP_MAX &&
	     has_line(t, "leakwatch_map_entries{map=\"allocations\"} 10") &&
	     has_line(t, "leakwatch_map_max_entries{map=\"allocations\"} 1024") &&
	     /* no process, no site: counts of zero, no empty families */
	     has_line(t, "leakwatch_sites{verdict=\"leak\"} 0") &&
	     has_line(t, "leakwatch_sites_not_exported 0") &&
	     !strstr(t, "leakwatch_process_") && !strstr(t, "leakwatch_site_");
	free(t);
	lw_snapshot__put(s);
	CHECK(ok);
	return true;
}

static bool test_processes(void)
{
	struct lw_snapshot *s = mksnap(0, 3);
	struct lw_procinfo *a = mkproc(100, 1, "svc"), *b = mkproc(200, 2, "worker");
	struct lw_procinfo *a2 = mkproc(100, 3, "svc-new");
	char *t;
	bool ok;

	add_proc(s, a, 1 << 20, 4096);
	add_proc(s, b, -1, 64)->pss_bytes = 8192;	/* RSS unreadable: no RSS sample */
	add_proc(s, a2, 1, 1);				/* the same pid again: left out */
	t = render(s, 20);
	CHECK(t);
	ok = well_formed(t) &&
	     has_line(t, "leakwatch_process_live_heap_bytes{pid=\"100\",comm=\"svc\",cgroup=\"\"} 4096") &&
	     has_line(t, "leakwatch_process_live_heap_allocations{pid=\"100\",comm=\"svc\",cgroup=\"\"} 128") &&
	     has_line(t, "leakwatch_process_resident_bytes{pid=\"100\",comm=\"svc\",cgroup=\"\"} 1048576") &&
	     has_line(t, "leakwatch_process_anonymous_bytes{pid=\"100\",comm=\"svc\",cgroup=\"\"} 524288") &&
	     has_line(t, "leakwatch_process_pss_bytes{pid=\"200\",comm=\"worker\",cgroup=\"\"} 8192") &&
	     has_line(t, "leakwatch_process_verdict{pid=\"100\",comm=\"svc\",cgroup=\"\",verdict=\"leak\"} 1") &&
	     has_line(t, "leakwatch_process_leaking_sites{pid=\"200\",comm=\"worker\",cgroup=\"\"} 1") &&
	     count_prefix(t, "leakwatch_process_resident_bytes{") == 1 &&
	     count_prefix(t, "leakwatch_process_pss_bytes{") == 1 &&
	     count_prefix(t, "leakwatch_process_live_heap_bytes{") == 2 && !strstr(t, "svc-new");
	free(t);
	lw_snapshot__put(s);
	lw_procinfo__put(a);
	lw_procinfo__put(b);
	lw_procinfo__put(a2);
	CHECK(ok);
	return true;
}

/* The first N running sites in rank order get series; the rest are counted. */
static bool test_top_sites(void)
{
	struct lw_snapshot *s = mksnap(6, 0);
	struct lw_procinfo *p = mkproc(100, 1, "svc");
	char *t, *t0, *all, line[256], id[LW_SITE_ID_LEN + 1];
	bool ok;

	add_site(s, p, mkstack("leaky", NULL, 0x1000), 11, 1 << 20, 2048.5, LW_VERDICT_LEAK);
	add_site(s, p, NULL, 12, 500, NAN, LW_VERDICT_GROWING)->exited = true;
	add_site(s, p, mkstack("grows", NULL, 0x2000), 13, 4096, 10, LW_VERDICT_GROWING);
	add_site(s, p, mkstack("flat1", NULL, 0x3000), 14, 64, 0, LW_VERDICT_STABLE);
	add_site(s, p, mkstack("flat2", NULL, 0x4000), 15, 64, 0, LW_VERDICT_STABLE);
	add_site(s, p, mkstack("flat3", NULL, 0x5000), 16, 64, 0, LW_VERDICT_PLATEAU);
	t = render(s, 2);
	t0 = render(s, 0);
	all = render(s, 100);
	CHECK(t && t0 && all);
	lw_metrics__site_id(&s->sites[0], id);
	snprintf(line, sizeof(line), "leakwatch_site_live_bytes{site=\"%s\",pid=\"100\","
		 "comm=\"svc\",cgroup=\"\",frame=\"leaky\",allocator=\"libc\"} 1048576", id);
	ok = well_formed(t) && well_formed(t0) && well_formed(all) && has_line(t, line);
	snprintf(line, sizeof(line), "leakwatch_site_growth_bytes_per_second{site=\"%s\","
		 "pid=\"100\",comm=\"svc\",cgroup=\"\",frame=\"leaky\",allocator=\"libc\"} 2048.5", id);
	ok = ok && has_line(t, line);
	snprintf(line, sizeof(line), "leakwatch_site_verdict{site=\"%s\",pid=\"100\",comm=\"svc\",cgroup=\"\","
		 "frame=\"leaky\",allocator=\"libc\",verdict=\"leak\"} 1", id);
	ok = ok && has_line(t, line) &&
	     /* the exited site is skipped, not counted: the next running one is second */
	     count_prefix(t, "leakwatch_site_live_bytes{") == 2 && strstr(t, "frame=\"grows\"") &&
	     !strstr(t, "frame=\"flat1\"") && has_line(t, "leakwatch_sites_not_exported 3") &&
	     has_line(t, "leakwatch_sites{verdict=\"leak\"} 1") &&
	     has_line(t, "leakwatch_sites{verdict=\"growing\"} 1") &&
	     has_line(t, "leakwatch_sites{verdict=\"plateau\"} 1") &&
	     has_line(t, "leakwatch_sites{verdict=\"stable\"} 2") &&
	     /* top 0: no site series at all */
	     !strstr(t0, "leakwatch_site_") && has_line(t0, "leakwatch_sites_not_exported 5") &&
	     count_prefix(all, "leakwatch_site_verdict{") == 5 &&
	     has_line(all, "leakwatch_sites_not_exported 0");
	free(t);
	free(t0);
	free(all);
	lw_snapshot__put(s);
	lw_procinfo__put(p);
	CHECK(ok);
	return true;
}

/* Two sites that would print the same labels: the second is left out, and counted. */
static bool test_no_duplicate_series(void)
{
	struct lw_snapshot *s = mksnap(3, 0);
	struct lw_procinfo *p = mkproc(100, 1, "svc"), *q = mkproc(100, 2, "svc");
	char *t;
	bool ok;

	add_site(s, p, mkstack("same", NULL, 0x1000), 7, 100, 1, LW_VERDICT_GROWING);
	add_site(s, p, mkstack("same", NULL, 0x1000), 7, 200, 1, LW_VERDICT_GROWING);
	/* same pid, same stack, another identity (exec'd): another id */
	add_site(s, q, mkstack("same", NULL, 0x1000), 7, 300, 1, LW_VERDICT_GROWING);
	t = render(s, 10);
	CHECK(t);
	ok = well_formed(t) && count_prefix(t, "leakwatch_site_live_bytes{") == 2 &&
	     has_line(t, "leakwatch_sites_not_exported 1");
	free(t);
	lw_snapshot__put(s);
	lw_procinfo__put(p);
	lw_procinfo__put(q);
	CHECK(ok);
	return true;
}

static bool test_site_id(void)
{
	struct lw_procinfo *p = mkproc(100, 1, "svc"), *q = mkproc(101, 1, "svc");
	struct lw_site_snap a = { .proc = p, .stack_id = 42 }, b = a, c = a, d = { .proc = q,
										 .stack_id = 42 };
	char ia[LW_SITE_ID_LEN + 1], ib[LW_SITE_ID_LEN + 1], ic[LW_SITE_ID_LEN + 1];
	char id[LW_SITE_ID_LEN + 1];

	c.stack_id = 43;
	b.live_bytes = 999;	/* the numbers are not part of the identity */
	lw_metrics__site_id(&a, ia);
	lw_metrics__site_id(&b, ib);
	lw_metrics__site_id(&c, ic);
	lw_metrics__site_id(&d, id);
	lw_procinfo__put(p);
	lw_procinfo__put(q);
	CHECK(strlen(ia) == LW_SITE_ID_LEN && strspn(ia, "0123456789abcdef") == LW_SITE_ID_LEN);
	CHECK(!strcmp(ia, ib));
	CHECK(strcmp(ia, ic) && strcmp(ia, id));
	return true;
}

/* Label values from processes and debug info: escaped, and always valid UTF-8. */
static bool test_escaping(void)
{
	struct lw_snapshot *s = mksnap(4, 1);
	/* 16 bytes, unterminated: a quote, a backslash, a newline, a stray byte, an e-acute */
	struct lw_procinfo *p = mkproc(7, 1, "a\"b\\c\nd\xff\xc3\xa9zzzzzz");
	char *t;
	bool ok;

	add_proc(s, p, 1, 1);
	add_site(s, p, mkstack("operator\"\"_x<\\>", NULL, 0x10), 1, 1, 0, LW_VERDICT_STABLE);
	add_site(s, p, mkstack(NULL, "/opt/app/lib\xc0\xafx.so", 0x7f0000001234), 2, 1, 0,
		 LW_VERDICT_STABLE);
	add_site(s, p, mkstack(NULL, NULL, 0xdeadbeef), 3, 1, 0, LW_VERDICT_STABLE);
	add_site(s, p, NULL, 4, 1, 0, LW_VERDICT_STABLE);
	t = render(s, 10);
	CHECK(t);
	ok = well_formed(t) &&
	     has_line(t, "leakwatch_process_live_heap_bytes{pid=\"7\",comm=\"a\\\"b\\\\c\\nd?"
			 "\xc3\xa9zzzzzz\",cgroup=\"\"} 1") &&
	     strstr(t, "frame=\"operator\\\"\\\"_x<\\\\>\"") &&
	     /* an overlong encoding is two bad bytes; the offset is in the file */
	     strstr(t, "frame=\"lib??x.so+0x2234\"") && strstr(t, "frame=\"0xdeadbeef\"") &&
	     strstr(t, "frame=\"[unknown]\"") && !strchr(t, '\xff');
	free(t);
	lw_snapshot__put(s);
	lw_procinfo__put(p);
	CHECK(ok);
	return true;
}

static bool test_numbers(void)
{
	struct lw_snapshot *s = mksnap(3, 0);
	struct lw_procinfo *p = mkproc(1, 1, "x");
	char *t;
	bool ok;

	add_site(s, p, mkstack("nan", NULL, 0x10), 1, 0, NAN, LW_VERDICT_GROWING);
	add_site(s, p, mkstack("tenth", NULL, 0x20), 2, -5, 0.1, LW_VERDICT_GROWING);
	add_site(s, p, mkstack("huge", NULL, 0x30), 3, INT64_MAX, 1e300, LW_VERDICT_GROWING);
	t = render(s, 10);
	CHECK(t);
	ok = well_formed(t) && strstr(t, "frame=\"nan\",allocator=\"libc\"} NaN\n") &&
	     strstr(t, "frame=\"tenth\",allocator=\"libc\"} 0.1\n") &&
	     strstr(t, "frame=\"tenth\",allocator=\"libc\"} -5\n") &&
	     strstr(t, "frame=\"huge\",allocator=\"libc\"} 1e+300\n") &&
	     strstr(t, "frame=\"huge\",allocator=\"libc\"} 9223372036854775807\n");
	free(t);
	lw_snapshot__put(s);
	lw_procinfo__put(p);
	CHECK(ok);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_health), UNIT_TEST(test_processes), UNIT_TEST(test_top_sites),
	  UNIT_TEST(test_no_duplicate_series), UNIT_TEST(test_site_id), UNIT_TEST(test_escaping),
	  UNIT_TEST(test_numbers))
