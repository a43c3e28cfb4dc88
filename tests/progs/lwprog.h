/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Shared by the test programs. Each program is its own oracle: it prints what it allocated and
 * still holds as JSON lines on stdout, flushed at once, and the integration tests compare the
 * daemon's view with that truth. Every line carries "pid" and "t" (CLOCK_MONOTONIC seconds, the
 * clock of Python's time.monotonic()), so a test can tell what was true at a given moment.
 *
 * Allocation sites follow the kernel selftests' trigger functions: one non-inlined function per
 * site with a unique lw_ name, calling the allocator directly. The pointer is stored into a global
 * after the call, so the call is never a tail call (a "jmp malloc" would leave no return address
 * in the site and the daemon would blame the site's caller).
 */
#ifndef LW_PROG_H
#define LW_PROG_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#ifdef __clang__
#define LW_SITE __attribute__((noinline, used))
#else
/* noipa = noinline + noclone + no identical-code folding: the symbol must survive -O2 as is. */
#define LW_SITE __attribute__((noipa, used))
#endif

/* Stops the compiler from moving or merging code across this point. */
#define LW_BARRIER() asm volatile("" ::: "memory")

/*
 * Every leaked block stays reachable from here (a leak checker would call them "still
 * reachable"). Global, not static: the stores must stay, and they are the code after the call.
 */
#define LW_KEEP_MAX (1UL << 20)
__attribute__((used)) void *lw_kept[LW_KEEP_MAX];
__attribute__((used)) unsigned long lw_nkept;

/* Sites that keep nothing store their result here instead. */
__attribute__((used)) void *volatile lw_sink;

static inline void lw_keep(void *p)
{
	unsigned long i = __atomic_fetch_add(&lw_nkept, 1, __ATOMIC_RELAXED);

	if (i < LW_KEEP_MAX)
		lw_kept[i] = p;
	LW_BARRIER();
}

struct lw_opts {
	double duration;	/* -d: seconds to run, then exit 0; 0 = until killed */
	double period_ms;	/* -p: pause between steps */
	long size;		/* -s: bytes per allocation */
	long steps;		/* -n: steps (allocations, or per thread); 0 = unlimited */
	long threads;		/* -t */
	double rate;		/* -r: operations per second; 0 = as fast as possible */
	long ring;		/* -N: buffers held at once */
	bool wait_stdin;	/* -w: wait for a line (or EOF) on stdin instead of the -d timer */
};

static double lw_start_time;

static inline double lw_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void lw_sleep(double sec)
{
	struct timespec ts;

	if (sec <= 0)
		return;
	ts.tv_sec = (time_t)sec;
	ts.tv_nsec = (long)((sec - ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Prints one JSON object: the caller's fields, then "pid" and "t". */
__attribute__((format(printf, 1, 2))) static inline void lw_emit(const char *fmt, ...)
{
	char body[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	printf("{%s,\"pid\":%d,\"t\":%.6f}\n", body, (int)getpid(), lw_now());
	fflush(stdout);
}

static inline void lw_truth(const char *site, long long live_bytes, long long live_allocs)
{
	lw_emit("\"site\":\"%s\",\"live_bytes\":%lld,\"live_allocs\":%lld", site, live_bytes,
		live_allocs);
}

__attribute__((noreturn)) static inline void lw_usage(const char *prog, const char *usage)
{
	fprintf(stderr,
		"usage: %s %s\n"
		"  -d SEC  run SEC seconds, then exit 0 (0: until killed)\n"
		"  -p MS   pause between steps     -s N  bytes per allocation\n"
		"  -n N    steps                   -t N  threads\n"
		"  -r N    operations per second   -N N  buffers held at once\n"
		"  -w      wait for a line on stdin instead of -d\n",
		prog, usage);
	exit(2);
}

static inline double lw_num(const char *prog, const char *usage, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < 0)
		lw_usage(prog, usage);
	return v;
}

/*
 * Parses the common options into o (whose defaults the caller set), makes the program die with
 * its parent (an aborted test run leaves no orphans) and prints {"event":"ready"}.
 */
static inline void lw_init(int argc, char **argv, struct lw_opts *o, const char *usage)
{
	int c;

	while ((c = getopt(argc, argv, "d:p:s:n:t:r:N:wh")) != -1) {
		switch (c) {
		case 'd':
			o->duration = lw_num(argv[0], usage, optarg);
			break;
		case 'p':
			o->period_ms = lw_num(argv[0], usage, optarg);
			break;
		case 's':
			o->size = (long)lw_num(argv[0], usage, optarg);
			break;
		case 'n':
			o->steps = (long)lw_num(argv[0], usage, optarg);
			break;
		case 't':
			o->threads = (long)lw_num(argv[0], usage, optarg);
			break;
		case 'r':
			o->rate = lw_num(argv[0], usage, optarg);
			break;
		case 'N':
			o->ring = (long)lw_num(argv[0], usage, optarg);
			break;
		case 'w':
			o->wait_stdin = true;
			break;
		default:
			lw_usage(argv[0], usage);
		}
	}
	if (optind != argc)
		lw_usage(argv[0], usage);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		exit(1);	/* the parent died before prctl */
	lw_start_time = lw_now();
	lw_emit("\"event\":\"ready\"");
}

static inline bool lw_expired(const struct lw_opts *o)
{
	return o->duration > 0 && lw_now() - lw_start_time >= o->duration;
}

/* Blocks until a line or EOF arrives on stdin. */
static inline void lw_wait_stdin(void)
{
	char c;

	while (read(STDIN_FILENO, &c, 1) == 1 && c != '\n')
		;
}

/* Holds everything until the -d deadline (then exits 0) or until killed. */
__attribute__((noreturn)) static inline void lw_idle(const struct lw_opts *o)
{
	while (!lw_expired(o))
		lw_sleep(0.05);
	lw_emit("\"event\":\"exit\"");
	exit(0);
}

#endif /* LW_PROG_H */
