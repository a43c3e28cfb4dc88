/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The HTTP server (libmicrohttpd) for /metrics and /debug/pprof/heap, run inside the daemon's
 * epoll loop: MHD's own epoll descriptor is one more watch of the loop, and MHD_run() does the
 * work when it is readable or a connection timeout is due. One thread, as for the control
 * socket, so a request reads the published snapshot exactly as a socket command does: no locks,
 * no map reads, no symbolization, only rendering what the last drain published.
 *
 * A misbehaving client costs bounded memory and time: at most LW_HTTP_MAX_CONNECTIONS at once,
 * each closed after LW_HTTP_TIMEOUT_SEC of silence; malformed requests are MHD's to refuse.
 */
#ifndef LW_HTTP_H
#define LW_HTTP_H

#include <stdint.h>

#include "snapshot.h"

#define LW_HTTP_MAX_CONNECTIONS 64
#define LW_HTTP_TIMEOUT_SEC 30

struct lw_http;

struct lw_http_opts {
	const char *host;		/* numeric address or name, resolved once, at start */
	uint16_t port;			/* 0: any free port (tests; see lw_http__port) */
	unsigned int top_sites;		/* metrics_top_sites */
	/* the published snapshot (borrowed; NULL until the first one), once per request */
	struct lw_snapshot *(*current)(void *ctx);
	void *ctx;
};

/*
 * Bind, listen and register with epfd. NULL with errno set after logging one "failed to ..."
 * line (EADDRINUSE: another server holds the port).
 */
struct lw_http *lw_http__new(int epfd, const struct lw_http_opts *opts);
void lw_http__free(struct lw_http *h);
/* A reloaded metrics_top_sites. */
void lw_http__set_top_sites(struct lw_http *h, unsigned int top_sites);
/* The port it listens on. */
uint16_t lw_http__port(const struct lw_http *h);
/*
 * For the loop: how long it may wait for events before lw_http__run() must be called (at most
 * max_ms), and the call itself, once per batch of events (it also serves connection timeouts).
 */
int lw_http__timeout_ms(struct lw_http *h, int max_ms);
void lw_http__run(struct lw_http *h);

#endif /* LW_HTTP_H */
