# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A steady leak is found at its site, with the bytes the program says it leaked."""

import time

from lwtest import (INTERVAL, ZERO, by_site, check_grower_shape, requires_root, wait_until,
                    within)

pytestmark = requires_root

SITE = "lw_leak_site"


def leak_growers(daemon, prog):
    return by_site(daemon.top(prog.pid)).get(SITE, ZERO)


def check_while_leaking(daemon, prog):
    """The daemon's live bytes lie within 2% of the truth window around one query.

    The program keeps leaking, and the daemon may answer from its last drain: the window opens at
    that drain (status last_drain_unix; two drain periods back when status does not say) and
    closes at the first truth printed after the answer.
    """
    drained = daemon.status().get("last_drain_unix")
    t0, wall0 = time.monotonic(), time.time()
    got = leak_growers(daemon, prog)
    t1 = time.monotonic()
    if isinstance(drained, (int, float)) and 0 < drained <= wall0:
        opens = t0 - (wall0 - drained) - 0.1    # the drain reads maps before it stamps the time
    else:
        opens = t0 - 2 * INTERVAL - 0.2
    lo, hi = prog.truth_before(SITE, opens), prog.truth_after(SITE, t1)
    assert got["sites"], f"top --pid {prog.pid} has no site with first frame {SITE}"
    assert within(got["live_bytes"], lo, hi), \
        f"{SITE}: daemon says {got['live_bytes']} live bytes, truth was {lo}..{hi}"


def test_leak_site_matches_truth(daemon, progs, variant):
    size, period_ms, steps = 4096, 50, 80
    prog = progs("leak", variant, "-s", size, "-p", period_ms, "-n", steps)
    prog.wait_event("ready")

    sites = wait_until(lambda: leak_growers(daemon, prog)["sites"], timeout=10,
                       what=f"{SITE} in top --pid {prog.pid}")
    for g in sites:
        check_grower_shape(g)
        frame = g["frames"][0]
        assert frame["kind"] == "native"
        assert frame["module"] and frame["module"].endswith(prog.path.name), frame
        assert g["allocator"] == "libc", g

    # While it leaks: three queries, one drain apart.
    for _ in range(3):
        check_while_leaking(daemon, prog)
        time.sleep(INTERVAL)

    # Once it stops: the exact count, in top and in stacks alike.
    prog.wait_event("idle", timeout=steps * period_ms / 1000 + 10)
    final = prog.latest(SITE)

    def settled():
        # stacks lists every live site; top may leave out a site that stopped growing, but if
        # it lists it, with the same numbers.
        for what, sites in (("stacks", daemon.stacks(prog.pid)), ("top", daemon.top(prog.pid))):
            got = by_site(sites).get(SITE, ZERO)
            if what == "top" and not got["sites"]:
                continue
            assert within(got["live_bytes"], final["live_bytes"]), \
                f"{what}: {got['live_bytes']} live bytes at {SITE}, truth {final['live_bytes']}"
            assert within(got["live_allocs"], final["live_allocs"]), \
                f"{what}: {got['live_allocs']} live allocations at {SITE}, " \
                f"truth {final['live_allocs']}"
        return True

    wait_until(settled, timeout=10, what=f"{SITE} to settle at the final truth")
