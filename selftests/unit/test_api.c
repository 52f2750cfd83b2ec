// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the control API codec (agent/lib/api.c): round trips and a malformed-input table.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"

/* Encode a request, decode it again: op and args survive unchanged. */
START_TEST(test_request_round_trip)
{
	json_object *args = json_object_new_object(), *req;
	struct svc_api_request r;
	struct svc_err err = { 0 };
	size_t len;
	char *line;

	json_object_object_add(args, "sid", json_object_new_string("2001:db8::1"));
	json_object_object_add(args, "weight", json_object_new_int(7));
	json_object_object_add(args, "name", json_object_new_string("caf\xc3\xa9/x"));
	req = svc_api_request_new("instance.add", json_object_get(args));
	line = svc_api_encode(req, &len);
	ck_assert_ptr_nonnull(line);
	ck_assert_uint_eq(len, strlen(line));
	ck_assert_int_eq(line[len - 1], '\n');
	ck_assert_ptr_null(memchr(line, '\n', len - 1)); /* one line */
	ck_assert_int_eq(svc_api_request_parse(line, len - 1, &r, &err), 0);
	ck_assert_str_eq(r.op, "instance.add");
	ck_assert(json_object_equal(r.args, args));
	svc_api_request_free(&r);
	free(line);
	json_object_put(req);
	json_object_put(args);
}
END_TEST

/* A request without "args" gets an empty args object. */
START_TEST(test_request_no_args)
{
	const char *s = "{\"op\":\"status\",\"v\":1}";
	struct svc_api_request r;
	struct svc_err err;

	ck_assert_int_eq(svc_api_request_parse(s, strlen(s), &r, &err), 0);
	ck_assert_str_eq(r.op, "status");
	ck_assert(json_object_is_type(r.args, json_type_object));
	ck_assert_int_eq(json_object_object_length(r.args), 0);
	svc_api_request_free(&r);
	/* A CRLF client and surrounding blanks are fine. */
	s = " {\"v\":1,\"op\":\"flows.clear\"} \r";
	ck_assert_int_eq(svc_api_request_parse(s, strlen(s), &r, &err), 0);
	ck_assert_str_eq(r.op, "flows.clear");
	svc_api_request_free(&r);
}
END_TEST

START_TEST(test_response_round_trip)
{
	json_object *res = json_object_new_object(), *out = NULL, *resp;
	struct svc_err err = { SVC_API_NOT_FOUND, "no service 2001:db8::1" }, got;
	size_t len;
	char *line;

	json_object_object_add(res, "count", json_object_new_int(3));
	resp = svc_api_response_ok(json_object_get(res));
	line = svc_api_encode(resp, &len);
	ck_assert_int_eq(svc_api_response_parse(line, len - 1, &out, &got), 0);
	ck_assert(json_object_equal(out, res));
	json_object_put(out);
	free(line);
	json_object_put(resp);

	resp = svc_api_response_err(&err);
	line = svc_api_encode(resp, &len);
	ck_assert_int_eq(svc_api_response_parse(line, len - 1, &out, &got), 1);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(got.code, SVC_API_NOT_FOUND);
	ck_assert_str_eq(got.msg, "no service 2001:db8::1");
	ck_assert_str_eq(svc_api_code_name(got.code), "not_found");
	free(line);
	json_object_put(resp);
	json_object_put(res);
}
END_TEST

