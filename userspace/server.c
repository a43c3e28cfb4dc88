// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Control-socket server. Each client is a small state machine: bytes in, complete lines parsed
 * and answered from the current snapshot, replies queued and written as the socket accepts
 * them. Reading stops while a client has a backlog of replies it is not reading, so pipelining
 * without reading costs at most one high-water mark plus one reply, never unbounded memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "evloop.h"
#include "log.h"
#include "protocol.h"
#include "server.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59	/* Linux 4.13; older libc headers lack it */
#endif

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#define GROUP_NAME	"leakwatch"
/* One request line plus its newline. */
#define IN_MAX		(LW_PROTO_MAX_REQUEST + 1)
/* Stop parsing a client's requests while this much of its output is unsent. */
#define OUT_HIGH_WATER	(256u << 10)
/* Bounds the time one listener wake-up spends accepting. */
#define ACCEPT_BATCH	32
/* After running out of file descriptors, stop accepting for this long. */
#define ACCEPT_PAUSE_SEC 1.0
#define WARN_EVERY_SEC	10.0

struct lw_client {
	struct lw_watch w;
	struct lw_server *srv;
	struct lw_client *next;		/* in srv->clients or srv->dead */
	struct lw_peer peer;
	pid_t pid;			/* for log lines only */
	char *in;
	size_t inlen, incap;
	char *out;
	size_t outoff, outlen, outcap;	/* unsent bytes are out[outoff..outlen) */
	uint32_t events;		/* what epoll is currently asked for */
	double last_active;
	bool eof;			/* the peer shut down its sending side */
	bool closing;			/* answer nothing more; close once output is flushed */
	bool dead;			/* fd closed, awaiting the next tick to be freed */
};

struct lw_server {
	int epfd;
	struct lw_watch lw;
	char *path;
	dev_t dev;			/* identity of the socket file we bound, so that free */
	ino_t ino;			/* never removes a successor's socket */
	struct lw_snapshot *(*current)(void *ctx);
	void *ctx;
	bool have_group;
	gid_t gid;
	struct lw_client *clients;
	struct lw_client *dead;
	unsigned int nclients;
	bool accept_paused;
	double accept_resume;
	double last_warn;
};

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Warnings a client can provoke at will are logged at most every WARN_EVERY_SEC. */
static bool may_warn(struct lw_server *srv)
{
	double now = now_mono();

	if (srv->last_warn && now - srv->last_warn < WARN_EVERY_SEC)
		return false;
	srv->last_warn = now;
	return true;
}

static size_t pending(const struct lw_client *c)
{
	return c->outlen - c->outoff;
}

static bool has_line(const struct lw_client *c)
{
	return c->inlen && memchr(c->in, '\n', c->inlen);
}

