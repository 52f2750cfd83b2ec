// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned: reconcile the desired state (registry) into the BPF maps.
 *
 * Order matters so that no packet sees a reference to something missing:
 * next hops that are (or become) up first, then next-hop sets (each built to
 * the side and swapped in one step by svc_dp_nhset_update), then rules,
 * bindings and prefixes; only then are entries that are no longer desired
 * deleted, in the reverse order, and next hops that stop being up (shed,
 * dead) marked so, once no table names them: make-before-break, no SYN of a
 * planned change meets a down next hop.
 * Sets are rebuilt only when their membership changed since this process
 * installed them; after a restart each is built once, and since a table is a
 * function of the set and the seed only, an unchanged set's table comes out
 * identical and is left in place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "addr.h"
#include "agent.h"
#include "log.h"
#include "neigh.h"

const double svc_reconcile_bounds[SVC_RECONCILE_BUCKETS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
							     0.025,  0.05,  0.1,    0.5,   1.0 };

static int member_cmp(const void *x, const void *y)
{
	const struct svc_ch_member *a = x, *b = y;

	return a->nh_id < b->nh_id ? -1 : a->nh_id > b->nh_id;
}

void agent_set_cache_free(struct agent *a)
{
	for (size_t i = 0; i < SVC_MAX_SETS; i++) {
		free(a->sets[i].m);
		memset(&a->sets[i], 0, sizeof(a->sets[i]));
	}
}

static void set_forget(struct agent *a, __u32 set_id)
{
	free(a->sets[set_id].m);
	memset(&a->sets[set_id], 0, sizeof(a->sets[set_id]));
}

/* Installs set @set_id with members @m (sorted here) unless it is installed like that already. */
static int set_install(struct agent *a, __u32 set_id, struct svc_ch_member *m, size_t n)
{
	struct set_cache *c = &a->sets[set_id];
	struct svc_ch_member *copy = NULL;
	int err;

	qsort(m, n, sizeof(*m), member_cmp);
	if (c->valid && c->n == n && (!n || !memcmp(c->m, m, n * sizeof(*m))))
		return 0;
	if (n) {
		copy = malloc(n * sizeof(*m));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, m, n * sizeof(*m));
	}
	err = svc_dp_nhset_update(a->dp, set_id, m, n);
	set_forget(a, set_id);
	if (err) {
		free(copy);
		return err;
	}
	c->valid = true;
	c->n = n;
	c->m = copy;
	pr_debug("next-hop set %u installed (%zu members)", set_id, n);
	return 0;
}

static bool sid_eq(const struct svc_sid *a, const struct svc_sid *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* Installs every service's set (its up instances) and every FORWARD rule's set. */
static int install_sets(struct agent *a, __u64 *desired)
{
	struct svc_reg *r = &a->reg;
	struct svc_ch_member *m;
	int ret = 0, err;
	size_t n;

	m = malloc((SVC_REG_MAX_INSTANCES + SVC_REG_MAX_HOPS) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_services; i++) {
		const struct svc_reg_service *s = &r->services[i];
		size_t total = 0;

		n = 0;
		for (size_t k = 0; k < r->n_instances; k++) {
			const struct svc_reg_instance *in = &r->instances[k];

			if (!sid_eq(&in->sid, &s->sid))
				continue;
			total++;
			if (!svc_reg_instance_eligible(in) || n >= SVC_REG_MAX_INSTANCES)
				continue;
			m[n].addr = in->addr;
			m[n].nh_id = svc_reg_nh_id(r, &in->addr);
			m[n].weight = in->weight;
			n++;
		}
		if (!total)
			continue; /* no instances: no rule, no set */
		desired[s->set_id / 64] |= 1ULL << (s->set_id % 64);
		err = set_install(a, s->set_id, m, n);
		ret = ret ?: err;
	}
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct svc_reg_rule *ru = &r->rules[i];

		if (ru->action != SVC_ACT_FORWARD)
			continue;
		for (n = 0; n < ru->nhops; n++) {
			m[n].addr = ru->hops[n].addr;
			m[n].nh_id = svc_reg_nh_id(r, &ru->hops[n].addr);
			m[n].weight = ru->hops[n].weight;
		}
		desired[ru->set_id / 64] |= 1ULL << (ru->set_id % 64);
		err = set_install(a, ru->set_id, m, n);
		ret = ret ?: err;
	}
	free(m);
	return ret;
}

