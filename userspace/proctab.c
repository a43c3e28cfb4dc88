// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "proctab.h"

#define NBUCKETS 4096

struct lw_proctab {
	struct lw_proc *buckets[NBUCKETS];
	uint64_t nalive;
};

static unsigned int bucket(pid_t pid, uint64_t ident)
{
	uint64_t h = (uint64_t)pid * 0x9e3779b97f4a7c15ULL ^ ident;

	h ^= h >> 31;
	return (h * 0xbf58476d1ce4e5b9ULL) >> 52 & (NBUCKETS - 1);
}

struct lw_proctab *lw_proctab__new(void)
{
	return calloc(1, sizeof(struct lw_proctab));
}

static void proc_free(struct lw_proc *p)
{
	lw_procmem__free(p->mem);
	lw_procinfo__put(p->info);
	lw_maps__free(&p->maps);
	free(p);
}

void lw_proctab__free(struct lw_proctab *pt)
{
	if (!pt)
		return;
	for (int i = 0; i < NBUCKETS; i++) {
		while (pt->buckets[i]) {
			struct lw_proc *p = pt->buckets[i];

			pt->buckets[i] = p->next;
			proc_free(p);
		}
	}
	free(pt);
}

static ssize_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

int lw_parse_stat_starttime(const char *stat, unsigned long long *ticks)
{
	/* comm (field 2) may hold spaces and parentheses: fields resume after the last ')' */
	const char *p = strrchr(stat, ')');
	char *end;

	if (!p)
		return -EINVAL;
	p++;
	/* field 3 is after the ')'; field 22 is 19 fields further */
	for (int field = 2; field < 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EINVAL;
		if (field == 21)
			break;
		while (*p && *p != ' ')
			p++;
	}
	errno = 0;
	*ticks = strtoull(p, &end, 10);
	if (errno || end == p)
		return -EINVAL;
	return 0;
}

/* Does /proc/PID describe the process that started at start_ns? */
static bool proc_matches(pid_t pid, uint64_t start_ns)
{
	char path[64], buf[1024];
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf)) <= 0 || lw_parse_stat_starttime(buf, &ticks))
		return false;
	if (!start_ns)
		return true;	/* unknown: trust the pid, the best there is */
	/* the kernel reports nsec_to_clock_t(start_boottime), a truncating division */
	return ticks == start_ns / (1000000000ULL / (hz > 0 ? hz : 100));
}

static struct lw_procinfo *read_info(pid_t pid, uint64_t ident, bool alive)
{
	struct lw_procinfo *pi = calloc(1, sizeof(*pi));
	char path[64], buf[4096], label[256], *s;
	ssize_t n;

	if (!pi)
		return NULL;
	pi->refcnt = 1;
	pi->pid = pid;
	pi->ident = ident;
	pi->uid = (uid_t)-1;
	snprintf(pi->comm, sizeof(pi->comm), "?");
	if (!alive)
		return pi;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_small(path, buf, sizeof(buf)) > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(pi->comm, sizeof(pi->comm), "%.15s", buf);
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		pi->exe = strdup(buf);
	}
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_small(path, buf, sizeof(buf)) > 0 && (s = strstr(buf, "\nUid:")))
		pi->uid = strtoul(s + 5, NULL, 10);
	/* read once, with the rest of what names the process: a move between cgroups is rare */
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (read_small(path, buf, sizeof(buf)) > 0 && !lw_cgroup_label(buf, label, sizeof(label)))
		pi->cgroup = strdup(label);
	return pi;
}

struct lw_proc *lw_proctab__find(struct lw_proctab *pt, pid_t pid, uint64_t ident)
{
	for (struct lw_proc *p = pt->buckets[bucket(pid, ident)]; p; p = p->next)
		if (p->pid == pid && p->ident == ident)
			return p;
	return NULL;
}

static struct lw_proc *proc_add(struct lw_proctab *pt, pid_t pid, uint64_t ident,
				uint64_t start_ns, bool alive, double now)
{
	struct lw_proc *p = calloc(1, sizeof(*p));
	unsigned int b;

	if (!p)
		return NULL;
	p->pid = pid;
	p->ident = ident;
	p->start_ns = start_ns;
	p->pss_bytes = -1;
	p->info = read_info(pid, ident, alive);
	if (!p->info) {
		free(p);
		return NULL;
	}
	if (alive)
		lw_proc__refresh_maps(p, now, 0);
	else {
		p->exited = true;
		p->exited_at = now;
	}
	b = bucket(pid, ident);
	p->next = pt->buckets[b];
	pt->buckets[b] = p;
	if (!p->exited)
		pt->nalive++;
	return p;
}

