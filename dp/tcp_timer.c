/*
 * tcp_timer.c - hashed timer wheel and the per-connection timers
 *
 *   void tcp_wheel_init(w, slots, nslots, nodes, nnodes, tick_us, now_us);
 *   void tcp_wheel_add(w, idx, expire_us);
 *   void tcp_wheel_del(w, idx);
 *   void tcp_wheel_run(w, now_us, fn, arg);
 *   void tcp_timer_arm(c, &c->t_xxx, at_us);
 *   void tcp_timer_rearm(c);
 *   void tcp_timers_run(st, now_us);
 *
 * Each conn has ONE wheel node, set to the earliest of its deadlines
 * (retransmission, delayed ACK, persist, FIN-WAIT-2, idle). Pushing a
 * deadline later (every ACK restarts the RTO) leaves the node alone and
 * costs a spurious wake-up at most; only an earlier deadline relinks it.
 * Nodes further away than the wheel's horizon stay in their slot and are
 * skipped until their round comes. TIME_WAIT records are not on the
 * wheel: they expire in FIFO order (tcp_conn.c).
 *
 * Diagnostics: none; give-ups are counted.
 */

#include "tcp_int.h"

/* tcp_wheel_init - empty wheel at now_us */
void
tcp_wheel_init(struct tcp_wheel *w, uint32_t *slots, uint32_t nslots,
	               struct tcp_tnode *nodes, uint32_t nnodes,
	               uint64_t tick_us, uint64_t now_us)
{
    uint32_t i;

    w->slots = slots;
    w->mask = nslots - 1;
    w->nodes = nodes;
    w->tick_us = tick_us;
    w->cur_tick = now_us / tick_us;
    for (i = 0; i < nslots; i++)
	slots[i] = TCP_NIL;
    for (i = 0; i < nnodes; i++)
	nodes[i].slot = TCP_NIL;
}

/* link_node - put a node at the head of a slot */
static void
link_node(struct tcp_wheel *w, uint32_t idx, uint32_t slot)
{
    struct tcp_tnode *n = &w->nodes[idx];

    n->slot = slot;
    n->prev = TCP_NIL;
    n->next = w->slots[slot];
    if (n->next != TCP_NIL)
	w->nodes[n->next].prev = idx;
    w->slots[slot] = idx;
}

/* tcp_wheel_del - unlink a node if it is linked */
void
tcp_wheel_del(struct tcp_wheel *w, uint32_t idx)
{
    struct tcp_tnode *n = &w->nodes[idx];

    if (n->slot == TCP_NIL)
	return;
    if (n->prev != TCP_NIL)
	w->nodes[n->prev].next = n->next;
    else
	w->slots[n->slot] = n->next;
    if (n->next != TCP_NIL)
	w->nodes[n->next].prev = n->prev;
    n->slot = TCP_NIL;
}

/* tcp_wheel_add - (re)schedule a node; never fires before expire_us */
void
tcp_wheel_add(struct tcp_wheel *w, uint32_t idx, uint64_t expire_us)
{
    uint64_t t = (expire_us + w->tick_us - 1) / w->tick_us;

    tcp_wheel_del(w, idx);
    if (t <= w->cur_tick)
	t = w->cur_tick + 1;
    w->nodes[idx].expire_tick = t;
    link_node(w, idx, (uint32_t) (t & w->mask));
}

/* tcp_wheel_run - fire every node due at now_us */
void
tcp_wheel_run(struct tcp_wheel *w, uint64_t now_us, tcp_wheel_fn fn,
	              void *arg)
{
    uint64_t target = now_us / w->tick_us;
    uint64_t steps;

    if (target <= w->cur_tick)
	return;
    steps = target - w->cur_tick;
    if (steps > (uint64_t) w->mask + 1)
	w->cur_tick = target - w->mask - 1;
    while (w->cur_tick < target) {
	uint32_t slot = (uint32_t) (++w->cur_tick & w->mask);
	uint32_t keep = TCP_NIL, idx;

	/* Pop from the head: fn may relink its own node into this slot. */
	while ((idx = w->slots[slot]) != TCP_NIL) {
	    struct tcp_tnode *n = &w->nodes[idx];

	    tcp_wheel_del(w, idx);
	    if (n->expire_tick > target) {
		n->next = keep;		/* a later round: park it */
		keep = idx;
		continue;
	    }
	    fn(arg, idx, now_us);
	}
	while (keep != TCP_NIL) {
	    idx = keep;
	    keep = w->nodes[idx].next;
	    link_node(w, idx, slot);
	}
    }
}

/* conn_index - wheel index of a conn */
static uint32_t
conn_index(const struct tcp_conn *c)
{
    return ((uint32_t) (c - c->st->conns));
}

/* idle_deadline - when an idle conn is closed; 0 = never */
static uint64_t
idle_deadline(const struct tcp_conn *c)
{
    if (c->st->cfg.idle_us == 0 || c->state == TCP_ST_SYN_RECEIVED)
	return (0);
    return (c->last_rx_us + c->st->cfg.idle_us);
}

