/*
 * test_decode.c - base64 and quoted-printable decoders, split anywhere;
 *	the SIMD base64 kernels and the 16-byte quoted-printable copy
 *	against byte-at-a-time decoding
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mime_int.h"

#define OUT_MAX	4096
#define RAND_INPUTS	20000	/* random inputs per SIMD comparison */
#define RAND_LEN_MAX	1200	/* bytes of one random input, at most */
#define EVERY_LEN_MAX	200	/* every length up to this is tried */

static const char b64_alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* b64_split - decode s cut at position cut; returns length, sets bad */
static size_t b64_split(const char *s, size_t cut, uint8_t *out,
			unsigned *bad)
{
	struct decode_b64 d;
	size_t len = strlen(s), n;

	decode_b64_init(&d);
	n = decode_b64_run(&d, (const uint8_t *) s, cut, out);
	n += decode_b64_run(&d, (const uint8_t *) s + cut, len - cut, out + n);
	n += decode_b64_finish(&d, out + n);
	*bad = d.bad;
	return n;
}

/* qp_split - decode s cut at position cut */
static size_t qp_split(const char *s, size_t cut, uint8_t *out,
		       unsigned *bad)
{
	struct decode_qp d;
	size_t len = strlen(s), n;

	decode_qp_init(&d);
	n = decode_qp_run(&d, (const uint8_t *) s, cut, out);
	n += decode_qp_run(&d, (const uint8_t *) s + cut, len - cut, out + n);
	n += decode_qp_finish(&d, out + n);
	*bad = d.bad;
	return n;
}

/* expect_b64 - every split point gives want (and the bad verdict) */
static void expect_b64(const char *in, const char *want, int want_bad)
{
	uint8_t out[OUT_MAX];
	unsigned bad;

	for (size_t cut = 0; cut <= strlen(in); cut++) {
		size_t n = b64_split(in, cut, out, &bad);

		assert_int_equal(n, strlen(want));
		assert_memory_equal(out, want, n);
		assert_int_equal(bad != 0, want_bad);
	}
}

/* expect_qp - every split point gives want */
static void expect_qp(const char *in, const char *want, int want_bad)
{
	uint8_t out[OUT_MAX];
	unsigned bad;

	for (size_t cut = 0; cut <= strlen(in); cut++) {
		size_t n = qp_split(in, cut, out, &bad);

		assert_int_equal(n, strlen(want));
		assert_memory_equal(out, want, n);
		assert_int_equal(bad != 0, want_bad);
	}
}

static void test_base64_clean_lines_decode_at_every_split(void **state)
{
	expect_b64("SGVsbG8s\r\nIHdvcmxk\r\nIQ==\r\n", "Hello, world!", 0);
	expect_b64("YQ==", "a", 0);
	expect_b64("YWI=", "ab", 0);
	expect_b64("YWJj", "abc", 0);
}

static void test_base64_junk_is_skipped_and_flagged(void **state)
{
	expect_b64("SGVs!!bG8s*IHdv~cmxkIQ==", "Hello, world!", 1);
}

static void test_base64_whitespace_is_not_junk(void **state)
{
	expect_b64("S G V s\tb G 8 s", "Hello,", 0);
}

static void test_base64_missing_padding_keeps_partial_quantum(void **state)
{
	expect_b64("YWJjZA", "abcd", 1);
	expect_b64("YWJjZGU", "abcde", 1);
}

static void test_base64_data_after_padding_is_decoded_and_flagged(void **state)
{
	/* Two encodings glued together: the second is not hidden. */
	expect_b64("YQ==YWJj", "aabc", 1);
	expect_b64("YWI=Yw==", "abc", 1);
}

static void test_base64_lone_sextet_is_dropped(void **state)
{
	expect_b64("YWJjZ", "abc", 1);
}

static void test_qp_soft_breaks_join_lines(void **state)
{
	expect_qp("abc=\r\ndef=\nghi\r\n", "abcdefghi\r\n", 0);
}

static void test_qp_hex_in_either_case(void **state)
{
	expect_qp("=E9=e9=3D=3d", "\xE9\xE9==", 0);
}

static void test_qp_invalid_sequences_pass_literally(void **state)
{
	expect_qp("a=ZZb=4", "a=ZZb=4", 1);
	expect_qp("x==41", "x=41", 1);
	expect_qp("p= q", "p= q", 1);
}

