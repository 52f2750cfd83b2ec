// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Desired-state registry: lifecycle (init, free, copy), lookups, next-hop state
 * and the helpers the registry_*.c files share (registry_int.h). Operations
 * are in registry_<object>.c, id allocation in registry_ids.c, the JSON form
 * (state file, API) in registry_json.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "addr.h"
#include "dataplane.h"
#include "registry.h"
#include "registry_int.h"
#include "svc_tiflow.h"

const char *const svc_action_names[] = {
	[SVC_ACT_NONE] = NULL,	   [SVC_ACT_FORWARD] = "forward", [SVC_ACT_DEMUX] = "demux",
	[SVC_ACT_DELAY] = "delay", [SVC_ACT_DROP] = "drop",	  NULL,
};
const char *const svc_prog_names[] = {
	[SVC_PROG_ROUTER] = "router", [SVC_PROG_ENDPOINT] = "endpoint", NULL
};
const char *const svc_mode_names[] = { [SVC_XDP_NATIVE] = "native", [SVC_XDP_SKB] = "skb", NULL };
const char *const svc_state_names[] = { "down", "up", NULL };
const char *const svc_mode_names_inst[] = { "active", "drain", "shed", NULL };

_Static_assert(SVC_PROG_MAX == 2, "svc_prog_names lists every program");

int svc_action_parse(const char *s)
{
	for (int i = SVC_ACT_FORWARD; i <= SVC_ACT_DROP; i++)
		if (s && !strcmp(s, svc_action_names[i]))
			return i;
	return -1;
}

/* Grows @p (elements of @size) to hold @need; returns the new pointer or NULL. */
void *reg_grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 8;
	void *np;

	if (need <= *cap)
		return p;
	while (ncap < need)
		ncap *= 2;
	np = realloc(p, ncap * size);
	if (!np)
		return NULL;
	*cap = ncap;
	return np;
}

void svc_reg_init(struct svc_reg *r)
{
	memset(r, 0, sizeof(*r));
	r->next_nh = r->next_set = r->next_rule = 1;
}

static void rules_free(struct svc_reg_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rules[i].hops);
}

void svc_reg_free(struct svc_reg *r)
{
	if (!r)
		return;
	rules_free(r->rules, r->n_rules);
	free(r->services);
	free(r->instances);
	free(r->bindings);
	free(r->rules);
	free(r->prefixes);
	free(r->decaps);
	free(r->attachments);
	free(r->nexthops);
	svc_reg_init(r);
}

static void *dup_array(const void *p, size_t n, size_t size, bool *fail)
{
	void *d;

	if (!n)
		return NULL;
	d = malloc(n * size);
	if (!d) {
		*fail = true;
		return NULL;
	}
	memcpy(d, p, n * size);
	return d;
}

