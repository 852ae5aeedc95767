/*
 * tls_sock.c - STARTTLS in socket mode (mxgate-filter)
 *
 *	int sock_tls_start(void *ctx);
 *	void sock_tls_policy(struct sock_conn *c);
 *	bool sock_tls_engage(struct sock_conn *c);
 *	int sock_tls_pump(struct sock_conn *c);
 *	bool sock_tls_bye(struct sock_conn *c, const char *first,
 *			const char *last);
 *	void sock_tls_release(struct sock_conn *c);
 *	int sock_tls_worker_init(struct sock_worker *w);
 *	void sock_tls_worker_tick(struct sock_worker *w);
 *	void sock_tls_worker_fini(struct sock_worker *w);
 *	extern volatile sig_atomic_t sock_tls_reload_requested;
 *
 * DESCRIPTION
 *	The same memory-BIO code as the data plane (control/tls_conn.c):
 *	the socket never reaches OpenSSL; this file moves ciphertext between
 *	the socket and the TLS connection, and plaintext between the TLS
 *	connection and the SMTP session.
 *
 *	sock_tls_start() is the session's ops->tls_start: it reserves a
 *	pool entry (none: 454). sock_tls_engage(), called by the plaintext
 *	pump after each write, hands the socket to TLS once the 220 is
 *	wholly sent, before anything more is read: bytes that were read
 *	before that went to the session, which discarded them. From then
 *	on sock_tls_pump() runs instead of the plaintext pump; it returns -1
 *	when the connection must close (handshake failed, peer gone, session
 *	done and its last reply and close_notify sent).
 *
 *	sock_tls_bye() gives a session in TLS its shutdown replies encrypted
 *	and a close_notify, where plaintext ones would corrupt the stream.
 *
 *	sock_tls_worker_tick() picks up reloaded contexts; worker 0 also
 *	acts on SIGHUP (sock_tls_reload_requested) by calling tls_reload().
 *
 * DIAGNOSTICS
 *	A reload's outcome goes to cfg->log_diag; per-connection failures
 *	only to the counters, printed at exit.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "ctlplane.h"
#include "evwatch.h"
#include "sock_int.h"
#include "tls.h"

volatile sig_atomic_t sock_tls_reload_requested;

/* sock_tls_start - STARTTLS accepted: reserve TLS state now */
int sock_tls_start(void *ctx)
{
	struct sock_conn *c = ctx;

	/* a certificate reloaded since this worker's last poll: take it
	 * now, so that every STARTTLS after the reload's reply has it */
	tls_worker_refresh(c->w->tls);
	if (c->tls == NULL)
		c->tls = tls_conn_get(c->w->tls);
	return c->tls ? 0 : -1;
}

/* sock_tls_policy - offer STARTTLS when configured; require it for
 * listed networks */
void sock_tls_policy(struct sock_conn *c)
{
	const struct sock_config *cfg = c->w->cfg;

	smtp_session_tls_policy(&c->sess, c->w->tls != NULL,
				tls_required_for(cfg->tls, c->addr));
}

/* sock_tls_engage - the 220 went out: the socket is TLS's from now */
bool sock_tls_engage(struct sock_conn *c)
{
	const uint8_t *p;

	if (c->tls == NULL || c->tls_engaged || !smtp_session_tls_wanted(&c->sess)
	    || smtp_session_output(&c->sess, &p) > 0)
		return false;
	c->tls_engaged = true;
	c->in_off = c->in_len = 0;	/* already discarded by the session */
	return true;
}

/* send_cipher - ciphertext to the socket; -1 on a dead socket */
static int send_cipher(struct sock_conn *c, bool *blocked)
{
	const uint8_t *p;
	size_t n;

	while ((n = tls_conn_output(c->tls, &p)) > 0) {
		ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			*blocked = true;
			return 0;
		}
		if (k < 0)
			return -1;
		if (c->w->cfg->stats)
			c->w->cfg->stats[c->w->id].tx_bytes += (uint64_t)k;
		tls_conn_output_done(c->tls, (size_t)k);
	}
	return 0;
}

/* plain_io - plaintext in to the session, its replies out encrypted */
static bool plain_io(struct sock_conn *c)
{
	struct tls_conn *tc = c->tls;
	const uint8_t *p;
	bool moved = false;
	size_t n, k;

	while (smtp_session_readable(&c->sess)
	       && (n = tls_conn_peek(tc, &p)) > 0) {
		k = smtp_session_input(&c->sess, p, n, c->w->now_ms);
		tls_conn_consume(tc, k);
		moved |= k > 0;
		if (k < n)
			break;
	}
	while ((n = smtp_session_output(&c->sess, &p)) > 0
	       && (k = tls_conn_write(tc, p, n)) > 0) {
		smtp_session_output_done(&c->sess, k);
		moved = true;
	}
	return moved;
}

