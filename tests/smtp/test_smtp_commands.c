/*
 * test_smtp_commands.c - SMTP session: commands, replies, pipelining,
 *	limits, hooks and timeouts, with a fake upper layer and a virtual
 *	clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "smtp_harness.h"

#define EHLO_REPLY \
	"250-mx.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n" \
	"250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n" \
	"250-DSN\r\n250 CHUNKING\r\n"

static int setup(void **state)
{
	*state = harness_new();
	return 0;
}

static int teardown(void **state)
{
	harness_free(*state);
	return 0;
}

/* opened - a session past EHLO, replies taken */
static struct harness *opened(void **state)
{
	return harness_opened(*state);
}

static void test_greeting_is_220_without_enhanced_code(void **state)
{
	struct harness *h = *state;

	harness_open(h);
	assert_string_equal(harness_take(h), "220 mx.test ESMTP mxgate\r\n");
	assert_int_equal(h->s.state, SMTP_S_INIT);
}

static void test_ehlo_lists_extensions(void **state)
{
	struct harness *h = *state;

	harness_open(h);
	harness_take(h);
	harness_say(h, "EHLO client.test\r\n");
	assert_string_equal(harness_take(h), EHLO_REPLY);
}

static void test_helo_gets_one_line_and_no_parameters(void **state)
{
	struct harness *h = *state;

	harness_open(h);
	harness_take(h);
	harness_say(h, "HELO client.test\r\nMAIL FROM:<a@b.test> SIZE=10\r\n"
		    "MAIL FROM:<a@b.test>\r\n");
	assert_string_equal(harness_take(h), "250 mx.test\r\n"
			    "555 5.5.4 Error: parameters need EHLO\r\n"
			    "250 2.1.0 Ok\r\n");
}

static void test_helo_without_name_gets_501(void **state)
{
	struct harness *h = *state;

	harness_open(h);
	harness_take(h);
	harness_say(h, "EHLO\r\nHELO \r\n");
	assert_string_equal(harness_take(h),
			    "501 5.5.4 Syntax: EHLO hostname\r\n"
			    "501 5.5.4 Syntax: HELO hostname\r\n");
}

static void test_simple_commands_have_their_codes(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, "NOOP\r\nRSET\r\nVRFY postmaster\r\nVRFY\r\nEXPN list\r\n"
		    "HELP\r\nFOO bar\r\nDATA now\r\nRSET x\r\nQUIT\r\n");
	assert_string_equal(harness_take(h),
		"250 2.0.0 Ok\r\n"
		"250 2.0.0 Ok\r\n"
		"252 2.0.0 Cannot VRFY user, but will accept message and "
		"attempt delivery\r\n"
		"501 5.5.4 Syntax: VRFY address\r\n"
		"502 5.5.1 Error: command not implemented\r\n"
		"214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP "
		"QUIT VRFY HELP\r\n"
		"500 5.5.2 Error: command not recognized\r\n"
		"503 5.5.1 Error: need MAIL command\r\n"
		"501 5.5.4 Syntax: RSET\r\n"
		"221 2.0.0 Bye\r\n");
	assert_true(smtp_session_closing(&h->s));
	smtp_session_fini(&h->s);
	assert_int_equal(h->f.session_ends, 1);
	assert_int_equal(h->f.why, SMTP_END_QUIT);
}

static void test_commands_are_case_insensitive(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, "mail from:<a@b.test>\r\nrCpT To:<c@d.test>\r\nrset\r\n");
	assert_string_equal(harness_take(h), "250 2.1.0 Ok\r\n"
			    "250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n");
}

static void test_bare_lf_ends_a_command_line(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, "NOOP\nNOOP\r\n");
	assert_string_equal(harness_take(h), "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
}

static void test_sequence_errors_get_503(void **state)
{
	struct harness *h = *state;

	harness_open(h);
	harness_take(h);
	harness_say(h, "MAIL FROM:<a@b.test>\r\nEHLO c.test\r\n"
		    "RCPT TO:<c@d.test>\r\nDATA\r\nMAIL FROM:<a@b.test>\r\n"
		    "DATA\r\nMAIL FROM:<a@b.test>\r\n");
	assert_string_equal(harness_take(h),
		"503 5.5.1 Error: send HELO/EHLO first\r\n" EHLO_REPLY
		"503 5.5.1 Error: need MAIL command\r\n"
		"503 5.5.1 Error: need MAIL command\r\n"
		"250 2.1.0 Ok\r\n"
		"503 5.5.1 Error: need RCPT command\r\n"
		"503 5.5.1 Error: nested MAIL command\r\n");
}

