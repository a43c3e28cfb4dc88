# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Fixtures of the root tier: one real leakwatchd for the whole session, test programs, builds.

The tests share the daemon (starting it is the slow part) and never interfere: each one looks
only at the pids of the programs it started.

LEAKWATCH_TEST_DAEMON_ARGS adds options to the daemon's command line, "{pid}" standing for
pytest's own pid: "-v" for debug logs, or "--pid {pid}" to trace only the test programs on a
busy machine (the tests themselves expect the default, every process traced).
"""

import os
import shlex
import shutil
import tempfile
from pathlib import Path

import pytest

import lwtest

_daemon = None   # the running daemon, for the failure reports
METRICS_TOP_SITES = 500
STOP_TIMEOUT = 30


@pytest.fixture(scope="session")
def daemon():
    if os.geteuid() != 0:
        pytest.skip("needs root: the daemon loads BPF programs and attaches uprobes")
    for binary in (lwtest.DAEMON_BIN, lwtest.CLIENT_BIN):
        if not binary.exists():
            pytest.fail(f"{binary} is missing: build it with 'make'", pytrace=False)
    global _daemon
    workdir = tempfile.mkdtemp(prefix="lw-test-")
    extra = shlex.split(os.environ.get("LEAKWATCH_TEST_DAEMON_ARGS", ""))
    # The HTTP server on a free port, for the metrics and profile tests. Every process on the
    # machine is traced, other test suites' programs too: enough per-site series that they
    # cannot crowd out the programs these tests start.
    extra = ["-C", f"metrics_top_sites={METRICS_TOP_SITES}", *extra]
    d = lwtest.Daemon(workdir, [a.replace("{pid}", str(os.getpid())) for a in extra],
                      metrics=True)
    try:
        d.start()
    except RuntimeError as e:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.fail(str(e), pytrace=False)
    _daemon = d
    yield d
    _daemon = None
    # Detaching each uprobe waits for an RCU tasks-trace grace period: with the extra libc
    # objects test_second_libc attaches (four files, 68 probes), a loaded 2-core machine was
    # seen to take more than 10 s.
    rc = d.stop(timeout=STOP_TIMEOUT)
    # Keep the whole log next to the junit XML for whoever reads a failed CI run.
    try:
        shutil.copyfile(d.log_path, lwtest.BUILD / "leakwatchd-test.log")
    except OSError:
        pass
    tail = d.log_tail()
    shutil.rmtree(workdir, ignore_errors=True)
    assert rc == 0, f"leakwatchd did not exit 0 within {STOP_TIMEOUT} s of SIGTERM " \
                    f"(status {rc}):\n{tail}"


@pytest.fixture
def own_daemon():
    """start(*args, wrapper=(), setup=None) -> a started lwtest.Daemon of the test's own, in a
    directory of its own (setup(workdir) runs first), stopped at teardown, which fails unless it
    exits 0."""
    started = []

    def start(*args, wrapper=(), setup=None):
        workdir = Path(tempfile.mkdtemp(prefix="lw-test-own-"))
        if setup:
            setup(workdir)
        d = lwtest.Daemon(workdir, list(args))
        d.wrapper = list(wrapper)
        started.append(d)
        return d.start()

    yield start
    failed = []
    for d in started:
        rc = d.stop(timeout=10)
        if rc != 0:
            failed.append(f"leakwatchd exited {rc}:\n{d.log_tail()}")
        shutil.rmtree(d.workdir, ignore_errors=True)
    assert not failed, "\n".join(failed)


@pytest.fixture(params=lwtest.VARIANTS)
def variant(request):
    """Which build of the test programs: with or without frame pointers."""
    return request.param


@pytest.fixture
def progs():
    """start(name, variant, *args, stdin=False) -> lwtest.Prog; every program dies at teardown."""
    started = []

    def start(name, variant, *args, stdin=False, env=None):
        prog = lwtest.Prog(name, variant, *args, stdin=stdin, env=env)
        started.append(prog)
        return prog

    yield start
    for prog in started:
        prog.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report ends with what the daemon said meanwhile."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and _daemon is not None:
        report.sections.append(("leakwatchd stderr (last lines)", _daemon.log_tail()))


# Modules that run a daemon of their own against many busy programs at once. They run first,
# before the session daemon exists: with it tracing the same programs, every allocation pays
# two daemons' probes, and on a 2-core machine their verdicts came late.
ALONE = ("test_python.py", "test_scenarios.py", "test_allocators.py")


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: item.path.name not in ALONE)
