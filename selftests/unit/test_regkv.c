// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the etcd key layout codec (agent/lib/regkv.c): round trip, local parts, skips. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "regkv.h"

#define BASE "/t/v1/"

static struct svc_sid sid_of(const char *s)
{
	struct svc_sid sid;

	ck_assert_int_eq(svc_sid_parse(s, &sid), 0);
	return sid;
}

static struct svc_addr addr_of(const char *s)
{
	struct svc_addr a;

	ck_assert_int_eq(svc_addr_parse(s, &a), 0);
	return a;
}

static struct svc_lpm_key prefix_of(const char *s)
{
	struct svc_lpm_key p;

	ck_assert_int_eq(svc_prefix_parse(s, &p), 0);
	return p;
}

static struct svc_binding_key binding_of(const char *s)
{
	struct svc_binding_key k;

	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(svc_binding_parse(s, &k), 0);
	return k;
}

/* Shared objects of every kind, with every instance field set somewhere. */
static void populate(struct svc_reg *r)
{
	struct svc_sid s1 = sid_of("2001:db8:5::1"), s2 = sid_of("2001:db8:5::2");
	struct svc_addr a1 = addr_of("10.0.1.2"), a2 = addr_of("2001:db8:18:2::2");
	struct svc_reg_hop hops[2] = { { addr_of("10.0.1.2"), 3 }, { addr_of("10.0.9.9"), 1 } };
	struct svc_binding_key b = binding_of("198.19.0.10:80/tcp"),
			       b6 = binding_of("[2001:db8::10]:53/udp");
	struct svc_lpm_key p = prefix_of("2001:db8:6::/48"), d = prefix_of("2001:db8:7::/64"),
			   sp = prefix_of("2001:db8:5::/48");
	struct svc_reg_health hc = { .type = SVC_HC_HTTP,
				     .rise = 2,
				     .fall = 3,
				     .port = 8080,
				     .expect = 204,
				     .interval_ms = 500,
				     .timeout_ms = 200,
				     .path = "/healthz" };
	struct svc_err err;

	svc_reg_init(r);
	ck_assert_int_eq(svc_reg_service_add(r, &s1, "web", &err), 0);
	ck_assert_int_eq(svc_reg_service_add(r, &s2, "", &err), 0);
	ck_assert_int_eq(svc_reg_service_health(r, &s1, &hc, &err), 0);
	ck_assert_int_eq(svc_reg_instance_add(r, &s1, &a1, 2, "i1", &err), 0);
	ck_assert_int_eq(svc_reg_instance_add(r, &s1, &a2, 1, "", &err), 0);
	ck_assert_int_eq(svc_reg_instance_add(r, &s2, &a1, 5, "", &err), 0);
	ck_assert_int_eq(svc_reg_instance_set(r, &s1, &a2, 0, 0, &err), 0);
	ck_assert_int_eq(svc_reg_instance_mode(r, &s2, &a1, SVC_INST_DRAIN, &err), 0);
	r->instances[0].lease_s = 3;
	r->instances[1].strip_opts = true;
	ck_assert_int_eq(svc_reg_binding_add(r, &b, &s1, &err), 0);
	ck_assert_int_eq(svc_reg_binding_add(r, &b6, &s2, &err), 0);
	ck_assert_int_eq(svc_reg_rule_add(r, &p, SVC_ACT_FORWARD, hops, 2, &err), 0);
	ck_assert_int_eq(svc_reg_rule_add(r, &d, SVC_ACT_DELAY, NULL, 0, &err), 0);
	ck_assert_int_eq(svc_reg_prefix_add(r, &sp, &err), 0);
}

