// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the consistent-hash table builder (agent/lib/ch.c): purity, weights, disruption. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ch.h"
#include "svc_abi.h"

#define MAX_MEMBERS 64

/* Pinned tables of test_golden_tables (see there). */
#define GOLDEN_A0 3
#define GOLDEN_A1 7
#define GOLDEN_A 0xa0afe634a3dafcc4ULL
#define GOLDEN_B 0x2c0984172a2a5e49ULL
#define GOLDEN_B_SEEDED 0xf6467bbdb7b9c597ULL
#define GOLDEN_C 0x5b699330c0eb0c7bULL /* equal weights: the round-robin path */

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

static void build_ok(const struct svc_ch_member *m, size_t n, __u32 seed, __u32 size, __u32 *out)
{
	int err = svc_ch_build(m, n, seed, size, out);

	ck_assert_msg(err == 0, "svc_ch_build(n=%zu, size=%u): %d", n, size, err);
}

/* A random address: IPv4 (v4-mapped) or IPv6, half each. */
static struct svc_addr random_addr(void)
{
	struct svc_addr a;
	int i;

	memset(&a, 0, sizeof(a));
	if (rng() & 1) {
		a.b[10] = a.b[11] = 0xff;
		for (i = 12; i < 16; i++)
			a.b[i] = (__u8)rng();
	} else {
		a.b[0] = 0x20;
		a.b[1] = 0x01;
		for (i = 2; i < 16; i++)
			a.b[i] = (__u8)rng();
	}
	return a;
}

/* A random set of @n members: distinct random addresses and ids, weights 1..@wmax. */
static void random_set(struct svc_ch_member *m, size_t n, __u32 wmax)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		do {
			m[i].addr = random_addr();
			m[i].nh_id = rng() % 60000 + 1;
			for (j = 0; j < i && m[j].nh_id != m[i].nh_id &&
				    memcmp(&m[j].addr, &m[i].addr, sizeof(m[i].addr));
			     j++)
				;
		} while (j < i);
		m[i].weight = rng() % wmax + 1;
	}
}

/* A member with id @id at 198.18.0.@id, weight @w. */
static struct svc_ch_member member(__u32 id, __u32 w)
{
	struct svc_ch_member m = { .nh_id = id, .weight = w };

	m.addr.b[10] = m.addr.b[11] = 0xff;
	m.addr.b[12] = 198;
	m.addr.b[13] = 18;
	m.addr.b[15] = (__u8)id;
	return m;
}

static void shuffle(struct svc_ch_member *m, size_t n)
{
	struct svc_ch_member tmp;
	size_t i, j;

	for (i = n; i-- > 1;) {
		j = rng() % (i + 1);
		tmp = m[i];
		m[i] = m[j];
		m[j] = tmp;
	}
}

/* Slots that hold a different id in @a and @b, not counting those @a gave to @except. */
static __u32 moved_slots(const __u32 *a, const __u32 *b, __u32 size, __u32 except)
{
	__u32 s, moved = 0;

	for (s = 0; s < size; s++)
		moved += a[s] != except && a[s] != b[s];
	return moved;
}

