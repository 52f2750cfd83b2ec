// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Desired-state registry: validated operations, persistent id allocation, JSON form. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "addr.h"
#include "dataplane.h"
#include "registry.h"
#include "svc_tiflow.h"

const char *const svc_action_names[] = {
	[SVC_ACT_NONE] = NULL,	   [SVC_ACT_FORWARD] = "forward", [SVC_ACT_DEMUX] = "demux",
	[SVC_ACT_DELAY] = "delay", [SVC_ACT_DROP] = "drop",	  NULL,
};
const char *const svc_prog_names[] = {
	[SVC_PROG_ROUTER] = "router", [SVC_PROG_ENDPOINT] = "endpoint", NULL
};
const char *const svc_mode_names[] = { [SVC_XDP_NATIVE] = "native", [SVC_XDP_SKB] = "skb", NULL };
const char *const svc_state_names[] = { "down", "up", NULL };
const char *const svc_mode_names_inst[] = { "active", "drain", "shed", NULL };

_Static_assert(SVC_PROG_MAX == 2, "svc_prog_names lists every program");

int svc_action_parse(const char *s)
{
	for (int i = SVC_ACT_FORWARD; i <= SVC_ACT_DROP; i++)
		if (s && !strcmp(s, svc_action_names[i]))
			return i;
	return -1;
}

/* Grows @p (elements of @size) to hold @need; returns the new pointer or NULL. */
static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 8;
	void *np;

	if (need <= *cap)
		return p;
	while (ncap < need)
		ncap *= 2;
	np = realloc(p, ncap * size);
	if (!np)
		return NULL;
	*cap = ncap;
	return np;
}

