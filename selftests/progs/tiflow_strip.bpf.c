// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Test middlebox (tc ingress): overwrites the TI-flow option of TCP packets with NOPs. */
/*
 * With drop_first_confirm set it strips nothing and instead drops the first
 * pure ACK that carries the option: a lost handshake-completing ACK, after
 * which the initiator's data segments must carry the confirmation.
 *
 * An "overzealous middlebox" of the isolation-boundary paper (III.C): it
 * strips the option in the direction it is attached to, replacing its octets
 * with NOPs (the header keeps its length) and fixing the TCP checksum by the
 * difference of the whole header (bpf_csum_diff over 4-octet-aligned data,
 * so an option at an odd offset is still summed correctly).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "../../bpf/lib/consts.h"
#include "../../bpf/lib/tiflow_opt.h"

/* Option kind to strip; set through rodata before load. */
const volatile __u8 strip_kind = SVC_TIFLOW_KIND_DEFAULT;
/* Drop the first pure ACK carrying the option instead of stripping. */
const volatile bool drop_first_confirm;

/* Counters read by the loader: TCP packets seen, options stripped, errors, packets dropped. */
__u64 seen_tcp;
__u64 stripped;
__u64 errors;
__u64 dropped;

/*
 * strip_tcp_off - offset of the TCP header in @skb (Ethernet, IPv4 or IPv6
 * without extensions); *@l4_len is the IP payload length (TCP header + data).
 */
static __always_inline int strip_tcp_off(struct __sk_buff *skb, __u32 *l4_len)
{
	__u8 ip[40];
	__u32 ihl;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, sizeof(struct ethhdr), ip, 20))
			return -1;
		if (ip[9] != IPPROTO_TCP || (((__u16)ip[6] << 8 | ip[7]) & IP_OFFSET))
			return -1;
		ihl = (ip[0] & 0xf) * 4;
		*l4_len = (((__u32)ip[2] << 8) | ip[3]) - ihl;
		return sizeof(struct ethhdr) + ihl;
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, sizeof(struct ethhdr), ip, 40))
			return -1;
		if (ip[6] != IPPROTO_TCP)
			return -1;
		*l4_len = ((__u32)ip[4] << 8) | ip[5];
		return sizeof(struct ethhdr) + 40;
	}
	return -1;
}

/* The option walk, a global function: the verifier checks it once, for any header. */
TIFLOW_FIND_OPT_DEFINE()

SEC("tc")
int tiflow_strip_tc(struct __sk_buff *skb)
{
	struct tiflow_walk w;
	__u8 old[SVC_TCPHDR_BUF];
	__u32 len, l4_len = 0;
	__s64 diff;
	int off, i;

	off = strip_tcp_off(skb, &l4_len);
	if (off < 0 || off > 128)
		return TC_ACT_OK;
	__builtin_memset(&w, 0, sizeof(w));
	if (bpf_skb_load_bytes(skb, off, w.hdr, SVC_TCPHDR_MIN))
		return TC_ACT_OK;
	__sync_fetch_and_add(&seen_tcp, 1);
	len = tiflow_hdr_len(&w, SVC_TCPHDR_MAX);
	if (!len || bpf_skb_load_bytes(skb, off, w.hdr, len & 0x3c))
		return TC_ACT_OK;
	w.hdr_len = len;
	if (tiflow_find_opt(&w, strip_kind) != TIFLOW_FIND_OK)
		return TC_ACT_OK;
	if (drop_first_confirm) {
		/* flags octet 13: ACK alone, and no data after the header */
		if (w.hdr[13] == 0x10 && l4_len == len && __sync_fetch_and_add(&dropped, 1) == 0)
			return TC_ACT_SHOT;
		return TC_ACT_OK;
	}
	__builtin_memcpy(old, w.hdr, sizeof(old));
#pragma unroll
	for (i = 0; i < SVC_TCPHDR_MAX - SVC_TCPHDR_MIN; i++)
		if (i < w.opt_len)
			w.hdr[(w.opt_off + i) & (SVC_TCPHDR_BUF - 1)] = SVC_TCPOPT_NOP;
	diff = bpf_csum_diff((__be32 *)old, len & 0x3c, (__be32 *)w.hdr, len & 0x3c, 0);
	if (diff < 0 || bpf_skb_store_bytes(skb, off, w.hdr, len & 0x3c, 0) ||
	    bpf_l4_csum_replace(skb, off + 16, 0, diff, 0)) {
		__sync_fetch_and_add(&errors, 1);
		return TC_ACT_SHOT;
	}
	__sync_fetch_and_add(&stripped, 1);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
