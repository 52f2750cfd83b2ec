// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Path MTU at the router (docs/datapath.md, "Path MTU"): the MSS option of a
 * forwarded SYN, and of a SYN-ACK of a known flow in return traffic, is
 * lowered to what fits the next hop's link once encapsulated (event
 * ev_mss_clamped); a packet that does not fit is answered with ICMP
 * "fragmentation needed" (IPv4 with DF) / ICMPv6 "packet too big" carrying the
 * MTU left for the inner packet (icmp_too_big, XDP_TX), or dropped
 * (drop_too_big) without DF or when the rate limit says no
 * (ev_icmp_ratelimited). Values are read from the output bytes here and
 * checked against numbers written out, every checksum by the independent
 * verifier (csum_verify.c).
 */
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "tp.h"
#include "dptest.h"
#include "svc_mtu.h"

/* Links: tpout0/tpin0 1500 (default veth MTU), tpmtu0 1280 (dptest.c). */
#define LINK_MTU 1500
#define SMALL_MTU 1280

static __u16 rd16(const __u8 *p)
{
	return (p[0] << 8) | p[1];
}

static __u32 rd32(const __u8 *p)
{
	return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}

/* A SYN (or SYN-ACK if @synack: from @dst to the client) with options @opts. */
static void syn_opts(struct pkt *p, bool v6, const char *vip, bool synack, const __u8 *opts,
		     size_t optlen)
{
	pkt_init(p);
	dpt_eth(p);
	if (v6)
		pkt_ip6(p, &(struct ip6_spec){ .src = synack ? vip : DPT_CLIENT6,
					       .dst = synack ? DPT_CLIENT6 : vip });
	else
		pkt_ip4(p, &(struct ip4_spec){ .src = synack ? vip : DPT_CLIENT4,
					       .dst = synack ? DPT_CLIENT4 : vip,
					       .frag = 0x4000 });
	pkt_tcp(p, &(struct tcp_spec){ .sport = synack ? 80 : 46000,
				       .dport = synack ? 46000 : 80,
				       .seq = 1000,
				       .ack = synack ? 1001 : 0,
				       .flags = synack ? TCP_F_SYN | TCP_F_ACK : TCP_F_SYN,
				       .opts = opts,
				       .optlen = optlen });
	pkt_finalize(p);
}

/*
 * A SYN with MSS 1460 (Linux's options) forwarded to @nh: the inner TCP
 * header's MSS is @want (link MTU - outer - inner IP - 20), checksums right.
 */
static void clamp_fwd(struct dpt_env *e, bool v6, int svc, __u32 nh, int want)
{
	struct dpt_expect x = { DPT_FWD(SVC_R_FWD_NEW, nh, svc) };
	const struct dpt_nh *m = dpt_nh_model(nh);
	struct dpt_result r;
	struct pkt in;
	size_t outer = m->family == 4 ? 20 : 40, inner_ip = v6 ? 40 : 20;

	syn_opts(&in, v6, v6 ? dpt_vip6(svc) : dpt_vip4(svc), false, pkt_linux_syn_opts,
		 sizeof(pkt_linux_syn_opts));
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !ASSERT_EQ(pkt_tcp_mss(in.buf + 14 + inner_ip), 1460, "input MSS") ||
	    !ASSERT_TRUE(dpt_fwd_clamps(in.buf, in.len, nh), "model clamps") ||
	    /* dpt_check: output = model, ev_mss_clamped counted with fwd_new, checksums */
	    !dpt_check(e, SVC_PROG_ROUTER, &in, &x, &r))
		return;
	ASSERT_EQ(pkt_tcp_mss(r.out + 14 + outer + inner_ip), want, "MSS in the forwarded SYN");
}

/* An MSS that fits is left alone, and no event counts (dpt_check). */
static void small_mss_kept(struct dpt_env *e)
{
	static const __u8 opts[4] = { 2, 4, 0x03, 0xe8 }; /* MSS 1000 */
	struct dpt_expect x = { DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4) };
	struct dpt_result r;
	struct pkt in;

	syn_opts(&in, false, dpt_vip4(SVC_FWD4), false, opts, sizeof(opts));
	if (ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") &&
	    ASSERT_FALSE(dpt_fwd_clamps(in.buf, in.len, NH_OUT4A), "model keeps it") &&
	    dpt_check(e, SVC_PROG_ROUTER, &in, &x, &r))
		ASSERT_EQ(pkt_tcp_mss(r.out + 14 + 20 + 20), 1000, "MSS kept");
}

