/*
 * delivery.c - carry out a verdict: relay, quarantine, discard; log it
 *
 *	See delivery.h for what each action does and the replies it gives.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "delivery.h"
#include "json.h"
#include "msglog.h"
#include "pgstore.h"
#include "quarantine.h"

struct delivery {
	struct delivery_config cfg;
	struct relay_pool *relay;
};

/* delivery_queued - the relay pool's backlog, for the control plane */
size_t delivery_queued(const struct delivery *d)
{
	return relay_pool_queued(d->relay);
}

/* delivery_new - a delivery context with its own relay pool */
struct delivery *delivery_new(const struct delivery_config *cfg,
			      const struct relay_config *relay)
{
	struct delivery *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->cfg = *cfg;
	if ((d->relay = relay_pool_new(relay)) == NULL) {
		int saved = errno;

		free(d);
		errno = saved;
		return NULL;
	}
	return d;
}

/* delivery_fd - the relay's epoll descriptor */
int delivery_fd(const struct delivery *d)
{
	return relay_pool_fd(d->relay);
}

/* delivery_run - relay I/O and timeouts */
void delivery_run(struct delivery *d, uint64_t now_ms)
{
	relay_pool_run(d->relay, now_ms);
}

/* delivery_free - close the relay; messages in flight get 451 */
void delivery_free(struct delivery *d)
{
	if (d == NULL)
		return;
	relay_pool_free(d->relay);
	free(d);
}

