/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A registry change made by an op that applies it itself (TI-flow, direct
 * path: OP_SELF in handlers.c): copy the registry to roll back to, change it,
 * then apply and save, restoring the copy if either fails.
 */
#ifndef SVC_AGENT_CHANGE_H
#define SVC_AGENT_CHANGE_H

#include "agent.h"

/* agent_change_begin - copy the registry into @backup; -1 with @err set on ENOMEM. */
int agent_change_begin(struct agent *a, struct svc_reg *backup, struct svc_err *err);
/* agent_change_abort - restore @backup (nothing was applied yet); returns -1. */
int agent_change_abort(struct agent *a, struct svc_reg *backup);
/*
 * agent_change_commit - apply the changed registry with @sync and save the
 * state file. On failure (@err set, "@what: rollback incomplete" logged if the
 * second sync fails too): restore @backup, call @undo(a, @undo_arg) if
 * @undo_arg (to remove what was newly set up), and apply again. Frees @backup;
 * returns 0 or -1.
 */
int agent_change_commit(struct agent *a, struct svc_reg *backup, const char *what,
			int (*sync)(struct agent *a, char *why, size_t whylen),
			void (*undo)(struct agent *a, const char *arg), const char *undo_arg,
			struct svc_err *err);

#endif /* SVC_AGENT_CHANGE_H */
