/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* servicectl dump: decode svcplane TCP options from captures (runs without the agent). */
#ifndef SVC_CLI_DUMP_H
#define SVC_CLI_DUMP_H

#include "ctl.h"

/* svc_cli_dump - run `servicectl dump` as parsed in @inv; returns the exit status. */
int svc_cli_dump(const struct svc_ctl_inv *inv);

#endif /* SVC_CLI_DUMP_H */
