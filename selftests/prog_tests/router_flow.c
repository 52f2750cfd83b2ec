// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Router flow affinity and weighted consistent hashing (docs/datapath.md,
 * "Flow affinity and resolution"). The next hop of a new flow must be the one
 * userspace predicts: svc_ch_slot(svc_flow_hash(key, seed)) in the set's table
 * read back with svc_dp_nhset_read. Later packets stay on the recorded next
 * hop while it is up, even after the set changes; a packet the flow table
 * lost goes where the consistent hash sends it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/bpf.h>
#include "tp.h"
#include "dptest.h"
#include "svc_hash.h"

/* A weighted service of the standard configuration and its two next hops. */
struct wsvc {
	int svc;
	bool v6;
	struct svc_ch_member m[2]; /* as installed by dpt_env_open */
};

static const struct wsvc w4 = { SVC_W4, false, { DPT_M(NH_OUT4A, 1), DPT_M(NH_OUT4B, 3) } };
static const struct wsvc w6 = { SVC_W6, true, { DPT_M(NH_OUT6A, 2), DPT_M(NH_OUT6B, 1) } };

static void flow_pkt(struct pkt *p, const struct wsvc *w, __u16 sport, __u8 flags)
{
	if (w->v6)
		dpt_tcp6(p, dpt_vip6(w->svc), sport, 80, flags, flags == TCP_F_SYN ? 0 : 20);
	else
		dpt_tcp4(p, dpt_vip4(w->svc), sport, 80, flags, flags == TCP_F_SYN ? 0 : 20);
}

static void udp_pkt(struct pkt *p, const struct wsvc *w, __u16 sport)
{
	if (w->v6)
		dpt_udp6(p, dpt_vip6(w->svc), sport, 53, 25);
	else
		dpt_udp4(p, dpt_vip4(w->svc), sport, 53, 25);
}

/* @in must be forwarded to @nh, counted as @reason; @rule counts it unless 0 (flow hit). */
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

static bool predict(struct dpt_env *e, const struct wsvc *w, const struct pkt *in, __u32 *nh)
{
	struct svc_flow_key k;

	if (!ASSERT_OK(dpt_flow_key(in->buf, in->len, &k), "flow key"))
		return false;
	if (dpt_predict_nh(e, w->svc, &k, nh))
		return false;
	return ASSERT_TRUE(*nh == w->m[0].nh_id || *nh == w->m[1].nh_id, "predicted nh in set");
}

static __u32 other(const struct wsvc *w, __u32 nh)
{
	return nh == w->m[0].nh_id ? w->m[1].nh_id : w->m[0].nh_id;
}

static void restore(struct dpt_env *e, const struct wsvc *w)
{
	dpt_set_nexthop(e, w->m[0].nh_id, true);
	dpt_set_nexthop(e, w->m[1].nh_id, true);
	dpt_set_nhset(e, w->svc, w->m, 2);
}

/* The table holds the weights; 64 new flows each go to the predicted next hop. */
static void weights(struct dpt_env *e, const struct wsvc *w)
{
	__u32 *table = calloc(SVC_CH_SIZE, sizeof(*table)), nh, i;
	__u64 slots[2] = { 0 }, used[2] = { 0 }, want, wsum = w->m[0].weight + w->m[1].weight;
	struct pkt in;

	if (!ASSERT_OK_PTR(table, "calloc") ||
	    !ASSERT_OK(svc_dp_nhset_read(e->dp, w->svc, table), "svc_dp_nhset_read"))
		goto out;
	for (i = 0; i < SVC_CH_SIZE; i++) {
		if (table[i] == w->m[0].nh_id)
			slots[0]++;
		else if (table[i] == w->m[1].nh_id)
			slots[1]++;
		else if (!ASSERT_TRUE(false, "table slot holds a member of the set"))
			goto out;
	}
	want = (__u64)SVC_CH_SIZE * w->m[0].weight / wsum;
	ASSERT_TRUE(slots[0] == want || slots[0] == want + 1, "slots of the first next hop");
	for (i = 0; i < 64; i++) {
		flow_pkt(&in, w, (__u16)(42000 + i * 7), TCP_F_SYN);
		if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
		    !predict(e, w, &in, &nh) || !fwd(e, &in, nh, SVC_R_FWD_NEW, w->svc)) {
			tp_diag("flow %u (sport %u)", i, 42000 + i * 7);
			goto out;
		}
		used[nh == w->m[0].nh_id ? 0 : 1]++;
	}
	ASSERT_GT(used[0], 0, "flows on the first next hop");
	ASSERT_GT(used[1], 0, "flows on the second next hop");
	tp_diag("weights %u:%u, slots %llu:%llu, flows %llu:%llu", w->m[0].weight, w->m[1].weight,
		(unsigned long long)slots[0], (unsigned long long)slots[1],
		(unsigned long long)used[0], (unsigned long long)used[1]);
