// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Each cached module is one Dwfl holding one ELF file reported so that Dwfl addresses equal the
 * file's ELF virtual addresses (bias 0 in practice). A runtime address is translated through the
 * mapping to a file offset, then through the file's PT_LOAD headers to an ELF address: this one
 * path serves PIE executables and shared libraries (ET_DYN, loaded anywhere) and non-PIE
 * executables (ET_EXEC, where it yields the runtime address back), and does not depend on
 * where the process placed the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <elfutils/libdwfl.h>
#include <gelf.h>

#include "demangle.h"
#include "log.h"
#include "symbolize.h"

#define MAX_MODULES	512
#define MIN_MODULES	16
#define NBUCKETS	1024		/* power of two, >= MAX_MODULES */
/*
 * A failed open is remembered, but not forever: the usual cause is a process that exited before
 * we looked, and the same file may be mapped by a live process later.
 */
#define RETRY_NS	(60ULL * 1000000000ULL)

struct lw_load_seg {
	uint64_t off;
	uint64_t filesz;
	uint64_t vaddr;
};

/* One resolved address of a module, kept: sites share return addresses in common code. */
struct lw_sym_entry {
	uint64_t vaddr;		/* 0 = empty slot */
	char *symbol;
	uint64_t symoff;
	char *file;
	int line;
};

/* Addresses cached per module, an open-addressing table that is cleared when it fills. */
#define FRAME_CACHE_SLOTS 4096

struct lw_sym_module {
	uint64_t dev, ino;
	struct lw_sym_entry *cache;		/* FRAME_CACHE_SLOTS slots, allocated on first use */
	size_t ncached;
	struct lw_sym_module *hnext;		/* hash chain */
	struct lw_sym_module *prev, *next;	/* LRU list, most recently used first */
	Dwfl *dwfl;				/* NULL while failed */
	Dwfl_Module *mod;
	GElf_Addr bias;
	char *build_id;
	size_t nsegs;
	struct lw_load_seg *segs;
	uint64_t retry_at_ns;			/* failed: do not try to open again before */
	bool warned;				/* failure already logged */
};

struct lw_symbolizer {
	struct lw_sym_module *buckets[NBUCKETS];
	struct lw_sym_module lru;		/* list head */
	size_t nentries;			/* entries, failed ones included */
	size_t max_entries;
	uint64_t nloaded;
	uint64_t lookups;
	uint64_t failures;
	struct lw_sym_entry scratch;		/* a lookup that found no memory for the cache */
};

/* Never called: dwfl_report_elf() hands libdwfl the open file. */
static int no_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		       char **file_name, Elf **elfp)
{
	return -1;
}

/*
 * Separate debug files by build id only (/usr/lib/debug/.build-id/xx/yyyy.debug, where Debian's
 * -dbg and -dbgsym packages put them; dwz alt files too). Not dwfl_standard_find_debuginfo():
 * in elfutils 0.188 it ends every unsuccessful search by creating a debuginfod client per Dwfl
 * (a curl handle holding two sockets, so per cached module) and, when DEBUGINFOD_URLS is set,
 * blocks the drain on network downloads. What is lost is the .gnu_debuglink search by path
 * (/usr/lib/debug/<dir>/<name>), a layout current distributions no longer ship.
 */
static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = no_find_elf,
	.find_debuginfo = dwfl_build_id_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static size_t bucket_of(uint64_t dev, uint64_t ino)
{
	uint64_t h = (dev * 0x9e3779b97f4a7c15ULL) ^ (ino * 0xc2b2ae3d27d4eb4fULL);

	return (h ^ (h >> 29)) & (NBUCKETS - 1);
}

static void lru_unlink(struct lw_sym_module *m)
{
	m->prev->next = m->next;
	m->next->prev = m->prev;
}

static void lru_push_front(struct lw_symbolizer *s, struct lw_sym_module *m)
{
	m->prev = &s->lru;
	m->next = s->lru.next;
	s->lru.next->prev = m;
	s->lru.next = m;
}

/* Drop what was loaded (libdwfl closes the file descriptor it was given). */
static void cache_clear(struct lw_sym_module *m)
{
	if (!m->cache)
		return;
	for (size_t i = 0; i < FRAME_CACHE_SLOTS; i++) {
		free(m->cache[i].symbol);
		free(m->cache[i].file);
	}
	free(m->cache);
	m->cache = NULL;
	m->ncached = 0;
}

