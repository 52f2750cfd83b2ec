// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libsvc data plane: the next-hop sets. Each set's consistent-hash table is an
 * inner map of ch_tables, swapped whole; set_members says which next hops a
 * set has (option policy); ch_present records which sets are installed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ch.h"
#include "dataplane.h"
#include "dataplane_int.h"
#include "log.h"
#include "svc_optmac.h"

int dp_ch_present_load(struct svc_dp *dp)
{
	__u32 zero = 0;
	int err;

	err = bpf_map_lookup_elem(bpf_map__fd(dp->router->maps.ch_present), &zero, &dp->ch_present);
	if (err)
		pr_err("map ch_present: read: %s", dp_strerror(err));
	return err;
}

/* Marks (@on) or clears set @set_id in ch_present; written only when it changes. */
static int dp_ch_present_mark(struct svc_dp *dp, __u32 set_id, bool on)
{
	__u64 *w = &dp->ch_present.bits[set_id / 64], bit = 1ULL << (set_id % 64);
	__u64 old = *w;
	__u32 zero = 0;
	int err;

	*w = on ? old | bit : old & ~bit;
	if (*w == old)
		return 0;
	err = bpf_map_update_elem(bpf_map__fd(dp->router->maps.ch_present), &zero, &dp->ch_present,
				  BPF_ANY);
	if (err) {
		*w = old;
		pr_err("map ch_present: %s set %u: %s", on ? "mark" : "clear", set_id,
		       dp_strerror(err));
	}
	return err;
}

/* ---- consistent-hash tables ---- */

/*
 * Marks the ch_tables ids that hold a set, reading the array of maps in one
 * batch: the batch skips empty slots (checked on 6.1 and 6.18) and returns
 * the present ids with their inner map ids. Only for pins that predate
 * ch_present: on 6.1 each slot of the batch waits for an RCU grace period
 * (4,096 slots: 76-134 s in a QEMU guest).
 */
static int dp_nhsets_scan(struct svc_dp *dp, __u64 *present)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	__u32 out_batch, count = SVC_MAX_SETS;
	__u32 *keys, *inner;
	int err;

	keys = malloc(SVC_MAX_SETS * sizeof(*keys));
	inner = malloc(SVC_MAX_SETS * sizeof(*inner));
	if (!keys || !inner) {
		err = -ENOMEM;
		goto out;
	}
	/* All in one call: ENOENT marks the end, as with any batch. */
	err = bpf_map_lookup_batch(bpf_map__fd(dp->router->maps.ch_tables), NULL, &out_batch, keys,
				   inner, &count, &bopts);
	if (err && err != -ENOENT) {
		pr_err("map ch_tables: read present sets (%u read): %s", count, dp_strerror(err));
		goto out;
	}
	err = 0;
	memset(present, 0, SVC_MAX_SETS / 8);
	for (__u32 i = 0; i < count; i++) {
		if (keys[i] >= SVC_MAX_SETS) {
			err = -EIO;
			pr_err("map ch_tables: read present sets: id %u out of range", keys[i]);
			break;
		}
		present[keys[i] / 64] |= 1ULL << (keys[i] % 64);
	}
out:
	free(keys);
	free(inner);
	return err;
}

int svc_dp_nhsets_present(struct svc_dp *dp, __u64 *present)
{
	__u32 zero = 0;
	int err;

	if (!dp || !present)
		return -EINVAL;
	if (dp->ch_present_legacy) {
		pr_warn("map ch_present: new beside older pins: reading every ch_tables slot once "
			"(slow on kernels whose map-in-map lookups wait for RCU, e.g. 6.1)");
		err = dp_nhsets_scan(dp, dp->ch_present.bits);
		if (err)
			return err;
		err = bpf_map_update_elem(bpf_map__fd(dp->router->maps.ch_present), &zero,
					  &dp->ch_present, BPF_ANY);
		if (err) {
			pr_err("map ch_present: write: %s", dp_strerror(err));
			return err;
		}
		dp->ch_present_legacy = false;
	}
	memcpy(present, dp->ch_present.bits, sizeof(dp->ch_present.bits));
	return 0;
}

