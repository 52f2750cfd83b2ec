// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the svcplane option decoder (agent/lib/optdecode.c): option walk edge cases, pcap.
 */
#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "optdecode.h"

/* The paper's Trace 2 values. */
#define T2_TIFID_SYN 0x0a4530000000ULL
#define T2_TIFID 0x0a4530be79bfULL
#define T2_TISEQ_A 0x1dULL
#define T2_TISEQ_B 0x1fULL

static const struct svc_optdec_cfg dflt = { 0 };

/* tcp_hdr - a TCP header with @opts (@n octets, a multiple of 4) after the fixed 20. */
static size_t tcp_hdr(__u8 *buf, const __u8 *opts, size_t n)
{
	ck_assert_uint_eq(n % 4, 0);
	memset(buf, 0, 20);
	buf[0] = 0x2c; /* sport 11305 */
	buf[1] = 0x29;
	buf[3] = 22;  /* dport ssh */
	buf[7] = 110; /* seq */
	buf[12] = (__u8)(((20 + n) / 4) << 4);
	buf[13] = 0x02; /* SYN */
	buf[14] = 0xff;
	buf[15] = 0xff;
	memcpy(buf + 20, opts, n);
	return 20 + n;
}

/* tiflow_opt - the 20-octet option for the given values. */
static void tiflow_opt(__u8 *p, __u8 kind, __u64 tifid, __u64 tiseq, __u64 tiack)
{
	struct svc_tiflow_vals v = { tifid, tiseq, tiack };

	svc_tiflow_pack((struct svc_tiflow_opt *)p, kind, &v);
}

static void decode(const __u8 *opts, size_t n, struct svc_tcp_opts *o, char *text, size_t tlen)
{
	__u8 hdr[64];
	size_t len = tcp_hdr(hdr, opts, n);

	ck_assert_int_eq(svc_optdecode_tcp(hdr, len, &dflt, o), 0);
	svc_optdecode_format_opts(hdr, o, text, tlen);
}

/* The Linux SYN layout with the option last: exactly the 40 octets a header allows. */
START_TEST(test_option_last)
{
	__u8 opts[40] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 109, 0, 0, 0, 0, 1, 3, 3, 3 };
	struct svc_tcp_opts o;
	char text[512];

	tiflow_opt(opts + 20, 253, T2_TIFID_SYN, T2_TISEQ_A, 0);
	decode(opts, sizeof(opts), &o, text, sizeof(text));
	ck_assert_uint_eq(o.n, 6);
	ck_assert(!o.malformed);
	ck_assert_int_eq(o.tiflow, 5);
	ck_assert_uint_eq(o.opt[5].off, 40);
	ck_assert(o.tiflow_ok);
	ck_assert_uint_eq(o.tiflow_vals.tifid, T2_TIFID_SYN);
	ck_assert_uint_eq(o.tiflow_vals.tiseq, T2_TISEQ_A);
	ck_assert_uint_eq(o.tiflow_vals.tiack, 0);
	ck_assert_str_eq(text, "mss 1460,sackOK,TS val 109 ecr 0,nop,wscale 3,"
			       "flow-d tifid 0a4530000000 tiseq 00000000001d tiack 000000000000");
}
END_TEST

START_TEST(test_option_first)
{
	__u8 opts[32] = { 0 };
	struct svc_tcp_opts o;
	char text[512];

	tiflow_opt(opts, 253, T2_TIFID, T2_TISEQ_B, T2_TISEQ_A);
	memcpy(opts + 20, (__u8[]){ 1, 1, 8, 10, 0, 0, 0, 138, 0, 0, 0, 109 }, 12);
	decode(opts, sizeof(opts), &o, text, sizeof(text));
	ck_assert_int_eq(o.tiflow, 0);
	ck_assert_uint_eq(o.opt[0].off, 20);
	ck_assert(o.tiflow_ok);
	ck_assert_uint_eq(o.tiflow_vals.tifid, T2_TIFID);
	ck_assert_uint_eq(svc_tifid_initiator(o.tiflow_vals.tifid), 0x0a4530);
	ck_assert_uint_eq(svc_tifid_responder(o.tiflow_vals.tifid), 0xbe79bf);
	ck_assert_str_eq(text, "flow-d tifid 0a4530be79bf tiseq 00000000001f tiack 00000000001d,"
			       "nop,nop,TS val 138 ecr 109");
}
END_TEST

