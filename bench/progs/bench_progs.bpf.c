// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Benchmark helpers: the baselines, the encapsulating floor and the restore-and-tail-call wrapper
 * (docs/performance.md). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "../bench_abi.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_ALEN 6

/* Baseline 1: the cheapest possible XDP program. */
SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/*
 * Baseline 2: the least a forwarder must do: bounds-checked parse of
 * Ethernet, IPv4 (IHL honoured) or IPv6 (no extension headers), and TCP, then
 * transmit. Anything else is dropped.
 */
SEC("xdp")
int bench_parse_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct tcphdr *th;
	__u8 proto;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end || iph->ihl < 5)
			return XDP_DROP;
		proto = iph->protocol;
		th = (void *)iph + iph->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return XDP_DROP;
		proto = ip6->nexthdr;
		th = (void *)(ip6 + 1);
	} else {
		return XDP_DROP;
	}
	if (proto != IPPROTO_TCP || (void *)(th + 1) > data_end || th->doff < 5)
		return XDP_DROP;
	return XDP_TX;
}

/*
 * Baseline 3, the floor any L4 load balancer pays: the parse of baseline 2,
 * then IPIP (IPv4) or IP6IP6 (IPv6) encapsulation toward a fixed next hop of
 * the packet's family with fixed MACs (no lookup of any kind), XDP_TX. The
 * outer header is what the router writes: TTL/hop limit 64, no DF, no flow
 * label, a full IPv4 header checksum. Userspace sets floor_cfg before a run.
 */
struct bench_floor_cfg floor_cfg = {};

SEC("xdp")
int bench_encap_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct tcphdr *th;
	__u16 inner_len;
	__u8 proto;
	bool v4;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end || iph->ihl < 5)
			return XDP_DROP;
		proto = iph->protocol;
		inner_len = bpf_ntohs(iph->tot_len);
		th = (void *)iph + iph->ihl * 4;
		v4 = true;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return XDP_DROP;
		proto = ip6->nexthdr;
		inner_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
		th = (void *)(ip6 + 1);
		v4 = false;
	} else {
		return XDP_DROP;
	}
	if (proto != IPPROTO_TCP || (void *)(th + 1) > data_end || th->doff < 5)
		return XDP_DROP;

	if (v4) {
		struct iphdr *o;
		__u16 *w;
		__u32 sum = 0;
		int i;

		if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
			return XDP_DROP;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		eth = data;
		o = (void *)(eth + 1);
		if ((void *)(o + 1) > data_end)
			return XDP_DROP;
		__builtin_memcpy(eth->h_dest, floor_cfg.dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, floor_cfg.smac, ETH_ALEN);
		eth->h_proto = bpf_htons(ETH_P_IP);
		o->version = 4;
		o->ihl = 5;
		o->tos = 0;
		o->tot_len = bpf_htons(inner_len + sizeof(*o));
		o->id = 0;
		o->frag_off = 0;
		o->ttl = 64;
		o->protocol = IPPROTO_IPIP;
		o->check = 0;
		o->saddr = floor_cfg.src4;
		o->daddr = floor_cfg.dst4;
		w = (__u16 *)o;
#pragma unroll
		for (i = 0; i < (int)sizeof(*o) / 2; i++)
			sum += w[i];
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		o->check = (__u16)~sum;
	} else {
		struct ipv6hdr *o;

		if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct ipv6hdr)))
			return XDP_DROP;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		eth = data;
		o = (void *)(eth + 1);
		if ((void *)(o + 1) > data_end)
			return XDP_DROP;
		__builtin_memcpy(eth->h_dest, floor_cfg.dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, floor_cfg.smac, ETH_ALEN);
		eth->h_proto = bpf_htons(ETH_P_IPV6);
		*(__be32 *)o = bpf_htonl(6U << 28); /* version 6, traffic class 0, flow label 0 */
		o->payload_len = bpf_htons(inner_len);
		o->nexthdr = IPPROTO_IPV6;
		o->hop_limit = 64;
		__builtin_memcpy(&o->saddr, floor_cfg.src6, 16);
		__builtin_memcpy(&o->daddr, floor_cfg.dst6, 16);
	}
	return XDP_TX;
}

/* Component cost: one bpf_fib_lookup, as the router makes per forwarded packet. */
struct bench_fib_cfg fib_cfg = {};

SEC("xdp")
int bench_fib(struct xdp_md *ctx)
{
	struct bpf_fib_lookup fib = {};

	fib.ifindex = ctx->ingress_ifindex;
	fib.family = fib_cfg.family;
	fib.l4_protocol = IPPROTO_IPIP;
	fib.tot_len = 100;
	if (fib_cfg.family == BENCH_AF_INET) {
		fib.ipv4_src = fib_cfg.src[3];
		fib.ipv4_dst = fib_cfg.dst[3];
	} else {
		__builtin_memcpy(fib.ipv6_src, fib_cfg.src, 16);
		__builtin_memcpy(fib.ipv6_dst, fib_cfg.dst, 16);
	}
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_DROP;
	return XDP_PASS;
}

/* The program the wrapper hands each packet to (slot 0), set by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_target SEC(".maps");

/* The packet every iteration starts from, and how to vary it (bench_abi.h). */
struct bench_wrap_cfg wrap_cfg = {};
__u8 wrap_pkt[BENCH_PKT_MAX] = {};
/* Iterations run since userspace last zeroed it (drives the variants). */
__u64 wrap_iter = 0;

/*
 * bench_vary - give this iteration its own flow: source address word and
 * source port from the flow index (bench_flow_addr / bench_flow_port).
 */
static __always_inline int bench_vary(struct xdp_md *ctx)
{
	__u64 i = wrap_iter++;
	__be32 addr;
	__be16 port;

	if (wrap_cfg.vmode == BENCH_VARY_SCATTER)
		i = (i * BENCH_SCATTER_MUL) % wrap_cfg.vcount;
	else
		i += wrap_cfg.vstart;
	addr = bpf_htonl(wrap_cfg.vbase + (__u32)(i / BENCH_PORTS_PER_ADDR));
	port = bpf_htons(BENCH_PORT_BASE + (__u16)(i % BENCH_PORTS_PER_ADDR));
	if (bpf_xdp_store_bytes(ctx, wrap_cfg.saddr_off, &addr, sizeof(addr)))
		return -1;
	return bpf_xdp_store_bytes(ctx, wrap_cfg.sport_off, &port, sizeof(port));
}

/*
 * The wrapper: BPF_PROG_TEST_RUN reuses one buffer across repeats, so a
 * program that rewrites the packet would see its own output from the second
 * iteration on. This puts the frame back (head offset and bytes) before every
 * iteration, optionally varies the flow, and tail-calls the program under test.
 * Its own cost is measured with bench_pass as the target and subtracted.
 */
SEC("xdp")
int bench_wrap(struct xdp_md *ctx)
{
	__u32 len = wrap_cfg.pkt_len;
	/* a helper, not data_end - data: "R1 32-bit pointer arithmetic prohibited" (clang-14) */
	int cur = bpf_xdp_get_buff_len(ctx);

	if (len < 14 || len > BENCH_PKT_MAX)
		return XDP_ABORTED;
	/* The program under test only moves the head: move it back (offset 0 on pass). */
	if (bpf_xdp_adjust_head(ctx, cur - (int)len))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 0, wrap_pkt, len))
		return XDP_ABORTED;
	if (wrap_cfg.vmode != BENCH_VARY_NONE && bench_vary(ctx))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &bench_target, 0);
	return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
