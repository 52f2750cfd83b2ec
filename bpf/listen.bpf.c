// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Register on bind, unregister on close: reports TCP sockets entering and
 * leaving LISTEN in one network namespace to the agent. A listener's close
 * is seen however it happens: close(), exit, or kill -9 (the kernel closes it).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include "../headers/svc_listen.h"

/* Network namespace (inode) to report; set by the agent to its own before load. */
const volatile __u32 netns_ino = 0;

/* Listening-socket events for the agent (struct svc_listen_event). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SVC_LISTEN_RING_BYTES);
} listen_events SEC(".maps");

/* Events lost because the ring buffer was full (the agent rescans /proc then). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} listen_lost SEC(".maps");

/* The local address of @sk (v4-mapped; 0.0.0.0 reported all-zero like ::, "any"). */
static __always_inline void svc_listen_addr(struct svc_addr *a, const struct sock *sk)
{
	if (sk->__sk_common.skc_family == 2 /* AF_INET */) {
		__be32 v4 = sk->__sk_common.skc_rcv_saddr;

		a->w[0] = 0;
		a->w[1] = 0;
		a->w[2] = v4 ? bpf_htonl(0xffff) : 0;
		a->w[3] = v4;
	} else {
		__builtin_memcpy(a->b, sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
	}
}

/*
 * BTF tracepoint: the socket is a typed pointer read directly (no
 * bpf_probe_read_kernel, which this kernel refuses to tracepoint programs).
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(svc_listen_tp, const struct sock *sk, int oldstate, int newstate)
{
	bool up = newstate == TCP_LISTEN;
	struct svc_listen_event *e;
	__u32 zero = 0, ino;
	__u64 *lost;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	if (!up && !(oldstate == TCP_LISTEN && newstate == TCP_CLOSE))
		return 0;
	ino = sk->__sk_common.skc_net.net->ns.inum;
	if (ino != netns_ino)
		return 0;
	e = bpf_ringbuf_reserve(&listen_events, sizeof(*e), 0);
	if (!e) {
		lost = bpf_map_lookup_elem(&listen_lost, &zero);
		if (lost)
			(*lost)++;
		return 0;
	}
	svc_listen_addr(&e->addr, sk);
	e->sock_id = (__u64)(long)sk;
	e->netns = ino;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->port = sk->__sk_common.skc_num;
	e->proto = IPPROTO_TCP;
	e->listening = up;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
