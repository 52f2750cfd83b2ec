// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libsvc data plane: the next-hop egress cache (nh_egress). Each up next
 * hop's interface, MACs and MTU are resolved through rtnetlink when it is
 * written and again when a neighbour, route or link event touches it, so that
 * the router sends without a FIB lookup per packet.
 */
#include <errno.h>
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

int dp_nh_egress_refresh(struct svc_dp *dp, __u32 id, const struct svc_nexthop *nh)
{
	int r = nhe_refresh(dp, id, nh);

	return r < 0 ? r : 0;
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

/* nhe_refresh_neigh - the up next hops whose egress uses neighbour @neigh on @ifindex. */
static int nhe_refresh_neigh(struct svc_dp *dp, int ifindex, const struct svc_addr *neigh)
{
	int fd = bpf_map__fd(dp->router->maps.nexthops), changed = 0, r;
	struct svc_nexthop nh;
	__u32 id;

	if (!dp->nhe)
		return 0;
	for (id = 1; id < SVC_MAX_NEXTHOPS; id++) {
		const struct dp_nhe *st = &dp->nhe[id];

		if (!st->used || memcmp(&st->neigh, neigh, sizeof(*neigh)) ||
		    (st->ifindex && st->ifindex != ifindex))
			continue;
		if (bpf_map_lookup_elem(fd, &id, &nh))
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

/* The neighbours events named, collected while reading (a burst names few). */
#define NHE_EV_MAX 64
struct nhe_events {
	int n;
	bool overflow;
	int ifindex[NHE_EV_MAX];
	struct svc_addr neigh[NHE_EV_MAX];
};

static void nhe_collect(void *arg, int ifindex, const struct svc_addr *a)
{
	struct nhe_events *ev = arg;
	int i;

	for (i = 0; i < ev->n; i++)
		if (ev->ifindex[i] == ifindex && !memcmp(&ev->neigh[i], a, sizeof(*a)))
			return;
	if (ev->n == NHE_EV_MAX) {
		ev->overflow = true;
		return;
	}
	ev->ifindex[ev->n] = ifindex;
	ev->neigh[ev->n++] = *a;
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
		r = nhe_refresh_neigh(dp, ev.ifindex[i], &ev.neigh[i]);
		if (r < 0)
			return r;
		changed += r;
	}
	return changed;
}
