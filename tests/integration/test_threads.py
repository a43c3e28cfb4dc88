# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Several threads leaking at one site add up; their exits do not retire the process."""

from lwtest import ZERO, by_site, requires_root, wait_until, within

pytestmark = requires_root

SITE = "lw_thread_leak_site"


def test_threads_add_up(daemon, progs, variant):
    threads, steps, period_ms, size = 4, 50, 10, 1024
    prog = progs("threads", variant, "-t", threads, "-n", steps, "-p", period_ms, "-s", size)
    prog.wait_event("done", timeout=30)
    final = prog.latest(SITE)
    assert final["live_allocs"] == threads * steps

    def total_matches():
        got = by_site(daemon.stacks(prog.pid)).get(SITE, ZERO)
        assert within(got["live_bytes"], final["live_bytes"]) \
            and within(got["live_allocs"], final["live_allocs"]), \
            f"{SITE}: {got['live_bytes']} bytes in {got['live_allocs']} allocations, " \
            f"truth {final['live_bytes']} in {final['live_allocs']}"
        return True

    wait_until(total_matches, timeout=10, what=f"the threads' total at {SITE}")
