/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The published, immutable view of what the daemon knows, built after each drain. Queries
 * (socket commands, later HTTP) only ever read a snapshot; the drain builds the next one and
 * swaps it in. Stack and process descriptions are shared, reference-counted and never modified
 * after creation, so a snapshot costs one array of small records, not copies of strings.
 */
#ifndef LW_SNAPSHOT_H
#define LW_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "leakwatch_abi.h"

enum lw_frame_kind {
	LW_FRAME_NATIVE = 0,
	LW_FRAME_PYTHON,
};

/* One resolved frame. NULL strings and line 0 mean "unknown" and print as JSON null. */
struct lw_frame {
	uint64_t addr;		/* runtime address as seen in the process */
	const char *symbol;	/* function name */
	uint64_t offset;	/* addr - start of symbol, when symbol != NULL */
	const char *module;	/* path of the mapped object (as the process saw it) */
	const char *file;	/* source file, from debug info */
	int line;		/* source line, 0 when unknown */
	enum lw_frame_kind kind;
	/* the mapping that holds addr, for profiles; all 0 when addr is in none */
	uint64_t map_start, map_limit, map_offset;
	const char *build_id;	/* the module's GNU build id, lowercase hex */
};

/* A resolved call stack, innermost first. Owns its strings. Immutable once built. */
struct lw_stackinfo {
	unsigned int refcnt;
	unsigned int nframes;
	struct lw_frame frames[];
};

struct lw_stackinfo *lw_stackinfo__new(unsigned int nframes);	/* refcnt 1, zeroed frames */
struct lw_stackinfo *lw_stackinfo__get(struct lw_stackinfo *si);
void lw_stackinfo__put(struct lw_stackinfo *si);

/* What is known about one process identity, captured at first sight. Immutable. */
struct lw_procinfo {
	unsigned int refcnt;
	pid_t pid;
	uint64_t ident;		/* see struct lw_proc_val */
	uid_t uid;
	char comm[16];
	char *exe;		/* NULL when unreadable */
	char *cgroup;		/* its cgroup's label (cgroup.h), NULL when unknown */
};

struct lw_procinfo *lw_procinfo__get(struct lw_procinfo *pi);
void lw_procinfo__put(struct lw_procinfo *pi);

enum lw_verdict {
	LW_VERDICT_STABLE = 0,
	LW_VERDICT_PLATEAU,
	LW_VERDICT_GROWING,
	LW_VERDICT_LEAK,
};

const char *lw_verdict_name(enum lw_verdict v);

struct lw_site_snap {
	struct lw_procinfo *proc;	/* reference held by the snapshot */
	struct lw_stackinfo *stack;	/* reference held by the snapshot; NULL if frames lost */
	uint64_t stack_id;		/* the kernel's id of the stack: unique within a process */
	const char *allocator;		/* static string: "libc" */
	int64_t live_bytes;
	int64_t live_allocs;
	uint64_t allocs;
	uint64_t alloc_bytes;
	uint64_t frees;
	double growth_bytes_per_sec;
	enum lw_verdict verdict;
	double confidence;		/* 0..1 */
	double oldest_alloc_age_sec;	/* < 0 when unknown */
	double retained_share;		/* growth still live past the age boundaries; < 0 unknown */
	const char *reason;		/* static: why the trend engine judged it so */
	bool exited;			/* the process has gone; kept for the record */
};

enum lw_proc_verdict {
	LW_PROC_STABLE = 0,
	LW_PROC_GROWING,
	LW_PROC_FRAGMENTATION,
	LW_PROC_LEAK,
};

const char *lw_proc_verdict_name(enum lw_proc_verdict v);

/* One traced process: its memory as the kernel counts it, against its live heap. */
struct lw_proc_snap {
	struct lw_procinfo *proc;	/* reference held by the snapshot */
	int64_t rss_bytes;		/* resident set; -1 when unreadable */
	int64_t anon_bytes;		/* anonymous resident memory; -1 when unreadable */
	int64_t pss_bytes;		/* proportional set size; -1 when not measured yet */
	int64_t live_bytes;		/* live heap: sum over its sites */
	int64_t live_allocs;
	double rss_growth_bytes_per_sec;
	double live_growth_bytes_per_sec;
	int64_t held_bytes;		/* freed by the heap but still resident, as measured */
	enum lw_proc_verdict verdict;
	unsigned int nsites;		/* sites tracked for it */
	unsigned int nleaks;		/* of which with verdict leak */
};

