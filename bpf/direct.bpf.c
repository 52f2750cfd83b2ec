// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Direct path and flowID stamping: tc programs of client and instance hosts (svc_direct.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lib/consts.h"
#include "lib/stats.h"
#include "lib/parse.h"
#include "lib/csum.h"
#include "lib/optedit.h"
#include "lib/direct_maps.h"
#include "lib/optkey.h"
#include "../headers/svc_hash.h"

/* tc verdicts vmlinux.h has no #define for. */
#define TC_ACT_UNSPEC (-1) /* not ours: the next tc filter, or the default, decides */

/* svc_direct_inst_get - the address entry of instance @id, or NULL. */
static __always_inline struct svc_direct_inst *svc_direct_inst_get(__u32 id)
{
	struct svc_direct_inst *in;

	if (!id)
		return NULL;
	in = bpf_map_lookup_elem(&direct_inst, &id);
	if (!in || !(in->flags & SVC_DIRECT_INST_F_SET))
		return NULL;
	return in;
}

/* ------------------------------------------------------------------------ */
/* ingress (client host): learn the instance from the SYN-ACK                */
/* ------------------------------------------------------------------------ */

/*
 * svc_direct_learn - a SYN-ACK carrying a flowID option, or a TI-flow option
 * whose responder half names an instance, puts its connection on the direct
 * path. A flowID derived from a TIFID keeps the instance in its high 16 bits
 * and takes its low bits from the TIFID's two halves.
 */
static __always_inline enum svc_direct_reason svc_direct_learn(struct __sk_buff *skb,
							       struct svc_pkt *p)
{
	struct svc_optedit_scratch *s = svc_optedit_scratch();
	struct svc_direct_flow f = {};
	struct svc_flow_key k = {};
	__u32 hlen = p->l4_hlen, fid = 0, inst;
	__u64 tifid = 0;

