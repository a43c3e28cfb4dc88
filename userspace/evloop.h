/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The daemon's single-threaded event loop is one epoll instance. Every module that owns a file
 * descriptor embeds a struct lw_watch and registers it; epoll hands the watch back and the loop
 * calls its callback. No module blocks: every fd it registers is non-blocking.
 */
#ifndef LW_EVLOOP_H
#define LW_EVLOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct lw_watch {
	int fd;
	void (*cb)(struct lw_watch *w, uint32_t events);
};

static inline int lw_watch_add(int epfd, struct lw_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, w->fd, &ev) ? -1 : 0;
}

static inline int lw_watch_mod(int epfd, struct lw_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(epfd, EPOLL_CTL_MOD, w->fd, &ev) ? -1 : 0;
}

static inline void lw_watch_del(int epfd, struct lw_watch *w)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

#endif /* LW_EVLOOP_H */
