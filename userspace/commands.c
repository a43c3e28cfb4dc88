// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "pprof.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* json_object_set_new() also drops val on failure, and fails on val == NULL: chains with &&. */
static bool add(json_t *obj, const char *key, json_t *val)
{
	return json_object_set_new(obj, key, val) == 0;
}

static json_t *json_u64(uint64_t v)
{
	return json_integer(v > LLONG_MAX ? LLONG_MAX : (json_int_t)v);
}

/* jansson refuses NaN and infinities; a rate we could not compute is unknown, i.e. null. */
static json_t *json_num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

bool lw_peer__can_see(const struct lw_peer *peer, const struct lw_procinfo *proc)
{
	if (!proc)
		return false;
	return peer->see_all || proc->uid == peer->uid;
}

static json_t *frame_to_json(const struct lw_frame *f)
{
	json_t *o = json_object();
	char addr[24];

	if (!o)
		return NULL;
	snprintf(addr, sizeof(addr), "0x%" PRIx64, f->addr);
	if (add(o, "addr", json_string(addr)) &&
	    add(o, "symbol", lw_json_string(f->symbol)) &&
	    add(o, "offset", f->symbol ? json_u64(f->offset) : json_null()) &&
	    add(o, "module", lw_json_string(f->module)) &&
	    add(o, "file", lw_json_string(f->file)) &&
	    add(o, "line", f->line > 0 ? json_integer(f->line) : json_null()) &&
	    add(o, "kind", json_string(f->kind == LW_FRAME_PYTHON ? "python" : "native")))
		return o;
	json_decref(o);
	return NULL;
}

