// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Direct path, egress (bpf/direct.bpf.c svc_direct_egress).
 *
 * Client host: a packet of a learnt connection leaves encapsulated (IPIP,
 * IP6IP6, or across families) to the host of its instance, with the flowID
 * option inserted, Ethernet addresses from the FIB; the inner packet is the
 * client's own, so its socket still talks to the VIP. Fallbacks: no room for
 * the option (header full, or the MTU), an option already there or malformed
 * options: encapsulated without inserting; no route, no instance address, no
 * outer source: passed unchanged to the router path; a SYN passes and makes
 * the connection forget its instance. Every expected frame is built
 * independently by the packet builder and compared byte for byte; every
 * output checksum is recomputed.
 *
 * Instance host: SYN-ACKs from a local service address get the flowID of
 * this host's instance id (16 random flow bits) when there is room. Then the
 * round trip: the stamped SYN-ACK teaches a client, whose next packet goes to
 * the instance with that very flowID.
 */
#include <arpa/inet.h>
#include "direct_test.h"
#include "svc_hash.h"
#include "svc_optmac.h"

/* Instances of the client-side fixtures and how the test namespace reaches their hosts. */
static const struct dinst {
	__u16 id;
	const char *addr;
	const char *mac; /* neighbour (NULL: none) */
	const char *dev;
} insts[] = {
	{ 7, "10.1.0.10", "02:00:00:01:00:0a", "tpout0" },
	{ 8, "fd00:1::10", "02:00:00:01:06:0a", "tpout0" },
	{ 9, "10.1.0.99", NULL, "tpout0" },
	{ 10, "10.9.9.9", NULL, NULL },
	{ 11, "10.2.0.10", "02:00:00:02:00:0a", "tpmtu0" },
	{ 12, "10.0.0.10", "02:00:00:00:00:0a", "tpin0" },
};

#define INST_NO_ADDR 13
#define SRC4 "10.1.0.1"
#define SRC6 "fd00:1::1"

static const struct dinst *inst_model(__u16 id)
{
	size_t i;

	for (i = 0; i < sizeof(insts) / sizeof(insts[0]); i++)
		if (insts[i].id == id)
			return &insts[i];
	return NULL;
}

static const char *dev_mac(const char *dev)
{
	if (!strcmp(dev, "tpin0"))
		return "02:00:00:00:00:01";
	if (!strcmp(dev, "tpout0"))
		return "02:00:00:00:01:01";
	return "02:00:00:00:02:01";
}

#define TS 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 3
#define SACK2 1, 1, 5, 18, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0
#define FLOWID(inst) (((__u32)(inst) << 16) | 0x4242)

enum eout {
	OUT_SAME,	/* unchanged */
	OUT_ENCAP,	/* encapsulated, flowID option inserted */
	OUT_ENCAP_ASIS, /* encapsulated, inner packet as it was */
};

struct ecase {
	const char *name;
	bool v6;    /* inner family */
	__u16 inst; /* the learnt connection's instance; 0: nothing learnt */
	__u8 flags; /* TCP flags (0: PSH|ACK) */
	__u8 opts[40];
	size_t optlen;
	size_t payload;
	const char *dev;	 /* the egress device (NULL: tpout0) */
	const char *src4, *src6; /* configured outer sources */
	bool no_opt;		 /* SVC_DIRECT_CFG_F_NO_OPT */
	bool gso, vlan, udp;
	bool no_fwd; /* the egress device does not forward (a plain client host) */
	int reason;
	__u32 verdict;
	enum eout out;
	const char *outer_src; /* expected outer source (NULL: the inner source) */
	bool forgets;	       /* the learnt entry is gone afterwards */
};

#define PA (TCP_F_PSH | TCP_F_ACK)