static void test_qp_trailing_equals_is_dropped(void **state)
{
	expect_qp("end=", "end", 0);
}

/* rnd - xorshift64: the same inputs on every run */
static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;

static unsigned rnd(unsigned n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (unsigned) (rnd_state >> 11) % n;
}

/* odd_byte - padding, a blank, a line end or junk (8-bit included) */
static uint8_t odd_byte(void)
{
	static const uint8_t odd[] = {'=', ' ', '\t', '\r', '\n', '-', '!',
				      '.', 0, 0x80, 0xC3, 0xFF, '@', '_'};

	return odd[rnd(sizeof(odd))];
}

/*
 * gen_b64 - random base64-like text: lines of one length (the layout the
 * SIMD kernels take whole), sometimes another length, LF or CRLF, with a
 * rate of odd bytes (0: none) anywhere, padding in the middle included
 */
static size_t gen_b64(uint8_t *b, size_t max, unsigned odd_per_1000)
{
	size_t  n = 0, line = 4 * (1 + rnd(40)), col = 0;
	int     crlf = rnd(4) != 0, irregular = rnd(4) == 0;

	if (rnd(8) == 0)
		line += 1 + rnd(3);	/* not whole quanta */
	while (n < max) {
		if (col == line) {
			if (crlf && n + 1 < max)
				b[n++] = '\r';
			b[n++] = '\n';
			col = 0;
			if (irregular && rnd(3) == 0)
				line = 1 + rnd(160);
			continue;
		}
		b[n++] = odd_per_1000 && rnd(1000) < odd_per_1000 ? odd_byte()
			: (uint8_t) b64_alpha[rnd(64)];
		col++;
	}
	return n;
}

/* b64_whole - decode in pieces of at most piece bytes (0: at once) into
 * an exact-size buffer, so that ASan sees any write past its bound */
static size_t b64_whole(const uint8_t *in, size_t len, size_t piece,
			uint8_t *out, unsigned *bad)
{
	struct decode_b64 d;
	size_t  n = 0, o = 0;

	decode_b64_init(&d);
	while (o < len) {
		size_t  k = piece && len - o > piece ? piece : len - o;
		uint8_t *tmp = malloc(DECODE_B64_OUT_MAX(k));
		size_t  m;

		assert_non_null(tmp);
		m = decode_b64_run(&d, in + o, k, tmp);
		assert_true(m <= DECODE_B64_OUT_MAX(k));
		memcpy(out + n, tmp, m);
		free(tmp);
		n += m;
		o += k;
	}
	n += decode_b64_finish(&d, out + n);
	*bad = d.bad;
	return n;
}

/* expect_simd_same - every SIMD level and split decodes in as one byte
 * at a time does (a run of one byte never reaches a SIMD kernel) */
static void expect_simd_same(const uint8_t *in, size_t len)
{
	static uint8_t want[DECODE_B64_OUT_MAX(RAND_LEN_MAX) + 3];
	static uint8_t got[DECODE_B64_OUT_MAX(RAND_LEN_MAX) + 3];
	unsigned want_bad, bad;
	size_t  want_n, n;

	decode_b64_simd_limit(B64_SIMD_NONE);
	want_n = b64_whole(in, len, 1, want, &want_bad);
	for (int level = B64_SIMD_NONE; level <= B64_SIMD_VBMI; level++) {
		decode_b64_simd_limit(level);
		n = b64_whole(in, len, 0, got, &bad);
		assert_int_equal(n, want_n);
		assert_memory_equal(got, want, n);
		assert_int_equal(bad, want_bad);
		n = b64_whole(in, len, 1 + rnd(300), got, &bad);
		assert_int_equal(n, want_n);
		assert_memory_equal(got, want, n);
		assert_int_equal(bad, want_bad);
	}
	decode_b64_simd_limit(B64_SIMD_VBMI);
}

static void test_base64_simd_matches_bytewise_on_random_input(void **state)
{
	static uint8_t in[RAND_LEN_MAX];
	static const unsigned rates[] = {0, 0, 1, 5, 20, 200};

	(void) state;
	for (int i = 0; i < RAND_INPUTS; i++) {
		size_t  n = gen_b64(in, 1 + rnd(RAND_LEN_MAX),
				    rates[rnd(sizeof(rates) / sizeof(rates[0]))]);

		expect_simd_same(in, n);
	}
}

