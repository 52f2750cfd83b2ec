/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* libsvcacp: send and receive ACP frames on a connected TCP socket (docs/acp.md). */
#ifndef ACP_H
#define ACP_H

#include <stddef.h>
#include <stdint.h>
#include "svc_acp.h"

/*
 * The frame format is headers/svc_acp.h's: an 8-octet header (length, version,
 * flags, FSN) then the payload. The library is stateless: the caller numbers
 * its frames (FSN) and chooses the flags; the kernel's TCP does reliability
 * and congestion control. Every call returns -1 with errno set on failure.
 *
 * Blocking and non-blocking sockets are both served:
 *   - acp_send_frame() on a non-blocking socket fails with EAGAIN only when no
 *     octet of the frame was written (retry with the same frame later). Once
 *     part of a frame is in the socket it waits (poll) for room for the rest,
 *     because a frame cannot be abandoned halfway: the stream would no longer
 *     start a frame where the peer expects one. A frame is at most one MSS,
 *     so the wait is short unless the peer stops reading.
 *   - acp_recv_frame() on a non-blocking socket consumes nothing until the
 *     whole frame has arrived: EAGAIN means "not yet", the stream is
 *     unchanged. It needs a receive buffer that holds a whole frame (the
 *     default does; a SO_RCVBUF below the largest frame would stall).
 * On a blocking socket a signal or an SO_RCVTIMEO/SO_SNDTIMEO timeout ends a
 * call with EINTR/EAGAIN only before its first octet; inside a frame the call
 * goes on. SIGPIPE is never raised (MSG_NOSIGNAL): a closed peer is EPIPE.
 */

/* What acp_recv_frame() read besides the payload. */
struct acp_frame_info {
	uint32_t fsn;	 /* frame sequence number */
	uint32_t len;	 /* payload octets (the frame's length minus the header) */
	uint8_t flags;	 /* SVC_ACP_F_* */
	uint8_t version; /* SVC_ACP_VERSION */
};

/**
 * acp_max_frame - the largest frame (header included) @fd may send now
 *
 * min(TCP_MAXSEG of the socket, SVC_ACP_FRAME_MAX). The MSS can shrink during
 * a connection (path MTU), so senders ask again rather than keep the value.
 * Returns the size, or -1 (errno from getsockopt, or EPROTO if the MSS is
 * smaller than a frame header).
 */
int acp_max_frame(int fd);

/**
 * acp_send_frame - write one frame with one sendmsg(MSG_EOR)
 * @fd: a connected TCP socket
 * @flags: SVC_ACP_F_* (EINVAL if an undefined bit is set)
 * @fsn: the frame's sequence number
 * @buf, @len: the payload (@buf may be NULL when @len is 0)
 *
 * MSG_EOR keeps TCP from appending the next frame's octets to this frame's
 * segment, so every segment starts with a frame header (docs/acp.md).
 * Returns 0 when the whole frame is in the socket's send queue; -1 with
 * EMSGSIZE if header + payload exceed acp_max_frame(@fd) (nothing sent),
 * EAGAIN (non-blocking, nothing sent), or sendmsg's errno.
 */
int acp_send_frame(int fd, uint8_t flags, uint32_t fsn, const void *buf, size_t len);

/**
 * acp_recv_frame - read exactly one whole frame
 * @fd: a connected TCP socket
 * @info: out: the frame's header (also filled for EMSGSIZE)
 * @buf, @cap: where the payload goes, and its size
 *
 * Returns 1 with a frame, 0 when the peer closed at a frame boundary, or -1:
 *   EPROTO   the peer closed inside a frame, or a header is malformed (length
 *            below 8, another version, an undefined flag): the stream is no
 *            longer framed and the connection should be closed;
 *   EMSGSIZE the payload is larger than @cap: the frame was read and dropped
 *            (@info says how large it was), the stream stays at a boundary;
 *   EAGAIN   non-blocking and no whole frame yet (nothing consumed);
 *   or recv's errno.
 */
int acp_recv_frame(int fd, struct acp_frame_info *info, void *buf, size_t cap);

#endif /* ACP_H */
