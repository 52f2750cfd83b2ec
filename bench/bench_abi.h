/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the benchmark wrapper program and the harness share: its configuration and flow variants. */
#ifndef SVC_BENCH_ABI_H
#define SVC_BENCH_ABI_H

/* Longest frame the wrapper restores (bench packets are small). */
#define BENCH_PKT_MAX 256

/* How the wrapper varies the flow of each iteration. */
enum bench_vary {
	BENCH_VARY_NONE = 0, /* the same packet every iteration */
	BENCH_VARY_SEQ = 1,  /* flow vstart + iteration: a new flow each time */
	BENCH_VARY_SCATTER =
		2, /* flow (iteration * BENCH_SCATTER_MUL) % vcount: spread over a table */
};

/*
 * Flow index i -> source address word vbase + i / BENCH_PORTS_PER_ADDR and
 * source port BENCH_PORT_BASE + i % BENCH_PORTS_PER_ADDR, so 10 M flows fit in
 * 157 addresses of the benchmark range.
 */
#define BENCH_PORTS_PER_ADDR 64000
#define BENCH_PORT_BASE 1024
/* Knuth's multiplicative constant: consecutive iterations land far apart in the table. */
#define BENCH_SCATTER_MUL 2654435761ULL

struct bench_wrap_cfg {
	__u32 pkt_len;	 /* bytes of wrap_pkt that form the frame */
	__u32 vmode;	 /* enum bench_vary */
	__u32 vbase;	 /* host order: first source address word (IPv4, or low word of IPv6) */
	__u32 vcount;	 /* SCATTER: number of flows to spread over (>= 1) */
	__u64 vstart;	 /* SEQ: first flow index */
	__u32 saddr_off; /* frame offset of the source address word the variants write */
	__u32 sport_off; /* frame offset of the TCP source port */
};

/* bench_fib: the lookup it makes (addresses in network order; IPv4 in the last word). */
#define BENCH_AF_INET 2
#define BENCH_AF_INET6 10
struct bench_fib_cfg {
	__u32 family; /* BENCH_AF_INET or BENCH_AF_INET6 */
	__u32 src[4];
	__u32 dst[4];
};

/* bench_encap_tx: the fixed next hop of each family and the fixed MACs (network order). */
struct bench_floor_cfg {
	__u32 src4, dst4;
	__u32 src6[4], dst6[4];
	__u8 dmac[6];
	__u8 smac[6];
};

#endif /* SVC_BENCH_ABI_H */
