/*
 * http.c - HTTP/1.1 request parser and response writer
 *
 *	See http.h. The parser assembles one line at a time in r->line
 *	(bounded), so that a request split anywhere is parsed exactly as
 *	the whole: each complete line is judged on its own, and only the
 *	line in progress is state.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* fail - stop parsing with the status and text the client gets */
static void fail(struct http_request *r, int status, const char *why)
{
	r->state = HTTP_ERROR;
	r->status = status;
	r->error = why;
}

/* http_request_init - ready for a new request */
void http_request_init(struct http_request *r)
{
	r->state = HTTP_REQUEST_LINE;
	r->status = 0;
	r->error = NULL;
	r->method[0] = 0;
	r->target[0] = 0;
	r->minor = 1;
	r->keep_alive = 0;
	r->nfields = 0;
	r->content_length = 0;
	r->has_length = 0;
	r->body_len = 0;
	r->body[0] = 0;
	r->line_len = 0;
	r->hbytes = 0;
}

/* is_tchar - RFC 9110 5.6.2 token character */
static int is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* request_line - "METHOD SP origin-form SP HTTP/1.x" */
static void request_line(struct http_request *r, char *s, size_t n)
{
	char *sp1, *sp2;
	size_t i, ml;

	if (n == 0)
		return;		/* RFC 9112 2.2: ignore empty lines before it */
	if ((sp1 = memchr(s, ' ', n)) == NULL
	    || (sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s))) == NULL) {
		fail(r, 400, "malformed request line");
		return;
	}
	ml = (size_t)(sp1 - s);
	if (ml == 0 || ml >= sizeof(r->method)) {
		fail(r, 400, "malformed or overlong method");
		return;
	}
	for (i = 0; i < ml; i++)
		if (!is_tchar((unsigned char)s[i])) {
			fail(r, 400, "malformed method");
			return;
		}
	memcpy(r->method, s, ml);
	r->method[ml] = 0;
	if (sp1[1] != '/') {
		fail(r, 400, "request target must be an absolute path");
		return;
	}
	for (char *p = sp1 + 1; p < sp2; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			fail(r, 400, "control character or space in request target");
			return;
		}
	memcpy(r->target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	r->target[sp2 - sp1 - 1] = 0;
	if ((size_t)(s + n - (sp2 + 1)) != 8 || memcmp(sp2 + 1, "HTTP/", 5) != 0
	    || !isdigit((unsigned char)sp2[6]) || sp2[7] != '.'
	    || !isdigit((unsigned char)sp2[8])) {
		fail(r, 400, "malformed HTTP version");
		return;
	}
	if (sp2[6] != '1') {
		fail(r, 505, "only HTTP/1.0 and HTTP/1.1 are spoken here");
		return;
	}
	r->minor = sp2[8] - '0';
	r->keep_alive = r->minor >= 1;
	r->state = HTTP_HEADERS;
}

/* has_token - a comma-separated field value lists tok */
static int has_token(const char *v, const char *tok)
{
	size_t tl = strlen(tok);

	while (*v) {
		size_t n;

		v += strspn(v, " \t,");
		n = strcspn(v, " \t,");
		if (n == tl && strncasecmp(v, tok, tl) == 0)
			return 1;
		v += n;
	}
	return 0;
}

/* content_length - digits only; repeats must agree (RFC 9110 8.6) */
static int content_length(struct http_request *r, const char *v)
{
	size_t n = 0;

	if (!*v)
		return -1;
	for (const char *p = v; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		if (n > HTTP_BODY_MAX)
			break;	/* too large anyway; stay far from overflow */
		n = n * 10 + (size_t)(*p - '0');
	}
	if (r->has_length && r->content_length != n)
		return -1;
	r->has_length = 1;
	r->content_length = n;
	return 0;
}

/* headers_end - the empty line: decide about the body */
static void headers_end(struct http_request *r)
{
	const char *v;

	if (http_header(r, "transfer-encoding")) {
		fail(r, 411, "request bodies must come with Content-Length,"
		     " not Transfer-Encoding");
		return;
	}
	if (r->minor >= 1 && http_header(r, "host") == NULL) {
		fail(r, 400, "HTTP/1.1 request without Host");
		return;
	}
	if ((v = http_header(r, "connection")) != NULL) {
		if (has_token(v, "close"))
			r->keep_alive = 0;
		else if (has_token(v, "keep-alive"))
			r->keep_alive = 1;
	}
	if (r->content_length > HTTP_BODY_MAX) {
		fail(r, 413, "request body too large");
		return;
	}
	r->state = r->content_length ? HTTP_BODY : HTTP_DONE;
}

