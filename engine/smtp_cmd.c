/*
 * smtp_cmd.c - ESMTP command table: sequence checks, MAIL/RCPT parsing
 *
 *	void smtp_cmd_line(struct smtp_session *s, size_t wire_len,
 *			uint64_t now_ms);
 *	void smtp_sequence_error(struct smtp_session *s, int seq);
 *
 * DESCRIPTION
 *	smtp_cmd_line() runs the NUL-terminated command in s->line (CRLF
 *	stripped; wire_len is its length on the wire, terminator included).
 *	Each verb has a check (is it in sequence, are the arguments there)
 *	and a proceed (parse, call the upper layer, reply). Parameters follow
 *	RFC 1870 (SIZE), 6152 (BODY), 6531 (SMTPUTF8) and 3461 (DSN); they
 *	are refused after HELO, as RFC 5321 4.1.1.11 wants.
 *
 * DIAGNOSTICS
 *	Replies only: 500 5.5.2 unknown or too long, 501 5.5.4 syntax,
 *	501 5.1.7/5.1.3 bad address, 503 5.5.1 sequence, 555 5.5.4 unknown
 *	parameter, 552 5.3.4 SIZE too big, 553 5.6.7 UTF-8 address without
 *	SMTPUTF8, 452 4.5.3 too many recipients.
 */
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "smtp_int.h"

struct smtp_cmd {
	const char *verb;
	int (*check)(struct smtp_session *s, const struct smtp_cmd *c,
		     char *args);
	void (*proceed)(struct smtp_session *s, char *args, uint64_t now_ms);
	bool ext_line;		/* MAIL/RCPT: parameters lengthen the line */
	bool junk;		/* counts toward junk_max */
};

/* smtp_sequence_error - refuse a command given out of sequence */

void smtp_sequence_error(struct smtp_session *s, int seq)
{
	switch (seq) {
	case SMTP_SEQ_NEED_HELO:
		smtp_reply_error(s, 503, "5.5.1", "Error: send HELO/EHLO first");
		break;
	case SMTP_SEQ_NEED_MAIL:
		smtp_reply_error(s, 503, "5.5.1", "Error: need MAIL command");
		break;
	case SMTP_SEQ_NEED_RCPT:
		smtp_reply_error(s, 503, "5.5.1", "Error: need RCPT command");
		break;
	default:
		smtp_reply_error(s, 554, "5.5.1", "Error: no valid recipients");
		break;
	}
}

/* need_rcpt - which refusal a DATA/BDAT gets before any recipient */

static int need_rcpt(const struct smtp_session *s)
{
	if (s->state == SMTP_S_INIT || s->state == SMTP_S_HELO)
		return SMTP_SEQ_NEED_MAIL;
	if (s->state == SMTP_S_MAIL)
		return s->rcpt_refused ? SMTP_SEQ_NO_VALID_RCPT
			: SMTP_SEQ_NEED_RCPT;
	return 0;
}

/* hook_refusal - reply with an upper-layer refusal, sanitised */

static void hook_refusal(struct smtp_session *s, const struct smtp_reply *r)
{
	char text[SMTP_REPLY_TEXT_MAX];
	const char *enh = r->enhanced;
	int code = r->code;

	if (code < 400 || code > 599) {
		code = 550;
		enh = "5.7.1";
	}
	if (enh[0] != (char) ('0' + code / 100) || enh[1] != '.'
	    || strspn(enh, "0123456789.") != strlen(enh))
		enh = code >= 500 ? "5.7.1" : "4.7.1";
	smtp_text_clean(text, sizeof(text), r->text[0] ? r->text : "Refused");
	smtp_reply_error(s, code, enh, "%s", text);
}

/* check_helo - HELO/EHLO need a name */

static int check_helo(struct smtp_session *s, const struct smtp_cmd *c,
		      char *args)
{
	if (*args == 0) {
		smtp_reply_error(s, 501, "5.5.4", "Syntax: %s hostname", c->verb);
		return -1;
	}
	if (strlen(args) > SMTP_HELO_MAX) {
		smtp_reply_error(s, 501, "5.5.4", "Error: %s name too long",
				 c->verb);
		return -1;
	}
	return 0;
}

