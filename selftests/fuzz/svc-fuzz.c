// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svc-fuzz: drives the router program through BPF_PROG_TEST_RUN with
 * structure-aware packets and checks every result with its own oracle
 * (docs/testing.md, "Fuzzing"):
 *
 * - no out-of-policy transmit: a forwarded packet's next hop is up and is a
 *   member of the FORWARD set of the rule its service resolves to (binding /
 *   serviceID prefix -> service table, evaluated here from the configuration),
 *   or the next hop the flow tables held for its 5-tuple before the run;
 * - every forwarded packet is strictly well-formed: a valid outer header whose
 *   length is the inner IP packet's own, and an inner packet whose every
 *   header lies inside its IP length (parsed here independently), carried
 *   byte for byte with any trailer left after it;
 * - a passed packet is byte-identical to the input; a RST reply is a valid
 *   20-byte TCP RST with right lengths and checksums;
 * - XDP_ABORTED never happens.
 *
 * Packets: Ethernet with 0-3 VLAN tags, IPv4 (with options) / IPv6 (with
 * extension headers), TCP (options: MSS, window scale, SACK, timestamps, the
 * TI-flow option with a new / genuine / forged resume TIFID, the flowID option
 * genuine / forged / foreign, malformed ones), UDP, ICMP errors quoting a
 * service flow, to the standard test services (FORWARD, DROP, DEMUX, DELAY, no
 * rule) and to no service; then mutations: lengths rewritten (IPv4 total
 * length, IPv6 payload length, TCP data offset), trailers, truncation, random
 * byte flips. A share of packets reuses an earlier 5-tuple, so flow-table hits
 * and resumed connections are exercised.
 *
 * usage: svc-fuzz [--seed N] [--count N] (defaults: FUZZ_SEED, FUZZ_COUNT from
 * the environment, else 1 and 200000). Deterministic for a seed and count.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "tp.h"
#include "dptest.h"
#include "svc_tiflow.h"
#include "svc_optmac.h"

static unsigned long long fuzz_seed = 1, fuzz_count = 200000;
static const __u64 optkey[2] = { DPT_OPT_K0, DPT_OPT_K1 };

/* ---- deterministic randomness (xorshift64*) ---- */

static __u64 rng_state;

static __u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* rn - uniform in [0, n) (n > 0). */
static __u32 rn(__u32 n)
{
	return (__u32)(rnd() % n);
}

static bool chance(int percent)
{
	return rn(100) < (__u32)percent;
}

/* ---- generation ---- */

struct flow5 {
	bool v6;
	char dst[64];
	__u16 sport, dport;
	__u8 proto;
};

#define POOL 64
static struct flow5 pool[POOL];
static int pool_n;

static void addr_of(const char *s, struct svc_addr *a)
{
	dpt_addr(s, a);
}

static void flow_key_of(const struct flow5 *f, struct svc_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	addr_of(f->v6 ? DPT_CLIENT6 : DPT_CLIENT4, &k->src);
	addr_of(f->dst, &k->dst);
	k->sport = htons(f->sport);
	k->dport = htons(f->dport);
	k->proto = f->proto;
}

static void pick_dst(bool v6, char *out, size_t n)
{
	__u32 r = rn(100);

	if (r < 80) {
		int svc = 1 + (int)rn(SVC_COUNT);

		snprintf(out, n, "%s", v6 ? dpt_vip6(svc) : dpt_vip4(svc));
	} else if (r < 88) {
		snprintf(out, n, "%s", v6 ? DPT_VIP6_ANYPORT : DPT_VIP4_ANYPORT);
	} else if (r < 92) {
		snprintf(out, n, "%s", v6 ? DPT_VIP6_BOTH : DPT_VIP4_BOTH);
	} else if (r < 96 && v6) {
		snprintf(out, n, "%s", dpt_sid(1 + (int)rn(SVC_COUNT)));
	} else {
		snprintf(out, n, "%s", v6 ? "fd00:100::77" : "10.100.0.200");
	}
}

