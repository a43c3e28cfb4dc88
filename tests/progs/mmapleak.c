// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Anonymous mappings the program makes itself. Every PERIOD ms:
 * - lw_mmap_leak_site maps SIZE bytes (a multiple of the page), touches them and keeps them;
 * - lw_mmap_trim_site maps 4 x SIZE and gives it back in pieces: the head, then the tail, then the
 *   middle that is left (no growth);
 * - lw_mremap_grow_site keeps one mapping that mremap moves and grows by SIZE each step.
 *
 * Prints {"site":"lw_mmap_leak_site",...} and {"site":"lw_mremap_grow_site",...} after every step.
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

LW_SITE void *lw_mmap_leak_site(size_t len)
{
	void *p = map(len);

	lw_keep(p);
	return p;
}

LW_SITE void lw_mmap_trim_site(size_t len)
{
	char *p = map(4 * len);

	lw_sink = p;
	LW_BARRIER();
	munmap(p, len);			/* head */
	munmap(p + 3 * len, len);	/* tail */
	/* the rest; its result kept, so that the call is no tail call */
	lw_sink = (void *)(long)munmap(p + len, 2 * len);
	LW_BARRIER();
}

LW_SITE void *lw_mremap_grow_site(void *old, size_t oldlen, size_t newlen)
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
		memset(lw_mmap_leak_site(o.size), 1, o.size);
		lw_mmap_trim_site(o.size);
		g = lw_mremap_grow_site(g, grown, grown + o.size);
		if (g == MAP_FAILED) {
			lw_emit("\"event\":\"error\",\"error\":\"mremap failed\"");
			return 1;
		}
		grown += o.size;
		memset(g, 3, grown);
		bytes += o.size;
		n++;
		lw_truth("lw_mmap_leak_site", bytes, n);
		lw_truth("lw_mremap_grow_site", (long long)grown, 1);
		lw_sleep(o.period_ms / 1000);
	}
}
