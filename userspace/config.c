// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The configuration key table and everything driven by it. Each key names its type; each type
 * knows how to parse a value strictly, format it back (so that format -> parse is the identity),
 * and describe what it allows. Defaults are written as text in the table and go through the same
 * parsers, so the help, the shipped file and the struct defaults cannot disagree.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allocfns.h"
#include "config.h"
#include "leakwatch_abi.h"

#define PID_MAX_LIMIT 4194304		/* the kernel's ceiling for /proc/sys/kernel/pid_max */
#define FILE_MAX (1 << 20)		/* a config file is a few KiB; refuse anything huge */
#define LINE_MAX_LEN 4096
#define WHY_MAX 256
#define VAL_MAX 512			/* fits any formatted value: 64 pids, the longest address */

struct cfg_key;

struct cfg_type {
	const char *metavar;		/* placeholder shown in --config-help */
	/* Parse val into c; on error return -EINVAL and optionally explain in why. */
	int (*parse)(const struct cfg_key *k, const char *val, struct lw_config *c, char *why,
		     size_t whylen);
	void (*format)(const struct cfg_key *k, const struct lw_config *c, char *buf, size_t len);
	/* "a number of seconds from 0.1 to 3600": completes "must be ..." and "Allowed: ..." */
	void (*describe)(const struct cfg_key *k, char *buf, size_t len);
	const char *noun;		/* for numeric types: "an integer", "a number of bytes" */
};

enum {
	CFG_RESTART = 1 << 0,		/* applied at start only */
	CFG_MIN_EXCL = 1 << 1,		/* min itself is not allowed */
	CFG_MAX_EXCL = 1 << 2,
};

struct cfg_key {
	const char *group;
	const char *name;
	const struct cfg_type *type;
	size_t off;
	const char *def;		/* default, as it would be written in the file */
	double min, max;		/* numeric limits; every integer limit is exact in a double */
	unsigned int flags;
	const char *help;
};

#define FIELD(c, k, T) ((T *)((char *)(c) + (k)->off))
#define CFIELD(c, k, T) ((const T *)((const char *)(c) + (k)->off))

/* ---- helpers ---- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A value as it may appear inside quotes in a message: bounded and free of control bytes. */
static void quote(const char *s, char *buf, size_t len)
{
	size_t i, n = strlen(s), max = len - 4;

	for (i = 0; i < n && i < max; i++)
		buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (i < n)
		strcpy(buf + i, "...");
	else
		buf[i] = '\0';
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
	}
	return true;
}

/* Unsigned decimal, digits only: no sign, no hex, no spaces, no suffix. */
static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!all_digits(s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -ERANGE;
	*out = v;
	return 0;
}

/*
 * Decimal floating point only. The character whitelist keeps out what strtod would otherwise
 * take: "nan", "inf", hex floats and leading blanks.
 */
static int parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s || strspn(s, "0123456789.eE+-") != strlen(s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end)
		return -EINVAL;
	if (errno == ERANGE || !isfinite(v))
		return -ERANGE;
	*out = v;
	return 0;
}

/* Integers print as integers (no "4.1943e+06"); others in the shortest text that reads back. */
static void fmt_num(double v, char *buf, size_t len)
{
	if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(long long)v) {
		snprintf(buf, len, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static bool in_range(const struct cfg_key *k, double v)
{
	if (k->flags & CFG_MIN_EXCL ? v <= k->min : v < k->min)
		return false;
	if (k->flags & CFG_MAX_EXCL ? v >= k->max : v > k->max)
		return false;
	return true;
}

static void describe_range(const struct cfg_key *k, char *buf, size_t len)
{
	char lo[32], hi[32];

	fmt_num(k->min, lo, sizeof(lo));
	fmt_num(k->max, hi, sizeof(hi));
	if (!(k->flags & (CFG_MIN_EXCL | CFG_MAX_EXCL)))
		snprintf(buf, len, "%s from %s to %s", k->type->noun, lo, hi);
	else
		snprintf(buf, len, "%s %s %s and %s %s", k->type->noun,
			 k->flags & CFG_MIN_EXCL ? "greater than" : "at least", lo,
			 k->flags & CFG_MAX_EXCL ? "less than" : "at most", hi);
}

/* ---- types ---- */

static int path_parse(const struct cfg_key *k, const char *val, struct lw_config *c, char *why,
		      size_t whylen)
{
	size_t n = strlen(val);

	if (val[0] != '/')
		return -EINVAL;
	if (n >= LW_CONFIG_SOCKET_MAX) {
		snprintf(why, whylen, "must be shorter than %d bytes, the limit of a Unix socket "
			 "address (got %zu bytes)", LW_CONFIG_SOCKET_MAX, n);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (iscntrl((unsigned char)val[i])) {
			snprintf(why, whylen, "must not contain control characters");
			return -EINVAL;
		}
	}
	memcpy(FIELD(c, k, char), val, n + 1);
	return 0;
}

static void str_format(const struct cfg_key *k, const struct lw_config *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", CFIELD(c, k, char));
}

static int wrappers_parse(const struct cfg_key *k, const char *val, struct lw_config *c,
			  char *why, size_t whylen)
{
	size_t n = strlen(val);

	if (n >= LW_CONFIG_WRAPPERS_MAX) {
		snprintf(why, whylen, "must be shorter than %d bytes (got %zu bytes)",
			 LW_CONFIG_WRAPPERS_MAX, n);
		return -EINVAL;
	}
	if (lw_allocfns__check(val, why, whylen))
		return -EINVAL;
	memcpy(FIELD(c, k, char), val, n + 1);
	return 0;
}

static void wrappers_describe(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "function names separated by commas, at most %d", LW_WRAPPERS_MAX);
}

static void path_describe(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "an absolute path shorter than %d bytes", LW_CONFIG_SOCKET_MAX);
}

