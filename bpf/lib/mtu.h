/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Path MTU at the service router (docs/datapath.md, "Path MTU"). The outer
 * header adds 20 (IPv4) or 40 (IPv6) bytes, so on links of equal MTU a
 * full-size client packet no longer fits once encapsulated. The router
 * - lowers the MSS option of the SYNs it forwards and of the SYN-ACKs of
 *   service flows it sees in return traffic, to what fits the egress MTU
 *   toward the flow's next hop (the SYN-ACK's MSS bounds the client's
 *   segments, which the router encapsulates; the SYN's bounds the instance's);
 * - answers a packet that still does not fit with ICMP "fragmentation needed"
 *   (IPv4 with DF) / ICMPv6 "packet too big" carrying the MTU left for the
 *   inner packet, sent back out where it came from (XDP_TX), under a token
 *   bucket shared by all CPUs.
 * The egress MTU is the one the agent cached for the next hop (nh_egress,
 * resolved as the kernel's FIB would: a locked route MTU or PMTU exception,
 * else the device's); without a valid cache entry, the kernel's:
 * bpf_fib_lookup() toward the next hop reports the route's MTU in mtu_result
 * when the length asked for does not fit.
 */
#ifndef SVC_BPF_MTU_H
#define SVC_BPF_MTU_H

#include "parse.h"
#include "csum.h"
#include "stats.h"
#include "verifier.h"
#include "router_maps.h"
#include "encap.h"
#include "optedit.h" /* svc_csum_fold64 */
#include "../../headers/svc_tiflow.h"
#include "../../headers/svc_mtu.h"

/* mtu_cfg[0]: the ICMP rate limit (struct svc_mtu_cfg); zeros = the defaults. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct svc_mtu_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mtu_cfg SEC(".maps");

/* The ICMP token bucket, one per router, shared by all CPUs (not pinned: a reload starts full). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct svc_icmp_bucket);
} icmp_bucket SEC(".maps");

/*
 * svc_mss_fit()'s buffers, per CPU: on the stack they took the router past the
 * 512-byte limit of a call chain ("combined stack size of 3 calls is 528").
 */
struct svc_mtu_scratch {
	struct bpf_fib_lookup fib;
	__u8 h[64]; /* the TCP header */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct svc_mtu_scratch);
} mtu_scratch SEC(".maps");

#define IP_DF 0x4000
#define ICMP_FRAG_NEEDED 4
#define TCPOPT_MSS 2
#define TCPOLEN_MSS 4
/* Option walk bound: a Linux SYN carries MSS first; 8 passed every verifier (PLATFORM.md). */
#define SVC_MSS_WALK 8
/* An MTU that leaves less than this for a segment's payload is not clamped to. */
#define SVC_MSS_FLOOR 64

/* svc_icmp_allowed - take one token from the ICMP bucket; false when it is empty. */
static __always_inline bool svc_icmp_allowed(void)
{
	__u64 iv = SVC_ICMP_INTERVAL_NS_DEFAULT, burst = SVC_ICMP_BURST_DEFAULT, cap, t, now;
	struct svc_icmp_bucket *b;
	struct svc_mtu_cfg *c;
	__u32 zero = 0;
	bool ok;

	c = bpf_map_lookup_elem(&mtu_cfg, &zero);
	b = bpf_map_lookup_elem(&icmp_bucket, &zero);
	if (!b)
		return false;
	if (c && c->icmp_interval_ns)
		iv = c->icmp_interval_ns;
	if (c && c->icmp_burst)
		burst = c->icmp_burst;
	/* No overflow: at most 2^47 ns (39 hours) times 2^16. */
	if (iv > (1ULL << 47))
		iv = 1ULL << 47;
	if (burst > 0xffff)
		burst = 0xffff;
	cap = iv * burst;
	now = bpf_ktime_get_ns();
	bpf_spin_lock(&b->lock);
	t = cap;
	if (b->last_ns) {
		t = b->tokens_ns;
		/* Another CPU may have refilled with a later clock reading. */
		if (now > b->last_ns)
			t += now - b->last_ns;
		else
			now = b->last_ns;
	}
	if (t > cap)
		t = cap;
	ok = t >= iv;
	if (ok)
		t -= iv;
	b->tokens_ns = t;
	b->last_ns = now;
	bpf_spin_unlock(&b->lock);
	return ok;
}

