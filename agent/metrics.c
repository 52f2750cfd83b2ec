// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned: Prometheus metrics over HTTP (GET /metrics, text format 0.0.4).
 * libmicrohttpd runs in its external-epoll mode: the main loop polls MHD's
 * epoll fd and calls MHD_run, so the handler runs in the agent's only thread
 * and reads the registry without locks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <microhttpd.h>
#include <sys/socket.h>
#include "addr.h"
#include "agent.h"
#include "log.h"
#include "svc_reason_names.h"

/* Writes a label value with the escapes the text format requires. */
static void label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void reasons(FILE *f, struct agent *a, bool bytes)
{
	for (int p = 0; p < SVC_PROG_MAX; p++) {
		struct svc_counter c[SVC_REASON_MAX];

		if (svc_dp_stats_read(a->dp, p, c))
			continue;
		for (int r = 0; r < SVC_REASON_MAX; r++)
			fprintf(f, "svcplane_%s_total{program=\"%s\",reason=\"%s\"} %llu\n",
				bytes ? "bytes" : "packets", svc_prog_names[p], svc_reason_label[r],
				(unsigned long long)(bytes ? c[r].bytes : c[r].packets));
	}
}

static void services(FILE *f, struct agent *a, bool bytes)
{
	char b[SVC_ADDR_STRLEN];

	for (size_t i = 0; i < a->reg.n_services; i++) {
		const struct svc_reg_service *s = &a->reg.services[i];
		struct svc_counter c = { 0 };

		if (svc_dp_rule_stats_read(a->dp, s->rule_id, &c))
			continue;
		fprintf(f, "svcplane_service_%s_total{service=\"%s\",name=\"",
			bytes ? "bytes" : "packets", svc_sid_format(&s->sid, b, sizeof(b)));
		label(f, s->name);
		fprintf(f, "\"} %llu\n", (unsigned long long)(bytes ? c.bytes : c.packets));
	}
}

static void instances(FILE *f, struct agent *a, bool bytes)
{
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];

	for (size_t i = 0; i < a->reg.n_instances; i++) {
		const struct svc_reg_instance *in = &a->reg.instances[i];
		__u32 id = svc_reg_nh_id(&a->reg, &in->addr);
		struct svc_counter c = { 0 };

		if (!id || svc_dp_nh_stats_read(a->dp, id, &c))
			continue;
		fprintf(f, "svcplane_instance_%s_total{service=\"%s\",instance=\"%s\"} %llu\n",
			bytes ? "bytes" : "packets", svc_sid_format(&in->sid, b, sizeof(b)),
			svc_addr_format(&in->addr, b2, sizeof(b2)),
			(unsigned long long)(bytes ? c.bytes : c.packets));
	}
}

static void rules(FILE *f, struct agent *a)
{
	char b[SVC_ADDR_STRLEN];

	for (size_t i = 0; i < a->reg.n_rules; i++) {
		const struct svc_reg_rule *ru = &a->reg.rules[i];
		struct svc_counter c = { 0 };

		if (svc_dp_rule_stats_read(a->dp, ru->rule_id, &c))
			continue;
		fprintf(f, "svcplane_rule_packets_total{prefix=\"%s\",action=\"%s\"} %llu\n",
			svc_prefix_format(&ru->prefix, b, sizeof(b)), svc_action_names[ru->action],
			(unsigned long long)c.packets);
	}
}

/* Flows per service (its own rule) and per instance address, from one walk. */
static void flows(FILE *f, struct agent *a, long long *total)
{
	static __u32 per_rule[SVC_MAX_RULE_IDS], per_nh[SVC_MAX_NEXTHOPS];
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	size_t n = 0;

	*total = -1;
	if (agent_flow_tally(a, &n, per_rule, per_nh))
		return;
	*total = (long long)n;
	head(f, "svcplane_service_flows", "gauge",
	     "Flow table entries resolved by a service's rule.");
	for (size_t i = 0; i < a->reg.n_services; i++) {
		const struct svc_reg_service *s = &a->reg.services[i];

		fprintf(f, "svcplane_service_flows{service=\"%s\",name=\"",
			svc_sid_format(&s->sid, b, sizeof(b)));
		label(f, s->name);
		fprintf(f, "\"} %u\n", per_rule[s->rule_id]);
	}
	head(f, "svcplane_instance_flows", "gauge",
	     "Flow table entries pointing at an instance's address.");
	for (size_t i = 0; i < a->reg.n_instances; i++) {
		const struct svc_reg_instance *in = &a->reg.instances[i];
		__u32 id = svc_reg_nh_id(&a->reg, &in->addr);

		fprintf(f, "svcplane_instance_flows{service=\"%s\",instance=\"%s\"} %u\n",
			svc_sid_format(&in->sid, b, sizeof(b)),
			svc_addr_format(&in->addr, b2, sizeof(b2)), id ? per_nh[id] : 0);
	}
}

