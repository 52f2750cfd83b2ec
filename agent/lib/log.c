// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Leveled logger: one line per event on stderr; libbpf and libxdp print through it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "log.h"

static const char *log_prog = "svcplane";
static enum svc_log_level log_level = SVC_LOG_INFO;

/* Formats one event and writes it with a single fprintf so concurrent lines do not interleave. */
static void log_vprint(enum svc_log_level level, const char *fmt, va_list ap)
{
	char msg[2048];
	size_t n;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Library messages end in '\n'; ours do not: print exactly one. */
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	/* Errors and information read like any Unix tool's; the others say their level. */
	fprintf(stderr, "%s: %s%s\n", log_prog,
		level == SVC_LOG_WARN ? "warning: " : level == SVC_LOG_DEBUG ? "debug: " : "", msg);
}

void svc_log(enum svc_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(level, fmt, ap);
	va_end(ap);
}

/* libbpf: WARN stays a warning, INFO is informational, DEBUG (verifier chatter) only with -v. */
static int libbpf_print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum svc_log_level l = SVC_LOG_DEBUG;

	if (level == LIBBPF_WARN)
		l = SVC_LOG_WARN;
	else if (level == LIBBPF_INFO)
		l = SVC_LOG_INFO;
	log_vprint(l, fmt, ap);
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