static const struct ecase cases[] = {
	{ "direct_v4",
	  false,
	  7,
	  PA,
	  { TS },
	  12,
	  100,
	  .reason = SVC_DR_TX_DIRECT,
	  .verdict = TC_ACT_OK_U32,
	  .out = OUT_ENCAP },
	{ "direct_v4_pure_ack_no_options",
	  false,
	  7,
	  TCP_F_ACK,
	  { 0 },
	  0,
	  0,
	  .reason = SVC_DR_TX_DIRECT,
	  .verdict = TC_ACT_OK_U32,
	  .out = OUT_ENCAP },
	{ "direct_v4_fin",
	  false,
	  7,
	  TCP_F_FIN | TCP_F_ACK,
	  { TS },
	  12,
	  0,
	  .reason = SVC_DR_TX_DIRECT,
	  .verdict = TC_ACT_OK_U32,
	  .out = OUT_ENCAP },
	{ "direct_v4_odd_payload",
	  false,
	  7,
	  PA,
	  { TS },
	  12,
	  1001,
	  .reason = SVC_DR_TX_DIRECT,
	  .verdict = TC_ACT_OK_U32,
	  .out = OUT_ENCAP },
	{ "direct_v4_src_configured",
	  false,
	  7,
	  PA,
	  { TS },
	  12,
	  10,
	  .src4 = SRC4,
	  .reason = SVC_DR_TX_DIRECT,
	  .verdict = TC_ACT_OK_U32,
	  .out = OUT_ENCAP,
	  .outer_src = SRC4 },
	{ "direct_v6",
	  true,
	  8,
	  PA,
	  { TS },
	  12,
	  300,
	  .reason = SVC_DR_TX_DIRECT,
	  .verdict = TC_ACT_OK_U32,
	  .out = OUT_ENCAP },
	{ "direct_v4_in_v6",
	  false,
	  8,
	  PA,
	  { TS },
	  12,
	  30,
	  .src6 = SRC6,
	  .reason = SVC_DR_TX_DIRECT,
	  .verdict = TC_ACT_OK_U32,
	  .out = OUT_ENCAP,
	  .outer_src = SRC6 },
	{ "direct_v6_in_v4",
	  true,
	  7,
	  PA,
	  { TS },
	  12,
	  30,
	  .src4 = SRC4,
	  .reason = SVC_DR_TX_DIRECT,
	  .verdict = TC_ACT_OK_U32,
	  .out = OUT_ENCAP,
	  .outer_src = SRC4 },
	{ "no_outer_source_of_family",
	  false,
	  8,
	  PA,
	  { TS },
	  12,
	  30,
	  .reason = SVC_DR_TX_NO_SRC,
	  .verdict = TC_ACT_UNSPEC_U32,
	  .out = OUT_SAME },
	{ "no_room_in_header",
	  false,
	  7,
	  PA,
	  { TS, SACK2, 1, 1, 1, 1 },
	  36,
	  40,
	  .reason = SVC_DR_TX_DIRECT_NO_ROOM,
	  .verdict = TC_ACT_OK_U32,
	  .out = OUT_ENCAP_ASIS },
	{ "flowid_already_there",
	  false,
	  7,
	  PA,
	  { TS, 254, 8, 0x53, 0x56, 0x00, 0x07, 0x42, 0x42 },
	  20,
	  40,
	  .reason = SVC_DR_TX_DIRECT_NO_OPT,
	  .verdict = TC_ACT_OK_U32,
	  .out = OUT_ENCAP_ASIS },
	{ "malformed_options_sent_as_they_are",
	  false,
	  7,
	  PA,
	  { 8, 0, 0, 0 },
	  4,
	  40,
	  .reason = SVC_DR_TX_DIRECT_NO_OPT,
	  .verdict = TC_ACT_OK_U32,
	  .out = OUT_ENCAP_ASIS },
	{ "option_insertion_off",
	  false,
	  7,
	  PA,
	  { TS },
	  12,
	  40,
	  .no_opt = true,
	  .reason = SVC_DR_TX_DIRECT_NO_OPT,
	  .verdict = TC_ACT_OK_U32,
	  .out = OUT_ENCAP_ASIS },
	/* tpmtu0 has MTU 1280: 1260 + 20 fits, 1260 + 8 + 20 does not */
	{ "mtu_no_room_for_option",
	  false,
	  11,
	  PA,
	  { TS },
	  12,
	  1208,
	  .dev = "tpmtu0",
	  .reason = SVC_DR_TX_DIRECT_NO_ROOM,
	  .verdict = TC_ACT_OK_U32,
	  .out = OUT_ENCAP_ASIS },
	{ "mtu_option_fits",
	  false,
	  11,
	  PA,
	  { TS },
	  12,
	  1200,
	  .dev = "tpmtu0",
	  .reason = SVC_DR_TX_DIRECT,
	  .verdict = TC_ACT_OK_U32,
	  .out = OUT_ENCAP },
	{ "mtu_too_big",
	  false,
	  11,
	  PA,
	  { TS },
	  12,
	  1209,
	  .dev = "tpmtu0",
	  .reason = SVC_DR_TX_FIB,
	  .verdict = TC_ACT_UNSPEC_U32,
	  .out = OUT_SAME },
	{ "no_neighbour_kernel_resolves",
	  false,
	  9,
	  PA,
	  { TS },
	  12,
	  20,
	  .reason = SVC_DR_TX_DIRECT,
	  .verdict = TC_ACT_REDIRECT_U32,
	  .out = OUT_ENCAP },
	/* the lookup is made for this device (BPF_FIB_LOOKUP_OUTPUT): another one is no route */
	{ "instance_via_other_device_not_direct",
	  false,
	  12,
	  PA,
	  { TS },
	  12,
	  20,
	  .reason = SVC_DR_TX_FIB,
	  .verdict = TC_ACT_UNSPEC_U32,
	  .out = OUT_SAME },
	/* a host that does not forward: device MTU here, route and neighbour by the kernel */
	{ "not_forwarding_kernel_routes",
	  false,
	  7,
	  PA,
	  { TS },
	  12,
	  100,
	  .no_fwd = true,
	  .reason = SVC_DR_TX_DIRECT,
	  .verdict = TC_ACT_REDIRECT_U32,
	  .out = OUT_ENCAP,
	  .outer_src = NULL },
	{ "not_forwarding_v6",
	  true,
	  8,
	  PA,
	  { TS },
	  12,
	  100,
	  .no_fwd = true,
	  .reason = SVC_DR_TX_DIRECT,
	  .verdict = TC_ACT_REDIRECT_U32,
	  .out = OUT_ENCAP },
	{ "not_forwarding_mtu_no_room_for_option",
	  false,
	  11,
	  PA,
	  { TS },
	  12,
	  1208,
	  .dev = "tpmtu0",
	  .no_fwd = true,
	  .reason = SVC_DR_TX_DIRECT_NO_ROOM,
	  .verdict = TC_ACT_REDIRECT_U32,
	  .out = OUT_ENCAP_ASIS },
	{ "not_forwarding_mtu_too_big",
	  false,
	  11,
	  PA,
	  { TS },
	  12,
	  1209,
	  .dev = "tpmtu0",
	  .no_fwd = true,
	  .reason = SVC_DR_TX_FIB,
	  .verdict = TC_ACT_UNSPEC_U32,
	  .out = OUT_SAME },
	{ "no_route",
	  false,
	  10,
	  PA,
	  { TS },
	  12,
	  20,
	  .reason = SVC_DR_TX_FIB,
	  .verdict = TC_ACT_UNSPEC_U32,
	  .out = OUT_SAME },
	{ "instance_without_address",
	  false,
	  INST_NO_ADDR,
	  PA,
	  { TS },
	  12,
	  20,
	  .reason = SVC_DR_TX_NO_INST,
	  .verdict = TC_ACT_UNSPEC_U32,
	  .out = OUT_SAME },
	{ "syn_goes_to_router_and_forgets",
	  false,
	  7,
	  TCP_F_SYN,
	  { TS },
	  12,
	  0,
	  .reason = SVC_DR_TX_SYN,
	  .verdict = TC_ACT_UNSPEC_U32,
	  .out = OUT_SAME,
	  .forgets = true },
	{ "not_learnt",
	  false,
	  0,
	  PA,
	  { TS },
	  12,
	  20,
	  .reason = SVC_DR_TX_PASS,
	  .verdict = TC_ACT_UNSPEC_U32,
	  .out = OUT_SAME },
	{ "udp",
	  false,
	  7,
	  0,
	  { 0 },
	  0,
	  20,
	  .udp = true,
	  .reason = SVC_DR_TX_PASS,
	  .verdict = TC_ACT_UNSPEC_U32,
	  .out = OUT_SAME },
	{ "vlan_tagged_not_handled",
	  false,
	  7,
	  PA,
	  { TS },
	  12,
	  20,
	  .vlan = true,
	  .reason = SVC_DR_TX_PASS,
	  .verdict = TC_ACT_UNSPEC_U32,
	  .out = OUT_SAME },
	/*
	 * A test-run skb that claims GSO has no GSO type: bpf_skb_adjust_room
	 * refuses it, which shows the failure path: the packet goes on as it was.
	 */
	{ "encap_refused_passes_unchanged",
	  false,
	  7,
	  PA,
	  { TS },
	  12,
	  1500,
	  .gso = true,
	  .reason = SVC_DR_TX_ENCAP_FAIL,
	  .verdict = TC_ACT_UNSPEC_U32,
	  .out = OUT_SAME },
};

