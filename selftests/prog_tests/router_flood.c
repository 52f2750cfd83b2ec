// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The flood guard (docs/datapath.md, "Flood guard"): above router_cfg's
 * flood_insert_rate SYN inserts per CPU per window, a SYN is still forwarded
 * where the consistent hash sends it but not recorded in the flow table
 * (ev_flood_noinsert); the connection's next packet is resolved by the same
 * hash; flows already in the table are untouched; after the window, inserts
 * resume; rate 0 is off.
 *
 * No wall clock: the test writes the per-CPU window (flood_state) itself, a
 * start in the future to keep it open, one in the past to end it, and runs
 * pinned to one CPU so that every run counts in the same CPU's window.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tp.h"
#include "dptest.h"
#include "svc_hash.h"

#define RATE 8	 /* inserts per window in these tests */
#define EXTRA 5	 /* SYNs over it */
#define N_EST 32 /* established flows that must survive the flood */
#define HOUR_NS (3600ULL * 1000000000ULL)
#define FLOOD 8192 /* 2x dpt_env_open's flow table (4096): unguarded, it turns the table over */

/* A weighted service of the standard configuration: its two next hops. */
struct wsvc {
	int svc;
	bool v6;
	__u32 a, b;
};

static const struct wsvc w4 = { SVC_W4, false, NH_OUT4A, NH_OUT4B };
static const struct wsvc w6 = { SVC_W6, true, NH_OUT6A, NH_OUT6B };

static void tcp_pkt(struct pkt *p, const struct wsvc *w, __u16 sport, __u8 flags)
{
	if (w->v6)
		dpt_tcp6(p, dpt_vip6(w->svc), sport, 80, flags, flags == TCP_F_SYN ? 0 : 20);
	else
		dpt_tcp4(p, dpt_vip4(w->svc), sport, 80, flags, flags == TCP_F_SYN ? 0 : 20);
}

/* CLOCK_MONOTONIC_COARSE: the clock of bpf_ktime_get_coarse_ns(). */
static __u64 coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* Every CPU's window: started at @start, @inserts made, an insert last skipped at @skip. */
static bool set_state(struct dpt_env *e, __u64 start, __u64 inserts, __u64 skip)
{
	int n = libbpf_num_possible_cpus(), fd = svc_dp_map_fd(e->dp, "flood_state");
	struct svc_flood_state *st;
	__u32 key = 0;
	bool ok;

	if (!ASSERT_GT(n, 0, "possible cpus") || !ASSERT_GE(fd, 0, "flood_state fd"))
		return false;
	st = calloc((size_t)n, sizeof(*st));
	if (!ASSERT_OK_PTR(st, "calloc"))
		return false;
	for (int c = 0; c < n; c++) {
		st[c].window_ns = start;
		st[c].inserts = inserts;
		st[c].last_skip_ns = skip;
	}
	ok = ASSERT_OK(bpf_map_update_elem(fd, &key, st, BPF_ANY), "flood_state update");
	free(st);
	return ok;
}

/* A window that stays open however slow the machine (it starts in an hour), @inserts made. */
static bool window_open(struct dpt_env *e, __u64 inserts)
{
	return set_state(e, coarse_now() + HOUR_NS, inserts, 0);
}

/* A window that ended (it started two windows ago) with @inserts made in it. */
static bool window_over(struct dpt_env *e, __u64 inserts)
{
	return set_state(e, coarse_now() - 2 * SVC_FLOOD_WINDOW_NS, inserts, 0);
}

/* When CPU @cpu last skipped an insert (0: never), or ~0 on error. */
static __u64 last_skip(struct dpt_env *e, int cpu)
{
	int n = libbpf_num_possible_cpus(), fd = svc_dp_map_fd(e->dp, "flood_state");
	struct svc_flood_state *st;
	__u64 t = ~0ULL;
	__u32 key = 0;

	if (!ASSERT_GT(n, cpu, "possible cpus") || !ASSERT_GE(fd, 0, "flood_state fd"))
		return t;
	st = calloc((size_t)n, sizeof(*st));
	if (ASSERT_OK_PTR(st, "calloc") &&
	    ASSERT_OK(bpf_map_lookup_elem(fd, &key, st), "flood_state lookup"))
		t = st[cpu].last_skip_ns;
	free(st);
	return t;
}

static bool set_rate(struct dpt_env *e, __u32 rate)
{
	__u32 got = ~0u;
	unsigned int engaged;

	return ASSERT_OK(svc_dp_set_flood_rate(e->dp, rate), "svc_dp_set_flood_rate") &&
	       ASSERT_OK(svc_dp_flood_read(e->dp, &got, &engaged), "svc_dp_flood_read") &&
	       ASSERT_EQ(got, rate, "flood rate read back");
}

