/*
 * smtp_app.c - SMTP sessions on a worker lcore (the tcp_app_ops of port 25)
 *
 *	extern const struct tcp_app_ops smtpdp_app;
 *	struct smtpdp_lcore *smtpdp_lcore_new(const struct smtpdp_config *cfg,
 *			unsigned index, struct rte_mempool *chunks, int socket,
 *			struct dp_smtp_counters *ctr);
 *	unsigned smtpdp_poll(void *lcore_ctx, uint64_t now_us);
 *	unsigned smtpdp_drain(void *lcore_ctx, uint64_t now_us);
 *	void smtpdp_lcore_report(const struct smtpdp_lcore *l, FILE *fp);
 *	void smtpdp_lcore_free(struct smtpdp_lcore *l);
 *
 * DESCRIPTION
 *	The data-plane twin of dp/sock_server.c and dp/sock_msg.c (see
 *	smtp_app.h for the whole path). conn_pump() moves bytes between the
 *	TCP rings and the session: what the session does not take stays
 *	unconsumed in the TCP receive ring, whose window then closes on the
 *	client (backpressure); replies that do not fit the send ring wait
 *	for the writable callback.
 *
 *	Nothing here blocks, calls the kernel or the system allocator after
 *	start-up: slots and rings are preallocated, content goes into
 *	mempool chunks. (The engine recycles its per-message memory; see
 *	engine.h.) An empty chunk pool refuses the message with 451 4.3.0 at
 *	DATA, never drops accepted content.
 *
 *	Replies are counted by class as they leave (replies_4xx/5xx): only
 *	the last line of a reply, found by its fourth character, a space.
 *
 * DIAGNOSTICS
 *	None in the loop: struct dp_smtp_counters in the counters memzone,
 *	also printed at shutdown.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "rules_rcu.h"
#include "smtp_app.h"
#include "sfilter_hooks.h"

#define US_PER_MS	1000
#define REPLY_CODE_LEN	3	/* "250" */

static const char shutdown_reply[] =
	"421 4.3.2 Service shutting down, try again later\r\n";

/* now_ms - the lcore's clock as the session wants it */
static uint64_t now_ms(const struct smtpdp_lcore *l)
{
	return l->now_us / US_PER_MS;
}

/* chunks_free - give a chunk list back to the pool */
static void chunks_free(struct smtpdp_lcore *l, struct smtpdp_chunk *ch)
{
	while (ch) {
		struct smtpdp_chunk *next = ch->next;

		rte_mempool_put(l->chunks, ch);
		ch = next;
	}
}

/* msg_release - drop the message being received (not a handed-off one) */
static void msg_release(struct smtpdp_conn *s)
{
	if (s->em) {
		engine_msg_free(s->em);
		s->em = NULL;
	}
	chunks_free(s->lc, s->head);
	s->head = s->tail = NULL;
	s->nchunks = 0;
	s->size = 0;
	s->msg_failed = false;
}

/* chunk_new - one more chunk at the tail; -1 when the pool is empty */
static int chunk_new(struct smtpdp_conn *s)
{
	struct smtpdp_chunk *ch;

	if (rte_mempool_get(s->lc->chunks, (void **)&ch) < 0)
		return -1;
	ch->next = NULL;
	ch->len = 0;
	if (s->tail)
		s->tail->next = ch;
	else
		s->head = ch;
	s->tail = ch;
	s->nchunks++;
	return 0;
}

