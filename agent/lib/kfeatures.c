// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Kernel feature probes: what the running kernel offers of what svcplane uses, and the report. */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "kfeatures.h"
#include "log.h"

/* tcx attach points (Linux 6.6); the uapi headers of Debian 12 predate them. */
#define SVC_BPF_TCX_INGRESS 46

const struct svc_feat_info svc_feat_info[SVC_FEAT_MAX] = {
	[SVC_FEAT_BTF] = { "btf", "every BPF object (CO-RE relocations)",
			   "no BPF object loads: svcplaned cannot start", true },
	[SVC_FEAT_XDP] = { "xdp", "router and endpoint programs",
			   "the router and endpoint cannot load: svcplaned cannot start", true },
	[SVC_FEAT_MAPS] = { "maps", "router, endpoint and direct-path maps",
			    "the data plane cannot load: svcplaned cannot start", true },
	[SVC_FEAT_RINGBUF] = { "ringbuf", "DELAY slow path, register on bind",
			       "the router cannot load: svcplaned cannot start", true },
	[SVC_FEAT_XDP_TEST_RUN] = { "xdp_test_run", "DELAY re-injection (copy path)",
				    "without live frames either, a held DELAY packet is not "
				    "re-injected: its client waits for its SYN retransmission",
				    true },
	[SVC_FEAT_XDP_LIVE_FRAMES] = { "xdp_live_frames", "DELAY re-injection (live path)",
				       "DELAY re-injects through the copy path (router program "
				       "run without live mode, frame sent with AF_PACKET)",
				       true },
	[SVC_FEAT_AF_PACKET] = { "af_packet", "DELAY copy path, --delay-unresolvable rst",
				 "the DELAY copy path and RSTs for unresolvable packets fail",
				 true },
	[SVC_FEAT_TC] = { "tc", "direct path (tc programs)",
			  "servicectl direct client|instance fails", true },
	[SVC_FEAT_TCX] = { "tcx", "not used (the direct path attaches with tc clsact)",
			   "nothing changes", false },
	[SVC_FEAT_SOCKOPS_HDR_OPT] = { "sockops_hdr_opt", "TI-flow (sock_ops TCP header options)",
				       "servicectl tiflow enable fails", true },
	[SVC_FEAT_TP_BTF] = { "tp_btf", "register on bind (--register-to)",
			      "svcplaned --register-to cannot start (no listener watch)", true },
	[SVC_FEAT_AF_XDP] = { "af_xdp", "not used", "nothing changes", false },
};

