/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's desired state: services and their instances, bindings, explicit
 * service-table rules, serviceID prefixes, router source addresses, decap
 * sources and program attachments, plus the ids the agent chose for them
 * (next hops, next-hop sets, rules). The ids are part of the state because the
 * pinned maps reference them: the flow table stores next-hop ids, so a
 * restarted agent must map every address to the id it had.
 *
 * Every operation validates its input completely before changing anything:
 * on error (-1, @err set) the registry is unchanged. Serialized as JSON for
 * the state file (svc_reg_to_json / svc_reg_from_json).
 *
 * Implemented in registry.c (lifecycle, lookups), registry_ids.c,
 * registry_service.c (services, instances, bindings), registry_rules.c (rules,
 * prefixes, source addresses, decap sources), registry_attach.c,
 * registry_tiflow.c, registry_direct.c and registry_json.c.
 */
#ifndef SVC_REGISTRY_H
#define SVC_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>
#include <json-c/json.h>
#include "svc_abi.h"
#include "api.h"

/* Schema version of the JSON written by svc_reg_to_json. */
#define SVC_REG_FORMAT 1
/* Instances per service and hops per explicit FORWARD rule. */
#define SVC_REG_MAX_INSTANCES 1024
#define SVC_REG_MAX_HOPS 64
/* sid_prefixes map size (bpf/lib/router_maps.h). */
#define SVC_REG_MAX_PREFIXES 1024
/* Interfaces a program can be attached to. */
#define SVC_REG_MAX_ATTACH 256

/* Active health check kinds of a service. */
enum svc_hc_type {
	SVC_HC_NONE = 0, /* no checks: instances' health stays unknown */
	SVC_HC_TCP = 1,	 /* a TCP connect to the instance address and port succeeds */
	SVC_HC_HTTP = 2, /* GET path over HTTP/1.0 answers with the expected status */
};
/* Longest HTTP check path; bounds of the health settings (docs/svcplaned.md). */
#define SVC_HC_PATH_MAX 127
#define SVC_HC_MS_MIN 10
#define SVC_HC_MS_MAX 100000
#define SVC_HC_COUNT_MAX 100

/* A service's active health check (persisted with the service). */
struct svc_reg_health {
	__u8 type;			/* enum svc_hc_type */
	__u8 rise;			/* consecutive successes that bring a down instance up */
	__u8 fall;			/* consecutive failures that mark an instance down */
	__u16 port;			/* checked port on the instance address (host order) */
	__u16 expect;			/* HTTP: expected status code */
	__u32 interval_ms;		/* from the start of one check to the next */
	__u32 timeout_ms;		/* a check not finished by then fails ("timeout") */
	char path[SVC_HC_PATH_MAX + 1]; /* HTTP: request path, starts with '/' */
};

/* A service: the serviceID, an optional name and the ids of its own FORWARD rule SID/128. */
struct svc_reg_service {
	struct svc_sid sid;
	char name[SVC_NAME_MAX + 1]; /* "" = unnamed */
	__u32 rule_id;		     /* rule_stats index of the SID/128 rule */
	__u32 set_id;		     /* ch_tables index of its next-hop set */
	struct svc_reg_health hc;    /* active health check, type NONE = off */
	bool resolved; /* runtime: a DELAY event installed its rule on demand (not persisted) */
};

/* What an operator asked of an instance besides up/down (Serval shedding vs draining). */
enum svc_inst_mode {
	SVC_INST_ACTIVE = 0, /* takes new flows when up and healthy */
	SVC_INST_DRAIN = 1,  /* no new flows; established flows continue */
	SVC_INST_SHED = 2, /* no new flows; established TCP flows are reset at their next packet */
};

/* Longest "why" text of a health state. */
#define SVC_REG_WHY_MAX 95

/* An instance of a service: where its host is (the encapsulation's outer destination). */
struct svc_reg_instance {
	struct svc_sid sid;   /* service it belongs to */
	struct svc_addr addr; /* instance host address; unique within the service */
	__u32 weight;	      /* 1..SVC_MAX_WEIGHT */
	bool up;	      /* down: no new flows (existing flows drain) */
	char name[SVC_NAME_MAX + 1];
	__u8 mode;	 /* enum svc_inst_mode (persisted) */
	__u32 lease_s;	 /* registration lease in seconds, 0 = none (persisted) */
	bool strip_opts; /* its host runs no svcplane: the router strips svcplane's options
			    (persisted) */
	/* Runtime only (not persisted): set by the agent. */
	double lease_expires;		      /* CLOCK_MONOTONIC seconds; 0 = no lease */
	bool health_down;		      /* active health checks failed (fall threshold) */
	char health_why[SVC_REG_WHY_MAX + 1]; /* last check result, "" = never checked */
};