out:
	free(table);
}

/* The flow is recorded (seen through libsvc and through the raw map fd). */
struct find {
	struct svc_flow_key key;
	struct svc_flow val;
	int found;
};

static int find_flow(const struct svc_flow_key *k, const struct svc_flow *v, void *arg)
{
	struct find *f = arg;

	if (!memcmp(k, &f->key, sizeof(*k))) {
		f->val = *v;
		f->found++;
	}
	return 0;
}

static void flow_recorded(struct dpt_env *e, const struct wsvc *w)
{
	struct svc_flow raw;
	struct find f = { 0 };
	struct pkt in;
	__u32 nh;
	int fd;

	flow_pkt(&in, w, 43000, TCP_F_SYN);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !predict(e, w, &in, &nh) || !fwd(e, &in, nh, SVC_R_FWD_NEW, w->svc) ||
	    !ASSERT_OK(dpt_flow_key(in.buf, in.len, &f.key), "flow key"))
		return;
	ASSERT_OK(svc_dp_flows_foreach(e->dp, find_flow, &f), "svc_dp_flows_foreach");
	if (ASSERT_EQ(f.found, 1, "flow entries with the SYN's key")) {
		ASSERT_EQ(f.val.nh_id, nh, "flow nh_id");
		ASSERT_EQ(f.val.rule_id, w->svc, "flow rule_id");
		ASSERT_GT(f.val.last_seen_ns, 0, "flow last_seen_ns");
	}
	fd = svc_dp_map_fd(e->dp, "flows");
	if (ASSERT_GE(fd, 0, "svc_dp_map_fd(flows)") &&
	    ASSERT_OK(bpf_map_lookup_elem(fd, &f.key, &raw), "raw flows lookup"))
		ASSERT_EQ(raw.nh_id, nh, "raw flow nh_id");
}

/* A recorded flow stays on its next hop after the set no longer contains it. */
static void flow_hit_after_set_change(struct dpt_env *e, const struct wsvc *w)
{
	struct svc_ch_member only;
	struct pkt syn, ack, syn2, ack3;
	__u32 x, y;

	flow_pkt(&syn, w, 43100, TCP_F_SYN);
	flow_pkt(&ack, w, 43100, TCP_F_ACK);
	flow_pkt(&syn2, w, 43101, TCP_F_SYN);
	flow_pkt(&ack3, w, 43102, TCP_F_PSH | TCP_F_ACK);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !predict(e, w, &syn, &x) || !fwd(e, &syn, x, SVC_R_FWD_NEW, w->svc))
		return;
	y = other(w, x);
	only = (struct svc_ch_member)DPT_M(y, 1);
	if (dpt_set_nhset(e, w->svc, &only, 1))
		goto out;
	/* Step 1: flow table, next hop still up; not resolved by the rule. */
	if (!fwd(e, &ack, x, SVC_R_FWD_FLOW_HIT, 0))
		goto out;
	/* New flows and lost flows follow the new table. */
	if (!fwd(e, &syn2, y, SVC_R_FWD_NEW, w->svc))
		goto out;
	fwd(e, &ack3, y, SVC_R_FWD_CH_MISS, w->svc);
out:
	restore(e, w);
}

/*
 * A new SYN that reuses the 5-tuple of a recorded flow (a reused client port)
 * is resolved by the rule, not by the old entry: a next hop that left the set
 * (draining) gets no new connection, and the entry now names the new one.
 */
