/*
 * lcore.c - the run-to-completion loop of one worker lcore
 *
 *	int dp_lcore_setup(struct dp_lcore *lc, const struct dp_lcore_params *p);
 *	int dp_lcore_main(void *arg);
 *	unsigned dp_lcore_poll(struct dp_lcore *lc);
 *	void dp_lcore_teardown(struct dp_lcore *lc);
 *
 * DESCRIPTION
 *	One iteration (dp_lcore_poll): read the TSC once and derive now_us;
 *	receive a burst from our queue, prefetching DP_PREFETCH_AHEAD frames
 *	ahead, and run each through eth_input() to completion; drain our
 *	steering ring; let the application poll (app_poll: SMTP results
 *	and timeouts); once DP_TX_HOLD_US have passed since the first work
 *	not yet flushed, let TCP send what the bursts made pending and hand
 *	that to the NIC as one burst; and, when tx_drain_us has passed, run
 *	the TCP timers, the ARP timer, publish the TCP counters, and flush
 *	what the timers queued. An iteration that received, did application
 *	work or transmitted adds its TSC cycles to busy_cycles, one that
 *	found nothing to idle_cycles (one more rdtsc per iteration): busy /
 *	(busy + idle) is the share of the lcore's CPU time that was work
 *	rather than polling. TSC cycles also tick while the thread is
 *	preempted, so on a shared core apply that share to the thread's CPU
 *	time (/proc) rather than trust busy_cycles alone.
 *
 *	Why hold output: every transmit burst costs a system call on the
 *	af_packet and af_xdp PMDs (a doorbell write on a NIC), and on a veth
 *	it runs the peer's receive path in our time. Holding replies and
 *	ACKs for DP_TX_HOLD_US lets the frames of several connections, and
 *	several bursts of one, leave in one burst, and lets TCP answer all
 *	the segments of one connection that arrived meanwhile with one ACK
 *	(RFC 1122 4.2.3.2 and RFC 5681 4.2 allow delaying an ACK up to
 *	500 ms; a burst-receiving NIC with LRO does the same). The price is
 *	at most DP_TX_HOLD_US per round trip. Off by default (0; build with
 *	-DDP_TX_HOLD_US=50 to try it): on the veth bench 50 us cut sendto()
 *	per 2 KB message from ~5 to 2 for no CPU gain outside the noise,
 *	and slowed 100 KB messages (the peer's ACK clock; docs/benchmarks.md).
 *
 *	On quit, an application with app_drain (SMTP: 421 to idle sessions,
 *	answers for messages with control) gets the loop until it reports
 *	nothing left, then DP_DRAIN_LINGER_US more so that the last replies
 *	and FINs are sent and retransmitted if need be.
 *
 *	The loop takes no lock, makes no system call and never allocates
 *	from the heap: mbufs come from the pool, TCP allocated its tables
 *	in dp_lcore_setup() (start-up, from hugepage memory). Two
 *	exceptions: the SMTP application writes the control thread's
 *	eventfd when it hands over a message while control sleeps (at most
 *	once per sleep: dp/smtp_ctrl.c), and, opt-in, with idle_sleep_us set (trials on shared cores,
 *	never production), an lcore that found nothing to do DP_IDLE_POLLS
 *	times in a row sleeps that long, giving the core back to the kernel.
 *
 * DIAGNOSTICS
 *	dp_lcore_setup() returns -1 after logging what failed.
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "dp.h"

#define DP_US_PER_S	1000000ULL
#define DP_DRAIN_LINGER_US	300000	/* after the app drained: FINs out */
#ifndef DP_TX_HOLD_US
#define DP_TX_HOLD_US		0	/* output waits for more work, at most;
					 * 0: every busy iteration flushes */
#endif



/* dp_mem_alloc - TCP's start-up allocations from hugepage memory */
static void *dp_mem_alloc(void *ctx, size_t size, size_t align)
{
    return (rte_zmalloc_socket("mxgate_tcp", size, align ? align : RTE_CACHE_LINE_SIZE,
			       (int) (intptr_t) ctx));
}

