/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* svcplane ABI: BPF map keys and values, shared by the BPF programs and userspace. */
#ifndef SVC_ABI_H
#define SVC_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Sizes. Each map's max_entries; userspace may override the flow table and
 * service table sizes before load (svc_dp_config).
 */
#ifndef SVC_MAX_BINDINGS
#define SVC_MAX_BINDINGS 65536
#endif
#ifndef SVC_MAX_RULES
#define SVC_MAX_RULES 65536 /* service-table prefixes (LPM trie, not preallocated) */
#endif
#ifndef SVC_MAX_NEXTHOPS
#define SVC_MAX_NEXTHOPS 65536 /* next-hop ids 0..SVC_MAX_NEXTHOPS-1; id 0 is never used */
#endif
#ifndef SVC_MAX_SETS
#define SVC_MAX_SETS 4096 /* next-hop set ids 0..SVC_MAX_SETS-1 */
#endif
#ifndef SVC_MAX_RULE_IDS
#define SVC_MAX_RULE_IDS 65536 /* rule ids index the per-rule counters */
#endif
#ifndef SVC_MAX_FLOWS
#define SVC_MAX_FLOWS 262144 /* flow table (LRU) default */
#endif
#ifndef SVC_MAX_DECAP_SOURCES
#define SVC_MAX_DECAP_SOURCES 1024
#endif
/* Consistent-hash table size per next-hop set: a prime, as Maglev requires. */
#define SVC_CH_SIZE 65537
/* Bytes of a DELAYed packet copied into its ring-buffer event. */
#define SVC_DELAY_CAP 256
#define SVC_DELAY_RING_BYTES (256 * 1024)

/*
 * An IPv4 or IPv6 address in network byte order. IPv4 addresses are stored
 * v4-mapped (::ffff:a.b.c.d) so that one key layout serves both families.
 */
struct svc_addr {
	union {
		__u8 b[16];
		__be32 w[4];
	};
};

/* A 128-bit serviceID, written like an IPv6 address. */
struct svc_sid {
	union {
		__u8 b[16];
		__be32 w[4];
	};
};

/* bindings: how a legacy client reaches a service, VIP:port/proto -> serviceID. */
struct svc_binding_key {
	struct svc_addr vip;
	__be16 port; /* network order; 0 = any port of this VIP and proto */
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;    /* must be zero */
};

struct svc_binding {
	struct svc_sid sid; /* serviceID looked up in the service table */
	__u32 flags;	    /* reserved, zero */
};

/* Service table (LPM trie) key: prefixlen bits of sid, most significant first. */
struct svc_lpm_key {
	__u32 prefixlen; /* 0..128 */
	struct svc_sid sid;
};

/* What a service-table rule does with the first packet of a connection. */
enum svc_action {
	SVC_ACT_NONE = 0,    /* invalid: never stored */
	SVC_ACT_FORWARD = 1, /* consistent-hash over next-hop set set_id, encapsulate, transmit */
	SVC_ACT_DEMUX = 2,   /* a local listener: XDP_PASS to this host's stack */
	SVC_ACT_DELAY = 3,   /* hand the packet to the agent (ring buffer), which resolves it */
	SVC_ACT_DROP = 4,    /* drop and count */
};

/* Service-table value: a rule. */
struct svc_rule {
	__u8 action;   /* enum svc_action */
	__u8 flags;    /* reserved, zero */
	__u16 pad;     /* zero */
	__u32 set_id;  /* FORWARD: next-hop set (index into ch_tables) */
	__u32 rule_id; /* index into rule_stats; chosen by userspace, unique per rule */
};

/* next hop flags */
#define SVC_NH_F_UP (1U << 0) /* eligible; a down next hop is treated as absent */
#define SVC_NH_F_V6 (1U << 1) /* addr is IPv6 (outer header IPv6) */
/*
 * Instance dead or shed: the router answers TCP packets of flows recorded to
 * it with a RST to the client (reset_dead); UDP flows are re-resolved.
 * Set together with clearing SVC_NH_F_UP.
 */
