// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * etcd v3 client over the JSON gateway: unary calls with endpoint failover, streaming watch.
 * Over 1,000 lines: its URL, transfer, KV/txn, lease and watch parts share the
 * private connection state (struct svc_etcd) and JSON codecs a split would export.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <sodium.h>
#include "etcd.h"

#define ERR_MAX 384
/* Largest unary response accepted (a full list of a big registry fits). */
#define RESP_MAX (256u << 20)
/* Largest watch message (one line of the stream). */
#define WATCH_LINE_MAX (64u << 20)

struct buf {
	char *p;
	size_t len, cap, max;
	bool overflow;
};

struct svc_etcd {
	struct svc_etcd_url url;
	size_t cur; /* endpoint in use */
	CURL *curl; /* unary calls: keeps the connection open between calls */
	struct curl_slist *hdrs;
	long connect_ms, request_ms;
	long call_ms, hold_max_ms; /* svc_etcd_set_budget */
	double hold_until, hold_s; /* monotonic s; current hold length */
	int hold_err;
	char hold_msg[ERR_MAX]; /* the failure that started the hold */
	bool urgent;		/* svc_etcd_set_urgent */
	uint64_t failovers, held;
	char ep_str[SVC_ETCD_HOST_MAX + 16];
	char err[ERR_MAX];
};

struct svc_etcd_watch {
	struct svc_etcd *e;
	CURLM *multi;
	CURL *curl;
	struct curl_slist *hdrs;
	char *body;
	struct buf in; /* bytes received, not yet parsed */
	size_t ep;     /* endpoint this watch talks to */
	bool canceled, done;
};

static int seterr(struct svc_etcd *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int seterr(struct svc_etcd *e, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->err, sizeof(e->err), fmt, ap);
	va_end(ap);
	return err;
}

