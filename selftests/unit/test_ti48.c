// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the 48-bit TI-flow sequence arithmetic (headers/svc_tiflow.h). */
/*
 * The expected values are computed here with unbounded (128-bit) integers and
 * reduced modulo 2^48 by the test itself, so the code under test is checked
 * against arithmetic it does not share.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include "../../headers/svc_tiflow.h"

#define M48 ((unsigned __int128)1 << 48)
#define GIB (1ULL << 30)

/* ref_mod48 - @v modulo 2^48, from unbounded arithmetic. */
static uint64_t ref_mod48(unsigned __int128 v)
{
	return (uint64_t)(v % M48);
}

/* A byte count past 4 GiB gives the TISeq the plain sum modulo 2^48 gives. */
START_TEST(test_bytes_past_4gib)
{
	static const uint64_t counts[] = { 0, 1, 4 * GIB - 1, 4 * GIB, 4 * GIB + 1, 9 * GIB + 12345,
					   (1ULL << 47), (1ULL << 48) - 1, (1ULL << 48), (1ULL << 50) + 7 };
	static const uint64_t inits[] = { 1, 0x123456789abcULL, 0xfffffffffff0ULL };
	unsigned int i, j;

	for (i = 0; i < sizeof(inits) / sizeof(inits[0]); i++)
		for (j = 0; j < sizeof(counts) / sizeof(counts[0]); j++)
			ck_assert_uint_eq(svc_tiflow_bytes_to_ti(inits[i], counts[j]),
					  ref_mod48((unsigned __int128)inits[i] + counts[j]));
	/* The wrap itself: the byte after 0xffffffffffff is 0. */
	ck_assert_uint_eq(svc_ti48_add(0xffffffffffffULL, 1), 0);
	ck_assert_uint_eq(svc_ti48_add(0xfffffffffffeULL, 5), 3);
}
END_TEST

/* Signed distance and order across the 2^48 wrap, up to the 2^47 limit. */
START_TEST(test_diff_and_order)
{
	ck_assert_int_eq(svc_ti48_diff(3, 0xfffffffffffeULL), 5);
	ck_assert_int_eq(svc_ti48_diff(0xfffffffffffeULL, 3), -5);
	ck_assert_int_eq(svc_ti48_diff(7, 7), 0);
	ck_assert_int_eq(svc_ti48_diff((1ULL << 47) - 1, 0), (int64_t)((1ULL << 47) - 1));
	ck_assert_int_eq(svc_ti48_diff(1ULL << 47, 0), -(int64_t)(1ULL << 47));
	ck_assert_int_eq(svc_ti48_before(0xfffffffffff0ULL, 0x10), 1);
	ck_assert_int_eq(svc_ti48_before(0x10, 0xfffffffffff0ULL), 0);
	ck_assert_int_eq(svc_ti48_before(5, 5), 0);
	/* Bits above 48 are ignored: the wire carries 48. */
	ck_assert_int_eq(svc_ti48_diff(0x1000000000005ULL, 2), 3);
}
END_TEST

/*
 * A 48-bit TIAck maps back to the 64-bit count nearest a reference, also
 * when the stream has wrapped 2^48 several times and the values straddle a wrap.
 */
START_TEST(test_ti_to_bytes_round_trip)
{
	static const uint64_t refs[] = { 0, 100, 4 * GIB + 3, (1ULL << 48) - 10, (1ULL << 48) + 10,
					 3 * (1ULL << 48) + 77 };
	static const int64_t deltas[] = { 0, -1, 1, -100, 100, -(int64_t)(4 * GIB), 5 * GIB,
					  (int64_t)(1ULL << 47) - 1, -((int64_t)(1ULL << 47) - 1) };
	const uint64_t init = 0xfffffff00000ULL;
	unsigned int i, j;
	__u64 got;

	for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		for (j = 0; j < sizeof(deltas) / sizeof(deltas[0]); j++) {
			int64_t want = (int64_t)refs[i] + deltas[j];
			uint64_t ti;

			if (want < 0)
				continue; /* below the start of the stream: see test_ti_to_bytes_refused */
			ti = ref_mod48((unsigned __int128)init + (uint64_t)want);
			got = 0;
			ck_assert_msg(svc_tiflow_ti_to_bytes(init, ti, refs[i], &got) == 0,
				      "ref %llu delta %lld refused", (unsigned long long)refs[i],
				      (long long)deltas[j]);
			ck_assert_uint_eq(got, (uint64_t)want);
		}
	}
}
END_TEST

/* Stale or forged: 2^47 away (ambiguous), or naming a byte before the stream's first. */
START_TEST(test_ti_to_bytes_refused)
{
	const uint64_t init = 0x10;
	__u64 got = 12345;

	ck_assert_int_eq(svc_tiflow_ti_to_bytes(init, ref_mod48(init + (1ULL << 47)), 0, &got), -1);
	ck_assert_int_eq(svc_tiflow_ti_to_bytes(init, 0x0f, 0, &got), -1); /* count -1 */
	ck_assert_int_eq(svc_tiflow_ti_to_bytes(init, 0x10 + 50, 40, &got), 0);
	ck_assert_uint_eq(got, 50);
	ck_assert_int_eq(svc_tiflow_ti_to_bytes(init, 0x10 + 5, 40, &got), 0);
	ck_assert_uint_eq(got, 5);
	got = 777;
	ck_assert_int_eq(svc_tiflow_ti_to_bytes(init, ref_mod48((unsigned __int128)init - 1), 40, &got),
			 -1);
	ck_assert_uint_eq(got, 777); /* untouched when refused */
}
END_TEST

static Suite *ti48_suite(void)
{
	Suite *s = suite_create("ti48");
	TCase *tc = tcase_create("arith");

	tcase_add_test(tc, test_bytes_past_4gib);
	tcase_add_test(tc, test_diff_and_order);
	tcase_add_test(tc, test_ti_to_bytes_round_trip);
	tcase_add_test(tc, test_ti_to_bytes_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ti48_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
