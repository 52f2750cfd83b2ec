/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The TI-flow resume header: the first 32 octets each side sends on a TCP
 * connection that resumes a flow (docs/tiflow.md, "Break and resume"). It
 * proves the sender took part in the flow's handshake and says where its
 * byte stream goes on. The resume SYN cannot carry it: its option space is
 * full with the TI-flow option.
 *
 *  0       1       2       3       4       5       6       7
 * +-------+-------+-------+-------+-------+-------+-------+-------+
 * | ver 1 | flags | attempt (big-endian, 32 bits) | TIFID ...     |
 * +-------+-------+-------+-------+-------+-------+-------+-------+
 * | ... TIFID (6 octets)  | TISeq (6 octets)                      |
 * +-------+-------+-------+-------+-------+-------+-------+-------+
 * | TIAck (6 octets)                              | MAC ...       |
 * +-------+-------+-------+-------+-------+-------+-------+-------+
 * | ... MAC (8 octets: SipHash-2-4 of octets 0..23, as SipHash     |
 * |     writes its output: little-endian)                         |
 * +-------+-------+-------+-------+-------+-------+-------+-------+
 *
 * flags: SVC_TIFLOW_RH_F_RESPONDER on the responder's header (so neither
 * side's header can be reflected as the other's); other bits zero.
 * attempt: the flow's resume counter, 1 for its first resume; a receiver
 * takes only a value above the last one it accepted (no replay).
 * TISeq: the next byte this side sends; TIAck: the next byte it expects (all
 * before it delivered to its application), both in the flow's 48-bit space.
 *
 * The MAC key is made of what the flow's handshake exchanged: both initial
 * TISeqs and the low halves of both TCP ISNs (128 bits; svc_tiflow_rh_key,
 * the key octets being k[0] then k[1], little-endian). An on-path observer
 * of the handshake saw them; an off-path sender did not, and cannot forge or
 * redirect a flow (the responder's initial TISeq is a keyed PRF, the rest is
 * random).
 */
#ifndef SVC_TIFLOW_RESUME_H
#define SVC_TIFLOW_RESUME_H

#include "svc_tiflow.h"
#include "svc_optmac.h"

#define SVC_TIFLOW_RH_LEN 32
#define SVC_TIFLOW_RH_VERSION 1
#define SVC_TIFLOW_RH_F_RESPONDER 0x01

struct svc_tiflow_rhdr {
	__u8 version;
	__u8 flags;
	__u8 attempt[4];
	__u8 tifid[6];
	__u8 tiseq[6];
	__u8 tiack[6];
	__u8 mac[8];
} __attribute__((packed));

_Static_assert(sizeof(struct svc_tiflow_rhdr) == SVC_TIFLOW_RH_LEN, "resume header is 32 octets");

/* What a resume header says. */
struct svc_tiflow_rh_vals {
	__u64 tifid, tiseq, tiack; /* 48 bits each */
	__u32 attempt;
	__u8 responder; /* sent by the flow's responder */
};

/* Why a resume header is refused (svc_tiflow_rh_open). */
enum svc_tiflow_rh_err {
	SVC_TIFLOW_RH_OK = 0,
	SVC_TIFLOW_RH_E_VERSION = 1, /* another version, or an undefined flag */
	SVC_TIFLOW_RH_E_SIDE = 2,    /* sent by the side we are */
	SVC_TIFLOW_RH_E_FLOW = 3,    /* another flow's TIFID */
	SVC_TIFLOW_RH_E_MAC = 4,     /* forged, or keyed by another handshake */
	SVC_TIFLOW_RH_E_REPLAY = 5,  /* attempt not above the last accepted */
};

/* The flow's handshake values the MAC key is made of. */
struct svc_tiflow_rh_keyin {
	__u64 tiseq_i, tiseq_r; /* initial TISeqs of the initiator and the responder */
	__u32 isn_i, isn_r;	/* TCP ISNs of the flow's first connection */
};

