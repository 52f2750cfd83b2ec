// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Registry: TI-flow settings (cgroups, host-wide instance id/kind/roles, selection). */
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
		    (sel->any_addr || reg_addr_eq(&s->addr, &sel->addr)))
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
	return !reg_addr_eq(&sel->addr, &zero) &&
	       !(svc_addr_is_v4(&sel->addr) && sel->addr.w[3] == 0);
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
