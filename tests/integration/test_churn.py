# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Fast malloc/free churn through a fixed ring is not a leak: live bytes stay at the ring."""

import time

from lwtest import INTERVAL, TOLERANCE, ZERO, by_site, requires_root, wait_until

pytestmark = requires_root

SITE = "lw_churn_site"


def test_churn_stays_flat(daemon, progs, variant):
    ring, size, rate = 64, 256, 20000
    ring_bytes = ring * size
    ceiling = ring_bytes * (1 + TOLERANCE) + size
    prog = progs("churn", variant, "-N", ring, "-s", size, "-r", rate)
    prog.wait_line(lambda l: l.get("site") == SITE and l["live_allocs"] == ring)

    def churn_bytes():
        return by_site(daemon.stacks(prog.pid)).get(SITE, ZERO)["live_bytes"]

    # The ring is seen at all (a daemon that saw nothing would pass the rest).
    wait_until(lambda: churn_bytes() >= ring_bytes * (1 - TOLERANCE) - size, timeout=10,
               what=f"the {ring_bytes}-byte ring at {SITE}")

    samples = []
    deadline = time.monotonic() + 6 * INTERVAL
    while time.monotonic() < deadline:
        live = churn_bytes()
        samples.append(live)
        assert live <= ceiling, f"{SITE} holds {live} bytes, the ring is {ring_bytes}: {samples}"
        for g in daemon.top(prog.pid):
            if g["frames"] and g["frames"][0].get("symbol") == SITE:
                assert g["verdict"] != "leak", f"churn judged a leak: {g}"
        time.sleep(INTERVAL / 2)

    ops = prog.latest(SITE)["ops"]
    assert ops > 100 * ring, f"only {ops} operations: the churn did not churn"
