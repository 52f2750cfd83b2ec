// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of libsvctiflow's recognition of a resumed SYN (tiflow/tiflow_sock.c). */
/*
 * The SYNs are built here octet by octet (IPv4, IPv6 with and without
 * extension headers), with the TI-flow option written by hand, not by the
 * header's pack function the library's unpack mirrors.
 */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "tiflow_sock.h"

struct pkt {
	unsigned char b[256];
	size_t len;
};

static void put48(unsigned char *p, unsigned long long v)
{
	for (int i = 0; i < 6; i++)
		p[i] = (unsigned char)(v >> (40 - 8 * i));
}

/* tiflow_opt - kind, 20, TIFID, TISeq, TIAck. */
static size_t tiflow_opt(unsigned char *p, unsigned char kind, unsigned long long tifid,
			 unsigned long long tiseq, unsigned long long tiack)
{
	p[0] = kind;
	p[1] = 20;
	put48(p + 2, tifid);
	put48(p + 8, tiseq);
	put48(p + 14, tiack);
	return 20;
}

/*
 * build - IP header(s) (@v6, @ext6: IPv6 extension headers of 8 octets before
 * TCP) then a TCP header with @flags and the options @opt (padded with NOP).
 */
static void build(struct pkt *k, int v6, int ext6, unsigned char flags, const unsigned char *opt,
		  size_t optlen)
{
	size_t ip, olen = (optlen + 3) & ~3UL;
	unsigned char *t;

	memset(k, 0, sizeof(*k));
	if (v6) {
		k->b[0] = 0x60;
		k->b[6] = ext6 ? 0 : 6; /* hop-by-hop, or TCP */
		ip = 40;
		for (int i = 0; i < ext6; i++) {
			k->b[ip] = i + 1 < ext6 ? 60 : 6; /* destination options, then TCP */
			k->b[ip + 1] = 0;		  /* 8 octets */
			ip += 8;
		}
	} else {
		k->b[0] = 0x45;
		k->b[9] = 6;
		ip = 20;
	}
	t = k->b + ip;
	t[12] = (unsigned char)(((20 + olen) / 4) << 4);
	t[13] = flags;
	memset(t + 20, 1, olen); /* NOP padding */
	memcpy(t + 20, opt, optlen);
	k->len = ip + 20 + olen;
}

/* A resume SYN: MSS, then the option with a completed TIFID, IPv4 and IPv6 (with ext. headers). */
START_TEST(test_resume_found)
{
	unsigned char opt[40] = { 2, 4, 0x05, 0xb4 };
	struct svc_tiflow_vals v;
	struct pkt k;
	size_t n = 4 + tiflow_opt(opt + 4, 253, 0xabcdef123456ULL, 0xfffffffffff0ULL, 0x10);

	for (int v6 = 0; v6 < 2; v6++) {
		for (int ext = 0; ext <= (v6 ? 2 : 0); ext++) {
			build(&k, v6, ext, 0x02, opt, n);
			memset(&v, 0, sizeof(v));
			ck_assert_int_eq(tiflow_syn_resume(k.b, k.len, 0, &v), 1);
			ck_assert_uint_eq(v.tifid, 0xabcdef123456ULL);
			ck_assert_uint_eq(v.tiseq, 0xfffffffffff0ULL);
			ck_assert_uint_eq(v.tiack, 0x10);
		}
	}
}
END_TEST

/* New connections: no option, an offer (responder half 0), another kind, another length. */
START_TEST(test_new_connection)
{
	unsigned char opt[40] = { 2, 4, 0x05, 0xb4 };
	struct svc_tiflow_vals v;
	struct pkt k;
	size_t n;

	build(&k, 0, 0, 0x02, opt, 4);
	ck_assert_int_eq(tiflow_syn_resume(k.b, k.len, 0, &v), 0);
	n = 4 + tiflow_opt(opt + 4, 253, 0xabcdef000000ULL, 5, 0);
	build(&k, 1, 0, 0x02, opt, n);
	ck_assert_int_eq(tiflow_syn_resume(k.b, k.len, 0, &v), 0);
	n = 4 + tiflow_opt(opt + 4, 253, 0xabcdef123456ULL, 5, 6);
	build(&k, 0, 0, 0x02, opt, n);
	ck_assert_int_eq(tiflow_syn_resume(k.b, k.len, 200, &v), 0); /* another kind configured */
	ck_assert_int_eq(tiflow_syn_resume(k.b, k.len, 253, &v), 1);
	opt[5] = 12; /* the kind, but 12 octets long */
	build(&k, 0, 0, 0x02, opt, 4 + 12);
	ck_assert_int_eq(tiflow_syn_resume(k.b, k.len, 0, &v), 0);
}
END_TEST

/* Not a whole SYN header, or malformed options: EINVAL, nothing read past the buffer. */
START_TEST(test_malformed)
{
	unsigned char opt[40] = { 2, 4, 0x05, 0xb4 };
	struct svc_tiflow_vals v;
	struct pkt k;
	size_t n = 4 + tiflow_opt(opt + 4, 253, 0xabcdef123456ULL, 5, 6);

	build(&k, 0, 0, 0x02, opt, n);
	for (size_t cut = 0; cut < k.len; cut++) {
		errno = 0;
		ck_assert_int_eq(tiflow_syn_resume(k.b, cut, 0, &v), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	build(&k, 0, 0, 0x10 /* ACK, no SYN */, opt, n);
	ck_assert_int_eq(tiflow_syn_resume(k.b, k.len, 0, &v), -1);
	build(&k, 0, 0, 0x02, opt, n);
	k.b[9] = 17; /* UDP */
	ck_assert_int_eq(tiflow_syn_resume(k.b, k.len, 0, &v), -1);
	build(&k, 0, 0, 0x02, opt, n);
	k.b[0] = 0x44; /* IHL 4 */
	ck_assert_int_eq(tiflow_syn_resume(k.b, k.len, 0, &v), -1);
	opt[1] = 1; /* MSS length 1: the walk cannot go on */
	build(&k, 1, 1, 0x02, opt, n);
	ck_assert_int_eq(tiflow_syn_resume(k.b, k.len, 0, &v), -1);
	opt[1] = 4;
	opt[5] = 30; /* the option runs past the header */
	build(&k, 1, 0, 0x02, opt, n);
	ck_assert_int_eq(tiflow_syn_resume(k.b, k.len, 0, &v), -1);
	k.b[0] = 0x50; /* version 5 */
	ck_assert_int_eq(tiflow_syn_resume(k.b, k.len, 0, &v), -1);
}
END_TEST

/* Outside a TI-flow cgroup (this test's process) the socket options are the kernel's refusal. */
START_TEST(test_not_enabled_here)
{
	struct svc_tiflow_sk st;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	errno = 0;
	ck_assert_int_eq(tiflow_sock_state(fd, &st), -1);
	ck_assert_int_eq(errno, EOPNOTSUPP);
	errno = 0;
	ck_assert_int_eq(tiflow_sock_resume(fd, 0x123456789abcULL, 1, 2), -1);
	ck_assert_int_eq(errno, ENOPROTOOPT);
	ck_assert_int_eq(tiflow_listen_save_syn(fd), 0);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tiflow_sock");
	TCase *tc = tcase_create("syn");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_resume_found);
	tcase_add_test(tc, test_new_connection);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_not_enabled_here);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
