# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Driver of tests/bench/python.sh: per CPython found, the slowdown of an allocation-heavy loop
under the daemon, and the share of the bytes each leak retains that the daemon sees, against
tracemalloc's count of the same rounds. Prints one table.

    python.py base                       times and truths without a daemon (JSON on stdout)
    python.py traced SOCKET BASE.json    the same under the daemon at SOCKET; prints the table
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "pywork.py"
CLIENT = HERE.parents[1] / "build" / "leakwatch"
TIME_ROUNDS = int(os.environ.get("PY_TIME_ROUNDS", 300000))
LEAK_ROUNDS = int(os.environ.get("PY_LEAK_ROUNDS", 20000))
REPS = int(os.environ.get("REPS", 3))
SCENARIOS = ("list_growth", "memo", "lru", "cycles", "strings", "big")


def interpreters():
    out = [("debian", "/usr/bin/python3")] if Path("/usr/bin/python3").exists() else []
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for minor in range(8, 14):
        cands = sorted(root.glob(f"3.{minor}.*/bin/python3.{minor}"))
        if cands:
            out.append((f"3.{minor}", str(cands[0])))
    return out


def run(python, *args):
    return subprocess.run([python, str(WORK), *map(str, args)], capture_output=True, text=True,
                          check=True).stdout.strip()


def timing(python):
    return statistics.median(float(run(python, "time", TIME_ROUNDS)) for _ in range(REPS))


def base():
    res = {}
    for ident, python in interpreters():
        res[ident] = {"time": timing(python),
                      "truth": {s: int(run(python, "truth", s, LEAK_ROUNDS)) for s in SCENARIOS}}
    json.dump(res, sys.stdout)


def client(sock, *args):
    out = subprocess.run([str(CLIENT), "--socket", sock, "--json", *map(str, args)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def live(sock, pid):
    return sum(s["live_bytes"] for s in client(sock, "stacks", "--pid", pid, "-n", 10000)["sites"])


def seen(sock, python, scen, interval):
    p = subprocess.Popen([python, str(WORK), "hold", scen, str(LEAK_ROUNDS)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        p.stdout.readline()
        time.sleep(3 * interval)
        before = live(sock, p.pid)
        p.stdin.write("go\n")
        p.stdin.flush()
        p.stdout.readline()
        time.sleep(3 * interval)
        return live(sock, p.pid) - before
    finally:
        p.kill()
        p.wait()


def strategy(sock, python):
    for it in client(sock, "status").get("interpreters", []):
        if it["supported"] and Path(it["path"]).resolve().parent.parent == \
                Path(python).resolve().parent.parent:
            return it["strategy"]
        if it["supported"] and it["path"] == os.path.realpath(python):
            return it["strategy"]
    return "?"


def traced(sock, base_path, interval=1.0):
    base = json.loads(Path(base_path).read_text())
    rows = []
    for ident, python in interpreters():
        # a first process has the daemon find and attach the interpreter
        subprocess.run([python, "-c", "import time; time.sleep(2.5)"], check=True)
        t = timing(python)
        cov = {}
        for s in SCENARIOS:
            truth = base[ident]["truth"][s]
            cov[s] = seen(sock, python, s, interval) / truth if truth else float("nan")
        rows.append((ident, strategy(sock, python), base[ident]["time"], t, cov))
    print(f"Allocation-heavy loop ({TIME_ROUNDS} rounds, median of {REPS}) and the share of "
          f"each leak's bytes the daemon sees ({LEAK_ROUNDS} rounds, tracemalloc = 100%)")
    head = f"{'python':8} {'strategy':19} {'plain s':>8} {'traced s':>9} {'slowdown':>9}"
    print(head + "".join(f" {s:>11}" for s in SCENARIOS))
    for ident, strat, t0, t1, cov in rows:
        print(f"{ident:8} {strat:19} {t0:8.3f} {t1:9.3f} {t1 / t0:8.1f}x" +
              "".join(f" {100 * cov[s]:10.0f}%" for s in SCENARIOS))


if __name__ == "__main__":
    if sys.argv[1:2] == ["base"]:
        base()
    elif sys.argv[1:2] == ["traced"] and len(sys.argv) == 4:
        traced(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
