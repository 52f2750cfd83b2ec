// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned: the control API's operations. Each op validates its arguments
 * (again: servicectl validated them too, but the socket is the interface),
 * changes the registry, and the common path then saves the state file and
 * reconciles; if either fails, the registry is rolled back and reconciled
 * again, so a failed request leaves nothing changed. docs/svcplaned.md
 * lists every op with its arguments and result.
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
#include "log.h"
#include "svc_reason_names.h"

typedef int (*op_fn)(struct agent *a, json_object *args, json_object *res, struct svc_err *err);

/* How an op changes state: not at all, through the registry (common commit path), or itself. */
enum op_kind { OP_READ, OP_REGISTRY, OP_SELF };

struct op {
	const char *name;
	op_fn fn;
	enum op_kind kind;
	const char *const *args; /* accepted argument keys */
};

/* ---- JSON helpers ---- */

static void put_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static void put_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void put_bool(json_object *o, const char *k, bool v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

static void put_counter(json_object *o, const struct svc_counter *c)
{
	put_int(o, "packets", (int64_t)c->packets);
	put_int(o, "bytes", (int64_t)c->bytes);
}

static const char *sid_str(const struct svc_sid *s, char *b)
{
	return svc_sid_format(s, b, SVC_ADDR_STRLEN);
}

static const char *addr_str(const struct svc_addr *x, char *b)
{
	return svc_addr_format(x, b, SVC_ADDR_STRLEN);
}

static bool sid_eq(const struct svc_sid *x, const struct svc_sid *y)
{
	return !memcmp(x, y, sizeof(*x));
}

static struct svc_counter rule_counter(struct agent *a, __u32 rule_id)
{
	struct svc_counter c = { 0 };

	if (svc_dp_rule_stats_read(a->dp, rule_id, &c))
		memset(&c, 0, sizeof(c));
	return c;
}

static struct svc_counter nh_counter(struct agent *a, __u32 nh_id)
{
	struct svc_counter c = { 0 };

	if (!nh_id || svc_dp_nh_stats_read(a->dp, nh_id, &c))
		memset(&c, 0, sizeof(c));
	return c;
}

static const char *service_name(struct agent *a, const struct svc_sid *sid)
{
	struct svc_reg_service *s = svc_reg_service_find(&a->reg, sid);

	return s ? s->name : "";
}

/* A service's health check settings: {"type":"none"} when off. */
static json_object *health_json(const struct svc_reg_health *hc)
{
	json_object *o = json_object_new_object();

	put_str(o, "type", svc_hc_type_names[hc->type]);
	if (hc->type == SVC_HC_NONE)
		return o;
	put_int(o, "port", hc->port);
	if (hc->type == SVC_HC_HTTP) {
		put_str(o, "path", hc->path);
		put_int(o, "expect", hc->expect);
	}
	put_int(o, "interval_ms", hc->interval_ms);
	put_int(o, "timeout_ms", hc->timeout_ms);
	put_int(o, "rise", hc->rise);
	put_int(o, "fall", hc->fall);
	return o;
}

static json_object *service_json(struct agent *a, const struct svc_reg_service *s)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];
	size_t up, n = svc_reg_instance_count(&a->reg, &s->sid, &up);

	put_str(o, "sid", sid_str(&s->sid, b));
	put_str(o, "name", s->name);
	put_int(o, "instance_count", (int64_t)n);
	put_int(o, "up_count", (int64_t)up);
	put_int(o, "binding_count", (int64_t)svc_reg_binding_count(&a->reg, &s->sid));
	put_int(o, "rule_id", s->rule_id);
	put_int(o, "set_id", s->set_id);
	json_object_object_add(o, "health", health_json(&s->hc));
	return o;
}

/* Why an instance does or does not take new flows (one word for tables). */
static const char *instance_status(const struct svc_reg_instance *in)
{
	if (!in->up)
		return "admin-down";
	if (in->mode == SVC_INST_DRAIN)
		return "draining";
	if (in->mode == SVC_INST_SHED)
		return "shed";
	if (in->health_down)
		return "unhealthy";
	return "serving";
}

/*
 * instance_json - an instance; @active: per next-hop counts of flows active in
 * the last SVC_AGENT_ACTIVE_FLOW_S (from agent_flow_active), NULL to omit.
 */
static json_object *instance_json(struct agent *a, const struct svc_reg_instance *in, bool counters,
				  const __u32 *active)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];
	__u32 nh = svc_reg_nh_id(&a->reg, &in->addr);

	put_str(o, "sid", sid_str(&in->sid, b));
	put_str(o, "service_name", service_name(a, &in->sid));
	put_str(o, "addr", addr_str(&in->addr, b));
	put_str(o, "name", in->name);
	put_int(o, "weight", in->weight);
	put_str(o, "state", in->up ? "up" : "down");
	put_str(o, "mode", svc_mode_names_inst[in->mode]);
	put_str(o, "health", !in->health_why[0] ? "unknown" : in->health_down ? "down" : "up");
	put_str(o, "why", in->health_why);
	put_str(o, "status", instance_status(in));
	put_int(o, "lease", in->lease_s);
	put_bool(o, "strip_options", in->strip_opts);
	if (in->lease_expires > 0) {
		double left = in->lease_expires - agent_now_s();

		json_object_object_add(o, "lease_left_s",
				       json_object_new_double(left > 0 ? left : 0));
	}
	put_int(o, "nh_id", nh);
	if (active)
		put_int(o, "active_flows", nh < SVC_MAX_NEXTHOPS ? active[nh] : 0);
	if (counters) {
		struct svc_counter c = nh_counter(a, nh);

		put_counter(o, &c);
	}
	return o;
}

