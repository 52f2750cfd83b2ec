// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * XDP_PASS on a test client's veth. A veth only receives frames that its peer
 * sends with XDP_TX or XDP_REDIRECT when an XDP program runs on it too (a real
 * NIC needs nothing): this lets the router's RSTs reach the client.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
