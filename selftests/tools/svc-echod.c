// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svc-echod: a service instance for the end-to-end tests and the demo (TCP/UDP echo, HTTP). */
/*
 * Protocols (what svc-loadgen expects):
 *   TCP echo: on accept the server sends the greeting "svc-echod NAME\n", then
 *             echoes every byte it receives, in order, until the client closes.
 *   UDP echo: each datagram is answered with one datagram "svc-echod NAME\n" +
 *             the received payload, sent from the address it was received on
 *             (the VIP: replies go straight to the client, direct server return).
 *   HTTP:     (--http, TCP) an HTTP/1.0 request is answered with 200 and the
 *             body "instance NAME\n", then the connection is closed.
 * One thread, epoll, non-blocking sockets: many concurrent connections.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "addr.h"

#define MAX_LISTEN 8
#define OUT_CAP (64 * 1024) /* per-connection bytes waiting to be echoed */
#define HTTP_REQ_MAX 8192   /* longest HTTP request head accepted */
#define UDP_MAX 65535
#define NAME_MAX_LEN 64

/* What the epoll data pointer refers to. */
enum ep_kind { EP_TCP_LISTEN, EP_UDP, EP_CONN };

struct ep_item {
	enum ep_kind kind;
	int fd;
	int family; /* listeners: AF_INET or AF_INET6 */
};

/* One accepted TCP connection. */
struct conn {
	struct ep_item ep;
	char *out;	/* bytes to send: greeting, echo, or HTTP response */
	size_t out_len; /* valid bytes in out */
	size_t out_off; /* bytes of out already sent */
	char *req;	/* HTTP: request head received so far */
	size_t req_len;
	bool rd_closed;		  /* peer closed its side, or HTTP request complete */
	bool want_out;		  /* registered for EPOLLOUT */
	bool want_in;		  /* registered for EPOLLIN */
	struct conn *prev, *next; /* all open connections, freed at exit */
};

static volatile sig_atomic_t stop;
static struct ep_item *listeners[2 * MAX_LISTEN]; /* freed at exit */
static int n_listeners;
static struct conn *conns; /* open connections */
static const char *name;
static bool http_mode;
static bool verbose;
static int epfd = -1;
static unsigned long n_conns, n_udp, n_http, n_errors;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: svc-echod --name NAME [--port PORT] [--listen ADDR]... [--tcp] [--udp]\n"
		   "                 [--http] [--ready-file FILE] [-v]\n"
		   "  --name NAME        instance name sent in every answer\n"
		   "  --port PORT        port to listen on (default 8080)\n"
		   "  --listen ADDR      address to bind (repeatable; default :: dual-stack)\n"
		   "  --tcp, --udp       protocols to serve (default tcp)\n"
		   "  --http             TCP speaks HTTP/1.0: body \"instance NAME\\n\"\n"
		   "  --ready-file FILE  created once every socket listens\n");
}

static int ep_add(struct ep_item *it, unsigned int events)
{
	struct epoll_event ev = { .events = events, .data.ptr = it };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, it->fd, &ev) < 0)
		return -errno;
	return 0;
}

/* open_listener - a bound socket of @type on @addr:@port, registered with epoll. */
static int open_listener(const char *addr, unsigned short port, int type)
{
	const char *pname = type == SOCK_STREAM ? "tcp" : "udp";
	struct sockaddr_storage ss;
	struct ep_item *it;
	socklen_t len;
	int fd, one = 1, zero = 0, err;

	if (svc_sockaddr_parse(addr, port, &ss, &len)) {
		fprintf(stderr, "svc-echod: --listen %s: not an IPv4 or IPv6 address\n", addr);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "svc-echod: socket %s %s: %s\n", pname, addr, strerror(errno));
		return err;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (ss.ss_family == AF_INET6) {
		/* "::" serves IPv4 too (v4-mapped); a specific IPv6 address only itself. */
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
			goto fail;
		if (type == SOCK_DGRAM &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
			goto fail;
	} else if (type == SOCK_DGRAM &&
		   setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0) {
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 1024) < 0)
		goto fail;
	it = calloc(1, sizeof(*it));
	if (!it) {
		close(fd);
		return -ENOMEM;
	}
	it->kind = type == SOCK_STREAM ? EP_TCP_LISTEN : EP_UDP;
	it->fd = fd;
	it->family = ss.ss_family;
	err = ep_add(it, EPOLLIN);
	if (err) {
		fprintf(stderr, "svc-echod: epoll add %s %s: %s\n", pname, addr, strerror(-err));
		free(it);
		close(fd);
		return err;
	}
	listeners[n_listeners++] = it;
	return 0;
fail:
	err = -errno;
	fprintf(stderr, "svc-echod: %s %s port %u: %s\n", pname, addr, port, strerror(errno));
	close(fd);
	return err;
}

