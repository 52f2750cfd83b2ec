// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svc-loadgen: client traffic for the end-to-end tests and the demo; verifies every byte. */
/*
 * Modes (svc-echod protocols, see svc-echod.c):
 *   conns N  N short TCP connections: greeting, random payload, byte-exact echo, clean close.
 *   udp N    N UDP request/response exchanges (bounded retries), byte-exact echo.
 *   http N   N HTTP/1.0 GET requests; the body names the instance.
 *   hold N   N long-lived TCP (or --udp) connections, one exchange every --interval ms,
 *            until --duration, a stop file, or SIGINT/SIGTERM/SIGUSR1; reports per
 *            connection whether it stayed intact and which instance served it.
 * N = 0 with --duration or --stop-file: as many as fit until then (conns, udp, http).
 * The result is one JSON object (stdout, or --out FILE written atomically).
 * --status-file F: the same JSON while the run goes on ("running": true), rewritten
 * atomically every 50 ms, so that a test can wait for what happened (exchanges done,
 * connections failed) instead of sleeping.
 * Exit: 0 every request/connection succeeded, 1 some failed, 2 usage or setup error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NAME_LEN 65	 /* instance name + NUL */
#define REASON_LEN 128	 /* failure reason text */
#define MAX_INSTANCES 64 /* distinct instance names counted */
#define MAX_REASONS 32	 /* distinct failure reasons counted */
#define MAX_SAMPLES 20	 /* failures listed individually */
#define GREETING_PREFIX "svc-echod "
#define UDP_MAX 65535

enum mode { MODE_CONNS, MODE_UDP, MODE_HTTP, MODE_HOLD };

static const char *const mode_names[] = { "conns", "udp", "http", "hold" };

/* Command-line settings. */
struct opts {
	enum mode mode;
	unsigned long count;	 /* N */
	const char *target_text; /* as given */
	struct sockaddr_storage target;
	socklen_t target_len;
	unsigned int concurrency; /* workers (conns/udp/http) */
	unsigned int size;	  /* largest payload; each is 1..size bytes */
	unsigned int timeout_ms;  /* per operation (udp: per attempt) */
	unsigned int retries;	  /* udp: resends after a timeout */
	double duration;	  /* seconds; 0 = no limit (count-bound) */
	unsigned int interval_ms; /* hold: time between exchanges on a connection; other
				   * modes (if given): pause of each worker between requests */
	bool interval_given;
	bool hold_udp;		/* hold over UDP */
	const char *ready_file; /* hold: created once every connection is up */
	const char *stop_file;	/* stop when this file exists */
	const char *out_file;	/* JSON result; stdout if NULL */
	const char *status_file; /* JSON of the run so far, rewritten while it runs */
	bool progress;		/* one line per second on stderr */
};

static struct opts o = {
	.concurrency = 8,
	.size = 1024,
	/* a failure means no answer, not a slow one (a loaded machine, a QEMU guest) */
	.timeout_ms = 30000,
	.retries = 3,
	.interval_ms = 100,
};

static volatile sig_atomic_t stop_signal;

static void status_update(bool force);

static void on_signal(int sig)
{
	(void)sig;
	stop_signal = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool stop_requested(void)
{
	struct stat st;

	return stop_signal || (o.stop_file && stat(o.stop_file, &st) == 0);
}

/* xorshift64*: cheap per-thread payload bytes; seeded from getrandom(). */
static uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static uint64_t rnd_seed(void)
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), 0) != sizeof(s) || !s)
		s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
	return s;
}

static void rnd_fill(uint64_t *s, unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(rnd_next(s) >> 56);
}

/* ---- aggregation ---- */

struct counter {
	char key[REASON_LEN];
	unsigned long n;
};

/* Results of all workers (conns/udp/http), guarded by lock. */
struct summary {
	pthread_mutex_t lock;
	unsigned long started, ok, failed;
	unsigned long long bytes_verified;
	unsigned long retransmits;
	struct counter inst[MAX_INSTANCES + 1]; /* last slot: "(other)" overflow */
	int n_inst;
	struct counter reasons[MAX_REASONS + 1];
	int n_reasons;
	struct {
		unsigned long index;
		char instance[NAME_LEN];
		char reason[REASON_LEN];
	} samples[MAX_SAMPLES];
	int n_samples;
	double max_latency_ms;
};

static struct summary sum = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void counter_add(struct counter *c, int *n, int cap, const char *key)
{
	int i;

	for (i = 0; i < *n; i++) {
		if (!strcmp(c[i].key, key)) {
			c[i].n++;
			return;
		}
	}
	if (*n == cap) {
		snprintf(c[cap].key, sizeof(c[cap].key), "(other)");
		c[cap].n++;
		return;
	}
	snprintf(c[*n].key, sizeof(c[*n].key), "%s", key);
	c[*n].n = 1;
	(*n)++;
}

/* One finished request. @instance may be "" (not known), @reason NULL on success. */
static void summary_add(unsigned long index, const char *instance, const char *reason, size_t bytes,
			double latency_ms, unsigned int retransmits)
{
	pthread_mutex_lock(&sum.lock);
	sum.retransmits += retransmits;
	if (!reason) {
		sum.ok++;
		sum.bytes_verified += bytes;
		counter_add(sum.inst, &sum.n_inst, MAX_INSTANCES, instance);
		if (latency_ms > sum.max_latency_ms)
			sum.max_latency_ms = latency_ms;
	} else {
		sum.failed++;
		counter_add(sum.reasons, &sum.n_reasons, MAX_REASONS, reason);
		if (sum.n_samples < MAX_SAMPLES) {
			sum.samples[sum.n_samples].index = index;
			snprintf(sum.samples[sum.n_samples].instance, NAME_LEN, "%s", instance);
			snprintf(sum.samples[sum.n_samples].reason, REASON_LEN, "%s", reason);
			sum.n_samples++;
		}
	}
	pthread_mutex_unlock(&sum.lock);
}

