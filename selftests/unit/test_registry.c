// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the desired-state registry (agent/lib/registry*.c): validation, ids, JSON. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "registry.h"

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

/* A registry with a bit of everything. */
static void populate(struct svc_reg *r)
{
	struct svc_sid s1 = sid_of("2001:db8:5::1"), s2 = sid_of("2001:db8:5::2");
	struct svc_addr a1 = addr_of("10.0.1.2"), a2 = addr_of("2001:db8:18:2::2");
	struct svc_reg_hop hops[2] = { { addr_of("10.0.1.2"), 3 }, { addr_of("10.0.9.9"), 1 } };
	struct svc_binding_key b = binding_of("198.19.0.10:80/tcp");
	struct svc_lpm_key p = prefix_of("2001:db8:6::/48"), sp = prefix_of("2001:db8:5::/48");
	struct svc_addr src = addr_of("10.0.0.1"), dec = addr_of("10.0.0.254");
	struct svc_err err;

	svc_reg_init(r);
	ck_assert_int_eq(svc_reg_service_add(r, &s1, "web", &err), 0);
	ck_assert_int_eq(svc_reg_service_add(r, &s2, "", &err), 0);
	ck_assert_int_eq(svc_reg_instance_add(r, &s1, &a1, 2, "i1", &err), 0);
	ck_assert_int_eq(svc_reg_instance_add(r, &s1, &a2, 1, "", &err), 0);
	ck_assert_int_eq(svc_reg_instance_add(r, &s2, &a1, 5, "", &err), 0);
	ck_assert_int_eq(svc_reg_instance_set(r, &s1, &a2, 0, 0, &err), 0);
	ck_assert_int_eq(svc_reg_binding_add(r, &b, &s1, &err), 0);
	ck_assert_int_eq(svc_reg_rule_add(r, &p, SVC_ACT_FORWARD, hops, 2, &err), 0);
	ck_assert_int_eq(svc_reg_prefix_add(r, &sp, &err), 0);
	ck_assert_int_eq(svc_reg_src_set(r, &src, &err), 0);
	ck_assert_int_eq(svc_reg_decap_add(r, &dec, &err), 0);
	ck_assert_int_eq(svc_reg_attach_add(r, "veth0", 0, 1, &err), 0);
}

START_TEST(test_ids)
{
	struct svc_reg r;
	struct svc_sid s1 = sid_of("2001:db8:5::1"), s2 = sid_of("2001:db8:5::2");
	struct svc_reg_service *a, *b;
	struct svc_reg_rule *ru;

	populate(&r);
	a = svc_reg_service_find(&r, &s1);
	b = svc_reg_service_find(&r, &s2);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ru = &r.rules[0];
	/* Distinct, non-zero ids everywhere. */
	ck_assert_uint_ne(a->rule_id, 0);
	ck_assert_uint_ne(a->set_id, 0);
	ck_assert_uint_ne(a->rule_id, b->rule_id);
	ck_assert_uint_ne(a->set_id, b->set_id);
	ck_assert_uint_ne(ru->rule_id, a->rule_id);
	ck_assert_uint_ne(ru->rule_id, b->rule_id);
	ck_assert_uint_ne(ru->set_id, a->set_id);
	ck_assert_uint_ne(ru->set_id, b->set_id);
	/* One next-hop id per address, shared by everything that uses it. */
	ck_assert_uint_eq(r.n_nexthops, 3);
	ck_assert_uint_ne(svc_reg_nh_id(&r, &r.instances[0].addr), 0);
	ck_assert_uint_eq(svc_reg_nh_id(&r, &r.instances[0].addr),
			  svc_reg_nh_id(&r, &r.rules[0].hops[0].addr));
	svc_reg_free(&r);
}
END_TEST

/* A deleted id is not reused by the next allocation (counters and flows may still point at it). */
START_TEST(test_id_reuse_late)
{
	struct svc_sid s3 = sid_of("2001:db8:5::3"), s4 = sid_of("2001:db8:5::4");
	struct svc_reg r;
	struct svc_err err;
	__u32 old;

	svc_reg_init(&r);
	ck_assert_int_eq(svc_reg_service_add(&r, &s3, NULL, &err), 0);
	old = r.services[0].rule_id;
	ck_assert_int_eq(svc_reg_service_del(&r, &s3, &err), 0);
	ck_assert_int_eq(svc_reg_service_add(&r, &s4, NULL, &err), 0);
	ck_assert_uint_ne(r.services[0].rule_id, old);
	svc_reg_free(&r);
}
END_TEST