/* content_append - copy content into the chunk list */
static int content_append(struct smtpdp_conn *s, const uint8_t *p, size_t len)
{
	while (len) {
		size_t room, n;

		if (s->tail == NULL || s->tail->len == sizeof(s->tail->data))
			if (chunk_new(s) < 0)
				return -1;
		room = sizeof(s->tail->data) - s->tail->len;
		n = len < room ? len : room;
		memcpy(s->tail->data + s->tail->len, p, n);
		s->tail->len += (uint32_t)n;
		s->size += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* slot_release - the slot is free once TCP and control are both done */
static void slot_release(struct smtpdp_conn *s)
{
	struct smtpdp_lcore *l = s->lc;

	if (!s->in_use || s->c || s->pending)
		return;
	msg_release(s);
	s->in_use = false;
	l->free_slots[l->nfree++] = s->index;
}

/* conn_finish - the session is over: tell it, close TCP, free the slot */
static void conn_finish(struct smtpdp_conn *s)
{
	struct tcp_conn *c = s->c;

	if (s->live) {
		s->live = false;
		smtp_session_fini(&s->sess);
	}
	sfilter_dp_close(s);
	if (c) {
		s->c = NULL;
		tcp_close(c);	/* FIN after the replies already queued */
	}
	smtpdp_tls_release(s);
	slot_release(s);
}

/* replies_count - count final reply lines of what was sent, by class */
static void replies_count(struct smtpdp_conn *s, const uint8_t *p, size_t n)
{
	struct dp_smtp_counters *ctr = s->lc->ctr;
	size_t i;

	ctr->reply_bytes += n;
	for (i = 0; i < n; i++) {
		if (s->reply_col == 0)
			s->reply_class = (char)p[i];
		else if (s->reply_col == REPLY_CODE_LEN && p[i] == ' ') {
			if (s->reply_class == '4')
				ctr->replies_4xx++;
			else if (s->reply_class == '5')
				ctr->replies_5xx++;
		}
		s->reply_col = p[i] == '\n' ? 0 : (uint16_t)(s->reply_col + 1);
		if (s->reply_col > REPLY_CODE_LEN) {
			/* the rest of the line says nothing: skip to its end */
			const uint8_t *nl = memchr(p + i + 1, '\n', n - i - 1);

			if (nl == NULL)
				break;
			i = (size_t)(nl - p) - 1;
		}
	}
}

/* output_flush - queue the session's replies; 1 when all went */
static int output_flush(struct smtpdp_conn *s)
{
	const uint8_t *p;
	size_t n, sent;

	while ((n = smtp_session_output(&s->sess, &p)) > 0) {
		sent = tcp_send(s->c, p, n);
		if (sent == 0)
			return 0;	/* the writable callback resumes */
		replies_count(s, p, sent);
		smtp_session_output_done(&s->sess, sent);
	}
	return 1;
}

/* pump - feed input, send replies, until nothing moves; maybe close */
static void pump(struct smtpdp_conn *s)
{
	struct tcp_iov iov[2];
	const uint8_t *p;
	int all_out = 1;

	if (s->tls_engaged) {
		if (smtpdp_tls_pump(s) < 0)
			conn_finish(s);
		return;
	}
	switch (sfilter_dp_gate(s)) {
	case SFILTER_HOOK_WAIT:
		return;
	case SFILTER_HOOK_CLOSE:
		conn_finish(s);
		return;
	}
	for (;;) {
		size_t took = 0, avail;
		unsigned i;

		avail = tcp_peek(s->c, iov);
		for (i = 0; i < 2 && avail; i++) {
			size_t k;

			if (iov[i].len == 0)
				continue;
			k = smtp_session_input(&s->sess, iov[i].base, iov[i].len,
					       now_ms(s->lc));
			took += k;
			if (k < iov[i].len)
				break;
		}
		if (took)
			tcp_consume(s->c, took);
		all_out = output_flush(s);
		if (all_out && smtpdp_tls_engage(s)) {
			/* the 220 is out: nothing more is read in plaintext */
			if (smtpdp_tls_pump(s) < 0)
				conn_finish(s);
			return;
		}
		if (smtp_session_closing(&s->sess)) {
			if (all_out)
				conn_finish(s);
			return;
		}
		if (took == 0 || !all_out)
			break;
	}
	/* A client that half-closed gets its last replies, then FIN; not
	 * before a message it sent is answered. */
	if (s->eof && all_out && !s->pending
	    && (tcp_peek(s->c, iov) == 0 || !smtp_session_readable(&s->sess))
	    && smtp_session_output(&s->sess, &p) == 0)
		conn_finish(s);
}

/* conn_pump - pump, never inside itself (results arrive from poll) */
static void conn_pump(struct smtpdp_conn *s)
{
	if (s->c == NULL || !s->live || s->pumping)
		return;
	s->pumping = true;
	pump(s);
	s->pumping = false;
}

/* ---- session events (struct smtp_ops) ---- */

/* on_msg_begin - DATA/BDAT: a first chunk and an engine message */
static int on_msg_begin(void *ctx, const struct smtp_txn *t)
{
	struct smtpdp_conn *s = ctx;
	struct smtpdp_lcore *l = s->lc;

	msg_release(s);
	if (s->pending) {
		l->ctr->msg_busy++;	/* a timed-out result is still out */
		return -1;
	}
	if (chunk_new(s) < 0) {
		l->ctr->msg_no_chunk++;
		return -1;		/* 451 4.3.0: the client retries */
	}
	s->env = t->env;
	s->em = engine_msg_begin(l->engine, NULL, &s->env);	/* current set */
	if (s->em == NULL) {
		l->ctr->msg_engine_fail++;
		msg_release(s);
		return -1;
	}
	s->first_byte_us = 0;
	return 0;
}

/* on_msg_data - content as it arrives: scan it and keep it */
static int on_msg_data(void *ctx, const uint8_t *buf, size_t len)
{
	struct smtpdp_conn *s = ctx;

	if (s->first_byte_us == 0)
		s->first_byte_us = s->lc->now_us;
	if (engine_msg_feed(s->em, buf, len) < 0) {
		s->lc->ctr->msg_engine_fail++;
		s->msg_failed = true;
		return -1;
	}
	if (content_append(s, buf, len) < 0) {
		s->lc->ctr->msg_no_chunk++;
		s->msg_failed = true;
		return -1;
	}
	return 0;
}

/* copy_str - bounded copy into the record; returns the copy */
static const char *copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = 0;
	return dst;
}

/* record_fill - envelope, parameters and verdict, copied for control */
static void record_fill(struct smtpdp_conn *s, const struct smtp_txn *t)
{
	struct smtpdp_handoff *r = &s->rec;
	size_t i, used = 0;

	r->lcore = s->lc->index;
	r->home = s->lc->from_ctrl;
	r->env.client_addr = copy_str(r->client_addr, sizeof(r->client_addr), s->addr);
	r->env.client_name = "";
	r->env.helo = copy_str(r->helo, sizeof(r->helo), t->env.helo);
	r->env.mail_from = copy_str(r->mail_from, sizeof(r->mail_from), t->env.mail_from);
	for (i = 0; i < t->env.nrcpt && i < SMTP_RCPT_CAP; i++) {
		size_t n = strlen(t->env.rcpt[i]);

		if (used + n + 1 > sizeof(r->rcpt_buf))
			break;	/* cannot happen: same storage as the session's */
		memcpy(r->rcpt_buf + used, t->env.rcpt[i], n + 1);
		r->rcpt[i] = r->rcpt_buf + used;
		used += n + 1;
	}
	r->env.rcpt = r->rcpt;
	r->env.nrcpt = i;
	r->client_port = t->client_port;
	r->esmtp = t->esmtp;
	smtpdp_tls_record(s, t);
	handoff_params(t, r->mail_params, sizeof(r->mail_params),
		       r->rcpt_param_buf, sizeof(r->rcpt_param_buf), r->rcpt_params);
	r->head = s->head;
	r->nchunks = s->nchunks;
	r->size = s->size;
	s->head = s->tail = NULL;
	s->nchunks = 0;
	s->size = 0;
}

/* verdict_copy - the verdict without pointers into the engine worker */
static void verdict_copy(struct smtpdp_handoff *r)
{
	size_t n = r->verdict.nmatches;

	if (n > SMTPDP_MATCH_MAX)
		n = SMTPDP_MATCH_MAX;	/* the log lists the first ones */
	if (n)
		memcpy(r->matches, r->verdict.matches, n * sizeof(r->matches[0]));
	r->verdict.matches = r->matches;
	r->verdict.nmatches = n;
	/* nothing may point into the rule set: a swap may free it */
	for (size_t i = 0; i < n; i++)
		r->matches[i].description = NULL;
	r->verdict.policy = copy_str(r->policy, sizeof(r->policy), r->verdict.policy);
}

/* ring_bell - wake control if it sleeps (one write per sleep at most) */
static void ring_bell(struct smtpdp_lcore *l)
{
	static const uint64_t one = 1;

	if (l->bell == NULL)
		return;
	/* The ring's tail store must be visible before we read the flag, as
	 * control's flag store is before its look at the ring (ctl_wait):
	 * without a full fence x86 may let our load pass our store, and
	 * both sides would miss (the record then waits for the timeout). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&l->bell->sleeping, __ATOMIC_SEQ_CST)
	    || !__atomic_exchange_n(&l->bell->sleeping, 0, __ATOMIC_SEQ_CST))
		return;
	l->ctr->ctl_wakeups++;
	/* Cannot block (EFD_NONBLOCK) and cannot lose the wake-up: a counter
	 * at its limit is readable already. */
	(void)!write(l->bell->efd, &one, sizeof(one));
}

/* on_msg_end - verdict now, delivery by control, reply when it answers */
static void on_msg_end(void *ctx, const struct smtp_txn *t)
{
	struct smtpdp_conn *s = ctx;
	struct smtpdp_lcore *l = s->lc;
	struct smtpdp_handoff *r = &s->rec;
	uint64_t t0 = l->now_us, tsc0 = rte_rdtsc();

	memset(&r->verdict, 0, sizeof(r->verdict));
	if (s->msg_failed || engine_msg_end(s->em, &r->verdict) < 0) {
		if (!s->msg_failed)
			l->ctr->msg_engine_fail++;
		smtp_session_message_result(&s->sess, 451, "4.3.0",
					    "temporary scanning failure, try again later",
					    now_ms(l));
		msg_release(s);
		return;
	}
	verdict_copy(r);
	copy_str(r->rules_version, sizeof(r->rules_version),
		 engine_msg_rules_version(s->em));
	sfilter_dp_msg_done(s, &r->verdict, &t->env);
	engine_msg_free(s->em);
	s->em = NULL;
	record_fill(s, t);
	r->receive_ms = s->first_byte_us ? (double)(t0 - s->first_byte_us) / US_PER_MS : 0;
	r->scan_ms = (double)(rte_rdtsc() - tsc0) * US_PER_MS / (double)rte_get_tsc_hz();
	r->end_us = t0;
	l->ctr->msg_bytes += r->size;
	s->pending = true;
	s->abandoned = false;
	if (rte_ring_sp_enqueue(l->to_ctrl, r) != 0) {
		/* sized for every slot: a full ring is a broken invariant,
		 * still answered as a temporary failure, never a loss */
		s->pending = false;
		chunks_free(l, r->head);
		r->head = NULL;
		smtp_session_message_result(&s->sess, 451, "4.3.0",
					    "handoff queue full, try again later", now_ms(l));
		return;
	}
	l->ctr->messages++;
	ring_bell(l);
}

/* on_msg_abort - drop the message; a handed-off one is only disowned */
static void on_msg_abort(void *ctx)
{
	struct smtpdp_conn *s = ctx;

	if (s->pending)
		s->abandoned = true;	/* its result will just be freed */
	msg_release(s);
}

static const struct smtp_ops smtpdp_ops = {
	.mail_check = sfilter_dp_mail_check,
	.rcpt_check = sfilter_dp_rcpt_check,
	.msg_begin = on_msg_begin,
	.msg_data = on_msg_data,
	.msg_end = on_msg_end,
	.msg_abort = on_msg_abort,
	.tls_start = smtpdp_tls_start,
};

/* ---- TCP events (struct tcp_app_ops) ---- */

/* app_accept - a slot and a session, greeting queued */
static void *app_accept(void *listen_ctx, struct tcp_conn *c)
{
	struct smtpdp_lcore *l = listen_ctx;
	struct smtpdp_conn *s;
	uint32_t addr;
	uint16_t port;

	if (l->nfree == 0 || l->closing) {
		l->ctr->sessions_refused++;
		return NULL;	/* reset: the client retries later */
	}
	s = &l->conns[l->free_slots[--l->nfree]];
	s->in_use = true;
	s->c = c;
	s->eof = s->pumping = s->msg_failed = s->pending = s->abandoned = false;
	s->reply_col = 0;
	tcp_conn_peer(c, &addr, &port);
	snprintf(s->addr, sizeof(s->addr), "%u.%u.%u.%u", addr >> 24,
		 addr >> 16 & 255, addr >> 8 & 255, addr & 255);
	if (smtp_session_init(&s->sess, &l->cfg->smtp, &smtpdp_ops, s, s->addr,
			      port, now_ms(l)) < 0) {
		s->c = NULL;
		slot_release(s);
		l->ctr->sessions_refused++;
		return NULL;
	}
	s->live = true;
	smtpdp_tls_policy(s);
	l->ctr->sessions++;
	if (sfilter_dp_open(s, addr))
		output_flush(s);	/* the greeting, unless held */
	return s;
}

/* app_data - bytes (or FIN) from the client */
static void app_data(void *app_conn, struct tcp_conn *c, size_t avail, int eof)
{
	struct smtpdp_conn *s = app_conn;

	if (eof)
		s->eof = true;
	conn_pump(s);
}

/* app_writable - send space again: the rest of the replies, more input */
static void app_writable(void *app_conn, struct tcp_conn *c, size_t space)
{
	conn_pump(app_conn);
}

/* app_closed - TCP is gone (reset, timeout): end the session */
static void app_closed(void *app_conn, struct tcp_conn *c,
		       enum tcp_close_reason why)
{
	struct smtpdp_conn *s = app_conn;

	s->c = NULL;
	if (s->live) {
		s->live = false;
		smtp_session_fini(&s->sess);	/* aborts a message in progress */
	}
	smtpdp_tls_release(s);
	sfilter_dp_close(s);
	slot_release(s);
}

const struct tcp_app_ops smtpdp_app = {
	.accept = app_accept,
	.data = app_data,
	.writable = app_writable,
	.closed = app_closed,
};

/* ---- the lcore's share of the loop ---- */

/* shutdown_conn - 421 4.3.2 after what the session already said, FIN;
 * with force, also a session whose message control never answered */
static void shutdown_conn(struct smtpdp_conn *s, bool force)
{
	size_t n = sizeof(shutdown_reply) - 1;

	if (s->c == NULL || !s->live || (s->pending && !force))
		return;
	if (s->pending)
		s->abandoned = true;	/* no 250 for it: the client retries */
	/* A reply that does not fit now is lost with the connection: the
	 * client then sees the FIN without a 250, which is just as safe. */
	if (smtpdp_tls_bye(s, shutdown_reply, n))
		;	/* encrypted, with close_notify */
	else if (output_flush(s) && tcp_send(s->c, shutdown_reply, n) == n)
		replies_count(s, (const uint8_t *)shutdown_reply, n);
	s->lc->ctr->sessions_shutdown++;
	conn_finish(s);
}

/* action_count - count a message control answered, by verdict action */
static void action_count(struct dp_smtp_counters *ctr,
			 const struct smtpdp_handoff *r)
{
	switch (r->verdict.action) {
	case ACT_PASS:
		ctr->msg_pass++;
		break;
	case ACT_TAG:
		ctr->msg_tag++;
		break;
	case ACT_QUARANTINE:
		ctr->msg_quarantine++;
		break;
	case ACT_DISCARD:
		ctr->msg_discard++;
		break;
	case ACT_TEMPFAIL:
		ctr->msg_tempfail++;
		break;
	case ACT_REJECT:
	case ACT_COUNT:
		ctr->msg_reject++;
		break;
	}
	if (r->reply.code / 100 == 2)
		ctr->msg_delivered++;
}

/* results - replies from control go to their sessions */
static unsigned results(struct smtpdp_lcore *l)
{
	struct smtpdp_handoff *recs[SMTPDP_RESULT_BURST];
	unsigned n, i;

	n = rte_ring_sc_dequeue_burst(l->from_ctrl, (void **)recs,
				      SMTPDP_RESULT_BURST, NULL);
	for (i = 0; i < n; i++) {
		struct smtpdp_handoff *r = recs[i];
		struct smtpdp_conn *s = (struct smtpdp_conn *)
			((char *)r - offsetof(struct smtpdp_conn, rec));

		s->pending = false;
		chunks_free(l, r->head);
		r->head = NULL;
		action_count(l->ctr, r);
		metrics_hist_observe(&l->ctr->scan_ms, r->scan_ms);
		metrics_hist_observe(&l->ctr->total_ms,
				     (double)(l->now_us - r->end_us) / US_PER_MS);
		if (s->live && !s->abandoned) {
			smtp_session_message_result(&s->sess, r->reply.code,
						    r->reply.enhanced, r->reply.text,
						    now_ms(l));
			conn_pump(s);
			if (l->closing)
				shutdown_conn(s, false);	/* its answer went first */
		} else {
			l->ctr->results_dropped++;
		}
		s->abandoned = false;
		if (s->c == NULL)
			slot_release(s);
	}
	return n;
}

/* tick - session deadlines, scanned every SMTPDP_TICK_MS */
static unsigned tick(struct smtpdp_lcore *l)
{
	uint64_t ms = now_ms(l);
	unsigned i, fired = 0;

	if (ms < l->next_tick_ms)
		return 0;
	l->next_tick_ms = ms + SMTPDP_TICK_MS;
	for (i = 0; i < l->cfg->sessions; i++) {
		struct smtpdp_conn *s = &l->conns[i];

		if (!s->in_use || !s->live || s->c == NULL)
			continue;
		if (smtp_session_deadline(&s->sess) <= ms) {
			smtp_session_tick(&s->sess, ms);
			conn_pump(s);
			fired++;
		} else if (s->sf.gate != SFILTER_GATE_OPEN) {
			conn_pump(s);	/* greeting held */
		}
	}
	return fired;
}

/* smtpdp_poll - the loop hook: results, then timeouts */
unsigned smtpdp_poll(void *lcore_ctx, uint64_t now_us)
{
	struct smtpdp_lcore *l = lcore_ctx;

	l->now_us = now_us;
	if (l->sf)
		sfilter_quiesce(l->sf);
	tls_worker_refresh(l->tls);	/* a reloaded certificate */
	if (l->cfg->rules_swap != NULL)	/* quiescent: between events */
		rules_rcu_quiesce(l->cfg->rules_swap, l->index, l->engine);
	return results(l) + tick(l);
}

/* smtpdp_drain - shutdown hook: 421 to sessions, wait for control */
unsigned smtpdp_drain(void *lcore_ctx, uint64_t now_us)
{
	struct smtpdp_lcore *l = lcore_ctx;
	unsigned i, out = 0;

	l->now_us = now_us;
	if (!l->closing) {
		l->closing = true;
		l->drain_end_us = now_us + (uint64_t)SMTPDP_SHUTDOWN_WAIT_MS * US_PER_MS;
		for (i = 0; i < l->cfg->sessions; i++)
			if (l->conns[i].in_use)
				shutdown_conn(&l->conns[i], false);
	}
	for (i = 0; i < l->cfg->sessions; i++)
		if (l->conns[i].in_use && l->conns[i].pending)
			out++;
	if (out == 0 || now_us < l->drain_end_us)
		return out;
	/* Control did not answer in time: 421 instead of the reply. */
	for (i = 0; i < l->cfg->sessions; i++)
		if (l->conns[i].in_use)
			shutdown_conn(&l->conns[i], true);
	return 0;
}

/* ring_make - one SP/SC ring with room for every slot's record */
static struct rte_ring *ring_make(const char *what, unsigned index,
				  uint32_t slots, int socket)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "mxgate_smtp_%s_%u", what, index);
	return rte_ring_create(name, rte_align32pow2(slots + 1), socket,
			       RING_F_SP_ENQ | RING_F_SC_DEQ);
}