static void new_flow(struct flow5 *f)
{
	if (pool_n && chance(35)) {
		*f = pool[rn(pool_n)];
		return;
	}
	f->v6 = chance(50);
	pick_dst(f->v6, f->dst, sizeof(f->dst));
	f->proto = chance(75) ? IPPROTO_TCP : IPPROTO_UDP;
	f->sport = 1024 + rn(2000);
	f->dport = chance(85) ? (f->proto == IPPROTO_TCP ? 80 : 53) : (__u16)rn(65536);
	if (pool_n < POOL)
		pool[pool_n++] = *f;
	else
		pool[rn(POOL)] = *f;
}

/* An instance id an option names: mostly real next hops, sometimes unknown ones. */
static __u16 pick_instance(void)
{
	return chance(90) ? (__u16)(1 + rn(NH_MAX_ID)) : (__u16)rn(65536);
}

/* TCP options for flow @f into @o; returns their length (a multiple of 4, <= 40). */
static size_t gen_opts(const struct flow5 *f, __u8 flags, __u8 *o)
{
	struct svc_flow_key k;
	size_t n = 0;
	int i, count = (int)rn(5);

	flow_key_of(f, &k);
	for (i = 0; i < count; i++) {
		__u32 r = rn(100);

		if (r < 15 && n + 4 <= 40) {
			__u8 b[4] = { 2, 4, 0x05, 0xb4 };

			memcpy(o + n, b, 4);
			n += 4;
		} else if (r < 22 && n + 3 <= 40) {
			__u8 b[3] = { 3, 3, 7 };

			memcpy(o + n, b, 3);
			n += 3;
		} else if (r < 30 && n + 10 <= 40) {
			__u8 b[10] = { 8, 10, 1, 2, 3, 4, 0, 0, 0, 0 };

			memcpy(o + n, b, 10);
			n += 10;
		} else if (r < 55 && n + 20 <= 40) {
			__u32 ini = (__u32)rn(1 << 24), resp = 0;
			__u16 inst = pick_instance();
			__u32 how = rn(4);

			if (how == 1)
				resp = ((__u32)inst << 8) | svc_tifid_mac(optkey, ini, inst);
			else if (how == 2)
				resp = ((__u32)inst << 8) |
				       (__u8)(svc_tifid_mac(optkey, ini, inst) ^ (1 + rn(255)));
			else if (how == 3)
				resp = (__u32)rn(1 << 24);
			o[n] = chance(95) ? SVC_TIFLOW_KIND_DEFAULT : (__u8)rn(256);
			o[n + 1] = chance(95) ? SVC_TIFLOW_LEN : (__u8)rn(40);
			o[n + 2] = ini >> 16;
			o[n + 3] = ini >> 8;
			o[n + 4] = ini;
			o[n + 5] = resp >> 16;
			o[n + 6] = resp >> 8;
			o[n + 7] = resp;
			for (int j = 8; j < 20; j++)
				o[n + j] = (__u8)rnd();
			n += 20;
		} else if (r < 85 && n + 8 <= 40) {
			__u16 inst = pick_instance(), bits;
			__u32 how = rn(3), fid;

			bits = svc_flowid_mac(optkey, &k, inst);
			if (how == 1)
				bits ^= (__u16)(1 + rn(65535));
			else if (how == 2)
				bits = (__u16)rnd();
			fid = svc_flowid_make(inst, bits);
			o[n] = SVC_FLOWID_KIND;
			o[n + 1] = SVC_FLOWID_LEN;
			o[n + 2] = chance(95) ? 0x53 : (__u8)rnd();
			o[n + 3] = 0x56;
			o[n + 4] = fid >> 24;
			o[n + 5] = fid >> 16;
			o[n + 6] = fid >> 8;
			o[n + 7] = fid;
			n += 8;
		} else if (r < 92 && n + 1 <= 40) {
			o[n++] = 1; /* NOP */
		} else if (n + 2 <= 40) {
			o[n] = (__u8)(9 + rn(20)); /* malformed or unknown */
			o[n + 1] = (__u8)rn(6);
			n += 2;
		}
	}
	(void)flags;
	while (n % 4)
		o[n++] = chance(50) ? 1 : 0;
	return n;
}