/* MSS after a NOP: its value lies at an odd offset, the checksum update must swap bytes. */
static void odd_offset(struct dpt_env *e)
{
	static const __u8 opts[8] = { 1, 2, 4, 0x05, 0xb4, 1, 1, 0 };
	struct dpt_expect x = { DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4) };
	struct dpt_result r;
	struct pkt in;

	syn_opts(&in, false, dpt_vip4(SVC_FWD4), false, opts, sizeof(opts));
	if (ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") &&
	    dpt_check(e, SVC_PROG_ROUTER, &in, &x, &r))
		ASSERT_EQ(pkt_tcp_mss(r.out + 14 + 20 + 20), LINK_MTU - 60, "MSS at an odd offset");
}

/*
 * The instance's SYN-ACK for a flow the router forwarded, seen in return
 * traffic (entering on tpout0): passed, its MSS lowered to what the client's
 * segments may carry through the encapsulating path; one for a flow the
 * router does not know is passed unchanged.
 */
static void synack_return(struct dpt_env *e, bool v6)
{
	int svc = v6 ? SVC_FWD6 : SVC_FWD4;
	__u32 nh = v6 ? NH_OUT6A : NH_OUT4A;
	const char *vip = v6 ? dpt_vip6(svc) : dpt_vip4(svc);
	size_t ip = v6 ? 40 : 20;
	struct dpt_expect fwd = { DPT_FWD(SVC_R_FWD_NEW, nh, svc) };
	struct dpt_expect pass = { .verdict = XDP_PASS,
				   .counter = SVC_R_PASS_NO_SERVICE,
				   .out = DPT_OUT_UNCHANGED,
				   .ifdev = DPT_IF_OUT };
	struct svc_counter a[SVC_REASON_MAX], b[SVC_REASON_MAX];
	struct pkt syn, synack;
	struct dpt_result r;

	syn_opts(&syn, v6, vip, false, pkt_linux_syn_opts, sizeof(pkt_linux_syn_opts));
	syn_opts(&synack, v6, vip, true, pkt_linux_syn_opts, sizeof(pkt_linux_syn_opts));
	/* No flow: nothing to fit it to. */
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !dpt_check(e, SVC_PROG_ROUTER, &synack, &pass, NULL))
		return;
	if (!dpt_check(e, SVC_PROG_ROUTER, &syn, &fwd, NULL) ||
	    !ASSERT_OK(dpt_stats(e, SVC_PROG_ROUTER, a), "stats") ||
	    !ASSERT_OK(
		    dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_OUT], synack.buf, synack.len, &r),
		    "test run") ||
	    !ASSERT_OK(dpt_stats(e, SVC_PROG_ROUTER, b), "stats"))
		return;
	ASSERT_EQ(r.retval, XDP_PASS, "verdict");
	ASSERT_EQ(r.out_len, synack.len, "length");
	ASSERT_EQ(pkt_tcp_mss(r.out + 14 + ip), LINK_MTU - (v6 ? 40 : 20) - ip - 20,
		  "SYN-ACK MSS fitted to the client's encapsulated path");
	ASSERT_MEMEQ(r.out, 14 + ip + 16, synack.buf, 14 + ip + 16, "headers up to the checksum");
	dpt_verify_csums("SYN-ACK", r.out, r.out_len, v6 ? 1 : 2);
	ASSERT_EQ(b[SVC_R_PASS_NO_SERVICE].packets - a[SVC_R_PASS_NO_SERVICE].packets, 1,
		  "pass_no_service");
	ASSERT_EQ(b[SVC_R_EV_MSS_CLAMPED].packets - a[SVC_R_EV_MSS_CLAMPED].packets, 1,
		  "ev_mss_clamped");
}

/* A TCP packet of @ip_len bytes to @svc (IPv4 with DF), too big for the 1280 link once
 * encapsulated. */
static void big_tcp(struct pkt *p, bool v6, int svc, size_t ip_len)
{
	size_t hdrs = (v6 ? 40 : 20) + 20;

	pkt_init(p);
	dpt_eth(p);
	if (v6)
		pkt_ip6(p, &(struct ip6_spec){ .src = DPT_CLIENT6, .dst = dpt_vip6(svc) });
	else
		pkt_ip4(p, &(struct ip4_spec){
				   .src = DPT_CLIENT4, .dst = dpt_vip4(svc), .frag = 0x4000 });
	pkt_tcp(p, &(struct tcp_spec){ .sport = 46100,
				       .dport = 80,
				       .seq = 5000,
				       .ack = 7000,
				       .flags = TCP_F_ACK | TCP_F_PSH });
	pkt_payload(p, NULL, ip_len - hdrs);
	pkt_finalize(p);
}

/*
 * Checks @out is the ICMP reply to @in: MACs swapped, from the VIP to the
 * client, type/code, the MTU left for the inner packet, the quote = the
 * first bytes of the offending IP packet, lengths and every checksum.
 */