static json_object *binding_json(struct agent *a, const struct svc_reg_binding *bd)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];

	put_str(o, "binding", svc_binding_format(&bd->key, b, sizeof(b)));
	put_str(o, "vip", addr_str(&bd->key.vip, b));
	put_int(o, "port", ntohs(bd->key.port));
	put_str(o, "proto", bd->key.proto == IPPROTO_TCP ? "tcp" : "udp");
	put_str(o, "sid", sid_str(&bd->sid, b));
	put_str(o, "service_name", service_name(a, &bd->sid));
	return o;
}

static json_object *hop_json(struct agent *a, const struct svc_addr *addr, __u32 weight)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];

	put_str(o, "addr", addr_str(addr, b));
	put_int(o, "weight", weight);
	put_int(o, "nh_id", svc_reg_nh_id(&a->reg, addr));
	return o;
}

static json_object *rule_json(struct agent *a, const struct svc_reg_rule *ru)
{
	json_object *o = json_object_new_object(), *hops = json_object_new_array();
	struct svc_counter c = rule_counter(a, ru->rule_id);
	char b[SVC_ADDR_STRLEN];

	put_str(o, "prefix", svc_prefix_format(&ru->prefix, b, sizeof(b)));
	put_str(o, "action", svc_action_names[ru->action]);
	put_str(o, "owner", "operator");
	put_str(o, "service", NULL);
	put_int(o, "rule_id", ru->rule_id);
	put_int(o, "set_id", ru->set_id);
	for (size_t h = 0; h < ru->nhops; h++)
		json_object_array_add(hops, hop_json(a, &ru->hops[h].addr, ru->hops[h].weight));
	json_object_object_add(o, "hops", hops);
	put_counter(o, &c);
	return o;
}

/* The FORWARD rule the agent keeps for a service with instances. */
static json_object *service_rule_json(struct agent *a, const struct svc_reg_service *s)
{
	json_object *o = json_object_new_object(), *hops = json_object_new_array();
	struct svc_counter c = rule_counter(a, s->rule_id);
	struct svc_lpm_key k = { .prefixlen = 128, .sid = s->sid };
	char b[SVC_ADDR_STRLEN];

	put_str(o, "prefix", svc_prefix_format(&k, b, sizeof(b)));
	put_str(o, "action", "forward");
	put_str(o, "owner", "service");
	put_str(o, "service", sid_str(&s->sid, b));
	put_int(o, "rule_id", s->rule_id);
	put_int(o, "set_id", s->set_id);
	for (size_t i = 0; i < a->reg.n_instances; i++) {
		const struct svc_reg_instance *in = &a->reg.instances[i];

		if (sid_eq(&in->sid, &s->sid) && in->up)
			json_object_array_add(hops, hop_json(a, &in->addr, in->weight));
	}
	json_object_object_add(o, "hops", hops);
	put_counter(o, &c);
	return o;
}

/* ---- argument helpers: each returns 0 or -1 with @err set ---- */

static int arg_name(json_object *args, const char *key, const char **out, struct svc_err *err)
{
	int r = svc_api_arg_str(args, key, false, out, err);

	if (r < 0)
		return -1;
	if (r == 0) {
		*out = "";
		return 0;
	}
	if (!svc_name_valid(*out))
		return svc_err_set(
			err, SVC_API_INVALID,
			"argument '%s': invalid name '%.64s' (1-%d of A-Z a-z 0-9 . _ -)", key,
			*out, SVC_NAME_MAX);
	return 0;
}

static int arg_iface(json_object *args, const char **out, struct svc_err *err)
{
	if (svc_api_arg_str(args, "iface", true, out, err) < 0)
		return -1;
	if (!svc_iface_valid(*out))
		return svc_err_set(err, SVC_API_INVALID, "argument 'iface': invalid name '%.32s'",
				   *out);
	return 0;
}

/* ---- services ---- */

static int op_service_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_sid sid;
	const char *name;

	if (svc_api_arg_sid(args, "sid", true, &sid, err) < 0 ||
	    arg_name(args, "name", &name, err) || svc_reg_service_add(&a->reg, &sid, name, err))
		return -1;
	json_object_object_add(res, "service",
			       service_json(a, svc_reg_service_find(&a->reg, &sid)));
	return 0;
}

static int op_service_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_sid sid;

	(void)res;
	if (svc_api_arg_sid(args, "sid", true, &sid, err) < 0)
		return -1;
	return svc_reg_service_del(&a->reg, &sid, err);
}

static int op_service_list(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err)
{
	json_object *arr = json_object_new_array();

	(void)args;
	(void)err;
	for (size_t i = 0; i < a->reg.n_services; i++)
		json_object_array_add(arr, service_json(a, &a->reg.services[i]));
	json_object_object_add(res, "services", arr);
	return 0;
}

static int op_service_show(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err)
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
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", sid_str(&sid, b));
	o = service_json(a, s);
	c = rule_counter(a, s->rule_id);
	put_counter(o, &c);
	ins = json_object_new_array();
	for (size_t i = 0; i < a->reg.n_instances; i++)
		if (sid_eq(&a->reg.instances[i].sid, &sid))
			json_object_array_add(ins,
					      instance_json(a, &a->reg.instances[i], true, NULL));
	json_object_object_add(o, "instances", ins);
	binds = json_object_new_array();
	for (size_t i = 0; i < a->reg.n_bindings; i++)
		if (sid_eq(&a->reg.bindings[i].sid, &sid))
			json_object_array_add(binds, binding_json(a, &a->reg.bindings[i]));
	json_object_object_add(o, "bindings", binds);
	json_object_object_add(res, "service", o);
	return 0;
}

/*
 * service.health: type tcp|http|none, port, path, expect, interval_ms,
 * timeout_ms, rise, fall (defaults: SVC_AGENT_HC_DEFAULT_*).
 */
static int op_service_health(struct agent *a, json_object *args, json_object *res,
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
			       service_json(a, svc_reg_service_find(&a->reg, &sid)));
	return 0;
}

/* ---- bindings ---- */