#define PUSH(r, arr, errp)                                                                         \
	({                                                                                         \
		void *__np = grow((r)->arr, &(r)->cap_##arr, (r)->n_##arr + 1, sizeof(*(r)->arr)); \
		if (__np)                                                                          \
			(r)->arr = __np;                                                           \
		else                                                                               \
			svc_err_set(errp, SVC_API_INTERNAL, "out of memory");                      \
		__np ? &(r)->arr[(r)->n_##arr++] : NULL;                                           \
	})

#define REMOVE(r, arr, idx)                                            \
	do {                                                           \
		size_t __i = (idx);                                    \
		memmove(&(r)->arr[__i], &(r)->arr[__i + 1],            \
			((r)->n_##arr - __i - 1) * sizeof(*(r)->arr)); \
		(r)->n_##arr--;                                        \
	} while (0)

static bool bit_get(const __u64 *map, __u32 id)
{
	return map[id / 64] & (1ULL << (id % 64));
}

static void bit_set(__u64 *map, __u32 id, bool on)
{
	if (on)
		map[id / 64] |= 1ULL << (id % 64);
	else
		map[id / 64] &= ~(1ULL << (id % 64));
}

/*
 * Allocates the next free id in 1..max-1, starting at *next and wrapping, so
 * a freed id is reused as late as possible (counters and flows may still
 * reference it). Returns 0 when every id is taken.
 */
static __u32 id_alloc(__u64 *map, __u32 max, __u32 *next)
{
	for (__u32 k = 0; k < max; k++) {
		__u32 id = *next + k;

		id = 1 + (id - 1) % (max - 1);
		if (!bit_get(map, id)) {
			bit_set(map, id, true);
			*next = id % (max - 1) + 1;
			return id;
		}
	}
	return 0;
}

void svc_reg_init(struct svc_reg *r)
{
	memset(r, 0, sizeof(*r));
	r->next_nh = r->next_set = r->next_rule = 1;
}

static void rules_free(struct svc_reg_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rules[i].hops);
}

void svc_reg_free(struct svc_reg *r)
{
	if (!r)
		return;
	rules_free(r->rules, r->n_rules);
	free(r->services);
	free(r->instances);
	free(r->bindings);
	free(r->rules);
	free(r->prefixes);
	free(r->decaps);
	free(r->attachments);
	free(r->nexthops);
	svc_reg_init(r);
}

static void *dup_array(const void *p, size_t n, size_t size, bool *fail)
{
	void *d;

	if (!n)
		return NULL;
	d = malloc(n * size);
	if (!d) {
		*fail = true;
		return NULL;
	}
	memcpy(d, p, n * size);
	return d;
}

int svc_reg_dup(struct svc_reg *dst, const struct svc_reg *src)
{
	bool fail = false;

	*dst = *src;
#define DUP(arr)                                                                        \
	do {                                                                            \
		dst->arr = dup_array(src->arr, src->n_##arr, sizeof(*src->arr), &fail); \
		dst->cap_##arr = src->n_##arr;                                          \
	} while (0)
	DUP(services);
	DUP(instances);
	DUP(bindings);
	DUP(rules);
	DUP(prefixes);
	DUP(decaps);
	DUP(attachments);
	DUP(nexthops);
#undef DUP
	if (dst->rules) {
		for (size_t i = 0; i < dst->n_rules; i++)
			dst->rules[i].hops = NULL;
		for (size_t i = 0; i < dst->n_rules && !fail; i++)
			dst->rules[i].hops = dup_array(src->rules[i].hops, src->rules[i].nhops,
						       sizeof(struct svc_reg_hop), &fail);
	} else {
		dst->n_rules = 0;
	}
	if (fail) {
		svc_reg_free(dst);
		return -ENOMEM;
	}
	return 0;
}

void svc_reg_swap(struct svc_reg *a, struct svc_reg *b)
{
	struct svc_reg t = *a;

	*a = *b;
	*b = t;
}

static bool addr_eq(const struct svc_addr *a, const struct svc_addr *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static bool sid_eq(const struct svc_sid *a, const struct svc_sid *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static bool prefix_eq(const struct svc_lpm_key *a, const struct svc_lpm_key *b)
{
	return a->prefixlen == b->prefixlen && sid_eq(&a->sid, &b->sid);
}

static bool addr_zero(const struct svc_addr *a)
{
	static const struct svc_addr zero;
	struct svc_addr z4 = { .b = { [10] = 0xff, [11] = 0xff } };

	return addr_eq(a, &zero) || addr_eq(a, &z4);
}

struct svc_reg_service *svc_reg_service_find(const struct svc_reg *r, const struct svc_sid *sid)
{
	for (size_t i = 0; i < r->n_services; i++)
		if (sid_eq(&r->services[i].sid, sid))
			return &r->services[i];
	return NULL;
}

static struct svc_reg_service *service_by_name(const struct svc_reg *r, const char *name)
{
	for (size_t i = 0; i < r->n_services; i++)
		if (name[0] && !strcmp(r->services[i].name, name))
			return &r->services[i];
	return NULL;
}

struct svc_reg_instance *svc_reg_instance_find(const struct svc_reg *r, const struct svc_sid *sid,
					       const struct svc_addr *addr)
{
	for (size_t i = 0; i < r->n_instances; i++)
		if (sid_eq(&r->instances[i].sid, sid) && addr_eq(&r->instances[i].addr, addr))
			return &r->instances[i];
	return NULL;
}

struct svc_reg_rule *svc_reg_rule_find(const struct svc_reg *r, const struct svc_lpm_key *p)
{
	for (size_t i = 0; i < r->n_rules; i++)
		if (prefix_eq(&r->rules[i].prefix, p))
			return &r->rules[i];
	return NULL;
}

struct svc_reg_binding *svc_reg_binding_find(const struct svc_reg *r,
					     const struct svc_binding_key *k)
{
	for (size_t i = 0; i < r->n_bindings; i++)
		if (!memcmp(&r->bindings[i].key, k, sizeof(*k)))
			return &r->bindings[i];
	return NULL;
}

struct svc_reg_attach *svc_reg_attach_find(const struct svc_reg *r, const char *iface)
{
	for (size_t i = 0; i < r->n_attachments; i++)
		if (!strcmp(r->attachments[i].iface, iface))
			return &r->attachments[i];
	return NULL;
}

static struct svc_reg_nh *nh_find(const struct svc_reg *r, const struct svc_addr *addr)
{
	for (size_t i = 0; i < r->n_nexthops; i++)
		if (addr_eq(&r->nexthops[i].addr, addr))
			return &r->nexthops[i];
	return NULL;
}

__u32 svc_reg_nh_id(const struct svc_reg *r, const struct svc_addr *addr)
{
	struct svc_reg_nh *nh = nh_find(r, addr);

	return nh ? nh->id : 0;
}

bool svc_reg_nh_used(const struct svc_reg *r, const struct svc_addr *addr)
{
	for (size_t i = 0; i < r->n_instances; i++)
		if (addr_eq(&r->instances[i].addr, addr))
			return true;
	for (size_t i = 0; i < r->n_rules; i++)
		for (size_t h = 0; h < r->rules[i].nhops; h++)
			if (addr_eq(&r->rules[i].hops[h].addr, addr))
				return true;
	return false;
}

bool svc_reg_instance_eligible(const struct svc_reg_instance *in)
{
	return in->up && in->mode == SVC_INST_ACTIVE && !in->health_down;
}

/* Any instance at @addr whose host runs no svcplane: strip svcplane's options toward it. */
static __u32 nh_strip_flag(const struct svc_reg *r, const struct svc_addr *addr)
{
	for (size_t i = 0; i < r->n_instances; i++)
		if (r->instances[i].strip_opts && addr_eq(&r->instances[i].addr, addr))
			return SVC_NH_F_STRIP_OPTS;
	return 0;
}

/* The up/reset state of next hop @addr (see svc_reg_nh_flags). */
static __u32 nh_flags_state(const struct svc_reg *r, const struct svc_addr *addr)
{
	const struct svc_reg_nh *nh = nh_find(r, addr);
	bool keep = false, reset = false;

	for (size_t i = 0; i < r->n_instances; i++) {
		const struct svc_reg_instance *in = &r->instances[i];

		if (!addr_eq(&in->addr, addr))
			continue;
		if (svc_reg_instance_eligible(in))
			return SVC_NH_F_UP;
		/*
		 * drain, admin down and health down keep flows going (a failed
		 * check may be a slow instance); shed and dead reset them
		 */
		if (in->mode == SVC_INST_SHED)
			reset = true;
		else
			keep = true;
	}
	for (size_t i = 0; i < r->n_rules; i++)
		for (size_t h = 0; h < r->rules[i].nhops; h++)
			if (addr_eq(&r->rules[i].hops[h].addr, addr))
				return SVC_NH_F_UP;
	if (keep)
		return SVC_NH_F_UP;
	if (reset || (nh && nh->reset))
		return SVC_NH_F_RESET;
	return 0;
}

__u32 svc_reg_nh_flags(const struct svc_reg *r, const struct svc_addr *addr)
{
	__u32 f = nh_flags_state(r, addr);

	return f & SVC_NH_F_UP ? f | nh_strip_flag(r, addr) : f;
}

/* @sid lies inside @p. */
static bool prefix_contains(const struct svc_lpm_key *p, const struct svc_sid *sid)
{
	unsigned int full = p->prefixlen / 8, rest = p->prefixlen % 8;
	const __u8 *a = (const __u8 *)&p->sid, *b = (const __u8 *)sid;

	if (memcmp(a, b, full))
		return false;
	return !rest || ((a[full] ^ b[full]) & (__u8)(0xff << (8 - rest))) == 0;
}

const struct svc_reg_rule *svc_reg_covering_rule(const struct svc_reg *r, const struct svc_sid *sid)
{
	const struct svc_reg_rule *best = NULL;

	for (size_t i = 0; i < r->n_rules; i++) {
		const struct svc_reg_rule *ru = &r->rules[i];

		if (ru->prefix.prefixlen < 128 && prefix_contains(&ru->prefix, sid) &&
		    (!best || ru->prefix.prefixlen > best->prefix.prefixlen))
			best = ru;
	}
	return best;
}

bool svc_reg_service_on_demand(const struct svc_reg *r, const struct svc_reg_service *s)
{
	const struct svc_reg_rule *ru = svc_reg_covering_rule(r, &s->sid);

	return ru && ru->action == SVC_ACT_DELAY && !s->resolved;
}

void svc_reg_nh_set_reset(struct svc_reg *r, const struct svc_addr *addr, bool reset)
{
	struct svc_reg_nh *nh = nh_find(r, addr);

	if (nh)
		nh->reset = reset;
}

int svc_reg_nh_release(struct svc_reg *r, __u32 id)
{
	for (size_t i = 0; i < r->n_nexthops; i++) {
		if (r->nexthops[i].id != id)
			continue;
		if (svc_reg_nh_used(r, &r->nexthops[i].addr))
			return -EBUSY;
		bit_set(r->nh_used, id, false);
		REMOVE(r, nexthops, i);
		return 0;
	}
	return -ENOENT;
}

/*
 * The id an address asks for first: a hash of the address (FNV-1a, then
 * splitmix64's finalizer) in 1..SVC_MAX_NEXTHOPS-1. A next-hop id is also the
 * instance id flowIDs and TIFIDs carry, so routers configured alike must
 * agree on it whatever order instances were added in; only when two
 * addresses collide does the order decide which one takes the next free id.
 */
static __u32 nh_id_wanted(const struct svc_addr *addr)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < sizeof(addr->b); i++)
		h = (h ^ addr->b[i]) * 0x100000001b3ULL;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return 1 + (__u32)(h % (SVC_MAX_NEXTHOPS - 1));
}

/* Makes sure @addr has a next-hop id (allocating one); returns it, or 0 with @err set. */
static __u32 nh_ensure(struct svc_reg *r, const struct svc_addr *addr, struct svc_err *err)
{
	struct svc_reg_nh *nh = nh_find(r, addr);
	__u32 id, next = nh_id_wanted(addr);

	if (nh)
		return nh->id;
	nh = PUSH(r, nexthops, err);
	if (!nh)
		return 0;
	/* The hashed id, or on a collision the next free one after it. */
	id = id_alloc(r->nh_used, SVC_MAX_NEXTHOPS, &next);
	if (!id) {
		r->n_nexthops--;
		svc_err_set(err, SVC_API_INTERNAL, "no free next-hop id (%d in use)",
			    SVC_MAX_NEXTHOPS - 1);
		return 0;
	}
	nh->addr = *addr;
	nh->id = id;
	nh->reset = false;
	return id;
}

size_t svc_reg_instance_count(const struct svc_reg *r, const struct svc_sid *sid, size_t *up)
{
	size_t n = 0, u = 0;

	for (size_t i = 0; i < r->n_instances; i++) {
		if (!sid_eq(&r->instances[i].sid, sid))
			continue;
		n++;
		u += r->instances[i].up;
	}
	if (up)
		*up = u;
	return n;
}

size_t svc_reg_binding_count(const struct svc_reg *r, const struct svc_sid *sid)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_bindings; i++)
		n += sid_eq(&r->bindings[i].sid, sid);
	return n;
}

static const char *fmt_sid(const struct svc_sid *sid, char *buf)
{
	return svc_sid_format(sid, buf, SVC_ADDR_STRLEN);
}

static const char *fmt_addr(const struct svc_addr *a, char *buf)
{
	return svc_addr_format(a, buf, SVC_ADDR_STRLEN);
}

static const char *fmt_prefix(const struct svc_lpm_key *p, char *buf)
{
	return svc_prefix_format(p, buf, SVC_ADDR_STRLEN);
}

static int check_name(const char *name, const char *what, struct svc_err *err)
{
	if (name && name[0] && !svc_name_valid(name))
		return svc_err_set(err, SVC_API_INVALID,
				   "%s name '%.64s' is invalid (1-%d of A-Z a-z 0-9 . _ -)", what,
				   name, SVC_NAME_MAX);
	return 0;
}

/* Adds a service with given ids (0 = allocate). */
static int service_add_ids(struct svc_reg *r, const struct svc_sid *sid, const char *name,
			   __u32 rule_id, __u32 set_id, struct svc_err *err)
{
	struct svc_lpm_key own = { .prefixlen = 128, .sid = *sid };
	struct svc_reg_service *s;
	char b[SVC_ADDR_STRLEN];

	if (check_name(name, "service", err))
		return -1;
	if (svc_reg_service_find(r, sid))
		return svc_err_set(err, SVC_API_EXISTS, "service %s exists", fmt_sid(sid, b));
	if (name && name[0] && service_by_name(r, name))
		return svc_err_set(err, SVC_API_EXISTS, "service name '%s' is taken by %s", name,
				   fmt_sid(&service_by_name(r, name)->sid, b));
	if (svc_reg_rule_find(r, &own))
		return svc_err_set(err, SVC_API_EXISTS,
				   "an explicit rule for %s/128 exists (rule del it first)",
				   fmt_sid(sid, b));
	if (r->n_services + r->n_rules >= SVC_MAX_RULES - 1)
		return svc_err_set(err, SVC_API_INVALID, "service table full (%d rules)",
				   SVC_MAX_RULES - 1);
	if ((rule_id && bit_get(r->rule_used, rule_id)) || (set_id && bit_get(r->set_used, set_id)))
		return svc_err_set(err, SVC_API_INVALID, "service %s: rule or set id reused",
				   fmt_sid(sid, b));
	s = PUSH(r, services, err);
	if (!s)
		return -1;
	memset(s, 0, sizeof(*s));
	if (!rule_id)
		rule_id = id_alloc(r->rule_used, SVC_MAX_RULE_IDS, &r->next_rule);
	else
		bit_set(r->rule_used, rule_id, true);
	if (!set_id)
		set_id = id_alloc(r->set_used, SVC_MAX_SETS, &r->next_set);
	else
		bit_set(r->set_used, set_id, true);
	if (!rule_id || !set_id) {
		if (rule_id)
			bit_set(r->rule_used, rule_id, false);
		if (set_id)
			bit_set(r->set_used, set_id, false);
		r->n_services--;
		return svc_err_set(err, SVC_API_INTERNAL, "no free rule id or next-hop set id");
	}
	s->sid = *sid;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
	s->rule_id = rule_id;
	s->set_id = set_id;
	return 0;
}

int svc_reg_service_add(struct svc_reg *r, const struct svc_sid *sid, const char *name,
			struct svc_err *err)
{
	return service_add_ids(r, sid, name, 0, 0, err);
}

const char *const svc_hc_type_names[] = { "none", "tcp", "http", NULL };

/* An HTTP request path: '/' then printable ASCII without spaces. */
static bool hc_path_valid(const char *p)
{
	if (p[0] != '/' || strlen(p) > SVC_HC_PATH_MAX)
		return false;
	for (; *p; p++)
		if (*p <= ' ' || *p > '~')
			return false;
	return true;
}

/* hc_check - every field of an enabled health check in range. */
static int hc_check(const struct svc_reg_health *hc, struct svc_err *err)
{
	if (hc->type > SVC_HC_HTTP)
		return svc_err_set(err, SVC_API_INVALID, "health: unknown check type %u", hc->type);
	if (hc->type == SVC_HC_NONE)
		return 0;
	if (!hc->port)
		return svc_err_set(err, SVC_API_INVALID, "health: port 0");
	if (hc->interval_ms < SVC_HC_MS_MIN || hc->interval_ms > SVC_HC_MS_MAX ||
	    hc->timeout_ms < SVC_HC_MS_MIN || hc->timeout_ms > SVC_HC_MS_MAX)
		return svc_err_set(err, SVC_API_INVALID,
				   "health: interval and timeout must be %d..%d ms", SVC_HC_MS_MIN,
				   SVC_HC_MS_MAX);
	if (hc->timeout_ms > hc->interval_ms)
		return svc_err_set(err, SVC_API_INVALID,
				   "health: timeout %u ms longer than the interval %u ms",
				   hc->timeout_ms, hc->interval_ms);
	if (hc->rise < 1 || hc->rise > SVC_HC_COUNT_MAX || hc->fall < 1 ||
	    hc->fall > SVC_HC_COUNT_MAX)
		return svc_err_set(err, SVC_API_INVALID, "health: rise and fall must be 1..%d",
				   SVC_HC_COUNT_MAX);
	if (hc->type == SVC_HC_HTTP &&
	    (!hc_path_valid(hc->path) || hc->expect < 100 || hc->expect > 599))
		return svc_err_set(err, SVC_API_INVALID,
				   "health: http needs a path starting with '/' (no spaces, at "
				   "most %d bytes) and an expected status 100..599",
				   SVC_HC_PATH_MAX);
	return 0;
}

int svc_reg_service_health(struct svc_reg *r, const struct svc_sid *sid,
			   const struct svc_reg_health *hc, struct svc_err *err)
{
	struct svc_reg_service *s = svc_reg_service_find(r, sid);
	char b[SVC_ADDR_STRLEN];

	if (!s)
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", fmt_sid(sid, b));
	if (hc_check(hc, err))
		return -1;
	s->hc = *hc;
	if (hc->type == SVC_HC_NONE)
		memset(&s->hc, 0, sizeof(s->hc));
	/* new settings start from unknown: results of other settings do not count */
	for (size_t i = 0; i < r->n_instances; i++) {
		if (!sid_eq(&r->instances[i].sid, sid))
			continue;
		r->instances[i].health_down = false;
		r->instances[i].health_why[0] = '\0';
	}
	return 0;
}

int svc_reg_service_del(struct svc_reg *r, const struct svc_sid *sid, struct svc_err *err)
{
	struct svc_reg_service *s = svc_reg_service_find(r, sid);
	char b[SVC_ADDR_STRLEN];
	size_t nb;

	if (!s)
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", fmt_sid(sid, b));
	nb = svc_reg_binding_count(r, sid);
	if (nb)
		return svc_err_set(err, SVC_API_INVALID,
				   "service %s still has %zu binding(s): bind del them first",
				   fmt_sid(sid, b), nb);
	for (size_t i = r->n_instances; i-- > 0;)
		if (sid_eq(&r->instances[i].sid, sid))
			REMOVE(r, instances, i);
	bit_set(r->rule_used, s->rule_id, false);
	bit_set(r->set_used, s->set_id, false);
	REMOVE(r, services, (size_t)(s - r->services));
	return 0;
}

static int check_weight(__u32 weight, struct svc_err *err)
{
	if (weight < 1 || weight > SVC_MAX_WEIGHT)
		return svc_err_set(err, SVC_API_INVALID, "weight %u out of range 1..%d", weight,
				   SVC_MAX_WEIGHT);
	return 0;
}

static int check_hop_addr(const struct svc_addr *a, struct svc_err *err)
{
	if (addr_zero(a))
		return svc_err_set(err, SVC_API_INVALID, "the unspecified address is not a host");
	return 0;
}

static int instance_add_state(struct svc_reg *r, const struct svc_sid *sid,
			      const struct svc_addr *addr, __u32 weight, bool up, const char *name,
			      struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	struct svc_reg_instance *in;

	if (!svc_reg_service_find(r, sid))
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", fmt_sid(sid, b));
	if (check_hop_addr(addr, err) || check_weight(weight, err) ||
	    check_name(name, "instance", err))
		return -1;
	if (svc_reg_instance_find(r, sid, addr))
		return svc_err_set(err, SVC_API_EXISTS, "service %s has instance %s already",
				   fmt_sid(sid, b), fmt_addr(addr, b2));
	if (svc_reg_instance_count(r, sid, NULL) >= SVC_REG_MAX_INSTANCES)
		return svc_err_set(err, SVC_API_INVALID, "service %s has %d instances (the limit)",
				   fmt_sid(sid, b), SVC_REG_MAX_INSTANCES);
	if (!nh_ensure(r, addr, err))
		return -1;
	in = PUSH(r, instances, err);
	if (!in)
		return -1; /* the next-hop id stays allocated: harmless, released by GC */
	svc_reg_nh_set_reset(r, addr, false); /* the address serves again */
	memset(in, 0, sizeof(*in));
	in->sid = *sid;
	in->addr = *addr;
	in->weight = weight;
	in->up = up;
	snprintf(in->name, sizeof(in->name), "%s", name ? name : "");
	return 0;
}

int svc_reg_instance_add(struct svc_reg *r, const struct svc_sid *sid, const struct svc_addr *addr,
			 __u32 weight, const char *name, struct svc_err *err)
{
	return instance_add_state(r, sid, addr, weight, true, name, err);
}

int svc_reg_instance_set(struct svc_reg *r, const struct svc_sid *sid, const struct svc_addr *addr,
			 __u32 weight, int up, struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	struct svc_reg_instance *in;

	if (!svc_reg_service_find(r, sid))
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", fmt_sid(sid, b));
	in = svc_reg_instance_find(r, sid, addr);
	if (!in)
		return svc_err_set(err, SVC_API_NOT_FOUND, "service %s has no instance %s",
				   fmt_sid(sid, b), fmt_addr(addr, b2));
	if (!weight && up < 0)
		return svc_err_set(err, SVC_API_INVALID,
				   "nothing to set: give a weight or a state");
	if (weight && check_weight(weight, err))
		return -1;
	if (weight)
		in->weight = weight;
	if (up >= 0)
		in->up = up;
	return 0;
}

int svc_reg_instance_del(struct svc_reg *r, const struct svc_sid *sid, const struct svc_addr *addr,
			 struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	struct svc_reg_instance *in;

	if (!svc_reg_service_find(r, sid))
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", fmt_sid(sid, b));
	in = svc_reg_instance_find(r, sid, addr);
	if (!in)
		return svc_err_set(err, SVC_API_NOT_FOUND, "service %s has no instance %s",
				   fmt_sid(sid, b), fmt_addr(addr, b2));
	REMOVE(r, instances, (size_t)(in - r->instances));
	return 0;
}

int svc_reg_instance_mode(struct svc_reg *r, const struct svc_sid *sid, const struct svc_addr *addr,
			  int mode, struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	struct svc_reg_instance *in;

	if (mode < SVC_INST_ACTIVE || mode > SVC_INST_SHED)
		return svc_err_set(err, SVC_API_INVALID, "mode %d unknown", mode);
	in = svc_reg_instance_find(r, sid, addr);
	if (!in)
		return svc_err_set(err, SVC_API_NOT_FOUND, "service %s has no instance %s",
				   fmt_sid(sid, b), fmt_addr(addr, b2));
	in->mode = (__u8)mode;
	return 0;
}

int svc_reg_binding_add(struct svc_reg *r, const struct svc_binding_key *key,
			const struct svc_sid *sid, struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	struct svc_reg_binding *bd;

	if (key->pad || (key->proto != 6 && key->proto != 17))
		return svc_err_set(err, SVC_API_INVALID, "binding: protocol must be tcp or udp");
	if (!svc_reg_service_find(r, sid))
		return svc_err_set(err, SVC_API_NOT_FOUND, "no service %s", fmt_sid(sid, b));
	bd = svc_reg_binding_find(r, key);
	if (bd)
		return svc_err_set(err, SVC_API_EXISTS, "binding %s exists (to %s)",
				   svc_binding_format(key, b, sizeof(b)), fmt_sid(&bd->sid, b2));
	if (addr_zero(&key->vip))
		return svc_err_set(err, SVC_API_INVALID, "binding: VIP is the unspecified address");
	if (r->n_bindings >= SVC_MAX_BINDINGS)
		return svc_err_set(err, SVC_API_INVALID, "bindings full (%d)", SVC_MAX_BINDINGS);
	bd = PUSH(r, bindings, err);
	if (!bd)
		return -1;
	bd->key = *key;
	bd->sid = *sid;
	return 0;
}

int svc_reg_binding_del(struct svc_reg *r, const struct svc_binding_key *key, struct svc_err *err)
{
	struct svc_reg_binding *bd = svc_reg_binding_find(r, key);
	char b[SVC_ADDR_STRLEN];

	if (!bd)
		return svc_err_set(err, SVC_API_NOT_FOUND, "no binding %s",
				   svc_binding_format(key, b, sizeof(b)));
	REMOVE(r, bindings, (size_t)(bd - r->bindings));
	return 0;
}

static int rule_add_ids(struct svc_reg *r, const struct svc_lpm_key *prefix, int action,
			const struct svc_reg_hop *hops, size_t nhops, __u32 rule_id, __u32 set_id,
			struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	struct svc_reg_hop *copy = NULL;
	struct svc_reg_rule *ru;
	size_t nh_before = r->n_nexthops;

	if (prefix->prefixlen > 128)
		return svc_err_set(err, SVC_API_INVALID, "prefix length %u > 128",
				   prefix->prefixlen);
	if (action < SVC_ACT_FORWARD || action > SVC_ACT_DROP)
		return svc_err_set(err, SVC_API_INVALID, "unknown rule action %d", action);
	if (action == SVC_ACT_FORWARD && (nhops < 1 || nhops > SVC_REG_MAX_HOPS))
		return svc_err_set(err, SVC_API_INVALID, "forward needs 1..%d next hops, got %zu",
				   SVC_REG_MAX_HOPS, nhops);
	if (action != SVC_ACT_FORWARD && nhops)
		return svc_err_set(err, SVC_API_INVALID, "%s takes no next hops",
				   svc_action_names[action]);
	for (size_t i = 0; i < nhops; i++) {
		if (check_hop_addr(&hops[i].addr, err) || check_weight(hops[i].weight, err))
			return -1;
		for (size_t j = 0; j < i; j++)
			if (addr_eq(&hops[i].addr, &hops[j].addr))
				return svc_err_set(err, SVC_API_INVALID, "next hop %s given twice",
						   fmt_addr(&hops[i].addr, b));
	}
	if (svc_reg_rule_find(r, prefix))
		return svc_err_set(err, SVC_API_EXISTS, "rule %s exists", fmt_prefix(prefix, b));
	if (prefix->prefixlen == 128 && svc_reg_service_find(r, &prefix->sid))
		return svc_err_set(err, SVC_API_EXISTS,
				   "%s is service %s's own rule (managed by its instances)",
				   fmt_prefix(prefix, b), fmt_sid(&prefix->sid, b2));
	if (r->n_services + r->n_rules >= SVC_MAX_RULES - 1)
		return svc_err_set(err, SVC_API_INVALID, "service table full (%d rules)",
				   SVC_MAX_RULES - 1);
	if ((rule_id && bit_get(r->rule_used, rule_id)) || (set_id && bit_get(r->set_used, set_id)))
		return svc_err_set(err, SVC_API_INVALID, "rule %s: rule or set id reused",
				   fmt_prefix(prefix, b));
	if (nhops) {
		copy = malloc(nhops * sizeof(*copy));
		if (!copy)
			return svc_err_set(err, SVC_API_INTERNAL, "out of memory");
		memcpy(copy, hops, nhops * sizeof(*copy));
	}
	for (size_t i = 0; i < nhops; i++)
		if (!nh_ensure(r, &hops[i].addr, err))
			goto fail;
	ru = PUSH(r, rules, err);
	if (!ru)
		goto fail;
	memset(ru, 0, sizeof(*ru));
	if (rule_id)
		bit_set(r->rule_used, rule_id, true);
	else
		rule_id = id_alloc(r->rule_used, SVC_MAX_RULE_IDS, &r->next_rule);
	if (action == SVC_ACT_FORWARD) {
		if (set_id)
			bit_set(r->set_used, set_id, true);
		else
			set_id = id_alloc(r->set_used, SVC_MAX_SETS, &r->next_set);
	} else {
		set_id = 0;
	}
	if (!rule_id || (action == SVC_ACT_FORWARD && !set_id)) {
		if (rule_id)
			bit_set(r->rule_used, rule_id, false);
		if (set_id)
			bit_set(r->set_used, set_id, false);
		r->n_rules--;
		svc_err_set(err, SVC_API_INTERNAL, "no free rule id or next-hop set id");
		goto fail;
	}
	ru->prefix = *prefix;
	ru->action = (__u8)action;
	ru->rule_id = rule_id;
	ru->set_id = set_id;
	ru->nhops = nhops;
	ru->hops = copy;
	return 0;
fail:
	/* Undo next-hop ids this call allocated. */
	while (r->n_nexthops > nh_before) {
		bit_set(r->nh_used, r->nexthops[r->n_nexthops - 1].id, false);
		r->n_nexthops--;
	}
	free(copy);
	return -1;
}

int svc_reg_rule_add(struct svc_reg *r, const struct svc_lpm_key *prefix, int action,
		     const struct svc_reg_hop *hops, size_t nhops, struct svc_err *err)
{
	return rule_add_ids(r, prefix, action, hops, nhops, 0, 0, err);
}

int svc_reg_rule_del(struct svc_reg *r, const struct svc_lpm_key *prefix, struct svc_err *err)
{
	struct svc_reg_rule *ru = svc_reg_rule_find(r, prefix);
	char b[SVC_ADDR_STRLEN];

	if (!ru) {
		if (prefix->prefixlen == 128 && svc_reg_service_find(r, &prefix->sid))
			return svc_err_set(err, SVC_API_INVALID,
					   "%s is a service's own rule: delete its instances or "
					   "the service",
					   fmt_prefix(prefix, b));
		return svc_err_set(err, SVC_API_NOT_FOUND, "no rule %s", fmt_prefix(prefix, b));
	}
	bit_set(r->rule_used, ru->rule_id, false);
	if (ru->set_id)
		bit_set(r->set_used, ru->set_id, false);
	free(ru->hops);
	REMOVE(r, rules, (size_t)(ru - r->rules));
	return 0;
}

int svc_reg_prefix_add(struct svc_reg *r, const struct svc_lpm_key *p, struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN];
	struct svc_lpm_key *np;

	if (p->prefixlen > 128)
		return svc_err_set(err, SVC_API_INVALID, "prefix length %u > 128", p->prefixlen);
	for (size_t i = 0; i < r->n_prefixes; i++)
		if (prefix_eq(&r->prefixes[i], p))
			return svc_err_set(err, SVC_API_EXISTS, "prefix %s exists",
					   fmt_prefix(p, b));
	if (r->n_prefixes >= SVC_REG_MAX_PREFIXES)
		return svc_err_set(err, SVC_API_INVALID, "serviceID prefixes full (%d)",
				   SVC_REG_MAX_PREFIXES);
	np = PUSH(r, prefixes, err);
	if (!np)
		return -1;
	*np = *p;
	return 0;
}

int svc_reg_prefix_del(struct svc_reg *r, const struct svc_lpm_key *p, struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN];

	for (size_t i = 0; i < r->n_prefixes; i++) {
		if (prefix_eq(&r->prefixes[i], p)) {
			REMOVE(r, prefixes, i);
			return 0;
		}
	}
	return svc_err_set(err, SVC_API_NOT_FOUND, "no prefix %s", fmt_prefix(p, b));
}

