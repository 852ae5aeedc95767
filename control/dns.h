/*
 * dns.h - the little DNS client the DNSBL lookups need: A queries only
 *
 *	int dns_reverse_name(uint32_t addr, const char *zone, char *out,
 *			size_t outlen);
 *	int dns_query_build(uint8_t *buf, size_t cap, uint16_t id,
 *			const char *name);
 *	int dns_answer_parse(const uint8_t *buf, size_t len,
 *			struct dns_answer *out);
 *
 * DESCRIPTION
 *	dns_reverse_name() writes "d.c.b.a.zone" for a.b.c.d (the DNSBL
 *	convention, RFC 5782 section 2.1). dns_query_build() writes one
 *	query (RD set, QTYPE A, QCLASS IN) and returns its length.
 *
 *	dns_answer_parse() reads a response with strict bounds: every
 *	length and pointer is checked against the datagram, compression
 *	pointers may only point backwards and at most DNS_PTR_HOPS times
 *	per name, names longer than DNS_NAME_MAX are refused. It returns
 *	the id, the response code, the question name (lower case, for the
 *	caller to match against what it asked) and up to DNS_ANSWERS_MAX
 *	IN A addresses with the smallest TTL among them. Other record types
 *	(CNAME, TXT) are skipped.
 *
 * DIAGNOSTICS
 *	-1 for a name or buffer that does not fit, or a malformed response.
 */
#ifndef MX_CONTROL_DNS_H
#define MX_CONTROL_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX		255	/* RFC 1035 2.3.4, text form */
#define DNS_LABEL_MAX		63
#define DNS_ANSWERS_MAX		8	/* A records kept per response */
#define DNS_PTR_HOPS		16	/* compression pointers per name */
#define DNS_UDP_MAX		512	/* RFC 1035 2.3.4 without EDNS */
#define DNS_HEADER_LEN		12

#define DNS_RCODE_NOERROR	0
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_NXDOMAIN	3

struct dns_answer {
	uint16_t id;
	int rcode;
	unsigned nanswers;
	uint32_t a[DNS_ANSWERS_MAX];	/* host byte order */
	uint32_t ttl;			/* smallest TTL of those */
	char qname[DNS_NAME_MAX + 1];
};

int dns_reverse_name(uint32_t addr, const char *zone, char *out, size_t outlen);
int dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name);
int dns_answer_parse(const uint8_t *buf, size_t len, struct dns_answer *out);

#endif