static int why_set(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ---- URL ---- */

static int parse_endpoint(const char *s, size_t len, struct svc_etcd_url *u, char *why,
			  size_t whylen)
{
	char tmp[SVC_ETCD_HOST_MAX + 16], *host, *colon, *end;
	unsigned long port;

	if (!len || len >= sizeof(tmp))
		return why_set(why, whylen, "endpoint '%.*s': empty or too long", (int)len, s);
	if (u->n == SVC_ETCD_MAX_ENDPOINTS)
		return why_set(why, whylen, "more than %d endpoints", SVC_ETCD_MAX_ENDPOINTS);
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	host = tmp;
	if (*host == '[') {
		char *rb = strchr(host, ']');

		if (!rb || rb[1] != ':')
			return why_set(why, whylen, "endpoint '%s': expected [IPV6]:PORT", tmp);
		*rb = '\0';
		host++;
		colon = rb + 1;
	} else {
		colon = strrchr(host, ':');
		if (!colon || strchr(host, ':') != colon)
			return why_set(why, whylen, "endpoint '%s': expected HOST:PORT", tmp);
		*colon = '\0';
	}
	if (!*host)
		return why_set(why, whylen, "endpoint '%.*s': empty host", (int)len, s);
	for (const char *c = host; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr(".-_:", *c))
			return why_set(why, whylen, "endpoint '%.*s': bad host character '%c'",
				       (int)len, s, *c);
	if (!isdigit((unsigned char)colon[1]))
		return why_set(why, whylen, "endpoint '%.*s': port is not a number", (int)len, s);
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		return why_set(why, whylen, "endpoint '%.*s': port out of range 1..65535", (int)len,
			       s);
	if (strlen(host) > SVC_ETCD_HOST_MAX)
		return why_set(why, whylen, "endpoint host longer than %d bytes",
			       SVC_ETCD_HOST_MAX);
	snprintf(u->ep[u->n].host, sizeof(u->ep[u->n].host), "%.255s", host);
	u->ep[u->n].port = (uint16_t)port;
	u->n++;
	return 0;
}

int svc_etcd_url_parse(const char *s, struct svc_etcd_url *u, char *why, size_t whylen)
{
	const char *p, *slash;

	memset(u, 0, sizeof(*u));
	if (!strncmp(s, "etcd://", 7))
		p = s + 7;
	else if (!strncmp(s, "http://", 7))
		p = s + 7;
	else
		return why_set(why, whylen, "'%.64s': expected etcd://HOST:PORT[,HOST:PORT...]", s);
	slash = strchr(p, '/');
	if (slash) {
		if (strlen(slash) > SVC_ETCD_PREFIX_MAX)
			return why_set(why, whylen, "'%.64s': key prefix longer than %d bytes", s,
				       SVC_ETCD_PREFIX_MAX);
		/* a trailing '/' alone means no prefix */
		if (slash[1])
			snprintf(u->prefix, sizeof(u->prefix), "%s", slash);
		for (const char *c = slash; *c; c++)
			if (!isgraph((unsigned char)*c))
				return why_set(why, whylen,
					       "'%.64s': key prefix has a space or "
					       "control character",
					       s);
	} else {
		slash = p + strlen(p);
	}
	while (p < slash) {
		const char *comma = memchr(p, ',', (size_t)(slash - p));
		size_t len = comma ? (size_t)(comma - p) : (size_t)(slash - p);

		if (parse_endpoint(p, len, u, why, whylen))
			return -EINVAL;
		p += len + (comma ? 1 : 0);
		if (comma && p == slash)
			return why_set(why, whylen, "'%.64s': empty endpoint after ','", s);
	}
	if (!u->n)
		return why_set(why, whylen, "'%.64s': no endpoint", s);
	return 0;
}

/* ---- helpers ---- */

void svc_etcd_prefix_end(const char *prefix, char *end)
{
	size_t n = strlen(prefix);

	memcpy(end, prefix, n + 1);
	/* the first key after every key with this prefix: increment the last byte below 0xff */
	while (n > 0) {
		unsigned char c = (unsigned char)end[n - 1];

		if (c < 0xff) {
			end[n - 1] = (char)(c + 1);
			end[n] = '\0';
			return;
		}
		n--;
	}
	/* all 0xff (or empty): every key; etcd's "\0" range end */
	end[0] = '\0';
}

static json_object *b64_json(const void *data, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	json_object *o;

	if (!s)
		return NULL;
	sodium_bin2base64(s, cap, data, len, sodium_base64_VARIANT_ORIGINAL);
	o = json_object_new_string(s);
	free(s);
	return o;
}

/* Decodes base64 field @k of @o into a malloc'd NUL-terminated copy (absent = empty). */
static int b64_field(json_object *o, const char *k, char **out, size_t *len)
{
	json_object *v;
	const char *s = "";
	size_t slen, got = 0;
	char *p;

	if (json_object_object_get_ex(o, k, &v)) {
		if (!json_object_is_type(v, json_type_string))
			return -EPROTO;
		s = json_object_get_string(v);
	}
	slen = strlen(s);
	p = malloc(slen / 4 * 3 + 4);
	if (!p)
		return -ENOMEM;
	if (slen && sodium_base642bin((unsigned char *)p, slen / 4 * 3 + 3, s, slen, NULL, &got,
				      NULL, sodium_base64_VARIANT_ORIGINAL)) {
		free(p);
		return -EPROTO;
	}
	p[got] = '\0';
	*out = p;
	if (len)
		*len = got;
	return 0;
}

/* An int64 field: a JSON string of digits (the gateway's form) or a number; absent = 0. */
static int i64_field(json_object *o, const char *k, int64_t *out)
{
	json_object *v;
	const char *s;
	char *end;

	*out = 0;
	if (!o || !json_object_object_get_ex(o, k, &v))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -EPROTO;
	s = json_object_get_string(v);
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -EPROTO;
	return 0;
}

static bool bool_field(json_object *o, const char *k)
{
	json_object *v;

	return o && json_object_object_get_ex(o, k, &v) &&
	       json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

static json_object *i64_json(int64_t x)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, x);
	return json_object_new_string(s);
}

void svc_etcd_kv_free(struct svc_etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void svc_etcd_kvs_free(struct svc_etcd_kvs *kvs)
{
	for (size_t i = 0; i < kvs->n; i++)
		svc_etcd_kv_free(&kvs->kv[i]);
	free(kvs->kv);
	memset(kvs, 0, sizeof(*kvs));
}

static int kv_from_json(json_object *o, struct svc_etcd_kv *kv)
{
	int err;

	memset(kv, 0, sizeof(*kv));
	if (!json_object_is_type(o, json_type_object))
		return -EPROTO;
	err = b64_field(o, "key", &kv->key, &kv->key_len);
	if (!err)
		err = b64_field(o, "value", &kv->value, &kv->value_len);
	if (!err)
		err = i64_field(o, "create_revision", &kv->create_rev) ?:
			i64_field(o, "mod_revision", &kv->mod_rev) ?:
			i64_field(o, "version", &kv->version) ?: i64_field(o, "lease", &kv->lease);
	if (err)
		svc_etcd_kv_free(kv);
	return err;
}

static int header_rev(json_object *o, int64_t *rev)
{
	json_object *h;

	if (!json_object_object_get_ex(o, "header", &h))
		return -EPROTO;
	return i64_field(h, "revision", rev);
}

/* ---- transfers ---- */

static size_t buf_write(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;

	if (b->len + len + 1 > b->max) {
		b->overflow = true;
		return 0; /* aborts the transfer */
	}
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + len + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (sodium_init() < 0)
		curl_init_result = CURLE_FAILED_INIT;
}

static void ep_url(const struct svc_etcd *e, size_t i, const char *path, char *out, size_t len)
{
	const char *h = e->url.ep[i].host;

	snprintf(out, len, strchr(h, ':') ? "http://[%s]:%u%s" : "http://%s:%u%s", h,
		 e->url.ep[i].port, path);
}

int svc_etcd_open(const char *url, struct svc_etcd **out, char *why, size_t whylen)
{
	struct svc_etcd *e;

	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK) {
		why_set(why, whylen, "libcurl/libsodium initialisation failed");
		return -EIO;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		why_set(why, whylen, "out of memory");
		return -ENOMEM;
	}
	if (svc_etcd_url_parse(url, &e->url, why, whylen)) {
		free(e);
		return -EINVAL;
	}
	e->connect_ms = SVC_ETCD_CONNECT_MS;
	e->request_ms = SVC_ETCD_REQUEST_MS;
	e->curl = curl_easy_init();
	e->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (!e->curl || !e->hdrs) {
		svc_etcd_close(e);
		why_set(why, whylen, "out of memory");
		return -ENOMEM;
	}
	*out = e;
	return 0;
}

