// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* libsvc direct path: load, pin, attach (tc clsact) and fill bpf/direct.bpf.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "direct.skel.h"
#include "addr.h"
#include "dataplane.h"
#include "direct.h"
#include "log.h"
#include "pin.h"

struct svc_direct {
	struct direct_bpf *skel;
	char pin_dir[PATH_MAX];
	int ncpus; /* possible CPUs: the value count of PERCPU maps */
};

static const char *d_strerror(int err)
{
	return strerror(err < 0 ? -err : err);
}

/* ---- open / close ---- */

int svc_direct_open(const struct svc_direct_config *cfg, struct svc_direct **dp)
{
	static const struct svc_direct_config defaults;
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct svc_direct *d;
	int err;

	if (!dp)
		return -EINVAL;
	*dp = NULL;
	if (!cfg)
		cfg = &defaults;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	snprintf(d->pin_dir, sizeof(d->pin_dir), "%s",
		 cfg->pin_dir ? cfg->pin_dir : SVC_DEFAULT_PIN_DIR);
	err = svc_pin_dir_prepare(d->pin_dir);
	if (err)
		goto cleanup;
	d->ncpus = libbpf_num_possible_cpus();
	if (d->ncpus <= 0) {
		err = d->ncpus < 0 ? d->ncpus : -EINVAL;
		pr_err("count possible CPUs: %s", d_strerror(err));
		goto cleanup;
	}
	/* open: parse the object; pinned maps are looked up under pin_root_path */
	opts.pin_root_path = d->pin_dir;
	d->skel = direct_bpf__open_opts(&opts);
	if (!d->skel) {
		err = -errno;
		pr_err("open direct BPF object: %s", d_strerror(err));
		goto cleanup;
	}
	/* option kind and ExID, as the routers and the TI-flow program use them */
	if (cfg->tiflow_kind)
		d->skel->rodata->tiflow_kind = cfg->tiflow_kind;
	if (cfg->flowid_exid)
		d->skel->rodata->flowid_exid = cfg->flowid_exid;
	err = svc_pin_check_obj(d->skel->obj, d->pin_dir);
	if (err)
		goto cleanup;
	/* load: reuse or create+pin the maps, verify and load the programs */
	err = direct_bpf__load(d->skel);
	if (err) {
		pr_err("load direct BPF object (pin dir %s): %s", d->pin_dir, d_strerror(err));
		goto cleanup;
	}
	*dp = d;
	return 0;
cleanup:
	svc_direct_close(d);
	return err;
}

void svc_direct_close(struct svc_direct *d)
{
	if (!d)
		return;
	/* No links are held: tc filters stay attached by netlink, maps stay pinned. */
	direct_bpf__destroy(d->skel);
	free(d);
}

int svc_direct_unpin(const char *pin_dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct direct_bpf *skel;
	struct bpf_map *map;
	int ret = 0;

	opts.pin_root_path = pin_dir ? pin_dir : SVC_DEFAULT_PIN_DIR;
	/* Opening (not loading) the skeleton yields each pinned map's path. */
	skel = direct_bpf__open_opts(&opts);
	if (!skel) {
		ret = -errno;
		pr_err("open direct BPF object: %s", d_strerror(ret));
		return ret;
	}
	bpf_object__for_each_map(map, skel->obj)
	{
		const char *path = bpf_map__pin_path(map);

		if (path && unlink(path) && errno != ENOENT) {
			pr_err("unpin map %s: %s", path, strerror(errno));
			ret = ret ?: -errno;
		}
	}
	direct_bpf__destroy(skel);
	return ret;
}

/* ---- tc attach ---- */

/*
 * The kernel explains an expected outcome through libbpf's warnings too
 * ("Exclusivity flag on" for an existing clsact, "Cannot find specified
 * filter chain" when nothing is attached): demoted (svc_libbpf_quiet) while
 * such calls run; a real failure is reported by our own message.
 */
static int d_tc_hook_create(struct bpf_tc_hook *hook)
{
	libbpf_print_fn_t prev = libbpf_set_print(svc_libbpf_quiet);
	int err = bpf_tc_hook_create(hook);

	libbpf_set_print(prev);
	return err;
}

static int d_tc_query(struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	libbpf_print_fn_t prev = libbpf_set_print(svc_libbpf_quiet);
	int err = bpf_tc_query(hook, opts);

	libbpf_set_print(prev);
	return err;
}

