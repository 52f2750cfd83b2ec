/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP option editing in a packet, for XDP and for tc (skb): insert an option
 * (the flowID) or strip options (svcplane's own), with the IP total length /
 * payload length, the TCP data offset and the IP and TCP checksums updated
 * incrementally (only the TCP header is summed again, never the payload).
 *
 * How the bytes move:
 * - XDP: the TCP header grows toward the head: bpf_xdp_adjust_head() and the
 *   L2 + L3 + TCP headers are written back one option-length earlier; the
 *   payload does not move.
 * - tc: the TCP header stays where it is and the payload moves by the option
 *   length (bpf_skb_change_tail + chunked copy). A locally sent TCP packet is
 *   CHECKSUM_PARTIAL at tc egress: the kernel still has to sum it from
 *   csum_start, the TCP header's offset, which BPF cannot change, so the
 *   header must keep its place. bpf_l4_csum_replace() updates the checksum
 *   field the right way for either state (partial: pseudo-header only).
 *   GSO packets are refused (SVC_OPTEDIT_UNSUPP): change_tail would drop their
 *   GSO state, and their MSS is the stack's to shrink, not ours.
 *
 * Every edit first plans the new TCP header in a per-CPU scratch buffer; a
 * packet it cannot edit (no room, malformed options, too long headers) is
 * left byte for byte as it was and the caller counts the reason.
 */
#ifndef SVC_BPF_OPTEDIT_H
#define SVC_BPF_OPTEDIT_H

#include "parse.h"
#include "csum.h"
#include "tcpopt.h"
#include "verifier.h"

/* What an edit did. Every value but SVC_OPTEDIT_ERR leaves an unedited packet intact. */
enum svc_optedit_ret {
	SVC_OPTEDIT_OK = 0,	 /* edited */
	SVC_OPTEDIT_NO_ROOM = 1, /* data offset would pass 15 words, or the packet max_len */
	SVC_OPTEDIT_BAD = 2,	 /* malformed options (length 0/1/past the header, truncated) */
	SVC_OPTEDIT_EXISTS = 3,	 /* insert: an option of that kind (and ExID) is already there */
	SVC_OPTEDIT_NONE = 4,	 /* strip: no matching option */
	SVC_OPTEDIT_UNSUPP = 5,	 /* not TCP, GSO, headers past the bounded buffers, helper refused */
	SVC_OPTEDIT_ERR = 6,	 /* a write failed half-way: the packet is damaged, drop it */
	SVC_OPTEDIT_RET_MAX,
};

/* L2 + L3 headers the XDP path rewrites (Ethernet, 2 VLAN tags, IPv4 with options / IPv6). */
#define SVC_OPTEDIT_PREFIX_MAX 128
/* Payload bytes the tc path moves per helper call. */
#define SVC_OPTEDIT_CHUNK 256
/* Longest payload the tc path moves (bpf_loop iterations = this / chunk). */
#define SVC_OPTEDIT_SHIFT_MAX 65536

/* Room for options in a TCP header: the most an inserted option can take. */
#define SVC_OPT_SPACE (SVC_TCPHDR_MAX - SVC_TCPHDR_MIN)
/* Offset of the checksum in the TCP header. */
#define SVC_TCP_CSUM_OFF 16

/*
 * An option to strip: @kind, @len (0 = any length), @exid (host order; 0 =
 * no ExID check, else the option's octets 2-3 must equal it).
 */
struct svc_opt_match {
	__u8 kind;
	__u8 len;
	__u16 exid;
};

/*
 * Loop state. Each bpf_loop() callback below keeps what it carries from one
 * iteration to the next in the per-CPU scratch (a map value); its stack
 * context holds only pointers (struct svc_optedit_loop). Linux 6.1's verifier
 * checks a callback's body once, as if it ran exactly once from the caller's
 * state (fixed in 6.7: "bpf: verify callbacks as if they are called unknown
 * number of times"; Debian 12's 6.1.0 lacks it), and a privileged load then
 * rewrites the branches it never saw taken into jumps. With this state on the
 * stack, 6.1 took the strip copy's output index to be at most 4 after the
 * loop, turned the "j < SVC_TCPHDR_MIN" check into an unconditional return of
 * SVC_OPTEDIT_UNSUPP (every strip failed) and the flowID/TIFID search found
 * nothing, while 6.18 computed both right (selftest optedit). The verifier
 * assumes nothing about map memory, so every kernel checks these callbacks
 * for any number of iterations.
 */

/* State of one option walk over s->old. */
struct svc_optwalk {
	struct svc_opt_match m[2]; /* options to strip (kind 0: unused) */
	__u64 strip;		   /* bit i: octet i of the header belongs to a matched option */
	__u32 hlen;		   /* header length */
	__u32 off;		   /* where the next option starts */
	__u32 end;		   /* where the option list ends: an EOL, or hlen */
	__u32 removed;		   /* octets of matched options */
	__u32 fid_off;		   /* first flowID option (our ExID, length 8); 0 = none */
	__u32 ti_off;		   /* first TI-flow option (configured kind, length 20); 0 = none */
	__u32 bad;		   /* malformed option met: the walk stopped there */
	__u32 ended;		   /* the walk reached the end of the options */
	__u32 syn;		   /* in: the header is a SYN's (a TI-flow option may resume) */
	__u32 route;		   /* enum svc_opt_route of the first option naming an instance */
	__u32 instance;		   /* that option's instance */
	__u64 id;		   /* that option's id: the 48-bit TIFID or the flowID */
};

/* State of the header copy from s->old to s->new. */
struct svc_optcopy {
	__u64 strip; /* strip: octets of old that are left out */
	__u32 old_len, new_len;
	__u32 end;  /* insert: the option goes here (old offset) */
	__u32 olen; /* insert: its length */
	__u32 j;    /* strip: next octet of new */
};

/* State of a payload move at tc: the region [a, b) moves by delta octets. */
struct svc_shift {
	__u32 a, b;
	__s32 delta; /* > 0: toward the end (copied backward), < 0: toward the start */
	__u32 err;
};

/* Per-CPU scratch: the buffers are too big for the 512-byte BPF stack together. */
struct svc_optedit_scratch {
	__u8 old[SVC_TCPHDR_BUF];		  /* the TCP header as it is */
	__u8 new[SVC_TCPHDR_BUF];		  /* the TCP header as it will be */
	__u8 opt[SVC_TCPHDR_BUF];		  /* the option to insert */
	__u8 prefix[SVC_OPTEDIT_PREFIX_MAX]; /* XDP: L2 + L3 headers */
	__u8 chunk[SVC_OPTEDIT_CHUNK];	  /* tc: payload being moved */
	struct svc_optwalk w;		  /* loop state (see above) */
	struct svc_optcopy c;
	struct svc_shift sh;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct svc_optedit_scratch);
} optedit_scratch SEC(".maps");

