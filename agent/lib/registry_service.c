// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Registry: services (and their health checks), instances and bindings, each
 * operation validated before it changes anything.
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

/* Adds a service with given ids (0 = allocate). */
int reg_service_add_ids(struct svc_reg *r, const struct svc_sid *sid, const char *name,
			__u32 rule_id, __u32 set_id, struct svc_err *err)
{
	struct svc_lpm_key own = { .prefixlen = 128, .sid = *sid };
	struct svc_reg_service *s;
	char b[SVC_ADDR_STRLEN];

	if (reg_check_name(name, "service", err))
		return -1;
	if (svc_reg_service_find(r, sid))
		return svc_err_set(err, SVC_API_EXISTS, "service %s exists", reg_fmt_sid(sid, b));
	if (name && name[0] && reg_service_by_name(r, name))
		return svc_err_set(err, SVC_API_EXISTS, "service name '%s' is taken by %s", name,
				   reg_fmt_sid(&reg_service_by_name(r, name)->sid, b));
	if (svc_reg_rule_find(r, &own))
		return svc_err_set(err, SVC_API_EXISTS,
				   "an explicit rule for %s/128 exists (rule del it first)",
				   reg_fmt_sid(sid, b));
	if (r->n_services + r->n_rules >= SVC_MAX_RULES - 1)
		return svc_err_set(err, SVC_API_INVALID, "service table full (%d rules)",
				   SVC_MAX_RULES - 1);
	if ((rule_id && reg_bit_get(r->rule_used, rule_id)) ||
	    (set_id && reg_bit_get(r->set_used, set_id)))
		return svc_err_set(err, SVC_API_INVALID, "service %s: rule or set id reused",
				   reg_fmt_sid(sid, b));
	s = PUSH(r, services, err);
	if (!s)
		return -1;
	memset(s, 0, sizeof(*s));
	if (!rule_id)
		rule_id = reg_id_alloc(r->rule_used, SVC_MAX_RULE_IDS, &r->next_rule);
	else
		reg_bit_set(r->rule_used, rule_id, true);
	if (!set_id)
		set_id = reg_id_alloc(r->set_used, SVC_MAX_SETS, &r->next_set);
	else
		reg_bit_set(r->set_used, set_id, true);
	if (!rule_id || !set_id) {
		if (rule_id)
			reg_bit_set(r->rule_used, rule_id, false);
		if (set_id)
			reg_bit_set(r->set_used, set_id, false);
		r->n_services--;
		return svc_err_set(err, SVC_API_INTERNAL, "no free rule id or next-hop set id");
	}
	s->sid = *sid;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
	s->rule_id = rule_id;
	s->set_id = set_id;
	return 0;
}

int svc_reg_service_add(struct svc_reg *r, const struct svc_sid *sid, const char *name,
			struct svc_err *err)
{
	return reg_service_add_ids(r, sid, name, 0, 0, err);
}

const char *const svc_hc_type_names[] = { "none", "tcp", "http", NULL };

/* An HTTP request path: '/' then printable ASCII without spaces. */
static bool hc_path_valid(const char *p)
{
	if (p[0] != '/' || strlen(p) > SVC_HC_PATH_MAX)
		return false;
	for (; *p; p++)
		if (*p <= ' ' || *p > '~')
			return false;
	return true;
}

/* hc_check - every field of an enabled health check in range. */
int reg_hc_check(const struct svc_reg_health *hc, struct svc_err *err)
{
	if (hc->type > SVC_HC_HTTP)
		return svc_err_set(err, SVC_API_INVALID, "health: unknown check type %u", hc->type);
	if (hc->type == SVC_HC_NONE)
		return 0;
	if (!hc->port)
		return svc_err_set(err, SVC_API_INVALID, "health: port 0");
	if (hc->interval_ms < SVC_HC_MS_MIN || hc->interval_ms > SVC_HC_MS_MAX ||
	    hc->timeout_ms < SVC_HC_MS_MIN || hc->timeout_ms > SVC_HC_MS_MAX)
		return svc_err_set(err, SVC_API_INVALID,
				   "health: interval and timeout must be %d..%d ms", SVC_HC_MS_MIN,
				   SVC_HC_MS_MAX);
	if (hc->timeout_ms > hc->interval_ms)
		return svc_err_set(err, SVC_API_INVALID,
				   "health: timeout %u ms longer than the interval %u ms",
				   hc->timeout_ms, hc->interval_ms);
	if (hc->rise < 1 || hc->rise > SVC_HC_COUNT_MAX || hc->fall < 1 ||
	    hc->fall > SVC_HC_COUNT_MAX)
		return svc_err_set(err, SVC_API_INVALID, "health: rise and fall must be 1..%d",
				   SVC_HC_COUNT_MAX);
	if (hc->type == SVC_HC_HTTP &&
	    (!hc_path_valid(hc->path) || hc->expect < 100 || hc->expect > 599))
		return svc_err_set(err, SVC_API_INVALID,
				   "health: http needs a path starting with '/' (no spaces, at "
				   "most %d bytes) and an expected status 100..599",
				   SVC_HC_PATH_MAX);
	return 0;
}

