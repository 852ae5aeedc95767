/*
 * mgmt_client.c - one HTTPS request to the management API
 *
 *	See mgmt_client.h. Blocking sockets with timeouts: a command-line
 *	tool has nothing else to do meanwhile.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mgmt_client.h"

#define MGMT_CLIENT_READ	16384

/* tls_reason - OpenSSL's first queued reason, or the certificate's */
static const char *tls_reason(SSL *ssl, char *buf, size_t len)
{
	unsigned long e = ERR_get_error();
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (v != X509_V_OK)
		snprintf(buf, len, "certificate: %s", X509_verify_cert_error_string(v));
	else if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "%s", errno ? strerror(errno) : "connection closed");
	ERR_clear_error();
	return buf;
}

/* mgmt_client_init - parse https://HOST[:PORT] */
int mgmt_client_init(struct mgmt_client *c, const char *url, char *err,
		     size_t errlen)
{
	const char *h, *end, *colon;
	size_t hl;

	memset(c, 0, sizeof(*c));
	if (strncmp(url, "https://", 8) != 0) {
		snprintf(err, errlen, "URL %s: the management port speaks https:// only", url);
		return -1;
	}
	h = url + 8;
	end = h + strcspn(h, "/");
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (rb == NULL)
			goto bad;
		hl = (size_t)(rb - h - 1);
		if (hl == 0 || hl >= sizeof(c->host))
			goto bad;
		memcpy(c->host, h + 1, hl);
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		hl = (size_t)((colon ? colon : end) - h);
		if (hl == 0 || hl >= sizeof(c->host))
			goto bad;
		memcpy(c->host, h, hl);
	}
	c->host[hl] = 0;
	if (colon) {
		size_t pl = (size_t)(end - colon - 1);

		if (pl == 0 || pl >= sizeof(c->port)
		    || strspn(colon + 1, "0123456789") < pl)
			goto bad;
		memcpy(c->port, colon + 1, pl);
		c->port[pl] = 0;
	} else {
		snprintf(c->port, sizeof(c->port), "443");
	}
	return 0;
bad:
	snprintf(err, errlen, "URL %s: want https://HOST[:PORT]", url);
	return -1;
}

/* dial - TCP to host:port with timeouts */
static int dial(const struct mgmt_client *c, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	struct timeval tv = { MGMT_CLIENT_TIMEOUT_MS / 1000, 0 };
	int fd = -1, rc, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(c->host, c->port, &hints, &res)) != 0) {
		snprintf(err, errlen, "resolve %s: %s", c->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0)) < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to %s:%s: %s%s", c->host, c->port,
			 strerror(saved), saved == ECONNREFUSED || saved == ETIMEDOUT
			 ? " - is the gateway running, and is mgmt_listen this address?"
			 " (--url, $MXGATE_URL)" : "");
		return -1;
	}
	return fd;
}

/* tls_open - handshake, verifying the server unless told not to */
static SSL *tls_open(const struct mgmt_client *c, int fd, SSL_CTX **ctxp,
		     char *err, size_t errlen)
{
	unsigned char ip[16];
	char why[256];
	SSL_CTX *ctx;
	SSL *ssl = NULL;
	int is_ip = inet_pton(AF_INET, c->host, ip) == 1
		    || inet_pton(AF_INET6, c->host, ip) == 1;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL
	    || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		snprintf(err, errlen, "TLS set-up: %s", tls_reason(NULL, why, sizeof(why)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (!c->insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (c->cacert ? SSL_CTX_load_verify_locations(ctx, c->cacert, NULL) != 1
			      : SSL_CTX_set_default_verify_paths(ctx) != 1) {
			snprintf(err, errlen, "load CA certificate %s: %s (--cacert FILE,"
				 " or --insecure)", c->cacert ? c->cacert : "(system)",
				 tls_reason(NULL, why, sizeof(why)));
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1)
		goto fail;
	if (!is_ip && SSL_set_tlsext_host_name(ssl, c->host) != 1)
		goto fail;
	if (!c->insecure) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

		if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, c->host)
			   : X509_VERIFY_PARAM_set1_host(vp, c->host, 0)) != 1)
			goto fail;
	}
	if (SSL_connect(ssl) != 1) {
		snprintf(err, errlen, "TLS handshake with %s:%s: %s%s", c->host, c->port,
			 tls_reason(ssl, why, sizeof(why)),
			 SSL_get_verify_result(ssl) != X509_V_OK
			 ? " (trust the gateway's certificate with --cacert FILE)" : "");
		SSL_free(ssl);
		SSL_CTX_free(ctx);
		return NULL;
	}
	*ctxp = ctx;
	return ssl;