/* One weighted next hop of an explicit FORWARD rule. */
struct svc_reg_hop {
	struct svc_addr addr;
	__u32 weight;
};

/* An explicit service-table rule. */
struct svc_reg_rule {
	struct svc_lpm_key prefix;
	__u8 action;		  /* enum svc_action */
	__u32 rule_id;		  /* rule_stats index */
	__u32 set_id;		  /* FORWARD only, else 0 */
	size_t nhops;		  /* FORWARD: 1..SVC_REG_MAX_HOPS */
	struct svc_reg_hop *hops; /* owned */
};

struct svc_reg_binding {
	struct svc_binding_key key;
	struct svc_sid sid;
};

/* A program attachment the agent made and restores after a reboot. */
struct svc_reg_attach {
	char iface[IF_NAMESIZE];
	__u8 prog; /* enum svc_prog */
	__u8 mode; /* enum svc_xdp_mode */
};

/* An address's next-hop id (kept while the address is used or its flows drain). */
struct svc_reg_nh {
	struct svc_addr addr;
	__u32 id;
	/*
	 * The instance at this address died (unregistered, lease expired):
	 * while no eligible instance uses it, the next hop carries
	 * SVC_NH_F_RESET so its flows' clients get a RST. Persisted.
	 */
	bool reset;
};

/* TI-flow (agent/lib/tiflow.h): cgroups the sockops program is attached to, and its settings. */
#define SVC_REG_TIFLOW_MAX_CGROUPS 32
#define SVC_REG_TIFLOW_MAX_SELECT 64
/* Longest cgroup v2 directory path kept (bytes, NUL excluded). */
#define SVC_REG_CGROUP_MAX 255
/* TI-flow roles (tiflow.roles): which halves of the handshake this host plays. */
enum svc_tiflow_roles {
	SVC_TIFLOW_ROLES_BOTH = 0,	/* offer in our SYNs and answer offers */
	SVC_TIFLOW_ROLES_INITIATOR = 1, /* offer only (SVC_TIFLOW_CFG_F_NO_RESPOND) */
	SVC_TIFLOW_ROLES_RESPONDER = 2, /* answer only (SVC_TIFLOW_CFG_F_NO_INITIATE) */
};
/* One selected destination/service: any_addr = every address; port 0 = every port. */
struct svc_reg_tiflow_sel {
	struct svc_addr addr;
	bool any_addr;
	__u16 port; /* host order */
};
struct svc_reg_tiflow {
	char cgroups[SVC_REG_TIFLOW_MAX_CGROUPS][SVC_REG_CGROUP_MAX + 1];
	size_t n_cgroups;
	__u16 instance_id; /* top bits of our responder halves (flowID instance) */
	__u8 kind;	   /* option kind, 0 = SVC_TIFLOW_KIND_DEFAULT */
	__u8 roles;	   /* enum svc_tiflow_roles */
	struct svc_reg_tiflow_sel select[SVC_REG_TIFLOW_MAX_SELECT]; /* empty = every socket */
	size_t n_select;
};

/* Direct path (agent/lib/direct.h): interfaces with the direct tc programs, and their maps. */
#define SVC_REG_DIRECT_MAX_IFACES 16
#define SVC_REG_DIRECT_MAX_VIPS 64
#define SVC_REG_DIRECT_MAX_MAP 256
/* What an interface with the direct programs is for (shown, checked; the programs are the same). */
enum svc_direct_role {
	SVC_DIRECT_ROLE_CLIENT = 0,   /* client host: learn SYN-ACKs, send later packets direct */
	SVC_DIRECT_ROLE_INSTANCE = 1, /* instance host: stamp the flowID into SYN-ACKs */
};
struct svc_reg_direct_iface {
	char iface[IF_NAMESIZE];
	__u8 role; /* enum svc_direct_role */
};
/* Client hosts: instance @id is served by the host at @addr. */
struct svc_reg_direct_map {
	__u16 id; /* 1..65535 */
	struct svc_addr addr;
};
struct svc_reg_direct {
	struct svc_reg_direct_iface ifaces[SVC_REG_DIRECT_MAX_IFACES];
	size_t n_ifaces;
	__u16 instance_id; /* instance hosts: stamped into SYN-ACKs; 0 = none */
	struct svc_addr vips[SVC_REG_DIRECT_MAX_VIPS]; /* instance hosts: service addresses */
	size_t n_vips;
	struct svc_reg_direct_map map[SVC_REG_DIRECT_MAX_MAP];
	size_t n_map;
};