void svc_etcd_close(struct svc_etcd *e)
{
	if (!e)
		return;
	if (e->curl)
		curl_easy_cleanup(e->curl);
	curl_slist_free_all(e->hdrs);
	free(e);
}

void svc_etcd_set_timeouts(struct svc_etcd *e, long connect_ms, long request_ms)
{
	e->connect_ms = connect_ms;
	e->request_ms = request_ms;
}

void svc_etcd_set_budget(struct svc_etcd *e, long call_ms, long hold_max_ms)
{
	e->call_ms = call_ms;
	e->hold_max_ms = hold_max_ms;
}

void svc_etcd_set_urgent(struct svc_etcd *e, bool on)
{
	e->urgent = on;
}

uint64_t svc_etcd_held(const struct svc_etcd *e)
{
	return e->held;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *svc_etcd_prefix(const struct svc_etcd *e)
{
	return e->url.prefix;
}

const char *svc_etcd_error(const struct svc_etcd *e)
{
	return e->err;
}

const char *svc_etcd_endpoint(const struct svc_etcd *e)
{
	struct svc_etcd *m = (struct svc_etcd *)e;
	const char *h = e->url.ep[e->cur].host;

	snprintf(m->ep_str, sizeof(m->ep_str), strchr(h, ':') ? "[%s]:%u" : "%s:%u", h,
		 e->url.ep[e->cur].port);
	return m->ep_str;
}

uint64_t svc_etcd_failovers(const struct svc_etcd *e)
{
	return e->failovers;
}

size_t svc_etcd_endpoint_index(const struct svc_etcd *e)
{
	return e->cur;
}

const char *svc_etcd_endpoint_name(const struct svc_etcd *e, size_t i, char *out, size_t len)
{
	const char *h = e->url.ep[i % e->url.n].host;

	snprintf(out, len, strchr(h, ':') ? "[%s]:%u" : "%s:%u", h, e->url.ep[i % e->url.n].port);
	return out;
}

void svc_etcd_skip(struct svc_etcd *e, size_t i)
{
	if (e->cur == i && e->url.n > 1) {
		e->cur = (e->cur + 1) % e->url.n;
		e->failovers++;
	}
}

/*
 * gRPC status codes the gateway returns in "code", as errnos. UNAVAILABLE
 * (no leader, member stopping) is worth trying on another member.
 */
static int grpc_errno(int64_t code)
{
	switch (code) {
	case 3: /* INVALID_ARGUMENT */
	case 9: /* FAILED_PRECONDITION */
		return -EINVAL;
	case 4: /* DEADLINE_EXCEEDED */
		return -ETIMEDOUT;
	case 5: /* NOT_FOUND */
		return -ENOENT;
	case 8: /* RESOURCE_EXHAUSTED */
		return -ENOSPC;
	case 11: /* OUT_OF_RANGE: revision compacted */
		return -ESTALE;
	case 14: /* UNAVAILABLE */
		return -EAGAIN;
	default:
		return -EIO;
	}
}

/* The error object of a gateway answer: {"error": "...", "message": "...", "code": N}. */
static int answer_error(struct svc_etcd *e, json_object *o, const char *path, long http)
{
	json_object *m = NULL;
	int64_t code = 0;

	if (o && !json_object_object_get_ex(o, "message", &m))
		json_object_object_get_ex(o, "error", &m);
	if (o)
		i64_field(o, "code", &code);
	return seterr(e, code ? grpc_errno(code) : -EIO,
		      "etcd %s %s: %s (HTTP %ld, code %" PRId64 ")", svc_etcd_endpoint(e), path,
		      m && json_object_is_type(m, json_type_string) ? json_object_get_string(m)
								    : "malformed error",
		      http, code);
}

/*
 * One POST of @req to @path; *resp gets the parsed answer. Tries each endpoint
 * once, starting with the current one, while the failure is one of reaching it.
 */
static int call(struct svc_etcd *e, const char *path, json_object *req, json_object **resp)
{
	const char *body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	double t0 = mono_s();
	int ret = -EIO;

	*resp = NULL;
	if (e->hold_until > t0 && !e->urgent) {
		e->held++;
		return seterr(e, e->hold_err, "%s (every endpoint failed; next attempt in %.1f s)",
			      e->hold_msg, e->hold_until - t0);
	}
	for (size_t tries = 0; tries < e->url.n; tries++) {
		struct buf b = { .max = RESP_MAX };
		char url[SVC_ETCD_HOST_MAX + 64];
		long limit = e->request_ms, http = 0;
		json_object *o;
		CURLcode rc;

		if (e->call_ms) {
			long left = e->call_ms - (long)((mono_s() - t0) * 1e3);

			if (left <= 0)
				break; /* ret: the last endpoint's failure */
			if (left < limit)
				limit = left;
		}

		ep_url(e, e->cur, path, url, sizeof(url));
		curl_easy_reset(e->curl);
		curl_easy_setopt(e->curl, CURLOPT_URL, url);
		curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->hdrs);
		curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e->curl, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS,
				 e->connect_ms < limit ? e->connect_ms : limit);
		curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, limit);
		curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, buf_write);
		curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &b);
		rc = curl_easy_perform(e->curl);
		curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &http);
		if (rc != CURLE_OK) {
			ret = seterr(e, b.overflow ? -EFBIG : -ECONNREFUSED, "etcd %s %s: %s",
				     svc_etcd_endpoint(e), path,
				     b.overflow ? "answer too large" : curl_easy_strerror(rc));
			free(b.p);
			if (b.overflow)
				return ret;
			goto next;
		}
		o = b.p ? json_tokener_parse(b.p) : NULL;
		free(b.p);
		if (!o || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			return seterr(e, -EPROTO,
				      "etcd %s %s: answer is not a JSON object (HTTP %ld)",
				      svc_etcd_endpoint(e), path, http);
		}
		if (http != 200 || json_object_object_get_ex(o, "error", NULL)) {
			ret = answer_error(e, o, path, http);
			json_object_put(o);
			if (ret == -EAGAIN)
				goto next;
			e->hold_s = 0; /* the cluster answered */
			return ret;
		}
		*resp = o;
		e->hold_s = 0;
		return 0;
	next:
		if (e->url.n > 1) {
			e->cur = (e->cur + 1) % e->url.n;
			e->failovers++;
		}
	}
	/* no endpoint reached (or none with a leader): hold further calls for a while */
	if (e->hold_max_ms) {
		e->hold_s = e->hold_s ? e->hold_s * 2 : 0.25;
		if (e->hold_s > e->hold_max_ms / 1e3)
			e->hold_s = e->hold_max_ms / 1e3;
		e->hold_until = mono_s() + e->hold_s;
		e->hold_err = ret;
		snprintf(e->hold_msg, sizeof(e->hold_msg), "%s", e->err);
	}
	return ret;
}

