/*
 * fuzz_smtp.c - libFuzzer target: arbitrary client bytes, arbitrary splits,
 *	into one SMTP session
 *
 *	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
 *
 * DESCRIPTION
 *	The first four bytes pick the configuration (bare line ends refused
 *	or normalised, small or default limits), whether results are given
 *	at once or later, and seed the generator that cuts the rest into
 *	input calls, advances the virtual clock and drains the output by
 *	random amounts; one bit allows XFORWARD, as for a trusted peer. The rest is what the client sends. A "flaky" upper
 *	layer refuses some senders and recipients (with codes the session
 *	must sanitise) and fails some msg_begin and msg_data calls.
 *
 *	An upper layer checks the session's promises and aborts on a broken
 *	one: content passed up has no bare CR, bare LF or (when refused) NUL,
 *	and never exceeds the size limit; the client attributes a message
 *	begins with (forwarded or not) are printable, without the characters
 *	XFORWARD must neuter; every message begun is ended or
 *	aborted, never both, never twice; a result is only accepted while a
 *	message waits; session_end comes exactly once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_session.h"

struct fuzz_upper {
	struct smtp_session *s;
	const struct smtp_config *cfg;
	uint64_t now;
	bool later;		/* answer at the next step, not in msg_end */
	bool flaky;		/* checks refuse, begin/data fail sometimes */
	bool open;		/* a message begun, not ended or aborted */
	bool waiting;		/* ended, result not given yet */
	uint8_t prev;		/* last content byte, across chunks */
	uint64_t size;
	unsigned session_ends;
};

/* check - a broken promise is a crash for the fuzzer to report */

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_smtp: broken invariant: %s\n", what);
		abort();
	}
}

/* fz_mail_check - refuse senders starting with x, with a bad code */

static int fz_mail_check(void *ctx, const struct smtp_txn *t,
			 struct smtp_reply *r)
{
	struct fuzz_upper *u = ctx;

	check(t->env.mail_from != NULL, "mail_check without sender");
	if (!u->flaky || t->env.mail_from[0] != 'x')
		return 0;
	r->code = 0;		/* the session must not pass this on */
	memcpy(r->enhanced, "9.9", 4);
	snprintf(r->text, sizeof(r->text), "no\r\n250 forged");
	return -1;
}

/* fz_rcpt_check - refuse recipients starting with n */

static int fz_rcpt_check(void *ctx, const struct smtp_txn *t,
			 const struct smtp_rcpt *rcpt, struct smtp_reply *r)
{
	struct fuzz_upper *u = ctx;

	check(t->env.nrcpt < u->cfg->rcpt_max, "rcpt_check beyond rcpt_max");
	if (!u->flaky || rcpt->addr[0] != 'n')
		return 0;
	r->code = rcpt->addr[1] == '4' ? 450 : 550;
	memcpy(r->enhanced, rcpt->addr[1] == '4' ? "4.2.0" : "5.1.1", 6);
	r->text[0] = 0;
	return -1;
}

/* check_attr - a client attribute fit for a header or a log line */

static void check_attr(const char *v, const char *what)
{
	check(v != NULL, what);
	for (; *v; v++)
		check(*v > ' ' && *v < 0x7f && !strchr("<>()\\\";@", *v), what);
}

/* fz_begin - no message may be open already */

static int fz_begin(void *ctx, const struct smtp_txn *t)
{
	struct fuzz_upper *u = ctx;

	check(!u->open && !u->waiting, "msg_begin while a message is open");
	check(t->env.nrcpt > 0, "msg_begin without recipients");
	check_attr(t->env.client_addr, "client address not clean");
	check_attr(t->env.client_name, "client name not clean");
	check_attr(t->proto, "XFORWARD PROTO not clean");
	check_attr(t->ident, "XFORWARD IDENT not clean");
	if (t->xforward)
		check_attr(t->env.helo, "XFORWARD HELO not clean");
	if (u->flaky && t->env.nrcpt == 2)
		return -1;
	u->open = true;
	u->prev = '\n';
	u->size = 0;
	return 0;
}

/* fz_data - content: CRLF line ends only, no NUL, within the limit */

static int fz_data(void *ctx, const uint8_t *buf, size_t len)
{
	struct fuzz_upper *u = ctx;
	size_t i;

	check(u->open && !u->waiting, "msg_data outside a message");
	check(len > 0, "empty msg_data");
	for (i = 0; i < len; i++) {
		check(buf[i] != '\n' || u->prev == '\r', "bare LF passed up");
		check(u->prev != '\r' || buf[i] == '\n', "bare CR passed up");
		check(buf[i] != 0 || !u->cfg->reject_nul, "NUL passed up");
		u->prev = buf[i];
	}
	u->size += len;
	check(u->size <= u->cfg->msg_size_max, "size limit passed");
	return u->flaky && u->size > 300 ? -1 : 0;
}

