/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU packet/byte counters indexed by enum svc_reason (no atomics needed). */
#ifndef SVC_BPF_STATS_H
#define SVC_BPF_STATS_H

#include "../../headers/svc_abi.h"

/* Adds one packet of @bytes to counter @idx of the per-CPU array @map. */
static __always_inline void svc_count(void *map, __u32 idx, __u64 bytes)
{
	struct svc_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

#endif /* SVC_BPF_STATS_H */