/* Every helper the agent's BPF objects call, by program type (test_features checks the list). */
static const struct {
	enum svc_feature feat;
	enum bpf_prog_type type;
	int id;
} feat_helpers[] = {
	{ SVC_FEAT_XDP, BPF_PROG_TYPE_XDP, BPF_FUNC_map_lookup_elem },
	{ SVC_FEAT_XDP, BPF_PROG_TYPE_XDP, BPF_FUNC_map_update_elem },
	{ SVC_FEAT_XDP, BPF_PROG_TYPE_XDP, BPF_FUNC_map_delete_elem },
	{ SVC_FEAT_XDP, BPF_PROG_TYPE_XDP, BPF_FUNC_ktime_get_ns },
	{ SVC_FEAT_XDP, BPF_PROG_TYPE_XDP, BPF_FUNC_ktime_get_coarse_ns }, /* flood guard */
	{ SVC_FEAT_XDP, BPF_PROG_TYPE_XDP, BPF_FUNC_tail_call },
	{ SVC_FEAT_XDP, BPF_PROG_TYPE_XDP, BPF_FUNC_redirect },
	{ SVC_FEAT_XDP, BPF_PROG_TYPE_XDP, BPF_FUNC_csum_diff },
	{ SVC_FEAT_XDP, BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_adjust_head },
	{ SVC_FEAT_XDP, BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_adjust_tail },
	{ SVC_FEAT_XDP, BPF_PROG_TYPE_XDP, BPF_FUNC_fib_lookup },
	{ SVC_FEAT_XDP, BPF_PROG_TYPE_XDP, BPF_FUNC_loop },
	{ SVC_FEAT_XDP, BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_load_bytes },
	{ SVC_FEAT_XDP, BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_store_bytes },
	{ SVC_FEAT_RINGBUF, BPF_PROG_TYPE_XDP, BPF_FUNC_ringbuf_reserve },
	{ SVC_FEAT_RINGBUF, BPF_PROG_TYPE_XDP, BPF_FUNC_ringbuf_submit },
	{ SVC_FEAT_RINGBUF, BPF_PROG_TYPE_XDP, BPF_FUNC_ringbuf_discard },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_map_lookup_elem },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_map_update_elem },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_map_delete_elem },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_ktime_get_ns },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_get_prandom_u32 },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_skb_store_bytes },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_l3_csum_replace },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_l4_csum_replace },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_redirect },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_skb_load_bytes },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_csum_diff },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_skb_change_tail },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_skb_adjust_room },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_fib_lookup },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_redirect_neigh },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_check_mtu },
	{ SVC_FEAT_TC, BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_loop },
	{ SVC_FEAT_SOCKOPS_HDR_OPT, BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_map_lookup_elem },
	{ SVC_FEAT_SOCKOPS_HDR_OPT, BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_get_prandom_u32 },
	{ SVC_FEAT_SOCKOPS_HDR_OPT, BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_getsockopt },
	{ SVC_FEAT_SOCKOPS_HDR_OPT, BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_sock_ops_cb_flags_set },
	{ SVC_FEAT_SOCKOPS_HDR_OPT, BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_sk_storage_get },
	{ SVC_FEAT_SOCKOPS_HDR_OPT, BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_store_hdr_opt },
	{ SVC_FEAT_SOCKOPS_HDR_OPT, BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_reserve_hdr_opt },
	{ SVC_FEAT_SOCKOPS_HDR_OPT, BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_loop },
	/* the TI-flow socket options (cgroup get/setsockopt programs) */
	{ SVC_FEAT_SOCKOPS_HDR_OPT, BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_FUNC_map_lookup_elem },
	{ SVC_FEAT_SOCKOPS_HDR_OPT, BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_FUNC_sk_storage_get },
	{ SVC_FEAT_SOCKOPS_HDR_OPT, BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_FUNC_set_retval },
	{ SVC_FEAT_TP_BTF, BPF_PROG_TYPE_TRACING, BPF_FUNC_map_lookup_elem },
	{ SVC_FEAT_TP_BTF, BPF_PROG_TYPE_TRACING, BPF_FUNC_get_current_pid_tgid },
	{ SVC_FEAT_TP_BTF, BPF_PROG_TYPE_TRACING, BPF_FUNC_get_current_comm },
	{ SVC_FEAT_TP_BTF, BPF_PROG_TYPE_TRACING, BPF_FUNC_ringbuf_reserve },
	{ SVC_FEAT_TP_BTF, BPF_PROG_TYPE_TRACING, BPF_FUNC_ringbuf_submit },
};

/* Every map type the agent's BPF objects declare. */
static const struct {
	enum svc_feature feat;
	enum bpf_map_type type;
} feat_maps[] = {
	{ SVC_FEAT_MAPS, BPF_MAP_TYPE_HASH },
	{ SVC_FEAT_MAPS, BPF_MAP_TYPE_ARRAY },
	{ SVC_FEAT_MAPS, BPF_MAP_TYPE_PERCPU_ARRAY },
	{ SVC_FEAT_MAPS, BPF_MAP_TYPE_LPM_TRIE },
	{ SVC_FEAT_MAPS, BPF_MAP_TYPE_LRU_HASH },
	{ SVC_FEAT_MAPS, BPF_MAP_TYPE_ARRAY_OF_MAPS },
	{ SVC_FEAT_MAPS, BPF_MAP_TYPE_PROG_ARRAY },
	{ SVC_FEAT_RINGBUF, BPF_MAP_TYPE_RINGBUF },
	{ SVC_FEAT_SOCKOPS_HDR_OPT, BPF_MAP_TYPE_SK_STORAGE },
	{ SVC_FEAT_AF_XDP, BPF_MAP_TYPE_XSKMAP },
};

/* The program type each feature's programs have (0: none). */
static const enum bpf_prog_type feat_prog_type[SVC_FEAT_MAX] = {
	[SVC_FEAT_XDP] = BPF_PROG_TYPE_XDP,
	[SVC_FEAT_TC] = BPF_PROG_TYPE_SCHED_CLS,
	[SVC_FEAT_SOCKOPS_HDR_OPT] = BPF_PROG_TYPE_SOCK_OPS,
};

#define SVC_HELPER_NAME(x, ...) [BPF_FUNC_##x] = "bpf_" #x
static const char *const helper_names[] = { __BPF_FUNC_MAPPER(SVC_HELPER_NAME) };

static const char *helper_name(int id)
{
	static char buf[32];

	if (id >= 0 && (size_t)id < sizeof(helper_names) / sizeof(helper_names[0]) &&
	    helper_names[id])
		return helper_names[id];
	snprintf(buf, sizeof(buf), "helper #%d", id);
	return buf;
}