fail:
	snprintf(err, errlen, "TLS set-up: %s", tls_reason(NULL, why, sizeof(why)));
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return NULL;
}

/* parse - status line, Content-Type, body after the blank line */
static int parse(char *buf, size_t len, struct mgmt_response *r, char *err,
		 size_t errlen)
{
	char *eoh = memmem(buf, len, "\r\n\r\n", 4), *line, *save = NULL;
	size_t hl;

	if (eoh == NULL || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
		snprintf(err, errlen, "malformed HTTP response from the gateway");
		return -1;
	}
	hl = (size_t)(eoh - buf);
	*eoh = 0;
	for (line = strtok_r(buf, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save))
		if (strncasecmp(line, "Content-Type:", 13) == 0)
			snprintf(r->ctype, sizeof(r->ctype), "%s", line + 13 + strspn(line + 13, " "));
	r->len = len - hl - 4;
	if ((r->body = malloc(r->len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(r->body, eoh + 4, r->len);
	r->body[r->len] = 0;
	return 0;
}

/* mgmt_client_request - one request, one connection */
int mgmt_client_request(const struct mgmt_client *c, const char *method,
			const char *path, const char *body,
			struct mgmt_response *r, char *err, size_t errlen)
{
	char *req = NULL, *buf = NULL, why[256];
	size_t reqlen = 0, len = 0, cap = 0;
	SSL_CTX *ctx = NULL;
	SSL *ssl;
	FILE *fp;
	int fd, rc = -1;

	memset(r, 0, sizeof(*r));
	if ((fd = dial(c, err, errlen)) < 0)
		return -1;
	if ((ssl = tls_open(c, fd, &ctx, err, errlen)) == NULL) {
		close(fd);
		return -1;
	}
	if ((fp = open_memstream(&req, &reqlen)) == NULL)
		goto out;
	fprintf(fp, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: mxgate\r\n"
		"Connection: close\r\nAccept: application/json\r\n", method, path, c->host);
	if (c->token)
		fprintf(fp, "Authorization: Bearer %s\r\n", c->token);
	if (body)
		fprintf(fp, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
			strlen(body));
	else if (strcmp(method, "POST") == 0)
		fputs("Content-Length: 0\r\n", fp);
	fputs("\r\n", fp);
	if (body)
		fputs(body, fp);
	fclose(fp);
	if (SSL_write(ssl, req, (int)reqlen) != (int)reqlen) {
		snprintf(err, errlen, "send the request: %s", tls_reason(ssl, why, sizeof(why)));
		goto out;
	}
	for (;;) {
		int n;

		if (cap - len < MGMT_CLIENT_READ) {
			char *nb;

			if (cap >= MGMT_CLIENT_RESPONSE_MAX) {
				snprintf(err, errlen, "response larger than %u bytes",
					 MGMT_CLIENT_RESPONSE_MAX);
				goto out;
			}
			cap = cap ? cap * 2 : 4 * MGMT_CLIENT_READ;
			if ((nb = realloc(buf, cap)) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			buf = nb;
		}
		n = SSL_read(ssl, buf + len, (int)(cap - len - 1));
		if (n <= 0) {
			int e = SSL_get_error(ssl, n);

			if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && len > 0))
				break;	/* close_notify, or a close without one */
			snprintf(err, errlen, "read the response: %s%s",
				 tls_reason(ssl, why, sizeof(why)),
				 errno == EAGAIN ? " (timed out)" : "");
			goto out;
		}
		len += (size_t)n;
	}
	rc = parse(buf, len, r, err, errlen);
out:
	free(req);
	free(buf);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return rc;
}

/* mgmt_response_free - the body */
void mgmt_response_free(struct mgmt_response *r)
{
	free(r->body);
	r->body = NULL;
}
