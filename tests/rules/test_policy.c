/*
 * test_policy.c - thresholds, direct actions, per-domain policies
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"
#include "rules.h"

static const char rules_text[] =
	"policy strict\n domains strict.example, .corp.example\n tag 2\n"
	" quarantine 4\n reject 6\n subject-prefix \"[STRICT]\"\nend\n"
	"policy lax\n domains lax.example\n tag off\n quarantine off\n"
	" reject off\nend\n"
	"rule DUMMY\n scope body\n literal x\nend\n";

static struct ruleset *rs;

/* setup - a rule set with a default and two domain policies */
static int setup(void **state)
{
	struct rules_error err;

	(void) state;
	rs = rules_load_buffer("p.rules", rules_text, strlen(rules_text), &err);
	if (rs == NULL)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	return 0;
}

/* teardown - free the rule set */
static int teardown(void **state)
{
	(void) state;
	rules_free(rs);
	return 0;
}

/* decide - verdict for rules of the given scores/actions and recipients */
static void decide(struct verdict *v, const int *scores,
		   const enum action *acts, const char **descs, size_t n,
		   const char *const *rcpt, size_t nrcpt)
{
	static struct verdict_match m[8];
	struct envelope env = {"198.18.0.2", "", "client", "a@b.example",
			       rcpt, nrcpt};

	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		snprintf(m[i].rule_id, sizeof(m[i].rule_id), "R%zu", i);
		m[i].score = scores[i];
		m[i].action = acts ? acts[i] : ACT_PASS;
		m[i].description = descs ? descs[i] : NULL;
	}
	v->matches = m;
	v->nmatches = n;
	policy_decide(rs, &env, v);
}

/* test_default_thresholds_tag_quarantine_reject - 5, 10, 15 */
static void test_default_thresholds_tag_quarantine_reject(void **state)
{
	static const char *to[] = {"u@other.example"};
	struct verdict v;
	int     s;

	(void) state;
	s = 4; decide(&v, &s, NULL, NULL, 1, to, 1);
	assert_int_equal(v.action, ACT_PASS);
	assert_string_equal(v.reply, "");
	s = 5; decide(&v, &s, NULL, NULL, 1, to, 1);
	assert_int_equal(v.action, ACT_TAG);
	assert_string_equal(v.tag_subject, "[SPAM]");
	s = 10; decide(&v, &s, NULL, NULL, 1, to, 1);
	assert_int_equal(v.action, ACT_QUARANTINE);
	s = 15; decide(&v, &s, NULL, NULL, 1, to, 1);
	assert_int_equal(v.action, ACT_REJECT);
	assert_string_equal(v.reply, "550 5.7.1 " POLICY_REJECT_TEXT);
	assert_string_equal(v.policy, "default");
}

/* test_scores_add_up - two rules below tag reach it together */
static void test_scores_add_up(void **state)
{
	static const char *to[] = {"u@other.example"};
	int     s[2] = {3, 3};
	struct verdict v;

	(void) state;
	decide(&v, s, NULL, NULL, 2, to, 1);
	assert_int_equal(v.score, 6);
	assert_int_equal(v.action, ACT_TAG);
	assert_non_null(strstr(v.reason, "R0(3) R1(3)"));
}

/* test_most_severe_direct_action_wins - reject beats quarantine */
static void test_most_severe_direct_action_wins(void **state)
{
	static const char *to[] = {"u@other.example"};
	int     s[3] = {0, 0, 0};
	enum action a[3] = {ACT_QUARANTINE, ACT_REJECT, ACT_TAG};
	const char *d[3] = {"held", "Virus found: X\r\nDATA", "tagged"};
	struct verdict v;

	(void) state;
	decide(&v, s, a, d, 3, to, 1);
	assert_int_equal(v.action, ACT_REJECT);
	/* the reply names the rejecting rule, with CR LF neutralised */
	assert_string_equal(v.reply, "550 5.7.1 Virus found: X??DATA");
}

/* test_tempfail_reply_is_451 - tempfail has its own code */
static void test_tempfail_reply_is_451(void **state)
{
	static const char *to[] = {"u@other.example"};
	int     s = 0;
	enum action a = ACT_TEMPFAIL;
	struct verdict v;

	(void) state;
	decide(&v, &s, &a, NULL, 1, to, 1);
	assert_int_equal(v.action, ACT_TEMPFAIL);
	assert_string_equal(v.reply, "451 4.7.1 " POLICY_TEMPFAIL_TEXT);
}

/* test_recipient_domain_selects_policy - incl. .domain for subdomains */
static void test_recipient_domain_selects_policy(void **state)
{
	static const char *strict[] = {"u@STRICT.example"};
	static const char *sub[] = {"u@mx.corp.example"};
	static const char *lax[] = {"u@lax.example"};
	int     s = 6;
	struct verdict v;

	(void) state;
	decide(&v, &s, NULL, NULL, 1, strict, 1);
	assert_int_equal(v.action, ACT_REJECT);
	assert_string_equal(v.policy, "strict");
	decide(&v, &s, NULL, NULL, 1, sub, 1);
	assert_string_equal(v.policy, "strict");
	s = 1000;
	decide(&v, &s, NULL, NULL, 1, lax, 1);
	assert_int_equal(v.action, ACT_PASS);
	assert_string_equal(v.policy, "lax");
	s = 3;
	decide(&v, &s, NULL, NULL, 1, strict, 1);
	assert_int_equal(v.action, ACT_TAG);
	assert_string_equal(v.tag_subject, "[STRICT]");
}

/* test_mixed_recipients_most_severe_policy_wins - and is named */
static void test_mixed_recipients_most_severe_policy_wins(void **state)
{
	static const char *mixed[] = {"a@lax.example", "b@other.example",
				      "c@strict.example"};
	int     s = 7;
	struct verdict v;

	(void) state;
	decide(&v, &s, NULL, NULL, 1, mixed, 3);
	assert_int_equal(v.action, ACT_REJECT);
	assert_string_equal(v.policy, "strict");
	s = 11;			/* default quarantines, strict rejects */
	decide(&v, &s, NULL, NULL, 1, mixed, 2);
	assert_int_equal(v.action, ACT_QUARANTINE);
	assert_string_equal(v.policy, "default");
}

/* test_direct_action_applies_under_lax_policy - thresholds off only */
static void test_direct_action_applies_under_lax_policy(void **state)
{
	static const char *lax[] = {"u@lax.example"};
	int     s = 0;
	enum action a = ACT_REJECT;
	struct verdict v;

	(void) state;
	decide(&v, &s, &a, NULL, 1, lax, 1);
	assert_int_equal(v.action, ACT_REJECT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_thresholds_tag_quarantine_reject),
		cmocka_unit_test(test_scores_add_up),
		cmocka_unit_test(test_most_severe_direct_action_wins),
		cmocka_unit_test(test_tempfail_reply_is_451),
		cmocka_unit_test(test_recipient_domain_selects_policy),
		cmocka_unit_test(test_mixed_recipients_most_severe_policy_wins),
		cmocka_unit_test(test_direct_action_applies_under_lax_policy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