static void test_mail_syntax_errors(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, "MAIL FROM:a@b.test\r\n"
		    "MAIL TO:<a@b.test>\r\n"
		    "MAIL FROM:<a b@c.test>\r\n"
		    "MAIL FROM:<a@b.test> FOO=1\r\n"
		    "MAIL FROM:<a@b.test> BODY=9BIT\r\n"
		    "MAIL FROM:<a@b.test> SIZE=x\r\n"
		    "MAIL FROM:<a@b.test> RET=FULL RET=HDRS\r\n"
		    "MAIL FROM:<a@b.test> ENVID=a=b\r\n");
	assert_string_equal(harness_take(h),
		"501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
		"501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
		"501 5.1.7 Error: bad sender address syntax\r\n"
		"555 5.5.4 Error: unsupported parameter\r\n"
		"501 5.5.4 Error: bad BODY parameter\r\n"
		"501 5.5.4 Error: bad SIZE parameter\r\n"
		"501 5.5.4 Error: duplicate RET parameter\r\n"
		"501 5.5.4 Error: bad ENVID parameter\r\n");
	assert_int_equal(h->s.state, SMTP_S_HELO);
}

static void test_null_sender_source_route_and_postmaster(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, "MAIL FROM:<>\r\nRCPT TO:<postmaster>\r\n"
		    "RCPT TO:<@relay.test,@r2.test:u@d.test>\r\n"
		    "RCPT TO:<user>\r\nRCPT TO: <\"a b\"@d.test>\r\n");
	assert_string_equal(harness_take(h),
		"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
		"501 5.1.3 Error: bad recipient address syntax\r\n"
		"250 2.1.5 Ok\r\n");
	assert_string_equal(h->s.txn.env.rcpt[1], "u@d.test");
	assert_string_equal(h->s.txn.env.rcpt[2], "\"a b\"@d.test");
	assert_string_equal(h->s.txn.env.mail_from, "");
}

static void test_mail_size_too_large_gets_552(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, "MAIL FROM:<a@b.test> SIZE=52428801\r\n"
		    "MAIL FROM:<a@b.test> SIZE=52428800\r\n");
	assert_string_equal(harness_take(h),
		"552 5.3.4 Error: message size exceeds fixed limit\r\n"
		"250 2.1.0 Ok\r\n");
	assert_int_equal(h->s.txn.size_declared, 52428800);
}

static void test_utf8_address_needs_smtputf8(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, "MAIL FROM:<j\xc3\xb6rg@b.test>\r\n"
		    "MAIL FROM:<j\xc3\xb6rg@b.test> SMTPUTF8\r\n"
		    "RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b.test>\r\n"
		    "RCPT TO:<bad\xc3@d.test>\r\n");
	assert_string_equal(harness_take(h),
		"553 5.6.7 Error: non-ASCII address needs SMTPUTF8\r\n"
		"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		"501 5.1.3 Error: bad recipient address syntax\r\n");
	assert_true(h->s.txn.smtputf8);
	harness_say(h, "RSET\r\nMAIL FROM:<a@b.test>\r\n"
		    "RCPT TO:<\xe7\x94\xa8@d.test>\r\n");
	assert_string_equal(harness_take(h), "250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n"
		"553 5.6.7 Error: non-ASCII address needs SMTPUTF8\r\n");
}

