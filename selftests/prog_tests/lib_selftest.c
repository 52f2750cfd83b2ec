// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Tests of the test tools themselves: the builder against published checksum
 * vectors, the independent verifier against the builder and against every
 * single-bit corruption, the flow-key model and the pcap writer. If these
 * fail, no data-path verdict can be trusted.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tp.h"
#include "pktbuild.h"
#include "csum_verify.h"
#include "pktdump.h"
#include "dptest.h"

static const __u8 mac_a[6] = { 2, 0, 0, 0, 0, 0xa }, mac_b[6] = { 2, 0, 0, 0, 0, 0xb };

/* RFC 1071 section 3 numerical example: sum 0xddf2, checksum 0x220d. */
static void rfc1071_vector(void)
{
	static const __u8 data[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	ASSERT_EQ(pkt_csum_fold(pkt_csum_add(0, data, sizeof(data))), 0x220d, "RFC 1071 example");
}

/* The IPv4 header worked example (checksum 0xb861) built field by field. */
static void ip4_header_vector(void)
{
	static const __u8 want[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
				       0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	static __u8 body[95];
	struct csum_report rep;
	struct pkt p;

	pkt_init(&p);
	pkt_ip4(&p,
		&(struct ip4_spec){
			.src = "192.168.0.1", .dst = "192.168.0.199", .frag = 0x4000, .ttl = 64 });
	pkt_raw(&p, 0, 17, body, sizeof(body));
	pkt_finalize(&p);
	ASSERT_MEMEQ(p.buf, 20, want, sizeof(want), "IPv4 header bytes");
	/* The verifier checks the header (the UDP body of zeroes is not a valid UDP header). */
	ASSERT_EQ(csum_verify_ip(p.buf, p.len, &rep), -EINVAL, "verifier on bad UDP length");
	p.buf[10] ^= 0x01;
	ASSERT_EQ(csum_verify_ip(p.buf, p.len, &rep), -EBADMSG, "verifier on bad header sum");
}

/* A frame of every layer kind the builder has, each checksum in it. */
static void build_all_layers(struct pkt *p)
{
	struct pkt inner, quoted;

	/* ICMPv6 PTB quoting a UDP/IPv6 packet, inside IPv6 with 4 extension headers. */
	pkt_init(&quoted);
	pkt_ip6(&quoted, &(struct ip6_spec){ .src = "fd00:100::2", .dst = "fd00::100" });
	pkt_udp(&quoted, 53, 40000);
	pkt_payload(&quoted, NULL, 33);
	pkt_finalize(&quoted);

	pkt_init(&inner);
	pkt_ip6(&inner, &(struct ip6_spec){ .src = "fd00::fe", .dst = "fd00:100::2" });
	pkt_ip6_ext(&inner, 0, 8);
	pkt_ip6_ext(&inner, 60, 16);
	pkt_ip6_ext(&inner, 43, 8);
	pkt_ip6_ext(&inner, 51, 24);
	pkt_icmp6(&inner, 2, 0, 1280);
	pkt_ip_bytes(&inner, quoted.buf, quoted.len);
	pkt_finalize(&inner);

	/* ... carried IPv6-in-IPv4 with options, behind two VLAN tags. */
	pkt_init(p);
	pkt_eth(p, mac_a, mac_b);
	pkt_vlan(p, 0x88a8, 100);
	pkt_vlan(p, 0x8100, 200);
	pkt_ip4(p, &(struct ip4_spec){ .src = "10.1.0.1",
				       .dst = "10.1.0.10",
				       .opts = (const __u8[]){ 0x94, 0x04, 0x00, 0x00 },
				       .optlen = 4 });
	pkt_ip_bytes(p, inner.buf, inner.len);
	pkt_finalize(p);
}

static void verifier_agrees_with_builder(void)
{
	struct csum_report rep;
	struct pkt p;

	build_all_layers(&p);
	ASSERT_OK(csum_verify_frame(p.buf, p.len, &rep), rep.err);
	if (tp_verbose)
		pkt_decode(stdout, "# ", p.buf, p.len);
	/* outer IPv4 header, ICMPv6, UDP quoted inside it */
	ASSERT_EQ(rep.checked, 2, "checksums verified (IPv4 hdr, ICMPv6)");

	dpt_tcp4(&p, "10.100.0.1", 40000, 80, TCP_F_SYN, 0);
	ASSERT_OK(csum_verify_frame(p.buf, p.len, &rep), rep.err);
	ASSERT_EQ(rep.checked, 2, "TCP/IPv4: IPv4 header + TCP");
	dpt_udp6(&p, "fd00:100::1", 40000, 53, 17);
	ASSERT_OK(csum_verify_frame(p.buf, p.len, &rep), rep.err);
	ASSERT_EQ(rep.checked, 1, "UDP/IPv6: UDP");
}

/*
 * Flip each bit of the frame that a checksum covers: the verifier must notice
 * every one. Bits of MACs, of the IPv6 flow label, of the UDP checksum-less
 * regions etc. are not covered; the count of detected flips shows the rest.
 */
static void verifier_detects_bit_flips(const char *what, struct pkt *p, size_t from, size_t to)
{
	struct csum_report rep;
	size_t i, missed = 0;
	int b;

	/* The unmodified frame must pass, or every flip would count as "noticed". */
	if (!ASSERT_OK(csum_verify_frame(p->buf, p->len, &rep), what))
		return;
	for (i = from; i < to; i++) {
		for (b = 0; b < 8; b++) {
			p->buf[i] ^= 1 << b;
			if (csum_verify_frame(p->buf, p->len, &rep) == 0)
				missed++;
			p->buf[i] ^= 1 << b;
		}
	}
	if (!ASSERT_EQ(missed, 0, what))
		tp_diag("%s: %zu of %zu bit flips went unnoticed", what, missed, (to - from) * 8);
}

static void bit_flips(void)
{
	struct pkt p;

	/* TCP/IPv4 with payload: IPv4 header (20) + TCP (40) + payload. */
	dpt_tcp4(&p, "10.100.0.1", 40000, 80, TCP_F_ACK, 13);
	/* Skip version/IHL and length bytes: flipping them makes a parse error (also caught). */
	verifier_detects_bit_flips("TCP/IPv4", &p, 14, p.len);
	/* TCP/IPv6: addresses are covered through the pseudo-header. */
	dpt_tcp6(&p, "fd00:100::1", 40000, 80, TCP_F_ACK, 7);
	verifier_detects_bit_flips("TCP/IPv6 addresses, TCP, payload", &p, 14 + 8, p.len);
	dpt_udp6(&p, "fd00:100::1", 40000, 53, 9);
	verifier_detects_bit_flips("UDP/IPv6", &p, 14 + 8, p.len);
}

static void udp6_zero_checksum(void)
{
	struct csum_report rep;
	struct pkt p;

	dpt_udp6(&p, "fd00:100::1", 40000, 53, 9);
	p.buf[14 + 40 + 6] = 0;
	p.buf[14 + 40 + 7] = 0;
	ASSERT_EQ(csum_verify_frame(p.buf, p.len, &rep), -EBADMSG, "IPv6 UDP checksum 0 refused");
}

static void flow_key_model(void)
{
	struct svc_flow_key k, q;
	struct pkt quoted, p;

	dpt_tcp4(&p, "10.100.0.1", 40000, 80, TCP_F_SYN, 0);
	ASSERT_OK(dpt_flow_key(p.buf, p.len, &k), "flow key of a SYN");
	ASSERT_EQ(k.src.b[10], 0xff, "v4-mapped src");
	ASSERT_EQ(k.src.b[15], 100, "src 10.0.0.100");
	ASSERT_EQ(k.dst.b[15], 1, "dst 10.100.0.1");
	ASSERT_EQ(ntohs(k.sport), 40000, "sport");
	ASSERT_EQ(ntohs(k.dport), 80, "dport");
	ASSERT_EQ(k.proto, 6, "proto");

	/* An ICMP error quoting the reply VIP:80 -> client:40000 maps to the same key. */
	pkt_init(&quoted);
	pkt_ip4(&quoted, &(struct ip4_spec){ .src = "10.100.0.1", .dst = DPT_CLIENT4 });
	pkt_tcp(&quoted, &(struct tcp_spec){ .sport = 80, .dport = 40000, .flags = TCP_F_ACK });
	pkt_finalize(&quoted);
	pkt_init(&p);
	dpt_eth(&p);
	pkt_ip4(&p, &(struct ip4_spec){ .src = "10.0.0.254", .dst = "10.100.0.1" });
	pkt_icmp4(&p, 3, 4, 1400);
	pkt_ip_bytes(&p, quoted.buf, 28);
	pkt_finalize(&p);
	ASSERT_OK(dpt_flow_key(p.buf, p.len, &q), "flow key of an ICMP error");
	ASSERT_MEMEQ(&q, sizeof(q), &k, sizeof(k), "ICMP error key == SYN key");
}

static void pcap_file(void)
{
	char dir[] = "/tmp/svc_tp_pcapXXXXXX", path[64];
	const void *frames[2];
	size_t lens[2];
	struct stat st;
	struct pkt p;

	if (!ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	dpt_tcp4(&p, "10.100.0.1", 40000, 80, TCP_F_SYN, 0);
	frames[0] = frames[1] = p.buf;
	lens[0] = p.len;
	lens[1] = 20;
	snprintf(path, sizeof(path), "%s/x.pcap", dir);
	if (ASSERT_OK(pcap_write(path, frames, lens, 2), "pcap_write") &&
	    ASSERT_OK(stat(path, &st), "stat pcap"))
		ASSERT_EQ(st.st_size, 24 + 16 + p.len + 16 + 20, "pcap size");
	unlink(path);
	rmdir(dir);
}

TEST(lib)
{
	if (tp_subtest("csum_rfc1071"))
		rfc1071_vector();
	if (tp_subtest("ip4_header_vector"))
		ip4_header_vector();
	if (tp_subtest("verifier_agrees_with_builder"))
		verifier_agrees_with_builder();
	if (tp_subtest("verifier_detects_bit_flips"))
		bit_flips();
	if (tp_subtest("udp6_zero_checksum"))
		udp6_zero_checksum();
	if (tp_subtest("flow_key_model"))
		flow_key_model();
	if (tp_subtest("pcap_file"))
		pcap_file();
}
