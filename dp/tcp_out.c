/*
 * tcp_out.c - segments we send: data, ACKs with SACK blocks, SYN-ACKs, RSTs
 *
 *   void tcp_output(c);		send what window and cwnd allow
 *   void tcp_send_ack(c);
 *   void tcp_send_challenge_ack(c);	RFC 5961, rate limited per stack
 *   void tcp_send_synack(c);
 *   void tcp_send_cookie_synack(st, seg, cookie, mss);
 *   void tcp_send_rst_for(st, seg);	answer to a segment with no conn
 *   void tcp_send_rst(c);
 *   void tcp_send_tw_ack(st, tw);
 *   void tcp_retransmit(c);		one MSS from snd_una
 *   int tcp_send_data(c, seq, n, fin);	one segment from the send ring
 *   void tcp_send_probe(c);		zero-window probe
 *
 * Every segment is built in a buffer from the lower layer's tx_alloc and
 * handed to tx_send. Data comes from the send ring by sequence number, so
 * a retransmission is the same code as a first transmission. The window
 * we advertise is the free receive ring, with receiver-side silly window
 * avoidance (RFC 1122 4.2.3.3): the right edge only moves by at least
 * min(rcvbuf/2, MSS). We send without Nagle: SMTP replies are small and
 * latency-bound, and the app writes whole replies; but no runt is cut by
 * the window while data is in flight (sender SWS avoidance), and the first
 * two duplicate ACKs each release a segment (limited transmit).
 *
 * Diagnostics: a failed tx_alloc is counted (tx_alloc_fail) and the
 * segment dropped; the retransmission timer recovers.
 */

#include <string.h>

#include "tcp_int.h"

#define OPT_NOP		1
#define OPT_MSS		2
#define OPT_WS		3
#define OPT_SACK_OK	4
#define OPT_SACK	5
#define OPT_TS		8

/* put16 - big-endian store */
static inline void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}

/* put32 - big-endian store */
static inline void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}

/* tcp_ts_now - our TSval: a millisecond clock plus the conn's offset */
uint32_t
tcp_ts_now(const struct tcp_stack *st, uint32_t ts_off)
{
    return ((uint32_t) (st->now_us / 1000) + ts_off);
}

/* Everything one segment needs; the payload comes from a send ring. */
struct seg_out {
    uint32_t laddr, raddr;
    uint16_t lport, rport;
    uint32_t seq, ack;
    uint16_t win;
    uint8_t flags;
    uint8_t optlen;
    uint8_t opt[TCP_OPT_MAX];
    const uint8_t *ring;		/* NULL: no payload */
    uint32_t ring_mask;
    uint32_t plen;
};

/* emit - build and send one segment */
static int
emit(struct tcp_stack *st, const struct seg_out *o)
{
    size_t  hlen = TCP_HDR_LEN + o->optlen, len = hlen + o->plen;
    uint8_t *h;
    void   *buf;
    uint16_t sum;

    buf = st->lower.tx_alloc(st->lower.ctx, len, &h);
    if (buf == 0) {
	st->ctr.tx_alloc_fail++;
	st->ctr.drop_memory++;
	return (-1);
    }
    put16(h, o->lport);
    put16(h + 2, o->rport);
    put32(h + 4, o->seq);
    put32(h + 8, o->ack);
    h[12] = (uint8_t) ((hlen / 4) << 4);
    h[13] = o->flags;
    put16(h + 14, o->win);
    h[16] = h[17] = h[18] = h[19] = 0;
    memcpy(h + TCP_HDR_LEN, o->opt, o->optlen);
    if (o->plen) {
	uint32_t pos = o->seq & o->ring_mask, first = o->ring_mask + 1 - pos;

	if (first >= o->plen) {
	    memcpy(h + hlen, o->ring + pos, o->plen);
	} else {
	    memcpy(h + hlen, o->ring + pos, first);
	    memcpy(h + hlen + first, o->ring, o->plen - first);
	}
	st->ctr.bytes_out += o->plen;
    }
    if (st->cfg.flags & TCP_CFG_TX_CSUM_OFFLOAD)
	sum = tcp_cksum_pseudo(o->laddr, o->raddr, len);
    else
	sum = tcp_cksum(o->laddr, o->raddr, h, len);
    memcpy(h + 16, &sum, 2);
    st->lower.tx_send(st->lower.ctx, buf, o->laddr, o->raddr, len);
    st->ctr.seg_out++;
    if (o->flags & TH_RST)
	st->ctr.resets_sent++;
    return (0);
}

