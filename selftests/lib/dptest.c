// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Data-path test environment: namespace, standard configuration, fixture runner. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "svc_hash.h"
#include "svc_reason_names.h"
#include "tp.h"
#include "dptest.h"
#include "csum_verify.h"
#include "pktdump.h"

#define PIN_PREFIX "/sys/fs/bpf/svc_tp_"

static const char *const if_names[DPT_IF_MAX] = {
	[DPT_IF_IN] = "tpin0",
	[DPT_IF_OUT] = "tpout0",
	[DPT_IF_MTU] = "tpmtu0",
};

static const char *const if_macs[DPT_IF_MAX] = {
	[DPT_IF_IN] = "02:00:00:00:00:01",
	[DPT_IF_OUT] = "02:00:00:00:01:01",
	[DPT_IF_MTU] = "02:00:00:00:02:01",
};

/* The next hops of the standard configuration, and where each one is reached. */
static const struct dpt_nh nh_table[] = {
	{ NH_OUT4A, 4, "10.1.0.10", "02:00:00:01:00:0a", DPT_IF_OUT, true },
	{ NH_OUT4B, 4, "10.1.0.11", "02:00:00:01:00:0b", DPT_IF_OUT, true },
	{ NH_OUT6A, 6, "fd00:1::10", "02:00:00:01:06:0a", DPT_IF_OUT, true },
	{ NH_OUT6B, 6, "fd00:1::11", "02:00:00:01:06:0b", DPT_IF_OUT, true },
	{ NH_TX4, 4, "10.0.0.10", "02:00:00:00:00:0a", DPT_IF_IN, true },
	{ NH_TX6, 6, "fd00::10", "02:00:00:00:06:0a", DPT_IF_IN, true },
	{ NH_NONEIGH4, 4, "10.1.0.99", NULL, DPT_IF_OUT, true },
	{ NH_NONEIGH6, 6, "fd00:1::99", NULL, DPT_IF_OUT, true },
	{ NH_NOROUTE4, 4, "10.9.9.9", NULL, DPT_IF_NONE, true },
	{ NH_NOROUTE6, 6, "fd00:9::9", NULL, DPT_IF_NONE, true },
	{ NH_MTU4, 4, "10.2.0.10", "02:00:00:02:00:0a", DPT_IF_MTU, true },
	{ NH_MTU6, 6, "fd00:2::10", "02:00:00:02:06:0a", DPT_IF_MTU, true },
	{ NH_DOWN4, 4, "10.1.0.12", "02:00:00:01:00:0c", DPT_IF_OUT, false },
	{ NH_DOWN6, 6, "fd00:1::12", "02:00:00:01:06:0c", DPT_IF_OUT, false },
};

/* Next-hop set of each FORWARD service (set id = service index). */
static const struct {
	int svc;
	struct svc_ch_member m[2];
	size_t n;
} std_sets[] = {
	{ SVC_FWD4, { DPT_M(NH_OUT4A, 1) }, 1 },
	{ SVC_FWD6, { DPT_M(NH_OUT6A, 1) }, 1 },
	{ SVC_TX4, { DPT_M(NH_TX4, 1) }, 1 },
	{ SVC_TX6, { DPT_M(NH_TX6, 1) }, 1 },
	{ SVC_NONEIGH4, { DPT_M(NH_NONEIGH4, 1) }, 1 },
	{ SVC_NONEIGH6, { DPT_M(NH_NONEIGH6, 1) }, 1 },
	{ SVC_NOROUTE4, { DPT_M(NH_NOROUTE4, 1) }, 1 },
	{ SVC_NOROUTE6, { DPT_M(NH_NOROUTE6, 1) }, 1 },
	{ SVC_MTU4, { DPT_M(NH_MTU4, 1) }, 1 },
	{ SVC_MTU6, { DPT_M(NH_MTU6, 1) }, 1 },
	{ SVC_DOWN4, { DPT_M(NH_DOWN4, 1) }, 1 },
	{ SVC_W4, { DPT_M(NH_OUT4A, 1), DPT_M(NH_OUT4B, 3) }, 2 },
	{ SVC_W6, { DPT_M(NH_OUT6A, 2), DPT_M(NH_OUT6B, 1) }, 2 },
	{ SVC_DOWN6, { DPT_M(NH_DOWN6, 1) }, 1 },
};

static int orig_netns = -1;
static int pin_seq;

/* ---- addresses ---- */

static const char *ring_fmt(char ring[4][64], int *slot, const char *fmt, int i)
{
	char *s = ring[(*slot)++ & 3];

	snprintf(s, 64, fmt, i);
	return s;
}

const char *dpt_vip4(int i)
{
	static char ring[4][64];
	static int slot;

	return ring_fmt(ring, &slot, "10.100.0.%d", i);
}

const char *dpt_vip6(int i)
{
	static char ring[4][64];
	static int slot;

	return ring_fmt(ring, &slot, "fd00:100::%x", i);
}

const char *dpt_sid(int i)
{
	static char ring[4][64];
	static int slot;

	return ring_fmt(ring, &slot, "fd00:5e::%x", i);
}

const struct dpt_nh *dpt_nh_model(__u32 id)
{
	size_t i;

	for (i = 0; i < sizeof(nh_table) / sizeof(nh_table[0]); i++)
		if (nh_table[i].id == id)
			return &nh_table[i];
	fprintf(stderr, "dptest: no model for next hop %u\n", id);
	abort();
}

void dpt_if_mac(enum dpt_if dev, __u8 mac[6])
{
	pkt_mac(if_macs[dev], mac);
}

int dpt_addr(const char *s, struct svc_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET6, s, a->b) == 1)
		return 0;
	a->b[10] = a->b[11] = 0xff;
	if (inet_pton(AF_INET, s, a->b + 12) == 1)
		return 0;
	tp_fail(__FILE__, __LINE__, "bad address literal %s", s);
	return -EINVAL;
}

