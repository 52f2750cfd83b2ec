// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Registry: the direct path (interfaces and roles, service addresses, instance map). */
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
		if (reg_addr_eq(&r->direct.vips[i], a))
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
