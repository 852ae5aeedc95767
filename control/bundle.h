/*
 * bundle.h - signed rule bundles: pack, sign, verify, unpack, fetch
 *
 *	int bundle_pack(const char *dir, char **buf, size_t *len, char *err,
 *			size_t errlen);
 *	int bundle_sign(const void *buf, size_t len, const char *key_pem,
 *			unsigned char sig[BUNDLE_SIG_LEN], char *err,
 *			size_t errlen);
 *	int bundle_verify(const void *buf, size_t len, const void *sig,
 *			size_t siglen, const char *pub_pem, char *err,
 *			size_t errlen);
 *	int bundle_unpack(const void *buf, size_t len, const char *dir,
 *			char *err, size_t errlen);
 *	int bundle_https_get(const char *url, const char *ca_file,
 *			unsigned timeout_ms, size_t max, char **body,
 *			size_t *len, char *err, size_t errlen);
 *	int bundle_fetch(const struct bundle_source *src, const char *dir,
 *			char *err, size_t errlen);
 *
 * DESCRIPTION
 *	A bundle is the *.rules files of one directory in one archive with
 *	no compression and no tar: a first line "mxgate-rules-bundle 1",
 *	then per file a line "file NAME SIZE" and SIZE bytes, and a last
 *	line "end". Its signature is a detached Ed25519 signature (64 raw
 *	bytes) over the whole archive, served at the archive's URL + ".sig".
 *
 *	bundle_pack() makes the archive of dir (malloc'd). bundle_sign()
 *	signs it with the PEM Ed25519 private key in file key_pem;
 *	bundle_verify() checks a signature with the PEM public key in
 *	pub_pem (EVP_DigestVerify). bundle_unpack() writes the files of a
 *	verified archive into dir (which must exist and be empty); names
 *	with '/' or a leading '.' are refused.
 *
 *	bundle_https_get() fetches url (https only) over OpenSSL, checking
 *	the server certificate against ca_file and the URL's host name or
 *	address; the whole exchange (connect, handshake, request, body) must
 *	finish within timeout_ms and the body must not pass max bytes. A
 *	body shorter than the server's Content-Length is "truncated".
 *
 *	bundle_fetch() downloads src->url and src->url + ".sig", verifies
 *	the signature before anything parses the archive, then unpacks it
 *	into dir.
 *
 * DIAGNOSTICS
 *	Every function returns 0, or -1 with err filled with what was being
 *	attempted and why (OpenSSL's error string where it refused).
 */
#ifndef MX_BUNDLE_H
#define MX_BUNDLE_H

#include <stddef.h>

#define BUNDLE_MAGIC		"mxgate-rules-bundle 1"
#define BUNDLE_SIG_LEN		64	/* Ed25519 */
#define BUNDLE_FILES_MAX	256	/* files in one bundle */
#define BUNDLE_NAME_MAX		128	/* bytes of a file name */
#define BUNDLE_HEADER_MAX	8192	/* bytes of the HTTP response head */

struct bundle_source {
	const char *url;		/* https://host[:port]/path */
	const char *ca_file;		/* server certificate's CA */
	const char *pub_key;		/* PEM Ed25519 public key */
	unsigned timeout_ms;		/* each download */
	size_t  max;			/* bytes of the archive */
};

int bundle_pack(const char *dir, char **buf, size_t *len, char *err,
		size_t errlen);
int bundle_sign(const void *buf, size_t len, const char *key_pem,
		unsigned char sig[BUNDLE_SIG_LEN], char *err, size_t errlen);
int bundle_verify(const void *buf, size_t len, const void *sig, size_t siglen,
		  const char *pub_pem, char *err, size_t errlen);
int bundle_unpack(const void *buf, size_t len, const char *dir, char *err,
		  size_t errlen);
int bundle_https_get(const char *url, const char *ca_file, unsigned timeout_ms,
		     size_t max, char **body, size_t *len, char *err,
		     size_t errlen);
int bundle_fetch(const struct bundle_source *src, const char *dir, char *err,
		 size_t errlen);

#endif