static int sid_of(const char *s, struct svc_sid *sid)
{
	if (inet_pton(AF_INET6, s, sid->b) == 1)
		return 0;
	tp_fail(__FILE__, __LINE__, "bad serviceID literal %s", s);
	return -EINVAL;
}

/* ---- namespace ---- */

static int run_cmd(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		tp_fail(__FILE__, __LINE__, "command failed (status %d): %s", st, cmd);
		return -ECHILD;
	}
	return 0;
}

static int write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0) {
		err = -errno;
		tp_fail(__FILE__, __LINE__, "open %s: %s", path, strerror(errno));
		return err;
	}
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val)) {
		err = -errno;
		tp_fail(__FILE__, __LINE__, "write %s: %s", path, strerror(errno));
	}
	close(fd);
	return err;
}

void dpt_netns_cleanup(void)
{
	if (orig_netns < 0)
		return;
	/* Leaving drops the last reference: the namespace and its veths go away. */
	if (setns(orig_netns, CLONE_NEWNET))
		fprintf(stderr, "dptest: setns back to the original netns: %s\n", strerror(errno));
	close(orig_netns);
	orig_netns = -1;
}

/* Removes pin directories left by test_progs runs that died (their pid is gone). */
static void remove_stale_pins(void)
{
	DIR *d = opendir("/sys/fs/bpf");
	struct dirent *de;
	char path[300];
	int pid;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "svc_tp_%d_", &pid) != 1 || pid == getpid())
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "/sys/fs/bpf/%s", de->d_name);
		svc_dp_unpin(path);
	}
	closedir(d);
}

/*
 * The test namespace: three veth pairs with fixed MACs, addresses, static
 * neighbours for the reachable next hops, forwarding on (bpf_fib_lookup
 * refuses otherwise), and no default route (next hops 9/10 are unroutable).
 */
static int netns_enter(void)
{
	static const char *const setup[] = {
		"ip link set lo up",
		"ip link add tpin0 address 02:00:00:00:00:01 type veth peer name tpin1 "
		"address 02:00:00:00:00:02",
		"ip link add tpout0 address 02:00:00:00:01:01 type veth peer name tpout1 "
		"address 02:00:00:00:01:02",
		"ip link add tpmtu0 mtu 1280 address 02:00:00:00:02:01 type veth peer name tpmtu1 "
		"mtu 1280 address 02:00:00:00:02:02",
		"ip addr add 10.0.0.1/24 dev tpin0",
		"ip addr add fd00::1/64 dev tpin0 nodad",
		"ip addr add 10.1.0.1/24 dev tpout0",
		"ip addr add fd00:1::1/64 dev tpout0 nodad",
		"ip addr add 10.2.0.1/24 dev tpmtu0",
		"ip addr add fd00:2::1/64 dev tpmtu0 nodad",
		"ip link set tpin0 up",
		"ip link set tpin1 up",
		"ip link set tpout0 up",
		"ip link set tpout1 up",
		"ip link set tpmtu0 up",
		"ip link set tpmtu1 up",
	};
	size_t i;
	int err, d;

	if (orig_netns >= 0)
		return 0;
	remove_stale_pins();
	orig_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig_netns < 0) {
		tp_fail(__FILE__, __LINE__, "open /proc/self/ns/net: %s", strerror(errno));
		return -errno;
	}
	/* A namespace of our own: nothing to collide with, gone when we leave it. */
	if (unshare(CLONE_NEWNET)) {
		err = -errno;
		tp_fail(__FILE__, __LINE__, "unshare(CLONE_NEWNET): %s", strerror(errno));
		close(orig_netns);
		orig_netns = -1;
		return err;
	}
	atexit(dpt_netns_cleanup);
	for (i = 0; i < sizeof(setup) / sizeof(setup[0]); i++) {
		err = run_cmd("%s", setup[i]);
		if (err)
			return err;
	}
	err = write_sysctl("/proc/sys/net/ipv4/conf/all/forwarding", "1");
	err = err ?: write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	if (err)
		return err;
	for (i = 0; i < sizeof(nh_table) / sizeof(nh_table[0]); i++) {
		d = nh_table[i].dev;
		if (!nh_table[i].mac || d == DPT_IF_NONE)
			continue;
		err = run_cmd("ip neigh add %s lladdr %s dev %s nud permanent", nh_table[i].addr,
			      nh_table[i].mac, if_names[d]);
		if (err)
			return err;
	}
	return 0;
}

/* ---- standard configuration ---- */

static int bind_one(struct dpt_env *e, const char *vip, __u16 port, __u8 proto, const char *sid)
{
	struct svc_binding_key k;
	struct svc_binding v;
	int err;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	if (dpt_addr(vip, &k.vip) || sid_of(sid, &v.sid))
		return -EINVAL;
	k.port = htons(port);
	k.proto = proto;
	err = svc_dp_binding_update(e->dp, &k, &v);
	if (!ASSERT_OK(err, "svc_dp_binding_update"))
		tp_diag("binding %s:%u/%u", vip, port, proto);
	return err;
}

static int rule_one(struct dpt_env *e, const char *prefix, __u32 plen, __u8 action, __u32 set,
		    __u32 rule_id)
{
	struct svc_lpm_key k = { .prefixlen = plen };
	struct svc_rule r = { .action = action, .set_id = set, .rule_id = rule_id };
	int err;

	if (sid_of(prefix, &k.sid))
		return -EINVAL;
	err = svc_dp_rule_update(e->dp, &k, &r);
	if (!ASSERT_OK(err, "svc_dp_rule_update"))
		tp_diag("rule %s/%u", prefix, plen);
	return err;
}

