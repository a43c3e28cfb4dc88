# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Bad environments and bad input: one clear line on stderr and a non-zero exit, never a crash.

Each case runs the real daemon (or client) the way a user would and checks the exit status and
that stderr says what went wrong in one line.
"""
import os
import shutil
import socket
import subprocess

import pytest

from lwtest import CLIENT_BIN, DAEMON_BIN

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def run(argv, timeout=30, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def error_lines(stderr):
    return [l for l in stderr.splitlines() if ": error: " in l or l.startswith("leakwatch:")]


def assert_one_error(res, *words):
    assert res.returncode != 0, res
    errs = error_lines(res.stderr)
    assert len(errs) == 1, res.stderr
    for w in words:
        assert w in errs[0], errs[0]


def test_not_root(tmp_path):
    if not shutil.which("setpriv"):
        pytest.skip("setpriv not installed")
    res = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(DAEMON_BIN),
               "--socket", str(tmp_path / "s.sock")])
    assert_one_error(res, "missing capability")


def test_bpf_not_permitted(tmp_path):
    # In a new user namespace we hold every capability, but only over that namespace: the
    # kernel refuses bpf() there.
    # No HTTP server: the default port may be taken, and that error would come first.
    res = run(["unshare", "--user", "--map-root-user", str(DAEMON_BIN),
               "--socket", str(tmp_path / "s.sock"), "--metrics-addr", "off"])
    assert_one_error(res, "BPF")


def test_socket_path_unusable(tmp_path):
    res = run([str(DAEMON_BIN), "--socket", "/proc/nonexistent/leakwatchd.sock"])
    assert_one_error(res, "/proc/nonexistent")


def test_socket_path_not_a_socket(tmp_path):
    path = tmp_path / "file"
    path.write_text("not a socket")
    res = run([str(DAEMON_BIN), "--socket", str(path)])
    assert_one_error(res, str(path))
    assert path.read_text() == "not a socket"


def test_socket_in_use(tmp_path, daemon):
    res = run([str(DAEMON_BIN), "--socket", str(daemon.socket)])
    assert_one_error(res, "another leakwatchd")
    daemon.status()     # the running daemon is unharmed


@pytest.mark.parametrize("args,words", [
    (["--interval", "0.01"], ["interval"]),
    (["--interval", "abc"], ["interval"]),
    (["--pid", "-3"], ["pid"]),
    (["-C", "stack_depth=99"], ["stack_depth"]),
    (["-C", "no_such_key=1"], ["no_such_key"]),
    (["--config", "/nonexistent/leakwatchd.conf"], ["/nonexistent/leakwatchd.conf"]),
])
def test_bad_configuration(tmp_path, args, words):
    res = run([str(DAEMON_BIN), "--socket", str(tmp_path / "s.sock")] + args)
    assert_one_error(res, *words)


def test_bad_config_file_names_line_and_key(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("# comment\ninterval = 1\nmax_stacks = lots\n")
    res = run([str(DAEMON_BIN), "--config", str(conf), "--socket", str(tmp_path / "s.sock")])
    assert_one_error(res, f"{conf}:3", "max_stacks")


def test_bad_usage_exits_2():
    assert run([str(DAEMON_BIN), "--no-such-option"]).returncode == 2
    assert run([str(CLIENT_BIN), "no-such-command"]).returncode == 2
    assert run([str(CLIENT_BIN), "stacks"]).returncode == 2


def test_check_reports_libc():
    res = run([str(DAEMON_BIN), "--check"])
    assert res.returncode == 0, res.stderr
    assert "libc" in res.stdout and "probes attached" in res.stdout


def test_client_without_daemon(tmp_path):
    res = run([str(CLIENT_BIN), "--socket", str(tmp_path / "none.sock"), "top"])
    assert res.returncode == 1
    assert len(res.stderr.strip().splitlines()) == 1
    assert "leakwatchd running" in res.stderr


def raw_exchange(path, payload, timeout=5.0):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(payload)
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


@pytest.mark.parametrize("payload,word", [
    (b"not json\n", "JSON"),
    (b'{"v": 2, "cmd": "top"}\n', "version"),
    (b'{"v": 1, "cmd": "rm -rf"}\n', "unknown command"),
    (b'{"v": 1, "cmd": "top", "n": -1}\n', "'n'"),
    (b'{"v": 1, "cmd": "stacks"}\n', "pid"),
    (b"[1, 2, 3]\n", "object"),
])
def test_malformed_requests_get_an_error_and_the_daemon_lives(daemon, payload, word):
    import json

    reply = json.loads(raw_exchange(daemon.socket, payload))
    assert reply["ok"] is False and reply["v"] == 1
    assert word.lower() in reply["error"].lower(), reply
    daemon.status()


def test_oversized_request(daemon):
    import json

    reply = raw_exchange(daemon.socket, b"{" + b" " * (70 * 1024) + b"\n")
    assert json.loads(reply)["ok"] is False
    daemon.status()


def test_silent_client_does_not_block_others(daemon):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.connect(str(daemon.socket))
        silent.sendall(b'{"v": 1, "cmd": "top", "n')     # half a request, never finished
        daemon.status()
        daemon.top()
