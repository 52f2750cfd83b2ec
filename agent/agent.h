/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* svcplaned internals: the agent's state and the interfaces between its parts. */
#ifndef SVC_AGENT_H
#define SVC_AGENT_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <json-c/json.h>
#include "api.h"
#include "ch.h"
#include "config.h"
#include "dataplane.h"
#include "kfeatures.h"
#include "registry.h"
#include "route.h"
#include "version.h"

/* Concurrent API clients; more are refused with an error line. */
#define SVC_AGENT_MAX_CLIENTS 64
/* An API client silent this long is disconnected. */
#define SVC_AGENT_CLIENT_IDLE_S 60
/*
 * A next hop no instance or rule uses any more keeps forwarding the flows
 * that still point at it until none of them has seen a packet for this long
 * (drain); then it is zeroed and its id freed.
 */
#define SVC_AGENT_DRAIN_IDLE_S 15
/* Longest main-loop sleep: lease expiry, registration refresh and health checks run per tick. */
#define SVC_AGENT_TICK_MS 100
/* How often draining next hops are checked. */
#define SVC_AGENT_GC_PERIOD_S 2
/*
 * How often next-hop neighbours are re-resolved: XDP traffic never confirms a
 * neighbour entry, so the kernel would let it go stale and eventually drop it.
 */
#define SVC_AGENT_NEIGH_PERIOD_S 30
/*
 * A flow counts as remaining (instance list/show/shed/drain: active_flows)
 * while its latest packet is younger than this; the flow table never says
 * that a connection ended, so "remaining" means "still sending".
 */
#define SVC_AGENT_ACTIVE_FLOW_S 1.0
/* flows.list: default and largest number of flows returned. */
#define SVC_AGENT_FLOWS_DEFAULT 1000
#define SVC_AGENT_FLOWS_MAX 100000

/* service.health defaults. */
#define SVC_AGENT_HC_DEFAULT_INTERVAL_MS 2000
#define SVC_AGENT_HC_DEFAULT_TIMEOUT_MS 1000
#define SVC_AGENT_HC_DEFAULT_RISE 2
#define SVC_AGENT_HC_DEFAULT_FALL 3
/* Data-plane health signals: new refused SYNs + ICMP unreachables per window that mark an
 * instance down, and the longest window (shorter with a shorter check interval). */
#define SVC_AGENT_HC_SIGNAL_MIN 3
#define SVC_AGENT_HC_SIGNAL_WINDOW_MS 500
/* Concurrent health checks in progress are unbounded; their fds polled per loop at most: */
#define SVC_AGENT_HC_POLL_MAX 256

/* DELAY slow path (delay.c): held packets handled per wake-up: cfg.delay_queue (--delay-queue). */
/* Per-source token buckets: slots, refill rate (events/s) and burst. */
#define SVC_AGENT_DELAY_BUCKETS 1024
#define SVC_AGENT_DELAY_RATE 50.0
#define SVC_AGENT_DELAY_BURST 20.0

/* How resolved held packets are sent on (docs/datapath.md "DELAY"). */
enum agent_delay_path {
	AGENT_DELAY_LIVE = 0, /* test run with BPF_F_TEST_XDP_LIVE_FRAMES: the kernel transmits */
	AGENT_DELAY_COPY,     /* test run without live mode, the output frame sent with AF_PACKET */
};

/* The re-injection path in use and why (status). */
struct agent_delay_choice {
	enum agent_delay_path path;
	const char *why;
};

/* What happened to DELAY events (stats, metrics). */
struct agent_delay_stats {
	uint64_t received;   /* events read from the ring */
	uint64_t reinjected; /* resolved and sent on through the router program (either path) */
	uint64_t reinjected_live; /* ... by the live path */
	uint64_t reinjected_copy; /* ... by the copy path */
	uint64_t copy_pass;    /* copy path: the router said XDP_PASS, which it cannot carry out */
	uint64_t copy_drop;    /* copy path: the router dropped the packet (its reason counted) */
	uint64_t live_refused; /* live runs the kernel refused at run time (auto: then copied) */
	uint64_t drop_rate;    /* over the source's rate limit */
	uint64_t drop_queue;   /* queue full */
	uint64_t unresolvable; /* no service with eligible instances under a DELAY rule */
	uint64_t rst_sent;     /* unresolvable TCP packets answered with a RST (cfg.delay_rst) */
	uint64_t errors;       /* truncated frame, reconcile or re-injection failure */
	uint64_t bad;	       /* short record */
};

/* Upper bounds (seconds) of the reconcile latency histogram buckets; +Inf is implicit. */
#define SVC_RECONCILE_BUCKETS 10

/* What was last installed for one next-hop set (to rebuild only sets that changed). */
struct set_cache {
	bool valid; /* installed by this process */
	size_t n;
	struct svc_ch_member *m; /* sorted by nh_id */
};