/* Malformed requests: each gets its error class and a message naming the problem. */
static const struct {
	const char *in;
	size_t len; /* 0 = strlen(in) */
	enum svc_api_code code;
	const char *msg; /* substring of the message */
} bad_requests[] = {
	{ "", 0, SVC_API_INVALID, "incomplete" },
	{ "garbage", 0, SVC_API_INVALID, "malformed JSON" },
	{ "{", 0, SVC_API_INVALID, "incomplete" },
	{ "{\"v\":1,\"op\":\"status\"", 0, SVC_API_INVALID, "incomplete" },
	{ "[1,2]", 0, SVC_API_INVALID, "not a JSON object" },
	{ "\"v\"", 0, SVC_API_INVALID, "not a JSON object" },
	{ "{}", 0, SVC_API_INVALID, "no field 'v'" },
	{ "{\"v\":\"1\",\"op\":\"status\"}", 0, SVC_API_INVALID, "'v' must be an integer" },
	{ "{\"v\":1.0,\"op\":\"status\"}", 0, SVC_API_INVALID, "'v' must be an integer" },
	{ "{\"v\":2,\"op\":\"status\"}", 0, SVC_API_VERSION_BAD, "version 2" },
	{ "{\"v\":0,\"op\":\"status\"}", 0, SVC_API_VERSION_BAD, "version 0" },
	{ "{\"v\":99999999999999999999,\"op\":\"x\"}", 0, SVC_API_VERSION_BAD, "version" },
	{ "{\"v\":2,\"junk\":[]}", 0, SVC_API_VERSION_BAD, "speaks 1" },
	{ "{\"v\":1}", 0, SVC_API_INVALID, "'op'" },
	{ "{\"v\":1,\"op\":5}", 0, SVC_API_INVALID, "'op'" },
	{ "{\"v\":1,\"op\":\"\"}", 0, SVC_API_INVALID, "malformed op" },
	{ "{\"v\":1,\"op\":\"Service.Add\"}", 0, SVC_API_INVALID, "malformed op" },
	{ "{\"v\":1,\"op\":\"a-very-long-op-name.that-goes-on-and-on\"}", 0, SVC_API_INVALID,
	  "malformed op" },
	{ "{\"v\":1,\"op\":\"status\",\"args\":[]}", 0, SVC_API_INVALID, "'args' must be" },
	{ "{\"v\":1,\"op\":\"status\",\"args\":\"x\"}", 0, SVC_API_INVALID, "'args' must be" },
	{ "{\"v\":1,\"op\":\"status\",\"id\":1}", 0, SVC_API_INVALID,
	  "unknown request field 'id'" },
	{ "{\"v\":1,\"op\":\"status\"} x", 0, SVC_API_INVALID, "malformed JSON at byte" },
	{ "{\"v\":1,\"op\":\"status\"}{\"v\":1}", 0, SVC_API_INVALID, "malformed JSON at byte" },
	{ "{\"v\":1,\"op\":\"st\0tus\"}", 21, SVC_API_INVALID, "NUL" },
	{ "{\"v\":1,\"op\":\"st\xff\xfeus\"}", 0, SVC_API_INVALID, "malformed JSON" },
	{ "{\"v\":1,\"op\":'status'}", 0, SVC_API_INVALID, "malformed JSON" },
	{ "{\"v\":1,\"op\":\"status\",}", 0, SVC_API_INVALID, "malformed JSON" },
	{ "{v:1,\"op\":\"status\"}", 0, SVC_API_INVALID, "malformed JSON" },
	{ "{\"v\":1,\"op\":\"status\",\"args\":{\"a\":[[[[[[[[[[1]]]]]]]]]]}}", 0, SVC_API_INVALID,
	  "malformed JSON" },
	/* NUL escaped: json-c would decode it and the C string would stop there */
	{ "{\"v\":1,\"op\":\"status\\u0000junk\"}", 0, SVC_API_INVALID, "\\u0000 (NUL)" },
	{ "{\"v\":1,\"op\":\"service.del\",\"args\":{\"sid\":\"fd00:5e::2\\u0000x\"}}", 0,
	  SVC_API_INVALID, "\\u0000 (NUL)" },
	{ "{\"v\":1,\"op\":\"status\",\"args\":{\"a\\u0000b\":1}}", 0, SVC_API_INVALID,
	  "\\u0000 (NUL)" },
	/* an escaped backslash before "u0000" is not an escape of NUL: accepted by the parser */
	/* lone surrogates, escaped */
	{ "{\"v\":1,\"op\":\"status\",\"args\":{\"s\":\"\\ud800\"}}", 0, SVC_API_INVALID,
	  "high surrogate" },
	{ "{\"v\":1,\"op\":\"status\",\"args\":{\"s\":\"\\ud800\\u0041\"}}", 0, SVC_API_INVALID,
	  "high surrogate" },
	{ "{\"v\":1,\"op\":\"status\",\"args\":{\"s\":\"\\uDC00x\"}}", 0, SVC_API_INVALID,
	  "low surrogate" },
	/* raw: overlong '/', overlong NUL, encoded surrogate, beyond U+10FFFF, truncated */
	{ "{\"v\":1,\"op\":\"status\",\"args\":{\"s\":\"\xc0\xaf\"}}", 0, SVC_API_INVALID,
	  "invalid UTF-8 at byte 34" },
	{ "{\"v\":1,\"op\":\"status\",\"args\":{\"s\":\"\xc0\x80\"}}", 0, SVC_API_INVALID,
	  "invalid UTF-8" },
	{ "{\"v\":1,\"op\":\"status\",\"args\":{\"s\":\"\xe0\x80\xaf\"}}", 0, SVC_API_INVALID,
	  "invalid UTF-8" },
	{ "{\"v\":1,\"op\":\"status\",\"args\":{\"s\":\"\xf0\x80\x80\xaf\"}}", 0, SVC_API_INVALID,
	  "invalid UTF-8" },
	{ "{\"v\":1,\"op\":\"status\",\"args\":{\"s\":\"\xed\xa0\x80\"}}", 0, SVC_API_INVALID,
	  "invalid UTF-8" },
	{ "{\"v\":1,\"op\":\"status\",\"args\":{\"s\":\"\xf4\x90\x80\x80\"}}", 0, SVC_API_INVALID,
	  "invalid UTF-8" },
	{ "{\"v\":1,\"op\":\"status\",\"args\":{\"s\":\"\xe2\x82\"}}", 0, SVC_API_INVALID,
	  "invalid UTF-8" },
};

