// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svc-bench live: the svcplane side of the live-traffic figure. The namespaces
 * and traffic are scripts/bench.sh's; this attaches and configures svcplane
 * through the library (as svcplaned would), reads its counters, and turns the
 * recorded runs into the figure.
 *
 *   live setup  --pin-dir D --router-ns NS --router-if IF --instance-ns NS --instance-if IF
 *               --vip ADDR --port P --src ADDR --instance ADDR
 *   live detach --pin-dir D --router-ns NS --router-if IF --instance-ns NS --instance-if IF
 *   live xdp-pass --ns NS --if IF [--detach]   (the XDP_PASS baseline on a veth)
 *   live stats  --pin-dir D                    (one JSON line of the non-zero counters)
 *   live summary --in RUNS.jsonl --out FILE    (medians per mode, ratios, checks)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include "addr.h"
#include "log.h"
#include "bench.h"
#include "svc_reason_names.h"
#include "bench_progs.skel.h"

#define LIVE_SID "2001:db8:5e:1::1"
#define LIVE_PREFIX "2001:db8:5e:1::/64"
#define LIVE_MAX_RUNS 256

struct live_opts {
	const char *pin_dir, *router_ns, *router_if, *instance_ns, *instance_if;
	const char *vip, *src, *instance, *ns, *ifname, *in, *out;
	int port;
	bool detach;
};

