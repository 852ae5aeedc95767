/*
 * relay_conn.c - one SMTP client connection to the downstream MTA
 *
 *	void relay_conn_io(struct relay_conn *c, uint32_t events);
 *	void relay_txn_start(struct relay_conn *c);
 *	void relay_conn_quit(struct relay_conn *c);
 *	int relay_body_fill(struct relay_conn *c);
 *
 * DESCRIPTION
 *	The state machine of relay_int.h: greeting, EHLO (capabilities),
 *	then transactions, one after another on the same connection. Replies
 *	are matched to commands in the order they were sent, which is what
 *	makes PIPELINING safe (RFC 2920 section 3.1).
 *
 *	A downstream that offers both PIPELINING and CHUNKING gets the whole
 *	transaction in one write: MAIL, RCPT..., "BDAT n LAST" and the
 *	message as it is (RFC 3030: no dot-stuffing, no end-of-data line), and
 *	answers it in one read; DATA would cost a round trip for the 354,
 *	and the body must not follow DATA before it (RFC 2920 section 3.1).
 *
 *	A refusal is reported with the downstream's own code and text; a
 *	connection that breaks or times out before the reply to "." fails
 *	the message with a local 451 (relay.c), so that the client retries:
 *	no message is ever reported delivered without the downstream's 250.
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay_int.h"

/* out_room - free bytes in the output buffer */
static size_t out_room(const struct relay_conn *c)
{
	return sizeof(c->out) - c->out_len;
}

/* out_printf - append a command line (with CRLF) to the output buffer */
static void out_printf(struct relay_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void out_printf(struct relay_conn *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->out + c->out_len, out_room(c), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < out_room(c))
		c->out_len += (size_t)n;
}

/* flush - write what the output buffer holds; 0 ok/again, -1 closed */
static int flush(struct relay_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			char why[96];

			snprintf(why, sizeof(why), "write failed: %s", strerror(errno));
			relay_conn_close(c, why);
			return -1;
		}
		c->out_off += (size_t)n;
		c->deadline = c->pool->now_ms + c->pool->cfg.cmd_timeout_ms;
	}
	c->out_len = c->out_off = 0;
	return 0;
}

/* param_allowed - pass a MAIL/RCPT parameter only if the downstream
 * announced its extension (RFC 5321 4.1.1.11: else it must refuse it) */
static int param_allowed(const struct relay_caps *caps, const char *kw, size_t n)
{
#define IS(s) (n == sizeof(s) - 1 && strncasecmp(kw, s, n) == 0)
	if (IS("BODY"))
		return caps->eightbit;
	if (IS("SMTPUTF8"))
		return caps->smtputf8;
	if (IS("SIZE"))
		return caps->size;
	if (IS("RET") || IS("ENVID") || IS("NOTIFY") || IS("ORCPT"))
		return caps->dsn;
#undef IS
	return 0;
}

/* params_filtered - the parameters of a command the downstream takes */
static void params_filtered(const struct relay_caps *caps, const char *in,
			    char *out, size_t size)
{
	size_t n = 0;

	out[0] = 0;
	while (*in) {
		const char *tok, *eq;
		size_t len;

		while (*in == ' ')
			in++;
		tok = in;
		while (*in && *in != ' ')
			in++;
		len = (size_t)(in - tok);
		if (len == 0)
			break;
		eq = memchr(tok, '=', len);
		if (!param_allowed(caps, tok, eq ? (size_t)(eq - tok) : len))
			continue;
		if (n + len + 2 >= size)
			break;
		out[n++] = ' ';
		memcpy(out + n, tok, len);
		n += len;
		out[n] = 0;
	}
}

/* send_commands - render the next commands: all of them with PIPELINING,
 * else one per reply */
