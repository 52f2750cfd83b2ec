// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Decoder of svcplane TCP options: one header, pcap files, live AF_PACKET capture. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "optdecode.h"
#include "log.h"

#define OD_ETH_HLEN 14
#define OD_SLL_HLEN 16
#define OD_SLL2_HLEN 20
#define OD_MAX_VLAN 2
#define OD_MAX_EXT 8
#define OD_FRAME_MAX 262144 /* largest pcap record accepted */
#define OD_LIVE_RCVBUF (8 << 20) /* live capture socket buffer */

static __u8 od_tiflow_kind(const struct svc_optdec_cfg *cfg)
{
	return cfg && cfg->tiflow_kind ? cfg->tiflow_kind : SVC_TIFLOW_KIND_DEFAULT;
}

static __u16 od_flowid_exid(const struct svc_optdec_cfg *cfg)
{
	return cfg && cfg->flowid_exid ? cfg->flowid_exid : SVC_FLOWID_EXID_DEFAULT;
}

static __u16 od_be16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __u32 od_be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

const char *svc_hex48(__u64 v, char buf[13])
{
	snprintf(buf, 13, "%012llx", (unsigned long long)(v & SVC_TI48_MASK));
	return buf;
}

/* ---- one TCP header ---- */

/* od_note_opt - remember the svcplane options among the ones found. */
static void od_note_opt(const __u8 *hdr, const struct svc_optdec_cfg *cfg, struct svc_tcp_opts *o,
			unsigned int idx)
{
	const struct svc_tcpopt *op = &o->opt[idx];

	if (op->kind == od_tiflow_kind(cfg) && o->tiflow < 0) {
		o->tiflow = idx;
		if (op->len == SVC_TIFLOW_LEN) {
			o->tiflow_ok = true;
			svc_tiflow_unpack((const struct svc_tiflow_opt *)(hdr + op->off),
					  &o->tiflow_vals);
		}
		return;
	}
	if (op->kind == SVC_FLOWID_KIND && op->len >= 4 && o->flowid < 0 &&
	    od_be16(hdr + op->off + 2) == od_flowid_exid(cfg)) {
		o->flowid = idx;
		if (op->len == SVC_FLOWID_LEN) {
			o->flowid_ok = true;
			o->flowid_val = od_be32(hdr + op->off + 4);
		}
	}
}

int svc_optdecode_tcp(const __u8 *tcp, size_t len, const struct svc_optdec_cfg *cfg,
		      struct svc_tcp_opts *out)
{
	__u8 hdr[SVC_TCPHDR_BUF] = { 0 };
	__u32 hlen, off = SVC_TCPHDR_MIN, at;
	__u8 kind = 0, olen = 0;
	unsigned int step;
	int r;

	memset(out, 0, sizeof(*out));
	out->tiflow = -1;
	out->flowid = -1;
	if (len < SVC_TCPHDR_MIN)
		return -EINVAL;
	hlen = (__u32)(tcp[12] >> 4) * 4;
	if (hlen < SVC_TCPHDR_MIN || hlen > len)
		return -EINVAL;
	/* The walk is the one the BPF programs use: on a zero-padded 64-octet copy. */
	memcpy(hdr, tcp, hlen);
	for (step = 0; step < SVC_TCPOPT_MAX_STEPS; step++) {
		at = off;
		r = svc_tcpopt_step(hdr, hlen, &off, &kind, &olen);
		if (r == SVC_OPTW_END) {
			if (at < hlen) { /* stopped at an EOL, not at the end */
				out->opt[out->n++] = (struct svc_tcpopt){ SVC_TCPOPT_EOL, 1, at };
				out->eol = true;
			}
			break;
		}
		if (r == SVC_OPTW_BAD) {
			out->malformed = true;
			out->bad_off = at;
			break;
		}
		if (r == SVC_OPTW_NOP) {
			out->opt[out->n++] = (struct svc_tcpopt){ SVC_TCPOPT_NOP, 1, at };
			continue;
		}
		out->opt[out->n] = (struct svc_tcpopt){ kind, olen, at };
		od_note_opt(hdr, cfg, out, out->n);
		out->n++;
	}
	return 0;
}

