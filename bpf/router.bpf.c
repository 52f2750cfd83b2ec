// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Service router entry points. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lib/consts.h"
#include "lib/stats.h"
#include "lib/router_maps.h"

const volatile __u32 ch_seed = 0;

SEC("xdp")
int svc_router_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