static void send_commands(struct relay_conn *c)
{
	char params[RELAY_CMD_LINE_MAX], line[RELAY_CMD_LINE_MAX + 1];
	struct relay_job *j = c->job;
	size_t i, xf_k = 0;

	for (i = 0; i < c->nsent && c->cmds[i] == CMD_XFORWARD; i++)
		xf_k++;
	while (c->nsent < c->ncmds
	       && (c->caps.pipelining || c->nsent == c->nreplied)
	       && out_room(c) > 2 * RELAY_CMD_LINE_MAX + 64) {
		switch (c->cmds[c->nsent]) {
		case CMD_XFORWARD:
			line[0] = 0;
			relay_xforward_line(c, xf_k++, line, sizeof(line));
			out_printf(c, "%s\r\n", line);
			break;
		case CMD_MAIL:
			params_filtered(&c->caps, j->mail_params, params, sizeof(params));
			out_printf(c, "MAIL FROM:<%s>%s\r\n", j->from, params);
			break;
		case CMD_RCPT:
			params_filtered(&c->caps, j->rcpt_params[c->rcpt_next_send],
					params, sizeof(params));
			out_printf(c, "RCPT TO:<%s>%s\r\n", j->rcpt[c->rcpt_next_send],
				   params);
			c->rcpt_next_send++;
			break;
		case CMD_DATA:
			out_printf(c, "DATA\r\n");
			break;
		case CMD_BDAT:
			/* the message follows the command line at once */
			out_printf(c, "BDAT %zu LAST\r\n", c->bdat_len);
			c->state = RC_BODY;
			c->stage = RELAY_STAGE_DATA;
			break;
		}
		c->nsent++;
	}
}

/* bdat_length - the message's size as BDAT sends it: prepend, body, and
 * the CRLF that ends an unterminated last line (as with DATA) */
static size_t bdat_length(const struct relay_job *j)
{
	size_t i, n = j->prepend_len;
	char last = j->prepend_len ? j->prepend[j->prepend_len - 1] : '\n';

	for (i = 0; i < j->nbody; i++) {
		n += j->body[i].iov_len;
		if (j->body[i].iov_len)
			last = ((const char *)j->body[i].iov_base)[j->body[i].iov_len - 1];
	}
	return last == '\n' ? n : n + 2;
}

static void send_body(struct relay_conn *c);

/* relay_txn_start - begin the job's transaction on an idle connection */
void relay_txn_start(struct relay_conn *c)
{
	struct relay_job *j = c->job;
	size_t i;

	c->ncmds = c->nsent = c->nreplied = 0;
	c->rcpt_next_send = c->rcpt_next_reply = c->rcpt_ok = 0;
	c->fail_code = c->rcpt_fail_code = 0;
	c->fail_text[0] = c->rcpt_fail_text[0] = 0;
	c->abandon = 0;
	if (c->pool->cfg.xforward)
		for (i = relay_xforward_line(c, 0, NULL, 0); i > 0; i--)
			c->cmds[c->ncmds++] = CMD_XFORWARD;
	c->cmds[c->ncmds++] = CMD_MAIL;
	for (i = 0; i < j->nrcpt; i++) {
		c->cmds[c->ncmds++] = CMD_RCPT;
		j->rcpt_code[i] = 0;
	}
	c->bdat = c->caps.pipelining && c->caps.chunking;
	if (c->bdat)
		c->bdat_len = bdat_length(j);
	c->cmds[c->ncmds++] = c->bdat ? CMD_BDAT : CMD_DATA;
	c->state = RC_TXN;
	c->stage = c->cmds[0] == CMD_XFORWARD ? RELAY_STAGE_XFORWARD
		   : RELAY_STAGE_MAIL;
	c->deadline = c->pool->now_ms + c->pool->cfg.cmd_timeout_ms;
	c->body_iov = c->body_off = c->prepend_off = 0;
	c->at_line_start = 1;
	c->last_byte = '\n';
	send_commands(c);
	if (c->state == RC_BODY)
		send_body(c);
	if (c->fd >= 0 && flush(c) == 0)
		relay_conn_want(c);
}

