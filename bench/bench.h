/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* svc-bench internals: packets, measurement, cases, results (docs/performance.md). */
#ifndef SVC_BENCH_H
#define SVC_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <linux/types.h>
#include "svc_abi.h"
#include "dataplane.h"
#include "bench_abi.h"

/*
 * Addresses of the per-packet namespace that scripts/bench.sh creates (only
 * the benchmark ranges 198.18.0.0/15 and 2001:db8::/32): the router's own
 * veth, a gateway with a permanent neighbour entry, and next hops routed
 * through that gateway.
 */
#define BENCH_SRC4 "198.18.0.1"
#define BENCH_SRC6 "2001:db8:b::1"
#define BENCH_GW_MAC "02:00:00:b0:00:02"
#define BENCH_NH4_NET 0xC6130000U /* 198.19.0.0/16: next hop k is 198.19.k/256.k%256 */
#define BENCH_NH6_PREFIX "2001:db8:bb::"
#define BENCH_NH6_ID_BASE 2000	  /* IPv6 next hop k has id BENCH_NH6_ID_BASE + k */
#define BENCH_CLIENT4 0xC6124000U /* 198.18.64.0: first client address (flow index 0) */
#define BENCH_CLIENT6 "2001:db8:64::"
#define BENCH_VIP4 "198.18.100.10"
#define BENCH_VIP6 "2001:db8:100::10"
#define BENCH_NOSVC4 "198.18.100.99"
#define BENCH_NOSVC6 "2001:db8:100::99"
#define BENCH_VPORT 80
#define BENCH_SID4 "2001:db8:5e::1"   /* service behind the IPv4 binding */
#define BENCH_SID6 "2001:db8:5e:6::1" /* service behind the IPv6 binding */
#define BENCH_DECAP4 "198.18.0.9"     /* router whose packets the endpoint decapsulates */
#define BENCH_DECAP6 "2001:db8:b::9"
#define BENCH_VIP4_DEMUX "198.18.100.20" /* bound to a service whose rule is DEMUX */
#define BENCH_VIP6_DEMUX "2001:db8:100::20"
#define BENCH_SID4_DEMUX "2001:db8:5e:d::1"
#define BENCH_SID6_DEMUX "2001:db8:5e:d6::1"
#define BENCH_SET4 1 /* next-hop set of the IPv4 service (IPv4 next hops) */
#define BENCH_SET6 2 /* next-hop set of the IPv6 service (IPv6 next hops) */

/* TCP flags the cases use. */
#define BENCH_TCP_SYN 0x02
#define BENCH_TCP_ACK 0x10

/* One TCP packet of the benchmark: family, endpoints, flags. */
struct bench_tcp {
	int family;	     /* AF_INET or AF_INET6 */
	struct svc_addr src; /* v4-mapped for IPv4 */
	struct svc_addr dst;
	__u16 sport, dport; /* host order */
	__u8 flags;
	__u32 flowid; /* non-zero: carry the flowID option (kind 254, default ExID) */
};

/* pkt.c: frames with valid checksums, MACs 02:00:00:b0:00:09 -> 02:00:00:b0:00:01. */
size_t bench_build_tcp(__u8 *buf, size_t cap, const struct bench_tcp *t);
/* bench_build_encap - wrap the IP packet of frame @in (from byte 14) in an outer header. */
size_t bench_build_encap(__u8 *buf, size_t cap, int outer_family, const struct svc_addr *osrc,
			 const struct svc_addr *odst, const __u8 *in, size_t in_len);
/* Where a benchmark packet goes: the FORWARD service, no service, the DEMUX service. */
enum bench_dst { BENCH_DST_SERVICE, BENCH_DST_NONE, BENCH_DST_DEMUX };
/* bench_flow_tcp - the packet of flow index @i (client address/port as the wrapper varies them). */
void bench_flow_tcp(struct bench_tcp *t, int family, __u64 i, __u8 flags, enum bench_dst dst);
/* bench_flow_key - the router's flow key for flow index @i (see bench_flow_tcp). */
void bench_flow_key(struct svc_flow_key *k, int family, __u64 i);
/* Wrapper offsets of the varied source address word and port for @family. */
__u32 bench_saddr_off(int family);
__u32 bench_sport_off(int family);
__u32 bench_vbase(int family);
/* bench_addr - parse a literal address of this file (aborts on a typo: a programming error). */
struct svc_addr bench_addr(const char *s);
struct svc_addr bench_nh4(__u32 k);
struct svc_addr bench_nh6(__u32 k);