/* set_reply - fill a reply */
static void set_reply(struct delivery_reply *r, int code, const char *enh,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void set_reply(struct delivery_reply *r, int code, const char *enh,
		      const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	snprintf(r->enhanced, sizeof(r->enhanced), "%s", enh);
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* split_enhanced - move a leading "x.y.z " of the text into enhanced */
static void split_enhanced(struct delivery_reply *r)
{
	const char *t = r->text;
	size_t n = strspn(t, "0123456789.");
	int dots = 0;

	for (size_t i = 0; i < n; i++)
		dots += t[i] == '.';
	if (r->enhanced[0] || dots != 2 || n < 5 || n >= sizeof(r->enhanced)
	    || (t[n] != ' ' && t[n] != 0) || t[0] - '0' != r->code / 100)
		return;
	memcpy(r->enhanced, t, n);
	r->enhanced[n] = 0;
	memmove(r->text, t + n + (t[n] == ' '), strlen(t + n + (t[n] == ' ')) + 1);
}

/* upstream_qid - the up-stream MTA's queue id, NULL when it gave none
 * (or XFORWARD's "[UNAVAILABLE]") */
static const char *upstream_qid(const struct delivery_msg *m)
{
	if (m->ident == NULL || !m->ident[0] || m->ident[0] == '[')
		return NULL;
	return m->ident;
}

/* finish - log the message, free our parts, tell the transport */
static void finish(struct delivery_msg *m, const char *action,
		   struct delivery_reply *r, const char *downstream,
		   const char *note, uint64_t now_ms)
{
	struct delivery *d = m->d;

	split_enhanced(r);
	if (!r->enhanced[0])	/* a downstream without enhanced codes */
		snprintf(r->enhanced, sizeof(r->enhanced), "%d.0.0", r->code / 100);

	if (d->cfg.log || d->cfg.store) {
		struct msglog_entry e;

		memset(&e, 0, sizeof(e));
		e.qid = m->qid;
		e.upstream_qid = upstream_qid(m);
		e.env = m->env;
		e.client_port = m->client_port;
		e.size = m->size;
		e.verdict = m->verdict;
		e.action = action;
		e.reply_code = r->code;
		e.reply_text = r->text;
		e.downstream = downstream;
		e.rules_version = m->rules_version ? m->rules_version
			: d->cfg.rules_version;
		e.note = note;
		e.tls_version = m->tls_version;
		e.tls_cipher = m->tls_cipher;
		e.receive_ms = m->receive_ms;
		e.scan_ms = m->scan_ms;
		e.relay_ms = m->relay_start_ms ? (double)(now_ms - m->relay_start_ms) : 0;
		e.total_ms = (double)(now_ms - m->end_ms);
		if (d->cfg.log)
			msglog_write(d->cfg.log, &e);
		if (d->cfg.store)	/* queued: never waits for the database */
			pgstore_log(d->cfg.store, &e);
	}
	free(m->iov);
	m->iov = NULL;
	m->done(m->ctx, m, r);
}

/* subject_split - where "[SPAM]" goes: just after "Subject:" in the
 * header section; returns 0 and the iovec index and offset, -1 if the
 * message has no Subject */
static int subject_split(const struct iovec *iov, size_t niov, size_t *at_iov,
			 size_t *at_off)
{
	static const char want[] = "subject:";
	size_t i, k, matched = 0;
	int line_start = 1, empty_line = 1;

	for (i = 0; i < niov; i++) {
		const unsigned char *p = iov[i].iov_base;

		for (k = 0; k < iov[i].iov_len; k++) {
			unsigned char ch = p[k];

			if (line_start && matched == 0) {
				if (ch == '\r')
					continue;
				if (ch == '\n' && empty_line)
					return -1;	/* end of headers */
			}
			if (ch == '\n') {
				line_start = 1;
				empty_line = 1;
				matched = 0;
				continue;
			}
			if (ch != '\r')
				empty_line = 0;
			if (line_start || matched) {
				if ((ch | 0x20) == (unsigned char)want[matched]
				    || ch == (unsigned char)want[matched]) {
					if (++matched == sizeof(want) - 1) {
						*at_iov = i;
						*at_off = k + 1;
						return 0;
					}
				} else {
					matched = 0;
				}
			}
			line_start = 0;
		}
	}
	return -1;
}

/* received_tls - "Received: ... with ESMTPS (version=... cipher=...)"
 * for a message that came over TLS; returns its length, 0 without TLS */
static size_t received_tls(const struct delivery_msg *m, char *buf, size_t size)
{
	const char *host = m->d->cfg.hostname ? m->d->cfg.hostname : "mxgate";
	char when[64];
	struct tm tm;
	time_t now;
	int n;

	if (m->tls_version == NULL || !m->tls_version[0])
		return 0;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	n = snprintf(buf, size, "Received: from %.255s (%s)\r\n\tby %s (mxgate)"
		     " with %s (version=%s cipher=%s)\r\n\tid %s; %s\r\n",
		     m->env->helo[0] ? m->env->helo : "unknown",
		     m->env->client_addr, host, m->proto ? m->proto : "ESMTPS",
		     m->tls_version, m->tls_cipher ? m->tls_cipher : "",
		     m->qid, when);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* build_headers - Received (TLS only), our X-Mxgate header, and a Subject
 * when tagging a message that has none; sets up m->iov for the Subject
 * tag */
static int build_headers(struct delivery_msg *m, int tag)
{
	const struct verdict *v = m->verdict;
	size_t n, i, at_iov = 0, at_off = 0;
	int has_subject;

	n = received_tls(m, m->hdr, sizeof(m->hdr));
	n += (size_t)snprintf(m->hdr + n, sizeof(m->hdr) - n,
			     "X-Mxgate: %s; action=%s; score=%d; qid=%s%s",
			     m->d->cfg.hostname ? m->d->cfg.hostname : "mxgate",
			     action_name(v->action), v->score, m->qid,
			     v->nmatches ? "; rules=" : "");
	for (i = 0; i < v->nmatches && n < sizeof(m->hdr) - 80; i++)
		n += (size_t)snprintf(m->hdr + n, sizeof(m->hdr) - n, "%s%s",
				      i ? "," : "", v->matches[i].rule_id);
	n += (size_t)snprintf(m->hdr + n, sizeof(m->hdr) - n, "\r\n");
	if (!tag)
		return 0;
	has_subject = subject_split(m->body, m->nbody, &at_iov, &at_off) == 0;
	if (!has_subject) {
		snprintf(m->hdr + n, sizeof(m->hdr) - n, "Subject: %s\r\n",
			 v->tag_subject[0] ? v->tag_subject : "[SPAM]");
		return 0;
	}
	/* body iovecs, with the one holding "Subject:" split for the tag */
	if ((m->iov = calloc(m->nbody + 2, sizeof(*m->iov))) == NULL)
		return -1;
	for (i = 0, n = 0; i < m->nbody; i++) {
		if (i != at_iov) {
			m->iov[n++] = m->body[i];
			continue;
		}
		m->iov[n].iov_base = m->body[i].iov_base;
		m->iov[n++].iov_len = at_off;
		/* "Subject:" + " [SPAM]" + " original" */
		snprintf(m->tag, sizeof(m->tag), " %s",
			 v->tag_subject[0] ? v->tag_subject : "[SPAM]");
		m->iov[n].iov_base = m->tag;
		m->iov[n++].iov_len = strlen(m->tag);
		m->iov[n].iov_base = (char *)m->body[i].iov_base + at_off;
		m->iov[n++].iov_len = m->body[i].iov_len - at_off;
	}
	m->niov = n;
	return 0;
}

/* relay_done - the downstream answered (or could not be reached) */
static void relay_done(void *ctx, const struct relay_result *res)
{
	struct delivery_msg *m = ctx;
	struct delivery_reply r;
	char note[256] = "";
	size_t i, refused = 0, temp = 0;

	for (i = 0; i < res->nrcpt; i++) {
		if (res->rcpt_code[i] / 100 == 2)
			continue;
		refused++;
		temp += res->rcpt_code[i] / 100 == 4;
	}
	if (res->code / 100 == 2 && temp) {
		set_reply(&r, 451, "4.5.3", "downstream deferred %zu of %zu"
			  " recipients, try again later", temp, res->nrcpt);
	} else if (res->code / 100 == 2) {
		set_reply(&r, 250, "2.0.0", "Ok: queued as %s", m->qid);
		if (refused) {
			size_t n = 0;

			n += (size_t)snprintf(note, sizeof(note),
					      "downstream refused recipients:");
			for (i = 0; i < res->nrcpt && n < sizeof(note) - 2; i++)
				if (res->rcpt_code[i] / 100 != 2)
					n += (size_t)snprintf(note + n, sizeof(note) - n,
							      " %s(%d)", m->env->rcpt[i],
							      res->rcpt_code[i]);
		}
	} else if (res->local) {
		/* our own text already carries an enhanced code */
		r.code = 451;
		r.enhanced[0] = 0;
		snprintf(r.text, sizeof(r.text), "%s", res->text);
	} else {
		/* pass the downstream's refusal on, code and text */
		r.code = res->code;
		r.enhanced[0] = 0;
		snprintf(r.text, sizeof(r.text), "%s", res->text);
		if (r.code / 100 != 4 && r.code / 100 != 5) {
			r.code = 451;
			snprintf(r.text, sizeof(r.text), "4.4.0 downstream said %d %.400s",
				 res->code, res->text);
		}
	}
	char down[RELAY_REPLY_MAX + 16];

	snprintf(down, sizeof(down), "%d %s", res->code, res->text);
	finish(m, action_name(m->verdict->action), &r, res->local ? NULL : down,
	       note[0] ? note : NULL, m->relay_start_ms + res->elapsed_ms);
}

/* do_relay - pass and tag: hand the message to the downstream */
static void do_relay(struct delivery *d, struct delivery_msg *m,
		     uint64_t now_ms)
{
	const struct verdict *v = m->verdict;
	struct relay_msg rm;
	struct delivery_reply r;

	if (build_headers(m, v->action == ACT_TAG) < 0) {
		set_reply(&r, 451, "4.3.0", "out of memory, try again later");
		finish(m, "tempfail", &r, NULL, "no memory for the tag", now_ms);
		return;
	}
	memset(&rm, 0, sizeof(rm));
	rm.env = m->env;
	rm.client_port = m->client_port;
	rm.proto = m->proto;
	rm.source = m->source;
	rm.ident = m->ident;
	rm.qid = m->qid;
	rm.mail_params = m->mail_params;
	rm.rcpt_params = m->rcpt_params;
	rm.prepend = m->hdr;
	rm.prepend_len = strlen(m->hdr);
	rm.body = m->iov ? m->iov : m->body;
	rm.nbody = m->iov ? m->niov : m->nbody;
	m->relay_start_ms = now_ms;
	if (relay_pool_submit(d->relay, &rm, relay_done, m) < 0) {
		set_reply(&r, 451, "4.3.0", "relay queue full (%s), try again later",
			  strerror(errno));
		finish(m, "tempfail", &r, NULL, "relay queue full", now_ms);
	}
}

/* do_quarantine - store durably, then 250 */
static void do_quarantine(struct delivery *d, struct delivery_msg *m,
			  uint64_t now_ms)
{
	struct delivery_reply r;
	char err[256], *meta = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&meta, &len)) == NULL) {
		set_reply(&r, 451, "4.3.0", "cannot quarantine now, try again later");
		finish(m, "tempfail", &r, NULL, "open_memstream failed", now_ms);
		return;
	}
	fputs("{\"qid\":", f);
	json_string(f, m->qid, strlen(m->qid));
	fputs(",\"from\":", f);
	json_string(f, m->env->mail_from, strlen(m->env->mail_from));
	fputs(",\"rcpt\":[", f);
	for (size_t i = 0; i < m->env->nrcpt; i++) {
		if (i)
			putc(',', f);
		json_string(f, m->env->rcpt[i], strlen(m->env->rcpt[i]));
	}
	fputs("],\"client\":", f);
	json_string(f, m->env->client_addr, strlen(m->env->client_addr));
	fputs(",", f);
	json_verdict(f, m->verdict, NULL, 0);
	fputs("}", f);
	fclose(f);
	if ((d->cfg.store
	     ? pgstore_quarantine_put(d->cfg.store, m->qid, meta, m->body,
				      m->nbody, err, sizeof(err))
	     : quarantine_store(d->cfg.quarantine_dir, m->qid, meta, m->body,
				m->nbody, err, sizeof(err))) < 0) {
		set_reply(&r, 451, "4.3.0", "cannot quarantine now, try again later");
		finish(m, "tempfail", &r, NULL, err, now_ms);
	} else {
		set_reply(&r, 250, "2.0.0", "Ok: queued as %s", m->qid);
		finish(m, "quarantine", &r, NULL, NULL, now_ms);
	}
	free(meta);
}

