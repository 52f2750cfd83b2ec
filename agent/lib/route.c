// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Route lookup by the router program itself, run on a built packet (see route.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "router.skel.h"
#include "addr.h"
#include "log.h"
#include "route.h"
#include "svc_reason_names.h"

const char *const svc_route_how_names[] = {
	[SVC_ROUTE_NONE] = "none",
	[SVC_ROUTE_RULE] = "rule",
	[SVC_ROUTE_FLOW] = "flow",
	[SVC_ROUTE_HASH] = "hash",
	[SVC_ROUTE_TIFID] = "tifid",
	[SVC_ROUTE_FLOWID] = "flowid",
	NULL,
};

/*
 * The maps the router only reads: the probe uses the live ones. Every other
 * map of the object (flows, counters, signals, DELAY ring, scratch) is the
 * probe's own.
 */
static const char *const route_shared_maps[] = {
	"bindings", "sid_prefixes", "service_table", "nexthops", "nh_egress", "ch_tables",
	"router_cfg", NULL,
};

/*
 * The live flow entry copied into the probe's flow table carries this rule id
 * and a zero timestamp: a flow-table hit refreshes the timestamp and leaves the
 * rule id, a new resolution rewrites both. So the entry afterwards says which
 * happened even when the packet was dropped after the choice (no neighbour).
 */
#define ROUTE_RULE_SENTINEL 0xffffffffU

/* Private map sizes: enough for one packet's writes. */
#define ROUTE_FLOWS 64
#define ROUTE_RING_BYTES 16384

struct svc_route {
	struct svc_dp *dp;
	struct router_bpf *skel;
	struct ring_buffer *ring;
	int prog_fd;
	int live_flows_fd, live_nexthops_fd;
	int flows_fd, stats_fd, rule_stats_fd;
	__u32 *rule_keys;	       /* SVC_MAX_RULE_IDS, for batch reads */
	struct svc_counter *rule_vals; /* SVC_MAX_RULE_IDS */
	bool delayed;		       /* the ring buffer had an event this run */
	struct svc_delay_event event;
	/* The probe's own flood_state, and a fresh window per possible CPU to write into it. */
	int flood_fd;
	struct svc_flood_state *flood_zero;
};

static const char *route_strerror(int err)
{
	return strerror(err < 0 ? -err : err);
}

static int route_on_event(void *ctx, void *data, size_t size)
{
	struct svc_route *rp = ctx;

	if (size >= sizeof(rp->event)) {
		memcpy(&rp->event, data, sizeof(rp->event));
		rp->delayed = true;
	}
	return 0;
}

static bool route_shared(const char *name)
{
	for (int i = 0; route_shared_maps[i]; i++)
		if (!strcmp(name, route_shared_maps[i]))
			return true;
	return false;
}

/* Before load: shared maps reuse the live fds; private ones are unpinned and resized. */
static int route_prepare_maps(struct svc_route *rp)
{
	struct router_bpf *s = rp->skel;
	struct bpf_map *map;
	int err = 0;

	bpf_object__for_each_map(map, s->obj)
	{
		const char *name = bpf_map__name(map);
		int fd;

		/* Never pinned: without this libbpf would pin it by name under /sys/fs/bpf. */
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			break;
		if (!route_shared(name))
			continue;
		fd = svc_dp_map_fd(rp->dp, name);
		if (fd < 0) {
			err = fd;
			pr_err("route probe: live map %s: %s", name, route_strerror(err));
			return err;
		}
		err = bpf_map__reuse_fd(map, fd);
		if (err) {
			pr_err("route probe: share live map %s: %s", name, route_strerror(err));
			return err;
		}
	}
	if (err) {
		pr_err("route probe: unpin map %s: %s", bpf_map__name(map), route_strerror(err));
		return err;
	}
	/*
	 * Counters as plain arrays: one value to read instead of one per CPU
	 * (the program only looks them up and adds). Per-next-hop counters and
	 * signals are not read: one slot, so the program's lookups miss.
	 */
	err = bpf_map__set_type(s->maps.router_stats, BPF_MAP_TYPE_ARRAY);
	err = err ?: bpf_map__set_type(s->maps.rule_stats, BPF_MAP_TYPE_ARRAY);
	err = err ?: bpf_map__set_type(s->maps.nh_stats, BPF_MAP_TYPE_ARRAY);
	err = err ?: bpf_map__set_max_entries(s->maps.nh_stats, 1);
	err = err ?: bpf_map__set_max_entries(s->maps.nh_signals, 1);
	err = err ?: bpf_map__set_max_entries(s->maps.flows, ROUTE_FLOWS);
	err = err ?: bpf_map__set_max_entries(s->maps.delay_events, ROUTE_RING_BYTES);
	if (err)
		pr_err("route probe: size private maps: %s", route_strerror(err));
	return err;
}