/* The records etcd would hold for @r: its objects plus a nexthops/ record per address. */
static void records(const struct svc_reg *r, struct svc_regkv_list *l, __u32 id_base)
{
	char key[256], *v;

	ck_assert_int_eq(svc_regkv_encode(r, BASE, l), 0);
	for (size_t i = 0; i < r->n_nexthops; i++) {
		v = svc_regkv_nexthop_value(&r->nexthops[i].addr, id_base + (__u32)i, false);
		ck_assert_int_eq(
			svc_regkv_list_add(
				l,
				svc_regkv_key_nexthop(BASE, &r->nexthops[i].addr, key, sizeof(key)),
				v, 0, 0),
			0);
		free(v);
		v = svc_regkv_id_value(&r->nexthops[i].addr);
		ck_assert_int_eq(svc_regkv_list_add(l,
						    svc_regkv_key_id(BASE, id_base + (__u32)i, key,
								     sizeof(key)),
						    v, 0, 0),
				 0);
		free(v);
	}
	svc_regkv_list_sort(l);
}

static void assert_same_records(const struct svc_regkv_list *a, const struct svc_regkv_list *b)
{
	ck_assert_uint_eq(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		ck_assert_str_eq(a->kv[i].key, b->kv[i].key);
		ck_assert_str_eq(a->kv[i].value, b->kv[i].value);
	}
}

START_TEST(test_keys)
{
	char buf[256];
	const char *rest;
	struct svc_sid s = sid_of("2001:db8:5::1");
	struct svc_addr a = addr_of("10.0.1.2");

	ck_assert_str_eq(svc_regkv_base("", buf, sizeof(buf)), "/svcplane/v1/");
	ck_assert_str_eq(svc_regkv_base("/x/y", buf, sizeof(buf)), "/x/y/v1/");
	ck_assert_str_eq(svc_regkv_key_instance(BASE, &s, &a, buf, sizeof(buf)),
			 "/t/v1/instances/2001:db8:5::1/10.0.1.2");
	ck_assert_int_eq(svc_regkv_kind_of(BASE, buf, &rest), SVC_REGKV_INSTANCE);
	ck_assert_str_eq(rest, "2001:db8:5::1/10.0.1.2");
	ck_assert_str_eq(svc_regkv_key_nexthop(BASE, &a, buf, sizeof(buf)),
			 "/t/v1/nexthops/10.0.1.2");
	ck_assert_int_eq(svc_regkv_kind_of(BASE, buf, NULL), SVC_REGKV_NEXTHOP);
	ck_assert_str_eq(svc_regkv_key_id(BASE, 42, buf, sizeof(buf)), "/t/v1/ids/42");
	ck_assert_int_eq(svc_regkv_kind_of(BASE, buf, NULL), SVC_REGKV_ID);
	ck_assert_int_eq(svc_regkv_kind_of(BASE, "/t/v1/rules/2001:db8::/48", &rest),
			 SVC_REGKV_RULE);
	ck_assert_str_eq(rest, "2001:db8::/48");
	ck_assert_int_eq(svc_regkv_kind_of(BASE, "/t/v1/services/", NULL), SVC_REGKV_UNKNOWN);
	ck_assert_int_eq(svc_regkv_kind_of(BASE, "/t/v1/servicesx/a", NULL), SVC_REGKV_UNKNOWN);
	ck_assert_int_eq(svc_regkv_kind_of(BASE, "/u/v1/services/a", NULL), SVC_REGKV_UNKNOWN);
}
END_TEST

