/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Re-injecting a frame through an XDP program from userspace (the DELAY slow
 * path). The program makes every decision; userspace only carries it out.
 *
 * - live: BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES. The kernel acts
 *   on the verdict as for a received frame: XDP_TX/XDP_REDIRECT transmit,
 *   XDP_PASS goes up the stack.
 * - copy: BPF_PROG_TEST_RUN without live mode returns the verdict and the
 *   output frame; the caller transmits it with AF_PACKET out of the interface
 *   the program chose: the ingress interface for XDP_TX, for XDP_REDIRECT the
 *   interface whose MAC the program wrote as the frame's source (the router
 *   redirects to the interface bpf_fib_lookup() chose and writes that
 *   interface's MAC as source).
 */
#ifndef SVC_REINJECT_H
#define SVC_REINJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Largest output frame of a copy run: a held frame grows by an outer header at most. */
#define SVC_REINJECT_OUT_MAX 2048

/* One interface of this network namespace, as the egress choice sees it. */
struct svc_link {
	int ifindex;
	__u8 mac[6];
	bool up;
};

/*
 * svc_reinject_live - run @prog_fd on @frame (@len bytes) as received on
 * @ifindex, rx queue @rxq, with BPF_F_TEST_XDP_LIVE_FRAMES. Returns 0 or
 * -errno (-EPERM, -EINVAL: the kernel refuses live frames).
 */
int svc_reinject_live(int prog_fd, const void *frame, __u32 len, __u32 ifindex, __u32 rxq);

/*
 * svc_xdp_run_copy - run @prog_fd on @frame as received on @ifindex, rx queue
 * @rxq, without live mode: *verdict gets the XDP_* verdict, @out (@out_cap
 * bytes) the output frame and *out_len its length. Returns 0 or -errno
 * (-ENOSPC: @out too small).
 */
int svc_xdp_run_copy(int prog_fd, const void *frame, __u32 len, __u32 ifindex, __u32 rxq, void *out,
		     __u32 out_cap, __u32 *out_len, __u32 *verdict);

/*
 * svc_redirect_egress_pick - the interface an XDP_REDIRECT frame with source
 * MAC @smac leaves by, among @links: the one up link with that MAC; when
 * several are (a bridge and its port, VLANs, a bond), the one @route_oif
 * names (the kernel's route to the frame's destination; 0 = not known).
 * Returns the ifindex, -ENODEV (no up link has the MAC) or -EADDRNOTAVAIL
 * (several have it and the route names none of them).
 */
int svc_redirect_egress_pick(const __u8 smac[6], const struct svc_link *links, size_t n,
			     int route_oif);

/*
 * svc_redirect_egress - svc_redirect_egress_pick on this namespace's links;
 * the route is looked up (RTM_GETROUTE for the outer destination and source
 * of @frame) only when several links share the MAC. Returns the ifindex or
 * -errno.
 */
int svc_redirect_egress(const void *frame, __u32 len);

/*
 * svc_frame_socket - an AF_PACKET socket for svc_frame_send: send only
 * (protocol 0: it never receives a copy of the traffic), and past the qdisc
 * and tc egress like an XDP transmit. Returns the fd or -errno.
 */
int svc_frame_socket(void);

/* svc_frame_send - send the Ethernet @frame out of @ifindex. Returns 0 or -errno. */
int svc_frame_send(int fd, int ifindex, const void *frame, __u32 len);

#endif /* SVC_REINJECT_H */
