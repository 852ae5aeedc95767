/*
 * test_smtp_starttls.c - the session's STARTTLS state machine (RFC 3207):
 *	advertising, refusals, the discarding of pipelined plaintext after
 *	the 220 (CVE-2011-0411), the reset after the handshake, the
 *	handshake timeout and "TLS required" for listed networks. A fake
 *	upper layer and a virtual clock; no OpenSSL here (the transports'
 *	handshake is tested live by tls_filter.sh and tls_dp.sh).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "smtp_harness.h"

#define EHLO_TLS_REPLY \
	"250-mx.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n" \
	"250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n" \
	"250-DSN\r\n250-STARTTLS\r\n250 CHUNKING\r\n"
#define EHLO_PLAIN_REPLY \
	"250-mx.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n" \
	"250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n" \
	"250-DSN\r\n250 CHUNKING\r\n"

static struct smtp_ops tls_ops;
static unsigned tls_starts;
static int tls_start_rc;

/* fake_tls_start - the transport's side: count, answer as told */
static int fake_tls_start(void *ctx)
{
	(void)ctx;
	tls_starts++;
	return tls_start_rc;
}

/* open_tls - a session whose transport can do TLS; greeting taken */
static struct harness *open_tls(bool offer, bool require)
{
	struct harness *h = harness_new();

	tls_ops = fake_upper_ops;
	tls_ops.tls_start = fake_tls_start;
	tls_starts = 0;
	tls_start_rc = 0;
	if (smtp_session_init(&h->s, &h->cfg, &tls_ops, &h->f, "198.18.0.2",
			      40000, h->f.now) < 0)
		fail();
	smtp_session_tls_policy(&h->s, offer, require);
	harness_drain(h);
	harness_take(h);
	return h;
}

/* handshake - what the transport does once it sent the 220 */
static void handshake(struct harness *h)
{
	assert_true(smtp_session_tls_wanted(&h->s));
	smtp_session_tls_done(&h->s, "TLSv1.3", "TLS_AES_256_GCM_SHA384",
			      h->f.now);
}

static void test_starttls_is_advertised_when_the_transport_offers_it(void **state)
{
	struct harness *h = open_tls(true, false);

	harness_say(h, "EHLO client.test\r\n");
	assert_string_equal(harness_take(h), EHLO_TLS_REPLY);
	harness_free(h);
}

static void test_starttls_is_not_advertised_without_tls(void **state)
{
	struct harness *h = open_tls(false, false);

	harness_say(h, "EHLO client.test\r\nSTARTTLS\r\n");
	assert_string_equal(harness_take(h), EHLO_PLAIN_REPLY
			    "454 4.7.0 TLS not available\r\n");
	assert_int_equal(tls_starts, 0);
	assert_false(smtp_session_tls_wanted(&h->s));
	harness_free(h);
}

static void test_starttls_gets_220_and_asks_for_the_handshake(void **state)
{
	struct harness *h = open_tls(true, false);

	harness_say(h, "EHLO client.test\r\n");
	harness_take(h);
	harness_say(h, "STARTTLS\r\n");
	assert_string_equal(harness_take(h), "220 2.0.0 Ready to start TLS\r\n");
	assert_int_equal(tls_starts, 1);
	assert_true(smtp_session_tls_wanted(&h->s));
	harness_free(h);
}

static void test_starttls_with_an_argument_gets_501(void **state)
{
	struct harness *h = open_tls(true, false);

	harness_say(h, "EHLO client.test\r\n");
	harness_take(h);
	harness_say(h, "STARTTLS now\r\n");
	assert_string_equal(harness_take(h), "501 5.5.4 Syntax: STARTTLS\r\n");
	assert_int_equal(tls_starts, 0);
	harness_free(h);
}

static void test_starttls_without_a_free_tls_object_gets_454(void **state)
{
	struct harness *h = open_tls(true, false);

	tls_start_rc = -1;
	harness_say(h, "EHLO client.test\r\nSTARTTLS\r\nNOOP\r\n");
	assert_string_equal(harness_take(h), EHLO_TLS_REPLY
			    "454 4.7.0 TLS not available due to local problem\r\n"
			    "250 2.0.0 Ok\r\n");
	assert_false(smtp_session_tls_wanted(&h->s));
	harness_free(h);
}

static void test_starttls_inside_a_transaction_gets_503(void **state)
{
	struct harness *h = open_tls(true, false);

	harness_say(h, "EHLO client.test\r\nMAIL FROM:<a@b.test>\r\n");
	harness_take(h);
	harness_say(h, "STARTTLS\r\n");
	assert_string_equal(harness_take(h),
			    "503 5.5.1 Error: MAIL transaction in progress\r\n");
	harness_free(h);
}

static void test_pipelined_plaintext_after_starttls_is_discarded(void **state)
{
	struct harness *h = open_tls(true, false);
	static const char inject[] = "STARTTLS\r\nRSET\r\nMAIL FROM:<evil@x.test>\r\n";

	harness_say(h, "EHLO client.test\r\n");
	harness_take(h);
	/* one write: the RSET and MAIL were sent before our 220 */
	assert_int_equal(harness_feed(h, inject, sizeof(inject) - 1),
			 sizeof(inject) - 1);
	assert_string_equal(harness_take(h), "220 2.0.0 Ready to start TLS\r\n");
	assert_int_equal(h->s.tls_discarded, sizeof(inject) - 1 - 10);
	handshake(h);
	/* nothing of it runs after the handshake either */
	assert_string_equal(harness_take(h), "");
	harness_say(h, "MAIL FROM:<a@b.test>\r\n");
	assert_string_equal(harness_take(h),
			    "503 5.5.1 Error: send HELO/EHLO first\r\n");
	harness_free(h);
}

