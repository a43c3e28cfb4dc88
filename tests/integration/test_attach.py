# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""How the allocator probes are attached: uprobe_multi links (two per libc, CAP_BPF + CAP_PERFMON)
or classic perf-event uprobes (one per function, CAP_SYS_ADMIN), and the same leak seen either
way. The kernel's own view of the daemon's file descriptors tells which kind it holds."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from lwtest import DAEMON_BIN, ZERO, by_site, requires_root, wait_until, within

pytestmark = requires_root

SITE = "lw_leak_site"


def check(*args):
    return subprocess.run([str(DAEMON_BIN), "--check", *args], capture_output=True, text=True,
                          timeout=60)


def kernel_has_uprobe_multi():
    res = check("-C", "attach=multi")
    if res.returncode == 0:
        return True
    assert "cannot create uprobe_multi links" in res.stderr, res.stderr
    return False


def probe_fds(pid):
    """(uprobe_multi links, the offsets they cover, perf event fds) of a process, as the kernel
    describes its file descriptors."""
    links = offsets = perf = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
            if target == "anon_inode:[perf_event]":
                perf += 1
            elif target == "anon_inode:bpf_link":
                info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
                if re.search(r"^link_type:\s+u(?:ret)?probe_multi$", info, re.M):
                    links += 1
                    offsets += int(re.search(r"^uprobe_cnt:\s+(\d+)$", info, re.M)[1])
        except OSError:
            continue
    return links, offsets, perf


def test_check_names_the_mode():
    multi = kernel_has_uprobe_multi()
    res = check()
    assert res.returncode == 0, res.stderr
    assert f"attach mode: {'uprobe_multi' if multi else 'classic'}" in res.stdout, res.stdout
    res = check("-C", "attach=classic")
    assert res.returncode == 0, res.stderr
    assert "attach mode: classic" in res.stdout, res.stdout


def test_bad_attach_value():
    res = subprocess.run([str(DAEMON_BIN), "-C", "attach=fast"], capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 1
    assert "attach" in res.stderr and "auto, multi or classic" in res.stderr, res.stderr


@pytest.mark.parametrize("mode", ["multi", "classic"])
def test_mode_attaches_and_traces(own_daemon, progs, mode):
    if mode == "multi" and not kernel_has_uprobe_multi():
        pytest.skip("this kernel has no uprobe_multi links (Linux 6.6 or later)")
    # libc only: the CPython interpreters on the machine would add links of their own
    # session=off: a link for the entry offsets and one for the returns, as counted below
    d = own_daemon("-C", f"attach={mode}", "-C", "python=false", "-C", "session=off")
    status = d.status()
    assert status["attach_mode"] == ("uprobe_multi" if mode == "multi" else "classic"), status
    nprobes = sum(o["probes"] for o in status["attached"])
    fds = probe_fds(d.proc.pid)
    if mode == "multi":
        # one link for the entry offsets and one for the return offsets of each libc
        assert fds == (2 * len(status["attached"]), nprobes, 0), (fds, status)
    else:
        assert fds == (0, 0, nprobes), (fds, status)

    prog = progs("leak", "nofp", "-s", 4096, "-p", 20, "-n", 40)
    prog.wait_event("idle", timeout=30)
    final = prog.latest(SITE)
    wait_until(lambda: within(by_site(d.stacks(prog.pid)).get(SITE, ZERO)["live_bytes"],
                              final["live_bytes"]),
               timeout=10, what=f"{SITE} at {final['live_bytes']} bytes ({mode})")