static void conn_free(struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->ep.fd, NULL);
	close(c->ep.fd);
	free(c->out);
	free(c->req);
	free(c);
}

/* conn_update_events - read while there is room to buffer, write while there is output. */
static int conn_update_events(struct conn *c)
{
	bool want_in = !c->rd_closed && c->out_len < OUT_CAP;
	bool want_out = c->out_off < c->out_len;
	struct epoll_event ev = { .data.ptr = c };

	if (want_in == c->want_in && want_out == c->want_out)
		return 0;
	ev.events = (want_in ? EPOLLIN : 0) | (want_out ? EPOLLOUT : 0);
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->ep.fd, &ev) < 0)
		return -errno;
	c->want_in = want_in;
	c->want_out = want_out;
	return 0;
}

static int out_append(struct conn *c, const void *buf, size_t len)
{
	if (c->out_off == c->out_len) {
		c->out_off = 0;
		c->out_len = 0;
	}
	if (c->out_len + len > OUT_CAP) {
		/* compact: drop what was already sent */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > OUT_CAP)
		return -ENOBUFS;
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	return 0;
}

static void do_accept(struct ep_item *l)
{
	char greet[NAME_MAX_LEN + 16];
	struct conn *c;
	int fd, n, err;

	for (;;) {
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				fprintf(stderr, "svc-echod: accept: %s\n", strerror(errno));
				n_errors++;
			}
			return;
		}
		c = calloc(1, sizeof(*c));
		if (c)
			c->out = malloc(OUT_CAP);
		if (!c || !c->out) {
			fprintf(stderr, "svc-echod: accept: out of memory\n");
			if (c)
				free(c);
			close(fd);
			n_errors++;
			return;
		}
		c->ep.kind = EP_CONN;
		c->ep.fd = fd;
		n_conns++;
		if (!http_mode) {
			n = snprintf(greet, sizeof(greet), "svc-echod %s\n", name);
			out_append(c, greet, n);
		}
		c->want_in = true;
		c->want_out = c->out_len > 0;
		err = ep_add(&c->ep, EPOLLIN | (c->want_out ? EPOLLOUT : 0));
		if (err) {
			fprintf(stderr, "svc-echod: epoll add connection: %s\n", strerror(-err));
			close(fd);
			free(c->out);
			free(c);
			n_errors++;
			continue;
		}
		c->next = conns;
		if (conns)
			conns->prev = c;
		conns = c;
	}
}

/* http_respond - a complete or invalid request head in c->req: queue the answer. */
static void http_respond(struct conn *c, bool valid)
{
	char body[NAME_MAX_LEN + 16], head[256];
	int blen, hlen;

	blen = snprintf(body, sizeof(body), "instance %s\n", name);
	if (valid)
		hlen = snprintf(
			head, sizeof(head),
			"HTTP/1.0 200 OK\r\nServer: svc-echod\r\nContent-Type: text/plain\r\n"
			"Content-Length: %d\r\nConnection: close\r\n\r\n",
			blen);
	else
		hlen = snprintf(head, sizeof(head),
				"HTTP/1.0 400 Bad Request\r\nServer: svc-echod\r\n"
				"Content-Length: 0\r\nConnection: close\r\n\r\n");
	out_append(c, head, hlen);
	/* HEAD gets no body */
	if (valid && strncmp(c->req, "HEAD ", 5) != 0)
		out_append(c, body, blen);
	c->rd_closed = true;
	n_http++;
}