/* Appends printf output to a fixed buffer, counting what would not fit. */
struct od_buf {
	char *p;
	size_t len, n;
};

static void od_printf(struct od_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void od_printf(struct od_buf *b, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(b->n < b->len ? b->p + b->n : NULL, b->n < b->len ? b->len - b->n : 0, fmt,
		      ap);
	va_end(ap);
	if (w > 0)
		b->n += w;
}

/* od_format_known - the standard options tcpdump names; false if @op is not one of them. */
static bool od_format_known(struct od_buf *b, const __u8 *tcp, const struct svc_tcpopt *op)
{
	const __u8 *v = tcp + op->off + 2;
	int i;

	switch (op->kind) {
	case SVC_TCPOPT_EOL:
		od_printf(b, "eol");
		return true;
	case SVC_TCPOPT_NOP:
		od_printf(b, "nop");
		return true;
	case SVC_TCPOPT_MSS:
		if (op->len != 4)
			break;
		od_printf(b, "mss %u", od_be16(v));
		return true;
	case SVC_TCPOPT_WSCALE:
		if (op->len != 3)
			break;
		od_printf(b, "wscale %u", v[0]);
		return true;
	case SVC_TCPOPT_SACK_PERM:
		if (op->len != 2)
			break;
		od_printf(b, "sackOK");
		return true;
	case SVC_TCPOPT_SACK:
		if ((op->len - 2) % 8)
			break;
		od_printf(b, "sack %d", (op->len - 2) / 8);
		for (i = 0; i < (op->len - 2) / 8; i++)
			od_printf(b, " {%u:%u}", od_be32(v + 8 * i), od_be32(v + 8 * i + 4));
		return true;
	case SVC_TCPOPT_TS:
		if (op->len != 10)
			break;
		od_printf(b, "TS val %u ecr %u", od_be32(v), od_be32(v + 4));
		return true;
	case 19: /* RFC 2385 */
		if (op->len != 18)
			break;
		od_printf(b, "md5");
		return true;
	case 28:
		od_printf(b, "uto len %u", op->len);
		return true;
	case 29:
		od_printf(b, "tcp-ao len %u", op->len);
		return true;
	case 30:
		od_printf(b, "mptcp len %u", op->len);
		return true;
	case 34:
		od_printf(b, "tfo len %u", op->len);
		return true;
	default:
		return false;
	}
	od_printf(b, "opt-%u bad-len %u", op->kind, op->len);
	return true;
}

int svc_optdecode_format_opts(const __u8 *tcp, const struct svc_tcp_opts *o, char *buf, size_t len)
{
	struct od_buf b = { buf, len, 0 };
	char h1[13], h2[13], h3[13];
	unsigned int i;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < o->n; i++) {
		const struct svc_tcpopt *op = &o->opt[i];

		if (i)
			od_printf(&b, ",");
		if ((int)i == o->tiflow) {
			if (o->tiflow_ok)
				od_printf(&b, "flow-d tifid %s tiseq %s tiack %s",
					  svc_hex48(o->tiflow_vals.tifid, h1),
					  svc_hex48(o->tiflow_vals.tiseq, h2),
					  svc_hex48(o->tiflow_vals.tiack, h3));
			else
				od_printf(&b, "flow-d bad-len %u", op->len);
		} else if ((int)i == o->flowid) {
			if (o->flowid_ok)
				od_printf(&b, "svc-flowid 0x%08x instance %u", o->flowid_val,
					  svc_flowid_instance(o->flowid_val));
			else
				od_printf(&b, "svc-flowid bad-len %u", op->len);
		} else if (!od_format_known(&b, tcp, op)) {
			od_printf(&b, "unknown-%u len %u", op->kind, op->len);
		}
	}
	if (o->malformed)
		od_printf(&b, "%sbad-opt@%u", o->n ? "," : "", o->bad_off);
	if (len && b.n >= len)
		return (int)len - 1;
	return (int)b.n;
}

/* ---- frames ---- */

