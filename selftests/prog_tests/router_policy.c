// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The router never forwards outside policy (docs/datapath.md, "Option routing
 * and policy", "Strict lengths", "Strip or drop"), IPv4 and IPv6:
 * - a genuine flowID / TIFID naming a hop of another service, or a hop of a
 *   service whose rule is DROP, is ignored (ev_opt_policy) and the packet goes
 *   where its own rule sends it;
 * - a forged flowID / TIFID (wrong keyed check) is ignored (ev_opt_forged);
 * - a TCP header (or IPv6 extension header) that lies past the IP packet's own
 *   length, in the frame's trailer, is never parsed: the packet is dropped;
 * - options that must be stripped but cannot be (malformed; link + IP headers
 *   over 128 bytes) drop the packet (drop_not_stripped).
 * Every expectation goes through dpt_check: verdict, output bytes, checksums
 * (the test's own code) and exactly the expected counters.
 */
#include <stdio.h>
#include <string.h>
#include "tp.h"
#include "dptest.h"
#include "svc_tiflow.h"
#include "svc_optmac.h"

#define CPORT 46000

static const __u64 optkey[2] = { DPT_OPT_K0, DPT_OPT_K1 };

/* A TCP packet from the client to service @svc with options @opts (len multiple of 4). */
static void tcp_opts(struct pkt *p, bool v6, int svc, __u16 sport, __u8 flags, const __u8 *opts,
		     size_t optlen)
{
	pkt_init(p);
	dpt_eth(p);
	if (v6)
		pkt_ip6(p, &(struct ip6_spec){ .src = DPT_CLIENT6, .dst = dpt_vip6(svc) });
	else
		pkt_ip4(p, &(struct ip4_spec){ .src = DPT_CLIENT4, .dst = dpt_vip4(svc), .id = 9 });
	pkt_tcp(p, &(struct tcp_spec){ .sport = sport,
				       .dport = 80,
				       .seq = 1000,
				       .ack = flags & TCP_F_ACK ? 5000 : 0,
				       .flags = flags,
				       .opts = opts,
				       .optlen = optlen });
	pkt_finalize(p);
}

/* NOP NOP + flowID option (instance << 16 | bits). */
static void flowid_opts(__u8 o[12], __u16 instance, __u16 bits)
{
	__u32 fid = svc_flowid_make(instance, bits);
	__u8 b[12] = { 1,    1,		SVC_FLOWID_KIND, SVC_FLOWID_LEN, 0x53,
		       0x56, fid >> 24, fid >> 16,	 fid >> 8,	 fid,
		       1,    1 };

	memcpy(o, b, sizeof(b));
}

/*
 * A data packet to @svc carrying a flowID naming @nh: genuine (keyed for the
 * packet's own flow) or, if @forge, with the check's low bit flipped.
 */
static void flowid_pkt(struct pkt *p, bool v6, int svc, __u16 nh, bool forge)
{
	struct svc_flow_key k;
	__u16 bits = 0;
	__u8 o[12];

	flowid_opts(o, nh, 0);
	tcp_opts(p, v6, svc, CPORT, TCP_F_ACK | TCP_F_PSH, o, sizeof(o));
	if (ASSERT_OK(dpt_flow_key(p->buf, p->len, &k), "flow key"))
		bits = svc_flowid_mac(optkey, &k, nh) ^ (forge ? 1 : 0);
	flowid_opts(o, nh, bits);
	tcp_opts(p, v6, svc, CPORT, TCP_F_ACK | TCP_F_PSH, o, sizeof(o));
}

/* A SYN to @svc resuming a TI-flow whose TIFID names @nh (genuine, or forged). */
static void resume_pkt(struct pkt *p, bool v6, int svc, __u16 nh, bool forge)
{
	__u32 ini = 0xabcdef;
	__u32 resp = ((__u32)nh << SVC_TIFID_INSTANCE_SHIFT) |
		     (svc_tifid_mac(optkey, ini, nh) ^ (forge ? 1 : 0));
	__u8 o[24] = { 2, 4, 0x05, 0xb4, SVC_TIFLOW_KIND_DEFAULT, SVC_TIFLOW_LEN };

	o[6] = ini >> 16;
	o[7] = ini >> 8;
	o[8] = ini;
	o[9] = resp >> 16;
	o[10] = resp >> 8;
	o[11] = resp;
	o[17] = 0x2a; /* TISeq 42 */
	tcp_opts(p, v6, svc, CPORT + 1, TCP_F_SYN, o, sizeof(o));
}

/* The next hop set @svc's table gives @p's flow. */
static __u32 hashed(struct dpt_env *e, int svc, const struct pkt *p)
{
	struct svc_flow_key k;
	__u32 nh = 0;

	if (ASSERT_OK(dpt_flow_key(p->buf, p->len, &k), "flow key"))
		ASSERT_OK(dpt_predict_nh(e, svc, &k, &nh), "predict");
	return nh;
}

static bool run(struct dpt_env *e, const struct pkt *in, const struct dpt_expect *x)
{
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		return false;
	return dpt_check(e, SVC_PROG_ROUTER, in, x, NULL);
}

/* A forward to @nh by @reason (rule @rule counted), with event @ev. */
static void expect_fwd(struct dpt_env *e, const struct pkt *in, __u32 nh, enum svc_reason reason,
		       __u32 rule, enum svc_reason ev)
{
	struct dpt_expect x = { .verdict = dpt_fwd_verdict(nh),
				.counter = reason,
				.out = DPT_OUT_FWD,
				.nh = nh,
				.rule = rule,
				.event = ev };

	run(e, in, &x);
}

/*
 * A genuine flowID naming NH_OUT*B (a member of SVC_W*'s set) on a packet for
 * SVC_FWD* (whose set is {NH_OUT*A}): ignored, the packet follows its own
 * rule to NH_OUT*A (no flow entry: consistent hash, fwd_ch_miss).
 */
static void flowid_other_service(struct dpt_env *e, bool v6)
{
	int svc = v6 ? SVC_FWD6 : SVC_FWD4;
	struct pkt in;

	flowid_pkt(&in, v6, svc, v6 ? NH_OUT6B : NH_OUT4B, false);
	expect_fwd(e, &in, v6 ? NH_OUT6A : NH_OUT4A, SVC_R_FWD_CH_MISS, svc, SVC_R_EV_OPT_POLICY);
}

/* The same as a resumed SYN's TIFID: ignored, resolved by the rule (fwd_new). */
static void resume_other_service(struct dpt_env *e, bool v6)
{
	int svc = v6 ? SVC_FWD6 : SVC_FWD4;
	struct pkt in;

	resume_pkt(&in, v6, svc, v6 ? NH_OUT6B : NH_OUT4B, false);
	expect_fwd(e, &in, v6 ? NH_OUT6A : NH_OUT4A, SVC_R_FWD_NEW, svc, SVC_R_EV_OPT_POLICY);
}

/* A genuine flowID / TIFID naming an up hop on a packet for a DROP service: dropped by the rule. */
static void behind_drop_rule(struct dpt_env *e, bool v6, bool resume)
{
	struct dpt_expect x = { .verdict = XDP_DROP,
				.counter = SVC_R_DROP_RULE,
				.out = DPT_OUT_ANY,
				.rule = SVC_DROP,
				.event = SVC_R_EV_OPT_POLICY };
	__u16 nh = v6 ? NH_OUT6A : NH_OUT4A;
	struct pkt in;

	if (resume)
		resume_pkt(&in, v6, SVC_DROP, nh, false);
	else
		flowid_pkt(&in, v6, SVC_DROP, nh, false);
	run(e, &in, &x);
}

/*
 * A forged id naming NH_OUT*B, a member of SVC_W*'s own set: ignored
 * (ev_opt_forged), the packet goes where the consistent hash sends it.
 */
static void forged(struct dpt_env *e, bool v6, bool resume)
{
	int svc = v6 ? SVC_W6 : SVC_W4;
	struct pkt in;
	__u32 nh;

	if (resume)
		resume_pkt(&in, v6, svc, v6 ? NH_OUT6B : NH_OUT4B, true);
	else
		flowid_pkt(&in, v6, svc, v6 ? NH_OUT6B : NH_OUT4B, true);
	nh = hashed(e, svc, &in);
	if (nh)
		expect_fwd(e, &in, nh, resume ? SVC_R_FWD_NEW : SVC_R_FWD_CH_MISS, svc,
			   SVC_R_EV_OPT_FORGED);
}

/* The genuine ids of the forged() packets are honoured: the check is what differs. */
static void genuine(struct dpt_env *e, bool v6, bool resume)
{
	int svc = v6 ? SVC_W6 : SVC_W4;
	__u16 nh = v6 ? NH_OUT6B : NH_OUT4B;
	struct pkt in;

	if (resume)
		resume_pkt(&in, v6, svc, nh, false);
	else
		flowid_pkt(&in, v6, svc, nh, false);
	expect_fwd(e, &in, nh, resume ? SVC_R_FWD_RESUME : SVC_R_FWD_FLOWID, 0, 0);
}

/*
 * Membership follows the set: with NH_OUT4B removed from SVC_W4's set (the
 * agent's svc_dp_nhset_update prunes set_members), its genuine flowID is out
 * of policy; put back, it routes again.
 */
static void member_removed(struct dpt_env *e)
{
	const struct svc_ch_member only_a[] = { DPT_M(NH_OUT4A, 1) };
	const struct svc_ch_member both[] = { DPT_M(NH_OUT4A, 1), DPT_M(NH_OUT4B, 3) };
	struct pkt in;

	flowid_pkt(&in, false, SVC_W4, NH_OUT4B, false);
	if (dpt_set_nhset(e, SVC_W4, only_a, 1))
		return;
	expect_fwd(e, &in, NH_OUT4A, SVC_R_FWD_CH_MISS, SVC_W4, SVC_R_EV_OPT_POLICY);
	if (dpt_set_nhset(e, SVC_W4, both, 2))
		return;
	expect_fwd(e, &in, NH_OUT4B, SVC_R_FWD_FLOWID, 0, 0);
}

/* Without a deployment key no id is trusted (ev_opt_forged), even a well-keyed one. */
static void no_key(struct dpt_env *e)
{
	struct pkt in;
	__u32 nh;

	flowid_pkt(&in, false, SVC_W4, NH_OUT4B, false);
	nh = hashed(e, SVC_W4, &in);
	if (!ASSERT_OK(svc_dp_set_opt_key(e->dp, NULL), "clear key"))
		return;
	if (nh)
		expect_fwd(e, &in, nh, SVC_R_FWD_CH_MISS, SVC_W4, SVC_R_EV_OPT_FORGED);
	ASSERT_OK(svc_dp_set_opt_key(e->dp, dpt_opt_key), "restore key");
}

/*
 * A SYN whose IP header says the packet ends before its TCP header (IPv4
 * total length 20; IPv6 payload length 0): the "TCP SYN" is a trailer and is
 * never parsed. Dropped as a bad L4 header; nothing resolved or recorded.
 */
static void syn_in_trailer(struct dpt_env *e, bool v6)
{
	struct dpt_expect x = { .verdict = XDP_DROP,
				.counter = SVC_R_DROP_BAD_L4,
				.out = DPT_OUT_ANY,
				.malformed = true };
	struct pkt in;
	__u8 *ip;

	if (v6) {
		dpt_tcp6(&in, dpt_vip6(SVC_FWD6), CPORT, 80, TCP_F_SYN, 0);
		ip = pkt_layer_ptr(&in, PKT_IP6, 0);
		ip[4] = 0;
		ip[5] = 0;
	} else {
		dpt_tcp4(&in, dpt_vip4(SVC_FWD4), CPORT, 80, TCP_F_SYN, 0);
		ip = pkt_layer_ptr(&in, PKT_IP4, 0);
		ip[2] = 0;
		ip[3] = 20;
		pkt_ip4_csum_fix(ip);
	}
	run(e, &in, &x);
}

/* IPv6: an extension header in the trailer (payload length 0, next header 60). */
static void ext_in_trailer(struct dpt_env *e)
{
	struct dpt_expect x = { .verdict = XDP_DROP,
				.counter = SVC_R_DROP_BAD_IP6,
				.out = DPT_OUT_ANY,
				.malformed = true };
	struct pkt in;
	__u8 *ip;

	pkt_init(&in);
	dpt_eth(&in);
	pkt_ip6(&in, &(struct ip6_spec){ .src = DPT_CLIENT6, .dst = dpt_vip6(SVC_FWD6) });
	pkt_ip6_ext(&in, 60, 8);
	pkt_tcp(&in, &(struct tcp_spec){ .sport = CPORT, .dport = 80, .flags = TCP_F_SYN });
	pkt_finalize(&in);
	ip = pkt_layer_ptr(&in, PKT_IP6, 0);
	ip[4] = 0;
	ip[5] = 0;
	run(e, &in, &x);
}

/* A TCP header that starts inside the packet but whose options run past it (IPv4). */
static void options_past_ip4(struct dpt_env *e)
{
	struct dpt_expect x = { .verdict = XDP_DROP,
				.counter = SVC_R_DROP_BAD_L4,
				.out = DPT_OUT_ANY,
				.malformed = true };
	static const __u8 mss[4] = { 2, 4, 0x05, 0xb4 };
	struct pkt in;
	__u8 *ip;

	tcp_opts(&in, false, SVC_FWD4, CPORT, TCP_F_SYN, mss, sizeof(mss));
	ip = pkt_layer_ptr(&in, PKT_IP4, 0);
	ip[2] = 0;
	ip[3] = 40; /* IP 20 + TCP 20: the 4 option octets are trailer */
	pkt_ip4_csum_fix(ip);
	run(e, &in, &x);
}

/* NH_OUT*A flagged SVC_NH_F_STRIP_OPTS (an instance host without svcplane), or back. */
static bool strip_flag(struct dpt_env *e, __u32 id, bool on)
{
	const struct dpt_nh *m = dpt_nh_model(id);
	struct svc_nexthop nh = { .flags = SVC_NH_F_UP | (on ? SVC_NH_F_STRIP_OPTS : 0) };

	if (m->family == 6)
		nh.flags |= SVC_NH_F_V6;
	return ASSERT_OK(dpt_addr(m->addr, &nh.addr), "addr") &&
	       ASSERT_OK(svc_dp_nexthop_update(e->dp, id, &nh), "nexthop strip flag");
}

/*
 * Options to strip that cannot be: IPv4, a TI-flow option followed by a
 * malformed option (the walk cannot tell what follows); IPv6, a 96-octet
 * destination-options header puts link + IP headers at 150 octets, past the
 * 128 the strip stage edits. Dropped, drop_not_stripped; never forwarded
 * with svcplane's options.
 */
static void strip_impossible(struct dpt_env *e, bool v6)
{
	static const __u8 opts[28] = { 2,
				       4,
				       0x05,
				       0xb4,
				       SVC_TIFLOW_KIND_DEFAULT,
				       SVC_TIFLOW_LEN,
				       0x11,
				       0x22,
				       0x33,
				       0,
				       0,
				       0,
				       0,
				       0,
				       0,
				       0,
				       0,
				       0x2a,
				       0,
				       0,
				       0,
				       0,
				       0,
				       0,
				       30,
				       1,
				       0,
				       0 }; /* kind 30 length 1 */
	int svc = v6 ? SVC_FWD6 : SVC_FWD4;
	__u32 nh = v6 ? NH_OUT6A : NH_OUT4A;
	struct dpt_expect x = { .verdict = XDP_DROP,
				.counter = SVC_R_DROP_NOT_STRIPPED,
				.out = DPT_OUT_ANY,
				.rule = (__u32)svc };
	struct pkt in;

	if (v6) {
		pkt_init(&in);
		dpt_eth(&in);
		pkt_ip6(&in, &(struct ip6_spec){ .src = DPT_CLIENT6, .dst = dpt_vip6(svc) });
		pkt_ip6_ext(&in, 60, 96);
		pkt_tcp(&in, &(struct tcp_spec){ .sport = CPORT,
						 .dport = 80,
						 .seq = 1000,
						 .flags = TCP_F_SYN,
						 .opts = opts,
						 .optlen = 24 });
		pkt_finalize(&in);
	} else {
		tcp_opts(&in, false, svc, CPORT, TCP_F_SYN, opts, sizeof(opts));
	}
	if (!strip_flag(e, nh, true))
		return;
	run(e, &in, &x);
	strip_flag(e, nh, false);
}

TEST(router_policy)
{
	struct dpt_env e;
	int v;

	if (dpt_env_open(&e))
		return;
	for (v = 0; v < 2; v++) {
		bool v6 = v;
		char name[64];

#define SUB(fmt) (snprintf(name, sizeof(name), fmt "_v%d", v6 ? 6 : 4), tp_subtest(name))
		if (SUB("flowid_other_service"))
			flowid_other_service(&e, v6);
		if (SUB("tifid_other_service"))
			resume_other_service(&e, v6);
		if (SUB("flowid_behind_drop_rule"))
			behind_drop_rule(&e, v6, false);
		if (SUB("tifid_behind_drop_rule"))
			behind_drop_rule(&e, v6, true);
		if (SUB("flowid_forged"))
			forged(&e, v6, false);
		if (SUB("tifid_forged"))
			forged(&e, v6, true);
		if (SUB("flowid_genuine"))
			genuine(&e, v6, false);
		if (SUB("tifid_genuine"))
			genuine(&e, v6, true);
		if (SUB("syn_in_trailer"))
			syn_in_trailer(&e, v6);
		if (SUB("strip_impossible_dropped"))
			strip_impossible(&e, v6);
#undef SUB
	}
	if (tp_subtest("ext_header_in_trailer_v6"))
		ext_in_trailer(&e);
	if (tp_subtest("tcp_options_past_ip_v4"))
		options_past_ip4(&e);
	if (tp_subtest("no_key_no_trust_v4"))
		no_key(&e);
	if (tp_subtest("member_removed_from_set_v4"))
		member_removed(&e);
	dpt_env_close(&e);
}
