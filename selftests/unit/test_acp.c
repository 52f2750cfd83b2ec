// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of ACP stage 1: headers/svc_acp.h (parser, option) and libsvcacp over loopback TCP. */
#define _GNU_SOURCE /* POLLRDHUP */
#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_segs_out */
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>
#include "acp.h"
#include "svc_tiflow.h"

/* ------------------------------------------------------------------------ */
/* Segment parser                                                            */
/* ------------------------------------------------------------------------ */

/* Room for the largest frame plus a little past it. */
#define SEG_BUF (SVC_ACP_FRAME_MAX + 64)

/* put_frame - a frame header with raw field values at @p (payload octets set to 0xa5). */
static __u32 put_frame(__u8 *p, __u16 len, __u8 version, __u8 flags, __u32 fsn)
{
	p[0] = len >> 8;
	p[1] = len;
	p[2] = version;
	p[3] = flags;
	p[4] = fsn >> 24;
	p[5] = fsn >> 16;
	p[6] = fsn >> 8;
	p[7] = fsn;
	if (len > SVC_ACP_HDR_LEN)
		memset(p + SVC_ACP_HDR_LEN, 0xa5, len - SVC_ACP_HDR_LEN);
	return len;
}

START_TEST(test_parse_single)
{
	static __u8 b[64];
	struct svc_acp_frame f;
	__u32 n = put_frame(b, 18, 1, SVC_ACP_F_STICKY, 0xdeadbeef);

	ck_assert_int_eq(svc_acp_frame_parse(b, n, &f), 1);
	ck_assert_uint_eq(f.len, 18);
	ck_assert_uint_eq(f.fsn, 0xdeadbeef);
	ck_assert_uint_eq(f.last_fsn, 0xdeadbeef);
	ck_assert_uint_eq(f.nframes, 1);
	ck_assert_uint_eq(f.version, 1);
	ck_assert_uint_eq(f.flags, SVC_ACP_F_STICKY);
	/* The encoder writes the same octets as the test's raw writer. */
	{
		__u8 e[SVC_ACP_HDR_LEN];

		svc_acp_hdr_encode(e, 18, SVC_ACP_F_STICKY, 0xdeadbeef);
		ck_assert_mem_eq(e, b, SVC_ACP_HDR_LEN);
	}
}
END_TEST

START_TEST(test_parse_multiple)
{
	static __u8 b[256];
	struct svc_acp_frame f;
	__u32 n = 0;

	n += put_frame(b + n, 8, 1, 0, 41);
	n += put_frame(b + n, 20, 1, SVC_ACP_F_MORE, 42);
	n += put_frame(b + n, 100, 1, SVC_ACP_F_STICKY | SVC_ACP_F_MORE, 43);
	ck_assert_int_eq(svc_acp_frame_parse(b, n, &f), 3);
	ck_assert_uint_eq(f.len, 8);
	ck_assert_uint_eq(f.fsn, 41);
	ck_assert_uint_eq(f.last_fsn, 43);
	ck_assert_uint_eq(f.nframes, 3);
	ck_assert_uint_eq(f.flags, 0);
	/* One octet short of the last frame's end. */
	ck_assert_int_eq(svc_acp_frame_parse(b, n - 1, &f), -SVC_ACP_E_PARTIAL);
}
END_TEST

START_TEST(test_parse_zero_payload_and_empty)
{
	static __u8 b[16];
	struct svc_acp_frame f;

	put_frame(b, SVC_ACP_HDR_LEN, 1, 0, 7);
	ck_assert_int_eq(svc_acp_frame_parse(b, SVC_ACP_HDR_LEN, &f), 1);
	ck_assert_uint_eq(f.len, SVC_ACP_HDR_LEN);
	ck_assert_uint_eq(f.fsn, 7);
	/* A pure ACK: no frames, no error. */
	ck_assert_int_eq(svc_acp_frame_parse(b, 0, &f), 0);
}
END_TEST

START_TEST(test_parse_short)
{
	static __u8 b[16];
	struct svc_acp_frame f;
	__u32 n;

	put_frame(b, 8, 1, 0, 0);
	for (n = 1; n < SVC_ACP_HDR_LEN; n++)
		ck_assert_int_eq(svc_acp_frame_parse(b, n, &f), -SVC_ACP_E_SHORT);
}
END_TEST

START_TEST(test_parse_bad_len)
{
	static __u8 b[64];
	struct svc_acp_frame f;
	__u16 l;

	/* Every length below the header size, on the first frame. */
	for (l = 0; l < SVC_ACP_HDR_LEN; l++) {
		put_frame(b, l, 1, 0, 0);
		ck_assert_int_eq(svc_acp_frame_parse(b, 32, &f), -SVC_ACP_E_BAD_LEN);
	}
	/* And on a later frame. */
	put_frame(b, 16, 1, 0, 0);
	put_frame(b + 16, 4, 1, 0, 1);
	ck_assert_int_eq(svc_acp_frame_parse(b, 32, &f), -SVC_ACP_E_BAD_LEN);
}
END_TEST

