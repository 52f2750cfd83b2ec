// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned: the DELAY slow path. The router's DELAY rule writes each held
 * packet (struct svc_delay_event: serviceID, ingress ifindex, the frame's first
 * SVC_DELAY_CAP bytes) to the "delay_events" ring buffer and drops it. The
 * agent consumes the ring from its poll loop into a bounded queue (a token
 * bucket per source address limits each client), resolves the serviceID
 * through the registry (a registered service with eligible instances whose
 * covering rule is DELAY: its own SID/128 FORWARD rule is installed, which
 * longest-prefix match prefers from then on), and re-injects the held frame
 * by running the router program on it with BPF_F_TEST_XDP_LIVE_FRAMES: the
 * kernel transmits its XDP_TX/XDP_REDIRECT result, so the client's SYN is
 * delivered without waiting for its retransmission. Unresolvable packets are
 * dropped and counted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "agent.h"
#include "log.h"

/* One source's token bucket (open addressing, replaced when the slot is taken). */
struct delay_bucket {
	struct svc_addr src;
	double tokens;
	double last; /* CLOCK_MONOTONIC seconds of the last refill */
	bool used;
};

struct agent_delay {
	struct ring_buffer *rb;
	struct svc_delay_event queue[SVC_AGENT_DELAY_QUEUE];
	size_t nq;
	struct delay_bucket buckets[SVC_AGENT_DELAY_BUCKETS];
};

/* Source address of an Ethernet/IPv4|IPv6 frame (no VLAN: all-zero, one shared bucket). */
static void frame_src(const struct svc_delay_event *e, struct svc_addr *src)
{
	const __u8 *p = e->pkt;
	__u16 proto;

	memset(src, 0, sizeof(*src));
	if (e->cap_len < 14)
		return;
	proto = (__u16)(p[12] << 8 | p[13]);
	if (proto == 0x0800 && e->cap_len >= 14 + 20) {
		src->b[10] = src->b[11] = 0xff;
		memcpy(&src->b[12], p + 14 + 12, 4);
	} else if (proto == 0x86dd && e->cap_len >= 14 + 40) {
		memcpy(src->b, p + 14 + 8, 16);
	}
}

