// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Endpoint entry points: decapsulation of router traffic on instance hosts. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lib/consts.h"
#include "lib/stats.h"
#include "lib/endpoint_maps.h"

SEC("xdp")
int svc_endpoint_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