static int op_bind_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_binding_key k;
	struct svc_sid sid;

	if (svc_api_arg_binding(args, "binding", true, &k, err) < 0 ||
	    svc_api_arg_sid(args, "sid", true, &sid, err) < 0 ||
	    svc_reg_binding_add(&a->reg, &k, &sid, err))
		return -1;
	json_object_object_add(res, "binding", binding_json(a, svc_reg_binding_find(&a->reg, &k)));
	return 0;
}

static int op_bind_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_binding_key k;

	(void)res;
	if (svc_api_arg_binding(args, "binding", true, &k, err) < 0)
		return -1;
	return svc_reg_binding_del(&a->reg, &k, err);
}

static int op_bind_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	json_object *arr = json_object_new_array();

	(void)args;
	(void)err;
	for (size_t i = 0; i < a->reg.n_bindings; i++)
		json_object_array_add(arr, binding_json(a, &a->reg.bindings[i]));
	json_object_object_add(res, "bindings", arr);
	return 0;
}

/* ---- instances ---- */

static int op_instance_add(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err)
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
	    arg_name(args, "name", &name, err) ||
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
		put_bool(res, "refreshed", true);
	} else {
		if (svc_reg_instance_add(&a->reg, &sid, &addr, (__u32)w, name, err))
			return -1;
		in = svc_reg_instance_find(&a->reg, &sid, &addr);
		in->strip_opts = strip;
		if (has_lease) {
			in->lease_s = (__u32)lease;
			in->lease_expires = agent_now_s() + (double)lease;
		}
		put_bool(res, "refreshed", false);
	}
	json_object_object_add(res, "instance", instance_json(a, in, false, NULL));
	return 0;
}

static const char *const state_names[] = { "down", "up", NULL };

static int op_instance_set(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err)
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
					   sid_str(&sid, b), addr_str(&addr, b2));
		/* weight and state are optional here: apply them only when given */
		if ((w || up >= 0) && svc_reg_instance_set(&a->reg, &sid, &addr, (__u32)w, up, err))
			return -1;
		in->strip_opts = strip;
	} else if (svc_reg_instance_set(&a->reg, &sid, &addr, (__u32)w, up, err)) {
		return -1;
	}
	json_object_object_add(
		res, "instance",
		instance_json(a, svc_reg_instance_find(&a->reg, &sid, &addr), false, NULL));
	return 0;
}

static int op_instance_del(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err)
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
	json_object_object_add(res, "instance", instance_json(a, in, true, active));
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

static int op_instance_shed(struct agent *a, json_object *args, json_object *res,
			    struct svc_err *err)
{
	return instance_mode(a, args, res, SVC_INST_SHED, err);
}

static int op_instance_drain(struct agent *a, json_object *args, json_object *res,
			     struct svc_err *err)
{
	return instance_mode(a, args, res, SVC_INST_DRAIN, err);
}

static int op_instance_resume(struct agent *a, json_object *args, json_object *res,
			      struct svc_err *err)
{
	return instance_mode(a, args, res, SVC_INST_ACTIVE, err);
}

static int op_instance_list(struct agent *a, json_object *args, json_object *res,
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
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", sid_str(&sid, b));
	active = calloc(SVC_MAX_NEXTHOPS, sizeof(*active));
	if (!active)
		return svc_err_set(err, SVC_API_INTERNAL, "out of memory");
	if (agent_flow_active(a, active)) {
		free(active);
		return svc_err_set(err, SVC_API_INTERNAL, "flow table walk failed");
	}
	arr = json_object_new_array();
	for (size_t i = 0; i < a->reg.n_instances; i++)
		if (!have || sid_eq(&a->reg.instances[i].sid, &sid))
			json_object_array_add(
				arr, instance_json(a, &a->reg.instances[i], false, active));
	json_object_object_add(res, "instances", arr);
	free(active);
	return 0;
}

static int op_instance_show(struct agent *a, json_object *args, json_object *res,
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
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", sid_str(&sid, b));
	in = svc_reg_instance_find(&a->reg, &sid, &addr);
	if (!in)
		return svc_err_set(err, SVC_API_NOT_FOUND, "service %s has no instance %s",
				   sid_str(&sid, b), addr_str(&addr, b2));
	active = calloc(SVC_MAX_NEXTHOPS, sizeof(*active));
	if (!active)
		return svc_err_set(err, SVC_API_INTERNAL, "out of memory");
	if (agent_flow_active(a, active)) {
		free(active);
		return svc_err_set(err, SVC_API_INTERNAL, "flow table walk failed");
	}
	json_object_object_add(res, "instance", instance_json(a, in, true, active));
	free(active);
	return 0;
}

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

static int op_rule_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
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
	json_object_object_add(res, "rule", rule_json(a, svc_reg_rule_find(&a->reg, &p)));
	return 0;
}

static int op_rule_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_lpm_key p;

	(void)res;
	if (svc_api_arg_prefix(args, "prefix", true, &p, err) < 0)
		return -1;
	return svc_reg_rule_del(&a->reg, &p, err);
}

static int op_rule_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	json_object *arr = json_object_new_array();

	(void)args;
	(void)err;
	/* a service resolved on demand (DELAY) has no rule until its first packet */
	for (size_t i = 0; i < a->reg.n_services; i++)
		if (svc_reg_instance_count(&a->reg, &a->reg.services[i].sid, NULL) &&
		    !svc_reg_service_on_demand(&a->reg, &a->reg.services[i]))
			json_object_array_add(arr, service_rule_json(a, &a->reg.services[i]));
	for (size_t i = 0; i < a->reg.n_rules; i++)
		json_object_array_add(arr, rule_json(a, &a->reg.rules[i]));
	json_object_object_add(res, "rules", arr);
	return 0;
}

/* ---- prefixes, sources, decap ---- */