static void maps(FILE *f, struct agent *a, long long nflows)
{
	json_object *fill = agent_map_fill(a, nflows);
	size_t n = fill ? json_object_array_length(fill) : 0;

	head(f, "svcplane_map_entries", "gauge", "Entries in each BPF map.");
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(fill, i);

		fprintf(f, "svcplane_map_entries{map=\"%s\"} %lld\n",
			json_object_get_string(json_object_object_get(m, "map")),
			(long long)json_object_get_int64(json_object_object_get(m, "entries")));
	}
	head(f, "svcplane_map_max_entries", "gauge", "Capacity of each BPF map.");
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(fill, i);

		fprintf(f, "svcplane_map_max_entries{map=\"%s\"} %lld\n",
			json_object_get_string(json_object_object_get(m, "map")),
			(long long)json_object_get_int64(json_object_object_get(m, "max_entries")));
	}
	head(f, "svcplane_flows", "gauge", "Entries in the router's flow table.");
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(fill, i);

		if (!strcmp(json_object_get_string(json_object_object_get(m, "map")), "flows"))
			fprintf(f, "svcplane_flows %lld\n",
				(long long)json_object_get_int64(
					json_object_object_get(m, "entries")));
	}
	json_object_put(fill);
}

/* The flood guard: its rate and on how many CPUs it skipped an insert within the last second. */
static void flood(FILE *f, struct agent *a)
{
	unsigned int engaged;
	__u32 rate;

	if (svc_dp_flood_read(a->dp, &rate, &engaged))
		return;
	head(f, "svcplane_flood_insert_rate", "gauge",
	     "Flood guard: flow inserts of new TCP connections per CPU per second (0: off).");
	fprintf(f, "svcplane_flood_insert_rate %u\n", rate);
	head(f, "svcplane_flood_guard_engaged_cpus", "gauge",
	     "Flood guard: CPUs on which it skipped a flow insert within the last second.");
	fprintf(f, "svcplane_flood_guard_engaged_cpus %u\n", engaged);
}

static void reconcile(FILE *f, struct agent *a)
{
	uint64_t cum = 0;

	head(f, "svcplane_reconcile_total", "counter",
	     "Reconciles of desired state into the maps.");
	fprintf(f, "svcplane_reconcile_total %llu\n", (unsigned long long)a->reconciles);
	head(f, "svcplane_reconcile_errors_total", "counter", "Reconciles that failed.");
	fprintf(f, "svcplane_reconcile_errors_total %llu\n",
		(unsigned long long)a->reconcile_errors);
	head(f, "svcplane_reconcile_seconds", "histogram", "Duration of reconciles.");
	for (int b = 0; b < SVC_RECONCILE_BUCKETS; b++) {
		cum += a->reconcile_bucket[b];
		fprintf(f, "svcplane_reconcile_seconds_bucket{le=\"%g\"} %llu\n",
			svc_reconcile_bounds[b], (unsigned long long)cum);
	}
	cum += a->reconcile_bucket[SVC_RECONCILE_BUCKETS];
	fprintf(f, "svcplane_reconcile_seconds_bucket{le=\"+Inf\"} %llu\n",
		(unsigned long long)cum);
	fprintf(f, "svcplane_reconcile_seconds_sum %.9f\n", a->reconcile_sum);
	fprintf(f, "svcplane_reconcile_seconds_count %llu\n", (unsigned long long)a->reconciles);
}

