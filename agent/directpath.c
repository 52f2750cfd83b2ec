// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned direct path: the direct.* API ops and the registry -> kernel sync
 * of the direct-path tc programs (agent/lib/direct.h): interfaces they are
 * attached to, this host's instance id and service addresses (instance
 * hosts), the instance id -> host address map (client hosts). Loaded only
 * once something direct is recorded; maps pinned in the agent's pin
 * directory, programs attached by tc, so both outlive the agent; start-up
 * re-applies the registry (after a reboot: attaches again, refills the maps).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include "addr.h"
#include "agent.h"
#include "change.h"
#include "direct.h"
#include "log.h"

static const char *const dr_labels[SVC_DIRECT_REASON_MAX] = {
#define DR_LABEL(name, label, desc) label,
	SVC_DIRECT_REASONS(DR_LABEL)
#undef DR_LABEL
};
static const char *const dr_descs[SVC_DIRECT_REASON_MAX] = {
#define DR_DESC(name, label, desc) desc,
	SVC_DIRECT_REASONS(DR_DESC)
#undef DR_DESC
};

/* dr_sync_local - direct_local becomes exactly the recorded service addresses. */
static int dr_sync_local(struct agent *a, char *why, size_t whylen)
{
	struct svc_addr stale[SVC_REG_DIRECT_MAX_VIPS * 2], k, next;
	const struct svc_reg_direct *d = &a->reg.direct;
	size_t n_stale = 0;
	void *prev = NULL;
	char b[SVC_ADDR_STRLEN];
	int fd, err;

	fd = svc_direct_map_fd(a->direct, "direct_local");
	if (fd < 0) {
		snprintf(why, whylen, "map direct_local: %s", strerror(-fd));
		return fd;
	}
	/* Collect first: deleting while walking would restart the walk. */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		bool recorded = false;

		for (size_t i = 0; i < d->n_vips && !recorded; i++)
			recorded = !memcmp(&d->vips[i], &next, sizeof(next));
		if (!recorded && n_stale < sizeof(stale) / sizeof(stale[0]))
			stale[n_stale++] = next;
		k = next;
		prev = &k;
	}
	for (size_t i = 0; i < n_stale; i++) {
		err = svc_direct_local_delete(a->direct, &stale[i]);
		if (err && err != -ENOENT) {
			snprintf(why, whylen, "remove service address %s: %s",
				 svc_addr_format(&stale[i], b, sizeof(b)), strerror(-err));
			return err;
		}
	}
	for (size_t i = 0; i < d->n_vips; i++) {
		err = svc_direct_local_update(a->direct, &d->vips[i]);
		if (err) {
			snprintf(why, whylen, "service address %s: %s",
				 svc_addr_format(&d->vips[i], b, sizeof(b)), strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * dr_clear_unrecorded - the first sync of this process: clear direct_inst
 * entries the registry does not have (an array: every id is looked at once).
 */
static int dr_clear_unrecorded(struct agent *a, char *why, size_t whylen)
{
	const struct svc_reg_direct *d = &a->reg.direct;
	struct svc_direct_inst in;
	int fd, err;

	fd = svc_direct_map_fd(a->direct, "direct_inst");
	if (fd < 0) {
		snprintf(why, whylen, "map direct_inst: %s", strerror(-fd));
		return fd;
	}
	for (__u32 id = 1; id < SVC_MAX_DIRECT_INSTANCES; id++) {
		bool recorded = false;

		if (bpf_map_lookup_elem(fd, &id, &in) || !(in.flags & SVC_DIRECT_INST_F_SET))
			continue;
		for (size_t i = 0; i < d->n_map && !recorded; i++)
			recorded = d->map[i].id == id;
		if (recorded)
			continue;
		err = svc_direct_instance_delete(a->direct, (__u16)id);
		if (err) {
			snprintf(why, whylen, "clear instance %u: %s", id, strerror(-err));
			return err;
		}
	}
	return 0;
}

int agent_direct_sync(struct agent *a, char *why, size_t whylen)
{
	const struct svc_reg_direct *d = &a->reg.direct;
	char b[SVC_ADDR_STRLEN];
	int err;

	if (!a->direct && !svc_reg_direct_configured(&a->reg))
		return 0; /* never configured: do not load the programs */
	if (!a->direct) {
		struct svc_direct_config cfg = {
			.pin_dir = a->cfg.pin_dir,
			.tiflow_kind = a->reg.tiflow.kind,
		};

		err = svc_direct_open(&cfg, &a->direct);
		if (err) {
			snprintf(why, whylen, "load the direct-path programs (pins in %s): %s",
				 a->cfg.pin_dir, strerror(-err));
			return err;
		}
		err = dr_clear_unrecorded(a, why, whylen);
		if (err)
			return err;
	}
	err = svc_direct_set_instance_id(a->direct, d->instance_id);
	if (err) {
		snprintf(why, whylen, "direct instance id %u: %s", d->instance_id, strerror(-err));
		return err;
	}
	err = dr_sync_local(a, why, whylen);
	if (err)
		return err;
	for (size_t i = 0; i < d->n_map; i++) {
		err = svc_direct_instance_update(a->direct, d->map[i].id, &d->map[i].addr);
		if (err) {
			snprintf(why, whylen, "map instance %u to %s: %s", d->map[i].id,
				 svc_addr_format(&d->map[i].addr, b, sizeof(b)), strerror(-err));
			return err;
		}
	}
	/* Maps first: the programs see a complete configuration from their first packet. */
	for (size_t i = 0; i < d->n_ifaces; i++) {
		if (!if_nametoindex(d->ifaces[i].iface)) {
			snprintf(why, whylen, "attach direct path to %s: no such interface",
				 d->ifaces[i].iface);
			return -ENODEV;
		}
		err = svc_direct_attach(a->direct, d->ifaces[i].iface);
		if (err) {
			snprintf(why, whylen, "attach direct path to %s: %s", d->ifaces[i].iface,
				 strerror(-err));
			return err;
		}
	}
	return 0;
}

void agent_direct_restore(struct agent *a)
{
	char why[512];

	if (!svc_reg_direct_configured(&a->reg))
		return;
	if (agent_direct_sync(a, why, sizeof(why)))
		pr_warn("recorded direct-path settings not fully restored: %s", why);
	else
		pr_info("direct path: %zu interface(s), instance id %u, %zu service address(es), "
			"%zu instance host(s)",
			a->reg.direct.n_ifaces, a->reg.direct.instance_id, a->reg.direct.n_vips,
			a->reg.direct.n_map);
}

void agent_direct_stop(struct agent *a)
{
	svc_direct_close(a->direct);
	a->direct = NULL;
}

/* dr_show - the result of every direct op: interfaces (attached per tc), maps, counters. */
static int dr_show(struct agent *a, json_object *res, struct svc_err *err)
{
	const struct svc_reg_direct *d = &a->reg.direct;
	struct svc_counter c[SVC_DIRECT_REASON_MAX];
	json_object *o = json_object_new_object(), *ifs = json_object_new_array(),
		    *vips = json_object_new_array(), *map = json_object_new_array(),
		    *ctr = json_object_new_array(), *e;
	char b[SVC_ADDR_STRLEN];
	int r;

	memset(c, 0, sizeof(c));
	json_object_object_add(res, "direct", o);
	json_object_object_add(res, "ifaces", ifs);
	json_object_object_add(res, "vips", vips);
	json_object_object_add(res, "map", map);
	json_object_object_add(res, "counters", ctr);
	if (!o || !ifs || !vips || !map || !ctr)
		return svc_err_set(err, SVC_API_INTERNAL, "out of memory");
	json_object_object_add(o, "loaded", json_object_new_boolean(a->direct != NULL));
	if (a->direct) {
		struct svc_direct_cfg cfg;

		r = svc_direct_cfg_read(a->direct, &cfg);
		if (!r)
			r = svc_direct_stats_read(a->direct, c);
		if (r)
			return svc_err_set(err, SVC_API_INTERNAL, "read the direct maps: %s",
					   strerror(-r));
		json_object_object_add(o, "instance_id", json_object_new_int(cfg.instance_id));
	}
	for (size_t i = 0; i < d->n_ifaces; i++) {
		__u32 in = 0, eg = 0;
		int at = if_nametoindex(d->ifaces[i].iface)
				 ? svc_direct_attached(d->ifaces[i].iface, &in, &eg)
				 : -ENODEV;

		e = json_object_new_object();
		json_object_object_add(e, "iface", json_object_new_string(d->ifaces[i].iface));
		json_object_object_add(
			e, "role",
			json_object_new_string(svc_direct_role_names[d->ifaces[i].role]));
		json_object_object_add(e, "attached", json_object_new_boolean(at == 1));
		json_object_object_add(e, "ingress_id", json_object_new_int64(at == 1 ? in : 0));
		json_object_object_add(e, "egress_id", json_object_new_int64(at == 1 ? eg : 0));
		json_object_array_add(ifs, e);
	}
	for (size_t i = 0; i < d->n_vips; i++) {
		e = json_object_new_object();
		json_object_object_add(
			e, "addr",
			json_object_new_string(svc_addr_format(&d->vips[i], b, sizeof(b))));
		json_object_array_add(vips, e);
	}
	for (size_t i = 0; i < d->n_map; i++) {
		e = json_object_new_object();
		json_object_object_add(e, "id", json_object_new_int(d->map[i].id));
		json_object_object_add(
			e, "addr",
			json_object_new_string(svc_addr_format(&d->map[i].addr, b, sizeof(b))));
		json_object_array_add(map, e);
	}
	for (unsigned int i = 0; i < SVC_DIRECT_REASON_MAX; i++) {
		e = json_object_new_object();
		json_object_object_add(e, "reason", json_object_new_string(dr_labels[i]));
		json_object_object_add(e, "packets", json_object_new_int64((int64_t)c[i].packets));
		json_object_object_add(e, "bytes", json_object_new_int64((int64_t)c[i].bytes));
		json_object_object_add(e, "meaning", json_object_new_string(dr_descs[i]));
		json_object_array_add(ctr, e);
	}
	return 0;
}

/* dr_undo - remove what the failed change newly set up (iface). */
static void dr_undo(struct agent *a, const char *iface)
{
	if (!svc_reg_direct_iface_find(&a->reg, iface))
		svc_direct_detach(iface);
}

/* dr_commit - apply the changed registry (change.h), then show the result. */
static int dr_commit(struct agent *a, struct svc_reg *backup, const char *undo_iface,
		     json_object *res, struct svc_err *err)
{
	if (agent_change_commit(a, backup, "direct", agent_direct_sync, dr_undo, undo_iface, err))
		return -1;
	return dr_show(a, res, err);
}

/* dr_arg_iface - "iface": a valid name of an existing interface. */
static int dr_arg_iface(json_object *args, bool must_exist, const char **out, struct svc_err *err)
{
	if (svc_api_arg_str(args, "iface", true, out, err) < 0)
		return -1;
	if (!svc_iface_valid(*out))
		return svc_err_set(err, SVC_API_INVALID, "invalid iface '%.32s'", *out);
	if (must_exist && !if_nametoindex(*out))
		return svc_err_set(err, SVC_API_NOT_FOUND, "no interface '%s'", *out);
	return 0;
}

static int dr_iface(struct agent *a, json_object *args, json_object *res, int role,
		    struct svc_err *err)
{
	unsigned long id = 0;
	struct svc_reg backup;
	const char *ifn;
	bool was;

	if (dr_arg_iface(args, true, &ifn, err))
		return -1;
	if (role == SVC_DIRECT_ROLE_INSTANCE &&
	    svc_api_arg_uint(args, "instance_id", true, 1, 65535, &id, err) < 0)
		return -1;
	was = svc_reg_direct_iface_find(&a->reg, ifn) != NULL;
	if (agent_change_begin(a, &backup, err))
		return -1;
	if (svc_reg_direct_iface_set(&a->reg, ifn, role,
				     role == SVC_DIRECT_ROLE_INSTANCE ? (long)id : -1, err))
		return agent_change_abort(a, &backup);
	if (dr_commit(a, &backup, was ? NULL : ifn, res, err))
		return -1;
	pr_info("direct path on %s (%s)", ifn, svc_direct_role_names[role]);
	return 0;
}

int agent_op_direct_client(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err)
{
	return dr_iface(a, args, res, SVC_DIRECT_ROLE_CLIENT, err);
}

int agent_op_direct_instance(struct agent *a, json_object *args, json_object *res,
			     struct svc_err *err)
{
	return dr_iface(a, args, res, SVC_DIRECT_ROLE_INSTANCE, err);
}

int agent_op_direct_off(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_reg backup;
	const char *ifn;
	int r;

	if (dr_arg_iface(args, false, &ifn, err) || agent_change_begin(a, &backup, err))
		return -1;
	if (svc_reg_direct_iface_del(&a->reg, ifn, err))
		return agent_change_abort(a, &backup);
	if (if_nametoindex(ifn)) {
		r = svc_direct_detach(ifn);
		if (r && r != -ENOENT) {
			agent_change_abort(a, &backup);
			return svc_err_set(err, SVC_API_INTERNAL, "detach direct path from %s: %s",
					   ifn, strerror(-r));
		}
	}
	if (dr_commit(a, &backup, NULL, res, err))
		return -1;
	pr_info("direct path off on %s", ifn);
	return 0;
}

static int dr_vip(struct agent *a, json_object *args, json_object *res, bool add,
		  struct svc_err *err)
{
	struct svc_reg backup;
	struct svc_addr addr;
	int r;

	if (svc_api_arg_addr(args, "addr", true, &addr, err) < 0 ||
	    agent_change_begin(a, &backup, err))
		return -1;
	if (add ? svc_reg_direct_vip_add(&a->reg, &addr, err)
		: svc_reg_direct_vip_del(&a->reg, &addr, err))
		return agent_change_abort(a, &backup);
	if (!add && a->direct) {
		r = svc_direct_local_delete(a->direct, &addr);
		if (r && r != -ENOENT) {
			agent_change_abort(a, &backup);
			return svc_err_set(err, SVC_API_INTERNAL, "remove the service address: %s",
					   strerror(-r));
		}
	}
	return dr_commit(a, &backup, NULL, res, err);
}

int agent_op_direct_vip_add(struct agent *a, json_object *args, json_object *res,
			    struct svc_err *err)
{
	return dr_vip(a, args, res, true, err);
}

int agent_op_direct_vip_del(struct agent *a, json_object *args, json_object *res,
			    struct svc_err *err)
{
	return dr_vip(a, args, res, false, err);
}

int agent_op_direct_map(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_reg backup;
	struct svc_addr addr;
	unsigned long id;

	if (svc_api_arg_uint(args, "id", true, 1, 65535, &id, err) < 0 ||
	    svc_api_arg_addr(args, "addr", true, &addr, err) < 0 ||
	    agent_change_begin(a, &backup, err))
		return -1;
	if (svc_reg_direct_map_set(&a->reg, (long)id, &addr, err))
		return agent_change_abort(a, &backup);
	return dr_commit(a, &backup, NULL, res, err);
}

int agent_op_direct_unmap(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_reg backup;
	unsigned long id;
	int r;

	if (svc_api_arg_uint(args, "id", true, 1, 65535, &id, err) < 0 ||
	    agent_change_begin(a, &backup, err))
		return -1;
	if (svc_reg_direct_map_del(&a->reg, (long)id, err))
		return agent_change_abort(a, &backup);
	if (a->direct) {
		r = svc_direct_instance_delete(a->direct, (__u16)id);
		if (r) {
			agent_change_abort(a, &backup);
			return svc_err_set(err, SVC_API_INTERNAL, "clear instance %lu: %s", id,
					   strerror(-r));
		}
	}
	return dr_commit(a, &backup, NULL, res, err);
}

int agent_op_direct_show(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	(void)args;
	return dr_show(a, res, err);
}
