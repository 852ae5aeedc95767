/*
 * tcp_refsum.h - a reference TCP checksum for test clients
 *
 *	static inline uint16_t tcp_refsum(uint32_t src, uint32_t dst,
 *			const uint8_t *seg, size_t len);
 *
 *	The plain RFC 1071 sum over the IPv4 pseudo-header and the segment,
 *	byte pair by byte pair: deliberately the slowest, most obvious form,
 *	independent of dp/tcp_cksum.c, so the generators that build client
 *	segments (bench/tcp_bench.c, tests/fuzz/fuzz_tcp.c) cannot share a
 *	bug with the stack they feed. Addresses in host byte order.
 */
#ifndef MX_TCP_REFSUM_H
#define MX_TCP_REFSUM_H

#include <stddef.h>
#include <stdint.h>

/* tcp_refsum - checksum field value for seg (whose own field is 0) */
static inline uint16_t tcp_refsum(uint32_t src, uint32_t dst,
				  const uint8_t *seg, size_t len)
{
	uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16)
		       + (dst & 0xffff) + 6 + (uint32_t) len;
	size_t  i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t) seg[i] << 8 | seg[i + 1];
	if (len & 1)
		sum += (uint32_t) seg[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t) ~sum;
}

#endif
