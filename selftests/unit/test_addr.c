// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of address, serviceID, prefix, binding and hop parsing/printing (agent/lib/addr.c). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A good input and the canonical text it must print back as. */
struct good {
	const char *in;
	const char *out;
};

/* ---- addresses ---- */

static const struct good good_addrs[] = {
	{ "192.0.2.1", "192.0.2.1" },
	{ "0.0.0.0", "0.0.0.0" },
	{ "255.255.255.255", "255.255.255.255" },
	{ "::ffff:192.0.2.1", "192.0.2.1" }, /* v4-mapped text is the same IPv4 address */
	{ "2001:db8::1", "2001:db8::1" },
	{ "2001:DB8:0:0:0:0:0:1", "2001:db8::1" },
	{ "2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1" }, /* first longest run */
	{ "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" }, /* a single zero group stays */
	{ "::", "::" },
	{ "::1", "::1" },
	{ "::1:2", "::1:2" }, /* not "::0.1.0.2" as inet_ntop prints it */
	{ "::102:304", "::102:304" },
	{ "1::", "1::" },
	{ "fe80:0:1:0:0:0:0:0", "fe80:0:1::" }, /* the longer of two runs */
	{ "fe80::1:0:0:0", "fe80::1:0:0:0" },	/* equal runs: the first */
	{ "1:0:0:2:0:0:0:3", "1:0:0:2::3" },
};

static const char *const bad_addrs[] = {
	"",
	"1.2.3",
	"1.2.3.4.5",
	"256.1.1.1",
	"1.2.3.4 ",
	" 1.2.3.4",
	"1.2.3.4x",
	"01.2.3.4",
	"0x1.2.3.4",
	"2001:db8::1::2",
	"2001:db8:::1",
	"fe80::1%eth0",
	"[2001:db8::1]",
	"2001:db8::g",
	"1:2:3:4:5:6:7:8:9",
	"localhost",
	"1.2.3.4/32",
};

START_TEST(test_addr_good)
{
	const struct good *g = &good_addrs[_i];
	char buf[SVC_ADDR_STRLEN];
	struct svc_addr a;

	ck_assert_msg(svc_addr_parse(g->in, &a) == 0, "parse \"%s\"", g->in);
	ck_assert_str_eq(svc_addr_format(&a, buf, sizeof(buf)), g->out);
}
END_TEST

START_TEST(test_addr_bad)
{
	struct svc_addr a;

	memset(&a, 0xaa, sizeof(a));
	ck_assert_msg(svc_addr_parse(bad_addrs[_i], &a) == -EINVAL, "accepted \"%s\"",
		      bad_addrs[_i]);
	/* A rejected parse leaves the output alone. */
	ck_assert_uint_eq(a.b[0], 0xaa);
}
END_TEST

START_TEST(test_addr_bytes)
{
	static const __u8 v4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 };
	static const __u8 v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	char buf[SVC_ADDR_STRLEN];
	struct svc_addr a;

	ck_assert_int_eq(svc_addr_parse("192.0.2.1", &a), 0);
	ck_assert_mem_eq(a.b, v4, 16);
	ck_assert(svc_addr_is_v4(&a));
	ck_assert_int_eq(svc_addr_parse("2001:db8::1", &a), 0);
	ck_assert_mem_eq(a.b, v6, 16);
	ck_assert(!svc_addr_is_v4(&a));
	ck_assert_int_eq(svc_addr_parse("::", &a), 0);
	ck_assert(!svc_addr_is_v4(&a));
	/* A buffer too small gets an empty string, never a truncated address. */
	ck_assert_int_eq(svc_addr_parse("2001:db8::1", &a), 0);
	ck_assert_str_eq(svc_addr_format(&a, buf, 5), "");
	ck_assert_int_eq(svc_addr_parse(NULL, &a), -EINVAL);
}
END_TEST

/* ---- serviceIDs ---- */

START_TEST(test_sid)
{
	static const __u8 want[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34 };
	char buf[SVC_ADDR_STRLEN];
	struct svc_sid sid;

	ck_assert_int_eq(svc_sid_parse("fd00::1234", &sid), 0);
	ck_assert_mem_eq(sid.b, want, 16);
	ck_assert_str_eq(svc_sid_format(&sid, buf, sizeof(buf)), "fd00::1234");
	/* A sid is IPv6 text: dotted IPv4 alone is not one. */
	ck_assert_int_eq(svc_sid_parse("192.0.2.1", &sid), -EINVAL);
	ck_assert_int_eq(svc_sid_parse("fd00::1234 ", &sid), -EINVAL);
	ck_assert_int_eq(svc_sid_parse("", &sid), -EINVAL);
	/* ::ffff:a.b.c.d is a valid sid and prints as IPv6, not dotted. */
	ck_assert_int_eq(svc_sid_parse("::ffff:1.2.3.4", &sid), 0);
	ck_assert_str_eq(svc_sid_format(&sid, buf, sizeof(buf)), "::ffff:102:304");
}
END_TEST