struct agent_client;
struct agent_probe;
struct agent_delay;
struct MHD_Daemon;
struct svc_listen_watch;
struct svc_tiflow;
struct svc_direct;
struct agent_etcd;

/* Register on bind: listeners tracked and registrations made at the router agent. */
#define SVC_AGENT_MAX_LISTENERS 1024
struct agent_listener {
	struct svc_addr addr; /* all-zero = any address */
	__u64 sock_id;	      /* 0 = found by the start-up scan */
	__u16 port;	      /* host order */
};
struct agent_registration {
	struct svc_sid sid;
	bool done;	 /* the router agent accepted it */
	double last;	 /* CLOCK_MONOTONIC of the last accepted add/refresh */
	double retry_at; /* next attempt after a failure */
};

struct agent {
	struct svc_agent_cfg cfg;
	struct svc_reg reg; /* desired state */
	struct svc_dp *dp;
	bool adopted; /* pinned maps existed at start */
	char state_path[PATH_MAX + 16];
	int lock_fd;
	int pin_lock_fd; /* flock on the pin directory (svc_pin_dir_lock) */
	int listen_fd;
	int signal_fd;
	struct agent_client *clients[SVC_AGENT_MAX_CLIENTS];
	struct MHD_Daemon *mhd;
	struct timespec started; /* CLOCK_MONOTONIC */
	time_t next_gc;		 /* CLOCK_MONOTONIC seconds */
	time_t next_neigh;	 /* CLOCK_MONOTONIC seconds */
	int nhe_fd;		 /* next-hop egress: rtnetlink events (svc_dp_nh_watch_start), -1 */

	/* Reconcile bookkeeping. */
	struct set_cache sets[SVC_MAX_SETS];
	bool full_scan_done; /* stale map entries from before this process were removed */
	__u64 retarget_sig;  /* flows_retarget: the candidates of its last walk (0: none) */
	uint64_t reconciles, reconcile_errors;
	double reconcile_sum; /* seconds */
	uint64_t reconcile_bucket[SVC_RECONCILE_BUCKETS + 1];
	double last_reconcile_s;

	/* Register on bind (register.c). */
	struct svc_listen_watch *lwatch;
	__u64 lwatch_lost;
	struct agent_listener listeners[SVC_AGENT_MAX_LISTENERS];
	size_t n_listeners;
	struct agent_registration registered[SVC_AGENT_MAX_LISTENERS];
	size_t n_registered;

	/* Active health checks (health.c): one probe per checked instance. */
	struct agent_probe *probes;
	size_t n_probes, cap_probes;

	/* DELAY slow path (delay.c). */
	struct agent_delay *delay;
	struct agent_delay_stats delay_stats;
	struct agent_delay_choice delay_choice;

	/* Kernel features probed at start (agent/lib/kfeatures.c). */
	struct svc_features features;

	/* TI-flow sockops program (tiflow.c); NULL until TI-flow is configured. */
	struct svc_tiflow *tiflow;
	/* Direct-path tc programs (directpath.c); NULL until the direct path is configured. */
	struct svc_direct *direct;

	/* The registry on etcd (etcdreg.c); NULL without --registry. */
	struct agent_etcd *etcd;

	/* route.get (route.c): the router program's probe instance; NULL until first used. */
	struct svc_route *route;

	/* API counters by error class (SVC_API_OK = success). */
	uint64_t api_requests[SVC_API_CODE_MAX];
	uint64_t api_clients_refused;
};

extern const double svc_reconcile_bounds[SVC_RECONCILE_BUCKETS];

/* state.c: the registry on disk. */
/* agent_state_load - read the state file into a->reg; -EBADMSG names the problem in @why. */
int agent_state_load(struct agent *a, char *why, size_t whylen);
/* agent_state_save - write a->reg to the state file (atomic). */
int agent_state_save(struct agent *a, char *why, size_t whylen);

/* reconcile.c: desired state -> maps. */
/* agent_reconcile - write the whole desired state into the maps and remove what is not desired. */
int agent_reconcile(struct agent *a);
/* agent_opt_key_setup - the option key (--opt-key, the state dir, else generated) into the maps. */
int agent_opt_key_setup(struct agent *a);
/* agent_neigh_refresh - re-resolve the neighbours of the next hops in use (periodic). */
void agent_neigh_refresh(struct agent *a);
/* agent_gc - zero next hops that no longer have a user nor a recently active flow. */
int agent_gc(struct agent *a);
/* agent_set_cache_free - forget what was installed (frees memory). */
void agent_set_cache_free(struct agent *a);
/* agent_flow_count - number of entries in the flow table now. */
int agent_flow_count(struct agent *a, size_t *count);
/*
 * agent_flow_tally - one walk of the flow table: *total entries, and per rule
 * id / next-hop id counts in @per_rule[SVC_MAX_RULE_IDS] and @per_nh[SVC_MAX_NEXTHOPS].
 */
