// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned TI-flow: the tiflow.* API ops and the registry -> kernel sync of
 * the TI-flow sockops program (agent/lib/tiflow.h): settings, selection and
 * cgroup attachments. The program is loaded only once TI-flow is configured;
 * its maps and links are pinned in the agent's pin directory, so they outlive
 * the agent, and start-up re-applies the registry (after a reboot nothing is
 * pinned: everything is attached again).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <bpf/bpf.h>
#include "addr.h"
#include "agent.h"
#include "change.h"
#include "log.h"
#include "tiflow.h"

/* tf_roles_flags - enum svc_tiflow_roles -> SVC_TIFLOW_CFG_F_*. */
static __u8 tf_roles_flags(__u8 roles)
{
	if (roles == SVC_TIFLOW_ROLES_INITIATOR)
		return SVC_TIFLOW_CFG_F_NO_RESPOND;
	if (roles == SVC_TIFLOW_ROLES_RESPONDER)
		return SVC_TIFLOW_CFG_F_NO_INITIATE;
	return 0;
}

static const char *tf_flags_roles(__u8 flags)
{
	switch (flags & (SVC_TIFLOW_CFG_F_NO_INITIATE | SVC_TIFLOW_CFG_F_NO_RESPOND)) {
	case 0:
		return "both";
	case SVC_TIFLOW_CFG_F_NO_RESPOND:
		return "initiator";
	case SVC_TIFLOW_CFG_F_NO_INITIATE:
		return "responder";
	default:
		return "none";
	}
}

static bool tf_sel_recorded(const struct svc_reg *r, const struct svc_tiflow_sel *k)
{
	static const struct svc_addr zero;

	for (size_t i = 0; i < r->tiflow.n_select; i++) {
		const struct svc_reg_tiflow_sel *s = &r->tiflow.select[i];
		const struct svc_addr *a = s->any_addr ? &zero : &s->addr;

		if (!memcmp(a, &k->addr, sizeof(*a)) && htons(s->port) == k->port)
			return true;
	}
	return false;
}

/* tf_sync_select - the pinned tiflow_select map becomes exactly the recorded selection. */
static int tf_sync_select(struct agent *a, char *why, size_t whylen)
{
	static const struct svc_addr zero;
	struct svc_tiflow_sel stale[SVC_REG_TIFLOW_MAX_SELECT * 2], k, next;
	size_t n_stale = 0;
	char path[PATH_MAX + 32];
	int fd, err;
	void *prev = NULL;

	snprintf(path, sizeof(path), "%.4000s/tiflow_select", a->cfg.pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		snprintf(why, whylen, "open pinned map %s: %s", path, strerror(errno));
		return -errno;
	}
	/* Collect first: deleting while walking would restart the walk. */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (!tf_sel_recorded(&a->reg, &next) && n_stale < sizeof(stale) / sizeof(stale[0]))
			stale[n_stale++] = next;
		k = next;
		prev = &k;
	}
	close(fd);
	for (size_t i = 0; i < n_stale; i++) {
		bool any = !memcmp(&stale[i].addr, &zero, sizeof(zero));

		err = svc_tiflow_select_del(a->tiflow, any ? NULL : &stale[i].addr,
					    ntohs(stale[i].port));
		if (err && err != -ENOENT) {
			snprintf(why, whylen, "remove a stale TI-flow selection: %s",
				 strerror(-err));
			return err;
		}
	}
	for (size_t i = 0; i < a->reg.tiflow.n_select; i++) {
		const struct svc_reg_tiflow_sel *s = &a->reg.tiflow.select[i];
		char b[SVC_ADDR_STRLEN + 16];

		err = svc_tiflow_select_add(a->tiflow, s->any_addr ? NULL : &s->addr, s->port);
		if (err && err != -EEXIST) {
			snprintf(why, whylen, "select %s: %s",
				 svc_tiflow_sel_format(s, b, sizeof(b)), strerror(-err));
			return err;
		}
	}
	return 0;
}

