/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* DELAY: hand a packet to the agent through the delay_events ring buffer. */
#ifndef SVC_BPF_DELAY_H
#define SVC_BPF_DELAY_H

#include "parse.h"
#include "router_maps.h"
#include "verifier.h"

_Static_assert((SVC_DELAY_CAP & (SVC_DELAY_CAP - 1)) == 0, "SVC_BOUND1 needs a power of 2");

/*
 * svc_delay - copy the first SVC_DELAY_CAP bytes of the frame into a
 * struct svc_delay_event for the agent, which resolves the serviceID and
 * re-injects the packet. The packet itself is dropped here.
 */
static __always_inline int svc_delay(struct xdp_md *ctx, struct svc_pkt *p,
				     const struct svc_sid *sid, __u32 rule_id)
{
	struct svc_delay_event *e;
	__u32 cap = p->len;

	e = bpf_ringbuf_reserve(&delay_events, sizeof(*e), 0);
	if (!e)
		return svc_verdict(p, SVC_R_DROP_DELAY_FULL, XDP_DROP);
	e->sid = *sid;
	e->rule_id = rule_id;
	e->ifindex = ctx->ingress_ifindex;
	e->pkt_len = p->len;
	if (cap > SVC_DELAY_CAP)
		cap = SVC_DELAY_CAP;
	/* A frame is never shorter than the Ethernet header we parsed, so cap >= 14. */
	if (cap < 1 || bpf_xdp_load_bytes(ctx, 0, e->pkt, SVC_BOUND1(cap, SVC_DELAY_CAP))) {
		bpf_ringbuf_discard(e, 0);
		return svc_verdict(p, SVC_R_DROP_DELAY_FULL, XDP_DROP);
	}
	e->cap_len = cap;
	bpf_ringbuf_submit(e, 0);
	return svc_verdict(p, SVC_R_DELAY, XDP_DROP);
}

#endif /* SVC_BPF_DELAY_H */
