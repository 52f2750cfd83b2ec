/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Router-side reading of svcplane TCP options: the instance a resumed SYN's
 * completed TIFID names, or a data packet's flowID. Both let the router pick
 * the instance without flow state.
 */
#ifndef SVC_BPF_TCPOPT_H
#define SVC_BPF_TCPOPT_H

#include "parse.h"
#include "../../headers/svc_tiflow.h"

/* Option kind of the TI-flow option and ExID of the flowID option (agent settings). */
const volatile __u8 tiflow_kind = SVC_TIFLOW_KIND_DEFAULT;
const volatile __u16 flowid_exid = SVC_FLOWID_EXID_DEFAULT;

/* What svc_tcp_instance() found. */
enum svc_opt_route {
	SVC_OPT_NONE = 0,   /* no svcplane option naming an instance */
	SVC_OPT_RESUME = 1, /* a SYN with a completed TIFID */
	SVC_OPT_FLOWID = 2, /* a flowID option */
};

/* Reads 16 bits big-endian at @off of the masked header buffer. */
static __always_inline __u16 svc_hdr16(const __u8 *h, __u32 off)
{
	return ((__u16)h[off & (SVC_TCPHDR_BUF - 1)] << 8) | h[(off + 1) & (SVC_TCPHDR_BUF - 1)];
}

/*
 * svc_opt_instance - the instance named by the option of @kind/@len that
 * starts at @start, if it is a TI-flow resume (SYN only) or a flowID.
 */
static __always_inline int svc_opt_instance(const __u8 *h, __u32 start, __u8 kind, __u8 len,
					    bool syn, __u16 *instance, __u64 *id)
{
	__u32 resp, ini;

	if (syn && kind == tiflow_kind && len == SVC_TIFLOW_LEN) {
		/* tifid[3..5], the responder half, is at option offset 5..7. */
		resp = ((__u32)h[(start + 5) & (SVC_TCPHDR_BUF - 1)] << 16) |
		       ((__u32)svc_hdr16(h, start + 6));
		if (!resp)
			return SVC_OPT_NONE; /* a new flow: responder half still zero */
		ini = ((__u32)h[(start + 2) & (SVC_TCPHDR_BUF - 1)] << 16) |
		      ((__u32)svc_hdr16(h, start + 3));
		*instance = resp >> SVC_TIFID_INSTANCE_SHIFT;
		*id = svc_tifid_make(ini, resp);
		return SVC_OPT_RESUME;
	}
	if (kind == SVC_FLOWID_KIND && len == SVC_FLOWID_LEN &&
	    svc_hdr16(h, start + 2) == flowid_exid) {
		/* flowID at option offset 4..7; its high 16 bits are the instance. */
		*instance = svc_hdr16(h, start + 4);
		*id = ((__u32)*instance << 16) | svc_hdr16(h, start + 6);
		return SVC_OPT_FLOWID;
	}
	return SVC_OPT_NONE;
}

/* svc_tcp_instance(), which walks a packet's options for these, is in optedit.h. */

#endif /* SVC_BPF_TCPOPT_H */
