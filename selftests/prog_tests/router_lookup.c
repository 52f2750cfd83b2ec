// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Router service lookup (docs/datapath.md, "Service lookup"): exact-port
 * binding, port-0 binding and its precedence, protocol/port mismatch, IPv6
 * service-prefix destinations, longest-prefix match in the service table,
 * no service (including the instances' return traffic), no rule.
 */
#include <arpa/inet.h>
#include "tp.h"
#include "dptest.h"

static void exact_v4(struct pkt *p)
{
	dpt_tcp4(p, dpt_vip4(SVC_FWD4), 40100, 80, TCP_F_SYN, 0);
}

static void exact_v6(struct pkt *p)
{
	dpt_tcp6(p, dpt_vip6(SVC_FWD6), 40100, 80, TCP_F_SYN, 0);
}

static void udp_exact_v4(struct pkt *p)
{
	dpt_udp4(p, dpt_vip4(SVC_FWD6), 40101, 53, 12);
}

static void udp_exact_v6(struct pkt *p)
{
	dpt_udp6(p, dpt_vip6(SVC_FWD4), 40101, 53, 12);
}

static void port0_v4(struct pkt *p)
{
	dpt_tcp4(p, DPT_VIP4_ANYPORT, 40102, 8080, TCP_F_SYN, 0);
}

static void port0_v6(struct pkt *p)
{
	dpt_tcp6(p, DPT_VIP6_ANYPORT, 40102, 22, TCP_F_SYN, 0);
}

static void port0_udp_not_bound_v4(struct pkt *p)
{
	/* The port-0 binding is for TCP only. */
	dpt_udp4(p, DPT_VIP4_ANYPORT, 40102, 8080, 4);
}

static void both_exact_v4(struct pkt *p)
{
	dpt_tcp4(p, DPT_VIP4_BOTH, 40103, 80, TCP_F_SYN, 0);
}

static void both_port0_v4(struct pkt *p)
{
	dpt_tcp4(p, DPT_VIP4_BOTH, 40103, 81, TCP_F_SYN, 0);
}

static void both_exact_v6(struct pkt *p)
{
	dpt_tcp6(p, DPT_VIP6_BOTH, 40103, 80, TCP_F_SYN, 0);
}

static void both_port0_v6(struct pkt *p)
{
	dpt_tcp6(p, DPT_VIP6_BOTH, 40103, 443, TCP_F_SYN, 0);
}

static void proto_mismatch_v4(struct pkt *p)
{
	dpt_udp4(p, dpt_vip4(SVC_FWD4), 40104, 80, 8); /* bound as 80/tcp only */
}

static void proto_mismatch_v6(struct pkt *p)
{
	dpt_tcp6(p, dpt_vip6(SVC_FWD6), 40104, 53, TCP_F_SYN, 0); /* bound as 53/udp only */
}

static void port_mismatch_v4(struct pkt *p)
{
	dpt_tcp4(p, dpt_vip4(SVC_FWD4), 40105, 81, TCP_F_SYN, 0);
}

static void port_mismatch_v6(struct pkt *p)
{
	dpt_tcp6(p, dpt_vip6(SVC_FWD6), 40105, 8080, TCP_F_SYN, 0);
}

static void sid_direct_v6(struct pkt *p)
{
	/* Straight to serviceID fd00:5e::2 (inside the sid prefix), any port. */
	dpt_tcp6(p, dpt_sid(SVC_FWD6), 40106, 9999, TCP_F_SYN, 0);
}

static void sid_direct_udp_v6(struct pkt *p)
{
	dpt_udp6(p, dpt_sid(SVC_FWD4), 40106, 9999, 3);
}

static void sid_lpm64(struct pkt *p)
{
	dpt_tcp6(p, "fd00:5e:1:2::5", 40107, 80, TCP_F_SYN, 0);
}

static void sid_lpm48(struct pkt *p)
{
	dpt_tcp6(p, "fd00:5e:1:3::5", 40107, 80, TCP_F_SYN, 0);
}

static void v4_binding_to_lpm_rule(struct pkt *p)
{
	dpt_tcp4(p, DPT_VIP4_LPM, 40108, 80, TCP_F_SYN, 0);
}

static void sid_prefix_no_rule(struct pkt *p)
{
	dpt_tcp6(p, "fd00:5e:ffff::1", 40109, 80, TCP_F_SYN, 0);
}

static void no_service_v4(struct pkt *p)
{
	dpt_tcp4(p, "10.200.0.1", 40110, 80, TCP_F_SYN, 0);
}

static void no_service_v6(struct pkt *p)
{
	/* fd00:5f:: is next to the sid prefix fd00:5e::/32, not inside it. */
	dpt_tcp6(p, "fd00:5f::2", 40110, 80, TCP_F_SYN, 0);
}

static void return_traffic_v4(struct pkt *p)
{
	/* Direct server return: the instance answers from VIP:80 to the client. */
	pkt_init(p);
	dpt_eth(p);
	pkt_ip4(p, &(struct ip4_spec){ .src = dpt_vip4(SVC_FWD4), .dst = DPT_CLIENT4 });
	pkt_tcp(p,
		&(struct tcp_spec){
			.sport = 80, .dport = 40111, .flags = TCP_F_SYN | TCP_F_ACK, .ack = 1001 });
	pkt_finalize(p);
}

static void return_traffic_v6(struct pkt *p)
{
	pkt_init(p);
	dpt_eth(p);
	pkt_ip6(p, &(struct ip6_spec){ .src = dpt_vip6(SVC_FWD6), .dst = DPT_CLIENT6 });
	pkt_tcp(p, &(struct tcp_spec){ .sport = 80, .dport = 40111, .flags = TCP_F_ACK });
	pkt_payload(p, NULL, 100);
	pkt_finalize(p);
}

static void no_rule_v4(struct pkt *p)
{
	dpt_tcp4(p, dpt_vip4(SVC_NORULE), 40112, 80, TCP_F_SYN, 0);
}

static void no_rule_v6(struct pkt *p)
{
	dpt_udp6(p, dpt_vip6(SVC_NORULE), 40112, 53, 20);
}

static void echo_v4(struct pkt *p)
{
	pkt_init(p);
	dpt_eth(p);
	pkt_ip4(p, &(struct ip4_spec){ .src = DPT_CLIENT4, .dst = dpt_vip4(SVC_FWD4) });
	pkt_icmp4(p, 8, 0, 0x00010001);
	pkt_payload(p, NULL, 56);
	pkt_finalize(p);
}

static void echo_v6(struct pkt *p)
{
	pkt_init(p);
	dpt_eth(p);
	pkt_ip6(p, &(struct ip6_spec){ .src = DPT_CLIENT6, .dst = dpt_vip6(SVC_FWD6) });
	pkt_icmp6(p, 128, 0, 0x00010001);
	pkt_payload(p, NULL, 56);
	pkt_finalize(p);
}

static const struct dpt_fixture rows[] = {
	{ "exact_port_v4", "binding VIP:80/tcp", exact_v4,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4) },
	{ "exact_port_v6", "binding [VIP]:80/tcp", exact_v6,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT6A, SVC_FWD6) },
	{ "exact_port_udp_v4", "binding VIP:53/udp", udp_exact_v4,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT6A, SVC_FWD6) },
	{ "exact_port_udp_v6", "binding [VIP]:53/udp", udp_exact_v6,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4) },
	{ "port0_v4", "binding VIP:0/tcp covers port 8080", port0_v4,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4) },
	{ "port0_v6", "binding [VIP]:0/tcp covers port 22", port0_v6,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT6A, SVC_FWD6) },
	{ "port0_other_proto_v4", "VIP:0/tcp does not cover UDP", port0_udp_not_bound_v4,
	  DPT_PASS(SVC_R_PASS_NO_SERVICE) },
	{ "exact_before_port0_v4", "VIP:80 and VIP:0 both bound: port 80 takes the exact one",
	  both_exact_v4, DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4) },
	{ "port0_fallback_v4", "same VIP, port 81: the port-0 binding", both_port0_v4,
	  DPT_FWD(SVC_R_FWD_NEW, NH_TX4, SVC_TX4) },
	{ "exact_before_port0_v6", "[VIP]:80 and [VIP]:0 both bound", both_exact_v6,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT6A, SVC_FWD6) },
	{ "port0_fallback_v6", "same VIP, port 443: the port-0 binding", both_port0_v6,
	  DPT_FWD(SVC_R_FWD_NEW, NH_TX6, SVC_TX6) },
	{ "proto_mismatch_v4", "UDP to a VIP bound for 80/tcp", proto_mismatch_v4,
	  DPT_PASS(SVC_R_PASS_NO_SERVICE) },
	{ "proto_mismatch_v6", "TCP to a VIP bound for 53/udp", proto_mismatch_v6,
	  DPT_PASS(SVC_R_PASS_NO_SERVICE) },
	{ "port_mismatch_v4", "TCP to an unbound port of a VIP", port_mismatch_v4,
	  DPT_PASS(SVC_R_PASS_NO_SERVICE) },
	{ "port_mismatch_v6", "TCP to an unbound port of a VIP", port_mismatch_v6,
	  DPT_PASS(SVC_R_PASS_NO_SERVICE) },
	{ "sid_prefix_v6", "destination inside a sid prefix is the serviceID", sid_direct_v6,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT6A, SVC_FWD6) },
	{ "sid_prefix_udp_v6_in_v4", "UDP to a serviceID, IPv4 next hop", sid_direct_udp_v6,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4) },
	{ "lpm_longest_64", "sid under both /48 and /64 rules: the /64 wins", sid_lpm64,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT6A, DPT_RULE_LPM64) },
	{ "lpm_48", "sid under the /48 rule only", sid_lpm48,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, DPT_RULE_LPM48) },
	{ "lpm_v4_binding", "IPv4 binding to a sid matched by the /64 rule", v4_binding_to_lpm_rule,
	  DPT_FWD(SVC_R_FWD_NEW, NH_OUT6A, DPT_RULE_LPM64) },
	{ "sid_prefix_no_rule", "sid in the prefix, no rule covers it", sid_prefix_no_rule,
	  DPT_DROP(SVC_R_DROP_NO_RULE) },
	{ "no_service_v4", "no binding", no_service_v4, DPT_PASS(SVC_R_PASS_NO_SERVICE) },
	{ "no_service_v6", "no binding, outside every sid prefix", no_service_v6,
	  DPT_PASS(SVC_R_PASS_NO_SERVICE) },
	{ "return_traffic_v4", "instance reply VIP:80 -> client: plain routed traffic",
	  return_traffic_v4, DPT_PASS(SVC_R_PASS_NO_SERVICE) },
	{ "return_traffic_v6", "instance reply [VIP]:80 -> client", return_traffic_v6,
	  DPT_PASS(SVC_R_PASS_NO_SERVICE) },
	{ "no_rule_v4", "bound to a serviceID without rule", no_rule_v4,
	  DPT_DROP(SVC_R_DROP_NO_RULE) },
	{ "no_rule_v6", "bound to a serviceID without rule", no_rule_v6,
	  DPT_DROP(SVC_R_DROP_NO_RULE) },
	{ "icmp_echo_v4", "ICMP echo to a VIP: not an error, no service", echo_v4,
	  DPT_PASS(SVC_R_PASS_NO_SERVICE) },
	{ "icmp_echo_v6", "ICMPv6 echo to a VIP: not an error, no service", echo_v6,
	  DPT_PASS(SVC_R_PASS_NO_SERVICE) },
};

