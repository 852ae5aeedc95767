/*
 * smtp_session.c - ESMTP server session: input loop, replies, timers
 *
 *	The exported API is described in smtp_session.h. This file owns the
 *	session life cycle, the bounded output buffer, deadlines and the
 *	transaction reset; commands are in smtp_cmd.c and message content in
 *	smtp_data.c (private interface: smtp_int.h).
 *
 * DIAGNOSTICS
 *	None logged here: the session reports through its replies and the
 *	ops callbacks; the transport logs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "smtp_int.h"

static const char *const smtp_state_names[SMTP_S_COUNT] = {
	[SMTP_S_INIT] = "init",
	[SMTP_S_HELO] = "helo",
	[SMTP_S_MAIL] = "mail",
	[SMTP_S_RCPT] = "rcpt",
	[SMTP_S_DATA] = "data",
	[SMTP_S_BDAT] = "bdat",
	[SMTP_S_WAIT] = "wait",
	[SMTP_S_TLS] = "starttls",
	[SMTP_S_CLOSING] = "closing",
	[SMTP_S_CLOSED] = "closed",
};

/* smtp_state_name - printable state, for logs */

const char *smtp_state_name(enum smtp_state st)
{
	if ((unsigned) st >= SMTP_S_COUNT)
		return "unknown";
	return smtp_state_names[st];
}

/* smtp_config_defaults - RFC 5321 limits and timeouts, house defaults */

void smtp_config_defaults(struct smtp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->hostname = "mxgate";
	cfg->cmd_line_max = SMTP_DEF_CMD_LINE_MAX;
	cfg->cmd_line_ext = SMTP_DEF_CMD_LINE_EXT;
	cfg->text_line_max = SMTP_DEF_TEXT_LINE_MAX;
	cfg->rcpt_max = SMTP_DEF_RCPT_MAX;
	cfg->msg_size_max = SMTP_DEF_MSG_SIZE_MAX;
	cfg->errors_max = SMTP_DEF_ERRORS_MAX;
	cfg->junk_max = SMTP_DEF_JUNK_MAX;
	cfg->timeout_cmd_ms = SMTP_DEF_TIMEOUT_CMD;
	cfg->timeout_data_block_ms = SMTP_DEF_TIMEOUT_BLOCK;
	cfg->timeout_data_ms = SMTP_DEF_TIMEOUT_DATA;
	cfg->timeout_result_ms = SMTP_DEF_TIMEOUT_RESULT;
	cfg->min_data_rate = SMTP_DEF_MIN_DATA_RATE;
	cfg->timeout_tls_ms = SMTP_DEF_TIMEOUT_TLS;
	cfg->bare_eol = SMTP_BARE_EOL_REJECT;
	cfg->reject_nul = true;
}

/* out_room - free output bytes, compacting the buffer first */

static size_t out_room(struct smtp_session *s)
{
	if (s->out_head > 0) {
		memmove(s->out, s->out + s->out_head, s->out_tail - s->out_head);
		s->out_tail -= s->out_head;
		s->out_head = 0;
	}
	return SMTP_OUT_CAP - s->out_tail;
}

/* out_vprintf - append formatted text, truncated to the room left */

static void out_vprintf(struct smtp_session *s, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void out_vprintf(struct smtp_session *s, const char *fmt, va_list ap)
{
	size_t room = out_room(s);
	int n;

	if (room == 0)
		return;
	n = vsnprintf((char *) s->out + s->out_tail, room, fmt, ap);
	if (n < 0)
		return;
	/* Truncation loses the CRLF; callers keep SMTP_OUT_RESERVE free so
	 * this only happens on a broken invariant, and then the client sees
	 * a cut reply rather than memory being overrun. */
	s->out_tail += (size_t) n < room ? (size_t) n : room - 1;
}

/* smtp_out_printf - append raw reply text (multi-line replies) */

void smtp_out_printf(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_vprintf(s, fmt, ap);
	va_end(ap);
}

/* reply_v - append "code enh text CRLF"; enh may be NULL */

static void reply_v(struct smtp_session *s, int code, const char *enh,
		    const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void reply_v(struct smtp_session *s, int code, const char *enh,
		    const char *fmt, va_list ap)
{
	char text[SMTP_REPLY_MAX];

	vsnprintf(text, sizeof(text), fmt, ap);
	if (enh && *enh)
		smtp_out_printf(s, "%d %s %s\r\n", code, enh, text);
	else
		smtp_out_printf(s, "%d %s\r\n", code, text);
}

/* smtp_reply - queue a one-line reply */

void smtp_reply(struct smtp_session *s, int code, const char *enh,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_v(s, code, enh, fmt, ap);
	va_end(ap);
}

/* smtp_reply_error - queue a refusal of a command; count 5xx, maybe 421 */

void smtp_reply_error(struct smtp_session *s, int code, const char *enh,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_v(s, code, enh, fmt, ap);
	va_end(ap);
	if (code >= 500 && ++s->errors >= s->cfg->errors_max) {
		smtp_reply(s, 421, "4.7.0", "%s Error: too many errors",
			   s->cfg->hostname);
		smtp_close(s, SMTP_END_ERRORS);
	}
}

/* smtp_text_clean - copy upper-layer text, no control characters */

void smtp_text_clean(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src && src[i] && i + 1 < size; i++) {
		unsigned char c = (unsigned char) src[i];

		/* A CR or LF in a reply would let its text forge more
		 * replies; the client must see exactly one line. */
		dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char) c;
	}
	dst[i] = 0;
}

