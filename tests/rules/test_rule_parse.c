/*
 * test_rule_parse.c - the rule language: accepted whole or refused whole
 *
 *	Every refusal names the file, the line and the reason; a set with one
 *	bad rule yields no rule set at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"
#include "rule_parse.h"
#include "ruleset.h"

/* load - rules_load_buffer on a C string */
static struct ruleset *load(const char *text, struct rules_error *err)
{
	return rules_load_buffer("t.rules", text, strlen(text), err);
}

/* refused - the text is refused at line with reason containing what */
static void refused(const char *text, int line, const char *what)
{
	struct rules_error err;
	struct ruleset *rs = load(text, &err);

	if (rs != NULL)
		fail_msg("accepted, expected \"%s\" at line %d", what, line);
	assert_string_equal(err.file, "t.rules");
	if (err.line != line || strstr(err.msg, what) == NULL)
		fail_msg("got %s:%d: %s; expected line %d \"%s\"", err.file,
			 err.line, err.msg, line, what);
}

static const char good[] =
	"# comment\n"
	"policy default\n"
	"  tag 4\n"
	"end\n"
	"rule R1\n"
	"  scope body\n"
	"  literal \"free\\x20money\" nocase\n"
	"  score 3\n"
	"end\n"
	"\n"
	"rule R2\n"
	"  scope header\n"
	"  field subject\n"
	"  regex /win(ner)?/i\n"
	"  score 2\n"
	"  action tag\n"
	"  description \"Prize\"\n"
	"end\n"
	"rule R3\n"
	"  scope part\n"
	"  ext exe, scr\n"
	"  double-extension\n"
	"  size-max 10M\n"
	"  action reject\n"
	"end\n"
	"rule R4\n"
	"  scope message\n"
	"  rcpt-count-min 50\n"
	"  sender @example.com, boss@example.org\n"
	"  reroute review@example.net\n"
	"end\n"
	"policy strict\n"
	"  domains example.com .example.org\n"
	"  reject 8\n"
	"  subject-prefix \"***SPAM***\"\n"
	"end\n";

/* test_good_set_is_accepted_with_every_feature - happy path */
static void test_good_set_is_accepted_with_every_feature(void **state)
{
	struct rules_error err;
	struct ruleset *rs = load(good, &err);
	const struct rule *r;

	(void) state;
	if (rs == NULL)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	assert_int_equal(rules_count(rs), 4);
	assert_int_equal(strlen(rules_version(rs)), 16);
	r = ruleset_find(rs, "R2");
	assert_non_null(r);
	assert_int_equal(r->scope, SCOPE_HEADER);
	assert_string_equal(r->cond.field, "subject");
	assert_int_equal(r->line, 11);
	assert_true(r->hs_flags & HS_FLAG_CASELESS);
	r = ruleset_find(rs, "R3");
	assert_int_equal(r->cond.size_max, 10 * 1024 * 1024);
	assert_true(r->cond.double_ext);
	assert_int_equal(r->cond.exts.n, 2);
	assert_int_equal(r->action, ACT_REJECT);
	assert_int_equal(rs->npolicies, 2);
	assert_int_equal(rs->policies[0].tag, 4);
	assert_int_equal(rs->policies[0].reject, POLICY_REJECT_DEFAULT);
	assert_int_equal(rs->policies[1].reject, 8);
	assert_non_null(ruleset_database(rs, SCOPE_BODY));
	assert_non_null(ruleset_database(rs, SCOPE_HEADER));
	assert_null(ruleset_database(rs, SCOPE_URL));
	assert_true(ruleset_stream_size(rs) > 0);
	rules_free(rs);
}

/* test_version_is_stable_and_follows_the_text - same text, same digest */
static void test_version_is_stable_and_follows_the_text(void **state)
{
	struct rules_error err;
	struct ruleset *a = load(good, &err), *b = load(good, &err);
	struct ruleset *c = load("rule X\n scope body\n literal x\nend\n", &err);

	(void) state;
	assert_string_equal(rules_version(a), rules_version(b));
	assert_string_not_equal(rules_version(a), rules_version(c));
	rules_free(a);
	rules_free(b);
	rules_free(c);
}

