// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Maglev consistent-hash tables: a pure function of the set and the seed, with exact weights. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ch.h"

/*
 * How a table is built (see ch.h for the guarantees):
 *  1. canonical order: members sorted by address, so nothing depends on the
 *     order they were given in; each gets Maglev's permutation of the slots,
 *     slot(j) = (offset + j * skip) % size, offset and skip hashed from its
 *     address and the seed.
 *  2. quotas: member i gets floor(size * w_i / W) slots; the slots left over
 *     go one each to the members with the largest fractional share (ties:
 *     canonical order). Every quota is the floor or the ceiling of the share.
 *  3. population (Maglev's): members take turns claiming the next free slot
 *     along their own permutation until they reach their quota. Turns are
 *     weighted by stride scheduling: member i's k-th turn (k from 0) comes at
 *     time (k + 1/2) / w_i, ties in canonical order. With equal weights this
 *     is Maglev's round robin; with weights each member claims slots at its
 *     own rate, so all finish together and the disruption stays Maglev's.
 */

struct ch_member {
	struct svc_addr addr;
	__u32 id;
	__u32 weight;
	__u32 offset; /* permutation: slot(j) = (offset + j * skip) % size */
	__u32 skip;
	__u32 next;	 /* next permutation index to try */
	__u32 quota;	 /* slots this member ends with */
	__u32 held;	 /* slots claimed so far (also: turns taken) */
	__u64 remainder; /* (size * w) % W: the fractional share, times W */
};

