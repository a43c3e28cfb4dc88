/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * /metrics: a snapshot rendered in the Prometheus text exposition format (version 0.0.4). Pure:
 * it reads the immutable snapshot and writes text, so it is unit-tested on hand-made snapshots.
 *
 * Cardinality is bounded by construction: per-process series for the processes the snapshot
 * holds (those with live sites), per-site series only for the top_sites first sites of the
 * snapshot's ranking (leaks first, then by growth), and fixed sets for everything else. No two
 * samples of a family share a label set, whatever the snapshot holds.
 */
#ifndef LW_METRICS_H
#define LW_METRICS_H

#include "snapshot.h"
#include "strbuf.h"

#define LW_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define LW_SITE_ID_LEN 12	/* hex digits of a site id */

struct lw_metrics_opts {
	unsigned int top_sites;	/* sites with series of their own */
};

/* Append the exposition of snap to out; out->failed tells whether it ran out of memory. */
void lw_metrics__render(const struct lw_snapshot *snap, const struct lw_metrics_opts *opts,
			struct lw_buf *out);

/*
 * A site's short id: hex of a hash of (pid, process identity, kernel stack id), so it is the
 * same at every scrape and across daemon restarts, for as long as the process lives.
 */
void lw_metrics__site_id(const struct lw_site_snap *s, char id[LW_SITE_ID_LEN + 1]);

#endif /* LW_METRICS_H */
