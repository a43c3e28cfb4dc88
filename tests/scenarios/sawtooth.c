// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Sawtooth queue: a producer enqueues 1 KiB messages at 64/s for 4 s (256 KiB), then a consumer
 * drains the whole queue within 1 s, and again, every 5 s. Live bytes rise steadily for 4 s out
 * of every 5, but nothing survives a cycle. Expect: none at queue_push_site.
 */
#include "scenario.h"

#define MSG	 1024
#define PERIOD	 5.0
#define FILL	 4.0
#define PER_TICK 4 /* 64 messages a second in 62.5 ms ticks */
#define TICK	 0.0625

struct msg {
	struct msg *next;
	char body[MSG - sizeof(struct msg *)];
};

static struct msg *head, *tail;

SC_SITE struct msg *queue_push_site(void)
{
	struct msg *m = malloc(sizeof(*m));

	if (!m)
		sc_die("malloc");
	m->next = NULL;
	if (tail)
		tail->next = m;
	else
		head = m;
	tail = m;
	return m;
}

static void pop(void)
{
	struct msg *m = head;

	head = m->next;
	if (!head)
		tail = NULL;
	free(m);
}

int main(void)
{
	long long live = 0, queued = 0, to_drain = 0;

	sc_begin("sawtooth", "none", "queue_push_site");
	for (long tick = 1;; tick++) {
		double phase = sc_now() - PERIOD * (long)(sc_now() / PERIOD);

		if (phase < FILL) {
			for (int i = 0; i < PER_TICK; i++) {
				sc_touch(queue_push_site()->body, sizeof(head->body));
				queued++;
			}
			to_drain = 0;
		} else {
			/* Drain what is queued within the remaining second, evenly. */
			if (!to_drain)
				to_drain = (queued + 15) / 16;
			for (long i = 0; i < to_drain && queued; i++, queued--)
				pop();
		}
		live = queued * (long long)sizeof(struct msg);
		if (tick % 4 == 0)
			sc_truth(live);
		sc_sleep_until(tick * TICK);
	}
}
