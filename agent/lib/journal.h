/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's state file: crash-safe, integrity-checked storage of one blob
 * (the registry as JSON).
 *
 * File layout: one header line, then exactly LEN bytes of content:
 *   "svcplane-state 1 LEN BLAKE2B\n" CONTENT
 * LEN is the decimal content length, BLAKE2B the lowercase hex of the 32-byte
 * BLAKE2b hash (libsodium crypto_generichash, no key) of CONTENT. A write goes
 * to PATH.tmp, is fsync'ed, renamed over PATH, and the directory is fsync'ed,
 * so PATH always holds either the previous or the new content, whole. A file
 * that is empty, truncated, extended or altered is reported, never half-loaded.
 */
#ifndef SVC_JOURNAL_H
#define SVC_JOURNAL_H

#include <stddef.h>

#define SVC_JOURNAL_MAGIC "svcplane-state"
#define SVC_JOURNAL_FORMAT 1
/* Largest content accepted on read (a sanity bound, far above any real registry). */
#define SVC_JOURNAL_MAX (256u << 20)

/*
 * svc_journal_write - atomically replace @path with @data. Returns 0 or a
 * negative errno with @why (if non-NULL) naming the failing step.
 */
int svc_journal_write(const char *path, const char *data, size_t len, char *why, size_t whylen);

/*
 * svc_journal_read - load @path into a malloc'd, NUL-terminated buffer.
 * Returns 0 (*data, *len set), -ENOENT when the file does not exist, -EBADMSG
 * when it is corrupt (empty, bad header, truncated, trailing bytes, hash
 * mismatch) or another negative errno; @why explains the failure.
 */
int svc_journal_read(const char *path, char **data, size_t *len, char *why, size_t whylen);

#endif /* SVC_JOURNAL_H */