/* ---- socket helpers: non-blocking sockets, every wait bounded by a deadline ---- */

/* wait_fd - poll @fd for @events until @deadline (now_s() time). 1 ready, 0 timeout, <0 error. */
static int wait_fd(int fd, short events, double deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	double left;
	int r;

	for (;;) {
		left = deadline - now_s();
		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static void set_reason(char *reason, const char *what, int err)
{
	snprintf(reason, REASON_LEN, "%s: %s", what, err ? strerror(err) : "timeout");
}

/* tcp_connect - a connected non-blocking TCP socket, or -1 with @reason set. */
static int tcp_connect(double deadline, char *reason)
{
	socklen_t len = sizeof(int);
	int fd, err = 0, r;

	fd = socket(o.target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_reason(reason, "socket", errno);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&o.target, o.target_len) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		set_reason(reason, "connect", errno);
		goto fail;
	}
	r = wait_fd(fd, POLLOUT, deadline);
	if (r <= 0) {
		set_reason(reason, "connect", -r);
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		set_reason(reason, "connect", err);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* send_all - write @len bytes before @deadline. 0 or -1 with @reason. */
static int send_all(int fd, const void *buf, size_t len, double deadline, char *reason)
{
	const char *p = buf;
	ssize_t n;
	int r;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			set_reason(reason, "send", errno);
			return -1;
		}
		r = wait_fd(fd, POLLOUT, deadline);
		if (r <= 0) {
			set_reason(reason, "send", -r);
			return -1;
		}
	}
	return 0;
}

/*
 * recv_some - one recv() of up to @len bytes, waiting until @deadline. Returns
 * bytes read, 0 on EOF, -1 with @reason on error or timeout.
 */
static ssize_t recv_some(int fd, void *buf, size_t len, double deadline, const char *what,
			 char *reason)
{
	ssize_t n;
	int r;

	for (;;) {
		n = recv(fd, buf, len, 0);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EINTR) {
			set_reason(reason, what, errno);
			return -1;
		}
		r = wait_fd(fd, POLLIN, deadline);
		if (r <= 0) {
			set_reason(reason, what, -r);
			return -1;
		}
	}
}

/*
 * read_greeting - "svc-echod NAME\n" -> @name. The server sends nothing else
 * before it has received data, so reading the line byte-exactly is not needed:
 * any byte after the newline is a protocol error.
 */
static int read_greeting(int fd, double deadline, char *name, char *reason)
{
	char line[NAME_LEN + 16];
	size_t have = 0;
	char *nl;
	ssize_t n;

	for (;;) {
		n = recv_some(fd, line + have, sizeof(line) - 1 - have, deadline, "greeting",
			      reason);
		if (n < 0)
			return -1;
		if (n == 0) {
			snprintf(reason, REASON_LEN, "greeting: connection closed after %zu bytes",
				 have);
			return -1;
		}
		have += n;
		line[have] = '\0';
		nl = memchr(line, '\n', have);
		if (nl)
			break;
		if (have == sizeof(line) - 1) {
			snprintf(reason, REASON_LEN, "greeting: no newline in %zu bytes", have);
			return -1;
		}
	}
	if (strncmp(line, GREETING_PREFIX, strlen(GREETING_PREFIX)) || nl + 1 != line + have ||
	    nl == line + strlen(GREETING_PREFIX) ||
	    (size_t)(nl - line) - strlen(GREETING_PREFIX) >= NAME_LEN) {
		snprintf(reason, REASON_LEN, "greeting: malformed (%zu bytes)", have);
		return -1;
	}
	memcpy(name, line + strlen(GREETING_PREFIX), nl - line - strlen(GREETING_PREFIX));
	name[nl - line - strlen(GREETING_PREFIX)] = '\0';
	return 0;
}

/* recv_expect - read exactly @len bytes and compare them with @want. */
static int recv_expect(int fd, const unsigned char *want, size_t len, double deadline, char *reason)
{
	unsigned char buf[16384];
	size_t got = 0, i;
	ssize_t n;

	while (got < len) {
		n = recv_some(fd, buf, len - got < sizeof(buf) ? len - got : sizeof(buf), deadline,
			      "echo", reason);
		if (n < 0)
			return -1;
		if (n == 0) {
			snprintf(reason, REASON_LEN,
				 "echo: connection closed after %zu of %zu bytes", got, len);
			return -1;
		}
		for (i = 0; i < (size_t)n; i++) {
			if (buf[i] != want[got + i]) {
				snprintf(reason, REASON_LEN, "echo: mismatch at byte %zu of %zu",
					 got + i, len);
				return -1;
			}
		}
		got += n;
	}
	return 0;
}

/* expect_eof - after our FIN, the server closes cleanly and sends nothing more. */
static int expect_eof(int fd, double deadline, char *reason)
{
	char c;
	ssize_t n;

	if (shutdown(fd, SHUT_WR) < 0) {
		set_reason(reason, "shutdown", errno);
		return -1;
	}
	n = recv_some(fd, &c, 1, deadline, "close", reason);
	if (n < 0)
		return -1;
	if (n > 0) {
		snprintf(reason, REASON_LEN, "close: unexpected bytes after the echo");
		return -1;
	}
	return 0;
}

/* ---- conns, udp, http: one request each ---- */

struct worker {
	pthread_t tid;
	uint64_t rnd;
	unsigned char *payload;
	unsigned char *rxbuf;
};

static unsigned long next_index; /* next request number, under sum.lock */
static double t_start, t_end;	 /* t_end 0 = no time limit */

static int one_tcp(struct worker *w, unsigned long idx, char *name, char *reason, size_t *bytes)
{
	double deadline = now_s() + o.timeout_ms / 1000.0;
	size_t len = 1 + rnd_next(&w->rnd) % o.size;
	int fd, err = -1;

	(void)idx;
	rnd_fill(&w->rnd, w->payload, len);
	fd = tcp_connect(deadline, reason);
	if (fd < 0)
		return -1;
	if (read_greeting(fd, deadline, name, reason) ||
	    send_all(fd, w->payload, len, deadline, reason) ||
	    recv_expect(fd, w->payload, len, deadline, reason) || expect_eof(fd, deadline, reason))
		goto out;
	*bytes = len;
	err = 0;
out:
	close(fd);
	return err;
}