static void check_icmp(const struct pkt *in, const struct dpt_result *r, bool v6, __u32 mtu)
{
	size_t l3 = 14, q = v6 ? SVC_ICMP_QUOTE6 : SVC_ICMP_QUOTE4, ihl = v6 ? 40 : 20;
	const __u8 *o = r->out, *i = in->buf, *ic = o + l3 + ihl;

	if (!ASSERT_EQ(r->out_len, l3 + ihl + 8 + q, "reply length"))
		return;
	ASSERT_MEMEQ(o, 6, i + 6, 6, "eth dst = sender");
	ASSERT_MEMEQ(o + 6, 6, i, 6, "eth src = router");
	ASSERT_EQ(rd16(o + 12), v6 ? 0x86dd : 0x0800, "ethertype");
	if (v6) {
		ASSERT_EQ(o[l3] >> 4, 6, "version");
		ASSERT_EQ(rd16(o + l3 + 4), 8 + q, "payload length");
		ASSERT_EQ(o[l3 + 6], 58, "next header ICMPv6");
		ASSERT_MEMEQ(o + l3 + 8, 16, i + l3 + 24, 16, "src = VIP");
		ASSERT_MEMEQ(o + l3 + 24, 16, i + l3 + 8, 16, "dst = client");
		ASSERT_EQ(ic[0], 2, "type packet too big");
		ASSERT_EQ(ic[1], 0, "code 0");
		ASSERT_EQ(rd32(ic + 4), mtu, "MTU");
	} else {
		ASSERT_EQ(o[l3], 0x45, "version 4, IHL 5");
		ASSERT_EQ(rd16(o + l3 + 2), ihl + 8 + q, "total length");
		ASSERT_EQ(o[l3 + 9], 1, "protocol ICMP");
		ASSERT_MEMEQ(o + l3 + 12, 4, i + l3 + 16, 4, "src = VIP");
		ASSERT_MEMEQ(o + l3 + 16, 4, i + l3 + 12, 4, "dst = client");
		ASSERT_EQ(ic[0], 3, "type destination unreachable");
		ASSERT_EQ(ic[1], 4, "code fragmentation needed");
		ASSERT_EQ(rd16(ic + 4), 0, "unused");
		ASSERT_EQ(rd16(ic + 6), mtu, "next-hop MTU");
	}
	ASSERT_MEMEQ(ic + 8, q, i + l3, q, "quote = start of the offending packet");
	/* IPv4: IP header, ICMP, the quoted IP header; IPv6: ICMPv6 with its pseudo-header */
	dpt_verify_csums("ICMP reply", o, r->out_len, v6 ? 1 : 3);
}

static void too_big(struct dpt_env *e, bool v6)
{
	int svc = v6 ? SVC_MTU6 : SVC_MTU4;
	size_t outer = v6 ? 40 : 20; /* NH_MTU6 is IPv6, NH_MTU4 IPv4 */
	struct dpt_expect x = {
		.verdict = XDP_TX, .counter = SVC_R_ICMP_TOO_BIG, .out = DPT_OUT_ANY, .rule = svc
	};
	struct dpt_expect fits = { DPT_FWD(SVC_R_FWD_FLOW_HIT, v6 ? NH_MTU6 : NH_MTU4, 0) };
	struct dpt_result r;
	struct pkt in;

	/* one byte more than fits; then exactly what fits is forwarded */
	big_tcp(&in, v6, svc, SMALL_MTU - outer + 1);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !dpt_check(e, SVC_PROG_ROUTER, &in, &x, &r))
		return;
	check_icmp(&in, &r, v6, SMALL_MTU - outer);
	big_tcp(&in, v6, svc, SMALL_MTU - outer);
	dpt_check(e, SVC_PROG_ROUTER, &in, &fits, NULL);
}

/* A UDP datagram with DF, too big: the same answer (what an application sees as EMSGSIZE). */
static void too_big_udp4(struct dpt_env *e)
{
	struct dpt_expect x = { .verdict = XDP_TX,
				.counter = SVC_R_ICMP_TOO_BIG,
				.out = DPT_OUT_ANY,
				.rule = SVC_MTU4 };
	struct dpt_result r;
	struct pkt in;

	pkt_init(&in);
	dpt_eth(&in);
	pkt_ip4(&in, &(struct ip4_spec){
			     .src = DPT_CLIENT4, .dst = dpt_vip4(SVC_MTU4), .frag = 0x4000 });
	pkt_udp(&in, 46200, 53);
	pkt_payload(&in, NULL, 1400);
	pkt_finalize(&in);
	if (ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") &&
	    dpt_check(e, SVC_PROG_ROUTER, &in, &x, &r))
		check_icmp(&in, &r, false, SMALL_MTU - 20);
}

