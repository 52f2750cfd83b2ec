// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TI-flow: sockops program (cgroup v2) negotiating the TI-flow option in the
 * handshake and writing resume SYNs; cgroup sockopt programs serving the
 * TI-flow socket options to applications.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lib/tiflow_hs.h"
#include "lib/tiflow_sockopt.h"

/* The option walk, a global function: the verifier checks it once, for any header. */
TIFLOW_FIND_OPT_DEFINE()

/* Dispatches the socket events the handshake needs; always returns 1 (never vetoes). */
SEC("sockops")
int svc_tiflow_sockops(struct bpf_sock_ops *skops)
{
	struct svc_tiflow_cfg *cfg = tiflow_get_cfg();
	__u8 synack = TIFLOW_TCP_FLAG_SYN | TIFLOW_TCP_FLAG_ACK;

	if (!cfg)
		return 1;
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		tiflow_on_connect(skops, cfg);
		break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		tiflow_on_listen(skops, cfg);
		break;
	case BPF_SOCK_OPS_HDR_OPT_LEN_CB:
		if ((skops->skb_tcp_flags & synack) == synack)
			tiflow_synack_len(skops, cfg);
		else
			tiflow_active_len(skops);
		break;
	case BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
		if ((skops->skb_tcp_flags & synack) == synack)
			tiflow_synack_write(skops, cfg);
		else
			tiflow_active_write(skops, cfg);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		tiflow_active_established(skops, cfg);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		tiflow_passive_established(skops, cfg);
		break;
	}
	return 1;
}

/* SVC_TIFLOW_SOL setsockopt (resume a flow); every other option passes untouched. */
SEC("cgroup/setsockopt")
int svc_tiflow_setsockopt(struct bpf_sockopt *ctx)
{
	return tiflow_setsockopt(ctx);
}

/* SVC_TIFLOW_SOL getsockopt (the socket's TI-flow state); every other option passes. */
SEC("cgroup/getsockopt")
int svc_tiflow_getsockopt(struct bpf_sockopt *ctx)
{
	return tiflow_getsockopt(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