/*
 * parse_udp_reply - "svc-echod NAME\n" + payload. 1 = our reply (name set),
 * 0 = a stale reply to an earlier attempt (other nonce), -1 = malformed.
 */
static int parse_udp_reply(const unsigned char *buf, size_t n, const unsigned char *want,
			   size_t len, char *name, char *reason)
{
	const size_t pl = strlen(GREETING_PREFIX);
	const unsigned char *nl;
	size_t hl;

	if (n < pl || memcmp(buf, GREETING_PREFIX, pl)) {
		snprintf(reason, REASON_LEN, "udp: malformed reply (%zu bytes)", n);
		return -1;
	}
	nl = memchr(buf, '\n', n);
	if (!nl || nl == buf + pl || (size_t)(nl - buf - pl) >= NAME_LEN) {
		snprintf(reason, REASON_LEN, "udp: malformed reply header (%zu bytes)", n);
		return -1;
	}
	hl = nl + 1 - buf;
	/* the first 8 bytes of every payload are the request's nonce */
	if (n - hl >= 8 && memcmp(nl + 1, want, 8))
		return 0;
	if (n - hl != len) {
		snprintf(reason, REASON_LEN, "udp: echo length %zu, sent %zu", n - hl, len);
		return -1;
	}
	if (memcmp(nl + 1, want, len)) {
		snprintf(reason, REASON_LEN, "udp: echo mismatch");
		return -1;
	}
	memcpy(name, buf + pl, nl - buf - pl);
	name[nl - buf - pl] = '\0';
	return 1;
}

/*
 * udp_exchange - send @want on connected socket @fd, wait for its echo, resend
 * after each per-attempt timeout (o.retries times). 0 ok, -1 with @reason.
 */
static int udp_exchange(int fd, const unsigned char *want, size_t len, unsigned char *rx,
			char *name, char *reason, unsigned int *resent)
{
	unsigned int attempt;
	double deadline;
	ssize_t n;
	int r;

	for (attempt = 0; attempt <= o.retries; attempt++) {
		if (attempt)
			(*resent)++;
		if (send(fd, want, len, 0) != (ssize_t)len) {
			set_reason(reason, "udp send", errno);
			return -1;
		}
		deadline = now_s() + o.timeout_ms / 1000.0;
		for (;;) {
			n = recv(fd, rx, UDP_MAX, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				r = wait_fd(fd, POLLIN, deadline);
				if (r < 0) {
					set_reason(reason, "udp recv", -r);
					return -1;
				}
				if (r == 0)
					break; /* resend */
				continue;
			}
			if (n < 0) {
				/* which attempt met the error: a refusal after a resend
				 * points at a late duplicate, on the first at the path */
				snprintf(reason, REASON_LEN, "udp recv (attempt %u): %s",
					 attempt + 1, strerror(errno));
				return -1;
			}
			r = parse_udp_reply(rx, n, want, len, name, reason);
			if (r < 0)
				return -1;
			if (r > 0)
				return 0;
		}
	}
	snprintf(reason, REASON_LEN, "udp: no reply after %u attempts", o.retries + 1);
	return -1;
}

static int one_udp(struct worker *w, unsigned long idx, char *name, char *reason, size_t *bytes,
		   unsigned int *resent)
{
	size_t len = 8 + rnd_next(&w->rnd) % (o.size > 8 ? o.size - 7 : 1);
	int fd, err;

	(void)idx;
	rnd_fill(&w->rnd, w->payload, len);
	fd = socket(o.target.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_reason(reason, "udp socket", errno);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&o.target, o.target_len) < 0) {
		set_reason(reason, "udp connect", errno);
		close(fd);
		return -1;
	}
	err = udp_exchange(fd, w->payload, len, w->rxbuf, name, reason, resent);
	close(fd);
	if (!err)
		*bytes = len;
	return err;
}

/* one_http - GET /, expect "HTTP/1.x 200" and the body "instance NAME". */
static int one_http(struct worker *w, unsigned long idx, char *name, char *reason, size_t *bytes)
{
	double deadline = now_s() + o.timeout_ms / 1000.0;
	char req[256], *resp = (char *)w->rxbuf, *body, *nl;
	size_t have = 0, cap = 65536;
	int fd, n, err = -1;
	ssize_t r;

	n = snprintf(req, sizeof(req),
		     "GET /req/%lu HTTP/1.0\r\nHost: %s\r\nUser-Agent: svc-loadgen\r\n\r\n", idx,
		     o.target_text);
	fd = tcp_connect(deadline, reason);
	if (fd < 0)
		return -1;
	if (send_all(fd, req, n, deadline, reason))
		goto out;
	for (;;) {
		r = recv_some(fd, resp + have, cap - 1 - have, deadline, "http response", reason);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		have += r;
		if (have == cap - 1) {
			snprintf(reason, REASON_LEN, "http: response longer than %zu bytes", have);
			goto out;
		}
	}
	resp[have] = '\0';
	if (strncmp(resp, "HTTP/1.", 7) || have < 12 || strncmp(resp + 8, " 200", 4)) {
		snprintf(reason, REASON_LEN, "http: status %.12s", have ? resp : "(empty)");
		goto out;
	}
	body = strstr(resp, "\r\n\r\n");
	if (!body || strncmp(body + 4, "instance ", 9)) {
		snprintf(reason, REASON_LEN, "http: body does not name an instance");
		goto out;
	}
	body += 4 + 9;
	nl = strchr(body, '\n');
	if (!nl || nl == body || nl - body >= NAME_LEN) {
		snprintf(reason, REASON_LEN, "http: malformed body");
		goto out;
	}
	*nl = '\0';
	snprintf(name, NAME_LEN, "%s", body);
	*bytes = have;
	err = 0;
out:
	close(fd);
	return err;
}