/* The stack context of every callback here: pointers only, never loop state. */
struct svc_optedit_loop {
	struct svc_optedit_scratch *s;
	struct __sk_buff *skb; /* the tc payload move only */
};

/* svc_opt_is_match - the option of @kind/@len at @start matches @m. */
static __always_inline bool svc_opt_is_match(const __u8 *h, __u32 start, __u8 kind, __u8 len,
					     const struct svc_opt_match *m)
{
	if (!m->kind || m->kind != kind || (m->len && m->len != len))
		return false;
	if (!m->exid)
		return true;
	return len >= 4 && svc_hdr16(h, start + 2) == m->exid;
}

/* One step of the walk: classify the option at w->off (bpf_loop callback). */
static long svc_optwalk_cb(__u32 i, void *arg)
{
	struct svc_optedit_scratch *s = ((struct svc_optedit_loop *)arg)->s;
	struct svc_optwalk *w = &s->w;
	const __u8 *h = s->old;
	__u32 start = w->off;
	__u8 kind = 0, len = 0;
	__u16 instance = 0;
	__u64 id = 0;
	int r;

	r = svc_tcpopt_step(h, w->hlen, &w->off, &kind, &len);
	if (r == SVC_OPTW_END) {
		w->end = start;
		w->ended = 1;
		return 1;
	}
	if (r == SVC_OPTW_BAD) {
		w->bad = 1;
		return 1;
	}
	if (r != SVC_OPTW_OPT || start >= SVC_TCPHDR_MAX || len > SVC_TCPHDR_MAX - SVC_TCPHDR_MIN)
		return 0;
	if (kind == SVC_FLOWID_KIND && len == SVC_FLOWID_LEN && !w->fid_off &&
	    svc_hdr16(h, start + 2) == flowid_exid)
		w->fid_off = start;
	if (kind == tiflow_kind && len == SVC_TIFLOW_LEN && !w->ti_off)
		w->ti_off = start;
	if (!w->route) {
		r = svc_opt_instance(h, start, kind, len, w->syn, &instance, &id);
		if (r != SVC_OPT_NONE) {
			w->route = r;
			w->instance = instance;
			w->id = id;
		}
	}
	if (svc_opt_is_match(h, start, kind, len, &w->m[0]) ||
	    svc_opt_is_match(h, start, kind, len, &w->m[1])) {
		w->strip |= ((1ULL << len) - 1) << start;
		w->removed += len;
	}
	return 0;
}

/**
 * svc_optwalk - walk the options of the header in s->old (@hlen octets)
 * @m0, @m1: options to strip (NULL: none)
 * @syn: the header is a SYN's (for route/instance)
 *
 * Fills s->w: end, fid_off, ti_off, route/instance and, for
 * @m0/@m1, strip/removed.
 * Returns SVC_OPTEDIT_OK or SVC_OPTEDIT_BAD (malformed options: nothing after
 * the bad one can be trusted, as in the kernel's tcp_parse_options()).
 */
static __always_inline int svc_optwalk(struct svc_optedit_scratch *s, __u32 hlen,
				       const struct svc_opt_match *m0,
				       const struct svc_opt_match *m1, bool syn)
{
	struct svc_optedit_loop l = { .s = s };
	struct svc_optwalk *w = &s->w;

	__builtin_memset(w, 0, sizeof(*w));
	if (m0)
		w->m[0] = *m0;
	if (m1)
		w->m[1] = *m1;
	w->hlen = hlen;
	w->syn = syn;
	w->off = SVC_TCPHDR_MIN;
	w->end = hlen;
	/* Every step consumes at least one octet: 40 steps and the final END. */
	if (bpf_loop(SVC_TCPOPT_MAX_STEPS + 1, svc_optwalk_cb, &l, 0) < 0)
		return SVC_OPTEDIT_UNSUPP;
	if (w->bad || !w->ended)
		return SVC_OPTEDIT_BAD;
	return SVC_OPTEDIT_OK;
}

