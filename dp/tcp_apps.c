/*
 * tcp_apps.c - built-in echo and discard services
 *
 *   extern const struct tcp_app_ops tcp_app_echo;
 *   extern const struct tcp_app_ops tcp_app_discard;
 *
 * For tests and benchmarks: put one in a struct tcp_listener. Echo sends
 * back what it reads, consuming only what the send ring took, so a peer
 * that does not read sees its own window close (end-to-end
 * backpressure); after the peer's FIN and the last byte echoed it closes.
 * Discard consumes everything and closes on FIN. Neither keeps state per
 * connection.
 *
 * Diagnostics: none.
 */

#include "tcp.h"

/* svc_accept - take every connection; no per-conn state */
static void *
svc_accept(void *listen_ctx, struct tcp_conn *c)
{
    (void) listen_ctx;
    (void) c;
    return ((void *) &tcp_app_echo);	/* any non-NULL pointer */
}

/* echo_pump - copy readable bytes to the send ring */
static void
echo_pump(struct tcp_conn *c)
{
    struct tcp_iov iov[2];
    size_t  n, sent;
    unsigned i;

    n = tcp_peek(c, iov);
    for (i = 0; i < 2 && n; i++) {
	if (iov[i].len == 0)
	    continue;
	sent = tcp_send(c, iov[i].base, iov[i].len);
	tcp_consume(c, sent);
	if (sent < iov[i].len)
	    return;
    }
}

/* echo_data - echo, then close once the peer is done and we caught up */
static void
echo_data(void *app_conn, struct tcp_conn *c, size_t avail, int eof)
{
    struct tcp_iov iov[2];

    (void) app_conn;
    (void) avail;
    echo_pump(c);
    if (eof && tcp_peek(c, iov) == 0)
	tcp_close(c);
}

/* echo_writable - room again: continue */
static void
echo_writable(void *app_conn, struct tcp_conn *c, size_t space)
{
    struct tcp_iov iov[2];

    (void) space;
    echo_pump(c);
    if (tcp_conn_state(c) == TCP_ST_CLOSE_WAIT && tcp_peek(c, iov) == 0)
	tcp_close(c);
    (void) app_conn;
}

/* svc_closed - nothing to free */
static void
svc_closed(void *app_conn, struct tcp_conn *c, enum tcp_close_reason why)
{
    (void) app_conn;
    (void) c;
    (void) why;
}

/* discard_data - consume all; close on FIN */
static void
discard_data(void *app_conn, struct tcp_conn *c, size_t avail, int eof)
{
    (void) app_conn;
    tcp_consume(c, avail);
    if (eof)
	tcp_close(c);
}

const struct tcp_app_ops tcp_app_echo = {
    .accept = svc_accept,
    .data = echo_data,
    .writable = echo_writable,
    .closed = svc_closed,
};

const struct tcp_app_ops tcp_app_discard = {
    .accept = svc_accept,
    .data = discard_data,
    .writable = 0,
    .closed = svc_closed,
};