static void gen_l4(struct pkt *p, const struct flow5 *f)
{
	static const __u8 fl[] = { TCP_F_SYN,
				   TCP_F_SYN,
				   TCP_F_ACK,
				   TCP_F_ACK | TCP_F_PSH,
				   TCP_F_SYN | TCP_F_ACK,
				   TCP_F_RST,
				   TCP_F_RST | TCP_F_ACK,
				   TCP_F_FIN | TCP_F_ACK };
	__u8 opts[40];
	size_t optlen;
	__u8 flags;

	if (f->proto == IPPROTO_UDP) {
		pkt_udp(p, f->sport, f->dport);
	} else {
		flags = chance(90) ? fl[rn(sizeof(fl))] : (__u8)rnd();
		optlen = chance(70) ? gen_opts(f, flags, opts) : 0;
		pkt_tcp(p, &(struct tcp_spec){ .sport = f->sport,
					       .dport = f->dport,
					       .seq = (__u32)rnd(),
					       .ack = flags & TCP_F_ACK ? (__u32)rnd() : 0,
					       .flags = flags,
					       .opts = opts,
					       .optlen = optlen });
	}
	if (chance(40))
		pkt_payload(p, NULL, rn(200));
}

/* An ICMP error quoting a packet of flow @f as the instance sent it (VIP -> client). */
static void gen_icmp(struct pkt *p, const struct flow5 *f)
{
	struct pkt q;

	pkt_init(&q);
	if (f->v6)
		pkt_ip6(&q, &(struct ip6_spec){ .src = f->dst, .dst = DPT_CLIENT6 });
	else
		pkt_ip4(&q, &(struct ip4_spec){ .src = f->dst, .dst = DPT_CLIENT4 });
	if (f->proto == IPPROTO_UDP)
		pkt_udp(&q, f->dport, f->sport);
	else
		pkt_tcp(&q, &(struct tcp_spec){
				    .sport = f->dport, .dport = f->sport, .flags = TCP_F_ACK });
	pkt_finalize(&q);
	if (f->v6)
		pkt_icmp6(p, chance(50) ? 1 : 2, 0, 1280);
	else
		pkt_icmp4(p, chance(80) ? 3 : 11, (__u8)rn(5), 1400);
	pkt_ip_bytes(p, q.buf, chance(70) ? q.len : 20 + rn((__u32)q.len - 19));
}

static void gen_packet(struct pkt *p)
{
	struct flow5 f;
	int vlans = chance(85) ? 0 : (int)rn(4), i;

	new_flow(&f);
	pkt_init(p);
	dpt_eth(p);
	for (i = 0; i < vlans; i++)
		pkt_vlan(p, chance(50) ? 0x8100 : 0x88a8, (__u16)rn(4096));
	if (f.v6) {
		pkt_ip6(p, &(struct ip6_spec){ .src = DPT_CLIENT6, .dst = f.dst });
		if (chance(15)) {
			int n = 1 + (int)rn(5);

			for (i = 0; i < n; i++) {
				__u32 t = rn(4);

				if (t == 3)
					pkt_ip6_frag(p, chance(80) ? 0 : (__u16)rn(100), chance(50),
						     (__u32)rnd());
				else
					pkt_ip6_ext(p,
						    t == 0   ? 0
						    : t == 1 ? 60
							     : 43,
						    8 * (1 + rn(t == 1 ? 16 : 3)));
			}
		}
	} else {
		__u8 ipo[40];
		size_t ol = chance(10) ? 4 * (1 + rn(10)) : 0;

		memset(ipo, 1, sizeof(ipo)); /* NOPs */
		pkt_ip4(p, &(struct ip4_spec){ .src = DPT_CLIENT4,
					       .dst = f.dst,
					       .id = (__u16)rnd(),
					       .frag = chance(5) ? (__u16)rn(0x4000) : 0,
					       .opts = ipo,
					       .optlen = ol });
	}
	if (chance(8))
		gen_icmp(p, &f);
	else
		gen_l4(p, &f);
	pkt_finalize(p);
}

