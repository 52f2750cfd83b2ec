// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Packet printing (decoded and hex) and pcap output for the selftests. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include "pktdump.h"

void hexdump(FILE *f, const char *prefix, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	size_t i, j;

	for (i = 0; i < len; i += 16) {
		fprintf(f, "%s%04zx:", prefix, i);
		for (j = i; j < i + 16 && j < len; j++)
			fprintf(f, "%s%02x", (j - i) == 8 ? "  " : " ", b[j]);
		fputc('\n', f);
	}
}

void hexdump_diff(FILE *f, const char *prefix, const void *actual, size_t alen,
		  const void *expected, size_t elen)
{
	const uint8_t *a = actual, *e = expected;
	size_t max = alen > elen ? alen : elen, i, j;

	fprintf(f, "%s      actual (%zu bytes)%*s| expected (%zu bytes)\n", prefix, alen, 34, "",
		elen);
	for (i = 0; i < max; i += 16) {
		int differs = 0;
		char la[80] = "", le[80] = "";
		size_t na = 0, ne = 0;

		for (j = i; j < i + 16; j++) {
			int in_a = j < alen, in_e = j < elen;
			int d = in_a != in_e || (in_a && a[j] != e[j]);

			differs |= d;
			na += snprintf(la + na, sizeof(la) - na,
				       in_a ? (d ? "[%02x]" : " %02x ") : "    ", in_a ? a[j] : 0);
			ne += snprintf(le + ne, sizeof(le) - ne,
				       in_e ? (d ? "[%02x]" : " %02x ") : "    ", in_e ? e[j] : 0);
		}
		/* Only lines near a difference matter; print all when short. */
		if (differs || max <= 256)
			fprintf(f, "%s%c%04zx:%s | %s\n", prefix, differs ? '!' : ' ', i, la, le);
	}
}

