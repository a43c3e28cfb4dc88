# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""procs: a traced process's resident memory against its live heap, with a process verdict."""

from lwtest import requires_root, wait_until

pytestmark = requires_root

FIELDS = {"pid": int, "comm": str, "exe": str, "rss_bytes": int, "live_bytes": int,
          "rss_growth_bytes_per_sec": (int, float), "live_growth_bytes_per_sec": (int, float),
          "verdict": str}


def vm_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"/proc/{pid}/status has no {key}")


def test_procs_shape_and_numbers(daemon, progs):
    prog = progs("leak", "fp", "-s", 65536, "-p", 20, "-n", 1500)
    prog.wait_event("ready")

    def listed():
        procs = daemon.procs(prog.pid)
        return procs and procs[0]["live_bytes"] >= 1 << 20 and procs[0]

    p = wait_until(listed, timeout=15, what=f"pid {prog.pid} in procs with 1 MiB live")
    for key, kind in FIELDS.items():
        assert isinstance(p[key], kind), f"procs: {key} = {p[key]!r}"
    assert p["verdict"] in ("leak", "fragmentation", "growing", "stable")
    assert p["exe"].endswith("leak-fp") and p["comm"].startswith("leak")
    # RSS as the kernel counts it, give or take what moved between the drain and now.
    rss_now = vm_kib(prog.pid, "VmRSS") * 1024
    assert abs(p["rss_bytes"] - rss_now) <= max(0.25 * rss_now, 2 << 20), (p, rss_now)
    assert p["anon_bytes"] <= p["rss_bytes"]
    # The live heap is the sum over the process's sites.
    total = sum(s["live_bytes"] for s in daemon.stacks(prog.pid))
    assert abs(p["live_bytes"] - total) <= 2 * 65536 * 2, (p["live_bytes"], total)
    # A heap growing by ~3 MiB/s shows as growth of the process, then its leak as its verdict.
    wait_until(lambda: daemon.procs(prog.pid)[0]["verdict"] in ("growing", "leak"), timeout=20,
               what=f"pid {prog.pid} growing or leak in procs")
    assert daemon.procs(prog.pid)[0]["live_growth_bytes_per_sec"] > 1 << 20


def test_procs_unknown_pid_is_empty(daemon):
    assert daemon.procs(999999999) == []