static void set(struct svc_feat_result *r, enum svc_feat_state s, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set(struct svc_feat_result *r, enum svc_feat_state s, int err, const char *fmt, ...)
{
	va_list ap;

	r->state = s;
	r->err = err;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

/* Only the first missing thing is kept: a later probe never hides an earlier "no". */
static void set_no(struct svc_feat_result *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_no(struct svc_feat_result *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (r->state == SVC_FEAT_NO)
		return;
	r->state = SVC_FEAT_NO;
	r->err = err;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

static void set_unknown(struct svc_feat_result *r, int err, const char *what)
{
	if (r->state == SVC_FEAT_YES)
		set(r, SVC_FEAT_UNKNOWN, err, "probe failed: %s: %s", what, strerror(-err));
}

/* BPF_MOV64_IMM(r0, @v); BPF_EXIT_INSN() */
#define RET_INSNS(v)                                                               \
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = (v) }, \
	{                                                                          \
		.code = BPF_JMP | BPF_EXIT                                         \
	}

/* A tp_btf program on inet_sock_set_state needs its attach target in kernel BTF. */
static int tp_btf_target(const struct btf *vmlinux)
{
	return vmlinux ? btf__find_by_name_kind(vmlinux, "btf_trace_inet_sock_set_state",
						BTF_KIND_TYPEDEF)
		       : -ENOENT;
}

static void prog_opts(enum bpf_prog_type type, int btf_id, struct bpf_prog_load_opts *o)
{
	if (type == BPF_PROG_TYPE_TRACING) {
		o->expected_attach_type = BPF_TRACE_RAW_TP;
		o->attach_btf_id = (__u32)btf_id;
	}
	/* The kernel takes no cgroup sockopt program without its hook. */
	if (type == BPF_PROG_TYPE_CGROUP_SOCKOPT)
		o->expected_attach_type = BPF_CGROUP_SETSOCKOPT;
}

/*
 * probe_helper - load "call @id; r0 = 0; exit" as @type. The verifier names a
 * helper it does not know ("invalid func", "unknown func") or does not allow
 * for the type ("cannot use helper"; libbpf 1.1's own probe misses this
 * message of newer kernels); any other refusal is about the unset arguments,
 * so the helper exists. Returns 1, 0, or -errno when nothing was verified.
 */
static int probe_helper(enum bpf_prog_type type, int id, int btf_id)
{
	struct bpf_insn insns[] = { { .code = BPF_JMP | BPF_CALL, .imm = id }, RET_INSNS(0) };
	char log[4096] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, o, .log_buf = log, .log_size = sizeof(log), .log_level = 1);
	int fd;

	prog_opts(type, btf_id, &o);
	fd = bpf_prog_load(type, NULL, "GPL", insns, sizeof(insns) / sizeof(insns[0]), &o);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	if (strstr(log, "invalid func ") || strstr(log, "unknown func ") ||
	    strstr(log, "cannot use helper "))
		return 0;
	return log[0] ? 1 : -errno;
}

static void probe_btf(struct svc_feat_result *r, struct btf **vmlinux)
{
	struct btf *b = btf__load_vmlinux_btf();
	long err = libbpf_get_error(b);

	if (err) {
		*vmlinux = NULL;
		set(r, SVC_FEAT_NO, (int)err, "no kernel BTF (/sys/kernel/btf/vmlinux): %s",
		    strerror((int)-err));
		return;
	}
	*vmlinux = b;
	set(r, SVC_FEAT_YES, 0, "%s", "");
}

/* Program types, helpers and map types of every feature that has them. */
static void probe_bpf(struct svc_features *f, int tp_id)
{
	for (int k = 0; k < SVC_FEAT_MAX; k++) {
		int ret;

		if (!feat_prog_type[k])
			continue;
		ret = libbpf_probe_bpf_prog_type(feat_prog_type[k], NULL);
		if (ret == 0)
			set_no(&f->r[k], 0, "program type %s",
			       libbpf_bpf_prog_type_str(feat_prog_type[k]));
		else if (ret < 0)
			set_unknown(&f->r[k], ret, "program type");
	}
	for (size_t i = 0; i < sizeof(feat_helpers) / sizeof(feat_helpers[0]); i++) {
		struct svc_feat_result *r = &f->r[feat_helpers[i].feat];
		int ret;

		if (feat_helpers[i].type == BPF_PROG_TYPE_TRACING && tp_id < 0)
			continue; /* no attach target: the tp_btf probe says why */
		ret = probe_helper(feat_helpers[i].type, feat_helpers[i].id, tp_id);
		if (ret == 0)
			set_no(r, 0, "helper %s in %s programs", helper_name(feat_helpers[i].id),
			       libbpf_bpf_prog_type_str(feat_helpers[i].type));
		else if (ret < 0)
			set_unknown(r, ret, helper_name(feat_helpers[i].id));
	}
	for (size_t i = 0; i < sizeof(feat_maps) / sizeof(feat_maps[0]); i++) {
		struct svc_feat_result *r = &f->r[feat_maps[i].feat];
		int ret = libbpf_probe_bpf_map_type(feat_maps[i].type, NULL);

		if (ret == 0)
			set_no(r, 0, "map type %s", libbpf_bpf_map_type_str(feat_maps[i].type));
		else if (ret < 0)
			set_unknown(r, ret, libbpf_bpf_map_type_str(feat_maps[i].type));
	}
}

/* A tp_btf program attached to inet_sock_set_state loads (what listen.bpf.c has). */
static void probe_tp_btf(struct svc_feat_result *r, const struct btf *vmlinux, int tp_id)
{
	struct bpf_insn insns[] = { RET_INSNS(0) };
	LIBBPF_OPTS(bpf_prog_load_opts, o);
	int fd;

	if (!vmlinux) {
		set_no(r, -ENOENT, "no kernel BTF");
		return;
	}
	if (tp_id < 0) {
		set_no(r, tp_id, "tracepoint inet_sock_set_state not in kernel BTF");
		return;
	}
	prog_opts(BPF_PROG_TYPE_TRACING, tp_id, &o);
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &o);
	if (fd < 0) {
		set_no(r, -errno, "tp_btf program on inet_sock_set_state: %s", strerror(errno));
		return;
	}
	close(fd);
}

/*
 * No libbpf probe knows test runs: run an XDP program returning XDP_DROP (so
 * that live mode transmits nothing) on a 64-byte frame, as if received on lo,
 * once without and once with BPF_F_TEST_XDP_LIVE_FRAMES.
 */
static void probe_test_run(struct svc_feat_result *copy, struct svc_feat_result *live)
{
	struct bpf_insn insns[] = { RET_INSNS(XDP_DROP) };
	__u8 frame[64] = { 0 }, out[64 + 256];
	struct xdp_md ctx = { .data = 0, .data_end = sizeof(frame) };
	LIBBPF_OPTS(bpf_test_run_opts, c, .data_in = frame, .data_size_in = sizeof(frame),
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	LIBBPF_OPTS(bpf_test_run_opts, l, .data_in = frame, .data_size_in = sizeof(frame),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	int fd, err;

	ctx.ingress_ifindex = if_nametoindex("lo");
	memset(frame, 0xff, 6); /* broadcast, ethertype 0: dropped by the program anyway */
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "GPL", insns, 2, NULL);
	if (fd < 0) {
		err = -errno;
		set(copy, SVC_FEAT_UNKNOWN, err, "load a test XDP program: %s", strerror(-err));
		set(live, SVC_FEAT_UNKNOWN, err, "load a test XDP program: %s", strerror(-err));
		return;
	}
	if (bpf_prog_test_run_opts(fd, &c))
		set_no(copy, -errno, "BPF_PROG_TEST_RUN of an XDP program: %s", strerror(errno));
	else if (c.retval != XDP_DROP)
		set_no(copy, 0, "BPF_PROG_TEST_RUN returned verdict %u, not XDP_DROP", c.retval);
	if (bpf_prog_test_run_opts(fd, &l))
		set_no(live, -errno, "BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: %s",
		       strerror(errno));
	close(fd);
}

static void probe_socket(struct svc_feat_result *r, int family, const char *name)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		set_no(r, -errno, "socket(%s, SOCK_RAW): %s", name, strerror(errno));
		return;
	}
	close(fd);
}

