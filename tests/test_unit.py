# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""The unit tier: every build/tests/test_* binary, one pytest test per unit test in it.

A unit binary prints "ok NAME" / "not ok NAME" per test and runs only NAME when given it as
argv[1]. Each binary runs once, whole, at collection; its lines become the pytest results. A
failed test is run again alone, so its report shows its own stderr (and says so when it passes
alone: then it depends on the tests before it). A binary that crashes, hangs or prints no results
is a failing test of its own, named after the binary.

Binaries run with cwd = the repository and LW_SRCDIR pointing at it; LEAKWATCH_UNIT_TIMEOUT
(seconds, default 120) bounds each run.
"""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UNIT_DIR = Path(os.environ.get("LEAKWATCH_BUILD", REPO / "build")) / "tests"
RESULT = re.compile(r"^(ok|not ok) (\S+)\s*$")
TIMEOUT = int(os.environ.get("LEAKWATCH_UNIT_TIMEOUT", 120))
ENV = dict(os.environ, LW_SRCDIR=str(REPO))


def run(binary, *args):
    """(exit status or a string saying why there is none, stdout, stderr)."""
    # A session of its own, so a hung binary goes down with every child it forked.
    proc = subprocess.Popen([str(binary), *args], cwd=REPO, env=ENV, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        rc = f"killed after {TIMEOUT}s"
    if isinstance(rc, int) and rc < 0:
        rc = f"killed by signal {-rc}"
    decode = lambda b: (b or b"").decode(errors="replace")
    return rc, decode(out), decode(err)


def results(stdout):
    """{name: passed} from the result lines."""
    return {m[2]: m[1] == "ok" for m in map(RESULT.match, stdout.splitlines()) if m}


def binaries():
    if not UNIT_DIR.is_dir():
        return []
    return sorted(p for p in UNIT_DIR.glob("test_*")
                  if p.is_file() and "." not in p.name and os.access(p, os.X_OK))


def collect():
    """pytest params (binary, name, full run); name None stands for the binary as a whole."""
    params = []
    for binary in binaries():
        full = run(binary)
        rc, out, _ = full
        res = results(out)
        params += [pytest.param(binary, name, full, id=f"{binary.name}::{name}") for name in res]
        consistent = res and (rc == 0 and all(res.values()) or rc == 1 and not all(res.values()))
        if not consistent:
            params.append(pytest.param(binary, None, full, id=binary.name))
    return params


PARAMS = collect()


def output(rc, out, err):
    return f"exit status {rc}\n--- stdout\n{out}--- stderr\n{err}"


@pytest.mark.skipif(not PARAMS, reason=f"no unit test binaries in {UNIT_DIR} (make unit-test-bins)")
@pytest.mark.parametrize("binary,name,full", PARAMS or [(None, None, None)])
def test_unit(binary, name, full):
    if name is None:
        pytest.fail(f"{binary.name} did not run to completion with consistent results:\n"
                    f"{output(*full)}", pytrace=False)
    if results(full[1])[name]:
        return
    alone = run(binary, name)
    if results(alone[1]).get(name):
        pytest.fail(f"{binary.name}: {name} failed in the full run but passes alone (it depends "
                    f"on an earlier test):\n{output(*full)}", pytrace=False)
    pytest.fail(f"{binary.name} {name}:\n{output(*alone)}", pytrace=False)
