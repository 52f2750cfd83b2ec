// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The next-hop egress cache (docs/datapath.md, "Next-hop egress cache"):
 * what libsvc resolves into nh_egress through rtnetlink (interface, MACs,
 * MTU, validity) for the standard next hops; that the router sends with the
 * cached egress and no FIB lookup (planted MACs and interface that differ
 * from the FIB's show in the output); that it falls back to bpf_fib_lookup,
 * counted ev_fib_fallback, when the entry is missing, not valid or resolved
 * for another address; the cached MTU in the too-big answer and the MSS
 * clamp; and that neighbour and route events re-resolve an entry.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if.h>
#include "tp.h"
#include "dptest.h"

#define PLANT_DMAC "02:aa:00:00:00:01"
#define PLANT_SMAC "02:aa:00:00:00:02"

static int egress_of(struct dpt_env *e, __u32 id, struct svc_nh_egress *out)
{
	return svc_dp_nh_egress_read(e->dp, id, out);
}

static __u64 fallbacks(struct dpt_env *e)
{
	struct svc_counter c[SVC_REASON_MAX];

	if (dpt_stats(e, SVC_PROG_ROUTER, c))
		return ~0ULL;
	return c[SVC_R_EV_FIB_FALLBACK].packets;
}

/* What libsvc resolved for next hop @id: valid or not, its interface, neighbour MAC, MTU. */
static void check_resolved(struct dpt_env *e, __u32 id, bool valid, enum dpt_if dev, __u32 mtu)
{
	const struct dpt_nh *m = dpt_nh_model(id);
	struct svc_nh_egress g;
	struct svc_addr a;
	__u8 mac[6];

	if (!ASSERT_OK(egress_of(e, id, &g), "read nh_egress") ||
	    !ASSERT_OK(dpt_addr(m->addr, &a), "model address"))
		return;
	ASSERT_MEMEQ(&g.addr, 16, &a, 16, "resolved for the next hop's address");
	ASSERT_EQ(!!(g.flags & SVC_NHE_F_VALID), valid, "valid");
	ASSERT_EQ(g.ifindex, dev == DPT_IF_NONE ? 0 : (__u32)e->ifindex[dev], "egress ifindex");
	if (!valid)
		return;
	pkt_mac(m->mac, mac);
	ASSERT_MEMEQ(g.dmac, 6, mac, 6, "dmac = the static neighbour's");
	dpt_if_mac(dev, mac);
	ASSERT_MEMEQ(g.smac, 6, mac, 6, "smac = the egress interface's");
	ASSERT_EQ(g.mtu, mtu, "mtu = the device's");
}

static void resolved(struct dpt_env *e)
{
	check_resolved(e, NH_OUT4A, true, DPT_IF_OUT, 1500);
	check_resolved(e, NH_OUT6A, true, DPT_IF_OUT, 1500);
	check_resolved(e, NH_TX4, true, DPT_IF_IN, 1500);
	check_resolved(e, NH_MTU4, true, DPT_IF_MTU, 1280);
	check_resolved(e, NH_MTU6, true, DPT_IF_MTU, 1280);
	/* a route but no neighbour: the interface is known, the entry is not valid */
	check_resolved(e, NH_NONEIGH4, false, DPT_IF_OUT, 0);
	check_resolved(e, NH_NONEIGH6, false, DPT_IF_OUT, 0);
	check_resolved(e, NH_NOROUTE4, false, DPT_IF_NONE, 0);
	check_resolved(e, NH_NOROUTE6, false, DPT_IF_NONE, 0);
}

static void udp_to(struct pkt *p, int svc, bool v6)
{
	if (v6)
		dpt_udp6(p, dpt_vip6(svc), 41000, 53, 20);
	else
		dpt_udp4(p, dpt_vip4(svc), 41000, 53, 20);
}

/* Re-resolve next hop @id from the kernel (as the agent would): undoes a planted entry. */
static void restore(struct dpt_env *e, __u32 id)
{
	dpt_set_nexthop(e, id, true);
}

/*
 * A valid entry whose MACs (and, if @via_in, interface) differ from the FIB's:
 * the output carries them, the verdict follows the planted interface, and no
 * FIB lookup is counted.
 */
static void cached_used(struct dpt_env *e, bool v6, bool via_in)
{
	__u32 nh = v6 ? NH_OUT6A : NH_OUT4A;
	int svc = v6 ? SVC_FWD6 : SVC_FWD4;
	struct dpt_expect x = { DPT_FWD(SVC_R_FWD_NEW, nh, svc) };
	struct svc_nh_egress g;
	struct pkt in, exp;
	__u64 f0, f1;

	if (!ASSERT_OK(egress_of(e, nh, &g), "read nh_egress") ||
	    !ASSERT_TRUE(g.flags & SVC_NHE_F_VALID, "resolved valid"))
		return;
	pkt_mac(PLANT_DMAC, g.dmac);
	pkt_mac(PLANT_SMAC, g.smac);
	if (via_in) {
		g.ifindex = (__u32)e->ifindex[DPT_IF_IN];
		x.verdict = XDP_TX;
	}
	if (!ASSERT_OK(svc_dp_nh_egress_write(e->dp, nh, &g), "plant nh_egress"))
		return;
	udp_to(&in, svc, v6);
	dpt_expect_fwd(&exp, in.buf, in.len, nh);
	pkt_mac(PLANT_DMAC, exp.buf);
	pkt_mac(PLANT_SMAC, exp.buf + 6);
	x.exp = &exp;
	f0 = fallbacks(e);
	if (ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		dpt_check(e, SVC_PROG_ROUTER, &in, &x, NULL);
	f1 = fallbacks(e);
	ASSERT_EQ(f1 - f0, 0, "ev_fib_fallback: no FIB lookup");
	restore(e, nh);
}

/*
 * @how: 0 no entry (zeroed), 1 planted MACs but not valid, 2 valid but
 * resolved for another address. The router asks the FIB: the output has the
 * neighbour's MACs, and ev_fib_fallback counts the lookup.
 */
static void falls_back(struct dpt_env *e, bool v6, int how)
{
	__u32 nh = v6 ? NH_OUT6A : NH_OUT4A;
	int svc = v6 ? SVC_FWD6 : SVC_FWD4;
	struct dpt_expect x = { DPT_FWD(SVC_R_FWD_NEW, nh, svc), .event = SVC_R_EV_FIB_FALLBACK };
	struct svc_nh_egress g;
	struct pkt in;

	if (!ASSERT_OK(egress_of(e, nh, &g), "read nh_egress"))
		return;
	pkt_mac(PLANT_DMAC, g.dmac);
	pkt_mac(PLANT_SMAC, g.smac);
	if (how == 0)
		memset(&g, 0, sizeof(g));
	else if (how == 1)
		g.flags &= ~SVC_NHE_F_VALID;
	else if (!ASSERT_OK(dpt_addr(dpt_nh_model(v6 ? NH_OUT6B : NH_OUT4B)->addr, &g.addr),
			    "other address"))
		return;
	if (!ASSERT_OK(svc_dp_nh_egress_write(e->dp, nh, &g), "plant nh_egress"))
		return;
	udp_to(&in, svc, v6);
	if (ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		dpt_check(e, SVC_PROG_ROUTER, &in, &x, NULL);
	restore(e, nh);
}

/* The standard no-neighbour next hop: no valid entry, the FIB's answer, counted. */
static void noneigh_counted(struct dpt_env *e)
{
	struct dpt_expect x = { DPT_DROP(SVC_R_DROP_NO_NEIGH), .rule = SVC_NONEIGH4,
				.event = SVC_R_EV_FIB_FALLBACK };
	struct pkt in;

	udp_to(&in, SVC_NONEIGH4, false);
	if (ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		dpt_check(e, SVC_PROG_ROUTER, &in, &x, NULL);
}

static __u16 rd16(const __u8 *p)
{
	return (__u16)((p[0] << 8) | p[1]);
}

/*
 * The cached MTU (planted lower than the link's) decides: a DF packet that
 * fits the link but not the cached MTU is answered with ICMP carrying the
 * cached MTU minus the outer header, with no FIB lookup.
 */
static void cached_mtu_too_big(struct dpt_env *e)
{
	struct dpt_expect x = { .verdict = XDP_TX,
				.counter = SVC_R_ICMP_TOO_BIG,
				.out = DPT_OUT_ANY,
				.rule = SVC_FWD4 };
	struct svc_nh_egress g;
	struct dpt_result r;
	struct pkt in;
	__u64 f0, f1;

	if (!ASSERT_OK(egress_of(e, NH_OUT4A, &g), "read nh_egress"))
		return;
	g.mtu = 1000;
	if (!ASSERT_OK(svc_dp_nh_egress_write(e->dp, NH_OUT4A, &g), "plant nh_egress"))
		return;
	pkt_init(&in);
	dpt_eth(&in);
	pkt_ip4(&in, &(struct ip4_spec){
			     .src = DPT_CLIENT4, .dst = dpt_vip4(SVC_FWD4), .frag = 0x4000 });
	pkt_udp(&in, 46300, 53);
	pkt_payload(&in, NULL, 1000); /* 1028 inner + 20 outer > 1000 */
	pkt_finalize(&in);
	f0 = fallbacks(e);
	if (ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") &&
	    dpt_check(e, SVC_PROG_ROUTER, &in, &x, &r) &&
	    ASSERT_GE(r.out_len, 14 + 20 + 8, "reply length"))
		ASSERT_EQ(rd16(r.out + 14 + 20 + 6), 1000 - 20, "next-hop MTU = cached - outer");
	f1 = fallbacks(e);
	ASSERT_EQ(f1 - f0, 0, "ev_fib_fallback: no FIB lookup");
	restore(e, NH_OUT4A);
}

/* The MSS clamp takes the cached MTU too: a SYN's MSS 1460 lowered to 1000 - 20 - 20 - 20. */
static void cached_mtu_clamp(struct dpt_env *e)
{
	static const __u8 opts[] = { 2, 4, 0x05, 0xb4, 1, 1, 1, 0 }; /* MSS 1460 */
	struct svc_nh_egress g;
	struct dpt_result r;
	struct pkt in;
	__u64 f0, f1;
	int err;

	if (!ASSERT_OK(egress_of(e, NH_OUT4A, &g), "read nh_egress"))
		return;
	g.mtu = 1000;
	if (!ASSERT_OK(svc_dp_nh_egress_write(e->dp, NH_OUT4A, &g), "plant nh_egress"))
		return;
	pkt_init(&in);
	dpt_eth(&in);
	pkt_ip4(&in, &(struct ip4_spec){
			     .src = DPT_CLIENT4, .dst = dpt_vip4(SVC_FWD4), .frag = 0x4000 });
	pkt_tcp(&in, &(struct tcp_spec){ .sport = 46400,
					 .dport = 80,
					 .seq = 1000,
					 .flags = TCP_F_SYN,
					 .opts = opts,
					 .optlen = sizeof(opts) });
	pkt_finalize(&in);
	f0 = fallbacks(e);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		goto out;
	err = dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in.buf, in.len, &r);
	if (!ASSERT_OK(err, "run") || !ASSERT_EQ(r.retval, XDP_REDIRECT, "verdict") ||
	    !ASSERT_GE(r.out_len, 14 + 20 + 20 + 24, "length"))
		goto out;
	ASSERT_EQ(pkt_tcp_mss(r.out + 14 + 20 + 20), 1000 - 20 - 20 - 20,
		  "MSS from the cached MTU");
	dpt_verify_csums("clamped SYN", r.out, r.out_len, 3);
	f1 = fallbacks(e);
	ASSERT_EQ(f1 - f0, 0, "ev_fib_fallback: no FIB lookup");
out:
	restore(e, NH_OUT4A);
}

/* A UDP datagram (IPv4 with DF) to SVC_FWD4 / SVC_FWD6 whose IP packet is @ip_len bytes. */
static void df_udp(struct pkt *p, bool v6, size_t ip_len)
{
	pkt_init(p);
	dpt_eth(p);
	if (v6)
		pkt_ip6(p, &(struct ip6_spec){ .src = DPT_CLIENT6, .dst = dpt_vip6(SVC_FWD6) });
	else
		pkt_ip4(p, &(struct ip4_spec){
				   .src = DPT_CLIENT4, .dst = dpt_vip4(SVC_FWD4), .frag = 0x4000 });
	pkt_udp(p, 46500, 53);
	pkt_payload(p, NULL, ip_len - (v6 ? 48 : 28));
	pkt_finalize(p);
}

/* Run @in with next hop @nh's entry as resolved, then with none (FIB): the same bytes out. */
static void same_both_ways(struct dpt_env *e, __u32 nh, const struct pkt *in, __u32 want,
			   const char *what)
{
	struct svc_nh_egress g, none;
	struct dpt_result c, f;
	__u64 f0, f1, f2;

	memset(&none, 0, sizeof(none));
	if (!ASSERT_OK(egress_of(e, nh, &g), "read nh_egress"))
		return;
	f0 = fallbacks(e);
	if (!ASSERT_OK(dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in->buf, in->len, &c),
		       "run cached"))
		return;
	f1 = fallbacks(e);
	if (!ASSERT_OK(svc_dp_nh_egress_write(e->dp, nh, &none), "clear nh_egress"))
		return;
	ASSERT_OK(dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in->buf, in->len, &f),
		  "run FIB");
	f2 = fallbacks(e);
	ASSERT_OK(svc_dp_nh_egress_write(e->dp, nh, &g), "put nh_egress back");
	tp_diag("%s, %u-byte frame: cached mtu %u, verdict %u", what, (unsigned)in->len, g.mtu,
		c.retval);
	ASSERT_EQ(f1 - f0, 0, "cached: no FIB lookup");
	ASSERT_EQ(f2 - f1, 1, "no entry: one FIB lookup");
	ASSERT_EQ(c.retval, want, "verdict (cached)");
	ASSERT_EQ(f.retval, want, "verdict (FIB)");
	ASSERT_MEMEQ(c.out, c.out_len, f.out, f.out_len, "cached output = FIB output");
}

/*
 * The MTU libsvc caches decides as the kernel's FIB does, for a device MTU, a
 * route MTU (which forwarding ignores unless locked) and a locked one: the
 * largest datagram that fits and one byte more give the same bytes out with
 * the cache and with bpf_fib_lookup.
 */
static void mtu_agrees(struct dpt_env *e, bool v6)
{
	static const char *const routes[] = { NULL, "mtu 1400", "mtu lock 1400" };
	__u32 nh = v6 ? NH_OUT6A : NH_OUT4A, outer = v6 ? 40 : 20;
	const struct dpt_nh *m = dpt_nh_model(nh);
	struct svc_nh_egress g;
	char cmd[256];
	struct pkt in;
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *what = routes[i] ? routes[i] : "device MTU";

		if (routes[i]) {
			snprintf(cmd, sizeof(cmd), "ip route replace %s/%d dev tpout0 %s", m->addr,
				 v6 ? 128 : 32, routes[i]);
			if (!ASSERT_OK(system(cmd), cmd))
				break;
		}
		/* re-resolve now, as the agent does on the route event */
		if (dpt_set_nexthop(e, nh, true) || !ASSERT_OK(egress_of(e, nh, &g), "read") ||
		    !ASSERT_TRUE(g.flags & SVC_NHE_F_VALID, "valid"))
			break;
		ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear");
		df_udp(&in, v6, g.mtu - outer);
		same_both_ways(e, nh, &in, XDP_REDIRECT, what);
		df_udp(&in, v6, g.mtu - outer + 1);
		same_both_ways(e, nh, &in, XDP_TX, what);
	}
	snprintf(cmd, sizeof(cmd), "ip route del %s/%d dev tpout0 2>/dev/null", m->addr,
		 v6 ? 128 : 32);
	if (system(cmd)) {
		/* nothing to delete when the first step failed */
	}
	restore(e, nh);
}

