// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* libsvc TI-flow: load, pin, attach (cgroup v2) and configure the TI-flow sockops program. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tiflow.skel.h"
#include "tiflow.h"
#include "log.h"
#include "pin.h"

struct svc_tiflow {
	struct tiflow_bpf *skel;
	char pin_dir[PATH_MAX];
	int ncpus; /* possible CPUs: values per key of the per-CPU stats map */
};

/* Maps the object pins by name (LIBBPF_PIN_BY_NAME), i.e. what svc_tiflow_unpin removes. */
static const char *const tf_map_names[] = { "tiflow_cfg", "tiflow_select", "tiflow_sk",
					    "tiflow_stats" };
#define TF_LINK_PREFIX "tiflow_link_"

static const char *const tf_event_labels[SVC_TIFLOW_EV_MAX] = {
#define TF_LABEL(name, label, desc) [SVC_TIFLOW_EV_##name] = label,
	SVC_TIFLOW_EVENTS(TF_LABEL)
#undef TF_LABEL
};

static const char *const tf_event_descs[SVC_TIFLOW_EV_MAX] = {
#define TF_DESC(name, label, desc) [SVC_TIFLOW_EV_##name] = desc,
	SVC_TIFLOW_EVENTS(TF_DESC)
#undef TF_DESC
};

static const char *tf_strerror(int err)
{
	return strerror(err < 0 ? -err : err);
}

static const char *tf_dir(const char *pin_dir)
{
	return pin_dir ? pin_dir : SVC_TIFLOW_DEFAULT_PIN_DIR;
}

/* ---- pin directory ---- */

static int tf_pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len) {
		pr_err("tiflow: pin path %s/%s: too long", dir, name);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* ---- load ---- */

static int tf_cfg_write(struct svc_tiflow *t, const struct svc_tiflow_cfg *cfg)
{
	__u32 zero = 0;
	int err;

	err = bpf_map__update_elem(t->skel->maps.tiflow_cfg, &zero, sizeof(zero), cfg, sizeof(*cfg),
				   BPF_ANY);
	if (err)
		pr_err("tiflow: update map tiflow_cfg: %s", tf_strerror(err));
	return err;
}

int svc_tiflow_cfg_read(struct svc_tiflow *t, struct svc_tiflow_cfg *cfg)
{
	__u32 zero = 0;
	int err;

	err = bpf_map__lookup_elem(t->skel->maps.tiflow_cfg, &zero, sizeof(zero), cfg, sizeof(*cfg),
				   0);
	if (err)
		pr_err("tiflow: lookup map tiflow_cfg: %s", tf_strerror(err));
	return err;
}

/* tf_init_key - give a fresh configuration its random PRF key (kept across restarts). */
static int tf_init_key(struct svc_tiflow *t)
{
	struct svc_tiflow_cfg cfg;
	ssize_t n;
	int err;

	err = svc_tiflow_cfg_read(t, &cfg);
	if (err)
		return err;
	if (cfg.key[0] || cfg.key[1])
		return 0;
	n = getrandom(cfg.key, sizeof(cfg.key), 0);
	if (n != (ssize_t)sizeof(cfg.key)) {
		err = n < 0 ? -errno : -EIO;
		pr_err("tiflow: getrandom for the PRF key: %s", tf_strerror(err));
		return err;
	}
	return tf_cfg_write(t, &cfg);
}

/*
 * tf_stats_migrate - tiflow_stats holds counters only. A pin from a build
 * that sized it by its number of events (before SVC_TIFLOW_STATS_SLOTS) would
 * make the load fail and TI-flow stay down after an upgrade; it is removed
 * instead, said once, and the counters restart from 0 (docs/svcplaned.md).
 * Every other pinned map must match the object exactly (libbpf checks).
 */
static int tf_stats_migrate(const char *dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	err = tf_pin_path(path, sizeof(path), dir, "tiflow_stats");
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		pr_err("tiflow: open pinned map %s: %s", path, tf_strerror(err));
		return err;
	}
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err) {
		pr_err("tiflow: read pinned map %s: %s", path, tf_strerror(err));
		return err;
	}
	if (info.type != BPF_MAP_TYPE_PERCPU_ARRAY || info.key_size != sizeof(__u32) ||
	    info.value_size != sizeof(__u64)) {
		pr_err("tiflow: pinned map %s is not TI-flow counters (type %u, key %u, value %u "
		       "octets): remove it or choose another pin directory",
		       path, info.type, info.key_size, info.value_size);
		return -EEXIST;
	}
	if (info.max_entries == SVC_TIFLOW_STATS_SLOTS)
		return 0;
	if (unlink(path)) {
		err = -errno;
		pr_err("tiflow: remove pinned map %s: %s", path, tf_strerror(err));
		return err;
	}
	pr_warn("tiflow: pinned map %s had %u counters, this build %u: replaced, the TI-flow "
		"counters restart from 0 (an upgrade)",
		path, info.max_entries, SVC_TIFLOW_STATS_SLOTS);
	return 0;
}