/* claim - the next request index, or false when the run is over. */
static bool claim(unsigned long *idx)
{
	bool go;

	if (stop_requested() || (t_end > 0 && now_s() >= t_end))
		return false;
	pthread_mutex_lock(&sum.lock);
	go = !o.count || next_index < o.count;
	if (go) {
		*idx = next_index++;
		sum.started++;
	}
	pthread_mutex_unlock(&sum.lock);
	return go;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char name[NAME_LEN], reason[REASON_LEN];
	unsigned int resent;
	unsigned long idx;
	size_t bytes;
	double t0;
	int err;

	while (claim(&idx)) {
		name[0] = '\0';
		reason[0] = '\0';
		bytes = 0;
		resent = 0;
		t0 = now_s();
		if (o.mode == MODE_CONNS)
			err = one_tcp(w, idx, name, reason, &bytes);
		else if (o.mode == MODE_UDP)
			err = one_udp(w, idx, name, reason, &bytes, &resent);
		else
			err = one_http(w, idx, name, reason, &bytes);
		summary_add(idx, name, err ? reason : NULL, bytes, (now_s() - t0) * 1000, resent);
		if (o.interval_given)
			usleep(o.interval_ms * 1000);
	}
	return NULL;
}

static void print_progress(double t)
{
	int i;

	pthread_mutex_lock(&sum.lock);
	fprintf(stderr, "svc-loadgen: %5.1fs ok %lu failed %lu |", t, sum.ok, sum.failed);
	for (i = 0; i < sum.n_inst; i++)
		fprintf(stderr, " %s %lu", sum.inst[i].key, sum.inst[i].n);
	fprintf(stderr, "\n");
	pthread_mutex_unlock(&sum.lock);
}

static int run_workers(void)
{
	struct worker *ws;
	unsigned int i, started = 0;
	double next_progress;
	int err = 0;

	ws = calloc(o.concurrency, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	t_start = now_s();
	t_end = o.duration > 0 ? t_start + o.duration : 0;
	for (i = 0; i < o.concurrency; i++) {
		ws[i].rnd = rnd_seed();
		ws[i].payload = malloc(o.size + 8);
		ws[i].rxbuf = malloc(UDP_MAX + 1);
		if (!ws[i].payload || !ws[i].rxbuf) {
			err = -ENOMEM;
			break;
		}
		err = -pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]);
		if (err) {
			fprintf(stderr, "svc-loadgen: pthread_create: %s\n", strerror(-err));
			break;
		}
		started++;
	}
	if (err)
		stop_signal = 1;
	next_progress = t_start + 1;
	if (o.progress || o.status_file) {
		/* the workers stop on their own; this only reports while they run */
		for (;;) {
			pthread_mutex_lock(&sum.lock);
			bool done = (o.count && sum.ok + sum.failed >= o.count) ||
				    (sum.ok + sum.failed >= sum.started &&
				     (stop_requested() || (t_end > 0 && now_s() >= t_end)));
			pthread_mutex_unlock(&sum.lock);
			if (done)
				break;
			usleep(20000);
			status_update(false);
			if (o.progress && now_s() >= next_progress) {
				print_progress(now_s() - t_start);
				next_progress += 1;
			}
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(ws[i].tid, NULL);
	for (i = 0; i < o.concurrency; i++) {
		free(ws[i].payload);
		free(ws[i].rxbuf);
	}
	free(ws);
	return err;
}

/* ---- hold: long-lived connections in one poll loop ---- */

enum hstate { H_CONNECTING, H_GREETING, H_IDLE, H_WAITING, H_CLOSING, H_DONE, H_FAILED };

static const char *const hstate_names[] = { "connecting", "greeting", "up",    "up",
					    "closing",	  "done",     "failed" };

struct hconn {
	int fd;
	enum hstate state;
	char instance[NAME_LEN];
	char reason[REASON_LEN];
	unsigned char msg[80];	  /* the message in flight */
	size_t msg_len, got;	  /* TCP: echo bytes matched so far */
	unsigned char rxbuf[256]; /* TCP greeting bytes so far */
	size_t rx_len;
	double t_sent, deadline, next_send, t_failed;
	unsigned long messages; /* completed exchanges */
	unsigned int resent;	/* UDP: resends after a lost reply */
	unsigned int attempts;	/* UDP: attempts of the message in flight */
	double max_rtt_ms;
	unsigned short local_port;
	uint64_t seq;
};

static struct hconn *hc;
static uint64_t hold_rnd;

static void h_fail(struct hconn *c, const char *fmt, const char *arg)
{
	snprintf(c->reason, REASON_LEN, fmt, arg);
	c->state = H_FAILED;
	c->t_failed = now_s() - t_start;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void h_fail_errno(struct hconn *c, const char *what, int err)
{
	char r[REASON_LEN];

	set_reason(r, what, err);
	h_fail(c, "%s", r);
}

static void h_local_port(struct hconn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(c->fd, (struct sockaddr *)&ss, &len) == 0)
		c->local_port =
			ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						      : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* h_new_msg - a fresh message: 8-byte sequence number, then random bytes. */
static void h_new_msg(struct hconn *c)
{
	c->seq++;
	c->msg_len = 16 + rnd_next(&hold_rnd) % 48;
	memcpy(c->msg, &c->seq, 8);
	rnd_fill(&hold_rnd, c->msg + 8, c->msg_len - 8);
	c->got = 0;
	c->attempts = 0;
}

static void h_send(struct hconn *c, double now)
{
	ssize_t n;

	if (c->attempts == 0)
		c->t_sent = now;
	c->attempts++;
	n = send(c->fd, c->msg, c->msg_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n != (ssize_t)c->msg_len) {
		/* 80 bytes into an almost idle socket: a short send means trouble */
		if (n < 0)
			h_fail_errno(c, "send", errno);
		else
			h_fail(c, "%s", "send: short write");
		return;
	}
	c->state = H_WAITING;
	c->deadline = now + o.timeout_ms / 1000.0;
}

static void h_done_exchange(struct hconn *c, double now)
{
	double rtt = (now - c->t_sent) * 1000;

	if (rtt > c->max_rtt_ms)
		c->max_rtt_ms = rtt;
	c->messages++;
	c->state = H_IDLE;
	c->next_send = c->t_sent + o.interval_ms / 1000.0;
	if (c->next_send < now)
		c->next_send = now;
}

static void h_start(struct hconn *c, double now)
{
	int type = o.hold_udp ? SOCK_DGRAM : SOCK_STREAM;

	c->fd = socket(o.target.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		h_fail_errno(c, "socket", errno);
		return;
	}
	c->deadline = now + o.timeout_ms / 1000.0;
	if (connect(c->fd, (struct sockaddr *)&o.target, o.target_len) < 0 &&
	    errno != EINPROGRESS) {
		h_fail_errno(c, "connect", errno);
		return;
	}
	h_local_port(c);
	if (o.hold_udp) {
		/* UDP "connection": the first exchange tells which instance serves it */
		h_new_msg(c);
		c->state = H_GREETING;
		h_send(c, now);
		if (c->state == H_WAITING)
			c->state = H_GREETING;
		return;
	}
	c->state = H_CONNECTING;
}

/* h_tcp_greeting - bytes of the greeting line arrived. */
static void h_tcp_greeting(struct hconn *c, double now)
{
	const size_t pl = strlen(GREETING_PREFIX);
	unsigned char *nl;
	ssize_t n;

	n = recv(c->fd, c->rxbuf + c->rx_len, sizeof(c->rxbuf) - 1 - c->rx_len, 0);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			h_fail_errno(c, "greeting", errno);
		return;
	}
	if (n == 0) {
		h_fail(c, "%s", "greeting: connection closed");
		return;
	}
	c->rx_len += n;
	nl = memchr(c->rxbuf, '\n', c->rx_len);
	if (!nl) {
		if (c->rx_len == sizeof(c->rxbuf) - 1)
			h_fail(c, "%s", "greeting: no newline");
		return;
	}
	if (nl + 1 != c->rxbuf + c->rx_len || c->rx_len < pl + 2 ||
	    memcmp(c->rxbuf, GREETING_PREFIX, pl) || (size_t)(nl - c->rxbuf) - pl >= NAME_LEN) {
		h_fail(c, "%s", "greeting: malformed");
		return;
	}
	memcpy(c->instance, c->rxbuf + pl, nl - c->rxbuf - pl);
	c->instance[nl - c->rxbuf - pl] = '\0';
	c->state = H_IDLE;
	c->next_send = now;
}

/* h_tcp_echo - compare arriving bytes with the message in flight. */
static void h_tcp_echo(struct hconn *c, double now)
{
	unsigned char buf[256];
	size_t i;
	ssize_t n;

	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			h_fail_errno(c, "echo", errno);
		return;
	}
	if (n == 0 && c->state == H_CLOSING) {
		/* the server answered our FIN with its own: a clean end */
		close(c->fd);
		c->fd = -1;
		c->state = H_DONE;
		return;
	}
	if (n == 0) {
		h_fail(c, "%s", "echo: connection closed by peer");
		return;
	}
	if (c->state != H_WAITING) {
		h_fail(c, "%s", "unexpected bytes from the server");
		return;
	}
	for (i = 0; i < (size_t)n; i++) {
		if (c->got + i >= c->msg_len || buf[i] != c->msg[c->got + i]) {
			h_fail(c, "%s", "echo: bytes differ from what was sent");
			return;
		}
	}
	c->got += n;
	if (c->got == c->msg_len)
		h_done_exchange(c, now);
}

