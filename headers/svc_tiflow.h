/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* TI-flow option and flowID wire formats, TCP option walk, per-socket TI-flow state. */
#ifndef SVC_TIFLOW_H
#define SVC_TIFLOW_H

/*
 * One definition for the sockops program (bpf/tiflow.bpf.c), the middlebox test
 * program, the option decoder (agent/lib/optdecode.c) and the agent. Everything
 * here is usable from BPF: no libc, fixed-size arrays, bounded offsets.
 */
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "svc_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* ------------------------------------------------------------------------ */
/* TI-flow option (isolation-boundary paper, Fig. 1)                         */
/* ------------------------------------------------------------------------ */

/*
 * TCP option kind of the TI-flow option: 253 (RFC 4727 experimental) unless
 * the agent configures another (struct svc_tiflow_cfg.kind).
 */
#define SVC_TIFLOW_KIND_DEFAULT 253
/* Option length: kind + length + TIFID (6) + TISeq (6) + TIAck (6). */
#define SVC_TIFLOW_LEN 20

/*
 * Fig. 1 gives the TIFID 6 octets, TIFID1..TIFID3 chosen by the initiator in
 * the SYN and TIFID4..TIFID6 by the responder in the SYN-ACK: each half is
 * 24 bits. (A 48-bit half would not fit the 20-octet option that is all a
 * Linux SYN has room for.)
 */
#define SVC_TIFID_HALF_BITS 24
#define SVC_TIFID_HALF_MASK 0xffffffULL
#define SVC_TI48_MASK 0xffffffffffffULL

/*
 * The responder half names the instance that serves the flow: its top 16 bits
 * are the responder host's instance id (svc_tiflow_cfg.instance_id), the low
 * 8 bits are the keyed check svc_tifid_mac() under the deployment key
 * (headers/svc_optmac.h; per-flow random bits when no key is set). A router
 * reads the instance from a resumed SYN's completed TIFID without any flow
 * state, and trusts it only if the check holds.
 */
#define SVC_TIFID_INSTANCE_SHIFT 8
#define SVC_TIFID_RAND_MASK 0xffU

/*
 * The option on the wire, byte for byte as Fig. 1. All fields big-endian.
 * tifid[0..2] = initiator half, tifid[3..5] = responder half (zero in a SYN
 * that opens a new flow; non-zero in a SYN that resumes one).
 * tiseq = next byte this side sends in the flow's sequence space (0 = not
 * defined); tiack = last byte received (in the handshake: the peer's TISeq).
 */
struct svc_tiflow_opt {
	__u8 kind;     /* SVC_TIFLOW_KIND_DEFAULT or the configured kind */
	__u8 len;      /* SVC_TIFLOW_LEN */
	__u8 tifid[6]; /* TIFID1..TIFID6 */
	__u8 tiseq[6]; /* TISeq1..TISeq6 */
	__u8 tiack[6]; /* TIAck1..TIAck6 */
} __attribute__((packed));

_Static_assert(sizeof(struct svc_tiflow_opt) == SVC_TIFLOW_LEN, "TI-flow option is 20 octets");

/* The option's values in host order (48-bit quantities in the low bits). */
struct svc_tiflow_vals {
	__u64 tifid; /* initiator half << 24 | responder half */
	__u64 tiseq;
	__u64 tiack;
};

/* svc_get48 - read a 48-bit big-endian field. */
static __always_inline __u64 svc_get48(const __u8 *p)
{
	return ((__u64)p[0] << 40) | ((__u64)p[1] << 32) | ((__u64)p[2] << 24) |
	       ((__u64)p[3] << 16) | ((__u64)p[4] << 8) | (__u64)p[5];
}

/* svc_put48 - write the low 48 bits of @v big-endian. */
static __always_inline void svc_put48(__u8 *p, __u64 v)
{
	p[0] = v >> 40;
	p[1] = v >> 32;
	p[2] = v >> 24;
	p[3] = v >> 16;
	p[4] = v >> 8;
	p[5] = v;
}

/* TIFID halves. */
static __always_inline __u32 svc_tifid_initiator(__u64 tifid)
{
	return (tifid >> SVC_TIFID_HALF_BITS) & SVC_TIFID_HALF_MASK;
}

static __always_inline __u32 svc_tifid_responder(__u64 tifid)
{
	return tifid & SVC_TIFID_HALF_MASK;
}

static __always_inline __u64 svc_tifid_make(__u32 initiator, __u32 responder)
{
	return ((__u64)(initiator & SVC_TIFID_HALF_MASK) << SVC_TIFID_HALF_BITS) |
	       (responder & SVC_TIFID_HALF_MASK);
}