int svc_tiflow_open(const char *pin_dir, struct svc_tiflow **tp)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct svc_tiflow *t;
	const char *dir = tf_dir(pin_dir);
	int err;

	*tp = NULL;
	if (dir[0] != '/' || strlen(dir) >= PATH_MAX - 64) {
		pr_err("tiflow: pin directory %s: must be an absolute path shorter than %d", dir,
		       PATH_MAX - 64);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		pr_err("tiflow: allocate state: %s", strerror(errno));
		return -ENOMEM;
	}
	snprintf(t->pin_dir, sizeof(t->pin_dir), "%s", dir);
	t->ncpus = libbpf_num_possible_cpus();
	if (t->ncpus <= 0) {
		err = t->ncpus ? t->ncpus : -EINVAL;
		pr_err("tiflow: count possible CPUs: %s", tf_strerror(err));
		goto fail;
	}
	err = svc_pin_dir_prepare(dir);
	if (err)
		goto fail;
	err = tf_stats_migrate(dir);
	if (err)
		goto fail;
	/* Open: maps marked LIBBPF_PIN_BY_NAME are pinned / adopted under pin_root_path. */
	opts.pin_root_path = t->pin_dir;
	t->skel = tiflow_bpf__open_opts(&opts);
	if (!t->skel) {
		err = -errno;
		pr_err("tiflow: open BPF object tiflow: %s", tf_strerror(err));
		goto fail;
	}
	/* Load: verifies the sockops program, creates or reuses the pinned maps. */
	err = tiflow_bpf__load(t->skel);
	if (err) {
		pr_err("tiflow: load BPF object tiflow (pins in %s): %s", dir, tf_strerror(err));
		goto fail;
	}
	err = tf_init_key(t);
	if (err)
		goto fail;
	*tp = t;
	return 0;
fail:
	svc_tiflow_close(t);
	return err;
}

void svc_tiflow_close(struct svc_tiflow *t)
{
	if (!t)
		return;
	tiflow_bpf__destroy(t->skel);
	free(t);
}

/* ---- attach ---- */

/* tf_cgroup_link_name - pin name of the link to @cgroup: tiflow_link_<cgroup inode>. */
static int tf_cgroup_link_name(const char *cgroup, char *name, size_t len, int *cg_fd)
{
	struct statfs sfs;
	struct stat st;
	int fd;

	fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		pr_err("tiflow: open cgroup %s: %s", cgroup, strerror(errno));
		return -errno;
	}
	if (fstatfs(fd, &sfs) || fstat(fd, &st)) {
		pr_err("tiflow: stat cgroup %s: %s", cgroup, strerror(errno));
		close(fd);
		return -errno;
	}
	if ((unsigned long)sfs.f_type != CGROUP2_SUPER_MAGIC) {
		/* cgroup v2 is where /proc/mounts says: /sys/fs/cgroup (Debian 12) or .../unified */
		pr_err("tiflow: %s is not a cgroup v2 directory (the cgroup2 mount: see /proc/mounts)",
		       cgroup);
		close(fd);
		return -EINVAL;
	}
	snprintf(name, len, TF_LINK_PREFIX "%llu", (unsigned long long)st.st_ino);
	if (cg_fd)
		*cg_fd = fd;
	else
		close(fd);
	return 0;
}

