// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Maglev-style consistent-hash tables with exact weights and minimal disruption. */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ch.h"

/*
 * How a table is built (see ch.h for the guarantees):
 *  1. quotas: member i gets floor(size * w_i / W) slots; the R slots left over
 *     go one each to members with a fractional share: first to those that
 *     hold more than their floor in @prev (so they need not give one up),
 *     then by largest remainder, then by lowest id. Every quota is thus the
 *     floor or the ceiling of the exact share.
 *  2. keep: a slot of @prev stays with its member while the member is within
 *     quota; an over-quota member keeps the slots that come first in its
 *     permutation and frees the rest. Slots of removed members are free.
 *  3. fill: members under quota take turns (in id order) claiming the next
 *     free slot along their own permutation, as in Maglev, until full.
 * Only free slots change, so the moves are exactly the slots that must move.
 */

struct ch_member {
	__u32 id;
	__u32 weight;
	__u32 offset; /* permutation: slot(j) = (offset + j * skip) % size */
	__u32 skip;
	__u32 next;	 /* next permutation index to try while filling */
	__u32 quota;	 /* slots this member ends with */
	__u32 held;	 /* slots it holds (from @prev, then while filling) */
	__u32 floor;	 /* floor(size * w / W) */
	__u64 remainder; /* (size * w) % W: the fractional share, times W */
};

/* A 64-bit finalizer (splitmix64's mixing steps): spreads an id over 32 bits. */
static __u32 ch_hash(__u32 id, __u32 seed)
{
	__u64 z = (((__u64)seed << 32) | id) + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (__u32)(z ^ (z >> 31));
}

/* A permutation walks every slot only when size is prime (skip is then coprime). */
static int ch_is_prime(__u32 n)
{
	__u32 d;

	if (n < 2)
		return 0;
	for (d = 2; (__u64)d * d <= n; d++)
		if (n % d == 0)
			return 0;
	return 1;
}

static __u32 ch_perm(const struct ch_member *m, __u32 j, __u32 size)
{
	return (__u32)(((__u64)m->offset + (__u64)j * m->skip) % size);
}

static int ch_cmp_id(const void *a, const void *b)
{
	const struct ch_member *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Index of @id in the id-sorted @m, or -1. */
static int ch_find(const struct ch_member *m, size_t n, __u32 id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m[mid].id == id)
			return (int)mid;
		if (m[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Order for handing out the leftover slots (step 1 above); @base is the member array. */
static int ch_cmp_extra(const void *a, const void *b, void *base)
{
	const struct ch_member *x = (const struct ch_member *)base + *(const __u32 *)a;
	const struct ch_member *y = (const struct ch_member *)base + *(const __u32 *)b;
	int px = x->held > x->floor, py = y->held > y->floor;

	if (px != py)
		return py - px;
	if (x->remainder != y->remainder)
		return x->remainder > y->remainder ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Step 1: quotas (floor or ceil of the exact share). */
static int ch_quotas(struct ch_member *m, size_t n, __u32 size)
{
	__u64 total = 0, assigned = 0;
	__u32 *order, k = 0;
	size_t i;

	for (i = 0; i < n; i++)
		total += m[i].weight;
	for (i = 0; i < n; i++) {
		__u64 share = (__u64)size * m[i].weight;

		m[i].floor = (__u32)(share / total);
		m[i].remainder = share % total;
		m[i].quota = m[i].floor;
		assigned += m[i].floor;
	}
	order = calloc(n, sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (m[i].remainder)
			order[k++] = (__u32)i;
	/* The remainders add up to (size - assigned) * total, each below total: k >= leftover. */
	qsort_r(order, k, sizeof(*order), ch_cmp_extra, m);
	for (i = 0; i < size - assigned && i < k; i++)
		m[order[i]].quota++;
	free(order);
	return 0;
}

/* Step 2: an over-quota member keeps the first @quota of its slots in permutation order. */
static void ch_release(struct ch_member *m, int idx, __s32 *owner, __u32 size)
{
	__u32 j, seen = 0, kept = 0;

	for (j = 0; j < size && seen < m->held; j++) {
		__u32 s = ch_perm(m, j, size);

		if (owner[s] != idx)
			continue;
		seen++;
		if (kept < m->quota)
			kept++;
		else
			owner[s] = -1;
	}
	m->held = kept;
}

/*
 * Step 3: Maglev turns over the members still under quota. Slots only get
 * taken here, so each member walks its permutation once: running off its end
 * means the quotas and the free slots disagree (a bug), reported as -EIO.
 */
static int ch_fill(struct ch_member *m, size_t n, __s32 *owner, __u32 size)
{
	size_t i, active = n;

	while (active) {
		active = 0;
		for (i = 0; i < n; i++) {
			struct ch_member *c = &m[i];
			__u32 s;

			if (c->held >= c->quota)
				continue;
			do {
				if (c->next >= size)
					return -EIO;
				s = ch_perm(c, c->next++, size);
			} while (owner[s] >= 0);
			owner[s] = (__s32)i;
			c->held++;
			active += c->held < c->quota;
		}
	}
	return 0;
}

static int ch_validate(const struct svc_ch_member *members, size_t n, __u32 size, const __u32 *out)
{
	__u64 total = 0;
	size_t i;

	if (!out || !ch_is_prime(size) || n > size || (n && !members))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!members[i].nh_id || !members[i].weight)
			return -EINVAL;
		total += members[i].weight;
	}
	/* Keeps size * weight and the remainders within 64 bits. */
	return total > UINT32_MAX ? -EINVAL : 0;
}

int svc_ch_build(const struct svc_ch_member *members, size_t n, const __u32 *prev, __u32 size,
		 __u32 *out)
{
	struct ch_member *m = NULL;
	__s32 *owner = NULL;
	int err;
	size_t i;
	__u32 s;

	err = ch_validate(members, n, size, out);
	if (err)
		return err;
	if (!n) {
		memset(out, 0, (size_t)size * sizeof(*out));
		return 0;
	}
	m = calloc(n, sizeof(*m));
	owner = malloc((size_t)size * sizeof(*owner));
	if (!m || !owner) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		m[i].id = members[i].nh_id;
		m[i].weight = members[i].weight;
		m[i].offset = ch_hash(m[i].id, 0x5eed0001) % size;
		m[i].skip = size > 2 ? ch_hash(m[i].id, 0x5eed0002) % (size - 1) + 1 : 1;
	}
	qsort(m, n, sizeof(*m), ch_cmp_id);
	for (i = 1; i < n; i++) {
		if (m[i].id == m[i - 1].id) {
			err = -EINVAL;
			goto cleanup;
		}
	}
	for (s = 0; s < size; s++) {
		owner[s] = prev ? ch_find(m, n, prev[s]) : -1;
		if (owner[s] >= 0)
			m[owner[s]].held++;
	}
	err = ch_quotas(m, n, size);
	if (err)
		goto cleanup;
	for (i = 0; i < n; i++)
		if (m[i].held > m[i].quota)
			ch_release(&m[i], (int)i, owner, size);
	err = ch_fill(m, n, owner, size);
	if (err)
		goto cleanup;
	for (s = 0; s < size; s++)
		out[s] = m[owner[s]].id;
cleanup:
	free(owner);
	free(m);
	return err;
}
