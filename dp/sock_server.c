/*
 * sock_server.c - kernel-socket transport: threads, sockets, sessions
 *
 *	See sock.h. One thread per core; each owns a SO_REUSEPORT listener,
 *	an epoll instance over its listener, its client sockets and its
 *	relay pool's epoll descriptor, and a fixed array of connections.
 *
 *	sock_conn_pump() moves bytes between a socket and its session until
 *	neither can make progress: read what the session can take (a session
 *	waiting for a verdict takes nothing, and then we stop reading, so the
 *	kernel's receive window closes on the client: TCP backpressure),
 *	write what it answered, close when it is done.
 *
 *	Stopping: the listener is closed, messages already with delivery
 *	get up to SOCK_SHUTDOWN_WAIT_MS to be answered (the client sees the
 *	downstream's reply), then every session is told 421 4.3.2 and closed;
 *	one whose message is still in delivery is first answered 451 4.3.2
 *	(not handed on: it retries), never left without a reply.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctlplane.h"
#include "evwatch.h"
#include "netaddr.h"
#include "rules_sock.h"
#include "sock_int.h"
#include "sfilter_hooks.h"

#define SOCK_EVENTS_BATCH	128
#define SOCK_TICK_MS		200	/* timer resolution for timeouts */
#define SOCK_SHUTDOWN_WAIT_MS	10000	/* stop: wait for messages in delivery */

/* sock_now_ms - monotonic milliseconds */
uint64_t sock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* sock_config_default - 127.0.0.1:10025, relay to :10026 */
void sock_config_default(struct sock_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen, sizeof(cfg->listen), "%s", SOCK_LISTEN_DEFAULT);
	cfg->port = SOCK_PORT_DEFAULT;
	cfg->max_conns = SOCK_CONNS_DEFAULT;
	cfg->mem_max = SOCK_MEM_DEFAULT;
	smtp_config_defaults(&cfg->smtp);
	relay_config_default(&cfg->relay);
	cfg->log_diag = stderr;
	sock_nets_parse(&cfg->xforward_nets, SOCK_XFORWARD_NETS_DEFAULT, NULL, 0);
}

/* conn_interest - epoll: read only when the session can take bytes */
static void conn_interest(struct sock_conn *c)
{
	const uint8_t *p;
	uint32_t want = 0;

	if (smtp_session_readable(&c->sess) && c->in_len < sizeof(c->in))
		want |= EPOLLIN | EPOLLRDHUP;
	if (smtp_session_output(&c->sess, &p) > 0)
		want |= EPOLLOUT;
	ev_watch(c->w->epfd, c->fd, c, &c->events, want);
}

/* conn_close - the socket is done; the slot waits for delivery */
static void conn_close(struct sock_conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(c->w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
		smtp_session_fini(&c->sess);
		sfilter_sock_close(c);
		sock_tls_release(c);
	}
	if (!c->delivering) {
		sock_msg_release(c);
		c->in_use = false;
		c->w->nconns--;
		if (c->w->cfg->stats)
			c->w->cfg->stats[c->w->id].conns = c->w->nconns;
	}
}

/* sock_send_last - a last line to a client that is being closed (no
 * session output path: refusals, 421, 451), counted with tx_bytes;
 * best effort, it is going away */
