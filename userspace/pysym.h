/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Python frames to names: reads a code object's qualified name, file name, first line and line
 * table from the process's memory (process_vm_readv, so CAP_SYS_PTRACE), once per (process,
 * code object), and the line of each frame from the cached table.
 *
 * The BPF side records only code object addresses. A site's stack is resolved at the first drain
 * after it appears, while the code that allocated is normally still alive (a leaking function
 * keeps being called). A code object that died before that gives a frame with no name; every
 * object read must have the code type (its type's tp_name is "code"), so freed memory is not
 * taken for a code object. Entries are never revalidated: a code object freed and another one
 * created at its address in the same process would keep the first one's names, which is why the
 * cache key includes the file and name object addresses read at each lookup of a new stack.
 */
#ifndef LW_PYSYM_H
#define LW_PYSYM_H

#include <stdint.h>
#include <sys/types.h>

#include "pyinterp.h"
#include "snapshot.h"

struct lw_pysym;

/* max_entries bounds the cache (all of it is dropped when full). NULL with errno set. */
struct lw_pysym *lw_pysym__new(size_t max_entries);
void lw_pysym__free(struct lw_pysym *s);

/*
 * Fill out (kind LW_FRAME_PYTHON; symbol, file and module malloc'd; the caller frees them) for
 * the frame (code, instr) of process (pid, ident) running the interpreter described by l, whose
 * binary is module. Fields that cannot be read stay NULL/0. Returns 0, or -errno on allocation
 * failure only.
 */
int lw_pysym__resolve(struct lw_pysym *s, pid_t pid, uint64_t ident, const struct lw_py_layout *l,
		      const char *module, uint64_t code, uint32_t instr, struct lw_frame *out);

/* Lookups, cache hits, and frames that could not be named. Any pointer may be NULL. */
void lw_pysym__stats(const struct lw_pysym *s, uint64_t *lookups, uint64_t *hits,
		     uint64_t *failures);

#endif /* LW_PYSYM_H */
