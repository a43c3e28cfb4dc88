// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Building a profile: every string, function, mapping and location is interned once (a hash
 * table from its content to its index), and samples refer to them by id. protobuf-c packs the
 * structures; zlib gzips the bytes. An allocation failure is sticky (b->oom) and checked once,
 * before packing.
 *
 * Strings are borrowed, not copied: from the snapshot (immutable, and held by the caller while
 * this runs), from static text, or from the builder's own buffers, which never move. A profile
 * of a whole machine then costs a few allocations, not one per string.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "hash.h"
#include "pprof.h"
#include "profile.pb-c.h"

#ifndef LW_VERSION
#define LW_VERSION "unknown"
#endif

enum { V_INUSE_OBJECTS, V_INUSE_SPACE, V_ALLOC_OBJECTS, V_ALLOC_SPACE, NVALUES };
enum { L_PID, L_COMM, L_ALLOCATOR, NLABELS };

/* ---- interning ---- */

struct tup {
	uint64_t a, b, c, d;
};

/* Tuple -> 1-based position in a vector; open addressing, at most half full. */
struct tuptab {
	struct tup *keys;
	uint32_t *pos;		/* 0: empty slot */
	size_t mask, n;
};

struct strtab {
	char **v;		/* borrowed; v[0] = "" */
	size_t n, cap;
	uint32_t *slot;		/* index + 1, 0: empty */
	size_t mask;
};

struct loc {
	Perftools__Profiles__Location pb;
	Perftools__Profiles__Line line;
	Perftools__Profiles__Line *linep;
};

struct smp {
	Perftools__Profiles__Sample pb;
	int64_t value[NVALUES];
	Perftools__Profiles__Label label[NLABELS];
	Perftools__Profiles__Label *labelp[NLABELS];
	char comm[sizeof(((struct lw_procinfo *)0)->comm) + 1];
};

struct builder {
	bool oom;
	struct strtab strs;
	struct tuptab func_ix, map_ix, loc_ix;
	Perftools__Profiles__Function *funcs;
	size_t nfuncs, funcs_cap;
	Perftools__Profiles__Mapping *maps;
	size_t nmaps, maps_cap;
	struct loc *locs;
	size_t nlocs, locs_cap;
	struct smp *samples;	/* allocated once: strings in it may be borrowed */
	size_t nsamples;
	uint64_t *loc_ids;	/* every sample's stack, one after the other */
	size_t nloc_ids;
	char comment[128];
};

static uint64_t tup_hash(const struct tup *k)
{
	return lw_mix64(k->a ^ lw_mix64(k->b ^ lw_mix64(k->c ^ lw_mix64(k->d))));
}

static bool tup_eq(const struct tup *x, const struct tup *y)
{
	return x->a == y->a && x->b == y->b && x->c == y->c && x->d == y->d;
}

static bool tuptab_grow(struct tuptab *t)
{
	size_t cap = t->mask ? 2 * (t->mask + 1) : 256;
	struct tup *keys = calloc(cap, sizeof(*keys));
	uint32_t *pos = calloc(cap, sizeof(*pos));

	if (!keys || !pos) {
		free(keys);
		free(pos);
		return false;
	}
	for (size_t i = 0; t->mask && i <= t->mask; i++) {
		size_t j;

		if (!t->pos[i])
			continue;
		j = tup_hash(&t->keys[i]) & (cap - 1);
		while (pos[j])
			j = (j + 1) & (cap - 1);
		keys[j] = t->keys[i];
		pos[j] = t->pos[i];
	}
	free(t->keys);
	free(t->pos);
	t->keys = keys;
	t->pos = pos;
	t->mask = cap - 1;
	return true;
}

/* The slot of k: its position is *slot (0 when absent; the caller then fills it in). */
static uint32_t *tuptab_slot(struct builder *bd, struct tuptab *t, const struct tup *k)
{
	size_t i;

	if (2 * (t->n + 1) > (t->mask ? t->mask + 1 : 0) && !tuptab_grow(t)) {
		bd->oom = true;
		return NULL;
	}
	i = tup_hash(k) & t->mask;
	while (t->pos[i] && !tup_eq(&t->keys[i], k))
		i = (i + 1) & t->mask;
	if (!t->pos[i]) {
		t->keys[i] = *k;
		t->n++;
	}
	return &t->pos[i];
}