static void syn_reusing_port_resolved(struct dpt_env *e, const struct wsvc *w)
{
	struct svc_ch_member only;
	struct pkt syn, ack;
	__u32 x, y;

	flow_pkt(&syn, w, 43150, TCP_F_SYN);
	flow_pkt(&ack, w, 43150, TCP_F_ACK);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !predict(e, w, &syn, &x) || !fwd(e, &syn, x, SVC_R_FWD_NEW, w->svc))
		return;
	y = other(w, x);
	only = (struct svc_ch_member)DPT_M(y, 1);
	if (dpt_set_nhset(e, w->svc, &only, 1))
		goto out;
	/* x is still up (draining): the same SYN again goes to y, and later packets follow. */
	if (fwd(e, &syn, y, SVC_R_FWD_NEW, w->svc))
		fwd(e, &ack, y, SVC_R_FWD_FLOW_HIT, 0);
out:
	restore(e, w);
}

/* The flow table lost the flow: the consistent hash picks the same next hop again. */
static void ch_miss_same_nh(struct dpt_env *e, const struct wsvc *w)
{
	struct pkt syn, ack;
	__u32 nh, i;

	for (i = 0; i < 8; i++) {
		flow_pkt(&syn, w, (__u16)(43200 + i), TCP_F_SYN);
		flow_pkt(&ack, w, (__u16)(43200 + i), TCP_F_ACK);
		if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
		    !predict(e, w, &syn, &nh) || !fwd(e, &syn, nh, SVC_R_FWD_NEW, w->svc) ||
		    !ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear (table lost)") ||
		    !fwd(e, &ack, nh, SVC_R_FWD_CH_MISS, w->svc) ||
		    !fwd(e, &ack, nh, SVC_R_FWD_FLOW_HIT, 0)) {
			tp_diag("flow sport %u", 43200 + i);
			return;
		}
	}
}

/* The recorded next hop goes down: the flow is resolved again (failover). */
static void nh_down_after_flow(struct dpt_env *e, const struct wsvc *w)
{
	struct dpt_expect drop = { DPT_DROP(SVC_R_DROP_NO_NEXTHOP), .rule = w->svc };
	struct svc_ch_member only;
	struct pkt syn, ack;
	__u32 x, y;

	flow_pkt(&syn, w, 43300, TCP_F_SYN);
	flow_pkt(&ack, w, 43300, TCP_F_ACK);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !predict(e, w, &syn, &x) || !fwd(e, &syn, x, SVC_R_FWD_NEW, w->svc))
		return;
	y = other(w, x);
	if (dpt_set_nexthop(e, x, false))
		goto out;
	/* Flow entry points at a down next hop, the table too: nothing usable. */
	if (!dpt_check(e, SVC_PROG_ROUTER, &ack, &drop, NULL))
		goto out;
	/* The agent removes it from the set: the flow moves to the survivor. */
	only = (struct svc_ch_member)DPT_M(y, 1);
	if (dpt_set_nhset(e, w->svc, &only, 1))
		goto out;
	if (!fwd(e, &ack, y, SVC_R_FWD_CH_MISS, w->svc))
		goto out;
	fwd(e, &ack, y, SVC_R_FWD_FLOW_HIT, 0);
out:
	restore(e, w);
}

static __u64 coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* Sets the flow's stamp to @stamp, sends @in (a flow hit), returns the stamp after it. */
static bool hit_with_stamp(struct dpt_env *e, int fd, const struct svc_flow_key *k,
			   const struct pkt *in, __u32 nh, __u64 stamp, __u64 *after)
{
	struct svc_flow v;

	if (!ASSERT_OK(bpf_map_lookup_elem(fd, k, &v), "flows lookup"))
		return false;
	v.last_seen_ns = stamp;
	if (!ASSERT_OK(bpf_map_update_elem(fd, k, &v, BPF_EXIST), "flows update") ||
	    !fwd(e, in, nh, SVC_R_FWD_FLOW_HIT, 0) ||
	    !ASSERT_OK(bpf_map_lookup_elem(fd, k, &v), "flows lookup after"))
		return false;
	*after = v.last_seen_ns;
	return true;
}

/*
 * Flow stamps come from the coarse clock (CLOCK_MONOTONIC_COARSE; the
 * established path reads no precise clock) and a hit rewrites one only when it
 * is over a second old: a stamp taken with the precise clock would be ahead of
 * a coarse reading made just after it (unless a tick fell in between: three
 * tries). A stamp ahead of the coarse clock is left alone.
 */
