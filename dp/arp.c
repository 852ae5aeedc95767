/*
 * arp.c - ARP for IPv4 over Ethernet (RFC 826): replies, requests, cache
 *
 *	void arp_input(struct dp_lcore *lc, struct rte_mbuf *m, int shared);
 *	void arp_output(struct dp_lcore *lc, struct rte_mbuf *m,
 *			uint32_t nexthop);
 *	void arp_cache_init(struct arp_cache *ac);
 *	void arp_cache_flush(struct dp_lcore *lc);
 *	void arp_timer(struct dp_lcore *lc, uint64_t now_us);
 *	void arp_announce(struct dp_lcore *lc);
 *
 * DESCRIPTION
 *	Each lcore keeps its own cache, so a lookup never touches another
 *	core's memory. Since the NIC (or af_packet's fanout) may deliver an
 *	ARP reply to any queue, the lcore that receives an ARP packet from
 *	the NIC answers it if needed and also passes a copy to every other
 *	lcore through the steering rings (shared = 1): they only learn from
 *	it. ARP is rare, so the copies cost nothing that matters, and every
 *	cache converges without locks.
 *
 *	Learning follows RFC 826: an existing entry for the sender is
 *	updated; a new one is created only when the packet is addressed to
 *	us (or answers a request of ours). The cache is set-associative
 *	(ARP_CACHE_SETS x ARP_CACHE_WAYS); a full set evicts its oldest
 *	resolved entry. Entries expire arp_ttl after they were last
 *	confirmed; an expired entry is re-resolved on next use.
 *
 *	arp_output() sends a packet to a next hop: at once when resolved,
 *	otherwise it is held (ARP_PENDING_MAX per address) while requests go
 *	out every ARP_RETRY_US; after ARP_RETRIES unanswered requests the
 *	held packets are dropped (TCP retransmits later).
 *
 *	arp_announce() broadcasts a gratuitous ARP request for our address
 *	at start-up, so that peers replace any stale entry.
 *
 * DIAGNOSTICS
 *	Counted: arp_in, drop_arp, arp_replies_sent, arp_requests_sent,
 *	arp_pending_drop, drop_no_mbuf, arp_entries (gauge).
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dp.h"

/* arp_set - the set an address maps to */
static inline struct arp_entry *arp_set(struct dp_lcore *lc, uint32_t ip)
{
    uint32_t h = ip * 0x9e3779b1U;

    return (lc->arp.set[h >> 26 & (ARP_CACHE_SETS - 1)]);
}

/* arp_lookup - the entry for ip, or NULL */
static struct arp_entry *arp_lookup(struct dp_lcore *lc, uint32_t ip)
{
    struct arp_entry *set = arp_set(lc, ip);
    int     i;

    for (i = 0; i < ARP_CACHE_WAYS; i++)
	if (set[i].state != ARP_FREE && set[i].ip == ip)
	    return (&set[i]);
    return (0);
}

/* arp_drop_pending - free packets held for an entry */
static void arp_drop_pending(struct dp_lcore *lc, struct arp_entry *e)
{
    int     i;

    for (i = 0; i < e->npending; i++)
	rte_pktmbuf_free(e->pending[i]);
    lc->stats->arp_pending_drop += e->npending;
    e->npending = 0;
}

/* arp_insert - claim a slot for ip: free first, else oldest resolved */
static struct arp_entry *arp_insert(struct dp_lcore *lc, uint32_t ip)
{
    struct arp_entry *set = arp_set(lc, ip);
    struct arp_entry *victim = 0;
    int     i;

    for (i = 0; i < ARP_CACHE_WAYS; i++) {
	if (set[i].state == ARP_FREE) {
	    victim = &set[i];
	    lc->stats->arp_entries++;
	    break;
	}
	if (victim == 0 || set[i].expire_us < victim->expire_us)
	    victim = &set[i];
    }
    if (victim->state != ARP_FREE)
	arp_drop_pending(lc, victim);
    memset(victim, 0, sizeof(*victim));
    victim->ip = ip;
    return (victim);
}