/* Mutations after finalizing: lengths, trailer, truncation, byte flips. */
static void mutate(struct pkt *p)
{
	int l3 = pkt_layer_find(p, PKT_IP4, 0) >= 0   ? 4
		 : pkt_layer_find(p, PKT_IP6, 0) >= 0 ? 6
						      : 0;
	__u8 *ip = l3 == 4   ? pkt_layer_ptr(p, PKT_IP4, 0)
		   : l3 == 6 ? pkt_layer_ptr(p, PKT_IP6, 0)
			     : NULL;
	__u32 r;

	if (!chance(35))
		return;
	r = rn(6);
	if (r == 0 && ip) {
		__u16 v = chance(50) ? (__u16)rn(80) : (__u16)rnd();

		if (l3 == 4) {
			ip[2] = v >> 8;
			ip[3] = v;
			pkt_ip4_csum_fix(ip);
		} else {
			ip[4] = v >> 8;
			ip[5] = v;
		}
	} else if (r == 1 && pkt_layer_find(p, PKT_TCP, 0) >= 0) {
		__u8 *th = pkt_layer_ptr(p, PKT_TCP, 0);

		th[12] = (__u8)(rn(16) << 4);
	} else if (r == 2 && p->len + 64 <= PKT_MAX) {
		__u32 n = 1 + rn(64), i;

		for (i = 0; i < n; i++)
			p->buf[p->len + i] = (__u8)rnd();
		p->len += n;
	} else if (r == 3 && p->len > 14) {
		/* BPF_PROG_TEST_RUN takes no XDP frame under an Ethernet header. */
		p->len = 14 + rn((__u32)p->len - 14);
	} else {
		int n = 1 + (int)rn(4), i;

		for (i = 0; i < n; i++)
			p->buf[rn((__u32)p->len)] ^= (__u8)(1 + rn(255));
	}
}

/* ---- the oracle's own parser ---- */

struct view {
	int action; /* what the router may do: 0 parse fails -> drop/pass, 1 parsed */
	bool v6;
	size_t l3, ip_len, l4, l4_len;
	__u8 proto;
	bool icmp_err;
	struct svc_flow_key key;
};

static bool is_ext(__u8 nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51;
}

/*
 * strict_ip - parse the IP packet at @ip (@avail bytes of frame) strictly:
 * every header inside the IP length. Fills proto, l4 offset (from ip) and
 * the IP length. Returns false when the packet is malformed or the router
 * does not parse it (fragments, chains over 4, other protocols).
 */
static bool strict_ip(const __u8 *ip, size_t avail, struct view *v, size_t *l4off)
{
	size_t len, off;
	__u8 nh;
	int i;

	if (avail < 1)
		return false;
	if ((ip[0] >> 4) == 4) {
		size_t ihl;

		if (avail < 20 || (ip[0] & 15) < 5)
			return false;
		ihl = (ip[0] & 15) * 4u;
		len = ((size_t)ip[2] << 8) | ip[3];
		if (ihl > avail || len < ihl || len > avail)
			return false;
		if (((ip[6] << 8) | ip[7]) & 0x1fff)
			return false;
		v->v6 = false;
		v->proto = ip[9];
		off = ihl;
	} else if ((ip[0] >> 4) == 6) {
		if (avail < 40)
			return false;
		len = 40 + (((size_t)ip[4] << 8) | ip[5]);
		if (len > avail)
			return false;
		v->v6 = true;
		nh = ip[6];
		off = 40;
		for (i = 0; i < 4 && is_ext(nh); i++) {
			if (nh == 44) {
				if (off + 8 > len)
					return false;
				if (((ip[off + 2] << 8) | ip[off + 3]) & 0xfff8)
					return false;
				nh = ip[off];
				off += 8;
				continue;
			}
			if (off + 8 > len)
				return false;
			{
				size_t el =
					nh == 51 ? (ip[off + 1] + 2u) * 4 : (ip[off + 1] + 1u) * 8;

				nh = ip[off];
				off += el;
			}
			if (off > len)
				return false;
		}
		if (is_ext(nh))
			return false;
		v->proto = nh;
	} else {
		return false;
	}
	v->ip_len = len;
	*l4off = off;
	return true;
}

/* strict_l4 - the TCP/UDP header at @off of the IP packet lies inside its length. */
static bool strict_l4(const __u8 *ip, size_t len, size_t off, __u8 proto)
{
	if (proto == IPPROTO_TCP)
		return off + 20 <= len && (ip[off + 12] >> 4) >= 5 &&
		       off + (ip[off + 12] >> 4) * 4u <= len;
	if (proto == IPPROTO_UDP)
		return off + 8 <= len;
	return false;
}