/* The client's frame of case @c (client -> VIP), with options @opts. */
static void client_frame(struct pkt *p, const struct ecase *c, const __u8 *opts, size_t optlen,
			 __u16 cport)
{
	__u8 dst[6], src[6];

	if (!c->vlan && !c->udp) {
		dtest_frame(p, c->v6, true, cport, c->flags ?: PA, opts, optlen, c->payload);
		return;
	}
	pkt_mac("02:00:00:00:00:01", dst);
	pkt_mac("02:00:00:00:00:02", src);
	pkt_init(p);
	pkt_eth(p, dst, src);
	if (c->vlan)
		pkt_vlan(p, 0x8100, 3);
	pkt_ip4(p, &(struct ip4_spec){ .src = DT_CLIENT4, .dst = DT_VIP4, .tos = 0x20 });
	if (c->udp) {
		pkt_udp(p, cport, 80);
	} else {
		struct tcp_spec t = { .sport = cport,
				      .dport = 80,
				      .flags = c->flags ?: PA,
				      .opts = opts,
				      .optlen = optlen };

		pkt_tcp(p, &t);
	}
	pkt_payload(p, NULL, c->payload);
	pkt_finalize(p);
}

/* The frame the client host must send: Ethernet + outer header + @inner's IP packet. */
static void expect_encap(struct pkt *exp, const struct ecase *c, const struct pkt *inner,
			 const struct dinst *m, __u16 cport, const __u8 *in_frame, bool neigh)
{
	const char *src = c->outer_src ?: (c->v6 ? DT_CLIENT6 : DT_CLIENT4);
	size_t l3 = pkt_l3_off(inner);
	bool v6 = strchr(m->addr, ':') != NULL;
	struct svc_flow_key k;
	__u8 dst[6], smac[6];

	if (neigh) {
		pkt_mac(m->mac, dst);
		pkt_mac(dev_mac(m->dev), smac);
	} else {
		/* the kernel fills them in after bpf_redirect_neigh(); the program leaves them */
		memcpy(dst, in_frame, 6);
		memcpy(smac, in_frame + 6, 6);
	}
	pkt_init(exp);
	pkt_eth(exp, dst, smac);
	if (v6) {
		dtest_key(&k, c->v6, cport, 80);
		pkt_ip6(exp, &(struct ip6_spec){ .src = src,
						 .dst = m->addr,
						 .tclass = 0x20,
						 .flowlabel = svc_flow_hash(&k, 0) & 0xfffff });
	} else {
		pkt_ip4(exp, &(struct ip4_spec){ .src = src, .dst = m->addr, .tos = 0x20 });
	}
	pkt_ip_bytes(exp, inner->buf + l3, inner->len - l3);
	pkt_finalize(exp);
}

