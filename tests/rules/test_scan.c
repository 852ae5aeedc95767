/*
 * test_scan.c - Hyperscan scanning: chunk boundaries, fields, stream reuse
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"
#include "ruleset.h"
#include "scan.h"

#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

static const char rules_text[] =
	"rule FREE_MONEY\n scope body\n literal \"free money\" nocase\nend\n"
	"rule EICAR\n scope attachment\n literal " EICAR "\nend\n"
	"rule SUBJ_WIN\n scope header\n field subject\n regex /winner/i\nend\n"
	"rule ANY_WIN\n scope header\n regex /winner/i\nend\n"
	"rule ENDS\n scope body\n regex /the end$/\nend\n"
	"rule RAW_ABC\n scope raw\n literal abc\nend\n";

struct hits {
	unsigned n;
	unsigned count[16];
};

/* on_hit - count hits per rule */
static void on_hit(void *ctx, unsigned rule)
{
	struct hits *h = ctx;

	h->n++;
	if (rule < 16)
		h->count[rule]++;
}

struct fixture {
	struct ruleset *rs;
	struct scan_worker *sw;
	struct scan_streams ss;	/* one message's streams */
};

/* setup - compile the rules, make a scan worker */
static int setup(void **state)
{
	static struct fixture f;
	struct rules_error err;

	f.rs = rules_load_buffer("scan.rules", rules_text, strlen(rules_text),
				 &err);
	if (f.rs == NULL)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	f.sw = scan_worker_new(f.rs);
	assert_non_null(f.sw);
	assert_int_equal(scan_streams_open(f.sw, &f.ss), 0);
	*state = &f;
	return 0;
}

/* teardown - release worker and rules */
static int teardown(void **state)
{
	struct fixture *f = *state;

	scan_streams_close(&f->ss);
	scan_worker_free(f->sw);
	rules_free(f->rs);
	return 0;
}

/* rule_no - index of a rule by id */
static unsigned rule_no(struct fixture *f, const char *id)
{
	const struct rule *r = ruleset_find(f->rs, id);

	assert_non_null(r);
	return (unsigned) (r - f->rs->rules);
}

/* stream_in_chunks - scan text in chunks of size n, then end the stream */
static void stream_in_chunks(struct fixture *f, enum scope s,
			     const char *text, size_t len, size_t n,
			     struct hits *h)
{
	for (size_t off = 0; off < len; off += n)
		assert_int_equal(scan_stream(f->sw, &f->ss, s, text + off,
					     len - off < n ? len - off : n,
					     on_hit, h), 0);
	assert_int_equal(scan_stream_end(f->sw, &f->ss, s, on_hit, h), 0);
}

/* test_body_pattern_spanning_chunk_boundary_is_found - streaming */
static void test_body_pattern_spanning_chunk_boundary_is_found(void **state)
{
	struct fixture *f = *state;
	static const char text[] = "Get your FREE MONEY today";
	struct hits h;

	for (size_t n = 1; n <= sizeof(text); n++) {
		memset(&h, 0, sizeof(h));
		stream_in_chunks(f, SCOPE_BODY, text, sizeof(text) - 1, n, &h);
		assert_int_equal(h.count[rule_no(f, "FREE_MONEY")], 1);
	}
}

/* test_eicar_in_one_byte_chunks_is_found - the worst chunking */
static void test_eicar_in_one_byte_chunks_is_found(void **state)
{
	struct fixture *f = *state;
	static const char data[] = "\x00\x01junk" EICAR "\r\n";
	struct hits h = {0};

	stream_in_chunks(f, SCOPE_ATTACHMENT, data, sizeof(data) - 1, 1, &h);
	assert_int_equal(h.count[rule_no(f, "EICAR")], 1);
}

