/*
 * eth_in.c - Ethernet input: the first layer a received frame meets
 *
 *	void eth_input(struct dp_lcore *lc, struct rte_mbuf *m);
 *
 * DESCRIPTION
 *	Accepts frames addressed to our MAC or to broadcast, and passes
 *	ARP and IPv4 up. Chained mbufs (jumbo frames in small buffers) are
 *	linearized once here so every upper layer sees one contiguous frame.
 *	No VLAN: a tagged frame is a frame of unknown type.
 *
 * DIAGNOSTICS
 *	Counted: drop_eth_short, drop_not_for_us, drop_eth_type, drop_multiseg.
 */
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dp.h"

/* eth_input - validate and dispatch one frame by EtherType */
void    eth_input(struct dp_lcore *lc, struct rte_mbuf *m)
{
    const struct rte_ether_hdr *eh;

    if (unlikely(!rte_pktmbuf_is_contiguous(m)) && rte_pktmbuf_linearize(m) < 0) {
	lc->stats->drop_multiseg++;
	rte_pktmbuf_free(m);
	return;
    }
    if (unlikely(rte_pktmbuf_data_len(m) < sizeof(*eh))) {
	lc->stats->drop_eth_short++;
	rte_pktmbuf_free(m);
	return;
    }
    eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
    if (!rte_is_same_ether_addr(&eh->dst_addr, &lc->mac)
	&& !rte_is_broadcast_ether_addr(&eh->dst_addr)) {
	lc->stats->drop_not_for_us++;
	rte_pktmbuf_free(m);
	return;
    }
    m->l2_len = sizeof(*eh);
    switch (eh->ether_type) {
    case RTE_BE16(RTE_ETHER_TYPE_IPV4):
	ip_input(lc, m);
	return;
    case RTE_BE16(RTE_ETHER_TYPE_ARP):
	arp_input(lc, m, 0);
	return;
    default:
	lc->stats->drop_eth_type++;
	rte_pktmbuf_free(m);
	return;
    }
}
