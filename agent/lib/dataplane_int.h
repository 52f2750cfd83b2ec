/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What dataplane.c, dataplane_attach.c and dataplane_sets.c share: the data plane, error text. */
#ifndef SVC_DATAPLANE_INT_H
#define SVC_DATAPLANE_INT_H

#include <limits.h>
#include <stdbool.h>
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
	/* The ch_present map's value as last written; legacy: the pins predate that map. */
	struct svc_ch_present ch_present;
	bool ch_present_legacy;
	/* Next-hop egress cache (dataplane_nhe.c): per id, the neighbour its egress uses. */
	struct dp_nhe *nhe;
	int nhe_fd; /* rtnetlink events, -1 until svc_dp_nh_watch_start */
};

/* What the egress of one next hop depends on: its neighbour (gateway or itself). */
struct dp_nhe {
	struct svc_addr neigh;
	int ifindex;
	bool used; /* an up next hop with an egress entry written */
};

static inline const char *dp_strerror(int err)
{
	return strerror(err < 0 ? -err : err);
}

/* dp_ch_present_load - read the ch_present record into @dp (dataplane_sets.c). */
int dp_ch_present_load(struct svc_dp *dp);

/* dp_program - the XDP program of @prog in the object that has it (dataplane.c). */
struct bpf_program *dp_program(struct svc_dp *dp, enum svc_prog prog);

#endif /* SVC_DATAPLANE_INT_H */
