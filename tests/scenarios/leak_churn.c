// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Leak hidden in churn at the same site: session_alloc_site allocates 512-byte buffers at
 * 1000/s; they go through a ring of 512 buffers (each freed when the ring wraps, within about
 * half a second), except every 64th, which an error path forgets: 8 KiB/s leaked among 500 KiB/s
 * allocated and freed at the same stack. Expect: leak at session_alloc_site.
 */
#include "scenario.h"

#define SIZE	   512
#define RING	   512
#define PER_TICK   10
#define LEAK_EVERY 64

static void *ring[RING];
#define MAX_FORGOTTEN (1 << 16)

static void *forgotten[MAX_FORGOTTEN]; /* 68 minutes' worth; the runner stops long before */
static long nforgotten;

SC_SITE void *session_alloc_site(void)
{
	void *p = malloc(SIZE);

	if (!p)
		sc_die("malloc");
	sc_sink = p;
	return p;
}

static void forget(void *p)
{
	forgotten[nforgotten++ % MAX_FORGOTTEN] = p;
}

int main(void)
{
	long long ring_bytes = 0, leaked = 0;
	unsigned long n = 0, slot = 0;

	sc_begin("leak_churn", "leak", "session_alloc_site");
	for (long tick = 1;; tick++) {
		for (int i = 0; i < PER_TICK; i++, n++) {
			void *p = session_alloc_site();

			sc_touch(p, 64);
			if (n % LEAK_EVERY == LEAK_EVERY - 1) {
				forget(p);
				leaked += SIZE;
				continue;
			}
			if (ring[slot]) {
				free(ring[slot]);
				ring_bytes -= SIZE;
			}
			ring[slot] = p;
			ring_bytes += SIZE;
			slot = (slot + 1) % RING;
		}
		/* Every 250 ms: the site's live bytes are the ring plus what leaked. */
		if (tick % 25 == 0)
			sc_emit("\"site_live_bytes\":%lld,\"leaked_bytes\":%lld",
				ring_bytes + leaked, leaked);
		sc_sleep_until(tick * 0.01);
	}
}
