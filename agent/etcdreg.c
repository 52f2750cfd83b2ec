// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Over 1,000 lines: mirror, keeper thread, list/watch, writes and registration
 * share one private state (struct agent_etcd); the keeper thread is the part
 * to move out next.
 *
 * svcplaned: the registry on etcd (--registry etcd://...). The agent keeps a
 * mirror of every record under ROOT/v1/ (agent/lib/regkv.h), listed once and
 * then followed by a watch from the list's revision + 1; each change rebuilds
 * the registry from the mirror plus the per-host parts, saves it to the state
 * file (the cache a restart uses while etcd is away) and reconciles the maps.
 * A lost watch is re-opened from the last revision seen (on the next endpoint);
 * a watch cancelled by compaction, or any failure to resume, lists again.
 *
 * Writes: an API op runs on the local registry as always, then the
 * difference between the result and the mirror is written in one etcd
 * transaction whose compares hold the mod revisions the op was computed
 * from (compare-and-swap). Next-hop ids of new addresses are allocated before,
 * each by a create-if-absent transaction on ids/N and nexthops/ADDR. The
 * agent answers once its watch has seen the write, so the registry it shows
 * is etcd's; a conflicting concurrent write makes it list again and re-run
 * the op (at most SVC_ETCD_OP_TRIES times).
 *
 * Registration: an instance host puts instances/SID/ADDR attached to one
 * etcd lease of --lease seconds that it keeps alive; a dead host's lease
 * expires and every agent removes the instances (as dead: their flows reset).
 *
 * The lease is kept alive by a thread of its own with its own etcd client
 * (struct keeper), not by the main loop: the main loop can be held for
 * seconds (an op waiting for its write to come back, a rebuild and its state
 * file fsyncs, a call to a hung member) and a 3 s lease ran out so under load
 * (issue 11). The same thread checks every second that the member the watch is
 * on still serves a linearizable read; when it does not (stopped, cut off from
 * the quorum) the main loop moves the watch to another member, which a silent
 * watch would otherwise never make it do.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "addr.h"
#include "agent.h"
#include "etcd.h"
#include "log.h"
#include "regkv.h"

/* How long an op waits for its own write to come back through the watch. */
#define ETCD_OP_WAIT_MS 3000
/* Retry backoff of list/watch after a failure (seconds). */
#define ETCD_RETRY_MIN_S 0.1
#define ETCD_RETRY_MAX_S 2.0
/* etcd's default --max-txn-ops: larger changes are written in several transactions. */
#define ETCD_TXN_OPS 128
/* Addresses of leased instances removed since the last rebuild (their next hops reset). */
#define ETCD_MAX_DEAD 4096
/* The keeper thread: how often and how patiently it checks the watch's member. */
#define ETCD_PROBE_PERIOD_S 1.0
#define ETCD_PROBE_TIMEOUT_MS 500
/* Failed checks in a row before the watch is moved (one slow answer is not enough). */
#define ETCD_PROBE_FAILS 2
/* Pause after a keepalive failed on every member (each try is bounded already). */
#define ETCD_KEEPALIVE_RETRY_S 0.1
/* A main-loop pass longer than this is counted (status: loop_stalls). */
#define ETCD_LOOP_STALL_S 1.0

/*
 * The keeper thread's shared state (under mu). The main loop sets lease and
 * watch_ep; the thread sets expired and bad_ep and keeps the counters.
 */
struct keeper {
	pthread_t tid;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;    /* CLOCK_MONOTONIC */
	struct svc_etcd *cli; /* the thread's own client */
	bool stop;
	unsigned ttl;	 /* lease seconds */
	int64_t lease;	 /* lease to keep alive (0: none) */
	int64_t expired; /* etcd answered "expired or unknown" for this lease */
	double last_ok;	 /* when the lease was granted or last renewed */
	bool failing;	 /* the current keepalive failure was logged */
	long watch_ep;	 /* endpoint the main loop's watch is on (-1: none) */
	long bad_ep;	 /* endpoint that failed ETCD_PROBE_FAILS checks in a row (-1) */
	char bad_why[256];
	unsigned probe_fails;
	double probe_next;
	uint64_t renewals, late, ka_failures, probes, probe_failures;
	double max_gap; /* longest time between two renewals */
};

struct agent_etcd {
	struct svc_etcd *cli;
	struct svc_etcd_watch *w;
	char base[SVC_ETCD_PREFIX_MAX + 16];
	char end[SVC_ETCD_PREFIX_MAX + 16];
	struct svc_regkv_list mirror; /* by key (see svc_regkv_list_sort) */
	int64_t rev;		      /* every change up to here is in the mirror */
	int64_t applied;	      /* ... and in the registry and maps (last rebuild) */
	bool synced;		      /* listed since start */
	bool dirty;		      /* mirror changed since the last rebuild */
	bool down_logged;	      /* the current outage was logged */
	bool watch_ok;		      /* the current watch was set up by etcd */
	double retry_at, backoff;
	struct svc_addr dead[ETCD_MAX_DEAD];
	size_t n_dead;
	/* registration */
	int64_t lease;
	struct keeper k;
	/* main loop passes (agent_etcd_run to agent_etcd_run) */
	double loop_last, loop_max;
	uint64_t loop_stalls;
	/* counters (status, metrics) */
	uint64_t lists, watches, compactions, events, commits, conflicts, rebuilds, skipped;
	uint64_t watch_moves;
	char skipped_first[256];
};

static struct agent_etcd *E(struct agent *a)
{
	return a->etcd;
}

/* ---- mirror ---- */

static void mirror_sort(struct agent_etcd *e)
{
	svc_regkv_list_sort(&e->mirror);
}

/*
 * Not a sort per lookup: a watch that delivers 30,000 new keys (10,000
 * instances) sorted the mirror before each and took ~50 s (issue 11).
 */
static struct svc_regkv *mirror_find(struct agent_etcd *e, const char *key)
{
	return (struct svc_regkv *)svc_regkv_list_lookup(&e->mirror, key);
}

/* An instance record that ends as dead when removed: it belonged to a registration. */
static void note_dead(struct agent_etcd *e, const struct svc_regkv *kv)
{
	const char *rest, *slash;
	struct svc_addr addr;

	if (svc_regkv_kind_of(e->base, kv->key, &rest) != SVC_REGKV_INSTANCE)
		return;
	if (!kv->lease && !svc_regkv_instance_lease(kv->value))
		return;
	slash = strrchr(rest, '/');
	if (!slash || svc_addr_parse(slash + 1, &addr) || e->n_dead == ETCD_MAX_DEAD)
		return;
	e->dead[e->n_dead++] = addr;
}

static void mirror_del(struct agent_etcd *e, struct svc_regkv *kv)
{
	size_t i = (size_t)(kv - e->mirror.kv);

	note_dead(e, kv);
	svc_regkv_list_del(&e->mirror, i);
	e->dirty = true;
}

static int mirror_put(struct agent_etcd *e, const struct svc_etcd_kv *kv)
{
	struct svc_regkv *m = mirror_find(e, kv->key);
	char *v;

	if (m) {
		if (kv->mod_rev < m->mod_rev)
			return 0; /* older than what we have */
		v = strdup(kv->value);
		if (!v)
			return -ENOMEM;
		free(m->value);
		m->value = v;
		m->lease = kv->lease;
		m->mod_rev = kv->mod_rev;
		e->dirty = true;
		return 0;
	}
	if (svc_regkv_list_add(&e->mirror, kv->key, kv->value, kv->lease, kv->mod_rev))
		return -ENOMEM;
	e->dirty = true;
	return 0;
}

/* Replaces the mirror with a fresh list; records gone since count as removed. */
static int mirror_replace(struct agent_etcd *e, const struct svc_etcd_kvs *kvs)
{
	struct svc_regkv_list l = { 0 };

	for (size_t i = 0; i < kvs->n; i++)
		if (svc_regkv_list_add(&l, kvs->kv[i].key, kvs->kv[i].value, kvs->kv[i].lease,
				       kvs->kv[i].mod_rev)) {
			svc_regkv_list_free(&l);
			return -ENOMEM;
		}
	svc_regkv_list_sort(&l);
	mirror_sort(e);
	for (size_t i = 0; i < e->mirror.n; i++)
		if (!svc_regkv_list_find(&l, e->mirror.kv[i].key))
			note_dead(e, &e->mirror.kv[i]);
	svc_regkv_list_free(&e->mirror);
	e->mirror = l;
	e->rev = kvs->rev;
	e->dirty = true;
	return 0;
}

/* ---- the keeper thread: lease keepalive and watch-member checks ---- */

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void wait_until_s(struct keeper *k, double t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	pthread_cond_timedwait(&k->cv, &k->mu, &ts);
}

/* One keepalive (mu held on entry and exit, not during the call). */
static void keeper_renew(struct keeper *k)
{
	int64_t id = k->lease;
	double t0, t1, gap;
	int err;

	pthread_mutex_unlock(&k->mu);
	t0 = mono_now();
	err = svc_etcd_lease_keepalive(k->cli, id, NULL);
	t1 = mono_now();
	pthread_mutex_lock(&k->mu);
	if (k->lease != id)
		return; /* replaced or dropped meanwhile */
	if (!err) {
		gap = t1 - k->last_ok;
		k->renewals++;
		if (gap > k->max_gap)
			k->max_gap = gap;
		/* due every ttl/3: later than 2 ttl/3 means under a third of the lease was left */
		if (gap > 2.0 * k->ttl / 3.0) {
			k->late++;
			pr_warn("register: etcd lease %" PRIx64
				" renewed %.2f s after the previous "
				"renewal (lease %u s, due every %.2f s; this call %.2f s on %s)",
				(uint64_t)id, gap, k->ttl, k->ttl / 3.0, t1 - t0,
				svc_etcd_endpoint(k->cli));
		}
		if (k->failing)
			pr_info("register: etcd lease %" PRIx64 " kept alive again (on %s)",
				(uint64_t)id, svc_etcd_endpoint(k->cli));
		k->failing = false;
		k->last_ok = t1;
		return;
	}
	if (err == -ENOENT) {
		/* the main loop logs it and registers again under a new lease */
		k->expired = id;
		k->lease = 0;
		return;
	}
	k->ka_failures++;
	if (!k->failing)
		pr_warn("register: keep the etcd lease alive: %s; retrying",
			svc_etcd_error(k->cli));
	k->failing = true;
	wait_until_s(k, t1 + ETCD_KEEPALIVE_RETRY_S);
}

/* One check of the watch's member (mu held on entry and exit, not during the call). */
static void keeper_probe(struct keeper *k)
{
	long ep = k->watch_ep;
	int err;

	pthread_mutex_unlock(&k->mu);
	err = svc_etcd_ping(k->cli, (size_t)ep, ETCD_PROBE_TIMEOUT_MS);
	pthread_mutex_lock(&k->mu);
	k->probes++;
	k->probe_next = mono_now() + ETCD_PROBE_PERIOD_S;
	if (k->watch_ep != ep)
		return;
	if (!err) {
		k->probe_fails = 0;
		return;
	}
	k->probe_failures++;
	if (++k->probe_fails >= ETCD_PROBE_FAILS && k->bad_ep < 0) {
		k->bad_ep = ep;
		snprintf(k->bad_why, sizeof(k->bad_why), "%s", svc_etcd_error(k->cli));
	}
}

static void *keeper_main(void *arg)
{
	struct keeper *k = arg;

	pthread_mutex_lock(&k->mu);
	while (!k->stop) {
		double now = mono_now(), due = 1e300;

		if (k->lease) {
			due = k->last_ok + k->ttl / 3.0;
			/* the keepalive first: a check must not make it late */
			if (now >= due) {
				keeper_renew(k);
				continue;
			}
		}
		if (k->watch_ep >= 0) {
			if (now >= k->probe_next) {
				keeper_probe(k);
				continue;
			}
			if (k->probe_next < due)
				due = k->probe_next;
		}
		if (due > now + 3600)
			due = now + 3600;
		wait_until_s(k, due);
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

/*
 * Every etcd call of the thread is bounded under the lease: lease/3 per member
 * (a frozen member costs that much, then the next is tried), 2 lease/3 per
 * try. Not less: at load 38 keepalives took up to 0.9 s through live members,
 * and a limit of lease/6 (0.5 s) aborted them and let leases run out.
 */
static int keeper_start(struct agent_etcd *e, const char *url, unsigned ttl)
{
	struct keeper *k = &e->k;
	pthread_condattr_t ca;
	long req_ms = ttl ? ttl * 1000L / 3 : 1000, call_ms;
	char why[256];
	int err;

	if (req_ms > 1500)
		req_ms = 1500;
	if (req_ms < 200)
		req_ms = 200;
	call_ms = 2 * req_ms;
	err = svc_etcd_open(url, &k->cli, why, sizeof(why));
	if (err) {
		pr_err("registry %s: %s", url, why);
		return err;
	}
	svc_etcd_set_timeouts(k->cli, req_ms < 500 ? req_ms : 500, req_ms);
	/* no hold: the thread blocks nobody, and a renewal must be tried again at once */
	svc_etcd_set_budget(k->cli, call_ms, 0);
	k->ttl = ttl;
	k->watch_ep = k->bad_ep = -1;
	pthread_mutex_init(&k->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cv, &ca);
	pthread_condattr_destroy(&ca);
	err = pthread_create(&k->tid, NULL, keeper_main, k);
	if (err) {
		pr_err("registry: start the etcd keeper thread: %s", strerror(err));
		pthread_cond_destroy(&k->cv);
		pthread_mutex_destroy(&k->mu);
		svc_etcd_close(k->cli);
		k->cli = NULL;
		return -err;
	}
	k->started = true;
	return 0;
}

static void keeper_stop(struct keeper *k)
{
	if (!k->started)
		return;
	pthread_mutex_lock(&k->mu);
	k->stop = true;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->tid, NULL);
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
	svc_etcd_close(k->cli);
	k->started = false;
}

/* The lease the thread keeps alive (0: none), granted just now. */
static void keeper_set_lease(struct keeper *k, int64_t lease)
{
	pthread_mutex_lock(&k->mu);
	k->lease = lease;
	k->last_ok = mono_now();
	k->failing = false;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
}

/* The endpoint the watch is on (-1: none); a new one is checked afresh. */
static void keeper_set_watch(struct keeper *k, long ep)
{
	pthread_mutex_lock(&k->mu);
	if (k->watch_ep != ep) {
		k->watch_ep = ep;
		k->bad_ep = -1;
		k->probe_fails = 0;
		k->probe_next = mono_now() + ETCD_PROBE_PERIOD_S;
		pthread_cond_signal(&k->cv);
	}
	pthread_mutex_unlock(&k->mu);
}

/* ---- rebuild: mirror + local parts -> registry -> state file, maps ---- */

static int rebuild(struct agent *a)
{
	struct agent_etcd *e = E(a);
	struct svc_regkv_report rep;
	struct svc_reg r;
	char why[256];
	int err;

	mirror_sort(e);
	err = svc_regkv_decode(e->base, &e->mirror, &a->reg, &r, &rep);
	if (err) {
		pr_err("registry: rebuild from etcd: %s", strerror(-err));
		return err;
	}
	for (size_t i = 0; i < e->n_dead; i++)
		if (!svc_reg_nh_used(&r, &e->dead[i]))
			svc_reg_nh_set_reset(&r, &e->dead[i], true);
	e->n_dead = 0;
	if (rep.skipped && (rep.skipped != e->skipped || strcmp(rep.first, e->skipped_first)))
		pr_warn("registry: %zu etcd record(s) not used; first: %s", rep.skipped, rep.first);
	e->skipped = rep.skipped;
	snprintf(e->skipped_first, sizeof(e->skipped_first), "%s", rep.first);
	svc_reg_swap(&a->reg, &r);
	svc_reg_free(&r);
	e->dirty = false;
	e->rebuilds++;
	e->applied = e->rev;
	if (agent_state_save(a, why, sizeof(why)))
		pr_err("registry: save the etcd state to the cache: %s", why);
	return agent_reconcile(a);
}

/* ---- list and watch ---- */

static void watch_cb(const struct svc_etcd_watch_msg *m, void *arg)
{
	struct agent *a = arg;
	struct agent_etcd *e = E(a);

	for (size_t i = 0; i < m->n_events; i++) {
		const struct svc_etcd_event *ev = &m->events[i];

		e->events++;
		if (ev->type == SVC_ETCD_EV_PUT) {
			if (mirror_put(e, &ev->kv))
				pr_err("registry: out of memory applying %s", ev->kv.key);
		} else {
			struct svc_regkv *kv = mirror_find(e, ev->kv.key);

			if (kv && kv->mod_rev <= ev->kv.mod_rev)
				mirror_del(e, kv);
		}
	}
	if (m->created)
		e->watch_ok = true;
	if (m->canceled && m->compact_rev)
		e->compactions++;
	else if (m->rev > e->rev)
		e->rev = m->rev;
}

static void retry_later(struct agent_etcd *e)
{
	e->backoff = e->backoff ? e->backoff * 2 : ETCD_RETRY_MIN_S;
	if (e->backoff > ETCD_RETRY_MAX_S)
		e->backoff = ETCD_RETRY_MAX_S;
	e->retry_at = agent_now_s() + e->backoff;
}

static int watch_start(struct agent_etcd *e)
{
	int err = svc_etcd_watch_open(e->cli, e->base, e->end, e->rev + 1, false, &e->w);

	e->watch_ok = false;
	if (err)
		return err;
	e->watches++;
	return 0;
}

/* Lists everything, rebuilds, and watches from there. */
static int relist(struct agent *a)
{
	struct agent_etcd *e = E(a);
	struct svc_etcd_kvs kvs;
	int err;

	svc_etcd_watch_close(e->w);
	e->w = NULL;
	err = svc_etcd_range(e->cli, e->base, e->end, 0, &kvs);
	if (err) {
		if (!e->down_logged)
			pr_warn("registry: etcd unreachable (%s): forwarding goes on with the last "
				"state; retrying",
				svc_etcd_error(e->cli));
		e->down_logged = true;
		retry_later(e);
		return err;
	}
	err = mirror_replace(e, &kvs);
	svc_etcd_kvs_free(&kvs);
	if (err)
		return err;
	e->lists++;
	if (!e->synced || e->down_logged)
		pr_info("registry: listed %zu records from etcd %s at revision %" PRId64,
			e->mirror.n, svc_etcd_endpoint(e->cli), e->rev);
	e->synced = true;
	e->down_logged = false;
	e->backoff = 0;
	err = watch_start(e);
	if (err)
		retry_later(e);
	return rebuild(a) ?: err;
}

/* Drives the watch (non-blocking unless @timeout_ms); handles its end. */
static void watch_step(struct agent *a, int timeout_ms)
{
	struct agent_etcd *e = E(a);
	int err;

	if (!e->w) {
		if (agent_now_s() >= e->retry_at)
			relist(a);
		return;
	}
	err = svc_etcd_watch_run(e->w, timeout_ms, watch_cb, a);
	if (!err)
		return;
	svc_etcd_watch_close(e->w);
	e->w = NULL;
	if (err == -ECANCELED) {
		pr_info("registry: %s: listing again", svc_etcd_error(e->cli));
		relist(a);
		return;
	}
	if (!e->watch_ok) {
		/* never set up: this member is away too; list again (and log once) later */
		if (!e->down_logged)
			pr_warn("registry: etcd unreachable (%s): forwarding goes on with the last "
				"state; retrying",
				svc_etcd_error(e->cli));
		e->down_logged = true;
		retry_later(e);
		return;
	}
	pr_warn("registry: watch lost: %s; resuming from revision %" PRId64 " on %s",
		svc_etcd_error(e->cli), e->rev + 1, svc_etcd_endpoint(e->cli));
	/* resume from the next revision on the next member; if that fails, list again */
	if (watch_start(e))
		retry_later(e);
}

/* ---- public: start, poll, run ---- */

int agent_etcd_start(struct agent *a)
{
	struct agent_etcd *e;
	char why[256];
	int err;

	if (!a->cfg.registry[0])
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	err = svc_etcd_open(a->cfg.registry, &e->cli, why, sizeof(why));
	if (err) {
		pr_err("registry %s: %s", a->cfg.registry, why);
		free(e);
		return err;
	}
	/* calls run in the main loop: a dead endpoint must not hold it long */
	svc_etcd_set_timeouts(e->cli, SVC_AGENT_ETCD_CONNECT_MS, SVC_AGENT_ETCD_REQUEST_MS);
	svc_etcd_set_budget(e->cli, SVC_AGENT_ETCD_CALL_MS, SVC_AGENT_ETCD_HOLD_MS);
	err = keeper_start(e, a->cfg.registry, a->cfg.lease);
	if (err) {
		svc_etcd_close(e->cli);
		free(e);
		return err;
	}
	svc_regkv_base(svc_etcd_prefix(e->cli), e->base, sizeof(e->base));
	svc_etcd_prefix_end(e->base, e->end);
	a->etcd = e;
	pr_info("registry: etcd %s, keys under %s", a->cfg.registry, e->base);
	/* unreachable now: keep the state file's registry and retry from the main loop */
	relist(a);
	return 0;
}

void agent_etcd_stop(struct agent *a)
{
	struct agent_etcd *e = E(a);

	if (!e)
		return;
	keeper_stop(&e->k);
	svc_etcd_watch_close(e->w);
	svc_etcd_close(e->cli);
	svc_regkv_list_free(&e->mirror);
	free(e);
	a->etcd = NULL;
}

int agent_etcd_pollfds(struct agent *a, struct pollfd *pfds, int max, int *timeout_ms)
{
	struct agent_etcd *e = E(a);
	int n = 0;

	if (!e)
		return 0;
	if (e->w)
		n = svc_etcd_watch_pollfds(e->w, pfds, max, timeout_ms);
	else {
		int t = (int)((e->retry_at - agent_now_s()) * 1e3);

		if (t < *timeout_ms)
			*timeout_ms = t < 0 ? 0 : t;
	}
	return n;
}

static void lease_tick(struct agent *a);

/* The keeper thread found the watch's member unable to serve reads: move the watch. */
static void watch_check(struct agent *a)
{
	struct agent_etcd *e = E(a);
	long ep = e->w ? (long)svc_etcd_watch_endpoint(e->w) : -1, bad;
	char why[256], name[SVC_ETCD_HOST_MAX + 16];

	keeper_set_watch(&e->k, ep);
	if (ep < 0)
		return;
	pthread_mutex_lock(&e->k.mu);
	bad = e->k.bad_ep;
	snprintf(why, sizeof(why), "%s", e->k.bad_why);
	pthread_mutex_unlock(&e->k.mu);
	if (bad != ep)
		return;
	svc_etcd_skip(e->cli, (size_t)ep);
	if (svc_etcd_endpoint_index(e->cli) == (size_t)ep)
		return; /* one member only: nowhere to go */
	pr_warn("registry: etcd %s, where the watch is, does not serve reads (%s): "
		"resuming the watch from revision %" PRId64 " on %s",
		svc_etcd_endpoint_name(e->cli, (size_t)ep, name, sizeof(name)), why, e->rev + 1,
		svc_etcd_endpoint(e->cli));
	svc_etcd_watch_close(e->w);
	e->w = NULL;
	e->watch_moves++;
	if (watch_start(e))
		retry_later(e);
	keeper_set_watch(&e->k, e->w ? (long)svc_etcd_watch_endpoint(e->w) : -1);
}

void agent_etcd_run(struct agent *a)
{
	struct agent_etcd *e = E(a);
	double now;

	if (!e)
		return;
	/* how long the main loop was away (an op, a rebuild, a slow call): status */
	now = agent_now_s();
	if (e->loop_last && now - e->loop_last > ETCD_LOOP_STALL_S) {
		e->loop_stalls++;
		if (now - e->loop_last > e->loop_max)
			pr_info("registry: main loop away for %.2f s (longest so far)",
				now - e->loop_last);
	}
	if (e->loop_last && now - e->loop_last > e->loop_max)
		e->loop_max = now - e->loop_last;
	watch_step(a, 0);
	watch_check(a);
	if (e->dirty && e->synced)
		rebuild(a);
	lease_tick(a);
	e->loop_last = agent_now_s();
}

/* ---- writes ---- */

/* Allocates a deployment-wide id for @addr (or finds the one it has). */
static int alloc_id(struct agent *a, const struct svc_addr *addr, struct svc_err *err)
{
	struct agent_etcd *e = E(a);
	static __u64 taken[SVC_MAX_NEXTHOPS / 64];
	char nkey[256], ikey[256], b[SVC_ADDR_STRLEN];
	__u32 id = 1;

	memset(taken, 0, sizeof(taken));
	mirror_sort(e);
	for (size_t i = 0; i < e->mirror.n; i++) {
		const char *rest;

		if (svc_regkv_kind_of(e->base, e->mirror.kv[i].key, &rest) == SVC_REGKV_ID) {
			unsigned long x = strtoul(rest, NULL, 10);

			if (x < SVC_MAX_NEXTHOPS)
				taken[x / 64] |= 1ULL << (x % 64);
		}
	}
	svc_regkv_key_nexthop(e->base, addr, nkey, sizeof(nkey));
	for (int tries = 0; tries < 64; tries++) {
		char *nv, *iv;
		bool ok = false;
		int ret;

		while (id < SVC_MAX_NEXTHOPS && (taken[id / 64] & (1ULL << (id % 64))))
			id++;
		if (id >= SVC_MAX_NEXTHOPS)
			return svc_err_set(err, SVC_API_INTERNAL, "no free next-hop id in etcd");
		svc_regkv_key_id(e->base, id, ikey, sizeof(ikey));
		nv = svc_regkv_nexthop_value(addr, id, false);
		iv = svc_regkv_id_value(addr);
		{
			struct svc_etcd_cmp c[2] = {
				{ .key = ikey, .target = SVC_ETCD_CREATE, .num = 0 },
				{ .key = nkey, .target = SVC_ETCD_CREATE, .num = 0 },
			};
			struct svc_etcd_op ops[2] = {
				{ .type = SVC_ETCD_PUT,
				  .key = ikey,
				  .value = iv,
				  .value_len = iv ? strlen(iv) : 0 },
				{ .type = SVC_ETCD_PUT,
				  .key = nkey,
				  .value = nv,
				  .value_len = nv ? strlen(nv) : 0 },
			};

			ret = nv && iv ? svc_etcd_txn(e->cli, c, 2, ops, 2, NULL, 0, &ok, NULL)
				       : -ENOMEM;
		}
		free(nv);
		free(iv);
		if (ret)
			return svc_err_set(err, SVC_API_INTERNAL, "allocate an id for %s: %s",
					   svc_addr_format(addr, b, sizeof(b)),
					   svc_etcd_error(e->cli));
		if (ok) {
			pr_info("registry: next hop %s gets id %u",
				svc_addr_format(addr, b, sizeof(b)), id);
			return 0;
		}
		/* someone took the id, or gave the address one: look again */
		{
			struct svc_etcd_kvs kvs;

			if (!svc_etcd_range(e->cli, nkey, NULL, 0, &kvs)) {
				bool have = kvs.n > 0;

				svc_etcd_kvs_free(&kvs);
				if (have)
					return 0;
			}
		}
		taken[id / 64] |= 1ULL << (id % 64);
	}
	return svc_err_set(err, SVC_API_INTERNAL, "allocate an id for %s: too many conflicts",
			   svc_addr_format(addr, b, sizeof(b)));
}

static bool nh_in_mirror(struct agent_etcd *e, const struct svc_addr *addr)
{
	char key[256];

	return mirror_find(e, svc_regkv_key_nexthop(e->base, addr, key, sizeof(key))) != NULL;
}

/* Ids for every address the registry uses that etcd has none for. */
static int ensure_ids(struct agent *a, const struct svc_reg *r, struct svc_err *err)
{
	struct agent_etcd *e = E(a);

	for (size_t i = 0; i < r->n_nexthops; i++) {
		const struct svc_addr *addr = &r->nexthops[i].addr;

		if (!svc_reg_nh_used(r, addr) || nh_in_mirror(e, addr))
			continue;
		if (alloc_id(a, addr, err))
			return -1;
	}
	return 0;
}

struct txn_buf {
	struct svc_etcd_cmp cmp[ETCD_TXN_OPS];
	struct svc_etcd_op op[ETCD_TXN_OPS];
	char *owned[2 * ETCD_TXN_OPS];
	size_t n, n_owned;
};

static void txn_reset(struct txn_buf *t)
{
	for (size_t i = 0; i < t->n_owned; i++)
		free(t->owned[i]);
	t->n = t->n_owned = 0;
}

/* Sends the batch; 0, -EAGAIN (a compare failed) or -EIO. *rev = the revision after it. */
static int txn_flush(struct agent_etcd *e, struct txn_buf *t, int64_t *rev, struct svc_err *err)
{
	bool ok = false;
	int64_t r = 0;
	int ret;

	if (!t->n)
		return 0;
	ret = svc_etcd_txn(e->cli, t->cmp, t->n, t->op, t->n, NULL, 0, &ok, &r);
	txn_reset(t);
	if (ret)
		return svc_err_set(err, SVC_API_INTERNAL, "etcd: %s", svc_etcd_error(e->cli)), -EIO;
	if (!ok)
		return -EAGAIN;
	if (r > *rev)
		*rev = r;
	return 0;
}

static char *keep(struct txn_buf *t, char *s)
{
	if (s)
		t->owned[t->n_owned++] = s;
	return s;
}

/* Adds one put/delete guarded by @mod (0 = the key must not exist); flushes a full batch. */
static int txn_add(struct agent_etcd *e, struct txn_buf *t, int type, const char *key,
		   const char *value, int64_t lease, int64_t mod, int64_t *rev, struct svc_err *err)
{
	char *k = keep(t, strdup(key)), *v = value ? keep(t, strdup(value)) : NULL;

	if (!k || (value && !v))
		return svc_err_set(err, SVC_API_INTERNAL, "out of memory");
	t->cmp[t->n] = (struct svc_etcd_cmp){ .key = k,
					      .target = mod ? SVC_ETCD_MOD : SVC_ETCD_CREATE,
					      .result = SVC_ETCD_EQUAL,
					      .num = mod };
	t->op[t->n] = (struct svc_etcd_op){
		.type = type, .key = k, .value = v, .value_len = v ? strlen(v) : 0, .lease = lease
	};
	t->n++;
	if (t->n == ETCD_TXN_OPS)
		return txn_flush(e, t, rev, err);
	return 0;
}

static bool shared_kind(int k)
{
	return k == SVC_REGKV_SERVICE || k == SVC_REGKV_INSTANCE || k == SVC_REGKV_BINDING ||
	       k == SVC_REGKV_RULE || k == SVC_REGKV_PREFIX;
}

/* The etcd lease an instance record is written with: its own, or a new one of its lease. */
static int instance_lease(struct agent_etcd *e, const struct svc_regkv *m, const char *value,
			  int64_t *lease, struct svc_err *err)
{
	__u32 secs = svc_regkv_instance_lease(value);

	*lease = m ? m->lease : 0;
	if (!secs || *lease)
		return 0;
	if (svc_etcd_lease_grant(e->cli, secs, lease, NULL))
		return svc_err_set(err, SVC_API_INTERNAL, "etcd lease: %s", svc_etcd_error(e->cli));
	return 0;
}

/* Waits until the watch has delivered @rev (else lists), then rebuilds. */
static void catch_up(struct agent *a, int64_t rev)
{
	struct agent_etcd *e = E(a);
	double deadline = agent_now_s() + ETCD_OP_WAIT_MS / 1e3;

	while (e->rev < rev && e->w && agent_now_s() < deadline)
		watch_step(a, 50);
	if (e->rev < rev)
		relist(a);
	else if (e->dirty)
		rebuild(a);
}

static int commit(struct agent *a, const struct svc_reg *before, struct svc_err *err);

/* An operator's op: its etcd calls are tried even during a hold (svc_etcd_set_budget). */
int agent_etcd_commit(struct agent *a, const struct svc_reg *before, struct svc_err *err)
{
	int ret;

	svc_etcd_set_urgent(E(a)->cli, true);
	ret = commit(a, before, err);
	svc_etcd_set_urgent(E(a)->cli, false);
	return ret;
}

static int commit(struct agent *a, const struct svc_reg *before, struct svc_err *err)
{
	struct agent_etcd *e = E(a);
	struct svc_regkv_list want;
	struct txn_buf *t;
	int64_t rev = 0;
	char key[256];
	int ret = 0;

	if (!e->synced)
		return svc_err_set(err, SVC_API_INTERNAL,
				   "etcd not reached since start (%s): the shared registry cannot "
				   "change now; forwarding goes on with the last state",
				   svc_etcd_error(e->cli));
	if (ensure_ids(a, &a->reg, err))
		return -EIO;
	if (svc_regkv_encode(&a->reg, e->base, &want))
		return svc_err_set(err, SVC_API_INTERNAL, "out of memory"), -ENOMEM;
	t = calloc(1, sizeof(*t));
	if (!t) {
		svc_regkv_list_free(&want);
		return svc_err_set(err, SVC_API_INTERNAL, "out of memory"), -ENOMEM;
	}
	mirror_sort(e);
	for (size_t i = 0; !ret && i < want.n; i++) {
		const struct svc_regkv *m = svc_regkv_list_find(&e->mirror, want.kv[i].key);
		int64_t lease = 0;

		if (m && !strcmp(m->value, want.kv[i].value))
			continue;
		if (svc_regkv_kind_of(e->base, want.kv[i].key, NULL) == SVC_REGKV_INSTANCE &&
		    instance_lease(e, m, want.kv[i].value, &lease, err)) {
			ret = -EIO;
			break;
		}
		ret = txn_add(e, t, SVC_ETCD_PUT, want.kv[i].key, want.kv[i].value, lease,
			      m ? m->mod_rev : 0, &rev, err);
	}
	for (size_t i = 0; !ret && i < e->mirror.n; i++) {
		const struct svc_regkv *m = &e->mirror.kv[i];

		if (!shared_kind(svc_regkv_kind_of(e->base, m->key, NULL)) ||
		    svc_regkv_list_find(&want, m->key))
			continue;
		ret = txn_add(e, t, SVC_ETCD_DELETE, m->key, NULL, 0, m->mod_rev, &rev, err);
	}
	/* next hops the op marked dead (instance.del dead): every router resets their flows */
	for (size_t i = 0; !ret && i < a->reg.n_nexthops; i++) {
		const struct svc_reg_nh *nh = &a->reg.nexthops[i];
		const struct svc_regkv *m = svc_regkv_list_find(
			&e->mirror, svc_regkv_key_nexthop(e->base, &nh->addr, key, sizeof(key)));
		struct svc_addr x;
		bool reset = false;
		__u32 id;
		char *v;

		if (!m || svc_regkv_nexthop_parse(m->value, &x, &id, &reset) || reset == nh->reset)
			continue;
		v = svc_regkv_nexthop_value(&nh->addr, id, nh->reset);
		ret = v ? txn_add(e, t, SVC_ETCD_PUT, m->key, v, 0, m->mod_rev, &rev, err)
			: svc_err_set(err, SVC_API_INTERNAL, "out of memory");
		free(v);
	}
	if (!ret)
		ret = txn_flush(e, t, &rev, err);
	txn_reset(t);
	free(t);
	/* registrations refreshed by this op (instance.add with a lease): keep their lease */
	for (size_t i = 0; !ret && i < a->reg.n_instances; i++) {
		const struct svc_reg_instance *in = &a->reg.instances[i];
		const struct svc_reg_instance *old =
			svc_reg_instance_find(before, &in->sid, &in->addr);
		const struct svc_regkv *m;

		if (!in->lease_s || !old || in->lease_expires <= old->lease_expires)
			continue;
		m = svc_regkv_list_find(
			&e->mirror,
			svc_regkv_key_instance(e->base, &in->sid, &in->addr, key, sizeof(key)));
		if (m && m->lease && svc_etcd_lease_keepalive(e->cli, m->lease, NULL))
			pr_warn("registry: keep %s alive: %s", m->key, svc_etcd_error(e->cli));
	}
	svc_regkv_list_free(&want);
	if (ret == -EAGAIN) {
		e->conflicts++;
		relist(a);
		return -EAGAIN;
	}
	if (ret)
		return ret;
	e->commits++;
	if (rev)
		catch_up(a, rev);
	if (e->dirty)
		return rebuild(a);
	/* nothing shared changed (a per-host op such as src.set): as without etcd */
	{
		char why[256];

		if (agent_state_save(a, why, sizeof(why)))
			return svc_err_set(err, SVC_API_INTERNAL, "save state: %s", why), -EIO;
	}
	return agent_reconcile(a);
}

/* ---- registration ---- */

static int lease_ensure(struct agent *a)
{
	struct agent_etcd *e = E(a);
	int err;

	if (e->lease)
		return 0;
	err = svc_etcd_lease_grant(e->cli, a->cfg.lease, &e->lease, NULL);
	if (err) {
		pr_warn("register: etcd lease: %s", svc_etcd_error(e->cli));
		return err;
	}
	keeper_set_lease(&e->k, e->lease);
	pr_info("register: etcd lease %" PRIx64 " (%u s)", (uint64_t)e->lease, a->cfg.lease);
	return 0;
}

int agent_etcd_register(struct agent *a, const struct svc_sid *sid)
{
	struct agent_etcd *e = E(a);
	struct svc_reg_instance in = { .sid = *sid,
				       .addr = a->cfg.instance_addr,
				       .weight = 1,
				       .up = true,
				       .lease_s = a->cfg.lease };
	struct svc_regkv *m;
	struct svc_err serr;
	char key[256], *v;
	int err;

	if (!e->synced)
		return -EAGAIN;
	svc_regkv_key_instance(e->base, sid, &in.addr, key, sizeof(key));
	m = mirror_find(e, key);
	/* registered already under our lease: the keepalive keeps it */
	if (m && e->lease && m->lease == e->lease)
		return 0;
	if (!nh_in_mirror(e, &in.addr) && alloc_id(a, &in.addr, &serr)) {
		pr_warn("register: %s", serr.msg);
		return -EIO;
	}
	err = lease_ensure(a);
	if (err)
		return err;
	v = svc_regkv_instance_value(&in);
	if (!v)
		return -ENOMEM;
	err = svc_etcd_put(e->cli, key, v, strlen(v), e->lease, NULL);
	free(v);
	if (err == -ENOENT) {
		/* our lease expired (etcd unreachable for longer than it): take a new one */
		e->lease = 0;
		keeper_set_lease(&e->k, 0);
		return -EAGAIN;
	}
	if (err)
		pr_warn("register: put %s: %s", key, svc_etcd_error(e->cli));
	return err;
}

int agent_etcd_unregister(struct agent *a, const struct svc_sid *sid)
{
	struct agent_etcd *e = E(a);
	char key[256];
	bool ok;
	int err;

	svc_regkv_key_instance(e->base, sid, &a->cfg.instance_addr, key, sizeof(key));
	if (!e->lease)
		return 0;
	/* only our own registration: an operator's instance of the same address stays */
	{
		struct svc_etcd_cmp c = { .key = key, .target = SVC_ETCD_LEASE, .num = e->lease };
		struct svc_etcd_op op = { .type = SVC_ETCD_DELETE, .key = key };

		err = svc_etcd_txn(e->cli, &c, 1, &op, 1, NULL, 0, &ok, NULL);
	}
	if (err)
		pr_warn("register: delete %s: %s", key, svc_etcd_error(e->cli));
	return err;
}

/* The keeper thread found the lease expired: every registration is redone under a new one. */
static void lease_tick(struct agent *a)
{
	struct agent_etcd *e = E(a);
	int64_t expired;

	pthread_mutex_lock(&e->k.mu);
	expired = e->k.expired;
	e->k.expired = 0;
	pthread_mutex_unlock(&e->k.mu);
	if (!expired || expired != e->lease)
		return;
	pr_warn("register: etcd lease %" PRIx64 " expired: registering again", (uint64_t)expired);
	e->lease = 0;
	agent_register_forget(a);
}

/* ---- status ---- */

json_object *agent_etcd_status(struct agent *a)
{
	struct agent_etcd *e = E(a);
	json_object *o = json_object_new_object();

	json_object_object_add(o, "backend", json_object_new_string(e ? "etcd" : "local"));
	if (!e)
		return o;
	json_object_object_add(o, "url", json_object_new_string(a->cfg.registry));
	json_object_object_add(o, "prefix", json_object_new_string(e->base));
	json_object_object_add(o, "endpoint", json_object_new_string(svc_etcd_endpoint(e->cli)));
	json_object_object_add(o, "synced", json_object_new_boolean(e->synced));
	json_object_object_add(o, "watching", json_object_new_boolean(e->w != NULL));
	if (e->w) {
		char name[SVC_ETCD_HOST_MAX + 16];

		json_object_object_add(
			o, "watch_endpoint",
			json_object_new_string(svc_etcd_endpoint_name(
				e->cli, svc_etcd_watch_endpoint(e->w), name, sizeof(name))));
	}
	json_object_object_add(o, "revision", json_object_new_int64(e->rev));
	json_object_object_add(o, "applied_revision", json_object_new_int64(e->applied));
	json_object_object_add(o, "records", json_object_new_int64((int64_t)e->mirror.n));
	json_object_object_add(o, "skipped", json_object_new_int64((int64_t)e->skipped));
	json_object_object_add(o, "lists", json_object_new_int64((int64_t)e->lists));
	json_object_object_add(o, "watches", json_object_new_int64((int64_t)e->watches));
	json_object_object_add(o, "compactions", json_object_new_int64((int64_t)e->compactions));
	json_object_object_add(o, "events", json_object_new_int64((int64_t)e->events));
	json_object_object_add(o, "commits", json_object_new_int64((int64_t)e->commits));
	json_object_object_add(o, "conflicts", json_object_new_int64((int64_t)e->conflicts));
	json_object_object_add(o, "rebuilds", json_object_new_int64((int64_t)e->rebuilds));
	json_object_object_add(o, "failovers",
			       json_object_new_int64((int64_t)svc_etcd_failovers(e->cli)));
	json_object_object_add(o, "held", json_object_new_int64((int64_t)svc_etcd_held(e->cli)));
	json_object_object_add(o, "lease", json_object_new_int64(e->lease));
	json_object_object_add(o, "watch_moves", json_object_new_int64((int64_t)e->watch_moves));
	json_object_object_add(o, "loop_stalls", json_object_new_int64((int64_t)e->loop_stalls));
	json_object_object_add(o, "loop_max_ms",
			       json_object_new_int64((int64_t)(e->loop_max * 1e3)));
	pthread_mutex_lock(&e->k.mu);
	json_object_object_add(o, "lease_renewals", json_object_new_int64((int64_t)e->k.renewals));
	json_object_object_add(o, "lease_late", json_object_new_int64((int64_t)e->k.late));
	json_object_object_add(o, "lease_max_gap_ms",
			       json_object_new_int64((int64_t)(e->k.max_gap * 1e3)));
	json_object_object_add(o, "lease_failures",
			       json_object_new_int64((int64_t)e->k.ka_failures));
	json_object_object_add(o, "probes", json_object_new_int64((int64_t)e->k.probes));
	json_object_object_add(o, "probe_failures",
			       json_object_new_int64((int64_t)e->k.probe_failures));
	pthread_mutex_unlock(&e->k.mu);
	return o;
}