struct lw_proc *lw_proctab__get(struct lw_proctab *pt, pid_t pid, uint64_t ident,
				uint64_t start_ns, double now)
{
	struct lw_proc *p = lw_proctab__find(pt, pid, ident);

	return p ? p : proc_add(pt, pid, ident, start_ns, proc_matches(pid, start_ns), now);
}

struct lw_proc *lw_proctab__add_dead(struct lw_proctab *pt, pid_t pid, uint64_t ident,
				     double now)
{
	struct lw_proc *p = lw_proctab__find(pt, pid, ident);

	return p ? p : proc_add(pt, pid, ident, 0, false, now);
}

int lw_proc__refresh_maps(struct lw_proc *p, double now, double min_age)
{
	struct lw_maps m = { 0 };
	int err;

	if (p->exited || (p->maps_read_at && now - p->maps_read_at < min_age))
		return 0;
	err = lw_maps__read(p->pid, &m);
	p->maps_read_at = now;
	if (err)
		return err;
	lw_maps__free(&p->maps);
	p->maps = m;
	return 0;
}

void lw_proctab__mark_exited(struct lw_proctab *pt, pid_t pid, uint64_t ident, double now)
{
	struct lw_proc *p = lw_proctab__find(pt, pid, ident);

	if (!p || p->exited)
		return;
	p->exited = true;
	p->exited_at = now;
	pt->nalive--;
}

void lw_proctab__prune(struct lw_proctab *pt, double now, double retention)
{
	for (int i = 0; i < NBUCKETS; i++) {
		struct lw_proc **pp = &pt->buckets[i];

		while (*pp) {
			struct lw_proc *p = *pp;

			if (p->nsites || !p->exited || now - p->exited_at <= retention) {
				pp = &p->next;
				continue;
			}
			*pp = p->next;
			proc_free(p);
		}
	}
}

uint64_t lw_proctab__check_alive(struct lw_proctab *pt, double now)
{
	uint64_t gone = 0;

	for (int i = 0; i < NBUCKETS; i++) {
		for (struct lw_proc *p = pt->buckets[i]; p; p = p->next) {
			if (p->exited || proc_matches(p->pid, p->start_ns))
				continue;
			p->exited = true;
			p->exited_at = now;
			pt->nalive--;
			gone++;
		}
	}
	return gone;
}

uint64_t lw_proctab__nalive(const struct lw_proctab *pt)
{
	return pt->nalive;
}

int lw_parse_statm(const char *text, long page_size, int64_t *rss, int64_t *anon)
{
	unsigned long long size, resident, shared;

	/* size resident shared ...: shared is file-backed plus shmem, so the rest is anonymous */
	if (sscanf(text, "%llu %llu %llu", &size, &resident, &shared) != 3 || shared > resident)
		return -EINVAL;
	*rss = (int64_t)(resident * page_size);
	*anon = (int64_t)((resident - shared) * page_size);
	return 0;
}

int lw_parse_rollup_pss(const char *text, int64_t *pss)
{
	const char *line = strstr(text, "\nPss:");
	unsigned long long kb;

	if (!line || sscanf(line + 5, " %llu kB", &kb) != 1)
		return -EINVAL;
	*pss = (int64_t)(kb * 1024);
	return 0;
}

/* Read a small /proc file of p whole; the length or -errno. */
static ssize_t read_proc_file(const struct lw_proc *p, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n = 0, len = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)p->pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	if (n < 0)
		len = -errno;
	close(fd);
	if (len >= 0)
		buf[len] = 0;
	return len;
}

int lw_proc__read_mem(const struct lw_proc *p, int64_t *rss, int64_t *anon)
{
	char buf[256];
	ssize_t n = read_proc_file(p, "statm", buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	return lw_parse_statm(buf, sysconf(_SC_PAGESIZE), rss, anon);
}

int lw_proc__read_pss(const struct lw_proc *p, int64_t *pss)
{
	char buf[4096];
	ssize_t n = read_proc_file(p, "smaps_rollup", buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	return lw_parse_rollup_pss(buf, pss);
}
