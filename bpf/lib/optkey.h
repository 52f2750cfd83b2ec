/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The deployment's option key (headers/svc_optmac.h): one pinned map that the
 * router (checks ids), the direct path (stamps flowIDs into SYN-ACKs) and the
 * TI-flow responder (chooses its TIFID half) of a host share by name. The
 * agent writes it (svcplaned --opt-key, docs/svcplaned.md).
 */
#ifndef SVC_BPF_OPTKEY_H
#define SVC_BPF_OPTKEY_H

#include "../../headers/svc_optmac.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct svc_opt_key);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} opt_key SEC(".maps");

/* svc_opt_key_get - the deployment key, or NULL when none is configured. */
static __always_inline const struct svc_opt_key *svc_opt_key_get(void)
{
	struct svc_opt_key *k;
	__u32 zero = 0;

	k = bpf_map_lookup_elem(&opt_key, &zero);
	if (!k || !(k->flags & SVC_OPT_KEY_F_SET))
		return NULL;
	return k;
}

#endif /* SVC_BPF_OPTKEY_H */
