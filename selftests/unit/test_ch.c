// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the consistent-hash table builder (agent/lib/ch.c): weights, disruption, order. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ch.h"
#include "svc_abi.h"

#define MAX_MEMBERS 64

/* xorshift64*: a small deterministic PRNG so a failing case can be replayed from its seed. */
static __u64 rng_state;

static __u32 rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (__u32)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static void rng_seed(__u64 seed)
{
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
}

static int is_prime(__u32 n)
{
	__u32 d;

	if (n < 2)
		return 0;
	for (d = 2; (__u64)d * d <= n; d++)
		if (n % d == 0)
			return 0;
	return 1;
}

static __u32 prime_at_least(__u32 n)
{
	while (!is_prime(n))
		n++;
	return n;
}

static __u32 *table_new(__u32 size)
{
	__u32 *t = calloc(size, sizeof(*t));

	ck_assert_ptr_nonnull(t);
	return t;
}

/* Slots of @t holding @id. */
static __u32 count_id(const __u32 *t, __u32 size, __u32 id)
{
	__u32 s, c = 0;

	for (s = 0; s < size; s++)
		c += t[s] == id;
	return c;
}

/*
 * Every slot belongs to a member, and each member holds floor or ceil of
 * size * w / W slots (|count * W - size * w| < W), widened by @slack slots.
 */
static void assert_shares(const struct svc_ch_member *m, size_t n, const __u32 *t, __u32 size,
			  __u32 slack)
{
	__u64 total = 0, sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		total += m[i].weight;
	for (i = 0; i < n; i++) {
		__u64 c = count_id(t, size, m[i].nh_id);
		__u64 exact = (__u64)size * m[i].weight; /* ideal count, times total */
		__u64 have = c * total;
		__u64 diff = have > exact ? have - exact : exact - have;

		ck_assert_msg(diff < (1 + slack) * total,
			      "member %u (weight %u of %llu): %llu slots of %u, ideal %.2f",
			      m[i].nh_id, m[i].weight, (unsigned long long)total,
			      (unsigned long long)c, size, (double)exact / (double)total);
		sum += c;
	}
	ck_assert_msg(sum == size, "%llu of %u slots belong to members", (unsigned long long)sum,
		      size);
}

static void build_ok(const struct svc_ch_member *m, size_t n, const __u32 *prev, __u32 size,
		     __u32 *out)
{
	int err = svc_ch_build(m, n, prev, size, out);

	ck_assert_msg(err == 0, "svc_ch_build(n=%zu, size=%u): %d", n, size, err);
}

/* A random set of @n members, distinct random ids, weights 1..@wmax. */
static void random_set(struct svc_ch_member *m, size_t n, __u32 wmax)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		do {
			m[i].nh_id = rng() % 60000 + 1;
			for (j = 0; j < i && m[j].nh_id != m[i].nh_id; j++)
				;
		} while (j < i);
		m[i].weight = rng() % wmax + 1;
	}
}

START_TEST(test_weights_1_1_2)
{
	static const __u32 sizes[] = { 307, 65537 };
	const struct svc_ch_member m[] = { { 10, 1 }, { 20, 1 }, { 30, 2 } };
	size_t k;

	for (k = 0; k < 2; k++) {
		__u32 size = sizes[k], *t = table_new(size);
		__u32 c10, c20, c30;

		build_ok(m, 3, NULL, size, t);
		assert_shares(m, 3, t, size, 0);
		/* Spelled out: 307 / 4 = 76.75 and 65537 / 4 = 16384.25 per unit of weight. */
		c10 = count_id(t, size, 10);
		c20 = count_id(t, size, 20);
		c30 = count_id(t, size, 30);
		ck_assert_uint_ge(c10, size / 4);
		ck_assert_uint_le(c10, size / 4 + 1);
		ck_assert_uint_ge(c20, size / 4);
		ck_assert_uint_le(c20, size / 4 + 1);
		ck_assert_uint_ge(c30, size / 2 - 1);
		ck_assert_uint_le(c30, size / 2 + 1);
		ck_assert_uint_eq(c10 + c20 + c30, size);
		free(t);
	}
}
END_TEST

