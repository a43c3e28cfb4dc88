// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The exposition follows the Prometheus naming rules: one "leakwatch_" prefix, base units,
 * "_total" on counters, HELP and TYPE before every family, each family's samples together.
 * Label values come from processes (comm, exe paths) and debug info (symbols), so they are
 * escaped and any byte that is not valid UTF-8 becomes '?': Prometheus rejects a whole scrape
 * for one bad label.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "metrics.h"

/* ---- text ---- */

/* Length of the valid UTF-8 sequence at p (at most left bytes), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;	/* range of the second byte */

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* no overlong forms, no surrogates, nothing above U+10FFFF */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* At most max bytes of s (which may lack a NUL within them), escaped for a label value. */
static void escaped(struct lw_buf *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = s ? strnlen(s, max) : 0, i = 0, n;

	while (i < len) {
		switch (p[i]) {
		case '\\':
			lw_buf__append(b, "\\\\", 2);
			i++;
			continue;
		case '"':
			lw_buf__append(b, "\\\"", 2);
			i++;
			continue;
		case '\n':
			lw_buf__append(b, "\\n", 2);
			i++;
			continue;
		}
		n = utf8_seq(p + i, len - i);
		if (n)
			lw_buf__append(b, p + i, n);
		else
			lw_buf__append(b, "?", 1);
		i += n ? n : 1;
	}
}

/* A label value between quotes. */
static void label_value(struct lw_buf *b, const char *s, size_t max)
{
	lw_buf__append(b, "\"", 1);
	escaped(b, s, max);
	lw_buf__append(b, "\"", 1);
}

static void label(struct lw_buf *b, const char *name, const char *value, bool first)
{
	lw_buf__printf(b, "%s%s=", first ? "" : ",", name);
	label_value(b, value, (size_t)-1);
}

/* Integers as integers, other numbers in the shortest text that reads back the same. */
static void number(struct lw_buf *b, double v)
{
	if (isnan(v)) {
		lw_buf__puts(b, "NaN");
	} else if (isinf(v)) {
		lw_buf__puts(b, v > 0 ? "+Inf" : "-Inf");
	} else if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v) {
		lw_buf__printf(b, "%" PRId64, (int64_t)v);
	} else {
		char tmp[32];

		for (int prec = 1; prec <= 17; prec++) {
			snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
			if (strtod(tmp, NULL) == v)
				break;
		}
		lw_buf__puts(b, tmp);
	}
}

static void integer(struct lw_buf *b, int64_t v)
{
	lw_buf__printf(b, "%" PRId64, v);
}