/* Deletes sets that are not desired: those this process installed, and at the first run all. */
static int prune_sets(struct agent *a, const __u64 *desired)
{
	static __u64 present[SVC_MAX_SETS / 64];
	int ret = 0, err;

	/* The first time, all installed sets: one batch (single lookups took ~40 s under TCG). */
	if (!a->full_scan_done) {
		ret = svc_dp_nhsets_present(a->dp, present);
		if (ret)
			return ret;
	}
	for (__u32 id = 0; id < SVC_MAX_SETS; id++) {
		bool want = desired[id / 64] & (1ULL << (id % 64));

		if (want)
			continue;
		if (!a->sets[id].valid &&
		    (a->full_scan_done || !(present[id / 64] & (1ULL << (id % 64)))))
			continue;
		err = svc_dp_nhset_delete(a->dp, id);
		if (err == -ENOENT)
			err = 0;
		set_forget(a, id);
		ret = ret ?: err;
	}
	return ret;
}

/*
 * Writes next hops whose new flags have SVC_NH_F_UP (@up) or lack it (!@up).
 * Make-before-break: the up ones go first, before the sets that name them;
 * the ones that stop being up (shed, dead: RESET) only after every set that
 * named them was swapped for one that does not, so that no SYN hashed by an
 * old table finds its next hop down (drop_no_nexthop).
 */
static int install_nexthops(struct agent *a, bool up)
{
	struct svc_reg *r = &a->reg;
	int ret = 0, err;

	for (size_t i = 0; i < r->n_nexthops; i++) {
		const struct svc_reg_nh *nh = &r->nexthops[i];
		struct svc_nexthop v = { .addr = nh->addr,
					 .flags = svc_reg_nh_flags(r, &nh->addr) };

		/*
		 * Unused (draining) next hops are left as they are until
		 * agent_gc; dead or shed ones get RESET so that their clients
		 * learn it at their next packet instead of timing out.
		 */
		if (!v.flags || !!(v.flags & SVC_NH_F_UP) != up)
			continue;
		if (!svc_addr_is_v4(&nh->addr))
			v.flags |= SVC_NH_F_V6;
		err = svc_dp_nexthop_update(a->dp, nh->id, &v);
		ret = ret ?: err;
	}
	return ret;
}

/*
 * svc_dp_nexthop_update starts neighbour resolution when a next hop is
 * written; XDP traffic never confirms the neighbour entry, so the kernel could
 * garbage-collect it (the router then drops with drop_no_neigh): refresh it.
 * svc_neigh_prime logs its own failures.
 */
void agent_neigh_refresh(struct agent *a)
{
	for (size_t i = 0; i < a->reg.n_nexthops; i++)
		if (svc_reg_nh_flags(&a->reg, &a->reg.nexthops[i].addr) & SVC_NH_F_UP)
			svc_neigh_prime(&a->reg.nexthops[i].addr);
}

