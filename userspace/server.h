/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The control socket: a non-blocking Unix stream listener and its clients, all driven by the
 * daemon's epoll loop. Every client has bounded input and output buffers and an idle deadline,
 * so a slow, silent or malicious client costs memory within fixed limits and never blocks the
 * daemon or other clients.
 */
#ifndef LW_SERVER_H
#define LW_SERVER_H

#include "snapshot.h"

#define LW_SERVER_MAX_CLIENTS	128
/* Pending reply bytes one client may hold; a single bigger reply is replaced by an error. */
#define LW_SERVER_MAX_OUTPUT	(64u << 20)
/* A client that neither sends nor receives anything for this long is disconnected. */
#define LW_SERVER_IDLE_SEC	60.0

struct lw_server;

/*
 * Create the socket at path (its parent directory too, mode 0755, if missing), mode 0660, group
 * "leakwatch" when that group exists, and register it with epfd. Refuses to replace a socket a
 * live process still listens on (errno EADDRINUSE); removes a stale one. current(ctx) returns
 * the published snapshot (borrowed; may be NULL) and is called once per request.
 * Returns NULL with errno set, after logging one "failed to ..." line.
 */
struct lw_server *lw_server__new(int epfd, const char *path,
				 struct lw_snapshot *(*current)(void *ctx), void *ctx);
/* Disconnects every client, closes and removes the socket (only if it is still ours). */
void lw_server__free(struct lw_server *srv);

/*
 * Housekeeping: disconnects idle clients, frees closed ones, resumes accepting after fd
 * exhaustion. now_mono is CLOCK_MONOTONIC in seconds. Call it once per loop iteration or from
 * a periodic timer, at most once per batch of epoll events: memory of clients closed during a
 * batch is released only here, so stale events later in the same batch stay harmless.
 */
void lw_server__tick(struct lw_server *srv, double now_mono);

/* Connected clients (for status and tests). */
unsigned int lw_server__nclients(const struct lw_server *srv);

#endif /* LW_SERVER_H */