/* Insert: new[i] from old before @end, the option, then the rest of old. */
static long svc_optcopy_insert_cb(__u32 i, void *arg)
{
	struct svc_optedit_scratch *s = ((struct svc_optedit_loop *)arg)->s;
	struct svc_optcopy *c = &s->c;
	__u8 v;

	if (i >= c->new_len)
		return 1;
	if (i < c->end)
		v = s->old[i & (SVC_TCPHDR_BUF - 1)];
	else if (i < c->end + c->olen)
		v = s->opt[(i - c->end) & (SVC_TCPHDR_BUF - 1)];
	else
		v = s->old[(i - c->olen) & (SVC_TCPHDR_BUF - 1)];
	s->new[i & (SVC_TCPHDR_BUF - 1)] = v;
	return 0;
}

/* Strip: the octets of old not in the strip mask, in order. */
static long svc_optcopy_strip_cb(__u32 i, void *arg)
{
	struct svc_optedit_scratch *s = ((struct svc_optedit_loop *)arg)->s;
	struct svc_optcopy *c = &s->c;

	if (i >= c->old_len || i >= SVC_TCPHDR_BUF)
		return 1;
	if (!((c->strip >> i) & 1)) {
		s->new[c->j & (SVC_TCPHDR_BUF - 1)] = s->old[i & (SVC_TCPHDR_BUF - 1)];
		c->j++;
	}
	return 0;
}

/* svc_set_doff - write data offset @len / 4 into the header in @h. */
static __always_inline void svc_set_doff(__u8 *h, __u32 len)
{
	h[12] = (h[12] & 0x0f) | (__u8)((len / 4) << 4);
}

/**
 * svc_optedit_plan_insert - build the header with option s->opt (@olen octets) added
 * @max_len: largest IP packet length allowed after the edit (0 = no limit)
 *
 * The option goes where the option list ends: before an EOL (an option after
 * it would be ignored), else at the end. @olen must be a multiple of 4.
 * Sets *@new_len. Returns enum svc_optedit_ret (OK, NO_ROOM, BAD, EXISTS).
 */
static __always_inline int svc_optedit_plan_insert(struct svc_optedit_scratch *s, __u32 hlen,
						   __u32 olen, __u32 ip_len, __u32 max_len,
						   __u32 *new_len)
{
	struct svc_optedit_loop l = { .s = s };
	struct svc_optcopy *c = &s->c;
	int r;

	if (!olen || olen & 3 || olen > SVC_OPT_SPACE)
		return SVC_OPTEDIT_UNSUPP;
	r = svc_optwalk(s, hlen, NULL, NULL, false);
	if (r != SVC_OPTEDIT_OK)
		return r;
	/* The same option already there: a second one would only confuse readers. */
	if (s->opt[0] == SVC_FLOWID_KIND && s->w.fid_off)
		return SVC_OPTEDIT_EXISTS;
	if (s->opt[0] == tiflow_kind && s->w.ti_off)
		return SVC_OPTEDIT_EXISTS;
	if (hlen + olen > SVC_TCPHDR_MAX || (max_len && ip_len + olen > max_len))
		return SVC_OPTEDIT_NO_ROOM;
	__builtin_memset(c, 0, sizeof(*c));
	c->old_len = hlen;
	c->olen = olen;
	c->end = s->w.end;
	c->new_len = hlen + olen;
	if (bpf_loop(SVC_TCPHDR_MAX, svc_optcopy_insert_cb, &l, 0) < 0)
		return SVC_OPTEDIT_UNSUPP;
	svc_set_doff(s->new, hlen + olen);
	*new_len = hlen + olen;
	return SVC_OPTEDIT_OK;
}

/**
 * svc_optedit_plan_strip - build the header without the options matching @m0 / @m1
 *
 * When the octets removed are not a multiple of 4, NOPs at the end of the
 * options make up the difference (the data offset counts 4-octet words).
 * Sets *@new_len. Returns OK, NONE or BAD.
 */
static __always_inline int svc_optedit_plan_strip(struct svc_optedit_scratch *s, __u32 hlen,
						  const struct svc_opt_match *m0,
						  const struct svc_opt_match *m1, __u32 *new_len)
{
	struct svc_optedit_loop l = { .s = s };
	struct svc_optcopy *c = &s->c;
	__u32 j;
	int r;

	r = svc_optwalk(s, hlen, m0, m1, false);
	if (r != SVC_OPTEDIT_OK)
		return r;
	if (!s->w.removed)
		return SVC_OPTEDIT_NONE;
	__builtin_memset(c, 0, sizeof(*c));
	c->old_len = hlen;
	c->strip = s->w.strip;
	if (bpf_loop(SVC_TCPHDR_MAX, svc_optcopy_strip_cb, &l, 0) < 0)
		return SVC_OPTEDIT_UNSUPP;
	j = c->j;
	/* Pad to a word boundary with NOPs (at most 3). */
	if (j & 3)
		s->new[j++ & (SVC_TCPHDR_BUF - 1)] = SVC_TCPOPT_NOP;
	if (j & 3)
		s->new[j++ & (SVC_TCPHDR_BUF - 1)] = SVC_TCPOPT_NOP;
	if (j & 3)
		s->new[j++ & (SVC_TCPHDR_BUF - 1)] = SVC_TCPOPT_NOP;
	if (j < SVC_TCPHDR_MIN || j >= hlen)
		return SVC_OPTEDIT_UNSUPP;
	svc_set_doff(s->new, j);
	*new_len = j;
	return SVC_OPTEDIT_OK;
}

