// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the data plane library (agent/lib/dataplane.c) against real
 * maps: each test pins under its own /sys/fs/bpf/svc-test-PID-NAME directory
 * and reads what the library wrote back through the raw pinned maps. XDP
 * tests run in a private network namespace of the test's own process.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "ch.h"
#include "dataplane.h"
#include "log.h"

#define BPFFS "/sys/fs/bpf"

static pid_t main_pid;
static char pin_prefix[64]; /* "svc-test-PID-": every pin directory of this run */

/* ---- helpers ---- */

/* The pin directory of test @name (unique per run and per test). */
static const char *pin_dir(const char *name)
{
	static char dir[256];

	snprintf(dir, sizeof(dir), BPFFS "/%s%s", pin_prefix, name);
	return dir;
}

/* Removes every pin directory this run created: fixture teardown and atexit, also on failure. */
static void cleanup_pins(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (getpid() != main_pid) /* a forked test child exiting: the parent cleans up */
		return;
	d = opendir(BPFFS);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, pin_prefix, strlen(pin_prefix)))
			continue;
		snprintf(path, sizeof(path), BPFFS "/%s", de->d_name);
		svc_dp_unpin(path);
	}
	closedir(d);
}

/* The deployment seed of every data plane these tests open. */
#define TEST_SEED 0x5eedU

static struct svc_dp *open_dp(const char *dir, __u32 max_flows, bool *adopted)
{
	struct svc_dp_config cfg = {
		.pin_dir = dir, .max_flows = max_flows, .max_rules = 2048, .ch_seed = TEST_SEED
	};
	struct svc_dp *dp = NULL;
	int err = svc_dp_open(&cfg, &dp, adopted);

	ck_assert_msg(err == 0, "svc_dp_open(%s): %s", dir, strerror(-err));
	ck_assert_ptr_nonnull(dp);
	return dp;
}

/* An fd of pinned map @name, straight from bpffs (not through the library). */
static int raw_fd(const char *dir, const char *name)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	ck_assert_msg(fd >= 0, "bpf_obj_get(%s): %s", path, strerror(-fd));
	return fd;
}

static struct bpf_map_info map_info(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info;
}

static struct svc_addr addr(const char *s)
{
	struct svc_addr a;

	ck_assert_msg(svc_addr_parse(s, &a) == 0, "address %s", s);
	return a;
}

static struct svc_lpm_key prefix(const char *s)
{
	struct svc_lpm_key k;

	ck_assert_msg(svc_prefix_parse(s, &k) == 0, "prefix %s", s);
	return k;
}

/* Captures what the library logs to stderr between start and end. */
static int capture_fd = -1, saved_stderr = -1;

static void capture_start(void)
{
	char path[] = "/tmp/svc-test-stderr-XXXXXX";

	capture_fd = mkstemp(path);
	ck_assert_int_ge(capture_fd, 0);
	unlink(path);
	fflush(stderr);
	saved_stderr = dup(2);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_ge(dup2(capture_fd, 2), 0);
}

static const char *capture_end(void)
{
	static char buf[8192];
	ssize_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	n = pread(capture_fd, buf, sizeof(buf) - 1, 0);
	close(capture_fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Reads an inner consistent-hash table element by element through the raw outer map. */
static __u32 raw_inner_id(const char *dir, __u32 set_id)
{
	int outer = raw_fd(dir, "ch_tables");
	__u32 id = 0;
	int err = bpf_map_lookup_elem(outer, &set_id, &id);

	close(outer);
	ck_assert_msg(err == 0, "ch_tables[%u]: %s", set_id, strerror(-err));
	return id;
}

static void raw_inner_read(__u32 inner_id, __u32 *table)
{
	int fd = bpf_map_get_fd_by_id(inner_id);
	__u32 s;

	ck_assert_msg(fd >= 0, "inner map id %u: %s", inner_id, strerror(-fd));
	ck_assert_uint_eq(map_info(fd).max_entries, SVC_CH_SIZE);
	for (s = 0; s < SVC_CH_SIZE; s++)
		ck_assert_int_eq(bpf_map_lookup_elem(fd, &s, &table[s]), 0);
	close(fd);
}

static __u32 count_id(const __u32 *t, __u32 id)
{
	__u32 s, c = 0;

	for (s = 0; s < SVC_CH_SIZE; s++)
		c += t[s] == id;
	return c;
}

/* ---- open, pins, adoption ---- */

START_TEST(test_open_pins)
{
	static const char *const maps[] = { "bindings",	     "sid_prefixes", "service_table",
					    "nexthops",	     "ch_tables",    "flows",
					    "router_cfg",    "router_stats", "rule_stats",
					    "nh_stats",	     "delay_events", "decap_sources",
					    "endpoint_stats" };
	const char *dir = pin_dir("open");
	bool adopted = true;
	struct svc_dp *dp = open_dp(dir, 4096, &adopted);
	size_t i;
	int fd;

	ck_assert(!adopted);
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		fd = raw_fd(dir, maps[i]);
		/* The pinned map is the one the library uses. */
		ck_assert_uint_eq(map_info(fd).id, map_info(svc_dp_map_fd(dp, maps[i])).id);
		close(fd);
	}
	fd = raw_fd(dir, "flows");
	ck_assert_uint_eq(map_info(fd).max_entries, 4096);
	close(fd);
	fd = raw_fd(dir, "service_table");
	ck_assert_uint_eq(map_info(fd).max_entries, 2048);
	close(fd);
	ck_assert_int_eq(svc_dp_map_fd(dp, "no_such_map"), -ENOENT);
	ck_assert_int_ge(svc_dp_prog_fd(dp, SVC_PROG_ROUTER), 0);
	ck_assert_int_ge(svc_dp_prog_fd(dp, SVC_PROG_ENDPOINT), 0);
	svc_dp_close(dp);
}
END_TEST

/* A set member: next hop @id at 198.18.x.y (x.y = id), weight @w. */
static struct svc_ch_member member(__u32 id, __u32 w)
{
	struct svc_ch_member m = { .nh_id = id, .weight = w };
	char a[32];

	snprintf(a, sizeof(a), "198.18.%u.%u", (id >> 8) & 0xff, id & 0xff);
	ck_assert_int_eq(svc_addr_parse(a, &m.addr), 0);
	return m;
}

START_TEST(test_reopen_adopts)
{
	const char *dir = pin_dir("reopen");
	struct svc_ch_member m[] = { member(1, 1), member(2, 1) };
	struct svc_binding_key key;
	struct svc_binding val = {}, got;
	struct svc_dp *dp;
	bool adopted = true;
	__u32 inner;
	int fd;

	dp = open_dp(dir, 1024, &adopted);
	ck_assert(!adopted);
	ck_assert_int_eq(svc_binding_parse("192.0.2.10:80/tcp", &key), 0);
	ck_assert_int_eq(svc_sid_parse("fd00::10", &val.sid), 0);
	ck_assert_int_eq(svc_dp_binding_update(dp, &key, &val), 0);
	ck_assert_int_eq(svc_dp_nhset_update(dp, 9, m, 2), 0);
	inner = raw_inner_id(dir, 9);
	svc_dp_close(dp);

	dp = open_dp(dir, 1024, &adopted);
	ck_assert(adopted);
	fd = raw_fd(dir, "bindings");
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &got), 0);
	ck_assert_mem_eq(&got, &val, sizeof(val));
	close(fd);
	ck_assert_uint_eq(raw_inner_id(dir, 9), inner);
	/* And the new object writes into the same map. */
	ck_assert_int_eq(svc_dp_binding_delete(dp, &key), 0);
	fd = raw_fd(dir, "bindings");
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &got), -ENOENT);
	close(fd);
	svc_dp_close(dp);
}
END_TEST

