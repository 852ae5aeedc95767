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
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
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

enum { ADDR_OK = 0, ADDR_SYNTAX = -1, ADDR_NEEDS_UTF8 = -2 };

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

/* is_atext - RFC 5322 atext */

static bool is_atext(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* utf8_valid - well-formed UTF-8: no overlong forms, no surrogates */

static bool utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp;

	while (i < n) {
		unsigned char c = p[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)
		    || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += len;
	}
	return true;
}

/* domain_check - hostname labels or an address literal */

static int domain_check(const char *d, bool *eightbit)
{
	const unsigned char *p = (const unsigned char *) d;
	size_t label = 0;

	if (*p == '[') {
		for (p++; *p && *p != ']'; p++)
			if (*p < 33 || *p > 126 || *p == '[' || *p == '\\')
				return ADDR_SYNTAX;
		return (*p == ']' && p[1] == 0 && p > (const unsigned char *) d + 1)
			? ADDR_OK : ADDR_SYNTAX;
	}
	for (; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return ADDR_SYNTAX;
			label = 0;
			continue;
		}
		if (*p >= 0x80)
			*eightbit = true;
		else if (!isalnum(*p) && *p != '-')
			return ADDR_SYNTAX;
		label++;
	}
	return label ? ADDR_OK : ADDR_SYNTAX;
}

/* addr_check - mailbox syntax; UTF-8 only when the client said so */

static int addr_check(const char *a, bool utf8, bool is_rcpt)
{
	const unsigned char *p = (const unsigned char *) a;
	bool eightbit = false;

	if (*p == 0)
		return is_rcpt ? ADDR_SYNTAX : ADDR_OK;	/* <> null sender */
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			if (*p < 0x20 || *p == 0x7f)
				return ADDR_SYNTAX;
			if (*p >= 0x80)
				eightbit = true;
		}
		if (*p++ != '"' || *p != '@')
			return ADDR_SYNTAX;
	} else {
		for (; *p && *p != '@'; p++) {
			if (*p >= 0x80)
				eightbit = true;
			else if (!is_atext(*p) && *p != '.')
				return ADDR_SYNTAX;
		}
		if (p == (const unsigned char *) a)
			return ADDR_SYNTAX;
	}
	if (*p != '@') {
		/* RFC 5321 4.1.1.3: <postmaster> needs no domain. */
		if (is_rcpt && !eightbit && strcasecmp(a, "postmaster") == 0)
			return ADDR_OK;
		return ADDR_SYNTAX;
	}
	if (domain_check((const char *) p + 1, &eightbit) != ADDR_OK)
		return ADDR_SYNTAX;
	if (eightbit) {
		if (!utf8_valid((const unsigned char *) a, strlen(a)))
			return ADDR_SYNTAX;
		if (!utf8)
			return ADDR_NEEDS_UTF8;
	}
	return ADDR_OK;
}

/* parse_path - "<[route:]addr>[ params]": copy addr, point at params */

static int parse_path(char *p, char *out, size_t size, char **rest)
{
	char *q, *start, *colon;
	bool quoted = false;
	size_t n;

	while (*p == ' ')
		p++;			/* "MAIL FROM: <a@b>" is common */
	if (*p != '<')
		return -1;
	for (q = p + 1; *q; q++) {
		if (quoted) {
			if (*q == '\\' && q[1])
				q++;
			else if (*q == '"')
				quoted = false;
		} else if (*q == '"') {
			quoted = true;
		} else if (*q == '>') {
			break;
		}
	}
	if (*q != '>')
		return -1;
	if ((size_t) (q - p + 1) > SMTP_PATH_MAX)
		return -2;
	start = p + 1;
	if (*start == '@') {
		/* A source route is accepted and ignored (RFC 5321 C). */
		colon = memchr(start, ':', (size_t) (q - start));
		if (colon == NULL)
			return -1;
		start = colon + 1;
	}
	n = (size_t) (q - start);
	if (n >= size)
		return -2;
	memcpy(out, start, n);
	out[n] = 0;
	q++;
	if (*q && *q != ' ')
		return -1;
	while (*q == ' ')
		q++;
	*rest = q;
	return 0;
}

/* xtext_valid - RFC 3461 xtext of at most max octets */

static bool xtext_valid(const char *v, size_t max, bool utf8)
{
	const unsigned char *p = (const unsigned char *) v;
	size_t n = strlen(v);

	if (n == 0 || n > max)
		return false;
	for (; *p; p++) {
		if (*p == '+') {
			if (!isxdigit(p[1]) || !isxdigit(p[2])
			    || islower(p[1]) || islower(p[2]))
				return false;
			p += 2;
		} else if (*p >= 0x80 && utf8) {
			continue;	/* RFC 6533 utf-8-addr-xtext */
		} else if (*p < 33 || *p > 126 || *p == '=') {
			return false;
		}
	}
	return utf8 ? utf8_valid((const unsigned char *) v, n) : true;
}

/* next_param - split "KEY[=VALUE]" off *rest; NULL at the end */

