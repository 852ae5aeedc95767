/*
 * smtp_addr.c - SMTP path and ESMTP parameter syntax
 *
 *	int smtp_parse_path(char *p, char *out, size_t size, char **rest);
 *	int smtp_addr_check(const char *a, bool utf8, bool is_rcpt);
 *	char *smtp_next_param(char **rest, char **val);
 *	int smtp_parse_size(const char *v, uint64_t *out);
 *	bool smtp_xtext_valid(const char *v, size_t max, bool utf8);
 *	int smtp_notify_parse(char *v, unsigned *out);
 *	bool smtp_orcpt_valid(const char *v, bool utf8);
 *
 * DESCRIPTION
 *	smtp_parse_path() takes "<[route:]addr>[ params]" (blanks before the
 *	"<" tolerated), copies addr without brackets or source route into
 *	out and points rest at the parameters: 0, -1 on syntax, -2 when the
 *	path is longer than SMTP_PATH_MAX or out. smtp_addr_check() checks
 *	the mailbox (RFC 5321 4.1.2: dot-atom or quoted local part, host
 *	name or address literal; "" only as a sender, "postmaster" only as a
 *	recipient) and answers SMTP_ADDR_NEEDS_UTF8 for well-formed UTF-8
 *	without SMTPUTF8 (RFC 6531). The rest parse SIZE (RFC 1870), xtext,
 *	NOTIFY and ORCPT (RFC 3461, RFC 6533).
 *
 * DIAGNOSTICS
 *	Return values only; the caller chooses the reply.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "smtp_int.h"

/* is_atext - RFC 5322 atext */

static bool is_atext(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* utf8_valid - well-formed UTF-8: no overlong forms, no surrogates */

static bool utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp;

	while (i < n) {
		unsigned char c = p[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)
		    || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += len;
	}
	return true;
}

/* domain_check - hostname labels or an address literal */

static int domain_check(const char *d, bool *eightbit)
{
	const unsigned char *p = (const unsigned char *) d;
	size_t label = 0;

	if (*p == '[') {
		for (p++; *p && *p != ']'; p++)
			if (*p < 33 || *p > 126 || *p == '[' || *p == '\\')
				return SMTP_ADDR_SYNTAX;
		return (*p == ']' && p[1] == 0 && p > (const unsigned char *) d + 1)
			? SMTP_ADDR_OK : SMTP_ADDR_SYNTAX;
	}
	for (; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return SMTP_ADDR_SYNTAX;
			label = 0;
			continue;
		}
		if (*p >= 0x80)
			*eightbit = true;
		else if (!isalnum(*p) && *p != '-')
			return SMTP_ADDR_SYNTAX;
		label++;
	}
	return label ? SMTP_ADDR_OK : SMTP_ADDR_SYNTAX;
}

/* smtp_addr_check - mailbox syntax; UTF-8 only when the client said so */

int smtp_addr_check(const char *a, bool utf8, bool is_rcpt)
{
	const unsigned char *p = (const unsigned char *) a;
	bool eightbit = false;

	if (*p == 0)
		return is_rcpt ? SMTP_ADDR_SYNTAX : SMTP_ADDR_OK;	/* <> null sender */
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			if (*p < 0x20 || *p == 0x7f)
				return SMTP_ADDR_SYNTAX;
			if (*p >= 0x80)
				eightbit = true;
		}
		if (*p++ != '"' || *p != '@')
			return SMTP_ADDR_SYNTAX;
	} else {
		for (; *p && *p != '@'; p++) {
			if (*p >= 0x80)
				eightbit = true;
			else if (!is_atext(*p) && *p != '.')
				return SMTP_ADDR_SYNTAX;
		}
		if (p == (const unsigned char *) a)
			return SMTP_ADDR_SYNTAX;
	}
	if (*p != '@') {
		/* RFC 5321 4.1.1.3: <postmaster> needs no domain. */
		if (is_rcpt && !eightbit && strcasecmp(a, "postmaster") == 0)
			return SMTP_ADDR_OK;
		return SMTP_ADDR_SYNTAX;
	}
	if (domain_check((const char *) p + 1, &eightbit) != SMTP_ADDR_OK)
		return SMTP_ADDR_SYNTAX;
	if (eightbit) {
		if (!utf8_valid((const unsigned char *) a, strlen(a)))
			return SMTP_ADDR_SYNTAX;
		if (!utf8)
			return SMTP_ADDR_NEEDS_UTF8;
	}
	return SMTP_ADDR_OK;
}

