// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * leakwatch: the unprivileged client. One request over the control socket, one reply, printed
 * as a table or, with --json, as exactly the reply's "result". Exit status: 0 success, 1 error
 * (one line on stderr: what happened and what to do), 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "protocol.h"

#ifndef LW_VERSION
#define LW_VERSION "unknown"
#endif

#define EXIT_USAGE	2
/* The daemon answers from a ready snapshot; this only catches a wedged or foreign listener. */
#define REPLY_TIMEOUT_MS 30000
/* Far above any reply the daemon sends (it caps a client's output at 64 MiB). */
#define MAX_REPLY	(128u << 20)

struct opts {
	const char *socket;
	bool json;
	struct lw_request req;
	const char *output;	/* pprof -o */
};

static const char usage_text[] =
	"Usage: leakwatch [--socket PATH] [--json] COMMAND [ARGS]\n"
	"\n"
	"Query a running leakwatchd over its control socket.\n"
	"\n"
	"Commands:\n"
	"  top [-n N] [--pid PID]       allocation sites ranked by growth, leak verdicts first\n"
	"  procs [--pid PID]            per process: RSS, live heap, their growth and a verdict\n"
	"  stacks --pid PID [-n N]      every live site of one process, by live bytes\n"
	"  pprof --pid PID [-o FILE]    the process's live heap as a gzipped pprof profile, written\n"
	"                               to FILE (default leakwatch-heap-PID.pb.gz; '-' for\n"
	"                               stdout, not a terminal); with --json, the reply instead\n"
	"                               (the profile base64-encoded in \"profile\")\n"
	"  status                       daemon health: uptime, probes, map fill, drops, drains\n"
	"\n"
	"Options:\n"
	"  -s, --socket PATH   control socket (default: $LEAKWATCH_SOCKET, else\n"
	"                      " LW_DEFAULT_SOCKET ")\n"
	"  -j, --json          print the daemon's JSON result instead of a table\n"
	"  -h, --help          show this help\n"
	"  -V, --version       show the client version\n"
	"\n"
	"Exit status: 0 success, 1 error, 2 bad usage.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "leakwatch: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'leakwatch --help'.\n");
	return EXIT_USAGE;
}