/* Moves this (single-threaded) process into network namespace @name (/run/netns/NAME). */
static int enter_ns(const char *name)
{
	char path[256];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		err = -errno;
		fprintf(stderr, "svc-bench: enter netns %s: %s\n", name, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return err;
}

static int live_open(const struct live_opts *o, struct svc_dp **dp)
{
	struct svc_dp_config cfg = { .pin_dir = o->pin_dir };
	int err = svc_dp_open(&cfg, dp, NULL);

	if (err)
		fprintf(stderr, "svc-bench: open data plane (pin dir %s): %s\n", o->pin_dir,
			strerror(-err));
	return err;
}

static int live_configure(struct svc_dp *dp, const struct live_opts *o)
{
	struct svc_binding_key bk = { .port = htons(o->port), .proto = IPPROTO_TCP };
	struct svc_rule rule = { .action = SVC_ACT_FORWARD, .set_id = 1, .rule_id = 1 };
	struct svc_ch_member m = { .nh_id = 1, .weight = 1 };
	struct svc_nexthop nh = { .flags = SVC_NH_F_UP };
	struct svc_binding b = {};
	struct svc_addr src;
	struct svc_lpm_key k;
	int err;

	if (svc_addr_parse(o->vip, &bk.vip) || svc_addr_parse(o->src, &src) ||
	    svc_addr_parse(o->instance, &nh.addr) || svc_sid_parse(LIVE_SID, &b.sid) ||
	    svc_prefix_parse(LIVE_PREFIX, &k) || !svc_addr_is_v4(&src) ||
	    !svc_addr_is_v4(&nh.addr)) {
		fprintf(stderr,
			"svc-bench: live setup: bad address (IPv4 --vip/--src/--instance)\n");
		return -EINVAL;
	}
	err = svc_dp_set_router_src(dp, &src, NULL);
	m.addr = nh.addr;
	err = err ?: svc_dp_nexthop_update(dp, 1, &nh);
	err = err ?: svc_dp_nhset_update(dp, 1, &m, 1);
	err = err ?: svc_dp_rule_update(dp, &k, &rule);
	err = err ?: svc_dp_binding_update(dp, &bk, &b);
	err = err ?: svc_dp_decap_source_update(dp, &src);
	if (err)
		fprintf(stderr, "svc-bench: live setup: configure: %s\n", strerror(-err));
	return err;
}

static int live_setup(const struct live_opts *o)
{
	struct svc_dp *dp = NULL;
	int err;

	err = live_open(o, &dp);
	err = err ?: live_configure(dp, o);
	/* attach: the router on the client-facing veth, the endpoint on the instance's veth */
	err = err ?: enter_ns(o->router_ns);
	err = err ?: svc_dp_attach(dp, SVC_PROG_ROUTER, o->router_if, SVC_XDP_NATIVE);
	err = err ?: enter_ns(o->instance_ns);
	err = err ?: svc_dp_attach(dp, SVC_PROG_ENDPOINT, o->instance_if, SVC_XDP_NATIVE);
	if (err)
		fprintf(stderr, "svc-bench: live setup failed: %s\n", strerror(-err));
	svc_dp_close(dp);
	return err;
}

static int live_detach(const struct live_opts *o)
{
	struct svc_dp *dp = NULL;
	int err, err2;

	err = live_open(o, &dp);
	if (err)
		return err;
	err = enter_ns(o->router_ns);
	err = err ?: svc_dp_detach(dp, o->router_if);
	err2 = enter_ns(o->instance_ns);
	err2 = err2 ?: svc_dp_detach(dp, o->instance_if);
	svc_dp_close(dp);
	return err ?: err2;
}

/* The XDP_PASS baseline: same veth XDP mode, no work. The kernel keeps the program attached. */
static int live_xdp_pass(const struct live_opts *o)
{
	struct bench_progs_bpf *bp = NULL;
	int ifindex, err;

	err = enter_ns(o->ns);
	if (err)
		return err;
	ifindex = if_nametoindex(o->ifname);
	if (!ifindex) {
		fprintf(stderr, "svc-bench: interface %s: %s\n", o->ifname, strerror(errno));
		return -ENODEV;
	}
	if (o->detach) {
		err = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
		if (err)
			fprintf(stderr, "svc-bench: detach XDP from %s: %s\n", o->ifname,
				strerror(-err));
		return err;
	}
	bp = bench_progs_bpf__open_and_load();
	if (!bp) {
		err = -errno;
		fprintf(stderr, "svc-bench: load bench_progs BPF object: %s\n", strerror(-err));
		return err;
	}
	err = bpf_xdp_attach(ifindex, bpf_program__fd(bp->progs.bench_pass), XDP_FLAGS_DRV_MODE,
			     NULL);
	if (err)
		fprintf(stderr, "svc-bench: attach XDP_PASS to %s (native): %s\n", o->ifname,
			strerror(-err));
	bench_progs_bpf__destroy(bp);
	return err;
}

static void add_counters(json_object *o, struct svc_dp *dp, enum svc_prog prog)
{
	struct svc_counter c[SVC_REASON_MAX];
	int i;

	if (svc_dp_stats_read(dp, prog, c))
		return;
	for (i = 0; i < SVC_REASON_MAX; i++)
		if (c[i].packets)
			json_object_object_add(o, svc_reason_label[i],
					       json_object_new_int64(c[i].packets));
}

static int live_stats(const struct live_opts *o)
{
	json_object *out = json_object_new_object(), *r = json_object_new_object();
	json_object *e = json_object_new_object();
	struct svc_dp *dp = NULL;
	int err = live_open(o, &dp);

	if (!err) {
		add_counters(r, dp, SVC_PROG_ROUTER);
		add_counters(e, dp, SVC_PROG_ENDPOINT);
	}
	json_object_object_add(out, "router", r);
	json_object_object_add(out, "endpoint", e);
	printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);
	svc_dp_close(dp);
	return err;
}

/* ---- summary ---- */

static double jnum(json_object *o, const char *path1, const char *path2)
{
	json_object *v = o;

	if (path1 && !json_object_object_get_ex(v, path1, &v))
		return 0;
	if (path2 && !json_object_object_get_ex(v, path2, &v))
		return 0;
	return json_object_get_double(v);
}

/* Counter delta of one run: after - before. */
static double delta(json_object *run, const char *prog, const char *label)
{
	json_object *b = NULL, *a = NULL;

	json_object_object_get_ex(run, "stats_before", &b);
	json_object_object_get_ex(run, "stats_after", &a);
	return jnum(a, prog, label) - jnum(b, prog, label);
}

struct mode_fig {
	const char *mode, *label;
	double crr[LIVE_MAX_RUNS], gbit[LIVE_MAX_RUNS];
	int ncrr, ngbit, errors, unverified;
	double conns, fwd, decap;
};

/* Packets the router forwarded in one run, whatever the path (new, flow hit, hash). */
static double fwd_total(json_object *run)
{
	return delta(run, "router", "fwd_new") + delta(run, "router", "fwd_flow_hit") +
	       delta(run, "router", "fwd_ch_miss");
}

