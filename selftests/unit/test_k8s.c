// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of svcplane-k8s's pure parts: conditions, Service + EndpointSlices -> desired state,
 * cache, kubeconfig. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "k8s.h"

static json_object *js(const char *s)
{
	json_object *o = json_tokener_parse(s);

	ck_assert_msg(o != NULL, "fixture is not JSON: %s", s);
	return o;
}

/* svc(ns, name, annotations-json, ports-json) */
static char *svc_json(const char *ns, const char *name, const char *ann, const char *ports)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\",\"resourceVersion\":\"5\","
		 "\"annotations\":%s},\"spec\":{\"clusterIPs\":[\"10.96.0.10\",\"fd00::10\"],"
		 "\"ports\":%s}}",
		 ns, name, ann, ports);
	return buf;
}

/* slice(ns, name, service, type, endpoints-json) */
static char *slice_json(const char *ns, const char *name, const char *svc, const char *type,
			const char *eps)
{
	static char buf[8192];

	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\",\"resourceVersion\":\"6\","
		 "\"labels\":{\"kubernetes.io/service-name\":\"%s\"}},\"addressType\":\"%s\","
		 "\"endpoints\":%s,\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}",
		 ns, name, svc, type, eps);
	return buf;
}

#define EP(addr, pod, cond)                                                                    \
	"{\"addresses\":[\"" addr "\"],\"targetRef\":{\"kind\":\"Pod\",\"name\":\"" pod "\"}," \
	"\"conditions\":" cond "}"
#define READY "{\"ready\":true,\"serving\":true,\"terminating\":false}"
#define NOTREADY "{\"ready\":false,\"serving\":false,\"terminating\":false}"
#define DRAINING "{\"ready\":false,\"serving\":true,\"terminating\":true}"
#define DYING "{\"ready\":false,\"serving\":false,\"terminating\":true}"

#define ANN                                    \
	"{\"svcplane.io/vip\":\"198.19.0.10, " \
	"2001:db8:19::10\",\"svcplane.io/sid\":\"2001:db8:5::1\"}"
#define PORTS "[{\"port\":80,\"protocol\":\"TCP\"},{\"port\":53,\"protocol\":\"UDP\"}]"

static int n_warn;
static char last_warn[512];
static void warn(const char *key, const char *msg)
{
	n_warn++;
	snprintf(last_warn, sizeof(last_warn), "%s: %s", key, msg);
}

/* build - desired state of one array of services and one of slices. */
static void build(json_object *svcs, json_object *slices, struct k8s_desired *d)
{
	n_warn = 0;
	last_warn[0] = '\0';
	ck_assert_int_eq(k8s_desired_build(svcs, slices, d, warn), 0);
	json_object_put(svcs);
	json_object_put(slices);
}

static json_object *arr1(const char *a)
{
	json_object *arr = json_object_new_array();

	json_object_array_add(arr, js(a));
	return arr;
}

static void arr_add(json_object *arr, const char *a)
{
	json_object_array_add(arr, js(a));
}

START_TEST(test_conditions)
{
	static const struct {
		const char *cond;
		enum k8s_inst_state want;
	} t[] = {
		{ READY, K8S_INST_SERVING },
		{ NOTREADY, K8S_INST_GONE },
		{ DRAINING, K8S_INST_DRAIN },
		{ DYING, K8S_INST_GONE },
		{ "{}", K8S_INST_SERVING },		      /* absent ready = true */
		{ "{\"ready\":null}", K8S_INST_SERVING },     /* null = absent */
		{ "{\"terminating\":true}", K8S_INST_DRAIN }, /* serving defaults to ready */
		{ "{\"ready\":false}", K8S_INST_GONE },	      /* serving defaults to ready */
		{ "{\"ready\":false,\"serving\":true}",
		  K8S_INST_GONE }, /* not ready, not terminating */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		json_object *c = js(t[i].cond);

		ck_assert_msg(k8s_endpoint_state(c) == t[i].want, "conditions %s: %d, want %d",
			      t[i].cond, k8s_endpoint_state(c), t[i].want);
		json_object_put(c);
	}
	ck_assert_int_eq(k8s_endpoint_state(NULL), K8S_INST_SERVING);
}
END_TEST