static void family(struct lw_buf *b, const char *name, const char *type, const char *help)
{
	lw_buf__printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name value, for families without labels */
static void sample(struct lw_buf *b, const char *name, double v)
{
	lw_buf__printf(b, "%s ", name);
	number(b, v);
	lw_buf__append(b, "\n", 1);
}

/* name{key="value"} v */
static void sample1(struct lw_buf *b, const char *name, const char *key, const char *val,
		    double v)
{
	lw_buf__printf(b, "%s{", name);
	label(b, key, val, true);
	lw_buf__append(b, "} ", 2);
	number(b, v);
	lw_buf__append(b, "\n", 1);
}

/* ---- a set of 64-bit keys, to keep label sets unique ---- */

struct keyset {
	uint64_t *slot;		/* key + 1; 0 is empty */
	size_t mask;
};

static bool keyset_init(struct keyset *ks, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	ks->slot = calloc(cap, sizeof(*ks->slot));
	ks->mask = cap - 1;
	return ks->slot != NULL;
}

/* Adds key; false if it was there already. Keys must stay below 2^64 - 1. */
static bool keyset_add(struct keyset *ks, uint64_t key)
{
	size_t i = lw_mix64(key) & ks->mask;

	while (ks->slot[i]) {
		if (ks->slot[i] == key + 1)
			return false;
		i = (i + 1) & ks->mask;
	}
	ks->slot[i] = key + 1;
	return true;
}

/* ---- daemon health ---- */

/*
 * Probes (or missing functions) per attached object, one series per path: two libc files at
 * one path (containers) are summed.
 */
static void per_object(struct lw_buf *b, const struct lw_status *st, const char *name,
		       const char *help, bool missing)
{
	family(b, name, "gauge", help);
	for (size_t i = 0; i < st->nattached; i++) {
		const char *path = st->attached[i].path;
		unsigned int n = 0;
		size_t j;

		for (j = 0; j < i && strcmp(st->attached[j].path, path); j++)
			;
		if (j < i)
			continue;	/* counted with the first of its path */
		for (j = i; j < st->nattached; j++)
			if (!strcmp(st->attached[j].path, path))
				n += missing ? st->attached[j].nmissing : st->attached[j].nprobes;
		sample1(b, name, "object", path, n);
	}
}

static void render_health(struct lw_buf *b, const struct lw_snapshot *snap)
{
	const struct lw_status *st = &snap->status;
	uint64_t cum = 0;

	family(b, "leakwatch_build_info", "gauge",
	       "The version of leakwatchd, as a label; the value is always 1.");
	sample1(b, "leakwatch_build_info", "version", st->version ? st->version : "unknown", 1);
	family(b, "leakwatch_uptime_seconds", "gauge",
	       "Seconds leakwatchd had been running when the data was published.");
	sample(b, "leakwatch_uptime_seconds", st->uptime_sec);
	if (st->last_drain_unix > 0) {
		family(b, "leakwatch_last_drain_timestamp_seconds", "gauge",
		       "Unix time of the last drain of the kernel maps, which the data describes.");
		sample(b, "leakwatch_last_drain_timestamp_seconds", st->last_drain_unix);
	}

	family(b, "leakwatch_drain_duration_seconds", "histogram",
	       "Time each drain took: reading the kernel maps, updating every site's series and "
	       "verdict, and publishing the data.");
	for (unsigned int i = 0; i < LW_DRAIN_BUCKETS; i++) {
		cum += st->drain_hist[i];
		lw_buf__puts(b, "leakwatch_drain_duration_seconds_bucket{le=\"");
		number(b, i < LW_DRAIN_BUCKETS - 1 ? lw_drain_bucket_le[i] : INFINITY);
		lw_buf__printf(b, "\"} %" PRIu64 "\n", cum);
	}
	sample(b, "leakwatch_drain_duration_seconds_sum", st->drain_sum_sec);
	lw_buf__printf(b, "leakwatch_drain_duration_seconds_count %" PRIu64 "\n", cum);

	if (st->nattached) {
		per_object(b, st, "leakwatch_probes_attached",
			   "Uprobes attached on each object (a libc file, or one that defines "
			   "allocation wrappers), by path.", false);
		per_object(b, st, "leakwatch_probes_missing",
			   "Allocator functions an attached object lacks, so left unprobed, by path.",
			   true);
	}

	family(b, "leakwatch_tracked_processes", "gauge",
	       "Running processes the daemon tracks (seen allocating since it started).");
	sample(b, "leakwatch_tracked_processes", (double)st->tracked_processes);

	family(b, "leakwatch_map_entries", "gauge",
	       "Entries in use in each table: the BPF maps (allocations, sites, stacks) and the "
	       "daemon's per-site series.");
	for (size_t i = 0; i < st->nmaps && i < 4; i++)
		sample1(b, "leakwatch_map_entries", "map", st->maps[i].name,
			(double)st->maps[i].used);
	family(b, "leakwatch_map_max_entries", "gauge",
	       "Capacity of each table; what does not fit is dropped and counted in "
	       "leakwatch_drops_total.");
	for (size_t i = 0; i < st->nmaps && i < 4; i++)
		sample1(b, "leakwatch_map_max_entries", "map", st->maps[i].name,
			(double)st->maps[i].max);
}

/* ---- what the probes saw ---- */

static void render_counts(struct lw_buf *b, const struct lw_snapshot *snap)
{
	static const struct {
		enum lw_count idx;
		const char *name, *help;
	} counts[] = {
		{ LW_CNT_ALLOCS, "leakwatch_allocations_total",
		  "Allocations the probes recorded, by allocator." },
		{ LW_CNT_FREES, "leakwatch_frees_total",
		  "Frees of recorded allocations, by allocator." },
		{ LW_CNT_FAILED_ALLOCS, "leakwatch_failed_allocations_total",
		  "Allocation calls that returned no memory, by allocator; not recorded." },
		{ LW_CNT_NESTED, "leakwatch_nested_calls_total",
		  "Allocator calls made inside another one on the same thread (glibc's realloc "
		  "calling malloc), by allocator; recorded once, as the outer call." },
	};
	const struct lw_status *st = &snap->status;

	/* the kernel counts glibc's allocator only, today: allocator="libc" */
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		family(b, counts[i].name, "counter", counts[i].help);
		sample1(b, counts[i].name, "allocator", "libc", (double)st->counts[counts[i].idx]);
	}
	family(b, "leakwatch_drops_total", "counter",
	       "Events the kernel side could not record, by reason.");
	for (unsigned int i = 0; i < LW_DROP_MAX; i++)
		sample1(b, "leakwatch_drops_total", "reason", lw_drop_name(i),
			(double)st->drops[i]);
}

