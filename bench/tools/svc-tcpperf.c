// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svc-tcpperf: TCP connection rate and bulk throughput for the live-traffic
 * benchmark (make bench). Every run is bounded in time.
 *
 *   svc-tcpperf server ADDR PORT [--max-seconds S]
 *       serves both tests until SIGTERM/SIGINT or S seconds (default 600).
 *   svc-tcpperf crr ADDR PORT --seconds S [--parallel N]
 *       connect, send "C", receive "c", receive the server's close, close;
 *       as many as fit in S seconds, N threads each one connection at a time;
 *       also the time of each successful connect() (SYN sent -> established),
 *       reported as p50/p99/max in microseconds.
 *   svc-tcpperf bulk ADDR PORT --seconds S
 *       one connection: "B" then data for S seconds, shut down the sending
 *       side; the server answers the byte count it received (8 bytes, big
 *       endian), so the rate is what arrived, not what was buffered.
 *
 * Client results are one JSON object on stdout. Exit: 0 ran, 1 failed, 2 usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARALLEL 64
#define BULK_CHUNK (128 * 1024)
#define IO_TIMEOUT_S 5 /* a peer that stalls this long is an error, not a hang */
#define MAX_EVENTS 64

static volatile sig_atomic_t stop;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ADDR PORT -> sockaddr (IPv4 or IPv6). */
static int parse_sa(const char *addr, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char *end;
	long p = strtol(port, &end, 10);

	if (*end || p < 1 || p > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		*len = sizeof(*s6);
		return 0;
	}
	return -EINVAL;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---- server ---- */

enum conn_state { CONN_NEW, CONN_BULK };

struct conn {
	int fd;
	enum conn_state state;
	uint64_t bytes;
};

static void conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* Readable: a CRR request is answered and closed; bulk bytes are counted until EOF. */
static void conn_read(int ep, struct conn *c)
{
	static char buf[BULK_CHUNK];
	ssize_t n;

	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		if (c->state == CONN_NEW && buf[0] == 'C') {
			if (write(c->fd, "c", 1) != 1)
				break;
			break; /* the server closes first: its side keeps TIME_WAIT */
		}
		if (c->state == CONN_NEW && buf[0] != 'B')
			break;
		c->bytes += n - (c->state == CONN_NEW);
		c->state = CONN_BULK;
	}
	if (n == 0 && c->state == CONN_BULK) {
		uint64_t be = htobe64(c->bytes);
		int fl = fcntl(c->fd, F_GETFL);

		/* 8 bytes into an empty send buffer: blocking mode cannot stall here */
		fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
		set_timeouts(c->fd);
		if (write(c->fd, &be, sizeof(be)) != sizeof(be))
			fprintf(stderr, "svc-tcpperf: send byte count: %s\n", strerror(errno));
	}
	conn_close(ep, c);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int serve(const struct sockaddr_storage *ss, socklen_t len, double max_s)
{
	struct epoll_event ev, evs[MAX_EVENTS];
	double deadline = now_s() + max_s;
	int lfd, ep, one = 1, i, n;

	lfd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (const struct sockaddr *)ss, len) || listen(lfd, 4096)) {
		fprintf(stderr, "svc-tcpperf: listen: %s\n", strerror(errno));
		return 1;
	}
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev)) {
		fprintf(stderr, "svc-tcpperf: epoll: %s\n", strerror(errno));
		return 1;
	}
	fprintf(stderr, "svc-tcpperf: listening\n");
	while (!stop && now_s() < deadline) {
		n = epoll_wait(ep, evs, MAX_EVENTS, 200);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int fd;

			if (c) {
				conn_read(ep, c);
				continue;
			}
			while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
				c = calloc(1, sizeof(*c));
				if (!c) {
					close(fd);
					continue;
				}
				c->fd = fd;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
					close(fd);
					free(c);
				}
			}
		}
	}
	close(ep);
	close(lfd);
	return 0;
}

/* ---- clients ---- */

struct crr_arg {
	const struct sockaddr_storage *ss;
	socklen_t len;
	double deadline;
	uint64_t done, errors;
	char first_error[128];
	double *conn_us; /* connect() times of successful connections (grown on demand) */
	size_t n_conn_us, cap_conn_us;
};

/* Keeps one connect() time; a sample that cannot be stored is dropped (counted as done). */
static void crr_sample(struct crr_arg *a, double us)
{
	double *p;

	if (a->n_conn_us == a->cap_conn_us) {
		p = realloc(a->conn_us, (a->cap_conn_us * 2 + 4096) * sizeof(*p));
		if (!p)
			return;
		a->conn_us = p;
		a->cap_conn_us = a->cap_conn_us * 2 + 4096;
	}
	a->conn_us[a->n_conn_us++] = us;
}

static int crr_once(struct crr_arg *a, double *conn_us)
{
	char b[2];
	int fd = socket(a->ss->ss_family, SOCK_STREAM, 0);
	int err = 0;
	double t0;

	if (fd < 0)
		return -errno;
	set_timeouts(fd);
	t0 = now_s();
	if (connect(fd, (const struct sockaddr *)a->ss, a->len)) {
		err = -errno;
		close(fd);
		return err;
	}
	*conn_us = (now_s() - t0) * 1e6;
	if (write(fd, "C", 1) != 1)
		err = -errno;
	else if (read(fd, b, 1) != 1 || b[0] != 'c')
		err = errno ? -errno : -EPROTO;
	else if (read(fd, b, 1) != 0) /* the server's FIN */
		err = errno ? -errno : -EPROTO;
	close(fd);
	return err;
}

