// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Load for the daemon's own costs: NPROC processes, each keeping NSITES live allocations, one
 * per call stack (a recursion of a different depth per site), replaced once a second. Runs until
 * killed; the children die with the parent.
 *   manysites NPROC NSITES
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#define MAX_SITES 64

static void *keep[MAX_SITES];

/* Each depth is its own call stack: d frames of descend() above malloc. */
__attribute__((noinline)) static void *descend(int d, size_t size)
{
	void *p;

	if (d > 0)
		p = descend(d - 1, size);
	else
		p = malloc(size);
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
				keep[s] = descend(s, 64 + s);
			}
			sleep(1);
		}
	}
	printf("started %d processes with %d sites each\n", nproc, nsites);
	fflush(stdout);
	pause();
	return 0;
}
