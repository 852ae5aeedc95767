/*
 * dns.c - build A queries, parse their answers with strict bounds
 *
 *	See dns.h. RFC 1035 sections 4.1 (message format) and 4.1.4
 *	(compression).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dns.h"

#define DNS_TYPE_A	1
#define DNS_CLASS_IN	1
#define DNS_FLAG_QR	0x8000
#define DNS_FLAG_RD	0x0100
#define DNS_OPCODE_MASK	0x7800
#define DNS_RCODE_MASK	0x000f
#define DNS_PTR_MASK	0xc0
#define DNS_RR_FIXED	10	/* type, class, ttl, rdlength */
#define DNS_Q_FIXED	4	/* qtype, qclass */
#define DNS_A_LEN	4

/* get16 - big-endian 16 bits */
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* get32 - big-endian 32 bits */
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* dns_reverse_name - d.c.b.a.zone */
int dns_reverse_name(uint32_t addr, const char *zone, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%u.%u.%u.%u.%s", addr & 255, addr >> 8 & 255,
			 addr >> 16 & 255, addr >> 24, zone);

	return n < 0 || (size_t)n >= outlen || n > DNS_NAME_MAX ? -1 : 0;
}

/* dns_query_build - header, one question (name, A, IN) */
int dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name)
{
	size_t pos = DNS_HEADER_LEN, nlen = strlen(name);
	const char *p = name;

	if (nlen == 0 || nlen > DNS_NAME_MAX
	    || cap < DNS_HEADER_LEN + nlen + 2 + DNS_Q_FIXED)
		return -1;
	memset(buf, 0, DNS_HEADER_LEN);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = DNS_FLAG_RD >> 8;
	buf[5] = 1;		/* qdcount */
	while (*p) {
		size_t l = strcspn(p, ".");

		if (l == 0 || l > DNS_LABEL_MAX)
			return -1;
		buf[pos++] = (uint8_t)l;
		memcpy(buf + pos, p, l);
		pos += l;
		p += l;
		if (*p == '.')
			p++;
	}
	buf[pos++] = 0;
	buf[pos++] = 0;
	buf[pos++] = DNS_TYPE_A;
	buf[pos++] = 0;
	buf[pos++] = DNS_CLASS_IN;
	return (int)pos;
}

/* name_read - a possibly compressed name at *pos; text into out (may be
 * NULL); *pos moves past the name as it sits in the record */
static int name_read(const uint8_t *buf, size_t len, size_t *pos, char *out)
{
	size_t p = *pos, olen = 0, end = 0;
	unsigned hops = 0;
	bool jumped = false;

	for (;;) {
		uint8_t l;

		if (p >= len)
			return -1;
		l = buf[p];
		if ((l & DNS_PTR_MASK) == DNS_PTR_MASK) {
			size_t target;

			if (p + 1 >= len || ++hops > DNS_PTR_HOPS)
				return -1;
			target = (size_t)(l & ~DNS_PTR_MASK) << 8 | buf[p + 1];
			if (target >= p)
				return -1;	/* only backwards: no loops */
			if (!jumped)
				end = p + 2;
			jumped = true;
			p = target;
			continue;
		}
		if (l & DNS_PTR_MASK)
			return -1;	/* 0x40, 0x80: extended labels, refused */
		if (l == 0) {
			if (!jumped)
				end = p + 1;
			break;
		}
		if (p + 1 + l > len || olen + l + 1 > DNS_NAME_MAX)
			return -1;
		if (out) {
			if (olen)
				out[olen++] = '.';
			for (size_t i = 0; i < l; i++)
				out[olen++] = (char)tolower(buf[p + 1 + i]);
		} else {
			olen += l + 1;
		}
		p += 1 + (size_t)l;
	}
	if (out)
		out[olen] = 0;
	*pos = end;
	return 0;
}

/* dns_answer_parse - id, rcode, question name, A records */
int dns_answer_parse(const uint8_t *buf, size_t len, struct dns_answer *out)
{
	uint16_t flags, qd, an;
	size_t pos = DNS_HEADER_LEN;
	unsigned i;

	memset(out, 0, sizeof(*out));
	if (len < DNS_HEADER_LEN)
		return -1;
	out->id = get16(buf);
	flags = get16(buf + 2);
	qd = get16(buf + 4);
	an = get16(buf + 6);
	if (!(flags & DNS_FLAG_QR) || (flags & DNS_OPCODE_MASK) || qd != 1)
		return -1;
	out->rcode = flags & DNS_RCODE_MASK;
	if (name_read(buf, len, &pos, out->qname) < 0 || pos + DNS_Q_FIXED > len)
		return -1;
	if (get16(buf + pos) != DNS_TYPE_A || get16(buf + pos + 2) != DNS_CLASS_IN)
		return -1;
	pos += DNS_Q_FIXED;
	out->ttl = UINT32_MAX;
	for (i = 0; i < an; i++) {
		uint16_t type, class, rdlen;
		uint32_t ttl;

		if (name_read(buf, len, &pos, NULL) < 0 || pos + DNS_RR_FIXED > len)
			return -1;
		type = get16(buf + pos);
		class = get16(buf + pos + 2);
		ttl = get32(buf + pos + 4);
		rdlen = get16(buf + pos + 8);
		pos += DNS_RR_FIXED;
		if (pos + rdlen > len)
			return -1;
		if (type == DNS_TYPE_A && class == DNS_CLASS_IN) {
			if (rdlen != DNS_A_LEN)
				return -1;
			if (out->nanswers < DNS_ANSWERS_MAX) {
				out->a[out->nanswers++] = get32(buf + pos);
				if (ttl > INT32_MAX)
					ttl = 0;	/* RFC 2181 8: treat as zero */
				if (ttl < out->ttl)
					out->ttl = ttl;
			}
		}
		pos += rdlen;
	}
	if (out->nanswers == 0)
		out->ttl = 0;
	return 0;
}
