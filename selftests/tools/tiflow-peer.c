// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* tiflow-peer: TCP echo server / checking client that report their sockets' TI-flow state (JSON).
 */
/*
 * server: for each of --count connections, in turn: accept, read the socket's
 *   TI-flow state (set when the handshake completed, before accept returns),
 *   echo every byte until the client closes its side, close. One JSON line per
 *   connection: {"role":"server","peer":..,"peer_port":..,"local_port":..,
 *   "bytes":N,"fnv":"..","tiflow":{...}}.
 * client: connect, send --bytes octets of a seeded pattern while reading the
 *   echo (poll: neither side blocks on a full buffer), close the sending side,
 *   read the rest, compare every octet, read the TI-flow state. One JSON line:
 *   {"role":"client","local_port":..,"bytes_sent":N,"bytes_echoed":M,
 *   "data_ok":bool,"fnv":"..","tiflow":{...}}; exit 0 only if the echo matched.
 * "tiflow" is svc_tiflow_sk_json() of the socket's state ("none" when the
 * socket never took part, or without --pin-dir).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "addr.h"
#include "tiflow.h"
#include "log.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define BUF_SIZE 65536

struct opts {
	const char *addr, *pin_dir, *ready, *md5, *md5_peer;
	int port, count, timeout;
	unsigned long long bytes, seed;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tiflow-peer server --listen ADDR --port PORT [--count N] [--ready-file "
		   "FILE]\n"
		   "                          [--md5 KEY --md5-peer ADDR] [common]\n"
		   "       tiflow-peer client --connect ADDR --port PORT [--bytes N] [--seed N]\n"
		   "                          [--md5 KEY] [common]\n"
		   "  common: [--pin-dir DIR] [--timeout SEC]\n"
		   "  --pin-dir DIR  read TI-flow state from the maps pinned there (else: none)\n"
		   "  --md5 KEY      TCP-MD5 signed connection (leaves no room in the SYN for the "
		   "option)\n");
}

/* ---- shared ---- */

/* sock_addr - @addr:@port as a sockaddr of the family the text names. */
static int sock_addr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	if (svc_sockaddr_parse(addr, (__u16)port, ss, len)) {
		fprintf(stderr, "tiflow-peer: %s: not an address\n", addr);
		return -1;
	}
	return 0;
}

/* sock_port - the port of a sockaddr_in / sockaddr_in6. */
static int sock_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* set_md5 - TCP-MD5 (RFC 2385) key @key for peer @peer on @fd: fills the SYN's option space. */
static int set_md5(int fd, const char *peer, const char *key)
{
	struct tcp_md5sig m = { 0 };
	socklen_t len;

	if (sock_addr(peer, 0, &m.tcpm_addr, &len))
		return -1;
	if (strlen(key) > TCP_MD5SIG_MAXKEYLEN) {
		fprintf(stderr, "tiflow-peer: md5 key longer than %d\n", TCP_MD5SIG_MAXKEYLEN);
		return -1;
	}
	m.tcpm_keylen = strlen(key);
	memcpy(m.tcpm_key, key, m.tcpm_keylen);
	if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &m, sizeof(m))) {
		fprintf(stderr, "tiflow-peer: setsockopt TCP_MD5SIG for %s: %s\n", peer,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* state_json - the socket's TI-flow state; NULL after printing why it could not be read. */
static struct json_object *state_json(int map_fd, int fd)
{
	struct svc_tiflow_sk st = { 0 };
	int err;

	if (map_fd >= 0) {
		err = svc_tiflow_sock_state(map_fd, fd, &st);
		if (err && err != -ENOENT)
			return NULL; /* logged by libsvc */
	}
	return svc_tiflow_sk_json(&st);
}

static void print_json(struct json_object *j)
{
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(j);
}

static void add_fnv(struct json_object *j, unsigned long long fnv)
{
	char h[17];

	snprintf(h, sizeof(h), "%016llx", fnv);
	json_object_object_add(j, "fnv", json_object_new_string(h));
}

/* ---- server ---- */

static int make_listener(const struct opts *o)
{
	struct timeval tv = { .tv_sec = o->timeout };
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (sock_addr(o->addr, o->port, &ss, &len))
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		/* SO_RCVTIMEO: accept gives up after --timeout, a test never hangs. */
		fprintf(stderr, "tiflow-peer: listen on %s port %d: %s\n", o->addr, o->port,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (o->md5 && set_md5(fd, o->md5_peer, o->md5)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* echo - echo until EOF; returns the octets received or -1. */
static long long echo(int fd, unsigned long long *fnv)
{
	char buf[BUF_SIZE];
	long long total = 0;
	ssize_t n, w, off;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "tiflow-peer: read: %s\n", strerror(errno));
			return -1;
		}
		if (!n)
			return total;
		for (off = 0; off < n; off++)
			*fnv = (*fnv ^ (unsigned char)buf[off]) * FNV_PRIME;
		total += n;
		for (off = 0; off < n; off += w) {
			w = write(fd, buf + off, n - off);
			if (w < 0 && errno == EINTR) {
				w = 0;
			} else if (w < 0) {
				fprintf(stderr, "tiflow-peer: write: %s\n", strerror(errno));
				return -1;
			}
		}
	}
}

/* serve_one - accept one connection, echo it, print its line. */
static int serve_one(int lfd, int map_fd, const struct opts *o)
{
	struct timeval tv = { .tv_sec = o->timeout };
	unsigned long long fnv = FNV_OFFSET;
	char host[INET6_ADDRSTRLEN] = "?";
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	struct json_object *j, *st;
	long long bytes;
	int fd;

	fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "tiflow-peer: accept: %s\n", strerror(errno));
		return -1;
	}
	st = state_json(map_fd, fd);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		fprintf(stderr, "tiflow-peer: SO_RCVTIMEO: %s\n", strerror(errno));
	inet_ntop(peer.ss_family,
		  peer.ss_family == AF_INET ? (void *)&((struct sockaddr_in *)&peer)->sin_addr
					    : (void *)&((struct sockaddr_in6 *)&peer)->sin6_addr,
		  host, sizeof(host));
	bytes = echo(fd, &fnv);
	close(fd);
	j = json_object_new_object();
	if (!j || !st) {
		json_object_put(j);
		json_object_put(st);
		return -1;
	}
	json_object_object_add(j, "role", json_object_new_string("server"));
	json_object_object_add(j, "peer", json_object_new_string(host));
	json_object_object_add(j, "peer_port", json_object_new_int(sock_port(&peer)));
	json_object_object_add(j, "local_port", json_object_new_int(o->port));
	json_object_object_add(j, "bytes", json_object_new_int64(bytes));
	add_fnv(j, fnv);
	json_object_object_add(j, "tiflow", st);
	print_json(j);
	return bytes < 0 ? -1 : 0;
}

