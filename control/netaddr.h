/*
 * netaddr.h - a numeric address and a port as a socket address
 *
 *	int netaddr_parse(const char *host, uint16_t port,
 *			struct sockaddr_storage *ss, socklen_t *len);
 *
 * DESCRIPTION
 *	Accepts a numeric IPv4 or IPv6 address (no names: nothing on the mail
 *	path waits for DNS) and fills ss and len for bind() or connect().
 *
 * DIAGNOSTICS
 *	Returns 0, or -1 with errno EINVAL when host is not numeric.
 */
#ifndef MX_NETADDR_H
#define MX_NETADDR_H

#include <stdint.h>
#include <sys/socket.h>

int netaddr_parse(const char *host, uint16_t port,
		  struct sockaddr_storage *ss, socklen_t *len);

#endif