/* relay_conn_quit - say goodbye to an idle connection */
void relay_conn_quit(struct relay_conn *c)
{
	out_printf(c, "QUIT\r\n");
	c->state = RC_QUIT;
	c->deadline = c->pool->now_ms + c->pool->cfg.cmd_timeout_ms;
	if (flush(c) == 0)
		relay_conn_want(c);
}

/* go_idle - the connection may take the next job */
static void go_idle(struct relay_conn *c)
{
	c->state = RC_IDLE;
	c->deadline = c->pool->now_ms + c->pool->cfg.idle_timeout_ms;
}

/* fail_txn - the transaction was refused: report, then RSET */
static void fail_txn(struct relay_conn *c, int code, const char *text)
{
	relay_job_finish(c, code, text, 0);
	out_printf(c, "RSET\r\n");
	c->state = RC_RSET;
	c->deadline = c->pool->now_ms + c->pool->cfg.cmd_timeout_ms;
}

/* note_failure - remember the first refusal of MAIL or XFORWARD */
static void note_failure(struct relay_conn *c)
{
	if (c->fail_code)
		return;
	c->fail_code = c->reply_code;
	snprintf(c->fail_text, sizeof(c->fail_text), "%s", c->reply_text);
}

/* txn_refused - the refusal that ends the transaction, 0 if none yet:
 * MAIL's (or XFORWARD's), else the first recipient's when none was taken */
static int txn_refused(const struct relay_conn *c, const char **text)
{
	*text = "";
	if (c->fail_code) {
		*text = c->fail_text;
		return c->fail_code;
	}
	if (c->rcpt_next_reply == c->job->nrcpt && c->rcpt_ok == 0) {
		*text = c->rcpt_fail_text;
		return c->rcpt_fail_code;
	}
	return 0;
}

/* txn_reply - one reply of a transaction, matched to its command */
static void txn_reply(struct relay_conn *c)
{
	enum relay_cmd cmd = c->cmds[c->nreplied++];
	int ok = c->reply_code / 100 == 2;
	struct relay_job *j = c->job;
	const char *text;
	int code;

	switch (cmd) {
	case CMD_XFORWARD:
	case CMD_MAIL:
		c->stage = cmd == CMD_MAIL ? RELAY_STAGE_MAIL : RELAY_STAGE_XFORWARD;
		if (!ok)
			note_failure(c);
		break;
	case CMD_RCPT:
		c->stage = RELAY_STAGE_RCPT;
		j->rcpt_code[c->rcpt_next_reply++] = c->reply_code;
		if (ok)
			c->rcpt_ok++;
		else if (c->rcpt_fail_code == 0) {
			c->rcpt_fail_code = c->reply_code;
			snprintf(c->rcpt_fail_text, sizeof(c->rcpt_fail_text),
				 "%s", c->reply_text);
		}
		break;
	case CMD_DATA:
		c->stage = RELAY_STAGE_DATA;
		code = txn_refused(c, &text);
		if (c->reply_code == 354 && code == 0) {
			c->state = RC_BODY;
			c->deadline = c->pool->now_ms + c->pool->cfg.cmd_timeout_ms;
			return;
		}
		if (c->reply_code == 354) {
			/* a server that says 354 after refusing MAIL or every
			 * recipient: end the empty data, then report */
			out_printf(c, ".\r\n");
			c->state = RC_DOT;
			c->stage = RELAY_STAGE_DOT;
			c->abandon = 1;
			return;
		}
		if (code == 0) {
			code = c->reply_code;
			text = c->reply_text;
		}
		fail_txn(c, code, text);
		return;
	case CMD_BDAT:		/* bdat_reply() takes that one */
		break;
	}
	/* Without PIPELINING nothing more was sent: stop at a refusal that
	 * ends the transaction. With it, the remaining replies still come. */
	if (!c->caps.pipelining && (code = txn_refused(c, &text)) != 0) {
		fail_txn(c, code, text);
		return;
	}
	send_commands(c);
}

