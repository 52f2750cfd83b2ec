/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libsvc data plane: loads the router and endpoint BPF objects from their
 * skeletons, pins their maps under one bpffs directory (adopting maps already
 * pinned there, so a restarted agent loses no state), attaches programs to
 * interfaces with libxdp, and writes bindings, rules, next hops and
 * consistent-hash tables. The agent, servicectl's tests and every test use
 * this one code path to fill the maps.
 *
 * All functions return 0 or a negative errno and log the failing object and
 * reason through log.h.
 */
#ifndef SVC_DATAPLANE_H
#define SVC_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include "svc_abi.h"
#include "ch.h"

#define SVC_DEFAULT_PIN_DIR "/sys/fs/bpf/svcplane"

/* Which BPF program. */
enum svc_prog {
	SVC_PROG_ROUTER = 0,   /* XDP service router */
	SVC_PROG_ENDPOINT = 1, /* XDP endpoint: decapsulation on instance hosts */
	SVC_PROG_MAX,
};

/* XDP attach mode. NATIVE fails (no silent fallback) where the driver lacks XDP. */
enum svc_xdp_mode {
	SVC_XDP_NATIVE = 0,
	SVC_XDP_SKB = 1,
};

struct svc_dp_config {
	const char *pin_dir; /* bpffs directory; NULL = SVC_DEFAULT_PIN_DIR. Created if missing. */
	__u32 max_flows;     /* flow table size; 0 = SVC_MAX_FLOWS */
	__u32 max_rules;     /* service table size; 0 = SVC_MAX_RULES */
	__u32 ch_seed;	     /* deployment seed (flow hash and consistent-hash tables); every
				router of a deployment must use the same */
};

struct svc_dp;

/**
 * svc_dp_open - load both BPF objects, reusing maps pinned under cfg->pin_dir
 * and pinning those that are not there yet. Mounts nothing: pin_dir must be on
 * bpffs. Sets *adopted (if non-NULL) when the router's maps already existed.
 */
int svc_dp_open(const struct svc_dp_config *cfg, struct svc_dp **dpp, bool *adopted);
/* svc_dp_close - free userspace state; pinned maps and attached programs stay. */
void svc_dp_close(struct svc_dp *dp);
/* svc_dp_unpin - remove every pin under @pin_dir that svcplane made, then the directory. */
int svc_dp_unpin(const char *pin_dir);

/*
 * svc_dp_attach - attach @prog to @ifname (libxdp). If the same svcplane program
 * is already attached there, it is replaced atomically by this object's program
 * (which shares the pinned maps), so an upgrade drops nothing.
 */
int svc_dp_attach(struct svc_dp *dp, enum svc_prog prog, const char *ifname,
		  enum svc_xdp_mode mode);
/*
 * svc_dp_detach - remove the svcplane XDP program from @ifname (-ENOENT if none).
 * @dp may be NULL: the program is found on the interface, so an uninstall works
 * even where svc_dp_open fails (e.g. on pinned maps of an incompatible version).
 */
int svc_dp_detach(struct svc_dp *dp, const char *ifname);
/*
 * svc_dp_attached - which svcplane program runs on @ifname: sets *prog and
 * *prog_id, returns 1; returns 0 if none, negative on error.
 */
int svc_dp_attached(const char *ifname, enum svc_prog *prog, __u32 *prog_id);

/* Router configuration: outer source addresses (either may be NULL = unset). */
int svc_dp_set_router_src(struct svc_dp *dp, const struct svc_addr *src4,
			  const struct svc_addr *src6);
/*
 * Flood guard (datapath.md "Flood guard"): at most @rate flow-table inserts of
 * new TCP connections per CPU per second, 0 = off. Kept in router_cfg beside
 * the source addresses (each setter keeps the other's fields).
 */
int svc_dp_set_flood_rate(struct svc_dp *dp, __u32 rate);
/*
 * svc_dp_flood_read - the rate in force and on how many CPUs the guard skipped
 * an insert within the last window (engaged now).
 */
int svc_dp_flood_read(struct svc_dp *dp, __u32 *rate, unsigned int *engaged_cpus);

int svc_dp_binding_update(struct svc_dp *dp, const struct svc_binding_key *key,
			  const struct svc_binding *val);
int svc_dp_binding_delete(struct svc_dp *dp, const struct svc_binding_key *key);

/* IPv6 destination prefixes that are serviceIDs (clients connect straight to a sid). */
int svc_dp_sid_prefix_update(struct svc_dp *dp, const struct svc_lpm_key *prefix);
int svc_dp_sid_prefix_delete(struct svc_dp *dp, const struct svc_lpm_key *prefix);

int svc_dp_rule_update(struct svc_dp *dp, const struct svc_lpm_key *prefix,
		       const struct svc_rule *rule);
int svc_dp_rule_delete(struct svc_dp *dp, const struct svc_lpm_key *prefix);

/*
 * The *_delete functions return -ENOENT when there was nothing to delete
 * (logged at debug level only: callers reconciling state may ignore it).
 */

/*
 * Next hop @id (1..SVC_MAX_NEXTHOPS-1). Delete zeroes it (a zeroed next hop is down).
 * Updating an up next hop also resolves its egress (interface, MACs, MTU:
 * svc_nhe_resolve) into nh_egress, so that the router needs no FIB lookup,
 * and starts neighbour resolution (svc_neigh_prime) when its neighbour's MAC
 * is not known yet; a down or deleted next hop's egress is cleared.
 */
