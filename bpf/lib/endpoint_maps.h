/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The endpoint's maps, pinned by name beside the router's. */
#ifndef SVC_BPF_ENDPOINT_MAPS_H
#define SVC_BPF_ENDPOINT_MAPS_H

#include "../../headers/svc_abi.h"

/* Outer source addresses (routers) whose encapsulated packets are accepted (value: flags, zero). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SVC_MAX_DECAP_SOURCES);
	__type(key, struct svc_addr);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} decap_sources SEC(".maps");

/* Verdict and drop-reason counters, indexed by enum svc_reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SVC_STATS_SLOTS);
	__type(key, __u32);
	__type(value, struct svc_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} endpoint_stats SEC(".maps");

#endif /* SVC_BPF_ENDPOINT_MAPS_H */
