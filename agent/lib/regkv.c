// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The shared registry as key-value records (etcd key layout): encode, decode with local parts. */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "addr.h"
#include "regkv.h"

static const char *const kind_dirs[] = {
	[SVC_REGKV_SERVICE] = "services", [SVC_REGKV_INSTANCE] = "instances",
	[SVC_REGKV_BINDING] = "bindings", [SVC_REGKV_RULE] = "rules",
	[SVC_REGKV_PREFIX] = "prefixes",  [SVC_REGKV_NEXTHOP] = "nexthops",
	[SVC_REGKV_ID] = "ids",
};
#define N_KINDS (sizeof(kind_dirs) / sizeof(kind_dirs[0]))

void svc_regkv_list_free(struct svc_regkv_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->kv[i].key);
		free(l->kv[i].value);
	}
	free(l->kv);
	memset(l, 0, sizeof(*l));
}

int svc_regkv_list_add(struct svc_regkv_list *l, const char *key, const char *value, int64_t lease,
		       int64_t mod_rev)
{
	struct svc_regkv *kv;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;

		kv = realloc(l->kv, cap * sizeof(*kv));
		if (!kv)
			return -ENOMEM;
		l->kv = kv;
		l->cap = cap;
	}
	kv = &l->kv[l->n];
	kv->key = strdup(key);
	kv->value = strdup(value);
	kv->lease = lease;
	kv->mod_rev = mod_rev;
	if (!kv->key || !kv->value) {
		free(kv->key);
		free(kv->value);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

static int kv_cmp(const void *x, const void *y, void *arg)
{
	(*(uint64_t *)arg)++;
	return strcmp(((const struct svc_regkv *)x)->key, ((const struct svc_regkv *)y)->key);
}

/* Where @kv goes in the sorted kv[0..hi): after the records with keys <= its. */
static size_t upper_bound(struct svc_regkv_list *l, size_t hi, const struct svc_regkv *kv)
{
	size_t lo = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (kv_cmp(kv, &l->kv[mid], &l->cmps) < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * Sorts the tail, then merges it in from the back: each tail record finds its
 * place by binary search and the sorted records after it move as one block,
 * so a merge costs tail * log(n) comparisons, not n.
 */
void svc_regkv_list_sort(struct svc_regkv_list *l)
{
	size_t tail = l->n - l->n_sorted, hi = l->n_sorted, end = l->n;
	struct svc_regkv *t;

	if (!tail)
		return;
	qsort_r(&l->kv[l->n_sorted], tail, sizeof(*l->kv), kv_cmp, &l->cmps);
	if (!hi || kv_cmp(&l->kv[hi - 1], &l->kv[hi], &l->cmps) <= 0)
		goto out;
	t = malloc(tail * sizeof(*t));
	if (!t) {
		/* sorting all in place needs no memory */
		qsort_r(l->kv, l->n, sizeof(*l->kv), kv_cmp, &l->cmps);
		goto out;
	}
	memcpy(t, &l->kv[hi], tail * sizeof(*t));
	while (tail) {
		size_t p = upper_bound(l, hi, &t[tail - 1]);

		end -= hi - p;
		memmove(&l->kv[end], &l->kv[p], (hi - p) * sizeof(*t));
		l->kv[--end] = t[--tail];
		hi = p;
	}
	free(t);
out:
	l->n_sorted = l->n;
}

void svc_regkv_list_del(struct svc_regkv_list *l, size_t i)
{
	free(l->kv[i].key);
	free(l->kv[i].value);
	memmove(&l->kv[i], &l->kv[i + 1], (l->n - i - 1) * sizeof(*l->kv));
	l->n--;
	if (i < l->n_sorted)
		l->n_sorted--;
}

const struct svc_regkv *svc_regkv_list_find(struct svc_regkv_list *l, const char *key)
{
	struct svc_regkv k = { .key = (char *)key };
	size_t lo = 0, hi = l->n_sorted;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = kv_cmp(&k, &l->kv[mid], &l->cmps);

		if (!c)
			return &l->kv[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	for (size_t i = l->n_sorted; i < l->n; i++)
		if (!kv_cmp(&k, &l->kv[i], &l->cmps))
			return &l->kv[i];
	return NULL;
}

const struct svc_regkv *svc_regkv_list_lookup(struct svc_regkv_list *l, const char *key)
{
	if (l->n - l->n_sorted > SVC_REGKV_LIST_TAIL)
		svc_regkv_list_sort(l);
	return svc_regkv_list_find(l, key);
}

const char *svc_regkv_base(const char *root, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/", root && root[0] ? root : SVC_REGKV_DEFAULT_ROOT,
		 SVC_REGKV_VERSION);
	return buf;
}

int svc_regkv_kind_of(const char *base, const char *key, const char **rest)
{
	size_t bl = strlen(base);

	if (strncmp(key, base, bl))
		return SVC_REGKV_UNKNOWN;
	key += bl;
	for (size_t k = 1; k < N_KINDS; k++) {
		size_t dl = strlen(kind_dirs[k]);

		if (!strncmp(key, kind_dirs[k], dl) && key[dl] == '/' && key[dl + 1]) {
			if (rest)
				*rest = key + dl + 1;
			return (int)k;
		}
	}
	return SVC_REGKV_UNKNOWN;
}

static const char *key2(const char *base, int kind, const char *a, const char *b, char *buf,
			size_t len)
{
	snprintf(buf, len, "%s%s/%s%s%s", base, kind_dirs[kind], a, b ? "/" : "", b ? b : "");
	return buf;
}

const char *svc_regkv_key_instance(const char *base, const struct svc_sid *sid,
				   const struct svc_addr *addr, char *buf, size_t len)
{
	char s[SVC_ADDR_STRLEN], a[SVC_ADDR_STRLEN];

	return key2(base, SVC_REGKV_INSTANCE, svc_sid_format(sid, s, sizeof(s)),
		    svc_addr_format(addr, a, sizeof(a)), buf, len);
}

const char *svc_regkv_key_nexthop(const char *base, const struct svc_addr *addr, char *buf,
				  size_t len)
{
	char a[SVC_ADDR_STRLEN];

	return key2(base, SVC_REGKV_NEXTHOP, svc_addr_format(addr, a, sizeof(a)), NULL, buf, len);
}

const char *svc_regkv_key_id(const char *base, __u32 id, char *buf, size_t len)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", id);
	return key2(base, SVC_REGKV_ID, s, NULL, buf, len);
}

/* ---- values ---- */

static char *to_text(json_object *o)
{
	char *s = o ? strdup(json_object_to_json_string_ext(
			      o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))
		    : NULL;

	json_object_put(o);
	return s;
}

static void put_s(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void put_i(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static json_object *health_json(const struct svc_reg_health *hc)
{
	json_object *h = json_object_new_object();

	put_s(h, "type", svc_hc_type_names[hc->type]);
	put_i(h, "port", hc->port);
	put_i(h, "interval_ms", hc->interval_ms);
	put_i(h, "timeout_ms", hc->timeout_ms);
	put_i(h, "rise", hc->rise);
	put_i(h, "fall", hc->fall);
	if (hc->type == SVC_HC_HTTP) {
		put_s(h, "path", hc->path);
		put_i(h, "expect", hc->expect);
	}
	return h;
}

static char *service_value(const struct svc_reg_service *s)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];

	put_s(o, "sid", svc_sid_format(&s->sid, b, sizeof(b)));
	put_s(o, "name", s->name);
	if (s->hc.type != SVC_HC_NONE)
		json_object_object_add(o, "health", health_json(&s->hc));
	return to_text(o);
}

char *svc_regkv_instance_value(const struct svc_reg_instance *in)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];

	put_s(o, "sid", svc_sid_format(&in->sid, b, sizeof(b)));
	put_s(o, "addr", svc_addr_format(&in->addr, b, sizeof(b)));
	put_i(o, "weight", in->weight);
	put_s(o, "state", svc_state_names[in->up]);
	put_s(o, "name", in->name);
	put_s(o, "mode", svc_mode_names_inst[in->mode]);
	put_i(o, "lease", in->lease_s);
	json_object_object_add(o, "strip_options", json_object_new_boolean(in->strip_opts));
	return to_text(o);
}

