// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Next-hop egress resolution (route get, neighbour, link) and events, over plain rtnetlink. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "addr.h"
#include "log.h"
#include "nhegress.h"

#define NHE_BUF 8192
/* The kernel's NUD_VALID (not in the UAPI): the states bpf_fib_lookup takes. */
#define NHE_NUD_VALID \
	(NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY)

/* A request: header, family message, a few attributes. */
struct nhe_req {
	struct nlmsghdr nh;
	union {
		struct rtmsg rt;
		struct ndmsg nd;
		struct ifinfomsg ifi;
	};
	char attrs[64];
};

static void nhe_attr(struct nhe_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/*
 * nhe_talk - send @r on a fresh socket and read its one answer into @buf.
 * Returns the answer's length, or -errno (the kernel's error, e.g. -ENOENT
 * for no neighbour entry, -ENETUNREACH for no route).
 */
static int nhe_talk(struct nhe_req *r, char *buf, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nlmsghdr *h;
	ssize_t n;
	int fd, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	r->nh.nlmsg_flags = NLM_F_REQUEST;
	r->nh.nlmsg_seq = 1;
	if (sendto(fd, r, r->nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	n = recv(fd, buf, len, 0);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	h = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(h, (size_t)n)) {
		err = -EBADMSG;
		goto out;
	}
	if (h->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA(h);

		err = e->error ? e->error : -ENOMSG;
		goto out;
	}
	err = (int)n;
out:
	close(fd);
	return err;
}

static int nhe_family(const struct svc_addr *a)
{
	return svc_addr_is_v4(a) ? AF_INET : AF_INET6;
}

/* The route toward @addr: its type, interface, gateway, MTU metric and lock, PMTU exception. */
struct nhe_route {
	unsigned char type;
	int oif;
	bool has_gw, gw_v6;
	struct svc_addr gw;
	__u32 mtu, lock;
	bool exception; /* a cached route (RTA_CACHEINFO with an expiry): its MTU is a PMTU */
};

static int nhe_route_get(const struct svc_addr *addr, struct nhe_route *rt)
{
	char buf[NHE_BUF];
	struct nhe_req r;
	struct rtattr *a;
	struct rtmsg *m;
	int n, len, fam = nhe_family(addr);

	memset(&r, 0, sizeof(r));
	memset(rt, 0, sizeof(*rt));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.nh.nlmsg_type = RTM_GETROUTE;
	r.rt.rtm_family = fam;
	r.rt.rtm_dst_len = fam == AF_INET ? 32 : 128;
	nhe_attr(&r, RTA_DST, fam == AF_INET ? (const void *)&addr->w[3] : (const void *)addr->b,
		 fam == AF_INET ? 4 : 16);
	n = nhe_talk(&r, buf, sizeof(buf));
	if (n < 0)
		return n;
	m = NLMSG_DATA((struct nlmsghdr *)buf);
	rt->type = m->rtm_type;
	len = (int)RTM_PAYLOAD((struct nlmsghdr *)buf);
	for (a = RTM_RTA(m); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (a->rta_type) {
		case RTA_OIF:
			rt->oif = *(int *)RTA_DATA(a);
			break;
		case RTA_GATEWAY:
			rt->has_gw = true;
			rt->gw_v6 = fam == AF_INET6;
			if (fam == AF_INET) {
				rt->gw.w[2] = htonl(0xffff);
				memcpy(&rt->gw.w[3], RTA_DATA(a), 4);
			} else {
				memcpy(rt->gw.b, RTA_DATA(a), 16);
			}
			break;
		case RTA_VIA: {
			/* An IPv4 route through an IPv6 gateway (RFC 5549). */
			struct rtvia *v = RTA_DATA(a);

			if (v->rtvia_family == AF_INET6 && RTA_PAYLOAD(a) >= sizeof(*v) + 16) {
				rt->has_gw = true;
				rt->gw_v6 = true;
				memcpy(rt->gw.b, v->rtvia_addr, 16);
			}
			break;
		}
		case RTA_CACHEINFO: {
			struct rta_cacheinfo *ci = RTA_DATA(a);

			rt->exception = ci->rta_expires != 0;
			break;
		}
		case RTA_METRICS: {
			struct rtattr *x = RTA_DATA(a);
			int xl = (int)RTA_PAYLOAD(a);

			for (; RTA_OK(x, xl); x = RTA_NEXT(x, xl)) {
				if (x->rta_type == RTAX_MTU)
					rt->mtu = *(__u32 *)RTA_DATA(x);
				else if (x->rta_type == RTAX_LOCK)
					rt->lock = *(__u32 *)RTA_DATA(x);
			}
			break;
		}
		}
	}
	return 0;
}

/* nhe_neigh_get - @nb's MAC on @ifindex into @mac when its entry is valid (NUD_VALID). */
static int nhe_neigh_get(int ifindex, const struct svc_addr *nb, bool v6, __u8 *mac)
{
	char buf[NHE_BUF];
	struct nhe_req r;
	struct ndmsg *m;
	struct rtattr *a;
	bool found = false;
	int n, len;

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	r.nh.nlmsg_type = RTM_GETNEIGH;
	r.nd.ndm_family = v6 ? AF_INET6 : AF_INET;
	r.nd.ndm_ifindex = ifindex;
	nhe_attr(&r, NDA_DST, v6 ? (const void *)nb->b : (const void *)&nb->w[3], v6 ? 16 : 4);
	n = nhe_talk(&r, buf, sizeof(buf));
	if (n < 0)
		return n;
	m = NLMSG_DATA((struct nlmsghdr *)buf);
	/* What bpf_fib_lookup() takes: any state in NUD_VALID. */
	if (!(m->ndm_state & NHE_NUD_VALID))
		return -ENOENT;
	len = (int)RTM_PAYLOAD((struct nlmsghdr *)buf);
	for (a = (struct rtattr *)((char *)m + NLMSG_ALIGN(sizeof(*m))); RTA_OK(a, len);
	     a = RTA_NEXT(a, len)) {
		if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
			memcpy(mac, RTA_DATA(a), 6);
			found = true;
		}
	}
	return found ? 0 : -ENOENT;
}

/* nhe_sysctl_u32 - a number from /proc/sys (@path), or @dflt when it cannot be read. */
static __u32 nhe_sysctl_u32(const char *path, __u32 dflt)
{
	unsigned int v;
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return dflt;
	ok = fscanf(f, "%u", &v) == 1;
	fclose(f);
	return ok ? v : dflt;
}

/* nhe_link_get - @ifindex's MAC and MTU (IPv6: its mtu6, from /proc/sys). */
static int nhe_link_get(int ifindex, bool v6, __u8 *mac, __u32 *mtu)
{
	char buf[NHE_BUF], name[IF_NAMESIZE] = "", path[96];
	struct ifinfomsg *m;
	struct nhe_req r;
	struct rtattr *a;
	bool has_mac = false;
	int n, len;

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.nh.nlmsg_type = RTM_GETLINK;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	n = nhe_talk(&r, buf, sizeof(buf));
	if (n < 0)
		return n;
	m = NLMSG_DATA((struct nlmsghdr *)buf);
	len = (int)IFLA_PAYLOAD((struct nlmsghdr *)buf);
	*mtu = 0;
	for (a = IFLA_RTA(m); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == 6) {
			memcpy(mac, RTA_DATA(a), 6);
			has_mac = true;
		} else if (a->rta_type == IFLA_MTU) {
			*mtu = *(__u32 *)RTA_DATA(a);
		} else if (a->rta_type == IFLA_IFNAME) {
			snprintf(name, sizeof(name), "%s", (const char *)RTA_DATA(a));
		}
	}
	if (v6 && name[0]) {
		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/mtu", name);
		*mtu = nhe_sysctl_u32(path, *mtu);
	}
	return has_mac && *mtu ? 0 : -ENODATA;
}