static void key_addrs(const __u8 *ip, bool v6, struct svc_addr *src, struct svc_addr *dst)
{
	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	if (v6) {
		memcpy(src->b, ip + 8, 16);
		memcpy(dst->b, ip + 24, 16);
	} else {
		src->w[2] = htonl(0xffff);
		dst->w[2] = htonl(0xffff);
		memcpy(&src->w[3], ip + 12, 4);
		memcpy(&dst->w[3], ip + 16, 4);
	}
}

/*
 * view_of - what the router may do with @f: the flow it belongs to (for an
 * ICMP error, the quoted flow reversed). Returns false if the router must not
 * forward it (malformed, not parsed, not TCP/UDP/ICMP error).
 */
static bool view_of(const __u8 *f, size_t len, struct view *v)
{
	size_t off = 14, l4;
	__u16 type;
	int i;

	memset(v, 0, sizeof(*v));
	if (len < 14)
		return false;
	type = (f[12] << 8) | f[13];
	for (i = 0; i < 2 && (type == 0x8100 || type == 0x88a8); i++) {
		if (off + 4 > len)
			return false;
		type = (f[off + 2] << 8) | f[off + 3];
		off += 4;
	}
	if (type != 0x0800 && type != 0x86dd)
		return false;
	if ((type == 0x0800) != ((f[off] >> 4) == 4))
		return false;
	v->l3 = off;
	if (!strict_ip(f + off, len - off, v, &l4))
		return false;
	v->l4 = l4;
	if ((v->proto == IPPROTO_ICMP && !v->v6) || (v->proto == IPPROTO_ICMPV6 && v->v6)) {
		const __u8 *ic = f + off + l4, *q;
		size_t qavail, qihl;
		struct svc_addr qs, qd;

		if (l4 + 8 > v->ip_len)
			return false;
		if (v->v6 ? (ic[0] != 1 && ic[0] != 2) : (ic[0] != 3 && ic[0] != 11))
			return false;
		q = ic + 8;
		qavail = v->ip_len - l4 - 8;
		if (v->v6) {
			if (qavail < 40)
				return false;
			qihl = 40;
			key_addrs(q, true, &qs, &qd);
			v->key.proto = q[6];
		} else {
			if (qavail < 20 || (q[0] >> 4) != 4 || (q[0] & 15) < 5)
				return false;
			qihl = (q[0] & 15) * 4u;
			key_addrs(q, false, &qs, &qd);
			v->key.proto = q[9];
		}
		if (v->key.proto != IPPROTO_TCP && v->key.proto != IPPROTO_UDP)
			return false;
		if (qihl + 8 > qavail)
			return false;
		v->key.src = qd;
		v->key.dst = qs;
		memcpy(&v->key.sport, q + qihl + 2, 2);
		memcpy(&v->key.dport, q + qihl, 2);
		v->icmp_err = true;
		return true;
	}
	if (!strict_l4(f + off, v->ip_len, l4, v->proto))
		return false;
	key_addrs(f + off, v->v6, &v->key.src, &v->key.dst);
	memcpy(&v->key.sport, f + off + l4, 2);
	memcpy(&v->key.dport, f + off + l4 + 2, 2);
	v->key.proto = v->proto;
	return true;
}

/* ---- policy, from the configuration ---- */

struct ctx {
	struct dpt_env *e;
	int bindings, sid_prefixes, service_table, flows, resumed;
	__u8 members[64][NH_MAX_ID + 1]; /* members of the standard config's sets, read once */
	bool members_read[64];
};

static bool set_member(struct ctx *c, __u32 set, __u32 nh)
{
	__u32 *table, i;

	if (set >= sizeof(c->members_read) || nh > NH_MAX_ID)
		return false;
	if (!c->members_read[set]) {
		table = calloc(SVC_CH_SIZE, sizeof(*table));
		if (table && !svc_dp_nhset_read(c->e->dp, set, table))
			for (i = 0; i < SVC_CH_SIZE; i++)
				if (table[i] <= NH_MAX_ID)
					c->members[set][table[i]] = 1;
		free(table);
		c->members_read[set] = true;
	}
	return c->members[set][nh];
}