int svc_reg_dup(struct svc_reg *dst, const struct svc_reg *src)
{
	bool fail = false;

	*dst = *src;
#define DUP(arr)                                                                        \
	do {                                                                            \
		dst->arr = dup_array(src->arr, src->n_##arr, sizeof(*src->arr), &fail); \
		dst->cap_##arr = src->n_##arr;                                          \
	} while (0)
	DUP(services);
	DUP(instances);
	DUP(bindings);
	DUP(rules);
	DUP(prefixes);
	DUP(decaps);
	DUP(attachments);
	DUP(nexthops);
#undef DUP
	if (dst->rules) {
		for (size_t i = 0; i < dst->n_rules; i++)
			dst->rules[i].hops = NULL;
		for (size_t i = 0; i < dst->n_rules && !fail; i++)
			dst->rules[i].hops = dup_array(src->rules[i].hops, src->rules[i].nhops,
						       sizeof(struct svc_reg_hop), &fail);
	} else {
		dst->n_rules = 0;
	}
	if (fail) {
		svc_reg_free(dst);
		return -ENOMEM;
	}
	return 0;
}

void svc_reg_swap(struct svc_reg *a, struct svc_reg *b)
{
	struct svc_reg t = *a;

	*a = *b;
	*b = t;
}

bool reg_addr_eq(const struct svc_addr *a, const struct svc_addr *b)
{
	return !memcmp(a, b, sizeof(*a));
}

bool reg_sid_eq(const struct svc_sid *a, const struct svc_sid *b)
{
	return !memcmp(a, b, sizeof(*a));
}

bool reg_prefix_eq(const struct svc_lpm_key *a, const struct svc_lpm_key *b)
{
	return a->prefixlen == b->prefixlen && reg_sid_eq(&a->sid, &b->sid);
}

bool reg_addr_zero(const struct svc_addr *a)
{
	static const struct svc_addr zero;
	struct svc_addr z4 = { .b = { [10] = 0xff, [11] = 0xff } };

	return reg_addr_eq(a, &zero) || reg_addr_eq(a, &z4);
}

struct svc_reg_service *svc_reg_service_find(const struct svc_reg *r, const struct svc_sid *sid)
{
	for (size_t i = 0; i < r->n_services; i++)
		if (reg_sid_eq(&r->services[i].sid, sid))
			return &r->services[i];
	return NULL;
}

struct svc_reg_service *reg_service_by_name(const struct svc_reg *r, const char *name)
{
	for (size_t i = 0; i < r->n_services; i++)
		if (name[0] && !strcmp(r->services[i].name, name))
			return &r->services[i];
	return NULL;
}

struct svc_reg_instance *svc_reg_instance_find(const struct svc_reg *r, const struct svc_sid *sid,
					       const struct svc_addr *addr)
{
	for (size_t i = 0; i < r->n_instances; i++)
		if (reg_sid_eq(&r->instances[i].sid, sid) &&
		    reg_addr_eq(&r->instances[i].addr, addr))
			return &r->instances[i];
	return NULL;
}

struct svc_reg_rule *svc_reg_rule_find(const struct svc_reg *r, const struct svc_lpm_key *p)
{
	for (size_t i = 0; i < r->n_rules; i++)
		if (reg_prefix_eq(&r->rules[i].prefix, p))
			return &r->rules[i];
	return NULL;
}

struct svc_reg_binding *svc_reg_binding_find(const struct svc_reg *r,
					     const struct svc_binding_key *k)
{
	for (size_t i = 0; i < r->n_bindings; i++)
		if (!memcmp(&r->bindings[i].key, k, sizeof(*k)))
			return &r->bindings[i];
	return NULL;
}

struct svc_reg_attach *svc_reg_attach_find(const struct svc_reg *r, const char *iface)
{
	for (size_t i = 0; i < r->n_attachments; i++)
		if (!strcmp(r->attachments[i].iface, iface))
			return &r->attachments[i];
	return NULL;
}

struct svc_reg_nh *reg_nh_find(const struct svc_reg *r, const struct svc_addr *addr)
{
	for (size_t i = 0; i < r->n_nexthops; i++)
		if (reg_addr_eq(&r->nexthops[i].addr, addr))
			return &r->nexthops[i];
	return NULL;
}

__u32 svc_reg_nh_id(const struct svc_reg *r, const struct svc_addr *addr)
{
	struct svc_reg_nh *nh = reg_nh_find(r, addr);

	return nh ? nh->id : 0;
}

bool svc_reg_nh_used(const struct svc_reg *r, const struct svc_addr *addr)
{
	for (size_t i = 0; i < r->n_instances; i++)
		if (reg_addr_eq(&r->instances[i].addr, addr))
			return true;
	for (size_t i = 0; i < r->n_rules; i++)
		for (size_t h = 0; h < r->rules[i].nhops; h++)
			if (reg_addr_eq(&r->rules[i].hops[h].addr, addr))
				return true;
	return false;
}

bool svc_reg_instance_eligible(const struct svc_reg_instance *in)
{
	return in->up && in->mode == SVC_INST_ACTIVE && !in->health_down;
}

/* Any instance at @addr whose host runs no svcplane: strip svcplane's options toward it. */
static __u32 nh_strip_flag(const struct svc_reg *r, const struct svc_addr *addr)
{
	for (size_t i = 0; i < r->n_instances; i++)
		if (r->instances[i].strip_opts && reg_addr_eq(&r->instances[i].addr, addr))
			return SVC_NH_F_STRIP_OPTS;
	return 0;
}

/* The up/reset state of next hop @addr (see svc_reg_nh_flags). */
static __u32 nh_flags_state(const struct svc_reg *r, const struct svc_addr *addr)
{
	const struct svc_reg_nh *nh = reg_nh_find(r, addr);
	bool keep = false, reset = false;

	for (size_t i = 0; i < r->n_instances; i++) {
		const struct svc_reg_instance *in = &r->instances[i];

		if (!reg_addr_eq(&in->addr, addr))
			continue;
		if (svc_reg_instance_eligible(in))
			return SVC_NH_F_UP;
		/*
		 * drain, admin down and health down keep flows going (a failed
		 * check may be a slow instance); shed and dead reset them
		 */
		if (in->mode == SVC_INST_SHED)
			reset = true;
		else
			keep = true;
	}
	for (size_t i = 0; i < r->n_rules; i++)
		for (size_t h = 0; h < r->rules[i].nhops; h++)
			if (reg_addr_eq(&r->rules[i].hops[h].addr, addr))
				return SVC_NH_F_UP;
	if (keep)
		return SVC_NH_F_UP;
	if (reset || (nh && nh->reset))
		return SVC_NH_F_RESET;
	return 0;
}

__u32 svc_reg_nh_flags(const struct svc_reg *r, const struct svc_addr *addr)
{
	__u32 f = nh_flags_state(r, addr);

	return f & SVC_NH_F_UP ? f | nh_strip_flag(r, addr) : f;
}

/* @sid lies inside @p. */
static bool prefix_contains(const struct svc_lpm_key *p, const struct svc_sid *sid)
{
	unsigned int full = p->prefixlen / 8, rest = p->prefixlen % 8;
	const __u8 *a = (const __u8 *)&p->sid, *b = (const __u8 *)sid;

	if (memcmp(a, b, full))
		return false;
	return !rest || ((a[full] ^ b[full]) & (__u8)(0xff << (8 - rest))) == 0;
}

const struct svc_reg_rule *svc_reg_covering_rule(const struct svc_reg *r, const struct svc_sid *sid)
{
	const struct svc_reg_rule *best = NULL;

	for (size_t i = 0; i < r->n_rules; i++) {
		const struct svc_reg_rule *ru = &r->rules[i];

		if (ru->prefix.prefixlen < 128 && prefix_contains(&ru->prefix, sid) &&
		    (!best || ru->prefix.prefixlen > best->prefix.prefixlen))
			best = ru;
	}
	return best;
}

bool svc_reg_service_on_demand(const struct svc_reg *r, const struct svc_reg_service *s)
{
	const struct svc_reg_rule *ru = svc_reg_covering_rule(r, &s->sid);

	return ru && ru->action == SVC_ACT_DELAY && !s->resolved;
}

void svc_reg_nh_set_reset(struct svc_reg *r, const struct svc_addr *addr, bool reset)
{
	struct svc_reg_nh *nh = reg_nh_find(r, addr);

	if (nh)
		nh->reset = reset;
}

size_t svc_reg_instance_count(const struct svc_reg *r, const struct svc_sid *sid, size_t *up)
{
	size_t n = 0, u = 0;

	for (size_t i = 0; i < r->n_instances; i++) {
		if (!reg_sid_eq(&r->instances[i].sid, sid))
			continue;
		n++;
		u += r->instances[i].up;
	}
	if (up)
		*up = u;
	return n;
}

size_t svc_reg_binding_count(const struct svc_reg *r, const struct svc_sid *sid)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_bindings; i++)
		n += reg_sid_eq(&r->bindings[i].sid, sid);
	return n;
}