static void test_base64_simd_matches_bytewise_at_every_length(void **state)
{
	static uint8_t in[EVERY_LEN_MAX];

	(void) state;
	for (size_t len = 0; len <= EVERY_LEN_MAX; len++) {
		for (int k = 0; k < 20; k++) {
			gen_b64(in, EVERY_LEN_MAX, k < 10 ? 0 : 10);
			expect_simd_same(in, len);
		}
	}
}

/* gen_qp - random quoted-printable text: words, escapes in either case,
 * soft breaks (CRLF or LF), "==", "=" before junk, and a cut at the end */
static size_t gen_qp(uint8_t *b, size_t max)
{
	static const char *const pieces[] = {
		"=C3=A9", "=c3=bc", "=3D", "=\r\n", "=\n", "==", "=G1", "=4",
		"= ", "=\r", " ", "\r\n", "<p>", "https://x.example/?a=3D1",
	};
	size_t  n = 0;

	while (n < max) {
		if (rnd(3) != 0) {
			b[n++] = (uint8_t) ('a' + rnd(26));
			continue;
		}
		const char *p = pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))];

		for (size_t k = 0; p[k] && n < max; k++)
			b[n++] = (uint8_t) p[k];
	}
	return n;
}

/* qp_pieces - decode in pieces of at most piece bytes into exact-size
 * buffers (ASan sees any write past DECODE_QP_OUT_MAX) */
static size_t qp_pieces(const uint8_t *in, size_t len, size_t piece,
			uint8_t *out, unsigned *bad)
{
	struct decode_qp d;
	size_t  n = 0, o = 0;

	decode_qp_init(&d);
	while (o < len) {
		size_t  k = len - o > piece ? piece : len - o;
		uint8_t *tmp = malloc(DECODE_QP_OUT_MAX(k));

		assert_non_null(tmp);
		size_t  m = decode_qp_run(&d, in + o, k, tmp);

		assert_true(m <= DECODE_QP_OUT_MAX(k));
		memcpy(out + n, tmp, m);
		free(tmp);
		n += m;
		o += k;
	}
	n += decode_qp_finish(&d, out + n);
	*bad = d.bad;
	return n;
}

static void test_qp_in_blocks_matches_bytewise_on_random_input(void **state)
{
	static uint8_t in[RAND_LEN_MAX];
	static uint8_t want[DECODE_QP_OUT_MAX(RAND_LEN_MAX) + 3];
	static uint8_t got[DECODE_QP_OUT_MAX(RAND_LEN_MAX) + 3];

	(void) state;
	for (int i = 0; i < RAND_INPUTS; i++) {
		size_t  len = gen_qp(in, rnd(RAND_LEN_MAX / 4) + 1), n, want_n;
		unsigned want_bad, bad;

		/* one byte at a time never has 16 bytes to copy at once */
		want_n = qp_pieces(in, len, 1, want, &want_bad);
		n = qp_pieces(in, len, len, got, &bad);
		assert_int_equal(n, want_n);
		assert_memory_equal(got, want, n);
		assert_int_equal(bad, want_bad);
		n = qp_pieces(in, len, 1 + rnd(64), got, &bad);
		assert_int_equal(n, want_n);
		assert_memory_equal(got, want, n);
		assert_int_equal(bad, want_bad);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_clean_lines_decode_at_every_split),
		cmocka_unit_test(test_base64_junk_is_skipped_and_flagged),
		cmocka_unit_test(test_base64_whitespace_is_not_junk),
		cmocka_unit_test(test_base64_missing_padding_keeps_partial_quantum),
		cmocka_unit_test(test_base64_data_after_padding_is_decoded_and_flagged),
		cmocka_unit_test(test_base64_lone_sextet_is_dropped),
		cmocka_unit_test(test_base64_simd_matches_bytewise_on_random_input),
		cmocka_unit_test(test_base64_simd_matches_bytewise_at_every_length),
		cmocka_unit_test(test_qp_soft_breaks_join_lines),
		cmocka_unit_test(test_qp_hex_in_either_case),
		cmocka_unit_test(test_qp_invalid_sequences_pass_literally),
		cmocka_unit_test(test_qp_trailing_equals_is_dropped),
		cmocka_unit_test(test_qp_in_blocks_matches_bytewise_on_random_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
