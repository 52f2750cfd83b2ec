/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ACP (Anypoint) wire formats: the negotiation option, the frame header, the segment walk. */
#ifndef SVC_ACP_H
#define SVC_ACP_H

/*
 * One definition for the endpoint library (acp/), the agent's switch and the
 * BPF programs that will classify ACP connections (docs/acp.md). Everything
 * here is usable from BPF: no libc, byte-wise big-endian access (no alignment
 * assumed), a constant loop bound.
 */
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* ------------------------------------------------------------------------ */
/* Negotiation option (SYN and SYN-ACK)                                      */
/* ------------------------------------------------------------------------ */

/*
 * RFC 6994 experimental option: kind 254, then a 16-bit ExID telling it from
 * the other users of kind 254 (the flowID option is ExID 0x5356, headers/
 * svc_tiflow.h). Not IANA-registered, like the flowID's.
 *
 *   0        1        2        3        4        5        6        7
 *   +--------+--------+--------+--------+--------+--------+--------+--------+
 *   | kind   | len    | ExID             | version| flags  | max_frame       |
 *   | 254    | 8      | 0x41 0x43 ("AC") |        | 0      | big-endian      |
 *   +--------+--------+--------+--------+--------+--------+--------+--------+
 *
 * version: the highest ACP version the sender speaks (this file: 1); the
 *   SYN-ACK answers the version both use, min(offered, own).
 * flags: none defined; a sender writes 0, a receiver ignores them (so a
 *   later version can add hints without breaking version 1 peers).
 * max_frame: the largest frame, header included, the sender accepts; the
 *   connection uses the smaller of the two values and of the MSS.
 *
 * Eight octets keep the options 32-bit aligned. A SYN-ACK without the option
 * means the peer (or a middlebox) does not speak ACP: the connection is
 * plain TCP.
 */
#define SVC_ACP_OPT_KIND 254
#define SVC_ACP_OPT_EXID 0x4143 /* "AC" */
#define SVC_ACP_OPT_LEN 8
#define SVC_ACP_VERSION 1

struct svc_acp_opt {
	__u8 kind;        /* SVC_ACP_OPT_KIND */
	__u8 len;         /* SVC_ACP_OPT_LEN */
	__u8 exid[2];     /* SVC_ACP_OPT_EXID, big-endian */
	__u8 version;     /* highest version offered / version agreed */
	__u8 flags;       /* 0 */
	__u8 max_frm[2];  /* largest acceptable frame, header included, big-endian */
} __attribute__((packed));

_Static_assert(sizeof(struct svc_acp_opt) == SVC_ACP_OPT_LEN, "ACP option is 8 octets");

/* The option's values in host order. */
struct svc_acp_opt_vals {
	__u8 version;
	__u8 flags;
	__u16 max_frame;
};

/* Why an option was not accepted (svc_acp_opt_decode). */
enum svc_acp_opt_err {
	SVC_ACP_OPT_E_KIND = -1,    /* kind is not 254 */
	SVC_ACP_OPT_E_LEN = -2,     /* length is not 8, or runs past the options */
	SVC_ACP_OPT_E_EXID = -3,    /* another experiment's kind 254: keep walking */
	SVC_ACP_OPT_E_VERSION = -4, /* version 0 */
	SVC_ACP_OPT_E_MAXFRM = -5,  /* max_frame smaller than a frame header */
};

/* ------------------------------------------------------------------------ */
/* Frame header                                                              */
/* ------------------------------------------------------------------------ */

/*
 * Every frame starts with this header; a segment's payload is a whole number
 * of frames, its first octet a header, so a switch can parse a segment that
 * arrives out of order (Anypoint paper, section 4). All fields big-endian.
 *
 *   0        1        2        3        4        5        6        7
 *   +--------+--------+--------+--------+--------+--------+--------+--------+
 *   | length          | version| flags  | FSN                               |
 *   +--------+--------+--------+--------+--------+--------+--------+--------+
 *   | payload (length - 8 octets) ...
 *
 * length: the whole frame, header included: >= 8, <= the connection's
 *   maximum frame (SVC_ACP_FRAME_MAX at most). It is also the offset of the
 *   next frame in the segment.
 * version: the version agreed in the handshake (1).
 * flags: SVC_ACP_F_*; the undefined bits are zero (a frame with one set is
 *   malformed, so that a later version may define them).
 * FSN: frame sequence number, per direction, counting from the first frame
 *   (wraps at 2^32); the frames of one segment have consecutive FSNs.
 */