static void test_dsn_and_body_parameters_are_carried(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, "MAIL FROM:<a@b.test> BODY=8BITMIME RET=HDRS "
		    "ENVID=QQ+2B314159\r\n"
		    "RCPT TO:<c@d.test> NOTIFY=SUCCESS,FAILURE "
		    "ORCPT=rfc822;c+40d.test\r\n"
		    "RCPT TO:<e@d.test> NOTIFY=NEVER,DELAY\r\n"
		    "RCPT TO:<e@d.test> ORCPT=rfc822\r\n"
		    "RCPT TO:<e@d.test> NOTIFY=NEVER\r\n"
		    "DATA\r\nhi\r\n.\r\n");
	assert_string_equal(harness_take(h),
		"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		"501 5.5.4 Error: bad NOTIFY parameter\r\n"
		"501 5.5.4 Error: bad ORCPT parameter\r\n"
		"250 2.1.5 Ok\r\n"
		"354 End data with <CR><LF>.<CR><LF>\r\n"
		"250 2.0.0 Ok: queued as TEST\r\n");
	assert_int_equal(h->f.last_txn.body, SMTP_BODY_8BITMIME);
	assert_int_equal(h->f.last_txn.ret, SMTP_RET_HDRS);
	assert_string_equal(h->f.last_envid, "QQ+2B314159");
	assert_string_equal(h->f.last_orcpt, "rfc822;c+40d.test");
	assert_int_equal(h->f.last_notify,
			 SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE);
	assert_int_equal(h->f.last_nrcpt, 2);
	assert_int_equal(h->f.last_txn.client_port, 40000);
	assert_true(h->f.last_txn.esmtp);
	assert_false(h->f.last_txn.bdat);
	assert_int_equal(h->f.last_txn.size, 4);
}

static void test_pipelined_batch_replies_in_order(void **state)
{
	struct harness *h = *state;
	const char *batch = "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n"
		"RCPT TO:<x@d.test>\r\nRCPT TO:<bad@>\r\nRCPT TO:<y@d.test>\r\n"
		"DATA\r\nline\r\n.\r\nNOOP\r\nQUIT\r\n";
	const char *expect = "220 mx.test ESMTP mxgate\r\n" EHLO_REPLY
		"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		"501 5.1.3 Error: bad recipient address syntax\r\n"
		"250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
		"250 2.0.0 Ok: queued as TEST\r\n250 2.0.0 Ok\r\n"
		"221 2.0.0 Bye\r\n";

	harness_open(h);
	assert_int_equal(harness_say(h, batch), strlen(batch));
	assert_string_equal(harness_take(h), expect);

	/* Same bytes one at a time: same replies, same message. */
	harness_open(h);
	assert_int_equal(harness_feed_bytewise(h, batch, strlen(batch)),
			 strlen(batch));
	assert_string_equal(harness_take(h), expect);
	assert_int_equal(h->f.ends, 2);
	assert_memory_equal(h->f.data, "line\r\n", 6);
}

static void test_commands_after_data_end_wait_for_result(void **state)
{
	struct harness *h = opened(state);
	const char *batch = "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@d.test>\r\n"
		"DATA\r\nbody\r\n.\r\nMAIL FROM:<n@b.test>\r\nQUIT\r\n";
	size_t taken;

	h->f.hold = true;
	taken = harness_say(h, batch);
	assert_int_equal(taken, strstr(batch, ".\r\nMAIL") + 3 - batch);
	assert_int_equal(h->s.state, SMTP_S_WAIT);
	assert_false(smtp_session_readable(&h->s));
	assert_int_equal(smtp_session_input(&h->s, (const uint8_t *) "NOOP\r\n",
					    6, 0), 0);
	assert_string_equal(harness_take(h), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
			    "354 End data with <CR><LF>.<CR><LF>\r\n");
	assert_int_equal(smtp_session_message_result(&h->s, 451, "4.4.1",
						     "downstream busy", 0), 0);
	harness_say(h, batch + taken);
	assert_string_equal(harness_take(h), "451 4.4.1 downstream busy\r\n"
			    "250 2.1.0 Ok\r\n221 2.0.0 Bye\r\n");
}

