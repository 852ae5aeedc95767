/*
 * sock_nets.h - a short list of networks, for per-client options
 *
 *	int sock_nets_parse(struct sock_nets *nl, const char *spec,
 *			char *err, size_t errlen);
 *	bool sock_nets_match(const struct sock_nets *nl, const char *addr);
 *
 * DESCRIPTION
 *	sock_nets_parse() takes "CIDR[,CIDR...]" (IPv4 a.b.c.d/len or IPv6
 *	addr/len; a bare address is a host) or "none" (an empty list), at
 *	most SOCK_NETS_MAX networks. sock_nets_match() says whether the
 *	numeric address addr (as accept() gave it; an IPv4-mapped IPv6
 *	address counts as IPv4) is in one of them. The list is read-only
 *	once parsed, so every worker thread may match against it.
 *
 * DIAGNOSTICS
 *	sock_nets_parse() returns -1 with a message in err on a malformed
 *	network or too many; the list is then empty.
 */
#ifndef MX_SOCK_NETS_H
#define MX_SOCK_NETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOCK_NETS_MAX	32	/* networks in one list */

struct sock_net {
	int family;		/* AF_INET or AF_INET6 */
	unsigned len;		/* prefix length */
	uint8_t addr[16];	/* network, host bits cleared */
};

struct sock_nets {
	unsigned n;
	struct sock_net net[SOCK_NETS_MAX];
};

int sock_nets_parse(struct sock_nets *nl, const char *spec, char *err,
		    size_t errlen);
bool sock_nets_match(const struct sock_nets *nl, const char *addr);

#endif