	if (!s || (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != (TCP_FLAG_SYN | TCP_FLAG_ACK))
		return SVC_DR_RX_PASS;
	if (hlen <= SVC_TCPHDR_MIN || hlen > SVC_TCPHDR_MAX)
		return SVC_DR_RX_PASS;
	if (bpf_skb_load_bytes(skb, p->l4_off, s->old, SVC_BOUND1(hlen, SVC_TCPHDR_BUF)))
		return SVC_DR_RX_PASS;
	if (svc_optedit_find(s, hlen, &fid, &tifid) != SVC_OPTEDIT_OK)
		return SVC_DR_RX_BAD_OPT;
	if (fid) {
		f.source = SVC_DIRECT_SRC_FLOWID;
	} else if (svc_tifid_responder(tifid)) {
		f.source = SVC_DIRECT_SRC_TIFLOW;
		fid = svc_flowid_make(svc_tifid_instance(tifid),
				      ((svc_tifid_responder(tifid) & SVC_TIFID_RAND_MASK) << 8) |
					      (svc_tifid_initiator(tifid) & 0xff));
	} else {
		return SVC_DR_RX_PASS;
	}
	inst = svc_flowid_instance(fid);
	if (!svc_direct_inst_get(inst))
		return SVC_DR_RX_UNKNOWN_INST;
	/* The client's own direction: what its egress program will look up. */
	k.src = p->key.dst;
	k.dst = p->key.src;
	k.sport = p->key.dport;
	k.dport = p->key.sport;
	k.proto = IPPROTO_TCP;
	f.flowid = fid;
	f.instance = inst;
	f.learnt_ns = bpf_ktime_get_ns();
	/* A full LRU evicts the oldest connection: it only goes back through the router. */
	bpf_map_update_elem(&direct_flows, &k, &f, BPF_ANY);
	return f.source == SVC_DIRECT_SRC_FLOWID ? SVC_DR_RX_LEARN_FLOWID : SVC_DR_RX_LEARN_TIFLOW;
}

/* Client hosts: learns, from SYN-ACKs, which instance serves each connection. */
SEC("tc")
int svc_direct_ingress(struct __sk_buff *skb)
{
	struct svc_pkt p = {};
	enum svc_direct_reason r = SVC_DR_RX_PASS;
	__u32 len = skb->len;

	if (!svc_skb_parse(skb, &p) && p.key.proto == IPPROTO_TCP)
		r = svc_direct_learn(skb, &p);
	svc_count(&direct_stats, r, len);
	return TC_ACT_UNSPEC;
}

/* ------------------------------------------------------------------------ */
/* egress (instance host): stamp the flowID into SYN-ACKs of local services   */
/* ------------------------------------------------------------------------ */

static __always_inline enum svc_direct_reason svc_direct_stamp(struct __sk_buff *skb,
							       struct svc_pkt *p,
							       const struct svc_direct_cfg *cfg,
							       int *act)
{
	const struct svc_opt_key *k = svc_opt_key_get();
	struct svc_flow_key fk = {};
	__u8 opt[SVC_FLOWID_LEN];
	__u16 bits;
	__u32 fid;
	int r;

	if (!cfg->instance_id || !bpf_map_lookup_elem(&direct_local, &p->key.src))
		return SVC_DR_TX_PASS;
	/*
	 * The flow bits are the keyed check of the client -> service flow as a
	 * router keys it (headers/svc_optmac.h); without a deployment key they are
	 * random and no router trusts the flowID.
	 */
	bits = (__u16)bpf_get_prandom_u32();
	if (k) {
		fk.src = p->key.dst;
		fk.dst = p->key.src;
		fk.sport = p->key.dport;
		fk.dport = p->key.sport;
		fk.proto = p->key.proto;
		bits = svc_flowid_mac(k->k, &fk, cfg->instance_id);
	}
	fid = svc_flowid_make(cfg->instance_id, bits);
	svc_flowid_opt_put(opt, fid);
	/* A SYN-ACK is far below any MTU: only the 40 octets of option space can run out. */
	r = svc_skb_opt_insert(skb, p, opt, sizeof(opt), 0);
	if (r == SVC_OPTEDIT_OK)
		return SVC_DR_TX_STAMP;
	if (r == SVC_OPTEDIT_NO_ROOM)
		return SVC_DR_TX_STAMP_NO_ROOM;
	if (r == SVC_OPTEDIT_ERR) {
		*act = TC_ACT_SHOT;
		return SVC_DR_TX_DROP_EDIT;
	}
	return SVC_DR_TX_STAMP_SKIP;
}

/* ------------------------------------------------------------------------ */
/* egress (client host): send a learnt connection straight to its instance    */
/* ------------------------------------------------------------------------ */

/* Outer source of family @v6: configured, else the inner source when the families match. */
static __always_inline bool svc_direct_src(const struct svc_direct_cfg *cfg,
					   const struct svc_pkt *p, bool v6, struct svc_addr *src)
{
	bool inner6 = p->l3_proto == ETH_P_IPV6;

	if (v6 && (cfg->flags & SVC_DIRECT_CFG_F_SRC6)) {
		*src = cfg->src6;
		return true;
	}
	if (!v6 && (cfg->flags & SVC_DIRECT_CFG_F_SRC4)) {
		*src = cfg->src4;
		return true;
	}
	if (v6 != inner6)
		return false;
	*src = p->key.src;
	return true;
}

/*
 * svc_direct_fib - route the encapsulated packet from this device. @extra:
 * octets the option will add. Returns the bpf_fib_lookup() code. The lookup
 * is an output lookup on this device (a client host need not forward): an
 * instance whose route leaves by another device gets no result, and its
 * connection stays on the router path.
 */
static __always_inline int svc_direct_fib(struct __sk_buff *skb, const struct svc_pkt *p,
					  const struct svc_direct_inst *in,
					  const struct svc_addr *src, __u32 extra,
					  struct bpf_fib_lookup *fib)
{
	bool v6 = in->flags & SVC_DIRECT_INST_F_V6;
	bool gso = skb->gso_size != 0;

	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = skb->ifindex;
	fib->l4_protocol = p->l3_proto == ETH_P_IP ? IPPROTO_IPIP : IPPROTO_IPV6;
	if (v6) {
		fib->family = AF_INET6;
		__builtin_memcpy(fib->ipv6_src, src->b, 16);
		__builtin_memcpy(fib->ipv6_dst, in->addr.b, 16);
	} else {
		fib->family = AF_INET;
		fib->ipv4_src = src->w[3];
		fib->ipv4_dst = in->addr.w[3];
	}
	/* A GSO packet is checked by its segments (tot_len 0: the kernel's own test). */
	if (!gso)
		fib->tot_len = p->ip_len + (v6 ? IPV6_HLEN : IPV4_HLEN) + extra;
	return bpf_fib_lookup(skb, fib, sizeof(*fib), BPF_FIB_LOOKUP_OUTPUT);
}

/*
 * svc_direct_mtu - would the packet, @extra octets longer, fit this device's
 * MTU? (GSO packets are checked by their segments.) Returns a
 * BPF_FIB_LKUP_RET_* code: SUCCESS or FRAG_NEEDED.
 */
static __always_inline int svc_direct_mtu(struct __sk_buff *skb, const struct svc_pkt *p,
					  __u32 extra)
{
	__u32 len = skb->gso_size ? 0 : p->ip_len + extra;

	if (bpf_check_mtu(skb, 0, &len, skb->gso_size ? (__s32)extra : 0, 0))
		return BPF_FIB_LKUP_RET_FRAG_NEEDED;
	return BPF_FIB_LKUP_RET_SUCCESS;
}

/* svc_direct_outer - write the outer IP header after Ethernet (room already made). */
static __always_inline int svc_direct_outer(struct __sk_buff *skb, const struct svc_pkt *p,
					    const struct svc_direct_inst *in,
					    const struct svc_addr *src)
{
	__u8 proto = p->l3_proto == ETH_P_IP ? IPPROTO_IPIP : IPPROTO_IPV6;

	if (in->flags & SVC_DIRECT_INST_F_V6) {
		struct ipv6hdr o = {};
		__u32 label = svc_flow_hash(&p->key, 0) & 0xfffff;

		*(__be32 *)&o = bpf_htonl((6U << 28) | ((__u32)p->tclass << 20) | label);
		o.payload_len = bpf_htons(p->ip_len);
		o.nexthdr = proto;
		o.hop_limit = 64;
		__builtin_memcpy(o.saddr.in6_u.u6_addr8, src->b, 16);
		__builtin_memcpy(o.daddr.in6_u.u6_addr8, in->addr.b, 16);
		return bpf_skb_store_bytes(skb, sizeof(struct ethhdr), &o, sizeof(o), 0);
	}
	struct iphdr o = {};

	o.version = 4;
	o.ihl = 5;
	o.tos = p->tclass;
	o.tot_len = bpf_htons(p->ip_len + IPV4_HLEN);
	o.ttl = 64;
	o.protocol = proto;
	o.saddr = src->w[3];
	o.daddr = in->addr.w[3];
	o.check = svc_ip4_hdr_csum(&o);
	return bpf_skb_store_bytes(skb, sizeof(struct ethhdr), &o, sizeof(o), 0);
}

/* svc_direct_insert - the flowID option, if it fits; the reason to count if the packet goes on. */
static __always_inline enum svc_direct_reason svc_direct_insert(struct __sk_buff *skb,
								struct svc_pkt *p, __u32 flowid,
								int *act)
{
	__u8 opt[SVC_FLOWID_LEN];
	int r;

	svc_flowid_opt_put(opt, flowid);
	r = svc_skb_opt_insert(skb, p, opt, sizeof(opt), 0);
	if (r == SVC_OPTEDIT_OK)
		return SVC_DR_TX_DIRECT;
	if (r == SVC_OPTEDIT_NO_ROOM)
		return SVC_DR_TX_DIRECT_NO_ROOM;
	if (r == SVC_OPTEDIT_ERR) {
		*act = TC_ACT_SHOT;
		return SVC_DR_TX_DROP_EDIT;
	}
	return SVC_DR_TX_DIRECT_NO_OPT;
}

/*
 * svc_direct_xmit - Ethernet header for the outer family and the FIB's MACs,
 * then out of this device, or redirected to the FIB's. Without a resolved
 * neighbour, or without a FIB answer on a host that does not forward, the
 * kernel routes the encapsulated packet and fills in the MACs
 * (bpf_redirect_neigh).
 */
static __always_inline enum svc_direct_reason svc_direct_xmit(struct __sk_buff *skb,
							      const struct bpf_fib_lookup *fib,
							      int rc, bool v6,
							      enum svc_direct_reason reason,
							      int *act)
{
	struct ethhdr eth;

	__builtin_memcpy(eth.h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth.h_source, fib->smac, ETH_ALEN);
	eth.h_proto = bpf_htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH || rc == BPF_FIB_LKUP_RET_FWD_DISABLED) {
		if (bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &eth.h_proto,
					sizeof(eth.h_proto), 0))
			goto fail;
		*act = bpf_redirect_neigh(fib->ifindex, NULL, 0, 0);
		return reason;
	}
	if (bpf_skb_store_bytes(skb, 0, &eth, sizeof(eth), 0))
		goto fail;
	*act = fib->ifindex == skb->ifindex ? TC_ACT_OK : bpf_redirect(fib->ifindex, 0);
	return reason;
