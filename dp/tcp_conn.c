/*
 * tcp_conn.c - stack creation, connection table, TIME_WAIT records
 *
 *   struct tcp_stack *tcp_stack_create(cfg, lower, now_us);
 *   void tcp_stack_destroy(st);
 *   void tcp_config_defaults(cfg);
 *   struct tcp_conn *tcp_conn_lookup(st, saddr, sport, daddr, dport, &tw);
 *   struct tcp_conn *tcp_conn_alloc(st, seg);
 *   void tcp_conn_free(c);
 *   void tcp_conn_to_time_wait(c);
 *   int tcp_conn_notify_{closed,data,writable}(c, ...);
 *
 * The connection table is a chained hash on the 4-tuple over a fixed pool
 * of conns and a fixed FIFO of TIME_WAIT records, all allocated at
 * create time: nothing is allocated per connection. TIME_WAIT records all
 * live for the same time, so creation order is expiry order and the FIFO
 * head is both the next to expire and the oldest to recycle when full.
 *
 * Callbacks may free their own conn (tcp_abort/tcp_close in a callback):
 * the notify functions return -1 when the conn is gone so the caller
 * stops touching it; the free is deferred until the callback returns.
 *
 * Diagnostics: tcp_stack_create sets errno EINVAL/ENOMEM.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_int.h"

/* tcp_config_defaults - every limit at its documented default */
void
tcp_config_defaults(struct tcp_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_conns = TCP_DEF_MAX_CONNS;
    cfg->syn_backlog = TCP_DEF_SYN_BACKLOG;
    cfg->rcvbuf = TCP_DEF_RCVBUF;
    cfg->sndbuf = TCP_DEF_SNDBUF;
    cfg->ooo_bytes = TCP_DEF_OOO_BYTES;
    cfg->ooo_segs = TCP_DEF_OOO_SEGS;
    cfg->tw_max = TCP_DEF_TW_MAX;
    cfg->mss = TCP_DEF_MSS;
    cfg->wscale = TCP_DEF_WSCALE;
    cfg->init_cwnd = TCP_DEF_INIT_CWND;
    cfg->tick_us = TCP_DEF_TICK_US;
    cfg->rto_min_us = TCP_DEF_RTO_MIN_US;
    cfg->rto_max_us = TCP_DEF_RTO_MAX_US;
    cfg->rto_init_us = TCP_DEF_RTO_INIT_US;
    cfg->max_retries = TCP_DEF_MAX_RETRIES;
    cfg->synack_retries = TCP_DEF_SYNACK_RETRIES;
    cfg->delack_us = TCP_DEF_DELACK_US;
    cfg->idle_us = TCP_DEF_IDLE_US;
    cfg->time_wait_us = TCP_DEF_TIME_WAIT_US;
    cfg->fin_wait2_us = TCP_DEF_FIN_WAIT2_US;
    cfg->persist_min_us = TCP_DEF_PERSIST_MIN_US;
    cfg->challenge_acks = TCP_DEF_CHALLENGE_ACKS;
}

/* mem_get_raw - start-up allocation, not zeroed (untouched pages stay
 * virtual until a connection uses its ring) */
static void *
mem_get_raw(const struct tcp_config *cfg, size_t size)
{
    size = (size + 63) & ~(size_t) 63;
    if (cfg->mem_alloc)
	return (cfg->mem_alloc(cfg->mem_ctx, size, 64));
    return (aligned_alloc(64, size));
}

/* mem_get - start-up allocation through the configured allocator */
static void *
mem_get(const struct tcp_config *cfg, size_t size)
{
    void   *p;

    size = (size + 63) & ~(size_t) 63;
    if (cfg->mem_alloc)
	p = cfg->mem_alloc(cfg->mem_ctx, size, 64);
    else
	p = aligned_alloc(64, size);
    if (p)
	memset(p, 0, size);
    return (p);
}

/* mem_put - release what mem_get returned */
static void
mem_put(const struct tcp_config *cfg, void *p)
{
    if (p == 0)
	return;
    if (cfg->mem_free)
	cfg->mem_free(cfg->mem_ctx, p);
    else
	free(p);
}

/* pow2 - is v a non-zero power of two */
static int
pow2(uint32_t v)
{
    return (v && (v & (v - 1)) == 0);
}

