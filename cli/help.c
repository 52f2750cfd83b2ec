// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* servicectl's help text, made from the command table: everything, a group, or a command. */
#include <stdio.h>
#include <string.h>
#include "ctl.h"

static void help_cmd(FILE *f, const struct svc_ctl_cmd *c)
{
	char words[64];

	svc_ctl_cmd_words(c, words, sizeof(words));
	fprintf(f, "Usage: servicectl [-j] [-s PATH] %s %s\n%s.\n", words, c->usage, c->summary);
	if (c->opts && c->opts->long_name) {
		fprintf(f, "\nOptions:\n");
		for (const struct svc_ctl_opt *o = c->opts; o->long_name; o++) {
			char left[48];

			if (o->short_name)
				snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name,
					 o->long_name, o->metavar ? " " : "",
					 o->metavar ? o->metavar : "");
			else
				snprintf(left, sizeof(left), "    --%s%s%s", o->long_name,
					 o->metavar ? " " : "", o->metavar ? o->metavar : "");
			fprintf(f, "  %-24s %s\n", left, o->help);
		}
	}
	fprintf(f, "  %-24s %s\n", "-h, --help", "this text");
	fprintf(f, "\nExample:\n  %s\n", c->example);
}

void svc_ctl_help(FILE *f, const struct svc_ctl_inv *inv)
{
	const char *last = NULL;

	if (inv->cmd) {
		help_cmd(f, inv->cmd);
		return;
	}
	if (inv->group) {
		fprintf(f, "Usage: servicectl [-j] [-s PATH] %s SUBCOMMAND ...\n\n", inv->group);
		for (const struct svc_ctl_cmd *c = svc_ctl_commands; c->group; c++) {
			char words[64];

			if (strcmp(c->group, inv->group))
				continue;
			svc_ctl_cmd_words(c, words, sizeof(words));
			fprintf(f, "  %s %s\n      %s\n", words, c->usage, c->summary);
		}
		fprintf(f, "\n'servicectl %s SUBCOMMAND --help' shows one in detail.\n",
			inv->group);
		return;
	}
	fprintf(f, "Usage: servicectl [-j|--json] [-s|--socket PATH] COMMAND ...\n"
		   "The svcplane operator's tool: talks to svcplaned's control API.\n\n"
		   "Options:\n"
		   "  -j, --json             print results as JSON (stable snake_case keys)\n"
		   "  -s, --socket PATH      agent socket (default /run/svcplane/api.sock)\n"
		   "  -h, --help             this text\n"
		   "      --version          print the version and exit\n\n"
		   "Commands:\n");
	for (const struct svc_ctl_cmd *c = svc_ctl_commands; c->group; c++) {
		char words[64], line[160];

		svc_ctl_cmd_words(c, words, sizeof(words));
		snprintf(line, sizeof(line), "%s %s", words, c->usage);
		fprintf(f, "  %-54s %s\n", line, c->summary);
		last = c->group;
	}
	(void)last;
	fprintf(f, "\nEach command takes --help. Exit status: 0 ok, 1 the request failed "
		   "(agent error or unreachable), 2 usage error (nothing sent).\n");
}
