// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Load for the daemon's own costs: NPROC processes, each keeping NSITES live allocations, one
 * per call stack (one of 16 calling functions under a recursion of 0 to 12 frames: 208 stacks
 * that the default stack_depth of 16 tells apart), replaced once a second. Runs until killed;
 * the children die with the parent.
 *   manysites NPROC NSITES
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#define CALLERS 16
#define MAX_DEPTH 13
#define MAX_SITES (CALLERS * MAX_DEPTH)

static void *keep[MAX_SITES];

/* 16 functions that call malloc, each its own allocation site */
#define CALLER(n)                                                                     \
	__attribute__((noinline)) static void *caller##n(size_t size)                \
	{                                                                             \
		void *p = malloc(size);                                               \
		asm volatile("" ::: "memory");	/* no tail call */                    \
		return p;                                                             \
	}
CALLER(0) CALLER(1) CALLER(2) CALLER(3) CALLER(4) CALLER(5) CALLER(6) CALLER(7)
CALLER(8) CALLER(9) CALLER(10) CALLER(11) CALLER(12) CALLER(13) CALLER(14) CALLER(15)

static void *(*const callers[CALLERS])(size_t) = {
	caller0, caller1, caller2, caller3, caller4, caller5, caller6, caller7,
	caller8, caller9, caller10, caller11, caller12, caller13, caller14, caller15,
};

/* Each (caller, depth) is its own call stack: d frames of descend() above the caller. */
__attribute__((noinline)) static void *descend(int d, int c, size_t size)
{
	void *p;

	if (d > 0)
		p = descend(d - 1, c, size);
	else
		p = callers[c](size);
	asm volatile("" ::: "memory");	/* no tail call: keep every frame */
	return p;
}

int main(int argc, char **argv)
{
	int nproc, nsites;

	if (argc != 3 || (nproc = atoi(argv[1])) <= 0 || (nsites = atoi(argv[2])) <= 0 ||
	    nsites > MAX_SITES) {
		fprintf(stderr, "usage: manysites NPROC NSITES(1..%d)\n", MAX_SITES);
		return 2;
	}
	for (int i = 0; i < nproc; i++) {
		if (fork())
			continue;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			for (int s = 0; s < nsites; s++) {
				free(keep[s]);
				keep[s] = descend(s / CALLERS, s % CALLERS, 64 + s);
			}
			sleep(1);
		}
	}
	printf("started %d processes with %d sites each\n", nproc, nsites);
	fflush(stdout);
	pause();
	return 0;
}
