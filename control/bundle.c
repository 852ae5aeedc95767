/*
 * bundle.c - signed rule bundles: pack, sign, verify, unpack, fetch
 *
 *	See bundle.h for the interface and the archive format.
 *
 * DESCRIPTION
 *	The archive is checked in two steps and in this order: the Ed25519
 *	signature over every byte (bundle_verify), and only then its
 *	structure (bundle_unpack), so that no parser ever reads bytes the
 *	signer did not vouch for.
 *
 *	The HTTPS client is the smallest that does the job: HTTP/1.0, one
 *	GET, Connection: close, body up to EOF, no redirects, no chunked
 *	encoding (a 1.0 request gets none). Time is bounded by one deadline
 *	for the whole exchange: connect with poll(), then socket timeouts set
 *	to what is left before every read and write.
 *
 * DIAGNOSTICS
 *	See bundle.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "bundle.h"

#define BUNDLE_FILE_MAX		(16u << 20)	/* bytes of one packed file */
#define BUNDLE_HOST_MAX		256
#define BUNDLE_PATH_MAX		2048
#define BUNDLE_IO_CHUNK		16384

/* b_err - fill err */
static int b_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int b_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* b_ssl_err - err with OpenSSL's reason appended */
static int b_ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char    buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return b_err(err, errlen, "%s: %s", what, e ? buf : "no OpenSSL reason");
}

/* b_name_ok - a plain file name: no '/', no leading '.' */
static int b_name_ok(const char *name, size_t n)
{
	if (n == 0 || n >= BUNDLE_NAME_MAX || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == '\0' || name[i] == ' '
		    || name[i] == '\n')
			return 0;
	return 1;
}

/* b_cmp - name order, for a stable archive */
static int b_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* b_read_file - whole file into f (open_memstream) */
static int b_read_file(FILE *out, const char *path, char *err, size_t errlen)
{
	char    buf[BUNDLE_IO_CHUNK];
	struct stat st;
	size_t  n;
	FILE   *in = fopen(path, "rb");

	if (in == NULL || fstat(fileno(in), &st) < 0) {
		if (in)
			fclose(in);
		return b_err(err, errlen, "read %s: %s", path, strerror(errno));
	}
	if ((size_t)st.st_size > BUNDLE_FILE_MAX) {
		fclose(in);
		return b_err(err, errlen, "%s: more than %u bytes", path,
			     BUNDLE_FILE_MAX);
	}
	fprintf(out, "file %s %lld\n", strrchr(path, '/') + 1,
		(long long)st.st_size);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	return 0;
}

/* bundle_pack - the *.rules files of dir as one archive */
int bundle_pack(const char *dir, char **buf, size_t *len, char *err,
		size_t errlen)
{
	char   *names[BUNDLE_FILES_MAX], path[4096];
	size_t  n = 0, nl;
	struct dirent *de;
	int     rc = 0;
	FILE   *out;
	DIR    *d;

	if ((d = opendir(dir)) == NULL)
		return b_err(err, errlen, "open %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL && rc == 0) {
		nl = strlen(de->d_name);
		if (nl <= 6 || strcmp(de->d_name + nl - 6, ".rules") != 0
		    || !b_name_ok(de->d_name, nl))
			continue;
		if (n == BUNDLE_FILES_MAX)
			rc = b_err(err, errlen, "%s: more than %d files", dir,
				   BUNDLE_FILES_MAX);
		else if ((names[n++] = strdup(de->d_name)) == NULL)
			rc = b_err(err, errlen, "out of memory");
	}
	closedir(d);
	if (rc == 0 && n == 0)
		rc = b_err(err, errlen, "%s: no .rules files", dir);
	if (rc == 0 && (out = open_memstream(buf, len)) != NULL) {
		qsort(names, n, sizeof(names[0]), b_cmp);
		fprintf(out, "%s\n", BUNDLE_MAGIC);
		for (size_t i = 0; i < n && rc == 0; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			rc = b_read_file(out, path, err, errlen);
		}
		fputs("end\n", out);
		if (fclose(out) != 0)
			rc = b_err(err, errlen, "out of memory");
		if (rc != 0)
			free(*buf);
	} else if (rc == 0) {
		rc = b_err(err, errlen, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return rc;
}

/* b_load_key - a PEM Ed25519 key, private or public */
static EVP_PKEY *b_load_key(const char *path, int private, char *err,
			    size_t errlen)
{
	FILE   *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL) {
		b_err(err, errlen, "open key %s: %s", path, strerror(errno));
		return NULL;
	}
	k = private ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
		: PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL) {
		b_ssl_err(err, errlen, private ? "read private key"
			  : "read public key");
		return NULL;
	}
	if (EVP_PKEY_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		b_err(err, errlen, "key %s is not an Ed25519 key", path);
		return NULL;
	}
	return k;
}

