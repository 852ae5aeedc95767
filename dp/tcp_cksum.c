/*
 * tcp_cksum.c - the Internet checksum for TCP over IPv4
 *
 *   uint16_t tcp_cksum(saddr, daddr, seg, len);	0 when valid
 *   uint16_t tcp_cksum_copy(saddr, daddr, seg, len, doff, ring, mask, pos);
 *   uint16_t tcp_cksum_pseudo(saddr, daddr, len);	for TX offload
 *
 * Sums run in native byte order (RFC 1071: the ones' complement sum is
 * byte-order independent), and the result is stored as is: with AVX2
 * (checked at run time) 32-bit words are widened into 64-bit lanes 32
 * bytes a step; otherwise 64-bit words go into a 128-bit accumulator. tcp_cksum_copy verifies
 * an in-order segment while copying its payload into the receive ring:
 * bytes land in ring space the window has not yet committed, so a bad
 * segment leaves nothing behind that counts.
 *
 * Diagnostics: none.
 */

#include <string.h>

#include "tcp_int.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TCP_CSUM_AVX2 1

/* lanes_add - add the four 64-bit lanes to acc with end-around carry */
__attribute__((target("avx2")))
static uint64_t
lanes_add(uint64_t acc, __m256i v)
{
    uint64_t l[4], s;

    _mm256_storeu_si256((__m256i *) (void *) l, v);
    /* Each lane holds a sum of at most 2^11 32-bit words: no overflow. */
    s = l[0] + l[1] + l[2] + l[3];
    acc += s;
    return (acc + (acc < s));
}

/* sum_avx2 - 32-bit words widened into 64-bit lanes, 32 bytes a step;
 * stores the bytes at dst too unless dst is NULL. Returns bytes done. */
__attribute__((target("avx2")))
static size_t
sum_avx2(uint64_t *acc, uint8_t *dst, const uint8_t *p, size_t len)
{
    __m256i z = _mm256_setzero_si256(), a0 = z, a1 = z;
    size_t  i = 0;

    if (dst) {
	for (; i + 32 <= len; i += 32) {
	    __m256i v = _mm256_loadu_si256((const __m256i *) (const void *)
					   (p + i));

	    _mm256_storeu_si256((__m256i *) (void *) (dst + i), v);
	    a0 = _mm256_add_epi64(a0, _mm256_unpacklo_epi32(v, z));
	    a1 = _mm256_add_epi64(a1, _mm256_unpackhi_epi32(v, z));
	}
    } else {
	for (; i + 32 <= len; i += 32) {
	    __m256i v = _mm256_loadu_si256((const __m256i *) (const void *)
					   (p + i));

	    a0 = _mm256_add_epi64(a0, _mm256_unpacklo_epi32(v, z));
	    a1 = _mm256_add_epi64(a1, _mm256_unpackhi_epi32(v, z));
	}
    }
    *acc = lanes_add(*acc, _mm256_add_epi64(a0, a1));
    return (i);
}

/* have_avx2 - the CPU runs the wide path (cached by the compiler runtime) */
static inline int
have_avx2(void)
{
    return (__builtin_cpu_supports("avx2"));
}
#endif

/* csum_add - ones' complement partial sum in native order; 64-bit words
 * into a 128-bit accumulator so the carries cost an adc, not a branch */
static uint64_t
csum_add(uint64_t acc, const uint8_t *p, size_t len)
{
    unsigned __int128 a, b = 0;
    uint64_t w0, w1, w2, w3;
    uint32_t v;
    uint16_t h;

#ifdef TCP_CSUM_AVX2
    /* Segments are at most 64 KB: within sum_avx2's lane budget. */
    if (len >= 64 && len <= 65535 && have_avx2()) {
	size_t  done = sum_avx2(&acc, 0, p, len);

	p += done;
	len -= done;
    }
#endif
    a = acc;
    while (len >= 32) {
	memcpy(&w0, p, 8);
	memcpy(&w1, p + 8, 8);
	memcpy(&w2, p + 16, 8);
	memcpy(&w3, p + 24, 8);
	a += w0;
	b += w1;
	a += w2;
	b += w3;
	p += 32;
	len -= 32;
    }
    while (len >= 8) {
	memcpy(&w0, p, 8);
	a += w0;
	p += 8;
	len -= 8;
    }
    a += b;
    /* Fold 128 -> 64 bits; end-around carry keeps the ones' complement. */
    w0 = (uint64_t) a;
    w1 = (uint64_t) (a >> 64);
    w0 += w1;
    if (w0 < w1)
	w0++;
    /* 64 -> 33 bits, so the tail adds below cannot overflow. */
    acc = (w0 & 0xffffffffU) + (w0 >> 32);
    if (len >= 4) {
	memcpy(&v, p, 4);
	acc += v;
	p += 4;
	len -= 4;
    }
    if (len >= 2) {
	memcpy(&h, p, 2);
	acc += h;
	p += 2;
	len -= 2;
    }
    if (len) {
	uint8_t last[2] = {p[0], 0};

	memcpy(&h, last, 2);
	acc += h;
    }
    return (acc);
}

