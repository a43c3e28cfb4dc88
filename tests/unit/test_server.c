// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The control-socket server in-process: the test owns the epoll loop and plays every client
 * through non-blocking sockets, pumping the loop while it waits, so nothing here can deadlock
 * on itself. alarm() guards each test against a server that blocks anyway.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "protocol.h"
#include "server.h"
#include "unit.h"

#define WAIT_SEC 10.0

struct harness {
	int epfd;
	struct lw_server *srv;
	struct lw_snapshot *snap;
	char dir[64];
	char path[128];
};

struct tclient {
	int fd;
	char *buf;
	size_t len, cap;
	bool eof;
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

/* One round of the daemon's loop: dispatch a batch, then housekeeping. */
static void pump(struct harness *h, int ms)
{
	struct epoll_event ev[32];
	int n = epoll_wait(h->epfd, ev, 32, ms);

	for (int i = 0; i < n; i++) {
		struct lw_watch *w = ev[i].data.ptr;

		w->cb(w, ev[i].events);
	}
	lw_server__tick(h->srv, mono());
}

static struct lw_procinfo *proc_new(pid_t pid, uid_t uid)
{
	struct lw_procinfo *pi = calloc(1, sizeof(*pi));

	if (!pi)
		abort();
	pi->refcnt = 1;
	pi->pid = pid;
	pi->uid = uid;
	pi->ident = pid;
	strcpy(pi->comm, "proc");
	pi->exe = strdup("/usr/bin/proc");
	return pi;
}

/*
 * nsites sites alternating between pid 100 (our own uid) and pid 200 (uid 65534), each with
 * nframes resolved frames: big enough replies to fill socket buffers when asked for.
 */
static struct lw_snapshot *snap_new(size_t nsites, unsigned int nframes)
{
	struct lw_snapshot *s = lw_snapshot__new(nsites);
	struct lw_procinfo *mine = proc_new(100, getuid()), *other = proc_new(200, 65534);
	char name[64];