/*
 * svc_icmp_l2 - the reply's link header at @n from the request's at @o (the
 * frame grew by at least 28 bytes, so they do not overlap): MACs swapped,
 * ethertype and VLAN tags kept (@l3: 14, 18 or 22).
 */
static __always_inline void svc_icmp_l2(__u8 *n, const __u8 *o, __u32 l3)
{
	__builtin_memcpy(n, o + ETH_ALEN, ETH_ALEN);
	__builtin_memcpy(n + ETH_ALEN, o, ETH_ALEN);
	__builtin_memcpy(n + 12, o + 12, 2);
	if (l3 >= 18)
		__builtin_memcpy(n + 14, o + 14, 4);
	if (l3 >= 22)
		__builtin_memcpy(n + 18, o + 18, 4);
}

/*
 * svc_icmp_trim - bpf_xdp_adjust_tail() delta that leaves @len bytes.
 * clang-14 otherwise subtracts the pointers in 32 bits, which every verifier
 * refuses: "R6 32-bit pointer arithmetic prohibited".
 */
static __always_inline int svc_icmp_trim(void *data, void *data_end, __u32 len)
{
	__u64 cur = (__u64)(long)data_end - (__u64)(long)data;

	barrier_var(cur);
	return (int)len - (int)cur;
}

/* IPv4: the request's IP header is at @l3 (checked by the caller); DF set; room for the quote. */
static __always_inline int svc_icmp4_reply(struct xdp_md *ctx, __u32 l3, __u32 mtu)
{
	const __u32 grow = IPV4_HLEN + sizeof(struct icmphdr), q = SVC_ICMP_QUOTE4;
	void *data, *data_end;
	struct iphdr *ni, *oi;
	struct icmphdr *ic;
	__u64 sum = 0;
	__s64 qsum;
	int i;

	if (bpf_xdp_adjust_head(ctx, -(int)grow))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + grow + 22 > data_end)
		return XDP_DROP;
	svc_icmp_l2(data, data + grow, l3);
	ni = data + l3;
	ic = (void *)(ni + 1);
	oi = (void *)(ic + 1);
	if ((void *)oi + q > data_end)
		return XDP_DROP;
	ni->version = 4;
	ni->ihl = 5;
	ni->tos = 0xc0; /* internetwork control, as Linux sends ICMP errors */
	ni->tot_len = bpf_htons(grow + q);
	ni->id = 0;
	ni->frag_off = 0;
	ni->ttl = 64;
	ni->protocol = IPPROTO_ICMP;
	ni->check = 0;
	ni->saddr = oi->daddr;
	ni->daddr = oi->saddr;
	ni->check = svc_ip4_hdr_csum(ni);
	ic->type = ICMP_DEST_UNREACH;
	ic->code = ICMP_FRAG_NEEDED;
	ic->checksum = 0;
	ic->un.frag.__unused = 0;
	ic->un.frag.mtu = bpf_htons(mtu);
	qsum = bpf_csum_diff(NULL, 0, (__be32 *)oi, q, 0);
	if (qsum < 0)
		return XDP_DROP;
#pragma unroll
	for (i = 0; i < 4; i++)
		sum += ((__u16 *)ic)[i];
	ic->checksum = (__u16)~svc_csum_fold64(sum + (__u32)qsum);
	/* Cut the frame after the quote (pointers are void from here on). */
	if (bpf_xdp_adjust_tail(ctx, svc_icmp_trim(data, data_end, l3 + grow + q)))
		return XDP_DROP;
	return XDP_TX;
}

