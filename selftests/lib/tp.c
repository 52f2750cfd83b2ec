// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_progs framework: registry, subtests, TAP output, -t filter, assertion reporting. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "tp.h"
#include "pktdump.h"

bool tp_verbose;
const char *tp_pcap_dir;

#define TP_MAX_FILTERS 32

static struct tp_test *tests_head, **tests_tail = &tests_head;
static const char *filters[TP_MAX_FILTERS];
static int nfilters;

/* State of the test and subtest being run. */
static struct {
	const struct tp_test *test;
	char sub[128];	/* current subtest name, "" outside subtests */
	char full[320]; /* "test" or "test/sub" */
	bool failed;	/* current unit (subtest, or test body outside subtests) failed */
	bool skipped;
	char first_fail[640];
	char skip_reason[128];
	bool outside_failed; /* a failure outside any subtest (setup/teardown) */
	char outside_first[640];
	int nsubtests;
} cur;

static int n_pass, n_fail, n_skip;

void tp_register(struct tp_test *t)
{
	/* Constructors run in link order: keep it, so output order is stable. */
	t->next = NULL;
	*tests_tail = t;
	tests_tail = &t->next;
}

const char *tp_cur_name(void)
{
	return cur.full;
}

void tp_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

void tp_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	const char *base = strrchr(file, '/');
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	base = base ? base + 1 : file;
	printf("#   %s: %s:%d: %s\n", cur.full, base, line, msg);
	if (cur.sub[0]) {
		if (!cur.failed)
			snprintf(cur.first_fail, sizeof(cur.first_fail), "%s:%d: %s", base, line,
				 msg);
		cur.failed = true;
	} else {
		if (!cur.outside_failed)
			snprintf(cur.outside_first, sizeof(cur.outside_first), "%s:%d: %s", base,
				 line, msg);
		cur.outside_failed = true;
	}
}

bool tp_failed(void)
{
	return cur.sub[0] ? cur.failed : cur.outside_failed;
}

void tp_skip(const char *reason)
{
	cur.skipped = true;
	snprintf(cur.skip_reason, sizeof(cur.skip_reason), "%s", reason);
}

/* Prints the TAP line of the open subtest, if any, and closes it. */
static void end_subtest(void)
{
	if (!cur.sub[0])
		return;
	if (cur.failed) {
		printf("not ok - %s # %s\n", cur.full, cur.first_fail);
		n_fail++;
	} else if (cur.skipped) {
		printf("ok - %s # SKIP %s\n", cur.full, cur.skip_reason);
		n_skip++;
	} else {
		printf("ok - %s\n", cur.full);
		n_pass++;
	}
	fflush(stdout);
	cur.sub[0] = 0;
	cur.failed = cur.skipped = false;
	snprintf(cur.full, sizeof(cur.full), "%s", cur.test->name);
}

/* A filter is "TEST" or "TEST/SUB"; each part matches as a substring. */
static bool filter_match(const char *test, const char *sub)
{
	char tpart[128];
	const char *slash;
	int i;

	if (!nfilters)
		return true;
	for (i = 0; i < nfilters; i++) {
		slash = strchr(filters[i], '/');
		if (!slash) {
			if (strstr(test, filters[i]))
				return true;
			continue;
		}
		snprintf(tpart, sizeof(tpart), "%.*s", (int)(slash - filters[i]), filters[i]);
		if (!strstr(test, tpart))
			continue;
		if (!sub || strstr(sub, slash + 1))
			return true;
	}
	return false;
}

bool tp_subtest(const char *name)
{
	end_subtest();
	if (!filter_match(cur.test->name, name))
		return false;
	cur.nsubtests++;
	snprintf(cur.sub, sizeof(cur.sub), "%s", name);
	snprintf(cur.full, sizeof(cur.full), "%s/%s", cur.test->name, name);
	cur.failed = cur.skipped = false;
	if (tp_verbose)
		tp_diag("---- %s", cur.full);
	return true;
}

static void run_test(const struct tp_test *t)
{
	memset(&cur, 0, sizeof(cur));
	cur.test = t;
	snprintf(cur.full, sizeof(cur.full), "%s", t->name);
	t->fn();
	end_subtest();
	if (cur.outside_failed) {
		printf("not ok - %s # %s\n", t->name, cur.outside_first);
		n_fail++;
	} else if (cur.nsubtests == 0) {
		if (cur.skipped) {
			printf("ok - %s # SKIP %s\n", t->name, cur.skip_reason);
			n_skip++;
		} else {
			printf("ok - %s\n", t->name);
			n_pass++;
		}
	}
	fflush(stdout);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-v] [-l] [-t TEST[/SUBTEST]]... [--pcap DIR]\n"
		"  -t PAT      run only tests whose name contains PAT (TEST/SUB: also filter\n"
		"              subtests); repeatable, or comma-separated\n"
		"  -l          list the registered tests\n"
		"  -v          print every fixture's packets, decoded\n"
		"  --pcap DIR  write each fixture's input, expected and actual output as pcap\n",
		prog);
}

static int add_filters(char *arg)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (nfilters == TP_MAX_FILTERS) {
			fprintf(stderr, "test_progs: too many -t filters (max %d)\n",
				TP_MAX_FILTERS);
			return -E2BIG;
		}
		filters[nfilters++] = tok;
	}
	return 0;
}

int tp_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pcap", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct tp_test *t;
	bool list = false;
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "t:vlh", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (add_filters(optarg))
				return 2;
			break;
		case 'v':
			tp_verbose = true;
			break;
		case 'l':
			list = true;
			break;
		case 'p':
			tp_pcap_dir = optarg;
			break;
		case 'h':
			usage(argv[0]);
			return 0;
		default:
			usage(argv[0]);
			return 2;
		}
	}
	if (optind != argc) {
		usage(argv[0]);
		return 2;
	}
	if (tp_pcap_dir && pcap_dir_prepare(tp_pcap_dir))
		return 1;
	for (t = tests_head; t; t = t->next) {
		if (!filter_match(t->name, NULL))
			continue;
		if (list) {
			printf("%s\n", t->name);
			continue;
		}
		run_test(t);
	}
	if (!list)
		printf("# test_progs: %d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
	return n_fail ? 1 : 0;
}

bool tp_memeq_report(const char *file, int line, const void *actual, size_t alen,
		     const void *expected, size_t elen, const char *name)
{
	const unsigned char *a = actual, *e = expected;
	size_t i, n = alen < elen ? alen : elen;

	for (i = 0; i < n && a[i] == e[i]; i++)
		;
	if (i == n && alen == elen)
		return true;
	tp_fail(file, line, "%s: %zu bytes expected, %zu got; first difference at offset %zu", name,
		elen, alen, i);
	hexdump_diff(stdout, "#     ", actual, alen, expected, elen);
	return false;
}