/* The sets present in ch_tables, read in one batch: only the installed ids, empty slots skipped. */
START_TEST(test_nhsets_present)
{
	const char *dir = pin_dir("present");
	struct svc_ch_member m[] = { member(1, 1), member(2, 1) };
	static __u64 present[SVC_MAX_SETS / 64];
	struct svc_dp *dp = open_dp(dir, 1024, NULL);
	const __u32 ids[] = { 0, 9, 64, SVC_MAX_SETS - 1 };
	size_t n = 0;

	ck_assert_int_eq(svc_dp_nhsets_present(dp, present), 0);
	for (__u32 id = 0; id < SVC_MAX_SETS; id++)
		n += !!(present[id / 64] & (1ULL << (id % 64)));
	ck_assert_uint_eq(n, 0);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		ck_assert_int_eq(svc_dp_nhset_update(dp, ids[i], m, 2), 0);
	ck_assert_int_eq(svc_dp_nhset_delete(dp, 0), 0);
	ck_assert_int_eq(svc_dp_nhsets_present(dp, present), 0);
	n = 0;
	for (__u32 id = 0; id < SVC_MAX_SETS; id++)
		n += !!(present[id / 64] & (1ULL << (id % 64)));
	ck_assert_uint_eq(n, 3);
	ck_assert(present[9 / 64] & (1ULL << 9));
	ck_assert(present[64 / 64] & 1ULL);
	ck_assert(present[(SVC_MAX_SETS - 1) / 64] & (1ULL << ((SVC_MAX_SETS - 1) % 64)));
	svc_dp_close(dp);
}
END_TEST

static size_t count_bits(const __u64 *bits)
{
	size_t n = 0;

	for (__u32 id = 0; id < SVC_MAX_SETS; id++)
		n += !!(bits[id / 64] & (1ULL << (id % 64)));
	return n;
}

/*
 * An adopting agent learns the installed sets from ch_present, not by looking
 * at every ch_tables slot: a set removed behind its back (raw delete) is still
 * reported, and deleting it again (ENOENT) clears its record. A slot marked
 * without a table (a crash between the mark and the install) is reported too.
 */
START_TEST(test_nhsets_present_record)
{
	const char *dir = pin_dir("record");
	struct svc_ch_member m[] = { member(1, 1), member(2, 1) };
	static __u64 present[SVC_MAX_SETS / 64];
	struct svc_ch_present raw;
	struct svc_dp *dp = open_dp(dir, 1024, NULL);
	__u32 zero = 0, id = 7;
	int fd;

	ck_assert_int_eq(svc_dp_nhset_update(dp, 7, m, 2), 0);
	ck_assert_int_eq(svc_dp_nhset_update(dp, 8, m, 2), 0);
	svc_dp_close(dp);
	fd = raw_fd(dir, "ch_tables");
	ck_assert_int_eq(bpf_map_delete_elem(fd, &id), 0);
	close(fd);
	fd = raw_fd(dir, "ch_present");
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &zero, &raw), 0);
	raw.bits[100 / 64] |= 1ULL << (100 % 64);
	ck_assert_int_eq(bpf_map_update_elem(fd, &zero, &raw, BPF_ANY), 0);
	close(fd);

	dp = open_dp(dir, 1024, NULL);
	ck_assert_int_eq(svc_dp_nhsets_present(dp, present), 0);
	ck_assert_uint_eq(count_bits(present), 3);
	ck_assert(present[0] & (1ULL << 7));
	ck_assert(present[0] & (1ULL << 8));
	ck_assert(present[100 / 64] & (1ULL << (100 % 64)));
	ck_assert_int_eq(svc_dp_nhset_delete(dp, 7), -ENOENT);
	ck_assert_int_eq(svc_dp_nhset_delete(dp, 100), -ENOENT);
	ck_assert_int_eq(svc_dp_nhsets_present(dp, present), 0);
	ck_assert_uint_eq(count_bits(present), 1);
	/* The record is in the pinned map: a third agent sees the same. */
	svc_dp_close(dp);
	fd = raw_fd(dir, "ch_present");
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &zero, &raw), 0);
	close(fd);
	ck_assert_uint_eq(count_bits(raw.bits), 1);
	ck_assert(raw.bits[0] & (1ULL << 8));
}
END_TEST

