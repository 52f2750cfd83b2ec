// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The pure mapping: Services + EndpointSlices (API JSON) -> the desired agent state. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "k8s.h"

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object))
		return NULL;
	json_object_object_get_ex(o, key, &v);
	return v;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* A condition: absent or null -> @dflt. */
static bool get_cond(json_object *o, const char *key, bool dflt)
{
	json_object *v = get(o, key);

	return v && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : dflt;
}

enum k8s_inst_state k8s_endpoint_state(json_object *conditions)
{
	bool ready = get_cond(conditions, "ready", true);
	bool serving = get_cond(conditions, "serving", ready);
	bool terminating = get_cond(conditions, "terminating", false);

	if (terminating)
		return serving ? K8S_INST_DRAIN : K8S_INST_GONE;
	return ready ? K8S_INST_SERVING : K8S_INST_GONE;
}

/* FNV-1a: a short stable suffix for names cut to fit. */
static unsigned int fnv1a(const char *s)
{
	unsigned int h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

void k8s_service_name(const char *ns, const char *name, char *out, size_t len)
{
	char full[600];
	size_t max = len - 1 < SVC_NAME_MAX ? len - 1 : SVC_NAME_MAX;

	snprintf(full, sizeof(full), "%s%s.%s", K8S_NAME_PREFIX, ns, name);
	if (strlen(full) <= max) {
		snprintf(out, len, "%s", full);
		return;
	}
	/* keep the prefix, replace the tail by a hash of the whole */
	snprintf(out, len, "%.*s-%08x", (int)(max - 9), full, fnv1a(full));
}

/* A pod name as an instance name: cut to SVC_NAME_MAX, "" if not a valid name. */
static void inst_name(const char *pod, char *out, size_t len)
{
	out[0] = '\0';
	if (!pod)
		return;
	snprintf(out, len, "%.*s", SVC_NAME_MAX, pod);
	if (!svc_name_valid(out))
		out[0] = '\0';
}

/*
 * weight_of - the weight K8S_ANN_WEIGHTS gives @addr or @pod: "KEY=W,..." with
 * KEY a pod name, an address or "*" (every other endpoint). Default 1. -1 if
 * the annotation is malformed.
 */
static int weight_of(const char *ann, const char *addr, const char *pod)
{
	char buf[4096], *save = NULL, *tok;
	int dflt = 1, w = 0;

	if (!ann)
		return 1;
	if (strlen(ann) >= sizeof(buf))
		return -1;
	strcpy(buf, ann);
	for (tok = strtok_r(buf, ", \t\n", &save); tok; tok = strtok_r(NULL, ", \t\n", &save)) {
		char *eq = strrchr(tok, '='), *end;
		long v;

		if (!eq || eq == tok)
			return -1;
		*eq = '\0';
		v = strtol(eq + 1, &end, 10);
		if (*end || end == eq + 1 || v < 1 || v > SVC_MAX_WEIGHT)
			return -1;
		if (!strcmp(tok, "*")) {
			dflt = (int)v;
		} else if (!w) {
			struct svc_addr a;
			char canon[SVC_ADDR_STRLEN];

			if (pod && !strcmp(tok, pod))
				w = (int)v;
			else if (!svc_addr_parse(tok, &a) &&
				 !strcmp(svc_addr_format(&a, canon, sizeof(canon)), addr))
				w = (int)v;
		}
	}
	return w ? w : dflt;
}

static int cmp_inst(const void *a, const void *b)
{
	return strcmp(((const struct k8s_instance *)a)->addr,
		      ((const struct k8s_instance *)b)->addr);
}

static int cmp_svc(const void *a, const void *b)
{
	return strcmp(((const struct k8s_service *)a)->sid, ((const struct k8s_service *)b)->sid);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void service_free(struct k8s_service *s)
{
	free(s->bindings);
	free(s->inst);
	memset(s, 0, sizeof(*s));
}

void k8s_desired_free(struct k8s_desired *d)
{
	for (size_t i = 0; i < d->n; i++)
		service_free(&d->svc[i]);
	free(d->svc);
	d->svc = NULL;
	d->n = 0;
}

const struct k8s_service *k8s_desired_find(const struct k8s_desired *d, const char *sid)
{
	struct k8s_service key;

	snprintf(key.sid, sizeof(key.sid), "%s", sid);
	return d->n ? bsearch(&key, d->svc, d->n, sizeof(key), cmp_svc) : NULL;
}

static void warnf(void (*warn)(const char *, const char *), const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void warnf(void (*warn)(const char *, const char *), const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn(key, msg);
}

/*
 * service_parse - a selected Service's sid, name and bindings into @s.
 * Returns 1 when selected and valid, 0 when not selected or invalid, -ENOMEM.
 */
static int service_parse(json_object *svc, struct k8s_service *s,
			 void (*warn)(const char *, const char *))
{
	json_object *meta = get(svc, "metadata"), *ann = get(meta, "annotations");
	json_object *spec = get(svc, "spec"), *ports = get(spec, "ports"), *cips;
	const char *ns = get_str(meta, "namespace"), *name = get_str(meta, "name");
	const char *vip = get_str(ann, K8S_ANN_VIP), *sid = get_str(ann, K8S_ANN_SID);
	char vips[8][SVC_ADDR_STRLEN], buf[1024], *save = NULL, *tok;
	size_t n_vips = 0, np, i, j;
	struct svc_sid sidv;

	memset(s, 0, sizeof(*s));
	if (!vip || !ns || !name)
		return 0;
	snprintf(s->key, sizeof(s->key), "%s/%s", ns, name);
	if (!sid || svc_sid_parse(sid, &sidv)) {
		warnf(warn, s->key, "annotation %s: missing or not an IPv6-form serviceID: '%s'",
		      K8S_ANN_SID, sid ? sid : "");
		return 0;
	}
	svc_sid_format(&sidv, s->sid, sizeof(s->sid));
	k8s_service_name(ns, name, s->name, sizeof(s->name));

	/* VIPs: listed addresses; "clusterIP" stands for spec.clusterIPs */
	snprintf(buf, sizeof(buf), "%s", vip);
	for (tok = strtok_r(buf, ", \t\n", &save); tok; tok = strtok_r(NULL, ", \t\n", &save)) {
		struct svc_addr a;

		if (!strcmp(tok, "clusterIP")) {
			cips = get(spec, "clusterIPs");
			for (i = 0; cips && i < json_object_array_length(cips) && n_vips < 8; i++) {
				const char *c =
					json_object_get_string(json_object_array_get_idx(cips, i));

				if (c && !svc_addr_parse(c, &a))
					svc_addr_format(&a, vips[n_vips++], SVC_ADDR_STRLEN);
			}
			continue;
		}
		if (svc_addr_parse(tok, &a) || n_vips == 8) {
			warnf(warn, s->key,
			      "annotation %s: '%s' is not an address (or more than 8)", K8S_ANN_VIP,
			      tok);
			return 0;
		}
		svc_addr_format(&a, vips[n_vips++], SVC_ADDR_STRLEN);
	}

	np = ports && json_object_is_type(ports, json_type_array) ? json_object_array_length(ports)
								  : 0;
	s->bindings = calloc(n_vips * np + 1, sizeof(*s->bindings));
	if (!s->bindings)
		return -ENOMEM;
	for (j = 0; j < np; j++) {
		json_object *p = json_object_array_get_idx(ports, j);
		json_object *port = get(p, "port");
		const char *proto = get_str(p, "protocol");
		int pn = port ? json_object_get_int(port) : 0;

		if (!proto)
			proto = "TCP"; /* the API's default */
		if (strcmp(proto, "TCP") && strcmp(proto, "UDP")) {
			warnf(warn, s->key, "port %d/%s: only TCP and UDP are routed", pn, proto);
			continue;
		}
		if (pn < 1 || pn > 65535)
			continue;
		for (i = 0; i < n_vips; i++) {
			bool v6 = strchr(vips[i], ':') != NULL;
			char txt[SVC_ADDR_STRLEN + 16];
			struct svc_binding_key k;

			snprintf(txt, sizeof(txt), "%s%s%s:%d/%s", v6 ? "[" : "", vips[i],
				 v6 ? "]" : "", pn, strcmp(proto, "TCP") ? "udp" : "tcp");
			memset(&k, 0, sizeof(k));
			if (svc_binding_parse(txt, &k))
				continue;
			svc_binding_format(&k, s->bindings[s->n_bindings++], SVC_ADDR_STRLEN);
		}
	}
	qsort(s->bindings, s->n_bindings, sizeof(*s->bindings), cmp_str);
	return 1;
}

/* inst_put - add or merge (best state wins) an endpoint of @s. */
static int inst_put(struct k8s_service *s, size_t *cap, const struct k8s_instance *in)
{
	for (size_t i = 0; i < s->n_inst; i++) {
		if (strcmp(s->inst[i].addr, in->addr))
			continue;
		if (in->state > s->inst[i].state)
			s->inst[i] = *in;
		return 0;
	}
	if (s->n_inst == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct k8s_instance *n = realloc(s->inst, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->inst = n;
		*cap = nc;
	}
	s->inst[s->n_inst++] = *in;
	return 0;
}

/* slice_merge - the endpoints of EndpointSlice @sl into @s. */
static int slice_merge(json_object *sl, struct k8s_service *s, size_t *cap, const char *weights,
		       void (*warn)(const char *, const char *))
{
	const char *type = get_str(sl, "addressType");
	json_object *eps = get(sl, "endpoints");

	if (!type || (strcmp(type, "IPv4") && strcmp(type, "IPv6")))
		return 0; /* FQDN slices name no address */
	for (size_t i = 0; eps && i < json_object_array_length(eps); i++) {
		json_object *ep = json_object_array_get_idx(eps, i);
		json_object *addrs = get(ep, "addresses");
		const char *a0 =
			addrs && json_object_array_length(addrs)
				? json_object_get_string(json_object_array_get_idx(addrs, 0))
				: NULL;
		const char *pod = get_str(get(ep, "targetRef"), "name");
		struct k8s_instance in;
		struct svc_addr a;
		int w;

		memset(&in, 0, sizeof(in));
		in.state = k8s_endpoint_state(get(ep, "conditions"));
		/* the API says addresses are fungible: consumers may use the first */
		if (in.state == K8S_INST_GONE || !a0 || svc_addr_parse(a0, &a))
			continue;
		svc_addr_format(&a, in.addr, sizeof(in.addr));
		inst_name(pod, in.name, sizeof(in.name));
		w = weight_of(weights, in.addr, pod);
		if (w < 0) {
			warnf(warn, s->key, "annotation %s: malformed (want POD|ADDR|*=1..%d,...)",
			      K8S_ANN_WEIGHTS, SVC_MAX_WEIGHT);
			w = 1;
		}
		in.weight = (unsigned int)w;
		if (inst_put(s, cap, &in))
			return -ENOMEM;
	}
	return 0;
}

int k8s_desired_build(json_object *services, json_object *slices, struct k8s_desired *out,
		      void (*warn)(const char *key, const char *msg))
{
	size_t ns = services ? json_object_array_length(services) : 0;
	size_t nsl = slices ? json_object_array_length(slices) : 0;
	struct k8s_desired d = { 0 };
	int err = 0;

	d.svc = calloc(ns + 1, sizeof(*d.svc));
	if (!d.svc)
		return -ENOMEM;
	for (size_t i = 0; i < ns; i++) {
		json_object *svc = json_object_array_get_idx(services, i);
		struct k8s_service *s = &d.svc[d.n];
		const char *weights =
			get_str(get(get(svc, "metadata"), "annotations"), K8S_ANN_WEIGHTS);
		size_t cap = 0;
		int r = service_parse(svc, s, warn);

		if (r < 0) {
			err = r;
			goto fail;
		}
		if (!r) {
			service_free(s);
			continue;
		}
		/* two Services claiming one serviceID: the first by key keeps it */
		bool dup = false;
		for (size_t k = 0; k < d.n; k++) {
			if (!strcmp(d.svc[k].sid, s->sid)) {
				warnf(warn, s->key, "serviceID %s is already %s's", s->sid,
				      d.svc[k].key);
				dup = true;
			}
		}
		if (dup) {
			service_free(s);
			continue;
		}
		d.n++;
		for (size_t j = 0; j < nsl; j++) {
			json_object *sl = json_object_array_get_idx(slices, j);
			json_object *meta = get(sl, "metadata");
			const char *sns = get_str(meta, "namespace");
			const char *owner = get_str(get(meta, "labels"), K8S_LABEL_SERVICE);
			char key[256];

			if (!sns || !owner)
				continue;
			snprintf(key, sizeof(key), "%s/%s", sns, owner);
			if (strcmp(key, s->key))
				continue;
			err = slice_merge(sl, s, &cap, weights, warn);
			if (err)
				goto fail;
		}
		if (s->n_inst)
			qsort(s->inst, s->n_inst, sizeof(*s->inst), cmp_inst);
	}
	/* (the duplicate check depends on order: the caches hand objects sorted by key) */
	qsort(d.svc, d.n, sizeof(*d.svc), cmp_svc);
	*out = d;
	return 0;
fail:
	k8s_desired_free(&d);
	return err;
}
