/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The control API's wire format, shared by svcplaned and servicectl.
 *
 * One request and one response per line (newline-delimited JSON, UTF-8):
 *   request:  {"v":1,"op":"service.add","args":{"sid":"2001:db8::1"}}
 *   success:  {"v":1,"ok":true,"result":{...}}
 *   failure:  {"v":1,"ok":false,"error":{"code":"not_found","message":"..."}}
 * A request line is at most SVC_API_MAX_REQUEST bytes without its newline.
 * docs/svcplaned.md describes every op and its arguments.
 */
#ifndef SVC_API_H
#define SVC_API_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "svc_abi.h"

/* The API version this build speaks; a request with another "v" is refused. */
#define SVC_API_VERSION 1
/* Longest request line, newline excluded. */
#define SVC_API_MAX_REQUEST 65536
/* Longest op name ("instance.show"), NUL excluded. */
#define SVC_API_MAX_OP 31
/* Deepest JSON nesting accepted in a request. */
#define SVC_API_MAX_DEPTH 8

/* Error classes; each has a stable snake_case name on the wire. */
enum svc_api_code {
	SVC_API_OK = 0,
	SVC_API_INVALID,     /* "invalid_argument": malformed request or argument */
	SVC_API_NOT_FOUND,   /* "not_found": the named object does not exist */
	SVC_API_EXISTS,	     /* "exists": the object exists already */
	SVC_API_INTERNAL,    /* "internal": the agent could not do it (syscall, BPF, disk) */
	SVC_API_VERSION_BAD, /* "unsupported_version": "v" is not SVC_API_VERSION */
	SVC_API_TOO_LARGE,   /* "too_large": request line over SVC_API_MAX_REQUEST */
	SVC_API_CODE_MAX,
};

/* An error: class and a one-line message naming the bad argument or object. */
struct svc_err {
	enum svc_api_code code;
	char msg[256];
};

/* svc_api_code_name - wire name of @code ("invalid_argument"...), "unknown" if out of range. */
const char *svc_api_code_name(enum svc_api_code code);
/* svc_api_code_parse - the code named @name, or -1. */
int svc_api_code_parse(const char *name);

/* svc_err_set - fill @err (may be NULL) with @code and a printf-style message. Returns -1. */
int svc_err_set(struct svc_err *err, enum svc_api_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A parsed request. */
struct svc_api_request {
	char op[SVC_API_MAX_OP + 1]; /* e.g. "service.add" */
	json_object *args;	     /* owned; an empty object when the request had none */
};

/*
 * svc_api_request_parse - decode one request line (@len bytes, newline excluded).
 * Strict: one JSON object, no trailing bytes, valid UTF-8, no NUL, known fields
 * only, "v" checked first. Returns 0, or -1 with @err set (req untouched).
 */
int svc_api_request_parse(const char *line, size_t len, struct svc_api_request *req,
			  struct svc_err *err);
void svc_api_request_free(struct svc_api_request *req);

/* svc_api_request_new - build {"v":1,"op":op,"args":args}; takes ownership of @args (NULL = {}). */
json_object *svc_api_request_new(const char *op, json_object *args);
/* svc_api_response_ok - build a success response; takes ownership of @result (NULL = {}). */
json_object *svc_api_response_ok(json_object *result);
/* svc_api_response_err - build a failure response from @err. */
json_object *svc_api_response_err(const struct svc_err *err);

/*
 * svc_api_encode - serialize @obj as one line ending in '\n' (malloc'd, *len
 * excludes nothing: it counts the newline). NULL on allocation failure.
 */
char *svc_api_encode(json_object *obj, size_t *len);

/*
 * svc_api_response_parse - decode a response line. Returns 0 with *result
 * (owned by the caller) for ok:true; 1 with @err filled from the agent's error
 * for ok:false; -1 with @err describing a malformed response.
 */
int svc_api_response_parse(const char *line, size_t len, json_object **result, struct svc_err *err);

/*
 * Argument accessors for request handlers. Each returns 1 when the argument is
 * present and valid (value stored), 0 when absent and optional, -1 with @err
 * set (invalid_argument naming the key) when absent and required or invalid.
 */
int svc_api_args_only(json_object *args, const char *const *known, struct svc_err *err);
int svc_api_arg_str(json_object *args, const char *key, bool required, const char **out,
		    struct svc_err *err);
int svc_api_arg_uint(json_object *args, const char *key, bool required, unsigned long min,
		     unsigned long max, unsigned long *out, struct svc_err *err);
int svc_api_arg_bool(json_object *args, const char *key, bool required, bool *out,
		     struct svc_err *err);
int svc_api_arg_sid(json_object *args, const char *key, bool required, struct svc_sid *out,
		    struct svc_err *err);
int svc_api_arg_addr(json_object *args, const char *key, bool required, struct svc_addr *out,
		     struct svc_err *err);
int svc_api_arg_prefix(json_object *args, const char *key, bool required, struct svc_lpm_key *out,
		       struct svc_err *err);
int svc_api_arg_binding(json_object *args, const char *key, bool required,
			struct svc_binding_key *out, struct svc_err *err);
/* svc_api_arg_enum - a string that must be one of @names (NULL-terminated); *out = its index. */
int svc_api_arg_enum(json_object *args, const char *key, bool required, const char *const *names,
		     int *out, struct svc_err *err);

/*
 * svc_name_valid - a service/instance name: 1..63 bytes of [A-Za-z0-9._-],
 * starting with a letter or digit. Names appear in metric labels and tables.
 */
#define SVC_NAME_MAX 63
bool svc_name_valid(const char *name);

/*
 * svc_utf8_seq - length of the well-formed UTF-8 sequence at @s (at most @n
 * bytes), 0 if there is none: overlong forms, UTF-16 surrogates
 * (U+D800..U+DFFF), code points above U+10FFFF, stray continuation bytes and
 * truncated sequences are not well-formed (RFC 3629).
 */
size_t svc_utf8_seq(const char *s, size_t n);
/* svc_utf8_check - offset of the first byte of @s that is not well-formed UTF-8; @n if none. */
size_t svc_utf8_check(const char *s, size_t n);
/* svc_utf8_sanitize - replace each byte that starts no well-formed sequence with '?'. */
void svc_utf8_sanitize(char *s);

#endif /* SVC_API_H */