static int run_server(const struct opts *o, int map_fd)
{
	int lfd, fd, i, rc = 0;

	lfd = make_listener(o);
	if (lfd < 0)
		return -1;
	if (o->ready) {
		fd = open(o->ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "tiflow-peer: create %s: %s\n", o->ready, strerror(errno));
			close(lfd);
			return -1;
		}
		close(fd);
	}
	for (i = 0; i < o->count; i++)
		if (serve_one(lfd, map_fd, o))
			rc = -1;
	close(lfd);
	return rc;
}

/* ---- client ---- */

/* Octet @i of the pattern for @seed (splitmix64 of the 8-octet block index). */
static unsigned char pattern(unsigned long long seed, unsigned long long i)
{
	unsigned long long z = seed + (i / 8 + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z >> (8 * (i % 8));
}

static int connect_to(const struct opts *o)
{
	struct timeval tv = { .tv_sec = o->timeout };
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (sock_addr(o->addr, o->port, &ss, &len))
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "tiflow-peer: socket: %s\n", strerror(errno));
		return -1;
	}
	if (o->md5 && set_md5(fd, o->addr, o->md5)) {
		close(fd);
		return -1;
	}
	/* SO_SNDTIMEO bounds a blocking connect(). */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&ss, len)) {
		fprintf(stderr, "tiflow-peer: connect to %s port %d: %s\n", o->addr, o->port,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

struct xfer {
	unsigned long long total, sent, rcvd, seed, fnv;
	bool ok;
};

/* xfer_send - send the next part of the pattern (non-blocking). */
static int xfer_send(int fd, struct xfer *x, unsigned char *buf)
{
	size_t want = x->total - x->sent < BUF_SIZE ? x->total - x->sent : BUF_SIZE;
	ssize_t n;
	size_t i;

	for (i = 0; i < want; i++)
		buf[i] = pattern(x->seed, x->sent + i);
	n = send(fd, buf, want, MSG_NOSIGNAL);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		fprintf(stderr, "tiflow-peer: send: %s\n", strerror(errno));
		return -1;
	}
	if (n > 0)
		x->sent += n;
	return 0;
}

/* xfer_recv - read echoed octets and compare them; 1 at EOF. */
static int xfer_recv(int fd, struct xfer *x, unsigned char *buf)
{
	ssize_t n, i;

	n = recv(fd, buf, BUF_SIZE, 0);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		fprintf(stderr, "tiflow-peer: recv: %s\n", strerror(errno));
		return -1;
	}
	if (n == 0) {
		if (x->rcvd < x->total)
			fprintf(stderr, "tiflow-peer: server closed after %llu of %llu\n", x->rcvd,
				x->total);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (x->rcvd + i >= x->total || buf[i] != pattern(x->seed, x->rcvd + i))
			x->ok = false;
		x->fnv = (x->fnv ^ buf[i]) * FNV_PRIME;
	}
	if (n > 0)
		x->rcvd += n;
	return 0;
}

