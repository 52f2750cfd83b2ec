// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Instance unavailable (docs/datapath.md): a TCP packet of a flow whose next
 * hop is marked SVC_NH_F_RESET (dead or shed) is answered by the router with
 * a RST back to the client (XDP_TX, counter reset_dead); a UDP flow to it is
 * re-resolved by the consistent hash. Health signals in return traffic: a
 * refused SYN (RST+ACK, seq 0) or an ICMP unreachable from an instance counts
 * in nh_signals for the flow's next hop.
 */
#include <string.h>
#include <arpa/inet.h>
#include "tp.h"
#include "dptest.h"
#include "svc_tiflow.h"

/* Marks next hop @id dead (RESET, not up) or restores it, keeping its address. */
static bool set_dead(struct dpt_env *e, __u32 id, bool dead)
{
	struct svc_nexthop nh = { 0 };
	const struct dpt_nh *m = dpt_nh_model(id);

	if (!ASSERT_OK_PTR(m, "next hop model") || !ASSERT_OK(dpt_addr(m->addr, &nh.addr), "addr"))
		return false;
	nh.flags = (m->family == 6 ? SVC_NH_F_V6 : 0) | (dead ? SVC_NH_F_RESET : SVC_NH_F_UP);
	return ASSERT_OK(svc_dp_nexthop_update(e->dp, id, &nh), "svc_dp_nexthop_update");
}

static __u16 rd16(const __u8 *p)
{
	return (p[0] << 8) | p[1];
}

static __u32 rd32(const __u8 *p)
{
	return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}

/*
 * Checks @out is the RST answering @in: MACs, addresses and ports swapped,
 * no options or payload, seq = the input's ACK (or RST+ACK acknowledging a
 * segment without ACK), valid checksums.
 */
static void check_rst(const struct pkt *in, const struct dpt_result *r, bool v6, bool in_ack,
		      size_t trailer)
{
	size_t l3 = 14, ihl = v6 ? 40 : 20, l4 = l3 + ihl;
	const __u8 *o = r->out, *i = in->buf;
	__u32 in_seq = rd32(i + l4 + 4), in_ack_no = rd32(i + l4 + 8);
	/* The segment ends where the IP packet does, not where the frame does. */
	size_t in_payload = in->len - trailer - l4 - ((i[l4 + 12] >> 4) * 4);

	if (!ASSERT_EQ(r->out_len, l4 + 20, "RST frame length (no options, no payload)"))
		return;
	ASSERT_MEMEQ(o, 6, i + 6, 6, "eth dst = sender");
	ASSERT_MEMEQ(o + 6, 6, i, 6, "eth src = router");
	if (v6) {
		ASSERT_MEMEQ(o + l3 + 8, 16, i + l3 + 24, 16, "ip6 src = VIP");
		ASSERT_MEMEQ(o + l3 + 24, 16, i + l3 + 8, 16, "ip6 dst = client");
		ASSERT_EQ(rd16(o + l3 + 4), 20, "ip6 payload length");
	} else {
		ASSERT_MEMEQ(o + l3 + 12, 4, i + l3 + 16, 4, "ip src = VIP");
		ASSERT_MEMEQ(o + l3 + 16, 4, i + l3 + 12, 4, "ip dst = client");
		ASSERT_EQ(rd16(o + l3 + 2), 40, "ip total length");
	}
	ASSERT_EQ(rd16(o + l4), rd16(i + l4 + 2), "tcp sport = service port");
	ASSERT_EQ(rd16(o + l4 + 2), rd16(i + l4), "tcp dport = client port");
	ASSERT_EQ(o[l4 + 12] >> 4, 5, "tcp data offset");
	ASSERT_EQ(rd16(o + l4 + 14), 0, "tcp window");
	if (in_ack) {
		ASSERT_EQ(o[l4 + 13], TCP_F_RST, "flags RST");
		ASSERT_EQ(rd32(o + l4 + 4), in_ack_no, "seq = the client's ACK (RFC 793/5961)");
	} else {
		ASSERT_EQ(o[l4 + 13], TCP_F_RST | TCP_F_ACK, "flags RST+ACK");
		/* SYN and FIN each take one sequence number. */
		ASSERT_EQ(rd32(o + l4 + 8),
			  in_seq + in_payload + !!(i[l4 + 13] & TCP_F_SYN) +
				  !!(i[l4 + 13] & TCP_F_FIN),
			  "ack = seq + segment length");
	}
	dpt_verify_csums("RST", o, r->out_len, v6 ? 1 : 2);
}