int agent_flow_tally(struct agent *a, size_t *total, __u32 *per_rule, __u32 *per_nh);

/* agent_flow_active - per next-hop id, flows active in the last SVC_AGENT_ACTIVE_FLOW_S. */
int agent_flow_active(struct agent *a, __u32 *per_nh);

/* handlers.c: one function per API op. */
/* agent_handle - run one request; returns a response object (never NULL unless out of memory). */
json_object *agent_handle(struct agent *a, const char *line, size_t len);
/* agent_attachments_restore - attach recorded programs that are not attached (start-up). */
void agent_attachments_restore(struct agent *a);
/*
 * agent_map_fill - {map, entries, max_entries} for each map (status, metrics).
 * @flows: the flow table's entry count if the caller has it, or -1 to count.
 */
json_object *agent_map_fill(struct agent *a, long long flows);

/* server.c: the unix-socket API server. */
int agent_server_open(struct agent *a);
void agent_server_close(struct agent *a);
/* agent_server_pollfds - add the listening socket and clients to @pfds; returns count added. */
int agent_server_pollfds(struct agent *a, struct pollfd *pfds, int max);
/* agent_server_dispatch - handle readiness reported for the fds added by agent_server_pollfds. */
void agent_server_dispatch(struct agent *a, struct pollfd *pfds, int n);
/* agent_server_expire - drop idle clients. */
void agent_server_expire(struct agent *a);

/* metrics.c: Prometheus endpoint (libmicrohttpd, driven from the main loop). */
int agent_metrics_start(struct agent *a);
void agent_metrics_stop(struct agent *a);
/* agent_metrics_fd - fd to poll for the metrics server (-1 if off); *timeout_ms gets its timer. */
int agent_metrics_fd(struct agent *a, int *timeout_ms);
void agent_metrics_run(struct agent *a);
/* agent_metrics_render - the /metrics text (malloc'd), for the HTTP handler and tests. */
char *agent_metrics_render(struct agent *a, size_t *len);

/* register.c: register on bind, unregister on close; lease expiry. */
/* agent_register_start - with --register-to: watch listeners and register; restart leases. */
int agent_register_start(struct agent *a);
void agent_register_stop(struct agent *a);
/* agent_register_fd - the listen-event fd to poll, -1 if not registering. */
int agent_register_fd(struct agent *a);
/* agent_register_run - consume listen events (@readable) and sync registrations/refreshes. */
void agent_register_run(struct agent *a, bool readable);
/* agent_leases_expire - leases.c: remove instances whose lease ran out (as dead: their flows reset). */
int agent_leases_expire(struct agent *a);

/* health.c: active health checks, non-blocking, driven by the main loop. */
/*
 * agent_health_pollfds - fds of checks in progress (at most @max) into @pfds;
 * *timeout_ms is lowered to the next check's start or deadline.
 */
int agent_health_pollfds(struct agent *a, struct pollfd *pfds, int max, int *timeout_ms);
/* agent_health_run - start due checks, finish ready or timed-out ones, apply rise/fall. */
void agent_health_run(struct agent *a);
/* agent_health_stop - close every check in progress. */
void agent_health_stop(struct agent *a);

/* delay.c: the DELAY slow path (ring buffer -> resolve -> re-inject). */
/*
 * agent_delay_choose - the re-injection path from --delay-reinject and the
 * kernel feature probes (run first): a forced path the kernel refuses is an
 * error (the agent does not start); auto falls back to copy, logged once.
 */
int agent_delay_choose(struct agent *a);
int agent_delay_start(struct agent *a);
void agent_delay_stop(struct agent *a);
/* agent_delay_fd - the ring buffer's epoll fd to poll, -1 if not started. */
int agent_delay_fd(struct agent *a);
/* agent_delay_run - consume held packets (@readable), resolve and re-inject them. */
void agent_delay_run(struct agent *a, bool readable);
/* agent_delay_json - the delay_stats (and the re-injection path) as a JSON object. */
json_object *agent_delay_json(struct agent *a);
/* agent_delay_path - the re-injection path in use now. */
enum agent_delay_path agent_delay_path(struct agent *a);
/* agent_delay_path_name - "live" or "copy". */
const char *agent_delay_path_name(enum agent_delay_path p);
/* agent_delay_path_why - why that path (for status). */
const char *agent_delay_path_why(struct agent *a);
/* agent_delay_build_rst - the RST frame answering held frame @in (@len bytes) into @out
 * (at least 74 bytes); its length, or -EPROTONOSUPPORT / -EMSGSIZE. */
int agent_delay_build_rst(const __u8 *in, __u32 len, __u8 *out, size_t cap);

