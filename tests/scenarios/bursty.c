// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Bursty leak: every 6 s a burst of 48 allocations of 2 KiB (96 KiB in about 0.2 s), then nothing
 * until the next burst: 16 KiB/s on average, but flat between bursts, so a trend test sees steps.
 * Each burst also allocates and frees scratch buffers at the same site, as a request handler would.
 * Expect: leak at burst_leak_site.
 */
#include "scenario.h"

#define SIZE   2048
#define BURST  48
#define PERIOD 6.0

struct entry {
	struct entry *next;
	char payload[SIZE - sizeof(struct entry *)];
};

static struct entry *journal;

SC_SITE struct entry *burst_leak_site(int keep)
{
	struct entry *e = malloc(sizeof(*e));

	if (!e)
		sc_die("malloc");
	if (keep) {
		e->next = journal;
		journal = e;
	} else {
		sc_sink = e;
	}
	return e;
}

int main(void)
{
	long long live = 0;
	double next_burst = 2.0;

	sc_begin("bursty", "leak", "burst_leak_site");
	for (long tick = 1;; tick++) {
		if (sc_now() >= next_burst) {
			for (int i = 0; i < BURST; i++) {
				struct entry *scratch = burst_leak_site(0);

				sc_touch(scratch->payload, sizeof(scratch->payload));
				sc_touch(burst_leak_site(1)->payload, sizeof(scratch->payload));
				free(scratch);
				live += sizeof(struct entry);
				if (i % 8 == 7)
					sc_sleep(0.03);
			}
			sc_truth(live);
			next_burst += PERIOD;
		}
		sc_sleep_until(tick * 0.25);
		if (tick % 4 == 0)
			sc_truth(live);
	}
}