/*
 * Establish a flow on @nh, kill @nh, send a packet of the flow (with @trailer
 * bytes after its IP packet): RST, XDP_TX.
 */
static void reset_flow_t(struct dpt_env *e, int svc, __u32 nh, bool v6, __u8 flags, size_t payload,
			 size_t trailer)
{
	struct dpt_expect fwd = { .verdict = dpt_fwd_verdict(nh),
				  .counter = SVC_R_FWD_NEW,
				  .out = DPT_OUT_FWD,
				  .nh = nh,
				  .rule = svc };
	struct dpt_expect rst = { .verdict = XDP_TX,
				  .counter = SVC_R_RESET_DEAD,
				  .out = DPT_OUT_ANY };
	struct dpt_result r;
	struct pkt syn, data;

	if (v6) {
		dpt_tcp6(&syn, dpt_vip6(svc), 44000, 80, TCP_F_SYN, 0);
		dpt_tcp6(&data, dpt_vip6(svc), 44000, 80, flags, payload);
	} else {
		dpt_tcp4(&syn, dpt_vip4(svc), 44000, 80, TCP_F_SYN, 0);
		dpt_tcp4(&data, dpt_vip4(svc), 44000, 80, flags, payload);
	}
	memset(data.buf + data.len, 0xee, trailer);
	data.len += trailer;
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !dpt_check(e, SVC_PROG_ROUTER, &syn, &fwd, NULL) || !set_dead(e, nh, true))
		goto out;
	if (dpt_check(e, SVC_PROG_ROUTER, &data, &rst, &r))
		check_rst(&data, &r, v6, flags & TCP_F_ACK, trailer);
out:
	set_dead(e, nh, false);
}

static void reset_flow(struct dpt_env *e, int svc, __u32 nh, bool v6, __u8 flags, size_t payload)
{
	reset_flow_t(e, svc, nh, v6, flags, payload, 0);
}

/* A RST from the client to a dead instance is dropped, never answered. */
static void rst_not_answered(struct dpt_env *e)
{
	struct dpt_expect fwd = { .verdict = XDP_REDIRECT,
				  .counter = SVC_R_FWD_NEW,
				  .out = DPT_OUT_FWD,
				  .nh = NH_OUT4A,
				  .rule = SVC_FWD4 };
	struct dpt_expect drop = { .verdict = XDP_DROP,
				   .counter = SVC_R_RESET_DEAD,
				   .out = DPT_OUT_ANY };
	struct pkt syn, rst;

	dpt_tcp4(&syn, dpt_vip4(SVC_FWD4), 44100, 80, TCP_F_SYN, 0);
	dpt_tcp4(&rst, dpt_vip4(SVC_FWD4), 44100, 80, TCP_F_RST | TCP_F_ACK, 0);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !dpt_check(e, SVC_PROG_ROUTER, &syn, &fwd, NULL) || !set_dead(e, NH_OUT4A, true))
		goto out;
	dpt_check(e, SVC_PROG_ROUTER, &rst, &drop, NULL);
out:
	set_dead(e, NH_OUT4A, false);
}

/* A UDP flow on a dead next hop is re-resolved (here: the set still names it, so dropped). */
static void udp_not_reset(struct dpt_env *e)
{
	struct dpt_expect fwd = { .verdict = XDP_REDIRECT,
				  .counter = SVC_R_FWD_NEW,
				  .out = DPT_OUT_FWD,
				  .nh = NH_OUT4A,
				  .rule = SVC_FWD4 };
	struct dpt_expect drop = { .verdict = XDP_DROP,
				   .counter = SVC_R_DROP_NO_NEXTHOP,
				   .out = DPT_OUT_ANY,
				   .rule = SVC_FWD4 };
	struct pkt u;

	dpt_udp4(&u, dpt_vip4(SVC_FWD4), 44200, 53, 10);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !dpt_check(e, SVC_PROG_ROUTER, &u, &fwd, NULL) || !set_dead(e, NH_OUT4A, true))
		goto out;
	dpt_check(e, SVC_PROG_ROUTER, &u, &drop, NULL);
out:
	set_dead(e, NH_OUT4A, false);
}

/* ---- health signals in return traffic (nh_signals) ---- */

