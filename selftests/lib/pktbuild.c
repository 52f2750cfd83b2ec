// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Packet builder: layers pushed outermost first, finalized innermost first. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pktbuild.h"

const __u8 pkt_linux_syn_opts[20] = {
	2, 4,  0x05, 0xb4,		     /* MSS 1460 */
	4, 2,				     /* SACK permitted */
	8, 10, 0,    0,	   0, 1, 0, 0, 0, 0, /* timestamps: TSval 1, TSecr 0 */
	1,				     /* NOP */
	3, 3,  7,			     /* window scale 7 */
};

/* A builder misuse is a bug in the test itself: stop loudly. */
static void __attribute__((noreturn)) pkt_bug(const char *what)
{
	fprintf(stderr, "pktbuild: %s\n", what);
	abort();
}

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

void pkt_addr4(const char *s, __u8 out[4])
{
	if (inet_pton(AF_INET, s, out) != 1)
		pkt_bug("bad IPv4 literal");
}

void pkt_addr6(const char *s, __u8 out[16])
{
	if (inet_pton(AF_INET6, s, out) != 1)
		pkt_bug("bad IPv6 literal");
}

void pkt_mac(const char *s, __u8 out[6])
{
	unsigned int b[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		pkt_bug("bad MAC literal");
	for (i = 0; i < 6; i++)
		out[i] = b[i];
}

__u32 pkt_csum_add(__u32 sum, const void *data, size_t len)
{
	const __u8 *b = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	return sum;
}

__u16 pkt_csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

void pkt_init(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
}

/* Appends a layer of @hlen zeroed bytes and returns a pointer to them. */
static __u8 *push(struct pkt *p, enum pkt_ltype type, size_t hlen)
{
	struct pkt_layer *l;
	__u8 *h;

	if (p->n == PKT_MAX_LAYERS)
		pkt_bug("too many layers");
	if (p->len + hlen > PKT_MAX)
		pkt_bug("packet larger than PKT_MAX");
	l = &p->l[p->n++];
	memset(l, 0, sizeof(*l));
	l->type = type;
	l->proto = -1;
	l->off = p->len;
	l->hlen = hlen;
	h = p->buf + p->len;
	memset(h, 0, hlen);
	p->len += hlen;
	return h;
}

void pkt_eth_type(struct pkt *p, const __u8 dst[6], const __u8 src[6], __u16 type)
{
	__u8 *h = push(p, PKT_ETH, 14);

	memcpy(h, dst, 6);
	memcpy(h + 6, src, 6);
	put16(h + 12, type);
}

void pkt_eth(struct pkt *p, const __u8 dst[6], const __u8 src[6])
{
	pkt_eth_type(p, dst, src, 0);
}

void pkt_vlan(struct pkt *p, __u16 tpid, __u16 tci)
{
	__u8 *h = push(p, PKT_VLAN, 4);

	/* The TPID belongs in the header before this tag; keep it in the layer. */
	p->l[p->n - 1].ethertype = tpid;
	put16(h, tci);
}

void pkt_ip4(struct pkt *p, const struct ip4_spec *s)
{
	__u8 *h;

	if (s->optlen % 4 || s->optlen > 40)
		pkt_bug("IPv4 options must be a multiple of 4, at most 40 bytes");
	h = push(p, PKT_IP4, 20 + s->optlen);
	p->l[p->n - 1].ethertype = 0x0800;
	p->l[p->n - 1].proto = 4;
	h[0] = 0x40 | (5 + s->optlen / 4);
	h[1] = s->tos;
	put16(h + 4, s->id);
	put16(h + 6, s->frag);
	h[8] = s->ttl ? s->ttl : 64;
	h[9] = s->proto;
	pkt_addr4(s->src, h + 12);
	pkt_addr4(s->dst, h + 16);
	if (s->optlen)
		memcpy(h + 20, s->opts, s->optlen);
}

void pkt_ip6(struct pkt *p, const struct ip6_spec *s)
{
	__u8 *h = push(p, PKT_IP6, 40);

	p->l[p->n - 1].ethertype = 0x86dd;
	p->l[p->n - 1].proto = 41;
	put32(h, 6U << 28 | (__u32)s->tclass << 20 | (s->flowlabel & 0xfffff));
	h[6] = s->nexthdr ? s->nexthdr : 59;
	h[7] = s->hlim ? s->hlim : 64;
	pkt_addr6(s->src, h + 8);
	pkt_addr6(s->dst, h + 24);
}

void pkt_ip6_ext(struct pkt *p, __u8 type, size_t len)
{
	__u8 *h;

	if (type == 51) {
		if (len < 12 || len % 4)
			pkt_bug("AH length must be a multiple of 4, >= 12");
	} else if (type == 0 || type == 43 || type == 60) {
		if (len < 8 || len % 8)
			pkt_bug("extension header length must be a multiple of 8, >= 8");
	} else {
		pkt_bug("unknown extension header type");
	}
	h = push(p, PKT_EXT6, len);
	p->l[p->n - 1].proto = type;
	h[0] = 59;
	if (type == 51) {
		h[1] = len / 4 - 2;  /* RFC 4302: 32-bit words minus 2 */
		put32(h + 4, 0x100); /* SPI */
		put32(h + 8, 1);     /* sequence number */
		return;
	}
	h[1] = len / 8 - 1;
	if (type == 43) {
		h[2] = 253; /* routing type: RFC 4727 experimental */
		h[3] = 0;   /* segments left: 0, the destination is final */
		return;
	}
	/* Options header: fill with one PadN option (type 1) covering the rest. */
	h[2] = 1;
	h[3] = len - 4;
}

void pkt_ip6_frag(struct pkt *p, __u16 offset, bool more, __u32 ident)
{
	__u8 *h = push(p, PKT_FRAG6, 8);

	p->l[p->n - 1].proto = 44;
	h[0] = 59;
	put16(h + 2, (__u16)(offset << 3) | (more ? 1 : 0));
	put32(h + 4, ident);
}

void pkt_tcp(struct pkt *p, const struct tcp_spec *s)
{
	__u8 *h;

	if (s->optlen % 4 || s->optlen > 40)
		pkt_bug("TCP options must be a multiple of 4, at most 40 bytes");
	h = push(p, PKT_TCP, 20 + s->optlen);
	p->l[p->n - 1].proto = 6;
	put16(h, s->sport);
	put16(h + 2, s->dport);
	put32(h + 4, s->seq);
	put32(h + 8, s->ack);
	h[12] = (5 + s->optlen / 4) << 4;
	h[13] = s->flags;
	put16(h + 14, s->win ? s->win : 65535);
	if (s->optlen)
		memcpy(h + 20, s->opts, s->optlen);
}

void pkt_udp(struct pkt *p, __u16 sport, __u16 dport)
{
	__u8 *h = push(p, PKT_UDP, 8);

	p->l[p->n - 1].proto = 17;
	put16(h, sport);
	put16(h + 2, dport);
}

void pkt_icmp4(struct pkt *p, __u8 type, __u8 code, __u32 rest)
{
	__u8 *h = push(p, PKT_ICMP4, 8);

	p->l[p->n - 1].proto = 1;
	h[0] = type;
	h[1] = code;
	put32(h + 4, rest);
}

void pkt_icmp6(struct pkt *p, __u8 type, __u8 code, __u32 rest)
{
	__u8 *h = push(p, PKT_ICMP6, 8);

	p->l[p->n - 1].proto = 58;
	h[0] = type;
	h[1] = code;
	put32(h + 4, rest);
}

void pkt_payload(struct pkt *p, const void *data, size_t len)
{
	__u8 *h = push(p, PKT_RAW, len);
	size_t i;

	if (data) {
		memcpy(h, data, len);
		return;
	}
	for (i = 0; i < len; i++)
		h[i] = (__u8)(0xa5 ^ (i * 7));
}

void pkt_raw(struct pkt *p, __u16 ethertype, int proto, const void *data, size_t len)
{
	__u8 *h = push(p, PKT_RAW, len);

	p->l[p->n - 1].ethertype = ethertype;
	p->l[p->n - 1].proto = proto;
	memcpy(h, data, len);
}

void pkt_ip_bytes(struct pkt *p, const void *ip, size_t len)
{
	const __u8 *b = ip;

	if (len < 1 || (b[0] >> 4 != 4 && b[0] >> 4 != 6))
		pkt_bug("pkt_ip_bytes: not an IP packet");
	if (b[0] >> 4 == 4)
		pkt_raw(p, 0x0800, 4, ip, len);
	else
		pkt_raw(p, 0x86dd, 41, ip, len);
}

/* Nearest IP layer before layer @i, or -1. */
static int enclosing_ip(const struct pkt *p, int i)
{
	while (--i >= 0)
		if (p->l[i].type == PKT_IP4 || p->l[i].type == PKT_IP6)
			return i;
	return -1;
}

/* Sum of the pseudo-header of the IP layer @ipi for an upper layer of @len bytes. */
static __u32 pseudo_sum(const struct pkt *p, int ipi, __u8 proto, size_t len)
{
	const __u8 *ip = p->buf + p->l[ipi].off;
	__u8 tail[8] = { 0 };
	__u32 sum;

	if (p->l[ipi].type == PKT_IP4) {
		sum = pkt_csum_add(0, ip + 12, 8);
		tail[1] = proto;
		put16(tail + 2, (__u16)len);
		return pkt_csum_add(sum, tail, 4);
	}
	sum = pkt_csum_add(0, ip + 8, 32);
	put32(tail, (__u32)len);
	tail[7] = proto;
	return pkt_csum_add(sum, tail, 8);
}

static void fill_l4_csum(struct pkt *p, int i, int csum_off, __u8 proto, bool pseudo)
{
	const struct pkt_layer *l = &p->l[i];
	size_t len = p->len - l->off;
	__u8 *h = p->buf + l->off;
	int ipi = enclosing_ip(p, i);
	__u32 sum = 0;
	__u16 c;

	if (pseudo) {
		if (ipi < 0)
			pkt_bug("L4 header without an IP header before it");
		sum = pseudo_sum(p, ipi, proto, len);
	}
	put16(h + csum_off, 0);
	c = pkt_csum_fold(pkt_csum_add(sum, h, len));
	if (proto == 17 && c == 0)
		c = 0xffff; /* UDP: 0 means "no checksum" */
	put16(h + csum_off, c);
}

void pkt_ip4_csum_fix(__u8 *ip4)
{
	size_t hlen = (ip4[0] & 0xf) * 4;

	put16(ip4 + 10, 0);
	put16(ip4 + 10, pkt_csum_fold(pkt_csum_add(0, ip4, hlen)));
}

int pkt_tcp_mss(const __u8 *th)
{
	size_t hlen = (size_t)(th[12] >> 4) * 4, off = 20;

	while (off + 1 < hlen) {
		if (th[off] == 0)
			break;
		if (th[off] == 1) {
			off++;
			continue;
		}
		if (th[off] == 2 && th[off + 1] == 4)
			return th[off + 2] << 8 | th[off + 3];
		if (th[off + 1] < 2)
			break;
		off += th[off + 1];
	}
	return -1;
}

static void finalize_layer(struct pkt *p, int i)
{
	const struct pkt_layer *next = i + 1 < p->n ? &p->l[i + 1] : NULL;
	struct pkt_layer *l = &p->l[i];
	__u8 *h = p->buf + l->off;
	size_t len = p->len - l->off;

	switch (l->type) {
	case PKT_ETH:
		if (next && next->ethertype)
			put16(h + 12, next->ethertype);
		break;
	case PKT_VLAN:
		if (next && next->ethertype)
			put16(h + 2, next->ethertype);
		break;
	case PKT_IP4:
		if (next && next->proto >= 0)
			h[9] = (__u8)next->proto;
		put16(h + 2, (__u16)len);
		pkt_ip4_csum_fix(h);
		break;
	case PKT_IP6:
		if (next && next->proto >= 0)
			h[6] = (__u8)next->proto;
		put16(h + 4, (__u16)(len - 40));
		break;
	case PKT_EXT6:
	case PKT_FRAG6:
		if (next && next->proto >= 0)
			h[0] = (__u8)next->proto;
		break;
	case PKT_TCP:
		fill_l4_csum(p, i, 16, 6, true);
		break;
	case PKT_UDP:
		put16(h + 4, (__u16)len);
		fill_l4_csum(p, i, 6, 17, true);
		break;
	case PKT_ICMP4:
		fill_l4_csum(p, i, 2, 1, false);
		break;
	case PKT_ICMP6:
		fill_l4_csum(p, i, 2, 58, true);
		break;
	case PKT_RAW:
		break;
	}
}

void pkt_finalize(struct pkt *p)
{
	int i;

	for (i = p->n - 1; i >= 0; i--)
		finalize_layer(p, i);
}

void pkt_trunc(struct pkt *p, size_t len)
{
	if (len > p->len)
		pkt_bug("pkt_trunc: longer than the packet");
	p->len = len;
}

int pkt_layer_find(const struct pkt *p, enum pkt_ltype type, int nth)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (p->l[i].type == type && nth-- == 0)
			return i;
	return -1;
}

__u8 *pkt_layer_ptr(struct pkt *p, enum pkt_ltype type, int nth)
{
	int i = pkt_layer_find(p, type, nth);

	if (i < 0)
		pkt_bug("pkt_layer_ptr: no such layer");
	return p->buf + p->l[i].off;
}

size_t pkt_l3_off(const struct pkt *p)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (p->l[i].type == PKT_IP4 || p->l[i].type == PKT_IP6 ||
		    (p->l[i].type == PKT_RAW && (p->l[i].proto == 4 || p->l[i].proto == 41)))
			return p->l[i].off;
	pkt_bug("pkt_l3_off: no IP header");
}
