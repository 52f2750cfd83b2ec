// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Leveled logger: one line per event on stderr; libbpf and libxdp print through it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "api.h"
#include "log.h"

static const char *log_prog = "svcplane";
static enum svc_log_level log_level = SVC_LOG_INFO;
/* Where verifier logs are written whole (svc_log_set_verifier_dir); "" = $TMPDIR or /tmp. */
static char verifier_dir[PATH_MAX];

/* How libbpf brackets the verifier's log of a program it could not load. */
#define LOG_BEGIN "-- BEGIN PROG LOAD LOG --\n"
#define LOG_END "-- END PROG LOAD LOG --"

static const char *level_prefix(enum svc_log_level level)
{
	/* Errors and information read like any Unix tool's; the others say their level. */
	return level == SVC_LOG_WARN ? "warning: " : level == SVC_LOG_DEBUG ? "debug: " : "";
}

/*
 * Writes one event with a single fprintf so concurrent lines do not interleave.
 * One event is one line: control characters (a newline in a rejected client
 * argument must not start a line that looks like the agent's own), DEL and
 * bytes that are not UTF-8 are written as \n, \r, \t, \\ or \xNN.
 */
static void log_emit(enum svc_log_level level, char *msg)
{
	size_t n = strlen(msg), k;
	char *out, *o;

	/* Library messages end in '\n'; ours do not: print exactly one. */
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	out = malloc(4 * n + 1);
	if (!out) {
		fprintf(stderr, "%s: %sout of memory escaping a message\n", log_prog,
			level_prefix(level));
		return;
	}
	o = out;
	for (size_t i = 0; i < n; i += k) {
		unsigned char c = (unsigned char)msg[i];

		k = svc_utf8_seq(msg + i, n - i);
		if (k > 1 || (k == 1 && c >= 0x20 && c != 0x7f && c != '\\')) {
			memcpy(o, msg + i, k);
			o += k;
			continue;
		}
		k = 1;
		*o++ = '\\';
		if (c == '\n' || c == '\r' || c == '\t' || c == '\\')
			*o++ = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : '\\';
		else
			o += sprintf(o, "x%02x", c);
	}
	*o = '\0';
	fprintf(stderr, "%s: %s%s\n", log_prog, level_prefix(level), out);
	free(out);
}

/* Formats @fmt whole, however long: the caller frees the result (NULL: no memory). */
static char *log_format(const char *fmt, va_list ap)
{
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		return NULL;
	return msg;
}

static void log_vprint(enum svc_log_level level, const char *fmt, va_list ap)
{
	char *msg;

	if (level > log_level)
		return;
	msg = log_format(fmt, ap);
	if (!msg) {
		fprintf(stderr, "%s: %sout of memory formatting a message: %s\n", log_prog,
			level_prefix(level), fmt);
		return;
	}
	log_emit(level, msg);
	free(msg);
}

void svc_log(enum svc_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(level, fmt, ap);
	va_end(ap);
}

void svc_log_set_verifier_dir(const char *dir)
{
	snprintf(verifier_dir, sizeof(verifier_dir), "%s", dir ? dir : "");
}

