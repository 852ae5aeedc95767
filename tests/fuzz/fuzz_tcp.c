/*
 * fuzz_tcp.c - libFuzzer target: segments, app calls and time into dp/tcp
 *
 * The input is a program: each step picks an operation (inject a segment,
 * app read/write/shutdown/close/abort, advance the clock) and its
 * arguments. Injected segments get a correct checksum (else they would
 * all die at the first check) and sequence/ack numbers either raw or
 * close to what the stack last sent, so in-window paths are reached.
 * After every step the state gauges must add up to the connection count.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tcp.h"
#include "../tcp/tcp_refsum.h"

#define CLIENT	0xc6120002U
#define SERVER	0xc6120001U
#define NPORTS	4		/* client ports in play */
#define SEG_MAX	2048

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
    const uint8_t *p;
    size_t  n;
    uint64_t now;
    struct tcp_conn *conns[NPORTS];
    uint32_t last_seq[NPORTS], last_ack[NPORTS];
    uint8_t out[SEG_MAX + 64];
};

/* take - next input byte (0 when exhausted) */
static uint8_t
take(struct fz *f)
{
    if (f->n == 0)
	return (0);
    f->n--;
    return (*f->p++);
}

/* take32 - next four input bytes */
static uint32_t
take32(struct fz *f)
{
    uint32_t v = 0;
    int     i;

    for (i = 0; i < 4; i++)
	v = v << 8 | take(f);
    return (v);
}

/* fz_alloc - one static output buffer is enough: sends are synchronous */
static void *
fz_alloc(void *ctx, size_t len, uint8_t **hdr)
{
    struct fz *f = ctx;

    if (len > sizeof(f->out))
	__builtin_trap();
    *hdr = f->out;
    return (f->out);
}

/* fz_send - remember what we told each port, to aim in-window */
static void
fz_send(void *ctx, void *buf, uint32_t saddr, uint32_t daddr, size_t len)
{
    struct fz *f = ctx;
    const uint8_t *s = buf;
    unsigned port = (unsigned) (s[2] << 8 | s[3]) % NPORTS;

    (void) saddr;
    (void) daddr;
    if (len < 20)
	__builtin_trap();
    f->last_seq[port] = (uint32_t) s[4] << 24 | s[5] << 16 | s[6] << 8 | s[7];
    f->last_ack[port] = (uint32_t) s[8] << 24 | s[9] << 16 | s[10] << 8 | s[11];
}

/* fz_filter - refuse one port */
static int
fz_filter(void *ctx, uint32_t saddr, uint16_t sport)
{
    (void) ctx;
    (void) saddr;
    return (sport == 1003 ? TCP_FILTER_RST : TCP_FILTER_ACCEPT);
}

/* app callbacks: track conns by client port */
static void *
fz_accept(void *lctx, struct tcp_conn *c)
{
    struct fz *f = lctx;
    uint32_t a;
    uint16_t port;

    tcp_conn_peer(c, &a, &port);
    f->conns[port % NPORTS] = c;
    return (&f->conns[port % NPORTS]);
}

/* fz_data - sometimes consume in the callback, sometimes not */
static void
fz_data(void *app, struct tcp_conn *c, size_t avail, int eof)
{
    if (avail & 1)
	tcp_consume(c, avail / 2);
    (void) app;
    (void) eof;
}

/* fz_writable - nothing */
static void
fz_writable(void *app, struct tcp_conn *c, size_t space)
{
    (void) app;
    (void) c;
    (void) space;
}

/* fz_closed - forget the conn */
static void
fz_closed(void *app, struct tcp_conn *c, enum tcp_close_reason why)
{
    struct tcp_conn **slot = app;

    (void) c;
    (void) why;
    *slot = 0;
}

static const struct tcp_app_ops fz_app = {
    fz_accept, fz_data, fz_writable, fz_closed,
};

/* csum - checksum of a client segment with the pseudo-header */
static uint16_t
csum(const uint8_t *seg, size_t len)
{
    return tcp_refsum(CLIENT, SERVER, seg, len);
}