	for (size_t i = 0; i < nsites; i++) {
		struct lw_site_snap *site = &s->sites[i];
		struct lw_stackinfo *si = lw_stackinfo__new(nframes);

		for (unsigned int f = 0; f < nframes; f++) {
			snprintf(name, sizeof(name), "function_%zu_%u", i, f);
			si->frames[f] = (struct lw_frame){
				.addr = 0x400000 + i * 64 + f, .symbol = strdup(name),
				.module = strdup("/usr/lib/x86_64-linux-gnu/libsomething.so.1"),
				.file = strdup("src/some/longish/path/file.c"), .line = f + 1,
			};
		}
		site->proc = lw_procinfo__get(i % 2 ? other : mine);
		site->stack = si;
		site->allocator = "libc";
		site->verdict = i ? LW_VERDICT_GROWING : LW_VERDICT_LEAK;
		site->growth_bytes_per_sec = 1000.0 - i;
		site->live_bytes = 1000 + i;
		site->live_allocs = 10;
		site->oldest_alloc_age_sec = 5;
	}
	s->status.version = "test";
	s->status.tracked_processes = 2;
	lw_procinfo__put(mine);
	lw_procinfo__put(other);
	return s;
}

static bool harness_init(struct harness *h, size_t nsites, unsigned int nframes)
{
	alarm(120);
	memset(h, 0, sizeof(*h));
	strcpy(h->dir, "/tmp/lwtest.XXXXXX");
	if (!mkdtemp(h->dir))
		return false;
	/* A sub-directory the server must create itself. */
	snprintf(h->path, sizeof(h->path), "%s/run/leakwatchd.sock", h->dir);
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->snap = snap_new(nsites, nframes);
	h->srv = lw_server__new(h->epfd, h->path, current, h);
	return h->epfd >= 0 && h->snap && h->srv;
}

static void harness_fini(struct harness *h)
{
	char sub[160];

	lw_server__free(h->srv);
	lw_snapshot__put(h->snap);
	if (h->epfd >= 0)
		close(h->epfd);
	unlink(h->path);
	snprintf(sub, sizeof(sub), "%s/run", h->dir);
	rmdir(sub);
	rmdir(h->dir);
	alarm(0);
}

static bool cl_connect(struct harness *h, struct tclient *c, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	strcpy(addr.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return false;
	/* A listening Unix socket takes the connection into its backlog at once. */
	return !connect(c->fd, (struct sockaddr *)&addr, sizeof(addr));
}

static void cl_close(struct tclient *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
}

static bool cl_send(struct harness *h, struct tclient *c, const char *data, size_t len)
{
	double end = mono() + WAIT_SEC;
	ssize_t n;

	while (len) {
		n = send(c->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN)
			return false;
		if (n > 0) {
			data += n;
			len -= n;
			continue;
		}
		if (mono() > end)
			return false;
		pump(h, 10);
	}
	return true;
}

static bool cl_send_str(struct harness *h, struct tclient *c, const char *s)
{
	return cl_send(h, c, s, strlen(s));
}

/* Pull whatever is readable now into c->buf. */
static void cl_fill(struct tclient *c)
{
	ssize_t n;

	for (;;) {
		if (c->len == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 65536;
			c->buf = realloc(c->buf, c->cap);
			if (!c->buf)
				abort();
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n > 0) {
			c->len += n;
			continue;
		}
		/* A server that closes with our bytes unread makes the kernel report a reset. */
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			c->eof = true;
		return;
	}
}

/* Next reply line (malloc'd, without "\n"), or NULL on EOF or timeout. */
static char *cl_line(struct harness *h, struct tclient *c)
{
	double end = mono() + WAIT_SEC;
	char *nl, *line;
	size_t len;

	for (;;) {
		cl_fill(c);
		nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl)
			break;
		if (c->eof || mono() > end)
			return NULL;
		pump(h, 10);
	}
	len = nl - c->buf;
	line = strndup(c->buf, len);
	memmove(c->buf, nl + 1, c->len - len - 1);
	c->len -= len + 1;
	return line;
}

/* The next reply: 0 with *res for ok, -EREMOTEIO with the error in err, <0 otherwise. */
static int cl_reply(struct harness *h, struct tclient *c, json_t **res, char *err, size_t errlen)
{
	char *line = cl_line(h, c);
	int ret;

	*res = NULL;
	if (!line)
		return -ENODATA;
	ret = lw_reply__parse(line, strlen(line), res, err, errlen);
	free(line);
	return ret;
}

static bool cl_expect_ok(struct harness *h, struct tclient *c, const char *key)
{
	char err[256];
	json_t *res;
	bool ok;

	if (cl_reply(h, c, &res, err, sizeof(err)))
		return false;
	ok = !key || json_object_get(res, key);
	json_decref(res);
	return ok;
}

static bool cl_expect_err(struct harness *h, struct tclient *c, const char *prefix)
{
	char err[256];
	json_t *res;

	if (cl_reply(h, c, &res, err, sizeof(err)) != -EREMOTEIO)
		return false;
	if (strncmp(err, prefix, strlen(prefix))) {
		fprintf(stderr, "unexpected error '%s'\n", err);
		return false;
	}
	return true;
}

static bool cl_expect_eof(struct harness *h, struct tclient *c)
{
	double end = mono() + WAIT_SEC;

	for (;;) {
		c->len = 0;	/* discard data: only the end matters */
		cl_fill(c);
		if (c->eof)
			return true;
		if (mono() > end)
			return false;
		pump(h, 10);
	}
}

#define STATUS "{\"v\": 1, \"cmd\": \"status\"}\n"

static bool test_socket_file(void)
{
	struct harness h;
	struct stat st;
	char sub[160];
	bool ok;

	ok = harness_init(&h, 4, 2);
	snprintf(sub, sizeof(sub), "%s/run", h.dir);
	ok = ok && !lstat(h.path, &st) && S_ISSOCK(st.st_mode) && (st.st_mode & 07777) == 0660;
	ok = ok && !stat(sub, &st) && (st.st_mode & 07777) == 0755;
	lw_server__free(h.srv);
	h.srv = NULL;
	/* Free removes its socket. */
	ok = ok && lstat(h.path, &st) && errno == ENOENT;
	harness_fini(&h);
	CHECK(ok);
	return true;
}

static bool test_pipelined(void)
{
	struct harness h;
	struct tclient c = { .fd = -1 };
	char err[256];
	json_t *res = NULL;
	bool ok;

	ok = harness_init(&h, 4, 2) && cl_connect(&h, &c, h.path);
	/* Four requests in one write: answers come back in order, one line each. */
	ok = ok && cl_send_str(&h, &c, STATUS "{\"v\": 1, \"cmd\": \"top\", \"n\": 1}\n"
				     "garbage\n" STATUS);
	ok = ok && cl_expect_ok(&h, &c, "version");
	ok = ok && !cl_reply(&h, &c, &res, err, sizeof(err)) &&
	     json_array_size(json_object_get(res, "growers")) == 1;
	json_decref(res);
	ok = ok && cl_expect_err(&h, &c, "invalid JSON");
	ok = ok && cl_expect_ok(&h, &c, "version");
	/* Still usable after errors, and a request may arrive in pieces. */
	ok = ok && cl_send_str(&h, &c, "{\"v\": 1, \"cmd\": \"nope\"}\n{\"v\": 1, \"cm");
	ok = ok && cl_expect_err(&h, &c, "unknown command 'nope'");
	pump(&h, 10);
	ok = ok && cl_send_str(&h, &c, "d\": \"status\"}\r\n");
	ok = ok && cl_expect_ok(&h, &c, "version");
	ok = ok && cl_send_str(&h, &c, "{\"v\": 1, \"cmd\": \"stacks\"}\n");
	ok = ok && cl_expect_err(&h, &c, "'stacks' needs 'pid'");
	ok = ok && lw_server__nclients(h.srv) == 1;
	cl_close(&c);
	harness_fini(&h);
	CHECK(ok);
	return true;
}

static bool test_peer_is_filtered(void)
{
	struct harness h;
	struct tclient c = { .fd = -1 };
	char err[256];
	json_t *res = NULL, *g;
	size_t i;
	bool ok;

	ok = harness_init(&h, 10, 1) && cl_connect(&h, &c, h.path);
	ok = ok && cl_send_str(&h, &c, "{\"v\": 1, \"cmd\": \"top\", \"n\": 100}\n");
	ok = ok && !cl_reply(&h, &c, &res, err, sizeof(err));
	if (ok && getuid() == 0) {
		/* Root sees everything. */
		ok = json_array_size(json_object_get(res, "growers")) == 10;
	} else if (ok) {
		/* Anyone else: only pid 100, which runs as our uid. */
		json_array_foreach(json_object_get(res, "growers"), i, g)
			ok = ok && json_integer_value(json_object_get(g, "pid")) == 100;
	}
	json_decref(res);
	cl_close(&c);
	harness_fini(&h);
	CHECK(ok);
	return true;
}

/* Child: become nobody, ask for top, exit 0 if only nobody's process is shown. */
static int nobody_child(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *req = "{\"v\": 1, \"cmd\": \"top\", \"n\": 100}\n";
	char buf[1 << 16], err[256];
	json_t *res, *g;
	size_t len = 0, i;
	ssize_t n;
	int fd;

	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return 2;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
		return 3;
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
		return 4;
	while (!memchr(buf, '\n', len) && len < sizeof(buf)) {
		n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n <= 0)
			return 5;
		len += n;
	}
	if (lw_reply__parse(buf, len, &res, err, sizeof(err)))
		return 6;
	if (json_array_size(json_object_get(res, "growers")) != 5)
		return 7;
	json_array_foreach(json_object_get(res, "growers"), i, g) {
		if (json_integer_value(json_object_get(g, "pid")) != 200)
			return 8;
	}
	json_decref(res);
	return 0;
}