/* opt_ts - append nop,nop,TS */
static void
opt_ts(struct seg_out *o, uint32_t val, uint32_t ecr)
{
    uint8_t *p = o->opt + o->optlen;

    p[0] = OPT_NOP;
    p[1] = OPT_NOP;
    p[2] = OPT_TS;
    p[3] = 10;
    put32(p + 4, val);
    put32(p + 8, ecr);
    o->optlen += 12;
}

/* opt_syn - SYN-ACK options in Linux's order and padding */
static void
opt_syn(struct seg_out *o, uint16_t mss, int ws, int sack, int ts,
	        uint32_t tsval, uint32_t tsecr)
{
    uint8_t *p = o->opt;

    p[0] = OPT_MSS;
    p[1] = 4;
    put16(p + 2, mss);
    p += 4;
    if (ts) {
	if (sack) {
	    *p++ = OPT_SACK_OK;
	    *p++ = 2;
	} else {
	    *p++ = OPT_NOP;
	    *p++ = OPT_NOP;
	}
	*p++ = OPT_TS;
	*p++ = 10;
	put32(p, tsval);
	put32(p + 4, tsecr);
	p += 8;
    } else if (sack) {
	*p++ = OPT_NOP;
	*p++ = OPT_NOP;
	*p++ = OPT_SACK_OK;
	*p++ = 2;
    }
    if (ws >= 0) {
	*p++ = OPT_NOP;
	*p++ = OPT_WS;
	*p++ = 3;
	*p++ = (uint8_t) ws;
    }
    o->optlen = (uint8_t) (p - o->opt);
}

/* conn_hdr - addresses, ack and window of a conn's segment */
static void
conn_hdr(struct tcp_conn *c, struct seg_out *o, uint32_t seq, uint8_t flags)
{
    struct tcp_stack *st = c->st;
    uint32_t rcvbuf = st->cfg.rcvbuf;
    uint32_t edge = c->rcv_read + rcvbuf + ((c->flags & TCF_FIN_RCVD) ? 1 : 0);
    uint32_t thresh = rcvbuf / 2 < c->rcv_mss ? rcvbuf / 2 : c->rcv_mss;
    uint32_t adv, win;

    memset(o, 0, offsetof(struct seg_out, opt));
    o->laddr = c->laddr;
    o->raddr = c->raddr;
    o->lport = c->lport;
    o->rport = c->rport;
    o->seq = seq;
    o->flags = flags;
    o->ack = c->rcv_nxt;
    o->ring = 0;
    o->plen = 0;
    /* Receiver SWS avoidance: hold the right edge until it can move far. */
    adv = c->rcv_adv;
    if (SEQ_LT(adv, c->rcv_nxt))
	adv = c->rcv_nxt;
    if (SEQ_GEQ(edge, adv + thresh) || SEQ_LEQ(edge, adv))
	adv = SEQ_MAX(edge, c->rcv_adv);
    win = adv - c->rcv_nxt;
    win = (win + (1U << c->rcv_ws) - 1) >> c->rcv_ws;
    if (win > 65535)
	win = 65535;
    o->win = (uint16_t) win;
    c->rcv_adv = c->rcv_nxt + (win << c->rcv_ws);
    if ((win << c->rcv_ws) < thresh) {
	if (win == 0)
	    st->ctr.zero_window_sent++;
	c->flags |= TCF_ZERO_WIN;
    }
    if (c->flags & TCF_TS)
	opt_ts(o, tcp_ts_now(st, c->ts_off), c->ts_recent);
    if ((c->flags & TCF_SACK) && c->reass.n) {
	uint32_t blk[TCP_SACK_MAX][2];
	unsigned n, i, max = (c->flags & TCF_TS) ? 3 : 4;
	uint8_t *p = o->opt + o->optlen;

	n = tcp_reass_sack(&c->reass, blk, max);
	p[0] = OPT_NOP;
	p[1] = OPT_NOP;
	p[2] = OPT_SACK;
	p[3] = (uint8_t) (2 + 8 * n);
	for (i = 0; i < n; i++) {
	    put32(p + 4 + 8 * i, blk[i][0]);
	    put32(p + 8 + 8 * i, blk[i][1]);
	}
	o->optlen += (uint8_t) (4 + 8 * n);
    }
    if (flags & TH_ACK) {
	c->flags &= ~TCF_ACK_NOW;
	c->t_delack = 0;
	c->rcv_unacked = 0;
    }
}