static int set_cfg(struct dtest *t, const struct ecase *c)
{
	struct svc_addr s4, s6;

	if (c->src4 && dpt_addr(c->src4, &s4))
		return -EINVAL;
	if (c->src6 && dpt_addr(c->src6, &s6))
		return -EINVAL;
	if (!ASSERT_OK(svc_direct_set_src(t->d, c->src4 ? &s4 : NULL, c->src6 ? &s6 : NULL),
		       "svc_direct_set_src") ||
	    !ASSERT_OK(svc_direct_set_no_opt(t->d, c->no_opt), "svc_direct_set_no_opt"))
		return -EIO;
	return 0;
}

/* forwarding - turn IPv4 and IPv6 forwarding of @dev on or off. */
static bool forwarding(const char *dev, bool on)
{
	const char *fam[2] = { "ipv4", "ipv6" };
	char path[128];
	FILE *f;
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/forwarding", fam[i], dev);
		f = fopen(path, "w");
		if (!ASSERT_OK_PTR(f, path))
			return false;
		fputs(on ? "1" : "0", f);
		if (!ASSERT_OK(fclose(f), path))
			return false;
	}
	return true;
}

static int learn(struct dtest *t, bool v6, __u16 inst, __u16 cport)
{
	struct svc_direct_flow f = { .flowid = FLOWID(inst),
				     .instance = inst,
				     .source = SVC_DIRECT_SRC_FLOWID,
				     .learnt_ns = 1 };
	struct svc_flow_key k;
	int fd = svc_direct_map_fd(t->d, "direct_flows");

	dtest_key(&k, v6, cport, 80);
	if (!ASSERT_GE(fd, 0, "direct_flows fd"))
		return -ENOENT;
	return ASSERT_OK(bpf_map_update_elem(fd, &k, &f, BPF_ANY), "learn (map update)") ? 0 : -EIO;
}

