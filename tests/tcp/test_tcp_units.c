/*
 * test_tcp_units.c - cmocka tests of the small pieces of dp/tcp
 *
 * Sequence arithmetic across 2^32, SYN-cookie encode/check, the
 * out-of-order range list and the timer wheel, each without a stack.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tcp_int.h"

static const uint8_t key[16] = "0123456789abcdef";

/* test_seq_compare_wraps_at_2_32 - comparisons are modulo 2^32 */
static void
test_seq_compare_wraps_at_2_32(void **state)
{
    (void) state;
    assert_true(SEQ_LT(0xfffffff0U, 0x10U));
    assert_true(SEQ_GT(0x10U, 0xfffffff0U));
    assert_true(SEQ_LEQ(5U, 5U));
    assert_true(SEQ_GEQ(0U, 0xffffffffU));
    assert_int_equal(SEQ_MAX(0xfffffff0U, 0x10U), 0x10U);
    assert_int_equal(SEQ_MIN(0xfffffff0U, 0x10U), 0xfffffff0U);
    assert_int_equal((uint32_t) (0x10U - 0xfffffff0U), 0x20U);
}

/* test_cookie_roundtrip_recovers_mss - check accepts what make produced */
static void
test_cookie_roundtrip_recovers_mss(void **state)
{
    uint16_t mss_enc, mss_dec = 0;
    uint32_t c;

    (void) state;
    c = tcp_cookie_make(key, 1, 2, 3, 4, 1000, 5000000, 1400, &mss_enc);
    assert_int_equal(mss_enc, 1300);
    assert_int_equal(tcp_cookie_check(key, 1, 2, 3, 4, 1000, c, 5000000,
				      &mss_dec), 0);
    assert_int_equal(mss_dec, 1300);
    /* Still valid a period later, not after TCP_COOKIE_MAX_AGE periods. */
    assert_int_equal(tcp_cookie_check(key, 1, 2, 3, 4, 1000, c,
				      5000000 + TCP_COOKIE_PERIOD_US,
				      &mss_dec), 0);
    assert_int_equal(tcp_cookie_check(key, 1, 2, 3, 4, 1000, c,
				      5000000 + 4 * TCP_COOKIE_PERIOD_US,
				      &mss_dec), -1);
}

/* test_cookie_rejects_other_tuple_or_isn - forged cookies fail */
static void
test_cookie_rejects_other_tuple_or_isn(void **state)
{
    uint16_t m;
    uint32_t c = tcp_cookie_make(key, 1, 2, 3, 4, 1000, 0, 1460, &m);
    int     i, ok = 0;

    (void) state;
    assert_int_equal(tcp_cookie_check(key, 1, 9, 3, 4, 1000, c, 0, &m), -1);
    assert_int_equal(tcp_cookie_check(key, 1, 2, 3, 4, 1001, c, 0, &m), -1);
    /* Random guesses: almost all fail (a 2-bit index in 24 bits). */
    for (i = 0; i < 10000; i++)
	ok += tcp_cookie_check(key, 1, 2, 3, 4, 1000,
			       c + (uint32_t) i * 2654435761U + 1, 0, &m) == 0;
    assert_true(ok < 10);
}

/* test_cookie_ts_carries_wscale_and_sack - and never exceeds now */
static void
test_cookie_ts_carries_wscale_and_sack(void **state)
{
    int     ws, sack;
    uint32_t ts = tcp_cookie_ts_encode(1000, 7, 1);

    (void) state;
    assert_true(SEQ_LEQ(ts, 1000));
    tcp_cookie_ts_decode(ts, &ws, &sack);
    assert_int_equal(ws, 7);
    assert_int_equal(sack, 1);
    ts = tcp_cookie_ts_encode(5, -1, 0);
    assert_true(SEQ_LEQ(ts, 5));
    tcp_cookie_ts_decode(ts, &ws, &sack);
    assert_int_equal(ws, -1);
    assert_int_equal(sack, 0);
}

/* test_reass_merges_overlaps_and_pulls_in_order - ranges coalesce */
static void
test_reass_merges_overlaps_and_pulls_in_order(void **state)
{
    struct tcp_reass q;

    (void) state;
    tcp_reass_init(&q);
    assert_int_equal(tcp_reass_add(&q, 200, 300, 8), 0);
    assert_int_equal(tcp_reass_add(&q, 400, 500, 8), 0);
    assert_int_equal(tcp_reass_add(&q, 250, 450, 8), 0);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.r[0].start, 200);
    assert_int_equal(q.r[0].end, 500);
    assert_int_equal(q.bytes, 300);
    assert_int_equal(tcp_reass_pull(&q, 100), 100);
    assert_int_equal(tcp_reass_pull(&q, 200), 500);
    assert_int_equal(q.n, 0);
}