static int num_parse(const struct cfg_key *k, const char *val, struct lw_config *c,
			 char *why, size_t whylen)
{
	double v;

	if (parse_double(val, &v) || !in_range(k, v))
		return -EINVAL;
	*FIELD(c, k, double) = v;
	return 0;
}

static void double_format(const struct cfg_key *k, const struct lw_config *c, char *buf,
			  size_t len)
{
	fmt_num(*CFIELD(c, k, double), buf, len);
}

static int u32_parse(const struct cfg_key *k, const char *val, struct lw_config *c, char *why,
		     size_t whylen)
{
	uint64_t v;

	if (parse_u64(val, &v) || !in_range(k, (double)v))
		return -EINVAL;
	*FIELD(c, k, uint32_t) = (uint32_t)v;
	return 0;
}

static void u32_format(const struct cfg_key *k, const struct lw_config *c, char *buf, size_t len)
{
	snprintf(buf, len, "%u", *CFIELD(c, k, uint32_t));
}

static int u64_parse(const struct cfg_key *k, const char *val, struct lw_config *c, char *why,
		     size_t whylen)
{
	uint64_t v;

	/* Limits stay below 2^53, so the comparison in double is exact where it matters. */
	if (parse_u64(val, &v) || !in_range(k, (double)v))
		return -EINVAL;
	*FIELD(c, k, uint64_t) = v;
	return 0;
}

static void u64_format(const struct cfg_key *k, const struct lw_config *c, char *buf, size_t len)
{
	snprintf(buf, len, "%llu", (unsigned long long)*CFIELD(c, k, uint64_t));
}

static int bool_parse(const struct cfg_key *k, const char *val, struct lw_config *c, char *why,
		      size_t whylen)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(val, yes[i])) {
			*FIELD(c, k, bool) = true;
			return 0;
		}
		if (!strcasecmp(val, no[i])) {
			*FIELD(c, k, bool) = false;
			return 0;
		}
	}
	return -EINVAL;
}

static void bool_format(const struct cfg_key *k, const struct lw_config *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", *CFIELD(c, k, bool) ? "true" : "false");
}

static void bool_describe(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "true or false (also yes/no, on/off, 1/0)");
}

/* RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
static bool valid_hostname(const char *h, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || h[i] == '.') {
			if (label == 0 || label > 63 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)h[i]) && h[i] != '-')
			return false;
		if (h[i] == '-' && label == 0)
			return false;
		label++;
	}
	return true;
}

/*
 * HOST:PORT syntax only; name resolution is the HTTP server's business at bind time. On success
 * *h and *hlen locate the host inside s, without brackets.
 */
