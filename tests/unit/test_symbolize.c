// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Symbolization against real objects: this test binary (PIE, built with -g), libc (symbols from
 * the debug file when installed, else .dynsym), libdw (stripped, no debug file: .dynsym), a
 * deleted copy of this binary mapped by a child (only /proc/PID/map_files can reach it), and a
 * non-PIE executable built on the spot when gcc is around.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <elfutils/libdwfl.h>

#include "procmaps.h"
#include "snapshot.h"
#include "symbolize.h"
#include "unit.h"

void *volatile lw_test_sink;

/* Not static, so the compiler keeps their names (no .isra/.constprop clones). */
__attribute__((noinline)) void *lw_test_get_ra(void)
{
	return __builtin_return_address(0);
}

static const int caller_first_line = __LINE__ + 1;
__attribute__((noinline)) void *lw_test_caller(void)
{
	void *ra = lw_test_get_ra();	/* caller_first_line + 2 */

	/* A store after the call rules out a tail call, so ra lies inside this function. */
	lw_test_sink = ra;
	return ra;
}
static const int caller_last_line = __LINE__;

static void frame_clear(struct lw_frame *f)
{
	free((char *)f->symbol);
	free((char *)f->module);
	free((char *)f->file);
	memset(f, 0, sizeof(*f));
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, k = strlen(suffix);

	return s && n >= k && !strcmp(s + n - k, suffix);
}

static int elf_type(const char *path)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, &eh, sizeof(eh), 0);
	close(fd);
	return n == sizeof(eh) ? eh.e_type : -1;
}

