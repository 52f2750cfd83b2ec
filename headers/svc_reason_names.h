/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Userspace names for enum svc_reason (metric labels and descriptions). */
#ifndef SVC_REASON_NAMES_H
#define SVC_REASON_NAMES_H

#include "svc_abi.h"

/* svc_reason_label[r]: short snake_case label, used in metrics and JSON. */
static const char *const svc_reason_label[SVC_REASON_MAX] = {
#define SVC_REASON_LABEL(name, label, desc) [SVC_R_##name] = label,
	SVC_REASONS(SVC_REASON_LABEL)
#undef SVC_REASON_LABEL
};

/* svc_reason_desc[r]: one-line description for people. */
static const char *const svc_reason_desc[SVC_REASON_MAX] = {
#define SVC_REASON_DESC(name, label, desc) [SVC_R_##name] = desc,
	SVC_REASONS(SVC_REASON_DESC)
#undef SVC_REASON_DESC
};

#endif /* SVC_REASON_NAMES_H */
