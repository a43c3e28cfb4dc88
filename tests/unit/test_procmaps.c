// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "procmaps.h"
#include "unit.h"

/* Real lines, padded as the kernel pads them, plus the awkward cases. */
static const char sample[] =
	"55d0c0de0000-55d0c0de2000 r--p 00000000 fe:00 247134                     /usr/bin/cat\n"
	"55d0c0de2000-55d0c0de7000 r-xp 00002000 fe:00 247134                     /usr/bin/cat\n"
	"55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0                          [heap]\n"
	"7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
	"7f0000001000-7f0000002000 ---p 00000000 00:00 0\n"
	"7f0000010000-7f0000020000 r-xp 00001000 103:02 42                  /opt/my app/lib x.so\n"
	"7f0000020000-7f0000030000 r-xs 00000000 08:01 77                  /tmp/gone.so (deleted)\n"
	"7f0000030000-7f0000031000 r-xp 00000000 00:00 0 \n"
	"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
	"7ffd00100000-7ffd00102000 r-xp 00000000 00:00 0                          [vdso]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

static bool parse_sample(struct lw_maps *m)
{
	CHECK(lw_maps__parse(sample, strlen(sample), m) == 0);
	CHECK(m->n == 11);
	return true;
}

static bool test_parse_fields(void)
{
	struct lw_maps m = { 0 };
	const struct lw_mapping *mp;
	bool ok = false;

	if (!parse_sample(&m))
		goto out;
	mp = &m.v[1];
	if (mp->start != 0x55d0c0de2000 || mp->end != 0x55d0c0de7000 || mp->pgoff != 0x2000 ||
	    mp->dev != makedev(0xfe, 0) || mp->ino != 247134 || !mp->exec || mp->deleted ||
	    !mp->path || strcmp(mp->path, "/usr/bin/cat"))
		goto out;
	if (m.v[0].exec || strcmp(m.v[2].path, "[heap]") || m.v[2].ino != 0)
		goto out;
	/* Anonymous mappings, with and without the trailing space. */
	if (m.v[3].path || m.v[4].path || m.v[4].exec)
		goto out;
	/* Spaces inside a path survive; a major number above 255. */
	mp = &m.v[5];
	if (strcmp(mp->path, "/opt/my app/lib x.so") || mp->dev != makedev(0x103, 2) ||
	    mp->pgoff != 0x1000 || mp->ino != 42)
		goto out;
	mp = &m.v[6];
	if (!mp->deleted || strcmp(mp->path, "/tmp/gone.so") || !mp->exec)
		goto out;
	if (strcmp(m.v[8].path, "[stack]") || strcmp(m.v[9].path, "[vdso]"))
		goto out;
	if (m.v[10].start != 0xffffffffff600000ULL || strcmp(m.v[10].path, "[vsyscall]"))
		goto out;
	ok = true;
out:
	lw_maps__free(&m);
	CHECK(ok);
	CHECK(m.n == 0 && m.v == NULL);
	return true;
}

static bool test_parse_malformed(void)
{
	static const char *const bad[] = {
		"55d0c0de0000 r--p 00000000 fe:00 1 /x\n",		/* no end */
		"2000-1000 r--p 00000000 fe:00 1 /x\n",			/* end < start */
		"1000-1000 r--p 00000000 fe:00 1 /x\n",			/* empty */
		"1000-2000 rq-p 00000000 fe:00 1 /x\n",			/* bad perms */
		"1000-2000 r--p 0000zz00 fe:00 1 /x\n",			/* bad offset */
		"1000-2000 r--p 00000000 fe00 1 /x\n",			/* bad device */
		"1000-2000 r--p 00000000 fe:00 1a /x\n",		/* bad inode */
		"1000-2000 r--p 00000000 fe:00\n",			/* truncated */
		"1000-2000 r--p\n",
		"1000-2000 r--p 00000000 fe:00 1 /x\n\n2000-3000 r--p 0 0:0 0\n", /* blank line */
		"1000-3000 r--p 00000000 fe:00 1 /x\n2000-4000 r--p 0 0:0 0\n",	/* overlap */
		"11111111111111111111-2 r--p 0 0:0 0\n",		/* overflow */
		"garbage\n",
	};
	struct lw_maps m = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = lw_maps__parse(bad[i], strlen(bad[i]), &m);

		if (err != -EINVAL)
			fprintf(stderr, "case %zu: %d\n", i, err);
		CHECK(err == -EINVAL);
		CHECK(m.n == 0 && m.v == NULL);
	}
	/* One good line, then a bad one: the good one must not leak (checked under valgrind). */
	const char *mixed = "1000-2000 r--p 00000000 fe:00 1 /x\nbad line\n";

	CHECK(lw_maps__parse(mixed, strlen(mixed), &m) == -EINVAL);
	return true;
}

static bool test_parse_edges(void)
{
	struct lw_maps m = { 0 };
	/* Not NUL-terminated: the length must bound the parse (the tail is not a mapping). */
	const char text[] = "1000-2000 r-xp 00000000 fe:00 1 /a\n"
			    "3000-4000 r-xp 00000000 fe:00 2 /bXX";

	CHECK(lw_maps__parse("", 0, &m) == 0 && m.n == 0);
	CHECK(lw_maps__parse(text, sizeof(text) - 3, &m) == 0);
	CHECK(m.n == 2);
	CHECK_STR(m.v[1].path, "/b");
	lw_maps__free(&m);

	/* Out-of-order input is sorted. */
	const char *unsorted = "3000-4000 r-xp 0 fe:00 2 /b\n1000-2000 r-xp 0 fe:00 1 /a\n";

	CHECK(lw_maps__parse(unsorted, strlen(unsorted), &m) == 0);
	CHECK(m.n == 2 && m.v[0].start == 0x1000 && m.v[1].start == 0x3000);
	lw_maps__free(&m);

	/* A path that is only the suffix is a name, not a deletion of "". */
	const char *odd = "1000-2000 r-xp 0 fe:00 1  (deleted)\n";

	CHECK(lw_maps__parse(odd, strlen(odd), &m) == 0);
	CHECK(!m.v[0].deleted);
	CHECK_STR(m.v[0].path, "(deleted)");
	lw_maps__free(&m);
	lw_maps__free(&m);	/* idempotent */
	return true;
}

