/*
 * tcp_recovery.c - what we do about loss on our sending side
 *
 *   void tcp_recovery_ack(c, acked);	snd_una advanced by acked bytes
 *   void tcp_recovery_dupack(c);	a duplicate ACK arrived
 *   void tcp_sack_update(c, seg);	record the peer's SACK blocks
 *   uint32_t tcp_sack_skip(c, seq, &limit);  next unSACKed byte to resend
 *
 * Congestion control is NewReno (RFC 5681, RFC 6582): slow start,
 * congestion avoidance by bytes acked, fast retransmit after three
 * duplicate ACKs (or, with SACK, once three segments' worth above snd_una
 * are SACKed: RFC 6675 IsLost), limited transmit on the first two
 * duplicates (RFC 3042). Without SACK, recovery resends one hole per
 * partial ACK. With SACK, recovery resends every hole below the highest
 * SACKed byte while the estimated pipe is below cwnd (RFC 6675, simplified:
 * holes below the retransmission point count as in flight, holes above it
 * as lost), and go-back-N after an RTO skips ranges the peer has SACKed.
 * The scoreboard is the out-of-order range list of tcp_reass.c reused for
 * the send side; it is dropped after a second RTO in a row, in case the
 * peer reneged on what it SACKed.
 *
 * Diagnostics: none; fast retransmits and retransmitted segments are
 * counted.
 */

#include "tcp_int.h"

/* flight_half - RFC 5681 ssthresh after a loss */
static uint32_t
flight_half(const struct tcp_conn *c)
{
    uint32_t flight = c->snd_max - c->snd_una;

    return (flight / 2 > 2U * c->mss ? flight / 2 : 2U * c->mss);
}

/* sack_mode - recovery driven by the scoreboard */
static int
sack_mode(const struct tcp_conn *c)
{
    return ((c->flags & TCF_SACK) && c->sacked.n);
}

/* tcp_sack_update - add the peer's SACK blocks to the scoreboard */
void
tcp_sack_update(struct tcp_conn *c, const struct tcp_seg *s)
{
    unsigned i;

    if (!(c->flags & TCF_SACK))
	return;
    for (i = 0; i < s->opt.nsack; i++) {
	uint32_t start = s->opt.sack[i][0], end = s->opt.sack[i][1];

	/* D-SACKs (below snd_una) and blocks beyond what we sent: ignore. */
	if (!SEQ_LT(start, end) || SEQ_LEQ(end, c->snd_una)
	    || SEQ_GT(end, c->snd_max))
	    continue;
	if (SEQ_LT(start, c->snd_una))
	    start = c->snd_una;
	(void) tcp_reass_add(&c->sacked, start, end, TCP_REASS_MAX);
    }
}

/* tcp_sack_skip - first byte at or after seq not SACKed; *limit is where
 * the next SACKed range starts (or is left alone) */
uint32_t
tcp_sack_skip(const struct tcp_conn *c, uint32_t seq, uint32_t *limit)
{
    unsigned i;

    for (i = 0; i < c->sacked.n; i++) {
	if (SEQ_LEQ(c->sacked.r[i].end, seq))
	    continue;
	if (SEQ_LEQ(c->sacked.r[i].start, seq)) {
	    seq = c->sacked.r[i].end;
	    continue;
	}
	if (SEQ_LT(c->sacked.r[i].start, *limit))
	    *limit = c->sacked.r[i].start;
	break;
    }
    return (seq);
}

/* sack_pipe - RFC 6675 pipe: in flight = beyond the highest SACK, plus the
 * holes already resent (below rexmit_nxt) */
static uint32_t
sack_pipe(const struct tcp_conn *c, uint32_t high)
{
    uint32_t below = c->rexmit_nxt - c->snd_una, i;

    for (i = 0; i < c->sacked.n && SEQ_LT(c->sacked.r[i].start,
					    c->rexmit_nxt); i++) {
	uint32_t e = SEQ_MIN(c->sacked.r[i].end, c->rexmit_nxt);

	below -= e - c->sacked.r[i].start;
    }
    return ((c->snd_max - high) + below);
}