START_TEST(test_round_trip)
{
	struct svc_regkv_list l, l2;
	struct svc_regkv_report rep;
	struct svc_reg r, empty, out;
	struct svc_addr a1 = addr_of("10.0.1.2"), a9 = addr_of("10.0.9.9"),
			unused = addr_of("10.0.7.7");
	char key[256], *v;

	populate(&r);
	records(&r, &l, 100);
	/* an id nobody uses (and this host never knew) stays in etcd only */
	v = svc_regkv_nexthop_value(&unused, 900, false);
	ck_assert_int_eq(svc_regkv_list_add(&l,
					    svc_regkv_key_nexthop(BASE, &unused, key, sizeof(key)),
					    v, 0, 0),
			 0);
	free(v);
	svc_regkv_list_sort(&l);
	svc_reg_init(&empty);
	ck_assert_int_eq(svc_regkv_decode(BASE, &l, &empty, &out, &rep), 0);
	ck_assert_msg(rep.skipped == 0, "skipped %zu: %s", rep.skipped, rep.first);
	ck_assert_uint_eq(out.n_services, 2);
	ck_assert_uint_eq(out.n_instances, 3);
	ck_assert_uint_eq(out.n_bindings, 2);
	ck_assert_uint_eq(out.n_rules, 2);
	ck_assert_uint_eq(out.n_prefixes, 1);
	/* next-hop ids are etcd's, not allocated here */
	ck_assert_uint_eq(svc_reg_nh_id(&out, &a1), 100);
	ck_assert_uint_eq(svc_reg_nh_id(&out, &a9), 102);
	ck_assert_uint_eq(svc_reg_nh_id(&out, &unused), 0);
	ck_assert_uint_eq(out.services[0].hc.type, SVC_HC_HTTP);
	ck_assert_str_eq(out.services[0].hc.path, "/healthz");
	ck_assert_uint_eq(out.instances[0].lease_s, 3);
	ck_assert(out.instances[0].lease_expires == 0);
	/* the same records again */
	ck_assert_int_eq(svc_regkv_encode(&out, BASE, &l2), 0);
	{
		struct svc_regkv_list l1;

		ck_assert_int_eq(svc_regkv_encode(&r, BASE, &l1), 0);
		assert_same_records(&l1, &l2);
		svc_regkv_list_free(&l1);
	}
	svc_regkv_list_free(&l2);
	svc_regkv_list_free(&l);
	svc_reg_free(&out);
	svc_reg_free(&r);
}
END_TEST

/* Whatever order etcd lists records in, the decoded registry encodes the same. */
START_TEST(test_order_independent)
{
	struct svc_regkv_list l, ref, got;
	struct svc_regkv_report rep;
	struct svc_reg r, empty, out;

	populate(&r);
	records(&r, &l, 7);
	svc_reg_init(&empty);
	ck_assert_int_eq(svc_regkv_encode(&r, BASE, &ref), 0);
	srand(11);
	for (int round = 0; round < 50; round++) {
		for (size_t i = l.n - 1; i > 0; i--) {
			size_t j = (size_t)rand() % (i + 1);
			struct svc_regkv t = l.kv[i];

			l.kv[i] = l.kv[j];
			l.kv[j] = t;
		}
		ck_assert_int_eq(svc_regkv_decode(BASE, &l, &empty, &out, &rep), 0);
		ck_assert_uint_eq(rep.skipped, 0);
		ck_assert_int_eq(svc_regkv_encode(&out, BASE, &got), 0);
		assert_same_records(&ref, &got);
		for (size_t i = 0; i < r.n_nexthops; i++)
			ck_assert_uint_eq(svc_reg_nh_id(&out, &r.nexthops[i].addr), 7 + i);
		svc_regkv_list_free(&got);
		svc_reg_free(&out);
	}
	svc_regkv_list_free(&ref);
	svc_regkv_list_free(&l);
	svc_reg_free(&r);
}
END_TEST

