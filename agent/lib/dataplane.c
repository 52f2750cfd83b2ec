// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libsvc data plane: load and pin the router and endpoint BPF objects, fill
 * their maps, read their counters and flow table. Attaching the programs to
 * interfaces is dataplane_attach.c, the consistent-hash tables dataplane_sets.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "router.skel.h"
#include "endpoint.skel.h"
#include "addr.h"
#include "dataplane.h"
#include "dataplane_int.h"
#include "log.h"
#include "pin.h"
#include "direct.h"
#include "svc_optmac.h"

/* ---- open / close ---- */

static int dp_open_router(struct svc_dp *dp, const struct svc_dp_config *cfg,
			  struct bpf_object_open_opts *opts)
{
	int err;

	/* open: parse the object; pinned maps are looked up under pin_root_path */
	dp->router = router_bpf__open_opts(opts);
	if (!dp->router) {
		err = -errno;
		pr_err("open router BPF object: %s", dp_strerror(err));
		return err;
	}
	/* size the flow and service tables, set the hash seed, before load */
	if (cfg->max_flows) {
		err = bpf_map__set_max_entries(dp->router->maps.flows, cfg->max_flows);
		if (err) {
			pr_err("map flows: set max_entries %u: %s", cfg->max_flows,
			       dp_strerror(err));
			return err;
		}
	}
	if (cfg->max_rules) {
		err = bpf_map__set_max_entries(dp->router->maps.service_table, cfg->max_rules);
		if (err) {
			pr_err("map service_table: set max_entries %u: %s", cfg->max_rules,
			       dp_strerror(err));
			return err;
		}
	}
	dp->router->rodata->ch_seed = cfg->ch_seed;
	err = svc_pin_check_obj(dp->router->obj, dp->pin_dir);
	if (err)
		return err;
	/* load: reuse or create+pin the maps, verify and load the program */
	err = router_bpf__load(dp->router);
	if (err) {
		pr_err("load router BPF object (pin dir %s): %s", dp->pin_dir, dp_strerror(err));
		return err;
	}
	return 0;
}

static int dp_open_endpoint(struct svc_dp *dp, struct bpf_object_open_opts *opts)
{
	int err;

	dp->endpoint = endpoint_bpf__open_opts(opts);
	if (!dp->endpoint) {
		err = -errno;
		pr_err("open endpoint BPF object: %s", dp_strerror(err));
		return err;
	}
	err = svc_pin_check_obj(dp->endpoint->obj, dp->pin_dir);
	if (err)
		return err;
	err = endpoint_bpf__load(dp->endpoint);
	if (err) {
		pr_err("load endpoint BPF object (pin dir %s): %s", dp->pin_dir, dp_strerror(err));
		return err;
	}
	return 0;
}

int svc_dp_open(const struct svc_dp_config *cfg, struct svc_dp **dpp, bool *adopted)
{
	static const struct svc_dp_config defaults;
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	char path[PATH_MAX + 16];
	struct svc_dp *dp;
	bool existed;
	int err;

	if (!dpp)
		return -EINVAL;
	*dpp = NULL;
	if (!cfg)
		cfg = &defaults;
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->nhe_fd = -1;
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s",
		 cfg->pin_dir ? cfg->pin_dir : SVC_DEFAULT_PIN_DIR);
	dp->ch_seed = cfg->ch_seed;
	err = svc_pin_dir_prepare(dp->pin_dir);
	if (err)
		goto cleanup;
	snprintf(path, sizeof(path), "%s/bindings", dp->pin_dir);
	existed = !access(path, F_OK);
	snprintf(path, sizeof(path), "%s/ch_present", dp->pin_dir);
	/* Pins of a version without ch_present: its first read scans ch_tables. */
	dp->ch_present_legacy = existed && access(path, F_OK);
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		err = dp->ncpus < 0 ? dp->ncpus : -EINVAL;
		pr_err("count possible CPUs: %s", dp_strerror(err));
		goto cleanup;
	}
	opts.pin_root_path = dp->pin_dir;
	err = dp_open_router(dp, cfg, &opts);
	if (err)
		goto cleanup;
	err = dp_open_endpoint(dp, &opts);
	if (err)
		goto cleanup;
	err = dp_ch_present_load(dp);
	if (err)
		goto cleanup;
	if (adopted)
		*adopted = existed;
	*dpp = dp;
	return 0;
