/*
 * smtp_data.c - message content: DATA dot-unstuffing, BDAT chunks
 *
 *	void smtp_data_start(struct smtp_session *s, bool fresh,
 *			uint64_t now_ms);
 *	size_t smtp_data_input(struct smtp_session *s, const uint8_t *buf,
 *			size_t len, uint64_t now_ms);
 *	size_t smtp_bdat_input(struct smtp_session *s, const uint8_t *buf,
 *			size_t len, uint64_t now_ms);
 *	void smtp_bdat_chunk_end(struct smtp_session *s, uint64_t now_ms);
 *
 * DESCRIPTION
 *	Content streams to ops->msg_data as it arrives, in spans of the
 *	caller's buffer (no copy): a span is cut where a transparency dot is
 *	dropped or a line end is normalised, and at the end of each input.
 *
 *	DATA ends at CRLF "." CRLF only. The state machine remembers whether
 *	the current line began after a genuine CRLF (D_BOL): only such a
 *	line can be a dot line. After a bare LF or bare CR the next line is
 *	never one, so none of the smuggling spellings (LF.LF, CR.CR, CRLF.LF,
 *	LF.CRLF, ...) can end the data here, and since the message is then
 *	refused (or its line ends normalised and re-stuffed by the relay) no
 *	downstream can end it there either.
 *
 *	Limits (size, text line length, NUL, bare line ends) do not stop the
 *	reading: the message is aborted upstairs at once (ops->msg_abort),
 *	the rest is read and dropped, and the refusal is the reply to the end
 *	of data, so client and server stay in step.
 *
 * DIAGNOSTICS
 *	Replies at the end of data: 552 5.3.4 too big, 550 5.6.0 bare CR/LF
 *	or NUL, 550 5.5.2 line too long, 451 4.3.0 upper layer failed.
 */
#include <inttypes.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "smtp_int.h"

/* Content scanner states (s->dstate). */
enum {
	D_BOL = 0,	/* line start after a genuine CRLF (or 354) */
	D_TEXT,		/* inside a line, or after a bare line end */
	D_CR,		/* CR passed up, LF expected */
	D_DOT,		/* "." at D_BOL, held */
	D_DOT_CR,	/* "." CR at D_BOL, both held: maybe the end */
};

/* content_fail - the message is refused: abort it upstairs now */

static void content_fail(struct smtp_session *s, enum smtp_fail why)
{
	if (s->fail != SMTP_FAIL_NONE)
		return;
	s->fail = why;
	smtp_msg_abort(s);
}

/* emit - pass content up, enforcing the size limit */

static void emit(struct smtp_session *s, const uint8_t *p, size_t n)
{
	if (n == 0 || s->fail != SMTP_FAIL_NONE)
		return;
	if (s->txn.size + n > s->cfg->msg_size_max) {
		content_fail(s, SMTP_FAIL_SIZE);
		return;
	}
	if (s->ops->msg_data && s->ops->msg_data(s->ctx, p, n) < 0) {
		content_fail(s, SMTP_FAIL_UPPER);
		return;
	}
	s->txn.size += n;
}

/* emit_str - pass up bytes that are not in the input (normalising) */

static void emit_str(struct smtp_session *s, const char *str)
{
	emit(s, (const uint8_t *) str, strlen(str));
}

/* line_octet - count one octet of the current text line */

static void line_octet(struct smtp_session *s)
{
	if (++s->text_line > s->cfg->text_line_max)
		content_fail(s, SMTP_FAIL_LINE);
}

/* bare_eol - a bare CR or LF: refuse, or say "normalise it" */

static bool bare_eol(struct smtp_session *s)
{
	if (s->cfg->bare_eol == SMTP_BARE_EOL_NORMALISE)
		return true;
	content_fail(s, SMTP_FAIL_BARE_EOL);
	return false;
}

/* after_cr - the byte after a passed-up CR; false when it was the LF */

static bool after_cr(struct smtp_session *s, const uint8_t *buf, size_t i,
		     size_t *span)
{
	if (buf[i] == '\n') {
		line_octet(s);
		s->text_line = 0;
		return false;
	}
	if (bare_eol(s)) {
		emit(s, buf + *span, i - *span);
		emit_str(s, "\n");
		*span = i;
	}
	s->text_line = 0;
	return true;
}

