/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow hash, shared by the router (BPF) and userspace (tests, tools): one
 * definition, so both sides agree which consistent-hash slot a flow falls in.
 * Bob Jenkins' lookup3 (jhash2) over the 10 words of struct svc_flow_key.
 */
#ifndef SVC_HASH_H
#define SVC_HASH_H

#include "svc_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define SVC_JHASH_INITVAL 0xdeadbeefU

static __always_inline __u32 svc_rol32(__u32 x, int k)
{
	return (x << k) | (x >> (32 - k));
}

/* clang-format off */
/* lookup3 mix(): reversibly mixes three 32-bit values. */
#define SVC_JHASH_MIX(a, b, c)                                                                     \
	do {                                                                                       \
		a -= c; a ^= svc_rol32(c, 4); c += b;                                              \
		b -= a; b ^= svc_rol32(a, 6); a += c;                                              \
		c -= b; c ^= svc_rol32(b, 8); b += a;                                              \
		a -= c; a ^= svc_rol32(c, 16); c += b;                                             \
		b -= a; b ^= svc_rol32(a, 19); a += c;                                             \
		c -= b; c ^= svc_rol32(b, 4); b += a;                                              \
	} while (0)

/* lookup3 final(): final mixing of three values into c. */
#define SVC_JHASH_FINAL(a, b, c)                                                                   \
	do {                                                                                       \
		c ^= b; c -= svc_rol32(b, 14);                                                     \
		a ^= c; a -= svc_rol32(c, 11);                                                     \
		b ^= a; b -= svc_rol32(a, 25);                                                     \
		c ^= b; c -= svc_rol32(b, 16);                                                     \
		a ^= c; a -= svc_rol32(c, 4);                                                      \
		b ^= a; b -= svc_rol32(a, 14);                                                     \
		c ^= b; c -= svc_rol32(b, 24);                                                     \
	} while (0)

/* clang-format on */

#define SVC_FLOW_KEY_WORDS (sizeof(struct svc_flow_key) / 4)
_Static_assert(sizeof(struct svc_flow_key) == 40, "svc_flow_key is 10 words");

/**
 * svc_flow_hash - hash of a flow's 5-tuple
 * @k: the flow key; pad bytes must be zero
 * @seed: per-deployment seed (every router of a deployment uses the same one)
 *
 * Straight-line code (no loop) so that the verifier sees a constant cost.
 */
static __always_inline __u32 svc_flow_hash(const struct svc_flow_key *k, __u32 seed)
{
	const __u32 *w = (const __u32 *)k;
	__u32 a, b, c;

	/* clang-format off */
	a = b = c = SVC_JHASH_INITVAL + (SVC_FLOW_KEY_WORDS << 2) + seed;
	a += w[0]; b += w[1]; c += w[2];
	SVC_JHASH_MIX(a, b, c);
	a += w[3]; b += w[4]; c += w[5];
	SVC_JHASH_MIX(a, b, c);
	a += w[6]; b += w[7]; c += w[8];
	SVC_JHASH_MIX(a, b, c);
	a += w[9];
	SVC_JHASH_FINAL(a, b, c);
	/* clang-format on */
	return c;
}

/* The consistent-hash slot a flow hash selects in a next-hop set's table. */
static __always_inline __u32 svc_ch_slot(__u32 hash)
{
	return hash % SVC_CH_SIZE;
}

#endif /* SVC_HASH_H */
