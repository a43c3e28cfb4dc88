/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Shared by the scenario programs. Each scenario is its own oracle: it prints its ground truth as
 * JSON lines on stdout, flushed at once, and tests/scenarios/run.py scores the daemon's verdicts
 * against it.
 *
 * First line:  {"scenario": NAME, "pid": PID, "expect": "leak"|"none"|"plateau"|"fragmentation",
 *               "site": "function_that_calls_the_allocator"|null, "t": 0.0, "mono": M}
 * Then:        {"t": SECONDS_SINCE_START, "mono": M, "site_live_bytes": N, ...}
 *
 * "mono" is CLOCK_MONOTONIC in seconds, the clock of Python's time.monotonic(): the runner lines
 * a truth up with the moment the daemon drained its maps. Leak scenarios print a line after every
 * change of the leaking site (at most a few times a second), so the last line printed before a
 * drain is the exact truth at that drain; the others print about once a second.
 *
 * Sites are non-inlined functions with a unique name that call the allocator themselves, with
 * code after the call: a tail call ("jmp malloc") would leave no return address inside the site
 * and the daemon would rightly blame the site's caller.
 */
#ifndef SC_SCENARIO_H
#define SC_SCENARIO_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#if defined(__clang__)
#define SC_SITE __attribute__((noinline, used))
#else
/* noipa = noinline + noclone + no identical-code folding: the symbol survives -O2 as written. */
#define SC_SITE __attribute__((noipa, used))
#endif

/* Stops the compiler from moving memory accesses across this point (or dropping them). */
#define SC_BARRIER() asm volatile("" ::: "memory")

/* Sites that keep nothing themselves store their result here: the store follows the call. */
__attribute__((used)) void *volatile sc_sink;

static double sc_t0;

static inline double sc_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Seconds since sc_begin(). */
static inline double sc_now(void)
{
	return sc_mono() - sc_t0;
}

static inline void sc_sleep(double sec)
{
	struct timespec ts;

	if (sec <= 0)
		return;
	ts.tv_sec = (time_t)sec;
	ts.tv_nsec = (long)((sec - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Sleeps until t seconds after the start: paced loops do not drift with the work they do. */
static inline void sc_sleep_until(double t)
{
	sc_sleep(t - sc_now());
}

/* Prints one JSON object: "t" and "mono", then the caller's fields. */
__attribute__((format(printf, 1, 2))) static inline void sc_emit(const char *fmt, ...)
{
	char body[512];
	va_list ap;
	double now = sc_mono();

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	printf("{\"t\":%.3f,\"mono\":%.6f%s%s}\n", now - sc_t0, now, *body ? "," : "", body);
	fflush(stdout);
}

static inline void sc_truth(long long site_live_bytes)
{
	sc_emit("\"site_live_bytes\":%lld", site_live_bytes);
}

__attribute__((noreturn)) static inline void sc_die(const char *what)
{
	fprintf(stderr, "scenario: %s failed: %s\n", what, strerror(errno));
	exit(1);
}

/*
 * Starts the clock and dies with the parent (an aborted run leaves no orphans). The header line
 * is printed separately, by sc_header(), because the forked-child scenario names another pid.
 */
static inline void sc_init(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		exit(1); /* the parent died before prctl */
	sc_t0 = sc_mono();
}

static inline void sc_header(const char *name, const char *expect, const char *site, int pid)
{
	char quoted[128];

	if (site)
		snprintf(quoted, sizeof(quoted), "\"%s\"", site);
	else
		snprintf(quoted, sizeof(quoted), "null");
	sc_emit("\"scenario\":\"%s\",\"pid\":%d,\"expect\":\"%s\",\"site\":%s", name, pid, expect,
		quoted);
}

static inline void sc_begin(const char *name, const char *expect, const char *site)
{
	sc_init();
	sc_header(name, expect, site, (int)getpid());
}

/* Writes every page, so the memory is resident and RSS tells the truth. */
static inline void sc_touch(void *p, size_t n)
{
	memset(p, 0x5a, n);
	SC_BARRIER();
}

/* xorshift64*: deterministic, so every run of a scenario allocates the same sizes. */
static inline uint64_t sc_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* A number in [lo, hi]. */
static inline long sc_between(uint64_t *state, long lo, long hi)
{
	return lo + (long)(sc_rand(state) % (uint64_t)(hi - lo + 1));
}

/* Resident set size from /proc/self/statm, in bytes (-1 if unreadable). */
static inline long long sc_rss(void)
{
	long long size, resident = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%lld %lld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

#endif /* SC_SCENARIO_H */
