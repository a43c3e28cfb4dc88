// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Fragmentation: every 8 s, frag_alloc_site allocates 65536 small blocks (200..880 B, the range
 * shifting from round to round) over about 1 s, about 34 MiB; then the program frees 90% of them,
 * keeping every tenth, and frees the tenth it kept from the round before. Live heap bytes come
 * back to about 3.4 MiB after every round, and stay there.
 *
 * Why RSS stays high: these blocks come from the main arena (brk heap, below the 128 KiB mmap
 * threshold). glibc returns memory to the system only from the top of the heap (systrim), or
 * from the inside only on an explicit malloc_trim(), which this program never calls. The kept
 * blocks are spread evenly over the whole heap, up to its top, so the freed 90% between them can
 * never be trimmed: it stays resident, waiting for reuse. The next round reuses those holes (so
 * RSS stops growing after a few rounds), and its kept tenth pins the heap again. No mallopt.
 *
 * Lines carry "rss_bytes" (from /proc/self/statm) beside the live bytes. Expect: process verdict
 * fragmentation, no leak at frag_alloc_site.
 */
#include "scenario.h"

#define BLOCKS	   65536
#define KEEP_EVERY 10
#define PERIOD	   8.0
#define SPREAD	   1.0 /* seconds over which a round allocates */
#define STEPS	   16

static char *blocks[BLOCKS];
static size_t sizes[BLOCKS];
static char *kept[2][BLOCKS / KEEP_EVERY + 1];
static size_t kept_size[2][BLOCKS / KEEP_EVERY + 1];
static long nkept[2];

SC_SITE char *frag_alloc_site(size_t size)
{
	char *p = malloc(size);

	if (!p)
		sc_die("malloc");
	sc_sink = p;
	return p;
}

static long long live;

static void report(const char *phase)
{
	sc_emit("\"site_live_bytes\":%lld,\"rss_bytes\":%lld,\"phase\":\"%s\"", live, sc_rss(),
		phase);
}

int main(void)
{
	uint64_t rng = 0x6672616700000001ULL;

	sc_begin("frag", "fragmentation", "frag_alloc_site");
	for (long round = 0;; round++) {
		double t0 = 1.0 + round * PERIOD;
		int cur = round & 1, old = !cur;
		long shift = 40 * (round % 4);

		for (int step = 0; step < STEPS; step++) {
			sc_sleep_until(t0 + SPREAD * step / STEPS);
			for (long i = step * (BLOCKS / STEPS); i < (step + 1) * (BLOCKS / STEPS);
			     i++) {
				sizes[i] = (size_t)sc_between(&rng, 200 + shift, 840 + shift);
				blocks[i] = frag_alloc_site(sizes[i]);
				sc_touch(blocks[i], sizes[i]);
				live += sizes[i];
			}
		}
		report("allocated");
		/* Free 90%, keeping every tenth block where it is. */
		nkept[cur] = 0;
		for (long i = 0; i < BLOCKS; i++) {
			if (i % KEEP_EVERY == 0) {
				kept[cur][nkept[cur]] = blocks[i];
				kept_size[cur][nkept[cur]++] = sizes[i];
			} else {
				free(blocks[i]);
				live -= sizes[i];
			}
			blocks[i] = NULL;
		}
		/* The previous round's tenth goes now: the live size stays the same, round to
		 * round. */
		for (long i = 0; i < nkept[old]; i++) {
			free(kept[old][i]);
			live -= kept_size[old][i];
		}
		nkept[old] = 0;
		report("freed");
		for (int s = 1; s < PERIOD - SPREAD; s++) {
			sc_sleep_until(t0 + SPREAD + s);
			report("held");
		}
	}
}
