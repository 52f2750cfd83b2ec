/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* SipHash-2-4 (Aumasson/Bernstein) over whole 64-bit words: the responder's keyed PRF. */
#ifndef SVC_BPF_TIFLOW_PRF_H
#define SVC_BPF_TIFLOW_PRF_H

static __always_inline __u64 tiflow_rotl64(__u64 x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define TIFLOW_SIPROUND(v0, v1, v2, v3)                                                            \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = tiflow_rotl64(v1, 13);                                                        \
		v1 ^= v0;                                                                          \
		v0 = tiflow_rotl64(v0, 32);                                                        \
		v2 += v3;                                                                          \
		v3 = tiflow_rotl64(v3, 16);                                                        \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = tiflow_rotl64(v3, 21);                                                        \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = tiflow_rotl64(v1, 17);                                                        \
		v1 ^= v2;                                                                          \
		v2 = tiflow_rotl64(v2, 32);                                                        \
	} while (0)

/**
 * tiflow_siphash - SipHash-2-4 of @n little-endian 64-bit words @m under @key
 *
 * @n must be a compile-time constant (the loop is unrolled); the message
 * length folded into the last block is 8 * @n octets.
 */
static __always_inline __u64 tiflow_siphash(const __u64 key[2], const __u64 *m, const int n)
{
	__u64 v0 = 0x736f6d6570736575ULL ^ key[0];
	__u64 v1 = 0x646f72616e646f6dULL ^ key[1];
	__u64 v2 = 0x6c7967656e657261ULL ^ key[0];
	__u64 v3 = 0x7465646279746573ULL ^ key[1];
	__u64 b = (__u64)(8 * n) << 56;
	int i;

#pragma unroll
	for (i = 0; i < n; i++) {
		v3 ^= m[i];
		TIFLOW_SIPROUND(v0, v1, v2, v3);
		TIFLOW_SIPROUND(v0, v1, v2, v3);
		v0 ^= m[i];
	}
	v3 ^= b;
	TIFLOW_SIPROUND(v0, v1, v2, v3);
	TIFLOW_SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	TIFLOW_SIPROUND(v0, v1, v2, v3);
	TIFLOW_SIPROUND(v0, v1, v2, v3);
	TIFLOW_SIPROUND(v0, v1, v2, v3);
	TIFLOW_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

#endif /* SVC_BPF_TIFLOW_PRF_H */
