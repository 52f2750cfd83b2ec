// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TCP option editing (bpf/lib/optedit.h) through BPF_PROG_TEST_RUN, for the
 * XDP path (header moves toward the head) and the tc path (payload moves):
 * insert and strip with the option first, in the middle, last, after NOP
 * padding, before an EOL; malformed options (length 0, 1, past the header,
 * truncated); no room (data offset, packet length): the packet comes out
 * unchanged and the outcome is counted. Every expected frame is built
 * independently by the packet builder with the options it must end up with,
 * compared byte for byte, and every checksum of the output is recomputed by
 * the independent verifier.
 */
#include <stdio.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tp.h"
#include "pktbuild.h"
#include "csum_verify.h"
#include "svc_tiflow.h"
#include "optedit.skel.h"

/* Mirrors selftests/progs/optedit.bpf.c and enum svc_optedit_ret (bpf/lib/optedit.h). */
enum { T_INSERT = 1, T_STRIP = 2, T_FIND = 3 };
enum { R_OK, R_NO_ROOM, R_BAD, R_EXISTS, R_NONE, R_UNSUPP, R_ERR, R_MAX };

/* Option bytes used by the fixtures. */
#define FID 254, 8, 0x53, 0x56, 0x00, 0x07, 0x12, 0x34 /* flowID 0x00071234: instance 7 */
#define FID_OTHER_EXID 254, 8, 0x11, 0x11, 0x00, 0x07, 0x12, 0x34
#define TS 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 3 /* NOP NOP timestamps */
#define MSS 2, 4, 0x05, 0xb4
#define TI 253, 20, 0x0a, 0x45, 0x30, 0xbe, 0x79, 0xbf, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 9
#define SACK2 1, 1, 5, 18, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0 /* 20 octets */
#define SACK3 1, 1, 5, 26, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0
#define SYNOPT 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7

#define FID_VALUE 0x00071234U
#define TIFID_VALUE 0x0a4530be79bfULL

static const __u8 fid_opt[] = { FID };

#define OPTS(...) (const __u8[]){ __VA_ARGS__ }, sizeof((const __u8[]){ __VA_ARGS__ })
#define NO_OPTS NULL, 0

struct oe_case {
	const char *name;
	int mode;
	const __u8 *in; /* TCP options of the input */
	size_t in_len;
	int ret;	 /* expected outcome */
	const __u8 *out; /* options afterwards (ret R_OK); otherwise the frame is unchanged */
	size_t out_len;
	size_t payload;
	bool v6;
	bool ip_opts; /* IPv4 header with 4 octets of options */
	bool vlan;
	bool syn;	    /* SYN-ACK flags instead of PSH|ACK */
	int max_delta;	    /* insert: max_len = IP length + this (0: no limit) */
	bool gso;	    /* tc: the skb claims to be GSO; not run on XDP */
	bool custom;	    /* strip: m0/m1 below instead of svcplane's options */
	__u8 m_kind, m_len; /* custom strip: one match */
	__u16 m_exid;
	__u32 fid;   /* find: expected flowID */
	__u64 tifid; /* find: expected TIFID */
};