static void test_handshake_resets_the_session_and_needs_a_new_ehlo(void **state)
{
	struct harness *h = open_tls(true, false);

	harness_say(h, "EHLO client.test\r\nSTARTTLS\r\n");
	harness_take(h);
	handshake(h);
	assert_int_equal(h->s.state, SMTP_S_INIT);
	assert_string_equal(h->s.helo, "");
	harness_say(h, "EHLO client.test\r\n");
	/* STARTTLS no longer advertised */
	assert_string_equal(harness_take(h), EHLO_PLAIN_REPLY);
	harness_say(h, "STARTTLS\r\n");
	assert_string_equal(harness_take(h),
			    "503 5.5.1 Error: TLS already active\r\n");
	assert_int_equal(tls_starts, 1);
	harness_free(h);
}

static void test_transaction_after_tls_carries_version_and_cipher(void **state)
{
	struct harness *h = open_tls(true, false);

	harness_say(h, "EHLO client.test\r\nSTARTTLS\r\n");
	handshake(h);
	harness_take(h);
	harness_say(h, "EHLO client.test\r\nMAIL FROM:<a@b.test>\r\n"
		    "RCPT TO:<c@d.test>\r\nDATA\r\nhi\r\n.\r\n");
	assert_int_equal(h->f.ends, 1);
	assert_string_equal(h->s.txn.tls_version, "TLSv1.3");
	assert_string_equal(h->s.tls_cipher, "TLS_AES_256_GCM_SHA384");
	harness_free(h);
}

static void test_plaintext_transaction_has_empty_tls_fields(void **state)
{
	struct harness *h = open_tls(true, false);

	harness_say(h, "EHLO client.test\r\nMAIL FROM:<a@b.test>\r\n");
	assert_string_equal(h->s.txn.tls_version, "");
	assert_string_equal(h->s.txn.tls_cipher, "");
	harness_free(h);
}

static void test_handshake_timeout_closes_without_a_reply(void **state)
{
	struct harness *h = open_tls(true, false);

	harness_say(h, "EHLO client.test\r\nSTARTTLS\r\n");
	harness_take(h);
	assert_int_equal(smtp_session_deadline(&h->s),
			 h->f.now + SMTP_DEF_TIMEOUT_TLS);
	h->f.now += SMTP_DEF_TIMEOUT_TLS - 1;
	smtp_session_tick(&h->s, h->f.now);
	assert_false(smtp_session_closing(&h->s));
	h->f.now += 1;
	smtp_session_tick(&h->s, h->f.now);
	assert_true(smtp_session_closing(&h->s));
	harness_drain(h);
	assert_string_equal(harness_take(h), "");
	smtp_session_fini(&h->s);
	assert_int_equal(h->f.why, SMTP_END_TIMEOUT);
	harness_free(h);
}

static void test_required_tls_refuses_mail_in_plaintext_with_530(void **state)
{
	struct harness *h = open_tls(true, true);

	harness_say(h, "EHLO client.test\r\nMAIL FROM:<a@b.test>\r\n");
	assert_string_equal(harness_take(h), EHLO_TLS_REPLY
			    "530 5.7.0 Must issue a STARTTLS command first\r\n");
	harness_say(h, "STARTTLS\r\n");
	handshake(h);
	harness_take(h);
	harness_say(h, "EHLO client.test\r\nMAIL FROM:<a@b.test>\r\n");
	assert_string_equal(harness_take(h), EHLO_PLAIN_REPLY "250 2.1.0 Ok\r\n");
	harness_free(h);
}

static void test_refused_session_does_not_start_tls(void **state)
{
	struct harness *h = open_tls(true, false);

	/* refuse must come before any input: a fresh session */
	harness_free(h);
	h = harness_new();
	tls_ops = fake_upper_ops;
	tls_ops.tls_start = fake_tls_start;
	tls_starts = 0;
	if (smtp_session_init(&h->s, &h->cfg, &tls_ops, &h->f, "198.18.0.2",
			      40000, h->f.now) < 0)
		fail();
	smtp_session_tls_policy(&h->s, true, false);
	assert_int_equal(smtp_session_refuse(&h->s, "blocked"), 0);
	harness_drain(h);
	harness_take(h);
	harness_say(h, "STARTTLS\r\n");
	assert_string_equal(harness_take(h), "503 5.7.1 Error: access denied, "
			    "only QUIT is accepted\r\n");
	assert_int_equal(tls_starts, 0);
	harness_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_starttls_is_advertised_when_the_transport_offers_it),
		cmocka_unit_test(test_starttls_is_not_advertised_without_tls),
		cmocka_unit_test(test_starttls_gets_220_and_asks_for_the_handshake),
		cmocka_unit_test(test_starttls_with_an_argument_gets_501),
		cmocka_unit_test(test_starttls_without_a_free_tls_object_gets_454),
		cmocka_unit_test(test_starttls_inside_a_transaction_gets_503),
		cmocka_unit_test(test_pipelined_plaintext_after_starttls_is_discarded),
		cmocka_unit_test(test_handshake_resets_the_session_and_needs_a_new_ehlo),
		cmocka_unit_test(test_transaction_after_tls_carries_version_and_cipher),
		cmocka_unit_test(test_plaintext_transaction_has_empty_tls_fields),
		cmocka_unit_test(test_handshake_timeout_closes_without_a_reply),
		cmocka_unit_test(test_required_tls_refuses_mail_in_plaintext_with_530),
		cmocka_unit_test(test_refused_session_does_not_start_tls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