/*
 * One recorded run. For svcplane it must show that the traffic went through
 * it: every connection needs at least its SYN, request and FIN forwarded (a
 * reused client port's SYN may hit the flow left by an earlier connection, so
 * all forwarding counters count), bulk at least one packet per 64 KiB
 * received, and the endpoint must have decapsulated what the router sent.
 */
static void summary_collect(json_object *run, struct mode_fig *f)
{
	bool svc = !strcmp(f->mode, "svcplane");
	double fwd = fwd_total(run), decap = delta(run, "endpoint", "decap");
	json_object *t;
	const char *test;

	if (!json_object_object_get_ex(run, "result", &t) ||
	    !json_object_is_type(t, json_type_object)) {
		f->errors++;
		return;
	}
	test = json_object_get_string(json_object_object_get(run, "test"));
	if (!strcmp(test, "crr") && f->ncrr < LIVE_MAX_RUNS) {
		f->crr[f->ncrr++] = jnum(t, "per_s", NULL);
		f->conns += jnum(t, "connections", NULL);
		f->errors += jnum(t, "errors", NULL) > 0;
		if (svc && fwd < 3 * jnum(t, "connections", NULL))
			f->unverified++;
	} else if (!strcmp(test, "bulk") && f->ngbit < LIVE_MAX_RUNS) {
		f->gbit[f->ngbit++] = jnum(t, "gbit_per_s", NULL);
		if (svc && fwd * 65536 < jnum(t, "bytes_received", NULL))
			f->unverified++;
	}
	if (svc && decap < 0.99 * fwd)
		f->unverified++;
	f->fwd += fwd;
	f->decap += decap;
}

static int live_summary(const struct live_opts *o)
{
	struct mode_fig figs[] = {
		{ .mode = "kernel", .label = "plain kernel forwarding" },
		{ .mode = "xdp_pass", .label = "kernel fwd + XDP_PASS on the veths" },
		{ .mode = "svcplane", .label = "svcplane router + endpoint (XDP)" },
	};
	json_object *out = json_object_new_object(), *modes = json_object_new_array();
	json_object *lines = json_object_new_array();
	double crr0 = 0, gbit0 = 0;
	char line[256], buf[4096];
	FILE *f = fopen(o->in, "r");
	size_t i;
	int err;

	if (!f) {
		fprintf(stderr, "svc-bench: live summary: %s: %s\n", o->in, strerror(errno));
		return -errno;
	}
	while (fgets(buf, sizeof(buf), f)) {
		json_object *run = json_tokener_parse(buf);
		const char *mode;

		if (!run)
			continue;
		mode = json_object_get_string(json_object_object_get(run, "mode"));
		for (i = 0; mode && i < sizeof(figs) / sizeof(figs[0]); i++)
			if (!strcmp(mode, figs[i].mode))
				summary_collect(run, &figs[i]);
		json_object_put(run);
	}
	fclose(f);
	printf("  %-38s %12s %10s  %s\n", "mode", "conn/s", "Gbit/s", "check");
	for (i = 0; i < sizeof(figs) / sizeof(figs[0]); i++) {
		struct mode_fig *m = &figs[i];
		json_object *jm = json_object_new_object();
		double crr = bench_median(m->crr, m->ncrr), gbit = bench_median(m->gbit, m->ngbit);
		bool svc = !strcmp(m->mode, "svcplane");
		bool ok = !m->errors && !m->unverified && m->ncrr && m->ngbit;
		char check[160];

		if (i == 0) {
			crr0 = crr;
			gbit0 = gbit;
		}
		if (svc)
			snprintf(check, sizeof(check),
				 "%s: router forwarded %.0f packets, endpoint "
				 "decapsulated %.0f",
				 ok ? "ok" : "NOT VERIFIED", m->fwd, m->decap);
		else
			snprintf(check, sizeof(check), "%s", ok ? "ok" : "NOT VERIFIED (errors)");
		printf("  %-38s %12.0f %10.2f  %s\n", m->label, crr, gbit, check);
		snprintf(line, sizeof(line), "live %-32s %9.0f conn/s (x%.2f) %7.2f Gbit/s (x%.2f)",
			 m->label, crr, crr / crr0, gbit, gbit / gbit0);
		json_object_array_add(lines, json_object_new_string(line));
		json_object_object_add(jm, "mode", json_object_new_string(m->mode));
		json_object_object_add(jm, "label", json_object_new_string(m->label));
		json_object_object_add(jm, "connections_per_s", bench_json_double(crr, 1));
		json_object_object_add(jm, "bulk_gbit_per_s", bench_json_double(gbit, 3));
		json_object_object_add(jm, "ratio_conn_to_kernel",
				       bench_json_double(crr / crr0, 3));
		json_object_object_add(jm, "ratio_bulk_to_kernel",
				       bench_json_double(gbit / gbit0, 3));
		json_object_object_add(jm, "runs_crr", json_object_new_int(m->ncrr));
		json_object_object_add(jm, "runs_bulk", json_object_new_int(m->ngbit));
		json_object_object_add(jm, "verified", json_object_new_boolean(ok));
		json_object_object_add(jm, "connections", json_object_new_int64(m->conns));
		if (svc) {
			json_object_object_add(jm, "router_forwarded",
					       json_object_new_int64(m->fwd));
			json_object_object_add(jm, "endpoint_decap",
					       json_object_new_int64(m->decap));
		}
		json_object_array_add(modes, jm);
	}
	json_object_object_add(out, "modes", modes);
	json_object_object_add(out, "summary", lines);
	{
		json_object *wrap = json_object_new_object();

		json_object_object_add(wrap, "live", out);
		err = bench_write_json(o->out, wrap);
		json_object_put(wrap);
	}
	return err;
}

