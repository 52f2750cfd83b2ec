// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Router rule actions (docs/datapath.md, "Flow affinity and resolution",
 * step 3): DEMUX, DROP, DELAY (the event read back from the delay_events ring
 * buffer and compared with the input frame; ring full), and FORWARD with no
 * usable next hop (down, empty set, no table).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <bpf/libbpf.h>
#include "tp.h"
#include "dptest.h"

static void demux_v4(struct pkt *p)
{
	dpt_tcp4(p, dpt_vip4(SVC_DEMUX), 40200, 80, TCP_F_SYN, 0);
}

static void demux_v6(struct pkt *p)
{
	dpt_udp6(p, dpt_vip6(SVC_DEMUX), 40200, 53, 10);
}

static void drop_v4(struct pkt *p)
{
	dpt_udp4(p, dpt_vip4(SVC_DROP), 40201, 53, 10);
}

static void drop_v6(struct pkt *p)
{
	dpt_tcp6(p, dpt_vip6(SVC_DROP), 40201, 80, TCP_F_SYN, 0);
}

static void down_v4(struct pkt *p)
{
	dpt_tcp4(p, dpt_vip4(SVC_DOWN4), 40202, 80, TCP_F_SYN, 0);
}

static void down_v6(struct pkt *p)
{
	dpt_tcp6(p, dpt_vip6(SVC_DOWN6), 40202, 80, TCP_F_SYN, 0);
}

static void down_ack_v4(struct pkt *p)
{
	dpt_tcp4(p, dpt_vip4(SVC_DOWN4), 40203, 80, TCP_F_ACK, 0);
}

static void noset_v4(struct pkt *p)
{
	dpt_tcp4(p, dpt_vip4(SVC_NOSET), 40204, 80, TCP_F_SYN, 0);
}

static void noset_v6(struct pkt *p)
{
	dpt_udp6(p, dpt_vip6(SVC_NOSET), 40204, 53, 5);
}

static int empty_set(struct dpt_env *e)
{
	return dpt_set_nhset(e, SVC_NOSET, NULL, 0);
}

static void no_set(struct dpt_env *e)
{
	ASSERT_OK(svc_dp_nhset_delete(e->dp, SVC_NOSET), "svc_dp_nhset_delete");
}

static const struct dpt_fixture rows[] = {
	{ "demux_v4", "DEMUX rule: passed to the local stack untouched", demux_v4,
	  DPT_PASS(SVC_R_DEMUX), .rule = SVC_DEMUX },
	{ "demux_v6", "DEMUX rule (UDP over IPv6)", demux_v6, DPT_PASS(SVC_R_DEMUX),
	  .rule = SVC_DEMUX },
	{ "drop_rule_v4", "DROP rule (UDP)", drop_v4, DPT_DROP(SVC_R_DROP_RULE), .rule = SVC_DROP },
	{ "drop_rule_v6", "DROP rule", drop_v6, DPT_DROP(SVC_R_DROP_RULE), .rule = SVC_DROP },
	{ "nexthop_down_v4", "the set's only next hop is down", down_v4,
	  DPT_DROP(SVC_R_DROP_NO_NEXTHOP), .rule = SVC_DOWN4 },
	{ "nexthop_down_v6", "the set's only next hop is down", down_v6,
	  DPT_DROP(SVC_R_DROP_NO_NEXTHOP), .rule = SVC_DOWN6 },
	{ "nexthop_down_ack_v4", "mid-flow packet, next hop down", down_ack_v4,
	  DPT_DROP(SVC_R_DROP_NO_NEXTHOP), .rule = SVC_DOWN4 },
	{ "no_table_v4", "FORWARD to a set without a table", noset_v4,
	  DPT_DROP(SVC_R_DROP_NO_NEXTHOP), .rule = SVC_NOSET },
	{ "no_table_v6", "FORWARD to a set without a table", noset_v6,
	  DPT_DROP(SVC_R_DROP_NO_NEXTHOP), .rule = SVC_NOSET },
	{ "empty_set_v4", "FORWARD to an empty set (every slot id 0)", noset_v4,
	  DPT_DROP(SVC_R_DROP_NO_NEXTHOP), .rule = SVC_NOSET, .setup = empty_set,
	  .cleanup = no_set },
	{ "empty_set_v6", "FORWARD to an empty set (every slot id 0)", noset_v6,
	  DPT_DROP(SVC_R_DROP_NO_NEXTHOP), .rule = SVC_NOSET, .setup = empty_set,
	  .cleanup = no_set },
};

