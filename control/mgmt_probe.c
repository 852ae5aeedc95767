/*
 * mgmt_probe.c - is the downstream MTA there? (for status and /metrics)
 *
 *	int mgmt_probe_downstream(struct ctlplane *cp);
 *
 * DESCRIPTION
 *	When the daemon's relay_state hook cannot say whether the downstream
 *	answers (reachable -1), the management thread asks it itself: a TCP
 *	connection to the relay address, its 220 greeting read, QUIT, within
 *	MGMT_PROBE_TIMEOUT_MS. The answer is kept MGMT_PROBE_CACHE_MS so that
 *	a scraping Prometheus does not become the downstream's busiest
 *	client. Returns 1 (greeted with 2xx), 0 (refused, silent, or not
 *	2xx) or -1 (no relay address known).
 *
 * DIAGNOSTICS
 *	None; the answer is the diagnosis.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mgmt.h"

#define MGMT_PROBE_TIMEOUT_MS	1000
#define MGMT_PROBE_CACHE_MS	10000

/* mono_ms - monotonic milliseconds */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* wait_fd - poll one direction until the probe's deadline */
static int wait_fd(int fd, short ev, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	uint64_t now = mono_ms();

	if (now >= deadline)
		return -1;
	return poll(&p, 1, (int)(deadline - now)) == 1 ? 0 : -1;
}

/* probe - connect, read the greeting, QUIT */
static int probe(const char *host, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	uint64_t deadline = mono_ms() + MGMT_PROBE_TIMEOUT_MS;
	char buf[512];
	ssize_t n;
	int fd, err = 0, up = 0;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)
		goto out;
	sl = sizeof(err);
	if (wait_fd(fd, POLLOUT, deadline) < 0
	    || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0 || err)
		goto out;
	if (wait_fd(fd, POLLIN, deadline) < 0 || (n = recv(fd, buf, sizeof(buf) - 1, 0)) < 4)
		goto out;
	buf[n] = 0;
	up = buf[0] == '2';
	if (send(fd, "QUIT\r\n", 6, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		(void)0;	/* the answer is known already */
out:
	close(fd);
	return up;
}

/* mgmt_probe_downstream - cached reachability of the relay address */
int mgmt_probe_downstream(struct ctlplane *cp)
{
	static uint64_t when;
	static int last = -1;
	uint64_t now = mono_ms();

	if (!cp->cfg.relay_host || !cp->cfg.relay_port)
		return -1;
	/* one management thread per process: the cache needs no lock */
	if (last >= 0 && now - when < MGMT_PROBE_CACHE_MS)
		return last;
	last = probe(cp->cfg.relay_host, cp->cfg.relay_port);
	when = now;
	return last;
}