static json_object *new_req(void)
{
	return json_object_new_object();
}

static void add_b64(json_object *o, const char *k, const void *data, size_t len)
{
	json_object_object_add(o, k, b64_json(data, len));
}

static void add_key_range(json_object *o, const char *key, const char *end)
{
	add_b64(o, "key", key, strlen(key));
	if (end)
		add_b64(o, "range_end", end, end[0] ? strlen(end) : 1);
}

int svc_etcd_range(struct svc_etcd *e, const char *key, const char *end, int64_t rev,
		   struct svc_etcd_kvs *out)
{
	json_object *req = new_req(), *resp = NULL, *kvs;
	int err;

	memset(out, 0, sizeof(*out));
	if (!req)
		return -ENOMEM;
	add_key_range(req, key, end);
	if (rev)
		json_object_object_add(req, "revision", i64_json(rev));
	err = call(e, "/v3/kv/range", req, &resp);
	json_object_put(req);
	if (err)
		return err;
	err = header_rev(resp, &out->rev);
	if (!err && json_object_object_get_ex(resp, "kvs", &kvs)) {
		size_t n = json_object_is_type(kvs, json_type_array) ? json_object_array_length(kvs)
								     : 0;

		out->kv = calloc(n ? n : 1, sizeof(*out->kv));
		if (!out->kv)
			err = -ENOMEM;
		for (size_t i = 0; !err && i < n; i++) {
			err = kv_from_json(json_object_array_get_idx(kvs, i), &out->kv[i]);
			if (!err)
				out->n++;
		}
	}
	json_object_put(resp);
	if (err) {
		svc_etcd_kvs_free(out);
		if (err == -EPROTO)
			seterr(e, err, "etcd %s range: malformed answer", svc_etcd_endpoint(e));
	}
	return err;
}

