// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A process that leaks and goes away: lw_exiter_site leaks STEPS blocks of SIZE bytes at once,
 * then the process exits after SEC seconds (-d) or, with -w, when a line or EOF arrives on stdin
 * (pipe-synchronised: the test decides when it has seen enough). Many small blocks, so the
 * daemon's live-allocation map visibly fills and drains.
 *
 * Prints the truth after leaking, then {"event":"leaked"}, and {"event":"exit"} just before it
 * exits.
 */
#include "lwprog.h"

LW_SITE void *lw_exiter_site(size_t size)
{
	void *p = malloc(size);

	lw_keep(p);
	return p;
}

int main(int argc, char **argv)
{
	struct lw_opts o = { .steps = 20000, .size = 32, .duration = 3 };
	const char *usage = "[-n STEPS] [-s SIZE] [-d SEC | -w]";
	long long live = 0;

	lw_init(argc, argv, &o, usage);
	if (o.steps < 1 || o.steps > (long)LW_KEEP_MAX)
		lw_usage(argv[0], usage);
	for (long i = 0; i < o.steps; i++) {
		void *p = lw_exiter_site(o.size);

		if (!p) {
			lw_emit("\"event\":\"error\",\"error\":\"malloc failed\"");
			return 1;
		}
		memset(p, 0x44, o.size);
		live++;
	}
	lw_truth("lw_exiter_site", live * o.size, live);
	lw_emit("\"event\":\"leaked\"");
	if (o.wait_stdin) {
		lw_wait_stdin();
		lw_emit("\"event\":\"exit\"");
		return 0;
	}
	lw_idle(&o);
}