static void client_close(struct lw_client *c)
{
	struct lw_server *srv = c->srv;
	struct lw_client **pp;

	if (c->dead)
		return;
	lw_watch_del(srv->epfd, &c->w);
	close(c->w.fd);
	c->w.fd = -1;
	c->dead = true;
	for (pp = &srv->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	srv->nclients--;
	/*
	 * Not freed yet: the event batch being dispatched may still hold this watch's pointer.
	 * The next tick frees it; client_cb() ignores dead clients until then.
	 */
	c->next = srv->dead;
	srv->dead = c;
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
}

static void reap_dead(struct lw_server *srv)
{
	while (srv->dead) {
		struct lw_client *c = srv->dead;

		srv->dead = c->next;
		free(c);
	}
}

/* Queue one reply line, taking ownership of line (malloc'd). */
static void queue_owned(struct lw_client *c, char *line)
{
	size_t len = strlen(line), need;
	char *buf;

	if (pending(c) + len > LW_SERVER_MAX_OUTPUT) {
		char msg[128];

		free(line);
		snprintf(msg, sizeof(msg),
			 "reply too large (%zu bytes); ask for fewer entries with 'n'", len);
		line = lw_reply_error(msg);
		if (!line)
			goto oom;
		len = strlen(line);
	}
	if (!pending(c)) {
		/* Common case: adopt the reply as the buffer instead of copying a large string. */
		free(c->out);
		c->out = line;
		c->outoff = 0;
		c->outlen = len;
		c->outcap = len + 1;
		return;
	}
	if (c->outoff) {
		memmove(c->out, c->out + c->outoff, pending(c));
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	need = c->outlen + len;
	if (need > c->outcap) {
		size_t cap = c->outcap * 2 > need ? c->outcap * 2 : need;

		buf = realloc(c->out, cap);
		if (!buf) {
			free(line);
			goto oom;
		}
		c->out = buf;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, line, len);
	c->outlen += len;
	free(line);
	return;
oom:
	/*
	 * Replies must stay paired with requests: a client we cannot answer gets what is already
	 * queued, then the connection closes instead of a reply going missing silently.
	 */
	c->closing = true;
}

static void reply_error(struct lw_client *c, const char *msg)
{
	char *line = lw_reply_error(msg);

	if (line)
		queue_owned(c, line);
	else
		c->closing = true;
}

static void handle_line(struct lw_client *c, const char *line, size_t len)
{
	struct lw_server *srv = c->srv;
	struct lw_snapshot *snap;
	struct lw_request req;
	char err[256];
	json_t *result;
	char *reply;

	if (lw_request__parse(line, len, &req, err, sizeof(err))) {
		lw_debug("control client pid %d: bad request: %s", (int)c->pid, err);
		reply_error(c, err);
		return;
	}
	/* The daemon may publish a new snapshot at any time; hold this one while we read it. */
	snap = lw_snapshot__get(srv->current(srv->ctx));
	result = lw_command_run(&req, snap, &c->peer, err, sizeof(err));
	lw_snapshot__put(snap);
	if (!result) {
		reply_error(c, err);
		return;
	}
	reply = lw_reply_ok(result);
	if (reply)
		queue_owned(c, reply);
	else
		reply_error(c, "out of memory encoding the reply");
}

/* Answer complete lines until the client's backlog reaches the high-water mark. */
static void process_input(struct lw_client *c)
{
	size_t start = 0;
	char *nl;

	while (!c->closing && pending(c) < OUT_HIGH_WATER && start < c->inlen) {
		nl = memchr(c->in + start, '\n', c->inlen - start);
		if (!nl)
			break;
		handle_line(c, c->in + start, nl - (c->in + start));
		start = nl - c->in + 1;
	}
	if (start) {
		memmove(c->in, c->in + start, c->inlen - start);
		c->inlen -= start;
	}
	if (c->closing || pending(c) >= OUT_HIGH_WATER || has_line(c))
		return;
	if (c->inlen > LW_PROTO_MAX_REQUEST) {
		char msg[64];

		/* Resynchronising inside an overlong line is guesswork: answer, then hang up. */
		snprintf(msg, sizeof(msg), "request longer than %d bytes", LW_PROTO_MAX_REQUEST);
		reply_error(c, msg);
		c->inlen = 0;
		c->closing = true;
	} else if (c->eof) {
		/* A last request without a newline ("printf ... | nc -N") still gets answered. */
		if (c->inlen)
			handle_line(c, c->in, c->inlen);
		c->inlen = 0;
		c->closing = true;
	}
}

static int client_read(struct lw_client *c)
{
	ssize_t n;

	if (c->inlen == c->incap) {
		size_t cap = c->incap ? c->incap * 2 : 4096;
		char *buf;

		if (cap > IN_MAX)
			cap = IN_MAX;
		if (cap == c->incap)
			return 0;	/* full; process_input() rejects the line */
		buf = realloc(c->in, cap);
		if (!buf)
			return -ENOMEM;
		c->in = buf;
		c->incap = cap;
	}
	n = recv(c->w.fd, c->in + c->inlen, c->incap - c->inlen, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		c->eof = true;
	c->inlen += n;
	c->last_active = now_mono();
	return 0;
}

static int client_flush(struct lw_client *c)
{
	ssize_t n;

	while (pending(c)) {
		/* MSG_NOSIGNAL: a vanished reader is an EPIPE for this client, not a SIGPIPE. */
		n = send(c->w.fd, c->out + c->outoff, pending(c), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		c->outoff += n;
		c->last_active = now_mono();
	}
	c->outoff = c->outlen = 0;
	/* Give back the memory of a large reply once it is sent. */
	if (c->outcap > OUT_HIGH_WATER) {
		free(c->out);
		c->out = NULL;
		c->outcap = 0;
	}
	return 0;
}

/* Advance the client as far as it goes without blocking, then re-arm epoll or close. */
static void client_update(struct lw_client *c)
{
	uint32_t want = 0;
	int err;

	do {
		process_input(c);
		err = client_flush(c);
		if (err) {
			lw_debug("control client pid %d: send failed: %s", (int)c->pid,
				 strerror(-err));
			client_close(c);
			return;
		}
	} while (!c->closing && pending(c) < OUT_HIGH_WATER && has_line(c));

	if (c->closing && !pending(c)) {
		client_close(c);
		return;
	}
	if (!c->closing && !c->eof && pending(c) < OUT_HIGH_WATER)
		want |= EPOLLIN;
	if (pending(c))
		want |= EPOLLOUT;
	if (want != c->events) {
		if (lw_watch_mod(c->srv->epfd, &c->w, want)) {
			lw_warn("failed to update control client in epoll: %s", strerror(errno));
			client_close(c);
			return;
		}
		c->events = want;
	}
}

static void client_cb(struct lw_watch *w, uint32_t events)
{
	struct lw_client *c = container_of(w, struct lw_client, w);
	int err;

	if (c->dead)
		return;
	/* HUP: the peer closed both directions, nobody is left to read an answer. */
	if (events & (EPOLLERR | EPOLLHUP)) {
		client_close(c);
		return;
	}
	if (events & EPOLLIN) {
		err = client_read(c);
		if (err) {
			lw_debug("control client pid %d: recv failed: %s", (int)c->pid,
				 strerror(-err));
			client_close(c);
			return;
		}
	}
	client_update(c);
}

static bool gid_in(gid_t gid, const gid_t *groups, int n)
{
	for (int i = 0; i < n; i++) {
		if (groups[i] == gid)
			return true;
	}
	return false;
}

/*
 * Membership by the user database, for kernels without SO_PEERGROUPS. It may disagree with the
 * peer's actual credentials (group changes take effect at next login), hence only a fallback.
 */
static bool user_in_group(uid_t uid, gid_t primary, gid_t gid)
{
	struct passwd pw, *res = NULL;
	gid_t *groups = NULL;
	char *buf = NULL;
	bool found = false;
	int n = 64;

	buf = malloc(16384);
	if (!buf || getpwuid_r(uid, &pw, buf, 16384, &res) || !res)
		goto out;
	for (int tries = 0; tries < 4; tries++) {
		gid_t *g = realloc(groups, n * sizeof(*groups));

		if (!g)
			goto out;
		groups = g;
		if (getgrouplist(pw.pw_name, primary, groups, &n) >= 0) {
			found = gid_in(gid, groups, n);
			break;
		}
	}
out:
	free(groups);
	free(buf);
	return found;
}

/*
 * Root and members of "leakwatch" see every process. Supplementary groups come from
 * SO_PEERGROUPS: the credentials the peer held at connect(), immune to pid reuse and
 * independent of NSS lookups that could block the loop.
 */
static bool peer_sees_all(struct lw_server *srv, int fd, const struct ucred *cred)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	bool found;

	if (cred->uid == 0)
		return true;
	if (!srv->have_group)
		return false;
	if (cred->gid == srv->gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len)) {
		if (errno != ERANGE)
			return user_in_group(cred->uid, cred->gid, srv->gid);
		groups = malloc(len);
		if (!groups || getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len)) {
			free(groups);
			return false;
		}
	}
	found = gid_in(srv->gid, groups, len / sizeof(gid_t));
	if (groups != small)
		free(groups);
	return found;
}

static void refuse(struct lw_server *srv, int fd, const char *why)
{
	char *line = lw_reply_error(why);

	/* Best effort on a fresh socket: its empty send buffer takes one short line. */
	if (line && send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		lw_debug("failed to send refusal to control client: %s", strerror(errno));
	free(line);
	close(fd);
}

static void client_new(struct lw_server *srv, int fd)
{
	struct lw_client *c;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (srv->nclients >= LW_SERVER_MAX_CLIENTS) {
		if (may_warn(srv))
			lw_warn("control socket: %u clients connected, refusing more",
				srv->nclients);
		refuse(srv, fd, "too many clients connected to leakwatchd; try again later");
		return;
	}
	/* No credentials, no answers: every reply depends on who asks. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		lw_warn("failed to get control client credentials: %s", strerror(errno));
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		refuse(srv, fd, "leakwatchd is out of memory");
		return;
	}
	c->srv = srv;
	c->w.fd = fd;
	c->w.cb = client_cb;
	c->pid = cred.pid;
	c->peer.uid = cred.uid;
	c->peer.see_all = peer_sees_all(srv, fd, &cred);
	c->last_active = now_mono();
	c->events = EPOLLIN;
	if (lw_watch_add(srv->epfd, &c->w, c->events)) {
		lw_warn("failed to add control client to epoll: %s", strerror(errno));
		close(fd);
		free(c);
		return;
	}
	c->next = srv->clients;
	srv->clients = c;
	srv->nclients++;
	lw_debug("control client connected: pid %d uid %u%s", (int)cred.pid, (unsigned)cred.uid,
		 c->peer.see_all ? " (sees all)" : "");
}

static void listen_cb(struct lw_watch *w, uint32_t events)
{
	struct lw_server *srv = container_of(w, struct lw_server, lw);
	int fd;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			client_new(srv, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN)
			return;
		/*
		 * Out of fds or memory: the pending connection stays queued and epoll would report
		 * it again at once, so stop listening for a moment instead of spinning.
		 */
		if (may_warn(srv))
			lw_warn("failed to accept control client: %s", strerror(errno));
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			if (!lw_watch_mod(srv->epfd, &srv->lw, 0)) {
				srv->accept_paused = true;
				srv->accept_resume = now_mono() + ACCEPT_PAUSE_SEC;
			}
		}
		return;
	}
}