static int d_tc_detach(struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	libbpf_print_fn_t prev = libbpf_set_print(svc_libbpf_quiet);
	int err = bpf_tc_detach(hook, opts);

	libbpf_set_print(prev);
	return err;
}

static int d_ifindex(const char *ifname)
{
	unsigned int ifindex = if_nametoindex(ifname);

	if (!ifindex) {
		pr_err("interface %s: %s", ifname, strerror(errno));
		return -errno ?: -ENODEV;
	}
	return (int)ifindex;
}

static const char *d_hook_name(enum bpf_tc_attach_point ap)
{
	return ap == BPF_TC_INGRESS ? "ingress" : "egress";
}

static int d_attach_one(int ifindex, const char *ifname, enum bpf_tc_attach_point ap, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = ap);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SVC_DIRECT_TC_HANDLE,
		    .priority = SVC_DIRECT_TC_PRIO, .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_attach(&hook, &opts);
	if (err)
		pr_err("attach direct tc program to %s %s: %s", ifname, d_hook_name(ap),
		       d_strerror(err));
	return err;
}

int svc_direct_attach(struct svc_direct *d, const char *ifname)
{
	LIBBPF_OPTS(bpf_tc_hook, hook);
	int ifindex, err;

	if (!d || !ifname)
		return -EINVAL;
	ifindex = d_ifindex(ifname);
	if (ifindex < 0)
		return ifindex;
	/* clsact carries both hooks; an existing one (ours or not) is reused */
	hook.ifindex = ifindex;
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	err = d_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_err("create clsact qdisc on %s: %s", ifname, d_strerror(err));
		return err;
	}
	err = d_attach_one(ifindex, ifname, BPF_TC_INGRESS,
			   bpf_program__fd(d->skel->progs.svc_direct_ingress));
	if (err)
		return err;
	err = d_attach_one(ifindex, ifname, BPF_TC_EGRESS,
			   bpf_program__fd(d->skel->progs.svc_direct_egress));
	if (err) {
		/* do not leave half an installation behind */
		LIBBPF_OPTS(bpf_tc_hook, in, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, o, .handle = SVC_DIRECT_TC_HANDLE,
			    .priority = SVC_DIRECT_TC_PRIO);

		d_tc_detach(&in, &o);
	}
	return err;
}

static int d_query(int ifindex, enum bpf_tc_attach_point ap, __u32 *prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = ap);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SVC_DIRECT_TC_HANDLE,
		    .priority = SVC_DIRECT_TC_PRIO);
	int err;

	err = d_tc_query(&hook, &opts);
	if (err)
		return err;
	if (prog_id)
		*prog_id = opts.prog_id;
	return 0;
}

int svc_direct_attached(const char *ifname, __u32 *ingress_id, __u32 *egress_id)
{
	int ifindex, ei, ee;

	ifindex = d_ifindex(ifname);
	if (ifindex < 0)
		return ifindex;
	ei = d_query(ifindex, BPF_TC_INGRESS, ingress_id);
	ee = d_query(ifindex, BPF_TC_EGRESS, egress_id);
	/* no clsact at all (EINVAL) or no such filter (ENOENT): not attached */
	if ((ei == -ENOENT || ei == -EINVAL) && (ee == -ENOENT || ee == -EINVAL))
		return 0;
	if (ei || ee) {
		pr_err("query direct tc programs on %s: ingress %s, egress %s", ifname,
		       ei ? d_strerror(ei) : "attached", ee ? d_strerror(ee) : "attached");
		return ei ?: ee;
	}
	return 1;
}

int svc_direct_detach(const char *ifname)
{
	int ifindex, n = 0, err, ret = 0;
	enum bpf_tc_attach_point aps[2] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	size_t i;

	ifindex = d_ifindex(ifname);
	if (ifindex < 0)
		return ifindex;
	for (i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = aps[i]);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SVC_DIRECT_TC_HANDLE,
			    .priority = SVC_DIRECT_TC_PRIO);

		err = d_tc_detach(&hook, &opts);
		if (!err) {
			n++;
			continue;
		}
		if (err == -ENOENT || err == -EINVAL)
			continue;
		pr_err("detach direct tc program from %s %s: %s", ifname, d_hook_name(aps[i]),
		       d_strerror(err));
		ret = ret ?: err;
	}
	if (ret)
		return ret;
	if (!n) {
		pr_debug("no direct tc program on %s", ifname);
		return -ENOENT;
	}
	return 0;
}

