// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svcplaned API: service, binding and instance ops (service.*, bind.*, instance.*). */
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

/* ---- services ---- */

int agent_op_service_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_sid sid;
	const char *name;

	if (svc_api_arg_sid(args, "sid", true, &sid, err) < 0 ||
	    op_arg_name(args, "name", &name, err) || svc_reg_service_add(&a->reg, &sid, name, err))
		return -1;
	json_object_object_add(res, "service",
			       op_service_json(a, svc_reg_service_find(&a->reg, &sid)));
	return 0;
}

int agent_op_service_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_sid sid;

	(void)res;
	if (svc_api_arg_sid(args, "sid", true, &sid, err) < 0)
		return -1;
	return svc_reg_service_del(&a->reg, &sid, err);
}

int agent_op_service_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	json_object *arr = json_object_new_array();

	(void)args;
	(void)err;
	for (size_t i = 0; i < a->reg.n_services; i++)
		json_object_array_add(arr, op_service_json(a, &a->reg.services[i]));
	json_object_object_add(res, "services", arr);
	return 0;
}

int agent_op_service_show(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_reg_service *s;
	json_object *o, *ins, *binds;
	struct svc_counter c;
	struct svc_sid sid;
	char b[SVC_ADDR_STRLEN];

	if (svc_api_arg_sid(args, "sid", true, &sid, err) < 0)
		return -1;
	s = svc_reg_service_find(&a->reg, &sid);
	if (!s)
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", op_sid_str(&sid, b));
	o = op_service_json(a, s);
	c = op_rule_counter(a, s->rule_id);
	op_put_counter(o, &c);
	ins = json_object_new_array();
	for (size_t i = 0; i < a->reg.n_instances; i++)
		if (op_sid_eq(&a->reg.instances[i].sid, &sid))
			json_object_array_add(
				ins, op_instance_json(a, &a->reg.instances[i], true, NULL));
	json_object_object_add(o, "instances", ins);
	binds = json_object_new_array();
	for (size_t i = 0; i < a->reg.n_bindings; i++)
		if (op_sid_eq(&a->reg.bindings[i].sid, &sid))
			json_object_array_add(binds, op_binding_json(a, &a->reg.bindings[i]));
	json_object_object_add(o, "bindings", binds);
	json_object_object_add(res, "service", o);
	return 0;
}

/*
 * service.health: type tcp|http|none, port, path, expect, interval_ms,
 * timeout_ms, rise, fall (defaults: SVC_AGENT_HC_DEFAULT_*).
 */
int agent_op_service_health(struct agent *a, json_object *args, json_object *res,
			    struct svc_err *err)
{
	unsigned long port = 0, expect = 200, ival = SVC_AGENT_HC_DEFAULT_INTERVAL_MS,
		      tmo = SVC_AGENT_HC_DEFAULT_TIMEOUT_MS, rise = SVC_AGENT_HC_DEFAULT_RISE,
		      fall = SVC_AGENT_HC_DEFAULT_FALL;
	struct svc_reg_health hc = { 0 };
	const char *path = "/";
	struct svc_sid sid;
	int type = 0;

	if (svc_api_arg_sid(args, "sid", true, &sid, err) < 0 ||
	    svc_api_arg_enum(args, "type", true, svc_hc_type_names, &type, err) < 0 ||
	    svc_api_arg_uint(args, "port", type != SVC_HC_NONE, 1, 65535, &port, err) < 0 ||
	    svc_api_arg_str(args, "path", false, &path, err) < 0 ||
	    svc_api_arg_uint(args, "expect", false, 100, 599, &expect, err) < 0 ||
	    svc_api_arg_uint(args, "interval_ms", false, SVC_HC_MS_MIN, SVC_HC_MS_MAX, &ival, err) <
		    0 ||
	    svc_api_arg_uint(args, "timeout_ms", false, SVC_HC_MS_MIN, SVC_HC_MS_MAX, &tmo, err) <
		    0 ||
	    svc_api_arg_uint(args, "rise", false, 1, SVC_HC_COUNT_MAX, &rise, err) < 0 ||
	    svc_api_arg_uint(args, "fall", false, 1, SVC_HC_COUNT_MAX, &fall, err) < 0)
		return -1;
	if (strlen(path) > SVC_HC_PATH_MAX)
		return svc_err_set(err, SVC_API_INVALID, "path longer than %d bytes",
				   SVC_HC_PATH_MAX);
	hc.type = (__u8)type;
	hc.port = (__u16)port;
	hc.expect = type == SVC_HC_HTTP ? (__u16)expect : 0;
	hc.interval_ms = (__u32)ival;
	hc.timeout_ms = (__u32)tmo;
	hc.rise = (__u8)rise;
	hc.fall = (__u8)fall;
	if (type == SVC_HC_HTTP)
		snprintf(hc.path, sizeof(hc.path), "%s", path);
	if (svc_reg_service_health(&a->reg, &sid, &hc, err))
		return -1;
	json_object_object_add(res, "service",
			       op_service_json(a, svc_reg_service_find(&a->reg, &sid)));
	return 0;
}

