// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Route lookup (agent/lib/route.h, `servicectl route get`): the probe
 * instance of the router answers where a packet would go, and real packets
 * pushed through the attached router program go exactly there. The probe
 * leaves the live data plane untouched: no flow entry, no counter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "tp.h"
#include "dptest.h"
#include "addr.h"
#include "route.h"
#include "svc_reason_names.h"

#define ROUTE_SPORT 47000
#define ROUTE_FLOWS 48

/* Everything a probe must not change: counters (router, every rule, every next hop) and flows. */
struct live_state {
	struct svc_counter stats[SVC_REASON_MAX];
	struct svc_counter rules[SVC_COUNT + 1];
	struct svc_counter nhs[NH_MAX_ID + 1];
	size_t flows;
};

static int count_flow(const struct svc_flow_key *k, const struct svc_flow *v, void *arg)
{
	(void)k;
	(void)v;
	(*(size_t *)arg)++;
	return 0;
}

static bool live_read(struct dpt_env *e, struct live_state *s)
{
	memset(s, 0, sizeof(*s));
	if (dpt_stats(e, SVC_PROG_ROUTER, s->stats))
		return false;
	for (__u32 i = 1; i <= SVC_COUNT; i++)
		if (!ASSERT_OK(svc_dp_rule_stats_read(e->dp, i, &s->rules[i]), "rule stats"))
			return false;
	for (__u32 i = 1; i <= NH_MAX_ID; i++)
		if (!ASSERT_OK(svc_dp_nh_stats_read(e->dp, i, &s->nhs[i]), "nh stats"))
			return false;
	return ASSERT_OK(svc_dp_flows_foreach(e->dp, count_flow, &s->flows), "count flows");
}

static bool live_unchanged(struct dpt_env *e, const struct live_state *before, const char *what)
{
	struct live_state now;

	if (!live_read(e, &now))
		return false;
	if (memcmp(&now, before, sizeof(now))) {
		tp_diag("%s: flows %zu -> %zu", what, before->flows, now.flows);
		for (int r = 0; r < SVC_REASON_MAX; r++)
			if (now.stats[r].packets != before->stats[r].packets)
				tp_diag("%s: counter %s %llu -> %llu", what, svc_reason_label[r],
					(unsigned long long)before->stats[r].packets,
					(unsigned long long)now.stats[r].packets);
		return ASSERT_TRUE(false, "the live data plane is unchanged by route lookups");
	}
	return true;
}

static void query(struct dpt_env *e, struct svc_route_query *q, const char *dst, bool v6,
		  __u8 proto, __u16 sport, __u16 dport, bool syn)
{
	memset(q, 0, sizeof(*q));
	dpt_addr(v6 ? DPT_CLIENT6 : DPT_CLIENT4, &q->src);
	dpt_addr(dst, &q->dst);
	q->sport = sport;
	q->dport = dport;
	q->proto = proto;
	q->syn = syn;
	q->ifindex = (__u32)e->ifindex[DPT_IF_IN];
}

/* One lookup; its answer must be @how, counted as @reason. */
static bool lookup(struct svc_route *rp, const struct svc_route_query *q, enum svc_route_how how,
		   enum svc_reason reason, struct svc_route_result *r)
{
	if (!ASSERT_OK(svc_route_get(rp, q, r), "svc_route_get"))
		return false;
	if (!ASSERT_EQ(r->how, how, "how") || !ASSERT_EQ(r->reason, reason, "reason")) {
		tp_diag("got how %s reason %s", svc_route_how_names[r->how],
			r->reason < SVC_REASON_MAX ? svc_reason_label[r->reason] : "?");
		return false;
	}
	return true;
}

/* The answer's next hop is the one the outer header was built for, and the model's address. */
static bool answer_consistent(const struct svc_route_result *r)
{
	struct svc_addr model;

	if (!ASSERT_NEQ(r->nh_id, 0, "a next hop") || !ASSERT_TRUE(r->sent, "encapsulated") ||
	    dpt_addr(dpt_nh_model(r->nh_id)->addr, &model))
		return false;
	return ASSERT_OK(memcmp(&r->nh, &model, sizeof(model)), "next-hop address") &&
	       ASSERT_OK(memcmp(&r->outer, &model, sizeof(model)), "outer destination");
}

