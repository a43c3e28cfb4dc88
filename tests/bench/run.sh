#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# What tracing costs a process: malloc(64)+free pairs timed without a daemon, then with
# leakwatchd tracing everything, in one run, as a table with the ratio to the untraced time.
# Informative only: nothing here passes or fails on a number.
#   ITERS=2000000 REPS=3 tests/bench/run.sh
set -eu
cd "$(dirname "$0")/../.."

BENCH=build/bench/malloc_bench
DAEMON=build/leakwatchd
CLIENT=build/leakwatch
ITERS=${ITERS:-2000000}
REPS=${REPS:-3}

for f in "$BENCH" "$DAEMON" "$CLIENT"; do
	[ -x "$f" ] || { echo "bench: $f is missing: run 'make bench'" >&2; exit 1; }
done

# Another leakwatchd traces this bench too, and there would be no "no daemon" figure.
others=$(pgrep -x leakwatchd | tr '\n' ' ' || true)
[ -z "$others" ] || echo "bench: warning: leakwatchd already running (pid $others): every" \
	"figure includes its tracing" >&2

tmp=$(mktemp -d /tmp/lw-bench.XXXXXX)
sock=$tmp/leakwatchd.sock
daemon_pid=
cleanup() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"
		wait "$daemon_pid" || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ns_per_pair from the bench's JSON line
bench() {
	"$BENCH" -i "$ITERS" -r "$REPS" -s 64 | sed -n 's/.*"ns_per_pair":\([0-9.]*\).*/\1/p'
}

base=$(bench)
[ -n "$base" ] || { echo "bench: $BENCH printed no result" >&2; exit 1; }

"$DAEMON" --socket "$sock" --interval 1 --metrics-addr off 2>"$tmp/leakwatchd.log" &
daemon_pid=$!
tries=0
until [ -S "$sock" ] && "$CLIENT" --socket "$sock" status >/dev/null 2>&1; do
	tries=$((tries + 1))
	if [ "$tries" -gt 200 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
		echo "bench: leakwatchd did not become ready; its log:" >&2
		cat "$tmp/leakwatchd.log" >&2
		exit 1
	fi
	sleep 0.1
done
traced=$(bench)
[ -n "$traced" ] || { echo "bench: $BENCH printed no result under the daemon" >&2; exit 1; }
kill -TERM "$daemon_pid"
wait "$daemon_pid" || echo "bench: leakwatchd exited with status $?" >&2
daemon_pid=

echo "malloc(64)+free, median of $REPS runs of $ITERS pairs"
awk -v base="$base" -v traced="$traced" 'BEGIN {
	printf "%-10s %12s %8s\n", "mode", "ns/pair", "ratio"
	printf "%-10s %12.1f %8.2f\n", "no-daemon", base, 1
	printf "%-10s %12.1f %8.2f\n", "daemon", traced, traced / base
}'