/* text_byte - an ordinary content position: CR, bare LF, NUL, octet */

static void text_byte(struct smtp_session *s, const uint8_t *buf, size_t i,
		      size_t *span)
{
	uint8_t c = buf[i];

	s->dstate = D_TEXT;
	if (c == '\r') {
		s->dstate = D_CR;
		line_octet(s);
		return;
	}
	if (c == '\n') {
		if (bare_eol(s)) {
			emit(s, buf + *span, i - *span);
			emit_str(s, "\r");
			*span = i;
		}
		s->text_line = 0;
		return;
	}
	if (c == 0 && s->cfg->reject_nul)
		content_fail(s, SMTP_FAIL_NUL);
	line_octet(s);
}

/* text_run - skip ordinary octets inside a line; how many were skipped */

static size_t text_run(struct smtp_session *s, const uint8_t *p, size_t n)
{
	size_t i = 0;

	/* The fast path: most content is plain line text, and only CR, LF
	 * and NUL need the state machine. Sixteen bytes per step (SSE2 is
	 * part of x86-64): a 76-column base64 line is five steps instead of
	 * 76 rounds of three compares, which made this loop the data
	 * plane's largest user-space cost on 100 KB messages. */
#ifdef __SSE2__
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	const __m128i nul = _mm_setzero_si128();

	while (i + 16 <= n) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
		__m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr),
							_mm_cmpeq_epi8(v, lf)),
					   _mm_cmpeq_epi8(v, nul));
		unsigned mask = (unsigned)_mm_movemask_epi8(hit);

		if (mask) {
			i += (size_t)__builtin_ctz(mask);
			goto found;
		}
		i += 16;
	}
#endif
	while (i < n && p[i] != '\r' && p[i] != '\n' && p[i] != 0)
		i++;
#ifdef __SSE2__
found:
#endif
	s->text_line += i;
	if (s->text_line > s->cfg->text_line_max)
		content_fail(s, SMTP_FAIL_LINE);
	return i;
}

/* content_timers - idle and total deadlines after n more octets */

static void content_timers(struct smtp_session *s, size_t n, uint64_t now_ms)
{
	const struct smtp_config *cfg = s->cfg;
	uint64_t credit = 0, counted;

	s->data_raw += n;
	if (n)
		s->idle_ms = now_ms + cfg->timeout_data_block_ms;
	/* Credit stops at the size limit so that a client streaming junk
	 * past it cannot keep the session forever. */
	counted = s->data_raw < cfg->msg_size_max ? s->data_raw
		: cfg->msg_size_max;
	if (cfg->min_data_rate)
		credit = counted * 1000 / cfg->min_data_rate;
	s->deadline_ms = s->data_start_ms + cfg->timeout_data_ms + credit;
}

/* reply_fail - the refusal for a message that failed while streaming */

static void reply_fail(struct smtp_session *s)
{
	switch (s->fail) {
	case SMTP_FAIL_SIZE:
		smtp_reply(s, 552, "5.3.4", "Error: message file too big");
		break;
	case SMTP_FAIL_BARE_EOL:
		smtp_reply(s, 550, "5.6.0", "Error: bare CR or LF in message "
			   "content (RFC 5321 2.3.8)");
		break;
	case SMTP_FAIL_NUL:
		smtp_reply(s, 550, "5.6.0",
			   "Error: NUL character in message content");
		break;
	case SMTP_FAIL_LINE:
		smtp_reply(s, 550, "5.5.2", "Error: message line longer than "
			   "%zu octets", s->cfg->text_line_max);
		break;
	default:
		smtp_reply(s, 451, "4.3.0",
			   "Error: temporary failure, try again later");
		break;
	}
}

/* content_end - end of the message: refuse it, or ask for the result */

static void content_end(struct smtp_session *s, uint64_t now_ms)
{
	if (s->fail != SMTP_FAIL_NONE) {
		reply_fail(s);
		smtp_txn_reset(s);
		smtp_cmd_deadline(s, now_ms);
		return;
	}
	s->state = SMTP_S_WAIT;
	s->deadline_ms = now_ms + s->cfg->timeout_result_ms;
	if (s->ops->msg_end)
		s->ops->msg_end(s->ctx, &s->txn);
	else
		smtp_session_message_result(s, 250, "2.0.0", "Ok", now_ms);
}

