// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The floor of tracing cost: empty BPF programs at the very points where leakwatchd probes libc
 * (the same allocator functions and wrappers, at the offsets lw_tracer__probe_offset chooses),
 * attached as uprobe_multi links, while a command runs. What a probed process pays above this
 * is leakwatch's own work; this much is the kernel's uprobe machinery.
 *
 *   floor [-m entry|full|session|session-entry] [-z] -- COMMAND [ARGS...]
 *
 *   entry          entry probes only (the floor of a sampled mode)
 *   full           entry probes, and return probes on the functions that return memory
 *   session        one session uprobe per function, the return half run except for free
 *   session-entry  one session uprobe per function, the return half never run
 *   -z             probe each function's first byte instead of the decoded offset
 *
 * Exits with the command's status. Needs root (CAP_BPF, CAP_PERFMON).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "allocfns.h"
#include "elfsym.h"
#include "tracer.h"
#include "uprobe_multi.h"

#define MAX_POINTS 64

/* The libc this process maps: the one the command will map too. */
static int find_libc(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');

		if (!path || !strstr(path, "/libc.so"))
			continue;
		path[strcspn(path, "\n")] = '\0';
		snprintf(buf, len, "%s", path);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

/*
 * An empty program: r0 = ret; exit. With skip_free, r0 = 1 for free's cookie (no return
 * half), 0 otherwise, which is what leakwatch's session program answers in full tracking.
 */
static int load_empty(int attach_type, int ret, bool skip_free)
{
	struct bpf_insn plain[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = ret },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bpf_insn by_cookie[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_attach_cookie },
		{ .code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = BPF_REG_0, .off = 2,
		  .imm = LW_FN_FREE },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = attach_type);
	int fd;

	if (skip_free)
		fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "lw_floor", "GPL", by_cookie,
				   sizeof(by_cookie) / sizeof(by_cookie[0]), &o);
	else
		fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "lw_floor", "GPL", plain,
				   sizeof(plain) / sizeof(plain[0]), &o);
	return fd < 0 ? -errno : fd;
}

static int attach(int prog, const char *path, const uint64_t *offs, const uint64_t *cookies,
		unsigned int n, enum lw_umulti_kind kind)
{
	struct lw_umulti_opts o = {
		.path = path, .offsets = offs, .cookies = cookies, .cnt = n, .kind = kind,
	};

	return lw_umulti__attach(prog, &o);
}

int main(int argc, char **argv)
{
	uint64_t offs[MAX_POINTS], cookies[MAX_POINTS], roffs[MAX_POINTS], rcookies[MAX_POINTS];
	const char *mode = "full";
	struct lw_allocfns fns;
	unsigned int n = 0, nr = 0;
	bool at_start = false;
	char libc[4096], err[256];
	struct lw_elf *elf;
	int c, status, fds[2] = { -1, -1 }, prog;
	pid_t child;

	while ((c = getopt(argc, argv, "m:z")) != -1) {
		switch (c) {
		case 'm':
			mode = optarg;
			break;
		case 'z':
			at_start = true;
			break;
		default:
			fprintf(stderr, "usage: %s [-m entry|full|session|session-entry] [-z] -- CMD...\n",
				argv[0]);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no command\n", argv[0]);
		return 2;
	}
	if (find_libc(libc, sizeof(libc)) || lw_allocfns__init(&fns, "", err, sizeof(err)) ||
	    !(elf = lw_elf__open(libc))) {
		fprintf(stderr, "floor: cannot find libc's allocator\n");
		return 1;
	}
	for (size_t i = 0; i < fns.nlibc && n < MAX_POINTS; i++) {
		struct lw_elf_sym sym;
		uint64_t off;
		bool dup = false;

		if (lw_elf__find_func(elf, fns.libc[i].name, &sym))
			continue;
		off = at_start ? sym.file_offset : lw_tracer__probe_offset(elf, &sym, fns.libc[i].fn);
		for (unsigned int k = 0; k < n; k++)
			dup |= offs[k] == off;
		if (dup)
			continue;
		offs[n] = off;
		cookies[n++] = fns.libc[i].fn;
		if (lw_allocfn__has_return(fns.libc[i].fn)) {
			roffs[nr] = off;
			rcookies[nr++] = fns.libc[i].fn;
		}
	}
	lw_elf__free(elf);
	lw_allocfns__free(&fns);

	if (!strcmp(mode, "entry") || !strcmp(mode, "full")) {
		prog = load_empty(LW_BPF_TRACE_UPROBE_MULTI, 0, false);
		if (prog >= 0 && !strcmp(mode, "full"))
			fds[1] = attach(prog, libc, roffs, rcookies, nr, LW_UMULTI_RETURN);
		if (prog >= 0)
			fds[0] = attach(prog, libc, offs, cookies, n, LW_UMULTI_ENTRY);
	} else if (!strcmp(mode, "session") || !strcmp(mode, "session-entry")) {
		prog = load_empty(LW_BPF_TRACE_UPROBE_SESSION, 1, !strcmp(mode, "session"));
		if (prog >= 0)
			fds[0] = attach(prog, libc, offs, cookies, n, LW_UMULTI_SESSION);
	} else {
		fprintf(stderr, "floor: unknown mode '%s'\n", mode);
		return 2;
	}
	if (prog < 0 || fds[0] < 0 || (!strcmp(mode, "full") && fds[1] < 0)) {
		fprintf(stderr, "floor: failed to attach empty probes to %s: %s\n", libc,
			strerror(prog < 0 ? -prog : fds[0] < 0 ? -fds[0] : -fds[1]));
		return 1;
	}
	fprintf(stderr, "floor: %s probes at %u points of %s\n", mode, n, libc);

	child = fork();
	if (child == 0) {
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "floor: cannot run %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	if (child < 0 || waitpid(child, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