/*
 * For ROUTE_FLOWS client ports on a weighted service: lookups (established
 * packet, then SYN) answer "hash" and name a next hop; a real SYN through the
 * attached program goes to that next hop; then the lookup answers "flow"; after
 * the set loses that next hop a SYN lookup answers the other one while an
 * established packet still follows the flow, and a real packet does too.
 */
static void agrees_with_live(struct dpt_env *e, struct svc_route *rp, bool v6)
{
	int svc = v6 ? SVC_W6 : SVC_W4;
	__u32 a = v6 ? NH_OUT6A : NH_OUT4A, b = v6 ? NH_OUT6B : NH_OUT4B;
	struct svc_ch_member only, both[2] = { DPT_M(a, v6 ? 2 : 1), DPT_M(b, v6 ? 1 : 3) };
	const char *vip = v6 ? dpt_vip6(svc) : dpt_vip4(svc);
	struct svc_route_result r, s;
	struct svc_route_query q;
	struct live_state before;
	unsigned int used[2] = { 0, 0 };
	struct pkt in;
	__u16 port;

	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		return;
	for (int i = 0; i < ROUTE_FLOWS; i++) {
		port = (__u16)(ROUTE_SPORT + i * 13);
		query(e, &q, vip, v6, IPPROTO_TCP, port, 80, false);
		if (!live_read(e, &before) ||
		    !lookup(rp, &q, SVC_ROUTE_HASH, SVC_R_FWD_CH_MISS, &r) ||
		    !answer_consistent(&r) || !ASSERT_EQ(r.rule_id, svc, "rule"))
			goto fail;
		q.syn = true;
		if (!lookup(rp, &q, SVC_ROUTE_HASH, SVC_R_FWD_NEW, &s) ||
		    !ASSERT_EQ(s.nh_id, r.nh_id, "SYN and established packet agree") ||
		    !live_unchanged(e, &before, "hash lookups"))
			goto fail;
		/* Where a real SYN goes (dpt_check verifies the whole output frame). */
		if (v6)
			dpt_tcp6(&in, vip, port, 80, TCP_F_SYN, 0);
		else
			dpt_tcp4(&in, vip, port, 80, TCP_F_SYN, 0);
		{
			struct dpt_expect x = { .verdict = dpt_fwd_verdict(r.nh_id),
						.counter = SVC_R_FWD_NEW,
						.out = DPT_OUT_FWD,
						.nh = r.nh_id,
						.rule = (__u32)svc };

			if (!dpt_check(e, SVC_PROG_ROUTER, &in, &x, NULL))
				goto fail;
		}
		used[r.nh_id == a ? 0 : 1]++;
		q.syn = false;
		if (!live_read(e, &before) ||
		    !lookup(rp, &q, SVC_ROUTE_FLOW, SVC_R_FWD_FLOW_HIT, &r) ||
		    !answer_consistent(&r) || !ASSERT_EQ(r.rule_id, svc, "flow's rule") ||
		    !live_unchanged(e, &before, "flow lookup"))
			goto fail;
	}
	ASSERT_GT(used[0], 0, "flows on the first next hop");
	ASSERT_GT(used[1], 0, "flows on the second next hop");

	/* The set loses next hop a: new connections go to b, established ones stay. */
	only = both[1];
	if (dpt_set_nhset(e, svc, &only, 1))
		goto restore;
	for (int i = 0; i < ROUTE_FLOWS; i++) {
		port = (__u16)(ROUTE_SPORT + i * 13);
		query(e, &q, vip, v6, IPPROTO_TCP, port, 80, true);
		if (!lookup(rp, &q, SVC_ROUTE_HASH, SVC_R_FWD_NEW, &s) ||
		    !ASSERT_EQ(s.nh_id, b, "SYN"))
			break;
		q.syn = false;
		if (!lookup(rp, &q, SVC_ROUTE_FLOW, SVC_R_FWD_FLOW_HIT, &r))
			break;
		if (v6)
			dpt_tcp6(&in, vip, port, 80, TCP_F_ACK, 10);
		else
			dpt_tcp4(&in, vip, port, 80, TCP_F_ACK, 10);
		{
			struct dpt_expect x = { .verdict = dpt_fwd_verdict(r.nh_id),
						.counter = SVC_R_FWD_FLOW_HIT,
						.out = DPT_OUT_FWD,
						.nh = r.nh_id };

			if (!dpt_check(e, SVC_PROG_ROUTER, &in, &x, NULL))
				break;
		}
	}
restore:
	dpt_set_nhset(e, svc, both, 2);
	return;
fail:
	tp_diag("client port %u", port);
}

