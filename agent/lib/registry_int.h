/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the registry_*.c files share and nothing else sees: array growth, the
 * comparisons and formats of the validated operations, id allocation. The
 * public API is registry.h.
 */
#ifndef SVC_REGISTRY_INT_H
#define SVC_REGISTRY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include "registry.h"

/* PUSH - a new, uninitialised last element of r->arr (grown); NULL with @errp set on ENOMEM. */
#define PUSH(r, arr, errp)                                                                        \
	({                                                                                        \
		void *__np =                                                                      \
			reg_grow((r)->arr, &(r)->cap_##arr, (r)->n_##arr + 1, sizeof(*(r)->arr)); \
		if (__np)                                                                         \
			(r)->arr = __np;                                                          \
		else                                                                              \
			svc_err_set(errp, SVC_API_INTERNAL, "out of memory");                     \
		__np ? &(r)->arr[(r)->n_##arr++] : NULL;                                          \
	})

#define REMOVE(r, arr, idx)                                            \
	do {                                                           \
		size_t __i = (idx);                                    \
		memmove(&(r)->arr[__i], &(r)->arr[__i + 1],            \
			((r)->n_##arr - __i - 1) * sizeof(*(r)->arr)); \
		(r)->n_##arr--;                                        \
	} while (0)

/* registry.c */
void *reg_grow(void *p, size_t *cap, size_t need, size_t size);
bool reg_addr_eq(const struct svc_addr *a, const struct svc_addr *b);
bool reg_sid_eq(const struct svc_sid *a, const struct svc_sid *b);
bool reg_prefix_eq(const struct svc_lpm_key *a, const struct svc_lpm_key *b);
bool reg_addr_zero(const struct svc_addr *a);
struct svc_reg_service *reg_service_by_name(const struct svc_reg *r, const char *name);
struct svc_reg_nh *reg_nh_find(const struct svc_reg *r, const struct svc_addr *addr);
const char *reg_fmt_sid(const struct svc_sid *sid, char *buf);
const char *reg_fmt_addr(const struct svc_addr *a, char *buf);
const char *reg_fmt_prefix(const struct svc_lpm_key *p, char *buf);
int reg_check_name(const char *name, const char *what, struct svc_err *err);
int reg_check_weight(__u32 weight, struct svc_err *err);
int reg_check_hop_addr(const struct svc_addr *a, struct svc_err *err);

/* registry_ids.c */
bool reg_bit_get(const __u64 *map, __u32 id);
void reg_bit_set(__u64 *map, __u32 id, bool on);
__u32 reg_id_alloc(__u64 *map, __u32 max, __u32 *next);
__u32 reg_nh_ensure(struct svc_reg *r, const struct svc_addr *addr, struct svc_err *err);

/* registry_service.c */
int reg_service_add_ids(struct svc_reg *r, const struct svc_sid *sid, const char *name,
			__u32 rule_id, __u32 set_id, struct svc_err *err);
int reg_hc_check(const struct svc_reg_health *hc, struct svc_err *err);
int reg_instance_add_state(struct svc_reg *r, const struct svc_sid *sid,
			   const struct svc_addr *addr, __u32 weight, bool up, const char *name,
			   struct svc_err *err);

/* registry_rules.c */
int reg_rule_add_ids(struct svc_reg *r, const struct svc_lpm_key *prefix, int action,
		     const struct svc_reg_hop *hops, size_t nhops, __u32 rule_id, __u32 set_id,
		     struct svc_err *err);

#endif /* SVC_REGISTRY_INT_H */
