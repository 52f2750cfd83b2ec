// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Independent checksum verifier: full recomputation of every checksum in a frame. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include "csum_verify.h"

/* Nesting bound for encapsulated packets (IPIP in IPIP ...). */
#define CV_MAX_DEPTH 4

static int cv_err(struct csum_report *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (!r->err[0]) {
		va_start(ap, fmt);
		vsnprintf(r->err, sizeof(r->err), fmt, ap);
		va_end(ap);
	}
	return err;
}

static unsigned int rd16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

/* No checksum field inside the summed bytes. */
#define CV_NO_FIELD SIZE_MAX

/*
 * One's-complement sum of @len bytes at @p, leaving out the two bytes at
 * @field (the checksum itself; CV_NO_FIELD to sum everything).
 */
static uint64_t sum_bytes(uint64_t acc, const uint8_t *p, size_t len, size_t field)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int in_field = field != CV_NO_FIELD && (i == field || i == field + 1);
		unsigned int b = in_field ? 0 : p[i];

		acc += (i & 1) ? b : (uint64_t)b << 8;
	}
	return acc;
}

static unsigned int fold(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (~acc) & 0xffff;
}

/* Compares the stored checksum at @p + @off with the recomputed one. */
static int check(struct csum_report *r, const char *what, const uint8_t *p, size_t len, size_t off,
		 uint64_t pseudo, int udp)
{
	unsigned int want = fold(sum_bytes(pseudo, p, len, off));
	unsigned int have = rd16(p + off);

	if (udp && want == 0)
		want = 0xffff;
	if (want != have)
		return cv_err(r, -EBADMSG, "%s checksum 0x%04x, expected 0x%04x", what, have, want);
	r->checked++;
	return 0;
}

static int verify_l3(const uint8_t *p, size_t len, struct csum_report *r, int depth);

static int verify_l4(const uint8_t *l4, size_t len, int proto, uint64_t pseudo,
		     struct csum_report *r, int v6, int depth)
{
	switch (proto) {
	case 6:
		if (len < 20)
			return cv_err(r, -EINVAL, "TCP header truncated (%zu bytes)", len);
		return check(r, "TCP", l4, len, 16, pseudo, 0);
	case 17:
		if (len < 8)
			return cv_err(r, -EINVAL, "UDP header truncated (%zu bytes)", len);
		if (rd16(l4 + 4) != len)
			return cv_err(r, -EINVAL, "UDP length %u, %zu bytes present", rd16(l4 + 4),
				      len);
		if (!v6 && rd16(l4 + 6) == 0)
			return 0; /* IPv4 UDP without checksum */
		return check(r, "UDP", l4, len, 6, pseudo, 1);
	case 1:
		if (len < 8)
			return cv_err(r, -EINVAL, "ICMP header truncated (%zu bytes)", len);
		if (check(r, "ICMP", l4, len, 2, 0, 0))
			return -EBADMSG;
		/* An error message quotes an IPv4 header: its checksum must still hold. */
		if ((l4[0] == 3 || l4[0] == 11) && len >= 28 && l4[8] >> 4 == 4 &&
		    len >= 8 + (size_t)(l4[8] & 0xf) * 4)
			return check(r, "quoted IPv4 header", l4 + 8, (l4[8] & 0xf) * 4, 10, 0, 0);
		return 0;
	case 58:
		if (len < 8)
			return cv_err(r, -EINVAL, "ICMPv6 header truncated (%zu bytes)", len);
		return check(r, "ICMPv6", l4, len, 2, pseudo, 0);
	case 4:
	case 41:
		if (depth >= CV_MAX_DEPTH)
			return cv_err(r, -EINVAL, "encapsulation nested deeper than %d", depth);
		if (!len || (l4[0] >> 4) != (proto == 4 ? 4 : 6))
			return cv_err(r, -EINVAL, "protocol %d but inner version %d", proto,
				      len ? l4[0] >> 4 : -1);
		return verify_l3(l4, len, r, depth + 1);
	default:
		return 0;
	}
}

