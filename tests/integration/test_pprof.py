# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Heap profiles read by the real tool: `go tool pprof` (Debian's golang-go).

The leaking test program's site must head `go tool pprof -top` with inuse_space within 2% of
the truth it prints, whether the profile comes from /debug/pprof/heap?pid= (pprof fetches the
URL itself) or from `leakwatch pprof --pid PID -o FILE` over the control socket.
"""

import os
import re
import shutil
import subprocess

import pytest

from lwtest import CLIENT_BIN, requires_root, wait_until, within

pytestmark = requires_root

SITE = "lw_leak_site"


def go_pprof(tmp_path, *args):
    go = shutil.which("go")
    if not go:
        pytest.skip("go not installed (Debian package golang-go; 'make deps' installs it)")
    # pprof keeps fetched profiles in $PPROF_TMPDIR (else under $HOME): keep them here.
    env = dict(os.environ, HOME=str(tmp_path), PPROF_TMPDIR=str(tmp_path))
    res = subprocess.run([go, "tool", "pprof", *args], capture_output=True, text=True,
                         timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, f"go tool pprof {' '.join(args)}: exit {res.returncode}\n" \
                                f"{res.stderr}"
    return res.stdout


def top_bytes(output, function):
    """flat bytes of function in `pprof -top -unit=B` output, or None."""
    for line in output.splitlines():
        m = re.match(r"\s*(\d+)B\s+[\d.]+%\s+[\d.]+%\s+(\d+)B\s+[\d.]+%\s+(.+?)\s*$", line)
        if m and m.group(3) == function:
            return int(m.group(1))
    return None


TOP = ["-top", "-sample_index=inuse_space", "-unit=B", "-nodefraction=0", "-nodecount=1000"]


def test_go_pprof_reads_the_leak(daemon, progs, variant, tmp_path):
    size, period_ms, steps = 16384, 20, 100
    prog = progs("leak", variant, "-s", size, "-p", period_ms, "-n", steps)
    prog.wait_event("idle", timeout=steps * period_ms / 1000 + 10)
    truth = prog.latest(SITE)["live_bytes"]
    url = f"{daemon.metrics_url}/debug/pprof/heap?pid={prog.pid}"

    def from_http():
        out = go_pprof(tmp_path, *TOP, url)
        got = top_bytes(out, SITE)
        assert got is not None and within(got, truth), \
            f"pprof -top: {SITE} {got} B, truth {truth}:\n{out}"
        return out

    out = wait_until(from_http, timeout=20, interval=0.5, what=f"{SITE} in pprof -top")
    assert "Type: inuse_space" in out, out
    got = top_bytes(out, SITE)
    print(f"\npprof -top (HTTP): {SITE} {got} B, truth {truth} "
          f"({100 * (got - truth) / truth:+.2f}%)")

    # The same profile through the control socket and the client, to a file.
    path = tmp_path / "heap.pb.gz"
    res = subprocess.run([str(CLIENT_BIN), "--socket", str(daemon.socket), "pprof", "--pid",
                          str(prog.pid), "-o", str(path)], capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 0, res.stderr
    assert str(path) in res.stdout and path.read_bytes()[:2] == b"\x1f\x8b"
    out = go_pprof(tmp_path, *TOP, str(path))
    got = top_bytes(out, SITE)
    assert got is not None and within(got, truth), f"{SITE} {got} B, truth {truth}:\n{out}"
    # Every process in one profile, told apart by a pid label.
    out = go_pprof(tmp_path, *TOP, f"-tagfocus=pid={prog.pid}", f"{daemon.metrics_url}"
                   "/debug/pprof/heap")
    got = top_bytes(out, SITE)
    assert got is not None and within(got, truth), f"{SITE} {got} B, truth {truth}:\n{out}"


def test_mappings_carry_build_ids(daemon, progs, tmp_path):
    prog = progs("leak", "fp", "-s", 4096, "-p", 20, "-n", 20)
    prog.wait_event("idle", timeout=10)
    build_id = subprocess.run(["readelf", "-n", str(prog.path)], capture_output=True,
                              text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", build_id)
    if not m:
        pytest.skip(f"{prog.path} has no GNU build id note")

    def raw():
        out = go_pprof(tmp_path, "-raw", f"{daemon.metrics_url}/debug/pprof/heap?pid={prog.pid}")
        assert SITE in out, f"{SITE} not in the profile yet"
        return out

    out = wait_until(raw, timeout=20, interval=0.5, what=f"{SITE} in pprof -raw")
    mappings = out.split("Mappings", 1)[1]
    line = next((l for l in mappings.splitlines() if str(prog.path) in l), None)
    assert line and m.group(1) in line, f"no mapping of {prog.path} with build id {m.group(1)}:" \
                                        f"\n{mappings}"


def test_client_refuses_a_terminal(daemon, progs):
    if not shutil.which("script"):
        pytest.skip("script (util-linux) not installed")
    prog = progs("leak", "fp", "-s", 4096, "-p", 20, "-n", 10)
    prog.wait_event("idle", timeout=10)
    wait_until(lambda: daemon.stacks(prog.pid), timeout=10, what=f"sites of pid {prog.pid}")
    # script gives the client a terminal as its stdout
    cmd = f"{CLIENT_BIN} --socket {daemon.socket} pprof --pid {prog.pid} -o -"
    res = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=30)
    assert res.returncode == 1, res
    assert b"refusing to write a binary profile to a terminal" in res.stdout, res.stdout
