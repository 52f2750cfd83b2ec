/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Data-path test environment: a private network namespace with veths and
 * static neighbours (so bpf_fib_lookup succeeds with known MACs), the router
 * and endpoint loaded through libsvc (agent/lib/dataplane.h) with a unique pin
 * directory, a standard set of services, and the fixture runner that pushes a
 * packet through BPF_PROG_TEST_RUN and checks verdict, output bytes,
 * checksums and counters.
 */
#ifndef SVC_DPTEST_H
#define SVC_DPTEST_H

#include <stdbool.h>
#include <netinet/in.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include "svc_abi.h"
#include "dataplane.h"
#include "pktbuild.h"

/* Interfaces of the test namespace (router side of each veth pair). */
enum dpt_if {
	DPT_IF_NONE = 0,
	DPT_IF_IN,  /* "tpin0": where test packets arrive; also reaches next hops 5, 6 */
	DPT_IF_OUT, /* "tpout0": towards the instance hosts */
	DPT_IF_MTU, /* "tpmtu0": MTU 1280, towards next hops 11, 12 */
	DPT_IF_MAX,
};

/* Addresses (only inside the test namespace). */
#define DPT_CLIENT4 "10.0.0.100"
#define DPT_CLIENT6 "fd00::100"
#define DPT_PEER_MAC "02:00:00:00:00:02" /* sender of test frames (tpin1) */
#define DPT_SRC4 "10.1.0.1"		 /* router_cfg src4: outer source */
#define DPT_SRC6 "fd00:1::1"		 /* router_cfg src6 */
#define DPT_SEED 0x5eed5eedU		 /* ch_seed given to svc_dp_open */
/* The deployment option key of the test router (svc_dp_set_opt_key), as k[0], k[1]. */
extern const __u8 dpt_opt_key[SVC_OPT_KEY_BYTES];
#define DPT_OPT_K0 0x0706050403020100ULL
#define DPT_OPT_K1 0x0f0e0d0c0b0a0908ULL

/* The model of one next hop: what the router must produce when it picks it. */
struct dpt_nh {
	__u32 id;
	int family; /* 4 or 6 */
	const char *addr;
	const char *mac; /* static neighbour entry, NULL = none (NO_NEIGH or no route) */
	enum dpt_if dev; /* egress interface, DPT_IF_NONE = no route */
	bool up;
};

/* Next-hop ids of the standard configuration (see dptest.c for the table). */
enum {
	NH_OUT4A = 1,
	NH_OUT4B = 2,
	NH_OUT6A = 3,
	NH_OUT6B = 4,
	NH_TX4 = 5,
	NH_TX6 = 6,
	NH_NONEIGH4 = 7,
	NH_NONEIGH6 = 8,
	NH_NOROUTE4 = 9,
	NH_NOROUTE6 = 10,
	NH_MTU4 = 11,
	NH_MTU6 = 12,
	NH_DOWN4 = 13,
	NH_DOWN6 = 14,
	NH_MAX_ID = 14,
};

/*
 * Services of the standard configuration. Service i has serviceID fd00:5e::i
 * (hex), rule id i, and bindings 10.100.0.i:80/tcp, :53/udp and
 * [fd00:100::i]:80/tcp, :53/udp. The rule of service i uses next-hop set i.
 */
enum {
	SVC_FWD4 = 1,	  /* FORWARD {NH_OUT4A} */
	SVC_FWD6 = 2,	  /* FORWARD {NH_OUT6A} */
	SVC_TX4 = 3,	  /* FORWARD {NH_TX4}: egress == ingress */
	SVC_TX6 = 4,	  /* FORWARD {NH_TX6} */
	SVC_NONEIGH4 = 5, /* FORWARD {NH_NONEIGH4} */
	SVC_NONEIGH6 = 6,
	SVC_NOROUTE4 = 7,
	SVC_NOROUTE6 = 8,
	SVC_MTU4 = 9,
	SVC_MTU6 = 10,
	SVC_DOWN4 = 11, /* FORWARD {NH_DOWN4}, the next hop is down */
	SVC_W4 = 12,	/* FORWARD {NH_OUT4A:1, NH_OUT4B:3} */
	SVC_W6 = 13,	/* FORWARD {NH_OUT6A:2, NH_OUT6B:1} */
	SVC_NOSET = 14, /* FORWARD to set 14, which has no table */
	SVC_DOWN6 = 15,
	SVC_DEMUX = 16,
	SVC_DROP = 17,
	SVC_DELAY = 18,
	SVC_NORULE = 19, /* bound, but no rule covers its serviceID */
	SVC_COUNT = 19,
};

