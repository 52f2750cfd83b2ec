// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Strict parsing and canonical printing of addresses, serviceIDs, prefixes, bindings, hops. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "addr.h"

static const __u8 v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/*
 * Copies s[0..len) into @buf as a string; -EINVAL if it does not fit (no
 * valid address text is that long, so this is a parse error, not truncation).
 */
static int copy_part(char *buf, size_t size, const char *s, size_t len)
{
	if (len >= size)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

/*
 * Parses a decimal number of digits only (no sign, no space, no leading
 * zero unless it is "0") of at most @max; -EINVAL otherwise.
 */
static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	const char *p;

	if (!*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_v6(const char *s, __u8 *out)
{
	return inet_pton(AF_INET6, s, out) == 1 ? 0 : -EINVAL;
}

int svc_sockaddr_parse(const char *s, __u16 port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -EINVAL;
}

int svc_addr_parse(const char *s, struct svc_addr *out)
{
	struct svc_addr a = {};

	if (!s || !out)
		return -EINVAL;
	if (inet_pton(AF_INET, s, &a.b[12]) == 1) {
		memcpy(a.b, v4_mapped_prefix, sizeof(v4_mapped_prefix));
	} else if (parse_v6(s, a.b)) {
		return -EINVAL;
	}
	*out = a;
	return 0;
}

bool svc_addr_is_v4(const struct svc_addr *a)
{
	return !memcmp(a->b, v4_mapped_prefix, sizeof(v4_mapped_prefix));
}

/*
 * RFC 5952 text of 16 bytes: lowercase hex, no leading zeros, the longest run
 * (first if tied) of two or more zero groups as "::". Written by hand because
 * inet_ntop prints e.g. ::1:2 as "::0.1.0.2" (IPv4-compatible form).
 */
static const char *format_v6(const __u8 *b, char *buf, size_t len)
{
	int best = -1, best_len = 0, run = 0, i, n = 0;
	char tmp[SVC_ADDR_STRLEN];

	for (i = 0; i < 8; i++) {
		if (!b[2 * i] && !b[2 * i + 1]) {
			run++;
			if (run > best_len) {
				best_len = run;
				best = i - run + 1;
			}
		} else {
			run = 0;
		}
	}
	if (best_len < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		if (i == best) {
			n += snprintf(tmp + n, sizeof(tmp) - n, "::");
			i += best_len - 1;
			continue;
		}
		if (i && i != best + best_len)
			n += snprintf(tmp + n, sizeof(tmp) - n, ":");
		n += snprintf(tmp + n, sizeof(tmp) - n, "%x", (b[2 * i] << 8) | b[2 * i + 1]);
	}
	if ((size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	memcpy(buf, tmp, (size_t)n + 1);
	return buf;
}

const char *svc_addr_format(const struct svc_addr *a, char *buf, size_t len)
{
	if (svc_addr_is_v4(a)) {
		if (!inet_ntop(AF_INET, &a->b[12], buf, (socklen_t)len) && len)
			buf[0] = '\0';
		return buf;
	}
	return format_v6(a->b, buf, len);
}

int svc_sid_parse(const char *s, struct svc_sid *out)
{
	struct svc_sid sid;

	if (!s || !out || parse_v6(s, sid.b))
		return -EINVAL;
	*out = sid;
	return 0;
}

const char *svc_sid_format(const struct svc_sid *sid, char *buf, size_t len)
{
	return format_v6(sid->b, buf, len);
}

/* True if any bit of @sid past the first @plen is set. */
static bool host_bits_set(const struct svc_sid *sid, unsigned int plen)
{
	unsigned int i;

	for (i = plen; i < 128; i++)
		if (sid->b[i / 8] & (0x80 >> (i % 8)))
			return true;
	return false;
}

int svc_prefix_parse(const char *s, struct svc_lpm_key *out)
{
	char sid_text[INET6_ADDRSTRLEN];
	unsigned long plen = 128;
	struct svc_lpm_key k = {};
	const char *slash;

	if (!s || !out)
		return -EINVAL;
	slash = strchr(s, '/');
	if (copy_part(sid_text, sizeof(sid_text), s, slash ? (size_t)(slash - s) : strlen(s)))
		return -EINVAL;
	if (slash && parse_uint(slash + 1, 128, &plen))
		return -EINVAL;
	if (svc_sid_parse(sid_text, &k.sid) || host_bits_set(&k.sid, (unsigned int)plen))
		return -EINVAL;
	k.prefixlen = (__u32)plen;
	*out = k;
	return 0;
}

const char *svc_prefix_format(const struct svc_lpm_key *k, char *buf, size_t len)
{
	char sid[SVC_ADDR_STRLEN];

	svc_sid_format(&k->sid, sid, sizeof(sid));
	if ((size_t)snprintf(buf, len, "%s/%u", sid, k->prefixlen) >= len && len)
		buf[0] = '\0';
	return buf;
}

/*
 * Splits "[V6]REST" or "V4REST" where REST starts at the first ':' after the
 * address (or is empty). IPv6 needs the brackets when a suffix follows;
 * brackets hold only IPv6. Bare IPv6 is accepted only when @bare_v6 is set.
 */
static int split_addr(const char *s, struct svc_addr *addr, const char **rest, bool bare_v6)
{
	char text[INET6_ADDRSTRLEN];
	const char *end, *colon;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || copy_part(text, sizeof(text), s + 1, (size_t)(end - s - 1)))
			return -EINVAL;
		if (!strchr(text, ':') || svc_addr_parse(text, addr))
			return -EINVAL;
		*rest = end + 1;
		return 0;
	}
	colon = strchr(s, ':');
	if (colon && strchr(colon + 1, ':')) {
		/* Two colons: an unbracketed IPv6 address, which can carry no suffix. */
		if (!bare_v6 || svc_addr_parse(s, addr) || svc_addr_is_v4(addr))
			return -EINVAL;
		*rest = s + strlen(s);
		return 0;
	}
	end = colon ? colon : s + strlen(s);
	if (copy_part(text, sizeof(text), s, (size_t)(end - s)) ||
	    inet_pton(AF_INET, text, &addr->b[12]) != 1)
		return -EINVAL;
	memcpy(addr->b, v4_mapped_prefix, sizeof(v4_mapped_prefix));
	*rest = end;
	return 0;
}

int svc_binding_parse(const char *s, struct svc_binding_key *out)
{
	char port_text[8];
	struct svc_binding_key k = {};
	const char *rest, *slash;
	unsigned long port;

	if (!s || !out || split_addr(s, &k.vip, &rest, false) || rest[0] != ':')
		return -EINVAL;
	slash = strchr(rest, '/');
	if (!slash ||
	    copy_part(port_text, sizeof(port_text), rest + 1, (size_t)(slash - rest - 1)) ||
	    parse_uint(port_text, 65535, &port))
		return -EINVAL;
	if (!strcasecmp(slash + 1, "tcp"))
		k.proto = IPPROTO_TCP;
	else if (!strcasecmp(slash + 1, "udp"))
		k.proto = IPPROTO_UDP;
	else
		return -EINVAL;
	k.port = htons((__u16)port);
	*out = k;
	return 0;
}

const char *svc_binding_format(const struct svc_binding_key *k, char *buf, size_t len)
{
	char addr[SVC_ADDR_STRLEN], proto[16];
	bool v4 = svc_addr_is_v4(&k->vip);

	svc_addr_format(&k->vip, addr, sizeof(addr));
	if (k->proto == IPPROTO_TCP)
		snprintf(proto, sizeof(proto), "tcp");
	else if (k->proto == IPPROTO_UDP)
		snprintf(proto, sizeof(proto), "udp");
	else
		snprintf(proto, sizeof(proto), "proto%u", k->proto);
	if ((size_t)snprintf(buf, len, "%s%s%s:%u/%s", v4 ? "" : "[", addr, v4 ? "" : "]",
			     ntohs(k->port), proto) >= len &&
	    len)
		buf[0] = '\0';
	return buf;
}

int svc_endpoint_parse(const char *s, struct svc_addr *addr, __u16 *port)
{
	struct svc_addr a = {};
	unsigned long p;
	const char *rest;

	if (!s || !addr || !port || split_addr(s, &a, &rest, false) || rest[0] != ':' ||
	    parse_uint(rest + 1, 65535, &p) || !p)
		return -EINVAL;
	*addr = a;
	*port = (__u16)p;
	return 0;
}

const char *svc_endpoint_format(const struct svc_addr *a, __u16 port, char *buf, size_t len)
{
	char addr[SVC_ADDR_STRLEN];
	bool v4 = svc_addr_is_v4(a);

	svc_addr_format(a, addr, sizeof(addr));
	if ((size_t)snprintf(buf, len, "%s%s%s:%u", v4 ? "" : "[", addr, v4 ? "" : "]", port) >=
		    len &&
	    len)
		buf[0] = '\0';
	return buf;
}

int svc_hop_parse(const char *s, struct svc_addr *addr, unsigned int *weight)
{
	struct svc_addr a = {};
	unsigned long w = 1;
	const char *rest;

	if (!s || !addr || !weight || split_addr(s, &a, &rest, true))
		return -EINVAL;
	if (rest[0] == ':') {
		if (parse_uint(rest + 1, SVC_MAX_WEIGHT, &w) || w == 0)
			return -EINVAL;
	} else if (rest[0]) {
		return -EINVAL;
	}
	*addr = a;
	*weight = (unsigned int)w;
	return 0;
}
