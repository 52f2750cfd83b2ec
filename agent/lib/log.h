/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Leveled logging to stderr, one line per event; libbpf/libxdp messages routed through it. */
#ifndef SVC_LOG_H
#define SVC_LOG_H

enum svc_log_level { SVC_LOG_ERROR = 0, SVC_LOG_WARN, SVC_LOG_INFO, SVC_LOG_DEBUG };

/* svc_log_init - set the program name printed as prefix, the level, and hook libbpf/libxdp. */
void svc_log_init(const char *prog, enum svc_log_level level);
/* svc_log - print one line "<prog>: <message>" if @level is enabled (never cut short). */
void svc_log(enum svc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Lines of a verifier log printed when libbpf reports a program the kernel refused. */
#define SVC_LOG_VERIFIER_TAIL 25
/*
 * svc_log_set_verifier_dir - where a refused program's whole verifier log is
 * written, as DIR/verifier-PROG.log (the last failure of PROG). NULL or ""
 * (the default): $TMPDIR or /tmp, as <prog>-<pid>-verifier-PROG.log. stderr
 * gets the log's last SVC_LOG_VERIFIER_TAIL lines, where the kernel says what
 * is wrong, and the file's name.
 */
void svc_log_set_verifier_dir(const char *dir);

#define pr_err(...) svc_log(SVC_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) svc_log(SVC_LOG_WARN, __VA_ARGS__)
#define pr_info(...) svc_log(SVC_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) svc_log(SVC_LOG_DEBUG, __VA_ARGS__)

#endif /* SVC_LOG_H */