cleanup:
	svc_dp_close(dp);
	return err;
}

void svc_dp_close(struct svc_dp *dp)
{
	if (!dp)
		return;
	/* No links are held: XDP stays attached by netlink, maps stay pinned. */
	router_bpf__destroy(dp->router);
	endpoint_bpf__destroy(dp->endpoint);
	if (dp->nhe_fd >= 0)
		close(dp->nhe_fd);
	free(dp->nhe);
	free(dp);
}

/* Unlinks the pins of @obj's maps (opened with pin_root_path = the directory). */
static int dp_unpin_obj(struct bpf_object *obj)
{
	struct bpf_map *map;
	int ret = 0;

	bpf_object__for_each_map(map, obj)
	{
		const char *path = bpf_map__pin_path(map);

		if (!path)
			continue;
		if (unlink(path) && errno != ENOENT) {
			pr_err("unpin map %s: %s", path, strerror(errno));
			ret = ret ?: -errno;
		}
	}
	return ret;
}

int svc_dp_unpin(const char *pin_dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct endpoint_bpf *ep = NULL;
	struct router_bpf *rt = NULL;
	int err, ret = 0;

	if (!pin_dir)
		pin_dir = SVC_DEFAULT_PIN_DIR;
	/* Opening (not loading) the skeletons yields each pinned map's path. */
	opts.pin_root_path = pin_dir;
	rt = router_bpf__open_opts(&opts);
	if (!rt) {
		ret = -errno;
		pr_err("open router BPF object: %s", dp_strerror(ret));
		goto cleanup;
	}
	ep = endpoint_bpf__open_opts(&opts);
	if (!ep) {
		ret = -errno;
		pr_err("open endpoint BPF object: %s", dp_strerror(ret));
		goto cleanup;
	}
	ret = dp_unpin_obj(rt->obj);
	err = dp_unpin_obj(ep->obj);
	ret = ret ?: err;
	/* The direct-path programs pin their maps in the same directory. */
	err = svc_direct_unpin(pin_dir);
	ret = ret ?: err;
	if (rmdir(pin_dir) && errno != ENOENT) {
		err = -errno;
		pr_err("remove pin directory %s: %s%s", pin_dir, strerror(errno),
		       errno == ENOTEMPTY ? " (it holds files svcplane did not pin)" : "");
		ret = ret ?: err;
	}
cleanup:
	router_bpf__destroy(rt);
	endpoint_bpf__destroy(ep);
	return ret;
}

struct bpf_program *dp_program(struct svc_dp *dp, enum svc_prog prog)
{
	if (prog == SVC_PROG_ROUTER)
		return dp->router->progs.svc_router_xdp;
	if (prog == SVC_PROG_ENDPOINT)
		return dp->endpoint->progs.svc_endpoint_xdp;
	return NULL;
}

/* ---- map writers ---- */

static int dp_update(struct bpf_map *map, const void *key, const void *val, const char *what)
{
	int err = bpf_map_update_elem(bpf_map__fd(map), key, val, BPF_ANY);

	if (err)
		pr_err("map %s: update %s: %s", bpf_map__name(map), what, dp_strerror(err));
	return err;
}

/* -ENOENT (nothing to delete) is returned, logged only at debug level: callers decide. */
static int dp_delete(struct bpf_map *map, const void *key, const char *what)
{
	int err = bpf_map_delete_elem(bpf_map__fd(map), key);

	if (err == -ENOENT)
		pr_debug("map %s: delete %s: %s", bpf_map__name(map), what, dp_strerror(err));
	else if (err)
		pr_err("map %s: delete %s: %s", bpf_map__name(map), what, dp_strerror(err));
	return err;
}