/* header_line - one "name: value" field */
static void header_line(struct http_request *r, char *s, size_t n)
{
	char *colon, *v, *e;
	size_t nl, vl;

	if (n == 0) {
		headers_end(r);
		return;
	}
	if (s[0] == ' ' || s[0] == '\t') {
		fail(r, 400, "obsolete line folding in header");
		return;
	}
	if ((colon = memchr(s, ':', n)) == NULL || colon == s) {
		fail(r, 400, "malformed header field");
		return;
	}
	nl = (size_t)(colon - s);
	for (size_t i = 0; i < nl; i++)
		if (!is_tchar((unsigned char)s[i])) {
			fail(r, 400, "malformed header field name");
			return;
		}
	v = colon + 1;
	e = s + n;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	vl = (size_t)(e - v);
	for (size_t i = 0; i < vl; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			fail(r, 400, "control character in header value");
			return;
		}
	}
	if (r->nfields >= HTTP_HEADERS_MAX) {
		fail(r, 431, "too many header fields");
		return;
	}
	if (r->hbytes + nl + vl + 2 > sizeof(r->hbuf)) {
		fail(r, 431, "header fields too large");
		return;
	}
	r->field[r->nfields].name = (uint32_t)r->hbytes;
	memcpy(r->hbuf + r->hbytes, s, nl);
	r->hbytes += nl;
	r->hbuf[r->hbytes++] = 0;
	r->field[r->nfields].value = (uint32_t)r->hbytes;
	memcpy(r->hbuf + r->hbytes, v, vl);
	r->hbytes += vl;
	r->hbuf[r->hbytes++] = 0;
	r->nfields++;
	if (strcasecmp(r->hbuf + r->field[r->nfields - 1].name, "content-length") == 0
	    && content_length(r, r->hbuf + r->field[r->nfields - 1].value) < 0)
		fail(r, 400, "malformed or conflicting Content-Length");
}

/* http_parse - consume bytes until one request is complete or refused */
size_t http_parse(struct http_request *r, const void *data, size_t len)
{
	const char *p = data;
	size_t used = 0;

	while (used < len && r->state != HTTP_DONE && r->state != HTTP_ERROR) {
		if (r->state == HTTP_BODY) {
			size_t want = r->content_length - r->body_len;
			size_t n = len - used < want ? len - used : want;

			memcpy(r->body + r->body_len, p + used, n);
			r->body_len += n;
			r->body[r->body_len] = 0;
			used += n;
			if (r->body_len == r->content_length)
				r->state = HTTP_DONE;
			continue;
		}
		const char *nl = memchr(p + used, '\n', len - used);
		size_t n = nl ? (size_t)(nl - (p + used)) : len - used;

		if (r->line_len + n >= sizeof(r->line)) {
			if (r->state == HTTP_REQUEST_LINE)
				fail(r, 414, "request line too long");
			else
				fail(r, 431, "header line too long");
			return used;
		}
		memcpy(r->line + r->line_len, p + used, n);
		r->line_len += n;
		used += n;
		if (nl == NULL)
			break;
		used++;		/* the LF */
		n = r->line_len;
		if (n && r->line[n - 1] == '\r')
			n--;
		r->line[n] = 0;
		r->line_len = 0;
		if (memchr(r->line, 0, n) != NULL)
			fail(r, 400, "NUL byte in request head");
		else if (r->state == HTTP_REQUEST_LINE)
			request_line(r, r->line, n);
		else
			header_line(r, r->line, n);
	}
	return used;
}

/* http_header - a field's value by case-insensitive name; NULL if absent */
const char *http_header(const struct http_request *r, const char *name)
{
	for (unsigned i = 0; i < r->nfields; i++)
		if (strcasecmp(r->hbuf + r->field[i].name, name) == 0)
			return r->hbuf + r->field[i].value;
	return NULL;
}

/* hexval - one hex digit, -1 if not */
static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* decode - percent-decode s[0..n) into out; plus: '+' is a space */
static int decode(const char *s, size_t n, char *out, size_t outlen, int plus,
		  int path)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			if (c == 0 || (path && c == '/'))
				return -1;
			i += 2;
		} else if (plus && c == '+') {
			c = ' ';
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

/* http_path - the decoded path, without the query */
int http_path(const struct http_request *r, char *out, size_t outlen)
{
	size_t n = strcspn(r->target, "?#");

	return decode(r->target, n, out, outlen, 0, 1);
}

/* http_query - one query parameter, decoded */
int http_query(const struct http_request *r, const char *name, char *out,
	       size_t outlen)
{
	const char *q = strchr(r->target, '?');
	size_t nl = strlen(name);

	if (q == NULL)
		return 0;
	q++;
	while (*q && *q != '#') {
		size_t n = strcspn(q, "&#");
		const char *eq = memchr(q, '=', n);
		size_t kl = eq ? (size_t)(eq - q) : n;

		if (kl == nl && memcmp(q, name, nl) == 0) {
			if (eq == NULL) {
				if (outlen == 0)
					return -1;
				out[0] = 0;
				return 1;
			}
			return decode(eq + 1, n - kl - 1, out, outlen, 1, 0) < 0
			       ? -1 : 1;
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return 0;
}

/* http_status_text - the reason phrase */
const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 422: return "Unprocessable Content";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* http_reply - one whole response; extra: CRLF-terminated header lines */
int http_reply(FILE *fp, int status, const char *ctype, const char *extra,
	       const void *body, size_t len, int keep_alive)
{
	fprintf(fp, "HTTP/1.1 %d %s\r\n", status, http_status_text(status));
	if (ctype)
		fprintf(fp, "Content-Type: %s\r\n", ctype);
	fprintf(fp, "Content-Length: %zu\r\n", len);
	fputs("Cache-Control: no-store\r\n", fp);
	if (!keep_alive)
		fputs("Connection: close\r\n", fp);
	if (extra)
		fputs(extra, fp);
	fputs("\r\n", fp);
	if (len && fwrite(body, 1, len, fp) != len)
		return -1;
	return ferror(fp) ? -1 : 0;
}