static int hostport_check(const char *s, const char **h, size_t *hlen, uint16_t *port, char *why,
			  size_t whylen)
{
	const char *host, *p;
	char tmp[INET6_ADDRSTRLEN];
	unsigned char addr[sizeof(struct in6_addr)];
	uint64_t v;
	size_t n;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close) {
			snprintf(why, whylen, "missing ']' after the IPv6 address");
			return -EINVAL;
		}
		host = s + 1;
		n = close - host;
		if (n >= sizeof(tmp) || (memcpy(tmp, host, n), tmp[n] = '\0',
					 inet_pton(AF_INET6, tmp, addr) != 1)) {
			snprintf(why, whylen, "'%.*s' is not an IPv6 address", (int)(n < 64 ? n : 64),
				 host);
			return -EINVAL;
		}
		p = close + 1;
		if (*p != ':') {
			snprintf(why, whylen, "expected ':PORT' after ']'");
			return -EINVAL;
		}
	} else {
		p = strrchr(s, ':');
		if (!p) {
			snprintf(why, whylen, "missing ':PORT'; must be HOST:PORT, [IPv6]:PORT or off");
			return -EINVAL;
		}
		host = s;
		n = p - s;
		if (memchr(host, ':', n)) {
			snprintf(why, whylen, "IPv6 addresses need brackets, as in [::1]:9464");
			return -EINVAL;
		}
		if (n == 0) {
			snprintf(why, whylen, "missing host (0.0.0.0 or [::] listen on every address)");
			return -EINVAL;
		}
		if (strspn(host, "0123456789.") >= n) {
			/* All digits and dots: an IPv4 address or a mistake, never a host name. */
			if (n >= sizeof(tmp) || (memcpy(tmp, host, n), tmp[n] = '\0',
						 inet_pton(AF_INET, tmp, addr) != 1)) {
				snprintf(why, whylen, "'%.*s' is not an IPv4 address",
					 (int)(n < 64 ? n : 64), host);
				return -EINVAL;
			}
		} else if (!valid_hostname(host, n)) {
			snprintf(why, whylen, "'%.*s' is not a valid host name", (int)(n < 64 ? n : 64),
				 host);
			return -EINVAL;
		}
	}
	p++;
	if (strlen(p) > 5 || parse_u64(p, &v) || v < 1 || v > 65535) {
		snprintf(why, whylen, "port must be from 1 to 65535");
		return -EINVAL;
	}
	*h = host;
	*hlen = n;
	*port = (uint16_t)v;
	return 0;
}

int lw_config__split_hostport(const char *addr, char *host, size_t hostlen, uint16_t *port)
{
	char why[WHY_MAX];
	const char *h;
	size_t n;

	if (!strcmp(addr, "off") || hostport_check(addr, &h, &n, port, why, sizeof(why)))
		return -EINVAL;
	if (n >= hostlen)
		return -ENAMETOOLONG;
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}

static int addr_parse(const struct cfg_key *k, const char *val, struct lw_config *c, char *why,
		      size_t whylen)
{
	const char *h;
	uint16_t port;
	size_t n;

	if (strcmp(val, "off")) {
		if (!*val)
			return -EINVAL;
		if (hostport_check(val, &h, &n, &port, why, whylen))
			return -EINVAL;
	}
	/* The checked syntax bounds the length: 253-byte host, brackets, colon, 5 digits. */
	snprintf(c->metrics_addr, sizeof(c->metrics_addr), "%s", val);
	c->metrics_off = !strcmp(val, "off");
	return 0;
}

static void addr_describe(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "HOST:PORT, [IPv6]:PORT (port 1 to 65535) or off");
}

static int pids_parse(const struct cfg_key *k, const char *val, struct lw_config *c, char *why,
		      size_t whylen)
{
	pid_t pids[LW_CONFIG_MAX_PIDS];
	unsigned int n = 0;
	const char *p = val;

	/* Empty is the one empty value allowed anywhere: it means every process. */
	while (*val) {	/* leaves by break or return */
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char item[32];
		uint64_t v;

		while (len && isblank((unsigned char)*p))
			p++, len--;
		while (len && isblank((unsigned char)p[len - 1]))
			len--;
		if (!len) {
			snprintf(why, whylen, "empty entry in the list");
			return -EINVAL;
		}
		if (len >= sizeof(item) || (memcpy(item, p, len), item[len] = '\0',
					    parse_u64(item, &v)) || v < 1 || v > PID_MAX_LIMIT) {
			snprintf(why, whylen, "'%.*s' is not a process ID from 1 to %d",
				 (int)(len < 32 ? len : 32), p, PID_MAX_LIMIT);
			return -EINVAL;
		}
		for (unsigned int i = 0; i < n; i++) {
			if (pids[i] == (pid_t)v) {
				snprintf(why, whylen, "process ID %d is listed twice", pids[i]);
				return -EINVAL;
			}
		}
		if (n == LW_CONFIG_MAX_PIDS) {
			snprintf(why, whylen, "at most %d process IDs are allowed",
				 LW_CONFIG_MAX_PIDS);
			return -EINVAL;
		}
		pids[n++] = (pid_t)v;
		if (!end)
			break;
		p = end + 1;
	}
	memcpy(c->pids, pids, n * sizeof(pids[0]));
	memset(c->pids + n, 0, (LW_CONFIG_MAX_PIDS - n) * sizeof(pids[0]));
	c->npids = n;
	return 0;
}

static void pids_format(const struct cfg_key *k, const struct lw_config *c, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < c->npids && i < LW_CONFIG_MAX_PIDS && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%d", i ? "," : "", c->pids[i]);
}

static void pids_describe(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "a comma-separated list of up to %d process IDs, or empty for every "
		 "process on the machine", LW_CONFIG_MAX_PIDS);
}

static const char *const attach_names[] = {
	[LW_ATTACH_AUTO] = "auto", [LW_ATTACH_MULTI] = "multi", [LW_ATTACH_CLASSIC] = "classic",
};

