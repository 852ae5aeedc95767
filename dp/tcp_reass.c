/*
 * tcp_reass.c - out-of-order ranges beyond rcv_nxt (bookkeeping only)
 *
 *   void tcp_reass_init(struct tcp_reass *q);
 *   int tcp_reass_add(q, start, end, max_ranges);
 *   uint32_t tcp_reass_pull(q, rcv_nxt);
 *   void tcp_reass_trim(q, below);		(the send side's SACK scoreboard)
 *   unsigned tcp_reass_sack(q, blocks, max);
 *
 * Out-of-order payload is written straight into the receive ring at its
 * sequence position (the window guarantees the room), so reassembly only
 * has to remember which ranges past rcv_nxt are filled: a small sorted
 * array of disjoint [start, end) ranges, merged on insert. Memory per
 * connection is fixed (TCP_REASS_MAX ranges); a segment that would need
 * more ranges than allowed is dropped and the peer retransmits it.
 *
 * Diagnostics: tcp_reass_add returns -1 when the range table is full.
 */

#include <string.h>

#include "tcp_int.h"

/* tcp_reass_init - empty queue */
void
tcp_reass_init(struct tcp_reass *q)
{
    q->n = 0;
    q->recent = 0;
    q->bytes = 0;
}

/* recount - total bytes held */
static void
recount(struct tcp_reass *q)
{
    unsigned i;

    q->bytes = 0;
    for (i = 0; i < q->n; i++)
	q->bytes += q->r[i].end - q->r[i].start;
}

/* tcp_reass_add - note [start,end) as received; merge overlaps */
int
tcp_reass_add(struct tcp_reass *q, uint32_t start, uint32_t end,
	              unsigned max_ranges)
{
    unsigned i, j, k;

    if (!SEQ_LT(start, end))
	return (0);
    /* First range that ends at or after start: it may touch ours. */
    for (i = 0; i < q->n && SEQ_LT(q->r[i].end, start); i++)
	 /* void */ ;
    /* Ranges i..j-1 overlap or touch [start,end). */
    for (j = i; j < q->n && SEQ_LEQ(q->r[j].start, end); j++)
	 /* void */ ;
    if (i == j) {
	if (q->n >= max_ranges || q->n >= TCP_REASS_MAX)
	    return (-1);
	memmove(&q->r[i + 1], &q->r[i], (q->n - i) * sizeof(q->r[0]));
	q->r[i].start = start;
	q->r[i].end = end;
	q->n++;
    } else {
	q->r[i].start = SEQ_MIN(q->r[i].start, start);
	q->r[i].end = SEQ_MAX(q->r[j - 1].end, end);
	k = j - i - 1;
	if (k) {
	    memmove(&q->r[i + 1], &q->r[j], (q->n - j) * sizeof(q->r[0]));
	    q->n -= k;
	}
    }
    q->recent = (uint8_t) i;
    recount(q);
    return (0);
}

/* tcp_reass_trim - forget everything below a sequence number */
void
tcp_reass_trim(struct tcp_reass *q, uint32_t below)
{
    unsigned drop = 0;

    while (drop < q->n && SEQ_LEQ(q->r[drop].end, below))
	drop++;
    if (drop) {
	memmove(&q->r[0], &q->r[drop], (q->n - drop) * sizeof(q->r[0]));
	q->n -= drop;
	q->recent = q->recent >= drop ? q->recent - drop : 0;
    }
    if (q->n && SEQ_LT(q->r[0].start, below))
	q->r[0].start = below;
    if (drop || q->n)
	recount(q);
}

/* tcp_reass_pull - advance rcv_nxt over ranges that now join it */
uint32_t
tcp_reass_pull(struct tcp_reass *q, uint32_t rcv_nxt)
{
    unsigned drop = 0;

    while (drop < q->n && SEQ_LEQ(q->r[drop].start, rcv_nxt)) {
	rcv_nxt = SEQ_MAX(rcv_nxt, q->r[drop].end);
	drop++;
    }
    if (drop) {
	memmove(&q->r[0], &q->r[drop], (q->n - drop) * sizeof(q->r[0]));
	q->n -= drop;
	q->recent = q->recent >= drop ? q->recent - drop : 0;
	recount(q);
    }
    return (rcv_nxt);
}

/* tcp_reass_sack - SACK blocks, most recently changed first (RFC 2018) */
unsigned
tcp_reass_sack(const struct tcp_reass *q, uint32_t blocks[][2], unsigned max)
{
    unsigned i, n = 0;

    if (q->n == 0 || max == 0)
	return (0);
    blocks[n][0] = q->r[q->recent].start;
    blocks[n][1] = q->r[q->recent].end;
    n++;
    for (i = q->n; i-- > 0 && n < max;) {
	if (i == q->recent)
	    continue;
	blocks[n][0] = q->r[i].start;
	blocks[n][1] = q->r[i].end;
	n++;
    }
    return (n);
}