static char *next_param(char **rest, char **val)
{
	char *p = *rest, *end, *eq;

	while (*p == ' ')
		p++;
	if (*p == 0)
		return NULL;
	end = p + strcspn(p, " ");
	if (*end)
		*end++ = 0;
	*rest = end;
	eq = strchr(p, '=');
	if (eq)
		*eq++ = 0;
	*val = eq;
	return p;
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
			"250-SMTPUTF8\r\n250-DSN\r\n250 CHUNKING\r\n",
			s->cfg->hostname, s->cfg->msg_size_max);
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
	return 0;
}

/* parse_size - decimal octet count without overflow */

static int parse_size(const char *v, uint64_t *out)
{
	uint64_t n = 0;

	if (v == NULL || *v == 0 || strlen(v) > 20)
		return -1;
	for (; *v; v++) {
		if (!isdigit((unsigned char) *v))
			return -1;
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t) (*v - '0');
	}
	*out = n;
	return 0;
}

/* mail_params - parse MAIL parameters into the transaction */

static int mail_params(struct smtp_session *s, char *rest,
		       const char **envid)
{
	struct smtp_txn *t = &s->txn;
	bool seen_size = false, seen_utf8 = false;
	char *key, *val;

	while ((key = next_param(&rest, &val)) != NULL) {
		if (!s->esmtp) {
			smtp_reply_error(s, 555, "5.5.4",
					 "Error: parameters need EHLO");
			return -1;
		}
		if (strcasecmp(key, "SIZE") == 0 && !seen_size) {
			seen_size = true;
			if (parse_size(val, &t->size_declared) < 0)
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
			if (val == NULL || !xtext_valid(val, SMTP_ENVID_MAX, false))
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
	    || (rc = parse_path(args + 5, addr, sizeof(addr), &rest)) == -1) {
		smtp_reply_error(s, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
		return;
	}
	if (rc == -2) {
		smtp_reply_error(s, 501, "5.1.7", "Error: sender address too long");
		return;
	}
	if (mail_params(s, rest, &envid) < 0) {
		smtp_txn_reset(s);
		return;
	}
	rc = addr_check(addr, s->txn.smtputf8, false);
	if (rc != ADDR_OK) {
		smtp_txn_reset(s);
		if (rc == ADDR_NEEDS_UTF8)
			smtp_reply_error(s, 553, "5.6.7", "Error: non-ASCII "
					 "address needs SMTPUTF8");
		else
			smtp_reply_error(s, 501, "5.1.7",
					 "Error: bad sender address syntax");
		return;
	}
	if (s->txn.size_declared > s->cfg->msg_size_max) {
		smtp_txn_reset(s);
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
		smtp_txn_reset(s);
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

/* notify_parse - NEVER, or a list of SUCCESS, FAILURE, DELAY */

static int notify_parse(char *v, unsigned *out)
{
	char *tok, *save = NULL;
	unsigned n = 0;

	if (v == NULL || *v == 0)
		return -1;
	for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcasecmp(tok, "NEVER") == 0)
			n |= SMTP_NOTIFY_NEVER;
		else if (strcasecmp(tok, "SUCCESS") == 0)
			n |= SMTP_NOTIFY_SUCCESS;
		else if (strcasecmp(tok, "FAILURE") == 0)
			n |= SMTP_NOTIFY_FAILURE;
		else if (strcasecmp(tok, "DELAY") == 0)
			n |= SMTP_NOTIFY_DELAY;
		else
			return -1;
	}
	if ((n & SMTP_NOTIFY_NEVER) && n != SMTP_NOTIFY_NEVER)
		return -1;
	*out = n;
	return 0;
}

/* orcpt_valid - addr-type ";" xtext, RFC 3461 4.2 and RFC 6533 */

static bool orcpt_valid(const char *v, bool utf8)
{
	const char *semi = v ? strchr(v, ';') : NULL;
	const char *p;

	if (semi == NULL || semi == v || strlen(v) > SMTP_ORCPT_MAX)
		return false;
	for (p = v; p < semi; p++)
		if (!isalnum((unsigned char) *p) && *p != '-')
			return false;
	return xtext_valid(semi + 1, SMTP_ORCPT_MAX, utf8);
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
	    || (st = parse_path(args + 3, addr, sizeof(addr), &rest)) == -1) {
		smtp_reply_error(s, 501, "5.5.4", "Syntax: RCPT TO:<address>");
		return;
	}
	if (st == -2) {
		smtp_reply_error(s, 501, "5.1.3",
				 "Error: recipient address too long");
		return;
	}
	while ((key = next_param(&rest, &val)) != NULL) {
		if (!s->esmtp) {
			smtp_reply_error(s, 555, "5.5.4",
					 "Error: parameters need EHLO");
			return;
		}
		if (strcasecmp(key, "NOTIFY") == 0 && rc.notify == 0) {
			if (notify_parse(val, &rc.notify) < 0)
				goto bad;
		} else if (strcasecmp(key, "ORCPT") == 0 && orcpt == NULL) {
			if (!orcpt_valid(val, s->txn.smtputf8))
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
	st = addr_check(addr, s->txn.smtputf8, true);
	if (st == ADDR_NEEDS_UTF8) {
		smtp_reply_error(s, 553, "5.6.7",
				 "Error: non-ASCII address needs SMTPUTF8");
		return;
	}
	if (st != ADDR_OK) {
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
	if (bad || parse_size(args, &size) < 0) {
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