/* The flows entry of @in's 5-tuple: 1 with *nh set, 0 if none. */
static int flow_of(struct dpt_env *e, const struct pkt *in, __u32 *nh)
{
	int fd = svc_dp_map_fd(e->dp, "flows");
	struct svc_flow_key k;
	struct svc_flow v;

	if (!ASSERT_GE(fd, 0, "flows fd") || !ASSERT_OK(dpt_flow_key(in->buf, in->len, &k), "key"))
		return -1;
	if (bpf_map_lookup_elem(fd, &k, &v))
		return 0;
	*nh = v.nh_id;
	return 1;
}

static int count_one(const struct svc_flow_key *k, const struct svc_flow *v, void *arg)
{
	(void)k;
	(void)v;
	(*(size_t *)arg)++;
	return 0;
}

static size_t flows_count(struct dpt_env *e)
{
	size_t n = 0;

	ASSERT_OK(svc_dp_flows_foreach(e->dp, count_one, &n), "svc_dp_flows_foreach");
	return n;
}

static bool predict(struct dpt_env *e, const struct wsvc *w, const struct pkt *in, __u32 *nh)
{
	struct svc_flow_key k;

	return ASSERT_OK(dpt_flow_key(in->buf, in->len, &k), "flow key") &&
	       !dpt_predict_nh(e, w->svc, &k, nh) &&
	       ASSERT_TRUE(*nh == w->a || *nh == w->b, "predicted nh in set");
}

/*
 * A SYN from @sport: forwarded to the hash's next hop (fwd_new, output
 * bytes), then recorded there, or, when @guarded, counted ev_flood_noinsert
 * and not recorded.
 */
static bool syn(struct dpt_env *e, const struct wsvc *w, __u16 sport, bool guarded)
{
	struct dpt_expect x;
	struct pkt in;
	__u32 nh, got = 0;
	int r;

	tcp_pkt(&in, w, sport, TCP_F_SYN);
	if (!predict(e, w, &in, &nh))
		return false;
	x = (struct dpt_expect){ .verdict = dpt_fwd_verdict(nh),
				 .counter = SVC_R_FWD_NEW,
				 .out = DPT_OUT_FWD,
				 .nh = nh,
				 .rule = (__u32)w->svc,
				 .event = guarded ? SVC_R_EV_FLOOD_NOINSERT : 0 };
	if (!dpt_check(e, SVC_PROG_ROUTER, &in, &x, NULL))
		return false;
	r = flow_of(e, &in, &got);
	if (guarded)
		return ASSERT_EQ(r, 0, "guarded SYN not recorded");
	return ASSERT_EQ(r, 1, "SYN recorded") && ASSERT_EQ(got, nh, "recorded next hop");
}

/* Runs on the CPU it starts on: every BPF_PROG_TEST_RUN counts in one CPU's window. */
static bool pin_cpu(cpu_set_t *saved, int *cpu_out)
{
	cpu_set_t one;
	int cpu = sched_getcpu();

	*cpu_out = cpu;
	if (!ASSERT_GE(cpu, 0, "sched_getcpu") ||
	    !ASSERT_OK(sched_getaffinity(0, sizeof(*saved), saved), "sched_getaffinity"))
		return false;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return ASSERT_OK(sched_setaffinity(0, sizeof(one), &one), "sched_setaffinity");
}

static void unpin_cpu(const cpu_set_t *saved)
{
	ASSERT_OK(sched_setaffinity(0, sizeof(*saved), saved), "restore affinity");
}

/*
 * RATE SYNs recorded, EXTRA more forwarded alike but not recorded; a guarded
 * connection's ACK reaches the same next hop (fwd_ch_miss); after the window
 * SYNs are recorded again.
 */
