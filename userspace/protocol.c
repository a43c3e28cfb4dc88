// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

static const char *const cmd_names[LW_CMD_MAX] = {
	[LW_CMD_TOP] = "top",
	[LW_CMD_PROCS] = "procs",
	[LW_CMD_STACKS] = "stacks",
	[LW_CMD_PPROF] = "pprof",
	[LW_CMD_STATUS] = "status",
};

/*
 * Reals keep 15 significant digits: enough for any rate or age we report, and unlike jansson's
 * default of 17 it prints 0.99 as 0.99. No JSON_INDENT: the line stays on one line.
 */
#define LINE_FLAGS JSON_REAL_PRECISION(15)

const char *lw_cmd_name(enum lw_cmd cmd)
{
	return (unsigned int)cmd < LW_CMD_MAX ? cmd_names[cmd] : "unknown";
}

int lw_cmd_from_name(const char *name, enum lw_cmd *cmd)
{
	for (unsigned int i = 0; i < LW_CMD_MAX; i++) {
		if (!strcmp(name, cmd_names[i])) {
			*cmd = i;
			return 0;
		}
	}
	return -ENOENT;
}

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* A JSON integer in [1, max]: 1 when it is, 0 when it is no integer or < 1, -1 when > max. */
static int get_positive(json_t *v, long long max, long long *out)
{
	long long x;

	if (!json_is_integer(v))
		return 0;
	x = json_integer_value(v);
	if (x < 1)
		return 0;
	if (x > max)
		return -1;
	*out = x;
	return 1;
}

static int parse_obj(json_t *root, struct lw_request *req, char *err, size_t errlen)
{
	json_t *v, *cmd, *n, *pid, *val;
	const char *key;
	long long x;
	int ret;

	if (!json_is_object(root))
		return fail(err, errlen, -EINVAL, "request must be a JSON object");

	/* The version first: a newer client's request may carry keys this version does not know. */
	v = json_object_get(root, "v");
	if (!v)
		return fail(err, errlen, -EINVAL, "missing 'v' (protocol version, must be %d)",
			    LW_PROTO_VERSION);
	if (!json_is_integer(v))
		return fail(err, errlen, -EINVAL, "'v' must be the integer %d", LW_PROTO_VERSION);
	if (json_integer_value(v) != LW_PROTO_VERSION)
		return fail(err, errlen, -EINVAL,
			    "unsupported protocol version %lld (this daemon speaks %d)",
			    (long long)json_integer_value(v), LW_PROTO_VERSION);

	json_object_foreach(root, key, val) {
		if (strcmp(key, "v") && strcmp(key, "cmd") && strcmp(key, "n") &&
		    strcmp(key, "pid"))
			return fail(err, errlen, -EINVAL, "unknown key '%.64s'", key);
	}

	cmd = json_object_get(root, "cmd");
	if (!cmd)
		return fail(err, errlen, -EINVAL, "missing 'cmd'");
	if (!json_is_string(cmd))
		return fail(err, errlen, -EINVAL, "'cmd' must be a string");
	if (lw_cmd_from_name(json_string_value(cmd), &req->cmd))
		return fail(err, errlen, -EINVAL, "unknown command '%.64s'",
			    json_string_value(cmd));

	n = json_object_get(root, "n");
	if (n) {
		ret = get_positive(n, LW_PROTO_MAX_N, &x);
		if (ret == 0)
			return fail(err, errlen, -EINVAL, "'n' must be a positive integer");
		if (ret < 0)
			return fail(err, errlen, -EINVAL, "'n' must be at most %d", LW_PROTO_MAX_N);
		req->n = x;
	}

	pid = json_object_get(root, "pid");
	if (pid) {
		if (get_positive(pid, INT_MAX, &x) != 1)
			return fail(err, errlen, -EINVAL, "'pid' must be a positive integer");
		req->pid = x;
	}
	return 0;
}

int lw_request__parse(const char *line, size_t len, struct lw_request *req, char *err,
		      size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	int ret;

	memset(req, 0, sizeof(*req));
	if (errlen)
		err[0] = '\0';
	if (len > LW_PROTO_MAX_REQUEST)
		return fail(err, errlen, -E2BIG, "request longer than %d bytes",
			    LW_PROTO_MAX_REQUEST);
	/* Hand-typed requests (nc, socat) may end in CRLF. */
	if (len && line[len - 1] == '\r')
		len--;
	if (!len)
		return fail(err, errlen, -EINVAL, "empty request");

	/* Duplicate keys would make {"cmd":"status","cmd":"top"} mean whatever the parser picks. */
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(err, errlen, -EINVAL, "invalid JSON at column %d: %s", jerr.column,
			    jerr.text);
	ret = parse_obj(root, req, err, errlen);
	json_decref(root);
	if (ret)
		memset(req, 0, sizeof(*req));
	return ret;
}