/* Random sets of 2..50 members, weights 1..10, prime sizes >= 100 * n. */
START_TEST(test_weights_random)
{
	struct svc_ch_member m[MAX_MEMBERS];
	size_t n;
	__u32 size, *t;

	rng_seed(1000 + _i);
	n = 2 + rng() % 49;
	random_set(m, n, 10);
	size = prime_at_least((__u32)(100 * n + rng() % 1000));
	t = table_new(size);
	build_ok(m, n, NULL, size, t);
	assert_shares(m, n, t, size, 0);
	/* The production size as well. */
	free(t);
	t = table_new(SVC_CH_SIZE);
	build_ok(m, n, NULL, SVC_CH_SIZE, t);
	assert_shares(m, n, t, SVC_CH_SIZE, 0);
	free(t);
}
END_TEST

/* The table of a set is spread over the slots (Maglev), not laid out in blocks. */
START_TEST(test_spread)
{
	const struct svc_ch_member m[] = { { 1, 1 }, { 2, 1 } };
	__u32 size = 65537, *t = table_new(size), s, runs = 1;

	build_ok(m, 2, NULL, size, t);
	for (s = 1; s < size; s++)
		runs += t[s] != t[s - 1];
	/* Independent coin flips give about size / 2 runs; blocks would give a handful. */
	ck_assert_uint_gt(runs, size / 4);
	free(t);
}
END_TEST

/* Removing one of N members moves exactly the slots that pointed at it. */
START_TEST(test_remove_one)
{
	struct svc_ch_member m[MAX_MEMBERS], gone;
	__u32 size, *t0, *t1, s, moved = 0;
	size_t n, victim;

	rng_seed(2000 + _i);
	n = 2 + rng() % 49;
	random_set(m, n, _i % 2 ? 10 : 1);
	size = _i % 3 ? prime_at_least((__u32)(100 * n)) : SVC_CH_SIZE;
	t0 = table_new(size);
	t1 = table_new(size);
	build_ok(m, n, NULL, size, t0);
	victim = rng() % n;
	gone = m[victim];
	m[victim] = m[n - 1];
	build_ok(m, n - 1, t0, size, t1);
	for (s = 0; s < size; s++) {
		if (t0[s] == gone.nh_id) {
			ck_assert_uint_ne(t1[s], gone.nh_id);
			moved++;
		} else {
			ck_assert_msg(t1[s] == t0[s], "slot %u moved from survivor %u to %u", s,
				      t0[s], t1[s]);
		}
	}
	ck_assert_uint_eq(moved, count_id(t0, size, gone.nh_id));
	assert_shares(m, n - 1, t1, size, 0);
	free(t0);
	free(t1);
}
END_TEST

/*
 * Small tables make rounding matter most: a survivor that held the ceiling of
 * its old share must keep it even where its new share has a smaller remainder
 * than others'. Many random small cases, each: no survivor's slot moves.
 */
START_TEST(test_remove_small_tables)
{
	static const __u32 primes[] = { 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 53, 101, 211 };
	struct svc_ch_member m[8], gone;
	__u32 t0[211], t1[211], size, s;
	size_t n, v;
	int iter;

	rng_seed(6000);
	for (iter = 0; iter < 20000; iter++) {
		n = 2 + rng() % 6;
		size = primes[rng() % 13];
		if (size < n)
			continue;
		random_set(m, n, 10);
		build_ok(m, n, NULL, size, t0);
		v = rng() % n;
		gone = m[v];
		m[v] = m[n - 1];
		build_ok(m, n - 1, t0, size, t1);
		for (s = 0; s < size; s++)
			ck_assert_msg(t0[s] == gone.nh_id || t1[s] == t0[s],
				      "case %d (n %zu, size %u): survivor slot %u moved", iter, n,
				      size, s);
		assert_shares(m, n - 1, t1, size, 0);
	}
}
END_TEST

/* Removing members one by one down to one: never a survivor's slot moves. */
START_TEST(test_remove_all)
{
	struct svc_ch_member m[8] = { { 1, 3 }, { 2, 1 }, { 3, 2 }, { 4, 1 },
				      { 5, 5 }, { 6, 1 }, { 7, 2 }, { 8, 1 } };
	__u32 size = 1009, *prev = table_new(size), *next = table_new(size), s;
	size_t n;

	build_ok(m, 8, NULL, size, prev);
	for (n = 8; n > 1; n--) {
		__u32 gone = m[0].nh_id;

		memmove(m, m + 1, (n - 1) * sizeof(*m));
		build_ok(m, n - 1, prev, size, next);
		for (s = 0; s < size; s++)
			if (prev[s] != gone)
				ck_assert_uint_eq(next[s], prev[s]);
		assert_shares(m, n - 1, next, size, 0);
		memcpy(prev, next, size * sizeof(*prev));
	}
	ck_assert_uint_eq(count_id(prev, size, 8), size);
	free(prev);
	free(next);
}
END_TEST

