/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * svcplaned settings: defaults, the config file ("key = value" lines, '#'
 * comments, the keys are the long option names) and the command line, which
 * overrides the file. Exact option names only: no abbreviations.
 */
#ifndef SVC_CONFIG_H
#define SVC_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "svc_abi.h"
#include "dataplane.h"

#define SVC_DEFAULT_SOCKET "/run/svcplane/api.sock"
#define SVC_DEFAULT_STATE_DIR "/var/lib/svcplane"
#define SVC_DEFAULT_METRICS "127.0.0.1:9465"
/* Flow table size bounds accepted by --flows. */
#define SVC_CFG_MIN_FLOWS 64
#define SVC_CFG_MAX_FLOWS (1u << 24)
/* Default registration lease (seconds) and its bounds. */
#define SVC_CFG_DEFAULT_LEASE 3
#define SVC_CFG_MAX_LEASE 86400
/*
 * Flood guard (--flood-insert-rate): flow-table inserts of new TCP connections
 * per CPU per second, 0 = off. With the default, a flood turns the default
 * flow table (262144) over no faster than once per 26 s / CPUs, while up to
 * 10,000 new connections per CPU per second are recorded as without a guard
 * (docs/datapath.md "Flood guard").
 */
#define SVC_CFG_DEFAULT_FLOOD_INSERT_RATE 10000
/* DELAY slow path: default and largest --delay-queue (held packets handled per wake-up). */
#define SVC_CFG_DEFAULT_DELAY_QUEUE 64
#define SVC_CFG_MAX_DELAY_QUEUE 4096
/* DELAY re-injection path (--delay-reinject). */
enum svc_delay_reinject {
	SVC_DELAY_REINJECT_AUTO =
		0, /* live when the kernel allows BPF_F_TEST_XDP_LIVE_FRAMES, else copy */
	SVC_DELAY_REINJECT_LIVE, /* live only: start fails on a kernel that refuses it */
	SVC_DELAY_REINJECT_COPY, /* copy only: test run without live mode, sent with AF_PACKET */
	SVC_DELAY_REINJECT_MAX,
};
/* svc_delay_reinject_name - "auto", "live", "copy". */
const char *svc_delay_reinject_name(enum svc_delay_reinject m);

/* Longest config file line. */
#define SVC_CFG_LINE_MAX 1024

/* svc_opt_key_parse - 32 hex digits into a 16-octet option key. 0 or -EINVAL. */
int svc_opt_key_parse(const char *v, __u8 key[16]);

struct svc_agent_cfg {
	char config[PATH_MAX];					  /* --config FILE, "" if none */
	char socket[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* --socket */
	char pin_dir[PATH_MAX];					  /* --pin-dir */
	char state_dir[PATH_MAX];				  /* --state-dir */
	char metrics[80];		    /* --metrics as given ("off" or ADDR:PORT) */
	bool metrics_on;		    /* false for "off" */
	struct sockaddr_storage metrics_sa; /* parsed ADDR:PORT */
	socklen_t metrics_salen;
	enum svc_xdp_mode mode; /* --mode native|skb: default for attach */
	struct svc_addr src4;	/* --src (IPv4, v4-mapped) */
	struct svc_addr src6;	/* --src (IPv6) */
	bool has_src4, has_src6;
	__u32 flows;	      /* --flows: flow table size, 0 = library default */
	__u32 seed;	      /* --seed: deployment seed (flow hash, consistent-hash tables) */
	__u8 opt_key[16];     /* --opt-key: deployment option key (flowID/TIFID keyed check) */
	bool has_opt_key;
	bool verbose;	      /* -v */
	bool uninstall;	      /* --uninstall */
	bool discard_corrupt; /* --discard-corrupt-state: start empty on a corrupt state file */
	bool help;	      /* -h/--help was given */
	bool version;	      /* --version was given */
	/* --flood-insert-rate: flow inserts of new TCP connections per CPU per second, 0 = off */
	__u32 flood_insert_rate;
	/* --registry: etcd URL of the shared registry, "" = the state file alone. */
	char registry[1024];
	/* Register on bind: the router agent's API socket ("" = off), our address, the lease. */
	char register_to[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* --register-to */
	struct svc_addr instance_addr;				       /* --instance-addr */
	bool has_instance_addr;
	__u32 lease; /* --lease seconds (default SVC_CFG_DEFAULT_LEASE) */
	/* DELAY: answer unresolvable held TCP packets with a RST (--delay-unresolvable rst)
	 * instead of dropping them (drop, the default); the queue bound (--delay-queue). */
	bool delay_rst;
	__u32 delay_queue;
	enum svc_delay_reinject delay_reinject; /* --delay-reinject auto|live|copy */
	/* Internal: which parse pass set each source address (duplicates within a pass are errors).
	 */
	int pass, src4_pass, src6_pass;
};

/* svc_cfg_init - fill the defaults. */
void svc_cfg_init(struct svc_agent_cfg *cfg);

/*
 * svc_cfg_set - apply one setting by its long option name (without "--"),
 * e.g. ("mode", "skb"). Boolean keys accept true/false/yes/no/1/0.
 * Returns 0 or -EINVAL with @err naming the key and the reason.
 */
int svc_cfg_set(struct svc_agent_cfg *cfg, const char *key, const char *value, char *err,
		size_t errlen);

/* svc_cfg_load_file - apply every line of @path. Errors name FILE:LINE. */
int svc_cfg_load_file(struct svc_agent_cfg *cfg, const char *path, char *err, size_t errlen);

/*
 * svc_cfg_parse_args - the command line: reads --config first (if given) and
 * applies the file, then the other options over it. Returns 0 or -EINVAL
 * with @err set. Sets cfg->help for -h/--help.
 */
int svc_cfg_parse_args(struct svc_agent_cfg *cfg, int argc, char **argv, char *err, size_t errlen);

/* svc_cfg_usage - the --help text. */
const char *svc_cfg_usage(void);

#endif /* SVC_CONFIG_H */