int agent_tiflow_sync(struct agent *a, char *why, size_t whylen)
{
	const struct svc_reg_tiflow *t = &a->reg.tiflow;
	int err;

	if (!a->tiflow && !svc_reg_tiflow_configured(&a->reg))
		return 0; /* never configured: do not load the program */
	if (!a->tiflow) {
		err = svc_tiflow_open(a->cfg.pin_dir, &a->tiflow);
		if (err) {
			snprintf(why, whylen, "load the TI-flow program (pins in %s): %s",
				 a->cfg.pin_dir, strerror(-err));
			return err;
		}
	}
	err = svc_tiflow_set_instance(a->tiflow, t->instance_id);
	if (!err)
		err = svc_tiflow_set_kind(a->tiflow, t->kind);
	if (!err)
		err = svc_tiflow_set_flags(a->tiflow, tf_roles_flags(t->roles));
	if (err) {
		snprintf(why, whylen, "configure TI-flow: %s", strerror(-err));
		return err;
	}
	err = tf_sync_select(a, why, whylen);
	if (err)
		return err;
	/* Configured before attaching: the first handshake already sees the settings. */
	for (size_t i = 0; i < t->n_cgroups; i++) {
		err = svc_tiflow_attach(a->tiflow, t->cgroups[i]);
		if (err) {
			snprintf(why, whylen, "attach TI-flow to cgroup %s: %s", t->cgroups[i],
				 strerror(-err));
			return err;
		}
	}
	return 0;
}

void agent_tiflow_restore(struct agent *a)
{
	char why[512];

	if (!svc_reg_tiflow_configured(&a->reg))
		return;
	if (agent_tiflow_sync(a, why, sizeof(why)))
		pr_warn("recorded TI-flow settings not fully restored: %s", why);
	else
		pr_info("TI-flow: %zu cgroup(s) attached, %zu selection(s), instance id %u",
			a->reg.tiflow.n_cgroups, a->reg.tiflow.n_select, a->reg.tiflow.instance_id);
}

void agent_tiflow_stop(struct agent *a)
{
	svc_tiflow_close(a->tiflow);
	a->tiflow = NULL;
}

/* tf_attached - the link pin of @cgroup exists (tiflow.h: tiflow_link_<cgroup id>). */
static bool tf_attached(struct agent *a, const char *cgroup)
{
	char path[PATH_MAX + 64];
	struct stat st;

	if (stat(cgroup, &st))
		return false;
	snprintf(path, sizeof(path), "%.4000s/tiflow_link_%llu", a->cfg.pin_dir,
		 (unsigned long long)st.st_ino);
	return !access(path, F_OK);
}

