// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the DELAY re-injection helpers (agent/lib/reinject.c): which
 * interface a redirected frame leaves by, and (as root) a copy run of an XDP
 * program. The end-to-end behaviour is selftests/e2e/test_delay.sh.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include "reinject.h"
#include "xdp_pass.skel.h"

#define MAC(x)                        \
	{                             \
		0x02, 0, 0, 0, 0, (x) \
	}

static const struct svc_link links[] = {
	{ 1, { 0 }, true },	/* lo */
	{ 2, MAC(0xa), true },	/* eth0 */
	{ 3, MAC(0xa), true },	/* br0: took eth0's MAC */
	{ 4, MAC(0xb), true },	/* veth */
	{ 5, MAC(0xc), false }, /* down */
	{ 6, MAC(0xd), true },	/* vlan on a down parent? only its own flag counts */
};

static const struct {
	const char *what;
	__u8 smac[6];
	int route_oif;
	int want;
} pick_table[] = {
	{ "one link has the MAC", MAC(0xb), 0, 4 },
	{ "one link has the MAC, the route says another", MAC(0xb), 2, 4 },
	{ "a down link is never chosen", MAC(0xc), 0, -ENODEV },
	{ "nobody has the MAC", MAC(0xe), 0, -ENODEV },
	{ "two have it, no route", MAC(0xa), 0, -EADDRNOTAVAIL },
	{ "two have it, the route names the bridge", MAC(0xa), 3, 3 },
	{ "two have it, the route names the port", MAC(0xa), 2, 2 },
	{ "two have it, the route names neither", MAC(0xa), 4, -EADDRNOTAVAIL },
	{ "all-zero MAC: lo", { 0 }, 0, 1 },
};

START_TEST(test_pick)
{
	int got = svc_redirect_egress_pick(pick_table[_i].smac, links,
					   sizeof(links) / sizeof(links[0]),
					   pick_table[_i].route_oif);

	ck_assert_msg(got == pick_table[_i].want, "%s: got %d, want %d", pick_table[_i].what, got,
		      pick_table[_i].want);
}
END_TEST

START_TEST(test_pick_empty)
{
	const __u8 mac[6] = MAC(0xa);

	ck_assert_int_eq(svc_redirect_egress_pick(mac, NULL, 0, 0), -ENODEV);
}
END_TEST

/* This namespace's links: a MAC no interface has is -ENODEV, a runt frame -EMSGSIZE. */
START_TEST(test_egress_system)
{
	__u8 frame[64] = { 0 };

	memcpy(frame + 6, (const __u8[]){ 0x02, 0x5e, 0xff, 0xee, 0xdd, 0xcc }, 6);
	ck_assert_int_eq(svc_redirect_egress(frame, sizeof(frame)), -ENODEV);
	ck_assert_int_eq(svc_redirect_egress(frame, 13), -EMSGSIZE);
	ck_assert_int_eq(svc_frame_send(-1, 1, frame, 13), -EMSGSIZE);
}
END_TEST

static SRunner *runner; /* the namespace test needs a child of its own */

/* An Ethernet + IPv4 header frame from @src to @dst with source MAC @smac. */
static void ip4_frame(__u8 *f, const __u8 smac[6], const char *src, const char *dst)
{
	memset(f, 0, 14 + 20);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[14 + 9] = 4; /* IP-in-IP */
	ck_assert_int_eq(inet_pton(AF_INET, src, f + 14 + 12), 1);
	ck_assert_int_eq(inet_pton(AF_INET, dst, f + 14 + 16), 1);
}

/*
 * As root, in a network namespace of its own (this test's forked child): two
 * links share a MAC (a bridge and its port do); the kernel's route to the
 * outer destination decides, as bpf_fib_lookup() did for the program.
 */
