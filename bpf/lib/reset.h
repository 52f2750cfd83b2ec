/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Instance unavailable: the router answers a TCP packet of a flow whose
 * instance is dead or shed with a RST to the client, so the client learns at
 * once instead of retransmitting into the void (Serval: fast failover).
 */
#ifndef SVC_BPF_RESET_H
#define SVC_BPF_RESET_H

#include "parse.h"
#include "csum.h"

/* Adds @len bytes (even) at @p to a one's-complement sum; bounded for the verifier. */
static __always_inline __u32 svc_csum_add(__u32 sum, const __u16 *w, int words)
{
	int i;

#pragma unroll
	for (i = 0; i < 10; i++)
		if (i < words)
			sum += w[i];
	return sum;
}

/* One's-complement sum of an address pair in a pseudo-header (IPv4 or IPv6). */
static __always_inline __u32 svc_pseudo_sum(const struct svc_pkt *p, __u32 tcp_len)
{
	__u32 sum = bpf_htons(IPPROTO_TCP) + bpf_htons(tcp_len);
	int i;

	if (p->l3_proto == ETH_P_IP)
		return sum + (p->key.src.w[3] & 0xffff) + (p->key.src.w[3] >> 16) +
		       (p->key.dst.w[3] & 0xffff) + (p->key.dst.w[3] >> 16);
#pragma unroll
	for (i = 0; i < 4; i++) {
		sum += (p->key.src.w[i] & 0xffff) + (p->key.src.w[i] >> 16);
		sum += (p->key.dst.w[i] & 0xffff) + (p->key.dst.w[i] >> 16);
	}
	return sum;
}

/**
 * svc_reset_reply - turn a TCP packet into the RST that answers it, sent back
 * out of the ingress interface (XDP_TX)
 *
 * RFC 793 reset generation: if the packet carries an ACK, the RST's sequence
 * number is that ACK (exactly what the client expects, RFC 5961), else it is
 * RST+ACK acknowledging the segment. Options and payload are cut; the IP
 * header keeps its length (IPv4 options stay); IPv6 with extension headers is
 * dropped instead (counted the same).
 */
static __always_inline int svc_reset_reply(struct xdp_md *ctx, struct svc_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3 = p->l3_off & 0x3f, l4 = p->l4_off & 0xff, payload, seg_len;
	__u8 mac[ETH_ALEN], flags;
	struct ethhdr *eth = data;
	struct tcphdr *th;
	__u32 seq, ack, sum;

	if (p->l3_proto == ETH_P_IPV6 && l4 != l3 + IPV6_HLEN)
		return svc_verdict(p, SVC_R_RESET_DEAD, XDP_DROP);
	th = data + l4;
	if ((void *)(eth + 1) > data_end || (void *)(th + 1) > data_end)
		return svc_verdict(p, SVC_R_DROP_BAD_L4, XDP_DROP);
	flags = p->tcp_flags;
	if (flags & TCP_FLAG_RST)
		return svc_verdict(p, SVC_R_RESET_DEAD, XDP_DROP); /* never answer a RST */
	payload = p->ip_len - (l4 - l3) - p->l4_hlen;
	seg_len = payload + !!(flags & TCP_FLAG_SYN) + !!(flags & 0x01 /* FIN */);
	seq = th->ack_seq;
	ack = bpf_htonl(bpf_ntohl(th->seq) + seg_len);

	/* Ethernet: back where it came from. */
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);

	/* TCP: 20 bytes, ports swapped. */
	{
		__be16 port = th->source;

		th->source = th->dest;
		th->dest = port;
	}
	if (flags & TCP_FLAG_ACK) {
		th->seq = seq;
		th->ack_seq = 0;
		((__u8 *)th)[13] = TCP_FLAG_RST;
	} else {
		th->seq = 0;
		th->ack_seq = ack;
		((__u8 *)th)[13] = TCP_FLAG_RST | TCP_FLAG_ACK;
	}
	((__u8 *)th)[12] = 5 << 4;
	th->window = 0;
	th->urg_ptr = 0;
	th->check = 0;

	/* IP: addresses swapped (p->key is swapped too, for the pseudo-header). */
	if (p->l3_proto == ETH_P_IP) {
		struct iphdr *iph = data + l3;
		__be32 a;
		__u16 old_len, new_len;

		if ((void *)(iph + 1) > data_end)
			return svc_verdict(p, SVC_R_DROP_BAD_IP4, XDP_DROP);
		a = iph->saddr;
		iph->saddr = iph->daddr;
		iph->daddr = a;
		old_len = iph->tot_len;
		new_len = bpf_htons((l4 - l3) + sizeof(*th));
		iph->tot_len = new_len;
		iph->check = svc_csum_replace2(iph->check, old_len, new_len);
		a = p->key.src.w[3];
		p->key.src.w[3] = p->key.dst.w[3];
		p->key.dst.w[3] = a;
	} else {
		struct ipv6hdr *ip6 = data + l3;
		struct svc_addr t;

		if ((void *)(ip6 + 1) > data_end)
			return svc_verdict(p, SVC_R_DROP_BAD_IP6, XDP_DROP);
		__builtin_memcpy(ip6->saddr.in6_u.u6_addr8, p->key.dst.b, 16);
		__builtin_memcpy(ip6->daddr.in6_u.u6_addr8, p->key.src.b, 16);
		ip6->payload_len = bpf_htons(sizeof(*th));
		ip6->hop_limit = 64;
		t = p->key.src;
		p->key.src = p->key.dst;
		p->key.dst = t;
	}
	sum = svc_csum_add(svc_pseudo_sum(p, sizeof(*th)), (const __u16 *)th, 10);
	th->check = svc_csum_fold(sum);

	/* Cut options, payload and any Ethernet padding. */
	if (bpf_xdp_adjust_tail(ctx, (int)(l4 + sizeof(*th)) - (int)(data_end - data)))
		return svc_verdict(p, SVC_R_RESET_DEAD, XDP_DROP);
	return svc_verdict(p, SVC_R_RESET_DEAD, XDP_TX);
}

#endif /* SVC_BPF_RESET_H */
