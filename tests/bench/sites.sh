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

tmp=$(mktemp -d /tmp/lw-bench.XXXXXX)
sock=$tmp/leakwatchd.sock
daemon_pid= load_pid=
cleanup() {
	[ -z "$load_pid" ] || kill "$load_pid" 2>/dev/null || true
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"
		wait "$daemon_pid" || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build/leakwatchd --socket "$sock" --interval 1 --metrics-addr off 2>"$tmp/log" &
daemon_pid=$!
i=0
until build/leakwatch --socket "$sock" status >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 200 ] || { echo "bench: daemon not ready" >&2; cat "$tmp/log" >&2; exit 1; }
	sleep 0.1
done
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