/*
 * The programs attached to a TI-flow cgroup, each through its own pinned
 * link: tiflow_link_<cgroup id> (the name earlier versions used for the
 * sockops program alone) followed by the suffix.
 */
struct tf_cg_prog {
	const char *suffix;
	const char *prog; /* program name in bpf/tiflow.bpf.c */
};

static const struct tf_cg_prog tf_cg_progs[] = {
	{ "", "svc_tiflow_sockops" },
	{ "_setsockopt", "svc_tiflow_setsockopt" },
	{ "_getsockopt", "svc_tiflow_getsockopt" },
};
#define TF_N_CG_PROGS (sizeof(tf_cg_progs) / sizeof(tf_cg_progs[0]))

/* tf_link_path - pin path of link @i of the cgroup whose sockops link is named @name. */
static int tf_link_path(char *buf, size_t len, const char *dir, const char *name, size_t i)
{
	char lname[96];

	snprintf(lname, sizeof(lname), "%s%s", name, tf_cg_progs[i].suffix);
	return tf_pin_path(buf, len, dir, lname);
}

/*
 * tf_attach_one - attach @prog to the cgroup @cg_fd through a link pinned at
 * @path; if that pin exists (an earlier loader), replace its program in place.
 */
static int tf_attach_one(struct bpf_program *prog, int cg_fd, const char *path, const char *cgroup,
			 const char *what)
{
	struct bpf_link *link = NULL;
	int err;

	if (access(path, F_OK) == 0) {
		/* Attached by an earlier loader: swap the program in place, no gap. */
		link = bpf_link__open(path);
		if (!link) {
			err = -errno;
			pr_err("tiflow: open pinned link %s: %s", path, tf_strerror(err));
			return err;
		}
		err = bpf_link__update_program(link, prog);
		if (err)
			pr_err("tiflow: replace %s program of link %s (cgroup %s): %s", what, path,
			       cgroup, tf_strerror(err));
		bpf_link__destroy(link);
		return err;
	}
	if (errno != ENOENT) {
		err = -errno;
		pr_err("tiflow: look up pinned link %s: %s", path, tf_strerror(err));
		return err;
	}
	link = bpf_program__attach_cgroup(prog, cg_fd);
	if (!link) {
		err = -errno;
		pr_err("tiflow: attach %s to cgroup %s: %s", what, cgroup, tf_strerror(err));
		return err;
	}
	err = bpf_link__pin(link, path);
	if (err) {
		pr_err("tiflow: pin link %s (cgroup %s): %s", path, cgroup, tf_strerror(err));
		bpf_link__detach(link);
	}
	bpf_link__destroy(link); /* the pin keeps the attachment */
	return err;
}

int svc_tiflow_attach(struct svc_tiflow *t, const char *cgroup)
{
	char name[64], path[PATH_MAX];
	int cg_fd = -1, err;
	size_t i;

	err = tf_cgroup_link_name(cgroup, name, sizeof(name), &cg_fd);
	if (err)
		return err;
	/* The socket options first: a handshake the sockops program sees can already use them. */
	for (i = TF_N_CG_PROGS; i-- > 0 && !err;) {
		err = tf_link_path(path, sizeof(path), t->pin_dir, name, i);
		if (!err)
			err = tf_attach_one(bpf_object__find_program_by_name(t->skel->obj,
									     tf_cg_progs[i].prog),
					    cg_fd, path, cgroup, tf_cg_progs[i].prog);
	}
	close(cg_fd);
	return err;
}

