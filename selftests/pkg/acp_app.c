// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* An outside application built with the installed libsvcacp alone (pkg/test_install, test_deb). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <acp.h>

#define PAYLOAD_LEN 300
#define FSN 0x01020304u

static int fail(const char *what)
{
	fprintf(stderr, "acp_app: %s: %s\n", what, strerror(errno));
	return 1;
}

/* tcp_pair - a connected pair over 127.0.0.1: the library needs TCP (TCP_MAXSEG). */
static int tcp_pair(int *c, int *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t sl = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sl) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &sl) < 0)
		return fail("listen on 127.0.0.1");
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (*c < 0 || connect(*c, (struct sockaddr *)&a, sl) < 0)
		return fail("connect to 127.0.0.1");
	*s = accept(l, NULL, NULL);
	if (*s < 0)
		return fail("accept");
	close(l);
	return 0;
}

int main(void)
{
	unsigned char payload[PAYLOAD_LEN], want[SVC_ACP_HDR_LEN + PAYLOAD_LEN];
	unsigned char wire[sizeof(want)], got[PAYLOAD_LEN];
	struct acp_frame_info info;
	int c, s, i;

	for (i = 0; i < PAYLOAD_LEN; i++)
		payload[i] = (unsigned char)(i * 7 + 1);
	/* The frame as docs/acp.md draws it, written out rather than by svc_acp.h's encoder. */
	want[0] = sizeof(want) >> 8;
	want[1] = sizeof(want) & 0xff;
	want[2] = 1;	/* version */
	want[3] = 0x01; /* STICKY */
	want[4] = 0x01;
	want[5] = 0x02;
	want[6] = 0x03;
	want[7] = 0x04;
	memcpy(want + SVC_ACP_HDR_LEN, payload, PAYLOAD_LEN);

	if (tcp_pair(&c, &s))
		return 1;
	if (acp_send_frame(c, SVC_ACP_F_STICKY, FSN, payload, PAYLOAD_LEN) < 0)
		return fail("acp_send_frame");
	if (recv(s, wire, sizeof(wire), MSG_WAITALL) != (ssize_t)sizeof(wire))
		return fail("recv the sent frame");
	if (memcmp(wire, want, sizeof(want))) {
		fprintf(stderr,
			"acp_app: acp_send_frame wrote other octets than the frame format says\n");
		return 1;
	}
	/* The same octets back: acp_recv_frame must give the header and payload they carry. */
	if (send(s, wire, sizeof(wire), 0) != (ssize_t)sizeof(wire))
		return fail("send the frame back");
	if (acp_recv_frame(c, &info, got, sizeof(got)) != 1)
		return fail("acp_recv_frame");
	if (info.len != PAYLOAD_LEN || info.fsn != FSN || info.flags != SVC_ACP_F_STICKY ||
	    info.version != SVC_ACP_VERSION || memcmp(got, payload, PAYLOAD_LEN)) {
		fprintf(stderr, "acp_app: acp_recv_frame: len %u fsn %#x flags %#x vers %u, %s\n",
			info.len, info.fsn, info.flags, info.version,
			memcmp(got, payload, PAYLOAD_LEN) ? "payload differs" : "payload same");
		return 1;
	}
	close(s);
	if (acp_recv_frame(c, &info, got, sizeof(got)) != 0)
		return fail("acp_recv_frame after the peer closed");
	close(c);
	printf("acp_app: one %zu-octet frame each way, byte-exact\n", sizeof(want));
	return 0;
}