struct lw_attached_obj {
	char *path;		/* path the probes were attached through */
	uint64_t dev;
	uint64_t ino;
	unsigned int nprobes;	/* probes attached on this object */
	unsigned int nmissing;	/* allocator functions the object lacks */
	const char *allocator;	/* the allocator it is ("libc", "jemalloc"), NULL: wrappers only */
	char *functions;	/* the functions probed, comma-separated */
	char *probe_points;	/* "name+offset", comma-separated: where each probe sits */
};

/* A CPython interpreter binary the daemon found, supported or not. */
struct lw_interp_status {
	char *path;		/* as the process that showed it to us maps it */
	uint64_t dev;
	uint64_t ino;
	char version[24];	/* "3.11.2", or "3.10" when only the file name tells */
	bool supported;
	const char *reason;	/* static string: why not supported, NULL when supported */
	const char *strategy;	/* static string: how allocations are seen, NULL if not traced */
	unsigned int nprobes;	/* kernel probes attached */
	unsigned int nmissing;	/* entry points of the strategy the binary lacks */
};

/*
 * Drain durations as a histogram (Prometheus buckets): the upper bounds, in seconds, of every
 * bucket but the last, which has none (+Inf).
 */
#define LW_DRAIN_BUCKETS 12
extern const double lw_drain_bucket_le[LW_DRAIN_BUCKETS - 1];

/* The bucket a drain of sec seconds falls in. */
unsigned int lw_drain_bucket(double sec);

struct lw_map_fill {
	const char *name;
	uint64_t used;
	uint64_t max;
};

struct lw_status {
	const char *version;
	const char *attach_mode;		/* static string: "uprobe_multi" or "classic" */
	const char *tracking;			/* static string: "full" or "sampled" */
	uint64_t sample_bytes;			/* mean bytes between samples, 0 when full */
	const char *return_probes;		/* static string: "session" or "uretprobe" */
	const char *processes;			/* static string: which processes, how */
	uint64_t links;				/* kernel links or perf events held */
	double uptime_sec;
	size_t nattached;
	struct lw_attached_obj *attached;	/* owned by the snapshot */
	size_t ninterps;
	struct lw_interp_status *interps;	/* owned by the snapshot */
	uint64_t tracked_processes;
	size_t nmaps;
	struct lw_map_fill maps[4];
	uint64_t drops[LW_DROP_MAX];
	uint64_t counts[LW_CNT_MAX];
	double last_drain_unix;		/* wall-clock time of the last drain, 0 before the first */
	double last_drain_duration_sec;
	uint64_t drains;
	uint64_t drain_hist[LW_DRAIN_BUCKETS];	/* drains per bucket since start, not cumulative */
	double drain_sum_sec;			/* total time spent draining */
	double interval_sec;
};

const char *lw_drop_name(enum lw_drop d);	/* "alloc_map_full", ... for JSON and metrics */
const char *lw_count_name(enum lw_count c);

struct lw_snapshot {
	unsigned int refcnt;
	double taken_unix;		/* wall clock */
	size_t nsites;
	struct lw_site_snap *sites;	/* ranked: leak verdicts first, then by growth */
	size_t nprocs;
	struct lw_proc_snap *procs;	/* running processes with sites, ranked like sites */
	struct lw_status status;
};

struct lw_snapshot *lw_snapshot__new(size_t nsites);	/* refcnt 1, zeroed */
struct lw_snapshot *lw_snapshot__get(struct lw_snapshot *s);
void lw_snapshot__put(struct lw_snapshot *s);
/* Room for nprocs process records (zeroed); -ENOMEM. */
int lw_snapshot__alloc_procs(struct lw_snapshot *s, size_t nprocs);
/* Sort sites and processes in the published order. */
void lw_snapshot__rank(struct lw_snapshot *s);

#endif /* LW_SNAPSHOT_H */