fail:
	*act = TC_ACT_SHOT;
	return SVC_DR_TX_DROP_EDIT;
}

/*
 * svc_direct_send - encapsulate the packet to the instance's host and send it
 * from here with the MACs the FIB gives (or let the kernel resolve the
 * neighbour). The inner packet is unchanged but for the inserted option, so
 * the client's socket keeps talking to the VIP.
 */
static __always_inline enum svc_direct_reason svc_direct_send(struct __sk_buff *skb,
							      struct svc_pkt *p,
							      const struct svc_direct_cfg *cfg,
							      const struct svc_direct_flow *f,
							      int *act)
{
	struct svc_direct_inst *in = svc_direct_inst_get(f->instance);
	bool want_opt = !skb->gso_size && !(cfg->flags & SVC_DIRECT_CFG_F_NO_OPT);
	enum svc_direct_reason reason = SVC_DR_TX_DIRECT_NO_OPT;
	struct bpf_fib_lookup fib;
	struct svc_addr src;
	__u64 flags;
	__u32 outer;
	int rc;

	if (!in)
		return SVC_DR_TX_NO_INST;
	if (!svc_direct_src(cfg, p, in->flags & SVC_DIRECT_INST_F_V6, &src))
		return SVC_DR_TX_NO_SRC;
	if (skb->gso_size)
		reason = SVC_DR_TX_DIRECT_GSO;
	outer = in->flags & SVC_DIRECT_INST_F_V6 ? IPV6_HLEN : IPV4_HLEN;
	rc = svc_direct_fib(skb, p, in, &src, want_opt ? SVC_FLOWID_LEN : 0, &fib);
	if (rc == BPF_FIB_LKUP_RET_FWD_DISABLED) {
		/*
		 * This host does not forward (a plain client): bpf_fib_lookup()
		 * refuses, so check the device MTU here and let the kernel route
		 * and resolve the neighbour of the encapsulated packet.
		 */
		rc = svc_direct_mtu(skb, p, outer + (want_opt ? SVC_FLOWID_LEN : 0));
		if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED && want_opt) {
			want_opt = false;
			reason = SVC_DR_TX_DIRECT_NO_ROOM;
			rc = svc_direct_mtu(skb, p, outer);
		}
		if (rc != BPF_FIB_LKUP_RET_SUCCESS)
			return SVC_DR_TX_FIB;
		rc = BPF_FIB_LKUP_RET_FWD_DISABLED;
		fib.ifindex = skb->ifindex;
	} else if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED && want_opt) {
		/* No room for the option under the MTU: the packet itself may still fit. */
		want_opt = false;
		reason = SVC_DR_TX_DIRECT_NO_ROOM;
		rc = svc_direct_fib(skb, p, in, &src, 0, &fib);
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH &&
	    rc != BPF_FIB_LKUP_RET_FWD_DISABLED)
		return SVC_DR_TX_FIB;
	if (want_opt) {
		reason = svc_direct_insert(skb, p, f->flowid, act);
		if (reason == SVC_DR_TX_DROP_EDIT)
			return reason;
	}
	flags = in->flags & SVC_DIRECT_INST_F_V6 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV6
						 : BPF_F_ADJ_ROOM_ENCAP_L3_IPV4;
	/* Room after Ethernet; GSO state learns the tunnel, csum_start keeps pointing at TCP. */
	if (bpf_skb_adjust_room(skb, outer, BPF_ADJ_ROOM_MAC, flags))
		return SVC_DR_TX_ENCAP_FAIL;
	if (svc_direct_outer(skb, p, in, &src)) {
		*act = TC_ACT_SHOT;
		return SVC_DR_TX_DROP_EDIT;
	}
	return svc_direct_xmit(skb, &fib, rc, in->flags & SVC_DIRECT_INST_F_V6, reason, act);
}