int svc_route_open(struct svc_dp *dp, struct svc_route **rpp)
{
	const void *rodata;
	struct svc_route *rp;
	size_t rodata_size;
	int err;

	if (!dp || !rpp)
		return -EINVAL;
	*rpp = NULL;
	rp = calloc(1, sizeof(*rp));
	if (!rp)
		return -ENOMEM;
	rp->dp = dp;
	rp->rule_keys = calloc(SVC_MAX_RULE_IDS, sizeof(*rp->rule_keys));
	rp->rule_vals = calloc(SVC_MAX_RULE_IDS, sizeof(*rp->rule_vals));
	if (!rp->rule_keys || !rp->rule_vals) {
		err = -ENOMEM;
		goto fail;
	}
	/* open: the same object as the attached router, not pinned anywhere */
	rp->skel = router_bpf__open();
	if (!rp->skel) {
		err = -errno;
		pr_err("route probe: open router BPF object: %s", route_strerror(err));
		goto fail;
	}
	/* the attached program's load-time settings (hash seed, option kinds) */
	rodata = svc_dp_router_rodata(dp, &rodata_size);
	if (!rodata || rodata_size != sizeof(*rp->skel->rodata)) {
		err = -EINVAL;
		pr_err("route probe: router settings: %zu bytes, expected %zu", rodata_size,
		       sizeof(*rp->skel->rodata));
		goto fail;
	}
	memcpy(rp->skel->rodata, rodata, rodata_size);
	err = route_prepare_maps(rp);
	if (err)
		goto fail;
	/* load: verify the probe instance */
	err = router_bpf__load(rp->skel);
	if (err) {
		pr_err("route probe: load router BPF object: %s", route_strerror(err));
		goto fail;
	}
	rp->ring = ring_buffer__new(bpf_map__fd(rp->skel->maps.delay_events), route_on_event, rp,
				    NULL);
	if (!rp->ring) {
		err = -errno;
		pr_err("route probe: ring buffer: %s", route_strerror(err));
		goto fail;
	}
	rp->prog_fd = bpf_program__fd(rp->skel->progs.svc_router_xdp);
	rp->flows_fd = bpf_map__fd(rp->skel->maps.flows);
	rp->stats_fd = bpf_map__fd(rp->skel->maps.router_stats);
	rp->rule_stats_fd = bpf_map__fd(rp->skel->maps.rule_stats);
	rp->flood_fd = bpf_map__fd(rp->skel->maps.flood_state);
	err = libbpf_num_possible_cpus();
	rp->flood_zero = err > 0 ? calloc((size_t)err, sizeof(*rp->flood_zero)) : NULL;
	if (!rp->flood_zero) {
		err = err > 0 ? -ENOMEM : err;
		pr_err("route probe: flood_state buffer: %s", route_strerror(err));
		goto fail;
	}
	rp->live_flows_fd = svc_dp_map_fd(dp, "flows");
	rp->live_nexthops_fd = svc_dp_map_fd(dp, "nexthops");
	if (rp->live_flows_fd < 0 || rp->live_nexthops_fd < 0) {
		err = -ENOENT;
		pr_err("route probe: live flows/nexthops map missing");
		goto fail;
	}
	*rpp = rp;
	return 0;
fail:
	svc_route_close(rp);
	return err;
}