/* smtp_parse_path - "<[route:]addr>[ params]": copy addr, point at params */

int smtp_parse_path(char *p, char *out, size_t size, char **rest)
{
	char *q, *start, *colon;
	bool quoted = false;
	size_t n;

	while (*p == ' ')
		p++;			/* "MAIL FROM: <a@b>" is common */
	if (*p != '<')
		return -1;
	for (q = p + 1; *q; q++) {
		if (quoted) {
			if (*q == '\\' && q[1])
				q++;
			else if (*q == '"')
				quoted = false;
		} else if (*q == '"') {
			quoted = true;
		} else if (*q == '>') {
			break;
		}
	}
	if (*q != '>')
		return -1;
	if ((size_t) (q - p + 1) > SMTP_PATH_MAX)
		return -2;
	start = p + 1;
	if (*start == '@') {
		/* A source route is accepted and ignored (RFC 5321 C). */
		colon = memchr(start, ':', (size_t) (q - start));
		if (colon == NULL)
			return -1;
		start = colon + 1;
	}
	n = (size_t) (q - start);
	if (n >= size)
		return -2;
	memcpy(out, start, n);
	out[n] = 0;
	q++;
	if (*q && *q != ' ')
		return -1;
	while (*q == ' ')
		q++;
	*rest = q;
	return 0;
}

/* smtp_xtext_valid - RFC 3461 xtext of at most max octets */

bool smtp_xtext_valid(const char *v, size_t max, bool utf8)
{
	const unsigned char *p = (const unsigned char *) v;
	size_t n = strlen(v);

	if (n == 0 || n > max)
		return false;
	for (; *p; p++) {
		if (*p == '+') {
			if (!isxdigit(p[1]) || !isxdigit(p[2])
			    || islower(p[1]) || islower(p[2]))
				return false;
			p += 2;
		} else if (*p >= 0x80 && utf8) {
			continue;	/* RFC 6533 utf-8-addr-xtext */
		} else if (*p < 33 || *p > 126 || *p == '=') {
			return false;
		}
	}
	return utf8 ? utf8_valid((const unsigned char *) v, n) : true;
}

/* smtp_next_param - split "KEY[=VALUE]" off *rest; NULL at the end */

char *smtp_next_param(char **rest, char **val)
{
	char *p = *rest, *end, *eq;

	while (*p == ' ')
		p++;
	if (*p == 0)
		return NULL;
	end = p + strcspn(p, " ");
	if (*end)
		*end++ = 0;
	*rest = end;
	eq = strchr(p, '=');
	if (eq)
		*eq++ = 0;
	*val = eq;
	return p;
}

/* smtp_parse_size - decimal octet count without overflow */

int smtp_parse_size(const char *v, uint64_t *out)
{
	uint64_t n = 0;

	if (v == NULL || *v == 0 || strlen(v) > 20)
		return -1;
	for (; *v; v++) {
		if (!isdigit((unsigned char) *v))
			return -1;
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t) (*v - '0');
	}
	*out = n;
	return 0;
}

/* smtp_notify_parse - NEVER, or a list of SUCCESS, FAILURE, DELAY */

int smtp_notify_parse(char *v, unsigned *out)
{
	char *tok, *save = NULL;
	unsigned n = 0;

	if (v == NULL || *v == 0)
		return -1;
	for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcasecmp(tok, "NEVER") == 0)
			n |= SMTP_NOTIFY_NEVER;
		else if (strcasecmp(tok, "SUCCESS") == 0)
			n |= SMTP_NOTIFY_SUCCESS;
		else if (strcasecmp(tok, "FAILURE") == 0)
			n |= SMTP_NOTIFY_FAILURE;
		else if (strcasecmp(tok, "DELAY") == 0)
			n |= SMTP_NOTIFY_DELAY;
		else
			return -1;
	}
	if ((n & SMTP_NOTIFY_NEVER) && n != SMTP_NOTIFY_NEVER)
		return -1;
	*out = n;
	return 0;
}

/* smtp_orcpt_valid - addr-type ";" xtext, RFC 3461 4.2 and RFC 6533 */

bool smtp_orcpt_valid(const char *v, bool utf8)
{
	const char *semi = v ? strchr(v, ';') : NULL;
	const char *p;

	if (semi == NULL || semi == v || strlen(v) > SMTP_ORCPT_MAX)
		return false;
	for (p = v; p < semi; p++)
		if (!isalnum((unsigned char) *p) && *p != '-')
			return false;
	return smtp_xtext_valid(semi + 1, SMTP_ORCPT_MAX, utf8);
}
