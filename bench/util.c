// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svc-bench helpers: clock, median, map memory from fdinfo, JSON output. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of @n values (sorts @v in place). */
double bench_median(double *v, int n)
{
	if (n <= 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The kernel's memory accounting of a BPF map: the "memlock:" line of its fdinfo, or -errno. */
long bench_fdinfo_memlock(int fd)
{
	char path[64], line[256];
	long val = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "memlock: %ld", &val) == 1)
			break;
	}
	fclose(f);
	return val;
}

/* A JSON number rounded to @decimals places (null for NaN). */
json_object *bench_json_double(double v, int decimals)
{
	char s[64];

	if (isnan(v) || isinf(v))
		return NULL;
	snprintf(s, sizeof(s), "%.*f", decimals, v);
	return json_object_new_double_s(v, s);
}

json_object *bench_n_a(const char *reason)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string("n/a"));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	return o;
}

/* Writes @obj to @path atomically (temp file + rename). */
int bench_write_json(const char *path, json_object *obj)
{
	char tmp[4096];
	const char *s;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "svc-bench: write %s: %s\n", tmp, strerror(errno));
		return -errno;
	}
	s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
							JSON_C_TO_STRING_NOSLASHESCAPE);
	if (fputs(s, f) < 0 || fputc('\n', f) < 0 || fclose(f)) {
		fprintf(stderr, "svc-bench: write %s: %s\n", tmp, strerror(errno));
		unlink(tmp);
		return -EIO;
	}
	if (rename(tmp, path)) {
		fprintf(stderr, "svc-bench: rename %s to %s: %s\n", tmp, path, strerror(errno));
		unlink(tmp);
		return -errno;
	}
	return 0;
}