static int parse_positive(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Command-line options of each command, checked here so typos are usage errors (exit 2). */
static int parse_command(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		/* Global options are also accepted after the command: "leakwatch top --json". */
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ 0 },
	};
	const char *name = argv[0];
	bool takes_n, takes_pid, takes_o;
	int c;
	long v;

	if (lw_cmd_from_name(name, &o->req.cmd))
		return usage_error("unknown command '%s'", name);
	takes_n = o->req.cmd == LW_CMD_TOP || o->req.cmd == LW_CMD_STACKS;
	takes_pid = o->req.cmd != LW_CMD_STATUS;
	takes_o = o->req.cmd == LW_CMD_PPROF;

	optind = 0;	/* glibc: restart scanning; argv[0] (the command) is skipped */
	opterr = 0;	/* one error line, ours */
	while ((c = getopt_long(argc, argv, "+:n:p:o:hjs:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'n':
			if (!takes_n)
				return usage_error("'%s' takes no -n", name);
			if (parse_positive(optarg, LW_PROTO_MAX_N, &v))
				return usage_error("-n must be an integer from 1 to "
						   "10000, not '%s'", optarg);
			o->req.n = v;
			break;
		case 'p':
			if (!takes_pid)
				return usage_error("'%s' takes no --pid", name);
			if (parse_positive(optarg, INT_MAX, &v))
				return usage_error("--pid must be a positive integer, not '%s'",
						   optarg);
			o->req.pid = v;
			break;
		case 'o':
			if (!takes_o)
				return usage_error("'%s' takes no -o", name);
			o->output = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if ((o->req.cmd == LW_CMD_STACKS || o->req.cmd == LW_CMD_PPROF) && !o->req.pid)
		return usage_error("'%s' needs --pid PID", name);
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *env = getenv("LEAKWATCH_SOCKET");
	int c;

	o->socket = env && *env ? env : LW_DEFAULT_SOCKET;
	/* "+": stop at the command; its own options are parsed separately. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:s:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf("leakwatch %s\n", LW_VERSION);
			exit(0);
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("%s", "no command given");
	return parse_command(argc - optind, argv + optind, o);
}

static const char *connect_hint(int err)
{
	switch (err) {
	case ENOENT:
	case ECONNREFUSED:
		return "is leakwatchd running?";
	case EACCES:
	case EPERM:
		return "run as root or as a member of group leakwatch";
	default:
		return "check --socket";
	}
}

static int connect_daemon(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "leakwatch: socket path too long (max %zu bytes): %s\n",
			sizeof(addr.sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "leakwatch: failed to create socket: %s\n", strerror(-err));
		return err;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		err = -errno;
		fprintf(stderr, "leakwatch: cannot connect to %s: %s (%s)\n", path, strerror(-err),
			connect_hint(-err));
		close(fd);
		return err;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* Read one reply line (the newline is dropped). malloc'd into *line. */
static int recv_line(int fd, char **line, size_t *len)
{
	size_t cap = 65536, used = 0;
	char *buf = malloc(cap), *nl;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int ret;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ret = poll(&pfd, 1, REPLY_TIMEOUT_MS);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0) {
			ret = ret ? -errno : -ETIMEDOUT;
			goto fail;
		}
		if (used == cap) {
			char *nbuf;

			if (cap >= MAX_REPLY) {
				ret = -EMSGSIZE;
				goto fail;
			}
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				ret = -ENOMEM;
				goto fail;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = recv(fd, buf + used, cap - used, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto fail;
		}
		if (n == 0) {
			ret = -ECONNRESET;
			goto fail;
		}
		nl = memchr(buf + used, '\n', n);
		used += n;
		if (nl) {
			*line = buf;
			*len = nl - buf;
			return 0;
		}
	}
fail:
	free(buf);
	return ret;
}

/* Send the request, return the result (new reference) or NULL after printing why. */
static json_t *query(const struct opts *o)
{
	json_t *result = NULL;
	char *req, *line = NULL, err[512];
	size_t len = 0;
	int fd, ret;

	fd = connect_daemon(o->socket);
	if (fd < 0)
		return NULL;
	req = lw_request__format(&o->req);
	if (!req) {
		fprintf(stderr, "leakwatch: failed to encode request: %s\n", strerror(errno));
		goto out;
	}
	ret = send_all(fd, req, strlen(req));
	free(req);
	/* A daemon that refuses us (too many clients) says why before hanging up: read that. */
	if (ret) {
		if (recv_line(fd, &line, &len)) {
			fprintf(stderr, "leakwatch: failed to send request to %s: %s (is "
				"leakwatchd healthy?)\n", o->socket, strerror(-ret));
			goto out;
		}
		ret = 0;
	} else {
		ret = recv_line(fd, &line, &len);
	}
	if (ret == -ECONNRESET) {
		fprintf(stderr, "leakwatch: leakwatchd closed the connection without a reply "
			"(check its log)\n");
		goto out;
	}
	if (ret) {
		fprintf(stderr, "leakwatch: failed to read reply from %s: %s (is leakwatchd "
			"healthy?)\n", o->socket, strerror(-ret));
		goto out;
	}
	ret = lw_reply__parse(line, len, &result, err, sizeof(err));
	if (ret == -EREMOTEIO)
		fprintf(stderr, "leakwatch: leakwatchd: %s\n", err);
	else if (ret)
		fprintf(stderr, "leakwatch: %s (are client and daemon the same version?)\n", err);
out:
	free(line);
	close(fd);
	return result;
}

/* Human-readable helpers: every field may be missing or null; that prints as "-". */

static bool jnum(json_t *obj, const char *key, double *v)
{
	json_t *j = json_object_get(obj, key);

	if (!json_is_number(j))
		return false;
	*v = json_number_value(j);
	return true;
}

static const char *jstr(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : NULL;
}

static const char *jstr_or(json_t *obj, const char *key, const char *dflt)
{
	const char *s = jstr(obj, key);

	return s ? s : dflt;
}

static char *fmt_bytes(char *buf, size_t len, double v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double a = v < 0 ? -v : v;
	unsigned int u = 0;

	while (a >= 1024 && u < sizeof(units) / sizeof(units[0]) - 1) {
		a /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f %s", v, units[0]);
	else
		snprintf(buf, len, "%.1f %s", v < 0 ? -a : a, units[u]);
	return buf;
}

static char *fmt_bytes_key(char *buf, size_t len, json_t *obj, const char *key)
{
	double v;

	if (!jnum(obj, key, &v))
		snprintf(buf, len, "-");
	else
		fmt_bytes(buf, len, v);
	return buf;
}

static char *fmt_rate_key(char *buf, size_t len, json_t *obj, const char *key)
{
	char b[32];
	double v;

	if (!jnum(obj, key, &v)) {
		snprintf(buf, len, "-");
		return buf;
	}
	snprintf(buf, len, "%s%s", v > 0 ? "+" : "", fmt_bytes(b, sizeof(b), v));
	return buf;
}

static char *fmt_dur(char *buf, size_t len, double s)
{
	long t;

	if (!isfinite(s) || s < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	t = (long)(s + 0.5);
	if (t < 120)
		snprintf(buf, len, "%lds", t);
	else if (t < 3600)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else if (t < 172800)
		snprintf(buf, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
	else
		snprintf(buf, len, "%ldd%02ldh", t / 86400, t / 3600 % 24);
	return buf;
}

static char *fmt_dur_key(char *buf, size_t len, json_t *obj, const char *key)
{
	double v;

	return fmt_dur(buf, len, jnum(obj, key, &v) ? v : -1);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* "symbol (file:line)", else "symbol+0xoff (module)", else "module @addr", else the address. */
static char *fmt_site(char *buf, size_t len, json_t *frame)
{
	const char *sym = jstr(frame, "symbol"), *file = jstr(frame, "file");
	const char *mod = jstr(frame, "module"), *addr = jstr_or(frame, "addr", "?");
	double line, off;

	if (!frame) {
		snprintf(buf, len, "[stack not recorded]");
	} else if (sym && file && jnum(frame, "line", &line)) {
		snprintf(buf, len, "%s (%s:%.0f)", sym, file, line);
	} else if (sym && file) {
		snprintf(buf, len, "%s (%s)", sym, file);
	} else if (sym && jnum(frame, "offset", &off) && off > 0) {
		snprintf(buf, len, "%s+0x%lx (%s)", sym, (unsigned long)off,
			 mod ? base_name(mod) : "?");
	} else if (sym) {
		snprintf(buf, len, "%s (%s)", sym, mod ? base_name(mod) : "?");
	} else if (mod) {
		snprintf(buf, len, "%s @%s", base_name(mod), addr);
	} else {
		snprintf(buf, len, "%s", addr);
	}
	return buf;
}

static void print_top(json_t *res)
{
	json_t *growers = json_object_get(res, "growers"), *g;
	char live[32], growth[32], age[32], site[512], conf[16];
	double v;
	size_t i;

	if (!json_array_size(growers)) {
		printf("no allocation sites to show yet\n");
		return;
	}
	printf("%7s  %-15s  %-8s  %4s  %10s  %8s  %12s  %7s  %s\n", "PID", "COMM", "VERDICT",
	       "CONF", "LIVE", "ALLOCS", "GROWTH/s", "AGE", "SITE");
	json_array_foreach(growers, i, g) {
		json_t *frames = json_object_get(g, "frames");

		if (jnum(g, "confidence", &v))
			snprintf(conf, sizeof(conf), "%.2f", v);
		else
			snprintf(conf, sizeof(conf), "-");
		printf("%7.0f  %-15.15s  %-8s  %4s  %10s  %8.0f  %12s  %7s  %s\n",
		       jnum(g, "pid", &v) ? v : 0, jstr_or(g, "comm", "-"),
		       jstr_or(g, "verdict", "-"), conf,
		       fmt_bytes_key(live, sizeof(live), g, "live_bytes"),
		       jnum(g, "live_allocs", &v) ? v : 0,
		       fmt_rate_key(growth, sizeof(growth), g, "growth_bytes_per_sec"),
		       fmt_dur_key(age, sizeof(age), g, "oldest_alloc_age_sec"),
		       fmt_site(site, sizeof(site), json_array_get(frames, 0)));
	}
}

static void print_frame(size_t i, json_t *f)
{
	const char *sym = jstr(f, "symbol"), *file = jstr(f, "file"), *mod = jstr(f, "module");
	bool py = !strcmp(jstr_or(f, "kind", "native"), "python");
	double line, off;

	printf("      #%-2zu %-18s ", i, jstr_or(f, "addr", "?"));
	if (!sym)
		printf("??");
	else if (!py && jnum(f, "offset", &off) && off > 0)
		printf("%s+0x%lx", sym, (unsigned long)off);
	else
		printf("%s", sym);
	if (file && jnum(f, "line", &line))
		printf(" at %s:%.0f", file, line);
	else if (file)
		printf(" at %s", file);
	if (mod)
		printf(" in %s", mod);
	printf("%s\n", py ? " [python]" : "");
}

static void print_stacks(json_t *res)
{
	json_t *sites = json_object_get(res, "sites"), *s, *frames, *f;
	char live[32], growth[32], age[32];
	double pid = 0, total, v;
	size_t i, j;

	jnum(res, "pid", &pid);
	if (!json_array_size(sites)) {
		printf("no live allocation sites for pid %.0f (not traced, not yours, or no "
		       "allocations yet)\n", pid);
		return;
	}
	s = json_array_get(sites, 0);
	printf("pid %.0f (%s) %s: ", pid, jstr_or(s, "comm", "?"), jstr_or(s, "exe", "?"));
	if (jnum(res, "total_sites", &total) && total > json_array_size(sites))
		printf("%zu of %.0f live sites\n", json_array_size(sites), total);
	else
		printf("%zu live sites\n", json_array_size(sites));
	json_array_foreach(sites, i, s) {
		printf("\n  #%zu  %s live in %.0f allocs, growth %s/s, %s", i + 1,
		       fmt_bytes_key(live, sizeof(live), s, "live_bytes"),
		       jnum(s, "live_allocs", &v) ? v : 0,
		       fmt_rate_key(growth, sizeof(growth), s, "growth_bytes_per_sec"),
		       jstr_or(s, "verdict", "-"));
		if (jnum(s, "confidence", &v))
			printf(" (confidence %.2f)", v);
		printf(", oldest %s, %s\n",
		       fmt_dur_key(age, sizeof(age), s, "oldest_alloc_age_sec"),
		       jstr_or(s, "allocator", "?"));
		frames = json_object_get(s, "frames");
		if (!json_array_size(frames))
			printf("      [stack not recorded]\n");
		json_array_foreach(frames, j, f)
			print_frame(j, f);
	}
}

static void print_procs(json_t *res)
{
	json_t *procs = json_object_get(res, "processes"), *p;
	char rss[32], live[32], rg[32], lg[32];
	double v;
	size_t i;

	if (!json_array_size(procs)) {
		printf("no processes to show yet\n");
		return;
	}
	printf("%7s  %-15s  %-13s  %10s  %10s  %12s  %12s  %s\n", "PID", "COMM", "VERDICT",
	       "RSS", "LIVE", "RSS/s", "LIVE/s", "EXE");
	json_array_foreach(procs, i, p) {
		printf("%7.0f  %-15.15s  %-13s  %10s  %10s  %12s  %12s  %s\n",
		       jnum(p, "pid", &v) ? v : 0, jstr_or(p, "comm", "-"),
		       jstr_or(p, "verdict", "-"), fmt_bytes_key(rss, sizeof(rss), p, "rss_bytes"),
		       fmt_bytes_key(live, sizeof(live), p, "live_bytes"),
		       fmt_rate_key(rg, sizeof(rg), p, "rss_growth_bytes_per_sec"),
		       fmt_rate_key(lg, sizeof(lg), p, "live_growth_bytes_per_sec"),
		       jstr_or(p, "exe", "-"));
	}
}

static void print_counters(const char *title, json_t *obj)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return;
	printf("%s:\n", title);
	json_object_foreach(obj, key, v)
		printf("  %-24s %.0f\n", key, json_number_value(v));
}

static void print_status(json_t *res)
{
	json_t *arr, *e, *pts;
	char b1[32], b2[32];
	double v, d;
	size_t i;

	printf("%-24s %s\n", "version:", jstr_or(res, "version", "-"));
	printf("%-24s %s\n", "uptime:", fmt_dur_key(b1, sizeof(b1), res, "uptime_sec"));
	if (jnum(res, "tracked_processes", &v))
		printf("%-24s %.0f\n", "tracked processes:", v);
	if (jnum(res, "sites", &v))
		printf("%-24s %.0f\n", "allocation sites:", v);
	if (jnum(res, "last_drain_unix", &v)) {
		printf("%-24s %s ago", "last drain:", fmt_dur(b1, sizeof(b1), time(NULL) - v));
		if (jnum(res, "last_drain_duration_sec", &d))
			printf(", took %.3f s", d);
		printf("\n");
	} else {
		printf("%-24s %s\n", "last drain:", "none yet");
	}
	if (jnum(res, "drains", &v))
		printf("%-24s %.0f\n", "drains:", v);
	if (jnum(res, "interval_sec", &v))
		printf("%-24s %g s\n", "interval:", v);

	printf("%-24s %s, %s return probes, %.0f links\n", "attach mode:",
	       jstr_or(res, "attach_mode", "-"), jstr_or(res, "return_probes", "-"),
	       jnum(res, "links", &v) ? v : 0);
	printf("%-24s %s", "tracking:", jstr_or(res, "tracking", "-"));
	if (jnum(res, "sample_bytes", &v) && v > 0)
		printf(", one sample per %.0f bytes on average", v);
	printf("\n%-24s %s\n", "processes:", jstr_or(res, "processes", "-"));
	arr = json_object_get(res, "attached");
	printf("attached objects:%s\n", json_array_size(arr) ? "" : " none");
	json_array_foreach(arr, i, e) {
		printf("  %s (%s, %.0f probes", jstr_or(e, "path", "?"), jstr_or(e, "kind", "?"),
		       jnum(e, "probes", &v) ? v : 0);
		if (jnum(e, "missing", &v) && v > 0)
			printf(", %.0f allocator functions not found", v);
		printf(")\n");
		/* where each probe sits: name+offset past the function's start */
		pts = json_object_get(e, "probe_points");
		if (json_array_size(pts)) {
			size_t k;
			json_t *p;

			printf("    probe points:");
			json_array_foreach(pts, k, p)
				printf(" %s", json_string_value(p) ? json_string_value(p) : "?");
			printf("\n");
		}
	}
	arr = json_object_get(res, "interpreters");
	if (json_array_size(arr))
		printf("python interpreters:\n");
	json_array_foreach(arr, i, e) {
		printf("  %s %s: ", jstr_or(e, "version", "?"), jstr_or(e, "path", "?"));
		if (json_is_true(json_object_get(e, "supported")))
			printf("%s, %.0f probes\n", jstr_or(e, "strategy", "?"),
			       jnum(e, "probes", &v) ? v : 0);
		else
			printf("not traced: %s\n", jstr_or(e, "reason", "?"));
	}
	arr = json_object_get(res, "maps");
	if (json_array_size(arr))
		printf("maps:\n");
	json_array_foreach(arr, i, e) {
		snprintf(b1, sizeof(b1), "%.0f", jnum(e, "used", &v) ? v : 0);
		snprintf(b2, sizeof(b2), "%.0f", jnum(e, "max", &v) ? v : 0);
		printf("  %-24s %s / %s (%.1f%%)\n", jstr_or(e, "name", "?"), b1, b2,
		       jnum(e, "fill", &v) ? v * 100 : 0);
	}
	print_counters("drops", json_object_get(res, "drops"));
	print_counters("counts", json_object_get(res, "counts"));
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode standard base64 (padding optional) in place-independent output; -EINVAL if bad. */
static int b64_decode(const char *in, unsigned char **out, size_t *outlen)
{
	size_t len = strlen(in), n = 0;
	unsigned int acc = 0, bits = 0;
	unsigned char *buf = malloc(len / 4 * 3 + 3);
	int v;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < len && in[i] != '='; i++) {
		v = b64_val(in[i]);
		if (v < 0) {
			free(buf);
			return -EINVAL;
		}
		acc = acc << 6 | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = acc >> bits & 0xff;
		}
	}
	*out = buf;
	*outlen = n;
	return 0;
}

/*
 * pprof: the daemon sends the gzipped profile base64-encoded in "profile" (JSON carries no
 * bytes). It goes to -o FILE, to stdout with -o - (never a terminal), and by default to
 * leakwatch-heap-PID.pb.gz in the current directory.
 */
static int write_pprof(json_t *res, const char *output, pid_t pid)
{
	const char *b64 = jstr(res, "profile");
	char deflt[64];
	unsigned char *data;
	size_t len, off = 0;
	double sites = 0;
	int fd, ret;
	ssize_t n;

	if (!output) {
		snprintf(deflt, sizeof(deflt), "leakwatch-heap-%d.pb.gz", (int)pid);
		output = deflt;
	}

	if (!b64) {
		fprintf(stderr, "leakwatch: reply carries no profile (is leakwatchd newer or older "
			"than this client?)\n");
		return 1;
	}
	if (b64_decode(b64, &data, &len)) {
		fprintf(stderr, "leakwatch: reply carries a malformed profile\n");
		return 1;
	}
	if (!strcmp(output, "-")) {
		if (isatty(STDOUT_FILENO)) {
			fprintf(stderr, "leakwatch: refusing to write a binary profile to a "
				"terminal; use -o FILE\n");
			free(data);
			return 1;
		}
		fd = STDOUT_FILENO;
	} else {
		fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "leakwatch: cannot create %s: %s\n", output,
				strerror(errno));
			free(data);
			return 1;
		}
	}
	ret = 0;
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "leakwatch: failed to write profile: %s\n",
				strerror(errno));
			ret = 1;
			break;
		}
		off += n;
	}
	if (fd != STDOUT_FILENO && close(fd) && !ret) {
		fprintf(stderr, "leakwatch: failed to write profile: %s\n", strerror(errno));
		ret = 1;
	}
	free(data);
	if (!ret && fd != STDOUT_FILENO) {
		jnum(res, "sites", &sites);
		printf("wrote the live heap of pid %d (%.0f allocation sites, %zu bytes) to %s\n"
		       "view it with: go tool pprof -top %s\n", (int)pid, sites, len, output,
		       output);
	}
	return ret;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	json_t *res;
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret;
	res = query(&o);
	if (!res)
		return 1;

	ret = 0;
	if (o.json) {
		if (json_dumpf(res, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) ||
		    fputc('\n', stdout) == EOF)
			ret = 1;
	} else {
		switch (o.req.cmd) {
		case LW_CMD_TOP:
			print_top(res);
			break;
		case LW_CMD_STACKS:
			print_stacks(res);
			break;
		case LW_CMD_PROCS:
			print_procs(res);
			break;
		case LW_CMD_STATUS:
			print_status(res);
			break;
		case LW_CMD_PPROF:
			ret = write_pprof(res, o.output, o.req.pid);
			break;
		default:
			break;
		}
	}
	json_decref(res);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "leakwatch: failed to write output: %s\n", strerror(errno));
		return 1;
	}
	return ret;
}
