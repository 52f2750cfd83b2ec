/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Consistent-hash tables for next-hop sets (Maglev-style lookup tables).
 *
 * A table has SVC_CH_SIZE slots, each holding a next-hop id; the router picks
 * slot svc_ch_slot(svc_flow_hash(flow)). Two guarantees:
 *  - weights: next hop i holds floor or ceil of size * w_i / sum(w) slots;
 *  - minimal disruption: built from the previous table, removing a next hop
 *    moves only the slots that pointed at it, and adding one (or changing a
 *    weight) moves only as many slots as its new share needs.
 * Built from scratch (no previous table) the result depends only on the set,
 * so routers configured alike agree.
 */
#ifndef SVC_CH_H
#define SVC_CH_H

#include <stddef.h>
#include <linux/types.h>

/* One member of a next-hop set. */
struct svc_ch_member {
	__u32 nh_id;  /* next-hop id, non-zero, unique in the set */
	__u32 weight; /* relative weight, >= 1 */
};

/**
 * svc_ch_build - fill a consistent-hash table for a next-hop set
 * @members: the set (order does not matter); n may be 0 (table all zeros)
 * @n: number of members
 * @prev: the table currently installed for this set, or NULL
 * @size: slots in @prev and @out (SVC_CH_SIZE in the data plane; any prime >= n for tests)
 * @out: receives @size next-hop ids
 *
 * Ids in @prev that are not members (or 0) mark free slots. Returns 0, or
 * -EINVAL (duplicate/zero id, zero weight, weights summing past 2^32 - 1,
 * size < n or not prime, NULL @out), -ENOMEM.
 */
int svc_ch_build(const struct svc_ch_member *members, size_t n, const __u32 *prev, __u32 size,
		 __u32 *out);

#endif /* SVC_CH_H */