/* Token bucket: SVC_AGENT_DELAY_RATE events/s per source, bursts of SVC_AGENT_DELAY_BURST. */
static bool rate_ok(struct agent_delay *d, const struct svc_addr *src, double now)
{
	__u32 h = 2166136261u;
	struct delay_bucket *b;

	for (int i = 0; i < 16; i++)
		h = (h ^ src->b[i]) * 16777619u;
	b = &d->buckets[h % SVC_AGENT_DELAY_BUCKETS];
	if (!b->used || memcmp(&b->src, src, sizeof(*src))) {
		b->used = true;
		b->src = *src;
		b->tokens = SVC_AGENT_DELAY_BURST;
		b->last = now;
	}
	b->tokens += (now - b->last) * SVC_AGENT_DELAY_RATE;
	if (b->tokens > SVC_AGENT_DELAY_BURST)
		b->tokens = SVC_AGENT_DELAY_BURST;
	b->last = now;
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

/* Ring buffer callback: queue the event, or count why it is dropped. */
static int on_event(void *ctx, void *data, size_t size)
{
	struct agent *a = ctx;
	struct agent_delay *d = a->delay;
	const struct svc_delay_event *e = data;
	struct svc_addr src;

	a->delay_stats.received++;
	if (size < sizeof(*e)) {
		a->delay_stats.bad++;
		return 0;
	}
	frame_src(e, &src);
	if (!rate_ok(d, &src, agent_now_s())) {
		a->delay_stats.drop_rate++;
		return 0;
	}
	if (d->nq >= SVC_AGENT_DELAY_QUEUE) {
		a->delay_stats.drop_queue++;
		return 0;
	}
	d->queue[d->nq++] = *e;
	return 0;
}

int agent_delay_start(struct agent *a)
{
	int fd = svc_dp_map_fd(a->dp, "delay_events");
	int err;

	if (fd < 0) {
		pr_err("delay: ring buffer delay_events: %s", strerror(-fd));
		return fd;
	}
	a->delay = calloc(1, sizeof(*a->delay));
	if (!a->delay)
		return -ENOMEM;
	a->delay->rb = ring_buffer__new(fd, on_event, a, NULL);
	if (!a->delay->rb) {
		err = -errno;
		pr_err("delay: ring_buffer__new on delay_events: %s", strerror(errno));
		free(a->delay);
		a->delay = NULL;
		return err;
	}
	return 0;
}

void agent_delay_stop(struct agent *a)
{
	if (!a->delay)
		return;
	ring_buffer__free(a->delay->rb);
	free(a->delay);
	a->delay = NULL;
}

int agent_delay_fd(struct agent *a)
{
	return a->delay ? ring_buffer__epoll_fd(a->delay->rb) : -1;
}

/* Runs the router program on the held frame; the kernel transmits its verdict. */
static int reinject(struct agent *a, const struct svc_delay_event *e)
{
	struct xdp_md ctx = { .data = 0, .data_end = e->cap_len, .ingress_ifindex = e->ifindex };
	__u8 frame[SVC_DELAY_CAP];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = e->cap_len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	int fd = svc_dp_prog_fd(a->dp, SVC_PROG_ROUTER);

	if (fd < 0)
		return fd;
	memcpy(frame, e->pkt, e->cap_len);
	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
	return 0;
}

/* Resolves one held packet: 0 re-injected, -ENOENT unresolvable, other -errno. */
static int resolve(struct agent *a, const struct svc_delay_event *e, bool *changed)
{
	struct svc_reg_service *s = svc_reg_service_find(&a->reg, &e->sid);
	const struct svc_reg_rule *ru;
	bool eligible = false;

	if (!s)
		return -ENOENT;
	for (size_t i = 0; i < a->reg.n_instances; i++)
		if (!memcmp(&a->reg.instances[i].sid, &e->sid, sizeof(e->sid)) &&
		    svc_reg_instance_eligible(&a->reg.instances[i]))
			eligible = true;
	ru = svc_reg_covering_rule(&a->reg, &e->sid);
	if (!eligible || !ru || ru->action != SVC_ACT_DELAY)
		return -ENOENT;
	if (!s->resolved) {
		char b[SVC_ADDR_STRLEN];
		int err;

		s->resolved = true;
		err = agent_reconcile(a);
		if (err) {
			s->resolved = false;
			return err;
		}
		*changed = true;
		pr_info("delay: service %s resolved on demand: its rule is installed",
			svc_sid_format(&s->sid, b, sizeof(b)));
	}
	return 0;
}

void agent_delay_run(struct agent *a, bool readable)
{
	struct agent_delay *d = a->delay;
	bool changed = false;
	int n;

	if (!d || !readable)
		return;
	/* at most one queue's worth per wake-up; the rest stays in the ring or is dropped */
	n = ring_buffer__consume(d->rb);
	if (n < 0)
		pr_warn("delay: consume delay_events: %s", strerror(-n));
	for (size_t i = 0; i < d->nq; i++) {
		const struct svc_delay_event *e = &d->queue[i];
		int err = e->cap_len < e->pkt_len || e->cap_len > SVC_DELAY_CAP ? -EMSGSIZE : 0;

		if (!err)
			err = resolve(a, e, &changed);
		if (err == -ENOENT) {
			a->delay_stats.unresolvable++;
			continue;
		}
		if (!err)
			err = reinject(a, e);
		if (err) {
			a->delay_stats.errors++;
			pr_warn("delay: packet for rule %u not re-injected: %s", e->rule_id,
				strerror(-err));
			continue;
		}
		a->delay_stats.reinjected++;
	}
	d->nq = 0;
	(void)changed;
}

json_object *agent_delay_json(struct agent *a)
{
	const struct agent_delay_stats *st = &a->delay_stats;
	const struct {
		const char *k;
		uint64_t v;
	} f[] = { { "received", st->received },
		  { "reinjected", st->reinjected },
		  { "drop_rate", st->drop_rate },
		  { "drop_queue", st->drop_queue },
		  { "unresolvable", st->unresolvable },
		  { "errors", st->errors },
		  { "bad", st->bad } };
	json_object *o = json_object_new_object();

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		json_object_object_add(o, f[i].k, json_object_new_int64((int64_t)f[i].v));
	return o;
}