int svc_etcd_put(struct svc_etcd *e, const char *key, const void *val, size_t vlen, int64_t lease,
		 int64_t *rev)
{
	json_object *req = new_req(), *resp = NULL;
	int64_t r = 0;
	int err;

	if (!req)
		return -ENOMEM;
	add_b64(req, "key", key, strlen(key));
	add_b64(req, "value", val, vlen);
	if (lease)
		json_object_object_add(req, "lease", i64_json(lease));
	err = call(e, "/v3/kv/put", req, &resp);
	json_object_put(req);
	if (!err)
		err = header_rev(resp, &r);
	json_object_put(resp);
	if (!err && rev)
		*rev = r;
	return err;
}

int svc_etcd_delete(struct svc_etcd *e, const char *key, const char *end, int64_t *deleted,
		    int64_t *rev)
{
	json_object *req = new_req(), *resp = NULL;
	int64_t r = 0, d = 0;
	int err;

	if (!req)
		return -ENOMEM;
	add_key_range(req, key, end);
	err = call(e, "/v3/kv/deleterange", req, &resp);
	json_object_put(req);
	if (!err)
		err = header_rev(resp, &r) ?: i64_field(resp, "deleted", &d);
	json_object_put(resp);
	if (!err && rev)
		*rev = r;
	if (!err && deleted)
		*deleted = d;
	return err;
}

static json_object *op_json(const struct svc_etcd_op *op)
{
	json_object *o = json_object_new_object(), *r = json_object_new_object();

	if (op->type == SVC_ETCD_PUT) {
		add_b64(r, "key", op->key, strlen(op->key));
		add_b64(r, "value", op->value, op->value_len);
		if (op->lease)
			json_object_object_add(r, "lease", i64_json(op->lease));
		json_object_object_add(o, "request_put", r);
	} else {
		add_key_range(r, op->key, op->end);
		json_object_object_add(o, "request_delete_range", r);
	}
	return o;
}

int svc_etcd_txn(struct svc_etcd *e, const struct svc_etcd_cmp *cmp, size_t ncmp,
		 const struct svc_etcd_op *ok, size_t nok, const struct svc_etcd_op *fail,
		 size_t nfail, bool *succeeded, int64_t *rev)
{
	static const char *const targets[] = { "VERSION", "CREATE", "MOD", "VALUE", "LEASE" };
	static const char *const fields[] = { "version", "create_revision", "mod_revision", "value",
					      "lease" };
	static const char *const results[] = { "EQUAL", "GREATER", "LESS", "NOT_EQUAL" };
	json_object *req = new_req(), *c = json_object_new_array(), *s = json_object_new_array(),
		    *f = json_object_new_array(), *resp = NULL;
	int64_t r = 0;
	int err;

	for (size_t i = 0; i < ncmp; i++) {
		json_object *o = json_object_new_object();
		int t = cmp[i].target;

		if (t < SVC_ETCD_VERSION || t > SVC_ETCD_LEASE || cmp[i].result < 0 ||
		    cmp[i].result > SVC_ETCD_NOT_EQUAL) {
			json_object_put(o);
			err = seterr(e, -EINVAL, "etcd txn: compare %zu: bad target or result", i);
			goto out;
		}
		add_b64(o, "key", cmp[i].key, strlen(cmp[i].key));
		json_object_object_add(o, "target", json_object_new_string(targets[t]));
		json_object_object_add(o, "result", json_object_new_string(results[cmp[i].result]));
		if (t == SVC_ETCD_VALUE)
			add_b64(o, fields[t], cmp[i].value, cmp[i].value_len);
		else
			json_object_object_add(o, fields[t], i64_json(cmp[i].num));
		json_object_array_add(c, o);
	}
	for (size_t i = 0; i < nok; i++)
		json_object_array_add(s, op_json(&ok[i]));
	for (size_t i = 0; i < nfail; i++)
		json_object_array_add(f, op_json(&fail[i]));
	json_object_object_add(req, "compare", c);
	json_object_object_add(req, "success", s);
	json_object_object_add(req, "failure", f);
	c = s = f = NULL;
	err = call(e, "/v3/kv/txn", req, &resp);
	if (!err)
		err = header_rev(resp, &r);
	if (!err) {
		*succeeded = bool_field(resp, "succeeded");
		if (rev)
			*rev = r;
	}
out:
	json_object_put(c);
	json_object_put(s);
	json_object_put(f);
	json_object_put(req);
	json_object_put(resp);
	return err;
}