/* smtp_msg_abort - tell the upper layer the open message is dropped */

void smtp_msg_abort(struct smtp_session *s)
{
	if (!s->msg_open)
		return;
	s->msg_open = false;
	if (s->ops->msg_abort)
		s->ops->msg_abort(s->ctx);
}

/* smtp_close - last reply queued: abort any message, stop reading */

void smtp_close(struct smtp_session *s, enum smtp_end why)
{
	smtp_msg_abort(s);
	if (s->state != SMTP_S_CLOSED)
		s->state = SMTP_S_CLOSING;
	s->end_why = why;
}

/* txn_reset - forget the transaction, and with it XFORWARD unless kept */

static void txn_reset(struct smtp_session *s, bool keep_xforward)
{
	smtp_msg_abort(s);
	if (!keep_xforward)
		smtp_xforward_reset(s);
	s->mail_from[0] = 0;
	s->envid[0] = 0;
	s->env_used = 0;
	s->rcpt_refused = 0;
	s->fail = SMTP_FAIL_NONE;
	memset(&s->txn, 0, sizeof(s->txn));
	s->txn.env.mail_from = s->mail_from;
	s->txn.env.rcpt = s->rcpt_ptr;
	s->txn.rcpts = s->rcpt;
	s->txn.envid = s->envid;
	s->txn.esmtp = s->esmtp;
	s->txn.tls_version = s->tls_version;
	s->txn.tls_cipher = s->tls_cipher;
	smtp_xforward_apply(s);	/* the client: the connection's or forwarded */
	if (s->state != SMTP_S_CLOSING && s->state != SMTP_S_CLOSED)
		s->state = s->helo[0] ? SMTP_S_HELO : SMTP_S_INIT;
}

/* smtp_txn_reset - forget the transaction; keep HELO and the counters */

void smtp_txn_reset(struct smtp_session *s)
{
	txn_reset(s, false);
}

/* smtp_txn_undo_mail - a refused MAIL: no transaction began, so the
 * XFORWARD attributes given for it still hold (Postfix's smtpd) */

void smtp_txn_undo_mail(struct smtp_session *s)
{
	txn_reset(s, true);
}

/* smtp_cmd_deadline - a new command must be complete by now + timeout */

void smtp_cmd_deadline(struct smtp_session *s, uint64_t now_ms)
{
	s->deadline_ms = now_ms + s->cfg->timeout_cmd_ms;
}

/* smtp_session_init - set up a session and queue the greeting */

int smtp_session_init(struct smtp_session *s, const struct smtp_config *cfg,
		      const struct smtp_ops *ops, void *ctx,
		      const char *client_addr, uint16_t port, uint64_t now_ms)
{
	if (cfg->cmd_line_max < 8
	    || cfg->cmd_line_max + cfg->cmd_line_ext > SMTP_CMD_LINE_CAP
	    || cfg->rcpt_max == 0 || cfg->rcpt_max > SMTP_RCPT_CAP
	    || cfg->text_line_max < 3 || cfg->errors_max == 0
	    || cfg->junk_max == 0 || cfg->hostname == NULL
	    || strlen(cfg->hostname) > SMTP_HELO_MAX) {
		errno = EINVAL;
		return -1;
	}
	memset(s, 0, offsetof(struct smtp_session, line));
	s->cfg = cfg;
	s->ops = ops;
	s->ctx = ctx;
	s->env_client = client_addr ? client_addr : "";
	s->client_port = port;
	s->end_why = SMTP_END_DISCONNECT;
	s->helo[0] = 0;
	s->out_head = s->out_tail = 0;
	s->state = SMTP_S_INIT;
	smtp_txn_reset(s);
	smtp_reply(s, 220, NULL, "%s ESMTP mxgate", cfg->hostname);
	smtp_cmd_deadline(s, now_ms);
	return 0;
}

/* smtp_session_refuse - a 554 greeting instead of the 220 */

