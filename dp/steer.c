/*
 * steer.c - software steering: every TCP flow is handled by one lcore
 *
 *	unsigned steer_owner(uint32_t a, uint32_t b, uint16_t pa, uint16_t pb,
 *			unsigned nworkers);
 *	int steer_to(struct dp_lcore *lc, unsigned owner, struct rte_mbuf *m);
 *	void steer_drain(struct dp_lcore *lc);
 *
 * DESCRIPTION
 *	A flow's owner is a hash of its 4-tuple, symmetric in (address,
 *	port) direction so that both directions of a flow would agree, mapped
 *	onto the workers by multiply-shift. Whatever queue the NIC (RSS,
 *	af_packet fanout, a tap's single queue) puts a segment on, the lcore
 *	that reads it computes the owner and, when that is another lcore,
 *	enqueues the mbuf on the owner's ring (multi-producer, single
 *	consumer). Segments of one flow always take the same path, so their
 *	order is kept.
 *
 *	The ring also carries copies of ARP packets, which the receiver
 *	recognises by EtherType and only learns from.
 *
 * DIAGNOSTICS
 *	steer_to() returns 0, or -1 when the ring was full (the mbuf is
 *	freed, drop_steer_full counted: TCP recovers as from any loss).
 */
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp.h"

/* steer_owner - owner lcore of a flow, the same from either direction */
unsigned steer_owner(uint32_t a, uint32_t b, uint16_t pa, uint16_t pb,
		             unsigned nworkers)
{
    uint32_t h;

    if (nworkers <= 1)
	return (0);
    /* XOR makes it symmetric; the finalizer (murmur3 fmix32) spreads it. */
    h = (a ^ b) * 0x9e3779b1U ^ (uint32_t) (pa ^ pb);
    h ^= h >> 16;
    h *= 0x85ebca6bU;
    h ^= h >> 13;
    h *= 0xc2b2ae35U;
    h ^= h >> 16;
    return ((unsigned) (((uint64_t) h * nworkers) >> 32));
}

/* steer_to - pass a validated TCP segment to its owner */
int     steer_to(struct dp_lcore *lc, unsigned owner, struct rte_mbuf *m)
{
    if (unlikely(rte_ring_mp_enqueue(lc->rings[owner], m) != 0)) {
	lc->stats->drop_steer_full++;
	rte_pktmbuf_free(m);
	return (-1);
    }
    lc->stats->steer_out++;
    return (0);
}

/* steer_drain - process what other lcores passed to us */
void    steer_drain(struct dp_lcore *lc)
{
    struct rte_mbuf *pkts[DP_BURST];
    const struct rte_ether_hdr *eh;
    unsigned n, i;

    n = rte_ring_sc_dequeue_burst(lc->rings[lc->index], (void **) pkts, DP_BURST, 0);
    lc->stats->steer_in += n;
    for (i = 0; i < n; i++) {
	eh = rte_pktmbuf_mtod(pkts[i], const struct rte_ether_hdr *);
	if (eh->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP))
	    arp_input(lc, pkts[i], 1);
	else
	    ip_input_steered(lc, pkts[i]);
    }
}