#define SVC_NH_F_RESET (1U << 2)
/*
 * The instance host does not run svcplane: the router strips the TI-flow and
 * flowID options from TCP packets before sending them to it (lengths and
 * checksums fixed incrementally).
 */
#define SVC_NH_F_STRIP_OPTS (1U << 3)

/* nexthops: where a FORWARDed packet is sent, encapsulated (outer destination). */
struct svc_nexthop {
	struct svc_addr addr; /* instance host (or next service router) address */
	__u32 flags;	      /* SVC_NH_F_* */
	__u32 pad;	      /* zero */
};

/*
 * ch_present[0]: the agent's record of which ch_tables slots may hold a table
 * (bit id of bits[id / 64]): set before a table is installed, cleared after it
 * is deleted, so it is a superset of the installed slots even across a crash.
 * Programs never read it; it spares an adopting agent a look at every slot
 * (docs/svcplaned.md, "Restart and adoption").
 */
struct svc_ch_present {
	__u64 bits[SVC_MAX_SETS / 64];
};

/*
 * nh_egress: per next-hop id, where the router sends packets toward it
 * without a FIB lookup (docs/datapath.md, "Next-hop egress cache"). The agent
 * resolves it through netlink (route get, neighbour, link) and keeps it
 * current from RTM_NEWNEIGH/DELNEIGH/NEWROUTE/DELROUTE/NEWLINK events.
 *
 * A map of its own rather than fields of struct svc_nexthop: a restarted agent
 * refuses pinned maps of another layout (svc_pin_check_obj: -EEXIST naming the
 * map), so growing svc_nexthop would make every upgrade unpin the nexthops
 * map and lose the flows; a new map is simply created next to the adopted
 * ones. Its writer (netlink events) and the nexthops writer (registry
 * reconcile) also never overwrite each other's fields. @addr ties the entry to
 * the next hop's address: an id reused for another address never uses a
 * stale egress. The cost is one array lookup per forwarded packet.
 */
#define SVC_NHE_F_VALID (1U << 0) /* ifindex, MACs and mtu are current: use them */

struct svc_nh_egress {
	struct svc_addr addr; /* the next-hop address this was resolved for */
	__u32 ifindex;	      /* egress interface */
	__u32 mtu;	      /* egress MTU: the route's (locked or PMTU) or the device's */
	__u8 dmac[6];	      /* the neighbour's (or gateway's) MAC */
	__u8 smac[6];	      /* the egress interface's MAC */
	__u32 flags;	      /* SVC_NHE_F_* */
};

/* flows: the 5-tuple of a client->service packet, as it arrives at the router. */
struct svc_flow_key {
	struct svc_addr src;
	struct svc_addr dst;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3]; /* zero */
};

struct svc_flow {
	__u32 nh_id;	    /* next hop the flow was sent to */
	__u32 rule_id;	    /* rule that resolved it (counters) */
	__u64 last_seen_ns; /* bpf_ktime_get_coarse_ns() when created, refreshed at most once a second */
};

/* router_cfg[0]: the router's own addresses, used as outer source when encapsulating. */
#define SVC_CFG_F_SRC4 (1U << 0) /* src4 is set: IPv4 next hops allowed */
#define SVC_CFG_F_SRC6 (1U << 1) /* src6 is set: IPv6 next hops allowed */

struct svc_router_cfg {
	struct svc_addr src4; /* v4-mapped */
	struct svc_addr src6;
	__u32 flags; /* SVC_CFG_F_* */
	/*
	 * Flood guard: flow-table inserts for new TCP connections (bare SYNs) per
	 * CPU per SVC_FLOOD_WINDOW_NS; above it a SYN is forwarded by the
	 * consistent hash but not recorded (ev_flood_noinsert). 0 = off.
	 */
	__u32 flood_insert_rate;
};

/* The flood guard's window: flood_insert_rate is per CPU per second. */
#define SVC_FLOOD_WINDOW_NS 1000000000ULL

