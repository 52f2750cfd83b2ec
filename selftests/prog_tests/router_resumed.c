// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Resumed connections keep their instance (docs/datapath.md, "Resumed
 * connections"): a connection opened by a resumed SYN (routed by its TIFID,
 * which its later packets do not carry) is recorded in resumed_flows as well
 * as in flows. A flood of new connections that evicts its flows entry does
 * not evict it there, so its packets still reach the instance the TIFID named
 * (fwd_resumed_hit), not the one the consistent hash would pick. Measured
 * here: N resumed connections to NH_OUT*B of SVC_W*, then a flood of 4x the
 * flow table's size of new connections, then one ACK per resumed connection.
 */
#include <stdio.h>
#include <string.h>
#include "tp.h"
#include "dptest.h"
#include "svc_tiflow.h"
#include "svc_optmac.h"

#define N_RESUMED 64
#define RPORT 30000
#define FLOOD (4 * 4096) /* dpt_env_open's flow table: 4096 entries */

static const __u64 optkey[2] = { DPT_OPT_K0, DPT_OPT_K1 };

static void tcp_to(struct pkt *p, bool v6, int svc, __u16 sport, __u8 flags, const __u8 *opts,
		   size_t optlen)
{
	pkt_init(p);
	dpt_eth(p);
	if (v6)
		pkt_ip6(p, &(struct ip6_spec){ .src = DPT_CLIENT6, .dst = dpt_vip6(svc) });
	else
		pkt_ip4(p, &(struct ip4_spec){ .src = DPT_CLIENT4, .dst = dpt_vip4(svc), .id = 5 });
	pkt_tcp(p, &(struct tcp_spec){ .sport = sport,
				       .dport = 80,
				       .seq = 1000,
				       .ack = flags & TCP_F_ACK ? 5000 : 0,
				       .flags = flags,
				       .opts = opts,
				       .optlen = optlen });
	pkt_finalize(p);
}

/* A resumed SYN from @sport whose genuine TIFID names @nh. */
static void resumed_syn(struct pkt *p, bool v6, int svc, __u16 sport, __u16 nh)
{
	__u32 ini = 0x100000 + sport;
	__u32 resp = ((__u32)nh << SVC_TIFID_INSTANCE_SHIFT) | svc_tifid_mac(optkey, ini, nh);
	__u8 o[24] = { 2, 4, 0x05, 0xb4, SVC_TIFLOW_KIND_DEFAULT, SVC_TIFLOW_LEN };

	o[6] = ini >> 16;
	o[7] = ini >> 8;
	o[8] = ini;
	o[9] = resp >> 16;
	o[10] = resp >> 8;
	o[11] = resp;
	o[17] = 0x2a;
	tcp_to(p, v6, svc, sport, TCP_F_SYN, o, sizeof(o));
}

/* The next hop @p went to (0: not forwarded): the outer destination matched against the models. */
static __u32 went_to(const struct dpt_result *r, const struct pkt *in, __u32 a, __u32 b)
{
	struct pkt exp;

	if (r->retval != XDP_REDIRECT && r->retval != XDP_TX)
		return 0;
	dpt_expect_fwd(&exp, in->buf, in->len, a);
	if (exp.len == r->out_len && !memcmp(exp.buf, r->out, exp.len))
		return a;
	dpt_expect_fwd(&exp, in->buf, in->len, b);
	if (exp.len == r->out_len && !memcmp(exp.buf, r->out, exp.len))
		return b;
	return 0;
}

