/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The direct-path maps (headers/svc_direct.h), pinned by name beside the router's. */
#ifndef SVC_BPF_DIRECT_MAPS_H
#define SVC_BPF_DIRECT_MAPS_H

#include "../../headers/svc_direct.h"

/* Client: connection (client -> VIP 5-tuple) -> the instance its SYN-ACK named. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVC_MAX_DIRECT_FLOWS);
	__type(key, struct svc_flow_key);
	__type(value, struct svc_direct_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} direct_flows SEC(".maps");

/* Client: instance id -> the address of its host (filled by userspace). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SVC_MAX_DIRECT_INSTANCES);
	__type(key, __u32);
	__type(value, struct svc_direct_inst);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} direct_inst SEC(".maps");

/* Instance host: service addresses whose SYN-ACKs get a flowID (value: flags, zero). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SVC_MAX_DIRECT_LOCAL);
	__type(key, struct svc_addr);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} direct_local SEC(".maps");

/* direct_cfg[0]: outer sources, instance id, flags. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct svc_direct_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} direct_cfg SEC(".maps");

/* Counters, indexed by enum svc_direct_reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SVC_DIRECT_STATS_SLOTS);
	__type(key, __u32);
	__type(value, struct svc_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} direct_stats SEC(".maps");

#endif /* SVC_BPF_DIRECT_MAPS_H */
