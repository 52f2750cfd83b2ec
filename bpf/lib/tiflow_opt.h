/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Finding the TI-flow option in a TCP header copied to the stack (bpf_loop option walk). */
#ifndef SVC_BPF_TIFLOW_OPT_H
#define SVC_BPF_TIFLOW_OPT_H

#include "../../headers/svc_tiflow.h"

/* What a walk for one option kind found. */
enum tiflow_find {
	TIFLOW_FIND_NONE = 0, /* no option of that kind before the end / EOL */
	TIFLOW_FIND_OK = 1,   /* found at w->opt_off, length w->opt_len */
	TIFLOW_FIND_BAD = 2,  /* the options are malformed before one was found */
};

/*
 * A TCP header on the stack and the walk's progress. hdr is zeroed before it
 * is filled: the walk reads it at variable offsets, which the verifier allows
 * only on initialised stack.
 */
struct tiflow_walk {
	__u8 hdr[SVC_TCPHDR_BUF];
	__u32 hdr_len; /* data offset * 4 */
	__u32 off;     /* next option */
	__u32 opt_off; /* TIFLOW_FIND_OK: where the option starts */
	__u8 kind;     /* kind searched for */
	__u8 opt_len;  /* TIFLOW_FIND_OK: its length octet */
	__u8 result;   /* enum tiflow_find */
	__u8 pad;
};

/* One option per bpf_loop iteration: the verifier checks the body once, not 40 times. */
static long tiflow_walk_step(__u32 i, void *ctx)
{
	struct tiflow_walk *w = *(struct tiflow_walk **)ctx;
	__u32 at = w->off;
	__u8 kind = 0, len = 0;
	int r;

	(void)i;
	r = svc_tcpopt_step(w->hdr, w->hdr_len, &w->off, &kind, &len);
	if (r == SVC_OPTW_NOP)
		return 0;
	if (r == SVC_OPTW_END)
		return 1;
	if (r == SVC_OPTW_BAD) {
		w->result = TIFLOW_FIND_BAD;
		return 1;
	}
	if (kind == w->kind) {
		w->opt_off = at;
		w->opt_len = len;
		w->result = TIFLOW_FIND_OK;
		return 1;
	}
	return 0;
}

/**
 * __tiflow_find_opt - walk w->hdr (w->hdr_len set, 20..60) for the first option of @kind
 *
 * Returns enum tiflow_find; on TIFLOW_FIND_OK w->opt_off/opt_len locate it.
 * Only for the body of tiflow_find_opt(), the global function each object
 * defines (TIFLOW_FIND_OPT_DEFINE): its callback's loop state must be memory
 * the verifier knows nothing about.
 *
 * Linux 6.1's verifier checks a bpf_loop() callback once, as if it ran
 * exactly once from the caller's state, and a privileged load then removes
 * the branches it never saw taken (fixed in 6.7: "bpf: verify callbacks as if
 * they are called unknown number of times"). With the walk on the caller's
 * stack, 6.1 would check each step for the first option's offset only. Inside
 * a global function @w is memory of unknown content (the function is checked
 * once, for any argument), so every kernel checks the step for any offset.
 * sock_ops has no per-CPU scratch to use instead (another socket's callback
 * can run on the same CPU in the middle of this one), and a bounded loop
 * costs the verifier 60 times more.
 */
static __always_inline int __tiflow_find_opt(struct tiflow_walk *w, __u8 kind)
{
	if (!w)
		return TIFLOW_FIND_BAD;
	w->off = SVC_TCPHDR_MIN;
	w->kind = kind;
	w->result = TIFLOW_FIND_NONE;
	if (bpf_loop(SVC_TCPOPT_MAX_STEPS, tiflow_walk_step, &w, 0) < 0)
		return TIFLOW_FIND_BAD;
	return w->result;
}

/* The global function around __tiflow_find_opt(); one object defines it once. */
int tiflow_find_opt(struct tiflow_walk *w, __u8 kind);
#define TIFLOW_FIND_OPT_DEFINE()                                          \
	__noinline int tiflow_find_opt(struct tiflow_walk *w, __u8 kind) \
	{                                                                 \
		return __tiflow_find_opt(w, kind);                        \
	}

/* tiflow_opt_read - unpack the 20-octet option found by tiflow_find_opt into @v. */
static __always_inline void tiflow_opt_read(const struct tiflow_walk *w, struct svc_tiflow_vals *v)
{
	struct svc_tiflow_opt o;
	__u8 *p = (__u8 *)&o;
	int i;

#pragma unroll
	for (i = 0; i < SVC_TIFLOW_LEN; i++)
		p[i] = w->hdr[(w->opt_off + i) & (SVC_TCPHDR_BUF - 1)];
	svc_tiflow_unpack(&o, v);
}

/* tiflow_hdr_len - data offset of the header in w->hdr, or 0 if outside 20..@avail. */
static __always_inline __u32 tiflow_hdr_len(const struct tiflow_walk *w, __u32 avail)
{
	__u32 len = (__u32)(w->hdr[12] >> 4) * 4;

	if (len < SVC_TCPHDR_MIN || len > avail)
		return 0;
	return len;
}

#endif /* SVC_BPF_TIFLOW_OPT_H */
