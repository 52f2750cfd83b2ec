/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Endpoint decapsulation of IPIP / IP6IP6 (and mixed) packets from known routers. */
#ifndef SVC_BPF_DECAP_H
#define SVC_BPF_DECAP_H

#include "parse.h"
#include "endpoint_maps.h"

/* Longest L2 header we keep: Ethernet + SVC_MAX_VLAN_DEPTH tags. */
#define SVC_MAX_L2_LEN (14 + 4 * SVC_MAX_VLAN_DEPTH)

/*
 * svc_outer_hdr - is the packet at p->l3_off an encapsulation svcplane
 * decapsulates? Sets *outer_len, *inner_proto (4 or 41) and @src.
 * Returns SVC_CONTINUE, or PASS for anything else (malformed included: the
 * stack deals with it as it would without us).
 */
static __always_inline int svc_outer_hdr(void *data, void *data_end, struct svc_pkt *p,
					 __u32 *outer_len, __u8 *inner_proto, struct svc_addr *src)
{
	if (p->l3_proto == ETH_P_IP) {
		struct iphdr *iph = data + p->l3_off;

		if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
			return svc_verdict(p, SVC_R_PASS_NOT_ENCAP, XDP_PASS);
		if (iph->protocol != IPPROTO_IPIP && iph->protocol != IPPROTO_IPV6)
			return svc_verdict(p, SVC_R_PASS_NOT_ENCAP, XDP_PASS);
		if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
			return svc_verdict(p, SVC_R_PASS_NOT_ENCAP, XDP_PASS);
		/* A total length past the frame is malformed: the stack, not us, judges it. */
		if ((void *)iph + svc_ntohs_bounded(iph->tot_len) > data_end ||
		    svc_ntohs_bounded(iph->tot_len) < iph->ihl * 4)
			return svc_verdict(p, SVC_R_PASS_NOT_ENCAP, XDP_PASS);
		*outer_len = iph->ihl * 4;
		*inner_proto = iph->protocol;
		svc_addr_set_v4(src, iph->saddr);
		return SVC_CONTINUE;
	}
	struct ipv6hdr *ip6 = data + p->l3_off;

	if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
		return svc_verdict(p, SVC_R_PASS_NOT_ENCAP, XDP_PASS);
	if (ip6->nexthdr != IPPROTO_IPIP && ip6->nexthdr != IPPROTO_IPV6)
		return svc_verdict(p, SVC_R_PASS_NOT_ENCAP, XDP_PASS);
	if ((void *)(ip6 + 1) + svc_ntohs_bounded(ip6->payload_len) > data_end)
		return svc_verdict(p, SVC_R_PASS_NOT_ENCAP, XDP_PASS);
	*outer_len = sizeof(*ip6);
	*inner_proto = ip6->nexthdr;
	svc_addr_set_v6(src, &ip6->saddr);
	return SVC_CONTINUE;
}

/* svc_inner_ok - the inner header after the outer one is a whole IP header of its family. */
static __always_inline bool svc_inner_ok(void *inner, void *data_end, __u8 inner_proto)
{
	if (inner_proto == IPPROTO_IPIP) {
		struct iphdr *iph = inner;

		return (void *)(iph + 1) <= data_end && iph->version == 4 && iph->ihl >= 5;
	}
	struct ipv6hdr *ip6 = inner;

	return (void *)(ip6 + 1) <= data_end && ip6->version == 6;
}

/*
 * svc_decap - remove the outer header: the L2 header (with its VLAN tags) is
 * moved forward over it and its last ethertype set to the inner family.
 */
static __always_inline int svc_decap(struct xdp_md *ctx, struct svc_pkt *p, __u32 outer_len,
				     __u8 inner_proto)
{
	__u8 l2[SVC_MAX_L2_LEN];
	__be16 inner_eth = bpf_htons(inner_proto == IPPROTO_IPIP ? ETH_P_IP : ETH_P_IPV6);
	__u32 l2_len = p->l3_off;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (l2_len != 14 && l2_len != 18 && l2_len != 22)
		return svc_verdict(p, SVC_R_DROP_DECAP_BAD, XDP_DROP);
	if (data + SVC_MAX_L2_LEN > data_end)
		return svc_verdict(p, SVC_R_DROP_DECAP_BAD, XDP_DROP);
	__builtin_memcpy(l2, data, SVC_MAX_L2_LEN);
	if (bpf_xdp_adjust_head(ctx, outer_len))
		return svc_verdict(p, SVC_R_DROP_DECAP_BAD, XDP_DROP);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	/* Constant-size copies per L2 length keep the verifier's bounds exact. */
	if (l2_len == 14) {
		if (data + 14 > data_end)
			return svc_verdict(p, SVC_R_DROP_DECAP_BAD, XDP_DROP);
		__builtin_memcpy(data, l2, 12);
		*(__be16 *)(data + 12) = inner_eth;
	} else if (l2_len == 18) {
		if (data + 18 > data_end)
			return svc_verdict(p, SVC_R_DROP_DECAP_BAD, XDP_DROP);
		__builtin_memcpy(data, l2, 16);
		*(__be16 *)(data + 16) = inner_eth;
	} else {
		if (data + 22 > data_end)
			return svc_verdict(p, SVC_R_DROP_DECAP_BAD, XDP_DROP);
		__builtin_memcpy(data, l2, 20);
		*(__be16 *)(data + 20) = inner_eth;
	}
	return svc_verdict(p, SVC_R_DECAP, XDP_PASS);
}

#endif /* SVC_BPF_DECAP_H */
