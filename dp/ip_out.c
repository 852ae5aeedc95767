/*
 * ip_out.c - IPv4 output: header, next hop, on to ARP
 *
 *	void ip_output(struct dp_lcore *lc, struct rte_mbuf *m,
 *			uint32_t saddr, uint32_t daddr, uint8_t proto);
 *
 * DESCRIPTION
 *	m holds the transport header and payload at its data offset, with
 *	headroom for IPv4 and Ethernet. We set DF (TCP sizes its segments by
 *	MSS, and a host never fragments what it originates here), TTL
 *	IP_OUT_TTL, and a per-lcore incrementing identification (RFC 6864:
 *	any value is fine for atomic datagrams). The next hop is the
 *	destination when it is on our prefix, else the gateway.
 *
 * DIAGNOSTICS
 *	Counted: drop_no_mbuf (no headroom), drop_no_route.
 */
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dp.h"

#define IP_OUT_TTL	64		/* RFC 1700 default */

/* ip_output - prepend the IPv4 header and route the packet */
void    ip_output(struct dp_lcore *lc, struct rte_mbuf *m,
		          uint32_t saddr, uint32_t daddr, uint8_t proto)
{
    struct rte_ipv4_hdr *ih;
    uint32_t nexthop;

    if (((daddr ^ lc->addr) & lc->netmask) == 0) {
	nexthop = daddr;
    } else if (lc->gateway != 0) {
	nexthop = lc->gateway;
    } else {
	lc->stats->drop_no_route++;
	rte_pktmbuf_free(m);
	return;
    }
    ih = (struct rte_ipv4_hdr *) rte_pktmbuf_prepend(m, sizeof(*ih));
    if (unlikely(ih == 0)) {
	lc->stats->drop_no_mbuf++;
	rte_pktmbuf_free(m);
	return;
    }
    ih->version_ihl = RTE_IPV4_VHL_DEF;
    ih->type_of_service = 0;
    ih->total_length = rte_cpu_to_be_16(rte_pktmbuf_pkt_len(m));
    ih->packet_id = rte_cpu_to_be_16(lc->ip_id++);
    ih->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
    ih->time_to_live = IP_OUT_TTL;
    ih->next_proto_id = proto;
    ih->hdr_checksum = 0;
    ih->src_addr = rte_cpu_to_be_32(saddr);
    ih->dst_addr = rte_cpu_to_be_32(daddr);
    ih->hdr_checksum = rte_ipv4_cksum(ih);
    arp_output(lc, m, nexthop);
}
