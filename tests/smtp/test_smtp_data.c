/*
 * test_smtp_data.c - SMTP session: DATA and BDAT content, dot-unstuffing,
 *	limits, SMTP smuggling variants, disconnects, data timeouts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp_harness.h"

#define ENVELOPE "MAIL FROM:<a@b.test>\r\nRCPT TO:<x@d.test>\r\n"
#define R_ENV "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
#define R_354 "354 End data with <CR><LF>.<CR><LF>\r\n"
#define R_QUEUED "250 2.0.0 Ok: queued as TEST\r\n"
#define R_BARE "550 5.6.0 Error: bare CR or LF in message content " \
	"(RFC 5321 2.3.8)\r\n"

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

/* assert_content - the last message's content is exactly str */
static void assert_content(struct harness *h, const char *str)
{
	assert_int_equal(h->f.data_len, strlen(str));
	assert_memory_equal(h->f.data, str, strlen(str));
}

static void test_dot_stuffing_is_removed_before_scan(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, ENVELOPE "DATA\r\n..leading dot\r\n.x\r\nend.\r\n"
		    "...\r\n.\r\n");
	assert_string_equal(harness_take(h), R_ENV R_354 R_QUEUED);
	assert_content(h, ".leading dot\r\nx\r\nend.\r\n..\r\n");
	assert_int_equal(h->f.last_txn.size, 27);
}

static void test_empty_message_ends_at_first_dot_line(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, ENVELOPE "DATA\r\n.\r\n");
	assert_string_equal(harness_take(h), R_ENV R_354 R_QUEUED);
	assert_int_equal(h->f.data_len, 0);
}

static void test_data_streams_as_it_arrives(void **state)
{
	struct harness *h = opened(state);

	h->f.hold = true;
	harness_say(h, ENVELOPE "DATA\r\nfirst part ");
	assert_content(h, "first part ");
	harness_say(h, "second\r\n");
	assert_content(h, "first part second\r\n");
	assert_int_equal(h->f.ends, 0);
	harness_say(h, ".\r\n");
	assert_int_equal(h->f.ends, 1);
}

static void test_bytewise_data_gives_the_same_content(void **state)
{
	struct harness *h = opened(state);
	const char *in = ENVELOPE "DATA\r\n..a\r\n.\r.b\r\n\r\n.\r\n";

	harness_feed_bytewise(h, in, strlen(in));
	assert_string_equal(harness_take(h), R_ENV R_354 R_BARE);
	h->cfg.bare_eol = SMTP_BARE_EOL_NORMALISE;
	harness_feed_bytewise(h, in, strlen(in));
	assert_string_equal(harness_take(h), R_ENV R_354 R_QUEUED);
	assert_content(h, ".a\r\n.\r\n.b\r\n\r\n");
}

/* random_content - n bytes of mostly text with NUL and dots, and with
 * bare CR and LF if asked, at random places (lines of 0-120 columns),
 * then CRLF.CRLF */
static size_t random_content(char *buf, size_t n, bool bare, unsigned *seed)
{
	static const char special[] = { '\0', '.', '.', '\r', '\n' };
	int nspecial = bare ? 5 : 3;
	size_t i = 0, col = 0, line = (size_t)(rand_r(seed) % 121);

	while (i < n) {
		int r = rand_r(seed) % 100;

		if (col >= line) {
			buf[i++] = '\r';
			if (i < n)
				buf[i++] = '\n';
			col = 0;
			line = (size_t)(rand_r(seed) % 121);
		} else if (r < 4) {
			buf[i++] = special[rand_r(seed) % nspecial];
			col++;
		} else {
			buf[i++] = (char)('A' + rand_r(seed) % 58);
			col++;
		}
	}
	memcpy(buf + i, "\r\n.\r\n", 5);
	return i + 5;
}