int svc_reg_service_health(struct svc_reg *r, const struct svc_sid *sid,
			   const struct svc_reg_health *hc, struct svc_err *err)
{
	struct svc_reg_service *s = svc_reg_service_find(r, sid);
	char b[SVC_ADDR_STRLEN];

	if (!s)
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", reg_fmt_sid(sid, b));
	if (reg_hc_check(hc, err))
		return -1;
	s->hc = *hc;
	if (hc->type == SVC_HC_NONE)
		memset(&s->hc, 0, sizeof(s->hc));
	/* new settings start from unknown: results of other settings do not count */
	for (size_t i = 0; i < r->n_instances; i++) {
		if (!reg_sid_eq(&r->instances[i].sid, sid))
			continue;
		r->instances[i].health_down = false;
		r->instances[i].health_why[0] = '\0';
	}
	return 0;
}

int svc_reg_service_del(struct svc_reg *r, const struct svc_sid *sid, struct svc_err *err)
{
	struct svc_reg_service *s = svc_reg_service_find(r, sid);
	char b[SVC_ADDR_STRLEN];
	size_t nb;

	if (!s)
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", reg_fmt_sid(sid, b));
	nb = svc_reg_binding_count(r, sid);
	if (nb)
		return svc_err_set(err, SVC_API_INVALID,
				   "service %s still has %zu binding(s): bind del them first",
				   reg_fmt_sid(sid, b), nb);
	for (size_t i = r->n_instances; i-- > 0;)
		if (reg_sid_eq(&r->instances[i].sid, sid))
			REMOVE(r, instances, i);
	reg_bit_set(r->rule_used, s->rule_id, false);
	reg_bit_set(r->set_used, s->set_id, false);
	REMOVE(r, services, (size_t)(s - r->services));
	return 0;
}

int reg_instance_add_state(struct svc_reg *r, const struct svc_sid *sid,
			   const struct svc_addr *addr, __u32 weight, bool up, const char *name,
			   struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	struct svc_reg_instance *in;

	if (!svc_reg_service_find(r, sid))
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", reg_fmt_sid(sid, b));
	if (reg_check_hop_addr(addr, err) || reg_check_weight(weight, err) ||
	    reg_check_name(name, "instance", err))
		return -1;
	if (svc_reg_instance_find(r, sid, addr))
		return svc_err_set(err, SVC_API_EXISTS, "service %s has instance %s already",
				   reg_fmt_sid(sid, b), reg_fmt_addr(addr, b2));
	if (svc_reg_instance_count(r, sid, NULL) >= SVC_REG_MAX_INSTANCES)
		return svc_err_set(err, SVC_API_INVALID, "service %s has %d instances (the limit)",
				   reg_fmt_sid(sid, b), SVC_REG_MAX_INSTANCES);
	if (!reg_nh_ensure(r, addr, err))
		return -1;
	in = PUSH(r, instances, err);
	if (!in)
		return -1; /* the next-hop id stays allocated: harmless, released by GC */
	svc_reg_nh_set_reset(r, addr, false); /* the address serves again */
	memset(in, 0, sizeof(*in));
	in->sid = *sid;
	in->addr = *addr;
	in->weight = weight;
	in->up = up;
	snprintf(in->name, sizeof(in->name), "%s", name ? name : "");
	return 0;
}

int svc_reg_instance_add(struct svc_reg *r, const struct svc_sid *sid, const struct svc_addr *addr,
			 __u32 weight, const char *name, struct svc_err *err)
{
	return reg_instance_add_state(r, sid, addr, weight, true, name, err);
}