int dpt_set_nexthop(struct dpt_env *e, __u32 id, bool up)
{
	const struct dpt_nh *m = dpt_nh_model(id);
	struct svc_nexthop nh;
	int err;

	memset(&nh, 0, sizeof(nh));
	if (dpt_addr(m->addr, &nh.addr))
		return -EINVAL;
	nh.flags = (up ? SVC_NH_F_UP : 0) | (m->family == 6 ? SVC_NH_F_V6 : 0);
	err = svc_dp_nexthop_update(e->dp, id, &nh);
	ASSERT_OK(err, "svc_dp_nexthop_update");
	return err;
}

int dpt_set_nhset(struct dpt_env *e, __u32 set_id, const struct svc_ch_member *m, size_t n)
{
	struct svc_ch_member full[DPT_MAX_SET];
	size_t i;
	int err;

	if (!ASSERT_LE(n, DPT_MAX_SET, "set size"))
		return -E2BIG;
	/* Each member's identity is its next hop's address, as the agent gives it. */
	for (i = 0; i < n; i++) {
		full[i] = m[i];
		if (dpt_addr(dpt_nh_model(m[i].nh_id)->addr, &full[i].addr))
			return -EINVAL;
	}
	err = svc_dp_nhset_update(e->dp, set_id, full, n);
	ASSERT_OK(err, "svc_dp_nhset_update");
	return err;
}

static int std_services(struct dpt_env *e)
{
	int i, err = 0;

	for (i = 1; i <= SVC_COUNT && !err; i++) {
		const char *sid = dpt_sid(i);

		err = bind_one(e, dpt_vip4(i), 80, IPPROTO_TCP, sid);
		err = err ?: bind_one(e, dpt_vip4(i), 53, IPPROTO_UDP, sid);
		err = err ?: bind_one(e, dpt_vip6(i), 80, IPPROTO_TCP, sid);
		err = err ?: bind_one(e, dpt_vip6(i), 53, IPPROTO_UDP, sid);
		if (err || i == SVC_NORULE)
			continue;
		if (i == SVC_DEMUX)
			err = rule_one(e, sid, 128, SVC_ACT_DEMUX, 0, i);
		else if (i == SVC_DROP)
			err = rule_one(e, sid, 128, SVC_ACT_DROP, 0, i);
		else if (i == SVC_DELAY)
			err = rule_one(e, sid, 128, SVC_ACT_DELAY, 0, i);
		else
			err = rule_one(e, sid, 128, SVC_ACT_FORWARD, i, i);
	}
	return err;
}

static int std_extras(struct dpt_env *e)
{
	struct svc_lpm_key pfx = { .prefixlen = 32 };
	int err;

	err = bind_one(e, DPT_VIP4_ANYPORT, 0, IPPROTO_TCP, dpt_sid(SVC_FWD4));
	err = err ?: bind_one(e, DPT_VIP6_ANYPORT, 0, IPPROTO_TCP, dpt_sid(SVC_FWD6));
	err = err ?: bind_one(e, DPT_VIP4_BOTH, 80, IPPROTO_TCP, dpt_sid(SVC_FWD4));
	err = err ?: bind_one(e, DPT_VIP4_BOTH, 0, IPPROTO_TCP, dpt_sid(SVC_TX4));
	err = err ?: bind_one(e, DPT_VIP6_BOTH, 80, IPPROTO_TCP, dpt_sid(SVC_FWD6));
	err = err ?: bind_one(e, DPT_VIP6_BOTH, 0, IPPROTO_TCP, dpt_sid(SVC_TX6));
	err = err ?: bind_one(e, DPT_VIP4_LPM, 80, IPPROTO_TCP, "fd00:5e:1:2::7");
	err = err ?: rule_one(e, DPT_LPM48, 48, SVC_ACT_FORWARD, SVC_FWD4, DPT_RULE_LPM48);
	err = err ?: rule_one(e, DPT_LPM64, 64, SVC_ACT_FORWARD, SVC_FWD6, DPT_RULE_LPM64);
	if (err)
		return err;
	if (sid_of(DPT_SID_PREFIX, &pfx.sid))
		return -EINVAL;
	err = svc_dp_sid_prefix_update(e->dp, &pfx);
	ASSERT_OK(err, "svc_dp_sid_prefix_update");
	return err;
}

const __u8 dpt_opt_key[SVC_OPT_KEY_BYTES] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
};

static int std_config(struct dpt_env *e)
{
	struct svc_addr s4, s6;
	size_t i;
	int err;

	if (dpt_addr(DPT_SRC4, &s4) || dpt_addr(DPT_SRC6, &s6))
		return -EINVAL;
	err = svc_dp_set_router_src(e->dp, &s4, &s6);
	if (!ASSERT_OK(err, "svc_dp_set_router_src"))
		return err;
	err = svc_dp_set_opt_key(e->dp, dpt_opt_key);
	if (!ASSERT_OK(err, "svc_dp_set_opt_key"))
		return err;
	/* Every next hop up while the tables are built, then the "down" ones go down. */
	for (i = 0; i < sizeof(nh_table) / sizeof(nh_table[0]); i++)
		if (dpt_set_nexthop(e, nh_table[i].id, true))
			return -EIO;
	for (i = 0; i < sizeof(std_sets) / sizeof(std_sets[0]); i++)
		if (dpt_set_nhset(e, std_sets[i].svc, std_sets[i].m, std_sets[i].n))
			return -EIO;
	for (i = 0; i < sizeof(nh_table) / sizeof(nh_table[0]); i++)
		if (!nh_table[i].up && dpt_set_nexthop(e, nh_table[i].id, false))
			return -EIO;
	err = std_services(e);
	err = err ?: std_extras(e);
	if (err)
		return err;
	err = svc_dp_decap_source_update(e->dp, &s4);
	err = err ?: svc_dp_decap_source_update(e->dp, &s6);
	ASSERT_OK(err, "svc_dp_decap_source_update");
	return err;
}

