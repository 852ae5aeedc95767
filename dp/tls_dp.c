/*
 * tls_dp.c - STARTTLS on a worker lcore (the SMTP port of mxgate-dp)
 *
 *	Lcore side (never blocks, never calls the kernel):
 *	int smtpdp_tls_start(void *ctx);
 *	void smtpdp_tls_policy(struct smtpdp_conn *s);
 *	bool smtpdp_tls_engage(struct smtpdp_conn *s);
 *	int smtpdp_tls_pump(struct smtpdp_conn *s);
 *	bool smtpdp_tls_bye(struct smtpdp_conn *s, const char *text,
 *			size_t n);
 *	void smtpdp_tls_record(struct smtpdp_conn *s,
 *			const struct smtp_txn *t);
 *	void smtpdp_tls_release(struct smtpdp_conn *s);
 *
 *	Start-up and control thread:
 *	int smtpdp_tls_setup(struct smtpdp_config *cfg,
 *			const struct dpconf *cf, unsigned nworkers);
 *	void smtpdp_tls_control(struct smtpdp_config *cfg);
 *	void smtpdp_tls_shutdown(struct smtpdp_config *cfg);
 *
 * DESCRIPTION
 *	TLS between the user-space TCP rings and the SMTP session, through
 *	the memory BIOs of control/tls_conn.c: TCP payload in -> BIO ->
 *	SSL_read -> session; session replies -> SSL_write -> BIO -> TCP
 *	send. The lcore's SSL_CTX was built by control (tls_server_new at
 *	start-up, tls_reload later) and is picked up by smtpdp_poll through
 *	tls_worker_refresh.
 *
 *	smtpdp_tls_start() is the session's ops->tls_start (a pool entry,
 *	or 454). smtpdp_tls_engage(), called by the plaintext pump once the
 *	replies are out, hands the connection to TLS after the 220 has gone
 *	and before anything more is read; bytes already read went to the
 *	session, which discarded them (CVE-2011-0411). smtpdp_tls_pump()
 *	replaces the plaintext pump from then on and returns -1 when the
 *	connection must be finished (handshake failed, session over and its
 *	last reply and close_notify queued, peer closed with nothing owed).
 *
 *	smtpdp_tls_bye() gives a session in TLS its shutdown reply
 *	encrypted (never plaintext into a TLS stream) and a close_notify.
 *
 *	smtpdp_tls_setup() parses the tls_* keys of the configuration and
 *	builds the server (one context per lcore) when they name a
 *	certificate; smtpdp_tls_control(), in the control
 *	thread's loop, reloads on SIGHUP.
 *
 * DIAGNOSTICS
 *	smtpdp_tls_setup() returns -1 after printing why (file and reason).
 *	Handshake failures and pool exhaustion are counted (struct
 *	tls_counters), printed at exit with the lcore report.
 */
#include <signal.h>
#include <string.h>

#include "config.h"
#include "smtp_app.h"
#include "tls.h"

static volatile sig_atomic_t smtpdp_tls_hup;
static struct sigaction smtpdp_tls_prev_hup;

/* now_ms - the lcore's clock as the session wants it */
static uint64_t now_ms(const struct smtpdp_conn *s)
{
	return s->lc->now_us / 1000;
}

/* smtpdp_tls_start - STARTTLS accepted: reserve TLS state, or 454 */
int smtpdp_tls_start(void *ctx)
{
	struct smtpdp_conn *s = ctx;

	/* a certificate reloaded since this worker's last poll: take it
	 * now, so that every STARTTLS after the reload's reply has it */
	tls_worker_refresh(s->lc->tls);
	if (s->tls == NULL)
		s->tls = tls_conn_get(s->lc->tls);
	return s->tls ? 0 : -1;
}

/* smtpdp_tls_policy - offer STARTTLS when configured; require it for
 * listed networks */
void smtpdp_tls_policy(struct smtpdp_conn *s)
{
	smtp_session_tls_policy(&s->sess, s->lc->tls != NULL,
				tls_required_for(s->lc->cfg->tls, s->addr));
}

