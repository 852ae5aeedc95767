/*
 * tcp_syncookie.c - keyed hashes: ISNs, timestamp offsets, SYN cookies
 *
 *   uint64_t tcp_siphash(key, words, nwords);
 *   uint32_t tcp_isn(st, saddr, sport, daddr, dport, now_us);
 *   uint32_t tcp_ts_offset(st, saddr, sport, daddr, dport);
 *   uint32_t tcp_cookie_make(key, saddr, sport, daddr, dport, client_isn,
 *                            now_us, mss, &mss_out);
 *   int tcp_cookie_check(key, saddr, sport, daddr, dport, client_isn,
 *                        cookie, now_us, &mss_out);
 *   uint32_t tcp_cookie_ts_encode(ts_now, wscale, sack_ok);
 *   void tcp_cookie_ts_decode(tsecr, &wscale, &sack_ok);
 *
 * ISN per RFC 6528: a keyed hash of the 4-tuple plus a 4 us clock.
 *
 * Cookie layout (the classic one): cookie = H1(tuple) + their ISN
 * + (period << 24) + ((H2(tuple, period, their ISN) + mss_index) mod 2^24).
 * The top 8 bits carry the 64-second period so a check can recover it,
 * reject cookies older than TCP_COOKIE_MAX_AGE periods and then recover the
 * MSS index; keying H2 on their ISN too makes a replay with another ISN
 * decode to a random index.
 * When the peer offered timestamps, the options a cookie cannot carry
 * (window scale, SACK-permitted) ride in the low 6 bits of our TSval and
 * come back in its TSecr.
 *
 * Diagnostics: tcp_cookie_check returns -1 for a forged or stale cookie.
 */

#include "tcp_int.h"

/* Peer MSS values a cookie can express (index fits in 2 bits). */
static const uint16_t cookie_mss[] = {536, 1300, 1440, 1460};

#define COOKIE_MSS_N	(sizeof(cookie_mss) / sizeof(cookie_mss[0]))
#define COOKIE_PERIOD_BITS 8
#define COOKIE_LOW_MASK	0xffffffU
#define TS_OPT_BITS	6		/* low TSval bits carrying options */
#define TS_OPT_MASK	((1U << TS_OPT_BITS) - 1)
#define TS_WS_NONE	0xf		/* "no window scaling" in 4 bits */
#define TS_SACK_BIT	0x10

#define ROTL(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))

/* sip_round - one SipHash round */
static inline void
sip_round(uint64_t *v0, uint64_t *v1, uint64_t *v2, uint64_t *v3)
{
    *v0 += *v1;
    *v1 = ROTL(*v1, 13);
    *v1 ^= *v0;
    *v0 = ROTL(*v0, 32);
    *v2 += *v3;
    *v3 = ROTL(*v3, 16);
    *v3 ^= *v2;
    *v0 += *v3;
    *v3 = ROTL(*v3, 21);
    *v3 ^= *v0;
    *v2 += *v1;
    *v1 = ROTL(*v1, 17);
    *v1 ^= *v2;
    *v2 = ROTL(*v2, 32);
}

/* tcp_siphash - SipHash-2-4 of nw 32-bit words (a 64-bit block per pair) */
uint64_t
tcp_siphash(const uint8_t key[16], const uint32_t *w, unsigned nw)
{
    uint64_t k0 = 0, k1 = 0, v0, v1, v2, v3, m;
    unsigned i;

    for (i = 0; i < 8; i++) {
	k0 |= (uint64_t) key[i] << (8 * i);
	k1 |= (uint64_t) key[8 + i] << (8 * i);
    }
    v0 = k0 ^ 0x736f6d6570736575ULL;
    v1 = k1 ^ 0x646f72616e646f6dULL;
    v2 = k0 ^ 0x6c7967656e657261ULL;
    v3 = k1 ^ 0x7465646279746573ULL;
    for (i = 0; i < nw; i += 2) {
	m = w[i] | (i + 1 < nw ? (uint64_t) w[i + 1] << 32 : 0);
	v3 ^= m;
	sip_round(&v0, &v1, &v2, &v3);
	sip_round(&v0, &v1, &v2, &v3);
	v0 ^= m;
    }
    m = (uint64_t) (nw * 4) << 56;
    v3 ^= m;
    sip_round(&v0, &v1, &v2, &v3);
    sip_round(&v0, &v1, &v2, &v3);
    v0 ^= m;
    v2 ^= 0xff;
    for (i = 0; i < 4; i++)
	sip_round(&v0, &v1, &v2, &v3);
    return (v0 ^ v1 ^ v2 ^ v3);
}

/* tuple_hash32 - keyed 32-bit hash of a 4-tuple and a domain word */
static uint32_t
tuple_hash32(const uint8_t key[16], uint32_t saddr, uint16_t sport,
	             uint32_t daddr, uint16_t dport, uint32_t domain)
{
    uint32_t w[4];

    w[0] = saddr;
    w[1] = daddr;
    w[2] = (uint32_t) sport << 16 | dport;
    w[3] = domain;
    return ((uint32_t) tcp_siphash(key, w, 4));
}