/* smtp_data_start - content begins: timers, and scanner unless a BDAT
 * chunk continues a message */

void smtp_data_start(struct smtp_session *s, bool fresh, uint64_t now_ms)
{
	if (fresh) {
		s->dstate = D_BOL;
		s->text_line = 0;
	}
	s->data_start_ms = now_ms;
	s->data_raw = 0;
	s->idle_ms = now_ms + s->cfg->timeout_data_block_ms;
	s->deadline_ms = now_ms + s->cfg->timeout_data_ms;
}

/* smtp_data_input - DATA content up to and including CRLF.CRLF */

size_t smtp_data_input(struct smtp_session *s, const uint8_t *buf,
		       size_t len, uint64_t now_ms)
{
	size_t i, span = 0;

	for (i = 0; i < len; i++) {
		if (s->dstate == D_TEXT) {
			i += text_run(s, buf + i, len - i);
			if (i == len)
				break;
		}
		switch (s->dstate) {
		case D_BOL:
			if (buf[i] == '.') {
				emit(s, buf + span, i - span);
				span = i + 1;
				s->dstate = D_DOT;
				continue;
			}
			break;
		case D_DOT:
			if (buf[i] == '\r') {
				span = i + 1;	/* held: maybe the end */
				s->dstate = D_DOT_CR;
				continue;
			}
			if (buf[i] == '\n') {
				/* "." bare LF: content, never the end */
				if (bare_eol(s))
					emit_str(s, ".\r");
				s->text_line = 0;
				s->dstate = D_TEXT;
				continue;
			}
			/* Otherwise the dot was transparency (RFC 5321
			 * 4.5.2): already dropped, the byte is text. */
			break;
		case D_DOT_CR:
			if (buf[i] == '\n') {
				content_timers(s, i + 1, now_ms);
				content_end(s, now_ms);
				return i + 1;
			}
			/* "." bare CR: the line was a lone dot */
			if (bare_eol(s))
				emit_str(s, ".\r\n");
			s->text_line = 0;
			span = i;
			break;
		case D_CR:
			if (!after_cr(s, buf, i, &span)) {
				s->dstate = D_BOL;
				continue;
			}
			break;
		default:
			break;
		}
		text_byte(s, buf, i, &span);
	}
	emit(s, buf + span, len - span);
	content_timers(s, len, now_ms);
	return len;
}

/* smtp_bdat_input - BDAT chunk content: counted, no dot-unstuffing */

size_t smtp_bdat_input(struct smtp_session *s, const uint8_t *buf,
		       size_t len, uint64_t now_ms)
{
	size_t i, span = 0;
	size_t n = len < s->bdat_left ? len : (size_t) s->bdat_left;

	for (i = 0; i < n; i++) {
		if (s->dstate != D_CR) {
			i += text_run(s, buf + i, n - i);
			if (i == n)
				break;
		}
		if (s->dstate == D_CR && !after_cr(s, buf, i, &span)) {
			s->dstate = D_TEXT;
			continue;
		}
		text_byte(s, buf, i, &span);
	}
	emit(s, buf + span, n - span);
	s->bdat_left -= n;
	content_timers(s, n, now_ms);
	if (s->bdat_left == 0)
		smtp_bdat_chunk_end(s, now_ms);
	return n;
}

/* smtp_bdat_chunk_end - the chunk is read: refuse, go on, or end */

void smtp_bdat_chunk_end(struct smtp_session *s, uint64_t now_ms)
{
	if (s->fail == SMTP_FAIL_SEQUENCE) {
		s->fail = SMTP_FAIL_NONE;
		s->state = s->bdat_resume;
		smtp_sequence_error(s, s->bdat_refusal);
		smtp_cmd_deadline(s, now_ms);
		return;
	}
	if (s->bdat_last && s->dstate == D_CR && bare_eol(s))
		emit_str(s, "\n");
	if (s->bdat_last || s->fail != SMTP_FAIL_NONE) {
		/* RFC 3030 2: a failed chunk fails the transaction. */
		content_end(s, now_ms);
		return;
	}
	smtp_reply(s, 250, "2.0.0", "Ok: %" PRIu64 " octets", s->data_raw);
	s->state = SMTP_S_RCPT;
	smtp_cmd_deadline(s, now_ms);
}