/* A binding added and deleted through libsvc changes the verdict accordingly. */
static void binding_lifecycle(struct dpt_env *e)
{
	struct svc_binding_key k = { .port = htons(7000), .proto = IPPROTO_TCP };
	struct svc_binding v = { 0 };
	struct dpt_expect fwd = { DPT_FWD(SVC_R_FWD_NEW, NH_OUT4A, SVC_FWD4) };
	struct dpt_expect pass = { DPT_PASS(SVC_R_PASS_NO_SERVICE) };
	struct pkt in;

	if (dpt_addr("10.100.9.9", &k.vip) ||
	    !ASSERT_EQ(inet_pton(AF_INET6, dpt_sid(SVC_FWD4), v.sid.b), 1, "sid"))
		return;
	dpt_tcp4(&in, "10.100.9.9", 40120, 7000, TCP_F_SYN, 0);
	if (!dpt_check(e, SVC_PROG_ROUTER, &in, &pass, NULL))
		return;
	if (!ASSERT_OK(svc_dp_binding_update(e->dp, &k, &v), "binding_update") ||
	    !ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !dpt_check(e, SVC_PROG_ROUTER, &in, &fwd, NULL))
		return;
	if (!ASSERT_OK(svc_dp_binding_delete(e->dp, &k), "binding_delete") ||
	    !ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		return;
	dpt_check(e, SVC_PROG_ROUTER, &in, &pass, NULL);
}

TEST(router_lookup)
{
	struct dpt_env e;

	if (dpt_env_open(&e))
		return;
	dpt_run_table(&e, rows, sizeof(rows) / sizeof(rows[0]));
	if (tp_subtest("binding_add_delete"))
		binding_lifecycle(&e);
	dpt_env_close(&e);
}