static void *crr_thread(void *p)
{
	struct crr_arg *a = p;
	double us = 0;
	int err;

	while (!stop && now_s() < a->deadline) {
		errno = 0;
		err = crr_once(a, &us);
		if (!err) {
			a->done++;
			crr_sample(a, us);
			continue;
		}
		if (!a->errors++)
			snprintf(a->first_error, sizeof(a->first_error), "%s", strerror(-err));
	}
	return NULL;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* Nearest-rank percentile @q (0..1] of @n sorted values; 0 when there are none. */
static double pct(const double *v, size_t n, double q)
{
	size_t k = (size_t)(q * n);

	if (!n)
		return 0;
	if ((double)k < q * n)
		k++;
	if (k < 1)
		k = 1;
	return v[(k > n ? n : k) - 1];
}

static int crr(const struct sockaddr_storage *ss, socklen_t len, double secs, int parallel)
{
	struct crr_arg a[MAX_PARALLEL] = {};
	pthread_t th[MAX_PARALLEL];
	uint64_t done = 0, errors = 0;
	const char *first = "";
	double t0 = now_s(), dt, *all = NULL;
	size_t n_all = 0;
	int i;

	for (i = 0; i < parallel; i++) {
		a[i].ss = ss;
		a[i].len = len;
		a[i].deadline = t0 + secs;
		if (pthread_create(&th[i], NULL, crr_thread, &a[i])) {
			fprintf(stderr, "svc-tcpperf: pthread_create failed\n");
			return 1;
		}
	}
	for (i = 0; i < parallel; i++) {
		pthread_join(th[i], NULL);
		done += a[i].done;
		errors += a[i].errors;
		if (!*first && a[i].errors)
			first = a[i].first_error;
	}
	dt = now_s() - t0;
	for (i = 0; i < parallel; i++)
		n_all += a[i].n_conn_us;
	all = n_all ? malloc(n_all * sizeof(*all)) : NULL;
	n_all = 0;
	for (i = 0; i < parallel; i++) {
		if (all)
			memcpy(all + n_all, a[i].conn_us, a[i].n_conn_us * sizeof(*all));
		n_all += all ? a[i].n_conn_us : 0;
		free(a[i].conn_us);
	}
	if (n_all)
		qsort(all, n_all, sizeof(*all), cmp_double);
	printf("{\"mode\":\"crr\",\"parallel\":%d,\"seconds\":%.3f,\"connections\":%llu,"
	       "\"errors\":%llu,\"first_error\":\"%s\",\"per_s\":%.1f,\"connect_samples\":%zu,"
	       "\"connect_us_p50\":%.2f,\"connect_us_p99\":%.2f,\"connect_us_max\":%.2f}\n",
	       parallel, dt, (unsigned long long)done, (unsigned long long)errors, first, done / dt,
	       n_all, pct(all, n_all, 0.5), pct(all, n_all, 0.99), n_all ? all[n_all - 1] : 0.0);
	free(all);
	return done ? 0 : 1;
}

static int bulk(const struct sockaddr_storage *ss, socklen_t len, double secs)
{
	static char buf[BULK_CHUNK];
	double t0, deadline;
	uint64_t sent = 0, got_be;
	int fd = socket(ss->ss_family, SOCK_STREAM, 0);
	ssize_t n;

	if (fd < 0)
		return 1;
	set_timeouts(fd);
	memset(buf, 'x', sizeof(buf));
	if (connect(fd, (const struct sockaddr *)ss, len) || write(fd, "B", 1) != 1) {
		fprintf(stderr, "svc-tcpperf: bulk connect: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	t0 = now_s();
	deadline = t0 + secs;
	while (!stop && now_s() < deadline) {
		n = write(fd, buf, sizeof(buf));
		if (n <= 0) {
			fprintf(stderr, "svc-tcpperf: bulk send: %s\n", strerror(errno));
			close(fd);
			return 1;
		}
		sent += n;
	}
	shutdown(fd, SHUT_WR);
	n = read(fd, &got_be, sizeof(got_be));
	close(fd);
	if (n != sizeof(got_be)) {
		fprintf(stderr, "svc-tcpperf: bulk: no byte count from the server: %s\n",
			n < 0 ? strerror(errno) : "short read");
		return 1;
	}
	secs = now_s() - t0;
	printf("{\"mode\":\"bulk\",\"seconds\":%.3f,\"bytes_sent\":%llu,\"bytes_received\":%llu,"
	       "\"gbit_per_s\":%.3f}\n",
	       secs, (unsigned long long)sent, (unsigned long long)be64toh(got_be),
	       be64toh(got_be) * 8 / secs / 1e9);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: svc-tcpperf server ADDR PORT [--max-seconds S]\n"
		   "       svc-tcpperf crr ADDR PORT --seconds S [--parallel N]\n"
		   "       svc-tcpperf bulk ADDR PORT --seconds S\n");
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	double secs = 0, max_s = 600;
	int parallel = 1, i;
	socklen_t len;

	if (argc < 4 || parse_sa(argv[2], argv[3], &ss, &len)) {
		usage(stderr);
		return 2;
	}
	for (i = 4; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seconds"))
			secs = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--parallel"))
			parallel = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--max-seconds"))
			max_s = atof(argv[i + 1]);
		else
			break;
	}
	if (i != argc || parallel < 1 || parallel > MAX_PARALLEL) {
		usage(stderr);
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "server"))
		return serve(&ss, len, max_s);
	if (secs <= 0 || secs > 600) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "crr"))
		return crr(&ss, len, secs, parallel);
	if (!strcmp(argv[1], "bulk"))
		return bulk(&ss, len, secs);
	usage(stderr);
	return 2;
}
