/*
 * tls_bench.c - STARTTLS cost on one core: handshakes per second and
 *	MB/s of DATA through TLS against plaintext, in the same run
 *
 *	tls_bench CERT KEY [handshakes [megabytes]]
 *
 * DESCRIPTION
 *	Runs the server side exactly as a worker does (control/tls_conn.c
 *	over memory BIOs, engine/smtp_session.c) against an in-process
 *	OpenSSL client, with no sockets: the figures are the server's CPU
 *	cost per core, without the kernel or the NIC. Only the server's
 *	calls are timed (thread CPU time around each), so the client's own
 *	work is not counted.
 *
 *	handshakes: full handshakes (no resumption: the contexts have no
 *	tickets and no cache), TLS 1.3 and TLS 1.2, each to its end.
 *
 *	DATA: the same SMTP session (EHLO, MAIL, RCPT, DATA, 1 MB message,
 *	dot, 250) repeated until `megabytes` of content went through,
 *	once in plaintext (bytes straight into smtp_session_input in 16 KB
 *	reads, like the socket transport) and once through TLS 1.3 (the
 *	client encrypts in 16 KB records; the server feeds ciphertext,
 *	decrypts, and hands the plaintext to the same session). The
 *	session's upper layer only counts content (no scanning), so the
 *	difference is what TLS costs.
 *
 *	Output: one line per figure, "name value unit".
 *
 * DIAGNOSTICS
 *	Exits 1 with a message when the certificate is refused or a
 *	handshake or a session goes wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "smtp_session.h"
#include "tls.h"

#define BENCH_READ	(16 * 1024)	/* plaintext per transport read */
#define BENCH_MSG	(1024 * 1024)	/* message size */
#define BENCH_LINE	76		/* content line length */

static double server_ns;		/* time spent in server calls */

/* now_ns - this thread's CPU time: other processes on a shared machine
 * do not count (time spent descheduled is not ours) */