/* svc_tiflow_rh_key - the 128-bit MAC key of a flow. */
static __always_inline void svc_tiflow_rh_key(const struct svc_tiflow_rh_keyin *in, __u64 key[2])
{
	key[0] = (in->tiseq_i & SVC_TI48_MASK) | (__u64)(in->isn_i & 0xffff) << 48;
	key[1] = (in->tiseq_r & SVC_TI48_MASK) | (__u64)(in->isn_r & 0xffff) << 48;
}

/*
 * svc_tiflow_rh_le64 - octets @p[0..7] as SipHash reads a message block
 * (little-endian), whatever the host's byte order.
 */
static __always_inline __u64 svc_tiflow_rh_le64(const __u8 *p)
{
	__u64 v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* svc_tiflow_rh_mac - SipHash-2-4 under @key of the header's first 24 octets (3 words). */
static __always_inline __u64 svc_tiflow_rh_mac(const struct svc_tiflow_rhdr *h, const __u64 key[2])
{
	const __u8 *p = (const __u8 *)h;
	__u64 m[3];

	m[0] = svc_tiflow_rh_le64(p);
	m[1] = svc_tiflow_rh_le64(p + 8);
	m[2] = svc_tiflow_rh_le64(p + 16);
	return svc_siphash(key, m, 3);
}

/* svc_tiflow_rh_seal - write the header for @v under @key. */
static __always_inline void svc_tiflow_rh_seal(struct svc_tiflow_rhdr *h,
					       const struct svc_tiflow_rh_vals *v,
					       const __u64 key[2])
{
	__u64 mac;
	int i;

	h->version = SVC_TIFLOW_RH_VERSION;
	h->flags = v->responder ? SVC_TIFLOW_RH_F_RESPONDER : 0;
	for (i = 0; i < 4; i++)
		h->attempt[i] = (__u8)(v->attempt >> (24 - 8 * i));
	svc_put48(h->tifid, v->tifid);
	svc_put48(h->tiseq, v->tiseq);
	svc_put48(h->tiack, v->tiack);
	mac = svc_tiflow_rh_mac(h, key);
	for (i = 0; i < 8; i++)
		h->mac[i] = (__u8)(mac >> (8 * i));
}

/**
 * svc_tiflow_rh_open - check a received header and read it
 * @h: the header; @key: the flow's MAC key; @tifid: the flow
 * @we_responder: 1 if we are the flow's responder (the header must be the initiator's)
 * @last_attempt: the highest attempt accepted so far (0: none)
 * @out: the values, valid on SVC_TIFLOW_RH_OK
 *
 * The MAC is compared in constant time, and before anything it covers is
 * trusted.
 */
static __always_inline int svc_tiflow_rh_open(const struct svc_tiflow_rhdr *h, const __u64 key[2],
					      __u64 tifid, int we_responder, __u32 last_attempt,
					      struct svc_tiflow_rh_vals *out)
{
	__u64 mac = svc_tiflow_rh_mac(h, key);
	__u8 diff = 0;
	int i;

	for (i = 0; i < 8; i++)
		diff |= h->mac[i] ^ (__u8)(mac >> (8 * i));
	if (diff)
		return SVC_TIFLOW_RH_E_MAC;
	if (h->version != SVC_TIFLOW_RH_VERSION || (h->flags & ~SVC_TIFLOW_RH_F_RESPONDER))
		return SVC_TIFLOW_RH_E_VERSION;
	out->responder = !!(h->flags & SVC_TIFLOW_RH_F_RESPONDER);
	if (out->responder == !!we_responder)
		return SVC_TIFLOW_RH_E_SIDE;
	out->tifid = svc_get48(h->tifid);
	if (out->tifid != (tifid & SVC_TI48_MASK))
		return SVC_TIFLOW_RH_E_FLOW;
	out->attempt = (__u32)h->attempt[0] << 24 | (__u32)h->attempt[1] << 16 |
		       (__u32)h->attempt[2] << 8 | h->attempt[3];
	if (out->attempt <= last_attempt)
		return SVC_TIFLOW_RH_E_REPLAY;
	out->tiseq = svc_get48(h->tiseq);
	out->tiack = svc_get48(h->tiack);
	return SVC_TIFLOW_RH_OK;
}

#endif /* SVC_TIFLOW_RESUME_H */
