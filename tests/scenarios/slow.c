// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Slow leak: slow_leak_site allocates 256 bytes once a second, exactly, and keeps them: 256 B/s,
 * well under the noise of most services. Expect: leak at slow_leak_site (target: within 120 s).
 */
#include "scenario.h"

#define SIZE	 256
#define MAX_KEPT 4096

static void *kept[MAX_KEPT];
static long nkept;

SC_SITE void *slow_leak_site(void)
{
	void *p = malloc(SIZE);

	if (!p)
		sc_die("malloc");
	kept[nkept++ % MAX_KEPT] = p; /* wraps after 68 minutes; the runner stops long before */
	return p;
}

int main(void)
{
	long long live = 0;

	sc_begin("slow", "leak", "slow_leak_site");
	for (long tick = 1;; tick++) {
		sc_touch(slow_leak_site(), SIZE);
		live += SIZE;
		sc_truth(live);
		sc_sleep_until(tick);
	}
}