int smtp_session_refuse(struct smtp_session *s, const char *text)
{
	char clean[SMTP_REPLY_TEXT_MAX];

	if (s->state != SMTP_S_INIT || s->line_len || s->errors || s->junk
	    || s->out_head != 0) {
		errno = EINVAL;
		return -1;
	}
	/* Only the greeting is queued: drop it for the refusal. */
	s->out_tail = 0;
	smtp_text_clean(clean, sizeof(clean), text && *text ? text
			: "Access denied");
	smtp_reply(s, 554, "5.7.1", "%s", clean);
	s->refused = true;
	return 0;
}

/* session_expired - act on a passed deadline; true when it fired */

static bool session_expired(struct smtp_session *s, uint64_t now_ms)
{
	switch (s->state) {
	case SMTP_S_CLOSING:
	case SMTP_S_CLOSED:
		return false;
	case SMTP_S_WAIT:
		if (now_ms < s->deadline_ms)
			return false;
		/* The client stopped waiting for us long ago: free the
		 * transaction; the upper layer drops a late result. */
		smtp_reply(s, 451, "4.4.7", "Error: timeout waiting for the "
			   "message result, try again later");
		smtp_txn_reset(s);
		smtp_cmd_deadline(s, now_ms);
		return true;
	case SMTP_S_DATA:
	case SMTP_S_BDAT:
		if (now_ms < s->deadline_ms && now_ms < s->idle_ms)
			return false;
		break;
	case SMTP_S_TLS:
		if (now_ms < s->deadline_ms)
			return false;
		/* Mid-handshake a plaintext 421 would be garbage to the
		 * client: just close. */
		smtp_close(s, SMTP_END_TIMEOUT);
		return true;
	default:
		if (now_ms < s->deadline_ms)
			return false;
		break;
	}
	smtp_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
		   s->cfg->hostname);
	smtp_close(s, SMTP_END_TIMEOUT);
	return true;
}

/* can_read - true when one more reply fits and nothing holds input */

static bool can_read(struct smtp_session *s)
{
	if (s->state == SMTP_S_WAIT)
		return false;
	return out_room(s) >= SMTP_REPLY_MAX + SMTP_OUT_RESERVE;
}

/* cmd_input - gather one command line; run it when its LF arrives */

static size_t cmd_input(struct smtp_session *s, const uint8_t *buf,
			size_t len, uint64_t now_ms)
{
	const uint8_t *lf = memchr(buf, '\n', len);
	size_t take = lf ? (size_t) (lf - buf) + 1 : len;
	size_t body = lf ? take - 1 : take;
	size_t wire;

	if (!s->overflow) {
		if (s->line_len + body > SMTP_CMD_LINE_CAP) {
			s->overflow = true;
		} else {
			memcpy(s->line + s->line_len, buf, body);
			s->line_len += body;
		}
	}
	if (lf == NULL)
		return take;

	if (s->overflow) {
		/* The rest of an over-long line is discarded, never run:
		 * its tail could be a command the client did not mean. */
		s->overflow = false;
		s->line_len = 0;
		smtp_reply_error(s, 500, "5.5.2", "Error: line too long");
	} else {
		wire = s->line_len + 1;
		if (s->line_len > 0 && s->line[s->line_len - 1] == '\r')
			s->line_len--;
		s->line[s->line_len] = 0;
		smtp_cmd_line(s, wire, now_ms);
		s->line_len = 0;
	}
	if (s->state != SMTP_S_DATA && s->state != SMTP_S_BDAT
	    && s->state != SMTP_S_WAIT && s->state != SMTP_S_TLS)
		smtp_cmd_deadline(s, now_ms);
	return take;
}

/* smtp_session_input - consume client bytes; see smtp_session.h */

size_t smtp_session_input(struct smtp_session *s, const uint8_t *buf,
			  size_t len, uint64_t now_ms)
{
	size_t off = 0;

	session_expired(s, now_ms);
	while (off < len) {
		if (s->state == SMTP_S_CLOSING || s->state == SMTP_S_CLOSED)
			return len;	/* after our last reply: ignored */
		if (s->state == SMTP_S_TLS) {
			/* Sent before the client could see our 220: plaintext
			 * injection (CVE-2011-0411), dropped unread. */
			s->tls_discarded += len - off;
			return len;
		}
		if (!can_read(s))
			break;
		switch (s->state) {
		case SMTP_S_DATA:
			off += smtp_data_input(s, buf + off, len - off, now_ms);
			break;
		case SMTP_S_BDAT:
			off += smtp_bdat_input(s, buf + off, len - off, now_ms);
			break;
		default:
			off += cmd_input(s, buf + off, len - off, now_ms);
			break;
		}
	}
	return off;
}

/* smtp_session_output - pending reply bytes for the transport */