char *agent_metrics_render(struct agent *a, size_t *len)
{
	char *buf = NULL;
	size_t up = 0;
	long long nflows;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	head(f, "svcplane_packets_total", "counter",
	     "Packets by program and verdict or drop reason (docs/datapath.md).");
	reasons(f, a, false);
	head(f, "svcplane_bytes_total", "counter", "Bytes by program and verdict or drop reason.");
	reasons(f, a, true);
	head(f, "svcplane_service_packets_total", "counter",
	     "Packets resolved by a service's own rule.");
	services(f, a, false);
	head(f, "svcplane_service_bytes_total", "counter",
	     "Bytes resolved by a service's own rule.");
	services(f, a, true);
	head(f, "svcplane_instance_packets_total", "counter",
	     "Packets forwarded to an instance's address (shared by services using that address).");
	instances(f, a, false);
	head(f, "svcplane_instance_bytes_total", "counter",
	     "Bytes forwarded to an instance's address.");
	instances(f, a, true);
	head(f, "svcplane_rule_packets_total", "counter", "Packets resolved by an explicit rule.");
	rules(f, a);
	flows(f, a, &nflows);
	maps(f, a, nflows);
	flood(f, a);
	head(f, "svcplane_services", "gauge", "Registered services.");
	fprintf(f, "svcplane_services %zu\n", a->reg.n_services);
	for (size_t i = 0; i < a->reg.n_instances; i++)
		up += a->reg.instances[i].up;
	head(f, "svcplane_instances", "gauge", "Registered instances by state.");
	fprintf(f, "svcplane_instances{state=\"up\"} %zu\nsvcplane_instances{state=\"down\"} %zu\n",
		up, a->reg.n_instances - up);
	reconcile(f, a);
	head(f, "svcplane_api_requests_total", "counter", "Control API requests by result.");
	for (int c = 0; c < SVC_API_CODE_MAX; c++)
		fprintf(f, "svcplane_api_requests_total{result=\"%s\"} %llu\n",
			svc_api_code_name(c), (unsigned long long)a->api_requests[c]);
	head(f, "svcplane_delay_events_total", "counter",
	     "DELAY slow path: held packets by outcome (received counts each once more).");
	{
		json_object *d = agent_delay_json(a);

		json_object_object_foreach(d, k, v)
		{
			if (json_object_is_type(v, json_type_int))
				fprintf(f, "svcplane_delay_events_total{result=\"%s\"} %lld\n", k,
					(long long)json_object_get_int64(v));
		}
		json_object_put(d);
	}
	head(f, "svcplane_delay_reinject_path", "gauge",
	     "DELAY re-injection path in use: 1 for it, 0 for the other (--delay-reinject).");
	for (int p = AGENT_DELAY_LIVE; p <= AGENT_DELAY_COPY; p++)
		fprintf(f, "svcplane_delay_reinject_path{path=\"%s\"} %d\n",
			agent_delay_path_name((enum agent_delay_path)p),
			agent_delay_path(a) == (enum agent_delay_path)p);
	svc_features_metrics(f, &a->features);
	head(f, "svcplane_agent_adopted", "gauge",
	     "1 if the agent adopted pinned maps at start (restart without data-plane loss).");
	fprintf(f, "svcplane_agent_adopted %d\n", a->adopted);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, char *body,
			     size_t len, const char *type)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct agent *a = cls;
	size_t len = 0;
	char *body;

	(void)version;
	(void)upload;
	(void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, strdup("GET only\n"), 9,
			     "text/plain");
	if (*upload_size)
		return MHD_NO;
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, strdup("see /metrics\n"), 13, "text/plain");
	body = agent_metrics_render(a, &len);
	if (!body)
		return MHD_NO;
	return reply(conn, MHD_HTTP_OK, body, len, "text/plain; version=0.0.4; charset=utf-8");
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	pr_warn("metrics: %s", msg);
}

int agent_metrics_start(struct agent *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->cfg.metrics_sa;
	int fd, one = 1, err;

	if (!a->cfg.metrics_on)
		return 0;
	/* Our own listening socket: bind errors are reported with the address. */
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		pr_err("metrics %s: socket: %s", a->cfg.metrics, strerror(errno));
		return err;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, a->cfg.metrics_salen) || listen(fd, 16)) {
		err = -errno;
		pr_err("metrics %s: bind: %s%s", a->cfg.metrics, strerror(errno),
		       errno == EADDRINUSE ? " (another agent? set --metrics ADDR:PORT or off)"
					   : "");
		close(fd);
		return err;
	}
	a->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
					  (sa->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				  0, NULL, NULL, handler, a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
				  NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
				  16U, MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
	if (!a->mhd) {
		pr_err("metrics %s: libmicrohttpd failed to start", a->cfg.metrics);
		close(fd);
		return -EIO;
	}
	pr_info("metrics on http://%s/metrics", a->cfg.metrics);
	return 0;
}

void agent_metrics_stop(struct agent *a)
{
	if (a->mhd)
		MHD_stop_daemon(a->mhd);
	a->mhd = NULL;
}

int agent_metrics_fd(struct agent *a, int *timeout_ms)
{
	const union MHD_DaemonInfo *info;
	MHD_UNSIGNED_LONG_LONG to;

	if (!a->mhd)
		return -1;
	if (MHD_get_timeout(a->mhd, &to) == MHD_YES && (long long)to < *timeout_ms)
		*timeout_ms = (int)to;
	info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	return info ? info->epoll_fd : -1;
}

void agent_metrics_run(struct agent *a)
{
	if (a->mhd)
		MHD_run(a->mhd);
}