/* arp_send - build and queue one ARP packet */
static void arp_send(struct dp_lcore *lc, uint16_t op, const struct rte_ether_addr *eth_dst,
		             const struct rte_ether_addr *tha, uint32_t tip)
{
    struct rte_mbuf *m;
    struct rte_arp_hdr *ah;

    if ((m = rte_pktmbuf_alloc(lc->pool)) == 0) {
	lc->stats->drop_no_mbuf++;
	return;
    }
    ah = (struct rte_arp_hdr *) rte_pktmbuf_append(m, sizeof(*ah));
    if (ah == 0) {
	lc->stats->drop_no_mbuf++;
	rte_pktmbuf_free(m);
	return;
    }
    ah->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
    ah->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    ah->arp_hlen = RTE_ETHER_ADDR_LEN;
    ah->arp_plen = sizeof(uint32_t);
    ah->arp_opcode = rte_cpu_to_be_16(op);
    rte_ether_addr_copy(&lc->mac, &ah->arp_data.arp_sha);
    ah->arp_data.arp_sip = rte_cpu_to_be_32(lc->addr);
    rte_ether_addr_copy(tha, &ah->arp_data.arp_tha);
    ah->arp_data.arp_tip = rte_cpu_to_be_32(tip);
    if (op == RTE_ARP_OP_REQUEST)
	lc->stats->arp_requests_sent++;
    else
	lc->stats->arp_replies_sent++;
    eth_output(lc, m, eth_dst, RTE_ETHER_TYPE_ARP);
}

/* arp_request - broadcast "who has ip" */
static void arp_request(struct dp_lcore *lc, uint32_t ip)
{
    static const struct rte_ether_addr bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    static const struct rte_ether_addr zero = {{0}};

    arp_send(lc, RTE_ARP_OP_REQUEST, &bcast, &zero, ip);
}

/* arp_resolved - an entry learned its MAC: release what waited for it */
static void arp_resolved(struct dp_lcore *lc, struct arp_entry *e,
			         const struct rte_ether_addr *mac)
{
    int     i;

    rte_ether_addr_copy(mac, &e->mac);
    e->state = ARP_RESOLVED;
    e->tries = 0;
    e->expire_us = lc->now_us + lc->arp_ttl_us;
    for (i = 0; i < e->npending; i++)
	eth_output(lc, e->pending[i], &e->mac, RTE_ETHER_TYPE_IPV4);
    e->npending = 0;
}

/* arp_share - pass a copy of a received ARP packet to the other lcores */
static void arp_share(struct dp_lcore *lc, struct rte_mbuf *m)
{
    struct rte_mbuf *c;
    unsigned i;

    for (i = 0; i < lc->nworkers; i++) {
	if (i == lc->index)
	    continue;
	if ((c = rte_pktmbuf_copy(m, lc->pool, 0, UINT32_MAX)) == 0) {
	    lc->stats->drop_no_mbuf++;
	    continue;
	}
	if (rte_ring_mp_enqueue(lc->rings[i], c) != 0) {
	    lc->stats->drop_steer_full++;
	    rte_pktmbuf_free(c);
	}
    }
}

