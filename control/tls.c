/*
 * tls.c - OpenSSL server contexts: checks, one context per worker, reload
 *
 *	See tls.h. Runs at start-up and in control threads only: it reads
 *	files and may block. The per-connection code is tls_conn.c.
 *
 *	Context policy: TLS 1.2 and 1.3 (tls_min_version), AEAD ciphers with
 *	forward secrecy, server preference, no compression, no
 *	renegotiation (a client-triggered CPU sink), no session tickets
 *	and no session cache: each worker's context is private, so a ticket
 *	from one core would not resume on another, and MTAs reconnect per
 *	batch anyway. SSL_MODE_RELEASE_BUFFERS frees a connection's record
 *	buffers while it idles.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tls_int.h"

/* tls_config_default - no certificate (TLS off), house policy */
void tls_config_default(struct tls_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->ciphers, sizeof(cfg->ciphers), "%s", TLS_CIPHERS_DEFAULT);
	snprintf(cfg->ciphersuites, sizeof(cfg->ciphersuites), "%s",
		 TLS_CIPHERSUITES_DEFAULT);
	snprintf(cfg->min_version, sizeof(cfg->min_version), "%s",
		 TLS_MIN_VERSION_DEFAULT);
	cfg->sessions_max = TLS_SESSIONS_DEFAULT;
	cfg->handshake_timeout_s = TLS_HANDSHAKE_TIMEOUT_DEFAULT_S;
}

/* set_str - bounded copy of a key's value */
static int set_str(char *dst, size_t size, const char *key, const char *v,
		   char *err, size_t errlen)
{
	if (strlen(v) >= size) {
		snprintf(err, errlen, "%s: value longer than %zu bytes", key, size - 1);
		return -1;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* set_uint - a number from lo to hi */
static int set_uint(unsigned *dst, const char *key, const char *v,
		    unsigned long lo, unsigned long hi, char *err, size_t errlen)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi) {
		snprintf(err, errlen, "bad value for %s: \"%s\" (want %lu to %lu)",
			 key, v, lo, hi);
		return -1;
	}
	*dst = (unsigned)n;
	return 0;
}

/* tls_config_set - one tls_* key; -1 with err for a bad key or value */
int tls_config_set(struct tls_config *cfg, const char *key, const char *value,
		   char *err, size_t errlen)
{
	if (strcmp(key, "tls_cert") == 0)
		return set_str(cfg->cert_file, sizeof(cfg->cert_file), key, value, err, errlen);
	if (strcmp(key, "tls_key") == 0)
		return set_str(cfg->key_file, sizeof(cfg->key_file), key, value, err, errlen);
	if (strcmp(key, "tls_ciphers") == 0)
		return set_str(cfg->ciphers, sizeof(cfg->ciphers), key, value, err, errlen);
	if (strcmp(key, "tls_ciphersuites") == 0)
		return set_str(cfg->ciphersuites, sizeof(cfg->ciphersuites), key,
			       value, err, errlen);
	if (strcmp(key, "tls_min_version") == 0) {
		if (strcmp(value, "TLSv1.2") && strcmp(value, "TLSv1.3")) {
			snprintf(err, errlen, "bad value for tls_min_version: \"%s\""
				 " (want TLSv1.2 or TLSv1.3)", value);
			return -1;
		}
		return set_str(cfg->min_version, sizeof(cfg->min_version), key,
			       value, err, errlen);
	}
	if (strcmp(key, "tls_sessions") == 0)
		return set_uint(&cfg->sessions_max, key, value, 1, 1000000, err, errlen);
	if (strcmp(key, "tls_handshake_timeout") == 0)
		return set_uint(&cfg->handshake_timeout_s, key, value, 1, 3600, err, errlen);
	if (strcmp(key, "tls_require_nets") == 0)
		return set_str(cfg->require_nets, sizeof(cfg->require_nets), key,
			       value, err, errlen);
	snprintf(err, errlen, "unknown configuration key \"%s\"", key);
	return -1;
}

/* tls_config_usage - the keys as flags, with defaults */
void tls_config_usage(FILE *fp)
{
	fprintf(fp,
"      --tls-cert FILE        PEM certificate chain, leaf first (none: no STARTTLS)\n"
"      --tls-key FILE         PEM private key without passphrase (none)\n"
"      --tls-ciphers LIST     TLS 1.2 cipher list (ECDHE with AES-GCM/CHACHA20)\n"
"      --tls-ciphersuites L   TLS 1.3 suites (%s)\n"
"      --tls-min-version V    TLSv1.2 or TLSv1.3 (%s)\n"
"      --tls-sessions N       connections in TLS at once per lcore (%d)\n"
"      --tls-handshake-timeout S  seconds from the 220 to the handshake's end (%d)\n"
"      --tls-require-nets L   a.b.c.d/len,... that must STARTTLS before MAIL (none)\n",
		TLS_CIPHERSUITES_DEFAULT, TLS_MIN_VERSION_DEFAULT,
		TLS_SESSIONS_DEFAULT, TLS_HANDSHAKE_TIMEOUT_DEFAULT_S);
}