/* ---- bindings ---- */

int agent_op_bind_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_binding_key k;
	struct svc_sid sid;

	if (svc_api_arg_binding(args, "binding", true, &k, err) < 0 ||
	    svc_api_arg_sid(args, "sid", true, &sid, err) < 0 ||
	    svc_reg_binding_add(&a->reg, &k, &sid, err))
		return -1;
	json_object_object_add(res, "binding",
			       op_binding_json(a, svc_reg_binding_find(&a->reg, &k)));
	return 0;
}

int agent_op_bind_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_binding_key k;

	(void)res;
	if (svc_api_arg_binding(args, "binding", true, &k, err) < 0)
		return -1;
	return svc_reg_binding_del(&a->reg, &k, err);
}

int agent_op_bind_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	json_object *arr = json_object_new_array();

	(void)args;
	(void)err;
	for (size_t i = 0; i < a->reg.n_bindings; i++)
		json_object_array_add(arr, op_binding_json(a, &a->reg.bindings[i]));
	json_object_object_add(res, "bindings", arr);
	return 0;
}

/* ---- instances ---- */

int agent_op_instance_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	unsigned long w = 1;
	struct svc_sid sid;
	struct svc_addr addr;
	const char *name;

	unsigned long lease = 0;
	struct svc_reg_instance *in;
	bool strip = false;
	int has_lease;

	if (svc_api_arg_sid(args, "sid", true, &sid, err) < 0 ||
	    svc_api_arg_addr(args, "addr", true, &addr, err) < 0 ||
	    svc_api_arg_uint(args, "weight", false, 1, SVC_MAX_WEIGHT, &w, err) < 0 ||
	    op_arg_name(args, "name", &name, err) ||
	    svc_api_arg_bool(args, "strip_options", false, &strip, err) < 0)
		return -1;
	has_lease = svc_api_arg_uint(args, "lease", false, 1, 86400, &lease, err);
	if (has_lease < 0)
		return -1;
	in = svc_reg_instance_find(&a->reg, &sid, &addr);
	if (has_lease && in && in->lease_s) {
		/* a registration refreshing its lease */
		in->lease_s = (__u32)lease;
		in->lease_expires = agent_now_s() + (double)lease;
		op_put_bool(res, "refreshed", true);
	} else {
		if (svc_reg_instance_add(&a->reg, &sid, &addr, (__u32)w, name, err))
			return -1;
		in = svc_reg_instance_find(&a->reg, &sid, &addr);
		in->strip_opts = strip;
		if (has_lease) {
			in->lease_s = (__u32)lease;
			in->lease_expires = agent_now_s() + (double)lease;
		}
		op_put_bool(res, "refreshed", false);
	}
	json_object_object_add(res, "instance", op_instance_json(a, in, false, NULL));
	return 0;
}

static const char *const state_names[] = { "down", "up", NULL };

int agent_op_instance_set(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	unsigned long w = 0;
	struct svc_sid sid;
	struct svc_addr addr;
	bool strip = false, keep = false;
	int up = -1;

	if (svc_api_arg_sid(args, "sid", true, &sid, err) < 0 ||
	    svc_api_arg_addr(args, "addr", true, &addr, err) < 0 ||
	    svc_api_arg_uint(args, "weight", false, 1, SVC_MAX_WEIGHT, &w, err) < 0 ||
	    svc_api_arg_enum(args, "state", false, state_names, &up, err) < 0 ||
	    svc_api_arg_bool(args, "strip_options", false, &strip, err) < 0 ||
	    svc_api_arg_bool(args, "keep_options", false, &keep, err) < 0)
		return -1;
	if (strip && keep)
		return svc_err_set(err, SVC_API_INVALID, "strip_options and keep_options together");
	if (strip || keep) {
		struct svc_reg_instance *in = svc_reg_instance_find(&a->reg, &sid, &addr);
		char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];

		if (!in)
			return svc_err_set(err, SVC_API_NOT_FOUND, "service %s has no instance %s",
					   op_sid_str(&sid, b), op_addr_str(&addr, b2));
		/* weight and state are optional here: apply them only when given */
		if ((w || up >= 0) && svc_reg_instance_set(&a->reg, &sid, &addr, (__u32)w, up, err))
			return -1;
		in->strip_opts = strip;
	} else if (svc_reg_instance_set(&a->reg, &sid, &addr, (__u32)w, up, err)) {
		return -1;
	}
	json_object_object_add(
		res, "instance",
		op_instance_json(a, svc_reg_instance_find(&a->reg, &sid, &addr), false, NULL));
	return 0;
}