static void threshold(struct dpt_env *e, const struct wsvc *w)
{
	struct svc_counter before[SVC_REASON_MAX], after[SVC_REASON_MAX];
	__u32 nh, got = 0;
	struct dpt_expect x;
	cpu_set_t saved;
	int cpu;
	struct pkt in;
	int i;

	if (!pin_cpu(&saved, &cpu))
		return;
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") || !set_rate(e, RATE) ||
	    !window_open(e, 0) || !ASSERT_OK(dpt_stats(e, SVC_PROG_ROUTER, before), "stats"))
		goto out;
	ASSERT_EQ(last_skip(e, cpu), 0, "no insert skipped before the flood");
	for (i = 0; i < RATE; i++)
		if (!syn(e, w, (__u16)(20000 + i), false))
			goto out;
	for (i = 0; i < EXTRA; i++)
		if (!syn(e, w, (__u16)(21000 + i), true))
			goto out;
	if (!ASSERT_OK(dpt_stats(e, SVC_PROG_ROUTER, after), "stats"))
		goto out;
	ASSERT_EQ(after[SVC_R_EV_FLOOD_NOINSERT].packets - before[SVC_R_EV_FLOOD_NOINSERT].packets,
		  EXTRA, "ev_flood_noinsert = SYNs not recorded");
	ASSERT_EQ(after[SVC_R_FWD_NEW].packets - before[SVC_R_FWD_NEW].packets, RATE + EXTRA,
		  "every SYN forwarded (fwd_new)");
	ASSERT_EQ(flows_count(e), RATE, "flow table holds only the admitted SYNs");
	ASSERT_NEQ(last_skip(e, cpu), 0, "this CPU's guard engaged (last skip)");

	/* A guarded connection's ACK: resolved by the same rule and hash, recorded then. */
	tcp_pkt(&in, w, 21000, TCP_F_ACK);
	if (!predict(e, w, &in, &nh))
		goto out;
	x = (struct dpt_expect){ .verdict = dpt_fwd_verdict(nh),
				 .counter = SVC_R_FWD_CH_MISS,
				 .out = DPT_OUT_FWD,
				 .nh = nh,
				 .rule = (__u32)w->svc };
	if (!dpt_check(e, SVC_PROG_ROUTER, &in, &x, NULL))
		goto out;
	ASSERT_EQ(flow_of(e, &in, &got), 1, "guarded connection recorded at its ACK");
	ASSERT_EQ(got, nh, "at the hash's next hop");

	/* The window over, its budget spent: the next SYN starts a new window and is recorded. */
	if (!window_over(e, RATE) || !syn(e, w, 22000, false))
		goto out;
	/*
	 * The new window with that one insert, kept open (the test may take more
	 * than a window on a slow machine): RATE - 1 more, then the guard again.
	 */
	if (!window_open(e, 1))
		goto out;
	for (i = 1; i < RATE; i++)
		if (!syn(e, w, (__u16)(22000 + i), false))
			goto out;
	syn(e, w, (__u16)(22000 + RATE), true);
out:
	set_rate(e, 0);
	unpin_cpu(&saved);
}

/*
 * Established flows, each recorded at the next hop the hash does NOT give it
 * (as after a set change), survive a flood of twice the flow table's size
 * and keep their next hop: only RATE of the flood is inserted.
 */
static void established_kept(struct dpt_env *e, const struct wsvc *w)
{
	struct svc_counter before[SVC_REASON_MAX], after[SVC_REASON_MAX];
	int fd = svc_dp_map_fd(e->dp, "flows");
	struct dpt_result r;
	struct svc_flow_key k;
	struct svc_flow v;
	struct pkt in, exp;
	__u32 nh, pinned[N_EST], *table = NULL;
	cpu_set_t saved;
	int cpu;
	int i, kept = 0;

	if (!ASSERT_GE(fd, 0, "flows fd") || !pin_cpu(&saved, &cpu))
		return;
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") || !set_rate(e, 0))
		goto out;
	for (i = 0; i < N_EST; i++) {
		if (!syn(e, w, (__u16)(23000 + i), false))
			goto out;
		tcp_pkt(&in, w, (__u16)(23000 + i), TCP_F_SYN);
		if (!ASSERT_OK(dpt_flow_key(in.buf, in.len, &k), "key") ||
		    !ASSERT_OK(bpf_map_lookup_elem(fd, &k, &v), "flow lookup"))
			goto out;
		v.nh_id = pinned[i] = v.nh_id == w->a ? w->b : w->a;
		if (!ASSERT_OK(bpf_map_update_elem(fd, &k, &v, BPF_EXIST), "flow repin"))
			goto out;
	}
	/* The set's table read once: dpt_predict_nh reads all of it per call. */
	table = calloc(SVC_CH_SIZE, sizeof(*table));
	if (!ASSERT_OK_PTR(table, "calloc") ||
	    !ASSERT_OK(svc_dp_nhset_read(e->dp, (__u32)w->svc, table), "svc_dp_nhset_read"))
		goto out;
	if (!set_rate(e, RATE) || !window_open(e, 0) ||
	    !ASSERT_OK(dpt_stats(e, SVC_PROG_ROUTER, before), "stats"))
		goto out;
	for (i = 0; i < FLOOD; i++) {
		tcp_pkt(&in, w, (__u16)(30000 + i), TCP_F_SYN);
		if (!ASSERT_OK(dpt_flow_key(in.buf, in.len, &k), "key"))
			goto out;
		nh = table[svc_ch_slot(svc_flow_hash(&k, DPT_SEED))];
		dpt_expect_fwd(&exp, in.buf, in.len, nh);
		if (dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in.buf, in.len, &r) ||
		    r.retval != dpt_fwd_verdict(nh) || r.out_len != exp.len ||
		    memcmp(r.out, exp.buf, exp.len)) {
			ASSERT_TRUE(false, "flood SYN forwarded to the hash's next hop");
			tp_diag("flood SYN %d: retval %u", i, r.retval);
			goto out;
		}
	}
	if (!ASSERT_OK(dpt_stats(e, SVC_PROG_ROUTER, after), "stats"))
		goto out;
	ASSERT_EQ(after[SVC_R_EV_FLOOD_NOINSERT].packets - before[SVC_R_EV_FLOOD_NOINSERT].packets,
		  FLOOD - RATE, "ev_flood_noinsert = flood SYNs not recorded");
	ASSERT_EQ(flows_count(e), N_EST + RATE, "flow table: established + admitted");
	for (i = 0; i < N_EST; i++) {
		tcp_pkt(&in, w, (__u16)(23000 + i), TCP_F_ACK);
		dpt_expect_fwd(&exp, in.buf, in.len, pinned[i]);
		if (!ASSERT_OK(dpt_xdp_run(e->router_fd, e->ifindex[DPT_IF_IN], in.buf, in.len, &r),
			       "ACK"))
			goto out;
		kept += r.retval == dpt_fwd_verdict(pinned[i]) && r.out_len == exp.len &&
			!memcmp(r.out, exp.buf, exp.len);
	}
	tp_diag("%s: %d established flows after a guarded flood of %d SYNs: %d kept their next "
		"hop; %llu SYNs not recorded",
		w->v6 ? "IPv6" : "IPv4", N_EST, FLOOD, kept,
		(unsigned long long)(after[SVC_R_EV_FLOOD_NOINSERT].packets -
				     before[SVC_R_EV_FLOOD_NOINSERT].packets));
	ASSERT_EQ(kept, N_EST, "every established flow kept its next hop");
