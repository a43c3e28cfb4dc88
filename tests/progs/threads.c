// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * T threads leak at one site, lw_thread_leak_site, each STEPS blocks of SIZE bytes every PERIOD
 * ms, then exit while the process lives on: the per-thread exits must not retire the process.
 *
 * The main thread prints the total {"site":"lw_thread_leak_site",...} every 100 ms while the
 * threads run and once after they are joined, then {"event":"done"}, then holds everything.
 */
#include <pthread.h>

#include "lwprog.h"

static struct lw_opts o = { .threads = 4, .steps = 50, .period_ms = 10, .size = 1024 };
static long long total_allocs;

LW_SITE void *lw_thread_leak_site(size_t size)
{
	void *p = malloc(size);

	lw_keep(p);
	return p;
}

static void *worker(void *arg)
{
	(void)arg;
	for (long i = 0; i < o.steps; i++) {
		void *p = lw_thread_leak_site(o.size);

		if (!p)
			return (void *)1;
		memset(p, 0x33, o.size);
		__atomic_fetch_add(&total_allocs, 1, __ATOMIC_RELAXED);
		lw_sleep(o.period_ms / 1000);
	}
	return NULL;
}

static void report(void)
{
	long long n = __atomic_load_n(&total_allocs, __ATOMIC_RELAXED);

	lw_truth("lw_thread_leak_site", n * o.size, n);
}

int main(int argc, char **argv)
{
	const char *usage = "[-t THREADS] [-n STEPS_PER_THREAD] [-p PERIOD_MS] [-s SIZE] [-d SEC]";
	long long expected;
	pthread_t *tids;
	int err;

	lw_init(argc, argv, &o, usage);
	if (o.threads < 1 || o.threads > 1024 || o.steps < 1)
		lw_usage(argv[0], usage);
	expected = (long long)o.threads * o.steps;
	tids = calloc(o.threads, sizeof(*tids));
	for (long i = 0; i < o.threads; i++) {
		err = pthread_create(&tids[i], NULL, worker, NULL);
		if (err) {
			lw_emit("\"event\":\"error\",\"error\":\"pthread_create: %s\"",
				strerror(err));
			return 1;
		}
	}
	while (__atomic_load_n(&total_allocs, __ATOMIC_RELAXED) < expected) {
		report();
		lw_sleep(0.1);
	}
	for (long i = 0; i < o.threads; i++) {
		void *ret;

		pthread_join(tids[i], &ret);
		if (ret) {
			lw_emit("\"event\":\"error\",\"error\":\"malloc failed\"");
			return 1;
		}
	}
	report();
	lw_emit("\"event\":\"done\",\"threads\":%ld", o.threads);
	lw_idle(&o);
}
