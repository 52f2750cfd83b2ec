// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ICMP errors that quote a service flow (docs/datapath.md): an error about a
 * packet the instance sent (VIP -> client) must reach that instance, by the
 * flow table or by the same consistent hash as the client's packets; the
 * whole ICMP packet is encapsulated unchanged (fwd_icmp). Quotes not from a
 * service, or truncated, are passed (pass_icmp_other); other ICMP types are
 * passed as no service.
 */
#include "tp.h"
#include "dptest.h"

#define PATH_ROUTER4 "10.0.0.254" /* a router between the instances and the clients */
#define PATH_ROUTER6 "fd00::fe"
#define CPORT 44000

/* The quoted packet: what the instance sent, @qlen bytes of it. */
static void quote(struct pkt *q, bool v6, const char *vip, __u16 vport, __u16 cport, __u8 proto)
{
	pkt_init(q);
	if (v6)
		pkt_ip6(q, &(struct ip6_spec){ .src = vip, .dst = DPT_CLIENT6, .hlim = 1 });
	else
		pkt_ip4(q, &(struct ip4_spec){ .src = vip,
					       .dst = DPT_CLIENT4,
					       .ttl = 1,
					       .id = 77,
					       .frag = 0x4000 });
	if (proto == IPPROTO_UDP)
		pkt_udp(q, vport, cport);
	else
		pkt_tcp(q, &(struct tcp_spec){ .sport = vport,
					       .dport = cport,
					       .seq = 5000,
					       .ack = 1001,
					       .flags = TCP_F_ACK });
	pkt_payload(q, NULL, 1200);
	pkt_finalize(q);
}

static void icmp4(struct pkt *p, __u8 type, __u8 code, __u32 rest, const char *vip, __u16 vport,
		  __u8 proto, size_t qlen)
{
	struct pkt q;

	quote(&q, false, vip, vport, CPORT, proto);
	pkt_init(p);
	dpt_eth(p);
	pkt_ip4(p, &(struct ip4_spec){ .src = PATH_ROUTER4, .dst = vip, .tos = 0xc0 });
	pkt_icmp4(p, type, code, rest);
	pkt_ip_bytes(p, q.buf, qlen);
	pkt_finalize(p);
}

static void icmp6(struct pkt *p, __u8 type, __u8 code, __u32 rest, const char *vip, __u16 vport,
		  __u8 proto, size_t qlen)
{
	struct pkt q;

	quote(&q, true, vip, vport, CPORT, proto);
	pkt_init(p);
	dpt_eth(p);
	pkt_ip6(p, &(struct ip6_spec){ .src = PATH_ROUTER6, .dst = vip, .tclass = 0xc0 });
	pkt_icmp6(p, type, code, rest);
	pkt_ip_bytes(p, q.buf, qlen);
	pkt_finalize(p);
}

/* ---- table rows: a fixed next hop (single-member sets), no flow entry ---- */

static void frag_needed_v4(struct pkt *p)
{
	icmp4(p, 3, 4, 1400, dpt_vip4(SVC_FWD4), 80, IPPROTO_TCP, 28);
}

static void host_unreach_v4(struct pkt *p)
{
	icmp4(p, 3, 1, 0, dpt_vip4(SVC_FWD4), 80, IPPROTO_TCP, 576 - 28);
}

static void time_exceeded_v4(struct pkt *p)
{
	icmp4(p, 11, 0, 0, dpt_vip4(SVC_FWD4), 80, IPPROTO_TCP, 28);
}

static void port_unreach_udp_v4(struct pkt *p)
{
	icmp4(p, 3, 3, 0, dpt_vip4(SVC_FWD4), 53, IPPROTO_UDP, 28);
}

static void frag_needed_v4_to_v6_nh(struct pkt *p)
{
	icmp4(p, 3, 4, 1280, dpt_vip4(SVC_FWD6), 80, IPPROTO_TCP, 48);
}

static void ptb_v6(struct pkt *p)
{
	icmp6(p, 2, 0, 1280, dpt_vip6(SVC_FWD6), 80, IPPROTO_TCP, 1232 - 48);
}

static void unreach_v6(struct pkt *p)
{
	icmp6(p, 1, 4, 0, dpt_vip6(SVC_FWD6), 53, IPPROTO_UDP, 48);
}

static void ptb_v6_to_v4_nh(struct pkt *p)
{
	icmp6(p, 2, 0, 1400, dpt_vip6(SVC_FWD4), 80, IPPROTO_TCP, 48);
}

static void ptb_v6_sid(struct pkt *p)
{
	/* The client connected straight to serviceID fd00:5e::2, port 9999. */
	icmp6(p, 2, 0, 1280, dpt_sid(SVC_FWD6), 9999, IPPROTO_TCP, 60);
}

static void quote_not_service_v4(struct pkt *p)
{
	icmp4(p, 3, 4, 1400, "10.200.0.1", 80, IPPROTO_TCP, 28);
}