/* od_sum - one's-complement sum of @len octets (big-endian 16-bit words). */
static __u32 od_sum(const __u8 *p, size_t len, __u32 sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += od_be16(p + i);
	if (len & 1)
		sum += (__u32)p[len - 1] << 8;
	return sum;
}

static bool od_csum_ok(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* od_tcp_csum - verify the TCP checksum over the pseudo-header and @seg_len octets. */
static enum svc_csum_state od_tcp_csum(const struct svc_tcp_pkt *p, size_t seg_len)
{
	int alen = p->family == AF_INET ? 4 : 16;
	__u32 sum = 0;

	sum = od_sum(p->src, alen, sum);
	sum = od_sum(p->dst, alen, sum);
	sum += 6; /* IPPROTO_TCP */
	sum += (__u32)(seg_len & 0xffff) + (__u32)(seg_len >> 16);
	sum = od_sum(p->tcp, seg_len, sum);
	return od_csum_ok(sum) ? SVC_CSUM_OK : SVC_CSUM_BAD;
}

/* od_l3_off - offset and ethertype of the network header for @linktype. */
static int od_l3_off(int linktype, const __u8 *f, size_t caplen, size_t *off, __u16 *proto)
{
	size_t o;
	int i;

	switch (linktype) {
	case SVC_LINKTYPE_ETHERNET:
		if (caplen < OD_ETH_HLEN)
			return -EINVAL;
		*proto = od_be16(f + 12);
		o = OD_ETH_HLEN;
		for (i = 0; i < OD_MAX_VLAN && (*proto == ETH_P_8021Q || *proto == ETH_P_8021AD);
		     i++) {
			if (caplen < o + 4)
				return -EINVAL;
			*proto = od_be16(f + o + 2);
			o += 4;
		}
		*off = o;
		return 0;
	case SVC_LINKTYPE_LINUX_SLL:
		if (caplen < OD_SLL_HLEN)
			return -EINVAL;
		*proto = od_be16(f + 14);
		*off = OD_SLL_HLEN;
		return 0;
	case SVC_LINKTYPE_LINUX_SLL2:
		if (caplen < OD_SLL2_HLEN)
			return -EINVAL;
		*proto = od_be16(f);
		*off = OD_SLL2_HLEN;
		return 0;
	case SVC_LINKTYPE_RAW:
		if (caplen < 1)
			return -EINVAL;
		*proto = (f[0] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IP;
		*off = 0;
		return 0;
	}
	return -ENOENT;
}

/* od_ip4 - IPv4 header at @ip: TCP offset and segment length; -ENOENT if not TCP / not first. */
static int od_ip4(const __u8 *ip, size_t avail, struct svc_tcp_pkt *p, size_t *l4_off,
		  size_t *seg_len)
{
	size_t ihl, tot;

	if (avail < 20 || (ip[0] >> 4) != 4)
		return -EINVAL;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = od_be16(ip + 2);
	if (ihl < 20 || avail < ihl || tot < ihl)
		return -EINVAL;
	if (ip[9] != 6 || (od_be16(ip + 6) & 0x1fff))
		return -ENOENT;
	p->family = AF_INET;
	memcpy(p->src, ip + 12, 4);
	memcpy(p->dst, ip + 16, 4);
	*l4_off = ihl;
	*seg_len = tot - ihl;
	return 0;
}

/* od_ip6 - IPv6 header and up to OD_MAX_EXT extension headers before TCP. */
static int od_ip6(const __u8 *ip, size_t avail, struct svc_tcp_pkt *p, size_t *l4_off,
		  size_t *seg_len)
{
	size_t o = 40, plen, hl;
	__u8 nh;
	int i;

	if (avail < 40 || (ip[0] >> 4) != 6)
		return -EINVAL;
	plen = od_be16(ip + 4);
	nh = ip[6];
	for (i = 0; i < OD_MAX_EXT && nh != 6; i++) {
		if (avail < o + 8)
			return -EINVAL;
		switch (nh) {
		case 0:	 /* hop-by-hop */
		case 43: /* routing */
		case 60: /* destination options */
			hl = ((size_t)ip[o + 1] + 1) * 8;
			break;
		case 44: /* fragment: only the first one has the TCP header */
			if (od_be16(ip + o + 2) & 0xfff8)
				return -ENOENT;
			hl = 8;
			break;
		case 51: /* AH */
			hl = ((size_t)ip[o + 1] + 2) * 4;
			break;
		default:
			return -ENOENT;
		}
		nh = ip[o];
		o += hl;
	}
	if (nh != 6 || o - 40 > plen)
		return nh != 6 ? -ENOENT : -EINVAL;
	p->family = AF_INET6;
	memcpy(p->src, ip + 8, 16);
	memcpy(p->dst, ip + 24, 16);
	*l4_off = o;
	*seg_len = plen - (o - 40);
	return 0;
}

int svc_optdecode_frame(int linktype, const __u8 *frame, size_t caplen, size_t origlen,
			const struct svc_optdec_cfg *cfg, struct svc_tcp_pkt *out)
{
	size_t l3, l4, seg_len, avail, hlen;
	const __u8 *tcp;
	__u16 proto;
	int err;

	memset(out, 0, sizeof(*out));
	err = od_l3_off(linktype, frame, caplen, &l3, &proto);
	if (err)
		return err;
	avail = caplen - l3;
	if (proto == ETH_P_IP)
		err = od_ip4(frame + l3, avail, out, &l4, &seg_len);
	else if (proto == ETH_P_IPV6)
		err = od_ip6(frame + l3, avail, out, &l4, &seg_len);
	else
		return -ENOENT;
	if (err)
		return err;
	tcp = frame + l3 + l4;
	avail -= l4;
	err = svc_optdecode_tcp(tcp, avail < seg_len ? avail : seg_len, cfg, &out->opts);
	if (err)
		return err;
	hlen = (size_t)(tcp[12] >> 4) * 4;
	out->tcp = tcp;
	out->sport = od_be16(tcp);
	out->dport = od_be16(tcp + 2);
	out->seq = od_be32(tcp + 4);
	out->ack = od_be32(tcp + 8);
	out->flags = tcp[13];
	out->win = od_be16(tcp + 14);
	out->payload_len = seg_len - hlen;
	/* Only a fully captured segment can be verified. */
	out->csum = avail >= seg_len && caplen == origlen ? od_tcp_csum(out, seg_len)
							  : SVC_CSUM_UNCHECKED;
	return 0;
}

/* ---- printing ---- */

static void od_flags(__u8 f, char *buf)
{
	static const struct {
		__u8 bit;
		char c;
	} names[] = { { 0x02, 'S' }, { 0x01, 'F' }, { 0x04, 'R' }, { 0x08, 'P' },
		      { 0x20, 'U' }, { 0x40, 'E' }, { 0x80, 'W' }, { 0x10, '.' } };
	size_t i, n = 0;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & names[i].bit)
			buf[n++] = names[i].c;
	buf[n] = '\0';
	if (!n)
		strcpy(buf, "none");
}

static void od_addr(const struct svc_tcp_pkt *p, const __u8 *a, char *buf, size_t len)
{
	if (!inet_ntop(p->family, a, buf, len))
		snprintf(buf, len, "?");
}

int svc_optdecode_format_pkt(const struct svc_tcp_pkt *p, char *buf, size_t len)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], flags[12], opts[1024];
	struct od_buf b = { buf, len, 0 };

	od_addr(p, p->src, src, sizeof(src));
	od_addr(p, p->dst, dst, sizeof(dst));
	od_flags(p->flags, flags);
	svc_optdecode_format_opts(p->tcp, &p->opts, opts, sizeof(opts));
	od_printf(&b, "%s %s.%u > %s.%u: Flags [%s], seq %u", p->family == AF_INET ? "IP" : "IP6",
		  src, p->sport, dst, p->dport, flags, p->seq);
	if (p->flags & 0x10)
		od_printf(&b, ", ack %u", p->ack);
	od_printf(&b, ", win %u", p->win);
	if (p->opts.n || p->opts.malformed)
		od_printf(&b, ", options [%s]", opts);
	od_printf(&b, ", length %zu", p->payload_len);
	if (p->csum == SVC_CSUM_BAD)
		od_printf(&b, " (bad tcp cksum)");
	if (len && b.n >= len)
		return (int)len - 1;
	return (int)b.n;
}