/* ssl_reason - OpenSSL's last error as text, queue cleared */
static const char *ssl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, size, "%s", errno ? strerror(errno) : "unknown error");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/* asn1_time - a certificate date as text */
static void asn1_time(const ASN1_TIME *t, char *buf, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	buf[0] = 0;
	if (b == NULL)
		return;
	if (ASN1_TIME_print(b, t) == 1 && (n = BIO_read(b, buf, (int)size - 1)) > 0)
		buf[n] = 0;
	BIO_free(b);
}

/* check_cert - the leaf certificate: readable, PEM, valid now */
static X509 *check_cert(const char *path, char *err, size_t errlen)
{
	char why[256], when[64];
	X509 *x;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "tls_cert %s: cannot read: %s", path,
			 strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		snprintf(err, errlen, "tls_cert %s: not a PEM certificate: %s",
			 path, ssl_reason(why, sizeof(why)));
		return NULL;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		asn1_time(X509_get0_notAfter(x), when, sizeof(when));
		snprintf(err, errlen, "tls_cert %s: certificate expired on %s",
			 path, when);
		X509_free(x);
		return NULL;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0) {
		asn1_time(X509_get0_notBefore(x), when, sizeof(when));
		snprintf(err, errlen, "tls_cert %s: certificate not valid before %s",
			 path, when);
		X509_free(x);
		return NULL;
	}
	return x;
}

/* check_key - the private key: readable, PEM, matching the certificate */
static int check_key(const char *path, const char *cert_path, X509 *x,
		     char *err, size_t errlen)
{
	char why[256];
	EVP_PKEY *k;
	FILE *f;
	int rc = 0;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "tls_key %s: cannot read: %s", path,
			 strerror(errno));
		return -1;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL) {
		snprintf(err, errlen, "tls_key %s: not a PEM private key (or it"
			 " has a passphrase): %s", path, ssl_reason(why, sizeof(why)));
		return -1;
	}
	if (X509_check_private_key(x, k) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "tls_key %s: key does not match the"
			 " certificate in tls_cert %s", path, cert_path);
		rc = -1;
	}
	EVP_PKEY_free(k);
	return rc;
}

/* tls_check_files - what tls_server_new refuses to start with */
int tls_check_files(const struct tls_config *cfg, char *err, size_t errlen)
{
	X509 *x;
	int rc;

	if (!cfg->key_file[0]) {
		snprintf(err, errlen, "tls_cert %s is set but tls_key is not",
			 cfg->cert_file);
		return -1;
	}
	if ((x = check_cert(cfg->cert_file, err, errlen)) == NULL)
		return -1;
	rc = check_key(cfg->key_file, cfg->cert_file, x, err, errlen);
	X509_free(x);
	return rc;
}

/* min_version - "TLSv1.2"/"TLSv1.3" as OpenSSL's constant, 0 if unknown */
static int min_version(const char *s)
{
	if (strcmp(s, "TLSv1.2") == 0)
		return TLS1_2_VERSION;
	if (strcmp(s, "TLSv1.3") == 0)
		return TLS1_3_VERSION;
	return 0;
}

/* ctx_new - one server context with the configured policy and keys */
static SSL_CTX *ctx_new(const struct tls_config *cfg, char *err, size_t errlen)
{
	char why[256];
	const char *what;
	SSL_CTX *ctx;
	int v = min_version(cfg->min_version);

	if (v == 0) {
		snprintf(err, errlen, "tls_min_version '%s': want TLSv1.2 or TLSv1.3",
			 cfg->min_version);
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new: %s", ssl_reason(why, sizeof(why)));
		return NULL;
	}
	what = "tls_min_version";
	if (SSL_CTX_set_min_proto_version(ctx, v) != 1)
		goto fail;
	what = "tls_ciphers";
	if (SSL_CTX_set_cipher_list(ctx, cfg->ciphers) != 1)
		goto fail;
	what = "tls_ciphersuites";
	if (SSL_CTX_set_ciphersuites(ctx, cfg->ciphersuites) != 1)
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
			    | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
			 | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
			 | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	what = "session tickets (SSL_CTX_set_num_tickets)";
	if (SSL_CTX_set_num_tickets(ctx, 0) != 1)
		goto fail;
	what = "tls_cert";
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1)
		goto fail;
	what = "tls_key";
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1)
		goto fail;
	what = "tls_key (SSL_CTX_check_private_key)";
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	return ctx;
fail:
	snprintf(err, errlen, "%s %s: %s", what,
		 strncmp(what, "tls_cert", 8) == 0 ? cfg->cert_file
		 : strncmp(what, "tls_key", 7) == 0 ? cfg->key_file : "",
		 ssl_reason(why, sizeof(why)));
	SSL_CTX_free(ctx);
	return NULL;
}

