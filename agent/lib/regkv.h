/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The shared registry as key-value records (the etcd key layout, documented
 * in docs/multihost.md). Under ROOT/v1/:
 *
 *   services/SID            {"sid","name","health"?}
 *   instances/SID/ADDR      {"sid","addr","weight","state","name","mode","lease","strip_options"}
 *   bindings/VIP:PORT/PROTO {"binding","sid"}
 *   rules/PREFIX            {"prefix","action","hops":[{"addr","weight"}]}
 *   prefixes/PREFIX         {"prefix"}
 *   nexthops/ADDR           {"addr","id","reset"?}   the deployment-wide next-hop (instance) id
 *   ids/ID                  {"addr"}                 the id's owner: created once, with
 * nexthops/ADDR
 *
 * Values are the state file's JSON of the same object. What is per host (the
 * router's source addresses, decapsulation sources, attachments, TI-flow,
 * direct path) and the local rule and set ids are not shared: decoding takes
 * them from the local registry.
 */
#ifndef SVC_REGKV_H
#define SVC_REGKV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "registry.h"

#define SVC_REGKV_VERSION "v1"
/* Default ROOT when the registry URL has no prefix. */
#define SVC_REGKV_DEFAULT_ROOT "/svcplane"

enum svc_regkv_kind {
	SVC_REGKV_UNKNOWN = 0,
	SVC_REGKV_SERVICE,
	SVC_REGKV_INSTANCE,
	SVC_REGKV_BINDING,
	SVC_REGKV_RULE,
	SVC_REGKV_PREFIX,
	SVC_REGKV_NEXTHOP,
	SVC_REGKV_ID,
};

/* One record: key and value are owned (malloc'd, NUL-terminated). */
struct svc_regkv {
	char *key;
	char *value;
	int64_t lease; /* etcd lease the record is attached to, 0 = none */
	int64_t mod_rev;
};

/*
 * kv[0..n_sorted) are sorted by key; records added since are appended after
 * them until the next sort, which sorts only those and merges them in.
 */
struct svc_regkv_list {
	struct svc_regkv *kv;
	size_t n, cap, n_sorted;
	uint64_t cmps; /* key comparisons made by sort and find (tests count them) */
};

void svc_regkv_list_free(struct svc_regkv_list *l);
/* svc_regkv_list_add - append copies of @key and @value. 0 or -ENOMEM. */
int svc_regkv_list_add(struct svc_regkv_list *l, const char *key, const char *value, int64_t lease,
		       int64_t mod_rev);
/* svc_regkv_list_sort - by key: sorts the records added since the last sort and merges them in. */
void svc_regkv_list_sort(struct svc_regkv_list *l);
/* svc_regkv_list_del - remove record @i (keeps the order). */
void svc_regkv_list_del(struct svc_regkv_list *l, size_t i);
/*
 * svc_regkv_list_find - the record of @key, sorted or not: a binary search of
 * the sorted part, then a scan of the records added since the last sort.
 */
const struct svc_regkv *svc_regkv_list_find(struct svc_regkv_list *l, const char *key);
/*
 * svc_regkv_list_lookup - svc_regkv_list_find for a list that keeps growing
 * between lookups (an etcd mirror): sorts first once the unsorted part is
 * longer than SVC_REGKV_LIST_TAIL, so that n adds each after a lookup cost
 * O(n * (TAIL + log n)) key comparisons in all, not a sort each.
 */
#define SVC_REGKV_LIST_TAIL 64
const struct svc_regkv *svc_regkv_list_lookup(struct svc_regkv_list *l, const char *key);

/* svc_regkv_base - "ROOT/v1/" into @buf (@root "" = the default). */
const char *svc_regkv_base(const char *root, char *buf, size_t len);
/* svc_regkv_kind_of - what @key (under @base) is; *rest gets the part after "KIND/". */
int svc_regkv_kind_of(const char *base, const char *key, const char **rest);

/* Keys of single records ("ROOT/v1/..."), into @buf. */
const char *svc_regkv_key_instance(const char *base, const struct svc_sid *sid,
				   const struct svc_addr *addr, char *buf, size_t len);
const char *svc_regkv_key_nexthop(const char *base, const struct svc_addr *addr, char *buf,
				  size_t len);
const char *svc_regkv_key_id(const char *base, __u32 id, char *buf, size_t len);

/* Values. */
char *svc_regkv_instance_value(const struct svc_reg_instance *in);
char *svc_regkv_nexthop_value(const struct svc_addr *addr, __u32 id, bool reset);
char *svc_regkv_id_value(const struct svc_addr *addr);
/* svc_regkv_nexthop_parse - a nexthops/ value: address, id, reset flag. 0 or -EINVAL. */
int svc_regkv_nexthop_parse(const char *value, struct svc_addr *addr, __u32 *id, bool *reset);
/* svc_regkv_instance_lease - the "lease" seconds of an instances/ value (0 if none or bad). */
__u32 svc_regkv_instance_lease(const char *value);

/*
 * svc_regkv_encode - the shared objects of @r as records, sorted by key:
 * services, instances, bindings, rules, prefixes. Next hops are not encoded:
 * their ids are allocated in etcd (nexthops/, ids/) and never rewritten from
 * a registry. 0 or -ENOMEM.
 */
int svc_regkv_encode(const struct svc_reg *r, const char *base, struct svc_regkv_list *out);

/* What decoding skipped: invalid or inconsistent records (the rest is used). */
struct svc_regkv_report {
	size_t used, skipped;
	char first[256]; /* why the first skipped record was skipped */
};

/*
 * svc_regkv_decode - a registry from @kv (sorted or not) and @local: the
 * shared objects come from @kv; the per-host parts, the rule and set ids of
 * services and rules @local has, the runtime health results and the
 * next hops @local still drains come from @local. An instance or hop whose
 * address has no nexthops/ record is skipped (its id is allocated before it
 * is written). @out is initialized here. 0, or -ENOMEM.
 */
int svc_regkv_decode(const char *base, const struct svc_regkv_list *kv, const struct svc_reg *local,
		     struct svc_reg *out, struct svc_regkv_report *rep);

#endif /* SVC_REGKV_H */
