/*
 * test_smtp_xforward.c - SMTP session: the XFORWARD command (Postfix
 *	XFORWARD_README) with a fake upper layer: advertised and taken only
 *	when the transport allows it, syntax, xtext, unknown values,
 *	ordering, and what the upper layer sees as the client.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "smtp_harness.h"

#define XF_EHLO_LINE "250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE\r\n"

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

/* trusted - a session whose transport allows XFORWARD, past EHLO; the
 * message result is held so the test can look at the transaction */
static struct harness *trusted(void **state)
{
	struct harness *h = *state;

	h->f.hold = true;
	harness_open(h);
	smtp_session_xforward_policy(&h->s, true);
	harness_say(h, "EHLO mta1.test\r\n");
	harness_take(h);
	return h;
}

/* say_one - one command, its reply */
static const char *say_one(struct harness *h, const char *cmd)
{
	harness_say(h, cmd);
	return harness_take(h);
}

/* send_message - MAIL, RCPT, DATA and content; the result is held */
static void send_message(struct harness *h)
{
	unsigned ends = h->f.ends;

	harness_say(h, "MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n"
		    "DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n");
	harness_take(h);
	assert_int_equal(h->f.ends, ends + 1);
	assert_int_equal(h->s.state, SMTP_S_WAIT);
}

/* finish - give the held result */
static void finish(struct harness *h)
{
	assert_int_equal(smtp_session_message_result(&h->s, 250, "2.0.0",
						     "Ok: queued", h->f.now), 0);
	harness_take(h);
}

static void test_xforward_is_advertised_only_when_allowed(void **state)
{
	struct harness *h = *state;

	harness_open(h);
	assert_null(strstr(say_one(h, "EHLO a.test\r\n"), "XFORWARD"));
	smtp_session_xforward_policy(&h->s, true);
	assert_non_null(strstr(say_one(h, "EHLO a.test\r\n"), XF_EHLO_LINE));
}

static void test_xforward_from_an_untrusted_client_gets_550(void **state)
{
	struct harness *h = harness_opened(*state);

	h->f.hold = true;
	assert_string_equal(say_one(h, "XFORWARD ADDR=203.0.113.7\r\n"),
			    "550 5.7.0 Error: insufficient authorization\r\n");
	send_message(h);
	assert_string_equal(h->f.last_txn.env.client_addr, "198.18.0.2");
	assert_false(h->f.last_txn.xforward);
	finish(h);
}

static void test_xforward_attributes_become_the_transaction_client(void **state)
{
	struct harness *h = trusted(state);

	assert_string_equal(say_one(h, "XFORWARD NAME=client.example "
		"ADDR=203.0.113.7 PORT=53211 PROTO=ESMTP SOURCE=REMOTE\r\n"),
		"250 2.0.0 Ok\r\n");
	assert_string_equal(say_one(h, "XFORWARD HELO=laptop.example "
		"IDENT=4ABC12\r\n"), "250 2.0.0 Ok\r\n");
	send_message(h);
	assert_true(h->f.last_txn.xforward);
	assert_string_equal(h->f.last_txn.env.client_addr, "203.0.113.7");
	assert_string_equal(h->f.last_txn.env.client_name, "client.example");
	assert_string_equal(h->f.last_txn.env.helo, "laptop.example");
	assert_int_equal(h->f.last_txn.client_port, 53211);
	assert_string_equal(h->f.last_txn.proto, "ESMTP");
	assert_string_equal(h->f.last_txn.ident, "4ABC12");
	assert_string_equal(h->f.last_txn.source, "REMOTE");
	finish(h);
}

static void test_xforward_names_are_case_insensitive(void **state)
{
	struct harness *h = trusted(state);

	assert_string_equal(say_one(h, "xforward addr=203.0.113.8 "
		"Helo=x.example source=remote\r\n"), "250 2.0.0 Ok\r\n");
	send_message(h);
	assert_string_equal(h->f.last_txn.env.client_addr, "203.0.113.8");
	assert_string_equal(h->f.last_txn.env.helo, "x.example");
	assert_string_equal(h->f.last_txn.source, "REMOTE");
	finish(h);
}

static void test_xforward_values_are_xtext_decoded(void **state)
{
	struct harness *h = trusted(state);

	/* "+20" is a space, which Postfix neuters like '<' and '@' */
	assert_string_equal(say_one(h, "XFORWARD HELO=a+2Bb+20c+3Cd "
		"IDENT=q+3D1\r\n"), "250 2.0.0 Ok\r\n");
	send_message(h);
	assert_string_equal(h->f.last_txn.env.helo, "a+b?c?d");
	assert_string_equal(h->f.last_txn.ident, "q=1");
	finish(h);
}

static void test_xforward_control_octets_are_masked(void **state)
{
	struct harness *h = trusted(state);

	assert_string_equal(say_one(h, "XFORWARD HELO=a+0D+0A250+20x+00y"
		"+C3\r\n"), "250 2.0.0 Ok\r\n");
	send_message(h);
	assert_string_equal(h->f.last_txn.env.helo, "a??250?x?y?");
	finish(h);
}

