// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Direct path, client side, ingress (bpf/direct.bpf.c svc_direct_ingress):
 * a SYN-ACK carrying a flowID option (first, in the middle, last among the
 * options), or a TI-flow option whose responder half names an instance, puts
 * the connection (client -> VIP 5-tuple) into direct_flows with that instance;
 * anything else teaches nothing. The frame always goes on unchanged
 * (TC_ACT_UNSPEC) and exactly one counter counts it. What was learnt is read
 * back from the map through libsvc and through the raw map fd.
 */
#include <arpa/inet.h>
#include "direct_test.h"

#define INST 7	       /* has an address */
#define INST_UNKNOWN 9 /* has none */
#define FID (0x00070000U | 0xbeef)
#define SYNACK_OPTS 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7
#define TS_OPTS 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2

struct lcase {
	const char *name;
	bool v6;
	__u8 flags;
	__u8 opts[40];
	size_t optlen;
	int reason;	/* counter */
	bool learn;	/* an entry appears */
	__u32 fid;	/* its flowID */
	__u16 instance; /* its instance */
	__u8 source;	/* SVC_DIRECT_SRC_* */
};

/* The TIFID of the TI-flow fixtures: initiator half 0x0a4530, responder (7 << 8) | 0x5b. */
#define TI_RESP 0x00075b
#define TI_OPT(resp)                                                                               \
	253, 20, 0x0a, 0x45, 0x30, ((resp) >> 16) & 0xff, ((resp) >> 8) & 0xff, (resp)&0xff, 0, 0, \
		0, 0, 0, 5, 0, 0, 0, 0, 0, 9
#define FID_OPT(f) 254, 8, 0x53, 0x56, (f) >> 24, ((f) >> 16) & 0xff, ((f) >> 8) & 0xff, (f)&0xff
#define SA (TCP_F_SYN | TCP_F_ACK)

static const struct lcase cases[] = {
	{ "flowid_last",
	  false,
	  SA,
	  { SYNACK_OPTS, FID_OPT(FID) },
	  28,
	  SVC_DR_RX_LEARN_FLOWID,
	  true,
	  FID,
	  INST,
	  SVC_DIRECT_SRC_FLOWID },
	{ "flowid_first",
	  false,
	  SA,
	  { FID_OPT(FID), SYNACK_OPTS },
	  28,
	  SVC_DR_RX_LEARN_FLOWID,
	  true,
	  FID,
	  INST,
	  SVC_DIRECT_SRC_FLOWID },
	{ "flowid_middle",
	  false,
	  SA,
	  { 2, 4, 5, 0xb4, FID_OPT(FID), TS_OPTS },
	  24,
	  SVC_DR_RX_LEARN_FLOWID,
	  true,
	  FID,
	  INST,
	  SVC_DIRECT_SRC_FLOWID },
	{ "flowid_v6",
	  true,
	  SA,
	  { SYNACK_OPTS, FID_OPT(FID) },
	  28,
	  SVC_DR_RX_LEARN_FLOWID,
	  true,
	  FID,
	  INST,
	  SVC_DIRECT_SRC_FLOWID },
	/* flowID from the TIFID: instance 7, bits (responder low 8) << 8 | initiator low 8 */
	{ "tiflow_responder_half",
	  false,
	  SA,
	  { SYNACK_OPTS, TI_OPT(TI_RESP) },
	  40,
	  SVC_DR_RX_LEARN_TIFLOW,
	  true,
	  0x00075b30,
	  INST,
	  SVC_DIRECT_SRC_TIFLOW },
	{ "tiflow_v6",
	  true,
	  SA,
	  { TI_OPT(TI_RESP) },
	  20,
	  SVC_DR_RX_LEARN_TIFLOW,
	  true,
	  0x00075b30,
	  INST,
	  SVC_DIRECT_SRC_TIFLOW },
	{ "tiflow_responder_zero", false, SA, { SYNACK_OPTS, TI_OPT(0) }, 40, SVC_DR_RX_PASS },
	{ "unknown_instance",
	  false,
	  SA,
	  { SYNACK_OPTS, FID_OPT(0x00090001U) },
	  28,
	  SVC_DR_RX_UNKNOWN_INST },
	{ "instance_zero", false, SA, { FID_OPT(0x00000001U) }, 8, SVC_DR_RX_UNKNOWN_INST },
	{ "no_svcplane_option", false, SA, { SYNACK_OPTS }, 20, SVC_DR_RX_PASS },
	{ "no_options", false, SA, { 0 }, 0, SVC_DR_RX_PASS },
	{ "data_packet_teaches_nothing",
	  false,
	  TCP_F_ACK | TCP_F_PSH,
	  { TS_OPTS, FID_OPT(FID) },
	  20,
	  SVC_DR_RX_PASS },
	{ "syn_teaches_nothing",
	  false,
	  TCP_F_SYN,
	  { SYNACK_OPTS, FID_OPT(FID) },
	  28,
	  SVC_DR_RX_PASS },
	{ "malformed_len0",
	  false,
	  SA,
	  { 2, 4, 5, 0xb4, 8, 0, 0, 0, FID_OPT(FID) },
	  16,
	  SVC_DR_RX_BAD_OPT },
	{ "malformed_past_header",
	  false,
	  SA,
	  { FID_OPT(FID), 1, 1, 8, 10 },
	  12,
	  SVC_DR_RX_BAD_OPT },
	{ "after_eol_ignored", false, SA, { 0, 0, 0, 0, FID_OPT(FID) }, 12, SVC_DR_RX_PASS },
};

