// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* libsvcacp: ACP frames over a connected TCP socket, one sendmsg(MSG_EOR) per frame. */
#define _GNU_SOURCE /* POLLRDHUP */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include "acp.h"

/* Payload octets read per call while dropping a frame that does not fit the caller's buffer. */
#define ACP_DISCARD_CHUNK 1024

int acp_max_frame(int fd)
{
	int mss = 0;
	socklen_t sl = sizeof(mss);

	if (getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &sl) < 0)
		return -1;
	if (mss < SVC_ACP_HDR_LEN) {
		errno = EPROTO;
		return -1;
	}
	return mss > SVC_ACP_FRAME_MAX ? SVC_ACP_FRAME_MAX : mss;
}

static bool acp_would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK;
}

/* acp_wait - wait until @fd is ready for @events (a frame is half written or half read). */
static int acp_wait(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	while (poll(&p, 1, -1) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

int acp_send_frame(int fd, uint8_t flags, uint32_t fsn, const void *buf, size_t len)
{
	__u8 hdr[SVC_ACP_HDR_LEN];
	size_t total, done = 0;
	int max;

	if ((flags & ~SVC_ACP_F_ALL) || (!buf && len)) {
		errno = EINVAL;
		return -1;
	}
	max = acp_max_frame(fd);
	if (max < 0)
		return -1;
	if (len > (size_t)max - SVC_ACP_HDR_LEN) {
		errno = EMSGSIZE;
		return -1;
	}
	total = len + SVC_ACP_HDR_LEN;
	svc_acp_hdr_encode(hdr, (__u16)total, flags, fsn);

	while (done < total) {
		struct iovec iov[2];
		struct msghdr msg = { .msg_iov = iov };
		ssize_t n;

		/* The part of header + payload not yet written, in one call. */
		if (done < SVC_ACP_HDR_LEN) {
			iov[0].iov_base = hdr + done;
			iov[0].iov_len = SVC_ACP_HDR_LEN - done;
			iov[1].iov_base = (void *)buf;
			iov[1].iov_len = len;
			msg.msg_iovlen = len ? 2 : 1;
		} else {
			iov[0].iov_base = (char *)buf + (done - SVC_ACP_HDR_LEN);
			iov[0].iov_len = total - done;
			msg.msg_iovlen = 1;
		}
		/*
		 * MSG_EOR on every call: the kernel marks the frame's last
		 * buffer only when the call has written all it was given, so a
		 * short write leaves the rest free to join the same segment.
		 */
		n = sendmsg(fd, &msg, MSG_EOR | MSG_NOSIGNAL);
		if (n > 0) {
			done += n;
			continue;
		}
		if (n == 0) {
			errno = EPIPE;
			return -1;
		}
		if (done == 0 && (errno == EINTR || acp_would_block(errno)))
			return -1; /* nothing written: the caller may retry the same frame */
		if (errno == EINTR)
			continue;
		if (acp_would_block(errno) && acp_wait(fd, POLLOUT) == 0)
			continue;
		return -1;
	}
	return 0;
}

/*
 * acp_read - read @n octets (blocking socket). @inside: octets of this frame
 * were consumed already, so EINTR/EAGAIN can no longer end the call.
 * Returns the octets read (fewer than @n only at end of stream), or -1.
 */
static ssize_t acp_read(int fd, void *p, size_t n, bool inside)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = recv(fd, (char *)p + got, n - got, MSG_WAITALL);

		if (r > 0) {
			got += r;
			continue;
		}
		if (r == 0)
			break;
		if (errno != EINTR && !acp_would_block(errno))
			return -1;
		if (!inside && got == 0)
			return -1;
		if (acp_would_block(errno) && acp_wait(fd, POLLIN) < 0)
			return -1;
	}
	return got;
}

