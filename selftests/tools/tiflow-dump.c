// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* tiflow-dump: print TCP packets with decoded svcplane options from a pcap file or an interface. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "optdecode.h"
#include "log.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tiflow-dump [-j] [--kind K] [--svc-only] -r FILE\n"
		   "       tiflow-dump [-j] [--kind K] [--svc-only] -i IFACE [-c COUNT] [--timeout "
		   "MS]\n"
		   "  -j          one JSON object per packet\n"
		   "  --svc-only  only packets that carry a svcplane option\n");
}

struct dump {
	bool json, svc_only;
};

static int print_pkt(const struct svc_tcp_pkt *p, void *arg)
{
	const struct dump *d = arg;
	struct json_object *j;
	char line[2048];

	if (d->svc_only && p->opts.tiflow < 0 && p->opts.flowid < 0)
		return 0;
	if (!d->json) {
		svc_optdecode_format_pkt(p, line, sizeof(line));
		printf("%.6f %s\n", p->ts, line);
		fflush(stdout);
		return 0;
	}
	j = svc_optdecode_json(p);
	if (!j) {
		fprintf(stderr, "tiflow-dump: out of memory\n");
		return -ENOMEM;
	}
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(j);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "kind", required_argument, NULL, 'k' },
		{ "svc-only", no_argument, NULL, 'S' },
		{ "read", required_argument, NULL, 'r' },
		{ "interface", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "ready-file", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct svc_optdec_cfg cfg = { 0 };
	const char *file = NULL, *ifname = NULL, *ready = NULL;
	struct dump d = { 0 };
	unsigned long count = 0;
	int timeout = 0, c, err, fd, rfd, linktype;

	while ((c = getopt_long(argc, argv, "jr:i:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			d.json = true;
			break;
		case 'k':
			cfg.tiflow_kind = atoi(optarg);
			break;
		case 'S':
			d.svc_only = true;
			break;
		case 'r':
			file = optarg;
			break;
		case 'i':
			ifname = optarg;
			break;
		case 'c':
			count = strtoul(optarg, NULL, 0);
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'R':
			ready = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!file == !ifname || optind != argc) {
		usage(stderr);
		return 2;
	}
	svc_log_init("tiflow-dump", SVC_LOG_INFO);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (file)
		return svc_optdecode_pcap(file, &cfg, print_pkt, &d) ? 1 : 0;
	fd = svc_optdecode_live_open(ifname, &linktype);
	if (fd < 0)
		return 1;
	if (ready) {
		rfd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (rfd < 0) {
			fprintf(stderr, "tiflow-dump: create %s: %s\n", ready, strerror(errno));
			close(fd);
			return 1;
		}
		close(rfd);
	}
	err = svc_optdecode_live_run(fd, linktype, ifname, &cfg, &stop, count, timeout, print_pkt,
				     &d);
	close(fd);
	return err ? 1 : 0;
}
