// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Test harness for bpf/lib/optedit.h: an XDP and a tc program that edit TCP options as told. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lib/consts.h"
#include "lib/parse.h"
#include "lib/optedit.h"

/* What the next run does; the test writes these through the skeleton. */
#define OPTEDIT_T_INSERT 1
#define OPTEDIT_T_STRIP 2
#define OPTEDIT_T_FIND 3

__u32 mode;		  /* OPTEDIT_T_* */
__u8 opt[SVC_OPT_SPACE];  /* insert: the option */
__u32 olen;		  /* insert: its length */
__u32 max_len;		  /* insert: largest IP length allowed after it (0 = none) */
__u8 m_kind[2];		  /* strip: the two struct svc_opt_match to remove */
__u8 m_len[2];
__u16 m_exid[2];

/* What the last run did. */
int last_ret;		       /* enum svc_optedit_ret, or -1: the frame did not parse */
__u64 counts[SVC_OPTEDIT_RET_MAX]; /* outcomes, fallbacks included */
__u32 found_fid;	       /* find: flowID found (0: none) */
__u64 found_tifid;	       /* find: TIFID found (0: none) */

static __always_inline void matches(struct svc_opt_match *m0, struct svc_opt_match *m1)
{
	m0->kind = m_kind[0];
	m0->len = m_len[0];
	m0->exid = m_exid[0];
	m1->kind = m_kind[1];
	m1->len = m_len[1];
	m1->exid = m_exid[1];
}

static __always_inline void record(int r)
{
	last_ret = r;
	if (r >= 0 && r < SVC_OPTEDIT_RET_MAX)
		counts[r]++;
}

SEC("xdp")
int optedit_xdp(struct xdp_md *ctx)
{
	struct svc_optedit_scratch *s;
	struct svc_opt_match m0, m1;
	struct svc_pkt p = {};
	int r;

	matches(&m0, &m1);
	p.len = ctx->data_end - ctx->data;
	if (svc_parse(ctx, &p) != SVC_CONTINUE || p.key.proto != IPPROTO_TCP) {
		last_ret = -1;
		return XDP_PASS;
	}
	if (mode == OPTEDIT_T_INSERT) {
		r = svc_xdp_opt_insert(ctx, &p, opt, olen, max_len);
	} else if (mode == OPTEDIT_T_STRIP) {
		r = svc_xdp_opt_strip(ctx, &p, &m0, &m1);
	} else {
		s = svc_optedit_scratch();
		r = SVC_OPTEDIT_UNSUPP;
		if (s && p.l4_hlen >= SVC_TCPHDR_MIN && p.l4_hlen <= SVC_TCPHDR_MAX &&
		    !bpf_xdp_load_bytes(ctx, p.l4_off, s->old, SVC_BOUND1(p.l4_hlen, SVC_TCPHDR_BUF)))
			r = svc_optedit_find(s, p.l4_hlen, &found_fid, &found_tifid);
	}
	record(r);
	return r == SVC_OPTEDIT_ERR ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int optedit_tc(struct __sk_buff *skb)
{
	struct svc_optedit_scratch *s;
	struct svc_opt_match m0, m1;
	struct svc_pkt p = {};
	int r;

	matches(&m0, &m1);
	if (svc_skb_parse(skb, &p) || p.key.proto != IPPROTO_TCP) {
		last_ret = -1;
		return TC_ACT_OK;
	}
	if (mode == OPTEDIT_T_INSERT) {
		r = svc_skb_opt_insert(skb, &p, opt, olen, max_len);
	} else if (mode == OPTEDIT_T_STRIP) {
		r = svc_skb_opt_strip(skb, &p, &m0, &m1);
	} else {
		s = svc_optedit_scratch();
		r = SVC_OPTEDIT_UNSUPP;
		if (s && p.l4_hlen >= SVC_TCPHDR_MIN && p.l4_hlen <= SVC_TCPHDR_MAX &&
		    !bpf_skb_load_bytes(skb, p.l4_off, s->old, p.l4_hlen))
			r = svc_optedit_find(s, p.l4_hlen, &found_fid, &found_tifid);
	}
	record(r);
	return r == SVC_OPTEDIT_ERR ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
