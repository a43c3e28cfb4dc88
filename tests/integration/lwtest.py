# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Helpers for the root tier: the daemon, its client, the test programs and polling.

Tests talk to the daemon only through build/leakwatch --json. The test programs in tests/progs
print their own truth as JSON lines; Prog collects them on a reader thread, stamped with the
program's CLOCK_MONOTONIC time "t" (the clock of time.monotonic()).
"""

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("LEAKWATCH_BUILD", REPO / "build"))
DAEMON_BIN = BUILD / "leakwatchd"
CLIENT_BIN = BUILD / "leakwatch"
PROGS_DIR = BUILD / "progs"

INTERVAL = 0.5          # the daemon's drain period in these tests
TOLERANCE = 0.02        # live bytes must match the programs' truth within 2%

requires_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: the daemon loads BPF programs and attaches uprobes")

# Both builds of every test program: the daemon must find the allocation site without frame
# pointers too (the first frame comes from the return address, not from a frame-pointer walk).
VARIANTS = ("fp", "nofp")


class ClientError(Exception):
    def __init__(self, argv, rc, stdout, stderr):
        what = stderr.strip() or stdout.strip()
        super().__init__(f"{' '.join(map(str, argv))} exited {rc}: {what}")
        self.rc = rc
        self.stderr = stderr


def wait_until(predicate, timeout, interval=0.1, what=None):
    """Polls predicate() until it returns something truthy, and returns that.

    predicate may raise AssertionError (or ClientError) to say "not yet, and here is why"; on
    timeout the last such reason is in the failure message.
    """
    deadline = time.monotonic() + timeout
    reason = "predicate stayed false"
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (AssertionError, ClientError) as e:
            reason = str(e)
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.1f}s waiting for {what or predicate.__name__}: "
                        f"{reason}", pytrace=False)
        time.sleep(interval)


def free_port():
    """A loopback TCP port nobody listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """A leakwatchd on a private socket, driven through the leakwatch client.

    With metrics=True its HTTP server listens on a free loopback port (metrics_url).
    """

    def __init__(self, workdir, extra_args=(), metrics=False):
        self.workdir = Path(workdir)
        self.socket = self.workdir / "leakwatchd.sock"
        self.log_path = self.workdir / "leakwatchd.stderr"
        self.extra_args = list(extra_args)
        self.interval = INTERVAL     # None: the config file's (or built-in) interval
        self.wrapper = []            # a command that runs the daemon (setpriv ...)
        self.metrics = metrics
        self.metrics_port = None
        self.proc = None

    @property
    def metrics_url(self):
        return f"http://127.0.0.1:{self.metrics_port}"

    def start(self, timeout=20.0):
        # Another program may take the free port before the daemon binds it: try another.
        for attempt in range(3):
            try:
                return self._start(timeout)
            except RuntimeError as e:
                if not self.metrics or "failed to listen on metrics address" not in str(e) \
                        or attempt == 2:
                    raise

    def _start(self, timeout):
        interval = ["--interval", str(self.interval)] if self.interval else []
        metrics = ["--metrics-addr", "off"]
        if self.metrics:
            self.metrics_port = free_port()
            metrics = ["--metrics-addr", f"127.0.0.1:{self.metrics_port}"]
        argv = [*self.wrapper, str(DAEMON_BIN), "--socket", str(self.socket), *interval,
                *metrics, *self.extra_args]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         cwd=REPO)
        deadline = time.monotonic() + timeout
        last = "socket not created"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"leakwatchd exited {self.proc.returncode} before it was "
                                   f"ready:\n{self.log_tail()}")
            if self.socket.exists():
                try:
                    self.status()
                    return self
                except ClientError as e:
                    last = str(e)
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"leakwatchd not ready after {timeout:.0f}s ({last}):\n"
                           f"{self.log_tail()}")

    def stop(self, timeout=10.0):
        """SIGTERM, and the exit status (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines=60):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no daemon log)"
        return "\n".join(text.splitlines()[-lines:]) or "(daemon log empty)"

    def client(self, *args, timeout=10.0):
        """Runs build/leakwatch --json ARGS, returns the parsed output; ClientError on exit != 0."""
        argv = [str(CLIENT_BIN), "--socket", str(self.socket), "--json", *map(str, args)]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            # Not a "not yet" for wait_until: a daemon that stops answering is a failure.
            pytest.fail(f"{' '.join(argv)}: no answer within {timeout:.0f}s", pytrace=False)
        if r.returncode != 0:
            raise ClientError(argv, r.returncode, r.stdout, r.stderr)
        try:
            return json.loads(r.stdout)
        except ValueError as e:
            raise AssertionError(f"{' '.join(argv)} printed invalid JSON ({e}): {r.stdout[:500]!r}")

    def status(self):
        return self.client("status")

    def http_get(self, path, timeout=30.0):
        """GET from the daemon's HTTP server: (status, headers, body bytes), errors included."""
        assert self.metrics_port, "this daemon runs without its HTTP server"
        try:
            with urllib.request.urlopen(self.metrics_url + path, timeout=timeout) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def top(self, pid=None, n=1000):
        args = ["top", "-n", n] + (["--pid", pid] if pid is not None else [])
        growers = self.client(*args)["growers"]
        assert all(pid is None or g["pid"] == pid for g in growers), \
            f"top --pid {pid} returned other processes: {[g['pid'] for g in growers]}"
        return growers

    def procs(self, pid=None):
        args = ["procs"] + (["--pid", pid] if pid is not None else [])
        procs = self.client(*args)["processes"]
        assert all(pid is None or p["pid"] == pid for p in procs), \
            f"procs --pid {pid} returned other processes: {[p['pid'] for p in procs]}"
        return procs

    def stacks(self, pid):
        result = self.client("stacks", "--pid", pid)
        assert result.get("pid") == pid, f"stacks --pid {pid} answered for pid {result.get('pid')}"
        return result["sites"]

    def stacks_or_none(self, pid):
        """stacks --pid, or None when the client says there is no such process (exit 1)."""
        try:
            return self.stacks(pid)
        except ClientError as e:
            if e.rc == 1:
                return None
            raise