/* Copies set @set_id's installed table into @table; -ENOENT if the set has none. */
static int dp_nhset_read(struct svc_dp *dp, __u32 set_id, __u32 *table)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	__u32 inner_id, out_batch, count = SVC_CH_SIZE;
	__u32 *keys = NULL;
	int fd = -1, err;

	err = bpf_map_lookup_elem(bpf_map__fd(dp->router->maps.ch_tables), &set_id, &inner_id);
	if (err) {
		if (err != -ENOENT)
			pr_err("map ch_tables: lookup set %u: %s", set_id, dp_strerror(err));
		return err;
	}
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0) {
		err = fd;
		/* Replaced and freed since the lookup: the caller may retry. */
		pr_err("map ch_tables: set %u: inner map id %u: %s", set_id, inner_id,
		       dp_strerror(err));
		return err;
	}
	keys = malloc(SVC_CH_SIZE * sizeof(*keys));
	if (!keys) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* An array batch returns keys 0..count-1 in order; ENOENT marks the end. */
	err = bpf_map_lookup_batch(fd, NULL, &out_batch, keys, table, &count, &bopts);
	if ((err && err != -ENOENT) || count != SVC_CH_SIZE) {
		err = err && err != -ENOENT ? err : -EIO;
		pr_err("map ch_tables: set %u: read inner map id %u (%u of %u slots): %s", set_id,
		       inner_id, count, SVC_CH_SIZE, dp_strerror(err));
		goto cleanup;
	}
	err = 0;
cleanup:
	free(keys);
	close(fd);
	return err;
}

int svc_dp_nhset_read(struct svc_dp *dp, __u32 set_id, __u32 *table)
{
	if (!dp || !table || set_id >= SVC_MAX_SETS)
		return -EINVAL;
	return dp_nhset_read(dp, set_id, table);
}

/* A new inner table filled with @table, as an fd. */
static int dp_inner_create(__u32 set_id, const __u32 *table)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	__u32 i, count = SVC_CH_SIZE;
	__u32 *keys;
	int fd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "svc_ch_table", sizeof(__u32), sizeof(__u32),
			    SVC_CH_SIZE, NULL);
	if (fd < 0) {
		pr_err("map ch_tables: set %u: create inner table: %s", set_id, dp_strerror(fd));
		return fd;
	}
	keys = malloc(SVC_CH_SIZE * sizeof(*keys));
	if (!keys) {
		close(fd);
		return -ENOMEM;
	}
	for (i = 0; i < SVC_CH_SIZE; i++)
		keys[i] = i;
	err = bpf_map_update_batch(fd, keys, table, &count, &bopts);
	free(keys);
	if (err || count != SVC_CH_SIZE) {
		err = err ?: -EIO;
		pr_err("map ch_tables: set %u: fill inner table (%u of %u slots): %s", set_id,
		       count, SVC_CH_SIZE, dp_strerror(err));
		close(fd);
		return err;
	}
	return fd;
}

/* dp_members_add - set_members: every member of @set_id present (before its table is installed). */
static int dp_members_add(struct svc_dp *dp, __u32 set_id, const struct svc_ch_member *m, size_t n)
{
	int fd = bpf_map__fd(dp->router->maps.set_members), err;
	struct svc_set_member_key k;
	__u32 zero = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		k.set_id = set_id;
		k.nh_id = m[i].nh_id;
		err = bpf_map_update_elem(fd, &k, &zero, BPF_ANY);
		if (err) {
			err = -errno;
			pr_err("map set_members: set %u: add next hop %u: %s", set_id, k.nh_id,
			       dp_strerror(err));
			return err;
		}
	}
	return 0;
}