/* test_each_error_names_file_line_and_reason - the refusal table */
static void test_each_error_names_file_line_and_reason(void **state)
{
	(void) state;
	refused("rule A\n scope body\n literal a\nend\nrule A\n scope body\n"
		" literal b\nend\n", 5, "duplicate rule id A");
	refused("rule A\n scope body\n colour red\n literal a\nend\n", 3,
		"unknown key colour");
	refused("rule A\n scope body\n literal a\n score 3x\nend\n", 4,
		"bad number");
	refused("rule A\n scope part\n type exe-ish\nend\n", 3,
		"unknown file type");
	refused("rule A\n scope body\n score 3\nend\n", 4, "missing pattern");
	refused("rule A\n literal a\nend\n", 3, "missing scope");
	refused("rule A\n scope nowhere\nend\n", 2, "unknown scope");
	refused("rule A\n scope body\n literal a\n action smite\nend\n", 4,
		"unknown action");
	refused("rule A\n scope body\n literal a\n", 1, "not closed by end");
	refused("end\n", 1, "expected \"rule ID\"");
	refused("rule A\n scope body\n score 1\n score 2\nend\n", 4,
		"duplicate key score");
	refused("rule A\n scope body\n literal \"abc\nend\n", 3,
		"unterminated string");
	refused("rule A B\n", 1, "bad rule id");
	refused("rule A\n scope message\nend\n", 3, "needs a condition");
	refused("rule A\n scope part\n literal x\n ext exe\nend\n", 5,
		"takes no pattern");
	refused("rule A\n scope body\n field subject\n literal x\nend\n", 5,
		"field applies to header");
	refused("rule A\n scope raw\n literal x\n ext exe\nend\n", 5,
		"part conditions do not apply");
	refused("rule A\n scope body\n regex /a/q\nend\n", 3,
		"unknown regex flag");
	refused("rule A\n scope message\n size-max 10Q\nend\n", 3,
		"bad number");
	refused("rule A\n scope message\n sender nobody\nend\n", 3,
		"bad address");
	refused("policy p\n reject 3\nend\n", 3, "missing domains");
	refused("policy p\n domains a.com\nend\npolicy q\n domains a.com\nend\n",
		5, "already in policy p");
	refused("policy default\nend\npolicy default\nend\n", 3,
		"duplicate policy");
	refused("rule A\n scope body\n literal x\n size-min 5\n size-max 4\nend\n",
		6, "minimum exceeds");
	refused("rule A\n scope body\n literal x\nrule B\n", 4,
		"inside a block");
	refused("rule A\n scope attachment\n regex /x/u\nend\n", 4,
		"not allowed in attachment scope");
}

/* test_hyperscan_error_maps_to_the_rule_line - compile error index */
static void test_hyperscan_error_maps_to_the_rule_line(void **state)
{
	(void) state;
	refused("rule OK1\n scope body\n regex /fine/\nend\n"
		"rule BAD\n scope body\n regex /(unclosed/\nend\n"
		"rule OK2\n scope body\n regex /also fine/\nend\n",
		5, "rule BAD: hyperscan:");
	/* lookahead is PCRE, not Hyperscan */
	refused("rule LA\n scope url\n regex /a(?=b)/\nend\n", 1,
		"hyperscan");
}

/* test_one_bad_rule_refuses_the_whole_set - nothing half-loaded */
static void test_one_bad_rule_refuses_the_whole_set(void **state)
{
	struct rules_error err;
	char    text[4096];

	(void) state;
	snprintf(text, sizeof(text), "%s%s", good,
		 "rule LAST\n scope body\n bogus 1\nend\n");
	assert_null(load(text, &err));
	assert_int_equal(err.line, 39);
	assert_non_null(strstr(err.msg, "unknown key bogus"));
}

/* test_binary_garbage_is_refused_not_crashed - NUL and long lines */
static void test_binary_garbage_is_refused_not_crashed(void **state)
{
	struct rules_error err;
	static char big[RULES_LINE_MAX + 10];

	(void) state;
	assert_null(rules_load_buffer("t.rules", "rule A\0\n", 8, &err));
	assert_non_null(strstr(err.msg, "NUL"));
	memset(big, 'a', sizeof(big));
	assert_null(rules_load_buffer("t.rules", big, sizeof(big), &err));
	assert_non_null(strstr(err.msg, "longer"));
}

/* test_missing_directory_is_refused_with_line_zero - not one line's */
static void test_missing_directory_is_refused_with_line_zero(void **state)
{
	struct rules_error err;

	(void) state;
	assert_null(rules_load_dir("/nonexistent/rules.d", &err));
	assert_int_equal(err.line, 0);
	assert_string_equal(err.file, "/nonexistent/rules.d");
}

/* test_shipped_default_rules_load - the default set compiles */
static void test_shipped_default_rules_load(void **state)
{
	struct rules_error err;
	struct ruleset *rs = rules_load_dir(RULES_DEFAULT_DIR, &err);

	(void) state;
	if (rs == NULL)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	assert_true(rules_count(rs) >= 40);
	rules_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_set_is_accepted_with_every_feature),
		cmocka_unit_test(test_version_is_stable_and_follows_the_text),
		cmocka_unit_test(test_each_error_names_file_line_and_reason),
		cmocka_unit_test(test_hyperscan_error_maps_to_the_rule_line),
		cmocka_unit_test(test_one_bad_rule_refuses_the_whole_set),
		cmocka_unit_test(test_binary_garbage_is_refused_not_crashed),
		cmocka_unit_test(test_missing_directory_is_refused_with_line_zero),
		cmocka_unit_test(test_shipped_default_rules_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