/* helo_common - (re)start the session: a HELO also acts as RSET */

static void helo_common(struct smtp_session *s, const char *args, bool esmtp)
{
	smtp_text_clean(s->helo, sizeof(s->helo), args);
	s->esmtp = esmtp;
	s->state = SMTP_S_HELO;
	smtp_txn_reset(s);
}

/* proceed_helo - plain SMTP */

static void proceed_helo(struct smtp_session *s, char *args, uint64_t now_ms)
{
	helo_common(s, args, false);
	smtp_reply(s, 250, NULL, "%s", s->cfg->hostname);
}

/* proceed_ehlo - ESMTP: list the extensions */

static void proceed_ehlo(struct smtp_session *s, char *args, uint64_t now_ms)
{
	helo_common(s, args, true);
	smtp_out_printf(s, "250-%s\r\n250-PIPELINING\r\n250-SIZE %" PRIu64
			"\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n"
			"250-SMTPUTF8\r\n250-DSN\r\n%s%s250 CHUNKING\r\n",
			s->cfg->hostname, s->cfg->msg_size_max,
			s->tls_offer && !s->tls_active ? "250-STARTTLS\r\n" : "",
			s->xf_allow ? "250-XFORWARD NAME ADDR PORT PROTO HELO"
			" IDENT SOURCE\r\n" : "");
}

/* check_mail - MAIL after HELO, not inside a transaction */

static int check_mail(struct smtp_session *s, const struct smtp_cmd *c,
		      char *args)
{
	if (s->state == SMTP_S_INIT) {
		smtp_sequence_error(s, SMTP_SEQ_NEED_HELO);
		return -1;
	}
	if (s->state != SMTP_S_HELO) {
		smtp_reply_error(s, 503, "5.5.1", "Error: nested MAIL command");
		return -1;
	}
	if (s->tls_require && !s->tls_active) {
		smtp_reply_error(s, 530, "5.7.0",
				 "Must issue a STARTTLS command first");
		return -1;
	}
	return 0;
}

/* mail_params - parse MAIL parameters into the transaction */

static int mail_params(struct smtp_session *s, char *rest,
		       const char **envid)
{
	struct smtp_txn *t = &s->txn;
	bool seen_size = false, seen_utf8 = false;
	char *key, *val;

	while ((key = smtp_next_param(&rest, &val)) != NULL) {
		if (!s->esmtp) {
			smtp_reply_error(s, 555, "5.5.4",
					 "Error: parameters need EHLO");
			return -1;
		}
		if (strcasecmp(key, "SIZE") == 0 && !seen_size) {
			seen_size = true;
			if (smtp_parse_size(val, &t->size_declared) < 0)
				goto bad;
		} else if (strcasecmp(key, "BODY") == 0 && !t->body) {
			if (val && strcasecmp(val, "7BIT") == 0)
				t->body = SMTP_BODY_7BIT;
			else if (val && strcasecmp(val, "8BITMIME") == 0)
				t->body = SMTP_BODY_8BITMIME;
			else
				goto bad;
		} else if (strcasecmp(key, "SMTPUTF8") == 0 && !seen_utf8) {
			seen_utf8 = true;
			if (val)
				goto bad;
			t->smtputf8 = true;
		} else if (strcasecmp(key, "RET") == 0 && !t->ret) {
			if (val && strcasecmp(val, "FULL") == 0)
				t->ret = SMTP_RET_FULL;
			else if (val && strcasecmp(val, "HDRS") == 0)
				t->ret = SMTP_RET_HDRS;
			else
				goto bad;
		} else if (strcasecmp(key, "ENVID") == 0 && !*envid) {
			if (val == NULL || !smtp_xtext_valid(val, SMTP_ENVID_MAX, false))
				goto bad;
			*envid = val;
		} else if (strcasecmp(key, "SIZE") == 0
			   || strcasecmp(key, "BODY") == 0
			   || strcasecmp(key, "SMTPUTF8") == 0
			   || strcasecmp(key, "RET") == 0
			   || strcasecmp(key, "ENVID") == 0) {
			smtp_reply_error(s, 501, "5.5.4",
					 "Error: duplicate %s parameter", key);
			return -1;
		} else {
			smtp_reply_error(s, 555, "5.5.4",
					 "Error: unsupported parameter");
			return -1;
		}
	}
	return 0;
bad:
	smtp_reply_error(s, 501, "5.5.4", "Error: bad %s parameter", key);
	return -1;
}

