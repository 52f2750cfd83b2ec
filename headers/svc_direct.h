/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Direct path and flowID stamping (bpf/direct.bpf.c): map keys, values and counters. */
#ifndef SVC_DIRECT_H
#define SVC_DIRECT_H

/*
 * The direct path (docs/design.md, packet path 4): on a client host that runs
 * svcplane, only the SYN of a connection to a service goes through a service
 * router. The client's tc ingress program learns from the SYN-ACK which
 * instance serves the connection (a flowID option stamped by the instance
 * host, or the responder half of a TI-flow option); its tc egress program
 * then sends every later packet of the connection encapsulated straight to
 * that instance's host, with the flowID option inserted. On an instance host
 * the same egress program stamps the flowID option into SYN-ACKs sent from a
 * local service address. All maps are pinned by name next to the router's.
 */
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "svc_abi.h"

#ifndef SVC_MAX_DIRECT_FLOWS
#define SVC_MAX_DIRECT_FLOWS 65536 /* direct_flows (LRU): connections a client host keeps direct */
#endif
#define SVC_MAX_DIRECT_INSTANCES 65536 /* direct_inst: instance ids 0..65535 (16-bit) */
#define SVC_MAX_DIRECT_LOCAL 1024      /* direct_local: service addresses of an instance host */

/*
 * direct_flows key: struct svc_flow_key of the client -> service direction as
 * the client's egress sees it (src = client, dst = VIP, IPv4 v4-mapped, pads 0).
 */

/* svc_direct_flow.source: which option taught the client the instance. */
#define SVC_DIRECT_SRC_FLOWID 1 /* a flowID option in the SYN-ACK */
#define SVC_DIRECT_SRC_TIFLOW 2 /* the responder half of a TI-flow option in the SYN-ACK */

/* direct_flows value: the instance that serves one connection. */
struct svc_direct_flow {
	__u32 flowid;	    /* flowID inserted into the connection's packets (instance << 16 | bits) */
	__u16 instance;	    /* instance id = next-hop id of the instance host on the routers */
	__u8 source;	    /* SVC_DIRECT_SRC_* */
	__u8 pad;	    /* zero */
	__u64 learnt_ns;    /* bpf_ktime_get_ns() when the SYN-ACK was seen */
};

/* svc_direct_inst.flags */
#define SVC_DIRECT_INST_F_SET (1U << 0) /* the entry names an instance (unset: no address) */
#define SVC_DIRECT_INST_F_V6 (1U << 1)	/* addr is IPv6: the outer header is IPv6 */

/* direct_inst value (key: __u32 instance id): where the instance's host is reached. */
struct svc_direct_inst {
	struct svc_addr addr; /* outer destination; v4-mapped for IPv4 */
	__u32 flags;	      /* SVC_DIRECT_INST_F_* */
	__u32 pad;	      /* zero */
};

/* svc_direct_cfg.flags */
#define SVC_DIRECT_CFG_F_SRC4 (1U << 0)	  /* src4 set: outer source for IPv4 outer headers */
#define SVC_DIRECT_CFG_F_SRC6 (1U << 1)	  /* src6 set: outer source for IPv6 outer headers */
#define SVC_DIRECT_CFG_F_NO_OPT (1U << 2) /* client: encapsulate, but insert no flowID option */

/*
 * direct_cfg[0]: this host's settings. Without SRC4/SRC6 the outer source is
 * the inner source address when the families match (the client's own address).
 */
struct svc_direct_cfg {
	struct svc_addr src4; /* v4-mapped */
	struct svc_addr src6;
	__u32 flags;	      /* SVC_DIRECT_CFG_F_* */
	__u16 instance_id;    /* instance role: stamped into SYN-ACKs; 0 = stamp nothing */
	__u16 pad;	      /* zero */
};

/*
 * direct_local key: struct svc_addr, a service address (VIP) served on this
 * instance host; value: __u32 flags, zero. SYN-ACKs from it get a flowID.
 */

/*
 * Counters of the direct programs (direct_stats, per-CPU struct svc_counter
 * indexed by enum svc_direct_reason). Every packet the ingress or egress
 * program sees counts in exactly one of them.
 * X(name, "label", "description").
 */
#define SVC_DIRECT_REASONS(X)                                                                      \
	X(RX_PASS, "rx_pass", "ingress: not a SYN-ACK carrying an instance: passed")              \
	X(RX_LEARN_FLOWID, "rx_learn_flowid", "ingress: SYN-ACK flowID learnt: connection direct") \
	X(RX_LEARN_TIFLOW, "rx_learn_tiflow", "ingress: SYN-ACK TI-flow instance learnt")           \
	X(RX_UNKNOWN_INST, "rx_unknown_inst", "ingress: SYN-ACK names an instance with no address") \
	X(RX_BAD_OPT, "rx_bad_opt", "ingress: SYN-ACK with malformed TCP options: not learnt")     \
	X(TX_PASS, "tx_pass", "egress: not a connection on the direct path: passed")               \
	X(TX_TUNNEL, "tx_tunnel",                                                                   \
	  "egress: IP-in-IP, e.g. our own packet again after bpf_redirect_neigh: passed")           \
	X(TX_SYN, "tx_syn", "egress: SYN: through the service router (old entry forgotten)")       \
	X(TX_DIRECT, "tx_direct", "egress: flowID inserted, encapsulated to the instance host")    \
	X(TX_DIRECT_GSO, "tx_direct_gso", "egress: GSO packet encapsulated without the option")    \
	X(TX_DIRECT_NO_ROOM, "tx_direct_no_room",                                                   \
	  "egress: no room for the option (header or MTU): encapsulated without it")               \
	X(TX_DIRECT_NO_OPT, "tx_direct_no_opt",                                                     \
	  "egress: options malformed, already carry a flowID, or insertion off: sent as they are")  \
	X(TX_NO_INST, "tx_no_inst", "egress: learnt instance has no address any more: passed")     \
	X(TX_NO_SRC, "tx_no_src", "egress: no outer source address of the instance's family")      \
	X(TX_FIB, "tx_fib", "egress: no route or MTU too small toward the instance: passed")       \
	X(TX_ENCAP_FAIL, "tx_encap_fail", "egress: could not grow the packet: passed as it is")    \
	X(TX_DROP_EDIT, "tx_drop_edit", "egress: rewriting failed half-way: dropped")             \
	X(TX_STAMP, "tx_stamp", "egress: flowID stamped into a SYN-ACK of a local service")        \
	X(TX_STAMP_NO_ROOM, "tx_stamp_no_room", "egress: SYN-ACK without room for the flowID")      \
	X(TX_STAMP_SKIP, "tx_stamp_skip",                                                           \
	  "egress: SYN-ACK already has a flowID or malformed options: unchanged")

enum svc_direct_reason {
#define SVC_DIRECT_REASON_ENUM(name, label, desc) SVC_DR_##name,
	SVC_DIRECT_REASONS(SVC_DIRECT_REASON_ENUM)
#undef SVC_DIRECT_REASON_ENUM
	SVC_DIRECT_REASON_MAX
};

/* Slots of direct_stats: room for reasons a newer program adds (pins stay reusable). */
#define SVC_DIRECT_STATS_SLOTS 32
_Static_assert(SVC_DIRECT_REASON_MAX <= SVC_DIRECT_STATS_SLOTS, "raise SVC_DIRECT_STATS_SLOTS");

#endif /* SVC_DIRECT_H */
