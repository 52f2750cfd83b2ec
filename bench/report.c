// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svc-bench report: one JSON file per run (figures + machine, kernel, compilers, date) and a
 * summary. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>
#include "bench.h"

/* The value of the first "KEY<spaces>: value" line of @path, or "unknown". */
static void proc_field(const char *path, const char *key, char *out, size_t len)
{
	char line[512];
	size_t klen = strlen(key);
	FILE *f = fopen(path, "r");

	snprintf(out, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, key, klen) || !colon)
			continue;
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(out, len, "%s", colon);
		break;
	}
	fclose(f);
}

static json_object *machine(const char *bpf_cc)
{
	json_object *m = json_object_new_object();
	char buf[512], date[64];
	struct utsname u;
	time_t now = time(NULL);

	proc_field("/proc/cpuinfo", "model name", buf, sizeof(buf));
	json_object_object_add(m, "cpu_model", json_object_new_string(buf));
	json_object_object_add(m, "cpus", json_object_new_int(sysconf(_SC_NPROCESSORS_ONLN)));
	proc_field("/proc/meminfo", "MemTotal", buf, sizeof(buf));
	json_object_object_add(m, "memory", json_object_new_string(buf));
	if (!uname(&u)) {
		snprintf(buf, sizeof(buf), "%s %s %s", u.sysname, u.release, u.version);
		json_object_object_add(m, "kernel", json_object_new_string(buf));
		json_object_object_add(m, "hostname", json_object_new_string(u.nodename));
	}
	json_object_object_add(m, "compiler", json_object_new_string("gcc " __VERSION__));
	json_object_object_add(m, "bpf_compiler", json_object_new_string(bpf_cc ?: "unknown"));
	json_object_object_add(m, "libbpf", json_object_new_string(libbpf_version_string()));
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_object_object_add(m, "date", json_object_new_string(date));
	return m;
}

static double num(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return -1;
	return json_object_get_double(v);
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

static void summary_packet(json_object *run)
{
	json_object *fig, *cases;
	size_t i;

	if (!json_object_object_get_ex(run, "per_packet", &fig) ||
	    !json_object_object_get_ex(fig, "cases", &cases))
		return;
	printf("  %-44s %9s %8s %8s %8s\n", "per-packet case", "ns/pkt", "x pass", "x parse",
	       "x floor");
	for (i = 0; i < json_object_array_length(cases); i++) {
		json_object *c = json_object_array_get_idx(cases, i);

		if (str(c, "status"))
			printf("  %-44s %9s  n/a: %s\n", str(c, "label"), "", str(c, "reason"));
		else
			printf("  %-44s %9.1f %8.2f %8.2f %8.2f%s\n", str(c, "label"),
			       num(c, "ns_per_packet"), num(c, "ratio_xdp_pass"),
			       num(c, "ratio_parse_tx"), num(c, "ratio_floor"),
			       json_object_get_boolean(json_object_object_get(c, "verified"))
				       ? ""
				       : "  (NOT VERIFIED)");
	}
}

/* Any other figure: print its "summary" lines, which each command wrote for this. */
static void summary_lines(json_object *run, const char *key)
{
	json_object *fig, *lines;
	size_t i;

	if (!json_object_object_get_ex(run, key, &fig))
		return;
	if (str(fig, "status")) {
		printf("  %s: n/a: %s\n", key, str(fig, "reason"));
		return;
	}
	if (!json_object_object_get_ex(fig, "summary", &lines))
		return;
	for (i = 0; i < json_object_array_length(lines); i++)
		printf("  %s\n", json_object_get_string(json_object_array_get_idx(lines, i)));
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "run-id", required_argument, NULL, 'r' },
		{ "bpf-compiler", required_argument, NULL, 'b' },
		{},
	};
	const char *out = NULL, *run_id = NULL, *bpf_cc = NULL;
	json_object *run;
	int c, i, err;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'r')
			run_id = optarg;
		else if (c == 'b')
			bpf_cc = optarg;
		else
			return 2;
	}
	if (!out || !run_id) {
		fprintf(stderr, "usage: svc-bench report --out FILE --run-id ID "
				"[--bpf-compiler TEXT] FRAGMENT...\n");
		return 2;
	}
	run = json_object_new_object();
	json_object_object_add(run, "run_id", json_object_new_string(run_id));
	json_object_object_add(run, "machine", machine(bpf_cc));
	for (i = optind; i < argc; i++) {
		json_object *frag = json_object_from_file(argv[i]);

		if (!frag) {
			/* a phase that did not run leaves no file: say so in the result */
			fprintf(stderr, "svc-bench: report: %s: %s\n", argv[i],
				json_util_get_last_err() ?: "unreadable");
			continue;
		}
		json_object_object_foreach(frag, key, val)
		{
			json_object_object_add(run, key, json_object_get(val));
		}
		json_object_put(frag);
	}
	printf("\n== Summary (run %s) ==\n", run_id);
	summary_packet(run);
	summary_lines(run, "control_plane");
	summary_lines(run, "live");
	err = bench_write_json(out, run);
	if (!err)
		printf("\nresults: %s\n", out);
	json_object_put(run);
	return err ? 1 : 0;
}