/* UDP: the lookup names the next hop a real datagram then goes to. */
static void udp_agrees(struct dpt_env *e, struct svc_route *rp, bool v6)
{
	int svc = v6 ? SVC_W6 : SVC_W4;
	const char *vip = v6 ? dpt_vip6(svc) : dpt_vip4(svc);
	struct svc_route_result r;
	struct svc_route_query q;
	struct live_state before;
	struct pkt in;

	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		return;
	for (int i = 0; i < 16; i++) {
		__u16 port = (__u16)(ROUTE_SPORT + 1000 + i);

		query(e, &q, vip, v6, IPPROTO_UDP, port, 53, false);
		if (!live_read(e, &before) || !lookup(rp, &q, SVC_ROUTE_HASH, SVC_R_FWD_NEW, &r) ||
		    !answer_consistent(&r) || !live_unchanged(e, &before, "udp lookup"))
			return;
		if (v6)
			dpt_udp6(&in, vip, port, 53, 25);
		else
			dpt_udp4(&in, vip, port, 53, 25);
		{
			struct dpt_expect x = { .verdict = dpt_fwd_verdict(r.nh_id),
						.counter = SVC_R_FWD_NEW,
						.out = DPT_OUT_FWD,
						.nh = r.nh_id,
						.rule = (__u32)svc };

			if (!dpt_check(e, SVC_PROG_ROUTER, &in, &x, NULL))
				return;
		}
		if (!lookup(rp, &q, SVC_ROUTE_FLOW, SVC_R_FWD_FLOW_HIT, &r))
			return;
	}
}

