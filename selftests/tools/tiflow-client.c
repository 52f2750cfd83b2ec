// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* tiflow-client: sends a pattern to an echo server, checks the echo, reports its TI-flow state. */
/*
 * Connects, sends --bytes octets of a seeded pseudo-random pattern while
 * reading the echo (poll, so neither side blocks on a full buffer), closes
 * its sending side, reads the rest and compares every octet. Prints one JSON
 * line: {"role":"client","local_port":..,"bytes_sent":N,"bytes_echoed":M,
 * "data_ok":bool,"fnv":"..","tiflow":{...}}; the TI-flow state is read after
 * the exchange. Exit 0 only if the echo matched exactly.
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
#include "tiflow.h"
#include "log.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static void usage(FILE *f)
{
	fprintf(f, "usage: tiflow-client --connect ADDR --port PORT [--pin-dir DIR] [--bytes N]\n"
		   "                     [--seed N] [--timeout SEC] [--md5 KEY]\n"
		   "  --md5 KEY  sign with TCP-MD5 (leaves no room in the SYN for the option)\n");
}

/* set_md5 - TCP-MD5 (RFC 2385) key @key for peer @peer on @fd: fills the SYN's option space. */
static int set_md5(int fd, const char *peer, const char *key)
{
	struct tcp_md5sig m = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&m.tcpm_addr;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&m.tcpm_addr;

	if (inet_pton(AF_INET, peer, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
	} else if (inet_pton(AF_INET6, peer, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
	} else {
		fprintf(stderr, "md5 peer %s: not an address\n", peer);
		return -1;
	}
	if (strlen(key) > TCP_MD5SIG_MAXKEYLEN) {
		fprintf(stderr, "md5 key longer than %d\n", TCP_MD5SIG_MAXKEYLEN);
		return -1;
	}
	m.tcpm_keylen = strlen(key);
	memcpy(m.tcpm_key, key, m.tcpm_keylen);
	if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &m, sizeof(m))) {
		fprintf(stderr, "setsockopt TCP_MD5SIG for %s: %s\n", peer, strerror(errno));
		return -1;
	}
	return 0;
}

