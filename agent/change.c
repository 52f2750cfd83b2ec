// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svcplaned: apply-or-roll-back of the registry changes TI-flow and direct-path ops make
 * (change.h). */
#include "agent.h"
#include "change.h"
#include "log.h"

int agent_change_begin(struct agent *a, struct svc_reg *backup, struct svc_err *err)
{
	if (svc_reg_dup(backup, &a->reg))
		return svc_err_set(err, SVC_API_INTERNAL, "out of memory");
	return 0;
}

int agent_change_abort(struct agent *a, struct svc_reg *backup)
{
	svc_reg_swap(&a->reg, backup);
	svc_reg_free(backup);
	return -1;
}

int agent_change_commit(struct agent *a, struct svc_reg *backup, const char *what,
			int (*sync)(struct agent *a, char *why, size_t whylen),
			void (*undo)(struct agent *a, const char *arg), const char *undo_arg,
			struct svc_err *err)
{
	char why[512];

	if (sync(a, why, sizeof(why))) {
		svc_err_set(err, SVC_API_INTERNAL, "%s", why);
		goto rollback;
	}
	if (agent_state_save(a, why, sizeof(why))) {
		svc_err_set(err, SVC_API_INTERNAL, "save state: %s", why);
		goto rollback;
	}
	svc_reg_free(backup);
	return 0;
rollback:
	svc_reg_swap(&a->reg, backup);
	svc_reg_free(backup);
	if (undo_arg)
		undo(a, undo_arg);
	if (sync(a, why, sizeof(why)))
		pr_err("%s: rollback incomplete: %s", what, why);
	return -1;
}