/* run_content - replies and content of one message, whole or bytewise */
static void run_content(const char *in, size_t len, int bare_eol, bool nul,
			bool bytewise, char *replies, size_t rsize, char **data,
			size_t *dlen)
{
	struct harness *h = harness_opened(harness_new());

	h->cfg.bare_eol = bare_eol;
	h->cfg.reject_nul = nul;
	harness_say(h, ENVELOPE "DATA\r\n");
	if (bytewise)
		harness_feed_bytewise(h, in, len);
	else
		harness_feed(h, in, len);
	snprintf(replies, rsize, "%s", harness_take(h));
	*dlen = h->f.data_len;
	*data = malloc(h->f.data_len + 1);
	assert_non_null(*data);
	memcpy(*data, h->f.data, h->f.data_len);
	harness_free(h);
}

static void test_vector_text_scan_matches_bytewise_on_random_content(void **state)
{
	static char in[4200];
	char r1[512], r2[512], *d1, *d2;
	size_t len, l1, l2;
	unsigned seed = 20261128;
	int round, mode, accepted = 0;

	(void)state;
	for (round = 0; round < 300; round++) {
		bool bare = round % 3 == 0;

		len = random_content(in, (size_t)(rand_r(&seed) % 4096), bare, &seed);
		for (mode = 0; mode < 2; mode++) {
			int be = mode ? SMTP_BARE_EOL_NORMALISE : SMTP_BARE_EOL_REJECT;

			bool nul = round % 2 == 0;

			run_content(in, len, be, nul, false, r1, sizeof(r1), &d1, &l1);
			run_content(in, len, be, nul, true, r2, sizeof(r2), &d2, &l2);
			assert_string_equal(r1, r2);
			/* a refused message's partial content may differ in
			 * where it stopped; an accepted one must not */
			if (strstr(r1, R_QUEUED) != NULL) {
				accepted++;
				assert_int_equal(l1, l2);
				assert_memory_equal(d1, d2, l1);
			}
			free(d1);
			free(d2);
		}
	}
	assert_true(accepted > 100);
}

/* smuggle - one SEC Consult variant in the middle of a message */
static void smuggle(void **state, const char *variant, size_t vlen,
		    bool trailing, bool bytewise)
{
	struct harness *h = opened(state);
	char in[512];
	size_t n = 0, i;

	h->cfg.bare_eol = SMTP_BARE_EOL_REJECT;
	h->f.begins = h->f.ends = h->f.aborts = 0;

	n += (size_t) snprintf(in, sizeof(in), ENVELOPE "DATA\r\nSubject: hi"
			       "\r\n\r\nbody");
	memcpy(in + n, variant, vlen);
	n += vlen;
	if (trailing)
		n += (size_t) snprintf(in + n, sizeof(in) - n,
			"MAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@d.test>\r\n"
			"DATA\r\nFrom: ceo@d.test\r\n\r\nsmuggled");
	n += (size_t) snprintf(in + n, sizeof(in) - n, "\r\n.\r\nNOOP\r\n");

	if (bytewise)
		assert_int_equal(harness_feed_bytewise(h, in, n), n);
	else
		assert_int_equal(harness_feed(h, in, n), n);
	assert_string_equal(harness_take(h), R_ENV R_354 R_BARE
			    "250 2.0.0 Ok\r\n");
	assert_int_equal(h->f.begins, 1);
	assert_int_equal(h->f.ends, 0);
	assert_int_equal(h->f.aborts, 1);

	/* Normalising: one message, the smuggled part is its content, and
	 * no bare CR or LF reaches the upper layer. */
	h->cfg.bare_eol = SMTP_BARE_EOL_NORMALISE;
	h->f.begins = h->f.ends = 0;
	if (bytewise)
		harness_feed_bytewise(h, in, n);
	else
		harness_feed(h, in, n);
	if (memchr(variant, 0, vlen)) {
		assert_int_equal(h->f.ends, 0);
		return;
	}
	assert_string_equal(harness_take(h), R_ENV R_354 R_QUEUED
			    "250 2.0.0 Ok\r\n");
	assert_int_equal(h->f.begins, 1);
	assert_int_equal(h->f.ends, 1);
	for (i = 0; i < h->f.data_len; i++) {
		if (h->f.data[i] == '\r')
			assert_true(i + 1 < h->f.data_len
				    && h->f.data[i + 1] == '\n');
		if (h->f.data[i] == '\n')
			assert_true(i > 0 && h->f.data[i - 1] == '\r');
	}
	if (trailing)
		assert_non_null(memmem(h->f.data, h->f.data_len,
				       "MAIL FROM:<evil@x.test>", 23));
}