START_TEST(test_parse_version_flags)
{
	static __u8 b[64];
	struct svc_acp_frame f;
	unsigned int bit;

	put_frame(b, 16, 0, 0, 0);
	ck_assert_int_eq(svc_acp_frame_parse(b, 16, &f), -SVC_ACP_E_VERSION);
	put_frame(b, 16, 2, 0, 0);
	ck_assert_int_eq(svc_acp_frame_parse(b, 16, &f), -SVC_ACP_E_VERSION);
	/* Each undefined flag bit alone. */
	for (bit = 0; bit < 8; bit++) {
		__u8 fl = 1U << bit;

		put_frame(b, 16, 1, fl, 0);
		ck_assert_int_eq(svc_acp_frame_parse(b, 16, &f),
				 (fl & ~SVC_ACP_F_ALL) ? -SVC_ACP_E_FLAGS : 1);
	}
	/* A bad second header is found too. */
	put_frame(b, 16, 1, 0, 0);
	put_frame(b + 16, 16, 1, 0x80, 1);
	ck_assert_int_eq(svc_acp_frame_parse(b, 32, &f), -SVC_ACP_E_FLAGS);
}
END_TEST

START_TEST(test_parse_partial)
{
	static __u8 b[256];
	struct svc_acp_frame f;

	/* The first frame says 100, the segment has 50. */
	put_frame(b, 100, 1, 0, 0);
	ck_assert_int_eq(svc_acp_frame_parse(b, 50, &f), -SVC_ACP_E_PARTIAL);
	/* A whole frame, then 3 octets of the next header. */
	put_frame(b, 20, 1, 0, 0);
	put_frame(b + 20, 20, 1, 0, 1);
	ck_assert_int_eq(svc_acp_frame_parse(b, 23, &f), -SVC_ACP_E_PARTIAL);
	/* A whole frame, then a whole header whose frame runs past the end. */
	ck_assert_int_eq(svc_acp_frame_parse(b, 30, &f), -SVC_ACP_E_PARTIAL);
	ck_assert_int_eq(svc_acp_frame_parse(b, 40, &f), 2);
}
END_TEST

START_TEST(test_parse_fsn)
{
	static __u8 b[64];
	struct svc_acp_frame f;

	put_frame(b, 8, 1, 0, 5);
	put_frame(b + 8, 8, 1, 0, 7);
	ck_assert_int_eq(svc_acp_frame_parse(b, 16, &f), -SVC_ACP_E_FSN);
	put_frame(b + 8, 8, 1, 0, 5);
	ck_assert_int_eq(svc_acp_frame_parse(b, 16, &f), -SVC_ACP_E_FSN);
	/* FSNs wrap. */
	put_frame(b, 8, 1, 0, 0xffffffffU);
	put_frame(b + 8, 8, 1, 0, 0);
	ck_assert_int_eq(svc_acp_frame_parse(b, 16, &f), 2);
	ck_assert_uint_eq(f.fsn, 0xffffffffU);
	ck_assert_uint_eq(f.last_fsn, 0);
}
END_TEST

START_TEST(test_parse_max_len)
{
	__u8 *b = calloc(1, SEG_BUF);
	struct svc_acp_frame f;

	ck_assert_ptr_nonnull(b);
	put_frame(b, SVC_ACP_FRAME_MAX, 1, 0, 9);
	ck_assert_int_eq(svc_acp_frame_parse(b, SVC_ACP_FRAME_MAX, &f), 1);
	ck_assert_uint_eq(f.len, SVC_ACP_FRAME_MAX);
	ck_assert_int_eq(svc_acp_frame_parse(b, SVC_ACP_FRAME_MAX - 1, &f), -SVC_ACP_E_PARTIAL);
	/* Octets after the largest frame are a (short) second header. */
	ck_assert_int_eq(svc_acp_frame_parse(b, SVC_ACP_FRAME_MAX + 1, &f), -SVC_ACP_E_PARTIAL);
	free(b);
}
END_TEST

START_TEST(test_parse_frame_bound)
{
	__u8 *b = calloc(SVC_ACP_SEG_FRAMES_MAX + 1, SVC_ACP_HDR_LEN);
	struct svc_acp_frame f;
	__u32 i, n = 0;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i <= SVC_ACP_SEG_FRAMES_MAX; i++)
		n += put_frame(b + n, SVC_ACP_HDR_LEN, 1, 0, 100 + i);
	ck_assert_int_eq(svc_acp_frame_parse(b, n - SVC_ACP_HDR_LEN, &f), SVC_ACP_SEG_FRAMES_MAX);
	ck_assert_uint_eq(f.nframes, SVC_ACP_SEG_FRAMES_MAX);
	ck_assert_uint_eq(f.last_fsn, 100 + SVC_ACP_SEG_FRAMES_MAX - 1);
	ck_assert_int_eq(svc_acp_frame_parse(b, n, &f), -SVC_ACP_E_TOO_MANY);
	free(b);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Negotiation option                                                        */
