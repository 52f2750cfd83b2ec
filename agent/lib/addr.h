/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Parsing and printing of addresses, serviceID prefixes, bindings and next hops. */
#ifndef SVC_ADDR_H
#define SVC_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include "svc_abi.h"

/* Longest text any svc_*_format() writes, with the NUL. */
#define SVC_ADDR_STRLEN 64

/* svc_addr_parse - "192.0.2.1" or "2001:db8::1" -> @out (IPv4 v4-mapped). 0 or -EINVAL. */
int svc_addr_parse(const char *s, struct svc_addr *out);
/*
 * svc_sockaddr_parse - "192.0.2.1" or "2001:db8::1" and @port (host order) ->
 * a sockaddr of the family the text names (IPv4 as AF_INET) and its length.
 * 0 or -EINVAL.
 */
int svc_sockaddr_parse(const char *s, __u16 port, struct sockaddr_storage *ss, socklen_t *len);
/* svc_addr_is_v4 - true if @a is v4-mapped. */
bool svc_addr_is_v4(const struct svc_addr *a);
/* svc_addr_format - IPv4 dotted quad for v4-mapped addresses, else RFC 5952 IPv6. */
const char *svc_addr_format(const struct svc_addr *a, char *buf, size_t len);

/* svc_sid_parse - a serviceID written like an IPv6 address. 0 or -EINVAL. */
int svc_sid_parse(const char *s, struct svc_sid *out);
const char *svc_sid_format(const struct svc_sid *sid, char *buf, size_t len);

/*
 * svc_prefix_parse - "SID/LEN" (LEN 0..128) or a bare SID (= /128) -> LPM key.
 * Bits past LEN must be zero (-EINVAL otherwise: an operator typo, not silently masked).
 */
int svc_prefix_parse(const char *s, struct svc_lpm_key *out);
const char *svc_prefix_format(const struct svc_lpm_key *k, char *buf, size_t len);

/*
 * svc_binding_parse - "VIP:PORT/PROTO": "192.0.2.10:80/tcp", "[2001:db8::10]:53/udp".
 * PROTO is tcp or udp; PORT 0..65535 (0 = every port). Fills a zeroed key.
 */
int svc_binding_parse(const char *s, struct svc_binding_key *out);
const char *svc_binding_format(const struct svc_binding_key *k, char *buf, size_t len);

/*
 * svc_endpoint_parse - "ADDR:PORT", IPv6 as "[ADDR]:PORT", PORT 1..65535 (host
 * order in *port). 0 or -EINVAL.
 */
int svc_endpoint_parse(const char *s, struct svc_addr *addr, __u16 *port);
const char *svc_endpoint_format(const struct svc_addr *a, __u16 port, char *buf, size_t len);

/*
 * svc_hop_parse - a weighted next hop "ADDR[:WEIGHT]", IPv6 as "[ADDR]:WEIGHT" or bare.
 * WEIGHT is 1..SVC_MAX_WEIGHT, default 1.
 */
#define SVC_MAX_WEIGHT 1000
int svc_hop_parse(const char *s, struct svc_addr *addr, unsigned int *weight);

#endif /* SVC_ADDR_H */
