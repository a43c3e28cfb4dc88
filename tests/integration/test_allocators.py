# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Every allocator in the process: jemalloc, tcmalloc, mimalloc, a static binary's glibc, C++
operator new and delete, anonymous mappings, Debian's redis, and a libc only a private mount
namespace can see.

One daemon of the module's own, with a short trend window so that leaks are called leaks within
a test's patience.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import lwtest
from lwtest import PROGS_DIR, ZERO, by_site, requires_root, wait_until, within

pytestmark = requires_root

SYSTEM_LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
WINDOW = ["-C", "window=12", "-C", "warmup=3"]
# (program variant, the allocator its malloc and operator new go to, the object that is it)
ALLOCATORS = [
    ("jemalloc", "jemalloc", "jemalloc", "libjemalloc.so"),
    ("tcmalloc", "tcmalloc", "tcmalloc", "libtcmalloc.so"),
    ("mimalloc", "mimalloc", "mimalloc", "libmimalloc.so"),
    # libstdc++'s operator new is a wrapper of glibc's malloc
    ("libc", "libc", "libc", "libc.so"),
    # a static binary: its own symbol table defines malloc and free
    ("static", "libc", "libc", "cxxleak-static"),
]


@pytest.fixture(scope="module")
def lw():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    workdir = tempfile.mkdtemp(prefix="lw-test-alloc-")
    d = lwtest.Daemon(workdir, WINDOW)
    try:
        d.start()
    except RuntimeError as e:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.fail(str(e), pytrace=False)
    yield d
    rc = d.stop(timeout=30)
    tail = d.log_tail()
    shutil.rmtree(workdir, ignore_errors=True)
    assert rc == 0, f"leakwatchd exited {rc}:\n{tail}"


def attached(d, suffix, kind):
    objs = [o for o in d.status()["attached"] if Path(o["path"]).name.startswith(suffix)
            or o["path"].endswith(suffix)]
    assert objs, f"no attached object named {suffix}"
    assert any(o["kind"] == kind for o in objs), f"{suffix} attached as {objs}"
    return objs


def sites_of(d, pid):
    return by_site(d.top(pid))


def test_each_allocator_attributed_and_flagged(lw, progs):
    size = 4096
    running = [(progs("cxxleak", v, "-s", size, "-p", 50), kind, obj)
               for v, kind, _, obj in ALLOCATORS]
    for prog, kind, obj in running:
        prog.wait_event("ready")
        wait_until(lambda: attached(lw, obj, kind), timeout=15,
                   what=f"{obj} attached as {kind}")

    for prog, kind, _ in running:
        for site in ("lw_malloc_leak", "lw_new_leak"):
            def grows():
                got = sites_of(lw, prog.pid).get(site, ZERO)
                assert got["sites"], f"{site} not in top --pid {prog.pid} ({prog.path.name})"
                kinds = {s["allocator"] for s in got["sites"]}
                assert kinds == {kind}, f"{prog.path.name}: {site} is {kinds}, not {kind}"
                return got["live_bytes"]

            first = wait_until(grows, timeout=20, what=f"{site} of {prog.path.name}")
            # allocations made before the attach are not seen; the growth since must be
            t0 = prog.latest(site)["live_bytes"]
            time.sleep(1.5)
            grown = grows() - first
            truth = prog.latest(site)["live_bytes"] - t0
            assert within(grown, truth, tolerance=0.15), \
                f"{prog.path.name}: {site} grew {grown} bytes, truth {truth}"

    for prog, kind, _ in running:
        def flagged():
            got = sites_of(lw, prog.pid)
            verdicts = {s: {x["verdict"] for x in got.get(s, ZERO)["sites"]}
                        for s in ("lw_malloc_leak", "lw_new_leak")}
            assert all("leak" in v for v in verdicts.values()), \
                f"{prog.path.name}: {verdicts}"
            return True

        wait_until(flagged, timeout=60, interval=0.5, what=f"leaks of {prog.path.name}")
        # labelled with its cgroup in procs and top alike
        with open(f"/proc/{prog.pid}/cgroup") as f:
            path = re.search(r"^0::(\S+)", f.read(), re.M).group(1)
        cg = {p["cgroup"] for p in lw.procs(prog.pid)} | {g["cgroup"] for g in lw.top(prog.pid)}
        assert len(cg) == 1 and cg.pop() in path, f"{prog.path.name}: cgroup {cg}, in {path}"
        # new and sized delete in pairs: never a grower
        churn = sites_of(lw, prog.pid).get("lw_new_churn", ZERO)
        assert churn["live_bytes"] <= 8 * size, f"{prog.path.name}: churn holds {churn}"
        assert not {s["verdict"] for s in churn["sites"]} & {"leak", "growing"}, churn