/* Pins of a version without ch_present: the first read scans ch_tables and records what it found. */
START_TEST(test_nhsets_present_legacy)
{
	const char *dir = pin_dir("legacy");
	struct svc_ch_member m[] = { member(1, 1), member(2, 1) };
	static __u64 present[SVC_MAX_SETS / 64];
	struct svc_ch_present raw;
	char path[PATH_MAX + 16];
	struct svc_dp *dp = open_dp(dir, 1024, NULL);
	__u32 zero = 0;
	int fd;

	ck_assert_int_eq(svc_dp_nhset_update(dp, 5, m, 2), 0);
	ck_assert_int_eq(svc_dp_nhset_update(dp, SVC_MAX_SETS - 1, m, 2), 0);
	svc_dp_close(dp);
	snprintf(path, sizeof(path), "%s/ch_present", dir);
	ck_assert_int_eq(unlink(path), 0);

	dp = open_dp(dir, 1024, NULL);
	capture_start();
	ck_assert_int_eq(svc_dp_nhsets_present(dp, present), 0);
	ck_assert_msg(strstr(capture_end(), "reading every ch_tables slot"), "the scan is logged");
	ck_assert_uint_eq(count_bits(present), 2);
	ck_assert(present[0] & (1ULL << 5));
	ck_assert(present[(SVC_MAX_SETS - 1) / 64] & (1ULL << ((SVC_MAX_SETS - 1) % 64)));
	svc_dp_close(dp);
	fd = raw_fd(dir, "ch_present");
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &zero, &raw), 0);
	close(fd);
	ck_assert_mem_eq(raw.bits, present, sizeof(raw.bits));
}
END_TEST

/* A pinned map of another size is refused by name, with the way out. */
START_TEST(test_incompatible_pin)
{
	struct svc_dp_config cfg = { .pin_dir = pin_dir("incompat"),
				     .max_flows = 2048,
				     .max_rules = 2048 };
	struct svc_dp *dp = NULL;
	const char *log;
	int err;

	dp = open_dp(cfg.pin_dir, 1024, NULL);
	svc_dp_close(dp);
	dp = NULL;
	capture_start();
	err = svc_dp_open(&cfg, &dp, NULL);
	log = capture_end();
	ck_assert_int_lt(err, 0);
	ck_assert_ptr_null(dp);
	ck_assert_msg(strstr(log, "/flows") && strstr(log, "max_entries") &&
			      strstr(log, "svcplaned --uninstall"),
		      "message: %s", log);
	/* The way out works without opening: unpin removes the directory. */
	ck_assert_int_eq(svc_dp_unpin(cfg.pin_dir), 0);
	ck_assert_int_ne(access(cfg.pin_dir, F_OK), 0);
}
END_TEST

START_TEST(test_not_bpffs)
{
	char parent[256], dir[300];
	struct svc_dp_config cfg = {};
	struct svc_dp *dp = NULL;
	struct stat st;
	const char *log;
	int err;

	snprintf(parent, sizeof(parent), "/tmp/%snot-bpffs", pin_prefix);
	snprintf(dir, sizeof(dir), "%s/pins", parent);
	cfg.pin_dir = dir;
	capture_start();
	err = svc_dp_open(&cfg, &dp, NULL);
	log = capture_end();
	ck_assert_int_eq(err, -ENOTSUP);
	ck_assert_ptr_null(dp);
	ck_assert_msg(strstr(log, "not on bpffs"), "message: %s", log);
	/* Nothing was created on the wrong filesystem. */
	ck_assert_int_ne(stat(parent, &st), 0);
}
END_TEST

START_TEST(test_unpin)
{
	const char *dir = pin_dir("unpin");
	char path[300];
	struct stat st;

	svc_dp_close(open_dp(dir, 1024, NULL));
	snprintf(path, sizeof(path), "%s/decap_sources", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(svc_dp_unpin(dir), 0);
	ck_assert_int_ne(stat(dir, &st), 0);
	ck_assert_int_eq(errno, ENOENT);
	/* Unpinning what is gone is not an error. */
	ck_assert_int_eq(svc_dp_unpin(dir), 0);
}
END_TEST

/* ---- map writers, read back raw ---- */

START_TEST(test_bindings_rules)
{
	const char *dir = pin_dir("rules");
	struct svc_dp *dp = open_dp(dir, 1024, NULL);
	struct svc_lpm_key p32 = prefix("fd00:1::/32"), p128 = prefix("fd00:1::5"), k;
	struct svc_rule fwd = { .action = SVC_ACT_FORWARD, .set_id = 3, .rule_id = 11 };
	struct svc_rule drop = { .action = SVC_ACT_DROP, .rule_id = 12 }, got;
	struct svc_binding_key bk;
	struct svc_binding bv = {}, bgot;
	__u32 flags;
	int fd;

	/* bindings */
	ck_assert_int_eq(svc_binding_parse("[2001:db8::10]:53/udp", &bk), 0);
	ck_assert_int_eq(svc_sid_parse("fd00:1::5", &bv.sid), 0);
	ck_assert_int_eq(svc_dp_binding_update(dp, &bk, &bv), 0);
	fd = raw_fd(dir, "bindings");
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &bk, &bgot), 0);
	ck_assert_mem_eq(&bgot, &bv, sizeof(bv));
	ck_assert_int_eq(svc_dp_binding_delete(dp, &bk), 0);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &bk, &bgot), -ENOENT);
	ck_assert_int_eq(svc_dp_binding_delete(dp, &bk), -ENOENT);
	close(fd);
	bk.proto = IPPROTO_ICMP;
	ck_assert_int_eq(svc_dp_binding_update(dp, &bk, &bv), -EINVAL);

	/* service table: longest prefix wins, as the router will look it up */
	ck_assert_int_eq(svc_dp_rule_update(dp, &p32, &fwd), 0);
	ck_assert_int_eq(svc_dp_rule_update(dp, &p128, &drop), 0);
	fd = raw_fd(dir, "service_table");
	k = prefix("fd00:1::5");
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &k, &got), 0);
	ck_assert_mem_eq(&got, &drop, sizeof(got));
	k = prefix("fd00:1::6");
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &k, &got), 0);
	ck_assert_mem_eq(&got, &fwd, sizeof(got));
	ck_assert_int_eq(svc_dp_rule_delete(dp, &p128), 0);
	k = prefix("fd00:1::5");
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &k, &got), 0);
	ck_assert_mem_eq(&got, &fwd, sizeof(got));
	k = prefix("fd00:2::5");
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &k, &got), -ENOENT);
	close(fd);
	got = fwd;
	got.action = SVC_ACT_NONE;
	ck_assert_int_eq(svc_dp_rule_update(dp, &p32, &got), -EINVAL);
	got = fwd;
	got.set_id = SVC_MAX_SETS;
	ck_assert_int_eq(svc_dp_rule_update(dp, &p32, &got), -EINVAL);
	got = fwd;
	got.rule_id = SVC_MAX_RULE_IDS;
	ck_assert_int_eq(svc_dp_rule_update(dp, &p32, &got), -EINVAL);

	/* sid prefixes */
	ck_assert_int_eq(svc_dp_sid_prefix_update(dp, &p32), 0);
	fd = raw_fd(dir, "sid_prefixes");
	k = prefix("fd00:1::77");
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &k, &flags), 0);
	ck_assert_int_eq(svc_dp_sid_prefix_delete(dp, &p32), 0);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &k, &flags), -ENOENT);
	close(fd);
	svc_dp_close(dp);
}
END_TEST