START_TEST(test_bad_requests)
{
	struct svc_api_request r = { .args = NULL };
	struct svc_err err = { 0 };
	const char *in = bad_requests[_i].in;
	size_t len = bad_requests[_i].len ? bad_requests[_i].len : strlen(in);

	ck_assert_msg(svc_api_request_parse(in, len, &r, &err) == -1, "case %d accepted: %s", _i,
		      in);
	ck_assert_ptr_null(r.args);
	ck_assert_msg(err.code == bad_requests[_i].code, "case %d: code %s, expected %s (%s)", _i,
		      svc_api_code_name(err.code), svc_api_code_name(bad_requests[_i].code),
		      err.msg);
	ck_assert_msg(strstr(err.msg, bad_requests[_i].msg), "case %d: message '%s' lacks '%s'", _i,
		      err.msg, bad_requests[_i].msg);
}
END_TEST

/* Well-formed strings stay accepted: a surrogate pair, "\\u0000" as text, 4-byte UTF-8. */
START_TEST(test_good_strings)
{
	static const char *const good[] = {
		"{\"v\":1,\"op\":\"status\",\"args\":{\"s\":\"\\ud83d\\ude00\"}}",
		"{\"v\":1,\"op\":\"status\",\"args\":{\"s\":\"a\\\\u0000\"}}",
		"{\"v\":1,\"op\":\"status\",\"args\":{\"s\":\"\xf0\x9f\x98\x80 \xc3\xa9 "
		"\xef\xbf\xbf\"}}",
		"{\"v\":1,\"op\":\"status\",\"args\":{\"s\":\"\\u00e9\\n\\\"\"}}",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct svc_api_request r = { .args = NULL };
		struct svc_err err = { 0 };

		ck_assert_msg(svc_api_request_parse(good[i], strlen(good[i]), &r, &err) == 0,
			      "case %zu refused: %s", i, err.msg);
		svc_api_request_free(&r);
	}
}
END_TEST

/* UTF-8 helpers: boundaries of RFC 3629, and the sanitizer of error messages. */
START_TEST(test_utf8)
{
	char msg[] = "a\xc3\xa9"
		     "b\xe2\x82";

	ck_assert_uint_eq(svc_utf8_seq("\x7f", 1), 1);
	ck_assert_uint_eq(svc_utf8_seq("\xc2\x80", 2), 2);
	ck_assert_uint_eq(svc_utf8_seq("\xc1\xbf", 2), 0);
	ck_assert_uint_eq(svc_utf8_seq("\xe0\xa0\x80", 3), 3);
	ck_assert_uint_eq(svc_utf8_seq("\xe0\x9f\xbf", 3), 0);
	ck_assert_uint_eq(svc_utf8_seq("\xed\x9f\xbf", 3), 3);
	ck_assert_uint_eq(svc_utf8_seq("\xed\xa0\x80", 3), 0);
	ck_assert_uint_eq(svc_utf8_seq("\xee\x80\x80", 3), 3);
	ck_assert_uint_eq(svc_utf8_seq("\xf0\x90\x80\x80", 4), 4);
	ck_assert_uint_eq(svc_utf8_seq("\xf0\x8f\xbf\xbf", 4), 0);
	ck_assert_uint_eq(svc_utf8_seq("\xf4\x8f\xbf\xbf", 4), 4);
	ck_assert_uint_eq(svc_utf8_seq("\xf4\x90\x80\x80", 4), 0);
	ck_assert_uint_eq(svc_utf8_seq("\xf0\x90\x80", 3), 0);
	ck_assert_uint_eq(svc_utf8_seq("\x80", 1), 0);
	ck_assert_uint_eq(svc_utf8_check("ab\xc3\xa9\xff", 5), 4);
	svc_utf8_sanitize(msg);
	ck_assert_str_eq(msg, "a\xc3\xa9"
			      "b??");
}
END_TEST

