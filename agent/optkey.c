// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The deployment option key (docs/svcplaned.md, --opt-key): the secret under
 * which routers check flowIDs and TIFIDs and instance hosts key them. Kept in
 * STATE_DIR/opt_key (32 hex digits, mode 0600) so that a restart keeps it; the
 * first start without --opt-key generates one there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include "agent.h"
#include "log.h"

static int key_read(const char *path, __u8 key[16])
{
	char buf[40] = { 0 };
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[strcspn(buf, "\n")] = '\0';
	if (svc_opt_key_parse(buf, key)) {
		pr_err("option key %s: not 32 hexadecimal digits", path);
		return -EINVAL;
	}
	return 0;
}

static int key_write(const char *path, const __u8 key[16])
{
	char tmp[PATH_MAX + 32], hex[34];
	int fd, i, err = 0;

	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	hex[32] = '\n';
	snprintf(tmp, sizeof(tmp), "%.4000s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		pr_err("option key %s: %s", tmp, strerror(-err));
		return err;
	}
	if (write(fd, hex, 33) != 33 || fsync(fd))
		err = errno ? -errno : -EIO;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		pr_err("option key %s: %s", path, strerror(-err));
		unlink(tmp);
	}
	return err;
}

int agent_opt_key_setup(struct agent *a)
{
	char path[PATH_MAX + 16];
	__u8 key[16], stored[16];
	int err;

	snprintf(path, sizeof(path), "%.4000s/opt_key", a->cfg.state_dir);
	err = key_read(path, stored);
	if (err && err != -ENOENT)
		return err;
	if (a->cfg.has_opt_key) {
		memcpy(key, a->cfg.opt_key, sizeof(key));
		if (!err && memcmp(key, stored, sizeof(key)))
			pr_info("option key: --opt-key replaces the one in %s", path);
		if (err || memcmp(key, stored, sizeof(key)))
			err = key_write(path, key);
		else
			err = 0;
	} else if (!err) {
		memcpy(key, stored, sizeof(key));
	} else {
		if (getrandom(key, sizeof(key), 0) != sizeof(key)) {
			err = -errno;
			pr_err("option key: getrandom: %s", strerror(-err));
			return err;
		}
		pr_info("option key: none given or stored, generated one in %s (every router and "
			"endpoint of a deployment needs the same: --opt-key)",
			path);
		err = key_write(path, key);
	}
	if (err)
		return err;
	return svc_dp_set_opt_key(a->dp, key);
}