/* sack_resend - resend holes while the pipe leaves room in cwnd */
static void
sack_resend(struct tcp_conn *c)
{
    uint32_t high = c->sacked.r[c->sacked.n - 1].end;
    uint32_t pipe;

    if (SEQ_LT(c->rexmit_nxt, c->snd_una))
	c->rexmit_nxt = c->snd_una;
    pipe = sack_pipe(c, high);
    while (pipe + c->mss <= c->cwnd || pipe == 0) {
	uint32_t limit = high, seq, n;

	seq = tcp_sack_skip(c, c->rexmit_nxt, &limit);
	if (!SEQ_LT(seq, high))
	    break;
	n = limit - seq < c->mss ? limit - seq : c->mss;
	c->flags &= ~TCF_RTT_TIMING;
	c->st->ctr.retransmits++;
	if (tcp_send_data(c, seq, n, 0) < 0)
	    break;
	c->rexmit_nxt = seq + n;
	pipe += n;
    }
}

/* enter_recovery - fast retransmit (RFC 5681 3.2, RFC 6675 5) */
static void
enter_recovery(struct tcp_conn *c)
{
    c->ssthresh = flight_half(c);
    c->recover = c->snd_max;
    c->flags |= TCF_RECOVERY;
    c->flags &= ~TCF_RTT_TIMING;
    c->st->ctr.fast_retransmits++;
    if (sack_mode(c)) {
	c->cwnd = c->ssthresh;
	c->rexmit_nxt = c->snd_una;
	sack_resend(c);
    } else {
	tcp_retransmit(c);
	c->cwnd = c->ssthresh + TCP_DUPACK_THRESH * c->mss;
    }
    tcp_timer_arm(c, &c->t_rto, c->st->now_us + c->rto_us);
    tcp_conn_pending(c);
}

/* may_recover - the loss is news: not from the window we already fixed */
static int
may_recover(const struct tcp_conn *c)
{
    return (SEQ_GEQ(c->snd_una, c->recover) && c->snd_una != c->snd_max);
}

/* tcp_recovery_ack - new data acknowledged (snd_una already advanced) */
void
tcp_recovery_ack(struct tcp_conn *c, uint32_t acked)
{
    tcp_reass_trim(&c->sacked, c->snd_una);
    if (c->flags & TCF_RECOVERY) {
	if (SEQ_GEQ(c->snd_una, c->recover)) {
	    uint32_t flight = c->snd_max - c->snd_una;

	    c->cwnd = flight + c->mss < c->ssthresh ? flight + c->mss
		: c->ssthresh;
	    c->flags &= ~TCF_RECOVERY;
	    c->dupacks = 0;
	} else if (sack_mode(c)) {
	    sack_resend(c);
	} else {
	    /* RFC 6582 partial ACK: resend the next hole, deflate. */
	    tcp_retransmit(c);
	    c->cwnd = c->cwnd > acked ? c->cwnd - acked + c->mss : c->mss;
	}
	return;
    }
    c->dupacks = 0;
    if (c->cwnd < c->ssthresh)
	c->cwnd += acked < c->mss ? acked : c->mss;
    else if ((c->bytes_acked += acked) >= c->cwnd) {
	c->bytes_acked -= c->cwnd;
	c->cwnd += c->mss;
    }
    /* A cumulative ACK can still report a later loss through SACK. */
    if (c->sacked.bytes >= TCP_DUPACK_THRESH * (uint32_t) c->mss
	&& may_recover(c))
	enter_recovery(c);
}

/* tcp_recovery_dupack - RFC 5681 / 6582 / 3042 duplicate ACK */
void
tcp_recovery_dupack(struct tcp_conn *c)
{
    if (c->flags & TCF_RECOVERY) {
	if (sack_mode(c))
	    sack_resend(c);
	else
	    c->cwnd += c->mss;
	tcp_conn_pending(c);
	return;
    }
    if (c->dupacks < UINT8_MAX)
	c->dupacks++;
    if ((c->dupacks >= TCP_DUPACK_THRESH
	 || c->sacked.bytes >= TCP_DUPACK_THRESH * (uint32_t) c->mss)
	&& may_recover(c)) {
	enter_recovery(c);
	return;
    }
    tcp_conn_pending(c);		/* limited transmit may send */
}