/*
 * Poll the event socket until next hop @id's entry satisfies @want (dmac
 * @mac, or mtu @mtu when @mac is NULL); a generous deadline, no sleeps.
 */
static bool await_entry(struct dpt_env *e, int fd, __u32 id, const char *mac, __u32 mtu)
{
	struct timespec t0, t;
	struct svc_nh_egress g;
	__u8 want[6];

	if (mac)
		pkt_mac(mac, want);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (svc_dp_nh_egress_read(e->dp, id, &g))
			return false;
		if ((g.flags & SVC_NHE_F_VALID) && (mac ? !memcmp(g.dmac, want, 6) : g.mtu == mtu))
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 20)
			return false;
		if (poll(&p, 1, 1000) > 0 && svc_dp_nh_watch_run(e->dp) < 0)
			return false;
	}
}

/* A neighbour's MAC replaced, then a locked route MTU: the events re-resolve the entry. */
static void events(struct dpt_env *e)
{
	const struct dpt_nh *m = dpt_nh_model(NH_OUT4A);
	int fd = svc_dp_nh_watch_start(e->dp);
	char cmd[256];

	if (!ASSERT_GE(fd, 0, "svc_dp_nh_watch_start"))
		return;
	snprintf(cmd, sizeof(cmd),
		 "ip neigh replace %s lladdr 02:bb:00:00:00:01 dev tpout0 nud permanent", m->addr);
	if (!ASSERT_OK(system(cmd), cmd))
		return;
	ASSERT_TRUE(await_entry(e, fd, NH_OUT4A, "02:bb:00:00:00:01", 0),
		    "new MAC in nh_egress after RTM_NEWNEIGH");
	snprintf(cmd, sizeof(cmd), "ip neigh replace %s lladdr %s dev tpout0 nud permanent",
		 m->addr, m->mac);
	if (!ASSERT_OK(system(cmd), cmd))
		return;
	ASSERT_TRUE(await_entry(e, fd, NH_OUT4A, m->mac, 0), "MAC back after RTM_NEWNEIGH");
	snprintf(cmd, sizeof(cmd), "ip route add %s/32 dev tpout0 mtu lock 1400", m->addr);
	if (!ASSERT_OK(system(cmd), cmd))
		return;
	ASSERT_TRUE(await_entry(e, fd, NH_OUT4A, NULL, 1400),
		    "locked route MTU after RTM_NEWROUTE");
	snprintf(cmd, sizeof(cmd), "ip route del %s/32 dev tpout0", m->addr);
	if (!ASSERT_OK(system(cmd), cmd))
		return;
	ASSERT_TRUE(await_entry(e, fd, NH_OUT4A, NULL, 1500), "device MTU after RTM_DELROUTE");
}

