/*
 * sock_nets.c - a short list of networks, for per-client options
 *
 *	See sock_nets.h. A linear scan: the lists are a handful of entries
 *	(SOCK_NETS_MAX) and are matched once per connection, not per packet.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sock_nets.h"

#define SOCK_NETS_SPEC_MAX	1024	/* the whole option value */

/* prefix_equal - the first len bits of a and b agree */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* net_parse - one "addr[/len]" */
static int net_parse(struct sock_net *net, char *tok)
{
	char *slash = strchr(tok, '/'), *end;
	unsigned max, i;
	long len;

	if (slash)
		*slash = 0;
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, tok, net->addr) == 1) {
		net->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tok, net->addr) == 1) {
		net->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	len = max;
	if (slash) {
		len = strtol(slash + 1, &end, 10);
		if (slash[1] == 0 || *end || len < 0 || len > (long)max)
			return -1;
	}
	net->len = (unsigned)len;
	for (i = net->len; i < max; i++)	/* clear the host bits */
		net->addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return 0;
}

/* sock_nets_parse - "CIDR[,CIDR...]" or "none" */
int sock_nets_parse(struct sock_nets *nl, const char *spec, char *err,
		    size_t errlen)
{
	char buf[SOCK_NETS_SPEC_MAX], *tok, *save = NULL;

	nl->n = 0;
	if (strcasecmp(spec, "none") == 0)
		return 0;
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "network list longer than %d characters",
			 SOCK_NETS_SPEC_MAX - 1);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ", \t", &save); tok;
	     tok = strtok_r(NULL, ", \t", &save)) {
		char shown[64];

		snprintf(shown, sizeof(shown), "%s", tok);
		if (nl->n == SOCK_NETS_MAX || net_parse(&nl->net[nl->n], tok) < 0) {
			nl->n = 0;
			snprintf(err, errlen, "'%s' is not a network a.b.c.d/len or"
				 " v6addr/len (at most %d networks)", shown,
				 SOCK_NETS_MAX);
			return -1;
		}
		nl->n++;
	}
	return 0;
}

/* sock_nets_match - addr is in one of the networks */
bool sock_nets_match(const struct sock_nets *nl, const char *addr)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					      0xff, 0xff };
	uint8_t a4[4], a6[16];
	bool is4 = false, is6 = false;
	unsigned i;

	if (nl == NULL || nl->n == 0 || addr == NULL)
		return false;
	if (inet_pton(AF_INET, addr, a4) == 1) {
		is4 = true;
	} else if (inet_pton(AF_INET6, addr, a6) == 1) {
		is6 = true;
		if (memcmp(a6, v4mapped, sizeof(v4mapped)) == 0) {
			memcpy(a4, a6 + 12, 4);
			is4 = true;
		}
	}
	for (i = 0; i < nl->n; i++) {
		const struct sock_net *net = &nl->net[i];

		if (net->family == AF_INET && is4
		    && prefix_equal(net->addr, a4, net->len))
			return true;
		if (net->family == AF_INET6 && is6
		    && prefix_equal(net->addr, a6, net->len))
			return true;
	}
	return false;
}