/* What a measured case must produce, checked on every run. */
struct bench_expect {
	__u32 act;	    /* XDP_* verdict of every iteration */
	int reason;	    /* enum svc_reason counted for each iteration, -1: none */
	int also;	    /* a reason that may count up to once an iteration as well, -1: none */
	enum svc_prog prog; /* whose stats map counts it */
	int (*check)(const __u8 *in, size_t in_len, const __u8 *out, size_t out_len, char *why,
		     size_t why_len); /* output frame of the last iteration; NULL: none */
};

/* How a case runs: the packet, how the wrapper varies it, and what runs before each round. */
struct bench_case {
	const char *name;   /* stable snake_case id (JSON) */
	const char *label;  /* table text */
	const char *family; /* "ipv4" / "ipv6" */
	int target_fd;	    /* program under test */
	bool wrapped;	    /* through the restore-and-tail-call wrapper (programs that rewrite) */
	__u8 pkt[BENCH_PKT_MAX];
	size_t len;
	struct bench_wrap_cfg
		vary;		   /* vmode/vbase/vcount/vstart/offsets (pkt_len is set from len) */
	__u64 vstart_step;	   /* SEQ: added to vstart each round (distinct flows per round) */
	__u32 repeat;		   /* iterations per round; 0 = the run's default */
	int (*prepare)(void *arg); /* before each round (e.g. clear the flow table); may be NULL */
	void *prepare_arg;
	struct bench_expect expect;
};

/* A measured case. */
struct bench_result {
	double ns; /* ns/packet as BPF_PROG_TEST_RUN would report it without rewriting effects */
	double net_ns; /* ns/packet above the XDP_PASS baseline */
	double spread; /* max - min of the rounds' figures, ns */
	__u64 packets; /* iterations of the program under test, all verified */
	bool verified; /* every verdict, counter and output matched */
	char why[256]; /* when not verified: what did not match */
};

/* The environment every measurement shares. */
struct bench_env {
	struct svc_dp *dp;
	struct bench_progs_bpf *bp;
	int ifindex;	  /* ingress_ifindex given to BPF_PROG_TEST_RUN */
	int rounds;	  /* rounds per case (median) */
	__u32 repeat;	  /* iterations per round */
	double pass_ns;	  /* XDP_PASS baseline, direct */
	double parse4_ns; /* parse-and-XDP_TX baseline, IPv4 / IPv6 */
	double parse6_ns;
	double floor4_ns; /* the floor: parse + IPIP / IP6IP6 encap + XDP_TX, fixed MACs */
	double floor6_ns;
	json_object *cases; /* per-packet results (array) */
};

/* measure.c */
int bench_measure(struct bench_env *env, struct bench_case *c, struct bench_result *r);
/* bench_env_init - load the wrapper/baseline programs; bench_env_fini - drop the tail-call target.
 */
int bench_env_init(struct bench_env *env, struct svc_dp *dp, int ifindex);
void bench_env_fini(struct bench_env *env);
void bench_env_fini_target(struct bench_env *env);
/* Stats helpers for cases that want to check counters themselves. */
int bench_stats(struct bench_env *env, enum svc_prog prog, struct svc_counter *out);
int bench_clear_flows(void *dp);

/* cases.c: the services, next hops and the per-packet cases of figure 1. */
int bench_dp_configure(struct svc_dp *dp, __u32 nh4_count);
int bench_fig_packet(struct bench_env *env, json_object *out);
/* Record one result: print a table row and append it to @arr. */
void bench_report_case(struct bench_env *env, json_object *arr, const struct bench_case *c,
		       const struct bench_result *r, json_object *extra);
void bench_print_case_header(void);
/* Shared case builders (also used by the scale figures). */
void bench_case_router(struct bench_env *env, struct bench_case *c, int family, const char *kind);
int bench_check_encap(const __u8 *in, size_t in_len, const __u8 *out, size_t out_len, char *why,
		      size_t why_len);

/* targets.c: issue 15's targets, as ratios to this run's floor (after figures 1 and 2). */
int bench_targets(json_object *out);

/* scale.c: figure 2. */
int bench_fig_scale(struct bench_env *env, const char *ifname, const char *pin_base,
		    json_object *out, const char *flow_sizes);

/* The commands (main.c dispatches; each returns the exit status). */
int cmd_live(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* util.c */
double bench_now(void);
double bench_median(double *v, int n);
long bench_fdinfo_memlock(int fd);
json_object *bench_json_double(double v, int decimals);
int bench_write_json(const char *path, json_object *obj);
/* bench_n_a - a figure that cannot be measured yet: {"status":"n/a","reason":...}. */
json_object *bench_n_a(const char *reason);

#endif /* SVC_BENCH_H */
