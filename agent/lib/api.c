// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Control API codec: strict request decoding, response building, argument validation. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "api.h"

static const char *const code_names[SVC_API_CODE_MAX] = {
	[SVC_API_OK] = "ok",
	[SVC_API_INVALID] = "invalid_argument",
	[SVC_API_NOT_FOUND] = "not_found",
	[SVC_API_EXISTS] = "exists",
	[SVC_API_INTERNAL] = "internal",
	[SVC_API_VERSION_BAD] = "unsupported_version",
	[SVC_API_TOO_LARGE] = "too_large",
};

const char *svc_api_code_name(enum svc_api_code code)
{
	if ((unsigned int)code >= SVC_API_CODE_MAX)
		return "unknown";
	return code_names[code];
}

int svc_api_code_parse(const char *name)
{
	for (int i = 0; i < SVC_API_CODE_MAX; i++)
		if (name && !strcmp(name, code_names[i]))
			return i;
	return -1;
}

int svc_err_set(struct svc_err *err, enum svc_api_code code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

size_t svc_utf8_seq(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len;
	unsigned int cp, min;

	if (!n)
		return 0;
	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		len = 2, cp = u[0] & 0x1f, min = 0x80;
	} else if ((u[0] & 0xf0) == 0xe0) {
		len = 3, cp = u[0] & 0x0f, min = 0x800;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		len = 4, cp = u[0] & 0x07, min = 0x10000;
	} else {
		return 0; /* continuation byte, 0xc0/0xc1 (always overlong), 0xf5.. */
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (u[i] & 0x3f);
	}
	/* overlong, a UTF-16 surrogate, or beyond U+10FFFF */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

size_t svc_utf8_check(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = svc_utf8_seq(s + i, n - i);
		if (!k)
			return i;
		i += k;
	}
	return n;
}

static int hex4(const char *p, unsigned int *out)
{
	unsigned int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned int)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/*
 * The \u escapes of a parsed JSON text: json-c decodes \u0000 into a NUL that
 * truncates the C string every consumer reads (a "sid" of "A\u0000x" would act
 * on A), and lone surrogates into bytes that are not UTF-8. Only called once
 * the text parsed, so every backslash is inside a string.
 */
static int escapes_check(const char *buf, size_t len, struct svc_err *err)
{
	unsigned int cp, lo;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\\')
			continue;
		if (i + 1 >= len || buf[i + 1] != 'u') {
			i++; /* a two-character escape: skip what it escapes */
			continue;
		}
		if (i + 6 > len || hex4(buf + i + 2, &cp))
			return svc_err_set(err, SVC_API_INVALID,
					   "malformed JSON at byte %zu: bad \\u escape", i);
		if (cp == 0)
			return svc_err_set(
				err, SVC_API_INVALID,
				"invalid string at byte %zu: \\u0000 (NUL) is not allowed", i);
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return svc_err_set(
				err, SVC_API_INVALID,
				"invalid string at byte %zu: lone UTF-16 low surrogate \\u%04x", i,
				cp);
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (i + 12 > len || buf[i + 6] != '\\' || buf[i + 7] != 'u' ||
			    hex4(buf + i + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
				return svc_err_set(err, SVC_API_INVALID,
						   "invalid string at byte %zu: lone UTF-16 high "
						   "surrogate \\u%04x",
						   i, cp);
			i += 6;
		}
		i += 5;
	}
	return 0;
}

/*
 * Parses exactly @len bytes as one JSON value; no trailing bytes. Every
 * string (and key) must be UTF-8 in its shortest form without surrogates, and
 * contain no NUL, neither raw nor escaped: the values become C strings.
 */