static bool signals(struct dpt_env *e, __u32 nh, struct svc_nh_signals *out)
{
	return ASSERT_OK(svc_dp_nh_signals_read(e->dp, nh, out), "svc_dp_nh_signals_read");
}

/* What instance @vip's host sends back to the client: a RST+ACK with sequence @seq. */
static void reply_rst(struct pkt *p, bool v6, const char *vip, __u32 seq)
{
	pkt_init(p);
	dpt_eth(p);
	if (v6)
		pkt_ip6(p, &(struct ip6_spec){ .src = vip, .dst = DPT_CLIENT6 });
	else
		pkt_ip4(p, &(struct ip4_spec){ .src = vip, .dst = DPT_CLIENT4 });
	pkt_tcp(p, &(struct tcp_spec){ .sport = 80,
				       .dport = 44300,
				       .seq = seq,
				       .ack = 1001,
				       .flags = TCP_F_RST | TCP_F_ACK });
	pkt_finalize(p);
}

/* ICMP port unreachable from the instance (source VIP) quoting the client's UDP packet. */
static void reply_unreach4(struct pkt *p, const char *vip)
{
	struct pkt q;

	pkt_init(&q);
	pkt_ip4(&q, &(struct ip4_spec){ .src = DPT_CLIENT4, .dst = vip });
	pkt_udp(&q, 44301, 53);
	pkt_payload(&q, NULL, 10);
	pkt_finalize(&q);
	pkt_init(p);
	dpt_eth(p);
	pkt_ip4(p, &(struct ip4_spec){ .src = vip, .dst = DPT_CLIENT4 });
	pkt_icmp4(p, 3 /* unreachable */, 3 /* port */, 0);
	pkt_ip_bytes(p, q.buf, q.len);
	pkt_finalize(p);
}

/* An instance refusing a SYN (RST+ACK, seq 0) counts a syn_rst for its next hop; others don't. */
static void signal_syn_rst(struct dpt_env *e, bool v6)
{
	int svc = v6 ? SVC_FWD6 : SVC_FWD4;
	__u32 nh = v6 ? NH_OUT6A : NH_OUT4A;
	const char *vip = v6 ? dpt_vip6(svc) : dpt_vip4(svc);
	struct dpt_expect fwd = { .verdict = XDP_REDIRECT,
				  .counter = SVC_R_FWD_NEW,
				  .out = DPT_OUT_FWD,
				  .nh = nh,
				  .rule = svc };
	struct dpt_expect pass = { .verdict = XDP_PASS,
				   .counter = SVC_R_PASS_NO_SERVICE,
				   .out = DPT_OUT_UNCHANGED };
	struct svc_nh_signals s0, s1, s2;
	struct pkt syn, refused, abort_rst;

	if (v6)
		dpt_tcp6(&syn, vip, 44300, 80, TCP_F_SYN, 0);
	else
		dpt_tcp4(&syn, vip, 44300, 80, TCP_F_SYN, 0);
	reply_rst(&refused, v6, vip, 0);
	reply_rst(&abort_rst, v6, vip, 777);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !dpt_check(e, SVC_PROG_ROUTER, &syn, &fwd, NULL) || !signals(e, nh, &s0))
		return;
	if (!dpt_check(e, SVC_PROG_ROUTER, &refused, &pass, NULL) || !signals(e, nh, &s1))
		return;
	ASSERT_EQ(s1.syn_rst, s0.syn_rst + 1, "syn_rst after a refused SYN");
	ASSERT_EQ(s1.icmp_unreach, s0.icmp_unreach, "icmp_unreach unchanged");
	/* A RST that aborts an established connection (seq != 0) is no signal. */
	if (!dpt_check(e, SVC_PROG_ROUTER, &abort_rst, &pass, NULL) || !signals(e, nh, &s2))
		return;
	ASSERT_EQ(s2.syn_rst, s1.syn_rst, "syn_rst unchanged by an abort RST");
}

