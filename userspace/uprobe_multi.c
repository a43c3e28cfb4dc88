// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>

#include "uprobe_multi.h"

#define LW_BPF_F_UPROBE_MULTI_RETURN 1u

/*
 * union bpf_attr as BPF_LINK_CREATE reads it for a uprobe_multi link (the kernel's UAPI since
 * 6.6). The system's 6.1 header stops at kprobe_multi, which sits at the same offset: the
 * assertion below ties the two layouts together. A kernel that predates the fields sees them as
 * a non-zero tail and refuses the call with EINVAL, which is what the probe expects there.
 */
struct umulti_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__aligned_u64 path;
	__aligned_u64 offsets;
	__aligned_u64 ref_ctr_offsets;
	__aligned_u64 cookies;
	__u32 cnt;
	__u32 umulti_flags;
	__u32 pid;
	__u32 pad;
};

_Static_assert(offsetof(union bpf_attr, link_create.kprobe_multi) ==
		       offsetof(struct umulti_attr, path),
	       "uprobe_multi sits where kprobe_multi does");
_Static_assert(sizeof(struct umulti_attr) <= sizeof(union bpf_attr), "attr size");

int lw_umulti__attach(int prog_fd, const struct lw_umulti_opts *o)
{
	struct umulti_attr attr;
	int fd;

	if (!o->path || !o->offsets || !o->cnt)
		return -EINVAL;
	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = prog_fd;
	attr.attach_type = o->kind == LW_UMULTI_SESSION ? LW_BPF_TRACE_UPROBE_SESSION :
							  LW_BPF_TRACE_UPROBE_MULTI;
	attr.path = (__u64)(unsigned long)o->path;
	attr.offsets = (__u64)(unsigned long)o->offsets;
	attr.cookies = (__u64)(unsigned long)o->cookies;
	attr.cnt = o->cnt;
	attr.umulti_flags = o->kind == LW_UMULTI_RETURN ? LW_BPF_F_UPROBE_MULTI_RETURN : 0;
	attr.pid = o->pid;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

static int probe_kind(enum lw_umulti_kind kind)
{
	/* r0 = 0; exit */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, popts,
		    .expected_attach_type = (enum bpf_attach_type)(kind == LW_UMULTI_SESSION ?
			    LW_BPF_TRACE_UPROBE_SESSION : LW_BPF_TRACE_UPROBE_MULTI));
	const uint64_t off = 0;
	struct lw_umulti_opts o = { .path = "/", .offsets = &off, .cnt = 1, .kind = kind };
	int prog, link, err;

	prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "lw_umulti_probe", "GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), &popts);
	if (prog < 0) {
		err = -errno;
		return err == -EPERM || err == -EACCES ? -EPERM : -EOPNOTSUPP;
	}
	link = lw_umulti__attach(prog, &o);
	close(prog);
	if (link >= 0) {
		/* cannot happen ("/" is no regular file), but a link is a link: it works */
		close(link);
		return 0;
	}
	switch (link) {
	case -EBADF:
		return 0;
	case -EPERM:
		return -EPERM;
	case -EINVAL:	  /* attach type unknown before 6.6 */
	case -EOPNOTSUPP: /* kernel built without uprobes */
	case -E2BIG:	  /* attr larger than the kernel's */
		return -EOPNOTSUPP;
	default:
		return link;
	}
}

int lw_umulti__probe(void)
{
	return probe_kind(LW_UMULTI_ENTRY);
}

int lw_umulti__probe_session(void)
{
	/* before 6.10 the kernel refuses the attach type at load (EINVAL): reported as missing */
	return probe_kind(LW_UMULTI_SESSION);
}
