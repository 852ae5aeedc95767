/*
 * tls_conn.c - TLS for one connection over memory BIOs; a worker's pool
 *
 *	See tls.h. Everything here runs on a worker (an lcore or a socket
 *	thread) and never blocks or calls the kernel: ciphertext goes in and
 *	out through two memory BIOs, and the transport moves it to and
 *	from TCP. The plaintext and ciphertext staging buffers live in the
 *	pool entry, made at start-up.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "tls_int.h"

#define TLS_OUT_STAGE	(16 * 1024 + 512)	/* one record with overhead */

struct tls_conn {
	struct tls_worker *w;
	SSL *ssl;
	BIO *rbio;		/* ciphertext from the client */
	BIO *wbio;		/* ciphertext to the client */
	bool done;		/* handshake finished */
	bool failed;		/* handshake or record error, or peer closed */
	size_t plain_off, plain_len;
	size_t out_off, out_len;
	char version[TLS_NAME_MAX];
	char cipher[TLS_NAME_MAX];
	uint8_t plain[TLS_PLAIN_MAX];
	uint8_t out[TLS_OUT_STAGE];
};

struct tls_worker {
	struct tls_server *ts;
	unsigned index;
	SSL_CTX *ctx;		/* ours: one reference */
	struct tls_conn *conns;
	struct tls_conn **free;
	unsigned nfree;
	struct tls_counters ctr;
};

/* tls_worker_refresh - take a context control published, if any */
void tls_worker_refresh(struct tls_worker *w)
{
	struct tls_slot *slot;
	SSL_CTX *next;

	if (w == NULL)
		return;
	slot = &w->ts->slots[w->index];
	/* a plain load first: the exchange would dirty the line each poll */
	if (atomic_load_explicit(&slot->pending, memory_order_relaxed) == NULL)
		return;
	next = atomic_exchange(&slot->pending, NULL);
	if (next == NULL)
		return;
	if (w->ctx)
		SSL_CTX_free(w->ctx);	/* live connections hold their own ref */
	w->ctx = next;
	w->ctr.reloads++;
}

/* tls_worker_new - the pool and the first context (start-up) */
struct tls_worker *tls_worker_new(struct tls_server *ts, unsigned index)
{
	struct tls_worker *w;
	unsigned i, n;

	if (ts == NULL || index >= ts->nworkers) {
		errno = EINVAL;
		return NULL;
	}
	n = ts->cfg.sessions_max;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->ts = ts;
	w->index = index;
	if ((w->conns = calloc(n, sizeof(*w->conns))) == NULL
	    || (w->free = calloc(n, sizeof(*w->free))) == NULL) {
		tls_worker_free(w);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		w->conns[i].w = w;
		w->free[n - 1 - i] = &w->conns[i];
	}
	w->nfree = n;
	tls_worker_refresh(w);
	w->ctr.reloads = 0;	/* the first context is no reload */
	return w;
}

/* tls_worker_counters - for the transport's counting and reports */
struct tls_counters *tls_worker_counters(struct tls_worker *w)
{
	return &w->ctr;
}

/* tls_conn_get - a pool entry with a fresh SSL object; NULL: 454 */
struct tls_conn *tls_conn_get(struct tls_worker *w)
{
	struct tls_conn *tc;

	if (w == NULL || w->ctx == NULL)
		return NULL;
	if (w->nfree == 0) {
		w->ctr.no_slot++;
		return NULL;
	}
	tc = w->free[w->nfree - 1];
	tc->ssl = SSL_new(w->ctx);
	tc->rbio = BIO_new(BIO_s_mem());
	tc->wbio = BIO_new(BIO_s_mem());
	if (tc->ssl == NULL || tc->rbio == NULL || tc->wbio == NULL) {
		/* out of memory in OpenSSL: as good as an empty pool */
		BIO_free(tc->rbio);
		BIO_free(tc->wbio);
		SSL_free(tc->ssl);
		tc->ssl = NULL;
		ERR_clear_error();
		w->ctr.no_slot++;
		return NULL;
	}
	/* an empty BIO means "more to come", not end of file */
	BIO_set_mem_eof_return(tc->rbio, -1);
	BIO_set_mem_eof_return(tc->wbio, -1);
	SSL_set_bio(tc->ssl, tc->rbio, tc->wbio);
	SSL_set_accept_state(tc->ssl);
	w->nfree--;
	tc->done = tc->failed = false;
	tc->plain_off = tc->plain_len = tc->out_off = tc->out_len = 0;
	tc->version[0] = tc->cipher[0] = 0;
	w->ctr.starts++;
	return tc;
}

/* tls_conn_put - the connection is over: free the SSL, back to the pool */
void tls_conn_put(struct tls_worker *w, struct tls_conn *tc)
{
	if (tc == NULL)
		return;
	if (!tc->done && !tc->failed)
		w->ctr.abandoned++;
	SSL_free(tc->ssl);	/* frees both BIOs */
	ERR_clear_error();
	tc->ssl = NULL;
	tc->rbio = tc->wbio = NULL;
	w->free[w->nfree++] = tc;
}

/* tls_conn_feed - ciphertext from TCP; takes what fits under TLS_IN_MAX */
size_t tls_conn_feed(struct tls_conn *tc, const uint8_t *p, size_t n)
{
	size_t pending = BIO_ctrl_pending(tc->rbio);
	int k;

	if (tc->failed || pending >= TLS_IN_MAX || n == 0)
		return 0;
	if (n > TLS_IN_MAX - pending)
		n = TLS_IN_MAX - pending;
	k = BIO_write(tc->rbio, p, (int)n);
	return k > 0 ? (size_t)k : 0;
}

