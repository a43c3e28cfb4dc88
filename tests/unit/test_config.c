// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Config table, parsers and the shipped default file. The shipped file is read from
 * $LW_SRCDIR/systemd/leakwatchd.conf (LW_SRCDIR defaults to ".", the repo root). When the table
 * changes, regenerate it with: LW_UPDATE_CONF=1 build/tests/test_config test_shipped_file
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

static char err[LW_CONFIG_ERR_MAX];

static bool same(const struct lw_config *a, const struct lw_config *b)
{
	return lw_config__diff(a, b, NULL, NULL) == 0;
}

/* key=val must be rejected with exactly msg (or, if msg ends with '*', a message starting so). */
static bool set_fails(const char *key, const char *val, const char *msg)
{
	struct lw_config c, orig;
	size_t n = strlen(msg);

	lw_config__defaults(&c);
	orig = c;
	err[0] = '\0';
	if (lw_config__set(&c, key, val, err, sizeof(err)) != -EINVAL) {
		fprintf(stderr, "%s = '%s' was accepted\n", key, val);
		return false;
	}
	if (msg[n - 1] == '*' ? strncmp(err, msg, n - 1) : strcmp(err, msg)) {
		fprintf(stderr, "%s = '%s': got \"%s\", want \"%s\"\n", key, val, err, msg);
		return false;
	}
	return same(&c, &orig);
}

static bool set_ok(struct lw_config *c, const char *key, const char *val)
{
	err[0] = '\0';
	if (lw_config__set(c, key, val, err, sizeof(err))) {
		fprintf(stderr, "%s = '%s' rejected: %s\n", key, val, err);
		return false;
	}
	return true;
}

static bool parse_fails(const char *text, const char *msg)
{
	struct lw_config c, orig;

	lw_config__defaults(&c);
	orig = c;
	if (lw_config__parse_text(&c, text, "x.conf", err, sizeof(err)) != -EINVAL) {
		fprintf(stderr, "accepted: %s\n", text);
		return false;
	}
	if (strcmp(err, msg)) {
		fprintf(stderr, "got \"%s\", want \"%s\"\n", err, msg);
		return false;
	}
	return same(&c, &orig);
}

