/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Route lookup by the data plane itself: which instance would this router
 * send a given client packet to, and why (`servicectl route get`).
 *
 * The answer comes from running the router program with BPF_PROG_TEST_RUN on
 * a packet built for the question, not from a userspace copy of its logic.
 * The program run is a second instance of the same object as the attached
 * router (same code, same load-time settings copied from it) whose lookup
 * maps are the live ones (bindings, serviceID prefixes, service table, next
 * hops, consistent-hash tables, router config) while everything the program
 * writes is private to the probe and fresh: the flow table, the counters,
 * the health signals and the DELAY ring buffer. So a lookup never adds a
 * flow, refreshes one, counts a packet or wakes the DELAY path of the live
 * data plane, and the attached program is not changed at all. The live flow
 * entry of the queried 5-tuple, if any, is copied into the private flow table
 * first, so the answer accounts for flow affinity. What the program wrote
 * (its verdict counter, the flow entry it recorded, the rule it counted, the
 * DELAY event it queued, the outer header it built) is the answer.
 *
 * A map the router gains in a later version is private unless added to the
 * shared list in route.c: a probe may then answer wrongly, never disturb.
 */
#ifndef SVC_ROUTE_H
#define SVC_ROUTE_H

#include <stdbool.h>
#include <linux/types.h>
#include "svc_abi.h"
#include "dataplane.h"

/* The packet asked about: a TCP or UDP packet from a client to a service address. */
struct svc_route_query {
	struct svc_addr src, dst; /* same family */
	__u16 sport, dport;	  /* host order, non-zero */
	__u8 proto;		  /* IPPROTO_TCP or IPPROTO_UDP */
	bool syn;		  /* TCP: a new connection's SYN, else an established one's ACK */
	__u32 ifindex;		  /* where it arrives (FIB lookup, XDP_TX); 0 = loopback */
};

/* How the router chose. */
enum svc_route_how {
	SVC_ROUTE_NONE = 0, /* no choice: not for a service, malformed, no rule */
	SVC_ROUTE_RULE,	    /* the rule's action decided (DEMUX, DELAY, DROP, empty set) */
	SVC_ROUTE_FLOW,	    /* the flow table's entry for the 5-tuple */
	SVC_ROUTE_HASH,	    /* the rule's consistent-hash table */
	SVC_ROUTE_TIFID,    /* a resumed SYN's TIFID named the instance */
	SVC_ROUTE_FLOWID,   /* the packet's flowID named the instance */
};

/* svc_route_how_names[how] - "none", "rule", "flow", "hash", "tifid", "flowid". */
extern const char *const svc_route_how_names[];

struct svc_route_result {
	__u32 xdp_action; /* what the program returned (XDP_TX/XDP_REDIRECT: sent) */
	__u32 reason;	  /* enum svc_reason counted for the packet */
	enum svc_route_how how;
	__u32 nh_id;	    /* next hop chosen, 0 = none */
	struct svc_addr nh; /* its address (nexthops map), when nh_id != 0 */
	__u32 rule_id;	    /* rule that resolved the packet, 0 = none or unknown */
	bool has_sid;	    /* DELAY: the serviceID handed to the agent */
	struct svc_sid sid;
	bool sent;	       /* the program built the encapsulated packet... */
	struct svc_addr outer; /* ...to this outer destination */
};

struct svc_route;

/*
 * svc_route_open - load the probe instance of @dp's router program (a few
 * hundred milliseconds of verification; keep it). 0 or -errno, logged.
 */
int svc_route_open(struct svc_dp *dp, struct svc_route **rp);
void svc_route_close(struct svc_route *rp);

/*
 * svc_route_get - run the probe on the packet @q describes. 0 with @res
 * filled, -EINVAL for a query that is not one packet (families differ, port
 * 0, not TCP/UDP), or another -errno, logged.
 */
int svc_route_get(struct svc_route *rp, const struct svc_route_query *q,
		  struct svc_route_result *res);

#endif /* SVC_ROUTE_H */
