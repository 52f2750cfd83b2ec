/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What dataplane.c and dataplane_attach.c share: the opened data plane, and error text. */
#ifndef SVC_DATAPLANE_INT_H
#define SVC_DATAPLANE_INT_H

#include <limits.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "router.skel.h"
#include "endpoint.skel.h"
#include "dataplane.h"

struct svc_dp {
	struct router_bpf *router;
	struct endpoint_bpf *endpoint;
	char pin_dir[PATH_MAX];
	int ncpus;     /* possible CPUs: the per-CPU value count of PERCPU maps */
	__u32 ch_seed; /* deployment seed: flow hash (rodata) and table permutations */
};

static inline const char *dp_strerror(int err)
{
	return strerror(err < 0 ? -err : err);
}

/* dp_program - the XDP program of @prog in the object that has it (dataplane.c). */
struct bpf_program *dp_program(struct svc_dp *dp, enum svc_prog prog);

#endif /* SVC_DATAPLANE_INT_H */
