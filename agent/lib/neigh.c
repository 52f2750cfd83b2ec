// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Next-hop neighbour resolution by sending a datagram the kernel must route. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "addr.h"
#include "log.h"
#include "neigh.h"

#define SVC_DISCARD_PORT 9

int svc_neigh_prime(const struct svc_addr *addr)
{
	struct sockaddr_storage ss = { 0 };
	char buf[SVC_ADDR_STRLEN];
	socklen_t len;
	int fd, err = 0;

	if (svc_addr_is_v4(addr)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(SVC_DISCARD_PORT);
		memcpy(&sin->sin_addr, &addr->w[3], 4);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(SVC_DISCARD_PORT);
		memcpy(&sin6->sin6_addr, addr->b, 16);
		len = sizeof(*sin6);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The send queues the datagram behind neighbour resolution; its fate does not matter. */
	if (sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&ss, len) < 0) {
		err = -errno;
		pr_warn("resolve next hop %s: %s", svc_addr_format(addr, buf, sizeof(buf)),
			strerror(-err));
	}
	close(fd);
	return err;
}
