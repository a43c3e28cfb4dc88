# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""--pid: only the chosen processes (and children they start later) are traced."""

import shutil
import tempfile

import pytest

from lwtest import Daemon, ZERO, by_site, requires_root, wait_until

pytestmark = requires_root


@pytest.fixture
def filtered_daemon():
    """A second daemon, on its own socket, started by the test with its own --pid list."""
    started = []

    def start(*pids):
        workdir = tempfile.mkdtemp(prefix="lw-test-pid-")
        d = Daemon(workdir, ["--pid", ",".join(map(str, pids))])
        started.append((d, workdir))
        return d.start()

    yield start
    for d, workdir in started:
        rc = d.stop(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
        assert rc == 0, d.log_tail()


def test_only_chosen_pids_are_traced(filtered_daemon, progs):
    chosen = progs("leak", "fp", "-s", "4096", "-p", "50")
    other = progs("leak", "fp", "-s", "4096", "-p", "50")
    for p in (chosen, other):
        p.wait_line(lambda l: l.get("site") == "lw_leak_site")
    d = filtered_daemon(chosen.pid)

    wait_until(lambda: by_site(d.top(chosen.pid)).get("lw_leak_site", ZERO)["live_bytes"] > 0,
               timeout=15, what="the chosen process's leak site")
    assert by_site(d.top(other.pid)).get("lw_leak_site", ZERO)["live_bytes"] == 0
    pids = {g["pid"] for g in d.top(n=1000) if not g.get("exited")}
    assert pids == {chosen.pid}, f"traced {pids}, asked for {chosen.pid}"