START_TEST(test_nexthops_cfg)
{
	const char *dir = pin_dir("nexthops");
	struct svc_dp *dp = open_dp(dir, 1024, NULL);
	struct svc_nexthop nh4 = { .addr = addr("10.1.0.5"), .flags = SVC_NH_F_UP };
	struct svc_nexthop nh6 = { .addr = addr("2001:db8::5"),
				   .flags = SVC_NH_F_UP | SVC_NH_F_V6 };
	struct svc_nexthop got, zero = {};
	struct svc_addr s4 = addr("192.0.2.1"), s6 = addr("2001:db8::1"), dsrc;
	struct svc_router_cfg cfg;
	__u32 id, key = 0, flags;
	int fd;

	ck_assert_int_eq(svc_dp_nexthop_update(dp, 5, &nh4), 0);
	ck_assert_int_eq(svc_dp_nexthop_update(dp, SVC_MAX_NEXTHOPS - 1, &nh6), 0);
	fd = raw_fd(dir, "nexthops");
	id = 5;
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &id, &got), 0);
	ck_assert_mem_eq(&got, &nh4, sizeof(got));
	id = SVC_MAX_NEXTHOPS - 1;
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &id, &got), 0);
	ck_assert_mem_eq(&got, &nh6, sizeof(got));
	ck_assert_int_eq(svc_dp_nexthop_delete(dp, 5), 0);
	id = 5;
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &id, &got), 0);
	ck_assert_mem_eq(&got, &zero, sizeof(got));
	close(fd);
	ck_assert_int_eq(svc_dp_nexthop_update(dp, 0, &nh4), -EINVAL);
	ck_assert_int_eq(svc_dp_nexthop_update(dp, SVC_MAX_NEXTHOPS, &nh4), -EINVAL);
	nh4.flags |= SVC_NH_F_V6; /* flag contradicts the address */
	ck_assert_int_eq(svc_dp_nexthop_update(dp, 6, &nh4), -EINVAL);

	ck_assert_int_eq(svc_dp_set_router_src(dp, &s4, &s6), 0);
	fd = raw_fd(dir, "router_cfg");
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &cfg), 0);
	ck_assert_uint_eq(cfg.flags, SVC_CFG_F_SRC4 | SVC_CFG_F_SRC6);
	ck_assert_mem_eq(&cfg.src4, &s4, sizeof(s4));
	ck_assert_mem_eq(&cfg.src6, &s6, sizeof(s6));
	ck_assert_uint_eq(cfg.flood_insert_rate, 0);
	/* The flood guard's rate and the sources share router_cfg: each setter keeps the other. */
	ck_assert_int_eq(svc_dp_set_flood_rate(dp, 1234), 0);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &cfg), 0);
	ck_assert_uint_eq(cfg.flood_insert_rate, 1234);
	ck_assert_uint_eq(cfg.flags, SVC_CFG_F_SRC4 | SVC_CFG_F_SRC6);
	ck_assert_mem_eq(&cfg.src4, &s4, sizeof(s4));
	ck_assert_int_eq(svc_dp_set_router_src(dp, NULL, &s6), 0);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &cfg), 0);
	ck_assert_uint_eq(cfg.flags, SVC_CFG_F_SRC6);
	ck_assert_uint_eq(cfg.flood_insert_rate, 1234);
	{
		unsigned int engaged = 99;
		__u32 rate = 0;

		ck_assert_int_eq(svc_dp_flood_read(dp, &rate, &engaged), 0);
		ck_assert_uint_eq(rate, 1234);
		ck_assert_uint_eq(engaged, 0);
	}
	close(fd);
	ck_assert_int_eq(svc_dp_set_router_src(dp, &s6, NULL), -EINVAL);

	dsrc = addr("192.0.2.1");
	ck_assert_int_eq(svc_dp_decap_source_update(dp, &dsrc), 0);
	fd = raw_fd(dir, "decap_sources");
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &dsrc, &flags), 0);
	ck_assert_int_eq(svc_dp_decap_source_delete(dp, &dsrc), 0);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &dsrc, &flags), -ENOENT);
	close(fd);
	svc_dp_close(dp);
}
END_TEST

/* ---- consistent-hash tables ---- */

/*
 * Two routers agree byte for byte: router A built its set one member at a
 * time (adds, a weight change, a removal), router B got the final set at
 * once in another order, and router C is A after losing everything (a fresh
 * pin directory, as after an uninstall) given the final set again.
 */
START_TEST(test_nhset_routers_agree)
{
	struct svc_ch_member all[] = { member(7, 1), member(300, 2), member(12, 1), member(4000, 3),
				       member(9, 1) };
	struct svc_ch_member fin[4];
	char da[256], db[256], dc[256];
	__u32 *ta = calloc(SVC_CH_SIZE, 4), *tb = calloc(SVC_CH_SIZE, 4);
	__u32 *tc = calloc(SVC_CH_SIZE, 4);
	struct svc_dp *a, *b, *c;
	size_t n;

	ck_assert(ta && tb && tc);
	snprintf(da, sizeof(da), "%s", pin_dir("agree_a"));
	snprintf(db, sizeof(db), "%s", pin_dir("agree_b"));
	snprintf(dc, sizeof(dc), "%s", pin_dir("agree_c"));
	a = open_dp(da, 1024, NULL);
	for (n = 1; n <= 5; n++)
		ck_assert_int_eq(svc_dp_nhset_update(a, 3, all, n), 0);
	all[1].weight = 1;
	ck_assert_int_eq(svc_dp_nhset_update(a, 3, all, 5), 0);
	all[2] = all[4]; /* remove id 12 */
	ck_assert_int_eq(svc_dp_nhset_update(a, 3, all, 4), 0);
	/* The final set, reversed, on router B; and on C. */
	for (n = 0; n < 4; n++)
		fin[n] = all[3 - n];
	b = open_dp(db, 1024, NULL);
	ck_assert_int_eq(svc_dp_nhset_update(b, 3, fin, 4), 0);
	c = open_dp(dc, 1024, NULL);
	ck_assert_int_eq(svc_dp_nhset_update(c, 3, fin + 2, 2), 0); /* some other history */
	ck_assert_int_eq(svc_dp_nhset_update(c, 3, fin, 4), 0);
	raw_inner_read(raw_inner_id(da, 3), ta);
	raw_inner_read(raw_inner_id(db, 3), tb);
	raw_inner_read(raw_inner_id(dc, 3), tc);
	ck_assert_mem_eq(ta, tb, SVC_CH_SIZE * 4);
	ck_assert_mem_eq(ta, tc, SVC_CH_SIZE * 4);
	ck_assert_uint_eq(count_id(ta, 12), 0);
	ck_assert_uint_gt(count_id(ta, 4000), 0);
	svc_dp_close(a);
	svc_dp_close(b);
	svc_dp_close(c);
	free(ta);
	free(tb);
	free(tc);
}
END_TEST