const char *reg_fmt_sid(const struct svc_sid *sid, char *buf)
{
	return svc_sid_format(sid, buf, SVC_ADDR_STRLEN);
}

const char *reg_fmt_addr(const struct svc_addr *a, char *buf)
{
	return svc_addr_format(a, buf, SVC_ADDR_STRLEN);
}

const char *reg_fmt_prefix(const struct svc_lpm_key *p, char *buf)
{
	return svc_prefix_format(p, buf, SVC_ADDR_STRLEN);
}

int reg_check_name(const char *name, const char *what, struct svc_err *err)
{
	if (name && name[0] && !svc_name_valid(name))
		return svc_err_set(err, SVC_API_INVALID,
				   "%s name '%.64s' is invalid (1-%d of A-Z a-z 0-9 . _ -)", what,
				   name, SVC_NAME_MAX);
	return 0;
}

int reg_check_weight(__u32 weight, struct svc_err *err)
{
	if (weight < 1 || weight > SVC_MAX_WEIGHT)
		return svc_err_set(err, SVC_API_INVALID, "weight %u out of range 1..%d", weight,
				   SVC_MAX_WEIGHT);
	return 0;
}

int reg_check_hop_addr(const struct svc_addr *a, struct svc_err *err)
{
	if (reg_addr_zero(a))
		return svc_err_set(err, SVC_API_INVALID, "the unspecified address is not a host");
	return 0;
}
