// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned: leases. Instances whose lease ran out are removed as dead (on
 * every agent), and this host's registrations are redone when its own etcd
 * lease was lost. Below register.c and etcdreg.c, which both use it.
 */
#include "addr.h"
#include "agent.h"
#include "log.h"

void agent_register_forget(struct agent *a)
{
	for (size_t i = 0; i < a->n_registered; i++) {
		a->registered[i].done = false;
		a->registered[i].retry_at = 0;
	}
}

int agent_leases_expire(struct agent *a)
{
	double now = agent_now_s();
	char why[256], b[SVC_ADDR_STRLEN], b2[SVC_ADDR_STRLEN];
	struct svc_err err;
	size_t n = 0;

	for (size_t i = a->reg.n_instances; i-- > 0;) {
		struct svc_reg_instance in = a->reg.instances[i];

		if (!in.lease_expires || now < in.lease_expires)
			continue;
		if (svc_reg_instance_del(&a->reg, &in.sid, &in.addr, &err))
			continue;
		svc_reg_nh_set_reset(&a->reg, &in.addr, true);
		pr_info("instance %s of %s: lease expired: removed (dead)",
			svc_addr_format(&in.addr, b, sizeof(b)),
			svc_sid_format(&in.sid, b2, sizeof(b2)));
		n++;
	}
	if (!n)
		return 0;
	if (agent_state_save(a, why, sizeof(why)))
		pr_err("lease expiry: save state: %s", why);
	return agent_reconcile(a);
}