/* IPv6: the request's IPv6 header is at @l3 (checked by the caller); room for the quote. */
static __always_inline int svc_icmp6_reply(struct xdp_md *ctx, __u32 l3, __u32 mtu)
{
	const __u32 grow = IPV6_HLEN + sizeof(struct icmp6hdr), q = SVC_ICMP_QUOTE6;
	void *data, *data_end;
	struct ipv6hdr *ni, *oi;
	struct icmp6hdr *ic;
	__u64 sum = 0;
	__s64 qsum;
	int i;

	if (bpf_xdp_adjust_head(ctx, -(int)grow))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + grow + 22 > data_end)
		return XDP_DROP;
	svc_icmp_l2(data, data + grow, l3);
	ni = data + l3;
	ic = (void *)(ni + 1);
	oi = (void *)(ic + 1);
	if ((void *)oi + q > data_end)
		return XDP_DROP;
	*(__be32 *)ni = bpf_htonl(6U << 28);
	ni->payload_len = bpf_htons(sizeof(*ic) + q);
	ni->nexthdr = IPPROTO_ICMPV6;
	ni->hop_limit = 64;
	ni->saddr = oi->daddr;
	ni->daddr = oi->saddr;
	ic->icmp6_type = ICMPV6_PKT_TOOBIG;
	ic->icmp6_code = 0;
	ic->icmp6_cksum = 0;
	ic->icmp6_dataun.un_data32[0] = bpf_htonl(mtu);
	qsum = bpf_csum_diff(NULL, 0, (__be32 *)oi, q, 0);
	if (qsum < 0)
		return XDP_DROP;
	/* Pseudo-header: addresses, upper-layer length, next header. */
#pragma unroll
	for (i = 0; i < 16; i++)
		sum += ((__u16 *)&ni->saddr)[i];
	sum += bpf_htons(sizeof(*ic) + q) + bpf_htons(IPPROTO_ICMPV6);
#pragma unroll
	for (i = 0; i < 4; i++)
		sum += ((__u16 *)ic)[i];
	ic->icmp6_cksum = (__u16)~svc_csum_fold64(sum + (__u32)qsum);
	if (bpf_xdp_adjust_tail(ctx, svc_icmp_trim(data, data_end, l3 + grow + q)))
		return XDP_DROP;
	return XDP_TX;
}

/**
 * svc_icmp_too_big - answer the packet at @l3_off, too big for the egress
 * MTU, with ICMP "fragmentation needed" / ICMPv6 "packet too big" (@mtu: what
 * is left for the inner packet) back to its sender, in place of it
 *
 * Not answered (the caller counts drop_too_big): ICMP errors themselves, IPv4
 * without DF (the sender allows fragmentation, which XDP cannot do), senders
 * that are multicast or broadcast, packets shorter than the quote, and what
 * the rate limit refuses (counted ev_icmp_ratelimited too).
 * @len: the frame's length, for the event counter; @is_icmp: an ICMP error.
 * Returns XDP_TX with the reply built, or XDP_DROP. A global function: the
 * verifier checks it once; the caller must not use packet pointers after it.
 */
__noinline int svc_icmp_too_big(struct xdp_md *ctx, __u32 l3_off, __u32 mtu, __u32 len,
				__u32 is_icmp)
{
	void *data, *data_end;
	__u32 l3 = l3_off;

	/*
	 * Two compares and a mask: clang-14 folds "l3 < 14 || l3 > 22" into one
	 * compare on a copy, and Linux 6.1 then refuses "data + l3": "R1 offset
	 * is outside of the packet".
	 */
	barrier_var(l3);
	if (!ctx || is_icmp || l3 > 22)
		return XDP_DROP;
	l3 &= 0x1f;
	if (l3 < sizeof(struct ethhdr))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + l3 + 1 > data_end)
		return XDP_DROP;
	if ((*(__u8 *)(data + l3) >> 4) == 4) {
		struct iphdr *iph = data + l3;

		if ((void *)(iph + 1) > data_end || !(iph->frag_off & bpf_htons(IP_DF)))
			return XDP_DROP;
		/* multicast, class E and broadcast senders get no ICMP (RFC 1812 4.3.2.7) */
		if ((bpf_ntohl(iph->saddr) >> 28) >= 0xe ||
		    svc_ntohs_bounded(iph->tot_len) < SVC_ICMP_QUOTE4 ||
		    (void *)iph + SVC_ICMP_QUOTE4 > data_end)
			return XDP_DROP;
		if (!svc_icmp_allowed()) {
			svc_count(&router_stats, SVC_R_EV_ICMP_RATELIMITED, len);
			return XDP_DROP;
		}
		return svc_icmp4_reply(ctx, l3, mtu);
	} else {
		struct ipv6hdr *ip6 = data + l3;

		if ((void *)(ip6 + 1) > data_end || ip6->saddr.in6_u.u6_addr8[0] == 0xff ||
		    svc_ntohs_bounded(ip6->payload_len) + IPV6_HLEN < SVC_ICMP_QUOTE6 ||
		    (void *)ip6 + SVC_ICMP_QUOTE6 > data_end)
			return XDP_DROP;
		if (!svc_icmp_allowed()) {
			svc_count(&router_stats, SVC_R_EV_ICMP_RATELIMITED, len);
			return XDP_DROP;
		}
		return svc_icmp6_reply(ctx, l3, mtu);
	}
}

