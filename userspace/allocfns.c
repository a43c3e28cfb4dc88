// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocfns.h"

static const struct lw_allocfn libc_fns[] = {
	{"malloc", LW_FN_MALLOC},
	{"calloc", LW_FN_CALLOC},
	{"realloc", LW_FN_REALLOC},
	{"reallocarray", LW_FN_REALLOCARRAY},
	{"posix_memalign", LW_FN_POSIX_MEMALIGN},
	{"aligned_alloc", LW_FN_ALIGNED_ALLOC},
	{"memalign", LW_FN_MEMALIGN},
	{"valloc", LW_FN_VALLOC},
	{"pvalloc", LW_FN_PVALLOC},
	{"free", LW_FN_FREE},
	/* C23's sized frees (glibc 2.43 and later) */
	{"free_sized", LW_FN_FREE, true},
	{"free_aligned_sized", LW_FN_FREE, true},
};

/* The C++ operators, for the allocators that define their own (they do not call malloc). */
#define CXX_NEW_DELETE                                                                             \
	{"_Znwm", LW_FN_MALLOC, true}, {"_Znam", LW_FN_MALLOC, true},                              \
	{"_ZnwmRKSt9nothrow_t", LW_FN_MALLOC, true}, {"_ZnamRKSt9nothrow_t", LW_FN_MALLOC, true},  \
	{"_ZnwmSt11align_val_t", LW_FN_MALLOC, true},                                              \
	{"_ZnamSt11align_val_t", LW_FN_MALLOC, true},                                              \
	{"_ZnwmSt11align_val_tRKSt9nothrow_t", LW_FN_MALLOC, true},                                \
	{"_ZnamSt11align_val_tRKSt9nothrow_t", LW_FN_MALLOC, true},                                \
	{"_ZdlPv", LW_FN_FREE, true}, {"_ZdaPv", LW_FN_FREE, true},                                \
	{"_ZdlPvm", LW_FN_FREE, true}, {"_ZdaPvm", LW_FN_FREE, true},                              \
	{"_ZdlPvRKSt9nothrow_t", LW_FN_FREE, true}, {"_ZdaPvRKSt9nothrow_t", LW_FN_FREE, true},    \
	{"_ZdlPvSt11align_val_t", LW_FN_FREE, true}, {"_ZdaPvSt11align_val_t", LW_FN_FREE, true},  \
	{"_ZdlPvmSt11align_val_t", LW_FN_FREE, true},                                              \
	{"_ZdaPvmSt11align_val_t", LW_FN_FREE, true},                                              \
	{"_ZdlPvSt11align_val_tRKSt9nothrow_t", LW_FN_FREE, true},                                 \
	{"_ZdaPvSt11align_val_tRKSt9nothrow_t", LW_FN_FREE, true}

/*
 * jemalloc: the standard functions and its own (mallocx and rallocx allocate, dallocx and
 * sdallocx free; xallocx resizes in place and is not followed). Builds with a prefix (redis's
 * bundled one) name them je_malloc and so on; the C++ operators keep their names.
 */
#define JEMALLOC_FNS(p)                                                                            \
	{p "malloc", LW_FN_MALLOC}, {p "calloc", LW_FN_CALLOC}, {p "realloc", LW_FN_REALLOC},       \
	{p "free", LW_FN_FREE}, {p "posix_memalign", LW_FN_POSIX_MEMALIGN, true},                  \
	{p "aligned_alloc", LW_FN_ALIGNED_ALLOC, true}, {p "memalign", LW_FN_MEMALIGN, true},      \
	{p "valloc", LW_FN_VALLOC, true}, {p "mallocx", LW_FN_MALLOC, true},                       \
	{p "rallocx", LW_FN_REALLOC, true}, {p "dallocx", LW_FN_FREE, true},                       \
	{p "sdallocx", LW_FN_FREE, true}, {p "free_sized", LW_FN_FREE, true},                      \
	{p "free_aligned_sized", LW_FN_FREE, true}, CXX_NEW_DELETE

static const struct lw_allocfn jemalloc_fns[] = { JEMALLOC_FNS("") };
static const struct lw_allocfn je_prefixed_fns[] = { JEMALLOC_FNS("je_") };

