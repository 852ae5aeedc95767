/*
 * test_http.c - unit tests for the management port's HTTP parser
 *
 *	Each test feeds bytes to http_parse() (whole, and one byte at a time
 *	where the split matters) and checks the outcome the server acts on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

static struct http_request req;

/* parse_all - the whole string at once; returns bytes consumed */
static size_t parse_all(const char *s)
{
	http_request_init(&req);
	return http_parse(&req, s, strlen(s));
}

/* parse_bytewise - one byte per call; returns bytes consumed */
static size_t parse_bytewise(const char *s)
{
	size_t used = 0, n = strlen(s);

	http_request_init(&req);
	while (used < n && req.state != HTTP_DONE && req.state != HTTP_ERROR)
		used += http_parse(&req, s + used, 1);
	return used;
}

static void test_get_with_headers_is_parsed(void **state)
{
	static const char s[] = "GET /api/v1/status HTTP/1.1\r\nHost: gw\r\n"
				"Authorization:   Bearer tok  \r\n\r\n";

	(void)state;
	assert_int_equal(parse_all(s), strlen(s));
	assert_int_equal(req.state, HTTP_DONE);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.target, "/api/v1/status");
	assert_string_equal(http_header(&req, "authorization"), "Bearer tok");
	assert_int_equal(req.keep_alive, 1);
}

static void test_split_anywhere_gives_the_same_request(void **state)
{
	static const char s[] = "POST /api/v1/rules/publish HTTP/1.1\r\nHost: gw\r\n"
				"Content-Length: 11\r\n\r\n{\"dir\":\"x\"}";

	(void)state;
	assert_int_equal(parse_bytewise(s), strlen(s));
	assert_int_equal(req.state, HTTP_DONE);
	assert_int_equal(req.body_len, 11);
	assert_string_equal(req.body, "{\"dir\":\"x\"}");
}

static void test_pipelined_request_is_left_for_the_next_parse(void **state)
{
	static const char s[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t used;

	(void)state;
	used = parse_all(s);
	assert_int_equal(req.state, HTTP_DONE);
	assert_string_equal(req.target, "/a");
	http_request_init(&req);
	assert_int_equal(http_parse(&req, s + used, strlen(s) - used), strlen(s) - used);
	assert_string_equal(req.target, "/b");
}

static void test_chunked_body_is_refused_with_411(void **state)
{
	(void)state;
	parse_all("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	assert_int_equal(req.state, HTTP_ERROR);
	assert_int_equal(req.status, 411);
	assert_non_null(strstr(req.error, "Content-Length"));
}

static void test_conflicting_content_length_is_400(void **state)
{
	(void)state;
	parse_all("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n");
	assert_int_equal(req.status, 400);
	parse_all("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n");
	assert_int_equal(req.status, 400);
}

static void test_body_over_the_limit_is_413(void **state)
{
	char s[128];

	(void)state;
	snprintf(s, sizeof(s), "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
		 HTTP_BODY_MAX + 1);
	parse_all(s);
	assert_int_equal(req.status, 413);
	parse_all("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n");
	assert_int_equal(req.status, 413);
}

static void test_overlong_request_line_is_414(void **state)
{
	static char s[HTTP_LINE_MAX + 64];

	(void)state;
	strcpy(s, "GET /");
	memset(s + 5, 'a', HTTP_LINE_MAX);
	strcpy(s + 5 + HTTP_LINE_MAX, " HTTP/1.1\r\n\r\n");
	parse_all(s);
	assert_int_equal(req.status, 414);
	parse_bytewise(s);
	assert_int_equal(req.status, 414);
}

static void test_too_many_header_fields_is_431(void **state)
{
	char s[HTTP_HEADERS_MAX * 16 + 64];
	size_t n = 0;

	(void)state;
	n += (size_t)sprintf(s, "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= HTTP_HEADERS_MAX; i++)
		n += (size_t)sprintf(s + n, "X-%d: v\r\n", i);
	sprintf(s + n, "\r\n");
	parse_all(s);
	assert_int_equal(req.status, 431);
}

static void test_obsolete_folding_and_bad_names_are_400(void **state)
{
	(void)state;
	parse_all("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n");
	assert_int_equal(req.status, 400);
	parse_all("GET / HTTP/1.1\r\nHo st: x\r\n\r\n");
	assert_int_equal(req.status, 400);
	parse_all("GET / HTTP/1.1\r\nHost x\r\n\r\n");
	assert_int_equal(req.status, 400);
}

static void test_bad_request_lines_are_refused(void **state)
{
	(void)state;
	parse_all("GET http://x/ HTTP/1.1\r\n\r\n");
	assert_int_equal(req.status, 400);
	parse_all("GET / HTTP/2.0\r\n\r\n");
	assert_int_equal(req.status, 505);
	parse_all("GET /\r\n\r\n");
	assert_int_equal(req.status, 400);
	parse_all("GET / HTTP/1.1\r\n\r\n");
	assert_int_equal(req.status, 400);	/* no Host */
	parse_all("GET /a\001b HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(req.status, 400);
}

static void test_http10_closes_unless_keep_alive(void **state)
{
	(void)state;
	parse_all("GET / HTTP/1.0\r\n\r\n");
	assert_int_equal(req.state, HTTP_DONE);
	assert_int_equal(req.keep_alive, 0);
	parse_all("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_int_equal(req.keep_alive, 0);
}

static void test_query_parameters_are_decoded(void **state)
{
	char v[64];

	(void)state;
	parse_all("GET /api/v1/messages?sender=a%40b.example&x=1+2&flag HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(http_query(&req, "sender", v, sizeof(v)), 1);
	assert_string_equal(v, "a@b.example");
	assert_int_equal(http_query(&req, "x", v, sizeof(v)), 1);
	assert_string_equal(v, "1 2");
	assert_int_equal(http_query(&req, "flag", v, sizeof(v)), 1);
	assert_string_equal(v, "");
	assert_int_equal(http_query(&req, "missing", v, sizeof(v)), 0);
	assert_int_equal(http_path(&req, v, sizeof(v)), 0);
	assert_string_equal(v, "/api/v1/messages");
	parse_all("GET /a?s=%4 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(http_query(&req, "s", v, sizeof(v)), -1);
	parse_all("GET /a%2fb HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(http_path(&req, v, sizeof(v)), -1);
}

static void test_reply_has_length_and_close(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(http_reply(fp, 404, "application/json", NULL, "{}", 2, 0), 0);
	fclose(fp);
	assert_non_null(strstr(buf, "HTTP/1.1 404 Not Found\r\n"));
	assert_non_null(strstr(buf, "Content-Length: 2\r\n"));
	assert_non_null(strstr(buf, "Connection: close\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\n{}"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_with_headers_is_parsed),
		cmocka_unit_test(test_split_anywhere_gives_the_same_request),
		cmocka_unit_test(test_pipelined_request_is_left_for_the_next_parse),
		cmocka_unit_test(test_chunked_body_is_refused_with_411),
		cmocka_unit_test(test_conflicting_content_length_is_400),
		cmocka_unit_test(test_body_over_the_limit_is_413),
		cmocka_unit_test(test_overlong_request_line_is_414),
		cmocka_unit_test(test_too_many_header_fields_is_431),
		cmocka_unit_test(test_obsolete_folding_and_bad_names_are_400),
		cmocka_unit_test(test_bad_request_lines_are_refused),
		cmocka_unit_test(test_http10_closes_unless_keep_alive),
		cmocka_unit_test(test_query_parameters_are_decoded),
		cmocka_unit_test(test_reply_has_length_and_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
