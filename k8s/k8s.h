/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* svcplane-k8s: Kubernetes Services and EndpointSlices -> svcplaned's services, bindings,
 * instances. */
#ifndef SVC_K8S_H
#define SVC_K8S_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "addr.h"
#include "api.h"

/* The annotations svcplane-k8s reads on a v1 Service (docs/kubernetes.md). */
#define K8S_ANN_VIP "svcplane.io/vip"	      /* selects the Service: its VIPs */
#define K8S_ANN_SID "svcplane.io/sid"	      /* its serviceID (IPv6 form) */
#define K8S_ANN_WEIGHTS "svcplane.io/weights" /* "POD|ADDR=W,...,*=W" */
/* The label the EndpointSlice controller sets to the owning Service's name. */
#define K8S_LABEL_SERVICE "kubernetes.io/service-name"
/* Agent services whose name starts with this are svcplane-k8s's own (created, updated, deleted). */
#define K8S_NAME_PREFIX "k8s."

/* What the agent does with an endpoint. */
enum k8s_inst_state {
	K8S_INST_GONE = 0, /* not serving: not an instance */
	K8S_INST_DRAIN,	   /* serving && terminating: existing flows only */
	K8S_INST_SERVING,  /* ready: new flows too */
};

struct k8s_instance {
	char addr[SVC_ADDR_STRLEN]; /* canonical (svc_addr_format) */
	char name[SVC_NAME_MAX + 1];
	unsigned int weight;
	enum k8s_inst_state state; /* SERVING or DRAIN */
};

/* One selected Service: what the agent should hold for it. */
struct k8s_service {
	char key[256];		     /* "namespace/name" */
	char sid[SVC_ADDR_STRLEN];   /* canonical */
	char name[SVC_NAME_MAX + 1]; /* agent service name: K8S_NAME_PREFIX "ns.name" */
	char (*bindings)[SVC_ADDR_STRLEN];
	size_t n_bindings;
	struct k8s_instance *inst;
	size_t n_inst;
};

/* The desired state: every selected Service, sorted by sid. */
struct k8s_desired {
	struct k8s_service *svc;
	size_t n;
};

/* ---- model.c: pure mapping of API objects (unit tested) ---- */

/*
 * k8s_endpoint_state - the mapping of an endpoint's conditions: ready (absent =
 * true) and not terminating -> SERVING; terminating && serving (absent = ready)
 * -> DRAIN; anything else -> GONE.
 */
enum k8s_inst_state k8s_endpoint_state(json_object *conditions);

/*
 * k8s_desired_build - the desired state from the Services and EndpointSlices
 * (arrays of API objects, either may be NULL). Services without K8S_ANN_VIP are
 * ignored; a selected Service with a bad annotation is skipped with a warning
 * (once per distinct problem, via @warn when not NULL). Slices are matched to
 * their Service by namespace and K8S_LABEL_SERVICE and merged; an address in
 * several slices takes its best state. Returns 0 or -ENOMEM.
 */
int k8s_desired_build(json_object *services, json_object *slices, struct k8s_desired *out,
		      void (*warn)(const char *key, const char *msg));
void k8s_desired_free(struct k8s_desired *d);
/* k8s_desired_find - the service with @sid, or NULL. */
const struct k8s_service *k8s_desired_find(const struct k8s_desired *d, const char *sid);
/* k8s_service_name - the agent name of Service @ns/@name (cut to SVC_NAME_MAX with a hash). */
void k8s_service_name(const char *ns, const char *name, char *out, size_t len);

/* ---- cache.c: one resource kind's objects, kept by list + watch ---- */

struct k8s_cache {
	pthread_mutex_t lock;
	json_object *objs;	  /* "namespace/name" -> object */
	char rv[64];		  /* resourceVersion to watch from ("" = list first) */
	bool synced;		  /* a list has completed once */
	unsigned long generation; /* bumped at every change */
};

void k8s_cache_init(struct k8s_cache *c);
void k8s_cache_fini(struct k8s_cache *c);
/* k8s_cache_replace - a complete list: its items and resourceVersion replace everything. */
void k8s_cache_replace(struct k8s_cache *c, json_object *items, const char *rv);
/*
 * k8s_cache_event - apply one watch event ({"type","object"}). Returns 0,
 * 1 for a BOOKMARK (rv advanced only), -ESTALE for an ERROR with code 410
 * (re-list), -EPROTO for anything malformed or another ERROR.
 */
int k8s_cache_event(struct k8s_cache *c, json_object *ev);
/* k8s_cache_snapshot - a new array of (references to) the objects; *gen its generation. */
json_object *k8s_cache_snapshot(struct k8s_cache *c, unsigned long *gen, bool *synced);

/* ---- kapi.c: the apiserver connection (libcurl) ---- */

struct k8s_conn {
	char server[512];     /* "https://host:port", no trailing slash */
	char token[4096];     /* bearer token, "" = none */
	char token_file[512]; /* re-read at each request (projected tokens rotate) */
	char ca_file[512];    /* "" = system CAs (or ca_pem) */
	char *ca_pem;	      /* a kubeconfig's certificate-authority-data, decoded */
	size_t ca_pem_len;
	bool insecure; /* --insecure-skip-tls-verify */
	volatile sig_atomic_t *stop;
};

/* k8s_conn_incluster - the service-account config; -ENOENT when not in a cluster. */
int k8s_conn_incluster(struct k8s_conn *c);
/*
 * k8s_conn_kubeconfig - the current context's cluster and user of a kubeconfig
 * in the layout kubectl writes (block YAML; flow style and anchors are not read).
 */
int k8s_conn_kubeconfig(struct k8s_conn *c, const char *path);
void k8s_conn_fini(struct k8s_conn *c);

/* A watched resource kind. */
struct k8s_kind {
	const char *name; /* "services" */
	const char *path; /* "/api/v1/services" */
	struct k8s_cache *cache;
};

/* Backoff after errors: doubling from min to max milliseconds. */
struct k8s_backoff {
	unsigned int min_ms, max_ms, cur_ms;
};

/*
 * k8s_follow - list and watch @kind until *stop: list, watch from the list's
 * resourceVersion with bookmarks, re-watch from the last resourceVersion when a
 * stream ends, re-list on 410 Gone, back off on errors. @notify is called (with
 * @arg) after each change of the cache.
 */
void k8s_follow(struct k8s_conn *c, const struct k8s_kind *kind, struct k8s_backoff bo,
		unsigned int watch_timeout_s, void (*notify)(void *), void *arg);

/* ---- agentc.c: the agent's control API (unix socket) ---- */

/*
 * k8s_agent_call - one request to svcplaned at @sock. Returns 0 with *result
 * (owned by the caller, may be NULL if unwanted), 1 when the agent refused it
 * (@err set), -1 when the agent could not be reached or answered garbage.
 */
int k8s_agent_call(const char *sock, const char *op, json_object *args, json_object **result,
		   struct svc_err *err);

/* ---- reconcile.c ---- */

struct k8s_reconcile_stats {
	unsigned int ops;    /* changes made */
	unsigned int errors; /* changes the agent refused */
};

/*
 * k8s_reconcile - make the agent's services named K8S_NAME_PREFIX*, their
 * bindings and instances equal to @d. Returns 0, or -1 when the agent could not
 * be read (nothing is removed then).
 */
int k8s_reconcile(const char *sock, const struct k8s_desired *d, struct k8s_reconcile_stats *st);

#endif /* SVC_K8S_H */