static void fmt_mac(char *out, const uint8_t *m)
{
	sprintf(out, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static unsigned int rd16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void decode_l3(FILE *f, const char *prefix, const uint8_t *p, size_t len, int depth);

static void decode_l4(FILE *f, const char *prefix, const uint8_t *p, size_t len, int proto,
		      int depth)
{
	static const char flagch[] = "FSRPAUEC";
	int i, n = 0, ind = depth * 2 + 2;
	char flags[9] = "";

	switch (proto) {
	case 6:
		if (len < 20) {
			fprintf(f, "%s%*stcp: truncated (%zu bytes)\n", prefix, ind, "", len);
			return;
		}
		for (i = 0; i < 8; i++)
			if (p[13] & (1 << i))
				flags[n++] = flagch[i];
		flags[n] = 0;
		fprintf(f,
			"%s%*stcp %u > %u [%s] seq %u ack %u doff %u win %u csum 0x%04x, %zu "
			"bytes\n",
			prefix, ind, "", rd16(p), rd16(p + 2), flags, rd32(p + 4), rd32(p + 8),
			p[12] >> 4, rd16(p + 14), rd16(p + 16), len);
		return;
	case 17:
		if (len < 8) {
			fprintf(f, "%s%*sudp: truncated (%zu bytes)\n", prefix, ind, "", len);
			return;
		}
		fprintf(f, "%s%*sudp %u > %u len %u csum 0x%04x\n", prefix, ind, "", rd16(p),
			rd16(p + 2), rd16(p + 4), rd16(p + 6));
		return;
	case 1:
	case 58:
		if (len < 8) {
			fprintf(f, "%s%*sicmp: truncated (%zu bytes)\n", prefix, ind, "", len);
			return;
		}
		fprintf(f, "%s%*s%s type %u code %u csum 0x%04x rest 0x%08x\n", prefix, ind, "",
			proto == 1 ? "icmp" : "icmp6", p[0], p[1], rd16(p + 2), rd32(p + 4));
		/* Error messages quote a packet: decode it too. */
		if (len > 8 && depth < 4 &&
		    ((proto == 1 && (p[0] == 3 || p[0] == 11)) || (proto == 58 && p[0] < 128)))
			decode_l3(f, prefix, p + 8, len - 8, depth + 1);
		return;
	case 4:
	case 41:
		if (depth < 4)
			decode_l3(f, prefix, p, len, depth + 1);
		return;
	default:
		fprintf(f, "%s%*sproto %d, %zu bytes\n", prefix, ind, "", proto, len);
	}
}

static void decode_ip4(FILE *f, const char *prefix, const uint8_t *p, size_t len, int depth)
{
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	size_t ihl, tot;

	if (len < 20) {
		fprintf(f, "%s%*sip4: truncated (%zu bytes)\n", prefix, depth * 2, "", len);
		return;
	}
	ihl = (size_t)(p[0] & 0xf) * 4;
	tot = rd16(p + 2);
	inet_ntop(AF_INET, p + 12, s, sizeof(s));
	inet_ntop(AF_INET, p + 16, d, sizeof(d));
	fprintf(f,
		"%s%*sip4 %s > %s ihl %zu tos 0x%02x len %zu id %u frag 0x%04x ttl %u proto %u "
		"csum 0x%04x\n",
		prefix, depth * 2, "", s, d, ihl / 4, p[1], tot, rd16(p + 4), rd16(p + 6), p[8],
		p[9], rd16(p + 10));
	if (ihl < 20 || ihl > len || (rd16(p + 6) & 0x1fff))
		return;
	if (tot > len || tot < ihl)
		tot = len;
	decode_l4(f, prefix, p + ihl, tot - ihl, p[9], depth);
}

static void decode_ip6(FILE *f, const char *prefix, const uint8_t *p, size_t len, int depth)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	size_t off = 40, plen;
	int nh, i;

	if (len < 40) {
		fprintf(f, "%s%*sip6: truncated (%zu bytes)\n", prefix, depth * 2, "", len);
		return;
	}
	inet_ntop(AF_INET6, p + 8, s, sizeof(s));
	inet_ntop(AF_INET6, p + 24, d, sizeof(d));
	plen = rd16(p + 4);
	nh = p[6];
	fprintf(f, "%s%*sip6 %s > %s tc 0x%02x flow 0x%05x plen %zu nh %d hlim %u\n", prefix,
		depth * 2, "", s, d, (unsigned int)(rd32(p) >> 20) & 0xff, rd32(p) & 0xfffff, plen,
		nh, p[7]);
	if (40 + plen < len)
		len = 40 + plen;
	for (i = 0; i < 8 && (nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44); i++) {
		size_t ext;

		if (off + 8 > len) {
			fprintf(f, "%s%*s  ext %d: truncated\n", prefix, depth * 2, "", nh);
			return;
		}
		ext = nh == 44	 ? 8
		      : nh == 51 ? ((size_t)p[off + 1] + 2) * 4
				 : ((size_t)p[off + 1] + 1) * 8;
		fprintf(f, "%s%*s  ext %d len %zu", prefix, depth * 2, "", nh, ext);
		if (nh == 44)
			fprintf(f, " offset %u%s", rd16(p + off + 2) >> 3,
				(rd16(p + off + 2) & 1) ? " M" : "");
		fputc('\n', f);
		if (nh == 44 && (rd16(p + off + 2) >> 3))
			return;
		nh = p[off];
		off += ext;
	}
	if (off <= len)
		decode_l4(f, prefix, p + off, len - off, nh, depth);
}

static void decode_l3(FILE *f, const char *prefix, const uint8_t *p, size_t len, int depth)
{
	if (!len)
		return;
	if (p[0] >> 4 == 4)
		decode_ip4(f, prefix, p, len, depth);
	else if (p[0] >> 4 == 6)
		decode_ip6(f, prefix, p, len, depth);
	else
		fprintf(f, "%s%*sIP version %d?\n", prefix, depth * 2, "", p[0] >> 4);
}

void pkt_decode(FILE *f, const char *prefix, const void *frame, size_t len)
{
	const uint8_t *p = frame;
	char d[18], s[18];
	size_t off = 12;
	unsigned int type;

	if (len < 14) {
		fprintf(f, "%seth: truncated (%zu bytes)\n", prefix, len);
		return;
	}
	fmt_mac(d, p);
	fmt_mac(s, p + 6);
	type = rd16(p + 12);
	fprintf(f, "%seth %s > %s type 0x%04x, frame %zu bytes\n", prefix, s, d, type, len);
	while (type == 0x8100 || type == 0x88a8) {
		if (off + 6 > len) {
			fprintf(f, "%s  vlan: truncated\n", prefix);
			return;
		}
		type = rd16(p + off + 4);
		fprintf(f, "%s  vlan tci %u type 0x%04x\n", prefix, rd16(p + off + 2), type);
		off += 4;
	}
	off += 2;
	if (type == 0x0800 || type == 0x86dd)
		decode_l3(f, prefix, p + off, len - off, 1);
}

int pcap_dir_prepare(const char *dir)
{
	if (mkdir(dir, 0755) && errno != EEXIST) {
		int err = -errno;

		fprintf(stderr, "test_progs: mkdir %s: %s\n", dir, strerror(-err));
		return err;
	}
	return 0;
}

int pcap_write(const char *path, const void *const *frames, const size_t *lens, int n)
{
	/* pcap global header: magic, v2.4, GMT, accuracy, snaplen, LINKTYPE_ETHERNET. */
	const uint32_t ghdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	struct timeval tv;
	int i, err = 0;
	FILE *f;

	f = fopen(path, "w");
	if (!f) {
		err = -errno;
		fprintf(stderr, "test_progs: pcap %s: %s\n", path, strerror(-err));
		return err;
	}
	gettimeofday(&tv, NULL);
	if (fwrite(ghdr, sizeof(ghdr), 1, f) != 1)
		err = -EIO;
	for (i = 0; i < n && !err; i++) {
		uint32_t rec[4] = { (uint32_t)tv.tv_sec, (uint32_t)(tv.tv_usec + i) % 1000000,
				    (uint32_t)lens[i], (uint32_t)lens[i] };

		if (fwrite(rec, sizeof(rec), 1, f) != 1 ||
		    (lens[i] && fwrite(frames[i], lens[i], 1, f) != 1))
			err = -EIO;
	}
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		fprintf(stderr, "test_progs: pcap %s: %s\n", path, strerror(-err));
	return err;
}