START_TEST(test_nhset_swap)
{
	const char *dir = pin_dir("nhset");
	struct svc_dp *dp = open_dp(dir, 1024, NULL);
	struct svc_ch_member m[] = { member(101, 1), member(102, 1), member(103, 2) };
	__u32 *t1 = calloc(SVC_CH_SIZE, 4), *t2 = calloc(SVC_CH_SIZE, 4);
	__u32 *via_lib = calloc(SVC_CH_SIZE, 4);
	__u32 id1, id2, s, moved = 0;

	ck_assert(t1 && t2 && via_lib);
	ck_assert_int_eq(svc_dp_nhset_read(dp, 4, via_lib), -ENOENT);
	ck_assert_int_eq(svc_dp_nhset_update(dp, 4, m, 3), 0);
	id1 = raw_inner_id(dir, 4);
	raw_inner_read(id1, t1);
	/* Weights 1:1:2 over 65537 slots: 16384.25 per unit. */
	ck_assert_uint_ge(count_id(t1, 101), 16384);
	ck_assert_uint_le(count_id(t1, 101), 16385);
	ck_assert_uint_ge(count_id(t1, 102), 16384);
	ck_assert_uint_le(count_id(t1, 102), 16385);
	ck_assert_uint_ge(count_id(t1, 103), 32768);
	ck_assert_uint_le(count_id(t1, 103), 32769);
	ck_assert_int_eq(svc_dp_nhset_read(dp, 4, via_lib), 0);
	ck_assert_mem_eq(via_lib, t1, SVC_CH_SIZE * 4);

	/*
	 * Remove 102: a new inner map; 102's slots move, and at most 2 % of the
	 * others (Maglev's disruption; the table does not depend on the old one).
	 */
	m[1] = m[2];
	ck_assert_int_eq(svc_dp_nhset_update(dp, 4, m, 2), 0);
	id2 = raw_inner_id(dir, 4);
	ck_assert_uint_ne(id2, id1);
	raw_inner_read(id2, t2);
	for (s = 0; s < SVC_CH_SIZE; s++) {
		if (t1[s] == 102)
			ck_assert(t2[s] == 101 || t2[s] == 103);
		else
			moved += t2[s] != t1[s];
	}
	ck_assert_msg(moved * 50 <= SVC_CH_SIZE, "%u survivor slots moved", moved);
	ck_assert_uint_eq(count_id(t2, 102), 0);
	/* The table is the one the library builds from the set alone, with the deployment seed. */
	ck_assert_int_eq(svc_ch_build(m, 2, TEST_SEED, SVC_CH_SIZE, via_lib), 0);
	ck_assert_mem_eq(via_lib, t2, SVC_CH_SIZE * 4);
	/* Re-applying the same set (an agent restart) leaves the installed table alone. */
	ck_assert_int_eq(svc_dp_nhset_update(dp, 4, m, 2), 0);
	ck_assert_uint_eq(raw_inner_id(dir, 4), id2);

	/* An empty set is a table of zeros; delete removes the entry. */
	ck_assert_int_eq(svc_dp_nhset_update(dp, 4, NULL, 0), 0);
	raw_inner_read(raw_inner_id(dir, 4), t2);
	ck_assert_uint_eq(count_id(t2, 0), SVC_CH_SIZE);
	ck_assert_int_eq(svc_dp_nhset_delete(dp, 4), 0);
	{
		int outer = raw_fd(dir, "ch_tables");
		__u32 key = 4, id;

		ck_assert_int_eq(bpf_map_lookup_elem(outer, &key, &id), -ENOENT);
		close(outer);
	}
	ck_assert_int_eq(svc_dp_nhset_read(dp, 4, via_lib), -ENOENT);
	ck_assert_int_eq(svc_dp_nhset_update(dp, SVC_MAX_SETS, m, 2), -EINVAL);
	m[0].weight = 0;
	ck_assert_int_eq(svc_dp_nhset_update(dp, 5, m, 2), -EINVAL);
	free(t1);
	free(t2);
	free(via_lib);
	svc_dp_close(dp);
}
END_TEST

/* ---- counters ---- */

/* Writes counter @key of per-CPU map @name: CPU c gets packets c+1+base, bytes 100*(c+1). */
static void raw_percpu_fill(const char *dir, const char *name, __u32 key, __u64 base)
{
	int ncpus = libbpf_num_possible_cpus(), fd = raw_fd(dir, name), c;
	struct svc_counter *v = calloc((size_t)ncpus, sizeof(*v));

	ck_assert_ptr_nonnull(v);
	for (c = 0; c < ncpus; c++) {
		v[c].packets = base + (__u64)c + 1;
		v[c].bytes = 100 * ((__u64)c + 1);
	}
	ck_assert_int_eq(bpf_map_update_elem(fd, &key, v, BPF_ANY), 0);
	free(v);
	close(fd);
}