/* arp_input - learn from and answer an ARP packet; shared: learn only */
void    arp_input(struct dp_lcore *lc, struct rte_mbuf *m, int shared)
{
    struct rte_arp_hdr *ah;
    struct arp_entry *e;
    struct rte_ether_addr sha;
    uint32_t sip, tip;
    uint16_t op;

    if (rte_pktmbuf_data_len(m) < m->l2_len + sizeof(*ah)) {
	lc->stats->drop_arp++;
	rte_pktmbuf_free(m);
	return;
    }
    ah = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, m->l2_len);
    op = rte_be_to_cpu_16(ah->arp_opcode);
    if (ah->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER)
	|| ah->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4)
	|| ah->arp_hlen != RTE_ETHER_ADDR_LEN || ah->arp_plen != sizeof(uint32_t)
	|| (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY)
	|| !rte_is_unicast_ether_addr(&ah->arp_data.arp_sha)) {
	lc->stats->drop_arp++;
	rte_pktmbuf_free(m);
	return;
    }
    lc->stats->arp_in++;
    if (!shared && lc->nworkers > 1)
	arp_share(lc, m);
    sip = rte_be_to_cpu_32(ah->arp_data.arp_sip);
    tip = rte_be_to_cpu_32(ah->arp_data.arp_tip);

    /* RFC 826 merge: refresh what we know; create only when it is for us. */
    if (sip != 0 && sip != lc->addr) {
	if ((e = arp_lookup(lc, sip)) != 0)
	    arp_resolved(lc, e, &ah->arp_data.arp_sha);
	else if (tip == lc->addr)
	    arp_resolved(lc, arp_insert(lc, sip), &ah->arp_data.arp_sha);
    }
    if (shared || op != RTE_ARP_OP_REQUEST || tip != lc->addr) {
	rte_pktmbuf_free(m);
	return;
    }
    rte_ether_addr_copy(&ah->arp_data.arp_sha, &sha);
    rte_pktmbuf_free(m);
    arp_send(lc, RTE_ARP_OP_REPLY, &sha, &sha, sip);
}

/* arp_output - send an IPv4 packet to nexthop, resolving it if needed */
void    arp_output(struct dp_lcore *lc, struct rte_mbuf *m, uint32_t nexthop)
{
    struct arp_entry *e = arp_lookup(lc, nexthop);

    if (likely(e != 0 && e->state == ARP_RESOLVED)) {
	if (likely(e->expire_us > lc->now_us)) {
	    eth_output(lc, m, &e->mac, RTE_ETHER_TYPE_IPV4);
	    return;
	}
	e->state = ARP_INCOMPLETE;	/* stale: confirm before use */
	e->tries = 0;
	e->expire_us = 0;
    }
    if (e == 0) {
	e = arp_insert(lc, nexthop);
	e->state = ARP_INCOMPLETE;
    }
    if (e->npending < ARP_PENDING_MAX) {
	e->pending[e->npending++] = m;
    } else {
	lc->stats->arp_pending_drop++;
	rte_pktmbuf_free(m);
    }
    if (e->expire_us <= lc->now_us) {
	arp_request(lc, nexthop);
	e->tries++;
	e->expire_us = lc->now_us + ARP_RETRY_US;
    }
}

/* arp_timer - retry or give up on requests; runs every ARP_TIMER_US */
void    arp_timer(struct dp_lcore *lc, uint64_t now_us)
{
    struct arp_entry *e;
    int     s, w;

    if (now_us < lc->arp.next_scan_us)
	return;
    lc->arp.next_scan_us = now_us + ARP_TIMER_US;
    for (s = 0; s < ARP_CACHE_SETS; s++) {
	for (w = 0; w < ARP_CACHE_WAYS; w++) {
	    e = &lc->arp.set[s][w];
	    if (e->state != ARP_INCOMPLETE || e->expire_us > now_us)
		continue;
	    if (e->tries >= ARP_RETRIES) {
		arp_drop_pending(lc, e);
		e->state = ARP_FREE;
		lc->stats->arp_entries--;
		continue;
	    }
	    arp_request(lc, e->ip);
	    e->tries++;
	    e->expire_us = now_us + ARP_RETRY_US;
	}
    }
}

/* arp_announce - gratuitous ARP request for our own address */
void    arp_announce(struct dp_lcore *lc)
{
    arp_request(lc, lc->addr);
}

/* arp_cache_init - empty cache */
void    arp_cache_init(struct arp_cache *ac)
{
    memset(ac, 0, sizeof(*ac));
}

/* arp_cache_flush - free every held packet (shutdown) */
void    arp_cache_flush(struct dp_lcore *lc)
{
    int     s, w;

    for (s = 0; s < ARP_CACHE_SETS; s++)
	for (w = 0; w < ARP_CACHE_WAYS; w++)
	    arp_drop_pending(lc, &lc->arp.set[s][w]);
}