void lw_server__tick(struct lw_server *srv, double now)
{
	struct lw_client *c, *next;

	if (!srv)
		return;
	reap_dead(srv);
	if (srv->accept_paused && now >= srv->accept_resume &&
	    !lw_watch_mod(srv->epfd, &srv->lw, EPOLLIN))
		srv->accept_paused = false;
	for (c = srv->clients; c; c = next) {
		next = c->next;
		if (now - c->last_active > LW_SERVER_IDLE_SEC) {
			lw_debug("control client pid %d idle for %.0f s, disconnecting",
				 (int)c->pid, now - c->last_active);
			client_close(c);
		}
	}
}

unsigned int lw_server__nclients(const struct lw_server *srv)
{
	return srv ? srv->nclients : 0;
}

/* Create the socket's directory (one level: a typo must not grow a tree under /). */
static int make_parent(const char *path)
{
	char *dir = strdup(path), *slash;
	struct stat st;
	int err = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		goto out;	/* "." or "/" */
	*slash = '\0';
	if (!stat(dir, &st))
		goto out;
	if (errno != ENOENT || mkdir(dir, 0755)) {
		err = -errno;
		if (err != -EEXIST)
			lw_err("failed to create directory %s: %s", dir, strerror(-err));
		else
			err = 0;
	}
out:
	free(dir);
	return err;
}