/* ICMP port unreachable from the instance about a client's UDP flow: icmp_unreach. */
static void signal_unreach(struct dpt_env *e)
{
	struct dpt_expect fwd = { .verdict = XDP_REDIRECT,
				  .counter = SVC_R_FWD_NEW,
				  .out = DPT_OUT_FWD,
				  .nh = NH_OUT4A,
				  .rule = SVC_FWD4 };
	struct dpt_expect pass = { .verdict = XDP_PASS,
				   .counter = SVC_R_PASS_ICMP_OTHER,
				   .out = DPT_OUT_UNCHANGED };
	struct svc_nh_signals s0, s1;
	struct pkt u, unreach;

	dpt_udp4(&u, dpt_vip4(SVC_FWD4), 44301, 53, 10);
	reply_unreach4(&unreach, dpt_vip4(SVC_FWD4));
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !dpt_check(e, SVC_PROG_ROUTER, &u, &fwd, NULL) || !signals(e, NH_OUT4A, &s0) ||
	    !dpt_check(e, SVC_PROG_ROUTER, &unreach, &pass, NULL) || !signals(e, NH_OUT4A, &s1))
		return;
	ASSERT_EQ(s1.icmp_unreach, s0.icmp_unreach + 1, "icmp_unreach after a port unreachable");
	ASSERT_EQ(s1.syn_rst, s0.syn_rst, "syn_rst unchanged");
}

/* ---- option stripping for instance hosts without svcplane ---- */

/* A SYN to SVC_FWD4 carrying MSS and, if @tiflow, a TI-flow option opening a new flow. */
static void syn_opts(struct pkt *p, bool tiflow)
{
	static const __u8 opts[24] = { 2,
				       4,
				       0x05,
				       0xb4, /* MSS 1460 */
				       SVC_TIFLOW_KIND_DEFAULT,
				       SVC_TIFLOW_LEN,
				       0x11,
				       0x22,
				       0x33,
				       0,
				       0,
				       0, /* TIFID: initiator half only */
				       0,
				       0,
				       0,
				       0,
				       0,
				       0x2a, /* TISeq 42 */
				       0,
				       0,
				       0,
				       0,
				       0,
				       0 }; /* TIAck 0 */

	pkt_init(p);
	dpt_eth(p);
	pkt_ip4(p, &(struct ip4_spec){ .src = DPT_CLIENT4, .dst = dpt_vip4(SVC_FWD4), .id = 9 });
	pkt_tcp(p, &(struct tcp_spec){ .sport = 44400,
				       .dport = 80,
				       .seq = 1000,
				       .flags = TCP_F_SYN,
				       .opts = opts,
				       .optlen = tiflow ? 24 : 4 });
	pkt_finalize(p);
}

/*
 * strip_run - with NH_OUT4A flagged SVC_NH_F_STRIP_OPTS and an empty flow
 * table, @in must be forwarded (XDP_REDIRECT) as exactly @exp with valid
 * checksums; @before/@after get the router counters around the run.
 */
static bool strip_run(struct dpt_env *e, const struct pkt *in, const struct pkt *exp,
		      struct svc_counter *before, struct svc_counter *after)
{
	const struct dpt_nh *m = dpt_nh_model(NH_OUT4A);
	struct svc_nexthop nh = { .flags = SVC_NH_F_UP | SVC_NH_F_STRIP_OPTS };
	struct dpt_result r;

	if (!ASSERT_OK_PTR(m, "model") || !ASSERT_OK(dpt_addr(m->addr, &nh.addr), "addr") ||
	    !ASSERT_OK(svc_dp_nexthop_update(e->dp, NH_OUT4A, &nh), "nexthop strip flag") ||
	    !ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !ASSERT_OK(dpt_stats(e, SVC_PROG_ROUTER, before), "stats") ||
	    !ASSERT_OK(dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in->buf, in->len, &r),
		       "test run"))
		return false;
	ASSERT_EQ(r.retval, XDP_REDIRECT, "verdict");
	ASSERT_MEMEQ(r.out, r.out_len, exp->buf, exp->len, "output frame");
	dpt_verify_csums("output", r.out, r.out_len, 2);
	return ASSERT_OK(dpt_stats(e, SVC_PROG_ROUTER, after), "stats");
}

/*
 * A next hop flagged SVC_NH_F_STRIP_OPTS gets the packet without svcplane's
 * options (the tail-called strip stage), the rest byte for byte: expected =
 * the forward of the same SYN built without the option.
 */