static bool test_find(void)
{
	struct lw_maps m = { 0 };
	const struct lw_mapping *mp;
	bool ok = false;

	if (!parse_sample(&m))
		goto out;
	if (lw_maps__find(&m, 0) || lw_maps__find(&m, 0x55d0c0ddffff))
		goto out;
	mp = lw_maps__find(&m, 0x55d0c0de0000);
	if (mp != &m.v[0])
		goto out;
	if (lw_maps__find(&m, 0x55d0c0de1fff) != &m.v[0] ||
	    lw_maps__find(&m, 0x55d0c0de2000) != &m.v[1] ||
	    lw_maps__find(&m, 0x55d0c0de6fff) != &m.v[1])
		goto out;
	/* Gap between the binary and the heap, past the end, the last mapping. */
	if (lw_maps__find(&m, 0x55d0c0de7000) || lw_maps__find(&m, 0x7f0000002000) ||
	    lw_maps__find(&m, UINT64_MAX) || lw_maps__find(&m, 0xffffffffff600fffULL) != &m.v[10])
		goto out;
	for (size_t i = 0; i < m.n; i++)
		if (lw_maps__find(&m, m.v[i].start) != &m.v[i] ||
		    lw_maps__find(&m, m.v[i].end - 1) != &m.v[i])
			goto out;
	ok = true;
out:
	lw_maps__free(&m);
	CHECK(ok);
	struct lw_maps empty = { 0 };

	CHECK(!lw_maps__find(&empty, 0x1000));
	CHECK(!lw_maps__is_code(&empty, 0x1000));
	return true;
}

static bool test_is_code(void)
{
	struct lw_maps m = { 0 };
	bool ok = false;

	if (!parse_sample(&m))
		goto out;
	ok = lw_maps__is_code(&m, 0x55d0c0de3000) &&	/* r-x of /usr/bin/cat */
	     !lw_maps__is_code(&m, 0x55d0c0de0100) &&	/* r-- of /usr/bin/cat */
	     !lw_maps__is_code(&m, 0x55d0c1000100) &&	/* [heap] */
	     lw_maps__is_code(&m, 0x7f0000010000) &&	/* path with spaces */
	     lw_maps__is_code(&m, 0x7f0000020000) &&	/* deleted file */
	     !lw_maps__is_code(&m, 0x7f0000030000) &&	/* anonymous r-x (JIT) */
	     !lw_maps__is_code(&m, 0x7ffd00000100) &&	/* [stack] */
	     lw_maps__is_code(&m, 0x7ffd00101000) &&	/* [vdso] */
	     !lw_maps__is_code(&m, 0x7ffd00102000) &&	/* just past [vdso] */
	     !lw_maps__is_code(&m, 0x10);
out:
	lw_maps__free(&m);
	CHECK(ok);
	return true;
}

static bool test_file_offset(void)
{
	struct lw_maps m = { 0 };
	bool ok = false;

	if (!parse_sample(&m))
		goto out;
	ok = lw_mapping__file_offset(&m.v[1], 0x55d0c0de2000) == 0x2000 &&
	     lw_mapping__file_offset(&m.v[1], 0x55d0c0de2345) == 0x2345 &&
	     lw_mapping__file_offset(&m.v[5], 0x7f0000010010) == 0x1010 &&
	     lw_mapping__file_offset(&m.v[0], 0x55d0c0de0fff) == 0xfff;
out:
	lw_maps__free(&m);
	CHECK(ok);
	return true;
}

/* Our own maps: the function we are running in is code, in this very executable. */
static bool test_read_self(void)
{
	struct lw_maps m = { 0 };
	const struct lw_mapping *mp;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	bool ok;

	CHECK(n > 0);
	exe[n] = '\0';
	CHECK(lw_maps__read(getpid(), &m) == 0);
	mp = lw_maps__find(&m, (uint64_t)(uintptr_t)&test_read_self);
	ok = mp && mp->exec && mp->path && !strcmp(mp->path, exe) &&
	     lw_maps__is_code(&m, (uint64_t)(uintptr_t)&test_read_self);
	for (size_t i = 1; i < m.n; i++)
		ok = ok && m.v[i - 1].end <= m.v[i].start;
	lw_maps__free(&m);
	CHECK(ok);
	return true;
}

static bool test_read_gone(void)
{
	struct lw_maps m = { 0 };
	int err = lw_maps__read(-2, &m);

	CHECK(err == -ENOENT || err == -ESRCH);
	CHECK(m.n == 0 && m.v == NULL);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_parse_fields), UNIT_TEST(test_parse_malformed),
	  UNIT_TEST(test_parse_edges), UNIT_TEST(test_find), UNIT_TEST(test_is_code),
	  UNIT_TEST(test_file_offset), UNIT_TEST(test_read_self), UNIT_TEST(test_read_gone))