/* router_cfg[0] as it is, for a setter that changes only its own fields. */
static int dp_router_cfg_read(struct svc_dp *dp, struct svc_router_cfg *cfg)
{
	__u32 key = 0;
	int err;

	err = bpf_map_lookup_elem(bpf_map__fd(dp->router->maps.router_cfg), &key, cfg);
	if (err)
		pr_err("map router_cfg: lookup: %s", dp_strerror(err));
	return err;
}

int svc_dp_set_router_src(struct svc_dp *dp, const struct svc_addr *src4,
			  const struct svc_addr *src6)
{
	struct svc_router_cfg cfg, old;
	__u32 key = 0;
	int err;

	if (!dp)
		return -EINVAL;
	err = dp_router_cfg_read(dp, &old);
	if (err)
		return err;
	memset(&cfg, 0, sizeof(cfg));
	cfg.flood_insert_rate = old.flood_insert_rate;
	if (src4) {
		if (!svc_addr_is_v4(src4)) {
			pr_err("map router_cfg: IPv4 source is an IPv6 address");
			return -EINVAL;
		}
		cfg.src4 = *src4;
		cfg.flags |= SVC_CFG_F_SRC4;
	}
	if (src6) {
		if (svc_addr_is_v4(src6)) {
			pr_err("map router_cfg: IPv6 source is an IPv4 address");
			return -EINVAL;
		}
		cfg.src6 = *src6;
		cfg.flags |= SVC_CFG_F_SRC6;
	}
	return dp_update(dp->router->maps.router_cfg, &key, &cfg, "source addresses");
}

int svc_dp_set_flood_rate(struct svc_dp *dp, __u32 rate)
{
	struct svc_router_cfg cfg;
	__u32 key = 0;
	int err;

	if (!dp)
		return -EINVAL;
	err = dp_router_cfg_read(dp, &cfg);
	if (err)
		return err;
	cfg.flood_insert_rate = rate;
	return dp_update(dp->router->maps.router_cfg, &key, &cfg, "flood insert rate");
}

int svc_dp_flood_read(struct svc_dp *dp, __u32 *rate, unsigned int *engaged_cpus)
{
	struct svc_router_cfg cfg;
	struct svc_flood_state *st;
	struct timespec ts;
	__u64 now;
	__u32 key = 0;
	int err;

	if (!dp || !rate || !engaged_cpus)
		return -EINVAL;
	err = dp_router_cfg_read(dp, &cfg);
	if (err)
		return err;
	*rate = cfg.flood_insert_rate;
	*engaged_cpus = 0;
	/* svc_flood_state is 24 bytes: already the 8-byte multiple per-CPU values use. */
	st = calloc((size_t)dp->ncpus, sizeof(*st));
	if (!st)
		return -ENOMEM;
	err = bpf_map_lookup_elem(bpf_map__fd(dp->router->maps.flood_state), &key, st);
	if (err) {
		pr_err("map flood_state: lookup: %s", dp_strerror(err));
		goto out;
	}
	/*
	 * The program's clock: bpf_ktime_get_coarse_ns() is CLOCK_MONOTONIC_COARSE.
	 * Signed: a skip time in the future (a test writes one) counts as recent.
	 */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
	for (int c = 0; c < dp->ncpus; c++)
		*engaged_cpus += st[c].last_skip_ns &&
				 (__s64)(now - st[c].last_skip_ns) < (__s64)SVC_FLOOD_WINDOW_NS;
out:
	free(st);
	return err;
}

static bool dp_binding_valid(const struct svc_binding_key *key)
{
	return key && (key->proto == IPPROTO_TCP || key->proto == IPPROTO_UDP) && !key->pad;
}

int svc_dp_binding_update(struct svc_dp *dp, const struct svc_binding_key *key,
			  const struct svc_binding *val)
{
	char buf[SVC_ADDR_STRLEN];

	if (!dp || !val || !key)
		return -EINVAL;
	if (!dp_binding_valid(key)) {
		pr_err("map bindings: binding %s: protocol must be tcp or udp and pad zero",
		       svc_binding_format(key, buf, sizeof(buf)));
		return -EINVAL;
	}
	return dp_update(dp->router->maps.bindings, key, val,
			 svc_binding_format(key, buf, sizeof(buf)));
}

