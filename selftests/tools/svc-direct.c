// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svc-direct: drives the direct-path programs through libsvc (agent/lib/direct.h) for tests. */
/*
 * One command per run, against the direct maps pinned in --pin-dir (the
 * data plane's pin directory). Results that tests assert on are JSON on
 * stdout. Exit: 0 done, 1 the operation failed, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <json-c/json.h>
#include "addr.h"
#include "direct.h"
#include "log.h"

static const char *const reason_labels[SVC_DIRECT_REASON_MAX] = {
#define SVC_DIRECT_REASON_LABEL(name, label, desc) label,
	SVC_DIRECT_REASONS(SVC_DIRECT_REASON_LABEL)
#undef SVC_DIRECT_REASON_LABEL
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: svc-direct [-v] --pin-dir DIR COMMAND [ARGS]\n"
		"  attach IFACE          attach the direct tc programs (clsact ingress + egress)\n"
		"  detach IFACE          remove them\n"
		"  status IFACE          JSON: attached, program ids\n"
		"  instance-id ID        instance host: id stamped into SYN-ACKs (0: none)\n"
		"  local add|del ADDR    instance host: a service address (VIP) of this host\n"
		"  instance add ID ADDR  client host: instance ID is served by the host at ADDR\n"
		"  instance del ID\n"
		"  src [ADDR...]         client host: outer source addresses (none: inner source)\n"
		"  no-opt on|off         client host: encapsulate without inserting the flowID\n"
		"  stats                 JSON: counters by reason\n"
		"  flows                 JSON: learnt connections\n"
		"  unpin                 remove the direct maps' pins\n");
}

static int parse_addr(const char *s, struct svc_addr *a)
{
	if (svc_addr_parse(s, a)) {
		fprintf(stderr, "svc-direct: %s: not an IPv4 or IPv6 address\n", s);
		return -EINVAL;
	}
	return 0;
}

static int parse_id(const char *s, bool zero_ok, __u16 *id)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > 65535 || (!v && !zero_ok)) {
		fprintf(stderr, "svc-direct: instance id %s: want %s..65535\n", s,
			zero_ok ? "0" : "1");
		return -EINVAL;
	}
	*id = (__u16)v;
	return 0;
}

static void print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static int cmd_stats(struct svc_direct *d)
{
	struct svc_counter c[SVC_DIRECT_REASON_MAX];
	struct json_object *o, *pk, *by;
	int i, err;

	err = svc_direct_stats_read(d, c);
	if (err)
		return err;
	o = json_object_new_object();
	pk = json_object_new_object();
	by = json_object_new_object();
	for (i = 0; i < SVC_DIRECT_REASON_MAX; i++) {
		json_object_object_add(pk, reason_labels[i], json_object_new_int64(c[i].packets));
		json_object_object_add(by, reason_labels[i], json_object_new_int64(c[i].bytes));
	}
	json_object_object_add(o, "packets", pk);
	json_object_object_add(o, "bytes", by);
	print_json(o);
	return 0;
}

static int add_flow(const struct svc_flow_key *k, const struct svc_direct_flow *v, void *arg)
{
	struct json_object *f = json_object_new_object();
	char buf[SVC_ADDR_STRLEN];

	json_object_object_add(f, "src",
			       json_object_new_string(svc_addr_format(&k->src, buf, sizeof(buf))));
	json_object_object_add(f, "dst",
			       json_object_new_string(svc_addr_format(&k->dst, buf, sizeof(buf))));
	json_object_object_add(f, "sport", json_object_new_int(ntohs(k->sport)));
	json_object_object_add(f, "dport", json_object_new_int(ntohs(k->dport)));
	json_object_object_add(f, "flowid", json_object_new_int64(v->flowid));
	json_object_object_add(f, "instance", json_object_new_int(v->instance));
	json_object_object_add(
		f, "source",
		json_object_new_string(v->source == SVC_DIRECT_SRC_TIFLOW ? "tiflow" : "flowid"));
	json_object_array_add(arg, f);
	return 0;
}

static int cmd_flows(struct svc_direct *d)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	int err;

	json_object_object_add(o, "flows", a);
	err = svc_direct_flows_foreach(d, add_flow, a);
	if (err) {
		json_object_put(o);
		return err;
	}
	print_json(o);
	return 0;
}

static int cmd_status(const char *ifname)
{
	__u32 in = 0, eg = 0;
	struct json_object *o;
	int r = svc_direct_attached(ifname, &in, &eg);

	if (r < 0)
		return r;
	o = json_object_new_object();
	json_object_object_add(o, "attached", json_object_new_boolean(r == 1));
	json_object_object_add(o, "ingress_id", json_object_new_int64(r == 1 ? in : 0));
	json_object_object_add(o, "egress_id", json_object_new_int64(r == 1 ? eg : 0));
	print_json(o);
	return 0;
}

static int cmd_src(struct svc_direct *d, int argc, char **argv)
{
	struct svc_addr a, s4, s6;
	bool h4 = false, h6 = false;
	int i;

	for (i = 0; i < argc; i++) {
		if (parse_addr(argv[i], &a))
			return -EINVAL;
		if (svc_addr_is_v4(&a)) {
			s4 = a;
			h4 = true;
		} else {
			s6 = a;
			h6 = true;
		}
	}
	return svc_direct_set_src(d, h4 ? &s4 : NULL, h6 ? &s6 : NULL);
}

/* run - one command on the open direct object; -EINVAL with a message on bad arguments. */
static int run(struct svc_direct *d, int argc, char **argv)
{
	const char *cmd = argv[0];
	struct svc_addr a;
	__u16 id;

	if (!strcmp(cmd, "attach") && argc == 2)
		return svc_direct_attach(d, argv[1]);
	if (!strcmp(cmd, "instance-id") && argc == 2)
		return parse_id(argv[1], true, &id) ?: svc_direct_set_instance_id(d, id);
	if (!strcmp(cmd, "local") && argc == 3 && !strcmp(argv[1], "add"))
		return parse_addr(argv[2], &a) ?: svc_direct_local_update(d, &a);
	if (!strcmp(cmd, "local") && argc == 3 && !strcmp(argv[1], "del"))
		return parse_addr(argv[2], &a) ?: svc_direct_local_delete(d, &a);
	if (!strcmp(cmd, "instance") && argc == 4 && !strcmp(argv[1], "add"))
		return parse_id(argv[2], false, &id) ?: parse_addr(argv[3], &a)
								  ?: svc_direct_instance_update(d, id, &a);
	if (!strcmp(cmd, "instance") && argc == 3 && !strcmp(argv[1], "del"))
		return parse_id(argv[2], false, &id) ?: svc_direct_instance_delete(d, id);
	if (!strcmp(cmd, "src"))
		return cmd_src(d, argc - 1, argv + 1);
	if (!strcmp(cmd, "no-opt") && argc == 2 &&
	    (!strcmp(argv[1], "on") || !strcmp(argv[1], "off")))
		return svc_direct_set_no_opt(d, !strcmp(argv[1], "on"));
	if (!strcmp(cmd, "stats") && argc == 1)
		return cmd_stats(d);
	if (!strcmp(cmd, "flows") && argc == 1)
		return cmd_flows(d);
	fprintf(stderr, "svc-direct: %s: unknown command or wrong arguments\n", cmd);
	usage(stderr);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct svc_direct_config cfg = { 0 };
	struct svc_direct *d = NULL;
	bool verbose = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "+p:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			cfg.pin_dir = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	svc_log_init("svc-direct", verbose ? SVC_LOG_DEBUG : SVC_LOG_WARN);
	if (optind >= argc || !cfg.pin_dir) {
		fprintf(stderr, "svc-direct: %s is required\n",
			cfg.pin_dir ? "a command" : "--pin-dir");
		usage(stderr);
		return 2;
	}
	argc -= optind;
	argv += optind;
	/* these need no loaded object */
	if (!strcmp(argv[0], "detach") && argc == 2)
		return svc_direct_detach(argv[1]) ? 1 : 0;
	if (!strcmp(argv[0], "status") && argc == 2)
		return cmd_status(argv[1]) ? 1 : 0;
	if (!strcmp(argv[0], "unpin") && argc == 1)
		return svc_direct_unpin(cfg.pin_dir) ? 1 : 0;
	err = svc_direct_open(&cfg, &d);
	if (err)
		return 1;
	err = run(d, argc, argv);
	svc_direct_close(d);
	if (err == -EINVAL)
		return 2;
	return err ? 1 : 0;
}