int svc_reg_instance_set(struct svc_reg *r, const struct svc_sid *sid, const struct svc_addr *addr,
			 __u32 weight, int up, struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	struct svc_reg_instance *in;

	if (!svc_reg_service_find(r, sid))
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", reg_fmt_sid(sid, b));
	in = svc_reg_instance_find(r, sid, addr);
	if (!in)
		return svc_err_set(err, SVC_API_NOT_FOUND, "service %s has no instance %s",
				   reg_fmt_sid(sid, b), reg_fmt_addr(addr, b2));
	if (!weight && up < 0)
		return svc_err_set(err, SVC_API_INVALID,
				   "nothing to set: give a weight or a state");
	if (weight && reg_check_weight(weight, err))
		return -1;
	if (weight)
		in->weight = weight;
	if (up >= 0)
		in->up = up;
	return 0;
}

int svc_reg_instance_del(struct svc_reg *r, const struct svc_sid *sid, const struct svc_addr *addr,
			 struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	struct svc_reg_instance *in;

	if (!svc_reg_service_find(r, sid))
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", reg_fmt_sid(sid, b));
	in = svc_reg_instance_find(r, sid, addr);
	if (!in)
		return svc_err_set(err, SVC_API_NOT_FOUND, "service %s has no instance %s",
				   reg_fmt_sid(sid, b), reg_fmt_addr(addr, b2));
	REMOVE(r, instances, (size_t)(in - r->instances));
	return 0;
}

int svc_reg_instance_mode(struct svc_reg *r, const struct svc_sid *sid, const struct svc_addr *addr,
			  int mode, struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	struct svc_reg_instance *in;

	if (mode < SVC_INST_ACTIVE || mode > SVC_INST_SHED)
		return svc_err_set(err, SVC_API_INVALID, "mode %d unknown", mode);
	in = svc_reg_instance_find(r, sid, addr);
	if (!in)
		return svc_err_set(err, SVC_API_NOT_FOUND, "service %s has no instance %s",
				   reg_fmt_sid(sid, b), reg_fmt_addr(addr, b2));
	in->mode = (__u8)mode;
	return 0;
}

int svc_reg_binding_add(struct svc_reg *r, const struct svc_binding_key *key,
			const struct svc_sid *sid, struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	struct svc_reg_binding *bd;

	if (key->pad || (key->proto != 6 && key->proto != 17))
		return svc_err_set(err, SVC_API_INVALID, "binding: protocol must be tcp or udp");
	if (!svc_reg_service_find(r, sid))
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", reg_fmt_sid(sid, b));
	bd = svc_reg_binding_find(r, key);
	if (bd)
		return svc_err_set(err, SVC_API_EXISTS, "binding %s exists (to %s)",
				   svc_binding_format(key, b, sizeof(b)),
				   reg_fmt_sid(&bd->sid, b2));
	if (reg_addr_zero(&key->vip))
		return svc_err_set(err, SVC_API_INVALID, "binding: VIP is the unspecified address");
	if (r->n_bindings >= SVC_MAX_BINDINGS)
		return svc_err_set(err, SVC_API_INVALID, "bindings full (%d)", SVC_MAX_BINDINGS);
	bd = PUSH(r, bindings, err);
	if (!bd)
		return -1;
	bd->key = *key;
	bd->sid = *sid;
	return 0;
}

int svc_reg_binding_del(struct svc_reg *r, const struct svc_binding_key *key, struct svc_err *err)
{
	struct svc_reg_binding *bd = svc_reg_binding_find(r, key);
	char b[SVC_ADDR_STRLEN];

	if (!bd)
		return svc_err_set(err, SVC_API_NOT_FOUND, "no binding %s",
				   svc_binding_format(key, b, sizeof(b)));
	REMOVE(r, bindings, (size_t)(bd - r->bindings));
	return 0;
}

int svc_reg_service_add_ids(struct svc_reg *r, const struct svc_sid *sid, const char *name,
			    __u32 rule_id, __u32 set_id, struct svc_err *err)
{
	if (rule_id >= SVC_MAX_RULE_IDS || set_id >= SVC_MAX_SETS)
		return svc_err_set(err, SVC_API_INVALID, "rule or set id out of range");
	return reg_service_add_ids(r, sid, name, rule_id, set_id, err);
}