static const struct oe_case cases[] = {
	/* insert */
	{ "insert_no_options", T_INSERT, NO_OPTS, R_OK, OPTS(FID), .payload = 100 },
	{ "insert_last_after_ts", T_INSERT, OPTS(TS), R_OK, OPTS(TS, FID), .payload = 1400 },
	{ "insert_syn_options", T_INSERT, OPTS(SYNOPT), R_OK, OPTS(SYNOPT, FID), .syn = true },
	{ "insert_before_eol", T_INSERT, OPTS(MSS, 0, 0, 0, 0), R_OK, OPTS(MSS, FID, 0, 0, 0, 0),
	  .payload = 10 },
	{ "insert_first_eol_only", T_INSERT, OPTS(0, 0, 0, 0), R_OK, OPTS(FID, 0, 0, 0, 0),
	  .payload = 10 },
	{ "insert_garbage_after_eol", T_INSERT, OPTS(0, 77, 99, 1), R_OK, OPTS(FID, 0, 77, 99, 1),
	  .payload = 10 },
	{ "insert_after_nop_padding", T_INSERT, OPTS(1, 1, 1, 1), R_OK, OPTS(1, 1, 1, 1, FID),
	  .payload = 10 },
	{ "insert_fills_40", T_INSERT, OPTS(TS, SACK2), R_OK, OPTS(TS, SACK2, FID), .payload = 64 },
	{ "insert_no_room_36", T_INSERT, OPTS(TS, SACK2, 1, 1, 1, 1), R_NO_ROOM, .payload = 64 },
	{ "insert_no_room_40", T_INSERT, OPTS(TS, SACK3), R_NO_ROOM, .payload = 64 },
	{ "insert_no_room_mtu", T_INSERT, OPTS(TS), R_NO_ROOM, .payload = 500, .max_delta = 7 },
	{ "insert_mtu_exact", T_INSERT, OPTS(TS), R_OK, OPTS(TS, FID), .payload = 500,
	  .max_delta = 8 },
	{ "insert_exists", T_INSERT, OPTS(TS, FID), R_EXISTS, .payload = 20 },
	{ "insert_bad_len0", T_INSERT, OPTS(2, 0, 0, 0), R_BAD, .payload = 20 },
	{ "insert_bad_len1", T_INSERT, OPTS(TS, 8, 1, 0, 0), R_BAD, .payload = 20 },
	{ "insert_bad_overflow", T_INSERT, OPTS(1, 1, 8, 30, 0, 0, 0, 1, 0, 0, 0, 0), R_BAD,
	  .payload = 20 },
	{ "insert_bad_truncated", T_INSERT, OPTS(1, 1, 1, 8), R_BAD, .payload = 20 },
	{ "insert_v6", T_INSERT, OPTS(TS), R_OK, OPTS(TS, FID), .payload = 777, .v6 = true },
	{ "insert_v6_no_room", T_INSERT, OPTS(TS, SACK3), R_NO_ROOM, .payload = 7, .v6 = true },
	{ "insert_ip_options", T_INSERT, OPTS(TS), R_OK, OPTS(TS, FID), .payload = 33,
	  .ip_opts = true },
	{ "insert_vlan", T_INSERT, OPTS(TS), R_OK, OPTS(TS, FID), .payload = 61, .vlan = true },
	{ "insert_odd_payload", T_INSERT, OPTS(TS), R_OK, OPTS(TS, FID), .payload = 1 },
	{ "insert_big_payload", T_INSERT, OPTS(TS), R_OK, OPTS(TS, FID), .payload = 3001 },
	{ "insert_gso", T_INSERT, OPTS(TS), R_UNSUPP, .payload = 1000, .gso = true },
	/* strip (svcplane's options unless custom) */
	{ "strip_first", T_STRIP, OPTS(FID, TS), R_OK, OPTS(TS), .payload = 100 },
	{ "strip_last", T_STRIP, OPTS(TS, FID), R_OK, OPTS(TS), .payload = 1400 },
	{ "strip_middle", T_STRIP, OPTS(MSS, FID, TS), R_OK, OPTS(MSS, TS), .payload = 9 },
	{ "strip_tiflow_syn", T_STRIP, OPTS(SYNOPT, TI), R_OK, OPTS(SYNOPT), .syn = true },
	{ "strip_both", T_STRIP, OPTS(TS, FID, TI), R_OK, OPTS(TS), .payload = 50 },
	{ "strip_only_option", T_STRIP, OPTS(FID), R_OK, NO_OPTS, .payload = 50 },
	{ "strip_odd_length_pads_nops", T_STRIP, OPTS(254, 6, 0x12, 0x34, 0xaa, 0xbb, 1, 1, TS),
	  R_OK, OPTS(1, 1, TS, 1, 1), .payload = 5, .custom = true, .m_kind = 254, .m_len = 0,
	  .m_exid = 0x1234 },
	{ "strip_none", T_STRIP, OPTS(TS), R_NONE, .payload = 20 },
	{ "strip_no_options", T_STRIP, NO_OPTS, R_NONE, .payload = 20 },
	{ "strip_after_eol_ignored", T_STRIP, OPTS(0, 0, 0, 0, FID), R_NONE, .payload = 20 },
	{ "strip_wrong_exid", T_STRIP, OPTS(FID_OTHER_EXID), R_NONE, .payload = 20 },
	{ "strip_tiflow_wrong_length", T_STRIP, OPTS(253, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1), R_NONE,
	  .payload = 20 },
	{ "strip_bad_len0", T_STRIP, OPTS(FID, 254, 0, 0, 0), R_BAD, .payload = 20 },
	{ "strip_bad_overflow", T_STRIP, OPTS(FID, 8, 10, 0, 0), R_BAD, .payload = 20 },
	{ "strip_v6", T_STRIP, OPTS(TS, FID), R_OK, OPTS(TS), .payload = 501, .v6 = true },
	{ "strip_ip_options_vlan", T_STRIP, OPTS(FID, TS), R_OK, OPTS(TS), .payload = 3,
	  .ip_opts = true, .vlan = true },
	{ "strip_big_payload", T_STRIP, OPTS(TS, FID), R_OK, OPTS(TS), .payload = 3001 },
	{ "strip_gso", T_STRIP, OPTS(TS, FID), R_UNSUPP, .payload = 1000, .gso = true },
	/* find */
	{ "find_flowid_first", T_FIND, OPTS(FID, TS), R_OK, .fid = FID_VALUE },
	{ "find_flowid_middle", T_FIND, OPTS(MSS, FID, TS), R_OK, .fid = FID_VALUE },
	{ "find_flowid_last", T_FIND, OPTS(TS, FID), R_OK, .fid = FID_VALUE },
	{ "find_tiflow", T_FIND, OPTS(SYNOPT, TI), R_OK, .syn = true, .tifid = TIFID_VALUE },
	{ "find_both", T_FIND, OPTS(TS, FID, TI), R_OK, .fid = FID_VALUE, .tifid = TIFID_VALUE },
	{ "find_none", T_FIND, OPTS(TS), R_OK },
	{ "find_wrong_exid", T_FIND, OPTS(FID_OTHER_EXID), R_OK },
	{ "find_bad_len0", T_FIND, OPTS(1, 1, 254, 0), R_BAD },
};