int dpt_env_open(struct dpt_env *e)
{
	struct svc_dp_config cfg = { 0 };
	int err, i;

	memset(e, 0, sizeof(*e));
	err = netns_enter();
	if (err)
		return err;
	for (i = 1; i < DPT_IF_MAX; i++) {
		e->ifindex[i] = if_nametoindex(if_names[i]);
		if (!e->ifindex[i]) {
			tp_fail(__FILE__, __LINE__, "if_nametoindex %s: %s", if_names[i],
				strerror(errno));
			return -ENODEV;
		}
	}
	snprintf(e->pin_dir, sizeof(e->pin_dir), PIN_PREFIX "%d_%d", getpid(), pin_seq++);
	cfg.pin_dir = e->pin_dir;
	cfg.max_flows = 4096;
	cfg.ch_seed = DPT_SEED;
	err = svc_dp_open(&cfg, &e->dp, NULL);
	if (!ASSERT_OK(err, "svc_dp_open")) {
		svc_dp_unpin(e->pin_dir);
		return err;
	}
	e->router_fd = svc_dp_prog_fd(e->dp, SVC_PROG_ROUTER);
	e->endpoint_fd = svc_dp_prog_fd(e->dp, SVC_PROG_ENDPOINT);
	if (!ASSERT_GE(e->router_fd, 0, "router prog fd") ||
	    !ASSERT_GE(e->endpoint_fd, 0, "endpoint prog fd")) {
		dpt_env_close(e);
		return -ENOENT;
	}
	err = std_config(e);
	if (err) {
		dpt_env_close(e);
		return err;
	}
	return 0;
}

void dpt_env_close(struct dpt_env *e)
{
	if (!e->dp)
		return;
	svc_dp_close(e->dp);
	e->dp = NULL;
	ASSERT_OK(svc_dp_unpin(e->pin_dir), "svc_dp_unpin");
	ASSERT_TRUE(access(e->pin_dir, F_OK) != 0, "pin directory removed");
}

/* ---- frames ---- */

void dpt_eth(struct pkt *p)
{
	__u8 dst[6], src[6];

	dpt_if_mac(DPT_IF_IN, dst);
	pkt_mac(DPT_PEER_MAC, src);
	pkt_eth(p, dst, src);
}

static void l4(struct pkt *p, __u8 proto, __u16 sport, __u16 dport, __u8 flags, size_t payload)
{
	struct tcp_spec t = { .sport = sport, .dport = dport, .seq = 1000, .flags = flags };

	if (proto == IPPROTO_UDP) {
		pkt_udp(p, sport, dport);
	} else {
		if (flags & TCP_F_ACK)
			t.ack = 5000;
		if (flags == TCP_F_SYN) {
			t.opts = pkt_linux_syn_opts;
			t.optlen = sizeof(pkt_linux_syn_opts);
		}
		pkt_tcp(p, &t);
	}
	if (payload)
		pkt_payload(p, NULL, payload);
	pkt_finalize(p);
}

void dpt_tcp4(struct pkt *p, const char *dst, __u16 sport, __u16 dport, __u8 flags, size_t payload)
{
	pkt_init(p);
	dpt_eth(p);
	pkt_ip4(p,
		&(struct ip4_spec){ .src = DPT_CLIENT4, .dst = dst, .id = 0x1234, .frag = 0x4000 });
	l4(p, IPPROTO_TCP, sport, dport, flags, payload);
}

void dpt_tcp6(struct pkt *p, const char *dst, __u16 sport, __u16 dport, __u8 flags, size_t payload)
{
	pkt_init(p);
	dpt_eth(p);
	pkt_ip6(p, &(struct ip6_spec){ .src = DPT_CLIENT6, .dst = dst, .flowlabel = 0x12345 });
	l4(p, IPPROTO_TCP, sport, dport, flags, payload);
}

void dpt_udp4(struct pkt *p, const char *dst, __u16 sport, __u16 dport, size_t payload)
{
	pkt_init(p);
	dpt_eth(p);
	pkt_ip4(p, &(struct ip4_spec){ .src = DPT_CLIENT4, .dst = dst, .id = 0x4321 });
	l4(p, IPPROTO_UDP, sport, dport, 0, payload);
}

void dpt_udp6(struct pkt *p, const char *dst, __u16 sport, __u16 dport, size_t payload)
{
	pkt_init(p);
	dpt_eth(p);
	pkt_ip6(p, &(struct ip6_spec){ .src = DPT_CLIENT6, .dst = dst });
	l4(p, IPPROTO_UDP, sport, dport, 0, payload);
}

/* ---- running ---- */