static int attach_parse(const struct cfg_key *k, const char *val, struct lw_config *c, char *why,
			size_t whylen)
{
	for (size_t i = 0; i < sizeof(attach_names) / sizeof(attach_names[0]); i++) {
		if (!strcmp(val, attach_names[i])) {
			*FIELD(c, k, enum lw_attach_mode) = i;
			return 0;
		}
	}
	return -EINVAL;
}

static void attach_format(const struct cfg_key *k, const struct lw_config *c, char *buf,
			  size_t len)
{
	snprintf(buf, len, "%s", attach_names[*CFIELD(c, k, enum lw_attach_mode)]);
}

static void attach_describe(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "auto, multi or classic");
}

static const char *const session_names[] = {
	[LW_SESSION_AUTO] = "auto", [LW_SESSION_ON] = "on", [LW_SESSION_OFF] = "off",
};

static int session_parse(const struct cfg_key *k, const char *val, struct lw_config *c,
			 char *why, size_t whylen)
{
	for (size_t i = 0; i < sizeof(session_names) / sizeof(session_names[0]); i++) {
		if (!strcmp(val, session_names[i])) {
			*FIELD(c, k, enum lw_session_mode) = i;
			return 0;
		}
	}
	return -EINVAL;
}

static void session_format(const struct cfg_key *k, const struct lw_config *c, char *buf,
			   size_t len)
{
	snprintf(buf, len, "%s", session_names[*CFIELD(c, k, enum lw_session_mode)]);
}

static void session_describe(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "auto, on or off");
}

static const struct cfg_type t_path = { "PATH", path_parse, str_format, path_describe };
static const struct cfg_type t_seconds = { "SECONDS", num_parse, double_format,
					   describe_range, "a number of seconds" };
static const struct cfg_type t_double = { "NUMBER", num_parse, double_format,
					  describe_range, "a number" };
static const struct cfg_type t_u32 = { "N", u32_parse, u32_format, describe_range,
				       "an integer" };
static const struct cfg_type t_bytes = { "BYTES", u64_parse, u64_format, describe_range,
					 "a number of bytes" };
static const struct cfg_type t_bool = { "BOOL", bool_parse, bool_format, bool_describe };
static const struct cfg_type t_addr = { "HOST:PORT|off", addr_parse, str_format, addr_describe };
static const struct cfg_type t_pids = { "PID[,PID...]", pids_parse, pids_format, pids_describe };
static const struct cfg_type t_wrappers = { "NAME[,NAME...]", wrappers_parse, str_format,
					    wrappers_describe };
static const struct cfg_type t_session = { "auto|on|off", session_parse, session_format,
					   session_describe };
static const struct cfg_type t_attach = { "auto|multi|classic", attach_parse, attach_format,
					  attach_describe };

/* ---- the table ---- */

static const struct {
	const char *name;
	const char *title;
} groups[] = {
	{ "daemon", "where the daemon listens, what it traces, how much it logs" },
	{ "bpf", "kernel-side tables, sized when the BPF object is loaded" },
	{ "analysis", "trend detection and how long history is kept" },
};

