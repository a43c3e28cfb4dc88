#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Runs every test tier through pytest (unit binaries, then the root tier against the real
# daemon) and ends with the line CI reads: "N passed, N failed, N skipped", counted from the
# junit XML (errors count as failures). Exits non-zero if anything failed or nothing ran.
set -u
cd "$(dirname "$0")/.."

xml=build/test-results.xml
mkdir -p build
rm -f "$xml"

# Arguments, if any, replace the default selection: tests/run.sh tests/test_unit.py -x
[ $# -eq 0 ] && set -- tests/
PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider \
	--junitxml="$xml" "$@"
rc=$?

/usr/bin/python3 - "$xml" "$rc" <<'PY'
import sys
import xml.etree.ElementTree as ET

path, rc = sys.argv[1], int(sys.argv[2])
passed = failed = skipped = 0
try:
    # Per test case, so a test that passed and then failed in teardown counts once, as failed.
    for case in ET.parse(path).getroot().iter("testcase"):
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            failed += 1
        elif "skipped" in tags:
            skipped += 1
        else:
            passed += 1
except (OSError, ET.ParseError):
    pass
if rc not in (0, 1, 5) and not failed:
    failed = 1      # interrupted, internal or usage error: pytest itself failed
print(f"{passed} passed, {failed} failed, {skipped} skipped")
# 5 = nothing collected: a run that tests nothing must not pass.
sys.exit(1 if rc != 0 or failed else 0)
PY
