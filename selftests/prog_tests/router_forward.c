// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Router forwarding (docs/datapath.md, "Forwarding"): the encapsulated frame
 * byte for byte for IPv4-in-IPv4, IPv6-in-IPv6, IPv4-in-IPv6, IPv6-in-IPv4
 * (TCP and UDP), TOS/traffic class copy, flow label, XDP_TX vs redirect,
 * missing outer source, and the FIB outcomes (no neighbour, no route, MTU).
 * The expected frame is built independently (dpt_expect_fwd): Ethernet with
 * the static neighbour's MAC, outer header as specified, then the input's IP
 * packet unchanged.
 */
#include "tp.h"
#include "dptest.h"

static void syn4(struct pkt *p, int svc)
{
	dpt_tcp4(p, dpt_vip4(svc), 40000, 80, TCP_F_SYN, 0);
}

static void syn6(struct pkt *p, int svc)
{
	dpt_tcp6(p, dpt_vip6(svc), 40000, 80, TCP_F_SYN, 0);
}

static void syn_v4_in_v4(struct pkt *p)
{
	syn4(p, SVC_FWD4);
}

static void syn_v6_in_v6(struct pkt *p)
{
	syn6(p, SVC_FWD6);
}

static void syn_v4_in_v6(struct pkt *p)
{
	syn4(p, SVC_FWD6);
}

static void syn_v6_in_v4(struct pkt *p)
{
	syn6(p, SVC_FWD4);
}

static void udp_v4_in_v4(struct pkt *p)
{
	dpt_udp4(p, dpt_vip4(SVC_FWD4), 40001, 53, 30);
}

static void udp_v6_in_v6(struct pkt *p)
{
	dpt_udp6(p, dpt_vip6(SVC_FWD6), 40001, 53, 31);
}

static void udp_v4_in_v6(struct pkt *p)
{
	dpt_udp4(p, dpt_vip4(SVC_FWD6), 40001, 53, 1);
}

static void udp_v6_in_v4(struct pkt *p)
{
	dpt_udp6(p, dpt_vip6(SVC_FWD4), 40001, 53, 0);
}

static void data_v4_in_v4(struct pkt *p)
{
	/* A full-size segment: 1400 bytes of payload, PSH|ACK, not in the flow table. */
	dpt_tcp4(p, dpt_vip4(SVC_FWD4), 40002, 80, TCP_F_PSH | TCP_F_ACK, 1400);
}

static void data_v6_in_v6(struct pkt *p)
{
	dpt_tcp6(p, dpt_vip6(SVC_FWD6), 40002, 80, TCP_F_PSH | TCP_F_ACK, 1400);
}

static void ack_v4(struct pkt *p)
{
	dpt_tcp4(p, dpt_vip4(SVC_FWD4), 40003, 80, TCP_F_ACK, 0);
}

static void ack_v6(struct pkt *p)
{
	dpt_tcp6(p, dpt_vip6(SVC_FWD6), 40003, 80, TCP_F_ACK, 0);
}

static void synack_v4(struct pkt *p)
{
	/* SYN with ACK is not a first packet: counted as a consistent-hash miss. */
	dpt_tcp4(p, dpt_vip4(SVC_FWD4), 40004, 80, TCP_F_SYN | TCP_F_ACK, 0);
}

static void fin_v6(struct pkt *p)
{
	dpt_tcp6(p, dpt_vip6(SVC_FWD6), 40005, 80, TCP_F_FIN | TCP_F_ACK, 0);
}

static void rst_v4_in_v6(struct pkt *p)
{
	dpt_tcp4(p, dpt_vip4(SVC_FWD6), 40006, 80, TCP_F_RST, 0);
}

static void tos_v4(struct pkt *p)
{
	pkt_init(p);
	dpt_eth(p);
	pkt_ip4(p, &(struct ip4_spec){
			   .src = DPT_CLIENT4, .dst = dpt_vip4(SVC_FWD4), .tos = 0xb9, .ttl = 3 });
	pkt_tcp(p, &(struct tcp_spec){ .sport = 40010, .dport = 80, .flags = TCP_F_SYN });
	pkt_finalize(p);
}

static void tos_v4_in_v6(struct pkt *p)
{
	pkt_init(p);
	dpt_eth(p);
	pkt_ip4(p,
		&(struct ip4_spec){ .src = DPT_CLIENT4, .dst = dpt_vip4(SVC_FWD6), .tos = 0x2a });
	pkt_tcp(p, &(struct tcp_spec){ .sport = 40011, .dport = 80, .flags = TCP_F_SYN });
	pkt_finalize(p);
}

