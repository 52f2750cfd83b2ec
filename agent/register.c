// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned: registration. On an instance host (--register-to), a TCP
 * listener on a local binding's VIP:PORT makes this host (--instance-addr) an
 * instance of the binding's service at the router agent: instance.add with a
 * lease, refreshed every third of it, and instance.del "dead" when the
 * last such listener closes (the BPF tracepoint sees kill -9 too). On every
 * agent: instances whose lease runs out are removed as dead.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "addr.h"
#include "agent.h"
#include "listen_watch.h"
#include "log.h"

/* How long one call to the router agent may take before it counts as failed. */
#define REG_CALL_TIMEOUT_MS 1000

static bool addr_any(const struct svc_addr *x)
{
	static const struct svc_addr zero;

	return !memcmp(x, &zero, sizeof(zero));
}

static bool addr_eq(const struct svc_addr *x, const struct svc_addr *y)
{
	return !memcmp(x, y, sizeof(*x));
}

/* One request to the router agent; 0 if it answered ok, else -errno (logged). */
static int router_call(struct agent *a, const char *op, json_object *args)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	json_object *req = svc_api_request_new(op, args), *result = NULL;
	char *line = NULL, buf[4096];
	struct svc_err err;
	size_t len = 0, got = 0;
	double deadline;
	int fd = -1, ret;

	if (!req)
		return -ENOMEM;
	line = svc_api_encode(req, &len);
	json_object_put(req);
	if (!line)
		return -ENOMEM;
	memcpy(sun.sun_path, a->cfg.register_to, strlen(a->cfg.register_to));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len) {
		ret = -errno;
		pr_warn("register: %s to router agent %s: %s", op, a->cfg.register_to,
			strerror(errno));
		goto out;
	}
	deadline = agent_now_s() + REG_CALL_TIMEOUT_MS / 1e3;
	while (got < sizeof(buf) - 1 && !memchr(buf, '\n', got)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)((deadline - agent_now_s()) * 1e3);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0) {
			ret = -ETIMEDOUT;
			pr_warn("register: %s: router agent %s did not answer", op,
				a->cfg.register_to);
			goto out;
		}
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n <= 0) {
			ret = n ? -errno : -ECONNRESET;
			pr_warn("register: %s: router agent %s: %s", op, a->cfg.register_to,
				strerror(-ret));
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	ret = svc_api_response_parse(buf, strcspn(buf, "\n"), &result, &err);
	if (ret) {
		pr_warn("register: %s refused by the router agent: %s", op, err.msg);
		ret = -EPROTO;
	}
	json_object_put(result);
out:
	free(line);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Registers (or refreshes) this host as an instance of @sid. */
static int reg_add(struct agent *a, const struct svc_sid *sid)
{
	json_object *args;
	char b[SVC_ADDR_STRLEN];

	if (a->etcd)
		return agent_etcd_register(a, sid);
	args = json_object_new_object();
	json_object_object_add(args, "sid",
			       json_object_new_string(svc_sid_format(sid, b, sizeof(b))));
	json_object_object_add(
		args, "addr",
		json_object_new_string(svc_addr_format(&a->cfg.instance_addr, b, sizeof(b))));
	json_object_object_add(args, "lease", json_object_new_int64(a->cfg.lease));
	return router_call(a, "instance.add", args);
}

static int reg_del(struct agent *a, const struct svc_sid *sid)
{
	json_object *args;
	char b[SVC_ADDR_STRLEN];

	if (a->etcd)
		return agent_etcd_unregister(a, sid);
	args = json_object_new_object();
	json_object_object_add(args, "sid",
			       json_object_new_string(svc_sid_format(sid, b, sizeof(b))));
	json_object_object_add(
		args, "addr",
		json_object_new_string(svc_addr_format(&a->cfg.instance_addr, b, sizeof(b))));
	json_object_object_add(args, "dead", json_object_new_boolean(true));
	return router_call(a, "instance.del", args);
}

static void on_listen(const struct svc_listen_event *ev, void *arg)
{
	struct agent *a = arg;
	struct agent_listener *l = a->listeners;
	char b[SVC_ADDR_STRLEN];

	if (ev->proto != IPPROTO_TCP)
		return;
	pr_debug("listen: %s:%u %s (pid %u %.16s)", svc_addr_format(&ev->addr, b, sizeof(b)),
		 ev->port, ev->listening ? "listening" : "closed", ev->pid, ev->comm);
	if (ev->listening) {
		for (size_t i = 0; i < a->n_listeners; i++)
			if (l[i].sock_id == ev->sock_id && ev->sock_id)
				return; /* already known */
		if (a->n_listeners == SVC_AGENT_MAX_LISTENERS) {
			pr_warn("listen: more than %d listeners: %s:%u not tracked",
				SVC_AGENT_MAX_LISTENERS, b, ev->port);
			return;
		}
		l[a->n_listeners++] = (struct agent_listener){ ev->addr, ev->sock_id, ev->port };
		return;
	}
	/* a close: the listener with this socket id, else one found by the start-up scan */
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < a->n_listeners; i++) {
			if (pass == 0 ? l[i].sock_id != ev->sock_id
				      : (l[i].sock_id || l[i].port != ev->port ||
					 !addr_eq(&l[i].addr, &ev->addr)))
				continue;
			l[i] = l[--a->n_listeners];
			return;
		}
}