/* The file a verifier log of BPF program @prog goes to, in @path. */
static void verifier_log_path(char *path, size_t size, const char *prog)
{
	const char *tmp = getenv("TMPDIR");

	if (verifier_dir[0]) {
		/* The agent's own directory: one file per program, the latest failure. */
		snprintf(path, size, "%s/verifier-%s.log", verifier_dir, prog);
		return;
	}
	/* A shared directory: the process id keeps concurrent runs apart. */
	snprintf(path, size, "%s/%s-%d-verifier-%s.log", tmp && *tmp ? tmp : "/tmp", log_prog,
		 (int)getpid(), prog);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * A verifier log (libbpf: "prog 'NAME': -- BEGIN PROG LOAD LOG --\n...-- END
 * PROG LOAD LOG --"): thousands of lines, whose last ones say what is wrong.
 * The whole log goes to a file; stderr gets its last SVC_LOG_VERIFIER_TAIL
 * lines and the file's name, as one event. If the file cannot be written,
 * stderr gets the whole log.
 */
static void log_verifier(enum svc_log_level level, const char *msg, const char *begin)
{
	const char *log = begin + strlen(LOG_BEGIN), *end, *tail, *p;
	char name[128] = "prog", path[PATH_MAX + 160], *out = NULL;
	size_t len, out_len = 0;
	int lines = 0, shown = 0, fd, err;
	FILE *f;

	end = strstr(log, LOG_END);
	len = end ? (size_t)(end - log) : strlen(log);
	p = strstr(msg, "prog '");
	if (p && p < begin)
		sscanf(p, "prog '%127[^']'", name);
	for (p = log; p < log + len; p++)
		lines += *p == '\n';
	if (len && log[len - 1] != '\n')
		lines++;
	/* The tail: back from the end over SVC_LOG_VERIFIER_TAIL line breaks. */
	tail = log + len;
	while (tail > log && tail[-1] == '\n')
		tail--;
	while (tail > log && shown < SVC_LOG_VERIFIER_TAIL) {
		tail--;
		if (tail == log || tail[-1] == '\n')
			shown++;
	}

	verifier_log_path(path, sizeof(path), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	err = fd < 0 ? -errno : write_all(fd, log, len);
	if (fd >= 0 && close(fd) && !err)
		err = -errno;

	f = open_memstream(&out, &out_len);
	if (!f) {
		log_emit(level, (char *)msg);
		return;
	}
	fprintf(f, "%s: %s%.*sverifier log, %d lines", log_prog, level_prefix(level),
		(int)(begin - msg), msg, lines);
	if (err) {
		fprintf(f, " (could not write %s: %s; here whole):\n", path, strerror(-err));
		tail = log;
	} else if (tail == log) {
		fprintf(f, " (also in %s):\n", path);
	} else {
		fprintf(f, ", the last %d here, all in %s:\n", shown, path);
	}
	for (p = tail; p < log + len;) {
		const char *e = memchr(p, '\n', log + len - p);
		int n = e ? (int)(e - p) : (int)(log + len - p);

		fprintf(f, "%s: %s  %.*s\n", log_prog, level_prefix(level), n, p);
		p += n + 1;
	}
	fclose(f);
	if (out)
		fputs(out, stderr);
	free(out);
}

/* libbpf: WARN stays a warning, INFO is informational, DEBUG (verifier chatter) only with -v. */
static int libbpf_print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum svc_log_level l = SVC_LOG_DEBUG;
	const char *begin;
	char *msg;

	if (level == LIBBPF_WARN)
		l = SVC_LOG_WARN;
	else if (level == LIBBPF_INFO)
		l = SVC_LOG_INFO;
	if (l > log_level)
		return 0;
	msg = log_format(fmt, ap);
	if (!msg) {
		fprintf(stderr, "%s: %sout of memory formatting a libbpf message: %s", log_prog,
			level_prefix(l), fmt);
		return 0;
	}
	begin = strstr(msg, LOG_BEGIN);
	if (begin)
		log_verifier(l, msg, begin);
	else
		log_emit(l, msg);
	free(msg);
	return 0;
}

/*
 * libxdp: its INFO level reports routine decisions (e.g. the fall back to a
 * single program without dispatcher on this kernel), so it is DEBUG for us.
 */
static int libxdp_print_fn(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	log_vprint(level == LIBXDP_WARN ? SVC_LOG_WARN : SVC_LOG_DEBUG, fmt, ap);
	return 0;
}

void svc_log_init(const char *prog, enum svc_log_level level)
{
	if (prog && *prog)
		log_prog = prog;
	log_level = level;
	libbpf_set_print(libbpf_print_fn);
	libxdp_set_print(libxdp_print_fn);
}