/* Dump one object as a single line ending in "\n"; consumes the reference. */
static char *dump_line(json_t *obj)
{
	char *s, *line;
	size_t len;

	if (!obj) {
		errno = ENOMEM;
		return NULL;
	}
	s = json_dumps(obj, LINE_FLAGS);
	json_decref(obj);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	len = strlen(s);
	line = realloc(s, len + 2);
	if (!line) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	line[len] = '\n';
	line[len + 1] = '\0';
	return line;
}

char *lw_request__format(const struct lw_request *req)
{
	json_t *obj = json_object();

	if (!obj || (unsigned int)req->cmd >= LW_CMD_MAX) {
		json_decref(obj);
		errno = obj ? EINVAL : ENOMEM;
		return NULL;
	}
	if (json_object_set_new(obj, "v", json_integer(LW_PROTO_VERSION)) ||
	    json_object_set_new(obj, "cmd", json_string(cmd_names[req->cmd])) ||
	    (req->n && json_object_set_new(obj, "n", json_integer(req->n))) ||
	    (req->pid && json_object_set_new(obj, "pid", json_integer(req->pid)))) {
		json_decref(obj);
		errno = ENOMEM;
		return NULL;
	}
	return dump_line(obj);
}

char *lw_reply_ok(json_t *result)
{
	json_t *obj;

	if (!result) {
		errno = EINVAL;
		return NULL;
	}
	obj = json_object();
	if (!obj) {
		json_decref(result);
		errno = ENOMEM;
		return NULL;
	}
	/* json_object_set_new() drops the value's reference on failure too. */
	if (json_object_set_new(obj, "v", json_integer(LW_PROTO_VERSION)) ||
	    json_object_set_new(obj, "ok", json_true()) ||
	    json_object_set_new(obj, "result", result)) {
		json_decref(obj);
		errno = ENOMEM;
		return NULL;
	}
	return dump_line(obj);
}

char *lw_reply_error(const char *msg)
{
	json_t *obj = json_object();

	if (!obj) {
		errno = ENOMEM;
		return NULL;
	}
	if (json_object_set_new(obj, "v", json_integer(LW_PROTO_VERSION)) ||
	    json_object_set_new(obj, "ok", json_false()) ||
	    json_object_set_new(obj, "error", lw_json_string(msg ? msg : "error"))) {
		json_decref(obj);
		errno = ENOMEM;
		return NULL;
	}
	return dump_line(obj);
}

int lw_reply__parse(const char *line, size_t len, json_t **result, char *err, size_t errlen)
{
	json_t *root, *v, *ok, *val;
	json_error_t jerr;
	int ret = -EPROTO;

	*result = NULL;
	if (errlen)
		err[0] = '\0';
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	root = json_loadb(line, len, 0, &jerr);
	if (!root)
		return fail(err, errlen, -EPROTO, "malformed reply: %s", jerr.text);
	if (!json_is_object(root)) {
		fail(err, errlen, ret, "malformed reply: not a JSON object");
		goto out;
	}
	v = json_object_get(root, "v");
	if (!json_is_integer(v) || json_integer_value(v) != LW_PROTO_VERSION) {
		ret = fail(err, errlen, -EINVAL, "daemon speaks another protocol version");
		goto out;
	}
	ok = json_object_get(root, "ok");
	if (!json_is_boolean(ok)) {
		fail(err, errlen, ret, "malformed reply: no 'ok'");
		goto out;
	}
	if (json_is_false(ok)) {
		val = json_object_get(root, "error");
		ret = fail(err, errlen, -EREMOTEIO, "%s",
			   json_is_string(val) ? json_string_value(val) : "unspecified error");
		goto out;
	}
	val = json_object_get(root, "result");
	if (!val) {
		fail(err, errlen, ret, "malformed reply: no 'result'");
		goto out;
	}
	*result = json_incref(val);
	ret = 0;
out:
	json_decref(root);
	return ret;
}

/*
 * Length of the well-formed UTF-8 sequence at s (1..4), or 0 when the bytes there are not one.
 * Same rules as jansson: no overlong forms, no surrogates, nothing above U+10FFFF.
 */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned int cp, n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (unsigned int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the terminating NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

json_t *lw_json_string(const char *s)
{
	json_t *j;
	char *copy;
	size_t i, n;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	/*
	 * Process names, paths and symbols are bytes, not text. jansson refuses invalid UTF-8, and
	 * one bad comm must not cost a whole reply, so replace each offending byte with '?'.
	 */
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (i = 0; copy[i]; i += n) {
		n = utf8_seq_len((unsigned char *)copy + i);
		if (!n) {
			copy[i] = '?';
			n = 1;
		}
	}
	j = json_string(copy);
	free(copy);
	return j;
}
