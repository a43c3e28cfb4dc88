// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Malloc/free churn: about 50,000 operations a second (25,000 replacements, each a free and a
 * malloc of 16 B..2 KiB) over a table of 2048 slots, paced every 10 ms. Live bytes hover around
 * 2 MiB, and every allocation dies young. Expect: none (stable) at churn_site.
 */
#include "scenario.h"

#define SLOTS	    2048
#define OPS_PER_SEC 50000
#define TICK	    0.01

static void *slot_ptr[SLOTS];
static size_t slot_size[SLOTS];

SC_SITE void *churn_site(size_t size)
{
	void *p = malloc(size);

	if (!p)
		sc_die("malloc");
	sc_sink = p;
	return p;
}

int main(void)
{
	uint64_t rng = 0x636875726e000001ULL;
	long long live = 0;
	const int per_tick = (int)(OPS_PER_SEC / 2 * TICK);

	sc_begin("churn", "none", "churn_site");
	for (long tick = 1;; tick++) {
		for (int i = 0; i < per_tick; i++) {
			long s = sc_between(&rng, 0, SLOTS - 1);
			size_t size = (size_t)sc_between(&rng, 16, 2048);

			free(slot_ptr[s]);
			live -= slot_size[s];
			slot_ptr[s] = churn_site(size);
			*(volatile char *)slot_ptr[s] = 1;
			slot_size[s] = size;
			live += size;
		}
		if (tick % 100 == 0)
			sc_truth(live);
		sc_sleep_until(tick * TICK);
	}
}