static struct lw_sym_entry *cache_slot(struct lw_sym_module *m, uint64_t vaddr)
{
	size_t i = (vaddr * 0x9e3779b97f4a7c15ULL) >> 52 & (FRAME_CACHE_SLOTS - 1);

	if (!m->cache) {
		m->cache = calloc(FRAME_CACHE_SLOTS, sizeof(*m->cache));
		if (!m->cache)
			return NULL;
	}
	while (m->cache[i].vaddr && m->cache[i].vaddr != vaddr)
		i = (i + 1) & (FRAME_CACHE_SLOTS - 1);
	return &m->cache[i];
}

/* Resolve vaddr in m through the cache; the entry's strings belong to the cache. */
static const struct lw_sym_entry *module_lookup(struct lw_symbolizer *s, struct lw_sym_module *m,
						uint64_t vaddr)
{
	struct lw_sym_entry *e, *uncached = &s->scratch;
	const char *name, *src;
	GElf_Off symoff = 0;
	Dwfl_Line *line;
	GElf_Sym sym;
	int lineno = 0;

	/* a full table is dropped whole: cheaper than LRU, and refills with what is current */
	if (m->ncached >= FRAME_CACHE_SLOTS * 3 / 4)
		cache_clear(m);
	e = vaddr ? cache_slot(m, vaddr) : NULL;
	if (e && e->vaddr)
		return e;
	if (!e) {
		/* no memory for the cache: resolve into a scratch entry */
		free(uncached->symbol);
		free(uncached->file);
		e = uncached;
	}
	memset(e, 0, sizeof(*e));
	name = dwfl_module_addrinfo(m->mod, vaddr, &symoff, &sym, NULL, NULL, NULL);
	if (name && *name) {
		e->symbol = lw_demangle(name);
		if (!e->symbol)
			e->symbol = strdup(name);
		e->symoff = symoff;
	}
	line = dwfl_module_getsrc(m->mod, vaddr);
	src = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
	if (src && lineno > 0) {
		e->file = strdup(src);
		e->line = lineno;
	}
	if (e != uncached) {
		e->vaddr = vaddr;
		m->ncached++;
	}
	return e;
}

static void module_unload(struct lw_symbolizer *s, struct lw_sym_module *m)
{
	cache_clear(m);
	if (m->dwfl) {
		dwfl_end(m->dwfl);
		s->nloaded--;
	}
	m->dwfl = NULL;
	m->mod = NULL;
	free(m->build_id);
	m->build_id = NULL;
	free(m->segs);
	m->segs = NULL;
	m->nsegs = 0;
}

static void module_free(struct lw_symbolizer *s, struct lw_sym_module *m)
{
	struct lw_sym_module **pp = &s->buckets[bucket_of(m->dev, m->ino)];

	while (*pp != m)
		pp = &(*pp)->hnext;
	*pp = m->hnext;
	lru_unlink(m);
	module_unload(s, m);
	s->nentries--;
	free(m);
}

/*
 * Open the file behind mp. /proc/PID/map_files is the mapped file itself, even when it was
 * deleted or replaced since, or lives in another mount namespace. Path-based opens may find a
 * different file, so they must match the mapping's (dev, ino). For map_files only the inode is
 * compared: on stacked file systems the device maps shows may differ from st_dev.
 */
static int open_mapped_file(pid_t pid, const struct lw_mapping *mp)
{
	char buf[PATH_MAX + 64];
	struct stat st;
	int fd, err = -ENOENT;

	snprintf(buf, sizeof(buf), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, mp->start,
		 mp->end);
	fd = open(buf, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (!fstat(fd, &st) && st.st_ino == mp->ino)
			return fd;
		close(fd);
	}
	for (int i = 0; i < 2; i++) {
		if (i == 0)
			snprintf(buf, sizeof(buf), "/proc/%d/root%s", (int)pid, mp->path);
		else
			snprintf(buf, sizeof(buf), "%s", mp->path);
		fd = open(buf, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		if (!fstat(fd, &st) && st.st_dev == mp->dev && st.st_ino == mp->ino)
			return fd;
		/* The path now names another file: the one mapped was replaced. */
		err = -ESTALE;
		close(fd);
	}
	return err;
}

static int collect_segments(struct lw_sym_module *m, Elf *elf)
{
	size_t phnum;

	if (elf_getphdrnum(elf, &phnum))
		return -ENOEXEC;
	m->segs = calloc(phnum ? phnum : 1, sizeof(*m->segs));
	if (!m->segs)
		return -ENOMEM;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD || !ph.p_filesz)
			continue;
		m->segs[m->nsegs++] = (struct lw_load_seg){
			.off = ph.p_offset, .filesz = ph.p_filesz, .vaddr = ph.p_vaddr,
		};
	}
	return m->nsegs ? 0 : -ENOEXEC;
}

