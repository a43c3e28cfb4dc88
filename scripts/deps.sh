#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Installs the Debian packages leakwatch needs to build and test, only those that are missing.
set -eu

# prometheus (promtool) and golang-go (go tool pprof) are for the tests: the real tools read
# what /metrics and the profiles say. g++ builds the C++ scenario. systemd (systemd-analyze),
# systemd-container (systemd-nspawn), libcap2-bin (capsh), passwd (useradd) and man-db serve the
# tests of the unit, the install and access control. The allocator tests link against jemalloc,
# tcmalloc (gperftools) and mimalloc, and run Debian's redis (which uses jemalloc) under
# redis-benchmark; redis and heaptrack are the benchmark's workload and its in-process comparison.
PKGS="make gcc g++ clang llvm bpftool pkg-config libbpf-dev libelf-dev libdw-dev libjansson-dev
zlib1g-dev libmicrohttpd-dev libprotobuf-c-dev protobuf-c-compiler libsystemd-dev python3
python3-pytest procps prometheus golang-go systemd systemd-container libcap2-bin passwd man-db
libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev redis-server redis-tools heaptrack"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing; run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# other package managers' runs may hold the lock for a while: wait for it rather than fail
apt-get -o DPkg::Lock::Timeout=300 update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $missing >/dev/null