/* bundle_sign - detached Ed25519 signature of the archive */
int bundle_sign(const void *buf, size_t len, const char *key_pem,
		unsigned char sig[BUNDLE_SIG_LEN], char *err, size_t errlen)
{
	EVP_PKEY *k = b_load_key(key_pem, 1, err, errlen);
	EVP_MD_CTX *ctx;
	size_t  siglen = BUNDLE_SIG_LEN;
	int     rc = -1;

	if (k == NULL)
		return -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		rc = b_ssl_err(err, errlen, "EVP_MD_CTX_new");
	else if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) != 1)
		rc = b_ssl_err(err, errlen, "EVP_DigestSignInit (Ed25519)");
	else if (EVP_DigestSign(ctx, sig, &siglen, buf, len) != 1
		 || siglen != BUNDLE_SIG_LEN)
		rc = b_ssl_err(err, errlen, "EVP_DigestSign (Ed25519)");
	else
		rc = 0;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return rc;
}

/* bundle_verify - the signature holds for every byte of the archive */
int bundle_verify(const void *buf, size_t len, const void *sig, size_t siglen,
		  const char *pub_pem, char *err, size_t errlen)
{
	EVP_PKEY *k;
	EVP_MD_CTX *ctx;
	int     rc = -1;

	if (siglen != BUNDLE_SIG_LEN)
		return b_err(err, errlen, "bad signature: %zu bytes, not %d",
			     siglen, BUNDLE_SIG_LEN);
	if ((k = b_load_key(pub_pem, 0, err, errlen)) == NULL)
		return -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		rc = b_ssl_err(err, errlen, "EVP_MD_CTX_new");
	else if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) != 1)
		rc = b_ssl_err(err, errlen, "EVP_DigestVerifyInit (Ed25519)");
	else if (EVP_DigestVerify(ctx, sig, siglen, buf, len) != 1) {
		ERR_clear_error();
		rc = b_err(err, errlen, "bad signature: the bundle (%zu bytes)"
			   " is not signed by %s", len, pub_pem);
	} else
		rc = 0;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return rc;
}

/* b_write - one unpacked file */
static int b_write(const char *dir, const char *name, const char *p,
		   size_t n, char *err, size_t errlen)
{
	char    path[4096];
	FILE   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wx")) == NULL)
		return b_err(err, errlen, "create %s: %s", path, strerror(errno));
	if (fwrite(p, 1, n, f) != n || fclose(f) != 0)
		return b_err(err, errlen, "write %s: %s", path, strerror(errno));
	return 0;
}

/* bundle_unpack - the files of a verified archive into dir */
int bundle_unpack(const void *buf, size_t len, const char *dir, char *err,
		  size_t errlen)
{
	const char *p = buf, *end = p + len, *nl;
	char    name[BUNDLE_NAME_MAX], line[BUNDLE_NAME_MAX + 64];
	unsigned long long size;
	size_t  ml = strlen(BUNDLE_MAGIC), nfiles = 0;
	int     used;

	if (len < ml + 1 || memcmp(p, BUNDLE_MAGIC "\n", ml + 1) != 0)
		return b_err(err, errlen, "not a rules bundle (no '%s')",
			     BUNDLE_MAGIC);
	p += ml + 1;
	for (;;) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL
		    || (size_t)(nl - p) >= sizeof(line))
			return b_err(err, errlen, "bundle truncated at byte %zu",
				     (size_t)(p - (const char *)buf));
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		p = nl + 1;
		if (strcmp(line, "end") == 0)
			break;
		used = 0;
		if (sscanf(line, "file %127s %llu%n", name, &size, &used) != 2
		    || line[used] != '\0' || !b_name_ok(name, strlen(name)))
			return b_err(err, errlen, "bad bundle entry '%s'", line);
		if (size > (unsigned long long)(end - p))
			return b_err(err, errlen, "bundle truncated in %s", name);
		if (++nfiles > BUNDLE_FILES_MAX)
			return b_err(err, errlen, "more than %d files",
				     BUNDLE_FILES_MAX);
		if (b_write(dir, name, p, (size_t)size, err, errlen) < 0)
			return -1;
		p += size;
	}
	if (p != end)
		return b_err(err, errlen, "%zu bytes after the bundle's end",
			     (size_t)(end - p));
	return nfiles ? 0 : b_err(err, errlen, "empty bundle");
}

/* b_now_ms - monotonic clock */
static long long b_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* b_left - socket timeouts to what is left of the deadline; -1 past it */
static int b_left(int fd, long long deadline)
{
	long long left = deadline - b_now_ms();
	struct timeval tv;

	if (left <= 0)
		return -1;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000 * 1000);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0
	    || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	return 0;
}

