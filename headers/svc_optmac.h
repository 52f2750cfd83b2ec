/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Keyed check of the ids that route a packet without flow state (flowID,
 * TIFID responder half): SipHash-2-4 under a per-deployment secret shared by
 * every router and endpoint (svcplaned --opt-key), truncated into the ids'
 * spare bits. Trust model: docs/datapath.md, "Option routing and policy".
 *
 * One definition for the BPF programs (router: check; instance hosts: stamp)
 * and userspace (tests, fuzzer, tools). Everything here is usable from BPF.
 */
#ifndef SVC_OPTMAC_H
#define SVC_OPTMAC_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "svc_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* opt_key[0] (pinned, shared by the router, direct and tiflow objects of one host). */
#define SVC_OPT_KEY_F_SET (1U << 0) /* k is the deployment's secret; unset: no id is trusted */

struct svc_opt_key {
	__u64 k[2];  /* SipHash key: the 128-bit secret, little-endian halves */
	__u32 flags; /* SVC_OPT_KEY_F_* */
	__u32 pad;   /* zero */
};

/*
 * set_members key: next hop nh_id is a member of next-hop set set_id (any
 * weight). The router lets a flowID or TIFID pick only such an instance of the
 * set of the rule that resolves the packet's service. Value: __u32, zero.
 */
struct svc_set_member_key {
	__u32 set_id;
	__u32 nh_id;
};

#define SVC_MAX_SET_MEMBERS 65536

/*
 * resumed_flows (LRU, pinned): key struct svc_flow_key, value struct svc_flow.
 * Connections opened by a resumed SYN (routed by its TIFID, which later
 * packets do not carry) are recorded here as well as in flows. Only a genuine,
 * in-policy TIFID writes it, so a flood of new connections, which evicts
 * flows entries, does not touch it: a lost flows entry is found here again
 * instead of falling back to the consistent hash, which would pick another
 * instance. Pinned: it survives an agent restart like flows.
 */
#ifndef SVC_MAX_RESUMED_FLOWS
#define SVC_MAX_RESUMED_FLOWS 65536
#endif

static __always_inline __u64 svc_rotl64(__u64 x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SVC_SIPROUND(v0, v1, v2, v3)                                                               \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = svc_rotl64(v1, 13);                                                           \
		v1 ^= v0;                                                                          \
		v0 = svc_rotl64(v0, 32);                                                           \
		v2 += v3;                                                                          \
		v3 = svc_rotl64(v3, 16);                                                           \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = svc_rotl64(v3, 21);                                                           \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = svc_rotl64(v1, 17);                                                           \
		v1 ^= v2;                                                                          \
		v2 = svc_rotl64(v2, 32);                                                           \
	} while (0)

/**
 * svc_siphash - SipHash-2-4 (Aumasson/Bernstein) of @n 64-bit words @m under @key
 *
 * Words are taken as they are in memory (little-endian hosts: the byte string
 * of SipHash). @n must be a compile-time constant (the loop is unrolled); the
 * message length folded into the last block is 8 * @n octets.
 */
static __always_inline __u64 svc_siphash(const __u64 key[2], const __u64 *m, const int n)
{
	__u64 v0 = 0x736f6d6570736575ULL ^ key[0];
	__u64 v1 = 0x646f72616e646f6dULL ^ key[1];
	__u64 v2 = 0x6c7967656e657261ULL ^ key[0];
	__u64 v3 = 0x7465646279746573ULL ^ key[1];
	__u64 b = (__u64)(8 * n) << 56;
	int i;

#ifdef __clang__
#pragma unroll
#endif
	for (i = 0; i < n; i++) {
		v3 ^= m[i];
		SVC_SIPROUND(v0, v1, v2, v3);
		SVC_SIPROUND(v0, v1, v2, v3);
		v0 ^= m[i];
	}
	v3 ^= b;
	SVC_SIPROUND(v0, v1, v2, v3);
	SVC_SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SVC_SIPROUND(v0, v1, v2, v3);
	SVC_SIPROUND(v0, v1, v2, v3);
	SVC_SIPROUND(v0, v1, v2, v3);
	SVC_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* Domain tags: a flowID MAC is never a TIFID MAC of the same words. */
#define SVC_OPTMAC_DOM_FLOWID 0x464c4f5749440000ULL /* "FLOWID" */
#define SVC_OPTMAC_DOM_TIFID 0x5449464944000000ULL  /* "TIFID" */

_Static_assert(sizeof(struct svc_flow_key) == 40, "flow key is 5 words");

/**
 * svc_flowid_mac - the 16 flow bits of a flowID naming @instance for the flow
 * @fk (client -> service direction, as the router keys it: IPv4 v4-mapped,
 * pads zero). The flowID is instance << 16 | this.
 */
static __always_inline __u16 svc_flowid_mac(const __u64 key[2], const struct svc_flow_key *fk,
					    __u16 instance)
{
	__u64 m[6];

	__builtin_memcpy(m, fk, sizeof(*fk));
	m[5] = SVC_OPTMAC_DOM_FLOWID | instance;
	return (__u16)svc_siphash(key, m, 6);
}

/**
 * svc_tifid_mac - the 8 low bits of a TIFID responder half naming @instance
 * in a TI-flow whose initiator half is @initiator. A resumed SYN is a new
 * connection (other port, maybe another address): only the TIFID binds it.
 */
static __always_inline __u8 svc_tifid_mac(const __u64 key[2], __u32 initiator, __u16 instance)
{
	__u64 m[2];

	m[0] = SVC_OPTMAC_DOM_TIFID;
	m[1] = ((__u64)(initiator & 0xffffff) << 16) | instance;
	return (__u8)svc_siphash(key, m, 2);
}

#endif /* SVC_OPTMAC_H */
