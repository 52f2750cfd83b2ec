// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* tiflow-sockopt: drive the TI-flow socket options (SVC_TIFLOW_SOL) as an application would. */
/*
 * try [--udp] [--connect ADDR --port PORT] [--pin-dir DIR] OP...
 *   One socket (TCP unless --udp); the OPs run on it in order, each reported
 *   as one JSON object of the array printed at the end:
 *     state[:LEN]              SVC_TIFLOW_SO_STATE: libsvctiflow's tiflow_sock_state,
 *                              or with LEN a raw getsockopt with that buffer size
 *     resume:TIFID:TISEQ:TIACK[:LEN]  SVC_TIFLOW_SO_RESUME (hex values):
 *                              tiflow_sock_resume, or with LEN a raw setsockopt
 *                              of that optlen (the value zero-padded)
 *     get:OPTNAME  set:OPTNAME  another option number at level SVC_TIFLOW_SOL
 *     connect                  blocking connect to --connect/--port
 *     rcvbuf-big               SO_RCVBUF set and read back through 8 KiB buffers
 *                              (an option larger than a page passes the programs)
 *     map-state                the state read from the pinned map by fd (root)
 *     line                     read one line (at most 255 octets, 60 s): a
 *                              server's greeting, e.g. svc-echod's "svc-echod NAME"
 *   {"op":..,"errno":N,"error":"..."} plus "state" (svc_tiflow_sk_json) or "value".
 *   Exit 0 when every op ran (whatever it returned), 2 on a usage error.
 * server --listen ADDR --port PORT [--count N] [--ready-file F] [--kind K]
 *   TCP_SAVE_SYN listener, as the resume library's responder: for each of N
 *   connections, accept, read the saved SYN, read its SVC_TIFLOW_SO_STATE,
 *   read to EOF, close. One JSON line each: {"peer_port":..,"syn":<the SYN as
 *   tiflow-dump decodes it>,"resume":<libsvctiflow's tiflow_syn_resume: null
 *   for a new connection, else {tifid,tiseq,tiack}>,"state":{..}}.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "optdecode.h"
#include "addr.h"
#include "tiflow.h"
#include "tiflow_sock.h"
#include "log.h"

struct opts {
	const char *addr, *pin_dir, *ready;
	int port, count, kind;
	bool udp;
};

static struct opts o = { .count = 1 };

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tiflow-sockopt try [--udp] [--connect ADDR --port PORT] [--pin-dir DIR] "
		"OP...\n"
		"       tiflow-sockopt server --listen ADDR --port PORT [--count N] "
		"[--ready-file F] [--kind K]\n"
		"  OP: state[:LEN] | resume:TIFID:TISEQ:TIACK[:LEN] | get:N | set:N | connect |\n"
		"      rcvbuf-big | map-state | line   (see the source's header comment)\n");
}

/* op_result - {"op":OP,"errno":ERR,"error":strerror} added to @arr; returns the object. */
static json_object *op_result(json_object *arr, const char *op, int err)
{
	json_object *r = json_object_new_object();

	json_object_object_add(r, "op", json_object_new_string(op));
	json_object_object_add(r, "errno", json_object_new_int(err));
	json_object_object_add(r, "error", json_object_new_string(err ? strerror(err) : ""));
	json_object_array_add(arr, r);
	return r;
}

static int op_state(int fd, json_object *arr, const char *op, const char *arg)
{
	struct svc_tiflow_sk st;
	unsigned char buf[256];
	socklen_t len = arg ? (socklen_t)strtoul(arg, NULL, 0) : sizeof(st);
	json_object *r;

	if (len > sizeof(buf))
		return -EINVAL;
	memset(buf, 0, sizeof(buf));
	if (!arg) {
		/* as an application would: through libsvctiflow */
		if (tiflow_sock_state(fd, &st) < 0) {
			op_result(arr, op, errno);
			return 0;
		}
		r = op_result(arr, op, 0);
		json_object_object_add(r, "len", json_object_new_int(sizeof(st)));
		json_object_object_add(r, "state", svc_tiflow_sk_json(&st));
		return 0;
	}
	if (getsockopt(fd, SVC_TIFLOW_SOL, SVC_TIFLOW_SO_STATE, buf, &len) < 0) {
		op_result(arr, op, errno);
		return 0;
	}
	r = op_result(arr, op, 0);
	json_object_object_add(r, "len", json_object_new_int(len));
	if (len == sizeof(st)) {
		memcpy(&st, buf, sizeof(st));
		json_object_object_add(r, "state", svc_tiflow_sk_json(&st));
	}
	return 0;
}