/* Folds a 64-bit one's-complement sum to 16 bits (not complemented). */
static __always_inline __u16 svc_csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffffULL) + (sum >> 32);
	sum = (sum & 0xffffffffULL) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/*
 * svc_optedit_hdr_diff - one's-complement sum of (new header - old header),
 * as bpf_csum_diff gives it (memory order). Negative on a helper error.
 */
static __always_inline __s64 svc_optedit_hdr_diff(struct svc_optedit_scratch *s, __u32 old_len,
						  __u32 new_len)
{
	if (old_len > SVC_TCPHDR_MAX || new_len > SVC_TCPHDR_MAX)
		return -1;
	/* Both lengths are multiples of 4 up to 60: the mask keeps them, for the verifier. */
	return bpf_csum_diff((__be32 *)s->old, old_len & 0x3c, (__be32 *)s->new, new_len & 0x3c, 0);
}

/* The TCP length the pseudo-header carries: IP packet length minus the IP headers. */
static __always_inline __u32 svc_tcp_len(const struct svc_pkt *p)
{
	return p->ip_len - (p->l4_off - p->l3_off);
}

/* TCP checksum (memory order) after header change @diff and TCP length @old_tl -> @new_tl. */
static __always_inline __u16 svc_tcp_csum_update(__u16 check, __u64 diff, __u32 old_tl,
						 __u32 new_tl)
{
	__u64 sum = (__u16)~check;

	sum += diff;
	sum += (__u16)~bpf_htons((__u16)old_tl);
	sum += bpf_htons((__u16)new_tl);
	return (__u16)~svc_csum_fold64(sum);
}

/* Is @p a TCP packet whose headers the edit functions can handle? */
static __always_inline bool svc_optedit_ok(const struct svc_pkt *p)
{
	if (p->key.proto != IPPROTO_TCP || p->is_icmp)
		return false;
	if (p->l3_proto != ETH_P_IP && p->l3_proto != ETH_P_IPV6)
		return false;
	if (p->l4_hlen < SVC_TCPHDR_MIN || p->l4_hlen > SVC_TCPHDR_MAX)
		return false;
	if (p->l4_off < p->l3_off || p->ip_len < p->l4_off - p->l3_off + p->l4_hlen)
		return false;
	return true;
}

static __always_inline struct svc_optedit_scratch *svc_optedit_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&optedit_scratch, &zero);
}

/*
 * svc_optedit_set_opt - copy the option to insert into s->opt. @opt must be
 * readable for @olen octets (olen <= SVC_OPT_SPACE); a constant @olen lets the
 * compiler drop the words past it.
 */
static __always_inline void svc_optedit_set_opt(struct svc_optedit_scratch *s, const __u8 *opt,
						__u32 olen)
{
	int i;

	__builtin_memset(s->opt, 0, sizeof(s->opt));
#pragma unroll
	for (i = 0; i < SVC_OPT_SPACE / 4; i++)
		if ((__u32)i * 4 < olen)
			__builtin_memcpy(&s->opt[i * 4], &opt[i * 4], 4);
}

/**
 * svc_tcp_instance - the instance a TCP packet's options name, for stateless routing
 * @instance: out: the instance id (a next-hop id)
 * @id: out: the option's id (48-bit TIFID or flowID), for the keyed check
 *
 * The first option that names one counts: a SYN's TI-flow option with a
 * completed TIFID (resume), or a flowID option. Returns enum svc_opt_route.
 * Malformed options end the walk: the packet is then routed by what came
 * before them, or as if it had none.
 */
