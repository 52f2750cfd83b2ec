/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Decoding svcplane TCP options (TI-flow, flowID) for people and scripts:
 * from one TCP header, from a pcap file (tcpdump -w) or from a live interface
 * (AF_PACKET). Text lines follow the isolation-boundary paper's modified
 * tcpdump ("flow-d tifid 0a4530be79bf tiseq 00000000001d tiack 000000000000");
 * JSON objects carry the same facts with stable snake_case keys.
 *
 * Option walking follows the kernel's tcp_parse_options(): NOP skips one
 * octet, EOL ends the list, a length octet that is missing, < 2 or runs past
 * the header marks the options malformed and ends the walk there.
 */
#ifndef SVC_OPTDECODE_H
#define SVC_OPTDECODE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <json-c/json.h>
#include "svc_tiflow.h"

/* What to look for: 0 = the defaults (SVC_TIFLOW_KIND_DEFAULT, SVC_FLOWID_EXID_DEFAULT). */
struct svc_optdec_cfg {
	__u8 tiflow_kind;
	__u16 flowid_exid;
};

/* One option as found in the header (NOP and EOL included, length 1). */
struct svc_tcpopt {
	__u8 kind;
	__u8 len; /* total length, kind and length octets included */
	__u8 off; /* offset from the start of the TCP header */
};

/* The options of one TCP header. */
struct svc_tcp_opts {
	struct svc_tcpopt opt[SVC_TCPOPT_MAX_STEPS];
	unsigned int n; /* entries in opt[] */
	bool malformed; /* the walk stopped at bad_off (see the file comment) */
	__u8 bad_off;	/* offset of the malformed option */
	bool eol;	/* ended by EOL (octets after it are padding) */
	int tiflow;	/* index in opt[] of the first TI-flow option, or -1 */
	bool tiflow_ok; /* ... and its length is SVC_TIFLOW_LEN: tiflow_vals valid */
	struct svc_tiflow_vals tiflow_vals;
	int flowid;	  /* index of the first flowID option (kind 254, our ExID), or -1 */
	bool flowid_ok;	  /* ... and its length is SVC_FLOWID_LEN: flowid_val valid */
	__u32 flowid_val; /* host order */
};

/**
 * svc_optdecode_tcp - decode the options of the TCP header @tcp
 * @len: octets available at @tcp (at least the header's data offset * 4)
 *
 * Returns 0 (even for malformed options: see out->malformed), or -EINVAL if
 * @len < 20, the data offset is < 5, or the header runs past @len.
 */
int svc_optdecode_tcp(const __u8 *tcp, size_t len, const struct svc_optdec_cfg *cfg,
		      struct svc_tcp_opts *out);

/*
 * svc_optdecode_format_opts - tcpdump-style option list ("mss 1460,sackOK,TS
 * val 1 ecr 0,nop,wscale 7,flow-d tifid ..."), without brackets, into @buf.
 * Returns the length written (truncated to @len - 1).
 */
int svc_optdecode_format_opts(const __u8 *tcp, const struct svc_tcp_opts *o, char *buf, size_t len);

/* TCP checksum state of a decoded packet. */
enum svc_csum_state {
	SVC_CSUM_UNCHECKED = 0, /* truncated capture, or offload left it to the NIC */
	SVC_CSUM_OK = 1,
	SVC_CSUM_BAD = 2,
};

/* One decoded TCP packet (pointers refer to the caller's frame). */
struct svc_tcp_pkt {
	double ts;		  /* capture time, seconds */
	int family;		  /* AF_INET or AF_INET6 */
	__u8 src[16], dst[16];	  /* IPv4 in the first 4 octets */
	__u16 sport, dport;	  /* host order */
	__u8 flags;		  /* TCP flags octet */
	__u32 seq, ack;		  /* host order */
	__u16 win;		  /* host order, unscaled */
	size_t payload_len;	  /* TCP payload octets from the IP length */
	enum svc_csum_state csum; /* TCP checksum */
	const __u8 *tcp;	  /* TCP header */
	struct svc_tcp_opts opts;
};

/* Link-layer types of pcap files (LINKTYPE_*) that the decoder understands. */
#define SVC_LINKTYPE_ETHERNET 1
#define SVC_LINKTYPE_RAW 101
#define SVC_LINKTYPE_LINUX_SLL 113
#define SVC_LINKTYPE_LINUX_SLL2 276

/**
 * svc_optdecode_frame - decode a captured frame
 * @linktype: SVC_LINKTYPE_*
 * @caplen, @origlen: octets captured and octets the packet had
 *
 * Returns 0 for an IPv4/IPv6 TCP packet (first fragment), -ENOENT for
 * anything else, -EINVAL for a truncated or malformed IP/TCP header.
 */
int svc_optdecode_frame(int linktype, const __u8 *frame, size_t caplen, size_t origlen,
			const struct svc_optdec_cfg *cfg, struct svc_tcp_pkt *out);

/* svc_optdecode_format_pkt - one tcpdump-like line (no newline) into @buf; returns its length. */
int svc_optdecode_format_pkt(const struct svc_tcp_pkt *p, char *buf, size_t len);
/* svc_optdecode_json - the packet as a new JSON object (NULL on allocation failure). */
struct json_object *svc_optdecode_json(const struct svc_tcp_pkt *p);
/* svc_hex48 - a 48-bit value as the paper prints it: 12 lower-case hex digits. */
const char *svc_hex48(__u64 v, char buf[13]);

/* Called for every TCP packet; a non-zero return stops the capture and is returned. */
typedef int (*svc_optdec_fn)(const struct svc_tcp_pkt *p, void *arg);

/*
 * svc_optdecode_pcap - call @fn for every TCP packet of the pcap file @path
 * ("-" = stdin; microsecond or nanosecond, either byte order). Non-TCP
 * packets are skipped; a truncated record ends the file with -EINVAL.
 */
int svc_optdecode_pcap(const char *path, const struct svc_optdec_cfg *cfg, svc_optdec_fn fn,
		       void *arg);

/*
 * svc_optdecode_live - capture on @ifname (AF_PACKET, all directions) and call
 * @fn for every TCP packet until *@stop is set, @count packets were decoded
 * (0 = no limit) or @timeout_ms passed (0 = none). Needs CAP_NET_RAW.
 */
int svc_optdecode_live(const char *ifname, const struct svc_optdec_cfg *cfg,
		       volatile sig_atomic_t *stop, unsigned long count, int timeout_ms,
		       svc_optdec_fn fn, void *arg);
/*
 * The same in two steps, so that a caller can tell when capture has started:
 * svc_optdecode_live_open returns the bound AF_PACKET socket (and the link
 * type of @ifname), svc_optdecode_live_run reads it (the caller closes it).
 */
int svc_optdecode_live_open(const char *ifname, int *linktype);
int svc_optdecode_live_run(int fd, int linktype, const char *ifname,
			   const struct svc_optdec_cfg *cfg, volatile sig_atomic_t *stop,
			   unsigned long count, int timeout_ms, svc_optdec_fn fn, void *arg);

#endif /* SVC_OPTDECODE_H */
