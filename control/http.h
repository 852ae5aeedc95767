/*
 * http.h - HTTP/1.1 request parser (incremental, bounded) and replies
 *
 *	void http_request_init(struct http_request *r);
 *	size_t http_parse(struct http_request *r, const void *data,
 *			size_t len);
 *	const char *http_header(const struct http_request *r,
 *			const char *name);
 *	int http_path(const struct http_request *r, char *out, size_t outlen);
 *	int http_query(const struct http_request *r, const char *name,
 *			char *out, size_t outlen);
 *	const char *http_status_text(int status);
 *	int http_reply(FILE *fp, int status, const char *ctype,
 *			const char *extra, const void *body, size_t len,
 *			int keep_alive);
 *
 * DESCRIPTION
 *	http_parse() takes request bytes as they arrive, in any split, and
 *	returns how many it consumed; it stops at the end of one request
 *	(r->state HTTP_DONE; the rest belongs to the next request, pipelined)
 *	or at the first error (HTTP_ERROR, r->status and r->error say what
 *	the client is answered). Whatever the split, the outcome is the same
 *	as for the whole request at once (tests/fuzz/fuzz_http.c checks it).
 *
 *	Every limit is a named constant below: the request line, the number
 *	of header fields, the bytes of all header fields, the body. A body
 *	needs Content-Length; Transfer-Encoding (chunked) request bodies are
 *	refused with 411, obsolete line folding and malformed fields with 400.
 *	Bare LF ends a line as CRLF does (RFC 9112 2.2 allows it).
 *
 *	http_path() percent-decodes the path (without the query) and refuses
 *	an encoded NUL or slash; http_query() finds a query parameter and
 *	decodes it ('+' is a space): 1 found, 0 absent, -1 malformed or too
 *	long. http_reply() writes a complete response with Content-Length.
 *
 * DIAGNOSTICS
 *	A refused request: r->status 400, 405, 411, 413, 414, 431 or 505
 *	and r->error, one line of text for the client.
 */
#ifndef MX_HTTP_H
#define MX_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HTTP_LINE_MAX		4096	/* request line, bytes */
#define HTTP_HEADERS_MAX	48	/* header fields */
#define HTTP_HEADER_BYTES_MAX	16384	/* all header lines together */
#define HTTP_BODY_MAX		(256 * 1024)	/* request body, bytes */
#define HTTP_METHOD_MAX		16

enum http_state {
	HTTP_REQUEST_LINE = 0,
	HTTP_HEADERS,
	HTTP_BODY,
	HTTP_DONE,
	HTTP_ERROR,
};

struct http_field {
	uint32_t name, value;		/* offsets into hbuf, NUL-terminated */
};

struct http_request {
	enum http_state state;
	int status;			/* HTTP_ERROR: the status to answer */
	const char *error;		/* ... and why */
	char method[HTTP_METHOD_MAX];
	char target[HTTP_LINE_MAX];	/* as sent: path and query */
	int minor;			/* HTTP/1.minor */
	int keep_alive;
	unsigned nfields;
	struct http_field field[HTTP_HEADERS_MAX];
	size_t content_length;
	int has_length;
	size_t body_len;		/* received so far */
	char body[HTTP_BODY_MAX + 1];	/* NUL-terminated */
	/* private */
	size_t line_len;		/* bytes of the line in progress */
	char line[HTTP_LINE_MAX];
	size_t hbytes;			/* of hbuf used */
	char hbuf[HTTP_HEADER_BYTES_MAX];
};

void http_request_init(struct http_request *r);
size_t http_parse(struct http_request *r, const void *data, size_t len);
const char *http_header(const struct http_request *r, const char *name);
int http_path(const struct http_request *r, char *out, size_t outlen);
int http_query(const struct http_request *r, const char *name, char *out,
	       size_t outlen);
const char *http_status_text(int status);
int http_reply(FILE *fp, int status, const char *ctype, const char *extra,
	       const void *body, size_t len, int keep_alive);

#endif