/* splitmix64's finalizer: a bijection of 64 bits that spreads every input bit. */
static __u64 ch_mix(__u64 z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The address as two big-endian words, so the hash is the same on any host. */
static __u64 ch_word(const __u8 *b)
{
	__u64 w = 0;

	for (int i = 0; i < 8; i++)
		w = w << 8 | b[i];
	return w;
}

/* Hash @which (1: offset, 2: skip) of an address under @seed. */
static __u64 ch_hash(const struct svc_addr *a, __u32 seed, __u32 which)
{
	__u64 h = ch_mix(((__u64)seed << 32 | which) + 0x9e3779b97f4a7c15ULL);

	h = ch_mix(h ^ ch_word(a->b));
	return ch_mix(h ^ ch_word(a->b + 8));
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

static int ch_cmp_addr(const void *a, const void *b)
{
	const struct ch_member *x = a, *y = b;

	return memcmp(&x->addr, &y->addr, sizeof(x->addr));
}

static int ch_cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Step 2: quotas; @order is scratch of n entries. */
static void ch_quotas(struct ch_member *m, size_t n, __u32 size, __u32 *order)
{
	__u64 total = 0, assigned = 0;
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		total += m[i].weight;
	for (i = 0; i < n; i++) {
		__u64 share = (__u64)size * m[i].weight;

		m[i].quota = (__u32)(share / total);
		m[i].remainder = share % total;
		assigned += m[i].quota;
		if (m[i].remainder)
			order[k++] = (__u32)i;
	}
	/*
	 * The remainders add up to (size - assigned) * total, each below total,
	 * so at least size - assigned members have one. Largest first; insertion
	 * sort keeps equal remainders in canonical order (n is small).
	 */
	for (i = 1; i < k; i++) {
		__u32 v = order[i];
		size_t j = i;

		for (; j > 0 && m[order[j - 1]].remainder < m[v].remainder; j--)
			order[j] = order[j - 1];
		order[j] = v;
	}
	for (i = 0; i < size - assigned && i < k; i++)
		m[order[i]].quota++;
}

/* Turn order of step 3: does @a's next turn come before @b's? */
static inline __attribute__((always_inline)) int ch_before(const struct ch_member *m, __u32 a,
							   __u32 b)
{
	/* (2 h_a + 1) / (2 w_a) < (2 h_b + 1) / (2 w_b); both sides < 2^51. */
	__u64 ta = (2 * (__u64)m[a].held + 1) * m[b].weight;
	__u64 tb = (2 * (__u64)m[b].held + 1) * m[a].weight;

	return ta < tb || (ta == tb && a < b);
}

/* A binary min-heap of member indexes by ch_before. */
static void ch_heap_down(const struct ch_member *m, __u32 *heap, size_t len, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, best = i;
		__u32 tmp;

		if (l < len && ch_before(m, heap[l], heap[best]))
			best = l;
		if (l + 1 < len && ch_before(m, heap[l + 1], heap[best]))
			best = l + 1;
		if (best == i)
			return;
		tmp = heap[i];
		heap[i] = heap[best];
		heap[best] = tmp;
		i = best;
	}
}

/*
 * Step 3. Each member walks its permutation once (a slot taken is never
 * freed), so running off its end means the quotas and the free slots
 * disagree (a bug), reported as -EIO.
 */
static int ch_populate(struct ch_member *m, size_t n, __u32 size, __u32 *heap, __s32 *owner)
{
	size_t len = 0, i;
	bool equal = true;

	for (i = 1; i < n; i++)
		equal = equal && m[i].weight == m[0].weight;
	/*
	 * Equal weights: the turn order is round robin in canonical order (the
	 * heap below would give the same order, at several times the cost).
	 */
	while (equal) {
		size_t active = 0;

		for (i = 0; i < n; i++) {
			struct ch_member *c = &m[i];
			__u32 s;

			if (c->held == c->quota)
				continue;
			do {
				if (c->next >= size)
					return -EIO;
				s = ch_perm(c, c->next++, size);
			} while (owner[s] >= 0);
			owner[s] = (__s32)i;
			active += ++c->held < c->quota;
		}
		if (!active)
			return 0;
	}
	for (i = 0; i < n; i++)
		if (m[i].quota)
			heap[len++] = (__u32)i;
	for (i = len; i-- > 0;)
		ch_heap_down(m, heap, len, i);
	while (len) {
		struct ch_member *c = &m[heap[0]];
		__u32 s;

		do {
			if (c->next >= size)
				return -EIO;
			s = ch_perm(c, c->next++, size);
		} while (owner[s] >= 0);
		owner[s] = (__s32)heap[0];
		if (++c->held == c->quota)
			heap[0] = heap[--len];
		ch_heap_down(m, heap, len, 0);
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

int svc_ch_build(const struct svc_ch_member *members, size_t n, __u32 seed, __u32 size, __u32 *out)
{
	struct ch_member *m = NULL;
	__s32 *owner = NULL;
	__u32 *scratch = NULL;
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
	scratch = calloc(n, sizeof(*scratch));
	owner = malloc((size_t)size * sizeof(*owner));
	if (!m || !scratch || !owner) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		m[i].addr = members[i].addr;
		m[i].id = members[i].nh_id;
		m[i].weight = members[i].weight;
		m[i].offset = (__u32)(ch_hash(&m[i].addr, seed, 1) % size);
		m[i].skip = size > 2 ? (__u32)(ch_hash(&m[i].addr, seed, 2) % (size - 1)) + 1 : 1;
	}
	/* Step 1: canonical order; an address or an id twice is refused. */
	qsort(m, n, sizeof(*m), ch_cmp_addr);
	for (i = 0; i < n; i++)
		scratch[i] = m[i].id;
	qsort(scratch, n, sizeof(*scratch), ch_cmp_u32);
	for (i = 1; i < n; i++) {
		if (!ch_cmp_addr(&m[i], &m[i - 1]) || scratch[i] == scratch[i - 1]) {
			err = -EINVAL;
			goto cleanup;
		}
	}
	ch_quotas(m, n, size, scratch);
	for (s = 0; s < size; s++)
		owner[s] = -1;
	err = ch_populate(m, n, size, scratch, owner);
	if (err)
		goto cleanup;
	for (s = 0; s < size; s++)
		out[s] = m[owner[s]].id;
cleanup:
	free(owner);
	free(scratch);
	free(m);
	return err;
}
