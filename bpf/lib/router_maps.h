/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The service router's maps. All are pinned by name under the agent's pin
 * directory, so a restarted agent (or a new program version) reuses them and
 * no flow or rule is lost. Layouts are in headers/svc_abi.h.
 */
#ifndef SVC_BPF_ROUTER_MAPS_H
#define SVC_BPF_ROUTER_MAPS_H

#include "../../headers/svc_abi.h"

/* VIP:port/proto -> serviceID. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SVC_MAX_BINDINGS);
	__type(key, struct svc_binding_key);
	__type(value, struct svc_binding);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bindings SEC(".maps");

/* IPv6 destination prefixes that are serviceIDs themselves (value: flags, zero). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__type(key, struct svc_lpm_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sid_prefixes SEC(".maps");

/* The service table: serviceID prefix -> rule, longest-prefix match. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SVC_MAX_RULES);
	__type(key, struct svc_lpm_key);
	__type(value, struct svc_rule);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} service_table SEC(".maps");

/* Next hops by id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SVC_MAX_NEXTHOPS);
	__type(key, __u32);
	__type(value, struct svc_nexthop);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nexthops SEC(".maps");

/* Next-hop id -> its egress (interface, MACs, MTU), written by the agent (svc_abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SVC_MAX_NEXTHOPS);
	__type(key, __u32);
	__type(value, struct svc_nh_egress);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nh_egress SEC(".maps");

/* One consistent-hash table: slot -> next-hop id (0 = empty set). */
struct svc_ch_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SVC_CH_SIZE);
	__type(key, __u32);
	__type(value, __u32);
};

/*
 * Next-hop set id -> its consistent-hash table. Userspace builds a new inner
 * table to the side and swaps it in with one update of this map, so a packet
 * never sees a half-written table.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SVC_MAX_SETS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct svc_ch_table); /* must be last: a flexible array */
} ch_tables SEC(".maps");

/*
 * ch_present[0]: which ch_tables slots may hold a table, written only by the
 * agent (headers/svc_abi.h). On 6.1 every userspace lookup in a map-in-map
 * waits for an RCU grace period: reading all 4,096 ch_tables slots in one
 * batch took 76 s (idle) to 134 s (busy) in a 6.1 QEMU guest, ~0 on 6.18.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct svc_ch_present);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ch_present SEC(".maps");

/* Flow table: client 5-tuple -> next hop (LRU; losing it is safe, see svc_flow_hash). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVC_MAX_FLOWS);
	__type(key, struct svc_flow_key);
	__type(value, struct svc_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

/* router_cfg[0]: outer source addresses. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct svc_router_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} router_cfg SEC(".maps");

/*
 * The flood guard's window per CPU (struct svc_flood_state). Pinned like the
 * rest: a restarted agent leaves the attached program in place, and its
 * status must read the window that program writes.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct svc_flood_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flood_state SEC(".maps");

/* Verdict and drop-reason counters, indexed by enum svc_reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SVC_STATS_SLOTS);
	__type(key, __u32);
	__type(value, struct svc_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} router_stats SEC(".maps");

/* Packets resolved by each rule (index: svc_rule.rule_id). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SVC_MAX_RULE_IDS);
	__type(key, __u32);
	__type(value, struct svc_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rule_stats SEC(".maps");

/* Packets sent to each next hop. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SVC_MAX_NEXTHOPS);
	__type(key, __u32);
	__type(value, struct svc_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nh_stats SEC(".maps");

/* Health signals from instances' replies, per next hop (struct svc_nh_signals). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SVC_MAX_NEXTHOPS);
	__type(key, __u32);
	__type(value, struct svc_nh_signals);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nh_signals SEC(".maps");

/* DELAYed packets for the agent (struct svc_delay_event). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SVC_DELAY_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} delay_events SEC(".maps");

#endif /* SVC_BPF_ROUTER_MAPS_H */
