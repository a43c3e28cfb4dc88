# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""SIGHUP reloads the configuration; a bad file keeps the running one; SIGTERM stops cleanly."""

import shutil
import signal
import tempfile
from pathlib import Path

from lwtest import Daemon, requires_root, wait_until

pytestmark = requires_root


def test_sighup_reload_and_bad_file():
    workdir = Path(tempfile.mkdtemp(prefix="lw-test-reload-"))
    conf = workdir / "leakwatchd.conf"
    conf.write_text("interval = 0.5\n")
    d = Daemon(workdir, ["--config", str(conf)])
    d.interval = None   # a command-line --interval would win over the file at every reload
    try:
        d.start()
        conf.write_text("interval = 0.7\n")
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.status()["interval_sec"] == 0.7, timeout=10,
                   what="the reloaded interval")

        conf.write_text("interval = fast\n")
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "keeping the running configuration" in d.log_tail(), timeout=10,
                   what="the reload error")
        assert d.status()["interval_sec"] == 0.7
        assert "interval" in d.log_tail() and "fast" in d.log_tail()
    finally:
        rc = d.stop(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    assert rc == 0