/* tf_detach_pinned - detach the cgroup link pinned at @path and remove the pin. */
static int tf_detach_pinned(const char *path)
{
	struct bpf_link *link;
	int err;

	if (access(path, F_OK))
		return -errno; /* -ENOENT: not attached */
	link = bpf_link__open(path);
	if (!link) {
		err = -errno;
		pr_err("tiflow: open pinned link %s: %s", path, tf_strerror(err));
		return err;
	}
	/* Detach first: other holders of the link (a running loader) must not keep it alive. */
	err = bpf_link__detach(link);
	if (err)
		pr_err("tiflow: detach link %s: %s", path, tf_strerror(err));
	if (unlink(path) && !err) {
		err = -errno;
		pr_err("tiflow: unpin link %s: %s", path, tf_strerror(err));
	}
	bpf_link__destroy(link);
	return err;
}

int svc_tiflow_detach(const char *pin_dir, const char *cgroup)
{
	char name[64], path[PATH_MAX];
	int err;

	err = tf_cgroup_link_name(cgroup, name, sizeof(name), NULL);
	if (!err)
		err = tf_pin_path(path, sizeof(path), tf_dir(pin_dir), name);
	if (err)
		return err;
	err = tf_detach_pinned(path);
	if (err == -ENOENT) {
		pr_err("tiflow: cgroup %s: not attached (no link %s)", cgroup, path);
		return err;
	}
	/* The socket-option links (absent when an earlier version attached it). */
	for (size_t i = 1; i < TF_N_CG_PROGS; i++) {
		int e = tf_link_path(path, sizeof(path), tf_dir(pin_dir), name, i);

		if (!e)
			e = tf_detach_pinned(path);
		if (e && e != -ENOENT && !err)
			err = e;
	}
	return err;
}

int svc_tiflow_unpin(const char *pin_dir)
{
	const char *dir = tf_dir(pin_dir);
	char path[PATH_MAX];
	struct dirent *de;
	size_t i;
	int err = 0, e;
	DIR *d;

	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		pr_err("tiflow: open pin directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, TF_LINK_PREFIX, strlen(TF_LINK_PREFIX)))
			continue;
		e = tf_pin_path(path, sizeof(path), dir, de->d_name);
		if (!e)
			e = tf_detach_pinned(path);
		if (e && e != -ENOENT && !err)
			err = e;
	}
	closedir(d);
	for (i = 0; i < sizeof(tf_map_names) / sizeof(tf_map_names[0]); i++) {
		e = tf_pin_path(path, sizeof(path), dir, tf_map_names[i]);
		if (!e && unlink(path) && errno != ENOENT) {
			e = -errno;
			pr_err("tiflow: unpin map %s: %s", path, strerror(errno));
		}
		if (e && !err)
			err = e;
	}
	return err;
}

/* ---- configuration ---- */

int svc_tiflow_set_instance(struct svc_tiflow *t, __u16 instance_id)
{
	struct svc_tiflow_cfg cfg;
	int err = svc_tiflow_cfg_read(t, &cfg);

	if (err)
		return err;
	cfg.instance_id = instance_id;
	return tf_cfg_write(t, &cfg);
}

int svc_tiflow_set_kind(struct svc_tiflow *t, __u8 kind)
{
	struct svc_tiflow_cfg cfg;
	int err;

	if (kind == SVC_TCPOPT_NOP) {
		pr_err("tiflow: option kind %u is NOP; use 0 for the default %u", kind,
		       SVC_TIFLOW_KIND_DEFAULT);
		return -EINVAL;
	}
	err = svc_tiflow_cfg_read(t, &cfg);
	if (err)
		return err;
	cfg.kind = kind;
	return tf_cfg_write(t, &cfg);
}

int svc_tiflow_set_flags(struct svc_tiflow *t, __u8 flags)
{
	struct svc_tiflow_cfg cfg;
	int err;

	if (flags & ~(SVC_TIFLOW_CFG_F_NO_INITIATE | SVC_TIFLOW_CFG_F_NO_RESPOND)) {
		pr_err("tiflow: unknown configuration flags 0x%x", flags);
		return -EINVAL;
	}
	err = svc_tiflow_cfg_read(t, &cfg);
	if (err)
		return err;
	cfg.flags = flags;
	return tf_cfg_write(t, &cfg);
}