/* h_udp_reply - a datagram on a held UDP flow: same instance, same bytes. */
static void h_udp_reply(struct hconn *c, double now)
{
	static unsigned char rx[UDP_MAX + 1];
	char name[NAME_LEN], reason[REASON_LEN];
	ssize_t n;
	int r;

	n = recv(c->fd, rx, UDP_MAX, 0);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			h_fail_errno(c, "udp recv", errno);
		return;
	}
	if (c->state != H_WAITING && c->state != H_GREETING)
		return; /* a late duplicate of an answered message */
	r = parse_udp_reply(rx, n, c->msg, c->msg_len, name, reason);
	if (r < 0) {
		h_fail(c, "%s", reason);
		return;
	}
	if (r == 0)
		return; /* stale: answer to an earlier message */
	if (c->state == H_GREETING) {
		snprintf(c->instance, NAME_LEN, "%s", name);
	} else if (strcmp(name, c->instance)) {
		char m[REASON_LEN];

		snprintf(m, sizeof(m), "udp: flow moved from %.40s to %.40s", c->instance, name);
		h_fail(c, "%s", m);
		return;
	}
	h_done_exchange(c, now);
}

static void h_timeout(struct hconn *c, double now)
{
	switch (c->state) {
	case H_CONNECTING:
		h_fail(c, "%s", "connect: timeout");
		break;
	case H_GREETING:
	case H_WAITING:
		if (o.hold_udp && c->attempts <= o.retries) {
			c->resent++;
			h_send(c, now);
			if (c->state == H_WAITING && !c->instance[0])
				c->state = H_GREETING;
			break;
		}
		h_fail(c, "%s", c->state == H_GREETING ? "greeting: timeout" : "echo: timeout");
		break;
	case H_CLOSING:
		h_fail(c, "%s", "close: timeout");
		break;
	default:
		break;
	}
}

static void h_connected(struct hconn *c)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		h_fail_errno(c, "connect", err);
		return;
	}
	h_local_port(c);
	c->state = H_GREETING;
	c->deadline = now_s() + o.timeout_ms / 1000.0;
}

