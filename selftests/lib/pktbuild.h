/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet builder for the BPF selftests: push layers outermost first (Ethernet,
 * VLAN tags, IPv4/IPv6, IPv6 extension headers, TCP/UDP/ICMP, payload, or a
 * whole IP packet as an encapsulated or quoted inner), then pkt_finalize()
 * fills every length, ethertype, protocol/next-header field and checksum,
 * innermost first. Malformed packets are made by editing the finalized bytes
 * (pkt_layer_ptr) or truncating them (pkt_trunc).
 */
#ifndef SVC_PKTBUILD_H
#define SVC_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define PKT_MAX 4096
#define PKT_MAX_LAYERS 24

enum pkt_ltype {
	PKT_ETH,
	PKT_VLAN,
	PKT_IP4,
	PKT_IP6,
	PKT_EXT6,  /* hop-by-hop, routing, destination options, AH */
	PKT_FRAG6, /* IPv6 fragment header */
	PKT_TCP,
	PKT_UDP,
	PKT_ICMP4,
	PKT_ICMP6,
	PKT_RAW, /* payload, or opaque bytes standing for a protocol (ethertype/proto) */
};

struct pkt_layer {
	enum pkt_ltype type;
	size_t off;	 /* offset of the layer's first byte in buf */
	size_t hlen;	 /* bytes the layer itself added */
	__u16 ethertype; /* what an Ethernet/VLAN header before this layer announces (0: none) */
	int proto;	 /* what an IP/extension header before this layer announces (-1: none) */
};

struct pkt {
	__u8 buf[PKT_MAX];
	size_t len;
	struct pkt_layer l[PKT_MAX_LAYERS];
	int n;
};

/* Defaults for zero fields are listed per field. */
struct ip4_spec {
	const char *src, *dst; /* dotted quads */
	__u8 tos;
	__u8 ttl; /* 0 = 64 */
	__u16 id;
	__u16 frag;	  /* host order: flags (0x4000 DF, 0x2000 MF) | offset in 8-byte units */
	const __u8 *opts; /* IP options, optlen a multiple of 4 (<= 40) */
	size_t optlen;
	__u8 proto; /* used only when no layer follows */
};

struct ip6_spec {
	const char *src, *dst;
	__u8 tclass;
	__u32 flowlabel; /* 20 bits */
	__u8 hlim;	 /* 0 = 64 */
	__u8 nexthdr;	 /* used only when no layer follows: 0 = 59 (no next header) */
};

struct tcp_spec {
	__u16 sport, dport; /* host order */
	__u32 seq, ack;
	__u8 flags;	  /* TCP_F_* */
	__u16 win;	  /* 0 = 65535 */
	const __u8 *opts; /* options, optlen a multiple of 4 (<= 40) */
	size_t optlen;
};

#define TCP_F_FIN 0x01
#define TCP_F_SYN 0x02
#define TCP_F_RST 0x04
#define TCP_F_PSH 0x08
#define TCP_F_ACK 0x10

/* 20 bytes of options as a Linux SYN carries them: MSS, SACK-permitted, timestamps, wscale. */
extern const __u8 pkt_linux_syn_opts[20];

void pkt_init(struct pkt *p);
void pkt_eth(struct pkt *p, const __u8 dst[6], const __u8 src[6]);
/* pkt_eth_type - Ethernet header with an explicit ethertype (for non-IP payloads). */
void pkt_eth_type(struct pkt *p, const __u8 dst[6], const __u8 src[6], __u16 type);
void pkt_vlan(struct pkt *p, __u16 tpid, __u16 tci);
void pkt_ip4(struct pkt *p, const struct ip4_spec *s);
void pkt_ip6(struct pkt *p, const struct ip6_spec *s);
/*
 * pkt_ip6_ext - an extension header of @type (0 hop-by-hop, 43 routing, 60
 * destination options: @len a multiple of 8, >= 8; 51 AH: a multiple of 4, >= 12).
 */
void pkt_ip6_ext(struct pkt *p, __u8 type, size_t len);
/* pkt_ip6_frag - fragment header: @offset in 8-byte units, @more = M flag. */
void pkt_ip6_frag(struct pkt *p, __u16 offset, bool more, __u32 ident);
void pkt_tcp(struct pkt *p, const struct tcp_spec *s);
void pkt_udp(struct pkt *p, __u16 sport, __u16 dport);
/* ICMP headers: @rest is the second 32-bit word (host order), e.g. the MTU of frag-needed/PTB. */
void pkt_icmp4(struct pkt *p, __u8 type, __u8 code, __u32 rest);
void pkt_icmp6(struct pkt *p, __u8 type, __u8 code, __u32 rest);
/* pkt_payload - @len bytes of @data, or of a deterministic pattern if @data is NULL. */
void pkt_payload(struct pkt *p, const void *data, size_t len);
/*
 * pkt_raw - opaque bytes announced as @ethertype (0: not set) by a preceding
 * Ethernet/VLAN header and as @proto (-1: not set) by a preceding IP/extension header.
 */
void pkt_raw(struct pkt *p, __u16 ethertype, int proto, const void *data, size_t len);
/* pkt_ip_bytes - a finished IP packet (version from its first nibble), as inner or quote. */
void pkt_ip_bytes(struct pkt *p, const void *ip, size_t len);

/* pkt_finalize - fill lengths, type fields and checksums, innermost layer first. */
void pkt_finalize(struct pkt *p);
/* pkt_trunc - cut the finalized packet to @len bytes (lengths inside are left as they were). */
void pkt_trunc(struct pkt *p, size_t len);

/* pkt_layer_find - index of the @nth (0-based) layer of @type, or -1. */
int pkt_layer_find(const struct pkt *p, enum pkt_ltype type, int nth);
/* pkt_layer_ptr - first byte of that layer (aborts if missing: a test bug). */
__u8 *pkt_layer_ptr(struct pkt *p, enum pkt_ltype type, int nth);
/* pkt_l3_off - offset of the first IPv4/IPv6 header (aborts if none). */
size_t pkt_l3_off(const struct pkt *p);

/* pkt_ip4_csum_fix - recompute the header checksum of the IPv4 header at @ip4. */
void pkt_ip4_csum_fix(__u8 *ip4);

/* pkt_tcp_mss - the MSS option's value in the TCP header at @th, or -1 if it has none. */
int pkt_tcp_mss(const __u8 *th);

/* Checksum arithmetic (RFC 1071) used by the builder. */
__u32 pkt_csum_add(__u32 sum, const void *data, size_t len);
__u16 pkt_csum_fold(__u32 sum);

/* Address and MAC parsing helpers; abort on a malformed literal (a test bug). */
void pkt_addr4(const char *s, __u8 out[4]);
void pkt_addr6(const char *s, __u8 out[16]);
void pkt_mac(const char *s, __u8 out[6]);

#endif /* SVC_PKTBUILD_H */