static char *binding_value(const struct svc_reg_binding *bd)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];

	put_s(o, "binding", svc_binding_format(&bd->key, b, sizeof(b)));
	put_s(o, "sid", svc_sid_format(&bd->sid, b, sizeof(b)));
	return to_text(o);
}

static char *rule_value(const struct svc_reg_rule *ru)
{
	json_object *o = json_object_new_object(), *hops = json_object_new_array();
	char b[SVC_ADDR_STRLEN];

	put_s(o, "prefix", svc_prefix_format(&ru->prefix, b, sizeof(b)));
	put_s(o, "action", svc_action_names[ru->action]);
	for (size_t h = 0; h < ru->nhops; h++) {
		json_object *e = json_object_new_object();

		put_s(e, "addr", svc_addr_format(&ru->hops[h].addr, b, sizeof(b)));
		put_i(e, "weight", ru->hops[h].weight);
		json_object_array_add(hops, e);
	}
	json_object_object_add(o, "hops", hops);
	return to_text(o);
}

static char *prefix_value(const struct svc_lpm_key *p)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];

	put_s(o, "prefix", svc_prefix_format(p, b, sizeof(b)));
	return to_text(o);
}

char *svc_regkv_nexthop_value(const struct svc_addr *addr, __u32 id, bool reset)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];

	put_s(o, "addr", svc_addr_format(addr, b, sizeof(b)));
	put_i(o, "id", id);
	if (reset)
		json_object_object_add(o, "reset", json_object_new_boolean(true));
	return to_text(o);
}

