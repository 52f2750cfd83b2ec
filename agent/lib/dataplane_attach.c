// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* libsvc data plane: attach, detach and query the XDP programs on interfaces (libxdp). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "router.skel.h"
#include "endpoint.skel.h"
#include "addr.h"
#include "dataplane.h"
#include "dataplane_int.h"
#include "log.h"
#include "neigh.h"
#include "pin.h"
#include "direct.h"
#include "svc_optmac.h"

/* Program names, as the skeletons (and BTF) spell them; the kernel keeps 15 chars. */
static const char *const dp_prog_names[SVC_PROG_MAX] = {
	[SVC_PROG_ROUTER] = "svc_router_xdp",
	[SVC_PROG_ENDPOINT] = "svc_endpoint_xdp",
};

/* Which svcplane program @name is (full BTF name or the kernel's 15-char one), or -1. */
static int dp_prog_kind(const char *name)
{
	int i;

	if (!name)
		return -1;
	for (i = 0; i < SVC_PROG_MAX; i++) {
		if (!strcmp(name, dp_prog_names[i]))
			return i;
		if (strlen(name) == BPF_OBJ_NAME_LEN - 1 &&
		    !strncmp(name, dp_prog_names[i], BPF_OBJ_NAME_LEN - 1))
			return i;
	}
	return -1;
}

/* What runs on an interface, as far as svcplane cares. */
struct dp_xdp_state {
	struct xdp_multiprog *mp;  /* NULL: nothing attached */
	struct xdp_program *svc;   /* our program in it, or NULL */
	struct xdp_program *other; /* a foreign single (non-dispatcher) program, or NULL */
	enum svc_prog kind;
	enum xdp_attach_mode mode;
	bool legacy; /* a single program attached directly, no dispatcher */
};

static int dp_xdp_query(int ifindex, const char *ifname, struct dp_xdp_state *st)
{
	struct xdp_program *p;
	int err;

	memset(st, 0, sizeof(*st));
	st->mp = xdp_multiprog__get_from_ifindex(ifindex);
	err = libxdp_get_error(st->mp);
	if (err || !st->mp) {
		st->mp = NULL;
		if (err == -ENOENT || !err)
			return 0;
		pr_err("query xdp on %s: %s", ifname, dp_strerror(err));
		return err;
	}
	st->mode = xdp_multiprog__attach_mode(st->mp);
	st->legacy = xdp_multiprog__is_legacy(st->mp);
	if (st->legacy) {
		p = xdp_multiprog__main_prog(st->mp);
		if (dp_prog_kind(xdp_program__name(p)) >= 0)
			st->svc = p;
		else
			st->other = p;
	} else {
		for (p = xdp_multiprog__next_prog(NULL, st->mp); p;
		     p = xdp_multiprog__next_prog(p, st->mp)) {
			if (dp_prog_kind(xdp_program__name(p)) >= 0) {
				st->svc = p;
				break;
			}
		}
	}
	if (st->svc)
		st->kind = (enum svc_prog)dp_prog_kind(xdp_program__name(st->svc));
	return 0;
}

static const char *dp_mode_name(enum xdp_attach_mode mode)
{
	switch (mode) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "skb";
	case XDP_MODE_HW:
		return "hw";
	default:
		return "unspec";
	}
}

/* Atomic swap of a directly attached program: the kernel checks old_prog_fd is still there. */
static int dp_xdp_replace(struct dp_xdp_state *st, int ifindex, const char *ifname, int prog_fd,
			  enum xdp_attach_mode mode)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	__u32 flags = XDP_FLAGS_REPLACE;
	int err;

	flags |= mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	opts.old_prog_fd = xdp_program__fd(st->svc);
	err = bpf_xdp_attach(ifindex, prog_fd, flags, &opts);
	if (err)
		pr_err("replace xdp program %s on %s: %s", xdp_program__name(st->svc), ifname,
		       dp_strerror(err));
	return err;
}

/*
 * libxdp first tries its dispatcher; on kernels that refuse freplace the
 * dispatcher fails to load (libbpf warns) and libxdp falls back to a single
 * program, as intended here: those warnings are demoted (svc_libbpf_quiet)
 * while libxdp attaches; a real failure is reported by our own message.
 */
/* First attach through libxdp (it falls back to a single program where it has no dispatcher). */
static int dp_xdp_attach_new(int ifindex, const char *ifname, int prog_fd, const char *name,
			     enum xdp_attach_mode mode)
{
	libbpf_print_fn_t prev_print;
	struct xdp_program *xp;
	int fd, err;

	/* libxdp owns (and closes) the fd it is given: hand it a duplicate. */
	fd = fcntl(prog_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		err = -errno;
		pr_err("attach xdp %s to %s: dup program fd: %s", name, ifname, dp_strerror(err));
		return err;
	}
	xp = xdp_program__from_fd(fd);
	err = libxdp_get_error(xp);
	if (err) {
		close(fd);
		pr_err("attach xdp %s to %s: %s", name, ifname, dp_strerror(err));
		return err;
	}
	prev_print = libbpf_set_print(svc_libbpf_quiet);
	err = xdp_program__attach(xp, ifindex, mode, 0);
	libbpf_set_print(prev_print);
	xdp_program__close(xp);
	if (err)
		pr_err("attach xdp %s to %s: %s%s", name, ifname, dp_strerror(err),
		       mode == XDP_MODE_NATIVE ? " (try --mode skb)" : "");
	return err;
}

