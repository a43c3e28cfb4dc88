#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Does serving HTTP slow the drain? Under a malloc+free load (NLOAD busy processes; on an idle
# 2-core machine about a million allocations a second), the drain is measured in phases of
# MEASURE seconds: with no scrapes; with one /metrics and one whole-machine profile
# (/debug/pprof/heap) a second, like a Prometheus and a profiler; and with both back to back, as
# fast as the daemon answers. ROUNDS rounds of the three, interleaved, so that the machine's
# other load falls on each alike. Figures come from the daemon's own drain histogram, and the
# allocation rate from its counters. ONLY_LOAD=1 traces the loaders alone (--pid): a drain of
# their few sites, free of what the rest of a shared machine allocates.
# Informative only: prints figures, asserts nothing.
#   NLOAD=2 ROUNDS=3 MEASURE=10 INTERVAL=0.5 ONLY_LOAD=0 tests/bench/scrape.sh
set -eu
cd "$(dirname "$0")/../.."

NLOAD=${NLOAD:-2}
SETTLE=${SETTLE:-5}
MEASURE=${MEASURE:-10}
ROUNDS=${ROUNDS:-3}
ONLY_LOAD=${ONLY_LOAD:-0}
INTERVAL=${INTERVAL:-0.5}
LOAD=build/bench/malloc_bench
for f in "$LOAD" build/leakwatchd build/leakwatch; do
	[ -x "$f" ] || { echo "bench: $f is missing: run 'make bench'" >&2; exit 1; }
done

. tests/bench/daemon.sh
load_pids=
stop_load() { for p in $load_pids; do kill "$p" 2>/dev/null || true; done; }
bench_cleanup_hook=stop_load

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
i=0
while [ "$i" -lt "$NLOAD" ]; do
	"$LOAD" -i 1000000000 -r 1 -s 64 >/dev/null &
	load_pids="$load_pids $!"
	i=$((i + 1))
done
only=
[ "$ONLY_LOAD" = 1 ] && only="--pid $(echo $load_pids | tr ' ' ',')"
# bench_daemon_start passes --metrics-addr off; a later option wins
# shellcheck disable=SC2086
bench_daemon_start --interval "$INTERVAL" --metrics-addr "127.0.0.1:$port" $only
sleep "$SETTLE"

/usr/bin/python3 - "http://127.0.0.1:$port" "$MEASURE" "$NLOAD" "$INTERVAL" "$ROUNDS" \
	"$ONLY_LOAD" <<'PY'
import re, sys, threading, time, urllib.request

url, secs, nload, interval = sys.argv[1], float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
rounds, only = int(sys.argv[5]), sys.argv[6]

def metrics():
    with urllib.request.urlopen(url + "/metrics", timeout=30) as r:
        text = r.read().decode()
    def value(name):
        return float(re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M).group(1))
    return {"t": time.monotonic(), "count": value("leakwatch_drain_duration_seconds_count"),
            "sum": value("leakwatch_drain_duration_seconds_sum"),
            "allocs": value('leakwatch_allocations_total{allocator="libc"}'),
            "buckets": [float(n) for n in re.findall(
                r'^leakwatch_drain_duration_seconds_bucket\{le="[^"]+"\} (\S+)$', text, re.M)],
            "les": [float(le.replace("+Inf", "inf")) for le in re.findall(
                r'^leakwatch_drain_duration_seconds_bucket\{le="([^"]+)"\}', text, re.M)]}

def phase(period):
    """period None: no scrapes; else one /metrics and one whole-machine profile per period."""
    stop, done = threading.Event(), []
    def scraper():
        while not stop.is_set():
            t0 = time.monotonic()
            for path in ("/metrics", "/debug/pprof/heap"):
                t = time.monotonic()
                with urllib.request.urlopen(url + path, timeout=30) as r:
                    r.read()
                done.append((path, time.monotonic() - t))
            stop.wait(max(0.0, period - (time.monotonic() - t0)))
    a = metrics()
    th = threading.Thread(target=scraper) if period is not None else None
    if th:
        th.start()
    time.sleep(secs)
    stop.set()
    if th:
        th.join()
    b = metrics()
    return {"dt": b["t"] - a["t"], "drains": b["count"] - a["count"], "sum": b["sum"] - a["sum"],
            "allocs": b["allocs"] - a["allocs"], "les": b["les"],
            "buckets": [y - x for x, y in zip(a["buckets"], b["buckets"])], "scrapes": done}

conds = [("no scrapes", None), ("every 1 s", 1.0), ("back to back", 0.0)]
acc = {name: [] for name, _ in conds}
for _ in range(rounds):
    for name, period in conds:
        acc[name].append(phase(period))

traced = "traced alone" if only == "1" else "and the rest of the machine"
print(f"drain under {nload} malloc+free loaders ({traced}), drain every {interval:g} s; "
      f"{rounds} rounds of {secs:g} s phases")
print(f"{'scrapes':<14}{'allocs/s':>10}{'drains/s':>10}{'mean ms':>9}{'p90 <= ms':>11}"
      f"{'  per round, mean ms':<26}{'/metrics ms':>12}{'profile ms':>12}")
for name, _ in conds:
    ps = acc[name]
    dt = sum(p["dt"] for p in ps)
    n = sum(p["drains"] for p in ps)
    cum, p90 = 0, float("nan")
    for le, k in zip(ps[0]["les"], [sum(c) for c in zip(*(p["buckets"] for p in ps))]):
        cum += k
        if cum >= 0.9 * n:
            p90 = le
            break
    rounds_ms = " ".join(f"{1000 * p['sum'] / p['drains']:.0f}" if p["drains"] else "-"
                         for p in ps)
    lat = {}
    for path in ("/metrics", "/debug/pprof/heap"):
        d = [x for p in ps for pth, x in p["scrapes"] if pth == path]
        lat[path] = f"{1000 * sum(d) / len(d):.1f}" if d else "-"
    print(f"{name:<14}{sum(p['allocs'] for p in ps) / dt:>10.0f}{n / dt:>10.2f}"
          f"{1000 * sum(p['sum'] for p in ps) / n:>9.1f}{1000 * p90:>11g}  {rounds_ms:<24}"
          f"{lat['/metrics']:>12}{lat['/debug/pprof/heap']:>12}")
PY
