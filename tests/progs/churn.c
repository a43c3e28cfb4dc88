// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Churn without a leak: a ring of N buffers; each operation frees the oldest and allocates a new
 * one from lw_churn_site, at RATE operations per second. Live bytes at the site climb to N * SIZE
 * and stay there, however many blocks pass through.
 *
 * Prints {"site":"lw_churn_site","live_bytes":..,"live_allocs":..,"ops":..} every 100 ms.
 */
#include "lwprog.h"

static void *ring[1 << 16];

LW_SITE void *lw_churn_site(size_t size)
{
	void *p = malloc(size);

	LW_BARRIER();
	*(volatile char *)p = 1;	/* code after the call: no tail call */
	return p;
}

int main(int argc, char **argv)
{
	struct lw_opts o = { .size = 256, .ring = 64, .rate = 20000 };
	const char *usage = "[-s SIZE] [-N RING] [-r OPS_PER_SEC] [-d SEC]";
	double next_tick, next_report;
	long long ops = 0, held = 0;
	long slot = 0, batch;

	lw_init(argc, argv, &o, usage);
	if (o.ring < 1 || o.ring > (long)(sizeof(ring) / sizeof(ring[0])) || o.size < 1)
		lw_usage(argv[0], usage);
	/* Paced in 1 ms ticks: that many operations, then sleep to the next tick. */
	batch = o.rate > 0 ? (long)(o.rate / 1000) : 1000;
	if (batch < 1)
		batch = 1;
	next_tick = next_report = lw_now();
	while (!lw_expired(&o)) {
		for (long i = 0; i < batch; i++) {
			if (ring[slot]) {
				free(ring[slot]);
				held--;
			}
			ring[slot] = lw_churn_site(o.size);
			held++;
			ops++;
			slot = (slot + 1) % o.ring;
		}
		if (lw_now() >= next_report) {
			lw_emit("\"site\":\"lw_churn_site\",\"live_bytes\":%lld,"
				"\"live_allocs\":%lld,\"ops\":%lld",
				held * o.size, held, ops);
			next_report += 0.1;
		}
		if (o.rate > 0) {
			next_tick += batch / o.rate;
			lw_sleep(next_tick - lw_now());
		}
	}
	lw_idle(&o);
}