/* ehlo_keyword - record one capability line of the EHLO reply */
static void ehlo_keyword(struct relay_conn *c, const char *kw)
{
	struct relay_caps *caps = &c->caps;

	if (strncasecmp(kw, "PIPELINING", 10) == 0)
		caps->pipelining = 1;
	else if (strncasecmp(kw, "CHUNKING", 8) == 0)
		caps->chunking = 1;
	else if (strncasecmp(kw, "SIZE", 4) == 0)
		caps->size = 1;
	else if (strncasecmp(kw, "8BITMIME", 8) == 0)
		caps->eightbit = 1;
	else if (strncasecmp(kw, "SMTPUTF8", 8) == 0)
		caps->smtputf8 = 1;
	else if (strncasecmp(kw, "DSN", 3) == 0)
		caps->dsn = 1;
	else if (strncasecmp(kw, "XFORWARD", 8) == 0) {
		char buf[128], *tok, *save = NULL;

		snprintf(buf, sizeof(buf), "%s", kw + 8);
		for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			if (strcasecmp(tok, "ADDR") == 0) caps->xf_addr = 1;
			else if (strcasecmp(tok, "NAME") == 0) caps->xf_name = 1;
			else if (strcasecmp(tok, "PORT") == 0) caps->xf_port = 1;
			else if (strcasecmp(tok, "HELO") == 0) caps->xf_helo = 1;
			else if (strcasecmp(tok, "PROTO") == 0) caps->xf_proto = 1;
			else if (strcasecmp(tok, "SOURCE") == 0) caps->xf_source = 1;
			else if (strcasecmp(tok, "IDENT") == 0) caps->xf_ident = 1;
		}
	}
}

/* bdat_reply - a reply of a BDAT transaction; the last one (BDAT's) is
 * the outcome, like the reply to "." */
static void bdat_reply(struct relay_conn *c)
{
	const char *text = NULL;
	int code;

	if (c->cmds[c->nreplied] != CMD_BDAT) {
		txn_reply(c);
		return;
	}
	c->nreplied++;
	code = txn_refused(c, &text);
	c->stage = code ? RELAY_STAGE_DATA : RELAY_STAGE_DOT;
	if (code == 0) {
		code = c->reply_code;
		text = c->reply_text;
	}
	if (c->state == RC_BODY) {
		/* answered before the chunk was all sent: out of step */
		relay_job_finish(c, code / 100 == 2 ? 451 : code,
				 code / 100 == 2 ? "4.4.2 downstream answered BDAT early"
				 : text, code / 100 == 2);
		relay_conn_close(c, "answered BDAT before its data");
		return;
	}
	if (code / 100 == 2) {
		relay_job_finish(c, code, text, 0);
		go_idle(c);
		return;
	}
	fail_txn(c, code, text);
}

/* reply_done - a complete reply arrived: advance the state machine */
static void reply_done(struct relay_conn *c)
{
	char text[RELAY_REPLY_MAX + 64];

	c->deadline = c->pool->now_ms + c->pool->cfg.cmd_timeout_ms;
	if (c->bdat && (c->state == RC_BODY || c->state == RC_DOT)) {
		bdat_reply(c);
		return;
	}
	switch (c->state) {
	case RC_GREETING:
		if (c->reply_code != 220) {
			snprintf(text, sizeof(text), "refused the connection (%d %s)",
				 c->reply_code, c->reply_text);
			relay_conn_close(c, text);
			return;
		}
		out_printf(c, "EHLO %s\r\n", c->pool->cfg.helo);
		c->state = RC_EHLO;
		c->stage = RELAY_STAGE_EHLO;
		break;
	case RC_EHLO:
		if (c->reply_code != 250) {
			snprintf(text, sizeof(text), "refused EHLO (%d %s)",
				 c->reply_code, c->reply_text);
			relay_conn_close(c, text);
			return;
		}
		go_idle(c);
		if (c->job)
			relay_txn_start(c);
		break;
	case RC_TXN:
		txn_reply(c);
		break;
	case RC_DOT:
		if (c->abandon) {	/* the empty DATA of a refused txn */
			const char *t = NULL;	/* gcc -O2 cannot see txn_refused sets it */
			int code = txn_refused(c, &t);

			relay_job_finish(c, code, t, 0);
		} else {
			relay_job_finish(c, c->reply_code, c->reply_text, 0);
		}
		go_idle(c);
		break;
	case RC_RSET:
		if (c->reply_code != 250) {
			relay_conn_close(c, "refused RSET");
			return;
		}
		go_idle(c);
		break;
	case RC_QUIT:
		relay_conn_close(c, "quit");
		return;
	default:
		relay_conn_close(c, "sent a reply nobody asked for");
		return;
	}
}