/* policy_reply - the verdict's "550 5.7.1 text" as it is when it has the
 * expected class, else the fallback */
static void policy_reply(struct delivery_reply *r, const char *reply,
			 int class, int code, const char *enh, const char *text)
{
	if (reply[0] && sscanf(reply, "%d", &r->code) == 1
	    && r->code / 100 == class && strlen(reply) > 4) {
		r->enhanced[0] = 0;	/* split out of the text by finish() */
		snprintf(r->text, sizeof(r->text), "%s", reply + 4);
		return;
	}
	set_reply(r, code, enh, "%s", text);
}

/* delivery_submit - do what the verdict says */
void delivery_submit(struct delivery *d, struct delivery_msg *m,
		     uint64_t now_ms)
{
	const struct verdict *v = m->verdict;
	struct delivery_reply r;

	m->d = d;
	m->iov = NULL;
	m->relay_start_ms = 0;
	switch (v->action) {
	case ACT_PASS:
	case ACT_TAG:
		do_relay(d, m, now_ms);
		return;
	case ACT_QUARANTINE:
		do_quarantine(d, m, now_ms);
		return;
	case ACT_DISCARD:
		set_reply(&r, 250, "2.0.0", "Ok: queued as %s", m->qid);
		finish(m, "discard", &r, NULL, NULL, now_ms);
		return;
	case ACT_REJECT:
		policy_reply(&r, v->reply, 5, 550, "5.7.1", "message refused by policy");
		finish(m, "reject", &r, NULL, NULL, now_ms);
		return;
	case ACT_TEMPFAIL:
	default:
		policy_reply(&r, v->reply, 4, 451, "4.7.1", "message deferred by policy");
		finish(m, "tempfail", &r, NULL, NULL, now_ms);
		return;
	}
}