static void tuptab_free(struct tuptab *t)
{
	free(t->keys);
	free(t->pos);
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

static bool strtab_grow(struct strtab *t)
{
	size_t cap = t->mask ? 2 * (t->mask + 1) : 1024;
	uint32_t *slot = calloc(cap, sizeof(*slot));
	char **v = realloc(t->v, cap / 2 * sizeof(*v));

	if (!slot || !v) {
		free(slot);
		if (v)
			t->v = v;
		return false;
	}
	t->v = v;
	t->cap = cap / 2;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = str_hash(t->v[i]) & (cap - 1);

		while (slot[j])
			j = (j + 1) & (cap - 1);
		slot[j] = i + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->mask = cap - 1;
	return true;
}

/*
 * The string table index of s (NULL is ""), which must outlive the builder. 0 on allocation
 * failure, which sets b->oom.
 */
static int64_t str_id(struct builder *bd, const char *s)
{
	struct strtab *t = &bd->strs;
	size_t i;

	if (!s)
		s = "";
	if (bd->oom)
		return 0;
	if (t->n + 1 > t->cap && !strtab_grow(t)) {
		bd->oom = true;
		return 0;
	}
	i = str_hash(s) & t->mask;
	while (t->slot[i]) {
		if (!strcmp(t->v[t->slot[i] - 1], s))
			return t->slot[i] - 1;
		i = (i + 1) & t->mask;
	}
	t->v[t->n] = (char *)s;	/* protobuf-c's type; it only reads */
	t->slot[i] = ++t->n;
	return t->n - 1;
}

/* Room for one more element in a vector of elements of size sz. */
static bool vec_room(struct builder *bd, void **v, size_t n, size_t *cap, size_t sz)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 64;
	nv = realloc(*v, ncap * sz);
	if (!nv) {
		bd->oom = true;
		return false;
	}
	*v = nv;
	*cap = ncap;
	return true;
}

/* ---- functions, mappings, locations ---- */

static uint64_t function_id(struct builder *bd, const char *name, const char *file)
{
	struct tup k = { str_id(bd, name), str_id(bd, file) };
	Perftools__Profiles__Function *f;
	uint32_t *slot;

	if (bd->oom || !(slot = tuptab_slot(bd, &bd->func_ix, &k)))
		return 0;
	if (*slot)
		return *slot;
	if (!vec_room(bd, (void **)&bd->funcs, bd->nfuncs, &bd->funcs_cap, sizeof(*bd->funcs))) {
		bd->func_ix.n--;	/* the slot stays empty */
		return 0;
	}
	f = &bd->funcs[bd->nfuncs++];
	perftools__profiles__function__init(f);
	f->id = bd->nfuncs;
	f->name = k.a;
	f->system_name = k.a;
	f->filename = k.b;
	*slot = f->id;
	return f->id;
}

/* The mapping holding frame f of process p (mappings are per process: addresses are). */
static uint64_t mapping_id(struct builder *bd, const struct lw_procinfo *p,
			   const struct lw_frame *f)
{
	struct tup k = { (uint32_t)p->pid, p->ident, f->map_start, f->map_limit };
	Perftools__Profiles__Mapping *m;
	uint32_t *slot;

	if (bd->oom || !(slot = tuptab_slot(bd, &bd->map_ix, &k)))
		return 0;
	if (*slot)
		return *slot;
	if (!vec_room(bd, (void **)&bd->maps, bd->nmaps, &bd->maps_cap, sizeof(*bd->maps))) {
		bd->map_ix.n--;
		return 0;
	}
	m = &bd->maps[bd->nmaps++];
	perftools__profiles__mapping__init(m);
	m->id = bd->nmaps;
	m->memory_start = f->map_start;
	m->memory_limit = f->map_limit;
	m->file_offset = f->map_offset;
	m->filename = str_id(bd, f->module);
	m->build_id = str_id(bd, f->build_id);
	/*
	 * "Symbolized already": the daemon resolved every frame it could, with the mapped file
	 * itself and its build-id debug file. Told otherwise, pprof symbolizes again: from a URL,
	 * by POSTing addresses to /debug/pprof/symbol (and fails when that is not served); from a
	 * file, with whatever binary sits at that path on the viewer's machine.
	 */
	m->has_functions = true;
	*slot = m->id;
	return m->id;
}

