// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* One resource kind's objects as list + watch leave them, shared by its watcher and the reconciler.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "k8s.h"

void k8s_cache_init(struct k8s_cache *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->objs = json_object_new_object();
}

void k8s_cache_fini(struct k8s_cache *c)
{
	json_object_put(c->objs);
	pthread_mutex_destroy(&c->lock);
}

/* obj_key - "namespace/name" of an object; -EINVAL without a name. */
static int obj_key(json_object *o, char *key, size_t len)
{
	json_object *meta = NULL, *ns = NULL, *name = NULL;

	if (!json_object_object_get_ex(o, "metadata", &meta) ||
	    !json_object_object_get_ex(meta, "name", &name) ||
	    !json_object_is_type(name, json_type_string))
		return -EINVAL;
	json_object_object_get_ex(meta, "namespace", &ns);
	snprintf(key, len, "%s/%s", ns ? json_object_get_string(ns) : "",
		 json_object_get_string(name));
	return 0;
}

static void obj_rv(json_object *o, char *rv, size_t len)
{
	json_object *meta = NULL, *v = NULL;

	if (json_object_object_get_ex(o, "metadata", &meta) &&
	    json_object_object_get_ex(meta, "resourceVersion", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(rv, len, "%s", json_object_get_string(v));
}

void k8s_cache_replace(struct k8s_cache *c, json_object *items, const char *rv)
{
	json_object *objs = json_object_new_object();
	char key[512];

	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		json_object *o = json_object_array_get_idx(items, i);

		if (!obj_key(o, key, sizeof(key)))
			json_object_object_add(objs, key, json_object_get(o));
	}
	pthread_mutex_lock(&c->lock);
	json_object_put(c->objs);
	c->objs = objs;
	snprintf(c->rv, sizeof(c->rv), "%s", rv);
	c->synced = true;
	c->generation++;
	pthread_mutex_unlock(&c->lock);
}

int k8s_cache_event(struct k8s_cache *c, json_object *ev)
{
	json_object *type = NULL, *obj = NULL, *code = NULL;
	const char *t;
	char key[512];

	if (!json_object_object_get_ex(ev, "type", &type) ||
	    !json_object_object_get_ex(ev, "object", &obj) ||
	    !json_object_is_type(obj, json_type_object))
		return -EPROTO;
	t = json_object_get_string(type);
	if (!strcmp(t, "ERROR")) {
		/* a metav1.Status: 410 = our resourceVersion is too old */
		json_object_object_get_ex(obj, "code", &code);
		return code && json_object_get_int(code) == 410 ? -ESTALE : -EPROTO;
	}
	pthread_mutex_lock(&c->lock);
	obj_rv(obj, c->rv, sizeof(c->rv));
	if (!strcmp(t, "BOOKMARK")) {
		pthread_mutex_unlock(&c->lock);
		return 1;
	}
	if (obj_key(obj, key, sizeof(key))) {
		pthread_mutex_unlock(&c->lock);
		return -EPROTO;
	}
	if (!strcmp(t, "ADDED") || !strcmp(t, "MODIFIED"))
		json_object_object_add(c->objs, key, json_object_get(obj));
	else if (!strcmp(t, "DELETED"))
		json_object_object_del(c->objs, key);
	else {
		pthread_mutex_unlock(&c->lock);
		return -EPROTO;
	}
	c->generation++;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

struct kv {
	const char *key;
	json_object *obj;
};

static int cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

json_object *k8s_cache_snapshot(struct k8s_cache *c, unsigned long *gen, bool *synced)
{
	json_object *arr = json_object_new_array();
	struct kv *v;
	size_t n = 0;
	bool ok;

	pthread_mutex_lock(&c->lock);
	v = calloc((size_t)json_object_object_length(c->objs) + 1, sizeof(*v));
	ok = v != NULL;
	if (v) {
		json_object_object_foreach(c->objs, k, o)
		{
			v[n].key = k;
			v[n++].obj = o;
		}
		/* key order, so that which of two claims wins does not depend on event order */
		qsort(v, n, sizeof(*v), cmp_kv);
		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, json_object_get(v[i].obj));
		free(v);
	}
	if (gen)
		*gen = c->generation;
	if (synced)
		*synced = c->synced && ok;
	pthread_mutex_unlock(&c->lock);
	return arr;
}