/*
 * Whatever sits at path must be a socket nobody listens on any more; only then is it removed.
 * A live listener means a second daemon: stealing its socket would silently orphan it.
 */
static int clear_stale(const char *path, const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, err;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		lw_err("failed to stat control socket %s: %s", path, strerror(-err));
		return err;
	}
	if (!S_ISSOCK(st.st_mode)) {
		lw_err("failed to bind control socket %s: the path exists and is not a socket",
		       path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Non-blocking: a listener with a full backlog answers EAGAIN instead of stalling us. */
	err = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) ? -errno : 0;
	close(fd);
	if (!err || err == -EAGAIN || err == -EINPROGRESS) {
		lw_err("failed to bind control socket %s: another leakwatchd is listening on it",
		       path);
		return -EADDRINUSE;
	}
	if (err != -ECONNREFUSED) {
		lw_err("failed to probe existing control socket %s: %s", path, strerror(-err));
		return err;
	}
	lw_info("removing stale control socket %s", path);
	if (unlink(path) && errno != ENOENT) {
		err = -errno;
		lw_err("failed to remove stale control socket %s: %s", path, strerror(-err));
		return err;
	}
	return 0;
}

static void find_group(struct lw_server *srv)
{
	struct group gr, *res = NULL;
	size_t len = 4096;
	char *buf = NULL;
	int err;

	/* The buffer also holds the member list, which can be long: grow it on ERANGE. */
	do {
		char *nbuf = realloc(buf, len);

		if (!nbuf)
			break;
		buf = nbuf;
		err = getgrnam_r(GROUP_NAME, &gr, buf, len, &res);
		len *= 4;
	} while (err == ERANGE && len <= (1u << 22));
	if (res) {
		srv->have_group = true;
		srv->gid = res->gr_gid;
	}
	free(buf);
}

