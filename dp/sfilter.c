/*
 * sfilter.c - the sender filter, reader side: decisions on an lcore or a
 *	socket worker, never blocking, never allocating
 *
 *	See sfilter.h for the exported functions and who writes what.
 */
#include <string.h>

#include "ctlplane.h"
#include "sfilter_int.h"

#define SF_SEQ_RETRIES	64	/* then the entry counts as absent */

/* sf_hash - spread addresses over a table */
size_t sf_hash(uint32_t a)
{
	a ^= a >> 16;
	a *= 0x7feb352dU;
	a ^= a >> 15;
	a *= 0x846ca68bU;
	a ^= a >> 16;
	return a;
}

/* ctl_now - control's clock, the one table entries expire by */
static uint64_t ctl_now(const struct sfilter *sf)
{
	return __atomic_load_n(&sf->now_ms, __ATOMIC_ACQUIRE);
}

/* gen_get - the published lists and recipients */
static const struct sf_gen *gen_get(const struct sfilter *sf)
{
	return __atomic_load_n(&sf->gen, __ATOMIC_ACQUIRE);
}

/* emit - one event to control; counted when the ring is full */
static void emit(struct sfilter_reader *r, const struct sf_event *ev)
{
	struct sf_ring *q = &r->ring;
	uint32_t head = q->head;

	if (head - __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE) >= SF_RING_SIZE) {
		r->ctr->events_lost++;
		return;
	}
	q->ev[head & (SF_RING_SIZE - 1)] = *ev;
	__atomic_store_n(&q->head, head + 1, __ATOMIC_RELEASE);
}

/* emit_simple - an event with no details */
static void emit_simple(struct sfilter_reader *r, uint32_t addr, uint8_t kind,
			uint8_t flags)
{
	struct sf_event ev = { .addr = addr, .kind = kind, .flags = flags,
			       .a = -1, .b = -1 };

	emit(r, &ev);
}

/* addr_read - a consistent copy of addr's entry; false when absent */
static bool addr_read(const struct sfilter *sf, uint32_t addr,
		      struct sf_addrent *out)
{
	size_t h = sf_hash(addr);

	for (unsigned i = 0; i < SF_PROBE; i++) {
		const struct sf_addrent *e = &sf->addrs[(h + i) & sf->addrs_mask];

		for (unsigned tries = 0; tries < SF_SEQ_RETRIES; tries++) {
			uint32_t s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE), s2;

			if (s1 & 1)
				continue;
			memcpy(out, e, sizeof(*out));
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			s2 = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
			if (s1 != s2)
				continue;
			if (out->addr == addr)
				return true;
			break;
		}
	}
	return false;
}

/* log_refusal - a log line for it, within SF_LOG_PER_S: a flood of
 * refused SYNs or connections must not turn control into a log writer */
static void log_refusal(struct sfilter_reader *r, struct sf_event *ev)
{
	uint64_t sec = ctl_now(r->sf) / 1000;

	if (sec != r->log_sec) {
		r->log_sec = sec;
		r->logged = 0;
	}
	if (r->logged >= SF_LOG_PER_S) {
		r->ctr->refusals_unlogged++;
		return;
	}
	r->logged++;
	ev->kind = SF_EV_REFUSE;
	emit(r, ev);
}

/* refusal - log (by control) and build the reply */
static void refusal(struct sfilter_reader *r, struct sf_event *ev,
		    struct smtp_reply *rep)
{
	log_refusal(r, ev);
	sf_reply(&r->sf->conf, ev, rep);
}

/* close_with - GATE_CLOSE with the reply line for the transport */
static void close_with(struct sfilter_conn *fc, const struct smtp_reply *rep)
{
	int n = snprintf(fc->text, sizeof(fc->text), "%d %s %s\r\n", rep->code,
			 rep->enhanced, rep->text);

	if (n < 0 || (size_t)n >= sizeof(fc->text)) {
		n = (int)sizeof(fc->text) - 1;
		fc->text[n - 2] = '\r';
		fc->text[n - 1] = '\n';
	}
	fc->text_len = (uint16_t)n;
	fc->gate = SFILTER_GATE_CLOSE;
}

