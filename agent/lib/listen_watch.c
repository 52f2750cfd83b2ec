// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Listening-socket watch: tracepoint program + ring buffer, and a /proc scan at start. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "listen.skel.h"
#include "listen_watch.h"
#include "log.h"

struct svc_listen_watch {
	struct listen_bpf *skel;
	struct ring_buffer *rb;
	svc_listen_fn fn;
	void *arg;
};

static int on_event(void *ctx, void *data, size_t len)
{
	struct svc_listen_watch *w = ctx;

	if (len < sizeof(struct svc_listen_event))
		return 0;
	w->fn(data, w->arg);
	return 0;
}

/* The inode of this process's network namespace, which the program filters on. */
static int own_netns(__u32 *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st)) {
		pr_err("stat /proc/self/ns/net: %s", strerror(errno));
		return -errno;
	}
	*ino = st.st_ino;
	return 0;
}

int svc_listen_watch_open(svc_listen_fn fn, void *arg, struct svc_listen_watch **wp)
{
	struct svc_listen_watch *w;
	__u32 ino = 0;
	int err;

	err = own_netns(&ino);
	if (err)
		return err;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->arg = arg;
	/* open -> set the netns filter -> load -> attach the tracepoint */
	w->skel = listen_bpf__open();
	if (!w->skel) {
		err = -errno;
		pr_err("open listen watch program: %s", strerror(-err));
		goto fail;
	}
	w->skel->rodata->netns_ino = ino;
	err = listen_bpf__load(w->skel);
	if (err) {
		pr_err("load listen watch program: %s", strerror(-err));
		goto fail;
	}
	err = listen_bpf__attach(w->skel);
	if (err) {
		pr_err("attach tracepoint sock/inet_sock_set_state: %s", strerror(-err));
		goto fail;
	}
	w->rb = ring_buffer__new(bpf_map__fd(w->skel->maps.listen_events), on_event, w, NULL);
	if (!w->rb) {
		err = -errno;
		pr_err("ring buffer on map listen_events: %s", strerror(-err));
		goto fail;
	}
	*wp = w;
	return 0;
fail:
	svc_listen_watch_close(w);
	return err;
}

int svc_listen_watch_fd(const struct svc_listen_watch *w)
{
	return ring_buffer__epoll_fd(w->rb);
}

int svc_listen_watch_consume(struct svc_listen_watch *w)
{
	int n = ring_buffer__consume(w->rb);

	if (n < 0)
		pr_err("read map listen_events: %s", strerror(-n));
	return n;
}

__u64 svc_listen_watch_lost(const struct svc_listen_watch *w)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 total = 0;
	__u32 zero = 0;
	__u64 *vals;
	int i;

	if (ncpu <= 0)
		return 0;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map_lookup_elem(bpf_map__fd(w->skel->maps.listen_lost), &zero, vals))
		for (i = 0; i < ncpu; i++)
			total += vals[i];
	free(vals);
	return total;
}

void svc_listen_watch_close(struct svc_listen_watch *w)
{
	if (!w)
		return;
	ring_buffer__free(w->rb);
	listen_bpf__destroy(w->skel);
	free(w);
}

/* Parses "ADDR:PORT" of /proc/net/tcp{,6} (addresses as the kernel's raw words). */
static int parse_proc_addr(const char *s, bool v6, struct svc_listen_event *ev)
{
	unsigned int port, w[4];

	memset(&ev->addr, 0, sizeof(ev->addr));
	if (v6) {
		if (sscanf(s, "%8x%8x%8x%8x:%x", &w[0], &w[1], &w[2], &w[3], &port) != 5)
			return -EINVAL;
		/* Each word is printed in host order of the in6_addr's 32-bit words. */
		for (int i = 0; i < 4; i++)
			ev->addr.w[i] = w[i];
	} else {
		if (sscanf(s, "%8x:%x", &w[0], &port) != 2)
			return -EINVAL;
		if (w[0]) {
			ev->addr.w[2] = htonl(0xffff);
			ev->addr.w[3] = w[0];
		}
	}
	if (port > 65535)
		return -EINVAL;
	ev->port = port;
	return 0;
}

static int scan_file(const char *path, bool v6, svc_listen_fn fn, void *arg)
{
	char line[512], local[128];
	unsigned int state;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT && v6)
			return 0; /* IPv6 disabled */
		pr_err("open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!fgets(line, sizeof(line), f)) { /* header line */
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		struct svc_listen_event ev = { .proto = IPPROTO_TCP, .listening = 1 };

		if (sscanf(line, " %*u: %127s %*s %x", local, &state) != 2)
			continue;
		if (state != 0x0A) /* TCP_LISTEN */
			continue;
		if (parse_proc_addr(local, v6, &ev))
			continue;
		fn(&ev, arg);
	}
	fclose(f);
	return 0;
}

int svc_listen_scan(svc_listen_fn fn, void *arg)
{
	int err = scan_file("/proc/net/tcp", false, fn, arg);

	if (err)
		return err;
	return scan_file("/proc/net/tcp6", true, fn, arg);
}
