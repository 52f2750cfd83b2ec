/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Path MTU at the service router: the ICMP too-big rate limit (map mtu_cfg) and its bucket. */
#ifndef SVC_MTU_H
#define SVC_MTU_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Defaults when mtu_cfg[0] holds zeros (nothing configured): one ICMP
 * "fragmentation needed" / "packet too big" per millisecond, bursts of 50,
 * for the whole router (one bucket shared by all CPUs), like Linux's own
 * icmp_msgs_per_sec / icmp_msgs_burst.
 */
#define SVC_ICMP_INTERVAL_NS_DEFAULT 1000000ULL
#define SVC_ICMP_BURST_DEFAULT 50

/*
 * Bytes of the offending IP packet quoted in the reply (its header and the
 * start of its payload: enough for the sender to find the socket, RFC 792 /
 * RFC 4443 ask for "as much as fits" up to 576 / 1280 bytes in all).
 */
#define SVC_ICMP_QUOTE4 128
#define SVC_ICMP_QUOTE6 256

/* mtu_cfg[0]: how the router answers packets too big for the egress MTU. */
struct svc_mtu_cfg {
	__u64 icmp_interval_ns; /* one reply per interval on average; 0 = default */
	__u32 icmp_burst;	/* at most this many at once; 0 = default */
	__u32 flags;		/* reserved, zero */
};

/* The token bucket (one, shared by all CPUs under its lock); BPF-only. */
#ifdef __VMLINUX_H__
struct svc_icmp_bucket {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 tokens_ns; /* credit, in nanoseconds of interval */
	__u64 last_ns;	 /* bpf_ktime_get_ns() of the last refill; 0 = never: full */
};
#endif

#endif /* SVC_MTU_H */