/* ------------------------------------------------------------------------ */

START_TEST(test_opt_roundtrip)
{
	static const __u8 want[SVC_ACP_OPT_LEN] = { 254, 8, 0x41, 0x43, 1, 0, 0x05, 0xb4 };
	struct svc_acp_opt_vals v = { .version = 1, .max_frame = 1460 }, d = { 0 };
	__u8 p[SVC_ACP_OPT_LEN];

	svc_acp_opt_encode(p, &v);
	ck_assert_mem_eq(p, want, sizeof(want));
	ck_assert_int_eq(svc_acp_opt_decode(p, sizeof(p), &d), 0);
	ck_assert_uint_eq(d.version, 1);
	ck_assert_uint_eq(d.flags, 0);
	ck_assert_uint_eq(d.max_frame, 1460);

	v.version = 7;
	v.flags = 0x80;
	v.max_frame = SVC_ACP_FRAME_MAX;
	svc_acp_opt_encode(p, &v);
	ck_assert_int_eq(svc_acp_opt_decode(p, 40, &d), 0);
	ck_assert_uint_eq(d.version, 7);
	ck_assert_uint_eq(d.flags, 0x80);
	ck_assert_uint_eq(d.max_frame, SVC_ACP_FRAME_MAX);
}
END_TEST

START_TEST(test_opt_reject)
{
	struct svc_acp_opt_vals v = { .version = 1, .max_frame = 1460 }, d = { 0 };
	__u8 p[SVC_ACP_OPT_LEN];

	svc_acp_opt_encode(p, &v);
	/* Fewer octets than the option claims: not read past. */
	ck_assert_int_eq(svc_acp_opt_decode(p, 7, &d), SVC_ACP_OPT_E_LEN);
	ck_assert_int_eq(svc_acp_opt_decode(p, 3, &d), SVC_ACP_OPT_E_LEN);
	ck_assert_int_eq(svc_acp_opt_decode(p, 0, &d), SVC_ACP_OPT_E_KIND);
	p[1] = 6;
	ck_assert_int_eq(svc_acp_opt_decode(p, 8, &d), SVC_ACP_OPT_E_LEN);
	p[1] = 10;
	ck_assert_int_eq(svc_acp_opt_decode(p, 8, &d), SVC_ACP_OPT_E_LEN);
	p[1] = 2;
	ck_assert_int_eq(svc_acp_opt_decode(p, 8, &d), SVC_ACP_OPT_E_LEN);
	p[1] = 8;
	p[3] = 0x44;
	ck_assert_int_eq(svc_acp_opt_decode(p, 8, &d), SVC_ACP_OPT_E_EXID);
	p[3] = 0x43;
	p[0] = 253;
	ck_assert_int_eq(svc_acp_opt_decode(p, 8, &d), SVC_ACP_OPT_E_KIND);
	p[0] = 254;
	p[4] = 0;
	ck_assert_int_eq(svc_acp_opt_decode(p, 8, &d), SVC_ACP_OPT_E_VERSION);
	p[4] = 1;
	p[6] = 0;
	p[7] = SVC_ACP_HDR_LEN - 1;
	ck_assert_int_eq(svc_acp_opt_decode(p, 8, &d), SVC_ACP_OPT_E_MAXFRM);
	p[7] = SVC_ACP_HDR_LEN;
	ck_assert_int_eq(svc_acp_opt_decode(p, 8, &d), 0);
	ck_assert_uint_eq(d.max_frame, SVC_ACP_HDR_LEN);
}
END_TEST

