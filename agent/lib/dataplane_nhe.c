// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libsvc data plane: next hops (nexthops) and their egress cache
 * (nh_egress). Each up next hop's interface, MACs and MTU are resolved
 * through rtnetlink when it is written and again when a neighbour, route or
 * link event touches it, so that the router sends without a FIB lookup per
 * packet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "dataplane.h"
#include "dataplane_int.h"
#include "log.h"
#include "neigh.h"
#include "nhegress.h"

static bool nhe_id_ok(__u32 id)
{
	return id && id < SVC_MAX_NEXTHOPS;
}

int svc_dp_nh_egress_read(struct svc_dp *dp, __u32 id, struct svc_nh_egress *out)
{
	int err;

	if (!dp || !out || !nhe_id_ok(id))
		return -EINVAL;
	err = bpf_map_lookup_elem(bpf_map__fd(dp->router->maps.nh_egress), &id, out);
	if (err) {
		err = -errno;
		pr_err("map nh_egress: read next hop %u: %s", id, dp_strerror(err));
	}
	return err;
}

int svc_dp_nh_egress_write(struct svc_dp *dp, __u32 id, const struct svc_nh_egress *e)
{
	int err;

	if (!dp || !e || !nhe_id_ok(id))
		return -EINVAL;
	err = bpf_map_update_elem(bpf_map__fd(dp->router->maps.nh_egress), &id, e, BPF_ANY);
	if (err) {
		err = -errno;
		pr_err("map nh_egress: write next hop %u: %s", id, dp_strerror(err));
	}
	return err;
}

static struct dp_nhe *nhe_state(struct svc_dp *dp)
{
	if (!dp->nhe)
		dp->nhe = calloc(SVC_MAX_NEXTHOPS, sizeof(*dp->nhe));
	return dp->nhe;
}

/* 1 when the entry changed, 0 when it did not, or -errno. */
static int nhe_refresh(struct svc_dp *dp, __u32 id, const struct svc_nexthop *nh)
{
	struct svc_nh_egress e, old;
	struct dp_nhe *st = nhe_state(dp);
	char buf[SVC_ADDR_STRLEN];
	struct svc_nhe_info info;
	int err;

	if (!st)
		return -ENOMEM;
	memset(&e, 0, sizeof(e));
	memset(&info, 0, sizeof(info));
	st[id].used = false;
	if (nh->flags & SVC_NH_F_UP) {
		err = svc_nhe_resolve(&nh->addr, &e, &info);
		if (err) {
			/* Not fatal: without a valid entry the router asks the FIB (counted). */
			pr_warn("next hop %u (%s): resolve its egress: %s; the router falls back "
				"to FIB lookups (ev_fib_fallback)",
				id, svc_addr_format(&nh->addr, buf, sizeof(buf)), dp_strerror(err));
			memset(&e, 0, sizeof(e));
			e.addr = nh->addr;
		}
		st[id].used = true;
		st[id].neigh = info.neigh;
		st[id].ifindex = (int)e.ifindex;
		/*
		 * A route but no MAC yet: have the kernel resolve it (the event
		 * that follows completes the entry). Without a route there is
		 * nothing to resolve: the router's FIB lookup drops (drop_fib).
		 */
		if (info.neigh_missing)
			svc_neigh_prime(&nh->addr);
	}
	if (!bpf_map_lookup_elem(bpf_map__fd(dp->router->maps.nh_egress), &id, &old) &&
	    !memcmp(&old, &e, sizeof(e)))
		return 0;
	err = svc_dp_nh_egress_write(dp, id, &e);
	if (err)
		return err;
	pr_debug("next hop %u: egress %s ifindex %u mtu %u", id,
		 e.flags & SVC_NHE_F_VALID ? "valid" : "none", e.ifindex, e.mtu);
	return 1;
}

/* dp_nh_egress_refresh - resolve next hop @id (@nh) and write its nh_egress entry. */
static int dp_nh_egress_refresh(struct svc_dp *dp, __u32 id, const struct svc_nexthop *nh)
{
	int r = nhe_refresh(dp, id, nh);

	return r < 0 ? r : 0;
}

