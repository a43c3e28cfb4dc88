// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Leak in a worker thread: one worker leaks 1 KiB every 250 ms (4 KiB/s) from worker_leak_site,
 * in its own malloc arena; a second worker replaces buffers of a bounded pool (no growth); the
 * main thread only reports. Expect: leak at worker_leak_site.
 */
#include <pthread.h>

#include "scenario.h"

#define LEAK_SIZE 1024
#define POOL	  64

struct session {
	struct session *next;
	char state[LEAK_SIZE - sizeof(struct session *)];
};

static struct session *sessions;
static long long leaked; /* bytes, written by the leaking worker only */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

SC_SITE struct session *worker_leak_site(void)
{
	struct session *s = malloc(sizeof(*s));

	if (!s)
		sc_die("malloc");
	s->next = sessions;
	sessions = s;
	return s;
}

SC_SITE void *worker_pool_site(size_t size)
{
	void *p = malloc(size);

	if (!p)
		sc_die("malloc");
	sc_sink = p;
	return p;
}

static void *leaker(void *arg)
{
	for (long tick = 1;; tick++) {
		struct session *s = worker_leak_site();

		sc_touch(s->state, sizeof(s->state));
		pthread_mutex_lock(&lock);
		leaked += sizeof(*s);
		pthread_mutex_unlock(&lock);
		/* The truth line comes right after the change, from the thread that made it. */
		sc_truth(leaked);
		sc_sleep_until(tick * 0.25);
	}
	return arg;
}

static void *pooler(void *arg)
{
	static void *pool[POOL];
	uint64_t rng = 0x7468726561640001ULL;

	for (long tick = 1;; tick++) {
		for (int i = 0; i < 20; i++) {
			long slot = sc_between(&rng, 0, POOL - 1);

			free(pool[slot]);
			pool[slot] = worker_pool_site(sc_between(&rng, 256, 8192));
		}
		sc_sleep_until(tick * 0.1);
	}
	return arg;
}

int main(void)
{
	pthread_t t1, t2;

	sc_begin("thread", "leak", "worker_leak_site");
	if ((errno = pthread_create(&t1, NULL, leaker, NULL)))
		sc_die("pthread_create");
	if ((errno = pthread_create(&t2, NULL, pooler, NULL)))
		sc_die("pthread_create");
	for (;;)
		pause();
}