static void quote_not_service_v6(struct pkt *p)
{
	icmp6(p, 2, 0, 1280, "fd00:200::1", 80, IPPROTO_TCP, 48);
}

static void quote_unbound_port_v4(struct pkt *p)
{
	icmp4(p, 3, 4, 1400, dpt_vip4(SVC_FWD4), 81, IPPROTO_TCP, 28);
}

static void quote_truncated_v4(struct pkt *p)
{
	icmp4(p, 3, 4, 1400, dpt_vip4(SVC_FWD4), 80, IPPROTO_TCP, 20 + 7);
}

static void quote_truncated_v6(struct pkt *p)
{
	icmp6(p, 2, 0, 1280, dpt_vip6(SVC_FWD6), 80, IPPROTO_TCP, 40 + 4);
}

static void quote_ip_truncated_v4(struct pkt *p)
{
	icmp4(p, 11, 0, 0, dpt_vip4(SVC_FWD4), 80, IPPROTO_TCP, 16);
}

static void param_problem_v4(struct pkt *p)
{
	icmp4(p, 12, 0, 0, dpt_vip4(SVC_FWD4), 80, IPPROTO_TCP, 28);
}

static void time_exceeded_v6(struct pkt *p)
{
	/* ICMPv6 time exceeded (3) is not in the list of errors the router steers. */
	icmp6(p, 3, 0, 0, dpt_vip6(SVC_FWD6), 80, IPPROTO_TCP, 48);
}

static const struct dpt_fixture rows[] = {
	{ "frag_needed_v4", "ICMP 3/4 quoting VIP:80 -> client (28 bytes)", frag_needed_v4,
	  DPT_FWD(SVC_R_FWD_ICMP, NH_OUT4A, SVC_FWD4) },
	{ "host_unreach_v4", "ICMP 3/1 quoting 548 bytes", host_unreach_v4,
	  DPT_FWD(SVC_R_FWD_ICMP, NH_OUT4A, SVC_FWD4) },
	{ "time_exceeded_v4", "ICMP 11/0", time_exceeded_v4,
	  DPT_FWD(SVC_R_FWD_ICMP, NH_OUT4A, SVC_FWD4) },
	{ "port_unreach_udp_v4", "ICMP 3/3 quoting a UDP reply VIP:53 -> client",
	  port_unreach_udp_v4, DPT_FWD(SVC_R_FWD_ICMP, NH_OUT4A, SVC_FWD4) },
	{ "frag_needed_v4_in_v6", "ICMPv4 error, service with an IPv6 next hop",
	  frag_needed_v4_to_v6_nh, DPT_FWD(SVC_R_FWD_ICMP, NH_OUT6A, SVC_FWD6) },
	{ "packet_too_big_v6", "ICMPv6 2/0 quoting 1184 bytes", ptb_v6,
	  DPT_FWD(SVC_R_FWD_ICMP, NH_OUT6A, SVC_FWD6) },
	{ "dest_unreach_udp_v6", "ICMPv6 1/4 quoting a UDP reply", unreach_v6,
	  DPT_FWD(SVC_R_FWD_ICMP, NH_OUT6A, SVC_FWD6) },
	{ "packet_too_big_v6_in_v4", "ICMPv6 PTB, service with an IPv4 next hop", ptb_v6_to_v4_nh,
	  DPT_FWD(SVC_R_FWD_ICMP, NH_OUT4A, SVC_FWD4) },
	{ "packet_too_big_v6_sid", "quoted source is a serviceID in the sid prefix", ptb_v6_sid,
	  DPT_FWD(SVC_R_FWD_ICMP, NH_OUT6A, SVC_FWD6) },
	{ "quote_not_service_v4", "quoted source is no VIP", quote_not_service_v4,
	  DPT_PASS(SVC_R_PASS_ICMP_OTHER) },
	{ "quote_not_service_v6", "quoted source is no VIP", quote_not_service_v6,
	  DPT_PASS(SVC_R_PASS_ICMP_OTHER) },
	{ "quote_unbound_port_v4", "quoted VIP:81 is not bound", quote_unbound_port_v4,
	  DPT_PASS(SVC_R_PASS_ICMP_OTHER) },
	{ "quote_truncated_v4", "7 bytes of the quoted L4 header", quote_truncated_v4,
	  DPT_PASS(SVC_R_PASS_ICMP_OTHER) },
	{ "quote_truncated_v6", "4 bytes of the quoted L4 header", quote_truncated_v6,
	  DPT_PASS(SVC_R_PASS_ICMP_OTHER) },
	{ "quote_ip_truncated_v4", "16 bytes of the quoted IPv4 header", quote_ip_truncated_v4,
	  DPT_PASS(SVC_R_PASS_ICMP_OTHER) },
	{ "param_problem_v4", "ICMP 12 is not steered: no service", param_problem_v4,
	  DPT_PASS(SVC_R_PASS_NO_SERVICE) },
	{ "time_exceeded_v6", "ICMPv6 3 is not steered: no service", time_exceeded_v6,
	  DPT_PASS(SVC_R_PASS_NO_SERVICE) },
};

