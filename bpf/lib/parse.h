/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Packet parsing for the router: Ethernet/VLAN, IPv4/IPv6 (+extension headers), TCP/UDP/ICMP. */
#ifndef SVC_BPF_PARSE_H
#define SVC_BPF_PARSE_H

#include "consts.h"
#include "verifier.h"
#include "../../headers/svc_abi.h"

/* Returned by parse and lookup helpers when processing goes on. */
#define SVC_CONTINUE (-1)

/* What the parser learnt about a packet. Offsets are from ctx->data. */
struct svc_pkt {
	struct svc_flow_key key; /* client 5-tuple (for ICMP errors: of the quoted flow) */
	__u32 len;		 /* frame length, for the byte counters */
	__u32 l3_off;		 /* start of the IP header */
	__u32 ip_len;		 /* IP packet length (header + payload) from its header */
	__u32 l4_off;		 /* start of the TCP/UDP header */
	__u32 l4_hlen;		 /* TCP header length (data offset * 4); 0 for others */
	__u16 l3_proto;		 /* ETH_P_IP or ETH_P_IPV6, host order */
	__u8 tclass;		 /* IPv4 TOS / IPv6 traffic class, copied to the outer header */
	__u8 tcp_flags;		 /* TCP flags byte (0 for UDP/ICMP) */
	__u8 is_icmp;		 /* an ICMP error quoting key's flow */
	__u8 reason;		 /* enum svc_reason counted for this packet */
	__u8 seq_zero;		 /* TCP: the sequence number is 0 */
	__u8 icmp_unreach;	 /* is_icmp, and it is a destination-unreachable error */
};

/*
 * svc_past_ip - @end (a pointer into the frame at @data) lies past the IP
 * packet's own length (p->l3_off + p->ip_len). Headers are read only inside
 * the IP packet: bytes after it (Ethernet padding, a trailer) are carried but
 * never parsed (docs/datapath.md, "Strict lengths").
 */
static __always_inline bool svc_past_ip(const struct svc_pkt *p, void *data, void *end)
{
	return (__u32)(end - data) > p->l3_off + p->ip_len;
}

/* svc_verdict - record why a packet got @act and return @act. */
static __always_inline int svc_verdict(struct svc_pkt *p, enum svc_reason reason, int act)
{
	p->reason = reason;
	return act;
}

/* Store IPv4 @a v4-mapped into @out (::ffff:a.b.c.d). */
static __always_inline void svc_addr_set_v4(struct svc_addr *out, __be32 a)
{
	out->w[0] = 0;
	out->w[1] = 0;
	out->w[2] = bpf_htonl(0xffff);
	out->w[3] = a;
}

static __always_inline void svc_addr_set_v6(struct svc_addr *out, const struct in6_addr *a)
{
	__builtin_memcpy(out->b, a->in6_u.u6_addr8, 16);
}

/**
 * svc_parse_l2 - skip Ethernet and up to SVC_MAX_VLAN_DEPTH VLAN tags
 *
 * Sets p->l3_off and p->l3_proto. Returns SVC_CONTINUE or a final verdict.
 */
static __always_inline int svc_parse_l2(void *data, void *data_end, struct svc_pkt *p)
{
	struct ethhdr *eth = data;
	struct vlan_hdr *vh;
	__u32 off = sizeof(*eth);
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return svc_verdict(p, SVC_R_DROP_BAD_ETH, XDP_DROP);
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < SVC_MAX_VLAN_DEPTH; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		vh = data + off;
		if ((void *)(vh + 1) > data_end)
			return svc_verdict(p, SVC_R_DROP_BAD_ETH, XDP_DROP);
		proto = vh->h_vlan_encapsulated_proto;
		off += sizeof(*vh);
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return svc_verdict(p, SVC_R_PASS_VLAN_DEPTH, XDP_PASS);
	if (proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6))
		return svc_verdict(p, SVC_R_PASS_NOT_IP, XDP_PASS);
	p->l3_off = off;
	p->l3_proto = bpf_ntohs(proto);
	return SVC_CONTINUE;
}

