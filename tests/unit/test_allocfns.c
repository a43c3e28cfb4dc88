// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The probe tables built from the built-in wrappers and the wrappers config key. */
#include <errno.h>
#include <stdbool.h>

#include "allocfns.h"
#include "unit.h"

static const struct lw_allocfn *find(const struct lw_allocfn *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static bool test_builtin_tables(void)
{
	struct lw_allocfns a;
	char err[256] = "";

	CHECK(!lw_allocfns__init(&a, "", err, sizeof(err)));
	/* libc: the allocator proper, with its functions, then the wrappers */
	CHECK(find(a.libc, a.nlibc, "malloc")->fn == LW_FN_MALLOC);
	CHECK(find(a.libc, a.nlibc, "posix_memalign")->fn == LW_FN_POSIX_MEMALIGN);
	CHECK(find(a.libc, a.nlibc, "free")->fn == LW_FN_FREE);
	CHECK(find(a.libc, a.nlibc, "strdup")->fn == LW_FN_WRAPPER);
	CHECK(find(a.libc, a.nlibc, "_Znwm")->fn == LW_FN_WRAPPER);
	/* elsewhere only wrappers: a malloc of another object is no business of these tables */
	CHECK(!find(a.other, a.nother, "malloc") && !find(a.other, a.nother, "free"));
	CHECK(find(a.other, a.nother, "_ZnamSt11align_val_tRKSt9nothrow_t"));
	CHECK(find(a.other, a.nother, "xmalloc"));
	for (size_t i = 0; i < a.nother; i++)
		CHECK(a.other[i].fn == LW_FN_WRAPPER);
	CHECK(a.nlibc == a.nother + 12);
	CHECK(!lw_allocfn__has_return(LW_FN_FREE) && lw_allocfn__has_return(LW_FN_WRAPPER) &&
	      lw_allocfn__has_return(LW_FN_MALLOC));
	lw_allocfns__free(&a);
	return true;
}

static bool test_configured(void)
{
	struct lw_allocfns a, base;
	char err[256] = "";

	CHECK(!lw_allocfns__init(&base, NULL, err, sizeof(err)));
	/* blanks around names; a built-in name given again is kept once */
	CHECK(!lw_allocfns__init(&a, " my_alloc ,pool_strdup,xmalloc", err, sizeof(err)));
	CHECK(a.nother == base.nother + 2 && a.nlibc == base.nlibc + 2);
	CHECK(find(a.other, a.nother, "my_alloc")->fn == LW_FN_WRAPPER);
	CHECK(find(a.libc, a.nlibc, "pool_strdup")->fn == LW_FN_WRAPPER);
	lw_allocfns__free(&a);
	lw_allocfns__free(&base);
	CHECK(!lw_allocfns__check("   ", err, sizeof(err)));
	CHECK(!lw_allocfns__check("a.b,c$d,e@GLIBC_2.2.5", err, sizeof(err)));
	return true;
}

static bool test_rejected(void)
{
	static const struct {
		const char *val, *says;
	} bad[] = {
		{"a,,b", "an empty name in the list"},
		{"a,", "an empty name at the end of the list"},
		{",a", "an empty name in the list"},
		{"my alloc", "'my alloc' is not a symbol name (letters, digits, _ . $ @)"},
		{"a,b,a", "'a' is listed twice"},
		{"realloc", "'realloc' is the allocator itself, not a wrapper"},
	};
	char err[256], many[40 * 5] = "";
	struct lw_allocfns a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(lw_allocfns__check(bad[i].val, err, sizeof(err)) == -EINVAL);
		CHECK_STR(err, bad[i].says);
		CHECK(lw_allocfns__init(&a, bad[i].val, err, sizeof(err)) == -EINVAL);
		CHECK(!a.libc && !a.other);
	}
	for (int i = 0; i <= LW_WRAPPERS_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sf%d", i ? "," : "",
			 i);
	CHECK(lw_allocfns__check(many, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "more than 32 names");
	return true;
}

/* A made-up object: a NULL-terminated list of the functions it defines. */
static bool defines(void *ctx, const char *name)
{
	for (const char *const *p = ctx; *p; p++)
		if (!strcmp(*p, name))
			return true;
	return false;
}

static const struct lw_allocfn *planned(const struct lw_objplan *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->fns[i]->name, name))
			return p->fns[i];
	return NULL;
}

