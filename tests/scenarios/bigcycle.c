// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Big allocate-then-free cycles: a batch job builds 64 MiB of 1 MiB chunks over 2 s, works on
 * them for 1 s, frees them all, and idles 3 s; every 6 s. The first cycle's chunks are mmapped
 * (above glibc's 128 KiB threshold); freeing them raises the dynamic threshold, so later cycles
 * come from the heap and are trimmed away at the free. Live bytes swing between 0 and 64 MiB.
 * Expect: none at big_chunk_site, and no fragmentation (RSS falls with live bytes).
 */
#include "scenario.h"

#define CHUNK  (1024 * 1024)
#define CHUNKS 64
#define PERIOD 6.0
#define BUILD  2.0
#define HOLD   1.0

static char *chunks[CHUNKS];

SC_SITE char *big_chunk_site(int i)
{
	char *p = malloc(CHUNK);

	if (!p)
		sc_die("malloc");
	chunks[i] = p;
	return p;
}

int main(void)
{
	long long live = 0;

	sc_begin("bigcycle", "none", "big_chunk_site");
	for (long cycle = 0;; cycle++) {
		double t0 = 1.0 + cycle * PERIOD;

		for (int i = 0; i < CHUNKS; i++) {
			sc_sleep_until(t0 + BUILD * i / CHUNKS);
			sc_touch(big_chunk_site(i), CHUNK);
			live += CHUNK;
			if (i % 8 == 7)
				sc_emit("\"site_live_bytes\":%lld,\"rss_bytes\":%lld", live,
					sc_rss());
		}
		sc_sleep_until(t0 + BUILD + HOLD);
		for (int i = 0; i < CHUNKS; i++) {
			free(chunks[i]);
			chunks[i] = NULL;
		}
		live = 0;
		sc_emit("\"site_live_bytes\":%lld,\"rss_bytes\":%lld", live, sc_rss());
		for (int s = 1; s <= 2; s++) {
			sc_sleep_until(t0 + BUILD + HOLD + s);
			sc_emit("\"site_live_bytes\":%lld,\"rss_bytes\":%lld", live, sc_rss());
		}
	}
}