/* sock_tls_pump - move bytes until nothing moves; -1: close now */
int sock_tls_pump(struct sock_conn *c)
{
	struct tls_conn *tc = c->tls;
	bool blocked = false;
	const uint8_t *p;
	uint32_t want;

	for (;;) {
		bool moved = false;
		size_t k;
		int r;

		if (c->in_off < c->in_len) {
			k = tls_conn_feed(tc, c->in + c->in_off, c->in_len - c->in_off);
			c->in_off += k;
			if (c->in_off == c->in_len)
				c->in_off = c->in_len = 0;
			moved |= k > 0;
		}
		r = tls_conn_handshake(tc);
		if (r == 1 && !c->tls_done) {
			c->tls_done = true;
			smtp_session_tls_done(&c->sess, tls_conn_version(tc),
					      tls_conn_cipher(tc), c->w->now_ms);
			moved = true;
		}
		if (r == 1)
			moved |= plain_io(c);
		if (smtp_session_closing(&c->sess) && !c->tls_shut
		    && smtp_session_output(&c->sess, &p) == 0) {
			c->tls_shut = true;
			tls_conn_shutdown(tc);
		}
		blocked = false;
		if (send_cipher(c, &blocked) < 0)
			return -1;
		if (!blocked && (r < 0 || tls_conn_failed(tc) || c->tls_shut))
			return -1;	/* alert, close_notify or last reply sent */
		if (moved)
			continue;
		if (c->in_len == sizeof(c->in))
			break;
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len,
				 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;	/* the client went away: fini says so */
		if (c->w->cfg->stats)
			c->w->cfg->stats[c->w->id].rx_bytes += (uint64_t)n;
		c->in_len += (size_t)n;
	}
	want = 0;
	if (c->in_len < sizeof(c->in))
		want |= EPOLLIN | EPOLLRDHUP;
	if (blocked)
		want |= EPOLLOUT;
	ev_watch(c->w->epfd, c->fd, c, &c->events, want);
	return 0;
}

/* sock_tls_bye - shutdown: first (may be NULL) and last encrypted, then
 * close_notify; false when the connection is not in TLS */
bool sock_tls_bye(struct sock_conn *c, const char *first, const char *last)
{
	bool blocked = false;

	if (!c->tls_engaged)
		return false;
	if (c->tls_done) {
		if (first)
			tls_conn_write(c->tls, (const uint8_t *)first, strlen(first));
		tls_conn_write(c->tls, (const uint8_t *)last, strlen(last));
		tls_conn_shutdown(c->tls);
	}
	(void)send_cipher(c, &blocked);	/* going away anyway */
	return true;
}

/* sock_tls_release - the connection is closed: back to the pool */
void sock_tls_release(struct sock_conn *c)
{
	if (c->tls) {
		tls_conn_put(c->w->tls, c->tls);
		c->tls = NULL;
	}
	c->tls_engaged = c->tls_done = c->tls_shut = false;
}

/* sock_tls_worker_init - this thread's pool and context */
int sock_tls_worker_init(struct sock_worker *w)
{
	if (w->cfg->tls == NULL)
		return 0;
	if ((w->tls = tls_worker_new(w->cfg->tls, w->id)) == NULL) {
		fprintf(w->cfg->log_diag, "mxgate-filter: worker %u: cannot set up"
			" TLS: %s\n", w->id, strerror(errno));
		return -1;
	}
	return 0;
}

/* sock_tls_worker_tick - reload on SIGHUP (worker 0), new contexts */
void sock_tls_worker_tick(struct sock_worker *w)
{
	char err[512];

	if (w->tls == NULL)
		return;
	if (w->id == 0 && sock_tls_reload_requested) {
		sock_tls_reload_requested = 0;
		if (tls_reload(w->cfg->tls, err, sizeof(err)) < 0)
			fprintf(w->cfg->log_diag, "mxgate-filter: TLS reload refused,"
				" keeping the old certificate: %s\n", err);
		else
			fprintf(w->cfg->log_diag, "mxgate-filter: TLS reloaded"
				" (generation %u)\n", tls_generation(w->cfg->tls));
	}
	tls_worker_refresh(w->tls);
}

/* sock_tls_worker_fini - counters, then the pool */
void sock_tls_worker_fini(struct sock_worker *w)
{
	if (w->tls == NULL)
		return;
	tls_worker_report(w->tls, w->cfg->log_diag, "mxgate-filter");
	tls_worker_free(w->tls);
	w->tls = NULL;
}
