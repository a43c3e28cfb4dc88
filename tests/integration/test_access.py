# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Who may ask what: the control socket is 0660 root:leakwatch, root and members of leakwatch see
every process, any other user who can open the socket sees only its own processes. Throw-away
users (and the group, when the machine has none) are created for the test and removed after.

And least privilege: the daemon traces with only the capabilities the unit grants, read from
systemd/leakwatchd.service, without CAP_SYS_ADMIN.
"""

import fcntl
import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from test_attach import kernel_has_uprobe_multi
from lwtest import (CLIENT_BIN, PROGS_DIR, ZERO, by_site, proc_caps,
                    requires_root, unit_caps, wait_until, within)

pytestmark = requires_root

GROUP = "leakwatch"
SITE = "lw_leak_site"
LOCK = "/run/lock/leakwatch-test-accounts.lock"


def sh(*argv):
    res = subprocess.run(list(map(str, argv)), capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, f"{' '.join(map(str, argv))}: {res.stderr}"


@pytest.fixture(scope="module")
def accounts():
    """(member, outsider): two throw-away users, one in group leakwatch."""
    for tool in ("useradd", "userdel", "groupadd", "groupdel", "setpriv"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing", pytrace=False)
    # Test runs of other work trees may share this machine's group: one at a time.
    lock = open(LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    made_group = False
    users = [f"lwm{os.getpid()}", f"lwo{os.getpid()}"]
    try:
        try:
            grp.getgrnam(GROUP)
        except KeyError:
            sh("groupadd", "--system", GROUP)
            made_group = True
        sh("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "-G", GROUP, users[0])
        sh("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", users[1])
        yield users
    finally:
        for u in users:
            subprocess.run(["userdel", u], capture_output=True)
        if made_group:
            subprocess.run(["groupdel", GROUP], capture_output=True)
        lock.close()


def as_user(user, argv):
    """argv run as user with the groups the user database gives it."""
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", *map(str, argv)]


def query(daemon, user, *args):
    argv = [CLIENT_BIN, "--socket", daemon.socket, "--json", *args]
    res = subprocess.run(as_user(user, argv) if user else list(map(str, argv)),
                         capture_output=True, text=True, timeout=30)
    return res.returncode, (json.loads(res.stdout) if res.returncode == 0 else res.stderr)


def leak(user):
    """A leak program run as user; returns its Popen once it has leaked everything."""
    argv = [PROGS_DIR / "leak-nofp", "-s", 2000, "-p", 1, "-n", 30]
    p = subprocess.Popen(as_user(user, argv) if user else list(map(str, argv)),
                         stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        if json.loads(line).get("event") == "idle":
            return p
    pytest.fail(f"leak program as {user or 'root'} exited {p.wait()}", pytrace=False)


@pytest.fixture
def daemon(accounts, own_daemon):
    """A daemon of the test's own, started once the group exists, its socket directory open to
    everybody (traversal only)."""
    return own_daemon(setup=lambda workdir: workdir.chmod(0o711))


def pids_seen(result):
    return {g["pid"] for g in result["growers"]}


def test_socket_access(daemon, accounts):
    member, outsider = accounts
    st = daemon.socket.stat()
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
    assert (st.st_uid, st.st_gid) == (0, grp.getgrnam(GROUP).gr_gid)

    root_prog = leak(None)
    user_prog = leak(outsider)
    try:
        for p in (root_prog, user_prog):
            wait_until(lambda: by_site(daemon.top(p.pid)).get(SITE, ZERO)["sites"], timeout=15,
                       what=f"pid {p.pid} in top")

        # root and members of leakwatch see every process
        for user in (None, member):
            rc, res = query(daemon, user, "top", "-n", 10000)
            assert rc == 0, res
            assert {root_prog.pid, user_prog.pid} <= pids_seen(res), (user, pids_seen(res))

        # anybody else cannot open the socket at all...
        rc, err = query(daemon, outsider, "top")
        assert rc == 1 and "member of group leakwatch" in err, (rc, err)

        # ...and, where an administrator opens it up, sees only its own processes
        daemon.socket.chmod(0o666)
        rc, res = query(daemon, outsider, "top", "-n", 10000)
        assert rc == 0, res
        uid = pwd.getpwnam(outsider).pw_uid
        assert user_prog.pid in pids_seen(res)
        assert root_prog.pid not in pids_seen(res)
        # nothing of a running process of another user (its exited ones may show: setpriv)
        ps = subprocess.run(["ps", "-e", "-o", "pid=,uid="], capture_output=True,
                            text=True).stdout.split()
        others = {int(p) for p, u in zip(ps[::2], ps[1::2]) if int(u) != uid}
        assert not pids_seen(res) & others, pids_seen(res) & others
        rc, res = query(daemon, outsider, "stacks", "--pid", root_prog.pid)
        assert rc == 1 or not res["sites"], f"root's sites shown to {outsider}: {res}"
        rc, res = query(daemon, outsider, "stacks", "--pid", user_prog.pid)
        assert rc == 0 and by_site(res["sites"]).get(SITE, ZERO)["sites"], res
    finally:
        for p in (root_prog, user_prog):
            p.kill()
            p.wait()


def test_traces_with_only_the_units_capabilities(accounts, own_daemon):
    """Another user's program, in a directory only that user may enter, deleted while it runs:
    the daemon, with the unit's capabilities alone, reads its /proc entries (CAP_SYS_PTRACE) and
    its binary (CAP_DAC_READ_SEARCH, CAP_CHECKPOINT_RESTORE), attaches (CAP_BPF, CAP_PERFMON)
    and hands the socket to group leakwatch (CAP_CHOWN)."""
    if not kernel_has_uprobe_multi():
        pytest.skip("this kernel has no uprobe_multi links: the unit cannot trace here")
    caps = unit_caps()
    assert "sys_admin" not in caps
    outsider = accounts[1]
    pw = pwd.getpwnam(outsider)
    exe = None

    def private_copy(workdir):
        nonlocal exe
        private = workdir / "private"
        private.mkdir(mode=0o700)
        exe = private / "leak-nofp"
        shutil.copy(PROGS_DIR / "leak-nofp", exe)
        os.chown(private, pw.pw_uid, pw.pw_gid)
        os.chown(exe, pw.pw_uid, pw.pw_gid)
        workdir.chmod(0o711)

    # uid 0 whose bounding set is the unit's: its capabilities after exec are exactly those
    d = own_daemon(wrapper=["setpriv", "--bounding-set=-all," + ",".join(
        "+" + c for c in sorted(caps)), "--inh-caps=-all", "--"], setup=private_copy)
    prog = None
    try:
        assert proc_caps(Path(f"/proc/{d.proc.pid}/status").read_text()) == caps
        assert d.status()["attach_mode"] == "uprobe_multi"
        assert d.socket.stat().st_gid == grp.getgrnam(GROUP).gr_gid

        prog = subprocess.Popen(as_user(outsider, [exe, "-s", 4096, "-p", 20, "-n", 40]),
                                stdout=subprocess.PIPE, text=True)
        # deleted while it runs, like a binary upgraded under a running service: the daemon
        # reads it through /proc/PID/map_files (CAP_CHECKPOINT_RESTORE)
        assert json.loads(prog.stdout.readline()).get("event") == "ready"
        exe.unlink()
        final = None
        for line in prog.stdout:
            ev = json.loads(line)
            if ev.get("site") == SITE:
                final = ev
            if ev.get("event") == "idle":
                break
        assert final, f"{exe} printed no truth"

        def seen():
            got = by_site(d.stacks(prog.pid)).get(SITE, ZERO)
            assert got["sites"], f"no site {SITE} (symbolized) in stacks --pid {prog.pid}"
            assert within(got["live_bytes"], final["live_bytes"]), (got, final)
            return got["sites"][0]

        site = wait_until(seen, timeout=10, what=f"{SITE} at {final['live_bytes']} bytes")
        assert site["exe"] in (str(exe), f"{exe} (deleted)"), site
    finally:
        if prog:
            prog.kill()
            prog.wait()
    assert "warning" not in d.log_tail(), d.log_tail()