/* A listener on @k's VIP (or on any address) and port. */
static bool binding_listened(const struct agent *a, const struct svc_binding_key *k)
{
	if (k->proto != IPPROTO_TCP)
		return false;
	for (size_t i = 0; i < a->n_listeners; i++) {
		const struct agent_listener *l = &a->listeners[i];

		if ((k->port && htons(l->port) != k->port) ||
		    (!addr_any(&l->addr) && !addr_eq(&l->addr, &k->vip)))
			continue;
		return true;
	}
	return false;
}

static struct agent_registration *reg_find(struct agent *a, const struct svc_sid *sid)
{
	for (size_t i = 0; i < a->n_registered; i++)
		if (!memcmp(&a->registered[i].sid, sid, sizeof(*sid)))
			return &a->registered[i];
	return NULL;
}

/* Brings the registrations in line with the listeners and bindings; refreshes leases. */
static void reg_sync(struct agent *a)
{
	double now = agent_now_s(), every = a->cfg.lease / 3.0;
	char b[SVC_ADDR_STRLEN];

	/* wanted: services with a listened binding */
	for (size_t i = 0; i < a->reg.n_bindings; i++) {
		const struct svc_reg_binding *bd = &a->reg.bindings[i];
		struct agent_registration *r;

		if (!binding_listened(a, &bd->key) || reg_find(a, &bd->sid))
			continue;
		if (a->n_registered == SVC_AGENT_MAX_LISTENERS)
			break;
		r = &a->registered[a->n_registered++];
		memset(r, 0, sizeof(*r));
		r->sid = bd->sid;
	}
	for (size_t i = a->n_registered; i-- > 0;) {
		struct agent_registration *r = &a->registered[i];
		bool want = false;

		for (size_t k = 0; k < a->reg.n_bindings && !want; k++)
			want = !memcmp(&a->reg.bindings[k].sid, &r->sid, sizeof(r->sid)) &&
			       binding_listened(a, &a->reg.bindings[k].key);
		svc_sid_format(&r->sid, b, sizeof(b));
		if (!want) {
			if (r->done && reg_del(a, &r->sid))
				continue; /* retried at the next tick */
			if (r->done)
				pr_info("register: %s: listener gone, unregistered", b);
			*r = a->registered[--a->n_registered];
			continue;
		}
		if (r->done && now < r->last + every)
			continue;
		if (now < r->retry_at)
			continue;
		if (reg_add(a, &r->sid)) {
			r->retry_at = now + 0.2; /* router agent away: try again soon */
			continue;
		}
		if (!r->done)
			pr_info("register: %s: listening, registered (lease %u s)", b,
				a->cfg.lease);
		r->done = true;
		r->last = now;
	}
}

int agent_register_start(struct agent *a)
{
	int err;

	/* leases recorded in the state file start again from now (etcd's own leases: not here) */
	for (size_t i = 0; !a->etcd && i < a->reg.n_instances; i++)
		if (a->reg.instances[i].lease_s)
			a->reg.instances[i].lease_expires =
				agent_now_s() + a->reg.instances[i].lease_s;
	/* with --registry, --instance-addr alone turns registration (into etcd) on */
	if (!a->cfg.register_to[0] && !(a->etcd && a->cfg.has_instance_addr))
		return 0;
	if (!a->cfg.has_instance_addr) {
		pr_err("--register-to needs --instance-addr (this host's address as the router "
		       "reaches it)");
		return -EINVAL;
	}
	err = svc_listen_watch_open(on_listen, a, &a->lwatch);
	if (err) {
		pr_err("register: watch listening sockets: %s", strerror(-err));
		return err;
	}
	err = svc_listen_scan(on_listen, a);
	if (err) {
		pr_err("register: scan listening sockets: %s", strerror(-err));
		return err;
	}
	reg_sync(a);
	return 0;
}

void agent_register_stop(struct agent *a)
{
	if (a->lwatch)
		svc_listen_watch_close(a->lwatch);
	a->lwatch = NULL;
}

int agent_register_fd(struct agent *a)
{
	return a->lwatch ? svc_listen_watch_fd(a->lwatch) : -1;
}

void agent_register_run(struct agent *a, bool readable)
{
	int n;

	if (!a->lwatch)
		return;
	if (readable) {
		n = svc_listen_watch_consume(a->lwatch);
		if (n < 0)
			pr_warn("register: listen events: %s", strerror(-n));
		if (svc_listen_watch_lost(a->lwatch) != a->lwatch_lost) {
			/* events were lost: start over from what exists now */
			a->lwatch_lost = svc_listen_watch_lost(a->lwatch);
			pr_warn("register: listen events lost: rescanning");
			a->n_listeners = 0;
			svc_listen_scan(on_listen, a);
		}
	}
	reg_sync(a);
}
