/*
 * test_url.c - URL extraction from text and HTML, split anywhere
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mime_int.h"

struct found {
	char text[8192];	/* URLs, one per line */
	size_t len;
	int cut;
};

/* collect - url_emit_fn appending to a struct found */
static void collect(void *ctx, const char *url, size_t len, int cut)
{
	struct found *f = ctx;

	memcpy(f->text + f->len, url, len);
	f->len += len;
	f->text[f->len++] = '\n';
	f->text[f->len] = 0;
	f->cut |= cut;
}

/* scan_split - scan text cut at cut */
static void scan_split(const char *s, int html, size_t cut, struct found *f)
{
	static struct url_scan u;	/* large: keep it off the stack */

	memset(f, 0, sizeof(*f));
	url_scan_init(&u, html);
	url_scan_run(&u, (const uint8_t *) s, cut, collect, f);
	url_scan_run(&u, (const uint8_t *) s + cut, strlen(s) - cut,
		     collect, f);
	url_scan_finish(&u, collect, f);
}

/* expect_urls - every split point finds exactly want */
static void expect_urls(const char *s, int html, const char *want)
{
	struct found f;

	for (size_t cut = 0; cut <= strlen(s); cut++) {
		scan_split(s, html, cut, &f);
		assert_string_equal(f.text, want);
	}
}

static void test_schemes_and_www_are_found_once_at_every_split(void **state)
{
	expect_urls("see http://a.example/x, HTTPS://B.example/y?q=1. "
		    "ftp://f.example/file and www.w.example/p!",
		    0, "http://a.example/x\nHTTPS://B.example/y?q=1\n"
		    "ftp://f.example/file\nwww.w.example/p\n");
}

static void test_prefix_inside_a_word_is_found(void **state)
{
	expect_urls("wwww.x.example hhttp://y.example", 0,
		    "http://y.example\n");
}

static void test_bare_scheme_is_not_a_url(void **state)
{
	expect_urls("http:// and www. alone", 0, "");
}

static void test_html_attribute_with_entities_is_decoded(void **state)
{
	expect_urls("<a href=\"http&#58;//h.example/?a=1&amp;b=2\">x</a>"
		    "<img src='https://i.example/p.gif'>", 1,
		    "http://h.example/?a=1&b=2\nhttps://i.example/p.gif\n");
}

static void test_entity_encoded_scheme_is_found_at_every_split(void **state)
{
	expect_urls("x &amp; h&#116;tp&#x3A;//e.example/&lt; and "
		    "&#119;ww.w.example. Note: no url.", 1,
		    "http://e.example/\nwww.w.example\n");
}

static void test_anchor_near_slice_start_uses_the_look_back(void **state)
{
	/* the split puts "http" and "://" in different slices */
	expect_urls("aaaaaaaaaaaaaaaaaaaaaaaa https://s.example/p", 0,
		    "https://s.example/p\n");
	expect_urls("zzzzzzzzzzzzzzzzzzzzzzzz www.s.example", 0,
		    "www.s.example\n");
}

static void test_url_at_end_of_part_is_reported(void **state)
{
	expect_urls("go to https://end.example/path", 0,
		    "https://end.example/path\n");
}

static void test_overlong_url_is_cut_and_flagged(void **state)
{
	static char s[MIME_URL_MAX + 64];
	struct found f;

	memcpy(s, "http://", 7);
	memset(s + 7, 'a', MIME_URL_MAX + 20);
	s[MIME_URL_MAX + 27] = 0;
	scan_split(s, 0, 100, &f);
	assert_int_equal(f.len, MIME_URL_MAX + 1);
	assert_int_equal(f.cut, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schemes_and_www_are_found_once_at_every_split),
		cmocka_unit_test(test_prefix_inside_a_word_is_found),
		cmocka_unit_test(test_bare_scheme_is_not_a_url),
		cmocka_unit_test(test_html_attribute_with_entities_is_decoded),
		cmocka_unit_test(test_entity_encoded_scheme_is_found_at_every_split),
		cmocka_unit_test(test_anchor_near_slice_start_uses_the_look_back),
		cmocka_unit_test(test_url_at_end_of_part_is_reported),
		cmocka_unit_test(test_overlong_url_is_cut_and_flagged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
