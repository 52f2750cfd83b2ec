// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libsvc direct path (agent/lib/direct.h) against the kernel: tc attach on
 * clsact ingress and egress (seen through bpf_tc_query, independently of the
 * library), replace in place, detach, detach again (-ENOENT); maps pinned by
 * name in the data plane's pin directory and adopted by a second open (a
 * learnt connection and the configuration survive); unpin removes exactly
 * the direct pins; bad arguments are refused.
 */
#include <sys/stat.h>
#include "direct_test.h"

/* The program id on @ifindex/@ap with svcplane's handle and priority, read without libsvc. */
static __u32 tc_prog_id(int ifindex, enum bpf_tc_attach_point ap)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = ap);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SVC_DIRECT_TC_HANDLE,
		    .priority = SVC_DIRECT_TC_PRIO);

	return bpf_tc_query(&hook, &opts) ? 0 : opts.prog_id;
}

static __u32 fd_prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static void attach_detach(struct dtest *t)
{
	int ifindex = dtest_ifindex("tpmtu1");
	__u32 in_id = 0, eg_id = 0;

	if (!ifindex)
		return;
	if (!ASSERT_EQ(svc_direct_attached("tpmtu1", &in_id, &eg_id), 0, "not attached at first"))
		return;
	if (!ASSERT_OK(svc_direct_attach(t->d, "tpmtu1"), "svc_direct_attach"))
		return;
	ASSERT_EQ(tc_prog_id(ifindex, BPF_TC_INGRESS), fd_prog_id(t->ingress_fd),
		  "ingress program");
	ASSERT_EQ(tc_prog_id(ifindex, BPF_TC_EGRESS), fd_prog_id(t->egress_fd), "egress program");
	ASSERT_EQ(svc_direct_attached("tpmtu1", &in_id, &eg_id), 1, "svc_direct_attached");
	ASSERT_EQ(in_id, fd_prog_id(t->ingress_fd), "reported ingress id");
	ASSERT_EQ(eg_id, fd_prog_id(t->egress_fd), "reported egress id");
	/* attaching again replaces in place: still exactly our programs */
	ASSERT_OK(svc_direct_attach(t->d, "tpmtu1"), "attach again (replace)");
	ASSERT_EQ(tc_prog_id(ifindex, BPF_TC_EGRESS), fd_prog_id(t->egress_fd),
		  "egress after replace");
	ASSERT_OK(svc_direct_detach("tpmtu1"), "svc_direct_detach");
	ASSERT_EQ(tc_prog_id(ifindex, BPF_TC_INGRESS), 0, "ingress gone");
	ASSERT_EQ(tc_prog_id(ifindex, BPF_TC_EGRESS), 0, "egress gone");
	ASSERT_EQ(svc_direct_detach("tpmtu1"), -ENOENT, "detach again: -ENOENT");
	ASSERT_EQ(svc_direct_attached("tpmtu1", NULL, NULL), 0, "not attached after detach");
	ASSERT_EQ(svc_direct_attach(t->d, "nosuchif0"), -ENODEV, "attach to a missing interface");
}

static int count(const struct svc_flow_key *k, const struct svc_direct_flow *v, void *arg)
{
	(void)k;
	(*(int *)arg) += v->flowid == 0x00071111;
	return 0;
}

static void pins_adopted(struct dtest *t)
{
	struct svc_direct_config cfg = { .pin_dir = t->e.pin_dir };
	struct svc_direct_flow f = { .flowid = 0x00071111, .instance = 7, .source = 1 };
	struct svc_direct *d2 = NULL;
	struct svc_direct_cfg c;
	struct svc_flow_key k;
	struct svc_addr src;
	char path[256];
	struct stat st;
	int n = 0;

	dtest_key(&k, false, 45000, 80);
	if (!ASSERT_OK(
		    bpf_map_update_elem(svc_direct_map_fd(t->d, "direct_flows"), &k, &f, BPF_ANY),
		    "learn one connection") ||
	    !ASSERT_OK(dpt_addr("10.1.0.1", &src), "addr") ||
	    !ASSERT_OK(svc_direct_set_src(t->d, &src, NULL), "set_src") ||
	    !ASSERT_OK(svc_direct_set_instance_id(t->d, 42), "set_instance_id"))
		return;
	snprintf(path, sizeof(path), "%s/direct_flows", t->e.pin_dir);
	ASSERT_OK(stat(path, &st), "direct_flows pinned in the data plane's pin directory");
	if (!ASSERT_OK(svc_direct_open(&cfg, &d2), "second open"))
		return;
	ASSERT_OK(svc_direct_flows_foreach(d2, count, &n), "flows_foreach");
	ASSERT_EQ(n, 1, "the learnt connection is seen by the second open");
	if (ASSERT_OK(svc_direct_cfg_read(d2, &c), "cfg_read")) {
		ASSERT_EQ(c.instance_id, 42, "instance id kept");
		ASSERT_TRUE(c.flags & SVC_DIRECT_CFG_F_SRC4, "src4 flag kept");
		ASSERT_MEMEQ(&c.src4, sizeof(c.src4), &src, sizeof(src), "src4 kept");
	}
	svc_direct_close(d2);
	ASSERT_OK(svc_direct_set_instance_id(t->d, 0), "reset instance id");
	ASSERT_OK(svc_direct_set_src(t->d, NULL, NULL), "reset src");
	ASSERT_OK(svc_direct_flows_clear(t->d, NULL), "flows_clear");
}

static void bad_args(struct dtest *t)
{
	struct svc_addr v4, v6;

	if (!ASSERT_OK(dpt_addr("10.1.0.1", &v4), "v4") ||
	    !ASSERT_OK(dpt_addr("fd00::1", &v6), "v6"))
		return;
	ASSERT_EQ(svc_direct_instance_update(t->d, 0, &v4), -EINVAL, "instance id 0");
	ASSERT_EQ(svc_direct_set_src(t->d, &v6, NULL), -EINVAL, "IPv6 address as src4");
	ASSERT_EQ(svc_direct_set_src(t->d, NULL, &v4), -EINVAL, "IPv4 address as src6");
	ASSERT_EQ(svc_direct_local_delete(t->d, &v4), -ENOENT, "delete a missing service address");
}

static void unpin_only_ours(struct dtest *t)
{
	char path[256];
	struct stat st;

	svc_direct_close(t->d);
	t->d = NULL;
	ASSERT_OK(svc_direct_unpin(t->e.pin_dir), "svc_direct_unpin");
	snprintf(path, sizeof(path), "%s/direct_flows", t->e.pin_dir);
	ASSERT_TRUE(stat(path, &st) != 0, "direct_flows unpinned");
	snprintf(path, sizeof(path), "%s/flows", t->e.pin_dir);
	ASSERT_OK(stat(path, &st), "the router's flows map still pinned");
}

TEST(direct_lib)
{
	struct dtest t;

	if (dtest_open(&t))
		return;
	if (tp_subtest("attach_detach"))
		attach_detach(&t);
	if (tp_subtest("pins_adopted"))
		pins_adopted(&t);
	if (tp_subtest("bad_args"))
		bad_args(&t);
	if (tp_subtest("unpin_only_ours"))
		unpin_only_ours(&t);
	dtest_close(&t);
}
