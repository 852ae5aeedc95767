/*
 * dp.h - per-lcore state and the layer entry points of the data plane
 *
 *	Input, one file per layer (a frame flows down this list):
 *	void eth_input(struct dp_lcore *lc, struct rte_mbuf *m);	eth_in.c
 *	void arp_input(struct dp_lcore *lc, struct rte_mbuf *m, int shared);
 *									arp.c
 *	void ip_input(struct dp_lcore *lc, struct rte_mbuf *m);	ip_in.c
 *	void ip_input_steered(struct dp_lcore *lc, struct rte_mbuf *m);
 *	void icmp_input(struct dp_lcore *lc, struct rte_mbuf *m);	icmp.c
 *
 *	Output:
 *	void ip_output(struct dp_lcore *lc, struct rte_mbuf *m,
 *			uint32_t saddr, uint32_t daddr, uint8_t proto);	ip_out.c
 *	void arp_output(struct dp_lcore *lc, struct rte_mbuf *m,
 *			uint32_t nexthop);				arp.c
 *	void eth_output(struct dp_lcore *lc, struct rte_mbuf *m,
 *			const struct rte_ether_addr *dst, uint16_t type);
 *	void eth_tx_flush(struct dp_lcore *lc);			eth_out.c
 *
 *	ARP cache (arp.c):
 *	void arp_cache_init(struct arp_cache *ac);
 *	void arp_cache_flush(struct dp_lcore *lc);
 *	void arp_timer(struct dp_lcore *lc, uint64_t now_us);
 *	void arp_announce(struct dp_lcore *lc);
 *
 *	Steering (steer.c):
 *	unsigned steer_owner(uint32_t a, uint32_t b, uint16_t pa, uint16_t pb,
 *			unsigned nworkers);
 *	int steer_to(struct dp_lcore *lc, unsigned owner, struct rte_mbuf *m);
 *	void steer_drain(struct dp_lcore *lc);
 *
 *	TCP glue (dp_tcp.c):
 *	void dptcp_lower_ops(struct dp_lcore *lc, struct tcp_lower_ops *ops);
 *
 *	Lcore (lcore.c):
 *	int dp_lcore_setup(struct dp_lcore *lc, const struct dp_lcore_params *p);
 *	int dp_lcore_main(void *arg);
 *	unsigned dp_lcore_poll(struct dp_lcore *lc);
 *	void dp_lcore_teardown(struct dp_lcore *lc);
 *
 * DESCRIPTION
 *	Every function takes the lcore's own struct dp_lcore: there is no
 *	other state in the fast path. Input functions consume the mbuf
 *	(free, forward or reuse it); output functions take ownership of it.
 *	Addresses are host byte order unless a field says otherwise.
 *
 *	An lcore with port_id DP_NO_PORT processes frames without a NIC:
 *	whatever it would transmit is counted and freed, or, when tx_capture
 *	is set, enqueued there for the caller to inspect. The fuzz target
 *	and the unit tests use this.
 *
 * DIAGNOSTICS
 *	None in the fast path: every drop is a counter (stats.h).
 */
#ifndef MX_DP_DP_H
#define MX_DP_DP_H

#include <stdint.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "stats.h"
#include "tcp.h"

#define DP_NO_PORT		0xffff
#define DP_BURST		32	/* rx and tx burst size */
#define DP_PREFETCH_AHEAD	3	/* frames prefetched ahead of processing */
#define DP_IDLE_POLLS		1024	/* empty polls before an idle sleep */

/* ARP cache: set-associative, per lcore (see arp.c for why). */
#define ARP_CACHE_SETS		64	/* power of two */
#define ARP_CACHE_WAYS		4
#define ARP_PENDING_MAX		4	/* packets held per unresolved address */
#define ARP_RETRY_US		1000000	/* between requests for one address */
#define ARP_RETRIES		3	/* requests before pending packets drop */
#define ARP_TIMER_US		100000	/* cache scan interval */

enum arp_state {
    ARP_FREE,
    ARP_INCOMPLETE,		/* request sent, packets may be pending */
    ARP_RESOLVED,
};

struct arp_entry {
    uint32_t ip;
    uint8_t state;
    uint8_t tries;
    uint8_t npending;
    struct rte_ether_addr mac;
    uint64_t expire_us;		/* RESOLVED: stale after; INCOMPLETE: retry at */
    struct rte_mbuf *pending[ARP_PENDING_MAX];
};

struct arp_cache {
    struct arp_entry set[ARP_CACHE_SETS][ARP_CACHE_WAYS];
    uint64_t next_scan_us;
};

struct dp_txbuf {
    uint16_t n;
    struct rte_mbuf *m[DP_BURST];
};

