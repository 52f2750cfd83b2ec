// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the state file (agent/lib/journal.c): round trip, torn and corrupt files. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "journal.h"

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/svc-journal-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
}

static void teardown(void)
{
	char tmp[160];

	unlink(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	rmdir(dir);
}

/* Reads @p whole (test helper, bounded to 1 MiB). */
static size_t file_read(const char *p, char *buf, size_t cap)
{
	FILE *f = fopen(p, "rb");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void file_write(const char *p, const char *buf, size_t len)
{
	FILE *f = fopen(p, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static const char content[] = "{\"format\":1,\"services\":[{\"sid\":\"2001:db8::1\"}]}\n"
			      "second line \xc3\xa9 and a NUL-free tail";

START_TEST(test_round_trip)
{
	char why[256], *data = NULL, tmp[160];
	size_t len = 0;

	ck_assert_int_eq(svc_journal_write(path, content, strlen(content), why, sizeof(why)), 0);
	ck_assert_int_eq(svc_journal_read(path, &data, &len, why, sizeof(why)), 0);
	ck_assert_uint_eq(len, strlen(content));
	ck_assert_mem_eq(data, content, len);
	ck_assert_int_eq(data[len], '\0');
	free(data);
	/* No temp file is left behind, and the file is private. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	{
		struct stat st;

		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_mode & 0777, 0600);
	}
	/* Overwrite: the new content replaces the old one entirely. */
	ck_assert_int_eq(svc_journal_write(path, "x", 1, why, sizeof(why)), 0);
	ck_assert_int_eq(svc_journal_read(path, &data, &len, why, sizeof(why)), 0);
	ck_assert_uint_eq(len, 1);
	ck_assert_int_eq(data[0], 'x');
	free(data);
	/* Empty content is valid content (distinct from an empty file). */
	ck_assert_int_eq(svc_journal_write(path, "", 0, why, sizeof(why)), 0);
	ck_assert_int_eq(svc_journal_read(path, &data, &len, why, sizeof(why)), 0);
	ck_assert_uint_eq(len, 0);
	free(data);
}
END_TEST

START_TEST(test_missing)
{
	char why[256], *data = NULL;
	size_t len;

	ck_assert_int_eq(svc_journal_read(path, &data, &len, why, sizeof(why)), -ENOENT);
	ck_assert_ptr_null(data);
	ck_assert_ptr_nonnull(strstr(why, path));
}
END_TEST

START_TEST(test_empty_file)
{
	char why[256], *data = NULL;
	size_t len;

	file_write(path, "", 0);
	ck_assert_int_eq(svc_journal_read(path, &data, &len, why, sizeof(why)), -EBADMSG);
	ck_assert_ptr_null(data);
	ck_assert_ptr_nonnull(strstr(why, path));
	ck_assert_ptr_nonnull(strstr(why, "empty"));
}
END_TEST

/* Every truncation of a valid file (a torn write) is detected. */
START_TEST(test_truncated)
{
	char why[256], full[4096], *data;
	size_t n, len;

	ck_assert_int_eq(svc_journal_write(path, content, strlen(content), why, sizeof(why)), 0);
	n = file_read(path, full, sizeof(full));
	ck_assert_uint_gt(n, strlen(content));
	for (size_t cut = 0; cut < n; cut++) {
		file_write(path, full, cut);
		data = NULL;
		ck_assert_msg(svc_journal_read(path, &data, &len, why, sizeof(why)) == -EBADMSG,
			      "truncation to %zu bytes not detected", cut);
		ck_assert_ptr_null(data);
	}
	/* The message says what is wrong. */
	file_write(path, full, n - 3);
	svc_journal_read(path, &data, &len, why, sizeof(why));
	ck_assert_ptr_nonnull(strstr(why, "truncated"));
}
END_TEST

/* Every single-bit flip anywhere in the file is detected. */
START_TEST(test_bit_flips)
{
	char why[256], full[4096], *data;
	size_t n, len;

	ck_assert_int_eq(svc_journal_write(path, content, strlen(content), why, sizeof(why)), 0);
	n = file_read(path, full, sizeof(full));
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			full[i] ^= (char)(1 << bit);
			file_write(path, full, n);
			data = NULL;
			ck_assert_msg(svc_journal_read(path, &data, &len, why, sizeof(why)) ==
					      -EBADMSG,
				      "flip of bit %d of byte %zu not detected", bit, i);
			ck_assert_ptr_null(data);
			full[i] ^= (char)(1 << bit);
		}
	}
	/* Restored bytes read fine again (the loop really restored them). */
	file_write(path, full, n);
	ck_assert_int_eq(svc_journal_read(path, &data, &len, why, sizeof(why)), 0);
	free(data);
}
END_TEST

START_TEST(test_appended_and_garbage)
{
	char why[256], full[4096], *data = NULL;
	size_t n, len;

	ck_assert_int_eq(svc_journal_write(path, content, strlen(content), why, sizeof(why)), 0);
	n = file_read(path, full, sizeof(full));
	full[n] = '\n';
	file_write(path, full, n + 1);
	ck_assert_int_eq(svc_journal_read(path, &data, &len, why, sizeof(why)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "header announces"));

	file_write(path, content, strlen(content)); /* plain JSON without the header */
	ck_assert_int_eq(svc_journal_read(path, &data, &len, why, sizeof(why)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "header"));

	file_write(path, "svcplane-state 2 1 00\nx", 23);
	ck_assert_int_eq(svc_journal_read(path, &data, &len, why, sizeof(why)), -EBADMSG);
	ck_assert_ptr_null(data);
}
END_TEST

START_TEST(test_write_errors)
{
	char why[256], bad[160];

	snprintf(bad, sizeof(bad), "%s/no/such/dir/state.json", dir);
	ck_assert_int_eq(svc_journal_write(bad, "x", 1, why, sizeof(why)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, bad));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("state file");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_bit_flips);
	tcase_add_test(tc, test_appended_and_garbage);
	tcase_add_test(tc, test_write_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