TEST(router_nhcache)
{
	struct dpt_env e;

	if (dpt_env_open(&e))
		return;
	if (tp_subtest("resolved"))
		resolved(&e);
	if (tp_subtest("cached_macs_v4"))
		cached_used(&e, false, false);
	if (tp_subtest("cached_macs_v6"))
		cached_used(&e, true, false);
	if (tp_subtest("cached_ifindex_tx_v4"))
		cached_used(&e, false, true);
	if (tp_subtest("fallback_no_entry_v4"))
		falls_back(&e, false, 0);
	if (tp_subtest("fallback_no_entry_v6"))
		falls_back(&e, true, 0);
	if (tp_subtest("fallback_invalidated_v4"))
		falls_back(&e, false, 1);
	if (tp_subtest("fallback_invalidated_v6"))
		falls_back(&e, true, 1);
	if (tp_subtest("fallback_other_address_v4"))
		falls_back(&e, false, 2);
	if (tp_subtest("fallback_noneigh_counted"))
		noneigh_counted(&e);
	if (tp_subtest("cached_mtu_too_big_v4"))
		cached_mtu_too_big(&e);
	if (tp_subtest("cached_mtu_mss_clamp_v4"))
		cached_mtu_clamp(&e);
	if (tp_subtest("mtu_agrees_with_fib_v4"))
		mtu_agrees(&e, false);
	if (tp_subtest("mtu_agrees_with_fib_v6"))
		mtu_agrees(&e, true);
	if (tp_subtest("events_neigh_and_route"))
		events(&e);
	dpt_env_close(&e);
}
