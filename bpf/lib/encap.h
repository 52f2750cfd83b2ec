/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IP-in-IP encapsulation toward a next hop, with the egress (interface, MACs,
 * MTU) the agent cached in nh_egress, or from the kernel FIB when there is none.
 */
#ifndef SVC_BPF_ENCAP_H
#define SVC_BPF_ENCAP_H

#include "parse.h"
#include "csum.h"
#include "stats.h"
#include "router_maps.h"

/*
 * svc_icmp_too_big - answers a packet too big for the egress MTU (bpf/lib/mtu.h,
 * a global function defined there).
 */
int svc_icmp_too_big(struct xdp_md *ctx, __u32 l3_off, __u32 mtu, __u32 len, __u32 is_icmp);

/*
 * svc_fib_fill - bpf_fib_lookup() parameters toward @nh for an inner packet
 * (IPv6 if @inner_v6) of @inner_len bytes, arriving on @ifindex. Returns 0, or
 * -1 when the router has no source address of the next hop's family.
 */
static __always_inline int svc_fib_fill(struct bpf_fib_lookup *fib, __u32 ifindex, bool inner_v6,
					__u32 inner_len, const struct svc_nexthop *nh,
					const struct svc_router_cfg *cfg)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = ifindex;
	fib->l4_protocol = inner_v6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	if (nh->flags & SVC_NH_F_V6) {
		if (!(cfg->flags & SVC_CFG_F_SRC6))
			return -1;
		fib->family = AF_INET6;
		__builtin_memcpy(fib->ipv6_src, cfg->src6.b, 16);
		__builtin_memcpy(fib->ipv6_dst, nh->addr.b, 16);
		fib->tot_len = inner_len + IPV6_HLEN;
	} else {
		if (!(cfg->flags & SVC_CFG_F_SRC4))
			return -1;
		fib->family = AF_INET;
		fib->ipv4_src = cfg->src4.w[3];
		fib->ipv4_dst = nh->addr.w[3];
		fib->tot_len = inner_len + IPV4_HLEN;
	}
	return 0;
}

/*
 * svc_egress_cached - next hop @nh_id's egress from nh_egress, or NULL when it
 * has none that is valid and resolved for @nh's address (the router then asks
 * the FIB, counted ev_fib_fallback).
 */
static __always_inline const struct svc_nh_egress *svc_egress_cached(__u32 nh_id,
								      const struct svc_nexthop *nh)
{
	const struct svc_nh_egress *e = bpf_map_lookup_elem(&nh_egress, &nh_id);

	if (!e || !(e->flags & SVC_NHE_F_VALID) || !e->ifindex || e->addr.w[0] != nh->addr.w[0] ||
	    e->addr.w[1] != nh->addr.w[1] || e->addr.w[2] != nh->addr.w[2] ||
	    e->addr.w[3] != nh->addr.w[3])
		return NULL;
	return e;
}

/*
 * svc_fib_nexthop - route the encapsulated packet toward @nh (id @nh_id):
 * fills @fib's ifindex, smac and dmac, from the cached egress or else from
 * bpf_fib_lookup(). Returns SVC_CONTINUE or a final verdict: a packet too big
 * for the egress MTU is answered with ICMP (svc_icmp_too_big) or dropped.
 * The cached path decides as the lookup would on the same route and
 * neighbour: too big when the outer packet exceeds the MTU.
 */
static __always_inline int svc_fib_nexthop(struct xdp_md *ctx, struct svc_pkt *p, __u32 nh_id,
					   const struct svc_nexthop *nh,
					   const struct svc_router_cfg *cfg,
					   struct bpf_fib_lookup *fib)
{
	__u32 outer = (nh->flags & SVC_NH_F_V6) ? IPV6_HLEN : IPV4_HLEN;
	const struct svc_nh_egress *e;
	int rc;

	/* No source address of the next hop's family: the same drop either way. */
	if (!(cfg->flags & ((nh->flags & SVC_NH_F_V6) ? SVC_CFG_F_SRC6 : SVC_CFG_F_SRC4)))
		return svc_verdict(p, SVC_R_DROP_NO_SRC, XDP_DROP);
	e = svc_egress_cached(nh_id, nh);
	if (e) {
		if (p->ip_len + outer > e->mtu) {
			if (svc_icmp_too_big(ctx, p->l3_off, e->mtu - outer, p->len, p->is_icmp) ==
			    XDP_TX)
				return svc_verdict(p, SVC_R_ICMP_TOO_BIG, XDP_TX);
			return svc_verdict(p, SVC_R_DROP_TOO_BIG, XDP_DROP);
		}
		fib->ifindex = e->ifindex;
		__builtin_memcpy(fib->dmac, e->dmac, ETH_ALEN);
		__builtin_memcpy(fib->smac, e->smac, ETH_ALEN);
		return SVC_CONTINUE;
	}
	svc_count(&router_stats, SVC_R_EV_FIB_FALLBACK, p->len);
	if (svc_fib_fill(fib, ctx->ingress_ifindex, p->l3_proto == ETH_P_IPV6, p->ip_len, nh, cfg))
		return svc_verdict(p, SVC_R_DROP_NO_SRC, XDP_DROP);
	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS)
		return SVC_CONTINUE;
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return svc_verdict(p, SVC_R_DROP_NO_NEIGH, XDP_DROP);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		/* mtu_result: the route's MTU (5.12+); what is left for the inner packet. */
		if (svc_icmp_too_big(ctx, p->l3_off, fib->mtu_result - outer, p->len,
				     p->is_icmp) == XDP_TX)
			return svc_verdict(p, SVC_R_ICMP_TOO_BIG, XDP_TX);
		return svc_verdict(p, SVC_R_DROP_TOO_BIG, XDP_DROP);
	}
	return svc_verdict(p, SVC_R_DROP_FIB, XDP_DROP);
}

