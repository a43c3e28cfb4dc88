// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Request validation and reply encoding of the control protocol. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "unit.h"

static char err[256];

static int parse(const char *line, struct lw_request *req)
{
	return lw_request__parse(line, strlen(line), req, err, sizeof(err));
}

/* The request must fail, with exactly this message. */
static bool rejects(const char *line, const char *msg)
{
	struct lw_request req;

	CHECK(parse(line, &req) == -EINVAL);
	CHECK_STR(err, msg);
	CHECK(!strchr(err, '\n'));
	return true;
}

static bool test_parse_minimal(void)
{
	struct lw_request req;

	CHECK(parse("{\"v\": 1, \"cmd\": \"top\"}", &req) == 0);
	CHECK(req.cmd == LW_CMD_TOP);
	CHECK(req.n == 0);
	CHECK(req.pid == 0);
	CHECK(parse("{\"cmd\":\"status\",\"v\":1}\r", &req) == 0);
	CHECK(req.cmd == LW_CMD_STATUS);
	return true;
}

static bool test_parse_full(void)
{
	struct lw_request req;

	CHECK(parse("{\"v\": 1, \"cmd\": \"stacks\", \"n\": 5, \"pid\": 1234}", &req) == 0);
	CHECK(req.cmd == LW_CMD_STACKS);
	CHECK(req.n == 5);
	CHECK(req.pid == 1234);
	CHECK(parse("{\"v\": 1, \"cmd\": \"top\", \"n\": 10000}", &req) == 0);
	CHECK(req.n == 10000);
	CHECK(parse("{\"v\": 1, \"cmd\": \"pprof\", \"pid\": 2147483647}", &req) == 0);
	CHECK(req.cmd == LW_CMD_PPROF && req.pid == 2147483647);
	CHECK(parse("{\"v\": 1, \"cmd\": \"procs\"}", &req) == 0);
	CHECK(req.cmd == LW_CMD_PROCS);
	return true;
}

static bool test_parse_bad_json(void)
{
	struct lw_request req;

	CHECK(parse("{", &req) == -EINVAL);
	CHECK(!strncmp(err, "invalid JSON at column", 22));
	CHECK(parse("{\"v\": 1, \"cmd\": \"top\"} trailing", &req) == -EINVAL);
	CHECK(!strncmp(err, "invalid JSON", 12));
	CHECK(parse("42", &req) == -EINVAL);
	CHECK(!strncmp(err, "invalid JSON", 12));
	CHECK(rejects("[1, 2]", "request must be a JSON object"));
	CHECK(rejects("", "empty request"));
	CHECK(rejects("\r", "empty request"));
	CHECK(parse("{\"v\": 1, \"cmd\": \"status\", \"cmd\": \"top\"}", &req) == -EINVAL);
	CHECK(!strncmp(err, "invalid JSON", 12));
	/* A NUL inside the line is not JSON, and the length, not the NUL, bounds the parse. */
	CHECK(lw_request__parse("{\"v\":1,\0\"cmd\":\"top\"}", 21, &req, err, sizeof(err)) ==
	      -EINVAL);
	return true;
}

static bool test_parse_version(void)
{
	CHECK(rejects("{\"cmd\": \"top\"}", "missing 'v' (protocol version, must be 1)"));
	CHECK(rejects("{\"v\": 2, \"cmd\": \"top\"}",
		      "unsupported protocol version 2 (this daemon speaks 1)"));
	CHECK(rejects("{\"v\": 0, \"cmd\": \"top\"}",
		      "unsupported protocol version 0 (this daemon speaks 1)"));
	CHECK(rejects("{\"v\": \"1\", \"cmd\": \"top\"}", "'v' must be the integer 1"));
	CHECK(rejects("{\"v\": 1.0, \"cmd\": \"top\"}", "'v' must be the integer 1"));
	/* A newer version's unknown keys are not what the error is about. */
	CHECK(rejects("{\"v\": 2, \"cmd\": \"top\", \"since\": 5}",
		      "unsupported protocol version 2 (this daemon speaks 1)"));
	return true;
}

static bool test_parse_cmd(void)
{
	CHECK(rejects("{\"v\": 1, \"cmd\": \"foo\"}", "unknown command 'foo'"));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"TOP\"}", "unknown command 'TOP'"));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"\"}", "unknown command ''"));
	CHECK(rejects("{\"v\": 1}", "missing 'cmd'"));
	CHECK(rejects("{\"v\": 1, \"cmd\": 3}", "'cmd' must be a string"));
	CHECK(rejects("{\"v\": 1, \"cmd\": null}", "'cmd' must be a string"));
	return true;
}