static bool self_exe(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

static uint64_t addr_of(void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* A return address inside lw_test_caller resolves to it, with this file and a line in it. */
static bool test_self_return_address(void)
{
	uint64_t ra = addr_of(lw_test_caller()), fn = addr_of(lw_test_caller);
	struct lw_symbolizer *s = lw_symbolizer__new();
	struct lw_maps maps = { 0 };
	struct lw_frame f = { 0 };
	uint64_t modules, lookups, failures;
	char exe[4096];
	bool ok;

	CHECK(s && self_exe(exe, sizeof(exe)));
	CHECK(ra > fn);
	CHECK(lw_maps__read(getpid(), &maps) == 0);
	CHECK(lw_symbolizer__resolve(s, getpid(), &maps, ra, true, &f) == 0);
	fprintf(stderr, "# %#" PRIx64 " -> %s+%#" PRIx64 " %s:%d in %s\n", f.addr, f.symbol,
		f.offset, f.file, f.line, f.module);
	ok = f.addr == ra && f.kind == LW_FRAME_NATIVE && f.symbol &&
	     !strcmp(f.symbol, "lw_test_caller") && f.offset == ra - fn && f.module &&
	     !strcmp(f.module, exe) && ends_with(f.file, "test_symbolize.c") &&
	     f.line > caller_first_line && f.line < caller_last_line;
	/* addr - 1 was looked up: the line of the call, not of the store after it. */
	ok = ok && f.line == caller_first_line + 2;
	frame_clear(&f);
	lw_symbolizer__stats(s, &modules, &lookups, &failures);
	lw_symbolizer__free(s);
	lw_maps__free(&maps);
	CHECK(ok);
	CHECK(modules == 1 && lookups == 1 && failures == 0);
	return true;
}

/* A function's own address (not a return address): offset 0, the line of its opening. */
static bool test_self_function_entry(void)
{
	uint64_t fn = addr_of(lw_test_caller);
	struct lw_symbolizer *s = lw_symbolizer__new();
	struct lw_maps maps = { 0 };
	struct lw_frame f = { 0 };
	char exe[4096];
	bool ok;

	CHECK(s && self_exe(exe, sizeof(exe)));
	/* gcc's default on Debian: make sure the PIE case is what is exercised. */
	CHECK(elf_type(exe) == ET_DYN);
	CHECK(lw_maps__read(getpid(), &maps) == 0);
	CHECK(lw_symbolizer__resolve(s, getpid(), &maps, fn, false, &f) == 0);
	ok = f.symbol && !strcmp(f.symbol, "lw_test_caller") && f.offset == 0 &&
	     ends_with(f.file, "test_symbolize.c") && f.line >= caller_first_line &&
	     f.line < caller_last_line;
	frame_clear(&f);
	/* Same module again: served from the cache. */
	CHECK(lw_symbolizer__resolve(s, getpid(), &maps, addr_of(lw_test_get_ra), false, &f) == 0);
	ok = ok && f.symbol && !strcmp(f.symbol, "lw_test_get_ra");
	frame_clear(&f);
	uint64_t modules;

	lw_symbolizer__stats(s, &modules, NULL, NULL);
	lw_symbolizer__free(s);
	lw_maps__free(&maps);
	CHECK(ok);
	CHECK(modules == 1);
	return true;
}

/*
 * Resolve fn of the already loaded lib; *ok when the symbol is one of want. If the debug file
 * is installed under /usr/lib/debug/.build-id, line info must come from it.
 */
static bool resolve_in_lib(const char *lib, const char *fn, const char *const *want,
			   const char *module_part, bool *ok)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
	void *p = h ? dlsym(h, fn) : NULL;
	struct lw_symbolizer *s = lw_symbolizer__new();
	struct lw_maps maps = { 0 };
	struct lw_frame f = { 0 };

	*ok = false;
	CHECK(p && s);
	CHECK(lw_maps__read(getpid(), &maps) == 0);
	/* As a return address a few bytes into the function, as a real stack would have it. */
	CHECK(lw_symbolizer__resolve(s, getpid(), &maps, addr_of(p) + 4, true, &f) == 0);
	fprintf(stderr, "# %s: %s+%#" PRIx64 " in %s\n", fn, f.symbol, f.offset, f.module);
	for (size_t i = 0; want[i]; i++)
		*ok = *ok || (f.symbol && !strcmp(f.symbol, want[i]));
	*ok = *ok && f.offset == 4 && f.module && strstr(f.module, module_part);
	frame_clear(&f);

	const char *id = lw_symbolizer__build_id(s, getpid(), &maps, addr_of(p));
	char dbg[256];

	if (*ok && id && strlen(id) > 2) {
		snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%.2s/%s.debug", id, id + 2);
		if (!access(dbg, R_OK)) {
			CHECK(!lw_symbolizer__resolve(s, getpid(), &maps, addr_of(p), false, &f));
			fprintf(stderr, "# %s: %s gives %s:%d\n", fn, dbg, f.file, f.line);
			*ok = f.file && f.line > 0;
			frame_clear(&f);
		}
	}
	lw_symbolizer__free(s);
	lw_maps__free(&maps);
	dlclose(h);
	return true;
}

static bool test_libc_malloc(void)
{
	static const char *const want[] = { "malloc", "__libc_malloc", NULL };
	bool ok;

	CHECK(resolve_in_lib("libc.so.6", "malloc", want, "/libc", &ok));
	CHECK(ok);
	return true;
}

/* libdw ships without .symtab and its debug file is rarely installed: .dynsym must do. */
static bool test_stripped_dynsym(void)
{
	static const char *const want[] = { "dwfl_begin", NULL };
	bool ok;

	/* Reference it so the library is mapped whatever the linker's --as-needed does. */
	lw_test_sink = (void *)dwfl_begin;
	CHECK(resolve_in_lib("libdw.so.1", "dwfl_begin", want, "/libdw", &ok));
	CHECK(ok);
	return true;
}

static bool copy_file(const char *from, int to)
{
	char buf[65536];
	int fd = open(from, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;

	if (fd < 0)
		return false;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(to, buf, n) != n) {
			n = -1;
			break;
		}
	close(fd);
	return n == 0;
}

/*
 * A child maps a copy of this binary, then the copy is unlinked: no path leads to it any more,
 * only /proc/CHILD/map_files. Symbols must still resolve, for another process than ourselves.
 */
static bool test_deleted_file(void)
{
	char path[128], exe[4096];
	int fd, c2p[2], p2c[2], status;
	struct lw_maps self = { 0 }, maps = { 0 };
	struct lw_symbolizer *s = NULL;
	const struct lw_mapping *mp;
	struct lw_frame f = { 0 };
	uint64_t base = 0, off;
	bool ok = false;
	pid_t pid;

	CHECK(self_exe(exe, sizeof(exe)));
	CHECK(lw_maps__read(getpid(), &self) == 0);
	mp = lw_maps__find(&self, addr_of(lw_test_caller));
	CHECK(mp);
	off = lw_mapping__file_offset(mp, addr_of(lw_test_caller));
	/* map_files needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE; the daemon has them. */
	snprintf(path, sizeof(path), "/proc/self/map_files/%" PRIx64 "-%" PRIx64, mp->start,
		 mp->end);
	lw_maps__free(&self);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		fprintf(stderr, "# skipped: no access to /proc/PID/map_files without privileges\n");
		return true;
	}
	CHECK(fd >= 0);
	close(fd);
	strcpy(path, "/tmp/lw-symtest-XXXXXX");

	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (!copy_file(exe, fd) || pipe(c2p) || pipe(p2c)) {
		close(fd);
		unlink(path);
		CHECK(false);
	}
	pid = fork();
	if (pid == 0) {
		struct stat st;
		void *a = MAP_FAILED;
		char c;

		close(c2p[0]);
		close(p2c[1]);
		if (!fstat(fd, &st))
			a = mmap(NULL, st.st_size, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
		close(fd);
		if (write(c2p[1], &a, sizeof(a)) != sizeof(a))
			_exit(1);
		/* Stay until the parent is done looking. */
		while (read(p2c[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(fd);
	close(c2p[1]);
	close(p2c[0]);
	if (pid > 0) {
		void *a = MAP_FAILED;

		if (read(c2p[0], &a, sizeof(a)) == sizeof(a) && a != MAP_FAILED)
			base = addr_of(a);
	}
	unlink(path);
	if (!base) {
		fprintf(stderr, "# child could not map %s (noexec /tmp?)\n", path);
		goto out;
	}
	if (lw_maps__read(pid, &maps))
		goto out;
	mp = lw_maps__find(&maps, base + off);
	if (!mp || !mp->deleted || !mp->path || strcmp(mp->path, path))
		goto out;
	s = lw_symbolizer__new();
	if (!s || lw_symbolizer__resolve(s, pid, &maps, base + off, false, &f))
		goto out;
	fprintf(stderr, "# deleted: %s+%#" PRIx64 " %s:%d in %s\n", f.symbol, f.offset, f.file,
		f.line, f.module);
	ok = f.symbol && !strcmp(f.symbol, "lw_test_caller") && f.offset == 0 &&
	     ends_with(f.file, "test_symbolize.c") && f.module && !strcmp(f.module, path);
	/* The build id comes from the same cached module. */
	ok = ok && lw_symbolizer__build_id(s, pid, &maps, base + off);
out:
	frame_clear(&f);
	lw_symbolizer__free(s);
	lw_maps__free(&maps);
	close(p2c[1]);
	close(c2p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	CHECK(pid > 0);
	CHECK(ok);
	return true;
}

/*
 * Without map_files (a range no process has) the path is used, through /proc/PID/root, but only
 * while it still names the mapped inode.
 */
static bool test_path_fallback_and_replaced(void)
{
	const uint64_t shift = 1ULL << 40;
	struct lw_symbolizer *s = lw_symbolizer__new();
	uint64_t fn = addr_of(lw_test_caller), modules, lookups, failures;
	struct lw_maps self = { 0 }, one = { .n = 1 };
	const struct lw_mapping *found;
	struct lw_mapping mp;
	struct lw_frame f = { 0 };
	bool ok;

	CHECK(s);
	CHECK(lw_maps__read(getpid(), &self) == 0);
	found = lw_maps__find(&self, fn);
	CHECK(found && found->path);
	/* The same file, but at a range map_files does not have. */
	mp = *found;
	mp.start += shift;
	mp.end += shift;
	one.v = &mp;
	CHECK(lw_symbolizer__resolve(s, getpid(), &one, fn + shift, false, &f) == 0);
	ok = f.symbol && !strcmp(f.symbol, "lw_test_caller");
	frame_clear(&f);

	/* Same path, another inode: the file was replaced, so nothing may be trusted. */
	mp.ino += 1000003;
	for (int i = 0; i < 3; i++) {
		CHECK(lw_symbolizer__resolve(s, getpid(), &one, fn + shift, false, &f) == 0);
		ok = ok && !f.symbol && !f.file && f.module && !strcmp(f.module, mp.path);
		frame_clear(&f);
	}
	ok = ok && !lw_symbolizer__build_id(s, getpid(), &one, fn + shift);
	lw_symbolizer__stats(s, &modules, &lookups, &failures);
	lw_symbolizer__free(s);
	lw_maps__free(&self);
	CHECK(ok);
	CHECK(modules == 1 && lookups == 4 && failures == 3);
	return true;
}

/* Anonymous memory, [vdso], unmapped addresses: not errors, just unknown. */
static bool test_unresolvable(void)
{
	static const char text[] = "1000-2000 r-xp 00000000 00:00 0\n"
				   "3000-5000 r-xp 00000000 00:00 0          [vdso]\n"
				   "6000-7000 r-xp 00000000 fe:00 12345 /nonexistent/lw-test.so\n";
	struct lw_symbolizer *s = lw_symbolizer__new();
	struct lw_maps maps = { 0 };
	struct lw_frame f = { 0 };
	uint64_t lookups, failures;

	CHECK(s);
	CHECK(lw_maps__parse(text, strlen(text), &maps) == 0);
	CHECK(lw_symbolizer__resolve(s, getpid(), &maps, 0x1500, true, &f) == 0);
	CHECK(f.addr == 0x1500 && !f.symbol && !f.module && !f.file && f.line == 0);
	CHECK(lw_symbolizer__resolve(s, getpid(), &maps, 0x3500, true, &f) == 0);
	CHECK(!f.symbol && f.module && !strcmp(f.module, "[vdso]"));
	frame_clear(&f);
	CHECK(lw_symbolizer__resolve(s, getpid(), &maps, 0x6500, true, &f) == 0);
	CHECK(!f.symbol && f.module && !strcmp(f.module, "/nonexistent/lw-test.so"));
	frame_clear(&f);
	CHECK(lw_symbolizer__resolve(s, getpid(), &maps, 0x9000, false, &f) == 0);
	CHECK(f.addr == 0x9000 && !f.module);
	/* A return address of 0 must not wrap around. */
	CHECK(lw_symbolizer__resolve(s, getpid(), &maps, 0, true, &f) == 0);
	CHECK(f.addr == 0 && !f.module);
	CHECK(!lw_symbolizer__build_id(s, getpid(), &maps, 0x6500));
	CHECK(!lw_symbolizer__build_id(s, getpid(), &maps, 0x9000));
	lw_symbolizer__stats(s, NULL, &lookups, &failures);
	CHECK(lookups == 5 && failures == 5);
	lw_symbolizer__free(s);
	lw_maps__free(&maps);
	return true;
}

/* Far more distinct files than the cache holds: eviction keeps it bounded and leak-free. */
static bool test_cache_eviction(void)
{
	struct lw_symbolizer *s = lw_symbolizer__new();
	struct lw_maps self = { 0 };
	struct lw_mapping fake = {
		.start = 0x1000, .end = 0x2000, .dev = 1, .exec = true,
		.path = (char *)"/nonexistent/lw-evict",
	};
	struct lw_maps one = { .n = 1, .v = &fake };
	struct lw_frame f = { 0 };
	uint64_t modules;
	bool ok = true;

	CHECK(s);
	CHECK(lw_maps__read(getpid(), &self) == 0);
	for (int round = 0; round < 2 && ok; round++) {
		/* A real module amid the churn must survive or be reloaded transparently. */
		CHECK(lw_symbolizer__resolve(s, getpid(), &self, addr_of(lw_test_caller), false,
					     &f) == 0);
		ok = f.symbol && !strcmp(f.symbol, "lw_test_caller");
		frame_clear(&f);
		for (uint64_t i = 1; i <= 2000 && ok; i++) {
			fake.ino = i;
			ok = !lw_symbolizer__resolve(s, getpid(), &one, 0x1800, false, &f) &&
			     !f.symbol;
			frame_clear(&f);
		}
	}
	lw_symbolizer__stats(s, &modules, NULL, NULL);
	lw_symbolizer__free(s);
	lw_maps__free(&self);
	CHECK(ok);
	/* The real module was pushed out by 2000 newer entries. */
	CHECK(modules == 0);
	return true;
}

static int note_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
	char *hex = data;

	/* The first object is the main program. */
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = p + ph->p_memsz;

		if (ph->p_type != PT_NOTE)
			continue;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const char *name = p + sizeof(*nh);
			const unsigned char *desc =
				(const unsigned char *)name + ((nh->n_namesz + 3) & ~3U);

			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(name, "GNU", 4) && nh->n_descsz <= 64) {
				for (unsigned int j = 0; j < nh->n_descsz; j++)
					sprintf(hex + 2 * j, "%02x", desc[j]);
				return 1;
			}
			p = (const char *)desc + ((nh->n_descsz + 3) & ~3U);
		}
	}
	return 1;
}

static bool test_build_id(void)
{
	struct lw_symbolizer *s = lw_symbolizer__new();
	struct lw_maps maps = { 0 };
	const struct lw_mapping *mp;
	struct lw_frame f = { 0 };
	char want[129] = "";
	const char *got;
	bool ok;

	CHECK(s);
	dl_iterate_phdr(note_build_id, want);
	CHECK(want[0]);
	CHECK(lw_maps__read(getpid(), &maps) == 0);
	got = lw_symbolizer__build_id(s, getpid(), &maps, addr_of(lw_test_caller));
	fprintf(stderr, "# build id %s\n", got ? got : "(null)");
	ok = got && !strcmp(got, want);
	/* a resolved frame carries the same id, and the executable mapping that holds it */
	ok = ok && !lw_symbolizer__resolve(s, getpid(), &maps, addr_of(lw_test_caller), false, &f);
	mp = lw_maps__find(&maps, addr_of(lw_test_caller));
	ok = ok && mp && f.build_id && !strcmp(f.build_id, want) && f.map_start == mp->start &&
	     f.map_limit == mp->end && f.map_offset == mp->pgoff;
	free((char *)f.symbol);
	free((char *)f.module);
	free((char *)f.file);
	free((char *)f.build_id);
	lw_symbolizer__free(s);
	lw_maps__free(&maps);
	CHECK(ok);
	return true;
}

static const char nopie_src[] =
	"#include <stdio.h>\n"
	"#include <unistd.h>\n"
	"__attribute__((noinline)) void lw_nopie_target(void) { __asm__ volatile(\"\"); }\n"
	"int main(void)\n"
	"{\n"
	"\tchar c;\n"
	"\tprintf(\"%lx\\n\", (unsigned long)&lw_nopie_target);\n"
	"\tfflush(stdout);\n"
	"\tlw_nopie_target();\n"
	"\treturn read(0, &c, 1) < 0;\n"
	"}\n";

/*
 * ET_EXEC: file offsets translate to the fixed link-time addresses. Needs gcc to build one.
 * The pipes are close-on-exec so that the child sees EOF on stdin once we close our end.
 */
static bool test_non_pie(void)
{
	char dir[] = "/tmp/lw-nopie-XXXXXX", src[64], bin[64], cmd[256], line[64] = "";
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, status;
	struct lw_symbolizer *s = NULL;
	struct lw_maps maps = { 0 };
	struct lw_frame f = { 0 };
	unsigned long addr = 0;
	bool ok = false;
	pid_t pid = -1;
	FILE *fp;

	CHECK(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/t.c", dir);
	snprintf(bin, sizeof(bin), "%s/t", dir);
	fp = fopen(src, "w");
	CHECK(fp);
	fputs(nopie_src, fp);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "gcc -O1 -g -fno-pie -no-pie -o %s %s 2>/dev/null", bin, src);
	if (system(cmd) != 0) {
		fprintf(stderr, "# skipped: cannot build a non-PIE executable with gcc\n");
		ok = true;
		goto out;
	}
	if (elf_type(bin) != ET_EXEC || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		goto out;
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(bin, bin, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	fp = pid > 0 ? fdopen(out[0], "r") : NULL;
	if (!fp)
		goto out;
	out[0] = -1;
	if (!fgets(line, sizeof(line), fp))
		line[0] = '\0';
	fclose(fp);
	addr = strtoul(line, NULL, 16);
	if (!addr || lw_maps__read(pid, &maps))
		goto out;
	s = lw_symbolizer__new();
	if (!s || lw_symbolizer__resolve(s, pid, &maps, addr, false, &f))
		goto out;
	fprintf(stderr, "# non-PIE: %#lx -> %s+%#" PRIx64 " %s:%d\n", addr, f.symbol, f.offset,
		f.file, f.line);
	ok = f.symbol && !strcmp(f.symbol, "lw_nopie_target") && f.offset == 0 &&
	     ends_with(f.file, "t.c") && f.line == 3 && f.module && !strcmp(f.module, bin);
out:
	frame_clear(&f);
	lw_symbolizer__free(s);
	lw_maps__free(&maps);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	unlink(bin);
	unlink(src);
	rmdir(dir);
	CHECK(ok);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_self_return_address), UNIT_TEST(test_self_function_entry),
	  UNIT_TEST(test_libc_malloc), UNIT_TEST(test_stripped_dynsym),
	  UNIT_TEST(test_deleted_file), UNIT_TEST(test_path_fallback_and_replaced),
	  UNIT_TEST(test_unresolvable), UNIT_TEST(test_cache_eviction), UNIT_TEST(test_build_id),
	  UNIT_TEST(test_non_pie))