int svc_nhe_resolve(const struct svc_addr *addr, struct svc_nh_egress *out,
		    struct svc_nhe_info *info)
{
	struct svc_nhe_info dummy;
	struct nhe_route rt;
	bool v6 = !svc_addr_is_v4(addr), use_route_mtu;
	__u32 mtu = 0;
	int err;

	if (!addr || !out)
		return -EINVAL;
	if (!info)
		info = &dummy;
	memset(out, 0, sizeof(*out));
	memset(info, 0, sizeof(*info));
	out->addr = *addr;
	err = nhe_route_get(addr, &rt);
	/* No route: not valid; the router's FIB lookup then drops it (drop_fib) as before. */
	if (err == -ENETUNREACH || err == -EHOSTUNREACH || err == -ENETDOWN || err == -EINVAL)
		return 0;
	if (err)
		return err;
	if (rt.type != RTN_UNICAST || rt.oif <= 0)
		return 0;
	out->ifindex = (__u32)rt.oif;
	info->neigh = rt.has_gw ? rt.gw : *addr;
	info->neigh_v6 = rt.has_gw ? rt.gw_v6 : v6;
	err = nhe_link_get(rt.oif, v6, out->smac, &mtu);
	if (err)
		return err == -ENODATA || err == -ENODEV ? 0 : err;
	/*
	 * As ip_mtu_from_fib_result() / ip6_mtu_from_fib6(): a route's MTU
	 * metric counts for forwarding only when locked (IPv4 also with
	 * ip_forward_use_pmtu); a PMTU exception does; else the device's.
	 */
	use_route_mtu =
		rt.mtu && ((rt.lock & (1U << RTAX_MTU)) || rt.exception ||
			   (!v6 && nhe_sysctl_u32("/proc/sys/net/ipv4/ip_forward_use_pmtu", 0)));
	out->mtu = use_route_mtu ? rt.mtu : mtu;
	err = nhe_neigh_get(rt.oif, &info->neigh, info->neigh_v6, out->dmac);
	if (err == -ENOENT || err == -ENODATA) {
		info->neigh_missing = true;
		return 0;
	}
	if (err)
		return err;
	out->flags = SVC_NHE_F_VALID;
	return 0;
}