/* acp_read_all - acp_read of octets that must be there: end of stream is EPROTO. */
static int acp_read_all(int fd, void *p, size_t n)
{
	ssize_t r = acp_read(fd, p, n, true);

	if (r < 0)
		return -1;
	if ((size_t)r < n) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/* acp_discard - drop @n payload octets of a frame the caller has no room for. */
static int acp_discard(int fd, size_t n)
{
	char scratch[ACP_DISCARD_CHUNK];

	while (n) {
		size_t k = n < sizeof(scratch) ? n : sizeof(scratch);

		if (acp_read_all(fd, scratch, k) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

/* acp_decode - check a received header and fill @info; a malformed one is EPROTO. */
static int acp_decode(const __u8 *hdr, struct acp_frame_info *info)
{
	int flen = svc_acp_hdr_check(hdr);

	if (flen < 0) {
		errno = EPROTO;
		return -1;
	}
	info->len = flen - SVC_ACP_HDR_LEN;
	info->version = hdr[2];
	info->flags = hdr[3];
	info->fsn = svc_acp_get32(hdr + 4);
	return 0;
}

/* acp_payload - read the payload @info announced into @buf, or drop it (EMSGSIZE). */
static int acp_payload(int fd, const struct acp_frame_info *info, void *buf, size_t cap)
{
	if (info->len > cap) {
		if (acp_discard(fd, info->len) < 0)
			return -1;
		errno = EMSGSIZE;
		return -1;
	}
	if (acp_read_all(fd, buf, info->len) < 0)
		return -1;
	return 1;
}

static int acp_recv_blocking(int fd, struct acp_frame_info *info, void *buf, size_t cap)
{
	__u8 hdr[SVC_ACP_HDR_LEN];
	ssize_t r;

	r = acp_read(fd, hdr, sizeof(hdr), false);
	if (r < 0)
		return -1;
	if (r == 0)
		return 0; /* closed at a frame boundary */
	if (r < (ssize_t)sizeof(hdr)) {
		errno = EPROTO;
		return -1;
	}
	if (acp_decode(hdr, info) < 0)
		return -1;
	return acp_payload(fd, info, buf, cap);
}

/*
 * acp_incomplete - fewer than @need octets are queued: EAGAIN, unless the peer
 * has finished sending (then they will never come: EPROTO) or the connection
 * failed. Returns 1 if, once the peer's FIN is in, the octets are all there
 * after all (they arrived between the two looks).
 */
static int acp_incomplete(int fd, int need)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	int avail = 0, err = 0;
	socklen_t sl = sizeof(err);

	if (poll(&p, 1, 0) < 0)
		return -1;
	if (p.revents & POLLERR) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err) {
			errno = err;
			return -1;
		}
	}
	if (!(p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
		errno = EAGAIN;
		return -1;
	}
	/* The FIN comes in order: everything the peer sent is queued now. */
	if (ioctl(fd, SIOCINQ, &avail) < 0)
		return -1;
	if (avail >= need)
		return 1;
	errno = EPROTO;
	return -1;
}

/* Non-blocking: look (MSG_PEEK, SIOCINQ) until the whole frame is queued, then consume it. */
static int acp_recv_nonblocking(int fd, struct acp_frame_info *info, void *buf, size_t cap)
{
	__u8 hdr[SVC_ACP_HDR_LEN];
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		int need = SVC_ACP_HDR_LEN, avail = 0;
		ssize_t n = recv(fd, hdr, sizeof(hdr), MSG_PEEK | MSG_DONTWAIT);

		if (n < 0)
			return -1;
		if (n == 0)
			return 0; /* closed at a frame boundary */
		if (n == (ssize_t)sizeof(hdr)) {
			if (acp_decode(hdr, info) < 0)
				return -1;
			need = info->len + SVC_ACP_HDR_LEN;
			if (ioctl(fd, SIOCINQ, &avail) < 0)
				return -1;
			if (avail >= need) {
				/* Queued whole: these reads find every octet. */
				if (acp_read_all(fd, hdr, sizeof(hdr)) < 0)
					return -1;
				return acp_payload(fd, info, buf, cap);
			}
		}
		if (acp_incomplete(fd, need) < 0)
			return -1;
	}
	errno = EAGAIN;
	return -1;
}

int acp_recv_frame(int fd, struct acp_frame_info *info, void *buf, size_t cap)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	if (!buf && cap) {
		errno = EINVAL;
		return -1;
	}
	if (fl & O_NONBLOCK)
		return acp_recv_nonblocking(fd, info, buf, cap);
	return acp_recv_blocking(fd, info, buf, cap);
}
