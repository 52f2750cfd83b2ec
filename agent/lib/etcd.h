/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A small etcd v3 client over etcd's JSON gateway (libcurl + json-c): range,
 * put, delete, transactions, leases and a streaming watch.
 *
 * Facts of the 3.4 gateway this follows: keys and values travel base64
 * encoded, int64 fields arrive as JSON strings, a PUT event carries no "type"
 * field, false booleans and zero numbers are left out, and a watch whose start
 * revision was compacted is cancelled with "compact_revision" (the caller lists
 * again and watches from the list's revision + 1).
 *
 * A client knows several endpoints ("etcd://h1:p1,h2:p2"). A request that
 * cannot reach the current endpoint (connect refused or timed out, connection
 * reset, nothing received) is retried on the next one; errors etcd answers
 * with are returned as they are. Every function returns 0 or a negative errno;
 * svc_etcd_error() then says why, naming the endpoint. A client (and a watch)
 * is used by one thread at a time.
 */
#ifndef SVC_ETCD_H
#define SVC_ETCD_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SVC_ETCD_MAX_ENDPOINTS 16
#define SVC_ETCD_HOST_MAX 255
/* Longest key prefix accepted in a URL ("etcd://h:p/PREFIX"). */
#define SVC_ETCD_PREFIX_MAX 127
/* Defaults of svc_etcd_set_timeouts (milliseconds). */
#define SVC_ETCD_CONNECT_MS 1000
#define SVC_ETCD_REQUEST_MS 3000

/* A parsed "etcd://HOST:PORT[,HOST:PORT...][/PREFIX]" (http:// is accepted too). */
struct svc_etcd_url {
	struct {
		char host[SVC_ETCD_HOST_MAX + 1]; /* name, IPv4 or IPv6 (without brackets) */
		uint16_t port;
	} ep[SVC_ETCD_MAX_ENDPOINTS];
	size_t n;
	char prefix[SVC_ETCD_PREFIX_MAX + 1]; /* "" when the URL has none */
};

/* svc_etcd_url_parse - @s into @u; -EINVAL with @why on a malformed URL. */
int svc_etcd_url_parse(const char *s, struct svc_etcd_url *u, char *why, size_t whylen);

/* A key-value as etcd returns it; key and value are NUL-terminated copies. */
struct svc_etcd_kv {
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
	int64_t create_rev, mod_rev, version, lease;
};

struct svc_etcd_kvs {
	struct svc_etcd_kv *kv;
	size_t n;
	int64_t rev; /* the store's revision when the range was read */
};

void svc_etcd_kv_free(struct svc_etcd_kv *kv);
void svc_etcd_kvs_free(struct svc_etcd_kvs *kvs);

struct svc_etcd;

/* svc_etcd_open - a client for @url's endpoints (nothing is contacted yet). */
int svc_etcd_open(const char *url, struct svc_etcd **out, char *why, size_t whylen);
void svc_etcd_close(struct svc_etcd *e);
/* svc_etcd_set_timeouts - connect and whole-request time limits of unary calls (ms). */
void svc_etcd_set_timeouts(struct svc_etcd *e, long connect_ms, long request_ms);
/*
 * svc_etcd_set_budget - bound what a caller's thread can lose to an unreachable
 * cluster: one unary call, over every endpoint, takes at most @call_ms (0: no
 * bound beyond the per-endpoint limits); after a call failed on every endpoint,
 * further calls fail at once (the same error, saying when the next attempt is)
 * for a hold that doubles from 250 ms up to @hold_max_ms (0: no hold) and ends
 * with the next call that reaches the cluster.
 */
void svc_etcd_set_budget(struct svc_etcd *e, long call_ms, long hold_max_ms);
/*
 * svc_etcd_set_urgent - while on, calls ignore the hold (an operator's request is
 * tried, within the budget; a success ends the hold); background retries are not.
 */
void svc_etcd_set_urgent(struct svc_etcd *e, bool on);
/* svc_etcd_held - calls failed at once during such a hold. */
uint64_t svc_etcd_held(const struct svc_etcd *e);
/* svc_etcd_prefix - the URL's key prefix ("" if none). */
const char *svc_etcd_prefix(const struct svc_etcd *e);
/* svc_etcd_error - why the last call on @e failed. */
const char *svc_etcd_error(const struct svc_etcd *e);
/* svc_etcd_endpoint - "host:port" of the endpoint in use. */
const char *svc_etcd_endpoint(const struct svc_etcd *e);
/* svc_etcd_failovers - how many times a request moved to another endpoint. */
uint64_t svc_etcd_failovers(const struct svc_etcd *e);
/* svc_etcd_endpoint_index - index (in the URL) of the endpoint in use. */
size_t svc_etcd_endpoint_index(const struct svc_etcd *e);
/* svc_etcd_endpoint_name - "host:port" of endpoint @i, in @out. */
const char *svc_etcd_endpoint_name(const struct svc_etcd *e, size_t i, char *out, size_t len);
/* svc_etcd_skip - if endpoint @i is the one in use, move to the next (a failover). */
void svc_etcd_skip(struct svc_etcd *e, size_t i);
/*
 * svc_etcd_ping - a linearizable read (count of one key) on endpoint @i only,
 * within @timeout_ms: it succeeds only if that member reaches its leader and a
 * quorum. No failover, no hold.
 */
int svc_etcd_ping(struct svc_etcd *e, size_t i, long timeout_ms);

/*
 * svc_etcd_prefix_end - the range end covering every key that starts with
 * @prefix (etcd's "prefix + 1" rule), written to @end (at least strlen+1 bytes).
 */
void svc_etcd_prefix_end(const char *prefix, char *end);

/*
 * svc_etcd_range - keys in [@key, @end) (@end NULL: @key alone), at revision
 * @rev (0 = latest). -ESTALE when @rev is compacted.
 */
int svc_etcd_range(struct svc_etcd *e, const char *key, const char *end, int64_t rev,
		   struct svc_etcd_kvs *out);
/* svc_etcd_put - @key = @val (@vlen bytes), attached to @lease (0 = none). *rev may be NULL. */
int svc_etcd_put(struct svc_etcd *e, const char *key, const void *val, size_t vlen, int64_t lease,
		 int64_t *rev);
/* svc_etcd_delete - keys in [@key, @end) (@end NULL: @key alone); *deleted, *rev may be NULL. */
int svc_etcd_delete(struct svc_etcd *e, const char *key, const char *end, int64_t *deleted,
		    int64_t *rev);

/* Transactions: if every compare holds, the success ops run, else the failure ops. */
enum svc_etcd_target {
	SVC_ETCD_VERSION = 0,
	SVC_ETCD_CREATE = 1, /* create revision: 0 = the key does not exist */
	SVC_ETCD_MOD = 2,    /* mod revision */
	SVC_ETCD_VALUE = 3,
	SVC_ETCD_LEASE = 4,
};
enum svc_etcd_result { SVC_ETCD_EQUAL = 0, SVC_ETCD_GREATER, SVC_ETCD_LESS, SVC_ETCD_NOT_EQUAL };
struct svc_etcd_cmp {
	const char *key;
	int target;	   /* enum svc_etcd_target */
	int result;	   /* enum svc_etcd_result */
	int64_t num;	   /* VERSION, CREATE, MOD, LEASE */
	const void *value; /* VALUE */
	size_t value_len;
};
enum svc_etcd_op_type { SVC_ETCD_PUT = 0, SVC_ETCD_DELETE = 1 };
struct svc_etcd_op {
	int type; /* enum svc_etcd_op_type */
	const char *key;
	const char *end;   /* DELETE: range end, NULL = @key alone */
	const void *value; /* PUT */
	size_t value_len;
	int64_t lease; /* PUT */
};
/* svc_etcd_txn - *succeeded tells which branch ran; *rev (may be NULL) the revision after it. */
int svc_etcd_txn(struct svc_etcd *e, const struct svc_etcd_cmp *cmp, size_t ncmp,
		 const struct svc_etcd_op *ok, size_t nok, const struct svc_etcd_op *fail,
		 size_t nfail, bool *succeeded, int64_t *rev);

/* Leases. svc_etcd_lease_grant - a new lease of @ttl seconds: *id, *granted (may be NULL). */
int svc_etcd_lease_grant(struct svc_etcd *e, int64_t ttl, int64_t *id, int64_t *granted);
/* svc_etcd_lease_keepalive - renew @id; *ttl (may be NULL) its new TTL. -ENOENT: it expired. */
int svc_etcd_lease_keepalive(struct svc_etcd *e, int64_t id, int64_t *ttl);
/* svc_etcd_lease_revoke - end @id now, deleting its keys. -ENOENT: no such lease. */
int svc_etcd_lease_revoke(struct svc_etcd *e, int64_t id);
/* svc_etcd_compact - compact the key history up to @rev (tests, maintenance). */
int svc_etcd_compact(struct svc_etcd *e, int64_t rev);

/* Watch. */
enum svc_etcd_event_type { SVC_ETCD_EV_PUT = 0, SVC_ETCD_EV_DELETE = 1 };
struct svc_etcd_event {
	int type;	       /* enum svc_etcd_event_type */
	struct svc_etcd_kv kv; /* DELETE: key and mod_rev only */
	struct svc_etcd_kv
		prev; /* the previous value when the watch asked for it (key NULL if none) */
};
/* One message of the watch stream. */
struct svc_etcd_watch_msg {
	int64_t rev;   /* header revision: every change up to it has been delivered */
	bool created;  /* the watch is set up */
	bool canceled; /* the watch ended; compact_rev > 0 when it was compacted away */
	int64_t compact_rev;
	const char *cancel_reason;
	struct svc_etcd_event *events;
	size_t n_events; /* 0 and not created/canceled: a progress notification */
};
typedef void (*svc_etcd_watch_cb)(const struct svc_etcd_watch_msg *m, void *arg);

struct svc_etcd_watch;
/*
 * svc_etcd_watch_open - start watching [@key, @end) from revision @start_rev
 * (0 = from now) on @e's current endpoint; @prev_kv asks for previous values.
 * The transfer is driven by svc_etcd_watch_run; nothing blocks. The watch
 * requires a leader (etcd's WithRequireLeader, header "hasleader" through the
 * gateway): a member cut off from its leader ends it with "no leader" (the
 * next watch tries the next endpoint) instead of keeping it open and silent.
 */
int svc_etcd_watch_open(struct svc_etcd *e, const char *key, const char *end, int64_t start_rev,
			bool prev_kv, struct svc_etcd_watch **out);
void svc_etcd_watch_close(struct svc_etcd_watch *w);
/* svc_etcd_watch_endpoint - index of the endpoint @w is on. */
size_t svc_etcd_watch_endpoint(const struct svc_etcd_watch *w);
/*
 * svc_etcd_watch_pollfds - the watch's sockets to poll (at most @max) into
 * @pfds; lowers *timeout_ms to libcurl's next timer. Returns the count.
 */
int svc_etcd_watch_pollfds(struct svc_etcd_watch *w, struct pollfd *pfds, int max, int *timeout_ms);
/*
 * svc_etcd_watch_run - wait up to @timeout_ms (0: not at all) for data, then
 * call @cb for each complete message. Returns 0 while the watch goes on,
 * -ECANCELED once etcd cancelled it (the message said why), or another
 * negative errno when the stream broke (connection lost: svc_etcd_error says
 * why; the caller opens a new watch, which tries the next endpoint).
 */
int svc_etcd_watch_run(struct svc_etcd_watch *w, int timeout_ms, svc_etcd_watch_cb cb, void *arg);

#endif /* SVC_ETCD_H */