size_t smtp_session_output(const struct smtp_session *s, const uint8_t **ptr)
{
	*ptr = s->out + s->out_head;
	return s->out_tail - s->out_head;
}

/* smtp_session_output_done - the transport sent n bytes */

void smtp_session_output_done(struct smtp_session *s, size_t n)
{
	size_t pending = s->out_tail - s->out_head;

	s->out_head += n < pending ? n : pending;
	if (s->out_head == s->out_tail)
		s->out_head = s->out_tail = 0;
}

/* smtp_session_tick - apply timeouts */

void smtp_session_tick(struct smtp_session *s, uint64_t now_ms)
{
	session_expired(s, now_ms);
}

/* smtp_session_deadline - next time smtp_session_tick() has work */

uint64_t smtp_session_deadline(const struct smtp_session *s)
{
	switch (s->state) {
	case SMTP_S_CLOSING:
	case SMTP_S_CLOSED:
		return UINT64_MAX;
	case SMTP_S_DATA:
	case SMTP_S_BDAT:
		return s->deadline_ms < s->idle_ms ? s->deadline_ms : s->idle_ms;
	default:
		return s->deadline_ms;
	}
}

/* smtp_session_message_result - the final reply to DATA/BDAT LAST */

int smtp_session_message_result(struct smtp_session *s, int code,
				const char *enhanced, const char *text,
				uint64_t now_ms)
{
	char clean[SMTP_REPLY_TEXT_MAX];

	if (s->state != SMTP_S_WAIT) {
		errno = EINVAL;
		return -1;
	}
	/* The message is the upper layer's now: no abort for it. */
	s->msg_open = false;
	if (code < 200 || code > 599 || (code >= 300 && code < 400)) {
		code = 451;
		enhanced = "4.3.0";
		text = "Error: internal error, try again later";
	}
	smtp_text_clean(clean, sizeof(clean), text);
	smtp_reply(s, code, enhanced, "%s", clean);
	if (code < 300)
		s->junk = 0;	/* a client that delivers is not idling */
	smtp_txn_reset(s);
	smtp_cmd_deadline(s, now_ms);
	if (code == 421)
		smtp_close(s, SMTP_END_ERRORS);
	return 0;
}

/* smtp_session_closing - the transport should drain output and close */

bool smtp_session_closing(const struct smtp_session *s)
{
	return s->state == SMTP_S_CLOSING || s->state == SMTP_S_CLOSED;
}

/* smtp_session_readable - whether reading more client bytes is useful */

bool smtp_session_readable(const struct smtp_session *s)
{
	if (s->state == SMTP_S_WAIT || smtp_session_closing(s))
		return false;
	return SMTP_OUT_CAP - (s->out_tail - s->out_head)
		>= SMTP_REPLY_MAX + SMTP_OUT_RESERVE;
}

/* smtp_session_tls_policy - whether to offer STARTTLS, whether to need it */

void smtp_session_tls_policy(struct smtp_session *s, bool offer, bool require)
{
	s->tls_offer = offer && s->ops->tls_start != NULL;
	s->tls_require = require;
}

/* smtp_session_tls_wanted - 220 queued: the transport starts the handshake */

bool smtp_session_tls_wanted(const struct smtp_session *s)
{
	return s->state == SMTP_S_TLS;
}

/* smtp_session_tls_done - handshake finished: SMTP starts over (RFC 3207 4.2) */

void smtp_session_tls_done(struct smtp_session *s, const char *version,
			   const char *cipher, uint64_t now_ms)
{
	if (s->state != SMTP_S_TLS)
		return;
	s->tls_active = true;
	smtp_text_clean(s->tls_version, sizeof(s->tls_version), version);
	smtp_text_clean(s->tls_cipher, sizeof(s->tls_cipher), cipher);
	/* Everything learnt in plaintext is forgotten: the client must
	 * say EHLO again, and a half-read line must not survive. */
	s->helo[0] = 0;
	s->esmtp = false;
	s->line_len = 0;
	s->overflow = false;
	s->state = SMTP_S_INIT;
	smtp_txn_reset(s);
	smtp_cmd_deadline(s, now_ms);
}

/* smtp_session_xforward_policy - whether this client may send XFORWARD */

void smtp_session_xforward_policy(struct smtp_session *s, bool allow)
{
	s->xf_allow = allow;
}

/* smtp_session_fini - the connection is gone: abort, report once */

void smtp_session_fini(struct smtp_session *s)
{
	if (s->state == SMTP_S_CLOSED)
		return;
	smtp_msg_abort(s);
	s->state = SMTP_S_CLOSED;
	if (!s->ended) {
		s->ended = true;
		if (s->ops->session_end)
			s->ops->session_end(s->ctx, s->end_why);
	}
}