static void tclass_v6(struct pkt *p)
{
	pkt_init(p);
	dpt_eth(p);
	pkt_ip6(p, &(struct ip6_spec){ .src = DPT_CLIENT6,
				       .dst = dpt_vip6(SVC_FWD6),
				       .tclass = 0xb8,
				       .flowlabel = 0xfffff,
				       .hlim = 1 });
	pkt_tcp(p, &(struct tcp_spec){ .sport = 40012, .dport = 80, .flags = TCP_F_SYN });
	pkt_finalize(p);
}

static void tclass_v6_in_v4(struct pkt *p)
{
	pkt_init(p);
	dpt_eth(p);
	pkt_ip6(p, &(struct ip6_spec){
			   .src = DPT_CLIENT6, .dst = dpt_vip6(SVC_FWD4), .tclass = 0x03 });
	pkt_udp(p, 40013, 53);
	pkt_finalize(p);
}

static void tx_v4(struct pkt *p)
{
	syn4(p, SVC_TX4);
}

static void tx_v6(struct pkt *p)
{
	syn6(p, SVC_TX6);
}

static void noneigh_v4(struct pkt *p)
{
	syn4(p, SVC_NONEIGH4);
}

static void noneigh_v6(struct pkt *p)
{
	syn6(p, SVC_NONEIGH6);
}

static void noroute_v4(struct pkt *p)
{
	syn4(p, SVC_NOROUTE4);
}

static void noroute_v6(struct pkt *p)
{
	syn6(p, SVC_NOROUTE6);
}

/*
 * The MTU link is 1280. IPv4 outer adds 20 bytes, IPv6 40: the largest inner
 * packet that fits is 1260 / 1240 bytes; one more byte is too big.
 */
static void mtu_v4(struct pkt *p, size_t ip_len)
{
	pkt_init(p);
	dpt_eth(p);
	pkt_ip4(p, &(struct ip4_spec){ .src = DPT_CLIENT4, .dst = dpt_vip4(SVC_MTU4) });
	pkt_tcp(p, &(struct tcp_spec){ .sport = 40020, .dport = 80, .flags = TCP_F_SYN });
	pkt_payload(p, NULL, ip_len - 40);
	pkt_finalize(p);
}

static void mtu_v6(struct pkt *p, size_t ip_len)
{
	pkt_init(p);
	dpt_eth(p);
	pkt_ip6(p, &(struct ip6_spec){ .src = DPT_CLIENT6, .dst = dpt_vip6(SVC_MTU6) });
	pkt_tcp(p, &(struct tcp_spec){ .sport = 40021, .dport = 80, .flags = TCP_F_SYN });
	pkt_payload(p, NULL, ip_len - 60);
	pkt_finalize(p);
}

static void fits_v4(struct pkt *p)
{
	mtu_v4(p, 1260);
}

static void too_big_v4(struct pkt *p)
{
	mtu_v4(p, 1261);
}

static void fits_v6(struct pkt *p)
{
	mtu_v6(p, 1240);
}

static void too_big_v6(struct pkt *p)
{
	mtu_v6(p, 1241);
}

/* Router source of one family removed for the row, restored after it. */
static int drop_src4(struct dpt_env *e)
{
	struct svc_addr s6;

	dpt_addr(DPT_SRC6, &s6);
	return ASSERT_OK(svc_dp_set_router_src(e->dp, NULL, &s6), "unset src4") ? 0 : -1;
}

static int drop_src6(struct dpt_env *e)
{
	struct svc_addr s4;

	dpt_addr(DPT_SRC4, &s4);
	return ASSERT_OK(svc_dp_set_router_src(e->dp, &s4, NULL), "unset src6") ? 0 : -1;
}

static void restore_src(struct dpt_env *e)
{
	struct svc_addr s4, s6;

	dpt_addr(DPT_SRC4, &s4);
	dpt_addr(DPT_SRC6, &s6);
	ASSERT_OK(svc_dp_set_router_src(e->dp, &s4, &s6), "restore router sources");
}

