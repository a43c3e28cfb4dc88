// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Allocations made through wrappers: libc's strdup (a built-in wrapper), and three wrappers of
 * the program's own that the test names in the daemon's wrappers key: lw_my_alloc (checks
 * malloc's result), lw_my_zalloc (calls lw_my_alloc: a wrapper inside a wrapper) and
 * lw_my_realloc (a realloc that must not fail). Each site is the wrapper's caller, and its bytes
 * are what the program asked the wrapper for. lw_my_freed_site allocates through a wrapper and
 * frees: nothing may stay live.
 *
 * With -w it allocates only after a line on stdin (once the daemon has probed its wrappers).
 * Prints one {"site","wrapper","live_bytes","live_allocs","leaks"} line per site, then
 * {"event":"done"}, then holds everything until killed.
 */
#include "lwprog.h"

LW_SITE void *lw_my_alloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		abort();
	return p;
}

LW_SITE void *lw_my_zalloc(size_t n)
{
	void *p = lw_my_alloc(n);

	memset(p, 0, n);
	return p;
}

LW_SITE void *lw_my_realloc(void *old, size_t n)
{
	void *p = realloc(old, n);

	if (!p && n)
		abort();
	return p;
}

LW_SITE char *lw_strdup_site(const char *s)
{
	char *p = strdup(s);

	lw_keep(p);
	return p;
}

LW_SITE void *lw_wrapped_site(size_t n)
{
	void *p = lw_my_alloc(n);

	lw_keep(p);
	return p;
}

LW_SITE void *lw_wrapped_zero_site(size_t n)
{
	void *p = lw_my_zalloc(n);

	lw_keep(p);
	return p;
}

/* One link of a growing chain: only the chain's last block stays live. */
LW_SITE void *lw_wrapped_grow_site(void *old, size_t n)
{
	void *p = lw_my_realloc(old, n);

	lw_sink = p;
	return p;
}

LW_SITE void *lw_my_freed_site(size_t n)
{
	void *p = lw_my_alloc(n);

	lw_sink = p;
	return p;
}

int main(int argc, char **argv)
{
	struct lw_opts o = {.steps = 4, .size = 1000};
	size_t b, grow[3];
	char *text;
	void *p;

	lw_init(argc, argv, &o, "[-n COUNT] [-s BASE_SIZE] [-w]");
	if (o.wait_stdin)
		lw_wait_stdin();
	o.wait_stdin = false; /* then hold until killed */
	b = o.size < 100 ? 100 : o.size;
	grow[0] = b / 10;
	grow[1] = b * 2;
	grow[2] = b * 200; /* mmapped by glibc: the block moves */
	text = malloc(b * 3 / 2 + 1);
	if (!text)
		abort();
	memset(text, 'x', b * 3 / 2);
	text[b * 3 / 2] = '\0';

	for (long i = 0; i < o.steps; i++) {
		lw_strdup_site(text);
		lw_wrapped_site(b);
		lw_wrapped_zero_site(b * 3);
		p = NULL;
		for (size_t g = 0; g < sizeof(grow) / sizeof(grow[0]); g++)
			p = lw_wrapped_grow_site(p, grow[g]);
		lw_keep(p);
		free(lw_my_freed_site(b * 4));
	}
	free(text);

	const struct {
		const char *site, *wrapper;
		long long bytes;
	} t[] = {
		{"lw_strdup_site", "strdup", b * 3 / 2 + 1},
		{"lw_wrapped_site", "lw_my_alloc", b},
		{"lw_wrapped_zero_site", "lw_my_zalloc", b * 3},
		{"lw_wrapped_grow_site", "lw_my_realloc", grow[2]},
		{"lw_my_freed_site", "lw_my_alloc", 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long long allocs = t[i].bytes ? o.steps : 0;

		lw_emit("\"site\":\"%s\",\"wrapper\":\"%s\",\"live_bytes\":%lld,"
			"\"live_allocs\":%lld,\"leaks\":%s",
			t[i].site, t[i].wrapper, allocs * t[i].bytes, allocs,
			allocs ? "true" : "false");
	}
	lw_emit("\"event\":\"done\"");
	lw_idle(&o);
}