START_TEST(test_three_endpoints)
{
	struct k8s_desired d;
	const struct k8s_service *s;

	build(arr1(svc_json("web", "front", ANN, PORTS)),
	      arr1(slice_json("web", "front-abc", "front", "IPv4",
			      "[" EP("198.18.1.2", "front-1", READY) "," EP(
				      "198.18.3.2", "front-3",
				      READY) "," EP("198.18.2.2", "front-2", READY) "]")),
	      &d);
	ck_assert_int_eq(n_warn, 0);
	ck_assert_int_eq(d.n, 1);
	s = k8s_desired_find(&d, "2001:db8:5::1");
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->key, "web/front");
	ck_assert_str_eq(s->name, "k8s.web.front");
	ck_assert_int_eq(s->n_bindings, 4);
	/* sorted as strings */
	ck_assert_str_eq(s->bindings[0], "198.19.0.10:53/udp");
	ck_assert_str_eq(s->bindings[1], "198.19.0.10:80/tcp");
	ck_assert_str_eq(s->bindings[2], "[2001:db8:19::10]:53/udp");
	ck_assert_str_eq(s->bindings[3], "[2001:db8:19::10]:80/tcp");
	ck_assert_int_eq(s->n_inst, 3);
	for (int i = 0; i < 3; i++) {
		char addr[32], name[32];

		snprintf(addr, sizeof(addr), "198.18.%d.2", i + 1);
		snprintf(name, sizeof(name), "front-%d", i + 1);
		ck_assert_str_eq(s->inst[i].addr, addr);
		ck_assert_str_eq(s->inst[i].name, name);
		ck_assert_int_eq(s->inst[i].weight, 1);
		ck_assert_int_eq(s->inst[i].state, K8S_INST_SERVING);
	}
	ck_assert_ptr_null(k8s_desired_find(&d, "2001:db8:5::2"));
	k8s_desired_free(&d);
}
END_TEST

START_TEST(test_merge_dual_stack)
{
	struct k8s_desired d;
	const struct k8s_service *s;
	json_object *slices = json_object_new_array();

	/* two IPv4 slices (one endpoint moving: not ready in the old, ready in the new),
	 * an IPv6 slice, an FQDN slice (ignored), another Service's slice with the same
	 * name in another namespace (ignored) */
	arr_add(slices, slice_json("web", "front-a", "front", "IPv4",
				   "[" EP("198.18.1.2", "p1", READY) "," EP("198.18.2.2", "p2",
									    NOTREADY) "]"));
	arr_add(slices, slice_json("web", "front-b", "front", "IPv4",
				   "[" EP("198.18.2.2", "p2", READY) "," EP(
					   "198.18.3.2", "p3", DRAINING) "," EP("198.18.4.2", "p4",
										DYING) "]"));
	arr_add(slices, slice_json("web", "front-6", "front", "IPv6",
				   "[" EP("2001:db8:18:1:0::2", "p1", READY) "]"));
	arr_add(slices, slice_json("web", "front-f", "front", "FQDN",
				   "[" EP("a.example", "p9", READY) "]"));
	arr_add(slices, slice_json("other", "front-x", "front", "IPv4",
				   "[" EP("198.18.9.2", "x", READY) "]"));
	build(arr1(svc_json("web", "front", ANN, PORTS)), slices, &d);
	ck_assert_int_eq(n_warn, 0);
	s = k8s_desired_find(&d, "2001:db8:5::1");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->n_inst, 4);
	ck_assert_str_eq(s->inst[0].addr, "198.18.1.2");
	ck_assert_int_eq(s->inst[0].state, K8S_INST_SERVING);
	ck_assert_str_eq(s->inst[1].addr, "198.18.2.2"); /* the best of its two slices */
	ck_assert_int_eq(s->inst[1].state, K8S_INST_SERVING);
	ck_assert_str_eq(s->inst[2].addr, "198.18.3.2");
	ck_assert_int_eq(s->inst[2].state, K8S_INST_DRAIN);
	ck_assert_str_eq(s->inst[3].addr, "2001:db8:18:1::2"); /* canonical form */
	ck_assert_int_eq(s->inst[3].state, K8S_INST_SERVING);
	k8s_desired_free(&d);
}
END_TEST