#define SVC_ACP_HDR_LEN 8
#define SVC_ACP_FRAME_MAX 65535 /* what the 16-bit length can say */

/*
 * Maximum frame rule: a frame never exceeds the connection's MSS (header
 * included), so TCP never has to split it; a sender that writes each frame
 * with one send(MSG_EOR) then gets one frame per segment (docs/acp.md).
 */

/* STICKY: route this frame to the server that got the previous frame. */
#define SVC_ACP_F_STICKY 0x01
/*
 * MORE: the message goes on in the next frame of this direction. The next
 * frame is routed like a STICKY one, so a message larger than a frame stays
 * on one server; the last frame of a message has MORE clear.
 */
#define SVC_ACP_F_MORE 0x02
#define SVC_ACP_F_ALL (SVC_ACP_F_STICKY | SVC_ACP_F_MORE)

struct svc_acp_hdr {
	__u8 len[2]; /* whole frame, big-endian */
	__u8 version;
	__u8 flags;
	__u8 fsn[4]; /* big-endian */
} __attribute__((packed));

_Static_assert(sizeof(struct svc_acp_hdr) == SVC_ACP_HDR_LEN, "ACP frame header is 8 octets");

/*
 * The most frames svc_acp_frame_parse() walks in one segment. Frames are at
 * least 8 octets, so a 1500-octet MTU segment (at most 1460 octets of
 * payload) holds at most 182: every segment of such a path is walked whole.
 * A segment with more (jumbo frames full of empty frames) is refused.
 */
#define SVC_ACP_SEG_FRAMES_MAX 256

/* What svc_acp_frame_parse() found: the first frame and the segment's count. */
struct svc_acp_frame {
	__u32 len;      /* first frame's length, header included */
	__u32 fsn;      /* first frame's FSN */
	__u32 last_fsn; /* last frame's FSN */
	__u16 nframes;  /* frames in the segment */
	__u8 version;
	__u8 flags; /* first frame's flags */
};

/* Why a segment was refused (svc_acp_frame_parse); 0 frames is not an error. */
#define SVC_ACP_ERRORS(X)                                                              \
	X(SHORT, "short", "fewer than 8 octets: no whole frame header")                 \
	X(BAD_LEN, "bad_len", "a length field smaller than the frame header")           \
	X(VERSION, "version", "a frame header with a version other than 1")             \
	X(FLAGS, "flags", "a frame header with an undefined flag set")                 \
	X(PARTIAL, "partial", "the segment ends inside a frame (or a frame header)")   \
	X(FSN, "fsn", "frames of the segment with non-consecutive FSNs")               \
	X(TOO_MANY, "too_many", "more frames in the segment than SVC_ACP_SEG_FRAMES_MAX")

enum svc_acp_err {
	SVC_ACP_E_NONE = 0,
#define SVC_ACP_ERR_ENUM(name, label, desc) SVC_ACP_E_##name,
	SVC_ACP_ERRORS(SVC_ACP_ERR_ENUM)
#undef SVC_ACP_ERR_ENUM
	SVC_ACP_E_MAX
};

/* ------------------------------------------------------------------------ */
/* Byte access                                                               */
/* ------------------------------------------------------------------------ */

static __always_inline __u16 svc_acp_get16(const __u8 *p)
{
	return ((__u16)p[0] << 8) | p[1];
}

static __always_inline __u32 svc_acp_get32(const __u8 *p)
{
	return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}

static __always_inline void svc_acp_put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static __always_inline void svc_acp_put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* ------------------------------------------------------------------------ */
/* Option encode / decode                                                    */
/* ------------------------------------------------------------------------ */

/* svc_acp_opt_encode - write the 8-octet option for @v at @p. */
static __always_inline void svc_acp_opt_encode(__u8 *p, const struct svc_acp_opt_vals *v)
{
	p[0] = SVC_ACP_OPT_KIND;
	p[1] = SVC_ACP_OPT_LEN;
	svc_acp_put16(p + 2, SVC_ACP_OPT_EXID);
	p[4] = v->version;
	p[5] = v->flags;
	svc_acp_put16(p + 6, v->max_frame);
}

/**
 * svc_acp_opt_decode - read an ACP option
 * @p: the option's first octet (its kind), as found by a TCP option walk
 * @avail: octets from @p to the end of the TCP options
 * @v: out: the values (only when 0 is returned)
 *
 * Returns 0, or an enum svc_acp_opt_err. SVC_ACP_OPT_E_EXID is another
 * experiment's option, not a malformed one: the caller keeps walking.
 */
static __always_inline int svc_acp_opt_decode(const __u8 *p, __u32 avail,
					      struct svc_acp_opt_vals *v)
{
	__u16 max_frame;

