/*
 * test_charset.c - conversion to UTF-8, multibyte sequences split anywhere;
 *	the 16-byte UTF-8 validation against the byte-wise one
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mime_int.h"

#define OUT_MAX	4096
#define UTF8_RAND_INPUTS 20000	/* random texts checked at every length */
#define UTF8_RAND_LEN	300	/* bytes of one random text, at most */
#define UTF8_SCALAR_MAX	4	/* a window this short never takes SSE2 */

/* conv_split - convert in (len bytes) cut at cut, collect the output */
static size_t conv_split(const char *cs, const uint8_t *in, size_t len,
			 size_t cut, uint8_t *out)
{
	struct charset_conv c;
	uint8_t buf[CHARSET_OUT_MAX(OUT_MAX)];
	size_t n = 0, k;
	const uint8_t *r;

	charset_init(&c, charset_lookup(cs));
	r = charset_run(&c, in, cut, buf, &k);
	memcpy(out + n, r, k);
	n += k;
	r = charset_run(&c, in + cut, len - cut, buf, &k);
	memcpy(out + n, r, k);
	n += k;
	n += charset_finish(&c, out + n);
	return n;
}

/* expect_conv - every split point gives want */
static void expect_conv(const char *cs, const void *in, size_t len,
			const char *want)
{
	uint8_t out[CHARSET_OUT_MAX(OUT_MAX)];

	for (size_t cut = 0; cut <= len; cut++) {
		size_t n = conv_split(cs, in, len, cut, out);

		assert_int_equal(n, strlen(want));
		assert_memory_equal(out, want, n);
	}
}

static void test_utf8_passes_through_at_every_split(void **state)
{
	const char *s = "a\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 z";

	expect_conv("utf-8", s, strlen(s), s);
	expect_conv("us-ascii", s, strlen(s), s);
}

static void test_utf8_valid_input_is_not_copied(void **state)
{
	struct charset_conv c;
	uint8_t buf[64];
	size_t n;
	const uint8_t *in = (const uint8_t *) "plain \xC3\xA9 text";

	charset_init(&c, CHARSET_UTF8);
	assert_ptr_equal(charset_run(&c, in, 14, buf, &n), in);
	assert_int_equal(n, 14);
}

