// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Registry: the JSON form (state file and API), written in full and loaded
 * with every field checked; errors name the element.
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

static int add_str(json_object *o, const char *key, const char *s)
{
	json_object *v = json_object_new_string(s);

	if (!v || json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int add_int(json_object *o, const char *key, int64_t x)
{
	json_object *v = json_object_new_int64(x);

	if (!v || json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int add_bool(json_object *o, const char *key, bool x)
{
	json_object *v = json_object_new_boolean(x);

	if (!v || json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* An optional boolean field: true only when present and true. */
static bool opt_bool(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

static int arr_add(json_object *a, json_object *v)
{
	if (!v || json_object_array_add(a, v)) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static json_object *hops_json(const struct svc_reg_rule *ru)
{
	json_object *a = json_object_new_array();
	char b[SVC_ADDR_STRLEN];

	for (size_t h = 0; a && h < ru->nhops; h++) {
		json_object *o = json_object_new_object();

		if (!o || add_str(o, "addr", reg_fmt_addr(&ru->hops[h].addr, b)) ||
		    add_int(o, "weight", ru->hops[h].weight) || arr_add(a, o)) {
			json_object_put(o);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

/* o.health = the service's health check, if it has one. */
static int hc_to_json(json_object *o, const struct svc_reg_health *hc)
{
	json_object *h;

	if (hc->type == SVC_HC_NONE)
		return 0;
	h = json_object_new_object();
	if (!h || add_str(h, "type", svc_hc_type_names[hc->type]) || add_int(h, "port", hc->port) ||
	    add_int(h, "interval_ms", hc->interval_ms) ||
	    add_int(h, "timeout_ms", hc->timeout_ms) || add_int(h, "rise", hc->rise) ||
	    add_int(h, "fall", hc->fall) ||
	    (hc->type == SVC_HC_HTTP &&
	     (add_str(h, "path", hc->path) || add_int(h, "expect", hc->expect))) ||
	    json_object_object_add(o, "health", h)) {
		json_object_put(h);
		return -1;
	}
	return 0;
}

/* The services array, each with its instances; NULL on ENOMEM. */
static json_object *to_json_services(const struct svc_reg *r)
{
	json_object *a = json_object_new_array();
	char b[SVC_ADDR_STRLEN];

	for (size_t i = 0; a && i < r->n_services; i++) {
		const struct svc_reg_service *s = &r->services[i];
		json_object *o = json_object_new_object(), *ins = json_object_new_array();

		if (!o || !ins || add_str(o, "sid", reg_fmt_sid(&s->sid, b)) ||
		    add_str(o, "name", s->name) || add_int(o, "rule_id", s->rule_id) ||
		    add_int(o, "set_id", s->set_id) || hc_to_json(o, &s->hc))
			goto fail;
		for (size_t k = 0; k < r->n_instances; k++) {
			const struct svc_reg_instance *in = &r->instances[k];
			json_object *io;

			if (!reg_sid_eq(&in->sid, &s->sid))
				continue;
			io = json_object_new_object();
			if (!io || add_str(io, "addr", reg_fmt_addr(&in->addr, b)) ||
			    add_int(io, "weight", in->weight) ||
			    add_str(io, "state", svc_state_names[in->up]) ||
			    add_str(io, "name", in->name) ||
			    add_str(io, "mode", svc_mode_names_inst[in->mode]) ||
			    add_int(io, "lease", in->lease_s) ||
			    add_bool(io, "strip_options", in->strip_opts) || arr_add(ins, io)) {
				json_object_put(io);
				goto fail;
			}
		}
		json_object_object_add(o, "instances", ins);
		ins = NULL;
		if (arr_add(a, o)) {
			o = NULL;
			goto fail;
		}
		continue;
	fail:
		json_object_put(ins);
		json_object_put(o);
		json_object_put(a);
		return NULL;
	}
	return a;
}

/* The TI-flow settings: {cgroups[], instance_id, kind, roles, select[]}. */
static json_object *tiflow_to_json(const struct svc_reg_tiflow *t)
{
	json_object *o = json_object_new_object(), *cg = json_object_new_array(),
		    *sel = json_object_new_array();
	char b[SVC_ADDR_STRLEN + 16];

	if (!o || !cg || !sel)
		goto fail;
	for (size_t i = 0; i < t->n_cgroups; i++)
		if (arr_add(cg, json_object_new_string(t->cgroups[i])))
			goto fail;
	for (size_t i = 0; i < t->n_select; i++)
		if (arr_add(sel, json_object_new_string(
					 svc_tiflow_sel_format(&t->select[i], b, sizeof(b)))))
			goto fail;
	if (json_object_object_add(o, "cgroups", cg)) {
		json_object_put(cg);
		cg = NULL;
		goto fail;
	}
	cg = NULL;
	if (json_object_object_add(o, "select", sel)) {
		json_object_put(sel);
		sel = NULL;
		goto fail;
	}
	sel = NULL;
	if (add_int(o, "instance_id", t->instance_id) || add_int(o, "kind", t->kind) ||
	    add_str(o, "roles", svc_tiflow_roles_names[t->roles]))
		goto fail;
	return o;
fail:
	json_object_put(cg);
	json_object_put(sel);
	json_object_put(o);
	return NULL;
}

/* The direct path: {ifaces[] {iface, role}, instance_id, vips[], map[] {id, addr}}. */
static json_object *direct_to_json(const struct svc_reg_direct *d)
{
	json_object *o = json_object_new_object(), *a = NULL, *e;
	char b[SVC_ADDR_STRLEN];

	if (!o || add_int(o, "instance_id", d->instance_id))
		goto fail;
	a = json_object_new_array();
	for (size_t i = 0; a && i < d->n_ifaces; i++) {
		e = json_object_new_object();
		if (!e || add_str(e, "iface", d->ifaces[i].iface) ||
		    add_str(e, "role", svc_direct_role_names[d->ifaces[i].role]) || arr_add(a, e)) {
			json_object_put(e);
			goto fail;
		}
	}
	if (!a || json_object_object_add(o, "ifaces", a))
		goto fail;
	a = json_object_new_array();
	for (size_t i = 0; a && i < d->n_vips; i++)
		if (arr_add(a, json_object_new_string(svc_addr_format(&d->vips[i], b, sizeof(b)))))
			goto fail;
	if (!a || json_object_object_add(o, "vips", a))
		goto fail;
	a = json_object_new_array();
	for (size_t i = 0; a && i < d->n_map; i++) {
		e = json_object_new_object();
		if (!e || add_int(e, "id", d->map[i].id) ||
		    add_str(e, "addr", svc_addr_format(&d->map[i].addr, b, sizeof(b))) ||
		    arr_add(a, e)) {
			json_object_put(e);
			goto fail;
		}
	}
	if (!a || json_object_object_add(o, "map", a))
		goto fail;
	return o;
fail:
	json_object_put(a);
	json_object_put(o);
	return NULL;
}

json_object *svc_reg_to_json(const struct svc_reg *r)
{
	json_object *o = json_object_new_object(), *a, *e, *src;
	char b[SVC_ADDR_STRLEN];

	if (!o || add_int(o, "format", SVC_REG_FORMAT))
		goto fail;
	a = to_json_services(r);
	if (!a || json_object_object_add(o, "services", a))
		goto fail_a;

	a = json_object_new_array();
	for (size_t i = 0; a && i < r->n_bindings; i++) {
		e = json_object_new_object();
		if (!e ||
		    add_str(e, "binding", svc_binding_format(&r->bindings[i].key, b, sizeof(b))) ||
		    add_str(e, "sid", reg_fmt_sid(&r->bindings[i].sid, b)) || arr_add(a, e)) {
			json_object_put(e);
			goto fail_a;
		}
	}
	if (!a || json_object_object_add(o, "bindings", a))
		goto fail_a;

	a = json_object_new_array();
	for (size_t i = 0; a && i < r->n_rules; i++) {
		const struct svc_reg_rule *ru = &r->rules[i];
		json_object *h = NULL;

		e = json_object_new_object();
		if (!e || add_str(e, "prefix", reg_fmt_prefix(&ru->prefix, b)) ||
		    add_str(e, "action", svc_action_names[ru->action]) ||
		    add_int(e, "rule_id", ru->rule_id) || add_int(e, "set_id", ru->set_id) ||
		    !(h = hops_json(ru)) || json_object_object_add(e, "hops", h) || arr_add(a, e)) {
			json_object_put(e);
			goto fail_a;
		}
	}
	if (!a || json_object_object_add(o, "rules", a))
		goto fail_a;

	a = json_object_new_array();
	for (size_t i = 0; a && i < r->n_prefixes; i++)
		if (arr_add(a, json_object_new_string(reg_fmt_prefix(&r->prefixes[i], b))))
			goto fail_a;
	if (!a || json_object_object_add(o, "prefixes", a))
		goto fail_a;

	a = json_object_new_array();
	for (size_t i = 0; a && i < r->n_decaps; i++)
		if (arr_add(a, json_object_new_string(reg_fmt_addr(&r->decaps[i], b))))
			goto fail_a;
	if (!a || json_object_object_add(o, "decap_sources", a))
		goto fail_a;

	src = json_object_new_object();
	if (!src || (r->has_src4 && add_str(src, "ipv4", reg_fmt_addr(&r->src4, b))) ||
	    (r->has_src6 && add_str(src, "ipv6", reg_fmt_addr(&r->src6, b))) ||
	    json_object_object_add(o, "src", src)) {
		json_object_put(src);
		goto fail;
	}

	a = json_object_new_array();
	for (size_t i = 0; a && i < r->n_attachments; i++) {
		const struct svc_reg_attach *at = &r->attachments[i];

		e = json_object_new_object();
		if (!e || add_str(e, "iface", at->iface) ||
		    add_str(e, "prog", svc_prog_names[at->prog]) ||
		    add_str(e, "mode", svc_mode_names[at->mode]) || arr_add(a, e)) {
			json_object_put(e);
			goto fail_a;
		}
	}
	if (!a || json_object_object_add(o, "attachments", a))
		goto fail_a;

	e = tiflow_to_json(&r->tiflow);
	if (!e || json_object_object_add(o, "tiflow", e)) {
		json_object_put(e);
		goto fail;
	}
	e = direct_to_json(&r->direct);
	if (!e || json_object_object_add(o, "direct", e)) {
		json_object_put(e);
		goto fail;
	}

	a = json_object_new_array();
	for (size_t i = 0; a && i < r->n_nexthops; i++) {
		e = json_object_new_object();
		if (!e || add_str(e, "addr", reg_fmt_addr(&r->nexthops[i].addr, b)) ||
		    add_int(e, "id", r->nexthops[i].id) ||
		    (r->nexthops[i].reset && add_bool(e, "reset", true)) || arr_add(a, e)) {
			json_object_put(e);
			goto fail_a;
		}
	}
	if (!a || json_object_object_add(o, "nexthops", a))
		goto fail_a;

	e = json_object_new_object();
	if (!e || add_int(e, "nexthop", r->next_nh) || add_int(e, "set", r->next_set) ||
	    add_int(e, "rule", r->next_rule) || json_object_object_add(o, "next_ids", e)) {
		json_object_put(e);
		goto fail;
	}
	return o;
fail_a:
	json_object_put(a);
fail:
	json_object_put(o);
	return NULL;
}

/* -- loading: every field checked, errors name the element -- */

static json_object *jget(json_object *o, const char *key, json_type t, const char *where,
			 struct svc_err *err)
{
	json_object *v;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, t)) {
		svc_err_set(err, SVC_API_INVALID, "%s: field '%s' missing or of the wrong type",
			    where, key);
		return NULL;
	}
	return v;
}

static int jstr(json_object *o, const char *key, const char *where, const char **out,
		struct svc_err *err)
{
	json_object *v = jget(o, key, json_type_string, where, err);

	if (!v)
		return -1;
	*out = json_object_get_string(v);
	return 0;
}

static int jid(json_object *o, const char *key, const char *where, __u32 max, bool zero_ok,
	       __u32 *out, struct svc_err *err)
{
	json_object *v = jget(o, key, json_type_int, where, err);
	int64_t x;

	if (!v)
		return -1;
	x = json_object_get_int64(v);
	if (x < (zero_ok ? 0 : 1) || x >= max)
		return svc_err_set(err, SVC_API_INVALID, "%s: '%s' = %lld out of range", where, key,
				   (long long)x);
	*out = (__u32)x;
	return 0;
}

#define PARSE_OR_FAIL(parse, s, out, what, where)                                                 \
	do {                                                                                      \
		if (parse(s, out))                                                                \
			return svc_err_set(err, SVC_API_INVALID, "%s: invalid %s '%.64s'", where, \
					   what, s);                                              \
	} while (0)

static int load_nexthops(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *a = jget(root, "nexthops", json_type_array, "state", err);

	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		struct svc_reg_nh *nh;
		struct svc_addr addr;
		const char *s;
		__u32 id;

		if (jstr(e, "addr", "nexthops[]", &s, err) ||
		    jid(e, "id", "nexthops[]", SVC_MAX_NEXTHOPS, false, &id, err))
			return -1;
		PARSE_OR_FAIL(svc_addr_parse, s, &addr, "address", "nexthops[]");
		if (reg_nh_find(r, &addr) || reg_bit_get(r->nh_used, id))
			return svc_err_set(err, SVC_API_INVALID, "nexthops[]: %s or id %u repeated",
					   s, id);
		nh = PUSH(r, nexthops, err);
		if (!nh)
			return -1;
		nh->addr = addr;
		nh->id = id;
		nh->reset = opt_bool(e, "reset");
		reg_bit_set(r->nh_used, id, true);
	}
	return 0;
}

/* Optional fields written since shedding and leases (absent in older state files). */
static int load_instance_extra(struct svc_reg *r, struct svc_reg_instance *in, json_object *ie,
			       struct svc_err *err)
{
	json_object *v;

	(void)r;
	if (json_object_object_get_ex(ie, "mode", &v)) {
		const char *m =
			json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
		int k;

		for (k = 0; svc_mode_names_inst[k]; k++)
			if (!strcmp(m, svc_mode_names_inst[k]))
				break;
		if (!svc_mode_names_inst[k])
			return svc_err_set(err, SVC_API_INVALID,
					   "instances[]: mode '%.16s' not active/drain/shed", m);
		in->mode = (__u8)k;
	}
	if (json_object_object_get_ex(ie, "lease", &v)) {
		int64_t l = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;

		if (l < 0 || l > 86400)
			return svc_err_set(err, SVC_API_INVALID, "instances[]: lease out of range");
		in->lease_s = (__u32)l;
	}
	if (json_object_object_get_ex(ie, "strip_options", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return svc_err_set(err, SVC_API_INVALID,
					   "instances[]: strip_options not a boolean");
		in->strip_opts = json_object_get_boolean(v);
	}
	return 0;
}

/* svc_hc_from_json - a health object (state file or API) into @hc, validated. */
int svc_hc_from_json(json_object *h, struct svc_reg_health *hc, struct svc_err *err)
{
	static const struct {
		const char *key;
		int64_t max;
	} nums[] = { { "port", 65535 },
		     { "interval_ms", SVC_HC_MS_MAX },
		     { "timeout_ms", SVC_HC_MS_MAX },
		     { "rise", SVC_HC_COUNT_MAX },
		     { "fall", SVC_HC_COUNT_MAX },
		     { "expect", 599 } };
	int64_t v[6] = { 0 };
	json_object *x;
	const char *t;
	int k;

	memset(hc, 0, sizeof(*hc));
	if (jstr(h, "type", "health", &t, err))
		return -1;
	for (k = 0; svc_hc_type_names[k]; k++)
		if (!strcmp(t, svc_hc_type_names[k]))
			break;
	if (!svc_hc_type_names[k])
		return svc_err_set(err, SVC_API_INVALID, "health: type '%.16s' not none/tcp/http",
				   t);
	hc->type = (__u8)k;
	if (hc->type == SVC_HC_NONE)
		return 0;
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (!json_object_object_get_ex(h, nums[i].key, &x)) {
			if (i == 5 && hc->type != SVC_HC_HTTP)
				continue;
			return svc_err_set(err, SVC_API_INVALID, "health: '%s' missing",
					   nums[i].key);
		}
		v[i] = json_object_is_type(x, json_type_int) ? json_object_get_int64(x) : -1;
		if (v[i] < 0 || v[i] > nums[i].max)
			return svc_err_set(err, SVC_API_INVALID, "health: '%s' out of range",
					   nums[i].key);
	}
	hc->port = (__u16)v[0];
	hc->interval_ms = (__u32)v[1];
	hc->timeout_ms = (__u32)v[2];
	hc->rise = (__u8)v[3];
	hc->fall = (__u8)v[4];
	hc->expect = (__u16)v[5];
	if (hc->type == SVC_HC_HTTP) {
		if (jstr(h, "path", "health", &t, err))
			return -1;
		snprintf(hc->path, sizeof(hc->path), "%.127s", t);
		if (strlen(t) > SVC_HC_PATH_MAX)
			hc->path[0] = '\0'; /* refused by hc_check */
	}
	return reg_hc_check(hc, err);
}

static int load_services(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *a = jget(root, "services", json_type_array, "state", err);

	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i), *ins;
		const char *s, *name;
		struct svc_sid sid;
		__u32 rid, setid;

		if (jstr(e, "sid", "services[]", &s, err) ||
		    jstr(e, "name", "services[]", &name, err) ||
		    jid(e, "rule_id", "services[]", SVC_MAX_RULE_IDS, false, &rid, err) ||
		    jid(e, "set_id", "services[]", SVC_MAX_SETS, false, &setid, err))
			return -1;
		PARSE_OR_FAIL(svc_sid_parse, s, &sid, "serviceID", "services[]");
		if (reg_service_add_ids(r, &sid, name, rid, setid, err))
			return -1;
		if (json_object_object_get_ex(e, "health", &ins) &&
		    svc_hc_from_json(ins, &r->services[r->n_services - 1].hc, err))
			return -1;
		ins = jget(e, "instances", json_type_array, "services[]", err);
		if (!ins)
			return -1;
		for (size_t k = 0; k < json_object_array_length(ins); k++) {
			json_object *ie = json_object_array_get_idx(ins, k), *w;
			const char *as, *st, *iname;
			struct svc_addr addr;
			int up;

			if (jstr(ie, "addr", "instances[]", &as, err) ||
			    jstr(ie, "state", "instances[]", &st, err) ||
			    jstr(ie, "name", "instances[]", &iname, err) ||
			    !(w = jget(ie, "weight", json_type_int, "instances[]", err)))
				return -1;
			PARSE_OR_FAIL(svc_addr_parse, as, &addr, "address", "instances[]");
			up = !strcmp(st, "up") ? 1 : !strcmp(st, "down") ? 0 : -1;
			if (up < 0)
				return svc_err_set(err, SVC_API_INVALID,
						   "instances[]: state '%.16s' not up/down", st);
			if (json_object_get_int64(w) < 1 ||
			    json_object_get_int64(w) > SVC_MAX_WEIGHT)
				return svc_err_set(err, SVC_API_INVALID,
						   "instances[]: weight out of range");
			if (reg_instance_add_state(r, &sid, &addr, (__u32)json_object_get_int64(w),
						   up, iname, err) ||
			    load_instance_extra(r, &r->instances[r->n_instances - 1], ie, err))
				return -1;
		}
	}
	return 0;
}

static int load_bindings(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *a = jget(root, "bindings", json_type_array, "state", err);

	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		struct svc_binding_key key;
		struct svc_sid sid;
		const char *bs, *ss;

		if (jstr(e, "binding", "bindings[]", &bs, err) ||
		    jstr(e, "sid", "bindings[]", &ss, err))
			return -1;
		memset(&key, 0, sizeof(key));
		PARSE_OR_FAIL(svc_binding_parse, bs, &key, "binding", "bindings[]");
		PARSE_OR_FAIL(svc_sid_parse, ss, &sid, "serviceID", "bindings[]");
		if (svc_reg_binding_add(r, &key, &sid, err))
			return -1;
	}
	return 0;
}

static int load_rules(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *a = jget(root, "rules", json_type_array, "state", err);
	struct svc_reg_hop hops[SVC_REG_MAX_HOPS];

	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i), *ha;
		const char *ps, *as;
		struct svc_lpm_key p;
		__u32 rid, setid;
		size_t nh;
		int act;

		if (jstr(e, "prefix", "rules[]", &ps, err) ||
		    jstr(e, "action", "rules[]", &as, err) ||
		    jid(e, "rule_id", "rules[]", SVC_MAX_RULE_IDS, false, &rid, err) ||
		    jid(e, "set_id", "rules[]", SVC_MAX_SETS, true, &setid, err) ||
		    !(ha = jget(e, "hops", json_type_array, "rules[]", err)))
			return -1;
		PARSE_OR_FAIL(svc_prefix_parse, ps, &p, "prefix", "rules[]");
		act = svc_action_parse(as);
		if (act < 0)
			return svc_err_set(err, SVC_API_INVALID, "rules[]: unknown action '%.16s'",
					   as);
		if ((act == SVC_ACT_FORWARD) != (setid != 0))
			return svc_err_set(err, SVC_API_INVALID,
					   "rules[]: %s: set_id must be set for forward only", ps);
		nh = json_object_array_length(ha);
		if (nh > SVC_REG_MAX_HOPS)
			return svc_err_set(err, SVC_API_INVALID, "rules[]: too many hops");
		for (size_t h = 0; h < nh; h++) {
			json_object *he = json_object_array_get_idx(ha, h), *w;
			const char *hs;

			if (jstr(he, "addr", "hops[]", &hs, err) ||
			    !(w = jget(he, "weight", json_type_int, "hops[]", err)))
				return -1;
			PARSE_OR_FAIL(svc_addr_parse, hs, &hops[h].addr, "address", "hops[]");
			if (json_object_get_int64(w) < 1 ||
			    json_object_get_int64(w) > SVC_MAX_WEIGHT)
				return svc_err_set(err, SVC_API_INVALID,
						   "hops[]: weight out of range");
			hops[h].weight = (__u32)json_object_get_int64(w);
		}
		if (reg_rule_add_ids(r, &p, act, hops, nh, rid, setid, err))
			return -1;
	}
	return 0;
}

static int load_addr_list(struct svc_reg *r, json_object *root, const char *key,
			  int (*add)(struct svc_reg *, const struct svc_addr *, struct svc_err *),
			  struct svc_err *err)
{
	json_object *a = jget(root, key, json_type_array, "state", err);

	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		struct svc_addr addr;
		const char *s;

		if (!json_object_is_type(e, json_type_string))
			return svc_err_set(err, SVC_API_INVALID, "%s[]: not a string", key);
		s = json_object_get_string(e);
		PARSE_OR_FAIL(svc_addr_parse, s, &addr, "address", key);
		if (add(r, &addr, err))
			return -1;
	}
	return 0;
}

/* The "tiflow" object of the state file, every field checked. */
static int load_tiflow(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *t = jget(root, "tiflow", json_type_object, "state", err), *a, *v;
	long inst, kind;
	const char *roles;
	int ro = -1;

	if (!t)
		return -1;
	a = jget(t, "cgroups", json_type_array, "tiflow", err);
	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		v = json_object_array_get_idx(a, i);
		if (!json_object_is_type(v, json_type_string))
			return svc_err_set(err, SVC_API_INVALID, "tiflow.cgroups[]: not a string");
		if (svc_reg_tiflow_enable(r, json_object_get_string(v), err))
			return -1;
	}
	a = jget(t, "select", json_type_array, "tiflow", err);
	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct svc_reg_tiflow_sel sel;

		v = json_object_array_get_idx(a, i);
		if (!json_object_is_type(v, json_type_string))
			return svc_err_set(err, SVC_API_INVALID, "tiflow.select[]: not a string");
		PARSE_OR_FAIL(svc_tiflow_sel_parse, json_object_get_string(v), &sel, "selection",
			      "tiflow.select[]");
		if (svc_reg_tiflow_select_add(r, &sel, err))
			return -1;
	}
	v = jget(t, "instance_id", json_type_int, "tiflow", err);
	if (!v)
		return -1;
	inst = (long)json_object_get_int64(v);
	v = jget(t, "kind", json_type_int, "tiflow", err);
	if (!v)
		return -1;
	kind = (long)json_object_get_int64(v);
	if (jstr(t, "roles", "tiflow", &roles, err))
		return -1;
	for (int k = 0; svc_tiflow_roles_names[k]; k++)
		if (!strcmp(roles, svc_tiflow_roles_names[k]))
			ro = k;
	if (inst < 0 || kind < 0 || kind > 255 || ro < 0)
		return svc_err_set(err, SVC_API_INVALID,
				   "tiflow: instance_id, kind or roles out of range");
	return svc_reg_tiflow_set(r, inst, (int)kind, ro, err);
}