/* The option found by the shared TCP option walk next to the flowID option (same kind 254). */
START_TEST(test_opt_in_header)
{
	struct svc_acp_opt_vals v = { .version = 1, .max_frame = 9000 }, d = { 0 };
	__u8 hdr[SVC_TCPHDR_BUF] = { 0 };
	__u32 off = SVC_TCPHDR_MIN, hlen = SVC_TCPHDR_MIN + 20;
	int found = 0, other = 0, r, steps;

	hdr[12] = (hlen / 4) << 4;
	/* flowID option: 254, 8, ExID 0x5356, flowID */
	hdr[20] = SVC_FLOWID_KIND;
	hdr[21] = SVC_FLOWID_LEN;
	hdr[22] = 0x53;
	hdr[23] = 0x56;
	hdr[28] = SVC_TCPOPT_NOP;
	hdr[29] = SVC_TCPOPT_NOP;
	svc_acp_opt_encode(hdr + 30, &v);
	hdr[38] = SVC_TCPOPT_NOP;
	hdr[39] = SVC_TCPOPT_EOL;
	for (steps = 0; steps < SVC_TCPOPT_MAX_STEPS; steps++) {
		__u32 at = off;
		__u8 kind = 0, len = 0;

		r = svc_tcpopt_step(hdr, hlen, &off, &kind, &len);
		if (r == SVC_OPTW_END || r == SVC_OPTW_BAD)
			break;
		if (r != SVC_OPTW_OPT)
			continue;
		r = svc_acp_opt_decode(hdr + at, hlen - at, &d);
		if (r == 0)
			found++;
		else if (r == SVC_ACP_OPT_E_EXID)
			other++;
	}
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(other, 1);
	ck_assert_uint_eq(d.max_frame, 9000);
}
END_TEST