START_TEST(test_stats)
{
	const char *dir = pin_dir("stats");
	struct svc_dp *dp = open_dp(dir, 1024, NULL);
	__u64 n = (__u64)libbpf_num_possible_cpus(), tri = n * (n + 1) / 2;
	struct svc_counter out[SVC_REASON_MAX], one;

	raw_percpu_fill(dir, "router_stats", SVC_R_FWD_NEW, 0);
	raw_percpu_fill(dir, "router_stats", SVC_R_DROP_DECAP_BAD, 1000);
	raw_percpu_fill(dir, "endpoint_stats", SVC_R_DECAP, 7);
	raw_percpu_fill(dir, "rule_stats", 42, 0);
	raw_percpu_fill(dir, "nh_stats", 9, 5);
	ck_assert_int_eq(svc_dp_stats_read(dp, SVC_PROG_ROUTER, out), 0);
	ck_assert_uint_eq(out[SVC_R_FWD_NEW].packets, tri);
	ck_assert_uint_eq(out[SVC_R_FWD_NEW].bytes, 100 * tri);
	ck_assert_uint_eq(out[SVC_R_DROP_DECAP_BAD].packets, 1000 * n + tri);
	ck_assert_uint_eq(out[SVC_R_PASS_NOT_IP].packets, 0);
	ck_assert_int_eq(svc_dp_stats_read(dp, SVC_PROG_ENDPOINT, out), 0);
	ck_assert_uint_eq(out[SVC_R_DECAP].packets, 7 * n + tri);
	ck_assert_uint_eq(out[SVC_R_FWD_NEW].packets, 0);
	ck_assert_int_eq(svc_dp_rule_stats_read(dp, 42, &one), 0);
	ck_assert_uint_eq(one.packets, tri);
	ck_assert_uint_eq(one.bytes, 100 * tri);
	ck_assert_int_eq(svc_dp_nh_stats_read(dp, 9, &one), 0);
	ck_assert_uint_eq(one.packets, 5 * n + tri);
	ck_assert_int_eq(svc_dp_rule_stats_read(dp, SVC_MAX_RULE_IDS, &one), -EINVAL);
	svc_dp_close(dp);
}
END_TEST

/* ---- flows ---- */

#define NFLOWS 300

static struct svc_flow_key flow_key(__u32 i)
{
	struct svc_flow_key k = {};

	k.src = addr("198.51.100.7");
	k.dst = addr("192.0.2.10");
	k.sport = htons((__u16)(10000 + i));
	k.dport = htons(80);
	k.proto = IPPROTO_TCP;
	return k;
}

struct seen {
	int count;
	int bad;
	int stop_after;
	unsigned char hit[NFLOWS];
};

static int on_flow(const struct svc_flow_key *k, const struct svc_flow *v, void *arg)
{
	struct seen *s = arg;
	__u32 i = ntohs(k->sport) - 10000;

	if (i >= NFLOWS || v->nh_id != i + 1 || v->rule_id != 7 || s->hit[i]++)
		s->bad++;
	s->count++;
	return s->stop_after && s->count == s->stop_after ? 1 : 0;
}

START_TEST(test_flows)
{
	const char *dir = pin_dir("flows");
	struct svc_dp *dp = open_dp(dir, 1024, NULL);
	struct seen seen = {};
	struct svc_flow_key k, next;
	int fd = raw_fd(dir, "flows");
	size_t cleared = 0;
	__u32 i;

	for (i = 0; i < NFLOWS; i++) {
		struct svc_flow v = { .nh_id = i + 1, .rule_id = 7, .last_seen_ns = 1 };

		k = flow_key(i);
		ck_assert_int_eq(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	}
	ck_assert_int_eq(svc_dp_flows_foreach(dp, on_flow, &seen), 0);
	ck_assert_int_eq(seen.count, NFLOWS);
	ck_assert_int_eq(seen.bad, 0);
	/* The callback stops the walk by returning non-zero, and that is returned. */
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 10;
	ck_assert_int_eq(svc_dp_flows_foreach(dp, on_flow, &seen), 1);
	ck_assert_int_eq(seen.count, 10);

	ck_assert_int_eq(svc_dp_flows_clear(dp, &cleared), 0);
	ck_assert_uint_eq(cleared, NFLOWS);
	ck_assert_int_eq(bpf_map_get_next_key(fd, NULL, &next), -ENOENT);
	ck_assert_int_eq(svc_dp_flows_clear(dp, &cleared), 0);
	ck_assert_uint_eq(cleared, 0);
	close(fd);
	svc_dp_close(dp);
}
END_TEST

/* More flows than one batch of the walk (1,024): each is seen once, with its value. */
#define NFLOWS_BIG 2500

struct seen_big {
	int count;
	int bad;
	unsigned char hit[NFLOWS_BIG];
};

static int on_flow_big(const struct svc_flow_key *k, const struct svc_flow *v, void *arg)
{
	struct seen_big *s = arg;
	__u32 i = ntohs(k->sport) - 10000;

	if (i >= NFLOWS_BIG || v->nh_id != i + 1 || v->rule_id != 7 || s->hit[i]++)
		s->bad++;
	s->count++;
	return 0;
}

START_TEST(test_flows_batches)
{
	const char *dir = pin_dir("flowsbig");
	struct svc_dp *dp = open_dp(dir, 4096, NULL);
	static struct seen_big seen;
	int fd = raw_fd(dir, "flows");
	size_t cleared = 0;

	memset(&seen, 0, sizeof(seen));
	for (__u32 i = 0; i < NFLOWS_BIG; i++) {
		struct svc_flow v = { .nh_id = i + 1, .rule_id = 7, .last_seen_ns = 1 };
		struct svc_flow_key k = flow_key(i);

		ck_assert_int_eq(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	}
	ck_assert_int_eq(svc_dp_flows_foreach(dp, on_flow_big, &seen), 0);
	ck_assert_int_eq(seen.count, NFLOWS_BIG);
	ck_assert_int_eq(seen.bad, 0);
	ck_assert_int_eq(svc_dp_flows_clear(dp, &cleared), 0);
	ck_assert_uint_eq(cleared, NFLOWS_BIG);
	close(fd);
	svc_dp_close(dp);
}
END_TEST

/* Another writer stands in for the router: adds and deletes flows while we walk and clear. */
struct churn {
	int fd;
	atomic_int stop;
	atomic_long ops;
};

static void *churn_flows(void *arg)
{
	struct churn *c = arg;
	struct svc_flow v = { .nh_id = 1, .rule_id = 7 };
	struct svc_flow_key k;
	__u32 i = 0;

	while (!atomic_load(&c->stop)) {
		k = flow_key(i % NFLOWS);
		if (i & 1)
			bpf_map_delete_elem(c->fd, &k);
		else
			bpf_map_update_elem(c->fd, &k, &v, BPF_ANY);
		i = i * 7 + 3;
		atomic_fetch_add(&c->ops, 1);
	}
	return NULL;
}

static int count_flow(const struct svc_flow_key *k, const struct svc_flow *v, void *arg)
{
	(void)k;
	(void)v;
	++*(size_t *)arg;
	return 0;
}

START_TEST(test_flows_concurrent)
{
	const char *dir = pin_dir("churn");
	struct svc_dp *dp = open_dp(dir, 256, NULL);
	struct churn c = { .fd = raw_fd(dir, "flows") };
	size_t cleared, seen;
	pthread_t th;
	int round;

	ck_assert_int_eq(pthread_create(&th, NULL, churn_flows, &c), 0);
	/*
	 * At least 200 rounds, and on until the writer has really run beside
	 * them: on a loaded machine it may not be scheduled for the first ones.
	 * The case's timeout bounds the wait.
	 */
	for (round = 0; round < 200 || atomic_load(&c.ops) < 1000; round++) {
		seen = 0;
		ck_assert_int_eq(svc_dp_flows_foreach(dp, count_flow, &seen), 0);
		/* Repeats are possible while the map changes, but the walk is bounded. */
		ck_assert_uint_le(seen, 256);
		ck_assert_int_eq(svc_dp_flows_clear(dp, &cleared), 0);
		ck_assert_uint_le(cleared, 256);
	}
	atomic_store(&c.stop, 1);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_ge(atomic_load(&c.ops), 1000);
	ck_assert_int_eq(svc_dp_flows_clear(dp, NULL), 0);
	close(c.fd);
	svc_dp_close(dp);
}
END_TEST

/* ---- XDP attach, in a private network namespace ---- */

static int ifindex_of(const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);

	ck_assert_msg(ifindex > 0, "%s: %s", ifname, strerror(errno));
	return ifindex;
}

static __u32 prog_id_of(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	ck_assert_int_eq(bpf_obj_get_info_by_fd(prog_fd, &info, &len), 0);
	return info.id;
}

/* What the kernel says runs on @ifindex in driver (native) and generic (skb) mode. */
static void xdp_ids(int ifindex, __u32 *drv, __u32 *skb)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	ck_assert_int_eq(bpf_xdp_query(ifindex, 0, &q), 0);
	*drv = q.drv_prog_id;
	*skb = q.skb_prog_id;
}

