// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A leak that stops: stopper_leak_site leaks 4 KiB every 250 ms (16 KiB/s) for 50 s, then never
 * allocates there again and holds what it has (a one-off import, a warm-up that leaked). From
 * then on every line carries "stopped_t". Expect: leak at stopper_leak_site while it grows; once
 * it stops the site should leave "leak" (plateau). The runner reports how long that took.
 */
#include "scenario.h"

#define SIZE	4096
#define STOP_AT 50.0

struct blob {
	struct blob *next;
	char data[SIZE - sizeof(struct blob *)];
};

static struct blob *blobs;

SC_SITE struct blob *stopper_leak_site(void)
{
	struct blob *b = malloc(sizeof(*b));

	if (!b)
		sc_die("malloc");
	b->next = blobs;
	blobs = b;
	return b;
}

int main(void)
{
	long long live = 0;
	double stopped = -1;

	sc_begin("leak_stops", "leak", "stopper_leak_site");
	for (long tick = 1;; tick++) {
		if (stopped < 0 && sc_now() < STOP_AT) {
			sc_touch(stopper_leak_site()->data, sizeof(blobs->data));
			live += SIZE;
			sc_truth(live);
		} else {
			if (stopped < 0)
				stopped = sc_now();
			if (tick % 4 == 0)
				sc_emit("\"site_live_bytes\":%lld,\"stopped_t\":%.3f", live,
					stopped);
		}
		sc_sleep_until(tick * 0.25);
	}
}