/* ---- scenarios on a weighted service: the error follows the client's flow ---- */

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

/*
 * For 8 client ports: the SYN goes to next hop X (predicted); the ICMP error
 * quoting the reply goes to X too, through the flow table (@with_flow) or
 * through the consistent hash after the table was cleared.
 */
static void follows_flow(struct dpt_env *e, bool v6, bool with_flow)
{
	int svc = v6 ? SVC_W6 : SVC_W4;
	struct svc_flow_key k;
	struct pkt syn, err, q;
	__u32 nh, i;
	__u16 cport;

	for (i = 0; i < 8; i++) {
		cport = (__u16)(CPORT + 100 + i);
		if (v6)
			dpt_tcp6(&syn, dpt_vip6(svc), cport, 80, TCP_F_SYN, 0);
		else
			dpt_tcp4(&syn, dpt_vip4(svc), cport, 80, TCP_F_SYN, 0);
		quote(&q, v6, v6 ? dpt_vip6(svc) : dpt_vip4(svc), 80, cport, IPPROTO_TCP);
		pkt_init(&err);
		dpt_eth(&err);
		if (v6) {
			pkt_ip6(&err,
				&(struct ip6_spec){ .src = PATH_ROUTER6, .dst = dpt_vip6(svc) });
			pkt_icmp6(&err, 2, 0, 1280);
		} else {
			pkt_ip4(&err,
				&(struct ip4_spec){ .src = PATH_ROUTER4, .dst = dpt_vip4(svc) });
			pkt_icmp4(&err, 3, 4, 1280);
		}
		pkt_ip_bytes(&err, q.buf, v6 ? 48 : 28);
		pkt_finalize(&err);
		if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
		    !ASSERT_OK(dpt_flow_key(syn.buf, syn.len, &k), "flow key") ||
		    dpt_predict_nh(e, svc, &k, &nh) || !fwd(e, &syn, nh, SVC_R_FWD_NEW, svc))
			return;
		if (!with_flow && !ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
			return;
		/* Step 1 (flow table) is not rule resolution; steps 2-3 are. */
		if (!fwd(e, &err, nh, SVC_R_FWD_ICMP, with_flow ? 0 : svc)) {
			tp_diag("client port %u", cport);
			return;
		}
	}
}

/* The flow table entry wins over the hash: after a set change the error still follows it. */
static void follows_recorded_nh(struct dpt_env *e)
{
	static const struct svc_ch_member orig[2] = { DPT_M(NH_OUT4A, 1), DPT_M(NH_OUT4B, 3) };
	struct svc_ch_member only;
	struct svc_flow_key k;
	struct pkt syn, err, q;
	__u32 x;

	dpt_tcp4(&syn, dpt_vip4(SVC_W4), CPORT + 200, 80, TCP_F_SYN, 0);
	quote(&q, false, dpt_vip4(SVC_W4), 80, CPORT + 200, IPPROTO_TCP);
	pkt_init(&err);
	dpt_eth(&err);
	pkt_ip4(&err, &(struct ip4_spec){ .src = PATH_ROUTER4, .dst = dpt_vip4(SVC_W4) });
	pkt_icmp4(&err, 3, 4, 1280);
	pkt_ip_bytes(&err, q.buf, 28);
	pkt_finalize(&err);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !ASSERT_OK(dpt_flow_key(syn.buf, syn.len, &k), "flow key") ||
	    dpt_predict_nh(e, SVC_W4, &k, &x) || !fwd(e, &syn, x, SVC_R_FWD_NEW, SVC_W4))
		return;
	only = (struct svc_ch_member)DPT_M(x == NH_OUT4A ? NH_OUT4B : NH_OUT4A, 1);
	if (dpt_set_nhset(e, SVC_W4, &only, 1))
		return;
	fwd(e, &err, x, SVC_R_FWD_ICMP, 0);
	dpt_set_nhset(e, SVC_W4, orig, 2);
}

TEST(router_icmp)
{
	struct dpt_env e;

	if (dpt_env_open(&e))
		return;
	dpt_run_table(&e, rows, sizeof(rows) / sizeof(rows[0]));
	if (tp_subtest("follows_flow_table_v4"))
		follows_flow(&e, false, true);
	if (tp_subtest("follows_flow_table_v6"))
		follows_flow(&e, true, true);
	if (tp_subtest("follows_consistent_hash_v4"))
		follows_flow(&e, false, false);
	if (tp_subtest("follows_consistent_hash_v6"))
		follows_flow(&e, true, false);
	if (tp_subtest("follows_recorded_nh_after_set_change_v4"))
		follows_recorded_nh(&e);
	dpt_env_close(&e);
}
