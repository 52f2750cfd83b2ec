// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * servicectl's command table: every command's words, API op, typed arguments
 * and options, cross-argument checks, result views and example (ctl.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "api.h"
#include "ctl.h"
#include "registry.h"

/* ---- positional arguments and options shared by several commands ---- */

#define ARG(m, k, t, f)                                       \
	{                                                     \
		.metavar = m, .key = k, .type = t, .flags = f \
	}
#define ARGS_END  \
	{         \
		0 \
	}
#define OPT(l, s, m, k, t, h)                                                                 \
	{                                                                                     \
		.long_name = l, .short_name = s, .metavar = m, .key = k, .type = t, .help = h \
	}
#define OPTS_END  \
	{         \
		0 \
	}
#define COL(k, h)                     \
	{                             \
		.key = k, .header = h \
	}
#define COLS_END  \
	{         \
		0 \
	}

static const struct svc_ctl_arg a_sid[] = { ARG("SID", "sid", SVC_CTL_SID, 0), ARGS_END };
static const struct svc_ctl_arg a_sid_opt[] = { ARG("SID", "sid", SVC_CTL_SID, SVC_CTL_OPTIONAL),
						ARGS_END };
static const struct svc_ctl_arg a_sid_addr[] = { ARG("SID", "sid", SVC_CTL_SID, 0),
						 ARG("ADDR", "addr", SVC_CTL_ADDR, 0), ARGS_END };
static const struct svc_ctl_arg a_bind_add[] = { ARG("VIP:PORT/PROTO", "binding", SVC_CTL_BINDING,
						     0),
						 ARG("SID", "sid", SVC_CTL_SID, 0), ARGS_END };
static const struct svc_ctl_arg a_binding[] = {
	ARG("VIP:PORT/PROTO", "binding", SVC_CTL_BINDING, 0), ARGS_END
};
static const struct svc_ctl_arg a_rule_add[] = { ARG("PREFIX", "prefix", SVC_CTL_PREFIX, 0),
						 ARG("ACTION", "action", SVC_CTL_ACTION, 0),
						 ARG("HOP", "hops", SVC_CTL_HOP, SVC_CTL_REPEAT),
						 ARGS_END };
static const struct svc_ctl_arg a_prefix[] = { ARG("PREFIX", "prefix", SVC_CTL_PREFIX, 0),
					       ARGS_END };
static const struct svc_ctl_arg a_addr[] = { ARG("ADDR", "addr", SVC_CTL_ADDR, 0), ARGS_END };
static const struct svc_ctl_arg a_attach[] = { ARG("IFACE", "iface", SVC_CTL_IFACE, 0),
					       ARG("PROG", "prog", SVC_CTL_PROG, 0), ARGS_END };
static const struct svc_ctl_arg a_iface[] = { ARG("IFACE", "iface", SVC_CTL_IFACE, 0), ARGS_END };

static const struct svc_ctl_arg a_cgroup[] = { ARG("CGROUP", "cgroup", SVC_CTL_CGROUP, 0),
					       ARGS_END };
static const struct svc_ctl_arg a_select[] = { ARG("ADDR:PORT", "select", SVC_CTL_SELECT, 0),
					       ARGS_END };

static const struct svc_ctl_arg a_direct_map[] = { ARG("ID", "id", SVC_CTL_INSTID, 0),
						   ARG("ADDR", "addr", SVC_CTL_ADDR, 0), ARGS_END };
static const struct svc_ctl_arg a_direct_id[] = { ARG("ID", "id", SVC_CTL_INSTID, 0), ARGS_END };
static const struct svc_ctl_arg a_route_get[] = { ARG("VIP:PORT/PROTO", "dst", SVC_CTL_BINDING, 0),
						  ARG("from", NULL, SVC_CTL_KEYWORD, 0),
						  ARG("SRC:SPORT", "src", SVC_CTL_ENDPOINT, 0),
						  ARGS_END };
static const struct svc_ctl_opt o_route_get[] = {
	OPT("syn", 0, NULL, "syn", SVC_CTL_FLAG,
	    "TCP: ask about a new connection's SYN (default: an established connection's packet)"),
	OPT("iif", 0, "IFACE", "iif", SVC_CTL_IFACE,
	    "the packet arrives on IFACE (default: the first interface running the router)"),
	OPTS_END
};
static const struct svc_ctl_opt o_direct_instance[] = {
	OPT("instance-id", 'I', "N", "instance_id", SVC_CTL_INSTID,
	    "1..65535: this host's next-hop id on the service routers, stamped into SYN-ACKs"),
	OPTS_END
};

/* TI-flow settings: host-wide (one configuration for every enabled cgroup). */
static const struct svc_ctl_opt o_tiflow[] = {
	OPT("instance-id", 'I', "N", "instance_id", SVC_CTL_INSTID,
	    "instance id 0..65535 carried in our responder halves (host-wide)"),
	OPT("kind", 'k', "K", "kind", SVC_CTL_OPTKIND,
	    "TCP option kind 2..255 (host-wide; default 253)"),
	OPT("initiate-only", 0, NULL, "initiate_only", SVC_CTL_FLAG,
	    "offer TI-flow in our SYNs, never answer offers (host-wide)"),
	OPT("respond-only", 0, NULL, "respond_only", SVC_CTL_FLAG,
	    "answer offers, never offer (host-wide)"),
	OPT("both-roles", 0, NULL, "both_roles", SVC_CTL_FLAG,
	    "offer and answer (the default; undoes --initiate-only/--respond-only)"),
	OPTS_END
};

static const struct svc_ctl_opt o_service_add[] = {
	OPT("name", 'n', "NAME", "name", SVC_CTL_NAME, "a name for people and metrics"), OPTS_END
};
static const struct svc_ctl_opt o_instance_add[] = {
	OPT("weight", 'w', "W", "weight", SVC_CTL_WEIGHT, "relative weight 1..1000 (default 1)"),
	OPT("name", 'n', "NAME", "name", SVC_CTL_NAME, "a name for people and metrics"),
	OPT("lease", 0, "SECONDS", "lease", SVC_CTL_COUNT,
	    "a registration: removed as dead unless added again within SECONDS (refresh)"),
	OPT("strip-options", 0, NULL, "strip_options", SVC_CTL_FLAG,
	    "its host runs no svcplane: the router strips svcplane's TCP options"),
	OPTS_END
};
static const struct svc_ctl_opt o_instance_del[] = {
	OPT("dead", 0, NULL, "dead", SVC_CTL_FLAG,
	    "the instance died: its clients' connections are reset (default: they drain)"),
	OPTS_END
};
static const struct svc_ctl_opt o_instance_set[] = {
	OPT("weight", 'w', "W", "weight", SVC_CTL_WEIGHT, "new weight 1..1000"),
	OPT("state", 0, "up|down", "state", SVC_CTL_STATE,
	    "down: no new flows go to it (existing ones drain)"),
	OPT("strip-options", 0, NULL, "strip_options", SVC_CTL_FLAG,
	    "its host runs no svcplane: the router strips svcplane's TCP options"),
	OPT("keep-options", 0, NULL, "keep_options", SVC_CTL_FLAG,
	    "its host runs svcplane: options pass (the default)"),
	OPTS_END
};
static const struct svc_ctl_opt o_service_health[] = {
	OPT("tcp", 0, "PORT", "tcp", SVC_CTL_PORT, "check: a TCP connect to ADDR:PORT succeeds"),
	OPT("http", 0, "PORT", "http", SVC_CTL_PORT,
	    "check: GET --path over HTTP/1.0 at ADDR:PORT answers --expect"),
	OPT("path", 0, "PATH", "path", SVC_CTL_PATH, "HTTP request path (default /)"),
	OPT("expect", 0, "STATUS", "expect", SVC_CTL_COUNT, "expected HTTP status (default 200)"),
	OPT("interval", 0, "MS", "interval_ms", SVC_CTL_COUNT,
	    "time between checks, 10..100000 ms (default 2000)"),
	OPT("timeout", 0, "MS", "timeout_ms", SVC_CTL_COUNT,
	    "a check not done by then fails, 10..interval ms (default 1000)"),
	OPT("rise", 0, "N", "rise", SVC_CTL_COUNT,
	    "consecutive successes that bring a down instance up (default 2)"),
	OPT("fall", 0, "N", "fall", SVC_CTL_COUNT,
	    "consecutive failures that mark an instance down (default 3)"),
	OPT("off", 0, NULL, "off", SVC_CTL_FLAG, "stop checking: health becomes unknown"),
	OPTS_END
};
static const struct svc_ctl_opt o_rule_add[] = {
	OPT("replace", 0, NULL, "replace", SVC_CTL_FLAG,
	    "replace the rule of PREFIX if there is one (one change: e.g. move a partition)"),
	OPTS_END
};
static const struct svc_ctl_opt o_attach[] = {
	OPT("mode", 'm', "native|skb", "mode", SVC_CTL_MODE,
	    "XDP mode (default: the agent's --mode); no fallback"),
	OPTS_END
};
static const struct svc_ctl_opt o_dump[] = {
	OPT("pcap", 'r', "FILE", "pcap", SVC_CTL_FILE,
	    "read packets from a pcap file ('-': stdin)"),
	OPT("iface", 'i', "IFACE", "iface", SVC_CTL_IFACE, "capture live on IFACE (needs root)"),
	OPT("count", 'c', "N", "count", SVC_CTL_COUNT, "stop after N TCP packets"),
	OPT("timeout", 't', "MS", "timeout_ms", SVC_CTL_COUNT, "--iface: stop after MS ms"),
	OPT("all", 'a', NULL, "all", SVC_CTL_FLAG,
	    "print every TCP packet, not only those with svcplane options"),
	OPTS_END
};

static const struct svc_ctl_opt o_flows[] = {
	OPT("count", 'c', NULL, "count_only", SVC_CTL_FLAG, "print only the number of flows"),
	OPT("limit", 'l', "N", "limit", SVC_CTL_COUNT, "list at most N flows (default 1000)"),
	OPTS_END
};

/* ---- result views ---- */

static const struct svc_ctl_col c_services[] = { COL("sid", "SID"),
						 COL("name", "NAME"),
						 COL("instance_count", "INSTANCES"),
						 COL("up_count", "UP"),
						 COL("binding_count", "BINDINGS"),
						 COLS_END };
static const struct svc_ctl_col c_service[] = { COL("sid", "sid"),
						COL("name", "name"),
						COL("rule_id", "rule id"),
						COL("set_id", "next-hop set"),
						COL("packets", "packets"),
						COL("bytes", "bytes"),
						COLS_END };
static const struct svc_ctl_col c_health[] = { COL("type", "type"),
					       COL("port", "port"),
					       COL("path", "path"),
					       COL("expect", "expect"),
					       COL("interval_ms", "interval (ms)"),
					       COL("timeout_ms", "timeout (ms)"),
					       COL("rise", "rise"),
					       COL("fall", "fall"),
					       COLS_END };
static const struct svc_ctl_col c_svc_instances[] = { COL("addr", "INSTANCE"),
						      COL("name", "NAME"),
						      COL("weight", "WEIGHT"),
						      COL("state", "STATE"),
						      COL("packets", "PACKETS"),
						      COL("bytes", "BYTES"),
						      COLS_END };
static const struct svc_ctl_col c_svc_bindings[] = { COL("binding", "BINDING"), COLS_END };
static const struct svc_ctl_col c_bindings[] = { COL("binding", "BINDING"), COL("sid", "SID"),
						 COL("service_name", "SERVICE"), COLS_END };
static const struct svc_ctl_col c_instances[] = { COL("sid", "SID"),
						  COL("service_name", "SERVICE"),
						  COL("addr", "INSTANCE"),
						  COL("name", "NAME"),
						  COL("weight", "WEIGHT"),
						  COL("state", "STATE"),
						  COL("status", "STATUS"),
						  COL("health", "HEALTH"),
						  COL("active_flows", "FLOWS"),
						  COL("nh_id", "NH"),
						  COL("why", "WHY"),
						  COLS_END };
static const struct svc_ctl_col c_instance[] = { COL("sid", "service"),
						 COL("addr", "instance"),
						 COL("name", "name"),
						 COL("weight", "weight"),
						 COL("state", "state"),
						 COL("mode", "mode"),
						 COL("status", "status"),
						 COL("health", "health"),
						 COL("why", "why"),
						 COL("lease", "lease (s)"),
						 COL("active_flows", "remaining flows"),
						 COL("nh_id", "next-hop id"),
						 COL("egress", "egress"),
						 COL("packets", "packets"),
						 COL("bytes", "bytes"),
						 COLS_END };
static const struct svc_ctl_col c_rules[] = {
	COL("prefix", "PREFIX"),
	COL("action", "ACTION"),
	COL("owner", "OWNER"),
	{ .key = "hops", .header = "NEXT HOPS", .fmt = SVC_CTL_FMT_HOPS },
	COL("packets", "PACKETS"),
	COLS_END
};
static const struct svc_ctl_col c_prefixes[] = { COL("prefix", "PREFIX"), COLS_END };
static const struct svc_ctl_col c_src[] = { COL("ipv4", "ipv4"), COL("ipv6", "ipv6"), COLS_END };
static const struct svc_ctl_col c_decaps[] = { COL("addr", "DECAP SOURCE"), COLS_END };
static const struct svc_ctl_col c_attachment[] = { COL("iface", "iface"), COL("prog", "program"),
						   COL("mode", "mode"), COL("prog_id", "prog id"),
						   COLS_END };
static const struct svc_ctl_col c_count[] = { COL("count", "flows"), COLS_END };
static const struct svc_ctl_col c_flows[] = { COL("proto", "PROTO"),
					      COL("client", "CLIENT"),
					      COL("service", "SERVICE ADDRESS"),
					      COL("nexthop", "NEXT HOP"),
					      COL("rule_id", "RULE"),
					      COL("age_ms", "AGE_MS"),
					      COLS_END };
static const struct svc_ctl_col c_cleared[] = { COL("cleared", "flows cleared"), COLS_END };
static const struct svc_ctl_col c_reasons[] = { COL("reason", "REASON"), COL("packets", "PACKETS"),
						COL("bytes", "BYTES"), COLS_END };
static const struct svc_ctl_col c_stat_services[] = { COL("sid", "SID"), COL("name", "NAME"),
						      COL("packets", "PACKETS"),
						      COL("bytes", "BYTES"), COLS_END };
static const struct svc_ctl_col c_stat_instances[] = {
	COL("sid", "SID"),	   COL("service_name", "SERVICE"), COL("addr", "INSTANCE"),
	COL("packets", "PACKETS"), COL("bytes", "BYTES"),	   COLS_END
};
static const struct svc_ctl_col c_stat_rules[] = { COL("prefix", "PREFIX"), COL("action", "ACTION"),
						   COL("packets", "PACKETS"), COL("bytes", "BYTES"),
						   COLS_END };
static const struct svc_ctl_col c_agent[] = { COL("version", "version"),
					      COL("pid", "pid"),
					      COL("uptime_s", "uptime (s)"),
					      COL("adopted", "adopted pinned state"),
					      COL("socket", "socket"),
					      COL("pin_dir", "pin dir"),
					      COL("state_file", "state file"),
					      COL("metrics", "metrics"),
					      COL("reconciles", "reconciles"),
					      COL("reconcile_errors", "reconcile errors"),
					      COL("delay_reinject", "DELAY re-injection"),
					      COL("delay_reinject_path", "DELAY path in use"),
					      COL("delay_reinject_why", "DELAY path because"),
					      COL("flood_insert_rate", "flood guard rate"),
					      COL("flood_guard_engaged_cpus",
						  "flood guard on CPUs"),
					      COLS_END };
static const struct svc_ctl_col c_registry[] = { COL("backend", "backend"),
						 COL("endpoint", "etcd endpoint"),
						 COL("prefix", "key prefix"),
						 COL("synced", "synced"),
						 COL("watching", "watching"),
						 COL("revision", "revision"),
						 COL("records", "records"),
						 COL("skipped", "records skipped"),
						 COL("failovers", "endpoint failovers"),
						 COLS_END };
static const struct svc_ctl_col c_features[] = { COL("feature", "FEATURE"),
						 COL("state", "AVAILABLE"),
						 COL("used_by", "USED BY"),
						 COL("detail", "MISSING"), COLS_END };
static const struct svc_ctl_col c_attachments[] = {
	COL("iface", "IFACE"),	   COL("prog", "PROGRAM"),	COL("mode", "MODE"),
	COL("prog_id", "PROG ID"), COL("attached", "ATTACHED"), COLS_END
};
static const struct svc_ctl_col c_maps[] = { COL("map", "MAP"), COL("entries", "ENTRIES"),
					     COL("max_entries", "MAX"), COLS_END };

#define VIEW(t, p, c)                            \
	{                                        \
		.title = t, .path = p, .cols = c \
	}
#define VIEWS_END \
	{         \
		0 \
	}

static const struct svc_ctl_view v_service_list[] = { VIEW(NULL, "services", c_services),
						      VIEWS_END };
static const struct svc_ctl_view v_service_show[] = {
	VIEW(NULL, "service", c_service), VIEW("health check", "service.health", c_health),
	VIEW("instances", "service.instances", c_svc_instances),
	VIEW("bindings", "service.bindings", c_svc_bindings), VIEWS_END
};
static const struct svc_ctl_view v_bind_list[] = { VIEW(NULL, "bindings", c_bindings), VIEWS_END };
static const struct svc_ctl_view v_instance_list[] = { VIEW(NULL, "instances", c_instances),
						       VIEWS_END };
static const struct svc_ctl_view v_instance_show[] = { VIEW(NULL, "instance", c_instance),
						       VIEWS_END };
static const struct svc_ctl_view v_rule_list[] = { VIEW(NULL, "rules", c_rules), VIEWS_END };
static const struct svc_ctl_view v_prefix_list[] = { VIEW(NULL, "prefixes", c_prefixes),
						     VIEWS_END };
static const struct svc_ctl_view v_src[] = { VIEW(NULL, "src", c_src), VIEWS_END };
static const struct svc_ctl_view v_decap_list[] = { VIEW(NULL, "decap_sources", c_decaps),
						    VIEWS_END };
static const struct svc_ctl_view v_attach[] = { VIEW(NULL, "attachment", c_attachment), VIEWS_END };
static const struct svc_ctl_view v_flows[] = { VIEW(NULL, "", c_count),
					       VIEW(NULL, "flows", c_flows), VIEWS_END };
static const struct svc_ctl_view v_flows_clear[] = { VIEW(NULL, "", c_cleared), VIEWS_END };
static const struct svc_ctl_col c_route[] = { COL("packet", "packet"),
					      COL("iif", "arrives on"),
					      COL("verdict", "verdict"),
					      COL("reason", "reason"),
					      COL("how", "chosen by"),
					      COL("instance", "instance"),
					      COL("instance_name", "instance name"),
					      COL("nh_id", "instance id"),
					      COL("sid", "service"),
					      COL("service", "service name"),
					      COL("rule", "rule"),
					      COL("rule_id", "rule id"),
					      COLS_END };
static const struct svc_ctl_view v_route[] = { VIEW(NULL, "route", c_route), VIEWS_END };
static const struct svc_ctl_col c_delay[] = { COL("received", "received"),
					      COL("path", "re-injection path"),
					      COL("reinjected", "re-injected"),
					      COL("reinjected_live", "re-injected: live"),
					      COL("reinjected_copy", "re-injected: copy"),
					      COL("copy_pass", "copy: router passed (not sent)"),
					      COL("copy_drop", "copy: router dropped"),
					      COL("live_refused", "live runs refused"),
					      COL("drop_rate", "dropped: rate limit"),
					      COL("drop_queue", "dropped: queue full"),
					      COL("unresolvable", "unresolvable (dropped)"),
					      COL("errors", "errors"),
					      COLS_END };
static const struct svc_ctl_view v_stats[] = {
	VIEW("router", "router", c_reasons),
	VIEW("endpoint", "endpoint", c_reasons),
	VIEW("services", "services", c_stat_services),
	VIEW("instances (packets sent to the instance's address)", "instances", c_stat_instances),
	VIEW("rules", "rules", c_stat_rules),
	VIEW("delay (agent slow path: held packets)", "delay", c_delay),
	VIEWS_END
};
static const struct svc_ctl_col c_tiflow[] = {
	COL("loaded", "loaded"), COL("instance_id", "instance id"), COL("kind", "option kind"),
	COL("roles", "roles"),	 COL("selected", "selection"),	    COLS_END
};
static const struct svc_ctl_col c_tiflow_cg[] = { COL("cgroup", "CGROUP"),
						  COL("attached", "ATTACHED"), COLS_END };
static const struct svc_ctl_col c_tiflow_sel[] = { COL("select", "SELECTED"), COLS_END };
static const struct svc_ctl_col c_tiflow_ctr[] = { COL("event", "EVENT"), COL("count", "COUNT"),
						   COL("meaning", "MEANING"), COLS_END };
static const struct svc_ctl_view v_tiflow[] = {
	VIEW("TI-flow", "tiflow", c_tiflow), VIEW("cgroups", "cgroups", c_tiflow_cg),
	VIEW("selected destinations/services", "select", c_tiflow_sel),
	VIEW("negotiation counters", "counters", c_tiflow_ctr), VIEWS_END
};
static const struct svc_ctl_col c_direct[] = { COL("loaded", "loaded"),
					       COL("instance_id", "instance id"), COLS_END };
static const struct svc_ctl_col c_direct_if[] = {
	COL("iface", "IFACE"),		 COL("role", "ROLE"),
	COL("attached", "ATTACHED"),	 COL("ingress_id", "INGRESS PROG"),
	COL("egress_id", "EGRESS PROG"), COLS_END
};
static const struct svc_ctl_col c_direct_vip[] = { COL("addr", "SERVICE ADDRESS"), COLS_END };
static const struct svc_ctl_col c_direct_map[] = { COL("id", "INSTANCE"), COL("addr", "HOST"),
						   COLS_END };
static const struct svc_ctl_col c_direct_ctr[] = { COL("reason", "REASON"),
						   COL("packets", "PACKETS"), COL("bytes", "BYTES"),
						   COL("meaning", "MEANING"), COLS_END };
static const struct svc_ctl_view v_direct[] = {
	VIEW("direct path", "direct", c_direct),
	VIEW("interfaces", "ifaces", c_direct_if),
	VIEW("service addresses (instance host: SYN-ACKs stamped)", "vips", c_direct_vip),
	VIEW("instance hosts (client host)", "map", c_direct_map),
	VIEW("counters", "counters", c_direct_ctr),
	VIEWS_END
};
static const struct svc_ctl_view v_status[] = { VIEW("agent", "agent", c_agent),
						VIEW("registry", "registry", c_registry),
						VIEW("attachments", "attachments", c_attachments),
						VIEW("maps", "maps", c_maps),
						VIEW("kernel features", "features", c_features),
						VIEWS_END };

/* ---- cross-argument checks ---- */

/* dump: exactly one source, a pcap file or a live interface. */
static int check_dump(json_object *args, char *err, size_t errlen)
{
	bool pcap = json_object_object_get_ex(args, "pcap", NULL);
	bool iface = json_object_object_get_ex(args, "iface", NULL);

	if (pcap == iface) {
		snprintf(err, errlen, "give one of --pcap FILE or --iface IFACE");
		return -1;
	}
	if (pcap && json_object_object_get_ex(args, "timeout_ms", NULL)) {
		snprintf(err, errlen, "--timeout applies to --iface only");
		return -1;
	}
	return 0;
}

static int check_rule_add(json_object *args, char *err, size_t errlen)
{
	json_object *act, *hops;
	size_t n = 0;
	bool fwd;

	json_object_object_get_ex(args, "action", &act);
	fwd = !strcmp(json_object_get_string(act), "forward");
	if (json_object_object_get_ex(args, "hops", &hops))
		n = json_object_array_length(hops);
	if (fwd && n == 0) {
		snprintf(err, errlen, "forward needs at least one next hop HOP[:WEIGHT]");
		return -1;
	}
	if (!fwd && n) {
		snprintf(err, errlen, "%s takes no next hops (unexpected '%s')",
			 json_object_get_string(act),
			 json_object_get_string(json_object_object_get(
				 json_object_array_get_idx(hops, 0), "addr")));
		return -1;
	}
	if (n > SVC_REG_MAX_HOPS) {
		snprintf(err, errlen, "at most %d next hops", SVC_REG_MAX_HOPS);
		return -1;
	}
	return 0;
}

static int check_instance_set(json_object *args, char *err, size_t errlen)
{
	bool strip = json_object_object_get_ex(args, "strip_options", NULL);
	bool keep = json_object_object_get_ex(args, "keep_options", NULL);

	if (!json_object_object_get_ex(args, "weight", NULL) &&
	    !json_object_object_get_ex(args, "state", NULL) && !strip && !keep) {
		snprintf(err, errlen, "nothing to set: give --weight and/or --state");
		return -1;
	}
	if (strip && keep) {
		snprintf(err, errlen, "--strip-options and --keep-options together");
		return -1;
	}
	return 0;
}

/* service health: exactly one of --tcp/--http/--off; becomes {type, port} for the API. */
static int check_service_health(json_object *args, char *err, size_t errlen)
{
	static const char *const kinds[] = { "off", "tcp", "http" };
	json_object *v = NULL;
	int n = 0, kind = -1;

	for (int i = 0; i < 3; i++) {
		if (json_object_object_get_ex(args, kinds[i], NULL)) {
			n++;
			kind = i;
		}
	}
	if (n != 1) {
		snprintf(err, errlen, "give exactly one of --tcp PORT, --http PORT, --off");
		return -1;
	}
	if (kind != 2 && (json_object_object_get_ex(args, "path", NULL) ||
			  json_object_object_get_ex(args, "expect", NULL))) {
		snprintf(err, errlen, "--path and --expect go with --http");
		return -1;
	}
	if (kind > 0) {
		json_object_object_get_ex(args, kinds[kind], &v);
		json_object_object_add(args, "port", json_object_get(v));
	}
	json_object_object_del(args, kinds[kind]);
	json_object_object_add(args, "type", json_object_new_string(kind ? kinds[kind] : "none"));
	return 0;
}

/* TI-flow roles: at most one of the three flags; becomes "roles" for the API. */
static int tiflow_roles(json_object *args, char *err, size_t errlen)
{
	static const char *const flags[] = { "both_roles", "initiate_only", "respond_only" };
	static const char *const roles[] = { "both", "initiator", "responder" };
	int n = 0, which = -1;

	for (int i = 0; i < 3; i++) {
		if (json_object_object_get_ex(args, flags[i], NULL)) {
			n++;
			which = i;
			json_object_object_del(args, flags[i]);
		}
	}
	if (n > 1) {
		snprintf(err, errlen, "give one of --initiate-only, --respond-only, --both-roles");
		return -1;
	}
	if (which >= 0)
		json_object_object_add(args, "roles", json_object_new_string(roles[which]));
	return 0;
}

/* tiflow set: something to set. */
static int check_tiflow_set(json_object *args, char *err, size_t errlen)
{
	if (tiflow_roles(args, err, errlen))
		return -1;
	if (!json_object_object_length(args)) {
		snprintf(err, errlen,
			 "nothing to set: give --instance-id, --kind or a role option");
		return -1;
	}
	return 0;
}

/* direct instance: --instance-id is required and names an instance (not 0). */
static int check_direct_instance(json_object *args, char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_object_get_ex(args, "instance_id", &v)) {
		snprintf(err, errlen, "missing --instance-id N (this host's next-hop id)");
		return -1;
	}
	if (json_object_get_int64(v) == 0) {
		snprintf(err, errlen, "invalid --instance-id '0': expected 1..65535");
		return -1;
	}
	return 0;
}