static int nh_map_update(struct bpf_map *map, const void *key, const void *val, const char *what)
{
	int err = bpf_map_update_elem(bpf_map__fd(map), key, val, BPF_ANY);

	if (err)
		pr_err("map %s: update %s: %s", bpf_map__name(map), what, dp_strerror(err));
	return err;
}

int svc_dp_nexthop_update(struct svc_dp *dp, __u32 id, const struct svc_nexthop *nh)
{
	char what[32];
	int err;

	if (!dp || !nh)
		return -EINVAL;
	if (!id || id >= SVC_MAX_NEXTHOPS) {
		pr_err("map nexthops: next hop id %u out of range 1..%u", id, SVC_MAX_NEXTHOPS - 1);
		return -EINVAL;
	}
	/* The router picks the outer header from the flag: it must match the address. */
	if ((nh->flags & SVC_NH_F_UP) && !!(nh->flags & SVC_NH_F_V6) == svc_addr_is_v4(&nh->addr)) {
		pr_err("map nexthops: next hop %u: SVC_NH_F_V6 does not match its address", id);
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "next hop %u", id);
	/*
	 * The egress first: the router uses it only when its address matches the
	 * next hop's, so neither order exposes a wrong one; this order lets the
	 * first packet to a new next hop skip the FIB lookup already.
	 */
	err = dp_nh_egress_refresh(dp, id, nh);
	return err ?: nh_map_update(dp->router->maps.nexthops, &id, nh, what);
}

int svc_dp_nexthop_delete(struct svc_dp *dp, __u32 id)
{
	static const struct svc_nexthop down;
	char what[32];

	if (!dp || !id || id >= SVC_MAX_NEXTHOPS)
		return -EINVAL;
	snprintf(what, sizeof(what), "next hop %u (zero)", id);
	dp_nh_egress_refresh(dp, id, &down);
	return nh_map_update(dp->router->maps.nexthops, &id, &down, what);
}

/*
 * Copies all SVC_MAX_NEXTHOPS entries of the nexthops array into @all in one
 * batch: 65,535 single lookups took ~100 s at start in a QEMU/TCG guest.
 */
int svc_dp_nexthops_read(struct svc_dp *dp, struct svc_nexthop *all)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	__u32 out_batch, count = SVC_MAX_NEXTHOPS;
	__u32 *keys;
	int err;

	if (!dp || !all)
		return -EINVAL;
	keys = malloc(SVC_MAX_NEXTHOPS * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	/* An array batch returns keys 0..count-1 in order; ENOENT marks the end. */
	err = bpf_map_lookup_batch(bpf_map__fd(dp->router->maps.nexthops), NULL, &out_batch, keys,
				   all, &count, &bopts);
	free(keys);
	if ((err && err != -ENOENT) || count != SVC_MAX_NEXTHOPS) {
		err = err && err != -ENOENT ? err : -EIO;
		pr_err("map nexthops: read all (%u of %u entries): %s", count, SVC_MAX_NEXTHOPS,
		       dp_strerror(err));
		return err;
	}
	return 0;
}

/* nhe_refresh_all - every up next hop of the nexthops map (read in one batch). */
static int nhe_refresh_all(struct svc_dp *dp)
{
	struct svc_nexthop *all;
	int err, changed = 0, r;
	__u32 id;

	all = calloc(SVC_MAX_NEXTHOPS, sizeof(*all));
	if (!all)
		return -ENOMEM;
	err = svc_dp_nexthops_read(dp, all);
	if (err)
		goto out;
	for (id = 1; id < SVC_MAX_NEXTHOPS; id++) {
		/* Down: clear what an earlier resolve (or an adopted map) left. */
		if (!(all[id].flags & SVC_NH_F_UP) && !(dp->nhe && dp->nhe[id].used))
			continue;
		r = nhe_refresh(dp, id, &all[id]);
		if (r > 0)
			changed++;
	}
	err = changed;
out:
	free(all);
	return err;
}

