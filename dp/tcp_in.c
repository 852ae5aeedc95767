/*
 * tcp_in.c - a segment arrives (RFC 9293 3.10.7, hardened per RFC 5961)
 *
 *   void tcp_input(st, saddr, daddr, seg, len, flags, now_us);
 *   int tcp_parse(&parsed, seg, len);
 *
 * Order of checks for a known conn: SYN retransmission in SYN-RECEIVED,
 * PAWS (RFC 7323), sequence acceptability, RST (exact sequence resets,
 * otherwise in-window gets a challenge ACK: RFC 5961 3), SYN (challenge
 * ACK: RFC 5961 4), ACK (too old: challenge ACK, RFC 5961 5; beyond what
 * we sent: ACK and drop), data, FIN. With no conn: TIME_WAIT records,
 * SYN-cookie ACKs, SYNs to a listener (sender filter, connection limit,
 * backlog full -> cookies), everything else answered with RST.
 *
 * Payload is copied into the conn's receive ring at its sequence position,
 * out-of-order too (the window guarantees the room); tcp_reass.c only
 * keeps the list of filled ranges. An in-order segment without NIC
 * checksum is verified during that copy (tcp_cksum_copy): the bytes land
 * in uncommitted ring space, so a bad segment leaves nothing that counts.
 * The peer's SACK blocks go to the send-side scoreboard (tcp_recovery.c).
 *
 * Diagnostics: none; every drop is counted by reason.
 */

#include <string.h>

#include "tcp_int.h"

#define OPT_EOL		0
#define OPT_NOP		1
#define OPT_MSS		2
#define OPT_WS		3
#define OPT_SACK_OK	4
#define OPT_SACK	5
#define OPT_TS		8

/* get16 - big-endian load */
static inline uint16_t
get16(const uint8_t *p)
{
    return ((uint16_t) (p[0] << 8 | p[1]));
}

