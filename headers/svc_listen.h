/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Listening-socket events: how a process that listens on a service port becomes an instance. */
#ifndef SVC_LISTEN_H
#define SVC_LISTEN_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "svc_abi.h"

#define SVC_LISTEN_RING_BYTES (64 * 1024)
#define SVC_COMM_LEN 16

/* listen_events ring buffer record: a TCP socket entered or left LISTEN. */
struct svc_listen_event {
	struct svc_addr addr;	 /* local address (v4-mapped; all-zero = any address) */
	__u64 sock_id;		 /* kernel socket address: pairs a close with its listen */
	__u32 netns;		 /* network namespace inode of the socket */
	__u32 pid;		 /* process that changed the state (tgid) */
	__u16 port;		 /* local port, host order */
	__u8 proto;		 /* IPPROTO_TCP */
	__u8 listening;		 /* 1: now listening; 0: the listener closed */
	char comm[SVC_COMM_LEN]; /* that process's name */
};

#endif /* SVC_LISTEN_H */
