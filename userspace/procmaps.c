// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "procmaps.h"

#define DELETED_SUFFIX " (deleted)"
/* Large reads: the kernel walks the VMA tree once per read(), so fewer calls are cheaper. */
#define READ_CHUNK (64 * 1024)

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse an unsigned number at *p (< end); advances *p. False on no digits or overflow. */
static bool parse_num(const char **p, const char *end, unsigned int base, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int d;

	while (s < end && (d = hexval(*s)) >= 0 && (unsigned int)d < base) {
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
		s++;
	}
	if (s == *p)
		return false;
	*p = s;
	*out = v;
	return true;
}

static bool expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

/*
 * One line, without its newline:
 *   start-end perms offset major:minor inode [padding path]
 * The path is everything after the padding, so it may contain spaces; the kernel escapes
 * newlines in it, so a line never splits.
 */
static int parse_line(const char *p, const char *end, struct lw_mapping *mp)
{
	uint64_t major, minor;
	const char *perms;

	memset(mp, 0, sizeof(*mp));
	if (!parse_num(&p, end, 16, &mp->start) || !expect(&p, end, '-') ||
	    !parse_num(&p, end, 16, &mp->end) || !expect(&p, end, ' '))
		return -EINVAL;
	if (mp->start >= mp->end || end - p < 5)
		return -EINVAL;
	perms = p;
	if ((perms[0] != 'r' && perms[0] != '-') || (perms[1] != 'w' && perms[1] != '-') ||
	    (perms[2] != 'x' && perms[2] != '-') || (perms[3] != 'p' && perms[3] != 's'))
		return -EINVAL;
	mp->exec = perms[2] == 'x';
	p += 4;
	if (!expect(&p, end, ' ') || !parse_num(&p, end, 16, &mp->pgoff) ||
	    !expect(&p, end, ' ') || !parse_num(&p, end, 16, &major) || !expect(&p, end, ':') ||
	    !parse_num(&p, end, 16, &minor) || !expect(&p, end, ' ') ||
	    !parse_num(&p, end, 10, &mp->ino))
		return -EINVAL;
	if (major > UINT32_MAX || minor > UINT32_MAX)
		return -EINVAL;
	mp->dev = makedev(major, minor);
	if (p == end)
		return 0;
	if (*p != ' ')
		return -EINVAL;
	while (p < end && *p == ' ')
		p++;
	if (p == end)
		return 0;

	size_t n = end - p, sl = strlen(DELETED_SUFFIX);

	if (n > sl && !memcmp(end - sl, DELETED_SUFFIX, sl)) {
		mp->deleted = true;
		n -= sl;
	}
	mp->path = malloc(n + 1);
	if (!mp->path)
		return -ENOMEM;
	memcpy(mp->path, p, n);
	mp->path[n] = '\0';
	return 0;
}

static int mapping_cmp(const void *a, const void *b)
{
	const struct lw_mapping *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

void lw_maps__free(struct lw_maps *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

int lw_maps__parse(const char *text, size_t len, struct lw_maps *out)
{
	const char *p = text, *end = text + len;
	struct lw_maps m = { 0 };
	size_t cap = 0;
	bool sorted = true;
	int err;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *eol = nl ? nl : end;

		if (m.n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct lw_mapping *nv = realloc(m.v, ncap * sizeof(*nv));

			if (!nv) {
				err = -ENOMEM;
				goto err_out;
			}
			m.v = nv;
			cap = ncap;
		}
		err = parse_line(p, eol, &m.v[m.n]);
		if (err)
			goto err_out;
		if (m.n && m.v[m.n].start < m.v[m.n - 1].start)
			sorted = false;
		m.n++;
		p = nl ? nl + 1 : end;
	}
	/* The kernel lists VMAs in address order; sort only for hand-made input. */
	if (!sorted)
		qsort(m.v, m.n, sizeof(*m.v), mapping_cmp);
	for (size_t i = 1; i < m.n; i++) {
		if (m.v[i].start < m.v[i - 1].end) {
			err = -EINVAL;
			goto err_out;
		}
	}
	*out = m;
	return 0;

err_out:
	lw_maps__free(&m);
	return err;
}

int lw_maps__read(pid_t pid, struct lw_maps *out)
{
	size_t len = 0, cap = READ_CHUNK;
	char path[64], *buf;
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (cap - len < READ_CHUNK) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += r;
	}
	err = lw_maps__parse(buf, len, out);
out:
	free(buf);
	close(fd);
	return err;
}

const struct lw_mapping *lw_maps__find(const struct lw_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	/* Find the last mapping with start <= addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr >= m->v[lo - 1].end)
		return NULL;
	return &m->v[lo - 1];
}

bool lw_maps__is_code(const struct lw_maps *m, uint64_t addr)
{
	const struct lw_mapping *mp = lw_maps__find(m, addr);

	if (!mp || !mp->exec || !mp->path)
		return false;
	return mp->path[0] == '/' || !strcmp(mp->path, "[vdso]");
}

uint64_t lw_mapping__file_offset(const struct lw_mapping *mp, uint64_t addr)
{
	return addr - mp->start + mp->pgoff;
}
