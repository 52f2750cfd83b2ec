// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* servicectl output: tables for people, JSON for scripts, errors on stderr only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "print.h"

/* Follows a dotted @path ("service.instances") from @root; "" is the root itself. */
static json_object *resolve(json_object *root, const char *path)
{
	char buf[64], *save = NULL, *tok;
	json_object *cur = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(cur, tok, &cur))
			cur = NULL;
	return cur;
}

/* One cell as text, into @buf. */
static const char *cell(json_object *v, enum svc_ctl_fmt fmt, char *buf, size_t len)
{
	size_t off = 0;

	if (!v)
		return "-";
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "-";
	case json_type_boolean:
		return json_object_get_boolean(v) ? "yes" : "no";
	case json_type_string:
		return *json_object_get_string(v) ? json_object_get_string(v) : "-";
	case json_type_array:
		if (fmt != SVC_CTL_FMT_HOPS) {
			snprintf(buf, len, "%zu", json_object_array_length(v));
			return buf;
		}
		buf[0] = '\0';
		for (size_t i = 0; i < json_object_array_length(v) && off < len; i++) {
			json_object *h = json_object_array_get_idx(v, i);
			const char *addr =
				json_object_get_string(json_object_object_get(h, "addr"));
			int w = json_object_get_int(json_object_object_get(h, "weight"));
			bool v6 = addr && strchr(addr, ':');

			off += (size_t)snprintf(buf + off, len - off, "%s%s%s%s:%d", i ? " " : "",
						v6 ? "[" : "", addr ? addr : "?", v6 ? "]" : "", w);
		}
		return buf[0] ? buf : "-";
	default:
		snprintf(buf, len, "%s", json_object_get_string(v));
		return buf;
	}
}

static void print_object(FILE *f, json_object *o, const struct svc_ctl_col *cols)
{
	size_t w = 0;
	char buf[512];

	for (const struct svc_ctl_col *c = cols; c->key; c++)
		if (strlen(c->header) > w)
			w = strlen(c->header);
	for (const struct svc_ctl_col *c = cols; c->key; c++)
		fprintf(f, "%-*s  %s\n", (int)w + 1, c->header,
			cell(json_object_object_get(o, c->key), c->fmt, buf, sizeof(buf)));
}

static void print_table(FILE *f, json_object *arr, const struct svc_ctl_col *cols)
{
	size_t ncols = 0, nrows = json_object_array_length(arr);
	size_t width[16] = { 0 };
	char buf[512];

	for (const struct svc_ctl_col *c = cols; c->key && ncols < 16; c++, ncols++)
		width[ncols] = strlen(c->header);
	for (size_t r = 0; r < nrows; r++) {
		json_object *row = json_object_array_get_idx(arr, r);

		for (size_t c = 0; c < ncols; c++) {
			size_t l = strlen(cell(json_object_object_get(row, cols[c].key),
					       cols[c].fmt, buf, sizeof(buf)));

			if (l > width[c])
				width[c] = l;
		}
	}
	for (size_t c = 0; c < ncols; c++)
		fprintf(f, c + 1 < ncols ? "%-*s  " : "%-*s\n", c + 1 < ncols ? (int)width[c] : 0,
			cols[c].header);
	for (size_t r = 0; r < nrows; r++) {
		json_object *row = json_object_array_get_idx(arr, r);

		for (size_t c = 0; c < ncols; c++)
			fprintf(f, c + 1 < ncols ? "%-*s  " : "%-*s\n",
				c + 1 < ncols ? (int)width[c] : 0,
				cell(json_object_object_get(row, cols[c].key), cols[c].fmt, buf,
				     sizeof(buf)));
	}
}

void print_result(FILE *f, const struct svc_ctl_cmd *cmd, json_object *result, bool json)
{
	bool first = true;

	if (json) {
		fprintf(f, "%s\n",
			json_object_to_json_string_ext(
				result, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		return;
	}
	if (!cmd->views)
		return;
	for (const struct svc_ctl_view *v = cmd->views; v->path; v++) {
		json_object *o = resolve(result, v->path);

		if (!o || (!json_object_is_type(o, json_type_object) &&
			   !json_object_is_type(o, json_type_array)))
			continue;
		if (json_object_is_type(o, json_type_object) &&
		    !json_object_object_get_ex(o, v->cols[0].key, NULL))
			continue; /* e.g. "flows --count": the result has no such block */
		if (!first)
			fputc('\n', f);
		first = false;
		if (v->title)
			fprintf(f, "%s:\n", v->title);
		if (json_object_is_type(o, json_type_array))
			print_table(f, o, v->cols);
		else
			print_object(f, o, v->cols);
	}
}

void print_error(bool json, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json) {
		json_object *o = json_object_new_object(), *e = json_object_new_object();

		json_object_object_add(e, "code", json_object_new_string(code));
		json_object_object_add(e, "message", json_object_new_string(msg));
		json_object_object_add(o, "error", e);
		fprintf(stderr, "%s\n",
			json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		return;
	}
	fprintf(stderr, "servicectl: %s\n", msg);
}