/* svc_tifid_instance - the instance id a TIFID's responder half names. */
static __always_inline __u16 svc_tifid_instance(__u64 tifid)
{
	return svc_tifid_responder(tifid) >> SVC_TIFID_INSTANCE_SHIFT;
}

/* svc_tiflow_pack - build the wire option from values (kind given, length fixed). */
static __always_inline void svc_tiflow_pack(struct svc_tiflow_opt *o, __u8 kind,
					    const struct svc_tiflow_vals *v)
{
	o->kind = kind;
	o->len = SVC_TIFLOW_LEN;
	svc_put48(o->tifid, v->tifid);
	svc_put48(o->tiseq, v->tiseq);
	svc_put48(o->tiack, v->tiack);
}

/* svc_tiflow_unpack - values of a wire option (the caller checked kind and length). */
static __always_inline void svc_tiflow_unpack(const struct svc_tiflow_opt *o,
					      struct svc_tiflow_vals *v)
{
	v->tifid = svc_get48(o->tifid);
	v->tiseq = svc_get48(o->tiseq);
	v->tiack = svc_get48(o->tiack);
}

/* ------------------------------------------------------------------------ */
/* flowID (defined now, carried by the router and the direct path later)    */
/* ------------------------------------------------------------------------ */

/*
 * flowID: 32 bits = instance id (high 16 bits, the same value as the top 16
 * bits of the TIFID responder half) | 16 flow bits: the keyed check
 * svc_flowid_mac() of the connection under the deployment key
 * (headers/svc_optmac.h; random when no key is set).
 */
#define SVC_FLOWID_INSTANCE_SHIFT 16
#define SVC_FLOWID_FLOW_MASK 0xffffU

static __always_inline __u32 svc_flowid_make(__u16 instance, __u16 flow_bits)
{
	return ((__u32)instance << SVC_FLOWID_INSTANCE_SHIFT) | flow_bits;
}

static __always_inline __u16 svc_flowid_instance(__u32 flowid)
{
	return flowid >> SVC_FLOWID_INSTANCE_SHIFT;
}

/*
 * The flowID option: experimental kind 254 with a 16-bit ExID (RFC 6994),
 * length 8. The ExID is not IANA-registered; like the TI-flow kind it is a
 * build/agent setting.
 */
#define SVC_FLOWID_KIND 254
#define SVC_FLOWID_EXID_DEFAULT 0x5356 /* "SV" */
#define SVC_FLOWID_LEN 8

struct svc_flowid_opt {
	__u8 kind;     /* SVC_FLOWID_KIND */
	__u8 len;      /* SVC_FLOWID_LEN */
	__be16 exid;   /* SVC_FLOWID_EXID_DEFAULT, network order */
	__be32 flowid; /* network order */
} __attribute__((packed));

_Static_assert(sizeof(struct svc_flowid_opt) == SVC_FLOWID_LEN, "flowID option is 8 octets");

/* ------------------------------------------------------------------------ */
/* TCP option walk, shared by BPF (one step per bpf_loop iteration) and C    */
/* ------------------------------------------------------------------------ */

#define SVC_TCPOPT_EOL 0
#define SVC_TCPOPT_NOP 1
#define SVC_TCPOPT_MSS 2
#define SVC_TCPOPT_WSCALE 3
#define SVC_TCPOPT_SACK_PERM 4
#define SVC_TCPOPT_SACK 5
#define SVC_TCPOPT_TS 8

#define SVC_TCPHDR_MIN 20
#define SVC_TCPHDR_MAX 60
/* Size of a buffer holding a TCP header for the walk; offsets are masked with it - 1. */
#define SVC_TCPHDR_BUF 64
/* Options need at least one octet each: 40 steps always reach the end. */
#define SVC_TCPOPT_MAX_STEPS 40

/* Outcome of one step of the walk. */
enum svc_tcpopt_step {
	SVC_OPTW_OPT = 0,  /* an option of kind/len at the old offset; *off moved past it */
	SVC_OPTW_NOP = 1,  /* a NOP; *off moved by one */
	SVC_OPTW_END = 2,  /* end of the options: EOL or the header's end */
	SVC_OPTW_BAD = -1, /* length octet missing, < 2, or running past the header */
};