int dpt_xdp_run(int prog_fd, int ifindex, const void *in, size_t len, struct dpt_result *r)
{
	struct xdp_md ctx = { .data = 0, .data_end = (__u32)len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	r->err = bpf_prog_test_run_opts(prog_fd, &o);
	if (r->err)
		r->err = -errno;
	r->retval = o.retval;
	r->out_len = o.data_size_out;
	return r->err;
}

/* Sums a PERCPU_ARRAY of svc_counter straight from the map fd, without libsvc. */
static int raw_counters(int fd, __u32 first, __u32 n, struct svc_counter *out)
{
	int ncpus = libbpf_num_possible_cpus(), c, err = 0;
	struct svc_counter *vals;
	__u32 k;

	if (ncpus <= 0)
		return -EINVAL;
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (k = 0; k < n; k++) {
		__u32 key = first + k;

		err = bpf_map_lookup_elem(fd, &key, vals);
		if (err) {
			err = -errno;
			break;
		}
		memset(&out[k], 0, sizeof(out[k]));
		for (c = 0; c < ncpus; c++) {
			out[k].packets += vals[c].packets;
			out[k].bytes += vals[c].bytes;
		}
	}
	free(vals);
	return err;
}

int dpt_stats(struct dpt_env *e, enum svc_prog prog, struct svc_counter *out)
{
	struct svc_counter raw[SVC_REASON_MAX];
	const char *map = prog == SVC_PROG_ROUTER ? "router_stats" : "endpoint_stats";
	int fd, err, i;

	err = svc_dp_stats_read(e->dp, prog, out);
	if (!ASSERT_OK(err, "svc_dp_stats_read"))
		return err;
	fd = svc_dp_map_fd(e->dp, map);
	if (!ASSERT_GE(fd, 0, "svc_dp_map_fd(stats)"))
		return -ENOENT;
	err = raw_counters(fd, 0, SVC_REASON_MAX, raw);
	if (!ASSERT_OK(err, "raw stats map lookup"))
		return err;
	for (i = 0; i < SVC_REASON_MAX; i++) {
		if (raw[i].packets != out[i].packets || raw[i].bytes != out[i].bytes) {
			tp_fail(__FILE__, __LINE__,
				"%s[%s]: libsvc says %llu pkts/%llu bytes, the map %llu/%llu", map,
				svc_reason_label[i], (unsigned long long)out[i].packets,
				(unsigned long long)out[i].bytes,
				(unsigned long long)raw[i].packets,
				(unsigned long long)raw[i].bytes);
			return -EIO;
		}
	}
	return 0;
}

int dpt_rule_count(struct dpt_env *e, __u32 rule_id, __u64 *packets)
{
	struct svc_counter c;
	int err = svc_dp_rule_stats_read(e->dp, rule_id, &c);

	if (!ASSERT_OK(err, "svc_dp_rule_stats_read"))
		return err;
	*packets = c.packets;
	return 0;
}

int dpt_nh_count(struct dpt_env *e, __u32 nh_id, __u64 *packets)
{
	struct svc_counter c;
	int err = svc_dp_nh_stats_read(e->dp, nh_id, &c);

	if (!ASSERT_OK(err, "svc_dp_nh_stats_read"))
		return err;
	*packets = c.packets;
	return 0;
}

/* ---- the model: flow keys and expected frames ---- */

static size_t l3_offset(const __u8 *f, size_t len, __u16 *type)
{
	size_t off = 12;

	*type = 0;
	if (len < 14)
		return 0;
	*type = f[off] << 8 | f[off + 1];
	while ((*type == 0x8100 || *type == 0x88a8) && off + 6 <= len) {
		off += 4;
		*type = f[off] << 8 | f[off + 1];
	}
	return off + 2;
}

static void key_addr(struct svc_addr *a, const __u8 *src, int v6)
{
	memset(a, 0, sizeof(*a));
	if (v6) {
		memcpy(a->b, src, 16);
	} else {
		a->b[10] = a->b[11] = 0xff;
		memcpy(a->b + 12, src, 4);
	}
}

static bool is_ext6(__u8 nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44;
}

/*
 * Parses the IP header at @ip up to its L4 header: addresses into @k; returns
 * the L4 offset from @ip and sets *proto, or returns 0 if malformed.
 */
static size_t ip_l4(const __u8 *ip, size_t len, struct svc_flow_key *k, __u8 *proto)
{
	size_t off = 40, ext;
	__u8 nh;
	int i;

	if (len >= 20 && ip[0] >> 4 == 4) {
		key_addr(&k->src, ip + 12, 0);
		key_addr(&k->dst, ip + 16, 0);
		*proto = ip[9];
		return (size_t)(ip[0] & 0xf) * 4;
	}
	if (len < 40 || ip[0] >> 4 != 6)
		return 0;
	key_addr(&k->src, ip + 8, 1);
	key_addr(&k->dst, ip + 24, 1);
	nh = ip[6];
	for (i = 0; i < 8 && is_ext6(nh); i++) {
		if (off + 8 > len)
			return 0;
		ext = nh == 44	 ? 8
		      : nh == 51 ? ((size_t)ip[off + 1] + 2) * 4
				 : ((size_t)ip[off + 1] + 1) * 8;
		nh = ip[off];
		off += ext;
	}
	*proto = nh;
	return off;
}

int dpt_flow_key(const __u8 *frame, size_t len, struct svc_flow_key *k)
{
	struct svc_flow_key q;
	size_t l3, l4, ql4;
	__u8 proto, qproto;
	const __u8 *ip, *quote;
	__u16 type;

	memset(k, 0, sizeof(*k));
	l3 = l3_offset(frame, len, &type);
	if (!l3 || (type != 0x0800 && type != 0x86dd))
		return -EINVAL;
	ip = frame + l3;
	l4 = ip_l4(ip, len - l3, k, &proto);
	if (!l4 || l3 + l4 + 8 > len)
		return -EINVAL;
	k->proto = proto;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		memcpy(&k->sport, ip + l4, 2);
		memcpy(&k->dport, ip + l4 + 2, 2);
		return 0;
	}
	if ((proto == IPPROTO_ICMP && (ip[l4] == 3 || ip[l4] == 11)) ||
	    (proto == IPPROTO_ICMPV6 && (ip[l4] == 1 || ip[l4] == 2))) {
		/* The quoted packet went instance -> client: reverse it. */
		quote = ip + l4 + 8;
		memset(&q, 0, sizeof(q));
		ql4 = ip_l4(quote, len - l3 - l4 - 8, &q, &qproto);
		if (!ql4 || l3 + l4 + 8 + ql4 + 4 > len)
			return -EINVAL;
		k->src = q.dst;
		k->dst = q.src;
		k->proto = qproto;
		memcpy(&k->sport, quote + ql4 + 2, 2);
		memcpy(&k->dport, quote + ql4, 2);
		return 0;
	}
	return -EINVAL;
}

__u32 dpt_fwd_verdict(__u32 nh_id)
{
	return dpt_nh_model(nh_id)->dev == DPT_IF_IN ? XDP_TX : XDP_REDIRECT;
}

/*
 * Path MTU model (docs/datapath.md, "Path MTU"): the MTU of the link each
 * standard next hop is reached by, and where an IP packet's TCP header starts.
 */
static unsigned int nh_mtu(const struct dpt_nh *m)
{
	return m->dev == DPT_IF_MTU ? 1280 : 1500;
}

