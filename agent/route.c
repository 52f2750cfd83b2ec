// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned: the route.get API op (`servicectl route get`). The data plane
 * answers (agent/lib/route.h: the router program run on a built packet, with
 * no side effects); the agent adds what only the registry knows: the service
 * and instance names behind the rule and next-hop ids.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include "addr.h"
#include "agent.h"
#include "log.h"
#include "route.h"
#include "svc_reason_names.h"

static void put_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static void put_id(json_object *o, const char *k, __u32 v)
{
	json_object_object_add(o, k, v ? json_object_new_int64(v) : NULL);
}

static const char *verdict_name(__u32 act)
{
	switch (act) {
	case XDP_TX:
	case XDP_REDIRECT:
		return "forward";
	case XDP_PASS:
		return "pass";
	case XDP_DROP:
		return "drop";
	}
	return "aborted";
}

/* The interface the router sees the packet arrive on: @iif, or the first router attachment. */
static int route_iif(struct agent *a, const char *iif, __u32 *ifindex, const char **name,
		     struct svc_err *err)
{
	*ifindex = 0;
	*name = NULL;
	for (size_t i = 0; !iif && i < a->reg.n_attachments; i++)
		if (a->reg.attachments[i].prog == SVC_PROG_ROUTER)
			iif = a->reg.attachments[i].iface;
	if (!iif)
		return 0; /* no router attached here: the loopback device */
	*ifindex = if_nametoindex(iif);
	if (!*ifindex)
		return svc_err_set(err, SVC_API_NOT_FOUND, "interface %s: %s", iif,
				   strerror(errno));
	*name = iif;
	return 0;
}

/* Service, rule and instance names of the answer, from the registry. */
static void route_names(struct agent *a, const struct svc_route_result *r, json_object *o)
{
	const struct svc_reg_service *svc = NULL;
	const struct svc_reg_rule *rule = NULL;
	char b[SVC_ADDR_STRLEN];
	struct svc_lpm_key p;

	for (size_t i = 0; r->rule_id && i < a->reg.n_services; i++)
		if (a->reg.services[i].rule_id == r->rule_id)
			svc = &a->reg.services[i];
	for (size_t i = 0; r->rule_id && !svc && i < a->reg.n_rules; i++)
		if (a->reg.rules[i].rule_id == r->rule_id)
			rule = &a->reg.rules[i];
	if (!svc && r->has_sid)
		svc = svc_reg_service_find(&a->reg, &r->sid);
	if (svc) {
		put_str(o, "sid", svc_sid_format(&svc->sid, b, sizeof(b)));
		put_str(o, "service", svc->name[0] ? svc->name : NULL);
		p.prefixlen = 128;
		p.sid = svc->sid;
		put_str(o, "rule",
			svc->rule_id == r->rule_id ? svc_prefix_format(&p, b, sizeof(b)) : NULL);
	} else {
		put_str(o, "sid", r->has_sid ? svc_sid_format(&r->sid, b, sizeof(b)) : NULL);
		put_str(o, "service", NULL);
		put_str(o, "rule", rule ? svc_prefix_format(&rule->prefix, b, sizeof(b)) : NULL);
	}
	put_id(o, "rule_id", r->rule_id);
	put_str(o, "instance", r->nh_id ? svc_addr_format(&r->nh, b, sizeof(b)) : NULL);
	put_id(o, "nh_id", r->nh_id);
	{
		const struct svc_reg_instance *in =
			svc && r->nh_id ? svc_reg_instance_find(&a->reg, &svc->sid, &r->nh) : NULL;

		put_str(o, "instance_name", in && in->name[0] ? in->name : NULL);
	}
	put_str(o, "outer_dst", r->sent ? svc_addr_format(&r->outer, b, sizeof(b)) : NULL);
}

int agent_op_route_get(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_route_query q = { 0 };
	struct svc_binding_key dst;
	struct svc_route_result r;
	const char *src, *iif = NULL, *iif_name;
	char b[SVC_ADDR_STRLEN];
	bool syn = false;
	json_object *o;
	int ret;

	if (svc_api_arg_binding(args, "dst", true, &dst, err) < 0 ||
	    svc_api_arg_str(args, "src", true, &src, err) < 0 ||
	    svc_api_arg_bool(args, "syn", false, &syn, err) < 0 ||
	    svc_api_arg_str(args, "iif", false, &iif, err) < 0)
		return -1;
	if (svc_endpoint_parse(src, &q.src, &q.sport))
		return svc_err_set(err, SVC_API_INVALID,
				   "src '%s': expected ADDR:PORT, IPv6 as [ADDR]:PORT", src);
	q.dst = dst.vip;
	q.dport = ntohs(dst.port);
	q.proto = dst.proto;
	q.syn = syn && q.proto == IPPROTO_TCP;
	if (!q.dport)
		return svc_err_set(err, SVC_API_INVALID, "dst: port 0 names no packet");
	if (svc_addr_is_v4(&q.src) != svc_addr_is_v4(&q.dst))
		return svc_err_set(err, SVC_API_INVALID, "dst and src are of different families");
	if (iif && !svc_iface_valid(iif))
		return svc_err_set(err, SVC_API_INVALID, "iif '%s': not an interface name", iif);
	if (route_iif(a, iif, &q.ifindex, &iif_name, err))
		return -1;
	/* The probe instance is loaded on first use (a verification), then kept. */
	if (!a->route) {
		ret = svc_route_open(a->dp, &a->route);
		if (ret)
			return svc_err_set(err, SVC_API_INTERNAL,
					   "load the route probe: %s (see the agent log)",
					   strerror(-ret));
	}
	ret = svc_route_get(a->route, &q, &r);
	if (ret)
		return svc_err_set(err, SVC_API_INTERNAL, "run the router program: %s",
				   strerror(-ret));
	o = json_object_new_object();
	put_str(o, "proto", q.proto == IPPROTO_TCP ? "tcp" : "udp");
	put_str(o, "client", svc_endpoint_format(&q.src, q.sport, b, sizeof(b)));
	put_str(o, "service_addr", svc_endpoint_format(&q.dst, q.dport, b, sizeof(b)));
	put_str(o, "packet", q.proto == IPPROTO_UDP ? "udp" : q.syn ? "syn" : "ack");
	put_str(o, "iif", iif_name);
	put_str(o, "verdict", verdict_name(r.xdp_action));
	put_str(o, "reason", r.reason < SVC_REASON_MAX ? svc_reason_label[r.reason] : NULL);
	put_str(o, "how", svc_route_how_names[r.how]);
	route_names(a, &r, o);
	json_object_object_add(res, "route", o);
	return 0;
}
