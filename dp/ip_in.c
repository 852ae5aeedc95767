/*
 * ip_in.c - IPv4 input: header validation, steering, protocol dispatch
 *
 *	void ip_input(struct dp_lcore *lc, struct rte_mbuf *m);
 *	void ip_input_steered(struct dp_lcore *lc, struct rte_mbuf *m);
 *
 * DESCRIPTION
 *	ip_input() checks what RFC 1122 3.2.1 asks of a host: version, header
 *	length, total length against the frame (Ethernet padding is trimmed),
 *	header checksum (skipped when the NIC vouched for it), a destination
 *	that is our address, and a source that is not a martian (0/8, 127/8,
 *	multicast, broadcast, ourselves). Options are accepted and skipped.
 *
 *	Fragments are dropped and counted: a mail gateway's peers use Path
 *	MTU discovery and TCP never needs fragmentation, while reassembly
 *	would be memory an attacker controls. TTL 0 on arrival is dropped.
 *
 *	A TCP segment whose 4-tuple belongs to another lcore (steer.c) is
 *	passed there through its ring with l2_len/l3_len set; the owner
 *	resumes at ip_input_steered() without validating again.
 *
 * DIAGNOSTICS
 *	Counted: drop_ip_header, drop_ip_csum, drop_ip_frag, drop_ip_ttl,
 *	drop_not_for_us, drop_ip_proto, steer_out, drop_steer_full.
 */
#include <netinet/in.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dp.h"

/* ip_martian - a source address no host may send from (RFC 1122 3.2.1.3) */
static inline int ip_martian(const struct dp_lcore *lc, uint32_t a)
{
    return ((a >> 24) == 0 || (a >> 24) == 127 || (a >> 28) >= 14
	    || a == lc->addr
	    || (lc->netmask < 0xfffffffeU && (a | lc->netmask) == UINT32_MAX));
}

/* ip_tcp_deliver - hand a validated segment to this lcore's TCP stack */
static void ip_tcp_deliver(struct dp_lcore *lc, struct rte_mbuf *m)
{
    const struct rte_ipv4_hdr *ih;
    unsigned flags = 0;
    size_t  off = m->l2_len + m->l3_len;

    ih = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len);
    if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
	flags |= TCP_IN_CSUM_GOOD;
    tcp_input(lc->tcp, rte_be_to_cpu_32(ih->src_addr), rte_be_to_cpu_32(ih->dst_addr),
	      rte_pktmbuf_mtod_offset(m, const uint8_t *, off),
	      rte_pktmbuf_data_len(m) - off, flags, lc->now_us);
    rte_pktmbuf_free(m);
}

/* ip_input - validate an IPv4 packet addressed to us and dispatch it */
void    ip_input(struct dp_lcore *lc, struct rte_mbuf *m)
{
    const struct rte_ipv4_hdr *ih;
    uint32_t len = rte_pktmbuf_data_len(m) - m->l2_len;
    uint32_t hlen, tot, saddr, daddr;
    const struct rte_tcp_hdr *th;
    unsigned owner;

    if (unlikely(len < sizeof(*ih)))
	goto bad_header;
    ih = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len);
    hlen = (ih->version_ihl & RTE_IPV4_HDR_IHL_MASK) * RTE_IPV4_IHL_MULTIPLIER;
    tot = rte_be_to_cpu_16(ih->total_length);
    if (unlikely((ih->version_ihl >> 4) != 4 || hlen < sizeof(*ih) || hlen > len
		 || tot < hlen || tot > len))
	goto bad_header;
    switch (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
    case RTE_MBUF_F_RX_IP_CKSUM_GOOD:
	break;
    case RTE_MBUF_F_RX_IP_CKSUM_BAD:
	goto bad_csum;
    default:
	if (unlikely(rte_raw_cksum(ih, hlen) != 0xffff))
	    goto bad_csum;
    }
    if (unlikely(ih->fragment_offset
		 & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))) {
	lc->stats->drop_ip_frag++;
	goto drop;
    }
    if (unlikely(ih->time_to_live == 0)) {
	lc->stats->drop_ip_ttl++;
	goto drop;
    }
    daddr = rte_be_to_cpu_32(ih->dst_addr);
    saddr = rte_be_to_cpu_32(ih->src_addr);
    if (unlikely(daddr != lc->addr)) {
	lc->stats->drop_not_for_us++;
	goto drop;
    }
    if (unlikely(ip_martian(lc, saddr)))
	goto bad_header;
    if (len > tot)
	rte_pktmbuf_trim(m, len - tot);	/* Ethernet minimum-size padding */
    m->l3_len = hlen;

    switch (ih->next_proto_id) {
    case IPPROTO_TCP:
	if (lc->nworkers > 1 && tot - hlen >= 2 * sizeof(uint16_t)) {
	    th = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *, m->l2_len + hlen);
	    owner = steer_owner(saddr, daddr, rte_be_to_cpu_16(th->src_port),
				rte_be_to_cpu_16(th->dst_port), lc->nworkers);
	    if (owner != lc->index) {
		steer_to(lc, owner, m);
		return;
	    }
	}
	ip_tcp_deliver(lc, m);
	return;
    case IPPROTO_ICMP:
	icmp_input(lc, m);
	return;
    default:
	lc->stats->drop_ip_proto++;
	goto drop;
    }

bad_header:
    lc->stats->drop_ip_header++;
    goto drop;
bad_csum:
    lc->stats->drop_ip_csum++;
drop:
    rte_pktmbuf_free(m);
}

/* ip_input_steered - a TCP segment validated by another lcore */
void    ip_input_steered(struct dp_lcore *lc, struct rte_mbuf *m)
{
    ip_tcp_deliver(lc, m);
}