static void one(struct dtest *t, const struct ecase *c, __u16 cport)
{
	struct svc_counter before[SVC_DIRECT_REASON_MAX], after[SVC_DIRECT_REASON_MAX];
	const struct dinst *m = inst_model(c->inst);
	struct svc_flow_key k;
	struct svc_direct_flow f;
	struct csum_report rep;
	struct pkt in, inner, exp;
	__u8 opts[48];
	struct dtest_res r;
	int fd, err;

	if (!ASSERT_OK(svc_direct_flows_clear(t->d, NULL), "flows_clear") || set_cfg(t, c))
		return;
	if (c->inst && learn(t, c->v6, c->inst, cport))
		return;
	client_frame(&in, c, c->opts, c->optlen, cport);
	if (c->no_fwd && !forwarding(c->dev ?: "tpout0", false))
		return;
	err = !dtest_stats(t, before) ||
	      !ASSERT_OK(dtest_run(t->egress_fd, c->dev ?: "tpout0", &in, c->gso, &r), "test run");
	if (c->no_fwd && !forwarding(c->dev ?: "tpout0", true))
		return;
	if (err)
		return;
	ASSERT_EQ(r.retval, c->verdict, "verdict");
	if (dtest_stats(t, after))
		dtest_counted(before, after, c->reason, in.len);
	if (c->out == OUT_SAME) {
		ASSERT_MEMEQ(r.out, r.len, in.buf, in.len, "frame unchanged");
	} else if (ASSERT_OK_PTR(m, "instance model")) {
		memcpy(opts, c->opts, c->optlen);
		if (c->out == OUT_ENCAP)
			dtest_flowid_opt(opts + c->optlen, FLOWID(c->inst));
		client_frame(&inner, c, opts, c->optlen + (c->out == OUT_ENCAP ? 8 : 0), cport);
		expect_encap(&exp, c, &inner, m, cport, in.buf, m->mac != NULL && !c->no_fwd);
		ASSERT_MEMEQ(r.out, r.len, exp.buf, exp.len, "encapsulated frame");
	}
	if (ASSERT_OK(csum_verify_frame(r.out, r.len, &rep), "output checksums"))
		ASSERT_GE(rep.checked, 1, "checksums verified");
	else
		tp_diag("checksum verifier: %s", rep.err);
	fd = svc_direct_map_fd(t->d, "direct_flows");
	dtest_key(&k, c->v6, cport, 80);
	if (c->forgets)
		ASSERT_EQ(bpf_map_lookup_elem(fd, &k, &f), -ENOENT, "entry forgotten");
	else if (c->inst && !c->udp)
		ASSERT_OK(bpf_map_lookup_elem(fd, &k, &f), "entry kept");
}

