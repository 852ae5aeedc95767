/*
 * smtp_xforward.c - the XFORWARD command: client attributes from the
 *	up-stream MTA of a content filter
 *
 *	int smtp_xforward_check(struct smtp_session *s, char *args);
 *	void smtp_xforward_proceed(struct smtp_session *s, char *args);
 *	void smtp_xforward_reset(struct smtp_session *s);
 *	void smtp_xforward_apply(struct smtp_session *s);
 *
 * DESCRIPTION
 *	Postfix's XFORWARD_README, as Postfix's own smtpd implements it:
 *
 *	xforward-command = XFORWARD 1*( SP attribute-name"="attribute-value )
 *	attribute-name = NAME | ADDR | PORT | PROTO | HELO | IDENT | SOURCE
 *	attribute-value = xtext
 *
 *	Names are case-insensitive; a value is at most SMTP_XF_VALUE_MAX
 *	octets as sent. [UNAVAILABLE] (and [TEMPUNAVAIL], XCLIENT's
 *	"temporarily unknown") stand for an unknown value. NAME must be a
 *	host name; ADDR an IPv4 address or "IPv6:" and an IPv6 address
 *	(stored bare); PORT a decimal port; PROTO at most SMTP_XF_PROTO_MAX
 *	octets; SOURCE LOCAL or REMOTE, unknown counting as LOCAL. Control
 *	and non-ASCII octets become '?', and so do the characters that
 *	could change the meaning of a Received: header or a log line
 *	(XF_NEUTER), as Postfix does.
 *
 *	smtp_xforward_check() refuses the command out of sequence or not
 *	allowed, smtp_xforward_proceed() parses every attribute into a copy
 *	and commits it only when all are good, so a 501 changes nothing.
 *	smtp_xforward_reset() forgets them (end of a mail transaction);
 *	smtp_xforward_apply() points the transaction at them.
 *
 *	Two deviations from Postfix's smtpd, both stricter: a value that is
 *	not valid xtext is refused (Postfix before 2.3 sent raw values and
 *	Postfix still takes them as they are; 2.3 was released in 2006), and
 *	a refused command leaves no attribute half-updated.
 *
 * DIAGNOSTICS
 *	Replies only: 250 2.0.0 Ok, 503 5.5.1 inside a transaction,
 *	501 5.5.4 for syntax, 550 5.7.0 when the client is not allowed.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "smtp_int.h"

/* Characters that must not reach a header or log line unchanged. */
#define XF_NEUTER	" <>()\\\";@"
#define XF_PORT_DIGITS	5		/* "65535" */
#define XF_LABEL_MAX	63		/* DNS label, RFC 1035 */

enum xf_attr {
	XF_NAME, XF_ADDR, XF_PORT, XF_PROTO, XF_HELO, XF_IDENT, XF_SOURCE,
	XF_COUNT
};

static const char *const xf_names[XF_COUNT] = {
	[XF_NAME] = "NAME", [XF_ADDR] = "ADDR", [XF_PORT] = "PORT",
	[XF_PROTO] = "PROTO", [XF_HELO] = "HELO", [XF_IDENT] = "IDENT",
	[XF_SOURCE] = "SOURCE",
};

/* xf_unknown - the values that say "not known" */

static bool xf_unknown(const char *v)
{
	return strcmp(v, "[UNAVAILABLE]") == 0
		|| strcmp(v, "[TEMPUNAVAIL]") == 0;
}

/* xf_hex - one uppercase hex digit (RFC 3461 xtext), or -1 */

static int xf_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* xf_decode - xtext into dst, masked to printable ASCII; -1 if not xtext */

static int xf_decode(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	for (; *src; src++) {
		unsigned char c = (unsigned char) *src;

		if (c < '!' || c > '~' || c == '=')
			return -1;
		if (c == '+') {
			int hi = xf_hex(src[1]), lo = hi < 0 ? -1 : xf_hex(src[2]);

			if (lo < 0)
				return -1;
			c = (unsigned char) (hi << 4 | lo);
			src += 2;
		}
		if (n + 1 >= size)
			return -1;
		dst[n++] = (c < 0x20 || c > 0x7e) ? '?' : (char) c;
	}
	dst[n] = 0;
	return 0;
}

/* xf_neuter - replace the characters of XF_NEUTER by '?' */

static void xf_neuter(char *v)
{
	for (; *v; v++)
		if (strchr(XF_NEUTER, *v))
			*v = '?';
}

/* xf_hostname - letters, digits, '-', '_' in dot-separated labels */

