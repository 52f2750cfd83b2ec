// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svc-bench: the measuring half of `make bench` (scripts/bench.sh sets up the
 * namespaces and runs it). Commands:
 *   packet  figures 1 and 2 (BPF_PROG_TEST_RUN), inside the per-packet netns
 *   live    configure/attach/detach svcplane for the live-traffic figure
 *   ctl     control-plane update rates through the agent's API
 *   report  merge the figures with the machine description into one JSON file
 * Each prints its table on stdout and writes its figures as JSON (--out).
 * A benchmark never fails on a number: the exit status only says whether it ran.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"
#include "log.h"

/* Large enough for the 1 M-prefix figure (the trie is not preallocated). */
#define BENCH_MAX_RULES 1100000
/* IPv4 next hops configured (the largest next-hop set of figure 2). */
#define BENCH_NH4_COUNT 1000

static void usage(FILE *f)
{
	fprintf(f, "usage: svc-bench packet --ifname DEV --pin-dir DIR --out FILE [--rounds N]\n"
		   "                        [--repeat N] [--flow-sizes N,N,...] [--no-scale]\n"
		   "       svc-bench live setup|detach|xdp-pass|stats ... (see svc-bench live "
		   "--help)\n"
		   "       svc-bench ctl --socket PATH --out FILE [--seconds S]\n"
		   "       svc-bench report --out FILE --run-id ID [--bpf-compiler TEXT] "
		   "FRAGMENT...\n");
}

/* Keeps every round on one CPU: BPF_PROG_TEST_RUN runs on the caller's CPU. */
static void pin_cpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(n > 1 ? n - 1 : 0, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "svc-bench: pin to CPU %ld: %s (going on unpinned)\n",
			n > 1 ? n - 1 : 0, strerror(errno));
}

struct packet_opts {
	const char *ifname, *pin_dir, *out, *flow_sizes;
	int rounds;
	unsigned long repeat;
	bool scale;
};

static int cmd_packet_run(const struct packet_opts *o)
{
	struct svc_dp_config cfg = { .pin_dir = o->pin_dir, .max_rules = BENCH_MAX_RULES };
	struct bench_env env = { .rounds = o->rounds, .repeat = o->repeat };
	json_object *out = json_object_new_object();
	struct svc_dp *dp = NULL;
	int ifindex, err;

	ifindex = if_nametoindex(o->ifname);
	if (!ifindex) {
		fprintf(stderr, "svc-bench: interface %s: %s (run inside the bench netns)\n",
			o->ifname, strerror(errno));
		return -ENODEV;
	}
	/* open: both BPF objects through the library, maps pinned under a private directory */
	err = svc_dp_open(&cfg, &dp, NULL);
	if (err) {
		fprintf(stderr, "svc-bench: open data plane (pin dir %s): %s\n", o->pin_dir,
			strerror(-err));
		goto cleanup;
	}
	err = bench_dp_configure(dp, BENCH_NH4_COUNT);
	err = err ?: bench_env_init(&env, dp, ifindex);
	err = err ?: bench_fig_packet(&env, out);
	if (!err && o->scale)
		err = bench_fig_scale(&env, o->ifname, o->pin_dir, out, o->flow_sizes);
	err = err ?: bench_targets(out);
	if (!err)
		err = bench_write_json(o->out, out);
cleanup:
	bench_env_fini(&env);
	svc_dp_close(dp);
	svc_dp_unpin(o->pin_dir);
	json_object_put(out);
	return err;
}

static int cmd_packet(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ifname", required_argument, NULL, 'i' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "flow-sizes", required_argument, NULL, 'f' },
		{ "no-scale", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct packet_opts o = {
		.rounds = 7, .repeat = 500000, .scale = true, .flow_sizes = "10000,1000000,10000000"
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o.ifname = optarg;
			break;
		case 'p':
			o.pin_dir = optarg;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'r':
			o.rounds = atoi(optarg);
			break;
		case 'n':
			o.repeat = strtoul(optarg, NULL, 10);
			break;
		case 'f':
			o.flow_sizes = optarg;
			break;
		case 's':
			o.scale = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o.ifname || !o.pin_dir || !o.out || o.rounds < 1 || o.rounds > 63 || o.repeat < 1 ||
	    o.repeat > 100000000) {
		usage(stderr);
		return 2;
	}
	pin_cpu();
	return cmd_packet_run(&o) ? 1 : 0;
}

int main(int argc, char **argv)
{
	svc_log_init("svc-bench", SVC_LOG_WARN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "packet"))
		return cmd_packet(argc - 1, argv + 1);
	if (!strcmp(argv[1], "live"))
		return cmd_live(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ctl"))
		return cmd_ctl(argc - 1, argv + 1);
	if (!strcmp(argv[1], "report"))
		return cmd_report(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
