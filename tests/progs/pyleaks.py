# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Python leaks and non-leaks for the root tier, on any CPython 3.8+.

    python pyleaks.py leaks      the four leaks, side by side, until killed
    python pyleaks.py nonleaks   the two non-leaks, side by side, until killed
    python pyleaks.py frag       waits for a line on stdin, runs the fragmentation pattern, idles

Each leak is one function that allocates what it keeps, so that it is the innermost Python frame
of the allocations that grow; the test checks that it is. Leaks and non-leaks run in processes
of their own: CPython's free lists hand an object one function freed to the next that asks for
one of its type, so a function whose lists are taken over by a leak would grow too (its
allocations are still alive, kept by the leak). Prints JSON lines ("event", "t" on
CLOCK_MONOTONIC) like the C test programs.
"""

import functools
import gc
import json
import os
import sys
import time


def emit(event, **kw):
    print(json.dumps(dict(event=event, pid=os.getpid(), t=time.monotonic(), **kw)), flush=True)


# --- leaks ---

EVENTS = []


def record_event(i):
    """A module-level list that keeps growing."""
    EVENTS.append(("event", i, [i]))


_memo = {}


def memo_square(n):
    """An unbounded memo dict."""
    r = _memo.get(n)
    if r is None:
        r = _memo[n] = (n, [n * n])
    return r


@functools.lru_cache(maxsize=None)
def render_row(n):
    """lru_cache(maxsize=None), called with ever-new arguments."""
    return ("row", n, [n, n + 1])


class Node:
    def __init__(self, n):
        self.n = n
        self.peer = None


def make_cycle(n):
    """Two objects that refer to each other, dropped with the collector disabled."""
    a = Node(n)
    b = Node(n)
    a.peer = b
    b.peer = a


# --- non-leaks ---

@functools.lru_cache(maxsize=128)
def bounded_row(n):
    """A bounded lru_cache: ever-new arguments, old entries evicted."""
    return ("brow", n, [n])


def churn(n):
    """Temporary objects, all dropped."""
    tmp = [(i, [i]) for i in range(40)]
    d = {i: (i, n) for i in range(20)}
    return len(tmp) + len(d)


LEAKS = (record_event, memo_square, render_row, make_cycle)
NON_LEAKS = (bounded_row, churn)


def run(funcs, per_step, period):
    # Let the daemon find a new interpreter binary (it scans /proc once a drain) first.
    time.sleep(2.5)
    emit("running", funcs=[f.__name__ for f in funcs])
    i = 0
    while True:
        for _ in range(per_step):
            i += 1
            for f in funcs:
                f(i)
        time.sleep(period)


def pattern():
    """The fragmentation pattern of the issue: a million small objects, every tenth kept a while,
    then all dropped. The live heap comes back down; the process's memory only partly does."""
    seq1 = [None]*10**6
    seq2 = seq1[::10]
    seq1[:] = [[] for x in range(10**6)]
    seq2[:] = seq1[::10]
    seq1[:] = [None]*10**6
    seq2[:] = seq1[::10]


def frag():
    emit("ready")
    sys.stdin.readline()
    emit("start")
    pattern()
    emit("done")
    while True:
        time.sleep(1)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    per_step = int(os.environ.get("PYLEAKS_PER_STEP", 5))
    period = float(os.environ.get("PYLEAKS_PERIOD", 0.1))
    if mode == "leaks":
        gc.disable()    # the cycles must stay; nothing else here makes any
        run(LEAKS, per_step, period)
    elif mode == "nonleaks":
        run(NON_LEAKS, per_step, period)
    elif mode == "frag":
        frag()
    else:
        sys.exit(f"usage: {sys.argv[0]} leaks|nonleaks|frag")