void sock_send_last(struct sock_worker *w, int fd, const char *text, size_t len)
{
	ssize_t k = send(fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (k > 0 && w->cfg->stats)
		w->cfg->stats[w->id].tx_bytes += (uint64_t)k;
}

/* conn_write - send what the session has to say */
static int conn_write(struct sock_conn *c)
{
	const uint8_t *p;
	size_t n;

	while ((n = smtp_session_output(&c->sess, &p)) > 0) {
		ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (k < 0)
			return -1;
		if (c->w->cfg->stats)
			c->w->cfg->stats[c->w->id].tx_bytes += (uint64_t)k;
		smtp_session_output_done(&c->sess, (size_t)k);
	}
	return 0;
}

/* pump - move bytes until nothing moves; close when done */
static void pump(struct sock_conn *c)
{
	struct sock_worker *w = c->w;
	int eof = 0;

	if (c->fd < 0) {
		if (!c->delivering && c->in_use)
			conn_close(c);
		return;
	}
	switch (sfilter_sock_gate(c)) {
	case SFILTER_HOOK_WAIT:
		return;
	case SFILTER_HOOK_CLOSE:
		conn_close(c);
		return;
	}
	if (c->tls_engaged) {
		if (sock_tls_pump(c) < 0)
			conn_close(c);
		return;
	}
	for (;;) {
		size_t took = 0;

		if (c->in_off < c->in_len) {
			took = smtp_session_input(&c->sess, c->in + c->in_off,
						  c->in_len - c->in_off, w->now_ms);
			c->in_off += took;
			if (c->in_off == c->in_len)
				c->in_off = c->in_len = 0;
		}
		if (conn_write(c) < 0) {
			conn_close(c);
			return;
		}
		if (sock_tls_engage(c)) {
			/* the 220 is out: nothing more is read in plaintext */
			if (sock_tls_pump(c) < 0)
				conn_close(c);
			return;
		}
		if (smtp_session_closing(&c->sess)) {
			const uint8_t *p;

			if (smtp_session_output(&c->sess, &p) == 0) {
				conn_close(c);
				return;
			}
			break;	/* wait for EPOLLOUT to drain the last reply */
		}
		if (took)
			continue;
		if (!smtp_session_readable(&c->sess) || eof)
			break;
		/* compact and read more */
		if (c->in_off) {
			memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
			c->in_len -= c->in_off;
			c->in_off = 0;
		}
		if (c->in_len == sizeof(c->in))
			break;
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len,
				 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			eof = 1;
			if (c->in_off == c->in_len) {
				conn_close(c);	/* fini tells the session why */
				return;
			}
			continue;	/* let the session take what is left */
		}
		if (w->cfg->stats)
			w->cfg->stats[w->id].rx_bytes += (uint64_t)n;
		c->in_len += (size_t)n;
	}
	if (eof) {
		conn_close(c);
		return;
	}
	conn_interest(c);
}

/* sock_conn_pump - pump, but never inside itself: a verdict given at
 * once (reject, discard) arrives while the session is still taking input,
 * and the outer pump carries on with it */
void sock_conn_pump(struct sock_conn *c)
{
	if (c->pumping)
		return;
	c->pumping = true;
	pump(c);
	c->pumping = false;
}

/* accept_all - take every pending connection */
static void accept_all(struct sock_worker *w)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct epoll_event ev;
		struct sock_conn *c = NULL;
		unsigned i;
		int fd, one = 1;

		fd = accept4(w->lfd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		for (i = 0; i < w->cfg->max_conns; i++)
			if (!w->conns[i].in_use) {
				c = &w->conns[i];
				break;
			}
		if (c == NULL) {
			static const char busy[] =
				"421 4.3.2 too many connections, try again later\r\n";
			sock_send_last(w, fd, busy, sizeof(busy) - 1);
			if (w->cfg->stats)
				w->cfg->stats[w->id].sessions_refused++;
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		memset(c, 0, offsetof(struct sock_conn, in));
		c->w = w;
		c->fd = fd;
		c->in_use = true;
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, c->addr, sizeof(c->addr));
			c->port = ntohs(s6->sin6_port);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, c->addr, sizeof(c->addr));
			c->port = ntohs(s4->sin_port);
		}
		memset(&c->buf, 0, sizeof(c->buf));
		memset(&c->verdict, 0, sizeof(c->verdict));
		c->em = NULL;
		w->nconns++;
		if (w->cfg->stats) {
			w->cfg->stats[w->id].sessions++;
			w->cfg->stats[w->id].conns = w->nconns;
		}
		if (smtp_session_init(&c->sess, &w->cfg->smtp, &sock_smtp_ops, c,
				      c->addr, c->port, w->now_ms) < 0) {
			close(fd);
			c->in_use = false;
			w->nconns--;
			continue;
		}
		sock_tls_policy(c);
		smtp_session_xforward_policy(&c->sess,
			sock_nets_match(&w->cfg->xforward_nets, c->addr));
		sfilter_sock_open(c);
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLOUT;
		ev.data.ptr = c;
		c->events = EPOLLOUT;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			c->fd = -1;
			close(fd);
			smtp_session_fini(&c->sess);
			c->in_use = false;
			w->nconns--;
			continue;
		}
		sock_conn_pump(c);
	}
}

