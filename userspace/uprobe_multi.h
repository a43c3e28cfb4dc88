/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * uprobe_multi BPF links (Linux 6.6+), created with the bpf(2) syscall because Debian's libbpf
 * 1.1 has no API for them. One link attaches one program at many offsets of one file, each with
 * its own cookie, and needs only CAP_BPF + CAP_PERFMON; the classic perf-event uprobe needs
 * CAP_SYS_ADMIN and costs one perf event, and one RCU grace period at detach, per offset.
 *
 * A program attached this way must have been loaded with expected_attach_type
 * LW_BPF_TRACE_UPROBE_MULTI (bpf_program__set_expected_attach_type before load). It is an
 * ordinary kprobe-type program: it reads arguments through pt_regs, and bpf_get_attach_cookie()
 * returns the cookie of the offset that fired.
 */
#ifndef LW_UPROBE_MULTI_H
#define LW_UPROBE_MULTI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* enum bpf_attach_type values of the kernel's UAPI, absent from Debian 12's 6.1 headers. */
#define LW_BPF_TRACE_UPROBE_MULTI 48
#define LW_BPF_TRACE_UPROBE_SESSION 57

enum lw_umulti_kind {
	LW_UMULTI_ENTRY,  /* at the offsets */
	LW_UMULTI_RETURN, /* when the function entered at each offset returns */
	/*
	 * A session uprobe (Linux 6.10+): the program runs at the offsets, and again when the
	 * function returns if it returned 0 the first time; bpf_session_is_return() tells which.
	 * The program must be loaded with LW_BPF_TRACE_UPROBE_SESSION as expected attach type.
	 */
	LW_UMULTI_SESSION,
};

struct lw_umulti_opts {
	const char *path;	 /* the file; any path the kernel resolves (/proc/PID/root/...) */
	const uint64_t *offsets; /* file offsets */
	const uint64_t *cookies; /* one per offset, or NULL for 0 */
	uint32_t cnt;
	enum lw_umulti_kind kind;
	pid_t pid; /* fire only in this process (tgid); 0 = every process */
};

/*
 * Create one link. Returns the link fd (closing it detaches every offset at once), or -errno:
 * -EINVAL when the kernel has no uprobe_multi (or the program was not loaded for it), -EBADF
 * when path is not a regular file, -ENOENT, -ESRCH for a pid that does not exist, -EPERM.
 */
int lw_umulti__attach(int prog_fd, const struct lw_umulti_opts *opts);

/*
 * Does this kernel create uprobe_multi links? 0 if it does, -EOPNOTSUPP if not, -EPERM when BPF
 * itself is not permitted (then nothing can be said), another -errno on a failure to probe.
 * Loads a two-instruction program and asks for a link on a directory, which a kernel with the
 * feature refuses with EBADF after it has accepted the attach type; nothing is ever attached.
 */
int lw_umulti__probe(void);
/* The same for session uprobes (LW_UMULTI_SESSION). */
int lw_umulti__probe_session(void);

#endif /* LW_UPROBE_MULTI_H */
