// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Service router: XDP entry point. Contract: docs/datapath.md. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lib/consts.h"
#include "lib/stats.h"
#include "lib/router_maps.h"
#include "lib/parse.h"
#include "lib/lb.h"
#include "lib/encap.h"
#include "lib/delay.h"
#include "lib/tcpopt.h"
#include "lib/reset.h"
#include "lib/optedit.h"
#include "lib/mtu.h"
#include "lib/optpolicy.h"

/*
 * svc_signal - health signals in return traffic, which is for no service: a
 * RST+ACK with sequence 0 (how a stack refuses a SYN) or an ICMP
 * destination-unreachable about a client's flow. The reversed key is the
 * client's flow; its next hop's instance sent the reply.
 */
static __always_inline void svc_signal(const struct svc_pkt *p)
{
	struct svc_nh_signals *sig;
	struct svc_flow_key rev;
	struct svc_flow *f;
	bool refused;

	refused = p->key.proto == IPPROTO_TCP && !p->is_icmp && p->seq_zero &&
		  (p->tcp_flags & (TCP_FLAG_RST | TCP_FLAG_ACK)) == (TCP_FLAG_RST | TCP_FLAG_ACK);
	if (!refused && !p->icmp_unreach)
		return;
	__builtin_memset(&rev, 0, sizeof(rev));
	rev.src = p->key.dst;
	rev.dst = p->key.src;
	rev.sport = p->key.dport;
	rev.dport = p->key.sport;
	rev.proto = p->key.proto;
	f = bpf_map_lookup_elem(&flows, &rev);
	if (!f)
		return;
	sig = bpf_map_lookup_elem(&nh_signals, &f->nh_id);
	if (!sig)
		return;
	if (refused)
		sig->syn_rst++;
	else
		sig->icmp_unreach++;
}

/* Tail-call slots of the router. */
enum svc_tail { SVC_TAIL_STRIP = 0, SVC_TAIL_MAX };

/*
 * A tail call made from a subprogram (svc_forward) returns, when the stage
 * exits, to the subprogram's caller. The stage marks its verdict with this bit
 * so that the entry point knows the packet is counted already.
 */
#define SVC_STAGE_DONE 0x100

/*
 * A flow-table hit hands its next hop to svc_forward unchecked (SVC_FWD_IF_UP
 * in ok_reason), so the entry is read once: svc_forward returns
 * SVC_FWD_NH_DOWN or SVC_FWD_NH_RESET (not verdicts) when the next hop is not
 * up, and the caller goes on as on a miss.
 */
#define SVC_FWD_IF_UP 0x10000
#define SVC_FWD_NH_DOWN 0x200
#define SVC_FWD_NH_RESET 0x201

/*
 * The hash passed with ok_reason is the flow's (svc_flow_hash); without it
 * svc_xmit computes it, and only for an IPv6 next hop (the outer flow label):
 * a flow-table hit toward an IPv4 next hop hashes nothing (40 bytes of jhash
 * cost ~16 ns). Not cached in struct svc_pkt: 8 more bytes there took the
 * router's stack to 232, and Linux 6.1 refuses svc_forward's tail call below
 * a frame over 224 ("call stack of previous frames is 256 bytes").
 */
#define SVC_FWD_HASHED 0x20000
#define SVC_FWD_REASON 0xffff

/* What the router hands to a tail-called stage (per CPU: XDP runs to completion on one CPU). */
struct svc_fwd_ctx {
	struct svc_pkt p;
	__u32 nh_id;
	__u32 hash;
	__u32 ok; /* enum svc_reason on success, SVC_FWD_HASHED */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct svc_fwd_ctx);
} fwd_scratch SEC(".maps");

SEC("xdp") int svc_router_strip_xdp(struct xdp_md *ctx);

/*
 * Stages the router tail-calls. Option stripping runs as its own program: the
 * verifier checks it apart from the router's many paths (inlined, the two
 * passed its 1M-instruction budget on Linux 6.18 with clang-14). Not pinned:
 * each loaded router has its own, filled by libbpf at load.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, SVC_TAIL_MAX);
	/* Sizes, not BTF types: the kernel takes no BTF value type for a program array. */
	__uint(key_size, sizeof(__u32));
	__array(values, int(struct xdp_md *));
} router_tail SEC(".maps") = {
	.values = { [SVC_TAIL_STRIP] = (void *)&svc_router_strip_xdp },
};

