# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""What tracing costs, in one table, measured in one run (make bench):

  1. malloc(64)+free pairs (malloc_bench): no probes; empty probes at the very points
     leakwatchd probes (floor); leakwatchd in each mode, with its ratio to the floor of the same
     probes; a process outside the chosen set; heaptrack; bcc's memleak (published figure).
  2. redis-benchmark against redis-server on loopback (bounded by requests), ops/s.
  3. An allocation-heavy Python loop (pywork.py time) on Debian's python3, seconds.
  4. heaptrack on the same workloads.
  5. The daemon's own CPU and RSS at steady state with NPROC processes and NPROC x NSITES live
     sites, and its drain time.

Informative only: nothing passes or fails on a number. Another leakwatchd on the machine (a
test run) traces every process too: each measurement first waits for it to go (QUIET seconds at
most), and a figure taken with one running is marked with '*'. The malloc/free figures are
medians over ROUNDS interleaved rounds; with a daemon, the kernel's BPF statistics
(kernel.bpf_stats_enabled, on only while the pairs run) give the mean run time of leakwatch's
programs, the part of the cost that is its own code.

    ITERS=1000000 REPS=3 ROUNDS=3 REDIS_N=100000 PY_ROUNDS=100000 NPROC=500 NSITES=200 \\
        /usr/bin/python3 tests/bench/suite.py
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build"
DAEMON, CLIENT = BUILD / "leakwatchd", BUILD / "leakwatch"
BENCH, FLOOR, MANYSITES = BUILD / "bench/malloc_bench", BUILD / "bench/floor", BUILD / "bench/manysites"
PYTHON = "/usr/bin/python3"

ITERS = int(os.environ.get("ITERS", 1000000))
REPS = int(os.environ.get("REPS", 3))
ROUNDS = int(os.environ.get("ROUNDS", 3))
REDIS_N = int(os.environ.get("REDIS_N", 100000))
PY_ROUNDS = int(os.environ.get("PY_ROUNDS", 100000))
NPROC = int(os.environ.get("NPROC", 500))
NSITES = int(os.environ.get("NSITES", 200))
SETTLE = float(os.environ.get("SETTLE", 30))
MEASURE = float(os.environ.get("MEASURE", 30))
QUIET = float(os.environ.get("QUIET", 120))
SAMPLE = int(os.environ.get("SAMPLE_BYTES", 524288))
BCC_MEMLEAK_NS = 14100     # bcc libbpf-tools memleak, full tracking, published in issue 7