/* Extra bindings and rules of the standard configuration. */
#define DPT_VIP4_ANYPORT "10.100.1.1"	 /* :0/tcp -> SVC_FWD4 */
#define DPT_VIP6_ANYPORT "fd00:100:1::1" /* :0/tcp -> SVC_FWD6 */
#define DPT_VIP4_BOTH "10.100.2.1"	 /* :80/tcp -> SVC_FWD4, :0/tcp -> SVC_TX4 */
#define DPT_VIP6_BOTH "fd00:100:2::1"	 /* :80/tcp -> SVC_FWD6, :0/tcp -> SVC_TX6 */
#define DPT_SID_PREFIX "fd00:5e::"	 /* /32 in sid_prefixes: such destinations are sids */
#define DPT_LPM48 "fd00:5e:1::"		 /* /48 rule 30: FORWARD set SVC_FWD4 */
#define DPT_LPM64 "fd00:5e:1:2::"	 /* /64 rule 31: FORWARD set SVC_FWD6 */
#define DPT_VIP4_LPM "10.100.3.1"	 /* :80/tcp -> sid fd00:5e:1:2::7 (rule 31) */
#define DPT_RULE_LPM48 30
#define DPT_RULE_LPM64 31
#define DPT_UNKNOWN_SRC4 "10.1.0.77" /* not a decap source */
#define DPT_UNKNOWN_SRC6 "fd00:1::77"

struct dpt_env {
	struct svc_dp *dp;
	char pin_dir[128];
	int router_fd, endpoint_fd;
	int ifindex[DPT_IF_MAX];
};

/* dpt_vip4/dpt_vip6/dpt_sid - addresses of standard service @i (static buffers, 4 slots each). */
const char *dpt_vip4(int i);
const char *dpt_vip6(int i);
const char *dpt_sid(int i);
/* dpt_nh_model - the model of next hop @id (aborts on an unknown id). */
const struct dpt_nh *dpt_nh_model(__u32 id);
/* dpt_if_mac - MAC of interface @dev. */
void dpt_if_mac(enum dpt_if dev, __u8 mac[6]);

/*
 * dpt_env_open - enter the test namespace (created once per process), open the
 * data plane with a fresh pin directory and install the standard configuration.
 * On failure the reason has been reported through tp_fail; returns negative.
 */
int dpt_env_open(struct dpt_env *e);
/* dpt_env_close - close the data plane and remove its pins. */
void dpt_env_close(struct dpt_env *e);
/* dpt_netns_cleanup - leave the test namespace (it disappears with its veths); at exit. */
void dpt_netns_cleanup(void);

/* Standard frame start: Ethernet from the test peer to the router's ingress MAC. */
void dpt_eth(struct pkt *p);

/* Result of one BPF_PROG_TEST_RUN. */
struct dpt_result {
	int err;
	__u32 retval;
	__u32 out_len;
	__u8 out[PKT_MAX];
};

/* dpt_xdp_run - run @prog_fd once on @in with ingress interface @ifindex. Returns err. */
int dpt_xdp_run(int prog_fd, int ifindex, const void *in, size_t len, struct dpt_result *r);

/* dpt_stats - counters of @prog summed over CPUs, read through libsvc AND the raw map fd;
 * a disagreement between the two is a test failure. */
int dpt_stats(struct dpt_env *e, enum svc_prog prog, struct svc_counter *out);

/* dpt_flow_key - the router's flow key of a well-formed frame, computed independently:
 * the 5-tuple, or for an ICMP error the quoted packet's tuple reversed. */
int dpt_flow_key(const __u8 *frame, size_t len, struct svc_flow_key *k);
/* dpt_expect_fwd - the frame the router must send for @in when it forwards it to @nh_id
 * (a SYN's MSS lowered to fit the next hop's link MTU, see dpt_fwd_clamps). */
void dpt_expect_fwd(struct pkt *exp, const __u8 *in, size_t in_len, __u32 nh_id);
/*
 * dpt_fwd_clamps - whether the router must lower the MSS of @in when it forwards
 * it to @nh_id (a SYN whose MSS does not fit the next hop's link once
 * encapsulated); dpt_expect_fwd() builds the lowered frame.
 */
bool dpt_fwd_clamps(const __u8 *in, size_t in_len, __u32 nh_id);
/* dpt_expect_decap - @in with its outer IP header removed and the ethertype set to the inner's. */
void dpt_expect_decap(struct pkt *exp, const __u8 *in, size_t in_len);
/* dpt_fwd_verdict - XDP_TX if next hop @nh_id leaves through DPT_IF_IN, else XDP_REDIRECT. */
__u32 dpt_fwd_verdict(__u32 nh_id);

/* What the fixture runner compares the output frame with. */
enum dpt_out {
	DPT_OUT_UNCHANGED = 0, /* output == input (PASS untouched) */
	DPT_OUT_ANY,	       /* not compared (DROP) */
	DPT_OUT_FWD,	       /* dpt_expect_fwd(input, nh) */
	DPT_OUT_DECAP,	       /* dpt_expect_decap(input) */
};