/* direct map/unmap: ID 0 never names an instance. */
static int check_direct_id(json_object *args, char *err, size_t errlen)
{
	json_object *v;

	if (json_object_object_get_ex(args, "id", &v) && json_object_get_int64(v) == 0) {
		snprintf(err, errlen, "invalid ID '0': expected 1..65535");
		return -1;
	}
	return 0;
}

/* route get: one packet, so a concrete port and one address family. */
static int check_route_get(json_object *args, char *err, size_t errlen)
{
	struct svc_binding_key dst;
	struct svc_addr src;
	json_object *d, *s;
	__u16 port;

	if (!json_object_object_get_ex(args, "dst", &d) ||
	    !json_object_object_get_ex(args, "src", &s) ||
	    svc_binding_parse(json_object_get_string(d), &dst) ||
	    svc_endpoint_parse(json_object_get_string(s), &src, &port))
		return 0; /* reported as missing or invalid already */
	if (!dst.port) {
		snprintf(err, errlen, "VIP:PORT/PROTO: port 0 names no packet (give the port)");
		return -1;
	}
	if (svc_addr_is_v4(&dst.vip) != svc_addr_is_v4(&src)) {
		snprintf(err, errlen, "the service address and SRC are of different families");
		return -1;
	}
	return 0;
}

