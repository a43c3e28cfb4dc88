// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Process verdicts on synthetic processes sampled once a second with the configuration
 * defaults (window 60 s, fragmentation threshold 8 MiB), and the /proc parsers behind them.
 */
#include <stdint.h>

#include "procmem.h"
#include "proctab.h"
#include "unit.h"

#define MIB (1024 * 1024)
#define FRAG_MIN (8 * MIB)

struct psim {
	struct lw_procmem *m;
	struct lw_procmem_sample smp;
	struct lw_procmem_result r;
};

static bool psim_init(struct psim *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->m = lw_procmem__new(120);
	return ps->m != NULL;
}

/* anon is what the heap holds beyond live (the allocator's free memory) plus a fixed base. */
static void psim_step(struct psim *ps, double t, int64_t live, int64_t held, uint64_t freed_now)
{
	ps->smp.t = t;
	ps->smp.live_bytes = live;
	ps->smp.live_allocs = live / 64;
	ps->smp.anon_bytes = 20 * MIB + live + held;
	ps->smp.rss_bytes = ps->smp.anon_bytes + 10 * MIB;
	ps->smp.freed_bytes += freed_now;
	lw_procmem__update(ps->m, NULL, FRAG_MIN, &ps->smp, &ps->r);
}

/* Allocate 60 MiB of small blocks, free 90%: the pages stay, pinned by every tenth block. */
static bool test_fall_and_stay(void)
{
	struct psim ps;
	int t, found = -1;

	CHECK(psim_init(&ps));
	for (t = 0; t < 10; t++)
		psim_step(&ps, t, 60 * MIB, 0, 0);
	CHECK(ps.r.verdict == LW_PROC_STABLE);
	for (; t < 60; t++) {
		psim_step(&ps, t, 6 * MIB, 54 * MIB, t == 10 ? 54 * MIB : 0);
		CHECK(ps.r.verdict != LW_PROC_LEAK);
		if (found < 0 && ps.r.verdict == LW_PROC_FRAGMENTATION)
			found = t;
	}
	CHECK(found > 0 && found <= 35);
	CHECK(ps.r.held_bytes >= 50 * MIB);
	lw_procmem__free(ps.m);
	return true;
}

/* The same fall, but the allocator gives the memory back: not fragmentation. */
static bool test_fall_and_return(void)
{
	struct psim ps;
	int t;

	CHECK(psim_init(&ps));
	for (t = 0; t < 10; t++)
		psim_step(&ps, t, 60 * MIB, 0, 0);
	for (; t < 60; t++) {
		psim_step(&ps, t, 6 * MIB, 0, t == 10 ? 54 * MIB : 0);
		CHECK(ps.r.verdict != LW_PROC_FRAGMENTATION && ps.r.verdict != LW_PROC_LEAK);
	}
	CHECK(ps.r.verdict == LW_PROC_STABLE);
	lw_procmem__free(ps.m);
	return true;
}

/*
 * A burst: 66 MiB of small objects built and freed; the live heap is back where it was, but
 * 18 MiB stayed with the process (the Python pattern). Most of the fall was returned,
 * what stayed is fragmentation, and stays so while it stays.
 */
static bool test_burst_partly_returned(void)
{
	struct psim ps;
	int t, found = -1;

	CHECK(psim_init(&ps));
	for (t = 0; t < 20; t++)
		psim_step(&ps, t, 4 * MIB, 0, MIB / 8);
	for (; t < 25; t++)
		psim_step(&ps, t, 70 * MIB, 16 * MIB, 0);
	for (; t < 150; t++) {
		psim_step(&ps, t, 4 * MIB, 18 * MIB, t == 25 ? 66 * MIB : MIB / 8);
		CHECK(ps.r.verdict != LW_PROC_LEAK);
		if (found < 0 && ps.r.verdict == LW_PROC_FRAGMENTATION)
			found = t;
	}
	CHECK(found > 25 && found <= 45);
	CHECK(ps.r.verdict == LW_PROC_FRAGMENTATION);
	CHECK(ps.r.held_bytes >= 17 * MIB && ps.r.held_bytes <= 19 * MIB);
	lw_procmem__free(ps.m);
	return true;
}

/* The same burst with nothing freed after it is not memory the process could have reused. */
static bool test_burst_without_frees(void)
{
	struct psim ps;

	CHECK(psim_init(&ps));
	for (int t = 0; t < 90; t++)
		psim_step(&ps, t, 4 * MIB, t < 20 ? 0 : 18 * MIB, 0);
	CHECK(ps.r.verdict != LW_PROC_FRAGMENTATION);
	lw_procmem__free(ps.m);
	return true;
}

/* Anonymous memory creeps up round after round while the live heap stays put. */
static bool test_grow_while_freeing(void)
{
	struct psim ps;
	bool seen = false;

	CHECK(psim_init(&ps));
	for (int t = 0; t < 90; t++) {
		psim_step(&ps, t, 4 * MIB, (int64_t)t * MIB / 2, 2 * MIB);
		CHECK(ps.r.verdict != LW_PROC_LEAK);
		seen |= ps.r.verdict == LW_PROC_FRAGMENTATION;
	}
	CHECK(seen && ps.r.verdict == LW_PROC_FRAGMENTATION);
	lw_procmem__free(ps.m);
	return true;
}