tmp = Path(tempfile.mkdtemp(prefix="lw-suite-"))
noisy = False


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def foreign_daemons(own=()):
    out = subprocess.run(["pgrep", "-x", "leakwatchd"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split() if int(p) not in own]


def quiet(own=()):
    """Wait for other leakwatchd processes to go; '' if they did, '*' if not. Once a wait has
    run out, later calls only look: a long test run elsewhere would stall every measurement."""
    global noisy
    deadline = time.monotonic() + (0 if noisy else QUIET)
    while foreign_daemons(own):
        if time.monotonic() >= deadline:
            noisy = True
            return "*"
        time.sleep(2)
    return ""


class Daemon:
    def __init__(self, *args, interval=1):
        self.sock = tmp / "leakwatchd.sock"
        self.log = open(tmp / "leakwatchd.log", "wb")
        self.proc = subprocess.Popen([str(DAEMON), "--socket", str(self.sock), "--metrics-addr",
                                      "off", "--interval", str(interval), *args],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                sys.exit(f"bench: leakwatchd {' '.join(args)} exited: "
                         f"{(tmp / 'leakwatchd.log').read_text()[-2000:]}")
            try:
                self.status()
                break
            except (subprocess.CalledProcessError, json.JSONDecodeError):
                if time.monotonic() > deadline:
                    self.stop()
                    sys.exit("bench: leakwatchd did not become ready")
                time.sleep(0.2)

    def status(self):
        out = subprocess.run([str(CLIENT), "--socket", str(self.sock), "--json", "status"],
                             capture_output=True, text=True, check=True, timeout=30).stdout
        return json.loads(out)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def micro(prefix=(), iters=ITERS):
    out = subprocess.run([*prefix, str(BENCH), "-i", str(iters), "-r", str(REPS), "-s", "64"],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r'"ns_per_pair":([0-9.]+)', out)
    if not m:
        sys.exit(f"bench: malloc_bench printed no result: {out[-500:]}")
    return float(m[1])


def heaptrack(cmd):
    """cmd under heaptrack, its trace in the scratch directory."""
    return ["heaptrack", "-o", str(tmp / "heaptrack"), *cmd]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis(server_prefix=()):
    """ops/s of redis-benchmark (SET, GET, LPUSH, LPOP; REDIS_N requests each) on loopback."""
    port = free_port()
    server = subprocess.Popen([*server_prefix, "redis-server", "--port", str(port), "--bind",
                               "127.0.0.1", "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                              text=True).stdout.strip() == "PONG":
                break
            time.sleep(0.1)
        out = subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(REDIS_N), "-c", "10",
                              "-t", "set,get,lpush,lpop", "--csv"],
                             capture_output=True, text=True, timeout=600, check=True).stdout
    finally:
        # a clean shutdown, which heaptrack's wrapper script waits for (it defers SIGTERM)
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"],
                       capture_output=True, timeout=30)
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    rps = [float(r[1]) for r in re.findall(r'^"([A-Z_ ()0-9]+)","([0-9.]+)"', out, re.M)]
    if not rps:
        sys.exit(f"bench: redis-benchmark printed no result: {out[-500:]}")
    return sum(rps) / len(rps)


def python(prefix=()):
    out = subprocess.run([*prefix, PYTHON, str(REPO / "tests/bench/pywork.py"), "time",
                          str(PY_ROUNDS)], capture_output=True, text=True, check=True).stdout
    # heaptrack says things of its own around the loop's one line
    return float(re.findall(r"^([0-9]+\.[0-9]+)$", out, re.M)[-1])


rows = []


def row(workload, config, value, unit, mark="", ref=None, ref_name=""):
    ratio = f"{value / ref:.2f}x {ref_name}" if ref else ""
    rows.append((workload, config, f"{value:,.0f}" if value >= 100 else f"{value:.2f}", unit,
                 ratio, mark))
    log(f"{workload} / {config}: {rows[-1][2]} {unit} {ratio}{mark}")


def bpf_prog_ns(pid):
    """Mean run time (ns) of the daemon's allocator programs per run, from the kernel's BPF
    statistics: the part of a probe hit that is leakwatch's own code, free of the machine's
    noise. None when unavailable."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True)
    try:
        progs = {p["id"]: p for p in json.loads(out.stdout)}
    except ValueError:
        return None
    ids = set()
    for fd in Path(f"/proc/{pid}/fdinfo").iterdir():
        m = re.search(r"^prog_id:\s+(\d+)$", fd.read_text(), re.M)
        if m:
            ids.add(int(m[1]))
    t = c = 0
    for i in ids:
        p = progs.get(i, {})
        if p.get("name", "").startswith(("lw_alloc", "lw_py")):
            t += p.get("run_time_ns", 0)
            c += p.get("run_cnt", 0)
    return t / c if c else None


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def micro_rows():
    """Every configuration once per round, ROUNDS rounds: a figure is the median of its rounds,
    a ratio the median of the ratios within each round, so that the machine's drift between
    rounds cancels out."""
    w, unit = "malloc+free", "ns/pair"
    sleeper = subprocess.Popen(["sleep", "3600"])
    configs = [
        # (name, floor mode or None, daemon args or None, reference name)
        ("no probes", None, None, None),
        ("floor: empty full probes", "full", None, None),
        ("floor: empty session probes", "session", None, None),
        ("floor: empty entry probes", "entry", None, None),
        ("leakwatchd full, uretprobes", None, ["-C", "session=off"],
         "floor: empty full probes"),
        ("leakwatchd full, session", None, ["-C", "session=on"], "floor: empty session probes"),
        ("leakwatchd full, session, stack_depth 1", None,
         ["-C", "session=on", "-C", "stack_depth=1"], "floor: empty session probes"),
        (f"leakwatchd sampled {SAMPLE}, session", None,
         ["-C", f"sample_bytes={SAMPLE}", "-C", "session=on"], "floor: empty entry probes"),
        (f"leakwatchd sampled {SAMPLE}, uretprobes", None,
         ["-C", f"sample_bytes={SAMPLE}", "-C", "session=off"], "floor: empty entry probes"),
        ("untraced process (--pid other), per-process links", None,
         ["--pid", str(sleeper.pid)], "no probes"),
        ("untraced process (--pid other), in-kernel filter", None,
         ["--pid", str(sleeper.pid), "-C", "attach=classic"], "no probes"),
        ("heaptrack (LD_PRELOAD)", "heaptrack", None, "no probes"),
    ]
    got = {c[0]: [] for c in configs}
    bpf = {c[0]: [] for c in configs}
    marks = {c[0]: "" for c in configs}
    stats = Path("/proc/sys/kernel/bpf_stats_enabled")
    try:
        for r in range(ROUNDS):
            for name, floor, args, _ in configs:
                marks[name] = marks[name] or quiet()
                if args is None:
                    prefix = [] if floor is None else heaptrack([]) if floor == "heaptrack" \
                        else [str(FLOOR), "-m", floor, "--"]
                    got[name].append(micro(prefix))
                    continue
                with Daemon("-C", "python=false", *args) as d:
                    marks[name] = marks[name] or quiet([d.proc.pid])
                    old = stats.read_text().strip()
                    stats.write_text("1")
                    try:
                        got[name].append(micro())
                    finally:
                        stats.write_text(old)
                    ns = bpf_prog_ns(d.proc.pid)
                    if ns:
                        bpf[name].append(ns)
            log(f"round {r + 1}/{ROUNDS}: " + ", ".join(f"{n}: {v[-1]:.0f}" for n, v in
                                                          got.items()))
        # probes at each function's first byte: single-stepped, much slower; fewer pairs
        at0 = micro([str(FLOOR), "-m", "full", "-z", "--"], iters=max(ITERS // 20, 1000))
    finally:
        sleeper.kill()
        sleeper.wait()
    for name, _, _, ref in configs:
        v = median(got[name])
        ratio = median([a / b for a, b in zip(got[name], got[ref])]) if ref else None
        extra = f", BPF {median(bpf[name]):.0f} ns/run" if bpf[name] else ""
        rows.append((w, name, f"{v:,.0f}" if v >= 100 else f"{v:.1f}", unit,
                     f"{ratio:.2f}x {ref}{extra}" if ref else "", marks[name]))
        log(f"{w} / {name}: {rows[-1][2]} {rows[-1][4]}")
    rows.append((w, "floor: empty full probes at offset 0", f"{at0:,.0f}", unit,
                 f"{at0 / median(got['floor: empty full probes']):.1f}x floor full", ""))
    full = min(median(got["leakwatchd full, uretprobes"]),
               median(got["leakwatchd full, session"]))
    rows.append((w, "bcc libbpf-tools memleak (published)", f"{BCC_MEMLEAK_NS:,}", unit,
                 f"{BCC_MEMLEAK_NS / full:.1f}x leakwatchd full", ""))


def workload_rows(name, fn, unit, heap_prefix):
    m = quiet()
    base = fn()
    row(name, "no daemon", base, unit, m)
    for config, args in (("leakwatchd full", []),
                         (f"leakwatchd sampled {SAMPLE}", ["-C", f"sample_bytes={SAMPLE}"])):
        m = quiet()
        with Daemon(*args) as d:
            m = m or quiet([d.proc.pid])
            v = fn()
        row(name, config, v, unit, m, base, "no daemon")
    m = quiet()
    row(name, "heaptrack", fn(heap_prefix), unit, m, base, "no daemon")


def daemon_rows():
    """The daemon at steady state under NPROC processes x NSITES sites, default interval."""
    m = quiet()
    big = str(4 * NPROC * NSITES)
    with Daemon("-C", f"max_sites={big}", "-C", f"max_stacks={big}", "-C", f"max_series={big}",
                interval=10) as d:
        load = subprocess.Popen([str(MANYSITES), str(NPROC), str(NSITES)],
                                stdout=subprocess.DEVNULL)
        try:
            time.sleep(SETTLE)
            m = m or quiet([d.proc.pid])
            hz = os.sysconf("SC_CLK_TCK")

            def ticks():
                f = Path(f"/proc/{d.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                return int(f[11]) + int(f[12])
            t0, s0 = ticks(), d.status()
            time.sleep(MEASURE)
            t1, s1 = ticks(), d.status()
            rss = int(re.search(r"^VmRSS:\s+(\d+)", Path(f"/proc/{d.proc.pid}/status")
                                .read_text(), re.M)[1]) * 1024
        finally:
            load.kill()
            load.wait()
    sites = next((x["used"] for x in s1["maps"] if x["name"] == "series"), 0)
    drains = s1["drains"] - s0["drains"]
    w = f"daemon, {NPROC} procs"
    row(w, f"{sites:,} live sites: CPU", 100.0 * (t1 - t0) / hz / MEASURE, "% of a core", m)
    row(w, "RSS", rss / 2**20, "MiB", m)
    row(w, f"drain of {sites:,} sites (last)", s1["last_drain_duration_sec"] * 1e3, "ms", m)
    if drains > 0:
        log(f"{drains} drains in {MEASURE:.0f} s")


def main():
    for f in (DAEMON, CLIENT, BENCH, FLOOR, MANYSITES):
        if not f.exists():
            sys.exit(f"bench: {f} is missing: run 'make bench'")
    try:
        micro_rows()
        workload_rows(f"redis-benchmark, {REDIS_N} req x 4", redis, "ops/s",
                      heaptrack([]))
        workload_rows(f"python3 pywork.py time {PY_ROUNDS}", python, "s", heaptrack([]))
        daemon_rows()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    head = ("workload", "configuration", "value", "unit", "ratio", "")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(5)]
    print(f"tracing cost, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, "
          f"kernel {os.uname().release}")
    print(f"| {' | '.join(h.ljust(w) for h, w in zip(head[:5], widths))} |")
    print(f"|{'|'.join('-' * (w + 2) for w in widths)}|")
    for r in rows:
        print(f"| {' | '.join(str(c).ljust(w) for c, w in zip(r[:5], widths))} |{r[5]}")
    if noisy:
        print("* another leakwatchd was tracing the machine during this measurement")


if __name__ == "__main__":
    main()
