// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Anonymous mappings the program makes itself. Every PERIOD ms:
 * - lw_mmap_leak maps SIZE bytes (a multiple of the page), touches them and keeps them;
 * - lw_mmap_trim maps 4 x SIZE and gives it back in pieces: the head, then the tail, then the
 *   middle that is left (no growth);
 * - lw_mremap_grow keeps one mapping that mremap moves and grows by SIZE each step.
 *
 * Prints {"site":"lw_mmap_leak",...} and {"site":"lw_mremap_grow",...} after every step.
 */
#include "lwprog.h"

#include <sys/mman.h>

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		lw_emit("\"event\":\"error\",\"error\":\"mmap failed\"");
		exit(1);
	}
	return p;
}

LW_SITE void *lw_mmap_leak(size_t len)
{
	void *p = map(len);

	lw_keep(p);
	return p;
}

LW_SITE void lw_mmap_trim(size_t len)
{
	char *p = map(4 * len);

	lw_sink = p;
	LW_BARRIER();
	munmap(p, len);			/* head */
	munmap(p + 3 * len, len);	/* tail */
	munmap(p + len, 2 * len);	/* the rest */
}

LW_SITE void *lw_mremap_grow(void *old, size_t oldlen, size_t newlen)
{
	void *p = old ? mremap(old, oldlen, newlen, MREMAP_MAYMOVE) : map(newlen);

	lw_sink = p;
	LW_BARRIER();
	return p;
}

int main(int argc, char **argv)
{
	struct lw_opts o = { .period_ms = 50, .size = 65536 };
	long long bytes = 0, n = 0;
	size_t grown = 0;
	void *g = NULL;

	lw_init(argc, argv, &o, "[-s SIZE] [-p PERIOD_MS] [-d SEC]");
	for (;;) {
		if (lw_expired(&o))
			lw_idle(&o);
		memset(lw_mmap_leak(o.size), 1, o.size);
		lw_mmap_trim(o.size);
		g = lw_mremap_grow(g, grown, grown + o.size);
		if (g == MAP_FAILED) {
			lw_emit("\"event\":\"error\",\"error\":\"mremap failed\"");
			return 1;
		}
		grown += o.size;
		memset(g, 3, grown);
		bytes += o.size;
		n++;
		lw_truth("lw_mmap_leak", bytes, n);
		lw_truth("lw_mremap_grow", (long long)grown, 1);
		lw_sleep(o.period_ms / 1000);
	}
}
