# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Issue 3's scenario suite: tests/scenarios/run.py, once, one test per target.

The runner starts its own daemon at --interval 1 (the targets are stated at that interval), runs
every scenario against it for up to about three minutes and writes its results as JSON; each test
here checks one target of that shared run and, on a miss, fails with the runner's whole table.
"""

import json
import signal
import subprocess
import sys

import pytest

from lwtest import BUILD, REPO, requires_root

pytestmark = requires_root

RUNNER = REPO / "tests" / "scenarios" / "run.py"
TIMEOUT = 300       # the runner's own hard limit is 170 s of scenarios, plus start and stop

TARGETS = {
    "all_scenarios_ran": "every scenario started and kept running",
    "false_positives": "no leak verdict on a non-leak scenario after the 15 s warm-up",
    "median_time_to_leak": "median time to the leak verdict <= 30 s",
    "slow_leak": "the 256 B/s leak gets its verdict within 120 s",
    "plateau": "the bounded cache is a plateau within 30 s of its last growth",
    "fragmentation": "the fragmentation program's process verdict is fragmentation",
}


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    if not (BUILD / "scenarios").is_dir():
        pytest.fail(f"{BUILD / 'scenarios'} is missing: build it with 'make scenario-bins'",
                    pytrace=False)
    result = tmp_path_factory.mktemp("scenarios") / "result.json"
    proc = subprocess.Popen([sys.executable, str(RUNNER), "--json", str(result), "-q"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        # SIGTERM, not SIGKILL: the runner then stops its scenarios and its daemon.
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        pytest.fail(f"run.py did not finish within {TIMEOUT} s:\n{out}\n{err}", pytrace=False)
    if proc.returncode not in (0, 1) or not result.exists():
        pytest.fail(f"run.py could not run the suite (exit {proc.returncode}):\n{out}\n{err}",
                    pytrace=False)
    res = json.loads(result.read_text())
    res["report"] = out
    return res


@pytest.mark.parametrize("target", TARGETS)
def test_scenario_target(suite, target):
    if not suite["targets"].get(target):
        pytest.fail(f"missed: {TARGETS[target]}\n\n{suite['report']}", pytrace=False)


# Recall, scenario by scenario: each leak gets a leak verdict on its process, and the first frame
# of that site is the function that leaks.
LEAKS = ["linear", "slow", "bursty", "thread", "realloc", "wrapper-fp", "wrapper-nofp", "fork",
         "cxx_new", "leak_churn", "leak_stops"]

def scenario(suite, label):
    for s in suite["scenarios"]:
        if s["label"] == label:
            return s
    pytest.fail(f"scenario {label} is not in the run\n\n{suite['report']}", pytrace=False)


@pytest.mark.parametrize("label", LEAKS)
def test_leak_found(suite, label):
    s = scenario(suite, label)
    if not (s["detected"] or s["wrong_frame"]):
        pytest.fail(f"{label}: no leak verdict on pid {s['pid']}\n\n{suite['report']}",
                    pytrace=False)


@pytest.mark.parametrize("label", LEAKS)
def test_leak_first_frame(suite, label):
    s = scenario(suite, label)
    if not s["detected"]:
        pytest.fail(f"{label}: no leak verdict whose first frame is {s['site']}"
                    f"\n\n{suite['report']}", pytrace=False)
