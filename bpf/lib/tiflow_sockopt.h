/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TI-flow socket options (headers/svc_tiflow.h, SVC_TIFLOW_SOL): an
 * application reads its socket's TI-flow state and asks a new connection to
 * resume a flow, with get/setsockopt instead of bpf() calls on the pinned
 * socket-state map, which need privileges an application does not have.
 */
#ifndef SVC_BPF_TIFLOW_SOCKOPT_H
#define SVC_BPF_TIFLOW_SOCKOPT_H

#include "sockopt.h"
#include "tiflow_maps.h"

/* errno values (vmlinux.h has no macros) */
#define TIFLOW_ENOMEM 12
#define TIFLOW_EINVAL 22
#define TIFLOW_ENOPROTOOPT 92
#define TIFLOW_EOPNOTSUPP 95
#define TIFLOW_EISCONN 106

/* tiflow_resume_refuse - count a refused SVC_TIFLOW_SO_RESUME, fail with @err. */
static __always_inline int tiflow_resume_refuse(int err)
{
	tiflow_count(SVC_TIFLOW_EV_RESUME_REFUSED);
	return svc_sockopt_set_fail(err);
}

/*
 * tiflow_so_resume - SVC_TIFLOW_SO_RESUME: remember in the socket's storage
 * what its SYN must carry; the sockops program writes it (tiflow_hs.h).
 */
static __always_inline int tiflow_so_resume(struct bpf_sockopt *ctx)
{
	void *val = ctx->optval, *end = ctx->optval_end;
	struct bpf_sock *sk = ctx->sk;
	struct svc_tiflow_resume r;
	struct svc_tiflow_sk *st;

	if (sk->type != SOCK_STREAM || sk->protocol != IPPROTO_TCP)
		return tiflow_resume_refuse(TIFLOW_EOPNOTSUPP);
	if (ctx->optlen != sizeof(r) || val + sizeof(r) > end)
		return tiflow_resume_refuse(TIFLOW_EINVAL);
	__builtin_memcpy(&r, val, sizeof(r));
	if (r.tifid > SVC_TI48_MASK || !svc_tifid_initiator(r.tifid) ||
	    !svc_tifid_responder(r.tifid) || r.tiseq > SVC_TI48_MASK || r.tiack > SVC_TI48_MASK)
		return tiflow_resume_refuse(TIFLOW_EINVAL);
	/* Only a socket that has not started to connect: the SYN is yet to be built. */
	if (sk->state == BPF_TCP_LISTEN)
		return tiflow_resume_refuse(TIFLOW_EINVAL);
	if (sk->state != BPF_TCP_CLOSE)
		return tiflow_resume_refuse(TIFLOW_EISCONN);
	st = bpf_sk_storage_get(&tiflow_sk, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st) {
		tiflow_count(SVC_TIFLOW_EV_ERR_STORAGE);
		return tiflow_resume_refuse(TIFLOW_ENOMEM);
	}
	__builtin_memset(st, 0, sizeof(*st));
	st->tifid = r.tifid;
	st->tiseq_local = r.tiseq;
	st->tiseq_peer = r.tiack;
	st->state = SVC_TIFLOW_S_RESUME;
	st->role = SVC_TIFLOW_ROLE_INITIATOR;
	tiflow_count(SVC_TIFLOW_EV_RESUME_SET);
	return svc_sockopt_set_done(ctx);
}

/* tiflow_setsockopt - SVC_TIFLOW_SOL options; everything else passes. */
static __always_inline int tiflow_setsockopt(struct bpf_sockopt *ctx)
{
	if (ctx->level != SVC_TIFLOW_SOL)
		return svc_sockopt_pass(ctx);
	if (ctx->optname == SVC_TIFLOW_SO_RESUME)
		return tiflow_so_resume(ctx);
	return svc_sockopt_set_fail(TIFLOW_ENOPROTOOPT);
}

/*
 * tiflow_getsockopt - SVC_TIFLOW_SO_STATE: the socket's struct svc_tiflow_sk
 * (zero, state NONE, without storage). Runs after the kernel, which refused
 * the unknown level: ctx->retval says what the caller gets.
 */
static __always_inline int tiflow_getsockopt(struct bpf_sockopt *ctx)
{
	void *val = ctx->optval, *end = ctx->optval_end;
	struct svc_tiflow_sk *st, zero = {};

	if (ctx->level != SVC_TIFLOW_SOL)
		return svc_sockopt_pass(ctx);
	if (ctx->optname != SVC_TIFLOW_SO_STATE)
		return 1; /* the kernel's ENOPROTOOPT stands */
	if (ctx->optlen < (int)sizeof(*st) || val + sizeof(*st) > end) {
		ctx->retval = -TIFLOW_EINVAL;
		return 1;
	}
	st = bpf_sk_storage_get(&tiflow_sk, ctx->sk, NULL, 0);
	if (st)
		__builtin_memcpy(val, st, sizeof(*st));
	else
		__builtin_memcpy(val, &zero, sizeof(zero));
	ctx->optlen = sizeof(*st);
	ctx->retval = 0;
	return 1;
}

#endif /* SVC_BPF_TIFLOW_SOCKOPT_H */
