# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""The cheap modes of tracing: byte-based sampling keeps live bytes right on average, a process
outside the chosen set gets no probes at all, session uprobes work and give way cleanly where
they cannot be had, and status says which mode runs and where each probe sits.

Costs are measured by tests/bench (make bench), never asserted here."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from lwtest import CLIENT_BIN, DAEMON_BIN, ZERO, by_site, requires_root, wait_until, within

pytestmark = requires_root

SITE = "lw_leak_site"


def run_daemon(*args):
    return subprocess.run([str(DAEMON_BIN), *args], capture_output=True, text=True, timeout=60)


def has_session():
    res = run_daemon("--check", "-C", "session=on", "-C", "python=false")
    if res.returncode == 0:
        return True
    assert "session" in res.stderr, res.stderr
    return False


def uprobe_links(pid):
    """The uprobe_multi links a process holds, as the kernel describes them: [{fdinfo}]."""
    links = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) != "anon_inode:bpf_link":
                continue
            info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
        except OSError:
            continue
        if re.search(r"^link_type:\s+u(?:ret)?probe_multi$", info, re.M):
            links.append(dict(re.findall(r"^(\w+):\s+(\S+)$", info, re.M)))
    return links


def libc_probe_bytes(pid, points):
    """The first byte at each probe point (name -> offset from the function) in the libc that
    process pid maps: 0xcc where a uprobe is installed in that process."""
    base = path = None
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and "/libc.so" in fields[5] and fields[2] == "00000000":
                base, path = int(fields[0].split("-")[0], 16), fields[5]
                break
    assert base is not None, f"no libc in /proc/{pid}/maps"
    syms = libc_symbols(path)
    out = {}
    with open(f"/proc/{pid}/mem", "rb") as mem:
        for name, off in points.items():
            if name in syms:
                mem.seek(base + syms[name] + off)
                out[name] = mem.read(1)[0]
    return out


def libc_symbols(path):
    """Dynamic symbol file offsets of libc's allocator (nm -D; glibc's text is mapped at its file
    offset from the first mapping)."""
    res = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True,
                         check=True)
    syms = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "Tt" and parts[2].split("@")[0] in ("malloc", "free"):
            syms.setdefault(parts[2].split("@")[0], int(parts[0], 16))
    return syms