int svc_dp_binding_delete(struct svc_dp *dp, const struct svc_binding_key *key)
{
	char buf[SVC_ADDR_STRLEN];

	if (!dp || !dp_binding_valid(key))
		return -EINVAL;
	return dp_delete(dp->router->maps.bindings, key, svc_binding_format(key, buf, sizeof(buf)));
}

int svc_dp_sid_prefix_update(struct svc_dp *dp, const struct svc_lpm_key *prefix)
{
	char buf[SVC_ADDR_STRLEN];
	__u32 flags = 0;

	if (!dp || !prefix || prefix->prefixlen > 128)
		return -EINVAL;
	return dp_update(dp->router->maps.sid_prefixes, prefix, &flags,
			 svc_prefix_format(prefix, buf, sizeof(buf)));
}

int svc_dp_sid_prefix_delete(struct svc_dp *dp, const struct svc_lpm_key *prefix)
{
	char buf[SVC_ADDR_STRLEN];

	if (!dp || !prefix || prefix->prefixlen > 128)
		return -EINVAL;
	return dp_delete(dp->router->maps.sid_prefixes, prefix,
			 svc_prefix_format(prefix, buf, sizeof(buf)));
}

static bool dp_rule_valid(const struct svc_rule *r)
{
	if (r->action < SVC_ACT_FORWARD || r->action > SVC_ACT_DROP ||
	    r->rule_id >= SVC_MAX_RULE_IDS)
		return false;
	return r->action != SVC_ACT_FORWARD || r->set_id < SVC_MAX_SETS;
}

int svc_dp_rule_update(struct svc_dp *dp, const struct svc_lpm_key *prefix,
		       const struct svc_rule *rule)
{
	char buf[SVC_ADDR_STRLEN];

	if (!dp || !prefix || !rule || prefix->prefixlen > 128)
		return -EINVAL;
	svc_prefix_format(prefix, buf, sizeof(buf));
	if (!dp_rule_valid(rule)) {
		pr_err("map service_table: rule for %s: invalid action %u, rule id %u or set id %u",
		       buf, rule->action, rule->rule_id, rule->set_id);
		return -EINVAL;
	}
	return dp_update(dp->router->maps.service_table, prefix, rule, buf);
}

int svc_dp_rule_delete(struct svc_dp *dp, const struct svc_lpm_key *prefix)
{
	char buf[SVC_ADDR_STRLEN];

	if (!dp || !prefix || prefix->prefixlen > 128)
		return -EINVAL;
	return dp_delete(dp->router->maps.service_table, prefix,
			 svc_prefix_format(prefix, buf, sizeof(buf)));
}

int svc_dp_set_opt_key(struct svc_dp *dp, const __u8 *key)
{
	struct svc_opt_key k = { 0 };
	__u32 zero = 0;

	if (!dp)
		return -EINVAL;
	if (key) {
		memcpy(k.k, key, sizeof(k.k));
		k.flags = SVC_OPT_KEY_F_SET;
	}
	return dp_update(dp->router->maps.opt_key, &zero, &k, "option key");
}

int svc_dp_decap_source_update(struct svc_dp *dp, const struct svc_addr *src)
{
	char buf[SVC_ADDR_STRLEN];
	__u32 flags = 0;

	if (!dp || !src)
		return -EINVAL;
	return dp_update(dp->endpoint->maps.decap_sources, src, &flags,
			 svc_addr_format(src, buf, sizeof(buf)));
}

int svc_dp_decap_source_delete(struct svc_dp *dp, const struct svc_addr *src)
{
	char buf[SVC_ADDR_STRLEN];

	if (!dp || !src)
		return -EINVAL;
	return dp_delete(dp->endpoint->maps.decap_sources, src,
			 svc_addr_format(src, buf, sizeof(buf)));
}

/* ---- counters ---- */

