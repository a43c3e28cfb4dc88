# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# leakwatch: BPF object -> skeleton -> daemon and client. Everything generated lives in build/.

OUT		:= build
CLANG		?= clang
BPFTOOL		?= bpftool
CC		?= gcc
PREFIX		?= /usr/local
ARCH		:= $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

VERSION		:= 0.1.0
CFLAGS		?= -O2 -g
WARN		:= -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
CPPFLAGS	+= -Iinclude -Iuserspace -I$(OUT) -I$(OUT)/pprof -D_GNU_SOURCE -DLW_VERSION='"$(VERSION)"'
# Recursive (=) on purpose: evaluated in recipes, after 'make deps' may have installed them.
PKGS		= libbpf libelf libdw jansson zlib libmicrohttpd libprotobuf-c libsystemd
# libstdc++ for its C++ demangler (__cxa_demangle)
LIBS		= $(shell pkg-config --libs $(PKGS)) -lm -lstdc++

# clang's BPF target does not see the host's system include dirs; hand them over explicitly.
CLANG_BPF_SYS_INCLUDES = $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

BPF_SRCS	:= $(wildcard bpf/*.bpf.c)
BPF_OBJS	:= $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKEL		:= $(OUT)/leakwatch.skel.h

MAINS		:= userspace/leakwatchd.c userspace/leakwatch.c
LIB_SRCS	:= $(filter-out $(MAINS),$(wildcard userspace/*.c))
# The pprof schema, compiled by protoc-c into C at build time.
PROTO		:= userspace/pprof/profile.proto
PROTO_C		:= $(OUT)/pprof/profile.pb-c.c
PROTO_H		:= $(OUT)/pprof/profile.pb-c.h
LIB_OBJS	:= $(patsubst userspace/%.c,$(OUT)/obj/%.o,$(LIB_SRCS)) $(OUT)/obj/profile.pb-c.o
LIB		:= $(OUT)/libleakwatch.a

UNIT_SRCS	:= $(wildcard tests/unit/test_*.c)
UNIT_BINS	:= $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))

# Test programs: built -O2 both with and without frame pointers; they print their own truth.
PROG_SRCS	:= $(wildcard tests/progs/*.c)
PROG_BINS	:= $(foreach p,$(PROG_SRCS),$(patsubst tests/progs/%.c,$(OUT)/progs/%-fp,$(p)) \
			$(patsubst tests/progs/%.c,$(OUT)/progs/%-nofp,$(p)))
# One leak program per allocator: linked against Debian's jemalloc, tcmalloc and mimalloc, glibc
# with libstdc++'s operator new, and a static binary carrying glibc's allocator.
ALLOC_LIBS_jemalloc := -ljemalloc
ALLOC_LIBS_tcmalloc := -ltcmalloc
ALLOC_LIBS_mimalloc := -lmimalloc
ALLOC_LIBS_libc	:= -lstdc++
ALLOC_LIBS_static := -static -lstdc++
ALLOC_PROGS	:= $(patsubst %,$(OUT)/progs/cxxleak-%,jemalloc tcmalloc mimalloc libc static)
PROG_BINS	+= $(ALLOC_PROGS)
BENCH_SRCS	:= $(wildcard tests/bench/*.c)
BENCH_BINS	:= $(patsubst tests/bench/%.c,$(OUT)/bench/%,$(BENCH_SRCS))

.DELETE_ON_ERROR:
.PHONY: all deps run test unit-test check-test bench format format-check vmlinux install clean

all: $(OUT)/leakwatchd $(OUT)/leakwatch

deps:
	@scripts/deps.sh

$(OUT)/bpf/%.tmp.o: bpf/%.bpf.c include/leakwatch_abi.h $(wildcard bpf/*.h) vmlinux/vmlinux.h | $(OUT)/bpf
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Iinclude -Ivmlinux -Ibpf \
		$(CLANG_BPF_SYS_INCLUDES) -Wall -Werror -c $< -o $@

$(OUT)/bpf/%.bpf.o: $(OUT)/bpf/%.tmp.o
	$(BPFTOOL) gen object $@ $<

$(OUT)/leakwatch.bpf.o: $(BPF_OBJS)
	$(BPFTOOL) gen object $@ $^

$(SKEL): $(OUT)/leakwatch.bpf.o
	$(BPFTOOL) gen skeleton $< name leakwatch_bpf > $@

$(PROTO_C) $(PROTO_H) &: $(PROTO) | $(OUT)/pprof
	protoc-c --proto_path=$(dir $(PROTO)) --c_out=$(OUT)/pprof $(notdir $(PROTO))

$(OUT)/obj/%.o: userspace/%.c $(SKEL) | $(OUT)/obj $(PROTO_H)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c $< -o $@

# generated code: warnings are protoc-c's business, not ours
$(OUT)/obj/profile.pb-c.o: $(PROTO_C) $(PROTO_H) | $(OUT)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(AR) rcs $@ $^

$(OUT)/leakwatchd: $(OUT)/obj/leakwatchd.o $(LIB)
	$(CC) $(CFLAGS) $^ $(LIBS) -o $@

$(OUT)/leakwatch: $(OUT)/obj/leakwatch.o $(LIB)
	$(CC) $(CFLAGS) $^ $(LIBS) -o $@

# dependency files beside, not among, the test binaries: the runner executes build/tests/test_*
$(OUT)/tests/%: tests/unit/%.c $(LIB) tests/unit/unit.h | $(OUT)/tests/deps
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(WARN) -MMD -MP -MF $(OUT)/tests/deps/$*.d \
		$< $(LIB) $(LIBS) -o $@

$(OUT)/progs/%-fp: tests/progs/%.c | $(OUT)/progs
	$(CC) -O2 -g -fno-omit-frame-pointer -pthread $< -o $@

$(OUT)/progs/%-nofp: tests/progs/%.c | $(OUT)/progs
	$(CC) -O2 -g -fomit-frame-pointer -pthread $< -o $@

$(OUT)/progs/cxxleak-%: tests/progs/allocators/cxxleak.c tests/progs/lwprog.h | $(OUT)/progs
	$(CC) -O2 -g -fno-omit-frame-pointer -pthread $< -o $@ $(ALLOC_LIBS_$*)

$(OUT)/bench/%: tests/bench/%.c | $(OUT)/bench
	$(CC) -O2 -g -fno-omit-frame-pointer -pthread $< -o $@

# the empty-probe floor links the daemon's own probe placement, to probe the very same points
$(OUT)/bench/floor: tests/bench/floor.c $(LIB) | $(OUT)/bench
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $< $(LIB) $(LIBS) -o $@

$(OUT)/bpf $(OUT)/obj $(OUT)/pprof $(OUT)/tests/deps $(OUT)/progs $(OUT)/bench:
	mkdir -p $@

# The README's test command: installs what is missing, builds, runs every tier.
test: deps
	@$(MAKE) --no-print-directory all unit-test-bins test-progs
	@tests/run.sh

unit-test-bins: $(UNIT_BINS)
test-progs: $(PROG_BINS) $(BENCH_BINS)

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS) $(PROG_BINS)
	/usr/bin/python3 tests/bench/suite.py
	tests/bench/run.sh
	tests/bench/scrape.sh
	tests/bench/python.sh

# The README's start command: installs what is missing, builds, runs the daemon with defaults.
run: deps
	@$(MAKE) --no-print-directory all
	exec $(OUT)/leakwatchd

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

FORMAT_SRCS = $(wildcard userspace/*.[ch] bpf/*.[ch] include/*.h tests/unit/*.[ch] tests/progs/*.c tests/bench/*.c)
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRCS)

SYSCONFDIR	?= /etc
# systemd reads units from $(PREFIX)/lib/systemd/system for PREFIX /usr and /usr/local alike.
UNITDIR		?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR	?= $(PREFIX)/lib/sysusers.d
MANDIR		?= $(PREFIX)/share/man
# The unit runs the installed daemon, with the installed config when that is not the default.
UNIT_EXEC	:= $(PREFIX)/sbin/leakwatchd$(if $(filter-out /etc,$(SYSCONFDIR)), --config $(SYSCONFDIR)/leakwatch/leakwatchd.conf)

install: all
	install -D -m 0755 $(OUT)/leakwatchd $(DESTDIR)$(PREFIX)/sbin/leakwatchd
	install -D -m 0755 $(OUT)/leakwatch $(DESTDIR)$(PREFIX)/bin/leakwatch
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|^ExecStart=.*|ExecStart=$(UNIT_EXEC)|' systemd/leakwatchd.service \
		> $(DESTDIR)$(UNITDIR)/leakwatchd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/leakwatchd.service
	install -D -m 0644 systemd/leakwatch.sysusers $(DESTDIR)$(SYSUSERSDIR)/leakwatch.conf
	install -D -m 0644 userspace/man/leakwatchd.8 $(DESTDIR)$(MANDIR)/man8/leakwatchd.8
	install -D -m 0644 userspace/man/leakwatch.1 $(DESTDIR)$(MANDIR)/man1/leakwatch.1
	# an edited config is never overwritten
	[ -e $(DESTDIR)$(SYSCONFDIR)/leakwatch/leakwatchd.conf ] || \
		install -D -m 0644 systemd/leakwatchd.conf $(DESTDIR)$(SYSCONFDIR)/leakwatch/leakwatchd.conf

clean:
	rm -rf $(OUT)

# --- scenario suite (tests/scenarios, issue 3) -------------------------------------------------
# Programs with known allocation behaviour that print their own ground truth; tests/scenarios/run.py
# runs them all against a daemon and scores its verdicts. Built -O2 with and without frame
# pointers, like tests/progs; C++ scenarios (*.cc) with g++.
SCEN_SRCS	:= $(wildcard tests/scenarios/*.c tests/scenarios/*.cc)
SCEN_NAMES	:= $(basename $(notdir $(SCEN_SRCS)))
SCEN_BINS	:= $(foreach n,$(SCEN_NAMES),$(OUT)/scenarios/$(n)-fp $(OUT)/scenarios/$(n)-nofp)
SCEN_FLAGS	:= -O2 -g -pthread -Wall -Wextra -Werror -Wno-unused-parameter

$(OUT)/scenarios/%-fp: tests/scenarios/%.c tests/scenarios/scenario.h | $(OUT)/scenarios
	$(CC) $(SCEN_FLAGS) -fno-omit-frame-pointer $< -o $@

$(OUT)/scenarios/%-nofp: tests/scenarios/%.c tests/scenarios/scenario.h | $(OUT)/scenarios
	$(CC) $(SCEN_FLAGS) -fomit-frame-pointer $< -o $@

$(OUT)/scenarios/%-fp: tests/scenarios/%.cc tests/scenarios/scenario.h | $(OUT)/scenarios
	$(CXX) $(SCEN_FLAGS) -fno-omit-frame-pointer $< -o $@

$(OUT)/scenarios/%-nofp: tests/scenarios/%.cc tests/scenarios/scenario.h | $(OUT)/scenarios
	$(CXX) $(SCEN_FLAGS) -fomit-frame-pointer $< -o $@

$(OUT)/scenarios:
	mkdir -p $@

.PHONY: scenarios scenario-bins
scenario-bins: $(SCEN_BINS)
# make test builds test-progs; the root tier runs the suite (tests/integration/test_scenarios.py)
test-progs: scenario-bins

# Builds the daemon and the scenarios, runs the suite at --interval 1 (a few minutes).
scenarios: all scenario-bins
	tests/scenarios/run.py

FORMAT_SRCS	+= $(wildcard tests/scenarios/*.c tests/scenarios/*.cc tests/scenarios/*.h)
# --- end of scenario suite ------------------------------------------------------------------------

-include $(wildcard $(OUT)/obj/*.d $(OUT)/tests/deps/*.d)