static int op_prefix_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_lpm_key p;

	(void)res;
	if (svc_api_arg_prefix(args, "prefix", true, &p, err) < 0)
		return -1;
	return svc_reg_prefix_add(&a->reg, &p, err);
}

static int op_prefix_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_lpm_key p;

	(void)res;
	if (svc_api_arg_prefix(args, "prefix", true, &p, err) < 0)
		return -1;
	return svc_reg_prefix_del(&a->reg, &p, err);
}

static int op_prefix_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	json_object *arr = json_object_new_array();
	char b[SVC_ADDR_STRLEN];

	(void)args;
	(void)err;
	for (size_t i = 0; i < a->reg.n_prefixes; i++) {
		json_object *o = json_object_new_object();

		put_str(o, "prefix", svc_prefix_format(&a->reg.prefixes[i], b, sizeof(b)));
		json_object_array_add(arr, o);
	}
	json_object_object_add(res, "prefixes", arr);
	return 0;
}

static int op_src_show(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];

	(void)args;
	(void)err;
	put_str(o, "ipv4", a->reg.has_src4 ? addr_str(&a->reg.src4, b) : NULL);
	put_str(o, "ipv6", a->reg.has_src6 ? addr_str(&a->reg.src6, b) : NULL);
	json_object_object_add(res, "src", o);
	return 0;
}

static int op_src_set(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_addr addr;

	if (svc_api_arg_addr(args, "addr", true, &addr, err) < 0 ||
	    svc_reg_src_set(&a->reg, &addr, err))
		return -1;
	return op_src_show(a, NULL, res, err);
}

static int op_decap_add(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_addr addr;

	(void)res;
	if (svc_api_arg_addr(args, "addr", true, &addr, err) < 0)
		return -1;
	return svc_reg_decap_add(&a->reg, &addr, err);
}

static int op_decap_del(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_addr addr;

	(void)res;
	if (svc_api_arg_addr(args, "addr", true, &addr, err) < 0)
		return -1;
	return svc_reg_decap_del(&a->reg, &addr, err);
}

static int op_decap_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	json_object *arr = json_object_new_array();
	char b[SVC_ADDR_STRLEN];

	(void)args;
	(void)err;
	for (size_t i = 0; i < a->reg.n_decaps; i++) {
		json_object *o = json_object_new_object();

		put_str(o, "addr", addr_str(&a->reg.decaps[i], b));
		json_object_array_add(arr, o);
	}
	json_object_object_add(res, "decap_sources", arr);
	return 0;
}

/* ---- attachments ---- */

static json_object *attachment_json(const char *iface, int prog, int mode, __u32 prog_id)
{
	json_object *o = json_object_new_object();

	put_str(o, "iface", iface);
	put_str(o, "prog", prog >= 0 ? svc_prog_names[prog] : NULL);
	put_str(o, "mode", mode >= 0 ? svc_mode_names[mode] : NULL);
	put_int(o, "prog_id", prog_id);
	return o;
}

static int save_or_err(struct agent *a, struct svc_err *err)
{
	char why[256];

	if (agent_state_save(a, why, sizeof(why)))
		return svc_err_set(err, SVC_API_INTERNAL, "save state: %s", why);
	return 0;
}

static int op_attach(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_reg_attach *at;
	enum svc_prog cur;
	const char *iface;
	int prog, mode = (int)a->cfg.mode, ret;
	__u32 id = 0;

	if (arg_iface(args, &iface, err) ||
	    svc_api_arg_enum(args, "prog", true, svc_prog_names, &prog, err) < 0 ||
	    svc_api_arg_enum(args, "mode", false, svc_mode_names, &mode, err) < 0)
		return -1;
	if (!if_nametoindex(iface))
		return svc_err_set(err, SVC_API_NOT_FOUND, "no interface '%s'", iface);
	at = svc_reg_attach_find(&a->reg, iface);
	if (at && svc_dp_attached(iface, &cur, &id) == 1)
		return svc_err_set(err, SVC_API_EXISTS,
				   "%s has the %s program attached already (detach it first)",
				   iface, svc_prog_names[cur]);
	ret = svc_dp_attach(a->dp, prog, iface, mode);
	if (ret == -EEXIST)
		return svc_err_set(err, SVC_API_EXISTS,
				   "attach %s to %s: another XDP program is attached there "
				   "(detach it first)",
				   svc_prog_names[prog], iface);
	if (ret)
		return svc_err_set(err, SVC_API_INTERNAL, "attach xdp %s to %s: %s%s",
				   svc_prog_names[prog], iface, strerror(-ret),
				   mode == SVC_XDP_NATIVE ? " (try --mode skb)" : "");
	if (at) {
		/* Recorded but found detached: re-attached, record it as asked now. */
		at->prog = (__u8)prog;
		at->mode = (__u8)mode;
	} else if (svc_reg_attach_add(&a->reg, iface, prog, mode, err)) {
		svc_dp_detach(a->dp, iface);
		return -1;
	}
	if (save_or_err(a, err)) {
		svc_dp_detach(a->dp, iface);
		svc_reg_attach_del(&a->reg, iface, NULL);
		return -1;
	}
	svc_dp_attached(iface, NULL, &id);
	pr_info("attached %s program to %s (%s mode, prog id %u)", svc_prog_names[prog], iface,
		svc_mode_names[mode], id);
	json_object_object_add(res, "attachment", attachment_json(iface, prog, mode, id));
	return 0;
}

static int op_detach(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_reg_attach *at;
	const char *iface;
	int attached = 0, ret;

	(void)res;
	if (arg_iface(args, &iface, err))
		return -1;
	at = svc_reg_attach_find(&a->reg, iface);
	if (if_nametoindex(iface))
		attached = svc_dp_attached(iface, NULL, NULL);
	if (!at && attached != 1)
		return svc_err_set(err, SVC_API_NOT_FOUND, "no svcplane program attached to %s",
				   iface);
	if (attached == 1) {
		ret = svc_dp_detach(a->dp, iface);
		if (ret && ret != -ENOENT)
			return svc_err_set(err, SVC_API_INTERNAL, "detach xdp from %s: %s", iface,
					   strerror(-ret));
	}
	pr_info("detached svcplane program from %s", iface);
	if (at) {
		svc_reg_attach_del(&a->reg, iface, NULL);
		return save_or_err(a, err);
	}
	return 0;
}