/* ---- processes ---- */

static void proc_labels(struct lw_buf *b, const struct lw_procinfo *p)
{
	lw_buf__printf(b, "pid=\"%d\",comm=", (int)p->pid);
	label_value(b, p->comm, sizeof(p->comm));
	/* "" when unknown: every series of a family keeps the same label names */
	lw_buf__append(b, ",cgroup=", 8);
	label_value(b, p->cgroup ? p->cgroup : "", (size_t)-1);
}

enum proc_field {
	PF_LIVE_BYTES,
	PF_LIVE_ALLOCS,
	PF_RSS,
	PF_ANON,
	PF_PSS,
	PF_HELD,
	PF_LEAKING_SITES,
	PF_MAX,
};

static const struct {
	const char *name, *help;
} proc_fields[PF_MAX] = {
	[PF_LIVE_BYTES] = { "leakwatch_process_live_heap_bytes",
			    "Bytes a process holds in live heap allocations made while it was "
			    "traced: the sum over its allocation sites." },
	[PF_LIVE_ALLOCS] = { "leakwatch_process_live_heap_allocations",
			     "Live heap allocations a process holds: the sum over its sites." },
	[PF_RSS] = { "leakwatch_process_resident_bytes",
		     "Resident set size (RSS) of a process." },
	[PF_ANON] = { "leakwatch_process_anonymous_bytes",
		      "Resident anonymous memory of a process." },
	[PF_PSS] = { "leakwatch_process_pss_bytes",
		     "Proportional set size of a process, measured at each sweep of the tables." },
	[PF_HELD] = { "leakwatch_process_held_bytes",
		      "Memory a process freed that stays resident, as measured for the "
		      "fragmentation verdict." },
	[PF_LEAKING_SITES] = { "leakwatch_process_leaking_sites",
			       "Allocation sites of a process whose verdict is leak." },
};

/* The value of field f, or false when it is unknown (and has no sample). */
static bool proc_value(const struct lw_proc_snap *p, enum proc_field f, int64_t *v)
{
	switch (f) {
	case PF_LIVE_BYTES:
		*v = p->live_bytes;
		return true;
	case PF_LIVE_ALLOCS:
		*v = p->live_allocs;
		return true;
	case PF_RSS:
		*v = p->rss_bytes;
		return p->rss_bytes >= 0;
	case PF_ANON:
		*v = p->anon_bytes;
		return p->anon_bytes >= 0;
	case PF_PSS:
		*v = p->pss_bytes;
		return p->pss_bytes >= 0;
	case PF_HELD:
		*v = p->held_bytes;
		return true;
	case PF_LEAKING_SITES:
		*v = p->nleaks;
		return true;
	default:
		return false;
	}
}