/* smtpdp_lcore_new - slots, rings and engine for one lcore (start-up) */
struct smtpdp_lcore *smtpdp_lcore_new(const struct smtpdp_config *cfg,
				      unsigned index, struct rte_mempool *chunks,
				      int socket, struct dp_smtp_counters *ctr)
{
	struct smtpdp_lcore *l;
	uint32_t i;

	l = rte_zmalloc_socket("mxgate_smtp_lcore", sizeof(*l), RTE_CACHE_LINE_SIZE,
			       socket);
	if (l == NULL)
		return NULL;
	l->index = index;
	l->cfg = cfg;
	l->chunks = chunks;
	l->ctr = ctr;
	l->conns = rte_zmalloc_socket("mxgate_smtp_conns",
				      (size_t)cfg->sessions * sizeof(*l->conns),
				      RTE_CACHE_LINE_SIZE, socket);
	l->free_slots = rte_zmalloc_socket("mxgate_smtp_free",
					   (size_t)cfg->sessions * sizeof(uint32_t),
					   0, socket);
	if (l->conns == NULL || l->free_slots == NULL)
		goto fail;
	if ((l->to_ctrl = ring_make("out", index, cfg->sessions, socket)) == NULL
	    || (l->from_ctrl = ring_make("back", index, cfg->sessions, socket)) == NULL)
		goto fail;
	if ((l->engine = engine_worker_new(cfg->rules)) == NULL)
		goto fail;
	if (cfg->tls && (l->tls = tls_worker_new(cfg->tls, index)) == NULL)
		goto fail;
	for (i = 0; i < cfg->sessions; i++) {
		l->conns[i].lc = l;
		l->conns[i].index = i;
		l->free_slots[cfg->sessions - 1 - i] = i;
	}
	l->nfree = cfg->sessions;
	return l;
fail:
	smtpdp_lcore_free(l);
	return NULL;
}