int svc_etcd_lease_grant(struct svc_etcd *e, int64_t ttl, int64_t *id, int64_t *granted)
{
	json_object *req = new_req(), *resp = NULL;
	int64_t i = 0, t = 0;
	int err;

	if (!req)
		return -ENOMEM;
	json_object_object_add(req, "TTL", i64_json(ttl));
	err = call(e, "/v3/lease/grant", req, &resp);
	json_object_put(req);
	if (!err)
		err = i64_field(resp, "ID", &i) ?: i64_field(resp, "TTL", &t);
	json_object_put(resp);
	if (err)
		return err;
	if (!i || t <= 0)
		return seterr(e, -EPROTO, "etcd %s lease grant: no ID or TTL in the answer",
			      svc_etcd_endpoint(e));
	*id = i;
	if (granted)
		*granted = t;
	return 0;
}

int svc_etcd_lease_keepalive(struct svc_etcd *e, int64_t id, int64_t *ttl)
{
	json_object *req = new_req(), *resp = NULL, *res;
	int64_t t = 0;
	int err;

	if (!req)
		return -ENOMEM;
	json_object_object_add(req, "ID", i64_json(id));
	/* a stream in gRPC: the gateway answers {"result": {...}} for our one request */
	err = call(e, "/v3/lease/keepalive", req, &resp);
	json_object_put(req);
	if (!err) {
		if (!json_object_object_get_ex(resp, "result", &res))
			err = seterr(e, -EPROTO, "etcd %s lease keepalive: no result",
				     svc_etcd_endpoint(e));
		else
			err = i64_field(res, "TTL", &t);
	}
	json_object_put(resp);
	if (err)
		return err;
	/* an unknown or expired lease is answered with TTL 0 (left out) */
	if (t <= 0)
		return seterr(e, -ENOENT, "etcd %s lease %" PRId64 ": expired or unknown",
			      svc_etcd_endpoint(e), id);
	if (ttl)
		*ttl = t;
	return 0;
}

int svc_etcd_lease_revoke(struct svc_etcd *e, int64_t id)
{
	json_object *req = new_req(), *resp = NULL;
	int err;

	if (!req)
		return -ENOMEM;
	json_object_object_add(req, "ID", i64_json(id));
	err = call(e, "/v3/lease/revoke", req, &resp);
	json_object_put(req);
	json_object_put(resp);
	return err;
}

int svc_etcd_compact(struct svc_etcd *e, int64_t rev)
{
	json_object *req = new_req(), *resp = NULL;
	int err;

	if (!req)
		return -ENOMEM;
	json_object_object_add(req, "revision", i64_json(rev));
	json_object_object_add(req, "physical", json_object_new_boolean(true));
	err = call(e, "/v3/kv/compaction", req, &resp);
	json_object_put(req);
	json_object_put(resp);
	return err;
}

int svc_etcd_ping(struct svc_etcd *e, size_t i, long timeout_ms)
{
	/* key "/", count only: linearizable (the default), so the member needs its leader */
	static const char body[] = "{\"key\":\"Lw==\",\"count_only\":true}";
	struct buf b = { .max = 1u << 20 };
	char url[SVC_ETCD_HOST_MAX + 64], name[SVC_ETCD_HOST_MAX + 16];
	long http = 0;
	json_object *o;
	CURLcode rc;
	int err = 0;

	if (i >= e->url.n)
		return seterr(e, -EINVAL, "etcd ping: no endpoint %zu", i);
	svc_etcd_endpoint_name(e, i, name, sizeof(name));
	ep_url(e, i, "/v3/kv/range", url, sizeof(url));
	curl_easy_reset(e->curl);
	curl_easy_setopt(e->curl, CURLOPT_URL, url);
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->hdrs);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(e->curl);
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &http);
	if (rc != CURLE_OK) {
		free(b.p);
		return seterr(e, -ETIMEDOUT, "etcd %s ping: %s", name, curl_easy_strerror(rc));
	}
	o = b.p ? json_tokener_parse(b.p) : NULL;
	free(b.p);
	if (!o || !json_object_is_type(o, json_type_object))
		err = seterr(e, -EPROTO, "etcd %s ping: answer is not a JSON object (HTTP %ld)",
			     name, http);
	else if (http != 200 || json_object_object_get_ex(o, "error", NULL)) {
		json_object *m = NULL;

		if (!json_object_object_get_ex(o, "message", &m))
			json_object_object_get_ex(o, "error", &m);
		err = seterr(e, -EAGAIN, "etcd %s ping: %s (HTTP %ld)", name,
			     m && json_object_is_type(m, json_type_string)
				     ? json_object_get_string(m)
				     : "malformed error",
			     http);
	}
	json_object_put(o);
	return err;
}

/* ---- watch ---- */