struct svc_reg {
	struct svc_reg_service *services;
	size_t n_services, cap_services;
	struct svc_reg_instance *instances;
	size_t n_instances, cap_instances;
	struct svc_reg_binding *bindings;
	size_t n_bindings, cap_bindings;
	struct svc_reg_rule *rules;
	size_t n_rules, cap_rules;
	struct svc_lpm_key *prefixes;
	size_t n_prefixes, cap_prefixes;
	struct svc_addr *decaps;
	size_t n_decaps, cap_decaps;
	struct svc_reg_attach *attachments;
	size_t n_attachments, cap_attachments;
	struct svc_reg_nh *nexthops;
	size_t n_nexthops, cap_nexthops;
	struct svc_addr src4, src6;
	bool has_src4, has_src6;
	struct svc_reg_tiflow tiflow; /* fixed size: copied by value with the registry */
	struct svc_reg_direct direct; /* fixed size, likewise */
	/*
	 * Id allocation: next candidate and bitmaps of ids in use. Next-hop ids
	 * are hashed from the address instead (registry.c nh_id_wanted); next_nh
	 * stays in the state file for its format's sake.
	 */
	__u32 next_nh, next_set, next_rule;
	__u64 nh_used[SVC_MAX_NEXTHOPS / 64];
	__u64 set_used[SVC_MAX_SETS / 64];
	__u64 rule_used[SVC_MAX_RULE_IDS / 64];
};

/* Names of actions, programs, modes and states as used on the wire and in JSON. */
extern const char *const svc_action_names[];	/* index enum svc_action; [0] = NULL */
extern const char *const svc_prog_names[];	/* "router", "endpoint", NULL */
extern const char *const svc_mode_names[];	/* "native", "skb", NULL */
extern const char *const svc_state_names[];	/* "down", "up", NULL */
extern const char *const svc_mode_names_inst[]; /* "active", "drain", "shed", NULL */
/* svc_action_parse - "forward"... -> enum svc_action, or -1. */
int svc_action_parse(const char *s);

void svc_reg_init(struct svc_reg *r);
void svc_reg_free(struct svc_reg *r);
/* svc_reg_dup - deep copy @src into @dst (initialized by this call). 0 or -ENOMEM. */
int svc_reg_dup(struct svc_reg *dst, const struct svc_reg *src);
/* svc_reg_swap - exchange the contents of @a and @b (used to roll back). */
void svc_reg_swap(struct svc_reg *a, struct svc_reg *b);

struct svc_reg_service *svc_reg_service_find(const struct svc_reg *r, const struct svc_sid *sid);
struct svc_reg_instance *svc_reg_instance_find(const struct svc_reg *r, const struct svc_sid *sid,
					       const struct svc_addr *addr);
struct svc_reg_rule *svc_reg_rule_find(const struct svc_reg *r, const struct svc_lpm_key *p);
struct svc_reg_binding *svc_reg_binding_find(const struct svc_reg *r,
					     const struct svc_binding_key *k);
struct svc_reg_attach *svc_reg_attach_find(const struct svc_reg *r, const char *iface);
/* svc_reg_nh_id - the next-hop id of @addr, 0 if it has none. */
__u32 svc_reg_nh_id(const struct svc_reg *r, const struct svc_addr *addr);
/* svc_reg_nh_used - true if an instance or an explicit rule still uses @addr. */
bool svc_reg_nh_used(const struct svc_reg *r, const struct svc_addr *addr);
/* svc_reg_nh_release - forget the id of an unused address (its flows have drained). */
int svc_reg_nh_release(struct svc_reg *r, __u32 id);
/*
 * svc_reg_instance_eligible - @in takes new flows: admin up, mode active,
 * health not down.
 */
bool svc_reg_instance_eligible(const struct svc_reg_instance *in);
/*
 * svc_reg_nh_flags - the SVC_NH_F_UP / SVC_NH_F_RESET flags @addr's next hop
 * must carry: UP while an eligible instance, a draining, admin-down or
 * health-down instance, or an explicit rule uses it (a failed health
 * check only stops new flows); RESET (not UP) when only shed instances use
 * it, or it is marked reset (dead) and nothing uses it.
 * 0 for an unused address that is not marked reset (left draining).
 */
__u32 svc_reg_nh_flags(const struct svc_reg *r, const struct svc_addr *addr);
/* svc_reg_nh_set_reset - mark @addr's next hop dead (its instance died); no-op if none. */
void svc_reg_nh_set_reset(struct svc_reg *r, const struct svc_addr *addr, bool reset);
/*
 * svc_reg_service_on_demand - @s is resolved on demand: the longest explicit
 * rule covering its serviceID is DELAY and no packet has resolved it yet, so
 * its own SID/128 rule is not installed (the first SYN goes to the agent).
 */
