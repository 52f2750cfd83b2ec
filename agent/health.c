// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned: active health checks. One probe per instance of every service
 * with a check (service.health): a non-blocking TCP connect to the instance
 * address and the check port, for HTTP then "GET PATH HTTP/1.0" and the
 * status line compared with the expected code. No thread: the main loop
 * polls the probes' sockets and calls agent_health_run on every wake-up.
 * @fall consecutive failures mark an instance health-down (no new flows; its
 * established flows continue: svc_reg_nh_flags), @rise consecutive successes
 * bring it back. Results are runtime state, not persisted.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "addr.h"
#include "agent.h"
#include "log.h"

enum probe_state { PROBE_IDLE, PROBE_CONNECTING, PROBE_READING };

/* Bytes of an HTTP answer read: the status line is all we look at. */
#define PROBE_BUF 64

struct agent_probe {
	struct svc_sid sid;
	struct svc_addr addr;
	struct svc_reg_health hc; /* settings this probe runs with (reset when they change) */
	enum probe_state state;
	int fd;
	double next_at;	 /* CLOCK_MONOTONIC seconds: next check start */
	double deadline; /* of the check in progress */
	unsigned int ok_run, fail_run;
	char buf[PROBE_BUF + 1];
	size_t len;
	bool seen; /* instance still exists (sync mark) */
	/* data-plane signals of the instance's next hop at the start of the window */
	struct svc_nh_signals sig;
	double sig_at; /* CLOCK_MONOTONIC seconds: end of the current window */
	bool sig_known;
};

static void probe_close(struct agent_probe *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->state = PROBE_IDLE;
	p->len = 0;
}

static struct svc_reg_instance *probe_instance(struct agent *a, struct agent_probe *p)
{
	return svc_reg_instance_find(&a->reg, &p->sid, &p->addr);
}

/* Applies one check result; returns true if the instance's health-down changed. */
static bool probe_result(struct agent *a, struct agent_probe *p, bool ok, const char *what)
{
	struct svc_reg_instance *in = probe_instance(a, p);
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	bool was_known, was_down, timeout = !strcmp(what, "timeout");

	probe_close(p);
	if (!in)
		return false;
	was_known = in->health_why[0] != '\0';
	was_down = in->health_down;
	if (ok) {
		p->ok_run++;
		p->fail_run = 0;
		/* unknown -> up at the first success; down -> up after rise */
		if (!was_down || p->ok_run >= p->hc.rise)
			in->health_down = false;
		if (in->health_down)
			snprintf(in->health_why, sizeof(in->health_why),
				 "health: %u of %u successes to come back (%s)", p->ok_run,
				 p->hc.rise, what);
		else
			snprintf(in->health_why, sizeof(in->health_why), "health: ok (%s)", what);
	} else {
		p->fail_run++;
		p->ok_run = 0;
		if (p->fail_run >= p->hc.fall)
			in->health_down = true;
		if (timeout)
			snprintf(in->health_why, sizeof(in->health_why),
				 "health: %u consecutive timeout%s (%u ms)", p->fail_run,
				 p->fail_run > 1 ? "s" : "", p->hc.timeout_ms);
		else
			snprintf(in->health_why, sizeof(in->health_why),
				 "health: %u consecutive failure%s: %.48s", p->fail_run,
				 p->fail_run > 1 ? "s" : "", what);
	}
	if (was_down == in->health_down && was_known)
		return false;
	if (was_down != in->health_down)
		pr_info("instance %s of %s: health %s: %s", svc_addr_format(&p->addr, b, sizeof(b)),
			svc_sid_format(&p->sid, b2, sizeof(b2)), in->health_down ? "down" : "up",
			in->health_why);
	return was_down != in->health_down;
}

/* Starts a check: non-blocking connect to the instance address and the check port. */
static bool probe_start(struct agent *a, struct agent_probe *p, double now)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd;

	p->next_at = now + p->hc.interval_ms / 1000.0;
	p->deadline = now + p->hc.timeout_ms / 1000.0;
	if (svc_addr_is_v4(&p->addr)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(p->hc.port);
		memcpy(&sin->sin_addr, &p->addr.b[12], 4);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p->hc.port);
		memcpy(&sin6->sin6_addr, p->addr.b, 16);
		len = sizeof(*sin6);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pr_warn("health check: socket: %s", strerror(errno));
		return probe_result(a, p, false, strerror(errno));
	}
	p->fd = fd;
	p->state = PROBE_CONNECTING;
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
		return probe_result(a, p, false, strerror(errno));
	return false;
}