int svc_dp_nexthop_update(struct svc_dp *dp, __u32 id, const struct svc_nexthop *nh);
int svc_dp_nexthop_delete(struct svc_dp *dp, __u32 id);
/* All SVC_MAX_NEXTHOPS entries of the nexthops map, in one batch. */
int svc_dp_nexthops_read(struct svc_dp *dp, struct svc_nexthop *all);

/*
 * Next-hop egress cache (docs/datapath.md, "Next-hop egress cache").
 * svc_dp_nh_egress_read / _write - next hop @id's nh_egress entry as is (the
 * write is for tests and tools: the agent's own come from svc_nhe_resolve).
 */
int svc_dp_nh_egress_read(struct svc_dp *dp, __u32 id, struct svc_nh_egress *out);
int svc_dp_nh_egress_write(struct svc_dp *dp, __u32 id, const struct svc_nh_egress *e);
/*
 * svc_dp_nh_watch_start - open the rtnetlink event socket and re-resolve the
 * egress of every up next hop in the nexthops map (adopted ones included).
 * Returns the fd to poll, or -errno. Idempotent.
 */
int svc_dp_nh_watch_start(struct svc_dp *dp);
/*
 * svc_dp_nh_watch_run - read the pending events and re-resolve what they
 * touch: a neighbour event the next hops that use that neighbour, a route or
 * link event (or lost events) every up next hop. Returns the number of
 * entries that changed, or -errno.
 */
int svc_dp_nh_watch_run(struct svc_dp *dp);

/*
 * svc_dp_nhset_update - build set @set_id's consistent-hash table from @members
 * and the deployment seed (svc_ch_build: a pure function of the two, so every
 * router agrees) in a new inner map, then swap it in with one update of
 * ch_tables. If the table comes out identical to the installed one, nothing is
 * written. n == 0 installs a table of zeros (the set exists but is empty).
 */
int svc_dp_nhset_update(struct svc_dp *dp, __u32 set_id, const struct svc_ch_member *members,
			size_t n);
int svc_dp_nhset_delete(struct svc_dp *dp, __u32 set_id);
/* Sets installed in ch_tables: bit id of @present (SVC_MAX_SETS bits), in one batch. */
int svc_dp_nhsets_present(struct svc_dp *dp, __u64 *present);
/*
 * svc_dp_set_opt_key - the deployment's option key (SVC_OPT_KEY_BYTES octets,
 * headers/svc_optmac.h) in the pinned opt_key map shared with the direct and
 * TI-flow programs; NULL clears it (then no flowID/TIFID is trusted).
 */
#define SVC_OPT_KEY_BYTES 16
int svc_dp_set_opt_key(struct svc_dp *dp, const __u8 *key);
/* svc_dp_nhset_read - copy set @set_id's table (SVC_CH_SIZE ids) into @table. -ENOENT if none. */
int svc_dp_nhset_read(struct svc_dp *dp, __u32 set_id, __u32 *table);

/* Endpoint: routers whose encapsulated packets are decapsulated. */
int svc_dp_decap_source_update(struct svc_dp *dp, const struct svc_addr *src);
int svc_dp_decap_source_delete(struct svc_dp *dp, const struct svc_addr *src);

/* svc_dp_stats_read - sum the per-CPU counters of @prog into @out[SVC_REASON_MAX]. */
int svc_dp_stats_read(struct svc_dp *dp, enum svc_prog prog, struct svc_counter *out);
/* svc_dp_rule_stats_read / nh_stats_read - summed counters of one rule id / next-hop id. */
int svc_dp_rule_stats_read(struct svc_dp *dp, __u32 rule_id, struct svc_counter *out);
int svc_dp_nh_stats_read(struct svc_dp *dp, __u32 nh_id, struct svc_counter *out);

/*
 * svc_dp_nh_signals_read - health signals seen in next hop @nh_id's instance's
 * replies (summed over CPUs): SYNs it refused with RST, ICMP unreachables it
 * sent. Seen only where the router program runs on the instance-facing NICs.
 */
int svc_dp_nh_signals_read(struct svc_dp *dp, __u32 nh_id, struct svc_nh_signals *out);

/*
 * svc_dp_flows_foreach - call @fn for each flow-table entry until it returns
 * non-zero (that value is returned). The table changes under traffic: an entry
 * may be missed or, rarely, seen twice; the walk is bounded by the table size.
 */
typedef int (*svc_flow_fn)(const struct svc_flow_key *key, const struct svc_flow *val, void *arg);
int svc_dp_flows_foreach(struct svc_dp *dp, svc_flow_fn fn, void *arg);
/* svc_dp_flows_clear - delete every flow-table entry; *cleared gets the count (may be NULL). */
int svc_dp_flows_clear(struct svc_dp *dp, size_t *cleared);

/* svc_dp_map_fd - fd of a router/endpoint map by its BPF name (for tools and tests), or -ENOENT. */
int svc_dp_map_fd(struct svc_dp *dp, const char *name);
/* svc_dp_prog_fd - fd of @prog's XDP program (BPF_PROG_TEST_RUN in tests and benchmarks). */
int svc_dp_prog_fd(struct svc_dp *dp, enum svc_prog prog);
/*
 * svc_dp_router_rodata - the router program's load-time settings (.rodata) as
 * loaded, *size bytes: a second instance of the program copies them (route.h).
 */
const void *svc_dp_router_rodata(struct svc_dp *dp, size_t *size);

#endif /* SVC_DATAPLANE_H */