/* tcx: querying its attach point on lo is refused (EINVAL) by a kernel without it. */
static void probe_tcx(struct svc_feat_result *r)
{
	__u32 cnt = 0;

	if (bpf_prog_query((int)if_nametoindex("lo"), (enum bpf_attach_type)SVC_BPF_TCX_INGRESS, 0,
			   NULL, NULL, &cnt))
		set_no(r, -errno, "query tcx ingress of lo: %s", strerror(errno));
}

void svc_features_probe(struct svc_features *f)
{
	struct btf *vmlinux = NULL;
	int tp_id;

	for (int k = 0; k < SVC_FEAT_MAX; k++)
		set(&f->r[k], SVC_FEAT_YES, 0, "%s", "");
	probe_btf(&f->r[SVC_FEAT_BTF], &vmlinux);
	tp_id = tp_btf_target(vmlinux);
	probe_bpf(f, tp_id);
	probe_tp_btf(&f->r[SVC_FEAT_TP_BTF], vmlinux, tp_id);
	probe_test_run(&f->r[SVC_FEAT_XDP_TEST_RUN], &f->r[SVC_FEAT_XDP_LIVE_FRAMES]);
	probe_socket(&f->r[SVC_FEAT_AF_PACKET], AF_PACKET, "AF_PACKET");
	probe_socket(&f->r[SVC_FEAT_AF_XDP], AF_XDP, "AF_XDP");
	probe_tcx(&f->r[SVC_FEAT_TCX]);
	btf__free(vmlinux);
	f->probed = true;
}