/* The connect finished: TCP check done; HTTP sends its request. */
static bool probe_connected(struct agent *a, struct agent_probe *p)
{
	char req[SVC_HC_PATH_MAX + 96], b[SVC_ADDR_STRLEN];
	int soerr = 0, n;
	socklen_t sl = sizeof(soerr);

	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl))
		soerr = errno;
	if (soerr)
		return probe_result(a, p, false, strerror(soerr));
	if (p->hc.type == SVC_HC_TCP)
		return probe_result(a, p, true, "tcp connect");
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", p->hc.path,
		     svc_addr_format(&p->addr, b, sizeof(b)));
	/* a fresh socket's send buffer holds a short request whole */
	if (send(p->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		return probe_result(a, p, false, "send failed");
	p->state = PROBE_READING;
	return false;
}

/* HTTP answer bytes: decide once the status line is complete (or the peer closed). */
static bool probe_readable(struct agent *a, struct agent_probe *p)
{
	char what[48];
	ssize_t n = recv(p->fd, p->buf + p->len, PROBE_BUF - p->len, 0);
	unsigned int status;

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return false;
		return probe_result(a, p, false, strerror(errno));
	}
	p->len += (size_t)n;
	p->buf[p->len] = '\0';
	if (n > 0 && p->len < PROBE_BUF && !strchr(p->buf, '\n'))
		return false; /* status line incomplete */
	if (sscanf(p->buf, "HTTP/%*u.%*u %u", &status) != 1)
		return probe_result(a, p, false,
				    p->len ? "not an HTTP answer"
					   : "closed without "
					     "answer");
	snprintf(what, sizeof(what), "http %u", status);
	if (status != p->hc.expect) {
		snprintf(what, sizeof(what), "http %u, want %u", status, p->hc.expect);
		return probe_result(a, p, false, what);
	}
	return probe_result(a, p, true, what);
}

static struct agent_probe *probe_find(struct agent *a, const struct svc_reg_instance *in)
{
	for (size_t i = 0; i < a->n_probes; i++)
		if (!memcmp(&a->probes[i].sid, &in->sid, sizeof(in->sid)) &&
		    !memcmp(&a->probes[i].addr, &in->addr, sizeof(in->addr)))
			return &a->probes[i];
	return NULL;
}

/* One probe per instance of a checked service; settings changes restart it. */
static void probes_sync(struct agent *a, double now)
{
	for (size_t i = 0; i < a->n_probes; i++)
		a->probes[i].seen = false;
	for (size_t i = 0; i < a->reg.n_instances; i++) {
		const struct svc_reg_instance *in = &a->reg.instances[i];
		const struct svc_reg_service *s = svc_reg_service_find(&a->reg, &in->sid);
		struct agent_probe *p;

		if (!s || s->hc.type == SVC_HC_NONE)
			continue;
		p = probe_find(a, in);
		if (p && memcmp(&p->hc, &s->hc, sizeof(s->hc))) {
			probe_close(p);
			p->hc = s->hc;
			p->ok_run = p->fail_run = 0;
			p->next_at = now;
		}
		if (!p) {
			if (a->n_probes == a->cap_probes) {
				size_t cap = a->cap_probes ? a->cap_probes * 2 : 16;
				struct agent_probe *np = realloc(a->probes, cap * sizeof(*np));

				if (!np) {
					pr_err("health check: out of memory");
					return;
				}
				a->probes = np;
				a->cap_probes = cap;
			}
			p = &a->probes[a->n_probes++];
			memset(p, 0, sizeof(*p));
			p->sid = in->sid;
			p->addr = in->addr;
			p->hc = s->hc;
			p->fd = -1;
			p->next_at = now;
		}
		p->seen = true;
	}
	for (size_t i = a->n_probes; i-- > 0;) {
		if (a->probes[i].seen)
			continue;
		probe_close(&a->probes[i]);
		a->probes[i] = a->probes[--a->n_probes];
	}
}

