// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Re-injecting a frame through an XDP program: live test run, or copy run + AF_PACKET. */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include "reinject.h"

/* How many links of a namespace the egress choice looks at. */
#define SVC_REINJECT_MAX_LINKS 1024

int svc_reinject_live(int prog_fd, const void *frame, __u32 len, __u32 ifindex, __u32 rxq)
{
	struct xdp_md ctx = {
		.data = 0, .data_end = len, .ingress_ifindex = ifindex, .rx_queue_index = rxq
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	return 0;
}

int svc_xdp_run_copy(int prog_fd, const void *frame, __u32 len, __u32 ifindex, __u32 rxq, void *out,
		     __u32 out_cap, __u32 *out_len, __u32 *verdict)
{
	struct xdp_md ctx = {
		.data = 0, .data_end = len, .ingress_ifindex = ifindex, .rx_queue_index = rxq
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .data_out = out,
		    .data_size_out = out_cap, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	if (opts.data_size_out > out_cap)
		return -ENOSPC;
	*out_len = opts.data_size_out;
	*verdict = opts.retval;
	return 0;
}

int svc_redirect_egress_pick(const __u8 smac[6], const struct svc_link *links, size_t n,
			     int route_oif)
{
	int found = 0, count = 0;

	for (size_t i = 0; i < n; i++) {
		if (!links[i].up || memcmp(links[i].mac, smac, 6))
			continue;
		if (route_oif && links[i].ifindex == route_oif)
			return route_oif;
		found = links[i].ifindex;
		count++;
	}
	if (!count)
		return -ENODEV;
	return count == 1 ? found : -EADDRNOTAVAIL;
}

static void add_attr(struct nlmsghdr *nh, size_t cap, unsigned short type, const void *data,
		     size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));

	if (NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len) > cap)
		return;
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = (__u32)(NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len));
}

/* The kernel's output route to @dst from @src (RTM_GETROUTE): its interface, or -errno. */
static int route_oif(int family, const void *dst, const void *src)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req;
	size_t alen = family == AF_INET ? 4 : 16;
	char buf[8192];
	int fd, oif = -ENOENT;
	ssize_t n;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.rt.rtm_family = (unsigned char)family;
	req.rt.rtm_dst_len = req.rt.rtm_src_len = (unsigned char)(alen * 8);
	add_attr(&req.nh, sizeof(req), RTA_DST, dst, alen);
	add_attr(&req.nh, sizeof(req), RTA_SRC, src, alen);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		oif = -errno;
		goto out;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		oif = -errno;
		goto out;
	}
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
	     nh = NLMSG_NEXT(nh, n)) {
		struct rtattr *rta;
		int len;

		if (nh->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(nh);

			oif = e->error ? e->error : -ENOENT;
			break;
		}
		if (nh->nlmsg_type != RTM_NEWROUTE)
			continue;
		len = (int)RTM_PAYLOAD(nh);
		for (rta = RTM_RTA(NLMSG_DATA(nh)); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
			if (rta->rta_type == RTA_OIF)
				memcpy(&oif, RTA_DATA(rta), sizeof(oif));
		break;
	}
out:
	close(fd);
	return oif;
}

/* The route the frame's outer header asks for; 0 when it is neither IPv4 nor IPv6. */
static int frame_route_oif(const __u8 *f, __u32 len)
{
	__u16 proto;

	if (len < ETH_HLEN)
		return 0;
	proto = (__u16)(f[12] << 8 | f[13]);
	if (proto == ETHERTYPE_IP && len >= ETH_HLEN + 20)
		return route_oif(AF_INET, f + ETH_HLEN + 16, f + ETH_HLEN + 12);
	if (proto == ETHERTYPE_IPV6 && len >= ETH_HLEN + 40)
		return route_oif(AF_INET6, f + ETH_HLEN + 24, f + ETH_HLEN + 8);
	return 0;
}

int svc_redirect_egress(const void *frame, __u32 len)
{
	const __u8 *f = frame;
	struct ifaddrs *ifs, *p;
	struct svc_link *links;
	size_t n = 0;
	int ret, oif;

	if (len < ETH_HLEN)
		return -EMSGSIZE;
	if (getifaddrs(&ifs))
		return -errno;
	links = calloc(SVC_REINJECT_MAX_LINKS, sizeof(*links));
	if (!links) {
		freeifaddrs(ifs);
		return -ENOMEM;
	}
	/* AF_PACKET entries: one per link, with its hardware address. */
	for (p = ifs; p && n < SVC_REINJECT_MAX_LINKS; p = p->ifa_next) {
		const struct sockaddr_ll *sll = (const struct sockaddr_ll *)p->ifa_addr;

		if (!sll || sll->sll_family != AF_PACKET || sll->sll_halen != 6)
			continue;
		links[n].ifindex = sll->sll_ifindex;
		memcpy(links[n].mac, sll->sll_addr, 6);
		links[n].up = p->ifa_flags & IFF_UP;
		n++;
	}
	freeifaddrs(ifs);
	ret = svc_redirect_egress_pick(f + 6, links, n, 0);
	if (ret == -EADDRNOTAVAIL) {
		oif = frame_route_oif(f, len);
		if (oif > 0)
			ret = svc_redirect_egress_pick(f + 6, links, n, oif);
	}
	free(links);
	return ret;
}

int svc_frame_socket(void)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), one = 1, err;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int svc_frame_send(int fd, int ifindex, const void *frame, __u32 len)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_ifindex = ifindex,
				   .sll_halen = 6 };
	const __u8 *f = frame;

	if (len < ETH_HLEN)
		return -EMSGSIZE;
	memcpy(&sll.sll_protocol, f + 12, 2);
	memcpy(sll.sll_addr, f, 6);
	if (sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) != (ssize_t)len)
		return -errno;
	return 0;
}