START_TEST(test_selection)
{
	struct k8s_desired d;
	json_object *svcs = json_object_new_array();

	arr_add(svcs, svc_json("a", "plain", "{}", PORTS)); /* not selected */
	arr_add(svcs, svc_json("a", "nosid", "{\"svcplane.io/vip\":\"198.19.0.1\"}", PORTS));
	arr_add(svcs,
		svc_json("a", "badvip",
			 "{\"svcplane.io/vip\":\"nope\",\"svcplane.io/sid\":\"2001:db8:5::3\"}",
			 PORTS));
	arr_add(svcs,
		svc_json(
			"a", "cip",
			"{\"svcplane.io/vip\":\"clusterIP\",\"svcplane.io/sid\":\"2001:db8:5::4\"}",
			"[{\"port\":443},{\"port\":9,\"protocol\":\"SCTP\"}]"));
	arr_add(svcs, svc_json("b", "dup",
			       "{\"svcplane.io/vip\":\"198.19.0.2\",\"svcplane.io/"
			       "sid\":\"2001:db8:5::4\"}",
			       PORTS));
	build(svcs, NULL, &d);
	ck_assert_int_eq(d.n, 1);
	ck_assert_str_eq(d.svc[0].sid, "2001:db8:5::4");
	ck_assert_str_eq(d.svc[0].key, "a/cip");
	/* clusterIP = spec.clusterIPs; protocol defaults to TCP; SCTP is skipped */
	ck_assert_int_eq(d.svc[0].n_bindings, 2);
	ck_assert_str_eq(d.svc[0].bindings[0], "10.96.0.10:443/tcp");
	ck_assert_str_eq(d.svc[0].bindings[1], "[fd00::10]:443/tcp");
	ck_assert_int_eq(d.svc[0].n_inst, 0);
	/* nosid, badvip, SCTP port, duplicate serviceID */
	ck_assert_int_eq(n_warn, 4);
	ck_assert_msg(strstr(last_warn, "b/dup") && strstr(last_warn, "a/cip"), "%s", last_warn);
	k8s_desired_free(&d);
}
END_TEST

START_TEST(test_weights)
{
	struct k8s_desired d;
	const char *ann =
		"{\"svcplane.io/vip\":\"198.19.0.10\",\"svcplane.io/sid\":\"2001:db8:5::1\","
		"\"svcplane.io/weights\":\"p1=3, 198.18.2.2=2,*=5\"}";
	const char *bad =
		"{\"svcplane.io/vip\":\"198.19.0.10\",\"svcplane.io/sid\":\"2001:db8:5::1\","
		"\"svcplane.io/weights\":\"p1=1001\"}";
	const char *eps = "[" EP("198.18.1.2", "p1", READY) "," EP(
		"198.18.2.2", "p2", READY) "," EP("198.18.3.2", "p3", READY) "]";

	build(arr1(svc_json("web", "front", ann, PORTS)),
	      arr1(slice_json("web", "s", "front", "IPv4", eps)), &d);
	ck_assert_int_eq(n_warn, 0);
	ck_assert_int_eq(d.svc[0].inst[0].weight, 3);
	ck_assert_int_eq(d.svc[0].inst[1].weight, 2);
	ck_assert_int_eq(d.svc[0].inst[2].weight, 5);
	k8s_desired_free(&d);

	build(arr1(svc_json("web", "front", bad, PORTS)),
	      arr1(slice_json("web", "s", "front", "IPv4", eps)), &d);
	ck_assert_int_eq(n_warn, 3); /* once per endpoint; svcplane-k8s prints each once */
	ck_assert_int_eq(d.svc[0].inst[0].weight, 1);
	k8s_desired_free(&d);
}
END_TEST

START_TEST(test_names)
{
	char out[SVC_NAME_MAX + 1], out2[SVC_NAME_MAX + 1];
	char longname[120];

	k8s_service_name("ns", "svc", out, sizeof(out));
	ck_assert_str_eq(out, "k8s.ns.svc");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	k8s_service_name("ns", longname, out, sizeof(out));
	ck_assert_int_eq(strlen(out), SVC_NAME_MAX);
	ck_assert(svc_name_valid(out));
	ck_assert(!strncmp(out, "k8s.ns.xxx", 10));
	longname[100] = 'y';
	k8s_service_name("ns", longname, out2, sizeof(out2));
	ck_assert_str_ne(out, out2); /* the hash tells them apart */
}
END_TEST

