/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* servicectl output: one print path for a result, as tables or as JSON. */
#ifndef SVC_CLI_PRINT_H
#define SVC_CLI_PRINT_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>
#include "ctl.h"

/*
 * print_result - print @result of @cmd on @f: with @json the object itself
 * (pretty, stable keys), else the blocks of cmd->views as tables.
 */
void print_result(FILE *f, const struct svc_ctl_cmd *cmd, json_object *result, bool json);

/* print_error - an error on stderr: "servicectl: CODE: MESSAGE", or {"error":{...}} with @json. */
void print_error(bool json, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* SVC_CLI_PRINT_H */
