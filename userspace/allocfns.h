/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which functions of an ELF object get allocator probes, and as what: the entry points of the
 * allocator it is, if it is one (glibc, jemalloc, tcmalloc, mimalloc, a static binary's), and
 * everywhere the wrappers, functions that hand their caller what the
 * allocator call they make returns (C++ operator new, strdup, xmalloc). A wrapper's caller is
 * the allocation site even where the wrapper has no frame pointer to walk through; see
 * LW_FN_WRAPPER. Pure: no I/O.
 */
#ifndef LW_ALLOCFNS_H
#define LW_ALLOCFNS_H

#include <stdbool.h>
#include <stddef.h>

#include "leakwatch_abi.h"

struct lw_allocfn {
	const char *name; /* the symbol, as the object defines it */
	enum lw_func fn;  /* the cookie its probe carries */
	bool optional;	  /* an allocator's function it may lack without a note in status */
};

/* Names in the wrappers config key, and the longest one. */
#define LW_WRAPPERS_MAX	    32
#define LW_WRAPPER_NAME_MAX 127

/* The probes of one object kind, built once from the configuration. */
struct lw_allocfns {
	struct lw_allocfn *libc; /* glibc's allocator, then every wrapper */
	size_t nlibc;
	struct lw_allocfn *other; /* any other object: the wrappers */
	size_t nother;
};

/*
 * Build the tables from the built-in wrappers plus the configured ones (a comma-separated list
 * of symbol names, "" for none). 0, or -EINVAL (err says which name and why), -ENOMEM.
 */
int lw_allocfns__init(struct lw_allocfns *a, const char *wrappers, char *err, size_t errlen);
void lw_allocfns__free(struct lw_allocfns *a);

/*
 * Check a wrappers value: names of C symbols (letters, digits, _ . $ @), at most
 * LW_WRAPPERS_MAX of them, none longer than LW_WRAPPER_NAME_MAX, none twice. 0 or -EINVAL.
 */
int lw_allocfns__check(const char *wrappers, char *err, size_t errlen);

/* Most probe points one object's plan may list. */
#define LW_PLAN_MAX 128

/*
 * What one ELF object gets: if it is an allocator (glibc, jemalloc with or without its je_
 * prefix, tcmalloc, mimalloc, or a static binary whose symbol table defines malloc and free),
 * that allocator's entry points, then the wrappers it defines. C++ operator new and delete are
 * entry points of the allocators that define their own (jemalloc, tcmalloc, mimalloc), and
 * wrappers elsewhere (libstdc++'s call malloc; its delete needs no probe).
 */
struct lw_objplan {
	int kind;	/* enum lw_alloc_kind; -1: no allocator, wrappers only */
	const struct lw_allocfn *fns[LW_PLAN_MAX];
	size_t n;
};

/*
 * Plan the probes of the object at path; defines(ctx, name) says whether it defines a function
 * of that name (dynamic symbols or its symbol table). Pure but for what defines does.
 */
void lw_allocfns__plan(const struct lw_allocfns *a, const char *path,
		       bool (*defines)(void *ctx, const char *name), void *ctx,
		       struct lw_objplan *out);

/* "libc", "pymalloc", "jemalloc", "tcmalloc", "mimalloc", "mmap"; "unknown" past them. */
const char *lw_alloc_kind__name(int kind);

/* Does the probe for fn need a return probe too (it hands out memory, or closes a scope)? */
static inline bool lw_allocfn__has_return(enum lw_func fn)
{
	return fn != LW_FN_FREE;
}

#endif /* LW_ALLOCFNS_H */
