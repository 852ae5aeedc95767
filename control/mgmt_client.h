/*
 * mgmt_client.h - HTTPS client of the management API (for `mxgate`)
 *
 *	int mgmt_client_init(struct mgmt_client *c, const char *url,
 *			char *err, size_t errlen);
 *	int mgmt_client_request(const struct mgmt_client *c,
 *			const char *method, const char *path,
 *			const char *body, struct mgmt_response *r,
 *			char *err, size_t errlen);
 *	void mgmt_response_free(struct mgmt_response *r);
 *
 * DESCRIPTION
 *	mgmt_client_init() takes "https://HOST[:PORT]" (plain http is
 *	refused: the port speaks TLS only). The caller then sets token, and
 *	either cacert (the file to trust; the gateway's self-signed
 *	certificate by default) or insecure (no verification at all).
 *
 *	mgmt_client_request() makes one request on a new TLS connection
 *	(TLS 1.2 and later; the server's certificate is checked against
 *	cacert and its name or address against the URL's host) and reads
 *	the whole response, at most MGMT_CLIENT_RESPONSE_MAX bytes, within
 *	MGMT_CLIENT_TIMEOUT_MS per read or write. It returns 0 with any
 *	HTTP status in r (the caller decides what a 404 means), -1 when no
 *	response came, err saying why in an operator's words ("connection
 *	refused: is the gateway running? ...").
 *
 * DIAGNOSTICS
 *	See above; OpenSSL's reason is appended to TLS failures.
 */
#ifndef MX_MGMT_CLIENT_H
#define MX_MGMT_CLIENT_H

#include <stddef.h>

#define MGMT_CLIENT_URL_DEFAULT		"https://127.0.0.1:8445"
#define MGMT_CLIENT_TIMEOUT_MS		120000	/* a release or publish may take long */
#define MGMT_CLIENT_RESPONSE_MAX	(512u << 20)

struct mgmt_client {
	char host[256];
	char port[8];
	const char *token;		/* bearer token; NULL: none */
	const char *cacert;		/* PEM file to trust; NULL: system store */
	int insecure;			/* 1: no certificate verification */
};

struct mgmt_response {
	int status;
	char ctype[128];
	char *body;			/* malloc'd, NUL-terminated */
	size_t len;
};

int mgmt_client_init(struct mgmt_client *c, const char *url, char *err,
		     size_t errlen);
int mgmt_client_request(const struct mgmt_client *c, const char *method,
			const char *path, const char *body,
			struct mgmt_response *r, char *err, size_t errlen);
void mgmt_response_free(struct mgmt_response *r);

#endif