/**
 * svc_mss_fit - lower the MSS option of the TCP SYN or SYN-ACK in the frame
 * to what fits the path toward next hop @nh_id once encapsulated
 * @offs: IP header offset | TCP header length << 8 | TCP header offset << 16
 * @len: the frame's length, for the event counter
 * @inner_v6: the packet is IPv6
 *
 * MSS = route MTU toward the next hop - outer header - the packet's own IP
 * header (with options or extension headers) - 20. The TCP checksum is
 * updated incrementally. Returns 1 when it lowered the MSS (counted
 * ev_mss_clamped), 0 when there was nothing to lower, -1 when the next hop or
 * its route is unknown. A global function: the verifier checks it once.
 */
__noinline int svc_mss_fit(struct xdp_md *ctx, __u32 nh_id, __u32 offs, __u32 len,
			   __u32 inner_v6)
{
	__u32 zero = 0, l3 = offs & 0xff, hlen = (offs >> 8) & 0xff, l4 = offs >> 16;
	__u32 mtu, outer, max, mss, off = SVC_TCPHDR_MIN;
	const struct svc_nh_egress *e;
	struct svc_mtu_scratch *s;
	struct svc_router_cfg *cfg;
	struct svc_nexthop *nh;
	__u16 old, new, check;
	bool found = false;
	__u8 kind, olen, ob[2], *h;
	int i, rc;

	if (!ctx || hlen <= SVC_TCPHDR_MIN || hlen > 60 || l4 <= l3)
		return 0;
	nh = bpf_map_lookup_elem(&nexthops, &nh_id);
	cfg = bpf_map_lookup_elem(&router_cfg, &zero);
	s = bpf_map_lookup_elem(&mtu_scratch, &zero);
	if (!nh || !cfg || !s)
		return -1;
	h = s->h;
	e = svc_egress_cached(nh_id, nh);
	if (e) {
		if (!(cfg->flags & ((nh->flags & SVC_NH_F_V6) ? SVC_CFG_F_SRC6 : SVC_CFG_F_SRC4)))
			return -1;
		if (e->mtu >= 0xffff)
			return 0; /* as the lookup below: a 64 KiB path */
		mtu = e->mtu;
	} else {
		svc_count(&router_stats, SVC_R_EV_FIB_FALLBACK, len);
		/* Ask for a 64 KiB packet: the lookup then reports the route's MTU. */
		if (svc_fib_fill(&s->fib, ctx->ingress_ifindex, inner_v6, 0, nh, cfg))
			return -1;
		s->fib.tot_len = 0xffff;
		rc = bpf_fib_lookup(ctx, &s->fib, sizeof(s->fib), 0);
		if (rc == BPF_FIB_LKUP_RET_SUCCESS)
			return 0; /* a 64 KiB path: every segment fits */
		if (rc != BPF_FIB_LKUP_RET_FRAG_NEEDED)
			return -1;
		mtu = s->fib.mtu_result;
	}
	outer = (nh->flags & SVC_NH_F_V6) ? IPV6_HLEN : IPV4_HLEN;
	if (mtu < outer + (l4 - l3) + SVC_TCPHDR_MIN + SVC_MSS_FLOOR)
		return -1;
	max = mtu - outer - (l4 - l3) - SVC_TCPHDR_MIN;
	if (bpf_xdp_load_bytes(ctx, l4, h, SVC_BOUND1(hlen, 64)))
		return -1;
	for (i = 0; i < SVC_MSS_WALK; i++) {
		if (off + 1 >= hlen)
			break;
		kind = h[off & 63];
		if (kind == 0)
			break;
		if (kind == 1) {
			off++;
			continue;
		}
		olen = h[(off + 1) & 63];
		if (olen < 2 || off + olen > hlen)
			break;
		if (kind == TCPOPT_MSS && olen == TCPOLEN_MSS) {
			found = true;
			break;
		}
		off += olen;
	}
	if (!found)
		return 0;
	mss = ((__u32)h[(off + 2) & 63] << 8) | h[(off + 3) & 63];
	if (mss <= max)
		return 0;
	/*
	 * Network-order words as they lie in memory, like every checksum here;
	 * byte by byte: a 2-byte read at the masked index (up to 63) is refused
	 * by Linux 6.1 ("invalid access to map value ... off=128 size=1").
	 */
	ob[0] = h[(off + 2) & 63];
	ob[1] = h[(off + 3) & 63];
	__builtin_memcpy(&old, ob, 2);
	new = bpf_htons(max);
	__builtin_memcpy(&check, &h[16], 2);
	/* A word at an odd offset straddles two checksum words: byte-swapped (RFC 1071 2(B)). */
	if (off & 1)
		check = svc_csum_replace2(check, __builtin_bswap16(old), __builtin_bswap16(new));
	else
		check = svc_csum_replace2(check, old, new);
	if (bpf_xdp_store_bytes(ctx, l4 + off + 2, &new, 2) ||
	    bpf_xdp_store_bytes(ctx, l4 + 16, &check, 2))
		return -1;
	svc_count(&router_stats, SVC_R_EV_MSS_CLAMPED, len);
	return 1;
}

