// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the TI-flow resume header (headers/svc_tiflow_resume.h). */
/*
 * The oracle is this file's own byte-oriented SipHash-2-4, written from the
 * paper and checked against the paper's test vector; the header's octets are
 * read back by offset, not through the header's own accessors.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../headers/svc_tiflow_resume.h"

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define ROUND(v0, v1, v2, v3)      \
	do {                       \
		v0 += v1;          \
		v1 = ROTL(v1, 13); \
		v1 ^= v0;          \
		v0 = ROTL(v0, 32); \
		v2 += v3;          \
		v3 = ROTL(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = ROTL(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = ROTL(v1, 17); \
		v1 ^= v2;          \
		v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ref_siphash - SipHash-2-4 of the octets @m[0..n) under the 16 key octets @k. */
static uint64_t ref_siphash(const uint8_t k[16], const uint8_t *m, size_t n)
{
	uint64_t k0 = le64(k), k1 = le64(k + 8), b = (uint64_t)n << 56, w;
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		w = le64(m + i);
		v3 ^= w;
		ROUND(v0, v1, v2, v3);
		ROUND(v0, v1, v2, v3);
		v0 ^= w;
	}
	for (size_t j = 0; i + j < n; j++)
		b |= (uint64_t)m[i + j] << (8 * j);
	v3 ^= b;
	ROUND(v0, v1, v2, v3);
	ROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (int r = 0; r < 4; r++)
		ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static const struct svc_tiflow_rh_keyin KEYIN = {
	.tiseq_i = 0x123456789abcULL,
	.tiseq_r = 0xfedcba987654ULL,
	.isn_i = 0xdeadbeef,
	.isn_r = 0x01234567,
};

static const struct svc_tiflow_rh_vals VALS = {
	.tifid = 0xa1b2c3004d5eULL,
	.tiseq = 0xfffffffffff0ULL,
	.tiack = 0x000000000010ULL,
	.attempt = 0x01020304,
	.responder = 0,
};

static void sealed(struct svc_tiflow_rhdr *h, const struct svc_tiflow_rh_vals *v, __u64 key[2])
{
	svc_tiflow_rh_key(&KEYIN, key);
	svc_tiflow_rh_seal(h, v, key);
}