static void test_xforward_bad_xtext_gets_501(void **state)
{
	struct harness *h = trusted(state);

	assert_string_equal(say_one(h, "XFORWARD HELO=a+2\r\n"),
			    "501 5.5.4 Bad HELO xtext\r\n");
	assert_string_equal(say_one(h, "XFORWARD HELO=a+2b\r\n"),
			    "501 5.5.4 Bad HELO xtext\r\n");
	assert_string_equal(say_one(h, "XFORWARD NAME=a=b\r\n"),
			    "501 5.5.4 Bad NAME xtext\r\n");
}

static void test_xforward_unknown_values_mean_unknown(void **state)
{
	struct harness *h = trusted(state);

	assert_string_equal(say_one(h, "XFORWARD NAME=[UNAVAILABLE] "
		"ADDR=[UNAVAILABLE] PORT=[UNAVAILABLE] HELO=[TEMPUNAVAIL] "
		"PROTO=[UNAVAILABLE] IDENT=[UNAVAILABLE] "
		"SOURCE=[UNAVAILABLE]\r\n"), "250 2.0.0 Ok\r\n");
	send_message(h);
	assert_true(h->f.last_txn.xforward);
	assert_string_equal(h->f.last_txn.env.client_addr, "");
	assert_string_equal(h->f.last_txn.env.client_name, "");
	assert_string_equal(h->f.last_txn.env.helo, "");
	assert_int_equal(h->f.last_txn.client_port, 0);
	assert_string_equal(h->f.last_txn.proto, "");
	assert_string_equal(h->f.last_txn.ident, "");
	/* Postfix's smtpd: an unknown origin counts as local */
	assert_string_equal(h->f.last_txn.source, "LOCAL");
	finish(h);
}

static void test_xforward_attributes_not_given_are_unknown(void **state)
{
	struct harness *h = trusted(state);

	/* the connection's own address and HELO are the up-stream MTA's,
	 * not the client's: once forwarded, only forwarded values count */
	assert_string_equal(say_one(h, "XFORWARD NAME=c.example\r\n"),
			    "250 2.0.0 Ok\r\n");
	send_message(h);
	assert_string_equal(h->f.last_txn.env.client_name, "c.example");
	assert_string_equal(h->f.last_txn.env.client_addr, "");
	assert_string_equal(h->f.last_txn.env.helo, "");
	finish(h);
}

static void test_xforward_ipv6_address_loses_its_prefix(void **state)
{
	struct harness *h = trusted(state);

	assert_string_equal(say_one(h, "XFORWARD ADDR=IPv6:2001:db8::25\r\n"),
			    "250 2.0.0 Ok\r\n");
	send_message(h);
	assert_string_equal(h->f.last_txn.env.client_addr, "2001:db8::25");
	finish(h);
}

static void test_xforward_bad_values_get_501_and_change_nothing(void **state)
{
	struct harness *h = trusted(state);
	static const struct { const char *cmd, *reply; } bad[] = {
		{ "XFORWARD\r\n", "501 5.5.4 Syntax: XFORWARD attribute=value...\r\n" },
		{ "XFORWARD ADDR\r\n", "501 5.5.4 Error: attribute=value expected\r\n" },
		{ "XFORWARD ADDR=\r\n", "501 5.5.4 Error: attribute=value expected\r\n" },
		{ "XFORWARD COLOR=blue\r\n", "501 5.5.4 Bad XFORWARD attribute name: COLOR\r\n" },
		{ "XFORWARD ADDR=2001:db8::1\r\n", "501 5.5.4 Bad ADDR syntax: 2001:db8::1\r\n" },
		{ "XFORWARD ADDR=999.1.1.1\r\n", "501 5.5.4 Bad ADDR syntax: 999.1.1.1\r\n" },
		{ "XFORWARD ADDR=[198.18.0.1]\r\n", "501 5.5.4 Bad ADDR syntax: [198.18.0.1]\r\n" },
		{ "XFORWARD PORT=65536\r\n", "501 5.5.4 Bad PORT syntax: 65536\r\n" },
		{ "XFORWARD PORT=-1\r\n", "501 5.5.4 Bad PORT syntax: -1\r\n" },
		{ "XFORWARD NAME=a..b\r\n", "501 5.5.4 Bad NAME syntax: a..b\r\n" },
		{ "XFORWARD NAME=a+2Fb\r\n", "501 5.5.4 Bad NAME syntax: a/b\r\n" },
		{ "XFORWARD SOURCE=SIDEWAYS\r\n", "501 5.5.4 Bad SOURCE syntax: SIDEWAYS\r\n" },
	};
	char longv[300], cmd[400];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_string_equal(say_one(h, bad[i].cmd), bad[i].reply);
	memset(longv, 'p', 65);
	longv[65] = 0;
	snprintf(cmd, sizeof(cmd), "XFORWARD PROTO=%s\r\n", longv);
	assert_non_null(strstr(say_one(h, cmd), "501 5.5.4 Bad PROTO syntax"));
	memset(longv, 'h', 256);
	longv[256] = 0;
	snprintf(cmd, sizeof(cmd), "XFORWARD HELO=%s\r\n", longv);
	assert_string_equal(say_one(h, cmd),
			    "501 5.5.4 Error: attribute value too long\r\n");
	/* a good attribute before a bad one is not taken either */
	assert_string_equal(say_one(h, "XFORWARD ADDR=203.0.113.9 PORT=x\r\n"),
			    "501 5.5.4 Bad PORT syntax: x\r\n");
	send_message(h);
	assert_false(h->f.last_txn.xforward);
	assert_string_equal(h->f.last_txn.env.client_addr, "198.18.0.2");
	finish(h);
}