static json_object *parse_strict(const char *buf, size_t len, struct svc_err *err)
{
	struct json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	size_t off;

	if (memchr(buf, '\0', len))
		return svc_err_set(err, SVC_API_INVALID, "malformed JSON: contains a NUL byte"),
		       NULL;
	off = svc_utf8_check(buf, len);
	if (off != len)
		return svc_err_set(
			       err, SVC_API_INVALID,
			       "malformed JSON: invalid UTF-8 at byte %zu (overlong, surrogate or "
			       "truncated sequence)",
			       off),
		       NULL;
	tok = json_tokener_new_ex(SVC_API_MAX_DEPTH);
	if (!tok) {
		svc_err_set(err, SVC_API_INTERNAL, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	off = json_tokener_get_parse_end(tok);
	if (!obj && jerr == json_tokener_continue)
		svc_err_set(err, SVC_API_INVALID, "malformed JSON: incomplete value");
	else if (!obj)
		svc_err_set(err, SVC_API_INVALID, "malformed JSON at byte %zu: %s", off,
			    json_tokener_error_desc(jerr));
	else if (off != len) {
		/* Only whitespace may follow the value. */
		for (size_t i = off; i < len; i++) {
			if (!strchr(" \t\r", buf[i])) {
				svc_err_set(err, SVC_API_INVALID,
					    "malformed JSON: trailing bytes at byte %zu", i);
				json_object_put(obj);
				obj = NULL;
				break;
			}
		}
	}
	json_tokener_free(tok);
	if (obj && escapes_check(buf, len, err)) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

/* Op names are short lowercase words joined by dots. */
static bool op_valid(const char *op)
{
	size_t n = strlen(op);

	if (n == 0 || n > SVC_API_MAX_OP)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((op[i] >= 'a' && op[i] <= 'z') || op[i] == '.' || op[i] == '_'))
			return false;
	return true;
}

int svc_api_request_parse(const char *line, size_t len, struct svc_api_request *req,
			  struct svc_err *err)
{
	json_object *obj, *v, *op, *args = NULL;
	int64_t ver;

	if (len > SVC_API_MAX_REQUEST)
		return svc_err_set(err, SVC_API_TOO_LARGE, "request of %zu bytes exceeds %d bytes",
				   len, SVC_API_MAX_REQUEST);
	obj = parse_strict(line, len, err);
	if (!obj)
		return -1;
	if (!json_object_is_type(obj, json_type_object)) {
		svc_err_set(err, SVC_API_INVALID, "request is not a JSON object");
		goto fail;
	}
	/* The version decides how everything else is read: check it first. */
	if (!json_object_object_get_ex(obj, "v", &v)) {
		svc_err_set(err, SVC_API_INVALID, "request has no field 'v' (API version)");
		goto fail;
	}
	if (!json_object_is_type(v, json_type_int)) {
		svc_err_set(err, SVC_API_INVALID, "field 'v' must be an integer");
		goto fail;
	}
	ver = json_object_get_int64(v);
	if (ver != SVC_API_VERSION) {
		svc_err_set(err, SVC_API_VERSION_BAD,
			    "unsupported API version %lld (this agent speaks %d)", (long long)ver,
			    SVC_API_VERSION);
		goto fail;
	}
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		if (strcmp(key, "v") && strcmp(key, "op") && strcmp(key, "args")) {
			svc_err_set(err, SVC_API_INVALID, "unknown request field '%.64s'", key);
			goto fail;
		}
	}
	if (!json_object_object_get_ex(obj, "op", &op) ||
	    !json_object_is_type(op, json_type_string)) {
		svc_err_set(err, SVC_API_INVALID, "request has no string field 'op'");
		goto fail;
	}
	if (!op_valid(json_object_get_string(op))) {
		svc_err_set(err, SVC_API_INVALID, "malformed op name '%.40s'",
			    json_object_get_string(op));
		goto fail;
	}
	if (json_object_object_get_ex(obj, "args", &args) &&
	    !json_object_is_type(args, json_type_object)) {
		svc_err_set(err, SVC_API_INVALID, "field 'args' must be an object");
		goto fail;
	}
	snprintf(req->op, sizeof(req->op), "%s", json_object_get_string(op));
	req->args = args ? json_object_get(args) : json_object_new_object();
	json_object_put(obj);
	if (!req->args)
		return svc_err_set(err, SVC_API_INTERNAL, "out of memory");
	return 0;
fail:
	json_object_put(obj);
	return -1;
}

void svc_api_request_free(struct svc_api_request *req)
{
	if (!req)
		return;
	json_object_put(req->args);
	req->args = NULL;
}

json_object *svc_api_request_new(const char *op, json_object *args)
{
	json_object *o = json_object_new_object();

	if (!o) {
		json_object_put(args);
		return NULL;
	}
	json_object_object_add(o, "v", json_object_new_int(SVC_API_VERSION));
	json_object_object_add(o, "op", json_object_new_string(op));
	json_object_object_add(o, "args", args ? args : json_object_new_object());
	return o;
}

json_object *svc_api_response_ok(json_object *result)
{
	json_object *o = json_object_new_object();

	if (!o) {
		json_object_put(result);
		return NULL;
	}
	json_object_object_add(o, "v", json_object_new_int(SVC_API_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "result", result ? result : json_object_new_object());
	return o;
}

void svc_utf8_sanitize(char *s)
{
	size_t n = strlen(s), i = 0, k;

	while (i < n) {
		k = svc_utf8_seq(s + i, n - i);
		if (!k) {
			s[i++] = '?';
			continue;
		}
		i += k;
	}
}

json_object *svc_api_response_err(const struct svc_err *err)
{
	json_object *o = json_object_new_object();
	json_object *e = json_object_new_object();
	char msg[sizeof(err->msg)];

	if (!o || !e) {
		json_object_put(o);
		json_object_put(e);
		return NULL;
	}
	json_object_object_add(e, "code", json_object_new_string(svc_api_code_name(err->code)));
	/* A message quoting an argument cut at a byte count may end mid-sequence. */
	snprintf(msg, sizeof(msg), "%s", err->msg);
	svc_utf8_sanitize(msg);
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(o, "v", json_object_new_int(SVC_API_VERSION));
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", e);
	return o;
}

char *svc_api_encode(json_object *obj, size_t *len)
{
	const char *s;
	size_t n;
	char *out;

	s = json_object_to_json_string_ext(obj,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		return NULL;
	n = strlen(s);
	out = malloc(n + 2);
	if (!out)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	if (len)
		*len = n + 1;
	return out;
}

int svc_api_response_parse(const char *line, size_t len, json_object **result, struct svc_err *err)
{
	json_object *obj, *v, *ok, *res, *e, *code, *msg;
	int c, ret = -1;

	*result = NULL;
	obj = parse_strict(line, len, err);
	if (!obj)
		return -1;
	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "v", &v) || !json_object_is_type(v, json_type_int) ||
	    !json_object_object_get_ex(obj, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean)) {
		svc_err_set(err, SVC_API_INTERNAL, "malformed response from the agent");
		goto out;
	}
	if (json_object_get_int64(v) != SVC_API_VERSION) {
		svc_err_set(err, SVC_API_VERSION_BAD,
			    "agent answered with API version %lld, not %d",
			    (long long)json_object_get_int64(v), SVC_API_VERSION);
		goto out;
	}
	if (json_object_get_boolean(ok)) {
		if (!json_object_object_get_ex(obj, "result", &res) ||
		    !json_object_is_type(res, json_type_object)) {
			svc_err_set(err, SVC_API_INTERNAL, "agent response has no result object");
			goto out;
		}
		*result = json_object_get(res);
		ret = 0;
		goto out;
	}
	if (!json_object_object_get_ex(obj, "error", &e) ||
	    !json_object_object_get_ex(e, "code", &code) ||
	    !json_object_object_get_ex(e, "message", &msg) ||
	    !json_object_is_type(code, json_type_string) ||
	    !json_object_is_type(msg, json_type_string)) {
		svc_err_set(err, SVC_API_INTERNAL, "agent error response is malformed");
		goto out;
	}
	c = svc_api_code_parse(json_object_get_string(code));
	svc_err_set(err, c > 0 ? c : SVC_API_INTERNAL, "%s", json_object_get_string(msg));
	ret = 1;
out:
	json_object_put(obj);
	return ret;
}

int svc_api_args_only(json_object *args, const char *const *known, struct svc_err *err)
{
	json_object_object_foreach(args, key, val)
	{
		bool ok = false;

		(void)val;
		for (const char *const *k = known; *k; k++)
			if (!strcmp(key, *k))
				ok = true;
		if (!ok)
			return svc_err_set(err, SVC_API_INVALID, "unknown argument '%.64s'", key);
	}
	return 0;
}

/*
 * Looks up @key; returns 1 found, 0 absent+optional, -1 absent+required or
 * null: a null is not "the default", it is a client bug that must not pass
 * for an omitted argument.
 */
static int arg_get(json_object *args, const char *key, bool required, json_object **val,
		   struct svc_err *err)
{
	if (json_object_object_get_ex(args, key, val)) {
		if (json_object_is_type(*val, json_type_null))
			return svc_err_set(err, SVC_API_INVALID,
					   "argument '%s' is null: give a value or leave it out",
					   key);
		return 1;
	}
	if (required)
		return svc_err_set(err, SVC_API_INVALID, "missing argument '%s'", key);
	return 0;
}

int svc_api_arg_str(json_object *args, const char *key, bool required, const char **out,
		    struct svc_err *err)
{
	json_object *v;
	int r = arg_get(args, key, required, &v, err);

	if (r <= 0)
		return r;
	if (!json_object_is_type(v, json_type_string))
		return svc_err_set(err, SVC_API_INVALID, "argument '%s' must be a string", key);
	*out = json_object_get_string(v);
	return 1;
}

int svc_api_arg_uint(json_object *args, const char *key, bool required, unsigned long min,
		     unsigned long max, unsigned long *out, struct svc_err *err)
{
	json_object *v;
	int64_t x;
	int r = arg_get(args, key, required, &v, err);

	if (r <= 0)
		return r;
	if (!json_object_is_type(v, json_type_int))
		return svc_err_set(err, SVC_API_INVALID, "argument '%s' must be an integer", key);
	x = json_object_get_int64(v);
	if (x < 0 || (unsigned long)x < min || (unsigned long)x > max)
		return svc_err_set(err, SVC_API_INVALID,
				   "argument '%s' = %lld out of range %lu..%lu", key, (long long)x,
				   min, max);
	*out = (unsigned long)x;
	return 1;
}

int svc_api_arg_bool(json_object *args, const char *key, bool required, bool *out,
		     struct svc_err *err)
{
	json_object *v;
	int r = arg_get(args, key, required, &v, err);

	if (r <= 0)
		return r;
	if (!json_object_is_type(v, json_type_boolean))
		return svc_err_set(err, SVC_API_INVALID, "argument '%s' must be true or false",
				   key);
	*out = json_object_get_boolean(v);
	return 1;
}

/* Shared shape of the text-typed accessors: string, then a parser from addr.h. */
#define ARG_PARSED(fn, type, parse, what)                                                         \
	int fn(json_object *args, const char *key, bool required, type *out, struct svc_err *err) \
	{                                                                                         \
		const char *s;                                                                    \
		type tmp;                                                                         \
		int r = svc_api_arg_str(args, key, required, &s, err);                            \
		if (r <= 0)                                                                       \
			return r;                                                                 \
		memset(&tmp, 0, sizeof(tmp));                                                     \
		if (strlen(s) >= SVC_ADDR_STRLEN || parse(s, &tmp))                               \
			return svc_err_set(err, SVC_API_INVALID,                                  \
					   "argument '%s': invalid %s '%.64s'", key, what, s);    \
		*out = tmp;                                                                       \
		return 1;                                                                         \
	}

ARG_PARSED(svc_api_arg_sid, struct svc_sid, svc_sid_parse, "serviceID")
ARG_PARSED(svc_api_arg_addr, struct svc_addr, svc_addr_parse, "address")
ARG_PARSED(svc_api_arg_prefix, struct svc_lpm_key, svc_prefix_parse, "prefix")
ARG_PARSED(svc_api_arg_binding, struct svc_binding_key, svc_binding_parse, "VIP:PORT/PROTO")

int svc_api_arg_enum(json_object *args, const char *key, bool required, const char *const *names,
		     int *out, struct svc_err *err)
{
	const char *s;
	int r = svc_api_arg_str(args, key, required, &s, err);

	if (r <= 0)
		return r;
	for (int i = 0; names[i]; i++) {
		if (!strcmp(s, names[i])) {
			*out = i;
			return 1;
		}
	}
	return svc_err_set(err, SVC_API_INVALID, "argument '%s': unknown value '%.32s'", key, s);
}

bool svc_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > SVC_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || !strchr("._-", c)))
			return false;
	}
	return true;
}
