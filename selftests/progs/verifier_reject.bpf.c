// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A program every verifier refuses, after a long log: test_progs' verifier_log
 * loads it on purpose (SEC("?xdp"): not loaded unless asked) to check what the
 * user is shown when the kernel refuses a program.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__u32 sum;

SEC("?xdp")
int verifier_reject_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	__u32 s = ctx->rx_queue_index;
	int i;

	/* A few hundred instructions on the path, so the log is long. */
#pragma unroll
	for (i = 0; i < 100; i++) {
		s = s * 33 + (__u32)i;
		barrier_var(s);
	}
	sum = s;
	/* No check against data_end: "invalid access to packet". */
	return *(__u8 *)(data + 64);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