void agent_attachments_restore(struct agent *a)
{
	for (size_t i = 0; i < a->reg.n_attachments; i++) {
		const struct svc_reg_attach *at = &a->reg.attachments[i];
		enum svc_prog cur;
		__u32 id = 0;
		int r;

		if (!if_nametoindex(at->iface)) {
			pr_warn("recorded attachment to %s not restored: no such interface",
				at->iface);
			continue;
		}
		r = svc_dp_attached(at->iface, &cur, &id);
		if (r == 1 && cur == at->prog) {
			pr_info("%s: %s program attached (prog id %u): adopted", at->iface,
				svc_prog_names[at->prog], id);
			continue;
		}
		r = svc_dp_attach(a->dp, at->prog, at->iface, at->mode);
		if (r)
			pr_warn("recorded attachment of %s to %s not restored: %s",
				svc_prog_names[at->prog], at->iface, strerror(-r));
		else
			pr_info("%s: %s program re-attached (%s mode)", at->iface,
				svc_prog_names[at->prog], svc_mode_names[at->mode]);
	}
}

/* ---- flows ---- */

struct flows_walk {
	struct agent *a;
	json_object *arr;
	size_t count, limit;
	__u64 now_ns;
};

static const char *proto_name(__u8 p, char *buf)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	}
	snprintf(buf, 8, "%u", p);
	return buf;
}

static const char *endpoint_str(const struct svc_addr *x, __be16 port, char *buf, size_t len)
{
	char b[SVC_ADDR_STRLEN];

	if (svc_addr_is_v4(x))
		snprintf(buf, len, "%s:%u", addr_str(x, b), ntohs(port));
	else
		snprintf(buf, len, "[%s]:%u", addr_str(x, b), ntohs(port));
	return buf;
}

static int flow_cb(const struct svc_flow_key *k, const struct svc_flow *v, void *arg)
{
	struct flows_walk *w = arg;
	char b[SVC_ADDR_STRLEN + 8], p[8];
	json_object *o;
	const struct svc_reg_nh *nh = NULL;

	w->count++;
	if (!w->arr || json_object_array_length(w->arr) >= w->limit)
		return 0;
	for (size_t i = 0; i < w->a->reg.n_nexthops; i++)
		if (w->a->reg.nexthops[i].id == v->nh_id)
			nh = &w->a->reg.nexthops[i];
	o = json_object_new_object();
	put_str(o, "proto", proto_name(k->proto, p));
	put_str(o, "client", endpoint_str(&k->src, k->sport, b, sizeof(b)));
	put_str(o, "service", endpoint_str(&k->dst, k->dport, b, sizeof(b)));
	put_str(o, "nexthop", nh ? addr_str(&nh->addr, b) : NULL);
	put_int(o, "nh_id", v->nh_id);
	put_int(o, "rule_id", v->rule_id);
	put_int(o, "age_ms",
		w->now_ns > v->last_seen_ns ? (int64_t)((w->now_ns - v->last_seen_ns) / 1000000)
					    : 0);
	json_object_array_add(w->arr, o);
	return 0;
}

static int op_flows_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct flows_walk w = { .a = a, .limit = SVC_AGENT_FLOWS_DEFAULT };
	unsigned long limit;
	bool count_only = false;
	struct timespec ts;
	int ret;

	if (svc_api_arg_bool(args, "count_only", false, &count_only, err) < 0)
		return -1;
	ret = svc_api_arg_uint(args, "limit", false, 1, SVC_AGENT_FLOWS_MAX, &limit, err);
	if (ret < 0)
		return -1;
	if (ret)
		w.limit = limit;
	if (!count_only)
		w.arr = json_object_new_array();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	w.now_ns = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
	ret = svc_dp_flows_foreach(a->dp, flow_cb, &w);
	if (ret) {
		json_object_put(w.arr);
		return svc_err_set(err, SVC_API_INTERNAL, "read the flow table: %s",
				   strerror(-ret));
	}
	put_int(res, "count", (int64_t)w.count);
	if (w.arr) {
		put_bool(res, "truncated", json_object_array_length(w.arr) < w.count);
		json_object_object_add(res, "flows", w.arr);
	}
	return 0;
}

static int op_flows_clear(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	size_t cleared = 0;
	int ret;

	(void)args;
	ret = svc_dp_flows_clear(a->dp, &cleared);
	if (ret)
		return svc_err_set(err, SVC_API_INTERNAL, "clear the flow table: %s",
				   strerror(-ret));
	pr_info("flow table cleared (%zu flows)", cleared);
	put_int(res, "cleared", (int64_t)cleared);
	return 0;
}

/* ---- stats and status ---- */

static json_object *reasons_json(struct agent *a, enum svc_prog prog)
{
	struct svc_counter c[SVC_REASON_MAX];
	json_object *arr = json_object_new_array();

	memset(c, 0, sizeof(c));
	if (svc_dp_stats_read(a->dp, prog, c))
		pr_warn("stats: read %s counters failed", svc_prog_names[prog]);
	for (int r = 0; r < SVC_REASON_MAX; r++) {
		json_object *o = json_object_new_object();

		put_str(o, "reason", svc_reason_label[r]);
		put_counter(o, &c[r]);
		json_object_array_add(arr, o);
	}
	return arr;
}