#define KEY(g, n, t, d, lo, hi, fl, h) \
	{ g, #n, &t, offsetof(struct lw_config, n), d, lo, hi, fl, h }

static const struct cfg_key keys[] = {
	KEY("daemon", socket, t_path, "/run/leakwatch/leakwatchd.sock", 0, 0, CFG_RESTART,
	    "Control socket (a stream Unix socket) that the leakwatch client talks to. Its "
	    "directory must exist; the systemd unit creates /run/leakwatch."),
	KEY("daemon", interval, t_seconds, "10", 0.1, 3600, 0,
	    "How often the daemon drains the BPF maps, takes a sample of every allocation site and "
	    "publishes what the client and /metrics see. Fractions are allowed."),
	{ "daemon", "metrics_addr", &t_addr, offsetof(struct lw_config, metrics_addr),
	  "127.0.0.1:9464", 0, 0, CFG_RESTART,
	  "Address of the HTTP server for /metrics (Prometheus) and /debug/pprof/heap, or off for "
	  "none. Profiles reveal process names and call stacks: keep it on loopback unless the "
	  "network is trusted." },
	KEY("daemon", metrics_top_sites, t_u32, "20", 0, 10000, 0,
	    "Allocation sites exported with series of their own in /metrics (live bytes, growth "
	    "rate, verdict): the top growers, leaks first. Each costs a few series in Prometheus; the "
	    "number left out is exported too. 0 exports none."),
	{ "daemon", "pid", &t_pids, offsetof(struct lw_config, pids), "", 0, 0, CFG_RESTART,
	  "Trace only these processes and their children. With uprobe_multi links (attach = "
	  "multi or auto on Linux 6.6+) each one gets probes of its own, filtered by the kernel, "
	  "so that every other process runs its allocator untouched; a child is probed from when "
	  "the daemon sees it fork (its first allocations may be missed)." },
	KEY("daemon", verbose, t_bool, "false", 0, 0, 0, "Log at debug level."),

	KEY("bpf", max_allocations, t_u32, "1048576", 1024, 67108864, CFG_RESTART,
	    "Entries in the live-allocation map: the most allocations tracked at once, across all "
	    "processes. When it is full, new allocations go untracked and are counted as drops "
	    "(leakwatch status)."),
	KEY("bpf", max_sites, t_u32, "65536", 256, 4194304, CFG_RESTART,
	    "Entries in the per-(process, call stack) totals map."),
	KEY("bpf", max_stacks, t_u32, "65536", 256, 4194304, CFG_RESTART,
	    "Entries in the map of distinct call stacks."),
	KEY("bpf", stack_depth, t_u32, "16", 1, LW_MAX_STACK_DEPTH, CFG_RESTART,
	    "Frames kept per allocation stack, innermost first. Deeper stacks tell sites apart "
	    "better and cost more on every allocation."),
	KEY("bpf", attach, t_attach, "auto", 0, 0, CFG_RESTART,
	    "How the allocator probes are attached. multi: uprobe_multi BPF links, two per library "
	    "(Linux 6.6 or later), which need only CAP_BPF and CAP_PERFMON. classic: one perf-event "
	    "uprobe per function, which needs CAP_SYS_ADMIN and makes stopping slower. auto: multi "
	    "where the kernel has it, else classic. leakwatch status shows the mode in use."),
	KEY("bpf", python, t_bool, "true", 0, 0, CFG_RESTART,
	    "Trace CPython 3.8-3.13 interpreters: their objects become pymalloc sites with Python "
	    "frames, and libc allocations of Python code get Python frames too. Every traced "
	    "Python allocation costs a few microseconds (see the README); false leaves Python "
	    "processes traced through libc only."),
	KEY("bpf", mmap, t_bool, "true", 0, 0, CFG_RESTART,
	    "Trace anonymous mmap, munmap and mremap as allocator mmap: mappings a program makes "
	    "itself, outside any allocator call. Costs a BPF program run on every system call of "
	    "every process (most leave at the first comparison); false turns it off."),

	KEY("bpf", session, t_session, "auto", 0, 0, CFG_RESTART,
	    "Session uprobes (Linux 6.10 or later): one probe per allocator function whose return "
	    "half runs only for the calls the entry half asks for, so that with sample_bytes an "
	    "allocation not sampled costs one trap instead of two. auto: where the kernel has them "
	    "and attach is multi, else separate return probes. on: required. off: never."),
	KEY("bpf", sample_bytes, t_bytes, "0", 0, (double)LW_SAMPLE_MAX_BYTES, CFG_RESTART,
	    "0 records every allocation. Otherwise sample: on average one allocation per this many "
	    "bytes allocated, each with probability 1 - exp(-size/sample_bytes), and count each "
	    "sampled block as size/probability bytes, so that live bytes stay right on average "
	    "(within a few percent for a site that holds a hundred times this). 524288 is a "
	    "good start. Unsampled allocations still pay the entry probe (see the README)."),
	KEY("bpf", wrappers, t_wrappers, "", 0, 0, CFG_RESTART,
	    "Allocation wrappers of your own code, besides the built-in ones (C++ operator new, "
	    "strdup and the like, xmalloc, g_malloc, CRYPTO_malloc): functions that return what "
	    "the allocator call they make returns. Their callers become the allocation sites, "
	    "with or without frame pointers. The symbols must be in the object's symbol table."),

	KEY("analysis", history, t_u32, "120", 8, 4096, CFG_RESTART,
	    "Samples kept per allocation site, one per interval; history x interval is how far back "
	    "the daemon can look, and must cover the window."),
	KEY("analysis", max_series, t_u32, "65536", 64, 4194304, CFG_RESTART,
	    "Most allocation sites whose history is kept in memory."),
	KEY("analysis", min_growth_bytes, t_bytes, "4096", 0, 1125899906842624.0, 0,
	    "Least net growth of a site's live bytes over the window for it to count as growing; "
	    "smaller growth is stable however steady it is."),
	KEY("analysis", min_fragmentation_bytes, t_bytes, "8388608", 0, 1125899906842624.0, 0,
	    "Least memory a process must hold back (freed by its heap, still resident) for its "
	    "verdict to be fragmentation."),
	KEY("analysis", window, t_seconds, "60", 1, 86400, 0,
	    "Length of the sliding window the trend test looks at. It must hold at least 3 "
	    "intervals."),
	KEY("analysis", significance, t_double, "0.01", 0, 0.5, CFG_MIN_EXCL | CFG_MAX_EXCL,
	    "Significance level of the trend test: the chance of calling a flat site growing. "
	    "Smaller means fewer false alarms and later verdicts."),
	KEY("analysis", warmup, t_seconds, "15", 0, 86400, 0,
	    "How long a newly seen process is watched before its sites get a verdict, so that "
	    "start-up allocations do not look like leaks."),
	KEY("analysis", scan_interval, t_seconds, "10", 0.1, 3600, 0,
	    "How often the live-allocation table is swept: allocation ages are measured and entries "
	    "of processes that are gone are removed."),
	KEY("analysis", exited_retention, t_seconds, "300", 0, 604800, 0,
	    "How long the sites of an exited process stay queryable (top, stacks, pprof)."),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* ---- lookup ---- */

/* Optimal string alignment distance, case-insensitive; short strings only. */
static unsigned int distance(const char *a, const char *b)
{
	unsigned int d[33][33];
	size_t n = strlen(a), m = strlen(b);

	if (n > 32 || m > 32)
		return 99;
	for (size_t i = 0; i <= n; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= n; i++) {
		for (size_t j = 1; j <= m; j++) {
			unsigned int cost = tolower((unsigned char)a[i - 1]) !=
					    tolower((unsigned char)b[j - 1]);
			unsigned int v = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[n][m];
}

/* dashes: accept the command-line spelling ("metrics-addr") for "metrics_addr". */
static const struct cfg_key *key_find(const char *name, bool dashes)
{
	char buf[64];
	size_t n = strlen(name);

	if (n >= sizeof(buf))
		return NULL;
	memcpy(buf, name, n + 1);
	for (size_t i = 0; dashes && i < n; i++) {
		if (buf[i] == '-')
			buf[i] = '_';
	}
	for (size_t i = 0; i < NKEYS; i++) {
		if (!strcmp(keys[i].name, buf))
			return &keys[i];
	}
	return NULL;
}

static void unknown_key(const char *name, char *buf, size_t len)
{
	const struct cfg_key *best = NULL;
	unsigned int best_d = 3;	/* suggest only for typos of at most 2 edits */
	char q[72];

	for (size_t i = 0; i < NKEYS; i++) {
		unsigned int d = distance(name, keys[i].name);

		if (d < best_d) {
			best_d = d;
			best = &keys[i];
		}
	}
	quote(name, q, sizeof(q));
	if (best)
		snprintf(buf, len, "unknown key '%s' (did you mean '%s'?)", q, best->name);
	else
		snprintf(buf, len, "unknown key '%s' (leakwatchd --config-help lists them)", q);
}

/* ---- setting ---- */

static int key_set(const struct cfg_key *k, struct lw_config *c, const char *val, char *err,
		   size_t errlen)
{
	struct lw_config tmp = *c;
	char why[WHY_MAX] = "", q[72];

	if (k->type->parse(k, val, &tmp, why, sizeof(why))) {
		if (!why[0]) {
			char desc[WHY_MAX - 16];

			k->type->describe(k, desc, sizeof(desc));
			snprintf(why, sizeof(why), "must be %s", desc);
		}
		quote(val, q, sizeof(q));
		seterr(err, errlen, "%s: %s (got '%s')", k->name, why, q);
		return -EINVAL;
	}
	*c = tmp;
	return 0;
}

int lw_config__set(struct lw_config *c, const char *key, const char *value, char *err,
		   size_t errlen)
{
	const struct cfg_key *k = key_find(key, true);
	char msg[WHY_MAX];

	if (!k) {
		unknown_key(key, msg, sizeof(msg));
		seterr(err, errlen, "%s", msg);
		return -ENOENT;
	}
	return key_set(k, c, value, err, errlen);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int lw_config__set_kv(struct lw_config *c, const char *kv, char *err, size_t errlen)
{
	char buf[LINE_MAX_LEN], q[72];
	char *eq;

	if (strlen(kv) >= sizeof(buf) || !(eq = strchr(strcpy(buf, kv), '='))) {
		quote(kv, q, sizeof(q));
		seterr(err, errlen, "expected KEY=VALUE (got '%s')", q);
		return -EINVAL;
	}
	*eq = '\0';
	return lw_config__set(c, trim(buf), trim(eq + 1), err, errlen);
}

void lw_config__defaults(struct lw_config *c)
{
	memset(c, 0, sizeof(*c));
	/* The table's defaults are checked by the unit tests; a failure here is a build bug. */
	for (size_t i = 0; i < NKEYS; i++) {
		if (key_set(&keys[i], c, keys[i].def, NULL, 0))
			abort();
	}
}

/* ---- files ---- */

int lw_config__parse_text(struct lw_config *c, const char *text, const char *fname, char *err,
			  size_t errlen)
{
	unsigned int seen[NKEYS] = { 0 };	/* line each key was set on */
	struct lw_config tmp = *c;
	const char *p = text;
	unsigned int lineno = 0;
	char line[LINE_MAX_LEN], msg[LW_CONFIG_ERR_MAX], q[72];

	if (!fname)
		fname = "config";
	if (!strncmp(p, "\xef\xbb\xbf", 3))	/* editors on other systems add a UTF-8 BOM */
		p += 3;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const struct cfg_key *k;
		char *s, *eq, *key, *val;

		lineno++;
		if (len >= sizeof(line)) {
			seterr(err, errlen, "%s:%u: line longer than %zu bytes", fname, lineno,
			       sizeof(line) - 1);
			return -EINVAL;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (nl ? 1 : 0);

		/* trim() takes the '\r' of CRLF endings along with other trailing blanks. */
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			quote(s, q, sizeof(q));
			seterr(err, errlen, "%s:%u: expected 'key = value' (got '%s')", fname, lineno,
			       q);
			return -EINVAL;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (!*key) {
			seterr(err, errlen, "%s:%u: missing key before '='", fname, lineno);
			return -EINVAL;
		}
		k = key_find(key, false);
		if (!k) {
			unknown_key(key, msg, sizeof(msg));
			seterr(err, errlen, "%s:%u: %s", fname, lineno, msg);
			return -EINVAL;
		}
		if (seen[k - keys]) {
			seterr(err, errlen, "%s:%u: %s: set twice (first on line %u)", fname, lineno,
			       k->name, seen[k - keys]);
			return -EINVAL;
		}
		if (key_set(k, &tmp, val, msg, sizeof(msg))) {
			seterr(err, errlen, "%s:%u: %s", fname, lineno, msg);
			return -EINVAL;
		}
		seen[k - keys] = lineno;
	}
	*c = tmp;
	return 0;
}

int lw_config__load_file(struct lw_config *c, const char *path, bool must_exist, char *err,
			 size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT && !must_exist)
			return 0;
		seterr(err, errlen, "%s: cannot open config file: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		seterr(err, errlen, "%s: cannot stat config file: %s", path, strerror(-ret));
		goto cleanup;
	}
	/* A FIFO or device could block a SIGHUP reload forever. */
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		seterr(err, errlen, "%s: not a regular file", path);
		goto cleanup;
	}
	buf = malloc(FILE_MAX + 1);
	if (!buf) {
		ret = -ENOMEM;
		seterr(err, errlen, "%s: cannot read config file: %s", path, strerror(ENOMEM));
		goto cleanup;
	}
	/* Read to EOF rather than trusting st_size: the file may change under us. */
	for (;;) {
		ssize_t n = read(fd, buf + len, FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			seterr(err, errlen, "%s: cannot read config file: %s", path,
			       strerror(-ret));
			goto cleanup;
		}
		if (n == 0)
			break;
		len += n;
		if (len > FILE_MAX) {
			ret = -EFBIG;
			seterr(err, errlen, "%s: larger than %d bytes; not a config file?", path,
			       FILE_MAX);
			goto cleanup;
		}
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len)) {
		ret = -EINVAL;
		seterr(err, errlen, "%s: contains a NUL byte; not a text file?", path);
		goto cleanup;
	}
	ret = lw_config__parse_text(c, buf, path, err, errlen);
cleanup:
	free(buf);
	close(fd);
	return ret;
}

/* ---- whole-config checks and comparisons ---- */

int lw_config__validate(const struct lw_config *c, char *err, size_t errlen)
{
	struct lw_config scratch = *c;
	char val[VAL_MAX], a[32], b[32], d[32];

	/* Catches structs filled in by code rather than parsed: every value must read back. */
	if (c->npids > LW_CONFIG_MAX_PIDS) {
		seterr(err, errlen, "pid: at most %d process IDs are allowed", LW_CONFIG_MAX_PIDS);
		return -EINVAL;
	}
	for (size_t i = 0; i < NKEYS; i++) {
		keys[i].type->format(&keys[i], c, val, sizeof(val));
		if (key_set(&keys[i], &scratch, val, err, errlen))
			return -EINVAL;
	}
	if (c->session == LW_SESSION_ON && c->attach == LW_ATTACH_CLASSIC) {
		seterr(err, errlen, "session: on needs attach = multi or auto (session uprobes are "
		       "uprobe_multi links); set session = auto or off");
		return -EINVAL;
	}
	/* Tolerate rounding in the products: 0.1 * 3 is not exactly 0.3. */
	if (c->window * (1 + 1e-9) < 3 * c->interval) {
		fmt_num(c->window, a, sizeof(a));
		fmt_num(c->interval, b, sizeof(b));
		seterr(err, errlen, "window (%s s) must hold at least 3 intervals (interval is %s s): "
		       "raise window or lower interval", a, b);
		return -EINVAL;
	}
	if (c->history * c->interval * (1 + 1e-9) < c->window) {
		fmt_num(c->interval, a, sizeof(a));
		fmt_num(c->history * c->interval, b, sizeof(b));
		fmt_num(c->window, d, sizeof(d));
		seterr(err, errlen, "history (%u samples x interval %s s = %s s) must cover window "
		       "(%s s): raise history or lower window", c->history, a, b, d);
		return -EINVAL;
	}
	return 0;
}

unsigned int lw_config__diff(const struct lw_config *a, const struct lw_config *b,
			     lw_config_diff_fn fn, void *ctx)
{
	char va[VAL_MAX], vb[VAL_MAX];
	unsigned int n = 0;

	/* Formatting is exact (shortest text that reads back), so equal text is equal value. */
	for (size_t i = 0; i < NKEYS; i++) {
		keys[i].type->format(&keys[i], a, va, sizeof(va));
		keys[i].type->format(&keys[i], b, vb, sizeof(vb));
		if (!strcmp(va, vb))
			continue;
		n++;
		if (fn)
			fn(ctx, keys[i].name, va, vb, keys[i].flags & CFG_RESTART);
	}
	return n;
}

/* ---- printing ---- */

/* Greedy word wrap; every line starts with prefix and stays within width columns if it can. */
static void wrap(FILE *f, const char *prefix, const char *text, size_t width)
{
	size_t plen = strlen(prefix), col = 0;
	const char *p = text;

	while (*p) {
		size_t w = strcspn(p, " ");

		if (col && col + 1 + w > width) {
			fputc('\n', f);
			col = 0;
		}
		if (!col) {
			fputs(prefix, f);
			col = plen;
		} else {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, w, f);
		col += w;
		p += w;
		p += strspn(p, " ");
	}
	if (col)
		fputc('\n', f);
}

static void allowed(const struct cfg_key *k, char *buf, size_t len)
{
	char desc[WHY_MAX];

	k->type->describe(k, desc, sizeof(desc));
	snprintf(buf, len, "Allowed: %s.%s", desc,
		 k->flags & CFG_RESTART ? " Takes effect on restart, not on reload." :
		 "");
}

static const char *group_title(const char *name)
{
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (!strcmp(groups[i].name, name))
			return groups[i].title;
	}
	return "";
}

void lw_config__print_help(FILE *f)
{
	const char *group = NULL;
	char buf[LW_CONFIG_ERR_MAX];

	fprintf(f, "leakwatchd configuration keys\n\n");
	wrap(f, "", "Set in the config file (default " LW_CONFIG_DEFAULT_PATH ") as \"key = value\", "
	     "one per line; lines starting with '#' are comments. Command-line options override "
	     "the file. Unknown keys, keys given twice and bad values are errors; a reload "
	     "(SIGHUP) with a bad file keeps the running configuration.", 96);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &keys[i];

		if (!group || strcmp(group, k->group)) {
			group = k->group;
			fprintf(f, "\n[%s] %s\n", group, group_title(group));
		}
		fprintf(f, "\n  %s = %s (default: %s)\n", k->name, k->type->metavar,
			k->def[0] ? k->def : "empty");
		wrap(f, "      ", k->help, 96);
		allowed(k, buf, sizeof(buf));
		wrap(f, "      ", buf, 96);
	}
}

