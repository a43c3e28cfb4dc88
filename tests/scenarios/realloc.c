// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Realloc growth never freed: a log keeps appending to its current buffer, growing it with
 * realloc by 3 KiB every 250 ms (12 KiB/s); at 96 KiB it starts a new buffer and keeps the old
 * one forever. The site's live allocation count stays tiny while its bytes grow, and blocks move
 * as they grow. Expect: leak at realloc_grow_site.
 */
#include "scenario.h"

#define STEP	 3072
#define BUF_MAX	 (96 * 1024)
#define MAX_BUFS 1024

struct buf {
	char *data;
	size_t len;
};

static struct buf bufs[MAX_BUFS];
static int nbufs = 1;

SC_SITE char *realloc_grow_site(struct buf *b, size_t len)
{
	char *p = realloc(b->data, len);

	if (!p)
		sc_die("realloc");
	b->data = p;
	b->len = len;
	return p;
}

int main(void)
{
	long long live = 0;

	sc_begin("realloc", "leak", "realloc_grow_site");
	for (long tick = 1;; tick++) {
		struct buf *b = &bufs[nbufs - 1];
		size_t old = b->len;

		if (old + STEP > BUF_MAX && nbufs < MAX_BUFS) {
			b = &bufs[nbufs++];
			old = 0;
		}
		sc_touch(realloc_grow_site(b, old + STEP) + old, STEP);
		live += STEP;
		sc_truth(live);
		sc_sleep_until(tick * 0.25);
	}
}
