// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Benchmark packets: Ethernet + IPv4/IPv6 + TCP frames and their IPIP/IP6IP6 encapsulations. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include "addr.h"
#include "bench.h"
#include "svc_tiflow.h"

static const __u8 bench_dmac[ETH_ALEN] = { 0x02, 0x00, 0x00, 0xb0, 0x00, 0x01 };
static const __u8 bench_smac[ETH_ALEN] = { 0x02, 0x00, 0x00, 0xb0, 0x00, 0x09 };

struct svc_addr bench_addr(const char *s)
{
	struct svc_addr a;

	if (svc_addr_parse(s, &a)) {
		fprintf(stderr, "svc-bench: bad built-in address %s\n", s);
		abort();
	}
	return a;
}

struct svc_addr bench_nh4(__u32 k)
{
	struct svc_addr a = bench_addr("0.0.0.0");

	a.w[3] = htonl(BENCH_NH4_NET + k);
	return a;
}

struct svc_addr bench_nh6(__u32 k)
{
	struct svc_addr a = bench_addr(BENCH_NH6_PREFIX);

	a.w[3] = htonl(k);
	return a;
}

static __u32 csum_add(__u32 sum, const void *p, size_t len)
{
	const __u8 *b = p;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	return sum;
}

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((__u16)~sum);
}

/*
 * Headers are built in aligned locals and copied into the frame: behind the
 * 14-byte Ethernet header they are not aligned to their members.
 */
static void put_eth(__u8 *buf, __u16 proto)
{
	struct ethhdr eth;

	memcpy(eth.h_dest, bench_dmac, ETH_ALEN);
	memcpy(eth.h_source, bench_smac, ETH_ALEN);
	eth.h_proto = htons(proto);
	memcpy(buf, &eth, sizeof(eth));
}

/* IPv4 header without options at @buf for @payload bytes of @proto. */
static void put_ip4(__u8 *buf, const struct svc_addr *src, const struct svc_addr *dst, __u8 proto,
		    size_t payload)
{
	struct iphdr iph;

	memset(&iph, 0, sizeof(iph));
	iph.version = 4;
	iph.ihl = 5;
	iph.tot_len = htons(sizeof(iph) + payload);
	iph.ttl = 64;
	iph.protocol = proto;
	iph.saddr = src->w[3];
	iph.daddr = dst->w[3];
	iph.check = csum_fold(csum_add(0, &iph, sizeof(iph)));
	memcpy(buf, &iph, sizeof(iph));
}

static void put_ip6(__u8 *buf, const struct svc_addr *src, const struct svc_addr *dst, __u8 proto,
		    size_t payload)
{
	struct ipv6hdr ip6;

	memset(&ip6, 0, sizeof(ip6));
	ip6.version = 6;
	ip6.payload_len = htons(payload);
	ip6.nexthdr = proto;
	ip6.hop_limit = 64;
	memcpy(&ip6.saddr, src->b, 16);
	memcpy(&ip6.daddr, dst->b, 16);
	memcpy(buf, &ip6, sizeof(ip6));
}

size_t bench_build_tcp(__u8 *buf, size_t cap, const struct bench_tcp *t)
{
	bool v4 = t->family == AF_INET;
	size_t l3 = v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	size_t optlen = t->flowid ? sizeof(struct svc_flowid_opt) : 0;
	size_t tcplen = sizeof(struct tcphdr) + optlen;
	size_t len = ETH_HLEN + l3 + tcplen;
	__u8 *seg = buf + ETH_HLEN + l3;
	struct tcphdr th;
	__u32 sum;

	if (cap < len)
		return 0;
	memset(buf, 0, len);
	put_eth(buf, v4 ? ETH_P_IP : ETH_P_IPV6);
	if (v4)
		put_ip4(buf + ETH_HLEN, &t->src, &t->dst, IPPROTO_TCP, tcplen);
	else
		put_ip6(buf + ETH_HLEN, &t->src, &t->dst, IPPROTO_TCP, tcplen);
	memset(&th, 0, sizeof(th));
	th.source = htons(t->sport);
	th.dest = htons(t->dport);
	th.seq = htonl(0x12345678);
	th.ack_seq = htonl(t->flags & BENCH_TCP_ACK ? 0x9abcdef0 : 0);
	th.doff = tcplen / 4;
	((__u8 *)&th)[13] = t->flags;
	th.window = htons(64240);
	memcpy(seg, &th, sizeof(th));
	if (t->flowid) {
		struct svc_flowid_opt o = { .kind = SVC_FLOWID_KIND,
					    .len = SVC_FLOWID_LEN,
					    .exid = htons(SVC_FLOWID_EXID_DEFAULT),
					    .flowid = htonl(t->flowid) };

		memcpy(seg + sizeof(th), &o, sizeof(o));
	}
	/* pseudo-header + segment */
	if (v4)
		sum = csum_add(0, &t->src.w[3], 4) + csum_add(0, &t->dst.w[3], 4);
	else
		sum = csum_add(0, t->src.b, 16) + csum_add(0, t->dst.b, 16);
	sum += IPPROTO_TCP + tcplen;
	th.check = csum_fold(csum_add(sum, seg, tcplen));
	memcpy(seg + offsetof(struct tcphdr, check), &th.check, sizeof(th.check));
	return len;
}