static struct loc *new_location(struct builder *bd, uint32_t *slot)
{
	struct loc *l;

	if (!vec_room(bd, (void **)&bd->locs, bd->nlocs, &bd->locs_cap, sizeof(*bd->locs))) {
		bd->loc_ix.n--;
		return NULL;
	}
	l = &bd->locs[bd->nlocs++];
	memset(l, 0, sizeof(*l));
	perftools__profiles__location__init(&l->pb);
	perftools__profiles__line__init(&l->line);
	l->pb.id = bd->nlocs;
	*slot = l->pb.id;
	return l;
}

/* A location with no address or mapping: one line of function fid. */
static uint64_t line_location(struct builder *bd, uint64_t fid, int64_t line)
{
	struct tup k = { 3, fid, (uint64_t)line };
	uint32_t *slot;
	struct loc *l;

	if (bd->oom || !(slot = tuptab_slot(bd, &bd->loc_ix, &k)))
		return 0;
	if (*slot)
		return *slot;
	l = new_location(bd, slot);
	if (!l)
		return 0;
	l->line.function_id = fid;
	l->line.line = line;
	l->pb.n_line = 1;
	return l->pb.id;
}

/* What the kernel did not record, as a function of its own. */
static uint64_t placeholder_location(struct builder *bd, const char *what)
{
	return line_location(bd, function_id(bd, what, NULL), 0);
}

/* A Python frame: the function, its file and line; no address or mapping. */
static uint64_t python_location(struct builder *bd, const struct lw_frame *f)
{
	uint64_t fid = function_id(bd, f->symbol ? f->symbol : "[unknown Python function]",
				   f->file);

	return line_location(bd, fid, f->line > 0 ? f->line : 0);
}

static uint64_t native_location(struct builder *bd, const struct lw_procinfo *p,
				const struct lw_frame *f)
{
	bool mapped = f->map_limit > f->map_start;
	uint64_t mid = mapped ? mapping_id(bd, p, f) : 0, fid = 0;
	struct tup k;
	uint32_t *slot;
	struct loc *l;

	/* an address outside every mapping only means something within its process */
	if (mapped)
		k = (struct tup){ 1, mid, f->addr };
	else
		k = (struct tup){ 2, (uint32_t)p->pid, p->ident, f->addr };
	if (bd->oom || !(slot = tuptab_slot(bd, &bd->loc_ix, &k)))
		return 0;
	if (*slot)
		return *slot;
	if (f->symbol)
		fid = function_id(bd, f->symbol, f->file);
	l = new_location(bd, slot);
	if (!l)
		return 0;
	l->pb.mapping_id = mid;
	l->pb.address = f->addr;
	if (fid) {
		l->line.function_id = fid;
		l->line.line = f->line > 0 ? f->line : 0;
		l->pb.n_line = 1;
	}
	if (mid) {
		Perftools__Profiles__Mapping *m = &bd->maps[mid - 1];

		m->has_filenames = m->has_filenames || (fid && f->file);
		m->has_line_numbers = m->has_line_numbers || (fid && f->line > 0);
	}
	return l->pb.id;
}

/* ---- samples ---- */

static int64_t clamp(int64_t v)
{
	return v > 0 ? v : 0;
}

