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
 * by running the router program on it again, so the client's SYN is
 * delivered without waiting for its retransmission. Two paths
 * (--delay-reinject, agent/lib/reinject.h), the decision always the program's:
 * live (BPF_F_TEST_XDP_LIVE_FRAMES: the kernel transmits the XDP_TX /
 * XDP_REDIRECT result) where the kernel allows it, else copy (the program run
 * without live mode; its output frame sent with AF_PACKET out of the
 * interface it chose). Unresolvable packets are dropped and counted, or
 * (--delay-unresolvable rst) a TCP one is answered with a RST built here from
 * the held frame and sent with an AF_PACKET socket out of the interface it
 * came in on, so the client's connect fails at once (ECONNREFUSED) instead of
 * retrying its SYN.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <net/ethernet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "agent.h"
#include "log.h"
#include "reinject.h"

/* One source's token bucket (open addressing, replaced when the slot is taken). */
struct delay_bucket {
	struct svc_addr src;
	double tokens;
	double last; /* CLOCK_MONOTONIC seconds of the last refill */
	bool used;
};

struct agent_delay {
	struct ring_buffer *rb;
	struct svc_delay_event *queue; /* cfg.delay_queue entries */
	size_t nq, cap;
	int pkt_fd;	    /* AF_PACKET socket: copy re-injection and RSTs */
	bool warned_errors; /* the first re-injection error is logged, later ones counted */
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
	if (d->nq >= d->cap) {
		a->delay_stats.drop_queue++;
		return 0;
	}
	d->queue[d->nq++] = *e;
	return 0;
}