void lw_config__print_default_file(FILE *f)
{
	const char *group = NULL;
	char buf[LW_CONFIG_ERR_MAX];

	fprintf(f, "# leakwatchd configuration (" LW_CONFIG_DEFAULT_PATH ")\n#\n");
	wrap(f, "# ", "One \"key = value\" per line; lines starting with \"#\" are comments. A "
	     "\"#\" after a value is part of the value, so keep comments on their own lines. Every "
	     "key is listed below with its built-in default, commented out: uncomment a line to "
	     "change it.", 96);
	fprintf(f, "#\n");
	wrap(f, "# ", "Command-line options override this file. An unknown key, a key given twice "
	     "or a bad value is an error: leakwatchd refuses to start, and a reload (SIGHUP) keeps "
	     "the running configuration. \"leakwatchd --config-help\" describes every key.", 96);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &keys[i];

		if (!group || strcmp(group, k->group)) {
			group = k->group;
			fprintf(f, "\n# ==== %s: %s ====\n", group, group_title(group));
		}
		fputc('\n', f);
		wrap(f, "# ", k->help, 96);
		allowed(k, buf, sizeof(buf));
		wrap(f, "# ", buf, 96);
		fprintf(f, "#%s =%s%s\n", k->name, k->def[0] ? " " : "", k->def);
	}
}

void lw_config__print(const struct lw_config *c, FILE *f)
{
	char val[VAL_MAX];

	for (size_t i = 0; i < NKEYS; i++) {
		keys[i].type->format(&keys[i], c, val, sizeof(val));
		fprintf(f, "%s =%s%s\n", keys[i].name, val[0] ? " " : "", val);
	}
}
