// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One leaking site per allocator entry point, plus sites that must end up with nothing live:
 * realloc(p, 0), free(NULL), failed allocations (malloc(SIZE_MAX), an overflowing calloc, a
 * realloc that fails and leaves its block with the site that allocated it, posix_memalign with a
 * bad alignment) and a plain malloc/free. Each site runs COUNT times; sizes differ per site so a
 * block counted at the wrong site shows.
 *
 * Prints one {"site","fn","live_bytes","live_allocs","leaks"} line per site, with sizes as
 * requested (pvalloc's rounding to a page is the allocator's business), then {"event":"done"},
 * then holds everything until killed.
 */
#include <malloc.h>
#include <stdint.h>

#include "lwprog.h"

/* Arguments that must reach the allocator at run time: GCC folds realloc(NULL, n) to malloc(n). */
static void *volatile null_ptr;
static volatile size_t huge = SIZE_MAX;
static volatile size_t zero;

LW_SITE void *lw_malloc_site(size_t n)
{
	void *p = malloc(n);

	lw_keep(p);
	return p;
}

LW_SITE void *lw_calloc_site(size_t nmemb, size_t n)
{
	void *p = calloc(nmemb, n);

	lw_keep(p);
	return p;
}

LW_SITE void *lw_realloc_new_site(size_t n)
{
	void *p = realloc(null_ptr, n);

	lw_keep(p);
	return p;
}

/* One link of a growing chain: only the chain's last block stays live. */
LW_SITE void *lw_realloc_grow_site(void *old, size_t n)
{
	void *p = realloc(old, n);

	lw_sink = p;
	return p;
}

LW_SITE void *lw_reallocarray_site(size_t nmemb, size_t n)
{
	void *p = reallocarray(null_ptr, nmemb, n);

	lw_keep(p);
	return p;
}

LW_SITE void *lw_posix_memalign_site(size_t n)
{
	void *p = NULL;
	int err = posix_memalign(&p, 64, n);

	lw_keep(err ? NULL : p);
	return err ? NULL : p;
}

LW_SITE void *lw_aligned_alloc_site(size_t n)
{
	void *p = aligned_alloc(256, n);

	lw_keep(p);
	return p;
}

LW_SITE void *lw_memalign_site(size_t n)
{
	void *p = memalign(128, n);

	lw_keep(p);
	return p;
}

LW_SITE void *lw_valloc_site(size_t n)
{
	void *p = valloc(n);

	lw_keep(p);
	return p;
}

LW_SITE void *lw_pvalloc_site(size_t n)
{
	void *p = pvalloc(n);

	lw_keep(p);
	return p;
}

/* Allocates, then gives the block back through realloc(p, 0), which frees it in glibc. */
LW_SITE void *lw_realloc_zero_site(size_t n)
{
	void *p = malloc(n);

	lw_sink = p;
	p = realloc(p, zero);
	lw_sink = p;
	return p;
}

LW_SITE void lw_free_null_site(void)
{
	free(null_ptr);
	lw_sink = NULL;
}

LW_SITE void *lw_malloc_fail_site(void)
{
	void *p = malloc(huge);

	lw_sink = p;
	return p;
}

LW_SITE void *lw_calloc_overflow_site(void)
{
	void *p = calloc(huge / 2 + 1, 4);

	lw_sink = p;
	return p;
}

/* The block of a failed realloc stays live, still owned by the site that allocated it. */
LW_SITE void *lw_realloc_fail_keep_site(size_t n)
{
	void *p = malloc(n);

	lw_keep(p);
	return p;
}

LW_SITE void *lw_realloc_fail_site(void *old)
{
	void *p = realloc(old, huge);

	lw_sink = p;
	return p;
}

LW_SITE int lw_posix_memalign_einval_site(void)
{
	void *p = NULL;
	int err = posix_memalign(&p, 3, 100);

	lw_sink = p;
	return err;
}

LW_SITE void *lw_freed_site(size_t n)
{
	void *p = malloc(n);

	lw_sink = p;
	return p;
}

struct truth {
	const char *site;
	const char *fn;
	long long bytes;	/* per call; 0: nothing may stay live at this site */
};