static __always_inline int svc_tcp_instance(struct xdp_md *ctx, const struct svc_pkt *p,
					    __u16 *instance, __u64 *id)
{
	/* The router's strip stage reuses the scratch later: it is free by then. */
	struct svc_optedit_scratch *s = svc_optedit_scratch();
	__u32 hlen = p->l4_hlen;
	bool syn = (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;

	if (!s || p->key.proto != IPPROTO_TCP || hlen <= SVC_TCPHDR_MIN || hlen > SVC_TCPHDR_MAX)
		return SVC_OPT_NONE;
	if (bpf_xdp_load_bytes(ctx, p->l4_off, s->old, SVC_BOUND1(hlen, SVC_TCPHDR_BUF)))
		return SVC_OPT_NONE;
	svc_optwalk(s, hlen, NULL, NULL, syn);
	if (!s->w.route)
		return SVC_OPT_NONE;
	*instance = s->w.instance;
	*id = s->w.id;
	return s->w.route == SVC_OPT_RESUME ? SVC_OPT_RESUME : SVC_OPT_FLOWID;
}

/* svc_flowid_opt_put - the flowID option for @flowid into @o (8 octets). */
static __always_inline void svc_flowid_opt_put(__u8 *o, __u32 flowid)
{
	o[0] = SVC_FLOWID_KIND;
	o[1] = SVC_FLOWID_LEN;
	o[2] = flowid_exid >> 8;
	o[3] = flowid_exid & 0xff;
	o[4] = flowid >> 24;
	o[5] = flowid >> 16;
	o[6] = flowid >> 8;
	o[7] = flowid;
}

/* The svcplane options: TI-flow (configured kind, length 20) and flowID (our ExID). */
static __always_inline void svc_svc_opt_matches(struct svc_opt_match *m0, struct svc_opt_match *m1)
{
	m0->kind = tiflow_kind;
	m0->len = SVC_TIFLOW_LEN;
	m0->exid = 0;
	m1->kind = SVC_FLOWID_KIND;
	m1->len = SVC_FLOWID_LEN;
	m1->exid = flowid_exid;
}

/* ------------------------------------------------------------------------ */
/* XDP                                                                       */
/* ------------------------------------------------------------------------ */

/*
 * svc_xdp_optedit_apply - write the planned header: L2 + L3 + TCP headers move
 * by @delta octets (> 0: the header grew, toward the head), lengths and
 * checksums updated in the buffers before they are written.
 */
static __always_inline int svc_xdp_optedit_apply(struct xdp_md *ctx, struct svc_pkt *p,
						 struct svc_optedit_scratch *s, __u32 new_len)
{
	__u32 old_len = p->l4_hlen, l3 = p->l3_off, pre = p->l4_off;
	__u32 old_tl = svc_tcp_len(p), new_tl = old_tl - old_len + new_len;
	int delta = (int)new_len - (int)old_len;
	__u16 *check, old16, new16;
	__s64 diff;

	if (pre > SVC_OPTEDIT_PREFIX_MAX || pre < sizeof(struct ethhdr) || l3 > 32 ||
	    new_len > SVC_TCPHDR_MAX || new_len < SVC_TCPHDR_MIN)
		return SVC_OPTEDIT_UNSUPP;
	pre = SVC_BOUND1(pre, SVC_OPTEDIT_PREFIX_MAX);
	if (bpf_xdp_load_bytes(ctx, 0, s->prefix, pre))
		return SVC_OPTEDIT_UNSUPP;
	diff = svc_optedit_hdr_diff(s, old_len, new_len);
	if (diff < 0)
		return SVC_OPTEDIT_UNSUPP;
	check = (__u16 *)&s->new[SVC_TCP_CSUM_OFF];
	*check = svc_tcp_csum_update(*check, (__u64)diff, old_tl, new_tl);
	if (p->l3_proto == ETH_P_IP) {
		__u16 *tot = (__u16 *)&s->prefix[(l3 + 2) & 0x3e];
		__u16 *ipc = (__u16 *)&s->prefix[(l3 + 10) & 0x3e];

		old16 = *tot;
		new16 = bpf_htons(p->ip_len + delta);
		*tot = new16;
		*ipc = svc_csum_replace2(*ipc, old16, new16);
	} else {
		__u16 *plen = (__u16 *)&s->prefix[(l3 + 4) & 0x3e];

		*plen = bpf_htons(p->ip_len + delta - IPV6_HLEN);
	}
	if (bpf_xdp_adjust_head(ctx, -delta))
		return SVC_OPTEDIT_UNSUPP;
	/* From here on the frame is half-written if a store fails. */
	if (bpf_xdp_store_bytes(ctx, 0, s->prefix, pre))
		return SVC_OPTEDIT_ERR;
	if (bpf_xdp_store_bytes(ctx, pre, s->new, SVC_BOUND1(new_len, SVC_TCPHDR_BUF)))
		return SVC_OPTEDIT_ERR;
	p->l4_hlen = new_len;
	p->ip_len += delta;
	p->len += delta;
	return SVC_OPTEDIT_OK;
}

/**
 * svc_xdp_opt_insert - insert the option @opt (@olen octets, a multiple of 4)
 * @p: the parsed packet (svc_parse); updated (lengths) on success
 * @max_len: largest IP packet length allowed afterwards (e.g. egress MTU), 0 = none
 *
 * Returns enum svc_optedit_ret; on anything but OK and ERR the frame is unchanged.
 */
static __always_inline int svc_xdp_opt_insert(struct xdp_md *ctx, struct svc_pkt *p,
					      const __u8 *opt, __u32 olen, __u32 max_len)
{
	struct svc_optedit_scratch *s = svc_optedit_scratch();
	__u32 hlen = p->l4_hlen, new_len = 0;
	int r;

	if (!s || !svc_optedit_ok(p) || olen > SVC_OPT_SPACE)
		return SVC_OPTEDIT_UNSUPP;
	if (hlen < SVC_TCPHDR_MIN || hlen > SVC_TCPHDR_MAX)
		return SVC_OPTEDIT_UNSUPP;
	svc_optedit_set_opt(s, opt, olen);
	if (bpf_xdp_load_bytes(ctx, p->l4_off, s->old, SVC_BOUND1(hlen, SVC_TCPHDR_BUF)))
		return SVC_OPTEDIT_UNSUPP;
	r = svc_optedit_plan_insert(s, hlen, olen, p->ip_len, max_len, &new_len);
	if (r != SVC_OPTEDIT_OK)
		return r;
	return svc_xdp_optedit_apply(ctx, p, s, new_len);
}

/**
 * svc_xdp_opt_strip - remove every option matching @m0 or @m1 (kind 0: unused)
 *
 * Returns enum svc_optedit_ret (NONE when nothing matched).
 */
static __always_inline int svc_xdp_opt_strip(struct xdp_md *ctx, struct svc_pkt *p,
					     const struct svc_opt_match *m0,
					     const struct svc_opt_match *m1)
{
	struct svc_optedit_scratch *s = svc_optedit_scratch();
	__u32 hlen = p->l4_hlen, new_len = 0;
	int r;

	if (!s || !svc_optedit_ok(p))
		return SVC_OPTEDIT_UNSUPP;
	if (hlen == SVC_TCPHDR_MIN)
		return SVC_OPTEDIT_NONE;
	if (hlen < SVC_TCPHDR_MIN || hlen > SVC_TCPHDR_MAX)
		return SVC_OPTEDIT_UNSUPP;
	if (bpf_xdp_load_bytes(ctx, p->l4_off, s->old, SVC_BOUND1(hlen, SVC_TCPHDR_BUF)))
		return SVC_OPTEDIT_UNSUPP;
	r = svc_optedit_plan_strip(s, hlen, m0, m1, &new_len);
	if (r != SVC_OPTEDIT_OK)
		return r;
	return svc_xdp_optedit_apply(ctx, p, s, new_len);
}

/* svc_xdp_opt_strip_svc - strip svcplane's own options (before an instance without svcplane). */
static __always_inline int svc_xdp_opt_strip_svc(struct xdp_md *ctx, struct svc_pkt *p)
{
	struct svc_opt_match m0, m1;

	svc_svc_opt_matches(&m0, &m1);
	return svc_xdp_opt_strip(ctx, p, &m0, &m1);
}

/* ------------------------------------------------------------------------ */
/* tc (skb)                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * svc_skb_parse - parse a frame at tc up to its TCP/UDP header
 *
 * Reads through bpf_skb_load_bytes, so a non-linear skb (GSO, paged) needs
 * no pull. Ethernet + up to 2 VLAN tags in the data, IPv4 (options allowed,
 * no non-first fragment), IPv6 without extension headers, TCP or UDP. Fills
 * the same struct svc_pkt fields as svc_parse(). Returns 0, or -1 for a
 * frame it does not handle (the caller passes it on untouched).
 */
static __always_inline int svc_skb_parse(struct __sk_buff *skb, struct svc_pkt *p)
{
	struct iphdr ip4;
	struct ipv6hdr ip6;
	struct tcphdr th;
	__be16 proto;
	__u32 off = sizeof(struct ethhdr);
	int i;

	p->len = skb->len;
	if (bpf_skb_load_bytes(skb, 12, &proto, sizeof(proto)))
		return -1;
#pragma unroll
	for (i = 0; i < SVC_MAX_VLAN_DEPTH; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if (bpf_skb_load_bytes(skb, off + 2, &proto, sizeof(proto)))
			return -1;
		off += 4;
	}
	p->l3_off = off;
	if (proto == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, off, &ip4, sizeof(ip4)))
			return -1;
		if (ip4.version != 4 || ip4.ihl < 5 || ip4.frag_off & bpf_htons(IP_OFFSET))
			return -1;
		p->l3_proto = ETH_P_IP;
		p->ip_len = svc_ntohs_bounded(ip4.tot_len);
		p->l4_off = off + ip4.ihl * 4;
		p->key.proto = ip4.protocol;
		p->tclass = ip4.tos;
		svc_addr_set_v4(&p->key.src, ip4.saddr);
		svc_addr_set_v4(&p->key.dst, ip4.daddr);
		if (p->ip_len < ip4.ihl * 4U)
			return -1;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)))
			return -1;
		if (ip6.version != 6)
			return -1;
		p->l3_proto = ETH_P_IPV6;
		p->ip_len = svc_ntohs_bounded(ip6.payload_len) + IPV6_HLEN;
		p->l4_off = off + IPV6_HLEN;
		p->key.proto = ip6.nexthdr;
		p->tclass = (bpf_ntohl(*(__be32 *)&ip6) >> 20) & 0xff;
		svc_addr_set_v6(&p->key.src, &ip6.saddr);
		svc_addr_set_v6(&p->key.dst, &ip6.daddr);
	} else {
		return -1;
	}
	if (p->l3_off + p->ip_len > skb->len)
		return -1;
	if (p->key.proto == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(skb, p->l4_off, &th, 8))
			return -1;
		p->key.sport = th.source;
		p->key.dport = th.dest;
		return 0;
	}
	if (p->key.proto != IPPROTO_TCP)
		return -1;
	if (bpf_skb_load_bytes(skb, p->l4_off, &th, sizeof(th)))
		return -1;
	p->l4_hlen = th.doff * 4;
	if (p->l4_hlen < SVC_TCPHDR_MIN || p->l4_off + p->l4_hlen > p->l3_off + p->ip_len)
		return -1;
	p->key.sport = th.source;
	p->key.dport = th.dest;
	p->tcp_flags = ((__u8 *)&th)[13];
	return 0;
}