/* read_replies - parse complete reply lines out of the input buffer */
static int read_replies(struct relay_conn *c)
{
	for (;;) {
		size_t room = sizeof(c->in) - c->in_len;
		ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			relay_conn_close(c, n == 0 ? "closed the connection"
					 : strerror(errno));
			return -1;
		}
		c->in_len += (size_t)n;
		for (;;) {
			char *nl = memchr(c->in, '\n', c->in_len);
			size_t len;

			if (nl == NULL) {
				if (c->in_len == sizeof(c->in)) {
					relay_conn_close(c, "sent a reply line too long");
					return -1;
				}
				break;
			}
			len = (size_t)(nl - c->in);
			if (len && c->in[len - 1] == '\r')
				len--;
			c->in[len] = 0;
			/* RFC 5321 4.2: the first digit is 2 to 5; a "1yz"
			 * has no meaning in SMTP and must not reach a client */
			if (len < 3 || c->in[0] < '2' || c->in[0] > '5'
			    || !isdigit((unsigned char)c->in[1])
			    || !isdigit((unsigned char)c->in[2])
			    || (len > 3 && c->in[3] != ' ' && c->in[3] != '-')) {
				relay_conn_close(c, "sent a malformed reply");
				return -1;
			}
			int last = len == 3 || c->in[3] == ' ';
			const char *txt = len > 4 ? c->in + 4 : "";

			if (c->reply_lines == 0)
				snprintf(c->reply_text, sizeof(c->reply_text), "%s", txt);
			else if (c->state == RC_EHLO)
				ehlo_keyword(c, txt);
			c->reply_lines++;
			if (last)
				c->reply_code = atoi(c->in);
			memmove(c->in, nl + 1, c->in_len - (size_t)(nl + 1 - c->in));
			c->in_len -= (size_t)(nl + 1 - c->in);
			if (last) {
				reply_done(c);
				c->reply_lines = 0;
				c->reply_text[0] = 0;
				if (c->fd < 0)
					return -1;
			}
		}
		/* A short read emptied the socket: epoll is level-triggered and
		 * reports what comes later, so another recv() would only say
		 * EAGAIN (one wasted system call per reply batch). */
		if ((size_t)n < room)
			return 0;
	}
}

/* body_piece - the next unsent bytes: the headers we prepend, then the
 * message's iovecs; 0 when everything was taken */
static int body_piece(struct relay_conn *c, const char **src, size_t *avail)
{
	struct relay_job *j = c->job;

	if (c->prepend_off < j->prepend_len) {
		*src = j->prepend + c->prepend_off;
		*avail = j->prepend_len - c->prepend_off;
		return 1;
	}
	while (c->body_iov < j->nbody) {
		const struct iovec *v = &j->body[c->body_iov];

		if (c->body_off < v->iov_len) {
			*src = (const char *)v->iov_base + c->body_off;
			*avail = v->iov_len - c->body_off;
			return 1;
		}
		c->body_iov++;
		c->body_off = 0;
	}
	return 0;
}

/* body_consumed - n bytes of body_piece()'s piece are in the buffer */
static void body_consumed(struct relay_conn *c, size_t n)
{
	if (c->prepend_off < c->job->prepend_len)
		c->prepend_off += n;
	else
		c->body_off += n;
}

