/*
 * test_decode.c - base64 and quoted-printable decoders, split anywhere
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mime_int.h"

#define OUT_MAX	4096

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_clean_lines_decode_at_every_split),
		cmocka_unit_test(test_base64_junk_is_skipped_and_flagged),
		cmocka_unit_test(test_base64_whitespace_is_not_junk),
		cmocka_unit_test(test_base64_missing_padding_keeps_partial_quantum),
		cmocka_unit_test(test_base64_data_after_padding_is_decoded_and_flagged),
		cmocka_unit_test(test_base64_lone_sextet_is_dropped),
		cmocka_unit_test(test_qp_soft_breaks_join_lines),
		cmocka_unit_test(test_qp_hex_in_either_case),
		cmocka_unit_test(test_qp_invalid_sequences_pass_literally),
		cmocka_unit_test(test_qp_trailing_equals_is_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