int cmd_live(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "router-ns", required_argument, NULL, 'R' },
		{ "router-if", required_argument, NULL, 'r' },
		{ "instance-ns", required_argument, NULL, 'I' },
		{ "instance-if", required_argument, NULL, 'i' },
		{ "vip", required_argument, NULL, 'v' },
		{ "port", required_argument, NULL, 'P' },
		{ "src", required_argument, NULL, 's' },
		{ "instance", required_argument, NULL, 'a' },
		{ "ns", required_argument, NULL, 'n' },
		{ "if", required_argument, NULL, 'f' },
		{ "in", required_argument, NULL, 'x' },
		{ "out", required_argument, NULL, 'o' },
		{ "detach", no_argument, NULL, 'd' },
		{},
	};
	struct live_opts o = { .port = 80 };
	const char *cmd;
	int c, err;

	/* libxdp's try of its dispatcher (refused on this kernel) logs warnings: errors only */
	svc_log_init("svc-bench", SVC_LOG_ERROR);
	if (argc < 2)
		goto usage;
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.pin_dir = optarg;
			break;
		case 'R':
			o.router_ns = optarg;
			break;
		case 'r':
			o.router_if = optarg;
			break;
		case 'I':
			o.instance_ns = optarg;
			break;
		case 'i':
			o.instance_if = optarg;
			break;
		case 'v':
			o.vip = optarg;
			break;
		case 'P':
			o.port = atoi(optarg);
			break;
		case 's':
			o.src = optarg;
			break;
		case 'a':
			o.instance = optarg;
			break;
		case 'n':
			o.ns = optarg;
			break;
		case 'f':
			o.ifname = optarg;
			break;
		case 'x':
			o.in = optarg;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'd':
			o.detach = true;
			break;
		default:
			goto usage;
		}
	}
	if (!strcmp(cmd, "setup") && o.pin_dir && o.router_ns && o.router_if && o.instance_ns &&
	    o.instance_if && o.vip && o.src && o.instance && o.port > 0 && o.port < 65536)
		err = live_setup(&o);
	else if (!strcmp(cmd, "detach") && o.pin_dir && o.router_ns && o.router_if &&
		 o.instance_ns && o.instance_if)
		err = live_detach(&o);
	else if (!strcmp(cmd, "xdp-pass") && o.ns && o.ifname)
		err = live_xdp_pass(&o);
	else if (!strcmp(cmd, "stats") && o.pin_dir)
		err = live_stats(&o);
	else if (!strcmp(cmd, "summary") && o.in && o.out)
		err = live_summary(&o);
	else
		goto usage;
	return err ? 1 : 0;
usage:
	fprintf(stderr, "usage: svc-bench live setup|detach|xdp-pass|stats|summary OPTIONS "
			"(see bench/live.c)\n");
	return 2;
}
