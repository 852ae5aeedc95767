/*
 * relay_xforward.c - the XFORWARD commands of one transaction
 *
 *	size_t relay_xforward_line(const struct relay_conn *c, size_t want,
 *			char *line, size_t size);
 *
 * DESCRIPTION
 *	Postfix's XFORWARD (XFORWARD_README) tells the downstream who the
 *	client was (ADDR, NAME, PORT, HELO, PROTO), whether the up-stream MTA
 *	made the mail itself (SOURCE=LOCAL) or got it from the network
 *	(REMOTE, also for every client of our own), and which queue id to
 *	log as orig_queue_id= (IDENT: the up-stream's, else ours). Only the
 *	attributes the downstream announced in its EHLO reply are sent.
 *
 *	Each value is xtext (RFC 3461) of at most RELAY_XFORWARD_ATTR_MAX
 *	bytes as sent (note 1 of the README; Postfix's smtpd and ours refuse
 *	longer ones), cut before a character whose encoding would not fit;
 *	the attributes are packed, in a fixed order, into as few commands of
 *	at most RELAY_CMD_LINE_MAX bytes with the CRLF as fit (note 2).
 *
 *	relay_xforward_line() renders command want (from 0) into line, when
 *	line is not NULL, and returns how many commands the transaction of
 *	c->job needs (0: none). The rendering is the same on every call, so
 *	the caller counts first and renders each command as it sends it.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "relay_int.h"

/* xtext_value - RFC 3461 xtext of val, as XFORWARD wants its values: at
 * most RELAY_XFORWARD_ATTR_MAX bytes as sent, cut before a character
 * whose encoding would not fit whole; "" is "[UNAVAILABLE]" */
static void xtext_value(char *dst, size_t size, const char *val)
{
	size_t n = 0, max = size - 1;

	if (max > RELAY_XFORWARD_ATTR_MAX)
		max = RELAY_XFORWARD_ATTR_MAX;
	if (!*val) {
		snprintf(dst, size, "[UNAVAILABLE]");
		return;
	}
	for (; *val; val++) {
		unsigned char ch = (unsigned char)*val;
		int plain = ch >= 33 && ch <= 126 && ch != '+' && ch != '=';

		if (n + (plain ? 1 : 3) > max)
			break;
		if (plain)
			dst[n++] = (char)ch;
		else
			n += (size_t)snprintf(dst + n, size - n, "+%02X", ch);
	}
	dst[n] = 0;
}

/* xforward_attr - attribute k of RELAY_XFORWARD_ATTRS as "NAME=xtext";
 * 0 when it is not sent (not announced, or nothing to say) */
static int xforward_attr(const struct relay_conn *c, int k, char *buf,
			 size_t size)
{
	const struct relay_job *j = c->job;
	const struct relay_caps *caps = &c->caps;
	const char *name, *val;
	char port[8];
	int n;

	switch (k) {
	case 0:
		if (!caps->xf_addr)
			return 0;
		name = "ADDR", val = j->client_addr;
		break;
	case 1:
		if (!caps->xf_name)
			return 0;
		name = "NAME", val = j->client_name;
		break;
	case 2:
		if (!caps->xf_port || !j->client_port)
			return 0;
		snprintf(port, sizeof(port), "%u", j->client_port);
		name = "PORT", val = port;
		break;
	case 3:
		if (!caps->xf_proto)
			return 0;
		name = "PROTO", val = j->proto[0] ? j->proto : "ESMTP";
		break;
	case 4:
		/* a client of our own is remote; only the up-stream MTA can
		 * say that it made the mail itself */
		if (!caps->xf_source)
			return 0;
		name = "SOURCE";
		val = strcasecmp(j->source, "LOCAL") == 0 ? "LOCAL" : "REMOTE";
		break;
	case 5:
		if (!caps->xf_ident || !j->ident[0])
			return 0;
		name = "IDENT", val = j->ident;
		break;
	case 6:
		if (!caps->xf_helo)
			return 0;
		name = "HELO", val = j->helo;
		break;
	default:
		return 0;
	}
	n = snprintf(buf, size, "%s=", name);
	xtext_value(buf + n, size - (size_t)n, val);
	return 1;
}

/* relay_xforward_line - render XFORWARD command want; count them */
size_t relay_xforward_line(const struct relay_conn *c, size_t want,
			   char *line, size_t size)
{
	char attr[RELAY_XFORWARD_ATTR_MAX + 16], cur[RELAY_CMD_LINE_MAX + 1];
	size_t nlines = 0, len = 0, alen;
	int k;

	for (k = 0; k <= RELAY_XFORWARD_ATTRS; k++) {
		int last = k == RELAY_XFORWARD_ATTRS;
		int more = !last && xforward_attr(c, k, attr, sizeof(attr));

		if (!more && !last)
			continue;	/* not announced: the next one */
		alen = more ? strlen(attr) : 0;
		if (len && (last || len + 1 + alen + 2 > RELAY_CMD_LINE_MAX)) {
			if (line && nlines == want)
				snprintf(line, size, "%s", cur);
			nlines++;
			len = 0;
		}
		if (last)
			break;
		if (len == 0)
			len = (size_t)snprintf(cur, sizeof(cur), "XFORWARD");
		cur[len++] = ' ';
		memcpy(cur + len, attr, alen);
		len += alen;
		cur[len] = 0;
	}
	return nlines;
}
