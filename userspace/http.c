// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Requests are answered on their first callback (they have no body worth reading): the reply
 * is rendered from the snapshot into one buffer that MHD sends as the socket accepts it and
 * frees afterwards. Every error is a one-line text/plain body.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "evloop.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "pprof.h"
#include "strbuf.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#define PID_MAX_LIMIT 4194304	/* the kernel's ceiling for /proc/sys/kernel/pid_max */

struct lw_http {
	int epfd;
	struct lw_watch w;	/* MHD's epoll descriptor */
	struct MHD_Daemon *mhd;
	uint16_t port;
	unsigned int top_sites;
	struct lw_snapshot *(*current)(void *ctx);
	void *ctx;
};

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* MHD's own complaints (malformed requests, resource limits): a client can trigger them. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	lw_debug("http: %s", buf);
}

/* Queue body (malloc'd, taken) as the reply. */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *ctype,
			     char *body, size_t len, const char *hname, const char *hval)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;	/* MHD closes the connection */
	}
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES ||
	    (hname && MHD_add_response_header(r, hname, hval) != MHD_YES)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *hname, const char *hval, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *hname, const char *hval, const char *fmt, ...)
{
	va_list ap;
	char *text;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MHD_NO;
	return reply(conn, status, "text/plain; charset=utf-8", text, n, hname, hval);
}

/* A request's text, shown in a reply: printable ASCII only, and short. */
static void quote(const char *s, char *buf, size_t len)
{
	size_t i, n = strlen(s);

	for (i = 0; i < n && i + 4 < len; i++)
		buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	strcpy(buf + i, i < n ? "..." : "");
}

/* A pid query argument: digits only, 1 to PID_MAX_LIMIT. */
static bool parse_pid(const char *s, pid_t *pid)
{
	long v = 0;

	if (!*s || strlen(s) > 7)
		return false;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > PID_MAX_LIMIT)
		return false;
	*pid = (pid_t)v;
	return true;
}

static enum MHD_Result serve_metrics(struct lw_http *h, struct MHD_Connection *conn,
				     const struct lw_snapshot *snap)
{
	struct lw_metrics_opts mo = { .top_sites = h->top_sites };
	struct lw_buf b = { 0 };
	size_t len;
	char *text;

	lw_metrics__render(snap, &mo, &b);
	text = lw_buf__steal(&b, &len);
	if (!text)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL,
				  "out of memory rendering the metrics\n");
	return reply(conn, MHD_HTTP_OK, LW_METRICS_CONTENT_TYPE, text, len, NULL, NULL);
}

static enum MHD_Result serve_pprof(struct MHD_Connection *conn, const struct lw_snapshot *snap)
{
	const char *arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "pid");
	struct lw_pprof_opts po = { 0 };
	uint8_t *data;
	char q[40];
	size_t len;
	int n;

	if (arg && !parse_pid(arg, &po.pid)) {
		quote(arg, q, sizeof(q));
		return reply_text(conn, MHD_HTTP_BAD_REQUEST, NULL, NULL,
				  "bad pid '%s': expected a process ID from 1 to %d\n", q,
				  PID_MAX_LIMIT);
	}
	n = lw_pprof__encode(snap, &po, &data, &len);
	if (n < 0)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL,
				  "out of memory building the profile\n");
	if (!n && po.pid) {
		free(data);
		return reply_text(conn, MHD_HTTP_NOT_FOUND, NULL, NULL,
				  "no allocation sites for pid %d (not traced, or no allocations "
				  "yet)\n", (int)po.pid);
	}
	return reply(conn, MHD_HTTP_OK, "application/octet-stream", (char *)data, len,
		     MHD_HTTP_HEADER_CONTENT_DISPOSITION, "attachment; filename=\"heap.pb.gz\"");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_ctx)
{
	struct lw_http *h = cls;
	struct lw_snapshot *snap;
	enum MHD_Result ret;
	double t0 = mono_now();
	char q[64];

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		quote(method, q, sizeof(q));
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, MHD_HTTP_HEADER_ALLOW,
				  "GET, HEAD", "method %s not allowed: use GET\n", q);
	}
	if (!strcmp(url, "/"))
		return reply_text(conn, MHD_HTTP_OK, NULL, NULL,
				  "leakwatchd %s\n/metrics  Prometheus metrics\n"
				  "/debug/pprof/heap[?pid=PID]  live heap as a pprof profile\n",
				  LW_VERSION);
	if (strcmp(url, "/metrics") && strcmp(url, "/debug/pprof/heap")) {
		quote(url, q, sizeof(q));
		return reply_text(conn, MHD_HTTP_NOT_FOUND, NULL, NULL,
				  "not found: %s (try /metrics or /debug/pprof/heap)\n", q);
	}
	/* Held while rendering; the loop publishes the next one only after we return. */
	snap = lw_snapshot__get(h->current(h->ctx));
	if (!snap)
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, NULL,
				  "no data yet: the first drain has not finished, retry shortly\n");
	if (!strcmp(url, "/metrics"))
		ret = serve_metrics(h, conn, snap);
	else
		ret = serve_pprof(conn, snap);
	lw_snapshot__put(snap);
	lw_debug("http: %s %s answered in %.1f ms", method, url, (mono_now() - t0) * 1000);
	return ret;
}