/* Per-host parts, local rule/set ids, health results and draining next hops come from local. */
START_TEST(test_local_parts)
{
	struct svc_sid s1 = sid_of("2001:db8:5::1"), s3 = sid_of("2001:db8:5::3");
	struct svc_addr a1 = addr_of("10.0.1.2"), old = addr_of("10.0.7.7"),
			clash = addr_of("10.0.8.8"), src = addr_of("10.0.0.1"),
			dec = addr_of("10.0.0.254");
	struct svc_regkv_list l;
	struct svc_regkv_report rep;
	struct svc_reg r, local, out;
	struct svc_err err;

	populate(&r);
	records(&r, &l, 100);
	svc_reg_init(&local);
	ck_assert_int_eq(svc_reg_src_set(&local, &src, &err), 0);
	ck_assert_int_eq(svc_reg_decap_add(&local, &dec, &err), 0);
	ck_assert_int_eq(svc_reg_attach_add(&local, "veth0", 0, 1, &err), 0);
	ck_assert_int_eq(svc_reg_tiflow_set(&local, 77, -1, -1, &err), 0);
	ck_assert_int_eq(svc_reg_service_add_ids(&local, &s3, "gone", 9, 9, &err), 0);
	ck_assert_int_eq(svc_reg_service_add_ids(&local, &s1, "web", 40, 41, &err), 0);
	ck_assert_int_eq(svc_reg_nh_set(&local, &a1, 100, false, &err), 0);
	ck_assert_int_eq(svc_reg_instance_add(&local, &s1, &a1, 1, "", &err), 0);
	local.instances[0].health_down = true;
	snprintf(local.instances[0].health_why, sizeof(local.instances[0].health_why), "timeout");
	/* draining here: kept; a drained address whose id etcd gave away: dropped */
	ck_assert_int_eq(svc_reg_nh_set(&local, &old, 500, true, &err), 0);
	ck_assert_int_eq(svc_reg_nh_set(&local, &clash, 101, false, &err), 0);

	ck_assert_int_eq(svc_regkv_decode(BASE, &l, &local, &out, &rep), 0);
	ck_assert_uint_eq(rep.skipped, 0);
	ck_assert(out.has_src4);
	ck_assert_mem_eq(&out.src4, &src, sizeof(src));
	ck_assert_uint_eq(out.n_decaps, 1);
	ck_assert_uint_eq(out.n_attachments, 1);
	ck_assert_uint_eq(out.tiflow.instance_id, 77);
	ck_assert_ptr_null(svc_reg_service_find(&out, &s3));
	ck_assert_uint_eq(svc_reg_service_find(&out, &s1)->rule_id, 40);
	ck_assert_uint_eq(svc_reg_service_find(&out, &s1)->set_id, 41);
	ck_assert(svc_reg_instance_find(&out, &s1, &a1)->health_down);
	ck_assert_str_eq(svc_reg_instance_find(&out, &s1, &a1)->health_why, "timeout");
	ck_assert_uint_eq(svc_reg_nh_id(&out, &old), 500);
	ck_assert(out.nexthops[out.n_nexthops - 1].reset);
	ck_assert_uint_eq(svc_reg_nh_id(&out, &clash), 0);
	ck_assert_uint_eq(svc_reg_nh_flags(&out, &old), SVC_NH_F_RESET);
	svc_regkv_list_free(&l);
	svc_reg_free(&out);
	svc_reg_free(&local);
	svc_reg_free(&r);
}
END_TEST

/* Bad records are skipped one by one, with the first reason; the rest is used. */
START_TEST(test_skips)
{
	struct svc_regkv_list l;
	struct svc_regkv_report rep;
	struct svc_reg r, empty, out;

	populate(&r);
	records(&r, &l, 100);
	ck_assert_int_eq(svc_regkv_list_add(&l, "/t/v1/instances/2001:db8:5::1/10.0.3.3",
					    "{\"sid\":\"2001:db8:5::1\",\"addr\":\"10.0.3.3\","
					    "\"weight\":1,\"state\":\"up\",\"name\":\"\"}",
					    0, 0),
			 0); /* no nexthops/ record for its address */
	ck_assert_int_eq(svc_regkv_list_add(&l, "/t/v1/services/2001:db8:5::9", "not json", 0, 0),
			 0);
	ck_assert_int_eq(svc_regkv_list_add(&l, "/t/v1/services/2001:db8:5::8",
					    "{\"sid\":\"2001:db8:5::7\",\"name\":\"\"}", 0, 0),
			 0); /* key and value disagree */
	ck_assert_int_eq(svc_regkv_list_add(&l, "/t/v1/bindings/198.19.0.11:80/tcp",
					    "{\"binding\":\"198.19.0.11:80/tcp\","
					    "\"sid\":\"2001:db8:5::66\"}",
					    0, 0),
			 0); /* unknown service */
	ck_assert_int_eq(svc_regkv_list_add(&l, "/t/v1/whatever/x", "{}", 0, 0), 0);
	svc_regkv_list_sort(&l);
	svc_reg_init(&empty);
	ck_assert_int_eq(svc_regkv_decode(BASE, &l, &empty, &out, &rep), 0);
	ck_assert_uint_eq(rep.skipped, 5);
	ck_assert_uint_ne(rep.first[0], 0);
	ck_assert_uint_eq(out.n_services, 2);
	ck_assert_uint_eq(out.n_instances, 3);
	ck_assert_uint_eq(out.n_bindings, 2);
	svc_regkv_list_free(&l);
	svc_reg_free(&out);
	svc_reg_free(&r);
}
END_TEST

