/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Kernel features svcplane relies on, probed once when the agent starts (a
 * libbpf probe, or a real minimal attempt where no probe exists) and reported:
 * one log line, `servicectl status`, the svcplane_kernel_feature metric.
 * Nothing here changes the system: every probe loads a throw-away program or
 * opens a socket and closes it again.
 */
#ifndef SVC_KFEATURES_H
#define SVC_KFEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <json-c/json.h>
#include <linux/bpf.h>

enum svc_feature {
	SVC_FEAT_BTF = 0,	  /* kernel BTF: CO-RE relocations, tp_btf */
	SVC_FEAT_XDP,		  /* XDP programs and every helper the XDP objects call */
	SVC_FEAT_MAPS,		  /* the data plane's map types */
	SVC_FEAT_RINGBUF,	  /* ring buffer maps and their helpers */
	SVC_FEAT_XDP_TEST_RUN,	  /* BPF_PROG_TEST_RUN of an XDP program */
	SVC_FEAT_XDP_LIVE_FRAMES, /* the same with BPF_F_TEST_XDP_LIVE_FRAMES */
	SVC_FEAT_AF_PACKET,	  /* AF_PACKET raw sockets */
	SVC_FEAT_TC,		  /* tc (sched_cls) programs and their helpers */
	SVC_FEAT_TCX,		  /* tcx links (Linux 6.6) */
	SVC_FEAT_SOCKOPS_HDR_OPT, /* sock_ops programs writing TCP header options */
	SVC_FEAT_TP_BTF,	  /* tp_btf programs on inet_sock_set_state */
	SVC_FEAT_AF_XDP,	  /* AF_XDP sockets and XSKMAP */
	SVC_FEAT_MAX,
};

enum svc_feat_state {
	SVC_FEAT_UNKNOWN = -1, /* the probe itself could not run (its reason in detail) */
	SVC_FEAT_NO = 0,
	SVC_FEAT_YES = 1,
};

struct svc_feat_result {
	enum svc_feat_state state;
	int err;	  /* -errno of the kernel's refusal; 0 when none (or a probe said no) */
	char detail[160]; /* what is missing or failed; "" when available */
};

struct svc_features {
	bool probed;
	struct svc_feat_result r[SVC_FEAT_MAX];
};

/* What each feature is, for people and scripts. */
struct svc_feat_info {
	const char *name;    /* stable id: JSON "feature", metric label */
	const char *used_by; /* what in svcplane needs it; "not used" for report-only ones */
	const char *without; /* what happens on a kernel without it */
	bool used;	     /* false: reported only, nothing depends on it */
};
extern const struct svc_feat_info svc_feat_info[SVC_FEAT_MAX];

/* svc_features_probe - run every probe (needs the privileges of the agent: CAP_BPF/root). */
void svc_features_probe(struct svc_features *f);

/* svc_feat_available - true only for SVC_FEAT_YES. */
bool svc_feat_available(const struct svc_features *f, enum svc_feature feat);

/* svc_feat_state_name - "yes", "no", "unknown". */
const char *svc_feat_state_name(enum svc_feat_state s);

/*
 * svc_features_summary - one line: "btf yes, xdp yes, ..., xdp_live_frames no
 * (Operation not permitted)". Returns what snprintf would have written.
 */
int svc_features_summary(const struct svc_features *f, char *buf, size_t len);

/* svc_features_log - the summary at info level, and a warning per missing feature in use. */
void svc_features_log(const struct svc_features *f);

/*
 * svc_features_json - [{feature, state, available (null if unknown), error
 * (strerror or null), detail, used_by, without}] in enum order.
 */
json_object *svc_features_json(const struct svc_features *f);

/* svc_features_metrics - svcplane_kernel_feature{feature=...} 1 / 0 / -1 (unknown). */
void svc_features_metrics(FILE *out, const struct svc_features *f);

/*
 * svc_features_covers_helper/_map - whether the probes check helper @id for
 * programs of type @type / map type @type (a unit test walks the agent's BPF
 * objects so that a helper or map type added to them cannot go unprobed).
 */
bool svc_features_covers_helper(enum bpf_prog_type type, int id);
bool svc_features_covers_map(enum bpf_map_type type);

#endif /* SVC_KFEATURES_H */
