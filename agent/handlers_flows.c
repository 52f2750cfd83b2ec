// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svcplaned API: the flow table (flows.list, flows.clear). */
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
		snprintf(buf, len, "%s:%u", op_addr_str(x, b), ntohs(port));
	else
		snprintf(buf, len, "[%s]:%u", op_addr_str(x, b), ntohs(port));
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
	op_put_str(o, "proto", proto_name(k->proto, p));
	op_put_str(o, "client", endpoint_str(&k->src, k->sport, b, sizeof(b)));
	op_put_str(o, "service", endpoint_str(&k->dst, k->dport, b, sizeof(b)));
	op_put_str(o, "nexthop", nh ? op_addr_str(&nh->addr, b) : NULL);
	op_put_int(o, "nh_id", v->nh_id);
	op_put_int(o, "rule_id", v->rule_id);
	op_put_int(o, "age_ms",
		   w->now_ns > v->last_seen_ns ? (int64_t)((w->now_ns - v->last_seen_ns) / 1000000)
					       : 0);
	json_object_array_add(w->arr, o);
	return 0;
}

int agent_op_flows_list(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
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
	op_put_int(res, "count", (int64_t)w.count);
	if (w.arr) {
		op_put_bool(res, "truncated", json_object_array_length(w.arr) < w.count);
		json_object_object_add(res, "flows", w.arr);
	}
	return 0;
}

int agent_op_flows_clear(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	size_t cleared = 0;
	int ret;

	(void)args;
	ret = svc_dp_flows_clear(a->dp, &cleared);
	if (ret)
		return svc_err_set(err, SVC_API_INTERNAL, "clear the flow table: %s",
				   strerror(-ret));
	pr_info("flow table cleared (%zu flows)", cleared);
	op_put_int(res, "cleared", (int64_t)cleared);
	return 0;
}