#define SMUGGLE_TEST(name, v) \
static void name(void **state) \
{ \
	smuggle(state, v, sizeof(v) - 1, true, false); \
	smuggle(state, v, sizeof(v) - 1, false, false); \
	smuggle(state, v, sizeof(v) - 1, true, true); \
}

SMUGGLE_TEST(test_bare_lf_dot_lf_does_not_end_data, "\n.\n")
SMUGGLE_TEST(test_bare_lf_dot_crlf_does_not_end_data, "\n.\r\n")
SMUGGLE_TEST(test_bare_cr_dot_cr_does_not_end_data, "\r.\r")
SMUGGLE_TEST(test_crlf_dot_bare_cr_does_not_end_data, "\r\n.\r")
SMUGGLE_TEST(test_crlf_dot_bare_lf_does_not_end_data, "\r\n.\n")
SMUGGLE_TEST(test_bare_lf_dot_bare_cr_does_not_end_data, "\n.\r")
SMUGGLE_TEST(test_bare_cr_dot_bare_lf_does_not_end_data, "\r.\n")
SMUGGLE_TEST(test_bare_cr_dot_crlf_does_not_end_data, "\r.\r\n")
SMUGGLE_TEST(test_crlf_dot_cr_cr_lf_does_not_end_data, "\r\n.\r\r\n")

static void test_nul_in_dot_line_does_not_end_data(void **state)
{
	struct harness *h = opened(state);
	static const char in[] = ENVELOPE "DATA\r\nbody\r\n.\0\r\n"
		"MAIL FROM:<evil@x.test>\r\n\r\n.\r\nNOOP\r\n";

	harness_feed(h, in, sizeof(in) - 1);
	assert_string_equal(harness_take(h), R_ENV R_354
		"550 5.6.0 Error: NUL character in message content\r\n"
		"250 2.0.0 Ok\r\n");
	assert_int_equal(h->f.ends, 0);
	assert_int_equal(h->f.aborts, 1);
}

static void test_nul_before_dot_does_not_end_data(void **state)
{
	struct harness *h = opened(state);
	static const char in[] = ENVELOPE "DATA\r\nbody\r\n\0.\r\nRSET\r\n"
		"\r\n.\r\n";

	harness_feed(h, in, sizeof(in) - 1);
	assert_string_equal(harness_take(h), R_ENV R_354
		"550 5.6.0 Error: NUL character in message content\r\n");
}

static void test_pipelined_commands_after_real_end_run_after_result(void **state)
{
	struct harness *h = opened(state);
	const char *in = ENVELOPE "DATA\r\none\r\n.\r\n" ENVELOPE
		"DATA\r\ntwo\r\n.\r\nQUIT\r\n";

	harness_say(h, in);
	assert_string_equal(harness_take(h), R_ENV R_354 R_QUEUED R_ENV R_354
			    R_QUEUED "221 2.0.0 Bye\r\n");
	assert_int_equal(h->f.ends, 2);
	assert_content(h, "two\r\n");
}

static void test_text_line_over_1000_rejects_message_with_550(void **state)
{
	struct harness *h = opened(state);
	char line[1001];

	harness_say(h, ENVELOPE "DATA\r\n");
	memset(line, 'a', sizeof(line));
	memcpy(line + 998, "\r\n", 2);	/* 1000 with CRLF: fine */
	harness_feed(h, line, 1000);
	memset(line, 'b', sizeof(line));
	memcpy(line + 999, "\r\n", 2);	/* 1001: too long */
	harness_feed(h, line, 1001);
	harness_say(h, ".\r\nNOOP\r\n");
	assert_string_equal(harness_take(h), R_ENV R_354
		"550 5.5.2 Error: message line longer than 1000 octets\r\n"
		"250 2.0.0 Ok\r\n");
	assert_int_equal(h->f.aborts, 1);
	assert_int_equal(h->f.ends, 0);
}