def foreign_daemons(own):
    """Other leakwatchd processes on the machine (other test runs): their probes are in every
    process."""
    out = subprocess.run(["pgrep", "-x", "leakwatchd"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split() if int(p) != own]


@pytest.mark.parametrize("session", ["auto", "off"])
def test_sampled_live_bytes_within_10_percent(own_daemon, progs, session):
    # 5000 blocks of 4 KiB, one sample per 16 KiB on average: ~1100 samples, a relative error
    # of ~2.7% (one standard deviation) on the estimate of the 20 MiB the program keeps.
    size, steps, rate = 4096, 5000, 16384
    d = own_daemon("-C", f"sample_bytes={rate}", "-C", f"session={session}", "-C", "python=false")
    status = d.status()
    assert status["tracking"] == "sampled" and status["sample_bytes"] == rate, status
    prog = progs("leak", "fp", "-s", size, "-p", 1, "-n", steps)
    prog.wait_event("idle", timeout=120)
    truth = prog.latest(SITE)["live_bytes"]
    assert truth == size * steps

    # nothing is freed: once two drains agree, the estimate is final
    seen = []

    def settled():
        seen.append(by_site(d.stacks(prog.pid)).get(SITE, ZERO)["live_bytes"])
        return len(seen) >= 2 and seen[-1] == seen[-2] and seen[-1] > 0
    wait_until(settled, timeout=20, interval=1, what=f"{SITE}'s sampled live bytes to settle")
    got = seen[-1]
    assert within(got, truth, tolerance=0.10), \
        f"sampled live bytes {got} vs truth {truth} ({100 * (got / truth - 1):+.1f}%)"


def test_process_outside_the_chosen_set_gets_no_probes(own_daemon, progs):
    chosen = progs("leak", "fp", "-s", 4096, "-p", 20)
    other = progs("leak", "fp", "-s", 4096, "-p", 20)
    for p in (chosen, other):
        p.wait_event("ready")
    d = own_daemon("--pid", str(chosen.pid), "-C", "python=false")
    status = d.status()
    links = uprobe_links(d.proc.pid)
    if status["attach_mode"] != "uprobe_multi":
        pytest.skip("no uprobe_multi links here: the pid filter runs in the BPF programs")
    assert status["processes"] == "chosen, per-process links", status
    # the kernel fires each link in one process only: the chosen one
    assert links and {l.get("pid") for l in links} == {str(chosen.pid)}, links

    wait_until(lambda: by_site(d.stacks(chosen.pid)).get(SITE, ZERO)["live_bytes"] > 0,
               timeout=15, what="the chosen process's leak site")
    assert by_site(d.top(other.pid)).get(SITE, ZERO)["live_bytes"] == 0
    assert {g["pid"] for g in d.top(n=1000) if not g.get("exited")} == {chosen.pid}

    # With no other daemon on the machine, the other process's code is untouched: no breakpoint
    # at the probe points, while the chosen one has them.
    if foreign_daemons(d.proc.pid):
        return
    libc = next(o for o in status["attached"] if o.get("kind") == "libc")
    points = {p.split("+")[0]: int(p.split("+")[1]) for p in libc["probe_points"]}
    points = {k: v for k, v in points.items() if k in ("malloc", "free")}
    assert set(libc_probe_bytes(chosen.pid, points).values()) == {0xcc}
    assert 0xcc not in libc_probe_bytes(other.pid, points).values()


def test_chosen_process_exit_drops_its_links(own_daemon, progs):
    chosen = progs("leak", "fp", "-s", 4096, "-p", 20, "-n", 20)
    chosen.wait_event("ready")
    d = own_daemon("--pid", str(chosen.pid), "-C", "python=false")
    if d.status()["attach_mode"] != "uprobe_multi":
        pytest.skip("no uprobe_multi links here")
    assert uprobe_links(d.proc.pid)
    wait_until(lambda: by_site(d.stacks(chosen.pid)).get(SITE, ZERO)["live_bytes"] > 0,
               timeout=15, what="the chosen process's leak site")
    chosen.stop()
    wait_until(lambda: not uprobe_links(d.proc.pid), timeout=15,
               what="the exited process's links to go")


def test_session_uprobes_trace(own_daemon, progs):
    if not has_session():
        pytest.skip("this kernel has no session uprobes (Linux 6.10 or later)")
    d = own_daemon("-C", "session=on", "-C", "python=false")
    status = d.status()
    assert status["return_probes"] == "session", status
    # one session link per object: entry and return in one
    links = uprobe_links(d.proc.pid)
    assert len(links) == len(status["attached"]), (links, status)
    prog = progs("leak", "nofp", "-s", 4096, "-p", 20, "-n", 40)
    prog.wait_event("idle", timeout=30)
    final = prog.latest(SITE)
    wait_until(lambda: within(by_site(d.stacks(prog.pid)).get(SITE, ZERO)["live_bytes"],
                              final["live_bytes"]),
               timeout=10, what=f"{SITE} at {final['live_bytes']} bytes")


def test_session_falls_back_where_it_cannot_be_had(own_daemon, progs):
    # classic uprobes are perf events: no session there. auto gives way to return probes...
    d = own_daemon("-C", "attach=classic", "-C", "session=auto", "-C", "python=false")
    assert d.status()["return_probes"] == "uretprobe"
    assert "no session uprobes" in d.log_path.read_text()
    prog = progs("leak", "fp", "-s", 4096, "-p", 20, "-n", 40)
    prog.wait_event("idle", timeout=30)
    final = prog.latest(SITE)
    wait_until(lambda: within(by_site(d.stacks(prog.pid)).get(SITE, ZERO)["live_bytes"],
                              final["live_bytes"]),
               timeout=10, what=f"{SITE} at {final['live_bytes']} bytes")
    # ...and on refuses to start, in one line
    res = run_daemon("--check", "-C", "attach=classic", "-C", "session=on")
    assert res.returncode == 1
    assert len(res.stderr.strip().splitlines()) == 1 and "session" in res.stderr, res.stderr


def test_status_shows_probe_points_and_mode(own_daemon):
    d = own_daemon("-C", "python=false")
    status = d.status()
    assert status["tracking"] == "full" and status["sample_bytes"] == 0, status
    assert status["processes"] == "all", status
    assert status["return_probes"] in ("session", "uretprobe"), status
    # the system's glibc (another libc on the machine may lack functions, or be a copy)
    libc = [o for o in status["attached"] if o.get("kind") == "libc" and "free" in o["functions"]]
    assert libc, status
    points = dict(p.split("+") for p in libc[0]["probe_points"])
    assert set(points) == set(libc[0]["functions"]), libc[0]
    assert all(v.isdigit() for v in points.values()), points
    # glibc's free opens with its NULL check: the probe sits past it, on the push
    assert int(points["free"]) > 0, points
    human = subprocess.run([str(CLIENT_BIN), "--socket", str(d.socket), "status"],
                           capture_output=True, text=True, timeout=10, check=True).stdout
    assert "probe points:" in human and "free+" in human, human
    assert "tracking:" in human and "full" in human, human


def test_map_capacities_follow_the_config(own_daemon):
    d = own_daemon("-C", "python=false", "-C", "max_allocations=4096", "-C", "max_sites=1024",
                   "-C", "max_stacks=512")
    limits = {m["name"]: m["max"] for m in d.status()["maps"]}
    assert (limits["allocations"], limits["sites"], limits["stacks"]) == (4096, 1024, 512), limits


@pytest.mark.parametrize("kv, allowed", [
    ("sample_bytes=lots", "a number of bytes from 0 to 4294967296"),
    ("sample_bytes=-1", "a number of bytes from 0 to 4294967296"),
    ("sample_bytes=4294967297", "a number of bytes from 0 to 4294967296"),
    ("session=maybe", "auto, on or off"),
])
def test_bad_mode_values_are_one_line_errors(kv, allowed):
    res = run_daemon("--check", "-C", kv)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and kv.split("=")[0] in lines[0] and allowed in lines[0], res.stderr
