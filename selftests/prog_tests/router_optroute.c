// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Stateless routing by an instance named in the packet (docs/datapath.md,
 * step 0): a SYN resuming a TI-flow (completed TIFID: responder half's top 16
 * bits name the instance = next-hop id, low 8 bits its keyed check) and any
 * TCP packet with the flowID option (instance << 16 | keyed check) go to that
 * next hop with an empty flow table, when it is a member of the service's
 * FORWARD set (policy cases: router_policy.c); a down member counts
 * ev_stale_instance and the packet is resolved as usual. Outputs are compared byte for byte with
 * the expected encapsulation and every checksum is verified independently.
 */
#include <string.h>
#include <bpf/bpf.h>
#include "tp.h"
#include "dptest.h"
#include "svc_tiflow.h"
#include "svc_optmac.h"

#define CPORT 45000

/* A TCP packet from the client to service @svc with options @opts (len multiple of 4). */
static void tcp_opts(struct pkt *p, bool v6, int svc, __u8 flags, const __u8 *opts, size_t optlen)
{
	pkt_init(p);
	dpt_eth(p);
	if (v6)
		pkt_ip6(p, &(struct ip6_spec){ .src = DPT_CLIENT6, .dst = dpt_vip6(svc) });
	else
		pkt_ip4(p, &(struct ip4_spec){ .src = DPT_CLIENT4, .dst = dpt_vip4(svc), .id = 3 });
	pkt_tcp(p, &(struct tcp_spec){ .sport = CPORT,
				       .dport = 80,
				       .seq = 1000,
				       .ack = flags & TCP_F_ACK ? 5000 : 0,
				       .flags = flags,
				       .opts = opts,
				       .optlen = optlen });
	pkt_finalize(p);
}

/* MSS + a TI-flow option whose TIFID responder half is @resp (0: a new flow). */
static void tiflow_opts(__u8 o[24], __u32 resp)
{
	static const __u8 head[] = {
		2, 4, 0x05, 0xb4, SVC_TIFLOW_KIND_DEFAULT, SVC_TIFLOW_LEN, 0x11, 0x22, 0x33
	};

	memset(o, 0, 24);
	memcpy(o, head, sizeof(head));
	o[9] = resp >> 16;
	o[10] = resp >> 8;
	o[11] = resp;
	o[17] = 0x2a; /* TISeq 42 */
}

/* NOP NOP + the flowID option naming @instance with flow bits @bits. */
static void flowid_opts(__u8 o[12], __u16 instance, __u16 bits)
{
	__u32 fid = svc_flowid_make(instance, bits);
	__u8 b[12] = { 1,    1,		SVC_FLOWID_KIND, SVC_FLOWID_LEN, 0x53,
		       0x56, fid >> 24, fid >> 16,	 fid >> 8,	 fid,
		       1,    1 };

	memcpy(o, b, sizeof(b));
}

static const __u64 optkey[2] = { DPT_OPT_K0, DPT_OPT_K1 };

/* The genuine TIFID responder half naming @nh for the initiator half 0x112233 of tiflow_opts(). */
static __u32 resp_half(__u32 nh)
{
	return ((__u32)nh << SVC_TIFID_INSTANCE_SHIFT) | svc_tifid_mac(optkey, 0x112233, nh);
}

static bool fwd(struct dpt_env *e, const struct pkt *in, __u32 nh, enum svc_reason reason,
		__u32 rule)
{
	struct dpt_expect x = { .verdict = dpt_fwd_verdict(nh),
				.counter = reason,
				.out = DPT_OUT_FWD,
				.nh = nh,
				.rule = rule };

	return dpt_check(e, SVC_PROG_ROUTER, in, &x, NULL);
}

struct flow_find {
	struct svc_flow_key key;
	struct svc_flow val;
	int found;
};

static int find_flow(const struct svc_flow_key *k, const struct svc_flow *v, void *arg)
{
	struct flow_find *f = arg;

	if (!memcmp(k, &f->key, sizeof(*k))) {
		f->val = *v;
		f->found++;
	}
	return 0;
}

/* The flow table entry of @in's flow: its next hop, or 0 if there is none. */
static __u32 flow_nh(struct dpt_env *e, const struct pkt *in)
{
	struct flow_find f = { 0 };

	if (!ASSERT_OK(dpt_flow_key(in->buf, in->len, &f.key), "flow key") ||
	    !ASSERT_OK(svc_dp_flows_foreach(e->dp, find_flow, &f), "flows_foreach"))
		return 0;
	return f.found ? f.val.nh_id : 0;
}

/*
 * A resumed SYN names NH_OUT*B, a member of the service's set: forwarded
 * there with an empty flow table (fwd_resume), recorded, and the next packet
 * (no option) follows the flow table to it.
 */
static void resume(struct dpt_env *e, bool v6)
{
	int svc = v6 ? SVC_W6 : SVC_W4;
	__u32 nh = v6 ? NH_OUT6B : NH_OUT4B;
	struct pkt syn, ack;
	__u8 o[24];

	tiflow_opts(o, resp_half(nh));
	tcp_opts(&syn, v6, svc, TCP_F_SYN, o, sizeof(o));
	tcp_opts(&ack, v6, svc, TCP_F_ACK, NULL, 0);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear (fresh router)") ||
	    !fwd(e, &syn, nh, SVC_R_FWD_RESUME, 0))
		return;
	ASSERT_EQ(flow_nh(e, &syn), nh, "resumed flow recorded");
	fwd(e, &ack, nh, SVC_R_FWD_FLOW_HIT, 0);
}

