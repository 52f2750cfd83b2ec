// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* State file: header with length and BLAKE2b hash, written by temp file + fsync + rename. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sodium.h>
#include "journal.h"

#define HASH_BYTES crypto_generichash_BYTES /* 32 */
#define HEADER_MAX 128

static int why_set(char *why, size_t whylen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int why_set(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int hash_hex(const char *data, size_t len, char hex[2 * HASH_BYTES + 1])
{
	unsigned char h[HASH_BYTES];

	/* sodium_init is idempotent and thread-safe; it must precede any other call. */
	if (sodium_init() < 0)
		return -EIO;
	if (crypto_generichash(h, sizeof(h), (const unsigned char *)data, len, NULL, 0))
		return -EIO;
	sodium_bin2hex(hex, 2 * HASH_BYTES + 1, h, sizeof(h));
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory holding @path so the rename itself is durable. */
static int fsync_parent(const char *path)
{
	char tmp[PATH_MAX];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s", path);
	fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

int svc_journal_write(const char *path, const char *data, size_t len, char *why, size_t whylen)
{
	char tmp[PATH_MAX], hex[2 * HASH_BYTES + 1], hdr[HEADER_MAX];
	int fd, err, n;

	if (len > SVC_JOURNAL_MAX)
		return why_set(why, whylen, -EFBIG, "%s: %zu bytes exceed the %u-byte limit", path,
			       len, SVC_JOURNAL_MAX);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return why_set(why, whylen, -ENAMETOOLONG, "%s: path too long", path);
	err = hash_hex(data, len, hex);
	if (err)
		return why_set(why, whylen, err, "libsodium hash failed");
	n = snprintf(hdr, sizeof(hdr), "%s %d %zu %s\n", SVC_JOURNAL_MAGIC, SVC_JOURNAL_FORMAT, len,
		     hex);

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return why_set(why, whylen, -errno, "open %s: %s", tmp, strerror(errno));
	err = write_all(fd, hdr, (size_t)n);
	if (!err)
		err = write_all(fd, data, len);
	if (err) {
		why_set(why, whylen, err, "write %s: %s", tmp, strerror(-err));
		goto fail;
	}
	if (fsync(fd)) {
		err = why_set(why, whylen, -errno, "fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd)) {
		fd = -1;
		err = why_set(why, whylen, -errno, "close %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path)) {
		err = why_set(why, whylen, -errno, "rename %s to %s: %s", tmp, path,
			      strerror(errno));
		goto fail;
	}
	err = fsync_parent(path);
	if (err)
		return why_set(why, whylen, err, "fsync directory of %s: %s", path, strerror(-err));
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return err;
}

/* Reads the whole file (bounded) into a malloc'd NUL-terminated buffer. */
static int slurp(const char *path, char **out, size_t *outlen, char *why, size_t whylen)
{
	size_t cap = HEADER_MAX + SVC_JOURNAL_MAX + 1, len = 0, alloc = 4096;
	char *buf = NULL, *nb;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		return why_set(why, whylen, err, "open %s: %s", path, strerror(-err));
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= alloc) {
			alloc *= 2;
			nb = realloc(buf, alloc);
			if (!nb) {
				err = why_set(why, whylen, -ENOMEM, "%s: out of memory", path);
				goto out;
			}
			buf = nb;
		} else if (!buf) {
			buf = malloc(alloc);
			if (!buf) {
				err = why_set(why, whylen, -ENOMEM, "%s: out of memory", path);
				goto out;
			}
		}
		n = read(fd, buf + len, alloc - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = why_set(why, whylen, -errno, "read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > cap) {
			err = why_set(why, whylen, -EBADMSG, "%s: corrupt: larger than %zu bytes",
				      path, cap);
			goto out;
		}
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf) {
			err = why_set(why, whylen, -ENOMEM, "%s: out of memory", path);
			goto out;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

/* Parses "MAGIC FORMAT LEN HEX\n"; returns the header length or a negative errno. */
static int parse_header(const char *buf, size_t len, size_t *clen, char hex[2 * HASH_BYTES + 1],
			const char *path, char *why, size_t whylen)
{
	const char *nl = memchr(buf, '\n', len < HEADER_MAX ? len : HEADER_MAX);
	char line[HEADER_MAX], magic[32], h[2 * HASH_BYTES + 2];
	unsigned long long l;
	int fmt, end = 0;

	if (!nl)
		return why_set(why, whylen, -EBADMSG, "%s: corrupt: no header line", path);
	memcpy(line, buf, (size_t)(nl - buf));
	line[nl - buf] = '\0';
	if (sscanf(line, "%31s %d %llu %65s%n", magic, &fmt, &l, h, &end) != 4 ||
	    (size_t)end != strlen(line) || strcmp(magic, SVC_JOURNAL_MAGIC))
		return why_set(why, whylen, -EBADMSG, "%s: corrupt: malformed header", path);
	if (fmt != SVC_JOURNAL_FORMAT)
		return why_set(why, whylen, -EBADMSG, "%s: unknown state format %d (expected %d)",
			       path, fmt, SVC_JOURNAL_FORMAT);
	if (strlen(h) != 2 * HASH_BYTES || strspn(h, "0123456789abcdef") != 2 * HASH_BYTES)
		return why_set(why, whylen, -EBADMSG, "%s: corrupt: malformed hash in header",
			       path);
	if (l > SVC_JOURNAL_MAX)
		return why_set(why, whylen, -EBADMSG, "%s: corrupt: length %llu too large", path,
			       l);
	*clen = (size_t)l;
	memcpy(hex, h, 2 * HASH_BYTES + 1);
	return (int)(nl - buf) + 1;
}

int svc_journal_read(const char *path, char **data, size_t *len, char *why, size_t whylen)
{
	char hex[2 * HASH_BYTES + 1], got[2 * HASH_BYTES + 1];
	size_t flen = 0, clen = 0;
	char *buf = NULL;
	int hlen, err;

	err = slurp(path, &buf, &flen, why, whylen);
	if (err)
		return err;
	if (flen == 0) {
		err = why_set(why, whylen, -EBADMSG, "%s: corrupt: empty file", path);
		goto fail;
	}
	hlen = parse_header(buf, flen, &clen, hex, path, why, whylen);
	if (hlen < 0) {
		err = hlen;
		goto fail;
	}
	if (flen - (size_t)hlen != clen) {
		err = why_set(why, whylen, -EBADMSG,
			      "%s: corrupt: header announces %zu bytes of content, file has %zu%s",
			      path, clen, flen - (size_t)hlen,
			      flen - (size_t)hlen < clen ? " (truncated)" : "");
		goto fail;
	}
	err = hash_hex(buf + hlen, clen, got);
	if (err) {
		why_set(why, whylen, err, "libsodium hash failed");
		goto fail;
	}
	if (sodium_memcmp(got, hex, 2 * HASH_BYTES)) {
		err = why_set(why, whylen, -EBADMSG, "%s: corrupt: content hash mismatch", path);
		goto fail;
	}
	memmove(buf, buf + hlen, clen);
	buf[clen] = '\0';
	*data = buf;
	*len = clen;
	return 0;
fail:
	free(buf);
	return err;
}
