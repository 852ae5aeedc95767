/*
 * sfilter_dp.c - the sender filter's hooks on the data plane
 *
 *	See sfilter_hooks.h. Called on the worker lcore that owns the
 *	connection: nothing here blocks or allocates. A held greeting stays
 *	in the session; smtp_app.c's tick (SMTPDP_TICK_MS) pumps held
 *	connections so the hold ends on time, and new client bytes pump
 *	them at once (that is the pregreet test).
 */
#include "sfilter_hooks.h"
#include "smtp_app.h"

_Static_assert(TCP_FILTER_DROP == 1 && TCP_FILTER_RST == 2,
	       "sfilter_syn() answers TCP_FILTER_* values");

/* now_ms - the lcore's clock */
static uint64_t now_ms(const struct smtpdp_conn *s)
{
	return s->lc->now_us / 1000;
}

/* sfilter_dp_open - verdict at accept; true: send the greeting now */
bool sfilter_dp_open(struct smtpdp_conn *s, uint32_t addr)
{
	s->sf.gate = SFILTER_GATE_OPEN;
	s->sf.limited = false;
	if (s->lc->sf == NULL)
		return true;
	sfilter_open(s->lc->sf, &s->sf, &s->sess, addr, now_ms(s));
	return s->sf.gate == SFILTER_GATE_OPEN;
}

/* sfilter_dp_gate - while held: wait, go on, or refuse and close */
int sfilter_dp_gate(struct smtpdp_conn *s)
{
	struct tcp_iov iov[2];
	int g;

	if (s->sf.gate == SFILTER_GATE_OPEN || s->lc->sf == NULL)
		return SFILTER_HOOK_GO;
	g = sfilter_gate(s->lc->sf, &s->sf, &s->sess,
			 tcp_peek(s->c, iov) > 0 || s->eof, now_ms(s));
	if (g == SFILTER_GATE_HOLD)
		return SFILTER_HOOK_WAIT;
	if (g == SFILTER_GATE_CLOSE) {
		s->lc->ctr->reply_bytes += tcp_send(s->c, s->sf.text, s->sf.text_len);
		s->lc->ctr->replies_4xx++;
		return SFILTER_HOOK_CLOSE;
	}
	return SFILTER_HOOK_GO;
}

/* sfilter_dp_close - the connection's count goes back */
void sfilter_dp_close(struct smtpdp_conn *s)
{
	if (s->lc->sf)
		sfilter_close(s->lc->sf, &s->sf);
}

/* sfilter_dp_msg_done - a message's verdict, for the profiler */
void sfilter_dp_msg_done(struct smtpdp_conn *s, const struct verdict *v,
			 const struct envelope *env)
{
	if (s->lc->sf)
		sfilter_msg_done(s->lc->sf, &s->sf, v, env);
}

/* sfilter_dp_mail_check - smtp_ops.mail_check */
int sfilter_dp_mail_check(void *ctx, const struct smtp_txn *t,
			  struct smtp_reply *r)
{
	struct smtpdp_conn *s = ctx;

	return s->lc->sf ? sfilter_mail_check(s->lc->sf, &s->sf, t, r) : 0;
}

/* sfilter_dp_rcpt_check - smtp_ops.rcpt_check */
int sfilter_dp_rcpt_check(void *ctx, const struct smtp_txn *t,
			  const struct smtp_rcpt *rcpt, struct smtp_reply *r)
{
	struct smtpdp_conn *s = ctx;

	return s->lc->sf ? sfilter_rcpt_check(s->lc->sf, &s->sf, rcpt, r) : 0;
}

/* sfilter_dp_syn - tcp_lower_ops.syn_filter via the lcore's app ctx */
int sfilter_dp_syn(void *app_ctx, uint32_t saddr, uint16_t sport)
{
	struct smtpdp_lcore *l = app_ctx;

	return l && l->sf ? sfilter_syn(l->sf, saddr) : TCP_FILTER_ACCEPT;
}

/* sfilter_dp_setup - tables (rte_lpm), readers for the lcores, counters
 * in the stats memzone; control polls it from its loop */
struct sfilter *sfilter_dp_setup(const char *path, struct smtpdp_lcore **lcs,
				 unsigned nworkers, FILE *log, struct dp_stats_zone *z)
{
	char err[512];
	struct sfilter *sf;

	if ((sf = sfilter_create(path, nworkers, log, &sfilter_lpm_ops, err,
				 sizeof(err))) == NULL) {
		fprintf(stderr, "mxgate-dp: sender filter %s refused: %s\n", path, err);
		return NULL;
	}
	for (unsigned i = 0; i < nworkers; i++) {
		lcs[i]->sf = sfilter_reader(sf, i);
		sfilter_reader_set_counters(lcs[i]->sf, &z->w[i].sfilter);
	}
	printf("mxgate-dp: sender filter %s\n", path);
	return sf;
}
