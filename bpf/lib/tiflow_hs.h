/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* TI-flow three-way handshake on endpoints (isolation-boundary paper, III.A and III.C). */
#ifndef SVC_BPF_TIFLOW_HS_H
#define SVC_BPF_TIFLOW_HS_H

/*
 * Initiator (A), responder (B):
 *   SYN      A -> B  TIFID = A|0, TISeq = TISeq_A, TIAck = 0
 *   SYN-ACK  B -> A  TIFID = A|B, TISeq = TISeq_B, TIAck = TISeq_A
 *   ACK      A -> B  TIFID = A|B, TISeq = TISeq_A, TIAck = TISeq_B
 * A peer that does not answer with the option gets plain TCP; so does a
 * responder whose final ACK lacks it (a middlebox stripped one direction).
 *
 * The responder keeps no state between SYN-ACK and final ACK (a request sock
 * has no socket storage): its half and TISeq_B are a keyed PRF of the 4-tuple,
 * both ISNs, A's half, TISeq_A and the instance id. The final ACK echoes all
 * of them, so PASSIVE_ESTABLISHED recomputes the PRF and checks TIAck_A =
 * TISeq_B (the paper's check) without storage, also under SYN cookies.
 *
 * The confirmation cannot ride on the final ACK alone: that ACK may be lost,
 * or overtaken by the first data segment (the ACK leaves from softirq on the
 * CPU that took the SYN-ACK, the data from the writer on another, and veth
 * queues each on its own CPU's backlog; seen in a 2-vCPU guest under load),
 * and the responder completes its handshake on whichever non-SYN segment
 * comes first. So the initiator puts the ACK-form option in every non-SYN
 * segment until the responder shows it is established: it acknowledged data
 * of ours or sent data itself (snd_una or rcv_nxt past the ISN + 1); only an
 * established socket does either. Until then the option costs 20 octets of
 * each segment (the MSS callback reserves them), afterwards nothing.
 *
 * Limits: a retransmitted SYN-ACK carries no option (the kernel no longer has
 * the SYN to read), so a lost first SYN-ACK means plain TCP. A listener opened
 * before the program was attached answers without the option. A repeated
 * confirmation that finds no room (SACK blocks) is skipped and counted: if
 * every earlier one was lost too, the responder ends plain.
 */

#include "consts.h"
#include "tiflow_maps.h"
#include "tiflow_opt.h"
#include "tiflow_prf.h"
#include "optkey.h"

#define TIFLOW_SOL_TCP 6
#define TIFLOW_ENOENT 2
#define TIFLOW_TCP_FLAG_SYN 0x02
#define TIFLOW_TCP_FLAG_ACK 0x10

/* tiflow_get_cfg - this host's configuration; a missing entry is never expected (array). */
static __always_inline struct svc_tiflow_cfg *tiflow_get_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tiflow_cfg, &zero);
}

static __always_inline __u8 tiflow_kind(const struct svc_tiflow_cfg *cfg)
{
	return cfg->kind ? cfg->kind : SVC_TIFLOW_KIND_DEFAULT;
}

/*
 * TIFLOW_CTX - read a sock_ops field here and now. Without the barrier clang-14
 * sinks the loads into the IPv4/IPv6 branches and loads through a selected
 * "skops + off" pointer, which the verifier refuses ("dereference of modified
 * ctx ptr R2 off=28 disallowed").
 */
#define TIFLOW_CTX(field)                                                                          \
	({                                                                                         \
		__u32 ___v = (field);                                                              \
		asm volatile("" : "+r"(___v));                                                     \
		___v;                                                                              \
	})

