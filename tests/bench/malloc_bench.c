// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The price a traced process pays: nanoseconds per malloc(SIZE) + free pair, the median of REPS
 * runs of ITERS pairs (defaults: 3 runs of 2M pairs of 64 bytes). Prints one JSON line:
 *   {"bench":"malloc_free","size":64,"iters":2000000,"reps":3,"runs":[...],"ns_per_pair":21.3}
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* noinline: one real call per pair, whatever the optimiser thinks of malloc/free pairs. */
__attribute__((noinline)) static double run(long iters, size_t size)
{
	double t0 = now_ns();

	for (long i = 0; i < iters; i++) {
		void *p = malloc(size);

		/* The pointer escapes: GCC may not delete the pair. */
		asm volatile("" : : "r"(p) : "memory");
		free(p);
	}
	return (now_ns() - t0) / iters;
}

int main(int argc, char **argv)
{
	long iters = 2000000, reps = 3;
	size_t size = 64;
	double *ns, median;
	int c;

	while ((c = getopt(argc, argv, "i:r:s:")) != -1) {
		switch (c) {
		case 'i':
			iters = atol(optarg);
			break;
		case 'r':
			reps = atol(optarg);
			break;
		case 's':
			size = (size_t)atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-i ITERS] [-r REPS] [-s SIZE]\n", argv[0]);
			return 2;
		}
	}
	if (iters < 1 || reps < 1 || reps > 1000 || size < 1) {
		fprintf(stderr, "%s: ITERS, REPS (<= 1000) and SIZE must be positive\n", argv[0]);
		return 2;
	}
	ns = calloc(reps, sizeof(*ns));
	if (!ns)
		return 1;
	run(iters / 10 + 1, size);	/* warm up: tcache, page faults, CPU frequency */
	for (long r = 0; r < reps; r++)
		ns[r] = run(iters, size);
	printf("{\"bench\":\"malloc_free\",\"size\":%zu,\"iters\":%ld,\"reps\":%ld,", size, iters,
	       reps);
	printf("\"runs\":[");
	for (long r = 0; r < reps; r++)
		printf("%s%.2f", r ? "," : "", ns[r]);
	qsort(ns, reps, sizeof(*ns), cmp_double);
	median = reps % 2 ? ns[reps / 2] : (ns[reps / 2 - 1] + ns[reps / 2]) / 2;
	printf("],\"ns_per_pair\":%.2f}\n", median);
	free(ns);
	return 0;
}
