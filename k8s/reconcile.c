// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reconcile: read the agent's services, bindings and instances, and change only
 * what differs from the desired state. Stateless, so a restart of svcplane-k8s
 * or of the agent converges at the next pass. Only services named
 * K8S_NAME_PREFIX* are svcplane-k8s's: others are never touched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "k8s.h"
#include "log.h"

struct rc {
	const char *sock;
	struct k8s_reconcile_stats *st;
};

static const char *jstr(json_object *o, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v ? json_object_get_string(v) : "";
}

static int jint(json_object *o, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v ? json_object_get_int(v) : 0;
}

/* change - one write op; logs what it does and whether the agent refused. */
static void change(struct rc *rc, const char *what, const char *op, json_object *args)
{
	struct svc_err err;
	int r = k8s_agent_call(rc->sock, op, args, NULL, &err);

	rc->st->ops++;
	if (r) {
		rc->st->errors++;
		pr_warn("%s: %s: %s [%s]", what, op, err.msg, svc_api_code_name(err.code));
	} else {
		pr_info("%s: %s", what, op);
	}
}

static json_object *args2(const char *k1, const char *v1, const char *k2, const char *v2)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, k1, json_object_new_string(v1));
	if (k2)
		json_object_object_add(a, k2, json_object_new_string(v2));
	return a;
}

/* read_list - op's result array under @key; NULL when the agent cannot be read. */
static json_object *read_list(const char *sock, const char *op, const char *key)
{
	json_object *res = NULL, *arr = NULL;
	struct svc_err err;

	if (k8s_agent_call(sock, op, NULL, &res, &err)) {
		pr_warn("agent %s: %s: %s", sock, op, err.msg);
		return NULL;
	}
	if (json_object_object_get_ex(res, key, &arr) && json_object_is_type(arr, json_type_array))
		json_object_get(arr);
	else
		arr = NULL;
	json_object_put(res);
	return arr;
}

static bool ours(const char *name)
{
	return !strncmp(name, K8S_NAME_PREFIX, strlen(K8S_NAME_PREFIX));
}

static bool has_binding(const struct k8s_service *s, const char *b)
{
	for (size_t i = 0; s && i < s->n_bindings; i++)
		if (!strcmp(s->bindings[i], b))
			return true;
	return false;
}

static const struct k8s_instance *find_inst(const struct k8s_service *s, const char *addr)
{
	for (size_t i = 0; s && i < s->n_inst; i++)
		if (!strcmp(s->inst[i].addr, addr))
			return &s->inst[i];
	return NULL;
}

/* service_of - the agent's entry for @sid in @svcs, or NULL. */
static json_object *service_of(json_object *svcs, const char *sid)
{
	for (size_t i = 0; i < json_object_array_length(svcs); i++) {
		json_object *s = json_object_array_get_idx(svcs, i);

		if (!strcmp(jstr(s, "sid"), sid))
			return s;
	}
	return NULL;
}

static void sync_instances(struct rc *rc, const struct k8s_service *s, json_object *insts)
{
	char what[512];

	/* add, update, drain, resume */
	for (size_t i = 0; i < s->n_inst; i++) {
		const struct k8s_instance *in = &s->inst[i];
		json_object *cur = NULL, *a;
		bool drain = in->state == K8S_INST_DRAIN;

		for (size_t j = 0; j < json_object_array_length(insts); j++) {
			json_object *o = json_object_array_get_idx(insts, j);

			if (!strcmp(jstr(o, "sid"), s->sid) && !strcmp(jstr(o, "addr"), in->addr))
				cur = o;
		}
		snprintf(what, sizeof(what), "%s instance %s", s->key, in->addr);
		if (!cur) {
			/* a terminating endpoint we never had: nothing to drain */
			if (drain)
				continue;
			a = args2("sid", s->sid, "addr", in->addr);
			json_object_object_add(a, "weight", json_object_new_int((int)in->weight));
			if (in->name[0])
				json_object_object_add(a, "name", json_object_new_string(in->name));
			change(rc, what, "instance.add", a);
			continue;
		}
		if ((unsigned int)jint(cur, "weight") != in->weight) {
			a = args2("sid", s->sid, "addr", in->addr);
			json_object_object_add(a, "weight", json_object_new_int((int)in->weight));
			change(rc, what, "instance.set", a);
		}
		if (drain && strcmp(jstr(cur, "mode"), "drain"))
			change(rc, what, "instance.drain", args2("sid", s->sid, "addr", in->addr));
		else if (!drain && strcmp(jstr(cur, "mode"), "active"))
			change(rc, what, "instance.resume", args2("sid", s->sid, "addr", in->addr));
	}
	/* remove what no slice serves any more (not --dead: its flows finish) */
	for (size_t j = 0; j < json_object_array_length(insts); j++) {
		json_object *o = json_object_array_get_idx(insts, j);

		if (strcmp(jstr(o, "sid"), s->sid) || find_inst(s, jstr(o, "addr")))
			continue;
		snprintf(what, sizeof(what), "%s instance %s", s->key, jstr(o, "addr"));
		change(rc, what, "instance.del", args2("sid", s->sid, "addr", jstr(o, "addr")));
	}
}

