// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Endpoint decapsulation (docs/datapath.md, "Endpoint"): each encapsulation
 * (IPv4/IPv6 in IPv4/IPv6) from a known router is stripped with Ethernet and
 * VLAN tags kept; unknown sources and bad inner packets are dropped; anything
 * else is passed untouched. Then the round trip: the router's own output,
 * decapsulated, is the client's IP packet byte for byte.
 */
#include "tp.h"
#include "dptest.h"

#define INSTANCE4 "10.1.0.10"
#define INSTANCE6 "fd00:1::10"

/* The client's packet to a VIP, as the router received it (IP header on). */
static void inner(struct pkt *q, bool v6, size_t payload)
{
	struct tcp_spec t = { .sport = 45000,
			      .dport = 80,
			      .seq = 1,
			      .flags = TCP_F_SYN,
			      .opts = pkt_linux_syn_opts,
			      .optlen = sizeof(pkt_linux_syn_opts) };

	pkt_init(q);
	if (v6)
		pkt_ip6(q, &(struct ip6_spec){ .src = DPT_CLIENT6,
					       .dst = dpt_vip6(SVC_FWD6),
					       .tclass = 0x10,
					       .flowlabel = 0xbeef });
	else
		pkt_ip4(q, &(struct ip4_spec){ .src = DPT_CLIENT4,
					       .dst = dpt_vip4(SVC_FWD4),
					       .tos = 0x10,
					       .id = 3,
					       .frag = 0x4000 });
	pkt_tcp(q, &t);
	if (payload)
		pkt_payload(q, NULL, payload);
	pkt_finalize(q);
}

/*
 * Ethernet (+ @vlans tags) + outer header from @src (family @outer6) +
 * @in_len bytes of the inner packet (family @inner6, or its first bytes).
 */
static void encap(struct pkt *p, int vlans, bool outer6, const char *src, bool inner6,
		  size_t in_len, const __u8 *opts, size_t optlen)
{
	struct pkt q;
	__u8 dst[6], smac[6];
	int i;

	inner(&q, inner6, 33);
	pkt_mac("02:00:00:01:00:0a", dst);
	pkt_mac("02:00:00:00:01:01", smac);
	pkt_init(p);
	pkt_eth(p, dst, smac);
	for (i = 0; i < vlans; i++)
		pkt_vlan(p, i ? 0x8100 : 0x88a8, 10 + i);
	if (outer6)
		pkt_ip6(p, &(struct ip6_spec){ .src = src, .dst = INSTANCE6, .flowlabel = 0x1234 });
	else
		pkt_ip4(p, &(struct ip4_spec){
				   .src = src, .dst = INSTANCE4, .opts = opts, .optlen = optlen });
	pkt_raw(p, 0, inner6 ? 41 : 4, q.buf, in_len ? in_len : q.len);
	pkt_finalize(p);
}

static void v4_in_v4(struct pkt *p)
{
	encap(p, 0, false, DPT_SRC4, false, 0, NULL, 0);
}

static void v6_in_v6(struct pkt *p)
{
	encap(p, 0, true, DPT_SRC6, true, 0, NULL, 0);
}

static void v4_in_v6(struct pkt *p)
{
	encap(p, 0, true, DPT_SRC6, false, 0, NULL, 0);
}

static void v6_in_v4(struct pkt *p)
{
	encap(p, 0, false, DPT_SRC4, true, 0, NULL, 0);
}

static void vlan_v4_in_v6(struct pkt *p)
{
	encap(p, 1, true, DPT_SRC6, false, 0, NULL, 0);
}

static void qinq_v6_in_v4(struct pkt *p)
{
	encap(p, 2, false, DPT_SRC4, true, 0, NULL, 0);
}

static void outer_options_v4_in_v4(struct pkt *p)
{
	static const __u8 opts[8] = { 0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00 };

	encap(p, 0, false, DPT_SRC4, false, 0, opts, sizeof(opts));
}

static void unknown_src_v4(struct pkt *p)
{
	encap(p, 0, false, DPT_UNKNOWN_SRC4, false, 0, NULL, 0);
}

static void unknown_src_v6(struct pkt *p)
{
	encap(p, 0, true, DPT_UNKNOWN_SRC6, true, 0, NULL, 0);
}

static void unknown_src_v6_in_v4(struct pkt *p)
{
	encap(p, 0, false, DPT_UNKNOWN_SRC4, true, 0, NULL, 0);
}

static void inner_truncated_v4(struct pkt *p)
{
	encap(p, 0, false, DPT_SRC4, false, 19, NULL, 0);
}

static void inner_truncated_v6(struct pkt *p)
{
	encap(p, 0, true, DPT_SRC6, true, 39, NULL, 0);
}