static void od_json_add(struct json_object *o, const char *k, struct json_object *v)
{
	json_object_object_add(o, k, v);
}

static struct json_object *od_json_opt(const __u8 *tcp, const struct svc_tcpopt *op)
{
	struct json_object *o = json_object_new_object();
	char text[256];
	struct od_buf b = { text, sizeof(text), 0 };

	if (!o)
		return NULL;
	od_json_add(o, "kind", json_object_new_int(op->kind));
	od_json_add(o, "len", json_object_new_int(op->len));
	od_json_add(o, "off", json_object_new_int(op->off));
	if (!od_format_known(&b, tcp, op))
		od_printf(&b, "unknown-%u", op->kind);
	od_json_add(o, "text", json_object_new_string(text));
	return o;
}

static struct json_object *od_json_tiflow(const struct svc_tcp_opts *o)
{
	const struct svc_tiflow_vals *v = &o->tiflow_vals;
	struct json_object *j = json_object_new_object();
	char h[13];

	if (!j)
		return NULL;
	od_json_add(j, "len", json_object_new_int(o->opt[o->tiflow].len));
	od_json_add(j, "valid", json_object_new_boolean(o->tiflow_ok));
	if (!o->tiflow_ok)
		return j;
	od_json_add(j, "tifid", json_object_new_string(svc_hex48(v->tifid, h)));
	snprintf(h, sizeof(h), "%06x", svc_tifid_initiator(v->tifid));
	od_json_add(j, "initiator", json_object_new_string(h));
	snprintf(h, sizeof(h), "%06x", svc_tifid_responder(v->tifid));
	od_json_add(j, "responder", json_object_new_string(h));
	od_json_add(j, "instance", json_object_new_int(svc_tifid_instance(v->tifid)));
	od_json_add(j, "tiseq", json_object_new_string(svc_hex48(v->tiseq, h)));
	od_json_add(j, "tiack", json_object_new_string(svc_hex48(v->tiack, h)));
	return j;
}

