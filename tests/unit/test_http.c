// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The HTTP server in-process on a loopback port of the kernel's choosing: the test owns the
 * epoll loop, as the daemon does, and plays each client through a non-blocking TCP socket,
 * pumping the loop while it waits. Every answer, good and bad, and the server's survival of
 * clients that misbehave. alarm() guards against a server that blocks anyway.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "http.h"
#include "unit.h"

#define WAIT_SEC 10.0

struct harness {
	int epfd;
	struct lw_http *http;
	struct lw_snapshot *snap;	/* what "the daemon" has published; NULL at first */
};

struct reply {
	int status;
	char *head;	/* status line and headers, NUL-terminated */
	char *body;
	size_t body_len;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct lw_snapshot *current(void *ctx)
{
	return ((struct harness *)ctx)->snap;
}

/* One round of the daemon's loop. */
static void pump(struct harness *h, int max_ms)
{
	struct epoll_event ev[16];
	int n = epoll_wait(h->epfd, ev, 16, lw_http__timeout_ms(h->http, max_ms));

	for (int i = 0; i < n; i++) {
		struct lw_watch *w = ev[i].data.ptr;

		w->cb(w, ev[i].events);
	}
	lw_http__run(h->http);
}

static struct lw_snapshot *snap_new(void)
{
	struct lw_snapshot *s = lw_snapshot__new(2);
	struct lw_procinfo *p = calloc(1, sizeof(*p));
	struct lw_stackinfo *si = lw_stackinfo__new(1);

	if (!s || !p || !si)
		abort();
	p->refcnt = 1;
	p->pid = 100;
	p->ident = 1;
	strcpy(p->comm, "svc");
	si->frames[0] = (struct lw_frame){ .addr = 0x401000, .symbol = strdup("leaky"),
					   .module = strdup("/usr/bin/svc"), .map_start = 0x400000,
					   .map_limit = 0x500000 };
	for (int i = 0; i < 2; i++) {
		s->sites[i].proc = lw_procinfo__get(p);
		s->sites[i].stack = i ? NULL : si;
		s->sites[i].stack_id = i + 1;
		s->sites[i].allocator = "libc";
		s->sites[i].live_bytes = 4096 * (i + 1);
		s->sites[i].verdict = LW_VERDICT_LEAK;
	}
	s->status.version = "test";
	lw_procinfo__put(p);
	return s;
}

static bool harness_init(struct harness *h, bool with_snapshot)
{
	struct lw_http_opts o = { .host = "127.0.0.1", .top_sites = 20, .current = current };

	alarm(60);
	memset(h, 0, sizeof(*h));
	o.ctx = h;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->snap = with_snapshot ? snap_new() : NULL;
	h->http = lw_http__new(h->epfd, &o);
	return h->epfd >= 0 && h->http && lw_http__port(h->http);
}

static void harness_fini(struct harness *h)
{
	lw_http__free(h->http);
	lw_snapshot__put(h->snap);
	close(h->epfd);
	alarm(0);
}

static int cl_connect(struct harness *h)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(lw_http__port(h->http)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	/* the kernel completes a loopback handshake into the backlog: no accept() needed */
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void reply_free(struct reply *r)
{
	free(r->head);
	*r = (struct reply){ 0 };
}

/*
 * Send raw request bytes on a new connection and read until the server closes it (requests
 * say "Connection: close"). status is -1 when the server closed without answering.
 */
static bool exchange(struct harness *h, const char *req, struct reply *r)
{
	double end = mono() + WAIT_SEC;
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap + 1), *sep;
	int fd = cl_connect(h);
	ssize_t n;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (fd < 0 || !buf || send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return false;
	}
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			if (!buf)
				abort();
		}
		n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (n > 0) {
			len += n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			break;
		if (mono() > end) {
			fprintf(stderr, "no complete reply within %.0f s\n", WAIT_SEC);
			close(fd);
			free(buf);
			return false;
		}
		pump(h, 10);
	}
	close(fd);
	buf[len] = '\0';
	r->head = buf;
	sep = strstr(buf, "\r\n\r\n");
	if (sep) {
		*sep = '\0';
		r->body = sep + 4;
		r->body_len = len - (r->body - buf);
	}
	if (len && sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1)
		r->status = -1;
	return true;
}

static bool get(struct harness *h, const char *path, struct reply *r)
{
	char req[512];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
		 path);
	return exchange(h, req, r);
}

static bool header_has(const struct reply *r, const char *text)
{
	return r->head && strcasestr(r->head, text);
}

/* One line of text, ending in a newline: what every error says. */
static bool one_line(const struct reply *r)
{
	return r->body && r->body_len > 1 && r->body[r->body_len - 1] == '\n' &&
	       memchr(r->body, '\n', r->body_len) == r->body + r->body_len - 1;
}

/* ---- tests ---- */

static bool test_before_first_snapshot(void)
{
	struct harness h;
	struct reply r;
	bool ok;

	CHECK(harness_init(&h, false));
	ok = get(&h, "/metrics", &r) && r.status == 503 && one_line(&r) &&
	     strstr(r.body, "no data yet");
	reply_free(&r);
	ok = ok && get(&h, "/debug/pprof/heap", &r) && r.status == 503;
	reply_free(&r);
	harness_fini(&h);
	CHECK(ok);
	return true;
}