/*
 * svc_xmit - encapsulate toward next hop @nh_id (@nh: its entry, looked up by
 * the caller). @ok: the reason on success, with SVC_FWD_HASHED when @hash is
 * set (see above).
 */
static __always_inline int svc_xmit(struct xdp_md *ctx, struct svc_pkt *p, __u32 nh_id,
				    const struct svc_nexthop *nh, __u32 hash, __u32 ok)
{
	enum svc_reason ok_reason = ok & SVC_FWD_REASON;
	struct svc_router_cfg *cfg;
	__u32 zero = 0;
	int act;

	cfg = bpf_map_lookup_elem(&router_cfg, &zero);
	if (!nh || !cfg)
		return svc_verdict(p, SVC_R_DROP_NO_NEXTHOP, XDP_DROP);
	if ((nh->flags & SVC_NH_F_V6) && !(ok & SVC_FWD_HASHED))
		hash = svc_flow_hash(&p->key, ch_seed);
	act = svc_encap_xmit(ctx, p, nh_id, nh, cfg, hash, ok_reason);
	/* XDP_TX is also an ICMP too-big reply, which the next hop never sees. */
	if ((act == XDP_TX || act == XDP_REDIRECT) && p->reason == ok_reason) {
		svc_count(&nh_stats, nh_id, p->len);
		svc_mss_fit_fwd(ctx, p, nh_id, nh->flags & SVC_NH_F_V6);
	}
	return act;
}

/*
 * svc_forward - send the packet to next hop @nh_id (already known to be up,
 * or checked here with SVC_FWD_IF_UP: see above). A TCP packet with options
 * for an instance host without svcplane (SVC_NH_F_STRIP_OPTS) goes through
 * the strip stage first.
 *
 * A global function: the verifier checks it once, not once per routing
 * decision that reaches it (four of them, each with many paths).
 */
__noinline int svc_forward(struct xdp_md *ctx, struct svc_pkt *p, __u32 nh_id, __u32 hash,
			   __u32 ok_reason)
{
	struct svc_fwd_ctx *fc;
	struct svc_nexthop *nh;
	__u32 zero = 0;

	if (!ctx || !p)
		return XDP_ABORTED;

	nh = bpf_map_lookup_elem(&nexthops, &nh_id);
	if (ok_reason & SVC_FWD_IF_UP) {
		if (!nh || !(nh->flags & SVC_NH_F_UP))
			return nh && (nh->flags & SVC_NH_F_RESET) ? SVC_FWD_NH_RESET
								  : SVC_FWD_NH_DOWN;
		ok_reason &= ~SVC_FWD_IF_UP;
	}
	if (nh && (nh->flags & SVC_NH_F_STRIP_OPTS) && p->l4_hlen > SVC_TCPHDR_MIN && !p->is_icmp) {
		fc = bpf_map_lookup_elem(&fwd_scratch, &zero);
		if (fc) {
			fc->p = *p;
			fc->nh_id = nh_id;
			fc->hash = hash;
			fc->ok = ok_reason;
			bpf_tail_call(ctx, &router_tail, SVC_TAIL_STRIP);
		}
		/* No stage loaded: strip or drop, never forward the options. */
		return svc_verdict(p, SVC_R_DROP_NOT_STRIPPED, XDP_DROP);
	}
	return svc_xmit(ctx, p, nh_id, nh, hash, ok_reason);
}

