// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A steady leak: every PERIOD ms, lw_leak_site allocates SIZE bytes, touches every page and keeps
 * the pointer forever. After -n steps (if given) it stops leaking and holds what it has.
 *
 * Prints {"site":"lw_leak_site","live_bytes":N,"live_allocs":K} after every step and
 * {"event":"idle"} once the steps are done.
 */
#include "lwprog.h"

LW_SITE void *lw_leak_site(size_t size)
{
	void *p = malloc(size);

	lw_keep(p);
	return p;
}

int main(int argc, char **argv)
{
	struct lw_opts o = { .period_ms = 100, .size = 4096 };
	long long live_bytes = 0, live_allocs = 0;
	void *p;

	lw_init(argc, argv, &o, "[-s SIZE] [-p PERIOD_MS] [-n STEPS] [-d SEC]");
	for (long i = 0; !o.steps || i < o.steps; i++) {
		if (lw_expired(&o))
			lw_idle(&o);
		p = lw_leak_site(o.size);
		if (!p) {
			lw_emit("\"event\":\"error\",\"error\":\"malloc failed\"");
			return 1;
		}
		memset(p, 0x5a, o.size);
		live_bytes += o.size;
		live_allocs++;
		lw_truth("lw_leak_site", live_bytes, live_allocs);
		lw_sleep(o.period_ms / 1000);
	}
	lw_emit("\"event\":\"idle\"");
	lw_idle(&o);
}
