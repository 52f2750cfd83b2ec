// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the etcd client (agent/lib/etcd.c) against a real etcd
 * (Debian's etcd-server) that the suite starts on loopback, on free
 * non-default ports with a temporary data directory, and always stops.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "etcd.h"

static pid_t etcd_pid = -1;
static char data_dir[64];
static char url[128];
static int client_port, dead_port;

/* A loopback TCP port nothing listens on now (bound and released). */
static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void etcd_stop(void)
{
	char cmd[128];

	if (etcd_pid > 0) {
		kill(etcd_pid, SIGKILL);
		waitpid(etcd_pid, NULL, 0);
		etcd_pid = -1;
	}
	if (data_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data_dir);
		if (system(cmd))
			fprintf(stderr, "# could not remove %s\n", data_dir);
		data_dir[0] = '\0';
	}
}

static void etcd_start(void)
{
	char client[64], peer[64], cluster[96], dir[96], log[96];
	struct svc_etcd *e;
	int peer_port, fd;
	double deadline;

	snprintf(data_dir, sizeof(data_dir), "/tmp/svc-etcd-unit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(data_dir));
	client_port = free_port();
	peer_port = free_port();
	dead_port = free_port();
	snprintf(client, sizeof(client), "http://127.0.0.1:%d", client_port);
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", peer_port);
	snprintf(cluster, sizeof(cluster), "u=%s", peer);
	snprintf(dir, sizeof(dir), "%s/data", data_dir);
	snprintf(log, sizeof(log), "%s/etcd.log", data_dir);
	etcd_pid = fork();
	ck_assert_int_ge(etcd_pid, 0);
	if (etcd_pid == 0) {
		/* dies with the test, however the test ends */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("etcd", "etcd", "--name", "u", "--data-dir", dir, "--listen-client-urls",
		       client, "--advertise-client-urls", client, "--listen-peer-urls", peer,
		       "--initial-advertise-peer-urls", peer, "--initial-cluster", cluster,
		       (char *)NULL);
		_exit(127);
	}
	snprintf(url, sizeof(url), "etcd://127.0.0.1:%d", client_port);
	ck_assert_int_eq(svc_etcd_open(url, &e, NULL, 0), 0);
	deadline = now_s() + 30;
	for (;;) {
		struct svc_etcd_kvs kvs;

		if (!svc_etcd_range(e, "/", NULL, 0, &kvs)) {
			svc_etcd_kvs_free(&kvs);
			break;
		}
		if (waitpid(etcd_pid, NULL, WNOHANG) == etcd_pid) {
			etcd_pid = -1;
			ck_abort_msg("etcd exited at start (is etcd-server installed? log %s)",
				     log);
		}
		ck_assert_msg(now_s() < deadline, "etcd did not answer within 30 s: %s",
			      svc_etcd_error(e));
		usleep(20000); /* poll interval, not a synchronisation */
	}
	svc_etcd_close(e);
}

static struct svc_etcd *client(void)
{
	struct svc_etcd *e;
	char why[128];

	ck_assert_msg(svc_etcd_open(url, &e, why, sizeof(why)) == 0, "%s", why);
	return e;
}

START_TEST(test_url_parse)
{
	struct svc_etcd_url u;
	char why[128];

	ck_assert_int_eq(svc_etcd_url_parse("etcd://10.0.0.1:2379", &u, why, sizeof(why)), 0);
	ck_assert_uint_eq(u.n, 1);
	ck_assert_str_eq(u.ep[0].host, "10.0.0.1");
	ck_assert_uint_eq(u.ep[0].port, 2379);
	ck_assert_str_eq(u.prefix, "");
	ck_assert_int_eq(svc_etcd_url_parse("etcd://a:1,[fd00::1]:2,b.example:3/svc/x", &u, why,
					    sizeof(why)),
			 0);
	ck_assert_uint_eq(u.n, 3);
	ck_assert_str_eq(u.ep[1].host, "fd00::1");
	ck_assert_uint_eq(u.ep[1].port, 2);
	ck_assert_str_eq(u.ep[2].host, "b.example");
	ck_assert_str_eq(u.prefix, "/svc/x");
	ck_assert_int_eq(svc_etcd_url_parse("http://h:1/", &u, why, sizeof(why)), 0);
	ck_assert_str_eq(u.prefix, "");
	static const char *const bad[] = {
		"h:1",	       "etcd://",   "etcd://h",		"etcd://h:0", "etcd://h:70000",
		"etcd://h:1,", "etcd://:1", "etcd://fd00::1:2", "etcd://h:x", "etcd://h:1/a b",
		"etcd://h$:1"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		ck_assert_msg(svc_etcd_url_parse(bad[i], &u, why, sizeof(why)) == -EINVAL,
			      "accepted %s", bad[i]);
		ck_assert_msg(why[0], "no reason for %s", bad[i]);
	}
}
END_TEST

START_TEST(test_prefix_end)
{
	char end[16];

	svc_etcd_prefix_end("/a/", end);
	ck_assert_str_eq(end, "/a0");
	svc_etcd_prefix_end("ab\xff", end);
	ck_assert_str_eq(end, "ac");
}
END_TEST

START_TEST(test_put_range_delete)
{
	struct svc_etcd *e = client();
	struct svc_etcd_kvs kvs;
	int64_t rev1 = 0, rev2 = 0, deleted = 0;
	static const char bin[] = { 'x', 0, '\n', (char)0xff, '"' };
	char end[32];

	ck_assert_int_eq(svc_etcd_put(e, "/t1/a", "one", 3, 0, &rev1), 0);
	ck_assert_int_gt(rev1, 0);
	ck_assert_int_eq(svc_etcd_put(e, "/t1/b", bin, sizeof(bin), 0, &rev2), 0);
	ck_assert_int_eq(rev2, rev1 + 1);
	ck_assert_int_eq(svc_etcd_put(e, "/t10", "outside", 7, 0, NULL), 0);
	svc_etcd_prefix_end("/t1/", end);
	ck_assert_int_eq(svc_etcd_range(e, "/t1/", end, 0, &kvs), 0);
	ck_assert_uint_eq(kvs.n, 2);
	ck_assert_int_ge(kvs.rev, rev2 + 1);
	ck_assert_str_eq(kvs.kv[0].key, "/t1/a");
	ck_assert_str_eq(kvs.kv[0].value, "one");
	ck_assert_int_eq(kvs.kv[0].mod_rev, rev1);
	ck_assert_int_eq(kvs.kv[0].create_rev, rev1);
	ck_assert_int_eq(kvs.kv[0].version, 1);
	ck_assert_uint_eq(kvs.kv[1].value_len, sizeof(bin));
	ck_assert_mem_eq(kvs.kv[1].value, bin, sizeof(bin));
	svc_etcd_kvs_free(&kvs);
	/* a past revision: b did not exist yet */
	ck_assert_int_eq(svc_etcd_range(e, "/t1/", end, rev1, &kvs), 0);
	ck_assert_uint_eq(kvs.n, 1);
	svc_etcd_kvs_free(&kvs);
	ck_assert_int_eq(svc_etcd_delete(e, "/t1/", end, &deleted, NULL), 0);
	ck_assert_int_eq(deleted, 2);
	ck_assert_int_eq(svc_etcd_range(e, "/t1/", end, 0, &kvs), 0);
	ck_assert_uint_eq(kvs.n, 0);
	svc_etcd_kvs_free(&kvs);
	ck_assert_int_eq(svc_etcd_range(e, "/t10", NULL, 0, &kvs), 0);
	ck_assert_uint_eq(kvs.n, 1);
	svc_etcd_kvs_free(&kvs);
	svc_etcd_close(e);
}
END_TEST

START_TEST(test_txn)
{
	struct svc_etcd *e = client();
	struct svc_etcd_cmp absent = { .key = "/t2/id/7", .target = SVC_ETCD_CREATE, .num = 0 };
	struct svc_etcd_op put = {
		.type = SVC_ETCD_PUT, .key = "/t2/id/7", .value = "A", .value_len = 1
	};
	struct svc_etcd_op put2 = {
		.type = SVC_ETCD_PUT, .key = "/t2/id/7", .value = "B", .value_len = 1
	};
	struct svc_etcd_kvs kvs;
	bool ok = false;
	int64_t rev = 0;

	/* create-if-absent: the first wins, the second finds it taken */
	ck_assert_int_eq(svc_etcd_txn(e, &absent, 1, &put, 1, NULL, 0, &ok, &rev), 0);
	ck_assert(ok);
	ck_assert_int_eq(svc_etcd_txn(e, &absent, 1, &put2, 1, NULL, 0, &ok, NULL), 0);
	ck_assert(!ok);
	ck_assert_int_eq(svc_etcd_range(e, "/t2/id/7", NULL, 0, &kvs), 0);
	ck_assert_uint_eq(kvs.n, 1);
	ck_assert_str_eq(kvs.kv[0].value, "A");
	svc_etcd_kvs_free(&kvs);
	/* compare-and-swap on the mod revision: a stale revision fails, the right one wins */
	struct svc_etcd_cmp stale = { .key = "/t2/id/7", .target = SVC_ETCD_MOD, .num = rev - 1 };
	struct svc_etcd_cmp fresh = { .key = "/t2/id/7", .target = SVC_ETCD_MOD, .num = rev };
	struct svc_etcd_op del = { .type = SVC_ETCD_DELETE, .key = "/t2/other" };
	struct svc_etcd_op mark = {
		.type = SVC_ETCD_PUT, .key = "/t2/failed", .value = "1", .value_len = 1
	};

	ck_assert_int_eq(svc_etcd_txn(e, &stale, 1, &put2, 1, &mark, 1, &ok, NULL), 0);
	ck_assert(!ok);
	ck_assert_int_eq(svc_etcd_range(e, "/t2/failed", NULL, 0, &kvs), 0);
	ck_assert_uint_eq(kvs.n, 1); /* the failure branch ran */
	svc_etcd_kvs_free(&kvs);
	struct svc_etcd_op both[] = { put2, del };
	ck_assert_int_eq(svc_etcd_txn(e, &fresh, 1, both, 2, NULL, 0, &ok, NULL), 0);
	ck_assert(ok);
	/* compare on the value */
	struct svc_etcd_cmp val = {
		.key = "/t2/id/7", .target = SVC_ETCD_VALUE, .value = "B", .value_len = 1
	};
	ck_assert_int_eq(svc_etcd_txn(e, &val, 1, NULL, 0, NULL, 0, &ok, NULL), 0);
	ck_assert(ok);
	val.result = SVC_ETCD_NOT_EQUAL;
	ck_assert_int_eq(svc_etcd_txn(e, &val, 1, NULL, 0, NULL, 0, &ok, NULL), 0);
	ck_assert(!ok);
	/* etcd refuses two operations on one key: its error comes back */
	struct svc_etcd_op twice[] = { put, put2 };
	ck_assert_int_eq(svc_etcd_txn(e, NULL, 0, twice, 2, NULL, 0, &ok, NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(svc_etcd_error(e), "duplicate key"));
	svc_etcd_close(e);
}
END_TEST

START_TEST(test_lease)
{
	struct svc_etcd *e = client();
	struct svc_etcd_kvs kvs;
	int64_t id = 0, ttl = 0, id2 = 0;
	double deadline;

	ck_assert_int_eq(svc_etcd_lease_grant(e, 30, &id, &ttl), 0);
	ck_assert_int_ne(id, 0);
	ck_assert_int_eq(ttl, 30);
	ck_assert_int_eq(svc_etcd_put(e, "/t3/leased", "x", 1, id, NULL), 0);
	ck_assert_int_eq(svc_etcd_range(e, "/t3/leased", NULL, 0, &kvs), 0);
	ck_assert_uint_eq(kvs.n, 1);
	ck_assert_int_eq(kvs.kv[0].lease, id);
	svc_etcd_kvs_free(&kvs);
	ttl = 0;
	ck_assert_int_eq(svc_etcd_lease_keepalive(e, id, &ttl), 0);
	ck_assert_int_eq(ttl, 30);
	/* revoking deletes the lease's keys */
	ck_assert_int_eq(svc_etcd_lease_revoke(e, id), 0);
	ck_assert_int_eq(svc_etcd_range(e, "/t3/leased", NULL, 0, &kvs), 0);
	ck_assert_uint_eq(kvs.n, 0);
	svc_etcd_kvs_free(&kvs);
	ck_assert_int_eq(svc_etcd_lease_keepalive(e, id, NULL), -ENOENT);
	ck_assert_int_eq(svc_etcd_lease_revoke(e, id), -ENOENT);
	ck_assert_int_eq(svc_etcd_put(e, "/t3/x", "x", 1, id, NULL), -ENOENT);
	/* expiry: a 1 s lease not kept alive takes its key with it (polled, generous deadline) */
	ck_assert_int_eq(svc_etcd_lease_grant(e, 1, &id2, NULL), 0);
	ck_assert_int_eq(svc_etcd_put(e, "/t3/short", "x", 1, id2, NULL), 0);
	deadline = now_s() + 20;
	for (;;) {
		ck_assert_int_eq(svc_etcd_range(e, "/t3/short", NULL, 0, &kvs), 0);
		if (!kvs.n)
			break;
		svc_etcd_kvs_free(&kvs);
		ck_assert_msg(now_s() < deadline, "leased key still there after 20 s");
		usleep(50000);
	}
	svc_etcd_kvs_free(&kvs);
	ck_assert_int_eq(svc_etcd_lease_keepalive(e, id2, NULL), -ENOENT);
	svc_etcd_close(e);
}
END_TEST

struct collected {
	int created, canceled, progress;
	int64_t compact_rev, last_rev;
	int types[16];
	char keys[16][32], values[16][32], prev[16][32];
	int n;
};

static void collect(const struct svc_etcd_watch_msg *m, void *arg)
{
	struct collected *c = arg;

	c->created += m->created;
	c->canceled += m->canceled;
	if (m->compact_rev)
		c->compact_rev = m->compact_rev;
	if (!m->created && !m->canceled && !m->n_events)
		c->progress++;
	c->last_rev = m->rev;
	for (size_t i = 0; i < m->n_events && c->n < 16; i++, c->n++) {
		c->types[c->n] = m->events[i].type;
		snprintf(c->keys[c->n], 32, "%s", m->events[i].kv.key);
		snprintf(c->values[c->n], 32, "%s", m->events[i].kv.value);
		snprintf(c->prev[c->n], 32, "%s",
			 m->events[i].prev.key ? m->events[i].prev.value : "-");
	}
}

/* Runs @w until @cond holds (deadline 20 s); returns the last run's result. */
#define RUN_UNTIL(w, c, cond)                                                                \
	({                                                                                   \
		double _d = now_s() + 20;                                                    \
		int _r = 0;                                                                  \
		while (!(cond)) {                                                            \
			_r = svc_etcd_watch_run(w, 200, collect, c);                         \
			if (_r)                                                              \
				break;                                                       \
			ck_assert_msg(now_s() < _d, "watch: condition not met within 20 s"); \
		}                                                                            \
		_r;                                                                          \
	})

START_TEST(test_watch)
{
	struct svc_etcd *e = client();
	struct svc_etcd_watch *w = NULL;
	struct collected c = { 0 };
	struct pollfd pfds[8];
	int64_t rev0 = 0, rev = 0;
	int timeout = 1000;
	char end[32];

	ck_assert_int_eq(svc_etcd_put(e, "/t4/before", "b", 1, 0, &rev0), 0);
	ck_assert_int_eq(svc_etcd_put(e, "/t4/k", "v1", 2, 0, NULL), 0);
	svc_etcd_prefix_end("/t4/", end);
	/* from a past revision: the history since is replayed first */
	ck_assert_int_eq(svc_etcd_watch_open(e, "/t4/", end, rev0 + 1, true, &w), 0);
	ck_assert_int_eq(RUN_UNTIL(w, &c, c.created && c.n >= 1), 0);
	ck_assert_int_ge(svc_etcd_watch_pollfds(w, pfds, 8, &timeout), 1);
	ck_assert_int_eq(svc_etcd_put(e, "/t4/k", "v2", 2, 0, NULL), 0);
	ck_assert_int_eq(svc_etcd_delete(e, "/t4/k", NULL, NULL, &rev), 0);
	ck_assert_int_eq(svc_etcd_put(e, "/t5/outside", "x", 1, 0, NULL), 0);
	ck_assert_int_eq(RUN_UNTIL(w, &c, c.n >= 3), 0);
	ck_assert_int_eq(c.n, 3);
	ck_assert_int_eq(c.types[0], SVC_ETCD_EV_PUT);
	ck_assert_str_eq(c.keys[0], "/t4/k");
	ck_assert_str_eq(c.values[0], "v1");
	ck_assert_str_eq(c.prev[0], "-");
	ck_assert_int_eq(c.types[1], SVC_ETCD_EV_PUT);
	ck_assert_str_eq(c.values[1], "v2");
	ck_assert_str_eq(c.prev[1], "v1");
	ck_assert_int_eq(c.types[2], SVC_ETCD_EV_DELETE);
	ck_assert_str_eq(c.keys[2], "/t4/k");
	ck_assert_str_eq(c.prev[2], "v2");
	ck_assert_int_eq(c.last_rev, rev);
	svc_etcd_watch_close(w);
	svc_etcd_close(e);
}
END_TEST

START_TEST(test_watch_compacted)
{
	struct svc_etcd *e = client();
	struct svc_etcd_watch *w = NULL;
	struct collected c = { 0 };
	struct svc_etcd_kvs kvs;
	int64_t rev0 = 0, rev = 0;

	ck_assert_int_eq(svc_etcd_put(e, "/t6/k", "1", 1, 0, &rev0), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(svc_etcd_put(e, "/t6/k", "2", 1, 0, &rev), 0);
	ck_assert_int_eq(svc_etcd_compact(e, rev), 0);
	ck_assert_int_eq(svc_etcd_range(e, "/t6/k", NULL, rev0, &kvs), -ESTALE);
	ck_assert_int_eq(svc_etcd_watch_open(e, "/t6/", "/t60", rev0, false, &w), 0);
	ck_assert_int_eq(RUN_UNTIL(w, &c, c.canceled), -ECANCELED);
	ck_assert_int_eq(c.compact_rev, rev);
	ck_assert_int_eq(c.n, 0);
	ck_assert_int_eq(svc_etcd_watch_run(w, 0, collect, &c), -ECANCELED);
	svc_etcd_watch_close(w);
	svc_etcd_close(e);
}
END_TEST

START_TEST(test_failover)
{
	struct svc_etcd *e;
	struct svc_etcd_watch *w = NULL;
	struct collected c = { 0 };
	char u[160], why[128];
	int r;

	/* the first endpoint refuses connections: requests move on to the second */
	snprintf(u, sizeof(u), "etcd://127.0.0.1:%d,127.0.0.1:%d", dead_port, client_port);
	ck_assert_int_eq(svc_etcd_open(u, &e, why, sizeof(why)), 0);
	ck_assert_int_eq(svc_etcd_put(e, "/t7/k", "v", 1, 0, NULL), 0);
	ck_assert_uint_eq(svc_etcd_failovers(e), 1);
	ck_assert_str_eq(svc_etcd_endpoint(e), strchr(u, ',') + 1);
	svc_etcd_close(e);
	/* a watch on the dead endpoint fails, and the next one goes to the live endpoint */
	ck_assert_int_eq(svc_etcd_open(u, &e, why, sizeof(why)), 0);
	ck_assert_int_eq(svc_etcd_watch_open(e, "/t7/", "/t70", 0, false, &w), 0);
	r = RUN_UNTIL(w, &c, false);
	ck_assert_int_eq(r, -ECONNRESET);
	ck_assert_ptr_nonnull(strstr(svc_etcd_error(e), "onnect"));
	svc_etcd_watch_close(w);
	ck_assert_int_eq(svc_etcd_watch_open(e, "/t7/", "/t70", 0, false, &w), 0);
	ck_assert_int_eq(RUN_UNTIL(w, &c, c.created), 0);
	svc_etcd_watch_close(w);
	svc_etcd_close(e);
	/* no endpoint reachable: an error naming the endpoint */
	snprintf(u, sizeof(u), "etcd://127.0.0.1:%d", dead_port);
	ck_assert_int_eq(svc_etcd_open(u, &e, why, sizeof(why)), 0);
	ck_assert_int_eq(svc_etcd_put(e, "/t7/k", "v", 1, 0, NULL), -ECONNREFUSED);
	ck_assert_ptr_nonnull(strstr(svc_etcd_error(e), strchr(u, '/') + 2));
	svc_etcd_close(e);
}
END_TEST

/* A listener that never accepts nor answers: a hung member (the kernel completes connects). */
static int hung_listener(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

START_TEST(test_budget_hold)
{
	struct svc_etcd *e;
	char u[160], why[128];
	int hung, hung_port, r = -1;
	time_t deadline;

	/* no endpoint reachable: the next call fails at once, saying when it tries again */
	snprintf(u, sizeof(u), "etcd://127.0.0.1:%d", dead_port);
	ck_assert_int_eq(svc_etcd_open(u, &e, why, sizeof(why)), 0);
	svc_etcd_set_budget(e, 2500, 1000);
	ck_assert_int_eq(svc_etcd_put(e, "/t8/k", "v", 1, 0, NULL), -ECONNREFUSED);
	ck_assert_uint_eq(svc_etcd_held(e), 0);
	ck_assert_int_eq(svc_etcd_put(e, "/t8/k", "v", 1, 0, NULL), -ECONNREFUSED);
	ck_assert_uint_eq(svc_etcd_held(e), 1);
	ck_assert_ptr_nonnull(strstr(svc_etcd_error(e), "next attempt in"));
	ck_assert_ptr_nonnull(strstr(svc_etcd_error(e), strchr(u, '/') + 2));
	/* an urgent call (an operator's) is tried during the hold */
	svc_etcd_set_urgent(e, true);
	ck_assert_int_eq(svc_etcd_put(e, "/t8/k", "v", 1, 0, NULL), -ECONNREFUSED);
	ck_assert_uint_eq(svc_etcd_held(e), 1);
	ck_assert_ptr_null(strstr(svc_etcd_error(e), "next attempt in"));
	svc_etcd_close(e);

	/*
	 * A hung first member spends the whole budget of the call (the live second one
	 * is not tried: without the budget the request limit of 60 s would apply);
	 * calls fail at once during the hold, and the first one after it reaches the
	 * live member, which ends the hold.
	 */
	hung = hung_listener(&hung_port);
	snprintf(u, sizeof(u), "etcd://127.0.0.1:%d,127.0.0.1:%d", hung_port, client_port);
	ck_assert_int_eq(svc_etcd_open(u, &e, why, sizeof(why)), 0);
	svc_etcd_set_timeouts(e, 60000, 60000);
	svc_etcd_set_budget(e, 300, 1000);
	ck_assert_int_ne(svc_etcd_put(e, "/t8/k", "v", 1, 0, NULL), 0);
	ck_assert_ptr_nonnull(strstr(svc_etcd_error(e), "imeout"));
	ck_assert_int_ne(svc_etcd_put(e, "/t8/k", "v", 1, 0, NULL), 0);
	ck_assert_uint_eq(svc_etcd_held(e), 1);
	deadline = time(NULL) + 60;
	while (time(NULL) < deadline && (r = svc_etcd_put(e, "/t8/k", "v", 1, 0, NULL)))
		usleep(20000);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(svc_etcd_put(e, "/t8/k", "w", 1, 0, NULL), 0);
	svc_etcd_close(e);
	close(hung);
}
END_TEST

START_TEST(test_ping)
{
	struct svc_etcd *e;
	char u[200], why[128], name[64];
	int hung, hung_port;

	/* endpoints: hung (accepts, never answers), live, refusing */
	hung = hung_listener(&hung_port);
	snprintf(u, sizeof(u), "etcd://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", hung_port,
		 client_port, dead_port);
	ck_assert_int_eq(svc_etcd_open(u, &e, why, sizeof(why)), 0);
	ck_assert_int_eq(svc_etcd_ping(e, 1, 5000), 0);
	ck_assert_int_eq(svc_etcd_ping(e, 0, 300), -ETIMEDOUT);
	snprintf(name, sizeof(name), "127.0.0.1:%d ping", hung_port);
	ck_assert_ptr_nonnull(strstr(svc_etcd_error(e), name));
	ck_assert_int_ne(svc_etcd_ping(e, 2, 1000), 0);
	ck_assert_int_eq(svc_etcd_ping(e, 3, 1000), -EINVAL);
	/* a ping moves nothing; skip moves off the endpoint in use only */
	ck_assert_uint_eq(svc_etcd_endpoint_index(e), 0);
	svc_etcd_skip(e, 1);
	ck_assert_uint_eq(svc_etcd_endpoint_index(e), 0);
	svc_etcd_skip(e, 0);
	ck_assert_uint_eq(svc_etcd_endpoint_index(e), 1);
	ck_assert_uint_eq(svc_etcd_failovers(e), 1);
	ck_assert_str_eq(svc_etcd_endpoint_name(e, 2, name, sizeof(name)), strrchr(u, ',') + 1);
	svc_etcd_close(e);
	close(hung);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("etcd");
	TCase *tc = tcase_create("client");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_url_parse);
	tcase_add_test(tc, test_prefix_end);
	tcase_add_test(tc, test_put_range_delete);
	tcase_add_test(tc, test_txn);
	tcase_add_test(tc, test_lease);
	tcase_add_test(tc, test_watch);
	tcase_add_test(tc, test_watch_compacted);
	tcase_add_test(tc, test_failover);
	tcase_add_test(tc, test_budget_hold);
	tcase_add_test(tc, test_ping);
	tcase_add_unchecked_fixture(tc, etcd_start, etcd_stop);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	etcd_stop();
	return failed ? 1 : 0;
}