static void h_event(struct hconn *c, short revents, double now)
{
	if (c->state == H_CONNECTING) {
		if (revents & (POLLOUT | POLLERR | POLLHUP))
			h_connected(c);
		return;
	}
	if (!(revents & (POLLIN | POLLERR | POLLHUP)))
		return;
	if (o.hold_udp)
		h_udp_reply(c, now);
	else if (c->state == H_GREETING)
		h_tcp_greeting(c, now);
	else
		h_tcp_echo(c, now);
}

static bool h_active(const struct hconn *c)
{
	return c->state != H_DONE && c->state != H_FAILED;
}

/*
 * hold_poll - one round: wait for events or the nearest deadline, then handle
 * them. @sending: start new exchanges when due.
 */
static int hold_poll(struct pollfd *pfd, int *map, bool sending)
{
	double now = now_s(), wake = now + 0.05;
	unsigned long i;
	int n = 0, r, k;

	for (i = 0; i < o.count; i++) {
		struct hconn *c = &hc[i];

		if (!h_active(c))
			continue;
		if (c->state == H_IDLE && sending && c->next_send < wake)
			wake = c->next_send;
		if (c->state != H_IDLE && c->deadline < wake)
			wake = c->deadline;
		pfd[n].fd = c->fd;
		pfd[n].events = c->state == H_CONNECTING ? POLLOUT : POLLIN;
		pfd[n].revents = 0;
		map[n++] = i;
	}
	r = poll(pfd, n, wake > now ? (int)((wake - now) * 1000) + 1 : 0);
	if (r < 0 && errno != EINTR)
		return -errno;
	now = now_s();
	for (k = 0; r > 0 && k < n; k++) {
		if (pfd[k].revents && h_active(&hc[map[k]]))
			h_event(&hc[map[k]], pfd[k].revents, now);
	}
	for (i = 0; i < o.count; i++) {
		struct hconn *c = &hc[i];

		if (!h_active(c))
			continue;
		if (c->state != H_IDLE && now >= c->deadline)
			h_timeout(c, now);
		else if (c->state == H_IDLE && sending && now >= c->next_send) {
			h_new_msg(c);
			h_send(c, now);
		}
	}
	return 0;
}

static unsigned long h_count(enum hstate s)
{
	unsigned long i, n = 0;

	for (i = 0; i < o.count; i++)
		n += hc[i].state == s;
	return n;
}

static int write_ready_file(const char *path, unsigned long established)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "established %lu of %lu\n", established, o.count) < 0 ||
	    fclose(f) != 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "svc-loadgen: ready file %s: %s\n", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int run_hold(void)
{
	struct pollfd *pfd;
	double t_stop, now, t_next_progress;
	unsigned long i, up;
	int *map, err = 0;

	hc = calloc(o.count, sizeof(*hc));
	pfd = calloc(o.count, sizeof(*pfd));
	map = calloc(o.count, sizeof(*map));
	if (!hc || !pfd || !map) {
		err = -ENOMEM;
		goto out;
	}
	hold_rnd = rnd_seed();
	t_start = now_s();
	for (i = 0; i < o.count; i++) {
		hc[i].fd = -1;
		h_start(&hc[i], t_start);
	}
	/* establish: every connection greeted (or failed) */
	for (;;) {
		for (i = 0, up = 0; i < o.count; i++)
			up += hc[i].state == H_CONNECTING || hc[i].state == H_GREETING;
		if (!up || stop_requested())
			break;
		err = hold_poll(pfd, map, false);
		if (err)
			goto out;
		status_update(false);
	}
	up = o.count - h_count(H_FAILED);
	if (o.progress)
		fprintf(stderr, "svc-loadgen: hold: %lu of %lu connections established\n", up,
			o.count);
	if (o.ready_file) {
		err = write_ready_file(o.ready_file, up);
		if (err)
			goto out;
	}
	/* spread the exchanges over the interval instead of sending in bursts */
	now = now_s();
	for (i = 0; i < o.count; i++)
		hc[i].next_send = now + (o.interval_ms / 1000.0) * i / o.count;
	t_stop = o.duration > 0 ? now + o.duration : 0;
	t_next_progress = now + 1;
	while (!stop_requested() && (!t_stop || now_s() < t_stop)) {
		err = hold_poll(pfd, map, true);
		if (err)
			goto out;
		status_update(false);
		if (o.progress && now_s() >= t_next_progress) {
			fprintf(stderr, "svc-loadgen: hold %5.1fs: %lu intact, %lu failed\n",
				now_s() - t_start, o.count - h_count(H_FAILED), h_count(H_FAILED));
			t_next_progress += 1;
		}
	}
	/* drain: finish exchanges in flight, then close every TCP connection cleanly */
	while (h_count(H_WAITING) || h_count(H_GREETING) || h_count(H_CONNECTING)) {
		err = hold_poll(pfd, map, false);
		if (err)
			goto out;
	}
	now = now_s();
	for (i = 0; i < o.count; i++) {
		struct hconn *c = &hc[i];

		if (c->state != H_IDLE)
			continue;
		if (o.hold_udp) {
			close(c->fd);
			c->fd = -1;
			c->state = H_DONE;
			continue;
		}
		if (shutdown(c->fd, SHUT_WR) < 0) {
			h_fail_errno(c, "shutdown", errno);
			continue;
		}
		c->state = H_CLOSING;
		c->deadline = now + o.timeout_ms / 1000.0;
	}
	while (h_count(H_CLOSING)) {
		err = hold_poll(pfd, map, false);
		if (err)
			goto out;
	}
out:
	free(pfd);
	free(map);
	return err;
}

/* ---- output ---- */

static json_object *counters_json(const struct counter *c, int n, int cap)
{
	json_object *o = json_object_new_object();
	int i;

	for (i = 0; i < n; i++)
		json_object_object_add(o, c[i].key, json_object_new_int64(c[i].n));
	if (c[cap].n)
		json_object_object_add(o, c[cap].key, json_object_new_int64(c[cap].n));
	return o;
}