/* tcp_send_data - one data (and/or FIN) segment at seq */
int
tcp_send_data(struct tcp_conn *c, uint32_t seq, uint32_t n, int fin)
{
    struct seg_out o;
    uint8_t flags = TH_ACK;

    if (fin)
	flags |= TH_FIN;
    if (n && seq + n == c->snd_end)
	flags |= TH_PSH;
    conn_hdr(c, &o, seq, flags);
    o.ring = c->sbuf;
    o.ring_mask = c->st->cfg.sndbuf - 1;
    o.plen = n;
    return (emit(c->st, &o));
}

/* arm_rto - start the retransmission timer if it is not running */
static void
arm_rto(struct tcp_conn *c)
{
    if (c->t_rto == 0)
	tcp_timer_arm(c, &c->t_rto, c->st->now_us + c->rto_us);
}

/* tcp_output - send new data (or go-back-N resend) and FIN; else an ACK */
void
tcp_output(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    int     sent = 0;

    if (c->state == TCP_ST_SYN_RECEIVED || c->state == TCP_ST_CLOSED)
	return;
    for (;;) {
	/* RFC 3042 limited transmit: a segment per early duplicate ACK. */
	uint32_t cwnd = c->cwnd + ((c->flags & TCF_RECOVERY) ? 0
				   : (uint32_t) c->dupacks * c->mss);
	uint32_t wnd = c->snd_wnd < cwnd ? c->snd_wnd : cwnd;
	uint32_t limit = c->snd_una + wnd, n = 0;
	int     fin;

	if ((c->flags & TCF_FIN_SENT) && SEQ_GT(c->snd_nxt, c->snd_end))
	    break;
	/* Resending after an RTO: skip what the peer already SACKed. */
	if (c->sacked.n && SEQ_LT(c->snd_nxt, c->snd_max)) {
	    c->snd_nxt = tcp_sack_skip(c, c->snd_nxt, &limit);
	    if (SEQ_GT(c->snd_nxt, c->snd_max))
		c->snd_nxt = c->snd_max;
	}
	if (SEQ_LT(c->snd_nxt, limit))
	    n = limit - c->snd_nxt;
	if (n > c->snd_end - c->snd_nxt)
	    n = c->snd_end - c->snd_nxt;
	if (n > c->mss)
	    n = c->mss;
	/* Sender SWS avoidance (RFC 1122 4.2.3.4): no runt cut by the window
	 * while more is queued and an ACK is coming to open it. */
	if (n < c->mss && n < c->snd_end - c->snd_nxt
	    && c->snd_una != c->snd_nxt && !SEQ_LT(c->snd_nxt, c->snd_max))
	    break;
	fin = (c->flags & TCF_FIN_QUEUED) && c->snd_nxt + n == c->snd_end;
	if (n == 0 && !fin)
	    break;
	if (fin && n == 0 && c->snd_nxt != c->snd_end)
	    break;
	if (tcp_send_data(c, c->snd_nxt, n, fin) < 0)
	    break;
	sent = 1;
	if (SEQ_LT(c->snd_nxt, c->snd_max))
	    st->ctr.retransmits++;
	else if (!(c->flags & (TCF_TS | TCF_RTT_TIMING))) {
	    c->flags |= TCF_RTT_TIMING;
	    c->rtt_seq = c->snd_nxt;
	    c->rtt_start_us = st->now_us;
	}
	c->snd_nxt += n + (fin ? 1 : 0);
	if (fin)
	    c->flags |= TCF_FIN_SENT;
	if (SEQ_GT(c->snd_nxt, c->snd_max))
	    c->snd_max = c->snd_nxt;
	arm_rto(c);
	c->t_persist = 0;
	if (fin)
	    break;
    }
    if (!sent && (c->flags & TCF_ACK_NOW))
	tcp_send_ack(c);
    /* Peer's window shut with data waiting and nothing in flight: only a
     * probe will learn when it opens. */
    if (c->snd_wnd == 0 && c->snd_end != c->snd_nxt
	&& c->snd_una == c->snd_max && c->t_persist == 0) {
	c->persist_shift = 0;
	c->t_rto = 0;
	tcp_timer_arm(c, &c->t_persist, st->now_us
		      + (c->rto_us > st->cfg.persist_min_us ? c->rto_us
			 : st->cfg.persist_min_us));
    }
}

