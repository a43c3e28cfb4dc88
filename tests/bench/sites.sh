#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The daemon's own costs under many processes and sites: drain time, CPU and RSS at steady state.
# Informative only: prints figures, asserts nothing.
#   NPROC=400 NSITES=15 SETTLE=20 MEASURE=10 tests/bench/sites.sh
set -eu
cd "$(dirname "$0")/../.."

NPROC=${NPROC:-400}
NSITES=${NSITES:-15}	# distinct stacks per process: the default stack_depth (16) bounds them
SETTLE=${SETTLE:-20}
MEASURE=${MEASURE:-10}
LOAD=build/bench/manysites
for f in "$LOAD" build/leakwatchd build/leakwatch; do
	[ -x "$f" ] || { echo "bench: $f is missing: run 'make bench'" >&2; exit 1; }
done

. tests/bench/daemon.sh
load_pid=
stop_load() { [ -z "$load_pid" ] || kill "$load_pid" 2>/dev/null || true; }
bench_cleanup_hook=stop_load

bench_daemon_start --interval 1
"$LOAD" "$NPROC" "$NSITES" >/dev/null &
load_pid=$!
sleep "$SETTLE"

ticks() { awk '{ print $14 + $15 }' "/proc/$daemon_pid/stat"; }
t0=$(ticks)
sleep "$MEASURE"
t1=$(ticks)
hz=$(getconf CLK_TCK)
build/leakwatch --socket "$sock" --json status >"$tmp/status.json"
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$daemon_pid/status")

/usr/bin/python3 - "$tmp/status.json" "$t0" "$t1" "$hz" "$MEASURE" "$rss" "$NPROC" "$NSITES" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
t0, t1, hz, secs, rss = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
maps = {m["name"]: m["used"] for m in st["maps"]}
print(f"daemon under {sys.argv[7]} processes x {sys.argv[8]} sites, drain every 1 s")
print(f"{'tracked processes':<22}{st['tracked_processes']:>12}")
print(f"{'sites (series)':<22}{maps.get('series', 0):>12}")
print(f"{'live allocations':<22}{maps.get('allocations', 0):>12}")
print(f"{'drain time':<22}{st['last_drain_duration_sec'] * 1000:>10.1f} ms")
print(f"{'daemon CPU':<22}{100.0 * (t1 - t0) / hz / secs:>10.1f} % of a core")
print(f"{'daemon RSS':<22}{rss / 1024:>10.1f} MiB")
PY