/* allowed - may the packet of flow @k go to next hop @nh? @held: the flow tables' hop before. */
static bool allowed(struct ctx *c, const struct view *v, __u32 nh, __u32 held)
{
	struct svc_binding_key bk;
	struct svc_binding b;
	struct svc_lpm_key lk;
	struct svc_rule rule;
	__u32 flag;

	if (!nh || nh > NH_MAX_ID || !dpt_nh_model(nh)->up)
		return false;
	if (held && held == nh)
		return true;
	memset(&bk, 0, sizeof(bk));
	bk.vip = v->key.dst;
	bk.port = v->key.dport;
	bk.proto = v->key.proto;
	memset(&lk, 0, sizeof(lk));
	lk.prefixlen = 128;
	if (!bpf_map_lookup_elem(c->bindings, &bk, &b)) {
		lk.sid = b.sid;
	} else {
		bk.port = 0;
		if (!bpf_map_lookup_elem(c->bindings, &bk, &b)) {
			lk.sid = b.sid;
		} else {
			memcpy(lk.sid.b, v->key.dst.b, 16);
			if (!v->v6 || bpf_map_lookup_elem(c->sid_prefixes, &lk, &flag))
				return false;
		}
	}
	if (bpf_map_lookup_elem(c->service_table, &lk, &rule) || rule.action != SVC_ACT_FORWARD)
		return false;
	return set_member(c, rule.set_id, nh);
}

static __u32 held_hop(struct ctx *c, const struct svc_flow_key *k)
{
	struct svc_flow f;

	if (!bpf_map_lookup_elem(c->flows, k, &f))
		return f.nh_id;
	if (!bpf_map_lookup_elem(c->resumed, k, &f))
		return f.nh_id;
	return 0;
}

/* The next hop whose address is @a (family @v6), or 0. */
static __u32 nh_by_addr(const struct svc_addr *a)
{
	struct svc_addr m;
	__u32 id;

	for (id = 1; id <= NH_MAX_ID; id++) {
		dpt_addr(dpt_nh_model(id)->addr, &m);
		if (!memcmp(&m, a, sizeof(m)))
			return id;
	}
	return 0;
}

static unsigned long long violations;

static void violation(const struct pkt *in, const struct dpt_result *r, unsigned long long i,
		      const char *what)
{
	char hex[3 * 160 + 1];
	size_t k;

	if (violations++ < 10) {
		tp_fail(__FILE__, __LINE__,
			"packet %llu (seed %llu): %s (verdict %u, %u -> %u bytes)", i, fuzz_seed,
			what, r->retval, (unsigned)in->len, r->out_len);
		for (k = 0; k < in->len && k < 160; k++)
			snprintf(hex + 3 * k, 4, "%02x ", in->buf[k]);
		hex[3 * k] = '\0';
		tp_diag("input: %s", hex);
		for (k = 0; k < r->out_len && k < 160; k++)
			snprintf(hex + 3 * k, 4, "%02x ", r->out[k]);
		hex[3 * k] = '\0';
		tp_diag("output: %s", hex);
	}
}

/* The TCP checksum sum over pseudo header and segment of the IP packet @ip, folded. */
static __u16 tcp_sum(const __u8 *ip, size_t len, const struct view *v)
{
	__u32 sum = v->v6 ? pkt_csum_add(0, ip + 8, 32) : pkt_csum_add(0, ip + 12, 8);
	__u16 f;

	sum += IPPROTO_TCP + (__u32)(len - v->l4);
	f = pkt_csum_fold(pkt_csum_add(sum, ip + v->l4, len - v->l4));
	return f == 0xffff ? 0 : f; /* one's complement: +0 and -0 */
}

/*
 * same_or_clamped - @out is the input IP packet @in (@len bytes), or, for a TCP
 * SYN, @in with the value of one MSS option (kind 2, length 4) lowered and the
 * TCP checksum updated to match (the router's MSS clamp, docs/datapath.md
 * "Path MTU"). Nothing else may differ; a wrong checksum stays exactly as wrong.
 */