static bool test_plans(void)
{
	static const char *const jemalloc[] = { "malloc", "free", "mallctl", "_Znwm", "strdup", NULL };
	static const char *const je_prefixed[] = { "je_malloc", "je_free", "je_mallctl", NULL };
	static const char *const tcmalloc[] = { "malloc", "free", "tc_malloc", "tc_version", NULL };
	static const char *const heaptrack[] = { "malloc", "free", "mi_malloc", NULL };
	static const char *const stdcxx[] = { "_Znwm", "_ZdlPv", NULL };
	static const char *const none[] = { NULL };
	static const char *const libpython313[] = { "mi_malloc", "mi_heap_malloc", "mi_free", NULL };
	struct lw_allocfns a;
	struct lw_objplan p;
	char err[256] = "";

	CHECK(!lw_allocfns__init(&a, "my_alloc", err, sizeof(err)));
	lw_allocfns__plan(&a, "/usr/lib/libjemalloc.so.2", defines, (void *)jemalloc, &p);
	CHECK(p.kind == LW_ALLOC_JEMALLOC && !strcmp(lw_alloc_kind__name(p.kind), "jemalloc"));
	/* jemalloc's own operator new allocates; it is no wrapper too */
	CHECK(planned(&p, "_Znwm")->fn == LW_FN_MALLOC && planned(&p, "_ZdlPvm")->fn == LW_FN_FREE);
	CHECK(planned(&p, "mallocx")->fn == LW_FN_MALLOC && planned(&p, "sdallocx")->fn == LW_FN_FREE);
	CHECK(planned(&p, "rallocx")->fn == LW_FN_REALLOC);
	CHECK(planned(&p, "my_alloc")->fn == LW_FN_WRAPPER && planned(&p, "strdup"));
	for (size_t i = 0; i < p.n; i++)
		for (size_t k = i + 1; k < p.n; k++)
			CHECK(strcmp(p.fns[i]->name, p.fns[k]->name));

	lw_allocfns__plan(&a, "/usr/bin/redis-server", defines, (void *)je_prefixed, &p);
	CHECK(p.kind == LW_ALLOC_JEMALLOC && planned(&p, "je_malloc") && !planned(&p, "malloc") &&
	      planned(&p, "je_sdallocx") && planned(&p, "_Znwm")->fn == LW_FN_MALLOC);

	lw_allocfns__plan(&a, "/usr/lib/libtcmalloc.so.4", defines, (void *)tcmalloc, &p);
	CHECK(p.kind == LW_ALLOC_TCMALLOC && planned(&p, "_ZnamSt11align_val_t")->fn == LW_FN_MALLOC);

	/* an interposer defining a few mi_ names is no mimalloc: it is a malloc, called libc */
	lw_allocfns__plan(&a, "/usr/lib/libheaptrack_preload.so", defines, (void *)heaptrack, &p);
	CHECK(p.kind == LW_ALLOC_LIBC && planned(&p, "free_sized")->optional);

	/* CPython 3.13's own mimalloc does not replace malloc: not an allocator object */
	lw_allocfns__plan(&a, "/usr/lib/libpython3.13.so", defines, (void *)libpython313, &p);
	CHECK(p.kind == -1);

	/* libstdc++: wrappers only, operator delete not at all */
	lw_allocfns__plan(&a, "/usr/lib/libstdc++.so.6", defines, (void *)stdcxx, &p);
	CHECK(p.kind == -1 && planned(&p, "_Znwm")->fn == LW_FN_WRAPPER && !planned(&p, "_ZdlPv"));

	/* libc by its name, whatever its symbols */
	lw_allocfns__plan(&a, "/tmp/x/libc.so.6", defines, (void *)none, &p);
	CHECK(p.kind == LW_ALLOC_LIBC && planned(&p, "malloc")->fn == LW_FN_MALLOC &&
	      !planned(&p, "malloc")->optional);
	lw_allocfns__plan(&a, "/usr/bin/true", defines, (void *)none, &p);
	CHECK(p.kind == -1);
	CHECK(!strcmp(lw_alloc_kind__name(LW_ALLOC_MMAP), "mmap") &&
	      !strcmp(lw_alloc_kind__name(99), "unknown") && !strcmp(lw_alloc_kind__name(-1), "unknown"));
	lw_allocfns__free(&a);
	return true;
}

/* jemalloc 5.3's nallocx() for these sizes, on x86_64 */
static bool test_jemalloc_classes(void)
{
	static const unsigned long long cases[][2] = {
		{ 0, 8 },	  { 1, 8 },	    { 8, 8 },		{ 9, 16 },	   { 100, 112 },
		{ 128, 128 },	  { 129, 160 },	    { 1000, 1024 },	{ 4096, 4096 },	   { 4097, 5120 },
		{ 16385, 20480 }, { 1 << 20, 1 << 20 }, { (1 << 20) + 1, 1310720 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(lw_jemalloc_class(cases[i][0]) == cases[i][1]);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_builtin_tables), UNIT_TEST(test_configured), UNIT_TEST(test_rejected),
	  UNIT_TEST(test_plans), UNIT_TEST(test_jemalloc_classes))