/* gperftools' tcmalloc: the tc_ names are aliases of these, probed once per address. */
static const struct lw_allocfn tcmalloc_fns[] = {
	{"malloc", LW_FN_MALLOC},
	{"calloc", LW_FN_CALLOC},
	{"realloc", LW_FN_REALLOC},
	{"free", LW_FN_FREE},
	{"cfree", LW_FN_FREE, true},
	{"posix_memalign", LW_FN_POSIX_MEMALIGN, true},
	{"aligned_alloc", LW_FN_ALIGNED_ALLOC, true},
	{"memalign", LW_FN_MEMALIGN, true},
	{"valloc", LW_FN_VALLOC, true},
	{"pvalloc", LW_FN_PVALLOC, true},
	{"tc_free_sized", LW_FN_FREE, true},
	CXX_NEW_DELETE,
};

/* mimalloc: its overrides of the standard names alias its mi_ API, which programs also call. */
static const struct lw_allocfn mimalloc_fns[] = {
	{"malloc", LW_FN_MALLOC, true},
	{"calloc", LW_FN_CALLOC, true},
	{"realloc", LW_FN_REALLOC, true},
	{"free", LW_FN_FREE, true},
	{"posix_memalign", LW_FN_POSIX_MEMALIGN, true},
	{"aligned_alloc", LW_FN_ALIGNED_ALLOC, true},
	{"memalign", LW_FN_MEMALIGN, true},
	{"valloc", LW_FN_VALLOC, true},
	{"pvalloc", LW_FN_PVALLOC, true},
	{"reallocarray", LW_FN_REALLOCARRAY, true},
	{"mi_malloc", LW_FN_MALLOC},
	{"mi_calloc", LW_FN_CALLOC},
	{"mi_realloc", LW_FN_REALLOC},
	{"mi_free", LW_FN_FREE},
	{"mi_zalloc", LW_FN_MALLOC, true},
	{"mi_mallocn", LW_FN_CALLOC, true},
	{"mi_reallocn", LW_FN_REALLOCARRAY, true},
	{"mi_malloc_aligned", LW_FN_MALLOC, true},
	{"mi_zalloc_aligned", LW_FN_MALLOC, true},
	{"mi_calloc_aligned", LW_FN_CALLOC, true},
	{"mi_realloc_aligned", LW_FN_REALLOC, true},
	{"mi_new", LW_FN_MALLOC, true},
	{"mi_new_nothrow", LW_FN_MALLOC, true},
	{"mi_new_aligned", LW_FN_MALLOC, true},
	{"mi_free_size", LW_FN_FREE, true},
	{"mi_free_aligned", LW_FN_FREE, true},
	{"mi_free_size_aligned", LW_FN_FREE, true},
	CXX_NEW_DELETE,
};

/*
 * Wrappers probed wherever they are defined. The C++ runtime's operator new family (libstdc++
 * calls malloc, or aligned_alloc for the aligned forms); libc's own functions that return
 * malloc'd memory, whose caller is otherwise lost because libc keeps no frame pointer; and the
 * allocation wrappers common C code bases define (GNU's xmalloc family, GLib, OpenSSL).
 * operator delete needs no probe: it calls free.
 */
static const char *const builtin_wrappers[] = {
	"_Znwm",
	"_Znam",
	"_ZnwmRKSt9nothrow_t",
	"_ZnamRKSt9nothrow_t",
	"_ZnwmSt11align_val_t",
	"_ZnamSt11align_val_t",
	"_ZnwmSt11align_val_tRKSt9nothrow_t",
	"_ZnamSt11align_val_tRKSt9nothrow_t",
	"strdup",
	"strndup",
	"wcsdup",
	"asprintf",
	"vasprintf",
	"getdelim",
	"getline",
	"realpath",
	"xmalloc",
	"xcalloc",
	"xrealloc",
	"xzalloc",
	"xstrdup",
	"xstrndup",
	"xmemdup",
	"g_malloc",
	"g_malloc0",
	"g_realloc",
	"g_try_malloc",
	"g_try_malloc0",
	"g_try_realloc",
	"g_malloc_n",
	"g_malloc0_n",
	"g_realloc_n",
	"g_strdup",
	"g_strndup",
	"g_memdup2",
	"CRYPTO_malloc",
	"CRYPTO_zalloc",
	"CRYPTO_realloc",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The first libc_fns entries are glibc's allocator proper (the ones status reports missing). */
#define LIBC_CORE 10

static bool symbol_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '$' || c == '@';
}