/* Octet @i of the pattern for @seed (splitmix64 of the 8-octet block index). */
static unsigned char pattern(unsigned long long seed, unsigned long long i)
{
	unsigned long long z = seed + (i / 8 + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z >> (8 * (i % 8));
}

static int connect_to(const char *addr, int port, int timeout, const char *md5)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = timeout };
	struct sockaddr *sa;
	socklen_t len;
	int fd;

	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1) {
		sa = (struct sockaddr *)&s4;
		len = sizeof(s4);
	} else if (inet_pton(AF_INET6, addr, &s6.sin6_addr) == 1) {
		sa = (struct sockaddr *)&s6;
		len = sizeof(s6);
	} else {
		fprintf(stderr, "tiflow-client: --connect %s: not an address\n", addr);
		return -1;
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "tiflow-client: socket: %s\n", strerror(errno));
		return -1;
	}
	if (md5 && set_md5(fd, addr, md5)) {
		close(fd);
		return -1;
	}
	/* SO_SNDTIMEO bounds a blocking connect(). */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) || connect(fd, sa, len)) {
		fprintf(stderr, "tiflow-client: connect to %s port %d: %s\n", addr, port,
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

/* exchange - send the pattern and check the echo, until all came back or the deadline. */
static int exchange(int fd, struct xfer *x, int timeout)
{
	long long deadline = mono_ms() + timeout * 1000LL;
	unsigned char buf[65536];
	bool shut = false;
	ssize_t n, i;

	if (fcntl(fd, F_SETFL, O_NONBLOCK)) {
		fprintf(stderr, "tiflow-client: O_NONBLOCK: %s\n", strerror(errno));
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
			fprintf(stderr, "tiflow-client: timeout: sent %llu, echoed %llu of %llu\n",
				x->sent, x->rcvd, x->total);
			return -1;
		}
		if (poll(&p, 1, left) < 0 && errno != EINTR) {
			fprintf(stderr, "tiflow-client: poll: %s\n", strerror(errno));
			return -1;
		}
		if ((p.revents & POLLOUT) && x->sent < x->total) {
			size_t want =
				x->total - x->sent < sizeof(buf) ? x->total - x->sent : sizeof(buf);

			for (i = 0; i < (ssize_t)want; i++)
				buf[i] = pattern(x->seed, x->sent + i);
			n = send(fd, buf, want, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "tiflow-client: send: %s\n", strerror(errno));
				return -1;
			}
			if (n > 0)
				x->sent += n;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "tiflow-client: recv: %s\n", strerror(errno));
				return -1;
			}
			if (n == 0) {
				if (x->rcvd < x->total)
					fprintf(stderr,
						"tiflow-client: server closed after %llu of %llu\n",
						x->rcvd, x->total);
				break;
			}
			for (i = 0; i < n; i++) {
				if (x->rcvd + i >= x->total ||
				    buf[i] != pattern(x->seed, x->rcvd + i))
					x->ok = false;
				x->fnv = (x->fnv ^ buf[i]) * FNV_PRIME;
			}
			if (n > 0)
				x->rcvd += n;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "pin-dir", required_argument, NULL, 'd' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "md5", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct xfer x = { .total = 100000, .seed = 1, .fnv = FNV_OFFSET, .ok = true };
	const char *addr = NULL, *pin_dir = NULL, *md5 = NULL;
	int port = 0, timeout = 20, c, fd, map_fd = -1, err;
	struct svc_tiflow_sk st = { 0 };
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	struct json_object *j, *sj;
	char h[17];

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'd':
			pin_dir = optarg;
			break;
		case 'b':
			x.total = strtoull(optarg, NULL, 0);
			break;
		case 's':
			x.seed = strtoull(optarg, NULL, 0);
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'm':
			md5 = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!addr || port <= 0 || port > 65535 || timeout <= 0) {
		usage(stderr);
		return 2;
	}
	svc_log_init("tiflow-client", SVC_LOG_INFO);
	if (pin_dir) {
		map_fd = svc_tiflow_sk_map_open(pin_dir);
		if (map_fd < 0)
			return 1;
	}
	fd = connect_to(addr, port, timeout, md5);
	if (fd < 0)
		return 1;
	err = exchange(fd, &x, timeout);
	if (x.rcvd != x.total)
		x.ok = false;
	if (map_fd >= 0) {
		int e = svc_tiflow_sock_state(map_fd, fd, &st);

		if (e && e != -ENOENT)
			err = -1;
	}
	if (getsockname(fd, (struct sockaddr *)&local, &llen))
		memset(&local, 0, sizeof(local));
	close(fd);
	j = json_object_new_object();
	sj = svc_tiflow_sk_json(&st);
	if (!j || !sj) {
		fprintf(stderr, "tiflow-client: out of memory\n");
		return 1;
	}
	json_object_object_add(j, "role", json_object_new_string("client"));
	json_object_object_add(
		j, "local_port",
		json_object_new_int(ntohs(local.ss_family == AF_INET
						  ? ((struct sockaddr_in *)&local)->sin_port
						  : ((struct sockaddr_in6 *)&local)->sin6_port)));
	json_object_object_add(j, "bytes_sent", json_object_new_int64(x.sent));
	json_object_object_add(j, "bytes_echoed", json_object_new_int64(x.rcvd));
	json_object_object_add(j, "data_ok", json_object_new_boolean(x.ok && !err));
	snprintf(h, sizeof(h), "%016llx", x.fnv);
	json_object_object_add(j, "fnv", json_object_new_string(h));
	json_object_object_add(j, "tiflow", sj);
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
	if (map_fd >= 0)
		close(map_fd);
	return x.ok && !err ? 0 : 1;
}