static void flow_stamp_coarse(struct dpt_env *e, const struct wsvc *w)
{
	struct svc_flow_key k;
	struct svc_flow v;
	struct pkt syn, ack;
	__u64 before, now, after;
	__u32 nh;
	int fd, i;

	fd = svc_dp_map_fd(e->dp, "flows");
	flow_pkt(&syn, w, 43500, TCP_F_SYN);
	flow_pkt(&ack, w, 43500, TCP_F_ACK);
	if (!ASSERT_GE(fd, 0, "svc_dp_map_fd(flows)") ||
	    !ASSERT_OK(dpt_flow_key(syn.buf, syn.len, &k), "flow key") || !predict(e, w, &syn, &nh))
		return;
	for (i = 0; i < 3; i++) {
		if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
		    !fwd(e, &syn, nh, SVC_R_FWD_NEW, w->svc))
			return;
		now = coarse_ns();
		if (!ASSERT_OK(bpf_map_lookup_elem(fd, &k, &v), "flows lookup"))
			return;
		if (v.last_seen_ns <= now)
			break;
	}
	if (!ASSERT_LE(v.last_seen_ns, now, "SYN's stamp not ahead of CLOCK_MONOTONIC_COARSE"))
		return;
	/* Half a second old: no rewrite. */
	now = coarse_ns();
	if (!hit_with_stamp(e, fd, &k, &ack, nh, now - 500000000ULL, &after) ||
	    !ASSERT_EQ(after, now - 500000000ULL, "stamp under a second old kept"))
		return;
	/* Two seconds old: refreshed from the coarse clock. */
	before = coarse_ns();
	if (!hit_with_stamp(e, fd, &k, &ack, nh, before - 2000000000ULL, &after))
		return;
	now = coarse_ns();
	ASSERT_GE(after, before, "stale stamp refreshed");
	ASSERT_LE(after, now, "refreshed stamp from the coarse clock");
	/* Ahead of the coarse clock (a precise stamp of an older program): kept. */
	before = coarse_ns() + 3000000ULL;
	if (hit_with_stamp(e, fd, &k, &ack, nh, before, &after))
		ASSERT_EQ(after, before, "stamp ahead of the clock kept");
}

/* UDP: first datagram is new, the next one hits the flow, a lost one is new again. */
static void udp_flow(struct dpt_env *e, const struct wsvc *w)
{
	struct pkt in;
	__u32 nh;

	udp_pkt(&in, w, 43400);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") ||
	    !predict(e, w, &in, &nh) || !fwd(e, &in, nh, SVC_R_FWD_NEW, w->svc) ||
	    !fwd(e, &in, nh, SVC_R_FWD_FLOW_HIT, 0) ||
	    !ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		return;
	fwd(e, &in, nh, SVC_R_FWD_NEW, w->svc);
}

TEST(router_flow)
{
	const struct wsvc *ws[2] = { &w4, &w6 };
	struct dpt_env e;
	char name[64];
	int i;

	if (dpt_env_open(&e))
		return;
	for (i = 0; i < 2; i++) {
		const char *fam = ws[i]->v6 ? "v6" : "v4";

		snprintf(name, sizeof(name), "weights_%s", fam);
		if (tp_subtest(name))
			weights(&e, ws[i]);
		snprintf(name, sizeof(name), "flow_recorded_%s", fam);
		if (tp_subtest(name))
			flow_recorded(&e, ws[i]);
		snprintf(name, sizeof(name), "flow_hit_after_set_change_%s", fam);
		if (tp_subtest(name))
			flow_hit_after_set_change(&e, ws[i]);
		snprintf(name, sizeof(name), "syn_reusing_port_resolved_%s", fam);
		if (tp_subtest(name))
			syn_reusing_port_resolved(&e, ws[i]);
		snprintf(name, sizeof(name), "ch_miss_same_nh_%s", fam);
		if (tp_subtest(name))
			ch_miss_same_nh(&e, ws[i]);
		snprintf(name, sizeof(name), "nh_down_after_flow_%s", fam);
		if (tp_subtest(name))
			nh_down_after_flow(&e, ws[i]);
		snprintf(name, sizeof(name), "flow_stamp_coarse_%s", fam);
		if (tp_subtest(name))
			flow_stamp_coarse(&e, ws[i]);
		snprintf(name, sizeof(name), "udp_flow_%s", fam);
		if (tp_subtest(name))
			udp_flow(&e, ws[i]);
	}
	dpt_env_close(&e);
}
