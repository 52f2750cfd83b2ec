// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svc-bench ctl: control-plane update rates through the agent's API, driven
 * by servicectl in a loop (one process per update, as an operator's script
 * would): rules added and deleted, instances registered, each timed.
 *
 *   svc-bench ctl --servicectl PATH --socket PATH --out FILE [--count N]
 *   svc-bench ctl --na REASON --out FILE     (the figure cannot be measured)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

#define CTL_SID "2001:db8:78::1"
#define CTL_MAX_COUNT 5000

extern char **environ;

struct ctl_opts {
	const char *servicectl, *socket, *out, *na;
	int count;
};

/* Runs servicectl with @args (NULL-terminated, after "-s SOCKET"); 0 if it exited 0. */
static int run(const struct ctl_opts *o, const char *const *args, double *secs)
{
	const char *argv[16] = { o->servicectl, "-s", o->socket };
	posix_spawn_file_actions_t fa;
	double t0 = bench_now();
	int i, st, err;
	pid_t pid;

	for (i = 0; args[i] && i < 12; i++)
		argv[3 + i] = args[i];
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	err = posix_spawn(&pid, o->servicectl, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		return -err;
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	*secs = bench_now() - t0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EPROTO;
}

/* Times @n runs of the command @make builds for index i; fills rate and p50/p99. */
static int timed_loop(const struct ctl_opts *o, const char *what,
		      void (*make)(int i, char bufs[][64], const char **args), json_object *fig,
		      json_object *lines)
{
	double *t = calloc(o->count, sizeof(*t)), total = 0, p50, p99, rate;
	char bufs[4][64], key[64], line[200];
	const char *args[12];
	int i, err = 0;

	if (!t)
		return -ENOMEM;
	for (i = 0; i < o->count; i++) {
		memset(args, 0, sizeof(args));
		make(i, bufs, args);
		err = run(o, args, &t[i]);
		if (err) {
			fprintf(stderr, "svc-bench: ctl: %s #%d: servicectl %s %s failed\n", what,
				i, args[0], args[1]);
			break;
		}
		total += t[i];
	}
	if (!err) {
		rate = o->count / total;
		p50 = bench_median(t, o->count); /* sorts t */
		p99 = t[(int)(o->count * 0.99) < o->count ? (int)(o->count * 0.99) : o->count - 1];
		snprintf(line, sizeof(line),
			 "control plane: %-22s %8.0f /s  (p50 %.2f ms, p99 %.2f ms "
			 "per call)",
			 what, rate, p50 * 1e3, p99 * 1e3);
		printf("  %s\n", line + strlen("control plane: "));
		json_object_array_add(lines, json_object_new_string(line));
		snprintf(key, sizeof(key), "%s_per_s", what);
		json_object_object_add(fig, key, bench_json_double(rate, 1));
		snprintf(key, sizeof(key), "%s_p50_ms", what);
		json_object_object_add(fig, key, bench_json_double(p50 * 1e3, 3));
		snprintf(key, sizeof(key), "%s_p99_ms", what);
		json_object_object_add(fig, key, bench_json_double(p99 * 1e3, 3));
	}
	free(t);
	return err;
}

static void mk_rule_add(int i, char bufs[][64], const char **a)
{
	snprintf(bufs[0], 64, "2001:db8:77:%x::/64", i);
	a[0] = "rule", a[1] = "add", a[2] = bufs[0], a[3] = "drop";
}

static void mk_rule_del(int i, char bufs[][64], const char **a)
{
	snprintf(bufs[0], 64, "2001:db8:77:%x::/64", i);
	a[0] = "rule", a[1] = "del", a[2] = bufs[0];
}

static void mk_inst_add(int i, char bufs[][64], const char **a)
{
	snprintf(bufs[0], 64, "198.19.%d.%d", 100 + i / 250, 1 + i % 250);
	a[0] = "instance", a[1] = "add", a[2] = CTL_SID, a[3] = bufs[0];
}

static void mk_inst_del(int i, char bufs[][64], const char **a)
{
	snprintf(bufs[0], 64, "198.19.%d.%d", 100 + i / 250, 1 + i % 250);
	a[0] = "instance", a[1] = "del", a[2] = CTL_SID, a[3] = bufs[0];
}

static int ctl_run(const struct ctl_opts *o, json_object *fig)
{
	static const char *const svc_add[] = { "service", "add", CTL_SID, NULL };
	json_object *lines = json_object_new_array();
	double t;
	int err;

	json_object_object_add(fig, "summary", lines);
	json_object_object_add(fig, "method",
			       json_object_new_string("servicectl in a loop: one process and one "
						      "API connection per update"));
	json_object_object_add(fig, "count", json_object_new_int(o->count));
	err = timed_loop(o, "rule_add", mk_rule_add, fig, lines);
	err = err ?: timed_loop(o, "rule_del", mk_rule_del, fig, lines);
	err = err ?: run(o, svc_add, &t);
	err = err ?: timed_loop(o, "instance_add", mk_inst_add, fig, lines);
	return err ?: timed_loop(o, "instance_del", mk_inst_del, fig, lines);
}

int cmd_ctl(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "servicectl", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'n' },
		{ "na", required_argument, NULL, 'a' },
		{},
	};
	struct ctl_opts o = { .count = 200 };
	json_object *out = json_object_new_object(), *fig;
	int c, err = 0;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'c')
			o.servicectl = optarg;
		else if (c == 's')
			o.socket = optarg;
		else if (c == 'o')
			o.out = optarg;
		else if (c == 'n')
			o.count = atoi(optarg);
		else if (c == 'a')
			o.na = optarg;
		else
			return 2;
	}
	if (!o.out || (!o.na && (!o.servicectl || !o.socket)) || o.count < 1 ||
	    o.count > CTL_MAX_COUNT) {
		fprintf(stderr, "usage: svc-bench ctl --servicectl PATH --socket PATH --out FILE "
				"[--count N] | --na REASON --out FILE\n");
		return 2;
	}
	printf("\n== 3. Control plane (updates through the agent's API) ==\n");
	if (o.na) {
		fig = bench_n_a(o.na);
		printf("  n/a: %s\n", o.na);
	} else {
		fig = json_object_new_object();
		err = ctl_run(&o, fig);
		if (err) {
			json_object_put(fig);
			fig = bench_n_a("servicectl failed during the run (see the log above)");
		}
	}
	json_object_object_add(out, "control_plane", fig);
	if (bench_write_json(o.out, out))
		err = -EIO;
	json_object_put(out);
	return err ? 1 : 0;
}
