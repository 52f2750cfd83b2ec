// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svcplaned API: attach and detach of the XDP programs, and their restore at start. */
#include <errno.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "addr.h"
#include "agent.h"
#include "handlers.h"
#include "log.h"
#include "svc_reason_names.h"

/* ---- attachments ---- */

json_object *op_attachment_json(const char *iface, int prog, int mode, __u32 prog_id)
{
	json_object *o = json_object_new_object();

	op_put_str(o, "iface", iface);
	op_put_str(o, "prog", prog >= 0 ? svc_prog_names[prog] : NULL);
	op_put_str(o, "mode", mode >= 0 ? svc_mode_names[mode] : NULL);
	op_put_int(o, "prog_id", prog_id);
	return o;
}

static int save_or_err(struct agent *a, struct svc_err *err)
{
	char why[256];

	if (agent_state_save(a, why, sizeof(why)))
		return svc_err_set(err, SVC_API_INTERNAL, "save state: %s", why);
	return 0;
}

int agent_op_attach(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_reg_attach *at;
	enum svc_prog cur;
	const char *iface;
	int prog, mode = (int)a->cfg.mode, ret;
	__u32 id = 0;

	if (op_arg_iface(args, &iface, err) ||
	    svc_api_arg_enum(args, "prog", true, svc_prog_names, &prog, err) < 0 ||
	    svc_api_arg_enum(args, "mode", false, svc_mode_names, &mode, err) < 0)
		return -1;
	if (!if_nametoindex(iface))
		return svc_err_set(err, SVC_API_NOT_FOUND, "no interface '%s'", iface);
	at = svc_reg_attach_find(&a->reg, iface);
	if (at && svc_dp_attached(iface, &cur, &id) == 1)
		return svc_err_set(err, SVC_API_EXISTS,
				   "%s has the %s program attached already (detach it first)",
				   iface, svc_prog_names[cur]);
	ret = svc_dp_attach(a->dp, prog, iface, mode);
	if (ret == -EEXIST)
		return svc_err_set(err, SVC_API_EXISTS,
				   "attach %s to %s: another XDP program is attached there "
				   "(detach it first)",
				   svc_prog_names[prog], iface);
	if (ret == -EPERM)
		return svc_err_set(err, SVC_API_INTERNAL,
				   "attach xdp %s to %s: %s (svcplaned needs CAP_SYS_ADMIN, "
				   "CAP_NET_ADMIN and CAP_NET_RAW: docs/svcplaned.md)",
				   svc_prog_names[prog], iface, strerror(-ret));
	if (ret)
		return svc_err_set(err, SVC_API_INTERNAL, "attach xdp %s to %s: %s%s",
				   svc_prog_names[prog], iface, strerror(-ret),
				   mode == SVC_XDP_NATIVE ? " (try --mode skb)" : "");
	if (at) {
		/* Recorded but found detached: re-attached, record it as asked now. */
		at->prog = (__u8)prog;
		at->mode = (__u8)mode;
	} else if (svc_reg_attach_add(&a->reg, iface, prog, mode, err)) {
		svc_dp_detach(a->dp, iface);
		return -1;
	}
	if (save_or_err(a, err)) {
		svc_dp_detach(a->dp, iface);
		svc_reg_attach_del(&a->reg, iface, NULL);
		return -1;
	}
	svc_dp_attached(iface, NULL, &id);
	pr_info("attached %s program to %s (%s mode, prog id %u)", svc_prog_names[prog], iface,
		svc_mode_names[mode], id);
	json_object_object_add(res, "attachment", op_attachment_json(iface, prog, mode, id));
	return 0;
}

int agent_op_detach(struct agent *a, json_object *args, json_object *res, struct svc_err *err)
{
	struct svc_reg_attach *at;
	const char *iface;
	int attached = 0, ret;

	(void)res;
	if (op_arg_iface(args, &iface, err))
		return -1;
	at = svc_reg_attach_find(&a->reg, iface);
	if (if_nametoindex(iface))
		attached = svc_dp_attached(iface, NULL, NULL);
	if (!at && attached != 1)
		return svc_err_set(err, SVC_API_NOT_FOUND, "no svcplane program attached to %s",
				   iface);
	if (attached == 1) {
		ret = svc_dp_detach(a->dp, iface);
		if (ret && ret != -ENOENT)
			return svc_err_set(err, SVC_API_INTERNAL, "detach xdp from %s: %s", iface,
					   strerror(-ret));
	}
	pr_info("detached svcplane program from %s", iface);
	if (at) {
		svc_reg_attach_del(&a->reg, iface, NULL);
		return save_or_err(a, err);
	}
	return 0;
}

void agent_attachments_restore(struct agent *a)
{
	for (size_t i = 0; i < a->reg.n_attachments; i++) {
		const struct svc_reg_attach *at = &a->reg.attachments[i];
		enum svc_prog cur;
		__u32 id = 0;
		int r;

		if (!if_nametoindex(at->iface)) {
			pr_warn("recorded attachment to %s not restored: no such interface",
				at->iface);
			continue;
		}
		r = svc_dp_attached(at->iface, &cur, &id);
		if (r == 1 && cur == at->prog) {
			pr_info("%s: %s program attached (prog id %u): adopted", at->iface,
				svc_prog_names[at->prog], id);
			continue;
		}
		r = svc_dp_attach(a->dp, at->prog, at->iface, at->mode);
		if (r)
			pr_warn("recorded attachment of %s to %s not restored: %s",
				svc_prog_names[at->prog], at->iface, strerror(-r));
		else
			pr_info("%s: %s program re-attached (%s mode)", at->iface,
				svc_prog_names[at->prog], svc_mode_names[at->mode]);
	}
}
