// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svc-fakekube: a stand-in apiserver for svcplane-k8s's tests (Services, EndpointSlices). */
/*
 * API port (what svcplane-k8s talks to; HTTP, or HTTPS with --cert/--key):
 *   GET /api/v1/services, GET /apis/discovery.k8s.io/v1/endpointslices: a list
 *     {"kind":"...List","metadata":{"resourceVersion"},"items":[...]}.
 *   The same with watch=1: a chunked stream of {"type","object"} lines, every
 *     event after resourceVersion, then new ones as they come; BOOKMARKs when
 *     allowWatchBookmarks=true; ends after timeoutSeconds. A resourceVersion
 *     older than the last compaction gets one ERROR event with a 410 Status.
 *   --token T: requests without "Authorization: Bearer T" get 401.
 *   --discovery FILE: a JSON object {"PATH": BODY, ...} served as is on GET PATH
 *     (the discovery documents kubectl reads: /api, /apis, /api/v1 ...); any
 *     other path answers 404 with a Status, as for an object that does not exist.
 * Control port (the test drives the fake state, plain HTTP on 127.0.0.1):
 *   PUT /objects (body: a Service or EndpointSlice) adds or replaces it (ADDED or
 *     MODIFIED at a new resourceVersion); DELETE /objects/KIND/NS/NAME removes it
 *     (KIND services|endpointslices); POST /bookmark sends a BOOKMARK to every
 *     watch; POST /drop cuts every watch stream (no closing chunk); POST /compact
 *     makes every resourceVersion before now too old (410); POST /outage stops the
 *     API port (connections refused), POST /restore opens it again;
 *     GET /stats {"rv","lists","watches","unauthorized","gone","events_sent"}.
 * Both ports are written to --port-file as "API CONTROL" when ready.
 * Every object is JSON text as given; resourceVersions are decimal counters.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

enum kind { K_SVC, K_SLICE, K_MAX };
static const char *const kind_names[K_MAX] = { "services", "endpointslices" };
static const char *const kind_paths[K_MAX] = { "/api/v1/services",
					       "/apis/discovery.k8s.io/v1/endpointslices" };
static const char *const list_kinds[K_MAX] = { "ServiceList", "EndpointSliceList" };

struct event {
	unsigned long rv;
	enum kind kind;
	char *line; /* {"type":...,"object":...}\n; NULL for a bookmark (made per watch) */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static json_object *objs[K_MAX]; /* "ns/name" -> object */
static struct event *events;
static size_t n_events;
static unsigned long rv = 1, compacted, drop_gen;
static unsigned long n_lists, n_watches, n_unauth, n_gone, n_sent;
static const char *token;
static json_object *discovery;
static char *cert_pem, *key_pem;
static struct MHD_Daemon *api_d, *ctl_d;
static unsigned short api_port;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	buf = malloc(1 << 20);
	if (buf) {
		len = fread(buf, 1, (1 << 20) - 1, f);
		buf[len] = '\0';
	}
	fclose(f);
	return buf;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *body)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_status(struct MHD_Connection *c, unsigned int code, const char *reason,
				    const char *msg)
{
	char b[512];

	snprintf(
		b, sizeof(b),
		"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
		"\"message\":\"%s\",\"reason\":\"%s\",\"code\":%u}",
		msg, reason, code);
	return reply(c, code, b);
}

/* ---- the API ---- */

struct watch {
	enum kind kind;
	size_t next;	    /* index in events */
	unsigned long from; /* send events with rv > from */
	unsigned long gen;  /* drop_gen at start */
	bool bookmarks, gone;
	struct timespec end; /* CLOCK_MONOTONIC */
	char *pending;	     /* bytes not yet handed to MHD */
	size_t plen, poff;
};

static void watch_free(void *cls)
{
	struct watch *w = cls;

	free(w->pending);
	free(w);
}

static bool after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec >= b->tv_nsec);
}

