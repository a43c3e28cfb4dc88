/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Native symbolization with elfutils libdwfl. Mapped files are cached by their identity
 * (st_dev, st_ino), not by path or pid, so one libc serves every process and a file replaced on
 * disk is never confused with the one a process still runs. Not thread-safe: one owner (the
 * drain) uses it.
 */
#ifndef LW_SYMBOLIZE_H
#define LW_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "procmaps.h"
#include "snapshot.h"

struct lw_symbolizer;

/* NULL with errno set on failure. */
struct lw_symbolizer *lw_symbolizer__new(void);
void lw_symbolizer__free(struct lw_symbolizer *s);

/*
 * Resolve one frame of process pid, whose mappings are maps. addr is a return address when
 * is_return is true: look up addr - 1 (the call instruction) for symbol and line, but report
 * addr. Fills out->addr, ->symbol (malloc'd, NULL if unknown), ->offset (addr - symbol start),
 * ->module (malloc'd copy of the mapping path, NULL if anonymous), ->file (malloc'd, NULL
 * unless debug line info exists), ->line (0 if unknown), ->kind = LW_FRAME_NATIVE, the mapping
 * holding addr (->map_start, ->map_limit, ->map_offset) and the module's ->build_id (malloc'd,
 * NULL when the file has none or cannot be opened).
 * The caller frees the strings (lw_stackinfo__put does so). Returns 0, or -errno on
 * allocation failure only; an unresolvable address is not an error (fields stay NULL).
 */
int lw_symbolizer__resolve(struct lw_symbolizer *s, pid_t pid, const struct lw_maps *maps,
			   uint64_t addr, bool is_return, struct lw_frame *out);

/*
 * Build id of the object mapped at addr as lowercase hex, or NULL. The string is owned by the
 * cache: valid until the next call on s.
 */
const char *lw_symbolizer__build_id(struct lw_symbolizer *s, pid_t pid, const struct lw_maps *maps,
				    uint64_t addr);

/*
 * Counters for status: modules currently cached (opened successfully), resolve calls, and
 * resolve calls that found no symbol. Any pointer may be NULL.
 */
void lw_symbolizer__stats(const struct lw_symbolizer *s, uint64_t *modules, uint64_t *lookups,
			  uint64_t *failures);

#endif /* LW_SYMBOLIZE_H */