START_TEST(test_values)
{
	struct svc_addr a = addr_of("2001:db8::5"), got;
	bool reset = false;
	__u32 id = 0;
	char *v = svc_regkv_nexthop_value(&a, 65535, true);

	ck_assert_int_eq(svc_regkv_nexthop_parse(v, &got, &id, &reset), 0);
	ck_assert_mem_eq(&got, &a, sizeof(a));
	ck_assert_uint_eq(id, 65535);
	ck_assert(reset);
	free(v);
	ck_assert_int_eq(
		svc_regkv_nexthop_parse("{\"addr\":\"10.0.0.1\",\"id\":0}", &got, &id, &reset),
		-EINVAL);
	ck_assert_int_eq(svc_regkv_nexthop_parse("{\"addr\":\"x\",\"id\":3}", &got, &id, &reset),
			 -EINVAL);
	ck_assert_uint_eq(svc_regkv_instance_lease("{\"lease\":3}"), 3);
	ck_assert_uint_eq(svc_regkv_instance_lease("{}"), 0);
	ck_assert_uint_eq(svc_regkv_instance_lease("[]"), 0);
}
END_TEST

/*
 * The etcd mirror's pattern (agent/etcdreg.c): every watched PUT looks its key
 * up, then appends it if new; DELETEs remove records in between. 30,000 keys
 * (10,000 instances) in a scrambled order: every key is found after, the list
 * sorts to strictly increasing keys, and the key comparisons stay within
 * n * (TAIL + 4 log2 n); sorting before each lookup (as the mirror did) made
 * ~n^2 log n / 2 of them.
 */
START_TEST(test_list_lookup_growing)
{
	enum { N = 30000 };
	struct svc_regkv_list l = { 0 };
	const struct svc_regkv *kv;
	char key[128];
	size_t n_del = 0;

	for (__u32 i = 0; i < N; i++) {
		__u32 k = (i * 7919u) % N; /* 7919 is prime: a permutation of 0..N-1 */

		snprintf(key, sizeof(key), BASE "instances/2001:db8:5::%x/10.%u.%u.%u", k % 10 + 1,
			 k >> 16 & 255, k >> 8 & 255, k & 255);
		ck_assert_ptr_null(svc_regkv_list_lookup(&l, key));
		ck_assert_int_eq(svc_regkv_list_add(&l, key, "{}", 0, k), 0);
		ck_assert_ptr_nonnull(svc_regkv_list_lookup(&l, key));
		if (k % 100 == 0) { /* delete the record of key k - 1, if added already */
			kv = NULL;
			for (size_t j = 0; j < l.n && !kv; j++)
				if (l.kv[j].mod_rev == (int64_t)k - 1)
					kv = &l.kv[j];
			if (kv) {
				svc_regkv_list_del(&l, (size_t)(kv - l.kv));
				n_del++;
			}
		}
	}
	ck_assert_uint_gt(n_del, 0);
	ck_assert_uint_le(l.cmps, (uint64_t)N * (SVC_REGKV_LIST_TAIL + 4 * 15));
	svc_regkv_list_sort(&l);
	ck_assert_uint_eq(l.n, N - n_del);
	ck_assert_uint_eq(l.n_sorted, l.n);
	for (size_t j = 1; j < l.n; j++)
		ck_assert_int_lt(strcmp(l.kv[j - 1].key, l.kv[j].key), 0);
	for (size_t j = 0; j < l.n; j++) {
		kv = svc_regkv_list_find(&l, l.kv[j].key);
		ck_assert_ptr_eq(kv, &l.kv[j]);
	}
	svc_regkv_list_free(&l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("regkv");
	TCase *tc = tcase_create("layout");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_order_independent);
	tcase_add_test(tc, test_local_parts);
	tcase_add_test(tc, test_skips);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_list_lookup_growing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
