// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * PID reuse: a new process that gets the pid of an old one must not inherit the old one's sites.
 *
 * The launcher forks child A, which leaks STEPS blocks of SIZE bytes at lw_pidreuse_old_site and
 * waits. When a line (or EOF) arrives on the launcher's stdin, A is told to exit and is reaped;
 * the launcher then writes A-1 to /proc/sys/kernel/ns_last_pid (root, initial pid namespace) and
 * forks at once, retrying while another process steals the pid. The child that gets A's pid leaks
 * STEPS/2 blocks of 3*SIZE bytes at lw_pidreuse_new_site and holds them until the launcher dies.
 *
 * Events: {"event":"old_ready","target":A} (with A's truth line before it, "pid":A), then
 * {"event":"old_exited"}, then {"event":"reused","target":A,"attempts":N} and the new process's
 * truth line ("pid":A), or {"event":"reuse_unsupported","error":...} /
 * {"event":"reuse_failed"} when the pid could not be had.
 */
#include <fcntl.h>
#include <sys/wait.h>

#include "lwprog.h"

#define MAX_ATTEMPTS 500

LW_SITE void *lw_pidreuse_old_site(size_t size)
{
	void *p = malloc(size);

	lw_keep(p);
	return p;
}

LW_SITE void *lw_pidreuse_new_site(size_t size)
{
	void *p = malloc(size);

	lw_keep(p);
	return p;
}

static void leak(void *(*site)(size_t), const char *name, long steps, long size)
{
	for (long i = 0; i < steps; i++) {
		void *p = site(size);

		if (!p) {
			lw_emit("\"event\":\"error\",\"error\":\"malloc failed\"");
			_exit(1);
		}
		memset(p, 0x55, size);
	}
	lw_truth(name, (long long)steps * size, steps);
}

/* Dies with the launcher; the launcher may already be gone by the time prctl runs. */
static void follow_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
}

static int set_last_pid(pid_t pid)
{
	char buf[32];
	int fd, len, err = 0;

	fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%d", (int)pid);
	if (write(fd, buf, len) != len)
		err = -errno;
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	struct lw_opts o = { .steps = 40, .size = 3000 };
	const char *usage = "[-n STEPS] [-s SIZE] [-d SEC]";
	pid_t self, old, child;
	int go[2], err, attempt;
	char c;

	lw_init(argc, argv, &o, usage);
	if (o.steps < 2 || o.size < 1)
		lw_usage(argv[0], usage);
	self = getpid();
	if (pipe(go)) {
		lw_emit("\"event\":\"error\",\"error\":\"pipe: %s\"", strerror(errno));
		return 1;
	}
	fflush(stdout);
	old = fork();
	if (old < 0) {
		lw_emit("\"event\":\"error\",\"error\":\"fork: %s\"", strerror(errno));
		return 1;
	}
	if (old == 0) {
		close(go[1]);
		follow_parent(self);
		leak(lw_pidreuse_old_site, "lw_pidreuse_old_site", o.steps, o.size);
		lw_emit("\"event\":\"old_ready\",\"target\":%d", (int)getpid());
		while (read(go[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(go[0]);

	lw_wait_stdin();
	close(go[1]);
	waitpid(old, NULL, 0);
	lw_emit("\"event\":\"old_exited\",\"target\":%d", (int)old);

	for (attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
		err = set_last_pid(old - 1);
		if (err) {
			lw_emit("\"event\":\"reuse_unsupported\",\"error\":\"ns_last_pid: %s\"",
				strerror(-err));
			lw_idle(&o);
		}
		fflush(stdout);
		child = fork();
		if (child == 0) {
			if (getpid() != old)
				_exit(0);
			follow_parent(self);
			leak(lw_pidreuse_new_site, "lw_pidreuse_new_site", o.steps / 2, o.size * 3);
			for (;;)
				pause();
		}
		if (child == old)
			break;
		if (child > 0)
			waitpid(child, NULL, 0);
	}
	if (attempt > MAX_ATTEMPTS)
		lw_emit("\"event\":\"reuse_failed\",\"target\":%d,\"attempts\":%d", (int)old,
			MAX_ATTEMPTS);
	else
		lw_emit("\"event\":\"reused\",\"target\":%d,\"attempts\":%d", (int)old, attempt);
	lw_idle(&o);
}