/**
 * svc_parse_ip4 - validate the IPv4 header at p->l3_off, fill addresses and protocol
 * @l4: receives the start of the L4 header
 */
static __always_inline int svc_parse_ip4(void *data, void *data_end, struct svc_pkt *p, void **l4)
{
	struct iphdr *iph = data + p->l3_off;
	__u32 ihl, tot;

	if ((void *)(iph + 1) > data_end)
		return svc_verdict(p, SVC_R_DROP_BAD_IP4, XDP_DROP);
	if (iph->version != 4 || iph->ihl < 5)
		return svc_verdict(p, SVC_R_DROP_BAD_IP4, XDP_DROP);
	ihl = iph->ihl * 4;
	tot = svc_ntohs_bounded(iph->tot_len);
	if ((void *)iph + ihl > data_end || tot < ihl || (void *)iph + tot > data_end)
		return svc_verdict(p, SVC_R_DROP_BAD_IP4, XDP_DROP);
	if (iph->frag_off & bpf_htons(IP_OFFSET))
		return svc_verdict(p, SVC_R_PASS_FRAGMENT, XDP_PASS);
	svc_addr_set_v4(&p->key.src, iph->saddr);
	svc_addr_set_v4(&p->key.dst, iph->daddr);
	p->key.proto = iph->protocol;
	p->ip_len = tot;
	p->tclass = iph->tos;
	*l4 = (void *)iph + ihl;
	return SVC_CONTINUE;
}

/* Length of IPv6 extension header @h of type @nexthdr (AH counts 4-byte units). */
static __always_inline __u32 svc_ext_len(__u8 nexthdr, const struct ipv6_opt_hdr *h)
{
	if (nexthdr == NEXTHDR_AUTH)
		return ((__u32)h->hdrlen + 2) * 4;
	return ((__u32)h->hdrlen + 1) * 8;
}

static __always_inline bool svc_is_ext_hdr(__u8 nexthdr)
{
	return nexthdr == NEXTHDR_HOP || nexthdr == NEXTHDR_ROUTING || nexthdr == NEXTHDR_DEST ||
	       nexthdr == NEXTHDR_AUTH || nexthdr == NEXTHDR_FRAGMENT;
}

/**
 * svc_parse_ip6 - validate the IPv6 header and walk at most SVC_MAX_EXT_HDRS
 * extension headers; fill addresses and the upper-layer protocol.
 */
static __always_inline int svc_parse_ip6(void *data, void *data_end, struct svc_pkt *p, void **l4)
{
	struct ipv6hdr *ip6 = data + p->l3_off;
	struct ipv6_opt_hdr *oh;
	struct frag_hdr *fh;
	void *cur;
	__u8 nexthdr;
	__u32 plen;
	int i;

	if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
		return svc_verdict(p, SVC_R_DROP_BAD_IP6, XDP_DROP);
	plen = svc_ntohs_bounded(ip6->payload_len);
	if ((void *)(ip6 + 1) + plen > data_end)
		return svc_verdict(p, SVC_R_DROP_BAD_IP6, XDP_DROP);
	svc_addr_set_v6(&p->key.src, &ip6->saddr);
	svc_addr_set_v6(&p->key.dst, &ip6->daddr);
	p->ip_len = plen + sizeof(*ip6);
	p->tclass = (bpf_ntohl(*(__be32 *)ip6) >> 20) & 0xff;
	nexthdr = ip6->nexthdr;
	cur = ip6 + 1;
#pragma unroll
	for (i = 0; i < SVC_MAX_EXT_HDRS; i++) {
		if (!svc_is_ext_hdr(nexthdr))
			break;
		if (nexthdr == NEXTHDR_FRAGMENT) {
			fh = cur;
			if ((void *)(fh + 1) > data_end || svc_past_ip(p, data, fh + 1))
				return svc_verdict(p, SVC_R_DROP_BAD_IP6, XDP_DROP);
			if (fh->frag_off & bpf_htons(0xfff8))
				return svc_verdict(p, SVC_R_PASS_FRAGMENT, XDP_PASS);
			nexthdr = fh->nexthdr;
			cur = fh + 1;
			continue;
		}
		oh = cur;
		/* Every extension header is at least 8 bytes. */
		if (cur + 8 > data_end || svc_past_ip(p, data, cur + 8))
			return svc_verdict(p, SVC_R_DROP_BAD_IP6, XDP_DROP);
		cur += svc_ext_len(nexthdr, oh);
		nexthdr = oh->nexthdr;
		if (cur > data_end || svc_past_ip(p, data, cur))
			return svc_verdict(p, SVC_R_DROP_BAD_IP6, XDP_DROP);
	}
	if (svc_is_ext_hdr(nexthdr))
		return svc_verdict(p, SVC_R_PASS_EXT_DEPTH, XDP_PASS);
	p->key.proto = nexthdr;
	*l4 = cur;
	return SVC_CONTINUE;
}

