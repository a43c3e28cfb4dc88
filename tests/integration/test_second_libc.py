# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A process whose libc is another file (a second glibc at another path) is found and traced.

The probes are attached per file (device and inode), so a copy of libc is a new object: the
daemon must notice it in the new process's mappings and attach to it while it runs.
"""
import os
import shutil
import tempfile

import pytest

from lwtest import ZERO, by_site, requires_root, wait_until

pytestmark = requires_root

SYSTEM_LIBC = "/lib/x86_64-linux-gnu/libc.so.6"


def test_copy_of_libc_is_attached_and_traced(daemon, progs):
    if not os.path.exists(SYSTEM_LIBC):
        pytest.skip(f"{SYSTEM_LIBC} not found")
    libdir = tempfile.mkdtemp(prefix="lw-test-libc-")
    try:
        copy = os.path.join(libdir, "libc.so.6")
        shutil.copy2(SYSTEM_LIBC, copy)
        st = os.stat(copy)
        env = dict(os.environ, LD_LIBRARY_PATH=libdir)
        prog = progs("leak", "nofp", "-s", "4096", "-p", "50", env=env)
        prog.wait_line(lambda l: l.get("site") == "lw_leak_site")
        with open(f"/proc/{prog.pid}/maps") as f:
            assert copy in f.read(), "the test program did not load the copy of libc"

        def attached():
            return any(o.get("ino") == st.st_ino for o in daemon.status()["attached"])
        wait_until(attached, timeout=15, what=f"an attachment to {copy}")

        # Allocations made before the attach are not seen; growth from then on must be.
        def live():
            return by_site(daemon.top(prog.pid)).get("lw_leak_site", ZERO)["live_bytes"]
        wait_until(lambda: live() > 0, timeout=15, what="the leak site in the copy's process")
        first = live()
        wait_until(lambda: live() >= first + 20 * 4096, timeout=15,
                   what="the site to keep growing")
    finally:
        shutil.rmtree(libdir, ignore_errors=True)
