# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""/metrics of the running daemon, read by the real tools: promtool, and Prometheus itself.

promtool checks the exposition format and the naming rules; what it does not catch, a series
exported twice, is checked here. A real Prometheus (Debian's) scrapes the daemon every second,
and PromQL through its HTTP API must give the leaking test program's live bytes within 2% of the
truth the program prints.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from lwtest import BUILD, DAEMON_BIN, free_port, requires_root, wait_until, within

pytestmark = requires_root

SITE = "lw_leak_site"
TOOLS_HINT = "Debian package prometheus; 'make deps' installs it"


def tool(name):
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} not installed ({TOOLS_HINT})")
    return path


def scrape(daemon):
    status, headers, body = daemon.http_get("/metrics")
    assert status == 200, f"/metrics answered {status}: {body[:200]!r}"
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers
    return body.decode()


def series(text):
    """{series: value} of every sample line, failing on a series given twice."""
    seen = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        assert name_labels.startswith("leakwatch_"), f"sample without the prefix: {line}"
        assert name_labels not in seen, f"series exported twice: {name_labels}"
        seen[name_labels] = float(value)
    return seen


def test_promtool_and_no_duplicates(daemon, progs):
    promtool = tool("promtool")
    prog = progs("leak", "fp", "-s", 4096, "-p", 20, "-n", 200)
    prog.wait_event("ready")
    label = f'pid="{prog.pid}"'

    def site_exported():
        text = scrape(daemon)
        return any(k.startswith("leakwatch_site_live_bytes{") and label in k and
                   f'frame="{SITE}"' in k for k in series(text)) and text

    text = wait_until(site_exported, timeout=15, what=f"a series of {SITE} of pid {prog.pid}")
    res = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                         text=True, timeout=60)
    # promtool prints nothing and exits 0 for a clean exposition; lint problems exit 1.
    assert res.returncode == 0 and not res.stdout.strip() and not res.stderr.strip(), \
        f"promtool check metrics: exit {res.returncode}\n{res.stdout}{res.stderr}"
    got = series(text)
    for name in ("leakwatch_build_info", "leakwatch_drain_duration_seconds_count",
                 "leakwatch_tracked_processes", "leakwatch_sites_not_exported"):
        assert any(k.split("{")[0] == name for k in got), f"no {name} in /metrics"
    assert any(k.startswith(f"leakwatch_process_live_heap_bytes{{{label}") for k in got)
    assert any(k.startswith(f"leakwatch_process_resident_bytes{{{label}") for k in got)
    assert got['leakwatch_allocations_total{allocator="libc"}'] > 0
    # the histogram counts every drain, and drains happened
    assert got["leakwatch_drain_duration_seconds_count"] == \
        got['leakwatch_drain_duration_seconds_bucket{le="+Inf"}'] > 0


@pytest.mark.parametrize("path,status,word", [
    ("/nothing-here", 404, "not found"),
    ("/debug/pprof/heap?pid=abc", 400, "bad pid"),
    ("/debug/pprof/heap?pid=0", 400, "bad pid"),
    ("/debug/pprof/heap?pid=999999999", 400, "bad pid"),
    ("/debug/pprof/heap?pid=4194304", 404, "no allocation sites"),
])
def test_http_errors_are_one_line(daemon, path, status, word):
    got, _, body = daemon.http_get(path)
    text = body.decode()
    assert got == status and word in text and text.count("\n") == 1, (got, text)
    daemon.status()     # and the daemon lives on