START_TEST(test_weights_1_1_2)
{
	static const __u32 sizes[] = { 307, 65537 };
	const struct svc_ch_member m[] = { member(10, 1), member(20, 1), member(30, 2) };
	size_t k;

	for (k = 0; k < 2; k++) {
		__u32 size = sizes[k], *t = table_new(size);
		__u32 c10, c20, c30;

		build_ok(m, 3, 0, size, t);
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

/*
 * Random sets of 2..64 members, weights 1..100, prime sizes >= 100 * n: each
 * member holds the floor or ceiling of its share (so within 1 % of the slots
 * by far), also at the production size.
 */
START_TEST(test_weights_random)
{
	struct svc_ch_member m[MAX_MEMBERS];
	size_t n;
	__u32 size, *t;

	rng_seed(1000 + _i);
	n = 2 + rng() % (MAX_MEMBERS - 1);
	random_set(m, n, _i % 2 ? 100 : 10);
	size = prime_at_least((__u32)(100 * n + rng() % 1000));
	t = table_new(size);
	build_ok(m, n, (__u32)_i, size, t);
	assert_shares(m, n, t, size, 0);
	free(t);
	t = table_new(SVC_CH_SIZE);
	build_ok(m, n, (__u32)_i, SVC_CH_SIZE, t);
	assert_shares(m, n, t, SVC_CH_SIZE, 0);
	free(t);
}
END_TEST

/* The table of a set is spread over the slots (Maglev), not laid out in blocks. */
START_TEST(test_spread)
{
	const struct svc_ch_member m[] = { member(1, 1), member(2, 1) };
	__u32 size = 65537, *t = table_new(size), s, runs = 1;

	build_ok(m, 2, 0, size, t);
	for (s = 1; s < size; s++)
		runs += t[s] != t[s - 1];
	/* Independent coin flips give about size / 2 runs; blocks would give a handful. */
	ck_assert_uint_gt(runs, size / 4);
	free(t);
}
END_TEST

/*
 * The table is a pure function of the set and the seed: 1,000 random sets
 * (1..64 members, IPv4 and IPv6, weights 1..20), each built in three random
 * orders, give identical tables. Every tenth set uses the production size,
 * the others a prime >= 100 * n (to keep the run short; the function does not
 * care). Builds of other sets in between leave nothing behind.
 */
START_TEST(test_pure_function)
{
	struct svc_ch_member m[MAX_MEMBERS], other[MAX_MEMBERS];
	__u32 *t0 = table_new(SVC_CH_SIZE), *t1 = table_new(SVC_CH_SIZE);
	__u32 size, seed;
	int set, k;
	size_t n;

	for (set = 0; set < 1000; set++) {
		rng_seed(7000 + (__u64)set);
		n = 1 + rng() % MAX_MEMBERS;
		random_set(m, n, 20);
		seed = rng();
		size = set % 10 ? prime_at_least((__u32)(100 * n + rng() % 500)) : SVC_CH_SIZE;
		build_ok(m, n, seed, size, t0);
		for (k = 0; k < 3; k++) {
			shuffle(m, n);
			/* Something else built in between (another set on the same router). */
			random_set(other, 5, 3);
			build_ok(other, 5, seed, size, t1);
			build_ok(m, n, seed, size, t1);
			ck_assert_msg(!memcmp(t0, t1, size * sizeof(*t0)),
				      "set %d (n %zu, size %u): order %d gives another table", set,
				      n, size, k);
		}
	}
	free(t0);
	free(t1);
}
END_TEST

/*
 * Removing one of n members, at the production size (n <= 655, so size >=
 * 100 * n): its slots all move, and at most 2 % of the others do.
 */
START_TEST(test_remove_one)
{
	struct svc_ch_member *m = calloc(700, sizeof(*m));
	struct svc_ch_member gone;
	__u32 *t0 = table_new(SVC_CH_SIZE), *t1 = table_new(SVC_CH_SIZE), s, moved;
	size_t n, victim;

	ck_assert_ptr_nonnull(m);
	rng_seed(2000 + _i);
	/* Half the cases small sets, half up to 655 members. */
	n = _i % 2 ? 2 + rng() % 654 : 2 + rng() % 30;
	random_set(m, n, _i % 3 ? 10 : 1);
	build_ok(m, n, 0, SVC_CH_SIZE, t0);
	victim = rng() % n;
	gone = m[victim];
	m[victim] = m[n - 1];
	build_ok(m, n - 1, 0, SVC_CH_SIZE, t1);
	for (s = 0; s < SVC_CH_SIZE; s++)
		if (t0[s] == gone.nh_id)
			ck_assert_uint_ne(t1[s], gone.nh_id);
	moved = moved_slots(t0, t1, SVC_CH_SIZE, gone.nh_id);
	ck_assert_msg(moved * 50 <= SVC_CH_SIZE,
		      "n %zu: removing one member moved %u other slots (%.2f %%)", n, moved,
		      100.0 * moved / SVC_CH_SIZE);
	assert_shares(m, n - 1, t1, SVC_CH_SIZE, 0);
	free(t0);
	free(t1);
	free(m);
}
END_TEST

/* Adding a member: besides the slots it gains, at most 2 % of the table moves. */
START_TEST(test_add_one)
{
	struct svc_ch_member m[MAX_MEMBERS];
	__u32 *t0 = table_new(SVC_CH_SIZE), *t1 = table_new(SVC_CH_SIZE), s, moved = 0;
	size_t n;

	rng_seed(3000 + _i);
	n = 1 + rng() % (MAX_MEMBERS - 1);
	random_set(m, n + 1, 10);
	build_ok(m, n, 0, SVC_CH_SIZE, t0);
	build_ok(m, n + 1, 0, SVC_CH_SIZE, t1);
	for (s = 0; s < SVC_CH_SIZE; s++)
		moved += t1[s] != t0[s] && t1[s] != m[n].nh_id;
	ck_assert_msg(moved * 50 <= SVC_CH_SIZE, "n %zu: adding one member moved %u other slots", n,
		      moved);
	assert_shares(m, n + 1, t1, SVC_CH_SIZE, 0);
	free(t0);
	free(t1);
}
END_TEST

/* Changing one weight moves the member's share change plus at most 2 % of the table. */
START_TEST(test_weight_change)
{
	struct svc_ch_member m[MAX_MEMBERS];
	__u32 *t0 = table_new(SVC_CH_SIZE), *t1 = table_new(SVC_CH_SIZE);
	__u32 moved, before, after, delta;
	size_t n, k;

	rng_seed(4000 + _i);
	n = 2 + rng() % 30;
	random_set(m, n, 10);
	build_ok(m, n, 0, SVC_CH_SIZE, t0);
	k = rng() % n;
	before = count_id(t0, SVC_CH_SIZE, m[k].nh_id);
	m[k].weight = m[k].weight == 10 ? 1 : m[k].weight + 1 + rng() % (10 - m[k].weight);
	build_ok(m, n, 0, SVC_CH_SIZE, t1);
	after = count_id(t1, SVC_CH_SIZE, m[k].nh_id);
	moved = moved_slots(t0, t1, SVC_CH_SIZE, 0);
	delta = after > before ? after - before : before - after;
	ck_assert_uint_ge(moved, delta);
	ck_assert_msg((moved - delta) * 50 <= SVC_CH_SIZE,
		      "moved %u slots for a share change of %u", moved, delta);
	assert_shares(m, n, t1, SVC_CH_SIZE, 0);
	free(t0);
	free(t1);
}
END_TEST

/* The seed is part of the function: another seed, another table; the same seed, the same. */
START_TEST(test_seed)
{
	struct svc_ch_member m[8];
	__u32 *a = table_new(SVC_CH_SIZE), *b = table_new(SVC_CH_SIZE);
	__u32 moved;

	rng_seed(8000);
	random_set(m, 8, 1);
	build_ok(m, 8, 1, SVC_CH_SIZE, a);
	build_ok(m, 8, 2, SVC_CH_SIZE, b);
	moved = moved_slots(a, b, SVC_CH_SIZE, 0);
	/* Unrelated permutations: about 7/8 of the slots differ. */
	ck_assert_msg(moved > SVC_CH_SIZE / 2, "seeds 1 and 2: only %u slots differ", moved);
	build_ok(m, 8, 1, SVC_CH_SIZE, b);
	ck_assert_mem_eq(a, b, SVC_CH_SIZE * sizeof(*a));
	free(a);
	free(b);
}
END_TEST

/*
 * The permutation belongs to the member's address, not to its id: giving the
 * two addresses each other's ids swaps the ids in the table and nothing else.
 */
START_TEST(test_identity_is_address)
{
	struct svc_ch_member m[] = { member(1, 1), member(2, 1), member(3, 2) };
	__u32 size = 1009, *a = table_new(size), *b = table_new(size), s;

	build_ok(m, 3, 0, size, a);
	m[0].nh_id = 2;
	m[1].nh_id = 1;
	build_ok(m, 3, 0, size, b);
	for (s = 0; s < size; s++)
		ck_assert_uint_eq(b[s], a[s] == 1 ? 2 : a[s] == 2 ? 1 : a[s]);
	free(a);
	free(b);
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
 * tables of fixed sets are pinned here. If this fails, the hash, the
 * permutation, the quota or the turn rules changed, and routers running the
 * old and the new version would send flows to different instances.
 */
START_TEST(test_golden_tables)
{
	const struct svc_ch_member a[] = { member(7, 1), member(3, 2), member(11, 1) };
	const struct svc_ch_member b[] = { member(1, 1), member(2, 1), member(3, 1), member(4, 1),
					   member(5, 3) };
	const struct svc_ch_member c[] = { member(4, 1), member(8, 1), member(15, 1),
					   member(16, 1) };
	__u32 *t = table_new(SVC_CH_SIZE);

	build_ok(a, 3, 0, 307, t);
	ck_assert_uint_eq(t[0], GOLDEN_A0);
	ck_assert_uint_eq(t[1], GOLDEN_A1);
	ck_assert_uint_eq(fnv1a(t, 307), GOLDEN_A);
	build_ok(b, 5, 0, SVC_CH_SIZE, t);
	ck_assert_uint_eq(fnv1a(t, SVC_CH_SIZE), GOLDEN_B);
	build_ok(b, 5, 0x5eed, SVC_CH_SIZE, t);
	ck_assert_uint_eq(fnv1a(t, SVC_CH_SIZE), GOLDEN_B_SEEDED);
	/* Pinned from the general (heap) turn order, which equal weights skip. */
	build_ok(c, 4, 0, SVC_CH_SIZE, t);
	ck_assert_uint_eq(fnv1a(t, SVC_CH_SIZE), GOLDEN_C);
	free(t);
}
END_TEST

START_TEST(test_empty_set)
{
	__u32 size = 307, *t = table_new(size), s;

	memset(t, 0xff, size * sizeof(*t));
	build_ok(NULL, 0, 0, size, t);
	for (s = 0; s < size; s++)
		ck_assert_uint_eq(t[s], 0);
	free(t);
}
END_TEST

START_TEST(test_invalid)
{
	struct svc_ch_member dup_id[] = { member(5, 1), member(6, 1), member(5, 2) };
	struct svc_ch_member dup_addr[] = { member(5, 1), member(6, 1) };
	const struct svc_ch_member zero_id[] = { member(0, 1) };
	const struct svc_ch_member zero_w[] = { member(1, 0) };
	const struct svc_ch_member three[] = { member(1, 1), member(2, 1), member(3, 1) };
	const struct svc_ch_member huge[] = { member(1, UINT32_MAX), member(2, 2) };
	__u32 t[307];

	dup_id[2].addr.b[15] = 99; /* same id at another address */
	dup_addr[1].addr = dup_addr[0].addr;
	ck_assert_int_eq(svc_ch_build(dup_id, 3, 0, 307, t), -EINVAL);
	ck_assert_int_eq(svc_ch_build(dup_addr, 2, 0, 307, t), -EINVAL);
	ck_assert_int_eq(svc_ch_build(zero_id, 1, 0, 307, t), -EINVAL);
	ck_assert_int_eq(svc_ch_build(zero_w, 1, 0, 307, t), -EINVAL);
	ck_assert_int_eq(svc_ch_build(three, 3, 0, 2, t), -EINVAL);   /* size < n */
	ck_assert_int_eq(svc_ch_build(three, 3, 0, 300, t), -EINVAL); /* not prime */
	ck_assert_int_eq(svc_ch_build(three, 3, 0, 0, t), -EINVAL);
	ck_assert_int_eq(svc_ch_build(three, 3, 0, 307, NULL), -EINVAL);
	ck_assert_int_eq(svc_ch_build(NULL, 3, 0, 307, t), -EINVAL);
	ck_assert_int_eq(svc_ch_build(huge, 2, 0, 307, t), -EINVAL); /* weights overflow */
	/* Smallest valid case. */
	ck_assert_int_eq(svc_ch_build(three, 3, 0, 3, t), 0);
	ck_assert_uint_eq(t[0] + t[1] + t[2], 6);
}
END_TEST

static Suite *ch_suite(void)
{
	Suite *s = suite_create("ch");
	TCase *tc = tcase_create("build");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_weights_1_1_2);
	tcase_add_loop_test(tc, test_weights_random, 0, 20);
	tcase_add_test(tc, test_spread);
	tcase_add_test(tc, test_pure_function);
	tcase_add_loop_test(tc, test_remove_one, 0, 24);
	tcase_add_loop_test(tc, test_add_one, 0, 12);
	tcase_add_loop_test(tc, test_weight_change, 0, 12);
	tcase_add_test(tc, test_seed);
	tcase_add_test(tc, test_identity_is_address);
	tcase_add_test(tc, test_golden_tables);
	tcase_add_test(tc, test_empty_set);
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