/**
 * svc_tcpopt_step - look at the option at *@off of a TCP header
 * @hdr: the header, in a buffer of SVC_TCPHDR_BUF octets (offsets are masked)
 * @hdr_len: the header's length (data offset * 4), <= SVC_TCPHDR_MAX
 * @off: in: where the option starts (>= 20); out: where the next one starts
 * @kind, @len: out: the option's kind and length (SVC_OPTW_OPT only)
 *
 * Follows tcp_parse_options(): a malformed length ends the walk (BAD), as it
 * does in the kernel.
 */
static __always_inline int svc_tcpopt_step(const __u8 *hdr, __u32 hdr_len, __u32 *off, __u8 *kind,
					   __u8 *len)
{
	__u32 o = *off;
	__u8 k, l;

	if (o >= hdr_len)
		return SVC_OPTW_END;
	k = hdr[o & (SVC_TCPHDR_BUF - 1)];
	if (k == SVC_TCPOPT_EOL)
		return SVC_OPTW_END;
	if (k == SVC_TCPOPT_NOP) {
		*off = o + 1;
		return SVC_OPTW_NOP;
	}
	if (o + 1 >= hdr_len)
		return SVC_OPTW_BAD;
	l = hdr[(o + 1) & (SVC_TCPHDR_BUF - 1)];
	if (l < 2 || o + l > hdr_len)
		return SVC_OPTW_BAD;
	*kind = k;
	*len = l;
	*off = o + l;
	return SVC_OPTW_OPT;
}

/* ------------------------------------------------------------------------ */
/* Configuration, selection and per-socket state (maps of bpf/tiflow.bpf.c) */
/* ------------------------------------------------------------------------ */

/* svc_tiflow_cfg.flags */
#define SVC_TIFLOW_CFG_F_NO_INITIATE (1U << 0) /* never offer the option in our SYNs */
#define SVC_TIFLOW_CFG_F_NO_RESPOND (1U << 1)  /* never answer an offer */

/* tiflow_cfg[0]: this host's settings, written by the agent. */
struct svc_tiflow_cfg {
	__u64 key[2];      /* SipHash key deriving the responder's half and TISeq; random */
	__u16 instance_id; /* top 16 bits of every responder half we choose; 0 if unset */
	__u8 kind;         /* option kind; 0 = SVC_TIFLOW_KIND_DEFAULT */
	__u8 flags;        /* SVC_TIFLOW_CFG_F_* */
	__u32 n_select;    /* entries in tiflow_select; 0 = every socket takes part */
};

/*
 * tiflow_select key: which sockets take part when the table is not empty.
 * The initiator matches its destination, the responder its local (service)
 * address and port. addr all-zero = any address; port 0 = any port. A socket
 * takes part if (addr, port), (addr, any) or (any, port) is present.
 */
struct svc_tiflow_sel {
	struct svc_addr addr; /* v4-mapped for IPv4 */
	__be16 port;          /* network order */
	__u16 pad;            /* zero */
};

/* Per-socket TI-flow state (svc_tiflow_sk.state). */
enum svc_tiflow_state {
	SVC_TIFLOW_S_NONE = 0,       /* never took part (no storage is "none" too) */
	SVC_TIFLOW_S_OFFERED = 1,    /* initiator: option in our SYN, no SYN-ACK yet */
	SVC_TIFLOW_S_NEGOTIATED = 2, /* both ends speak TI-flow: the fields below are valid */
	SVC_TIFLOW_S_PLAIN = 3,      /* took part, fell back to plain TCP (see reason) */
	SVC_TIFLOW_S_RESUME = 4,     /* initiator: opens a connection resuming flow tifid */
};

/* svc_tiflow_sk.role */
#define SVC_TIFLOW_ROLE_INITIATOR 1
#define SVC_TIFLOW_ROLE_RESPONDER 2

/* svc_tiflow_sk.flags */
#define SVC_TIFLOW_F_CONFIRM_DUE (1U << 0) /* initiator: confirmations go out until the peer is seen established */
#define SVC_TIFLOW_F_CONFIRM_SENT (1U << 1) /* initiator: at least one confirmation went out */

/*
 * tiflow_sk (socket storage) value: the TI-flow <-> TCP mapping of one socket,
 * readable from userspace with the socket's fd as key. The first byte we send
 * (TCP sequence isn_local + 1) is TI-flow byte tiseq_local; the first byte the
 * peer sends (isn_peer + 1) is tiseq_peer. (The paper's TISeq does not count
 * the SYN: the ACK confirms with the unchanged initial TISeq.)
 * In state RESUME, tiseq_local and tiseq_peer are the TISeq and TIAck the
 * resume SYN carries (struct svc_tiflow_resume), not initial values.
 */