void svc_route_close(struct svc_route *rp)
{
	if (!rp)
		return;
	ring_buffer__free(rp->ring);
	router_bpf__destroy(rp->skel);
	free(rp->flood_zero);
	free(rp->rule_keys);
	free(rp->rule_vals);
	free(rp);
}

/* ---- the packet ---- */

#define ROUTE_PKT_MAX 128
#define ROUTE_UDP_PAYLOAD 8

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __u32 csum_add(__u32 sum, const void *data, size_t len)
{
	const __u8 *b = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (__u32)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (__u32)(b[len - 1] << 8);
	return sum;
}

/* Ethernet + IPv4/IPv6 + TCP (ACK or SYN) or UDP with a few payload bytes; valid checksums. */
static size_t route_build(const struct svc_route_query *q, __u8 *pkt)
{
	bool v4 = svc_addr_is_v4(&q->dst);
	size_t l3 = v4 ? 20 : 40, l4 = q->proto == IPPROTO_TCP ? 20 : 8 + ROUTE_UDP_PAYLOAD;
	__u8 *ip = pkt + ETH_HLEN, *th = ip + l3;
	__u32 sum;

	memset(pkt, 0, ETH_HLEN + l3 + l4);
	memcpy(pkt, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
	pkt[12] = v4 ? 0x08 : 0x86;
	pkt[13] = v4 ? 0x00 : 0xdd;
	if (v4) {
		ip[0] = 0x45;
		ip[2] = (__u8)((l3 + l4) >> 8);
		ip[3] = (__u8)(l3 + l4);
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = q->proto;
		memcpy(ip + 12, &q->src.b[12], 4);
		memcpy(ip + 16, &q->dst.b[12], 4);
		sum = csum_fold(csum_add(0, ip, 20));
		ip[10] = (__u8)(sum >> 8);
		ip[11] = (__u8)sum;
		sum = csum_add(0, ip + 12, 8);
	} else {
		ip[0] = 0x60;
		ip[4] = (__u8)(l4 >> 8);
		ip[5] = (__u8)l4;
		ip[6] = q->proto;
		ip[7] = 64;
		memcpy(ip + 8, q->src.b, 16);
		memcpy(ip + 24, q->dst.b, 16);
		sum = csum_add(0, ip + 8, 32);
	}
	sum += q->proto + (__u32)l4; /* pseudo-header: protocol and length */
	th[0] = (__u8)(q->sport >> 8);
	th[1] = (__u8)q->sport;
	th[2] = (__u8)(q->dport >> 8);
	th[3] = (__u8)q->dport;
	if (q->proto == IPPROTO_TCP) {
		th[7] = 1;     /* sequence number */
		th[11] = 1;    /* acknowledgment number */
		th[12] = 0x50; /* 5 words, no options */
		th[13] = q->syn ? 0x02 : 0x10;
		th[14] = 0xff; /* window */
		th[15] = 0xff;
		sum = csum_fold(csum_add(sum, th, l4));
		th[16] = (__u8)(sum >> 8);
		th[17] = (__u8)sum;
	} else {
		th[4] = (__u8)(l4 >> 8);
		th[5] = (__u8)l4;
		sum = csum_fold(csum_add(sum, th, l4));
		if (!sum)
			sum = 0xffff;
		th[6] = (__u8)(sum >> 8);
		th[7] = (__u8)sum;
	}
	return ETH_HLEN + l3 + l4;
}

/* The flow key the router parses from that packet (layout: headers/svc_abi.h). */
static void route_key(const struct svc_route_query *q, struct svc_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->src = q->src;
	k->dst = q->dst;
	k->sport = htons(q->sport);
	k->dport = htons(q->dport);
	k->proto = q->proto;
}

/* ---- reading what the program wrote ---- */

/* The verdict reason counted (exactly one); events are cleared too. Zeroes what it read. */
static int route_reason(struct svc_route *rp, __u32 *reason)
{
	static const struct svc_counter zero;
	int found = 0;

	for (__u32 r = 0; r < SVC_STATS_SLOTS; r++) {
		struct svc_counter c;
		int err = bpf_map_lookup_elem(rp->stats_fd, &r, &c);

		if (err)
			return err;
		if (!c.packets)
			continue;
		if (r < SVC_REASON_MAX && strncmp(svc_reason_label[r], "ev_", 3)) {
			*reason = r;
			found++;
		}
		err = bpf_map_update_elem(rp->stats_fd, &r, &zero, BPF_ANY);
		if (err)
			return err;
	}
	if (found != 1) {
		pr_err("route probe: the program counted %d verdicts for one packet", found);
		return -EPROTO;
	}
	return 0;
}

/*
 * The rule the program counted, 0 if none; zeroes its counter. @hint (the
 * rule id of the flow entry it recorded, or 0) is checked first: reading the
 * whole counter array costs a megabyte.
 */
static int route_rule(struct svc_route *rp, __u32 hint, __u32 *rule_id)
{
	static const struct svc_counter zero;
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	__u32 out_batch, count = SVC_MAX_RULE_IDS;
	struct svc_counter c;
	int err;

	*rule_id = 0;
	if (hint && hint < SVC_MAX_RULE_IDS && !bpf_map_lookup_elem(rp->rule_stats_fd, &hint, &c) &&
	    c.packets) {
		*rule_id = hint;
		return bpf_map_update_elem(rp->rule_stats_fd, &hint, &zero, BPF_ANY);
	}
	err = bpf_map_lookup_batch(rp->rule_stats_fd, NULL, &out_batch, rp->rule_keys,
				   rp->rule_vals, &count, &bopts);
	if (err && err != -ENOENT)
		return err;
	for (__u32 i = 0; i < count; i++) {
		if (!rp->rule_vals[i].packets)
			continue;
		*rule_id = rp->rule_keys[i];
		err = bpf_map_update_elem(rp->rule_stats_fd, &rp->rule_keys[i], &zero, BPF_ANY);
		if (err)
			return err;
	}
	return 0;
}

/* The outer destination of an encapsulated frame. */
static bool route_outer(const __u8 *f, __u32 len, struct svc_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (len >= ETH_HLEN + 20 && f[12] == 0x08 && f[13] == 0x00) {
		out->b[10] = out->b[11] = 0xff;
		memcpy(&out->b[12], f + ETH_HLEN + 16, 4);
		return true;
	}
	if (len >= ETH_HLEN + 40 && f[12] == 0x86 && f[13] == 0xdd) {
		memcpy(out->b, f + ETH_HLEN + 24, 16);
		return true;
	}
	return false;
}

static bool route_valid(const struct svc_route_query *q)
{
	return q && (q->proto == IPPROTO_TCP || q->proto == IPPROTO_UDP) && q->sport && q->dport &&
	       svc_addr_is_v4(&q->src) == svc_addr_is_v4(&q->dst);
}

int svc_route_get(struct svc_route *rp, const struct svc_route_query *q,
		  struct svc_route_result *res)
{
	__u8 pkt[ROUTE_PKT_MAX], out[ROUTE_PKT_MAX + 256];
	LIBBPF_OPTS(bpf_test_run_opts, topts);
	struct xdp_md ctx = { 0 };
	struct svc_flow live, after;
	bool had_live, has_after;
	struct svc_flow_key key;
	size_t len;
	int err;

	if (!rp || !res || !route_valid(q))
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	len = route_build(q, pkt);
	route_key(q, &key);
	/* The live flow entry, marked (ROUTE_RULE_SENTINEL), into the private table. */
	had_live = !bpf_map_lookup_elem(rp->live_flows_fd, &key, &live);
	if (had_live) {
		struct svc_flow mark = live;

		mark.rule_id = ROUTE_RULE_SENTINEL;
		mark.last_seen_ns = 0;
		err = bpf_map_update_elem(rp->flows_fd, &key, &mark, BPF_ANY);
		if (err) {
			pr_err("route probe: copy flow entry: %s", route_strerror(err));
			return err;
		}
	}
	topts.data_in = pkt;
	topts.data_size_in = (__u32)len;
	topts.data_out = out;
	topts.data_size_out = sizeof(out);
	topts.repeat = 1;
	if (q->ifindex) {
		ctx.data_end = (__u32)len;
		ctx.ingress_ifindex = q->ifindex;
		topts.ctx_in = &ctx;
		topts.ctx_size_in = sizeof(ctx);
	}
	/*
	 * A fresh flood-guard window for every probe: the probe learns the
	 * hash's choice from the flow entry its SYN writes, which the guard
	 * (router_cfg's rate, shared with the live router) must not skip.
	 */
	err = bpf_map_update_elem(rp->flood_fd, &(__u32){ 0 }, rp->flood_zero, BPF_ANY);
	if (err) {
		pr_err("route probe: reset flood_state: %s", route_strerror(err));
		bpf_map_delete_elem(rp->flows_fd, &key);
		return err;
	}
	rp->delayed = false;
	err = bpf_prog_test_run_opts(rp->prog_fd, &topts);
	if (err) {
		pr_err("route probe: BPF_PROG_TEST_RUN: %s", route_strerror(err));
		bpf_map_delete_elem(rp->flows_fd, &key);
		return err;
	}
	res->xdp_action = topts.retval;
	has_after = !bpf_map_lookup_elem(rp->flows_fd, &key, &after);
	bpf_map_delete_elem(rp->flows_fd, &key);
	ring_buffer__consume(rp->ring);
	err = route_reason(rp, &res->reason);
	err = err
		      ?: route_rule(rp,
				    has_after && after.rule_id != ROUTE_RULE_SENTINEL
					    ? after.rule_id
					    : 0,
				    &res->rule_id);
	if (err) {
		pr_err("route probe: read counters: %s", route_strerror(err));
		return err;
	}
	if (res->xdp_action == XDP_TX || res->xdp_action == XDP_REDIRECT)
		res->sent = route_outer(out, topts.data_size_out, &res->outer);
	if (rp->delayed) {
		res->has_sid = true;
		memcpy(&res->sid, &rp->event.sid, sizeof(res->sid));
		res->rule_id = rp->event.rule_id;
	}
	/* How: the verdict, or for a drop after the choice, what became of the entry. */
	switch (res->reason) {
	case SVC_R_FWD_FLOW_HIT:
	case SVC_R_RESET_DEAD:
		res->how = SVC_ROUTE_FLOW;
		break;
	case SVC_R_FWD_NEW:
	case SVC_R_FWD_CH_MISS:
		res->how = SVC_ROUTE_HASH;
		break;
	case SVC_R_FWD_RESUME:
		res->how = SVC_ROUTE_TIFID;
		break;
	case SVC_R_FWD_FLOWID:
		res->how = SVC_ROUTE_FLOWID;
		break;
	case SVC_R_DEMUX:
	case SVC_R_DELAY:
	case SVC_R_DROP_DELAY_FULL:
	case SVC_R_DROP_RULE:
	case SVC_R_DROP_NO_NEXTHOP:
		res->how = SVC_ROUTE_RULE;
		break;
	default:
		if (has_after && after.rule_id == ROUTE_RULE_SENTINEL && after.last_seen_ns)
			res->how = SVC_ROUTE_FLOW;
		else if (has_after && after.rule_id != ROUTE_RULE_SENTINEL)
			res->how = SVC_ROUTE_HASH;
		break;
	}
	if (res->how == SVC_ROUTE_FLOW && had_live) {
		res->nh_id = live.nh_id;
		if (!res->rule_id)
			res->rule_id = live.rule_id;
	} else if ((res->how == SVC_ROUTE_HASH || res->how == SVC_ROUTE_TIFID) && has_after &&
		   after.rule_id != ROUTE_RULE_SENTINEL) {
		res->nh_id = after.nh_id;
		if (!res->rule_id)
			res->rule_id = after.rule_id;
	}
	if (res->nh_id) {
		struct svc_nexthop nh;

		if (!bpf_map_lookup_elem(rp->live_nexthops_fd, &res->nh_id, &nh))
			res->nh = nh.addr;
	}
	return 0;
}
