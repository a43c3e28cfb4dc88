# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Allocation wrappers: the wrapper's caller is the site, with or without frame pointers.

libc's strdup is a built-in wrapper. The program's own wrappers (tests/progs/wrappers.c) are
named in the wrappers config key; without it, their allocations stay at the wrapper itself.
"""

import subprocess
import time

from lwtest import DAEMON_BIN, INTERVAL, ZERO, by_site, requires_root, wait_until, within

pytestmark = requires_root

OWN = "lw_my_alloc,lw_my_zalloc,lw_my_realloc"


def truth_of(prog):
    prog.wait_event("done", timeout=30)
    return {l["site"]: l for l in prog.lines if "site" in l}


def wrong_sites(sites, truth):
    wrong = []
    for name, t in sorted(truth.items()):
        got = sites.get(name, ZERO)
        if not within(got["live_bytes"], t["live_bytes"]) or \
                got["live_allocs"] != t["live_allocs"]:
            wrong.append(f"{name} (through {t['wrapper']}): {got['live_bytes']} bytes in "
                         f"{got['live_allocs']} allocations, truth {t['live_bytes']} in "
                         f"{t['live_allocs']}")
    return wrong


def test_configured_wrappers_give_their_callers(own_daemon, progs, variant):
    d = own_daemon("-C", f"wrappers={OWN}")
    prog = progs("wrappers", variant, "-n", 5, "-w", stdin=True)
    prog.wait_event("ready", timeout=30)

    def probed():
        return [o for o in d.status()["attached"]
                if o["path"] == str(prog.path) or o["path"].startswith(f"/proc/{prog.pid}/")]

    mine = wait_until(probed, timeout=15, what=f"{prog.path.name}'s wrappers to be probed")
    assert sorted(mine[0]["functions"]) == sorted(OWN.split(",")), mine
    prog.send()
    truth = truth_of(prog)

    def matches():
        sites = by_site(d.stacks(prog.pid))
        wrong = wrong_sites(sites, truth)
        # nothing may be left at a wrapper: its calls all went to their callers
        wrong += [f"{w} holds {sites[w]['live_bytes']} bytes" for w in OWN.split(",")
                  if sites.get(w, ZERO)["live_bytes"]]
        assert not wrong, "; ".join(wrong)
        return True

    wait_until(matches, timeout=10, what="every wrapper's caller to hold its truth")
    time.sleep(2 * INTERVAL)
    matches()
    status = d.status()
    libc = [o for o in status["attached"] if "libc.so" in o["path"]]
    assert libc and "strdup" in libc[0]["functions"] and "malloc" in libc[0]["functions"], libc


def test_builtin_wrapper_without_config(daemon, progs, variant):
    """strdup is built in; the program's own wrappers, not configured, are sites themselves."""
    prog = progs("wrappers", variant, "-n", 3)
    truth = truth_of(prog)

    def matches():
        sites = by_site(daemon.stacks(prog.pid))
        wrong = wrong_sites(sites, {"lw_strdup_site": truth["lw_strdup_site"]})
        own = sum(sites.get(w, ZERO)["live_bytes"] for w in OWN.split(","))
        expect = sum(t["live_bytes"] for t in truth.values() if t["wrapper"] != "strdup")
        if not within(own, expect):
            wrong.append(f"the unconfigured wrappers hold {own} bytes, expected {expect}")
        assert not wrong, "; ".join(wrong)
        return True

    wait_until(matches, timeout=10, what="strdup's caller, and the wrappers as sites")


def test_bad_wrappers_value():
    for value, says in (("malloc", "the allocator itself"), ("a,,b", "empty name"),
                        ("x y", "not a symbol name"), ("a,a", "listed twice")):
        res = subprocess.run([str(DAEMON_BIN), "--check", "-C", f"wrappers={value}"],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode != 0, (value, res.stdout)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "wrappers" in lines[0] and says in lines[0], (value, lines)