static int64_t clamp_u(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static unsigned int stack_len(const struct lw_site_snap *s)
{
	unsigned int n = s->stack ? s->stack->nframes : 0;

	return n ? n : 1;	/* no stack: one placeholder frame */
}

static void add_sample(struct builder *bd, struct smp *sm, const struct lw_site_snap *s)
{
	unsigned int nframes = s->stack ? s->stack->nframes : 0;
	uint64_t *ids = bd->loc_ids + bd->nloc_ids;

	perftools__profiles__sample__init(&sm->pb);
	bd->nloc_ids += stack_len(s);
	sm->pb.location_id = ids;
	sm->pb.n_location_id = nframes ? nframes : 1;
	if (!nframes)
		ids[0] = placeholder_location(bd, "[stack not recorded]");
	/* frames are innermost first, as pprof wants them */
	for (unsigned int i = 0; i < nframes; i++) {
		const struct lw_frame *f = &s->stack->frames[i];

		ids[i] = f->kind == LW_FRAME_PYTHON ? python_location(bd, f) :
						      native_location(bd, s->proc, f);
	}

	sm->value[V_INUSE_OBJECTS] = clamp(s->live_allocs);
	sm->value[V_INUSE_SPACE] = clamp(s->live_bytes);
	sm->value[V_ALLOC_OBJECTS] = clamp_u(s->allocs);
	sm->value[V_ALLOC_SPACE] = clamp_u(s->alloc_bytes);
	sm->pb.value = sm->value;
	sm->pb.n_value = NVALUES;

	/* the kernel's comm fills all 16 bytes at most; never trust it to be terminated */
	snprintf(sm->comm, sizeof(sm->comm), "%.*s", (int)sizeof(s->proc->comm), s->proc->comm);
	for (int i = 0; i < NLABELS; i++) {
		perftools__profiles__label__init(&sm->label[i]);
		sm->labelp[i] = &sm->label[i];
	}
	sm->label[L_PID].key = str_id(bd, "pid");
	sm->label[L_PID].num = s->proc->pid;
	sm->label[L_COMM].key = str_id(bd, "comm");
	sm->label[L_COMM].str = str_id(bd, sm->comm);
	sm->label[L_ALLOCATOR].key = str_id(bd, "allocator");
	sm->label[L_ALLOCATOR].str = str_id(bd, s->allocator);
	sm->pb.label = sm->labelp;
	sm->pb.n_label = NLABELS;
}

/* ---- selection ---- */

static bool visible(const struct lw_pprof_opts *o, const struct lw_site_snap *s)
{
	return s->proc && (!o->want || o->want(s, o->ctx));
}

/*
 * Which sites go in: of one pid, its running identity's (a reused or exec'd pid keeps the old
 * identity's sites for the record, and two programs' heaps must not mix), or the exited one's
 * when none runs; of every process, the running ones'.
 */
static bool selected(const struct lw_pprof_opts *o, const struct lw_site_snap *s, bool running)
{
	if (!visible(o, s))
		return false;
	if (!o->pid)
		return !s->exited;
	return s->proc->pid == o->pid && !(running && s->exited);
}

/* ---- packing ---- */

static int gzip_bytes(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
	z_stream z = { 0 };
	uint8_t *buf;
	size_t cap;
	int ret;

	/*
	 * Fastest level: the profile is built on the daemon's event loop, and a profile of a busy
	 * machine is megabytes; level 1 shrinks protobuf almost as well as the default at a
	 * fraction of the time.
	 */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, inlen);
	buf = malloc(cap);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = inlen;
	z.next_out = buf;
	z.avail_out = cap;
	ret = deflate(&z, Z_FINISH);
	deflateEnd(&z);
	if (ret != Z_STREAM_END) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*outlen = z.total_out;
	return 0;
}

static void builder_free(struct builder *bd)
{
	free(bd->strs.v);
	free(bd->strs.slot);
	tuptab_free(&bd->func_ix);
	tuptab_free(&bd->map_ix);
	tuptab_free(&bd->loc_ix);
	free(bd->funcs);
	free(bd->maps);
	free(bd->locs);
	free(bd->samples);
	free(bd->loc_ids);
}