/* watch_read - MHD's content reader: blocks (a thread per connection) until there is data. */
static ssize_t watch_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct watch *w = cls;
	size_t n;

	(void)pos;
	pthread_mutex_lock(&lock);
	while (!w->pending) {
		struct timespec now, t;

		if (drop_gen != w->gen || stop) {
			pthread_mutex_unlock(&lock);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (w->gone) {
			pthread_mutex_unlock(&lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (w->from < compacted) {
			static const char gone[] =
				"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
				"\"apiVersion\":"
				"\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"too "
				"old "
				"resource version\",\"reason\":\"Expired\",\"code\":410}}\n";

			n_gone++;
			w->pending = strdup(gone);
			w->plen = strlen(gone);
			w->gone = true;
			break;
		}
		for (; w->next < n_events && !w->pending; w->next++) {
			struct event *e = &events[w->next];
			char b[256];

			if (e->rv <= w->from || e->kind != w->kind)
				continue;
			if (!e->line) {
				if (!w->bookmarks)
					continue;
				snprintf(b, sizeof(b),
					 "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\","
					 "\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
					 "\"%lu\"}}}\n",
					 w->kind == K_SVC ? "Service" : "EndpointSlice", e->rv);
				w->pending = strdup(b);
			} else {
				w->pending = strdup(e->line);
			}
			w->plen = strlen(w->pending);
			w->from = e->rv;
			n_sent++;
		}
		if (w->pending)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (after(&now, &w->end)) {
			pthread_mutex_unlock(&lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		t = now;
		t.tv_nsec += 100000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cond, &lock, &t);
	}
	pthread_mutex_unlock(&lock);
	n = w->plen - w->poff < max ? w->plen - w->poff : max;
	memcpy(buf, w->pending + w->poff, n);
	w->poff += n;
	if (w->poff == w->plen) {
		free(w->pending);
		w->pending = NULL;
		w->plen = w->poff = 0;
	}
	return (ssize_t)n;
}

static enum MHD_Result api_list(struct MHD_Connection *c, enum kind k)
{
	json_object *o = json_object_new_object(), *meta = json_object_new_object(),
		    *items = json_object_new_array();
	char rvs[32];
	enum MHD_Result ret;

	pthread_mutex_lock(&lock);
	n_lists++;
	json_object_object_foreach(objs[k], key, obj)
	{
		(void)key;
		json_object_array_add(items, json_object_get(obj));
	}
	snprintf(rvs, sizeof(rvs), "%lu", rv);
	pthread_mutex_unlock(&lock);
	json_object_object_add(o, "kind", json_object_new_string(list_kinds[k]));
	json_object_object_add(o, "apiVersion",
			       json_object_new_string(k == K_SVC ? "v1" : "discovery.k8s.io/v1"));
	json_object_object_add(meta, "resourceVersion", json_object_new_string(rvs));
	json_object_object_add(o, "metadata", meta);
	json_object_object_add(o, "items", items);
	ret = reply(c, 200, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return ret;
}

static enum MHD_Result api_watch(struct MHD_Connection *c, enum kind k)
{
	const char *rvq = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "resourceVersion");
	const char *bm =
		MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "allowWatchBookmarks");
	const char *tmo = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "timeoutSeconds");
	struct watch *w = calloc(1, sizeof(*w));
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!w)
		return MHD_NO;
	w->kind = k;
	w->from = rvq && *rvq ? strtoul(rvq, NULL, 10) : 0;
	w->bookmarks = bm && !strcmp(bm, "true");
	clock_gettime(CLOCK_MONOTONIC, &w->end);
	w->end.tv_sec += tmo ? strtol(tmo, NULL, 10) : 1800;
	pthread_mutex_lock(&lock);
	n_watches++;
	w->gen = drop_gen;
	/* without a resourceVersion a watch starts with the current objects (not used here) */
	pthread_mutex_unlock(&lock);
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, watch_read, w, watch_free);
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result api_handler(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version, const char *upload,
				   size_t *upload_size, void **con_cls)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *watch = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "watch");

	(void)cls, (void)version, (void)upload, (void)upload_size, (void)con_cls;
	if (token) {
		char want[1024];

		snprintf(want, sizeof(want), "Bearer %s", token);
		if (!auth || strcmp(auth, want)) {
			pthread_mutex_lock(&lock);
			n_unauth++;
			pthread_mutex_unlock(&lock);
			return reply_status(c, 401, "Unauthorized", "Unauthorized");
		}
	}
	if (strcmp(method, "GET"))
		return reply_status(c, 405, "MethodNotAllowed", "only GET");
	if (discovery) {
		json_object *doc = NULL;

		if (json_object_object_get_ex(discovery, url, &doc))
			return reply(c, 200,
				     json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
	}
	for (int k = 0; k < K_MAX; k++) {
		if (strcmp(url, kind_paths[k]))
			continue;
		if (watch && (!strcmp(watch, "1") || !strcmp(watch, "true")))
			return api_watch(c, (enum kind)k);
		return api_list(c, (enum kind)k);
	}
	return reply_status(c, 404, "NotFound", "the server could not find the requested resource");
}

static int api_start(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(api_port) };
	const union MHD_DaemonInfo *di;
	unsigned int flags =
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (cert_pem)
		flags |= MHD_USE_TLS;
	api_d = MHD_start_daemon(flags, 0, NULL, NULL, api_handler, NULL, MHD_OPTION_SOCK_ADDR,
				 &sin, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
				 cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert_pem,
				 MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_END);
	if (!api_d) {
		fprintf(stderr, "svc-fakekube: cannot listen on 127.0.0.1:%u\n", api_port);
		return -1;
	}
	di = MHD_get_daemon_info(api_d, MHD_DAEMON_INFO_BIND_PORT);
	api_port = di ? di->port : api_port;
	return 0;
}

