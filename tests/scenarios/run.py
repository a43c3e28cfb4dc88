#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""The scenario suite: every program in tests/scenarios at once, against one daemon, scored.

Each scenario prints its own ground truth (tests/scenarios/scenario.h): which process to watch,
what it should be called (leak, none, plateau, fragmentation), the function that leaks, and its
live bytes over time. This script starts a leakwatchd at --interval 1 on a private socket (or
uses a running one, --socket), starts the scenarios, asks the daemon for `top` and `procs` of
every scenario's pid about once a second, and measures what issue 3 asks of the verdicts:

- recall: every leak scenario gets a `leak` verdict whose first frame is its site;
- false positives: a `leak` verdict on any site of a non-leak scenario after its warm-up (15 s);
- time to the `leak` verdict (median over the leaks except the slow one, which has its own
  target), measured from the scenario's start to the drain that produced the verdict;
- bytes error at that verdict: the daemon's live bytes at the site against the program's truth
  in effect when the daemon read its maps;
- the bounded cache's `plateau`, counted from its last growth;
- the fragmentation program's process verdict.

It prints a table, then one summary line, and exits 0 only when every target is met (1 if not,
2 if the suite could not run). It builds nothing: `make scenarios` builds and runs it.

The daemon is queried on one socket connection with the JSON-lines protocol of DESIGN.md (two
queries per scenario a second would mean dozens of client processes a second on a small
machine); starting and stopping it reuses tests/integration/lwtest.py.
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.dont_write_bytecode = True     # no __pycache__ left in the tree


def _pytest_stub():
    """lwtest imports pytest for its markers and failures; without pytest, fail plainly."""
    mod = types.ModuleType("pytest")

    def fail(msg="", pytrace=True):
        raise RuntimeError(msg)

    mod.fail = mod.skip = fail
    mod.mark = types.SimpleNamespace(skipif=lambda *a, **k: (lambda f: f))
    return mod


try:
    import pytest  # noqa: F401  (python3-pytest, a build dependency)
except ImportError:
    sys.modules["pytest"] = _pytest_stub()

import lwtest  # noqa: E402

SCEN_DIR = lwtest.BUILD / "scenarios"

# Targets of issue 3, at --interval 1.
WARMUP = 15.0               # no leak verdict on a non-leak after this many seconds
MEDIAN_TTL_MAX = 30.0       # median time to the leak verdict
SLOW_TTL_MAX = 120.0        # the slow (256 B/s) leak
PLATEAU_MAX = 30.0          # the cache's plateau, after its last growth
SLOW = "slow"               # the scenario with its own time target

# Scenarios run in both builds whatever --variant says: the wrapper's result depends on them.
BOTH_VARIANTS = ("wrapper",)

VERDICT_RANK = {"leak": 3, "growing": 2, "plateau": 1, "stable": 0}


def log(msg, quiet=False):
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