int k8s_reconcile(const char *sock, const struct k8s_desired *d, struct k8s_reconcile_stats *st)
{
	json_object *svcs = NULL, *binds = NULL, *insts = NULL;
	struct rc rc = { sock, st };
	char what[512];
	int ret = -1;

	memset(st, 0, sizeof(*st));
	svcs = read_list(sock, "service.list", "services");
	binds = svcs ? read_list(sock, "bind.list", "bindings") : NULL;
	insts = binds ? read_list(sock, "instance.list", "instances") : NULL;
	if (!insts)
		goto out;

	/* services: create the missing ones; refuse a serviceID someone else holds */
	for (size_t i = 0; i < d->n; i++) {
		const struct k8s_service *s = &d->svc[i];
		json_object *cur = service_of(svcs, s->sid);

		if (cur && !ours(jstr(cur, "name"))) {
			pr_warn("%s: serviceID %s belongs to the agent's service '%s', not managed "
				"by svcplane-k8s: skipped",
				s->key, s->sid, jstr(cur, "name"));
			continue;
		}
		if (!cur) {
			snprintf(what, sizeof(what), "%s service %s", s->key, s->sid);
			change(&rc, what, "service.add", args2("sid", s->sid, "name", s->name));
		}
	}
	/* bindings: drop ours that are not desired, then add the missing ones */
	for (size_t j = 0; j < json_object_array_length(binds); j++) {
		json_object *b = json_object_array_get_idx(binds, j);
		json_object *owner = service_of(svcs, jstr(b, "sid"));
		const struct k8s_service *s = k8s_desired_find(d, jstr(b, "sid"));

		if (!owner || !ours(jstr(owner, "name")) || has_binding(s, jstr(b, "binding")))
			continue;
		snprintf(what, sizeof(what), "binding %s of %s", jstr(b, "binding"),
			 jstr(b, "sid"));
		change(&rc, what, "bind.del", args2("binding", jstr(b, "binding"), NULL, NULL));
	}
	for (size_t i = 0; i < d->n; i++) {
		const struct k8s_service *s = &d->svc[i];
		json_object *cur = service_of(svcs, s->sid);

		if (cur && !ours(jstr(cur, "name")))
			continue;
		for (size_t k = 0; k < s->n_bindings; k++) {
			bool have = false;

			for (size_t j = 0; j < json_object_array_length(binds); j++) {
				json_object *b = json_object_array_get_idx(binds, j);

				if (!strcmp(jstr(b, "binding"), s->bindings[k]) &&
				    !strcmp(jstr(b, "sid"), s->sid))
					have = true;
			}
			if (have)
				continue;
			snprintf(what, sizeof(what), "%s binding %s", s->key, s->bindings[k]);
			change(&rc, what, "bind.add",
			       args2("binding", s->bindings[k], "sid", s->sid));
		}
		sync_instances(&rc, s, insts);
	}
	/* services of ours that no Service selects any more (their bindings went above) */
	for (size_t j = 0; j < json_object_array_length(svcs); j++) {
		json_object *o = json_object_array_get_idx(svcs, j);
		const char *sid = jstr(o, "sid");

		if (!ours(jstr(o, "name")) || k8s_desired_find(d, sid))
			continue;
		snprintf(what, sizeof(what), "service %s (%s)", sid, jstr(o, "name"));
		change(&rc, what, "service.del", args2("sid", sid, NULL, NULL));
	}
	ret = 0;
out:
	json_object_put(svcs);
	json_object_put(binds);
	json_object_put(insts);
	return ret;
}