/*
 * nhe_refresh_neigh - the up next hops whose egress uses the neighbour of @ev.
 * An event that only confirms the MAC an entry already has (the periodic
 * re-resolution makes the kernel walk stale -> delay -> probe -> reachable)
 * leaves the entry alone without asking the kernel.
 */
static int nhe_refresh_neigh(struct svc_dp *dp, const struct svc_nhe_neigh_ev *ev)
{
	int fd = bpf_map__fd(dp->router->maps.nexthops),
	    efd = bpf_map__fd(dp->router->maps.nh_egress);
	struct svc_nh_egress cur;
	struct svc_nexthop nh;
	int changed = 0, r;
	__u32 id;

	if (!dp->nhe)
		return 0;
	for (id = 1; id < SVC_MAX_NEXTHOPS; id++) {
		const struct dp_nhe *st = &dp->nhe[id];

		if (!st->used || memcmp(&st->neigh, &ev->addr, sizeof(ev->addr)) ||
		    (st->ifindex && st->ifindex != ev->ifindex))
			continue;
		if (bpf_map_lookup_elem(fd, &id, &nh))
			continue;
		if (ev->valid && !bpf_map_lookup_elem(efd, &id, &cur) &&
		    (cur.flags & SVC_NHE_F_VALID) &&
		    !memcmp(&cur.addr, &nh.addr, sizeof(nh.addr)) && !memcmp(cur.dmac, ev->mac, 6))
			continue;
		r = nhe_refresh(dp, id, &nh);
		if (r < 0)
			return r;
		changed += r;
	}
	return changed;
}

int svc_dp_nh_watch_start(struct svc_dp *dp)
{
	int err;

	if (!dp)
		return -EINVAL;
	if (dp->nhe_fd >= 0)
		return dp->nhe_fd;
	dp->nhe_fd = svc_nhe_watch_open();
	if (dp->nhe_fd < 0) {
		err = dp->nhe_fd;
		dp->nhe_fd = -1;
		return err;
	}
	/* Subscribed first: nothing that changes from here on is missed. */
	err = nhe_refresh_all(dp);
	if (err < 0)
		return err;
	return dp->nhe_fd;
}

/* The neighbour events read, collected while reading (a burst names few); the last one wins. */
#define NHE_EV_MAX 64
struct nhe_events {
	int n;
	bool overflow;
	struct svc_nhe_neigh_ev ev[NHE_EV_MAX];
};

static void nhe_collect(void *arg, const struct svc_nhe_neigh_ev *e)
{
	struct nhe_events *evs = arg;
	int i;

	for (i = 0; i < evs->n; i++)
		if (evs->ev[i].ifindex == e->ifindex &&
		    !memcmp(&evs->ev[i].addr, &e->addr, sizeof(e->addr))) {
			evs->ev[i] = *e;
			return;
		}
	if (evs->n == NHE_EV_MAX) {
		evs->overflow = true;
		return;
	}
	evs->ev[evs->n++] = *e;
}

int svc_dp_nh_watch_run(struct svc_dp *dp)
{
	struct nhe_events ev = { 0 };
	int mask, i, r, changed = 0;

	if (!dp || dp->nhe_fd < 0)
		return -EINVAL;
	mask = svc_nhe_watch_read(dp->nhe_fd, nhe_collect, &ev);
	if (mask < 0) {
		pr_err("next-hop egress: read rtnetlink events: %s", dp_strerror(mask));
		return mask;
	}
	if (mask & SVC_NHE_EV_LOST)
		pr_warn("next-hop egress: rtnetlink events lost (socket overrun): "
			"re-resolving every next hop");
	if (mask & (SVC_NHE_EV_ROUTE | SVC_NHE_EV_LOST) || ev.overflow)
		return nhe_refresh_all(dp);
	for (i = 0; i < ev.n; i++) {
		r = nhe_refresh_neigh(dp, &ev.ev[i]);
		if (r < 0)
			return r;
		changed += r;
	}
	return changed;
}