struct json_object *svc_optdecode_json(const struct svc_tcp_pkt *p)
{
	static const char *const csum_names[] = { "unchecked", "ok", "bad" };
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], flags[12], text[1024];
	struct json_object *j = json_object_new_object(), *opts, *fj;
	unsigned int i;

	if (!j)
		return NULL;
	od_addr(p, p->src, src, sizeof(src));
	od_addr(p, p->dst, dst, sizeof(dst));
	od_flags(p->flags, flags);
	od_json_add(j, "ts", json_object_new_double(p->ts));
	od_json_add(j, "family", json_object_new_int(p->family == AF_INET ? 4 : 6));
	od_json_add(j, "src", json_object_new_string(src));
	od_json_add(j, "sport", json_object_new_int(p->sport));
	od_json_add(j, "dst", json_object_new_string(dst));
	od_json_add(j, "dport", json_object_new_int(p->dport));
	od_json_add(j, "flags", json_object_new_string(flags));
	od_json_add(j, "syn", json_object_new_boolean(p->flags & 0x02));
	od_json_add(j, "ack_flag", json_object_new_boolean(p->flags & 0x10));
	od_json_add(j, "seq", json_object_new_int64(p->seq));
	od_json_add(j, "ack", json_object_new_int64(p->ack));
	od_json_add(j, "win", json_object_new_int(p->win));
	od_json_add(j, "payload_len", json_object_new_int64(p->payload_len));
	od_json_add(j, "csum", json_object_new_string(csum_names[p->csum]));
	opts = json_object_new_array();
	for (i = 0; opts && i < p->opts.n; i++)
		json_object_array_add(opts, od_json_opt(p->tcp, &p->opts.opt[i]));
	od_json_add(j, "options", opts);
	od_json_add(j, "malformed", json_object_new_boolean(p->opts.malformed));
	if (p->opts.tiflow >= 0)
		od_json_add(j, "tiflow", od_json_tiflow(&p->opts));
	if (p->opts.flowid >= 0) {
		fj = json_object_new_object();
		if (fj) {
			od_json_add(fj, "valid", json_object_new_boolean(p->opts.flowid_ok));
			od_json_add(fj, "flowid", json_object_new_int64(p->opts.flowid_val));
			od_json_add(fj, "instance",
				    json_object_new_int(svc_flowid_instance(p->opts.flowid_val)));
		}
		od_json_add(j, "flowid", fj);
	}
	svc_optdecode_format_pkt(p, text, sizeof(text));
	od_json_add(j, "text", json_object_new_string(text));
	return j;
}