/* http_input - accumulate the request head; answer once it is complete. */
static void http_input(struct conn *c, const char *buf, size_t len)
{
	char *eol;

	if (!c->req) {
		c->req = malloc(HTTP_REQ_MAX + 1);
		if (!c->req) {
			c->rd_closed = true;
			return;
		}
	}
	if (len > HTTP_REQ_MAX - c->req_len) {
		c->req[c->req_len] = '\0';
		http_respond(c, false);
		return;
	}
	memcpy(c->req + c->req_len, buf, len);
	c->req_len += len;
	c->req[c->req_len] = '\0';
	if (!strstr(c->req, "\r\n\r\n") && !strstr(c->req, "\n\n"))
		return;
	eol = strchr(c->req, '\n');
	*eol = '\0';
	http_respond(c, strstr(c->req, " HTTP/1.") != NULL);
}

/* conn_io - returns false when the connection is finished and was freed. */
static bool conn_io(struct conn *c, unsigned int events)
{
	char buf[16384];
	size_t room;
	ssize_t n;

	if ((events & EPOLLIN) && !c->rd_closed) {
		room = OUT_CAP - (c->out_len - c->out_off);
		if (room > sizeof(buf))
			room = sizeof(buf);
		n = room ? recv(c->ep.fd, buf, room, 0) : -1;
		if (n > 0) {
			if (http_mode)
				http_input(c, buf, n);
			else if (out_append(c, buf, n))
				goto drop;
		} else if (n == 0) {
			c->rd_closed = true;
		} else if (room && errno != EAGAIN && errno != EINTR) {
			if (verbose)
				fprintf(stderr, "svc-echod: recv: %s\n", strerror(errno));
			goto drop;
		}
	}
	if ((events & (EPOLLOUT | EPOLLIN)) && c->out_off < c->out_len) {
		n = send(c->ep.fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			if (verbose)
				fprintf(stderr, "svc-echod: send: %s\n", strerror(errno));
			goto drop;
		}
	}
	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
		goto drop;
	if (c->rd_closed && c->out_off == c->out_len) {
		/* everything echoed: a clean close (FIN, not RST) */
		shutdown(c->ep.fd, SHUT_WR);
		conn_free(c);
		return false;
	}
	if (conn_update_events(c))
		goto drop;
	return true;
drop:
	n_errors++;
	conn_free(c);
	return false;
}

/*
 * udp_reply_ctl - control message that makes the reply leave from the address
 * the request was sent to (the VIP), whatever address the socket is bound to.
 */
