// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The apiserver protocol: list, watch from the list's resourceVersion, bookmarks, 410 Gone,
 * backoff. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include "k8s.h"
#include "log.h"

/* Longest watch event line or list body accepted. */
#define K8S_MAX_BODY (256u << 20)

struct xfer {
	const struct k8s_conn *conn;
	const struct k8s_kind *kind;
	CURL *curl;
	char *buf; /* body (list) or the unfinished line (watch) */
	size_t len, cap;
	bool watch;
	long status; /* HTTP status, once known */
	int verdict; /* watch: -ESTALE on 410, -EPROTO on a bad event */
	unsigned int events;
	void (*notify)(void *);
	void *arg;
};

static int buf_add(struct xfer *x, const char *p, size_t n)
{
	if (x->len + n + 1 > x->cap) {
		size_t nc = x->cap ? x->cap : 65536;
		char *nb;

		while (nc < x->len + n + 1)
			nc *= 2;
		if (nc > K8S_MAX_BODY)
			return -E2BIG;
		nb = realloc(x->buf, nc);
		if (!nb)
			return -ENOMEM;
		x->buf = nb;
		x->cap = nc;
	}
	memcpy(x->buf + x->len, p, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return 0;
}

/* watch_lines - apply each complete event line of the buffer; keep the rest. */
static int watch_lines(struct xfer *x)
{
	char *start = x->buf, *nl;

	while ((nl = memchr(start, '\n', x->len - (size_t)(start - x->buf)))) {
		json_object *ev;
		int r;

		*nl = '\0';
		if (nl > start) {
			ev = json_tokener_parse(start);
			r = ev ? k8s_cache_event(x->kind->cache, ev) : -EPROTO;
			json_object_put(ev);
			if (r == -ESTALE || r == -EPROTO) {
				if (r == -EPROTO)
					pr_warn("%s: watch: bad event: %.200s", x->kind->name,
						start);
				x->verdict = r;
				return -1;
			}
			x->events++;
			if (r == 0 && x->notify)
				x->notify(x->arg);
		}
		start = nl + 1;
	}
	x->len -= (size_t)(start - x->buf);
	memmove(x->buf, start, x->len);
	if (x->buf)
		x->buf[x->len] = '\0';
	return 0;
}

static size_t on_data(char *p, size_t sz, size_t nm, void *arg)
{
	struct xfer *x = arg;
	size_t n = sz * nm;

	if (!x->status)
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
	if (buf_add(x, p, n))
		return 0;
	/* a watch's events are applied as they arrive; an error body is kept whole */
	if (x->watch && x->status == 200 && watch_lines(x))
		return 0;
	return n;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct xfer *x = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return *x->conn->stop ? 1 : 0;
}

/* request - one GET of @url; the body or event stream goes through @x. Returns the CURLcode. */
static CURLcode request(struct xfer *x, const char *url, long timeout_s)
{
	const struct k8s_conn *c = x->conn;
	struct curl_slist *hdr = NULL;
	char auth[4200], tok[4096] = "";
	CURLcode rc;

	if (c->token_file[0]) {
		/* re-read: projected service-account tokens are rotated by the kubelet */
		FILE *f = fopen(c->token_file, "r");

		if (f) {
			size_t n = fread(tok, 1, sizeof(tok) - 1, f);

			tok[n] = '\0';
			tok[strcspn(tok, "\r\n")] = '\0';
			fclose(f);
		} else {
			pr_warn("%s: token file %s: %s", x->kind->name, c->token_file,
				strerror(errno));
		}
	} else {
		snprintf(tok, sizeof(tok), "%s", c->token);
	}
	if (tok[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
		hdr = curl_slist_append(hdr, auth);
	}
	hdr = curl_slist_append(hdr, "Accept: application/json");
	curl_easy_reset(x->curl);
	curl_easy_setopt(x->curl, CURLOPT_URL, url);
	curl_easy_setopt(x->curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(x->curl, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(x->curl, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(x->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(x->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	/* a hung server: the whole transfer is bounded (a watch by its own timeout + slack) */
	curl_easy_setopt(x->curl, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(x->curl, CURLOPT_ACCEPT_ENCODING, "");
	if (c->ca_file[0])
		curl_easy_setopt(x->curl, CURLOPT_CAINFO, c->ca_file);
	if (c->ca_pem) {
		struct curl_blob blob = { c->ca_pem, c->ca_pem_len, CURL_BLOB_COPY };

		curl_easy_setopt(x->curl, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (c->insecure) {
		curl_easy_setopt(x->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(x->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	x->len = 0;
	x->status = 0;
	x->verdict = 0;
	x->events = 0;
	rc = curl_easy_perform(x->curl);
	if (!x->status)
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
	curl_slist_free_all(hdr);
	return rc;
}

/* status_msg - the message of a metav1.Status body, or the body's start. */
static void status_msg(const struct xfer *x, char *out, size_t len)
{
	json_object *o = x->len ? json_tokener_parse(x->buf) : NULL, *m = NULL;

	if (o && json_object_object_get_ex(o, "message", &m))
		snprintf(out, len, "%s", json_object_get_string(m));
	else
		snprintf(out, len, "%.200s", x->len ? x->buf : "");
	json_object_put(o);
}

/*
 * do_list - every object of the kind, page by page; the cache is replaced only
 * when the whole list arrived. 0, -ESTALE (a continue token expired: start
 * again), or -EIO.
 */
static int do_list(struct xfer *x)
{
	const struct k8s_kind *k = x->kind;
	json_object *all = json_object_new_array(), *o = NULL;
	char url[2048], cont[2048] = "", rv[64] = "", msg[256];
	int err = -EIO;

	do {
		json_object *meta = NULL, *items = NULL, *v = NULL;
		char *esc = NULL;
		CURLcode rc;

		if (cont[0])
			esc = curl_easy_escape(x->curl, cont, 0);
		snprintf(url, sizeof(url), "%s%s?limit=500%s%s", x->conn->server, k->path,
			 esc ? "&continue=" : "", esc ? esc : "");
		curl_free(esc);
		rc = request(x, url, 60);
		if (rc != CURLE_OK) {
			pr_warn("%s: list %s: %s", k->name, url, curl_easy_strerror(rc));
			goto out;
		}
		if (x->status != 200) {
			status_msg(x, msg, sizeof(msg));
			pr_warn("%s: list %s: HTTP %ld: %s", k->name, url, x->status, msg);
			if (x->status == 410)
				err = -ESTALE;
			goto out;
		}
		o = json_tokener_parse(x->buf);
		if (!o || !json_object_object_get_ex(o, "items", &items) ||
		    !json_object_object_get_ex(o, "metadata", &meta)) {
			pr_warn("%s: list %s: not a list", k->name, url);
			goto out;
		}
		for (size_t i = 0; items && i < json_object_array_length(items); i++)
			json_object_array_add(all,
					      json_object_get(json_object_array_get_idx(items, i)));
		v = NULL;
		json_object_object_get_ex(meta, "resourceVersion", &v);
		snprintf(rv, sizeof(rv), "%s", v ? json_object_get_string(v) : "");
		v = NULL;
		json_object_object_get_ex(meta, "continue", &v);
		snprintf(cont, sizeof(cont), "%s", v ? json_object_get_string(v) : "");
		json_object_put(o);
		o = NULL;
	} while (cont[0]);
	if (!rv[0]) {
		pr_warn("%s: list: no resourceVersion", k->name);
		goto out;
	}
	k8s_cache_replace(k->cache, all, rv);
	pr_info("%s: listed %zu objects at resourceVersion %s", k->name,
		json_object_array_length(all), rv);
	err = 0;
out:
	json_object_put(o);
	json_object_put(all);
	return err;
}

/* do_watch - one watch from the cache's resourceVersion: 0 (ended), -ESTALE (re-list), -EIO. */
static int do_watch(struct xfer *x, unsigned int timeout_s)
{
	const struct k8s_kind *k = x->kind;
	char url[2048], rv[64], msg[256];
	CURLcode rc;

	pthread_mutex_lock(&k->cache->lock);
	snprintf(rv, sizeof(rv), "%s", k->cache->rv);
	pthread_mutex_unlock(&k->cache->lock);
	snprintf(url, sizeof(url),
		 "%s%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%u",
		 x->conn->server, k->path, rv, timeout_s);
	x->watch = true;
	rc = request(x, url, (long)timeout_s + 30);
	x->watch = false;
	if (x->verdict == -ESTALE) {
		pr_info("%s: watch from resourceVersion %s: 410 Gone, re-listing", k->name, rv);
		return -ESTALE;
	}
	if (x->status == 410) {
		pr_info("%s: watch from resourceVersion %s: HTTP 410 Gone, re-listing", k->name,
			rv);
		return -ESTALE;
	}
	if (x->verdict == -EPROTO)
		return -EIO;
	if (x->status && x->status != 200) {
		status_msg(x, msg, sizeof(msg));
		pr_warn("%s: watch: HTTP %ld: %s", k->name, x->status, msg);
		return -EIO;
	}
	if (rc != CURLE_OK && rc != CURLE_OPERATION_TIMEDOUT) {
		if (!*x->conn->stop)
			pr_warn("%s: watch from resourceVersion %s: %s (after %u events)", k->name,
				rv, curl_easy_strerror(rc), x->events);
		/* a stream cut after events is a normal restart; without any, back off */
		return x->events ? 0 : -EIO;
	}
	pr_debug("%s: watch ended after %u events", k->name, x->events);
	return 0;
}

static void backoff_sleep(struct k8s_backoff *bo, volatile sig_atomic_t *stop)
{
	unsigned int left = bo->cur_ms;

	while (left && !*stop) {
		unsigned int step = left < 50 ? left : 50;
		struct timespec ts = { 0, (long)step * 1000000L };

		nanosleep(&ts, NULL);
		left -= step;
	}
	bo->cur_ms = bo->cur_ms * 2 > bo->max_ms ? bo->max_ms : bo->cur_ms * 2;
}

void k8s_follow(struct k8s_conn *c, const struct k8s_kind *kind, struct k8s_backoff bo,
		unsigned int watch_timeout_s, void (*notify)(void *), void *arg)
{
	struct xfer x = { .conn = c, .kind = kind, .notify = notify, .arg = arg };
	bool need_list = true;

	x.curl = curl_easy_init();
	if (!x.curl) {
		pr_err("Error: %s: curl_easy_init failed", kind->name);
		return;
	}
	bo.cur_ms = bo.min_ms;
	while (!*c->stop) {
		bool fresh = false;
		int r;

		if (need_list) {
			r = do_list(&x);
			if (r) {
				/* 410 on a continue token too: never list in a tight loop */
				pr_info("%s: retrying the list in %u ms", kind->name, bo.cur_ms);
				backoff_sleep(&bo, c->stop);
				continue;
			}
			need_list = false;
			fresh = true;
			if (notify)
				notify(arg);
		}
		r = do_watch(&x, watch_timeout_s);
		if (r == -ESTALE) {
			need_list = true;
			/* 410 right after a list: the server is not sane, do not hammer it */
			if (fresh && !x.events)
				backoff_sleep(&bo, c->stop);
		} else if (r) {
			pr_info("%s: retrying the watch in %u ms", kind->name, bo.cur_ms);
			backoff_sleep(&bo, c->stop);
		} else {
			bo.cur_ms = bo.min_ms;
		}
	}
	free(x.buf);
	curl_easy_cleanup(x.curl);
}