def test_mmap_leak_flagged_trims_and_remaps_followed(lw, progs, variant):
    size = 65536
    prog = progs("mmapleak", variant, "-s", size, "-p", 50)
    prog.wait_event("ready")

    def leak():
        got = sites_of(lw, prog.pid)
        s = got.get("lw_mmap_leak_site", ZERO)
        assert s["sites"], f"lw_mmap_leak_site not in top --pid {prog.pid}"
        assert {x["allocator"] for x in s["sites"]} == {"mmap"}, s["sites"]
        # the mappings cut to pieces and unmapped leave nothing behind
        assert got.get("lw_mmap_trim_site", ZERO)["live_bytes"] <= 4 * size, got.get("lw_mmap_trim_site")
        truth = prog.latest("lw_mmap_leak_site")
        # mapped since the daemon started: everything (it starts after the daemon)
        assert within(s["live_bytes"], truth["live_bytes"] - 4 * size,
                      truth["live_bytes"] + 4 * size, tolerance=0), (s["live_bytes"], truth)
        return s

    wait_until(leak, timeout=15, what="the mmap leak site at its truth")

    def grown():
        g = sites_of(lw, prog.pid).get("lw_mremap_grow_site", ZERO)
        truth = prog.latest("lw_mremap_grow_site")["live_bytes"]
        assert g["live_allocs"] == 1, g
        assert truth - 4 * size <= g["live_bytes"] <= truth + 4 * size, (g["live_bytes"], truth)
        return True

    wait_until(grown, timeout=15, what="the remapped mapping at its truth, as one mapping")

    def flagged():
        s = sites_of(lw, prog.pid).get("lw_mmap_leak_site", ZERO)
        assert "leak" in {x["verdict"] for x in s["sites"]}, s["sites"]
        return True

    wait_until(flagged, timeout=60, interval=0.5, what="the mmap leak flagged")


def test_allocator_mappings_are_not_mmap_sites(lw, progs):
    """glibc's large chunks come from mmap inside malloc: they are libc's, not mmap's."""
    prog = progs("leak", "nofp", "-s", 1 << 20, "-p", 50)
    prog.wait_event("ready")

    def seen():
        got = sites_of(lw, prog.pid).get("lw_leak_site", ZERO)
        assert got["live_bytes"] >= 4 << 20, got
        assert {s["allocator"] for s in got["sites"]} == {"libc"}, got["sites"]
        return True

    wait_until(seen, timeout=15, what="lw_leak_site's 1 MiB blocks")
    mm = [s for s in lw.stacks(prog.pid) if s["allocator"] == "mmap"
          and lwtest.first_symbol(s) in ("lw_leak_site", "malloc", "sysmalloc")]
    assert not mm, f"malloc's own mappings counted as mmap sites: {mm}"


def redis_info(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "info", "memory"], capture_output=True,
                         text=True, timeout=10).stdout
    return {k: v for k, v in re.findall(r"^(\w+):(\S+)", out, re.M)}


