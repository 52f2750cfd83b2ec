/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Internet checksum arithmetic (RFC 1071/1624): pure functions, no map access. */
#ifndef SVC_BPF_CSUM_H
#define SVC_BPF_CSUM_H

/* Folds a 32-bit one's-complement sum to 16 bits and complements it. */
static __always_inline __u16 svc_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Checksum of a 20-byte IPv4 header (checksum field must be zero). */
static __always_inline __u16 svc_ip4_hdr_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += w[i];
	return svc_csum_fold(sum);
}

/*
 * RFC 1624 incremental update: the new checksum after a 16-bit word of the
 * covered data changes from @old to @new (all in network order).
 */
static __always_inline __u16 svc_csum_replace2(__u16 csum, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~csum + (__u16)~old + new;

	return svc_csum_fold(sum);
}

/* The same for a 32-bit word (an IPv4 address). */
static __always_inline __u16 svc_csum_replace4(__u16 csum, __u32 old, __u32 new)
{
	__u32 sum = (__u16)~csum;

	sum += (__u16) ~(old & 0xffff) + (__u16) ~(old >> 16);
	sum += (new & 0xffff) + (new >> 16);
	return svc_csum_fold(sum);
}

#endif /* SVC_BPF_CSUM_H */