/* At the first reconcile: zero next hops that are up but unknown to the registry. */
static int prune_nexthops(struct agent *a)
{
	static __u64 known[SVC_MAX_NEXTHOPS / 64];
	struct svc_nexthop *all;
	int ret, err;

	if (a->full_scan_done)
		return 0;
	all = malloc(SVC_MAX_NEXTHOPS * sizeof(*all));
	if (!all)
		return -ENOMEM;
	ret = svc_dp_nexthops_read(a->dp, all);
	if (ret)
		goto out;
	memset(known, 0, sizeof(known));
	for (size_t i = 0; i < a->reg.n_nexthops; i++)
		known[a->reg.nexthops[i].id / 64] |= 1ULL << (a->reg.nexthops[i].id % 64);
	for (__u32 id = 1; id < SVC_MAX_NEXTHOPS; id++) {
		if ((known[id / 64] & (1ULL << (id % 64))) || !(all[id].flags & SVC_NH_F_UP))
			continue;
		pr_info("next hop %u is not in the registry: zeroed", id);
		err = svc_dp_nexthop_delete(a->dp, id);
		ret = ret ?: err;
	}
out:
	free(all);
	return ret;
}

static int lpm_cmp(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct svc_lpm_key));
}

static int binding_cmp(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct svc_binding_key));
}

static int addr_cmp(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct svc_addr));
}

/*
 * Deletes every key of map @name that is not in @want (sorted with @cmp).
 * Keys are collected first: deleting while walking would restart the walk.
 */
static int prune_map(struct agent *a, const char *name, size_t ksize, const void *want, size_t n,
		     int (*cmp)(const void *, const void *),
		     int (*del)(struct agent *, const void *))
{
	int fd = svc_dp_map_fd(a->dp, name), ret = 0, err;
	size_t cnt = 0, cap = 0;
	char *keys = NULL, *tmp;

	if (fd < 0) {
		pr_err("reconcile: map %s: %s", name, strerror(-fd));
		return fd;
	}
	for (;;) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 256;
			tmp = realloc(keys, cap * ksize);
			if (!tmp) {
				free(keys);
				return -ENOMEM;
			}
			keys = tmp;
		}
		err = bpf_map_get_next_key(fd, cnt ? keys + (cnt - 1) * ksize : NULL,
					   keys + cnt * ksize);
		if (err == -ENOENT)
			break;
		if (err) {
			pr_err("reconcile: map %s: iterate: %s", name, strerror(-err));
			free(keys);
			return err;
		}
		if (++cnt > SVC_MAX_RULES * 4)
			break; /* a walk that restarts forever: stop, prune what we have */
	}
	for (size_t i = 0; i < cnt; i++) {
		const void *k = keys + i * ksize;

		if (n && bsearch(k, want, n, ksize, cmp))
			continue;
		err = del(a, k);
		if (err == -ENOENT)
			err = 0;
		ret = ret ?: err;
	}
	free(keys);
	return ret;
}

static int del_rule(struct agent *a, const void *k)
{
	return svc_dp_rule_delete(a->dp, k);
}

static int del_binding(struct agent *a, const void *k)
{
	return svc_dp_binding_delete(a->dp, k);
}

static int del_prefix(struct agent *a, const void *k)
{
	return svc_dp_sid_prefix_delete(a->dp, k);
}

static int del_decap(struct agent *a, const void *k)
{
	return svc_dp_decap_source_delete(a->dp, k);
}

/* Service rules (SID/128 over the set) and explicit rules; @keys gets them sorted. */
static int install_rules(struct agent *a, struct svc_lpm_key *keys, size_t *nkeys)
{
	struct svc_reg *r = &a->reg;
	int ret = 0, err;
	size_t n = 0;

	for (size_t i = 0; i < r->n_services; i++) {
		const struct svc_reg_service *s = &r->services[i];
		struct svc_rule rule = { .action = SVC_ACT_FORWARD,
					 .set_id = s->set_id,
					 .rule_id = s->rule_id };
		struct svc_lpm_key k = { .prefixlen = 128, .sid = s->sid };

		/* on demand: installed when its first packet reaches the agent (delay.c) */
		if (!svc_reg_instance_count(r, &s->sid, NULL) || svc_reg_service_on_demand(r, s))
			continue;
		err = svc_dp_rule_update(a->dp, &k, &rule);
		ret = ret ?: err;
		keys[n++] = k;
	}
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct svc_reg_rule *ru = &r->rules[i];
		struct svc_rule rule = { .action = ru->action,
					 .set_id = ru->set_id,
					 .rule_id = ru->rule_id };

		err = svc_dp_rule_update(a->dp, &ru->prefix, &rule);
		ret = ret ?: err;
		keys[n++] = ru->prefix;
	}
	qsort(keys, n, sizeof(*keys), lpm_cmp);
	*nkeys = n;
	return ret;
}