START_TEST(test_opt_answer)
{
	struct svc_acp_opt_vals offer = { .version = 3, .max_frame = 1400 };
	struct svc_acp_opt_vals own = { .version = 1, .max_frame = 9000 }, a;

	svc_acp_opt_answer(&offer, &own, &a);
	ck_assert_uint_eq(a.version, 1);
	ck_assert_uint_eq(a.max_frame, 1400);
	ck_assert_uint_eq(a.flags, 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* libsvcacp over loopback TCP                                               */
/* ------------------------------------------------------------------------ */

#define N_FRAMES 1000
#define WAIT_MS 5000

/*
 * tcp_pair - a connected pair over 127.0.0.1 (@v6: ::1): *@c the connecting
 * end, *@s the accepted one. @mss > 0: TCP_MAXSEG set on the connecting end
 * before connect (it lowers both directions' MSS).
 */
static void tcp_pair(int v6, int mss, int *c, int *s)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int l = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(l, 0);
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	ck_assert_msg(bind(l, (struct sockaddr *)&ss, sl) == 0, "bind loopback: %s",
		      strerror(errno));
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&ss, &sl), 0);
	*c = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(*c, 0);
	if (mss > 0)
		ck_assert_int_eq(setsockopt(*c, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss)), 0);
	ck_assert_msg(connect(*c, (struct sockaddr *)&ss, sl) == 0, "connect: %s", strerror(errno));
	*s = accept(l, NULL, NULL);
	ck_assert_int_ge(*s, 0);
	close(l);
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	ck_assert_int_ge(fl, 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* inq - octets queued for reading on @fd. */
static int inq(int fd)
{
	int n = -1;

	ck_assert_int_eq(ioctl(fd, SIOCINQ, &n), 0);
	return n;
}

/* wait_inq - wait until @n octets are queued on @fd (loopback delivery is asynchronous). */
static void wait_inq(int fd, int n)
{
	int i;

	for (i = 0; i < WAIT_MS && inq(fd) < n; i++)
		usleep(1000);
	ck_assert_int_ge(inq(fd), n);
}

/* wait_rdhup - wait until @fd has seen its peer's FIN. */
static void wait_rdhup(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	ck_assert(p.revents & POLLRDHUP);
}

static __u64 mix64(__u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * frame_spec - frame @i's payload length and flags, a function of (@seed, @i):
 * frame 0 is empty, frame 1 the largest the connection allows, the others random.
 */
static void frame_spec(__u64 seed, __u32 i, __u32 max_payload, __u32 *len, __u8 *flags)
{
	__u64 r = mix64(seed ^ ((__u64)i << 32));

	if (i == 0)
		*len = 0;
	else if (i == 1)
		*len = max_payload;
	else if (r & 1)
		*len = (r >> 8) % 200; /* many small frames, as requests are */
	else
		*len = (r >> 8) % (max_payload + 1);
	*flags = (r >> 40) & SVC_ACP_F_ALL;
}

static void fill_payload(__u64 seed, __u32 i, __u8 *p, __u32 len)
{
	__u64 x = mix64(seed + i);
	__u32 k;

	for (k = 0; k < len; k++) {
		if (k % 8 == 0)
			x = mix64(x);
		p[k] = x >> (8 * (k % 8));
	}
}

/* FNV-1a: the test's own checksum of each frame's payload, sender side and receiver side. */
static __u32 fnv1a(const __u8 *p, __u32 len)
{
	__u32 h = 2166136261U;
	__u32 k;

	for (k = 0; k < len; k++) {
		h ^= p[k];
		h *= 16777619U;
	}
	return h;
}

struct sender {
	int fd;
	int nonblock;
	__u64 seed;
	__u32 max_payload;
	__u32 csum[N_FRAMES];
	int sent;     /* frames acp_send_frame accepted */
	int err_at;   /* frame whose send failed unexpectedly, -1 if none */
	int err;      /* its errno */
	int emsgsize; /* oversized frames refused with EMSGSIZE */
	int eagain;   /* EAGAIN answers (non-blocking) */
};

/* The sending half of the bulk test: N_FRAMES frames, then an oversized one now and then, then FIN.
 */
static void *sender_run(void *arg)
{
	struct sender *s = arg;
	__u8 *buf = malloc(SVC_ACP_FRAME_MAX);
	__u32 i;

	s->err_at = -1;
	for (i = 0; buf && i < N_FRAMES; i++) {
		__u32 len;
		__u8 flags;

		frame_spec(s->seed, i, s->max_payload, &len, &flags);
		fill_payload(s->seed, i, buf, len);
		s->csum[i] = fnv1a(buf, len);
		if (i % 100 == 50) {
			/*
			 * One octet more than any frame can have: refused whole,
			 * nothing of it sent. (The MSS limit is test_loopback_mss's:
			 * here the loopback MSS grows with the window while we send.)
			 */
			if (acp_send_frame(s->fd, 0, 0xffffffffU, buf,
					   SVC_ACP_FRAME_MAX - SVC_ACP_HDR_LEN + 1) == -1 &&
			    errno == EMSGSIZE)
				s->emsgsize++;
		}
		for (;;) {
			struct pollfd p = { .fd = s->fd, .events = POLLOUT };

			if (acp_send_frame(s->fd, flags, i, buf, len) == 0)
				break;
			if (!s->nonblock || errno != EAGAIN) {
				s->err_at = i;
				s->err = errno;
				goto out;
			}
			s->eagain++;
			if (poll(&p, 1, WAIT_MS) != 1) {
				s->err_at = i;
				s->err = ETIMEDOUT;
				goto out;
			}
		}
		s->sent++;
	}
out:
	shutdown(s->fd, SHUT_WR);
	free(buf);
	return NULL;
}

/* recv_one - acp_recv_frame, waiting with poll on a non-blocking socket's EAGAIN. */
static int recv_one(int fd, int nonblock, struct acp_frame_info *info, void *buf, size_t cap)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = acp_recv_frame(fd, info, buf, cap);

		if (r >= 0 || !nonblock || errno != EAGAIN)
			return r;
		if (poll(&p, 1, WAIT_MS) != 1) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

/* Loop index: bit 0 = IPv6, bit 1 = both ends non-blocking. */
START_TEST(test_loopback_bulk)
{
	int v6 = _i & 1, nonblock = !!(_i & 2);
	struct sender *s = calloc(1, sizeof(*s));
	__u8 *got = malloc(SVC_ACP_FRAME_MAX), *want = malloc(SVC_ACP_FRAME_MAX);
	struct acp_frame_info info;
	__u32 *rsum = calloc(N_FRAMES, sizeof(*rsum));
	pthread_t th;
	int c, d, max, r;
	__u64 total = 0;
	__u32 i;

	ck_assert(s && got && want && rsum);
	tcp_pair(v6, 0, &c, &d);
	/*
	 * Linux bounds the MSS by half the peer's largest window, so on loopback
	 * it starts near 32 KiB and grows: frames up to the first value always fit.
	 */
	max = acp_max_frame(c);
	ck_assert_int_gt(max, SVC_ACP_HDR_LEN);
	ck_assert_int_le(max, SVC_ACP_FRAME_MAX);
	if (nonblock) {
		set_nonblock(c);
		set_nonblock(d);
	}
	s->fd = c;
	s->nonblock = nonblock;
	s->seed = 0x5eed0000ULL + _i;
	s->max_payload = max - SVC_ACP_HDR_LEN;
	ck_assert_int_eq(pthread_create(&th, NULL, sender_run, s), 0);

	for (i = 0; i < N_FRAMES; i++) {
		__u32 len;
		__u8 flags;

		frame_spec(s->seed, i, s->max_payload, &len, &flags);
		r = recv_one(d, nonblock, &info, got, SVC_ACP_FRAME_MAX);
		ck_assert_msg(r == 1, "frame %u: acp_recv_frame = %d: %s", i, r, strerror(errno));
		ck_assert_uint_eq(info.fsn, i);
		ck_assert_uint_eq(info.len, len);
		ck_assert_uint_eq(info.flags, flags);
		ck_assert_uint_eq(info.version, SVC_ACP_VERSION);
		fill_payload(s->seed, i, want, len);
		ck_assert_msg(memcmp(got, want, len) == 0, "frame %u: payload differs", i);
		/* Compared with the sender's sums once it is done (it still writes its table). */
		rsum[i] = fnv1a(got, len);
		total += len;
	}
	/* The sender shut down after its last frame: end of stream at a frame boundary. */
	r = recv_one(d, nonblock, &info, got, SVC_ACP_FRAME_MAX);
	ck_assert_msg(r == 0, "after the last frame: acp_recv_frame = %d: %s", r, strerror(errno));
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(s->err_at == -1, "sender: frame %d: %s", s->err_at, strerror(s->err));
	ck_assert_int_eq(s->sent, N_FRAMES);
	ck_assert_int_eq(s->emsgsize, N_FRAMES / 100);
	for (i = 0; i < N_FRAMES; i++)
		ck_assert_msg(rsum[i] == s->csum[i], "frame %u: checksum %08x, sent %08x", i,
			      rsum[i], s->csum[i]);
	/* Random sizes up to the maximum: far more than one segment's worth in all. */
	ck_assert_uint_gt(total, 100 * (__u64)s->max_payload);
	close(c);
	close(d);
	free(s);
	free(got);
	free(want);
	free(rsum);
}
END_TEST

START_TEST(test_loopback_mss)
{
	int v6 = _i & 1;
	__u8 buf[1024] = { 0 };
	struct acp_frame_info info;
	int c, d, max;

	tcp_pair(v6, 600, &c, &d);
	max = acp_max_frame(c);
	/* TCP_MAXSEG 600, less the timestamp option when it is on. */
	ck_assert_int_le(max, 600);
	ck_assert_int_ge(max, 500);
	ck_assert_int_le(acp_max_frame(d), 600);
	errno = 0;
	ck_assert_int_eq(acp_send_frame(c, 0, 1, buf, max - SVC_ACP_HDR_LEN + 1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(acp_send_frame(c, SVC_ACP_F_MORE, 2, buf, max - SVC_ACP_HDR_LEN), 0);
	/* Undefined flags are refused before anything is written. */
	errno = 0;
	ck_assert_int_eq(acp_send_frame(c, 0x10, 3, buf, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	shutdown(c, SHUT_WR);
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), 1);
	ck_assert_uint_eq(info.fsn, 2);
	ck_assert_uint_eq(info.len, max - SVC_ACP_HDR_LEN);
	ck_assert_uint_eq(info.flags, SVC_ACP_F_MORE);
	/* Nothing of the refused frames reached the stream. */
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), 0);
	close(c);
	close(d);
}
END_TEST

/* recv_pair - a connected pair (tcp_pair), the receiving end @d non-blocking if @nonblock. */
static void recv_pair(int v6, int nonblock, int *c, int *d)
{
	tcp_pair(v6, 0, c, d);
	if (nonblock)
		set_nonblock(*d);
}

/* raw - write octets past the library (a peer that breaks the framing). */
static void raw(int fd, const void *p, size_t n)
{
	ck_assert_int_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Loop index: bit 0 = IPv6, bit 1 = the receiving end is non-blocking. */
START_TEST(test_loopback_close_mid_frame)
{
	int v6 = _i & 1, nonblock = !!(_i & 2);
	__u8 hdr[SVC_ACP_HDR_LEN], buf[256] = { 0 };
	struct acp_frame_info info;
	int c, d;

	/* Header says 100 octets, 50 come, then FIN. */
	recv_pair(v6, nonblock, &c, &d);
	svc_acp_hdr_encode(hdr, 100, 0, 1);
	raw(c, hdr, sizeof(hdr));
	raw(c, buf, 42);
	close(c);
	wait_rdhup(d);
	errno = 0;
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EPROTO);
	close(d);

	/* 3 octets of a header, then FIN. */
	recv_pair(v6, nonblock, &c, &d);
	raw(c, hdr, 3);
	close(c);
	wait_rdhup(d);
	errno = 0;
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EPROTO);
	close(d);

	/* A whole frame then FIN: the frame, then end of stream. */
	recv_pair(v6, nonblock, &c, &d);
	ck_assert_int_eq(acp_send_frame(c, 0, 9, "abc", 3), 0);
	close(c);
	wait_rdhup(d);
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), 1);
	ck_assert_uint_eq(info.len, 3);
	ck_assert_mem_eq(buf, "abc", 3);
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), 0);
	close(d);
}
END_TEST