bool svc_feat_available(const struct svc_features *f, enum svc_feature feat)
{
	return f->probed && feat < SVC_FEAT_MAX && f->r[feat].state == SVC_FEAT_YES;
}

const char *svc_feat_state_name(enum svc_feat_state s)
{
	return s == SVC_FEAT_YES ? "yes" : s == SVC_FEAT_NO ? "no" : "unknown";
}

int svc_features_summary(const struct svc_features *f, char *buf, size_t len)
{
	size_t off = 0;
	int n;

	if (len)
		buf[0] = '\0';
	for (int k = 0; k < SVC_FEAT_MAX; k++) {
		const struct svc_feat_result *r = &f->r[k];

		n = snprintf(buf + (off < len ? off : len), off < len ? len - off : 0, "%s%s %s",
			     k ? ", " : "", svc_feat_info[k].name, svc_feat_state_name(r->state));
		off += (size_t)n;
		if (r->state == SVC_FEAT_YES)
			continue;
		n = snprintf(buf + (off < len ? off : len), off < len ? len - off : 0, " (%s)",
			     r->err ? strerror(-r->err) : r->detail);
		off += (size_t)n;
	}
	return (int)off;
}

void svc_features_log(const struct svc_features *f)
{
	char line[2048];

	svc_features_summary(f, line, sizeof(line));
	pr_info("kernel features: %s", line);
	for (int k = 0; k < SVC_FEAT_MAX; k++) {
		const struct svc_feat_result *r = &f->r[k];

		if (r->state == SVC_FEAT_YES || !svc_feat_info[k].used)
			continue;
		pr_warn("kernel feature %s %s: %s; needed by %s: %s", svc_feat_info[k].name,
			r->state == SVC_FEAT_NO ? "missing" : "not known", r->detail,
			svc_feat_info[k].used_by, svc_feat_info[k].without);
	}
}

json_object *svc_features_json(const struct svc_features *f)
{
	json_object *arr = json_object_new_array();

	for (int k = 0; k < SVC_FEAT_MAX; k++) {
		const struct svc_feat_result *r = &f->r[k];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "feature", json_object_new_string(svc_feat_info[k].name));
		json_object_object_add(o, "state",
				       json_object_new_string(svc_feat_state_name(r->state)));
		json_object_object_add(o, "available",
				       r->state == SVC_FEAT_UNKNOWN
					       ? NULL
					       : json_object_new_boolean(r->state == SVC_FEAT_YES));
		json_object_object_add(o, "error",
				       r->err ? json_object_new_string(strerror(-r->err)) : NULL);
		json_object_object_add(o, "detail", json_object_new_string(r->detail));
		json_object_object_add(o, "used_by",
				       json_object_new_string(svc_feat_info[k].used_by));
		json_object_object_add(o, "without",
				       json_object_new_string(svc_feat_info[k].without));
		json_object_array_add(arr, o);
	}
	return arr;
}

void svc_features_metrics(FILE *out, const struct svc_features *f)
{
	fprintf(out, "# HELP svcplane_kernel_feature Kernel features probed at start: 1 available, "
		     "0 missing, -1 the probe failed (docs/svcplaned.md).\n"
		     "# TYPE svcplane_kernel_feature gauge\n");
	for (int k = 0; k < SVC_FEAT_MAX; k++)
		fprintf(out, "svcplane_kernel_feature{feature=\"%s\"} %d\n", svc_feat_info[k].name,
			(int)f->r[k].state);
}

bool svc_features_covers_helper(enum bpf_prog_type type, int id)
{
	for (size_t i = 0; i < sizeof(feat_helpers) / sizeof(feat_helpers[0]); i++)
		if (feat_helpers[i].type == type && feat_helpers[i].id == id)
			return true;
	return false;
}

bool svc_features_covers_map(enum bpf_map_type type)
{
	for (size_t i = 0; i < sizeof(feat_maps) / sizeof(feat_maps[0]); i++)
		if (feat_maps[i].type == type)
			return true;
	return false;
}
