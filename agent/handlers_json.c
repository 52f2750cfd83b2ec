// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned API: how registry objects look in results (services, instances,
 * bindings, rules with their counters) and the argument helpers the ops share.
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

/* ---- JSON helpers ---- */

void op_put_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

void op_put_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

void op_put_bool(json_object *o, const char *k, bool v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

void op_put_counter(json_object *o, const struct svc_counter *c)
{
	op_put_int(o, "packets", (int64_t)c->packets);
	op_put_int(o, "bytes", (int64_t)c->bytes);
}

const char *op_sid_str(const struct svc_sid *s, char *b)
{
	return svc_sid_format(s, b, SVC_ADDR_STRLEN);
}

const char *op_addr_str(const struct svc_addr *x, char *b)
{
	return svc_addr_format(x, b, SVC_ADDR_STRLEN);
}

bool op_sid_eq(const struct svc_sid *x, const struct svc_sid *y)
{
	return !memcmp(x, y, sizeof(*x));
}

struct svc_counter op_rule_counter(struct agent *a, __u32 rule_id)
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

	op_put_str(o, "type", svc_hc_type_names[hc->type]);
	if (hc->type == SVC_HC_NONE)
		return o;
	op_put_int(o, "port", hc->port);
	if (hc->type == SVC_HC_HTTP) {
		op_put_str(o, "path", hc->path);
		op_put_int(o, "expect", hc->expect);
	}
	op_put_int(o, "interval_ms", hc->interval_ms);
	op_put_int(o, "timeout_ms", hc->timeout_ms);
	op_put_int(o, "rise", hc->rise);
	op_put_int(o, "fall", hc->fall);
	return o;
}

json_object *op_service_json(struct agent *a, const struct svc_reg_service *s)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];
	size_t up, n = svc_reg_instance_count(&a->reg, &s->sid, &up);

	op_put_str(o, "sid", op_sid_str(&s->sid, b));
	op_put_str(o, "name", s->name);
	op_put_int(o, "instance_count", (int64_t)n);
	op_put_int(o, "up_count", (int64_t)up);
	op_put_int(o, "binding_count", (int64_t)svc_reg_binding_count(&a->reg, &s->sid));
	op_put_int(o, "rule_id", s->rule_id);
	op_put_int(o, "set_id", s->set_id);
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
 * The next hop's cached egress (nh_egress, docs/datapath.md "Next-hop egress
 * cache"): "egress" for people ("DEV DMAC mtu N", or why the router asks the
 * FIB instead), and its parts: egress_valid, egress_ifindex, egress_dmac,
 * egress_mtu.
 */
static void put_egress(struct agent *a, json_object *o, __u32 nh, const struct svc_addr *addr)
{
	char dev[IF_NAMESIZE] = "?", mac[18], text[96];
	struct svc_nh_egress e;
	bool valid;

	if (!nh || nh >= SVC_MAX_NEXTHOPS || svc_dp_nh_egress_read(a->dp, nh, &e))
		return;
	valid = (e.flags & SVC_NHE_F_VALID) && !memcmp(&e.addr, addr, sizeof(*addr));
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", e.dmac[0], e.dmac[1],
		 e.dmac[2], e.dmac[3], e.dmac[4], e.dmac[5]);
	if (e.ifindex && !if_indextoname(e.ifindex, dev))
		snprintf(dev, sizeof(dev), "%u", e.ifindex);
	if (valid)
		snprintf(text, sizeof(text), "%s %s mtu %u", dev, mac, e.mtu);
	else if (e.ifindex)
		snprintf(text, sizeof(text), "none: %s, no neighbour MAC (FIB lookup)", dev);
	else
		snprintf(text, sizeof(text), "none: no route (FIB lookup)");
	op_put_str(o, "egress", text);
	op_put_bool(o, "egress_valid", valid);
	op_put_int(o, "egress_ifindex", valid ? e.ifindex : 0);
	op_put_str(o, "egress_dmac", valid ? mac : NULL);
	op_put_int(o, "egress_mtu", valid ? e.mtu : 0);
}

/*
 * op_instance_json - an instance; @active: per next-hop counts of flows active in
 * the last SVC_AGENT_ACTIVE_FLOW_S (from agent_flow_active), NULL to omit.
 */