def test_metrics_port_in_use(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = subprocess.run([str(DAEMON_BIN), "--socket", str(tmp_path / "s.sock"),
                              "--metrics-addr", f"127.0.0.1:{port}"], capture_output=True,
                             text=True, timeout=30)
    errors = [l for l in res.stderr.splitlines() if ": error: " in l]
    assert res.returncode == 1 and len(errors) == 1, res.stderr
    assert f"metrics address 127.0.0.1:{port}" in errors[0] and "in use" in errors[0], errors


def test_scrapes_under_load(daemon):
    """Scrapes back to back while two processes malloc and free as fast as they can: every
    answer is whole and valid, and the drains go on. How long the drains take, with and without
    scrapes, is tests/bench/scrape.sh's to measure; here it is only printed."""
    bench = BUILD / "bench" / "malloc_bench"
    if not bench.exists():
        pytest.fail(f"{bench} is missing: build it with 'make test-progs'", pytrace=False)
    loaders = [subprocess.Popen([str(bench), "-i", "1000000000", "-r", "1"],
                                stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
               for _ in range(2)]
    try:
        time.sleep(1)
        before, t0 = series(scrape(daemon)), time.monotonic()
        rounds = 0
        while time.monotonic() - t0 < 5:
            series(scrape(daemon))      # valid, no series twice
            status, _, body = daemon.http_get("/debug/pprof/heap")
            assert status == 200 and body[:2] == b"\x1f\x8b", (status, body[:100])
            rounds += 1
        after, t1 = series(scrape(daemon)), time.monotonic()
    finally:
        for p in loaders:
            p.kill()
            p.wait()
    count, total = "leakwatch_drain_duration_seconds_count", "leakwatch_drain_duration_seconds_sum"
    allocs = 'leakwatch_allocations_total{allocator="libc"}'
    drains = after[count] - before[count]
    assert drains >= 1, "no drain while scraping"
    assert after[allocs] > before[allocs]
    print(f"\nunder load: {(after[allocs] - before[allocs]) / (t1 - t0):.0f} allocs/s, "
          f"{rounds / (t1 - t0):.1f} scrape rounds/s, {drains / (t1 - t0):.2f} drains/s, "
          f"mean drain {1000 * (after[total] - before[total]) / drains:.1f} ms")


class Prometheus:
    """Debian's Prometheus on a loopback port, scraping one target every second."""

    def __init__(self, workdir, target):
        self.port = free_port()
        self.workdir = workdir
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: leakwatch\n"
            f"    static_configs:\n      - targets: ['{target}']\n")
        self.log = open(workdir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [tool("prometheus"), f"--config.file={config}",
             f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, cwd=workdir)

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())

    def ready(self):
        if self.proc.poll() is not None:
            pytest.fail(f"prometheus exited {self.proc.returncode}:\n{self.log_tail()}",
                        pytrace=False)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError as e:
            raise AssertionError(f"not ready: {e}")

    def query(self, expr):
        """The value of an instant vector with one element, or None."""
        res = self.api("/api/v1/query", query=expr)
        assert res["status"] == "success", res
        result = res["data"]["result"]
        assert len(result) <= 1, f"{expr}: {len(result)} series"
        return float(result[0]["value"][1]) if result else None

    def log_tail(self):
        try:
            return (self.workdir / "prometheus.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def prometheus(daemon, tmp_path):
    prom = Prometheus(tmp_path, f"127.0.0.1:{daemon.metrics_port}")
    try:
        wait_until(prom.ready, timeout=60, what="prometheus to be ready")
        yield prom
    finally:
        prom.stop()


def test_prometheus_scrapes_live_bytes(daemon, progs, prometheus):
    size, period_ms, steps = 8192, 20, 150
    prog = progs("leak", "nofp", "-s", size, "-p", period_ms, "-n", steps)
    prog.wait_event("ready")
    wait_until(lambda: prometheus.query('up{job="leakwatch"}') == 1, timeout=30,
               what="prometheus to scrape leakwatchd")
    prog.wait_event("idle", timeout=steps * period_ms / 1000 + 10)
    truth = prog.latest(SITE)["live_bytes"]
    # Without frame pointers one source-level site may be several stacks: sum them.
    expr = f'sum(leakwatch_site_live_bytes{{pid="{prog.pid}",frame="{SITE}"}})'

    def matches():
        got = prometheus.query(expr)
        assert got is not None, f"{expr}: no data yet"
        assert within(got, truth), f"{expr} = {got:.0f}, truth {truth}"
        return got

    got = wait_until(matches, timeout=30, interval=0.5, what=f"PromQL {expr} near the truth")
    print(f"\nPromQL {expr} = {got:.0f}, truth {truth} ({100 * (got - truth) / truth:+.2f}%)")
    assert prometheus.query('leakwatch_build_info{job="leakwatch"}') == 1
    # the process's live heap holds the site's, and the rest of what it allocated
    rest = prometheus.query(f'leakwatch_process_live_heap_bytes{{pid="{prog.pid}"}} - on(pid) '
                            f'sum by (pid) (leakwatch_site_live_bytes{{pid="{prog.pid}",'
                            f'frame="{SITE}"}})')
    assert rest is not None and 0 <= rest < truth, rest