/* tick - session timeouts */
static void tick(struct sock_worker *w)
{
	unsigned i;

	for (i = 0; i < w->cfg->max_conns; i++) {
		struct sock_conn *c = &w->conns[i];

		if (!c->in_use || c->fd < 0)
			continue;
		if (smtp_session_deadline(&c->sess) <= w->now_ms) {
			smtp_session_tick(&c->sess, w->now_ms);
			sock_conn_pump(c);
		} else if (c->sf.gate != SFILTER_GATE_OPEN) {
			sock_conn_pump(c);	/* greeting held */
		}
	}
}

/* listen_socket - this thread's SO_REUSEPORT listener */
static int listen_socket(const struct sock_config *cfg)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	if (netaddr_parse(cfg->listen, cfg->port, &ss, &sl) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0
	    || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0
	    || bind(fd, (struct sockaddr *)&ss, sl) < 0
	    || listen(fd, SOCK_BACKLOG) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* shutdown_sessions - 421 and close; with !all only the sessions that
 * owe their client nothing (no message in delivery, replies all sent) */
static void shutdown_sessions(struct sock_worker *w, bool all)
{
	static const char bye[] = "421 4.3.2 mxgate shutting down, try again later\r\n";
	static const char unanswered[] = "451 4.3.2 shutting down before the downstream"
		" answered, try again later\r\n";
	unsigned i;

	for (i = 0; i < w->cfg->max_conns; i++) {
		struct sock_conn *c = &w->conns[i];

		const uint8_t *p;

		if (!c->in_use || c->fd < 0)
			continue;
		if (!all && (c->delivering || smtp_session_output(&c->sess, &p) > 0))
			continue;
		if (sock_tls_bye(c, c->delivering ? unanswered : NULL, bye)) {
			conn_close(c);	/* said in TLS, with close_notify */
			continue;
		}
		if (c->delivering)	/* still no 250: it retries */
			sock_send_last(c->w, c->fd, unanswered, sizeof(unanswered) - 1);
		sock_send_last(c->w, c->fd, bye, sizeof(bye) - 1);
		conn_close(c);	/* a message in delivery is released when
				 * delivery_free() fails it */
	}
}

/* worker_events - one epoll round: accept, sessions, relay, timeouts */
static void worker_events(struct sock_worker *w, uint64_t *next_tick)
{
	struct epoll_event evs[SOCK_EVENTS_BATCH];
	int n = epoll_wait(w->epfd, evs, SOCK_EVENTS_BATCH, SOCK_TICK_MS);

	if (w->sf)
		sfilter_quiesce(w->sf);
	if (w->cfg->rules_swap != NULL)	/* a quiescent point: between events */
		rules_sock_quiesce(w->cfg->rules_swap, w->id, w->engine);
	w->now_ms = sock_now_ms();
	for (int i = 0; i < n; i++) {
		void *p = evs[i].data.ptr;

		if (p == w)
			accept_all(w);
		else if (p == w->delivery)
			delivery_run(w->delivery, w->now_ms);
		else
			sock_conn_pump(p);
	}
	delivery_run(w->delivery, w->now_ms);
	if (w->cfg->stats)
		w->cfg->stats[w->id].relay_queued = delivery_queued(w->delivery);
	sock_tls_worker_tick(w);
	if (w->now_ms >= *next_tick) {
		tick(w);
		*next_tick = w->now_ms + SOCK_TICK_MS;
	}
}

/* deliveries_out - sessions whose message delivery still holds */
static unsigned deliveries_out(const struct sock_worker *w)
{
	unsigned i, n = 0;

	for (i = 0; i < w->cfg->max_conns; i++)
		if (w->conns[i].in_use && w->conns[i].delivering)
			n++;
	return n;
}

/* worker_main - one thread's event loop, then the bounded drain */
static void *worker_main(void *arg)
{
	struct sock_worker *w = arg;
	uint64_t next_tick = 0, end;

	/* atomic: a signal handler on another thread sets it (TSan) */
	while (!__atomic_load_n(w->stop, __ATOMIC_RELAXED))
		worker_events(w, &next_tick);
	/* No more clients (closing resets those still in the backlog);
	 * messages already in delivery get their answer. */
	close(w->lfd);
	w->lfd = -1;
	end = sock_now_ms() + SOCK_SHUTDOWN_WAIT_MS;
	shutdown_sessions(w, false);
	while (deliveries_out(w) > 0 && sock_now_ms() < end) {
		worker_events(w, &next_tick);
		shutdown_sessions(w, false);
	}
	shutdown_sessions(w, true);
	return NULL;
}

/* worker_init - everything a thread owns, made before it starts */
static int worker_init(struct sock_worker *w, const struct sock_config *cfg)
{
	struct epoll_event ev;

	w->cfg = cfg;
	w->lfd = w->epfd = -1;
	w->sf = cfg->sfilter ? sfilter_reader(cfg->sfilter, w->id) : NULL;
	if ((w->lfd = listen_socket(cfg)) < 0) {
		fprintf(cfg->log_diag, "mxgate-filter: cannot listen on %s:%u: %s\n",
			cfg->listen, cfg->port, strerror(errno));
		return -1;
	}
	if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0
	    || (w->conns = calloc(cfg->max_conns, sizeof(*w->conns))) == NULL) {
		fprintf(cfg->log_diag, "mxgate-filter: worker %u: %s\n", w->id,
			strerror(errno));
		return -1;
	}
	if ((w->engine = engine_worker_new(cfg->rules)) == NULL) {
		fprintf(cfg->log_diag, "mxgate-filter: worker %u: cannot set up the"
			" engine: %s\n", w->id, strerror(errno));
		return -1;
	}
	if ((w->delivery = delivery_new(&cfg->delivery, &cfg->relay)) == NULL) {
		fprintf(cfg->log_diag, "mxgate-filter: worker %u: cannot set up the"
			" relay: %s\n", w->id, strerror(errno));
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = w;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->lfd, &ev) < 0)
		return -1;
	ev.data.ptr = w->delivery;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, delivery_fd(w->delivery), &ev) < 0)
		return -1;
	for (unsigned i = 0; i < cfg->max_conns; i++)
		w->conns[i].fd = -1;
	return sock_tls_worker_init(w);
}