	if (avail < 1 || p[0] != SVC_ACP_OPT_KIND)
		return SVC_ACP_OPT_E_KIND;
	/* The ExID is read before the length is judged: 254 options of other lengths are not ours. */
	if (avail < 4 || p[1] < 4 || p[1] > avail)
		return SVC_ACP_OPT_E_LEN;
	if (svc_acp_get16(p + 2) != SVC_ACP_OPT_EXID)
		return SVC_ACP_OPT_E_EXID;
	if (p[1] != SVC_ACP_OPT_LEN)
		return SVC_ACP_OPT_E_LEN;
	if (p[4] == 0)
		return SVC_ACP_OPT_E_VERSION;
	max_frame = svc_acp_get16(p + 6);
	if (max_frame < SVC_ACP_HDR_LEN)
		return SVC_ACP_OPT_E_MAXFRM;
	v->version = p[4];
	v->flags = p[5];
	v->max_frame = max_frame;
	return 0;
}

/*
 * svc_acp_opt_answer - the responder's answer to an offer: the lower version
 * and the lower maximum frame of the two sides.
 */
static __always_inline void svc_acp_opt_answer(const struct svc_acp_opt_vals *offer,
					       const struct svc_acp_opt_vals *own,
					       struct svc_acp_opt_vals *answer)
{
	answer->version = offer->version < own->version ? offer->version : own->version;
	answer->flags = 0;
	answer->max_frame = offer->max_frame < own->max_frame ? offer->max_frame : own->max_frame;
}

/* ------------------------------------------------------------------------ */
/* Frame header encode / parse                                               */
/* ------------------------------------------------------------------------ */

/* svc_acp_hdr_encode - write a version-1 frame header (@len: whole frame) at @p. */
static __always_inline void svc_acp_hdr_encode(__u8 *p, __u16 len, __u8 flags, __u32 fsn)
{
	svc_acp_put16(p, len);
	p[2] = SVC_ACP_VERSION;
	p[3] = flags;
	svc_acp_put32(p + 4, fsn);
}

/*
 * svc_acp_hdr_check - validate one header at @p (8 octets readable).
 * Returns the frame's length, or -enum svc_acp_err.
 */
static __always_inline int svc_acp_hdr_check(const __u8 *p)
{
	__u16 len = svc_acp_get16(p);

	if (len < SVC_ACP_HDR_LEN)
		return -SVC_ACP_E_BAD_LEN;
	if (p[2] != SVC_ACP_VERSION)
		return -SVC_ACP_E_VERSION;
	if (p[3] & ~SVC_ACP_F_ALL)
		return -SVC_ACP_E_FLAGS;
	return len;
}

/**
 * svc_acp_frame_parse - validate the frames of a segment's payload
 * @buf: the payload (its first octet must be a frame header)
 * @len: its length in octets
 * @out: out: the first frame and the count (valid when > 0 is returned)
 *
 * Walks the frames header to header, at most SVC_ACP_SEG_FRAMES_MAX of them,
 * and checks each header and that the last frame ends where the payload does.
 * Returns the number of frames (0 for an empty payload: a pure ACK), or
 * -enum svc_acp_err for the first fault found.
 */
static __always_inline int svc_acp_frame_parse(const __u8 *buf, __u32 len,
					       struct svc_acp_frame *out)
{
	__u32 off = 0, fsn = 0, i;
	int flen;

	if (len == 0)
		return 0;
	if (len < SVC_ACP_HDR_LEN)
		return -SVC_ACP_E_SHORT;
	for (i = 0; i < SVC_ACP_SEG_FRAMES_MAX; i++) {
		const __u8 *h = buf + off;
		__u32 f;

		if (len - off < SVC_ACP_HDR_LEN)
			return -SVC_ACP_E_PARTIAL;
		flen = svc_acp_hdr_check(h);
		if (flen < 0)
			return flen;
		f = svc_acp_get32(h + 4);
		if (i == 0) {
			out->len = flen;
			out->fsn = f;
			out->version = h[2];
			out->flags = h[3];
		} else if (f != fsn + 1) {
			return -SVC_ACP_E_FSN;
		}
		fsn = f;
		if ((__u32)flen > len - off)
			return -SVC_ACP_E_PARTIAL;
		off += flen;
		if (off == len) {
			out->last_fsn = fsn;
			out->nframes = i + 1;
			return i + 1;
		}
	}
	return -SVC_ACP_E_TOO_MANY;
}

#endif /* SVC_ACP_H */