/*
 * Data-plane signals (where the router program also runs on the instance-facing
 * interfaces): SVC_AGENT_HC_SIGNAL_MIN or more new refused SYNs / ICMP
 * unreachables from the instance within one window (the check interval, at
 * most SVC_AGENT_HC_SIGNAL_WINDOW_MS) mark it health-down at once, as @fall
 * failed checks would; it comes back after @rise successful active checks.
 * Returns true if the instance's health-down changed.
 */
static bool probe_signals(struct agent *a, struct agent_probe *p, double now)
{
	struct svc_reg_instance *in = probe_instance(a, p);
	__u32 nh = in ? svc_reg_nh_id(&a->reg, &in->addr) : 0;
	double win = p->hc.interval_ms < SVC_AGENT_HC_SIGNAL_WINDOW_MS
			     ? p->hc.interval_ms / 1000.0
			     : SVC_AGENT_HC_SIGNAL_WINDOW_MS / 1000.0;
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	struct svc_nh_signals cur;
	__u64 rst, icmp;
	int err;

	if (now < p->sig_at)
		return false;
	p->sig_at = now + win;
	if (!nh)
		return false;
	err = svc_dp_nh_signals_read(a->dp, nh, &cur);
	if (err) {
		pr_warn("health: next hop %u signals: %s", nh, strerror(-err));
		return false;
	}
	rst = cur.syn_rst - p->sig.syn_rst;
	icmp = cur.icmp_unreach - p->sig.icmp_unreach;
	p->sig = cur;
	if (!p->sig_known) {
		p->sig_known = true;
		return false;
	}
	if (rst + icmp < SVC_AGENT_HC_SIGNAL_MIN || in->health_down)
		return false;
	in->health_down = true;
	p->ok_run = 0;
	p->fail_run = p->hc.fall;
	snprintf(in->health_why, sizeof(in->health_why),
		 "data plane: %llu SYNs refused, %llu ICMP unreachable", (unsigned long long)rst,
		 (unsigned long long)icmp);
	pr_info("instance %s of %s: health down: %s", svc_addr_format(&p->addr, b, sizeof(b)),
		svc_sid_format(&p->sid, b2, sizeof(b2)), in->health_why);
	return true;
}

int agent_health_pollfds(struct agent *a, struct pollfd *pfds, int max, int *timeout_ms)
{
	double now = agent_now_s();
	int n = 0;

	for (size_t i = 0; i < a->n_probes; i++) {
		struct agent_probe *p = &a->probes[i];
		double at = p->state == PROBE_IDLE ? p->next_at : p->deadline;
		int ms = at <= now ? 0 : (int)((at - now) * 1000.0) + 1;

		if (p->sig_at < at)
			ms = p->sig_at <= now ? 0 : (int)((p->sig_at - now) * 1000.0) + 1;
		if (ms < *timeout_ms)
			*timeout_ms = ms;
		if (p->state != PROBE_IDLE && n < max)
			pfds[n++] = (struct pollfd){
				.fd = p->fd,
				.events = p->state == PROBE_CONNECTING ? POLLOUT : POLLIN,
			};
	}
	return n;
}

void agent_health_run(struct agent *a)
{
	double now = agent_now_s();
	bool changed = false;

	probes_sync(a, now);
	for (size_t i = 0; i < a->n_probes; i++) {
		struct agent_probe *p = &a->probes[i];
		struct pollfd pfd = { .fd = p->fd };

		changed |= probe_signals(a, p, now);
		if (p->state == PROBE_IDLE) {
			if (now >= p->next_at)
				changed |= probe_start(a, p, now);
			continue;
		}
		pfd.events = p->state == PROBE_CONNECTING ? POLLOUT : POLLIN;
		if (poll(&pfd, 1, 0) > 0) {
			if (p->state == PROBE_CONNECTING)
				changed |= probe_connected(a, p);
			else
				changed |= probe_readable(a, p);
		}
		if (p->state != PROBE_IDLE && now >= p->deadline)
			changed |= probe_result(a, p, false, "timeout");
	}
	/* health is runtime state: only the maps change, not the state file */
	if (changed && agent_reconcile(a))
		pr_err("health check: data plane update failed");
}

void agent_health_stop(struct agent *a)
{
	for (size_t i = 0; i < a->n_probes; i++)
		probe_close(&a->probes[i]);
	free(a->probes);
	a->probes = NULL;
	a->n_probes = a->cap_probes = 0;
}
