/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Helpers that keep a bound visible to every verifier svcplane supports
 * (Linux 6.1 to 6.18): each says which message of which kernel it avoids.
 * The same code runs on all of them; nothing here is per kernel.
 */
#ifndef SVC_BPF_VERIFIER_H
#define SVC_BPF_VERIFIER_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/*
 * svc_ntohs_bounded - bpf_ntohs() of a 16-bit length field, known to be <= 0xffff.
 *
 * Linux 6.1's verifier forgets every bound of a register after a byte swap
 * (`r1 = be16 r1` gives scalar()), so "packet pointer + length" is refused:
 * "math between pkt pointer and register with unbounded min value is not
 * allowed" (6.18 keeps umax=0xffff). The mask restores the bound; clang would
 * drop it as redundant without the barrier_var().
 */
static __always_inline __u32 svc_ntohs_bounded(__be16 v)
{
	__u32 x = bpf_ntohs(v);

	barrier_var(x);
	return x & 0xffff;
}

/*
 * SVC_BOUND1 - @v, already checked to lie in [1, @pow2], rewritten so the
 * verifier sees that bound, for a helper's size argument (which must not be 0):
 * - clang-14 folds "v < lo || v > hi" into one compare on a copy of v, and
 *   the verifier then rejects the helper call with "R4 unbounded memory access";
 * - Linux 6.1's verifier learns nothing from "v != 0" (6.18 raises umin to 1),
 *   so after "if (!v) return" it still refuses "invalid access to memory,
 *   mem_size=288 off=32 size=0";
 * - Linux 6.1 keeps no bound of a 32-bit value spilled to the stack and read
 *   back: "invalid access to map value, value_size=688 off=64 size=0".
 * The barrier_var() stops clang from dropping the mask where it can prove
 * the bound itself (the verifier cannot).
 */
#define SVC_BOUND1(v, pow2)                                \
	({                                                 \
		__u32 ___v = (v);                          \
		barrier_var(___v);                         \
		((___v - 1) & ((__u32)(pow2) - 1)) + 1;    \
	})

#endif /* SVC_BPF_VERIFIER_H */