static void api_stop(void)
{
	if (!api_d)
		return;
	/* wake every watch first: stopping waits for the connection threads */
	pthread_mutex_lock(&lock);
	drop_gen++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	MHD_stop_daemon(api_d);
	api_d = NULL;
}

/* ---- control ---- */

/* record - an event at a new resourceVersion (lock held); @obj NULL = bookmark. */
static void record(enum kind k, const char *type, json_object *obj)
{
	struct event *ne = realloc(events, (n_events + 1) * sizeof(*ne));
	json_object *ev;

	if (!ne)
		return;
	events = ne;
	ne[n_events].rv = rv;
	ne[n_events].kind = k;
	ne[n_events].line = NULL;
	if (obj) {
		const char *s;

		ev = json_object_new_object();
		json_object_object_add(ev, "type", json_object_new_string(type));
		json_object_object_add(ev, "object", json_object_get(obj));
		s = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN);
		if (asprintf(&ne[n_events].line, "%s\n", s) < 0)
			ne[n_events].line = NULL;
		json_object_put(ev);
	}
	n_events++;
	pthread_cond_broadcast(&cond);
}

static int kind_of(const char *name)
{
	for (int k = 0; k < K_MAX; k++)
		if (!strcmp(name, kind_names[k]))
			return k;
	return -1;
}

static enum MHD_Result ctl_put(struct MHD_Connection *c, const char *body)
{
	json_object *o = json_tokener_parse(body), *meta = NULL, *kind = NULL, *ns = NULL,
		    *name = NULL;
	char key[512], rvs[32];
	enum kind k;
	bool exists;

	if (!o || !json_object_object_get_ex(o, "kind", &kind) ||
	    !json_object_object_get_ex(o, "metadata", &meta) ||
	    !json_object_object_get_ex(meta, "name", &name)) {
		json_object_put(o);
		return reply_status(c, 400, "BadRequest",
				    "want an object with kind and metadata.name");
	}
	if (!strcmp(json_object_get_string(kind), "Service"))
		k = K_SVC;
	else if (!strcmp(json_object_get_string(kind), "EndpointSlice"))
		k = K_SLICE;
	else {
		json_object_put(o);
		return reply_status(c, 400, "BadRequest", "kind: Service or EndpointSlice");
	}
	json_object_object_get_ex(meta, "namespace", &ns);
	snprintf(key, sizeof(key), "%s/%s", ns ? json_object_get_string(ns) : "default",
		 json_object_get_string(name));
	pthread_mutex_lock(&lock);
	rv++;
	snprintf(rvs, sizeof(rvs), "%lu", rv);
	json_object_object_add(meta, "resourceVersion", json_object_new_string(rvs));
	exists = json_object_object_get_ex(objs[k], key, NULL);
	json_object_object_add(objs[k], key, json_object_get(o));
	record(k, exists ? "MODIFIED" : "ADDED", o);
	pthread_mutex_unlock(&lock);
	json_object_put(o);
	return reply(c, 200, "{}");
}

static enum MHD_Result ctl_delete(struct MHD_Connection *c, const char *url)
{
	char kname[64], key[512];
	json_object *o = NULL, *meta = NULL;
	int k;

	if (sscanf(url, "/objects/%63[^/]/%511s", kname, key) != 2 || (k = kind_of(kname)) < 0)
		return reply_status(c, 400, "BadRequest", "DELETE /objects/KIND/NS/NAME");
	pthread_mutex_lock(&lock);
	if (!json_object_object_get_ex(objs[k], key, &o)) {
		pthread_mutex_unlock(&lock);
		return reply_status(c, 404, "NotFound", "no such object");
	}
	json_object_get(o);
	json_object_object_del(objs[k], key);
	rv++;
	if (json_object_object_get_ex(o, "metadata", &meta)) {
		char rvs[32];

		snprintf(rvs, sizeof(rvs), "%lu", rv);
		json_object_object_add(meta, "resourceVersion", json_object_new_string(rvs));
	}
	record((enum kind)k, "DELETED", o);
	pthread_mutex_unlock(&lock);
	json_object_put(o);
	return reply(c, 200, "{}");
}

struct upload {
	char *buf;
	size_t len;
};

