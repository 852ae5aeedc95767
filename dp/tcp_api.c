/*
 * tcp_api.c - calls the application makes on its connections
 *
 *   size_t tcp_send(c, buf, len);	copy into the send ring
 *   size_t tcp_send_space(c);
 *   size_t tcp_recv(c, buf, len);	copy out and consume
 *   size_t tcp_peek(c, iov[2]);	zero-copy view of readable bytes
 *   void tcp_consume(c, n);		opens the receive window
 *   void tcp_shutdown(c);		FIN after queued data
 *   void tcp_close(c);			shutdown and detach (RST if unread)
 *   void tcp_abort(c);			RST now
 *   void tcp_conn_peer(c, &addr, &port), tcp_conn_local(...);
 *   void tcp_conn_set_app(c, app_conn);
 *   enum tcp_state tcp_conn_state(c);
 *
 * Nothing here transmits directly: the conn is queued and tcp_flush (run
 * after each burst and by tcp_timers_run) sends, so a reply written in a
 * data callback leaves in the same segment as the ACK for the request.
 * The receive window is exactly the ring space the app has not consumed:
 * a slow app shrinks the window and the peer waits (backpressure).
 *
 * Diagnostics: tcp_send returns 0 on a conn that can no longer send.
 */

#include <string.h>

#include "tcp_int.h"

/* can_send - states in which the app may queue data */
static int
can_send(const struct tcp_conn *c)
{
    return ((c->state == TCP_ST_ESTABLISHED || c->state == TCP_ST_CLOSE_WAIT)
	    && !(c->flags & (TCF_FIN_QUEUED | TCF_DEAD)));
}

/* tcp_send_space - free bytes in the send ring */
size_t
tcp_send_space(const struct tcp_conn *c)
{
    uint32_t una;

    if (!can_send(c))
	return (0);
    una = SEQ_GT(c->snd_una, c->iss) ? c->snd_una : c->iss + 1;
    return (c->st->cfg.sndbuf - (c->snd_end - una));
}

/* tcp_send - queue up to len bytes; output at the next flush */
size_t
tcp_send(struct tcp_conn *c, const void *buf, size_t len)
{
    size_t  space = tcp_send_space(c);
    uint32_t n, mask, pos, first;

    n = (uint32_t) (len < space ? len : space);
    if (n < len)
	c->flags |= TCF_WANT_WRITE;
    if (n == 0)
	return (0);
    mask = c->st->cfg.sndbuf - 1;
    pos = c->snd_end & mask;
    first = mask + 1 - pos;
    if (first >= n) {
	memcpy(c->sbuf + pos, buf, n);
    } else {
	memcpy(c->sbuf + pos, buf, first);
	memcpy(c->sbuf, (const uint8_t *) buf + first, n - first);
    }
    c->snd_end += n;
    tcp_conn_pending(c);
    return (n);
}

/* tcp_peek - readable bytes as up to two spans of the ring */
size_t
tcp_peek(const struct tcp_conn *c, struct tcp_iov iov[2])
{
    uint32_t n = tcp_readable(c), mask = c->st->cfg.rcvbuf - 1;
    uint32_t pos = c->rcv_read & mask, first = mask + 1 - pos;

    iov[0].base = c->rbuf + pos;
    iov[0].len = n < first ? n : first;
    iov[1].base = c->rbuf;
    iov[1].len = n - iov[0].len;
    return (n);
}

/* tcp_consume - the app is done with n bytes; maybe a window update */
void
tcp_consume(struct tcp_conn *c, size_t n)
{
    uint32_t avail = tcp_readable(c), rcvbuf = c->st->cfg.rcvbuf;
    uint32_t thresh, edge;

    if (n > avail)
	n = avail;
    c->rcv_read += (uint32_t) n;
    if (!(c->flags & TCF_ZERO_WIN) || (c->flags & TCF_FIN_RCVD))
	return;
    thresh = rcvbuf / 2 < c->rcv_mss ? rcvbuf / 2 : c->rcv_mss;
    edge = c->rcv_read + rcvbuf;
    if (SEQ_GEQ(edge, c->rcv_adv + thresh)) {
	c->flags &= ~TCF_ZERO_WIN;
	c->st->ctr.window_updates++;
	c->flags |= TCF_ACK_NOW;
	tcp_conn_pending(c);
    }
}

/* tcp_recv - copy out and consume */
size_t
tcp_recv(struct tcp_conn *c, void *buf, size_t len)
{
    struct tcp_iov iov[2];
    size_t  n = tcp_peek(c, iov), a;

    if (n > len)
	n = len;
    a = n < iov[0].len ? n : iov[0].len;
    memcpy(buf, iov[0].base, a);
    memcpy((uint8_t *) buf + a, iov[1].base, n - a);
    tcp_consume(c, n);
    return (n);
}

/* tcp_shutdown - FIN after everything queued */
void
tcp_shutdown(struct tcp_conn *c)
{
    if (c->flags & (TCF_FIN_QUEUED | TCF_DEAD))
	return;
    if (c->state == TCP_ST_ESTABLISHED)
	tcp_conn_set_state(c, TCP_ST_FIN_WAIT_1);
    else if (c->state == TCP_ST_CLOSE_WAIT)
	tcp_conn_set_state(c, TCP_ST_LAST_ACK);
    else
	return;
    c->flags |= TCF_FIN_QUEUED;
    tcp_conn_pending(c);
}

/* tcp_abort - RST now and forget the conn */
void
tcp_abort(struct tcp_conn *c)
{
    if (c->flags & TCF_DEAD)
	return;
    c->flags |= TCF_DETACHED;
    tcp_send_rst(c);
    tcp_conn_free(c);
}

/* tcp_close - graceful close and detach; unread input means RST */
void
tcp_close(struct tcp_conn *c)
{
    if (c->flags & TCF_DEAD)
	return;
    if (tcp_readable(c) > 0) {
	tcp_abort(c);
	return;
    }
    c->flags |= TCF_DETACHED;
    tcp_shutdown(c);
    if (c->state == TCP_ST_FIN_WAIT_2)
	tcp_timer_arm(c, &c->t_close, c->st->now_us + c->st->cfg.fin_wait2_us);
}

/* tcp_conn_peer - remote address and port, host byte order */
void
tcp_conn_peer(const struct tcp_conn *c, uint32_t *addr, uint16_t *port)
{
    *addr = c->raddr;
    *port = c->rport;
}

/* tcp_conn_local - local address and port, host byte order */
void
tcp_conn_local(const struct tcp_conn *c, uint32_t *addr, uint16_t *port)
{
    *addr = c->laddr;
    *port = c->lport;
}

/* tcp_conn_set_app - replace the per-connection app pointer */
void
tcp_conn_set_app(struct tcp_conn *c, void *app_conn)
{
    c->app_conn = app_conn;
}

/* tcp_conn_state - current state */
enum tcp_state
tcp_conn_state(const struct tcp_conn *c)
{
    return ((enum tcp_state) c->state);
}