static bool test_metrics(void)
{
	struct harness h;
	struct reply r;
	bool ok;

	CHECK(harness_init(&h, true));
	ok = get(&h, "/metrics", &r) && r.status == 200 &&
	     header_has(&r, "Content-Type: text/plain; version=0.0.4") &&
	     strstr(r.body, "\nleakwatch_build_info{version=\"test\"} 1\n") &&
	     strstr(r.body, "frame=\"leaky\"");
	reply_free(&r);
	/* a reloaded metrics_top_sites applies to the next scrape */
	lw_http__set_top_sites(h.http, 0);
	ok = ok && get(&h, "/metrics", &r) && r.status == 200 &&
	     !strstr(r.body, "leakwatch_site_live_bytes") &&
	     strstr(r.body, "\nleakwatch_sites_not_exported 2\n");
	reply_free(&r);
	harness_fini(&h);
	CHECK(ok);
	return true;
}

static bool gzipped(const struct reply *r)
{
	return r->body_len > 2 && (unsigned char)r->body[0] == 0x1f &&
	       (unsigned char)r->body[1] == 0x8b;
}

static bool test_pprof(void)
{
	static const char *const bad[] = { "abc", "0", "-1", "4194305", "12345678901", "1x", "" };
	struct harness h;
	struct reply r;
	char path[64];
	bool ok;

	CHECK(harness_init(&h, true));
	ok = get(&h, "/debug/pprof/heap", &r) && r.status == 200 && gzipped(&r) &&
	     header_has(&r, "Content-Type: application/octet-stream");
	reply_free(&r);
	ok = ok && get(&h, "/debug/pprof/heap?pid=100", &r) && r.status == 200 && gzipped(&r);
	reply_free(&r);
	ok = ok && get(&h, "/debug/pprof/heap?pid=101", &r) && r.status == 404 && one_line(&r) &&
	     strstr(r.body, "pid 101");
	reply_free(&r);
	for (size_t i = 0; ok && i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/debug/pprof/heap?pid=%s", bad[i]);
		ok = get(&h, path, &r) && r.status == 400 && one_line(&r) &&
		     strstr(r.body, "bad pid");
		if (!ok)
			fprintf(stderr, "pid=%s: status %d\n", bad[i], r.status);
		reply_free(&r);
	}
	harness_fini(&h);
	CHECK(ok);
	return true;
}

static bool test_bad_requests(void)
{
	struct harness h;
	struct reply r;
	bool ok;

	CHECK(harness_init(&h, true));
	ok = get(&h, "/nope", &r) && r.status == 404 && one_line(&r);
	reply_free(&r);
	ok = ok && get(&h, "/metrics/", &r) && r.status == 404;
	reply_free(&r);
	ok = ok && get(&h, "/", &r) && r.status == 200 && strstr(r.body, "/metrics");
	reply_free(&r);
	ok = ok && exchange(&h, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
			    "Connection: close\r\n\r\nabc", &r) &&
	     r.status == 405 && header_has(&r, "Allow: GET, HEAD") && one_line(&r);
	reply_free(&r);
	/* HEAD: the headers of a GET, no body */
	ok = ok && exchange(&h, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			    &r) &&
	     r.status == 200 && !r.body_len;
	reply_free(&r);
	/* garbage, a header far too long, a bare newline: refused or dropped, never fatal */
	ok = ok && exchange(&h, "GARBAGE\r\n\r\n", &r) && r.status != 200;
	reply_free(&r);
	{
		static const char start[] = "GET /metrics HTTP/1.1\r\nX-Big: ";
		size_t n = 200000;
		char *big = malloc(sizeof(start) + n + 8);

		CHECK(big);
		memcpy(big, start, sizeof(start) - 1);
		memset(big + sizeof(start) - 1, 'a', n);
		strcpy(big + sizeof(start) - 1 + n, "\r\n\r\n");
		ok = ok && exchange(&h, big, &r) && r.status != 200;
		reply_free(&r);
		free(big);
	}
	ok = ok && exchange(&h, "GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n", &r) && r.status != 200;
	reply_free(&r);
	/* and the next well-formed request is served as if nothing happened */
	ok = ok && get(&h, "/metrics", &r) && r.status == 200;
	reply_free(&r);
	harness_fini(&h);
	CHECK(ok);
	return true;
}

/* Silent connections hold a slot each, never the loop. */
static bool test_silent_clients(void)
{
	int fds[LW_HTTP_MAX_CONNECTIONS / 2];
	struct harness h;
	struct reply r;
	bool ok;

	CHECK(harness_init(&h, true));
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		fds[i] = cl_connect(&h);
		CHECK(fds[i] >= 0);
		/* half of them send half a request line */
		if (i % 2)
			CHECK(send(fds[i], "GET /met", 8, MSG_NOSIGNAL) == 8);
	}
	pump(&h, 50);
	ok = get(&h, "/metrics", &r) && r.status == 200;
	reply_free(&r);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close(fds[i]);
	harness_fini(&h);
	CHECK(ok);
	return true;
}

static bool test_port_in_use(void)
{
	struct lw_http_opts o = { .host = "127.0.0.1", .current = current };
	struct harness h;
	struct lw_http *second;
	int err;

	CHECK(harness_init(&h, true));
	o.ctx = &h;
	o.port = lw_http__port(h.http);
	second = lw_http__new(h.epfd, &o);
	err = errno;
	lw_http__free(second);
	harness_fini(&h);
	CHECK(!second && err == EADDRINUSE);
	/* an address of no interface here (TEST-NET-1): numeric, so nothing is looked up */
	o.host = "192.0.2.1";
	o.port = 0;
	CHECK(!lw_http__new(h.epfd, &o));
	return true;
}

UNIT_MAIN(UNIT_TEST(test_before_first_snapshot), UNIT_TEST(test_metrics), UNIT_TEST(test_pprof),
	  UNIT_TEST(test_bad_requests), UNIT_TEST(test_silent_clients),
	  UNIT_TEST(test_port_in_use))
