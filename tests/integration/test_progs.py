# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""The test programs themselves: every lw_*_site really calls its allocator.

A site compiled to a tail call ("jmp malloc") leaves no return address inside it, and the daemon
would rightly blame the site's caller; a site inlined away has no symbol at all. Either would
make the root tier fail for the wrong reason, so check the machine code of both builds.
"""

import re
import shutil
import subprocess

import pytest

from lwtest import PROGS_DIR, VARIANTS

ALLOCATORS = ("malloc", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
              "memalign", "valloc", "pvalloc", "free",
              # wrappers (tests/progs/wrappers.c): libc's, and the program's own
              "strdup", "lw_my_alloc", "lw_my_zalloc", "lw_my_realloc",
              # anonymous mappings (tests/progs/mmapleak.c)
              "mmap", "mmap64", "munmap", "mremap")
FUNC = re.compile(r"^[0-9a-f]+ <(\S+)>:$")
BRANCH = re.compile(r"\s(call|jmp)q?\s+[0-9a-f]+ <(\w+?)(?:@plt)?>")


def site_branches(binary):
    """{site function: [(call|jmp, target)]} from objdump -d."""
    text = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(binary)],
                          capture_output=True, text=True, check=True).stdout
    sites, current = {}, None
    for line in text.splitlines():
        m = FUNC.match(line)
        if m:
            current = m[1] if re.fullmatch(r"lw_\w+_site", m[1]) else None
            if current:
                sites[current] = []
        elif current and (b := BRANCH.search(line)):
            sites[current].append((b[1], b[2]))
    return sites


def built_progs():
    return sorted(p for v in VARIANTS for p in PROGS_DIR.glob(f"*-{v}") if p.is_file())


@pytest.mark.skipif(not shutil.which("objdump"), reason="objdump (binutils) not installed")
@pytest.mark.skipif(not built_progs(), reason=f"no test programs in {PROGS_DIR} (make test-progs)")
@pytest.mark.parametrize("binary", built_progs() or [None], ids=lambda p: p.name if p else "none")
def test_sites_call_their_allocator(binary):
    sites = site_branches(binary)
    assert sites, f"{binary.name}: no lw_*_site functions (inlined?)"
    for site, branches in sites.items():
        calls = [t for kind, t in branches if kind == "call" and t in ALLOCATORS]
        jumps = [t for kind, t in branches if kind == "jmp" and t in ALLOCATORS]
        assert calls, f"{binary.name}: {site} calls no allocator: {branches}"
        assert not jumps, f"{binary.name}: {site} tail-calls {jumps}"