/*
 * Split list at commas (spaces around names allowed) into names[], each a copy the caller frees
 * with free_names. Returns the count, or -EINVAL/-ENOMEM.
 */
static int split(const char *list, char *names[LW_WRAPPERS_MAX], char *err, size_t errlen)
{
	const char *p = list + strspn(list, " \t");
	int n = 0;

	while (*p) {
		const char *start, *end;
		size_t len;

		while (*p == ' ' || *p == '\t')
			p++;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		len = end - start;
		if (*p == ',' && !*++p) {
			snprintf(err, errlen, "an empty name at the end of the list");
			goto fail;
		}
		if (!len) {
			snprintf(err, errlen, "an empty name in the list");
			goto fail;
		}
		if (len > LW_WRAPPER_NAME_MAX) {
			snprintf(err, errlen, "name '%.40s...' is longer than %d characters", start,
				 LW_WRAPPER_NAME_MAX);
			goto fail;
		}
		for (size_t i = 0; i < len; i++) {
			if (!symbol_char(start[i])) {
				snprintf(err, errlen,
					 "'%.*s' is not a symbol name (letters, digits, _ . $ @)",
					 (int)len, start);
				goto fail;
			}
		}
		for (size_t i = 0; i < LIBC_CORE; i++) {
			if (strlen(libc_fns[i].name) == len &&
			    !memcmp(libc_fns[i].name, start, len)) {
				snprintf(err, errlen, "'%s' is the allocator itself, not a wrapper",
					 libc_fns[i].name);
				goto fail;
			}
		}
		if (n == LW_WRAPPERS_MAX) {
			snprintf(err, errlen, "more than %d names", LW_WRAPPERS_MAX);
			goto fail;
		}
		for (int i = 0; i < n; i++) {
			if (strlen(names[i]) == len && !memcmp(names[i], start, len)) {
				snprintf(err, errlen, "'%s' is listed twice", names[i]);
				goto fail;
			}
		}
		names[n] = strndup(start, len);
		if (!names[n]) {
			snprintf(err, errlen, "out of memory");
			while (n)
				free(names[--n]);
			return -ENOMEM;
		}
		n++;
	}
	return n;
fail:
	while (n)
		free(names[--n]);
	return -EINVAL;
}

int lw_allocfns__check(const char *wrappers, char *err, size_t errlen)
{
	char *names[LW_WRAPPERS_MAX];
	int n = split(wrappers, names, err, errlen);

	if (n < 0)
		return n;
	while (n)
		free(names[--n]);
	return 0;
}

static bool builtin(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(builtin_wrappers); i++)
		if (!strcmp(builtin_wrappers[i], name))
			return true;
	return false;
}

void lw_allocfns__free(struct lw_allocfns *a)
{
	/* the configured names are owned by the libc table, past the built-in entries */
	for (size_t i = ARRAY_LEN(libc_fns) + ARRAY_LEN(builtin_wrappers); a->libc && i < a->nlibc;
	     i++)
		free((char *)a->libc[i].name);
	free(a->libc);
	free(a->other);
	*a = (struct lw_allocfns){0};
}

int lw_allocfns__init(struct lw_allocfns *a, const char *wrappers, char *err, size_t errlen)
{
	char *names[LW_WRAPPERS_MAX];
	size_t nb = ARRAY_LEN(builtin_wrappers), nl = ARRAY_LEN(libc_fns), k = 0;
	int n = split(wrappers ? wrappers : "", names, err, errlen);

	*a = (struct lw_allocfns){0};
	if (n < 0)
		return n;
	a->libc = calloc(nl + nb + n, sizeof(*a->libc));
	a->other = calloc(nb + n, sizeof(*a->other));
	if (!a->libc || !a->other) {
		snprintf(err, errlen, "out of memory");
		while (n)
			free(names[--n]);
		free(a->libc);
		free(a->other);
		*a = (struct lw_allocfns){0};
		return -ENOMEM;
	}
	memcpy(a->libc, libc_fns, sizeof(libc_fns));
	for (size_t i = 0; i < nb; i++)
		a->libc[nl + i] = (struct lw_allocfn){builtin_wrappers[i], LW_FN_WRAPPER};
	a->nlibc = nl + nb;
	/* a configured name already built in is kept once */
	for (int i = 0; i < n; i++) {
		if (builtin(names[i])) {
			free(names[i]);
			continue;
		}
		a->libc[a->nlibc++] = (struct lw_allocfn){names[i], LW_FN_WRAPPER};
	}
	for (size_t i = nl; i < a->nlibc; i++)
		a->other[k++] = a->libc[i];
	a->nother = k;
	return 0;
}