int svc_etcd_watch_open(struct svc_etcd *e, const char *key, const char *end, int64_t start_rev,
			bool prev_kv, struct svc_etcd_watch **out)
{
	json_object *req = new_req(), *cr = json_object_new_object();
	struct svc_etcd_watch *w = calloc(1, sizeof(*w));
	char url[SVC_ETCD_HOST_MAX + 64];
	int err = -ENOMEM;

	if (!req || !cr || !w)
		goto fail;
	add_key_range(cr, key, end);
	if (start_rev)
		json_object_object_add(cr, "start_revision", i64_json(start_rev));
	if (prev_kv)
		json_object_object_add(cr, "prev_kv", json_object_new_boolean(true));
	json_object_object_add(cr, "progress_notify", json_object_new_boolean(true));
	json_object_object_add(req, "create_request", cr);
	cr = NULL;
	w->body = strdup(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	w->e = e;
	w->ep = e->cur;
	w->in.max = WATCH_LINE_MAX;
	w->multi = curl_multi_init();
	w->curl = curl_easy_init();
	if (!w->body || !w->multi || !w->curl)
		goto fail;
	ep_url(e, e->cur, "/v3/watch", url, sizeof(url));
	/* etcd's WithRequireLeader: a member without a leader ends the watch ("no leader") */
	w->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (w->hdrs)
		w->hdrs = curl_slist_append(w->hdrs, "Grpc-Metadata-hasleader: true");
	if (!w->hdrs)
		goto fail;
	curl_easy_setopt(w->curl, CURLOPT_URL, url);
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, w->hdrs);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, w->body);
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, e->connect_ms);
	/* a silent peer (host gone, partition) is found by TCP keepalive, not a timeout */
	curl_easy_setopt(w->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(w->curl, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_easy_setopt(w->curl, CURLOPT_TCP_KEEPINTVL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, &w->in);
	if (curl_multi_add_handle(w->multi, w->curl) != CURLM_OK) {
		err = -EIO;
		goto fail;
	}
	json_object_put(req);
	*out = w;
	return 0;
fail:
	json_object_put(cr);
	json_object_put(req);
	svc_etcd_watch_close(w);
	return seterr(e, err, "etcd %s watch: cannot set up the request", svc_etcd_endpoint(e));
}

void svc_etcd_watch_close(struct svc_etcd_watch *w)
{
	if (!w)
		return;
	if (w->multi && w->curl)
		curl_multi_remove_handle(w->multi, w->curl);
	if (w->curl)
		curl_easy_cleanup(w->curl);
	if (w->multi)
		curl_multi_cleanup(w->multi);
	curl_slist_free_all(w->hdrs);
	free(w->body);
	free(w->in.p);
	free(w);
}

size_t svc_etcd_watch_endpoint(const struct svc_etcd_watch *w)
{
	return w->ep;
}

int svc_etcd_watch_pollfds(struct svc_etcd_watch *w, struct pollfd *pfds, int max, int *timeout_ms)
{
	fd_set r, wr, ex;
	int maxfd = -1, n = 0;
	long t = -1;

	FD_ZERO(&r);
	FD_ZERO(&wr);
	FD_ZERO(&ex);
	if (curl_multi_fdset(w->multi, &r, &wr, &ex, &maxfd) != CURLM_OK)
		return 0;
	for (int fd = 0; fd <= maxfd && n < max; fd++) {
		short ev = (short)((FD_ISSET(fd, &r) ? POLLIN : 0) |
				   (FD_ISSET(fd, &wr) ? POLLOUT : 0));

		if (ev)
			pfds[n++] = (struct pollfd){ .fd = fd, .events = ev };
	}
	curl_multi_timeout(w->multi, &t);
	/* no socket yet (resolving, connecting): libcurl wants to be called again soon */
	if (!n && t < 0)
		t = 50;
	if (t >= 0 && t < *timeout_ms)
		*timeout_ms = (int)t;
	return n;
}

static void event_free(struct svc_etcd_event *ev)
{
	svc_etcd_kv_free(&ev->kv);
	svc_etcd_kv_free(&ev->prev);
}

/* One line of the stream; 0, -ECANCELED (cancel delivered) or -EPROTO. */
static int watch_line(struct svc_etcd_watch *w, const char *line, size_t len, svc_etcd_watch_cb cb,
		      void *arg)
{
	struct svc_etcd *e = w->e;
	struct svc_etcd_watch_msg m = { 0 };
	json_object *o, *res, *evs, *h;
	int err = 0;

	o = json_tokener_parse(line);
	(void)len;
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return seterr(e, -EPROTO, "etcd %s watch: a message is not JSON",
			      svc_etcd_endpoint(e));
	}
	if (json_object_object_get_ex(o, "error", &res)) {
		json_object *msg = NULL;

		if (json_object_is_type(res, json_type_object))
			json_object_object_get_ex(res, "message", &msg);
		err = seterr(e, -EIO, "etcd %s watch: %s", svc_etcd_endpoint(e),
			     msg ? json_object_get_string(msg) : json_object_get_string(res));
		json_object_put(o);
		return err;
	}
	if (!json_object_object_get_ex(o, "result", &res)) {
		json_object_put(o);
		return seterr(e, -EPROTO, "etcd %s watch: message without result",
			      svc_etcd_endpoint(e));
	}
	if (json_object_object_get_ex(res, "header", &h))
		i64_field(h, "revision", &m.rev);
	m.created = bool_field(res, "created");
	m.canceled = bool_field(res, "canceled");
	i64_field(res, "compact_revision", &m.compact_rev);
	if (json_object_object_get_ex(res, "cancel_reason", &h))
		m.cancel_reason = json_object_get_string(h);
	if (json_object_object_get_ex(res, "events", &evs) &&
	    json_object_is_type(evs, json_type_array)) {
		size_t n = json_object_array_length(evs);

		m.events = calloc(n ? n : 1, sizeof(*m.events));
		if (!m.events)
			err = -ENOMEM;
		for (size_t i = 0; !err && i < n; i++) {
			json_object *ev = json_object_array_get_idx(evs, i), *kv, *t;

			if (!json_object_object_get_ex(ev, "kv", &kv)) {
				err = -EPROTO;
				break;
			}
			/* PUT is the zero value: the gateway leaves "type" out */
			m.events[i].type =
				json_object_object_get_ex(ev, "type", &t) &&
						!strcmp(json_object_get_string(t), "DELETE")
					? SVC_ETCD_EV_DELETE
					: SVC_ETCD_EV_PUT;
			err = kv_from_json(kv, &m.events[i].kv);
			if (!err && json_object_object_get_ex(ev, "prev_kv", &kv))
				err = kv_from_json(kv, &m.events[i].prev);
			if (!err)
				m.n_events++;
		}
	}
	if (!err) {
		cb(&m, arg);
		if (m.canceled) {
			w->canceled = true;
			err = seterr(e, -ECANCELED, "etcd %s watch cancelled%s%s",
				     svc_etcd_endpoint(e),
				     m.compact_rev ? ": revision compacted" : "",
				     m.cancel_reason ? m.cancel_reason : "");
		}
	} else if (err == -EPROTO) {
		seterr(e, err, "etcd %s watch: malformed event", svc_etcd_endpoint(e));
	}
	for (size_t i = 0; i < m.n_events; i++)
		event_free(&m.events[i]);
	free(m.events);
	json_object_put(o);
	return err;
}