/* dp_mem_free - counterpart of dp_mem_alloc */
static void dp_mem_free(void *ctx, void *p)
{
    rte_free(p);
}

/* dp_lcore_setup - per-lcore state and TCP stack, at start-up */
int     dp_lcore_setup(struct dp_lcore *lc, const struct dp_lcore_params *p)
{
    struct tcp_config tc = *p->tcp;
    struct tcp_lower_ops lower;

    memset(lc, 0, sizeof(*lc));
    lc->index = p->index;
    lc->nworkers = p->nworkers;
    lc->port_id = p->port_id;
    lc->queue_id = p->queue_id;
    lc->mac = p->mac;
    lc->addr = p->addr;
    lc->netmask = p->prefix_len ? UINT32_MAX << (32 - p->prefix_len) : 0;
    lc->gateway = p->gateway;
    lc->mtu = p->mtu;
    lc->pool = p->pool;
    lc->rings = p->rings;
    lc->stats = p->stats;
    lc->quit = p->quit;
    lc->arp_ttl_us = (uint64_t) p->arp_ttl_s * DP_US_PER_S;
    lc->tsc_per_us = rte_get_tsc_hz() / DP_US_PER_S;
    if (lc->tsc_per_us == 0)
	lc->tsc_per_us = 1;
    lc->tsc_base = rte_rdtsc();
    lc->drain_tsc = lc->tsc_per_us * p->tx_drain_us;
    lc->hold_tsc = lc->tsc_per_us * DP_TX_HOLD_US;
    lc->idle_sleep_us = p->idle_sleep_us;
    lc->app_poll = p->app_poll;
    lc->app_drain = p->app_drain;
    lc->app_ctx = p->app_ctx;
    lc->syn_filter = p->syn_filter;
    arp_cache_init(&lc->arp);

    tc.mem_alloc = dp_mem_alloc;
    tc.mem_free = dp_mem_free;
    tc.mem_ctx = (void *) (intptr_t) rte_socket_id();
    dptcp_lower_ops(lc, &lower);
    if ((lc->tcp = tcp_stack_create(&tc, &lower, 0)) == 0) {
	RTE_LOG(ERR, USER1, "worker %u: create TCP stack (max_conns %u): %s\n",
		p->index, tc.max_conns, strerror(errno));
	return (-1);
    }
    return (0);
}

/* dp_lcore_flush - what held work made TCP send, out in one burst */
static void dp_lcore_flush(struct dp_lcore *lc)
{
    lc->out_since_tsc = 0;
    tcp_flush(lc->tcp);
    eth_tx_flush(lc);
}

/* dp_lcore_timers - the work done every tx_drain_us */
static void dp_lcore_timers(struct dp_lcore *lc, uint64_t tsc)
{
    lc->last_drain_tsc = tsc;
    lc->out_since_tsc = 0;
    tcp_timers_run(lc->tcp, lc->now_us);
    tcp_flush(lc->tcp);
    arp_timer(lc, lc->now_us);
    if (lc->now_us >= lc->next_publish_us) {
	lc->next_publish_us = lc->now_us + DP_STATS_PUBLISH_US;
	dpstats_publish_tcp(lc->stats, tcp_stack_counters(lc->tcp),
			    tcp_stack_conn_count(lc->tcp));
    }
    eth_tx_flush(lc);
}

