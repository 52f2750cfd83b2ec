// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * servicectl: the operator's command line for svcplane. Parses and validates
 * the command locally (cli/parse.c, with the table of cli/commands.c), sends
 * one request to svcplaned's control API, prints the result. Exit status:
 * 0 ok, 1 the request failed (agent error or agent unreachable), 2 usage
 * error (nothing was sent).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "api.h"
#include "config.h"
#include "ctl.h"
#include "dump.h"
#include "print.h"
#include "version.h"

/* How long to wait for the agent's answer. */
#define REPLY_TIMEOUT_MS 30000
/* Largest answer accepted (a big flow dump stays far below). */
#define REPLY_MAX (256u << 20)

static int connect_agent(const char *path, bool json)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		print_error(json, "usage", "socket path '%s' is too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		print_error(json, "unreachable", "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		print_error(json, "unreachable", "cannot reach svcplaned at %s: %s%s", path,
			    strerror(errno),
			    errno == ENOENT || errno == ECONNREFUSED ? " (is svcplaned running?)"
			    : errno == EACCES			     ? " (run as root)"
								     : "");
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one line (the response) into a malloc'd buffer; *len excludes the newline. */
static int read_line(int fd, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap), *nl = NULL, *tmp;
	struct timespec t0, t1;

	if (!buf)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!nl) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long waited;
		ssize_t r;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		waited = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (waited >= REPLY_TIMEOUT_MS ||
		    poll(&p, 1, (int)(REPLY_TIMEOUT_MS - waited)) == 0) {
			free(buf);
			return -ETIMEDOUT;
		}
		if (n + 1 >= cap) {
			if (cap >= REPLY_MAX) {
				free(buf);
				return -EMSGSIZE;
			}
			cap *= 2;
			tmp = realloc(buf, cap);
			if (!tmp) {
				free(buf);
				return -ENOMEM;
			}
			buf = tmp;
		}
		r = recv(fd, buf + n, cap - n - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return r < 0 ? -errno : -ECONNRESET;
		}
		nl = memchr(buf + n, '\n', (size_t)r);
		n += (size_t)r;
	}
	*len = (size_t)(nl - buf);
	buf[*len] = '\0';
	*out = buf;
	return 0;
}

/* Sends @inv's request and prints the answer; returns the exit status. */
static int run(const struct svc_ctl_inv *inv)
{
	const char *path = inv->socket ? inv->socket : SVC_DEFAULT_SOCKET;
	json_object *result = NULL;
	struct svc_err err = { 0 };
	char *req, *line = NULL;
	size_t len;
	int fd, r;

	req = svc_api_encode(inv->request, &len);
	if (!req) {
		print_error(inv->json, "internal", "out of memory");
		return SVC_CTL_EXIT_FAIL;
	}
	fd = connect_agent(path, inv->json);
	if (fd < 0) {
		free(req);
		return SVC_CTL_EXIT_FAIL;
	}
	r = send_all(fd, req, len);
	free(req);
	if (!r)
		r = read_line(fd, &line, &len);
	close(fd);
	if (r) {
		print_error(inv->json, "unreachable", "no answer from svcplaned at %s: %s", path,
			    r == -ETIMEDOUT ? "timed out" : strerror(-r));
		return SVC_CTL_EXIT_FAIL;
	}
	r = svc_api_response_parse(line, len, &result, &err);
	free(line);
	if (r) {
		/* People see the error class after the message; JSON has it as "code". */
		if (inv->json)
			print_error(true, svc_api_code_name(err.code), "%s", err.msg);
		else
			print_error(false, NULL, "%s [%s]", err.msg, svc_api_code_name(err.code));
		return SVC_CTL_EXIT_FAIL;
	}
	print_result(stdout, inv->cmd, result, inv->json);
	json_object_put(result);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "servicectl: write output: %s\n", strerror(errno));
		return SVC_CTL_EXIT_FAIL;
	}
	return SVC_CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct svc_ctl_inv inv;
	char err[512];
	int ret;

	ret = svc_ctl_parse(argc, argv, &inv, err, sizeof(err));
	if (ret) {
		print_error(inv.json, "usage", "%s", err);
		if (!inv.json)
			fprintf(stderr, "Try 'servicectl --help'.\n");
		svc_ctl_inv_free(&inv);
		return ret;
	}
	if (inv.version) {
		printf("servicectl %s\n", svc_version());
		return SVC_CTL_EXIT_OK;
	}
	if (inv.help) {
		svc_ctl_help(stdout, &inv);
		svc_ctl_inv_free(&inv);
		return SVC_CTL_EXIT_OK;
	}
	if (!strncmp(inv.cmd->op, SVC_CTL_LOCAL_OP, strlen(SVC_CTL_LOCAL_OP)))
		ret = svc_cli_dump(&inv); /* the one local command */
	else
		ret = run(&inv);
	svc_ctl_inv_free(&inv);
	return ret;
}