/* tf_show - the result of every tiflow op: what the kernel has, per the maps and pins. */
static int tf_show(struct agent *a, json_object *res, struct svc_err *err)
{
	json_object *o = json_object_new_object(), *cg = json_object_new_array(),
		    *sel = json_object_new_array(), *ctr = json_object_new_array(), *e;
	__u64 c[SVC_TIFLOW_EV_MAX] = { 0 };
	struct svc_tiflow_cfg cfg = { 0 };
	char b[SVC_ADDR_STRLEN + 16];
	int r;

	if (!o || !cg || !sel || !ctr) {
		json_object_put(o);
		json_object_put(cg);
		json_object_put(sel);
		json_object_put(ctr);
		return svc_err_set(err, SVC_API_INTERNAL, "out of memory");
	}
	json_object_object_add(res, "tiflow", o);
	json_object_object_add(res, "cgroups", cg);
	json_object_object_add(res, "select", sel);
	json_object_object_add(res, "counters", ctr);
	json_object_object_add(o, "loaded", json_object_new_boolean(a->tiflow != NULL));
	if (a->tiflow) {
		r = svc_tiflow_cfg_read(a->tiflow, &cfg);
		if (r)
			return svc_err_set(err, SVC_API_INTERNAL, "read map tiflow_cfg: %s",
					   strerror(-r));
		json_object_object_add(o, "instance_id", json_object_new_int(cfg.instance_id));
		json_object_object_add(
			o, "kind",
			json_object_new_int(cfg.kind ? cfg.kind : SVC_TIFLOW_KIND_DEFAULT));
		json_object_object_add(o, "roles",
				       json_object_new_string(tf_flags_roles(cfg.flags)));
		json_object_object_add(o, "selected", json_object_new_int64(cfg.n_select));
		r = svc_tiflow_stats_read(a->tiflow, c);
		if (r)
			return svc_err_set(err, SVC_API_INTERNAL, "read map tiflow_stats: %s",
					   strerror(-r));
	}
	for (size_t i = 0; i < a->reg.tiflow.n_cgroups; i++) {
		e = json_object_new_object();
		json_object_object_add(e, "cgroup",
				       json_object_new_string(a->reg.tiflow.cgroups[i]));
		json_object_object_add(
			e, "attached",
			json_object_new_boolean(tf_attached(a, a->reg.tiflow.cgroups[i])));
		json_object_array_add(cg, e);
	}
	for (size_t i = 0; i < a->reg.tiflow.n_select; i++) {
		e = json_object_new_object();
		json_object_object_add(e, "select",
				       json_object_new_string(svc_tiflow_sel_format(
					       &a->reg.tiflow.select[i], b, sizeof(b))));
		json_object_array_add(sel, e);
	}
	for (unsigned int ev = 0; ev < SVC_TIFLOW_EV_MAX; ev++) {
		e = json_object_new_object();
		json_object_object_add(e, "event",
				       json_object_new_string(svc_tiflow_event_label(ev)));
		json_object_object_add(e, "count", json_object_new_int64((int64_t)c[ev]));
		json_object_object_add(e, "meaning",
				       json_object_new_string(svc_tiflow_event_desc(ev)));
		json_object_array_add(ctr, e);
	}
	return 0;
}

/* tf_undo - remove what the failed change newly set up (cgroup). */
static void tf_undo(struct agent *a, const char *cgroup)
{
	if (a->tiflow)
		svc_tiflow_detach(a->cfg.pin_dir, cgroup);
}

/* tf_commit - apply the changed registry (change.h), then show the result. */
static int tf_commit(struct agent *a, struct svc_reg *backup, const char *undo_cgroup,
		     json_object *res, struct svc_err *err)
{
	if (agent_change_commit(a, backup, "tiflow", agent_tiflow_sync, tf_undo, undo_cgroup, err))
		return -1;
	return tf_show(a, res, err);
}

/* tf_args_settings - instance_id, kind, roles (each optional) into the registry. */
static int tf_args_settings(struct agent *a, json_object *args, bool *any, struct svc_err *err)
{
	unsigned long inst = 0, kind = 0;
	int ri, rk, rr, roles = -1;

	ri = svc_api_arg_uint(args, "instance_id", false, 0, 65535, &inst, err);
	if (ri < 0)
		return -1;
	rk = svc_api_arg_uint(args, "kind", false, 2, 255, &kind, err);
	if (rk < 0)
		return -1;
	rr = svc_api_arg_enum(args, "roles", false, svc_tiflow_roles_names, &roles, err);
	if (rr < 0)
		return -1;
	*any = ri || rk || rr;
	return svc_reg_tiflow_set(&a->reg, ri ? (long)inst : -1, rk ? (int)kind : -1, roles, err);
}

/* tf_arg_cgroup - "cgroup": a valid path; @must_exist: an existing cgroup v2 directory. */
static int tf_arg_cgroup(json_object *args, bool must_exist, const char **out, struct svc_err *err)
{
	struct statfs fs;
	struct stat st;

	if (svc_api_arg_str(args, "cgroup", true, out, err) < 0)
		return -1;
	if (!svc_cgroup_path_valid(*out))
		return svc_err_set(err, SVC_API_INVALID,
				   "invalid cgroup '%.64s': an absolute path of at most %d bytes, "
				   "no '.', '..' or empty components",
				   *out, SVC_REG_CGROUP_MAX);
	if (!must_exist)
		return 0;
	if (stat(*out, &st) || statfs(*out, &fs))
		return svc_err_set(err, SVC_API_NOT_FOUND, "cgroup %.200s: %s", *out,
				   strerror(errno));
	if (!S_ISDIR(st.st_mode) || fs.f_type != CGROUP2_SUPER_MAGIC)
		return svc_err_set(err, SVC_API_INVALID, "cgroup %.200s: not a cgroup v2 directory",
				   *out);
	return 0;
}

