// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Registry: persistent id allocation. Next-hop, rule and set ids come from
 * bitmaps, reused as late as possible; a next hop's id follows its address
 * where it can, so restarts and other routers agree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "addr.h"
#include "dataplane.h"
#include "registry.h"
#include "registry_int.h"
#include "svc_tiflow.h"

bool reg_bit_get(const __u64 *map, __u32 id)
{
	return map[id / 64] & (1ULL << (id % 64));
}

void reg_bit_set(__u64 *map, __u32 id, bool on)
{
	if (on)
		map[id / 64] |= 1ULL << (id % 64);
	else
		map[id / 64] &= ~(1ULL << (id % 64));
}

/*
 * Allocates the next free id in 1..max-1, starting at *next and wrapping, so
 * a freed id is reused as late as possible (counters and flows may still
 * reference it). Returns 0 when every id is taken.
 */
__u32 reg_id_alloc(__u64 *map, __u32 max, __u32 *next)
{
	for (__u32 k = 0; k < max; k++) {
		__u32 id = *next + k;

		id = 1 + (id - 1) % (max - 1);
		if (!reg_bit_get(map, id)) {
			reg_bit_set(map, id, true);
			*next = id % (max - 1) + 1;
			return id;
		}
	}
	return 0;
}

int svc_reg_nh_release(struct svc_reg *r, __u32 id)
{
	for (size_t i = 0; i < r->n_nexthops; i++) {
		if (r->nexthops[i].id != id)
			continue;
		if (svc_reg_nh_used(r, &r->nexthops[i].addr))
			return -EBUSY;
		reg_bit_set(r->nh_used, id, false);
		REMOVE(r, nexthops, i);
		return 0;
	}
	return -ENOENT;
}

/*
 * The id an address asks for first: a hash of the address (FNV-1a, then
 * splitmix64's finalizer) in 1..SVC_MAX_NEXTHOPS-1. A next-hop id is also the
 * instance id flowIDs and TIFIDs carry, so routers configured alike must
 * agree on it whatever order instances were added in; only when two
 * addresses collide does the order decide which one takes the next free id.
 */
static __u32 nh_id_wanted(const struct svc_addr *addr)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < sizeof(addr->b); i++)
		h = (h ^ addr->b[i]) * 0x100000001b3ULL;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return 1 + (__u32)(h % (SVC_MAX_NEXTHOPS - 1));
}

/* Makes sure @addr has a next-hop id (allocating one); returns it, or 0 with @err set. */
__u32 reg_nh_ensure(struct svc_reg *r, const struct svc_addr *addr, struct svc_err *err)
{
	struct svc_reg_nh *nh = reg_nh_find(r, addr);
	__u32 id, next = nh_id_wanted(addr);

	if (nh)
		return nh->id;
	nh = PUSH(r, nexthops, err);
	if (!nh)
		return 0;
	/* The hashed id, or on a collision the next free one after it. */
	id = reg_id_alloc(r->nh_used, SVC_MAX_NEXTHOPS, &next);
	if (!id) {
		r->n_nexthops--;
		svc_err_set(err, SVC_API_INTERNAL, "no free next-hop id (%d in use)",
			    SVC_MAX_NEXTHOPS - 1);
		return 0;
	}
	nh->addr = *addr;
	nh->id = id;
	nh->reset = false;
	return id;
}

int svc_reg_nh_set(struct svc_reg *r, const struct svc_addr *addr, __u32 id, bool reset,
		   struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN];
	struct svc_reg_nh *nh;

	if (!id || id >= SVC_MAX_NEXTHOPS)
		return svc_err_set(err, SVC_API_INVALID, "next-hop id %u out of range 1..%d", id,
				   SVC_MAX_NEXTHOPS - 1);
	if (reg_check_hop_addr(addr, err))
		return -1;
	if (reg_nh_find(r, addr) || reg_bit_get(r->nh_used, id))
		return svc_err_set(err, SVC_API_EXISTS, "next hop %s or id %u known already",
				   reg_fmt_addr(addr, b), id);
	nh = PUSH(r, nexthops, err);
	if (!nh)
		return -1;
	nh->addr = *addr;
	nh->id = id;
	nh->reset = reset;
	reg_bit_set(r->nh_used, id, true);
	return 0;
}