START_TEST(test_egress_shared_mac)
{
	const __u8 mac[6] = { 0x02, 0x5e, 0, 0, 0, 0x42 };
	__u8 f[64];
	int a, b;

	if (geteuid() != 0 || srunner_fork_status(runner) == CK_NOFORK) {
		fprintf(stderr, "# test_egress_shared_mac: needs root and a forked child\n");
		return;
	}
	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	ck_assert_int_eq(
		system("ip link add svcra type veth peer name svcrb && "
		       "ip link add svcrc type veth peer name svcrd && "
		       "ip link set svcra address 02:5e:00:00:00:42 && "
		       "ip link set svcrc address 02:5e:00:00:00:42 && "
		       "ip link set svcra up && ip link set svcrb up && ip link set svcrc up && "
		       "ip link set svcrd up && ip addr add 198.18.7.1/24 dev svcra && "
		       "ip addr add 198.18.8.1/24 dev svcrc"),
		0);
	a = (int)if_nametoindex("svcra");
	b = (int)if_nametoindex("svcrc");
	ck_assert(a > 0 && b > 0);
	ip4_frame(f, mac, "198.18.7.1", "198.18.7.2");
	ck_assert_int_eq(svc_redirect_egress(f, sizeof(f)), a);
	ip4_frame(f, mac, "198.18.8.1", "198.18.8.2");
	ck_assert_int_eq(svc_redirect_egress(f, sizeof(f)), b);
	/* the route leaves by neither of them */
	ck_assert_int_eq(system("ip link set svcrb address 02:5e:00:00:00:43 && "
				"ip addr add 198.18.9.1/24 dev svcrb"),
			 0);
	ip4_frame(f, mac, "198.18.9.1", "198.18.9.2");
	ck_assert_int_eq(svc_redirect_egress(f, sizeof(f)), -EADDRNOTAVAIL);
	/* one link has the MAC: no route asked */
	ck_assert_int_eq(system("ip link set svcrc down"), 0);
	ck_assert_int_eq(svc_redirect_egress(f, sizeof(f)), a);
}
END_TEST

/* As root: a copy run returns the program's verdict and its output frame. */
START_TEST(test_copy_run)
{
	struct xdp_pass_bpf *skel;
	__u8 frame[80], out[256];
	__u32 len = 0, verdict = 99;
	int fd;

	if (geteuid() != 0) {
		fprintf(stderr, "# test_copy_run: not root, nothing run\n");
		return;
	}
	skel = xdp_pass_bpf__open_and_load();
	ck_assert_ptr_nonnull(skel);
	fd = bpf_program__fd(skel->progs.xdp_pass);
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (__u8)i;
	ck_assert_int_eq(svc_xdp_run_copy(fd, frame, sizeof(frame), if_nametoindex("lo"), 0, out,
					  sizeof(out), &len, &verdict),
			 0);
	ck_assert_uint_eq(verdict, XDP_PASS);
	ck_assert_uint_eq(len, sizeof(frame));
	ck_assert_int_eq(memcmp(out, frame, sizeof(frame)), 0);
	/* an output buffer too small is an error, not a truncated frame */
	ck_assert_int_eq(svc_xdp_run_copy(fd, frame, sizeof(frame), if_nametoindex("lo"), 0, out,
					  40, &len, &verdict),
			 -ENOSPC);
	/* an interface that does not exist */
	ck_assert_int_eq(svc_xdp_run_copy(fd, frame, sizeof(frame), 0x7ffffff0, 0, out, sizeof(out),
					  &len, &verdict),
			 -ENODEV);
	xdp_pass_bpf__destroy(skel);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reinject");
	TCase *tc = tcase_create("reinject");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_pick, 0, sizeof(pick_table) / sizeof(pick_table[0]));
	tcase_add_test(tc, test_pick_empty);
	tcase_add_test(tc, test_egress_system);
	tcase_add_test(tc, test_egress_shared_mac);
	tcase_add_test(tc, test_copy_run);
	/* ip(8) under a loaded machine or an emulated VM: a generous deadline */
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	sr = runner = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