int svc_reg_src_set(struct svc_reg *r, const struct svc_addr *addr, struct svc_err *err)
{
	if (addr_zero(addr))
		return svc_err_set(err, SVC_API_INVALID, "source: the unspecified address");
	if (svc_addr_is_v4(addr)) {
		r->src4 = *addr;
		r->has_src4 = true;
	} else {
		r->src6 = *addr;
		r->has_src6 = true;
	}
	return 0;
}

int svc_reg_decap_add(struct svc_reg *r, const struct svc_addr *a, struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN];
	struct svc_addr *na;

	if (addr_zero(a))
		return svc_err_set(err, SVC_API_INVALID, "decap source: the unspecified address");
	for (size_t i = 0; i < r->n_decaps; i++)
		if (addr_eq(&r->decaps[i], a))
			return svc_err_set(err, SVC_API_EXISTS, "decap source %s exists",
					   fmt_addr(a, b));
	if (r->n_decaps >= SVC_MAX_DECAP_SOURCES)
		return svc_err_set(err, SVC_API_INVALID, "decap sources full (%d)",
				   SVC_MAX_DECAP_SOURCES);
	na = PUSH(r, decaps, err);
	if (!na)
		return -1;
	*na = *a;
	return 0;
}

int svc_reg_decap_del(struct svc_reg *r, const struct svc_addr *a, struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN];

	for (size_t i = 0; i < r->n_decaps; i++) {
		if (addr_eq(&r->decaps[i], a)) {
			REMOVE(r, decaps, i);
			return 0;
		}
	}
	return svc_err_set(err, SVC_API_NOT_FOUND, "no decap source %s", fmt_addr(a, b));
}