/* Sums the per-CPU values of @key in a PERCPU_ARRAY of struct svc_counter. */
static int dp_percpu_sum(struct svc_dp *dp, struct bpf_map *map, __u32 key,
			 struct svc_counter *vals, struct svc_counter *out)
{
	int i, err;

	err = bpf_map_lookup_elem(bpf_map__fd(map), &key, vals);
	if (err) {
		pr_err("map %s: lookup %u: %s", bpf_map__name(map), key, dp_strerror(err));
		return err;
	}
	memset(out, 0, sizeof(*out));
	for (i = 0; i < dp->ncpus; i++) {
		out->packets += vals[i].packets;
		out->bytes += vals[i].bytes;
	}
	return 0;
}

static int dp_counters_read(struct svc_dp *dp, struct bpf_map *map, __u32 first, __u32 n,
			    struct svc_counter *out)
{
	struct svc_counter *vals;
	int err = 0;
	__u32 i;

	/* svc_counter is 16 bytes: already the 8-byte multiple per-CPU values use. */
	vals = calloc((size_t)dp->ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++)
		err = dp_percpu_sum(dp, map, first + i, vals, &out[i]);
	free(vals);
	return err;
}

int svc_dp_stats_read(struct svc_dp *dp, enum svc_prog prog, struct svc_counter *out)
{
	struct bpf_map *map;

	if (!dp || !out)
		return -EINVAL;
	if (prog == SVC_PROG_ROUTER)
		map = dp->router->maps.router_stats;
	else if (prog == SVC_PROG_ENDPOINT)
		map = dp->endpoint->maps.endpoint_stats;
	else
		return -EINVAL;
	return dp_counters_read(dp, map, 0, SVC_REASON_MAX, out);
}

int svc_dp_rule_stats_read(struct svc_dp *dp, __u32 rule_id, struct svc_counter *out)
{
	if (!dp || !out || rule_id >= SVC_MAX_RULE_IDS)
		return -EINVAL;
	return dp_counters_read(dp, dp->router->maps.rule_stats, rule_id, 1, out);
}

int svc_dp_nh_stats_read(struct svc_dp *dp, __u32 nh_id, struct svc_counter *out)
{
	if (!dp || !out || nh_id >= SVC_MAX_NEXTHOPS)
		return -EINVAL;
	return dp_counters_read(dp, dp->router->maps.nh_stats, nh_id, 1, out);
}

int svc_dp_nh_signals_read(struct svc_dp *dp, __u32 nh_id, struct svc_nh_signals *out)
{
	struct svc_counter c;
	int err;

	if (!dp || !out || nh_id >= SVC_MAX_NEXTHOPS)
		return -EINVAL;
	/* Two __u64 per CPU like svc_counter: summed field by field the same way. */
	_Static_assert(sizeof(struct svc_nh_signals) == sizeof(struct svc_counter), "layout");
	err = dp_counters_read(dp, dp->router->maps.nh_signals, nh_id, 1, &c);
	if (err)
		return err;
	out->syn_rst = c.packets;
	out->icmp_unreach = c.bytes;
	return 0;
}

/* ---- flow table ---- */

/*
 * Collects the flow keys present now. The program adds and evicts entries
 * meanwhile; if the key we continue from vanished, the kernel restarts from the
 * first key, so a key may repeat. max_entries bounds the walk either way.
 */
static int dp_flow_keys(struct svc_dp *dp, struct svc_flow_key **keysp, size_t *np)
{
	struct bpf_map *map = dp->router->maps.flows;
	size_t n = 0, cap = 0, max = bpf_map__max_entries(map);
	struct svc_flow_key *keys = NULL, *tmp;
	int fd = bpf_map__fd(map), err;

	for (;;) {
		if (n == max)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			tmp = realloc(keys, cap * sizeof(*keys));
			if (!tmp) {
				free(keys);
				return -ENOMEM;
			}
			keys = tmp;
		}
		err = bpf_map_get_next_key(fd, n ? &keys[n - 1] : NULL, &keys[n]);
		if (err == -ENOENT)
			break;
		if (err) {
			pr_err("map flows: iterate: %s", dp_strerror(err));
			free(keys);
			return err;
		}
		n++;
	}
	*keysp = keys;
	*np = n;
	return 0;
}

