/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * leakwatchd's configuration: one table of keys (group, name, type, default, limits, help) in
 * config.c feeds the config file parser, command-line overrides, --config-help and the shipped
 * default file, so they cannot drift apart. Parsing is pure (no I/O) except lw_config__load_file.
 *
 * File format: one "key = value" per line; blank lines and lines whose first non-blank character
 * is '#' are ignored; whitespace around keys and values is trimmed; CRLF line endings are accepted.
 * A '#' after a value is part of the value (socket paths may contain one), so a trailing comment
 * makes the value invalid instead of silently changing it.
 *
 * Strictness: unknown keys, malformed or out-of-range values, trailing garbage, NaN/inf, overflow
 * and empty values (except "pid", where empty means every process) are errors. A key given twice
 * in one file is an error too: the second copy is almost always a forgotten edit, and "last wins"
 * would hide which one the daemon uses.
 *
 * Atomicity: every setter and loader works on a copy and writes the caller's struct only on
 * success, so a SIGHUP reload of a bad file keeps the running configuration.
 *
 * --config and --check are command-line only; every other option of leakwatchd is also a key.
 */
#ifndef LW_CONFIG_H
#define LW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define LW_CONFIG_DEFAULT_PATH "/etc/leakwatch/leakwatchd.conf"
#define LW_CONFIG_SOCKET_MAX 108	/* sizeof(((struct sockaddr_un *)0)->sun_path) */
#define LW_CONFIG_ADDR_MAX 264		/* "[" 253-byte host "]:" 5-digit port, NUL */
#define LW_CONFIG_WRAPPERS_MAX 512	/* the wrappers list, NUL included */
#define LW_CONFIG_MAX_PIDS 64
#define LW_CONFIG_ERR_MAX 512		/* a comfortable size for the err buffers below */

/* How the allocator probes are attached (the "attach" key). */
enum lw_attach_mode {
	LW_ATTACH_AUTO = 0,	/* uprobe_multi links where the kernel has them, else classic */
	LW_ATTACH_MULTI,	/* uprobe_multi links (Linux 6.6+): CAP_BPF + CAP_PERFMON */
	LW_ATTACH_CLASSIC,	/* perf-event uprobes: CAP_SYS_ADMIN */
};

/* Whether the allocator probes are session uprobes (the "session" key). */
enum lw_session_mode {
	LW_SESSION_AUTO = 0,	/* where the kernel has them (6.10+) and attach is multi */
	LW_SESSION_ON,		/* required: the daemon does not start without them */
	LW_SESSION_OFF,		/* separate entry and return probes */
};

struct lw_config {
	char socket[LW_CONFIG_SOCKET_MAX];	/* absolute path */
	double interval;			/* drain period, seconds */
	char metrics_addr[LW_CONFIG_ADDR_MAX];	/* "HOST:PORT", "[V6]:PORT", or "off" */
	bool metrics_off;			/* metrics_addr is "off" */
	uint32_t metrics_top_sites;		/* sites with their own series in /metrics */
	pid_t pids[LW_CONFIG_MAX_PIDS];		/* trace only these (and children) */
	unsigned int npids;			/* 0: trace every process */
	bool verbose;
	uint32_t max_allocations;		/* BPF live-allocation map entries */
	uint32_t max_sites;			/* BPF per-(process, stack) aggregate entries */
	uint32_t max_stacks;			/* BPF stack map entries */
	uint32_t stack_depth;			/* frames per stack, <= LW_MAX_STACK_DEPTH */
	enum lw_attach_mode attach;
	enum lw_session_mode session;
	uint64_t sample_bytes;			/* mean bytes between samples; 0: record all */
	bool python;				/* trace CPython's allocator with Python frames */
	bool mmap;				/* trace anonymous mappings (allocator "mmap") */
	char wrappers[LW_CONFIG_WRAPPERS_MAX];	/* extra allocation wrappers, comma-separated */
	uint32_t history;			/* samples kept per site series */
	uint32_t max_series;			/* site series kept in memory */
	uint64_t min_growth_bytes;		/* least net growth over window to call growth */
	uint64_t min_fragmentation_bytes;	/* least held-back memory to call fragmentation */
	double window;				/* trend test window, seconds */
	double significance;			/* trend test level, 0 < x < 0.5 */
	double warmup;				/* seconds before a verdict */
	double scan_interval;			/* allocation-table sweep period, seconds */
	double exited_retention;		/* seconds sites of exited processes stay */
};