static void test_result_outside_wait_is_einval(void **state)
{
	struct harness *h = opened(state);

	errno = 0;
	assert_int_equal(smtp_session_message_result(&h->s, 250, "2.0.0",
						     "Ok", 0), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_result_text_cannot_forge_lines(void **state)
{
	struct harness *h = opened(state);

	h->f.result_text = "queued\r\n250 forged";
	harness_say(h, "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@d.test>\r\n"
		    "DATA\r\n.\r\n");
	assert_non_null(strstr(harness_take(h), "250 2.0.0 queued  250 forged\r\n"));
}

static void test_output_full_stops_reading(void **state)
{
	struct harness *h = opened(state);
	char batch[6 * 2000 + 1];
	size_t i, taken;

	for (i = 0; i < 2000; i++)
		memcpy(batch + 6 * i, "HELP\r\n", 6);
	batch[sizeof(batch) - 1] = 0;
	h->cfg.junk_max = 10000;
	h->no_drain = true;
	taken = harness_say(h, batch);
	assert_true(taken < strlen(batch));
	assert_false(smtp_session_readable(&h->s));
	h->no_drain = false;
	harness_drain(h);
	assert_true(smtp_session_readable(&h->s));
	taken += harness_say(h, batch + taken);
	assert_int_equal(taken, strlen(batch));
}

static void test_command_line_too_long_is_discarded_not_run(void **state)
{
	struct harness *h = opened(state);
	char line[3000];

	/* A 3 KB line whose middle looks like a command: one 500, no 221. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + 1500, "\r QUIT", 7);
	memcpy(line + sizeof(line) - 2, "\r\n", 2);
	harness_feed(h, line, sizeof(line));
	harness_say(h, "NOOP\r\n");
	assert_string_equal(harness_take(h),
			    "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
	assert_false(smtp_session_closing(&h->s));
}

static void test_command_line_limit_is_512_with_crlf(void **state)
{
	struct harness *h = opened(state);
	char line[600];

	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + 510, "\r\n", 2);	/* 512 octets: accepted */
	harness_feed(h, line, 512);
	memcpy(line + 510, "x\r\n", 3);	/* 513: refused */
	harness_feed(h, line, 513);
	assert_string_equal(harness_take(h),
			    "250 2.0.0 Ok\r\n500 5.5.2 Error: line too long\r\n");
}

static void test_mail_with_parameters_may_exceed_512(void **state)
{
	struct harness *h = opened(state);
	char cmd[1200], local[60], orcpt[480];

	memset(local, 'l', sizeof(local) - 1);
	local[sizeof(local) - 1] = 0;
	memset(orcpt, 'o', sizeof(orcpt) - 1);
	orcpt[sizeof(orcpt) - 1] = 0;
	harness_say(h, "MAIL FROM:<a@b.test>\r\n");
	snprintf(cmd, sizeof(cmd), "RCPT TO:<%s@d.test> NOTIFY=SUCCESS,"
		 "FAILURE,DELAY ORCPT=rfc822;%s\r\n", local, orcpt);
	assert_true(strlen(cmd) > 512);
	harness_say(h, cmd);
	assert_string_equal(harness_take(h), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
}

static void test_rcpt_101_gets_452(void **state)
{
	struct harness *h = opened(state);
	char cmd[64];
	int i;

	harness_say(h, "MAIL FROM:<a@b.test>\r\n");
	for (i = 0; i < 100; i++) {
		snprintf(cmd, sizeof(cmd), "RCPT TO:<user%d@d.test>\r\n", i);
		harness_say(h, cmd);
	}
	harness_take(h);
	harness_say(h, "RCPT TO:<user100@d.test>\r\n");
	assert_string_equal(harness_take(h),
			    "452 4.5.3 Error: too many recipients\r\n");
	assert_int_equal(h->s.txn.env.nrcpt, 100);
	assert_string_equal(h->s.txn.env.rcpt[99], "user99@d.test");
}

static void test_too_many_errors_disconnect_with_421(void **state)
{
	struct harness *h = opened(state);
	int i;

	h->cfg.errors_max = 3;
	for (i = 0; i < 5; i++)
		harness_say(h, "BOGUS\r\n");
	assert_string_equal(harness_take(h),
		"500 5.5.2 Error: command not recognized\r\n"
		"500 5.5.2 Error: command not recognized\r\n"
		"500 5.5.2 Error: command not recognized\r\n"
		"421 4.7.0 mx.test Error: too many errors\r\n");
	assert_true(smtp_session_closing(&h->s));
	smtp_session_fini(&h->s);
	assert_int_equal(h->f.why, SMTP_END_ERRORS);
}

static void test_junk_commands_are_limited(void **state)
{
	struct harness *h = opened(state);
	int i;

	h->cfg.junk_max = 3;
	for (i = 0; i < 3; i++)
		harness_say(h, "NOOP\r\n");
	assert_string_equal(harness_take(h), "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"
		"250 2.0.0 Ok\r\n421 4.7.0 mx.test Error: too many junk "
		"commands\r\n");
}

static void test_rcpt_check_refusal_is_passed_on(void **state)
{
	struct harness *h = opened(state);

	h->f.refuse_rcpt = "nobody";
	h->f.refuse_mail = "spammer";
	harness_say(h, "MAIL FROM:<spammer@b.test>\r\nMAIL FROM:<a@b.test>\r\n"
		    "RCPT TO:<nobody@d.test>\r\nDATA\r\nBDAT 4 LAST\r\nRSET"
		    "RCPT TO:<x@d.test>\r\n");
	assert_string_equal(harness_take(h),
		"550 5.7.1 Sender refused by policy\r\n250 2.1.0 Ok\r\n"
		"550 5.1.1 User unknown  250 forged\r\n"
		"554 5.5.1 Error: no valid recipients\r\n"
		"554 5.5.1 Error: no valid recipients\r\n"
		"250 2.1.5 Ok\r\n");
	assert_int_equal(h->s.txn.env.nrcpt, 1);
	assert_string_equal(h->s.txn.env.rcpt[0], "x@d.test");
}

static void test_msg_begin_failure_gives_451(void **state)
{
	struct harness *h = opened(state);

	h->f.begin_fail = true;
	harness_say(h, "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@d.test>\r\nDATA\r\n");
	assert_string_equal(harness_take(h), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		"451 4.3.0 Error: temporary failure, try again later\r\n");
	h->f.begin_fail = false;
	harness_say(h, "DATA\r\nx\r\n.\r\n");
	assert_string_equal(harness_take(h),
		"354 End data with <CR><LF>.<CR><LF>\r\n"
		"250 2.0.0 Ok: queued as TEST\r\n");
}

static void test_several_messages_per_connection(void **state)
{
	struct harness *h = opened(state);
	int i;

	h->cfg.junk_max = 3;	/* RSET after each message is not junk */
	for (i = 0; i < 5; i++)
		harness_say(h, "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@d.test>\r\n"
			    "DATA\r\nmsg\r\n.\r\nRSET\r\nNOOP\r\n");
	assert_false(smtp_session_closing(&h->s));
	assert_int_equal(h->f.begins, 5);
	assert_int_equal(h->f.ends, 5);
	assert_int_equal(h->f.aborts, 0);
	assert_int_equal(h->s.state, SMTP_S_HELO);
}

static void test_ehlo_in_a_transaction_resets_it(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@d.test>\r\n"
		    "EHLO again.test\r\nRCPT TO:<x@d.test>\r\n");
	assert_non_null(strstr(harness_take(h),
			       "503 5.5.1 Error: need MAIL command\r\n"));
	assert_string_equal(h->s.txn.env.helo, "again.test");
}

static void test_idle_client_is_cut_at_command_timeout(void **state)
{
	struct harness *h = opened(state);

	assert_int_equal(smtp_session_deadline(&h->s), 5 * 60 * 1000);
	smtp_session_tick(&h->s, 5 * 60 * 1000 - 1);
	assert_false(smtp_session_closing(&h->s));
	smtp_session_tick(&h->s, 5 * 60 * 1000);
	harness_drain(h);
	assert_string_equal(harness_take(h),
			    "421 4.4.2 mx.test Error: timeout exceeded\r\n");
	assert_true(smtp_session_closing(&h->s));
	smtp_session_fini(&h->s);
	assert_int_equal(h->f.why, SMTP_END_TIMEOUT);
}

static void test_drip_feeding_client_is_cut_at_command_deadline(void **state)
{
	struct harness *h = opened(state);
	uint64_t t;

	/* One byte a second of a command that never ends: the deadline is
	 * per command, so the bytes do not push it back. */
	for (t = 1; t < 400 && !smtp_session_closing(&h->s); t++) {
		h->f.now = t * 1000;
		smtp_session_tick(&h->s, h->f.now);
		harness_feed(h, "x", 1);
	}
	assert_int_equal(t - 1, 300);
	assert_string_equal(harness_take(h),
			    "421 4.4.2 mx.test Error: timeout exceeded\r\n");
}

static void test_each_complete_command_restarts_the_deadline(void **state)
{
	struct harness *h = opened(state);

	h->f.now = 4 * 60 * 1000;
	harness_say(h, "NOOP\r\n");
	assert_int_equal(smtp_session_deadline(&h->s), 9 * 60 * 1000);
	smtp_session_tick(&h->s, 8 * 60 * 1000);
	assert_false(smtp_session_closing(&h->s));
}

static void test_result_timeout_gives_451_and_aborts(void **state)
{
	struct harness *h = opened(state);

	h->f.hold = true;
	harness_say(h, "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@d.test>\r\n"
		    "DATA\r\nx\r\n.\r\n");
	harness_take(h);
	smtp_session_tick(&h->s, 10 * 60 * 1000);
	harness_drain(h);
	assert_string_equal(harness_take(h), "451 4.4.7 Error: timeout waiting "
			    "for the message result, try again later\r\n");
	assert_int_equal(h->f.aborts, 1);
	assert_int_equal(smtp_session_message_result(&h->s, 250, "2.0.0",
						     "late", 0), -1);
	assert_int_equal(h->s.state, SMTP_S_HELO);
}

static void test_refused_session_accepts_only_quit(void **state)
{
	struct harness *h = *state;

	assert_int_equal(smtp_session_init(&h->s, &h->cfg, &fake_upper_ops,
					   &h->f, "198.18.0.66", 1, 0), 0);
	assert_int_equal(smtp_session_refuse(&h->s, "listed at dnsbl.test"), 0);
	harness_drain(h);
	harness_say(h, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nQUIT\r\n");
	assert_string_equal(harness_take(h),
		"554 5.7.1 listed at dnsbl.test\r\n"
		"503 5.7.1 Error: access denied, only QUIT is accepted\r\n"
		"503 5.7.1 Error: access denied, only QUIT is accepted\r\n"
		"221 2.0.0 Bye\r\n");
	assert_int_equal(smtp_session_refuse(&h->s, "late"), -1);
}

static void test_init_refuses_config_beyond_capacity(void **state)
{
	struct harness *h = *state;
	struct smtp_session *s = &h->s;

	h->cfg.rcpt_max = SMTP_RCPT_CAP + 1;
	errno = 0;
	assert_int_equal(smtp_session_init(s, &h->cfg, &fake_upper_ops, &h->f,
					   "198.18.0.2", 1, 0), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_greeting_is_220_without_enhanced_code),
		T(test_ehlo_lists_extensions),
		T(test_helo_gets_one_line_and_no_parameters),
		T(test_helo_without_name_gets_501),
		T(test_simple_commands_have_their_codes),
		T(test_commands_are_case_insensitive),
		T(test_bare_lf_ends_a_command_line),
		T(test_sequence_errors_get_503),
		T(test_mail_syntax_errors),
		T(test_null_sender_source_route_and_postmaster),
		T(test_mail_size_too_large_gets_552),
		T(test_utf8_address_needs_smtputf8),
		T(test_dsn_and_body_parameters_are_carried),
		T(test_pipelined_batch_replies_in_order),
		T(test_commands_after_data_end_wait_for_result),
		T(test_result_outside_wait_is_einval),
		T(test_result_text_cannot_forge_lines),
		T(test_output_full_stops_reading),
		T(test_command_line_too_long_is_discarded_not_run),
		T(test_command_line_limit_is_512_with_crlf),
		T(test_mail_with_parameters_may_exceed_512),
		T(test_rcpt_101_gets_452),
		T(test_too_many_errors_disconnect_with_421),
		T(test_junk_commands_are_limited),
		T(test_rcpt_check_refusal_is_passed_on),
		T(test_msg_begin_failure_gives_451),
		T(test_several_messages_per_connection),
		T(test_ehlo_in_a_transaction_resets_it),
		T(test_idle_client_is_cut_at_command_timeout),
		T(test_drip_feeding_client_is_cut_at_command_deadline),
		T(test_each_complete_command_restarts_the_deadline),
		T(test_result_timeout_gives_451_and_aborts),
		T(test_refused_session_accepts_only_quit),
		T(test_init_refuses_config_beyond_capacity),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