/* b_parse_url - https://host[:port]/path */
static int b_parse_url(const char *url, char *host, char *port, char *path,
		       char *err, size_t errlen)
{
	const char *h, *slash, *colon;
	size_t  hl;

	if (strncasecmp(url, "https://", 8) != 0)
		return b_err(err, errlen, "%s: only https:// URLs", url);
	h = url + 8;
	slash = strchr(h, '/');
	if (slash == NULL)
		slash = h + strlen(h);
	colon = memchr(h, ':', (size_t)(slash - h));
	hl = (size_t)((colon ? colon : slash) - h);
	if (hl == 0 || hl >= BUNDLE_HOST_MAX || strlen(slash) >= BUNDLE_PATH_MAX)
		return b_err(err, errlen, "%s: bad host or path", url);
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon) {
		size_t  pl = (size_t)(slash - colon - 1);

		if (pl == 0 || pl > 5)
			return b_err(err, errlen, "%s: bad port", url);
		memcpy(port, colon + 1, pl);
		port[pl] = '\0';
	} else {
		strcpy(port, "443");
	}
	snprintf(path, BUNDLE_PATH_MAX, "%s", *slash ? slash : "/");
	return 0;
}

/* b_connect - TCP connect within the deadline */
static int b_connect(const char *host, const char *port, long long deadline,
		     char *err, size_t errlen)
{
	struct addrinfo hints, *ai, *a;
	int     fd = -1, rc, soerr = 0;
	socklen_t sl = sizeof(soerr);

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
		return b_err(err, errlen, "resolve %s: %s", host, gai_strerror(rc));
	for (a = ai; a != NULL; a = a->ai_next) {
		struct pollfd pfd;

		fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			soerr = errno;
			close(fd);
			fd = -1;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		rc = poll(&pfd, 1, (int)(deadline - b_now_ms() > 0
					 ? deadline - b_now_ms() : 0));
		if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0
		    && soerr == 0)
			break;
		if (rc == 0)
			soerr = ETIMEDOUT;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return b_err(err, errlen, "connect to %s:%s: %s", host, port,
			     strerror(soerr ? soerr : EHOSTUNREACH));
	/* blocking from here, bounded by socket timeouts (b_left) */
	(void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* b_ssl_open - TLS on fd, server checked against ca_file and host */
static SSL *b_ssl_open(SSL_CTX *ctx, int fd, const char *host, char *err,
		       size_t errlen)
{
	SSL    *ssl = SSL_new(ctx);
	X509_VERIFY_PARAM *vp;
	long    vr;

	if (ssl == NULL) {
		b_ssl_err(err, errlen, "SSL_new");
		return NULL;
	}
	vp = SSL_get0_param(ssl);
	/* an address is checked against the certificate's IP names */
	if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1) {
		ERR_clear_error();
		if (SSL_set1_host(ssl, host) != 1
		    || SSL_set_tlsext_host_name(ssl, host) != 1) {
			b_ssl_err(err, errlen, "set the expected host name");
			SSL_free(ssl);
			return NULL;
		}
	}
	if (SSL_set_fd(ssl, fd) != 1) {
		b_ssl_err(err, errlen, "SSL_set_fd");
		SSL_free(ssl);
		return NULL;
	}
	if (SSL_connect(ssl) != 1) {
		vr = SSL_get_verify_result(ssl);
		if (vr != X509_V_OK)
			b_err(err, errlen, "TLS handshake with %s: certificate: %s",
			      host, X509_verify_cert_error_string(vr));
		else
			b_ssl_err(err, errlen, "TLS handshake");
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/* b_response - status and Content-Length of the head; body start */
static int b_response(const char *url, const char *resp, size_t n,
		      size_t *body_off, long long *clen, char *err,
		      size_t errlen)
{
	const char *eoh = memmem(resp, n, "\r\n\r\n", 4), *p;
	int     status = 0;

	if (eoh == NULL)
		return b_err(err, errlen, "GET %s: truncated download: no complete"
			     " response head (%zu bytes)", url, n);
	if (sscanf(resp, "HTTP/%*d.%*d %d", &status) != 1)
		return b_err(err, errlen, "GET %s: not an HTTP response", url);
	if (status != 200)
		return b_err(err, errlen, "GET %s: HTTP status %d", url, status);
	*clen = -1;
	/* bounded by the head: a NUL in a header line must not end the walk */
	for (p = resp; p != NULL && p < eoh;
	     p = memmem(p, (size_t)(eoh + 2 - p), "\r\n", 2), p = p ? p + 2 : NULL)
		if ((size_t)(eoh - p) > 15
		    && strncasecmp(p, "Content-Length:", 15) == 0)
			*clen = strtoll(p + 15, NULL, 10);
	*body_off = (size_t)(eoh + 4 - resp);
	return 0;
}

/* bundle_https_get - one GET over TLS, whole body */
int bundle_https_get(const char *url, const char *ca_file, unsigned timeout_ms,
		     size_t max, char **body, size_t *len, char *err,
		     size_t errlen)
{
	char    host[BUNDLE_HOST_MAX], port[8], path[BUNDLE_PATH_MAX], *req = NULL;
	char   *resp = NULL;
	size_t  n = 0, cap = 0, off = 0;
	long long deadline = b_now_ms() + timeout_ms, clen = -1;
	SSL_CTX *ctx = NULL;
	SSL    *ssl = NULL;
	int     fd = -1, rc = -1, r;

	*body = NULL;
	*len = 0;
	if (b_parse_url(url, host, port, path, err, errlen) < 0)
		return -1;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		b_ssl_err(err, errlen, "SSL_CTX_new");
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* a close without close_notify ends the body: Content-Length and
	 * the signature decide whether it is whole */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1
	    || SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		b_ssl_err(err, errlen, "load the CA file");
		goto out;
	}
	if ((fd = b_connect(host, port, deadline, err, errlen)) < 0)
		goto out;
	if (b_left(fd, deadline) < 0) {
		b_err(err, errlen, "GET %s: timed out", url);
		goto out;
	}
	if ((ssl = b_ssl_open(ctx, fd, host, err, errlen)) == NULL)
		goto out;
	if (asprintf(&req, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: mxgate\r\n"
		     "Connection: close\r\n\r\n", path, host) < 0) {
		req = NULL;
		b_err(err, errlen, "out of memory");
		goto out;
	}
	if (SSL_write(ssl, req, (int)strlen(req)) <= 0) {
		b_ssl_err(err, errlen, "send the request");
		goto out;
	}
	for (;;) {
		if (b_left(fd, deadline) < 0) {
			b_err(err, errlen, "GET %s: timed out after %u ms", url,
			      timeout_ms);
			goto out;
		}
		if (n + BUNDLE_IO_CHUNK > cap) {
			char   *nr;

			if (n > max + BUNDLE_HEADER_MAX) {
				b_err(err, errlen, "GET %s: more than %zu bytes", url, max);
				goto out;
			}
			cap = cap ? 2 * cap : 4 * BUNDLE_IO_CHUNK;
			if ((nr = realloc(resp, cap + 1)) == NULL) {
				b_err(err, errlen, "out of memory");
				goto out;
			}
			resp = nr;
		}
		r = SSL_read(ssl, resp + n, BUNDLE_IO_CHUNK);
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		r = SSL_get_error(ssl, r);
		if (r == SSL_ERROR_SYSCALL
		    && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			b_err(err, errlen, "GET %s: timed out after %u ms", url,
			      timeout_ms);
			goto out;
		}
		if (r == SSL_ERROR_ZERO_RETURN || r == SSL_ERROR_SYSCALL)
			break;	/* close_notify, or a close without one */
		b_ssl_err(err, errlen, "read the response");
		goto out;
	}
	ERR_clear_error();
	resp[n] = '\0';
	if (b_response(url, resp, n, &off, &clen, err, errlen) < 0)
		goto out;
	if (clen >= 0 && (size_t)clen != n - off) {
		b_err(err, errlen, "GET %s: truncated download: %zu of %lld bytes",
		      url, n - off, clen);
		goto out;
	}
	if (n - off > max) {
		b_err(err, errlen, "GET %s: more than %zu bytes", url, max);
		goto out;
	}
	memmove(resp, resp + off, n - off);
	*body = resp;
	*len = n - off;
	resp = NULL;
	rc = 0;
out:
	if (ssl != NULL) {
		(void) SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	free(req);
	free(resp);
	ERR_clear_error();
	return rc;
}

/* bundle_fetch - archive and signature, verified, then unpacked */
int bundle_fetch(const struct bundle_source *src, const char *dir, char *err,
		 size_t errlen)
{
	char   *arch = NULL, *sig = NULL, *sig_url = NULL;
	size_t  alen, slen;
	int     rc = -1;

	if (asprintf(&sig_url, "%s.sig", src->url) < 0)
		return b_err(err, errlen, "out of memory");
	if (bundle_https_get(src->url, src->ca_file, src->timeout_ms, src->max,
			     &arch, &alen, err, errlen) == 0
	    && bundle_https_get(sig_url, src->ca_file, src->timeout_ms,
				BUNDLE_SIG_LEN, &sig, &slen, err, errlen) == 0
	    && bundle_verify(arch, alen, sig, slen, src->pub_key, err,
			     errlen) == 0
	    && bundle_unpack(arch, alen, dir, err, errlen) == 0)
		rc = 0;
	free(arch);
	free(sig);
	free(sig_url);
	return rc;
}