static int op_stats(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	json_object *svcs = json_object_new_array(), *ins = json_object_new_array();
	json_object *rules = json_object_new_array();
	char b[SVC_ADDR_STRLEN];

	(void)args;
	(void)err;
	json_object_object_add(res, "router", reasons_json(a, SVC_PROG_ROUTER));
	json_object_object_add(res, "endpoint", reasons_json(a, SVC_PROG_ENDPOINT));
	for (size_t i = 0; i < a->reg.n_services; i++) {
		const struct svc_reg_service *s = &a->reg.services[i];
		struct svc_counter c = rule_counter(a, s->rule_id);
		json_object *o = json_object_new_object();

		put_str(o, "sid", sid_str(&s->sid, b));
		put_str(o, "name", s->name);
		put_counter(o, &c);
		json_object_array_add(svcs, o);
	}
	for (size_t i = 0; i < a->reg.n_instances; i++)
		json_object_array_add(ins, instance_json(a, &a->reg.instances[i], true, NULL));
	for (size_t i = 0; i < a->reg.n_rules; i++) {
		const struct svc_reg_rule *ru = &a->reg.rules[i];
		struct svc_counter c = rule_counter(a, ru->rule_id);
		json_object *o = json_object_new_object();

		put_str(o, "prefix", svc_prefix_format(&ru->prefix, b, sizeof(b)));
		put_str(o, "action", svc_action_names[ru->action]);
		put_counter(o, &c);
		json_object_array_add(rules, o);
	}
	json_object_object_add(res, "services", svcs);
	json_object_object_add(res, "instances", ins);
	json_object_object_add(res, "rules", rules);
	json_object_object_add(res, "delay", agent_delay_json(a));
	return 0;
}

/* Counts the keys of map @name (bounded by @max). */
static int64_t count_keys(struct agent *a, const char *name, size_t ksize, __u32 max)
{
	int fd = svc_dp_map_fd(a->dp, name);
	char k1[64], k2[64];
	int64_t n = 0;

	if (fd < 0 || ksize > sizeof(k1))
		return -1;
	if (bpf_map_get_next_key(fd, NULL, k1))
		return 0;
	for (n = 1; n < max; n++) {
		if (bpf_map_get_next_key(fd, k1, k2))
			break;
		memcpy(k1, k2, ksize);
	}
	return n;
}

static __u32 max_entries(struct agent *a, const char *name)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int fd = svc_dp_map_fd(a->dp, name);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.max_entries;
}

json_object *agent_map_fill(struct agent *a, long long flows)
{
	static const struct {
		const char *name;
		size_t ksize;
	} hashed[] = {
		{ "bindings", sizeof(struct svc_binding_key) },
		{ "service_table", sizeof(struct svc_lpm_key) },
		{ "sid_prefixes", sizeof(struct svc_lpm_key) },
		{ "decap_sources", sizeof(struct svc_addr) },
	};
	json_object *arr = json_object_new_array(), *o;
	size_t sets = 0, nflows = 0;

	for (size_t i = 0; i < sizeof(hashed) / sizeof(hashed[0]); i++) {
		__u32 max = max_entries(a, hashed[i].name);

		o = json_object_new_object();
		put_str(o, "map", hashed[i].name);
		put_int(o, "entries", count_keys(a, hashed[i].name, hashed[i].ksize, max + 1));
		put_int(o, "max_entries", max);
		json_object_array_add(arr, o);
	}
	/* Arrays: every index exists; what counts is what the agent filled in. */
	o = json_object_new_object();
	put_str(o, "map", "nexthops");
	put_int(o, "entries", (int64_t)a->reg.n_nexthops);
	put_int(o, "max_entries", max_entries(a, "nexthops"));
	json_object_array_add(arr, o);
	for (size_t i = 0; i < SVC_MAX_SETS; i++)
		sets += a->sets[i].valid;
	o = json_object_new_object();
	put_str(o, "map", "ch_tables");
	put_int(o, "entries", (int64_t)sets);
	put_int(o, "max_entries", max_entries(a, "ch_tables"));
	json_object_array_add(arr, o);
	o = json_object_new_object();
	put_str(o, "map", "flows");
	if (flows < 0)
		flows = agent_flow_count(a, &nflows) ? -1 : (long long)nflows;
	put_int(o, "entries", flows);
	put_int(o, "max_entries", max_entries(a, "flows"));
	json_object_array_add(arr, o);
	return arr;
}

static int op_status(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	json_object *ag = json_object_new_object(), *atts = json_object_new_array();
	struct if_nameindex *ifs;

	(void)args;
	(void)err;
	put_str(ag, "version", svc_version());
	put_int(ag, "pid", getpid());
	put_int(ag, "uptime_s",
		(int64_t)(agent_now_s() - (double)a->started.tv_sec - a->started.tv_nsec / 1e9));
	put_bool(ag, "adopted", a->adopted);
	put_str(ag, "socket", a->cfg.socket);
	put_str(ag, "pin_dir", a->cfg.pin_dir);
	put_str(ag, "state_file", a->state_path);
	put_str(ag, "metrics", a->cfg.metrics);
	put_int(ag, "reconciles", (int64_t)a->reconciles);
	put_int(ag, "reconcile_errors", (int64_t)a->reconcile_errors);
	put_str(ag, "delay_reinject", svc_delay_reinject_name(a->cfg.delay_reinject));
	put_str(ag, "delay_reinject_path", agent_delay_path_name(agent_delay_path(a)));
	put_str(ag, "delay_reinject_why", agent_delay_path_why(a));
	json_object_object_add(res, "agent", ag);
	json_object_object_add(res, "registry", agent_etcd_status(a));
	json_object_object_add(res, "features", svc_features_json(&a->features));

	for (size_t i = 0; i < a->reg.n_attachments; i++) {
		const struct svc_reg_attach *at = &a->reg.attachments[i];
		enum svc_prog cur = at->prog;
		__u32 id = 0;
		int r = if_nametoindex(at->iface) ? svc_dp_attached(at->iface, &cur, &id) : -ENODEV;
		json_object *o =
			attachment_json(at->iface, r == 1 ? (int)cur : at->prog, at->mode, id);

		put_bool(o, "attached", r == 1);
		put_bool(o, "recorded", true);
		json_object_array_add(atts, o);
	}
	/* svcplane programs on interfaces the registry does not know about (left over). */
	ifs = if_nameindex();
	for (struct if_nameindex *p = ifs; p && p->if_index; p++) {
		enum svc_prog cur;
		__u32 id = 0;
		json_object *o;

		if (svc_reg_attach_find(&a->reg, p->if_name) ||
		    svc_dp_attached(p->if_name, &cur, &id) != 1)
			continue;
		o = attachment_json(p->if_name, (int)cur, -1, id);
		put_bool(o, "attached", true);
		put_bool(o, "recorded", false);
		json_object_array_add(atts, o);
	}
	if (ifs)
		if_freenameindex(ifs);
	json_object_object_add(res, "attachments", atts);
	json_object_object_add(res, "maps", agent_map_fill(a, -1));
	return 0;
}

