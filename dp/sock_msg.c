/*
 * sock_msg.c - the SMTP session's message events in socket mode
 *
 *	const struct smtp_ops sock_smtp_ops;
 *	void sock_msg_release(struct sock_conn *c);
 *
 * DESCRIPTION
 *	What the session reports as a message arrives: msg_begin starts the
 *	engine on the transaction's envelope, msg_data feeds each chunk to
 *	the engine (MIME, decoding, Hyperscan: in one pass) and appends it
 *	to the message buffer, msg_end takes the verdict and hands message
 *	and verdict to delivery, whose done() callback gives the session its
 *	final reply. The client's 250 therefore comes after the downstream's.
 *	Parameters and queue ids come from control/handoff.c, shared with
 *	the data plane.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlplane.h"
#include "handoff.h"
#include "sock_int.h"
#include "sfilter_hooks.h"

/* buf_append - copy content into the chunk list, within the budget */
static int buf_append(struct sock_conn *c, const uint8_t *p, size_t len)
{
	struct sock_msgbuf *b = &c->buf;
	struct sock_worker *w = c->w;

	while (len) {
		struct iovec *last = b->niov ? &b->iov[b->niov - 1] : NULL;

		if (last == NULL || last->iov_len == SOCK_CHUNK) {
			if (w->mem_used + SOCK_CHUNK > w->cfg->mem_max) {
				errno = ENOBUFS;
				return -1;
			}
			if (b->niov == b->cap) {
				size_t cap = b->cap ? 2 * b->cap : 16;
				struct iovec *n = realloc(b->iov, cap * sizeof(*n));

				if (n == NULL)
					return -1;
				b->iov = n;
				b->cap = cap;
			}
			if ((b->iov[b->niov].iov_base = malloc(SOCK_CHUNK)) == NULL)
				return -1;
			b->iov[b->niov].iov_len = 0;
			last = &b->iov[b->niov++];
			w->mem_used += SOCK_CHUNK;
		}
		size_t n = SOCK_CHUNK - last->iov_len;

		if (n > len)
			n = len;
		memcpy((char *)last->iov_base + last->iov_len, p, n);
		last->iov_len += n;
		b->size += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* sock_msg_release - drop the message: engine state, buffer, verdict */
void sock_msg_release(struct sock_conn *c)
{
	size_t i;

	if (c->em) {
		engine_msg_free(c->em);
		c->em = NULL;
	}
	for (i = 0; i < c->buf.niov; i++)
		free(c->buf.iov[i].iov_base);
	c->w->mem_used -= c->buf.niov * (uint64_t)SOCK_CHUNK;
	free(c->buf.iov);
	memset(&c->buf, 0, sizeof(c->buf));
	verdict_free(&c->verdict);
	memset(&c->verdict, 0, sizeof(c->verdict));
	c->msg_failed = false;
}

/* on_msg_begin - DATA or the first BDAT: start scanning */
static int on_msg_begin(void *ctx, const struct smtp_txn *t)
{
	struct sock_conn *c = ctx;

	sock_msg_release(c);
	if (c->w->mem_used + SOCK_CHUNK > c->w->cfg->mem_max)
		return -1;	/* 451 4.3.0: the client comes back later */
	c->env = t->env;
	c->em = engine_msg_begin(c->w->engine, NULL, &c->env);	/* current set */
	if (c->em == NULL) {
		fprintf(c->w->cfg->log_diag, "mxgate-filter: worker %u: engine:"
			" cannot start a message: %s\n", c->w->id, strerror(errno));
		return -1;
	}
	c->begin_ms = c->w->now_ms;
	c->first_byte_ms = 0;
	return 0;
}

/* on_msg_data - content as it arrives: scan it, keep it */
static int on_msg_data(void *ctx, const uint8_t *buf, size_t len)
{
	struct sock_conn *c = ctx;

	if (c->first_byte_ms == 0)
		c->first_byte_ms = c->w->now_ms;
	if (engine_msg_feed(c->em, buf, len) < 0 || buf_append(c, buf, len) < 0) {
		c->msg_failed = true;
		return -1;	/* the session answers 451 at the end */
	}
	return 0;
}

/* sock_msg_count - the thread's counters and latency histograms */
static void sock_msg_count(struct sock_conn *c, const struct delivery_msg *m,
			   const struct delivery_reply *r)
{
	struct ctlplane_core_stats *st;

	if (c->w->cfg->stats == NULL)
		return;
	st = &c->w->cfg->stats[c->w->id];
	if (r->code / 100 == 4)
		st->msg_tempfail++;
	else if (m->verdict->action == ACT_PASS)
		st->msg_pass++;
	else if (m->verdict->action == ACT_TAG)
		st->msg_tag++;
	else if (m->verdict->action == ACT_QUARANTINE)
		st->msg_quarantine++;
	else if (m->verdict->action == ACT_DISCARD)
		st->msg_discard++;
	else if (m->verdict->action == ACT_TEMPFAIL)
		st->msg_tempfail++;
	else
		st->msg_reject++;
	if (r->code / 100 == 2)
		st->msg_delivered++;
	else if (r->code / 100 == 4)
		st->replies_4xx++;
	else if (r->code / 100 == 5)
		st->replies_5xx++;
	metrics_hist_observe(&st->scan_ms, m->scan_ms);
	metrics_hist_observe(&st->total_ms, (double)(sock_now_ms() - m->end_ms));
}

/* on_delivered - delivery's verdict on the handed-over message */
static void on_delivered(void *ctx, struct delivery_msg *m,
			 const struct delivery_reply *r)
{
	struct sock_conn *c = ctx;

	sock_msg_count(c, m, r);
	c->delivering = false;
	if (c->fd >= 0) {
		/* -1 means the session gave up waiting (timeout/disconnect):
		 * the downstream may have it, the client will retry - a
		 * duplicate at worst, never a loss */
		smtp_session_message_result(&c->sess, r->code, r->enhanced,
					    r->text, c->w->now_ms);
	}
	sock_msg_release(c);
	sock_conn_pump(c);
}

/* on_msg_end - the content ended cleanly: verdict, then delivery */
static void on_msg_end(void *ctx, const struct smtp_txn *t)
{
	struct sock_conn *c = ctx;
	struct sock_worker *w = c->w;
	struct delivery_msg *m = &c->dm;
	uint64_t t0 = w->now_ms;

	memset(&c->verdict, 0, sizeof(c->verdict));
	if (c->msg_failed || engine_msg_end(c->em, &c->verdict) < 0) {
		smtp_session_message_result(&c->sess, 451, "4.3.0",
					    "temporary scanning failure, try again later",
					    w->now_ms);
		sock_msg_release(c);
		return;
	}
	memset(m, 0, sizeof(*m));
	handoff_qid(w->id, w->seq++, m->qid, sizeof(m->qid));
	c->env = t->env;
	sfilter_sock_msg_done(c, t);
	handoff_params(t, c->mail_params, sizeof(c->mail_params),
		       &c->rcpt_param_buf[0][0], sizeof(c->rcpt_param_buf),
		       c->rcpt_params);
	m->env = &c->env;
	/* with XFORWARD, the original client's port and protocol; but TLS
	 * to us wins, as the Received line delivery adds for it says so */
	m->client_port = t->client_port;
	m->proto = t->tls_version[0] ? (t->esmtp ? "ESMTPS" : "SMTPS")
		   : t->proto[0] ? t->proto : t->esmtp ? "ESMTP" : "SMTP";
	m->tls_version = t->tls_version;
	m->tls_cipher = t->tls_cipher;
	/* the front MTA's SOURCE and queue id go on to the downstream (in
	 * the session's XFORWARD state, like the client above, until the
	 * reply) */
	m->source = t->source;
	m->ident = t->ident;
	m->mail_params = c->mail_params;
	m->rcpt_params = c->rcpt_params;
	m->verdict = &c->verdict;
	m->rules_version = engine_msg_rules_version(c->em);
	m->body = c->buf.iov;
	m->nbody = c->buf.niov;
	m->size = c->buf.size;
	m->receive_ms = c->first_byte_ms ? (double)(t0 - c->first_byte_ms) : 0;
	m->scan_ms = (double)(sock_now_ms() - t0);
	m->end_ms = t0;
	m->done = on_delivered;
	m->ctx = c;
	c->delivering = true;
	if (w->cfg->stats) {	/* handed over: answered ones are counted by action */
		w->cfg->stats[w->id].messages++;
		w->cfg->stats[w->id].msg_bytes += m->size;
	}
	delivery_submit(w->delivery, m, w->now_ms);
}

/* on_msg_abort - the message is gone (bad data, disconnect, timeout) */
static void on_msg_abort(void *ctx)
{
	struct sock_conn *c = ctx;

	if (!c->delivering)
		sock_msg_release(c);
	/* else delivery still reads the buffer: released in on_delivered */
}

const struct smtp_ops sock_smtp_ops = {
	.mail_check = sfilter_sock_mail_check,
	.rcpt_check = sfilter_sock_rcpt_check,
	.msg_begin = on_msg_begin,
	.msg_data = on_msg_data,
	.msg_end = on_msg_end,
	.msg_abort = on_msg_abort,
	.tls_start = sock_tls_start,
};
