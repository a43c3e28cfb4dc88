# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""The unit under a real systemd: `make install` into a directory, boot a throw-away systemd with
systemd-nspawn (the host's /usr, read-only, on a volatile root), start leakwatchd.service, ask it
through its socket from inside the container, reload, let the watchdog restart a stalled daemon,
stop it. The unit is the shipped file, only its ExecStart pointing at the installed binary.

One container at a time (a module fixture), always torn down: after a TERM to nspawn, the
container's PID 1 is killed before nspawn itself, since a killed nspawn leaves it running.
"""

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from lwtest import BUILD, REPO, free_port, proc_caps, requires_root, unit_caps, wait_until

pytestmark = requires_root

UNIT = "leakwatchd.service"
SOCKET = "/run/leakwatch/leakwatchd.sock"
# Where the container sees the installed tree. Not under the build directory: a clone under
# /tmp (CI's, say) would put the binary under /tmp, which the unit's PrivateTmp= hides.
INSTALLED = "/opt/leakwatch-test"


def install(destdir, prefix, sysconfdir):
    res = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(REPO), "install",
                          f"DESTDIR={destdir}", f"PREFIX={prefix}", f"SYSCONFDIR={sysconfdir}"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"make install failed:\n{res.stdout}{res.stderr}"


class Container:
    """A booted systemd in a systemd-nspawn container, driven with nsenter."""

    def __init__(self, workdir, binds):
        self.workdir = Path(workdir)
        self.log_path = self.workdir / "console.log"
        machine_id = self.workdir / "machine-id"
        machine_id.write_text(uuid.uuid4().hex + "\n")
        argv = ["systemd-nspawn", "--boot", "--directory=/", "--volatile=yes", "--register=no",
                "--keep-unit", "--capability=all", "--system-call-filter=bpf perf_event_open",
                f"--machine=lwtest-{os.getpid()}", "--console=read-only",
                f"--bind-ro={machine_id}:/etc/machine-id"]
        argv += [f"--bind-ro={src}:{dst}" for src, dst in binds]
        argv += ["systemd.firstboot=off", "systemd.mask=systemd-machine-id-commit.service"]
        with open(self.log_path, "wb") as log:
            self.nspawn = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT)
        self.pid1 = None

    def console(self, lines=40):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no console log)"
        return "\n".join(text.splitlines()[-lines:])

    def boot(self, timeout=60):
        def pid1():
            assert self.nspawn.poll() is None, \
                f"systemd-nspawn exited {self.nspawn.returncode}:\n{self.console()}"
            children = Path(f"/proc/{self.nspawn.pid}/task/{self.nspawn.pid}/children")
            kids = children.read_text().split()
            assert kids, "no container PID 1 yet"
            return int(kids[0])

        def booted():
            assert self.nspawn.poll() is None, \
                f"systemd-nspawn exited {self.nspawn.returncode}:\n{self.console()}"
            # "offline" until PID 1 is systemd and listens; --wait covers the rest of the boot
            state = self.run("systemctl", "is-system-running", "--wait", timeout=timeout,
                             check=False).stdout.strip()
            assert state in ("running", "degraded"), f"container state {state!r}"
            return True

        self.pid1 = wait_until(pid1, timeout=timeout, what="the container's PID 1")
        wait_until(booted, timeout=timeout, interval=0.2, what="the container's boot")

    def run(self, *argv, timeout=60, check=True):
        res = subprocess.run(["nsenter", "-t", str(self.pid1), "-a", *map(str, argv)],
                             capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
        if check:
            assert res.returncode == 0, \
                f"{' '.join(map(str, argv))} exited {res.returncode}:\n{res.stdout}{res.stderr}"
        return res

    def show(self, *props):
        out = self.run("systemctl", "show", UNIT, *(f"--property={p}" for p in props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self):
        return self.run("journalctl", "--no-pager", "-o", "json", "-u", UNIT,
                        check=False).stdout

    def teardown(self):
        if self.nspawn.poll() is None:
            self.nspawn.send_signal(signal.SIGTERM)
            try:
                self.nspawn.wait(15)
            except subprocess.TimeoutExpired:
                # PID 1 first: nspawn killed on its own would leave the container running
                if self.pid1:
                    try:
                        os.kill(self.pid1, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    self.nspawn.wait(10)
                except subprocess.TimeoutExpired:
                    self.nspawn.kill()
                    self.nspawn.wait()
        # nspawn's propagation directory outlives a container that did not stop cleanly
        shutil.rmtree(f"/run/systemd/nspawn/propagate/lwtest-{os.getpid()}",
                      ignore_errors=True)


@pytest.fixture(scope="module")
def container():
    if not shutil.which("systemd-nspawn"):
        pytest.fail("systemd-nspawn is missing: 'make deps' installs systemd-container",
                    pytrace=False)
    # One container at a time on this machine, whichever work tree's tests start it.
    lock = open("/run/lock/leakwatch-test-nspawn.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    c = workdir = None
    try:
        # Under the build directory, not /tmp: the unit's PrivateTmp= would hide the binary.
        BUILD.mkdir(exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="e2e-", dir=BUILD))
        root = workdir / "root"
        install(root, f"{INSTALLED}/usr", f"{INSTALLED}/etc")
        prefix, etc = root / INSTALLED.lstrip("/") / "usr", root / INSTALLED.lstrip("/") / "etc"
        # The container shares the host's network: metrics on a port nobody else holds.
        metrics_addr = f"127.0.0.1:{free_port()}"
        conf = etc / "leakwatch/leakwatchd.conf"
        conf.write_text(conf.read_text() + f"metrics_addr = {metrics_addr}\n")
        binds = [
            (BUILD, BUILD),  # the client and the test programs
            (root / INSTALLED.lstrip("/"), INSTALLED),  # the installed files, where the unit looks
            (prefix / "lib/systemd/system" / UNIT, f"/etc/systemd/system/{UNIT}"),
            (prefix / "lib/sysusers.d/leakwatch.conf", "/etc/sysusers.d/leakwatch.conf"),
        ]
        c = Container(workdir, binds)
        c.metrics_addr = metrics_addr
        c.boot()
        yield c
    finally:
        if c:
            c.teardown()
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        lock.close()


def client(c, *args):
    res = c.run(BUILD / "leakwatch", "--socket", SOCKET, "--json", *args, check=False)
    assert res.returncode == 0, f"leakwatch {' '.join(args)}: {res.stderr}"
    return json.loads(res.stdout)


def test_unit_starts_serves_and_stops(container):
    c = container
    # Type=notify: start returns once READY=1 came, i.e. probes attached and socket listening.
    c.run("systemctl", "start", UNIT, timeout=120)
    props = c.show("ActiveState", "SubState", "MainPID", "StatusText", "NRestarts")
    assert props["ActiveState"] == "active", (props, c.journal()[-2000:])
    assert re.search(r"tracing \d+ libc objects? \(uprobe_multi\)", props["StatusText"]), props

    pid = props["MainPID"]
    # exactly the unit's capabilities, and no CAP_SYS_ADMIN among them
    proc_status = c.run("cat", f"/proc/{pid}/status").stdout
    assert proc_caps(proc_status, "CapEff") == unit_caps(), proc_status
    assert "sys_admin" not in proc_caps(proc_status, "CapBnd")

    # The socket: 0660, group leakwatch (created by the installed sysusers.d file).
    mode, group = c.run("stat", "-c", "%a %G", SOCKET).stdout.split()
    assert (mode, group) == ("660", "leakwatch")

    status = client(c, "status")
    assert status["attach_mode"] == "uprobe_multi", status
    assert status["attached"], status
    # Something allocates in the container: the probes fire under the unit's privileges.
    c.run(BUILD / "progs" / "leak-nofp", "-s", 1000, "-p", 1, "-n", 20, "-d", 1,
          timeout=60)
    wait_until(lambda: client(c, "status")["counts"]["allocs"] > 0, timeout=15,
               what="allocations counted")
    assert "growers" in client(c, "top")
    # and HTTP, under RestrictAddressFamilies= and the system-call filter
    with urllib.request.urlopen(f"http://{c.metrics_addr}/metrics", timeout=10) as r:
        assert b"leakwatch_build_info" in r.read()

    # Reload: RELOADING=1 ... READY=1, still the same process, and the journal says so.
    c.run("systemctl", "reload", UNIT)
    wait_until(lambda: "configuration reloaded" in c.journal(), timeout=10, what="the reload")
    assert c.show("MainPID", "ActiveState") == {"MainPID": pid, "ActiveState": "active"}

    t0 = time.monotonic()
    c.run("systemctl", "stop", UNIT, timeout=120)
    stopped = time.monotonic() - t0
    props = c.show("ActiveState", "Result", "ExecMainStatus")
    assert props == {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"}, \
        (props, stopped)

    # Logs reached the journal with their levels, not with "<6>" in the text.
    entries = [json.loads(l) for l in c.journal().splitlines() if l.startswith("{")]
    ours = [e for e in entries if e.get("SYSLOG_IDENTIFIER") == "leakwatchd"]
    assert any(e["PRIORITY"] == "6" and e["MESSAGE"].startswith("tracing") for e in ours), ours
    assert not any(str(e["MESSAGE"]).startswith("<") for e in ours), ours


def test_watchdog_restarts_a_stalled_daemon(container):
    c = container
    dropin = Path("/run/systemd/system") / f"{UNIT}.d"
    c.run("mkdir", "-p", dropin)
    c.run("sh", "-c", f"printf '[Service]\\nWatchdogSec=2s\\nTimeoutAbortSec=1s\\n"
          f"RestartSec=0.5s\\n' > {dropin}/watchdog.conf")
    try:
        c.run("systemctl", "daemon-reload")
        c.run("systemctl", "start", UNIT, timeout=120)
        props = c.show("MainPID", "WatchdogUSec", "NRestarts")
        assert props["WatchdogUSec"] == "2s", props
        # The loop pings: alive after three watchdog periods.
        time.sleep(6)
        assert c.show("MainPID", "ActiveState", "NRestarts") == {
            "MainPID": props["MainPID"], "ActiveState": "active",
            "NRestarts": props["NRestarts"]}, c.journal()[-2000:]
        # A stalled loop misses its pings: systemd kills and restarts the daemon.
        c.run("kill", "-STOP", props["MainPID"])

        def restarted():
            now = c.show("MainPID", "ActiveState", "NRestarts")
            assert int(now["NRestarts"]) > int(props["NRestarts"]), now
            assert now["ActiveState"] == "active" and now["MainPID"] not in ("0", props["MainPID"])
            return True

        wait_until(restarted, timeout=30, what="the watchdog restart")
        assert "watchdog" in c.journal().lower()
    finally:
        c.run("systemctl", "stop", UNIT, timeout=120, check=False)
        c.run("rm", "-rf", dropin, check=False)
        c.run("systemctl", "daemon-reload", check=False)


def test_classic_mode_dropin(container):
    """The drop-in leakwatchd(8) and the README give for kernels without uprobe_multi: classic
    uprobes run under the unit once it grants CAP_SYS_ADMIN and perf_event_open, and without it
    the daemon names the missing capability and the start fails."""
    c = container
    dropin = Path("/run/systemd/system") / f"{UNIT}.d"
    exec_start = c.show("ExecStart")["ExecStart"]
    binary = re.search(r"path=(\S+)", exec_start)[1]
    argv = re.search(r"argv\[\]=([^;]+);", exec_start)[1].strip()
    classic = f"[Service]\\nExecStart=\\nExecStart={argv} -C attach=classic\\n"
    grant = "CapabilityBoundingSet=CAP_SYS_ADMIN\\nSystemCallFilter=perf_event_open\\n"
    assert binary in argv
    c.run("mkdir", "-p", dropin)
    try:
        c.run("sh", "-c", f"printf '{classic}' > {dropin}/classic.conf")
        c.run("systemctl", "daemon-reload")
        res = c.run("systemctl", "start", UNIT, timeout=120, check=False)
        assert res.returncode != 0, "classic mode started without CAP_SYS_ADMIN"
        assert "missing capability CAP_SYS_ADMIN" in c.journal()
        # Restart=on-failure tries again, but gives up: no restart loop on a permanent error
        def gave_up():
            state = c.show("ActiveState", "SubState", "NRestarts")
            assert state["ActiveState"] == "failed", state
            return "Start request repeated too quickly" in c.run(
                "journalctl", "--no-pager", "-u", UNIT, check=False).stdout

        wait_until(gave_up, timeout=60, what="the start limit")

        c.run("systemctl", "reset-failed", UNIT)
        c.run("sh", "-c", f"printf '{classic}{grant}' > {dropin}/classic.conf")
        c.run("systemctl", "daemon-reload")
        c.run("systemctl", "start", UNIT, timeout=120)
        assert "(classic)" in c.show("StatusText")["StatusText"]
        assert client(c, "status")["attach_mode"] == "classic"
        c.run("systemctl", "stop", UNIT, timeout=120)
        assert c.show("Result")["Result"] == "success"
    finally:
        c.run("systemctl", "stop", UNIT, timeout=120, check=False)
        c.run("rm", "-rf", dropin, check=False)
        c.run("systemctl", "daemon-reload", check=False)
        c.run("systemctl", "reset-failed", UNIT, check=False)