static bool test_parse_n(void)
{
	CHECK(rejects("{\"v\": 1, \"cmd\": \"top\", \"n\": 0}", "'n' must be a positive integer"));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"top\", \"n\": -3}", "'n' must be a positive integer"));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"top\", \"n\": \"5\"}",
		      "'n' must be a positive integer"));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"top\", \"n\": 5.0}",
		      "'n' must be a positive integer"));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"top\", \"n\": true}",
		      "'n' must be a positive integer"));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"top\", \"n\": null}",
		      "'n' must be a positive integer"));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"top\", \"n\": 10001}", "'n' must be at most 10000"));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"top\", \"n\": 9223372036854775807}",
		      "'n' must be at most 10000"));
	return true;
}

static bool test_parse_pid(void)
{
	const char *msg = "'pid' must be a positive integer";

	CHECK(rejects("{\"v\": 1, \"cmd\": \"stacks\", \"pid\": 0}", msg));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"stacks\", \"pid\": -1}", msg));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"stacks\", \"pid\": \"12\"}", msg));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"stacks\", \"pid\": 1.5}", msg));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"stacks\", \"pid\": [12]}", msg));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"stacks\", \"pid\": 2147483648}", msg));
	return true;
}

static bool test_parse_unknown_key(void)
{
	CHECK(rejects("{\"v\": 1, \"cmd\": \"top\", \"pids\": 12}", "unknown key 'pids'"));
	CHECK(rejects("{\"v\": 1, \"cmd\": \"top\", \"\": 1}", "unknown key ''"));
	return true;
}

static bool test_parse_size(void)
{
	const char *base = "{\"v\": 1, \"cmd\": \"status\"}";
	size_t max = LW_PROTO_MAX_REQUEST;
	char *line = malloc(max + 2);
	struct lw_request req;
	bool ok = false;

	if (!line)
		return false;
	/* Exactly the limit, padded with JSON whitespace: accepted. */
	memset(line, ' ', max + 1);
	memcpy(line, base, strlen(base));
	if (lw_request__parse(line, max, &req, err, sizeof(err)) != 0 || req.cmd != LW_CMD_STATUS)
		goto out;
	if (lw_request__parse(line, max + 1, &req, err, sizeof(err)) != -E2BIG)
		goto out;
	if (strcmp(err, "request longer than 65536 bytes"))
		goto out;
	ok = true;
out:
	free(line);
	CHECK(ok);
	return true;
}

static bool test_err_truncation(void)
{
	struct lw_request req;
	char small[8];

	/* A tiny buffer truncates the message without overflowing; none at all is allowed too. */
	CHECK(lw_request__parse("{\"v\": 1, \"cmd\": \"nope\"}", 23, &req, small, sizeof(small)) ==
	      -EINVAL);
	CHECK(strlen(small) == 7);
	CHECK(lw_request__parse("{\"v\": 1, \"cmd\": \"nope\"}", 23, &req, NULL, 0) == -EINVAL);
	return true;
}

/* Parse a reply line back and check the envelope. Returns the root (caller decrefs). */
static json_t *load_reply(const char *line, bool ok)
{
	size_t len = strlen(line);
	json_t *root;

	if (!len || line[len - 1] != '\n' || memchr(line, '\n', len - 1))
		return NULL;
	root = json_loads(line, 0, NULL);
	if (!root)
		return NULL;
	if (json_integer_value(json_object_get(root, "v")) != 1 ||
	    json_is_true(json_object_get(root, "ok")) != ok) {
		json_decref(root);
		return NULL;
	}
	return root;
}

static bool test_reply_ok(void)
{
	json_t *res = json_pack("{s:[{s:i, s:f}]}", "growers", "pid", 7, "confidence", 0.99);
	char *line = lw_reply_ok(res);
	json_t *root;
	bool ok;

	CHECK(line);
	root = load_reply(line, true);
	ok = root && json_integer_value(json_object_get(
			     json_array_get(json_object_get(json_object_get(root, "result"),
							    "growers"), 0), "pid")) == 7;
	/* 15 significant digits: 0.99 is not printed as 0.98999999999999999. */
	ok = ok && strstr(line, "0.99}");
	ok = ok && !strncmp(line, "{\"v\": 1, \"ok\": true, \"result\": {", 32);
	json_decref(root);
	free(line);
	CHECK(ok);
	CHECK(lw_reply_ok(NULL) == NULL && errno == EINVAL);
	return true;
}