/* ---- maps ---- */

static int d_update(struct bpf_map *map, const void *key, const void *val, const char *what)
{
	int err = bpf_map__update_elem(map, key, bpf_map__key_size(map), val,
				       bpf_map__value_size(map), BPF_ANY);

	if (err)
		pr_err("map %s: update %s: %s", bpf_map__name(map), what, d_strerror(err));
	return err;
}

static int d_cfg_get(struct svc_direct *d, struct svc_direct_cfg *c)
{
	__u32 zero = 0;
	int err;

	err = bpf_map__lookup_elem(d->skel->maps.direct_cfg, &zero, sizeof(zero), c, sizeof(*c), 0);
	if (err)
		pr_err("map direct_cfg: lookup: %s", d_strerror(err));
	return err;
}

static int d_cfg_put(struct svc_direct *d, const struct svc_direct_cfg *c)
{
	__u32 zero = 0;

	return d_update(d->skel->maps.direct_cfg, &zero, c, "configuration");
}

int svc_direct_cfg_read(struct svc_direct *d, struct svc_direct_cfg *out)
{
	return d ? d_cfg_get(d, out) : -EINVAL;
}

int svc_direct_set_instance_id(struct svc_direct *d, __u16 id)
{
	struct svc_direct_cfg c;
	int err;

	if (!d)
		return -EINVAL;
	err = d_cfg_get(d, &c);
	if (err)
		return err;
	c.instance_id = id;
	return d_cfg_put(d, &c);
}

int svc_direct_set_src(struct svc_direct *d, const struct svc_addr *src4,
		       const struct svc_addr *src6)
{
	struct svc_direct_cfg c;
	int err;

	if (!d)
		return -EINVAL;
	if ((src4 && !svc_addr_is_v4(src4)) || (src6 && svc_addr_is_v4(src6))) {
		pr_err("direct outer source: %s address given for the other family",
		       src4 && !svc_addr_is_v4(src4) ? "IPv6" : "IPv4");
		return -EINVAL;
	}
	err = d_cfg_get(d, &c);
	if (err)
		return err;
	memset(&c.src4, 0, sizeof(c.src4));
	memset(&c.src6, 0, sizeof(c.src6));
	c.flags &= ~(SVC_DIRECT_CFG_F_SRC4 | SVC_DIRECT_CFG_F_SRC6);
	if (src4) {
		c.src4 = *src4;
		c.flags |= SVC_DIRECT_CFG_F_SRC4;
	}
	if (src6) {
		c.src6 = *src6;
		c.flags |= SVC_DIRECT_CFG_F_SRC6;
	}
	return d_cfg_put(d, &c);
}

int svc_direct_set_no_opt(struct svc_direct *d, bool no_opt)
{
	struct svc_direct_cfg c;
	int err;

	if (!d)
		return -EINVAL;
	err = d_cfg_get(d, &c);
	if (err)
		return err;
	if (no_opt)
		c.flags |= SVC_DIRECT_CFG_F_NO_OPT;
	else
		c.flags &= ~SVC_DIRECT_CFG_F_NO_OPT;
	return d_cfg_put(d, &c);
}

int svc_direct_local_update(struct svc_direct *d, const struct svc_addr *addr)
{
	__u32 zero = 0;

	if (!d || !addr)
		return -EINVAL;
	return d_update(d->skel->maps.direct_local, addr, &zero, "service address");
}

int svc_direct_local_delete(struct svc_direct *d, const struct svc_addr *addr)
{
	int err;

	if (!d || !addr)
		return -EINVAL;
	err = bpf_map__delete_elem(d->skel->maps.direct_local, addr, sizeof(*addr), 0);
	if (err == -ENOENT)
		pr_debug("map direct_local: no such service address");
	else if (err)
		pr_err("map direct_local: delete: %s", d_strerror(err));
	return err;
}

