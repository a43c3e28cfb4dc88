/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A minimal unit-test harness: each test is a function returning bool; CHECK() logs the failing
 * expression and returns false so checks compose with early exits. Each test binary prints one
 * "ok NAME" / "not ok NAME" line per test (TAP-like), which the pytest tier collects.
 */
#ifndef LW_UNIT_H
#define LW_UNIT_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			return false;                                                     \
		}                                                                         \
	} while (0)

#define CHECK_STR(a, b)                                                                   \
	do {                                                                              \
		const char *_a = (a), *_b = (b);                                          \
		if (!_a || !_b || strcmp(_a, _b)) {                                       \
			fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,   \
				_a ? _a : "(null)", _b ? _b : "(null)");                  \
			return false;                                                     \
		}                                                                         \
	} while (0)

struct unit_test {
	const char *name;
	bool (*fn)(void);
};

#define UNIT_TEST(fn) { #fn, fn }

/* Runs every test (or only the one named in argv[1]); exit status 1 if any failed. */
static inline int unit_main(int argc, char **argv, const struct unit_test *tests, size_t n)
{
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && strcmp(argv[1], tests[i].name))
			continue;
		bool ok = tests[i].fn();

		printf("%s %s\n", ok ? "ok" : "not ok", tests[i].name);
		fflush(stdout);
		failed += !ok;
	}
	return failed ? 1 : 0;
}

#define UNIT_MAIN(...)                                                                    \
	int main(int argc, char **argv)                                                   \
	{                                                                                 \
		static const struct unit_test tests[] = { __VA_ARGS__ };                  \
		return unit_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));    \
	}

#endif /* LW_UNIT_H */
