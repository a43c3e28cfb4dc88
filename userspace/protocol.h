/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The control-socket protocol shared by leakwatchd and the leakwatch client: one JSON object per
 * line each way. Requests are validated completely here (size, version, command, argument types)
 * before anything is dispatched, so command handlers only ever see well-formed requests.
 *
 * Pure: no I/O, no global state; unit-tested without a daemon.
 */
#ifndef LW_PROTOCOL_H
#define LW_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#define LW_PROTO_VERSION	1
/* Longest request line, not counting its newline. */
#define LW_PROTO_MAX_REQUEST	(64 * 1024)
/* Largest "n" a request may ask for; bounds the size of any reply. */
#define LW_PROTO_MAX_N		10000
#define LW_PROTO_DEFAULT_N	20
#define LW_DEFAULT_SOCKET	"/run/leakwatch/leakwatchd.sock"

/*
 * Every command protocol version 1 knows. A daemon may not implement all of them (it answers
 * with an error), but a name outside this list is rejected while parsing.
 */
enum lw_cmd {
	LW_CMD_TOP = 0,
	LW_CMD_PROCS,
	LW_CMD_STACKS,
	LW_CMD_PPROF,
	LW_CMD_STATUS,
	LW_CMD_MAX,
};

struct lw_request {
	enum lw_cmd cmd;
	unsigned int n;		/* 0 when not given: the command picks its own default */
	pid_t pid;		/* 0 when not given */
};

const char *lw_cmd_name(enum lw_cmd cmd);
/* 0 and *cmd set, or -ENOENT for a name protocol version 1 does not know. */
int lw_cmd_from_name(const char *name, enum lw_cmd *cmd);

/*
 * Validate one request line (without its newline; a trailing "\r" is tolerated) into *req.
 * Keys other than "v", "cmd", "n" and "pid" are rejected, so a misspelt filter ("pids") fails
 * loudly instead of silently widening the answer. Returns 0, or -E2BIG for an oversized line and
 * -EINVAL otherwise, with a one-line reason in err.
 */
int lw_request__parse(const char *line, size_t len, struct lw_request *req, char *err,
		      size_t errlen);

/* Encode a request as a newline-terminated line (n and pid only when non-zero). malloc'd. */
char *lw_request__format(const struct lw_request *req);

/*
 * Reply lines, malloc'd, single-line JSON ending in "\n". lw_reply_ok() takes ownership of
 * result (also on failure). Both return NULL with errno set on failure.
 */
char *lw_reply_ok(json_t *result);
char *lw_reply_error(const char *msg);

/*
 * Decode a reply line. On {"ok": true} returns 0 and a new reference in *result; on
 * {"ok": false} returns -EREMOTEIO with the daemon's message in err; on anything malformed
 * returns -EPROTO (-EINVAL for a bad version) with a reason in err.
 */
int lw_reply__parse(const char *line, size_t len, json_t **result, char *err, size_t errlen);

/*
 * A JSON string for arbitrary bytes: null for NULL, and bytes that are not valid UTF-8 replaced
 * with '?' (jansson refuses them outright). NULL only when out of memory.
 */
json_t *lw_json_string(const char *s);

#endif /* LW_PROTOCOL_H */