/* limit_slot - addr's slot in the limits table, claimed if new; -1 full */
static int64_t limit_slot(struct sfilter *sf, uint32_t addr, uint32_t now_s)
{
	size_t h = sf_hash(addr);
	unsigned i;

	for (i = 0; i < SF_PROBE; i++) {
		struct sf_limit *e = &sf->limits[(h + i) & sf->limits_mask];
		uint32_t a = __atomic_load_n(&e->addr, __ATOMIC_ACQUIRE), zero = 0;

		if (a == addr)
			return (int64_t)((h + i) & sf->limits_mask);
		if (a == 0 && (__atomic_compare_exchange_n(&e->addr, &zero, addr, false,
							   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
			       || zero == addr))
			return (int64_t)((h + i) & sf->limits_mask);
	}
	/* Full: take over an idle slot (no connection, rate window over).
	 * A racing reader may count one connection against the newcomer:
	 * the counters are approximate, never negative. */
	for (i = 0; i < SF_PROBE; i++) {
		struct sf_limit *e = &sf->limits[(h + i) & sf->limits_mask];
		uint32_t a = __atomic_load_n(&e->addr, __ATOMIC_ACQUIRE);

		if (__atomic_load_n(&e->conns, __ATOMIC_RELAXED) == 0
		    && now_s - __atomic_load_n(&e->rate_start_s, __ATOMIC_RELAXED)
		       >= sf->conf.conn_rate_window_s
		    && __atomic_compare_exchange_n(&e->addr, &a, addr, false,
						   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&e->rate_count, 0, __ATOMIC_RELAXED);
			return (int64_t)((h + i) & sf->limits_mask);
		}
	}
	return -1;
}

/* limits_enter - count a connection; SF_R_CONNS/SF_R_RATE or -1 when ok */
static int limits_enter(struct sfilter_reader *r, struct sfilter_conn *fc)
{
	struct sfilter *sf = r->sf;
	uint32_t now_s = (uint32_t)(ctl_now(sf) / 1000), start, n;
	struct sf_limit *e;
	int64_t slot;

	if ((slot = limit_slot(sf, fc->addr, now_s)) < 0) {
		r->ctr->limits_full++;
		return -1;
	}
	e = &sf->limits[slot];
	start = __atomic_load_n(&e->rate_start_s, __ATOMIC_RELAXED);
	if (now_s - start >= sf->conf.conn_rate_window_s
	    && __atomic_compare_exchange_n(&e->rate_start_s, &start, now_s, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		__atomic_store_n(&e->rate_count, 0, __ATOMIC_RELAXED);
	n = __atomic_add_fetch(&e->rate_count, 1, __ATOMIC_RELAXED);
	if (sf->conf.conn_rate && n > sf->conf.conn_rate)
		return SF_R_RATE;
	n = __atomic_add_fetch(&e->conns, 1, __ATOMIC_ACQ_REL);
	if (sf->conf.max_conns && n > sf->conf.max_conns) {
		__atomic_sub_fetch(&e->conns, 1, __ATOMIC_ACQ_REL);
		return SF_R_CONNS;
	}
	fc->limited = true;
	fc->slot = (uint32_t)slot;
	return -1;
}

/* sfilter_syn - block list at SYN time (block_action drop or rst) */
int sfilter_syn(struct sfilter_reader *r, uint32_t addr)
{
	struct sfilter *sf = r->sf;
	const struct sf_gen *g;

	if (sf->conf.block_action == SF_BLOCK_GREET || (g = gen_get(sf))->table == NULL
	    || sf->tops->lookup(g->table, addr) != SFILTER_LIST_BLOCK)
		return 0;
	struct sf_event ev = { .addr = addr, .reason = SF_R_BLOCKLIST,
			       .stage = SF_S_SYN, .a = -1, .b = -1 };

	log_refusal(r, &ev);
	if (sf->conf.block_action == SF_BLOCK_RST) {
		r->ctr->syn_reset++;
		return 2;	/* TCP_FILTER_RST */
	}
	r->ctr->syn_dropped++;
	return 1;		/* TCP_FILTER_DROP */
}

/* blocked_by_profiler - an active block in the entry */
static bool blocked_by_profiler(const struct sf_addrent *e, uint64_t now)
{
	return e->block == SF_BLOCKED_PERM
		|| (e->block == SF_BLOCKED_TEMP && e->block_until > now);
}

/* sfilter_open - the verdict at accept; sets fc->gate */
void sfilter_open(struct sfilter_reader *r, struct sfilter_conn *fc,
		  struct smtp_session *sess, uint32_t addr, uint64_t now_ms)
{
	struct sfilter *sf = r->sf;
	const struct sf_gen *g = gen_get(sf);
	struct sf_event ev = { .addr = addr, .stage = SF_S_CONNECT, .a = -1, .b = -1 };
	struct smtp_reply rep;
	struct sf_addrent e;
	uint64_t cnow = ctl_now(sf);
	bool known;
	int v, why;

	memset(fc, 0, sizeof(*fc));
	fc->addr = addr;
	v = g->table ? sf->tops->lookup(g->table, addr) : SFILTER_LIST_NONE;
	if (v == SFILTER_LIST_ALLOW) {
		fc->allowed = true;
		r->ctr->allowed++;
		return;
	}
	if (v == SFILTER_LIST_BLOCK) {
		ev.reason = SF_R_BLOCKLIST;
		refusal(r, &ev, &rep);
		smtp_session_refuse(sess, rep.text);
		r->ctr->refused_block++;
		return;
	}
	if ((sf->conf.max_conns || sf->conf.conn_rate) && (why = limits_enter(r, fc)) >= 0) {
		ev.reason = (uint8_t)why;
		refusal(r, &ev, &rep);
		close_with(fc, &rep);
		if (why == SF_R_CONNS)
			r->ctr->refused_conns++;
		else
			r->ctr->refused_rate++;
		return;
	}
	known = addr_read(sf, addr, &e);
	if (known && blocked_by_profiler(&e, cnow)) {
		ev.reason = SF_R_PROFILER;
		ev.a = e.block_rule;
		ev.b = e.block == SF_BLOCKED_PERM;
		refusal(r, &ev, &rep);
		r->ctr->refused_profiler++;
		if (e.block == SF_BLOCKED_PERM)
			smtp_session_refuse(sess, rep.text);
		else
			close_with(fc, &rep);
		return;
	}
	if (sf->dnsbl) {
		bool fresh = known && e.dnsbl >= SF_DNSBL_CLEAN && e.dnsbl_until > cnow;
		bool asked = known && e.dnsbl == SF_DNSBL_PENDING && e.dnsbl_until > cnow;

		if (!fresh && !asked) {
			emit_simple(r, addr, SF_EV_DNS, 0);
			r->ctr->dnsbl_queries++;
		}
		if (!fresh && sf->conf.dnsbl_budget_ms) {
			fc->dnsbl_wait = true;
			fc->dnsbl_until_ms = now_ms + sf->conf.dnsbl_budget_ms;
			fc->gate = SFILTER_GATE_HOLD;
		}
	}
	if (sf->conf.pregreet_delay_ms && !(known && e.pregreet_until > cnow)) {
		fc->pregreet = true;
		fc->hold_until_ms = now_ms + sf->conf.pregreet_delay_ms;
		fc->gate = SFILTER_GATE_HOLD;
	}
	if (fc->gate == SFILTER_GATE_HOLD)
		r->ctr->held++;
}

/* sfilter_gate - while the greeting is held: still hold, open or close */
int sfilter_gate(struct sfilter_reader *r, struct sfilter_conn *fc,
		 struct smtp_session *sess, bool input, uint64_t now_ms)
{
	struct sf_addrent e;

	if (fc->gate != SFILTER_GATE_HOLD)
		return fc->gate;
	if (input && fc->pregreet) {
		struct sf_event ev = { .addr = fc->addr, .stage = SF_S_CONNECT,
				       .reason = SF_R_PREGREET, .a = -1, .b = -1 };
		struct smtp_reply rep;

		refusal(r, &ev, &rep);
		smtp_session_refuse(sess, rep.text);
		r->ctr->refused_pregreet++;
		fc->pregreet = fc->dnsbl_wait = false;
		fc->gate = SFILTER_GATE_OPEN;
		return fc->gate;
	}
	if (fc->pregreet && now_ms < fc->hold_until_ms)
		return SFILTER_GATE_HOLD;
	if (fc->dnsbl_wait) {
		if (now_ms < fc->dnsbl_until_ms
		    && !(addr_read(r->sf, fc->addr, &e) && e.dnsbl >= SF_DNSBL_CLEAN))
			return SFILTER_GATE_HOLD;
		fc->dnsbl_wait = false;
	}
	if (fc->pregreet) {
		fc->pregreet = false;
		emit_simple(r, fc->addr, SF_EV_PREGREET_PASS, 0);
	}
	fc->gate = SFILTER_GATE_OPEN;
	return fc->gate;
}

/* reputation_check - profiler block or DNSBL listing, at MAIL or RCPT */
static int reputation_check(struct sfilter_reader *r, struct sfilter_conn *fc,
			    uint8_t stage, struct smtp_reply *rep)
{
	struct sfilter *sf = r->sf;
	struct sf_event ev = { .addr = fc->addr, .stage = stage, .a = -1, .b = -1 };
	struct sf_addrent e;
	uint64_t cnow = ctl_now(sf);

	if (fc->allowed || !addr_read(sf, fc->addr, &e))
		return 0;
	if (blocked_by_profiler(&e, cnow)) {
		ev.reason = SF_R_PROFILER;
		ev.a = e.block_rule;
		ev.b = e.block == SF_BLOCKED_PERM;
		refusal(r, &ev, rep);
		r->ctr->refused_profiler++;
		return -1;
	}
	if (e.dnsbl == SF_DNSBL_LISTED && e.dnsbl_until > cnow) {
		ev.reason = SF_R_DNSBL;
		ev.a = e.dnsbl_reply;
		ev.b = e.dnsbl_zone;
		ev.answer = e.dnsbl_answer;
		refusal(r, &ev, rep);
		r->ctr->refused_dnsbl++;
		return -1;
	}
	return 0;
}

/* sfilter_mail_check - reputation verdict at MAIL */
int sfilter_mail_check(struct sfilter_reader *r, struct sfilter_conn *fc,
		       const struct smtp_txn *t, struct smtp_reply *rep)
{
	return reputation_check(r, fc, SF_S_MAIL, rep);
}

/* sfilter_rcpt_check - reputation (if it came late), then the recipient */
int sfilter_rcpt_check(struct sfilter_reader *r, struct sfilter_conn *fc,
		       const struct smtp_rcpt *rcpt, struct smtp_reply *rep)
{
	struct sfilter *sf = r->sf;
	const struct sf_gen *g = gen_get(sf);
	bool profile = !fc->allowed && sf->conf.nrules;

	if (reputation_check(r, fc, SF_S_RCPT, rep) < 0)
		return -1;
	if (g->rcpts && !sf_rcptset_has(g->rcpts, rcpt->addr)) {
		struct sf_event ev = { .addr = fc->addr, .stage = SF_S_RCPT,
				       .reason = SF_R_UNKNOWN_RCPT, .a = -1, .b = -1 };

		refusal(r, &ev, rep);
		r->ctr->rcpt_unknown++;
		if (profile)
			emit_simple(r, fc->addr, SF_EV_RCPT, PROFILER_F_UNKNOWN);
		return -1;
	}
	if (profile)
		emit_simple(r, fc->addr, SF_EV_RCPT, 0);
	return 0;
}

/* sfilter_msg_done - a message's verdict, for the profiler */
void sfilter_msg_done(struct sfilter_reader *r, struct sfilter_conn *fc,
		      const struct verdict *v, const struct envelope *env)
{
	const struct sfilter_conf *c = &r->sf->conf;
	size_t plen = strlen(c->virus_prefix);
	uint8_t flags = 0;

	if (fc->allowed || c->nrules == 0)
		return;
	for (size_t i = 0; v && plen && i < v->nmatches; i++)
		if (strncmp(v->matches[i].rule_id, c->virus_prefix, plen) == 0) {
			flags |= PROFILER_F_VIRUS;
			break;
		}
	if (v && !(flags & PROFILER_F_VIRUS)
	    && (v->action == ACT_QUARANTINE || v->action == ACT_DISCARD
		|| v->action == ACT_REJECT))
		flags |= PROFILER_F_SPAM;
	if (env && env->mail_from && env->mail_from[0] == 0
	    && env->nrcpt >= c->bounce_rcpts)
		flags |= PROFILER_F_BOUNCE;
	emit_simple(r, fc->addr, SF_EV_MSG, flags);
}

/* sfilter_close - the connection is gone: give back its count */
void sfilter_close(struct sfilter_reader *r, struct sfilter_conn *fc)
{
	if (fc->limited) {
		uint32_t *n = &r->sf->limits[fc->slot].conns;
		uint32_t v = __atomic_load_n(n, __ATOMIC_RELAXED);

		while (v && !__atomic_compare_exchange_n(n, &v, v - 1, false,
							 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			;
		fc->limited = false;
	}
}

/* sfilter_quiesce - this reader holds no table pointer now (QSBR) */
void sfilter_quiesce(struct sfilter_reader *r)
{
	__atomic_store_n(&r->qs, r->qs + 1, __ATOMIC_RELEASE);
}

/* sfilter_reader_counters - where this reader counts */
struct sfilter_counters *sfilter_reader_counters(struct sfilter_reader *r)
{
	return r->ctr;
}

/* sfilter_reader_set_counters - count into c (a stats memzone) from now */
void sfilter_reader_set_counters(struct sfilter_reader *r, struct sfilter_counters *c)
{
	r->ctr = c ? c : &r->own;
}

/* sfilter_counters_export - one reader's counters as the API shows them
 * (control/ctlplane.h keeps its own struct: control includes no dp/) */
void sfilter_counters_export(struct ctlplane_sfilter_stats *o,
			     const struct sfilter_counters *c)
{
	o->syn_dropped = c->syn_dropped;
	o->syn_reset = c->syn_reset;
	o->refused_block = c->refused_block;
	o->refused_conns = c->refused_conns;
	o->refused_rate = c->refused_rate;
	o->refused_profiler = c->refused_profiler;
	o->refused_dnsbl = c->refused_dnsbl;
	o->refused_pregreet = c->refused_pregreet;
	o->rcpt_unknown = c->rcpt_unknown;
	o->allowed = c->allowed;
	o->dnsbl_queries = c->dnsbl_queries;
	o->held = c->held;
	o->events_lost = c->events_lost;
	o->limits_full = c->limits_full;
	o->refusals_unlogged = c->refusals_unlogged;
}
