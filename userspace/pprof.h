/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Heap profiles in the pprof format (a gzipped protocol buffer; schema in pprof/profile.proto),
 * built from a snapshot. Pure: no I/O, nothing but the immutable snapshot is read, and nothing is
 * symbolized here (frames, mappings and build ids were resolved when each site was first seen),
 * so it is unit-tested on hand-made snapshots and costs a request only CPU time.
 *
 * One sample per allocation site, its call stack innermost first, with the values inuse_objects,
 * inuse_space, alloc_objects and alloc_space (counts and bytes) and the labels pid, comm and
 * allocator. Native frames become locations with an address in a mapping (with the file's build
 * id) and, when symbolized, a function with its source file and line; Python frames become
 * functions with their file and line.
 */
#ifndef LW_PPROF_H
#define LW_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "snapshot.h"

typedef bool (*lw_pprof_want_fn)(const struct lw_site_snap *site, void *ctx);

struct lw_pprof_opts {
	/*
	 * 0: the sites of every running process. A pid: the sites of its running identity, or,
	 * when none runs, those of the identity that exited (kept for the record).
	 */
	pid_t pid;
	lw_pprof_want_fn want;	/* when set, only sites it accepts (the peer's own processes) */
	void *ctx;
};

/*
 * Encode the profile, gzipped, into *out (malloc'd; the caller frees it) and its size into
 * *len. Returns how many sites it holds (0 is a valid, empty profile), or -ENOMEM.
 */
int lw_pprof__encode(const struct lw_snapshot *snap, const struct lw_pprof_opts *opts,
		     uint8_t **out, size_t *len);

#endif /* LW_PPROF_H */