static void enter_netns_with_veth(void)
{
	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	ck_assert_int_eq(
		system("ip link add svct0 type veth peer name svct1 && "
		       "ip link set svct0 up && ip link set svct1 up && ip link set lo up"),
		0);
}

/* A minimal XDP program that is not svcplane's: returns XDP_PASS. */
static int load_foreign_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "foreign_xdp", "GPL", insns, 2, NULL);

	ck_assert_msg(fd >= 0, "load foreign program: %s", strerror(-fd));
	return fd;
}

START_TEST(test_attach_replace_detach)
{
	const char *dir = pin_dir("attach");
	struct svc_dp *dp1, *dp2;
	enum svc_prog prog = SVC_PROG_MAX;
	__u32 id = 0, drv, skb, id1, id2;
	const char *log;
	int ifindex;

	enter_netns_with_veth();
	ifindex = ifindex_of("svct0");
	dp1 = open_dp(dir, 1024, NULL);
	ck_assert_int_eq(svc_dp_attached("svct0", &prog, &id), 0);
	ck_assert_int_eq(svc_dp_attach(dp1, SVC_PROG_ROUTER, "svct0", SVC_XDP_NATIVE), 0);
	id1 = prog_id_of(svc_dp_prog_fd(dp1, SVC_PROG_ROUTER));
	xdp_ids(ifindex, &drv, &skb);
	ck_assert_uint_eq(drv, id1);
	ck_assert_uint_eq(skb, 0);
	ck_assert_int_eq(svc_dp_attached("svct0", &prog, &id), 1);
	ck_assert_int_eq(prog, SVC_PROG_ROUTER);
	ck_assert_uint_eq(id, id1);

	/* The attachment outlives the object that made it (the agent exiting). */
	svc_dp_close(dp1);
	xdp_ids(ifindex, &drv, &skb);
	ck_assert_uint_eq(drv, id1);

	/* A restarted agent's program replaces the running one in place. */
	dp2 = open_dp(dir, 1024, NULL);
	id2 = prog_id_of(svc_dp_prog_fd(dp2, SVC_PROG_ROUTER));
	ck_assert_uint_ne(id2, id1);
	ck_assert_int_eq(svc_dp_attach(dp2, SVC_PROG_ROUTER, "svct0", SVC_XDP_NATIVE), 0);
	xdp_ids(ifindex, &drv, &skb);
	ck_assert_uint_eq(drv, id2);
	/* The endpoint program may replace the router too (kernel's 15-char name recognised). */
	ck_assert_int_eq(svc_dp_attach(dp2, SVC_PROG_ENDPOINT, "svct0", SVC_XDP_NATIVE), 0);
	ck_assert_int_eq(svc_dp_attached("svct0", &prog, &id), 1);
	ck_assert_int_eq(prog, SVC_PROG_ENDPOINT);
	ck_assert_uint_eq(id, prog_id_of(svc_dp_prog_fd(dp2, SVC_PROG_ENDPOINT)));
	/* Another mode while attached natively is refused, naming the mode. */
	capture_start();
	ck_assert_int_eq(svc_dp_attach(dp2, SVC_PROG_ROUTER, "svct0", SVC_XDP_SKB), -EEXIST);
	log = capture_end();
	ck_assert_msg(strstr(log, "svct0") && strstr(log, "native"), "message: %s", log);

	ck_assert_int_eq(svc_dp_detach(dp2, "svct0"), 0);
	xdp_ids(ifindex, &drv, &skb);
	ck_assert_uint_eq(drv, 0);
	ck_assert_int_eq(svc_dp_detach(dp2, "svct0"), -ENOENT);
	ck_assert_int_eq(svc_dp_attached("svct0", &prog, &id), 0);

	/* skb mode */
	ck_assert_int_eq(svc_dp_attach(dp2, SVC_PROG_ROUTER, "svct1", SVC_XDP_SKB), 0);
	xdp_ids(ifindex_of("svct1"), &drv, &skb);
	ck_assert_uint_eq(skb, id2);
	ck_assert_uint_eq(drv, 0);
	/* Detach needs no open data plane (an uninstall over incompatible pins). */
	ck_assert_int_eq(svc_dp_detach(NULL, "svct1"), 0);
	xdp_ids(ifindex_of("svct1"), &drv, &skb);
	ck_assert_uint_eq(skb, 0);
	svc_dp_close(dp2);
}
END_TEST