static int verify_ip4(const uint8_t *p, size_t len, struct csum_report *r, int depth)
{
	size_t ihl, tot;
	uint64_t pseudo;
	int proto, err;

	if (len < 20)
		return cv_err(r, -EINVAL, "IPv4 header truncated (%zu bytes)", len);
	ihl = (size_t)(p[0] & 0xf) * 4;
	tot = rd16(p + 2);
	if (ihl < 20 || ihl > len)
		return cv_err(r, -EINVAL, "IPv4 IHL %zu with %zu bytes", ihl / 4, len);
	if (tot < ihl || tot > len)
		return cv_err(r, -EINVAL, "IPv4 total length %zu with %zu bytes", tot, len);
	err = check(r, "IPv4 header", p, ihl, 10, 0, 0);
	if (err)
		return err;
	/* A fragment's L4 checksum covers the whole datagram: not verifiable here. */
	if (rd16(p + 6) & 0x3fff)
		return 0;
	proto = p[9];
	pseudo = sum_bytes(0, p + 12, 8, CV_NO_FIELD) + (unsigned int)proto + (tot - ihl);
	return verify_l4(p + ihl, tot - ihl, proto, proto == 1 ? 0 : pseudo, r, 0, depth);
}

static int verify_ip6(const uint8_t *p, size_t len, struct csum_report *r, int depth)
{
	size_t plen, off = 40, ext, l4len;
	uint64_t pseudo;
	int nh, i;

	if (len < 40)
		return cv_err(r, -EINVAL, "IPv6 header truncated (%zu bytes)", len);
	plen = rd16(p + 4);
	if (40 + plen > len)
		return cv_err(r, -EINVAL, "IPv6 payload length %zu with %zu bytes", plen, len - 40);
	len = 40 + plen;
	nh = p[6];
	for (i = 0; i < 16 && (nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44); i++) {
		if (off + 8 > len)
			return cv_err(r, -EINVAL, "IPv6 extension header %d truncated", nh);
		if (nh == 44) {
			if (rd16(p + off + 2) & 0xfff9)
				return 0; /* fragment: L4 not verifiable */
			ext = 8;
		} else if (nh == 51) {
			ext = ((size_t)p[off + 1] + 2) * 4;
		} else {
			ext = ((size_t)p[off + 1] + 1) * 8;
		}
		if (off + ext > len)
			return cv_err(r, -EINVAL, "IPv6 extension header %d truncated", nh);
		nh = p[off];
		off += ext;
	}
	l4len = len - off;
	pseudo = sum_bytes(0, p + 8, 32, CV_NO_FIELD) + (uint64_t)l4len + (unsigned int)nh;
	return verify_l4(p + off, l4len, nh, pseudo, r, 1, depth);
}

static int verify_l3(const uint8_t *p, size_t len, struct csum_report *r, int depth)
{
	if (!len)
		return cv_err(r, -EINVAL, "empty IP packet");
	switch (p[0] >> 4) {
	case 4:
		return verify_ip4(p, len, r, depth);
	case 6:
		return verify_ip6(p, len, r, depth);
	default:
		return cv_err(r, -EINVAL, "IP version %d", p[0] >> 4);
	}
}

int csum_verify_ip(const void *ip, size_t len, struct csum_report *r)
{
	r->checked = 0;
	r->err[0] = 0;
	return verify_l3(ip, len, r, 0);
}

int csum_verify_frame(const void *frame, size_t len, struct csum_report *r)
{
	const uint8_t *p = frame;
	size_t off = 12;
	unsigned int type;

	r->checked = 0;
	r->err[0] = 0;
	if (len < 14)
		return cv_err(r, -EINVAL, "Ethernet header truncated (%zu bytes)", len);
	type = rd16(p + off);
	while (type == 0x8100 || type == 0x88a8) {
		if (off + 6 > len)
			return cv_err(r, -EINVAL, "VLAN tag truncated");
		off += 4;
		type = rd16(p + off);
	}
	off += 2;
	if (type == 0x0800 && (len <= off || p[off] >> 4 != 4))
		return cv_err(r, -EINVAL, "ethertype IPv4 without an IPv4 header");
	if (type == 0x86dd && (len <= off || p[off] >> 4 != 6))
		return cv_err(r, -EINVAL, "ethertype IPv6 without an IPv6 header");
	if (type != 0x0800 && type != 0x86dd)
		return 0;
	return verify_l3(p + off, len - off, r, 0);
}