struct svc_tiflow_sk {
	__u64 tifid;       /* completed TIFID; initiator before the SYN-ACK: own half only */
	__u64 tiseq_local; /* our initial TISeq (48 bits, non-zero) */
	__u64 tiseq_peer;  /* the peer's initial TISeq (0 until known) */
	__u32 isn_local;   /* our TCP initial sequence number */
	__u32 isn_peer;    /* the peer's TCP initial sequence number */
	__u8 state;        /* enum svc_tiflow_state */
	__u8 role;         /* SVC_TIFLOW_ROLE_* */
	__u8 reason;       /* PLAIN: enum svc_tiflow_event that caused it */
	__u8 flags;        /* SVC_TIFLOW_F_* */
	__u32 pad;
};

/*
 * Socket options of TI-flow endpoints. A TCP socket in a cgroup the TI-flow
 * programs are attached to has them at level SVC_TIFLOW_SOL (a number no
 * kernel protocol uses), served by cgroup sockopt programs: no privilege and
 * no bpf() call is needed, so a library inside any application can use them.
 * Elsewhere the kernel refuses the level (ENOPROTOOPT): TI-flow is not here.
 *   getsockopt SVC_TIFLOW_SO_STATE: struct svc_tiflow_sk of the socket (all
 *     zero, state NONE, if it never took part). EINVAL: buffer too small.
 *   setsockopt SVC_TIFLOW_SO_RESUME, before connect(): the connection resumes
 *     flow tifid; its SYN carries tifid (both halves non-zero), tiseq and
 *     tiack (48 bits each). EINVAL: another length, a value out of range;
 *     EISCONN: the socket is connected or connecting; EOPNOTSUPP: not TCP.
 *     The SYN carries the option only if the destination is selected (see
 *     svc_tiflow_sel); otherwise the state reads PLAIN, reason not_selected.
 */
#define SVC_TIFLOW_SOL 0x5354 /* "ST" */
#define SVC_TIFLOW_SO_STATE 1
#define SVC_TIFLOW_SO_RESUME 2

/* SVC_TIFLOW_SO_RESUME's value. */
struct svc_tiflow_resume {
	__u64 tifid; /* the flow's completed TIFID */
	__u64 tiseq; /* next byte we send, in the flow's 48-bit sequence space */
	__u64 tiack; /* next byte we expect from the peer (all before it delivered) */
};

/*
 * 48-bit TI-flow sequence arithmetic. A TISeq names a byte of the flow's
 * stream modulo 2^48; one TCP connection's 32-bit sequence numbers wrap every
 * 4 GiB, so a TISeq is never derived from a TCP sequence number but from a
 * 64-bit count of bytes since the start of the flow (the count survives a
 * resume, the TCP connection does not). Comparisons are serial-number
 * arithmetic (RFC 1982) on 48 bits: valid while the two values are less than
 * 2^47 bytes apart, far more than any window of unconfirmed bytes.
 */
#define SVC_TI48_HALF (1ULL << 47)

/* svc_ti48_add - @ti advanced by @n bytes, modulo 2^48. */
static __always_inline __u64 svc_ti48_add(__u64 ti, __u64 n)
{
	return (ti + n) & SVC_TI48_MASK;
}

/* svc_ti48_diff - @a - @b as a signed distance (sign-extended from 48 bits). */
static __always_inline __s64 svc_ti48_diff(__u64 a, __u64 b)
{
	__u64 d = (a - b) & SVC_TI48_MASK;

	return d & SVC_TI48_HALF ? (__s64)(d | ~SVC_TI48_MASK) : (__s64)d;
}

/* svc_ti48_before - 1 if @a comes before @b (at most 2^47 - 1 bytes apart), else 0. */
static __always_inline int svc_ti48_before(__u64 a, __u64 b)
{
	return svc_ti48_diff(a, b) < 0;
}

/* svc_tiflow_bytes_to_ti - the TISeq of the byte @count bytes after the flow's first (@ti_init). */
static __always_inline __u64 svc_tiflow_bytes_to_ti(__u64 ti_init, __u64 count)
{
	return svc_ti48_add(ti_init, count);
}

/*
 * svc_tiflow_ti_to_bytes - the 64-bit byte count that @ti names, taking the
 * one nearest @ref (a count this side knows, e.g. what it has sent): how a
 * 48-bit TIAck from the peer is mapped back to our stream past 2^48 bytes.
 * Returns 0, or -1 if @ti is 2^47 or more away from @ref or would name a
 * count below 0: such a TISeq is stale or forged.
 */