static void survive_flood(struct dpt_env *e, bool v6)
{
	struct svc_counter before[SVC_REASON_MAX], after[SVC_REASON_MAX];
	int svc = v6 ? SVC_W6 : SVC_W4;
	__u32 a = v6 ? NH_OUT6A : NH_OUT4A, b = v6 ? NH_OUT6B : NH_OUT4B, nh;
	int i, kept = 0, hashed_elsewhere = 0, lost = 0, would_move = 0;
	struct svc_flow_key k;
	struct dpt_result r;
	struct pkt in;

	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		return;
	for (i = 0; i < N_RESUMED; i++) {
		resumed_syn(&in, v6, svc, RPORT + i, (__u16)b);
		if (!ASSERT_OK(dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in.buf, in.len, &r),
			       "resumed SYN") ||
		    !ASSERT_EQ(went_to(&r, &in, a, b), b, "resumed SYN to the TIFID's instance"))
			return;
	}
	/* The flood: new connections of another service, 4x the flow table. */
	for (i = 0; i < FLOOD; i++) {
		if (v6)
			dpt_tcp6(&in, dpt_vip6(SVC_FWD6), 1024 + i, 80, TCP_F_SYN, 0);
		else
			dpt_tcp4(&in, dpt_vip4(SVC_FWD4), 1024 + i, 80, TCP_F_SYN, 0);
		if (dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in.buf, in.len, &r) ||
		    r.retval != XDP_REDIRECT) {
			ASSERT_EQ(r.retval, XDP_REDIRECT, "flood SYN forwarded");
			return;
		}
	}
	if (!ASSERT_OK(dpt_stats(e, SVC_PROG_ROUTER, before), "stats"))
		return;
	for (i = 0; i < N_RESUMED; i++) {
		tcp_to(&in, v6, svc, RPORT + i, TCP_F_ACK, NULL, 0);
		if (!ASSERT_OK(dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in.buf, in.len, &r),
			       "ACK"))
			return;
		dpt_verify_csums("ACK output", r.out, r.out_len, v6 ? 1 : 2);
		/* Where the consistent hash alone would have sent it. */
		if (!ASSERT_OK(dpt_flow_key(in.buf, in.len, &k), "key") ||
		    !ASSERT_OK(dpt_predict_nh(e, svc, &k, &nh), "predict"))
			return;
		would_move += nh != b;
		nh = went_to(&r, &in, a, b);
		kept += nh == b;
		hashed_elsewhere += nh == a;
		lost += !nh;
	}
	if (!ASSERT_OK(dpt_stats(e, SVC_PROG_ROUTER, after), "stats"))
		return;
	printf("# %s: %d resumed connections after a flood of %d new ones: %d still at their "
	       "instance (%llu of them from resumed_flows, their flows entry evicted), %d moved, "
	       "%d not forwarded; the consistent hash alone would have moved %d\n",
	       v6 ? "IPv6" : "IPv4", N_RESUMED, FLOOD, kept,
	       (unsigned long long)(after[SVC_R_FWD_RESUMED_HIT].packets -
				    before[SVC_R_FWD_RESUMED_HIT].packets),
	       hashed_elsewhere, lost, would_move);
	ASSERT_EQ(kept, N_RESUMED, "every resumed connection still at its instance");
	/* The flood must really have evicted entries, or this measured nothing. */
	ASSERT_GT(after[SVC_R_FWD_RESUMED_HIT].packets, before[SVC_R_FWD_RESUMED_HIT].packets,
		  "some flows entries were evicted (fwd_resumed_hit)");
}

/* A bare SYN reusing a resumed connection's 5-tuple is a new connection: resolved by the rule. */
static void new_syn_forgets(struct dpt_env *e)
{
	struct dpt_expect x;
	struct svc_flow_key k;
	struct dpt_result r;
	struct pkt in;
	__u32 nh = 0;

	resumed_syn(&in, false, SVC_W4, RPORT + 500, NH_OUT4B);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !ASSERT_OK(dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in.buf, in.len, &r),
		       "resumed SYN"))
		return;
	tcp_to(&in, false, SVC_W4, RPORT + 500, TCP_F_SYN, NULL, 0);
	if (!ASSERT_OK(dpt_flow_key(in.buf, in.len, &k), "key") ||
	    !ASSERT_OK(dpt_predict_nh(e, SVC_W4, &k, &nh), "predict"))
		return;
	x = (struct dpt_expect){ DPT_FWD(SVC_R_FWD_NEW, nh, SVC_W4) };
	if (!dpt_check(e, SVC_PROG_ROUTER, &in, &x, NULL))
		return;
	/* Its flows entry lost, the new connection's ACK follows the hash, not the old TIFID. */
	tcp_to(&in, false, SVC_W4, RPORT + 500, TCP_F_ACK, NULL, 0);
	x = (struct dpt_expect){ DPT_FWD(SVC_R_FWD_CH_MISS, nh, SVC_W4) };
	if (ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		dpt_check(e, SVC_PROG_ROUTER, &in, &x, NULL);
}

TEST(router_resumed)
{
	struct dpt_env e;

	if (dpt_env_open(&e))
		return;
	if (tp_subtest("resumed_survive_flood_v4"))
		survive_flood(&e, false);
	if (tp_subtest("resumed_survive_flood_v6"))
		survive_flood(&e, true);
	if (tp_subtest("new_syn_forgets_resumed"))
		new_syn_forgets(&e);
	dpt_env_close(&e);
}
