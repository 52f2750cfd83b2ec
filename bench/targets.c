// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Issue 15's targets next to this run's ratios: each svcplane path against
 * the in-run floor of its family (parse + IPIP/IP6IP6 encap + XDP_TX with a
 * fixed MAC), "no service" against XDP_PASS. Read back from the figures'
 * JSON, so the table and the cases cannot disagree.
 */
#include <stdio.h>
#include <string.h>
#include "bench.h"

/* One row: where its case is, what it is compared with, the target. */
struct target {
	const char *path;   /* table text */
	const char *figure; /* "per_packet", or "service_table_1m" (figure 2, 1 M prefixes) */
	const char *name;   /* case name */
	const char *family; /* "ipv4" / "ipv6" */
	const char *ratio;  /* JSON ratio field: "ratio_floor" or "ratio_xdp_pass" */
	double max;	    /* target: ratio <= max */
	const char *note;   /* NULL, or what the row measures instead of the target's path */
};

static const struct target targets[] = {
	{ "IPv4 established", "per_packet", "router_established_ipv4", "ipv4", "ratio_floor", 2.2 },
	{ "IPv6 established", "per_packet", "router_established_ipv6", "ipv6", "ratio_floor", 2.2 },
	{ "IPv4 SYN (binding, rule, insert, encap)", "per_packet", "router_syn_same_tuple_ipv4",
	  "ipv4", "ratio_floor", 4.5 },
	{ "IPv6 SYN (binding, rule, insert, encap)", "per_packet", "router_syn_same_tuple_ipv6",
	  "ipv6", "ratio_floor", 4.5 },
	{ "IPv4 SYN, 1 M service prefixes", "service_table_1m", "syn1", "ipv4", "ratio_floor",
	  4.5 },
	{ "IPv6 SYN, 1 M service prefixes", "service_table_1m", "syn1", "ipv6", "ratio_floor",
	  4.5 },
	{ "IPv4 SYN flood, guard engaged", "per_packet", "router_syn_guarded_ipv4", "ipv4",
	  "ratio_floor", 3.0 },
	{ "IPv6 SYN flood, guard engaged", "per_packet", "router_syn_guarded_ipv6", "ipv6",
	  "ratio_floor", 3.0 },
	{ "IPv4 routed by flowID option", "per_packet", "router_flowid_ipv4", "ipv4", "ratio_floor",
	  2.5 },
	{ "IPv6 routed by flowID option", "per_packet", "router_flowid_ipv6", "ipv6", "ratio_floor",
	  2.5 },
	{ "IPv4 no service (x XDP_PASS)", "per_packet", "router_no_service_ipv4", "ipv4",
	  "ratio_xdp_pass", 1.4 },
	{ "IPv6 no service (x XDP_PASS)", "per_packet", "router_no_service_ipv6", "ipv6",
	  "ratio_xdp_pass", 1.4 },
};

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* The cases array of @figure in @out, or NULL when that figure did not run. */
static json_object *figure_cases(json_object *out, const char *figure)
{
	json_object *st;
	size_t i;

	if (!strcmp(figure, "per_packet"))
		return get(get(out, "per_packet"), "cases");
	st = get(get(out, "scale"), "service_table");
	for (i = 0; st && i < json_object_array_length(st); i++) {
		json_object *e = json_object_array_get_idx(st, i);

		if (json_object_get_int64(get(e, "prefixes")) == 1000000)
			return get(e, "cases");
	}
	return NULL;
}

/* The verified case @name of @family in @cases, or NULL. */
static json_object *find_case(json_object *cases, const char *name, const char *family)
{
	size_t i;

	for (i = 0; cases && i < json_object_array_length(cases); i++) {
		json_object *c = json_object_array_get_idx(cases, i);
		const char *n = json_object_get_string(get(c, "name"));
		const char *f = json_object_get_string(get(c, "family"));

		if (n && f && !strcmp(n, name) && !strcmp(f, family) &&
		    json_object_get_boolean(get(c, "verified")))
			return c;
	}
	return NULL;
}

/* bench_targets - print the targets table and add it to @out's per_packet ("targets": [...]). */
int bench_targets(json_object *out)
{
	json_object *arr = json_object_new_array(), *pp = get(out, "per_packet");
	size_t i, met = 0, measured = 0;

	if (!pp) {
		json_object_put(arr);
		return 0;
	}
	json_object_object_add(pp, "targets", arr);
	printf("\n-- issue 15 targets: ratio to the floor of the family (no service: to "
	       "XDP_PASS) --\n");
	printf("  %-44s %7s %7s  %s\n", "path", "target", "ratio", "");
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const struct target *t = &targets[i];
		json_object *c = find_case(figure_cases(out, t->figure), t->name, t->family);
		json_object *o = json_object_new_object();
		json_object *rv = get(c, t->ratio);
		double ratio = rv ? json_object_get_double(rv) : 0;

		json_object_object_add(o, "path", json_object_new_string(t->path));
		json_object_object_add(o, "figure", json_object_new_string(t->figure));
		json_object_object_add(o, "case", json_object_new_string(t->name));
		json_object_object_add(o, "family", json_object_new_string(t->family));
		json_object_object_add(o, "basis",
				       json_object_new_string(strcmp(t->ratio, "ratio_floor")
								      ? "xdp_pass"
								      : "floor"));
		json_object_object_add(o, "target_max_ratio", bench_json_double(t->max, 2));
		if (t->note)
			json_object_object_add(o, "note", json_object_new_string(t->note));
		if (!rv) {
			json_object_object_add(o, "status", json_object_new_string("not measured"));
			printf("  %-44s %7.1f %7s  not measured in this run\n", t->path, t->max,
			       "-");
		} else if (ratio <= 0) {
			/* The floor or XDP_PASS came out <= 0 ns after the wrapper's cost: noise.
			 */
			json_object_object_add(o, "status",
					       json_object_new_string("no valid basis"));
			printf("  %-44s %7.1f %7s  no valid basis (floor <= 0 ns: more --repeat)\n",
			       t->path, t->max, "-");
		} else {
			bool ok = ratio <= t->max;

			measured++;
			met += ok;
			json_object_object_add(o, "ratio", bench_json_double(ratio, 3));
			json_object_object_add(o, "met", json_object_new_boolean(ok));
			printf("  %-44s %7.1f %7.2f  %s%s%s\n", t->path, t->max, ratio,
			       ok ? "met" : "not met", t->note ? "; " : "", t->note ?: "");
		}
		json_object_array_add(arr, o);
	}
	printf("  %zu of %zu measured targets met\n", met, measured);
	return 0;
}
