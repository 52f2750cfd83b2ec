// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* tiflow-server: TCP echo server that reports each accepted socket's TI-flow state (JSON). */
/*
 * For each of --count connections, in turn: accept, read the socket's TI-flow
 * state (set when the handshake completed, before accept returns), echo every
 * byte until the client closes its side, close. Prints one JSON line per
 * connection: {"role":"server","peer":..,"peer_port":..,"local_port":..,
 * "bytes":N,"fnv":"..","tiflow":{...}} and exits 0 once all were served.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "tiflow.h"
#include "log.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static void usage(FILE *f)
{
	fprintf(f, "usage: tiflow-server --listen ADDR --port PORT [--pin-dir DIR] [--count N]\n"
		   "                     [--ready-file FILE] [--timeout SEC]\n"
		   "                     [--md5 KEY --md5-peer ADDR]\n"
		   "  --pin-dir DIR  read TI-flow state from the maps pinned there (else: none)\n"
		   "  --md5 KEY      accept TCP-MD5 signed connections from --md5-peer\n");
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

/* tiflow_state_json - the socket's TI-flow state; "none" when it never took part. */
static struct json_object *state_json(int map_fd, int fd)
{
	struct svc_tiflow_sk st = { 0 };
	int err;

	if (map_fd >= 0) {
		err = svc_tiflow_sock_state(map_fd, fd, &st);
		if (err && err != -ENOENT) {
			struct json_object *j = json_object_new_object();

			if (j)
				json_object_object_add(j, "error",
						       json_object_new_string(strerror(-err)));
			return j;
		}
	}
	return svc_tiflow_sk_json(&st);
}

static int make_listener(const char *addr, int port)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr *sa;
	socklen_t len;
	int fd, one = 1;

	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1) {
		sa = (struct sockaddr *)&s4;
		len = sizeof(s4);
	} else if (inet_pton(AF_INET6, addr, &s6.sin6_addr) == 1) {
		sa = (struct sockaddr *)&s6;
		len = sizeof(s6);
	} else {
		fprintf(stderr, "tiflow-server: --listen %s: not an address\n", addr);
		return -EINVAL;
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, sa, len) || listen(fd, 64)) {
		fprintf(stderr, "tiflow-server: listen on %s port %d: %s\n", addr, port,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* serve - echo until EOF; returns bytes received or -1. */
static long long serve(int fd, unsigned long long *fnv)
{
	char buf[65536];
	long long total = 0;
	ssize_t n, w, off;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "tiflow-server: read: %s\n", strerror(errno));
			return -1;
		}
		if (!n)
			return total;
		for (off = 0; off < n; off++)
			*fnv = (*fnv ^ (unsigned char)buf[off]) * FNV_PRIME;
		total += n;
		for (off = 0; off < n; off += w) {
			w = write(fd, buf + off, n - off);
			if (w < 0 && errno == EINTR)
				w = 0;
			else if (w < 0) {
				fprintf(stderr, "tiflow-server: write: %s\n", strerror(errno));
				return -1;
			}
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "pin-dir", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'c' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "md5", required_argument, NULL, 'm' },
		{ "md5-peer", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *addr = NULL, *pin_dir = NULL, *ready = NULL, *md5 = NULL, *md5_peer = NULL;
	int port = 0, count = 1, timeout = 20, c, lfd, map_fd = -1, i, fd, rc = 0;
	struct timeval tv;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'd':
			pin_dir = optarg;
			break;
		case 'c':
			count = atoi(optarg);
			break;
		case 'r':
			ready = optarg;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'm':
			md5 = optarg;
			break;
		case 'P':
			md5_peer = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!addr || port <= 0 || port > 65535 || count <= 0 || timeout <= 0 || !md5 != !md5_peer) {
		usage(stderr);
		return 2;
	}
	svc_log_init("tiflow-server", SVC_LOG_INFO);
	if (pin_dir) {
		map_fd = svc_tiflow_sk_map_open(pin_dir);
		if (map_fd < 0)
			return 1;
	}
	lfd = make_listener(addr, port);
	if (lfd < 0 || (md5 && set_md5(lfd, md5_peer, md5)))
		return 1;
	/* Never hang a test: accept and read give up after --timeout seconds. */
	tv = (struct timeval){ .tv_sec = timeout };
	if (setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		fprintf(stderr, "tiflow-server: SO_RCVTIMEO: %s\n", strerror(errno));
		return 1;
	}
	if (ready) {
		fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "tiflow-server: create %s: %s\n", ready, strerror(errno));
			return 1;
		}
		close(fd);
	}
	for (i = 0; i < count; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		char host[INET6_ADDRSTRLEN] = "?";
		unsigned long long fnv = FNV_OFFSET;
		struct json_object *j, *st;
		long long bytes;
		int pport = 0;

		fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "tiflow-server: accept: %s\n", strerror(errno));
			return 1;
		}
		st = state_json(map_fd, fd);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (peer.ss_family == AF_INET) {
			struct sockaddr_in *p4 = (struct sockaddr_in *)&peer;

			inet_ntop(AF_INET, &p4->sin_addr, host, sizeof(host));
			pport = ntohs(p4->sin_port);
		} else {
			struct sockaddr_in6 *p6 = (struct sockaddr_in6 *)&peer;

			inet_ntop(AF_INET6, &p6->sin6_addr, host, sizeof(host));
			pport = ntohs(p6->sin6_port);
		}
		bytes = serve(fd, &fnv);
		close(fd);
		if (bytes < 0)
			rc = 1;
		j = json_object_new_object();
		if (!j || !st) {
			fprintf(stderr, "tiflow-server: out of memory\n");
			return 1;
		}
		json_object_object_add(j, "role", json_object_new_string("server"));
		json_object_object_add(j, "peer", json_object_new_string(host));
		json_object_object_add(j, "peer_port", json_object_new_int(pport));
		json_object_object_add(j, "local_port", json_object_new_int(port));
		json_object_object_add(j, "bytes", json_object_new_int64(bytes));
		{
			char h[17];

			snprintf(h, sizeof(h), "%016llx", fnv);
			json_object_object_add(j, "fnv", json_object_new_string(h));
		}
		json_object_object_add(j, "tiflow", st);
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
		fflush(stdout);
		json_object_put(j);
	}
	close(lfd);
	if (map_fd >= 0)
		close(map_fd);
	return rc;
}