/* svc_resolve - a packet with no usable flow entry: service table, then its rule. */
static __always_inline int svc_resolve(struct xdp_md *ctx, struct svc_pkt *p,
				       const struct svc_sid *sid)
{
	struct svc_lpm_key lk = { .prefixlen = 128 };
	struct svc_rule *rule;
	enum svc_reason ok;
	__u32 nh_id, hash;

	lk.sid = *sid;
	rule = bpf_map_lookup_elem(&service_table, &lk);
	if (!rule)
		return svc_verdict(p, p->is_icmp ? SVC_R_PASS_ICMP_OTHER : SVC_R_DROP_NO_RULE,
				   p->is_icmp ? XDP_PASS : XDP_DROP);
	svc_count(&rule_stats, rule->rule_id, p->len);
	if (rule->action != SVC_ACT_FORWARD && p->is_icmp)
		return svc_verdict(p, SVC_R_PASS_ICMP_OTHER, XDP_PASS);
	switch (rule->action) {
	case SVC_ACT_FORWARD:
		break;
	case SVC_ACT_DEMUX:
		return svc_verdict(p, SVC_R_DEMUX, XDP_PASS);
	case SVC_ACT_DELAY:
		return svc_delay(ctx, p, sid, rule->rule_id);
	default:
		return svc_verdict(p, SVC_R_DROP_RULE, XDP_DROP);
	}
	hash = svc_flow_hash(&p->key, ch_seed);
	nh_id = svc_ch_pick(rule->set_id, hash);
	if (!nh_id)
		return svc_verdict(p, SVC_R_DROP_NO_NEXTHOP, XDP_DROP);
	if (p->is_icmp) {
		ok = SVC_R_FWD_ICMP;
	} else {
		if (svc_flood_admit(p))
			svc_flow_record(p, nh_id, rule->rule_id);
		ok = svc_is_new_flow(p) ? SVC_R_FWD_NEW : SVC_R_FWD_CH_MISS;
	}
	return svc_forward(ctx, p, nh_id, hash, ok | SVC_FWD_HASHED);
}

/*
 * svc_route_by_option - stateless routing by an instance named in the packet:
 * a resumed SYN's completed TIFID, or a flowID, inside policy (optpolicy.h).
 * Returns SVC_CONTINUE when there is none, or it is forged (ev_opt_forged),
 * outside its service's rule (ev_opt_policy), or names an instance that is
 * unknown or down (ev_stale_instance).
 */
static __always_inline int svc_route_by_option(struct xdp_md *ctx, struct svc_pkt *p,
					       const struct svc_sid *sid)
{
	__u16 instance = 0;
	__u32 rule_id = 0;
	__u64 id = 0;
	int r;

	r = svc_tcp_instance(ctx, p, &instance, &id);
	if (r == SVC_OPT_NONE)
		return SVC_CONTINUE;
	if (!svc_opt_id_genuine(p, r, id, instance)) {
		svc_count(&router_stats, SVC_R_EV_OPT_FORGED, p->len);
		return SVC_CONTINUE;
	}
	if (!svc_opt_in_policy(p, sid, instance, &rule_id)) {
		svc_count(&router_stats, SVC_R_EV_OPT_POLICY, p->len);
		return SVC_CONTINUE;
	}
	if (!svc_nexthop_up(instance)) {
		svc_count(&router_stats, SVC_R_EV_STALE_INSTANCE, p->len);
		return SVC_CONTINUE;
	}
	if (r == SVC_OPT_RESUME) {
		svc_flow_record(p, instance, rule_id);
		svc_resumed_record(p, instance, rule_id);
		return svc_forward(ctx, p, instance, 0, SVC_R_FWD_RESUME);
	}
	return svc_forward(ctx, p, instance, 0, SVC_R_FWD_FLOWID);
}

/*
 * svc_flow_forward - a flows hit whose next hop is up: forward to it
 * (fwd_flow_hit; an ICMP error, fwd_icmp) and refresh the entry's stamp when
 * it is over SVC_FLOW_REFRESH_NS old (a coarse clock read, no write
 * otherwise). Returns SVC_CONTINUE on a miss or when the next hop is not up,
 * with *reset set when it is dead or shed (SVC_NH_F_RESET).
 */
static __always_inline int svc_flow_forward(struct xdp_md *ctx, struct svc_pkt *p, bool *reset)
{
	struct svc_flow *f;
	__u64 now;
	int act;

	f = bpf_map_lookup_elem(&flows, &p->key);
	if (!f)
		return SVC_CONTINUE;
	act = svc_forward(ctx, p, f->nh_id, 0,
			  (p->is_icmp ? SVC_R_FWD_ICMP : SVC_R_FWD_FLOW_HIT) | SVC_FWD_IF_UP);
	if (act == SVC_FWD_NH_DOWN || act == SVC_FWD_NH_RESET) {
		*reset = act == SVC_FWD_NH_RESET;
		return SVC_CONTINUE;
	}
	if (!p->is_icmp) {
		now = svc_flow_now();
		/* Signed: a stamp ahead of the coarse clock (written with a finer one) is fresh. */
		if ((__s64)(now - f->last_seen_ns) > (__s64)SVC_FLOW_REFRESH_NS)
			f->last_seen_ns = now;
	}
	return act;
}

