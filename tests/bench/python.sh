#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# What tracing costs a Python program, and what it sees of Python leaks: per CPython found
# (Debian's python3, 3.8-3.13 under $PYENV_ROOT), an allocation-heavy loop timed without and
# with leakwatchd (--interval 1), and the bytes six leaks retain as the daemon counts them,
# against tracemalloc's count of the same rounds. Informative only: nothing passes or fails.
#   PY_TIME_ROUNDS=300000 PY_LEAK_ROUNDS=20000 REPS=3 tests/bench/python.sh
set -eu
cd "$(dirname "$0")/../.."

for f in build/leakwatchd build/leakwatch; do
	[ -x "$f" ] || { echo "bench: $f is missing: run 'make'" >&2; exit 1; }
done
others=$(pgrep -x leakwatchd | tr '\n' ' ' || true)
[ -z "$others" ] || echo "bench: warning: leakwatchd already running (pid $others): every" \
	"figure includes its tracing" >&2

. tests/bench/daemon.sh

/usr/bin/python3 tests/bench/python.py base > "$tmp/base.json"
bench_daemon_start --interval 1 -C max_allocations=4194304
/usr/bin/python3 tests/bench/python.py traced "$sock" "$tmp/base.json"
bench_daemon_stop
