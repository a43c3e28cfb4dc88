// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Linear leak: every 250 ms, linear_leak_site allocates two 4 KiB records (32 KiB/s), links them
 * into a list that is never walked or freed. Expect: leak at linear_leak_site.
 */
#include "scenario.h"

#define RECORD	 4096
#define PER_TICK 2
#define TICK	 0.25

struct record {
	struct record *next;
	char payload[RECORD - sizeof(struct record *)];
};

static struct record *history;

SC_SITE struct record *linear_leak_site(void)
{
	struct record *r = malloc(sizeof(*r));

	if (!r)
		sc_die("malloc");
	r->next = history;
	history = r;
	return r;
}

int main(void)
{
	long long live = 0;

	sc_begin("linear", "leak", "linear_leak_site");
	for (long tick = 1;; tick++) {
		for (int i = 0; i < PER_TICK; i++) {
			sc_touch(linear_leak_site()->payload, sizeof(history->payload));
			live += sizeof(struct record);
		}
		sc_truth(live);
		sc_sleep_until(tick * TICK);
	}
}