/* Offset of the TCP header in IP packet @ip, or 0 if it is not TCP (or unparsable). */
static size_t ip_tcp_off(const __u8 *ip, size_t len)
{
	size_t off;
	__u8 nh;
	int i;

	if (len < 20)
		return 0;
	if (ip[0] >> 4 == 4)
		return ip[9] == IPPROTO_TCP ? (size_t)(ip[0] & 0xf) * 4 : 0;
	if (len < 40)
		return 0;
	nh = ip[6];
	off = 40;
	for (i = 0; i < 8 && off + 8 <= len; i++) {
		if (nh == 0 || nh == 43 || nh == 60) {
			__u8 next = ip[off];

			off += ((size_t)ip[off + 1] + 1) * 8;
			nh = next;
		} else if (nh == 51) {
			__u8 next = ip[off];

			off += ((size_t)ip[off + 1] + 2) * 4;
			nh = next;
		} else if (nh == 44) {
			nh = ip[off];
			off += 8;
		} else {
			break;
		}
	}
	return nh == IPPROTO_TCP && off + 20 <= len ? off : 0;
}

/* Offset of the MSS option's value in TCP header @th (@hlen bytes), or 0. */
static size_t tcp_mss_off(const __u8 *th, size_t hlen)
{
	size_t off = 20;

	while (off < hlen) {
		if (th[off] == 0)
			return 0;
		if (th[off] == 1) {
			off++;
			continue;
		}
		if (off + 1 >= hlen || th[off + 1] < 2 || off + th[off + 1] > hlen)
			return 0;
		if (th[off] == 2 && th[off + 1] == 4)
			return off + 2;
		off += th[off + 1];
	}
	return 0;
}

/* One's-complement sum of @len bytes (big-endian 16-bit words). */
static __u32 sum16(__u32 sum, const __u8 *b, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	return sum;
}

/* Recomputes the TCP checksum of the IP packet @ip whose TCP header is at @l4. */
static void tcp_csum_fix(__u8 *ip, size_t len, size_t l4)
{
	size_t tl = len - l4;
	__u32 sum;

	ip[l4 + 16] = ip[l4 + 17] = 0;
	if (ip[0] >> 4 == 4)
		sum = sum16(0, ip + 12, 8);
	else
		sum = sum16(0, ip + 8, 32);
	sum += IPPROTO_TCP + (__u32)tl;
	sum = sum16(sum, ip + l4, tl);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[l4 + 16] = (__u8)(~sum >> 8);
	ip[l4 + 17] = (__u8)~sum;
}

/*
 * clamp_model - the MSS a forwarded SYN to @m must carry: link MTU - outer
 * header - the packet's own IP header(s) - 20; lowered in @ip (checksum
 * redone) if larger. Returns true when it lowered it.
 */
static bool clamp_model(__u8 *ip, size_t len, const struct dpt_nh *m)
{
	size_t l4 = ip_tcp_off(ip, len), hlen, mo;
	unsigned int max, mss;

	if (!l4 || !(ip[l4 + 13] & TCP_F_SYN))
		return false;
	hlen = (size_t)(ip[l4 + 12] >> 4) * 4;
	if (hlen <= 20 || l4 + hlen > len)
		return false;
	mo = tcp_mss_off(ip + l4, hlen);
	if (!mo)
		return false;
	max = nh_mtu(m) - (m->family == 4 ? 20 : 40) - (unsigned int)l4 - 20;
	mss = (unsigned int)ip[l4 + mo] << 8 | ip[l4 + mo + 1];
	if (mss <= max)
		return false;
	ip[l4 + mo] = (__u8)(max >> 8);
	ip[l4 + mo + 1] = (__u8)max;
	tcp_csum_fix(ip, len, l4);
	return true;
}

bool dpt_fwd_clamps(const __u8 *in, size_t in_len, __u32 nh_id)
{
	__u8 buf[PKT_MAX];
	size_t l3;
	__u16 type;

	l3 = l3_offset(in, in_len, &type);
	if (in_len - l3 > sizeof(buf))
		return false;
	memcpy(buf, in + l3, in_len - l3);
	return clamp_model(buf, in_len - l3, dpt_nh_model(nh_id));
}

void dpt_expect_fwd(struct pkt *exp, const __u8 *in, size_t in_len, __u32 nh_id)
{
	__u8 ibuf[PKT_MAX];
	const struct dpt_nh *m = dpt_nh_model(nh_id);
	struct svc_flow_key k;
	__u8 dmac[6], smac[6], tos;
	const __u8 *inner;
	size_t l3;
	__u16 type;

	l3 = l3_offset(in, in_len, &type);
	inner = in + l3;
	/* DSCP/ECN of the inner header: IPv4 TOS, or IPv6 traffic class. */
	tos = inner[0] >> 4 == 4 ? inner[1] : (__u8)((inner[0] & 0xf) << 4 | inner[1] >> 4);
	pkt_init(exp);
	pkt_mac(m->mac ? m->mac : "00:00:00:00:00:00", dmac);
	dpt_if_mac(m->dev, smac);
	pkt_eth(exp, dmac, smac);
	if (m->family == 4) {
		pkt_ip4(exp, &(struct ip4_spec){
				     .src = DPT_SRC4, .dst = m->addr, .tos = tos, .ttl = 64 });
	} else {
		if (dpt_flow_key(in, in_len, &k))
			tp_fail(__FILE__, __LINE__, "expected frame: input has no flow key");
		pkt_ip6(exp, &(struct ip6_spec){ .src = DPT_SRC6,
						 .dst = m->addr,
						 .tclass = tos,
						 .flowlabel = svc_flow_hash(&k, DPT_SEED) & 0xfffff,
						 .hlim = 64 });
	}
	memcpy(ibuf, inner, in_len - l3);
	clamp_model(ibuf, in_len - l3, m);
	pkt_ip_bytes(exp, ibuf, in_len - l3);
	pkt_finalize(exp);
}