/*
 * Next hop 0 is no address's (ids start at 1): the tombstone. It carries
 * SVC_NH_F_RESET only, so the router answers every TCP packet of a flow
 * recorded to it with a RST (svc_flow_lookup) and re-resolves UDP.
 */
#define NH_TOMBSTONE 0

static int install_tombstone(struct agent *a)
{
	struct svc_nexthop v = { .flags = SVC_NH_F_RESET };
	__u32 id = NH_TOMBSTONE;
	int fd = svc_dp_map_fd(a->dp, "nexthops");

	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &id, &v, BPF_ANY)) {
		pr_err("map nexthops: tombstone next hop 0: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* A (rule id, next-hop id) pair: which service's flows to which address. */
struct rt_pair {
	__u32 rule_id, nh_id;
};

struct rt_walk {
	const struct rt_pair *shed; /* flows to reset: a shed instance's */
	size_t n_shed;
	const struct rt_pair *members; /* flows to keep at a dead address: its live users' */
	size_t n_members;
	const __u32 *dead; /* addresses removed as dead but up for others */
	size_t n_dead;
	int fd;
	size_t moved;
	int err;
};

static bool rt_has(const struct rt_pair *p, size_t n, __u32 rule_id, __u32 nh_id)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].rule_id == rule_id && p[i].nh_id == nh_id)
			return true;
	return false;
}

static int rt_flow(const struct svc_flow_key *key, const struct svc_flow *val, void *arg)
{
	struct rt_walk *w = arg;
	struct svc_flow f = *val;
	bool dead = false;

	if (!val->nh_id || !val->rule_id)
		return 0; /* the tombstone already, or routed by an option (no service known) */
	for (size_t i = 0; i < w->n_dead; i++)
		dead |= w->dead[i] == val->nh_id;
	if (!rt_has(w->shed, w->n_shed, val->rule_id, val->nh_id) &&
	    !(dead && !rt_has(w->members, w->n_members, val->rule_id, val->nh_id)))
		return 0;
	f.nh_id = NH_TOMBSTONE;
	/* BPF_EXIST: a flow that ended meanwhile stays ended */
	if (bpf_map_update_elem(w->fd, key, &f, BPF_EXIST) && errno != ENOENT) {
		w->err = -errno;
		return 1;
	}
	w->moved++;
	return 0;
}

static __u64 rt_sig(__u64 h, __u32 x)
{
	return (h ^ x) * 0x100000001b3ULL;
}

/*
 * A next hop's state is per address, shared by every service with an
 * instance there. When an instance is shed, or removed as dead, while its
 * address still serves another service (or an explicit rule), its next hop
 * stays up, and that instance's flows would go on: move them, and only them
 * (the flow records the rule that resolved it), to the tombstone. Walks the
 * flow table only when the candidates changed since the last walk; runs after
 * the new tables are in place, so no new flow of these pairs appears.
 */
