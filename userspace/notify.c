// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"

struct lw_notify {
	bool active;		/* NOTIFY_SOCKET is set */
	double wd_sec;		/* watchdog period, 0 = none */
	double last_ping;	/* CLOCK_MONOTONIC seconds */
	char *status;		/* the last STATUS= sent */
};

struct lw_notify *lw_notify__new(void)
{
	struct lw_notify *n = calloc(1, sizeof(*n));
	uint64_t usec = 0;

	if (!n)
		return NULL;
	n->active = getenv("NOTIFY_SOCKET") != NULL;
	/* > 0 only when the watchdog is meant for this very process (WATCHDOG_PID) */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec)
		n->wd_sec = usec / 1e6;
	return n;
}

void lw_notify__free(struct lw_notify *n)
{
	if (!n)
		return;
	free(n->status);
	free(n);
}

double lw_notify__watchdog_sec(const struct lw_notify *n)
{
	return n->wd_sec;
}

static void send_state(struct lw_notify *n, const char *state)
{
	int err;

	if (!n->active)
		return;
	err = sd_notify(0, state);
	if (err < 0)
		lw_debug("failed to notify systemd (%.*s): %s", (int)strcspn(state, "\n"), state,
			 strerror(-err));
}

void lw_notify__status(struct lw_notify *n, const char *status)
{
	char *line;

	if (!n->active || (n->status && !strcmp(n->status, status)))
		return;
	if (asprintf(&line, "STATUS=%s", status) < 0)
		return;
	send_state(n, line);
	free(line);
	free(n->status);
	n->status = strdup(status);
}

void lw_notify__ready(struct lw_notify *n, const char *status)
{
	if (status)
		lw_notify__status(n, status);
	send_state(n, "READY=1");
}

void lw_notify__reloading(struct lw_notify *n)
{
	struct timespec ts;
	char line[64];

	/* MONOTONIC_USEC lets a systemd that knows Type=notify-reload match it to the request */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(line, sizeof(line), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000);
	send_state(n, line);
}

void lw_notify__stopping(struct lw_notify *n)
{
	lw_notify__status(n, "stopping: detaching probes");
	send_state(n, "STOPPING=1");
}

int lw_notify__tick(struct lw_notify *n, double now_mono)
{
	double quarter = n->wd_sec / 4, left;

	if (!n->wd_sec)
		return -1;
	if (now_mono - n->last_ping >= quarter) {
		send_state(n, "WATCHDOG=1");
		n->last_ping = now_mono;
	}
	left = n->last_ping + quarter - now_mono;
	return left > 0 ? (int)(left * 1000) + 1 : 0;
}