static bool xf_hostname(const char *v)
{
	size_t label = 0;

	if (*v == 0 || *v == '.')
		return false;
	for (; *v; v++) {
		if (*v == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char) *v) || *v == '-' || *v == '_') {
			if (++label > XF_LABEL_MAX)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* xf_addr - "a.b.c.d" or "IPv6:addr" into its bare form */

static bool xf_addr(char *dst, size_t size, const char *v)
{
	unsigned char bin[16];
	int family = AF_INET;

	if (strncasecmp(v, "IPv6:", 5) == 0) {
		family = AF_INET6;
		v += 5;
	}
	if (strlen(v) >= size || inet_pton(family, v, bin) != 1)
		return false;
	memcpy(dst, v, strlen(v) + 1);
	return true;
}

/* xf_port - 1 to XF_PORT_DIGITS decimal digits, at most 65535 */

static bool xf_port(uint16_t *port, const char *v)
{
	unsigned long p = 0;
	size_t n = strlen(v);

	if (n == 0 || n > XF_PORT_DIGITS || strspn(v, "0123456789") != n)
		return false;
	for (; *v; v++)
		p = p * 10 + (unsigned long) (*v - '0');
	if (p > UINT16_MAX)
		return false;
	*port = (uint16_t) p;
	return true;
}

/* xf_copy - a neutered string attribute, "" when unknown */

static void xf_copy(char *dst, size_t size, const char *v)
{
	if (xf_unknown(v)) {
		dst[0] = 0;
		return;
	}
	snprintf(dst, size, "%s", v);
	xf_neuter(dst);
}

/* xf_set - one decoded attribute into xf; false: bad value */

static bool xf_set(struct smtp_xforward *xf, enum xf_attr a, const char *v)
{
	switch (a) {
	case XF_NAME:
		if (xf_unknown(v)) {
			xf->name[0] = 0;
			return true;
		}
		if (!xf_hostname(v))
			return false;
		xf_copy(xf->name, sizeof(xf->name), v);
		return true;
	case XF_ADDR:
		if (xf_unknown(v)) {
			xf->addr[0] = 0;
			return true;
		}
		return xf_addr(xf->addr, sizeof(xf->addr), v);
	case XF_PORT:
		if (xf_unknown(v)) {
			xf->port = 0;
			return true;
		}
		return xf_port(&xf->port, v);
	case XF_PROTO:
		if (strlen(v) > SMTP_XF_PROTO_MAX)
			return false;
		xf_copy(xf->proto, sizeof(xf->proto), v);
		return true;
	case XF_HELO:
		xf_copy(xf->helo, sizeof(xf->helo), v);
		return true;
	case XF_IDENT:
		xf_copy(xf->ident, sizeof(xf->ident), v);
		return true;
	case XF_SOURCE:
		/* Postfix's smtpd takes an unknown origin as LOCAL. */
		if (xf_unknown(v) || strcasecmp(v, "LOCAL") == 0)
			memcpy(xf->source, "LOCAL", sizeof("LOCAL"));
		else if (strcasecmp(v, "REMOTE") == 0)
			memcpy(xf->source, "REMOTE", sizeof("REMOTE"));
		else
			return false;
		return true;
	default:
		return false;
	}
}

/* smtp_xforward_check - in sequence, with arguments, allowed */

int smtp_xforward_check(struct smtp_session *s, char *args)
{
	if (s->state != SMTP_S_INIT && s->state != SMTP_S_HELO) {
		smtp_reply_error(s, 503, "5.5.1",
				 "Error: MAIL transaction in progress");
		return -1;
	}
	if (*args == 0) {
		smtp_reply_error(s, 501, "5.5.4",
				 "Syntax: XFORWARD attribute=value...");
		return -1;
	}
	if (!s->xf_allow) {
		smtp_reply_error(s, 550, "5.7.0",
				 "Error: insufficient authorization");
		return -1;
	}
	return 0;
}

/* smtp_xforward_proceed - all attributes good, or none taken */

void smtp_xforward_proceed(struct smtp_session *s, char *args)
{
	struct smtp_xforward xf;
	char value[SMTP_XF_VALUE_MAX + 1], *tok, *eq, *rest = args;
	unsigned a;

	if (s->xf.seen) {
		xf = s->xf;
	} else {
		/* The first XFORWARD replaces every client attribute:
		 * those not given are unknown, not the connection's. */
		memset(&xf, 0, sizeof(xf));
	}
	while ((tok = strsep(&rest, " ")) != NULL) {
		if (*tok == 0)
			continue;
		if ((eq = strchr(tok, '=')) == NULL || eq[1] == 0) {
			smtp_reply_error(s, 501, "5.5.4",
					 "Error: attribute=value expected");
			return;
		}
		*eq++ = 0;
		if (strlen(eq) > SMTP_XF_VALUE_MAX) {
			smtp_reply_error(s, 501, "5.5.4",
					 "Error: attribute value too long");
			return;
		}
		for (a = 0; a < XF_COUNT; a++)
			if (strcasecmp(tok, xf_names[a]) == 0)
				break;
		if (a == XF_COUNT) {
			smtp_text_clean(value, sizeof(value), tok);
			smtp_reply_error(s, 501, "5.5.4",
					 "Bad XFORWARD attribute name: %s", value);
			return;
		}
		if (xf_decode(value, sizeof(value), eq) < 0) {
			smtp_reply_error(s, 501, "5.5.4", "Bad %s xtext",
					 xf_names[a]);
			return;
		}
		if (!xf_set(&xf, (enum xf_attr) a, value)) {
			smtp_reply_error(s, 501, "5.5.4", "Bad %s syntax: %s",
					 xf_names[a], value);
			return;
		}
	}
	xf.seen = true;
	s->xf = xf;
	smtp_xforward_apply(s);
	smtp_reply(s, 250, "2.0.0", "Ok");
}

/* smtp_xforward_reset - the mail transaction ended: forget them */

void smtp_xforward_reset(struct smtp_session *s)
{
	memset(&s->xf, 0, sizeof(s->xf));
	smtp_xforward_apply(s);
}

/* smtp_xforward_apply - the transaction's client is the forwarded one */

void smtp_xforward_apply(struct smtp_session *s)
{
	struct smtp_txn *t = &s->txn;

	t->xforward = s->xf.seen;
	if (!s->xf.seen) {
		t->env.client_addr = s->env_client;
		t->env.client_name = "";
		t->env.helo = s->helo;
		t->client_port = s->client_port;
		t->proto = t->ident = t->source = "";
		return;
	}
	t->env.client_addr = s->xf.addr;
	t->env.client_name = s->xf.name;
	t->env.helo = s->xf.helo;
	t->client_port = s->xf.port;
	t->proto = s->xf.proto;
	t->ident = s->xf.ident;
	t->source = s->xf.source;
}
