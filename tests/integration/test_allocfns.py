# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Every glibc allocator entry point is traced, at the right site, with the requested sizes;
frees through realloc(p, 0), free(NULL) and failed allocations leave nothing behind."""

import time

from lwtest import INTERVAL, ZERO, by_site, requires_root, wait_until, within

pytestmark = requires_root


def test_each_allocator_function(daemon, progs, variant):
    prog = progs("allocfns", variant, "-n", 4)
    prog.wait_event("done")
    truth = {l["site"]: l for l in prog.lines if "site" in l}
    assert len(truth) >= 17, f"allocfns printed too little truth: {sorted(truth)}"

    def all_sites_match():
        sites = by_site(daemon.stacks(prog.pid))
        wrong = []
        for name, t in sorted(truth.items()):
            got = sites.get(name, ZERO)
            if t["leaks"]:
                if not within(got["live_bytes"], t["live_bytes"]) \
                        or got["live_allocs"] != t["live_allocs"]:
                    wrong.append(f"{name} ({t['fn']}): {got['live_bytes']} bytes in "
                                 f"{got['live_allocs']} allocations, truth {t['live_bytes']} in "
                                 f"{t['live_allocs']}")
            elif got["live_bytes"] or got["live_allocs"]:
                wrong.append(f"{name} ({t['fn']}) must hold nothing, has {got['live_bytes']} "
                             f"bytes in {got['live_allocs']} allocations")
        assert not wrong, "; ".join(wrong)
        return True

    wait_until(all_sites_match, timeout=10, what="every allocator site to match its truth")
    # Late corrections (a free accounted twice, a failed call recorded at the next drain) show
    # up a drain or two later.
    time.sleep(2 * INTERVAL)
    all_sites_match()
