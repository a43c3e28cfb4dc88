// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Memory allocated once and held: at start, held_alloc_site loads 8 MiB of tables in 64 KiB
 * pieces over 2 s, then the program serves from them for ever, touching a few pages a second and
 * allocating nothing there again. Expect: none at held_alloc_site (stable, or plateau).
 */
#include "scenario.h"

#define PIECE  (64 * 1024)
#define PIECES 128

static char *tables[PIECES];

SC_SITE char *held_alloc_site(int i)
{
	char *p = malloc(PIECE);

	if (!p)
		sc_die("malloc");
	tables[i] = p;
	return p;
}

int main(void)
{
	uint64_t rng = 0x68656c6400000001ULL;
	long long live = 0;
	volatile unsigned long sum = 0;

	sc_begin("held", "none", "held_alloc_site");
	for (int i = 0; i < PIECES; i++) {
		sc_touch(held_alloc_site(i), PIECE);
		live += PIECE;
		if (i % 16 == 15)
			sc_truth(live);
		sc_sleep(2.0 / PIECES);
	}
	for (long tick = 1;; tick++) {
		for (int i = 0; i < 16; i++)
			sum += (unsigned char)tables[sc_between(&rng, 0, PIECES - 1)]
						    [sc_between(&rng, 0, PIECE - 1)];
		sc_truth(live);
		sc_sleep_until(2.0 + tick);
	}
}
