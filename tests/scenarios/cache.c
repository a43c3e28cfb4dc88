// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Bounded cache: an LRU cache of at most 704 KiB in front of a slow backend, 30 lookups a second
 * over 900 keys (uniform). Each miss allocates the value (512 B..3.5 KiB, by key) at
 * cache_insert_site; while the cache is full, each insert first evicts the least recently used
 * entries. It fills in about 15 s, growing ever slower as the hit rate rises, then stays within
 * one entry of its bound while entries keep being replaced; hot entries live for the whole run.
 *
 * Lines carry "last_growth_t" from the first eviction on: the live bytes never exceed the bound
 * after that. Expect: plateau at cache_insert_site within 30 s of last_growth_t, never leak.
 */
#include "scenario.h"

#define KEYS		 900
#define CAPACITY	 (704 * 1024)
#define LOOKUPS_PER_TICK 3
#define TICK		 0.1

struct entry {
	struct entry *prev, *next; /* LRU list, most recent first */
	int key;
	size_t size;
	char value[];
};

static struct entry *by_key[KEYS];
static struct entry *mru, *lru;
static long long cache_bytes;

static size_t value_size(int key)
{
	return 512 + (size_t)((key * 2654435761u) % 3072);
}

static void unlink_entry(struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		mru = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		lru = e->prev;
}

static void push_front(struct entry *e)
{
	e->prev = NULL;
	e->next = mru;
	if (mru)
		mru->prev = e;
	mru = e;
	if (!lru)
		lru = e;
}

SC_SITE struct entry *cache_insert_site(int key, size_t size)
{
	struct entry *e = malloc(sizeof(*e) + size);

	if (!e)
		sc_die("malloc");
	e->key = key;
	e->size = sizeof(*e) + size;
	by_key[key] = e;
	return e;
}

int main(void)
{
	uint64_t rng = 0x6361636865000001ULL;
	double last_growth = -1;

	sc_begin("cache", "plateau", "cache_insert_site");
	for (long tick = 1;; tick++) {
		for (int i = 0; i < LOOKUPS_PER_TICK; i++) {
			int key = (int)sc_between(&rng, 0, KEYS - 1);
			struct entry *e = by_key[key];
			size_t need;

			if (e) { /* hit */
				unlink_entry(e);
				push_front(e);
				continue;
			}
			need = sizeof(*e) + value_size(key);
			while (lru && cache_bytes + (long long)need > CAPACITY) {
				struct entry *victim = lru;

				if (last_growth < 0)
					last_growth = sc_now();
				unlink_entry(victim);
				by_key[victim->key] = NULL;
				cache_bytes -= victim->size;
				free(victim);
			}
			e = cache_insert_site(key, value_size(key));
			sc_touch(e->value, value_size(key));
			push_front(e);
			cache_bytes += e->size;
		}
		if (tick % 10 == 0) {
			if (last_growth < 0)
				sc_truth(cache_bytes);
			else
				sc_emit("\"site_live_bytes\":%lld,\"last_growth_t\":%.3f",
					cache_bytes, last_growth);
		}
		sc_sleep_until(tick * TICK);
	}
}