/* Outer IPv4 header for an inner packet of @p (protocol 4 or 41). */
static __always_inline void svc_build_ip4(struct iphdr *o, const struct svc_pkt *p,
					  const struct svc_router_cfg *cfg,
					  const struct svc_nexthop *nh)
{
	__builtin_memset(o, 0, sizeof(*o));
	o->version = 4;
	o->ihl = 5;
	o->tos = p->tclass;
	o->tot_len = bpf_htons(p->ip_len + IPV4_HLEN);
	o->ttl = 64;
	o->protocol = p->l3_proto == ETH_P_IP ? IPPROTO_IPIP : IPPROTO_IPV6;
	o->saddr = cfg->src4.w[3];
	o->daddr = nh->addr.w[3];
	o->check = svc_ip4_hdr_csum(o);
}

/* Outer IPv6 header; the flow label carries flow-hash entropy for ECMP. */
static __always_inline void svc_build_ip6(struct ipv6hdr *o, const struct svc_pkt *p,
					  const struct svc_router_cfg *cfg,
					  const struct svc_nexthop *nh, __u32 hash)
{
	__builtin_memset(o, 0, sizeof(*o));
	*(__be32 *)o = bpf_htonl((6U << 28) | ((__u32)p->tclass << 20) | (hash & 0xfffff));
	o->payload_len = bpf_htons(p->ip_len);
	o->nexthdr = p->l3_proto == ETH_P_IP ? IPPROTO_IPIP : IPPROTO_IPV6;
	o->hop_limit = 64;
	__builtin_memcpy(o->saddr.in6_u.u6_addr8, cfg->src6.b, 16);
	__builtin_memcpy(o->daddr.in6_u.u6_addr8, nh->addr.b, 16);
}

/**
 * svc_encap_xmit - encapsulate the packet toward @nh and transmit it
 *
 * The frame becomes Ethernet (cached or FIB MACs, VLAN tags dropped) + outer IP header +
 * the original IP packet, unchanged. Returns XDP_TX, XDP_REDIRECT or a drop.
 */
static __always_inline int svc_encap_xmit(struct xdp_md *ctx, struct svc_pkt *p, __u32 nh_id,
					  const struct svc_nexthop *nh,
					  const struct svc_router_cfg *cfg, __u32 hash,
					  enum svc_reason ok_reason)
{
	struct bpf_fib_lookup fib;
	bool v6 = nh->flags & SVC_NH_F_V6;
	__u32 outer = v6 ? IPV6_HLEN : IPV4_HLEN;
	/* VLAN tags (at most 8 bytes) are removed, so the head always grows. */
	int grow = (int)outer - (int)(p->l3_off - sizeof(struct ethhdr));
	struct ethhdr *eth;
	void *data, *data_end;
	int ret;

	ret = svc_fib_nexthop(ctx, p, nh_id, nh, cfg, &fib);
	if (ret != SVC_CONTINUE)
		return ret;
	if (bpf_xdp_adjust_head(ctx, -grow))
		return svc_verdict(p, SVC_R_DROP_ENCAP, XDP_DROP);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if (v6) {
		struct ipv6hdr *o = data + sizeof(*eth);

		if ((void *)(o + 1) > data_end)
			return svc_verdict(p, SVC_R_DROP_ENCAP, XDP_DROP);
		svc_build_ip6(o, p, cfg, nh, hash);
		eth->h_proto = bpf_htons(ETH_P_IPV6);
	} else {
		struct iphdr *o = data + sizeof(*eth);

		if ((void *)(o + 1) > data_end)
			return svc_verdict(p, SVC_R_DROP_ENCAP, XDP_DROP);
		svc_build_ip4(o, p, cfg, nh);
		eth->h_proto = bpf_htons(ETH_P_IP);
	}
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	p->reason = ok_reason;
	if (fib.ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(fib.ifindex, 0);
}

#endif /* SVC_BPF_ENCAP_H */
