// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svcplaned API: stats and status (counters, attached programs, map fill, features). */
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

		op_put_str(o, "reason", svc_reason_label[r]);
		op_put_counter(o, &c[r]);
		json_object_array_add(arr, o);
	}
	return arr;
}

int agent_op_stats(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
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
		struct svc_counter c = op_rule_counter(a, s->rule_id);
		json_object *o = json_object_new_object();

		op_put_str(o, "sid", op_sid_str(&s->sid, b));
		op_put_str(o, "name", s->name);
		op_put_counter(o, &c);
		json_object_array_add(svcs, o);
	}
	for (size_t i = 0; i < a->reg.n_instances; i++)
		json_object_array_add(ins, op_instance_json(a, &a->reg.instances[i], true, NULL));
	for (size_t i = 0; i < a->reg.n_rules; i++) {
		const struct svc_reg_rule *ru = &a->reg.rules[i];
		struct svc_counter c = op_rule_counter(a, ru->rule_id);
		json_object *o = json_object_new_object();

		op_put_str(o, "prefix", svc_prefix_format(&ru->prefix, b, sizeof(b)));
		op_put_str(o, "action", svc_action_names[ru->action]);
		op_put_counter(o, &c);
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
		op_put_str(o, "map", hashed[i].name);
		op_put_int(o, "entries", count_keys(a, hashed[i].name, hashed[i].ksize, max + 1));
		op_put_int(o, "max_entries", max);
		json_object_array_add(arr, o);
	}
	/* Arrays: every index exists; what counts is what the agent filled in. */
	o = json_object_new_object();
	op_put_str(o, "map", "nexthops");
	op_put_int(o, "entries", (int64_t)a->reg.n_nexthops);
	op_put_int(o, "max_entries", max_entries(a, "nexthops"));
	json_object_array_add(arr, o);
	for (size_t i = 0; i < SVC_MAX_SETS; i++)
		sets += a->sets[i].valid;
	o = json_object_new_object();
	op_put_str(o, "map", "ch_tables");
	op_put_int(o, "entries", (int64_t)sets);
	op_put_int(o, "max_entries", max_entries(a, "ch_tables"));
	json_object_array_add(arr, o);
	o = json_object_new_object();
	op_put_str(o, "map", "flows");
	if (flows < 0)
		flows = agent_flow_count(a, &nflows) ? -1 : (long long)nflows;
	op_put_int(o, "entries", flows);
	op_put_int(o, "max_entries", max_entries(a, "flows"));
	json_object_array_add(arr, o);
	return arr;
}

int agent_op_status(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	json_object *ag = json_object_new_object(), *atts = json_object_new_array();
	struct if_nameindex *ifs;

	(void)args;
	(void)err;
	op_put_str(ag, "version", svc_version());
	op_put_int(ag, "pid", getpid());
	op_put_int(ag, "uptime_s",
		   (int64_t)(agent_now_s() - (double)a->started.tv_sec - a->started.tv_nsec / 1e9));
	op_put_bool(ag, "adopted", a->adopted);
	op_put_str(ag, "socket", a->cfg.socket);
	op_put_str(ag, "pin_dir", a->cfg.pin_dir);
	op_put_str(ag, "state_file", a->state_path);
	op_put_str(ag, "metrics", a->cfg.metrics);
	op_put_int(ag, "reconciles", (int64_t)a->reconciles);
	op_put_int(ag, "reconcile_errors", (int64_t)a->reconcile_errors);
	op_put_str(ag, "delay_reinject", svc_delay_reinject_name(a->cfg.delay_reinject));
	op_put_str(ag, "delay_reinject_path", agent_delay_path_name(agent_delay_path(a)));
	op_put_str(ag, "delay_reinject_why", agent_delay_path_why(a));
	{
		unsigned int engaged = 0;
		__u32 rate = 0;

		if (svc_dp_flood_read(a->dp, &rate, &engaged))
			pr_warn("status: read the flood guard's state failed");
		op_put_int(ag, "flood_insert_rate", rate);
		op_put_int(ag, "flood_guard_engaged_cpus", engaged);
	}
	json_object_object_add(res, "agent", ag);
	json_object_object_add(res, "registry", agent_etcd_status(a));
	json_object_object_add(res, "features", svc_features_json(&a->features));

	for (size_t i = 0; i < a->reg.n_attachments; i++) {
		const struct svc_reg_attach *at = &a->reg.attachments[i];
		enum svc_prog cur = at->prog;
		__u32 id = 0;
		int r = if_nametoindex(at->iface) ? svc_dp_attached(at->iface, &cur, &id) : -ENODEV;
		json_object *o =
			op_attachment_json(at->iface, r == 1 ? (int)cur : at->prog, at->mode, id);

		op_put_bool(o, "attached", r == 1);
		op_put_bool(o, "recorded", true);
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
		o = op_attachment_json(p->if_name, (int)cur, -1, id);
		op_put_bool(o, "attached", true);
		op_put_bool(o, "recorded", false);
		json_object_array_add(atts, o);
	}
	if (ifs)
		if_freenameindex(ifs);
	json_object_object_add(res, "attachments", atts);
	json_object_object_add(res, "maps", agent_map_fill(a, -1));
	return 0;
}
