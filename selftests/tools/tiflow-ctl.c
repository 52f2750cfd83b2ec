// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* tiflow-ctl: load/attach/configure the TI-flow sockops program for tests (libsvc tiflow). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <json-c/json.h>
#include "tiflow.h"
#include "log.h"

#define MAX_SELECT 16

static void usage(FILE *f)
{
	fprintf(f, "usage: tiflow-ctl load --pin-dir DIR --cgroup DIR [--instance N] [--kind K]\n"
		   "                          [--select ADDR | :PORT | ADDR:PORT | [V6]:PORT]...\n"
		   "                          [--no-initiate] [--no-respond]\n"
		   "       tiflow-ctl detach --pin-dir DIR --cgroup DIR\n"
		   "       tiflow-ctl unload --pin-dir DIR\n"
		   "       tiflow-ctl stats --pin-dir DIR [-j]      (-v: debug log)\n"
		   "  load    load the program (maps pinned in DIR), attach it to the cgroup v2\n"
		   "          directory through a pinned link, configure it, exit (the pins stay)\n"
		   "  detach  detach from one cgroup;  unload  detach all, remove the pins\n"
		   "  stats   negotiation counters (text, or one JSON object with -j)\n");
}

/* parse_u - an unsigned number within [0, max]; -EINVAL otherwise. */
static int parse_u(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	if (errno || end == s || *end || *out > max)
		return -EINVAL;
	return 0;
}

/* parse_addr - IPv4 (stored v4-mapped) or IPv6 text. */
static int parse_addr(const char *s, struct svc_addr *a)
{
	struct in_addr v4;

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &v4) == 1) {
		a->w[2] = htonl(0xffff);
		a->w[3] = v4.s_addr;
		return 0;
	}
	return inet_pton(AF_INET6, s, a->b) == 1 ? 0 : -EINVAL;
}

/* parse_select - "ADDR", ":PORT", "ADDR:PORT" (IPv4) or "[V6]:PORT". */
static int parse_select(const char *s, struct svc_addr *a, int *has_addr, unsigned long *port)
{
	char buf[128], *colon, *host = buf;

	snprintf(buf, sizeof(buf), "%s", s);
	*port = 0;
	*has_addr = 1;
	if (buf[0] == '[') {
		colon = strstr(buf, "]:");
		if (!colon)
			return -EINVAL;
		*colon = '\0';
		host = buf + 1;
		if (parse_u(colon + 2, 65535, port))
			return -EINVAL;
	} else if ((colon = strchr(buf, ':')) && !strchr(colon + 1, ':')) {
		*colon = '\0';
		if (parse_u(colon + 1, 65535, port))
			return -EINVAL;
	}
	if (!*host) {
		*has_addr = 0;
		return *port ? 0 : -EINVAL;
	}
	return parse_addr(host, a);
}

struct opts {
	const char *pin_dir, *cgroup;
	const char *select[MAX_SELECT];
	int n_select;
	long instance, kind;
	__u8 flags;
	int json;
};

static int do_load(const struct opts *o)
{
	struct svc_tiflow *t = NULL;
	unsigned long port;
	struct svc_addr a;
	int i, has_addr, err;

	if (!o->cgroup) {
		fprintf(stderr, "tiflow-ctl: load needs --cgroup\n");
		return -EINVAL;
	}
	err = svc_tiflow_open(o->pin_dir, &t);
	if (err)
		return err;
	if (o->instance >= 0)
		err = svc_tiflow_set_instance(t, o->instance);
	if (!err && o->kind >= 0)
		err = svc_tiflow_set_kind(t, o->kind);
	if (!err)
		err = svc_tiflow_set_flags(t, o->flags);
	for (i = 0; !err && i < o->n_select; i++) {
		if (parse_select(o->select[i], &a, &has_addr, &port)) {
			fprintf(stderr, "tiflow-ctl: --select %s: not ADDR, :PORT or ADDR:PORT\n",
				o->select[i]);
			err = -EINVAL;
			break;
		}
		err = svc_tiflow_select_add(t, has_addr ? &a : NULL, port);
		if (err == -EEXIST)
			err = 0;
	}
	/* Configure before attaching: the first handshake already sees the settings. */
	if (!err)
		err = svc_tiflow_attach(t, o->cgroup);
	svc_tiflow_close(t);
	return err;
}

