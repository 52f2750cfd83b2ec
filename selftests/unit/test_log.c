// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the logger (agent/lib/log.c): long messages whole, verifier logs to a file. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "log.h"

/* The message libbpf 1.x prints for a program the kernel refused. */
#define LIBBPF_LOAD_LOG "libbpf: prog '%s': -- BEGIN PROG LOAD LOG --\n%s-- END PROG LOAD LOG --\n"
/* Where the kernel says what is wrong: the last lines of its log. */
#define VERIFIER_ERROR "invalid access to memory, mem_size=288 off=32 size=0"

static char dir[64];
static int saved_stderr = -1;
static FILE *capture;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_log.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	svc_log_init("test_log", SVC_LOG_WARN);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* stderr into a temporary file until capture_end(), which returns what was written. */
static void capture_begin(void)
{
	fflush(stderr);
	capture = tmpfile();
	ck_assert_ptr_nonnull(capture);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_ge(dup2(fileno(capture), STDERR_FILENO), 0);
}

static char *capture_end(void)
{
	char *buf;
	long n;

	fflush(stderr);
	ck_assert_int_ge(dup2(saved_stderr, STDERR_FILENO), 0);
	close(saved_stderr);
	n = ftell(capture);
	ck_assert_int_ge(n, 0);
	buf = calloc(1, n + 1);
	ck_assert_ptr_nonnull(buf);
	rewind(capture);
	ck_assert_int_eq(fread(buf, 1, n, capture), (size_t)n);
	fclose(capture);
	return buf;
}

static char *read_file(const char *path)
{
	struct stat st;
	char *buf;
	FILE *f;

	f = fopen(path, "r");
	ck_assert_msg(f, "%s not written", path);
	ck_assert_int_eq(fstat(fileno(f), &st), 0);
	buf = calloc(1, st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, st.st_size, f), (size_t)st.st_size);
	fclose(f);
	return buf;
}

/* Calls the print callback svc_log_init() gave libbpf, as libbpf does. */
static void libbpf_says(enum libbpf_print_level level, const char *fmt, ...)
{
	libbpf_print_fn_t fn = libbpf_set_print(NULL);
	va_list ap;

	libbpf_set_print(fn);
	ck_assert_ptr_nonnull(fn);
	va_start(ap, fmt);
	fn(level, fmt, ap);
	va_end(ap);
}

/*
 * One event, one line: a newline (or any control character, or a byte that
 * is not UTF-8) inside a message, e.g. a client's rejected argument, cannot
 * start a line that reads like the agent's own.
 */
START_TEST(test_control_chars_escaped)
{
	char *out;

	capture_begin();
	svc_log(SVC_LOG_WARN, "api: rejected '%s'",
		"x\nsvcplaned: ready\r\t\x1b[2J\\ \xc3\xa9\xff");
	out = capture_end();
	ck_assert_str_eq(out, "test_log: warning: api: rejected 'x\\nsvcplaned: ready\\r\\t"
			      "\\x1b[2J\\\\ \xc3\xa9\\xff'\n");
	free(out);
}
END_TEST

/* A verifier log of @lines lines that ends with the error and the statistics. */
static char *verifier_log(int lines)
{
	char *log = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&log, &len);
	int i;

	ck_assert_ptr_nonnull(f);
	for (i = 0; i < lines - 3; i++)
		fprintf(f,
			"%d: (b7) r1 = 0                        ; R1_w=0 R10=fp0 fp-%d=mmmmmmmm\n",
			i, 8 * (i % 64));
	fprintf(f, "%s\n", VERIFIER_ERROR);
	fprintf(f, "R3 min value is outside of the allowed memory range\n");
	fprintf(f, "processed %d insns (limit 1000000) max_states_per_insn 4\n", lines);
	fclose(f);
	return log;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

START_TEST(test_long_message_whole)
{
	char msg[6000], *out;

	memset(msg, 'x', sizeof(msg));
	strcpy(msg + sizeof(msg) - 9, "END-MARK");
	capture_begin();
	svc_log(SVC_LOG_ERROR, "%s", msg);
	out = capture_end();
	ck_assert_msg(strstr(out, "END-MARK\n"), "message cut short: %zu bytes printed",
		      strlen(out));
	ck_assert_int_eq(count_lines(out), 1);
	free(out);
}
END_TEST