/* resume:TIFID:TISEQ:TIACK[:LEN] */
static int op_resume(int fd, json_object *arr, const char *op, char *arg)
{
	struct svc_tiflow_resume rs;
	unsigned char buf[64] = { 0 };
	char *f[4] = { 0 }, *save = NULL;
	socklen_t len = sizeof(rs);
	int n = 0;

	for (char *t = strtok_r(arg, ":", &save); t && n < 4; t = strtok_r(NULL, ":", &save))
		f[n++] = t;
	if (n < 3)
		return -EINVAL;
	rs.tifid = strtoull(f[0], NULL, 16);
	rs.tiseq = strtoull(f[1], NULL, 16);
	rs.tiack = strtoull(f[2], NULL, 16);
	if (f[3])
		len = strtoul(f[3], NULL, 0);
	if (len > sizeof(buf))
		return -EINVAL;
	if (!f[3]) { /* through libsvctiflow */
		op_result(arr, op,
			  tiflow_sock_resume(fd, rs.tifid, rs.tiseq, rs.tiack) < 0 ? errno : 0);
		return 0;
	}
	memcpy(buf, &rs, sizeof(rs) < len ? sizeof(rs) : len);
	op_result(arr, op,
		  setsockopt(fd, SVC_TIFLOW_SOL, SVC_TIFLOW_SO_RESUME, buf, len) < 0 ? errno : 0);
	return 0;
}

static int op_rcvbuf_big(int fd, json_object *arr, const char *op)
{
	static int big[2048]; /* 8 KiB: over a page */
	socklen_t len = sizeof(big);
	json_object *r;

	memset(big, 0, sizeof(big));
	big[0] = 65536;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, big, sizeof(big)) < 0) {
		op_result(arr, op, errno);
		return 0;
	}
	big[0] = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, big, &len) < 0) {
		op_result(arr, op, errno);
		return 0;
	}
	r = op_result(arr, op, 0);
	json_object_object_add(r, "value", json_object_new_int(big[0])); /* the kernel doubles it */
	return 0;
}

static int op_map_state(int fd, json_object *arr, const char *op)
{
	struct svc_tiflow_sk st;
	json_object *r;
	int map, err;

	if (!o.pin_dir)
		return -EINVAL;
	map = svc_tiflow_sk_map_open(o.pin_dir);
	if (map < 0) {
		op_result(arr, op, -map);
		return 0;
	}
	err = svc_tiflow_sock_state(map, fd, &st);
	close(map);
	r = op_result(arr, op, err == -ENOENT ? 0 : -err);
	if (err == -ENOENT)
		memset(&st, 0, sizeof(st));
	if (!err || err == -ENOENT)
		json_object_object_add(r, "state", svc_tiflow_sk_json(&st));
	return 0;
}

static int op_line(int fd, json_object *arr, const char *op)
{
	struct timeval tv = { .tv_sec = 60 };
	char line[256];
	size_t n = 0;
	json_object *r;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		op_result(arr, op, errno);
		return 0;
	}
	while (n < sizeof(line) - 1) {
		ssize_t got = read(fd, line + n, 1);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			op_result(arr, op, errno);
			return 0;
		}
		if (!got || line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	r = op_result(arr, op, 0);
	json_object_object_add(r, "line", json_object_new_string(line));
	return 0;
}

static int cmd_try(int argc, char **argv)
{
	json_object *arr = json_object_new_array();
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	int fd, err = 0, family = AF_INET;

	if (o.addr) {
		if (svc_sockaddr_parse(o.addr, (__u16)o.port, &ss, &sl)) {
			fprintf(stderr, "tiflow-sockopt: --connect %s: not an address\n", o.addr);
			return 2;
		}
		family = ss.ss_family;
	}
	fd = socket(family, o.udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0) {
		fprintf(stderr, "tiflow-sockopt: socket: %s\n", strerror(errno));
		return 2;
	}
	for (int i = 0; i < argc && !err; i++) {
		char *op = strdup(argv[i]), *arg = strchr(op, ':');

		if (arg)
			*arg++ = '\0';
		if (!strcmp(op, "state")) {
			err = op_state(fd, arr, argv[i], arg);
		} else if (!strcmp(op, "resume") && arg) {
			err = op_resume(fd, arr, argv[i], arg);
		} else if ((!strcmp(op, "get") || !strcmp(op, "set")) && arg) {
			unsigned char buf[64] = { 0 };
			socklen_t len = sizeof(buf);
			int name = (int)strtol(arg, NULL, 0), r;

			r = op[0] == 'g' ? getsockopt(fd, SVC_TIFLOW_SOL, name, buf, &len)
					 : setsockopt(fd, SVC_TIFLOW_SOL, name, buf, 24);
			op_result(arr, argv[i], r < 0 ? errno : 0);
		} else if (!strcmp(op, "connect") && o.addr) {
			op_result(arr, argv[i],
				  connect(fd, (struct sockaddr *)&ss, sl) < 0 ? errno : 0);
		} else if (!strcmp(op, "rcvbuf-big")) {
			err = op_rcvbuf_big(fd, arr, argv[i]);
		} else if (!strcmp(op, "map-state")) {
			err = op_map_state(fd, arr, argv[i]);
		} else if (!strcmp(op, "line")) {
			err = op_line(fd, arr, argv[i]);
		} else {
			err = -EINVAL;
		}
		if (err)
			fprintf(stderr, "tiflow-sockopt: bad op '%s'\n", argv[i]);
		free(op);
	}
	close(fd);
	if (err) {
		json_object_put(arr);
		return 2;
	}
	printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	return 0;
}