def first_symbol(site):
    frames = site.get("frames") or []
    return frames[0].get("symbol") if frames else None


def by_site(sites):
    """Sums the live (not exited) sites by their first frame's symbol.

    The daemon keys sites by whole stacks; without frame pointers the frames past the first can
    differ from call to call, so one source-level site may come back as several entries.
    """
    totals = {}
    for s in sites or []:
        if s.get("exited"):
            continue
        t = totals.setdefault(first_symbol(s), {"live_bytes": 0, "live_allocs": 0, "sites": []})
        t["live_bytes"] += s["live_bytes"]
        t["live_allocs"] += s["live_allocs"]
        t["sites"].append(s)
    return totals


ZERO = {"live_bytes": 0, "live_allocs": 0, "sites": []}


def within(value, lo, hi=None, tolerance=TOLERANCE):
    hi = lo if hi is None else hi
    return lo * (1 - tolerance) <= value <= hi * (1 + tolerance)


class Prog:
    """A test program from build/progs, with its JSON lines collected on a reader thread."""

    def __init__(self, name, variant, *args, stdin=False, env=None):
        self.path = PROGS_DIR / f"{name}-{variant}"
        if not self.path.exists():
            pytest.fail(f"{self.path} is missing: build it with 'make test-progs'", pytrace=False)
        self.argv = [str(self.path), *map(str, args)]
        self.lines = []
        self.cond = threading.Condition()
        self.closed = False
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=self.stderr, env=env,
                                     stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)
        self.pid = self.proc.pid
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"event": "garbage", "raw": raw.decode(errors="replace")}
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def __repr__(self):
        return f"<{' '.join(self.argv)} pid {self.pid}>"

    def wait_line(self, match, timeout=10.0):
        """The first line (oldest first) for which match(line) is true."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    if line.get("event") == "error":
                        pytest.fail(f"{self} reported an error: {line}", pytrace=False)
                    if match(line):
                        return line
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    break
                self.cond.wait(left)
        rc = self.proc.poll()
        self.stderr.seek(0)
        pytest.fail(f"{self}: no matching line after {timeout:.1f}s (exit status {rc}); "
                    f"last lines {self.lines[-3:]}; stderr {self.stderr.read()[-500:]!r}",
                    pytrace=False)

    def wait_event(self, event, timeout=10.0):
        return self.wait_line(lambda l: l.get("event") == event, timeout)

    def truths(self, site, pid=None):
        """Truth lines for site (and pid), oldest first."""
        with self.cond:
            return [l for l in self.lines
                    if l.get("site") == site and (pid is None or l.get("pid") == pid)]

    def latest(self, site, pid=None):
        truths = self.truths(site, pid)
        assert truths, f"{self} printed no truth for {site} yet"
        return truths[-1]

    def truth_before(self, site, t):
        """Live bytes as of time t: the last truth line stamped at or before t (0 if none)."""
        older = [l for l in self.truths(site) if l["t"] <= t]
        return older[-1]["live_bytes"] if older else 0

    def truth_after(self, site, t, timeout=5.0):
        """Live bytes of the first truth line stamped at or after t (waits for it); once the
        program has stopped allocating ("idle"/"done"), its last truth."""
        line = self.wait_line(lambda l: (l.get("site") == site and l["t"] >= t)
                              or l.get("event") in ("idle", "done"), timeout)
        return line["live_bytes"] if "site" in line else self.latest(site)["live_bytes"]

    def send(self, text="\n"):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.reader.join(5)
        for f in (self.proc.stdin, self.proc.stdout, self.stderr):
            if f:
                f.close()


GROWER_FIELDS = {
    "pid": int, "comm": str, "exe": (str, type(None)), "allocator": str, "live_bytes": int,
    "live_allocs": int, "growth_bytes_per_sec": (int, float), "verdict": str,
    "confidence": (int, float), "oldest_alloc_age_sec": (int, float, type(None)), "frames": list,
}
FRAME_FIELDS = ("addr", "symbol", "module", "file", "line", "kind")
VERDICTS = ("leak", "growing", "plateau", "stable")


def check_grower_shape(g):
    """The per-site object of top/stacks as DESIGN.md fixes it: every field, of the right type."""
    for field, types in GROWER_FIELDS.items():
        assert field in g, f"site object lacks {field!r}: {g}"
        assert isinstance(g[field], types), f"{field!r} has the wrong type: {g}"
    assert g["verdict"] in VERDICTS, f"unknown verdict: {g}"
    assert 0 <= g["confidence"] <= 1, f"confidence outside 0..1: {g}"
    assert g["frames"], f"site without frames: {g}"
    for frame in g["frames"]:
        for field in FRAME_FIELDS:
            assert field in frame, f"frame lacks {field!r}: {frame}"
        assert frame["kind"] in ("native", "python"), f"unknown frame kind: {frame}"


# Names the live-allocation map may go by in status "maps", and the keys of its entry count.
ALLOC_MAP_NAMES = ("allocs", "allocations")
ENTRY_COUNT_KEYS = ("entries", "used", "count")


def alloc_map_entries(status):
    """How many live allocations the kernel map holds, from status "maps".

    Accepts a list of {"name", "entries"} objects or a name-keyed object of counts or objects.
    """
    maps = status.get("maps")
    if isinstance(maps, dict):
        items = list(maps.items())
    elif isinstance(maps, list):
        items = [(m.get("name"), m) for m in maps if isinstance(m, dict)]
    else:
        items = []
    for name, m in items:
        if name not in ALLOC_MAP_NAMES:
            continue
        if isinstance(m, int):
            return m
        for key in ENTRY_COUNT_KEYS:
            if isinstance(m.get(key), int):
                return m[key]
    raise AssertionError(
        f"status 'maps' shows no entry count for the live-allocation map: {maps!r} (expected "
        f"e.g. [{{\"name\": \"allocs\", \"entries\": N, \"max_entries\": M}}])")


def unit_caps():
    """The capabilities of the unit's CapabilityBoundingSet, lower case without "cap_"
    (as setpriv spells them)."""
    text = (REPO / "systemd" / "leakwatchd.service").read_text()
    m = re.search(r"^CapabilityBoundingSet=(.+)$", text, re.M)
    assert m, "the unit has no CapabilityBoundingSet"
    return {c.lower().removeprefix("cap_") for c in m[1].split()}


def proc_caps(status_text, field="CapEff"):
    """The capabilities of a /proc/PID/status text, named as unit_caps() names them."""
    mask = re.search(rf"^{field}:\s+([0-9a-f]+)$", status_text, re.M)[1]
    out = subprocess.run(["capsh", f"--decode={mask}"], capture_output=True, text=True,
                         check=True).stdout.strip()
    names = out.split("=", 1)[1] if "=" in out else ""
    return {c.removeprefix("cap_") for c in names.split(",") if c}
