// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned: the control API server on a unix stream socket.
 *
 * Single-threaded and non-blocking: every client has a bounded input buffer
 * (one request line, SVC_API_MAX_REQUEST bytes) and an output buffer holding
 * at most one response. A client is read only while it has no response
 * pending, so a client that does not read its answers stalls only itself.
 * Requests are handled one at a time, in the main loop.
 */
#define _GNU_SOURCE /* accept4, struct ucred */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "agent.h"
#include "log.h"

struct agent_client {
	int fd;
	unsigned int id; /* for log lines */
	char *in;	 /* SVC_API_MAX_REQUEST + 1 bytes */
	size_t inlen;
	bool discarding; /* skipping the rest of an oversized line */
	bool eof;	 /* peer shut down its side */
	char *out;	 /* pending response */
	size_t outlen, outoff;
	double last_active; /* agent_now_s() */
};

static unsigned int next_client_id = 1;

/* Creates the socket's directory (0755, like /run/NAME) if missing. */
static int ensure_dir(const char *path)
{
	char tmp[PATH_MAX], *dir;
	struct stat st;

	snprintf(tmp, sizeof(tmp), "%s", path);
	dir = dirname(tmp);
	if (!stat(dir, &st))
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* A socket file left by a dead agent is removed; a live one (or a non-socket) is an error. */
static int clear_stale(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, err;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		pr_err("socket %s: %s", path, strerror(errno));
		return err;
	}
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("socket %s: exists and is not a socket; not removing it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (!connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		close(fd);
		pr_err("socket %s: in use by another process (another svcplaned?)", path);
		return -EADDRINUSE;
	}
	close(fd);
	if (unlink(path) && errno != ENOENT) {
		err = -errno;
		pr_err("socket %s: remove stale socket: %s", path, strerror(errno));
		return err;
	}
	pr_info("removed stale socket %s", path);
	return 0;
}

int agent_server_open(struct agent *a)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = a->cfg.socket;
	mode_t old;
	int fd, err;

	err = ensure_dir(path);
	if (err) {
		pr_err("socket %s: create directory: %s", path, strerror(-err));
		return err;
	}
	err = clear_stale(path);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		pr_err("socket %s: %s", path, strerror(errno));
		return err;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	/* The umask makes the socket 0600 from the moment it exists: root only. */
	old = umask(0177);
	err = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) ? -errno : 0;
	umask(old);
	if (err) {
		pr_err("socket %s: bind: %s", path, strerror(-err));
		close(fd);
		return err;
	}
	if (chmod(path, 0600) || listen(fd, 64)) {
		err = -errno;
		pr_err("socket %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return err;
	}
	a->listen_fd = fd;
	return 0;
}

static void client_free(struct agent *a, int slot)
{
	struct agent_client *c = a->clients[slot];

	if (!c)
		return;
	pr_debug("api: client %u closed", c->id);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
	a->clients[slot] = NULL;
}

void agent_server_close(struct agent *a)
{
	for (int i = 0; i < SVC_AGENT_MAX_CLIENTS; i++)
		client_free(a, i);
	if (a->listen_fd >= 0) {
		close(a->listen_fd);
		a->listen_fd = -1;
		if (unlink(a->cfg.socket) && errno != ENOENT)
			pr_warn("remove socket %s: %s", a->cfg.socket, strerror(errno));
	}
}

/* Queues @resp (consumed) as the client's pending output. */
static void client_respond(struct agent_client *c, json_object *resp)
{
	size_t len;
	char *line = resp ? svc_api_encode(resp, &len) : NULL;

	json_object_put(resp);
	if (!line) {
		/* Out of memory: a fixed answer keeps the protocol in step. */
		static const char oom[] = "{\"v\":1,\"ok\":false,\"error\":{\"code\":\"internal\","
					  "\"message\":\"out of memory\"}}\n";
		line = strdup(oom);
		len = line ? sizeof(oom) - 1 : 0;
	}
	c->out = line;
	c->outlen = line ? len : 0;
	c->outoff = 0;
}

static void client_error(struct agent *a, struct agent_client *c, enum svc_api_code code,
			 const char *msg)
{
	struct svc_err err = { .code = code };

	snprintf(err.msg, sizeof(err.msg), "%s", msg);
	a->api_requests[code]++;
	client_respond(c, svc_api_response_err(&err));
}

/* Sends the refusal to a client over the limit, best effort, and closes it. */
static void refuse(struct agent *a, int fd)
{
	static const char msg[] = "{\"v\":1,\"ok\":false,\"error\":{\"code\":\"internal\","
				  "\"message\":\"too many API clients\"}}\n";

	a->api_clients_refused++;
	if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		pr_debug("api: refuse client: %s", strerror(errno));
	close(fd);
}