/* Moves chunk @k of the region: from its end for delta > 0, from its start otherwise. */
static long svc_shift_cb(__u32 k, void *arg)
{
	struct svc_optedit_loop *l = arg;
	struct svc_optedit_scratch *s = l->s;
	struct svc_shift *sh = &s->sh;
	__u32 a = sh->a, b = sh->b, lo, hi, n;
	__s32 delta = sh->delta;

	if (delta > 0) {
		if ((__u64)k * SVC_OPTEDIT_CHUNK >= b - a)
			return 1;
		hi = b - k * SVC_OPTEDIT_CHUNK;
		lo = hi - a <= SVC_OPTEDIT_CHUNK ? a : hi - SVC_OPTEDIT_CHUNK;
	} else {
		lo = a + k * SVC_OPTEDIT_CHUNK;
		if (lo >= b)
			return 1;
		hi = b - lo <= SVC_OPTEDIT_CHUNK ? b : lo + SVC_OPTEDIT_CHUNK;
	}
	n = hi - lo;
	if (n == 0 || n > SVC_OPTEDIT_CHUNK) {
		sh->err = 1;
		return 1;
	}
	n = SVC_BOUND1(n, SVC_OPTEDIT_CHUNK);
	if (bpf_skb_load_bytes(l->skb, lo, s->chunk, n) ||
	    bpf_skb_store_bytes(l->skb, lo + delta, s->chunk, n, 0)) {
		sh->err = 1;
		return 1;
	}
	return 0;
}