static int set_build_id(struct lw_sym_module *m)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(m->mod, &bits, &vaddr);

	if (n <= 0)
		return 0;
	m->build_id = malloc(2 * n + 1);
	if (!m->build_id)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		m->build_id[2 * i] = hex[bits[i] >> 4];
		m->build_id[2 * i + 1] = hex[bits[i] & 0xf];
	}
	m->build_id[2 * n] = '\0';
	return 0;
}

/* Returns 0, -ENOMEM, or another -errno saying why the file cannot be used. */
static int module_load(struct lw_symbolizer *s, struct lw_sym_module *m, pid_t pid,
		       const struct lw_mapping *mp)
{
	Elf *elf;
	int fd, err;

	fd = open_mapped_file(pid, mp);
	if (fd < 0)
		return fd;
	m->dwfl = dwfl_begin(&offline_callbacks);
	if (!m->dwfl) {
		close(fd);
		return -ENOMEM;
	}
	s->nloaded++;
	dwfl_report_begin(m->dwfl);
	/*
	 * The path is only a name here (the fd is what is read). add_p_vaddr with base 0 places
	 * an ET_DYN file at its own p_vaddr: bias 0.
	 */
	m->mod = dwfl_report_elf(m->dwfl, mp->path, mp->path, fd, 0, true);
	if (!m->mod) {
		/* On failure libdwfl has not taken the fd. */
		close(fd);
		err = -ENOEXEC;
		goto err_out;
	}
	if (dwfl_report_end(m->dwfl, NULL, NULL)) {
		err = -ENOMEM;
		goto err_out;
	}
	elf = dwfl_module_getelf(m->mod, &m->bias);
	if (!elf) {
		err = -ENOEXEC;
		goto err_out;
	}
	err = collect_segments(m, elf);
	if (!err)
		err = set_build_id(m);
	if (err)
		goto err_out;
	return 0;

err_out:
	module_unload(s, m);
	return err;
}

static void evict_lru(struct lw_symbolizer *s)
{
	if (s->lru.prev != &s->lru)
		module_free(s, s->lru.prev);
}

/*
 * The cached module for the file behind mp, opening it on first use. NULL when it cannot be
 * used (*err = 0: remembered as failed) or on allocation failure (*err = -ENOMEM).
 */
static struct lw_sym_module *module_get(struct lw_symbolizer *s, pid_t pid,
					const struct lw_mapping *mp, int *err)
{
	size_t b = bucket_of(mp->dev, mp->ino);
	struct lw_sym_module *m;

	*err = 0;
	/* Only files can be opened; [vdso], [heap] and anonymous memory have no inode. */
	if (!mp->path || mp->path[0] != '/' || !mp->ino)
		return NULL;
	for (m = s->buckets[b]; m; m = m->hnext)
		if (m->dev == mp->dev && m->ino == mp->ino)
			break;
	if (m) {
		lru_unlink(m);
		lru_push_front(s, m);
		if (m->dwfl)
			return m;
		if (now_ns() < m->retry_at_ns)
			return NULL;
	} else {
		if (s->nentries >= s->max_entries)
			evict_lru(s);
		m = calloc(1, sizeof(*m));
		if (!m) {
			*err = -ENOMEM;
			return NULL;
		}
		m->dev = mp->dev;
		m->ino = mp->ino;
		m->hnext = s->buckets[b];
		s->buckets[b] = m;
		lru_push_front(s, m);
		s->nentries++;
	}

	int ret = module_load(s, m, pid, mp);

	if (!ret)
		return m;
	if (ret == -ENOMEM) {
		/* Not the file's fault: forget the entry so the next call tries afresh. */
		module_free(s, m);
		*err = ret;
		return NULL;
	}
	m->retry_at_ns = now_ns() + RETRY_NS;
	if (!m->warned) {
		m->warned = true;
		lw_debug("failed to open %s (pid %d) for symbolization: %s", mp->path, (int)pid,
			 strerror(-ret));
	}
	return NULL;
}

