// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* servicectl dump: svcplane TCP options from a pcap file or a live interface, in servicectl. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include "ctl.h"
#include "dump.h"
#include "optdecode.h"

static volatile sig_atomic_t dump_stop;

static void on_signal(int sig)
{
	(void)sig;
	dump_stop = 1;
}

struct dump_state {
	bool json, all;
	unsigned long count, seen, printed;
};

/* One decoded TCP packet: printed if it carries a svcplane option (or --all). */
static int on_packet(const struct svc_tcp_pkt *p, void *arg)
{
	struct dump_state *st = arg;
	char line[1024];

	st->seen++;
	if (st->all || p->opts.tiflow >= 0 || p->opts.flowid >= 0) {
		if (st->json) {
			json_object *o = svc_optdecode_json(p);

			if (!o)
				return -ENOMEM;
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
		} else {
			svc_optdecode_format_pkt(p, line, sizeof(line));
			printf("%s\n", line);
		}
		st->printed++;
	}
	if (st->count && st->seen >= st->count)
		return 1; /* enough: stop (not an error) */
	return 0;
}

static const char *arg_str(json_object *args, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(args, key, &v) ? json_object_get_string(v) : NULL;
}

static unsigned long arg_num(json_object *args, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(args, key, &v) ? (unsigned long)json_object_get_int64(v)
							: 0;
}

int svc_cli_dump(const struct svc_ctl_inv *inv)
{
	struct dump_state st = { .json = inv->json };
	struct svc_optdec_cfg cfg = { 0 };
	const char *pcap, *iface;
	struct sigaction sa = { .sa_handler = on_signal };
	json_object *args = NULL;
	int r;

	json_object_object_get_ex(inv->request, "args", &args);
	pcap = arg_str(args, "pcap");
	iface = arg_str(args, "iface");
	st.count = arg_num(args, "count");
	st.all = arg_str(args, "all") != NULL;
	if (pcap) {
		r = svc_optdecode_pcap(pcap, &cfg, on_packet, &st);
	} else {
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		r = svc_optdecode_live(iface, &cfg, &dump_stop, 0, (int)arg_num(args, "timeout_ms"),
				       on_packet, &st);
	}
	fflush(stdout);
	if (r < 0) {
		fprintf(stderr, "servicectl: dump %s: %s\n", pcap ? pcap : iface, strerror(-r));
		return SVC_CTL_EXIT_FAIL;
	}
	if (!st.json)
		fprintf(stderr, "servicectl: dump: %lu TCP packets, %lu shown\n", st.seen,
			st.printed);
	return SVC_CTL_EXIT_OK;
}