static void strip_for_plain_host(struct dpt_env *e)
{
	struct svc_counter before[SVC_REASON_MAX], after[SVC_REASON_MAX];
	struct pkt in, plain, exp;

	syn_opts(&in, true);
	syn_opts(&plain, false);
	dpt_expect_fwd(&exp, plain.buf, plain.len, NH_OUT4A);
	if (strip_run(e, &in, &exp, before, after)) {
		/* One verdict, counted with the frame's length as it arrived, plus the event. */
		ASSERT_EQ(after[SVC_R_FWD_NEW].packets, before[SVC_R_FWD_NEW].packets + 1,
			  "fwd_new");
		ASSERT_EQ(after[SVC_R_FWD_NEW].bytes, before[SVC_R_FWD_NEW].bytes + in.len,
			  "fwd_new bytes");
		ASSERT_EQ(after[SVC_R_EV_OPT_STRIPPED].packets,
			  before[SVC_R_EV_OPT_STRIPPED].packets + 1, "ev_opt_stripped");
		ASSERT_EQ(after[SVC_R_PASS_NOT_IP].packets, before[SVC_R_PASS_NOT_IP].packets,
			  "no second verdict counted");
	}
	set_dead(e, NH_OUT4A, false);
}

/*
 * Options that are not svcplane's (MSS only) toward a strip host: forwarded
 * unchanged, and no strip event counted (nothing was stripped).
 */
static void strip_nothing_to_strip(struct dpt_env *e)
{
	struct svc_counter before[SVC_REASON_MAX], after[SVC_REASON_MAX];
	struct pkt in, exp;

	syn_opts(&in, false);
	dpt_expect_fwd(&exp, in.buf, in.len, NH_OUT4A);
	if (strip_run(e, &in, &exp, before, after)) {
		ASSERT_EQ(after[SVC_R_FWD_NEW].packets, before[SVC_R_FWD_NEW].packets + 1,
			  "fwd_new");
		ASSERT_EQ(after[SVC_R_EV_OPT_STRIPPED].packets,
			  before[SVC_R_EV_OPT_STRIPPED].packets, "no ev_opt_stripped");
		ASSERT_EQ(after[SVC_R_DROP_NOT_STRIPPED].packets,
			  before[SVC_R_DROP_NOT_STRIPPED].packets, "no drop_not_stripped");
	}
	set_dead(e, NH_OUT4A, false);
}

/* Without the flag the options stay: the same SYN is forwarded unchanged. */
static void no_strip_by_default(struct dpt_env *e)
{
	struct pkt in;
	struct dpt_expect x = { .verdict = XDP_REDIRECT,
				.counter = SVC_R_FWD_NEW,
				.out = DPT_OUT_FWD,
				.nh = NH_OUT4A,
				.rule = SVC_FWD4 };

	syn_opts(&in, true);
	if (ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		dpt_check(e, SVC_PROG_ROUTER, &in, &x, NULL);
}

TEST(router_reset)
{
	struct dpt_env e;

	if (dpt_env_open(&e))
		return;
	if (tp_subtest("data_ack_v4"))
		reset_flow(&e, SVC_FWD4, NH_OUT4A, false, TCP_F_ACK | TCP_F_PSH, 20);
	if (tp_subtest("data_ack_v6"))
		reset_flow(&e, SVC_FWD6, NH_OUT6A, true, TCP_F_ACK | TCP_F_PSH, 20);
	if (tp_subtest("fin_no_ack_v4"))
		reset_flow(&e, SVC_FWD4, NH_OUT4A, false, TCP_F_FIN, 0);
	/* A trailer after the IP packet is not payload: the RST's ACK counts the IP length. */
	if (tp_subtest("trailer_not_acked_v4"))
		reset_flow_t(&e, SVC_FWD4, NH_OUT4A, false, TCP_F_PSH, 10, 6);
	if (tp_subtest("trailer_not_acked_v6"))
		reset_flow_t(&e, SVC_FWD6, NH_OUT6A, true, TCP_F_PSH, 10, 6);
	if (tp_subtest("rst_not_answered_v4"))
		rst_not_answered(&e);
	if (tp_subtest("udp_not_reset_v4"))
		udp_not_reset(&e);
	if (tp_subtest("signal_syn_rst_v4"))
		signal_syn_rst(&e, false);
	if (tp_subtest("signal_syn_rst_v6"))
		signal_syn_rst(&e, true);
	if (tp_subtest("signal_icmp_unreach_v4"))
		signal_unreach(&e);
	if (tp_subtest("strip_options_for_plain_host_v4"))
		strip_for_plain_host(&e);
	if (tp_subtest("strip_nothing_to_strip_v4"))
		strip_nothing_to_strip(&e);
	if (tp_subtest("options_kept_by_default_v4"))
		no_strip_by_default(&e);
	dpt_env_close(&e);
}
