/*
 * test_conditions.c - part and message conditions of rules
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"
#include "ruleset.h"

static const char rules_text[] =
	"rule DBL\n scope part\n double-extension\n ext exe, scr\nend\n"
	"rule EXT\n scope part\n ext exe\nend\n"
	"rule PE\n scope part\n type pe\nend\n"
	"rule GLOB\n scope part\n filename invoice*.zip\nend\n"
	"rule BIG\n scope part\n size-min 1K\n size-max 2K\nend\n"
	"rule BULK\n scope message\n rcpt-count-min 3\n"
	" message-size-max 1M\nend\n"
	"rule FROMDOM\n scope message\n sender @bad.example, x@y.example\nend\n"
	"rule TODOM\n scope message\n recipient @vip.example\nend\n";

static struct ruleset *rs;

/* setup - compile the condition rules */
static int setup(void **state)
{
	struct rules_error err;

	(void) state;
	rs = rules_load_buffer("c.rules", rules_text, strlen(rules_text), &err);
	if (rs == NULL)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	return 0;
}

/* teardown - free the rules */
static int teardown(void **state)
{
	(void) state;
	rules_free(rs);
	return 0;
}

/* holds - whether rule id's part conditions hold for a named part */
static int holds(const char *id, const char *filename, enum filetype t,
		 uint64_t size)
{
	struct mime_part p;

	memset(&p, 0, sizeof(p));
	snprintf(p.filename, sizeof(p.filename), "%s", filename);
	p.detected_type = t;
	p.decoded_size = size;
	return ruleset_part_holds(&ruleset_find(rs, id)->cond, &p);
}

/* test_double_extension_needs_inner_and_listed_last - a.pdf.exe */
static void test_double_extension_needs_inner_and_listed_last(void **state)
{
	(void) state;
	assert_true(holds("DBL", "invoice.pdf.exe", FT_PE, 10));
	assert_true(holds("DBL", "INVOICE.PDF.EXE", FT_PE, 10));
	assert_true(holds("DBL", "photo.jpg      .scr", FT_PE, 10));
	assert_true(holds("DBL", "invoice.pdf.exe. . ", FT_PE, 10));
	assert_false(holds("DBL", "setup.exe", FT_PE, 10));
	assert_false(holds("DBL", "invoice.exe.pdf", FT_PDF, 10));
	assert_false(holds("DBL", ".pdf.exe", FT_PE, 10));
	assert_false(holds("DBL", "", FT_PE, 10));
}

/* test_extension_is_the_last_one_without_case - setup.EXE */
static void test_extension_is_the_last_one_without_case(void **state)
{
	(void) state;
	assert_true(holds("EXT", "setup.EXE", FT_UNKNOWN, 1));
	assert_true(holds("EXT", "a.pdf.exe", FT_UNKNOWN, 1));
	assert_false(holds("EXT", "exe", FT_UNKNOWN, 1));
	assert_false(holds("EXT", "setup.exe.txt", FT_UNKNOWN, 1));
	assert_false(holds("EXT", "setup.exec", FT_UNKNOWN, 1));
}

/* test_true_type_wins_over_name - a renamed executable is caught */
static void test_true_type_wins_over_name(void **state)
{
	(void) state;
	assert_true(holds("PE", "holiday.jpg", FT_PE, 100));
	assert_true(holds("PE", "", FT_PE, 100));
	assert_false(holds("PE", "setup.exe", FT_ZIP, 100));
	assert_false(holds("PE", "setup.exe", FT_TEXT, 100));
}

/* test_filename_glob_and_size_bounds - fnmatch, K suffix */
static void test_filename_glob_and_size_bounds(void **state)
{
	(void) state;
	assert_true(holds("GLOB", "Invoice_2024.ZIP", FT_ZIP, 1));
	assert_false(holds("GLOB", "receipt.zip", FT_ZIP, 1));
	assert_false(holds("BIG", "x", FT_TEXT, 1023));
	assert_true(holds("BIG", "x", FT_TEXT, 1024));
	assert_true(holds("BIG", "x", FT_TEXT, 2048));
	assert_false(holds("BIG", "x", FT_TEXT, 2049));
}

/* test_message_conditions_count_recipients_and_match_senders - envelope */
static void test_message_conditions_count_recipients_and_match_senders(
	void **state)
{
	static const char *three[] = {"a@x.example", "b@VIP.example",
				      "c@x.example"};
	struct envelope env = {"", "", "", "someone@Bad.Example", three, 3};

	(void) state;
	assert_true(ruleset_msg_holds(&ruleset_find(rs, "BULK")->cond, &env,
				      1000));
	assert_false(ruleset_msg_holds(&ruleset_find(rs, "BULK")->cond, &env,
				       2 * 1024 * 1024));
	env.nrcpt = 2;
	assert_false(ruleset_msg_holds(&ruleset_find(rs, "BULK")->cond, &env,
				       1000));
	assert_true(ruleset_msg_holds(&ruleset_find(rs, "FROMDOM")->cond, &env,
				      0));
	assert_true(ruleset_msg_holds(&ruleset_find(rs, "TODOM")->cond, &env,
				      0));
	env.mail_from = "x@y.example";
	assert_true(ruleset_msg_holds(&ruleset_find(rs, "FROMDOM")->cond, &env,
				      0));
	env.mail_from = "";
	env.nrcpt = 1;
	assert_false(ruleset_msg_holds(&ruleset_find(rs, "FROMDOM")->cond,
				       &env, 0));
	assert_false(ruleset_msg_holds(&ruleset_find(rs, "TODOM")->cond, &env,
				       0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_double_extension_needs_inner_and_listed_last),
		cmocka_unit_test(test_extension_is_the_last_one_without_case),
		cmocka_unit_test(test_true_type_wins_over_name),
		cmocka_unit_test(test_filename_glob_and_size_bounds),
		cmocka_unit_test(test_message_conditions_count_recipients_and_match_senders),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
