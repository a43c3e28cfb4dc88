/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The daemon's side of systemd's service protocol (sd_notify): READY=1 once the probes are
 * attached and the socket listens, STATUS= lines saying what is traced, RELOADING=1 around a
 * SIGHUP reload, STOPPING=1 on the way out, and WATCHDOG=1 from the event loop so that a loop
 * stalled in a drain misses its pings and gets the daemon restarted. Outside systemd (no
 * NOTIFY_SOCKET) every call does nothing.
 */
#ifndef LW_NOTIFY_H
#define LW_NOTIFY_H

#include <stdbool.h>

struct lw_notify;

/* Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID. NULL with errno ENOMEM. */
struct lw_notify *lw_notify__new(void);
void lw_notify__free(struct lw_notify *n);

/* The watchdog period in seconds, 0 when systemd asked for none. */
double lw_notify__watchdog_sec(const struct lw_notify *n);

/* READY=1, after STATUS=status unless status is NULL. */
void lw_notify__ready(struct lw_notify *n, const char *status);
void lw_notify__reloading(struct lw_notify *n);
void lw_notify__stopping(struct lw_notify *n);
/* STATUS=text, sent only when it differs from the last one. */
void lw_notify__status(struct lw_notify *n, const char *status);

/*
 * Call on every event-loop iteration: pings the watchdog when a quarter of its period has
 * passed since the last ping. Returns the longest the loop may sleep before calling again, in
 * milliseconds, or -1 when there is no watchdog.
 */
int lw_notify__tick(struct lw_notify *n, double now_mono);

#endif /* LW_NOTIFY_H */