static bool test_unprivileged_peer(void)
{
	struct harness h;
	char sub[160];
	double end;
	int status = -1;
	pid_t pid;
	bool ok;

	if (geteuid() != 0) {
		fprintf(stderr, "test_unprivileged_peer: not root, skipped\n");
		return true;
	}
	ok = harness_init(&h, 10, 1);
	/* Let nobody reach the socket (no "leakwatch" group to grant it on a test box). */
	snprintf(sub, sizeof(sub), "%s/run", h.dir);
	ok = ok && !chmod(h.dir, 0755) && !chmod(sub, 0755) && !chmod(h.path, 0666);
	pid = ok ? fork() : -1;
	if (pid == 0)
		_exit(nobody_child(h.path));
	ok = ok && pid > 0;
	end = mono() + WAIT_SEC;
	while (ok && waitpid(pid, &status, WNOHANG) == 0 && mono() < end)
		pump(&h, 10);
	if (ok && !WIFEXITED(status)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	if (ok && (!WIFEXITED(status) || WEXITSTATUS(status)))
		fprintf(stderr, "nobody child exited with status %d\n", WEXITSTATUS(status));
	ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	harness_fini(&h);
	CHECK(ok);
	return true;
}

static bool test_oversized(void)
{
	size_t max = LW_PROTO_MAX_REQUEST;
	struct tclient c = { .fd = -1 };
	char *big = malloc(max + 8000);
	struct harness h;
	bool ok;

	if (!big)
		return false;
	/* Exactly the limit, padded with whitespace, plus the newline: answered. */
	memset(big, ' ', max + 8000);
	memcpy(big, STATUS, strlen(STATUS) - 1);
	big[max] = '\n';
	ok = harness_init(&h, 4, 1) && cl_connect(&h, &c, h.path);
	ok = ok && cl_send(&h, &c, big, max + 1) && cl_expect_ok(&h, &c, "version");

	/* One byte more: an error, then the server hangs up. */
	big[max] = ' ';
	big[max + 1] = '\n';
	ok = ok && cl_send(&h, &c, big, max + 2);
	ok = ok && cl_expect_err(&h, &c, "request longer than 65536 bytes");
	ok = ok && cl_expect_eof(&h, &c);
	cl_close(&c);

	/* A line that never ends is cut off at the limit, not buffered forever. */
	memset(big, 'x', max + 8000);
	ok = ok && cl_connect(&h, &c, h.path) && cl_send(&h, &c, big, max + 8000);
	ok = ok && cl_expect_err(&h, &c, "request longer than");
	ok = ok && cl_expect_eof(&h, &c);
	cl_close(&c);
	pump(&h, 10);
	ok = ok && lw_server__nclients(h.srv) == 0;
	harness_fini(&h);
	free(big);
	CHECK(ok);
	return true;
}

static bool test_last_line_without_newline(void)
{
	struct tclient c = { .fd = -1 };
	struct harness h;
	bool ok;

	ok = harness_init(&h, 4, 1) && cl_connect(&h, &c, h.path);
	ok = ok && cl_send_str(&h, &c, STATUS "{\"v\": 1, \"cmd\": \"status\"}");
	ok = ok && !shutdown(c.fd, SHUT_WR);
	ok = ok && cl_expect_ok(&h, &c, "version") && cl_expect_ok(&h, &c, "version");
	ok = ok && cl_expect_eof(&h, &c);
	cl_close(&c);
	harness_fini(&h);
	CHECK(ok);
	return true;
}

static bool test_no_snapshot(void)
{
	struct tclient c = { .fd = -1 };
	struct harness h;
	bool ok;

	ok = harness_init(&h, 1, 1);
	lw_snapshot__put(h.snap);
	h.snap = NULL;
	ok = ok && cl_connect(&h, &c, h.path) && cl_send_str(&h, &c, STATUS);
	ok = ok && cl_expect_err(&h, &c, "no data yet");
	cl_close(&c);
	harness_fini(&h);
	CHECK(ok);
	return true;
}

/*
 * A client that pipelines big requests and never reads: the server must stop reading it (its
 * sends end in EAGAIN instead of the daemon buffering without bound), keep answering others,
 * and drop it once idle.
 */
static bool test_slow_reader(void)
{
	const char *req = "{\"v\": 1, \"cmd\": \"top\", \"n\": 2000}\n";
	struct tclient slow = { .fd = -1 }, fast = { .fd = -1 };
	size_t sent = 0, len = strlen(req);
	struct harness h;
	bool ok, blocked = false;
	double end;
	ssize_t n;

	ok = harness_init(&h, 2000, 8) && cl_connect(&h, &slow, h.path);
	end = mono() + 30;
	while (ok && !blocked && mono() < end) {
		n = send(slow.fd, req, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			sent += n;
		else if (n < 0 && errno == EAGAIN)
			blocked = true;
		else if (n < 0)
			ok = false;
		if (n < (ssize_t)len && n > 0)
			blocked = true;	/* partial: buffers are full */
		pump(&h, 0);
	}
	/*
	 * Let the server do whatever it would do with everything sent so far. Still blocked
	 * afterwards means it stopped reading; a server that kept going would have drained it.
	 */
	for (int i = 0; i < 50; i++)
		pump(&h, 2);
	if (blocked && send(slow.fd, req, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		blocked = false;
	if (!blocked)
		fprintf(stderr, "slow client sent %zu bytes without being throttled\n", sent);
	ok = ok && blocked;

	ok = ok && cl_connect(&h, &fast, h.path);
	for (int i = 0; ok && i < 3; i++)
		ok = cl_send_str(&h, &fast, STATUS) && cl_expect_ok(&h, &fast, "version");
	ok = ok && lw_server__nclients(h.srv) == 2;

	/* Idle past the deadline: both go (the fast one has been quiet too). */
	lw_server__tick(h.srv, mono() + LW_SERVER_IDLE_SEC + 1);
	ok = ok && lw_server__nclients(h.srv) == 0;
	ok = ok && cl_expect_eof(&h, &slow) && cl_expect_eof(&h, &fast);
	cl_close(&slow);
	cl_close(&fast);
	harness_fini(&h);
	CHECK(ok);
	return true;
}

static bool test_too_many_clients(void)
{
	static struct tclient cs[LW_SERVER_MAX_CLIENTS + 1];
	struct harness h;
	double end;
	bool ok;

	for (size_t i = 0; i <= LW_SERVER_MAX_CLIENTS; i++)
		cs[i].fd = -1;
	ok = harness_init(&h, 1, 1);
	for (size_t i = 0; ok && i < LW_SERVER_MAX_CLIENTS; i++)
		ok = cl_connect(&h, &cs[i], h.path);
	end = mono() + WAIT_SEC;
	while (ok && lw_server__nclients(h.srv) < LW_SERVER_MAX_CLIENTS && mono() < end)
		pump(&h, 10);
	ok = ok && lw_server__nclients(h.srv) == LW_SERVER_MAX_CLIENTS;
	ok = ok && cl_connect(&h, &cs[LW_SERVER_MAX_CLIENTS], h.path);
	ok = ok && cl_expect_err(&h, &cs[LW_SERVER_MAX_CLIENTS], "too many clients");
	ok = ok && cl_expect_eof(&h, &cs[LW_SERVER_MAX_CLIENTS]);
	/* The ones already in are still served. */
	ok = ok && cl_send_str(&h, &cs[0], STATUS) && cl_expect_ok(&h, &cs[0], "version");
	for (size_t i = 0; i <= LW_SERVER_MAX_CLIENTS; i++)
		cl_close(&cs[i]);
	end = mono() + WAIT_SEC;
	while (lw_server__nclients(h.srv) && mono() < end)
		pump(&h, 10);
	ok = ok && lw_server__nclients(h.srv) == 0;
	harness_fini(&h);
	CHECK(ok);
	return true;
}

static bool test_second_daemon_refused(void)
{
	struct tclient c = { .fd = -1 };
	struct lw_server *second;
	struct harness h;
	bool ok;

	ok = harness_init(&h, 1, 1);
	second = lw_server__new(h.epfd, h.path, current, &h);
	ok = ok && !second && errno == EADDRINUSE;
	lw_server__free(second);
	/* The first one is untouched and still answers. */
	ok = ok && cl_connect(&h, &c, h.path) && cl_send_str(&h, &c, STATUS) &&
	     cl_expect_ok(&h, &c, "version");
	cl_close(&c);
	harness_fini(&h);
	CHECK(ok);
	return true;
}

static bool test_stale_socket_replaced(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct tclient c = { .fd = -1 };
	struct harness h;
	struct stat st;
	bool ok;
	int fd;

	/* A crashed daemon's socket: bound, nobody listening. */
	ok = harness_init(&h, 1, 1);
	lw_server__free(h.srv);
	h.srv = NULL;
	strcpy(addr.sun_path, h.path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ok = ok && fd >= 0 && !bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	if (fd >= 0)
		close(fd);
	ok = ok && !lstat(h.path, &st) && S_ISSOCK(st.st_mode);
	h.srv = lw_server__new(h.epfd, h.path, current, &h);
	ok = ok && h.srv && cl_connect(&h, &c, h.path) && cl_send_str(&h, &c, STATUS) &&
	     cl_expect_ok(&h, &c, "version");
	cl_close(&c);

	/* Free leaves alone a socket path someone else has taken over since. */
	ok = ok && !unlink(h.path) && (fd = open(h.path, O_CREAT | O_WRONLY, 0600)) >= 0;
	if (fd >= 0)
		close(fd);
	lw_server__free(h.srv);
	h.srv = NULL;
	ok = ok && !lstat(h.path, &st) && S_ISREG(st.st_mode);

	/* A path that is not a socket is never removed to make room. */
	h.srv = lw_server__new(h.epfd, h.path, current, &h);
	ok = ok && !h.srv && errno == EEXIST && !lstat(h.path, &st) && S_ISREG(st.st_mode);
	harness_fini(&h);
	CHECK(ok);
	return true;
}

static bool test_bad_paths(void)
{
	char longpath[200];
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	struct lw_server *srv;
	bool ok = epfd >= 0;

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	srv = lw_server__new(epfd, longpath, current, NULL);
	ok = ok && !srv && errno == ENAMETOOLONG;
	/* The parent cannot be created: its own parent does not exist. */
	srv = lw_server__new(epfd, "/nonexistent-lw-dir/sub/x.sock", current, NULL);
	ok = ok && !srv && errno == ENOENT;
	srv = lw_server__new(epfd, "/proc/self/x.sock", current, NULL);
	ok = ok && !srv;
	srv = lw_server__new(epfd, "", current, NULL);
	ok = ok && !srv && errno == EINVAL;
	close(epfd);
	CHECK(ok);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_socket_file), UNIT_TEST(test_pipelined),
	  UNIT_TEST(test_peer_is_filtered), UNIT_TEST(test_unprivileged_peer),
	  UNIT_TEST(test_oversized), UNIT_TEST(test_last_line_without_newline),
	  UNIT_TEST(test_no_snapshot), UNIT_TEST(test_slow_reader),
	  UNIT_TEST(test_too_many_clients), UNIT_TEST(test_second_daemon_refused),
	  UNIT_TEST(test_stale_socket_replaced), UNIT_TEST(test_bad_paths))
