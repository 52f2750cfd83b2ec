/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared by the direct-path selftests (direct_learn.c, direct_egress.c): the
 * direct programs loaded through libsvc (agent/lib/direct.h) into the test
 * namespace of dptest.h, with their maps pinned in its pin directory; one
 * BPF_PROG_TEST_RUN of a tc program with a given device; the counter check
 * (exactly one reason counts the frame, with its length).
 */
#ifndef SVC_DIRECT_TEST_H
#define SVC_DIRECT_TEST_H

#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tp.h"
#include "dptest.h"
#include "csum_verify.h"
#include "direct.h"
#include "svc_tiflow.h"

#define TC_ACT_UNSPEC_U32 0xffffffffU /* TC_ACT_UNSPEC (-1) as test_run's retval */
#define TC_ACT_OK_U32 0U
#define TC_ACT_SHOT_U32 2U
#define TC_ACT_REDIRECT_U32 7U

/* Addresses of the tests (inside the dptest namespace). */
#define DT_CLIENT4 DPT_CLIENT4 /* 10.0.0.100 */
#define DT_CLIENT6 DPT_CLIENT6 /* fd00::100 */
#define DT_VIP4 "10.100.0.1"
#define DT_VIP6 "fd00:100::1"

struct dtest {
	struct dpt_env e;
	struct svc_direct *d;
	int ingress_fd, egress_fd;
};

/* dtest_open - the dptest namespace and pin directory, the direct programs in it. */
static inline int dtest_open(struct dtest *t)
{
	struct svc_direct_config cfg = { 0 };
	int err;

	memset(t, 0, sizeof(*t));
	err = dpt_env_open(&t->e);
	if (err)
		return err;
	cfg.pin_dir = t->e.pin_dir;
	err = svc_direct_open(&cfg, &t->d);
	if (!ASSERT_OK(err, "svc_direct_open")) {
		dpt_env_close(&t->e);
		return err;
	}
	t->ingress_fd = svc_direct_prog_fd(t->d, false);
	t->egress_fd = svc_direct_prog_fd(t->d, true);
	if (!ASSERT_GE(t->ingress_fd, 0, "ingress prog fd") ||
	    !ASSERT_GE(t->egress_fd, 0, "egress prog fd"))
		return -ENOENT;
	return 0;
}

/* dtest_close - close the direct programs, remove their pins, then the data plane's. */
static inline void dtest_close(struct dtest *t)
{
	svc_direct_close(t->d);
	t->d = NULL;
	ASSERT_OK(svc_direct_unpin(t->e.pin_dir), "svc_direct_unpin");
	dpt_env_close(&t->e);
}

static inline int dtest_ifindex(const char *name)
{
	int i = (int)if_nametoindex(name);

	if (!i)
		tp_fail(__FILE__, __LINE__, "if_nametoindex %s: %s", name, strerror(errno));
	return i;
}

/* What one run returned. */
struct dtest_res {
	__u32 retval;
	__u32 len;
	__u8 out[PKT_MAX];
};

/*
 * dtest_run - run @fd once on @in as a frame on device @ifname (the egress
 * device for the egress program); @gso: claim GSO (gso_size 1000, 2 segments).
 */
static inline int dtest_run(int fd, const char *ifname, const struct pkt *in, bool gso,
			    struct dtest_res *r)
{
	struct __sk_buff ctx = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = in->buf, .data_size_in = in->len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err;

	ctx.ifindex = dtest_ifindex(ifname);
	if (gso) {
		ctx.gso_size = 1000;
		ctx.gso_segs = 2;
	}
	err = bpf_prog_test_run_opts(fd, &topts);
	r->retval = topts.retval;
	r->len = topts.data_size_out;
	return err;
}

/* dtest_stats - the direct counters now. */
static inline bool dtest_stats(struct dtest *t, struct svc_counter *c)
{
	memset(c, 0, sizeof(*c) * SVC_DIRECT_REASON_MAX);
	return ASSERT_OK(svc_direct_stats_read(t->d, c), "svc_direct_stats_read");
}

/* dtest_counted - between @before and @after exactly @reason counted one frame of @bytes. */
static inline bool dtest_counted(const struct svc_counter *before, const struct svc_counter *after,
				 int reason, __u64 bytes)
{
	bool ok = true;
	int i;

	for (i = 0; i < SVC_DIRECT_REASON_MAX; i++) {
		__u64 dp = after[i].packets - before[i].packets;
		__u64 db = after[i].bytes - before[i].bytes;

		if (i == reason) {
			ok &= ASSERT_EQ(dp, 1, "packets of the expected counter");
			ok &= ASSERT_EQ(db, bytes, "bytes of the expected counter");
		} else if (dp) {
			tp_fail(__FILE__, __LINE__, "counter %d counted %llu packets, want 0 (%d)",
				i, (unsigned long long)dp, reason);
			ok = false;
		}
	}
	return ok;
}

/* dtest_key - the client -> VIP key the direct programs use. */
static inline void dtest_key(struct svc_flow_key *k, bool v6, __u16 sport, __u16 dport)
{
	memset(k, 0, sizeof(*k));
	dpt_addr(v6 ? DT_CLIENT6 : DT_CLIENT4, &k->src);
	dpt_addr(v6 ? DT_VIP6 : DT_VIP4, &k->dst);
	k->sport = htons(sport);
	k->dport = htons(dport);
	k->proto = IPPROTO_TCP;
}

/* The frame builders' common part: Ethernet + IP (@from -> @to) + TCP + payload. */
static inline void dtest_frame(struct pkt *p, bool v6, bool to_vip, __u16 cport, __u8 flags,
			       const __u8 *opts, size_t optlen, size_t payload)
{
	struct tcp_spec t = { .sport = to_vip ? cport : 80,
			      .dport = to_vip ? 80 : cport,
			      .seq = 0x11223344,
			      .ack = 0x55667788,
			      .flags = flags,
			      .opts = opts,
			      .optlen = optlen };
	const char *c = v6 ? DT_CLIENT6 : DT_CLIENT4, *v = v6 ? DT_VIP6 : DT_VIP4;
	__u8 dst[6], src[6];

	pkt_mac("02:00:00:00:00:01", dst);
	pkt_mac("02:00:00:00:00:02", src);
	pkt_init(p);
	pkt_eth(p, dst, src);
	if (v6)
		pkt_ip6(p, &(struct ip6_spec){ .src = to_vip ? c : v,
					       .dst = to_vip ? v : c,
					       .tclass = 0x20,
					       .flowlabel = 0x777 });
	else
		pkt_ip4(p, &(struct ip4_spec){ .src = to_vip ? c : v,
					       .dst = to_vip ? v : c,
					       .tos = 0x20,
					       .id = 0x99,
					       .frag = 0x4000 });
	pkt_tcp(p, &t);
	if (payload)
		pkt_payload(p, NULL, payload);
	pkt_finalize(p);
}

/* dtest_flowid_opt - the flowID option bytes for @fid (default ExID). */
static inline void dtest_flowid_opt(__u8 o[8], __u32 fid)
{
	o[0] = SVC_FLOWID_KIND;
	o[1] = SVC_FLOWID_LEN;
	o[2] = SVC_FLOWID_EXID_DEFAULT >> 8;
	o[3] = SVC_FLOWID_EXID_DEFAULT & 0xff;
	o[4] = fid >> 24;
	o[5] = fid >> 16;
	o[6] = fid >> 8;
	o[7] = fid;
}

#endif /* SVC_DIRECT_TEST_H */