static bool test_reply_error(void)
{
	char *line = lw_reply_error("unknown command 'foo'");
	json_t *root;
	bool ok;

	CHECK(line);
	root = load_reply(line, false);
	ok = root && !strcmp(json_string_value(json_object_get(root, "error")),
			     "unknown command 'foo'") && !json_object_get(root, "result");
	json_decref(root);
	free(line);
	CHECK(ok);

	/* Newlines, quotes and invalid UTF-8 in a message still give one valid JSON line. */
	line = lw_reply_error("a\nb\"c\xff");
	CHECK(line);
	root = load_reply(line, false);
	ok = root && !strcmp(json_string_value(json_object_get(root, "error")), "a\nb\"c?");
	json_decref(root);
	free(line);
	CHECK(ok);
	return true;
}

static bool test_request_format(void)
{
	struct lw_request in = { .cmd = LW_CMD_STACKS, .n = 7, .pid = 42 }, out;
	char *line = lw_request__format(&in);

	CHECK(line);
	CHECK(line[strlen(line) - 1] == '\n');
	CHECK(lw_request__parse(line, strlen(line) - 1, &out, err, sizeof(err)) == 0);
	free(line);
	CHECK(out.cmd == LW_CMD_STACKS && out.n == 7 && out.pid == 42);

	in = (struct lw_request){ .cmd = LW_CMD_STATUS };
	line = lw_request__format(&in);
	CHECK(line);
	CHECK(!strstr(line, "\"n\"") && !strstr(line, "\"pid\""));
	free(line);
	return true;
}

static bool test_reply_parse(void)
{
	json_t *res = NULL;
	const char *ok = "{\"v\": 1, \"ok\": true, \"result\": {\"a\": 1}}\n";
	const char *bad = "{\"v\": 1, \"ok\": false, \"error\": \"nope\"}\n";

	CHECK(lw_reply__parse(ok, strlen(ok), &res, err, sizeof(err)) == 0);
	CHECK(json_integer_value(json_object_get(res, "a")) == 1);
	json_decref(res);
	CHECK(lw_reply__parse(bad, strlen(bad), &res, err, sizeof(err)) == -EREMOTEIO);
	CHECK(!res);
	CHECK_STR(err, "nope");
	CHECK(lw_reply__parse("{\"v\": 2, \"ok\": true, \"result\": {}}", 34, &res, err,
			      sizeof(err)) == -EINVAL);
	CHECK(lw_reply__parse("{\"v\": 1}", 8, &res, err, sizeof(err)) == -EPROTO);
	CHECK(lw_reply__parse("{\"v\": 1, \"ok\": true}", 20, &res, err, sizeof(err)) == -EPROTO);
	CHECK(lw_reply__parse("garbage", 7, &res, err, sizeof(err)) == -EPROTO);
	return true;
}

static bool json_str_is(const char *in, const char *want)
{
	json_t *j = lw_json_string(in);
	bool ok = j && !strcmp(json_string_value(j), want);

	json_decref(j);
	return ok;
}

static bool test_json_string(void)
{
	json_t *j = lw_json_string(NULL);

	CHECK(json_is_null(j));
	CHECK(json_str_is("plain", "plain"));
	CHECK(json_str_is("caf\xc3\xa9", "caf\xc3\xa9"));
	CHECK(json_str_is("a\xff" "b", "a?b"));
	CHECK(json_str_is("\xc0\xaf", "??"));		/* overlong '/' */
	CHECK(json_str_is("\xed\xa0\x80", "???"));	/* surrogate */
	CHECK(json_str_is("\xf4\x90\x80\x80", "????"));	/* above U+10FFFF */
	CHECK(json_str_is("x\xe2\x82", "x??"));		/* truncated at the end */
	CHECK(json_str_is("\xf0\x9f\x90\x9b", "\xf0\x9f\x90\x9b"));
	return true;
}

static bool test_cmd_names(void)
{
	enum lw_cmd c;

	for (unsigned int i = 0; i < LW_CMD_MAX; i++) {
		CHECK(lw_cmd_from_name(lw_cmd_name(i), &c) == 0);
		CHECK(c == i);
	}
	CHECK(lw_cmd_from_name("nope", &c) == -ENOENT);
	CHECK_STR(lw_cmd_name(LW_CMD_MAX), "unknown");
	return true;
}

UNIT_MAIN(UNIT_TEST(test_parse_minimal), UNIT_TEST(test_parse_full),
	  UNIT_TEST(test_parse_bad_json), UNIT_TEST(test_parse_version), UNIT_TEST(test_parse_cmd),
	  UNIT_TEST(test_parse_n), UNIT_TEST(test_parse_pid), UNIT_TEST(test_parse_unknown_key),
	  UNIT_TEST(test_parse_size), UNIT_TEST(test_err_truncation), UNIT_TEST(test_reply_ok),
	  UNIT_TEST(test_reply_error), UNIT_TEST(test_request_format),
	  UNIT_TEST(test_reply_parse), UNIT_TEST(test_json_string), UNIT_TEST(test_cmd_names))