/* tcp_timer_arm - set one deadline; relink only if it is the earliest */
void
tcp_timer_arm(struct tcp_conn *c, uint64_t *field, uint64_t at_us)
{
    struct tcp_wheel *w = &c->st->wheel;
    struct tcp_tnode *n = &w->nodes[conn_index(c)];

    *field = at_us;
    if (at_us == 0)
	return;
    if (n->slot == TCP_NIL || (at_us + w->tick_us - 1) / w->tick_us
	< n->expire_tick)
	tcp_wheel_add(w, conn_index(c), at_us);
}

/* earlier - min of two deadlines where 0 means unset */
static uint64_t
earlier(uint64_t a, uint64_t b)
{
    if (a == 0)
	return (b);
    if (b == 0)
	return (a);
    return (a < b ? a : b);
}

/* tcp_timer_rearm - put the conn's node at its earliest deadline */
void
tcp_timer_rearm(struct tcp_conn *c)
{
    uint64_t t;

    t = earlier(c->t_rto, c->t_delack);
    t = earlier(t, c->t_persist);
    t = earlier(t, c->t_close);
    t = earlier(t, idle_deadline(c));
    if (t)
	tcp_wheel_add(&c->st->wheel, conn_index(c), t);
    else
	tcp_wheel_del(&c->st->wheel, conn_index(c));
}

/* rto_expired - RFC 6298 5.4-5.7: back off, retransmit, collapse cwnd */
static int
rto_expired(struct tcp_conn *c, uint64_t now)
{
    struct tcp_stack *st = c->st;
    uint32_t flight;

    c->t_rto = 0;
    if (c->state == TCP_ST_SYN_RECEIVED) {
	if (++c->retries > st->cfg.synack_retries) {
	    st->ctr.synrecv_timeout++;
	    tcp_conn_free(c);
	    return (-1);
	}
	c->rto_us = c->rto_us * 2 > st->cfg.rto_max_us ? st->cfg.rto_max_us
	    : c->rto_us * 2;
	st->ctr.retransmits++;
	tcp_send_synack(c);
	tcp_timer_arm(c, &c->t_rto, now + c->rto_us);
	return (0);
    }
    if (c->snd_una == c->snd_max)
	return (0);
    if (++c->retries > st->cfg.max_retries) {
	tcp_send_rst(c);
	return (tcp_conn_notify_closed(c, TCP_CLOSE_TIMEOUT));
    }
    st->ctr.rto_timeouts++;
    flight = c->snd_max - c->snd_una;
    c->ssthresh = flight / 2 > 2U * c->mss ? flight / 2 : 2U * c->mss;
    c->cwnd = c->mss;
    c->bytes_acked = 0;
    c->recover = c->snd_max;
    c->dupacks = 0;
    c->flags &= ~(TCF_RECOVERY | TCF_RTT_TIMING);
    c->rto_us = c->rto_us * 2 > st->cfg.rto_max_us ? st->cfg.rto_max_us
	: c->rto_us * 2;
    c->snd_nxt = c->snd_una;
    /* A second RTO in a row: maybe the peer reneged on its SACKs. */
    if (c->retries > 1)
	tcp_reass_init(&c->sacked);
    tcp_retransmit(c);
    tcp_timer_arm(c, &c->t_rto, now + c->rto_us);
    return (0);
}

/* persist_expired - probe a zero window; back off like the RTO */
static void
persist_expired(struct tcp_conn *c, uint64_t now)
{
    uint64_t ival;

    c->t_persist = 0;
    if (c->snd_wnd != 0 || c->snd_end == c->snd_una)
	return;
    tcp_send_probe(c);
    if (c->persist_shift < 16)
	c->persist_shift++;
    ival = (uint64_t) (c->rto_us > c->st->cfg.persist_min_us ? c->rto_us
		       : c->st->cfg.persist_min_us) << c->persist_shift;
    if (ival > TCP_PERSIST_MAX_US)
	ival = TCP_PERSIST_MAX_US;
    tcp_timer_arm(c, &c->t_persist, now + ival);
}

/* conn_timer - wheel callback: run whichever deadlines passed */
static void
conn_timer(void *arg, uint32_t idx, uint64_t now)
{
    struct tcp_stack *st = arg;
    struct tcp_conn *c = &st->conns[idx];
    uint64_t idle = idle_deadline(c);

    if (c->state == TCP_ST_CLOSED)
	return;
    if (idle && now >= idle) {
	tcp_send_rst(c);
	tcp_conn_notify_closed(c, TCP_CLOSE_IDLE);
	return;
    }
    if (c->t_close && now >= c->t_close) {
	/* Orphaned FIN-WAIT-2 (or LAST-ACK): the app is long gone. */
	tcp_conn_notify_closed(c, TCP_CLOSE_TIMEOUT);
	return;
    }
    if (c->t_rto && now >= c->t_rto && rto_expired(c, now) < 0)
	return;
    if (c->t_persist && now >= c->t_persist)
	persist_expired(c, now);
    if (c->t_delack && now >= c->t_delack) {
	c->t_delack = 0;
	st->ctr.delayed_acks++;
	tcp_send_ack(c);
    }
    tcp_timer_rearm(c);
}

/* tcp_timers_run - the loop's clock tick */
void
tcp_timers_run(struct tcp_stack *st, uint64_t now_us)
{
    st->now_us = now_us;
    tcp_wheel_run(&st->wheel, now_us, conn_timer, st);
    tcp_tw_expire(st);
    tcp_flush(st);
}