static void test_leading_dot_does_not_count_toward_line_length(void **state)
{
	struct harness *h = opened(state);
	char line[1001];

	harness_say(h, ENVELOPE "DATA\r\n");
	memset(line, '.', sizeof(line));
	memcpy(line + 999, "\r\n", 2);
	harness_feed(h, line, 1001);
	harness_say(h, ".\r\n");
	assert_string_equal(harness_take(h), R_ENV R_354 R_QUEUED);
	assert_int_equal(h->f.data_len, 1000);
}

static void test_data_over_size_limit_gets_552_at_end(void **state)
{
	struct harness *h = opened(state);
	char chunk[1000];
	int i;

	h->cfg.msg_size_max = 1000;
	memset(chunk, 'z', sizeof(chunk));
	memcpy(chunk + 98, "\r\n", 2);
	harness_say(h, ENVELOPE "DATA\r\n");
	for (i = 0; i < 11; i++)
		harness_feed(h, chunk, 100);
	assert_int_equal(h->f.aborts, 1);
	harness_say(h, ".\r\n");
	assert_string_equal(harness_take(h), R_ENV R_354
		"552 5.3.4 Error: message file too big\r\n");
	assert_int_equal(h->f.ends, 0);
	assert_true(h->f.data_total <= 1000);
}

static void test_msg_data_failure_gives_451_at_end(void **state)
{
	struct harness *h = opened(state);

	h->f.data_fail_after = 5;
	harness_say(h, ENVELOPE "DATA\r\n0123456789\r\n.\r\n");
	assert_string_equal(harness_take(h), R_ENV R_354
		"451 4.3.0 Error: temporary failure, try again later\r\n");
	assert_int_equal(h->f.aborts, 1);
	assert_int_equal(h->f.ends, 0);
}

static void test_bdat_single_chunk_last(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, ENVELOPE "BDAT 13 LAST\r\nline one\r\n.\r\n");
	assert_string_equal(harness_take(h), R_ENV R_QUEUED);
	assert_content(h, "line one\r\n.\r\n");
	assert_true(h->f.last_txn.bdat);
}

static void test_bdat_chunks_split_across_inputs(void **state)
{
	struct harness *h = opened(state);
	const char *in = ENVELOPE "BDAT 5\r\nHelloBDAT 8\r\n world\r\nBDAT 0 LAST\r\n";

	assert_int_equal(harness_feed_bytewise(h, in, strlen(in)), strlen(in));
	assert_string_equal(harness_take(h), R_ENV "250 2.0.0 Ok: 5 octets\r\n"
			    "250 2.0.0 Ok: 8 octets\r\n" R_QUEUED);
	assert_content(h, "Hello world\r\n");
	assert_int_equal(h->f.begins, 1);
}

static void test_bdat_0_last_ends_an_empty_message(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, ENVELOPE "BDAT 0 LAST\r\n");
	assert_string_equal(harness_take(h), R_ENV R_QUEUED);
	assert_int_equal(h->f.ends, 1);
	assert_int_equal(h->f.data_len, 0);
}

static void test_bdat_bare_lf_is_refused_and_cr_at_end_too(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, ENVELOPE "BDAT 5\r\na\nb\r\nBDAT 3 LAST\r\nc\r\n");
	assert_string_equal(harness_take(h), R_ENV R_BARE
		"503 5.5.1 Error: need MAIL command\r\n");
	assert_int_equal(h->f.aborts, 1);
	harness_say(h, ENVELOPE "BDAT 2 LAST\r\nc\r");
	assert_string_equal(harness_take(h), R_ENV R_BARE);
}

