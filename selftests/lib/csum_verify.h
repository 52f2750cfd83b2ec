/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Independent checksum verifier: parses a frame (Ethernet, VLAN tags, IPv4,
 * IPv6 + extension headers, IPIP/IP6IP6 inner packets) and recomputes every
 * checksum from scratch: IPv4 header, TCP/UDP/ICMPv6 with their pseudo-headers,
 * ICMPv4, and the IPv4 header quoted by an ICMP error. It shares no code with
 * the builder or the BPF programs, so neither can hide the other's mistake.
 */
#ifndef SVC_CSUM_VERIFY_H
#define SVC_CSUM_VERIFY_H

#include <stddef.h>

struct csum_report {
	int checked;   /* checksums recomputed and found right */
	char err[256]; /* first problem found, "" if none */
};

/*
 * csum_verify_frame - verify every checksum of the Ethernet frame @frame.
 * Returns 0 if all are right, -EBADMSG on a wrong checksum, -EINVAL if a
 * header is truncated or a length field is inconsistent (details in r->err).
 */
int csum_verify_frame(const void *frame, size_t len, struct csum_report *r);
/* csum_verify_ip - the same, starting at an IPv4 or IPv6 header. */
int csum_verify_ip(const void *ip, size_t len, struct csum_report *r);

#endif /* SVC_CSUM_VERIFY_H */