/* smtpdp_tls_engage - the 220 is in the send ring: TLS from now on */
bool smtpdp_tls_engage(struct smtpdp_conn *s)
{
	const uint8_t *p;

	if (s->tls == NULL || s->tls_engaged || !smtp_session_tls_wanted(&s->sess)
	    || smtp_session_output(&s->sess, &p) > 0)
		return false;
	s->tls_engaged = true;
	return true;
}

/* cipher_in - ciphertext from the TCP ring into the BIO */
static bool cipher_in(struct smtpdp_conn *s)
{
	struct tcp_iov iov[2];
	size_t avail, took = 0, k;
	unsigned i;

	avail = tcp_peek(s->c, iov);
	for (i = 0; i < 2 && avail; i++) {
		if (iov[i].len == 0)
			continue;
		k = tls_conn_feed(s->tls, iov[i].base, iov[i].len);
		took += k;
		if (k < iov[i].len)
			break;
	}
	if (took)
		tcp_consume(s->c, took);
	return took > 0;
}

/* cipher_out - ciphertext to the TCP send ring; false when it is full */
static bool cipher_out(struct smtpdp_conn *s)
{
	const uint8_t *p;
	size_t n, sent;

	while ((n = tls_conn_output(s->tls, &p)) > 0) {
		sent = tcp_send(s->c, p, n);
		tls_conn_output_done(s->tls, sent);
		if (sent < n)
			return false;	/* the writable callback resumes */
	}
	return true;
}

/* plain_io - plaintext to the session, its replies encrypted */
static bool plain_io(struct smtpdp_conn *s)
{
	struct tls_conn *tc = s->tls;
	const uint8_t *p;
	bool moved = false;
	size_t n, k;

	while (smtp_session_readable(&s->sess)
	       && (n = tls_conn_peek(tc, &p)) > 0) {
		k = smtp_session_input(&s->sess, p, n, now_ms(s));
		tls_conn_consume(tc, k);
		moved |= k > 0;
		if (k < n)
			break;
	}
	while ((n = smtp_session_output(&s->sess, &p)) > 0
	       && (k = tls_conn_write(tc, p, n)) > 0) {
		smtp_session_output_done(&s->sess, k);
		moved = true;
	}
	return moved;
}

/* smtpdp_tls_pump - move bytes until nothing moves; -1: finish it */
int smtpdp_tls_pump(struct smtpdp_conn *s)
{
	struct tls_conn *tc = s->tls;
	const uint8_t *p;
	bool all_out = true;
	int r = 0;

	for (;;) {
		bool moved = cipher_in(s);

		r = tls_conn_handshake(tc);
		if (r == 1 && !s->tls_done) {
			s->tls_done = true;
			smtp_session_tls_done(&s->sess, tls_conn_version(tc),
					      tls_conn_cipher(tc), now_ms(s));
			moved = true;
		}
		if (r == 1)
			moved |= plain_io(s);
		if (smtp_session_closing(&s->sess) && !s->tls_shut
		    && smtp_session_output(&s->sess, &p) == 0) {
			s->tls_shut = true;
			tls_conn_shutdown(tc);
		}
		all_out = cipher_out(s);
		if (all_out && (r < 0 || tls_conn_failed(tc) || s->tls_shut))
			return -1;	/* alert, close_notify, last reply: FIN */
		if (!moved || !all_out)
			break;
	}
	/* A client that half-closed gets what it is owed, then FIN. */
	if (s->eof && all_out && !s->pending
	    && tls_conn_peek(tc, &p) == 0
	    && smtp_session_output(&s->sess, &p) == 0)
		return -1;
	return 0;
}

/* smtpdp_tls_bye - shutdown: pending replies and text encrypted, then
 * close_notify; false when the connection is not in TLS */
bool smtpdp_tls_bye(struct smtpdp_conn *s, const char *text, size_t n)
{
	const uint8_t *p;
	size_t k, m;

	if (!s->tls_engaged)
		return false;
	if (s->tls_done) {
		while ((m = smtp_session_output(&s->sess, &p)) > 0
		       && (k = tls_conn_write(s->tls, p, m)) > 0)
			smtp_session_output_done(&s->sess, k);
		tls_conn_write(s->tls, (const uint8_t *)text, n);
		tls_conn_shutdown(s->tls);
	}
	cipher_out(s);	/* what does not fit is lost with the connection */
	return true;
}