/* smtpdp_lcore_report - the counters, one line */
void smtpdp_lcore_report(const struct smtpdp_lcore *l, FILE *fp)
{
	const struct dp_smtp_counters *c = l->ctr;

	fprintf(fp, "mxgate-dp: smtp worker %u: sessions %llu refused %llu shutdown %llu"
		" messages %llu delivered %llu dropped %llu no_chunk %llu"
		" engine_fail %llu busy %llu\n",
		l->index, (unsigned long long)c->sessions,
		(unsigned long long)c->sessions_refused,
		(unsigned long long)c->sessions_shutdown,
		(unsigned long long)c->messages, (unsigned long long)c->msg_delivered,
		(unsigned long long)c->results_dropped,
		(unsigned long long)c->msg_no_chunk,
		(unsigned long long)c->msg_engine_fail,
		(unsigned long long)c->msg_busy);
	tls_worker_report(l->tls, fp, "mxgate-dp");
}

/* smtpdp_lcore_free - after the lcore stopped */
void smtpdp_lcore_free(struct smtpdp_lcore *l)
{
	if (l == NULL)
		return;
	if (l->engine)
		engine_worker_free(l->engine);
	tls_worker_free(l->tls);
	rte_ring_free(l->to_ctrl);
	rte_ring_free(l->from_ctrl);
	rte_free(l->free_slots);
	rte_free(l->conns);
	rte_free(l);
}