/* tcp_stack_create - allocate every table up front */
struct tcp_stack *
tcp_stack_create(const struct tcp_config *cfg, const struct tcp_lower_ops *lower,
		         uint64_t now_us)
{
    struct tcp_stack *st;
    uint32_t nb, nnodes, i;
    size_t  per;

    if (cfg == 0 || lower == 0 || lower->tx_alloc == 0 || lower->tx_send == 0
	|| cfg->max_conns == 0 || cfg->tw_max == 0 || !pow2(cfg->rcvbuf)
	|| !pow2(cfg->sndbuf) || cfg->rcvbuf < 2048 || cfg->sndbuf < 2048
	|| cfg->ooo_segs == 0 || cfg->ooo_segs > TCP_REASS_MAX
	|| cfg->mss < 64 || cfg->wscale > 14 || cfg->tick_us == 0
	|| cfg->n_listeners > TCP_MAX_LISTENERS
	|| cfg->n_local_addrs > TCP_MAX_LOCAL_ADDRS
	|| (cfg->rcvbuf >> cfg->wscale) > 65535
	|| cfg->max_conns > UINT32_MAX / 4 || cfg->tw_max > UINT32_MAX / 4) {
	errno = EINVAL;
	return (0);
    }
    if ((st = mem_get(cfg, sizeof(*st))) == 0)
	goto nomem;
    st->cfg = *cfg;
    st->lower = *lower;
    st->now_us = now_us;
    st->pending = TCP_NIL;
    memcpy(&st->hash_key, cfg->secret, sizeof(st->hash_key));
    nnodes = cfg->max_conns + cfg->tw_max;
    for (nb = 64; nb < 2 * nnodes; nb <<= 1)
	 /* void */ ;
    st->bucket_mask = nb - 1;
    st->conns = mem_get(cfg, sizeof(*st->conns) * cfg->max_conns);
    st->free_conns = mem_get(cfg, sizeof(uint32_t) * cfg->max_conns);
    st->buckets = mem_get(cfg, sizeof(uint32_t) * nb);
    st->tw = mem_get(cfg, sizeof(*st->tw) * cfg->tw_max);
    st->wheel.slots = mem_get(cfg, sizeof(uint32_t) * TCP_WHEEL_SLOTS);
    st->wheel.nodes = mem_get(cfg, sizeof(struct tcp_tnode) * nnodes);
    per = (size_t) cfg->rcvbuf + cfg->sndbuf;
    st->mem_bufs = mem_get_raw(cfg, per * cfg->max_conns);
    if (!st->conns || !st->free_conns || !st->buckets || !st->tw
	|| !st->wheel.slots || !st->wheel.nodes || !st->mem_bufs) {
	tcp_stack_destroy(st);
	goto nomem;
    }
    memset(st->buckets, 0xff, sizeof(uint32_t) * nb);
    tcp_wheel_init(&st->wheel, st->wheel.slots, TCP_WHEEL_SLOTS,
		   st->wheel.nodes, nnodes, cfg->tick_us, now_us);
    /* Lowest index on top: the first conns reuse warm memory. */
    for (i = 0; i < cfg->max_conns; i++) {
	st->free_conns[i] = cfg->max_conns - 1 - i;
	st->conns[i].rbuf = st->mem_bufs + per * i;
	st->conns[i].sbuf = st->conns[i].rbuf + cfg->rcvbuf;
	st->conns[i].st = st;
    }
    st->n_free = cfg->max_conns;
    return (st);

nomem:
    errno = ENOMEM;
    return (0);
}

/* tcp_stack_destroy - free everything; conns are dropped without RST */
void
tcp_stack_destroy(struct tcp_stack *st)
{
    struct tcp_config cfg;

    if (st == 0)
	return;
    cfg = st->cfg;
    mem_put(&cfg, st->conns);
    mem_put(&cfg, st->free_conns);
    mem_put(&cfg, st->buckets);
    mem_put(&cfg, st->tw);
    mem_put(&cfg, st->wheel.slots);
    mem_put(&cfg, st->wheel.nodes);
    mem_put(&cfg, st->mem_bufs);
    mem_put(&cfg, st);
}

