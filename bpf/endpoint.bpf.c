// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Endpoint: XDP entry point on instance hosts. Contract: docs/datapath.md. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lib/consts.h"
#include "lib/stats.h"
#include "lib/endpoint_maps.h"
#include "lib/parse.h"
#include "lib/decap.h"

static __always_inline int svc_endpoint(struct xdp_md *ctx, struct svc_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct svc_addr src;
	__u32 outer_len = 0;
	__u8 inner_proto = 0;
	int ret;

	if (svc_parse_l2(data, data_end, p) != SVC_CONTINUE)
		return svc_verdict(p, SVC_R_PASS_NOT_ENCAP, XDP_PASS);
	ret = svc_outer_hdr(data, data_end, p, &outer_len, &inner_proto, &src);
	if (ret != SVC_CONTINUE)
		return ret;
	if (!bpf_map_lookup_elem(&decap_sources, &src))
		return svc_verdict(p, SVC_R_DROP_DECAP_SOURCE, XDP_DROP);
	if (outer_len > 60 ||
	    !svc_inner_ok(data + p->l3_off + (outer_len & 0x3f), data_end, inner_proto))
		return svc_verdict(p, SVC_R_DROP_DECAP_BAD, XDP_DROP);
	return svc_decap(ctx, p, outer_len, inner_proto);
}

/* Decapsulates router traffic to this host's instances; passes everything else. */
SEC("xdp")
int svc_endpoint_xdp(struct xdp_md *ctx)
{
	struct svc_pkt p = {};
	int act;

	p.len = ctx->data_end - ctx->data;
	act = svc_endpoint(ctx, &p);
	svc_count(&endpoint_stats, p.reason, p.len);
	return act;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