/* exchange - send the pattern and check the echo, until all came back or the deadline. */
static int exchange(int fd, struct xfer *x, int timeout)
{
	long long deadline = mono_ms() + timeout * 1000LL;
	unsigned char buf[BUF_SIZE];
	bool shut = false;
	int r;

	if (fcntl(fd, F_SETFL, O_NONBLOCK)) {
		fprintf(stderr, "tiflow-peer: O_NONBLOCK: %s\n", strerror(errno));
		return -1;
	}
	while (x->rcvd < x->total || !shut) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - mono_ms();

		if (x->sent == x->total && !shut) {
			shutdown(fd, SHUT_WR); /* the server's cue to finish */
			shut = true;
			continue;
		}
		if (x->sent < x->total)
			p.events |= POLLOUT;
		if (left <= 0) {
			fprintf(stderr, "tiflow-peer: timeout: sent %llu, echoed %llu of %llu\n",
				x->sent, x->rcvd, x->total);
			return -1;
		}
		if (poll(&p, 1, left) < 0 && errno != EINTR) {
			fprintf(stderr, "tiflow-peer: poll: %s\n", strerror(errno));
			return -1;
		}
		if ((p.revents & POLLOUT) && x->sent < x->total && xfer_send(fd, x, buf))
			return -1;
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			r = xfer_recv(fd, x, buf);
			if (r < 0)
				return -1;
			if (r > 0)
				break;
		}
	}
	return 0;
}

static int run_client(const struct opts *o, int map_fd)
{
	struct xfer x = { .total = o->bytes, .seed = o->seed, .fnv = FNV_OFFSET, .ok = true };
	struct sockaddr_storage local = { 0 };
	socklen_t llen = sizeof(local);
	struct json_object *j, *st;
	int fd, err;

	fd = connect_to(o);
	if (fd < 0)
		return -1;
	err = exchange(fd, &x, o->timeout);
	if (x.rcvd != x.total)
		x.ok = false;
	st = state_json(map_fd, fd); /* after the exchange: the final ACK went out */
	if (getsockname(fd, (struct sockaddr *)&local, &llen))
		fprintf(stderr, "tiflow-peer: getsockname: %s\n", strerror(errno));
	close(fd);
	j = json_object_new_object();
	if (!j || !st) {
		json_object_put(j);
		json_object_put(st);
		return -1;
	}
	json_object_object_add(j, "role", json_object_new_string("client"));
	json_object_object_add(j, "local_port", json_object_new_int(sock_port(&local)));
	json_object_object_add(j, "bytes_sent", json_object_new_int64(x.sent));
	json_object_object_add(j, "bytes_echoed", json_object_new_int64(x.rcvd));
	json_object_object_add(j, "data_ok", json_object_new_boolean(x.ok && !err));
	add_fnv(j, x.fnv);
	json_object_object_add(j, "tiflow", st);
	print_json(j);
	return x.ok && !err ? 0 : -1;
}

/* ---- main ---- */

static int parse_args(int argc, char **argv, bool server, struct opts *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "pin-dir", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "md5", required_argument, NULL, 'm' },
		{ "md5-peer", required_argument, NULL, 'P' },
		{ 0 },
	};
	int c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if ((server && strchr("cbs", c)) || (!server && strchr("lnrP", c)))
			return -1; /* an option of the other mode */
		switch (c) {
		case 'l':
		case 'c':
			o->addr = optarg;
			break;
		case 'p':
			o->port = atoi(optarg);
			break;
		case 'd':
			o->pin_dir = optarg;
			break;
		case 'n':
			o->count = atoi(optarg);
			break;
		case 'r':
			o->ready = optarg;
			break;
		case 'b':
			o->bytes = strtoull(optarg, NULL, 0);
			break;
		case 's':
			o->seed = strtoull(optarg, NULL, 0);
			break;
		case 't':
			o->timeout = atoi(optarg);
			break;
		case 'm':
			o->md5 = optarg;
			break;
		case 'P':
			o->md5_peer = optarg;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || !o->addr || o->port <= 0 || o->port > 65535 || o->count <= 0 ||
	    o->timeout <= 0 || (server && !o->md5 != !o->md5_peer))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .count = 1, .timeout = 20, .bytes = 100000, .seed = 1 };
	int map_fd = -1, err;
	bool server;

	if (argc < 2 || (strcmp(argv[1], "server") && strcmp(argv[1], "client"))) {
		usage(argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	server = !strcmp(argv[1], "server");
	if (parse_args(argc, argv, server, &o)) {
		usage(stderr);
		return 2;
	}
	svc_log_init(server ? "tiflow-peer server" : "tiflow-peer client", SVC_LOG_INFO);
	if (o.pin_dir) {
		map_fd = svc_tiflow_sk_map_open(o.pin_dir);
		if (map_fd < 0)
			return 1;
	}
	err = server ? run_server(&o, map_fd) : run_client(&o, map_fd);
	if (map_fd >= 0)
		close(map_fd);
	return err ? 1 : 0;
}