/* dp_lcore_poll - one iteration of the loop; returns frames handled */
unsigned dp_lcore_poll(struct dp_lcore *lc)
{
    struct rte_mbuf *pkts[DP_BURST];
    uint64_t tsc = rte_rdtsc();
    uint64_t steered = lc->stats->steer_in;
    uint64_t tx_before = lc->stats->tx_pkts;
    uint16_t n = 0;
    uint16_t i;

    lc->now_us = (tsc - lc->tsc_base) / lc->tsc_per_us;
    if (lc->port_id != DP_NO_PORT)
	n = rte_eth_rx_burst(lc->port_id, lc->queue_id, pkts, DP_BURST);
    if (n > 0) {
	lc->stats->rx_pkts += n;
	for (i = 0; i < n && i < DP_PREFETCH_AHEAD; i++)
	    rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
	    if (i + DP_PREFETCH_AHEAD < n)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i + DP_PREFETCH_AHEAD], void *));
	    lc->stats->rx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
	    eth_input(lc, pkts[i]);
	}
    }
    if (lc->nworkers > 1)
	steer_drain(lc);
    n += (uint16_t) (lc->stats->steer_in - steered);
    if (lc->app_poll)
	n += (uint16_t) lc->app_poll(lc->app_ctx, lc->now_us);
    if (n > 0 && lc->out_since_tsc == 0)
	lc->out_since_tsc = tsc | 1;	/* 0 means "nothing held" */
    if (lc->out_since_tsc && tsc - lc->out_since_tsc >= lc->hold_tsc)
	dp_lcore_flush(lc);
    if (tsc - lc->last_drain_tsc >= lc->drain_tsc)
	dp_lcore_timers(lc, tsc);
    lc->stats->loops++;
    /* A flush (a system call on af_packet/af_xdp) is work too. */
    if (n > 0 || lc->stats->tx_pkts != tx_before)
	lc->stats->busy_cycles += rte_rdtsc() - tsc;
    else
	lc->stats->idle_cycles += rte_rdtsc() - tsc;
    return (n);
}

/* dp_lcore_run - poll until done() says stop; idle sleep if configured */
static void dp_lcore_run(struct dp_lcore *lc, int (*done) (struct dp_lcore *))
{
    unsigned idle = 0;

    while (!done(lc)) {
	if (dp_lcore_poll(lc) > 0) {
	    idle = 0;
	} else if (lc->idle_sleep_us && ++idle >= DP_IDLE_POLLS) {
	    dp_lcore_flush(lc);
	    rte_delay_us_sleep(lc->idle_sleep_us);
	    idle = 0;
	}
    }
}

/* dp_lcore_quitting - the signal handler asked us to stop */
static int dp_lcore_quitting(struct dp_lcore *lc)
{
    return (*lc->quit != 0);
}

/* dp_lcore_drained - the application has nothing left in flight */
static int dp_lcore_drained(struct dp_lcore *lc)
{
    return (lc->app_drain(lc->app_ctx, lc->now_us) == 0);
}

/* dp_lcore_lingered - DP_DRAIN_LINGER_US after the drain */
static int dp_lcore_lingered(struct dp_lcore *lc)
{
    return (lc->now_us >= lc->linger_until_us);
}

/* dp_lcore_main - rte_eal_remote_launch entry: loop until told to quit */
int     dp_lcore_main(void *arg)
{
    struct dp_lcore *lc = arg;
    RTE_LOG(INFO, USER1, "worker %u on lcore %u, queue %u\n",
	    lc->index, rte_lcore_id(), lc->queue_id);
    lc->now_us = (rte_rdtsc() - lc->tsc_base) / lc->tsc_per_us;
    if (lc->index == 0)
	arp_announce(lc);
    dp_lcore_run(lc, dp_lcore_quitting);
    if (lc->app_drain) {
	dp_lcore_run(lc, dp_lcore_drained);
	lc->linger_until_us = lc->now_us + DP_DRAIN_LINGER_US;
	dp_lcore_run(lc, dp_lcore_lingered);
    }
    dp_lcore_flush(lc);
    return (0);
}

/* dp_lcore_teardown - release what the lcore holds; all lcores stopped */
void    dp_lcore_teardown(struct dp_lcore *lc)
{
    struct rte_mbuf *m;

    arp_cache_flush(lc);
    eth_tx_flush(lc);
    if (lc->rings && lc->rings[lc->index])
	while (rte_ring_dequeue(lc->rings[lc->index], (void **) &m) == 0)
	    rte_pktmbuf_free(m);
    if (lc->tcp) {
	tcp_stack_destroy(lc->tcp);
	lc->tcp = 0;
    }
    eth_tx_flush(lc);
}