/* The frame: Ethernet [+ VLAN] + IPv4 [+ options] / IPv6 + TCP with @opts + payload. */
static void build(struct pkt *p, const struct oe_case *c, const __u8 *opts, size_t optlen)
{
	static const __u8 ipopts[4] = { 1, 1, 1, 1 };
	struct tcp_spec t = { .sport = 40001,
			      .dport = 80,
			      .seq = 0x01020304,
			      .ack = 0x0a0b0c0d,
			      .flags = c->syn ? TCP_F_SYN | TCP_F_ACK : TCP_F_PSH | TCP_F_ACK,
			      .opts = opts,
			      .optlen = optlen };
	__u8 dst[6], src[6];

	pkt_mac("02:00:00:00:00:01", dst);
	pkt_mac("02:00:00:00:00:02", src);
	pkt_init(p);
	pkt_eth(p, dst, src);
	if (c->vlan)
		pkt_vlan(p, 0x8100, 42);
	if (c->v6)
		pkt_ip6(p, &(struct ip6_spec){ .src = "fd00::100",
					       .dst = "fd00:100::1",
					       .tclass = 0x28,
					       .flowlabel = 0x12345 });
	else
		pkt_ip4(p, &(struct ip4_spec){ .src = "10.0.0.100",
					       .dst = "10.100.0.1",
					       .tos = 0x28,
					       .id = 0x4242,
					       .frag = 0x4000,
					       .opts = c->ip_opts ? ipopts : NULL,
					       .optlen = c->ip_opts ? sizeof(ipopts) : 0 });
	pkt_tcp(p, &t);
	if (c->payload)
		pkt_payload(p, NULL, c->payload);
	pkt_finalize(p);
}

/* IP packet length of a frame built by build(). */
static size_t ip_len(const struct pkt *p)
{
	return p->len - pkt_l3_off(p);
}