START_TEST(test_cache)
{
	struct k8s_cache c;
	json_object *items = json_object_new_array(), *ev, *snap;
	unsigned long gen0, gen;
	bool synced;

	k8s_cache_init(&c);
	snap = k8s_cache_snapshot(&c, &gen0, &synced);
	ck_assert(!synced);
	json_object_put(snap);
	arr_add(items,
		"{\"metadata\":{\"namespace\":\"n\",\"name\":\"b\",\"resourceVersion\":\"3\"}}");
	arr_add(items,
		"{\"metadata\":{\"namespace\":\"n\",\"name\":\"a\",\"resourceVersion\":\"2\"}}");
	k8s_cache_replace(&c, items, "10");
	json_object_put(items);
	ck_assert_str_eq(c.rv, "10");

	ev = js("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"namespace\":\"n\",\"name\":\"c\","
		"\"resourceVersion\":\"11\"}}}");
	ck_assert_int_eq(k8s_cache_event(&c, ev), 0);
	json_object_put(ev);
	ev = js("{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"namespace\":\"n\",\"name\":"
		"\"b\",\"resourceVersion\":\"12\"}}}");
	ck_assert_int_eq(k8s_cache_event(&c, ev), 0);
	json_object_put(ev);
	ev = js("{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"20\"}}}");
	ck_assert_int_eq(k8s_cache_event(&c, ev), 1);
	json_object_put(ev);
	ck_assert_str_eq(c.rv, "20");
	ev = js("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":"
		"\"Expired\"}}");
	ck_assert_int_eq(k8s_cache_event(&c, ev), -ESTALE);
	json_object_put(ev);
	ev = js("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500}}");
	ck_assert_int_eq(k8s_cache_event(&c, ev), -EPROTO);
	json_object_put(ev);
	ev = js("{\"type\":\"WHAT\",\"object\":{\"metadata\":{\"name\":\"z\"}}}");
	ck_assert_int_eq(k8s_cache_event(&c, ev), -EPROTO);
	json_object_put(ev);
	ck_assert_str_eq(c.rv, "20");

	snap = k8s_cache_snapshot(&c, &gen, &synced);
	ck_assert(synced);
	ck_assert(gen > gen0);
	ck_assert_int_eq(json_object_array_length(snap), 2);
	/* key order */
	ck_assert_str_eq(
		json_object_get_string(json_object_object_get(
			json_object_object_get(json_object_array_get_idx(snap, 0), "metadata"),
			"name")),
		"a");
	ck_assert_str_eq(
		json_object_get_string(json_object_object_get(
			json_object_object_get(json_object_array_get_idx(snap, 1), "metadata"),
			"name")),
		"c");
	json_object_put(snap);
	k8s_cache_fini(&c);
}
END_TEST

START_TEST(test_kubeconfig)
{
	char path[] = "/tmp/test_k8s_kubeconfig.XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	struct k8s_conn c;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs("apiVersion: v1\n"
	      "kind: Config\n"
	      "clusters:\n"
	      "- cluster:\n"
	      "    certificate-authority-data: aGVsbG8=\n"
	      "    server: https://other:6443\n"
	      "  name: other\n"
	      "- cluster:\n"
	      "    server: \"https://127.0.0.1:6443\"\n"
	      "    insecure-skip-tls-verify: true\n"
	      "  name: kind\n"
	      "contexts:\n"
	      "- context:\n"
	      "    cluster: kind\n"
	      "    user: admin\n"
	      "  name: kind-ctx\n"
	      "current-context: kind-ctx\n"
	      "users:\n"
	      "- name: admin\n"
	      "  user:\n"
	      "    token: abc.def\n",
	      f);
	fclose(f);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(k8s_conn_kubeconfig(&c, path), 0);
	ck_assert_str_eq(c.server, "https://127.0.0.1:6443");
	ck_assert(c.insecure);
	ck_assert_str_eq(c.token, "abc.def");
	ck_assert_ptr_null(c.ca_pem);
	k8s_conn_fini(&c);

	/* the other cluster: its CA data decoded */
	f = fopen(path, "w");
	fputs("clusters:\n- cluster:\n    certificate-authority-data: aGVsbG8=\n"
	      "    server: https://other:6443\n  name: other\n"
	      "contexts:\n- context:\n    cluster: other\n    user: u\n  name: c\n"
	      "current-context: c\n"
	      "users:\n- name: u\n  user:\n    tokenFile: tok/en\n",
	      f);
	fclose(f);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(k8s_conn_kubeconfig(&c, path), 0);
	ck_assert_str_eq(c.server, "https://other:6443");
	ck_assert_uint_eq(c.ca_pem_len, 5);
	ck_assert(!memcmp(c.ca_pem, "hello", 5));
	ck_assert_str_eq(c.token, "");
	/* a relative file reference is to the kubeconfig's directory */
	ck_assert_str_eq(c.token_file, "/tmp/tok/en");
	k8s_conn_fini(&c);

	/* a missing context is an error */
	f = fopen(path, "w");
	fputs("current-context: nope\n", f);
	fclose(f);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(k8s_conn_kubeconfig(&c, path), -EINVAL);
	k8s_conn_fini(&c);
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("k8s");
	TCase *tc = tcase_create("mapping");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_conditions);
	tcase_add_test(tc, test_three_endpoints);
	tcase_add_test(tc, test_merge_dual_stack);
	tcase_add_test(tc, test_selection);
	tcase_add_test(tc, test_weights);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_cache);
	tcase_add_test(tc, test_kubeconfig);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