/* proceed_mail - MAIL FROM:<addr> [SIZE BODY SMTPUTF8 RET ENVID] */

static void proceed_mail(struct smtp_session *s, char *args, uint64_t now_ms)
{
	char addr[SMTP_PATH_MAX + 1], *rest;
	const char *envid = NULL;
	struct smtp_reply r;
	int rc;

	if (strncasecmp(args, "FROM:", 5) != 0
	    || (rc = smtp_parse_path(args + 5, addr, sizeof(addr), &rest)) == -1) {
		smtp_reply_error(s, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
		return;
	}
	if (rc == -2) {
		smtp_reply_error(s, 501, "5.1.7", "Error: sender address too long");
		return;
	}
	if (mail_params(s, rest, &envid) < 0) {
		smtp_txn_undo_mail(s);
		return;
	}
	rc = smtp_addr_check(addr, s->txn.smtputf8, false);
	if (rc != SMTP_ADDR_OK) {
		smtp_txn_undo_mail(s);
		if (rc == SMTP_ADDR_NEEDS_UTF8)
			smtp_reply_error(s, 553, "5.6.7", "Error: non-ASCII "
					 "address needs SMTPUTF8");
		else
			smtp_reply_error(s, 501, "5.1.7",
					 "Error: bad sender address syntax");
		return;
	}
	if (s->txn.size_declared > s->cfg->msg_size_max) {
		smtp_txn_undo_mail(s);
		smtp_reply_error(s, 552, "5.3.4",
				 "Error: message size exceeds fixed limit");
		return;
	}
	memcpy(s->mail_from, addr, strlen(addr) + 1);
	if (envid)
		memcpy(s->envid, envid, strlen(envid) + 1);
	memset(&r, 0, sizeof(r));
	if (s->ops->mail_check
	    && s->ops->mail_check(s->ctx, &s->txn, &r) < 0) {
		smtp_txn_undo_mail(s);
		hook_refusal(s, &r);
		return;
	}
	s->state = SMTP_S_MAIL;
	smtp_reply(s, 250, "2.1.0", "Ok");
}

/* check_rcpt - RCPT inside a transaction, before its content */

static int check_rcpt(struct smtp_session *s, const struct smtp_cmd *c,
		      char *args)
{
	if (s->state == SMTP_S_INIT || s->state == SMTP_S_HELO) {
		smtp_sequence_error(s, SMTP_SEQ_NEED_MAIL);
		return -1;
	}
	if (s->txn.bdat) {
		smtp_reply_error(s, 503, "5.5.1", "Error: RCPT after BDAT");
		return -1;
	}
	return 0;
}

/* rcpt_store - copy a string into the envelope arena */

static const char *rcpt_store(struct smtp_session *s, const char *str)
{
	size_t n = strlen(str) + 1;
	char *dst;

	if (n > SMTP_ENVELOPE_CAP - s->env_used)
		return NULL;
	dst = s->env_buf + s->env_used;
	memcpy(dst, str, n);
	s->env_used += n;
	return dst;
}

/* proceed_rcpt - RCPT TO:<addr> [NOTIFY ORCPT] */

static void proceed_rcpt(struct smtp_session *s, char *args, uint64_t now_ms)
{
	char addr[SMTP_PATH_MAX + 1], *rest, *key, *val;
	const char *orcpt = NULL;
	struct smtp_rcpt rc = { 0 };
	struct smtp_reply r;
	size_t mark;
	int st;

	if (strncasecmp(args, "TO:", 3) != 0
	    || (st = smtp_parse_path(args + 3, addr, sizeof(addr), &rest)) == -1) {
		smtp_reply_error(s, 501, "5.5.4", "Syntax: RCPT TO:<address>");
		return;
	}
	if (st == -2) {
		smtp_reply_error(s, 501, "5.1.3",
				 "Error: recipient address too long");
		return;
	}
	while ((key = smtp_next_param(&rest, &val)) != NULL) {
		if (!s->esmtp) {
			smtp_reply_error(s, 555, "5.5.4",
					 "Error: parameters need EHLO");
			return;
		}
		if (strcasecmp(key, "NOTIFY") == 0 && rc.notify == 0) {
			if (smtp_notify_parse(val, &rc.notify) < 0)
				goto bad;
		} else if (strcasecmp(key, "ORCPT") == 0 && orcpt == NULL) {
			if (!smtp_orcpt_valid(val, s->txn.smtputf8))
				goto bad;
			orcpt = val;
		} else if (strcasecmp(key, "NOTIFY") == 0
			   || strcasecmp(key, "ORCPT") == 0) {
			smtp_reply_error(s, 501, "5.5.4",
					 "Error: duplicate %s parameter", key);
			return;
		} else {
			smtp_reply_error(s, 555, "5.5.4",
					 "Error: unsupported parameter");
			return;
		}
	}
	st = smtp_addr_check(addr, s->txn.smtputf8, true);
	if (st == SMTP_ADDR_NEEDS_UTF8) {
		smtp_reply_error(s, 553, "5.6.7",
				 "Error: non-ASCII address needs SMTPUTF8");
		return;
	}
	if (st != SMTP_ADDR_OK) {
		smtp_reply_error(s, 501, "5.1.3",
				 "Error: bad recipient address syntax");
		return;
	}
	mark = s->env_used;
	if (s->txn.env.nrcpt >= s->cfg->rcpt_max
	    || (rc.addr = rcpt_store(s, addr)) == NULL
	    || (rc.orcpt = rcpt_store(s, orcpt ? orcpt : "")) == NULL) {
		s->env_used = mark;
		smtp_reply(s, 452, "4.5.3", "Error: too many recipients");
		return;
	}
	memset(&r, 0, sizeof(r));
	if (s->ops->rcpt_check
	    && s->ops->rcpt_check(s->ctx, &s->txn, &rc, &r) < 0) {
		s->env_used = mark;
		s->rcpt_refused++;
		hook_refusal(s, &r);
		return;
	}
	s->rcpt[s->txn.env.nrcpt] = rc;
	s->rcpt_ptr[s->txn.env.nrcpt] = rc.addr;
	s->txn.env.nrcpt++;
	s->state = SMTP_S_RCPT;
	smtp_reply(s, 250, "2.1.5", "Ok");
	return;
bad:
	smtp_reply_error(s, 501, "5.5.4", "Error: bad %s parameter", key);
}

/* check_data - DATA needs a recipient, no BDAT before it, no argument */

static int check_data(struct smtp_session *s, const struct smtp_cmd *c,
		      char *args)
{
	int seq = need_rcpt(s);

	if (seq) {
		smtp_sequence_error(s, seq);
		return -1;
	}
	if (s->txn.bdat) {
		/* RFC 3030 2: never both in one transaction. Dropping the
		 * transaction leaves no half message anywhere. */
		smtp_txn_reset(s);
		smtp_reply_error(s, 503, "5.5.1", "Error: DATA after BDAT, "
				 "transaction aborted");
		return -1;
	}
	if (*args) {
		smtp_reply_error(s, 501, "5.5.4", "Syntax: DATA");
		return -1;
	}
	return 0;
}

/* proceed_data - open the message upstairs, then 354 */

static void proceed_data(struct smtp_session *s, char *args, uint64_t now_ms)
{
	if (s->ops->msg_begin && s->ops->msg_begin(s->ctx, &s->txn) < 0) {
		smtp_reply(s, 451, "4.3.0",
			   "Error: temporary failure, try again later");
		return;
	}
	s->msg_open = true;
	s->state = SMTP_S_DATA;
	smtp_data_start(s, true, now_ms);
	smtp_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
}

/* check_any - no precondition (BDAT checks itself: see proceed_bdat) */

static int check_any(struct smtp_session *s, const struct smtp_cmd *c,
		     char *args)
{
	return 0;
}

/* check_noargs - RSET and QUIT take no argument */

static int check_noargs(struct smtp_session *s, const struct smtp_cmd *c,
			char *args)
{
	if (*args) {
		smtp_reply_error(s, 501, "5.5.4", "Syntax: %s", c->verb);
		return -1;
	}
	return 0;
}

/* check_vrfy - VRFY needs a string */

static int check_vrfy(struct smtp_session *s, const struct smtp_cmd *c,
		      char *args)
{
	if (*args == 0) {
		smtp_reply_error(s, 501, "5.5.4", "Syntax: VRFY address");
		return -1;
	}
	return 0;
}

/* proceed_bdat - BDAT size [LAST]: the chunk is read whatever happens */

static void proceed_bdat(struct smtp_session *s, char *args, uint64_t now_ms)
{
	char *sp = strchr(args, ' ');
	bool last = false, fresh = true, bad = false;
	uint64_t size;
	int seq;

	if (sp) {
		*sp++ = 0;
		while (*sp == ' ')
			sp++;
		if (strcasecmp(sp, "LAST") == 0)
			last = true;
		else
			bad = true;
	}
	if (bad || smtp_parse_size(args, &size) < 0) {
		/* Without a size we cannot tell where the chunk ends: any
		 * byte after this could be message content, so we stop. */
		smtp_reply(s, 501, "5.5.4", "Syntax: BDAT count [LAST]");
		smtp_reply(s, 421, "4.5.4", "%s Error: closing, cannot find "
			   "the end of the chunk", s->cfg->hostname);
		smtp_close(s, SMTP_END_ERRORS);
		return;
	}
	s->bdat_left = size;
	s->bdat_last = last;
	seq = need_rcpt(s);
	if (seq) {
		s->fail = SMTP_FAIL_SEQUENCE;
		s->bdat_refusal = seq;
		s->bdat_resume = s->state;
	} else if (!s->txn.bdat) {
		s->txn.bdat = true;
		if (s->ops->msg_begin
		    && s->ops->msg_begin(s->ctx, &s->txn) < 0)
			s->fail = SMTP_FAIL_UPPER;
		else
			s->msg_open = true;
	} else {
		fresh = false;	/* content state carries over chunks */
	}
	smtp_data_start(s, fresh, now_ms);
	s->state = SMTP_S_BDAT;
	if (size == 0)
		smtp_bdat_chunk_end(s, now_ms);
}

/* check_starttls - no argument, offered, not yet active, no transaction */

static int check_starttls(struct smtp_session *s, const struct smtp_cmd *c,
			  char *args)
{
	if (*args) {
		smtp_reply_error(s, 501, "5.5.4", "Syntax: STARTTLS");
		return -1;
	}
	if (s->tls_active) {
		smtp_reply_error(s, 503, "5.5.1", "Error: TLS already active");
		return -1;
	}
	if (!s->tls_offer) {
		smtp_reply(s, 454, "4.7.0", "TLS not available");
		return -1;
	}
	if (s->state == SMTP_S_MAIL || s->state == SMTP_S_RCPT) {
		smtp_reply_error(s, 503, "5.5.1",
				 "Error: MAIL transaction in progress");
		return -1;
	}
	return 0;
}

/* proceed_starttls - 220, then only the handshake: input is discarded */

static void proceed_starttls(struct smtp_session *s, char *args,
			     uint64_t now_ms)
{
	if (s->ops->tls_start(s->ctx) < 0) {
		smtp_reply(s, 454, "4.7.0",
			   "TLS not available due to local problem");
		return;
	}
	smtp_txn_reset(s);
	smtp_reply(s, 220, "2.0.0", "Ready to start TLS");
	s->state = SMTP_S_TLS;
	s->deadline_ms = now_ms + s->cfg->timeout_tls_ms;
}

/* check_xforward - outside a transaction, with arguments, allowed */

static int check_xforward(struct smtp_session *s, const struct smtp_cmd *c,
			  char *args)
{
	return smtp_xforward_check(s, args);
}

/* proceed_xforward - take the attributes (smtp_xforward.c) */

static void proceed_xforward(struct smtp_session *s, char *args,
			     uint64_t now_ms)
{
	smtp_xforward_proceed(s, args);
}

/* proceed_rset - drop the transaction */

static void proceed_rset(struct smtp_session *s, char *args, uint64_t now_ms)
{
	smtp_txn_reset(s);
	smtp_reply(s, 250, "2.0.0", "Ok");
}

/* proceed_noop - nothing */

static void proceed_noop(struct smtp_session *s, char *args, uint64_t now_ms)
{
	smtp_reply(s, 250, "2.0.0", "Ok");
}

/* proceed_quit - say goodbye, close after the output drains */

static void proceed_quit(struct smtp_session *s, char *args, uint64_t now_ms)
{
	smtp_reply(s, 221, "2.0.0", "Bye");
	smtp_close(s, SMTP_END_QUIT);
}

/* proceed_vrfy - we do not disclose users (RFC 5321 3.5.3) */

static void proceed_vrfy(struct smtp_session *s, char *args, uint64_t now_ms)
{
	smtp_reply(s, 252, "2.0.0", "Cannot VRFY user, but will accept "
		   "message and attempt delivery");
}

/* proceed_expn - no mailing-list expansion */

static void proceed_expn(struct smtp_session *s, char *args, uint64_t now_ms)
{
	smtp_reply_error(s, 502, "5.5.1", "Error: command not implemented");
}

/* proceed_help - the verbs we know */

static void proceed_help(struct smtp_session *s, char *args, uint64_t now_ms)
{
	smtp_reply(s, 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA "
		   "BDAT RSET NOOP QUIT VRFY HELP");
}

static const struct smtp_cmd smtp_cmds[] = {
	{ "HELO", check_helo, proceed_helo, false, false },
	{ "EHLO", check_helo, proceed_ehlo, false, false },
	{ "MAIL", check_mail, proceed_mail, true, false },
	{ "RCPT", check_rcpt, proceed_rcpt, true, false },
	{ "DATA", check_data, proceed_data, false, false },
	{ "BDAT", check_any, proceed_bdat, false, false },
	{ "RSET", check_noargs, proceed_rset, false, true },
	{ "NOOP", check_any, proceed_noop, false, true },
	{ "QUIT", check_noargs, proceed_quit, false, false },
	{ "VRFY", check_vrfy, proceed_vrfy, false, true },
	{ "EXPN", check_any, proceed_expn, false, true },
	{ "HELP", check_any, proceed_help, false, true },
	{ "STARTTLS", check_starttls, proceed_starttls, false, false },
	{ "XFORWARD", check_xforward, proceed_xforward, true, false },
	{ NULL, NULL, NULL, false, false },
};

/* smtp_cmd_line - look the verb up, check, proceed */

void smtp_cmd_line(struct smtp_session *s, size_t wire_len, uint64_t now_ms)
{
	const struct smtp_cmd *c;
	size_t vlen, limit, n;
	char *args;

	if (memchr(s->line, 0, s->line_len)) {
		smtp_reply_error(s, 500, "5.5.2", "Error: NUL in command");
		return;
	}
	vlen = strcspn(s->line, " ");
	if (vlen == 0) {
		smtp_reply_error(s, 500, "5.5.2", "Error: bad syntax");
		return;
	}
	for (c = smtp_cmds; c->verb; c++)
		if (strlen(c->verb) == vlen
		    && strncasecmp(s->line, c->verb, vlen) == 0)
			break;
	limit = s->cfg->cmd_line_max;
	if (c->verb && c->ext_line && s->esmtp)
		limit += s->cfg->cmd_line_ext;
	if (wire_len > limit) {
		smtp_reply_error(s, 500, "5.5.2", "Error: line too long");
		return;
	}
	if (c->verb == NULL) {
		smtp_reply_error(s, 500, "5.5.2", "Error: command not recognized");
		return;
	}
	if (s->refused && c->proceed != proceed_quit) {
		smtp_reply_error(s, 503, "5.7.1", "Error: access denied, "
				 "only QUIT is accepted");
		return;
	}
	args = s->line + vlen;
	while (*args == ' ')
		args++;
	n = strlen(args);
	while (n > 0 && (args[n - 1] == ' ' || args[n - 1] == '\t'))
		args[--n] = 0;
	if (c->check(s, c, args) < 0)
		return;
	c->proceed(s, args, now_ms);
	if (c->junk && s->state != SMTP_S_CLOSING
	    && ++s->junk >= s->cfg->junk_max) {
		smtp_reply(s, 421, "4.7.0", "%s Error: too many junk commands",
			   s->cfg->hostname);
		smtp_close(s, SMTP_END_ERRORS);
	}
}
