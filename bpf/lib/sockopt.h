/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cgroup sockopt programs serving private option levels: every other
 * get/setsockopt of the cgroup passes through them untouched.
 */
#ifndef SVC_BPF_SOCKOPT_H
#define SVC_BPF_SOCKOPT_H

/*
 * The kernel copies at most a page of optval for the program. An option it
 * did not copy whole must be handed back with optlen 0 (use the caller's
 * buffer as is): Linux before 6.5 fails such a call with EFAULT otherwise.
 */
#define SVC_SOCKOPT_PAGE 4096

/* svc_sockopt_pass - not ours: the kernel (and the next program) handle it. */
static __always_inline int svc_sockopt_pass(struct bpf_sockopt *ctx)
{
	if (ctx->optlen > SVC_SOCKOPT_PAGE)
		ctx->optlen = 0;
	return 1;
}

/* svc_sockopt_set_done - our setsockopt succeeded: the kernel must not see the option. */
static __always_inline int svc_sockopt_set_done(struct bpf_sockopt *ctx)
{
	ctx->optlen = -1;
	return 1;
}

/* svc_sockopt_set_fail - refuse our setsockopt with errno @err (positive). */
static __always_inline int svc_sockopt_set_fail(int err)
{
	bpf_set_retval(-err);
	return 0;
}

#endif /* SVC_BPF_SOCKOPT_H */
