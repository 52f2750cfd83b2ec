// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svc-optmac: the keyed ids of headers/svc_optmac.h, for tests that craft
 * packets themselves (end-to-end tests in Python or shell).
 *
 *   svc-optmac tifid KEY INITIATOR INSTANCE
 *       the TIFID responder half (6 hex digits) naming INSTANCE for the
 *       initiator half INITIATOR (hex)
 *   svc-optmac flowid KEY SRC SPORT DST DPORT PROTO INSTANCE
 *       the flowID (8 hex digits) naming INSTANCE for the client -> service
 *       flow SRC:SPORT -> DST:DPORT (PROTO a number)
 *
 * KEY: the deployment option key, 32 hex digits (svcplaned --opt-key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "addr.h"
#include "config.h"
#include "svc_optmac.h"
#include "svc_tiflow.h"

static int usage(void)
{
	fprintf(stderr, "usage: svc-optmac tifid KEY INITIATOR INSTANCE\n"
			"       svc-optmac flowid KEY SRC SPORT DST DPORT PROTO INSTANCE\n");
	return 2;
}

/* num - @s as an unsigned number in @base no larger than @max, or -1. */
static long num(const char *s, int base, unsigned long max)
{
	unsigned long v;
	char *end;

	v = strtoul(s, &end, base);
	if (!*s || *end || v > max)
		return -1;
	return (long)v;
}

int main(int argc, char **argv)
{
	__u8 kb[16];
	__u64 key[2];
	long ini, inst, sport, dport, proto;
	struct svc_flow_key fk;

	if (argc < 3 || svc_opt_key_parse(argv[2], kb))
		return usage();
	memcpy(key, kb, sizeof(key));
	if (!strcmp(argv[1], "tifid") && argc == 5) {
		ini = num(argv[3], 16, 0xffffff);
		inst = num(argv[4], 10, 0xffff);
		if (ini < 0 || inst < 0)
			return usage();
		printf("%06x\n", ((unsigned)inst << SVC_TIFID_INSTANCE_SHIFT) |
					 svc_tifid_mac(key, (__u32)ini, (__u16)inst));
		return 0;
	}
	if (!strcmp(argv[1], "flowid") && argc == 9) {
		memset(&fk, 0, sizeof(fk));
		sport = num(argv[4], 10, 0xffff);
		dport = num(argv[6], 10, 0xffff);
		proto = num(argv[7], 10, 0xff);
		inst = num(argv[8], 10, 0xffff);
		if (svc_addr_parse(argv[3], &fk.src) || svc_addr_parse(argv[5], &fk.dst) ||
		    sport < 0 || dport < 0 || proto < 0 || inst < 0)
			return usage();
		fk.sport = htons((__u16)sport);
		fk.dport = htons((__u16)dport);
		fk.proto = (__u8)proto;
		printf("%08x\n",
		       svc_flowid_make((__u16)inst, svc_flowid_mac(key, &fk, (__u16)inst)));
		return 0;
	}
	return usage();
}