/* The built-in defaults (the "default" column of the key table). */
void lw_config__defaults(struct lw_config *c);

/*
 * Set one key from its text value. err gets "KEY: what is wrong and what is allowed (got 'VAL')",
 * e.g. "interval: must be a number of seconds from 0.1 to 3600 (got 'abc')". The key may also be
 * spelled with dashes, as on the command line ("metrics-addr"). Returns 0, -ENOENT for an unknown
 * key, -EINVAL for a bad value; c is unchanged on error.
 */
int lw_config__set(struct lw_config *c, const char *key, const char *value, char *err,
		   size_t errlen);
/* The same from one "key=value" string (a -C key=value override). */
int lw_config__set_kv(struct lw_config *c, const char *kv, char *err, size_t errlen);

/*
 * Apply a whole file's text on top of c. fname only names the source in errors, which read
 * "FNAME:LINE: KEY: ...", e.g. "/etc/x.conf:12: interval: must be ..." or
 * "/etc/x.conf:3: unknown key 'intervall' (did you mean 'interval'?)". Returns 0 or -EINVAL;
 * c is unchanged on error. Only per-key limits are checked here; see lw_config__validate.
 */
int lw_config__parse_text(struct lw_config *c, const char *text, const char *fname, char *err,
			  size_t errlen);

/*
 * Read and apply a file (at most 1 MiB). A missing file is fine when !must_exist (c is left as
 * it is: built-in defaults if the caller started from them); with must_exist it is -ENOENT and an
 * error. Other failures: -errno from open/read, -EFBIG, -EINVAL. c is unchanged on error.
 */
int lw_config__load_file(struct lw_config *c, const char *path, bool must_exist, char *err,
			 size_t errlen);

/*
 * Checks that span keys, once every source (file, then command line) is applied: the window
 * must hold at least 3 intervals, and history x interval must cover the window. 0 or -EINVAL.
 */
int lw_config__validate(const struct lw_config *c, char *err, size_t errlen);

/*
 * Reports every key whose value differs between a and b (values formatted as in a config file)
 * and returns how many differ; fn may be NULL, so "lw_config__diff(a, b, NULL, NULL) == 0" is
 * equality. needs_restart marks keys the daemon applies only at start (BPF map sizes, the socket):
 * a SIGHUP reload should warn about those instead of pretending to apply them.
 */
typedef void (*lw_config_diff_fn)(void *ctx, const char *key, const char *old_val,
				  const char *new_val, bool needs_restart);
unsigned int lw_config__diff(const struct lw_config *a, const struct lw_config *b,
			     lw_config_diff_fn fn, void *ctx);

/*
 * Split a valid metrics_addr into host (brackets stripped for IPv6) and port; pure syntax, no
 * name resolution. 0, -EINVAL for bad syntax or "off", -ENAMETOOLONG if host does not fit.
 */
int lw_config__split_hostport(const char *addr, char *host, size_t hostlen, uint16_t *port);

/* --config-help: every key by group, with its type, default, allowed values and help. */
void lw_config__print_help(FILE *f);
/* The commented default file (systemd/leakwatchd.conf is exactly this output). */
void lw_config__print_default_file(FILE *f);
/* The effective configuration as a valid config file, one "key = value" per key (debug logs). */
void lw_config__print(const struct lw_config *c, FILE *f);

#endif /* LW_CONFIG_H */