/* ELF virtual address of file offset off, through the PT_LOAD headers; false if unmapped. */
static bool offset_to_vaddr(const struct lw_sym_module *m, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < m->nsegs; i++) {
		const struct lw_load_seg *sg = &m->segs[i];

		if (off >= sg->off && off - sg->off < sg->filesz) {
			*vaddr = off - sg->off + sg->vaddr;
			return true;
		}
	}
	return false;
}

struct lw_symbolizer *lw_symbolizer__new(void)
{
	struct lw_symbolizer *s = calloc(1, sizeof(*s));
	struct rlimit rl;

	if (!s)
		return NULL;
	s->lru.prev = s->lru.next = &s->lru;
	/*
	 * Each cached module keeps its file open, and a second one when a debug file is found.
	 * Leave most of the descriptor limit to the rest of the daemon.
	 */
	s->max_entries = MAX_MODULES;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 4 < MAX_MODULES)
		s->max_entries = rl.rlim_cur / 4 < MIN_MODULES ? MIN_MODULES : rl.rlim_cur / 4;
	elf_version(EV_CURRENT);
	return s;
}

void lw_symbolizer__free(struct lw_symbolizer *s)
{
	if (!s)
		return;
	free(s->scratch.symbol);
	free(s->scratch.file);
	while (s->lru.next != &s->lru)
		module_free(s, s->lru.next);
	free(s);
}

static char *dup_or_fail(const char *str, int *err)
{
	char *d = strdup(str);

	if (!d)
		*err = -ENOMEM;
	return d;
}

int lw_symbolizer__resolve(struct lw_symbolizer *s, pid_t pid, const struct lw_maps *maps,
			   uint64_t addr, bool is_return, struct lw_frame *out)
{
	/* A return address points after the call, maybe already into the next function or line. */
	uint64_t look = is_return && addr ? addr - 1 : addr, vaddr;
	const struct lw_mapping *mp;
	struct lw_sym_module *m;
	const struct lw_sym_entry *ent;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->addr = addr;
	out->kind = LW_FRAME_NATIVE;
	s->lookups++;

	mp = lw_maps__find(maps, look);
	if (!mp)
		goto miss;
	if (mp->path && !(out->module = dup_or_fail(mp->path, &err)))
		goto fail;
	out->map_start = mp->start;
	out->map_limit = mp->end;
	out->map_offset = mp->pgoff;
	m = module_get(s, pid, mp, &err);
	if (!m) {
		if (err)
			goto fail;
		goto miss;
	}
	/* read once per module, when it is opened: profiles name the exact build */
	if (m->build_id && !(out->build_id = dup_or_fail(m->build_id, &err)))
		goto fail;
	if (!offset_to_vaddr(m, lw_mapping__file_offset(mp, look), &vaddr))
		goto miss;
	vaddr += m->bias;

	ent = module_lookup(s, m, vaddr);
	if (ent->symbol) {
		if (!(out->symbol = dup_or_fail(ent->symbol, &err)))
			goto fail;
		out->offset = ent->symoff + (addr - look);
	}
	if (ent->file) {
		if (!(out->file = dup_or_fail(ent->file, &err)))
			goto fail;
		out->line = ent->line;
	}
	if (!out->symbol)
		s->failures++;
	return 0;

miss:
	s->failures++;
	return 0;

fail:
	free((char *)out->symbol);
	free((char *)out->module);
	free((char *)out->file);
	free((char *)out->build_id);
	memset(out, 0, sizeof(*out));
	out->addr = addr;
	out->kind = LW_FRAME_NATIVE;
	return err;
}

const char *lw_symbolizer__build_id(struct lw_symbolizer *s, pid_t pid, const struct lw_maps *maps,
				    uint64_t addr)
{
	const struct lw_mapping *mp = lw_maps__find(maps, addr);
	struct lw_sym_module *m;
	int err;

	if (!mp) {
		errno = ENOENT;
		return NULL;
	}
	m = module_get(s, pid, mp, &err);
	if (!m) {
		errno = err ? -err : ENOENT;
		return NULL;
	}
	if (!m->build_id)
		errno = ENOENT;
	return m->build_id;
}

void lw_symbolizer__stats(const struct lw_symbolizer *s, uint64_t *modules, uint64_t *lookups,
			  uint64_t *failures)
{
	if (modules)
		*modules = s->nloaded;
	if (lookups)
		*lookups = s->lookups;
	if (failures)
		*failures = s->failures;
}