/* ---- dispatch ---- */

#define A(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NOARGS ((const char *const[]){ NULL })

static const struct op ops[] = {
	{ "service.add", op_service_add, OP_REGISTRY, A("sid", "name") },
	{ "service.del", op_service_del, OP_REGISTRY, A("sid") },
	{ "service.list", op_service_list, OP_READ, NOARGS },
	{ "service.show", op_service_show, OP_READ, A("sid") },
	{ "service.health", op_service_health, OP_REGISTRY,
	  A("sid", "type", "port", "path", "expect", "interval_ms", "timeout_ms", "rise", "fall") },
	{ "bind.add", op_bind_add, OP_REGISTRY, A("binding", "sid") },
	{ "bind.del", op_bind_del, OP_REGISTRY, A("binding") },
	{ "bind.list", op_bind_list, OP_READ, NOARGS },
	{ "instance.add", op_instance_add, OP_REGISTRY,
	  A("sid", "addr", "weight", "name", "lease", "strip_options") },
	{ "instance.set", op_instance_set, OP_REGISTRY,
	  A("sid", "addr", "weight", "state", "strip_options", "keep_options") },
	{ "instance.del", op_instance_del, OP_REGISTRY, A("sid", "addr", "dead") },
	{ "instance.shed", op_instance_shed, OP_REGISTRY, A("sid", "addr") },
	{ "instance.drain", op_instance_drain, OP_REGISTRY, A("sid", "addr") },
	{ "instance.resume", op_instance_resume, OP_REGISTRY, A("sid", "addr") },
	{ "instance.list", op_instance_list, OP_READ, A("sid") },
	{ "instance.show", op_instance_show, OP_READ, A("sid", "addr") },
	{ "rule.add", op_rule_add, OP_REGISTRY, A("prefix", "action", "hops", "replace") },
	{ "rule.del", op_rule_del, OP_REGISTRY, A("prefix") },
	{ "rule.list", op_rule_list, OP_READ, NOARGS },
	{ "prefix.add", op_prefix_add, OP_REGISTRY, A("prefix") },
	{ "prefix.del", op_prefix_del, OP_REGISTRY, A("prefix") },
	{ "prefix.list", op_prefix_list, OP_READ, NOARGS },
	{ "src.set", op_src_set, OP_REGISTRY, A("addr") },
	{ "src.show", op_src_show, OP_READ, NOARGS },
	{ "decap.add", op_decap_add, OP_REGISTRY, A("addr") },
	{ "decap.del", op_decap_del, OP_REGISTRY, A("addr") },
	{ "decap.list", op_decap_list, OP_READ, NOARGS },
	{ "attach", op_attach, OP_SELF, A("iface", "prog", "mode") },
	{ "detach", op_detach, OP_SELF, A("iface") },
	{ "tiflow.enable", agent_op_tiflow_enable, OP_SELF,
	  A("cgroup", "instance_id", "kind", "roles") },
	{ "tiflow.disable", agent_op_tiflow_disable, OP_SELF, A("cgroup") },
	{ "tiflow.set", agent_op_tiflow_set, OP_SELF, A("instance_id", "kind", "roles") },
	{ "tiflow.select.add", agent_op_tiflow_select_add, OP_SELF, A("select") },
	{ "tiflow.select.del", agent_op_tiflow_select_del, OP_SELF, A("select") },
	{ "tiflow.show", agent_op_tiflow_show, OP_READ, NOARGS },
	{ "direct.client", agent_op_direct_client, OP_SELF, A("iface") },
	{ "direct.instance", agent_op_direct_instance, OP_SELF, A("iface", "instance_id") },
	{ "direct.off", agent_op_direct_off, OP_SELF, A("iface") },
	{ "direct.vip.add", agent_op_direct_vip_add, OP_SELF, A("addr") },
	{ "direct.vip.del", agent_op_direct_vip_del, OP_SELF, A("addr") },
	{ "direct.map", agent_op_direct_map, OP_SELF, A("id", "addr") },
	{ "direct.unmap", agent_op_direct_unmap, OP_SELF, A("id") },
	{ "direct.show", agent_op_direct_show, OP_READ, NOARGS },
	{ "flows.list", op_flows_list, OP_READ, A("count_only", "limit") },
	{ "flows.clear", op_flows_clear, OP_SELF, NOARGS },
	{ "route.get", agent_op_route_get, OP_READ, A("dst", "src", "syn", "iif") },
	{ "stats", op_stats, OP_READ, NOARGS },
	{ "status", op_status, OP_READ, NOARGS },
};

/*
 * Runs a registry-changing op: on any failure after the change (state file,
 * reconcile) the previous registry is restored, saved and reconciled.
 */