/* ---- prefixes ---- */

static const struct good good_prefixes[] = {
	{ "2001:db8::/32", "2001:db8::/32" },
	{ "2001:db8::1", "2001:db8::1/128" },
	{ "2001:db8::1/128", "2001:db8::1/128" },
	{ "::/0", "::/0" },
	{ "fd00:1:2:3::/64", "fd00:1:2:3::/64" },
	{ "fd00::8000:0:0:0/65", "fd00::8000:0:0:0/65" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127",
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127" },
	{ "2001:db8::/31", "2001:db8::/31" }, /* 0x0db8 ends in a zero bit */
};

static const char *const bad_prefixes[] = {
	"",
	"/64",
	"2001:db8::/",
	"2001:db8::/129",
	"2001:db8::/1000",
	"2001:db8::/-1",
	"2001:db8::/+8",
	"2001:db8::/064",
	"2001:db8::/ 64",
	"2001:db8::/64 ",
	"2001:db8::/64x",
	"2001:db8::/32/1",
	"2001:db8::1/64", /* host bits set */
	"2001:db8::/28",  /* 0x0db8: bit 31 set past /28 */
	"::1/127",	  /* the last bit set */
	"192.0.2.0/24",	  /* sids are IPv6 */
	"2001:db8:::/32",
};

START_TEST(test_prefix_good)
{
	const struct good *g = &good_prefixes[_i];
	char buf[SVC_ADDR_STRLEN];
	struct svc_lpm_key k;

	ck_assert_msg(svc_prefix_parse(g->in, &k) == 0, "parse \"%s\"", g->in);
	ck_assert_str_eq(svc_prefix_format(&k, buf, sizeof(buf)), g->out);
}
END_TEST

START_TEST(test_prefix_bad)
{
	struct svc_lpm_key k;

	ck_assert_msg(svc_prefix_parse(bad_prefixes[_i], &k) == -EINVAL, "accepted \"%s\"",
		      bad_prefixes[_i]);
}
END_TEST

START_TEST(test_prefix_key)
{
	static const __u8 want[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct svc_lpm_key k;

	ck_assert_int_eq(svc_prefix_parse("2001:db8::/32", &k), 0);
	ck_assert_uint_eq(k.prefixlen, 32);
	ck_assert_mem_eq(k.sid.b, want, 16);
	ck_assert_int_eq(svc_prefix_parse("2001:db8::", &k), 0);
	ck_assert_uint_eq(k.prefixlen, 128);
}
END_TEST

/* ---- bindings ---- */

static const struct good good_bindings[] = {
	{ "192.0.2.10:80/tcp", "192.0.2.10:80/tcp" },
	{ "192.0.2.10:0/udp", "192.0.2.10:0/udp" },
	{ "192.0.2.10:65535/tcp", "192.0.2.10:65535/tcp" },
	{ "192.0.2.10:53/UDP", "192.0.2.10:53/udp" },
	{ "[2001:db8::10]:53/udp", "[2001:db8::10]:53/udp" },
	{ "[2001:DB8:0::10]:443/tcp", "[2001:db8::10]:443/tcp" },
	{ "[::ffff:192.0.2.10]:80/tcp", "192.0.2.10:80/tcp" },
};

static const char *const bad_bindings[] = {
	"",
	"192.0.2.10",
	"192.0.2.10:80",
	"192.0.2.10/tcp",
	"192.0.2.10:/tcp",
	"192.0.2.10:65536/tcp",
	"192.0.2.10:99999/tcp",
	"192.0.2.10:-1/tcp",
	"192.0.2.10:080/tcp",
	"192.0.2.10:80/sctp",
	"192.0.2.10:80/icmp",
	"192.0.2.10:80/tcp ",
	"192.0.2.10:80/",
	"192.0.2.10:80:1/tcp",
	"2001:db8::10:53/udp", /* IPv6 needs brackets */
	"[2001:db8::10]53/udp",
	"[2001:db8::10:53/udp",
	"[192.0.2.10]:80/tcp", /* brackets hold IPv6 only */
	"192.0.2.300:80/tcp",
	":80/tcp",
};

START_TEST(test_binding_good)
{
	const struct good *g = &good_bindings[_i];
	char buf[SVC_ADDR_STRLEN];
	struct svc_binding_key k;

	ck_assert_msg(svc_binding_parse(g->in, &k) == 0, "parse \"%s\"", g->in);
	ck_assert_str_eq(svc_binding_format(&k, buf, sizeof(buf)), g->out);
}
END_TEST

START_TEST(test_binding_bad)
{
	struct svc_binding_key k;

	ck_assert_msg(svc_binding_parse(bad_bindings[_i], &k) == -EINVAL, "accepted \"%s\"",
		      bad_bindings[_i]);
}
END_TEST

START_TEST(test_binding_key)
{
	struct svc_binding_key k, want;

	memset(&k, 0xaa, sizeof(k));
	ck_assert_int_eq(svc_binding_parse("192.0.2.10:8080/udp", &k), 0);
	memset(&want, 0, sizeof(want));
	ck_assert_int_eq(svc_addr_parse("192.0.2.10", &want.vip), 0);
	want.port = htons(8080);
	want.proto = IPPROTO_UDP;
	/* The whole key, padding included: it is hashed by the kernel as bytes. */
	ck_assert_mem_eq(&k, &want, sizeof(k));
}
END_TEST

/* ---- hops ---- */

struct good_hop {
	const char *in;
	const char *addr;
	unsigned int weight;
};

static const struct good_hop good_hops[] = {
	{ "10.1.0.5", "10.1.0.5", 1 },
	{ "10.1.0.5:3", "10.1.0.5", 3 },
	{ "10.1.0.5:1000", "10.1.0.5", SVC_MAX_WEIGHT },
	{ "[2001:db8::5]:7", "2001:db8::5", 7 },
	{ "[2001:db8::5]", "2001:db8::5", 1 },
	{ "2001:db8::5", "2001:db8::5", 1 }, /* bare IPv6: the last group is address, not weight */
	{ "2001:db8::1:5", "2001:db8::1:5", 1 },
	{ "::1", "::1", 1 },
};

static const char *const bad_hops[] = {
	"",
	"10.1.0.5:0",
	"10.1.0.5:1001",
	"10.1.0.5:",
	"10.1.0.5:-1",
	"10.1.0.5:01",
	"10.1.0.5:2x",
	"10.1.0.5:2:3",
	"10.1.0.5 ",
	"[2001:db8::5]:0",
	"[2001:db8::5]:",
	"[2001:db8::5]x",
	"[2001:db8::5",
	"[10.1.0.5]:2",
	"10.1.0.256",
	"host:2",
};

START_TEST(test_hop_good)
{
	const struct good_hop *g = &good_hops[_i];
	char buf[SVC_ADDR_STRLEN];
	struct svc_addr a;
	unsigned int w = 0;

	ck_assert_msg(svc_hop_parse(g->in, &a, &w) == 0, "parse \"%s\"", g->in);
	ck_assert_str_eq(svc_addr_format(&a, buf, sizeof(buf)), g->addr);
	ck_assert_uint_eq(w, g->weight);
}
END_TEST

START_TEST(test_hop_bad)
{
	struct svc_addr a;
	unsigned int w = 42;

	ck_assert_msg(svc_hop_parse(bad_hops[_i], &a, &w) == -EINVAL, "accepted \"%s\"",
		      bad_hops[_i]);
	ck_assert_uint_eq(w, 42);
}
END_TEST

static Suite *addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_addr_good, 0, ARRAY_SIZE(good_addrs));
	tcase_add_loop_test(tc, test_addr_bad, 0, ARRAY_SIZE(bad_addrs));
	tcase_add_test(tc, test_addr_bytes);
	tcase_add_test(tc, test_sid);
	tcase_add_loop_test(tc, test_prefix_good, 0, ARRAY_SIZE(good_prefixes));
	tcase_add_loop_test(tc, test_prefix_bad, 0, ARRAY_SIZE(bad_prefixes));
	tcase_add_test(tc, test_prefix_key);
	tcase_add_loop_test(tc, test_binding_good, 0, ARRAY_SIZE(good_bindings));
	tcase_add_loop_test(tc, test_binding_bad, 0, ARRAY_SIZE(bad_bindings));
	tcase_add_test(tc, test_binding_key);
	tcase_add_loop_test(tc, test_hop_good, 0, ARRAY_SIZE(good_hops));
	tcase_add_loop_test(tc, test_hop_bad, 0, ARRAY_SIZE(bad_hops));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(addr_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