def test_redis_live_bytes_match_used_memory(lw, progs):
    server = shutil.which("redis-server")
    if not server or not shutil.which("redis-benchmark"):
        pytest.skip("redis-server/redis-benchmark not installed (scripts/deps.sh installs them)")
    ldd = subprocess.run(["ldd", server], capture_output=True, text=True).stdout
    assert "libjemalloc.so" in ldd, f"Debian's redis is expected to use libjemalloc:\n{ldd}"
    # libjemalloc attached before redis starts, so that none of its allocations goes unseen
    prog = progs("cxxleak", "jemalloc", "-p", 1000)
    prog.wait_event("ready")
    wait_until(lambda: attached(lw, "libjemalloc.so", "jemalloc"), timeout=15,
               what="libjemalloc attached")
    port = lwtest.free_port()
    workdir = tempfile.mkdtemp(prefix="lw-test-redis-")
    redis = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", workdir],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: redis_info(port).get("used_memory"), timeout=15, what="redis up")
        subprocess.run(["redis-benchmark", "-p", str(port), "-n", "20000", "-r", "20000",
                        "-d", "100", "-t", "set,lpush,sadd", "-q"], check=True, timeout=240,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def close():
            used = int(redis_info(port)["used_memory"])
            sites = [s for s in lw.stacks(redis.pid) if s["allocator"] == "jemalloc"]
            live = sum(s["live_bytes"] for s in sites)
            assert abs(live - used) <= 0.10 * used, \
                f"leakwatch: {live} live bytes in jemalloc sites, redis used_memory {used} " \
                f"({(live - used) / used:+.1%})"
            return live, used

        live, used = wait_until(close, timeout=20, interval=1, what="live bytes ~ used_memory")
        print(f"redis: leakwatch {live} live bytes, used_memory {used}, "
              f"{(live - used) / used:+.1%}")
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def test_private_mount_namespace_deleted_libc(own_daemon):
    """A process in a mount namespace of its own runs a copy of libc that only that namespace
    can see, deleted since: a daemon started afterwards reaches it through map_files."""
    if not os.path.exists(SYSTEM_LIBC) or not shutil.which("unshare"):
        pytest.skip("needs glibc at the usual place and unshare(1)")
    hidden = tempfile.mkdtemp(prefix="lw-test-ns-")
    leak = PROGS_DIR / "leak-nofp"
    script = (f"mount -t tmpfs lwtest {hidden} && cp {SYSTEM_LIBC} {hidden}/ && "
              f"LD_LIBRARY_PATH={hidden} {leak} -s 4096 -p 50 & "
              f"sleep 1; rm {hidden}/libc.so.6; wait")
    pid = None
    proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r'"pid":\s*(\d+)', line)
        assert m, f"the program said {line!r} ({proc.stderr.read() if proc.poll() else ''})"
        pid = int(m.group(1))
        with open(f"/proc/{pid}/maps") as f:
            wait_until(lambda: "libc.so.6 (deleted)" in open(f"/proc/{pid}/maps").read(),
                       timeout=10, what="the copy of libc deleted")
            assert f"{hidden}/libc.so.6" in f.read(), "the program did not load the copy"
        assert not os.listdir(hidden), "the tmpfs leaked out of the namespace"
        d = own_daemon()

        def copy_attached():
            objs = [o for o in d.status()["attached"] if f"/proc/{pid}/map_files/" in o["path"]
                    or f"/proc/{pid}/root" in o["path"]]
            assert objs and objs[0]["kind"] == "libc", d.status()["attached"]
            return True

        wait_until(copy_attached, timeout=15, what="the namespace's deleted libc attached")

        def live():
            return by_site(d.top(pid)).get("lw_leak_site", ZERO)["live_bytes"]

        wait_until(lambda: live() > 0, timeout=15, what="the leak site in the namespace")
        first = live()
        wait_until(lambda: live() >= first + 20 * 4096, timeout=15, what="the site to grow")
    finally:
        if pid:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        proc.kill()
        proc.wait(timeout=10)
        shutil.rmtree(hidden, ignore_errors=True)