static int tf_sel_key(const struct svc_addr *addr, __u16 port, struct svc_tiflow_sel *k)
{
	memset(k, 0, sizeof(*k));
	if (!addr && !port) {
		pr_err("tiflow: a selection needs an address, a port or both");
		return -EINVAL;
	}
	if (addr)
		k->addr = *addr;
	k->port = htobe16(port);
	return 0;
}

/* tf_adjust_count - add @delta to n_select (the program selects all sockets while it is 0). */
static int tf_adjust_count(struct svc_tiflow *t, int delta)
{
	struct svc_tiflow_cfg cfg;
	int err = svc_tiflow_cfg_read(t, &cfg);

	if (err)
		return err;
	if (delta < 0 && cfg.n_select == 0) {
		pr_err("tiflow: selection count already 0 (map and count out of step)");
		return -EINVAL;
	}
	cfg.n_select += delta;
	return tf_cfg_write(t, &cfg);
}

int svc_tiflow_select_add(struct svc_tiflow *t, const struct svc_addr *addr, __u16 port)
{
	struct svc_tiflow_sel k;
	__u32 one = 1;
	int err;

	err = tf_sel_key(addr, port, &k);
	if (err)
		return err;
	/* Entry first, count second: the table is never "non-empty" without its entry. */
	err = bpf_map__update_elem(t->skel->maps.tiflow_select, &k, sizeof(k), &one, sizeof(one),
				   BPF_NOEXIST);
	if (err) {
		if (err != -EEXIST)
			pr_err("tiflow: update map tiflow_select: %s", tf_strerror(err));
		return err;
	}
	return tf_adjust_count(t, 1);
}

int svc_tiflow_select_del(struct svc_tiflow *t, const struct svc_addr *addr, __u16 port)
{
	struct svc_tiflow_sel k;
	__u32 v;
	int err;

	err = tf_sel_key(addr, port, &k);
	if (err)
		return err;
	err = bpf_map__lookup_elem(t->skel->maps.tiflow_select, &k, sizeof(k), &v, sizeof(v), 0);
	if (err) {
		if (err != -ENOENT)
			pr_err("tiflow: lookup map tiflow_select: %s", tf_strerror(err));
		return err;
	}
	err = bpf_map__delete_elem(t->skel->maps.tiflow_select, &k, sizeof(k), 0);
	if (err) {
		pr_err("tiflow: delete from map tiflow_select: %s", tf_strerror(err));
		return err;
	}
	return tf_adjust_count(t, -1);
}

/* ---- counters and socket state ---- */

/* tf_stats_sum - sum the per-CPU values of every event of the stats map @fd. */
static int tf_stats_sum(int fd, int ncpus, __u64 *out)
{
	__u64 *vals;
	__u32 ev;
	int cpu, err = 0;

	vals = calloc(ncpus, sizeof(*vals));
	if (!vals) {
		pr_err("tiflow: allocate per-CPU values: %s", strerror(errno));
		return -ENOMEM;
	}
	for (ev = 0; ev < SVC_TIFLOW_EV_MAX; ev++) {
		if (bpf_map_lookup_elem(fd, &ev, vals)) {
			err = -errno;
			pr_err("tiflow: lookup map tiflow_stats[%u]: %s", ev, tf_strerror(err));
			break;
		}
		out[ev] = 0;
		for (cpu = 0; cpu < ncpus; cpu++)
			out[ev] += vals[cpu];
	}
	free(vals);
	return err;
}

int svc_tiflow_stats_read(struct svc_tiflow *t, __u64 *out)
{
	return tf_stats_sum(bpf_map__fd(t->skel->maps.tiflow_stats), t->ncpus, out);
}

static int tf_open_pinned(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];
	int fd, err;

	err = tf_pin_path(path, sizeof(path), tf_dir(pin_dir), name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		pr_err("tiflow: open pinned map %s: %s", path, tf_strerror(err));
		return err;
	}
	return fd;
}

int svc_tiflow_stats_read_pinned(const char *pin_dir, __u64 *out)
{
	int ncpus = libbpf_num_possible_cpus();
	int fd, err;

	if (ncpus <= 0) {
		err = ncpus ? ncpus : -EINVAL;
		pr_err("tiflow: count possible CPUs: %s", tf_strerror(err));
		return err;
	}
	fd = tf_open_pinned(pin_dir, "tiflow_stats");
	if (fd < 0)
		return fd;
	err = tf_stats_sum(fd, ncpus, out);
	close(fd);
	return err;
}