static int flows_retarget(struct agent *a)
{
	struct svc_reg *r = &a->reg;
	size_t n_in = r->n_instances, n_hops = 0, ns = 0, nm = 0, nd = 0;
	struct rt_pair *shed = NULL, *members = NULL;
	__u32 *dead = NULL;
	__u64 sig = 0xcbf29ce484222325ULL;
	struct rt_walk w;
	int ret = 0;

	for (size_t i = 0; i < r->n_rules; i++)
		n_hops += r->rules[i].nhops;
	shed = malloc((n_in + 1) * sizeof(*shed));
	members = malloc((n_in + n_hops + 1) * sizeof(*members));
	dead = malloc((r->n_nexthops + 1) * sizeof(*dead));
	if (!shed || !members || !dead) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < r->n_nexthops; i++)
		if (r->nexthops[i].reset &&
		    (svc_reg_nh_flags(r, &r->nexthops[i].addr) & SVC_NH_F_UP)) {
			dead[nd++] = r->nexthops[i].id;
			sig = rt_sig(sig, r->nexthops[i].id);
		}
	for (size_t i = 0; i < n_in; i++) {
		const struct svc_reg_instance *in = &r->instances[i];
		const struct svc_reg_service *s = svc_reg_service_find(r, &in->sid);
		__u32 id = svc_reg_nh_id(r, &in->addr);

		if (!s || !id)
			continue;
		if (in->mode == SVC_INST_SHED && (svc_reg_nh_flags(r, &in->addr) & SVC_NH_F_UP)) {
			shed[ns++] = (struct rt_pair){ s->rule_id, id };
			sig = rt_sig(rt_sig(sig, s->rule_id), id);
		} else if (nd) {
			members[nm++] = (struct rt_pair){ s->rule_id, id };
		}
	}
	for (size_t i = 0; nd && i < r->n_rules; i++)
		for (size_t h = 0; h < r->rules[i].nhops; h++)
			members[nm++] =
				(struct rt_pair){ r->rules[i].rule_id,
						  svc_reg_nh_id(r, &r->rules[i].hops[h].addr) };
	if (!ns && !nd) {
		a->retarget_sig = 0;
		goto out;
	}
	if (sig == a->retarget_sig)
		goto out;
	w =
		(struct rt_walk){ shed, ns, members, nm, dead, nd, svc_dp_map_fd(a->dp, "flows"),
				  0,	0 };
	if (w.fd < 0) {
		ret = w.fd;
		goto out;
	}
	ret = svc_dp_flows_foreach(a->dp, rt_flow, &w);
	ret = ret ?: w.err;
	if (!ret) {
		a->retarget_sig = sig;
		if (w.moved)
			pr_info("%zu flow(s) of shed or dead instances at addresses still in use "
				"elsewhere: to be reset",
				w.moved);
	}
out:
	free(shed);
	free(members);
	free(dead);
	return ret;
}

static void observe(struct agent *a, double secs, int err)
{
	int b;

	a->reconciles++;
	if (err)
		a->reconcile_errors++;
	a->reconcile_sum += secs;
	a->last_reconcile_s = secs;
	for (b = 0; b < SVC_RECONCILE_BUCKETS; b++)
		if (secs <= svc_reconcile_bounds[b])
			break;
	a->reconcile_bucket[b]++;
}

