// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svcplaned's control API from svcplane-k8s: one connection per request, as servicectl does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "k8s.h"
#include "log.h"

/* Longest response line accepted (instance.list of a big agent). */
#define K8S_AGENT_MAX_RESPONSE (64u << 20)

int k8s_agent_call(const char *sock, const char *op, json_object *args, json_object **result,
		   struct svc_err *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 30 };
	json_object *req = svc_api_request_new(op, args), *res = NULL;
	char *line = NULL, *buf = NULL;
	size_t len = 0, n = 0, cap = 0;
	int fd = -1, ret = -1, r;

	if (result)
		*result = NULL;
	memset(err, 0, sizeof(*err));
	if (strlen(sock) >= sizeof(sun.sun_path)) {
		svc_err_set(err, SVC_API_INVALID, "socket path %s too long", sock);
		goto out;
	}
	memcpy(sun.sun_path, sock, strlen(sock));
	line = svc_api_encode(req, &len);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!line || fd < 0) {
		svc_err_set(err, SVC_API_INTERNAL, "socket: %s", strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		svc_err_set(err, SVC_API_INTERNAL, "connect %s: %s", sock, strerror(errno));
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, line + off, len - off, MSG_NOSIGNAL);

		if (w <= 0) {
			svc_err_set(err, SVC_API_INTERNAL, "send to %s: %s", sock, strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	for (;;) {
		ssize_t got;

		if (n + 65536 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 262144;
			if (cap > K8S_AGENT_MAX_RESPONSE || !(nb = realloc(buf, cap))) {
				svc_err_set(err, SVC_API_INTERNAL, "%s: response too large", op);
				goto out;
			}
			buf = nb;
		}
		got = recv(fd, buf + n, cap - n - 1, 0);
		if (got <= 0) {
			svc_err_set(err, SVC_API_INTERNAL, "%s: recv from %s: %s", op, sock,
				    got ? strerror(errno) : "connection closed");
			goto out;
		}
		n += (size_t)got;
		if (memchr(buf + n - (size_t)got, '\n', (size_t)got))
			break;
	}
	buf[n] = '\0';
	r = svc_api_response_parse(buf, strcspn(buf, "\n"), &res, err);
	if (r == 0 && result)
		*result = res;
	else
		json_object_put(res);
	ret = r;
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(buf);
	json_object_put(req);
	return ret;
}
