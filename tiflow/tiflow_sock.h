/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libsvctiflow: an application's side of TI-flow (docs/tiflow.md): read a
 * socket's TI-flow state, ask a new connection to resume a flow, and, on the
 * accepting side, tell a resumed connection from a new one by its SYN.
 *
 * Needs no privilege: the state and the resume request go through the
 * TI-flow socket options (SVC_TIFLOW_SOL, served where TI-flow is enabled for
 * the process's cgroup), the SYN through TCP_SAVE_SYN / TCP_SAVED_SYN. Every
 * call returns -1 with errno set on failure, like a system call.
 */
#ifndef TIFLOW_SOCK_H
#define TIFLOW_SOCK_H

#include <stddef.h>
#include "svc_tiflow.h"

/*
 * tiflow_sock_state - the TI-flow state of TCP socket @fd into @st (state
 * SVC_TIFLOW_S_NONE, all zero, when it never took part). EOPNOTSUPP: TI-flow
 * is not enabled for this process's cgroup.
 */
int tiflow_sock_state(int fd, struct svc_tiflow_sk *st);

/*
 * tiflow_sock_resume - before connect(): the connection resumes flow @tifid,
 * its SYN carrying @tiseq (next byte we send) and @tiack (next byte we
 * expect), 48 bits each. Errors as SVC_TIFLOW_SO_RESUME (headers/svc_tiflow.h);
 * ENOPROTOOPT: TI-flow is not enabled for this process's cgroup.
 */
int tiflow_sock_resume(int fd, __u64 tifid, __u64 tiseq, __u64 tiack);

/* tiflow_listen_save_syn - keep each accepted connection's SYN (TCP_SAVE_SYN on listener @fd). */
int tiflow_listen_save_syn(int fd);

/*
 * tiflow_syn_resume - is the SYN @syn (@len octets from its IP header on, as
 * TCP_SAVED_SYN gives it) a resume? Looks for the TI-flow option of @kind
 * (0 = SVC_TIFLOW_KIND_DEFAULT) with a completed TIFID. Returns 1 and fills
 * @out, 0 for a SYN that opens a new connection (no such option, or an
 * initiator's offer), or -1 with EINVAL for a packet that is not a whole
 * IPv4/IPv6 TCP SYN header or whose options are malformed.
 */
int tiflow_syn_resume(const void *syn, size_t len, __u8 kind, struct svc_tiflow_vals *out);

/*
 * tiflow_accepted_resume - tiflow_syn_resume() on the saved SYN of accepted
 * connection @fd (the listener had tiflow_listen_save_syn()). The SYN is
 * handed out once: a second call finds none (ENOENT).
 */
int tiflow_accepted_resume(int fd, __u8 kind, struct svc_tiflow_vals *out);

#endif /* TIFLOW_SOCK_H */