struct found {
	struct svc_flow_key key;
	struct svc_direct_flow val;
	int n;
};

static int count_flows(const struct svc_flow_key *k, const struct svc_direct_flow *v, void *arg)
{
	struct found *f = arg;

	f->n++;
	f->key = *k;
	f->val = *v;
	return 0;
}

static void one(struct dtest *t, const struct lcase *c, __u16 cport)
{
	struct svc_counter before[SVC_DIRECT_REASON_MAX], after[SVC_DIRECT_REASON_MAX];
	struct svc_flow_key want;
	struct svc_direct_flow raw;
	struct found f = { 0 };
	struct dtest_res r;
	struct pkt in;
	int fd;

	if (!ASSERT_OK(svc_direct_flows_clear(t->d, NULL), "svc_direct_flows_clear"))
		return;
	/* the SYN-ACK: VIP -> client */
	dtest_frame(&in, c->v6, false, cport, c->flags, c->opts, c->optlen, 0);
	if (!dtest_stats(t, before) ||
	    !ASSERT_OK(dtest_run(t->ingress_fd, "tpin0", &in, false, &r), "test run"))
		return;
	ASSERT_EQ(r.retval, TC_ACT_UNSPEC_U32, "verdict: passed on");
	ASSERT_MEMEQ(r.out, r.len, in.buf, in.len, "frame unchanged");
	if (dtest_stats(t, after))
		dtest_counted(before, after, c->reason, in.len);
	if (!ASSERT_OK(svc_direct_flows_foreach(t->d, count_flows, &f), "flows_foreach"))
		return;
	if (!c->learn) {
		ASSERT_EQ(f.n, 0, "nothing learnt");
		return;
	}
	if (!ASSERT_EQ(f.n, 1, "one connection learnt"))
		return;
	dtest_key(&want, c->v6, cport, 80);
	ASSERT_MEMEQ(&f.key, sizeof(f.key), &want, sizeof(want), "key: client -> VIP 5-tuple");
	ASSERT_EQ(f.val.flowid, c->fid, "flowID");
	ASSERT_EQ(f.val.instance, c->instance, "instance");
	ASSERT_EQ(f.val.source, c->source, "source");
	ASSERT_GT(f.val.learnt_ns, 0, "learnt_ns");
	fd = svc_direct_map_fd(t->d, "direct_flows");
	if (ASSERT_GE(fd, 0, "direct_flows fd") &&
	    ASSERT_OK(bpf_map_lookup_elem(fd, &want, &raw), "raw lookup"))
		ASSERT_EQ(raw.flowid, c->fid, "raw flowID");
}

TEST(direct_learn)
{
	struct svc_addr a;
	struct dtest t;
	size_t i;

	if (dtest_open(&t))
		return;
	if (!ASSERT_OK(dpt_addr("10.1.0.10", &a), "addr") ||
	    !ASSERT_OK(svc_direct_instance_update(t.d, INST, &a), "instance_update"))
		goto out;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!tp_subtest(cases[i].name))
			continue;
		one(&t, &cases[i], (__u16)(41000 + i));
	}
	/* An instance whose address is removed is no longer learnt. */
	if (tp_subtest("instance_removed")) {
		struct lcase c = cases[0];

		c.reason = SVC_DR_RX_UNKNOWN_INST;
		c.learn = false;
		if (ASSERT_OK(svc_direct_instance_delete(t.d, INST), "instance_delete"))
			one(&t, &c, 42000);
		ASSERT_OK(svc_direct_instance_update(t.d, INST, &a), "instance_update");
	}
out:
	dtest_close(&t);
}