int svc_direct_instance_update(struct svc_direct *d, __u16 id, const struct svc_addr *addr)
{
	struct svc_direct_inst in = { 0 };
	__u32 key = id;

	if (!d || !addr)
		return -EINVAL;
	if (!id) {
		pr_err("direct instance id 0: ids are 1..65535 (0 never names an instance)");
		return -EINVAL;
	}
	in.addr = *addr;
	in.flags = SVC_DIRECT_INST_F_SET | (svc_addr_is_v4(addr) ? 0 : SVC_DIRECT_INST_F_V6);
	return d_update(d->skel->maps.direct_inst, &key, &in, "instance");
}

int svc_direct_instance_delete(struct svc_direct *d, __u16 id)
{
	struct svc_direct_inst in = { 0 };
	__u32 key = id;

	if (!d || !id)
		return -EINVAL;
	/* An array entry cannot be deleted: a zeroed one is "no instance". */
	return d_update(d->skel->maps.direct_inst, &key, &in, "instance (clear)");
}

int svc_direct_stats_read(struct svc_direct *d, struct svc_counter *out)
{
	struct svc_counter *vals;
	__u32 i;
	int c, err = 0;

	if (!d || !out)
		return -EINVAL;
	vals = calloc(d->ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < SVC_DIRECT_REASON_MAX; i++) {
		err = bpf_map__lookup_elem(d->skel->maps.direct_stats, &i, sizeof(i), vals,
					   sizeof(*vals) * d->ncpus, 0);
		if (err) {
			pr_err("map direct_stats: lookup %u: %s", i, d_strerror(err));
			break;
		}
		out[i].packets = out[i].bytes = 0;
		for (c = 0; c < d->ncpus; c++) {
			out[i].packets += vals[c].packets;
			out[i].bytes += vals[c].bytes;
		}
	}
	free(vals);
	return err;
}

int svc_direct_flows_foreach(struct svc_direct *d, svc_direct_flow_fn fn, void *arg)
{
	struct bpf_map *map;
	struct svc_flow_key key, next;
	struct svc_direct_flow val;
	void *prev = NULL;
	__u32 n = 0, max;
	int err, ret;

	if (!d || !fn)
		return -EINVAL;
	map = d->skel->maps.direct_flows;
	max = bpf_map__max_entries(map);
	/* bounded: entries may come and go under traffic */
	while (n++ < max) {
		err = bpf_map__get_next_key(map, prev, &next, sizeof(next));
		if (err == -ENOENT)
			return 0;
		if (err) {
			pr_err("map direct_flows: next key: %s", d_strerror(err));
			return err;
		}
		key = next;
		prev = &key;
		err = bpf_map__lookup_elem(map, &key, sizeof(key), &val, sizeof(val), 0);
		if (err == -ENOENT)
			continue;
		if (err) {
			pr_err("map direct_flows: lookup: %s", d_strerror(err));
			return err;
		}
		ret = fn(&key, &val, arg);
		if (ret)
			return ret;
	}
	return 0;
}

int svc_direct_flows_clear(struct svc_direct *d, size_t *cleared)
{
	struct bpf_map *map;
	struct svc_flow_key key;
	size_t n = 0;
	__u32 guard = 0;
	int err;

	if (!d)
		return -EINVAL;
	map = d->skel->maps.direct_flows;
	/* delete the first key until none is left (deleting while iterating skips keys) */
	while (guard++ <= bpf_map__max_entries(map) * 2) {
		err = bpf_map__get_next_key(map, NULL, &key, sizeof(key));
		if (err == -ENOENT)
			break;
		if (err) {
			pr_err("map direct_flows: next key: %s", d_strerror(err));
			return err;
		}
		err = bpf_map__delete_elem(map, &key, sizeof(key), 0);
		if (err && err != -ENOENT) {
			pr_err("map direct_flows: delete: %s", d_strerror(err));
			return err;
		}
		n += !err;
	}
	if (cleared)
		*cleared = n;
	return 0;
}

int svc_direct_map_fd(struct svc_direct *d, const char *name)
{
	struct bpf_map *map;

	if (!d || !name)
		return -EINVAL;
	map = bpf_object__find_map_by_name(d->skel->obj, name);
	return map ? bpf_map__fd(map) : -ENOENT;
}

int svc_direct_prog_fd(struct svc_direct *d, bool egress)
{
	if (!d)
		return -EINVAL;
	return bpf_program__fd(egress ? d->skel->progs.svc_direct_egress
				      : d->skel->progs.svc_direct_ingress);
}