static __always_inline int svc_tiflow_ti_to_bytes(__u64 ti_init, __u64 ti, __u64 ref,
						   __u64 *count)
{
	__s64 d = svc_ti48_diff(ti, svc_tiflow_bytes_to_ti(ti_init, ref));

	if (d == -(__s64)SVC_TI48_HALF || (d < 0 && (__u64)-d > ref))
		return -1;
	*count = ref + d;
	return 0;
}

/*
 * Events of the negotiation, each counted in tiflow_stats (per-CPU __u64,
 * indexed by enum svc_tiflow_event). X(name, "label", "description").
 * The PLAIN_* events are also a plain socket's svc_tiflow_sk.reason.
 */
#define SVC_TIFLOW_EVENTS(X)                                                                        \
	X(SYN_OPT_SENT, "syn_opt_sent", "initiator: option written into a SYN")                     \
	X(SYNACK_OPT_SENT, "synack_opt_sent", "responder: option written into a SYN-ACK")           \
	X(ACK_OPT_SENT, "ack_opt_sent", "initiator: confirmation written (counted once a connection)") \
	X(NEGOTIATED_ACTIVE, "negotiated_active", "initiator: TI-flow established")                 \
	X(NEGOTIATED_PASSIVE, "negotiated_passive", "responder: TI-flow established")               \
	X(NOT_SELECTED, "not_selected", "address/port not selected: plain TCP, no offer")           \
	X(PLAIN_NO_ROOM, "plain_no_room", "no 20 octets of option space left: plain TCP")          \
	X(PLAIN_SYN_NO_OPT, "plain_syn_no_opt", "responder: SYN without the option")               \
	X(PLAIN_SYN_BAD, "plain_syn_bad", "responder: SYN option malformed or initiator half 0")   \
	X(PLAIN_RESUME, "plain_resume", "responder: SYN resuming a flow (completed TIFID): answered as plain TCP") \
	X(PLAIN_SYNACK_RTX, "plain_synack_rtx", "responder: SYN-ACK retransmitted, SYN gone")      \
	X(PLAIN_SYNACK_NO_OPT, "plain_synack_no_opt", "initiator: SYN-ACK without the option")     \
	X(PLAIN_SYNACK_BAD, "plain_synack_bad", "initiator: SYN-ACK option does not match the SYN") \
	X(PLAIN_ACK_NO_OPT, "plain_ack_no_opt", "responder: handshake completed without the option") \
	X(PLAIN_ACK_BAD, "plain_ack_bad", "responder: final ACK option does not match the SYN-ACK") \
	X(PLAIN_DISABLED, "plain_disabled", "role disabled by configuration")                      \
	X(HDR_BAD, "hdr_bad", "malformed TCP options: walk stopped")                                \
	X(ERR_STORAGE, "err_storage", "socket storage could not be created")                        \
	X(ERR_STORE, "err_store", "bpf_store_hdr_opt failed")                                       \
	X(ERR_SYN, "err_syn", "the SYN could not be read while building the SYN-ACK")             \
	X(ACK_OPT_DONE, "ack_opt_done", "initiator: peer acked our data or sent data: confirmations stop") \
	X(ACK_OPT_SKIPPED, "ack_opt_skipped", "initiator: no room for a repeated confirmation in a segment") \
	X(RESUME_SET, "resume_set", "initiator: application asked to resume a flow (SVC_TIFLOW_SO_RESUME)") \
	X(RESUME_REFUSED, "resume_refused", "initiator: SVC_TIFLOW_SO_RESUME refused (bad value or socket state)") \
	X(RESUME_SYN_SENT, "resume_syn_sent", "initiator: completed TIFID, TISeq, TIAck written into a SYN")

enum svc_tiflow_event {
#define SVC_TIFLOW_EVENT_ENUM(name, label, desc) SVC_TIFLOW_EV_##name,
	SVC_TIFLOW_EVENTS(SVC_TIFLOW_EVENT_ENUM)
#undef SVC_TIFLOW_EVENT_ENUM
	SVC_TIFLOW_EV_MAX
};

/* Entries of tiflow_stats: room for new events, so an upgrade adopts the pinned map. */
#define SVC_TIFLOW_STATS_SLOTS 32
_Static_assert(SVC_TIFLOW_EV_MAX <= SVC_TIFLOW_STATS_SLOTS, "tiflow_stats too small");

#endif /* SVC_TIFLOW_H */