/* ---- instance host: stamping ---- */

#define STAMP_ID 7
#define SYNACK 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7
#define TI 253, 20, 0x0a, 0x45, 0x30, 0x00, 0x07, 0x5b, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 9

struct scase {
	const char *name;
	bool v6;
	__u8 flags;
	__u8 opts[40];
	size_t optlen;
	bool other_src; /* from an address that is not a local service */
	bool no_id;	/* instance id 0 */
	int reason;
	bool stamped;
};

#define SA (TCP_F_SYN | TCP_F_ACK)

static const struct scase scases[] = {
	{ "stamp_v4", false, SA, { SYNACK }, 20, .reason = SVC_DR_TX_STAMP, .stamped = true },
	{ "stamp_v6", true, SA, { SYNACK }, 20, .reason = SVC_DR_TX_STAMP, .stamped = true },
	{ "stamp_no_options", false, SA, { 0 }, 0, .reason = SVC_DR_TX_STAMP, .stamped = true },
	{ "stamp_no_room_tiflow",
	  false,
	  SA,
	  { SYNACK, TI },
	  40,
	  .reason = SVC_DR_TX_STAMP_NO_ROOM },
	{ "stamp_already_there",
	  false,
	  SA,
	  { SYNACK, 254, 8, 0x53, 0x56, 0, 7, 0, 1 },
	  28,
	  .reason = SVC_DR_TX_STAMP_SKIP },
	{ "stamp_malformed",
	  false,
	  SA,
	  { 2, 4, 5, 0xb4, 3, 0, 0, 0 },
	  8,
	  .reason = SVC_DR_TX_STAMP_SKIP },
	{ "not_a_local_service",
	  false,
	  SA,
	  { SYNACK },
	  20,
	  .other_src = true,
	  .reason = SVC_DR_TX_PASS },
	{ "no_instance_id", false, SA, { SYNACK }, 20, .no_id = true, .reason = SVC_DR_TX_PASS },
	{ "data_not_stamped", false, PA, { SYNACK }, 20, .reason = SVC_DR_TX_PASS },
};

/* The SYN-ACK VIP -> client (or from another address). */
static void synack(struct pkt *p, const struct scase *c, const __u8 *opts, size_t optlen)
{
	struct tcp_spec t = { .sport = 80,
			      .dport = 43000,
			      .seq = 7,
			      .ack = 8,
			      .flags = c->flags,
			      .opts = opts,
			      .optlen = optlen };
	__u8 dst[6], src[6];

	if (!c->other_src) {
		dtest_frame(p, c->v6, false, 43000, c->flags, opts, optlen, 0);
		return;
	}
	pkt_mac("02:00:00:00:00:01", dst);
	pkt_mac("02:00:00:00:00:02", src);
	pkt_init(p);
	pkt_eth(p, dst, src);
	pkt_ip4(p, &(struct ip4_spec){ .src = "10.100.0.2", .dst = DT_CLIENT4 });
	pkt_tcp(p, &t);
	pkt_finalize(p);
}

