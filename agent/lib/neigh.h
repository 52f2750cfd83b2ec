/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Next-hop neighbour resolution: the router's bpf_fib_lookup needs a resolved MAC. */
#ifndef SVC_NEIGH_H
#define SVC_NEIGH_H

#include "svc_abi.h"

/*
 * svc_neigh_prime - make the kernel resolve @addr's link-layer address (ARP /
 * neighbour discovery) by sending one empty UDP datagram to its discard port
 * (9) from this network namespace. The XDP router drops (drop_no_neigh) packets
 * for a next hop whose MAC is not resolved; it cannot resolve it itself.
 * Returns 0 or -errno (no route to @addr, for example).
 */
int svc_neigh_prime(const struct svc_addr *addr);

#endif /* SVC_NEIGH_H */
