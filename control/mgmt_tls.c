/*
 * mgmt_tls.c - the management port's TLS context and self-signed cert
 *
 *	See mgmt.h. TLS 1.2 is the floor: SSL_CTX_set_min_proto_version
 *	refuses SSLv3, TLS 1.0 and 1.1 at the handshake, whatever the client
 *	offers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "mgmt.h"

#define MGMT_SERIAL_BYTES	16	/* random certificate serial */

/* ssl_error - err gets what was attempted and OpenSSL's first reason */
static int ssl_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s: %s", what, e ? buf : "unknown OpenSSL error");
	ERR_clear_error();
	return -1;
}

/* add_ext - one X.509v3 extension from its configuration string */
static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* write_pem - write through a 0600 temporary file, then rename */
static int write_pem(const char *path, EVP_PKEY *pkey, X509 *x, char *err,
		     size_t errlen)
{
	char tmp[MGMT_PATH_MAX + 32];
	FILE *fp;
	int fd, ok;

	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "create %s: %s", tmp, strerror(errno));
		return -1;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "fdopen %s: %s", tmp, strerror(errno));
		close(fd);
		return -1;
	}
	ok = pkey ? PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL)
		  : PEM_write_X509(fp, x);
	if (!ok) {
		fclose(fp);
		unlink(tmp);
		return ssl_error(err, errlen, "write PEM");
	}
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0 || fclose(fp) != 0) {
		snprintf(err, errlen, "write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* make_cert - a self-signed certificate for pkey */
static X509 *make_cert(EVP_PKEY *pkey, char *err, size_t errlen)
{
	unsigned char serial[MGMT_SERIAL_BYTES];
	char host[256], san[512];
	X509_NAME *name;
	BIGNUM *bn = NULL;
	X509 *x;

	if (gethostname(host, sizeof(host)) != 0 || !host[0])
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = 0;
	if ((x = X509_new()) == NULL) {
		ssl_error(err, errlen, "X509_new");
		return NULL;
	}
	if (RAND_bytes(serial, sizeof(serial)) != 1) {
		ssl_error(err, errlen, "random certificate serial");
		goto fail;
	}
	serial[0] &= 0x7f;	/* a positive serial */
	snprintf(san, sizeof(san), "DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1", host);
	if (!X509_set_version(x, 2)
	    || (bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL
	    || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))
	    || !X509_gmtime_adj(X509_getm_notBefore(x), -3600)
	    || !X509_gmtime_adj(X509_getm_notAfter(x), (long)MGMT_CERT_DAYS * 86400)
	    || !X509_set_pubkey(x, pkey)
	    || (name = X509_get_subject_name(x)) == NULL
	    || !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					   (const unsigned char *)"mxgate", -1, -1, 0)
	    || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					   (const unsigned char *)host, -1, -1, 0)
	    || !X509_set_issuer_name(x, name)
	    || add_ext(x, NID_basic_constraints, "critical,CA:TRUE") < 0
	    || add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign") < 0
	    || add_ext(x, NID_ext_key_usage, "serverAuth") < 0
	    || add_ext(x, NID_subject_alt_name, san) < 0
	    || add_ext(x, NID_subject_key_identifier, "hash") < 0
	    || !X509_sign(x, pkey, EVP_sha256())) {
		ssl_error(err, errlen, "build the self-signed certificate");
		goto fail;
	}
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/* mgmt_tls_selfsigned - new EC P-256 key and certificate, mode 0600 */
int mgmt_tls_selfsigned(const char *cert, const char *key, char *err,
			size_t errlen)
{
	EVP_PKEY *pkey;
	X509 *x;
	int rc = -1;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		return ssl_error(err, errlen, "generate an EC P-256 key");
	if ((x = make_cert(pkey, err, errlen)) != NULL
	    && write_pem(key, pkey, NULL, err, errlen) == 0
	    && write_pem(cert, NULL, x, err, errlen) == 0)
		rc = 0;
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

/* ensure_selfsigned - make the pair unless both exist; daemons starting
 * together on one state directory take turns (flock), so that no one
 * ends up with one's key and the other's certificate */
static int ensure_selfsigned(const struct ctlplane *cp, char *err, size_t errlen)
{
	char lock[MGMT_PATH_MAX + 8];
	int fd, rc = 0;

	snprintf(lock, sizeof(lock), "%s.lock", cp->cert);
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "create %s: %s", lock, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX) < 0) {
		snprintf(err, errlen, "lock %s: %s", lock, strerror(errno));
		close(fd);
		return -1;
	}
	if (access(cp->cert, R_OK) != 0 || access(cp->key, R_OK) != 0) {
		rc = mgmt_tls_selfsigned(cp->cert, cp->key, err, errlen);
		if (rc == 0)
			fprintf(stderr, "%s: management port: created a self-signed"
				" certificate %s\n", cp->cfg.daemon, cp->cert);
	}
	close(fd);	/* releases the lock */
	return rc;
}

/* mgmt_tls_context - server context: TLS 1.2+, our certificate and key */
int mgmt_tls_context(const struct ctlplane *cp, SSL_CTX **out, char *err,
		     size_t errlen)
{
	SSL_CTX *ctx;
	char what[MGMT_PATH_MAX + 64];

	if (!cp->cfg.mgmt_cert && ensure_selfsigned(cp, err, errlen) < 0)
		return -1;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return ssl_error(err, errlen, "SSL_CTX_new");
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		SSL_CTX_free(ctx);
		return ssl_error(err, errlen, "set the TLS 1.2 floor");
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE
			    | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
			 | SSL_MODE_ENABLE_PARTIAL_WRITE);
	snprintf(what, sizeof(what), "load certificate %s", cp->cert);
	if (SSL_CTX_use_certificate_chain_file(ctx, cp->cert) != 1) {
		SSL_CTX_free(ctx);
		return ssl_error(err, errlen, what);
	}
	snprintf(what, sizeof(what), "load private key %s", cp->key);
	if (SSL_CTX_use_PrivateKey_file(ctx, cp->key, SSL_FILETYPE_PEM) != 1
	    || SSL_CTX_check_private_key(ctx) != 1) {
		SSL_CTX_free(ctx);
		return ssl_error(err, errlen, what);
	}
	*out = ctx;
	return 0;
}