/* relay_body_fill - append the dot-stuffed message to the output buffer;
 * returns 1 once the final "." is in the buffer */
int relay_body_fill(struct relay_conn *c)
{
	for (;;) {
		const char *src;
		size_t avail;

		if (!body_piece(c, &src, &avail)) {
			if (out_room(c) < 8)
				return 0;
			if (c->last_byte != '\n')
				out_printf(c, "\r\n");
			out_printf(c, ".\r\n");
			return 1;
		}
		/* copy up to and including the next LF, stuffing a leading dot */
		if (out_room(c) < 2)
			return 0;
		if (c->at_line_start && src[0] == '.')
			c->out[c->out_len++] = '.';
		const char *nl = memchr(src, '\n', avail);
		size_t run = nl ? (size_t)(nl - src) + 1 : avail;

		if (run > out_room(c))
			run = out_room(c);
		memcpy(c->out + c->out_len, src, run);
		c->out_len += run;
		c->last_byte = src[run - 1];
		c->at_line_start = c->last_byte == '\n';
		body_consumed(c, run);
		if (out_room(c) < 2)
			return 0;
	}
}

/* body_fill_raw - append the message as it is (BDAT), ending an
 * unterminated last line; returns 1 once all of it is in the buffer */
static int body_fill_raw(struct relay_conn *c)
{
	for (;;) {
		const char *src;
		size_t avail;

		if (!body_piece(c, &src, &avail)) {
			if (c->last_byte == '\n')
				return 1;
			if (out_room(c) < 2)
				return 0;
			out_printf(c, "\r\n");
			c->last_byte = '\n';
			return 1;
		}
		if (avail > out_room(c))
			avail = out_room(c);
		if (avail == 0)
			return 0;
		memcpy(c->out + c->out_len, src, avail);
		c->out_len += avail;
		c->last_byte = src[avail - 1];
		body_consumed(c, avail);
	}
}

/* send_body - push the message while the socket takes it */
static void send_body(struct relay_conn *c)
{
	for (;;) {
		int done = c->bdat ? body_fill_raw(c) : relay_body_fill(c);

		if (flush(c) < 0)
			return;
		if (done) {
			if (c->out_off < c->out_len)
				return;	/* "." still queued: keep RC_BODY */
			c->state = RC_DOT;
			c->stage = RELAY_STAGE_DOT;
			c->deadline = c->pool->now_ms + c->pool->cfg.data_timeout_ms;
			return;
		}
		if (c->out_len)		/* socket full */
			return;
	}
}

/* relay_conn_io - handle what epoll reported for this connection */
void relay_conn_io(struct relay_conn *c, uint32_t events)
{
	if (c->state == RC_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err == 0 && !(events & (EPOLLOUT | EPOLLIN)))
			return;
		if (err) {
			char text[RELAY_REPLY_MAX];

			snprintf(text, sizeof(text), "4.4.1 downstream %s:%u unreachable: %s",
				 c->pool->cfg.host, c->pool->cfg.port, strerror(err));
			relay_job_finish(c, 451, text, 1);
			relay_conn_close(c, "connect failed");
			return;
		}
		c->state = RC_GREETING;
		c->stage = RELAY_STAGE_GREETING;
		c->reply_lines = 0;
		c->deadline = c->pool->now_ms + c->pool->cfg.cmd_timeout_ms;
	}
	if (events & EPOLLIN) {
		if (read_replies(c) < 0)
			return;
	} else if (events & (EPOLLERR | EPOLLHUP)) {
		relay_conn_close(c, "connection lost");
		return;
	}
	if (c->state == RC_TXN)
		send_commands(c);	/* may end with BDAT: RC_BODY */
	if (c->state == RC_BODY)
		send_body(c);
	if (c->fd >= 0 && flush(c) == 0)
		relay_conn_want(c);
}