/* An up next hop makes the kernel resolve its MAC: the router's FIB lookup needs it. */
START_TEST(test_nexthop_resolves_neighbour)
{
	const char *dir = pin_dir("neigh");
	struct svc_nexthop nh = { .flags = SVC_NH_F_UP };
	struct svc_dp *dp;
	char out[256] = "";
	int i;

	enter_netns_with_veth();
	/* Nobody answers for .2: the entry (INCOMPLETE, then FAILED) shows the attempt. */
	ck_assert_int_eq(system("ip addr add 198.18.201.1/24 dev svct0"), 0);
	ck_assert_int_eq(svc_addr_parse("198.18.201.2", &nh.addr), 0);
	dp = open_dp(dir, 1024, NULL);
	ck_assert_int_eq(svc_dp_nexthop_update(dp, 7, &nh), 0);
	/* Poll (no sleep as synchronisation) with a generous deadline (60 s: a loaded machine). */
	for (i = 0; i < 3000 && !strstr(out, "198.18.201.2"); i++) {
		FILE *f = popen("ip neigh show dev svct0", "r");
		size_t n;

		ck_assert_ptr_nonnull(f);
		n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = '\0';
		pclose(f);
		if (!strstr(out, "198.18.201.2"))
			usleep(20000);
	}
	ck_assert_msg(strstr(out, "198.18.201.2"), "no neighbour entry for the next hop: '%s'",
		      out);
	svc_dp_close(dp);
}
END_TEST

START_TEST(test_attach_errors)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	const char *dir = pin_dir("attacherr");
	struct svc_dp *dp;
	__u32 drv, skb;
	const char *log;
	int ifindex, foreign;

	enter_netns_with_veth();
	dp = open_dp(dir, 1024, NULL);
	capture_start();
	ck_assert_int_eq(svc_dp_attach(dp, SVC_PROG_ROUTER, "svc-no-such0", SVC_XDP_NATIVE),
			 -ENODEV);
	log = capture_end();
	ck_assert_msg(strstr(log, "svc-no-such0"), "message: %s", log);

	/* lo has no native XDP: the error says what to do. */
	capture_start();
	ck_assert_int_lt(svc_dp_attach(dp, SVC_PROG_ROUTER, "lo", SVC_XDP_NATIVE), 0);
	log = capture_end();
	ck_assert_msg(strstr(log, "lo") && strstr(log, "(try --mode skb)"), "message: %s", log);

	/* Someone else's program is left alone. */
	ifindex = ifindex_of("svct0");
	foreign = load_foreign_prog();
	ck_assert_int_eq(bpf_xdp_attach(ifindex, foreign, XDP_FLAGS_DRV_MODE, &opts), 0);
	capture_start();
	ck_assert_int_eq(svc_dp_attach(dp, SVC_PROG_ROUTER, "svct0", SVC_XDP_NATIVE), -EEXIST);
	log = capture_end();
	ck_assert_msg(strstr(log, "foreign_xdp"), "message: %s", log);
	ck_assert_int_eq(svc_dp_detach(dp, "svct0"), -ENOENT);
	xdp_ids(ifindex, &drv, &skb);
	ck_assert_uint_eq(drv, prog_id_of(foreign));
	close(foreign);
	svc_dp_close(dp);
}
END_TEST

/* ---- runner ---- */

static Suite *dataplane_suite(void)
{
	Suite *s = suite_create("dataplane");
	TCase *tc = tcase_create("maps");
	TCase *tx = tcase_create("xdp");

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, NULL, cleanup_pins);
	tcase_add_test(tc, test_open_pins);
	tcase_add_test(tc, test_reopen_adopts);
	tcase_add_test(tc, test_incompatible_pin);
	tcase_add_test(tc, test_not_bpffs);
	tcase_add_test(tc, test_unpin);
	tcase_add_test(tc, test_bindings_rules);
	tcase_add_test(tc, test_nexthops_cfg);
	tcase_add_test(tc, test_nhset_swap);
	tcase_add_test(tc, test_nhset_routers_agree);
	tcase_add_test(tc, test_stats);
	tcase_add_test(tc, test_flows);
	tcase_add_test(tc, test_flows_batches);
	tcase_add_test(tc, test_nhsets_present);
	tcase_add_test(tc, test_nhsets_present_record);
	tcase_add_test(tc, test_nhsets_present_legacy);
	tcase_add_test(tc, test_flows_concurrent);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tx, 60);
	tcase_add_unchecked_fixture(tx, NULL, cleanup_pins);
	tcase_add_test(tx, test_attach_replace_detach);
	tcase_add_test(tx, test_attach_errors);
	tcase_add_test(tx, test_nexthop_resolves_neighbour);
	suite_add_tcase(s, tx);
	return s;
}

/* TAP skip line the runner counts, for a machine that cannot run these tests. */
static int skip_all(const char *why)
{
	printf("1..1\nok 1 - test_dataplane # SKIP %s\n", why);
	return 0;
}

int main(void)
{
	struct statfs st;
	SRunner *sr;
	int failed;

	if (geteuid() != 0)
		return skip_all("not root");
	if (statfs(BPFFS, &st) || (unsigned long)st.f_type != BPF_FS_MAGIC)
		return skip_all("no bpffs at " BPFFS);
	main_pid = getpid();
	snprintf(pin_prefix, sizeof(pin_prefix), "svc-test-%d-", (int)main_pid);
	atexit(cleanup_pins);
	svc_log_init("test_dataplane", SVC_LOG_WARN);

	sr = srunner_create(dataplane_suite());
	/* The XDP tests unshare their network namespace: only in a forked child. */
	if (srunner_fork_status(sr) == CK_NOFORK) {
		srunner_free(sr);
		return skip_all("CK_FORK=no: tests need a child per test");
	}
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