/* svc_skb_shift - move [a, b) by @delta octets. Returns 0 or -1. */
static __always_inline int svc_skb_shift(struct __sk_buff *skb, struct svc_optedit_scratch *s,
					 __u32 a, __u32 b, int delta)
{
	struct svc_optedit_loop l = { .s = s, .skb = skb };
	__u32 n;

	if (b <= a)
		return 0;
	if (b - a > SVC_OPTEDIT_SHIFT_MAX)
		return -1;
	s->sh.a = a;
	s->sh.b = b;
	s->sh.delta = delta;
	s->sh.err = 0;
	n = (b - a + SVC_OPTEDIT_CHUNK - 1) / SVC_OPTEDIT_CHUNK;
	if (bpf_loop(n, svc_shift_cb, &l, 0) < 0 || s->sh.err)
		return -1;
	return 0;
}

/*
 * svc_skb_optedit_fix - after the header was rewritten in place: the TCP
 * checksum (header difference, pseudo-header length), the IP length fields
 * and the IPv4 header checksum.
 */
static __always_inline int svc_skb_optedit_fix(struct __sk_buff *skb, struct svc_pkt *p,
					       struct svc_optedit_scratch *s, __u32 new_len)
{
	__u32 old_len = p->l4_hlen, csum_off = p->l4_off + SVC_TCP_CSUM_OFF;
	__u32 old_tl = svc_tcp_len(p), new_tl = old_tl - old_len + new_len;
	int delta = (int)new_len - (int)old_len;
	__be16 old16, new16;
	__s64 diff;

	diff = svc_optedit_hdr_diff(s, old_len, new_len);
	if (diff < 0)
		return SVC_OPTEDIT_ERR;
	/* Header octets: ignored by the kernel for a CHECKSUM_PARTIAL skb, as they must be. */
	if (bpf_l4_csum_replace(skb, csum_off, 0, (__u32)diff, 0))
		return SVC_OPTEDIT_ERR;
	if (bpf_l4_csum_replace(skb, csum_off, bpf_htons((__u16)old_tl), bpf_htons((__u16)new_tl),
				BPF_F_PSEUDO_HDR | sizeof(__u16)))
		return SVC_OPTEDIT_ERR;
	if (p->l3_proto == ETH_P_IP) {
		old16 = bpf_htons(p->ip_len);
		new16 = bpf_htons(p->ip_len + delta);
		if (bpf_skb_store_bytes(skb, p->l3_off + 2, &new16, sizeof(new16), 0) ||
		    bpf_l3_csum_replace(skb, p->l3_off + 10, old16, new16, sizeof(__u16)))
			return SVC_OPTEDIT_ERR;
	} else {
		new16 = bpf_htons(p->ip_len + delta - IPV6_HLEN);
		if (bpf_skb_store_bytes(skb, p->l3_off + 4, &new16, sizeof(new16), 0))
			return SVC_OPTEDIT_ERR;
	}
	p->l4_hlen = new_len;
	p->ip_len += delta;
	p->len += delta;
	return SVC_OPTEDIT_OK;
}

/* Common checks and loading of the TCP header for the tc edits. */
static __always_inline int svc_skb_optedit_load(struct __sk_buff *skb, const struct svc_pkt *p,
						struct svc_optedit_scratch *s)
{
	__u32 hlen = p->l4_hlen;

	if (!svc_optedit_ok(p) || skb->gso_size || skb->gso_segs > 1)
		return SVC_OPTEDIT_UNSUPP;
	if (hlen < SVC_TCPHDR_MIN || hlen > SVC_TCPHDR_MAX)
		return SVC_OPTEDIT_UNSUPP;
	if (bpf_skb_load_bytes(skb, p->l4_off, s->old, SVC_BOUND1(hlen, SVC_TCPHDR_BUF)))
		return SVC_OPTEDIT_UNSUPP;
	return SVC_OPTEDIT_OK;
}