bool svc_iface_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= IF_NAMESIZE || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == ':' || (unsigned char)name[i] <= ' ' ||
		    (unsigned char)name[i] >= 0x7f)
			return false;
	return true;
}

int svc_reg_attach_add(struct svc_reg *r, const char *iface, int prog, int mode,
		       struct svc_err *err)
{
	struct svc_reg_attach *at;

	if (!svc_iface_valid(iface))
		return svc_err_set(err, SVC_API_INVALID, "invalid interface name '%.32s'", iface);
	if (prog < 0 || prog >= SVC_PROG_MAX)
		return svc_err_set(err, SVC_API_INVALID, "unknown program %d", prog);
	if (mode != SVC_XDP_NATIVE && mode != SVC_XDP_SKB)
		return svc_err_set(err, SVC_API_INVALID, "unknown XDP mode %d", mode);
	at = svc_reg_attach_find(r, iface);
	if (at)
		return svc_err_set(err, SVC_API_EXISTS, "%s has the %s program attached already",
				   iface, svc_prog_names[at->prog]);
	if (r->n_attachments >= SVC_REG_MAX_ATTACH)
		return svc_err_set(err, SVC_API_INVALID, "too many attachments (%d)",
				   SVC_REG_MAX_ATTACH);
	at = PUSH(r, attachments, err);
	if (!at)
		return -1;
	memset(at, 0, sizeof(*at));
	snprintf(at->iface, sizeof(at->iface), "%s", iface);
	at->prog = (__u8)prog;
	at->mode = (__u8)mode;
	return 0;
}

int svc_reg_attach_del(struct svc_reg *r, const char *iface, struct svc_err *err)
{
	struct svc_reg_attach *at = svc_reg_attach_find(r, iface);

	if (!at)
		return svc_err_set(err, SVC_API_NOT_FOUND, "no svcplane program attached to %.32s",
				   iface);
	REMOVE(r, attachments, (size_t)(at - r->attachments));
	return 0;
}

/* ---- TI-flow ---- */

const char *const svc_tiflow_roles_names[] = { "both", "initiator", "responder", NULL };