static void add_common(json_object *j, double elapsed)
{
	json_object_object_add(j, "mode", json_object_new_string(mode_names[o.mode]));
	json_object_object_add(
		j, "proto",
		json_object_new_string(
			o.mode == MODE_UDP || (o.mode == MODE_HOLD && o.hold_udp) ? "udp" : "tcp"));
	json_object_object_add(j, "target", json_object_new_string(o.target_text));
	json_object_object_add(
		j, "family",
		json_object_new_string(o.target.ss_family == AF_INET6 ? "ipv6" : "ipv4"));
	json_object_object_add(j, "elapsed_s", json_object_new_double(elapsed));
	json_object_object_add(j, "stopped_by",
			       json_object_new_string(stop_signal	 ? "signal"
						      : stop_requested() ? "stop_file"
									 : "end"));
}

static json_object *summary_json(double elapsed)
{
	json_object *j = json_object_new_object(), *s;
	int i;

	add_common(j, elapsed);
	json_object_object_add(j, "requested", json_object_new_int64(o.count));
	json_object_object_add(j, "total", json_object_new_int64(sum.ok + sum.failed));
	json_object_object_add(j, "ok", json_object_new_int64(sum.ok));
	json_object_object_add(j, "failed", json_object_new_int64(sum.failed));
	json_object_object_add(j, "bytes_verified", json_object_new_int64(sum.bytes_verified));
	json_object_object_add(j, "retransmits", json_object_new_int64(sum.retransmits));
	json_object_object_add(j, "max_latency_ms", json_object_new_double(sum.max_latency_ms));
	json_object_object_add(j, "instances", counters_json(sum.inst, sum.n_inst, MAX_INSTANCES));
	json_object_object_add(j, "failure_reasons",
			       counters_json(sum.reasons, sum.n_reasons, MAX_REASONS));
	s = json_object_new_array();
	for (i = 0; i < sum.n_samples; i++) {
		json_object *f = json_object_new_object();

		json_object_object_add(f, "index", json_object_new_int64(sum.samples[i].index));
		json_object_object_add(f, "instance",
				       json_object_new_string(sum.samples[i].instance));
		json_object_object_add(f, "reason", json_object_new_string(sum.samples[i].reason));
		json_object_array_add(s, f);
	}
	json_object_object_add(j, "failures", s);
	return j;
}

static json_object *hold_json(double elapsed)
{
	json_object *j = json_object_new_object(), *arr = json_object_new_array(), *inst, *c;
	unsigned long i, intact = 0, established = 0, msgs = 0;
	struct counter cnt[MAX_INSTANCES + 1] = { 0 };
	int n = 0;

	add_common(j, elapsed);
	for (i = 0; i < o.count; i++) {
		const struct hconn *h = &hc[i];
		bool ok = h->state == H_DONE;

		intact += ok;
		established += h->instance[0] != '\0';
		msgs += h->messages;
		if (h->instance[0])
			counter_add(cnt, &n, MAX_INSTANCES, h->instance);
		c = json_object_new_object();
		json_object_object_add(c, "id", json_object_new_int64(i));
		json_object_object_add(c, "local_port", json_object_new_int(h->local_port));
		json_object_object_add(c, "instance",
				       h->instance[0] ? json_object_new_string(h->instance) : NULL);
		json_object_object_add(c, "intact", json_object_new_boolean(ok));
		json_object_object_add(c, "state", json_object_new_string(hstate_names[h->state]));
		json_object_object_add(c, "messages", json_object_new_int64(h->messages));
		json_object_object_add(c, "resent", json_object_new_int(h->resent));
		json_object_object_add(c, "max_rtt_ms", json_object_new_double(h->max_rtt_ms));
		json_object_object_add(
			c, "error",
			ok ? NULL
			   : json_object_new_string(h->reason[0] ? h->reason : "unfinished"));
		if (!ok)
			json_object_object_add(c, "failed_at_s",
					       json_object_new_double(h->t_failed));
		json_object_array_add(arr, c);
	}
	json_object_object_add(j, "total", json_object_new_int64(o.count));
	json_object_object_add(j, "established", json_object_new_int64(established));
	json_object_object_add(j, "intact", json_object_new_int64(intact));
	json_object_object_add(j, "broken", json_object_new_int64(o.count - intact));
	json_object_object_add(j, "messages", json_object_new_int64(msgs));
	inst = counters_json(cnt, n, MAX_INSTANCES);
	json_object_object_add(j, "instances", inst);
	json_object_object_add(j, "connections", arr);
	return j;
}