/* dp_members_prune - set_members: drop @set_id's entries not in @m (after the table swap). */
static int dp_members_prune(struct svc_dp *dp, __u32 set_id, const struct svc_ch_member *m,
			    size_t n)
{
	int fd = bpf_map__fd(dp->router->maps.set_members), err;
	struct svc_set_member_key k, next, *gone = NULL;
	size_t i, ngone = 0, cap = 0;
	bool keep, first = true;

	for (;;) {
		err = bpf_map_get_next_key(fd, first ? NULL : &k, &next);
		if (err)
			break;
		first = false;
		k = next;
		if (k.set_id != set_id)
			continue;
		keep = false;
		for (i = 0; i < n && !keep; i++)
			keep = m[i].nh_id == k.nh_id;
		if (keep)
			continue;
		if (ngone == cap) {
			void *p = realloc(gone, (cap ? cap * 2 : 16) * sizeof(*gone));

			if (!p) {
				free(gone);
				return -ENOMEM;
			}
			gone = p;
			cap = cap ? cap * 2 : 16;
		}
		gone[ngone++] = k;
	}
	err = 0;
	for (i = 0; i < ngone; i++) {
		if (bpf_map_delete_elem(fd, &gone[i]) && errno != ENOENT) {
			err = -errno;
			pr_err("map set_members: set %u: remove next hop %u: %s", set_id,
			       gone[i].nh_id, dp_strerror(err));
			break;
		}
	}
	free(gone);
	return err;
}

int svc_dp_nhset_update(struct svc_dp *dp, __u32 set_id, const struct svc_ch_member *members,
			size_t n)
{
	__u32 *prev = NULL, *table = NULL;
	int inner = -1, err;
	bool installed;

	if (!dp || (n && !members))
		return -EINVAL;
	if (set_id >= SVC_MAX_SETS) {
		pr_err("map ch_tables: set id %u out of range 0..%u", set_id, SVC_MAX_SETS - 1);
		return -EINVAL;
	}
	prev = malloc(SVC_CH_SIZE * sizeof(*prev));
	table = malloc(SVC_CH_SIZE * sizeof(*table));
	if (!prev || !table) {
		err = -ENOMEM;
		goto cleanup;
	}
	/*
	 * The table depends only on the set and the seed, never on the installed
	 * one: every router, and this one rebuilt from scratch, agree.
	 */
	err = svc_ch_build(members, n, dp->ch_seed, SVC_CH_SIZE, table);
	if (err) {
		pr_err("map ch_tables: set %u: build table of %zu next hops: %s", set_id, n,
		       dp_strerror(err));
		goto cleanup;
	}
	/* Not in ch_present: not installed, and no lookup (each waits for RCU on 6.1). */
	if (!dp->ch_present_legacy && !(dp->ch_present.bits[set_id / 64] & (1ULL << (set_id % 64))))
		err = -ENOENT;
	else
		err = dp_nhset_read(dp, set_id, prev);
	if (err && err != -ENOENT)
		goto cleanup;
	installed = !err;
	/* Members first: an option naming a new member is in policy once its slots are. */
	err = dp_members_add(dp, set_id, members, n);
	if (err)
		goto cleanup;
	/* Same table as installed (e.g. an agent restart re-applying its state): keep it. */
	if (installed && !memcmp(prev, table, SVC_CH_SIZE * sizeof(*table))) {
		err = dp_members_prune(dp, set_id, members, n);
		goto cleanup;
	}
	inner = dp_inner_create(set_id, table);
	if (inner < 0) {
		err = inner;
		goto cleanup;
	}
	/* Recorded before it exists: ch_present stays a superset across a crash. */
	err = dp_ch_present_mark(dp, set_id, true);
	if (err)
		goto cleanup;
	/* One update swaps the whole table; the old one is freed when no program holds it. */
	err = bpf_map_update_elem(bpf_map__fd(dp->router->maps.ch_tables), &set_id, &inner,
				  BPF_ANY);
	if (err)
		pr_err("map ch_tables: set %u: install table: %s", set_id, dp_strerror(err));
	else
		err = dp_members_prune(dp, set_id, members, n);
cleanup:
	if (inner >= 0)
		close(inner);
	free(prev);
	free(table);
	return err;
}

int svc_dp_nhset_delete(struct svc_dp *dp, __u32 set_id)
{
	int err;

	if (!dp || set_id >= SVC_MAX_SETS)
		return -EINVAL;
	err = bpf_map_delete_elem(bpf_map__fd(dp->router->maps.ch_tables), &set_id);
	if (err == -ENOENT)
		pr_debug("map ch_tables: delete set %u: %s", set_id, dp_strerror(err));
	else if (err) {
		pr_err("map ch_tables: delete set %u: %s", set_id, dp_strerror(err));
		return err;
	}
	err = dp_ch_present_mark(dp, set_id, false) ?: err;
	return dp_members_prune(dp, set_id, NULL, 0) ?: err;
}
