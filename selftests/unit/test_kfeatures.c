// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the kernel feature probes (agent/lib/kfeatures.c): the report
 * (log line, JSON, metrics) from given results, the probe list against the
 * helpers and map types the agent's BPF objects really use, and (as root) a
 * probe of this kernel.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "kfeatures.h"
#include "direct.skel.h"
#include "endpoint.skel.h"
#include "listen.skel.h"
#include "router.skel.h"
#include "tiflow.skel.h"

/* Everything available except live frames (refused), tcx (missing) and af_xdp (unknown). */
static void sample(struct svc_features *f)
{
	memset(f, 0, sizeof(*f));
	f->probed = true;
	for (int k = 0; k < SVC_FEAT_MAX; k++)
		f->r[k].state = SVC_FEAT_YES;
	f->r[SVC_FEAT_XDP_LIVE_FRAMES] = (struct svc_feat_result){
		SVC_FEAT_NO, -EPERM,
		"BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: Operation not permitted"
	};
	f->r[SVC_FEAT_TCX] = (struct svc_feat_result){ SVC_FEAT_NO, 0, "query tcx ingress" };
	f->r[SVC_FEAT_AF_XDP] =
		(struct svc_feat_result){ SVC_FEAT_UNKNOWN, -ENOMEM, "probe failed: XSKMAP" };
}

START_TEST(test_names_unique)
{
	for (int i = 0; i < SVC_FEAT_MAX; i++) {
		ck_assert_ptr_nonnull(svc_feat_info[i].name);
		ck_assert_ptr_nonnull(svc_feat_info[i].used_by);
		ck_assert_ptr_nonnull(svc_feat_info[i].without);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(svc_feat_info[i].name, svc_feat_info[j].name);
	}
	ck_assert_str_eq(svc_feat_info[SVC_FEAT_XDP_LIVE_FRAMES].name, "xdp_live_frames");
	ck_assert_str_eq(svc_feat_info[SVC_FEAT_TCX].name, "tcx");
}
END_TEST

START_TEST(test_summary)
{
	struct svc_features f;
	char buf[2048], small[16];
	int n;

	sample(&f);
	n = svc_features_summary(&f, buf, sizeof(buf));
	ck_assert_int_eq(n, (int)strlen(buf));
	ck_assert_msg(!strncmp(buf, "btf yes, xdp yes, maps yes, ", 28), "%s", buf);
	ck_assert_ptr_nonnull(strstr(buf, ", xdp_live_frames no (Operation not permitted), "));
	/* no errno: the detail says what is missing */
	ck_assert_ptr_nonnull(strstr(buf, ", tcx no (query tcx ingress), "));
	ck_assert_ptr_nonnull(strstr(buf, ", af_xdp unknown (Cannot allocate memory)"));
	ck_assert_ptr_null(strstr(buf, "yes ("));
	/* truncation: the full length is returned, the buffer stays a string */
	ck_assert_int_eq(svc_features_summary(&f, small, sizeof(small)), n);
	ck_assert_str_eq(small, "btf yes, xdp ye");
}
END_TEST

START_TEST(test_json)
{
	struct svc_features f;
	json_object *arr, *o, *v;

	sample(&f);
	arr = svc_features_json(&f);
	ck_assert_int_eq(json_object_array_length(arr), SVC_FEAT_MAX);
	for (int k = 0; k < SVC_FEAT_MAX; k++) {
		o = json_object_array_get_idx(arr, (size_t)k);
		ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "feature")),
				 svc_feat_info[k].name);
		ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "used_by")),
				 svc_feat_info[k].used_by);
	}
	o = json_object_array_get_idx(arr, SVC_FEAT_XDP_LIVE_FRAMES);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "state")), "no");
	ck_assert(json_object_object_get_ex(o, "available", &v) &&
		  json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "error")),
			 "Operation not permitted");
	ck_assert_ptr_nonnull(strstr(json_object_get_string(json_object_object_get(o, "detail")),
				     "BPF_F_TEST_XDP_LIVE_FRAMES"));
	o = json_object_array_get_idx(arr, SVC_FEAT_XDP);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "state")), "yes");
	ck_assert(json_object_get_boolean(json_object_object_get(o, "available")));
	ck_assert(json_object_object_get_ex(o, "error", &v) && v == NULL);
	o = json_object_array_get_idx(arr, SVC_FEAT_AF_XDP);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "state")), "unknown");
	ck_assert(json_object_object_get_ex(o, "available", &v) && v == NULL);
	json_object_put(arr);
}
END_TEST

START_TEST(test_metrics)
{
	struct svc_features f;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(m);
	sample(&f);
	svc_features_metrics(m, &f);
	ck_assert_int_eq(fclose(m), 0);
	ck_assert_ptr_nonnull(strstr(buf, "# TYPE svcplane_kernel_feature gauge\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nsvcplane_kernel_feature{feature=\"btf\"} 1\n"));
	ck_assert_ptr_nonnull(
		strstr(buf, "\nsvcplane_kernel_feature{feature=\"xdp_live_frames\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nsvcplane_kernel_feature{feature=\"af_xdp\"} -1\n"));
	free(buf);
}
END_TEST

START_TEST(test_available)
{
	struct svc_features f;

	sample(&f);
	ck_assert(svc_feat_available(&f, SVC_FEAT_XDP));
	ck_assert(!svc_feat_available(&f, SVC_FEAT_XDP_LIVE_FRAMES));
	ck_assert(!svc_feat_available(&f, SVC_FEAT_AF_XDP));
	f.probed = false; /* nothing is known before the probe ran */
	ck_assert(!svc_feat_available(&f, SVC_FEAT_XDP));
	ck_assert_str_eq(svc_feat_state_name(SVC_FEAT_YES), "yes");
	ck_assert_str_eq(svc_feat_state_name(SVC_FEAT_NO), "no");
	ck_assert_str_eq(svc_feat_state_name(SVC_FEAT_UNKNOWN), "unknown");
}
END_TEST

