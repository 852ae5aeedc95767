/*
 * tls.h - STARTTLS for both transports: OpenSSL contexts, reload, and
 *	TLS over memory BIOs for one connection
 *
 *	Start-up and control (control/tls.c; may block, may allocate):
 *	void tls_config_default(struct tls_config *cfg);
 *	int tls_config_set(struct tls_config *cfg, const char *key,
 *			const char *value, char *err, size_t errlen);
 *	void tls_config_usage(FILE *fp);
 *	int tls_check_files(const struct tls_config *cfg, char *err,
 *			size_t errlen);
 *	struct tls_server *tls_server_new(const struct tls_config *cfg,
 *			unsigned nworkers, char *err, size_t errlen);
 *	int tls_reload(struct tls_server *ts, char *err, size_t errlen);
 *	unsigned tls_generation(const struct tls_server *ts);
 *	bool tls_required_for(const struct tls_server *ts, const char *addr);
 *	void tls_server_free(struct tls_server *ts);
 *
 *	One worker (lcore or socket thread; control/tls_conn.c; never
 *	blocks, never calls the kernel):
 *	struct tls_worker *tls_worker_new(struct tls_server *ts,
 *			unsigned index);
 *	void tls_worker_refresh(struct tls_worker *w);
 *	struct tls_conn *tls_conn_get(struct tls_worker *w);
 *	void tls_conn_put(struct tls_worker *w, struct tls_conn *tc);
 *	size_t tls_conn_feed(struct tls_conn *tc, const uint8_t *p, size_t n);
 *	int tls_conn_handshake(struct tls_conn *tc);
 *	size_t tls_conn_peek(struct tls_conn *tc, const uint8_t **p);
 *	void tls_conn_consume(struct tls_conn *tc, size_t n);
 *	size_t tls_conn_write(struct tls_conn *tc, const uint8_t *p, size_t n);
 *	void tls_conn_shutdown(struct tls_conn *tc);
 *	size_t tls_conn_output(struct tls_conn *tc, const uint8_t **p);
 *	void tls_conn_output_done(struct tls_conn *tc, size_t n);
 *	const char *tls_conn_version(const struct tls_conn *tc);
 *	const char *tls_conn_cipher(const struct tls_conn *tc);
 *	void tls_worker_report(const struct tls_worker *w, FILE *fp,
 *			const char *who);
 *	void tls_worker_free(struct tls_worker *w);
 *
 * DESCRIPTION
 *	tls_config_set() applies one configuration key (tls_cert, tls_key,
 *	tls_ciphers, tls_ciphersuites, tls_min_version, tls_sessions,
 *	tls_handshake_timeout, tls_require_nets: docs/tls.md);
 *	tls_config_usage() prints them as --flags with their defaults.
 *
 *	tls_server_new() checks the certificate and key (tls_check_files:
 *	readable, PEM, certificate valid now, key matching it) and builds
 *	one SSL_CTX per worker, so that no two cores share a context's
 *	locks and caches. tls_reload() reads the files again and, only if
 *	they pass the same checks, builds new contexts and publishes them:
 *	each worker picks its new context up in tls_worker_refresh() (its
 *	poll loop), new handshakes use it, connections already in TLS keep
 *	theirs (OpenSSL reference-counts the context). tls_reload() is
 *	thread-safe: SIGHUP handling and the management API may call it.
 *
 *	tls_required_for() says whether a client address falls in
 *	cfg->require_nets ("198.18.0.0/15,10.0.0.0/8"): such clients get
 *	530 5.7.0 for MAIL until they used STARTTLS.
 *
 *	A worker owns a bounded pool of cfg->sessions_max struct tls_conn
 *	(made at start-up); tls_conn_get() returns NULL when the pool is
 *	empty (the session answers 454 4.7.0) or TLS is off. The SSL object
 *	is made from the worker's current context at get and freed at put;
 *	OpenSSL allocates for it and during the handshake with its own
 *	allocator (bounded by the pool, never a system call in the common
 *	case - see docs/tls.md).
 *
 *	No socket reaches OpenSSL: the transport feeds ciphertext from TCP
 *	(tls_conn_feed, which takes at most TLS_IN_MAX unprocessed bytes: the
 *	rest stays in the TCP ring, backpressure), runs tls_conn_handshake()
 *	until it returns 1 (done) or -1 (failed: send the alert that
 *	tls_conn_output() still holds, then close), then takes plaintext
 *	with tls_conn_peek()/tls_conn_consume() and encrypts replies with
 *	tls_conn_write(). Ciphertext to send is tls_conn_output(); report
 *	what went with tls_conn_output_done(). tls_conn_write() takes
 *	nothing while more than TLS_OUT_MAX bytes of ciphertext wait, which
 *	bounds memory when the client does not read.
 *
 * DIAGNOSTICS
 *	tls_check_files(), tls_server_new() and tls_reload() return -1 (or
 *	NULL) with a message in err that names the file and the reason:
 *	"tls_cert /etc/x.pem: certificate expired on Jan  1 00:00:00 2020
 *	GMT". tls_conn_feed() and tls_conn_peek() report nothing: a broken
 *	connection shows as tls_conn_handshake() == -1 or tls_conn_failed().
 *	Counters per worker (struct tls_counters) are printed by
 *	tls_worker_report().
 */