/* inject - a segment built from the input */
static void
inject(struct fz *f, struct tcp_stack *st)
{
    uint8_t seg[SEG_MAX];
    uint8_t mode = take(f), port = take(f) % NPORTS, olen, dport;
    uint32_t seq, ack, plen, i;
    uint16_t win, sum;

    dport = (mode & 0x80) ? 7 : 25;
    if (mode & 1) {
	seq = f->last_ack[port] + (uint32_t) (int8_t) take(f) * 64;
	ack = f->last_seq[port] + (take(f) & 0xf);
    } else {
	seq = take32(f);
	ack = take32(f);
    }
    olen = (uint8_t) ((take(f) % 11) * 4);
    if (mode & 8)
	olen = 20;
    plen = (mode & 2) ? (uint32_t) take(f) * 8 : 0;
    if (20 + olen + plen > SEG_MAX)
	plen = SEG_MAX - 20 - olen;
    win = (uint16_t) (take(f) << 8 | take(f));
    seg[0] = (uint8_t) ((1000 + port) >> 8);
    seg[1] = (uint8_t) (1000 + port);
    seg[2] = 0;
    seg[3] = dport;
    for (i = 0; i < 4; i++) {
	seg[4 + i] = (uint8_t) (seq >> (24 - 8 * i));
	seg[8 + i] = (uint8_t) (ack >> (24 - 8 * i));
    }
    seg[12] = (uint8_t) (((20 + olen) / 4) << 4);
    seg[13] = take(f);
    seg[14] = (uint8_t) (win >> 8);
    seg[15] = (uint8_t) win;
    seg[16] = seg[17] = seg[18] = seg[19] = 0;
    if ((mode & 8) && (seg[13] & 0x02)) {
	/* A SYN that negotiates everything: mss, sackOK, TS, wscale. */
	static const uint8_t syn_opts[20] = {2, 4, 5, 180, 4, 2, 8, 10,
	0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};

	memcpy(seg + 20, syn_opts, sizeof(syn_opts));
    } else if (mode & 8) {
	/* nop,nop,TS and one SACK block near what we sent last. */
	uint32_t a = f->last_seq[port] - (uint32_t) take(f) * 128;
	uint32_t b = a + (uint32_t) (take(f) + 1) * 64;
	static const uint8_t pre[12] = {1, 1, 8, 10, 0, 0, 1, 0, 0, 0, 0, 0};

	memcpy(seg + 20, pre, sizeof(pre));
	olen = 32;
	seg[32] = 1;
	seg[33] = 1;
	seg[34] = 5;
	seg[35] = 10;
	for (i = 0; i < 4; i++) {
	    seg[36 + i] = (uint8_t) (a >> (24 - 8 * i));
	    seg[40 + i] = (uint8_t) (b >> (24 - 8 * i));
	}
	seg[12] = (uint8_t) (((20 + olen) / 4) << 4);
	if (20 + olen + plen > SEG_MAX)
	    plen = SEG_MAX - 20 - olen;
    } else {
	for (i = 0; i < olen; i++)
	    seg[20 + i] = take(f);
    }
    for (i = 0; i < plen; i++)
	seg[20 + olen + i] = (uint8_t) i;
    sum = csum(seg, 20 + olen + plen);
    if (!(mode & 0x40)) {
	seg[16] = (uint8_t) (sum >> 8);
	seg[17] = (uint8_t) sum;
    }
    tcp_input(st, CLIENT, (mode & 0x20) ? SERVER + 1 : SERVER, seg,
	      20 + olen + plen, (mode & 0x10) ? TCP_IN_CSUM_GOOD : 0, f->now);
    if (mode & 4)
	tcp_flush(st);
}

/* app_op - an application call on one of the tracked conns */
static void
app_op(struct fz *f, struct tcp_stack *st, uint8_t op)
{
    uint8_t buf[512];
    unsigned port = take(f) % NPORTS;
    struct tcp_conn *c = f->conns[port];
    struct tcp_iov iov[2];

    if (c == 0)
	return;
    switch (op) {
    case 0:
	tcp_recv(c, buf, take(f) * 2U);
	break;
    case 1:
	memset(buf, 'x', sizeof(buf));
	tcp_send(c, buf, take(f) * 2U);
	break;
    case 2:
	tcp_shutdown(c);
	break;
    case 3:
	f->conns[port] = 0;
	tcp_close(c);
	break;
    case 4:
	f->conns[port] = 0;
	tcp_abort(c);
	break;
    case 5:
	tcp_consume(c, tcp_peek(c, iov));
	break;
    }
    tcp_flush(st);
}

/* check - gauges agree with the pool */
static void
check(struct tcp_stack *st)
{
    const struct tcp_counters *k = tcp_stack_counters(st);
    uint64_t sum = 0;
    int     i;

    for (i = 0; i < TCP_ST_TIME_WAIT; i++)
	sum += k->conn_state[i];
    if (sum != tcp_stack_conn_count(st))
	__builtin_trap();
}

/* LLVMFuzzerTestOneInput - one program */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz *f = calloc(1, sizeof(*f));
    struct tcp_config cfg;
    struct tcp_lower_ops lo;
    struct tcp_stack *st;
    int     steps = 0;

    f->p = data;
    f->n = size;
    tcp_config_defaults(&cfg);
    cfg.max_conns = 4;
    cfg.tw_max = 2;
    cfg.syn_backlog = 2;
    cfg.rcvbuf = 4096;
    cfg.sndbuf = 4096;
    cfg.ooo_segs = 4;
    cfg.ooo_bytes = 2048;
    cfg.n_local_addrs = 1;
    cfg.local_addrs[0] = SERVER;
    cfg.listeners[0].port = 25;
    cfg.listeners[0].app = &fz_app;
    cfg.listeners[0].listen_ctx = f;
    cfg.listeners[1].port = 7;
    cfg.listeners[1].app = &tcp_app_echo;
    cfg.n_listeners = 2;
    cfg.challenge_acks = 3;
    cfg.flags = size & 1 ? TCP_CFG_TX_CSUM_OFFLOAD : 0;
    lo.ctx = f;
    lo.tx_alloc = fz_alloc;
    lo.tx_send = fz_send;
    lo.syn_filter = fz_filter;
    st = tcp_stack_create(&cfg, &lo, 0);
    if (st == 0)
	__builtin_trap();
    while (f->n && steps++ < 400) {
	uint8_t op = take(f);

	if (op < 140)
	    inject(f, st);
	else if (op < 200)
	    app_op(f, st, op % 6);
	else {
	    f->now += (uint64_t) (op - 200) * (op & 1 ? 1000 : 250000);
	    tcp_timers_run(st, f->now);
	}
	check(st);
    }
    tcp_flush(st);
    tcp_timers_run(st, f->now + 400000000ULL);
    check(st);
    tcp_stack_destroy(st);
    free(f);
    return (0);
}