static __always_inline int svc_route(struct xdp_md *ctx, struct svc_pkt *p)
{
	struct svc_sid sid;
	__u32 nh_id;
	bool reset = false;
	int ret;

	ret = svc_parse(ctx, p);
	if (ret != SVC_CONTINUE)
		return ret;
	if (svc_lookup_service(p, &sid)) {
		svc_signal(p);
		svc_mss_return(ctx, p);
		return svc_verdict(p, p->is_icmp ? SVC_R_PASS_ICMP_OTHER : SVC_R_PASS_NO_SERVICE,
				   XDP_PASS);
	}
	if (p->l4_hlen > SVC_TCPHDR_MIN && !p->is_icmp) {
		ret = svc_route_by_option(ctx, p, &sid);
		if (ret != SVC_CONTINUE)
			return ret;
	}
	/*
	 * A bare SYN opens a new connection: it is resolved by the rule even if an
	 * old flow with the same 5-tuple (a reused client port) is still in the
	 * table, so that a draining or dead instance never gets new connections.
	 */
	if (p->key.proto == IPPROTO_TCP && !p->is_icmp && svc_is_new_flow(p)) {
		svc_resumed_forget(p);
		return svc_resolve(ctx, p, &sid);
	}
	ret = svc_flow_forward(ctx, p, &reset);
	if (ret != SVC_CONTINUE)
		return ret;
	nh_id = 0;
	if (!reset && p->key.proto == IPPROTO_TCP) {
		nh_id = svc_resumed_lookup(p, &reset);
		if (nh_id && !p->is_icmp)
			return svc_forward(ctx, p, nh_id, 0, SVC_R_FWD_RESUMED_HIT);
	}
	if (reset && p->key.proto == IPPROTO_TCP && !p->is_icmp)
		return svc_reset_reply(ctx, p);
	if (nh_id)
		return svc_forward(ctx, p, nh_id, 0, SVC_R_FWD_ICMP);
	return svc_resolve(ctx, p, &sid);
}

/* The service router, for any NIC: resolves service traffic, passes everything else. */
SEC("xdp")
int svc_router_xdp(struct xdp_md *ctx)
{
	struct svc_pkt p = {};
	int act;

	p.len = ctx->data_end - ctx->data;
	act = svc_route(ctx, &p);
	if (act & SVC_STAGE_DONE)
		return act & ~SVC_STAGE_DONE;
	svc_count(&router_stats, p.reason, p.len);
	return act;
}

/*
 * Strip stage (tail call from svc_forward): removes svcplane's options from a
 * TCP packet bound for an instance host without svcplane, then forwards it.
 * Counts the packet's verdict itself, since a tail call does not return.
 */
SEC("xdp")
int svc_router_strip_xdp(struct xdp_md *ctx)
{
	struct svc_fwd_ctx *fc;
	struct svc_nexthop *nh;
	struct svc_pkt p;
	__u32 zero = 0, in_len;
	int act, r;

	fc = bpf_map_lookup_elem(&fwd_scratch, &zero);
	if (!fc)
		return XDP_DROP;
	p = fc->p;
	in_len = p.len; /* counters count the frame as it arrived */
	r = svc_xdp_opt_strip_svc(ctx, &p);
	if (r == SVC_OPTEDIT_ERR) {
		act = svc_verdict(&p, SVC_R_DROP_OPTEDIT, XDP_DROP);
	} else if (r != SVC_OPTEDIT_OK && r != SVC_OPTEDIT_NONE) {
		/* Malformed options, or headers past what the stage can edit: strip or drop. */
		act = svc_verdict(&p, SVC_R_DROP_NOT_STRIPPED, XDP_DROP);
	} else {
		/* NONE: options, but none of svcplane's (e.g. timestamps): no event. */
		if (r == SVC_OPTEDIT_OK)
			svc_count(&router_stats, SVC_R_EV_OPT_STRIPPED, in_len);
		nh = bpf_map_lookup_elem(&nexthops, &fc->nh_id);
		act = svc_xmit(ctx, &p, fc->nh_id, nh, fc->hash, fc->ok);
	}
	svc_count(&router_stats, p.reason, in_len);
	return act | SVC_STAGE_DONE;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