/* Every helper call and map type in @obj is one the probes check; returns the helper calls seen. */
static int check_object(struct bpf_object *obj, const char *what)
{
	struct bpf_program *p;
	struct bpf_map *m;
	int calls = 0;

	ck_assert_msg(obj != NULL, "open %s", what);
	bpf_object__for_each_program(p, obj)
	{
		const struct bpf_insn *insn = bpf_program__insns(p);
		size_t n = bpf_program__insn_cnt(p);

		for (size_t i = 0; i < n; i++) {
			/* helper calls only: subprogram (src 1) and kfunc (src 2) calls differ */
			if (insn[i].code != (BPF_JMP | BPF_CALL) || insn[i].src_reg != 0)
				continue;
			calls++;
			ck_assert_msg(svc_features_covers_helper(bpf_program__type(p), insn[i].imm),
				      "%s: program %s (%s) calls helper #%d, which no probe checks "
				      "(agent/lib/kfeatures.c feat_helpers)",
				      what, bpf_program__name(p),
				      libbpf_bpf_prog_type_str(bpf_program__type(p)), insn[i].imm);
		}
	}
	bpf_object__for_each_map(m, obj)
	{
		ck_assert_msg(svc_features_covers_map(bpf_map__type(m)),
			      "%s: map %s has type %s, which no probe checks", what,
			      bpf_map__name(m), libbpf_bpf_map_type_str(bpf_map__type(m)));
	}
	return calls;
}

/* Opening a skeleton parses its object; nothing is loaded (no privileges needed). */
START_TEST(test_objects_covered)
{
	struct router_bpf *r = router_bpf__open();
	struct endpoint_bpf *e = endpoint_bpf__open();
	struct direct_bpf *d = direct_bpf__open();
	struct tiflow_bpf *t = tiflow_bpf__open();
	struct listen_bpf *l = listen_bpf__open();

	ck_assert_int_gt(check_object(r ? r->obj : NULL, "router"), 5);
	ck_assert_int_gt(check_object(e ? e->obj : NULL, "endpoint"), 0);
	ck_assert_int_gt(check_object(d ? d->obj : NULL, "direct"), 5);
	ck_assert_int_gt(check_object(t ? t->obj : NULL, "tiflow"), 3);
	ck_assert_int_gt(check_object(l ? l->obj : NULL, "listen"), 1);
	/* the check can fail: a helper nothing probes */
	ck_assert(!svc_features_covers_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_skb_load_bytes));
	ck_assert(!svc_features_covers_map(BPF_MAP_TYPE_STACK_TRACE));
	router_bpf__destroy(r);
	endpoint_bpf__destroy(e);
	direct_bpf__destroy(d);
	tiflow_bpf__destroy(t);
	listen_bpf__destroy(l);
}
END_TEST

/* As root: this kernel. Whatever it refuses, every probe reaches a verdict. */
START_TEST(test_probe_this_kernel)
{
	struct svc_features f;
	char line[2048];

	if (geteuid() != 0) {
		fprintf(stderr, "# test_probe_this_kernel: not root, nothing probed\n");
		return;
	}
	memset(&f, 0, sizeof(f));
	svc_features_probe(&f);
	svc_features_summary(&f, line, sizeof(line));
	fprintf(stderr, "# this kernel: %s\n", line);
	ck_assert(f.probed);
	for (int k = 0; k < SVC_FEAT_MAX; k++) {
		ck_assert_msg(f.r[k].state != SVC_FEAT_UNKNOWN, "%s: %s", svc_feat_info[k].name,
			      f.r[k].detail);
		ck_assert_msg((f.r[k].state == SVC_FEAT_YES) == !f.r[k].detail[0], "%s: '%s'",
			      svc_feat_info[k].name, f.r[k].detail);
	}
	/* what the project's own tests need from any kernel they run on */
	ck_assert_msg(svc_feat_available(&f, SVC_FEAT_BTF), "%s", f.r[SVC_FEAT_BTF].detail);
	ck_assert_msg(svc_feat_available(&f, SVC_FEAT_XDP), "%s", f.r[SVC_FEAT_XDP].detail);
	ck_assert_msg(svc_feat_available(&f, SVC_FEAT_MAPS), "%s", f.r[SVC_FEAT_MAPS].detail);
	ck_assert_msg(svc_feat_available(&f, SVC_FEAT_RINGBUF), "%s", f.r[SVC_FEAT_RINGBUF].detail);
	ck_assert_msg(svc_feat_available(&f, SVC_FEAT_XDP_TEST_RUN), "%s",
		      f.r[SVC_FEAT_XDP_TEST_RUN].detail);
	ck_assert_msg(svc_feat_available(&f, SVC_FEAT_AF_PACKET), "%s",
		      f.r[SVC_FEAT_AF_PACKET].detail);
	/* a refused live run carries the kernel's errno */
	if (f.r[SVC_FEAT_XDP_LIVE_FRAMES].state == SVC_FEAT_NO)
		ck_assert_int_lt(f.r[SVC_FEAT_XDP_LIVE_FRAMES].err, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kfeatures");
	TCase *tc = tcase_create("report");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_names_unique);
	tcase_add_test(tc, test_summary);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_metrics);
	tcase_add_test(tc, test_available);
	tcase_add_test(tc, test_objects_covered);
	tcase_add_test(tc, test_probe_this_kernel);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