int agent_reconcile(struct agent *a)
{
	struct svc_reg *r = &a->reg;
	static __u64 desired_sets[SVC_MAX_SETS / 64];
	struct svc_binding_key *bkeys = NULL;
	struct svc_lpm_key *rkeys = NULL, *pkeys = NULL;
	struct svc_addr *dkeys = NULL;
	size_t nr = 0;
	double t0 = agent_now_s();
	int ret = 0, err;

	rkeys = malloc((r->n_services + r->n_rules + 1) * sizeof(*rkeys));
	bkeys = malloc((r->n_bindings + 1) * sizeof(*bkeys));
	pkeys = malloc((r->n_prefixes + 1) * sizeof(*pkeys));
	dkeys = malloc((r->n_decaps + 1) * sizeof(*dkeys));
	if (!rkeys || !bkeys || !pkeys || !dkeys) {
		ret = -ENOMEM;
		goto out;
	}
	memset(desired_sets, 0, sizeof(desired_sets));

	/* 1. What packets will point at: source addresses, next hops, sets. */
	err = svc_dp_set_router_src(a->dp, r->has_src4 ? &r->src4 : NULL,
				    r->has_src6 ? &r->src6 : NULL);
	ret = ret ?: err;
	err = install_nexthops(a, true);
	ret = ret ?: err;
	err = install_sets(a, desired_sets);
	ret = ret ?: err;

	/* 2. What points at them: rules, then bindings and prefixes, decap sources. */
	err = install_rules(a, rkeys, &nr);
	ret = ret ?: err;
	for (size_t i = 0; i < r->n_bindings; i++) {
		struct svc_binding v = { .sid = r->bindings[i].sid };

		err = svc_dp_binding_update(a->dp, &r->bindings[i].key, &v);
		ret = ret ?: err;
		bkeys[i] = r->bindings[i].key;
	}
	qsort(bkeys, r->n_bindings, sizeof(*bkeys), binding_cmp);
	for (size_t i = 0; i < r->n_prefixes; i++) {
		err = svc_dp_sid_prefix_update(a->dp, &r->prefixes[i]);
		ret = ret ?: err;
		pkeys[i] = r->prefixes[i];
	}
	qsort(pkeys, r->n_prefixes, sizeof(*pkeys), lpm_cmp);
	for (size_t i = 0; i < r->n_decaps; i++) {
		err = svc_dp_decap_source_update(a->dp, &r->decaps[i]);
		ret = ret ?: err;
		dkeys[i] = r->decaps[i];
	}
	qsort(dkeys, r->n_decaps, sizeof(*dkeys), addr_cmp);

	/* 3. Remove what is no longer desired, entry points first; next hops leave last. */
	err = prune_map(a, "bindings", sizeof(*bkeys), bkeys, r->n_bindings, binding_cmp,
			del_binding);
	ret = ret ?: err;
	err = prune_map(a, "sid_prefixes", sizeof(*pkeys), pkeys, r->n_prefixes, lpm_cmp,
			del_prefix);
	ret = ret ?: err;
	err = prune_map(a, "service_table", sizeof(*rkeys), rkeys, nr, lpm_cmp, del_rule);
	ret = ret ?: err;
	err = prune_sets(a, desired_sets);
	ret = ret ?: err;
	err = prune_map(a, "decap_sources", sizeof(*dkeys), dkeys, r->n_decaps, addr_cmp,
			del_decap);
	ret = ret ?: err;
	err = install_nexthops(a, false);
	ret = ret ?: err;
	err = install_tombstone(a);
	ret = ret ?: err;
	err = flows_retarget(a);
	ret = ret ?: err;
	err = prune_nexthops(a);
	ret = ret ?: err;
	if (!ret)
		a->full_scan_done = true;
out:
	free(rkeys);
	free(bkeys);
	free(pkeys);
	free(dkeys);
	observe(a, agent_now_s() - t0, ret);
	if (ret)
		pr_err("reconcile: failed: %s", strerror(-ret));
	else
		pr_debug("reconcile: done in %.3f ms", (agent_now_s() - t0) * 1e3);
	return ret;
}

/* ---- draining next hops ---- */

struct gc_walk {
	const __u64 *draining;
	__u64 *active;
	__u64 now_ns;
	size_t flows;
};

static int gc_flow(const struct svc_flow_key *key, const struct svc_flow *val, void *arg)
{
	struct gc_walk *w = arg;
	__u32 id = val->nh_id;

	(void)key;
	w->flows++;
	if (id == 0 || id >= SVC_MAX_NEXTHOPS || !(w->draining[id / 64] & (1ULL << (id % 64))))
		return 0;
	if (w->now_ns < val->last_seen_ns ||
	    w->now_ns - val->last_seen_ns < (__u64)SVC_AGENT_DRAIN_IDLE_S * 1000000000ULL)
		w->active[id / 64] |= 1ULL << (id % 64);
	return 0;
}