static json_t *frames_to_json(const struct lw_stackinfo *si)
{
	json_t *a = json_array();

	/* A site whose stack was lost (stack map full) still has numbers: frames are just []. */
	for (unsigned int i = 0; a && si && i < si->nframes; i++) {
		if (json_array_append_new(a, frame_to_json(&si->frames[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *lw_site__to_json(const struct lw_site_snap *s)
{
	const struct lw_procinfo *p = s->proc;
	json_t *o = json_object();
	char comm[sizeof(p->comm) + 1];

	if (!o)
		return NULL;
	/* The kernel's comm fills all 16 bytes at most; never trust it to be terminated. */
	snprintf(comm, sizeof(comm), "%.*s", (int)sizeof(p->comm), p->comm);
	if (add(o, "pid", json_integer(p->pid)) &&
	    add(o, "comm", lw_json_string(comm)) &&
	    add(o, "exe", lw_json_string(p->exe)) &&
	    add(o, "cgroup", lw_json_string(p->cgroup)) &&
	    add(o, "allocator", lw_json_string(s->allocator)) &&
	    add(o, "live_bytes", json_integer(s->live_bytes)) &&
	    add(o, "live_allocs", json_integer(s->live_allocs)) &&
	    add(o, "growth_bytes_per_sec", json_num(s->growth_bytes_per_sec)) &&
	    add(o, "verdict", json_string(lw_verdict_name(s->verdict))) &&
	    add(o, "confidence", json_num(s->confidence)) &&
	    add(o, "oldest_alloc_age_sec",
		s->oldest_alloc_age_sec >= 0 ? json_num(s->oldest_alloc_age_sec) : json_null()) &&
	    add(o, "retained_share",
		s->retained_share >= 0 ? json_num(s->retained_share) : json_null()) &&
	    add(o, "reason", lw_json_string(s->reason)) &&
	    add(o, "allocs", json_u64(s->allocs)) &&
	    add(o, "alloc_bytes", json_u64(s->alloc_bytes)) &&
	    add(o, "frees", json_u64(s->frees)) &&
	    add(o, "exited", json_boolean(s->exited)) &&
	    add(o, "ident", json_u64(p->ident)) &&
	    add(o, "frames", frames_to_json(s->stack)))
		return o;
	json_decref(o);
	return NULL;
}

static json_t *oom(char *err, size_t errlen)
{
	set_err(err, errlen, "out of memory building the reply");
	return NULL;
}

/* Sites in the snapshot's ranked order, as the peer may see them, optionally one pid. */
static json_t *cmd_top(const struct lw_request *req, const struct lw_snapshot *snap,
		       const struct lw_peer *peer, char *err, size_t errlen)
{
	unsigned int n = req->n ? req->n : LW_TOP_DEFAULT_N, used = 0;
	json_t *res = json_object(), *growers = json_array();

	if (!res || !growers || json_object_set(res, "growers", growers))
		goto fail;
	for (size_t i = 0; i < snap->nsites && used < n; i++) {
		const struct lw_site_snap *s = &snap->sites[i];

		if (!lw_peer__can_see(peer, s->proc) || (req->pid && s->proc->pid != req->pid))
			continue;
		if (json_array_append_new(growers, lw_site__to_json(s)))
			goto fail;
		used++;
	}
	json_decref(growers);
	return res;
fail:
	json_decref(growers);
	json_decref(res);
	return oom(err, errlen);
}

static json_t *proc_to_json(const struct lw_proc_snap *ps)
{
	const struct lw_procinfo *p = ps->proc;
	json_t *o = json_object();
	char comm[sizeof(p->comm) + 1];

	if (!o)
		return NULL;
	snprintf(comm, sizeof(comm), "%.*s", (int)sizeof(p->comm), p->comm);
	if (add(o, "pid", json_integer(p->pid)) &&
	    add(o, "comm", lw_json_string(comm)) &&
	    add(o, "exe", lw_json_string(p->exe)) &&
	    add(o, "cgroup", lw_json_string(p->cgroup)) &&
	    add(o, "rss_bytes", ps->rss_bytes >= 0 ? json_integer(ps->rss_bytes) : json_null()) &&
	    add(o, "anon_bytes", ps->anon_bytes >= 0 ? json_integer(ps->anon_bytes) : json_null()) &&
	    add(o, "pss_bytes", ps->pss_bytes >= 0 ? json_integer(ps->pss_bytes) : json_null()) &&
	    add(o, "live_bytes", json_integer(ps->live_bytes)) &&
	    add(o, "live_allocs", json_integer(ps->live_allocs)) &&
	    add(o, "rss_growth_bytes_per_sec", json_num(ps->rss_growth_bytes_per_sec)) &&
	    add(o, "live_growth_bytes_per_sec", json_num(ps->live_growth_bytes_per_sec)) &&
	    add(o, "held_bytes", json_integer(ps->held_bytes)) &&
	    add(o, "verdict", json_string(lw_proc_verdict_name(ps->verdict))) &&
	    add(o, "sites", json_integer(ps->nsites)) &&
	    add(o, "leak_sites", json_integer(ps->nleaks)) &&
	    add(o, "ident", json_u64(p->ident)))
		return o;
	json_decref(o);
	return NULL;
}

/* Running processes in the snapshot's order (leaks, fragmentation, growing, stable). */
static json_t *cmd_procs(const struct lw_request *req, const struct lw_snapshot *snap,
			 const struct lw_peer *peer, char *err, size_t errlen)
{
	unsigned int n = req->n ? req->n : UINT_MAX, used = 0;
	json_t *res = json_object(), *procs = json_array();

	if (!res || !procs || json_object_set(res, "processes", procs))
		goto fail;
	for (size_t i = 0; i < snap->nprocs && used < n; i++) {
		const struct lw_proc_snap *ps = &snap->procs[i];

		if (!lw_peer__can_see(peer, ps->proc) || (req->pid && ps->proc->pid != req->pid))
			continue;
		if (json_array_append_new(procs, proc_to_json(ps)))
			goto fail;
		used++;
	}
	json_decref(procs);
	return res;
fail:
	json_decref(procs);
	json_decref(res);
	return oom(err, errlen);
}

struct site_ref {
	const struct lw_site_snap *site;
	size_t rank;
};

static int site_ref_cmp(const void *pa, const void *pb)
{
	const struct site_ref *a = pa, *b = pb;

	if (a->site->live_bytes != b->site->live_bytes)
		return a->site->live_bytes > b->site->live_bytes ? -1 : 1;
	/* Equal live bytes: keep the snapshot's ranking so the output is deterministic. */
	return a->rank < b->rank ? -1 : a->rank > b->rank;
}

static bool site_is_live(const struct lw_site_snap *s)
{
	return s->live_bytes > 0 || s->live_allocs > 0;
}

/*
 * Every live site of one process by live bytes. A pid may appear twice in a snapshot (reused,
 * or exec'd: the old identity is kept as exited for the record). When a running identity
 * exists only its sites are shown, so a reused pid never mixes two programs' heaps.
 */
static json_t *cmd_stacks(const struct lw_request *req, const struct lw_snapshot *snap,
			  const struct lw_peer *peer, char *err, size_t errlen)
{
	unsigned int n = req->n ? req->n : LW_STACKS_DEFAULT_N;
	json_t *res = NULL, *sites = NULL;
	struct site_ref *refs = NULL;
	size_t nrefs = 0, k = 0;
	bool running = false;

	for (size_t i = 0; i < snap->nsites; i++) {
		const struct lw_site_snap *s = &snap->sites[i];

		if (lw_peer__can_see(peer, s->proc) && s->proc->pid == req->pid &&
		    site_is_live(s)) {
			nrefs++;
			running |= !s->exited;
		}
	}
	if (nrefs) {
		refs = calloc(nrefs, sizeof(*refs));
		if (!refs)
			goto fail;
	}
	for (size_t i = 0; i < snap->nsites && k < nrefs; i++) {
		const struct lw_site_snap *s = &snap->sites[i];

		if (lw_peer__can_see(peer, s->proc) && s->proc->pid == req->pid &&
		    site_is_live(s) && !(running && s->exited))
			refs[k++] = (struct site_ref){ .site = s, .rank = i };
	}
	nrefs = k;
	if (nrefs > 1)
		qsort(refs, nrefs, sizeof(*refs), site_ref_cmp);

	res = json_object();
	sites = json_array();
	if (!res || !sites || !add(res, "pid", json_integer(req->pid)) ||
	    !add(res, "total_sites", json_integer(nrefs)) || json_object_set(res, "sites", sites))
		goto fail;
	for (size_t i = 0; i < nrefs && i < n; i++) {
		if (json_array_append_new(sites, lw_site__to_json(refs[i].site)))
			goto fail;
	}
	free(refs);
	json_decref(sites);
	return res;
fail:
	free(refs);
	json_decref(sites);
	json_decref(res);
	return oom(err, errlen);
}

/* "a,b,c" -> ["a", "b", "c"] */
static json_t *names_to_json(const char *names)
{
	json_t *a = json_array();
	const char *p = names;

	while (a && p && *p) {
		size_t len = strcspn(p, ",");

		if (json_array_append_new(a, json_stringn(p, len))) {
			json_decref(a);
			return NULL;
		}
		p += len + (p[len] == ',');
	}
	return a;
}

static json_t *attached_to_json(const struct lw_status *st)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < st->nattached; i++) {
		const struct lw_attached_obj *ao = &st->attached[i];
		json_t *o = json_object();

		if (!o || json_array_append_new(a, o) ||
		    !add(o, "path", lw_json_string(ao->path)) ||
		    !add(o, "dev", json_u64(ao->dev)) ||
		    !add(o, "ino", json_u64(ao->ino)) ||
		    !add(o, "kind", json_string(ao->allocator ? ao->allocator : "wrappers")) ||
		    !add(o, "probes", json_integer(ao->nprobes)) ||
		    !add(o, "missing", json_integer(ao->nmissing)) ||
		    !add(o, "functions", names_to_json(ao->functions)) ||
		    !add(o, "probe_points", names_to_json(ao->probe_points))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* CPython interpreters found, traced or not (and why not). */
static json_t *interps_to_json(const struct lw_status *st)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < st->ninterps; i++) {
		const struct lw_interp_status *in = &st->interps[i];
		json_t *o = json_object();

		if (!o || json_array_append_new(a, o) ||
		    !add(o, "path", lw_json_string(in->path)) ||
		    !add(o, "dev", json_u64(in->dev)) ||
		    !add(o, "ino", json_u64(in->ino)) ||
		    !add(o, "version", lw_json_string(in->version)) ||
		    !add(o, "supported", json_boolean(in->supported)) ||
		    !add(o, "reason", lw_json_string(in->reason)) ||
		    !add(o, "strategy", lw_json_string(in->strategy)) ||
		    !add(o, "probes", json_integer(in->nprobes)) ||
		    !add(o, "missing", json_integer(in->nmissing))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *maps_to_json(const struct lw_status *st)
{
	size_t nmaps = st->nmaps < 4 ? st->nmaps : 4;
	json_t *a = json_array();

	for (size_t i = 0; a && i < nmaps; i++) {
		const struct lw_map_fill *m = &st->maps[i];
		json_t *o = json_object();

		if (!o || json_array_append_new(a, o) ||
		    !add(o, "name", lw_json_string(m->name)) ||
		    !add(o, "used", json_u64(m->used)) ||
		    !add(o, "max", json_u64(m->max)) ||
		    !add(o, "fill", json_real(m->max ? (double)m->used / m->max : 0.0))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Every reason is present, zero or not, so scripts and dashboards see a fixed set of keys. */
static json_t *drops_to_json(const struct lw_status *st)
{
	json_t *o = json_object();

	for (unsigned int i = 0; o && i < LW_DROP_MAX; i++) {
		if (!add(o, lw_drop_name(i), json_u64(st->drops[i]))) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static json_t *counts_to_json(const struct lw_status *st)
{
	json_t *o = json_object();

	for (unsigned int i = 0; o && i < LW_CNT_MAX; i++) {
		if (!add(o, lw_count_name(i), json_u64(st->counts[i]))) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* Daemon health. Not filtered by peer: it names no process, only counts and probed objects. */
static json_t *cmd_status(const struct lw_request *req, const struct lw_snapshot *snap,
			  const struct lw_peer *peer, char *err, size_t errlen)
{
	const struct lw_status *st = &snap->status;
	json_t *res = json_object();

	if (res && add(res, "version", lw_json_string(st->version)) &&
	    add(res, "uptime_sec", json_num(st->uptime_sec)) &&
	    add(res, "attach_mode", lw_json_string(st->attach_mode)) &&
	    add(res, "tracking", lw_json_string(st->tracking)) &&
	    add(res, "sample_bytes", json_u64(st->sample_bytes)) &&
	    add(res, "return_probes", lw_json_string(st->return_probes)) &&
	    add(res, "processes", lw_json_string(st->processes)) &&
	    add(res, "links", json_u64(st->links)) &&
	    add(res, "attached", attached_to_json(st)) &&
	    add(res, "interpreters", interps_to_json(st)) &&
	    add(res, "tracked_processes", json_u64(st->tracked_processes)) &&
	    add(res, "maps", maps_to_json(st)) &&
	    add(res, "drops", drops_to_json(st)) &&
	    add(res, "counts", counts_to_json(st)) &&
	    add(res, "last_drain_unix",
		st->last_drain_unix > 0 ? json_num(st->last_drain_unix) : json_null()) &&
	    add(res, "last_drain_duration_sec", json_num(st->last_drain_duration_sec)) &&
	    add(res, "drains", json_u64(st->drains)) &&
	    add(res, "interval_sec", json_num(st->interval_sec)) &&
	    add(res, "sites", json_u64(snap->nsites)))
		return res;
	json_decref(res);
	return oom(err, errlen);
}

static bool peer_wants(const struct lw_site_snap *s, void *ctx)
{
	return lw_peer__can_see(ctx, s->proc);
}

/* Standard base64 with padding: JSON carries text, the profile is bytes. */
static char *base64(const uint8_t *in, size_t len)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*o++ = digits[v >> 18];
		*o++ = digits[v >> 12 & 63];
		*o++ = digits[v >> 6 & 63];
		*o++ = digits[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		*o++ = digits[v >> 18];
		*o++ = digits[v >> 12 & 63];
		*o++ = i + 1 < len ? digits[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/*
 * The live heap of one process as a gzipped pprof profile, base64-encoded in "profile" (the
 * client decodes it); the same bytes /debug/pprof/heap?pid= serves.
 */
static json_t *cmd_pprof(const struct lw_request *req, const struct lw_snapshot *snap,
			 const struct lw_peer *peer, char *err, size_t errlen)
{
	struct lw_pprof_opts o = { .pid = req->pid, .want = peer_wants, .ctx = (void *)peer };
	json_t *res = NULL;
	uint8_t *data;
	char *text;
	size_t len;
	int n;

	n = lw_pprof__encode(snap, &o, &data, &len);
	if (n < 0)
		return oom(err, errlen);
	if (n == 0) {
		free(data);
		set_err(err, errlen, "no allocation sites for pid %d (not traced, not yours, or no "
			"allocations yet)", (int)req->pid);
		return NULL;
	}
	text = base64(data, len);
	free(data);
	res = json_object();
	if (text && res && add(res, "pid", json_integer(req->pid)) &&
	    add(res, "sites", json_integer(n)) && add(res, "encoding", json_string("gzip")) &&
	    add(res, "profile", json_string(text))) {
		free(text);
		return res;
	}
	free(text);
	json_decref(res);
	return oom(err, errlen);
}

static const struct lw_command commands[LW_CMD_MAX] = {
	[LW_CMD_TOP] = {
		.name = "top",
		.handler = cmd_top,
		.help = "allocation sites ranked by growth, leak verdicts first",
	},
	[LW_CMD_PROCS] = {
		.name = "procs",
		.handler = cmd_procs,
		.help = "per process: RSS, live heap, their growth, and a process verdict",
	},
	[LW_CMD_STACKS] = {
		.name = "stacks",
		.handler = cmd_stacks,
		.needs_pid = true,
		.help = "every live site of one process, by live bytes",
	},
	[LW_CMD_PPROF] = {
		.name = "pprof",
		.handler = cmd_pprof,
		.needs_pid = true,
		.help = "the process's live heap as a gzipped pprof profile",
	},
	[LW_CMD_STATUS] = {
		.name = "status",
		.handler = cmd_status,
		.help = "daemon health: version, uptime, probes, map fill, drops, last drain",
	},
};

const struct lw_command *lw_command__find(enum lw_cmd cmd)
{
	return (unsigned int)cmd < LW_CMD_MAX ? &commands[cmd] : NULL;
}

json_t *lw_command_run(const struct lw_request *req, const struct lw_snapshot *snap,
		       const struct lw_peer *peer, char *err, size_t errlen)
{
	const struct lw_command *c = lw_command__find(req->cmd);

	if (!c) {
		set_err(err, errlen, "unknown command");
		return NULL;
	}
	if (!c->handler) {
		set_err(err, errlen, "unknown command '%s' (not implemented by this daemon)",
			c->name);
		return NULL;
	}
	if (c->needs_pid && !req->pid) {
		set_err(err, errlen, "'%s' needs 'pid'", c->name);
		return NULL;
	}
	/* Published before the event loop starts; absent only if the daemon is mid-startup. */
	if (!snap) {
		set_err(err, errlen,
			"no data yet: the first drain has not finished, retry shortly");
		return NULL;
	}
	return c->handler(req, snap, peer, err, errlen);
}
