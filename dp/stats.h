/*
 * stats.h - per-lcore data-plane counters in shared memory
 *
 *	struct dp_stats_zone *dpstats_create(unsigned nworkers);
 *	const struct dp_stats_zone *dpstats_attach(void);
 *	void dpstats_publish_tcp(struct dp_lcore_stats *s,
 *			const struct tcp_counters *tc, uint32_t conns);
 *	int dpstats_print(FILE *fp, const struct dp_stats_zone *z,
 *			const struct rte_mempool *pool);
 *	int dpstats_telemetry_register(void);
 *
 * DESCRIPTION
 *	The primary process reserves one memzone, DPSTATS_ZONE_NAME, holding
 *	one cache-aligned block of counters per worker lcore. Each block has
 *	a single writer (its lcore) and is read without locks by anyone: a
 *	secondary process (mxgate-dp --stats), the control process, or the
 *	DPDK telemetry socket (/mxgate/stats). Counters are monotonic except
 *	those marked "gauge". A reader may see a block mid-update; counters
 *	are 64-bit aligned so each one is read whole.
 *
 *	TCP counters are copied from the lcore's tcp_stack every
 *	DP_STATS_PUBLISH_US, so they lag by at most that long.
 *
 *	busy_cycles counts the TSC cycles of loop iterations that did work
 *	(frames in, results from control, session timeouts), idle_cycles
 *	those of iterations that found nothing: busy / (busy + idle) is the
 *	share of the lcore's time that was work, not polling of empty
 *	queues. tx_cycles is the part of busy spent handing bursts to the
 *	port: on af_packet and af_xdp a sendto() whose kernel work (on a
 *	veth, the peer's whole receive path) runs in our time. SMTP
 *	counters (struct dp_smtp_counters)
 *	are written by dp/smtp_app.c directly, no copy.
 *
 * DIAGNOSTICS
 *	dpstats_create() and dpstats_attach() return NULL after logging
 *	what was attempted; dpstats_print() returns -1 on a version mismatch.
 */
#ifndef MX_DP_STATS_H
#define MX_DP_STATS_H

#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>
#include <rte_mempool.h>

#include "sfilter_counters.h"
#include "metrics.h"
#include "tcp.h"

#define DPSTATS_ZONE_NAME	"mxgate_stats"
#define DPSTATS_MAGIC		0x6d786470U	/* "mxdp" */
#define DPSTATS_VERSION		4	/* 2: tsc_hz, busy_cycles, smtp;
					 * 3: latency histograms;
					 * 4: tx_bursts, tx_cycles */
#define DP_MAX_WORKERS		64		/* worker lcores per process */
#define DP_STATS_PUBLISH_US	1000		/* TCP counter copy interval */

/* SMTP sessions and messages of one lcore (dp/smtp_app.c writes them). */
struct dp_smtp_counters {
    uint64_t sessions;		/* accepted */
    uint64_t sessions_refused;	/* no free slot, or shutting down: reset */
    uint64_t sessions_shutdown;	/* told 421 4.3.2 at shutdown */
    uint64_t messages;		/* handed to control */
    uint64_t msg_bytes;		/* content bytes of those */
    uint64_t msg_pass;		/* answered by control, by verdict action */
    uint64_t msg_tag;
    uint64_t msg_quarantine;
    uint64_t msg_discard;
    uint64_t msg_tempfail;
    uint64_t msg_reject;
    uint64_t msg_delivered;	/* control's reply was 2xx */
    uint64_t msg_no_chunk;	/* chunk pool empty: 451 */
    uint64_t msg_engine_fail;	/* engine refused or failed: 451 */
    uint64_t msg_busy;		/* previous record still with control */
    uint64_t ctl_wakeups;	/* doorbell writes: control was asleep */
    uint64_t results_dropped;	/* reply came after the session gave up */
    uint64_t replies_4xx;	/* final reply lines sent, by class */
    uint64_t replies_5xx;
    uint64_t reply_bytes;	/* everything the sessions sent */
    struct metrics_hist scan_ms;	/* engine time per message */
    struct metrics_hist total_ms;	/* handoff to control's reply */
};

struct dp_lcore_stats {
    uint64_t rx_pkts;		/* frames from the NIC queue */
    uint64_t rx_bytes;
    uint64_t tx_pkts;		/* frames the NIC queue accepted */
    uint64_t tx_bytes;
    uint64_t drop_eth_short;	/* shorter than an Ethernet header */
    uint64_t drop_eth_type;	/* neither IPv4 nor ARP (VLAN, IPv6, ...) */
    uint64_t drop_not_for_us;	/* L2 or IPv4 destination not ours */
    uint64_t drop_multiseg;	/* chained mbuf we could not linearize */
    uint64_t drop_ip_header;	/* bad version, length, IHL, martian source */
    uint64_t drop_ip_csum;	/* bad IPv4 header checksum */
    uint64_t drop_ip_frag;	/* fragments: not reassembled, by design */
    uint64_t drop_ip_ttl;	/* TTL 0 on arrival */
    uint64_t drop_ip_proto;	/* neither TCP nor ICMP */
    uint64_t drop_no_route;	/* off-prefix destination, no gateway */
    uint64_t drop_icmp;		/* short, bad checksum, not an echo request */
    uint64_t icmp_echo_replies;
    uint64_t arp_in;		/* valid ARP packets seen */
    uint64_t arp_replies_sent;
    uint64_t arp_requests_sent;	/* incl. gratuitous */
    uint64_t drop_arp;		/* malformed or not Ethernet/IPv4 ARP */
    uint64_t arp_pending_drop;	/* queued packets dropped: queue full or
				 * resolution gave up */
    uint64_t arp_entries;	/* gauge: cache entries in use */
    uint64_t steer_out;		/* TCP packets passed to their owner lcore */
    uint64_t steer_in;		/* packets received from other lcores */
    uint64_t drop_steer_full;	/* owner's steering ring full */
    uint64_t drop_tx_full;	/* NIC queue refused the frame */
    uint64_t drop_no_mbuf;	/* mempool empty when building a frame */
    uint64_t loops;		/* iterations of the lcore loop */
    uint64_t busy_cycles;	/* TSC cycles of iterations that did work */
    uint64_t idle_cycles;	/* ... and of those that found nothing */
    uint64_t tx_bursts;		/* rte_eth_tx_burst() calls (a system call
				 * each on af_packet and af_xdp) */
    uint64_t tx_cycles;		/* TSC cycles inside them, part of busy */
    uint64_t tcp_conns;		/* gauge: connections (all states) */
    struct tcp_counters tcp;	/* copy of the lcore's TCP counters */
    struct dp_smtp_counters smtp;
    struct sfilter_counters sfilter;	/* dp/sfilter_counters.h */
} __rte_cache_aligned;

struct dp_stats_zone {
    uint32_t magic;
    uint32_t version;
    uint32_t nworkers;
    uint64_t tsc_hz;			/* to turn busy_cycles into seconds */
    uint32_t lcore_id[DP_MAX_WORKERS];	/* EAL lcore of worker i */
    char    pool_name[RTE_MEMPOOL_NAMESIZE];
    struct dp_lcore_stats w[DP_MAX_WORKERS] __rte_cache_aligned;
};

extern struct dp_stats_zone *dpstats_create(unsigned);
extern const struct dp_stats_zone *dpstats_attach(void);
extern void dpstats_publish_tcp(struct dp_lcore_stats *,
				        const struct tcp_counters *, uint32_t);
extern int dpstats_print(FILE *, const struct dp_stats_zone *,
			         const struct rte_mempool *);
extern int dpstats_telemetry_register(void);

#endif