START_TEST(test_option_middle)
{
	__u8 opts[36] = { 1, 1, 8, 10, 0, 0, 0, 110, 0, 0, 0, 138 };
	struct svc_tcp_opts o;
	char text[512];

	tiflow_opt(opts + 12, 253, T2_TIFID, T2_TISEQ_A, T2_TISEQ_B);
	memcpy(opts + 32, (__u8[]){ 2, 4, 0x05, 0xb4 }, 4);
	decode(opts, sizeof(opts), &o, text, sizeof(text));
	ck_assert_uint_eq(o.n, 5);
	ck_assert_int_eq(o.tiflow, 3);
	ck_assert_uint_eq(o.opt[3].off, 32);
	ck_assert_uint_eq(o.opt[4].kind, 2);
	ck_assert_uint_eq(o.tiflow_vals.tiack, T2_TISEQ_B);
	ck_assert_str_eq(text, "nop,nop,TS val 110 ecr 138,flow-d tifid 0a4530be79bf tiseq "
			       "00000000001d tiack 00000000001f,mss 1460");
}
END_TEST

/* NOP padding before the option puts it at an odd offset. */
START_TEST(test_nop_padding_odd_offset)
{
	__u8 opts[24] = { 1 };
	struct svc_tcp_opts o;
	char text[512];

	tiflow_opt(opts + 1, 253, T2_TIFID, 1, 2);
	opts[21] = opts[22] = opts[23] = 1;
	decode(opts, sizeof(opts), &o, text, sizeof(text));
	ck_assert_uint_eq(o.n, 5);
	ck_assert_int_eq(o.tiflow, 1);
	ck_assert_uint_eq(o.opt[1].off, 21);
	ck_assert(o.tiflow_ok);
	ck_assert_uint_eq(o.tiflow_vals.tifid, T2_TIFID);
	ck_assert(!o.malformed && !o.eol);
}
END_TEST

/* EOL ends the list: a well-formed option after it is padding, not an option. */
START_TEST(test_eol)
{
	__u8 opts[28] = { 2, 4, 0x05, 0xb4, 0 };
	struct svc_tcp_opts o;
	char text[512];

	tiflow_opt(opts + 8, 253, T2_TIFID, 1, 2);
	decode(opts, sizeof(opts), &o, text, sizeof(text));
	ck_assert_uint_eq(o.n, 2);
	ck_assert(o.eol);
	ck_assert(!o.malformed);
	ck_assert_int_eq(o.tiflow, -1);
	ck_assert_str_eq(text, "mss 1460,eol");
}
END_TEST

/* Malformed lists: the walk stops where tcp_parse_options() would. */
struct bad_case {
	const char *name;
	__u8 opts[40];
	size_t n;
	__u8 bad_off;
	unsigned int n_before; /* options decoded before the bad one */
};

static const struct bad_case bad_cases[] = {
	{ "length 0", { 253, 0, 1, 1 }, 4, 20, 0 },
	{ "length 1", { 2, 4, 0x05, 0xb4, 30, 1, 1, 1 }, 8, 24, 1 },
	{ "overflowing the header", { 1, 1, 253, 20, 0xa, 0x45, 0x30, 0, 0, 0, 0, 0 }, 12, 22, 2 },
	{ "length octet missing", { 1, 1, 1, 8 }, 4, 23, 3 },
	{ "length one past the end", { 1, 1, 8, 11, 0, 0, 0, 0, 0, 0, 0, 0 }, 12, 22, 2 },
};

START_TEST(test_malformed)
{
	const struct bad_case *c = &bad_cases[_i];
	struct svc_tcp_opts o;
	char text[512], want[32];

	decode(c->opts, c->n, &o, text, sizeof(text));
	ck_assert_msg(o.malformed, "%s: not flagged malformed", c->name);
	ck_assert_msg(o.bad_off == c->bad_off, "%s: bad_off %u, want %u", c->name, o.bad_off,
		      c->bad_off);
	ck_assert_msg(o.n == c->n_before, "%s: %u options before, want %u", c->name, o.n,
		      c->n_before);
	ck_assert_int_eq(o.tiflow, -1);
	snprintf(want, sizeof(want), "bad-opt@%u", c->bad_off);
	ck_assert_msg(strstr(text, want), "%s: text \"%s\" lacks %s", c->name, text, want);
}
END_TEST