struct dp_lcore_params {
    unsigned index;		/* worker number, 0..nworkers-1 */
    unsigned nworkers;
    uint16_t port_id;		/* DP_NO_PORT: no NIC */
    uint16_t queue_id;
    struct rte_ether_addr mac;
    uint32_t addr;
    uint8_t prefix_len;
    uint32_t gateway;
    uint16_t mtu;
    uint32_t arp_ttl_s;
    uint32_t tx_drain_us;
    uint32_t idle_sleep_us;	/* 0: busy-poll always */
    struct rte_mempool *pool;
    struct rte_ring **rings;	/* nworkers steering rings, ours at index */
    struct dp_lcore_stats *stats;
    const struct tcp_config *tcp;	/* addresses and listeners filled in */
    volatile int *quit;		/* set by the signal handler */
    /* The application's share of each iteration (SMTP: results from
     * control, session timeouts); returns work done. NULL: none. */
    unsigned (*app_poll) (void *app_ctx, uint64_t now_us);
    /* After quit: stop taking new work, finish what is in flight; returns
     * non-zero while something is left (the app bounds the wait). */
    unsigned (*app_drain) (void *app_ctx, uint64_t now_us);
    void   *app_ctx;
    /* Sender filter at SYN (TCP_FILTER_*), called with app_ctx. NULL: none. */
    int     (*syn_filter) (void *app_ctx, uint32_t saddr, uint16_t sport);
};

struct dp_lcore {
    /* hot: read for every frame */
    unsigned index;
    unsigned nworkers;
    uint16_t port_id;
    uint16_t queue_id;
    uint32_t addr;
    uint32_t netmask;
    uint32_t gateway;
    uint16_t mtu;
    uint16_t ip_id;
    struct rte_ether_addr mac;
    uint64_t now_us;		/* updated once per loop iteration */
    struct dp_lcore_stats *stats;
    struct rte_mempool *pool;
    struct tcp_stack *tcp;
    struct rte_ring **rings;
    struct dp_txbuf tx;

    /* timing */
    uint64_t tsc_per_us;
    uint64_t tsc_base;
    uint64_t drain_tsc;
    uint64_t last_drain_tsc;
    uint64_t hold_tsc;		/* DP_TX_HOLD_US in TSC cycles */
    uint64_t out_since_tsc;	/* first unflushed work; 0: none */
    uint64_t next_publish_us;
    uint64_t arp_ttl_us;
    uint32_t idle_sleep_us;
    uint64_t linger_until_us;	/* shutdown: last FINs go out until then */
    volatile int *quit;
    unsigned (*app_poll) (void *app_ctx, uint64_t now_us);
    unsigned (*app_drain) (void *app_ctx, uint64_t now_us);
    void   *app_ctx;
    int     (*syn_filter) (void *app_ctx, uint32_t saddr, uint16_t sport);
    struct rte_ring *tx_capture;	/* DP_NO_PORT only: transmitted frames */

    struct arp_cache arp;
} __rte_cache_aligned;

/* input */
extern void eth_input(struct dp_lcore *, struct rte_mbuf *);
extern void arp_input(struct dp_lcore *, struct rte_mbuf *, int);
extern void ip_input(struct dp_lcore *, struct rte_mbuf *);
extern void ip_input_steered(struct dp_lcore *, struct rte_mbuf *);
extern void icmp_input(struct dp_lcore *, struct rte_mbuf *);

/* output */
extern void ip_output(struct dp_lcore *, struct rte_mbuf *, uint32_t, uint32_t, uint8_t);
extern void arp_output(struct dp_lcore *, struct rte_mbuf *, uint32_t);
extern void eth_output(struct dp_lcore *, struct rte_mbuf *,
		               const struct rte_ether_addr *, uint16_t);
extern void eth_tx_flush(struct dp_lcore *);

/* ARP cache */
extern void arp_cache_init(struct arp_cache *);
extern void arp_cache_flush(struct dp_lcore *);
extern void arp_timer(struct dp_lcore *, uint64_t);
extern void arp_announce(struct dp_lcore *);

/* steering */
extern unsigned steer_owner(uint32_t, uint32_t, uint16_t, uint16_t, unsigned);
extern int steer_to(struct dp_lcore *, unsigned, struct rte_mbuf *);
extern void steer_drain(struct dp_lcore *);

/* TCP glue */
extern void dptcp_lower_ops(struct dp_lcore *, struct tcp_lower_ops *);

/* lcore */
extern int dp_lcore_setup(struct dp_lcore *, const struct dp_lcore_params *);
extern int dp_lcore_main(void *);
extern unsigned dp_lcore_poll(struct dp_lcore *);
extern void dp_lcore_teardown(struct dp_lcore *);

#endif
