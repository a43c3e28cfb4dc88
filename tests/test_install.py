# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""What `make install` puts where, and the checks on the shipped files that need no daemon:
systemd-analyze verify on the installed unit (any output fails), its exposure score, and man
pages that render without warnings and document every configuration key and client command."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("LEAKWATCH_BUILD", REPO / "build"))
UNIT = "leakwatchd.service"
EXPOSURE_TARGET = 3.5


def make_install(**variables):
    argv = ["make", "-s", "--no-print-directory", "-C", str(REPO), "install"]
    argv += [f"{k}={v}" for k, v in variables.items()]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"make install failed:\n{res.stdout}{res.stderr}"


def tree(root):
    return {str(p.relative_to(root)): p.stat().st_mode & 0o7777
            for p in root.rglob("*") if p.is_file()}


def test_install_into_destdir(tmp_path):
    make_install(DESTDIR=tmp_path)
    assert tree(tmp_path) == {
        "usr/local/sbin/leakwatchd": 0o755,
        "usr/local/bin/leakwatch": 0o755,
        "usr/local/lib/systemd/system/leakwatchd.service": 0o644,
        "usr/local/lib/sysusers.d/leakwatch.conf": 0o644,
        "usr/local/share/man/man8/leakwatchd.8": 0o644,
        "usr/local/share/man/man1/leakwatch.1": 0o644,
        "etc/leakwatch/leakwatchd.conf": 0o644,
    }
    unit = (tmp_path / "usr/local/lib/systemd/system" / UNIT).read_text()
    assert re.search(r"^ExecStart=/usr/local/sbin/leakwatchd$", unit, re.M), unit
    assert (tmp_path / "etc/leakwatch/leakwatchd.conf").read_bytes() == \
        (REPO / "systemd/leakwatchd.conf").read_bytes()

    # An administrator's edits survive the next install.
    conf = tmp_path / "etc/leakwatch/leakwatchd.conf"
    conf.write_text("interval = 5\n")
    make_install(DESTDIR=tmp_path)
    assert conf.read_text() == "interval = 5\n"


def test_install_prefix_and_sysconfdir(tmp_path):
    make_install(DESTDIR=tmp_path, PREFIX="/usr", SYSCONFDIR="/etc/opt")
    unit = (tmp_path / "usr/lib/systemd/system" / UNIT).read_text()
    assert re.search(r"^ExecStart=/usr/sbin/leakwatchd --config "
                     r"/etc/opt/leakwatch/leakwatchd.conf$", unit, re.M), unit
    assert (tmp_path / "etc/opt/leakwatch/leakwatchd.conf").is_file()
    assert (tmp_path / "usr/share/man/man8/leakwatchd.8").is_file()


@pytest.fixture
def installed(tmp_path):
    """Installed under a prefix of its own, so the unit names a binary that exists."""
    if not shutil.which("systemd-analyze"):
        pytest.fail("systemd-analyze is missing (Debian package systemd)", pytrace=False)
    prefix = tmp_path / "usr"
    make_install(PREFIX=prefix, SYSCONFDIR=tmp_path / "etc")
    return prefix


def verify(prefix, unit_path):
    # MANPATH: verify runs man(1) for every Documentation=man: entry
    env = dict(os.environ, MANPATH=str(prefix / "share/man"))
    res = subprocess.run(["systemd-analyze", "verify", str(unit_path)], capture_output=True,
                         text=True, timeout=120, env=env)
    return res.returncode, (res.stdout + res.stderr).strip()


def test_unit_verifies_clean(installed, tmp_path):
    unit = installed / "lib/systemd/system" / UNIT
    rc, out = verify(installed, unit)
    assert rc == 0 and not out, out

    # verify exits 0 on an unknown key: the output is what tells, as this copy shows
    bad = tmp_path / UNIT
    bad.write_text(unit.read_text().replace("[Service]\n", "[Service]\nProtectSystm=strict\n"))
    rc, out = verify(installed, bad)
    assert "ProtectSystm" in out, (rc, out)


def test_unit_exposure(installed):
    res = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                          str(installed / "lib/systemd/system" / UNIT)],
                         capture_output=True, text=True, timeout=120)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", res.stdout)
    assert m, res.stdout + res.stderr
    assert float(m[1]) <= EXPOSURE_TARGET, res.stdout


def man_warnings(page):
    res = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, MANWIDTH="80"))
    return res.returncode, res.stderr.strip(), res.stdout


@pytest.mark.parametrize("page", ["leakwatchd.8", "leakwatch.1"])
def test_man_page_renders_clean(page):
    rc, warnings, text = man_warnings(REPO / "userspace/man" / page)
    assert rc == 0 and not warnings, warnings
    assert "SYNOPSIS" in text


def test_man_pages_cover_keys_and_commands():
    daemon, client = BUILD / "leakwatchd", BUILD / "leakwatch"
    keys = re.findall(r"^  (\w+) = ", subprocess.run([str(daemon), "--config-help"],
                                                     capture_output=True, text=True).stdout,
                      re.M)
    assert len(keys) > 10, keys
    page = (REPO / "userspace/man/leakwatchd.8").read_text()
    missing = [k for k in keys if not re.search(rf"^\.B {k}$", page, re.M)]
    assert not missing, f"leakwatchd.8 does not document {missing}"

    helptext = subprocess.run([str(client), "--help"], capture_output=True, text=True).stdout
    commands = re.findall(r"^  (\w+)\b.*", helptext.split("Commands:")[1].split("Options:")[0],
                          re.M)
    assert commands, helptext
    page = (REPO / "userspace/man/leakwatch.1").read_text()
    missing = [c for c in commands if not re.search(rf"^\.B[IR]? \"?{c}\b", page, re.M)]
    assert not missing, f"leakwatch.1 does not document {missing}"
