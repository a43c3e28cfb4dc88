// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
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
		for (size_t i = 0; i < ARRAY_LEN(libc_fns); i++) {
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