/* One row of a fixture table. */
struct dpt_fixture {
	const char *name;	      /* subtest name */
	const char *desc;	      /* what the row checks, for people */
	void (*build)(struct pkt *p); /* the input frame */
	enum svc_prog prog;	      /* router (default) or endpoint */
	__u32 verdict;		      /* expected XDP_* */
	enum svc_reason counter;      /* the one stats counter that must count the frame */
	enum dpt_out out;
	__u32 nh;	   /* DPT_OUT_FWD: next hop; also nh_stats must count it */
	__u32 rule;	   /* rule_stats[rule] must count one packet (0: none may) */
	bool malformed;	   /* input is deliberately invalid: skip its checksum check */
	enum dpt_if ifdev; /* ingress interface; DPT_IF_NONE = DPT_IF_IN */
	int (*setup)(struct dpt_env *e); /* extra map changes before the run, or NULL */
	void (*cleanup)(struct dpt_env *e);
};

/* Row shorthands: forwarded (TX/REDIRECT by next hop), passed untouched, dropped. */
#define DPT_FWD(reason, nh_, rule_)                                                     \
	.verdict = dpt_fwd_verdict_const(nh_), .counter = (reason), .out = DPT_OUT_FWD, \
	.nh = (nh_), .rule = (rule_)
#define DPT_PASS(reason) .verdict = XDP_PASS, .counter = (reason), .out = DPT_OUT_UNCHANGED
#define DPT_DROP(reason) .verdict = XDP_DROP, .counter = (reason), .out = DPT_OUT_ANY
/* The verdict a forward to a standard next hop gets: only NH_TX4/NH_TX6 leave by DPT_IF_IN. */
#define dpt_fwd_verdict_const(nh_) (((nh_) == NH_TX4 || (nh_) == NH_TX6) ? XDP_TX : XDP_REDIRECT)

/* dpt_run_fixture - run one row as its own subtest (flows cleared first). */
void dpt_run_fixture(struct dpt_env *e, const struct dpt_fixture *f);
/* dpt_run_table - every row of @rows. */
void dpt_run_table(struct dpt_env *e, const struct dpt_fixture *rows, size_t n);

/* What one packet must do (a fixture row, or one step of a scenario). */
struct dpt_expect {
	__u32 verdict;		 /* XDP_* */
	enum svc_reason counter; /* the one stats counter that counts the frame */
	enum dpt_out out;
	const struct pkt *exp; /* expected frame; NULL: built from out/nh */
	__u32 nh;	       /* DPT_OUT_FWD: next hop (nh_stats must count it) */
	__u32 rule;	       /* rule_stats[rule] counts one packet; 0: no rule may count */
	bool malformed;	       /* input deliberately invalid: no input checksum check */
	enum dpt_if ifdev;     /* ingress interface; DPT_IF_NONE = DPT_IF_IN */
	enum svc_reason event; /* an EV_* counter that counts the frame too; 0: none may */
};

/*
 * dpt_check - push @in through @prog once and check everything @x says:
 * verdict, output bytes, every output checksum (independent verifier),
 * router/endpoint stats delta (exactly one counter, +1 packet, +frame bytes),
 * rule_stats and nh_stats deltas. Returns true if all held; the result is
 * left in *r if @r is non-NULL.
 */
bool dpt_check(struct dpt_env *e, enum svc_prog prog, const struct pkt *in,
	       const struct dpt_expect *x, struct dpt_result *r);

/* dpt_verify_csums - every checksum of @frame must be right and at least @min_checked checked. */
bool dpt_verify_csums(const char *what, const __u8 *frame, size_t len, int min_checked);

/* Map-setup helpers (through libsvc); each reports its own failure via tp_fail. */
int dpt_set_nexthop(struct dpt_env *e, __u32 id, bool up);
/* A set member by next-hop id; dpt_set_nhset fills in its address from the model. */
#define DPT_M(id, w)                         \
	{                                    \
		.nh_id = (id), .weight = (w) \
	}
#define DPT_MAX_SET 16
int dpt_set_nhset(struct dpt_env *e, __u32 set_id, const struct svc_ch_member *m, size_t n);
int dpt_predict_nh(struct dpt_env *e, __u32 set_id, const struct svc_flow_key *k, __u32 *nh_id);
int dpt_addr(const char *s, struct svc_addr *a);
int dpt_rule_count(struct dpt_env *e, __u32 rule_id, __u64 *packets);
int dpt_nh_count(struct dpt_env *e, __u32 nh_id, __u64 *packets);

/* Frame builders shared by the test files: Ethernet + IP + TCP/UDP from client to @dst. */
void dpt_tcp4(struct pkt *p, const char *dst, __u16 sport, __u16 dport, __u8 flags, size_t payload);
void dpt_tcp6(struct pkt *p, const char *dst, __u16 sport, __u16 dport, __u8 flags, size_t payload);
void dpt_udp4(struct pkt *p, const char *dst, __u16 sport, __u16 dport, size_t payload);
void dpt_udp6(struct pkt *p, const char *dst, __u16 sport, __u16 dport, size_t payload);

#endif /* SVC_DPTEST_H */