/* Loop index: bit 0 = IPv6, bit 1 = the receiving end is non-blocking. */
START_TEST(test_loopback_bad_header)
{
	int v6 = _i & 1, nonblock = !!(_i & 2);
	__u8 hdr[SVC_ACP_HDR_LEN], buf[64] = { 0 };
	struct acp_frame_info info;
	int c, d;

	/* A length below the header size: EPROTO, and nothing is written to buf. */
	recv_pair(v6, nonblock, &c, &d);
	svc_acp_hdr_encode(hdr, 3, 0, 1);
	raw(c, hdr, sizeof(hdr));
	raw(c, buf, 32);
	wait_inq(d, 40);
	memset(buf, 0x5a, sizeof(buf));
	errno = 0;
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, 4), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_uint_eq(buf[0], 0x5a);
	close(c);
	close(d);

	/* Another version. */
	recv_pair(v6, nonblock, &c, &d);
	svc_acp_hdr_encode(hdr, 8, 0, 1);
	hdr[2] = 2;
	raw(c, hdr, sizeof(hdr));
	wait_inq(d, 8);
	errno = 0;
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EPROTO);
	close(c);
	close(d);
}
END_TEST

/* Loop index: bit 0 = IPv6, bit 1 = the receiving end is non-blocking. */
START_TEST(test_loopback_too_big_for_buffer)
{
	int v6 = _i & 1, nonblock = !!(_i & 2);
	__u8 big[3000], buf[100];
	struct acp_frame_info info;
	int c, d;

	recv_pair(v6, nonblock, &c, &d);
	fill_payload(1, 1, big, sizeof(big));
	ck_assert_int_eq(acp_send_frame(c, SVC_ACP_F_STICKY, 1, big, sizeof(big)), 0);
	ck_assert_int_eq(acp_send_frame(c, 0, 2, big, 10), 0);
	wait_inq(d, sizeof(big) + 10 + 2 * SVC_ACP_HDR_LEN);
	errno = 0;
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_uint_eq(info.len, sizeof(big));
	ck_assert_uint_eq(info.fsn, 1);
	ck_assert_uint_eq(info.flags, SVC_ACP_F_STICKY);
	/* The oversized frame was dropped whole: the next one is intact. */
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), 1);
	ck_assert_uint_eq(info.fsn, 2);
	ck_assert_uint_eq(info.len, 10);
	ck_assert_mem_eq(buf, big, 10);
	close(c);
	close(d);
}
END_TEST