/* cookie_h2 - keyed hash of tuple, period and their ISN: a cookie replayed
 * with another ISN decodes to a random MSS index, not a neighbour */
static uint32_t
cookie_h2(const uint8_t key[16], uint32_t saddr, uint16_t sport,
	          uint32_t daddr, uint16_t dport, uint32_t period, uint32_t isn)
{
    uint32_t w[5];

    w[0] = saddr;
    w[1] = daddr;
    w[2] = (uint32_t) sport << 16 | dport;
    w[3] = 2 + period;
    w[4] = isn;
    return ((uint32_t) tcp_siphash(key, w, 5));
}

/* tcp_isn - RFC 6528 initial sequence number */
uint32_t
tcp_isn(const struct tcp_stack *st, uint32_t saddr, uint16_t sport,
	        uint32_t daddr, uint16_t dport, uint64_t now_us)
{
    return (tuple_hash32(st->cfg.secret, saddr, sport, daddr, dport, 0x15a)
	    + (uint32_t) (now_us >> TCP_ISN_CLOCK_SHIFT));
}

/* tcp_ts_offset - per-connection TSval offset so TSval leaks no uptime */
uint32_t
tcp_ts_offset(const struct tcp_stack *st, uint32_t saddr, uint16_t sport,
	              uint32_t daddr, uint16_t dport)
{
    if (st->cfg.flags & TCP_CFG_NO_TS_OFFSET)
	return (0);
    return (tuple_hash32(st->cfg.secret, saddr, sport, daddr, dport, 0x75));
}

/* tcp_cookie_make - SYN-ACK sequence number that encodes the SYN */
uint32_t
tcp_cookie_make(const uint8_t key[16], uint32_t saddr, uint16_t sport,
		        uint32_t daddr, uint16_t dport, uint32_t client_isn,
		        uint64_t now_us, uint16_t mss, uint16_t *mss_out)
{
    uint32_t period = (uint32_t) (now_us / TCP_COOKIE_PERIOD_US);
    unsigned idx;

    for (idx = COOKIE_MSS_N - 1; idx > 0; idx--)
	if (mss >= cookie_mss[idx])
	    break;
    *mss_out = cookie_mss[idx];
    return (tuple_hash32(key, saddr, sport, daddr, dport, 1) + client_isn
	    + (period << (32 - COOKIE_PERIOD_BITS))
	    + ((cookie_h2(key, saddr, sport, daddr, dport, period, client_isn)
		+ idx) & COOKIE_LOW_MASK));
}

/* tcp_cookie_check - validate the cookie an ACK returns; 0 and the MSS */
int
tcp_cookie_check(const uint8_t key[16], uint32_t saddr, uint16_t sport,
		         uint32_t daddr, uint16_t dport, uint32_t client_isn,
		         uint32_t cookie, uint64_t now_us, uint16_t *mss_out)
{
    uint32_t now_period = (uint32_t) (now_us / TCP_COOKIE_PERIOD_US);
    uint32_t diff, period, idx;

    diff = cookie - tuple_hash32(key, saddr, sport, daddr, dport, 1)
	- client_isn;
    period = diff >> (32 - COOKIE_PERIOD_BITS);
    if (((now_period - period) & 0xff) > TCP_COOKIE_MAX_AGE)
	return (-1);
    period = now_period - ((now_period - period) & 0xff);
    idx = (diff - cookie_h2(key, saddr, sport, daddr, dport, period,
			    client_isn)) & COOKIE_LOW_MASK;
    if (idx >= COOKIE_MSS_N)
	return (-1);
    *mss_out = cookie_mss[idx];
    return (0);
}

/* tcp_cookie_ts_encode - TSval carrying wscale/SACK, never above ts_now */
uint32_t
tcp_cookie_ts_encode(uint32_t ts_now, int wscale, int sack_ok)
{
    uint32_t opts = (wscale < 0 ? TS_WS_NONE : (uint32_t) wscale & 0xf)
	| (sack_ok ? TS_SACK_BIT : 0);
    uint32_t ts = (ts_now & ~TS_OPT_MASK) | opts;

    /* Our later TSvals are ts_now + elapsed: keep this one below them so
     * the peer's PAWS never sees time run backwards. */
    if (SEQ_GT(ts, ts_now))
	ts -= 1U << TS_OPT_BITS;
    return (ts);
}

/* tcp_cookie_ts_decode - options the peer echoed back in TSecr */
void
tcp_cookie_ts_decode(uint32_t tsecr, int *wscale, int *sack_ok)
{
    uint32_t ws = tsecr & 0xf;

    *wscale = (ws == TS_WS_NONE || ws > 14) ? -1 : (int) ws;
    *sack_ok = (tsecr & TS_SACK_BIT) != 0;
}