static void test_bdat_without_rcpt_reads_chunk_and_gets_503(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, "BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n");
	assert_string_equal(harness_take(h),
		"503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n");
	assert_false(smtp_session_closing(&h->s));
	assert_int_equal(h->f.begins, 0);
}

static void test_bdat_with_bad_size_closes(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, ENVELOPE "BDAT 1x LAST\r\nMAIL FROM:<e@x.test>\r\n");
	assert_string_equal(harness_take(h), R_ENV
		"501 5.5.4 Syntax: BDAT count [LAST]\r\n"
		"421 4.5.4 mx.test Error: closing, cannot find the end of the "
		"chunk\r\n");
	assert_true(smtp_session_closing(&h->s));
}

static void test_data_after_bdat_gets_503(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, ENVELOPE "BDAT 3\r\nabcDATA\r\n");
	assert_string_equal(harness_take(h), R_ENV "250 2.0.0 Ok: 3 octets\r\n"
		"503 5.5.1 Error: DATA after BDAT, transaction aborted\r\n");
	assert_int_equal(h->f.aborts, 1);
	assert_int_equal(h->s.state, SMTP_S_HELO);
}

static void test_rset_between_bdat_chunks_aborts_message(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, ENVELOPE "BDAT 3\r\nabcRSET\r\nBDAT 1 LAST\r\nx");
	assert_string_equal(harness_take(h), R_ENV "250 2.0.0 Ok: 3 octets\r\n"
		"250 2.0.0 Ok\r\n503 5.5.1 Error: need MAIL command\r\n");
	assert_int_equal(h->f.aborts, 1);
	assert_int_equal(h->f.ends, 0);
}

static void test_bdat_over_size_limit_gets_552(void **state)
{
	struct harness *h = opened(state);

	h->cfg.msg_size_max = 10;
	harness_say(h, ENVELOPE "BDAT 8\r\n12345678BDAT 8 LAST\r\n12345678");
	assert_string_equal(harness_take(h), R_ENV "250 2.0.0 Ok: 8 octets\r\n"
			    "552 5.3.4 Error: message file too big\r\n");
	assert_int_equal(h->f.aborts, 1);
	assert_int_equal(h->f.ends, 0);
}

static void test_disconnect_mid_data_aborts_and_never_ends(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, ENVELOPE "DATA\r\nhalf a mess");
	smtp_session_fini(&h->s);
	assert_int_equal(h->f.begins, 1);
	assert_int_equal(h->f.aborts, 1);
	assert_int_equal(h->f.ends, 0);
	assert_int_equal(h->f.session_ends, 1);
	assert_int_equal(h->f.why, SMTP_END_DISCONNECT);
	smtp_session_fini(&h->s);
	assert_int_equal(h->f.session_ends, 1);
}

static void test_disconnect_while_waiting_for_result_aborts(void **state)
{
	struct harness *h = opened(state);

	h->f.hold = true;
	harness_say(h, ENVELOPE "DATA\r\nx\r\n.\r\n");
	smtp_session_fini(&h->s);
	assert_int_equal(h->f.ends, 1);
	assert_int_equal(h->f.aborts, 1);
	assert_int_equal(smtp_session_message_result(&h->s, 250, "2.0.0",
						     "Ok", 0), -1);
}

static void test_disconnect_between_bdat_chunks_aborts(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, ENVELOPE "BDAT 3\r\nabcBDAT 5 LAST\r\nab");
	smtp_session_fini(&h->s);
	assert_int_equal(h->f.aborts, 1);
	assert_int_equal(h->f.ends, 0);
}

static void test_data_block_timeout_cuts_a_silent_client(void **state)
{
	struct harness *h = opened(state);

	harness_say(h, ENVELOPE "DATA\r\nsome");
	harness_take(h);
	assert_int_equal(smtp_session_deadline(&h->s), 3 * 60 * 1000);
	smtp_session_tick(&h->s, 3 * 60 * 1000);
	harness_drain(h);
	assert_string_equal(harness_take(h),
			    "421 4.4.2 mx.test Error: timeout exceeded\r\n");
	assert_int_equal(h->f.aborts, 1);
}