bool svc_reg_service_on_demand(const struct svc_reg *r, const struct svc_reg_service *s);
/* svc_reg_covering_rule - the longest explicit rule whose prefix contains @sid (shorter than /128),
 * or NULL. */
const struct svc_reg_rule *svc_reg_covering_rule(const struct svc_reg *r,
						 const struct svc_sid *sid);
/* svc_reg_instance_count - instances of @sid (*up gets how many are up; may be NULL). */
size_t svc_reg_instance_count(const struct svc_reg *r, const struct svc_sid *sid, size_t *up);
/* svc_reg_binding_count - bindings that lead to @sid. */
size_t svc_reg_binding_count(const struct svc_reg *r, const struct svc_sid *sid);

int svc_reg_service_add(struct svc_reg *r, const struct svc_sid *sid, const char *name,
			struct svc_err *err);
/*
 * svc_reg_service_health - set (or with type NONE clear) @sid's health check;
 * validates every field. Clearing forgets its instances' health results.
 */
int svc_reg_service_health(struct svc_reg *r, const struct svc_sid *sid,
			   const struct svc_reg_health *hc, struct svc_err *err);
/* svc_hc_from_json - {type, port, interval_ms, timeout_ms, rise, fall, path?, expect?} -> @hc. */
int svc_hc_from_json(json_object *h, struct svc_reg_health *hc, struct svc_err *err);
/* svc_hc_type_names - "none", "tcp", "http", NULL (index enum svc_hc_type). */
extern const char *const svc_hc_type_names[];

/* svc_reg_service_del - also removes its instances; refused while bindings lead to it. */
int svc_reg_service_del(struct svc_reg *r, const struct svc_sid *sid, struct svc_err *err);

int svc_reg_instance_add(struct svc_reg *r, const struct svc_sid *sid, const struct svc_addr *addr,
			 __u32 weight, const char *name, struct svc_err *err);
/* svc_reg_instance_set - @weight 0 = unchanged, @up < 0 = unchanged; at least one must change. */
int svc_reg_instance_set(struct svc_reg *r, const struct svc_sid *sid, const struct svc_addr *addr,
			 __u32 weight, int up, struct svc_err *err);
int svc_reg_instance_del(struct svc_reg *r, const struct svc_sid *sid, const struct svc_addr *addr,
			 struct svc_err *err);
/* svc_reg_instance_mode - set an instance's mode (enum svc_inst_mode). */
int svc_reg_instance_mode(struct svc_reg *r, const struct svc_sid *sid, const struct svc_addr *addr,
			  int mode, struct svc_err *err);

int svc_reg_binding_add(struct svc_reg *r, const struct svc_binding_key *key,
			const struct svc_sid *sid, struct svc_err *err);
int svc_reg_binding_del(struct svc_reg *r, const struct svc_binding_key *key, struct svc_err *err);

/* svc_reg_rule_add - FORWARD needs 1..SVC_REG_MAX_HOPS distinct hops; other actions none. */
int svc_reg_rule_add(struct svc_reg *r, const struct svc_lpm_key *prefix, int action,
		     const struct svc_reg_hop *hops, size_t nhops, struct svc_err *err);
int svc_reg_rule_del(struct svc_reg *r, const struct svc_lpm_key *prefix, struct svc_err *err);

int svc_reg_prefix_add(struct svc_reg *r, const struct svc_lpm_key *p, struct svc_err *err);
int svc_reg_prefix_del(struct svc_reg *r, const struct svc_lpm_key *p, struct svc_err *err);

/* svc_reg_src_set - the router's outer source for @addr's family. */
int svc_reg_src_set(struct svc_reg *r, const struct svc_addr *addr, struct svc_err *err);

int svc_reg_decap_add(struct svc_reg *r, const struct svc_addr *a, struct svc_err *err);
int svc_reg_decap_del(struct svc_reg *r, const struct svc_addr *a, struct svc_err *err);

int svc_reg_attach_add(struct svc_reg *r, const char *iface, int prog, int mode,
		       struct svc_err *err);
int svc_reg_attach_del(struct svc_reg *r, const char *iface, struct svc_err *err);

/*
 * TI-flow. A cgroup is an absolute path of at most SVC_REG_CGROUP_MAX bytes
 * without "//", "." or ".." components nor a trailing '/' (checked here; that it
 * is a cgroup v2 directory is the agent's check).
 */
