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

UNIT_MAIN(UNIT_TEST(test_builtin_tables), UNIT_TEST(test_configured), UNIT_TEST(test_rejected))