/* A listening socket for host:port (the first address that binds); -errno, logged. */
static int listen_on(const char *host, uint16_t port, const char *shown)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char service[8];
	int fd = -1, err = -EADDRNOTAVAIL, one = 1;

	snprintf(service, sizeof(service), "%u", port);
	err = getaddrinfo(host, service, &hints, &res);
	if (err) {
		lw_err("failed to resolve metrics address %s: %s", shown, gai_strerror(err));
		return -EADDRNOTAVAIL;
	}
	err = -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		/* a restarted daemon must not wait for the old one's connections to time out */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, SOMAXCONN))
			break;
		err = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		lw_err("failed to listen on metrics address %s: %s", shown, strerror(-err));
	return fd >= 0 ? fd : err;
}

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

static void on_ready(struct lw_watch *w, uint32_t events)
{
	lw_http__run(container_of(w, struct lw_http, w));
}

struct lw_http *lw_http__new(int epfd, const struct lw_http_opts *opts)
{
	const union MHD_DaemonInfo *info;
	char shown[300];
	struct lw_http *h;
	int fd, err;

	h = calloc(1, sizeof(*h));
	if (!h) {
		lw_err("failed to allocate the HTTP server: %s", strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	h->epfd = epfd;
	h->top_sites = opts->top_sites;
	h->current = opts->current;
	h->ctx = opts->ctx;
	h->w.fd = -1;

	snprintf(shown, sizeof(shown), strchr(opts->host, ':') ? "[%s]:%u" : "%s:%u", opts->host,
		 opts->port);
	fd = listen_on(opts->host, opts->port, shown);
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	h->port = bound_port(fd);
	/* no thread flag: MHD runs only when the daemon's loop calls MHD_run() */
	h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)LW_HTTP_MAX_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)LW_HTTP_TIMEOUT_SEC,
				  MHD_OPTION_END);
	if (!h->mhd) {
		err = -EINVAL;
		close(fd);
		lw_err("failed to start the HTTP server on %s (libmicrohttpd refused; -v shows "
		       "why)", shown);
		goto fail;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	h->w.fd = info ? info->epoll_fd : -1;
	h->w.cb = on_ready;
	if (h->w.fd < 0 || lw_watch_add(epfd, &h->w, EPOLLIN)) {
		err = h->w.fd < 0 ? -EINVAL : -errno;
		h->w.fd = -1;
		lw_err("failed to add the HTTP server to the event loop: %s", strerror(-err));
		goto fail;
	}
	lw_debug("http: listening on %s (port %u)", shown, h->port);
	return h;
fail:
	lw_http__free(h);
	errno = -err;
	return NULL;
}

void lw_http__free(struct lw_http *h)
{
	if (!h)
		return;
	if (h->w.fd >= 0)
		lw_watch_del(h->epfd, &h->w);
	/* closes the listening socket and every connection */
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h);
}

void lw_http__set_top_sites(struct lw_http *h, unsigned int top_sites)
{
	if (h)
		h->top_sites = top_sites;
}

uint16_t lw_http__port(const struct lw_http *h)
{
	return h ? h->port : 0;
}

int lw_http__timeout_ms(struct lw_http *h, int max_ms)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (!h || MHD_get_timeout(h->mhd, &t) != MHD_YES || t >= (MHD_UNSIGNED_LONG_LONG)max_ms)
		return max_ms;
	return (int)t;
}

void lw_http__run(struct lw_http *h)
{
	if (h)
		MHD_run(h->mhd);
}