bool svc_cgroup_path_valid(const char *path);
int svc_reg_tiflow_enable(struct svc_reg *r, const char *cgroup, struct svc_err *err);
int svc_reg_tiflow_disable(struct svc_reg *r, const char *cgroup, struct svc_err *err);
/* svc_reg_tiflow_set - @instance_id < 0, @kind < 0, @roles < 0: unchanged; kind 0 = default,
 * else 2..255. */
int svc_reg_tiflow_set(struct svc_reg *r, long instance_id, int kind, int roles,
		       struct svc_err *err);
int svc_reg_tiflow_select_add(struct svc_reg *r, const struct svc_reg_tiflow_sel *sel,
			      struct svc_err *err);
int svc_reg_tiflow_select_del(struct svc_reg *r, const struct svc_reg_tiflow_sel *sel,
			      struct svc_err *err);
/* svc_reg_tiflow_configured - anything TI-flow recorded (a cgroup, a selection or a setting). */
bool svc_reg_tiflow_configured(const struct svc_reg *r);
/* svc_tiflow_roles_names - "both", "initiator", "responder", NULL. */
extern const char *const svc_tiflow_roles_names[];
/*
 * svc_tiflow_sel_parse - "ADDR" (any port), ":PORT" (any address), "ADDR:PORT"
 * (IPv4) or "[V6]:PORT", PORT 1..65535. 0 or -EINVAL.
 */
int svc_tiflow_sel_parse(const char *s, struct svc_reg_tiflow_sel *out);
/* svc_tiflow_sel_format - the canonical text of @sel (the form svc_tiflow_sel_parse reads). */
const char *svc_tiflow_sel_format(const struct svc_reg_tiflow_sel *sel, char *buf, size_t len);

/*
 * Direct path. svc_reg_direct_iface_set - record @iface with @role (a recorded
 * interface changes role); @instance_id >= 0 sets the host's instance id.
 */
int svc_reg_direct_iface_set(struct svc_reg *r, const char *iface, int role, long instance_id,
			     struct svc_err *err);
int svc_reg_direct_iface_del(struct svc_reg *r, const char *iface, struct svc_err *err);
struct svc_reg_direct_iface *svc_reg_direct_iface_find(const struct svc_reg *r, const char *iface);
int svc_reg_direct_vip_add(struct svc_reg *r, const struct svc_addr *a, struct svc_err *err);
int svc_reg_direct_vip_del(struct svc_reg *r, const struct svc_addr *a, struct svc_err *err);
/* svc_reg_direct_map_set - instance @id (1..65535) at @addr; replaces the id's address. */
int svc_reg_direct_map_set(struct svc_reg *r, long id, const struct svc_addr *addr,
			   struct svc_err *err);
int svc_reg_direct_map_del(struct svc_reg *r, long id, struct svc_err *err);
/* svc_reg_direct_configured - anything direct-path recorded. */
bool svc_reg_direct_configured(const struct svc_reg *r);
/* svc_direct_role_names - "client", "instance", NULL. */
extern const char *const svc_direct_role_names[];

/* svc_iface_valid - a Linux interface name: 1..15 bytes, no '/', ':' or whitespace. */
bool svc_iface_valid(const char *name);

/*
 * Building a registry from outside records (agent/lib/regkv.c): add with
 * given ids. svc_reg_service_add_ids / svc_reg_rule_add_ids take 0 to
 * allocate; svc_reg_nh_set records @addr's next-hop id @id (refused if either
 * is known already).
 */
int svc_reg_service_add_ids(struct svc_reg *r, const struct svc_sid *sid, const char *name,
			    __u32 rule_id, __u32 set_id, struct svc_err *err);
int svc_reg_rule_add_ids(struct svc_reg *r, const struct svc_lpm_key *prefix, int action,
			 const struct svc_reg_hop *hops, size_t nhops, __u32 rule_id, __u32 set_id,
			 struct svc_err *err);
int svc_reg_nh_set(struct svc_reg *r, const struct svc_addr *addr, __u32 id, bool reset,
		   struct svc_err *err);

/* svc_reg_to_json - the whole registry (ids included) as a new JSON object, NULL on ENOMEM. */
json_object *svc_reg_to_json(const struct svc_reg *r);
/*
 * svc_reg_from_json - rebuild a registry from svc_reg_to_json output, checking
 * everything (types, ranges, references, duplicate ids). @r is initialized by
 * this call; on error it is left empty and @err says what is wrong.
 */
int svc_reg_from_json(struct svc_reg *r, json_object *obj, struct svc_err *err);

#endif /* SVC_REGISTRY_H */