/* tcp_send_ack - a pure ACK now */
void
tcp_send_ack(struct tcp_conn *c)
{
    struct seg_out o;

    conn_hdr(c, &o, c->snd_nxt, TH_ACK);
    emit(c->st, &o);
}

/* tcp_send_challenge_ack - RFC 5961 section 7 rate limit, then ACK */
void
tcp_send_challenge_ack(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    uint64_t sec = st->now_us / 1000000;

    if (sec != st->chack_epoch) {
	st->chack_epoch = sec;
	st->chack_count = 0;
    }
    if (st->chack_count >= st->cfg.challenge_acks) {
	st->ctr.challenge_acks_limited++;
	return;
    }
    st->chack_count++;
    st->ctr.challenge_acks++;
    tcp_send_ack(c);
}

/* tcp_send_synack - SYN-ACK of a conn in SYN-RECEIVED */
void
tcp_send_synack(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    struct seg_out o;

    memset(&o, 0, sizeof(o));
    o.laddr = c->laddr;
    o.raddr = c->raddr;
    o.lport = c->lport;
    o.rport = c->rport;
    o.seq = c->iss;
    o.ack = c->rcv_nxt;
    o.flags = TH_SYN | TH_ACK;
    o.win = st->cfg.rcvbuf > 65535 ? 65535 : (uint16_t) st->cfg.rcvbuf;
    o.ring = 0;
    o.plen = 0;
    opt_syn(&o, st->cfg.mss, (c->flags & TCF_WS) ? c->rcv_ws : -1,
	    (c->flags & TCF_SACK) != 0, (c->flags & TCF_TS) != 0,
	    tcp_ts_now(st, c->ts_off), c->ts_recent);
    c->rcv_adv = c->rcv_nxt + o.win;
    emit(st, &o);
}

/* tcp_send_cookie_synack - stateless SYN-ACK; options ride in TSval */
void
tcp_send_cookie_synack(struct tcp_stack *st, const struct tcp_seg *s,
		               uint32_t cookie, uint16_t mss)
{
    struct seg_out o;
    int     ts = s->opt.has_ts && !(st->cfg.flags & TCP_CFG_NO_TIMESTAMPS);
    int     ws = (ts && s->opt.has_ws) ? st->cfg.wscale : -1;
    int     sack = ts && s->opt.sack_ok && !(st->cfg.flags & TCP_CFG_NO_SACK);
    uint32_t tsval = 0;

    (void) mss;
    memset(&o, 0, sizeof(o));
    o.laddr = s->daddr;
    o.raddr = s->saddr;
    o.lport = s->dport;
    o.rport = s->sport;
    o.seq = cookie;
    o.ack = s->seq + 1;
    o.flags = TH_SYN | TH_ACK;
    o.win = st->cfg.rcvbuf > 65535 ? 65535 : (uint16_t) st->cfg.rcvbuf;
    o.ring = 0;
    if (ts)
	tsval = tcp_cookie_ts_encode(tcp_ts_now(st, tcp_ts_offset(st,
			    s->saddr, s->sport, s->daddr, s->dport)),
				     ws >= 0 ? s->opt.wscale : -1, sack);
    /* Our own wscale is fixed by configuration; the peer's goes in TSval. */
    opt_syn(&o, st->cfg.mss, ws, sack, ts, tsval, s->opt.tsval);
    st->ctr.syncookies_sent++;
    emit(st, &o);
}

