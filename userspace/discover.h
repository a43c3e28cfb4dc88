/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Finds the objects processes map that get allocator probes, and has the tracer attach to each
 * once, by device and inode: libc (the host's, a second glibc at another path, or one in another
 * mount namespace), objects that define allocation wrappers (libstdc++'s operator new, a
 * program's xmalloc; see allocfns.h), and, with lw_discover__set_python, CPython interpreters.
 * Every process is looked at when first seen and again after it execs (its executable changes);
 * each object is examined once.
 */
#ifndef LW_DISCOVER_H
#define LW_DISCOVER_H

#include <sys/types.h>

struct lw_tracer;
struct lw_discover;
struct lw_pyinterp;
struct lw_allocfns;

/* fns: the probe tables, which must outlive d. */
struct lw_discover *lw_discover__new(struct lw_tracer *t, const struct lw_allocfns *fns);
/* libc objects attached so far. */
unsigned int lw_discover__libcs(const struct lw_discover *d);
/* Also look for CPython interpreters, and have py examine them. */
void lw_discover__set_python(struct lw_discover *d, struct lw_pyinterp *py);
void lw_discover__free(struct lw_discover *d);
/* Scan /proc for processes not yet examined. Returns the number of objects newly attached. */
int lw_discover__scan(struct lw_discover *d);
/* Have pid looked at again on the next scan (it exec'd). */
void lw_discover__forget(struct lw_discover *d, pid_t pid);
/*
 * pid has just exec'd: examine what it maps now (its executable, with the wrappers it defines,
 * and the dynamic loader), and again on the next scans, once its libraries are mapped. Returns
 * the number of objects newly attached.
 */
int lw_discover__exec(struct lw_discover *d, pid_t pid);

#endif /* LW_DISCOVER_H */