/* csum_fold - fold a partial sum to 16 bits */
static uint16_t
csum_fold(uint64_t acc)
{
    while (acc >> 16)
	acc = (acc & 0xffff) + (acc >> 16);
    return ((uint16_t) acc);
}

/* pseudo_sum - IPv4 pseudo-header partial sum, in the same (native) byte
 * order as csum_add: computed on host values, then swapped if needed */
static uint64_t
pseudo_sum(uint32_t saddr, uint32_t daddr, size_t len)
{
    uint32_t s = (saddr >> 16) + (saddr & 0xffff) + (daddr >> 16)
	+ (daddr & 0xffff) + 6 + (uint32_t) len;

    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    s = __builtin_bswap16((uint16_t) s);
#endif
    return (s);
}

/* tcp_cksum_pseudo - folded pseudo-header sum, what offload wants in the
 * checksum field */
uint16_t
tcp_cksum_pseudo(uint32_t saddr, uint32_t daddr, size_t len)
{
    return (csum_fold(pseudo_sum(saddr, daddr, len)));
}

/* tcp_cksum - checksum over pseudo-header and segment; 0 means valid */
uint16_t
tcp_cksum(uint32_t saddr, uint32_t daddr, const uint8_t *seg, size_t len)
{
    return ((uint16_t) ~csum_fold(csum_add(pseudo_sum(saddr, daddr, len),
					   seg, len)));
}


/* csum_copy - csum_add that also stores the bytes at dst */
static uint64_t
csum_copy(uint64_t acc, uint8_t *dst, const uint8_t *p, size_t len)
{
    unsigned __int128 a, b = 0;
    uint64_t w0, w1, w2, w3;

#ifdef TCP_CSUM_AVX2
    if (len >= 64 && len <= 65535 && have_avx2()) {
	size_t  done = sum_avx2(&acc, dst, p, len);

	p += done;
	dst += done;
	len -= done;
    }
#endif
    a = acc;
    while (len >= 32) {
	memcpy(&w0, p, 8);
	memcpy(&w1, p + 8, 8);
	memcpy(&w2, p + 16, 8);
	memcpy(&w3, p + 24, 8);
	memcpy(dst, &w0, 8);
	memcpy(dst + 8, &w1, 8);
	memcpy(dst + 16, &w2, 8);
	memcpy(dst + 24, &w3, 8);
	a += w0;
	b += w1;
	a += w2;
	b += w3;
	p += 32;
	dst += 32;
	len -= 32;
    }
    a += b;
    w0 = (uint64_t) a;
    w1 = (uint64_t) (a >> 64);
    w0 += w1;
    if (w0 < w1)
	w0++;
    memcpy(dst, p, len);
    return (csum_add((w0 & 0xffffffffU) + (w0 >> 32), p, len));
}

/* tcp_cksum_copy - verify a segment's checksum while copying its payload
 * (at even offset doff) into a ring at position pos; 0 means valid. One
 * pass over the payload instead of two. */
uint16_t
tcp_cksum_copy(uint32_t saddr, uint32_t daddr, const uint8_t *seg,
	               size_t len, size_t doff, uint8_t *ring, uint32_t mask,
	               uint32_t pos)
{
    uint64_t acc = csum_add(pseudo_sum(saddr, daddr, len), seg, doff);
    size_t  plen = len - doff, first = mask + 1 - pos;

    if (first >= plen)
	return ((uint16_t) ~csum_fold(csum_copy(acc, ring + pos, seg + doff,
						plen)));
    acc = csum_copy(acc, ring + pos, seg + doff, first);
    if (first & 1) {
	/* The second piece starts at an odd offset: its sum is swapped. */
	uint16_t s2 = csum_fold(csum_copy(0, ring, seg + doff + first,
					  plen - first));

	acc += (uint16_t) (s2 << 8 | s2 >> 8);
    } else {
	acc = csum_copy(acc, ring, seg + doff + first, plen - first);
    }
    return ((uint16_t) ~csum_fold(acc));
}
