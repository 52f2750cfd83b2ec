/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maps of the TI-flow sockops program, pinned by name under the agent's pin directory. */
#ifndef SVC_BPF_TIFLOW_MAPS_H
#define SVC_BPF_TIFLOW_MAPS_H

#include "../../headers/svc_tiflow.h"

#ifndef SVC_TIFLOW_MAX_SELECT
#define SVC_TIFLOW_MAX_SELECT 4096
#endif

/* tiflow_cfg[0]: instance id, option kind, roles, PRF key (struct svc_tiflow_cfg). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct svc_tiflow_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tiflow_cfg SEC(".maps");

/* Which destinations / service addresses take part (empty = all; see svc_tiflow_sel). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SVC_TIFLOW_MAX_SELECT);
	__type(key, struct svc_tiflow_sel);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tiflow_select SEC(".maps");

/* Per-socket TI-flow state; userspace looks it up with a socket fd as key. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct svc_tiflow_sk);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tiflow_sk SEC(".maps");

/* Negotiation events, per CPU, indexed by enum svc_tiflow_event. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SVC_TIFLOW_STATS_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tiflow_stats SEC(".maps");

/* tiflow_count - count one @ev. */
static __always_inline void tiflow_count(enum svc_tiflow_event ev)
{
	__u32 idx = ev;
	__u64 *c = bpf_map_lookup_elem(&tiflow_stats, &idx);

	if (c)
		*c += 1;
}

#endif /* SVC_BPF_TIFLOW_MAPS_H */
