/*
 * icmp.c - ICMP: echo reply
 *
 *	void icmp_input(struct dp_lcore *lc, struct rte_mbuf *m);
 *
 * DESCRIPTION
 *	An echo request to our address is answered with the same identifier,
 *	sequence and data, reusing the request's mbuf. Every other ICMP type
 *	is dropped: TCP here does not act on ICMP errors (RFC 5927 lets a
 *	host ignore them, and blind ICMP resets are an attack).
 *
 * DIAGNOSTICS
 *	Counted: drop_icmp (short, bad checksum, other type), icmp_echo_replies.
 */
#include <netinet/in.h>

#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dp.h"

/* icmp_input - answer an echo request; m starts at the Ethernet header */
void    icmp_input(struct dp_lcore *lc, struct rte_mbuf *m)
{
    const struct rte_ipv4_hdr *ih;
    struct rte_icmp_hdr *ic;
    uint32_t off = m->l2_len + m->l3_len;
    uint32_t len = rte_pktmbuf_data_len(m) - off;
    uint32_t peer;
    uint16_t sum;

    ih = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len);
    ic = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, off);
    if (len < sizeof(*ic) || ic->icmp_type != RTE_IP_ICMP_ECHO_REQUEST
	|| ic->icmp_code != 0 || rte_raw_cksum(ic, len) != 0xffff) {
	lc->stats->drop_icmp++;
	rte_pktmbuf_free(m);
	return;
    }
    peer = rte_be_to_cpu_32(ih->src_addr);
    rte_pktmbuf_adj(m, off);
    ic->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    ic->icmp_cksum = 0;
    sum = ~rte_raw_cksum(ic, len);
    ic->icmp_cksum = sum;
    lc->stats->icmp_echo_replies++;
    ip_output(lc, m, lc->addr, peer, IPPROTO_ICMP);
}
