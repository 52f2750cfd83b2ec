// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* tiflow-strip: attach the test middlebox (strips the TI-flow option) to an interface's tc ingress.
 */
/*
 * With --drop-first-confirm it strips nothing and drops the first pure ACK
 * that carries the option (a lost final ACK of a TI-flow handshake).
 * Runs until SIGINT/SIGTERM, then detaches and prints one JSON line
 * {"ifname":..,"seen_tcp":N,"stripped":N,"errors":N,"dropped":N}. Creates "ready" in
 * --ready-file once attached. Run it inside the namespace of the interface.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "tiflow_strip.skel.h"
#include "log.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tiflow-strip --dev IFACE [--kind K] [--drop-first-confirm] "
		   "[--ready-file FILE]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "kind", required_argument, NULL, 'k' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "drop-first-confirm", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, tco, .handle = 1, .priority = 1);
	const char *dev = NULL, *ready = NULL;
	struct tiflow_strip_bpf *skel = NULL;
	bool hook_created = false, drop = false;
	int c, kind = -1, err = 0, fd;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dev = optarg;
			break;
		case 'k':
			kind = atoi(optarg);
			break;
		case 'r':
			ready = optarg;
			break;
		case 'D':
			drop = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dev || kind > 255) {
		usage(stderr);
		return 2;
	}
	svc_log_init("tiflow-strip", SVC_LOG_INFO);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	hook.ifindex = if_nametoindex(dev);
	if (!hook.ifindex) {
		fprintf(stderr, "tiflow-strip: interface %s: %s\n", dev, strerror(errno));
		return 1;
	}
	/* Open, set the kind, load. */
	skel = tiflow_strip_bpf__open();
	if (!skel) {
		fprintf(stderr, "tiflow-strip: open BPF object: %s\n", strerror(errno));
		return 1;
	}
	if (kind >= 0)
		skel->rodata->strip_kind = kind;
	skel->rodata->drop_first_confirm = drop;
	err = tiflow_strip_bpf__load(skel);
	if (err) {
		fprintf(stderr, "tiflow-strip: load BPF object: %s\n", strerror(-err));
		goto out;
	}
	/* clsact on the interface (keep it if someone else made it), then the filter. */
	err = bpf_tc_hook_create(&hook);
	if (!err)
		hook_created = true;
	else if (err != -EEXIST) {
		fprintf(stderr, "tiflow-strip: create clsact on %s: %s\n", dev, strerror(-err));
		goto out;
	}
	tco.prog_fd = bpf_program__fd(skel->progs.tiflow_strip_tc);
	err = bpf_tc_attach(&hook, &tco);
	if (err) {
		fprintf(stderr, "tiflow-strip: attach tc ingress on %s: %s\n", dev, strerror(-err));
		goto out;
	}
	if (ready) {
		fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			err = -errno;
			fprintf(stderr, "tiflow-strip: create %s: %s\n", ready, strerror(errno));
			goto out;
		}
		close(fd);
	}
	while (!stop)
		poll(NULL, 0, 100);
	printf("{\"ifname\":\"%s\",\"seen_tcp\":%llu,\"stripped\":%llu,\"errors\":%llu,"
	       "\"dropped\":%llu}\n",
	       dev, (unsigned long long)skel->bss->seen_tcp, (unsigned long long)skel->bss->stripped,
	       (unsigned long long)skel->bss->errors, (unsigned long long)skel->bss->dropped);
	tco.prog_fd = 0;
	tco.prog_id = 0;
	tco.flags = 0;
	err = bpf_tc_detach(&hook, &tco);
	if (err)
		fprintf(stderr, "tiflow-strip: detach tc ingress on %s: %s\n", dev, strerror(-err));
out:
	if (hook_created) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	tiflow_strip_bpf__destroy(skel);
	return err ? 1 : 0;
}