/* Exactly fitting length (option ends at the header's last octet) is not malformed. */
START_TEST(test_length_exact_end)
{
	__u8 opts[12] = { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 };
	struct svc_tcp_opts o;
	char text[512];

	decode(opts, sizeof(opts), &o, text, sizeof(text));
	ck_assert(!o.malformed);
	ck_assert_uint_eq(o.n, 3);
	ck_assert_str_eq(text, "nop,nop,TS val 1 ecr 2");
}
END_TEST

/* Our kind with a length other than 20: found, reported, values not used. */
START_TEST(test_tiflow_bad_len)
{
	__u8 opts[8] = { 253, 8, 0xa, 0x45, 0x30, 0xbe, 0x79, 0xbf };
	struct svc_tcp_opts o;
	char text[512];

	decode(opts, sizeof(opts), &o, text, sizeof(text));
	ck_assert_int_eq(o.tiflow, 0);
	ck_assert(!o.tiflow_ok);
	ck_assert_str_eq(text, "flow-d bad-len 8");
}
END_TEST

/* Two TI-flow options: the first is the one that counts. */
START_TEST(test_tiflow_twice)
{
	__u8 opts[40];
	struct svc_tcp_opts o;
	char text[512];

	tiflow_opt(opts, 253, 0x111111222222ULL, 3, 4);
	tiflow_opt(opts + 20, 253, 0x333333444444ULL, 5, 6);
	decode(opts, sizeof(opts), &o, text, sizeof(text));
	ck_assert_int_eq(o.tiflow, 0);
	ck_assert_uint_eq(o.tiflow_vals.tifid, 0x111111222222ULL);
	ck_assert_uint_eq(o.n, 2);
}
END_TEST

/* Another kind when configured; 253 is then an unknown option. */
START_TEST(test_configured_kind)
{
	struct svc_optdec_cfg cfg = { .tiflow_kind = 200 };
	__u8 opts[40], hdr[64];
	struct svc_tcp_opts o;
	size_t len;

	tiflow_opt(opts, 253, T2_TIFID, 1, 2);
	tiflow_opt(opts + 20, 200, T2_TIFID, 7, 8);
	len = tcp_hdr(hdr, opts, sizeof(opts));
	ck_assert_int_eq(svc_optdecode_tcp(hdr, len, &cfg, &o), 0);
	ck_assert_int_eq(o.tiflow, 1);
	ck_assert_uint_eq(o.tiflow_vals.tiseq, 7);
}
END_TEST

/* flowID: kind 254, our ExID; another ExID is somebody else's experiment. */
START_TEST(test_flowid)
{
	__u8 opts[16] = {
		254, 8, 0x53, 0x56, 0x12, 0x34, 0xab, 0xcd, 254, 8, 0x12, 0x34, 0, 0, 0, 1
	};
	struct svc_tcp_opts o;
	char text[512];

	decode(opts, sizeof(opts), &o, text, sizeof(text));
	ck_assert_int_eq(o.flowid, 0);
	ck_assert(o.flowid_ok);
	ck_assert_uint_eq(o.flowid_val, 0x1234abcd);
	ck_assert_uint_eq(svc_flowid_instance(o.flowid_val), 0x1234);
	ck_assert_str_eq(text, "svc-flowid 0x1234abcd instance 4660,unknown-254 len 8");
}
END_TEST

START_TEST(test_no_options_and_all_nops)
{
	__u8 nops[40] = { 0 };
	struct svc_tcp_opts o;
	char text[512];

	decode(nops, 0, &o, text, sizeof(text));
	ck_assert_uint_eq(o.n, 0);
	ck_assert_str_eq(text, "");
	memset(nops, 1, sizeof(nops));
	decode(nops, sizeof(nops), &o, text, sizeof(text));
	ck_assert_uint_eq(o.n, 40);
	ck_assert(!o.malformed);
}
END_TEST