static void inner_wrong_version_4(struct pkt *p)
{
	/* Outer protocol 4 (IPv4) but the inner header is IPv6. */
	encap(p, 0, false, DPT_SRC4, true, 0, NULL, 0);
	pkt_layer_ptr(p, PKT_IP4, 0)[9] = 4;
	pkt_ip4_csum_fix(pkt_layer_ptr(p, PKT_IP4, 0));
}

static void inner_wrong_version_41(struct pkt *p)
{
	/* Outer next header 41 (IPv6) but the inner header is IPv4. */
	encap(p, 0, true, DPT_SRC6, false, 0, NULL, 0);
	pkt_layer_ptr(p, PKT_IP6, 0)[6] = 41;
}

static void plain_tcp_v4(struct pkt *p)
{
	dpt_tcp4(p, dpt_vip4(SVC_FWD4), 45001, 80, TCP_F_SYN, 0);
}

static void plain_udp_v6(struct pkt *p)
{
	dpt_udp6(p, dpt_vip6(SVC_FWD6), 45001, 53, 9);
}

static void arp(struct pkt *p)
{
	__u8 dst[6], src[6];

	dpt_if_mac(DPT_IF_OUT, src);
	pkt_mac("ff:ff:ff:ff:ff:ff", dst);
	pkt_init(p);
	pkt_eth_type(p, dst, src, 0x0806);
	pkt_payload(p, NULL, 28);
}

static void gre_v4(struct pkt *p)
{
	struct pkt q;

	inner(&q, false, 0);
	pkt_init(p);
	dpt_eth(p);
	pkt_ip4(p, &(struct ip4_spec){ .src = DPT_SRC4, .dst = INSTANCE4 });
	pkt_raw(p, 0, 47, q.buf, q.len);
	pkt_finalize(p);
}

static void malformed_outer_v4(struct pkt *p)
{
	encap(p, 0, false, DPT_SRC4, false, 0, NULL, 0);
	p->buf[14] = 0x44; /* IHL 4 */
}

static void malformed_outer_v4_totlen(struct pkt *p)
{
	encap(p, 0, false, DPT_SRC4, false, 0, NULL, 0);
	/* total length one byte past the frame, header checksum kept right */
	p->buf[14 + 2] = (p->len - 14 + 1) >> 8;
	p->buf[14 + 3] = (p->len - 14 + 1) & 0xff;
	pkt_ip4_csum_fix(p->buf + 14);
}

static void malformed_outer_v6(struct pkt *p)
{
	encap(p, 0, true, DPT_SRC6, true, 0, NULL, 0);
	p->buf[14 + 4] = 0x7f; /* payload length far past the frame */
}

#define DECAP \
	.prog = SVC_PROG_ENDPOINT, .verdict = XDP_PASS, .counter = SVC_R_DECAP, .out = DPT_OUT_DECAP