/**
 * svc_skb_opt_insert - insert the option @opt (@olen octets, a multiple of 4) at tc
 * @p: from svc_skb_parse(); updated on success
 * @max_len: largest IP packet length allowed afterwards, 0 = none
 *
 * Not for GSO packets (UNSUPP). Returns enum svc_optedit_ret; on anything but
 * OK and ERR the packet is unchanged.
 */
static __always_inline int svc_skb_opt_insert(struct __sk_buff *skb, struct svc_pkt *p,
					      const __u8 *opt, __u32 olen, __u32 max_len)
{
	struct svc_optedit_scratch *s = svc_optedit_scratch();
	__u32 hlen = p->l4_hlen, new_len = 0, a, b;
	int r;

	if (!s || olen > SVC_OPT_SPACE)
		return SVC_OPTEDIT_UNSUPP;
	r = svc_skb_optedit_load(skb, p, s);
	if (r != SVC_OPTEDIT_OK)
		return r;
	svc_optedit_set_opt(s, opt, olen);
	r = svc_optedit_plan_insert(s, hlen, olen, p->ip_len, max_len, &new_len);
	if (r != SVC_OPTEDIT_OK)
		return r;
	a = p->l4_off + hlen;
	b = p->l3_off + p->ip_len;
	if (bpf_skb_change_tail(skb, skb->len + olen, 0))
		return SVC_OPTEDIT_UNSUPP;
	/* Grown at the tail only: a failure from here on leaves a damaged packet. */
	if (svc_skb_shift(skb, s, a, b, (int)olen))
		return SVC_OPTEDIT_ERR;
	if (bpf_skb_store_bytes(skb, p->l4_off, s->new, SVC_BOUND1(new_len, SVC_TCPHDR_BUF), 0))
		return SVC_OPTEDIT_ERR;
	return svc_skb_optedit_fix(skb, p, s, new_len);
}

/**
 * svc_skb_opt_strip - remove every option matching @m0 or @m1 at tc
 *
 * Not for GSO packets. Returns enum svc_optedit_ret (NONE when nothing matched).
 */
static __always_inline int svc_skb_opt_strip(struct __sk_buff *skb, struct svc_pkt *p,
					     const struct svc_opt_match *m0,
					     const struct svc_opt_match *m1)
{
	struct svc_optedit_scratch *s = svc_optedit_scratch();
	__u32 hlen = p->l4_hlen, new_len = 0, a, b, removed;
	int r;

	if (!s)
		return SVC_OPTEDIT_UNSUPP;
	if (hlen == SVC_TCPHDR_MIN && svc_optedit_ok(p))
		return SVC_OPTEDIT_NONE;
	r = svc_skb_optedit_load(skb, p, s);
	if (r != SVC_OPTEDIT_OK)
		return r;
	r = svc_optedit_plan_strip(s, hlen, m0, m1, &new_len);
	if (r != SVC_OPTEDIT_OK)
		return r;
	removed = hlen - new_len;
	a = p->l4_off + hlen;
	b = p->l3_off + p->ip_len;
	/* The header first (it shrinks in place), then the payload follows it. */
	if (bpf_skb_store_bytes(skb, p->l4_off, s->new, SVC_BOUND1(new_len, SVC_TCPHDR_BUF), 0))
		return SVC_OPTEDIT_UNSUPP;
	if (svc_skb_shift(skb, s, a, b, -(int)removed))
		return SVC_OPTEDIT_ERR;
	if (bpf_skb_change_tail(skb, skb->len - removed, 0))
		return SVC_OPTEDIT_ERR;
	return svc_skb_optedit_fix(skb, p, s, new_len);
}

/* svc_skb_opt_strip_svc - strip svcplane's own options at tc. */
static __always_inline int svc_skb_opt_strip_svc(struct __sk_buff *skb, struct svc_pkt *p)
{
	struct svc_opt_match m0, m1;

	svc_svc_opt_matches(&m0, &m1);
	return svc_skb_opt_strip(skb, p, &m0, &m1);
}

/**
 * svc_optedit_find - the svcplane options of a TCP header already in s->old
 * @fid: out: the flowID of a flowID option (0 if none)
 * @tifid: out: the TIFID of a TI-flow option (0 if none)
 *
 * Returns OK, or BAD for malformed options.
 */
static __always_inline int svc_optedit_find(struct svc_optedit_scratch *s, __u32 hlen, __u32 *fid,
					    __u64 *tifid)
{
	__u32 o;
	int r;

	*fid = 0;
	*tifid = 0;
	if (hlen <= SVC_TCPHDR_MIN || hlen > SVC_TCPHDR_MAX)
		return SVC_OPTEDIT_OK;
	r = svc_optwalk(s, hlen, NULL, NULL, false);
	if (r != SVC_OPTEDIT_OK)
		return r;
	if (s->w.fid_off) {
		o = s->w.fid_off + 4;
		*fid = ((__u32)svc_hdr16(s->old, o) << 16) | svc_hdr16(s->old, o + 2);
	}
	if (s->w.ti_off) {
		o = s->w.ti_off + 2;
		*tifid = ((__u64)svc_hdr16(s->old, o) << 32) | ((__u64)svc_hdr16(s->old, o + 2) << 16) |
			 svc_hdr16(s->old, o + 4);
	}
	return SVC_OPTEDIT_OK;
}

#endif /* SVC_BPF_OPTEDIT_H */