bool svc_cgroup_path_valid(const char *path)
{
	size_t n = strlen(path);
	const char *c;

	if (n < 2 || n > SVC_REG_CGROUP_MAX || path[0] != '/' || path[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < ' ' || (unsigned char)path[i] >= 0x7f)
			return false;
	/* Each component: non-empty, not "." nor "..". */
	for (c = path; c && *c; c = strchr(c, '/')) {
		size_t len;

		c++;
		len = strcspn(c, "/");
		if (!len || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
	}
	return true;
}

static ssize_t tiflow_cgroup_idx(const struct svc_reg *r, const char *cgroup)
{
	for (size_t i = 0; i < r->tiflow.n_cgroups; i++)
		if (!strcmp(r->tiflow.cgroups[i], cgroup))
			return (ssize_t)i;
	return -1;
}

int svc_reg_tiflow_enable(struct svc_reg *r, const char *cgroup, struct svc_err *err)
{
	struct svc_reg_tiflow *t = &r->tiflow;

	if (!svc_cgroup_path_valid(cgroup))
		return svc_err_set(err, SVC_API_INVALID,
				   "invalid cgroup '%.64s': an absolute path of at most %d bytes, "
				   "no '.', '..' or empty components",
				   cgroup, SVC_REG_CGROUP_MAX);
	if (tiflow_cgroup_idx(r, cgroup) >= 0)
		return svc_err_set(err, SVC_API_EXISTS, "TI-flow is enabled for %.200s already",
				   cgroup);
	if (t->n_cgroups >= SVC_REG_TIFLOW_MAX_CGROUPS)
		return svc_err_set(err, SVC_API_INVALID, "too many TI-flow cgroups (%d)",
				   SVC_REG_TIFLOW_MAX_CGROUPS);
	snprintf(t->cgroups[t->n_cgroups++], SVC_REG_CGROUP_MAX + 1, "%s", cgroup);
	return 0;
}

int svc_reg_tiflow_disable(struct svc_reg *r, const char *cgroup, struct svc_err *err)
{
	struct svc_reg_tiflow *t = &r->tiflow;
	ssize_t i = tiflow_cgroup_idx(r, cgroup);

	if (i < 0)
		return svc_err_set(err, SVC_API_NOT_FOUND, "TI-flow is not enabled for %.200s",
				   cgroup);
	memmove(t->cgroups[i], t->cgroups[i + 1],
		(t->n_cgroups - (size_t)i - 1) * sizeof(t->cgroups[0]));
	t->n_cgroups--;
	return 0;
}

int svc_reg_tiflow_set(struct svc_reg *r, long instance_id, int kind, int roles,
		       struct svc_err *err)
{
	if (instance_id > 0xffff)
		return svc_err_set(err, SVC_API_INVALID, "invalid instance_id %ld: 0..65535",
				   instance_id);
	if (kind == 1 || kind > 255)
		return svc_err_set(err, SVC_API_INVALID, "invalid kind %d: 2..255 (0 = default %d)",
				   kind, SVC_TIFLOW_KIND_DEFAULT);
	if (roles > SVC_TIFLOW_ROLES_RESPONDER)
		return svc_err_set(err, SVC_API_INVALID, "invalid roles %d", roles);
	if (instance_id >= 0)
		r->tiflow.instance_id = (__u16)instance_id;
	if (kind >= 0)
		r->tiflow.kind = (__u8)kind;
	if (roles >= 0)
		r->tiflow.roles = (__u8)roles;
	return 0;
}

static ssize_t tiflow_sel_idx(const struct svc_reg *r, const struct svc_reg_tiflow_sel *sel)
{
	for (size_t i = 0; i < r->tiflow.n_select; i++) {
		const struct svc_reg_tiflow_sel *s = &r->tiflow.select[i];

		if (s->any_addr == sel->any_addr && s->port == sel->port &&
		    (sel->any_addr || addr_eq(&s->addr, &sel->addr)))
			return (ssize_t)i;
	}
	return -1;
}

static bool tiflow_sel_valid(const struct svc_reg_tiflow_sel *sel)
{
	static const struct svc_addr zero;

	if (sel->any_addr)
		return sel->port != 0;
	/* The all-zero address means "any" in the map, and no socket has 0.0.0.0 as its peer
	 * or service address: refuse both unspecified addresses (":PORT" is "any"). */
	return !addr_eq(&sel->addr, &zero) && !(svc_addr_is_v4(&sel->addr) && sel->addr.w[3] == 0);
}

int svc_reg_tiflow_select_add(struct svc_reg *r, const struct svc_reg_tiflow_sel *sel,
			      struct svc_err *err)
{
	struct svc_reg_tiflow *t = &r->tiflow;
	char b[SVC_ADDR_STRLEN + 16];

	if (!tiflow_sel_valid(sel))
		return svc_err_set(err, SVC_API_INVALID,
				   "invalid selection: give an address, a port or both");
	if (tiflow_sel_idx(r, sel) >= 0)
		return svc_err_set(err, SVC_API_EXISTS, "%s is selected already",
				   svc_tiflow_sel_format(sel, b, sizeof(b)));
	if (t->n_select >= SVC_REG_TIFLOW_MAX_SELECT)
		return svc_err_set(err, SVC_API_INVALID, "too many TI-flow selections (%d)",
				   SVC_REG_TIFLOW_MAX_SELECT);
	t->select[t->n_select] = *sel;
	if (sel->any_addr)
		memset(&t->select[t->n_select].addr, 0, sizeof(sel->addr));
	t->n_select++;
	return 0;
}

int svc_reg_tiflow_select_del(struct svc_reg *r, const struct svc_reg_tiflow_sel *sel,
			      struct svc_err *err)
{
	struct svc_reg_tiflow *t = &r->tiflow;
	ssize_t i = tiflow_sel_idx(r, sel);
	char b[SVC_ADDR_STRLEN + 16];

	if (i < 0)
		return svc_err_set(err, SVC_API_NOT_FOUND, "%s is not selected",
				   svc_tiflow_sel_format(sel, b, sizeof(b)));
	memmove(&t->select[i], &t->select[i + 1],
		(t->n_select - (size_t)i - 1) * sizeof(t->select[0]));
	t->n_select--;
	return 0;
}

bool svc_reg_tiflow_configured(const struct svc_reg *r)
{
	const struct svc_reg_tiflow *t = &r->tiflow;

	return t->n_cgroups || t->n_select || t->instance_id || t->kind || t->roles;
}

static int parse_port(const char *s, __u16 *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -EINVAL;
	*out = (__u16)v;
	return 0;
}

int svc_tiflow_sel_parse(const char *s, struct svc_reg_tiflow_sel *out)
{
	char buf[SVC_ADDR_STRLEN + 16], *colon, *host = buf;

	memset(out, 0, sizeof(*out));
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	if (buf[0] == '[') {
		colon = strstr(buf, "]:");
		if (!colon || parse_port(colon + 2, &out->port))
			return -EINVAL;
		*colon = '\0';
		host = buf + 1;
		if (!strchr(host, ':')) /* brackets are for IPv6 only */
			return -EINVAL;
	} else if ((colon = strchr(buf, ':')) && !strchr(colon + 1, ':')) {
		*colon = '\0';
		if (parse_port(colon + 1, &out->port))
			return -EINVAL;
	}
	if (!*host) {
		out->any_addr = true;
		return 0;
	}
	if (svc_addr_parse(host, &out->addr))
		return -EINVAL;
	return tiflow_sel_valid(out) ? 0 : -EINVAL;
}

const char *svc_tiflow_sel_format(const struct svc_reg_tiflow_sel *sel, char *buf, size_t len)
{
	char a[SVC_ADDR_STRLEN];

	if (sel->any_addr)
		snprintf(buf, len, ":%u", sel->port);
	else if (!sel->port)
		snprintf(buf, len, "%s", svc_addr_format(&sel->addr, a, sizeof(a)));
	else if (svc_addr_is_v4(&sel->addr))
		snprintf(buf, len, "%s:%u", svc_addr_format(&sel->addr, a, sizeof(a)), sel->port);
	else
		snprintf(buf, len, "[%s]:%u", svc_addr_format(&sel->addr, a, sizeof(a)), sel->port);
	return buf;
}

/* ---- direct path ---- */

const char *const svc_direct_role_names[] = { "client", "instance", NULL };

struct svc_reg_direct_iface *svc_reg_direct_iface_find(const struct svc_reg *r, const char *iface)
{
	for (size_t i = 0; i < r->direct.n_ifaces; i++)
		if (!strcmp(r->direct.ifaces[i].iface, iface))
			return (struct svc_reg_direct_iface *)&r->direct.ifaces[i];
	return NULL;
}

int svc_reg_direct_iface_set(struct svc_reg *r, const char *iface, int role, long instance_id,
			     struct svc_err *err)
{
	struct svc_reg_direct *d = &r->direct;
	struct svc_reg_direct_iface *f;

	if (!svc_iface_valid(iface))
		return svc_err_set(err, SVC_API_INVALID, "invalid interface name '%.32s'", iface);
	if (role < 0 || role > SVC_DIRECT_ROLE_INSTANCE)
		return svc_err_set(err, SVC_API_INVALID, "invalid direct role %d", role);
	if (instance_id > 0xffff)
		return svc_err_set(err, SVC_API_INVALID, "invalid instance_id %ld: 1..65535",
				   instance_id);
	f = svc_reg_direct_iface_find(r, iface);
	if (!f) {
		if (d->n_ifaces >= SVC_REG_DIRECT_MAX_IFACES)
			return svc_err_set(err, SVC_API_INVALID,
					   "too many direct-path interfaces (%d)",
					   SVC_REG_DIRECT_MAX_IFACES);
		f = &d->ifaces[d->n_ifaces++];
		snprintf(f->iface, sizeof(f->iface), "%s", iface);
	}
	f->role = (__u8)role;
	if (instance_id >= 0)
		d->instance_id = (__u16)instance_id;
	return 0;
}

int svc_reg_direct_iface_del(struct svc_reg *r, const char *iface, struct svc_err *err)
{
	struct svc_reg_direct *d = &r->direct;
	struct svc_reg_direct_iface *f = svc_reg_direct_iface_find(r, iface);
	size_t i;

	if (!f)
		return svc_err_set(err, SVC_API_NOT_FOUND, "no direct path on %.32s", iface);
	i = (size_t)(f - d->ifaces);
	memmove(&d->ifaces[i], &d->ifaces[i + 1], (d->n_ifaces - i - 1) * sizeof(d->ifaces[0]));
	d->n_ifaces--;
	return 0;
}

static ssize_t direct_vip_idx(const struct svc_reg *r, const struct svc_addr *a)
{
	for (size_t i = 0; i < r->direct.n_vips; i++)
		if (addr_eq(&r->direct.vips[i], a))
			return (ssize_t)i;
	return -1;
}

int svc_reg_direct_vip_add(struct svc_reg *r, const struct svc_addr *a, struct svc_err *err)
{
	struct svc_reg_direct *d = &r->direct;
	char b[SVC_ADDR_STRLEN];

	if (direct_vip_idx(r, a) >= 0)
		return svc_err_set(err, SVC_API_EXISTS,
				   "%s is a direct-path service address already",
				   svc_addr_format(a, b, sizeof(b)));
	if (d->n_vips >= SVC_REG_DIRECT_MAX_VIPS)
		return svc_err_set(err, SVC_API_INVALID, "too many service addresses (%d)",
				   SVC_REG_DIRECT_MAX_VIPS);
	d->vips[d->n_vips++] = *a;
	return 0;
}

int svc_reg_direct_vip_del(struct svc_reg *r, const struct svc_addr *a, struct svc_err *err)
{
	struct svc_reg_direct *d = &r->direct;
	ssize_t i = direct_vip_idx(r, a);
	char b[SVC_ADDR_STRLEN];

	if (i < 0)
		return svc_err_set(err, SVC_API_NOT_FOUND,
				   "%s is not a direct-path service address",
				   svc_addr_format(a, b, sizeof(b)));
	memmove(&d->vips[i], &d->vips[i + 1], (d->n_vips - (size_t)i - 1) * sizeof(d->vips[0]));
	d->n_vips--;
	return 0;
}

static ssize_t direct_map_idx(const struct svc_reg *r, long id)
{
	for (size_t i = 0; i < r->direct.n_map; i++)
		if (r->direct.map[i].id == id)
			return (ssize_t)i;
	return -1;
}

int svc_reg_direct_map_set(struct svc_reg *r, long id, const struct svc_addr *addr,
			   struct svc_err *err)
{
	struct svc_reg_direct *d = &r->direct;
	ssize_t i;

	if (id < 1 || id > 0xffff)
		return svc_err_set(err, SVC_API_INVALID, "invalid instance id %ld: 1..65535", id);
	i = direct_map_idx(r, id);
	if (i < 0) {
		if (d->n_map >= SVC_REG_DIRECT_MAX_MAP)
			return svc_err_set(err, SVC_API_INVALID, "too many instance hosts (%d)",
					   SVC_REG_DIRECT_MAX_MAP);
		i = (ssize_t)d->n_map++;
	}
	d->map[i].id = (__u16)id;
	d->map[i].addr = *addr;
	return 0;
}

int svc_reg_direct_map_del(struct svc_reg *r, long id, struct svc_err *err)
{
	struct svc_reg_direct *d = &r->direct;
	ssize_t i = direct_map_idx(r, id);

	if (i < 0)
		return svc_err_set(err, SVC_API_NOT_FOUND, "no instance host mapped for id %ld",
				   id);
	memmove(&d->map[i], &d->map[i + 1], (d->n_map - (size_t)i - 1) * sizeof(d->map[0]));
	d->n_map--;
	return 0;
}

bool svc_reg_direct_configured(const struct svc_reg *r)
{
	const struct svc_reg_direct *d = &r->direct;

	return d->n_ifaces || d->n_vips || d->n_map || d->instance_id;
}

int svc_reg_service_add_ids(struct svc_reg *r, const struct svc_sid *sid, const char *name,
			    __u32 rule_id, __u32 set_id, struct svc_err *err)
{
	if (rule_id >= SVC_MAX_RULE_IDS || set_id >= SVC_MAX_SETS)
		return svc_err_set(err, SVC_API_INVALID, "rule or set id out of range");
	return service_add_ids(r, sid, name, rule_id, set_id, err);
}

int svc_reg_rule_add_ids(struct svc_reg *r, const struct svc_lpm_key *prefix, int action,
			 const struct svc_reg_hop *hops, size_t nhops, __u32 rule_id, __u32 set_id,
			 struct svc_err *err)
{
	if (rule_id >= SVC_MAX_RULE_IDS || set_id >= SVC_MAX_SETS)
		return svc_err_set(err, SVC_API_INVALID, "rule or set id out of range");
	return rule_add_ids(r, prefix, action, hops, nhops, rule_id, set_id, err);
}

int svc_reg_nh_set(struct svc_reg *r, const struct svc_addr *addr, __u32 id, bool reset,
		   struct svc_err *err)
{
	char b[SVC_ADDR_STRLEN];
	struct svc_reg_nh *nh;

	if (!id || id >= SVC_MAX_NEXTHOPS)
		return svc_err_set(err, SVC_API_INVALID, "next-hop id %u out of range 1..%d", id,
				   SVC_MAX_NEXTHOPS - 1);
	if (check_hop_addr(addr, err))
		return -1;
	if (nh_find(r, addr) || bit_get(r->nh_used, id))
		return svc_err_set(err, SVC_API_EXISTS, "next hop %s or id %u known already",
				   fmt_addr(addr, b), id);
	nh = PUSH(r, nexthops, err);
	if (!nh)
		return -1;
	nh->addr = *addr;
	nh->id = id;
	nh->reset = reset;
	bit_set(r->nh_used, id, true);
	return 0;
}

/* ---- JSON ---- */

static int add_str(json_object *o, const char *key, const char *s)
{
	json_object *v = json_object_new_string(s);

	if (!v || json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int add_int(json_object *o, const char *key, int64_t x)
{
	json_object *v = json_object_new_int64(x);

	if (!v || json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int add_bool(json_object *o, const char *key, bool x)
{
	json_object *v = json_object_new_boolean(x);

	if (!v || json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* An optional boolean field: true only when present and true. */
static bool opt_bool(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

static int arr_add(json_object *a, json_object *v)
{
	if (!v || json_object_array_add(a, v)) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static json_object *hops_json(const struct svc_reg_rule *ru)
{
	json_object *a = json_object_new_array();
	char b[SVC_ADDR_STRLEN];

	for (size_t h = 0; a && h < ru->nhops; h++) {
		json_object *o = json_object_new_object();

		if (!o || add_str(o, "addr", fmt_addr(&ru->hops[h].addr, b)) ||
		    add_int(o, "weight", ru->hops[h].weight) || arr_add(a, o)) {
			json_object_put(o);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

/* o.health = the service's health check, if it has one. */
static int hc_to_json(json_object *o, const struct svc_reg_health *hc)
{
	json_object *h;

	if (hc->type == SVC_HC_NONE)
		return 0;
	h = json_object_new_object();
	if (!h || add_str(h, "type", svc_hc_type_names[hc->type]) || add_int(h, "port", hc->port) ||
	    add_int(h, "interval_ms", hc->interval_ms) ||
	    add_int(h, "timeout_ms", hc->timeout_ms) || add_int(h, "rise", hc->rise) ||
	    add_int(h, "fall", hc->fall) ||
	    (hc->type == SVC_HC_HTTP &&
	     (add_str(h, "path", hc->path) || add_int(h, "expect", hc->expect))) ||
	    json_object_object_add(o, "health", h)) {
		json_object_put(h);
		return -1;
	}
	return 0;
}

/* The services array, each with its instances; NULL on ENOMEM. */
static json_object *to_json_services(const struct svc_reg *r)
{
	json_object *a = json_object_new_array();
	char b[SVC_ADDR_STRLEN];

	for (size_t i = 0; a && i < r->n_services; i++) {
		const struct svc_reg_service *s = &r->services[i];
		json_object *o = json_object_new_object(), *ins = json_object_new_array();

		if (!o || !ins || add_str(o, "sid", fmt_sid(&s->sid, b)) ||
		    add_str(o, "name", s->name) || add_int(o, "rule_id", s->rule_id) ||
		    add_int(o, "set_id", s->set_id) || hc_to_json(o, &s->hc))
			goto fail;
		for (size_t k = 0; k < r->n_instances; k++) {
			const struct svc_reg_instance *in = &r->instances[k];
			json_object *io;

			if (!sid_eq(&in->sid, &s->sid))
				continue;
			io = json_object_new_object();
			if (!io || add_str(io, "addr", fmt_addr(&in->addr, b)) ||
			    add_int(io, "weight", in->weight) ||
			    add_str(io, "state", svc_state_names[in->up]) ||
			    add_str(io, "name", in->name) ||
			    add_str(io, "mode", svc_mode_names_inst[in->mode]) ||
			    add_int(io, "lease", in->lease_s) ||
			    add_bool(io, "strip_options", in->strip_opts) || arr_add(ins, io)) {
				json_object_put(io);
				goto fail;
			}
		}
		json_object_object_add(o, "instances", ins);
		ins = NULL;
		if (arr_add(a, o)) {
			o = NULL;
			goto fail;
		}
		continue;
	fail:
		json_object_put(ins);
		json_object_put(o);
		json_object_put(a);
		return NULL;
	}
	return a;
}

/* The TI-flow settings: {cgroups[], instance_id, kind, roles, select[]}. */
static json_object *tiflow_to_json(const struct svc_reg_tiflow *t)
{
	json_object *o = json_object_new_object(), *cg = json_object_new_array(),
		    *sel = json_object_new_array();
	char b[SVC_ADDR_STRLEN + 16];

	if (!o || !cg || !sel)
		goto fail;
	for (size_t i = 0; i < t->n_cgroups; i++)
		if (arr_add(cg, json_object_new_string(t->cgroups[i])))
			goto fail;
	for (size_t i = 0; i < t->n_select; i++)
		if (arr_add(sel, json_object_new_string(
					 svc_tiflow_sel_format(&t->select[i], b, sizeof(b)))))
			goto fail;
	if (json_object_object_add(o, "cgroups", cg)) {
		json_object_put(cg);
		cg = NULL;
		goto fail;
	}
	cg = NULL;
	if (json_object_object_add(o, "select", sel)) {
		json_object_put(sel);
		sel = NULL;
		goto fail;
	}
	sel = NULL;
	if (add_int(o, "instance_id", t->instance_id) || add_int(o, "kind", t->kind) ||
	    add_str(o, "roles", svc_tiflow_roles_names[t->roles]))
		goto fail;
	return o;
fail:
	json_object_put(cg);
	json_object_put(sel);
	json_object_put(o);
	return NULL;
}

/* The direct path: {ifaces[] {iface, role}, instance_id, vips[], map[] {id, addr}}. */
static json_object *direct_to_json(const struct svc_reg_direct *d)
{
	json_object *o = json_object_new_object(), *a = NULL, *e;
	char b[SVC_ADDR_STRLEN];

	if (!o || add_int(o, "instance_id", d->instance_id))
		goto fail;
	a = json_object_new_array();
	for (size_t i = 0; a && i < d->n_ifaces; i++) {
		e = json_object_new_object();
		if (!e || add_str(e, "iface", d->ifaces[i].iface) ||
		    add_str(e, "role", svc_direct_role_names[d->ifaces[i].role]) || arr_add(a, e)) {
			json_object_put(e);
			goto fail;
		}
	}
	if (!a || json_object_object_add(o, "ifaces", a))
		goto fail;
	a = json_object_new_array();
	for (size_t i = 0; a && i < d->n_vips; i++)
		if (arr_add(a, json_object_new_string(svc_addr_format(&d->vips[i], b, sizeof(b)))))
			goto fail;
	if (!a || json_object_object_add(o, "vips", a))
		goto fail;
	a = json_object_new_array();
	for (size_t i = 0; a && i < d->n_map; i++) {
		e = json_object_new_object();
		if (!e || add_int(e, "id", d->map[i].id) ||
		    add_str(e, "addr", svc_addr_format(&d->map[i].addr, b, sizeof(b))) ||
		    arr_add(a, e)) {
			json_object_put(e);
			goto fail;
		}
	}
	if (!a || json_object_object_add(o, "map", a))
		goto fail;
	return o;
fail:
	json_object_put(a);
	json_object_put(o);
	return NULL;
}

json_object *svc_reg_to_json(const struct svc_reg *r)
{
	json_object *o = json_object_new_object(), *a, *e, *src;
	char b[SVC_ADDR_STRLEN];

	if (!o || add_int(o, "format", SVC_REG_FORMAT))
		goto fail;
	a = to_json_services(r);
	if (!a || json_object_object_add(o, "services", a))
		goto fail_a;

	a = json_object_new_array();
	for (size_t i = 0; a && i < r->n_bindings; i++) {
		e = json_object_new_object();
		if (!e ||
		    add_str(e, "binding", svc_binding_format(&r->bindings[i].key, b, sizeof(b))) ||
		    add_str(e, "sid", fmt_sid(&r->bindings[i].sid, b)) || arr_add(a, e)) {
			json_object_put(e);
			goto fail_a;
		}
	}
	if (!a || json_object_object_add(o, "bindings", a))
		goto fail_a;

	a = json_object_new_array();
	for (size_t i = 0; a && i < r->n_rules; i++) {
		const struct svc_reg_rule *ru = &r->rules[i];
		json_object *h = NULL;

		e = json_object_new_object();
		if (!e || add_str(e, "prefix", fmt_prefix(&ru->prefix, b)) ||
		    add_str(e, "action", svc_action_names[ru->action]) ||
		    add_int(e, "rule_id", ru->rule_id) || add_int(e, "set_id", ru->set_id) ||
		    !(h = hops_json(ru)) || json_object_object_add(e, "hops", h) || arr_add(a, e)) {
			json_object_put(e);
			goto fail_a;
		}
	}
	if (!a || json_object_object_add(o, "rules", a))
		goto fail_a;

	a = json_object_new_array();
	for (size_t i = 0; a && i < r->n_prefixes; i++)
		if (arr_add(a, json_object_new_string(fmt_prefix(&r->prefixes[i], b))))
			goto fail_a;
	if (!a || json_object_object_add(o, "prefixes", a))
		goto fail_a;

	a = json_object_new_array();
	for (size_t i = 0; a && i < r->n_decaps; i++)
		if (arr_add(a, json_object_new_string(fmt_addr(&r->decaps[i], b))))
			goto fail_a;
	if (!a || json_object_object_add(o, "decap_sources", a))
		goto fail_a;

	src = json_object_new_object();
	if (!src || (r->has_src4 && add_str(src, "ipv4", fmt_addr(&r->src4, b))) ||
	    (r->has_src6 && add_str(src, "ipv6", fmt_addr(&r->src6, b))) ||
	    json_object_object_add(o, "src", src)) {
		json_object_put(src);
		goto fail;
	}

	a = json_object_new_array();
	for (size_t i = 0; a && i < r->n_attachments; i++) {
		const struct svc_reg_attach *at = &r->attachments[i];

		e = json_object_new_object();
		if (!e || add_str(e, "iface", at->iface) ||
		    add_str(e, "prog", svc_prog_names[at->prog]) ||
		    add_str(e, "mode", svc_mode_names[at->mode]) || arr_add(a, e)) {
			json_object_put(e);
			goto fail_a;
		}
	}
	if (!a || json_object_object_add(o, "attachments", a))
		goto fail_a;

	e = tiflow_to_json(&r->tiflow);
	if (!e || json_object_object_add(o, "tiflow", e)) {
		json_object_put(e);
		goto fail;
	}
	e = direct_to_json(&r->direct);
	if (!e || json_object_object_add(o, "direct", e)) {
		json_object_put(e);
		goto fail;
	}

	a = json_object_new_array();
	for (size_t i = 0; a && i < r->n_nexthops; i++) {
		e = json_object_new_object();
		if (!e || add_str(e, "addr", fmt_addr(&r->nexthops[i].addr, b)) ||
		    add_int(e, "id", r->nexthops[i].id) ||
		    (r->nexthops[i].reset && add_bool(e, "reset", true)) || arr_add(a, e)) {
			json_object_put(e);
			goto fail_a;
		}
	}
	if (!a || json_object_object_add(o, "nexthops", a))
		goto fail_a;

	e = json_object_new_object();
	if (!e || add_int(e, "nexthop", r->next_nh) || add_int(e, "set", r->next_set) ||
	    add_int(e, "rule", r->next_rule) || json_object_object_add(o, "next_ids", e)) {
		json_object_put(e);
		goto fail;
	}
	return o;
fail_a:
	json_object_put(a);
fail:
	json_object_put(o);
	return NULL;
}

/* -- loading: every field checked, errors name the element -- */

static json_object *jget(json_object *o, const char *key, json_type t, const char *where,
			 struct svc_err *err)
{
	json_object *v;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, t)) {
		svc_err_set(err, SVC_API_INVALID, "%s: field '%s' missing or of the wrong type",
			    where, key);
		return NULL;
	}
	return v;
}

static int jstr(json_object *o, const char *key, const char *where, const char **out,
		struct svc_err *err)
{
	json_object *v = jget(o, key, json_type_string, where, err);

	if (!v)
		return -1;
	*out = json_object_get_string(v);
	return 0;
}

static int jid(json_object *o, const char *key, const char *where, __u32 max, bool zero_ok,
	       __u32 *out, struct svc_err *err)
{
	json_object *v = jget(o, key, json_type_int, where, err);
	int64_t x;

	if (!v)
		return -1;
	x = json_object_get_int64(v);
	if (x < (zero_ok ? 0 : 1) || x >= max)
		return svc_err_set(err, SVC_API_INVALID, "%s: '%s' = %lld out of range", where, key,
				   (long long)x);
	*out = (__u32)x;
	return 0;
}

#define PARSE_OR_FAIL(parse, s, out, what, where)                                                 \
	do {                                                                                      \
		if (parse(s, out))                                                                \
			return svc_err_set(err, SVC_API_INVALID, "%s: invalid %s '%.64s'", where, \
					   what, s);                                              \
	} while (0)

static int load_nexthops(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *a = jget(root, "nexthops", json_type_array, "state", err);

	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		struct svc_reg_nh *nh;
		struct svc_addr addr;
		const char *s;
		__u32 id;

		if (jstr(e, "addr", "nexthops[]", &s, err) ||
		    jid(e, "id", "nexthops[]", SVC_MAX_NEXTHOPS, false, &id, err))
			return -1;
		PARSE_OR_FAIL(svc_addr_parse, s, &addr, "address", "nexthops[]");
		if (nh_find(r, &addr) || bit_get(r->nh_used, id))
			return svc_err_set(err, SVC_API_INVALID, "nexthops[]: %s or id %u repeated",
					   s, id);
		nh = PUSH(r, nexthops, err);
		if (!nh)
			return -1;
		nh->addr = addr;
		nh->id = id;
		nh->reset = opt_bool(e, "reset");
		bit_set(r->nh_used, id, true);
	}
	return 0;
}

/* Optional fields written since shedding and leases (absent in older state files). */
static int load_instance_extra(struct svc_reg *r, struct svc_reg_instance *in, json_object *ie,
			       struct svc_err *err)
{
	json_object *v;

	(void)r;
	if (json_object_object_get_ex(ie, "mode", &v)) {
		const char *m =
			json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
		int k;

		for (k = 0; svc_mode_names_inst[k]; k++)
			if (!strcmp(m, svc_mode_names_inst[k]))
				break;
		if (!svc_mode_names_inst[k])
			return svc_err_set(err, SVC_API_INVALID,
					   "instances[]: mode '%.16s' not active/drain/shed", m);
		in->mode = (__u8)k;
	}
	if (json_object_object_get_ex(ie, "lease", &v)) {
		int64_t l = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;

		if (l < 0 || l > 86400)
			return svc_err_set(err, SVC_API_INVALID, "instances[]: lease out of range");
		in->lease_s = (__u32)l;
	}
	if (json_object_object_get_ex(ie, "strip_options", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return svc_err_set(err, SVC_API_INVALID,
					   "instances[]: strip_options not a boolean");
		in->strip_opts = json_object_get_boolean(v);
	}
	return 0;
}

/* svc_hc_from_json - a health object (state file or API) into @hc, validated. */
int svc_hc_from_json(json_object *h, struct svc_reg_health *hc, struct svc_err *err)
{
	static const struct {
		const char *key;
		int64_t max;
	} nums[] = { { "port", 65535 },
		     { "interval_ms", SVC_HC_MS_MAX },
		     { "timeout_ms", SVC_HC_MS_MAX },
		     { "rise", SVC_HC_COUNT_MAX },
		     { "fall", SVC_HC_COUNT_MAX },
		     { "expect", 599 } };
	int64_t v[6] = { 0 };
	json_object *x;
	const char *t;
	int k;

	memset(hc, 0, sizeof(*hc));
	if (jstr(h, "type", "health", &t, err))
		return -1;
	for (k = 0; svc_hc_type_names[k]; k++)
		if (!strcmp(t, svc_hc_type_names[k]))
			break;
	if (!svc_hc_type_names[k])
		return svc_err_set(err, SVC_API_INVALID, "health: type '%.16s' not none/tcp/http",
				   t);
	hc->type = (__u8)k;
	if (hc->type == SVC_HC_NONE)
		return 0;
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (!json_object_object_get_ex(h, nums[i].key, &x)) {
			if (i == 5 && hc->type != SVC_HC_HTTP)
				continue;
			return svc_err_set(err, SVC_API_INVALID, "health: '%s' missing",
					   nums[i].key);
		}
		v[i] = json_object_is_type(x, json_type_int) ? json_object_get_int64(x) : -1;
		if (v[i] < 0 || v[i] > nums[i].max)
			return svc_err_set(err, SVC_API_INVALID, "health: '%s' out of range",
					   nums[i].key);
	}
	hc->port = (__u16)v[0];
	hc->interval_ms = (__u32)v[1];
	hc->timeout_ms = (__u32)v[2];
	hc->rise = (__u8)v[3];
	hc->fall = (__u8)v[4];
	hc->expect = (__u16)v[5];
	if (hc->type == SVC_HC_HTTP) {
		if (jstr(h, "path", "health", &t, err))
			return -1;
		snprintf(hc->path, sizeof(hc->path), "%.127s", t);
		if (strlen(t) > SVC_HC_PATH_MAX)
			hc->path[0] = '\0'; /* refused by hc_check */
	}
	return hc_check(hc, err);
}

static int load_services(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *a = jget(root, "services", json_type_array, "state", err);

	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i), *ins;
		const char *s, *name;
		struct svc_sid sid;
		__u32 rid, setid;

		if (jstr(e, "sid", "services[]", &s, err) ||
		    jstr(e, "name", "services[]", &name, err) ||
		    jid(e, "rule_id", "services[]", SVC_MAX_RULE_IDS, false, &rid, err) ||
		    jid(e, "set_id", "services[]", SVC_MAX_SETS, false, &setid, err))
			return -1;
		PARSE_OR_FAIL(svc_sid_parse, s, &sid, "serviceID", "services[]");
		if (service_add_ids(r, &sid, name, rid, setid, err))
			return -1;
		if (json_object_object_get_ex(e, "health", &ins) &&
		    svc_hc_from_json(ins, &r->services[r->n_services - 1].hc, err))
			return -1;
		ins = jget(e, "instances", json_type_array, "services[]", err);
		if (!ins)
			return -1;
		for (size_t k = 0; k < json_object_array_length(ins); k++) {
			json_object *ie = json_object_array_get_idx(ins, k), *w;
			const char *as, *st, *iname;
			struct svc_addr addr;
			int up;

			if (jstr(ie, "addr", "instances[]", &as, err) ||
			    jstr(ie, "state", "instances[]", &st, err) ||
			    jstr(ie, "name", "instances[]", &iname, err) ||
			    !(w = jget(ie, "weight", json_type_int, "instances[]", err)))
				return -1;
			PARSE_OR_FAIL(svc_addr_parse, as, &addr, "address", "instances[]");
			up = !strcmp(st, "up") ? 1 : !strcmp(st, "down") ? 0 : -1;
			if (up < 0)
				return svc_err_set(err, SVC_API_INVALID,
						   "instances[]: state '%.16s' not up/down", st);
			if (json_object_get_int64(w) < 1 ||
			    json_object_get_int64(w) > SVC_MAX_WEIGHT)
				return svc_err_set(err, SVC_API_INVALID,
						   "instances[]: weight out of range");
			if (instance_add_state(r, &sid, &addr, (__u32)json_object_get_int64(w), up,
					       iname, err) ||
			    load_instance_extra(r, &r->instances[r->n_instances - 1], ie, err))
				return -1;
		}
	}
	return 0;
}

static int load_bindings(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *a = jget(root, "bindings", json_type_array, "state", err);

	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		struct svc_binding_key key;
		struct svc_sid sid;
		const char *bs, *ss;

		if (jstr(e, "binding", "bindings[]", &bs, err) ||
		    jstr(e, "sid", "bindings[]", &ss, err))
			return -1;
		memset(&key, 0, sizeof(key));
		PARSE_OR_FAIL(svc_binding_parse, bs, &key, "binding", "bindings[]");
		PARSE_OR_FAIL(svc_sid_parse, ss, &sid, "serviceID", "bindings[]");
		if (svc_reg_binding_add(r, &key, &sid, err))
			return -1;
	}
	return 0;
}

static int load_rules(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *a = jget(root, "rules", json_type_array, "state", err);
	struct svc_reg_hop hops[SVC_REG_MAX_HOPS];

	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i), *ha;
		const char *ps, *as;
		struct svc_lpm_key p;
		__u32 rid, setid;
		size_t nh;
		int act;

		if (jstr(e, "prefix", "rules[]", &ps, err) ||
		    jstr(e, "action", "rules[]", &as, err) ||
		    jid(e, "rule_id", "rules[]", SVC_MAX_RULE_IDS, false, &rid, err) ||
		    jid(e, "set_id", "rules[]", SVC_MAX_SETS, true, &setid, err) ||
		    !(ha = jget(e, "hops", json_type_array, "rules[]", err)))
			return -1;
		PARSE_OR_FAIL(svc_prefix_parse, ps, &p, "prefix", "rules[]");
		act = svc_action_parse(as);
		if (act < 0)
			return svc_err_set(err, SVC_API_INVALID, "rules[]: unknown action '%.16s'",
					   as);
		if ((act == SVC_ACT_FORWARD) != (setid != 0))
			return svc_err_set(err, SVC_API_INVALID,
					   "rules[]: %s: set_id must be set for forward only", ps);
		nh = json_object_array_length(ha);
		if (nh > SVC_REG_MAX_HOPS)
			return svc_err_set(err, SVC_API_INVALID, "rules[]: too many hops");
		for (size_t h = 0; h < nh; h++) {
			json_object *he = json_object_array_get_idx(ha, h), *w;
			const char *hs;

			if (jstr(he, "addr", "hops[]", &hs, err) ||
			    !(w = jget(he, "weight", json_type_int, "hops[]", err)))
				return -1;
			PARSE_OR_FAIL(svc_addr_parse, hs, &hops[h].addr, "address", "hops[]");
			if (json_object_get_int64(w) < 1 ||
			    json_object_get_int64(w) > SVC_MAX_WEIGHT)
				return svc_err_set(err, SVC_API_INVALID,
						   "hops[]: weight out of range");
			hops[h].weight = (__u32)json_object_get_int64(w);
		}
		if (rule_add_ids(r, &p, act, hops, nh, rid, setid, err))
			return -1;
	}
	return 0;
}

static int load_addr_list(struct svc_reg *r, json_object *root, const char *key,
			  int (*add)(struct svc_reg *, const struct svc_addr *, struct svc_err *),
			  struct svc_err *err)
{
	json_object *a = jget(root, key, json_type_array, "state", err);

	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		struct svc_addr addr;
		const char *s;

		if (!json_object_is_type(e, json_type_string))
			return svc_err_set(err, SVC_API_INVALID, "%s[]: not a string", key);
		s = json_object_get_string(e);
		PARSE_OR_FAIL(svc_addr_parse, s, &addr, "address", key);
		if (add(r, &addr, err))
			return -1;
	}
	return 0;
}

/* The "tiflow" object of the state file, every field checked. */
static int load_tiflow(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *t = jget(root, "tiflow", json_type_object, "state", err), *a, *v;
	long inst, kind;
	const char *roles;
	int ro = -1;

	if (!t)
		return -1;
	a = jget(t, "cgroups", json_type_array, "tiflow", err);
	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		v = json_object_array_get_idx(a, i);
		if (!json_object_is_type(v, json_type_string))
			return svc_err_set(err, SVC_API_INVALID, "tiflow.cgroups[]: not a string");
		if (svc_reg_tiflow_enable(r, json_object_get_string(v), err))
			return -1;
	}
	a = jget(t, "select", json_type_array, "tiflow", err);
	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct svc_reg_tiflow_sel sel;

		v = json_object_array_get_idx(a, i);
		if (!json_object_is_type(v, json_type_string))
			return svc_err_set(err, SVC_API_INVALID, "tiflow.select[]: not a string");
		PARSE_OR_FAIL(svc_tiflow_sel_parse, json_object_get_string(v), &sel, "selection",
			      "tiflow.select[]");
		if (svc_reg_tiflow_select_add(r, &sel, err))
			return -1;
	}
	v = jget(t, "instance_id", json_type_int, "tiflow", err);
	if (!v)
		return -1;
	inst = (long)json_object_get_int64(v);
	v = jget(t, "kind", json_type_int, "tiflow", err);
	if (!v)
		return -1;
	kind = (long)json_object_get_int64(v);
	if (jstr(t, "roles", "tiflow", &roles, err))
		return -1;
	for (int k = 0; svc_tiflow_roles_names[k]; k++)
		if (!strcmp(roles, svc_tiflow_roles_names[k]))
			ro = k;
	if (inst < 0 || kind < 0 || kind > 255 || ro < 0)
		return svc_err_set(err, SVC_API_INVALID,
				   "tiflow: instance_id, kind or roles out of range");
	return svc_reg_tiflow_set(r, inst, (int)kind, ro, err);
}

/* The "direct" object of the state file, every field checked. */
static int load_direct(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *d = jget(root, "direct", json_type_object, "state", err), *a, *v, *e;
	struct svc_addr addr;
	const char *s, *role;
	long inst;

	if (!d || !(v = jget(d, "instance_id", json_type_int, "direct", err)))
		return -1;
	inst = (long)json_object_get_int64(v);
	if (inst < 0 || inst > 0xffff)
		return svc_err_set(err, SVC_API_INVALID, "direct.instance_id %ld out of range",
				   inst);
	r->direct.instance_id = (__u16)inst;
	a = jget(d, "ifaces", json_type_array, "direct", err);
	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		int ro = -1;

		e = json_object_array_get_idx(a, i);
		if (jstr(e, "iface", "direct.ifaces[]", &s, err) ||
		    jstr(e, "role", "direct.ifaces[]", &role, err))
			return -1;
		for (int k = 0; svc_direct_role_names[k]; k++)
			if (!strcmp(role, svc_direct_role_names[k]))
				ro = k;
		if (svc_reg_direct_iface_set(r, s, ro, -1, err))
			return -1;
	}
	a = jget(d, "vips", json_type_array, "direct", err);
	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string))
			return svc_err_set(err, SVC_API_INVALID, "direct.vips[]: not a string");
		PARSE_OR_FAIL(svc_addr_parse, json_object_get_string(e), &addr, "address",
			      "direct.vips[]");
		if (svc_reg_direct_vip_add(r, &addr, err))
			return -1;
	}
	a = jget(d, "map", json_type_array, "direct", err);
	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		v = jget(e, "id", json_type_int, "direct.map[]", err);
		if (!v || jstr(e, "addr", "direct.map[]", &s, err))
			return -1;
		PARSE_OR_FAIL(svc_addr_parse, s, &addr, "address", "direct.map[]");
		if (svc_reg_direct_map_set(r, (long)json_object_get_int64(v), &addr, err))
			return -1;
	}
	return 0;
}

