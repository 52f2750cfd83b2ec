/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* SipHash-2-4 over whole 64-bit words: the responder's keyed PRF (headers/svc_optmac.h). */
#ifndef SVC_BPF_TIFLOW_PRF_H
#define SVC_BPF_TIFLOW_PRF_H

#include "../../headers/svc_optmac.h"

/* tiflow_siphash - svc_siphash(): SipHash-2-4 of @n words; one definition for BPF and userspace. */
#define tiflow_siphash(key, m, n) svc_siphash(key, m, n)

#endif /* SVC_BPF_TIFLOW_PRF_H */