/* fail - a fatal TLS error: remember it, forget OpenSSL's queue */
static void fail(struct tls_conn *tc)
{
	tc->failed = true;
	ERR_clear_error();
}

/* tls_conn_handshake - 1 done, 0 needs more bytes, -1 failed */
int tls_conn_handshake(struct tls_conn *tc)
{
	const char *v, *c;
	int r;

	if (tc->done)
		return 1;
	if (tc->failed)
		return -1;
	r = SSL_do_handshake(tc->ssl);
	if (r == 1) {
		tc->done = true;
		v = SSL_get_version(tc->ssl);
		c = SSL_get_cipher_name(tc->ssl);
		snprintf(tc->version, sizeof(tc->version), "%s", v ? v : "");
		snprintf(tc->cipher, sizeof(tc->cipher), "%s", c ? c : "");
		tc->w->ctr.handshakes++;
		return 1;
	}
	switch (SSL_get_error(tc->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	default:
		fail(tc);
		tc->w->ctr.failed++;
		return -1;
	}
}

/* tls_conn_failed - the connection cannot go on (error or close_notify) */
bool tls_conn_failed(const struct tls_conn *tc)
{
	return tc->failed;
}

/* tls_conn_peek - decrypted bytes not yet consumed */
size_t tls_conn_peek(struct tls_conn *tc, const uint8_t **p)
{
	int r;

	if (tc->plain_off == tc->plain_len && tc->done && !tc->failed) {
		tc->plain_off = tc->plain_len = 0;
		r = SSL_read(tc->ssl, tc->plain, (int)sizeof(tc->plain));
		if (r > 0) {
			tc->plain_len = (size_t)r;
		} else {
			int e = SSL_get_error(tc->ssl, r);

			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				fail(tc);	/* close_notify, bad record */
		}
	}
	*p = tc->plain + tc->plain_off;
	return tc->plain_len - tc->plain_off;
}

/* tls_conn_consume - the session took n plaintext bytes */
void tls_conn_consume(struct tls_conn *tc, size_t n)
{
	size_t left = tc->plain_len - tc->plain_off;

	tc->plain_off += n < left ? n : left;
}

/* tls_conn_write - encrypt replies; nothing while too much waits to go */
size_t tls_conn_write(struct tls_conn *tc, const uint8_t *p, size_t n)
{
	int r;

	if (!tc->done || tc->failed || n == 0)
		return 0;
	if (BIO_ctrl_pending(tc->wbio) + (tc->out_len - tc->out_off) >= TLS_OUT_MAX)
		return 0;
	if (n > TLS_PLAIN_MAX)
		n = TLS_PLAIN_MAX;
	r = SSL_write(tc->ssl, p, (int)n);
	if (r > 0)
		return (size_t)r;
	if (SSL_get_error(tc->ssl, r) != SSL_ERROR_WANT_WRITE)
		fail(tc);
	return 0;
}

/* tls_conn_shutdown - queue our close_notify */
void tls_conn_shutdown(struct tls_conn *tc)
{
	if (tc->done && !tc->failed && SSL_shutdown(tc->ssl) < 0)
		ERR_clear_error();	/* the FIN follows anyway */
}

/* tls_conn_output - ciphertext waiting for TCP */
size_t tls_conn_output(struct tls_conn *tc, const uint8_t **p)
{
	if (tc->out_off == tc->out_len) {
		int r = BIO_read(tc->wbio, tc->out, (int)sizeof(tc->out));

		tc->out_off = 0;
		tc->out_len = r > 0 ? (size_t)r : 0;
	}
	*p = tc->out + tc->out_off;
	return tc->out_len - tc->out_off;
}

/* tls_conn_output_done - TCP took n bytes */
void tls_conn_output_done(struct tls_conn *tc, size_t n)
{
	size_t left = tc->out_len - tc->out_off;

	tc->out_off += n < left ? n : left;
}

/* tls_conn_version - "TLSv1.3" once the handshake is done */
const char *tls_conn_version(const struct tls_conn *tc)
{
	return tc->version;
}

/* tls_conn_cipher - "TLS_AES_256_GCM_SHA384" once the handshake is done */
const char *tls_conn_cipher(const struct tls_conn *tc)
{
	return tc->cipher;
}

/* tls_worker_report - the counters, one line */
void tls_worker_report(const struct tls_worker *w, FILE *fp, const char *who)
{
	if (w == NULL)
		return;
	fprintf(fp, "%s: tls worker %u: starttls %llu handshakes %llu failed %llu"
		" abandoned %llu no_slot %llu reloads %llu\n", who, w->index,
		(unsigned long long)w->ctr.starts,
		(unsigned long long)w->ctr.handshakes,
		(unsigned long long)w->ctr.failed,
		(unsigned long long)w->ctr.abandoned,
		(unsigned long long)w->ctr.no_slot,
		(unsigned long long)w->ctr.reloads);
}

/* tls_worker_free - after the worker stopped: connections first */
void tls_worker_free(struct tls_worker *w)
{
	unsigned i;

	if (w == NULL)
		return;
	for (i = 0; w->conns && i < w->ts->cfg.sessions_max; i++)
		SSL_free(w->conns[i].ssl);
	if (w->ctx)
		SSL_CTX_free(w->ctx);
	free(w->conns);
	free(w->free);
	free(w);
}
