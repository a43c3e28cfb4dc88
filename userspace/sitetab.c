// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sitetab.h"

struct lw_sitetab {
	struct lw_site **buckets;
	size_t nbuckets;	/* power of two, >= max_sites / 2 */
	size_t count, max;
	unsigned int history;
	uint64_t rejected;
};

static size_t key_hash(const struct lw_agg_key *k, size_t nbuckets)
{
	uint64_t h = k->stack_id ^ (k->ident * 0x9e3779b97f4a7c15ULL) ^ k->tgid;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h & (nbuckets - 1);
}

static bool key_eq(const struct lw_agg_key *a, const struct lw_agg_key *b)
{
	return a->tgid == b->tgid && a->ident == b->ident && a->stack_id == b->stack_id;
}

struct lw_sitetab *lw_sitetab__new(size_t max_sites, unsigned int history)
{
	struct lw_sitetab *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->nbuckets = 64;
	while (st->nbuckets < max_sites / 2)
		st->nbuckets <<= 1;
	st->buckets = calloc(st->nbuckets, sizeof(*st->buckets));
	if (!st->buckets) {
		free(st);
		return NULL;
	}
	st->max = max_sites;
	st->history = history;
	return st;
}

static void site_free(struct lw_site *s)
{
	if (s->proc)
		s->proc->nsites--;
	lw_stackinfo__put(s->stack);
	lw_series__free(s->series);
	free(s);
}

void lw_sitetab__free(struct lw_sitetab *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nbuckets; i++) {
		while (st->buckets[i]) {
			struct lw_site *s = st->buckets[i];

			st->buckets[i] = s->next;
			site_free(s);
		}
	}
	free(st->buckets);
	free(st);
}

struct lw_site *lw_sitetab__find(struct lw_sitetab *st, const struct lw_agg_key *key)
{
	for (struct lw_site *s = st->buckets[key_hash(key, st->nbuckets)]; s; s = s->next)
		if (key_eq(&s->key, key))
			return s;
	return NULL;
}

struct lw_site *lw_sitetab__add(struct lw_sitetab *st, const struct lw_agg_key *key,
				struct lw_proc *proc)
{
	struct lw_site *s;
	size_t b;

	if (st->count >= st->max) {
		st->rejected++;
		errno = ENOSPC;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->series = lw_series__new(st->history);
	if (!s->series) {
		free(s);
		return NULL;
	}
	s->key = *key;
	s->proc = proc;
	proc->nsites++;
	b = key_hash(key, st->nbuckets);
	s->next = st->buckets[b];
	st->buckets[b] = s;
	st->count++;
	return s;
}

size_t lw_sitetab__count(const struct lw_sitetab *st)
{
	return st->count;
}

uint64_t lw_sitetab__rejected(const struct lw_sitetab *st)
{
	return st->rejected;
}

void lw_sitetab__for_each(struct lw_sitetab *st, bool (*fn)(void *ctx, struct lw_site *s),
			  void *ctx)
{
	for (size_t i = 0; i < st->nbuckets; i++) {
		struct lw_site **pp = &st->buckets[i];

		while (*pp) {
			struct lw_site *s = *pp;

			if (!fn(ctx, s)) {
				pp = &s->next;
				continue;
			}
			*pp = s->next;
			st->count--;
			site_free(s);
		}
	}
}