static void accept_clients(struct agent *a)
{
	for (;;) {
		struct agent_client *c;
		struct ucred cred;
		socklen_t len = sizeof(cred);
		int fd, slot = -1;

		fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				pr_warn("api: accept: %s", strerror(errno));
			return;
		}
		/* The socket is 0600 already; the check also holds if someone chmods it. */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
		    (cred.uid != 0 && cred.uid != geteuid())) {
			pr_warn("api: refused client (uid %d)", (int)cred.uid);
			close(fd);
			continue;
		}
		for (int i = 0; i < SVC_AGENT_MAX_CLIENTS; i++) {
			if (!a->clients[i]) {
				slot = i;
				break;
			}
		}
		if (slot < 0) {
			pr_warn("api: %d clients connected: refusing another",
				SVC_AGENT_MAX_CLIENTS);
			refuse(a, fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c)
			c->in = malloc(SVC_API_MAX_REQUEST + 1);
		if (!c || !c->in) {
			free(c);
			refuse(a, fd);
			continue;
		}
		c->fd = fd;
		c->id = next_client_id++;
		c->last_active = agent_now_s();
		a->clients[slot] = c;
		pr_debug("api: client %u connected (pid %d)", c->id, (int)cred.pid);
	}
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* Handles complete lines in the buffer, one at a time, while no output is pending. */
static void process_line(struct agent *a, struct agent_client *c)
{
	while (!c->out && c->inlen) {
		char *nl = memchr(c->in, '\n', c->inlen);
		size_t len, used;

		if (nl) {
			len = (size_t)(nl - c->in);
			used = len + 1;
		} else if (c->eof) {
			/* The last request may come without its newline. */
			len = used = c->inlen;
		} else {
			return;
		}
		/* Blank lines are skipped; anything else gets exactly one answer. */
		if (!blank(c->in, len))
			client_respond(c, agent_handle(a, c->in, len));
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
	}
}

/* Reads what is available; returns false when the client is gone. */
static bool client_read(struct agent *a, struct agent_client *c)
{
	for (;;) {
		ssize_t n;

		if (c->inlen == SVC_API_MAX_REQUEST + 1) {
			/* A full buffer without newline: the line is too long. */
			char msg[96];

			snprintf(msg, sizeof(msg), "request exceeds %d bytes", SVC_API_MAX_REQUEST);
			pr_warn("api: client %u: %s", c->id, msg);
			c->inlen = 0;
			c->discarding = true;
			client_error(a, c, SVC_API_TOO_LARGE, msg);
			return true;
		}
		n = recv(c->fd, c->in + c->inlen, SVC_API_MAX_REQUEST + 1 - c->inlen, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return false;
		}
		if (n == 0) {
			c->eof = true;
			break;
		}
		c->last_active = agent_now_s();
		if (c->discarding) {
			char *nl = memchr(c->in, '\n', (size_t)n);

			if (!nl) {
				continue; /* keep dropping */
			}
			/* Keep what follows the end of the oversized line. */
			n -= nl + 1 - c->in;
			memmove(c->in, nl + 1, (size_t)n);
			c->discarding = false;
		}
		c->inlen += (size_t)n;
		if (memchr(c->in, '\n', c->inlen))
			break; /* process before reading more */
	}
	process_line(a, c);
	return true;
}

/* Writes pending output; returns false when the client is gone. */
static bool client_write(struct agent *a, struct agent_client *c)
{
	while (c->out && c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			if (errno == EINTR)
				continue;
			return false;
		}
		c->outoff += (size_t)n;
		c->last_active = agent_now_s();
	}
	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = 0;
	/* More requests may be waiting in the buffer. */
	process_line(a, c);
	if (c->out)
		return client_write(a, c);
	return !(c->eof && !c->inlen);
}

int agent_server_pollfds(struct agent *a, struct pollfd *pfds, int max)
{
	int n = 0;

	if (a->listen_fd >= 0 && n < max)
		pfds[n++] = (struct pollfd){ .fd = a->listen_fd, .events = POLLIN };
	for (int i = 0; i < SVC_AGENT_MAX_CLIENTS && n < max; i++) {
		struct agent_client *c = a->clients[i];

		if (!c)
			continue;
		/* Read only when no answer is pending: backpressure per client. */
		pfds[n++] = (struct pollfd){ .fd = c->fd,
					     .events = c->out ? POLLOUT : (c->eof ? 0 : POLLIN) };
	}
	return n;
}

static int slot_of(struct agent *a, int fd)
{
	for (int i = 0; i < SVC_AGENT_MAX_CLIENTS; i++)
		if (a->clients[i] && a->clients[i]->fd == fd)
			return i;
	return -1;
}

void agent_server_dispatch(struct agent *a, struct pollfd *pfds, int n)
{
	for (int i = 0; i < n; i++) {
		int slot;
		bool alive = true;
		struct agent_client *c;

		if (!pfds[i].revents)
			continue;
		if (pfds[i].fd == a->listen_fd) {
			accept_clients(a);
			continue;
		}
		slot = slot_of(a, pfds[i].fd);
		if (slot < 0)
			continue;
		c = a->clients[slot];
		if (pfds[i].revents & POLLIN)
			alive = client_read(a, c);
		if (alive && (c->out || (pfds[i].revents & POLLOUT)))
			alive = client_write(a, c);
		if (alive && (pfds[i].revents & (POLLERR | POLLNVAL)))
			alive = false;
		if (alive && (pfds[i].revents & POLLHUP) && !c->out)
			alive = false;
		if (alive && c->eof && !c->out && !c->inlen)
			alive = false;
		if (!alive)
			client_free(a, slot);
	}
}

void agent_server_expire(struct agent *a)
{
	double now = agent_now_s();

	for (int i = 0; i < SVC_AGENT_MAX_CLIENTS; i++) {
		struct agent_client *c = a->clients[i];

		if (c && now - c->last_active > SVC_AGENT_CLIENT_IDLE_S) {
			pr_info("api: client %u idle for %d s: disconnected", c->id,
				SVC_AGENT_CLIENT_IDLE_S);
			client_free(a, i);
		}
	}
}