/**
 * svc_parse_ports - validate a TCP or UDP header at @l4, fill ports and TCP flags.
 * Other protocols: PASS (ICMP is handled by the caller before this).
 */
static __always_inline int svc_parse_ports(void *data, void *l4, void *data_end, struct svc_pkt *p)
{
	struct tcphdr *th = l4;
	struct udphdr *uh = l4;
	__u32 doff;

	p->l4_off = l4 - data;
	if (p->key.proto == IPPROTO_TCP) {
		if ((void *)(th + 1) > data_end || svc_past_ip(p, data, th + 1))
			return svc_verdict(p, SVC_R_DROP_BAD_L4, XDP_DROP);
		doff = th->doff * 4;
		if (doff < sizeof(*th) || l4 + doff > data_end || svc_past_ip(p, data, l4 + doff))
			return svc_verdict(p, SVC_R_DROP_BAD_L4, XDP_DROP);
		p->key.sport = th->source;
		p->key.dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		p->seq_zero = th->seq == 0;
		p->l4_hlen = doff;
		return SVC_CONTINUE;
	}
	if (p->key.proto == IPPROTO_UDP) {
		if ((void *)(uh + 1) > data_end || svc_past_ip(p, data, uh + 1))
			return svc_verdict(p, SVC_R_DROP_BAD_L4, XDP_DROP);
		p->key.sport = uh->source;
		p->key.dport = uh->dest;
		return SVC_CONTINUE;
	}
	return svc_verdict(p, SVC_R_PASS_NOT_L4, XDP_PASS);
}

/*
 * svc_quoted_ports - read the ports of the packet quoted by an ICMP error at
 * @q (its L4 header) and set p->key to the flow of the client that the quoted
 * packet (VIP -> client) belongs to: addresses and ports swapped.
 */
static __always_inline int svc_quoted_flow(void *data, void *q, void *data_end, struct svc_pkt *p,
					   const struct svc_addr *qsrc, const struct svc_addr *qdst,
					   __u8 qproto)
{
	__be16 *ports = q;

	if (qproto != IPPROTO_TCP && qproto != IPPROTO_UDP)
		return svc_verdict(p, SVC_R_PASS_ICMP_OTHER, XDP_PASS);
	/* RFC 792 guarantees 8 bytes of the quoted L4 header. */
	if (q + 8 > data_end || svc_past_ip(p, data, q + 8))
		return svc_verdict(p, SVC_R_PASS_ICMP_OTHER, XDP_PASS);
	p->key.src = *qdst;
	p->key.dst = *qsrc;
	p->key.sport = ports[1];
	p->key.dport = ports[0];
	p->key.proto = qproto;
	p->is_icmp = 1;
	return SVC_CONTINUE;
}