/* Headers the decoder refuses: shorter than 20, data offset < 5, data offset past the data. */
START_TEST(test_bad_headers)
{
	__u8 hdr[64] = { 0 };
	struct svc_tcp_opts o;

	hdr[12] = 5 << 4;
	ck_assert_int_eq(svc_optdecode_tcp(hdr, 19, &dflt, &o), -EINVAL);
	hdr[12] = 4 << 4;
	ck_assert_int_eq(svc_optdecode_tcp(hdr, 20, &dflt, &o), -EINVAL);
	hdr[12] = 6 << 4;
	ck_assert_int_eq(svc_optdecode_tcp(hdr, 23, &dflt, &o), -EINVAL);
	ck_assert_int_eq(svc_optdecode_tcp(hdr, 24, &dflt, &o), 0);
}
END_TEST

/* ---- frames and pcap files ---- */

static __u16 csum16(const __u8 *p, size_t n, __u32 sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (__u32)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (__u32)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * eth_ip4_tcp - Ethernet + IPv4 + the TCP header @tcp (+ @payload octets of 'x'),
 * checksums computed here independently of the decoder.
 */
static size_t eth_ip4_tcp(__u8 *f, const __u8 *tcp, size_t tlen, size_t payload)
{
	__u8 *ip = f + 14, *t = f + 34, ph[12];
	size_t seg = tlen + payload;
	__u16 c;

	memset(f, 0, 34);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (__u8)((20 + seg) >> 8);
	ip[3] = (__u8)(20 + seg);
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, (__u8[]){ 192, 168, 1, 2, 192, 168, 2, 4 }, 8);
	c = csum16(ip, 20, 0);
	ip[10] = c >> 8;
	ip[11] = (__u8)c;
	memcpy(t, tcp, tlen);
	memset(t + tlen, 'x', payload);
	t[16] = t[17] = 0;
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 6;
	ph[10] = (__u8)(seg >> 8);
	ph[11] = (__u8)seg;
	c = csum16(t, seg, ~csum16(ph, 12, 0) & 0xffff);
	t[16] = c >> 8;
	t[17] = (__u8)c;
	return 34 + seg;
}

struct collect {
	int n;
	struct svc_tcp_pkt pkt[4];
	char text[4][1024];
	char json[4][2048];
};