/* Non-blocking: nothing is consumed until the whole frame is in. */
START_TEST(test_nonblock_partial)
{
	int v6 = _i & 1;
	__u8 hdr[SVC_ACP_HDR_LEN], buf[64];
	struct acp_frame_info info;
	int c, d;

	tcp_pair(v6, 0, &c, &d);
	set_nonblock(d);
	errno = 0;
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);

	svc_acp_hdr_encode(hdr, SVC_ACP_HDR_LEN + 20, SVC_ACP_F_MORE, 77);
	raw(c, hdr, 5);
	wait_inq(d, 5);
	errno = 0;
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(inq(d), 5);

	raw(c, hdr + 5, 3);
	raw(c, "0123456789", 10);
	wait_inq(d, 18);
	errno = 0;
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(inq(d), 18);

	raw(c, "abcdefghij", 10);
	wait_inq(d, 28);
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), 1);
	ck_assert_uint_eq(info.fsn, 77);
	ck_assert_uint_eq(info.len, 20);
	ck_assert_uint_eq(info.flags, SVC_ACP_F_MORE);
	ck_assert_mem_eq(buf, "0123456789abcdefghij", 20);
	ck_assert_int_eq(inq(d), 0);
	errno = 0;
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(c);
	close(d);
}
END_TEST

/* segs_out - segments @fd has sent (TCP_INFO). */
static __u32 segs_out(int fd)
{
	struct tcp_info ti;
	socklen_t sl = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &sl), 0);
	return ti.tcpi_segs_out;
}

/*
 * MSG_EOR keeps frames apart: 200 small frames written back to back with
 * Nagle on (which would otherwise pile them into few segments) leave as at
 * least 200 segments, and arrive as 200 whole frames.
 */
START_TEST(test_loopback_eor_segments)
{
	int v6 = _i & 1, c, d, i;
	struct acp_frame_info info;
	__u32 before;
	__u8 buf[16];

	tcp_pair(v6, 0, &c, &d);
	before = segs_out(c);
	for (i = 0; i < 200; i++) {
		memset(buf, i, sizeof(buf));
		ck_assert_int_eq(acp_send_frame(c, 0, i, buf, 10), 0);
	}
	shutdown(c, SHUT_WR);
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), 1);
		ck_assert_uint_eq(info.fsn, i);
		ck_assert_uint_eq(info.len, 10);
		ck_assert_uint_eq(buf[9], (__u8)i);
	}
	ck_assert_int_eq(acp_recv_frame(d, &info, buf, sizeof(buf)), 0);
	/* One segment per frame (the FIN may ride on the last); 18 without MSG_EOR, measured. */
	ck_assert_uint_ge(segs_out(c) - before, 200);
	close(c);
	close(d);
}
END_TEST

#define NB_FRAMES 100
#define NB_PAYLOAD 30000

struct reader {
	int fd;
	int frames; /* frames read whole and correct, in FSN order */
	int bad_at; /* first frame that was not, -1 if none */
	int end;    /* acp_recv_frame's answer after the last frame (0: end of stream) */
};