/* ---- DELAY ---- */

#define MAX_EVENTS 4096

struct events {
	struct svc_delay_event *ev;
	int n;
	int bad_size; /* records whose size is not sizeof(struct svc_delay_event) */
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct events *evs = ctx;

	if (size != sizeof(struct svc_delay_event)) {
		evs->bad_size++;
		return 0;
	}
	if (evs->n < MAX_EVENTS)
		memcpy(&evs->ev[evs->n], data, size);
	evs->n++;
	return 0;
}

struct delay_env {
	struct ring_buffer *rb;
	struct events evs;
};

static bool delay_open(struct dpt_env *e, struct delay_env *d)
{
	int fd = svc_dp_map_fd(e->dp, "delay_events");

	memset(d, 0, sizeof(*d));
	if (!ASSERT_GE(fd, 0, "svc_dp_map_fd(delay_events)"))
		return false;
	d->evs.ev = calloc(MAX_EVENTS, sizeof(*d->evs.ev));
	if (!ASSERT_OK_PTR(d->evs.ev, "calloc events"))
		return false;
	d->rb = ring_buffer__new(fd, on_event, &d->evs, NULL);
	if (!ASSERT_OK_PTR(d->rb, "ring_buffer__new"))
		return false;
	return true;
}

static void delay_close(struct delay_env *d)
{
	ring_buffer__free(d->rb);
	free(d->evs.ev);
}

/* Consumes what the ring holds now; returns the number of records or -1. */
static int drain(struct delay_env *d)
{
	int n;

	d->evs.n = 0;
	d->evs.bad_size = 0;
	n = ring_buffer__consume(d->rb);
	if (!ASSERT_GE(n, 0, "ring_buffer__consume"))
		return -1;
	ASSERT_EQ(d->evs.bad_size, 0, "records of the wrong size");
	return d->evs.n;
}

static bool check_event(struct dpt_env *e, const struct svc_delay_event *ev, const struct pkt *in)
{
	size_t cap = in->len < SVC_DELAY_CAP ? in->len : SVC_DELAY_CAP;
	struct svc_sid sid;
	bool ok = true;

	inet_pton(AF_INET6, dpt_sid(SVC_DELAY), sid.b);
	ok &= ASSERT_MEMEQ(ev->sid.b, 16, sid.b, 16, "event sid");
	ok &= ASSERT_EQ(ev->rule_id, SVC_DELAY, "event rule_id");
	ok &= ASSERT_EQ(ev->ifindex, e->ifindex[DPT_IF_IN], "event ifindex");
	ok &= ASSERT_EQ(ev->pkt_len, in->len, "event pkt_len");
	ok &= ASSERT_EQ(ev->cap_len, cap, "event cap_len");
	if (ev->cap_len == cap)
		ok &= ASSERT_MEMEQ(ev->pkt, cap, in->buf, cap, "event pkt == input frame");
	return ok;
}