/* tcp_send_rst_for - RFC 9293 reset for a segment that has no conn */
void
tcp_send_rst_for(struct tcp_stack *st, const struct tcp_seg *s)
{
    struct seg_out o;

    if (s->flags & TH_RST)
	return;
    memset(&o, 0, sizeof(o));
    o.laddr = s->daddr;
    o.raddr = s->saddr;
    o.lport = s->dport;
    o.rport = s->sport;
    o.ring = 0;
    if (s->flags & TH_ACK) {
	o.seq = s->ack;
	o.flags = TH_RST;
    } else {
	o.seq = 0;
	o.ack = s->seq + s->len + ((s->flags & TH_SYN) ? 1 : 0)
	    + ((s->flags & TH_FIN) ? 1 : 0);
	o.flags = TH_RST | TH_ACK;
    }
    emit(st, &o);
}

/* tcp_send_rst - abort a conn: RST+ACK at snd_nxt */
void
tcp_send_rst(struct tcp_conn *c)
{
    struct seg_out o;

    conn_hdr(c, &o, c->snd_max, TH_RST | TH_ACK);
    o.win = 0;
    o.optlen = 0;
    emit(c->st, &o);
}

/* tcp_send_tw_ack - re-ACK a retransmitted FIN from TIME_WAIT */
void
tcp_send_tw_ack(struct tcp_stack *st, const struct tcp_tw *tw)
{
    struct seg_out o;
    uint32_t win = st->cfg.rcvbuf >> tw->rcv_ws;

    memset(&o, 0, sizeof(o));
    o.laddr = tw->laddr;
    o.raddr = tw->raddr;
    o.lport = tw->lport;
    o.rport = tw->rport;
    o.seq = tw->snd_nxt;
    o.ack = tw->rcv_nxt;
    o.flags = TH_ACK;
    o.win = win > 65535 ? 65535 : (uint16_t) win;
    o.ring = 0;
    if (tw->ts_ok)
	opt_ts(&o, tcp_ts_now(st, tw->ts_off), tw->ts_recent);
    emit(st, &o);
}

/* tcp_retransmit - resend the oldest unacknowledged segment */
void
tcp_retransmit(struct tcp_conn *c)
{
    uint32_t n = c->snd_end - c->snd_una;
    int     fin;

    if (SEQ_GT(c->snd_una, c->snd_end))
	n = 0;
    if (n > c->mss)
	n = c->mss;
    fin = (c->flags & TCF_FIN_SENT) && c->snd_una + n == c->snd_end;
    if (n == 0 && !fin)
	return;
    c->flags &= ~TCF_RTT_TIMING;		/* Karn: no sample from this */
    c->st->ctr.retransmits++;
    if (tcp_send_data(c, c->snd_una, n, fin) < 0)
	return;
    if (SEQ_LT(c->snd_nxt, c->snd_una + n + (fin ? 1 : 0)))
	c->snd_nxt = c->snd_una + n + (fin ? 1 : 0);
}

/* tcp_send_probe - zero-window probe: an old ACK the peer must answer */
void
tcp_send_probe(struct tcp_conn *c)
{
    struct seg_out o;

    conn_hdr(c, &o, c->snd_una - 1, TH_ACK);
    c->st->ctr.persist_probes++;
    emit(c->st, &o);
}