/*
 * flood_state: the flood guard's per-CPU window. Times are the coarse
 * monotonic clock (bpf_ktime_get_coarse_ns(), CLOCK_MONOTONIC_COARSE).
 */
struct svc_flood_state {
	__u64 window_ns;    /* start of the current window; a start in the future keeps it open */
	__u64 inserts;	    /* SYN inserts in the window */
	__u64 last_skip_ns; /* when an insert was last skipped (0: never): the guard engaged */
};

/* stats, rule_stats, nh_stats: per-CPU packet and byte counters. */
struct svc_counter {
	__u64 packets;
	__u64 bytes;
};

/*
 * nh_signals: per next hop, what its instance's own replies say about it, seen
 * in return traffic through the router (the router program must run on the
 * interfaces where instance replies enter). The agent's health checks read it.
 */
struct svc_nh_signals {
	__u64 syn_rst;      /* RST+ACK with sequence 0 to a client: a SYN refused (port closed) */
	__u64 icmp_unreach; /* ICMP(v6) destination unreachable about a client's flow */
};

/* delay_events ring buffer record: a packet that hit a DELAY rule. */
struct svc_delay_event {
	struct svc_sid sid; /* serviceID being resolved */
	__u32 rule_id;
	__u32 ifindex; /* where the packet arrived */
	__u32 pkt_len; /* full frame length */
	__u32 cap_len; /* bytes of pkt[] that are valid */
	__u8 pkt[SVC_DELAY_CAP];
};

/*
 * Every verdict and every drop reason, one counter each: every packet counts
 * in exactly one of them. EV_* entries are events counted in addition.
 * X(name, "metric label", "description"). Userspace names: svc_reason_names.h.
 */