json_object *op_instance_json(struct agent *a, const struct svc_reg_instance *in, bool counters,
			      const __u32 *active)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];
	__u32 nh = svc_reg_nh_id(&a->reg, &in->addr);

	op_put_str(o, "sid", op_sid_str(&in->sid, b));
	op_put_str(o, "service_name", service_name(a, &in->sid));
	op_put_str(o, "addr", op_addr_str(&in->addr, b));
	op_put_str(o, "name", in->name);
	op_put_int(o, "weight", in->weight);
	op_put_str(o, "state", in->up ? "up" : "down");
	op_put_str(o, "mode", svc_mode_names_inst[in->mode]);
	op_put_str(o, "health", !in->health_why[0] ? "unknown" : in->health_down ? "down" : "up");
	op_put_str(o, "why", in->health_why);
	op_put_str(o, "status", instance_status(in));
	op_put_int(o, "lease", in->lease_s);
	op_put_bool(o, "strip_options", in->strip_opts);
	if (in->lease_expires > 0) {
		double left = in->lease_expires - agent_now_s();

		json_object_object_add(o, "lease_left_s",
				       json_object_new_double(left > 0 ? left : 0));
	}
	op_put_int(o, "nh_id", nh);
	if (active)
		op_put_int(o, "active_flows", nh < SVC_MAX_NEXTHOPS ? active[nh] : 0);
	if (counters) {
		struct svc_counter c = nh_counter(a, nh);

		op_put_counter(o, &c);
		put_egress(a, o, nh, &in->addr);
	}
	return o;
}

json_object *op_binding_json(struct agent *a, const struct svc_reg_binding *bd)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];

	op_put_str(o, "binding", svc_binding_format(&bd->key, b, sizeof(b)));
	op_put_str(o, "vip", op_addr_str(&bd->key.vip, b));
	op_put_int(o, "port", ntohs(bd->key.port));
	op_put_str(o, "proto", bd->key.proto == IPPROTO_TCP ? "tcp" : "udp");
	op_put_str(o, "sid", op_sid_str(&bd->sid, b));
	op_put_str(o, "service_name", service_name(a, &bd->sid));
	return o;
}

static json_object *hop_json(struct agent *a, const struct svc_addr *addr, __u32 weight)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];

	op_put_str(o, "addr", op_addr_str(addr, b));
	op_put_int(o, "weight", weight);
	op_put_int(o, "nh_id", svc_reg_nh_id(&a->reg, addr));
	return o;
}

json_object *op_rule_json(struct agent *a, const struct svc_reg_rule *ru)
{
	json_object *o = json_object_new_object(), *hops = json_object_new_array();
	struct svc_counter c = op_rule_counter(a, ru->rule_id);
	char b[SVC_ADDR_STRLEN];

	op_put_str(o, "prefix", svc_prefix_format(&ru->prefix, b, sizeof(b)));
	op_put_str(o, "action", svc_action_names[ru->action]);
	op_put_str(o, "owner", "operator");
	op_put_str(o, "service", NULL);
	op_put_int(o, "rule_id", ru->rule_id);
	op_put_int(o, "set_id", ru->set_id);
	for (size_t h = 0; h < ru->nhops; h++)
		json_object_array_add(hops, hop_json(a, &ru->hops[h].addr, ru->hops[h].weight));
	json_object_object_add(o, "hops", hops);
	op_put_counter(o, &c);
	return o;
}

/* The FORWARD rule the agent keeps for a service with instances. */
json_object *op_service_rule_json(struct agent *a, const struct svc_reg_service *s)
{
	json_object *o = json_object_new_object(), *hops = json_object_new_array();
	struct svc_counter c = op_rule_counter(a, s->rule_id);
	struct svc_lpm_key k = { .prefixlen = 128, .sid = s->sid };
	char b[SVC_ADDR_STRLEN];

	op_put_str(o, "prefix", svc_prefix_format(&k, b, sizeof(b)));
	op_put_str(o, "action", "forward");
	op_put_str(o, "owner", "service");
	op_put_str(o, "service", op_sid_str(&s->sid, b));
	op_put_int(o, "rule_id", s->rule_id);
	op_put_int(o, "set_id", s->set_id);
	for (size_t i = 0; i < a->reg.n_instances; i++) {
		const struct svc_reg_instance *in = &a->reg.instances[i];

		if (op_sid_eq(&in->sid, &s->sid) && in->up)
			json_object_array_add(hops, hop_json(a, &in->addr, in->weight));
	}
	json_object_object_add(o, "hops", hops);
	op_put_counter(o, &c);
	return o;
}

/* ---- argument helpers: each returns 0 or -1 with @err set ---- */

int op_arg_name(json_object *args, const char *key, const char **out, struct svc_err *err)
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

int op_arg_iface(json_object *args, const char **out, struct svc_err *err)
{
	if (svc_api_arg_str(args, "iface", true, out, err) < 0)
		return -1;
	if (!svc_iface_valid(*out))
		return svc_err_set(err, SVC_API_INVALID, "argument 'iface': invalid name '%.32s'",
				   *out);
	return 0;
}