/* write_json - @j to @path atomically (a reader never sees half a file). */
static int write_json(const char *path, json_object *j)
{
	const char *text = json_object_to_json_string_ext(
		j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "svc-loadgen: write %s: %s\n", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int emit(json_object *j)
{
	if (!o.out_file) {
		const char *text = json_object_to_json_string_ext(
			j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);

		if (printf("%s\n", text) < 0 || fflush(stdout) != 0) {
			fprintf(stderr, "svc-loadgen: write result: %s\n", strerror(errno));
			return -EIO;
		}
		return 0;
	}
	return write_json(o.out_file, j);
}

/*
 * status_update - rewrite --status-file with the run so far, at most every 50 ms
 * (@force: now). The hold loop and the workers' monitor call it from one thread.
 */
static void status_update(bool force)
{
	static double next;
	double now = now_s();
	json_object *j;

	if (!o.status_file || (!force && now < next))
		return;
	next = now + 0.05;
	if (o.mode == MODE_HOLD) {
		j = hold_json(now - t_start);
	} else {
		pthread_mutex_lock(&sum.lock);
		j = summary_json(now - t_start);
		pthread_mutex_unlock(&sum.lock);
	}
	json_object_object_add(j, "running", json_object_new_boolean(true));
	write_json(o.status_file, j);
	json_object_put(j);
}

/* ---- command line ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: svc-loadgen --target VIP:PORT [options] conns|udp|http|hold N\n"
		"  -t, --target A:P      198.19.0.10:80 or [2001:db8::10]:80\n"
		"  -c, --concurrency C   parallel requests (conns, udp, http; default 8)\n"
		"  -s, --size B          largest payload, bytes (default 1024)\n"
		"  -T, --timeout MS      per operation (default 30000); udp: per attempt (1000)\n"
		"  -r, --retries R       UDP resends after a timeout (default 3)\n"
		"  -d, --duration S      stop after S seconds (N = 0: unbounded count, also with\n"
		"                        --stop-file)\n"
		"  -i, --interval MS     hold: exchange period per connection (default 100);\n"
		"                        other modes: each worker pauses MS between requests\n"
		"  -u, --udp             hold: UDP flows instead of TCP connections\n"
		"  --ready-file F        hold: written once every connection is established\n"
		"  --stop-file F         stop (and report) once F exists; also SIGINT/TERM/USR1\n"
		"  --status-file F       the result so far, rewritten every 50 ms while running\n"
		"  -o, --out F           write the JSON result to F (atomically) instead of "
		"stdout\n"
		"  -p, --progress        one progress line per second on stderr\n");
}

static int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || !*s || *s == '-' || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

/* parse_target - "A.B.C.D:PORT" or "[V6]:PORT". */
static int parse_target(const char *s)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&o.target;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&o.target;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *ps;
	unsigned long port;
	size_t hl;

	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (!colon)
			return -EINVAL;
		hl = colon - s - 1;
		ps = colon + 2;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = colon - s;
		ps = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(host) || parse_ulong(ps, 1, 65535, &port))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(&o.target, 0, sizeof(o.target));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		o.target_len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		o.target_len = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "retries", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "udp", no_argument, NULL, 'u' },
		{ "ready-file", required_argument, NULL, 'R' },
		{ "stop-file", required_argument, NULL, 'S' },
		{ "status-file", required_argument, NULL, 'F' },
		{ "out", required_argument, NULL, 'o' },
		{ "progress", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned long v;
	char *end;
	int c, m;

	while ((c = getopt_long(argc, argv, "t:c:s:T:r:d:i:uo:ph", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			o.target_text = optarg;
			if (parse_target(optarg)) {
				fprintf(stderr,
					"svc-loadgen: --target %s: want ADDR:PORT or [V6]:PORT\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'c':
			if (parse_ulong(optarg, 1, 1024, &v))
				goto bad;
			o.concurrency = v;
			break;
		case 's':
			if (parse_ulong(optarg, 1, 60000, &v))
				goto bad;
			o.size = v;
			break;
		case 'T':
			if (parse_ulong(optarg, 1, 600000, &v))
				goto bad;
			o.timeout_ms = v;
			break;
		case 'r':
			if (parse_ulong(optarg, 0, 100, &v))
				goto bad;
			o.retries = v;
			break;
		case 'd':
			errno = 0;
			o.duration = strtod(optarg, &end);
			if (errno || *end || !*optarg || o.duration <= 0 || o.duration > 86400)
				goto bad;
			break;
		case 'i':
			if (parse_ulong(optarg, 1, 60000, &v))
				goto bad;
			o.interval_ms = v;
			o.interval_given = true;
			break;
		case 'u':
			o.hold_udp = true;
			break;
		case 'R':
			o.ready_file = optarg;
			break;
		case 'S':
			o.stop_file = optarg;
			break;
		case 'F':
			o.status_file = optarg;
			break;
		case 'o':
			o.out_file = optarg;
			break;
		case 'p':
			o.progress = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "svc-loadgen: want a mode and a count\n");
		usage(stderr);
		return -EINVAL;
	}
	for (m = 0; m <= MODE_HOLD; m++)
		if (!strcmp(argv[optind], mode_names[m]))
			break;
	if (m > MODE_HOLD) {
		fprintf(stderr, "svc-loadgen: mode %s: want conns, udp, http or hold\n",
			argv[optind]);
		return -EINVAL;
	}
	o.mode = m;
	if (parse_ulong(argv[optind + 1], 0, 1000000, &o.count) ||
	    (o.count == 0 && (o.mode == MODE_HOLD || (o.duration == 0 && !o.stop_file)))) {
		fprintf(stderr,
			"svc-loadgen: count %s: want 1..1000000 (0 only with --duration or "
			"--stop-file, not for hold)\n",
			argv[optind + 1]);
		return -EINVAL;
	}
	if (!o.target_text) {
		fprintf(stderr, "svc-loadgen: --target is required\n");
		return -EINVAL;
	}
	if (o.mode == MODE_UDP && o.timeout_ms == 30000)
		o.timeout_ms = 1000; /* per attempt; retried */
	return 0;
bad:
	for (m = 0; opts[m].name && opts[m].val != c; m++)
		;
	fprintf(stderr, "svc-loadgen: --%s %s: out of range or not a number\n",
		opts[m].name ? opts[m].name : "?", optarg);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	bool all_ok;
	json_object *j;
	int err;

	if (parse_args(argc, argv))
		return 2;
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL) ||
	    sigaction(SIGUSR1, &sa, NULL)) {
		fprintf(stderr, "svc-loadgen: sigaction: %s\n", strerror(errno));
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (o.mode == MODE_HOLD) {
		err = run_hold();
		if (err) {
			fprintf(stderr, "svc-loadgen: hold: %s\n", strerror(-err));
			return 2;
		}
		j = hold_json(now_s() - t_start);
		all_ok = h_count(H_DONE) == o.count;
	} else {
		err = run_workers();
		if (err) {
			fprintf(stderr, "svc-loadgen: %s\n", strerror(-err));
			return 2;
		}
		j = summary_json(now_s() - t_start);
		all_ok = sum.failed == 0 && sum.ok > 0 &&
			 (!o.count || sum.ok == o.count || o.duration || stop_requested());
	}
	err = emit(j);
	json_object_put(j);
	if (err)
		return 2;
	return all_ok ? 0 : 1;
}
