/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Next-hop egress resolution through rtnetlink: the interface, MACs and MTU
 * the router uses toward a next hop without a FIB lookup per packet
 * (struct svc_nh_egress, docs/datapath.md "Next-hop egress cache"), and the
 * netlink events that make them stale.
 */
#ifndef SVC_NHEGRESS_H
#define SVC_NHEGRESS_H

#include <stdbool.h>
#include "svc_abi.h"

/* What svc_nhe_resolve found, beyond the egress itself. */
struct svc_nhe_info {
	struct svc_addr neigh; /* the neighbour whose MAC is dmac: the gateway, or the next hop */
	bool neigh_v6;	       /* neigh is IPv6 (an IPv4 route may have an IPv6 gateway) */
	bool neigh_missing;    /* no valid neighbour entry: resolution needed */
};

/**
 * svc_nhe_resolve - what the kernel's FIB would give a packet to @addr, now
 * @addr: next-hop address (v4-mapped for IPv4)
 * @out: filled with addr, ifindex, MACs and MTU; SVC_NHE_F_VALID set only
 *	 when all are known (a unicast route and a valid neighbour entry)
 * @info: the neighbour looked up, and whether it was missing (may be NULL)
 *
 * The MTU is chosen as the kernel's forwarding path chooses it: the route's
 * MTU metric when it is locked (or net.ipv4.ip_forward_use_pmtu for IPv4), a
 * PMTU exception toward @addr when there is one, else the device's MTU
 * (IPv6: its mtu6). Returns 0 (also when the entry is not valid) or -errno
 * for a failed netlink exchange; no route is 0 with @out not valid.
 */
int svc_nhe_resolve(const struct svc_addr *addr, struct svc_nh_egress *out,
		    struct svc_nhe_info *info);

/*
 * svc_nhe_watch_open - a non-blocking rtnetlink socket subscribed to link,
 * neighbour and IPv4/IPv6 route events. Returns the fd or -errno.
 */
int svc_nhe_watch_open(void);

/* What svc_nhe_watch_read saw. */
#define SVC_NHE_EV_NEIGH (1U << 0) /* RTM_NEWNEIGH / RTM_DELNEIGH */
#define SVC_NHE_EV_ROUTE (1U << 1) /* RTM_NEWROUTE / RTM_DELROUTE / RTM_NEWLINK / RTM_DELLINK */
#define SVC_NHE_EV_LOST (1U << 2)  /* the socket overran (ENOBUFS): events were lost */

/* A neighbour event: which neighbour, and whether it confirms a valid MAC. */
struct svc_nhe_neigh_ev {
	int ifindex;
	struct svc_addr addr;
	bool valid;  /* RTM_NEWNEIGH in a state bpf_fib_lookup takes, with a MAC */
	__u8 mac[6]; /* when valid */
};

/*
 * svc_nhe_watch_read - drain @fd; returns a mask of SVC_NHE_EV_* (0: nothing)
 * or -errno. For each neighbour event @neigh_cb (may be NULL) is called.
 */
int svc_nhe_watch_read(int fd, void (*neigh_cb)(void *arg, const struct svc_nhe_neigh_ev *ev),
		       void *arg);

#endif /* SVC_NHEGRESS_H */