/* Runs @c once; on a stamp returns the flowID found in the output (0 otherwise). */
static __u32 stamp_one(struct dtest *t, const struct scase *c)
{
	struct svc_counter before[SVC_DIRECT_REASON_MAX], after[SVC_DIRECT_REASON_MAX];
	struct csum_report rep;
	struct pkt in, exp;
	struct dtest_res r;
	__u8 opts[48];
	size_t o;
	__u32 fid;

	if (!ASSERT_OK(svc_direct_set_instance_id(t->d, c->no_id ? 0 : STAMP_ID), "instance id"))
		return 0;
	synack(&in, c, c->opts, c->optlen);
	if (!dtest_stats(t, before) ||
	    !ASSERT_OK(dtest_run(t->egress_fd, "tpout0", &in, false, &r), "test run"))
		return 0;
	ASSERT_EQ(r.retval, TC_ACT_UNSPEC_U32, "verdict: passed on");
	if (dtest_stats(t, after))
		dtest_counted(before, after, c->reason, in.len);
	if (ASSERT_OK(csum_verify_frame(r.out, r.len, &rep), "output checksums"))
		ASSERT_GE(rep.checked, 1, "checksums verified");
	else
		tp_diag("checksum verifier: %s", rep.err);
	if (!c->stamped) {
		ASSERT_MEMEQ(r.out, r.len, in.buf, in.len, "frame unchanged");
		return 0;
	}
	/* The option goes last; its 16 flow bits are random: take them from the output. */
	o = pkt_layer_ptr(&in, PKT_TCP, 0) - in.buf + 20 + c->optlen;
	if (!ASSERT_GE(r.len, o + 8, "output long enough"))
		return 0;
	fid = ((__u32)r.out[o + 4] << 24) | (r.out[o + 5] << 16) | (r.out[o + 6] << 8) |
	      r.out[o + 7];
	ASSERT_EQ(fid >> 16, STAMP_ID, "flowID instance bits = this host's instance id");
	memcpy(opts, c->opts, c->optlen);
	dtest_flowid_opt(opts + c->optlen, fid);
	synack(&exp, c, opts, c->optlen + 8);
	ASSERT_MEMEQ(r.out, r.len, exp.buf, exp.len, "stamped SYN-ACK");
	return fid;
}

static void stamp_tests(struct dtest *t)
{
	struct svc_addr v4, v6;
	__u32 seen[8], distinct = 0;
	size_t i, j;

	if (!ASSERT_OK(dpt_addr(DT_VIP4, &v4), "vip4") ||
	    !ASSERT_OK(dpt_addr(DT_VIP6, &v6), "vip6") ||
	    !ASSERT_OK(svc_direct_local_update(t->d, &v4), "local_update v4") ||
	    !ASSERT_OK(svc_direct_local_update(t->d, &v6), "local_update v6"))
		return;
	for (i = 0; i < sizeof(scases) / sizeof(scases[0]); i++)
		if (tp_subtest(scases[i].name))
			stamp_one(t, &scases[i]);
	if (tp_subtest("stamp_flow_bits_keyed")) {
		/* With the deployment key: the keyed check of the client -> VIP flow. */
		static const __u64 k[2] = { DPT_OPT_K0, DPT_OPT_K1 };
		struct svc_flow_key fk;

		dtest_key(&fk, false, 43000, 80);
		ASSERT_EQ(stamp_one(t, &scases[0]),
			  svc_flowid_make(STAMP_ID, svc_flowid_mac(k, &fk, STAMP_ID)),
			  "flowID = instance << 16 | keyed check");
	}
	if (tp_subtest("stamp_flow_bits_random_without_key") &&
	    ASSERT_OK(svc_dp_set_opt_key(t->e.dp, NULL), "clear key")) {
		for (i = 0; i < 8; i++) {
			seen[i] = stamp_one(t, &scases[0]);
			for (j = 0; j < i && seen[j] != seen[i]; j++)
				;
			distinct += j == i;
		}
		ASSERT_GE(distinct, 2, "distinct flowIDs over 8 SYN-ACKs");
		ASSERT_OK(svc_dp_set_opt_key(t->e.dp, dpt_opt_key), "restore key");
	}
	if (tp_subtest("local_service_removed")) {
		struct scase c = scases[0];

		c.reason = SVC_DR_TX_PASS;
		c.stamped = false;
		if (ASSERT_OK(svc_direct_local_delete(t->d, &v4), "local_delete"))
			stamp_one(t, &c);
		ASSERT_OK(svc_direct_local_update(t->d, &v4), "local_update");
	}
}