/* Anonymous growth with nothing freed is memory the heap never had: growing, not fragmented. */
static bool test_grow_without_frees(void)
{
	struct psim ps;

	CHECK(psim_init(&ps));
	for (int t = 0; t < 90; t++) {
		psim_step(&ps, t, 4 * MIB, (int64_t)t * MIB / 2, 0);
		CHECK(ps.r.verdict != LW_PROC_FRAGMENTATION);
	}
	CHECK(ps.r.verdict == LW_PROC_GROWING);
	CHECK(ps.r.rss_growth_bytes_per_sec > 0.4 * MIB);
	lw_procmem__free(ps.m);
	return true;
}

/* A sawtooth queue whose drained memory the allocator trims: given back, not fragmentation. */
static bool test_sawtooth_trimmed(void)
{
	struct psim ps;

	CHECK(psim_init(&ps));
	for (int t = 0; t < 120; t++) {
		int64_t live = (t % 8) * 4 * MIB;

		psim_step(&ps, t, live, 0, t % 8 == 0 ? 28 * MIB : 0);
		CHECK(ps.r.verdict != LW_PROC_FRAGMENTATION && ps.r.verdict != LW_PROC_LEAK);
	}
	lw_procmem__free(ps.m);
	return true;
}

/*
 * The heap peaks for a second every 8 s and falls back to a tenth, which pins its pages: the
 * memory between the peaks stays resident. Fragmentation, and it does not flap.
 */
static bool test_peaks_held(void)
{
	struct psim ps;
	int found = -1, changes = 0;
	enum lw_proc_verdict last = LW_PROC_STABLE;

	CHECK(psim_init(&ps));
	for (int t = 0; t < 150; t++) {
		int64_t live = t % 8 == 1 ? 36 * MIB : 4 * MIB;

		psim_step(&ps, t, live, 36 * MIB - live, t % 8 == 2 ? 32 * MIB : 0);
		CHECK(ps.r.verdict != LW_PROC_LEAK);
		if (found < 0 && ps.r.verdict == LW_PROC_FRAGMENTATION)
			found = t;
		changes += ps.r.verdict != last;
		last = ps.r.verdict;
	}
	CHECK(found > 0 && found <= 10);
	CHECK(last == LW_PROC_FRAGMENTATION && changes == 1);
	lw_procmem__free(ps.m);
	return true;
}

/* A leaking site makes the process a leak, whatever its memory does. */
static bool test_leak_wins(void)
{
	struct psim ps;

	CHECK(psim_init(&ps));
	for (int t = 0; t < 10; t++)
		psim_step(&ps, t, 60 * MIB, 0, 0);
	for (int t = 10; t < 60; t++) {
		ps.smp.nleaks = t >= 40;
		psim_step(&ps, t, 6 * MIB, 54 * MIB, 0);
	}
	CHECK(ps.r.verdict == LW_PROC_LEAK);
	lw_procmem__free(ps.m);
	return true;
}

/* A live heap that grows steadily makes the process growing, with its rate. */
static bool test_heap_growth(void)
{
	struct psim ps;

	CHECK(psim_init(&ps));
	for (int t = 0; t < 60; t++)
		psim_step(&ps, t, 4 * MIB + (int64_t)t * MIB, 0, 0);
	CHECK(ps.r.verdict == LW_PROC_GROWING);
	CHECK(ps.r.live_growth_bytes_per_sec > 0.9 * MIB && ps.r.live_growth_bytes_per_sec < 1.1 * MIB);
	lw_procmem__free(ps.m);
	return true;
}

static bool test_parsers(void)
{
	int64_t rss, anon, pss;

	CHECK(lw_parse_statm("1000 300 100 5 0 200 0\n", 4096, &rss, &anon) == 0);
	CHECK(rss == 300 * 4096 && anon == 200 * 4096);
	CHECK(lw_parse_statm("1000 300\n", 4096, &rss, &anon) < 0);
	CHECK(lw_parse_statm("1000 100 300 0 0 0 0\n", 4096, &rss, &anon) < 0);
	CHECK(lw_parse_statm("", 4096, &rss, &anon) < 0);
	CHECK(lw_parse_rollup_pss("55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss: 2048 kB\n"
				  "Pss:                1536 kB\nPss_Anon: 1000 kB\n", &pss) == 0);
	CHECK(pss == 1536 * 1024);
	CHECK(lw_parse_rollup_pss("Rss: 2048 kB\nPss_Anon: 1000 kB\n", &pss) < 0);
	CHECK(lw_parse_rollup_pss("x\nPss: lots\n", &pss) < 0);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_fall_and_stay), UNIT_TEST(test_fall_and_return),
	  UNIT_TEST(test_grow_while_freeing), UNIT_TEST(test_grow_without_frees),
	  UNIT_TEST(test_sawtooth_trimmed), UNIT_TEST(test_peaks_held), UNIT_TEST(test_leak_wins),
	  UNIT_TEST(test_heap_growth), UNIT_TEST(test_burst_partly_returned),
	  UNIT_TEST(test_burst_without_frees), UNIT_TEST(test_parsers))
