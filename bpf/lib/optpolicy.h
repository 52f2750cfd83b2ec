/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Option routing inside policy (docs/datapath.md, step 0): a flowID or a
 * resumed SYN's TIFID may pick the instance only when (1) the id passes the
 * keyed check under the deployment key and (2) the instance is a member of
 * the FORWARD set of the rule that resolves the packet's service, or is the
 * next hop the flow table already holds for this flow (which only a policy
 * decision writes). Anything else: the option is ignored and counted, the
 * packet is routed as if it had none.
 */
#ifndef SVC_BPF_OPTPOLICY_H
#define SVC_BPF_OPTPOLICY_H

#include "lb.h"
#include "optkey.h"

/* Which next hops belong to which set (written by the agent with each set's table). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SVC_MAX_SET_MEMBERS);
	__type(key, struct svc_set_member_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} set_members SEC(".maps");

/* Connections opened by a resumed SYN (headers/svc_optmac.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVC_MAX_RESUMED_FLOWS);
	__type(key, struct svc_flow_key);
	__type(value, struct svc_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} resumed_flows SEC(".maps");

/* svc_resumed_record - remember a resumed connection's instance apart from flows. */
static __always_inline void svc_resumed_record(const struct svc_pkt *p, __u32 nh_id, __u32 rule_id)
{
	struct svc_flow f = {
		.nh_id = nh_id,
		.rule_id = rule_id,
		.last_seen_ns = svc_flow_now(),
	};

	bpf_map_update_elem(&resumed_flows, &p->key, &f, BPF_ANY);
}

/* svc_resumed_forget - a bare SYN opens a new connection on this 5-tuple: not a resumed one. */
static __always_inline void svc_resumed_forget(const struct svc_pkt *p)
{
	bpf_map_delete_elem(&resumed_flows, &p->key);
}

/*
 * svc_resumed_lookup - the instance of a resumed connection whose flows entry
 * is gone (0: none, or not up; *reset set when it is dead or shed, as for a
 * flows hit in router.bpf.c). Written back to flows, so the next packet hits
 * there.
 */
static __always_inline __u32 svc_resumed_lookup(const struct svc_pkt *p, bool *reset)
{
	struct svc_nexthop *nh;
	struct svc_flow *f;

	f = bpf_map_lookup_elem(&resumed_flows, &p->key);
	if (!f)
		return 0;
	nh = bpf_map_lookup_elem(&nexthops, &f->nh_id);
	if (!nh || !(nh->flags & SVC_NH_F_UP)) {
		*reset = nh && (nh->flags & SVC_NH_F_RESET);
		return 0;
	}
	if (!p->is_icmp)
		svc_flow_record(p, f->nh_id, f->rule_id);
	return f->nh_id;
}

/**
 * svc_opt_id_genuine - the id of an option naming @instance passes the keyed check
 * @route: SVC_OPT_RESUME (@id: the 48-bit TIFID) or SVC_OPT_FLOWID (@id: the flowID)
 */
static __always_inline bool svc_opt_id_genuine(const struct svc_pkt *p, int route, __u64 id,
					       __u16 instance)
{
	const struct svc_opt_key *k = svc_opt_key_get();

	if (!k)
		return false;
	if (route == SVC_OPT_RESUME)
		return (svc_tifid_responder(id) & SVC_TIFID_RAND_MASK) ==
		       svc_tifid_mac(k->k, svc_tifid_initiator(id), instance);
	return (id & SVC_FLOWID_FLOW_MASK) == svc_flowid_mac(k->k, &p->key, instance);
}

/**
 * svc_opt_in_policy - may the packet of service @sid go to @instance?
 * @rule_id: out: the id of the rule that allows it, or of the flow entry that does
 */
static __always_inline bool svc_opt_in_policy(const struct svc_pkt *p, const struct svc_sid *sid,
					      __u16 instance, __u32 *rule_id)
{
	struct svc_lpm_key lk = { .prefixlen = 128 };
	struct svc_set_member_key mk;
	struct svc_rule *rule;
	struct svc_flow *f;

	lk.sid = *sid;
	rule = bpf_map_lookup_elem(&service_table, &lk);
	if (rule && rule->action == SVC_ACT_FORWARD) {
		mk.set_id = rule->set_id;
		mk.nh_id = instance;
		if (bpf_map_lookup_elem(&set_members, &mk)) {
			*rule_id = rule->rule_id;
			return true;
		}
	}
	f = bpf_map_lookup_elem(&flows, &p->key);
	if (f && f->nh_id == instance) {
		*rule_id = f->rule_id;
		return true;
	}
	return false;
}

#endif /* SVC_BPF_OPTPOLICY_H */