/* tiflow_addrs - local and remote address of the socket (v4-mapped for IPv4). */
static __always_inline void tiflow_addrs(const struct bpf_sock_ops *skops, struct svc_addr *local,
					 struct svc_addr *remote)
{
	__u32 family = TIFLOW_CTX(skops->family);
	__u32 l4 = TIFLOW_CTX(skops->local_ip4), r4 = TIFLOW_CTX(skops->remote_ip4);
	__u32 l0 = TIFLOW_CTX(skops->local_ip6[0]), l1 = TIFLOW_CTX(skops->local_ip6[1]);
	__u32 l2 = TIFLOW_CTX(skops->local_ip6[2]), l3 = TIFLOW_CTX(skops->local_ip6[3]);
	__u32 r0 = TIFLOW_CTX(skops->remote_ip6[0]), r1 = TIFLOW_CTX(skops->remote_ip6[1]);
	__u32 r2 = TIFLOW_CTX(skops->remote_ip6[2]), r3 = TIFLOW_CTX(skops->remote_ip6[3]);

	if (family == AF_INET) {
		local->w[0] = 0;
		local->w[1] = 0;
		local->w[2] = bpf_htonl(0xffff);
		local->w[3] = l4;
		remote->w[0] = 0;
		remote->w[1] = 0;
		remote->w[2] = bpf_htonl(0xffff);
		remote->w[3] = r4;
		return;
	}
	local->w[0] = l0;
	local->w[1] = l1;
	local->w[2] = l2;
	local->w[3] = l3;
	remote->w[0] = r0;
	remote->w[1] = r1;
	remote->w[2] = r2;
	remote->w[3] = r3;
}

/* sock_ops keeps local_port in host order and remote_port as a network-order 32-bit word. */
static __always_inline __u16 tiflow_local_port(const struct bpf_sock_ops *skops)
{
	return skops->local_port;
}

static __always_inline __u16 tiflow_remote_port(const struct bpf_sock_ops *skops)
{
	return bpf_ntohl(skops->remote_port);
}

/*
 * tiflow_selected - does (@addr, @port) take part? Exact, then address with
 * any port, then any address with the port. An empty table selects all.
 */
static __always_inline bool tiflow_selected(const struct svc_tiflow_cfg *cfg,
					    const struct svc_addr *addr, __u16 port)
{
	struct svc_tiflow_sel k = {};

	if (!cfg->n_select)
		return true;
	k.addr = *addr;
	k.port = bpf_htons(port);
	if (bpf_map_lookup_elem(&tiflow_select, &k))
		return true;
	k.port = 0;
	if (bpf_map_lookup_elem(&tiflow_select, &k))
		return true;
	__builtin_memset(&k.addr, 0, sizeof(k.addr));
	k.port = bpf_htons(port);
	return bpf_map_lookup_elem(&tiflow_select, &k) != NULL;
}

/* tiflow_rand48 - a random non-zero 48-bit value (0 means "not defined" on the wire). */
static __always_inline __u64 tiflow_rand48(void)
{
	__u64 v = ((__u64)bpf_get_prandom_u32() << 32 | bpf_get_prandom_u32()) & SVC_TI48_MASK;

	return v ? v : 1;
}

/* tiflow_clear_write_cb - stop the header-option callbacks for this socket. */
static __always_inline void tiflow_clear_write_cb(struct bpf_sock_ops *skops)
{
	__u32 flags = skops->bpf_sock_ops_cb_flags;

	if (flags & BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG)
		bpf_sock_ops_cb_flags_set(skops, flags & ~BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG);
}

static __always_inline void tiflow_set_write_cb(struct bpf_sock_ops *skops)
{
	bpf_sock_ops_cb_flags_set(skops,
				  skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG);
}

/* tiflow_plain - fall back to plain TCP for good, remembering and counting why. */
static __always_inline void tiflow_plain(struct bpf_sock_ops *skops, struct svc_tiflow_sk *st,
					 enum svc_tiflow_event why)
{
	st->state = SVC_TIFLOW_S_PLAIN;
	st->reason = why;
	st->flags &= ~SVC_TIFLOW_F_CONFIRM_DUE;
	tiflow_count(why);
	tiflow_clear_write_cb(skops);
}

