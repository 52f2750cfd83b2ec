// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bpffs pin directories and pinned-map compatibility checks (see pin.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include "log.h"
#include "pin.h"

/* Checks that @dir, or the closest ancestor that exists, is on bpffs. */
static int pin_check_bpffs(const char *dir)
{
	char path[PATH_MAX];
	struct statfs st;
	char *slash;

	snprintf(path, sizeof(path), "%s", dir);
	while (statfs(path, &st)) {
		if (errno != ENOENT) {
			pr_err("pin directory %s: statfs %s: %s", dir, path, strerror(errno));
			return -errno;
		}
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			snprintf(path, sizeof(path), "/");
		else
			*slash = '\0';
	}
	if ((unsigned long)st.f_type != BPF_FS_MAGIC) {
		pr_err("pin directory %s: %s is not on bpffs (mount -t bpf bpf /sys/fs/bpf)", dir,
		       path);
		return -ENOTSUP;
	}
	return 0;
}

/* mkdir -p @dir, mode 0700. */
static int pin_mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	char *p, c;

	snprintf(path, sizeof(path), "%s", dir);
	for (p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST) {
			pr_err("pin directory %s: mkdir %s: %s", dir, path, strerror(errno));
			return -errno;
		}
		*p = c;
		if (!c)
			return 0;
	}
}

int svc_pin_dir_prepare(const char *dir)
{
	int err;

	if (dir[0] != '/' || strlen(dir) >= PATH_MAX - BPF_OBJ_NAME_LEN - 2) {
		pr_err("pin directory %s: must be an absolute path shorter than %d", dir,
		       PATH_MAX - BPF_OBJ_NAME_LEN - 2);
		return -EINVAL;
	}
	err = pin_check_bpffs(dir);
	if (err)
		return err;
	return pin_mkdir_p(dir);
}

int svc_pin_dir_lock(const char *dir, bool create)
{
	int fd, err;

	if (create) {
		err = svc_pin_dir_prepare(dir);
		if (err)
			return err;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		if (err != -ENOENT || create)
			pr_err("pin directory %s: open: %s", dir, strerror(errno));
		return err;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		if (errno == EWOULDBLOCK)
			pr_err("pin directory %s is in use by another svcplaned (its lock is "
			       "held): "
			       "two agents on one pin directory would overwrite each other's maps; "
			       "give each agent its own --pin-dir, or stop the other one",
			       dir);
		else
			pr_err("pin directory %s: lock: %s", dir, strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

/* One map: see svc_pin_check_obj. */
static int pin_check_map(const struct bpf_map *map, const char *dir)
{
	const char *path = bpf_map__pin_path(map);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	const char *what = NULL;
	__u32 have = 0, want = 0;
	int fd, err;

	if (!path)
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (fd == -ENOENT)
			return 0;
		pr_err("open pinned map %s: %s", path, strerror(-fd));
		return fd;
	}
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err) {
		pr_err("pinned map %s: get info: %s", path, strerror(-err));
		return err;
	}
#define PIN_CMP(field, getter)                           \
	if (!what && info.field != (__u32)getter(map)) { \
		what = #field;                           \
		have = info.field;                       \
		want = (__u32)getter(map);               \
	}
	PIN_CMP(type, bpf_map__type);
	PIN_CMP(key_size, bpf_map__key_size);
	PIN_CMP(value_size, bpf_map__value_size);
	PIN_CMP(max_entries, bpf_map__max_entries);
	PIN_CMP(map_flags, bpf_map__map_flags);
#undef PIN_CMP
	if (!what)
		return 0;
	pr_err("pinned map %s cannot be reused: its %s is %u, this svcplane needs %u; "
	       "run `svcplaned --uninstall` or remove %s",
	       path, what, have, want, dir);
	return -EEXIST;
}

int svc_pin_check_obj(struct bpf_object *obj, const char *dir)
{
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj)
	{
		err = pin_check_map(map, dir);
		if (err)
			return err;
	}
	return 0;
}

int svc_libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];

	(void)level;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	pr_debug("%s", msg);
	return 0;
}