static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* die - a setup or protocol failure */
static void die(const char *what)
{
	fprintf(stderr, "tls_bench: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

struct client {
	SSL *ssl;
	BIO *rbio, *wbio;
};

/* client_new - an OpenSSL client over memory BIOs */
static void client_new(struct client *c, SSL_CTX *ctx)
{
	if ((c->ssl = SSL_new(ctx)) == NULL || (c->rbio = BIO_new(BIO_s_mem())) == NULL
	    || (c->wbio = BIO_new(BIO_s_mem())) == NULL)
		die("client SSL_new");
	BIO_set_mem_eof_return(c->rbio, -1);
	BIO_set_mem_eof_return(c->wbio, -1);
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_connect_state(c->ssl);
}

/* to_server - client ciphertext into the server (timed) */
static void to_server(struct client *c, struct tls_conn *tc)
{
	char buf[16384];
	int n;

	while ((n = BIO_read(c->wbio, buf, sizeof(buf))) > 0) {
		size_t off = 0;
		double t0 = now_ns();

		while (off < (size_t)n) {
			size_t k = tls_conn_feed(tc, (uint8_t *)buf + off, (size_t)n - off);

			if (k == 0)
				die("server does not take ciphertext");
			off += k;
		}
		server_ns += now_ns() - t0;
	}
}

/* to_client - server ciphertext to the client (the server's part timed) */
static void to_client(struct tls_conn *tc, struct client *c)
{
	const uint8_t *p;
	size_t n;

	for (;;) {
		double t0 = now_ns();

		n = tls_conn_output(tc, &p);
		server_ns += now_ns() - t0;
		if (n == 0)
			break;
		if (BIO_write(c->rbio, p, (int)n) != (int)n)
			die("client BIO_write");
		tls_conn_output_done(tc, n);
	}
}

/* handshake - one full handshake between a new client and tc */
static void handshake(struct client *c, struct tls_conn *tc)
{
	int done_c = 0, done_s = 0, rounds = 0;

	while (!done_c || !done_s) {
		if (++rounds > 20)
			die("handshake does not finish");
		if (!done_c) {
			int r = SSL_do_handshake(c->ssl);

			if (r == 1)
				done_c = 1;
			else if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ)
				die("client handshake");
		}
		to_server(c, tc);
		if (!done_s) {
			double t0 = now_ns();
			int r = tls_conn_handshake(tc);

			server_ns += now_ns() - t0;
			if (r < 0)
				die("server handshake");
			done_s = r == 1;
		}
		to_client(tc, c);
	}
}

/* bench_handshakes - n full handshakes at one protocol version */
static void bench_handshakes(struct tls_worker *w, SSL_CTX *cctx, int version,
			     unsigned n, const char *name)
{
	unsigned i;

	SSL_CTX_set_min_proto_version(cctx, version);
	SSL_CTX_set_max_proto_version(cctx, version);
	server_ns = 0;
	for (i = 0; i < n; i++) {
		struct client c;
		double t0 = now_ns();
		struct tls_conn *tc = tls_conn_get(w);

		server_ns += now_ns() - t0;
		if (tc == NULL)
			die("tls_conn_get");
		client_new(&c, cctx);
		handshake(&c, tc);
		t0 = now_ns();
		tls_conn_put(w, tc);
		server_ns += now_ns() - t0;
		SSL_free(c.ssl);
	}
	printf("handshakes_per_s_per_core_%s %.0f handshakes/s\n", name,
	       n / (server_ns / 1e9));
}

/* ---- a session whose upper layer only counts ---- */

static uint64_t content_bytes;
static struct smtp_session *bench_sess;

/* on_begin - accept every message */
static int on_begin(void *ctx, const struct smtp_txn *t)
{
	return 0;
}

/* on_data - count */
static int on_data(void *ctx, const uint8_t *buf, size_t len)
{
	content_bytes += len;
	return 0;
}

/* on_end - 250 at once */
static void on_end(void *ctx, const struct smtp_txn *t)
{
	smtp_session_message_result(bench_sess, 250, "2.0.0", "Ok", 0);
}

static const struct smtp_ops bench_ops = {
	.msg_begin = on_begin,
	.msg_data = on_data,
	.msg_end = on_end,
};

/* script - the client side of one session with one message */
static char *script(size_t *len)
{
	static const char head[] = "EHLO bench.test\r\nMAIL FROM:<a@b.test>\r\n"
		"RCPT TO:<c@d.test>\r\nDATA\r\nSubject: bench\r\n\r\n";
	char *s = malloc(sizeof(head) + BENCH_MSG + 64), *p;
	size_t i;

	if (s == NULL)
		die("malloc");
	p = s + sprintf(s, "%s", head);
	for (i = 0; i + BENCH_LINE + 2 <= BENCH_MSG; i += BENCH_LINE + 2) {
		memset(p, 'a' + (int)(i % 26), BENCH_LINE);
		p[BENCH_LINE] = '\r';
		p[BENCH_LINE + 1] = '\n';
		p += BENCH_LINE + 2;
	}
	p += sprintf(p, ".\r\nQUIT\r\n");
	*len = (size_t)(p - s);
	return s;
}

/* drain - forget the session's replies (plaintext mode) */
static void drain(struct smtp_session *s)
{
	const uint8_t *p;
	size_t n = smtp_session_output(s, &p);

	smtp_session_output_done(s, n);
}

/* session_plain - one session's bytes into smtp_session_input */
static void session_plain(const struct smtp_config *cfg, const char *in, size_t len)
{
	struct smtp_session s;
	size_t off = 0;
	double t0 = now_ns();

	bench_sess = &s;
	if (smtp_session_init(&s, cfg, &bench_ops, NULL, "198.18.0.1", 1, 0) < 0)
		die("smtp_session_init");
	drain(&s);
	while (off < len) {
		size_t n = len - off < BENCH_READ ? len - off : BENCH_READ, k, done = 0;

		while (done < n) {
			k = smtp_session_input(&s, (const uint8_t *)in + off + done, n - done, 0);
			drain(&s);
			if (k == 0)
				die("plaintext session stopped taking input");
			done += k;
		}
		off += n;
	}
	smtp_session_fini(&s);
	server_ns += now_ns() - t0;
}

/* session_tls - the same through TLS: feed, decrypt, session, encrypt */
static void session_tls(const struct smtp_config *cfg, struct tls_worker *w,
			SSL_CTX *cctx, const char *in, size_t len)
{
	struct smtp_session s;
	struct client c;
	struct tls_conn *tc;
	size_t off = 0;
	char sink[4096];
	double t0 = now_ns();

	bench_sess = &s;
	tc = tls_conn_get(w);
	if (tc == NULL || smtp_session_init(&s, cfg, &bench_ops, NULL, "198.18.0.1", 1, 0) < 0)
		die("session set-up");
	server_ns += now_ns() - t0;
	client_new(&c, cctx);
	handshake(&c, tc);
	while (off < len) {
		size_t n = len - off < BENCH_READ ? len - off : BENCH_READ;
		const uint8_t *p;
		size_t k, avail;

		if (SSL_write(c.ssl, in + off, (int)n) != (int)n)
			die("client SSL_write");
		off += n;
		to_server(&c, tc);
		t0 = now_ns();
		while ((avail = tls_conn_peek(tc, &p)) > 0) {
			k = smtp_session_input(&s, p, avail, 0);
			tls_conn_consume(tc, k);
			/* replies go back encrypted, as the transport does */
			while ((avail = smtp_session_output(&s, &p)) > 0
			       && (k = tls_conn_write(tc, p, avail)) > 0)
				smtp_session_output_done(&s, k);
		}
		server_ns += now_ns() - t0;
		to_client(tc, &c);
		while (SSL_read(c.ssl, sink, sizeof(sink)) > 0)
			;
	}
	t0 = now_ns();
	smtp_session_fini(&s);
	tls_conn_put(w, tc);
	server_ns += now_ns() - t0;
	SSL_free(c.ssl);
}

/* bench_data - plaintext and TLS MB/s of content, same sessions */
static void bench_data(struct tls_worker *w, SSL_CTX *cctx, unsigned mb)
{
	struct smtp_config cfg;
	size_t len;
	char *in = script(&len);
	unsigned i, n = mb ? mb : 1;
	double plain_s, tls_s;
	uint64_t plain_bytes, tls_bytes;

	smtp_config_defaults(&cfg);
	cfg.hostname = "bench.test";
	SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(cctx, TLS1_3_VERSION);
	content_bytes = 0;
	server_ns = 0;
	for (i = 0; i < n; i++)
		session_plain(&cfg, in, len);
	plain_s = server_ns / 1e9;
	plain_bytes = content_bytes;
	content_bytes = 0;
	server_ns = 0;
	for (i = 0; i < n; i++)
		session_tls(&cfg, w, cctx, in, len);
	tls_s = server_ns / 1e9;
	tls_bytes = content_bytes;
	if (plain_bytes != tls_bytes || plain_bytes < (uint64_t)n * (BENCH_MSG / 2))
		die("content lost in one of the runs");
	printf("data_plaintext_MB_per_s_per_core %.1f MB/s\n", plain_bytes / 1e6 / plain_s);
	printf("data_tls13_MB_per_s_per_core %.1f MB/s\n", tls_bytes / 1e6 / tls_s);
	printf("data_tls13_cost_vs_plaintext %.2f x\n", tls_s / plain_s);
	free(in);
}

int main(int argc, char **argv)
{
	struct tls_config cfg;
	struct tls_server *ts;
	struct tls_worker *w;
	SSL_CTX *cctx;
	char err[512];
	unsigned n = argc > 3 ? (unsigned)atoi(argv[3]) : 2000;
	unsigned mb = argc > 4 ? (unsigned)atoi(argv[4]) : 200;

	if (argc < 3) {
		fprintf(stderr, "usage: tls_bench CERT KEY [handshakes [megabytes]]\n");
		return 2;
	}
	tls_config_default(&cfg);
	snprintf(cfg.cert_file, sizeof(cfg.cert_file), "%s", argv[1]);
	snprintf(cfg.key_file, sizeof(cfg.key_file), "%s", argv[2]);
	cfg.sessions_max = 4;
	if ((ts = tls_server_new(&cfg, 1, err, sizeof(err))) == NULL)
		die(err);
	if ((w = tls_worker_new(ts, 0)) == NULL)
		die("tls_worker_new");
	if ((cctx = SSL_CTX_new(TLS_client_method())) == NULL)
		die("client SSL_CTX_new");
	SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
	bench_handshakes(w, cctx, TLS1_3_VERSION, n, "tls13");
	bench_handshakes(w, cctx, TLS1_2_VERSION, n, "tls12");
	bench_data(w, cctx, mb);
	SSL_CTX_free(cctx);
	tls_worker_free(w);
	tls_server_free(ts);
	return 0;
}