/* The reading half of test_nonblock_send: starts late, so the sender meets a full socket. */
static void *reader_run(void *arg)
{
	struct reader *r = arg;
	__u8 *got = malloc(NB_PAYLOAD), *want = malloc(NB_PAYLOAD);
	struct acp_frame_info info;
	int i;

	r->bad_at = -1;
	usleep(300 * 1000);
	for (i = 0; got && want && i < NB_FRAMES; i++) {
		if (acp_recv_frame(r->fd, &info, got, NB_PAYLOAD) != 1 || info.fsn != (__u32)i ||
		    info.len != NB_PAYLOAD) {
			r->bad_at = i;
			break;
		}
		fill_payload(7, i, want, NB_PAYLOAD);
		if (memcmp(got, want, NB_PAYLOAD) != 0) {
			r->bad_at = i;
			break;
		}
		r->frames++;
	}
	r->end = acp_recv_frame(r->fd, &info, got, NB_PAYLOAD);
	free(got);
	free(want);
	return NULL;
}

/*
 * Non-blocking sender against a reader that starts late: EAGAIN comes (a
 * small send buffer, 3 MB to send), the frame that met it is sent again once there is
 * room, and the reader gets every frame whole and in order. (A frame of at
 * most one MSS fits one kernel buffer, so Linux takes it whole or not at all
 * unless TCP memory is short: the library's finishing of a frame taken in
 * part is not reached here.)
 */
START_TEST(test_nonblock_send)
{
	/* (The receive buffer keeps its default: one below a frame stalls TCP on window probes.) */
	int v6 = _i & 1, small = 8192, eagain = 0, i, c, d;
	struct reader r = { 0 };
	__u8 *buf = malloc(NB_PAYLOAD);
	pthread_t th;

	ck_assert_ptr_nonnull(buf);
	tcp_pair(v6, 0, &c, &d);
	ck_assert_int_eq(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	set_nonblock(c);
	r.fd = d;
	ck_assert_int_eq(pthread_create(&th, NULL, reader_run, &r), 0);
	for (i = 0; i < NB_FRAMES; i++) {
		fill_payload(7, i, buf, NB_PAYLOAD);
		for (;;) {
			struct pollfd p = { .fd = c, .events = POLLOUT };

			if (acp_send_frame(c, 0, i, buf, NB_PAYLOAD) == 0)
				break;
			ck_assert_msg(errno == EAGAIN, "frame %d: %s", i, strerror(errno));
			eagain++;
			ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
		}
	}
	shutdown(c, SHUT_WR);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_gt(eagain, 0);
	ck_assert_msg(r.bad_at == -1, "reader: frame %d wrong", r.bad_at);
	ck_assert_int_eq(r.frames, NB_FRAMES);
	ck_assert_int_eq(r.end, 0);
	close(c);
	close(d);
	free(buf);
}
END_TEST

static Suite *acp_suite(void)
{
	Suite *s = suite_create("acp");
	TCase *tp = tcase_create("parse");
	TCase *to = tcase_create("option");
	TCase *tl = tcase_create("loopback");

	tcase_add_test(tp, test_parse_single);
	tcase_add_test(tp, test_parse_multiple);
	tcase_add_test(tp, test_parse_zero_payload_and_empty);
	tcase_add_test(tp, test_parse_short);
	tcase_add_test(tp, test_parse_bad_len);
	tcase_add_test(tp, test_parse_version_flags);
	tcase_add_test(tp, test_parse_partial);
	tcase_add_test(tp, test_parse_fsn);
	tcase_add_test(tp, test_parse_max_len);
	tcase_add_test(tp, test_parse_frame_bound);
	suite_add_tcase(s, tp);
	tcase_add_test(to, test_opt_roundtrip);
	tcase_add_test(to, test_opt_reject);
	tcase_add_test(to, test_opt_in_header);
	tcase_add_test(to, test_opt_answer);
	suite_add_tcase(s, to);
	/* 1,000 frames up to 64 KiB under ASan on a loaded 2-core machine. */
	tcase_set_timeout(tl, 120);
	tcase_add_loop_test(tl, test_loopback_bulk, 0, 4);
	tcase_add_loop_test(tl, test_loopback_mss, 0, 2);
	tcase_add_loop_test(tl, test_loopback_close_mid_frame, 0, 4);
	tcase_add_loop_test(tl, test_loopback_bad_header, 0, 4);
	tcase_add_loop_test(tl, test_loopback_too_big_for_buffer, 0, 4);
	tcase_add_loop_test(tl, test_nonblock_partial, 0, 2);
	tcase_add_loop_test(tl, test_nonblock_send, 0, 2);
	tcase_add_loop_test(tl, test_loopback_eor_segments, 0, 2);
	suite_add_tcase(s, tl);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(acp_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