/* worker_fini - release what worker_init made */
static void worker_fini(struct sock_worker *w)
{
	delivery_free(w->delivery);
	sock_tls_worker_fini(w);
	engine_worker_free(w->engine);
	free(w->conns);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->lfd >= 0)
		close(w->lfd);
}

/* sock_run - start the threads, wait for *stop, stop them */
int sock_run(const struct sock_config *cfg, volatile int *stop)
{
	unsigned n = cfg->threads ? cfg->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	struct sock_worker *ws;
	pthread_t tids[SOCK_THREADS_MAX];
	unsigned i, started = 0;
	int rc = 0;

	if (n == 0)
		n = 1;
	if (n > SOCK_THREADS_MAX)
		n = SOCK_THREADS_MAX;
	if ((ws = calloc(n, sizeof(*ws))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		ws[i].id = i;
		ws[i].stop = stop;
		ws[i].now_ms = sock_now_ms();
		if (worker_init(&ws[i], cfg) < 0) {
			rc = -1;
			n = i + 1;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		if (pthread_create(&tids[i], NULL, worker_main, &ws[i]) != 0) {
			fprintf(cfg->log_diag, "mxgate-filter: cannot start thread %u\n", i);
			__atomic_store_n(stop, 1, __ATOMIC_RELAXED);
			rc = -1;
			break;
		}
		started++;
	}
	fprintf(cfg->log_diag, "mxgate-filter: listening on %s:%u with %u thread%s,"
		" relaying to %s:%u\n", cfg->listen, cfg->port, started,
		started == 1 ? "" : "s", cfg->relay.host, cfg->relay.port);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
out:
	for (i = 0; i < n; i++)
		worker_fini(&ws[i]);
	free(ws);
	return rc;
}