static int run(struct optedit_bpf *skel, bool xdp, const struct oe_case *c, const struct pkt *in,
	       __u8 *out, __u32 *out_len, __u32 *retval)
{
	struct __sk_buff ctx = { .gso_segs = 2, .gso_size = 500 };
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = in->buf, .data_size_in = in->len,
		    .data_out = out, .data_size_out = PKT_MAX, .repeat = 1);
	int fd, err;

	if (xdp) {
		fd = bpf_program__fd(skel->progs.optedit_xdp);
	} else {
		fd = bpf_program__fd(skel->progs.optedit_tc);
		if (c->gso) {
			topts.ctx_in = &ctx;
			topts.ctx_size_in = sizeof(ctx);
		}
	}
	err = bpf_prog_test_run_opts(fd, &topts);
	*out_len = topts.data_size_out;
	*retval = topts.retval;
	return err;
}

static void configure(struct optedit_bpf *skel, const struct oe_case *c, const struct pkt *in)
{
	skel->bss->mode = c->mode;
	memset(skel->bss->opt, 0, sizeof(skel->bss->opt));
	memcpy(skel->bss->opt, fid_opt, sizeof(fid_opt));
	skel->bss->olen = sizeof(fid_opt);
	skel->bss->max_len = c->max_delta ? ip_len(in) + c->max_delta : 0;
	if (c->custom) {
		skel->bss->m_kind[0] = c->m_kind;
		skel->bss->m_len[0] = c->m_len;
		skel->bss->m_exid[0] = c->m_exid;
		skel->bss->m_kind[1] = skel->bss->m_len[1] = skel->bss->m_exid[1] = 0;
	} else {
		skel->bss->m_kind[0] = SVC_TIFLOW_KIND_DEFAULT;
		skel->bss->m_len[0] = SVC_TIFLOW_LEN;
		skel->bss->m_exid[0] = 0;
		skel->bss->m_kind[1] = SVC_FLOWID_KIND;
		skel->bss->m_len[1] = SVC_FLOWID_LEN;
		skel->bss->m_exid[1] = SVC_FLOWID_EXID_DEFAULT;
	}
	skel->bss->last_ret = -100;
	skel->bss->found_fid = 0xdeadbeef;
	skel->bss->found_tifid = 0xdeadbeef;
}

static void one(struct optedit_bpf *skel, bool xdp, const struct oe_case *c)
{
	static __u8 out[PKT_MAX];
	struct pkt in, exp;
	struct csum_report rep;
	__u64 before;
	__u32 out_len = 0, retval = 0;
	bool edited = c->ret == R_OK && c->mode != T_FIND;

	build(&in, c, c->in, c->in_len);
	if (edited)
		build(&exp, c, c->out, c->out_len);
	else
		exp = in;
	configure(skel, c, &in);
	before = skel->bss->counts[c->ret];
	if (!ASSERT_OK(run(skel, xdp, c, &in, out, &out_len, &retval), "bpf_prog_test_run"))
		return;
	ASSERT_EQ(retval, xdp ? 2 /* XDP_PASS */ : 0 /* TC_ACT_OK */, "verdict");
	ASSERT_EQ(skel->bss->last_ret, c->ret, "outcome");
	ASSERT_EQ(skel->bss->counts[c->ret] - before, 1, "outcome counted once");
	ASSERT_MEMEQ(out, out_len, exp.buf, exp.len, "output frame");
	if (ASSERT_OK(csum_verify_frame(out, out_len, &rep), "output checksums"))
		ASSERT_GE(rep.checked, c->v6 ? 1 : 2, "checksums verified");
	else
		tp_diag("checksum verifier: %s", rep.err);
	if (c->mode == T_FIND && c->ret == R_OK) {
		ASSERT_EQ(skel->bss->found_fid, c->fid, "flowID found");
		ASSERT_EQ(skel->bss->found_tifid, c->tifid, "TIFID found");
	}
}

TEST(optedit)
{
	struct optedit_bpf *skel;
	char name[96];
	size_t i;
	int xdp;

	skel = optedit_bpf__open_and_load();
	if (!ASSERT_OK_PTR(skel, "optedit_bpf__open_and_load"))
		return;
	for (xdp = 1; xdp >= 0; xdp--) {
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			if (xdp && cases[i].gso)
				continue;
			snprintf(name, sizeof(name), "%s/%s", xdp ? "xdp" : "tc", cases[i].name);
			if (!tp_subtest(name))
				continue;
			one(skel, xdp, &cases[i]);
		}
	}
	optedit_bpf__destroy(skel);
}