int agent_gc(struct agent *a)
{
	static __u64 draining[SVC_MAX_NEXTHOPS / 64], active[SVC_MAX_NEXTHOPS / 64];
	struct gc_walk w = { draining, active, 0, 0 };
	struct timespec ts;
	size_t nd = 0, freed = 0;
	char why[256];
	int err;

	memset(draining, 0, sizeof(draining));
	memset(active, 0, sizeof(active));
	for (size_t i = 0; i < a->reg.n_nexthops; i++) {
		const struct svc_reg_nh *nh = &a->reg.nexthops[i];

		if (svc_reg_nh_used(&a->reg, &nh->addr))
			continue;
		draining[nh->id / 64] |= 1ULL << (nh->id % 64);
		nd++;
	}
	if (!nd)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	w.now_ns = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
	err = svc_dp_flows_foreach(a->dp, gc_flow, &w);
	if (err)
		return err;
	for (size_t i = a->reg.n_nexthops; i-- > 0;) {
		struct svc_reg_nh nh = a->reg.nexthops[i];
		char b[SVC_ADDR_STRLEN];

		if (!(draining[nh.id / 64] & (1ULL << (nh.id % 64))) ||
		    (active[nh.id / 64] & (1ULL << (nh.id % 64))))
			continue;
		err = svc_dp_nexthop_delete(a->dp, nh.id);
		if (err)
			return err;
		svc_reg_nh_release(&a->reg, nh.id);
		freed++;
		pr_info("next hop %u (%s) drained: removed", nh.id,
			svc_addr_format(&nh.addr, b, sizeof(b)));
	}
	if (freed)
		return agent_state_save(a, why, sizeof(why));
	return 0;
}

static int count_flow(const struct svc_flow_key *key, const struct svc_flow *val, void *arg)
{
	(void)key;
	(void)val;
	(*(size_t *)arg)++;
	return 0;
}

int agent_flow_count(struct agent *a, size_t *count)
{
	*count = 0;
	return svc_dp_flows_foreach(a->dp, count_flow, count);
}

struct tally {
	size_t total;
	__u32 *per_rule, *per_nh;
};

static int tally_flow(const struct svc_flow_key *key, const struct svc_flow *val, void *arg)
{
	struct tally *t = arg;

	(void)key;
	t->total++;
	if (val->rule_id < SVC_MAX_RULE_IDS)
		t->per_rule[val->rule_id]++;
	if (val->nh_id < SVC_MAX_NEXTHOPS)
		t->per_nh[val->nh_id]++;
	return 0;
}

int agent_flow_tally(struct agent *a, size_t *total, __u32 *per_rule, __u32 *per_nh)
{
	struct tally t = { 0, per_rule, per_nh };
	int err;

	memset(per_rule, 0, SVC_MAX_RULE_IDS * sizeof(*per_rule));
	memset(per_nh, 0, SVC_MAX_NEXTHOPS * sizeof(*per_nh));
	err = svc_dp_flows_foreach(a->dp, tally_flow, &t);
	*total = t.total;
	return err;
}

struct active_walk {
	__u32 *per_nh;
	__u64 now_ns;
};

static int active_flow(const struct svc_flow_key *key, const struct svc_flow *val, void *arg)
{
	struct active_walk *w = arg;

	(void)key;
	if (val->nh_id >= SVC_MAX_NEXTHOPS)
		return 0;
	if (w->now_ns < val->last_seen_ns ||
	    w->now_ns - val->last_seen_ns < (__u64)(SVC_AGENT_ACTIVE_FLOW_S * 1e9))
		w->per_nh[val->nh_id]++;
	return 0;
}

int agent_flow_active(struct agent *a, __u32 *per_nh)
{
	struct active_walk w = { per_nh, 0 };
	struct timespec ts;

	memset(per_nh, 0, SVC_MAX_NEXTHOPS * sizeof(*per_nh));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	w.now_ns = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
	return svc_dp_flows_foreach(a->dp, active_flow, &w);
}