struct lw_server *lw_server__new(int epfd, const char *path,
				 struct lw_snapshot *(*current)(void *ctx), void *ctx)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct lw_server *srv = NULL;
	bool bound = false;
	struct stat st;
	mode_t old_mask;
	int err, fd = -1;

	if (!path || !*path || !current) {
		errno = EINVAL;
		return NULL;
	}
	if (strlen(path) >= sizeof(addr.sun_path)) {
		lw_err("failed to use control socket path %s: %s (at most %zu bytes)", path,
		       strerror(ENAMETOOLONG), sizeof(addr.sun_path) - 1);
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(addr.sun_path, path);

	srv = calloc(1, sizeof(*srv));
	if (!srv || !(srv->path = strdup(path))) {
		err = -ENOMEM;
		lw_err("failed to allocate control server: %s", strerror(ENOMEM));
		goto fail;
	}
	srv->epfd = epfd;
	srv->current = current;
	srv->ctx = ctx;
	find_group(srv);

	err = make_parent(path);
	if (err)
		goto fail;
	err = clear_stale(path, &addr);
	if (err)
		goto fail;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		lw_err("failed to create control socket: %s", strerror(-err));
		goto fail;
	}
	/*
	 * The node is born 0660: no window in which anyone else may connect. umask is per process;
	 * changing it briefly is safe because the daemon is single-threaded.
	 */
	old_mask = umask(0117);
	err = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ? -errno : 0;
	umask(old_mask);
	if (err) {
		lw_err("failed to bind control socket %s: %s", path, strerror(-err));
		goto fail;
	}
	bound = true;
	if (chmod(path, 0660)) {
		err = -errno;
		lw_err("failed to chmod control socket %s: %s", path, strerror(-err));
		goto fail;
	}
	/* Not fatal: without the group only root can connect, which is safe, just less useful. */
	if (srv->have_group && chown(path, -1, srv->gid))
		lw_warn("failed to chown control socket %s to group %s: %s", path, GROUP_NAME,
			strerror(errno));
	if (stat(path, &st)) {
		err = -errno;
		lw_err("failed to stat control socket %s: %s", path, strerror(-err));
		goto fail;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	if (listen(fd, SOMAXCONN)) {
		err = -errno;
		lw_err("failed to listen on control socket %s: %s", path, strerror(-err));
		goto fail;
	}
	srv->lw.fd = fd;
	srv->lw.cb = listen_cb;
	if (lw_watch_add(epfd, &srv->lw, EPOLLIN)) {
		err = -errno;
		lw_err("failed to add control socket to epoll: %s", strerror(-err));
		goto fail;
	}
	lw_debug("control socket listening on %s%s", path,
		 srv->have_group ? "" : " (no group " GROUP_NAME ": root only)");
	return srv;
fail:
	if (fd >= 0)
		close(fd);
	if (bound)
		unlink(path);
	if (srv)
		free(srv->path);
	free(srv);
	errno = -err;
	return NULL;
}

void lw_server__free(struct lw_server *srv)
{
	struct stat st;

	if (!srv)
		return;
	while (srv->clients)
		client_close(srv->clients);
	reap_dead(srv);
	lw_watch_del(srv->epfd, &srv->lw);
	close(srv->lw.fd);
	/* A successor daemon may already have replaced the socket; leave its socket alone. */
	if (!lstat(srv->path, &st) && st.st_dev == srv->dev && st.st_ino == srv->ino)
		unlink(srv->path);
	free(srv->path);
	free(srv);
}