/* The oracle agrees with the SipHash paper's vector (key 00..0f, message 00..0e). */
START_TEST(test_oracle)
{
	uint8_t k[16], m[15];

	for (int i = 0; i < 16; i++)
		k[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		m[i] = (uint8_t)i;
	ck_assert_uint_eq(ref_siphash(k, m, 15), 0xa129ca6149be45e5ULL);
}
END_TEST

/* Octets where the header comment puts them; the MAC is SipHash of octets 0..23. */
START_TEST(test_layout_and_mac)
{
	static const uint8_t want[24] = { 1,	0,    1,    2,	  3,	4,    0xa1, 0xb2,
					  0xc3, 0x00, 0x4d, 0x5e, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xf0, 0,    0,	  0,	0,    0,    0x10 };
	struct svc_tiflow_rhdr h;
	const uint8_t *p = (const uint8_t *)&h;
	uint8_t k[16];
	__u64 key[2];
	uint64_t mac;

	sealed(&h, &VALS, key);
	ck_assert_int_eq(memcmp(p, want, 24), 0);
	/* key octets: tiseq_i | isn_i low half << 48, then tiseq_r | isn_r low half << 48, LE */
	for (int i = 0; i < 6; i++) {
		k[i] = (uint8_t)(KEYIN.tiseq_i >> (8 * i));
		k[8 + i] = (uint8_t)(KEYIN.tiseq_r >> (8 * i));
	}
	k[6] = 0xef, k[7] = 0xbe, k[14] = 0x67, k[15] = 0x45;
	mac = ref_siphash(k, p, 24);
	for (int i = 0; i < 8; i++)
		ck_assert_uint_eq(p[24 + i], (uint8_t)(mac >> (8 * i)));
}
END_TEST

/* The peer's header opens; ours does not (a reflected header). */
START_TEST(test_round_trip_and_side)
{
	struct svc_tiflow_rh_vals v = VALS, out;
	struct svc_tiflow_rhdr h;
	__u64 key[2];

	sealed(&h, &v, key);
	memset(&out, 0, sizeof(out));
	ck_assert_int_eq(svc_tiflow_rh_open(&h, key, VALS.tifid, 1, 0, &out), SVC_TIFLOW_RH_OK);
	ck_assert_uint_eq(out.tifid, VALS.tifid);
	ck_assert_uint_eq(out.tiseq, VALS.tiseq);
	ck_assert_uint_eq(out.tiack, VALS.tiack);
	ck_assert_uint_eq(out.attempt, VALS.attempt);
	ck_assert_int_eq(out.responder, 0);
	ck_assert_int_eq(svc_tiflow_rh_open(&h, key, VALS.tifid, 0, 0, &out), SVC_TIFLOW_RH_E_SIDE);
	v.responder = 1;
	sealed(&h, &v, key);
	ck_assert_int_eq(svc_tiflow_rh_open(&h, key, VALS.tifid, 0, 0, &out), SVC_TIFLOW_RH_OK);
	ck_assert_int_eq(out.responder, 1);
	ck_assert_int_eq(svc_tiflow_rh_open(&h, key, VALS.tifid, 1, 0, &out), SVC_TIFLOW_RH_E_SIDE);
}
END_TEST

/* Any one bit changed anywhere in the 32 octets: refused. */
START_TEST(test_every_bit_flip)
{
	struct svc_tiflow_rh_vals out;
	struct svc_tiflow_rhdr h, g;
	__u64 key[2];

	sealed(&h, &VALS, key);
	for (int i = 0; i < SVC_TIFLOW_RH_LEN * 8; i++) {
		g = h;
		((uint8_t *)&g)[i / 8] ^= (uint8_t)(1 << (i % 8));
		ck_assert_int_ne(svc_tiflow_rh_open(&g, key, VALS.tifid, 1, 0, &out),
				 SVC_TIFLOW_RH_OK);
	}
}
END_TEST

/* A key from another handshake (any key input changed) does not open it. */
START_TEST(test_other_handshake)
{
	struct svc_tiflow_rh_keyin in;
	struct svc_tiflow_rh_vals out;
	struct svc_tiflow_rhdr h;
	__u64 key[2], other[2];

	sealed(&h, &VALS, key);
	for (int which = 0; which < 4; which++) {
		in = KEYIN;
		if (which == 0)
			in.tiseq_i ^= 1ULL << 47;
		else if (which == 1)
			in.tiseq_r ^= 1;
		else if (which == 2)
			in.isn_i ^= 0x8000;
		else
			in.isn_r ^= 1;
		svc_tiflow_rh_key(&in, other);
		ck_assert_int_eq(svc_tiflow_rh_open(&h, other, VALS.tifid, 1, 0, &out),
				 SVC_TIFLOW_RH_E_MAC);
	}
	/* only the ISNs' low halves are key material: the high halves are not */
	in = KEYIN;
	in.isn_i ^= 0xffff0000;
	svc_tiflow_rh_key(&in, other);
	ck_assert_int_eq(svc_tiflow_rh_open(&h, other, VALS.tifid, 1, 0, &out), SVC_TIFLOW_RH_OK);
}
END_TEST

/* Genuine headers of another flow, a replayed attempt, an unknown version or flag. */
START_TEST(test_flow_replay_version)
{
	struct svc_tiflow_rh_vals v = VALS, out;
	struct svc_tiflow_rhdr h;
	__u64 key[2];
	uint64_t mac;

	sealed(&h, &VALS, key);
	ck_assert_int_eq(svc_tiflow_rh_open(&h, key, VALS.tifid ^ 1, 1, 0, &out),
			 SVC_TIFLOW_RH_E_FLOW);
	ck_assert_int_eq(svc_tiflow_rh_open(&h, key, VALS.tifid, 1, VALS.attempt, &out),
			 SVC_TIFLOW_RH_E_REPLAY);
	ck_assert_int_eq(svc_tiflow_rh_open(&h, key, VALS.tifid, 1, VALS.attempt - 1, &out),
			 SVC_TIFLOW_RH_OK);
	v.attempt = 0;
	sealed(&h, &v, key);
	ck_assert_int_eq(svc_tiflow_rh_open(&h, key, VALS.tifid, 1, 0, &out),
			 SVC_TIFLOW_RH_E_REPLAY);
	/* version 2 and an undefined flag, each with a valid MAC */
	for (int c = 0; c < 2; c++) {
		sealed(&h, &VALS, key);
		if (c == 0)
			h.version = 2;
		else
			h.flags |= 0x80;
		mac = svc_tiflow_rh_mac(&h, key);
		for (int i = 0; i < 8; i++)
			h.mac[i] = (uint8_t)(mac >> (8 * i));
		ck_assert_int_eq(svc_tiflow_rh_open(&h, key, VALS.tifid, 1, 0, &out),
				 SVC_TIFLOW_RH_E_VERSION);
	}
}
END_TEST

static Suite *rhdr_suite(void)
{
	Suite *s = suite_create("tiflow_rhdr");
	TCase *tc = tcase_create("rhdr");

	tcase_add_test(tc, test_oracle);
	tcase_add_test(tc, test_layout_and_mac);
	tcase_add_test(tc, test_round_trip_and_side);
	tcase_add_test(tc, test_every_bit_flip);
	tcase_add_test(tc, test_other_handshake);
	tcase_add_test(tc, test_flow_replay_version);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rhdr_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