/* smtpdp_tls_record - the negotiated protocol into the hand-off record */
void smtpdp_tls_record(struct smtpdp_conn *s, const struct smtp_txn *t)
{
	struct smtpdp_handoff *r = &s->rec;

	snprintf(r->tls_version, sizeof(r->tls_version), "%s", t->tls_version);
	snprintf(r->tls_cipher, sizeof(r->tls_cipher), "%s", t->tls_cipher);
}

/* smtpdp_tls_release - TCP is gone: the entry goes back to the pool */
void smtpdp_tls_release(struct smtpdp_conn *s)
{
	if (s->tls) {
		tls_conn_put(s->lc->tls, s->tls);
		s->tls = NULL;
	}
	s->tls_engaged = s->tls_done = s->tls_shut = false;
}

/* on_hup - only a flag; a handler that was there before runs too */
static void on_hup(int sig)
{
	smtpdp_tls_hup = 1;
	if (smtpdp_tls_prev_hup.sa_handler != SIG_DFL
	    && smtpdp_tls_prev_hup.sa_handler != SIG_IGN
	    && smtpdp_tls_prev_hup.sa_handler != NULL)
		smtpdp_tls_prev_hup.sa_handler(sig);
}

/* smtpdp_tls_setup - server with one context per lcore; SIGHUP reload */
int smtpdp_tls_setup(struct smtpdp_config *cfg, const struct dpconf *cf,
		     unsigned nworkers)
{
	struct tls_config tcfg, *tc = &tcfg;
	struct sigaction sa;
	char err[512];
	int i;

	cfg->tls = NULL;
	tls_config_default(tc);
	for (i = 0; i < cf->ntls; i++)
		if (tls_config_set(tc, cf->tls[i].key, cf->tls[i].value, err,
				   sizeof(err)) < 0) {
			fprintf(stderr, "mxgate-dp: %s\n", err);
			return -1;
		}
	if (!tc->cert_file[0] && !tc->key_file[0]) {
		if (tc->require_nets[0]) {
			fprintf(stderr, "mxgate-dp: tls_require_nets needs tls_cert\n");
			return -1;
		}
		return 0;
	}
	if (!tc->cert_file[0]) {
		fprintf(stderr, "mxgate-dp: tls_key needs tls_cert\n");
		return -1;
	}
	if ((cfg->tls = tls_server_new(tc, nworkers, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mxgate-dp: TLS refused: %s\n", err);
		return -1;
	}
	cfg->smtp.timeout_tls_ms = (uint64_t)tc->handshake_timeout_s * 1000;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	if (sigaction(SIGHUP, &sa, &smtpdp_tls_prev_hup) < 0)
		fprintf(stderr, "mxgate-dp: cannot catch SIGHUP: TLS reload only"
			" through tls_reload()\n");
	printf("mxgate-dp: STARTTLS offered with %s (%s and up)\n", tc->cert_file,
	       tc->min_version);
	return 0;
}

/* smtpdp_tls_control - control thread: reload cert and key on SIGHUP */
void smtpdp_tls_control(struct smtpdp_config *cfg)
{
	char err[512];

	if (cfg->tls == NULL || !smtpdp_tls_hup)
		return;
	smtpdp_tls_hup = 0;
	if (tls_reload(cfg->tls, err, sizeof(err)) < 0)
		printf("mxgate-dp: TLS reload refused, keeping the old certificate:"
		       " %s\n", err);
	else
		printf("mxgate-dp: TLS reloaded (generation %u)\n",
		       tls_generation(cfg->tls));
	fflush(stdout);
}

/* smtpdp_tls_shutdown - after the lcores and the control thread stopped */
void smtpdp_tls_shutdown(struct smtpdp_config *cfg)
{
	tls_server_free(cfg->tls);
	cfg->tls = NULL;
}
