// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"

#define ID_SHOWN 12

/* The cgroup path of the v2 line ("0::"), else of the v1 systemd one; length in *n. */
static const char *cgroup_path(const char *text, size_t *n)
{
	static const char v1[] = ":name=systemd:";
	const char *line = text, *found = NULL;

	while (*line) {
		const char *end = strchr(line, '\n'), *p;
		size_t llen = end ? (size_t)(end - line) : strlen(line);

		if (llen >= 3 && !memcmp(line, "0::", 3)) {
			*n = llen - 3;
			return line + 3;
		}
		p = strstr(line, v1);
		if (!found && p && p < line + llen) {
			found = p + sizeof(v1) - 1;
			*n = line + llen - found;
		}
		if (!end)
			break;
		line = end + 1;
	}
	return found;
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/*
 * A container id in one path component: 64 hex digits, alone (/docker/ID, Kubernetes' cgroupfs
 * layout) or between a runtime's prefix and ".scope" (docker-ID.scope, libpod-ID.scope,
 * cri-containerd-ID.scope, crio-ID.scope).
 */
static const char *container_id(const char *c, size_t n)
{
	const char *dash;

	if (n >= 6 && !memcmp(c + n - 6, ".scope", 6))
		n -= 6;
	if (n == 64 && is_hex(c, 64))
		return c;
	dash = n > 64 ? c + n - 65 : NULL;
	if (dash && *dash == '-' && is_hex(dash + 1, 64))
		return dash + 1;
	return NULL;
}

static bool is_unit(const char *c, size_t n)
{
	static const char *const suffixes[] = { ".service", ".scope" };

	for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
		size_t sl = strlen(suffixes[k]);

		if (n > sl && !memcmp(c + n - sl, suffixes[k], sl))
			return true;
	}
	return false;
}

int lw_cgroup_label(const char *text, char *out, size_t len)
{
	const char *path, *unit = NULL, *c;
	size_t n, unit_len = 0;

	if (len)
		out[0] = '\0';
	path = text ? cgroup_path(text, &n) : NULL;
	if (!path || !n)
		return -ENOENT;
	/* the innermost container id or unit wins: a container's unit sits inside a slice */
	for (c = path; c < path + n;) {
		const char *slash = memchr(c, '/', path + n - c);
		size_t clen = slash ? (size_t)(slash - c) : (size_t)(path + n - c);
		const char *id = container_id(c, clen);

		if (id) {
			snprintf(out, len, "%.*s", ID_SHOWN, id);
			return 0;
		}
		if (is_unit(c, clen)) {
			unit = c;
			unit_len = clen;
		}
		c += clen + 1;
	}
	if (unit)
		snprintf(out, len, "%.*s", (int)unit_len, unit);
	else
		snprintf(out, len, "%.*s", (int)n, path);
	return 0;
}