/* get32 - big-endian load */
static inline uint32_t
get32(const uint8_t *p)
{
    return ((uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
	    | (uint32_t) p[2] << 8 | p[3]);
}

/* parse_opts - the options we use; -1 on a malformed list */
static int
parse_opts(struct tcp_opts *o, const uint8_t *p, size_t len)
{
    size_t  i = 0;

    while (i < len) {
	uint8_t kind = p[i], olen;

	if (kind == OPT_EOL)
	    break;
	if (kind == OPT_NOP) {
	    i++;
	    continue;
	}
	if (i + 1 >= len || (olen = p[i + 1]) < 2 || i + olen > len)
	    return (-1);
	switch (kind) {
	case OPT_MSS:
	    if (olen == 4) {
		o->has_mss = 1;
		o->mss = get16(p + i + 2);
	    }
	    break;
	case OPT_WS:
	    if (olen == 3) {
		o->has_ws = 1;
		o->wscale = p[i + 2] > 14 ? 14 : p[i + 2];
	    }
	    break;
	case OPT_SACK_OK:
	    if (olen == 2)
		o->sack_ok = 1;
	    break;
	case OPT_SACK:
	    if (olen >= 10 && (olen - 2) % 8 == 0) {
		unsigned k, nb = (olen - 2) / 8u;

		for (k = 0; k < nb && o->nsack < TCP_SACK_MAX; k++) {
		    o->sack[o->nsack][0] = get32(p + i + 2 + 8 * k);
		    o->sack[o->nsack][1] = get32(p + i + 6 + 8 * k);
		    o->nsack++;
		}
	    }
	    break;
	case OPT_TS:
	    if (olen == 10) {
		o->has_ts = 1;
		o->tsval = get32(p + i + 2);
		o->tsecr = get32(p + i + 6);
	    }
	    break;
	}
	i += olen;
    }
    return (0);
}

/* tcp_parse - header, options and payload of one segment */
int
tcp_parse(struct tcp_seg *s, const uint8_t *p, size_t len)
{
    size_t  doff;

    if (len < TCP_HDR_LEN)
	return (-1);
    doff = (size_t) (p[12] >> 4) * 4;
    if (doff < TCP_HDR_LEN || doff > len)
	return (-1);
    s->sport = get16(p);
    s->dport = get16(p + 2);
    s->seq = get32(p + 4);
    s->ack = get32(p + 8);
    s->flags = p[13] & 0x3f;
    s->win = get16(p + 14);
    s->data = p + doff;
    s->len = (uint32_t) (len - doff);
    memset(&s->opt, 0, sizeof(s->opt));
    if (parse_opts(&s->opt, p + TCP_HDR_LEN, doff - TCP_HDR_LEN) < 0)
	return (-1);
    if ((s->flags & TH_SYN) && (s->flags & (TH_RST | TH_FIN)))
	return (-1);
    if (s->sport == 0 || s->dport == 0)
	return (-1);
    return (0);
}

/* rtt_sample - RFC 6298 2.2-2.4 */
static void
rtt_sample(struct tcp_conn *c, uint32_t r)
{
    const struct tcp_config *cfg = &c->st->cfg;
    uint64_t rto;

    if (c->srtt_us == 0) {
	c->srtt_us = r ? r : 1;
	c->rttvar_us = r / 2;
    } else {
	uint32_t d = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;

	c->rttvar_us = (3 * c->rttvar_us + d) / 4;
	c->srtt_us = (7 * c->srtt_us + r) / 8;
	if (c->srtt_us == 0)
	    c->srtt_us = 1;
    }
    rto = (uint64_t) c->srtt_us + (4ULL * c->rttvar_us > cfg->tick_us
				   ? 4ULL * c->rttvar_us : cfg->tick_us);
    if (rto < cfg->rto_min_us)
	rto = cfg->rto_min_us;
    if (rto > cfg->rto_max_us)
	rto = cfg->rto_max_us;
    c->rto_us = (uint32_t) rto;
}

/* conn_setup - fill a fresh conn from the peer's SYN (or cookie) */
static void
conn_setup(struct tcp_conn *c, const struct tcp_listener *l,
	           const struct tcp_seg *s, uint32_t irs, uint32_t iss,
	           uint16_t peer_mss, int peer_ws, int sack, int ts,
	           uint32_t tsval)
{
    const struct tcp_config *cfg = &c->st->cfg;

    c->app = l->app;
    c->app_conn = l->listen_ctx;
    c->irs = irs;
    c->rcv_nxt = c->rcv_read = irs + 1;
    c->rcv_adv = c->rcv_nxt + (cfg->rcvbuf > 65535 ? 65535 : cfg->rcvbuf);
    c->iss = iss;
    c->snd_una = iss;
    c->snd_nxt = c->snd_max = c->snd_end = iss + 1;
    c->recover = iss;
    c->mss = peer_mss < cfg->mss ? peer_mss : cfg->mss;
    if (c->mss < 64)
	c->mss = 64;
    c->rcv_mss = c->mss;
    if (peer_ws >= 0) {
	c->flags |= TCF_WS;
	c->snd_ws = (uint8_t) peer_ws;
	c->rcv_ws = cfg->wscale;
    }
    if (ts && !(cfg->flags & TCP_CFG_NO_TIMESTAMPS)) {
	c->flags |= TCF_TS;
	c->ts_recent = tsval;
	c->ts_off = tcp_ts_offset(c->st, s->saddr, s->sport, s->daddr,
				  s->dport);
    }
    if (sack && !(cfg->flags & TCP_CFG_NO_SACK))
	c->flags |= TCF_SACK;
    /* The MSS option counts no TCP options (RFC 9293 3.7.1): every
     * segment we send carries a timestamp, so leave room for it, or a
     * full segment exceeds the path MTU. */
    if ((c->flags & TCF_TS) && c->mss > 64 + TCP_TS_OPTLEN)
	c->mss -= TCP_TS_OPTLEN;
    c->snd_wnd = c->max_snd_wnd = s->win;
    c->snd_wl1 = irs;
    c->snd_wl2 = iss;
    c->cwnd = (uint32_t) cfg->init_cwnd * c->mss;
    c->ssthresh = UINT32_MAX / 2;
    c->rto_us = cfg->rto_init_us;
}

/* syn_input - a SYN for a listener: filter, limits, conn or cookie */
static void
syn_input(struct tcp_stack *st, const struct tcp_listener *l,
	          const struct tcp_seg *s)
{
    struct tcp_conn *c;
    uint16_t mss = s->opt.has_mss ? s->opt.mss : TCP_MIN_MSS;

    if (st->lower.syn_filter) {
	int     v = st->lower.syn_filter(st->lower.ctx, s->saddr, s->sport);

	if (v != TCP_FILTER_ACCEPT) {
	    st->ctr.drop_filter++;
	    if (v == TCP_FILTER_RST)
		tcp_send_rst_for(st, s);
	    return;
	}
    }
    if (st->n_free == 0) {
	st->ctr.drop_conn_limit++;
	return;
    }
    if (st->n_synrecv >= st->cfg.syn_backlog
	|| (st->cfg.flags & TCP_CFG_ALWAYS_COOKIES)) {
	uint16_t cmss;
	uint32_t cookie = tcp_cookie_make(st->cfg.secret, s->saddr, s->sport,
					  s->daddr, s->dport, s->seq,
					  st->now_us, mss, &cmss);

	tcp_send_cookie_synack(st, s, cookie, cmss);
	return;
    }
    c = tcp_conn_alloc(st, s);
    conn_setup(c, l, s, s->seq, tcp_isn(st, s->saddr, s->sport, s->daddr,
					s->dport, st->now_us), mss,
	       s->opt.has_ws ? s->opt.wscale : -1, s->opt.sack_ok,
	       s->opt.has_ts, s->opt.tsval);
    tcp_conn_set_state(c, TCP_ST_SYN_RECEIVED);
    tcp_send_synack(c);
    tcp_timer_arm(c, &c->t_rto, st->now_us + c->rto_us);
}

static void conn_input(struct tcp_conn *, struct tcp_seg *);

/* cookie_ack_input - an ACK to a listener: maybe the end of a cookie SYN */
static int
cookie_ack_input(struct tcp_stack *st, const struct tcp_listener *l,
		         struct tcp_seg *s)
{
    struct tcp_conn *c;
    uint16_t mss;
    int     ws = -1, sack = 0;

    if (tcp_cookie_check(st->cfg.secret, s->saddr, s->sport, s->daddr,
			 s->dport, s->seq - 1, s->ack - 1, st->now_us,
			 &mss) < 0) {
	st->ctr.syncookies_failed++;
	return (-1);
    }
    if (st->n_free == 0) {
	st->ctr.drop_conn_limit++;
	return (0);
    }
    if (s->opt.has_ts)
	tcp_cookie_ts_decode(s->opt.tsecr, &ws, &sack);
    st->ctr.syncookies_ok++;
    c = tcp_conn_alloc(st, s);
    conn_setup(c, l, s, s->seq - 1, s->ack - 1, mss, ws, sack,
	       s->opt.has_ts, s->opt.tsval);
    /* The SYN's window was unscaled; this ACK's is scaled. */
    c->snd_wnd = c->max_snd_wnd = (uint32_t) s->win << c->snd_ws;
    tcp_conn_set_state(c, TCP_ST_SYN_RECEIVED);
    conn_input(c, s);
    return (0);
}

/* listen_input - no conn and no TIME_WAIT for this 4-tuple */
static void
listen_input(struct tcp_stack *st, struct tcp_seg *s)
{
    const struct tcp_listener *l = tcp_listener_find(st, s->dport);

    if (s->flags & TH_RST) {
	st->ctr.drop_no_listener++;
	return;
    }
    if (l == 0) {
	st->ctr.drop_no_listener++;
	tcp_send_rst_for(st, s);
	return;
    }
    if ((s->flags & (TH_SYN | TH_ACK)) == TH_SYN) {
	syn_input(st, l, s);
	return;
    }
    if ((s->flags & (TH_SYN | TH_ACK)) == TH_ACK
	&& cookie_ack_input(st, l, s) == 0)
	return;
    st->ctr.drop_bad_ack++;
    tcp_send_rst_for(st, s);
}

/* tw_input - RFC 9293 TIME-WAIT, with RFC 1337 and SYN reuse */
static void
tw_input(struct tcp_stack *st, struct tcp_tw *tw, struct tcp_seg *s)
{
    if (s->flags & TH_RST)
	return;				/* RFC 1337: no TIME-WAIT assassination */
    if ((s->flags & (TH_SYN | TH_ACK)) == TH_SYN) {
	if (SEQ_GT(s->seq, tw->rcv_nxt)
	    || (tw->ts_ok && s->opt.has_ts
		&& SEQ_GT(s->opt.tsval, tw->ts_recent))) {
	    tcp_tw_kill(st, tw);
	    st->ctr.tw_reuse++;
	    listen_input(st, s);
	    return;
	}
	tcp_send_tw_ack(st, tw);
	return;
    }
    if ((s->flags & TH_FIN) || s->len)
	tcp_send_tw_ack(st, tw);
}

/* ack_now - an immediate ACK at flush */
static void
ack_now(struct tcp_conn *c)
{
    c->flags |= TCF_ACK_NOW;
    tcp_conn_pending(c);
}

/* new_ack - snd_una advances: RTT sample, congestion control, RTO */
static void
new_ack(struct tcp_conn *c, const struct tcp_seg *s)
{
    struct tcp_stack *st = c->st;
    /* The SYN's sequence number is not data: it must not grow cwnd. */
    uint32_t acked = s->ack - c->snd_una - (c->snd_una == c->iss ? 1 : 0);

    if ((c->flags & TCF_TS) && s->opt.has_ts && s->opt.tsecr) {
	uint32_t ms = tcp_ts_now(st, c->ts_off) - s->opt.tsecr;

	if (ms < 3600U * 1000)
	    rtt_sample(c, ms * 1000);
    } else if ((c->flags & TCF_RTT_TIMING) && SEQ_GT(s->ack, c->rtt_seq)) {
	c->flags &= ~TCF_RTT_TIMING;
	rtt_sample(c, (uint32_t) (st->now_us - c->rtt_start_us));
    }
    c->retries = 0;
    c->snd_una = s->ack;
    if (SEQ_LT(c->snd_nxt, c->snd_una))
	c->snd_nxt = c->snd_una;
    tcp_recovery_ack(c, acked);
    if (c->snd_una == c->snd_max)
	c->t_rto = 0;
    else
	c->t_rto = st->now_us + c->rto_us;	/* later: no relink needed */
    tcp_timer_arm(c, &c->t_rto, c->t_rto);
    tcp_conn_pending(c);
}

/* ring_write - payload into the receive ring at its sequence position */
static void
ring_write(struct tcp_conn *c, uint32_t seq, const uint8_t *p, uint32_t n)
{
    uint32_t mask = c->st->cfg.rcvbuf - 1, pos = seq & mask;
    uint32_t first = mask + 1 - pos;

    if (first >= n) {
	memcpy(c->rbuf + pos, p, n);
    } else {
	memcpy(c->rbuf + pos, p, first);
	memcpy(c->rbuf, p + first, n - first);
    }
}

/* data_input - trim to the window, store, advance or queue out of order;
 * returns 0 when the FIN (if any) must be ignored (trimmed away) */
static int
data_input(struct tcp_conn *c, const struct tcp_seg *s)
{
    struct tcp_stack *st = c->st;
    uint32_t seq = s->seq, len = s->len, end;
    uint32_t ring_end = c->rcv_read + st->cfg.rcvbuf;
    const uint8_t *p = s->data;

    if (SEQ_LT(seq, c->rcv_nxt)) {
	uint32_t d = c->rcv_nxt - seq;

	if (d >= len) {
	    st->ctr.dup_segs++;
	    st->ctr.dup_bytes += len;
	    ack_now(c);
	    return (1);
	}
	st->ctr.dup_bytes += d;
	seq += d;
	p += d;
	len -= d;
    }
    end = seq + len;
    if (SEQ_GT(end, ring_end)) {
	len = SEQ_GT(ring_end, seq) ? ring_end - seq : 0;
	end = seq + len;
	st->ctr.drop_out_of_window++;
	ack_now(c);
	if (len == 0)
	    return (0);
	ring_write(c, seq, p, len);
	if (seq != c->rcv_nxt) {
	    if (tcp_reass_add(&c->reass, seq, end, st->cfg.ooo_segs) < 0)
		st->ctr.drop_memory++;
	    return (0);
	}
	c->rcv_nxt = tcp_reass_pull(&c->reass, end);
	st->ctr.bytes_in += len;
	return (0);
    }
    if (len == 0)
	return (1);
    if (seq == c->rcv_nxt) {
	if (!s->placed)
	    ring_write(c, seq, p, len);
	st->ctr.bytes_in += len;
	if (c->reass.n) {
	    c->rcv_nxt = tcp_reass_pull(&c->reass, end);
	    ack_now(c);			/* gap filled: tell the sender at once */
	} else {
	    c->rcv_nxt = end;
	}
	c->rcv_unacked += len;
	if (c->rcv_unacked >= 2U * c->rcv_mss)
	    ack_now(c);
	else if (c->t_delack == 0)
	    tcp_timer_arm(c, &c->t_delack, st->now_us + st->cfg.delack_us);
	return (1);
    }
    if (c->reass.bytes + len > st->cfg.ooo_bytes
	|| tcp_reass_add(&c->reass, seq, end, st->cfg.ooo_segs) < 0) {
	st->ctr.drop_memory++;
	ack_now(c);
	return (0);
    }
    ring_write(c, seq, p, len);
    st->ctr.ooo_segs++;
    st->ctr.ooo_bytes += len;
    ack_now(c);
    return (1);
}

/* fin_input - the peer's FIN is in order: move the state machine */
static int
fin_input(struct tcp_conn *c)
{
    c->rcv_nxt++;
    c->flags |= TCF_FIN_RCVD;
    c->flags &= ~TCF_OOO_FIN;
    switch (c->state) {
    case TCP_ST_ESTABLISHED:
	tcp_conn_set_state(c, TCP_ST_CLOSE_WAIT);
	break;
    case TCP_ST_FIN_WAIT_1:
	tcp_conn_set_state(c, TCP_ST_CLOSING);
	break;
    case TCP_ST_FIN_WAIT_2:
	/* Last chance for the app to read what came with the FIN: the conn
	 * becomes a TIME_WAIT record right after. */
	if (tcp_conn_notify_data(c) < 0)
	    return (-1);
	tcp_send_ack(c);
	tcp_conn_to_time_wait(c);
	return (-1);
    }
    ack_now(c);
    return (0);
}

/* established - SYN-RECEIVED -> ESTABLISHED: ask the app */
static int
established(struct tcp_conn *c, const struct tcp_seg *s)
{
    struct tcp_stack *st = c->st;
    void   *app_conn;

    tcp_conn_set_state(c, TCP_ST_ESTABLISHED);
    c->snd_wnd = (uint32_t) s->win << c->snd_ws;
    c->max_snd_wnd = c->snd_wnd;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = s->ack;
    c->retries = 0;
    c->t_rto = 0;
    st->ctr.accepted++;
    if (c->app == 0 || c->app->accept == 0)
	return (0);
    c->in_cb++;
    app_conn = c->app->accept(c->app_conn, c);
    c->in_cb--;
    if (c->flags & TCF_DEAD) {
	c->flags &= ~TCF_DEAD;
	tcp_conn_free(c);
	return (-1);
    }
    if (app_conn == 0) {
	st->ctr.refused++;
	tcp_send_rst(c);
	c->flags |= TCF_DETACHED;
	tcp_conn_free(c);
	return (-1);
    }
    c->app_conn = app_conn;
    return (0);
}

/* conn_input - a segment for a known conn */
static void
conn_input(struct tcp_conn *c, struct tcp_seg *s)
{
    struct tcp_stack *st = c->st;
    uint32_t seg_len = s->len + ((s->flags & TH_SYN) ? 1 : 0)
	+ ((s->flags & TH_FIN) ? 1 : 0);
    uint32_t wnd = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    uint32_t old_read = tcp_readable(c), swnd;
    int     fin_ok;

    if (c->state == TCP_ST_SYN_RECEIVED && (s->flags & TH_SYN)
	&& !(s->flags & TH_ACK) && s->seq == c->irs) {
	st->ctr.retransmits++;
	tcp_send_synack(c);
	return;
    }
    if ((c->flags & TCF_TS) && s->opt.has_ts && !(s->flags & TH_RST)
	&& SEQ_LT(s->opt.tsval, c->ts_recent)) {
	st->ctr.drop_paws++;
	ack_now(c);
	return;
    }
    if (SEQ_LT(s->seq + seg_len, c->rcv_nxt)
	|| SEQ_GT(s->seq, c->rcv_nxt + wnd)
	|| (SEQ_GT(s->seq, c->rcv_nxt) && SEQ_GEQ(s->seq, c->rcv_nxt + wnd)
	    && seg_len > 0)) {
	if (s->flags & TH_RST) {
	    st->ctr.rst_in_window_ignored++;
	    return;
	}
	if (SEQ_LT(s->seq + seg_len, c->rcv_nxt)) {
	    st->ctr.dup_segs++;
	    st->ctr.dup_bytes += s->len;
	} else {
	    st->ctr.drop_out_of_window++;
	}
	ack_now(c);
	return;
    }
    if (s->flags & TH_RST) {
	if (s->seq != c->rcv_nxt) {
	    tcp_send_challenge_ack(c);
	    return;
	}
	if (c->state == TCP_ST_SYN_RECEIVED) {
	    tcp_conn_free(c);
	    return;
	}
	tcp_conn_notify_closed(c, TCP_CLOSE_RST);
	return;
    }
    if (s->flags & TH_SYN) {
	tcp_send_challenge_ack(c);
	return;
    }
    if (!(s->flags & TH_ACK))
	return;
    c->last_rx_us = st->now_us;
    /* RFC 7323 5.3: remember the newest TSval of an in-order segment. */
    if ((c->flags & TCF_TS) && s->opt.has_ts && SEQ_LEQ(s->seq, c->rcv_nxt))
	c->ts_recent = s->opt.tsval;
    if (c->state == TCP_ST_SYN_RECEIVED) {
	if (!SEQ_GT(s->ack, c->snd_una) || SEQ_GT(s->ack, c->snd_max)) {
	    st->ctr.drop_bad_ack++;
	    tcp_send_rst_for(st, s);
	    return;
	}
	if (established(c, s) < 0)
	    return;
    }
    if (SEQ_GT(s->ack, c->snd_max)) {
	st->ctr.drop_bad_ack++;
	ack_now(c);
	return;
    }
    if (SEQ_LT(s->ack, c->snd_una - c->max_snd_wnd)) {
	tcp_send_challenge_ack(c);
	return;
    }
    swnd = (uint32_t) s->win << c->snd_ws;
    if (s->opt.nsack)
	tcp_sack_update(c, s);
    if (SEQ_GT(s->ack, c->snd_una)) {
	new_ack(c, s);
    } else if (s->ack == c->snd_una && s->len == 0 && !(s->flags & TH_FIN)
	       && (swnd == c->snd_wnd || s->opt.nsack)
	       && c->snd_max != c->snd_una) {
	tcp_recovery_dupack(c);
    }
    if (SEQ_LT(c->snd_wl1, s->seq)
	|| (c->snd_wl1 == s->seq && SEQ_LEQ(c->snd_wl2, s->ack))) {
	if (swnd && c->snd_wnd == 0) {
	    c->t_persist = 0;
	    c->persist_shift = 0;
	    tcp_conn_pending(c);
	}
	if (swnd > c->snd_wnd)
	    tcp_conn_pending(c);
	c->snd_wnd = swnd;
	if (swnd > c->max_snd_wnd)
	    c->max_snd_wnd = swnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
    }
    if ((c->flags & TCF_FIN_SENT) && SEQ_GT(c->snd_una, c->snd_end)) {
	switch (c->state) {
	case TCP_ST_FIN_WAIT_1:
	    tcp_conn_set_state(c, TCP_ST_FIN_WAIT_2);
	    if (c->flags & TCF_DETACHED)
		tcp_timer_arm(c, &c->t_close, st->now_us
			      + st->cfg.fin_wait2_us);
	    break;
	case TCP_ST_CLOSING:
	    tcp_conn_to_time_wait(c);
	    return;
	case TCP_ST_LAST_ACK:
	    tcp_conn_notify_closed(c, TCP_CLOSE_FIN);
	    return;
	}
    }
    fin_ok = 1;
    if (s->len && (c->state == TCP_ST_ESTABLISHED
		   || c->state == TCP_ST_FIN_WAIT_1
		   || c->state == TCP_ST_FIN_WAIT_2)) {
	if ((c->flags & TCF_DETACHED) && SEQ_GT(s->seq + s->len, c->rcv_nxt)) {
	    /* Nobody will ever read this: tell the peer now (RFC 9293). */
	    tcp_send_rst(c);
	    tcp_conn_notify_closed(c, TCP_CLOSE_ABORT);
	    return;
	}
	fin_ok = data_input(c, s);
    }
    if ((s->flags & TH_FIN) && fin_ok && !(c->flags & TCF_FIN_RCVD)) {
	uint32_t fin_seq = s->seq + s->len;

	if (fin_seq == c->rcv_nxt) {
	    if (fin_input(c) < 0)
		return;
	} else if (SEQ_GT(fin_seq, c->rcv_nxt)) {
	    c->flags |= TCF_OOO_FIN;
	    c->ooo_fin_seq = fin_seq;
	    ack_now(c);			/* a hole before the FIN: dup ACK */
	}
    }
    if ((c->flags & TCF_OOO_FIN) && c->ooo_fin_seq == c->rcv_nxt
	&& fin_input(c) < 0)
	return;
    if (tcp_readable(c) != old_read || (c->flags & TCF_FIN_RCVD)) {
	if (tcp_conn_notify_data(c) < 0)
	    return;
    }
    if (c->flags & TCF_WANT_WRITE && tcp_conn_notify_writable(c) < 0)
	return;
    tcp_conn_pending(c);
    /* Deadlines that moved earlier were relinked by tcp_timer_arm; later
     * ones (idle, RTO) are found lazily when the node fires. */
    if (st->wheel.nodes[c - st->conns].slot == TCP_NIL)
	tcp_timer_rearm(c);
}

/* placeable - an in-order segment whose payload can go straight into
 * uncommitted ring space (no out-of-order data there to overwrite) */
static int
placeable(const struct tcp_conn *c, const struct tcp_seg *s)
{
    return (s->len && s->seq == c->rcv_nxt && c->reass.n == 0
	    && (c->state == TCP_ST_ESTABLISHED
		|| c->state == TCP_ST_FIN_WAIT_1
		|| c->state == TCP_ST_FIN_WAIT_2)
	    && SEQ_LEQ(s->seq + s->len, c->rcv_read + c->st->cfg.rcvbuf));
}

/* local_addr - is daddr one of ours */
static int
local_addr(const struct tcp_stack *st, uint32_t daddr)
{
    unsigned i;

    if (st->cfg.n_local_addrs == 0)
	return (1);
    for (i = 0; i < st->cfg.n_local_addrs; i++)
	if (st->cfg.local_addrs[i] == daddr)
	    return (1);
    return (0);
}

/* tcp_input - entry from IPv4 input */
void
tcp_input(struct tcp_stack *st, uint32_t saddr, uint32_t daddr,
	          const uint8_t *seg, size_t len, unsigned flags,
	          uint64_t now_us)
{
    struct tcp_seg s;
    struct tcp_conn *c;
    struct tcp_tw *tw;

    st->now_us = now_us;
    st->ctr.seg_in++;
    if (len < TCP_HDR_LEN || len > 65535) {
	st->ctr.drop_header++;
	return;
    }
    if (tcp_parse(&s, seg, len) < 0) {
	if (!(flags & TCP_IN_CSUM_GOOD) && tcp_cksum(saddr, daddr, seg, len))
	    st->ctr.drop_csum++;
	else
	    st->ctr.drop_header++;
	return;
    }
    s.saddr = saddr;
    s.daddr = daddr;
    s.placed = 0;
    c = tcp_conn_lookup(st, saddr, s.sport, daddr, s.dport, &tw);
    if (!(flags & TCP_IN_CSUM_GOOD)) {
	uint16_t bad;

	/* Nothing read from the unverified header is acted on before the
	 * sum checks out; it only says where the payload may go. */
	if (c && placeable(c, &s))
	    bad = tcp_cksum_copy(saddr, daddr, seg, len, (size_t) (s.data - seg),
				 c->rbuf, st->cfg.rcvbuf - 1,
				 s.seq & (st->cfg.rcvbuf - 1));
	else
	    bad = tcp_cksum(saddr, daddr, seg, len);
	if (bad) {
	    st->ctr.drop_csum++;
	    return;
	}
	s.placed = c && placeable(c, &s);
    }
    if (!local_addr(st, daddr)) {
	st->ctr.drop_no_listener++;
	return;
    }
    s.saddr = saddr;
    s.daddr = daddr;
    c = tcp_conn_lookup(st, saddr, s.sport, daddr, s.dport, &tw);
    if (c) {
	conn_input(c, &s);
	return;
    }
    if (tw) {
	tw_input(st, tw, &s);
	return;
    }
    listen_input(st, &s);
}
