/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Service resolution: binding -> serviceID -> rule -> next hop, with flow affinity. */
#ifndef SVC_BPF_LB_H
#define SVC_BPF_LB_H

#include "parse.h"
#include "stats.h"
#include "router_maps.h"
#include "../../headers/svc_hash.h"

/* Flow-hash seed; set by the agent before load, the same on every router of a deployment. */
const volatile __u32 ch_seed = 0;

/* A flow entry's timestamp is refreshed at most this often (a map write per packet costs). */
#define SVC_FLOW_REFRESH_NS 1000000000ULL

/*
 * svc_flow_now - the clock of flow timestamps (svc_flow.last_seen_ns):
 * CLOCK_MONOTONIC_COARSE. The agent ages flows in seconds against
 * CLOCK_MONOTONIC, which the coarse clock trails by at most one tick; the
 * precise clock cost ~25 ns per established packet (docs/performance.md).
 */
static __always_inline __u64 svc_flow_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

/**
 * svc_lookup_service - the serviceID a packet is for
 *
 * A binding {dst, dport, proto}, then {dst, 0, proto}; for IPv6 with no
 * binding, the destination itself when it lies in a configured sid prefix
 * (for an ICMP error, p->key is the quoted flow, so the same holds).
 * Returns 0 with @sid set, or -1 when the packet is for no service.
 */
static __always_inline int svc_lookup_service(const struct svc_pkt *p, struct svc_sid *sid)
{
	struct svc_binding_key bk = {};
	struct svc_lpm_key lk;
	struct svc_binding *b;

	bk.vip = p->key.dst;
	bk.port = p->key.dport;
	bk.proto = p->key.proto;
	b = bpf_map_lookup_elem(&bindings, &bk);
	if (!b) {
		bk.port = 0;
		b = bpf_map_lookup_elem(&bindings, &bk);
	}
	if (b) {
		*sid = b->sid;
		return 0;
	}
	if (p->l3_proto != ETH_P_IPV6)
		return -1;
	lk.prefixlen = 128;
	__builtin_memcpy(lk.sid.b, p->key.dst.b, 16);
	if (!bpf_map_lookup_elem(&sid_prefixes, &lk))
		return -1;
	__builtin_memcpy(sid->b, p->key.dst.b, 16);
	return 0;
}

/* svc_nexthop_up - next hop @id if it exists and is up, else NULL. */
static __always_inline struct svc_nexthop *svc_nexthop_up(__u32 id)
{
	struct svc_nexthop *nh;

	if (!id)
		return NULL;
	nh = bpf_map_lookup_elem(&nexthops, &id);
	if (!nh || !(nh->flags & SVC_NH_F_UP))
		return NULL;
	return nh;
}

/* svc_ch_pick - the next hop the consistent-hash table of @set_id gives this flow (0: none). */
static __always_inline __u32 svc_ch_pick(__u32 set_id, __u32 hash)
{
	__u32 slot = svc_ch_slot(hash);
	void *table;
	__u32 *id;

	table = bpf_map_lookup_elem(&ch_tables, &set_id);
	if (!table)
		return 0;
	id = bpf_map_lookup_elem(table, &slot);
	if (!id || !svc_nexthop_up(*id))
		return 0;
	return *id;
}

/* svc_flow_record - remember which next hop serves this flow. */
static __always_inline void svc_flow_record(const struct svc_pkt *p, __u32 nh_id, __u32 rule_id)
{
	struct svc_flow f = {
		.nh_id = nh_id,
		.rule_id = rule_id,
		.last_seen_ns = svc_flow_now(),
	};

	/* A full LRU evicts the oldest flow; failure only costs affinity, never the packet. */
	bpf_map_update_elem(&flows, &p->key, &f, BPF_ANY);
}

/* svc_is_new_flow - a TCP SYN (without ACK) or any UDP packet. */
static __always_inline bool svc_is_new_flow(const struct svc_pkt *p)
{
	if (p->key.proto == IPPROTO_UDP)
		return true;
	return (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

/**
 * svc_flood_admit - may the flow of this resolved packet be recorded?
 *
 * The flood guard (docs/datapath.md, "Flood guard"): a bare TCP SYN is
 * recorded only while this CPU's inserts in the current window stay within
 * router_cfg's flood_insert_rate; above it the SYN is still forwarded (by the
 * consistent hash) but not recorded, and counted ev_flood_noinsert. Its
 * connection's next packet misses the table and is resolved by the same rule
 * and hash. Other packets (UDP, a TCP packet the table lost) are always
 * recorded, and nothing in the table is touched. Rate 0: off. Costs one
 * coarse clock read per SYN, only with the guard on.
 */
static __always_inline bool svc_flood_admit(const struct svc_pkt *p)
{
	struct svc_router_cfg *cfg;
	struct svc_flood_state *st;
	__u32 zero = 0;
	__u64 now;

	if (p->key.proto != IPPROTO_TCP || !svc_is_new_flow(p))
		return true;
	cfg = bpf_map_lookup_elem(&router_cfg, &zero);
	st = bpf_map_lookup_elem(&flood_state, &zero);
	if (!cfg || !cfg->flood_insert_rate || !st)
		return true;
	now = bpf_ktime_get_coarse_ns();
	/* Signed: a window start in the future (a test sets one) keeps the window open. */
	if ((__s64)(now - st->window_ns) >= (__s64)SVC_FLOOD_WINDOW_NS) {
		st->window_ns = now;
		st->inserts = 0;
	}
	if (st->inserts < cfg->flood_insert_rate) {
		st->inserts++;
		return true;
	}
	st->last_skip_ns = now;
	svc_count(&router_stats, SVC_R_EV_FLOOD_NOINSERT, p->len);
	return false;
}

#endif /* SVC_BPF_LB_H */
