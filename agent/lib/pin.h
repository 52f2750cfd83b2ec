/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bpffs pin directories and pinned maps, shared by every libsvc object that
 * pins (data plane, direct path, TI-flow): one set of checks, one wording.
 */
#ifndef SVC_PIN_H
#define SVC_PIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <bpf/libbpf.h>

/*
 * svc_pin_dir_prepare - @dir must be an absolute path short enough for pins,
 * on bpffs (checked on @dir or its closest existing ancestor, before anything
 * is created); then mkdir -p @dir with mode 0700 (the maps steer traffic).
 * Returns 0 or -errno, logged with the directory named.
 */
int svc_pin_dir_prepare(const char *dir);

/*
 * svc_pin_dir_lock - one agent per pin directory, as per state directory: an
 * exclusive flock(2) on @dir itself (bpffs holds no regular files), held
 * while the returned descriptor is open. @create: svc_pin_dir_prepare first;
 * else a missing @dir is -ENOENT, not logged. Returns the descriptor or
 * -errno (-EWOULDBLOCK: another process holds it; logged with what to do).
 */
int svc_pin_dir_lock(const char *dir, bool create);

/*
 * svc_pin_check_obj - refuse, naming the map and what differs, a map pinned
 * where @obj will reuse it but whose type, key/value size, max_entries or
 * flags differ (libbpf's load would fail with a bare "parameter mismatch").
 * @dir is named in the advice. Returns 0, -EEXIST or another -errno.
 */
int svc_pin_check_obj(struct bpf_object *obj, const char *dir);

/*
 * svc_libbpf_quiet - a libbpf print callback that turns everything into debug
 * lines: installed around calls whose libbpf warnings describe an expected
 * outcome (libxdp's dispatcher probe, an existing clsact qdisc); the caller
 * reports real failures itself.
 */
int svc_libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap);

#endif /* SVC_PIN_H */
