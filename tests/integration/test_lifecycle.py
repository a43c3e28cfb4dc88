# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Processes come and go: one started after the daemon is picked up, one that exits is cleared,
and one that gets an old process's pid starts from nothing."""

import time

import pytest

from lwtest import (INTERVAL, ZERO, by_site, alloc_map_entries, requires_root, wait_until,
                    within)

pytestmark = requires_root

# Time for the daemon to sweep the kernel maps (it may do so less often than it drains).
SWEEP_TIMEOUT = 30

STATUS_FIELDS = ("version", "uptime_sec", "attached", "tracked_processes", "maps", "drops",
                 "counts", "last_drain_unix", "drains")


def test_process_started_after_daemon(daemon, progs, variant):
    before = daemon.status()
    for field in STATUS_FIELDS:
        assert field in before, f"status lacks {field!r}: {before}"
    assert before["attached"], f"status: nothing attached: {before}"

    prog = progs("leak", variant, "-s", 2000, "-p", 20)
    prog.wait_event("ready")
    sites = wait_until(lambda: by_site(daemon.top(prog.pid)).get("lw_leak_site", ZERO)["sites"],
                       timeout=10, what=f"pid {prog.pid} in top")
    g = sites[0]
    assert g["comm"] == prog.path.name[:15], g
    assert g["exe"] == str(prog.path.resolve()), g
    assert g["allocator"] == "libc", g

    after = daemon.status()
    assert after["tracked_processes"] >= 1, after
    assert after["uptime_sec"] >= before["uptime_sec"], (before, after)
    assert after["drains"] >= before["drains"], (before, after)


def test_exited_process_is_cleared(daemon, progs, variant):
    # Enough allocations to stand out of the count: the Python processes on a busy machine,
    # traced object by object, move it by tens of thousands.
    steps, size, site = 200000, 32, "lw_exiter_site"
    before = alloc_map_entries(daemon.status())
    prog = progs("exiter", variant, "-n", steps, "-s", size, "-w", stdin=True)
    pid = prog.pid
    prog.wait_event("leaked")
    truth = prog.latest(site)

    wait_until(lambda: within(by_site(daemon.stacks(pid)).get(site, ZERO)["live_bytes"],
                              truth["live_bytes"]),
               timeout=10, what=f"{site} with {truth['live_bytes']} bytes")

    # status may count the map's entries only at a periodic sweep, several drains apart. Every
    # other process on the machine moves the count too (by thousands on a busy box), so here and
    # below half of the process's allocations is what must show.
    def map_holds_them():
        entries = alloc_map_entries(daemon.status())
        assert entries >= before + steps / 2, \
            f"the live-allocation map holds {entries} entries, {before} before pid {pid} started"
        return entries

    peak = wait_until(map_holds_them, timeout=SWEEP_TIMEOUT,
                      what=f"the {steps} allocations of pid {pid} in status maps")

    prog.send("exit\n")
    assert prog.proc.wait(10) == 0

    def cleared():
        # The kernel side: the process's records are swept from the live-allocation map.
        entries = alloc_map_entries(daemon.status())
        assert entries <= peak - steps / 2, \
            f"live-allocation map still holds {entries} entries (with the process: {peak})"
        # What users see: the process is gone, or kept for a while but marked exited and never
        # passed off as a live grower.
        for what, sites in (("top --pid", daemon.top(pid)),
                            ("top", [g for g in daemon.top() if g["pid"] == pid]),
                            ("stacks --pid", daemon.stacks_or_none(pid))):
            live = [s for s in sites or [] if not s.get("exited")]
            assert not live, f"{what}: exited pid {pid} still has live sites: {live[:2]}"
        return True

    wait_until(cleared, timeout=SWEEP_TIMEOUT, what=f"exited pid {pid} to be cleared")


def test_pid_reuse_starts_clean(daemon, progs, variant):
    old_site, new_site = "lw_pidreuse_old_site", "lw_pidreuse_new_site"
    prog = progs("pidreuse", variant, "-n", 40, "-s", 3000, stdin=True)
    pid = prog.wait_event("old_ready")["target"]
    old_truth = prog.latest(old_site, pid)

    # The daemon must have seen the old process's site, or the test proves nothing.
    wait_until(lambda: within(by_site(daemon.stacks(pid)).get(old_site, ZERO)["live_bytes"],
                              old_truth["live_bytes"]),
               timeout=10, what=f"{old_site} of pid {pid}")

    prog.send("go\n")
    ev = prog.wait_line(lambda l: l.get("event") in ("reused", "reuse_failed", "reuse_unsupported"))
    if ev["event"] == "reuse_unsupported":
        pytest.skip(f"cannot steer pid allocation here: {ev['error']}")
    assert ev["event"] == "reused", f"no process got pid {pid} back: {ev}"
    new_truth = prog.wait_line(lambda l: l.get("site") == new_site)
    assert new_truth["pid"] == pid

    def only_new_site():
        # Sites of the old process may linger only marked "exited" (by_site leaves those out).
        for what, sites in (("stacks", daemon.stacks(pid)), ("top", daemon.top(pid))):
            live = by_site(sites)
            assert old_site not in live, \
                f"{what} --pid {pid}: the new process inherited {old_site}: {live[old_site]}"
        got = by_site(daemon.stacks(pid)).get(new_site, ZERO)
        assert within(got["live_bytes"], new_truth["live_bytes"]), \
            f"stacks --pid {pid}: {got['live_bytes']} bytes at {new_site}, " \
            f"truth {new_truth['live_bytes']}"
        return True

    wait_until(only_new_site, timeout=10, what=f"pid {pid} to show only {new_site}")
    time.sleep(2 * INTERVAL)    # and it stays that way
    only_new_site()
