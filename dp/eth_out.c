/*
 * eth_out.c - Ethernet output and the buffered transmit queue
 *
 *	void eth_output(struct dp_lcore *lc, struct rte_mbuf *m,
 *			const struct rte_ether_addr *dst, uint16_t type);
 *	void eth_tx_flush(struct dp_lcore *lc);
 *
 * DESCRIPTION
 *	eth_output() prepends the Ethernet header and queues the frame on the
 *	lcore's own TX queue. Frames leave in bursts of DP_BURST: the queue
 *	is flushed when full, and by the lcore loop at least every
 *	tx_drain_us, so a lone ACK waits no longer than that.
 *
 *	Without a port (DP_NO_PORT) flushed frames are counted and freed, or
 *	handed to lc->tx_capture when a test set it.
 *
 * DIAGNOSTICS
 *	Counted: drop_no_mbuf (no headroom), drop_tx_full (the NIC queue did
 *	not take the frame; it is freed, TCP will retransmit).
 */
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dp.h"

/* eth_tx_flush - hand the queued frames to the NIC */
void    eth_tx_flush(struct dp_lcore *lc)
{
    struct dp_txbuf *tb = &lc->tx;
    int     sink = lc->port_id == DP_NO_PORT && lc->tx_capture == 0;
    uint16_t sent, counted;
    uint16_t i;

    if (tb->n == 0)
	return;
    if (lc->port_id != DP_NO_PORT) {
	uint64_t t0 = rte_rdtsc();

	sent = rte_eth_tx_burst(lc->port_id, lc->queue_id, tb->m, tb->n);
	lc->stats->tx_cycles += rte_rdtsc() - t0;
	lc->stats->tx_bursts++;
    } else if (lc->tx_capture != 0)
	sent = (uint16_t) rte_ring_enqueue_burst(lc->tx_capture, (void **) tb->m, tb->n, 0);
    else
	sent = 0;
    /* A sink "transmits" everything: counted as sent, then freed below. */
    counted = sink ? tb->n : sent;
    for (i = 0; i < counted; i++)
	lc->stats->tx_bytes += rte_pktmbuf_pkt_len(tb->m[i]);
    lc->stats->tx_pkts += counted;
    lc->stats->drop_tx_full += tb->n - counted;
    for (i = sent; i < tb->n; i++)
	rte_pktmbuf_free(tb->m[i]);
    tb->n = 0;
}

/* eth_output - add the Ethernet header and queue for transmission */
void    eth_output(struct dp_lcore *lc, struct rte_mbuf *m,
		           const struct rte_ether_addr *dst, uint16_t type)
{
    struct rte_ether_hdr *eh;

    eh = (struct rte_ether_hdr *) rte_pktmbuf_prepend(m, sizeof(*eh));
    if (unlikely(eh == 0)) {
	lc->stats->drop_no_mbuf++;
	rte_pktmbuf_free(m);
	return;
    }
    rte_ether_addr_copy(dst, &eh->dst_addr);
    rte_ether_addr_copy(&lc->mac, &eh->src_addr);
    eh->ether_type = rte_cpu_to_be_16(type);
    lc->tx.m[lc->tx.n++] = m;
    if (lc->tx.n == DP_BURST)
	eth_tx_flush(lc);
}