/* clang-format off */
#define SVC_REASONS(X)                                                                              \
	X(PASS_NOT_IP, "pass_not_ip", "not IPv4 or IPv6: passed")                                   \
	X(PASS_NO_SERVICE, "pass_no_service", "no binding or service prefix: passed")               \
	X(PASS_VLAN_DEPTH, "pass_vlan_depth", "more than 2 VLAN tags: passed unparsed")             \
	X(PASS_EXT_DEPTH, "pass_ext_depth", "IPv6 extension chain over the bound: passed")          \
	X(PASS_FRAGMENT, "pass_fragment", "non-first fragment: passed, not load-balanced")          \
	X(PASS_NOT_L4, "pass_not_l4", "IP but not TCP/UDP/ICMP: passed")                            \
	X(PASS_ICMP_OTHER, "pass_icmp_other", "ICMP that quotes no service flow: passed")           \
	X(DEMUX, "demux", "DEMUX rule: passed to the local stack")                                  \
	X(FWD_NEW, "fwd_new", "first packet of a flow: resolved and forwarded")                     \
	X(FWD_FLOW_HIT, "fwd_flow_hit", "forwarded by the flow table")                              \
	X(FWD_CH_MISS, "fwd_ch_miss", "mid-flow packet not in the flow table: consistent hash")     \
	X(FWD_ICMP, "fwd_icmp", "ICMP error quoting a service flow: forwarded to its instance")     \
	X(FWD_RESUME, "fwd_resume", "SYN resuming a TI-flow: sent to the instance its TIFID names") \
	X(FWD_FLOWID, "fwd_flowid", "packet with a flowID option: sent to the instance it names")   \
	X(DELAY, "delay", "DELAY rule: handed to the agent")                                        \
	X(RESET_DEAD, "reset_dead", "TCP packet of a dead/shed instance's flow: answered with RST") \
	X(DROP_DELAY_FULL, "drop_delay_full", "DELAY ring buffer full")                             \
	X(DROP_RULE, "drop_rule", "DROP rule")                                                      \
	X(DROP_NO_RULE, "drop_no_rule", "service has no matching rule")                             \
	X(DROP_NO_NEXTHOP, "drop_no_nexthop", "next-hop set empty or missing, or next hop down")    \
	X(DROP_NO_SRC, "drop_no_src", "router has no source address of the next hop's family")     \
	X(DROP_FIB, "drop_fib", "no route to the next hop")                                         \
	X(DROP_NO_NEIGH, "drop_no_neigh", "next hop's MAC not resolved yet")                        \
	X(DROP_TOO_BIG, "drop_too_big", "too big for the egress MTU, not answered (see icmp_too_big)") \
	X(DROP_ENCAP, "drop_encap", "could not grow the packet for encapsulation")                  \
	X(DROP_OPTEDIT, "drop_optedit", "stripping svcplane options failed half-way")               \
	X(DROP_BAD_ETH, "drop_bad_eth", "truncated Ethernet or VLAN header")                        \
	X(DROP_BAD_IP4, "drop_bad_ip4", "truncated IPv4 header, IHL < 5 or bad total length")       \
	X(DROP_BAD_IP6, "drop_bad_ip6", "truncated IPv6 header or extension header")                \
	X(DROP_BAD_L4, "drop_bad_l4", "truncated TCP/UDP header or TCP data offset out of range")   \
	X(DECAP, "decap", "endpoint: decapsulated and delivered")                                   \
	X(PASS_NOT_ENCAP, "pass_not_encap", "endpoint: not encapsulated: passed")                   \
	X(DROP_DECAP_SOURCE, "drop_decap_source", "endpoint: encapsulated by an unknown source")    \
	X(DROP_DECAP_BAD, "drop_decap_bad", "endpoint: malformed inner packet")                     \
	X(EV_STALE_INSTANCE, "ev_stale_instance",                                                   \
	  "event, not a verdict: TIFID/flowID named an unknown or down instance (hash used)") \
	X(EV_OPT_STRIPPED, "ev_opt_stripped",                                                       \
	  "event, not a verdict: svcplane options stripped for an instance without svcplane")     \
	X(DROP_NOT_STRIPPED, "drop_not_stripped",                                                   \
	  "options to strip could not be (malformed, headers over 128 bytes): dropped")            \
	X(ICMP_TOO_BIG, "icmp_too_big",                                                             \
	  "too big for the egress MTU: answered with ICMP frag-needed/packet-too-big")          \
	X(EV_MSS_CLAMPED, "ev_mss_clamped",                                                         \
	  "event, not a verdict: a SYN's MSS lowered so encapsulated segments fit the MTU")     \
	X(EV_ICMP_RATELIMITED, "ev_icmp_ratelimited",                                               \
	  "event, not a verdict: too-big packet not answered (ICMP rate limit): drop_too_big")  \
	X(EV_OPT_POLICY, "ev_opt_policy",                                                           \
	  "event, not a verdict: TIFID/flowID named an instance its service's rule does not allow") \
	X(EV_OPT_FORGED, "ev_opt_forged",                                                           \
	  "event, not a verdict: TIFID/flowID failed the keyed check (forged or stale key)")        \
	X(FWD_RESUMED_HIT, "fwd_resumed_hit",                                                       \
	  "packet of a resumed flow the flow table lost: sent to its instance (resumed_flows)")   \
	X(EV_FLOOD_NOINSERT, "ev_flood_noinsert",                                                   \
	  "event, not a verdict: SYN over the flood guard's rate: forwarded by hash, not recorded") \
	X(EV_FIB_FALLBACK, "ev_fib_fallback",                                                       \
	  "event, not a verdict: a next hop without a valid cached egress: bpf_fib_lookup used")
/* clang-format on */

enum svc_reason {
#define SVC_REASON_ENUM(name, label, desc) SVC_R_##name,
	SVC_REASONS(SVC_REASON_ENUM)
#undef SVC_REASON_ENUM
		SVC_REASON_MAX
};

/*
 * Slots in the stats maps: more than there are reasons, so that a newer program
 * that adds reasons still reuses the pinned maps of an older one (upgrade
 * without losing counters or reloading).
 */
#define SVC_STATS_SLOTS 64
_Static_assert(SVC_REASON_MAX <= SVC_STATS_SLOTS, "raise SVC_STATS_SLOTS");

#endif /* SVC_ABI_H */