/* The "direct" object of the state file, every field checked. */
static int load_direct(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *d = jget(root, "direct", json_type_object, "state", err), *a, *v, *e;
	struct svc_addr addr;
	const char *s, *role;
	long inst;

	if (!d || !(v = jget(d, "instance_id", json_type_int, "direct", err)))
		return -1;
	inst = (long)json_object_get_int64(v);
	if (inst < 0 || inst > 0xffff)
		return svc_err_set(err, SVC_API_INVALID, "direct.instance_id %ld out of range",
				   inst);
	r->direct.instance_id = (__u16)inst;
	a = jget(d, "ifaces", json_type_array, "direct", err);
	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		int ro = -1;

		e = json_object_array_get_idx(a, i);
		if (jstr(e, "iface", "direct.ifaces[]", &s, err) ||
		    jstr(e, "role", "direct.ifaces[]", &role, err))
			return -1;
		for (int k = 0; svc_direct_role_names[k]; k++)
			if (!strcmp(role, svc_direct_role_names[k]))
				ro = k;
		if (svc_reg_direct_iface_set(r, s, ro, -1, err))
			return -1;
	}
	a = jget(d, "vips", json_type_array, "direct", err);
	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string))
			return svc_err_set(err, SVC_API_INVALID, "direct.vips[]: not a string");
		PARSE_OR_FAIL(svc_addr_parse, json_object_get_string(e), &addr, "address",
			      "direct.vips[]");
		if (svc_reg_direct_vip_add(r, &addr, err))
			return -1;
	}
	a = jget(d, "map", json_type_array, "direct", err);
	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		v = jget(e, "id", json_type_int, "direct.map[]", err);
		if (!v || jstr(e, "addr", "direct.map[]", &s, err))
			return -1;
		PARSE_OR_FAIL(svc_addr_parse, s, &addr, "address", "direct.map[]");
		if (svc_reg_direct_map_set(r, (long)json_object_get_int64(v), &addr, err))
			return -1;
	}
	return 0;
}