static int tf_arg_select(json_object *args, struct svc_reg_tiflow_sel *sel, struct svc_err *err)
{
	const char *s;

	if (svc_api_arg_str(args, "select", true, &s, err) < 0)
		return -1;
	if (svc_tiflow_sel_parse(s, sel))
		return svc_err_set(err, SVC_API_INVALID,
				   "invalid select '%.64s': expected ADDR, :PORT, ADDR:PORT or "
				   "[V6]:PORT, PORT 1..65535",
				   s);
	return 0;
}

int agent_op_tiflow_enable(struct agent *a, json_object *args, json_object *res,
			   struct svc_err *err)
{
	struct svc_reg backup;
	const char *cg;
	bool any;

	if (tf_arg_cgroup(args, true, &cg, err) || agent_change_begin(a, &backup, err))
		return -1;
	if (svc_reg_tiflow_enable(&a->reg, cg, err) || tf_args_settings(a, args, &any, err))
		return agent_change_abort(a, &backup);
	if (tf_commit(a, &backup, cg, res, err))
		return -1;
	pr_info("TI-flow enabled for cgroup %s", cg);
	return 0;
}

int agent_op_tiflow_disable(struct agent *a, json_object *args, json_object *res,
			    struct svc_err *err)
{
	struct svc_reg backup;
	const char *cg;
	int r;

	if (tf_arg_cgroup(args, false, &cg, err) || agent_change_begin(a, &backup, err))
		return -1;
	if (svc_reg_tiflow_disable(&a->reg, cg, err))
		return agent_change_abort(a, &backup);
	if (access(cg, F_OK)) {
		/* The cgroup is gone: so is its attachment. */
		pr_warn("TI-flow: cgroup %s no longer exists: forgetting it", cg);
	} else {
		r = svc_tiflow_detach(a->cfg.pin_dir, cg);
		if (r && r != -ENOENT) {
			agent_change_abort(a, &backup);
			return svc_err_set(err, SVC_API_INTERNAL, "detach TI-flow from %.200s: %s",
					   cg, strerror(-r));
		}
	}
	if (tf_commit(a, &backup, NULL, res, err))
		return -1;
	pr_info("TI-flow disabled for cgroup %s", cg);
	return 0;
}

int agent_op_tiflow_set(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_reg backup;
	bool any;

	if (agent_change_begin(a, &backup, err))
		return -1;
	if (tf_args_settings(a, args, &any, err))
		return agent_change_abort(a, &backup);
	if (!any) {
		agent_change_abort(a, &backup);
		return svc_err_set(err, SVC_API_INVALID,
				   "nothing to set: give instance_id, kind or roles");
	}
	return tf_commit(a, &backup, NULL, res, err);
}

static int tf_select(struct agent *a, json_object *args, json_object *res, bool add,
		     struct svc_err *err)
{
	struct svc_reg_tiflow_sel sel;
	struct svc_reg backup;

	if (tf_arg_select(args, &sel, err) || agent_change_begin(a, &backup, err))
		return -1;
	if (add ? svc_reg_tiflow_select_add(&a->reg, &sel, err)
		: svc_reg_tiflow_select_del(&a->reg, &sel, err))
		return agent_change_abort(a, &backup);
	return tf_commit(a, &backup, NULL, res, err);
}

int agent_op_tiflow_select_add(struct agent *a, json_object *args, json_object *res,
			       struct svc_err *err)
{
	return tf_select(a, args, res, true, err);
}

int agent_op_tiflow_select_del(struct agent *a, json_object *args, json_object *res,
			       struct svc_err *err)
{
	return tf_select(a, args, res, false, err);
}

int agent_op_tiflow_show(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	(void)args;
	return tf_show(a, res, err);
}