static const struct dpt_fixture rows[] = {
	{ "syn_v4_in_v4", "TCP SYN to an IPv4 VIP, IPv4 next hop", syn_v4_in_v4,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4) },
	{ "syn_v6_in_v6", "TCP SYN to an IPv6 VIP, IPv6 next hop", syn_v6_in_v6,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT6A, SVC_FWD6) },
	{ "syn_v4_in_v6", "TCP SYN to an IPv4 VIP, IPv6 next hop", syn_v4_in_v6,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT6A, SVC_FWD6) },
	{ "syn_v6_in_v4", "TCP SYN to an IPv6 VIP, IPv4 next hop", syn_v6_in_v4,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4) },
	{ "udp_v4_in_v4", "UDP datagram: always a first packet when not in the table", udp_v4_in_v4,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4) },
	{ "udp_v6_in_v6", "UDP over IPv6, IPv6 next hop", udp_v6_in_v6,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT6A, SVC_FWD6) },
	{ "udp_v4_in_v6", "UDP over IPv4, IPv6 next hop", udp_v4_in_v6,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT6A, SVC_FWD6) },
	{ "udp_v6_in_v4", "UDP over IPv6 without payload, IPv4 next hop", udp_v6_in_v4,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4) },
	{ "data_v4_in_v4", "1400-byte segment without flow entry: consistent hash", data_v4_in_v4,
	  DPT_FWD(SVC_R_FWD_CH_MISS, NH_OUT4A, SVC_FWD4) },
	{ "data_v6_in_v6", "1400-byte IPv6 segment without flow entry", data_v6_in_v6,
	  DPT_FWD(SVC_R_FWD_CH_MISS, NH_OUT6A, SVC_FWD6) },
	{ "ack_v4_ch_miss", "bare ACK without flow entry", ack_v4,
	  DPT_FWD(SVC_R_FWD_CH_MISS, NH_OUT4A, SVC_FWD4) },
	{ "ack_v6_ch_miss", "bare ACK without flow entry", ack_v6,
	  DPT_FWD(SVC_R_FWD_CH_MISS, NH_OUT6A, SVC_FWD6) },
	{ "synack_v4_ch_miss", "SYN+ACK is not a first packet", synack_v4,
	  DPT_FWD(SVC_R_FWD_CH_MISS, NH_OUT4A, SVC_FWD4) },
	{ "fin_v6_ch_miss", "FIN+ACK without flow entry", fin_v6,
	  DPT_FWD(SVC_R_FWD_CH_MISS, NH_OUT6A, SVC_FWD6) },
	{ "rst_v4_in_v6_ch_miss", "RST without flow entry", rst_v4_in_v6,
	  DPT_FWD(SVC_R_FWD_CH_MISS, NH_OUT6A, SVC_FWD6) },
	{ "tos_v4", "outer TOS = inner DSCP/ECN 0xb9; inner TTL 3 untouched", tos_v4,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4) },
	{ "tos_v4_in_v6", "outer traffic class = inner TOS 0x2a", tos_v4_in_v6,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT6A, SVC_FWD6) },
	{ "tclass_v6", "outer traffic class 0xb8; inner hop limit 1, flow label untouched",
	  tclass_v6, DPT_FWD(SVC_R_FWD_NEW, NH_OUT6A, SVC_FWD6) },
	{ "tclass_v6_in_v4", "outer TOS = inner traffic class 0x03", tclass_v6_in_v4,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4) },
	{ "xdp_tx_v4", "next hop behind the ingress interface: XDP_TX", tx_v4,
	  DPT_FWD(SVC_R_FWD_NEW, NH_TX4, SVC_TX4) },
	{ "xdp_tx_v6", "next hop behind the ingress interface: XDP_TX", tx_v6,
	  DPT_FWD(SVC_R_FWD_NEW, NH_TX6, SVC_TX6) },
	{ "redirect_from_other_ingress_v4", "same next hop, packet from tpout0: redirect", tx_v4,
	  .verdict = XDP_REDIRECT, .counter = SVC_R_FWD_NEW, .out = DPT_OUT_FWD, .nh = NH_TX4,
	  .rule = SVC_TX4, .ifdev = DPT_IF_OUT },
	{ "redirect_from_other_ingress_v6", "same next hop, packet from tpmtu0: redirect", tx_v6,
	  .verdict = XDP_REDIRECT, .counter = SVC_R_FWD_NEW, .out = DPT_OUT_FWD, .nh = NH_TX6,
	  .rule = SVC_TX6, .ifdev = DPT_IF_MTU },
	{ "no_neigh_v4", "next hop's MAC not resolved", noneigh_v4, DPT_DROP(SVC_R_DROP_NO_NEIGH),
	  .rule = SVC_NONEIGH4 },
	{ "no_neigh_v6", "next hop's MAC not resolved", noneigh_v6, DPT_DROP(SVC_R_DROP_NO_NEIGH),
	  .rule = SVC_NONEIGH6 },
	{ "no_route_v4", "no route to the next hop", noroute_v4, DPT_DROP(SVC_R_DROP_FIB),
	  .rule = SVC_NOROUTE4 },
	{ "no_route_v6", "no route to the next hop", noroute_v6, DPT_DROP(SVC_R_DROP_FIB),
	  .rule = SVC_NOROUTE6 },
	{ "mtu_fits_v4", "1260-byte packet + 20 = the 1280 MTU: forwarded", fits_v4,
	  DPT_FWD(SVC_R_FWD_NEW, NH_MTU4, SVC_MTU4) },
	{ "mtu_too_big_v4", "1261-byte packet + 20 > 1280, no DF: dropped (router_mtu)", too_big_v4,
	  DPT_DROP(SVC_R_DROP_TOO_BIG), .rule = SVC_MTU4 },
	{ "mtu_fits_v6", "1240-byte packet + 40 = the 1280 MTU: forwarded", fits_v6,
	  DPT_FWD(SVC_R_FWD_NEW, NH_MTU6, SVC_MTU6) },
	{ "mtu_too_big_v6", "1241-byte packet + 40 > 1280: ICMPv6 packet too big (router_mtu)",
	  too_big_v6, .verdict = XDP_TX, .counter = SVC_R_ICMP_TOO_BIG, .out = DPT_OUT_ANY,
	  .rule = SVC_MTU6 },
	{ "no_src4", "IPv4 next hop, router has no IPv4 source", syn_v4_in_v4,
	  DPT_DROP(SVC_R_DROP_NO_SRC), .rule = SVC_FWD4, .setup = drop_src4,
	  .cleanup = restore_src },
	{ "no_src6", "IPv6 next hop, router has no IPv6 source", syn_v4_in_v6,
	  DPT_DROP(SVC_R_DROP_NO_SRC), .rule = SVC_FWD6, .setup = drop_src6,
	  .cleanup = restore_src },
	{ "no_src6_other_family_ok", "no IPv6 source does not stop IPv4 next hops", syn_v6_in_v4,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4), .setup = drop_src6, .cleanup = restore_src },
};

