/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The drain: everything between the kernel maps and the published snapshot. Each drain reads the
 * per-site aggregates in batches, gives new sites a process description and a resolved stack,
 * extends every site's series and verdict, retires exited processes from the kernel maps, and
 * publishes a new immutable snapshot. Sweeps of the live-allocation table (ages, leftovers of
 * exited processes) and of the stack table run on their own, slower period.
 */
#ifndef LW_ENGINE_H
#define LW_ENGINE_H

#include <sys/types.h>

#include "config.h"
#include "snapshot.h"

struct lw_engine;

/* Loads and attaches the BPF side and finds libc; NULL with errno set (reason logged). */
struct lw_engine *lw_engine__new(const struct lw_config *cfg);
void lw_engine__free(struct lw_engine *e);
/* Apply a reloaded configuration's run-time keys (trend parameters, retention, ...). */
void lw_engine__reconfigure(struct lw_engine *e, const struct lw_config *cfg);
int lw_engine__drain(struct lw_engine *e);
/* The ring buffer of exit/exec events: poll it and call consume when readable. */
int lw_engine__events_fd(const struct lw_engine *e);
void lw_engine__consume_events(struct lw_engine *e);
/* The current snapshot (borrowed: take a reference to keep it). Never NULL after new(). */
struct lw_snapshot *lw_engine__snapshot(struct lw_engine *e);
/* For --check: print what was attached and what is missing. Returns 0 if anything traces. */
int lw_engine__report(struct lw_engine *e, FILE *f);

#endif /* LW_ENGINE_H */
