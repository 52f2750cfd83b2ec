// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned API: service-table rules, serviceID prefixes, source addresses and
 * decap sources (rule.*, prefix.*, src.*, decap.*).
 */
#include <errno.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "addr.h"
#include "agent.h"
#include "handlers.h"
#include "log.h"
#include "svc_reason_names.h"

/* ---- rules ---- */

static int parse_hops(json_object *args, struct svc_reg_hop *hops, size_t *n, struct svc_err *err)
{
	static const char *const keys[] = { "addr", "weight", NULL };
	json_object *arr;
	size_t len;

	*n = 0;
	if (!json_object_object_get_ex(args, "hops", &arr) ||
	    json_object_is_type(arr, json_type_null))
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return svc_err_set(err, SVC_API_INVALID, "argument 'hops' must be an array");
	len = json_object_array_length(arr);
	if (len > SVC_REG_MAX_HOPS)
		return svc_err_set(err, SVC_API_INVALID, "argument 'hops': more than %d next hops",
				   SVC_REG_MAX_HOPS);
	for (size_t i = 0; i < len; i++) {
		json_object *h = json_object_array_get_idx(arr, i);
		unsigned long w = 1;

		if (!json_object_is_type(h, json_type_object))
			return svc_err_set(err, SVC_API_INVALID,
					   "argument 'hops': element %zu is not an object", i);
		if (svc_api_args_only(h, keys, err) ||
		    svc_api_arg_addr(h, "addr", true, &hops[i].addr, err) < 0 ||
		    svc_api_arg_uint(h, "weight", false, 1, SVC_MAX_WEIGHT, &w, err) < 0) {
			char tmp[sizeof(err->msg)];

			snprintf(tmp, sizeof(tmp), "%s", err->msg);
			return svc_err_set(err, SVC_API_INVALID, "hops[%zu]: %.200s", i, tmp);
		}
		hops[i].weight = (__u32)w;
	}
	*n = len;
	return 0;
}

int agent_op_rule_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	static const char *const actions[] = { "none", "forward", "demux", "delay", "drop", NULL };
	struct svc_reg_hop hops[SVC_REG_MAX_HOPS];
	struct svc_lpm_key p;
	bool replace = false;
	size_t n;
	int act;

	if (svc_api_arg_prefix(args, "prefix", true, &p, err) < 0 ||
	    svc_api_arg_enum(args, "action", true, actions, &act, err) < 0 ||
	    parse_hops(args, hops, &n, err))
		return -1;
	if (act == SVC_ACT_NONE)
		return svc_err_set(err, SVC_API_INVALID, "argument 'action': unknown value 'none'");
	if (svc_api_arg_bool(args, "replace", false, &replace, err) < 0)
		return -1;
	/* replace: one registry change, one reconcile (e.g. moving a partition) */
	if (replace && svc_reg_rule_find(&a->reg, &p) && svc_reg_rule_del(&a->reg, &p, err))
		return -1;
	if (svc_reg_rule_add(&a->reg, &p, act, hops, n, err))
		return -1;
	json_object_object_add(res, "rule", op_rule_json(a, svc_reg_rule_find(&a->reg, &p)));
	return 0;
}

int agent_op_rule_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_lpm_key p;

	(void)res;
	if (svc_api_arg_prefix(args, "prefix", true, &p, err) < 0)
		return -1;
	return svc_reg_rule_del(&a->reg, &p, err);
}

int agent_op_rule_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	json_object *arr = json_object_new_array();

	(void)args;
	(void)err;
	/* a service resolved on demand (DELAY) has no rule until its first packet */
	for (size_t i = 0; i < a->reg.n_services; i++)
		if (svc_reg_instance_count(&a->reg, &a->reg.services[i].sid, NULL) &&
		    !svc_reg_service_on_demand(&a->reg, &a->reg.services[i]))
			json_object_array_add(arr, op_service_rule_json(a, &a->reg.services[i]));
	for (size_t i = 0; i < a->reg.n_rules; i++)
		json_object_array_add(arr, op_rule_json(a, &a->reg.rules[i]));
	json_object_object_add(res, "rules", arr);
	return 0;
}

/* ---- prefixes, sources, decap ---- */

/* The "prefix" argument, then @fn (svc_reg_prefix_add or _del) on it. */
static int prefix_op(struct agent *a, json_object *args, struct svc_err *err,
		     int (*fn)(struct svc_reg *, const struct svc_lpm_key *, struct svc_err *))
{
	struct svc_lpm_key p;

	if (svc_api_arg_prefix(args, "prefix", true, &p, err) < 0)
		return -1;
	return fn(&a->reg, &p, err);
}

int agent_op_prefix_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	(void)res;
	return prefix_op(a, args, err, svc_reg_prefix_add);
}

int agent_op_prefix_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	(void)res;
	return prefix_op(a, args, err, svc_reg_prefix_del);
}

int agent_op_prefix_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	json_object *arr = json_object_new_array();
	char b[SVC_ADDR_STRLEN];

	(void)args;
	(void)err;
	for (size_t i = 0; i < a->reg.n_prefixes; i++) {
		json_object *o = json_object_new_object();

		op_put_str(o, "prefix", svc_prefix_format(&a->reg.prefixes[i], b, sizeof(b)));
		json_object_array_add(arr, o);
	}
	json_object_object_add(res, "prefixes", arr);
	return 0;
}

int agent_op_src_show(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];

	(void)args;
	(void)err;
	op_put_str(o, "ipv4", a->reg.has_src4 ? op_addr_str(&a->reg.src4, b) : NULL);
	op_put_str(o, "ipv6", a->reg.has_src6 ? op_addr_str(&a->reg.src6, b) : NULL);
	json_object_object_add(res, "src", o);
	return 0;
}

int agent_op_src_set(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_addr addr;

	if (svc_api_arg_addr(args, "addr", true, &addr, err) < 0 ||
	    svc_reg_src_set(&a->reg, &addr, err))
		return -1;
	return agent_op_src_show(a, NULL, res, err);
}

/* The "addr" argument, then @fn (svc_reg_decap_add or _del) on it. */
static int decap_op(struct agent *a, json_object *args, struct svc_err *err,
		    int (*fn)(struct svc_reg *, const struct svc_addr *, struct svc_err *))
{
	struct svc_addr addr;

	if (svc_api_arg_addr(args, "addr", true, &addr, err) < 0)
		return -1;
	return fn(&a->reg, &addr, err);
}

int agent_op_decap_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	(void)res;
	return decap_op(a, args, err, svc_reg_decap_add);
}

int agent_op_decap_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	(void)res;
	return decap_op(a, args, err, svc_reg_decap_del);
}

int agent_op_decap_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	json_object *arr = json_object_new_array();
	char b[SVC_ADDR_STRLEN];

	(void)args;
	(void)err;
	for (size_t i = 0; i < a->reg.n_decaps; i++) {
		json_object *o = json_object_new_object();

		op_put_str(o, "addr", op_addr_str(&a->reg.decaps[i], b));
		json_object_array_add(arr, o);
	}
	json_object_object_add(res, "decap_sources", arr);
	return 0;
}