/* Rejected operations, each with its error class and message, leave the registry unchanged. */
START_TEST(test_errors_change_nothing)
{
	struct svc_sid s1 = sid_of("2001:db8:5::1"), s9 = sid_of("2001:db8:5::9");
	struct svc_addr a1 = addr_of("10.0.1.2"), zero = addr_of("0.0.0.0"),
			a3 = addr_of("10.0.3.3");
	struct svc_binding_key b = binding_of("198.19.0.10:80/tcp");
	struct svc_lpm_key own = prefix_of("2001:db8:5::1/128"), p = prefix_of("2001:db8:6::/48");
	struct svc_reg_hop dup[2] = { { addr_of("10.0.1.2"), 1 }, { addr_of("10.0.1.2"), 2 } };
	struct svc_reg_hop hop = { addr_of("10.0.7.7"), 1 };
	struct svc_reg r;
	struct svc_err err;
	json_object *before, *after;

	populate(&r);
	before = svc_reg_to_json(&r);
#define REJECT(call, code_, text)                                                                  \
	do {                                                                                       \
		memset(&err, 0, sizeof(err));                                                      \
		ck_assert_int_eq(call, -1);                                                        \
		ck_assert_msg(err.code == code_, "%s: code %s (%s)", #call,                        \
			      svc_api_code_name(err.code), err.msg);                               \
		ck_assert_msg(strstr(err.msg, text), "%s: '%s' lacks '%s'", #call, err.msg, text); \
	} while (0)
	REJECT(svc_reg_service_add(&r, &s1, NULL, &err), SVC_API_EXISTS, "exists");
	REJECT(svc_reg_service_add(&r, &s9, "web", &err), SVC_API_EXISTS, "name 'web' is taken");
	REJECT(svc_reg_service_add(&r, &s9, "bad name", &err), SVC_API_INVALID, "invalid");
	REJECT(svc_reg_service_del(&r, &s9, &err), SVC_API_NOT_FOUND, "no service 2001:db8:5::9");
	REJECT(svc_reg_service_del(&r, &s1, &err), SVC_API_INVALID, "1 binding");
	REJECT(svc_reg_instance_add(&r, &s9, &a1, 1, NULL, &err), SVC_API_NOT_FOUND, "no service");
	REJECT(svc_reg_instance_add(&r, &s1, &a1, 1, NULL, &err), SVC_API_EXISTS, "10.0.1.2");
	REJECT(svc_reg_instance_add(&r, &s1, &a3, 0, NULL, &err), SVC_API_INVALID, "weight 0");
	REJECT(svc_reg_instance_add(&r, &s1, &a3, 1001, NULL, &err), SVC_API_INVALID, "weight");
	REJECT(svc_reg_instance_add(&r, &s1, &zero, 1, NULL, &err), SVC_API_INVALID, "unspecified");
	REJECT(svc_reg_instance_set(&r, &s1, &a3, 2, -1, &err), SVC_API_NOT_FOUND, "no instance");
	REJECT(svc_reg_instance_set(&r, &s1, &a1, 0, -1, &err), SVC_API_INVALID, "nothing to set");
	REJECT(svc_reg_instance_set(&r, &s1, &a1, 2000, 1, &err), SVC_API_INVALID, "weight");
	REJECT(svc_reg_instance_del(&r, &s1, &a3, &err), SVC_API_NOT_FOUND, "no instance");
	REJECT(svc_reg_binding_add(&r, &b, &s1, &err), SVC_API_EXISTS, "exists");
	REJECT(svc_reg_binding_add(&r, &(struct svc_binding_key){ .vip = a3, .proto = 6 }, &s9,
				   &err),
	       SVC_API_NOT_FOUND, "no service");
	REJECT(svc_reg_binding_add(&r, &(struct svc_binding_key){ .vip = a3, .proto = 1 }, &s1,
				   &err),
	       SVC_API_INVALID, "tcp or udp");
	REJECT(svc_reg_binding_del(&r, &(struct svc_binding_key){ .vip = a3, .proto = 6 }, &err),
	       SVC_API_NOT_FOUND, "no binding");
	REJECT(svc_reg_rule_add(&r, &p, SVC_ACT_DROP, NULL, 0, &err), SVC_API_EXISTS, "exists");
	REJECT(svc_reg_rule_add(&r, &own, SVC_ACT_DROP, NULL, 0, &err), SVC_API_EXISTS, "own rule");
	REJECT(svc_reg_rule_add(&r, &(struct svc_lpm_key){ 64 }, SVC_ACT_FORWARD, NULL, 0, &err),
	       SVC_API_INVALID, "forward needs");
	REJECT(svc_reg_rule_add(&r, &(struct svc_lpm_key){ 64 }, SVC_ACT_DROP, &hop, 1, &err),
	       SVC_API_INVALID, "takes no next hops");
	REJECT(svc_reg_rule_add(&r, &(struct svc_lpm_key){ 64 }, SVC_ACT_FORWARD, dup, 2, &err),
	       SVC_API_INVALID, "given twice");
	REJECT(svc_reg_rule_add(&r, &(struct svc_lpm_key){ 64 }, 9, NULL, 0, &err), SVC_API_INVALID,
	       "unknown rule action");
	REJECT(svc_reg_rule_del(&r, &own, &err), SVC_API_INVALID, "service's own rule");
	REJECT(svc_reg_rule_del(&r, &(struct svc_lpm_key){ 64 }, &err), SVC_API_NOT_FOUND,
	       "no rule");
	REJECT(svc_reg_prefix_add(&r, &r.prefixes[0], &err), SVC_API_EXISTS, "exists");
	REJECT(svc_reg_prefix_del(&r, &p, &err), SVC_API_NOT_FOUND, "no prefix");
	REJECT(svc_reg_decap_add(&r, &r.decaps[0], &err), SVC_API_EXISTS, "exists");
	REJECT(svc_reg_decap_del(&r, &a3, &err), SVC_API_NOT_FOUND, "no decap source");
	REJECT(svc_reg_src_set(&r, &zero, &err), SVC_API_INVALID, "unspecified");
	REJECT(svc_reg_attach_add(&r, "veth0", 1, 0, &err), SVC_API_EXISTS, "attached already");
	REJECT(svc_reg_attach_add(&r, "a/b", 1, 0, &err), SVC_API_INVALID, "interface name");
	REJECT(svc_reg_attach_del(&r, "veth9", &err), SVC_API_NOT_FOUND, "veth9");
#undef REJECT
	after = svc_reg_to_json(&r);
	ck_assert_msg(json_object_equal(before, after), "registry changed:\n%s\n%s",
		      json_object_to_json_string(before), json_object_to_json_string(after));
	json_object_put(before);
	json_object_put(after);
	svc_reg_free(&r);
}
END_TEST

/* to_json -> from_json restores everything, ids included. */
START_TEST(test_json_round_trip)
{
	struct svc_reg r, r2;
	struct svc_err err;
	json_object *j1, *j2;
	const char *text;

	populate(&r);
	j1 = svc_reg_to_json(&r);
	ck_assert_ptr_nonnull(j1);
	text = json_object_to_json_string(j1);
	j2 = json_tokener_parse(text);
	ck_assert_int_eq(svc_reg_from_json(&r2, j2, &err), 0);
	json_object_put(j2);
	j2 = svc_reg_to_json(&r2);
	ck_assert_msg(json_object_equal(j1, j2), "%s\n%s", text, json_object_to_json_string(j2));
	ck_assert_uint_eq(r2.services[0].rule_id, r.services[0].rule_id);
	ck_assert_uint_eq(r2.rules[0].set_id, r.rules[0].set_id);
	ck_assert_uint_eq(svc_reg_nh_id(&r2, &r.nexthops[2].addr), r.nexthops[2].id);
	ck_assert_uint_eq(r2.next_nh, r.next_nh);
	ck_assert(!r2.instances[1].up);
	json_object_put(j1);
	json_object_put(j2);
	svc_reg_free(&r);
	svc_reg_free(&r2);
}
END_TEST

/*
 * An instance whose host runs no svcplane (strip_opts) makes its address's
 * next hop SVC_NH_F_STRIP_OPTS while up; the setting survives the state file.
 */
START_TEST(test_strip_opts)
{
	struct svc_sid s1 = sid_of("2001:db8:5::1");
	struct svc_addr a1 = addr_of("10.0.1.2"), a2 = addr_of("2001:db8:18:2::2");
	struct svc_reg r, r2;
	struct svc_err err;
	json_object *j, *j0;

	populate(&r);
	ck_assert_uint_eq(svc_reg_nh_flags(&r, &a1), SVC_NH_F_UP);
	svc_reg_instance_find(&r, &s1, &a1)->strip_opts = true;
	ck_assert_uint_eq(svc_reg_nh_flags(&r, &a1), SVC_NH_F_UP | SVC_NH_F_STRIP_OPTS);
	/* a2 is down but keeps its flows: still up, and no strip asked for it */
	ck_assert_uint_eq(svc_reg_nh_flags(&r, &a2), SVC_NH_F_UP);
	j0 = svc_reg_to_json(&r);
	j = json_tokener_parse(json_object_to_json_string(j0));
	json_object_put(j0);
	ck_assert_int_eq(svc_reg_from_json(&r2, j, &err), 0);
	ck_assert(svc_reg_instance_find(&r2, &s1, &a1)->strip_opts);
	ck_assert(!svc_reg_instance_find(&r2, &s1, &a2)->strip_opts);
	ck_assert_uint_eq(svc_reg_nh_flags(&r2, &a1), SVC_NH_F_UP | SVC_NH_F_STRIP_OPTS);
	json_object_put(j);
	svc_reg_free(&r);
	svc_reg_free(&r2);
}
END_TEST

/* TI-flow settings: validated, duplicates refused, kept through the state file and a rollback. */
START_TEST(test_tiflow)
{
	struct svc_reg_tiflow_sel sel, any_port;
	struct svc_reg r, r2, backup;
	struct svc_err err;
	json_object *j, *j0;
	char b[80];

	svc_reg_init(&r);
	ck_assert(!svc_reg_tiflow_configured(&r));
	ck_assert_int_eq(svc_reg_tiflow_enable(&r, "relative", &err), -1);
	ck_assert_int_eq(err.code, SVC_API_INVALID);
	ck_assert_int_eq(svc_reg_tiflow_enable(&r, "/sys/fs/cgroup/a/..", &err), -1);
	ck_assert_int_eq(svc_reg_tiflow_enable(&r, "/sys/fs/cgroup/a", &err), 0);
	ck_assert_int_eq(svc_reg_tiflow_enable(&r, "/sys/fs/cgroup/a", &err), -1);
	ck_assert_int_eq(err.code, SVC_API_EXISTS);
	ck_assert_int_eq(svc_reg_tiflow_enable(&r, "/sys/fs/cgroup/b", &err), 0);
	ck_assert_int_eq(svc_reg_tiflow_set(&r, 65536, -1, -1, &err), -1);
	ck_assert_int_eq(svc_reg_tiflow_set(&r, -1, 1, -1, &err), -1);
	ck_assert_int_eq(svc_reg_tiflow_set(&r, 77, 200, SVC_TIFLOW_ROLES_RESPONDER, &err), 0);
	ck_assert_int_eq(svc_reg_tiflow_set(&r, -1, -1, -1, &err), 0); /* unchanged */
	ck_assert_uint_eq(r.tiflow.instance_id, 77);
	ck_assert_uint_eq(r.tiflow.kind, 200);
	ck_assert_int_eq(svc_tiflow_sel_parse("10.0.1.2:8080", &sel), 0);
	ck_assert_str_eq(svc_tiflow_sel_format(&sel, b, sizeof(b)), "10.0.1.2:8080");
	ck_assert_int_eq(svc_tiflow_sel_parse(":443", &any_port), 0);
	ck_assert(any_port.any_addr);
	ck_assert_int_eq(svc_tiflow_sel_parse("[2001:db8::1]:80", &sel), 0);
	ck_assert_str_eq(svc_tiflow_sel_format(&sel, b, sizeof(b)), "[2001:db8::1]:80");
	ck_assert_int_eq(svc_tiflow_sel_parse("::", &sel),
			 -EINVAL); /* "any" written as an address */
	ck_assert_int_eq(svc_tiflow_sel_parse("10.0.1.2:8080", &sel), 0);
	ck_assert_int_eq(svc_reg_tiflow_select_add(&r, &sel, &err), 0);
	ck_assert_int_eq(svc_reg_tiflow_select_add(&r, &sel, &err), -1);
	ck_assert_int_eq(err.code, SVC_API_EXISTS);
	ck_assert_int_eq(svc_reg_tiflow_select_add(&r, &any_port, &err), 0);
	ck_assert(svc_reg_tiflow_configured(&r));

	/* Through the state file. */
	j0 = svc_reg_to_json(&r);
	j = json_tokener_parse(json_object_to_json_string(j0));
	ck_assert_int_eq(svc_reg_from_json(&r2, j, &err), 0);
	ck_assert_uint_eq(r2.tiflow.n_cgroups, 2);
	ck_assert_str_eq(r2.tiflow.cgroups[1], "/sys/fs/cgroup/b");
	ck_assert_uint_eq(r2.tiflow.n_select, 2);
	ck_assert_uint_eq(r2.tiflow.instance_id, 77);
	ck_assert_uint_eq(r2.tiflow.roles, SVC_TIFLOW_ROLES_RESPONDER);
	json_object_put(j);
	svc_reg_free(&r2);

	/* A rollback restores the previous settings. */
	ck_assert_int_eq(svc_reg_dup(&backup, &r), 0);
	ck_assert_int_eq(svc_reg_tiflow_disable(&r, "/sys/fs/cgroup/a", &err), 0);
	ck_assert_int_eq(svc_reg_tiflow_disable(&r, "/sys/fs/cgroup/a", &err), -1);
	ck_assert_int_eq(err.code, SVC_API_NOT_FOUND);
	ck_assert_int_eq(svc_reg_tiflow_select_del(&r, &sel, &err), 0);
	ck_assert_str_eq(r.tiflow.cgroups[0], "/sys/fs/cgroup/b");
	svc_reg_swap(&r, &backup);
	svc_reg_free(&backup);
	j = svc_reg_to_json(&r);
	ck_assert(json_object_equal(j, j0));
	json_object_put(j);
	json_object_put(j0);
	svc_reg_free(&r);

	/* A state file without "tiflow" (older agent) loads with TI-flow off. */
	svc_reg_init(&r);
	j = svc_reg_to_json(&r);
	json_object_object_del(j, "tiflow");
	ck_assert_int_eq(svc_reg_from_json(&r2, j, &err), 0);
	ck_assert(!svc_reg_tiflow_configured(&r2));
	json_object_put(j);
	svc_reg_free(&r2);
	svc_reg_free(&r);
}
END_TEST

/* Direct-path settings: validated, kept through the state file. */
START_TEST(test_direct)
{
	struct svc_addr vip = addr_of("198.19.0.10"), h1 = addr_of("10.0.1.2"),
			h2 = addr_of("2001:db8:18:2::2");
	struct svc_reg r, r2;
	struct svc_err err;
	json_object *j, *j0;

	svc_reg_init(&r);
	ck_assert(!svc_reg_direct_configured(&r));
	ck_assert_int_eq(svc_reg_direct_iface_set(&r, "a/b", SVC_DIRECT_ROLE_CLIENT, -1, &err), -1);
	ck_assert_int_eq(svc_reg_direct_iface_set(&r, "eth0", SVC_DIRECT_ROLE_CLIENT, -1, &err), 0);
	/* The same interface again changes its role. */
	ck_assert_int_eq(svc_reg_direct_iface_set(&r, "eth0", SVC_DIRECT_ROLE_INSTANCE, 9, &err),
			 0);
	ck_assert_uint_eq(r.direct.n_ifaces, 1);
	ck_assert_uint_eq(r.direct.ifaces[0].role, SVC_DIRECT_ROLE_INSTANCE);
	ck_assert_uint_eq(r.direct.instance_id, 9);
	ck_assert_int_eq(svc_reg_direct_vip_add(&r, &vip, &err), 0);
	ck_assert_int_eq(svc_reg_direct_vip_add(&r, &vip, &err), -1);
	ck_assert_int_eq(err.code, SVC_API_EXISTS);
	ck_assert_int_eq(svc_reg_direct_map_set(&r, 0, &h1, &err), -1);
	ck_assert_int_eq(svc_reg_direct_map_set(&r, 65536, &h1, &err), -1);
	ck_assert_int_eq(svc_reg_direct_map_set(&r, 3, &h1, &err), 0);
	ck_assert_int_eq(svc_reg_direct_map_set(&r, 3, &h2, &err), 0); /* replaces */
	ck_assert_int_eq(svc_reg_direct_map_set(&r, 4, &h1, &err), 0);
	ck_assert_uint_eq(r.direct.n_map, 2);
	j0 = svc_reg_to_json(&r);
	j = json_tokener_parse(json_object_to_json_string(j0));
	ck_assert_int_eq(svc_reg_from_json(&r2, j, &err), 0);
	ck_assert_str_eq(r2.direct.ifaces[0].iface, "eth0");
	ck_assert_uint_eq(r2.direct.ifaces[0].role, SVC_DIRECT_ROLE_INSTANCE);
	ck_assert_uint_eq(r2.direct.instance_id, 9);
	ck_assert_uint_eq(r2.direct.n_vips, 1);
	ck_assert_uint_eq(r2.direct.map[0].id, 3);
	ck_assert(!memcmp(&r2.direct.map[0].addr, &h2, sizeof(h2)));
	json_object_put(j);
	json_object_put(j0);
	svc_reg_free(&r2);
	ck_assert_int_eq(svc_reg_direct_map_del(&r, 3, &err), 0);
	ck_assert_int_eq(svc_reg_direct_map_del(&r, 3, &err), -1);
	ck_assert_int_eq(err.code, SVC_API_NOT_FOUND);
	ck_assert_int_eq(svc_reg_direct_iface_del(&r, "eth0", &err), 0);
	ck_assert_int_eq(svc_reg_direct_iface_del(&r, "eth0", &err), -1);
	ck_assert_int_eq(svc_reg_direct_vip_del(&r, &vip, &err), 0);
	ck_assert_uint_eq(r.direct.n_map, 1);
	svc_reg_free(&r);
}
END_TEST

/* Corrupted or inconsistent state JSON is refused with a reason. */
static const struct {
	const char *find, *replace, *msg;
} bad_json[] = {
	{ "\"format\":1", "\"format\":2", "format" },
	{ "\"sid\":\"2001:db8:5::1\"", "\"sid\":\"2001:db8:5::zz\"", "invalid serviceID" },
	{ "\"weight\":2", "\"weight\":0", "weight" },
	{ "\"state\":\"down\"", "\"state\":\"sleepy\"", "sleepy" },
	{ "\"action\":\"forward\"", "\"action\":\"shove\"", "shove" },
	{ "\"services\":[", "\"services\":7,\"x\":[", "services" },
	{ "\"binding\":\"198.19.0.10:80/tcp\"", "\"binding\":\"198.19.0.10:80\"", "binding" },
	{ "\"prog\":\"router\"", "\"prog\":\"bridge\"", "unknown program" },
	{ "\"ipv4\":\"10.0.0.1\"", "\"ipv4\":\"2001:db8::1\"", "wrong family" },
	{ "\"next_ids\"", "\"next_idz\"", "next_ids" },
	{ "\"roles\":\"both\"", "\"roles\":\"all\"", "roles" },
	{ "\"kind\":0", "\"kind\":1", "invalid kind 1" },
	{ "\"cgroups\":[]", "\"cgroups\":[\"rel\"]", "invalid cgroup 'rel'" },
	{ "\"select\":[]", "\"select\":[\":0\"]", "tiflow.select[]: invalid selection" },
	{ "\"ifaces\":[]", "\"ifaces\":[{\"iface\":\"eth0\",\"role\":\"router\"}]",
	  "invalid direct role" },
	{ "\"map\":[]", "\"map\":[{\"id\":0,\"addr\":\"10.0.0.1\"}]", "invalid instance id 0" },
};

START_TEST(test_json_bad)
{
	struct svc_reg r, r2;
	struct svc_err err = { 0 };
	json_object *j;
	char *text, *pos, *mod;

	populate(&r);
	j = svc_reg_to_json(&r);
	text = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	pos = strstr(text, bad_json[_i].find);
	ck_assert_msg(pos, "'%s' not in %s", bad_json[_i].find, text);
	mod = malloc(strlen(text) + strlen(bad_json[_i].replace) + 1);
	memcpy(mod, text, (size_t)(pos - text));
	strcpy(mod + (pos - text), bad_json[_i].replace);
	strcat(mod, pos + strlen(bad_json[_i].find));
	json_object_put(j);
	j = json_tokener_parse(mod);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(svc_reg_from_json(&r2, j, &err), -1);
	ck_assert_msg(strstr(err.msg, bad_json[_i].msg), "'%s' lacks '%s'", err.msg,
		      bad_json[_i].msg);
	ck_assert_uint_eq(r2.n_services, 0);
	json_object_put(j);
	free(text);
	free(mod);
	svc_reg_free(&r);
}
END_TEST

/* svc_reg_dup makes an independent copy: the rollback path of the agent. */
START_TEST(test_dup_rollback)
{
	struct svc_sid s1 = sid_of("2001:db8:5::1");
	struct svc_addr a3 = addr_of("10.0.3.3");
	struct svc_reg r, backup;
	struct svc_err err;
	json_object *j1, *j2;

	populate(&r);
	j1 = svc_reg_to_json(&r);
	ck_assert_int_eq(svc_reg_dup(&backup, &r), 0);
	ck_assert_int_eq(svc_reg_instance_add(&r, &s1, &a3, 1, NULL, &err), 0);
	ck_assert_int_eq(svc_reg_rule_del(&r, &r.rules[0].prefix, &err), 0);
	svc_reg_swap(&r, &backup); /* roll back */
	svc_reg_free(&backup);
	j2 = svc_reg_to_json(&r);
	ck_assert(json_object_equal(j1, j2));
	json_object_put(j1);
	json_object_put(j2);
	svc_reg_free(&r);
}
END_TEST

/* Next-hop ids outlive their last user until released (flows drain); then they are freed. */
START_TEST(test_nh_release)
{
	struct svc_sid s2 = sid_of("2001:db8:5::2");
	struct svc_addr a9 = addr_of("10.0.9.9"), a1 = addr_of("10.0.1.2");
	struct svc_reg r;
	struct svc_err err;
	__u32 id9;

	populate(&r);
	id9 = svc_reg_nh_id(&r, &a9);
	ck_assert_uint_ne(id9, 0);
	ck_assert(svc_reg_nh_used(&r, &a9));
	ck_assert_int_eq(svc_reg_nh_release(&r, id9), -EBUSY);
	ck_assert_int_eq(svc_reg_rule_del(&r, &r.rules[0].prefix, &err), 0);
	ck_assert(!svc_reg_nh_used(&r, &a9));
	ck_assert_uint_eq(svc_reg_nh_id(&r, &a9), id9); /* kept until released */
	ck_assert_int_eq(svc_reg_nh_release(&r, id9), 0);
	ck_assert_uint_eq(svc_reg_nh_id(&r, &a9), 0);
	ck_assert_int_eq(svc_reg_nh_release(&r, id9), -ENOENT);
	/* Deleting a service drops its instances; the address stays used by service 1. */
	ck_assert_int_eq(svc_reg_service_del(&r, &s2, &err), 0);
	ck_assert(svc_reg_nh_used(&r, &a1));
	svc_reg_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("registry");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_ids);
	tcase_add_test(tc, test_strip_opts);
	tcase_add_test(tc, test_tiflow);
	tcase_add_test(tc, test_direct);
	tcase_add_test(tc, test_id_reuse_late);
	tcase_add_test(tc, test_errors_change_nothing);
	tcase_add_test(tc, test_json_round_trip);
	tcase_add_loop_test(tc, test_json_bad, 0, sizeof(bad_json) / sizeof(bad_json[0]));
	tcase_add_test(tc, test_dup_rollback);
	tcase_add_test(tc, test_nh_release);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