/* tuple_hash - bucket of a 4-tuple; keyed so peers cannot aim at a chain */
static uint32_t
tuple_hash(const struct tcp_stack *st, uint32_t saddr, uint16_t sport,
	           uint32_t daddr, uint16_t dport)
{
    uint64_t h;

    h = ((uint64_t) saddr << 32 | daddr) ^ ((uint64_t) sport << 16 | dport)
	^ st->hash_key;
    h *= 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return ((uint32_t) h & st->bucket_mask);
}

/* hnext_of - chain link of a conn or TIME_WAIT index */
static uint32_t *
hnext_of(struct tcp_stack *st, uint32_t idx)
{
    if (idx < st->cfg.max_conns)
	return (&st->conns[idx].hnext);
    return (&st->tw[idx - st->cfg.max_conns].hnext);
}

/* hash_unlink - remove idx from its chain */
static void
hash_unlink(struct tcp_stack *st, uint32_t bucket, uint32_t idx)
{
    uint32_t *pp = &st->buckets[bucket];

    while (*pp != TCP_NIL) {
	if (*pp == idx) {
	    *pp = *hnext_of(st, idx);
	    return;
	}
	pp = hnext_of(st, *pp);
    }
}

/* tcp_conn_lookup - find a conn or TIME_WAIT record for an arriving segment */
struct tcp_conn *
tcp_conn_lookup(struct tcp_stack *st, uint32_t saddr, uint16_t sport,
		        uint32_t daddr, uint16_t dport, struct tcp_tw **twp)
{
    uint32_t idx = st->buckets[tuple_hash(st, saddr, sport, daddr, dport)];

    *twp = 0;
    while (idx != TCP_NIL) {
	if (idx < st->cfg.max_conns) {
	    struct tcp_conn *c = &st->conns[idx];

	    if (c->raddr == saddr && c->rport == sport && c->lport == dport
		&& c->laddr == daddr)
		return (c);
	    idx = c->hnext;
	} else {
	    struct tcp_tw *tw = &st->tw[idx - st->cfg.max_conns];

	    if (tw->raddr == saddr && tw->rport == sport && tw->lport == dport
		&& tw->laddr == daddr) {
		*twp = tw;
		return (0);
	    }
	    idx = tw->hnext;
	}
    }
    return (0);
}

/* tcp_listener_find - the listener on a local port, or NULL */
const struct tcp_listener *
tcp_listener_find(const struct tcp_stack *st, uint16_t port)
{
    unsigned i;

    for (i = 0; i < st->cfg.n_listeners; i++)
	if (st->cfg.listeners[i].port == port)
	    return (&st->cfg.listeners[i]);
    return (0);
}

/* tcp_conn_set_state - move a conn, keeping the state gauges right */
void
tcp_conn_set_state(struct tcp_conn *c, int state)
{
    struct tcp_stack *st = c->st;

    st->ctr.conn_state[c->state]--;
    if (c->state == TCP_ST_SYN_RECEIVED)
	st->n_synrecv--;
    c->state = state;
    st->ctr.conn_state[state]++;
    if (state == TCP_ST_SYN_RECEIVED)
	st->n_synrecv++;
}

/* tcp_conn_alloc - take a conn from the pool for a SYN (or a cookie ACK) */
struct tcp_conn *
tcp_conn_alloc(struct tcp_stack *st, const struct tcp_seg *s)
{
    struct tcp_conn *c;
    uint32_t idx, b;
    uint8_t *rbuf, *sbuf;

    if (st->n_free == 0)
	return (0);
    idx = st->free_conns[--st->n_free];
    c = &st->conns[idx];
    rbuf = c->rbuf;
    sbuf = c->sbuf;
    memset(c, 0, offsetof(struct tcp_conn, reass));
    tcp_reass_init(&c->reass);
    tcp_reass_init(&c->sacked);
    c->rbuf = rbuf;
    c->sbuf = sbuf;
    c->st = st;
    c->raddr = s->saddr;
    c->laddr = s->daddr;
    c->rport = s->sport;
    c->lport = s->dport;
    c->pnext = TCP_NIL;
    c->state = TCP_ST_CLOSED;
    st->ctr.conn_state[TCP_ST_CLOSED]++;
    c->last_rx_us = st->now_us;
    b = tuple_hash(st, s->saddr, s->sport, s->daddr, s->dport);
    c->hnext = st->buckets[b];
    st->buckets[b] = idx;
    return (c);
}