/*
 * One series per pid: a snapshot could hold two identities of one pid (an exec the daemon has
 * not heard of yet); the first, in rank order, is exported.
 */
static void render_procs(struct lw_buf *b, const struct lw_snapshot *snap)
{
	const struct lw_proc_snap **v;
	struct keyset pids;
	size_t n = 0;

	if (!snap->nprocs)
		return;
	v = calloc(snap->nprocs, sizeof(*v));
	if (!v || !keyset_init(&pids, snap->nprocs)) {
		free(v);
		b->failed = true;
		return;
	}
	for (size_t i = 0; i < snap->nprocs; i++) {
		const struct lw_proc_snap *p = &snap->procs[i];

		if (p->proc && keyset_add(&pids, (uint32_t)p->proc->pid))
			v[n++] = p;
	}
	free(pids.slot);

	for (int f = 0; f < PF_MAX && n; f++) {
		bool header = false;
		int64_t val;

		for (size_t i = 0; i < n; i++) {
			if (!proc_value(v[i], f, &val))
				continue;
			if (!header) {
				family(b, proc_fields[f].name, "gauge", proc_fields[f].help);
				header = true;
			}
			lw_buf__printf(b, "%s{", proc_fields[f].name);
			proc_labels(b, v[i]->proc);
			lw_buf__append(b, "} ", 2);
			integer(b, val);
			lw_buf__append(b, "\n", 1);
		}
	}
	if (n) {
		family(b, "leakwatch_process_verdict", "gauge",
		       "A process's verdict (leak, fragmentation, growing, stable) as a label; the "
		       "value is always 1.");
		for (size_t i = 0; i < n; i++) {
			lw_buf__puts(b, "leakwatch_process_verdict{");
			proc_labels(b, v[i]->proc);
			label(b, "verdict", lw_proc_verdict_name(v[i]->verdict), false);
			lw_buf__append(b, "} 1\n", 4);
		}
	}
	free(v);
}

/* ---- sites ---- */

static uint64_t site_hash(const struct lw_site_snap *s)
{
	uint64_t pid = s->proc ? (uint32_t)s->proc->pid : 0;
	uint64_t ident = s->proc ? s->proc->ident : 0;

	return lw_mix64(pid ^ lw_mix64(ident ^ lw_mix64(s->stack_id))) & ((1ULL << 4 * LW_SITE_ID_LEN) - 1);
}