static void test_xforward_inside_a_transaction_gets_503(void **state)
{
	struct harness *h = trusted(state);

	assert_string_equal(say_one(h, "MAIL FROM:<a@b.test>\r\n"),
			    "250 2.1.0 Ok\r\n");
	assert_string_equal(say_one(h, "XFORWARD ADDR=203.0.113.7\r\n"),
			    "503 5.5.1 Error: MAIL transaction in progress\r\n");
	assert_string_equal(say_one(h, "RCPT TO:<c@d.test>\r\n"),
			    "250 2.1.5 Ok\r\n");
	assert_string_equal(say_one(h, "XFORWARD ADDR=203.0.113.7\r\n"),
			    "503 5.5.1 Error: MAIL transaction in progress\r\n");
	assert_string_equal(h->s.txn.env.client_addr, "198.18.0.2");
}

static void test_xforward_lasts_until_the_end_of_the_transaction(void **state)
{
	struct harness *h = trusted(state);

	say_one(h, "XFORWARD ADDR=203.0.113.7\r\n");
	send_message(h);
	assert_string_equal(h->f.last_txn.env.client_addr, "203.0.113.7");
	finish(h);
	/* the next message without XFORWARD is the connection's again */
	send_message(h);
	assert_string_equal(h->f.last_txn.env.client_addr, "198.18.0.2");
	assert_false(h->f.last_txn.xforward);
	finish(h);
}

static void test_xforward_is_forgotten_by_rset_and_ehlo(void **state)
{
	struct harness *h = trusted(state);

	/* Postfix's smtpd: RSET and EHLO reset the mail transaction state,
	 * the XFORWARD attributes with it */
	say_one(h, "XFORWARD ADDR=203.0.113.7\r\n");
	assert_string_equal(say_one(h, "RSET\r\n"), "250 2.0.0 Ok\r\n");
	assert_string_equal(h->s.txn.env.client_addr, "198.18.0.2");
	say_one(h, "XFORWARD ADDR=203.0.113.7\r\n");
	say_one(h, "EHLO again.test\r\n");
	assert_string_equal(h->s.txn.env.client_addr, "198.18.0.2");
	assert_string_equal(h->s.txn.env.helo, "again.test");
}

static void test_xforward_survives_a_refused_mail(void **state)
{
	struct harness *h = trusted(state);

	say_one(h, "XFORWARD ADDR=203.0.113.7\r\n");
	assert_string_equal(say_one(h, "MAIL FROM:<a@b.test> FOO=1\r\n"),
			    "555 5.5.4 Error: unsupported parameter\r\n");
	send_message(h);
	assert_string_equal(h->f.last_txn.env.client_addr, "203.0.113.7");
	finish(h);
}

static void test_xforward_pipelined_before_mail(void **state)
{
	struct harness *h = trusted(state);

	harness_say(h, "XFORWARD ADDR=203.0.113.7 PORT=1025\r\n"
		    "XFORWARD HELO=pipe.example\r\nMAIL FROM:<a@b.test>\r\n"
		    "RCPT TO:<c@d.test>\r\nDATA\r\n");
	assert_string_equal(harness_take(h), "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"
			    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
			    "354 End data with <CR><LF>.<CR><LF>\r\n");
	harness_say(h, "x\r\n.\r\n");
	assert_string_equal(h->f.last_txn.env.client_addr, "203.0.113.7");
	assert_string_equal(h->f.last_txn.env.helo, "pipe.example");
	assert_int_equal(h->f.last_txn.client_port, 1025);
	finish(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_xforward_is_advertised_only_when_allowed),
		T(test_xforward_from_an_untrusted_client_gets_550),
		T(test_xforward_attributes_become_the_transaction_client),
		T(test_xforward_names_are_case_insensitive),
		T(test_xforward_values_are_xtext_decoded),
		T(test_xforward_control_octets_are_masked),
		T(test_xforward_bad_xtext_gets_501),
		T(test_xforward_unknown_values_mean_unknown),
		T(test_xforward_attributes_not_given_are_unknown),
		T(test_xforward_ipv6_address_loses_its_prefix),
		T(test_xforward_bad_values_get_501_and_change_nothing),
		T(test_xforward_inside_a_transaction_gets_503),
		T(test_xforward_lasts_until_the_end_of_the_transaction),
		T(test_xforward_is_forgotten_by_rset_and_ehlo),
		T(test_xforward_survives_a_refused_mail),
		T(test_xforward_pipelined_before_mail),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