/* test_reass_is_bounded - a new range beyond the limit is refused */
static void
test_reass_is_bounded(void **state)
{
    struct tcp_reass q;

    (void) state;
    tcp_reass_init(&q);
    assert_int_equal(tcp_reass_add(&q, 10, 20, 2), 0);
    assert_int_equal(tcp_reass_add(&q, 30, 40, 2), 0);
    assert_int_equal(tcp_reass_add(&q, 50, 60, 2), -1);
    /* Extending an existing range needs no new slot. */
    assert_int_equal(tcp_reass_add(&q, 40, 45, 2), 0);
    assert_int_equal(q.n, 2);
}

/* test_reass_sack_reports_most_recent_first - RFC 2018 order */
static void
test_reass_sack_reports_most_recent_first(void **state)
{
    struct tcp_reass q;
    uint32_t b[4][2];

    (void) state;
    tcp_reass_init(&q);
    tcp_reass_add(&q, 100, 200, 8);
    tcp_reass_add(&q, 500, 600, 8);
    tcp_reass_add(&q, 300, 400, 8);
    assert_int_equal(tcp_reass_sack(&q, b, 3), 3);
    assert_int_equal(b[0][0], 300);
    assert_int_equal(b[1][0], 500);
    assert_int_equal(b[2][0], 100);
}

/* test_reass_works_across_wrap - ranges straddling 2^32 */
static void
test_reass_works_across_wrap(void **state)
{
    struct tcp_reass q;

    (void) state;
    tcp_reass_init(&q);
    tcp_reass_add(&q, 0xffffff00U, 0x100U, 8);
    tcp_reass_add(&q, 0x200U, 0x300U, 8);
    assert_int_equal(q.n, 2);
    assert_int_equal(q.r[0].start, 0xffffff00U);
    assert_int_equal(tcp_reass_pull(&q, 0xffffff00U), 0x100U);
}

#define NSLOTS 16
#define NNODES 8
static int fired[NNODES];
static uint64_t fired_at[NNODES];

/* on_fire - wheel callback for the tests */
static void
on_fire(void *arg, uint32_t idx, uint64_t now)
{
    (void) arg;
    fired[idx]++;
    fired_at[idx] = now;
}

/* test_wheel_never_fires_early_and_handles_far_timers - rounds work */
static void
test_wheel_never_fires_early_and_handles_far_timers(void **state)
{
    uint32_t slots[NSLOTS];
    struct tcp_tnode nodes[NNODES];
    struct tcp_wheel w;
    uint64_t t;

    (void) state;
    memset(fired, 0, sizeof(fired));
    tcp_wheel_init(&w, slots, NSLOTS, nodes, NNODES, 1000, 0);
    tcp_wheel_add(&w, 0, 2500);		/* tick 3 */
    tcp_wheel_add(&w, 1, 40000);		/* beyond the 16-tick horizon */
    tcp_wheel_add(&w, 2, 5000);
    tcp_wheel_del(&w, 2);
    for (t = 0; t <= 50000; t += 500) {
	tcp_wheel_run(&w, t, on_fire, 0);
	if (t < 2500)
	    assert_int_equal(fired[0], 0);
	if (t < 40000)
	    assert_int_equal(fired[1], 0);
    }
    assert_int_equal(fired[0], 1);
    assert_int_equal(fired[1], 1);
    assert_int_equal(fired[2], 0);
    assert_true(fired_at[0] >= 2500 && fired_at[0] < 4000);
    assert_true(fired_at[1] >= 40000 && fired_at[1] < 41000);
}

/* test_wheel_big_jump_fires_everything_due - a stalled loop catches up */
static void
test_wheel_big_jump_fires_everything_due(void **state)
{
    uint32_t slots[NSLOTS];
    struct tcp_tnode nodes[NNODES];
    struct tcp_wheel w;
    uint32_t i;

    (void) state;
    memset(fired, 0, sizeof(fired));
    tcp_wheel_init(&w, slots, NSLOTS, nodes, NNODES, 1000, 0);
    for (i = 0; i < NNODES; i++)
	tcp_wheel_add(&w, i, 1000 + i * 7000);
    tcp_wheel_run(&w, 30000, on_fire, 0);
    for (i = 0; i < NNODES; i++)
	assert_int_equal(fired[i], 1000 + i * 7000 <= 30000 ? 1 : 0);
    tcp_wheel_run(&w, 100000, on_fire, 0);
    for (i = 0; i < NNODES; i++)
	assert_int_equal(fired[i], 1);
}