/*
 * saved_syn - the accepted connection's SYN, read once and judged twice: "syn"
 * as tiflow-dump decodes packets, "resume" as libsvctiflow sees it (the
 * option's values for a resume, null for a new connection).
 */
static void saved_syn(int fd, json_object *j)
{
	const struct svc_optdec_cfg cfg = { .tiflow_kind = (__u8)o.kind };
	struct svc_tiflow_vals v;
	unsigned char syn[512];
	socklen_t len = sizeof(syn);
	struct svc_tcp_pkt p;
	json_object *r = NULL;
	char h[13];
	int rc;

	if (getsockopt(fd, IPPROTO_TCP, TCP_SAVED_SYN, syn, &len) < 0 || !len) {
		json_object_object_add(j, "syn", NULL);
		return;
	}
	json_object_object_add(j, "syn",
			       svc_optdecode_frame(SVC_LINKTYPE_RAW, syn, len, len, &cfg, &p)
				       ? NULL
				       : svc_optdecode_json(&p));
	rc = tiflow_syn_resume(syn, len, (__u8)o.kind, &v);
	if (rc < 0) {
		json_object_object_add(j, "resume_errno", json_object_new_int(errno));
		return;
	}
	if (rc) {
		r = json_object_new_object();
		json_object_object_add(r, "tifid", json_object_new_string(svc_hex48(v.tifid, h)));
		json_object_object_add(r, "tiseq", json_object_new_string(svc_hex48(v.tiseq, h)));
		json_object_object_add(r, "tiack", json_object_new_string(svc_hex48(v.tiack, h)));
	}
	json_object_object_add(j, "resume", r);
}

static int cmd_server(void)
{
	struct sockaddr_storage ss, peer;
	socklen_t sl, pl;
	int lfd, one = 1;
	char buf[4096];

	if (!o.addr || !o.port || svc_sockaddr_parse(o.addr, (__u16)o.port, &ss, &sl)) {
		usage(stderr);
		return 2;
	}
	lfd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    tiflow_listen_save_syn(lfd) || bind(lfd, (struct sockaddr *)&ss, sl) ||
	    listen(lfd, 64)) {
		fprintf(stderr, "tiflow-sockopt: listen %s:%d: %s\n", o.addr, o.port,
			strerror(errno));
		return 1;
	}
	if (o.ready) {
		FILE *f = fopen(o.ready, "w");

		if (!f || fclose(f)) {
			fprintf(stderr, "tiflow-sockopt: ready file %s: %s\n", o.ready,
				strerror(errno));
			return 1;
		}
	}
	for (int i = 0; i < o.count; i++) {
		struct svc_tiflow_sk st;
		json_object *j = json_object_new_object();
		int fd;

		pl = sizeof(peer);
		fd = accept(lfd, (struct sockaddr *)&peer, &pl);
		if (fd < 0) {
			fprintf(stderr, "tiflow-sockopt: accept: %s\n", strerror(errno));
			return 1;
		}
		json_object_object_add(
			j, "peer_port",
			json_object_new_int(ntohs(((struct sockaddr_in *)&peer)->sin_port)));
		saved_syn(fd, j);
		if (tiflow_sock_state(fd, &st) == 0)
			json_object_object_add(j, "state", svc_tiflow_sk_json(&st));
		else
			json_object_object_add(j, "state_errno", json_object_new_int(errno));
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
		fflush(stdout);
		json_object_put(j);
	}
	close(lfd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "count", required_argument, NULL, 'n' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "kind", required_argument, NULL, 'k' },
		{ "udp", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd;
	int c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "+h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
		case 'l':
			o.addr = optarg;
			break;
		case 'p':
			o.port = atoi(optarg);
			break;
		case 'P':
			o.pin_dir = optarg;
			break;
		case 'n':
			o.count = atoi(optarg);
			break;
		case 'r':
			o.ready = optarg;
			break;
		case 'k':
			o.kind = atoi(optarg);
			break;
		case 'u':
			o.udp = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!strcmp(cmd, "try"))
		return cmd_try(argc - optind, argv + optind);
	if (!strcmp(cmd, "server"))
		return cmd_server();
	usage(stderr);
	return 2;
}