/* Adding a member moves only the slots it gains. */
START_TEST(test_add_one)
{
	struct svc_ch_member m[MAX_MEMBERS];
	__u32 size, *t0, *t1, s, moved = 0, to_new = 0, gained;
	size_t n;

	rng_seed(3000 + _i);
	n = 1 + rng() % 49;
	random_set(m, n + 1, 10);
	size = _i % 3 ? prime_at_least((__u32)(100 * (n + 1))) : SVC_CH_SIZE;
	t0 = table_new(size);
	t1 = table_new(size);
	build_ok(m, n, NULL, size, t0);
	build_ok(m, n + 1, t0, size, t1);
	for (s = 0; s < size; s++) {
		if (t1[s] != t0[s]) {
			moved++;
			to_new += t1[s] == m[n].nh_id;
		}
	}
	gained = count_id(t1, size, m[n].nh_id);
	ck_assert_uint_eq(to_new, gained);
	/* Rounding may shuffle a slot between two old members; never more than a few. */
	ck_assert_msg(moved <= gained + 3, "moved %u slots for a newcomer that gained %u", moved,
		      gained);
	assert_shares(m, n + 1, t1, size, 0);
	free(t0);
	free(t1);
}
END_TEST

/* Changing one weight moves about as many slots as that member's share changes. */
START_TEST(test_weight_change)
{
	struct svc_ch_member m[MAX_MEMBERS];
	__u32 size, *t0, *t1, s, moved = 0, before, after, delta;
	size_t n, k;

	rng_seed(4000 + _i);
	n = 2 + rng() % 30;
	random_set(m, n, 10);
	size = _i % 2 ? prime_at_least((__u32)(100 * n)) : SVC_CH_SIZE;
	t0 = table_new(size);
	t1 = table_new(size);
	build_ok(m, n, NULL, size, t0);
	k = rng() % n;
	before = count_id(t0, size, m[k].nh_id);
	m[k].weight = m[k].weight == 10 ? 1 : m[k].weight + 1 + rng() % (10 - m[k].weight);
	build_ok(m, n, t0, size, t1);
	after = count_id(t1, size, m[k].nh_id);
	for (s = 0; s < size; s++)
		moved += t1[s] != t0[s];
	delta = after > before ? after - before : before - after;
	ck_assert_uint_ge(moved, delta);
	ck_assert_msg(moved <= delta + 3, "moved %u slots for a share change of %u", moved, delta);
	/* The member whose weight changed keeps its old slots when it grows. */
	if (after > before)
		for (s = 0; s < size; s++)
			if (t0[s] == m[k].nh_id)
				ck_assert_uint_eq(t1[s], m[k].nh_id);
	assert_shares(m, n, t1, size, 0);
	free(t0);
	free(t1);
}
END_TEST

/* From scratch the table depends only on the set, not on the order given. */
START_TEST(test_order_independent)
{
	struct svc_ch_member m[MAX_MEMBERS], tmp;
	__u32 size = 5003, *t0 = table_new(size), *t1 = table_new(size);
	size_t n = 40, i, j;

	rng_seed(5000);
	random_set(m, n, 10);
	build_ok(m, n, NULL, size, t0);
	for (i = n - 1; i > 0; i--) {
		j = rng() % (i + 1);
		tmp = m[i];
		m[i] = m[j];
		m[j] = tmp;
	}
	build_ok(m, n, NULL, size, t1);
	ck_assert_mem_eq(t0, t1, size * sizeof(*t0));
	/* Rebuilding with the table itself as prev changes nothing. */
	build_ok(m, n, t0, size, t1);
	ck_assert_mem_eq(t0, t1, size * sizeof(*t0));
	free(t0);
	free(t1);
}
END_TEST

