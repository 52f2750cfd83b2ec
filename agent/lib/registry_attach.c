// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Registry: program attachments (router or endpoint XDP program per interface). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "addr.h"
#include "dataplane.h"
#include "registry.h"
#include "registry_int.h"
#include "svc_tiflow.h"

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