static enum MHD_Result ctl_handler(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version, const char *data,
				   size_t *data_size, void **con_cls)
{
	struct upload *u = *con_cls;
	char b[512];

	(void)cls, (void)version;
	if (!strcmp(method, "PUT")) {
		if (!u) {
			u = calloc(1, sizeof(*u));
			*con_cls = u;
			return u ? MHD_YES : MHD_NO;
		}
		if (*data_size) {
			char *nb = realloc(u->buf, u->len + *data_size + 1);

			if (!nb)
				return MHD_NO;
			u->buf = nb;
			memcpy(u->buf + u->len, data, *data_size);
			u->len += *data_size;
			u->buf[u->len] = '\0';
			*data_size = 0;
			return MHD_YES;
		}
		enum MHD_Result r = strcmp(url, "/objects") || !u->buf
					    ? reply_status(c, 400, "BadRequest", "PUT /objects")
					    : ctl_put(c, u->buf);
		free(u->buf);
		free(u);
		*con_cls = NULL;
		return r;
	}
	if (!strcmp(method, "DELETE"))
		return ctl_delete(c, url);
	if (!strcmp(method, "GET") && !strcmp(url, "/stats")) {
		pthread_mutex_lock(&lock);
		snprintf(b, sizeof(b),
			 "{\"rv\":%lu,\"compacted\":%lu,\"lists\":%lu,\"watches\":%lu,"
			 "\"unauthorized\":%lu,\"gone\":%lu,\"events_sent\":%lu,\"api_up\":%s}",
			 rv, compacted, n_lists, n_watches, n_unauth, n_gone, n_sent,
			 api_d ? "true" : "false");
		pthread_mutex_unlock(&lock);
		return reply(c, 200, b);
	}
	if (strcmp(method, "POST"))
		return reply_status(c, 405, "MethodNotAllowed", "GET, PUT, POST, DELETE");
	if (!strcmp(url, "/bookmark")) {
		pthread_mutex_lock(&lock);
		for (int k = 0; k < K_MAX; k++)
			record((enum kind)k, "BOOKMARK", NULL);
		pthread_mutex_unlock(&lock);
	} else if (!strcmp(url, "/drop")) {
		pthread_mutex_lock(&lock);
		drop_gen++;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
	} else if (!strcmp(url, "/compact")) {
		pthread_mutex_lock(&lock);
		rv++;
		compacted = rv;
		pthread_mutex_unlock(&lock);
	} else if (!strcmp(url, "/outage")) {
		api_stop();
	} else if (!strcmp(url, "/restore")) {
		if (!api_d && api_start())
			return reply_status(c, 500, "InternalError", "cannot listen again");
	} else {
		return reply_status(c, 404, "NotFound", "no such control");
	}
	return reply(c, 200, "{}");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port-file", required_argument, NULL, 'p' },
		{ "api-port", required_argument, NULL, 'a' },
		{ "token", required_argument, NULL, 't' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "discovery", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_in sin = { .sin_family = AF_INET };
	const char *port_file = NULL, *cert = NULL, *key = NULL;
	const union MHD_DaemonInfo *di;
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_condattr_t ca;
	FILE *f;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			port_file = optarg;
			break;
		case 'a':
			api_port = (unsigned short)atoi(optarg);
			break;
		case 't':
			token = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'd':
			discovery = json_object_from_file(optarg);
			if (!discovery) {
				fprintf(stderr, "svc-fakekube: %s: not a JSON file\n", optarg);
				return 1;
			}
			break;
		default:
			fprintf(stderr, "usage: svc-fakekube --port-file FILE [--api-port N] "
					"[--token T] [--cert PEM --key PEM] [--discovery FILE]\n");
			return 2;
		}
	}
	if (!port_file || !cert != !key) {
		fprintf(stderr,
			"svc-fakekube: --port-file is required; --cert and --key go together\n");
		return 2;
	}
	if (cert && (!(cert_pem = slurp(cert)) || !(key_pem = slurp(key)))) {
		fprintf(stderr, "svc-fakekube: cannot read %s or %s\n", cert, key);
		return 1;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cond, &ca);
	for (int k = 0; k < K_MAX; k++)
		objs[k] = json_object_new_object();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (api_start())
		return 1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ctl_d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				 ctl_handler, NULL, MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_END);
	di = ctl_d ? MHD_get_daemon_info(ctl_d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!di) {
		fprintf(stderr, "svc-fakekube: cannot start the control port\n");
		return 1;
	}
	f = fopen(port_file, "w");
	if (!f || fprintf(f, "%u %u\n", api_port, di->port) < 0 || fclose(f)) {
		fprintf(stderr, "svc-fakekube: %s: %s\n", port_file, strerror(errno));
		return 1;
	}
	fprintf(stderr, "svc-fakekube: api 127.0.0.1:%u%s, control 127.0.0.1:%u\n", api_port,
		cert ? " (https)" : "", di->port);
	while (!stop)
		pause();
	MHD_stop_daemon(ctl_d);
	api_stop();
	for (size_t i = 0; i < n_events; i++)
		free(events[i].line);
	free(events);
	for (int k = 0; k < K_MAX; k++)
		json_object_put(objs[k]);
	free(cert_pem);
	free(key_pem);
	json_object_put(discovery);
	return 0;
}