/* fz_end - ask for nothing more; answer now or at the next step */

static void fz_end(void *ctx, const struct smtp_txn *t)
{
	struct fuzz_upper *u = ctx;

	check(u->open && !u->waiting, "msg_end outside a message");
	check(u->prev != '\r', "message ends in a bare CR");
	check(t->size == u->size, "size accounting");
	u->waiting = true;
	if (!u->later) {
		u->open = u->waiting = false;
		check(smtp_session_message_result(u->s, 250, "2.0.0", "Ok",
						  u->now) == 0,
		      "result refused while waiting");
	}
}

/* fz_abort - only an open or waiting message can be aborted */

static void fz_abort(void *ctx)
{
	struct fuzz_upper *u = ctx;

	check(u->open, "msg_abort without a message");
	u->open = u->waiting = false;
}

/* fz_session_end - once */

static void fz_session_end(void *ctx, enum smtp_end why)
{
	struct fuzz_upper *u = ctx;

	u->session_ends++;
}

static const struct smtp_ops fz_ops = {
	.mail_check = fz_mail_check,
	.rcpt_check = fz_rcpt_check,
	.msg_begin = fz_begin,
	.msg_data = fz_data,
	.msg_end = fz_end,
	.msg_abort = fz_abort,
	.session_end = fz_session_end,
};

/* next_rand - xorshift32: reproducible splits from the seed bytes */

static uint32_t next_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* drain - take some of the output, as a slow socket would */

static void drain(struct smtp_session *s, uint32_t *rnd)
{
	const uint8_t *p;
	size_t n = smtp_session_output(s, &p);

	check(n <= SMTP_OUT_CAP, "output beyond its buffer");
	if (n && (next_rand(rnd) & 3))
		smtp_session_output_done(s, next_rand(rnd) & 1 ? n
					 : next_rand(rnd) % (n + 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_session s;
	struct smtp_config cfg;
	struct fuzz_upper u;
	uint32_t rnd;
	size_t off = 4, n, took, stuck = 0;

	if (size < 4)
		return 0;
	smtp_config_defaults(&cfg);
	cfg.hostname = "fuzz.test";
	if (data[0] & 1)
		cfg.bare_eol = SMTP_BARE_EOL_NORMALISE;
	if (data[0] & 2) {
		cfg.msg_size_max = 64;
		cfg.text_line_max = 16;
		cfg.rcpt_max = 2;
		cfg.errors_max = 4;
		cfg.cmd_line_max = 32;
		cfg.cmd_line_ext = 16;
	}
	cfg.reject_nul = !(data[0] & 4);
	memset(&u, 0, sizeof(u));
	u.s = &s;
	u.cfg = &cfg;
	u.later = data[0] & 8;
	u.flaky = data[0] & 16;
	rnd = ((uint32_t) data[1] << 16 | (uint32_t) data[2] << 8 | data[3]) | 1;

	check(smtp_session_init(&s, &cfg, &fz_ops, &u, "198.18.0.9", 2525, 0)
	      == 0, "init");
	if (data[0] & 64)
		smtp_session_xforward_policy(&s, true);
	if (data[0] & 32)
		check(smtp_session_refuse(&s, "blocked\r\n250 forged") == 0,
		      "refuse after init");
	while (off < size && !smtp_session_closing(&s)) {
		n = 1 + next_rand(&rnd) % 64;
		if (n > size - off)
			n = size - off;
		if ((next_rand(&rnd) & 15) == 0) {
			u.now += next_rand(&rnd) % (200 * 1000);
			smtp_session_tick(&s, u.now);
		}
		took = smtp_session_input(&s, data + off, n, u.now);
		check(took <= n, "took more than offered");
		off += took;
		drain(&s, &rnd);
		if (u.waiting && (took < n || (next_rand(&rnd) & 1))) {
			u.open = u.waiting = false;
			check(smtp_session_message_result(&s, next_rand(&rnd) & 1
				? 250 : 451, "2.0.0", "Ok\r\nforged", u.now) == 0,
			      "result refused while waiting");
		}
		stuck = took ? 0 : stuck + 1;
		if (stuck > 8) {
			/* Nothing taken with output drained and no result
			 * pending would be a stall the transport could not
			 * break. */
			smtp_session_output_done(&s, SMTP_OUT_CAP);
			check(stuck < 16 || u.waiting, "session stalls");
		}
	}
	if (u.waiting) {
		u.open = u.waiting = false;
		check(smtp_session_message_result(&s, 250, "2.0.0", "x", u.now)
		      == 0, "result refused while waiting");
	} else {
		check(smtp_session_message_result(&s, 250, "2.0.0", "x", u.now)
		      < 0, "result taken with no message waiting");
	}
	smtp_session_fini(&s);
	smtp_session_fini(&s);
	check(u.session_ends == 1, "session_end not exactly once");
	check(!u.open, "message left open after fini");
	return 0;
}