static int collect_fn(const struct svc_tcp_pkt *p, void *arg)
{
	struct collect *c = arg;
	struct json_object *j;

	ck_assert_int_lt(c->n, 4);
	c->pkt[c->n] = *p;
	svc_optdecode_format_pkt(p, c->text[c->n], sizeof(c->text[0]));
	j = svc_optdecode_json(p);
	ck_assert_ptr_nonnull(j);
	snprintf(c->json[c->n], sizeof(c->json[0]), "%s",
		 json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
	c->n++;
	return 0;
}

static void pcap_write(FILE *f, const __u8 *frame, size_t len)
{
	__u32 rec[4] = { 1000, 500000, (__u32)len, (__u32)len };

	ck_assert_uint_eq(fwrite(rec, sizeof(rec), 1, f), 1);
	ck_assert_uint_eq(fwrite(frame, len, 1, f), 1);
}

/* A pcap with the paper's SYN-ACK, a corrupted copy, and a non-TCP frame. */
START_TEST(test_pcap_trace2)
{
	__u32 gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	char path[] = "/tmp/test_optdecode.XXXXXX";
	__u8 opts[40] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 3, 4, 2, 1, 1 };
	__u8 tcp[64], frame[256], arp[60] = { [12] = 0x08, [13] = 0x06 };
	struct collect c = { 0 };
	struct json_object *j, *tf, *v;
	size_t tlen, flen;
	FILE *f;
	int fd;

	tiflow_opt(opts + 12, 253, T2_TIFID, T2_TISEQ_B, T2_TISEQ_A);
	memcpy(opts + 32, (__u8[]){ 1, 1, 1, 1, 1, 1, 1, 0 }, 8);
	tlen = tcp_hdr(tcp, opts, sizeof(opts));
	tcp[13] = 0x12; /* SYN|ACK */
	tcp[11] = 111;	/* ack */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(gh, sizeof(gh), 1, f), 1);
	flen = eth_ip4_tcp(frame, tcp, tlen, 5);
	pcap_write(f, frame, flen);
	pcap_write(f, arp, sizeof(arp));
	frame[flen - 1] ^= 0x40; /* one payload bit */
	pcap_write(f, frame, flen);
	ck_assert_int_eq(fclose(f), 0);

	ck_assert_int_eq(svc_optdecode_pcap(path, &dflt, collect_fn, &c), 0);
	unlink(path);
	ck_assert_int_eq(c.n, 2);
	ck_assert_int_eq(c.pkt[0].csum, SVC_CSUM_OK);
	ck_assert_int_eq(c.pkt[1].csum, SVC_CSUM_BAD);
	ck_assert_uint_eq(c.pkt[0].payload_len, 5);
	ck_assert_str_eq(c.text[0],
			 "IP 192.168.1.2.11305 > 192.168.2.4.22: Flags [S.], seq 110, ack 111, "
			 "win 65535, options [mss 1460,nop,wscale 3,sackOK,nop,nop,flow-d tifid "
			 "0a4530be79bf tiseq 00000000001f tiack 00000000001d,nop,nop,nop,nop,nop,"
			 "nop,nop,eol], length 5");

	j = json_tokener_parse(c.json[0]);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_object_object_get_ex(j, "tiflow", &tf));
	ck_assert(json_object_object_get_ex(tf, "tifid", &v));
	ck_assert_str_eq(json_object_get_string(v), "0a4530be79bf");
	ck_assert(json_object_object_get_ex(tf, "responder", &v));
	ck_assert_str_eq(json_object_get_string(v), "be79bf");
	ck_assert(json_object_object_get_ex(tf, "instance", &v));
	ck_assert_int_eq(json_object_get_int(v), 0xbe79);
	ck_assert(json_object_object_get_ex(j, "csum", &v));
	ck_assert_str_eq(json_object_get_string(v), "ok");
	ck_assert(json_object_object_get_ex(j, "flags", &v));
	ck_assert_str_eq(json_object_get_string(v), "S.");
	json_object_put(j);
}
END_TEST

/* A pcap written on the other byte order, nanosecond stamps, LINUX_SLL2 (tcpdump -i any). */
START_TEST(test_pcap_swapped_sll2)
{
	__u32 gh[6] = { __builtin_bswap32(0xa1b23c4d), __builtin_bswap32(0x00040002), 0, 0,
			__builtin_bswap32(65535),      __builtin_bswap32(276) };
	char path[] = "/tmp/test_optdecode.XXXXXX";
	__u8 opts[20], tcp[64], eth[256], frame[256];
	struct collect c = { 0 };
	size_t tlen, flen;
	__u32 rec[4];
	FILE *f;
	int fd;

	tiflow_opt(opts, 253, T2_TIFID_SYN, T2_TISEQ_A, 0);
	tlen = tcp_hdr(tcp, opts, sizeof(opts));
	flen = eth_ip4_tcp(eth, tcp, tlen, 0);
	/* SLL2: protocol, reserved, ifindex, hatype, pkttype, addr len, addr[8]; then IP. */
	memset(frame, 0, 20);
	frame[0] = 0x08;
	memcpy(frame + 20, eth + 14, flen - 14);
	flen = flen - 14 + 20;
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(gh, sizeof(gh), 1, f), 1);
	rec[0] = __builtin_bswap32(7);
	rec[1] = __builtin_bswap32(500000000);
	rec[2] = rec[3] = __builtin_bswap32((__u32)flen);
	ck_assert_uint_eq(fwrite(rec, sizeof(rec), 1, f), 1);
	ck_assert_uint_eq(fwrite(frame, flen, 1, f), 1);
	ck_assert_int_eq(fclose(f), 0);

	ck_assert_int_eq(svc_optdecode_pcap(path, &dflt, collect_fn, &c), 0);
	unlink(path);
	ck_assert_int_eq(c.n, 1);
	ck_assert(c.pkt[0].ts > 7.49 && c.pkt[0].ts < 7.51);
	ck_assert_int_eq(c.pkt[0].csum, SVC_CSUM_OK);
	ck_assert(c.pkt[0].opts.tiflow_ok);
	ck_assert_uint_eq(c.pkt[0].opts.tiflow_vals.tifid, T2_TIFID_SYN);
}
END_TEST