static const struct dpt_fixture rows[] = {
	{ "decap_v4_in_v4", "IPIP from the router", v4_in_v4, DECAP },
	{ "decap_v6_in_v6", "IP6IP6 from the router", v6_in_v6, DECAP },
	{ "decap_v4_in_v6", "IPv4 in IPv6: ethertype becomes IPv4", v4_in_v6, DECAP },
	{ "decap_v6_in_v4", "IPv6 in IPv4: ethertype becomes IPv6", v6_in_v4, DECAP },
	{ "decap_vlan_v4_in_v6", "VLAN tag kept, its ethertype set to IPv4", vlan_v4_in_v6, DECAP },
	{ "decap_qinq_v6_in_v4", "two tags kept, inner ethertype set to IPv6", qinq_v6_in_v4,
	  DECAP },
	{ "decap_outer_options", "outer IPv4 header with 8 bytes of options removed whole",
	  outer_options_v4_in_v4, DECAP },
	{ "unknown_source_v4", "IPIP from a source not in decap_sources", unknown_src_v4,
	  .prog = SVC_PROG_ENDPOINT, DPT_DROP(SVC_R_DROP_DECAP_SOURCE) },
	{ "unknown_source_v6", "IP6IP6 from an unknown source", unknown_src_v6,
	  .prog = SVC_PROG_ENDPOINT, DPT_DROP(SVC_R_DROP_DECAP_SOURCE) },
	{ "unknown_source_v6_in_v4", "IPv6 in IPv4 from an unknown source", unknown_src_v6_in_v4,
	  .prog = SVC_PROG_ENDPOINT, DPT_DROP(SVC_R_DROP_DECAP_SOURCE) },
	{ "bad_inner_truncated_v4", "19 bytes of inner IPv4 header", inner_truncated_v4,
	  .prog = SVC_PROG_ENDPOINT, DPT_DROP(SVC_R_DROP_DECAP_BAD), .malformed = true },
	{ "bad_inner_truncated_v6", "39 bytes of inner IPv6 header", inner_truncated_v6,
	  .prog = SVC_PROG_ENDPOINT, DPT_DROP(SVC_R_DROP_DECAP_BAD), .malformed = true },
	{ "bad_inner_version_proto4", "protocol 4, inner version 6", inner_wrong_version_4,
	  .prog = SVC_PROG_ENDPOINT, DPT_DROP(SVC_R_DROP_DECAP_BAD), .malformed = true },
	{ "bad_inner_version_nh41", "next header 41, inner version 4", inner_wrong_version_41,
	  .prog = SVC_PROG_ENDPOINT, DPT_DROP(SVC_R_DROP_DECAP_BAD), .malformed = true },
	{ "not_encap_tcp_v4", "plain TCP/IPv4", plain_tcp_v4, .prog = SVC_PROG_ENDPOINT,
	  DPT_PASS(SVC_R_PASS_NOT_ENCAP) },
	{ "not_encap_udp_v6", "plain UDP/IPv6", plain_udp_v6, .prog = SVC_PROG_ENDPOINT,
	  DPT_PASS(SVC_R_PASS_NOT_ENCAP) },
	{ "not_encap_arp", "not IP", arp, .prog = SVC_PROG_ENDPOINT,
	  DPT_PASS(SVC_R_PASS_NOT_ENCAP) },
	{ "not_encap_gre", "outer protocol 47", gre_v4, .prog = SVC_PROG_ENDPOINT,
	  DPT_PASS(SVC_R_PASS_NOT_ENCAP) },
	{ "malformed_outer_v4", "outer IHL 4", malformed_outer_v4, .prog = SVC_PROG_ENDPOINT,
	  DPT_PASS(SVC_R_PASS_NOT_ENCAP), .malformed = true },
	{ "malformed_outer_v4_totlen",
	  "outer total length past the frame (as the router "
	  "defines malformed IPv4)",
	  malformed_outer_v4_totlen, .prog = SVC_PROG_ENDPOINT, DPT_PASS(SVC_R_PASS_NOT_ENCAP),
	  .malformed = true },
	{ "malformed_outer_v6", "outer payload length past the frame", malformed_outer_v6,
	  .prog = SVC_PROG_ENDPOINT, DPT_PASS(SVC_R_PASS_NOT_ENCAP), .malformed = true },
};

/*
 * Router then endpoint: for each family pair, the endpoint's output is the
 * router's Ethernet header followed by the client's IP packet, unchanged but
 * for the SYN's MSS the router lowers to fit the path.
 */
static void round_trip(struct dpt_env *e, bool inner6, int svc, __u32 nh)
{
	struct dpt_expect rx = { DPT_FWD(SVC_R_FWD_NEW, nh, svc) };
	struct dpt_expect ex = { .verdict = XDP_PASS,
				 .counter = SVC_R_DECAP,
				 .out = DPT_OUT_DECAP };
	struct dpt_result r1, r2;
	struct pkt in, mid, exp;

	if (inner6)
		dpt_tcp6(&in, dpt_vip6(svc), 45100, 80, TCP_F_SYN, 100);
	else
		dpt_tcp4(&in, dpt_vip4(svc), 45100, 80, TCP_F_SYN, 100);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !dpt_check(e, SVC_PROG_ROUTER, &in, &rx, &r1))
		return;
	pkt_init(&mid);
	pkt_raw(&mid, 0, -1, r1.out, r1.out_len);
	if (!dpt_check(e, SVC_PROG_ENDPOINT, &mid, &ex, &r2))
		return;
	if (!ASSERT_EQ(r2.out_len, in.len, "decapsulated length"))
		return;
	ASSERT_MEMEQ(r2.out, 12, r1.out, 12, "router's MACs kept");
	/* Unchanged but for the SYN's MSS, which the router fits to the path (router_mtu). */
	dpt_expect_fwd(&exp, in.buf, in.len, nh);
	ASSERT_MEMEQ(r2.out + 12, 2, in.buf + 12, 2, "ethertype");
	ASSERT_MEMEQ(r2.out + 14, in.len - 14, exp.buf + exp.len - (in.len - 14), in.len - 14,
		     "client IP packet end to end, as the router forwarded it");
}

TEST(endpoint_decap)
{
	struct dpt_env e;

	if (dpt_env_open(&e))
		return;
	dpt_run_table(&e, rows, sizeof(rows) / sizeof(rows[0]));
	if (tp_subtest("round_trip_v4_in_v4"))
		round_trip(&e, false, SVC_FWD4, NH_OUT4A);
	if (tp_subtest("round_trip_v6_in_v6"))
		round_trip(&e, true, SVC_FWD6, NH_OUT6A);
	if (tp_subtest("round_trip_v4_in_v6"))
		round_trip(&e, false, SVC_FWD6, NH_OUT6A);
	if (tp_subtest("round_trip_v6_in_v4"))
		round_trip(&e, true, SVC_FWD4, NH_OUT4A);
	dpt_env_close(&e);
}
