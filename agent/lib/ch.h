/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Consistent-hash tables for next-hop sets (Maglev's lookup tables).
 *
 * A table has SVC_CH_SIZE slots, each holding a next-hop id; the router picks
 * slot svc_ch_slot(svc_flow_hash(flow)). The table is a pure function of the
 * set (each member's identity, next-hop id and weight) and the deployment
 * seed: the same set gives byte-identical tables on every router, whatever
 * order the members come in and whatever table was installed before. So a
 * router rebuilt from scratch, or a second router, sends a flow where the
 * first one did. Guarantees (checked by selftests/unit/test_ch.c):
 *  - weights: member i holds floor or ceil of size * w_i / sum(w) slots;
 *  - disruption (Maglev's, near-minimal): removing one of n members, for
 *    size >= 100 * n, moves its own slots plus at most 2 % of the table.
 */
#ifndef SVC_CH_H
#define SVC_CH_H

#include <stddef.h>
#include <linux/types.h>
#include "svc_abi.h"

/* One member of a next-hop set. */
struct svc_ch_member {
	struct svc_addr addr; /* identity, unique in the set: its permutation derives from it */
	__u32 nh_id;	      /* what its slots hold: next-hop id, non-zero, unique in the set */
	__u32 weight;	      /* relative weight, >= 1 */
};

/**
 * svc_ch_build - fill a consistent-hash table for a next-hop set
 * @members: the set (order does not matter); n may be 0 (table all zeros)
 * @n: number of members
 * @seed: deployment seed (the same on every router; changes every permutation)
 * @size: slots in @out (SVC_CH_SIZE in the data plane; any prime >= n for tests)
 * @out: receives @size next-hop ids
 *
 * Returns 0, or -EINVAL (duplicate address or id, zero id, zero weight,
 * weights summing past 2^32 - 1, size < n or not prime, NULL @out), -ENOMEM.
 */
int svc_ch_build(const struct svc_ch_member *members, size_t n, __u32 seed, __u32 size, __u32 *out);

#endif /* SVC_CH_H */