/* tiflow_store - write @v as the option into the outgoing header. 0 or negative. */
static __always_inline long tiflow_store(struct bpf_sock_ops *skops, __u8 kind,
					 const struct svc_tiflow_vals *v)
{
	struct svc_tiflow_opt o;
	long err;

	svc_tiflow_pack(&o, kind, v);
	err = bpf_store_hdr_opt(skops, &o, sizeof(o), 0);
	if (err)
		tiflow_count(SVC_TIFLOW_EV_ERR_STORE);
	return err;
}

/*
 * tiflow_copy_hdr - copy the TCP header sock_ops points at (skb_data covers
 * exactly the TCP header in the ESTABLISHED and WRITE callbacks) into w->hdr.
 * Returns its length, or 0 if there is none or it is truncated.
 */
static __always_inline __u32 tiflow_copy_hdr(const struct bpf_sock_ops *skops,
					     struct tiflow_walk *w)
{
	void *data = (void *)(long)skops->skb_data;
	void *end = (void *)(long)skops->skb_data_end;
	__u32 copied = 0;
	int i;

	__builtin_memset(w, 0, sizeof(*w));
#pragma unroll
	for (i = 0; i < SVC_TCPHDR_MAX / 4; i++) {
		if (data + (i + 1) * 4 > end)
			break;
		*(__u32 *)&w->hdr[i * 4] = *(__u32 *)(data + i * 4);
		copied += 4;
	}
	w->hdr_len = tiflow_hdr_len(w, copied);
	return w->hdr_len;
}

/* 32-bit big-endian word at @off of the copied header (seq: 4, ack_seq: 8). */
static __always_inline __u32 tiflow_hdr_be32(const struct tiflow_walk *w, int off)
{
	return ((__u32)w->hdr[off] << 24) | ((__u32)w->hdr[off + 1] << 16) |
	       ((__u32)w->hdr[off + 2] << 8) | w->hdr[off + 3];
}

/* Inputs of the responder's PRF, all echoed by the final ACK. */
struct tiflow_prf_in {
	struct svc_addr local;  /* responder (service) address */
	struct svc_addr remote; /* initiator address */
	__u32 ports;            /* local << 16 | remote, host order */
	__u32 isn_i;            /* initiator's TCP ISN */
	__u32 isn_r;            /* responder's TCP ISN */
	__u32 half_i;           /* initiator's TIFID half */
	__u64 tiseq_i;          /* initiator's TISeq */
	__u32 instance;         /* instance id put in the responder half */
	__u32 pad;
};

_Static_assert(sizeof(struct tiflow_prf_in) == 64, "PRF input is 8 words");

/*
 * tiflow_responder_vals - the responder half and TISeq_B for @in: SipHash
 * gives 64 bits, 48 for TISeq_B (non-zero), 8 for the half's random bits.
 */
static __always_inline void tiflow_responder_vals(const struct svc_tiflow_cfg *cfg,
						  const struct tiflow_prf_in *in, __u32 *half,
						  __u64 *tiseq)
{
	const struct svc_opt_key *k = svc_opt_key_get();
	__u64 h = tiflow_siphash(cfg->key, (const __u64 *)in, 8);
	__u32 r = (h >> 48) & SVC_TIFID_RAND_MASK;

	/* With a deployment key the low bits are the keyed check routers verify on a resume. */
	if (k)
		r = svc_tifid_mac(k->k, in->half_i, in->instance);

	*tiseq = h & SVC_TI48_MASK;
	if (!*tiseq)
		*tiseq = 1;
	*half = (in->instance << SVC_TIFID_INSTANCE_SHIFT) | r;
	if (!*half)
		*half = 1; /* a zero responder half would read as "not completed" */
}

/* ---- initiator -------------------------------------------------------- */