/* flow_bits - the genuine flowID naming @nh for @p's flow (options do not change the key). */
static __u16 flow_bits(const struct pkt *p, __u16 nh)
{
	struct svc_flow_key k;

	if (!ASSERT_OK(dpt_flow_key(p->buf, p->len, &k), "flow key"))
		return 0;
	return svc_flowid_mac(optkey, &k, nh);
}

/* A SYN with a TI-flow option but a zero responder half is a new flow: resolved by the rule. */
static void new_tiflow_syn(struct dpt_env *e, bool v6)
{
	int svc = v6 ? SVC_FWD6 : SVC_FWD4;
	struct pkt syn;
	__u8 o[24];

	tiflow_opts(o, 0);
	tcp_opts(&syn, v6, svc, TCP_F_SYN, o, sizeof(o));
	if (ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		fwd(e, &syn, v6 ? NH_OUT6A : NH_OUT4A, SVC_R_FWD_NEW, svc);
}

/* A data packet with a flowID naming NH_OUT*B goes there without touching the flow table. */
static void flowid(struct dpt_env *e, bool v6)
{
	int svc = v6 ? SVC_W6 : SVC_W4;
	__u32 nh = v6 ? NH_OUT6B : NH_OUT4B;
	struct pkt data;
	__u8 o[12];

	flowid_opts(o, (__u16)nh, 0);
	tcp_opts(&data, v6, svc, TCP_F_ACK | TCP_F_PSH, o, sizeof(o));
	flowid_opts(o, (__u16)nh, flow_bits(&data, (__u16)nh));
	tcp_opts(&data, v6, svc, TCP_F_ACK | TCP_F_PSH, o, sizeof(o));
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !fwd(e, &data, nh, SVC_R_FWD_FLOWID, 0))
		return;
	ASSERT_EQ(flow_nh(e, &data), 0, "no flow-table entry written");
}

/*
 * An instance that is unknown (id 99) or down (NH_DOWN4) is a miss: the event
 * is counted and the packet resolved by the rule (the set's next hop).
 */
static void stale(struct dpt_env *e, __u16 instance, enum svc_reason event, const char *what)
{
	struct svc_counter before[SVC_REASON_MAX], after[SVC_REASON_MAX];
	struct dpt_result r;
	struct pkt syn, exp;
	__u8 o[24];

	tiflow_opts(o, resp_half(instance));
	tcp_opts(&syn, false, SVC_FWD4, TCP_F_SYN, o, sizeof(o));
	dpt_expect_fwd(&exp, syn.buf, syn.len, NH_OUT4A);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !ASSERT_OK(dpt_stats(e, SVC_PROG_ROUTER, before), "stats") ||
	    !ASSERT_OK(dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], syn.buf, syn.len, &r),
		       "test run"))
		return;
	ASSERT_EQ(r.retval, XDP_REDIRECT, what);
	ASSERT_MEMEQ(r.out, r.out_len, exp.buf, exp.len, "forwarded to the set's next hop");
	dpt_verify_csums(what, r.out, r.out_len, 2);
	if (!ASSERT_OK(dpt_stats(e, SVC_PROG_ROUTER, after), "stats"))
		return;
	ASSERT_EQ(after[event].packets, before[event].packets + 1, "event counted");
	ASSERT_EQ(after[SVC_R_FWD_NEW].packets, before[SVC_R_FWD_NEW].packets + 1, "fwd_new");
	ASSERT_EQ(after[SVC_R_FWD_RESUME].packets, before[SVC_R_FWD_RESUME].packets,
		  "no fwd_resume");
}

TEST(router_optroute)
{
	struct dpt_env e;

	if (dpt_env_open(&e))
		return;
	if (tp_subtest("resume_v4"))
		resume(&e, false);
	if (tp_subtest("resume_v6"))
		resume(&e, true);
	if (tp_subtest("tiflow_syn_new_flow_v4"))
		new_tiflow_syn(&e, false);
	if (tp_subtest("tiflow_syn_new_flow_v6"))
		new_tiflow_syn(&e, true);
	if (tp_subtest("flowid_v4"))
		flowid(&e, false);
	if (tp_subtest("flowid_v6"))
		flowid(&e, true);
	if (tp_subtest("unknown_instance_not_member"))
		stale(&e, 99, SVC_R_EV_OPT_POLICY, "unknown instance");
	if (tp_subtest("stale_down_member")) {
		/* NH_DOWN4 listed in SVC_FWD4's set (as a drained member would be), but down. */
		struct svc_set_member_key mk = { .set_id = SVC_FWD4, .nh_id = NH_DOWN4 };
		int fd = svc_dp_map_fd(e.dp, "set_members");
		__u32 zero = 0;

		if (ASSERT_OK(bpf_map_update_elem(fd, &mk, &zero, BPF_ANY), "add member")) {
			stale(&e, NH_DOWN4, SVC_R_EV_STALE_INSTANCE, "down instance");
			ASSERT_OK(bpf_map_delete_elem(fd, &mk), "remove member");
		}
	}
	dpt_env_close(&e);
}