/*
 * dp_can_attach - whether this process may attach through libxdp: libxdp finds
 * the dispatcher it attached by program id (BPF_PROG_GET_FD_BY_ID), which needs
 * CAP_SYS_ADMIN, and libxdp 1.3 dereferences NULL inside libbpf when it is
 * missing (the agent died on `servicectl attach`). An error instead.
 */
static int dp_can_attach(const char *name, const char *ifname)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &hdr, data)) {
		/* Cannot tell (never seen): the attach itself will say. */
		pr_warn("attach xdp %s to %s: reading our capabilities: %s", name, ifname,
			dp_strerror(-errno));
		return 0;
	}
	if (data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN))
		return 0;
	pr_err("attach xdp %s to %s: svcplaned lacks CAP_SYS_ADMIN, which attaching through "
	       "libxdp needs (docs/svcplaned.md, \"Capabilities\")",
	       name, ifname);
	return -EPERM;
}

int svc_dp_attach(struct svc_dp *dp, enum svc_prog prog, const char *ifname, enum svc_xdp_mode mode)
{
	enum xdp_attach_mode xmode = mode == SVC_XDP_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	struct bpf_program *bp;
	struct dp_xdp_state st;
	int ifindex, prog_fd, err;

	bp = dp && (unsigned int)prog < SVC_PROG_MAX ? dp_program(dp, prog) : NULL;
	if (!bp || !ifname || (mode != SVC_XDP_NATIVE && mode != SVC_XDP_SKB))
		return -EINVAL;
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		err = -errno;
		pr_err("attach xdp %s to %s: %s", dp_prog_names[prog], ifname, dp_strerror(err));
		return err;
	}
	err = dp_can_attach(dp_prog_names[prog], ifname);
	if (err)
		return err;
	prog_fd = bpf_program__fd(bp);
	err = dp_xdp_query(ifindex, ifname, &st);
	if (err)
		return err;
	if (st.svc && st.legacy) {
		if (st.mode != xmode) {
			pr_err("attach xdp %s to %s: %s is attached in %s mode, not %s; detach it "
			       "first",
			       dp_prog_names[prog], ifname, xdp_program__name(st.svc),
			       dp_mode_name(st.mode), dp_mode_name(xmode));
			err = -EEXIST;
		} else {
			err = dp_xdp_replace(&st, ifindex, ifname, prog_fd, xmode);
		}
	} else if (st.svc) {
		/* Inside a libxdp dispatcher no atomic swap of one component exists. */
		pr_warn("xdp on %s: replacing %s inside the libxdp dispatcher is not atomic",
			ifname, xdp_program__name(st.svc));
		err = xdp_program__detach(st.svc, ifindex, st.mode, 0);
		if (err)
			pr_err("detach xdp %s from %s: %s", xdp_program__name(st.svc), ifname,
			       dp_strerror(err));
		else
			err = dp_xdp_attach_new(ifindex, ifname, prog_fd, dp_prog_names[prog],
						xmode);
	} else if (st.other) {
		pr_err("attach xdp %s to %s: another XDP program (%s) is attached; detach it "
		       "first",
		       dp_prog_names[prog], ifname, xdp_program__name(st.other));
		err = -EEXIST;
	} else {
		err = dp_xdp_attach_new(ifindex, ifname, prog_fd, dp_prog_names[prog], xmode);
	}
	xdp_multiprog__close(st.mp);
	return err;
}

int svc_dp_detach(struct svc_dp *dp, const char *ifname)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	struct dp_xdp_state st;
	int ifindex, err;

	(void)dp; /* the program is found on the interface, whichever object loaded it */
	if (!ifname)
		return -EINVAL;
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		err = -errno;
		pr_err("detach xdp from %s: %s", ifname, dp_strerror(err));
		return err;
	}
	err = dp_xdp_query(ifindex, ifname, &st);
	if (err)
		return err;
	if (!st.svc) {
		err = -ENOENT;
	} else if (st.legacy) {
		/* old_prog_fd: detach only if our program is still the one attached. */
		opts.old_prog_fd = xdp_program__fd(st.svc);
		err = bpf_xdp_detach(
			ifindex,
			XDP_FLAGS_REPLACE |
				(st.mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE),
			&opts);
	} else {
		err = xdp_program__detach(st.svc, ifindex, st.mode, 0);
	}
	if (err && err != -ENOENT)
		pr_err("detach xdp %s from %s: %s", xdp_program__name(st.svc), ifname,
		       dp_strerror(err));
	xdp_multiprog__close(st.mp);
	return err;
}

int svc_dp_attached(const char *ifname, enum svc_prog *prog, __u32 *prog_id)
{
	struct dp_xdp_state st;
	int ifindex, err;

	if (!ifname)
		return -EINVAL;
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		err = -errno;
		pr_err("query xdp on %s: %s", ifname, dp_strerror(err));
		return err;
	}
	err = dp_xdp_query(ifindex, ifname, &st);
	if (err)
		return err;
	if (st.svc) {
		if (prog)
			*prog = st.kind;
		if (prog_id)
			*prog_id = xdp_program__id(st.svc);
		err = 1;
	}
	xdp_multiprog__close(st.mp);
	return err;
}