static void delay_one(struct dpt_env *e, struct delay_env *d, const struct pkt *in)
{
	struct dpt_expect x = { DPT_DROP(SVC_R_DELAY), .rule = SVC_DELAY };

	if (drain(d) < 0 || !ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear"))
		return;
	if (!dpt_check(e, SVC_PROG_ROUTER, in, &x, NULL))
		return;
	if (!ASSERT_EQ(drain(d), 1, "events after one DELAYed packet"))
		return;
	check_event(e, &d->evs.ev[0], in);
}

/* The ring holds a bounded number of events: then drop_delay_full, until the agent reads. */
static void delay_ring_full(struct dpt_env *e, struct delay_env *d)
{
	struct svc_counter a[SVC_REASON_MAX], b[SVC_REASON_MAX];
	const int sent = 2000;
	__u64 ra, rb, delayed, full;
	struct dpt_result r;
	struct pkt in;
	int i, n;

	dpt_tcp4(&in, dpt_vip4(SVC_DELAY), 40210, 80, TCP_F_SYN, 0);
	if (drain(d) < 0 || dpt_stats(e, SVC_PROG_ROUTER, a) || dpt_rule_count(e, SVC_DELAY, &ra))
		return;
	for (i = 0; i < sent; i++) {
		dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in.buf, in.len, &r);
		if (!ASSERT_OK(r.err, "test run") || !ASSERT_EQ(r.retval, XDP_DROP, "verdict"))
			return;
	}
	if (dpt_stats(e, SVC_PROG_ROUTER, b) || dpt_rule_count(e, SVC_DELAY, &rb))
		return;
	delayed = b[SVC_R_DELAY].packets - a[SVC_R_DELAY].packets;
	full = b[SVC_R_DROP_DELAY_FULL].packets - a[SVC_R_DROP_DELAY_FULL].packets;
	ASSERT_EQ(delayed + full, sent, "delay + drop_delay_full");
	ASSERT_GT(delayed, 0, "some packets delayed");
	ASSERT_GT(full, 0, "drop_delay_full once the ring is full");
	ASSERT_EQ(b[SVC_R_DROP_DELAY_FULL].bytes - a[SVC_R_DROP_DELAY_FULL].bytes, full * in.len,
		  "drop_delay_full bytes");
	ASSERT_EQ(rb - ra, sent, "rule_stats counts every packet the rule resolved");
	n = drain(d);
	ASSERT_EQ(n, delayed, "events in the ring == delay counter");
	if (n > 0)
		check_event(e, &d->evs.ev[n - 1], &in);
	/* Read by the agent: room again. */
	delay_one(e, d, &in);
}

static void delay_tests(struct dpt_env *e)
{
	struct delay_env d;
	struct pkt in;

	/* Outside any subtest: a failure here fails the test as a whole. */
	if (!delay_open(e, &d)) {
		delay_close(&d);
		return;
	}
	if (tp_subtest("delay_v4")) {
		dpt_tcp4(&in, dpt_vip4(SVC_DELAY), 40205, 80, TCP_F_SYN, 0);
		delay_one(e, &d, &in);
	}
	if (tp_subtest("delay_v6")) {
		dpt_tcp6(&in, dpt_vip6(SVC_DELAY), 40205, 80, TCP_F_SYN, 0);
		delay_one(e, &d, &in);
	}
	if (tp_subtest("delay_udp_v4")) {
		dpt_udp4(&in, dpt_vip4(SVC_DELAY), 40206, 53, 40);
		delay_one(e, &d, &in);
	}
	if (tp_subtest("delay_capped_v6")) {
		/* 614-byte frame: only the first SVC_DELAY_CAP bytes travel in the event. */
		dpt_tcp6(&in, dpt_vip6(SVC_DELAY), 40207, 80, TCP_F_SYN, 500);
		delay_one(e, &d, &in);
	}
	if (tp_subtest("delay_ring_full"))
		delay_ring_full(e, &d);
	delay_close(&d);
}

TEST(router_action)
{
	struct dpt_env e;

	if (dpt_env_open(&e))
		return;
	dpt_run_table(&e, rows, sizeof(rows) / sizeof(rows[0]));
	delay_tests(&e);
	dpt_env_close(&e);
}