/* ---- pcap files ---- */

#define PCAP_MAGIC_US 0xa1b2c3d4U
#define PCAP_MAGIC_NS 0xa1b23c4dU

struct od_pcap {
	FILE *f;
	bool swap; /* file written on the other byte order */
	bool ns;   /* nanosecond timestamps */
	int linktype;
};

static __u32 od_u32(const struct od_pcap *pc, __u32 v)
{
	return pc->swap ? __builtin_bswap32(v) : v;
}

/* od_pcap_header - read and check the 24-octet global header. */
static int od_pcap_header(struct od_pcap *pc, const char *path)
{
	__u32 h[6];

	if (fread(h, sizeof(h), 1, pc->f) != 1) {
		pr_err("pcap %s: no global header (empty or truncated file)", path);
		return -EINVAL;
	}
	if (h[0] == PCAP_MAGIC_US || h[0] == PCAP_MAGIC_NS) {
		pc->swap = false;
	} else if (__builtin_bswap32(h[0]) == PCAP_MAGIC_US ||
		   __builtin_bswap32(h[0]) == PCAP_MAGIC_NS) {
		pc->swap = true;
	} else {
		pr_err("pcap %s: magic 0x%08x is not pcap (pcapng is not read; tcpdump -w writes "
		       "pcap)",
		       path, h[0]);
		return -EINVAL;
	}
	pc->ns = od_u32(pc, h[0]) == PCAP_MAGIC_NS;
	pc->linktype = od_u32(pc, h[5]) & 0xffff;
	return 0;
}

int svc_optdecode_pcap(const char *path, const struct svc_optdec_cfg *cfg, svc_optdec_fn fn,
		       void *arg)
{
	struct od_pcap pc = { 0 };
	struct svc_tcp_pkt p;
	__u8 *frame = NULL;
	__u32 rec[4], caplen, origlen;
	int err, ret = 0;

	pc.f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!pc.f) {
		pr_err("pcap %s: open: %s", path, strerror(errno));
		return -errno;
	}
	err = od_pcap_header(&pc, path);
	if (err)
		goto out;
	frame = malloc(OD_FRAME_MAX);
	if (!frame) {
		err = -ENOMEM;
		pr_err("pcap %s: allocate frame buffer: %s", path, strerror(ENOMEM));
		goto out;
	}
	while (fread(rec, sizeof(rec), 1, pc.f) == 1) {
		caplen = od_u32(&pc, rec[2]);
		origlen = od_u32(&pc, rec[3]);
		if (caplen > OD_FRAME_MAX || fread(frame, 1, caplen, pc.f) != caplen) {
			pr_err("pcap %s: truncated or oversized record (%u octets)", path, caplen);
			err = -EINVAL;
			goto out;
		}
		if (svc_optdecode_frame(pc.linktype, frame, caplen, origlen, cfg, &p))
			continue;
		p.ts = od_u32(&pc, rec[0]) + od_u32(&pc, rec[1]) / (pc.ns ? 1e9 : 1e6);
		ret = fn(&p, arg);
		if (ret)
			break;
	}
	if (ferror(pc.f)) {
		err = -EIO;
		pr_err("pcap %s: read: %s", path, strerror(errno));
	}
out:
	free(frame);
	if (pc.f != stdin)
		fclose(pc.f);
	return err ? err : ret;
}

/* ---- live capture ---- */