/*
 * tiflow_resume_plain - a connect() that takes no part (@why, counted): a
 * socket the application asked to resume reads PLAIN with the reason, so
 * that its library knows no resume SYN went out.
 */
static __always_inline void tiflow_resume_plain(struct bpf_sock_ops *skops, struct bpf_sock *sk,
						enum svc_tiflow_event why)
{
	struct svc_tiflow_sk *st = bpf_sk_storage_get(&tiflow_sk, sk, NULL, 0);

	if (st && st->state == SVC_TIFLOW_S_RESUME)
		tiflow_plain(skops, st, why);
	else
		tiflow_count(why);
}

/*
 * TCP_CONNECT_CB: choose our half and TISeq_A, ask for the header-option
 * callbacks; or, on a socket SVC_TIFLOW_SO_RESUME prepared, only the latter.
 */
static __always_inline void tiflow_on_connect(struct bpf_sock_ops *skops,
					      const struct svc_tiflow_cfg *cfg)
{
	struct svc_addr local, remote;
	struct svc_tiflow_sk *st;
	struct bpf_sock *sk = skops->sk;
	__u32 half;

	if (!sk)
		return;
	if (cfg->flags & SVC_TIFLOW_CFG_F_NO_INITIATE) {
		tiflow_resume_plain(skops, sk, SVC_TIFLOW_EV_PLAIN_DISABLED);
		return;
	}
	tiflow_addrs(skops, &local, &remote);
	if (!tiflow_selected(cfg, &remote, tiflow_remote_port(skops))) {
		tiflow_resume_plain(skops, sk, SVC_TIFLOW_EV_NOT_SELECTED);
		return;
	}
	st = bpf_sk_storage_get(&tiflow_sk, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (st && st->state == SVC_TIFLOW_S_RESUME) {
		/* SVC_TIFLOW_SO_RESUME filled it: the SYN carries the flow's option. */
		tiflow_set_write_cb(skops);
		return;
	}
	if (!st) {
		tiflow_count(SVC_TIFLOW_EV_ERR_STORAGE);
		return;
	}
	half = bpf_get_prandom_u32() & SVC_TIFID_HALF_MASK;
	if (!half)
		half = 1;
	__builtin_memset(st, 0, sizeof(*st));
	st->tifid = svc_tifid_make(half, 0);
	st->tiseq_local = tiflow_rand48();
	st->state = SVC_TIFLOW_S_OFFERED;
	st->role = SVC_TIFLOW_ROLE_INITIATOR;
	tiflow_set_write_cb(skops);
}

/*
 * tiflow_confirm_due - must this non-SYN segment still carry the confirmation?
 * Stops them for good (flag and callbacks cleared, counted) once the peer has
 * acknowledged data of ours or sent data: it is established then.
 */
static __always_inline bool tiflow_confirm_due(struct bpf_sock_ops *skops, struct svc_tiflow_sk *st)
{
	__u32 una = skops->snd_una, rcv = skops->rcv_nxt;

	if (!(st->flags & SVC_TIFLOW_F_CONFIRM_DUE))
		return false;
	if ((__s32)(una - st->isn_local - 1) <= 0 && (__s32)(rcv - st->isn_peer - 1) <= 0)
		return true;
	st->flags &= ~SVC_TIFLOW_F_CONFIRM_DUE;
	tiflow_count(SVC_TIFLOW_EV_ACK_OPT_DONE);
	tiflow_clear_write_cb(skops);
	return false;
}

/* HDR_OPT_LEN_CB on the initiator's own packets: room for the SYN's option and the confirmations. */
static __always_inline void tiflow_active_len(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct svc_tiflow_sk *st;
	__u8 tcp_flags = skops->skb_tcp_flags;

	if (!sk)
		return;
	st = bpf_sk_storage_get(&tiflow_sk, sk, NULL, 0);
	if (!st)
		return;
	if (skops->args[0] == BPF_WRITE_HDR_TCP_CURRENT_MSS) {
		/* MSS computation: count the option while a data segment might carry it. */
		if (tiflow_confirm_due(skops, st))
			bpf_reserve_hdr_opt(skops, SVC_TIFLOW_LEN, 0);
		return;
	}
	if ((st->state == SVC_TIFLOW_S_OFFERED || st->state == SVC_TIFLOW_S_RESUME) &&
	    (tcp_flags & TIFLOW_TCP_FLAG_SYN)) {
		if (bpf_reserve_hdr_opt(skops, SVC_TIFLOW_LEN, 0))
			tiflow_plain(skops, st, SVC_TIFLOW_EV_PLAIN_NO_ROOM);
		return;
	}
	/* The write callback writes exactly when room was reserved here. */
	if (!(tcp_flags & TIFLOW_TCP_FLAG_SYN) && tiflow_confirm_due(skops, st) &&
	    bpf_reserve_hdr_opt(skops, SVC_TIFLOW_LEN, 0)) {
		if (!(st->flags & SVC_TIFLOW_F_CONFIRM_SENT))
			/* Without a first confirmation the responder falls back: so must we. */
			tiflow_plain(skops, st, SVC_TIFLOW_EV_PLAIN_NO_ROOM);
		else
			tiflow_count(SVC_TIFLOW_EV_ACK_OPT_SKIPPED);
	}
}

/* WRITE_HDR_OPT_CB on the initiator: the SYN's offer, then the confirmations (ACK form). */
static __always_inline void tiflow_active_write(struct bpf_sock_ops *skops,
						const struct svc_tiflow_cfg *cfg)
{
	struct bpf_sock *sk = skops->sk;
	struct svc_tiflow_vals v = {};
	struct svc_tiflow_sk *st;
	__u8 tcp_flags = skops->skb_tcp_flags;

	if (!sk)
		return;
	st = bpf_sk_storage_get(&tiflow_sk, sk, NULL, 0);
	if (!st)
		return;
	if (st->state == SVC_TIFLOW_S_OFFERED && (tcp_flags & TIFLOW_TCP_FLAG_SYN)) {
		v.tifid = st->tifid;
		v.tiseq = st->tiseq_local;
		if (!tiflow_store(skops, tiflow_kind(cfg), &v))
			tiflow_count(SVC_TIFLOW_EV_SYN_OPT_SENT);
		return;
	}
	if (st->state == SVC_TIFLOW_S_RESUME && (tcp_flags & TIFLOW_TCP_FLAG_SYN)) {
		/* Routers send it to the TIFID's instance; the peer's library reads the saved SYN. */
		v.tifid = st->tifid;
		v.tiseq = st->tiseq_local;
		v.tiack = st->tiseq_peer;
		if (!tiflow_store(skops, tiflow_kind(cfg), &v))
			tiflow_count(SVC_TIFLOW_EV_RESUME_SYN_SENT);
		return;
	}
	if ((st->flags & SVC_TIFLOW_F_CONFIRM_DUE) && !(tcp_flags & TIFLOW_TCP_FLAG_SYN)) {
		v.tifid = st->tifid;
		v.tiseq = st->tiseq_local;
		v.tiack = st->tiseq_peer;
		if (tiflow_store(skops, tiflow_kind(cfg), &v)) {
			if (!(st->flags & SVC_TIFLOW_F_CONFIRM_SENT))
				tiflow_plain(skops, st, SVC_TIFLOW_EV_ERR_STORE);
			return;
		}
		if (!(st->flags & SVC_TIFLOW_F_CONFIRM_SENT)) {
			st->flags |= SVC_TIFLOW_F_CONFIRM_SENT;
			tiflow_count(SVC_TIFLOW_EV_ACK_OPT_SENT);
		}
	}
}

/*
 * ACTIVE_ESTABLISHED_CB: skb_data is the SYN-ACK. Its option must complete
 * our half and acknowledge TISeq_A; then the final ACK confirms it.
 */
static __always_inline void tiflow_active_established(struct bpf_sock_ops *skops,
						      const struct svc_tiflow_cfg *cfg)
{
	struct bpf_sock *sk = skops->sk;
	struct svc_tiflow_vals v = {};
	struct svc_tiflow_sk *st;
	struct tiflow_walk w;
	int found;

	if (!sk)
		return;
	st = bpf_sk_storage_get(&tiflow_sk, sk, NULL, 0);
	if (!st || (st->state != SVC_TIFLOW_S_OFFERED && st->state != SVC_TIFLOW_S_RESUME))
		return;
	if (st->state == SVC_TIFLOW_S_RESUME) {
		/* The resume is proven in-band, not by the SYN-ACK: no more options. */
		tiflow_clear_write_cb(skops);
		if (tiflow_copy_hdr(skops, &w)) {
			st->isn_peer = tiflow_hdr_be32(&w, 4);
			st->isn_local = tiflow_hdr_be32(&w, 8) - 1;
		}
		return;
	}
	if (!tiflow_copy_hdr(skops, &w)) {
		tiflow_plain(skops, st, SVC_TIFLOW_EV_HDR_BAD);
		return;
	}
	st->isn_peer = tiflow_hdr_be32(&w, 4);
	st->isn_local = tiflow_hdr_be32(&w, 8) - 1;
	found = tiflow_find_opt(&w, tiflow_kind(cfg));
	if (found == TIFLOW_FIND_BAD) {
		tiflow_count(SVC_TIFLOW_EV_HDR_BAD);
		tiflow_plain(skops, st, SVC_TIFLOW_EV_PLAIN_SYNACK_NO_OPT);
		return;
	}
	if (found != TIFLOW_FIND_OK) {
		tiflow_plain(skops, st, SVC_TIFLOW_EV_PLAIN_SYNACK_NO_OPT);
		return;
	}
	if (w.opt_len != SVC_TIFLOW_LEN) {
		tiflow_plain(skops, st, SVC_TIFLOW_EV_PLAIN_SYNACK_BAD);
		return;
	}
	tiflow_opt_read(&w, &v);
	if (svc_tifid_initiator(v.tifid) != svc_tifid_initiator(st->tifid) ||
	    !svc_tifid_responder(v.tifid) || v.tiack != st->tiseq_local || !v.tiseq) {
		tiflow_plain(skops, st, SVC_TIFLOW_EV_PLAIN_SYNACK_BAD);
		return;
	}
	st->tifid = v.tifid;
	st->tiseq_peer = v.tiseq;
	st->state = SVC_TIFLOW_S_NEGOTIATED;
	st->flags |= SVC_TIFLOW_F_CONFIRM_DUE;
	tiflow_count(SVC_TIFLOW_EV_NEGOTIATED_ACTIVE);
}

/* ---- responder -------------------------------------------------------- */

/* TCP_LISTEN_CB: SYN-ACKs of this listener go through the header-option callbacks. */
static __always_inline void tiflow_on_listen(struct bpf_sock_ops *skops,
					     const struct svc_tiflow_cfg *cfg)
{
	if (cfg->flags & SVC_TIFLOW_CFG_F_NO_RESPOND)
		return;
	tiflow_set_write_cb(skops);
}

/*
 * tiflow_syn_offer - read the SYN a SYN-ACK answers (bpf_getsockopt
 * TCP_BPF_SYN works on a request sock while the SYN-ACK is built) and check
 * its offer. Returns 0 and fills @v, or the PLAIN_* event that says why not.
 */
static __always_inline int tiflow_syn_offer(struct bpf_sock_ops *skops,
					    const struct svc_tiflow_cfg *cfg, struct tiflow_walk *w,
					    struct svc_tiflow_vals *v)
{
	struct svc_addr local, remote;
	int n, found;

	if (cfg->flags & SVC_TIFLOW_CFG_F_NO_RESPOND)
		return SVC_TIFLOW_EV_PLAIN_DISABLED;
	tiflow_addrs(skops, &local, &remote);
	if (!tiflow_selected(cfg, &local, tiflow_local_port(skops)))
		return SVC_TIFLOW_EV_NOT_SELECTED;
	__builtin_memset(w, 0, sizeof(*w));
	n = bpf_getsockopt(skops, TIFLOW_SOL_TCP, TCP_BPF_SYN, w->hdr, SVC_TCPHDR_MAX);
	if (n == -TIFLOW_ENOENT)
		return SVC_TIFLOW_EV_PLAIN_SYNACK_RTX; /* retransmission: the SYN is not kept */
	if (n < SVC_TCPHDR_MIN)
		return SVC_TIFLOW_EV_ERR_SYN;
	w->hdr_len = tiflow_hdr_len(w, n);
	if (!w->hdr_len)
		return SVC_TIFLOW_EV_HDR_BAD;
	found = tiflow_find_opt(w, tiflow_kind(cfg));
	if (found == TIFLOW_FIND_BAD)
		return SVC_TIFLOW_EV_HDR_BAD;
	if (found != TIFLOW_FIND_OK)
		return SVC_TIFLOW_EV_PLAIN_SYN_NO_OPT;
	if (w->opt_len != SVC_TIFLOW_LEN)
		return SVC_TIFLOW_EV_PLAIN_SYN_BAD;
	tiflow_opt_read(w, v);
	if (!svc_tifid_initiator(v->tifid) || !v->tiseq)
		return SVC_TIFLOW_EV_PLAIN_SYN_BAD;
	if (svc_tifid_responder(v->tifid))
		return SVC_TIFLOW_EV_PLAIN_RESUME;
	return 0;
}

/* HDR_OPT_LEN_CB for a SYN-ACK: reserve room if the SYN made a valid offer. */
static __always_inline void tiflow_synack_len(struct bpf_sock_ops *skops,
					      const struct svc_tiflow_cfg *cfg)
{
	struct svc_tiflow_vals v = {};
	struct tiflow_walk w;
	int why;

	why = tiflow_syn_offer(skops, cfg, &w, &v);
	if (why) {
		tiflow_count(why);
		return;
	}
	if (bpf_reserve_hdr_opt(skops, SVC_TIFLOW_LEN, 0))
		tiflow_count(SVC_TIFLOW_EV_PLAIN_NO_ROOM);
}

/* WRITE_HDR_OPT_CB for a SYN-ACK: complete the TIFID, TIAck = TISeq_A. */
static __always_inline void tiflow_synack_write(struct bpf_sock_ops *skops,
						const struct svc_tiflow_cfg *cfg)
{
	struct svc_tiflow_vals syn = {}, out = {};
	struct tiflow_prf_in in = {};
	struct tiflow_walk w;
	__u8 *th = (__u8 *)(long)skops->skb_data;
	__u32 half_r;
	__u64 tiseq_r;

	if (tiflow_syn_offer(skops, cfg, &w, &syn))
		return; /* counted when the length was decided */
	/* The kernel wrote the SYN-ACK's fixed header already: its seq is our ISN. */
	if ((void *)(th + 8) > (void *)(long)skops->skb_data_end)
		return;
	in.isn_r = ((__u32)th[4] << 24) | ((__u32)th[5] << 16) | ((__u32)th[6] << 8) | th[7];
	in.isn_i = tiflow_hdr_be32(&w, 4);
	tiflow_addrs(skops, &in.local, &in.remote);
	in.ports = ((__u32)tiflow_local_port(skops) << 16) | tiflow_remote_port(skops);
	in.half_i = svc_tifid_initiator(syn.tifid);
	in.tiseq_i = syn.tiseq;
	in.instance = cfg->instance_id;
	tiflow_responder_vals(cfg, &in, &half_r, &tiseq_r);
	out.tifid = svc_tifid_make(in.half_i, half_r);
	out.tiseq = tiseq_r;
	out.tiack = syn.tiseq;
	if (!tiflow_store(skops, tiflow_kind(cfg), &out))
		tiflow_count(SVC_TIFLOW_EV_SYNACK_OPT_SENT);
}

/*
 * PASSIVE_ESTABLISHED_CB: skb_data is the packet that completed the handshake.
 * TI-flow only if it carries the option and the option proves it answers our
 * SYN-ACK (TIAck_A = TISeq_B, same responder half).
 */
static __always_inline void tiflow_passive_established(struct bpf_sock_ops *skops,
						       const struct svc_tiflow_cfg *cfg)
{
	struct bpf_sock *sk = skops->sk;
	struct svc_addr local, remote;
	struct svc_tiflow_vals v = {};
	struct tiflow_prf_in in = {};
	struct svc_tiflow_sk *st;
	struct tiflow_walk w;
	__u32 half_r;
	__u64 tiseq_r;
	int found;

	/* The child inherited the listener's flag; nothing more to write after the handshake. */
	tiflow_clear_write_cb(skops);
	if (!sk || (cfg->flags & SVC_TIFLOW_CFG_F_NO_RESPOND))
		return;
	tiflow_addrs(skops, &local, &remote);
	if (!tiflow_selected(cfg, &local, tiflow_local_port(skops)))
		return;
	st = bpf_sk_storage_get(&tiflow_sk, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st) {
		tiflow_count(SVC_TIFLOW_EV_ERR_STORAGE);
		return;
	}
	__builtin_memset(st, 0, sizeof(*st));
	st->role = SVC_TIFLOW_ROLE_RESPONDER;
	if (!tiflow_copy_hdr(skops, &w)) {
		tiflow_plain(skops, st, SVC_TIFLOW_EV_HDR_BAD);
		return;
	}
	st->isn_peer = tiflow_hdr_be32(&w, 4) - 1;
	st->isn_local = tiflow_hdr_be32(&w, 8) - 1;
	found = tiflow_find_opt(&w, tiflow_kind(cfg));
	if (found == TIFLOW_FIND_BAD)
		tiflow_count(SVC_TIFLOW_EV_HDR_BAD);
	if (found != TIFLOW_FIND_OK) {
		tiflow_plain(skops, st, SVC_TIFLOW_EV_PLAIN_ACK_NO_OPT);
		return;
	}
	if (w.opt_len != SVC_TIFLOW_LEN) {
		tiflow_plain(skops, st, SVC_TIFLOW_EV_PLAIN_ACK_BAD);
		return;
	}
	tiflow_opt_read(&w, &v);
	in.local = local;
	in.remote = remote;
	in.ports = ((__u32)tiflow_local_port(skops) << 16) | tiflow_remote_port(skops);
	in.isn_i = st->isn_peer;
	in.isn_r = st->isn_local;
	in.half_i = svc_tifid_initiator(v.tifid);
	in.tiseq_i = v.tiseq;
	in.instance = svc_tifid_instance(v.tifid);
	tiflow_responder_vals(cfg, &in, &half_r, &tiseq_r);
	if (!in.half_i || !v.tiseq || svc_tifid_responder(v.tifid) != half_r || v.tiack != tiseq_r) {
		tiflow_plain(skops, st, SVC_TIFLOW_EV_PLAIN_ACK_BAD);
		return;
	}
	st->tifid = v.tifid;
	st->tiseq_local = tiseq_r;
	st->tiseq_peer = v.tiseq;
	st->state = SVC_TIFLOW_S_NEGOTIATED;
	tiflow_count(SVC_TIFLOW_EV_NEGOTIATED_PASSIVE);
}

#endif /* SVC_BPF_TIFLOW_HS_H */
