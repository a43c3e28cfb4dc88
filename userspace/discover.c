// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "allocfns.h"
#include "discover.h"
#include "elfsym.h"
#include "log.h"
#include "procmaps.h"
#include "pyinterp.h"
#include "tracer.h"

/* What a process looked like when we examined it; examined again when that changes. */
struct seen_proc {
	pid_t pid;
	uint64_t exe_dev, exe_ino;
	unsigned int looks;	/* examined this many times (twice: the loader may be mid-way) */
	unsigned int gen;	/* last scan that saw it alive */
};

struct seen_obj {
	uint64_t dev, ino;
};

struct lw_discover {
	struct lw_tracer *tracer;
	struct seen_proc *procs;
	size_t nprocs, procs_cap;
	struct seen_obj *objs;
	size_t nobjs, objs_cap;
	unsigned int gen;
	struct lw_pyinterp *py;		/* CPython interpreters, when Python frames are wanted */
	const struct lw_allocfns *fns;
	unsigned int nlibc;		/* libc objects attached */
};

struct lw_discover *lw_discover__new(struct lw_tracer *t, const struct lw_allocfns *fns)
{
	struct lw_discover *d = calloc(1, sizeof(*d));

	if (d) {
		d->tracer = t;
		d->fns = fns;
	}
	return d;
}

unsigned int lw_discover__libcs(const struct lw_discover *d)
{
	return d->nlibc;
}

void lw_discover__set_python(struct lw_discover *d, struct lw_pyinterp *py)
{
	d->py = py;
}

void lw_discover__free(struct lw_discover *d)
{
	if (!d)
		return;
	free(d->procs);
	free(d->objs);
	free(d);
}

static bool obj_seen(struct lw_discover *d, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < d->nobjs; i++)
		if (d->objs[i].dev == dev && d->objs[i].ino == ino)
			return true;
	return false;
}

static void obj_mark(struct lw_discover *d, uint64_t dev, uint64_t ino)
{
	if (d->nobjs == d->objs_cap) {
		size_t cap = d->objs_cap ? d->objs_cap * 2 : 64;
		struct seen_obj *v = realloc(d->objs, cap * sizeof(*v));

		if (!v)
			return;	/* examined again next time: harmless */
		d->objs = v;
		d->objs_cap = cap;
	}
	d->objs[d->nobjs++] = (struct seen_obj){ dev, ino };
}

/*
 * A path through which the kernel reaches the very inode the process maps: the plain path if it
 * names the same file in our mount namespace, else through the process's root, else the
 * map_files link (which also reaches files deleted since they were mapped).
 */
static int reachable_path(pid_t pid, const struct lw_mapping *mp, char *buf, size_t len)
{
	struct stat st;

	if (!mp->deleted && !stat(mp->path, &st) && st.st_dev == mp->dev && st.st_ino == mp->ino) {
		snprintf(buf, len, "%s", mp->path);
		return 0;
	}
	snprintf(buf, len, "/proc/%d/root%s", pid, mp->path);
	if (!mp->deleted && !stat(buf, &st) && st.st_dev == mp->dev && st.st_ino == mp->ino)
		return 0;
	snprintf(buf, len, "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)mp->start,
		 (unsigned long)mp->end);
	if (!stat(buf, &st) && st.st_dev == mp->dev && st.st_ino == mp->ino)
		return 0;
	return -ENOENT;
}

/* A CPython interpreter: a file named like one, or the executable (it may embed one). */
static int examine_python(struct lw_discover *d, pid_t pid, const struct lw_mapping *mp,
			  bool is_exe)
{
	char path[4096 + 64];

	if (!d->py || lw_pyinterp__seen(d->py, mp->dev, mp->ino) ||
	    (!is_exe && !lw_pyinterp__candidate(mp->path)))
		return 0;
	if (reachable_path(pid, mp, path, sizeof(path)))
		return 0;
	return lw_pyinterp__examine(d->py, path, mp->path, mp->dev, mp->ino) > 0;
}

/*
 * The probes an executable mapping gets (see lw_allocfns__plan): the entry points of the
 * allocator it is, if it is one (libc, jemalloc, tcmalloc, mimalloc, a static binary's own),
 * and the wrappers it defines. Each object is opened once; one that defines nothing of interest
 * is only marked.
 */
