# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Python workloads for tests/bench/python.sh, on any CPython 3.8+.

    pywork.py time N           allocation-heavy loop of N rounds; prints its seconds
    pywork.py truth SCEN N     SCEN's N rounds under tracemalloc; prints the bytes they retained
    pywork.py hold SCEN N      prints "before", waits for a line, runs SCEN's N rounds, prints
                               "after", waits: the daemon is asked in between
"""

import functools
import gc
import sys
import time

KEEP = []
_memo = {}


class Rec:
    __slots__ = ("a", "b")


class Node:
    def __init__(self, n):
        self.n = n
        self.peer = None


def timed(n):
    out = []
    for i in range(n):
        d = {"k": i, "v": [i, i + 1]}
        t = (i, str(i), d)
        r = Rec()
        r.a = t
        r.b = d
        out.append(r)
        if len(out) > 1000:
            out.clear()


def list_growth(i):
    KEEP.append(("event", i, [i]))


def memo(i):
    _memo[i] = (i, [i * i])


@functools.lru_cache(maxsize=None)
def lru_row(i):
    return ("row", i, [i, i + 1])


def lru(i):
    lru_row(i)


def cycles(i):
    a = Node(i)
    b = Node(i)
    a.peer = b
    b.peer = a


def strings(i):
    KEEP.append("item-%d" % i)


def big(i):
    KEEP.append(bytearray(4096))


SCENARIOS = {f.__name__: f for f in (list_growth, memo, lru, cycles, strings, big)}


def rounds(f, n):
    for i in range(n):
        f(i + 1000000)     # past the small-int cache: every int is an object


def main():
    mode = sys.argv[1]
    gc.disable()
    if mode == "time":
        t0 = time.perf_counter()
        timed(int(sys.argv[2]))
        print("%.4f" % (time.perf_counter() - t0), flush=True)
    elif mode == "truth":
        import tracemalloc
        f, n = SCENARIOS[sys.argv[2]], int(sys.argv[3])
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        rounds(f, n)
        print(tracemalloc.get_traced_memory()[0] - before, flush=True)
    elif mode == "hold":
        f, n = SCENARIOS[sys.argv[2]], int(sys.argv[3])
        print("before", flush=True)
        sys.stdin.readline()
        rounds(f, n)
        print("after", flush=True)
        sys.stdin.readline()
    else:
        sys.exit(__doc__)


main()