/* svc_parse_icmp4 - an ICMPv4 unreachable / time-exceeded error: the flow it quotes. */
static __always_inline int svc_parse_icmp4(void *data, void *l4, void *data_end,
					   struct svc_pkt *p)
{
	struct icmphdr *ic = l4;
	struct iphdr *qi;
	struct svc_addr qs, qd;
	__u32 qihl;

	if ((void *)(ic + 1) > data_end || svc_past_ip(p, data, ic + 1))
		return svc_verdict(p, SVC_R_PASS_ICMP_OTHER, XDP_PASS);
	if (ic->type != ICMP_DEST_UNREACH && ic->type != ICMP_TIME_EXCEEDED)
		return svc_verdict(p, SVC_R_PASS_NO_SERVICE, XDP_PASS);
	p->icmp_unreach = ic->type == ICMP_DEST_UNREACH;
	qi = (void *)(ic + 1);
	if ((void *)(qi + 1) > data_end || svc_past_ip(p, data, qi + 1) || qi->version != 4 ||
	    qi->ihl < 5)
		return svc_verdict(p, SVC_R_PASS_ICMP_OTHER, XDP_PASS);
	qihl = qi->ihl * 4;
	svc_addr_set_v4(&qs, qi->saddr);
	svc_addr_set_v4(&qd, qi->daddr);
	return svc_quoted_flow(data, (void *)qi + qihl, data_end, p, &qs, &qd, qi->protocol);
}

/* svc_parse_icmp6 - an ICMPv6 unreachable / packet-too-big error: the flow it quotes. */
static __always_inline int svc_parse_icmp6(void *data, void *l4, void *data_end,
					   struct svc_pkt *p)
{
	struct icmp6hdr *ic = l4;
	struct ipv6hdr *qi;
	struct svc_addr qs, qd;

	if ((void *)(ic + 1) > data_end || svc_past_ip(p, data, ic + 1))
		return svc_verdict(p, SVC_R_PASS_ICMP_OTHER, XDP_PASS);
	if (ic->icmp6_type != ICMPV6_DEST_UNREACH && ic->icmp6_type != ICMPV6_PKT_TOOBIG)
		return svc_verdict(p, SVC_R_PASS_NO_SERVICE, XDP_PASS);
	p->icmp_unreach = ic->icmp6_type == ICMPV6_DEST_UNREACH;
	qi = (void *)(ic + 1);
	if ((void *)(qi + 1) > data_end || svc_past_ip(p, data, qi + 1))
		return svc_verdict(p, SVC_R_PASS_ICMP_OTHER, XDP_PASS);
	svc_addr_set_v6(&qs, &qi->saddr);
	svc_addr_set_v6(&qd, &qi->daddr);
	return svc_quoted_flow(data, qi + 1, data_end, p, &qs, &qd, qi->nexthdr);
}

/**
 * svc_parse - parse a frame up to its flow key (or the flow an ICMP error quotes)
 *
 * Returns SVC_CONTINUE with p filled, or a final verdict with p->reason set.
 */
static __always_inline int svc_parse(struct xdp_md *ctx, struct svc_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	void *l4 = NULL;
	int ret;

	ret = svc_parse_l2(data, data_end, p);
	if (ret != SVC_CONTINUE)
		return ret;
	if (p->l3_proto == ETH_P_IP)
		ret = svc_parse_ip4(data, data_end, p, &l4);
	else
		ret = svc_parse_ip6(data, data_end, p, &l4);
	if (ret != SVC_CONTINUE)
		return ret;
	if (!l4)
		return svc_verdict(p, SVC_R_DROP_BAD_L4, XDP_DROP);
	if (p->key.proto == IPPROTO_ICMP && p->l3_proto == ETH_P_IP)
		return svc_parse_icmp4(data, l4, data_end, p);
	if (p->key.proto == IPPROTO_ICMPV6 && p->l3_proto == ETH_P_IPV6)
		return svc_parse_icmp6(data, l4, data_end, p);
	return svc_parse_ports(data, l4, data_end, p);
}

#endif /* SVC_BPF_PARSE_H */
