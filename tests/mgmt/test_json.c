/*
 * test_json.c - unit tests for the management API's JSON reader and writer
 *
 *	Request bodies come from the network: the reader must take every
 *	valid object and refuse everything else, whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mgmt_json.h"

/* get - mgmt_json_get on a C string */
static int get(const char *json, const char *key, char *out, size_t len)
{
	return mgmt_json_get(json, strlen(json), key, out, len);
}

static void test_string_member_is_found_and_decoded(void **state)
{
	char v[64];

	(void)state;
	assert_int_equal(get("{\"dir\": \"/srv/rules\"}", "dir", v, sizeof(v)), 1);
	assert_string_equal(v, "/srv/rules");
	assert_int_equal(get(" {\"a\":1, \"dir\":\"x\\/y\\n\\u00e9\\ud83d\\ude00\"} ", "dir", v,
			     sizeof(v)), 1);
	assert_string_equal(v, "x/y\n\xc3\xa9\xf0\x9f\x98\x80");
}

static void test_absent_or_non_string_member_is_zero(void **state)
{
	char v[64];

	(void)state;
	assert_int_equal(get("{\"dir\": 5}", "dir", v, sizeof(v)), 0);
	assert_int_equal(get("{\"other\": \"x\"}", "dir", v, sizeof(v)), 0);
	assert_int_equal(get("{\"nested\": {\"dir\": \"x\"}}", "dir", v, sizeof(v)), 0);
	assert_int_equal(get("{}", "dir", v, sizeof(v)), 0);
}

static void test_malformed_json_is_refused_whole(void **state)
{
	static const char *const bad[] = {
		"", "{", "{\"dir\"}", "{\"dir\":}", "{\"dir\":\"x\",}", "{\"dir\":\"x\"} junk",
		"[\"dir\"]", "{\"dir\":\"x\" \"y\":1}", "{\"dir\":\"\\x\"}", "{\"dir\":\"\\u12\"}",
		"{\"dir\":\"\\ud800\"}", "{\"dir\":\"\\udc00\"}", "{\"dir\":\"\\u0000\"}",
		"{\"dir\":\"a\nb\"}", "{\"dir\":tru}", "{\"dir\":-}", "{'dir':'x'}",
	};
	char v[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(get(bad[i], "dir", v, sizeof(v)), -1);
}

static void test_nesting_deeper_than_the_limit_is_refused(void **state)
{
	char json[4 * MGMT_JSON_DEPTH + 64], v[8];
	size_t n = 0;

	(void)state;
	n += (size_t)sprintf(json, "{\"a\":");
	for (int i = 0; i < MGMT_JSON_DEPTH + 2; i++)
		json[n++] = '[';
	for (int i = 0; i < MGMT_JSON_DEPTH + 2; i++)
		json[n++] = ']';
	strcpy(json + n, "}");
	assert_int_equal(get(json, "a", v, sizeof(v)), -1);
}

static void test_value_too_long_for_the_buffer_is_refused(void **state)
{
	char v[4];

	(void)state;
	assert_int_equal(get("{\"dir\":\"abcdef\"}", "dir", v, sizeof(v)), -1);
}

static void test_string_list_and_raw_values(void **state)
{
	static const char j[] = "{\"rcpt\":[\"a@b\",\"c@d\"],\"n\":42,\"o\":{\"x\":[1,2]}}";
	const char *items[4];
	char buf[64], v[64];
	size_t n;

	(void)state;
	assert_int_equal(mgmt_json_get_list(j, strlen(j), "rcpt", buf, sizeof(buf), items, 4,
					    &n), 1);
	assert_int_equal(n, 2);
	assert_string_equal(items[1], "c@d");
	assert_int_equal(mgmt_json_get_list(j, strlen(j), "rcpt", buf, sizeof(buf), items, 1,
					    &n), -1);
	assert_int_equal(mgmt_json_value(j, strlen(j), "n", v, sizeof(v)), 1);
	assert_string_equal(v, "42");
	assert_int_equal(mgmt_json_value(j, strlen(j), "o", v, sizeof(v)), 1);
	assert_string_equal(v, "{\"x\":[1,2]}");
}

/* counter - mgmt_json_each callback */
static int counter(void *ctx, const char *item, size_t n)
{
	(void)item;
	(void)n;
	++*(int *)ctx;
	return 0;
}

static void test_each_visits_every_array_element(void **state)
{
	static const char arr[] = "[{\"a\":1}, 2, \"x\", []]";
	int n = 0;

	(void)state;
	assert_int_equal(mgmt_json_each(arr, strlen(arr), counter, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(mgmt_json_each("{}", 2, counter, &n), -1);
}

static void test_writer_escapes_and_replaces_bad_utf8(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	(void)state;
	mgmt_json_str(fp, "a\"b\\c\n\x01\xc3\xa9\xff");
	fclose(fp);
	assert_string_equal(buf, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\\ufffd\"");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_string_member_is_found_and_decoded),
		cmocka_unit_test(test_absent_or_non_string_member_is_zero),
		cmocka_unit_test(test_malformed_json_is_refused_whole),
		cmocka_unit_test(test_nesting_deeper_than_the_limit_is_refused),
		cmocka_unit_test(test_value_too_long_for_the_buffer_is_refused),
		cmocka_unit_test(test_string_list_and_raw_values),
		cmocka_unit_test(test_each_visits_every_array_element),
		cmocka_unit_test(test_writer_escapes_and_replaces_bad_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
