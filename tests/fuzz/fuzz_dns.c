/*
 * fuzz_dns.c - libFuzzer target: the DNS answer parser (control/dns.c)
 *
 *	Any datagram a resolver (or anyone spoofing it) may send: the parser
 *	must stay inside the buffer, terminate on compression loops and
 *	return well-formed results. Seeds: tests/fuzz/seeds/dns/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one datagram */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_answer a;

	if (dns_answer_parse(data, size, &a) == 0) {
		if (a.nanswers > DNS_ANSWERS_MAX || strlen(a.qname) > DNS_NAME_MAX)
			__builtin_trap();
	}
	return 0;
}