static int load_misc(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *a, *src, *ids;
	struct svc_addr addr;

	a = jget(root, "prefixes", json_type_array, "state", err);
	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		struct svc_lpm_key p;

		if (!json_object_is_type(e, json_type_string))
			return svc_err_set(err, SVC_API_INVALID, "prefixes[]: not a string");
		PARSE_OR_FAIL(svc_prefix_parse, json_object_get_string(e), &p, "prefix",
			      "prefixes[]");
		if (svc_reg_prefix_add(r, &p, err))
			return -1;
	}
	if (load_addr_list(r, root, "decap_sources", svc_reg_decap_add, err))
		return -1;
	src = jget(root, "src", json_type_object, "state", err);
	if (!src)
		return -1;
	json_object_object_foreach(src, key, val)
	{
		bool v4 = !strcmp(key, "ipv4");

		if ((!v4 && strcmp(key, "ipv6")) || !json_object_is_type(val, json_type_string))
			return svc_err_set(err, SVC_API_INVALID, "src: bad field '%.16s'", key);
		PARSE_OR_FAIL(svc_addr_parse, json_object_get_string(val), &addr, "address", "src");
		if (svc_addr_is_v4(&addr) != v4)
			return svc_err_set(err, SVC_API_INVALID, "src.%s: wrong family", key);
		if (svc_reg_src_set(r, &addr, err))
			return -1;
	}
	a = jget(root, "attachments", json_type_array, "state", err);
	if (!a)
		return -1;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);
		const char *ifn, *ps, *ms;
		int prog = -1, mode = -1;

		if (jstr(e, "iface", "attachments[]", &ifn, err) ||
		    jstr(e, "prog", "attachments[]", &ps, err) ||
		    jstr(e, "mode", "attachments[]", &ms, err))
			return -1;
		for (int k = 0; svc_prog_names[k]; k++)
			if (!strcmp(ps, svc_prog_names[k]))
				prog = k;
		for (int k = 0; svc_mode_names[k]; k++)
			if (!strcmp(ms, svc_mode_names[k]))
				mode = k;
		if (svc_reg_attach_add(r, ifn, prog, mode, err))
			return -1;
	}
	/* Optional: state files written before TI-flow was managed have none. */
	if (json_object_object_get_ex(root, "tiflow", NULL) && load_tiflow(r, root, err))
		return -1;
	if (json_object_object_get_ex(root, "direct", NULL) && load_direct(r, root, err))
		return -1;
	ids = jget(root, "next_ids", json_type_object, "state", err);
	if (!ids || jid(ids, "nexthop", "next_ids", SVC_MAX_NEXTHOPS, false, &r->next_nh, err) ||
	    jid(ids, "set", "next_ids", SVC_MAX_SETS, false, &r->next_set, err) ||
	    jid(ids, "rule", "next_ids", SVC_MAX_RULE_IDS, false, &r->next_rule, err))
		return -1;
	return 0;
}

int svc_reg_from_json(struct svc_reg *r, json_object *root, struct svc_err *err)
{
	json_object *fmt;

	svc_reg_init(r);
	fmt = jget(root, "format", json_type_int, "state", err);
	if (!fmt)
		return -1;
	if (json_object_get_int64(fmt) != SVC_REG_FORMAT)
		return svc_err_set(err, SVC_API_INVALID, "state: unknown registry format %lld",
				   (long long)json_object_get_int64(fmt));
	/* Next hops first: instances and rules then find their recorded ids. */
	if (load_nexthops(r, root, err) || load_services(r, root, err) ||
	    load_bindings(r, root, err) || load_rules(r, root, err) || load_misc(r, root, err)) {
		svc_reg_free(r);
		return -1;
	}
	return 0;
}