const char *lw_alloc_kind__name(int kind)
{
	static const char *const names[LW_ALLOC_MAX] = {
		[LW_ALLOC_LIBC] = "libc",	  [LW_ALLOC_PYMALLOC] = "pymalloc",
		[LW_ALLOC_JEMALLOC] = "jemalloc", [LW_ALLOC_TCMALLOC] = "tcmalloc",
		[LW_ALLOC_MIMALLOC] = "mimalloc", [LW_ALLOC_MMAP] = "mmap",
	};

	return kind >= 0 && kind < LW_ALLOC_MAX && names[kind] ? names[kind] : "unknown";
}

/* glibc's file names: libc.so.6 today, libc-2.NN.so before 2.34. */
static bool looks_like_libc(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !fnmatch("libc.so*", base, 0) || !fnmatch("libc-[0-9]*.so", base, 0);
}

static void plan_add(struct lw_objplan *p, const struct lw_allocfn *v, size_t n)
{
	for (size_t i = 0; i < n && p->n < LW_PLAN_MAX; i++) {
		bool dup = false;

		/* an allocator's own operator new is an entry point, not also a wrapper */
		for (size_t k = 0; k < p->n && !dup; k++)
			dup = !strcmp(p->fns[k]->name, v[i].name);
		if (!dup)
			p->fns[p->n++] = &v[i];
	}
}

void lw_allocfns__plan(const struct lw_allocfns *a, const char *path,
		       bool (*defines)(void *ctx, const char *name), void *ctx,
		       struct lw_objplan *out)
{
	const struct lw_allocfn *fam = NULL;
	size_t nfam = 0;

	out->n = 0;
	out->kind = -1;
	/*
	 * The marks of each allocator come first: jemalloc, tcmalloc and mimalloc define malloc
	 * and free too (and tcmalloc and mimalloc glibc's __libc_malloc aliases).
	 */
	if (defines(ctx, "je_malloc") && defines(ctx, "je_free")) {
		out->kind = LW_ALLOC_JEMALLOC;
		fam = je_prefixed_fns;
		nfam = ARRAY_LEN(je_prefixed_fns);
	} else if (defines(ctx, "mallctl") && defines(ctx, "malloc")) {
		out->kind = LW_ALLOC_JEMALLOC;
		fam = jemalloc_fns;
		nfam = ARRAY_LEN(jemalloc_fns);
	} else if (defines(ctx, "tc_malloc") && defines(ctx, "tc_version")) {
		out->kind = LW_ALLOC_TCMALLOC;
		fam = tcmalloc_fns;
		nfam = ARRAY_LEN(tcmalloc_fns);
	} else if (defines(ctx, "mi_malloc") && defines(ctx, "mi_heap_malloc") &&
		   defines(ctx, "malloc")) {
		/* mimalloc built to take malloc's place (CPython 3.13 carries one that does not) */
		out->kind = LW_ALLOC_MIMALLOC;
		fam = mimalloc_fns;
		nfam = ARRAY_LEN(mimalloc_fns);
	} else if (looks_like_libc(path) || (defines(ctx, "malloc") && defines(ctx, "free"))) {
		/* glibc, or a static binary carrying its allocator (glibc's or one like it) */
		out->kind = LW_ALLOC_LIBC;
		fam = libc_fns;
		nfam = ARRAY_LEN(libc_fns);
	}
	plan_add(out, fam, nfam);
	plan_add(out, a->other, a->nother);
}