/* svc_mss_offs - the offsets svc_mss_fit() takes, for the TCP packet @p. */
static __always_inline __u32 svc_mss_offs(const struct svc_pkt *p)
{
	return (p->l3_off & 0xff) | ((p->l4_hlen & 0xff) << 8) | ((p->l4_off & 0xffff) << 16);
}

/*
 * svc_mss_fit_fwd - a SYN (or SYN-ACK) just encapsulated toward next hop
 * @nh_id (outer IPv6 if @outer_v6): fit its MSS. It runs after the
 * encapsulation, so only what is sent is counted; the inner packet now starts
 * after Ethernet (no VLAN tag) and the outer header.
 */
static __always_inline void svc_mss_fit_fwd(struct xdp_md *ctx, const struct svc_pkt *p,
					    __u32 nh_id, bool outer_v6)
{
	__u32 l3 = sizeof(struct ethhdr) + (outer_v6 ? IPV6_HLEN : IPV4_HLEN);
	__u32 l4 = l3 + (p->l4_off - p->l3_off);

	if (p->key.proto != IPPROTO_TCP || p->is_icmp || !(p->tcp_flags & TCP_FLAG_SYN) ||
	    p->l4_hlen <= SVC_TCPHDR_MIN)
		return;
	svc_mss_fit(ctx, nh_id, (l3 & 0xff) | ((p->l4_hlen & 0xff) << 8) | ((l4 & 0xffff) << 16),
		    p->len, p->l3_proto == ETH_P_IPV6);
}

/*
 * svc_mss_return - a SYN-ACK in return traffic (for no service) that answers
 * a client's flow in the flow table: fit its MSS to the path the client's
 * segments take, encapsulated toward the flow's next hop. The router sees it
 * only where it runs on the interface the instances' replies enter.
 */
static __always_inline void svc_mss_return(struct xdp_md *ctx, const struct svc_pkt *p)
{
	struct svc_flow_key rev;
	struct svc_flow *f;

	if (p->key.proto != IPPROTO_TCP || p->is_icmp ||
	    (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != (TCP_FLAG_SYN | TCP_FLAG_ACK) ||
	    p->l4_hlen <= SVC_TCPHDR_MIN)
		return;
	__builtin_memset(&rev, 0, sizeof(rev));
	rev.src = p->key.dst;
	rev.dst = p->key.src;
	rev.sport = p->key.dport;
	rev.dport = p->key.sport;
	rev.proto = IPPROTO_TCP;
	f = bpf_map_lookup_elem(&flows, &rev);
	if (f)
		svc_mss_fit(ctx, f->nh_id, svc_mss_offs(p), p->len, p->l3_proto == ETH_P_IPV6);
}

#endif /* SVC_BPF_MTU_H */