/* Exactly SVC_API_MAX_REQUEST bytes are accepted; one more is too_large. */
START_TEST(test_size_limit)
{
	const char *head = "{\"v\":1,\"op\":\"status\",\"args\":{\"pad\":\"";
	const char *tail = "\"}}";
	size_t n = SVC_API_MAX_REQUEST;
	char *buf = malloc(n + 2);
	struct svc_api_request r;
	struct svc_err err;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 'x', n + 1);
	memcpy(buf, head, strlen(head));
	memcpy(buf + n - strlen(tail), tail, strlen(tail));
	ck_assert_int_eq(svc_api_request_parse(buf, n, &r, &err), 0);
	svc_api_request_free(&r);
	memcpy(buf + n + 1 - strlen(tail), tail, strlen(tail));
	ck_assert_int_eq(svc_api_request_parse(buf, n + 1, &r, &err), -1);
	ck_assert_int_eq(err.code, SVC_API_TOO_LARGE);
	free(buf);
}
END_TEST

START_TEST(test_bad_responses)
{
	static const char *const bad[] = {
		"",
		"{}",
		"{\"v\":1}",
		"{\"v\":1,\"ok\":\"yes\"}",
		"{\"v\":1,\"ok\":true}",
		"{\"v\":1,\"ok\":true,\"result\":[]}",
		"{\"v\":1,\"ok\":false}",
		"{\"v\":1,\"ok\":false,\"error\":{\"code\":1,\"message\":\"x\"}}",
		"{\"v\":2,\"ok\":true,\"result\":{}}",
	};
	json_object *res;
	struct svc_err err;
	const char *s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(svc_api_response_parse(bad[i], strlen(bad[i]), &res, &err) == -1,
			      "accepted '%s'", bad[i]);
		ck_assert_ptr_null(res);
	}
	/* An unknown error code from a newer agent is reported as internal, message kept. */
	s = "{\"v\":1,\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"m\"}}";
	ck_assert_int_eq(svc_api_response_parse(s, strlen(s), &res, &err), 1);
	ck_assert_int_eq(err.code, SVC_API_INTERNAL);
	ck_assert_str_eq(err.msg, "m");
}
END_TEST

