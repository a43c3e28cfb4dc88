/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * /proc/PID/maps as a sorted array of mappings. Parsing is pure (no I/O) so it is unit-tested on
 * fixed text; lw_maps__read() only adds the reading of the file.
 */
#ifndef LW_PROCMAPS_H
#define LW_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lw_mapping {
	uint64_t start, end, pgoff;	/* pgoff = file offset of start, in bytes */
	uint64_t dev;			/* makedev(major, minor) as in stat's st_dev */
	uint64_t ino;
	bool exec;			/* 'x' permission */
	bool deleted;			/* path ended in " (deleted)", stripped from path */
	char *path;			/* NULL for anonymous; "[vdso]", "[heap]" kept as is */
};

/* Sorted by start; mappings never overlap. */
struct lw_maps {
	size_t n;
	struct lw_mapping *v;
};

/* Parse the text of a maps file (need not be NUL-terminated). -EINVAL on malformed, -ENOMEM. */
int lw_maps__parse(const char *text, size_t len, struct lw_maps *out);
/* Read and parse /proc/PID/maps: -ENOENT (or -ESRCH) when the process has gone. */
int lw_maps__read(pid_t pid, struct lw_maps *out);
/* Free what parse/read filled in and reset *m to empty; safe on an empty or zeroed struct. */
void lw_maps__free(struct lw_maps *m);

/* The mapping containing addr (binary search), or NULL. */
const struct lw_mapping *lw_maps__find(const struct lw_maps *m, uint64_t addr);
/*
 * True if addr lies in an executable mapping (file-backed or [vdso]); used to cut garbage frames
 * from frame-pointer walks through code without frame pointers. Anonymous executable memory
 * (JIT code) is deliberately not code here: nothing could symbolize it anyway.
 */
bool lw_maps__is_code(const struct lw_maps *m, uint64_t addr);

/* Offset in the mapped file of runtime address addr, which must lie inside mp. */
uint64_t lw_mapping__file_offset(const struct lw_mapping *mp, uint64_t addr);

#endif /* LW_PROCMAPS_H */