static int run_registry_op(struct agent *a, const struct op *op, json_object *args,
			   json_object *res, struct svc_err *err)
{
	struct svc_reg backup;
	char why[256];
	int ret;

	if (svc_reg_dup(&backup, &a->reg))
		return svc_err_set(err, SVC_API_INTERNAL, "out of memory");
	if (op->fn(a, args, res, err)) {
		svc_reg_swap(&a->reg, &backup);
		svc_reg_free(&backup);
		return -1;
	}
	ret = agent_state_save(a, why, sizeof(why));
	if (ret) {
		svc_err_set(err, SVC_API_INTERNAL, "save state: %s", why);
		goto rollback;
	}
	ret = agent_reconcile(a);
	if (ret) {
		svc_err_set(err, SVC_API_INTERNAL,
			    "data plane update failed: %s (rolled back; see the agent log)",
			    strerror(-ret));
		goto rollback;
	}
	svc_reg_free(&backup);
	return 0;
rollback:
	svc_reg_swap(&a->reg, &backup);
	svc_reg_free(&backup);
	if (agent_state_save(a, why, sizeof(why)) || agent_reconcile(a))
		pr_err("%s: rollback incomplete: the data plane may differ from the registry",
		       op->name);
	return -1;
}

/* Re-renders res.instance / res.service from the registry etcd gave back (its ids). */
static void refresh_result(struct agent *a, json_object *res)
{
	json_object *o, *v;
	struct svc_sid sid;
	struct svc_addr addr;

	if (json_object_object_get_ex(res, "instance", &o) &&
	    json_object_object_get_ex(o, "sid", &v) &&
	    !svc_sid_parse(json_object_get_string(v), &sid) &&
	    json_object_object_get_ex(o, "addr", &v) &&
	    !svc_addr_parse(json_object_get_string(v), &addr)) {
		struct svc_reg_instance *in = svc_reg_instance_find(&a->reg, &sid, &addr);

		if (in)
			json_object_object_add(res, "instance", instance_json(a, in, false, NULL));
	}
	if (json_object_object_get_ex(res, "service", &o) &&
	    json_object_object_get_ex(o, "sid", &v) &&
	    !svc_sid_parse(json_object_get_string(v), &sid)) {
		struct svc_reg_service *s = svc_reg_service_find(&a->reg, &sid);

		if (s)
			json_object_object_add(res, "service", service_json(a, s));
	}
}

/*
 * With --registry etcd: the op runs on the local registry, then the change is
 * written to etcd (agent_etcd_commit, which also rebuilds, saves and
 * reconciles once the watch has it). A lost compare-and-swap race re-runs the
 * op on the registry etcd has now.
 */
static int run_registry_op_etcd(struct agent *a, const struct op *op, json_object *args,
				json_object *res, struct svc_err *err)
{
	for (int attempt = 0; attempt < SVC_ETCD_OP_TRIES; attempt++) {
		struct svc_reg backup;
		int ret;

		if (svc_reg_dup(&backup, &a->reg))
			return svc_err_set(err, SVC_API_INTERNAL, "out of memory");
		if (op->fn(a, args, res, err)) {
			svc_reg_swap(&a->reg, &backup);
			svc_reg_free(&backup);
			return -1;
		}
		ret = agent_etcd_commit(a, &backup, err);
		if (!ret) {
			svc_reg_free(&backup);
			refresh_result(a, res);
			return 0;
		}
		if (ret != -EAGAIN) {
			/* nothing was written (or the maps failed): the registry as it was */
			svc_reg_swap(&a->reg, &backup);
			svc_reg_free(&backup);
			if (!err->msg[0])
				svc_err_set(err, SVC_API_INTERNAL, "%s", strerror(-ret));
			return -1;
		}
		/* a->reg is etcd's current registry now: run the op again on it */
		svc_reg_free(&backup);
		pr_info("api: %s: the shared registry changed meanwhile: retrying", op->name);
	}
	return svc_err_set(err, SVC_API_INTERNAL,
			   "the shared registry changed concurrently %d times: try again",
			   SVC_ETCD_OP_TRIES);
}

json_object *agent_handle(struct agent *a, const char *line, size_t len)
{
	struct svc_api_request req;
	struct svc_err err = { 0 };
	const struct op *op = NULL;
	json_object *res;
	int ret;

	if (svc_api_request_parse(line, len, &req, &err)) {
		pr_info("api: rejected request: %s: %s", svc_api_code_name(err.code), err.msg);
		a->api_requests[err.code]++;
		return svc_api_response_err(&err);
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(ops[i].name, req.op))
			op = &ops[i];
	res = json_object_new_object();
	if (!op) {
		ret = svc_err_set(&err, SVC_API_INVALID, "unknown op '%s'", req.op);
	} else if (svc_api_args_only(req.args, op->args, &err)) {
		ret = -1;
	} else if (op->kind == OP_REGISTRY && a->etcd) {
		ret = run_registry_op_etcd(a, op, req.args, res, &err);
	} else if (op->kind == OP_REGISTRY) {
		ret = run_registry_op(a, op, req.args, res, &err);
	} else {
		ret = op->fn(a, req.args, res, &err);
	}
	if (ret) {
		char tmp[sizeof(err.msg)];

		if (!err.code)
			svc_err_set(&err, SVC_API_INTERNAL, "%s failed", req.op);
		/* Name the op in the message: it is what the operator asked for. */
		snprintf(tmp, sizeof(tmp), "%s", err.msg);
		snprintf(err.msg, sizeof(err.msg), "%.31s: %.220s", req.op, tmp);
		pr_info("api: %s", err.msg);
		json_object_put(res);
		svc_api_request_free(&req);
		a->api_requests[err.code]++;
		return svc_api_response_err(&err);
	}
	if (op->kind != OP_READ)
		pr_info("api: %s: done", req.op);
	else
		pr_debug("api: %s", req.op);
	a->api_requests[SVC_API_OK]++;
	svc_api_request_free(&req);
	return svc_api_response_ok(res);
}