/* Pointer arrays for protobuf-c, over the vectors, now that they no longer move. */
static int pack(struct builder *bd, const struct lw_snapshot *snap, const struct lw_pprof_opts *o,
		uint8_t **out, size_t *outlen)
{
	static const char *const types[NVALUES][2] = {
		[V_INUSE_OBJECTS] = { "inuse_objects", "count" },
		[V_INUSE_SPACE] = { "inuse_space", "bytes" },
		[V_ALLOC_OBJECTS] = { "alloc_objects", "count" },
		[V_ALLOC_SPACE] = { "alloc_space", "bytes" },
	};
	Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType vt[NVALUES], *vtp[NVALUES], period;
	Perftools__Profiles__Sample **sp = NULL;
	Perftools__Profiles__Mapping **mp = NULL;
	Perftools__Profiles__Location **lp = NULL;
	Perftools__Profiles__Function **fp = NULL;
	uint8_t *raw = NULL;
	int64_t comment_id;
	size_t rawlen;
	int err = -ENOMEM;

	for (int i = 0; i < NVALUES; i++) {
		perftools__profiles__value_type__init(&vt[i]);
		vt[i].type = str_id(bd, types[i][0]);
		vt[i].unit = str_id(bd, types[i][1]);
		vtp[i] = &vt[i];
	}
	perftools__profiles__value_type__init(&period);
	period.type = str_id(bd, "space");
	period.unit = str_id(bd, "bytes");
	if (o->pid)
		snprintf(bd->comment, sizeof(bd->comment), "leakwatch %s: live heap of pid %d",
			 LW_VERSION, (int)o->pid);
	else
		snprintf(bd->comment, sizeof(bd->comment),
			 "leakwatch %s: live heap of every traced process", LW_VERSION);
	comment_id = str_id(bd, bd->comment);
	p.default_sample_type = str_id(bd, "inuse_space");
	if (bd->oom)
		return -ENOMEM;

	sp = calloc(bd->nsamples + 1, sizeof(*sp));
	mp = calloc(bd->nmaps + 1, sizeof(*mp));
	lp = calloc(bd->nlocs + 1, sizeof(*lp));
	fp = calloc(bd->nfuncs + 1, sizeof(*fp));
	if (!sp || !mp || !lp || !fp)
		goto out;
	for (size_t i = 0; i < bd->nsamples; i++)
		sp[i] = &bd->samples[i].pb;
	for (size_t i = 0; i < bd->nmaps; i++)
		mp[i] = &bd->maps[i];
	for (size_t i = 0; i < bd->nlocs; i++) {
		struct loc *l = &bd->locs[i];

		l->linep = &l->line;
		l->pb.line = l->pb.n_line ? &l->linep : NULL;
		lp[i] = &l->pb;
	}
	for (size_t i = 0; i < bd->nfuncs; i++)
		fp[i] = &bd->funcs[i];

	p.n_sample_type = NVALUES;
	p.sample_type = vtp;
	p.n_sample = bd->nsamples;
	p.sample = sp;
	p.n_mapping = bd->nmaps;
	p.mapping = mp;
	p.n_location = bd->nlocs;
	p.location = lp;
	p.n_function = bd->nfuncs;
	p.function = fp;
	p.n_string_table = bd->strs.n;
	p.string_table = bd->strs.v;
	p.time_nanos = (int64_t)(snap->taken_unix * 1e9);
	p.period_type = &period;
	p.period = 1;
	p.n_comment = 1;
	p.comment = &comment_id;

	rawlen = perftools__profiles__profile__get_packed_size(&p);
	raw = malloc(rawlen ? rawlen : 1);
	if (!raw)
		goto out;
	perftools__profiles__profile__pack(&p, raw);
	err = gzip_bytes(raw, rawlen, out, outlen);
out:
	free(raw);
	free(sp);
	free(mp);
	free(lp);
	free(fp);
	return err;
}

int lw_pprof__encode(const struct lw_snapshot *snap, const struct lw_pprof_opts *opts,
		     uint8_t **out, size_t *len)
{
	struct builder bd = { 0 };
	bool running = false;
	size_t n = 0, k = 0, nids = 0;
	int err;

	for (size_t i = 0; opts->pid && i < snap->nsites; i++) {
		const struct lw_site_snap *s = &snap->sites[i];

		if (visible(opts, s) && s->proc->pid == opts->pid && !s->exited)
			running = true;
	}
	for (size_t i = 0; i < snap->nsites; i++) {
		if (selected(opts, &snap->sites[i], running)) {
			n++;
			nids += stack_len(&snap->sites[i]);
		}
	}

	/* index 0 of the string table is the empty string, by the format's rule */
	str_id(&bd, "");
	bd.samples = calloc(n ? n : 1, sizeof(*bd.samples));
	bd.loc_ids = calloc(nids ? nids : 1, sizeof(*bd.loc_ids));
	if (!bd.samples || !bd.loc_ids)
		bd.oom = true;
	for (size_t i = 0; i < snap->nsites && !bd.oom; i++) {
		if (!selected(opts, &snap->sites[i], running))
			continue;
		add_sample(&bd, &bd.samples[k++], &snap->sites[i]);
	}
	bd.nsamples = k;
	err = bd.oom ? -ENOMEM : pack(&bd, snap, opts, out, len);
	builder_free(&bd);
	return err ? err : (int)k;
}
