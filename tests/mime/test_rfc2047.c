/*
 * test_rfc2047.c - encoded words (RFC 2047) and parameters (RFC 2231)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mime_int.h"

/* dec - decode a header value */
static const char *dec(const char *in)
{
	static char out[512];
	int cut;

	rfc2047_decode(in, strlen(in), out, sizeof(out), &cut);
	return out;
}

static void test_b_and_q_words_decode_to_utf8(void **state)
{
	assert_string_equal(dec("=?utf-8?B?Y2Fmw6k=?="), "caf\xC3\xA9");
	assert_string_equal(dec("=?ISO-8859-1?Q?caf=E9_noir?="),
			    "caf\xC3\xA9 noir");
	assert_string_equal(dec("=?koi8-r?b?8NLJ18XU?="),
			    "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
}

static void test_space_between_adjacent_words_is_dropped(void **state)
{
	assert_string_equal(dec("=?utf-8?q?a?= =?utf-8?q?b?=\t =?utf-8?q?c?="),
			    "abc");
}

static void test_space_between_word_and_text_is_kept(void **state)
{
	assert_string_equal(dec("x =?utf-8?q?a?= y"), "x a y");
}

static void test_language_suffix_is_ignored(void **state)
{
	assert_string_equal(dec("=?utf-8*en?q?hi?="), "hi");
}

static void test_malformed_words_are_left_alone(void **state)
{
	assert_string_equal(dec("=?utf-8?x?abc?="), "=?utf-8?x?abc?=");
	assert_string_equal(dec("=?utf-8?q?unterminated"),
			    "=?utf-8?q?unterminated");
}

static void test_decoded_value_is_cut_and_flagged(void **state)
{
	char out[6];
	int cut;

	rfc2047_decode("=?utf-8?q?abcdefgh?=", 20, out, sizeof(out), &cut);
	assert_string_equal(out, "abcde");
	assert_int_equal(cut, 1);
}

/* ct - parse a Content-Type value */
static struct mime_hdr_info ct(const char *v)
{
	struct mime_hdr_info hi;

	memset(&hi, 0, sizeof(hi));
	mime_hdr_content_type(v, strlen(v), &hi);
	return hi;
}

/* cd - parse a Content-Disposition value */
static struct mime_hdr_info cd(const char *v)
{
	struct mime_hdr_info hi;

	memset(&hi, 0, sizeof(hi));
	mime_hdr_disposition(v, strlen(v), &hi);
	return hi;
}

static void test_content_type_params_with_quotes_and_comments(void **state)
{
	struct mime_hdr_info hi = ct("Multipart/Mixed; boundary=\"a;b \\\"c\"; "
				     "charset=UTF-8 (comment)");

	assert_string_equal(hi.ctype, "multipart/mixed");
	assert_string_equal(hi.boundary, "a;b \"c");
	assert_string_equal(hi.charset, "utf-8");
}

static void test_invalid_content_type_is_text_plain(void **state)
{
	struct mime_hdr_info hi = ct("garbage");

	assert_string_equal(hi.ctype, "text/plain");
	assert_int_equal(hi.ctype_invalid, 1);
}

static void test_rfc2231_extended_filename_is_decoded(void **state)
{
	struct mime_hdr_info hi = cd("attachment; "
		"filename*=utf-8''%E2%82%AC%20invoice.exe");

	assert_int_equal(hi.disposition, MIME_DISP_ATTACHMENT);
	assert_string_equal(hi.disp_filename, "\xE2\x82\xAC invoice.exe");
}

static void test_rfc2231_continuations_join_in_order(void **state)
{
	struct mime_hdr_info hi = cd("attachment; filename*1=\"rt.pdf\"; "
		"filename*2*=%2Eexe; filename*0*=iso-8859-1''r%E9po");

	assert_string_equal(hi.disp_filename, "r\xC3\xA9port.pdf.exe");
}

static void test_rfc2231_form_wins_over_plain_filename(void **state)
{
	struct mime_hdr_info hi = cd("attachment; filename=\"a.pdf\"; "
				     "filename*=utf-8''a.exe");

	assert_string_equal(hi.disp_filename, "a.exe");
}

static void test_encoded_word_in_quoted_filename_is_decoded(void **state)
{
	struct mime_hdr_info hi = ct("application/x; "
				     "name=\"=?utf-8?B?w6kuZXhl?=\"");

	assert_string_equal(hi.ct_name, "\xC3\xA9.exe");
}

static void test_unquoted_filename_keeps_spaces(void **state)
{
	struct mime_hdr_info hi = cd("inline; filename=my file.txt");

	assert_int_equal(hi.disposition, MIME_DISP_INLINE);
	assert_string_equal(hi.disp_filename, "my file.txt");
}

static void test_transfer_encoding_names(void **state)
{
	assert_int_equal(mime_hdr_encoding(" Base64 ", 8), MIME_ENC_BASE64);
	assert_int_equal(mime_hdr_encoding("quoted-printable", 16),
			 MIME_ENC_QP);
	assert_int_equal(mime_hdr_encoding("x-uue", 5), MIME_ENC_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b_and_q_words_decode_to_utf8),
		cmocka_unit_test(test_space_between_adjacent_words_is_dropped),
		cmocka_unit_test(test_space_between_word_and_text_is_kept),
		cmocka_unit_test(test_language_suffix_is_ignored),
		cmocka_unit_test(test_malformed_words_are_left_alone),
		cmocka_unit_test(test_decoded_value_is_cut_and_flagged),
		cmocka_unit_test(test_content_type_params_with_quotes_and_comments),
		cmocka_unit_test(test_invalid_content_type_is_text_plain),
		cmocka_unit_test(test_rfc2231_extended_filename_is_decoded),
		cmocka_unit_test(test_rfc2231_continuations_join_in_order),
		cmocka_unit_test(test_rfc2231_form_wins_over_plain_filename),
		cmocka_unit_test(test_encoded_word_in_quoted_filename_is_decoded),
		cmocka_unit_test(test_unquoted_filename_keeps_spaces),
		cmocka_unit_test(test_transfer_encoding_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