out:
	free(table);
	set_rate(e, 0);
	unpin_cpu(&saved);
}

/* Rate 0: every SYN recorded, no event, whatever the window says. */
static void guard_off(struct dpt_env *e, const struct wsvc *w)
{
	cpu_set_t saved;
	int cpu;
	int i;

	if (!pin_cpu(&saved, &cpu))
		return;
	if (!ASSERT_OK(svc_dp_flows_clear(e->dp, NULL), "flows_clear") || !set_rate(e, 0) ||
	    !window_open(e, 0))
		goto out;
	for (i = 0; i < 4 * RATE; i++)
		if (!syn(e, w, (__u16)(24000 + i), false))
			goto out;
	ASSERT_EQ(flows_count(e), 4 * RATE, "every SYN recorded");
out:
	unpin_cpu(&saved);
}

/*
 * svc_dp_flood_read's "engaged": CPUs that skipped an insert within the last
 * window. The skip times are written here, not waited for: one in the future
 * counts (as any time less than a window ago), one two windows ago does not.
 */
static void engaged_read(struct dpt_env *e)
{
	int n = libbpf_num_possible_cpus();
	unsigned int engaged = 0;
	__u32 rate = 0;

	if (!set_rate(e, 7) || !set_state(e, 0, 0, coarse_now() + HOUR_NS) ||
	    !ASSERT_OK(svc_dp_flood_read(e->dp, &rate, &engaged), "svc_dp_flood_read"))
		goto out;
	ASSERT_EQ(rate, 7, "rate");
	ASSERT_EQ(engaged, (unsigned int)n, "engaged on every CPU");
	if (!set_state(e, 0, 0, coarse_now() - 2 * SVC_FLOOD_WINDOW_NS) ||
	    !ASSERT_OK(svc_dp_flood_read(e->dp, &rate, &engaged), "svc_dp_flood_read"))
		goto out;
	ASSERT_EQ(engaged, 0, "a skip two windows ago: not engaged");
	if (!set_state(e, 0, 0, 0) ||
	    !ASSERT_OK(svc_dp_flood_read(e->dp, &rate, &engaged), "svc_dp_flood_read"))
		goto out;
	ASSERT_EQ(engaged, 0, "never skipped: not engaged");
out:
	set_rate(e, 0);
}

TEST(router_flood)
{
	struct dpt_env e;

	if (dpt_env_open(&e))
		return;
	if (tp_subtest("flood_threshold_v4"))
		threshold(&e, &w4);
	if (tp_subtest("flood_threshold_v6"))
		threshold(&e, &w6);
	if (tp_subtest("flood_established_kept_v4"))
		established_kept(&e, &w4);
	if (tp_subtest("flood_established_kept_v6"))
		established_kept(&e, &w6);
	if (tp_subtest("flood_off"))
		guard_off(&e, &w4);
	if (tp_subtest("flood_engaged_read"))
		engaged_read(&e);
	dpt_env_close(&e);
}