int agent_op_instance_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_sid sid;
	struct svc_addr addr;

	bool dead = false;

	(void)res;
	if (svc_api_arg_sid(args, "sid", true, &sid, err) < 0 ||
	    svc_api_arg_addr(args, "addr", true, &addr, err) < 0 ||
	    svc_api_arg_bool(args, "dead", false, &dead, err) < 0 ||
	    svc_reg_instance_del(&a->reg, &sid, &addr, err))
		return -1;
	/* removed by an operator: its flows drain; dead: its flows' clients are reset */
	if (dead)
		svc_reg_nh_set_reset(&a->reg, &addr, true);
	return 0;
}

/* res.instance = @in with its active flows (one walk of the flow table). */
static int instance_result(struct agent *a, json_object *res, const struct svc_reg_instance *in,
			   struct svc_err *err)
{
	__u32 *active = calloc(SVC_MAX_NEXTHOPS, sizeof(*active));

	if (!active)
		return svc_err_set(err, SVC_API_INTERNAL, "out of memory");
	if (agent_flow_active(a, active)) {
		free(active);
		return svc_err_set(err, SVC_API_INTERNAL, "flow table walk failed");
	}
	json_object_object_add(res, "instance", op_instance_json(a, in, true, active));
	free(active);
	return 0;
}

/* instance.shed / instance.drain / instance.resume: @mode, then report the remaining flows. */
static int instance_mode(struct agent *a, json_object *args, json_object *res, int mode,
			 struct svc_err *err)
{
	struct svc_sid sid;
	struct svc_addr addr;

	if (svc_api_arg_sid(args, "sid", true, &sid, err) < 0 ||
	    svc_api_arg_addr(args, "addr", true, &addr, err) < 0 ||
	    svc_reg_instance_mode(&a->reg, &sid, &addr, mode, err))
		return -1;
	return instance_result(a, res, svc_reg_instance_find(&a->reg, &sid, &addr), err);
}

int agent_op_instance_shed(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err)
{
	return instance_mode(a, args, res, SVC_INST_SHED, err);
}

int agent_op_instance_drain(struct agent *a, json_object *args, json_object *res,
			    struct svc_err *err)
{
	return instance_mode(a, args, res, SVC_INST_DRAIN, err);
}

int agent_op_instance_resume(struct agent *a, json_object *args, json_object *res,
			     struct svc_err *err)
{
	return instance_mode(a, args, res, SVC_INST_ACTIVE, err);
}

int agent_op_instance_list(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err)
{
	json_object *arr;
	struct svc_sid sid;
	char b[SVC_ADDR_STRLEN];
	__u32 *active;
	int have = svc_api_arg_sid(args, "sid", false, &sid, err);

	if (have < 0)
		return -1;
	if (have && !svc_reg_service_find(&a->reg, &sid))
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", op_sid_str(&sid, b));
	active = calloc(SVC_MAX_NEXTHOPS, sizeof(*active));
	if (!active)
		return svc_err_set(err, SVC_API_INTERNAL, "out of memory");
	if (agent_flow_active(a, active)) {
		free(active);
		return svc_err_set(err, SVC_API_INTERNAL, "flow table walk failed");
	}
	arr = json_object_new_array();
	for (size_t i = 0; i < a->reg.n_instances; i++)
		if (!have || op_sid_eq(&a->reg.instances[i].sid, &sid))
			json_object_array_add(
				arr, op_instance_json(a, &a->reg.instances[i], false, active));
	json_object_object_add(res, "instances", arr);
	free(active);
	return 0;
}

int agent_op_instance_show(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err)
{
	struct svc_reg_instance *in;
	struct svc_sid sid;
	struct svc_addr addr;
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	__u32 *active;

	if (svc_api_arg_sid(args, "sid", true, &sid, err) < 0 ||
	    svc_api_arg_addr(args, "addr", true, &addr, err) < 0)
		return -1;
	if (!svc_reg_service_find(&a->reg, &sid))
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", op_sid_str(&sid, b));
	in = svc_reg_instance_find(&a->reg, &sid, &addr);
	if (!in)
		return svc_err_set(err, SVC_API_NOT_FOUND, "service %s has no instance %s",
				   op_sid_str(&sid, b), op_addr_str(&addr, b2));
	active = calloc(SVC_MAX_NEXTHOPS, sizeof(*active));
	if (!active)
		return svc_err_set(err, SVC_API_INTERNAL, "out of memory");
	if (agent_flow_active(a, active)) {
		free(active);
		return svc_err_set(err, SVC_API_INTERNAL, "flow table walk failed");
	}
	json_object_object_add(res, "instance", op_instance_json(a, in, true, active));
	free(active);
	return 0;
}
