// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Leak in a forked child: the parent forks a worker, as pre-fork servers do, and waits; the child
 * leaks four 512-byte jobs every 250 ms (8 KiB/s) from child_leak_site. The header names the
 * child's pid, the process to watch. SIGTERM to the parent takes the child down too.
 * Expect: leak at child_leak_site, in the child.
 */
#include <sys/wait.h>

#include "scenario.h"

#define SIZE 512

struct job {
	struct job *next;
	char data[SIZE - sizeof(struct job *)];
};

static struct job *done_jobs;
static volatile pid_t child;

SC_SITE struct job *child_leak_site(void)
{
	struct job *j = malloc(sizeof(*j));

	if (!j)
		sc_die("malloc");
	j->next = done_jobs;
	done_jobs = j;
	return j;
}

static void forward(int sig)
{
	if (child > 0)
		kill(child, SIGKILL);
	_exit(128 + sig);
}

static void child_main(void)
{
	long long live = 0;

	for (long tick = 1;; tick++) {
		for (int i = 0; i < 4; i++) {
			sc_touch(child_leak_site()->data, sizeof(done_jobs->data));
			live += sizeof(struct job);
		}
		sc_truth(live);
		sc_sleep_until(tick * 0.25);
	}
}

int main(void)
{
	int pipefd[2];
	char c;
	pid_t pid;

	sc_init();
	signal(SIGTERM, forward);
	signal(SIGINT, forward);
	if (pipe(pipefd))
		sc_die("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		sc_die("fork");
	if (pid == 0) {
		close(pipefd[1]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		/* Wait for EOF: the parent has announced this pid, so the header comes first. */
		while (read(pipefd[0], &c, 1) > 0)
			;
		sc_t0 = sc_mono();
		child_main();
	}
	child = pid;
	sc_header("fork", "leak", "child_leak_site", (int)pid);
	close(pipefd[1]); /* EOF releases the child */
	for (;;) {
		int status;

		if (waitpid(pid, &status, 0) == pid)
			return 1; /* the child is not supposed to end */
	}
}