static void test_utf8_invalid_sequences_become_replacement(void **state)
{
	/* stray continuation, cut 3-byte sequence, overlong, surrogate */
	const char *s = "a\x80" "b\xE2\x82" "c\xC0\xAF" "d\xED\xA0\x80";

	expect_conv("utf-8", s, strlen(s),
		    "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD"
		    "d\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

static void test_utf8_cut_at_end_of_part_becomes_replacement(void **state)
{
	expect_conv("utf-8", "ok\xF0\x9F", 4, "ok\xEF\xBF\xBD");
}

static void test_latin1_and_tables_convert(void **state)
{
	expect_conv("iso-8859-1", "caf\xE9", 4, "caf\xC3\xA9");
	expect_conv("iso-8859-15", "\xA4", 1, "\xE2\x82\xAC");
	expect_conv("windows-1252", "\x80\x93", 2,
		    "\xE2\x82\xAC\xE2\x80\x9C");
	expect_conv("iso-8859-2", "\xB1", 1, "\xC4\x85");
	expect_conv("windows-1251", "\xCF\xF0", 2, "\xD0\x9F\xD1\x80");
	expect_conv("koi8-r", "\xF0\xD2", 2, "\xD0\x9F\xD1\x80");
}

static void test_utf16_with_bom_and_surrogates_at_every_split(void **state)
{
	static const uint8_t le[] = { 0xFF, 0xFE, 'h', 0, 0xE9, 0,
		0x3D, 0xD8, 0x00, 0xDE };
	static const uint8_t be[] = { 0xFE, 0xFF, 0, 'h', 0, 0xE9,
		0xD8, 0x3D, 0xDE, 0x00 };
	const char *want = "h\xC3\xA9\xF0\x9F\x98\x80";

	expect_conv("utf-16", le, sizeof(le), want);
	expect_conv("utf-16", be, sizeof(be), want);
	expect_conv("utf-16le", le + 2, sizeof(le) - 2, want);
	expect_conv("utf-16be", be + 2, sizeof(be) - 2, want);
}

static void test_unknown_charset_passes_bytes(void **state)
{
	assert_int_equal(charset_lookup("x-klingon"), CHARSET_UNKNOWN);
	expect_conv("x-klingon", "\xFF\xFE", 2, "\xFF\xFE");
}

static void test_short_string_conversion_is_cut_at_char_boundary(void **state)
{
	char out[5];
	int bad = 0;

	/* "ééé" is 6 bytes in UTF-8: only two fit in 4 + NUL */
	assert_int_equal(charset_to_utf8("iso-8859-1",
			 (const uint8_t *) "\xE9\xE9\xE9", 3, out, sizeof(out),
			 &bad), 4);
	assert_string_equal(out, "\xC3\xA9\xC3\xA9");
	assert_int_equal(bad, 0);
}

/* rnd - xorshift64: the same texts on every run */
static uint64_t rnd_state = 0x2545F4914F6CDD1Dull;

static unsigned rnd(unsigned n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (unsigned) (rnd_state >> 11) % n;
}

/* utf8_bytewise - the valid prefix as the byte-wise code finds it: one
 * character at a time through windows too short for the 16-byte path */
static size_t utf8_bytewise(const uint8_t *s, size_t len)
{
	size_t  i = 0;

	while (i < len) {
		size_t  w = len - i < UTF8_SCALAR_MAX ? len - i
			: UTF8_SCALAR_MAX, k = charset_utf8_valid(s + i, w);

		if (k == 0)
			return i;
		i += k;
	}
	return i;
}

/* gen_text - mostly ASCII and accented Latin, with some longer, cut,
 * stray and invalid sequences */
static size_t gen_text(uint8_t *b, size_t max)
{
	static const char *const pieces[] = {
		"caf\xC3\xA9 ", "na\xC3\xAFve", "Gr\xC3\xB6\xC3\x9F" "e",
		"\xC2\xA0", "\xDF\xBF", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
		"\xC3", "\xA9", "\xC0\x80", "\xC1\xBF", "\xED\xA0\x80",
		"\xF4\x90\x80\x80", "\xE0\x80\xAF", "\xFF", "\xC3\xC3",
	};
	unsigned odd = rnd(4) == 0 ? 16 : 5;	/* pieces drawn from */
	size_t  n = 0;

	while (n < max) {
		if (rnd(3) != 0) {
			b[n++] = (uint8_t) (' ' + rnd(95));
			continue;
		}
		const char *p = pieces[rnd(odd)];

		for (size_t k = 0; p[k] && n < max; k++)
			b[n++] = (uint8_t) p[k];
	}
	return n;
}

/* utf8_random_inputs - random texts at every length and alignment, the
 * block code against the byte-wise code */
static void utf8_random_inputs(int inputs)
{
	static uint8_t text[UTF8_RAND_LEN];

	for (int i = 0; i < inputs; i++) {
		size_t  n = gen_text(text, 1 + rnd(UTF8_RAND_LEN));
		size_t  from = rnd(4);	/* any alignment */

		for (size_t len = from; len <= n; len += 1 + rnd(8))
			assert_int_equal(charset_utf8_valid(text + from,
							    len - from),
					 utf8_bytewise(text + from, len - from));
	}
}

static void test_utf8_validation_in_blocks_matches_bytewise(void **state)
{
	(void) state;
	utf8_random_inputs(UTF8_RAND_INPUTS);
}

/* Every step width (SSE2, AVX2, AVX-512BW) that this CPU runs: a level
 * the CPU lacks falls back to the one below, and is compared again. */
static void test_utf8_validation_matches_bytewise_at_every_simd_level(
	void **state)
{
	(void) state;
	for (int level = UTF8_SIMD_SSE2; level <= UTF8_SIMD_AVX512; level++) {
		charset_utf8_simd_limit(level);
		utf8_random_inputs(UTF8_RAND_INPUTS / 2);
	}
	charset_utf8_simd_limit(UTF8_SIMD_AVX512);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_passes_through_at_every_split),
		cmocka_unit_test(test_utf8_valid_input_is_not_copied),
		cmocka_unit_test(test_utf8_invalid_sequences_become_replacement),
		cmocka_unit_test(test_utf8_cut_at_end_of_part_becomes_replacement),
		cmocka_unit_test(test_latin1_and_tables_convert),
		cmocka_unit_test(test_utf16_with_bom_and_surrogates_at_every_split),
		cmocka_unit_test(test_unknown_charset_passes_bytes),
		cmocka_unit_test(test_short_string_conversion_is_cut_at_char_boundary),
		cmocka_unit_test(test_utf8_validation_in_blocks_matches_bytewise),
		cmocka_unit_test(test_utf8_validation_matches_bytewise_at_every_simd_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