/* test_rule_counts_once_per_stream - HS_FLAG_SINGLEMATCH */
static void test_rule_counts_once_per_stream(void **state)
{
	struct fixture *f = *state;
	static const char text[] = "free money, free money, FREE MONEY";
	struct hits h = {0};

	stream_in_chunks(f, SCOPE_BODY, text, sizeof(text) - 1, 5, &h);
	assert_int_equal(h.count[rule_no(f, "FREE_MONEY")], 1);
}

/* test_reset_stream_does_not_join_parts - no match across parts */
static void test_reset_stream_does_not_join_parts(void **state)
{
	struct fixture *f = *state;
	struct hits h = {0};

	stream_in_chunks(f, SCOPE_BODY, "free mo", 7, 7, &h);
	stream_in_chunks(f, SCOPE_BODY, "ney", 3, 3, &h);
	assert_int_equal(h.n, 0);
}

/* test_end_anchored_match_is_reported_at_end_of_part - EOD matches */
static void test_end_anchored_match_is_reported_at_end_of_part(void **state)
{
	struct fixture *f = *state;
	struct hits h = {0};

	assert_int_equal(scan_stream(f->sw, &f->ss, SCOPE_BODY, "this is the end", 15,
				     on_hit, &h), 0);
	assert_int_equal(h.count[rule_no(f, "ENDS")], 0);
	assert_int_equal(scan_stream_end(f->sw, &f->ss, SCOPE_BODY, on_hit, &h), 0);
	assert_int_equal(h.count[rule_no(f, "ENDS")], 1);
}

/* test_header_rule_restricted_to_field_ignores_others - field filter */
static void test_header_rule_restricted_to_field_ignores_others(void **state)
{
	struct fixture *f = *state;
	struct hits h = {0};

	assert_int_equal(scan_block(f->sw, SCOPE_HEADER, "From", 4,
				    "The Winner <w@x>", 16, on_hit, &h), 0);
	assert_int_equal(h.count[rule_no(f, "SUBJ_WIN")], 0);
	assert_int_equal(h.count[rule_no(f, "ANY_WIN")], 1);
	assert_int_equal(scan_block(f->sw, SCOPE_HEADER, "SUBJECT", 7,
				    "you are a WINNER", 16, on_hit, &h), 0);
	assert_int_equal(h.count[rule_no(f, "SUBJ_WIN")], 1);
	/* a longer name sharing the prefix is another field */
	assert_int_equal(scan_block(f->sw, SCOPE_HEADER, "Subjects", 8,
				    "winner", 6, on_hit, &h), 0);
	assert_int_equal(h.count[rule_no(f, "SUBJ_WIN")], 1);
}

/* test_scope_without_database_scans_nothing - url has no rules here */
static void test_scope_without_database_scans_nothing(void **state)
{
	struct fixture *f = *state;
	struct hits h = {0};

	assert_int_equal(scan_block(f->sw, SCOPE_URL, NULL, 0, "abc", 3,
				    on_hit, &h), 0);
	assert_int_equal(h.n, 0);
}

/* test_abort_forgets_a_half_scanned_stream - no leak into next message */
static void test_abort_forgets_a_half_scanned_stream(void **state)
{
	struct fixture *f = *state;
	struct hits h = {0};

	assert_int_equal(scan_stream(f->sw, &f->ss, SCOPE_RAW, "ab", 2, on_hit, &h), 0);
	scan_stream_abort(f->sw, &f->ss);
	stream_in_chunks(f, SCOPE_RAW, "c", 1, 1, &h);
	assert_int_equal(h.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_pattern_spanning_chunk_boundary_is_found),
		cmocka_unit_test(test_eicar_in_one_byte_chunks_is_found),
		cmocka_unit_test(test_rule_counts_once_per_stream),
		cmocka_unit_test(test_reset_stream_does_not_join_parts),
		cmocka_unit_test(test_end_anchored_match_is_reported_at_end_of_part),
		cmocka_unit_test(test_header_rule_restricted_to_field_ignores_others),
		cmocka_unit_test(test_scope_without_database_scans_nothing),
		cmocka_unit_test(test_abort_forgets_a_half_scanned_stream),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
