/*
 * dp_tcp.c - the TCP layer's view of the data plane: mbufs down to IPv4
 *
 *	void dptcp_lower_ops(struct dp_lcore *lc, struct tcp_lower_ops *ops);
 *
 * DESCRIPTION
 *	TCP (tcp.h) knows no DPDK types. It asks for a buffer with room for
 *	its header and payload (tx_alloc), writes into it, and hands it back
 *	with the addresses (tx_send). Here the buffer is an rte_mbuf from
 *	the lcore's pool whose data starts after DPTCP_HEADROOM bytes, enough
 *	for the IPv4 and Ethernet headers that ip_output() and eth_output()
 *	prepend in place: no copy between layers.
 *
 *	The SYN-time sender filter hook (syn_filter) is left NULL until the
 *	sender filter tables exist; TCP then accepts every source.
 *
 * DIAGNOSTICS
 *	tx_alloc returns NULL when the pool is empty or the segment does not
 *	fit one mbuf; TCP counts that (tx_alloc_fail) and retries later.
 */
#include <netinet/in.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dp.h"

#define DPTCP_HEADROOM	(RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr))

_Static_assert(RTE_PKTMBUF_HEADROOM >= DPTCP_HEADROOM,
	       "mbuf headroom must fit Ethernet and IPv4 headers");

/* dptcp_tx_alloc - an mbuf with len bytes for TCP header and payload */
static void *dptcp_tx_alloc(void *ctx, size_t len, uint8_t **tcp_hdr_out)
{
    struct dp_lcore *lc = ctx;
    struct rte_mbuf *m;
    char   *p;

    if (unlikely((m = rte_pktmbuf_alloc(lc->pool)) == 0)) {
	lc->stats->drop_no_mbuf++;
	return (0);
    }
    if (unlikely(len > UINT16_MAX || (p = rte_pktmbuf_append(m, (uint16_t) len)) == 0)) {
	rte_pktmbuf_free(m);
	return (0);
    }
    *tcp_hdr_out = (uint8_t *) p;
    return (m);
}

/* dptcp_tx_send - a finished segment goes down to IPv4 */
static void dptcp_tx_send(void *ctx, void *buf, uint32_t saddr, uint32_t daddr,
			          size_t len)
{
    struct dp_lcore *lc = ctx;
    struct rte_mbuf *m = buf;

    if (len < rte_pktmbuf_data_len(m))
	rte_pktmbuf_trim(m, rte_pktmbuf_data_len(m) - len);
    ip_output(lc, m, saddr, daddr, IPPROTO_TCP);
}

/* dptcp_syn_filter - the application's sender filter at SYN */
static int dptcp_syn_filter(void *ctx, uint32_t saddr, uint16_t sport)
{
    struct dp_lcore *lc = ctx;

    return (lc->syn_filter(lc->app_ctx, saddr, sport));
}

/* dptcp_lower_ops - the ops TCP is created with on this lcore */
void    dptcp_lower_ops(struct dp_lcore *lc, struct tcp_lower_ops *ops)
{
    ops->ctx = lc;
    ops->tx_alloc = dptcp_tx_alloc;
    ops->tx_send = dptcp_tx_send;
    ops->syn_filter = lc->syn_filter ? dptcp_syn_filter : 0;
}