class Scenario:
    """One scenario program: its process, its truth lines, and what the daemon said of it."""

    def __init__(self, name, variant, label):
        self.name, self.variant, self.label = name, variant, label
        self.path = SCEN_DIR / f"{name}-{variant}"
        self.proc = None
        self.header = None
        self.lines = []
        self.cond = threading.Condition()
        self.stderr = None
        # What the daemon said: filled in by Scorer.
        self.detected = None        # {"t", "bytes_error", "reported", "truth"}
        self.wrong_frame = None     # first leak verdict at this pid with another first frame
        self.false_positive = None  # first leak verdict on a non-leak after the warm-up
        self.early_leak = None      # a leak verdict on a non-leak during the warm-up
        self.history = []           # [(t, verdict of the expected site)] on every change
        self.flaps = 0              # leak -> not leak while the program still leaks
        self.plateau = None         # {"t", "delay"} for the plateau scenario
        self.left_leak = None       # leak_stops: seconds from the stop to leaving "leak"
        self.proc_verdicts = []     # [(t, process verdict)] on every change
        self.frag_streak = 0
        self.recent_procs = []      # the last procs records: rss, live and held bytes
        self.frames = None          # symbols of the biggest site with the expected symbol
        self.exited = None

    # --- the program ---

    def start(self):
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path} is missing: build it with 'make scenario-bins'")
        self.stderr = tempfile.TemporaryFile()
        # A session of its own: the forked scenario's child goes down with the group.
        self.proc = subprocess.Popen([str(self.path)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self.stderr,
                                     start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            with self.cond:
                if self.header is None and "scenario" in line:
                    self.header = line
                else:
                    self.lines.append(line)
                self.cond.notify_all()

    def wait_header(self, timeout):
        with self.cond:
            self.cond.wait_for(lambda: self.header is not None or self.proc.poll() is not None,
                               timeout)
            return self.header

    def stop(self):
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # The forked scenario's child may outlive its parent by a moment.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stderr_tail(self):
        if not self.stderr:
            return ""
        self.stderr.seek(0)
        return self.stderr.read()[-300:].decode(errors="replace").strip()

    # --- its truth ---

    @property
    def pid(self):
        return self.header["pid"]

    @property
    def expect(self):
        return self.header["expect"]

    @property
    def site(self):
        return self.header["site"]

    @property
    def start_mono(self):
        return self.header["mono"] - self.header["t"]

    def truth_at(self, mono):
        """The last truth line printed at or before mono (None if none yet)."""
        with self.cond:
            best = None
            for line in self.lines:
                if line.get("mono", 0) > mono:
                    break
                if "site_live_bytes" in line:
                    best = line
            return best

    def truth_since(self, mono):
        with self.cond:
            return [line for line in self.lines
                    if line.get("mono", 0) >= mono and "site_live_bytes" in line]

    def last_field(self, field):
        with self.cond:
            for line in reversed(self.lines):
                if field in line:
                    return line[field]
        return None


def first_symbol(site):
    frames = site.get("frames") or []
    return frames[0].get("symbol") if frames else None


def symbols(site, depth=4):
    return [f.get("symbol") or f.get("addr") or "?" for f in (site.get("frames") or [])[:depth]]


class Conn:
    """One connection to the control socket; requests and replies are JSON lines."""

    def __init__(self, path, timeout=10.0):
        self.path, self.timeout = str(path), timeout
        self.sock = self.file = None

    def _connect(self):
        self.close()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)
        self.file = self.sock.makefile("rwb")

    def close(self):
        for f in (self.file, self.sock):
            if f:
                try:
                    f.close()
                except OSError:
                    pass
        self.sock = self.file = None

    def ask(self, cmd, **args):
        """The reply object ({"ok": ..., "result"|"error": ...}); one reconnect on a lost line."""
        req = (json.dumps({"v": 1, "cmd": cmd, **args}) + "\n").encode()
        for attempt in range(2):
            try:
                if self.file is None:
                    self._connect()
                self.file.write(req)
                self.file.flush()
                line = self.file.readline()
                if line:
                    return json.loads(line)
                raise ConnectionError("the daemon closed the connection")
            except (OSError, ValueError, ConnectionError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")


class Scorer:
    def __init__(self, scenarios, quiet):
        self.scenarios = scenarios
        self.quiet = quiet
        self.procs_error = None
        self.polls = 0

    def event(self, sc, t, msg):
        log(f"[{t:6.1f} s] {sc.label}: {msg}", self.quiet)

    def poll(self, conn):
        """Queries the daemon once, so that every answer comes from the same drain."""
        alive = [sc for sc in self.scenarios if sc.header and sc.exited is None]
        for _ in range(3):
            st1 = conn.ask("status").get("result") or {}
            tops, procs = {}, {}
            for sc in alive:
                r = conn.ask("top", n=1000, pid=sc.pid)
                tops[sc.label] = r["result"]["growers"] if r.get("ok") else []
                r = conn.ask("procs", pid=sc.pid)
                if r.get("ok"):
                    procs[sc.label] = r["result"].get("processes") or []
                    self.procs_error = None
                else:
                    self.procs_error = r.get("error", "error")
            st2 = conn.ask("status").get("result") or {}
            if st1.get("last_drain_unix") == st2.get("last_drain_unix"):
                break
        drained = st2.get("last_drain_unix")
        if isinstance(drained, (int, float)) and drained > 0:
            # The drain reads the maps, then stamps its time: the truth is the one at the read.
            read = drained - (st2.get("last_drain_duration_sec") or 0)
            read_mono = read + time.monotonic() - time.time()
        else:
            read_mono = time.monotonic() - 0.5
        self.polls += 1
        for sc in alive:
            self.score(sc, read_mono, tops.get(sc.label, []), procs.get(sc.label))

    def score(self, sc, mono, sites, procs):
        t = mono - sc.start_mono
        sites = [g for g in sites if not g.get("exited")]
        mine = [g for g in sites if first_symbol(g) == sc.site]
        verdict = max((g["verdict"] for g in mine), key=lambda v: VERDICT_RANK.get(v, -1),
                      default=None)
        if sc.expect == "plateau" and mine:
            # A cache is judged by its bulk: the biggest of its stacks.
            verdict = max(mine, key=lambda g: g["live_bytes"])["verdict"]
        prev = sc.history[-1][1] if sc.history else None
        if verdict != prev:
            sc.history.append((round(t, 1), verdict))
        with_site = [g for g in sites if sc.site in symbols(g, depth=64)]
        if with_site:
            sc.frames = symbols(max(with_site, key=lambda g: g["live_bytes"]))
        leaks = [g for g in sites if g["verdict"] == "leak"]

        if sc.expect == "leak":
            self.score_leak(sc, t, mono, mine, leaks, prev, verdict)
        else:
            if leaks and t >= WARMUP and not sc.false_positive:
                g = max(leaks, key=lambda g: g["live_bytes"])
                sc.false_positive = {"t": round(t, 1), "symbol": first_symbol(g),
                                     "live_bytes": g["live_bytes"],
                                     "growth_bytes_per_sec": g.get("growth_bytes_per_sec")}
                self.event(sc, t, f"FALSE POSITIVE: leak at {first_symbol(g)} "
                                  f"({g['live_bytes']} live bytes)")
            elif leaks and t < WARMUP and not sc.early_leak:
                sc.early_leak = {"t": round(t, 1), "symbol": first_symbol(leaks[0])}
        if sc.expect == "plateau":
            last_growth = sc.last_field("last_growth_t")
            if (verdict == "plateau" and last_growth is not None and t >= last_growth
                    and not sc.plateau):
                sc.plateau = {"t": round(t, 1), "delay": round(t - last_growth, 1)}
                self.event(sc, t, f"plateau, {t - last_growth:.1f} s after its last growth")
        if procs is not None:
            pv = procs[0]["verdict"] if procs else None
            if procs:
                sc.recent_procs = sc.recent_procs[-9:] + [
                    {k: procs[0].get(k) for k in ("rss_bytes", "live_bytes", "held_bytes")}]
            if pv != (sc.proc_verdicts[-1][1] if sc.proc_verdicts else None):
                sc.proc_verdicts.append((round(t, 1), pv))
                if sc.expect == "fragmentation":
                    self.event(sc, t, f"process verdict {pv}")
            sc.frag_streak = sc.frag_streak + 1 if pv == "fragmentation" else 0

    def score_leak(self, sc, t, mono, mine, leaks, prev, verdict):
        stopped = sc.last_field("stopped_t")
        if not sc.detected:
            if any(g["verdict"] == "leak" for g in mine):
                reported = sum(g["live_bytes"] for g in mine)
                truth = sc.truth_at(mono)
                truth_bytes = truth["site_live_bytes"] if truth else None
                err = abs(reported - truth_bytes) / truth_bytes if truth_bytes else None
                sc.detected = {"t": round(t, 1), "reported": reported, "truth": truth_bytes,
                               "bytes_error": err}
                self.event(sc, t, f"leak at {sc.site}" + (
                    f" (bytes error {100 * err:.1f}%)" if err is not None else ""))
            elif leaks and not sc.wrong_frame:
                g = max(leaks, key=lambda g: g["live_bytes"])
                sc.wrong_frame = {"t": round(t, 1), "frames": symbols(g)}
                self.event(sc, t, f"leak verdict, but the first frame is {first_symbol(g)} "
                                  f"(frames {' < '.join(symbols(g))})")
            return
        # Hysteresis: while the program still leaks, the verdict should stay "leak".
        if stopped is None and prev == "leak" and verdict != "leak":
            sc.flaps += 1
            self.event(sc, t, f"left leak for {verdict} while still leaking")
        if stopped is not None and verdict != "leak" and sc.left_leak is None:
            sc.left_leak = round(max(0.0, t - stopped), 1)
            self.event(sc, t, f"{verdict} {sc.left_leak:.1f} s after the leak stopped")

    # --- when to stop ---

    def decided(self, sc, now, observe):
        t = now - sc.start_mono
        if sc.exited is not None:
            return True
        if sc.expect == "leak":
            if not sc.detected:
                return False
            stopped = sc.last_field("stopped_t")
            if sc.name == "leak_stops":
                return sc.left_leak is not None or (stopped is not None and t > stopped + 40)
            return True
        if t < WARMUP + observe:
            return False
        if sc.expect == "plateau":
            return sc.plateau is not None
        if sc.expect == "fragmentation":
            return sc.frag_streak >= 5 or self.procs_error is not None
        return True


def median(values):
    return statistics.median(values) if values else None


def fmt_s(v):
    return "never" if v is None or v == float("inf") else f"{v:.1f} s"


def results(scenarios, scorer, elapsed, daemon_log):
    leaks = [s for s in scenarios if s.header and s.expect == "leak"]
    others = [s for s in scenarios if s.header and s.expect != "leak"]
    found = [s for s in leaks if s.detected]
    ttl = [s.detected["t"] if s.detected else float("inf") for s in leaks if s.name != SLOW]
    med = median(ttl)
    slow = next((s for s in leaks if s.name == SLOW), None)
    slow_t = slow.detected["t"] if slow and slow.detected else None
    errs = [s.detected["bytes_error"] for s in found if s.detected["bytes_error"] is not None]
    fps = [s for s in others if s.false_positive]
    cache = next((s for s in others if s.expect == "plateau"), None)
    frag = next((s for s in others if s.expect == "fragmentation"), None)
    frag_verdict = (frag.proc_verdicts[-1][1] if frag and frag.proc_verdicts else None)
    if scorer.procs_error is not None:
        frag_verdict = "procs unavailable"
    missing = [s.label for s in scenarios if not s.header]

    targets = {
        "recall": bool(leaks) and len(found) == len(leaks),
        "false_positives": not fps,
        "median_time_to_leak": med is not None and med <= MEDIAN_TTL_MAX,
        "slow_leak": slow_t is not None and slow_t <= SLOW_TTL_MAX,
        "plateau": bool(cache and cache.plateau and cache.plateau["delay"] <= PLATEAU_MAX),
        "fragmentation": frag_verdict == "fragmentation",
        "all_scenarios_ran": not missing and not any(s.exited for s in scenarios),
    }
    parts = [f"recall {len(found)}/{len(leaks)}"
             + (f" (missed: {', '.join(s.label for s in leaks if not s.detected)})"
                if len(found) < len(leaks) else ""),
             f"false positives {len(fps)}/{len(others)}"
             + (f" ({', '.join(s.label for s in fps)})" if fps else ""),
             f"median time-to-leak {fmt_s(med)}",
             f"slow leak {fmt_s(slow_t)}"]
    if errs:
        parts.append(f"bytes error median {100 * median(errs):.1f}% max {100 * max(errs):.1f}%")
    else:
        parts.append("bytes error n/a")
    parts.append(f"plateau {cache.plateau['delay']:.1f} s after last growth"
                 if cache and cache.plateau else "plateau never")
    parts.append(f"fragmentation: {frag_verdict or 'no verdict'}")
    summary = "scenarios: " + ", ".join(parts)
    if missing:
        summary += f"; did not start: {', '.join(missing)}"
    return {
        "ok": all(targets.values()),
        "summary": summary,
        "targets": targets,
        "elapsed_sec": round(elapsed, 1),
        "polls": scorer.polls,
        "procs_error": scorer.procs_error,
        "daemon_log": daemon_log,
        "scenarios": [scenario_json(s) for s in scenarios],
    }


def scenario_json(s):
    out = {"label": s.label, "name": s.name, "variant": s.variant}
    if not s.header:
        return {**out, "error": "no header line", "stderr": s.stderr_tail()}
    out.update({
        "pid": s.pid, "expect": s.expect, "site": s.site,
        "detected": s.detected, "wrong_frame": s.wrong_frame,
        "false_positive": s.false_positive, "early_leak": s.early_leak,
        "plateau": s.plateau, "last_growth_t": s.last_field("last_growth_t"),
        "stopped_t": s.last_field("stopped_t"), "left_leak_after_stop": s.left_leak,
        "flaps": s.flaps, "site_verdicts": s.history, "process_verdicts": s.proc_verdicts,
        "frames": s.frames, "exited": s.exited,
        # Where fragmentation shows: the lowest live bytes of the last ten seconds.
        "proc_at_low": min(s.recent_procs, key=lambda p: p["live_bytes"] or 0, default=None),
        "truth_at_low": min(s.truth_since(time.monotonic() - 10),
                            key=lambda l: l["site_live_bytes"], default=None),
    })
    if s.exited is not None:
        out["stderr"] = s.stderr_tail()
    return out


def mib(n):
    return "?" if n is None else f"{n / 1048576:.1f} MiB"


def history_text(history, limit=6):
    items = [f"{v or '-'}@{t:.0f}" for t, v in history]
    if len(items) > limit:
        items = items[:2] + [f"...({len(items) - limit + 2})"] + items[-(limit - 3):]
    return " ".join(items)


def table(res):
    rows = [("scenario", "expect", "pid", "result", "time", "detail")]
    for s in res["scenarios"]:
        if "error" in s:
            rows.append((s["label"], "?", "-", "NO START", "", s.get("stderr", "")))
            continue
        detail = []
        if s["expect"] == "leak":
            d = s["detected"]
            if d:
                result, when = "leak", fmt_s(d["t"])
                if d["bytes_error"] is not None:
                    detail.append(f"bytes {d['reported']} vs {d['truth']} "
                                  f"({100 * d['bytes_error']:.1f}%)")
            else:
                result, when = ("MISS (frame)" if s["wrong_frame"] else "MISS"), ""
                if s["wrong_frame"]:
                    detail.append(f"leak@{s['wrong_frame']['t']:.0f} with frames "
                                  + " < ".join(s["wrong_frame"]["frames"]))
            if s["stopped_t"] is not None:
                detail.append(f"stopped at {s['stopped_t']:.0f} s, left leak "
                              + (f"{s['left_leak_after_stop']:.1f} s later"
                                 if s["left_leak_after_stop"] is not None else "never"))
            if s["flaps"]:
                detail.append(f"{s['flaps']} flap(s)")
        else:
            fp = s["false_positive"]
            result, when = ("FP", fmt_s(fp["t"])) if fp else ("ok", "")
            if fp:
                detail.append(f"leak at {fp['symbol']} ({fp['live_bytes']} B)")
            if s["expect"] == "plateau":
                p = s["plateau"]
                if not fp:
                    result = "plateau" if p and p["delay"] <= PLATEAU_MAX else "NO PLATEAU"
                    when = fmt_s(p["t"]) if p else ""
                lg = s["last_growth_t"]
                detail.append(f"last growth {fmt_s(lg)}" +
                              (f", +{p['delay']:.1f} s" if p else ""))
            if s["expect"] == "fragmentation":
                pv = s["process_verdicts"][-1][1] if s["process_verdicts"] else None
                if res["procs_error"] is not None:
                    pv = "procs unavailable"
                if not fp:
                    result = "frag" if pv == "fragmentation" else "NO FRAG"
                detail.append(f"procs unavailable ({res['procs_error']})"
                              if res["procs_error"] is not None
                              else f"procs {history_text(s['process_verdicts'])}")
                lp, truth = s["proc_at_low"], s["truth_at_low"] or {}
                if lp:
                    detail.append(f"at live low: daemon rss {mib(lp['rss_bytes'])} live "
                                  f"{mib(lp['live_bytes'])} held {mib(lp['held_bytes'])}")
                if "rss_bytes" in truth:
                    detail.append(f"truth rss {mib(truth['rss_bytes'])} live "
                                  f"{mib(truth['site_live_bytes'])}")
        detail.append(f"site {history_text(s['site_verdicts'])}" if s["site_verdicts"]
                      else f"{s['site']} never the first frame")
        if s["expect"] == "leak" and s["frames"] and not s["wrong_frame"] \
                and (s["name"] in BOTH_VARIANTS or not s["detected"]):
            detail.append("frames " + " < ".join(s["frames"]))
        if s["exited"] is not None:
            result = "EXITED"
            detail.append(f"exit {s['exited']}: {s.get('stderr', '')}")
        rows.append((s["label"], s["expect"], str(s["pid"]), result, when, "; ".join(detail)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:5], widths)) + "  " + r[5]
                     for r in rows)