static bool same_or_clamped(const __u8 *out, const __u8 *in, size_t len, const struct view *v)
{
	size_t l4 = v->l4, hlen, k, m = 0;

	if (!memcmp(out, in, len))
		return true;
	if (v->proto != IPPROTO_TCP || l4 + 20 > len || !(in[l4 + 13] & TCP_F_SYN))
		return false;
	hlen = (size_t)(in[l4 + 12] >> 4) * 4;
	if (hlen < 20 || l4 + hlen > len)
		return false;
	for (k = l4 + 22; k + 2 <= l4 + hlen && !m; k++) {
		if (in[k - 2] == 2 && in[k - 1] == 4 &&
		    (out[k] != in[k] || out[k + 1] != in[k + 1]))
			m = k;
	}
	if (!m)
		return false;
	for (k = 0; k < len; k++) {
		if (out[k] != in[k] && k != m && k != m + 1 && k != l4 + 16 && k != l4 + 17)
			return false;
	}
	if (((unsigned)out[m] << 8 | out[m + 1]) >= ((unsigned)in[m] << 8 | in[m + 1]))
		return false;
	return tcp_sum(out, len, v) == tcp_sum(in, len, v);
}

/* Check an encapsulated output for @in (viewed as @v). */
static void check_encap(struct ctx *c, const struct pkt *in, const struct view *v, __u32 held,
			const struct dpt_result *r, unsigned long long i)
{
	const __u8 *o = r->out;
	size_t olen = r->out_len, ohl, inner_off, trailer;
	struct svc_addr dst, src4, src6, s;
	__u16 type;
	__u32 nh;

	if (olen < 14 + 20) {
		violation(in, r, i, "forwarded frame too short");
		return;
	}
	type = (o[12] << 8) | o[13];
	dpt_addr(DPT_SRC4, &src4);
	dpt_addr(DPT_SRC6, &src6);
	memset(&dst, 0, sizeof(dst));
	if (type == 0x0800) {
		ohl = 20;
		key_addrs(o + 14, false, &s, &dst);
		if (o[14] != 0x45 || (((size_t)o[16] << 8) | o[17]) != 20 + v->ip_len ||
		    o[23] != (v->v6 ? 41 : 4) || memcmp(&s, &src4, sizeof(s)) ||
		    pkt_csum_fold(pkt_csum_add(0, o + 14, 20)) != 0) {
			violation(in, r, i, "bad outer IPv4 header");
			return;
		}
	} else if (type == 0x86dd) {
		ohl = 40;
		if (olen < 14 + 40) {
			violation(in, r, i, "forwarded frame too short");
			return;
		}
		key_addrs(o + 14, true, &s, &dst);
		if ((o[14] >> 4) != 6 || (((size_t)o[18] << 8) | o[19]) != v->ip_len ||
		    o[20] != (v->v6 ? 41 : 4) || memcmp(&s, &src6, sizeof(s))) {
			violation(in, r, i, "bad outer IPv6 header");
			return;
		}
	} else {
		violation(in, r, i, "forwarded frame is not IP");
		return;
	}
	inner_off = 14 + ohl;
	if (olen < inner_off + v->ip_len ||
	    !same_or_clamped(o + inner_off, in->buf + v->l3, v->ip_len, v)) {
		violation(in, r, i, "inner packet not the input's IP packet");
		return;
	}
	trailer = in->len - v->l3 - v->ip_len;
	if (olen != inner_off + v->ip_len + trailer ||
	    memcmp(o + inner_off + v->ip_len, in->buf + v->l3 + v->ip_len, trailer)) {
		violation(in, r, i, "trailer not carried unchanged after the inner packet");
		return;
	}
	nh = nh_by_addr(&dst);
	if (!allowed(c, v, nh, held))
		violation(in, r, i, "out-of-policy transmit");
}