/* Rule actions and non-service packets: the lookup tells them apart, without side effects. */
static void rule_actions(struct dpt_env *e, struct svc_route *rp)
{
	struct svc_route_result r;
	struct svc_route_query q;
	struct live_state before;
	struct svc_sid sid;

	if (!live_read(e, &before))
		return;
	query(e, &q, dpt_vip4(SVC_DEMUX), false, IPPROTO_TCP, ROUTE_SPORT, 80, true);
	if (lookup(rp, &q, SVC_ROUTE_RULE, SVC_R_DEMUX, &r)) {
		ASSERT_EQ(r.rule_id, SVC_DEMUX, "demux rule");
		ASSERT_EQ(r.nh_id, 0, "demux: no next hop");
		ASSERT_EQ(r.xdp_action, XDP_PASS, "demux: passed");
	}
	query(e, &q, dpt_vip4(SVC_DROP), false, IPPROTO_TCP, ROUTE_SPORT, 80, true);
	if (lookup(rp, &q, SVC_ROUTE_RULE, SVC_R_DROP_RULE, &r))
		ASSERT_EQ(r.rule_id, SVC_DROP, "drop rule");
	/* DELAY: the event goes to the probe's own ring buffer, not the agent's. */
	query(e, &q, dpt_vip4(SVC_DELAY), false, IPPROTO_TCP, ROUTE_SPORT, 80, true);
	if (lookup(rp, &q, SVC_ROUTE_RULE, SVC_R_DELAY, &r) &&
	    ASSERT_TRUE(r.has_sid, "delay: serviceID") &&
	    ASSERT_OK(svc_sid_parse(dpt_sid(SVC_DELAY), &sid), "sid"))
		ASSERT_OK(memcmp(&r.sid, &sid, sizeof(sid)), "delay: the service's serviceID");
	query(e, &q, dpt_vip4(SVC_NORULE), false, IPPROTO_TCP, ROUTE_SPORT, 80, true);
	if (lookup(rp, &q, SVC_ROUTE_NONE, SVC_R_DROP_NO_RULE, &r))
		ASSERT_EQ(r.rule_id, 0, "no rule");
	query(e, &q, dpt_vip4(SVC_DOWN4), false, IPPROTO_TCP, ROUTE_SPORT, 80, true);
	lookup(rp, &q, SVC_ROUTE_RULE, SVC_R_DROP_NO_NEXTHOP, &r);
	query(e, &q, "10.200.0.1", false, IPPROTO_TCP, ROUTE_SPORT, 80, true);
	if (lookup(rp, &q, SVC_ROUTE_NONE, SVC_R_PASS_NO_SERVICE, &r))
		ASSERT_EQ(r.xdp_action, XDP_PASS, "not a service: passed");
	/* Chosen, then dropped for want of a neighbour: the choice is still reported. */
	query(e, &q, dpt_vip4(SVC_NONEIGH4), false, IPPROTO_TCP, ROUTE_SPORT, 80, false);
	if (lookup(rp, &q, SVC_ROUTE_HASH, SVC_R_DROP_NO_NEIGH, &r))
		ASSERT_EQ(r.nh_id, NH_NONEIGH4, "no neighbour: the chosen next hop");
	live_unchanged(e, &before, "rule lookups");
	{
		struct svc_route_query bad = q;

		bad.sport = 0;
		ASSERT_EQ(svc_route_get(rp, &bad, &r), -EINVAL, "port 0 refused");
		bad = q;
		dpt_addr(DPT_CLIENT6, &bad.src);
		ASSERT_EQ(svc_route_get(rp, &bad, &r), -EINVAL, "mixed families refused");
	}
}

/*
 * With the flood guard on at its lowest rate, every SYN lookup still names the
 * hash's next hop: the probe learns it from the flow entry its SYN writes,
 * which the guard must not skip (route.c gives each probe a fresh window).
 */
static void flood_guard_on(struct dpt_env *e, struct svc_route *rp)
{
	struct svc_route_result r;
	struct svc_route_query q;

	if (!ASSERT_OK(svc_dp_set_flood_rate(e->dp, 1), "svc_dp_set_flood_rate"))
		return;
	for (int i = 0; i < 4; i++) {
		query(e, &q, dpt_vip4(SVC_W4), false, IPPROTO_TCP, (__u16)(ROUTE_SPORT + 900 + i),
		      80, true);
		if (!lookup(rp, &q, SVC_ROUTE_HASH, SVC_R_FWD_NEW, &r) || !answer_consistent(&r) ||
		    !ASSERT_EQ(r.rule_id, SVC_W4, "rule")) {
			tp_diag("SYN lookup %d", i);
			break;
		}
	}
	ASSERT_OK(svc_dp_set_flood_rate(e->dp, 0), "flood guard off");
}

TEST(router_route)
{
	struct svc_route *rp = NULL;
	struct dpt_env e;

	if (dpt_env_open(&e))
		return;
	if (!ASSERT_OK(svc_route_open(e.dp, &rp), "svc_route_open"))
		goto out;
	if (tp_subtest("agrees_with_live_v4"))
		agrees_with_live(&e, rp, false);
	if (tp_subtest("agrees_with_live_v6"))
		agrees_with_live(&e, rp, true);
	if (tp_subtest("udp_agrees_v4"))
		udp_agrees(&e, rp, false);
	if (tp_subtest("udp_agrees_v6"))
		udp_agrees(&e, rp, true);
	if (tp_subtest("rule_actions"))
		rule_actions(&e, rp);
	if (tp_subtest("flood_guard_on"))
		flood_guard_on(&e, rp);
out:
	svc_route_close(rp);
	dpt_env_close(&e);
}