char *svc_regkv_id_value(const struct svc_addr *addr)
{
	json_object *o = json_object_new_object();
	char b[SVC_ADDR_STRLEN];

	put_s(o, "addr", svc_addr_format(addr, b, sizeof(b)));
	return to_text(o);
}

static json_object *parse_obj(const char *value)
{
	json_object *o = json_tokener_parse(value);

	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static const char *get_s(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool get_i(json_object *o, const char *k, int64_t min, int64_t max, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return *out >= min && *out <= max;
}

static bool get_b(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

int svc_regkv_nexthop_parse(const char *value, struct svc_addr *addr, __u32 *id, bool *reset)
{
	json_object *o = parse_obj(value);
	const char *s;
	int64_t x;
	int ret = -EINVAL;

	if (!o)
		return -EINVAL;
	s = get_s(o, "addr");
	if (s && !svc_addr_parse(s, addr) && get_i(o, "id", 1, SVC_MAX_NEXTHOPS - 1, &x)) {
		*id = (__u32)x;
		*reset = get_b(o, "reset");
		ret = 0;
	}
	json_object_put(o);
	return ret;
}

__u32 svc_regkv_instance_lease(const char *value)
{
	json_object *o = parse_obj(value);
	int64_t x = 0;

	if (!o)
		return 0;
	if (!get_i(o, "lease", 0, 86400, &x))
		x = 0;
	json_object_put(o);
	return (__u32)x;
}

/* ---- encode ---- */

static int add_owned(struct svc_regkv_list *l, const char *key, char *value)
{
	int err;

	if (!value)
		return -ENOMEM;
	err = svc_regkv_list_add(l, key, value, 0, 0);
	free(value);
	return err;
}

int svc_regkv_encode(const struct svc_reg *r, const char *base, struct svc_regkv_list *out)
{
	char key[512], a[SVC_ADDR_STRLEN];
	int err = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; !err && i < r->n_services; i++)
		err = add_owned(out,
				key2(base, SVC_REGKV_SERVICE,
				     svc_sid_format(&r->services[i].sid, a, sizeof(a)), NULL, key,
				     sizeof(key)),
				service_value(&r->services[i]));
	for (size_t i = 0; !err && i < r->n_instances; i++)
		err = add_owned(out,
				svc_regkv_key_instance(base, &r->instances[i].sid,
						       &r->instances[i].addr, key, sizeof(key)),
				svc_regkv_instance_value(&r->instances[i]));
	for (size_t i = 0; !err && i < r->n_bindings; i++)
		err = add_owned(out,
				key2(base, SVC_REGKV_BINDING,
				     svc_binding_format(&r->bindings[i].key, a, sizeof(a)), NULL,
				     key, sizeof(key)),
				binding_value(&r->bindings[i]));
	for (size_t i = 0; !err && i < r->n_rules; i++)
		err = add_owned(out,
				key2(base, SVC_REGKV_RULE,
				     svc_prefix_format(&r->rules[i].prefix, a, sizeof(a)), NULL,
				     key, sizeof(key)),
				rule_value(&r->rules[i]));
	for (size_t i = 0; !err && i < r->n_prefixes; i++)
		err = add_owned(out,
				key2(base, SVC_REGKV_PREFIX,
				     svc_prefix_format(&r->prefixes[i], a, sizeof(a)), NULL, key,
				     sizeof(key)),
				prefix_value(&r->prefixes[i]));
	if (err) {
		svc_regkv_list_free(out);
		return err;
	}
	svc_regkv_list_sort(out);
	return 0;
}

/* ---- decode ---- */

struct parsed {
	const struct svc_regkv *kv;
	json_object *o;
	int kind;
};

static void skip(struct svc_regkv_report *rep, const char *key, const char *why)
{
	if (!rep->skipped)
		snprintf(rep->first, sizeof(rep->first), "%.160s: %.90s", key, why);
	rep->skipped++;
}

static bool addr_eq(const struct svc_addr *a, const struct svc_addr *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* The per-host parts: source addresses, decap sources, attachments, TI-flow, direct path. */
static int copy_local(struct svc_reg *out, const struct svc_reg *local)
{
	struct svc_err err;

	out->src4 = local->src4;
	out->src6 = local->src6;
	out->has_src4 = local->has_src4;
	out->has_src6 = local->has_src6;
	out->tiflow = local->tiflow;
	out->direct = local->direct;
	for (size_t i = 0; i < local->n_decaps; i++)
		if (svc_reg_decap_add(out, &local->decaps[i], &err))
			return -ENOMEM;
	for (size_t i = 0; i < local->n_attachments; i++)
		if (svc_reg_attach_add(out, local->attachments[i].iface, local->attachments[i].prog,
				       local->attachments[i].mode, &err))
			return -ENOMEM;
	return 0;
}

/* Parses a rule record's hops; -1 with @why on a malformed one. */
static int rule_parse(json_object *o, struct svc_lpm_key *p, int *act, struct svc_reg_hop *hops,
		      size_t *nh, const char **why)
{
	const char *s = get_s(o, "prefix"), *as = get_s(o, "action");
	json_object *ha;

	*why = "malformed rule";
	if (!s || svc_prefix_parse(s, p) || !as || (*act = svc_action_parse(as)) < 0 ||
	    !json_object_object_get_ex(o, "hops", &ha) || !json_object_is_type(ha, json_type_array))
		return -1;
	*nh = json_object_array_length(ha);
	if (*nh > SVC_REG_MAX_HOPS)
		return -1;
	for (size_t h = 0; h < *nh; h++) {
		json_object *he = json_object_array_get_idx(ha, h);
		const char *hs = get_s(he, "addr");
		int64_t w;

		if (!hs || svc_addr_parse(hs, &hops[h].addr) ||
		    !get_i(he, "weight", 1, SVC_MAX_WEIGHT, &w))
			return -1;
		hops[h].weight = (__u32)w;
	}
	return 0;
}

static int addr_cmp(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct svc_addr));
}

/*
 * The addresses instances and rule hops among the records use, sorted (for
 * bsearch; a scan of every record per next hop made a first decode of 10,000
 * instances O(n^2): 3.7 s). *n_used = 0 and NULL if none or out of memory
 * (-ENOMEM in *err).
 */
static struct svc_addr *used_addrs(const struct parsed *p, size_t n, size_t *n_used, int *err)
{
	struct svc_reg_hop hops[SVC_REG_MAX_HOPS];
	struct svc_addr *u = NULL, *t;
	size_t cap = 0, k = 0, nh;
	struct svc_lpm_key pfx;
	const char *s, *why;
	int act;

	*err = 0;
	for (size_t i = 0; i < n; i++) {
		nh = 0;
		if (p[i].kind == SVC_REGKV_INSTANCE) {
			s = get_s(p[i].o, "addr");
			if (s && !svc_addr_parse(s, &hops[0].addr))
				nh = 1;
		} else if (p[i].kind == SVC_REGKV_RULE &&
			   rule_parse(p[i].o, &pfx, &act, hops, &nh, &why)) {
			nh = 0;
		}
		if (k + nh > cap) {
			cap = (k + nh) * 2 + 64;
			t = realloc(u, cap * sizeof(*u));
			if (!t) {
				free(u);
				*n_used = 0;
				*err = -ENOMEM;
				return NULL;
			}
			u = t;
		}
		for (size_t h = 0; h < nh; h++)
			u[k++] = hops[h].addr;
	}
	if (k)
		qsort(u, k, sizeof(*u), addr_cmp);
	*n_used = k;
	return u;
}

static int decode_service(const char *base, const struct parsed *p, const struct svc_reg *local,
			  struct svc_reg *out, bool known_pass, struct svc_regkv_report *rep)
{
	const char *s = get_s(p->o, "sid"), *name = get_s(p->o, "name");
	const struct svc_reg_service *ls;
	struct svc_reg_health hc = { 0 };
	char key[512], b[SVC_ADDR_STRLEN];
	struct svc_err err;
	struct svc_sid sid;
	json_object *h;

	if (!s || svc_sid_parse(s, &sid) || !name) {
		if (known_pass)
			skip(rep, p->kv->key, "malformed service");
		return 0;
	}
	ls = svc_reg_service_find(local, &sid);
	if (!!ls != known_pass)
		return 0;
	if (strcmp(key2(base, SVC_REGKV_SERVICE, svc_sid_format(&sid, b, sizeof(b)), NULL, key,
			sizeof(key)),
		   p->kv->key)) {
		skip(rep, p->kv->key, "key does not match the service's serviceID");
		return 0;
	}
	if (json_object_object_get_ex(p->o, "health", &h) && svc_hc_from_json(h, &hc, &err)) {
		skip(rep, p->kv->key, err.msg);
		return 0;
	}
	if (svc_reg_service_add_ids(out, &sid, name, ls ? ls->rule_id : 0, ls ? ls->set_id : 0,
				    &err)) {
		if (err.code == SVC_API_INTERNAL && strstr(err.msg, "memory"))
			return -ENOMEM;
		skip(rep, p->kv->key, err.msg);
		return 0;
	}
	out->services[out->n_services - 1].hc = hc;
	if (ls)
		out->services[out->n_services - 1].resolved = ls->resolved;
	rep->used++;
	return 0;
}

static int decode_rule(const char *base, const struct parsed *p, const struct svc_reg *local,
		       struct svc_reg *out, bool known_pass, struct svc_regkv_report *rep)
{
	struct svc_reg_hop hops[SVC_REG_MAX_HOPS];
	const struct svc_reg_rule *lr;
	char key[512], b[SVC_ADDR_STRLEN];
	struct svc_lpm_key pfx;
	struct svc_err err;
	const char *why;
	size_t nh;
	int act;

	if (rule_parse(p->o, &pfx, &act, hops, &nh, &why)) {
		if (known_pass)
			skip(rep, p->kv->key, why);
		return 0;
	}
	lr = svc_reg_rule_find(local, &pfx);
	/* a local rule keeps its ids only if it is still a rule of the same kind */
	if (lr && (lr->action == SVC_ACT_FORWARD) != (act == SVC_ACT_FORWARD))
		lr = NULL;
	if (!!lr != known_pass)
		return 0;
	if (strcmp(key2(base, SVC_REGKV_RULE, svc_prefix_format(&pfx, b, sizeof(b)), NULL, key,
			sizeof(key)),
		   p->kv->key)) {
		skip(rep, p->kv->key, "key does not match the rule's prefix");
		return 0;
	}
	for (size_t h = 0; h < nh; h++)
		if (!svc_reg_nh_id(out, &hops[h].addr)) {
			skip(rep, p->kv->key, "a next hop has no id (nexthops/ record missing)");
			return 0;
		}
	if (svc_reg_rule_add_ids(out, &pfx, act, hops, nh, lr ? lr->rule_id : 0,
				 lr ? lr->set_id : 0, &err)) {
		skip(rep, p->kv->key, err.msg);
		return 0;
	}
	rep->used++;
	return 0;
}

static void decode_instance(const char *base, const struct parsed *p, const struct svc_reg *local,
			    struct svc_reg *out, struct svc_regkv_report *rep)
{
	const char *s = get_s(p->o, "sid"), *as = get_s(p->o, "addr"), *st = get_s(p->o, "state"),
		   *name = get_s(p->o, "name"), *mode = get_s(p->o, "mode");
	const struct svc_reg_instance *li;
	struct svc_reg_instance *in;
	struct svc_addr addr;
	struct svc_sid sid;
	struct svc_err err;
	int64_t w, lease = 0;
	char key[512];
	int m = 0;

	if (!s || svc_sid_parse(s, &sid) || !as || svc_addr_parse(as, &addr) || !st ||
	    (strcmp(st, "up") && strcmp(st, "down")) || !name ||
	    !get_i(p->o, "weight", 1, SVC_MAX_WEIGHT, &w)) {
		skip(rep, p->kv->key, "malformed instance");
		return;
	}
	if (mode) {
		for (m = 0; svc_mode_names_inst[m]; m++)
			if (!strcmp(mode, svc_mode_names_inst[m]))
				break;
		if (!svc_mode_names_inst[m]) {
			skip(rep, p->kv->key, "unknown instance mode");
			return;
		}
	}
	if (json_object_object_get_ex(p->o, "lease", NULL) &&
	    !get_i(p->o, "lease", 0, 86400, &lease)) {
		skip(rep, p->kv->key, "instance lease out of range");
		return;
	}
	if (strcmp(svc_regkv_key_instance(base, &sid, &addr, key, sizeof(key)), p->kv->key)) {
		skip(rep, p->kv->key, "key does not match the instance's service and address");
		return;
	}
	if (!svc_reg_nh_id(out, &addr)) {
		skip(rep, p->kv->key, "its address has no id (nexthops/ record missing)");
		return;
	}
	if (svc_reg_instance_add(out, &sid, &addr, (__u32)w, name, &err)) {
		skip(rep, p->kv->key, err.msg);
		return;
	}
	in = &out->instances[out->n_instances - 1];
	in->up = !strcmp(st, "up");
	in->mode = (__u8)m;
	in->lease_s = (__u32)lease;
	in->strip_opts = get_b(p->o, "strip_options");
	/* etcd's lease ends a registration, not a local timer */
	in->lease_expires = 0;
	li = svc_reg_instance_find(local, &sid, &addr);
	if (li) {
		in->health_down = li->health_down;
		memcpy(in->health_why, li->health_why, sizeof(in->health_why));
	}
	rep->used++;
}

static void decode_binding(const char *base, const struct parsed *p, struct svc_reg *out,
			   struct svc_regkv_report *rep)
{
	const char *bs = get_s(p->o, "binding"), *ss = get_s(p->o, "sid");
	struct svc_binding_key k;
	char key[512], b[SVC_ADDR_STRLEN];
	struct svc_sid sid;
	struct svc_err err;

	memset(&k, 0, sizeof(k));
	if (!bs || svc_binding_parse(bs, &k) || !ss || svc_sid_parse(ss, &sid)) {
		skip(rep, p->kv->key, "malformed binding");
		return;
	}
	if (strcmp(key2(base, SVC_REGKV_BINDING, svc_binding_format(&k, b, sizeof(b)), NULL, key,
			sizeof(key)),
		   p->kv->key)) {
		skip(rep, p->kv->key, "key does not match the binding");
		return;
	}
	if (svc_reg_binding_add(out, &k, &sid, &err)) {
		skip(rep, p->kv->key, err.msg);
		return;
	}
	rep->used++;
}

static void decode_prefix(const char *base, const struct parsed *p, struct svc_reg *out,
			  struct svc_regkv_report *rep)
{
	const char *ps = get_s(p->o, "prefix");
	char key[512], b[SVC_ADDR_STRLEN];
	struct svc_lpm_key pfx;
	struct svc_err err;

	if (!ps || svc_prefix_parse(ps, &pfx)) {
		skip(rep, p->kv->key, "malformed prefix");
		return;
	}
	if (strcmp(key2(base, SVC_REGKV_PREFIX, svc_prefix_format(&pfx, b, sizeof(b)), NULL, key,
			sizeof(key)),
		   p->kv->key)) {
		skip(rep, p->kv->key, "key does not match the prefix");
		return;
	}
	if (svc_reg_prefix_add(out, &pfx, &err)) {
		skip(rep, p->kv->key, err.msg);
		return;
	}
	rep->used++;
}

/* Next hops: etcd's ids for addresses in use, and the ones @local still drains. */
static int decode_nexthops(const char *base, const struct parsed *p, size_t n,
			   const struct svc_reg *local, struct svc_reg *out,
			   struct svc_regkv_report *rep)
{
	size_t n_used;
	char key[512];
	struct svc_err err;
	int ret;
	struct svc_addr *used = used_addrs(p, n, &n_used, &ret);

	if (ret)
		return ret;

	for (size_t i = 0; i < n; i++) {
		const struct svc_reg_nh *ln = NULL;
		struct svc_addr addr;
		bool reset;
		__u32 id;

		if (p[i].kind != SVC_REGKV_NEXTHOP)
			continue;
		if (svc_regkv_nexthop_parse(p[i].kv->value, &addr, &id, &reset)) {
			skip(rep, p[i].kv->key, "malformed next hop");
			continue;
		}
		if (strcmp(svc_regkv_key_nexthop(base, &addr, key, sizeof(key)), p[i].kv->key)) {
			skip(rep, p[i].kv->key, "key does not match the next hop's address");
			continue;
		}
		for (size_t k = 0; k < local->n_nexthops; k++)
			if (addr_eq(&local->nexthops[k].addr, &addr))
				ln = &local->nexthops[k];
		/* an id nobody uses and this host forgot stays in etcd only */
		if (!ln && !(n_used && bsearch(&addr, used, n_used, sizeof(*used), addr_cmp)))
			continue;
		if (svc_reg_nh_set(out, &addr, id, reset || (ln && ln->reset), &err)) {
			skip(rep, p[i].kv->key, err.msg);
			continue;
		}
		rep->used++;
	}
	for (size_t k = 0; k < local->n_nexthops; k++) {
		const struct svc_reg_nh *ln = &local->nexthops[k];

		/* still draining here, and its id is not someone else's now */
		if (!svc_reg_nh_id(out, &ln->addr))
			svc_reg_nh_set(out, &ln->addr, ln->id, ln->reset, &err);
	}
	free(used);
	return 0;
}

int svc_regkv_decode(const char *base, const struct svc_regkv_list *kv, const struct svc_reg *local,
		     struct svc_reg *out, struct svc_regkv_report *rep)
{
	struct parsed *p = calloc(kv->n ? kv->n : 1, sizeof(*p));
	size_t n = 0;
	int err = 0;

	memset(rep, 0, sizeof(*rep));
	svc_reg_init(out);
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < kv->n; i++) {
		int kind = svc_regkv_kind_of(base, kv->kv[i].key, NULL);

		if (kind == SVC_REGKV_UNKNOWN) {
			skip(rep, kv->kv[i].key, "unknown key");
			continue;
		}
		if (kind == SVC_REGKV_ID)
			continue; /* the reverse index: only allocation reads it */
		p[n].kv = &kv->kv[i];
		p[n].kind = kind;
		p[n].o = parse_obj(kv->kv[i].value);
		if (!p[n].o) {
			skip(rep, kv->kv[i].key, "value is not a JSON object");
			continue;
		}
		n++;
	}
	err = copy_local(out, local);
	if (err)
		goto out;
	err = decode_nexthops(base, p, n, local, out, rep);
	/* ids known locally first, so that new services and rules cannot take them */
	for (int pass = 1; !err && pass >= 0; pass--)
		for (size_t i = 0; !err && i < n; i++) {
			if (p[i].kind == SVC_REGKV_SERVICE)
				err = decode_service(base, &p[i], local, out, pass, rep);
			else if (p[i].kind == SVC_REGKV_RULE)
				err = decode_rule(base, &p[i], local, out, pass, rep);
		}
	for (size_t i = 0; !err && i < n; i++) {
		if (p[i].kind == SVC_REGKV_INSTANCE)
			decode_instance(base, &p[i], local, out, rep);
		else if (p[i].kind == SVC_REGKV_BINDING)
			decode_binding(base, &p[i], out, rep);
		else if (p[i].kind == SVC_REGKV_PREFIX)
			decode_prefix(base, &p[i], out, rep);
	}
out:
	for (size_t i = 0; i < n; i++)
		json_object_put(p[i].o);
	free(p);
	if (err)
		svc_reg_free(out);
	return err;
}
