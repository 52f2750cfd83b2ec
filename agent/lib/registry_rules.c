// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Registry: the service table's rules, serviceID prefixes, the router's
 * source addresses and decap sources.
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

int reg_rule_add_ids(struct svc_reg *r, const struct svc_lpm_key *prefix, int action,
		     const struct svc_reg_hop *hops, size_t nhops, __u32 rule_id, __u32 set_id,
		     struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	struct svc_reg_hop *copy = NULL;
	struct svc_reg_rule *ru;
	size_t nh_before = r->n_nexthops;

	if (prefix->prefixlen > 128)
		return svc_err_set(err, SVC_API_INVALID, "prefix length %u > 128",
				   prefix->prefixlen);
	if (action < SVC_ACT_FORWARD || action > SVC_ACT_DROP)
		return svc_err_set(err, SVC_API_INVALID, "unknown rule action %d", action);
	if (action == SVC_ACT_FORWARD && (nhops < 1 || nhops > SVC_REG_MAX_HOPS))
		return svc_err_set(err, SVC_API_INVALID, "forward needs 1..%d next hops, got %zu",
				   SVC_REG_MAX_HOPS, nhops);
	if (action != SVC_ACT_FORWARD && nhops)
		return svc_err_set(err, SVC_API_INVALID, "%s takes no next hops",
				   svc_action_names[action]);
	for (size_t i = 0; i < nhops; i++) {
		if (reg_check_hop_addr(&hops[i].addr, err) || reg_check_weight(hops[i].weight, err))
			return -1;
		for (size_t j = 0; j < i; j++)
			if (reg_addr_eq(&hops[i].addr, &hops[j].addr))
				return svc_err_set(err, SVC_API_INVALID, "next hop %s given twice",
						   reg_fmt_addr(&hops[i].addr, b));
	}
	if (svc_reg_rule_find(r, prefix))
		return svc_err_set(err, SVC_API_EXISTS, "rule %s exists",
				   reg_fmt_prefix(prefix, b));
	if (prefix->prefixlen == 128 && svc_reg_service_find(r, &prefix->sid))
		return svc_err_set(err, SVC_API_EXISTS,
				   "%s is service %s's own rule (managed by its instances)",
				   reg_fmt_prefix(prefix, b), reg_fmt_sid(&prefix->sid, b2));
	if (r->n_services + r->n_rules >= SVC_MAX_RULES - 1)
		return svc_err_set(err, SVC_API_INVALID, "service table full (%d rules)",
				   SVC_MAX_RULES - 1);
	if ((rule_id && reg_bit_get(r->rule_used, rule_id)) ||
	    (set_id && reg_bit_get(r->set_used, set_id)))
		return svc_err_set(err, SVC_API_INVALID, "rule %s: rule or set id reused",
				   reg_fmt_prefix(prefix, b));
	if (nhops) {
		copy = malloc(nhops * sizeof(*copy));
		if (!copy)
			return svc_err_set(err, SVC_API_INTERNAL, "out of memory");
		memcpy(copy, hops, nhops * sizeof(*copy));
	}
	for (size_t i = 0; i < nhops; i++)
		if (!reg_nh_ensure(r, &hops[i].addr, err))
			goto fail;
	ru = PUSH(r, rules, err);
	if (!ru)
		goto fail;
	memset(ru, 0, sizeof(*ru));
	if (rule_id)
		reg_bit_set(r->rule_used, rule_id, true);
	else
		rule_id = reg_id_alloc(r->rule_used, SVC_MAX_RULE_IDS, &r->next_rule);
	if (action == SVC_ACT_FORWARD) {
		if (set_id)
			reg_bit_set(r->set_used, set_id, true);
		else
			set_id = reg_id_alloc(r->set_used, SVC_MAX_SETS, &r->next_set);
	} else {
		set_id = 0;
	}
	if (!rule_id || (action == SVC_ACT_FORWARD && !set_id)) {
		if (rule_id)
			reg_bit_set(r->rule_used, rule_id, false);
		if (set_id)
			reg_bit_set(r->set_used, set_id, false);
		r->n_rules--;
		svc_err_set(err, SVC_API_INTERNAL, "no free rule id or next-hop set id");
		goto fail;
	}
	ru->prefix = *prefix;
	ru->action = (__u8)action;
	ru->rule_id = rule_id;
	ru->set_id = set_id;
	ru->nhops = nhops;
	ru->hops = copy;
	return 0;
fail:
	/* Undo next-hop ids this call allocated. */
	while (r->n_nexthops > nh_before) {
		reg_bit_set(r->nh_used, r->nexthops[r->n_nexthops - 1].id, false);
		r->n_nexthops--;
	}
	free(copy);
	return -1;
}

