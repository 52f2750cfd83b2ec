// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svcplaned: the registry on disk (STATE_DIR/state.json through the journal). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent.h"
#include "journal.h"
#include "log.h"

int agent_state_load(struct agent *a, char *why, size_t whylen)
{
	struct json_tokener *tok;
	struct svc_err err;
	json_object *obj;
	struct svc_reg r;
	char *data = NULL;
	size_t len = 0;
	int ret;

	ret = svc_journal_read(a->state_path, &data, &len, why, whylen);
	if (ret)
		return ret;
	tok = json_tokener_new();
	if (!tok) {
		free(data);
		return -ENOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, data, (int)len);
	if (!obj || json_tokener_get_parse_end(tok) != len) {
		snprintf(why, whylen, "%s: corrupt: content is not one JSON object (%s)",
			 a->state_path, json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(obj);
		json_tokener_free(tok);
		free(data);
		return -EBADMSG;
	}
	json_tokener_free(tok);
	free(data);
	ret = svc_reg_from_json(&r, obj, &err);
	json_object_put(obj);
	if (ret) {
		snprintf(why, whylen, "%s: invalid registry: %s", a->state_path, err.msg);
		return -EBADMSG;
	}
	svc_reg_free(&a->reg);
	a->reg = r;
	return 0;
}

int agent_state_save(struct agent *a, char *why, size_t whylen)
{
	json_object *obj = svc_reg_to_json(&a->reg);
	const char *text;
	int ret;

	if (!obj) {
		snprintf(why, whylen, "%s: out of memory", a->state_path);
		return -ENOMEM;
	}
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	ret = svc_journal_write(a->state_path, text, strlen(text), why, whylen);
	json_object_put(obj);
	if (ret)
		pr_err("save state: %s", why);
	else
		pr_debug("state saved to %s", a->state_path);
	return ret;
}