#ifndef MX_TLS_H
#define MX_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TLS_MIN_VERSION_DEFAULT	"TLSv1.2"
/* TLS 1.2: forward secrecy and AEAD only (Mozilla "intermediate") */
#define TLS_CIPHERS_DEFAULT \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
/* TLS 1.3: OpenSSL's own default list */
#define TLS_CIPHERSUITES_DEFAULT \
	"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:" \
	"TLS_AES_128_GCM_SHA256"
#define TLS_SESSIONS_DEFAULT	256	/* connections in TLS at once, per worker */
#define TLS_HANDSHAKE_TIMEOUT_DEFAULT_S 60	/* STARTTLS 220 to handshake done */
#define TLS_IN_MAX		(32 * 1024)	/* ciphertext taken, not yet decrypted */
#define TLS_OUT_MAX		(32 * 1024)	/* ciphertext produced, not yet sent */
#define TLS_PLAIN_MAX		(16 * 1024)	/* one record of plaintext */
#define TLS_NETS_MAX		32	/* require_nets entries */
#define TLS_NAME_MAX		64	/* version, cipher */
#define TLS_PATH_MAX		256

struct tls_config {
	char cert_file[TLS_PATH_MAX];	/* PEM chain, leaf first; "" = no TLS */
	char key_file[TLS_PATH_MAX];	/* PEM private key */
	char ciphers[512];		/* TLS 1.2 and below (SSL_CTX_set_cipher_list) */
	char ciphersuites[256];		/* TLS 1.3 */
	char min_version[16];		/* "TLSv1.2" or "TLSv1.3" */
	unsigned sessions_max;		/* per worker */
	unsigned handshake_timeout_s;	/* for the session's timeout_tls_ms */
	char require_nets[512];		/* "a.b.c.d/len,..." */
};

struct tls_counters {
	uint64_t starts;		/* STARTTLS accepted */
	uint64_t handshakes;		/* completed */
	uint64_t failed;		/* handshake failed: closed */
	uint64_t abandoned;		/* handshake unfinished at close
					 * (timeout, client gone) */
	uint64_t no_slot;		/* pool empty: 454 */
	uint64_t reloads;		/* new context picked up */
};

struct tls_server;
struct tls_worker;
struct tls_conn;

void tls_config_default(struct tls_config *cfg);
int tls_config_set(struct tls_config *cfg, const char *key, const char *value,
		   char *err, size_t errlen);
void tls_config_usage(FILE *fp);
int tls_check_files(const struct tls_config *cfg, char *err, size_t errlen);
struct tls_server *tls_server_new(const struct tls_config *cfg,
				  unsigned nworkers, char *err, size_t errlen);
int tls_reload(struct tls_server *ts, char *err, size_t errlen);
unsigned tls_generation(const struct tls_server *ts);
bool tls_required_for(const struct tls_server *ts, const char *addr);
void tls_server_free(struct tls_server *ts);

struct tls_worker *tls_worker_new(struct tls_server *ts, unsigned index);
void tls_worker_refresh(struct tls_worker *w);
struct tls_counters *tls_worker_counters(struct tls_worker *w);
struct tls_conn *tls_conn_get(struct tls_worker *w);
void tls_conn_put(struct tls_worker *w, struct tls_conn *tc);
size_t tls_conn_feed(struct tls_conn *tc, const uint8_t *p, size_t n);
int tls_conn_handshake(struct tls_conn *tc);
bool tls_conn_failed(const struct tls_conn *tc);
size_t tls_conn_peek(struct tls_conn *tc, const uint8_t **p);
void tls_conn_consume(struct tls_conn *tc, size_t n);
size_t tls_conn_write(struct tls_conn *tc, const uint8_t *p, size_t n);
void tls_conn_shutdown(struct tls_conn *tc);
size_t tls_conn_output(struct tls_conn *tc, const uint8_t **p);
void tls_conn_output_done(struct tls_conn *tc, size_t n);
const char *tls_conn_version(const struct tls_conn *tc);
const char *tls_conn_cipher(const struct tls_conn *tc);
void tls_worker_report(const struct tls_worker *w, FILE *fp, const char *who);
void tls_worker_free(struct tls_worker *w);

#endif