/* IPv4 without DF: the sender allows fragmentation, which XDP cannot do: dropped, no ICMP. */
static void no_df_dropped(struct dpt_env *e)
{
	struct dpt_expect x = { DPT_DROP(SVC_R_DROP_TOO_BIG), .rule = SVC_MTU4 };
	struct pkt in;

	big_tcp(&in, false, SVC_MTU4, SMALL_MTU);
	in.buf[14 + 6] = 0; /* clear DF */
	pkt_ip4_csum_fix(in.buf + 14);
	if (ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		dpt_check(e, SVC_PROG_ROUTER, &in, &x, NULL);
}

static bool set_limit(struct dpt_env *e, __u64 interval_ns, __u32 burst)
{
	struct svc_mtu_cfg c = { .icmp_interval_ns = interval_ns, .icmp_burst = burst };
	__u8 empty[64] = { 0 }; /* the bucket, zeroed: full again (its value is 24 bytes) */
	int cfd = svc_dp_map_fd(e->dp, "mtu_cfg"), bfd = svc_dp_map_fd(e->dp, "icmp_bucket");
	__u32 zero = 0;

	return ASSERT_GE(cfd, 0, "mtu_cfg fd") && ASSERT_GE(bfd, 0, "icmp_bucket fd") &&
	       ASSERT_OK(bpf_map_update_elem(cfd, &zero, &c, 0), "mtu_cfg update") &&
	       ASSERT_OK(bpf_map_update_elem(bfd, &zero, empty, 0), "icmp_bucket reset");
}

/*
 * Rate limit: one reply per hour, bursts of 2: of three too-big packets in a
 * row, two are answered, the third is dropped and counted as such.
 */
static void rate_limited(struct dpt_env *e)
{
	struct svc_counter a[SVC_REASON_MAX], b[SVC_REASON_MAX];
	struct dpt_result r;
	struct pkt in;
	int i;

	big_tcp(&in, true, SVC_MTU6, SMALL_MTU);
	if (!set_limit(e, 3600ULL * 1000000000ULL, 2) ||
	    !ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !ASSERT_OK(dpt_stats(e, SVC_PROG_ROUTER, a), "stats"))
		goto out;
	for (i = 0; i < 3; i++) {
		if (!ASSERT_OK(dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in.buf, in.len, &r),
			       "test run"))
			goto out;
		ASSERT_EQ(r.retval, i < 2 ? XDP_TX : XDP_DROP, i < 2 ? "answered" : "limited");
	}
	if (!ASSERT_OK(dpt_stats(e, SVC_PROG_ROUTER, b), "stats"))
		goto out;
	ASSERT_EQ(b[SVC_R_ICMP_TOO_BIG].packets - a[SVC_R_ICMP_TOO_BIG].packets, 2, "icmp_too_big");
	ASSERT_EQ(b[SVC_R_DROP_TOO_BIG].packets - a[SVC_R_DROP_TOO_BIG].packets, 1, "drop_too_big");
	ASSERT_EQ(b[SVC_R_EV_ICMP_RATELIMITED].packets - a[SVC_R_EV_ICMP_RATELIMITED].packets, 1,
		  "ev_icmp_ratelimited");
out:
	set_limit(e, 0, 0);
}

TEST(router_mtu)
{
	struct dpt_env e;

	if (dpt_env_open(&e))
		return;
	if (tp_subtest("mss_clamped_v4_in_v4"))
		clamp_fwd(&e, false, SVC_FWD4, NH_OUT4A, LINK_MTU - 20 - 20 - 20);
	if (tp_subtest("mss_clamped_v6_in_v6"))
		clamp_fwd(&e, true, SVC_FWD6, NH_OUT6A, LINK_MTU - 40 - 40 - 20);
	if (tp_subtest("mss_clamped_v4_small_link"))
		clamp_fwd(&e, false, SVC_MTU4, NH_MTU4, SMALL_MTU - 20 - 20 - 20);
	if (tp_subtest("mss_clamped_v6_small_link"))
		clamp_fwd(&e, true, SVC_MTU6, NH_MTU6, SMALL_MTU - 40 - 40 - 20);
	if (tp_subtest("mss_small_kept"))
		small_mss_kept(&e);
	if (tp_subtest("mss_odd_offset"))
		odd_offset(&e);
	if (tp_subtest("synack_return_v4"))
		synack_return(&e, false);
	if (tp_subtest("synack_return_v6"))
		synack_return(&e, true);
	if (tp_subtest("icmp_frag_needed_v4"))
		too_big(&e, false);
	if (tp_subtest("icmp_packet_too_big_v6"))
		too_big(&e, true);
	if (tp_subtest("icmp_frag_needed_udp4"))
		too_big_udp4(&e);
	if (tp_subtest("no_df_dropped_v4"))
		no_df_dropped(&e);
	if (tp_subtest("icmp_rate_limited"))
		rate_limited(&e);
	dpt_env_close(&e);
}