static size_t udp_reply_ctl(struct msghdr *rx, int family, char *ctl, size_t cap)
{
	struct msghdr tx = { .msg_control = ctl, .msg_controllen = cap };
	struct cmsghdr *cm, *out;

	memset(ctl, 0, cap);
	for (cm = CMSG_FIRSTHDR(rx); cm; cm = CMSG_NXTHDR(rx, cm)) {
		out = CMSG_FIRSTHDR(&tx);
		if (family == AF_INET6 && cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			pi.ipi6_ifindex = 0; /* the routing table picks the interface */
			out->cmsg_level = IPPROTO_IPV6;
			out->cmsg_type = IPV6_PKTINFO;
			out->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(out), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (family == AF_INET && cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr;
			pi.ipi_ifindex = 0;
			out->cmsg_level = IPPROTO_IP;
			out->cmsg_type = IP_PKTINFO;
			out->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(out), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

/* udp_io - answer every queued datagram from the address it was sent to. */
static void udp_io(struct ep_item *u)
{
	static char in[UDP_MAX], out[UDP_MAX + NAME_MAX_LEN + 16];
	char rxctl[256], txctl[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct sockaddr_storage peer;
	struct msghdr mh;
	struct iovec iov;
	size_t hlen, plen;
	ssize_t n;

	for (;;) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = in;
		iov.iov_len = sizeof(in);
		mh.msg_name = &peer;
		mh.msg_namelen = sizeof(peer);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = rxctl;
		mh.msg_controllen = sizeof(rxctl);
		n = recvmsg(u->fd, &mh, 0);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "svc-echod: udp recvmsg: %s\n", strerror(errno));
				n_errors++;
			}
			return;
		}
		hlen = snprintf(out, NAME_MAX_LEN + 16, "svc-echod %s\n", name);
		plen = (size_t)n > UDP_MAX - hlen ? UDP_MAX - hlen : (size_t)n;
		memcpy(out + hlen, in, plen);

		iov.iov_base = out;
		iov.iov_len = hlen + plen;
		mh.msg_controllen = udp_reply_ctl(&mh, u->family, txctl, sizeof(txctl));
		mh.msg_control = mh.msg_controllen ? txctl : NULL;
		if (sendmsg(u->fd, &mh, MSG_DONTWAIT) < 0) {
			fprintf(stderr, "svc-echod: udp sendmsg: %s\n", strerror(errno));
			n_errors++;
			continue;
		}
		n_udp++;
	}
}

static int write_ready_file(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
		fprintf(stderr, "svc-echod: ready file %s: %s\n", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int event_loop(void)
{
	struct epoll_event evs[256];
	struct ep_item *it;
	int i, n;

	while (!stop) {
		n = epoll_wait(epfd, evs, 256, 1000);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "svc-echod: epoll_wait: %s\n", strerror(errno));
			return -errno;
		}
		for (i = 0; i < n; i++) {
			it = evs[i].data.ptr;
			switch (it->kind) {
			case EP_TCP_LISTEN:
				do_accept(it);
				break;
			case EP_UDP:
				udp_io(it);
				break;
			case EP_CONN:
				conn_io((struct conn *)it, evs[i].events);
				break;
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "tcp", no_argument, NULL, 't' },
		{ "udp", no_argument, NULL, 'u' },
		{ "http", no_argument, NULL, 'H' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *listen_addrs[MAX_LISTEN], *ready_file = NULL;
	bool tcp = false, udp = false;
	int n_listen = 0, c, i, err;
	unsigned long port = 8080;
	struct sigaction sa = { .sa_handler = on_signal };
	char *end;

	while ((c = getopt_long(argc, argv, "n:p:l:tuHr:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 'p':
			errno = 0;
			port = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || port == 0 || port > 65535) {
				fprintf(stderr, "svc-echod: --port %s: not a port 1..65535\n",
					optarg);
				return 2;
			}
			break;
		case 'l':
			if (n_listen == MAX_LISTEN) {
				fprintf(stderr, "svc-echod: at most %d --listen\n", MAX_LISTEN);
				return 2;
			}
			listen_addrs[n_listen++] = optarg;
			break;
		case 't':
			tcp = true;
			break;
		case 'u':
			udp = true;
			break;
		case 'H':
			http_mode = true;
			tcp = true;
			break;
		case 'r':
			ready_file = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !name) {
		fprintf(stderr, "svc-echod: %s\n",
			name ? "unexpected argument" : "--name is required");
		usage(stderr);
		return 2;
	}
	if (strlen(name) > NAME_MAX_LEN || strpbrk(name, " \r\n")) {
		fprintf(stderr, "svc-echod: --name %s: at most %d characters, no spaces\n", name,
			NAME_MAX_LEN);
		return 2;
	}
	if (!tcp && !udp)
		tcp = true;
	if (!n_listen)
		listen_addrs[n_listen++] = "::";

	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL)) {
		fprintf(stderr, "svc-echod: sigaction: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		fprintf(stderr, "svc-echod: epoll_create1: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < n_listen; i++) {
		if (tcp && open_listener(listen_addrs[i], port, SOCK_STREAM))
			return 1;
		if (udp && open_listener(listen_addrs[i], port, SOCK_DGRAM))
			return 1;
	}
	if (ready_file && write_ready_file(ready_file))
		return 1;
	fprintf(stderr, "svc-echod: ready: %s port %lu%s%s%s\n", name, port, tcp ? " tcp" : "",
		udp ? " udp" : "", http_mode ? " http" : "");
	err = event_loop();
	fprintf(stderr, "svc-echod: %s exiting: %lu connections, %lu http, %lu udp, %lu errors\n",
		name, n_conns, n_http, n_udp, n_errors);
	while (conns)
		conn_free(conns);
	for (i = 0; i < n_listeners; i++) {
		close(listeners[i]->fd);
		free(listeners[i]);
	}
	close(epfd);
	return err ? 1 : 0;
}