int svc_etcd_watch_run(struct svc_etcd_watch *w, int timeout_ms, svc_etcd_watch_cb cb, void *arg)
{
	struct svc_etcd *e = w->e;
	int running = 0, err = 0, left;
	CURLMsg *msg;
	size_t start = 0;

	if (w->canceled)
		return -ECANCELED;
	if (w->done)
		return -ECONNRESET;
	if (timeout_ms > 0)
		curl_multi_poll(w->multi, NULL, 0, timeout_ms, NULL);
	curl_multi_perform(w->multi, &running);
	/* complete lines of the stream: one JSON message each */
	while (!err && start < w->in.len) {
		char *nl = memchr(w->in.p + start, '\n', w->in.len - start);

		if (!nl)
			break;
		*nl = '\0';
		if (nl > w->in.p + start)
			err = watch_line(w, w->in.p + start, (size_t)(nl - w->in.p) - start, cb,
					 arg);
		start = (size_t)(nl - w->in.p) + 1;
	}
	if (start) {
		memmove(w->in.p, w->in.p + start, w->in.len - start);
		w->in.len -= start;
		w->in.p[w->in.len] = '\0';
	}
	if (err == -ECANCELED)
		return err;
	if (err) {
		/* an error message ("no leader"...) ends the stream: try the next member */
		w->done = true;
		goto next;
	}
	while ((msg = curl_multi_info_read(w->multi, &left))) {
		long http = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		w->done = true;
		curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &http);
		if (msg->data.result != CURLE_OK)
			err = seterr(e, -ECONNRESET, "etcd %s watch: %s", svc_etcd_endpoint(e),
				     w->in.overflow ? "message too large"
						    : curl_easy_strerror(msg->data.result));
		else
			err = seterr(e, -ECONNRESET, "etcd %s watch: stream ended (HTTP %ld)",
				     svc_etcd_endpoint(e), http);
	}
next:
	if (err && w->ep == e->cur && e->url.n > 1) {
		/* the next watch (and call) tries another member */
		e->cur = (e->cur + 1) % e->url.n;
		e->failovers++;
	}
	return err;
}
