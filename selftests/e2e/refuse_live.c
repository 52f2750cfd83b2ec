// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * LD_PRELOAD shim for test_delay: a kernel that refuses BPF_PROG_TEST_RUN
 * with BPF_F_TEST_XDP_LIVE_FRAMES (Linux 6.18.44 did: EPERM for any program,
 * as root), on a kernel that allows it. libbpf issues bpf() through libc's
 * syscall(), which this wraps: a live test run fails with EPERM once
 * SVC_REFUSE_LIVE_AFTER of them (default 0) have gone through; everything else
 * reaches the kernel unchanged.
 *
 * Built by the test: gcc -shared -fPIC -o refuse_live.so refuse_live.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	static long allowed = -1, live_runs;
	long a[6];
	va_list ap;

	/* syscall(2) takes up to six arguments; reading them all is what libc does */
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if (allowed < 0)
		allowed =
			getenv("SVC_REFUSE_LIVE_AFTER") ? atol(getenv("SVC_REFUSE_LIVE_AFTER")) : 0;
	if (nr == __NR_bpf && a[0] == BPF_PROG_TEST_RUN) {
		const union bpf_attr *attr = (const union bpf_attr *)a[1];

		if ((attr->test.flags & BPF_F_TEST_XDP_LIVE_FRAMES) && live_runs++ >= allowed) {
			errno = EPERM;
			return -1;
		}
	}
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