int svc_reg_rule_add(struct svc_reg *r, const struct svc_lpm_key *prefix, int action,
		     const struct svc_reg_hop *hops, size_t nhops, struct svc_err *err)
{
	return reg_rule_add_ids(r, prefix, action, hops, nhops, 0, 0, err);
}

int svc_reg_rule_del(struct svc_reg *r, const struct svc_lpm_key *prefix, struct svc_err *err)
{
	struct svc_reg_rule *ru = svc_reg_rule_find(r, prefix);
	char b[SVC_ADDR_STRLEN];

	if (!ru) {
		if (prefix->prefixlen == 128 && svc_reg_service_find(r, &prefix->sid))
			return svc_err_set(err, SVC_API_INVALID,
					   "%s is a service's own rule: delete its instances or "
					   "the service",
					   reg_fmt_prefix(prefix, b));
		return svc_err_set(err, SVC_API_NOT_FOUND, "no rule %s", reg_fmt_prefix(prefix, b));
	}
	reg_bit_set(r->rule_used, ru->rule_id, false);
	if (ru->set_id)
		reg_bit_set(r->set_used, ru->set_id, false);
	free(ru->hops);
	REMOVE(r, rules, (size_t)(ru - r->rules));
	return 0;
}

int svc_reg_prefix_add(struct svc_reg *r, const struct svc_lpm_key *p, struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN];
	struct svc_lpm_key *np;

	if (p->prefixlen > 128)
		return svc_err_set(err, SVC_API_INVALID, "prefix length %u > 128", p->prefixlen);
	for (size_t i = 0; i < r->n_prefixes; i++)
		if (reg_prefix_eq(&r->prefixes[i], p))
			return svc_err_set(err, SVC_API_EXISTS, "prefix %s exists",
					   reg_fmt_prefix(p, b));
	if (r->n_prefixes >= SVC_REG_MAX_PREFIXES)
		return svc_err_set(err, SVC_API_INVALID, "serviceID prefixes full (%d)",
				   SVC_REG_MAX_PREFIXES);
	np = PUSH(r, prefixes, err);
	if (!np)
		return -1;
	*np = *p;
	return 0;
}

int svc_reg_prefix_del(struct svc_reg *r, const struct svc_lpm_key *p, struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN];

	for (size_t i = 0; i < r->n_prefixes; i++) {
		if (reg_prefix_eq(&r->prefixes[i], p)) {
			REMOVE(r, prefixes, i);
			return 0;
		}
	}
	return svc_err_set(err, SVC_API_NOT_FOUND, "no prefix %s", reg_fmt_prefix(p, b));
}

int svc_reg_src_set(struct svc_reg *r, const struct svc_addr *addr, struct svc_err *err)
{
	if (reg_addr_zero(addr))
		return svc_err_set(err, SVC_API_INVALID, "source: the unspecified address");
	if (svc_addr_is_v4(addr)) {
		r->src4 = *addr;
		r->has_src4 = true;
	} else {
		r->src6 = *addr;
		r->has_src6 = true;
	}
	return 0;
}

int svc_reg_decap_add(struct svc_reg *r, const struct svc_addr *a, struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN];
	struct svc_addr *na;

	if (reg_addr_zero(a))
		return svc_err_set(err, SVC_API_INVALID, "decap source: the unspecified address");
	for (size_t i = 0; i < r->n_decaps; i++)
		if (reg_addr_eq(&r->decaps[i], a))
			return svc_err_set(err, SVC_API_EXISTS, "decap source %s exists",
					   reg_fmt_addr(a, b));
	if (r->n_decaps >= SVC_MAX_DECAP_SOURCES)
		return svc_err_set(err, SVC_API_INVALID, "decap sources full (%d)",
				   SVC_MAX_DECAP_SOURCES);
	na = PUSH(r, decaps, err);
	if (!na)
		return -1;
	*na = *a;
	return 0;
}

int svc_reg_decap_del(struct svc_reg *r, const struct svc_addr *a, struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN];

	for (size_t i = 0; i < r->n_decaps; i++) {
		if (reg_addr_eq(&r->decaps[i], a)) {
			REMOVE(r, decaps, i);
			return 0;
		}
	}
	return svc_err_set(err, SVC_API_NOT_FOUND, "no decap source %s", reg_fmt_addr(a, b));
}

int svc_reg_rule_add_ids(struct svc_reg *r, const struct svc_lpm_key *prefix, int action,
			 const struct svc_reg_hop *hops, size_t nhops, __u32 rule_id, __u32 set_id,
			 struct svc_err *err)
{
	if (rule_id >= SVC_MAX_RULE_IDS || set_id >= SVC_MAX_SETS)
		return svc_err_set(err, SVC_API_INVALID, "rule or set id out of range");
	return reg_rule_add_ids(r, prefix, action, hops, nhops, rule_id, set_id, err);
}