/* The outer header fields the spec fixes, read straight from the output (not the model). */
static void outer_fields(struct dpt_env *e)
{
	struct dpt_result r;
	struct pkt in, exp;
	__u8 *o = r.out + 14;

	syn_v6_in_v6(&in);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !ASSERT_OK(dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in.buf, in.len, &r),
		       "test run") ||
	    !ASSERT_EQ(r.retval, XDP_REDIRECT, "verdict") ||
	    !ASSERT_EQ(r.out_len, in.len + 40, "IPv6 outer adds 40 bytes"))
		return;
	ASSERT_EQ(r.out[12] << 8 | r.out[13], 0x86dd, "ethertype");
	ASSERT_EQ(o[0] >> 4, 6, "version");
	ASSERT_EQ(o[6], 41, "next header IPv6");
	ASSERT_EQ(o[7], 64, "hop limit");
	ASSERT_EQ(o[4] << 8 | o[5], in.len - 14, "payload length");
	dpt_expect_fwd(&exp, in.buf, in.len, NH_OUT6A);
	ASSERT_MEMEQ(o + 40, in.len - 14, exp.buf + exp.len - (in.len - 14), in.len - 14,
		     "inner packet unchanged (but the SYN's MSS, see router_mtu)");

	syn_v4_in_v4(&in);
	if (!ASSERT_OK(dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in.buf, in.len, &r),
		       "test run") ||
	    !ASSERT_EQ(r.out_len, in.len + 20, "IPv4 outer adds 20 bytes"))
		return;
	ASSERT_EQ(o[0], 0x45, "version 4, IHL 5");
	ASSERT_EQ(o[2] << 8 | o[3], in.len - 14 + 20, "total length");
	ASSERT_EQ(o[4] << 8 | o[5], 0, "ID 0");
	ASSERT_EQ(o[6] << 8 | o[7], 0, "no flags, offset 0");
	ASSERT_EQ(o[8], 64, "TTL");
	ASSERT_EQ(o[9], 4, "protocol IPIP");
	dpt_expect_fwd(&exp, in.buf, in.len, NH_OUT4A);
	ASSERT_MEMEQ(o + 20, in.len - 14, exp.buf + exp.len - (in.len - 14), in.len - 14,
		     "inner packet unchanged (but the SYN's MSS)");
}

/* The IPv6 flow label differs between flows (ECMP entropy), and is the flow hash's low bits. */
static void flow_label_entropy(struct dpt_env *e)
{
	__u32 labels[8];
	struct dpt_result r;
	struct pkt in;
	int i, j, distinct = 0;

	for (i = 0; i < 8; i++) {
		dpt_tcp6(&in, dpt_vip6(SVC_FWD6), 41000 + i, 80, TCP_F_SYN, 0);
		if (!ASSERT_OK(dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in.buf, in.len, &r),
			       "test run") ||
		    !ASSERT_EQ(r.retval, XDP_REDIRECT, "verdict"))
			return;
		labels[i] = (r.out[15] & 0xf) << 16 | r.out[16] << 8 | r.out[17];
		for (j = 0; j < i && labels[j] != labels[i]; j++)
			;
		distinct += j == i;
	}
	ASSERT_GE(distinct, 7, "distinct flow labels over 8 flows");
}

TEST(router_forward)
{
	struct dpt_env e;

	if (dpt_env_open(&e))
		return;
	dpt_run_table(&e, rows, sizeof(rows) / sizeof(rows[0]));
	if (tp_subtest("outer_header_fields"))
		outer_fields(&e);
	if (tp_subtest("flow_label_entropy"))
		flow_label_entropy(&e);
	dpt_env_close(&e);
}
