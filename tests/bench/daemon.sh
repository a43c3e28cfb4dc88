# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Sourced by the benchmarks: a private leakwatchd in a temporary directory, stopped on exit.
#   bench_daemon_start [DAEMON OPTIONS...]  sets $sock and $daemon_pid, waits until it answers
#   bench_daemon_stop                       SIGTERM and wait
DAEMON=build/leakwatchd
CLIENT=build/leakwatch
tmp=$(mktemp -d /tmp/lw-bench.XXXXXX)
sock=$tmp/leakwatchd.sock
daemon_pid=
bench_cleanup_hook=:

bench_daemon_stop() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"
		wait "$daemon_pid" || echo "bench: leakwatchd exited with status $?" >&2
	fi
	daemon_pid=
}

bench_cleanup() {
	$bench_cleanup_hook
	bench_daemon_stop
	rm -rf "$tmp"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_daemon_start() {
	"$DAEMON" --socket "$sock" --metrics-addr off "$@" 2>"$tmp/leakwatchd.log" &
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
}