static void check(bool ok, const char *what)
{
	if (ok)
		return;
	lw_emit("\"event\":\"error\",\"error\":\"%s\"", what);
	exit(1);
}

int main(int argc, char **argv)
{
	struct lw_opts o = { .steps = 4, .size = 1000 };
	long long moves = 0;
	size_t b, grow[4];
	void *p, *q;

	lw_init(argc, argv, &o, "[-n COUNT] [-s BASE_SIZE] [-d SEC]");
	b = o.size < 100 ? 100 : o.size;
	/* From a small bin to an mmapped chunk: the block moves on the way. */
	grow[0] = b / 40 + 1;
	grow[1] = b / 4;
	grow[2] = b * 3;
	grow[3] = b * 150;

	const struct truth t[] = {
		{ "lw_malloc_site", "malloc", b },
		{ "lw_calloc_site", "calloc", 10 * (b * 3 / 10) },
		{ "lw_realloc_new_site", "realloc", b * 2 },
		{ "lw_realloc_grow_site", "realloc", grow[3] },
		{ "lw_reallocarray_site", "reallocarray", 7 * (b / 2) },
		{ "lw_posix_memalign_site", "posix_memalign", b * 9 / 2 },
		{ "lw_aligned_alloc_site", "aligned_alloc", b * 5 },
		{ "lw_memalign_site", "memalign", b * 6 },
		{ "lw_valloc_site", "valloc", b * 7 },
		{ "lw_pvalloc_site", "pvalloc", b * 8 },
		{ "lw_realloc_fail_keep_site", "malloc", b * 13 / 10 },
		{ "lw_realloc_zero_site", "realloc", 0 },
		{ "lw_free_null_site", "free", 0 },
		{ "lw_malloc_fail_site", "malloc", 0 },
		{ "lw_calloc_overflow_site", "calloc", 0 },
		{ "lw_realloc_fail_site", "realloc", 0 },
		{ "lw_posix_memalign_einval_site", "posix_memalign", 0 },
		{ "lw_freed_site", "malloc", 0 },
	};

	for (long i = 0; i < o.steps; i++) {
		check((p = lw_malloc_site(b)), "malloc");
		memset(p, 1, b);
		check(lw_calloc_site(10, b * 3 / 10), "calloc");
		check((p = lw_realloc_new_site(b * 2)), "realloc(NULL, n)");
		memset(p, 1, b * 2);

		p = NULL;
		for (size_t g = 0; g < sizeof(grow) / sizeof(grow[0]); g++) {
			check((q = lw_realloc_grow_site(p, grow[g])), "realloc grow");
			memset(q, 2, grow[g]);
			moves += p && q != p;
			p = q;
		}
		lw_keep(p);

		check(lw_reallocarray_site(7, b / 2), "reallocarray");
		check(lw_posix_memalign_site(b * 9 / 2), "posix_memalign");
		check(lw_aligned_alloc_site(b * 5), "aligned_alloc");
		check(lw_memalign_site(b * 6), "memalign");
		check(lw_valloc_site(b * 7), "valloc");
		check(lw_pvalloc_site(b * 8), "pvalloc");

		check((p = lw_realloc_fail_keep_site(b * 13 / 10)), "malloc");
		check(!lw_realloc_fail_site(p), "realloc(p, SIZE_MAX) succeeded");

		/* glibc frees here and returns NULL; anything else would leave a live block. */
		check(!lw_realloc_zero_site(b), "realloc(p, 0) returned a block");
		lw_free_null_site();
		check(!lw_malloc_fail_site(), "malloc(SIZE_MAX) succeeded");
		check(!lw_calloc_overflow_site(), "calloc overflow succeeded");
		check(lw_posix_memalign_einval_site() == EINVAL, "posix_memalign(3, n) != EINVAL");
		free(lw_freed_site(b));
	}
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long long allocs = t[i].bytes ? o.steps : 0;

		lw_emit("\"site\":\"%s\",\"fn\":\"%s\",\"live_bytes\":%lld,\"live_allocs\":%lld,"
			"\"leaks\":%s",
			t[i].site, t[i].fn, allocs * t[i].bytes, allocs, allocs ? "true" : "false");
	}
	lw_emit("\"event\":\"done\",\"realloc_moves\":%lld", moves);
	lw_idle(&o);
}