void lw_metrics__site_id(const struct lw_site_snap *s, char id[LW_SITE_ID_LEN + 1])
{
	snprintf(id, LW_SITE_ID_LEN + 1, "%0*" PRIx64, LW_SITE_ID_LEN, site_hash(s));
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The innermost frame, in one short label: the function, else where in which file. */
static void frame_label(struct lw_buf *b, const struct lw_site_snap *s)
{
	const struct lw_frame *f = s->stack && s->stack->nframes ? &s->stack->frames[0] : NULL;
	char tmp[64];

	lw_buf__puts(b, ",frame=");
	if (!f) {
		label_value(b, "[unknown]", (size_t)-1);
	} else if (f->symbol) {
		label_value(b, f->symbol, (size_t)-1);
	} else if (f->module && f->map_limit > f->map_start) {
		/* the file and the offset in it: the same in every process, unlike the address */
		lw_buf__append(b, "\"", 1);
		escaped(b, base_name(f->module), (size_t)-1);
		lw_buf__printf(b, "+0x%" PRIx64 "\"", f->addr - f->map_start + f->map_offset);
	} else {
		snprintf(tmp, sizeof(tmp), "0x%" PRIx64, f->addr);
		label_value(b, tmp, (size_t)-1);
	}
}

static void site_labels(struct lw_buf *b, const struct lw_site_snap *s)
{
	char id[LW_SITE_ID_LEN + 1];

	lw_metrics__site_id(s, id);
	lw_buf__printf(b, "site=\"%s\",", id);
	proc_labels(b, s->proc);
	frame_label(b, s);
	label(b, "allocator", s->allocator ? s->allocator : "unknown", false);
}

static void render_sites(struct lw_buf *b, const struct lw_snapshot *snap, unsigned int top)
{
	static const struct {
		const char *name, *help;
	} fields[] = {
		{ "leakwatch_site_live_bytes",
		  "Live bytes of an allocation site (process and call stack), for the top growers." },
		{ "leakwatch_site_live_allocations",
		  "Live allocations of an allocation site, for the top growers." },
		{ "leakwatch_site_growth_bytes_per_second",
		  "Growth rate of a site's live bytes over the trend window (Theil-Sen slope), for "
		  "the top growers." },
	};
	uint64_t nverdict[LW_VERDICT_LEAK + 1] = { 0 }, omitted = 0;
	const struct lw_site_snap **v = NULL;
	struct keyset ids = { 0 };
	size_t n = 0;

	if (top && snap->nsites) {
		size_t cap = top < snap->nsites ? top : snap->nsites;

		v = calloc(cap, sizeof(*v));
		if (!v || !keyset_init(&ids, cap)) {
			free(v);
			b->failed = true;
			return;
		}
	}
	/* the snapshot's order is the ranking: leaks first, then by growth */
	for (size_t i = 0; i < snap->nsites; i++) {
		const struct lw_site_snap *s = &snap->sites[i];

		if (s->exited || !s->proc)
			continue;
		if ((unsigned int)s->verdict <= LW_VERDICT_LEAK)
			nverdict[s->verdict]++;
		if (n < top && keyset_add(&ids, site_hash(s)))
			v[n++] = s;
		else
			omitted++;
	}
	free(ids.slot);

	family(b, "leakwatch_sites", "gauge", "Allocation sites of running processes, by verdict.");
	for (int i = LW_VERDICT_LEAK; i >= LW_VERDICT_STABLE; i--)
		sample1(b, "leakwatch_sites", "verdict", lw_verdict_name(i), (double)nverdict[i]);
	family(b, "leakwatch_sites_not_exported", "gauge",
	       "Allocation sites of running processes left without series of their own: beyond "
	       "the top metrics_top_sites.");
	sample(b, "leakwatch_sites_not_exported", (double)omitted);

	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]) && n; f++) {
		family(b, fields[f].name, "gauge", fields[f].help);
		for (size_t i = 0; i < n; i++) {
			lw_buf__printf(b, "%s{", fields[f].name);
			site_labels(b, v[i]);
			lw_buf__append(b, "} ", 2);
			if (f == 2)
				number(b, v[i]->growth_bytes_per_sec);
			else
				integer(b, f == 0 ? v[i]->live_bytes : v[i]->live_allocs);
			lw_buf__append(b, "\n", 1);
		}
	}
	if (n) {
		family(b, "leakwatch_site_verdict", "gauge",
		       "A top site's verdict (leak, growing, plateau, stable) as a label; the value "
		       "is always 1.");
		for (size_t i = 0; i < n; i++) {
			lw_buf__puts(b, "leakwatch_site_verdict{");
			site_labels(b, v[i]);
			label(b, "verdict", lw_verdict_name(v[i]->verdict), false);
			lw_buf__append(b, "} 1\n", 4);
		}
	}
	free(v);
}

void lw_metrics__render(const struct lw_snapshot *snap, const struct lw_metrics_opts *opts,
			struct lw_buf *out)
{
	render_health(out, snap);
	render_counts(out, snap);
	render_procs(out, snap);
	render_sites(out, snap, opts->top_sites);
}