/*
 * Walks the flow table in batches: one syscall per DP_FLOW_BATCH entries
 * instead of get_next_key + lookup per flow (thousands of flows took minutes
 * of an adopting agent's start in a QEMU/TCG guest). A hash batch returns
 * whole buckets, so entries added or evicted meanwhile are seen or not, as
 * with get_next_key; @fn may delete the entries it is given. max_entries
 * bounds the walk, as it bounds a table that changes meanwhile.
 */
#define DP_FLOW_BATCH 1024

int svc_dp_flows_foreach(struct svc_dp *dp, svc_flow_fn fn, void *arg)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	struct svc_flow_key *keys = NULL;
	struct svc_flow *vals = NULL;
	__u32 in_batch, out_batch, count, cap = DP_FLOW_BATCH, left;
	bool first = true, end = false;
	int fd, err = 0;

	if (!dp || !fn)
		return -EINVAL;
	fd = bpf_map__fd(dp->router->maps.flows);
	left = bpf_map__max_entries(dp->router->maps.flows);
	while (!end && left) {
		if (!keys) {
			keys = malloc(cap * sizeof(*keys));
			vals = malloc(cap * sizeof(*vals));
			if (!keys || !vals) {
				err = -ENOMEM;
				break;
			}
		}
		count = cap;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, vals,
					   &count, &bopts);
		if (err == -ENOSPC && !count) {
			/* One bucket holds more than cap entries: retry it with room for them. */
			free(keys);
			free(vals);
			keys = NULL;
			vals = NULL;
			cap *= 2;
			continue;
		}
		if (err == -ENOENT) { /* the last entries, if any, are in keys/vals */
			end = true;
			err = 0;
		}
		if (err) {
			pr_err("map flows: read a batch of %u: %s", cap, dp_strerror(err));
			break;
		}
		first = false;
		in_batch = out_batch;
		for (__u32 i = 0; i < count && left && !err; i++, left--)
			err = fn(&keys[i], &vals[i], arg);
		if (err)
			break;
	}
	free(keys);
	free(vals);
	return err;
}

int svc_dp_flows_clear(struct svc_dp *dp, size_t *cleared)
{
	struct svc_flow_key *keys = NULL;
	size_t i, n = 0, done = 0;
	int fd, err;

	if (!dp)
		return -EINVAL;
	err = dp_flow_keys(dp, &keys, &n);
	if (err)
		return err;
	fd = bpf_map__fd(dp->router->maps.flows);
	for (i = 0; i < n; i++) {
		err = bpf_map_delete_elem(fd, &keys[i]);
		if (!err) {
			done++;
		} else if (err != -ENOENT) { /* ENOENT: evicted, or a repeated key */
			pr_err("map flows: delete: %s", dp_strerror(err));
			break;
		}
		err = 0;
	}
	free(keys);
	if (cleared)
		*cleared = done;
	return err;
}

/* ---- raw access ---- */

int svc_dp_map_fd(struct svc_dp *dp, const char *name)
{
	struct bpf_map *map;

	if (!dp || !name)
		return -EINVAL;
	map = bpf_object__find_map_by_name(dp->router->obj, name);
	if (!map)
		map = bpf_object__find_map_by_name(dp->endpoint->obj, name);
	return map ? bpf_map__fd(map) : -ENOENT;
}

int svc_dp_prog_fd(struct svc_dp *dp, enum svc_prog prog)
{
	struct bpf_program *bp;

	if (!dp || (unsigned int)prog >= SVC_PROG_MAX)
		return -EINVAL;
	bp = dp_program(dp, prog);
	return bp ? bpf_program__fd(bp) : -ENOENT;
}

const void *svc_dp_router_rodata(struct svc_dp *dp, size_t *size)
{
	if (!dp || !size)
		return NULL;
	*size = sizeof(*dp->router->rodata);
	return dp->router->rodata;
}
