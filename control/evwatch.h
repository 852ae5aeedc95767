/*
 * evwatch.h - keep an epoll registration in step with what a socket waits for
 *
 *	static inline void ev_watch(int epfd, int fd, void *ptr,
 *			uint32_t *cur, uint32_t want);
 *
 * DESCRIPTION
 *	Changes fd's epoll events to want (EPOLL_CTL_MOD) only when they differ
 *	from *cur, the events last set, and records them; a failed change
 *	leaves *cur as it was so that the next call tries again. Used by the
 *	relay's client sockets and the socket-mode server's sessions.
 */
#ifndef MX_EVWATCH_H
#define MX_EVWATCH_H

#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>

/* ev_watch - set fd's epoll events to want if they changed */
static inline void ev_watch(int epfd, int fd, void *ptr, uint32_t *cur,
			    uint32_t want)
{
	struct epoll_event ev;

	if (want == *cur)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = ptr;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		*cur = want;
}

#endif