def scenario_names():
    return sorted(p.stem for p in HERE.iterdir() if p.suffix in (".c", ".cc"))


def plan(args):
    names = scenario_names()
    if args.only:
        wanted = args.only.split(",")
        unknown = [n for n in wanted if n not in names]
        if unknown:
            raise SystemExit(f"run.py: unknown scenario(s) {', '.join(unknown)}; "
                             f"known: {', '.join(names)}")
        names = wanted
    out = []
    for n in names:
        variants = ("fp", "nofp") if (n in BOTH_VARIANTS or args.variant == "both") \
            else (args.variant,)
        for v in variants:
            out.append(Scenario(n, v, n if len(variants) == 1 else f"{n}-{v}"))
    return out


class Interrupted(Exception):
    pass


def on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def run(args):
    scenarios = plan(args)
    workdir = tempfile.mkdtemp(prefix="lw-scenarios-")
    daemon = None
    conn = None
    log_copy = None
    started = time.monotonic()
    scorer = Scorer(scenarios, args.quiet)
    interrupted = None
    try:
        if args.socket:
            sock = Path(args.socket)
        else:
            daemon = lwtest.Daemon(workdir, shlex.split(args.daemon_args))
            daemon.interval = args.interval
            daemon.start(timeout=30)
            sock = daemon.socket
            log(f"leakwatchd --interval {args.interval} on {sock} (pid {daemon.proc.pid})",
                args.quiet)
        conn = Conn(sock)
        conn.ask("status")
        for sc in scenarios:
            sc.start()
        for sc in scenarios:
            if not sc.wait_header(10):
                sc.exited = sc.proc.poll()
        started = time.monotonic()
        log(f"{len(scenarios)} scenarios: " + ", ".join(
            f"{sc.label}={sc.pid}" for sc in scenarios if sc.header), args.quiet)
        while True:
            now = time.monotonic()
            for sc in scenarios:
                if sc.exited is None and sc.proc.poll() is not None:
                    sc.exited = sc.proc.returncode
                    scorer.event(sc, now - sc.start_mono if sc.header else 0,
                                 f"exited {sc.exited}: {sc.stderr_tail()}")
            if daemon and daemon.proc.poll() is not None:
                raise RuntimeError(f"leakwatchd exited {daemon.proc.returncode}:\n"
                                   f"{daemon.log_tail(20)}")
            scorer.poll(conn)
            elapsed = time.monotonic() - started
            if all(scorer.decided(sc, time.monotonic(), args.observe) for sc in scenarios):
                break
            if elapsed >= args.limit:
                log(f"hard limit of {args.limit:.0f} s reached", args.quiet)
                break
            time.sleep(max(0.0, args.interval - (time.monotonic() - now)))
    except Interrupted as e:
        interrupted = str(e)
    except KeyboardInterrupt:
        interrupted = "SIGINT"
    finally:
        for sc in scenarios:
            sc.stop()
        if conn:
            conn.close()
        if daemon:
            rc = daemon.stop(timeout=10)
            if rc not in (0, None):
                log(f"leakwatchd exited {rc}", args.quiet)
            try:
                log_copy = str(SCEN_DIR / "leakwatchd.log")
                shutil.copyfile(daemon.log_path, log_copy)
            except OSError:
                log_copy = None
        shutil.rmtree(workdir, ignore_errors=True)
    res = results(scenarios, scorer, time.monotonic() - started, log_copy)
    res["interrupted"] = interrupted
    if interrupted:
        res["ok"] = False
    return res