static int do_stats(const struct opts *o)
{
	__u64 c[SVC_TIFLOW_EV_MAX];
	struct json_object *j;
	unsigned int ev;
	int err;

	err = svc_tiflow_stats_read_pinned(o->pin_dir, c);
	if (err)
		return err;
	if (!o->json) {
		for (ev = 0; ev < SVC_TIFLOW_EV_MAX; ev++)
			printf("%-22s %10llu  %s\n", svc_tiflow_event_label(ev),
			       (unsigned long long)c[ev], svc_tiflow_event_desc(ev));
		return 0;
	}
	j = json_object_new_object();
	if (!j)
		return -ENOMEM;
	for (ev = 0; ev < SVC_TIFLOW_EV_MAX; ev++)
		json_object_object_add(j, svc_tiflow_event_label(ev), json_object_new_int64(c[ev]));
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
	return 0;
}

/* Removes DIR/opt_key (absent is fine). */
static int unpin_opt_key(const char *pin_dir)
{
	char path[PATH_MAX];

	if (!pin_dir)
		pin_dir = SVC_TIFLOW_DEFAULT_PIN_DIR;
	if (snprintf(path, sizeof(path), "%s/opt_key", pin_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (unlink(path) && errno != ENOENT) {
		fprintf(stderr, "tiflow-ctl: unpin %s: %s\n", path, strerror(errno));
		return -errno;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "cgroup", required_argument, NULL, 'g' },
		{ "instance", required_argument, NULL, 'I' },
		{ "kind", required_argument, NULL, 'k' },
		{ "select", required_argument, NULL, 's' },
		{ "no-initiate", no_argument, NULL, 'N' },
		{ "no-respond", no_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct opts o = { .instance = -1, .kind = -1 };
	enum svc_log_level level = SVC_LOG_INFO;
	unsigned long v;
	const char *cmd;
	int c, err;

	if (argc < 2 || argv[1][0] == '-') {
		usage(argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "jvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.pin_dir = optarg;
			break;
		case 'g':
			o.cgroup = optarg;
			break;
		case 'I':
		case 'k':
			if (parse_u(optarg, c == 'I' ? 0xffff : 0xff, &v)) {
				fprintf(stderr, "tiflow-ctl: --%s %s: out of range\n",
					c == 'I' ? "instance" : "kind", optarg);
				return 2;
			}
			if (c == 'I')
				o.instance = v;
			else
				o.kind = v;
			break;
		case 's':
			if (o.n_select == MAX_SELECT) {
				fprintf(stderr, "tiflow-ctl: at most %d --select\n", MAX_SELECT);
				return 2;
			}
			o.select[o.n_select++] = optarg;
			break;
		case 'N':
			o.flags |= SVC_TIFLOW_CFG_F_NO_INITIATE;
			break;
		case 'R':
			o.flags |= SVC_TIFLOW_CFG_F_NO_RESPOND;
			break;
		case 'j':
			o.json = 1;
			break;
		case 'v':
			level = SVC_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tiflow-ctl: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	svc_log_init("tiflow-ctl", level);
	if (!strcmp(cmd, "load")) {
		err = do_load(&o);
	} else if (!strcmp(cmd, "detach")) {
		if (!o.cgroup) {
			fprintf(stderr, "tiflow-ctl: detach needs --cgroup\n");
			return 2;
		}
		err = svc_tiflow_detach(o.pin_dir, o.cgroup);
	} else if (!strcmp(cmd, "unload")) {
		err = svc_tiflow_unpin(o.pin_dir);
		/*
		 * The program also pinned the host's shared opt_key map in DIR
		 * itself; here nothing else uses DIR (svcplaned --uninstall
		 * removes it with the router's maps).
		 */
		if (!err)
			err = unpin_opt_key(o.pin_dir);
	} else if (!strcmp(cmd, "stats")) {
		err = do_stats(&o);
	} else {
		fprintf(stderr, "tiflow-ctl: unknown command %s\n", cmd);
		usage(stderr);
		return 2;
	}
	return err ? 1 : 0;
}
