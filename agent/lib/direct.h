/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libsvc direct path: loads bpf/direct.bpf.c, pins its maps by name in the
 * data plane's pin directory (adopting maps already pinned there, so a
 * restart loses no learnt connection), attaches its two tc programs (clsact
 * ingress + egress) to interfaces, and fills its maps: instance addresses
 * (client hosts), this host's instance id and service addresses (instance
 * hosts), outer source addresses.
 *
 * A client host attaches the programs to the interface toward the service
 * routers and lists the instance hosts (id -> address); an instance host
 * attaches them to its NIC, sets its instance id (the routers' next-hop id of
 * this host) and its service addresses, and adds the client hosts to the
 * endpoint's decap sources (svc_dp_decap_source_update). Encapsulated
 * packets grow by 20 (IPv4) / 40 (IPv6) octets and the flowID option by 8:
 * give a client host's routes to service addresses an MTU that much lower
 * than its link's (ip route ... mtu), as for any IP-in-IP sender.
 *
 * All functions return 0 or a negative errno and log the failing object and
 * the reason through log.h.
 */
#ifndef SVC_DIRECT_LIB_H
#define SVC_DIRECT_LIB_H

#include <stdbool.h>
#include "svc_direct.h"

/* tc filter handle and priority of the direct programs on every interface (both hooks). */
#define SVC_DIRECT_TC_HANDLE 0x5356
#define SVC_DIRECT_TC_PRIO 0x5356

struct svc_direct_config {
	const char *pin_dir; /* bpffs directory; NULL = SVC_DEFAULT_PIN_DIR. Created if missing. */
	__u8 tiflow_kind;    /* TI-flow option kind; 0 = SVC_TIFLOW_KIND_DEFAULT */
	__u16 flowid_exid;   /* flowID option ExID; 0 = SVC_FLOWID_EXID_DEFAULT */
};

struct svc_direct;

/* svc_direct_open - load the direct programs, reusing or pinning their maps under pin_dir. */
int svc_direct_open(const struct svc_direct_config *cfg, struct svc_direct **dp);
/* svc_direct_close - free userspace state; pinned maps and attached programs stay. */
void svc_direct_close(struct svc_direct *d);
/* svc_direct_unpin - remove the direct maps' pins from @pin_dir (the directory stays). */
int svc_direct_unpin(const char *pin_dir);

/*
 * svc_direct_attach - attach the ingress and egress programs to @ifname
 * (clsact is created if missing). Programs already attached there by svcplane
 * are replaced in place, so an upgrade drops nothing.
 */
int svc_direct_attach(struct svc_direct *d, const char *ifname);
/*
 * svc_direct_detach - remove the direct programs from @ifname (-ENOENT if
 * neither was there). The clsact qdisc stays: other tc programs may use it.
 */
int svc_direct_detach(const char *ifname);
/* svc_direct_attached - 1 if both programs are attached to @ifname, 0 if neither, <0 on error. */
int svc_direct_attached(const char *ifname, __u32 *ingress_id, __u32 *egress_id);

/* Instance hosts: the id stamped into SYN-ACKs (0 stops stamping). */
int svc_direct_set_instance_id(struct svc_direct *d, __u16 id);
/* Instance hosts: a service address (VIP) whose SYN-ACKs get the flowID. */
int svc_direct_local_update(struct svc_direct *d, const struct svc_addr *addr);
int svc_direct_local_delete(struct svc_direct *d, const struct svc_addr *addr);

/* Client hosts: instance @id (1..65535) is served by the host at @addr. */
int svc_direct_instance_update(struct svc_direct *d, __u16 id, const struct svc_addr *addr);
int svc_direct_instance_delete(struct svc_direct *d, __u16 id);
/*
 * Client hosts: outer source addresses (either NULL = the inner source when
 * the families match) and SVC_DIRECT_CFG_F_NO_OPT.
 */
int svc_direct_set_src(struct svc_direct *d, const struct svc_addr *src4,
		       const struct svc_addr *src6);
int svc_direct_set_no_opt(struct svc_direct *d, bool no_opt);
/* svc_direct_cfg_read - the current direct_cfg[0]. */
int svc_direct_cfg_read(struct svc_direct *d, struct svc_direct_cfg *out);

/* svc_direct_stats_read - counters summed over CPUs into @out[SVC_DIRECT_REASON_MAX]. */
int svc_direct_stats_read(struct svc_direct *d, struct svc_counter *out);

/*
 * svc_direct_flows_foreach - call @fn for each learnt connection until it
 * returns non-zero (that value is returned). Bounded by the table size.
 */
typedef int (*svc_direct_flow_fn)(const struct svc_flow_key *key, const struct svc_direct_flow *val,
				  void *arg);
int svc_direct_flows_foreach(struct svc_direct *d, svc_direct_flow_fn fn, void *arg);
/* svc_direct_flows_clear - forget every learnt connection; *cleared gets the count (may be NULL).
 */
int svc_direct_flows_clear(struct svc_direct *d, size_t *cleared);

/* svc_direct_map_fd / prog_fd - for tools and tests: a map by BPF name; a program. */
int svc_direct_map_fd(struct svc_direct *d, const char *name);
int svc_direct_prog_fd(struct svc_direct *d, bool egress);

#endif /* SVC_DIRECT_LIB_H */
