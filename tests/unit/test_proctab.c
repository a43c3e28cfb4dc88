// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "proctab.h"
#include "unit.h"

static bool test_starttime_plain(void)
{
	unsigned long long t = 0;
	const char *stat = "1234 (cat) S 1 1234 1234 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 "
			   "987654 5000000 100 18446744073709551615";

	CHECK(lw_parse_stat_starttime(stat, &t) == 0);
	CHECK(t == 987654);
	return true;
}

/* comm is whatever the process chose: spaces and ')' must not shift the fields */
static bool test_starttime_hostile_comm(void)
{
	unsigned long long t = 0;
	const char *stat = "77 (a) b) c (d) R 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0";

	CHECK(lw_parse_stat_starttime(stat, &t) == 0);
	CHECK(t == 42);
	return true;
}

static bool test_starttime_malformed(void)
{
	unsigned long long t;

	CHECK(lw_parse_stat_starttime("no parenthesis here", &t) == -EINVAL);
	CHECK(lw_parse_stat_starttime("1 (x) S 1 2 3", &t) == -EINVAL);
	CHECK(lw_parse_stat_starttime("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 x", &t) ==
	      -EINVAL);
	return true;
}

/* Our own process matches its /proc entry and gets its name; a dead identity gets none. */
static bool test_first_sight(void)
{
	struct lw_proctab *pt = lw_proctab__new();
	struct lw_proc *self, *dead;
	char comm[32] = "";
	FILE *f = fopen("/proc/self/comm", "r");

	CHECK(pt && f);
	CHECK(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	self = lw_proctab__get(pt, getpid(), 1, 0, 1.0);
	CHECK(self && !self->exited);
	CHECK_STR(self->info->comm, comm);
	CHECK(self->maps.n > 0);
	CHECK(lw_proctab__get(pt, getpid(), 1, 0, 2.0) == self);

	dead = lw_proctab__add_dead(pt, getpid(), 2, 1.0);
	CHECK(dead && dead->exited && dead != self);
	CHECK_STR(dead->info->comm, "?");
	CHECK(lw_proctab__nalive(pt) == 1);

	lw_proctab__mark_exited(pt, getpid(), 1, 3.0);
	CHECK(lw_proctab__nalive(pt) == 0);
	lw_proctab__prune(pt, 100.0, 10.0);
	CHECK(!lw_proctab__find(pt, getpid(), 1) && !lw_proctab__find(pt, getpid(), 2));
	lw_proctab__free(pt);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_starttime_plain), UNIT_TEST(test_starttime_hostile_comm),
	  UNIT_TEST(test_starttime_malformed), UNIT_TEST(test_first_sight))
