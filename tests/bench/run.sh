#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# What tracing costs a process: malloc(64)+free pairs timed without a daemon, then with
# leakwatchd tracing everything in each attach mode (uprobe_multi links, classic perf-event
# uprobes), in one run, as a table with the ratio to the untraced time and the time the daemon
# takes to stop (detach its probes).
# Informative only: nothing here passes or fails on a number.
#   ITERS=2000000 REPS=3 tests/bench/run.sh
set -eu
cd "$(dirname "$0")/../.."

BENCH=build/bench/malloc_bench
ITERS=${ITERS:-2000000}
REPS=${REPS:-3}

for f in "$BENCH" build/leakwatchd build/leakwatch; do
	[ -x "$f" ] || { echo "bench: $f is missing: run 'make bench'" >&2; exit 1; }
done

# Another leakwatchd traces this bench too, and there would be no "no daemon" figure.
others=$(pgrep -x leakwatchd | tr '\n' ' ' || true)
[ -z "$others" ] || echo "bench: warning: leakwatchd already running (pid $others): every" \
	"figure includes its tracing" >&2

. tests/bench/daemon.sh

# ns_per_pair from the bench's JSON line
bench() {
	"$BENCH" -i "$ITERS" -r "$REPS" -s 64 | sed -n 's/.*"ns_per_pair":\([0-9.]*\).*/\1/p'
}

base=$(bench)
[ -n "$base" ] || { echo "bench: $BENCH printed no result" >&2; exit 1; }

now() { date +%s.%N; }

# Each attach mode in turn: its cost per pair, and how long the daemon takes to stop (detach).
rows=""
for mode in multi classic; do
	bench_daemon_start --interval 1 -C attach="$mode"
	traced=$(bench)
	[ -n "$traced" ] || { echo "bench: $BENCH printed no result under the daemon" >&2; exit 1; }
	t0=$(now)
	bench_daemon_stop
	rows="$rows daemon-$mode $traced $(awk -v t0="$t0" -v t1="$(now)" 'BEGIN { print t1 - t0 }')"
done

echo "malloc(64)+free, median of $REPS runs of $ITERS pairs"
echo "$rows" | awk -v base="$base" '{
	printf "%-16s %12s %8s %10s\n", "mode", "ns/pair", "ratio", "stop (s)"
	printf "%-16s %12.1f %8.2f %10s\n", "no-daemon", base, 1, "-"
	for (i = 1; i < NF; i += 3)
		printf "%-16s %12.1f %8.2f %10.2f\n", $i, $(i + 1), $(i + 1) / base, $(i + 2)
}'
