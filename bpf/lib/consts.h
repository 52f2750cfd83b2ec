/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Constants vmlinux.h does not carry (they are #defines in UAPI headers). */
#ifndef SVC_BPF_CONSTS_H
#define SVC_BPF_CONSTS_H

#define ETH_ALEN 6
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF

#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PKT_TOOBIG 2

#define IPPROTO_ICMPV6 58

#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_NONE 59
#define NEXTHDR_DEST 60

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

#define AF_INET 2
#define AF_INET6 10

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

/* Bounds the parser walks to; chosen so every loop unrolls within verifier limits. */
#define SVC_MAX_VLAN_DEPTH 2
#define SVC_MAX_EXT_HDRS 4

#define IPV4_HLEN 20
#define IPV6_HLEN 40

#endif /* SVC_BPF_CONSTS_H */