static __always_inline enum svc_direct_reason svc_direct_tx(struct __sk_buff *skb,
							    struct svc_pkt *p, int *act)
{
	struct svc_direct_cfg *cfg;
	struct svc_direct_flow *f;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&direct_cfg, &zero);
	if (!cfg)
		return SVC_DR_TX_PASS;
	if (svc_skb_parse(skb, p) || p->key.proto != IPPROTO_TCP) {
		/*
		 * A packet sent with bpf_redirect_neigh() passes this hook again,
		 * encapsulated: count it apart from the traffic we let by.
		 */
		if (p->key.proto == IPPROTO_IPIP || p->key.proto == IPPROTO_IPV6)
			return SVC_DR_TX_TUNNEL;
		return SVC_DR_TX_PASS;
	}
	if ((p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == (TCP_FLAG_SYN | TCP_FLAG_ACK))
		return svc_direct_stamp(skb, p, cfg, act);
	if (p->tcp_flags & TCP_FLAG_SYN) {
		/* A new connection on this 5-tuple: the router resolves it afresh. */
		bpf_map_delete_elem(&direct_flows, &p->key);
		return SVC_DR_TX_SYN;
	}
	f = bpf_map_lookup_elem(&direct_flows, &p->key);
	if (!f)
		return SVC_DR_TX_PASS;
	/* VLAN tags in the frame: not handled, the router path still works. */
	if (p->l3_off != sizeof(struct ethhdr))
		return SVC_DR_TX_PASS;
	return svc_direct_send(skb, p, cfg, f, act);
}

/*
 * Client and instance hosts: sends learnt connections straight to their
 * instance; stamps the flowID into SYN-ACKs of this host's services.
 */
SEC("tc")
int svc_direct_egress(struct __sk_buff *skb)
{
	struct svc_pkt p = {};
	enum svc_direct_reason r;
	__u32 len = skb->len;
	int act = TC_ACT_UNSPEC;

	r = svc_direct_tx(skb, &p, &act);
	svc_count(&direct_stats, r, len);
	return act;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