static void test_data_drip_feed_is_cut_at_total_deadline(void **state)
{
	struct harness *h = opened(state);
	uint64_t t;

	harness_say(h, ENVELOPE "DATA\r\n");
	harness_take(h);
	/* One byte a second never misses the 3-minute block timeout, but
	 * earns only 2 ms of credit a byte at 500 octets/s. */
	for (t = 1; t < 2000 && !smtp_session_closing(&h->s); t++) {
		h->f.now = t * 1000;
		harness_feed(h, "y", 1);
	}
	assert_true(t > 600 && t < 615);
	assert_string_equal(harness_take(h),
			    "421 4.4.2 mx.test Error: timeout exceeded\r\n");
	assert_int_equal(h->f.aborts, 1);
	assert_int_equal(h->f.ends, 0);
}

static void test_fast_big_message_gets_rate_credit(void **state)
{
	struct harness *h = opened(state);
	static char block[100000];
	int i;

	memset(block, 'q', sizeof(block));
	for (i = 0; i < 1000; i++)
		memcpy(block + 100 * i + 98, "\r\n", 2);
	harness_say(h, ENVELOPE "DATA\r\n");
	/* 10 MB over 11 minutes: past 10 min, but 1 MB/min >> 500 B/s. */
	for (i = 0; i < 100; i++) {
		h->f.now = (uint64_t) i * 6600;
		assert_int_equal(harness_feed(h, block, sizeof(block)),
				 sizeof(block));
	}
	h->f.now = 11 * 60 * 1000;
	harness_say(h, ".\r\n");
	assert_string_equal(harness_take(h), R_ENV R_354 R_QUEUED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_dot_stuffing_is_removed_before_scan),
		T(test_empty_message_ends_at_first_dot_line),
		T(test_data_streams_as_it_arrives),
		T(test_bytewise_data_gives_the_same_content),
		T(test_vector_text_scan_matches_bytewise_on_random_content),
		T(test_bare_lf_dot_lf_does_not_end_data),
		T(test_bare_lf_dot_crlf_does_not_end_data),
		T(test_bare_cr_dot_cr_does_not_end_data),
		T(test_crlf_dot_bare_cr_does_not_end_data),
		T(test_crlf_dot_bare_lf_does_not_end_data),
		T(test_bare_lf_dot_bare_cr_does_not_end_data),
		T(test_bare_cr_dot_bare_lf_does_not_end_data),
		T(test_bare_cr_dot_crlf_does_not_end_data),
		T(test_crlf_dot_cr_cr_lf_does_not_end_data),
		T(test_nul_in_dot_line_does_not_end_data),
		T(test_nul_before_dot_does_not_end_data),
		T(test_pipelined_commands_after_real_end_run_after_result),
		T(test_text_line_over_1000_rejects_message_with_550),
		T(test_leading_dot_does_not_count_toward_line_length),
		T(test_data_over_size_limit_gets_552_at_end),
		T(test_msg_data_failure_gives_451_at_end),
		T(test_bdat_single_chunk_last),
		T(test_bdat_chunks_split_across_inputs),
		T(test_bdat_0_last_ends_an_empty_message),
		T(test_bdat_bare_lf_is_refused_and_cr_at_end_too),
		T(test_bdat_without_rcpt_reads_chunk_and_gets_503),
		T(test_bdat_with_bad_size_closes),
		T(test_data_after_bdat_gets_503),
		T(test_rset_between_bdat_chunks_aborts_message),
		T(test_bdat_over_size_limit_gets_552),
		T(test_disconnect_mid_data_aborts_and_never_ends),
		T(test_disconnect_while_waiting_for_result_aborts),
		T(test_disconnect_between_bdat_chunks_aborts),
		T(test_data_block_timeout_cuts_a_silent_client),
		T(test_data_drip_feed_is_cut_at_total_deadline),
		T(test_fast_big_message_gets_rate_credit),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
