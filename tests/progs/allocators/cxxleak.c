// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A leak through malloc and one through C++ operator new, in whatever allocator the program is
 * linked with (built once per allocator: jemalloc, tcmalloc, mimalloc, glibc with libstdc++, and
 * a static glibc binary). Every PERIOD ms, lw_malloc_leak keeps SIZE bytes from malloc,
 * lw_new_leak keeps SIZE bytes from operator new, and lw_new_churn takes SIZE bytes from operator
 * new and gives them back with the sized operator delete (no growth).
 *
 * Prints {"site":...,"live_bytes":N,"live_allocs":K} for both leak sites after every step.
 * Written in C: operator new and delete are called by their mangled names.
 */
#include "../lwprog.h"

void *_Znwm(unsigned long size);
void _ZdlPvm(void *p, unsigned long size);

LW_SITE void *lw_malloc_leak(size_t size)
{
	void *p = malloc(size);

	lw_keep(p);
	return p;
}

LW_SITE void *lw_new_leak(size_t size)
{
	void *p = _Znwm(size);

	lw_keep(p);
	return p;
}

LW_SITE void lw_new_churn(size_t size)
{
	void *p = _Znwm(size);

	lw_sink = p;
	LW_BARRIER();
	_ZdlPvm(p, size);
}

int main(int argc, char **argv)
{
	struct lw_opts o = { .period_ms = 50, .size = 4096 };
	long long bytes = 0, n = 0;

	lw_init(argc, argv, &o, "[-s SIZE] [-p PERIOD_MS] [-d SEC]");
	for (;;) {
		if (lw_expired(&o))
			lw_idle(&o);
		memset(lw_malloc_leak(o.size), 1, o.size);
		memset(lw_new_leak(o.size), 2, o.size);
		for (int i = 0; i < 8; i++)
			lw_new_churn(o.size);
		bytes += o.size;
		n++;
		lw_truth("lw_malloc_leak", bytes, n);
		lw_truth("lw_new_leak", bytes, n);
		lw_sleep(o.period_ms / 1000);
	}
}