int agent_delay_choose(struct agent *a)
{
	struct agent_delay_choice *d = &a->delay_choice;
	const struct svc_feat_result *live = &a->features.r[SVC_FEAT_XDP_LIVE_FRAMES];
	const struct svc_feat_result *copy = &a->features.r[SVC_FEAT_XDP_TEST_RUN];

	switch (a->cfg.delay_reinject) {
	case SVC_DELAY_REINJECT_LIVE:
		if (live->state == SVC_FEAT_NO) {
			pr_err("delay: --delay-reinject live: %s; use auto or copy", live->detail);
			return -EOPNOTSUPP;
		}
		d->path = AGENT_DELAY_LIVE;
		d->why = "forced (--delay-reinject live)";
		break;
	case SVC_DELAY_REINJECT_COPY:
		if (copy->state == SVC_FEAT_NO) {
			pr_err("delay: --delay-reinject copy: %s; use auto or live", copy->detail);
			return -EOPNOTSUPP;
		}
		d->path = AGENT_DELAY_COPY;
		d->why = "forced (--delay-reinject copy)";
		break;
	default:
		if (live->state != SVC_FEAT_NO) {
			d->path = AGENT_DELAY_LIVE;
			d->why = "auto: the kernel allows live frames";
			break;
		}
		d->path = AGENT_DELAY_COPY;
		d->why = "auto: the kernel refuses live frames";
		pr_warn("delay: the kernel refuses live frames (%s): held packets are re-injected "
			"by the copy path (docs/datapath.md)",
			live->detail);
		if (copy->state == SVC_FEAT_NO)
			pr_warn("delay: the copy path cannot work either (%s): held packets will "
				"not be re-injected",
				copy->detail);
		break;
	}
	pr_info("delay: re-injection path %s (%s)", agent_delay_path_name(d->path), d->why);
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
	a->delay->pkt_fd = -1;
	a->delay->cap = a->cfg.delay_queue;
	a->delay->queue = calloc(a->delay->cap, sizeof(*a->delay->queue));
	if (!a->delay->queue) {
		err = -ENOMEM;
		goto fail;
	}
	/* Needed by the copy path, by RSTs, and by auto should live runs be refused later. */
	if (a->delay_choice.path == AGENT_DELAY_COPY || a->cfg.delay_rst ||
	    a->cfg.delay_reinject == SVC_DELAY_REINJECT_AUTO) {
		a->delay->pkt_fd = svc_frame_socket();
		if (a->delay->pkt_fd < 0) {
			err = a->delay->pkt_fd;
			pr_err("delay: AF_PACKET socket (copy re-injection, RSTs): %s",
			       strerror(-err));
			goto fail;
		}
	}
	a->delay->rb = ring_buffer__new(fd, on_event, a, NULL);
	if (!a->delay->rb) {
		err = -errno;
		pr_err("delay: ring_buffer__new on delay_events: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (a->delay->pkt_fd >= 0)
		close(a->delay->pkt_fd);
	free(a->delay->queue);
	free(a->delay);
	a->delay = NULL;
	return err;
}

void agent_delay_stop(struct agent *a)
{
	if (!a->delay)
		return;
	ring_buffer__free(a->delay->rb);
	if (a->delay->pkt_fd >= 0)
		close(a->delay->pkt_fd);
	free(a->delay->queue);
	free(a->delay);
	a->delay = NULL;
}

int agent_delay_fd(struct agent *a)
{
	return a->delay ? ring_buffer__epoll_fd(a->delay->rb) : -1;
}

enum agent_delay_path agent_delay_path(struct agent *a)
{
	return a->delay_choice.path;
}

const char *agent_delay_path_name(enum agent_delay_path p)
{
	return p == AGENT_DELAY_COPY ? "copy" : "live";
}

const char *agent_delay_path_why(struct agent *a)
{
	return a->delay_choice.why ? a->delay_choice.why : "not chosen yet";
}

/*
 * The router decides again what becomes of the held frame, with the ingress
 * interface it arrived on. The event does not record the rx queue: queue 0
 * (the router program does not read rx_queue_index).
 */
#define DELAY_RXQ 0

/* Returned by reinject_copy when the router's verdict leaves nothing to send (counted). */
#define DELAY_NOT_SENT 1

/* Copy path: the program's verdict and output frame; the frame sent out of the interface it chose.
 */
static int reinject_copy(struct agent *a, const struct svc_delay_event *e, int prog_fd)
{
	__u8 out[SVC_REINJECT_OUT_MAX];
	__u32 len = 0, verdict = 0;
	int err, egress;

	err = svc_xdp_run_copy(prog_fd, e->pkt, e->cap_len, e->ifindex, DELAY_RXQ, out, sizeof(out),
			       &len, &verdict);
	if (err)
		return err;
	switch (verdict) {
	case XDP_TX:
		egress = (int)e->ifindex;
		break;
	case XDP_REDIRECT:
		egress = svc_redirect_egress(out, len);
		if (egress < 0)
			return egress;
		break;
	case XDP_PASS:
		/* The local stack cannot be handed a frame as if received on an interface. */
		a->delay_stats.copy_pass++;
		return DELAY_NOT_SENT;
	default:
		a->delay_stats.copy_drop++;
		return DELAY_NOT_SENT;
	}
	return svc_frame_send(a->delay->pkt_fd, egress, out, len);
}

/* A kernel that refuses live frames says so with one of these. */
static bool live_refused(int err)
{
	return err == -EPERM || err == -EINVAL || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */;
}

/* Runs the router program on the held frame by the path in use; 0 sent, DELAY_NOT_SENT, -errno. */
static int reinject(struct agent *a, const struct svc_delay_event *e)
{
	int fd = svc_dp_prog_fd(a->dp, SVC_PROG_ROUTER);
	int err;

	if (fd < 0)
		return fd;
	if (a->delay_choice.path == AGENT_DELAY_LIVE) {
		err = svc_reinject_live(fd, e->pkt, e->cap_len, e->ifindex, DELAY_RXQ);
		if (!err) {
			a->delay_stats.reinjected_live++;
			return 0;
		}
		if (!live_refused(err))
			return err;
		a->delay_stats.live_refused++;
		if (a->cfg.delay_reinject != SVC_DELAY_REINJECT_AUTO)
			return err;
		/* auto: from now on the copy path, this packet included */
		a->delay_choice.path = AGENT_DELAY_COPY;
		a->delay_choice.why = "auto: the kernel refused a live run";
		pr_warn("delay: the kernel refused a live re-injection (%s): switching to the copy "
			"path (docs/datapath.md)",
			strerror(-err));
	}
	err = reinject_copy(a, e, fd);
	if (!err)
		a->delay_stats.reinjected_copy++;
	return err;
}

/* Ones' complement sum of @len bytes, added to @sum (not folded). */
static __u32 csum_add(__u32 sum, const __u8 *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (__u32)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (__u32)(p[len - 1] << 8);
	return sum;
}

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static void put16(__u8 *p, __u32 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

static void put32(__u8 *p, __u32 v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static __u32 get32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

/*
 * The RST answering a held TCP packet (RFC 9293 3.10.7.1, no socket): to a
 * segment with ACK, <SEQ=SEG.ACK><CTL=RST>; otherwise <SEQ=0><ACK=SEG.SEQ+
 * SEG.LEN><CTL=RST,ACK> (a SYN counts one). MACs, addresses and ports are
 * swapped; IPv4 (options dropped) or IPv6 without extension headers. Returns
 * the frame length, or -EPROTONOSUPPORT (not TCP, or carries a RST itself:
 * never answered) / -EMSGSIZE (headers not captured).
 */
int agent_delay_build_rst(const __u8 *in, __u32 len, __u8 *out, size_t cap)
{
	__u32 l3, il4, l4, l4_len, seg_len, seq, ack;
	__u16 proto;
	__u8 flags;
	__u32 sum;
	bool v6;

	if (len < 14 || cap < 14 + 40 + 20)
		return -EMSGSIZE;
	proto = (__u16)(in[12] << 8 | in[13]);
	l3 = 14;
	if (proto == ETHERTYPE_IP) {
		if (len < l3 + 20 || (in[l3] >> 4) != 4 || in[l3 + 9] != IPPROTO_TCP)
			return len < l3 + 20 ? -EMSGSIZE : -EPROTONOSUPPORT;
		il4 = l3 + (in[l3] & 0xf) * 4u;
		l4_len = (__u32)(in[l3 + 2] << 8 | in[l3 + 3]);
		if (l4_len < il4 - l3 + 20)
			return -EPROTONOSUPPORT;
		l4_len -= il4 - l3;
		v6 = false;
	} else if (proto == ETHERTYPE_IPV6) {
		if (len < l3 + 40)
			return -EMSGSIZE;
		if ((in[l3] >> 4) != 6 || in[l3 + 6] != IPPROTO_TCP)
			return -EPROTONOSUPPORT;
		il4 = l3 + 40;
		l4_len = (__u32)(in[l3 + 4] << 8 | in[l3 + 5]);
		v6 = true;
	} else {
		return -EPROTONOSUPPORT;
	}
	if (len < il4 + 20)
		return -EMSGSIZE;
	if (l4_len < (in[il4 + 12] >> 4) * 4u)
		return -EPROTONOSUPPORT;
	flags = in[il4 + 13];
	if (flags & 0x04) /* RST */
		return -EPROTONOSUPPORT;
	seg_len = l4_len - (in[il4 + 12] >> 4) * 4u + !!(flags & 0x02) + !!(flags & 0x01);
	seq = get32(in + il4 + 4);
	ack = get32(in + il4 + 8);

	memcpy(out, in + 6, 6); /* destination: the sender */
	memcpy(out + 6, in, 6);
	memcpy(out + 12, in + 12, 2);
	if (v6) {
		memset(out + l3, 0, 40);
		out[l3] = 0x60;
		put16(out + l3 + 4, 20);
		out[l3 + 6] = IPPROTO_TCP;
		out[l3 + 7] = 64;
		memcpy(out + l3 + 8, in + l3 + 24, 16);
		memcpy(out + l3 + 24, in + l3 + 8, 16);
	} else {
		memset(out + l3, 0, 20);
		out[l3] = 0x45;
		put16(out + l3 + 2, 40);
		put16(out + l3 + 6, 0x4000); /* DF */
		out[l3 + 8] = 64;
		out[l3 + 9] = IPPROTO_TCP;
		memcpy(out + l3 + 12, in + l3 + 16, 4);
		memcpy(out + l3 + 16, in + l3 + 12, 4);
		put16(out + l3 + 10, csum_fold(csum_add(0, out + l3, 20)));
	}
	l4 = l3 + (v6 ? 40 : 20);
	memset(out + l4, 0, 20);
	memcpy(out + l4, in + il4 + 2, 2); /* source port: the one it was sent to */
	memcpy(out + l4 + 2, in + il4, 2);
	if (flags & 0x10) { /* ACK */
		put32(out + l4 + 4, ack);
		out[l4 + 13] = 0x04;
	} else {
		put32(out + l4 + 8, seq + seg_len);
		out[l4 + 13] = 0x14;
	}
	out[l4 + 12] = 5 << 4;
	/* pseudo-header: addresses, protocol, TCP length */
	if (v6)
		sum = csum_add(0, out + l3 + 8, 32);
	else
		sum = csum_add(0, out + l3 + 12, 8);
	sum += IPPROTO_TCP + 20;
	put16(out + l4 + 16, csum_fold(csum_add(sum, out + l4, 20)));
	return (int)(l4 + 20);
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

/* Answers an unresolvable held packet with a RST out of its ingress interface. */
static int send_rst(struct agent *a, const struct svc_delay_event *e)
{
	__u8 frame[14 + 40 + 20];
	int n = agent_delay_build_rst(e->pkt, e->cap_len, frame, sizeof(frame));

	if (n < 0)
		return n;
	return svc_frame_send(a->delay->pkt_fd, (int)e->ifindex, frame, (__u32)n);
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
			if (!a->cfg.delay_rst)
				continue;
			err = send_rst(a, e);
			if (!err)
				a->delay_stats.rst_sent++;
			else if (err != -EPROTONOSUPPORT)
				pr_warn("delay: RST on ifindex %u for rule %u: %s", e->ifindex,
					e->rule_id, strerror(-err));
			continue;
		}
		if (!err)
			err = reinject(a, e);
		if (err == DELAY_NOT_SENT)
			continue;
		if (err) {
			a->delay_stats.errors++;
			/* once: a flood must not turn into a flood of log lines */
			if (!d->warned_errors)
				pr_warn("delay: packet for rule %u not re-injected (%s path): %s; "
					"further errors are only counted (stats: delay.errors)",
					e->rule_id, agent_delay_path_name(agent_delay_path(a)),
					strerror(-err));
			d->warned_errors = true;
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
		  { "reinjected_live", st->reinjected_live },
		  { "reinjected_copy", st->reinjected_copy },
		  { "copy_pass", st->copy_pass },
		  { "copy_drop", st->copy_drop },
		  { "live_refused", st->live_refused },
		  { "drop_rate", st->drop_rate },
		  { "drop_queue", st->drop_queue },
		  { "unresolvable", st->unresolvable },
		  { "rst_sent", st->rst_sent },
		  { "errors", st->errors },
		  { "bad", st->bad } };
	json_object *o = json_object_new_object();

	json_object_object_add(o, "path",
			       json_object_new_string(agent_delay_path_name(agent_delay_path(a))));
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		json_object_object_add(o, f[i].k, json_object_new_int64((int64_t)f[i].v));
	return o;
}