void dpt_expect_decap(struct pkt *exp, const __u8 *in, size_t in_len)
{
	size_t l3, outer;
	__u8 buf[PKT_MAX];
	__u16 type;

	l3 = l3_offset(in, in_len, &type);
	outer = in[l3] >> 4 == 4 ? (size_t)(in[l3] & 0xf) * 4 : 40;
	memcpy(buf, in, l3);
	memcpy(buf + l3, in + l3 + outer, in_len - l3 - outer);
	/* The ethertype right before the IP header now names the inner family. */
	buf[l3 - 2] = buf[l3] >> 4 == 4 ? 0x08 : 0x86;
	buf[l3 - 1] = buf[l3] >> 4 == 4 ? 0x00 : 0xdd;
	pkt_init(exp);
	pkt_raw(exp, 0, -1, buf, in_len - outer);
}

int dpt_predict_nh(struct dpt_env *e, __u32 set_id, const struct svc_flow_key *k, __u32 *nh_id)
{
	__u32 *table = calloc(SVC_CH_SIZE, sizeof(*table));
	int err;

	if (!ASSERT_OK_PTR(table, "calloc ch table"))
		return -ENOMEM;
	err = svc_dp_nhset_read(e->dp, set_id, table);
	if (ASSERT_OK(err, "svc_dp_nhset_read"))
		*nh_id = table[svc_ch_slot(svc_flow_hash(k, DPT_SEED))];
	free(table);
	return err;
}

bool dpt_verify_csums(const char *what, const __u8 *frame, size_t len, int min_checked)
{
	struct csum_report rep;
	int err = csum_verify_frame(frame, len, &rep);

	if (err) {
		tp_fail(__FILE__, __LINE__, "%s: checksum verifier: %s", what, rep.err);
		return false;
	}
	if (rep.checked < min_checked) {
		tp_fail(__FILE__, __LINE__, "%s: only %d checksums verified, expected >= %d", what,
			rep.checked, min_checked);
		return false;
	}
	return true;
}

/* ---- the fixture runner ---- */

static const char *verdict_name(__u32 v)
{
	static const char *const names[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					     "XDP_REDIRECT" };

	return v < 5 ? names[v] : "XDP_?";
}

/* Rule and next-hop ids of the standard configuration whose counters are watched. */
#define WATCH_RULES (SVC_COUNT + 3)
#define WATCH_NHS (NH_MAX_ID + 1)

static __u32 watch_rule_id(int i)
{
	return i <= SVC_COUNT ? (__u32)i : i == SVC_COUNT + 1 ? DPT_RULE_LPM48 : DPT_RULE_LPM64;
}

struct snapshot {
	struct svc_counter stats[SVC_REASON_MAX];
	__u64 rules[WATCH_RULES];
	__u64 nhs[WATCH_NHS];
};

static int snap(struct dpt_env *e, enum svc_prog prog, struct snapshot *s)
{
	int err, i;

	err = dpt_stats(e, prog, s->stats);
	for (i = 1; i < WATCH_RULES && !err; i++)
		err = dpt_rule_count(e, watch_rule_id(i), &s->rules[i]);
	for (i = 1; i < WATCH_NHS && !err; i++)
		err = dpt_nh_count(e, i, &s->nhs[i]);
	return err;
}

/* Exactly one counter moved (and events @ev, @ev2, each if not 0), by one packet of @bytes. */
static bool check_stats(const struct snapshot *a, const struct snapshot *b, const char *map,
			enum svc_reason want, enum svc_reason ev, enum svc_reason ev2, size_t bytes)
{
	bool ok = true;
	int i;

	for (i = 0; i < SVC_REASON_MAX; i++) {
		__u64 dp = b->stats[i].packets - a->stats[i].packets;
		__u64 db = b->stats[i].bytes - a->stats[i].bytes;
		bool w = i == (int)want || (ev && i == (int)ev) || (ev2 && i == (int)ev2);
		__u64 wp = w ? 1 : 0, wb = w ? bytes : 0;

		/*
		 * Whether the router used the next hop's cached egress or the FIB
		 * is router_nhcache's to check; a fixture's outcome is the same.
		 */
		if (i == SVC_R_EV_FIB_FALLBACK && !w)
			continue;

		if (dp != wp || db != wb) {
			tp_fail(__FILE__, __LINE__,
				"%s[%s]: expected +%llu pkts/+%llu bytes, got +%llu/+%llu", map,
				svc_reason_label[i], (unsigned long long)wp, (unsigned long long)wb,
				(unsigned long long)dp, (unsigned long long)db);
			ok = false;
		}
	}
	return ok;
}

static bool check_ids(const __u64 *a, const __u64 *b, int n, __u32 (*id_of)(int), __u32 want,
		      const char *map)
{
	bool ok = true;
	int i;

	for (i = 1; i < n; i++) {
		__u64 d = b[i] - a[i], w = id_of(i) == want ? 1 : 0;

		if (d != w) {
			tp_fail(__FILE__, __LINE__, "%s[%u]: expected +%llu pkts, got +%llu", map,
				id_of(i), (unsigned long long)w, (unsigned long long)d);
			ok = false;
		}
	}
	return ok;
}

static __u32 nh_id_of(int i)
{
	return (__u32)i;
}

static void dump_pcap(const struct pkt *in, const struct pkt *exp, const struct dpt_result *r)
{
	char path[512], name[256];
	const void *frames[1];
	size_t lens[1];
	char *c;

	snprintf(name, sizeof(name), "%s", tp_cur_name());
	for (c = name; *c; c++)
		if (*c == '/')
			*c = '.';
	frames[0] = in->buf;
	lens[0] = in->len;
	snprintf(path, sizeof(path), "%s/%s.in.pcap", tp_pcap_dir, name);
	pcap_write(path, frames, lens, 1);
	frames[0] = r->out;
	lens[0] = r->out_len;
	snprintf(path, sizeof(path), "%s/%s.out.pcap", tp_pcap_dir, name);
	pcap_write(path, frames, lens, r->err ? 0 : 1);
	if (!exp)
		return;
	frames[0] = exp->buf;
	lens[0] = exp->len;
	snprintf(path, sizeof(path), "%s/%s.expected.pcap", tp_pcap_dir, name);
	pcap_write(path, frames, lens, 1);
}