int svc_nhe_watch_open(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
	};
	int fd, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0) {
		err = -errno;
		pr_err("next-hop egress: rtnetlink socket: %s", strerror(-err));
		return err;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		pr_err("next-hop egress: bind rtnetlink to link, neighbour and route events: %s",
		       strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

/* nhe_neigh_event - the neighbour an RTM_NEWNEIGH/DELNEIGH names, to @cb. */
static void nhe_neigh_event(struct nlmsghdr *h,
			    void (*cb)(void *arg, const struct svc_nhe_neigh_ev *ev), void *arg)
{
	struct ndmsg *m = NLMSG_DATA(h);
	struct svc_nhe_neigh_ev ev;
	bool has_dst = false, has_mac = false;
	struct rtattr *a;
	int len = (int)RTM_PAYLOAD(h);

	if (!cb || len < 0)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.ifindex = m->ndm_ifindex;
	for (a = (struct rtattr *)((char *)m + NLMSG_ALIGN(sizeof(*m))); RTA_OK(a, len);
	     a = RTA_NEXT(a, len)) {
		if (a->rta_type == NDA_DST && m->ndm_family == AF_INET && RTA_PAYLOAD(a) == 4) {
			ev.addr.w[2] = htonl(0xffff);
			memcpy(&ev.addr.w[3], RTA_DATA(a), 4);
			has_dst = true;
		} else if (a->rta_type == NDA_DST && m->ndm_family == AF_INET6 &&
			   RTA_PAYLOAD(a) == 16) {
			memcpy(ev.addr.b, RTA_DATA(a), 16);
			has_dst = true;
		} else if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
			memcpy(ev.mac, RTA_DATA(a), 6);
			has_mac = true;
		}
	}
	if (!has_dst)
		return;
	ev.valid = h->nlmsg_type == RTM_NEWNEIGH && (m->ndm_state & NHE_NUD_VALID) && has_mac;
	cb(arg, &ev);
}

int svc_nhe_watch_read(int fd, void (*neigh_cb)(void *arg, const struct svc_nhe_neigh_ev *ev),
		       void *arg)
{
	char buf[NHE_BUF] __attribute__((aligned(4)));
	struct nlmsghdr *h;
	int mask = 0, len;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return mask;
			if (errno == ENOBUFS) {
				mask |= SVC_NHE_EV_LOST;
				continue;
			}
			return -errno;
		}
		len = (int)n;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			switch (h->nlmsg_type) {
			case RTM_NEWNEIGH:
			case RTM_DELNEIGH:
				mask |= SVC_NHE_EV_NEIGH;
				nhe_neigh_event(h, neigh_cb, arg);
				break;
			case RTM_NEWROUTE:
			case RTM_DELROUTE:
			case RTM_NEWLINK:
			case RTM_DELLINK:
				mask |= SVC_NHE_EV_ROUTE;
				break;
			}
		}
	}
}