/* Argument accessors: type, range, presence, unknown keys. */
START_TEST(test_args)
{
	json_object *a = json_tokener_parse(
		"{\"sid\":\"2001:db8::1\",\"bad_sid\":\"2001:db8::zz\",\"w\":5,\"big\":1001,"
		"\"neg\":-1,\"s\":\"x\",\"b\":true,\"p\":\"2001:db8::/32\",\"bp\":\"2001:db8::1/"
		"32\","
		"\"bind\":\"198.19.0.10:80/tcp\",\"badbind\":\"198.19.0.10:80/sctp\",\"st\":\"up\","
		"\"addr\":\"10.0.0.1\",\"nul\":null}");
	static const char *const known[] = { "sid", "w", NULL };
	static const char *const states[] = { "down", "up", NULL };
	struct svc_binding_key bk;
	struct svc_lpm_key p;
	struct svc_addr addr;
	struct svc_sid sid;
	struct svc_err err;
	unsigned long u;
	const char *s;
	bool b;
	int e;

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(svc_api_arg_sid(a, "sid", true, &sid, &err), 1);
	ck_assert_int_eq(sid.b[0], 0x20);
	ck_assert_int_eq(sid.b[15], 1);
	ck_assert_int_eq(svc_api_arg_sid(a, "bad_sid", true, &sid, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "'bad_sid'"));
	ck_assert_int_eq(svc_api_arg_sid(a, "missing", false, &sid, &err), 0);
	ck_assert_int_eq(svc_api_arg_sid(a, "missing", true, &sid, &err), -1);
	ck_assert_str_eq(err.msg, "missing argument 'missing'");
	/* null is not "absent": an error, required or not */
	ck_assert_int_eq(svc_api_arg_sid(a, "nul", false, &sid, &err), -1);
	ck_assert_int_eq(err.code, SVC_API_INVALID);
	ck_assert_str_eq(err.msg, "argument 'nul' is null: give a value or leave it out");
	ck_assert_int_eq(svc_api_arg_str(a, "nul", true, &s, &err), -1);
	ck_assert_int_eq(svc_api_arg_uint(a, "nul", false, 0, 9, &u, &err), -1);
	ck_assert_int_eq(svc_api_arg_bool(a, "nul", false, &b, &err), -1);
	ck_assert_int_eq(svc_api_arg_enum(a, "nul", false, states, &e, &err), -1);
	ck_assert_int_eq(svc_api_arg_sid(a, "w", true, &sid, &err), -1); /* wrong type */
	ck_assert_int_eq(svc_api_arg_uint(a, "w", true, 1, 1000, &u, &err), 1);
	ck_assert_uint_eq(u, 5);
	ck_assert_int_eq(svc_api_arg_uint(a, "big", true, 1, 1000, &u, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "out of range"));
	ck_assert_int_eq(svc_api_arg_uint(a, "neg", true, 0, 1000, &u, &err), -1);
	ck_assert_int_eq(svc_api_arg_uint(a, "s", true, 0, 1000, &u, &err), -1);
	ck_assert_int_eq(svc_api_arg_str(a, "s", true, &s, &err), 1);
	ck_assert_str_eq(s, "x");
	ck_assert_int_eq(svc_api_arg_bool(a, "b", true, &b, &err), 1);
	ck_assert(b);
	ck_assert_int_eq(svc_api_arg_bool(a, "w", true, &b, &err), -1);
	ck_assert_int_eq(svc_api_arg_prefix(a, "p", true, &p, &err), 1);
	ck_assert_uint_eq(p.prefixlen, 32);
	ck_assert_int_eq(svc_api_arg_prefix(a, "bp", true, &p, &err), -1); /* host bits set */
	ck_assert_int_eq(svc_api_arg_binding(a, "bind", true, &bk, &err), 1);
	ck_assert_uint_eq(bk.proto, 6);
	ck_assert_int_eq(svc_api_arg_binding(a, "badbind", true, &bk, &err), -1);
	ck_assert_int_eq(svc_api_arg_addr(a, "addr", true, &addr, &err), 1);
	ck_assert_int_eq(svc_api_arg_enum(a, "st", true, states, &e, &err), 1);
	ck_assert_int_eq(e, 1);
	ck_assert_int_eq(svc_api_arg_enum(a, "s", true, states, &e, &err), -1);
	ck_assert_int_eq(svc_api_args_only(a, known, &err), -1);
	ck_assert_int_eq(err.code, SVC_API_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown argument"));
	json_object_put(a);
}
END_TEST

START_TEST(test_names)
{
	ck_assert(svc_name_valid("web"));
	ck_assert(svc_name_valid("web-1.eu_west"));
	ck_assert(svc_name_valid("1st"));
	ck_assert(!svc_name_valid(""));
	ck_assert(!svc_name_valid("-web"));
	ck_assert(!svc_name_valid("web server"));
	ck_assert(!svc_name_valid("web\"}"));
	ck_assert(!svc_name_valid("caf\xc3\xa9"));
	ck_assert(
		svc_name_valid("a23456789012345678901234567890123456789012345678901234567890123"));
	ck_assert(!svc_name_valid(
		"a234567890123456789012345678901234567890123456789012345678901234"));
}
END_TEST

START_TEST(test_code_names)
{
	for (int c = 0; c < SVC_API_CODE_MAX; c++)
		ck_assert_int_eq(svc_api_code_parse(svc_api_code_name(c)), c);
	ck_assert_int_eq(svc_api_code_parse("nope"), -1);
	ck_assert_str_eq(svc_api_code_name(SVC_API_TOO_LARGE), "too_large");
	ck_assert_str_eq(svc_api_code_name(SVC_API_VERSION_BAD), "unsupported_version");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("codec");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_request_round_trip);
	tcase_add_test(tc, test_request_no_args);
	tcase_add_test(tc, test_response_round_trip);
	tcase_add_loop_test(tc, test_bad_requests, 0,
			    sizeof(bad_requests) / sizeof(bad_requests[0]));
	tcase_add_test(tc, test_good_strings);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_size_limit);
	tcase_add_test(tc, test_bad_responses);
	tcase_add_test(tc, test_args);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_code_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