static bool write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (!f)
		return NULL;
	do {
		char *nb = realloc(buf, cap + 4097);

		if (!nb) {
			free(buf);
			fclose(f);
			return NULL;
		}
		buf = nb;
		cap += 4096;
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static bool test_defaults(void)
{
	struct lw_config c;

	lw_config__defaults(&c);
	CHECK_STR(c.socket, "/run/leakwatch/leakwatchd.sock");
	CHECK(c.interval == 10);
	CHECK_STR(c.metrics_addr, "127.0.0.1:9464");
	CHECK(!c.metrics_off);
	CHECK(c.metrics_top_sites == 20);
	CHECK(c.npids == 0);
	CHECK(!c.verbose);
	CHECK(c.max_allocations == 1048576);
	CHECK(c.max_sites == 65536);
	CHECK(c.max_stacks == 65536);
	CHECK(c.stack_depth == 16);
	CHECK(c.history == 120);
	CHECK(c.max_series == 65536);
	CHECK(c.min_growth_bytes == 4096);
	CHECK(c.window == 60);
	CHECK(c.significance == 0.01);
	CHECK(c.warmup == 15);
	CHECK(c.scan_interval == 10);
	CHECK(c.exited_retention == 300);
	CHECK(lw_config__validate(&c, err, sizeof(err)) == 0);
	return true;
}

static bool test_path(void)
{
	struct lw_config c;
	char p[LW_CONFIG_SOCKET_MAX + 1];

	lw_config__defaults(&c);
	CHECK(set_ok(&c, "socket", "/tmp/lw.sock"));
	CHECK_STR(c.socket, "/tmp/lw.sock");
	memset(p, 'a', sizeof(p));
	p[0] = '/';
	p[LW_CONFIG_SOCKET_MAX - 1] = '\0';	/* 107 bytes: fits sun_path with its NUL */
	CHECK(set_ok(&c, "socket", p));
	CHECK_STR(c.socket, p);
	p[LW_CONFIG_SOCKET_MAX - 1] = 'a';
	p[LW_CONFIG_SOCKET_MAX] = '\0';
	CHECK(set_fails("socket", p, "socket: must be shorter than 108 bytes, the limit of a Unix "
			"socket address (got 108 bytes) (got '/aaa*"));
	CHECK(set_fails("socket", "run/x.sock",
			"socket: must be an absolute path shorter than 108 bytes (got 'run/x.sock')"));
	CHECK(set_fails("socket", "", "socket: must be an absolute path*"));
	CHECK(set_fails("socket", "/a\tb", "socket: must not contain control characters (got "
			"'/a?b')"));
	return true;
}

static bool test_seconds(void)
{
	static const char *const bad[] = {
		"abc", "10s", "0.09", "3601", "nan", "NaN", "inf", "-inf", "1e999", "", " 5", "5 ",
		"0x10", "1e-400", "--1", "1.2.3", "e5", ".", "-1",
	};
	struct lw_config c;

	lw_config__defaults(&c);
	CHECK(set_ok(&c, "interval", "0.1"));
	CHECK(c.interval == 0.1);
	CHECK(set_ok(&c, "interval", "2.5"));
	CHECK(c.interval == 2.5);
	CHECK(set_ok(&c, "interval", "3600"));
	CHECK(set_ok(&c, "interval", "1e1"));
	CHECK(c.interval == 10);
	CHECK(set_ok(&c, "interval", "+.5"));
	CHECK(c.interval == 0.5);
	CHECK(set_fails("interval", "abc",
			"interval: must be a number of seconds from 0.1 to 3600 (got 'abc')"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(set_fails("interval", bad[i], "interval: must be a number of seconds*"));
	CHECK(set_ok(&c, "warmup", "0"));
	CHECK(set_ok(&c, "exited_retention", "0"));
	CHECK(set_fails("window", "0.5",
			"window: must be a number of seconds from 1 to 86400 (got '0.5')"));
	CHECK(set_fails("scan_interval", "0", "scan_interval: must be a number of seconds*"));
	/* Open interval on both ends. */
	CHECK(set_ok(&c, "significance", "0.049"));
	CHECK(c.significance == 0.049);
	CHECK(set_ok(&c, "significance", "1e-9"));
	CHECK(set_fails("significance", "0", "significance: must be a number greater than 0 and "
			"less than 0.5 (got '0')"));
	CHECK(set_fails("significance", "0.5", "significance: must be a number greater than 0*"));
	return true;
}

static bool test_integers(void)
{
	struct lw_config c;

	lw_config__defaults(&c);
	CHECK(set_ok(&c, "max_allocations", "1024"));
	CHECK(c.max_allocations == 1024);
	CHECK(set_ok(&c, "max_allocations", "67108864"));
	CHECK(c.max_allocations == 67108864);
	CHECK(set_ok(&c, "max_allocations", "0002048"));
	CHECK(c.max_allocations == 2048);
	CHECK(set_fails("max_allocations", "1023", "max_allocations: must be an integer from 1024 "
			"to 67108864 (got '1023')"));
	CHECK(set_fails("max_allocations", "67108865", "max_allocations: must be an integer*"));
	CHECK(set_fails("max_allocations", "99999999999999999999999", "max_allocations: must*"));
	CHECK(set_fails("max_allocations", "4294968320", "max_allocations: must*"));	/* 2^32+1024 */
	static const char *const bad[] = { "1e6", "+2048", "-1", "0x400", "2048 ", "2k", "", "2048.0" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(set_fails("max_allocations", bad[i], "max_allocations: must be an integer*"));
	CHECK(set_ok(&c, "stack_depth", "32"));
	CHECK(set_ok(&c, "stack_depth", "1"));
	CHECK(set_fails("stack_depth", "33", "stack_depth: must be an integer from 1 to 32 (got "
			"'33')"));
	CHECK(set_fails("stack_depth", "0", "stack_depth: must*"));
	CHECK(set_ok(&c, "max_sites", "256"));
	CHECK(set_ok(&c, "max_stacks", "4194304"));
	CHECK(set_fails("max_stacks", "4194305", "max_stacks: must be an integer from 256 to "
			"4194304 (got '4194305')"));
	CHECK(set_ok(&c, "history", "8"));
	CHECK(set_fails("history", "4097", "history: must*"));
	CHECK(set_ok(&c, "max_series", "64"));
	CHECK(set_fails("max_series", "63", "max_series: must*"));
	CHECK(set_ok(&c, "metrics_top_sites", "0"));
	CHECK(set_ok(&c, "metrics-top-sites", "10000"));
	CHECK(c.metrics_top_sites == 10000);
	CHECK(set_fails("metrics_top_sites", "10001", "metrics_top_sites: must be an integer from 0 "
			"to 10000 (got '10001')"));

	CHECK(set_ok(&c, "min_growth_bytes", "0"));
	CHECK(c.min_growth_bytes == 0);
	CHECK(set_ok(&c, "min_growth_bytes", "1125899906842624"));
	CHECK(c.min_growth_bytes == 1125899906842624ULL);
	CHECK(set_fails("min_growth_bytes", "1125899906842625", "min_growth_bytes: must be a number "
			"of bytes from 0 to 1125899906842624 (got '1125899906842625')"));
	CHECK(set_fails("min_growth_bytes", "18446744073709551616", "min_growth_bytes: must*"));
	CHECK(set_fails("min_growth_bytes", "4K", "min_growth_bytes: must*"));
	return true;
}

static bool test_bool(void)
{
	static const char *const yes[] = { "true", "yes", "on", "1", "TRUE", "Yes" };
	static const char *const no[] = { "false", "no", "off", "0", "OFF" };
	struct lw_config c;

	lw_config__defaults(&c);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		c.verbose = false;
		CHECK(set_ok(&c, "verbose", yes[i]));
		CHECK(c.verbose);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		c.verbose = true;
		CHECK(set_ok(&c, "verbose", no[i]));
		CHECK(!c.verbose);
	}
	CHECK(set_fails("verbose", "maybe", "verbose: must be true or false (also yes/no, on/off, "
			"1/0) (got 'maybe')"));
	CHECK(set_fails("verbose", "", "verbose: must*"));
	CHECK(set_fails("verbose", "2", "verbose: must*"));
	CHECK(set_fails("verbose", "true ", "verbose: must*"));
	return true;
}

static bool test_metrics_addr(void)
{
	static const char *const good[] = {
		"127.0.0.1:9464", "0.0.0.0:1", "[::1]:9464", "[::]:65535", "localhost:80",
		"metrics.example-1.org:8080", "[fe80::1:2]:9100",
	};
	static const struct {
		const char *val, *msg;
	} bad[] = {
		{ "::1:9464", "metrics_addr: IPv6 addresses need brackets, as in [::1]:9464 (got "
			      "'::1:9464')" },
		{ "127.0.0.1", "metrics_addr: missing ':PORT'; must be HOST:PORT, [IPv6]:PORT or off "
			       "(got '127.0.0.1')" },
		{ "127.0.0.1:0", "metrics_addr: port must be from 1 to 65535 (got '127.0.0.1:0')" },
		{ "127.0.0.1:65536", "metrics_addr: port must be from 1 to 65535*" },
		{ "127.0.0.1:", "metrics_addr: port must be*" },
		{ "127.0.0.1:80x", "metrics_addr: port must be*" },
		{ "127.0.0.1:+80", "metrics_addr: port must be*" },
		{ "256.0.0.1:80", "metrics_addr: '256.0.0.1' is not an IPv4 address*" },
		{ "1.2.3:80", "metrics_addr: '1.2.3' is not an IPv4 address*" },
		{ "[::1]9464", "metrics_addr: expected ':PORT' after ']'*" },
		{ "[::1:9464", "metrics_addr: missing ']' after the IPv6 address*" },
		{ "[zz]:80", "metrics_addr: 'zz' is not an IPv6 address*" },
		{ "[127.0.0.1]:80", "metrics_addr: '127.0.0.1' is not an IPv6 address*" },
		{ ":80", "metrics_addr: missing host (0.0.0.0 or [::] listen on every address)*" },
		{ "host_x:80", "metrics_addr: 'host_x' is not a valid host name*" },
		{ "-a:80", "metrics_addr: '-a' is not a valid host name*" },
		{ "a-:80", "metrics_addr: 'a-' is not a valid host name*" },
		{ "a..b:80", "metrics_addr: 'a..b' is not a valid host name*" },
		{ "a b:80", "metrics_addr: 'a b' is not a valid host name*" },
		{ "", "metrics_addr: must be HOST:PORT, [IPv6]:PORT (port 1 to 65535) or off (got '')" },
		{ "OFF", "metrics_addr: missing ':PORT'*" },
	};
	struct lw_config c;
	char host[64];
	uint16_t port;

	lw_config__defaults(&c);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECK(set_ok(&c, "metrics_addr", good[i]));
		CHECK_STR(c.metrics_addr, good[i]);
		CHECK(!c.metrics_off);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(set_fails("metrics_addr", bad[i].val, bad[i].msg));
	CHECK(set_ok(&c, "metrics_addr", "off"));
	CHECK(c.metrics_off);
	CHECK_STR(c.metrics_addr, "off");
	CHECK(set_ok(&c, "metrics_addr", "127.0.0.1:1"));
	CHECK(!c.metrics_off);

	CHECK(lw_config__split_hostport("[::1]:9464", host, sizeof(host), &port) == 0);
	CHECK_STR(host, "::1");
	CHECK(port == 9464);
	CHECK(lw_config__split_hostport("localhost:80", host, sizeof(host), &port) == 0);
	CHECK_STR(host, "localhost");
	CHECK(port == 80);
	CHECK(lw_config__split_hostport("off", host, sizeof(host), &port) == -EINVAL);
	CHECK(lw_config__split_hostport("x:0", host, sizeof(host), &port) == -EINVAL);
	CHECK(lw_config__split_hostport("localhost:80", host, 9, &port) == -ENAMETOOLONG);
	return true;
}

static bool test_pids(void)
{
	struct lw_config c;
	char list[LW_CONFIG_MAX_PIDS * 8 + 16];
	size_t off = 0;

	lw_config__defaults(&c);
	CHECK(set_ok(&c, "pid", "1,22, 333 ,4194304"));
	CHECK(c.npids == 4);
	CHECK(c.pids[0] == 1 && c.pids[1] == 22 && c.pids[2] == 333 && c.pids[3] == 4194304);
	CHECK(set_ok(&c, "pid", "7"));
	CHECK(c.npids == 1 && c.pids[0] == 7 && c.pids[1] == 0);
	CHECK(set_ok(&c, "pid", ""));
	CHECK(c.npids == 0);
	CHECK(set_fails("pid", "0", "pid: '0' is not a process ID from 1 to 4194304 (got '0')"));
	CHECK(set_fails("pid", "-1", "pid: '-1' is not a process ID*"));
	CHECK(set_fails("pid", "4194305", "pid: '4194305' is not a process ID*"));
	CHECK(set_fails("pid", "12x", "pid: '12x' is not a process ID*"));
	CHECK(set_fails("pid", "1,,2", "pid: empty entry in the list (got '1,,2')"));
	CHECK(set_fails("pid", "1,", "pid: empty entry in the list*"));
	CHECK(set_fails("pid", ",1", "pid: empty entry in the list*"));
	CHECK(set_fails("pid", " ", "pid: empty entry in the list*"));
	CHECK(set_fails("pid", "5,6,5", "pid: process ID 5 is listed twice*"));
	CHECK(set_fails("pid", "99999999999999999999999", "pid: '9999*"));

	for (int i = 1; i <= LW_CONFIG_MAX_PIDS; i++)
		off += snprintf(list + off, sizeof(list) - off, "%s%d", i > 1 ? "," : "", i);
	CHECK(set_ok(&c, "pid", list));
	CHECK(c.npids == LW_CONFIG_MAX_PIDS && c.pids[LW_CONFIG_MAX_PIDS - 1] == 64);
	snprintf(list + off, sizeof(list) - off, ",65");
	CHECK(set_fails("pid", list, "pid: at most 64 process IDs are allowed*"));
	return true;
}

static bool test_set_keys(void)
{
	struct lw_config c, orig;

	lw_config__defaults(&c);
	orig = c;
	CHECK(lw_config__set(&c, "intervall", "5", err, sizeof(err)) == -ENOENT);
	CHECK_STR(err, "unknown key 'intervall' (did you mean 'interval'?)");
	CHECK(lw_config__set(&c, "frobnicate", "5", err, sizeof(err)) == -ENOENT);
	CHECK_STR(err, "unknown key 'frobnicate' (leakwatchd --config-help lists them)");
	CHECK(same(&c, &orig));
	/* The command-line spelling is accepted by the setter. */
	CHECK(set_ok(&c, "metrics-addr", "off"));
	CHECK(c.metrics_off);
	CHECK(set_ok(&c, "scan-interval", "5"));
	CHECK(c.scan_interval == 5);

	CHECK(lw_config__set_kv(&c, "window=120", err, sizeof(err)) == 0);
	CHECK(c.window == 120);
	CHECK(lw_config__set_kv(&c, " history = 200 ", err, sizeof(err)) == 0);
	CHECK(c.history == 200);
	CHECK(lw_config__set_kv(&c, "history", err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "expected KEY=VALUE (got 'history')");
	CHECK(lw_config__set_kv(&c, "=5", err, sizeof(err)) == -ENOENT);
	CHECK(lw_config__set_kv(&c, "history=1", err, sizeof(err)) == -EINVAL);
	CHECK(c.history == 200);
	/* A NULL or zero-length error buffer is allowed. */
	CHECK(lw_config__set(&c, "history", "1", NULL, 0) == -EINVAL);
	return true;
}

static bool test_parse_text(void)
{
	struct lw_config c, want;
	const char *text =
		"# leading comment\n"
		"\n"
		"   \t\n"
		"interval = 2.5\n"
		"  # indented comment = not a key\n"
		"\tsocket=/tmp/a b#c.sock   \n"
		"pid =\n"
		"metrics_addr    =    [::1]:9100\n"
		"verbose = yes\n"
		"max_sites = 4096";		/* no final newline */

	lw_config__defaults(&c);
	lw_config__defaults(&want);
	CHECK(lw_config__parse_text(&c, text, "x.conf", err, sizeof(err)) == 0);
	CHECK(c.interval == 2.5);
	CHECK_STR(c.socket, "/tmp/a b#c.sock");	/* '#' inside a value is the value's */
	CHECK(c.npids == 0);
	CHECK_STR(c.metrics_addr, "[::1]:9100");
	CHECK(c.verbose);
	CHECK(c.max_sites == 4096);
	CHECK(lw_config__diff(&want, &c, NULL, NULL) == 5);

	/* CRLF endings, a UTF-8 BOM, and an empty text. */
	lw_config__defaults(&c);
	CHECK(lw_config__parse_text(&c, "\xef\xbb\xbf# x\r\nwindow = 30\r\n\r\nwarmup=1\r\n", "x.conf",
				    err, sizeof(err)) == 0);
	CHECK(c.window == 30 && c.warmup == 1);
	CHECK(lw_config__parse_text(&c, "", "x.conf", err, sizeof(err)) == 0);
	CHECK(c.window == 30);
	return true;
}

static bool test_parse_errors(void)
{
	struct lw_config c;
	char big[5000];

	CHECK(parse_fails("# c\nwindow = 5\n\ninterval = abc\n",
			  "x.conf:4: interval: must be a number of seconds from 0.1 to 3600 "
			  "(got 'abc')"));
	CHECK(parse_fails("window = 30\nintervall = 5\n",
			  "x.conf:2: unknown key 'intervall' (did you mean 'interval'?)"));
	CHECK(parse_fails("metrics-addr = off\n",
			  "x.conf:1: unknown key 'metrics-addr' (did you mean 'metrics_addr'?)"));
	CHECK(parse_fails("Verbose = 1\n",
			  "x.conf:1: unknown key 'Verbose' (did you mean 'verbose'?)"));
	/* Duplicates are errors: a second copy is usually a forgotten edit. */
	CHECK(parse_fails("\ninterval = 5\nwindow = 60\ninterval = 5\n",
			  "x.conf:4: interval: set twice (first on line 2)"));
	CHECK(parse_fails("interval 5\n", "x.conf:1: expected 'key = value' (got 'interval 5')"));
	CHECK(parse_fails("= 5\n", "x.conf:1: missing key before '='"));
	CHECK(parse_fails("interval =\n", "x.conf:1: interval: must be a number of seconds from "
			  "0.1 to 3600 (got '')"));
	CHECK(parse_fails("interval = 5 # five\n", "x.conf:1: interval: must be a number of "
			  "seconds from 0.1 to 3600 (got '5 # five')"));
	CHECK(parse_fails("interval = 5\r\nwindow = x\r\n",
			  "x.conf:2: window: must be a number of seconds from 1 to 86400 (got 'x')"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(parse_fails(big, "x.conf:1: line longer than 4095 bytes"));

	lw_config__defaults(&c);
	CHECK(lw_config__parse_text(&c, "x", NULL, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "config:1: expected 'key = value' (got 'x')");
	return true;
}

/* A failed parse or load leaves the config exactly as it was, even after good lines. */
static bool test_atomic(void)
{
	struct lw_config c, orig;
	char path[] = "/tmp/lw-test-config-XXXXXX";
	const char *text = "interval = 1\nverbose = on\npid = 5,6\nmax_sites = 1\n";
	int fd;

	lw_config__defaults(&c);
	CHECK(set_ok(&c, "window", "120"));
	orig = c;
	CHECK(lw_config__parse_text(&c, text, "x.conf", err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "x.conf:4: max_sites: "));
	CHECK(same(&c, &orig));
	CHECK(c.window == 120 && c.interval == 10 && !c.verbose && c.npids == 0);

	fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	CHECK(write_file(path, text, strlen(text)));
	CHECK(lw_config__load_file(&c, path, true, err, sizeof(err)) == -EINVAL);
	unlink(path);
	CHECK(!strncmp(err, path, strlen(path)) && strstr(err, ":4: max_sites: must be"));
	CHECK(same(&c, &orig));
	return true;
}

static bool test_load_file(void)
{
	struct lw_config c, orig;
	char path[] = "/tmp/lw-test-config-XXXXXX", want[128];
	char *big;
	int fd;

	lw_config__defaults(&c);
	CHECK(set_ok(&c, "verbose", "on"));
	orig = c;

	/* Missing: fine for the default path, an error for a file the user named. */
	CHECK(lw_config__load_file(&c, "/nonexistent/leakwatchd.conf", false, err, sizeof(err)) ==
	      0);
	CHECK(same(&c, &orig));
	CHECK(lw_config__load_file(&c, "/nonexistent/leakwatchd.conf", true, err, sizeof(err)) ==
	      -ENOENT);
	CHECK_STR(err, "/nonexistent/leakwatchd.conf: cannot open config file: No such file or "
		  "directory");
	CHECK(same(&c, &orig));

	CHECK(lw_config__load_file(&c, "/tmp", true, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "/tmp: not a regular file");

	fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	CHECK(write_file(path, "interval = 0.5\r\nverbose = off\r\n", 31));
	CHECK(lw_config__load_file(&c, path, true, err, sizeof(err)) == 0);
	CHECK(c.interval == 0.5 && !c.verbose);

	c = orig;
	CHECK(write_file(path, "interval = 5\n\0verbose = 1\n", 26));
	CHECK(lw_config__load_file(&c, path, true, err, sizeof(err)) == -EINVAL);
	snprintf(want, sizeof(want), "%s: contains a NUL byte; not a text file?", path);
	CHECK_STR(err, want);
	CHECK(same(&c, &orig));

	big = malloc((1 << 20) + 2);
	CHECK(big);
	memset(big, '#', (1 << 20) + 1);
	bool wrote = write_file(path, big, (1 << 20) + 1);

	free(big);
	CHECK(wrote);
	CHECK(lw_config__load_file(&c, path, true, err, sizeof(err)) == -EFBIG);
	CHECK(same(&c, &orig));

	CHECK(write_file(path, "", 0));
	CHECK(lw_config__load_file(&c, path, true, err, sizeof(err)) == 0);
	CHECK(same(&c, &orig));
	unlink(path);
	return true;
}

static bool test_validate(void)
{
	struct lw_config c;

	lw_config__defaults(&c);
	CHECK(set_ok(&c, "interval", "20.5"));
	CHECK(lw_config__validate(&c, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "window (60 s) must hold at least 3 intervals (interval is 20.5 s): raise "
		  "window or lower interval");
	CHECK(set_ok(&c, "interval", "20"));
	CHECK(lw_config__validate(&c, err, sizeof(err)) == 0);

	lw_config__defaults(&c);
	CHECK(set_ok(&c, "interval", "0.1"));
	CHECK(set_ok(&c, "window", "1"));
	CHECK(set_ok(&c, "history", "10"));
	CHECK(lw_config__validate(&c, err, sizeof(err)) == 0);
	CHECK(set_ok(&c, "history", "9"));
	CHECK(lw_config__validate(&c, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "history (9 samples x interval 0.1 s = 0.9 s) must cover window (1 s): "
		  "raise history or lower window");

	/* Values filled in by code get the same limits as parsed ones. */
	lw_config__defaults(&c);
	c.stack_depth = 64;
	CHECK(lw_config__validate(&c, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "stack_depth: must be an integer from 1 to 32 (got '64')");
	lw_config__defaults(&c);
	c.npids = 65;
	CHECK(lw_config__validate(&c, err, sizeof(err)) == -EINVAL);
	return true;
}

struct diff_rec {
	unsigned int n, restart;
	char keys[256];
};

static void diff_cb(void *ctx, const char *key, const char *old_val, const char *new_val,
		    bool needs_restart)
{
	struct diff_rec *r = ctx;
	size_t len = strlen(r->keys);

	snprintf(r->keys + len, sizeof(r->keys) - len, "%s:%s->%s;", key, old_val, new_val);
	r->n++;
	r->restart += needs_restart;
}

static bool test_diff_and_print(void)
{
	struct lw_config a, b, c;
	struct diff_rec r = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	lw_config__defaults(&a);
	b = a;
	CHECK(lw_config__diff(&a, &b, diff_cb, &r) == 0 && r.n == 0);
	CHECK(set_ok(&b, "interval", "0.3"));
	CHECK(set_ok(&b, "max_allocations", "2048"));
	CHECK(set_ok(&b, "pid", "3,4"));
	CHECK(lw_config__diff(&a, &b, diff_cb, &r) == 3);
	CHECK_STR(r.keys, "interval:10->0.3;pid:->3,4;max_allocations:1048576->2048;");
	CHECK(r.restart == 2);

	/* print() writes a config file that reads back to the same values. */
	CHECK(set_ok(&b, "significance", "0.012345678901"));
	CHECK(set_ok(&b, "metrics_addr", "off"));
	f = open_memstream(&buf, &len);
	CHECK(f);
	lw_config__print(&b, f);
	fclose(f);
	CHECK(strstr(buf, "interval = 0.3\n"));
	CHECK(strstr(buf, "pid = 3,4\n"));
	lw_config__defaults(&c);
	int ret = lw_config__parse_text(&c, buf, "print", err, sizeof(err));

	free(buf);
	CHECK(ret == 0);
	CHECK(same(&b, &c));
	CHECK(c.metrics_off);
	return true;
}

static bool test_help(void)
{
	static const char *const want[] = {
		"[daemon]", "[bpf]", "[analysis]",
		"  socket = PATH (default: /run/leakwatch/leakwatchd.sock)\n",
		"  interval = SECONDS (default: 10)\n",
		"  pid = PID[,PID...] (default: empty)\n",
		"  metrics_addr = HOST:PORT|off (default: 127.0.0.1:9464)\n",
		"Allowed: a number greater than 0 and less than 0.5.",
		"Allowed: an integer from 1024 to 67108864. Takes effect on restart",
		"  exited_retention = SECONDS (default: 300)\n",
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f);
	lw_config__print_help(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(buf, want[i])) {
			fprintf(stderr, "help lacks \"%s\"\n", want[i]);
			free(buf);
			return false;
		}
	}
	/* No line wider than 100 columns. */
	for (char *p = buf, *nl; (nl = strchr(p, '\n')); p = nl + 1)
		CHECK(nl - p <= 100);
	free(buf);
	return true;
}

/*
 * The shipped file must be exactly what the table generates, must load to the defaults as
 * shipped, and must give the defaults again with every "#key = value" line uncommented.
 */
static bool test_shipped_file(void)
{
	const char *dir = getenv("LW_SRCDIR") ? getenv("LW_SRCDIR") : ".";
	struct lw_config c, def;
	char path[4096], *gen = NULL, *file, *uncommented;
	size_t glen = 0, flen, j = 0;
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/systemd/leakwatchd.conf", dir);
	f = open_memstream(&gen, &glen);
	CHECK(f);
	lw_config__print_default_file(f);
	fclose(f);
	if (getenv("LW_UPDATE_CONF") && !write_file(path, gen, glen)) {
		free(gen);
		return false;
	}

	file = read_all(path, &flen);
	ok = file && flen == glen && !memcmp(file, gen, glen);
	free(gen);
	if (!ok) {
		fprintf(stderr, "%s is out of date; regenerate it with: LW_UPDATE_CONF=1 "
			"build/tests/test_config test_shipped_file\n", path);
		free(file);
		return false;
	}
	free(file);

	lw_config__defaults(&def);
	lw_config__defaults(&c);
	CHECK(set_ok(&c, "verbose", "on"));
	CHECK(lw_config__load_file(&c, path, true, err, sizeof(err)) == 0);
	CHECK(c.verbose);	/* everything is commented out: nothing changes */
	c.verbose = false;
	CHECK(same(&c, &def));

	/* Every key is there, and its commented value is the default. */
	file = read_all(path, &flen);
	CHECK(file);
	uncommented = malloc(flen + 1);
	CHECK(uncommented);
	for (size_t i = 0; i < flen; i++) {
		bool line_start = i == 0 || file[i - 1] == '\n';

		if (line_start && file[i] == '#' && file[i + 1] >= 'a' && file[i + 1] <= 'z')
			continue;
		uncommented[j++] = file[i];
	}
	uncommented[j] = '\0';
	free(file);
	memset(&c, 0, sizeof(c));
	int ret = lw_config__parse_text(&c, uncommented, path, err, sizeof(err));

	free(uncommented);
	if (ret)
		fprintf(stderr, "%s\n", err);
	CHECK(ret == 0);
	CHECK(same(&c, &def));
	CHECK(lw_config__diff(&c, &(struct lw_config){ 0 }, NULL, NULL) > 10);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_defaults), UNIT_TEST(test_path), UNIT_TEST(test_seconds),
	  UNIT_TEST(test_integers), UNIT_TEST(test_bool), UNIT_TEST(test_metrics_addr),
	  UNIT_TEST(test_pids), UNIT_TEST(test_set_keys), UNIT_TEST(test_parse_text),
	  UNIT_TEST(test_parse_errors), UNIT_TEST(test_atomic), UNIT_TEST(test_load_file),
	  UNIT_TEST(test_validate), UNIT_TEST(test_diff_and_print), UNIT_TEST(test_help),
	  UNIT_TEST(test_shipped_file))