/*
 * The round trip through both roles: the instance host's stamped SYN-ACK
 * reaches the client host's ingress, which learns; the client's next packet
 * leaves toward the instance's host carrying the same flowID.
 */
static void round_trip(struct dtest *t)
{
	struct svc_counter before[SVC_DIRECT_REASON_MAX], after[SVC_DIRECT_REASON_MAX];
	const struct ecase c = {
		.inst = STAMP_ID, .flags = PA, .opts = { TS }, .optlen = 12, .payload = 64
	};
	struct pkt in, inner, exp;
	struct dtest_res r;
	__u8 opts[20] = { TS };
	__u32 fid;

	if (!ASSERT_OK(svc_direct_flows_clear(t->d, NULL), "flows_clear") || set_cfg(t, &c))
		return;
	fid = stamp_one(t, &scases[0]);
	if (!ASSERT_NEQ(fid, 0, "stamped"))
		return;
	/* the stamped SYN-ACK as the client host receives it */
	dtest_flowid_opt(opts + 12, fid);
	{
		const __u8 sa[28] = { SYNACK };
		__u8 o[28];

		memcpy(o, sa, 20);
		dtest_flowid_opt(o + 20, fid);
		dtest_frame(&in, false, false, 43000, SA, o, sizeof(o), 0);
	}
	if (!dtest_stats(t, before) ||
	    !ASSERT_OK(dtest_run(t->ingress_fd, "tpout0", &in, false, &r), "ingress run") ||
	    !dtest_stats(t, after) || !dtest_counted(before, after, SVC_DR_RX_LEARN_FLOWID, in.len))
		return;
	client_frame(&in, &c, c.opts, c.optlen, 43000);
	if (!ASSERT_OK(dtest_run(t->egress_fd, "tpout0", &in, false, &r), "egress run"))
		return;
	ASSERT_EQ(r.retval, TC_ACT_OK_U32, "verdict");
	client_frame(&inner, &c, opts, 20, 43000);
	expect_encap(&exp, &c, &inner, inst_model(STAMP_ID), 43000, in.buf, true);
	ASSERT_MEMEQ(r.out, r.len, exp.buf, exp.len, "client packet carries the stamped flowID");
}

TEST(direct_egress)
{
	struct svc_addr a;
	struct dtest t;
	size_t i;

	if (dtest_open(&t))
		return;
	for (i = 0; i < sizeof(insts) / sizeof(insts[0]); i++)
		if (!ASSERT_OK(dpt_addr(insts[i].addr, &a), "addr") ||
		    !ASSERT_OK(svc_direct_instance_update(t.d, insts[i].id, &a), "instance_update"))
			goto out;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (tp_subtest(cases[i].name))
			one(&t, &cases[i], (__u16)(44000 + i));
	stamp_tests(&t);
	if (tp_subtest("round_trip_stamp_learn_send"))
		round_trip(&t);
out:
	dtest_close(&t);
}