static int load_misc(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *a, *src, *ids;
	struct svc_addr addr;

	a = jget(root, "prefixes", json_type_array, "state", err);
	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		struct svc_lpm_key p;

		if (!json_object_is_type(e, json_type_string))
			return svc_err_set(err, SVC_API_INVALID, "prefixes[]: not a string");
		PARSE_OR_FAIL(svc_prefix_parse, json_object_get_string(e), &p, "prefix",
			      "prefixes[]");
		if (svc_reg_prefix_add(r, &p, err))
			return -1;
	}
	if (load_addr_list(r, root, "decap_sources", svc_reg_decap_add, err))
		return -1;
	src = jget(root, "src", json_type_object, "state", err);
	if (!src)
		return -1;
	json_object_object_foreach(src, key, val)
	{
		bool v4 = !strcmp(key, "ipv4");

		if ((!v4 && strcmp(key, "ipv6")) || !json_object_is_type(val, json_type_string))
			return svc_err_set(err, SVC_API_INVALID, "src: bad field '%.16s'", key);
		PARSE_OR_FAIL(svc_addr_parse, json_object_get_string(val), &addr, "address", "src");
		if (svc_addr_is_v4(&addr) != v4)
			return svc_err_set(err, SVC_API_INVALID, "src.%s: wrong family", key);
		if (svc_reg_src_set(r, &addr, err))
			return -1;
	}
	a = jget(root, "attachments", json_type_array, "state", err);
	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		const char *ifn, *ps, *ms;
		int prog = -1, mode = -1;

		if (jstr(e, "iface", "attachments[]", &ifn, err) ||
		    jstr(e, "prog", "attachments[]", &ps, err) ||
		    jstr(e, "mode", "attachments[]", &ms, err))
			return -1;
		for (int k = 0; svc_prog_names[k]; k++)
			if (!strcmp(ps, svc_prog_names[k]))
				prog = k;
		for (int k = 0; svc_mode_names[k]; k++)
			if (!strcmp(ms, svc_mode_names[k]))
				mode = k;
		if (svc_reg_attach_add(r, ifn, prog, mode, err))
			return -1;
	}
	/* Optional: state files written before TI-flow was managed have none. */
	if (json_object_object_get_ex(root, "tiflow", NULL) && load_tiflow(r, root, err))
		return -1;
	if (json_object_object_get_ex(root, "direct", NULL) && load_direct(r, root, err))
		return -1;
	ids = jget(root, "next_ids", json_type_object, "state", err);
	if (!ids || jid(ids, "nexthop", "next_ids", SVC_MAX_NEXTHOPS, false, &r->next_nh, err) ||
	    jid(ids, "set", "next_ids", SVC_MAX_SETS, false, &r->next_set, err) ||
	    jid(ids, "rule", "next_ids", SVC_MAX_RULE_IDS, false, &r->next_rule, err))
		return -1;
	return 0;
}

int svc_reg_from_json(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *fmt;

	svc_reg_init(r);
	fmt = jget(root, "format", json_type_int, "state", err);
	if (!fmt)
		return -1;
	if (json_object_get_int64(fmt) != SVC_REG_FORMAT)
		return svc_err_set(err, SVC_API_INVALID, "state: unknown registry format %lld",
				   (long long)json_object_get_int64(fmt));
	/* Next hops first: instances and rules then find their recorded ids. */
	if (load_nexthops(r, root, err) || load_services(r, root, err) ||
	    load_bindings(r, root, err) || load_rules(r, root, err) || load_misc(r, root, err)) {
		svc_reg_free(r);
		return -1;
	}
	return 0;
}
