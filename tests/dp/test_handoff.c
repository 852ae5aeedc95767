/*
 * test_handoff.c - control/handoff.c: what the downstream sees again
 *
 *	The MAIL and RCPT parameters that both transports (mxgate-filter and
 *	mxgate-dp) hand to delivery, and the queue id. cmocka; no network.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "handoff.h"

/* txn_with - a transaction with n recipients, no parameters */
static void txn_with(struct smtp_txn *t, struct smtp_rcpt *r, const char **addrs,
		     size_t n)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->envid = "";
	for (i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].addr = addrs[i];
		r[i].orcpt = "";
	}
	t->env.rcpt = addrs;
	t->env.nrcpt = n;
	t->rcpts = r;
}

/* test_no_parameters_render_as_empty_strings - plain SMTP stays plain */
static void test_no_parameters_render_as_empty_strings(void **state)
{
	const char *addrs[] = { "a@example.net", "b@example.net" };
	struct smtp_rcpt r[2];
	struct smtp_txn t;
	char mail[HANDOFF_MAIL_PARAMS_MAX], buf[HANDOFF_RCPT_PARAMS_MAX];
	const char *rp[2];

	(void)state;
	txn_with(&t, r, addrs, 2);
	handoff_params(&t, mail, sizeof(mail), buf, sizeof(buf), rp);
	assert_string_equal(mail, "");
	assert_string_equal(rp[0], "");
	assert_string_equal(rp[1], "");
}

/* test_mail_and_dsn_parameters_are_carried_through - RFC 1652/6531/3461 */
static void test_mail_and_dsn_parameters_are_carried_through(void **state)
{
	const char *addrs[] = { "a@example.net", "b@example.net", "c@example.net" };
	struct smtp_rcpt r[3];
	struct smtp_txn t;
	char mail[HANDOFF_MAIL_PARAMS_MAX], buf[HANDOFF_RCPT_PARAMS_MAX];
	const char *rp[3];

	(void)state;
	txn_with(&t, r, addrs, 3);
	t.body = SMTP_BODY_8BITMIME;
	t.smtputf8 = true;
	t.ret = SMTP_RET_HDRS;
	t.envid = "QQ314159";
	r[0].notify = SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY;
	r[0].orcpt = "rfc822;a@example.net";
	r[1].notify = SMTP_NOTIFY_NEVER;
	r[2].notify = SMTP_NOTIFY_FAILURE;
	handoff_params(&t, mail, sizeof(mail), buf, sizeof(buf), rp);
	assert_string_equal(mail, " BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159");
	assert_string_equal(rp[0], " NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a@example.net");
	assert_string_equal(rp[1], " NOTIFY=NEVER");
	assert_string_equal(rp[2], " NOTIFY=FAILURE");
}

/* test_recipient_that_does_not_fit_gets_no_parameters - never truncated */
static void test_recipient_that_does_not_fit_gets_no_parameters(void **state)
{
	const char *addrs[] = { "a@example.net", "b@example.net" };
	struct smtp_rcpt r[2];
	struct smtp_txn t;
	char mail[HANDOFF_MAIL_PARAMS_MAX], buf[40];
	const char *rp[2];

	(void)state;
	txn_with(&t, r, addrs, 2);
	r[0].notify = SMTP_NOTIFY_FAILURE;
	r[1].orcpt = "rfc822;a-very-long-original-recipient@example.net";
	handoff_params(&t, mail, sizeof(mail), buf, sizeof(buf), rp);
	assert_string_equal(rp[0], " NOTIFY=FAILURE");
	assert_string_equal(rp[1], "");
}

/* test_queue_ids_differ_by_worker_and_sequence - unique, alphanumeric */
static void test_queue_ids_differ_by_worker_and_sequence(void **state)
{
	char a[24], b[24], c[24];
	size_t i;

	(void)state;
	handoff_qid(0x80, 1, a, sizeof(a));
	handoff_qid(0x81, 1, b, sizeof(b));
	handoff_qid(0x80, 2, c, sizeof(c));
	assert_int_equal(strlen(a), 18);
	for (i = 0; a[i]; i++)
		assert_true((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'A' && a[i] <= 'F'));
	assert_memory_equal(a + 13, "80001", 5);
	assert_memory_equal(b + 13, "81001", 5);
	assert_memory_equal(c + 13, "80002", 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_parameters_render_as_empty_strings),
		cmocka_unit_test(test_mail_and_dsn_parameters_are_carried_through),
		cmocka_unit_test(test_recipient_that_does_not_fit_gets_no_parameters),
		cmocka_unit_test(test_queue_ids_differ_by_worker_and_sequence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