START_TEST(test_verifier_log_tail_and_file)
{
	char path[128], *log = verifier_log(2000), *out, *file;

	svc_log_set_verifier_dir(dir);
	capture_begin();
	libbpf_says(LIBBPF_WARN, LIBBPF_LOAD_LOG, "svc_router_xdp", log);
	out = capture_end();
	snprintf(path, sizeof(path), "%s/verifier-svc_router_xdp.log", dir);
	/* stderr: the error, where the whole log is, and not the whole log. */
	ck_assert_msg(strstr(out, VERIFIER_ERROR), "the error is not printed:\n%s", out);
	ck_assert_msg(strstr(out, path), "the log file %s is not named:\n%s", path, out);
	ck_assert_msg(strstr(out, "2000 lines"), "the log's length is not given:\n%s", out);
	ck_assert_msg(!strstr(out, "test_log: warning:   0: (b7)"), "the whole log was printed");
	ck_assert_int_le(count_lines(out), SVC_LOG_VERIFIER_TAIL + 1);
	/* The file: the log, byte for byte. */
	file = read_file(path);
	ck_assert_str_eq(file, log);
	free(file);
	free(out);
	free(log);
}
END_TEST

START_TEST(test_verifier_log_default_dir)
{
	char path[192], *log = verifier_log(100), *out, *file;

	ck_assert_int_eq(setenv("TMPDIR", dir, 1), 0);
	svc_log_set_verifier_dir(NULL);
	capture_begin();
	libbpf_says(LIBBPF_WARN, LIBBPF_LOAD_LOG, "optedit_xdp", log);
	out = capture_end();
	snprintf(path, sizeof(path), "%s/test_log-%d-verifier-optedit_xdp.log", dir, (int)getpid());
	ck_assert_msg(strstr(out, path), "the log file %s is not named:\n%s", path, out);
	ck_assert_msg(strstr(out, VERIFIER_ERROR), "the error is not printed:\n%s", out);
	file = read_file(path);
	ck_assert_str_eq(file, log);
	free(file);
	free(out);
	free(log);
}
END_TEST

START_TEST(test_verifier_log_unwritable)
{
	char bad[128], *log = verifier_log(200), *out;

	snprintf(bad, sizeof(bad), "%s/missing", dir);
	svc_log_set_verifier_dir(bad);
	capture_begin();
	libbpf_says(LIBBPF_WARN, LIBBPF_LOAD_LOG, "svc_endpoint_xdp", log);
	out = capture_end();
	/* No file: then the whole log on stderr rather than losing it. */
	ck_assert_msg(strstr(out, "could not write"), "the failure is not said:\n%s", out);
	ck_assert_msg(strstr(out, "test_log: warning:   0: (b7)"), "the log's start is missing");
	ck_assert_msg(strstr(out, VERIFIER_ERROR), "the error is not printed");
	ck_assert_int_eq(count_lines(out), 201);
	free(out);
	free(log);
}
END_TEST

START_TEST(test_libbpf_other_messages)
{
	char *out;

	capture_begin();
	libbpf_says(LIBBPF_WARN, "libbpf: prog '%s': BPF program load failed: %s\n", "x",
		    "Permission denied");
	libbpf_says(LIBBPF_DEBUG, "libbpf: not shown at level WARN\n");
	out = capture_end();
	ck_assert_str_eq(out, "test_log: warning: libbpf: prog 'x': BPF program load failed: "
			      "Permission denied\n");
	free(out);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_long_message_whole);
	tcase_add_test(tc, test_control_chars_escaped);
	tcase_add_test(tc, test_verifier_log_tail_and_file);
	tcase_add_test(tc, test_verifier_log_default_dir);
	tcase_add_test(tc, test_verifier_log_unwritable);
	tcase_add_test(tc, test_libbpf_other_messages);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
