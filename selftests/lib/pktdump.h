/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Printing packets for people (decoded layers, hex, side-by-side differences) and pcap files. */
#ifndef SVC_PKTDUMP_H
#define SVC_PKTDUMP_H

#include <stddef.h>
#include <stdio.h>

/* hexdump - 16 bytes a line, each line starting with @prefix. */
void hexdump(FILE *f, const char *prefix, const void *buf, size_t len);
/* hexdump_diff - both buffers, lines that differ marked with '!' and bytes with []. */
void hexdump_diff(FILE *f, const char *prefix, const void *actual, size_t alen,
		  const void *expected, size_t elen);
/* pkt_decode - one line per layer: Ethernet, VLAN, IPv4/6, extensions, TCP/UDP/ICMP, inner. */
void pkt_decode(FILE *f, const char *prefix, const void *frame, size_t len);

/* pcap_dir_prepare - create @dir if missing (one level). 0 or negative errno (printed). */
int pcap_dir_prepare(const char *dir);
/*
 * pcap_write - write @n frames to @path as a pcap file (Ethernet link type),
 * replacing it. 0 or negative errno (printed).
 */
int pcap_write(const char *path, const void *const *frames, const size_t *lens, int n);

#endif /* SVC_PKTDUMP_H */