/* test_siphash_depends_on_key_and_input - sanity of the keyed hash */
static void
test_siphash_depends_on_key_and_input(void **state)
{
    uint32_t a[3] = {1, 2, 3}, b[3] = {1, 2, 4};
    uint8_t k2[16];

    (void) state;
    memcpy(k2, key, 16);
    k2[0] ^= 1;
    assert_true(tcp_siphash(key, a, 3) != tcp_siphash(key, b, 3));
    assert_true(tcp_siphash(key, a, 3) != tcp_siphash(k2, a, 3));
    assert_true(tcp_siphash(key, a, 3) == tcp_siphash(key, a, 3));
}

/* ref_cksum - byte-at-a-time reference checksum */
static uint16_t
ref_cksum(uint32_t sa, uint32_t da, const uint8_t *p, size_t len)
{
    uint32_t sum = (sa >> 16) + (sa & 0xffff) + (da >> 16) + (da & 0xffff)
    + 6 + (uint32_t) len;
    size_t  i;

    for (i = 0; i + 1 < len; i += 2)
	sum += (uint32_t) p[i] << 8 | p[i + 1];
    if (len & 1)
	sum += (uint32_t) p[len - 1] << 8;
    while (sum >> 16)
	sum = (sum & 0xffff) + (sum >> 16);
    return ((uint16_t) ~sum);
}

/* test_cksum_matches_reference_at_any_length_and_alignment - fast path */
static void
test_cksum_matches_reference_at_any_length_and_alignment(void **state)
{
    static uint8_t buf[1600];
    uint32_t x = 12345;
    size_t  len, off, i;

    (void) state;
    for (i = 0; i < sizeof(buf); i++) {
	x = x * 1103515245 + 12345;
	buf[i] = (uint8_t) (x >> 16);
    }
    buf[100] = buf[101] = 0xff;		/* carries */
    for (off = 0; off < 8; off++)
	for (len = 0; len + off <= 1500; len += (len < 100 ? 1 : 37)) {
	    uint16_t got = tcp_cksum(0xc6120002U, 0xc6120001U, buf + off, len);
	    uint16_t want = ref_cksum(0xc6120002U, 0xc6120001U, buf + off,
				      len);

	    /* Stored in native order by the stack, big-endian by ref. */
	    uint8_t g[2];

	    memcpy(g, &got, 2);
	    assert_int_equal((g[0] << 8 | g[1]), want);
	}
}

/* test_cksum_copy_agrees_and_copies_across_ring_wrap - fused path */
static void
test_cksum_copy_agrees_and_copies_across_ring_wrap(void **state)
{
    static uint8_t seg[1600], ring[2048];
    uint32_t x = 777, pos;
    size_t  i, plen;

    (void) state;
    for (i = 0; i < sizeof(seg); i++) {
	x = x * 1103515245 + 12345;
	seg[i] = (uint8_t) (x >> 16);
    }
    for (plen = 1; plen <= 1460; plen += 97)
	for (pos = 2048 - 200; pos < 2048; pos += 13) {
	    size_t  len = 32 + plen;
	    uint16_t want = tcp_cksum(1, 2, seg, len);
	    uint16_t got = tcp_cksum_copy(1, 2, seg, len, 32, ring, 2047, pos);

	    assert_int_equal(got, want);
	    for (i = 0; i < plen; i++)
		assert_int_equal(ring[(pos + i) & 2047], seg[32 + i]);
	}
}

/* main - run the group */
int
main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_seq_compare_wraps_at_2_32),
	cmocka_unit_test(test_cookie_roundtrip_recovers_mss),
	cmocka_unit_test(test_cookie_rejects_other_tuple_or_isn),
	cmocka_unit_test(test_cookie_ts_carries_wscale_and_sack),
	cmocka_unit_test(test_reass_merges_overlaps_and_pulls_in_order),
	cmocka_unit_test(test_reass_is_bounded),
	cmocka_unit_test(test_reass_sack_reports_most_recent_first),
	cmocka_unit_test(test_reass_works_across_wrap),
	cmocka_unit_test(test_wheel_never_fires_early_and_handles_far_timers),
	cmocka_unit_test(test_wheel_big_jump_fires_everything_due),
	cmocka_unit_test(test_siphash_depends_on_key_and_input),
	cmocka_unit_test(test_cksum_matches_reference_at_any_length_and_alignment),
	cmocka_unit_test(test_cksum_copy_agrees_and_copies_across_ring_wrap),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
