// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Figure 2: how the per-packet cost, the memory and the update times grow
 * with the service table (prefixes), the flow table (entries) and the
 * next-hop sets (members).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "bench.h"

#define SCALE_MAX_SIZES 8
#define FILL_BATCH 65536
/*
 * The LRU refills a CPU's free list 128 nodes at a time (LOCAL_FREE_TARGET in
 * kernel/bpf/bpf_lru_list.c) and evicts to do so once fewer are free: filling
 * an LRU to max_entries would evict some of the flows just added. The flow
 * table is filled to max_entries less that reserve per possible CPU.
 */
#define LRU_RESERVE_PER_CPU 128
#define NHSET_REPS 6

static const char *const fam_name[2] = { "v4", "v6" };

static int fam_of(int f)
{
	return f ? AF_INET6 : AF_INET;
}

/* splitmix64: a fixed pseudo-random sequence, so every run builds the same tables. */
static __u64 mix64(__u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * Prefix @i of the synthetic service table: mixed lengths /32../128 (uniform),
 * a distinct first word per prefix (so none repeats or covers the benchmark's
 * services, whose first word is 2001:db8), random bits after it.
 */
static void scale_prefix(__u64 i, struct svc_lpm_key *k)
{
	__u64 r = mix64(i);
	__u32 w0 = (__u32)((i + 1) * 0x9E3779B1U), len, b;

	if (w0 == 0x20010db8U)
		w0 = 0x20010db7U ^ 0x80000000U;
	memset(k, 0, sizeof(*k));
	len = 32 + r % 97;
	k->prefixlen = len;
	k->sid.w[0] = htonl(w0);
	k->sid.w[1] = (__u32)mix64(r);
	k->sid.w[2] = (__u32)(mix64(r + 1) >> 7);
	k->sid.w[3] = (__u32)(mix64(r + 2) >> 3);
	for (b = len; b < 128; b++)
		k->sid.b[b / 8] &= (__u8) ~(0x80 >> (b % 8));
}

static int fill_rules(struct svc_dp *dp, __u64 from, __u64 to)
{
	struct svc_rule rule = { .action = SVC_ACT_FORWARD, .set_id = BENCH_SET4 };
	struct svc_lpm_key k;
	__u64 i;
	int err;

	for (i = from; i < to; i++) {
		scale_prefix(i, &k);
		rule.rule_id = 16 + i % (SVC_MAX_RULE_IDS - 16);
		err = svc_dp_rule_update(dp, &k, &rule);
		if (err) {
			fprintf(stderr, "svc-bench: service table: add prefix %llu: %s\n",
				(unsigned long long)i, strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * Measures the router cases @kinds into @arr, for both families, or IPv4 only
 * when @table_flows is set: then the flow table holds flows 0..table_flows-1
 * (IPv4), "scatter" spreads its packets over them, and new flows start past
 * them, distinct in every round, instead of clearing a table too big to clear.
 */
static int scale_cases(struct bench_env *env, json_object *arr, const char *what,
		       const char *const *kinds, size_t nkinds, __u64 table_flows)
{
	static char labels[2][8][96];
	struct bench_result r;
	struct bench_case c;
	size_t i;
	int f, err;

	for (f = 0; f < (table_flows ? 1 : 2); f++) {
		for (i = 0; i < nkinds && i < 8; i++) {
			memset(&c, 0, sizeof(c));
			c.name = kinds[i];
			c.family = f ? "ipv6" : "ipv4";
			c.vary.saddr_off = bench_saddr_off(fam_of(f));
			c.vary.sport_off = bench_sport_off(fam_of(f));
			c.vary.vbase = bench_vbase(fam_of(f));
			c.vary.vcount = 1;
			c.expect.reason = -1;
			c.expect.also = -1;
			bench_case_router(env, &c, fam_of(f), kinds[i]);
			if (table_flows && c.vary.vmode == BENCH_VARY_SEQ) {
				c.prepare = NULL;
				c.vary.vstart = table_flows + i * 64ULL * c.repeat;
				c.vstart_step = c.repeat;
			} else if (table_flows && c.vary.vmode == BENCH_VARY_SCATTER) {
				c.vary.vcount = table_flows;
			}
			snprintf(labels[f][i], sizeof(labels[f][i]), "%s %s: %s", what, fam_name[f],
				 kinds[i]);
			c.label = labels[f][i];
			err = bench_measure(env, &c, &r);
			if (err)
				return err;
			bench_report_case(env, arr, &c, &r, NULL);
		}
	}
	return 0;
}

static int parse_sizes(const char *s, __u64 *out, int max)
{
	int n = 0;
	char *end;

	while (s && *s && n < max) {
		out[n++] = strtoull(s, &end, 10);
		if (end == s || (*end && *end != ','))
			return -EINVAL;
		s = *end ? end + 1 : end;
	}
	return n;
}

/* ---- next-hop sets ---- */

static int nhset_set(struct svc_dp *dp, __u32 n, double *secs)
{
	struct svc_ch_member *m = calloc(n, sizeof(*m));
	double t0;
	__u32 i;
	int err;

	if (!m)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		m[i].addr = bench_nh4(i + 1);
		m[i].nh_id = i + 1;
		m[i].weight = 1;
	}
	t0 = bench_now();
	err = svc_dp_nhset_update(dp, BENCH_SET4, m, n);
	*secs = bench_now() - t0;
	free(m);
	if (err)
		fprintf(stderr, "svc-bench: next-hop set of %u: update: %s\n", n, strerror(-err));
	return err;
}

/*
 * The library's table build alone (no map writes): what svc_dp_nhset_update spends computing.
 * @weighted: weights 1..4 instead of all equal (equal weights take the plain round robin).
 */
static double ch_build_time(__u32 n, bool weighted)
{
	struct svc_ch_member *m = calloc(n, sizeof(*m));
	__u32 *tab = calloc(SVC_CH_SIZE, sizeof(*tab));
	double t[NHSET_REPS], t0;
	__u32 i;
	int r;

	if (!m || !tab) {
		free(m);
		free(tab);
		return -1;
	}
	for (i = 0; i < n; i++) {
		m[i].addr = bench_nh4(i + 1);
		m[i].nh_id = i + 1;
		m[i].weight = weighted ? i % 4 + 1 : 1;
	}
	for (r = 0; r < NHSET_REPS; r++) {
		t0 = bench_now();
		if (svc_ch_build(m, n, 0, SVC_CH_SIZE, tab))
			t[r] = -1;
		else
			t[r] = bench_now() - t0;
	}
	free(m);
	free(tab);
	return bench_median(t, NHSET_REPS);
}

static int scale_nhsets(struct bench_env *env, json_object *out)
{
	static const __u32 sizes[] = { 10, 100, 1000 };
	static const char *const kinds[] = { "syn", "miss" };
	json_object *arr = json_object_new_array();
	double t[NHSET_REPS], first, build, build_w;
	size_t s;
	int i, err;

	json_object_object_add(out, "nexthop_sets", arr);
	printf("\n-- next-hop sets (consistent-hash table of %d slots, built and swapped by "
	       "svc_dp_nhset_update) --\n",
	       SVC_CH_SIZE);
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		json_object *o = json_object_new_object(), *cases = json_object_new_array();
		char what[32];

		err = svc_dp_nhset_delete(env->dp, BENCH_SET4);
		if (err && err != -ENOENT)
			return err;
		err = nhset_set(env->dp, sizes[s], &first);
		/* one member leaves, comes back, ...: each update rebuilds from the installed table
		 */
		for (i = 0; !err && i < NHSET_REPS; i++)
			err = nhset_set(env->dp, sizes[s] - (i % 2 == 0), &t[i]);
		err = err ?: nhset_set(env->dp, sizes[s], &t[0]);
		if (err)
			return err;
		build = ch_build_time(sizes[s], false);
		build_w = ch_build_time(sizes[s], true);
		printf("  %u members: first build+swap %.2f ms, rebuild+swap after a change %.2f "
		       "ms "
		       "(median of %d); of which svc_ch_build %.2f ms (weights 1..4: %.2f ms)\n",
		       sizes[s], first * 1e3, bench_median(t, NHSET_REPS) * 1e3, NHSET_REPS,
		       build * 1e3, build_w * 1e3);
		json_object_object_add(o, "ch_build_ms", bench_json_double(build * 1e3, 3));
		json_object_object_add(o, "ch_build_weighted_ms",
				       bench_json_double(build_w * 1e3, 3));
		json_object_object_add(o, "members", json_object_new_int(sizes[s]));
		json_object_object_add(o, "first_build_swap_ms", bench_json_double(first * 1e3, 3));
		json_object_object_add(o, "rebuild_swap_ms",
				       bench_json_double(bench_median(t, NHSET_REPS) * 1e3, 3));
		json_object_object_add(o, "cases", cases);
		json_object_array_add(arr, o);
		snprintf(what, sizeof(what), "%u hops", sizes[s]);
		err = scale_cases(env, cases, what, kinds, 2, 0);
		if (err)
			return err;
	}
	return nhset_set(env->dp, 4, &first);
}

/* ---- service table ---- */

static int scale_rules(struct bench_env *env, json_object *out)
{
	static const __u64 sizes[] = { 1000, 100000, 1000000 };
	/*
	 * demux: the lookup alone (no flow insert, no encap), where the trie's depth shows;
	 * syn1: the same SYN every packet (issue 15's "SYN ... also with 1 M prefixes")
	 */
	static const char *const kinds[] = { "demux", "syn1", "syn", "miss" };
	json_object *arr = json_object_new_array();
	int fd = svc_dp_map_fd(env->dp, "service_table");
	__u64 have = 0;
	size_t s;
	int err;

	json_object_object_add(out, "service_table", arr);
	printf("\n-- service table (LPM trie; synthetic prefixes /32../128 added through "
	       "svc_dp_rule_update) --\n");
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		json_object *o = json_object_new_object(), *cases = json_object_new_array();
		double t0 = bench_now(), dt;
		char what[32];

		err = fill_rules(env->dp, have, sizes[s]);
		if (err)
			return err;
		dt = bench_now() - t0;
		printf("  %llu prefixes: added %llu in %.2f s (%.0f updates/s), map memory %.1f "
		       "MiB\n",
		       (unsigned long long)sizes[s], (unsigned long long)(sizes[s] - have), dt,
		       (sizes[s] - have) / dt, bench_fdinfo_memlock(fd) / 1048576.0);
		json_object_object_add(o, "prefixes", json_object_new_int64(sizes[s]));
		json_object_object_add(o, "rule_updates_per_s",
				       bench_json_double((sizes[s] - have) / dt, 0));
		json_object_object_add(o, "memlock_bytes",
				       json_object_new_int64(bench_fdinfo_memlock(fd)));
		json_object_object_add(o, "cases", cases);
		json_object_array_add(arr, o);
		have = sizes[s];
		snprintf(what, sizeof(what), "%lluk prefixes", (unsigned long long)sizes[s] / 1000);
		err = scale_cases(env, cases, what, kinds, 4, 0);
		if (err)
			return err;
	}
	return 0;
}

/* ---- flow table ---- */

/* Fills flows 0..n-1 (IPv4, as bench_flow_key makes them) with bpf_map_update_batch. */
static int fill_flows(int fd, __u64 n, double *secs)
{
	struct svc_flow_key *keys = calloc(FILL_BATCH, sizeof(*keys));
	struct svc_flow *vals = calloc(FILL_BATCH, sizeof(*vals));
	struct timespec ts;
	__u64 i, done = 0;
	double t0, gen = 0;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* the flow stamps' clock (svc_flow_now) */
	t0 = bench_now();
	while (done < n) {
		__u32 cnt = n - done < FILL_BATCH ? n - done : FILL_BATCH;
		double g0 = bench_now();

		for (i = 0; i < cnt; i++) {
			bench_flow_key(&keys[i], AF_INET, done + i);
			vals[i].nh_id = 1 + (done + i) % 4;
			vals[i].rule_id = 1;
			vals[i].last_seen_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
		}
		gen += bench_now() - g0;
		err = bpf_map_update_batch(fd, keys, vals, &cnt, NULL);
		if (err) {
			fprintf(stderr, "svc-bench: map flows: update batch at %llu: %s\n",
				(unsigned long long)done, strerror(-err));
			goto out;
		}
		done += cnt;
	}
	*secs = bench_now() - t0 - gen; /* the kernel's share, not the key generation */
out:
	free(keys);
	free(vals);
	return err;
}

static int flows_one(struct bench_env *env, const char *ifname, const char *pin_base, __u64 n,
		     json_object *arr)
{
	static const char *const kinds[] = { "est", "scatter", "miss", "syn" };
	struct svc_dp_config cfg = { .max_flows = n };
	json_object *o = json_object_new_object(), *cases = json_object_new_array();
	struct svc_dp *dp = NULL, *base = env->dp;
	char pin[512], what[32];
	__u64 reserve = (__u64)LRU_RESERVE_PER_CPU * libbpf_num_possible_cpus();
	__u64 fill = n > 2 * reserve ? n - reserve : n / 2;
	double secs = 0;
	long mem;
	int err, fd;

	(void)ifname;
	json_object_array_add(arr, o);
	snprintf(pin, sizeof(pin), "%s-flows%llu", pin_base, (unsigned long long)n);
	cfg.pin_dir = pin;
	err = svc_dp_open(&cfg, &dp, NULL);
	if (err) {
		fprintf(stderr, "svc-bench: open data plane with %llu flows: %s\n",
			(unsigned long long)n, strerror(-err));
		json_object_object_add(o, "entries", json_object_new_int64(n));
		json_object_object_add(o, "error", json_object_new_string(strerror(-err)));
		return 0; /* too big here: report it and go on */
	}
	err = bench_dp_configure(dp, 4);
	fd = svc_dp_map_fd(dp, "flows");
	err = err ?: (fd < 0 ? fd : 0);
	err = err ?: fill_flows(fd, fill, &secs);
	if (err)
		goto out;
	mem = bench_fdinfo_memlock(fd);
	printf("  %llu-entry table: %llu flows filled in %.2f s (%.0f inserts/s, "
	       "bpf_map_update_batch), map memory %.1f MiB (%.0f bytes/entry)\n",
	       (unsigned long long)n, (unsigned long long)fill, secs, fill / secs, mem / 1048576.0,
	       (double)mem / n);
	json_object_object_add(o, "max_entries", json_object_new_int64(n));
	json_object_object_add(o, "entries", json_object_new_int64(fill));
	json_object_object_add(o, "fill_s", bench_json_double(secs, 3));
	json_object_object_add(o, "inserts_per_s", bench_json_double(fill / secs, 0));
	json_object_object_add(o, "memlock_bytes", json_object_new_int64(mem));
	json_object_object_add(o, "cases", cases);
	env->dp = dp;
	snprintf(what, sizeof(what), "%lluk flows", (unsigned long long)n / 1000);
	err = scale_cases(env, cases, what, kinds, 4, fill);
out:
	env->dp = base;
	bench_env_fini_target(env);
	svc_dp_close(dp);
	svc_dp_unpin(pin);
	return err;
}

static int scale_flows(struct bench_env *env, const char *ifname, const char *pin_base,
		       json_object *out, const char *flow_sizes)
{
	json_object *arr = json_object_new_array();
	__u64 sizes[SCALE_MAX_SIZES];
	int n, i, err;

	json_object_object_add(out, "flow_table", arr);
	n = parse_sizes(flow_sizes, sizes, SCALE_MAX_SIZES);
	if (n < 0) {
		fprintf(stderr, "svc-bench: bad --flow-sizes %s\n", flow_sizes);
		return n;
	}
	printf("\n-- flow table (LRU hash sized to the entry count, filled to it) --\n");
	for (i = 0; i < n; i++) {
		err = flows_one(env, ifname, pin_base, sizes[i], arr);
		if (err)
			return err;
	}
	return 0;
}

/* bench_fig_scale - figure 2 into @out ("scale": {...}). */
int bench_fig_scale(struct bench_env *env, const char *ifname, const char *pin_base,
		    json_object *out, const char *flow_sizes)
{
	json_object *fig = json_object_new_object();
	int err;

	json_object_object_add(out, "scale", fig);
	printf("\n== 2. Growth with scale (same method; ns/pkt, ratios to the baselines above) "
	       "==\n");
	bench_print_case_header();
	err = scale_nhsets(env, fig);
	err = err ?: scale_rules(env, fig);
	return err ?: scale_flows(env, ifname, pin_base, fig, flow_sizes);
}