static void dump_packets(const struct pkt *in, const struct pkt *exp, const struct dpt_result *r)
{
	printf("#     input:\n");
	pkt_decode(stdout, "#       ", in->buf, in->len);
	hexdump(stdout, "#       ", in->buf, in->len);
	if (exp) {
		printf("#     expected output:\n");
		pkt_decode(stdout, "#       ", exp->buf, exp->len);
	}
	if (!r->err) {
		printf("#     actual output (%s):\n", verdict_name(r->retval));
		pkt_decode(stdout, "#       ", r->out, r->out_len);
		if (!exp)
			hexdump(stdout, "#       ", r->out, r->out_len);
	}
}

/* Number of checksums an intact frame carries, by the independent verifier. */
static int csum_count(const __u8 *f, size_t len)
{
	struct csum_report rep;

	return csum_verify_frame(f, len, &rep) ? -1 : rep.checked;
}

/* Output checks: bytes against the expectation, then every checksum. */
static bool check_output(const struct pkt *in, const struct pkt *exp, const struct dpt_expect *x,
			 const struct dpt_result *r)
{
	int in_sums = x->malformed ? 0 : csum_count(in->buf, in->len), extra;
	const __u8 *o = r->out;

	switch (x->out) {
	case DPT_OUT_ANY:
		return true;
	case DPT_OUT_UNCHANGED:
		return ASSERT_MEMEQ(o, r->out_len, in->buf, in->len, "output frame (unchanged)");
	case DPT_OUT_FWD:
	case DPT_OUT_DECAP:
		if (!ASSERT_MEMEQ(o, r->out_len, exp->buf, exp->len, "output frame"))
			return false;
		break;
	}
	/*
	 * The verifier must find every checksum of the input again, plus the
	 * outer IPv4 header a forward adds (or minus the one a decap removes).
	 */
	extra = r->out_len > 14 && o[14] >> 4 == 4 ? 1 : 0;
	if (x->out == DPT_OUT_DECAP) {
		__u16 type;

		l3_offset(in->buf, in->len, &type);
		extra = type == 0x0800 ? -1 : 0;
	}
	return dpt_verify_csums("output frame", o, r->out_len, in_sums + extra);
}

bool dpt_check(struct dpt_env *e, enum svc_prog prog, const struct pkt *in,
	       const struct dpt_expect *x, struct dpt_result *r)
{
	struct dpt_result local;
	struct snapshot before, after;
	struct pkt expbuf;
	const struct pkt *exp = x->exp;
	bool ok = true;
	int fd = prog == SVC_PROG_ROUTER ? e->router_fd : e->endpoint_fd;

	if (!r)
		r = &local;
	if (!x->malformed && !dpt_verify_csums("input frame (builder)", in->buf, in->len, 0))
		return false;
	if (!exp && x->out == DPT_OUT_FWD) {
		dpt_expect_fwd(&expbuf, in->buf, in->len, x->nh);
		exp = &expbuf;
	} else if (!exp && x->out == DPT_OUT_DECAP) {
		dpt_expect_decap(&expbuf, in->buf, in->len);
		exp = &expbuf;
	}
	if (snap(e, prog, &before))
		return false;
	dpt_xdp_run(fd, e->ifindex[x->ifdev ? x->ifdev : DPT_IF_IN], in->buf, in->len, r);
	if (tp_pcap_dir)
		dump_pcap(in, exp, r);
	if (!ASSERT_OK(r->err, "bpf_prog_test_run_opts"))
		return false;
	if (r->retval != x->verdict) {
		tp_fail(__FILE__, __LINE__, "verdict: expected %s, got %s",
			verdict_name(x->verdict), verdict_name(r->retval));
		ok = false;
	}
	ok = check_output(in, exp, x, r) && ok;
	if (snap(e, prog, &after))
		return false;
	ok = check_stats(&before, &after,
			 prog == SVC_PROG_ROUTER ? "router_stats" : "endpoint_stats", x->counter,
			 x->event,
			 x->out == DPT_OUT_FWD && prog == SVC_PROG_ROUTER &&
					 dpt_fwd_clamps(in->buf, in->len, x->nh)
				 ? SVC_R_EV_MSS_CLAMPED
				 : 0,
			 in->len) &&
	     ok;
	ok = check_ids(before.rules, after.rules, WATCH_RULES, watch_rule_id, x->rule,
		       "rule_stats") &&
	     ok;
	ok = check_ids(before.nhs, after.nhs, WATCH_NHS, nh_id_of,
		       x->out == DPT_OUT_FWD ? x->nh : 0, "nh_stats") &&
	     ok;
	if (!ok || tp_verbose)
		dump_packets(in, exp, r);
	return ok;
}

void dpt_run_fixture(struct dpt_env *e, const struct dpt_fixture *f)
{
	struct dpt_expect x = {
		.verdict = f->verdict,
		.counter = f->counter,
		.out = f->out,
		.nh = f->nh,
		.rule = f->rule,
		.malformed = f->malformed,
		.ifdev = f->ifdev,
	};
	struct pkt in;

	if (!tp_subtest(f->name))
		return;
	if (tp_verbose)
		tp_diag("%s", f->desc);
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "svc_dp_flows_clear"))
		return;
	if (f->setup && f->setup(e))
		goto cleanup;
	f->build(&in);
	if (!dpt_check(e, f->prog, &in, &x, NULL))
		tp_diag("fixture: %s", f->desc);
cleanup:
	if (f->cleanup)
		f->cleanup(e);
}

void dpt_run_table(struct dpt_env *e, const struct dpt_fixture *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dpt_run_fixture(e, &rows[i]);
}