/* ---- the command table ---- */

const struct svc_ctl_cmd svc_ctl_commands[] = {
	{ "service", "add", "service.add", "SID [--name NAME]", "register a service", a_sid,
	  o_service_add, NULL, NULL, "servicectl service add 2001:db8:5::1 --name web" },
	{ "service", "del", "service.del", "SID", "remove a service and its instances", a_sid, NULL,
	  NULL, NULL, "servicectl service del 2001:db8:5::1" },
	{ "service", "list", "service.list", "", "list services", NULL, NULL, NULL, v_service_list,
	  "servicectl -j service list" },
	{ "service", "show", "service.show", "SID", "a service, its instances and bindings", a_sid,
	  NULL, NULL, v_service_show, "servicectl service show 2001:db8:5::1" },
	{ "service", "health", "service.health",
	  "SID --tcp PORT | --http PORT [--path PATH] [--expect STATUS] | --off [--interval MS] "
	  "[--timeout MS] [--rise N] [--fall N]",
	  "active health checks of a service's instances (at their address)", a_sid,
	  o_service_health, check_service_health, v_service_show,
	  "servicectl service health 2001:db8:5::1 --http 8080 --path /health --interval 500" },
	{ "bind", "add", "bind.add", "VIP:PORT/PROTO SID", "let legacy clients reach a service",
	  a_bind_add, NULL, NULL, NULL, "servicectl bind add 198.19.0.10:80/tcp 2001:db8:5::1" },
	{ "bind", "del", "bind.del", "VIP:PORT/PROTO", "remove a binding", a_binding, NULL, NULL,
	  NULL, "servicectl bind del [2001:db8:19::10]:80/tcp" },
	{ "bind", "list", "bind.list", "", "list bindings", NULL, NULL, NULL, v_bind_list,
	  "servicectl bind list" },
	{ "instance", "add", "instance.add", "SID ADDR [--weight W] [--name NAME] [--lease S]",
	  "add an instance (ADDR: its host, the outer destination)", a_sid_addr, o_instance_add,
	  NULL, NULL, "servicectl instance add 2001:db8:5::1 10.0.1.2 --weight 2" },
	{ "instance", "set", "instance.set", "SID ADDR [--weight W] [--state up|down]",
	  "change an instance's weight or state", a_sid_addr, o_instance_set, check_instance_set,
	  NULL, "servicectl instance set 2001:db8:5::1 10.0.1.2 --state down" },
	{ "instance", "del", "instance.del", "SID ADDR [--dead]", "remove an instance", a_sid_addr,
	  o_instance_del, NULL, NULL, "servicectl instance del 2001:db8:5::1 10.0.1.2" },
	{ "instance", "shed", "instance.shed", "SID ADDR",
	  "no new flows; established TCP connections are reset at their next packet", a_sid_addr,
	  NULL, NULL, v_instance_show, "servicectl instance shed 2001:db8:5::1 10.0.1.2" },
	{ "instance", "drain", "instance.drain", "SID ADDR",
	  "no new flows; established connections continue", a_sid_addr, NULL, NULL, v_instance_show,
	  "servicectl instance drain 2001:db8:5::1 10.0.1.2" },
	{ "instance", "resume", "instance.resume", "SID ADDR",
	  "undo shed/drain: the instance takes new flows again", a_sid_addr, NULL, NULL,
	  v_instance_show, "servicectl instance resume 2001:db8:5::1 10.0.1.2" },
	{ "instance", "list", "instance.list", "[SID]", "list instances (of one service)",
	  a_sid_opt, NULL, NULL, v_instance_list, "servicectl instance list 2001:db8:5::1" },
	{ "instance", "show", "instance.show", "SID ADDR", "one instance and its counters",
	  a_sid_addr, NULL, NULL, v_instance_show,
	  "servicectl instance show 2001:db8:5::1 10.0.1.2" },
	{ "rule", "add", "rule.add",
	  "PREFIX forward HOP[:W]... | PREFIX demux|delay|drop [--replace]",
	  "add (or --replace) a service-table rule", a_rule_add, o_rule_add, check_rule_add, NULL,
	  "servicectl rule add 2001:db8:6::/48 forward 10.0.2.1:3 [2001:db8::9]:1" },
	{ "rule", "del", "rule.del", "PREFIX", "remove a rule", a_prefix, NULL, NULL, NULL,
	  "servicectl rule del 2001:db8:6::/48" },
	{ "rule", "list", "rule.list", "", "list the service table (service rules included)", NULL,
	  NULL, NULL, v_rule_list, "servicectl rule list" },
	{ "prefix", "add", "prefix.add", "PREFIX",
	  "IPv6 destinations in PREFIX are serviceIDs themselves", a_prefix, NULL, NULL, NULL,
	  "servicectl prefix add 2001:db8:5::/48" },
	{ "prefix", "del", "prefix.del", "PREFIX", "remove a serviceID prefix", a_prefix, NULL,
	  NULL, NULL, "servicectl prefix del 2001:db8:5::/48" },
	{ "prefix", "list", "prefix.list", "", "list serviceID prefixes", NULL, NULL, NULL,
	  v_prefix_list, "servicectl prefix list" },
	{ "src", "set", "src.set", "ADDR", "router outer source address (one per family)", a_addr,
	  NULL, NULL, v_src, "servicectl src set 10.0.0.1" },
	{ "src", "show", "src.show", "", "router outer source addresses", NULL, NULL, NULL, v_src,
	  "servicectl src show" },
	{ "decap", "add", "decap.add", "ADDR", "accept encapsulated packets from router ADDR",
	  a_addr, NULL, NULL, NULL, "servicectl decap add 10.0.0.1" },
	{ "decap", "del", "decap.del", "ADDR", "stop accepting packets from ADDR", a_addr, NULL,
	  NULL, NULL, "servicectl decap del 10.0.0.1" },
	{ "decap", "list", "decap.list", "", "list decap sources", NULL, NULL, NULL, v_decap_list,
	  "servicectl decap list" },
	{ "attach", NULL, "attach", "IFACE router|endpoint [--mode native|skb]",
	  "attach the router or endpoint XDP program to IFACE", a_attach, o_attach, NULL, v_attach,
	  "servicectl attach eth0 router --mode native" },
	{ "detach", NULL, "detach", "IFACE", "detach svcplane's program from IFACE", a_iface, NULL,
	  NULL, NULL, "servicectl detach eth0" },
	{ "tiflow", "enable", "tiflow.enable",
	  "CGROUP [--instance-id N] [--kind K] [--initiate-only|--respond-only|--both-roles]",
	  "negotiate TI-flow for TCP sockets of a cgroup v2 directory (and its children)", a_cgroup,
	  o_tiflow, tiflow_roles, v_tiflow,
	  "servicectl tiflow enable /sys/fs/cgroup/web --instance-id 7" },
	{ "tiflow", "disable", "tiflow.disable", "CGROUP",
	  "stop TI-flow for a cgroup: its new connections are plain TCP", a_cgroup, NULL, NULL,
	  v_tiflow, "servicectl tiflow disable /sys/fs/cgroup/web" },
	{ "tiflow", "set", "tiflow.set",
	  "[--instance-id N] [--kind K] [--initiate-only|--respond-only|--both-roles]",
	  "change the host-wide TI-flow settings", NULL, o_tiflow, check_tiflow_set, v_tiflow,
	  "servicectl tiflow set --respond-only" },
	{ "tiflow", "select add", "tiflow.select.add", "ADDR | :PORT | ADDR:PORT | [V6]:PORT",
	  "only sockets to/serving selected addresses/ports take part (none selected: all)",
	  a_select, NULL, NULL, v_tiflow, "servicectl tiflow select add 10.0.1.2:8080" },
	{ "tiflow", "select del", "tiflow.select.del", "ADDR | :PORT | ADDR:PORT | [V6]:PORT",
	  "remove a selection", a_select, NULL, NULL, v_tiflow,
	  "servicectl tiflow select del 10.0.1.2:8080" },
	{ "tiflow", "show", "tiflow.show", "",
	  "TI-flow settings, enabled cgroups, selection and negotiation counters", NULL, NULL, NULL,
	  v_tiflow, "servicectl tiflow show" },
	{ "direct", "client", "direct.client", "IFACE",
	  "client host: send a connection's later packets straight to the instance its SYN-ACK "
	  "named (programs on IFACE, toward the routers)",
	  a_iface, NULL, NULL, v_direct, "servicectl direct client eth0" },
	{ "direct", "instance", "direct.instance", "IFACE --instance-id N",
	  "instance host: stamp the flowID naming this host (N) into SYN-ACKs leaving IFACE",
	  a_iface, o_direct_instance, check_direct_instance, v_direct,
	  "servicectl direct instance eth0 --instance-id 3" },
	{ "direct", "off", "direct.off", "IFACE", "remove the direct-path programs from IFACE",
	  a_iface, NULL, NULL, v_direct, "servicectl direct off eth0" },
	{ "direct", "vip add", "direct.vip.add", "ADDR",
	  "instance host: a service address whose SYN-ACKs get the flowID", a_addr, NULL, NULL,
	  v_direct, "servicectl direct vip add 198.19.0.10" },
	{ "direct", "vip del", "direct.vip.del", "ADDR", "instance host: remove a service address",
	  a_addr, NULL, NULL, v_direct, "servicectl direct vip del 198.19.0.10" },
	{ "direct", "map", "direct.map", "ID ADDR",
	  "client host: instance ID (a router next-hop id) is served by the host at ADDR",
	  a_direct_map, NULL, check_direct_id, v_direct, "servicectl direct map 3 10.0.1.2" },
	{ "direct", "unmap", "direct.unmap", "ID", "client host: forget instance ID's host",
	  a_direct_id, NULL, check_direct_id, v_direct, "servicectl direct unmap 3" },
	{ "direct", "show", "direct.show", "",
	  "direct-path interfaces, instance id, service addresses, instance hosts, counters", NULL,
	  NULL, NULL, v_direct, "servicectl direct show" },
	{ "flows", NULL, "flows.list", "[--count] [--limit N]", "dump or count the flow table",
	  NULL, o_flows, NULL, v_flows, "servicectl flows --count" },
	{ "flows", "clear", "flows.clear", "", "empty the flow table", NULL, NULL, NULL,
	  v_flows_clear, "servicectl flows clear" },
	{ "route", "get", "route.get", "VIP:PORT/PROTO from SRC:SPORT [--syn] [--iif IFACE]",
	  "which instance this router's data plane picks for that packet, and how (runs the "
	  "router program on it, without side effects)",
	  a_route_get, o_route_get, check_route_get, v_route,
	  "servicectl route get 198.19.0.10:80/tcp from 198.18.0.1:40000" },
	{ "dump", NULL, SVC_CTL_LOCAL_OP "dump", "--pcap FILE | --iface IFACE [--count N] [--all]",
	  "decode svcplane TCP options (TI-flow, flowID) from a capture, like the paper's tcpdump",
	  NULL, o_dump, check_dump, NULL, "servicectl dump --pcap syn.pcap" },
	{ "stats", NULL, "stats", "", "per-reason, per-service, per-instance and per-rule counters",
	  NULL, NULL, NULL, v_stats, "servicectl -j stats" },
	{ "status", NULL, "status", "",
	  "agent, attached programs (prog ids), map fill, kernel features", NULL, NULL, NULL,
	  v_status, "servicectl status" },
	{ NULL },
};

