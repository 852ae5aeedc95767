/*
 * test_smtp_engine.c - SMTP sessions feeding the real engine with the
 *	default rules: the verdict becomes the reply to DATA/BDAT, the
 *	engine sees the message exactly as received (dot-unstuffed), and an
 *	aborted message leaves the worker ready for the next one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine.h"
#include "rules.h"
#include "smtp_session.h"

#define GTUBE "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
#define OUT_MAX 8192

/* The upper layer a transport would have: session events to the engine. */
struct bridge {
	struct ruleset *rs;
	struct engine_worker *w;
	struct engine_msg *m;
	struct smtp_session s;
	struct smtp_config cfg;
	char out[OUT_MAX];
	size_t out_len;
};

static int br_begin(void *ctx, const struct smtp_txn *t)
{
	struct bridge *b = ctx;

	b->m = engine_msg_begin(b->w, b->rs, &t->env);
	return b->m ? 0 : -1;
}

static int br_data(void *ctx, const uint8_t *buf, size_t len)
{
	struct bridge *b = ctx;

	return engine_msg_feed(b->m, buf, len);
}

/* br_end - scan verdict to reply; reject/tempfail carry the rule text */
static void br_end(void *ctx, const struct smtp_txn *t)
{
	struct bridge *b = ctx;
	struct verdict v;
	char enh[16] = "", text[VERDICT_REPLY_MAX] = "";
	int code = 451;

	if (engine_msg_end(b->m, &v) < 0) {
		snprintf(text, sizeof(text), "scan failed");
		snprintf(enh, sizeof(enh), "4.3.0");
	} else if (v.action == ACT_REJECT || v.action == ACT_TEMPFAIL) {
		if (sscanf(v.reply, "%d %15s %255[^\n]", &code, enh, text) < 2)
			code = v.action == ACT_REJECT ? 550 : 451;
	} else {
		code = 250;
		snprintf(enh, sizeof(enh), "2.0.0");
		snprintf(text, sizeof(text), "Ok: %s", action_name(v.action));
	}
	verdict_free(&v);
	engine_msg_free(b->m);
	b->m = NULL;
	smtp_session_message_result(&b->s, code, enh, text, 0);
}

static void br_abort(void *ctx)
{
	struct bridge *b = ctx;

	engine_msg_free(b->m);
	b->m = NULL;
}

static const struct smtp_ops bridge_ops = {
	.msg_begin = br_begin,
	.msg_data = br_data,
	.msg_end = br_end,
	.msg_abort = br_abort,
};

static int setup(void **state)
{
	struct bridge *b = calloc(1, sizeof(*b));
	struct rules_error err;

	assert_non_null(b);
	b->rs = rules_load_dir(RULES_DEFAULT_DIR, &err);
	if (b->rs == NULL)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	b->w = engine_worker_new(b->rs);
	assert_non_null(b->w);
	smtp_config_defaults(&b->cfg);
	b->cfg.hostname = "mx.test";
	assert_int_equal(smtp_session_init(&b->s, &b->cfg, &bridge_ops, b,
					   "198.18.0.2", 40000, 0), 0);
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	struct bridge *b = *state;

	smtp_session_fini(&b->s);
	engine_worker_free(b->w);
	rules_free(b->rs);
	free(b);
	return 0;
}

/* say - feed the client bytes, optionally one at a time; keep replies */
static void say(struct bridge *b, const char *str, bool bytewise)
{
	size_t len = strlen(str), off = 0, n, step;
	const uint8_t *p;

	while (off < len) {
		step = bytewise ? 1 : len - off;
		n = smtp_session_input(&b->s, (const uint8_t *) str + off, step, 0);
		off += n;
		n = smtp_session_output(&b->s, &p);
		assert_true(b->out_len + n < OUT_MAX);
		memcpy(b->out + b->out_len, p, n);
		b->out_len += n;
		b->out[b->out_len] = 0;
		smtp_session_output_done(&b->s, n);
	}
}

#define ENVELOPE "EHLO client.test\r\nMAIL FROM:<a@sender.test>\r\n" \
	"RCPT TO:<x@rcpt.test>\r\n"

static void test_clean_message_gets_250(void **state)
{
	struct bridge *b = *state;

	say(b, ENVELOPE "DATA\r\nFrom: a@sender.test\r\nSubject: lunch\r\n\r\n"
	    "See you at noon.\r\n.\r\n", false);
	assert_non_null(strstr(b->out, "\r\n250 2.0.0 Ok: pass\r\n"));
}

static void test_gtube_by_data_is_refused_with_5xx(void **state)
{
	struct bridge *b = *state;

	say(b, ENVELOPE "DATA\r\nSubject: test\r\n\r\n" GTUBE "\r\n.\r\n", true);
	assert_non_null(strstr(b->out, "\r\n550 5.7.1 "));
	assert_null(strstr(b->out, "Ok: pass"));
}

static void test_gtube_by_bdat_is_refused_with_5xx(void **state)
{
	struct bridge *b = *state;
	char cmd[256];

	snprintf(cmd, sizeof(cmd), ENVELOPE "BDAT %zu LAST\r\n"
		 "Subject: t\r\n\r\n" GTUBE "\r\n", strlen(GTUBE) + 16);
	say(b, cmd, false);
	assert_non_null(strstr(b->out, "\r\n550 5.7.1 "));
}

static void test_gtube_split_by_dot_stuffing_is_still_found(void **state)
{
	struct bridge *b = *state;

	/* GTUBE begins a line after a stuffed dot: the engine must see the
	 * unstuffed line, and find nothing of the stuffing. */
	say(b, ENVELOPE "DATA\r\nSubject: t\r\n\r\n." GTUBE "\r\n.\r\n", true);
	assert_non_null(strstr(b->out, "\r\n550 5.7.1 "));
}

static void test_aborted_message_leaves_worker_ready(void **state)
{
	struct bridge *b = *state;

	say(b, ENVELOPE "DATA\r\nSubject: t\r\n\r\nbody\n.\n" GTUBE
	    "\r\n.\r\n", false);
	assert_non_null(strstr(b->out, "550 5.6.0"));
	assert_null(b->m);
	b->out_len = 0;
	say(b, "MAIL FROM:<a@sender.test>\r\nRCPT TO:<x@rcpt.test>\r\n"
	    "DATA\r\nSubject: ok\r\n\r\nfine\r\n.\r\n", false);
	assert_non_null(strstr(b->out, "250 2.0.0 Ok: pass\r\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_clean_message_gets_250),
		T(test_gtube_by_data_is_refused_with_5xx),
		T(test_gtube_by_bdat_is_refused_with_5xx),
		T(test_gtube_split_by_dot_stuffing_is_still_found),
		T(test_aborted_message_leaves_worker_ready),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