/* conn_release - return a conn to the pool now */
static void
conn_release(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    uint32_t idx = (uint32_t) (c - st->conns);

    hash_unlink(st, tuple_hash(st, c->raddr, c->rport, c->laddr, c->lport),
		idx);
    tcp_wheel_del(&st->wheel, idx);
    tcp_conn_set_state(c, TCP_ST_CLOSED);
    st->ctr.conn_state[TCP_ST_CLOSED]--;
    c->app = 0;
    c->flags = TCF_DEAD;
    st->free_conns[st->n_free++] = idx;
}

/* tcp_conn_free - release a conn, deferred if a callback is running on it */
void
tcp_conn_free(struct tcp_conn *c)
{
    if (c->flags & TCF_DEAD)
	return;
    if (c->in_cb) {
	c->flags |= TCF_DEAD;
	return;
    }
    if (c->flags & TCF_PENDING) {
	/* The pending list is one burst long: a walk is cheap. */
	struct tcp_stack *st = c->st;
	uint32_t idx = (uint32_t) (c - st->conns), *pp = &st->pending;

	while (*pp != TCP_NIL && *pp != idx)
	    pp = &st->conns[*pp].pnext;
	if (*pp == idx)
	    *pp = c->pnext;
    }
    conn_release(c);
}

/* cb_exit - leave a callback; finish a deferred free */
static int
cb_exit(struct tcp_conn *c)
{
    if (--c->in_cb == 0 && (c->flags & TCF_DEAD)) {
	c->flags &= ~TCF_DEAD;
	tcp_conn_free(c);
	return (-1);
    }
    return ((c->flags & TCF_DEAD) ? -1 : 0);
}

/* tcp_conn_notify_closed - tell the app, then free the conn */
int
tcp_conn_notify_closed(struct tcp_conn *c, enum tcp_close_reason why)
{
    struct tcp_counters *ctr = &c->st->ctr;

    switch (why) {
    case TCP_CLOSE_FIN:
	ctr->closed_fin++;
	break;
    case TCP_CLOSE_RST:
	ctr->closed_rst++;
	break;
    case TCP_CLOSE_TIMEOUT:
	ctr->closed_timeout++;
	break;
    case TCP_CLOSE_IDLE:
	ctr->closed_idle++;
	break;
    case TCP_CLOSE_ABORT:
	break;
    }
    if (c->app && !(c->flags & TCF_DETACHED) && c->app->closed) {
	c->flags |= TCF_DETACHED;
	c->in_cb++;
	c->app->closed(c->app_conn, c, why);
	c->in_cb--;
    }
    c->flags &= ~TCF_DEAD;
    tcp_conn_free(c);
    return (-1);
}

/* tcp_conn_notify_data - tell the app how much is readable */
int
tcp_conn_notify_data(struct tcp_conn *c)
{
    uint32_t avail = tcp_readable(c);
    int     eof = (c->flags & TCF_FIN_RCVD) != 0;

    if (c->app == 0 || (c->flags & TCF_DETACHED) || c->app->data == 0)
	return (0);
    if (eof) {
	if (avail == 0 && (c->flags & TCF_EOF_TOLD))
	    return (0);
	c->flags |= TCF_EOF_TOLD;
    }
    c->in_cb++;
    c->app->data(c->app_conn, c, avail, eof);
    return (cb_exit(c));
}

/* tcp_conn_notify_writable - send space freed after a short tcp_send */
int
tcp_conn_notify_writable(struct tcp_conn *c)
{
    size_t  space;

    if (!(c->flags & TCF_WANT_WRITE) || c->app == 0
	|| (c->flags & TCF_DETACHED) || c->app->writable == 0)
	return (0);
    space = tcp_send_space(c);
    if (space == 0)
	return (0);
    c->flags &= ~TCF_WANT_WRITE;
    c->in_cb++;
    c->app->writable(c->app_conn, c, space);
    return (cb_exit(c));
}