def main():
    ap = argparse.ArgumentParser(description="Run every scenario in tests/scenarios against "
                                 "leakwatchd and score its verdicts against issue 3's targets.")
    ap.add_argument("--socket", help="use the leakwatchd on this socket instead of starting one")
    ap.add_argument("--interval", type=float, default=1.0,
                    help="drain interval of the daemon it starts, and the poll period (1)")
    ap.add_argument("--daemon-args", default="",
                    help="more options for the daemon it starts, e.g. '-v' or '-C window=60'")
    ap.add_argument("--variant", choices=("nofp", "fp", "both"), default="nofp",
                    help="which build of the scenarios: without frame pointers (the default, "
                         "as distributions build), with, or both; the wrapper always runs both")
    ap.add_argument("--only", help="comma-separated scenario names (default: all)")
    ap.add_argument("--observe", type=float, default=60.0,
                    help="seconds non-leaks are watched after their warm-up (60)")
    ap.add_argument("--limit", type=float, default=170.0, help="hard time limit (170 s)")
    ap.add_argument("--json", metavar="PATH",
                    help="also write the results as JSON to PATH ('-': stdout, and the table "
                         "goes to stderr)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args()

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        res = run(args)
    except (RuntimeError, OSError, ValueError) as e:
        print(f"run.py: the suite could not run: {e}", file=sys.stderr)
        return 2
    out = sys.stderr if args.json == "-" else sys.stdout
    print(table(res), file=out)
    if res["daemon_log"]:
        print(f"(daemon log: {res['daemon_log']})", file=out)
    if res["interrupted"]:
        print(f"interrupted by {res['interrupted']}", file=out)
    print(res["summary"], file=out, flush=True)
    if args.json == "-":
        json.dump(res, sys.stdout)
        print()
    elif args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