int svc_optdecode_live_open(const char *ifname, int *linktype)
{
	struct sockaddr_ll sll = { 0 };
	struct ifreq ifr = { 0 };
	int fd, one = 1, rcvbuf = OD_LIVE_RCVBUF, err;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		err = -errno;
		pr_err("capture %s: socket(AF_PACKET): %s (needs CAP_NET_RAW)", ifname,
		       strerror(errno));
		return err;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		err = -errno;
		pr_err("capture %s: no such interface: %s", ifname, strerror(errno));
		goto fail;
	}
	*linktype =
		ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER ? SVC_LINKTYPE_ETHERNET : SVC_LINKTYPE_RAW;
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = if_nametoindex(ifname);
	if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		err = -errno;
		pr_err("capture %s: bind: %s", ifname, strerror(errno));
		goto fail;
	}
	/* A burst must not overflow the default buffer; root may go past rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf))) {
		err = -errno;
		pr_err("capture %s: setsockopt SO_RCVBUF: %s", ifname, strerror(errno));
		goto fail;
	}
	/* Auxdata says when a sent packet's checksum is left to offload (not verifiable). */
	if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one))) {
		err = -errno;
		pr_err("capture %s: setsockopt PACKET_AUXDATA: %s", ifname, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return err;
}

/* od_csum_not_ready - did the kernel flag the packet as checksum-not-yet-computed? */
static bool od_csum_not_ready(struct msghdr *msg)
{
	struct cmsghdr *c;
	struct tpacket_auxdata aux;

	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
			continue;
		memcpy(&aux, CMSG_DATA(c), sizeof(aux));
		return aux.tp_status & TP_STATUS_CSUMNOTREADY;
	}
	return false;
}

static double od_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long od_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int svc_optdecode_live_run(int fd, int linktype, const char *ifname,
			   const struct svc_optdec_cfg *cfg, volatile sig_atomic_t *stop,
			   unsigned long count, int timeout_ms, svc_optdec_fn fn, void *arg)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		struct cmsghdr align;
	} ctl;
	long long deadline = timeout_ms > 0 ? od_mono_ms() + timeout_ms : 0;
	unsigned long seen = 0;
	struct svc_tcp_pkt p;
	struct pollfd pfd;
	struct iovec iov;
	struct msghdr msg;
	__u8 *frame;
	int err = 0, n;
	ssize_t len;

	frame = malloc(65536);
	if (!frame) {
		pr_err("capture %s: allocate frame buffer: %s", ifname, strerror(ENOMEM));
		return -ENOMEM;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (!(stop && *stop) && (!count || seen < count)) {
		if (deadline && od_mono_ms() >= deadline)
			break;
		n = poll(&pfd, 1, 100); /* wake up to look at *stop and the deadline */
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			pr_err("capture %s: poll: %s", ifname, strerror(errno));
			break;
		}
		if (!n)
			continue;
		iov = (struct iovec){ frame, 65536 };
		msg = (struct msghdr){ .msg_iov = &iov,
				       .msg_iovlen = 1,
				       .msg_control = ctl.buf,
				       .msg_controllen = sizeof(ctl.buf) };
		len = recvmsg(fd, &msg, MSG_TRUNC);
		if (len < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err = -errno;
			pr_err("capture %s: recvmsg: %s", ifname, strerror(errno));
			break;
		}
		if (svc_optdecode_frame(linktype, frame, len > 65536 ? 65536 : (size_t)len,
					(size_t)len, cfg, &p))
			continue;
		if (od_csum_not_ready(&msg))
			p.csum = SVC_CSUM_UNCHECKED;
		p.ts = od_now();
		seen++;
		err = fn(&p, arg);
		if (err)
			break;
	}
	free(frame);
	return err;
}

int svc_optdecode_live(const char *ifname, const struct svc_optdec_cfg *cfg,
		       volatile sig_atomic_t *stop, unsigned long count, int timeout_ms,
		       svc_optdec_fn fn, void *arg)
{
	int fd, linktype, err;

	fd = svc_optdecode_live_open(ifname, &linktype);
	if (fd < 0)
		return fd;
	err = svc_optdecode_live_run(fd, linktype, ifname, cfg, stop, count, timeout_ms, fn, arg);
	close(fd);
	return err;
}