/* parse_nets - "a.b.c.d/len,..." into ts->nets */
static int parse_nets(struct tls_server *ts, char *err, size_t errlen)
{
	char buf[sizeof(ts->cfg.require_nets)], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", ts->cfg.require_nets);
	for (tok = strtok_r(buf, ", \t", &save); tok;
	     tok = strtok_r(NULL, ", \t", &save)) {
		char *slash = strchr(tok, '/'), *end;
		struct in_addr a;
		long len = 32;

		if (slash) {
			*slash = 0;
			len = strtol(slash + 1, &end, 10);
			if (*end || len < 0 || len > 32)
				goto bad;
		}
		if (inet_pton(AF_INET, tok, &a) != 1 || ts->nnets == TLS_NETS_MAX)
			goto bad;
		ts->nets[ts->nnets].mask = len ? ~0u << (32 - len) : 0;
		ts->nets[ts->nnets].addr = ntohl(a.s_addr) & ts->nets[ts->nnets].mask;
		ts->nnets++;
		continue;
bad:
		snprintf(err, errlen, "tls_require_nets: '%s' is not an IPv4"
			 " network a.b.c.d/len (at most %d)", tok, TLS_NETS_MAX);
		return -1;
	}
	return 0;
}

/* tls_required_for - the client must use STARTTLS before MAIL */
bool tls_required_for(const struct tls_server *ts, const char *addr)
{
	struct in_addr a;
	uint32_t h;
	unsigned i;

	if (ts == NULL || ts->nnets == 0 || inet_pton(AF_INET, addr, &a) != 1)
		return false;
	h = ntohl(a.s_addr);
	for (i = 0; i < ts->nnets; i++)
		if ((h & ts->nets[i].mask) == ts->nets[i].addr)
			return true;
	return false;
}

/* build_all - check the files, then one fresh context per worker */
static SSL_CTX **build_all(const struct tls_config *cfg, unsigned n,
			   char *err, size_t errlen)
{
	SSL_CTX **v;
	unsigned i;

	if (tls_check_files(cfg, err, errlen) < 0)
		return NULL;
	if ((v = calloc(n, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "TLS contexts: %s", strerror(errno));
		return NULL;
	}
	for (i = 0; i < n; i++)
		if ((v[i] = ctx_new(cfg, err, errlen)) == NULL) {
			while (i--)
				SSL_CTX_free(v[i]);
			free(v);
			return NULL;
		}
	return v;
}

/* publish - hand each worker its new context; an untaken one is freed */
static void publish(struct tls_server *ts, SSL_CTX **v)
{
	unsigned i;

	for (i = 0; i < ts->nworkers; i++) {
		SSL_CTX *old = atomic_exchange(&ts->slots[i].pending, v[i]);

		if (old)
			SSL_CTX_free(old);	/* the worker never saw it */
	}
	atomic_fetch_add(&ts->generation, 1);
}

/* tls_server_new - checked files, one context per worker; NULL: err */
struct tls_server *tls_server_new(const struct tls_config *cfg,
				  unsigned nworkers, char *err, size_t errlen)
{
	struct tls_server *ts;
	SSL_CTX **v;

	if (cfg->sessions_max == 0 || nworkers == 0) {
		snprintf(err, errlen, "tls_sessions must be at least 1");
		return NULL;
	}
	if ((ts = calloc(1, sizeof(*ts))) == NULL
	    || (ts->slots = calloc(nworkers, sizeof(*ts->slots))) == NULL) {
		snprintf(err, errlen, "TLS: %s", strerror(errno));
		free(ts);
		return NULL;
	}
	ts->cfg = *cfg;
	ts->nworkers = nworkers;
	pthread_mutex_init(&ts->lock, NULL);
	if (parse_nets(ts, err, errlen) < 0
	    || (v = build_all(cfg, nworkers, err, errlen)) == NULL) {
		tls_server_free(ts);
		return NULL;
	}
	publish(ts, v);
	free(v);
	return ts;
}

/* tls_reload - re-read cert and key; publish only if they pass */
int tls_reload(struct tls_server *ts, char *err, size_t errlen)
{
	SSL_CTX **v;

	pthread_mutex_lock(&ts->lock);
	v = build_all(&ts->cfg, ts->nworkers, err, errlen);
	if (v)
		publish(ts, v);
	pthread_mutex_unlock(&ts->lock);
	free(v);
	return v ? 0 : -1;
}

/* tls_generation - how many context sets were published (1 at start) */
unsigned tls_generation(const struct tls_server *ts)
{
	return atomic_load(&((struct tls_server *)ts)->generation);
}

/* tls_server_free - after the workers are gone */
void tls_server_free(struct tls_server *ts)
{
	unsigned i;

	if (ts == NULL)
		return;
	for (i = 0; ts->slots && i < ts->nworkers; i++) {
		SSL_CTX *c = atomic_exchange(&ts->slots[i].pending, NULL);

		if (c)
			SSL_CTX_free(c);
	}
	pthread_mutex_destroy(&ts->lock);
	free(ts->slots);
	free(ts);
}