/* Check a RST reply (XDP_TX, not encapsulated). */
static void check_rst(const struct pkt *in, const struct view *v, const struct dpt_result *r,
		      unsigned long long i)
{
	struct view rv;

	if (!view_of(r->out, r->out_len, &rv) || rv.proto != IPPROTO_TCP ||
	    v->proto != IPPROTO_TCP || rv.ip_len != rv.l4 + 20 || r->out_len != rv.l3 + rv.ip_len ||
	    !(r->out[rv.l3 + rv.l4 + 13] & TCP_F_RST) ||
	    !dpt_verify_csums("RST reply", r->out, r->out_len, rv.v6 ? 1 : 2))
		violation(in, r, i, "malformed RST reply");
}

static int fuzz(struct dpt_env *e)
{
	static struct ctx c;
	struct dpt_result r;
	struct pkt in;
	struct view v;
	unsigned long long i, n[4] = { 0 };
	bool ok;
	__u32 held;

	c.e = e;
	c.bindings = svc_dp_map_fd(e->dp, "bindings");
	c.sid_prefixes = svc_dp_map_fd(e->dp, "sid_prefixes");
	c.service_table = svc_dp_map_fd(e->dp, "service_table");
	c.flows = svc_dp_map_fd(e->dp, "flows");
	c.resumed = svc_dp_map_fd(e->dp, "resumed_flows");
	if (c.bindings < 0 || c.sid_prefixes < 0 || c.service_table < 0 || c.flows < 0 ||
	    c.resumed < 0) {
		tp_fail(__FILE__, __LINE__, "map fds");
		return -1;
	}
	rng_state = fuzz_seed * 0x9e3779b97f4a7c15ULL + 1;
	for (i = 0; i < fuzz_count; i++) {
		gen_packet(&in);
		mutate(&in);
		ok = view_of(in.buf, in.len, &v);
		held = ok ? held_hop(&c, &v.key) : 0;
		if (dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in.buf, in.len, &r)) {
			violation(&in, &r, i, "BPF_PROG_TEST_RUN failed");
			break;
		}
		switch (r.retval) {
		case XDP_PASS:
			n[0]++;
			if (r.out_len != in.len || memcmp(r.out, in.buf, in.len))
				violation(&in, &r, i, "passed packet changed");
			break;
		case XDP_DROP:
			n[1]++;
			break;
		case XDP_TX:
		case XDP_REDIRECT:
			n[2]++;
			if (!ok)
				violation(&in, &r, i, "malformed or unparsed packet transmitted");
			else if (r.retval == XDP_TX && r.out_len >= 14 &&
				 ((r.out[12] << 8 | r.out[13]) == (v.v6 ? 0x86dd : 0x0800)) &&
				 r.out_len <= in.len && !v.icmp_err)
				check_rst(&in, &v, &r, i);
			else
				check_encap(&c, &in, &v, held, &r, i);
			break;
		default:
			n[3]++;
			violation(&in, &r, i, "unexpected verdict");
		}
		if (violations > 100)
			break;
	}
	printf("# svc-fuzz: seed %llu, %llu packets: %llu passed, %llu dropped, %llu transmitted, "
	       "%llu other; %llu violations\n",
	       fuzz_seed, i, n[0], n[1], n[2], n[3], violations);
	ASSERT_EQ(violations, 0ULL, "policy oracle violations");
	ASSERT_GT(n[2], fuzz_count / 20, "a share of the packets was forwarded");
	return 0;
}

TEST(router_fuzz)
{
	struct dpt_env e;

	if (dpt_env_open(&e))
		return;
	fuzz(&e);
	dpt_env_close(&e);
}

static unsigned long long num_arg(const char *name, const char *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || !*v || *end) {
		fprintf(stderr, "svc-fuzz: %s: '%s' is not a number\n", name, v);
		exit(2);
	}
	return x;
}

int main(int argc, char **argv)
{
	char *args[2] = { argv[0], NULL };
	const char *s;
	int i;

	if ((s = getenv("FUZZ_SEED")) && *s)
		fuzz_seed = num_arg("FUZZ_SEED", s);
	if ((s = getenv("FUZZ_COUNT")) && *s)
		fuzz_count = num_arg("FUZZ_COUNT", s);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			fuzz_seed = num_arg("--seed", argv[++i]);
		} else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			fuzz_count = num_arg("--count", argv[++i]);
		} else {
			fprintf(stderr, "usage: svc-fuzz [--seed N] [--count N]\n");
			return 2;
		}
	}
	return tp_main(1, args);
}
