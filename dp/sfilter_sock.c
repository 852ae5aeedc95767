/*
 * sfilter_sock.c - the sender filter's hooks in socket mode
 *
 *	See sfilter_hooks.h. A held greeting stays in the session's output;
 *	the socket is watched for input only (a pregreet client shows
 *	itself), and the worker's tick (SOCK_TICK_MS) calls the pump again
 *	to end the hold.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "evwatch.h"
#include "sfilter_hooks.h"
#include "sock_int.h"

/* sfilter_sock_open - verdict at accept, before the greeting goes */
void sfilter_sock_open(struct sock_conn *c)
{
	struct in_addr a;

	c->sf.gate = SFILTER_GATE_OPEN;
	c->sf.limited = false;
	if (c->w->sf == NULL || inet_pton(AF_INET, c->addr, &a) != 1)
		return;	/* IPv6 clients: not filtered (IPv4 lists only) */
	sfilter_open(c->w->sf, &c->sf, &c->sess, ntohl(a.s_addr), c->w->now_ms);
}

/* sfilter_sock_gate - while held: wait, go on, or refuse and close */
int sfilter_sock_gate(struct sock_conn *c)
{
	bool input = c->in_len > c->in_off;
	int g;

	if (c->sf.gate == SFILTER_GATE_OPEN || c->w->sf == NULL)
		return SFILTER_HOOK_GO;
	if (c->sf.gate == SFILTER_GATE_HOLD && !input) {
		char b;
		ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK
			       && errno != EINTR)) {
			c->sf.text_len = 0;
			return SFILTER_HOOK_CLOSE;	/* gone before the greeting */
		}
		input = n > 0;
	}
	g = sfilter_gate(c->w->sf, &c->sf, &c->sess, input, c->w->now_ms);
	if (g == SFILTER_GATE_HOLD) {
		ev_watch(c->w->epfd, c->fd, c, &c->events, EPOLLIN | EPOLLRDHUP);
		return SFILTER_HOOK_WAIT;
	}
	if (g == SFILTER_GATE_CLOSE) {
		if (c->sf.text_len)
			sock_send_last(c->w, c->fd, c->sf.text, c->sf.text_len);
		return SFILTER_HOOK_CLOSE;
	}
	return SFILTER_HOOK_GO;
}

/* sfilter_sock_close - the connection's count goes back */
void sfilter_sock_close(struct sock_conn *c)
{
	if (c->w->sf)
		sfilter_close(c->w->sf, &c->sf);
}

/* sfilter_sock_msg_done - a message's verdict, for the profiler */
void sfilter_sock_msg_done(struct sock_conn *c, const struct smtp_txn *t)
{
	if (c->w->sf)
		sfilter_msg_done(c->w->sf, &c->sf, &c->verdict, &t->env);
}

/* sfilter_sock_mail_check - smtp_ops.mail_check */
int sfilter_sock_mail_check(void *ctx, const struct smtp_txn *t,
			    struct smtp_reply *r)
{
	struct sock_conn *c = ctx;

	return c->w->sf ? sfilter_mail_check(c->w->sf, &c->sf, t, r) : 0;
}

/* sfilter_sock_rcpt_check - smtp_ops.rcpt_check */
int sfilter_sock_rcpt_check(void *ctx, const struct smtp_txn *t,
			    const struct smtp_rcpt *rcpt, struct smtp_reply *r)
{
	struct sock_conn *c = ctx;

	return c->w->sf ? sfilter_rcpt_check(c->w->sf, &c->sf, rcpt, r) : 0;
}

/* sfilter_sock_start - configuration, tables and control thread */
struct sfilter *sfilter_sock_start(const char *path, FILE *log)
{
	char err[512];
	struct sfilter *sf;

	/* one reader per possible worker: readers that never run are not
	 * waited for (their quiescent count stays 0) */
	if ((sf = sfilter_create(path, SOCK_THREADS_MAX, log, &sfilter_sorted_ops,
				 err, sizeof(err))) == NULL) {
		fprintf(stderr, "mxgate-filter: sender filter %s refused: %s\n", path, err);
		return NULL;
	}
	sfilter_set_report(sf, stderr);	/* totals when mxgate-filter stops */
	if (sfilter_thread_start(sf) < 0) {
		fprintf(stderr, "mxgate-filter: sender filter: start the control"
			" thread: %s\n", strerror(errno));
		sfilter_free(sf);
		return NULL;
	}
	return sf;
}