/* A record that claims more octets than the file holds is an error, not a silent end. */
START_TEST(test_pcap_truncated)
{
	__u32 gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	__u32 rec[4] = { 1, 0, 100, 100 };
	char path[] = "/tmp/test_optdecode.XXXXXX";
	struct collect c = { 0 };
	int fd, saved, null, err;
	FILE *f;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(gh, sizeof(gh), 1, f), 1);
	ck_assert_uint_eq(fwrite(rec, sizeof(rec), 1, f), 1);
	ck_assert_uint_eq(fwrite("short", 5, 1, f), 1);
	ck_assert_int_eq(fclose(f), 0);
	/* The expected error message would interleave with the TAP lines on stdout. */
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	null = open("/dev/null", O_WRONLY);
	ck_assert(saved >= 0 && null >= 0 && dup2(null, STDERR_FILENO) >= 0);
	err = svc_optdecode_pcap(path, &dflt, collect_fn, &c);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(null);
	ck_assert_int_eq(err, -EINVAL);
	unlink(path);
	ck_assert_int_eq(c.n, 0);
}
END_TEST

/* IPv6 with a destination-options header before TCP; RAW link type. */
START_TEST(test_frame_ipv6_ext)
{
	__u8 opts[20], tcp[64], f[256] = { 0 };
	struct svc_tcp_pkt p;
	size_t tlen;

	tiflow_opt(opts, 253, T2_TIFID, 9, 10);
	tlen = tcp_hdr(tcp, opts, sizeof(opts));
	f[0] = 0x60;
	f[4] = 0;
	f[5] = (__u8)(8 + tlen);
	f[6] = 60; /* destination options */
	f[7] = 64;
	f[8] = 0x20;
	f[23] = 1;
	f[24] = 0x20;
	f[39] = 2;
	f[40] = 6; /* next: TCP */
	f[41] = 0; /* 8 octets */
	memcpy(f + 48, tcp, tlen);
	ck_assert_int_eq(svc_optdecode_frame(SVC_LINKTYPE_RAW, f, 48 + tlen, 48 + tlen, &dflt, &p),
			 0);
	ck_assert_int_eq(p.family, AF_INET6);
	ck_assert_uint_eq(p.sport, 11305);
	ck_assert(p.opts.tiflow_ok);
	ck_assert_uint_eq(p.opts.tiflow_vals.tiack, 10);
	/* No checksum was computed for this frame: the decoder must say so. */
	ck_assert_int_eq(p.csum, SVC_CSUM_BAD);
	/* Truncated capture: not verifiable. */
	ck_assert_int_eq(
		svc_optdecode_frame(SVC_LINKTYPE_RAW, f, 48 + tlen, 48 + tlen + 10, &dflt, &p), 0);
	ck_assert_int_eq(p.csum, SVC_CSUM_UNCHECKED);
}
END_TEST

static Suite *optdecode_suite(void)
{
	Suite *s = suite_create("optdecode");
	TCase *tc = tcase_create("options");
	TCase *tf = tcase_create("frames");

	tcase_add_test(tc, test_option_last);
	tcase_add_test(tc, test_option_first);
	tcase_add_test(tc, test_option_middle);
	tcase_add_test(tc, test_nop_padding_odd_offset);
	tcase_add_test(tc, test_eol);
	tcase_add_loop_test(tc, test_malformed, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_length_exact_end);
	tcase_add_test(tc, test_tiflow_bad_len);
	tcase_add_test(tc, test_tiflow_twice);
	tcase_add_test(tc, test_configured_kind);
	tcase_add_test(tc, test_flowid);
	tcase_add_test(tc, test_no_options_and_all_nops);
	tcase_add_test(tc, test_bad_headers);
	suite_add_tcase(s, tc);
	tcase_add_test(tf, test_pcap_trace2);
	tcase_add_test(tf, test_pcap_swapped_sll2);
	tcase_add_test(tf, test_pcap_truncated);
	tcase_add_test(tf, test_frame_ipv6_ext);
	suite_add_tcase(s, tf);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(optdecode_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
