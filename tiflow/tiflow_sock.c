// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* libsvctiflow: TI-flow socket options and resumed-SYN recognition for applications. */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "tiflow_sock.h"

int tiflow_sock_state(int fd, struct svc_tiflow_sk *st)
{
	socklen_t len = sizeof(*st);

	if (getsockopt(fd, SVC_TIFLOW_SOL, SVC_TIFLOW_SO_STATE, st, &len) < 0)
		return -1;
	if (len != sizeof(*st)) {
		errno = EPROTO; /* a program of another version answered */
		return -1;
	}
	return 0;
}

int tiflow_sock_resume(int fd, __u64 tifid, __u64 tiseq, __u64 tiack)
{
	struct svc_tiflow_resume r = { .tifid = tifid, .tiseq = tiseq, .tiack = tiack };

	return setsockopt(fd, SVC_TIFLOW_SOL, SVC_TIFLOW_SO_RESUME, &r, sizeof(r));
}

int tiflow_listen_save_syn(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_SAVE_SYN, &one, sizeof(one));
}

/* IPv6 extension headers a SYN may carry before TCP (each: next header, length in 8 octets - 1). */
static int is_ext6(__u8 nh)
{
	return nh == 0 /* hop-by-hop */ || nh == 43 /* routing */ || nh == 60 /* destination */;
}

/* tcp_offset - offset of the TCP header in the IP packet @p, or -1. */
static long tcp_offset(const __u8 *p, size_t len)
{
	size_t off;
	__u8 nh;

	if (len < 1)
		return -1;
	if (p[0] >> 4 == 4) {
		off = (size_t)(p[0] & 0xf) * 4;
		if (off < 20 || len < off || p[9] != IPPROTO_TCP)
			return -1;
		return (long)off;
	}
	if (p[0] >> 4 != 6 || len < 40)
		return -1;
	nh = p[6];
	off = 40;
	for (int i = 0; i < 8 && is_ext6(nh); i++) {
		if (len < off + 2)
			return -1;
		nh = p[off];
		off += ((size_t)p[off + 1] + 1) * 8;
	}
	if (nh != IPPROTO_TCP || len < off)
		return -1;
	return (long)off;
}

int tiflow_syn_resume(const void *syn, size_t len, __u8 kind, struct svc_tiflow_vals *out)
{
	const __u8 *p = syn;
	__u8 hdr[SVC_TCPHDR_BUF] = { 0 }, k = 0, l = 0;
	struct svc_tiflow_opt o;
	__u32 hlen, off = SVC_TCPHDR_MIN;
	long t = tcp_offset(p, len);

	if (!kind)
		kind = SVC_TIFLOW_KIND_DEFAULT;
	if (t < 0 || len - (size_t)t < SVC_TCPHDR_MIN)
		goto bad;
	hlen = (__u32)(p[t + 12] >> 4) * 4;
	if (hlen < SVC_TCPHDR_MIN || len - (size_t)t < hlen || !(p[t + 13] & 0x02 /* SYN */))
		goto bad;
	memcpy(hdr, p + t, hlen);
	for (int i = 0; i < SVC_TCPOPT_MAX_STEPS; i++) {
		__u32 at = off;

		switch (svc_tcpopt_step(hdr, hlen, &off, &k, &l)) {
		case SVC_OPTW_NOP:
			continue;
		case SVC_OPTW_END:
			return 0;
		case SVC_OPTW_BAD:
			goto bad;
		}
		if (k != kind)
			continue;
		if (l != SVC_TIFLOW_LEN)
			return 0; /* not our option's shape: a new connection */
		memcpy(&o, hdr + at, sizeof(o));
		svc_tiflow_unpack(&o, out);
		return svc_tifid_initiator(out->tifid) && svc_tifid_responder(out->tifid);
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int tiflow_accepted_resume(int fd, __u8 kind, struct svc_tiflow_vals *out)
{
	/* IPv6 with extension headers and a full TCP header fit easily */
	__u8 syn[512];
	socklen_t len = sizeof(syn);

	if (getsockopt(fd, IPPROTO_TCP, TCP_SAVED_SYN, syn, &len) < 0)
		return -1;
	if (!len) {
		errno = ENOENT; /* not saved (listener without TCP_SAVE_SYN), or read already */
		return -1;
	}
	return tiflow_syn_resume(syn, len, kind, out);
}