int svc_tiflow_sk_map_open(const char *pin_dir)
{
	return tf_open_pinned(pin_dir, "tiflow_sk");
}

int svc_tiflow_sk_map_fd(struct svc_tiflow *t)
{
	return bpf_map__fd(t->skel->maps.tiflow_sk);
}

int svc_tiflow_sock_state(int map_fd, int sock_fd, struct svc_tiflow_sk *out)
{
	int err;

	/* Socket-storage maps take the socket's fd as key (this process's fd table). */
	if (bpf_map_lookup_elem(map_fd, &sock_fd, out)) {
		err = -errno;
		if (err != -ENOENT)
			pr_err("tiflow: lookup map tiflow_sk for socket fd %d: %s", sock_fd,
			       tf_strerror(err));
		return err;
	}
	return 0;
}

const char *svc_tiflow_state_name(unsigned int state)
{
	switch (state) {
	case SVC_TIFLOW_S_NONE:
		return "none";
	case SVC_TIFLOW_S_OFFERED:
		return "offered";
	case SVC_TIFLOW_S_NEGOTIATED:
		return "negotiated";
	case SVC_TIFLOW_S_PLAIN:
		return "plain";
	case SVC_TIFLOW_S_RESUME:
		return "resume";
	}
	return "unknown";
}

const char *svc_tiflow_event_label(unsigned int ev)
{
	return ev < SVC_TIFLOW_EV_MAX ? tf_event_labels[ev] : "unknown";
}

const char *svc_tiflow_event_desc(unsigned int ev)
{
	return ev < SVC_TIFLOW_EV_MAX ? tf_event_descs[ev] : "unknown event";
}

struct json_object *svc_tiflow_sk_json(const struct svc_tiflow_sk *st)
{
	struct json_object *j = json_object_new_object();
	char h[13];

	if (!j)
		return NULL;
	json_object_object_add(j, "state",
			       json_object_new_string(svc_tiflow_state_name(st->state)));
	json_object_object_add(j, "reason",
			       json_object_new_string(st->state == SVC_TIFLOW_S_PLAIN
							      ? svc_tiflow_event_label(st->reason)
							      : ""));
	json_object_object_add(
		j, "role",
		json_object_new_string(st->role == SVC_TIFLOW_ROLE_INITIATOR   ? "initiator"
				       : st->role == SVC_TIFLOW_ROLE_RESPONDER ? "responder"
									       : "none"));
	snprintf(h, sizeof(h), "%012llx", (unsigned long long)(st->tifid & SVC_TI48_MASK));
	json_object_object_add(j, "tifid", json_object_new_string(h));
	snprintf(h, sizeof(h), "%06x", svc_tifid_initiator(st->tifid));
	json_object_object_add(j, "initiator", json_object_new_string(h));
	snprintf(h, sizeof(h), "%06x", svc_tifid_responder(st->tifid));
	json_object_object_add(j, "responder", json_object_new_string(h));
	json_object_object_add(j, "instance", json_object_new_int(svc_tifid_instance(st->tifid)));
	snprintf(h, sizeof(h), "%012llx", (unsigned long long)(st->tiseq_local & SVC_TI48_MASK));
	json_object_object_add(j, "tiseq_local", json_object_new_string(h));
	snprintf(h, sizeof(h), "%012llx", (unsigned long long)(st->tiseq_peer & SVC_TI48_MASK));
	json_object_object_add(j, "tiseq_peer", json_object_new_string(h));
	json_object_object_add(j, "isn_local", json_object_new_int64(st->isn_local));
	json_object_object_add(j, "isn_peer", json_object_new_int64(st->isn_peer));
	json_object_object_add(j, "confirm_due",
			       json_object_new_boolean(st->flags & SVC_TIFLOW_F_CONFIRM_DUE));
	return j;
}