static __u64 fnv1a(const __u32 *t, __u32 n)
{
	__u64 h = 0xcbf29ce484222325ULL;
	__u32 i;

	for (i = 0; i < n; i++) {
		h ^= t[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * Routers configured alike must agree, also across svcplane versions: the
 * from-scratch table of a fixed set is pinned here. If this fails, the
 * permutation or quota rules changed and mixed-version routers would disagree.
 */
START_TEST(test_golden_tables)
{
	const struct svc_ch_member a[] = { { 7, 1 }, { 3, 2 }, { 11, 1 } };
	const struct svc_ch_member b[] = { { 1, 1 }, { 2, 1 }, { 3, 1 }, { 4, 1 }, { 5, 3 } };
	__u32 *t = table_new(SVC_CH_SIZE);

	build_ok(a, 3, NULL, 307, t);
	ck_assert_uint_eq(t[0], 3);
	ck_assert_uint_eq(t[1], 11);
	ck_assert_uint_eq(fnv1a(t, 307), 0x4c2214b4b034fba4ULL);
	build_ok(b, 5, NULL, SVC_CH_SIZE, t);
	ck_assert_uint_eq(fnv1a(t, SVC_CH_SIZE), 0x38fbaffef046385dULL);
	free(t);
}
END_TEST

START_TEST(test_empty_set)
{
	const struct svc_ch_member m[] = { { 1, 1 } };
	__u32 size = 307, *prev = table_new(size), *t = table_new(size), s;

	build_ok(m, 1, NULL, size, prev);
	ck_assert_uint_eq(count_id(prev, size, 1), size);
	memset(t, 0xff, size * sizeof(*t));
	build_ok(NULL, 0, prev, size, t);
	for (s = 0; s < size; s++)
		ck_assert_uint_eq(t[s], 0);
	free(prev);
	free(t);
}
END_TEST

/* A prev table with stale ids and zeros: only those slots are refilled. */
START_TEST(test_prev_with_holes)
{
	const struct svc_ch_member m[] = { { 1, 1 }, { 2, 1 }, { 3, 1 } };
	__u32 size = 311, *prev = table_new(size), *t = table_new(size), s;

	build_ok(m, 3, NULL, size, prev);
	for (s = 0; s < size; s += 7)
		prev[s] = s % 2 ? 0 : 999; /* holes and an id outside the set */
	build_ok(m, 3, prev, size, t);
	assert_shares(m, 3, t, size, 0);
	for (s = 0; s < size; s++)
		if (prev[s] && prev[s] != 999)
			ck_assert_uint_eq(t[s], prev[s]);
	free(prev);
	free(t);
}
END_TEST

START_TEST(test_invalid)
{
	const struct svc_ch_member dup[] = { { 5, 1 }, { 6, 1 }, { 5, 2 } };
	const struct svc_ch_member zero_id[] = { { 0, 1 } };
	const struct svc_ch_member zero_w[] = { { 1, 0 } };
	const struct svc_ch_member three[] = { { 1, 1 }, { 2, 1 }, { 3, 1 } };
	const struct svc_ch_member huge[] = { { 1, UINT32_MAX }, { 2, 2 } };
	__u32 t[307];

	ck_assert_int_eq(svc_ch_build(dup, 3, NULL, 307, t), -EINVAL);
	ck_assert_int_eq(svc_ch_build(zero_id, 1, NULL, 307, t), -EINVAL);
	ck_assert_int_eq(svc_ch_build(zero_w, 1, NULL, 307, t), -EINVAL);
	ck_assert_int_eq(svc_ch_build(three, 3, NULL, 2, t), -EINVAL);	 /* size < n */
	ck_assert_int_eq(svc_ch_build(three, 3, NULL, 300, t), -EINVAL); /* not prime */
	ck_assert_int_eq(svc_ch_build(three, 3, NULL, 0, t), -EINVAL);
	ck_assert_int_eq(svc_ch_build(three, 3, NULL, 307, NULL), -EINVAL);
	ck_assert_int_eq(svc_ch_build(NULL, 3, NULL, 307, t), -EINVAL);
	ck_assert_int_eq(svc_ch_build(huge, 2, NULL, 307, t), -EINVAL); /* weights overflow */
	/* Smallest valid case. */
	ck_assert_int_eq(svc_ch_build(three, 3, NULL, 3, t), 0);
	ck_assert_uint_eq(t[0] + t[1] + t[2], 6);
}
END_TEST

static Suite *ch_suite(void)
{
	Suite *s = suite_create("ch");
	TCase *tc = tcase_create("build");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_weights_1_1_2);
	tcase_add_loop_test(tc, test_weights_random, 0, 20);
	tcase_add_test(tc, test_spread);
	tcase_add_loop_test(tc, test_remove_one, 0, 20);
	tcase_add_test(tc, test_remove_small_tables);
	tcase_add_test(tc, test_remove_all);
	tcase_add_loop_test(tc, test_add_one, 0, 20);
	tcase_add_loop_test(tc, test_weight_change, 0, 20);
	tcase_add_test(tc, test_order_independent);
	tcase_add_test(tc, test_golden_tables);
	tcase_add_test(tc, test_empty_set);
	tcase_add_test(tc, test_prev_with_holes);
	tcase_add_test(tc, test_invalid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ch_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