static int examine_object(struct lw_discover *d, pid_t pid, const struct lw_mapping *mp)
{
	const struct lw_attached_obj *objs;
	char path[4096 + 64];
	size_t n;
	int err;

	if (reachable_path(pid, mp, path, sizeof(path)))
		return 0;	/* not marked: another process may reach it */
	obj_mark(d, mp->dev, mp->ino);
	err = lw_tracer__attach_object(d->tracer, path, mp->dev, mp->ino, d->fns);
	if (err > 0) {
		objs = lw_tracer__objects(d->tracer, &n);
		d->nlibc += n && objs[n - 1].allocator;
		lw_info("tracing %s (dev %lu:%lu ino %lu, seen in pid %d): %d probes, %s", path,
			(unsigned long)major(mp->dev), (unsigned long)minor(mp->dev),
			(unsigned long)mp->ino, pid, err,
			n && objs[n - 1].allocator ? objs[n - 1].allocator : "allocation wrappers");
		return 1;
	}
	/* an object that is no ELF file, or defines none of the functions, is no news */
	if (err < 0 && err != -ENOENT && err != -EINVAL)
		lw_warn("failed to attach to %s: %s", path, strerror(-err));
	return 0;
}

static int examine(struct lw_discover *d, pid_t pid, uint64_t exe_dev, uint64_t exe_ino)
{
	struct lw_maps maps = { 0 };
	int err, attached = 0;

	err = lw_maps__read(pid, &maps);
	if (err)
		return err;	/* gone meanwhile: nothing to do */
	for (size_t i = 0; i < maps.n; i++) {
		const struct lw_mapping *mp = &maps.v[i];

		if (!mp->exec || !mp->path || mp->path[0] != '/' || obj_seen(d, mp->dev, mp->ino))
			continue;
		attached += examine_python(d, pid, mp, mp->dev == exe_dev && mp->ino == exe_ino);
		attached += examine_object(d, pid, mp);
	}
	lw_maps__free(&maps);
	return attached;
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = ((const struct seen_proc *)a)->pid, y = ((const struct seen_proc *)b)->pid;

	return x < y ? -1 : x > y;
}

/* procs[0, nsorted) is sorted by pid (from the previous scan); newcomers are appended. */
static struct seen_proc *proc_slot(struct lw_discover *d, pid_t pid, size_t nsorted)
{
	struct seen_proc key = { .pid = pid }, *sp;

	sp = bsearch(&key, d->procs, nsorted, sizeof(*sp), pid_cmp);
	if (sp)
		return sp;
	for (size_t i = nsorted; i < d->nprocs; i++)
		if (d->procs[i].pid == pid)
			return &d->procs[i];
	if (d->nprocs == d->procs_cap) {
		size_t cap = d->procs_cap ? d->procs_cap * 2 : 256;
		struct seen_proc *v = realloc(d->procs, cap * sizeof(*v));

		if (!v)
			return NULL;
		d->procs = v;
		d->procs_cap = cap;
	}
	d->procs[d->nprocs] = (struct seen_proc){ .pid = pid };
	return &d->procs[d->nprocs++];
}

int lw_discover__scan(struct lw_discover *d)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	size_t keep = 0, nsorted = d->nprocs;
	int attached = 0;

	if (!dir)
		return -errno;
	d->gen++;
	while ((de = readdir(dir))) {
		char exe[64], *end;
		struct seen_proc *sp;
		struct stat st;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		snprintf(exe, sizeof(exe), "/proc/%ld/exe", pid);
		if (stat(exe, &st))
			continue;	/* kernel thread, or gone */
		sp = proc_slot(d, pid, nsorted);
		if (!sp)
			break;
		sp->gen = d->gen;
		if (sp->exe_dev != st.st_dev || sp->exe_ino != st.st_ino) {
			sp->exe_dev = st.st_dev;
			sp->exe_ino = st.st_ino;
			sp->looks = 0;
		}
		if (sp->looks >= 2)
			continue;
		sp->looks++;
		if (examine(d, pid, st.st_dev, st.st_ino) > 0)
			attached++;
	}
	closedir(dir);
	/* drop processes that are gone; keep the array sorted for the next lookups */
	for (size_t i = 0; i < d->nprocs; i++)
		if (d->procs[i].gen == d->gen)
			d->procs[keep++] = d->procs[i];
	d->nprocs = keep;
	qsort(d->procs, d->nprocs, sizeof(*d->procs), pid_cmp);
	return attached;
}

void lw_discover__forget(struct lw_discover *d, pid_t pid)
{
	for (size_t i = 0; i < d->nprocs; i++)
		if (d->procs[i].pid == pid)
			d->procs[i].looks = 0;
}

int lw_discover__exec(struct lw_discover *d, pid_t pid)
{
	char exe[64];
	struct stat st;

	lw_discover__forget(d, pid);
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	if (stat(exe, &st))
		return 0;	/* gone already */
	return examine(d, pid, st.st_dev, st.st_ino);
}