size_t bench_build_encap(__u8 *buf, size_t cap, int outer_family, const struct svc_addr *osrc,
			 const struct svc_addr *odst, const __u8 *in, size_t in_len)
{
	size_t outer = outer_family == AF_INET ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	size_t ip_len = in_len - ETH_HLEN;
	__u16 inner_proto;
	__u8 proto;

	if (in_len <= ETH_HLEN || cap < in_len + outer)
		return 0;
	memcpy(&inner_proto, in + offsetof(struct ethhdr, h_proto), sizeof(inner_proto));
	inner_proto = ntohs(inner_proto);
	proto = inner_proto == ETH_P_IP ? IPPROTO_IPIP : IPPROTO_IPV6;
	put_eth(buf, outer_family == AF_INET ? ETH_P_IP : ETH_P_IPV6);
	if (outer_family == AF_INET)
		put_ip4(buf + ETH_HLEN, osrc, odst, proto, ip_len);
	else
		put_ip6(buf + ETH_HLEN, osrc, odst, proto, ip_len);
	memcpy(buf + ETH_HLEN + outer, in + ETH_HLEN, ip_len);
	return in_len + outer;
}

__u32 bench_vbase(int family)
{
	struct svc_addr a;

	if (family == AF_INET)
		return BENCH_CLIENT4;
	a = bench_addr(BENCH_CLIENT6);
	return ntohl(a.w[3]);
}

__u32 bench_saddr_off(int family)
{
	/* the IPv4 source, or the last word of the IPv6 source */
	return family == AF_INET ? ETH_HLEN + 12 : ETH_HLEN + 8 + 12;
}

__u32 bench_sport_off(int family)
{
	return ETH_HLEN + (family == AF_INET ? sizeof(struct iphdr) : sizeof(struct ipv6hdr));
}

/* Client address and port of flow @i: what bench_vary() in the wrapper writes. */
static void flow_client(int family, __u64 i, struct svc_addr *src, __u16 *sport)
{
	*src = bench_addr(family == AF_INET ? "0.0.0.0" : BENCH_CLIENT6);
	src->w[3] = htonl(bench_vbase(family) + (__u32)(i / BENCH_PORTS_PER_ADDR));
	*sport = BENCH_PORT_BASE + (__u16)(i % BENCH_PORTS_PER_ADDR);
}

void bench_flow_tcp(struct bench_tcp *t, int family, __u64 i, __u8 flags, enum bench_dst dst)
{
	static const char *const dsts[3][2] = {
		[BENCH_DST_SERVICE] = { BENCH_VIP4, BENCH_VIP6 },
		[BENCH_DST_NONE] = { BENCH_NOSVC4, BENCH_NOSVC6 },
		[BENCH_DST_DEMUX] = { BENCH_VIP4_DEMUX, BENCH_VIP6_DEMUX },
	};

	memset(t, 0, sizeof(*t));
	t->family = family;
	flow_client(family, i, &t->src, &t->sport);
	t->dst = bench_addr(dsts[dst][family == AF_INET ? 0 : 1]);
	t->dport = BENCH_VPORT;
	t->flags = flags;
}

void bench_flow_key(struct svc_flow_key *k, int family, __u64 i)
{
	__u16 sport;

	memset(k, 0, sizeof(*k));
	flow_client(family, i, &k->src, &sport);
	k->dst = bench_addr(family == AF_INET ? BENCH_VIP4 : BENCH_VIP6);
	k->sport = htons(sport);
	k->dport = htons(BENCH_VPORT);
	k->proto = IPPROTO_TCP;
}
