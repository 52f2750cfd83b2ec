// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned: the control API's operations. Each op validates its arguments
 * (again: servicectl validated them too, but the socket is the interface),
 * changes the registry, and the common path then saves the state file and
 * reconciles; if either fails, the registry is rolled back and reconciled
 * again, so a failed request leaves nothing changed. docs/svcplaned.md
 * lists every op with its arguments and result. This file holds the op table
 * and that common path; the ops are in handlers_<object>.c (and tiflow.c,
 * directpath.c, route.c), declared in handlers.h.
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

typedef int (*op_fn)(struct agent *a, json_object *args, json_object *res, struct svc_err *err);

/* How an op changes state: not at all, through the registry (common commit path), or itself. */
enum op_kind { OP_READ, OP_REGISTRY, OP_SELF };

struct op {
	const char *name;
	op_fn fn;
	enum op_kind kind;
	const char *const *args; /* accepted argument keys */
};

/* ---- dispatch ---- */

#define A(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NOARGS ((const char *const[]){ NULL })

static const struct op ops[] = {
	{ "service.add", agent_op_service_add, OP_REGISTRY, A("sid", "name") },
	{ "service.del", agent_op_service_del, OP_REGISTRY, A("sid") },
	{ "service.list", agent_op_service_list, OP_READ, NOARGS },
	{ "service.show", agent_op_service_show, OP_READ, A("sid") },
	{ "service.health", agent_op_service_health, OP_REGISTRY,
	  A("sid", "type", "port", "path", "expect", "interval_ms", "timeout_ms", "rise", "fall") },
	{ "bind.add", agent_op_bind_add, OP_REGISTRY, A("binding", "sid") },
	{ "bind.del", agent_op_bind_del, OP_REGISTRY, A("binding") },
	{ "bind.list", agent_op_bind_list, OP_READ, NOARGS },
	{ "instance.add", agent_op_instance_add, OP_REGISTRY,
	  A("sid", "addr", "weight", "name", "lease", "strip_options") },
	{ "instance.set", agent_op_instance_set, OP_REGISTRY,
	  A("sid", "addr", "weight", "state", "strip_options", "keep_options") },
	{ "instance.del", agent_op_instance_del, OP_REGISTRY, A("sid", "addr", "dead") },
	{ "instance.shed", agent_op_instance_shed, OP_REGISTRY, A("sid", "addr") },
	{ "instance.drain", agent_op_instance_drain, OP_REGISTRY, A("sid", "addr") },
	{ "instance.resume", agent_op_instance_resume, OP_REGISTRY, A("sid", "addr") },
	{ "instance.list", agent_op_instance_list, OP_READ, A("sid") },
	{ "instance.show", agent_op_instance_show, OP_READ, A("sid", "addr") },
	{ "rule.add", agent_op_rule_add, OP_REGISTRY, A("prefix", "action", "hops", "replace") },
	{ "rule.del", agent_op_rule_del, OP_REGISTRY, A("prefix") },
	{ "rule.list", agent_op_rule_list, OP_READ, NOARGS },
	{ "prefix.add", agent_op_prefix_add, OP_REGISTRY, A("prefix") },
	{ "prefix.del", agent_op_prefix_del, OP_REGISTRY, A("prefix") },
	{ "prefix.list", agent_op_prefix_list, OP_READ, NOARGS },
	{ "src.set", agent_op_src_set, OP_REGISTRY, A("addr") },
	{ "src.show", agent_op_src_show, OP_READ, NOARGS },
	{ "decap.add", agent_op_decap_add, OP_REGISTRY, A("addr") },
	{ "decap.del", agent_op_decap_del, OP_REGISTRY, A("addr") },
	{ "decap.list", agent_op_decap_list, OP_READ, NOARGS },
	{ "attach", agent_op_attach, OP_SELF, A("iface", "prog", "mode") },
	{ "detach", agent_op_detach, OP_SELF, A("iface") },
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
	{ "flows.list", agent_op_flows_list, OP_READ, A("count_only", "limit") },
	{ "flows.clear", agent_op_flows_clear, OP_SELF, NOARGS },
	{ "route.get", agent_op_route_get, OP_READ, A("dst", "src", "syn", "iif") },
	{ "stats", agent_op_stats, OP_READ, NOARGS },
	{ "status", agent_op_status, OP_READ, NOARGS },
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
			json_object_object_add(res, "instance",
					       op_instance_json(a, in, false, NULL));
	}
	if (json_object_object_get_ex(res, "service", &o) &&
	    json_object_object_get_ex(o, "sid", &v) &&
	    !svc_sid_parse(json_object_get_string(v), &sid)) {
		struct svc_reg_service *s = svc_reg_service_find(&a->reg, &sid);

		if (s)
			json_object_object_add(res, "service", op_service_json(a, s));
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