/* tiflow.c: TI-flow settings, selection and cgroup attachments (tiflow.* ops). */
/* agent_tiflow_sync - apply a->reg.tiflow to the kernel (loads the program once configured). */
int agent_tiflow_sync(struct agent *a, char *why, size_t whylen);
/* agent_tiflow_restore - start-up: apply the recorded TI-flow settings, log what failed. */
void agent_tiflow_restore(struct agent *a);
void agent_tiflow_stop(struct agent *a);
int agent_op_tiflow_enable(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err);
int agent_op_tiflow_disable(struct agent *a, json_object *args, json_object *res,
			    struct svc_err *err);
int agent_op_tiflow_set(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_tiflow_select_add(struct agent *a, json_object *args, json_object *res,
			       struct svc_err *err);
int agent_op_tiflow_select_del(struct agent *a, json_object *args, json_object *res,
			       struct svc_err *err);
int agent_op_tiflow_show(struct agent *a, json_object *args, json_object *res, struct svc_err *err);

/* directpath.c: the direct path's interfaces, instance id, service addresses and instance map. */
/* agent_direct_sync - apply a->reg.direct to the kernel (loads the programs once configured). */
int agent_direct_sync(struct agent *a, char *why, size_t whylen);
/* agent_direct_restore - start-up: apply the recorded direct-path settings, log what failed. */
void agent_direct_restore(struct agent *a);
void agent_direct_stop(struct agent *a);
int agent_op_direct_client(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err);
int agent_op_direct_instance(struct agent *a, json_object *args, json_object *res,
			     struct svc_err *err);
int agent_op_direct_off(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_direct_vip_add(struct agent *a, json_object *args, json_object *res,
			    struct svc_err *err);
int agent_op_direct_vip_del(struct agent *a, json_object *args, json_object *res,
			    struct svc_err *err);
int agent_op_direct_map(struct agent *a, json_object *args, json_object *res, struct svc_err *err);
int agent_op_direct_unmap(struct agent *a, json_object *args, json_object *res,
			  struct svc_err *err);
int agent_op_direct_show(struct agent *a, json_object *args, json_object *res, struct svc_err *err);

/* etcdreg.c: the registry on etcd (--registry). */
/*
 * etcd calls run in the main loop (API, registration, reconcile wait on them):
 * connect and request limits per endpoint, a bound on one call over every
 * endpoint, and the longest hold during which calls fail at once after one
 * found no endpoint (svc_etcd_set_budget). With every member hung the loop
 * loses at most CALL_MS once per hold instead of 3 x REQUEST_MS per call.
 */
#define SVC_AGENT_ETCD_CONNECT_MS 500
#define SVC_AGENT_ETCD_REQUEST_MS 1500
#define SVC_AGENT_ETCD_CALL_MS 2500
#define SVC_AGENT_ETCD_HOLD_MS 5000
/* An op whose etcd transaction lost a race is re-run on the fresh registry this many times. */
#define SVC_ETCD_OP_TRIES 4
/* agent_etcd_start - with --registry: list, rebuild, watch (etcd away: keep the cached state). */
int agent_etcd_start(struct agent *a);
void agent_etcd_stop(struct agent *a);
/* agent_etcd_pollfds - the watch's sockets; lowers *timeout_ms to the next retry. */
int agent_etcd_pollfds(struct agent *a, struct pollfd *pfds, int max, int *timeout_ms);
/* agent_etcd_run - apply watch events, re-list/re-watch after failures, keep the lease alive. */
void agent_etcd_run(struct agent *a);
/*
 * agent_etcd_commit - write a->reg's shared objects to etcd (compare-and-swap
 * against what the op saw; @before is the registry before the op), wait for
 * the watch to deliver the write, rebuild, save and reconcile. 0, -EAGAIN
 * (lost a race: a->reg is etcd's again, re-run the op) or another error (@err).
 */
int agent_etcd_commit(struct agent *a, const struct svc_reg *before, struct svc_err *err);
/* agent_etcd_register - this host (--instance-addr) as an instance of @sid under our lease. */
int agent_etcd_register(struct agent *a, const struct svc_sid *sid);
int agent_etcd_unregister(struct agent *a, const struct svc_sid *sid);
/* agent_etcd_status - {"backend": "local"|"etcd", ...} for status. */
json_object *agent_etcd_status(struct agent *a);
/* agent_register_forget - leases.c: redo every registration (the lease was lost). */
void agent_register_forget(struct agent *a);

/* route.c: which instance the data plane picks for a packet (route.get). */
int agent_op_route_get(struct agent *a, json_object *args, json_object *res, struct svc_err *err);

/* main.c */
double agent_now_s(void); /* clock.c: CLOCK_MONOTONIC seconds */

#endif /* SVC_AGENT_H */