/* tcp_conn_pending - queue a conn for output at the next tcp_flush */
void
tcp_conn_pending(struct tcp_conn *c)
{
    if (c->flags & TCF_PENDING)
	return;
    c->flags |= TCF_PENDING;
    c->pnext = c->st->pending;
    c->st->pending = (uint32_t) (c - c->st->conns);
}

/* tcp_flush - run output for every conn that input made pending */
void
tcp_flush(struct tcp_stack *st)
{
    while (st->pending != TCP_NIL) {
	struct tcp_conn *c = &st->conns[st->pending];

	st->pending = c->pnext;
	c->pnext = TCP_NIL;
	c->flags &= ~TCF_PENDING;
	tcp_output(c);
    }
}

/* tw_index - table index of a TIME_WAIT record */
static uint32_t
tw_index(const struct tcp_stack *st, const struct tcp_tw *tw)
{
    return (st->cfg.max_conns + (uint32_t) (tw - st->tw));
}

/* tcp_tw_kill - drop a TIME_WAIT record (reuse, recycling or expiry) */
void
tcp_tw_kill(struct tcp_stack *st, struct tcp_tw *tw)
{
    if (!tw->live)
	return;
    hash_unlink(st, tuple_hash(st, tw->raddr, tw->rport, tw->laddr,
			       tw->lport), tw_index(st, tw));
    tw->live = 0;
    st->ctr.conn_state[TCP_ST_TIME_WAIT]--;
}

/* tcp_tw_expire - drop expired records from the FIFO head */
void
tcp_tw_expire(struct tcp_stack *st)
{
    while (st->tw_head != st->tw_tail) {
	struct tcp_tw *tw = &st->tw[st->tw_head % st->cfg.tw_max];

	if (tw->live && tw->expire_us > st->now_us)
	    break;
	tcp_tw_kill(st, tw);
	st->tw_head++;
    }
}

/* tcp_conn_to_time_wait - replace a conn by a small TIME_WAIT record */
void
tcp_conn_to_time_wait(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    struct tcp_tw *tw;
    uint32_t b;

    tcp_tw_expire(st);
    if (st->tw_tail - st->tw_head >= st->cfg.tw_max) {
	tw = &st->tw[st->tw_head % st->cfg.tw_max];
	if (tw->live)
	    st->ctr.tw_recycled++;
	tcp_tw_kill(st, tw);
	st->tw_head++;
    }
    tw = &st->tw[st->tw_tail++ % st->cfg.tw_max];
    tw->raddr = c->raddr;
    tw->laddr = c->laddr;
    tw->rport = c->rport;
    tw->lport = c->lport;
    tw->snd_nxt = c->snd_max;
    tw->rcv_nxt = c->rcv_nxt;
    tw->ts_recent = c->ts_recent;
    tw->ts_off = c->ts_off;
    tw->ts_ok = (c->flags & TCF_TS) != 0;
    tw->rcv_ws = c->rcv_ws;
    tw->expire_us = st->now_us + st->cfg.time_wait_us;
    tw->live = 1;
    st->ctr.conn_state[TCP_ST_TIME_WAIT]++;
    b = tuple_hash(st, tw->raddr, tw->rport, tw->laddr, tw->lport);
    tw->hnext = st->buckets[b];
    st->buckets[b] = tw_index(st, tw);
    tcp_conn_notify_closed(c, TCP_CLOSE_FIN);
}

/* tcp_readable - in-order bytes the app has not consumed (FIN excluded) */
uint32_t
tcp_readable(const struct tcp_conn *c)
{
    return (c->rcv_nxt - c->rcv_read - ((c->flags & TCF_FIN_RCVD) ? 1 : 0));
}

/* tcp_rcv_space - free bytes in the receive ring */
uint32_t
tcp_rcv_space(const struct tcp_conn *c)
{
    return (c->st->cfg.rcvbuf - tcp_readable(c));
}

/* tcp_stack_counters - the counters, for export by the owning lcore */
const struct tcp_counters *
tcp_stack_counters(const struct tcp_stack *st)
{
    return (&st->ctr);
}

/* tcp_stack_conn_count - conns in use (TIME_WAIT records not included) */
uint32_t
tcp_stack_conn_count(const struct tcp_stack *st)
{
    return (st->cfg.max_conns - st->n_free);
}
