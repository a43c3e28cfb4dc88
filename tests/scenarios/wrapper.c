// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Leak through an allocation wrapper. Every allocation goes through xmalloc(), which calls malloc
 * and dies on failure, as in git, binutils or most C services. Two callers share it:
 * wrapper_leak_site keeps 512-byte requests forever (8 KiB/s), wrapper_pool_site replaces
 * buffers of a bounded pool (no growth). The leak is the caller's, not the wrapper's: the
 * expected site is wrapper_leak_site, one frame above the caller of malloc (xmalloc).
 *
 * Built with and without frame pointers (run.py runs both): without them, the frames past the
 * first are not recoverable by a frame-pointer walk, so both callers may share one stack.
 */
#include "scenario.h"

#define LEAK_SIZE 512
#define POOL	  128

struct request {
	struct request *next;
	char body[LEAK_SIZE - sizeof(struct request *)];
};

static struct request *requests;

/* A wrapper like any other: not a tail call, because it checks the result. */
SC_SITE void *xmalloc(size_t size)
{
	void *p = malloc(size);

	if (!p) {
		fprintf(stderr, "xmalloc: out of memory allocating %zu bytes\n", size);
		abort();
	}
	return p;
}

SC_SITE struct request *wrapper_leak_site(void)
{
	struct request *r = xmalloc(sizeof(*r));

	r->next = requests;
	requests = r;
	return r;
}

SC_SITE void *wrapper_pool_site(size_t size)
{
	void *p = xmalloc(size);

	sc_sink = p;
	return p;
}

int main(void)
{
	static void *pool[POOL];
	uint64_t rng = 0x7772617070657201ULL;
	long long live = 0;

	sc_begin("wrapper", "leak", "wrapper_leak_site");
	for (long tick = 1;; tick++) {
		for (int i = 0; i < 4; i++) {
			sc_touch(wrapper_leak_site()->body, sizeof(requests->body));
			live += sizeof(struct request);
		}
		for (int i = 0; i < 25; i++) {
			long slot = sc_between(&rng, 0, POOL - 1);

			free(pool[slot]);
			pool[slot] = wrapper_pool_site(sc_between(&rng, 64, 2048));
		}
		sc_truth(live);
		sc_sleep_until(tick * 0.25);
	}
}
