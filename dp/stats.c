/*
 * stats.c - the shared counters memzone, its printer and telemetry
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
 *	Counter names come from one table (name, offset) per struct, so the
 *	printer, the telemetry reply and docs/dp.md use the same names.
 *	dpstats_print() writes `name total per-worker...` lines, one per
 *	counter, then the mempool's in-use count: easy to read and to grep
 *	from a test.
 *
 *	Telemetry: `/mxgate/stats` in dpdk-telemetry.py returns the totals
 *	over all workers as a dictionary.
 *
 * DIAGNOSTICS
 *	Failures to reserve or find the memzone are logged with the name.
 */
#include <stddef.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_memzone.h>
#include <rte_telemetry.h>

#include "stats.h"

struct dpstats_field {
    const char *name;
    size_t  off;
};

#define DPS(f) { #f, offsetof(struct dp_lcore_stats, f) }
#define TCPS(f) { "tcp_" #f, offsetof(struct dp_lcore_stats, tcp) + offsetof(struct tcp_counters, f) }
#define SMTPS(f) { "smtp_" #f, offsetof(struct dp_lcore_stats, smtp) + offsetof(struct dp_smtp_counters, f) }
#define SFS(f) { "sfilter_" #f, offsetof(struct dp_lcore_stats, sfilter) + offsetof(struct sfilter_counters, f) }
#define TCPST(st, f) { "tcp_conns_" st, offsetof(struct dp_lcore_stats, tcp) \
			+ offsetof(struct tcp_counters, conn_state) + (f) * sizeof(uint64_t) }

static const struct dpstats_field dpstats_fields[] = {
    DPS(rx_pkts), DPS(rx_bytes), DPS(tx_pkts), DPS(tx_bytes),
    DPS(drop_eth_short), DPS(drop_eth_type), DPS(drop_not_for_us), DPS(drop_multiseg),
    DPS(drop_ip_header), DPS(drop_ip_csum), DPS(drop_ip_frag), DPS(drop_ip_ttl),
    DPS(drop_ip_proto), DPS(drop_no_route), DPS(drop_icmp), DPS(icmp_echo_replies),
    DPS(arp_in), DPS(arp_replies_sent), DPS(arp_requests_sent), DPS(drop_arp),
    DPS(arp_pending_drop), DPS(arp_entries), DPS(steer_out), DPS(steer_in),
    DPS(drop_steer_full), DPS(drop_tx_full), DPS(drop_no_mbuf), DPS(loops),
    DPS(busy_cycles), DPS(idle_cycles), DPS(tx_bursts), DPS(tx_cycles),
    DPS(tcp_conns),
    TCPS(seg_in), TCPS(seg_out), TCPS(bytes_in), TCPS(bytes_out),
    TCPS(drop_csum), TCPS(drop_header), TCPS(drop_no_listener),
    TCPS(drop_out_of_window), TCPS(drop_paws), TCPS(drop_conn_limit),
    TCPS(drop_memory), TCPS(drop_filter), TCPS(drop_bad_ack),
    TCPST("syn_received", TCP_ST_SYN_RECEIVED), TCPST("established", TCP_ST_ESTABLISHED),
    TCPST("close_wait", TCP_ST_CLOSE_WAIT), TCPST("last_ack", TCP_ST_LAST_ACK),
    TCPST("fin_wait_1", TCP_ST_FIN_WAIT_1), TCPST("fin_wait_2", TCP_ST_FIN_WAIT_2),
    TCPST("closing", TCP_ST_CLOSING), TCPST("time_wait", TCP_ST_TIME_WAIT),
    TCPS(accepted), TCPS(refused), TCPS(closed_fin), TCPS(closed_rst),
    TCPS(closed_timeout), TCPS(closed_idle), TCPS(synrecv_timeout),
    TCPS(retransmits), TCPS(rto_timeouts), TCPS(fast_retransmits),
    TCPS(ooo_segs), TCPS(ooo_bytes), TCPS(dup_segs), TCPS(dup_bytes),
    TCPS(challenge_acks), TCPS(challenge_acks_limited), TCPS(rst_in_window_ignored),
    TCPS(syncookies_sent), TCPS(syncookies_ok), TCPS(syncookies_failed),
    TCPS(resets_sent), TCPS(tw_reuse), TCPS(tw_recycled), TCPS(zero_window_sent),
    TCPS(window_updates), TCPS(persist_probes), TCPS(delayed_acks), TCPS(tx_alloc_fail),
    SMTPS(sessions), SMTPS(sessions_refused), SMTPS(sessions_shutdown),
    SMTPS(messages), SMTPS(msg_bytes), SMTPS(msg_pass), SMTPS(msg_tag),
    SMTPS(msg_quarantine), SMTPS(msg_discard), SMTPS(msg_tempfail), SMTPS(msg_reject),
    SMTPS(msg_delivered), SMTPS(msg_no_chunk), SMTPS(msg_engine_fail), SMTPS(msg_busy), SMTPS(ctl_wakeups),
    SMTPS(results_dropped), SMTPS(replies_4xx), SMTPS(replies_5xx), SMTPS(reply_bytes),
    SFS(syn_dropped), SFS(syn_reset), SFS(refused_block), SFS(refused_conns),
    SFS(refused_rate), SFS(refused_profiler), SFS(refused_dnsbl), SFS(refused_pregreet),
    SFS(rcpt_unknown), SFS(allowed), SFS(dnsbl_queries), SFS(held), SFS(events_lost),
    SFS(limits_full), SFS(refusals_unlogged),
    {0, 0},
};

static const struct dp_stats_zone *dpstats_telemetry_zone;

/* dpstats_get - one counter of one worker */
static inline uint64_t dpstats_get(const struct dp_lcore_stats *s, size_t off)
{
    return (*(const volatile uint64_t *) ((const char *) s + off));
}

/* dpstats_create - reserve and initialise the zone (primary) */
struct dp_stats_zone *dpstats_create(unsigned nworkers)
{
    const struct rte_memzone *mz;
    struct dp_stats_zone *z;

    if (nworkers > DP_MAX_WORKERS) {
	RTE_LOG(ERR, USER1, "stats: %u workers, at most %d\n", nworkers, DP_MAX_WORKERS);
	return (0);
    }
    mz = rte_memzone_reserve(DPSTATS_ZONE_NAME, sizeof(*z), SOCKET_ID_ANY, 0);
    if (mz == 0) {
	RTE_LOG(ERR, USER1, "stats: reserve memzone %s (%zu bytes): %s\n",
		DPSTATS_ZONE_NAME, sizeof(*z), rte_strerror(rte_errno));
	return (0);
    }
    z = mz->addr;
    memset(z, 0, sizeof(*z));
    z->magic = DPSTATS_MAGIC;
    z->version = DPSTATS_VERSION;
    z->nworkers = nworkers;
    z->tsc_hz = rte_get_tsc_hz();
    dpstats_telemetry_zone = z;
    return (z);
}

/* dpstats_attach - find the zone (secondary) */
const struct dp_stats_zone *dpstats_attach(void)
{
    const struct rte_memzone *mz;

    if ((mz = rte_memzone_lookup(DPSTATS_ZONE_NAME)) == 0) {
	RTE_LOG(ERR, USER1, "stats: memzone %s not found (is mxgate-dp running "
		"with the same --file-prefix?)\n", DPSTATS_ZONE_NAME);
	return (0);
    }
    return (mz->addr);
}

/* dpstats_publish_tcp - copy the TCP counters where readers see them */
void    dpstats_publish_tcp(struct dp_lcore_stats *s, const struct tcp_counters *tc,
			            uint32_t conns)
{
    s->tcp = *tc;
    s->tcp_conns = conns;
}

/* dpstats_print - name, total, then one column per worker */
int     dpstats_print(FILE *fp, const struct dp_stats_zone *z,
		              const struct rte_mempool *pool)
{
    const struct dpstats_field *f;
    uint64_t v, sum;
    unsigned i;

    if (z->magic != DPSTATS_MAGIC || z->version != DPSTATS_VERSION) {
	fprintf(stderr, "mxgate-dp: stats zone version %u, this reader knows %u\n",
		z->version, DPSTATS_VERSION);
	return (-1);
    }
    fprintf(fp, "%-28s %14s", "counter", "total");
    for (i = 0; i < z->nworkers; i++)
	fprintf(fp, "  %12s%-2u", "lcore", z->lcore_id[i]);
    fputc('\n', fp);
    for (f = dpstats_fields; f->name; f++) {
	for (sum = 0, i = 0; i < z->nworkers; i++)
	    sum += dpstats_get(&z->w[i], f->off);
	fprintf(fp, "%-28s %14llu", f->name, (unsigned long long) sum);
	for (i = 0; i < z->nworkers; i++) {
	    v = dpstats_get(&z->w[i], f->off);
	    fprintf(fp, "  %14llu", (unsigned long long) v);
	}
	fputc('\n', fp);
    }
    fprintf(fp, "%-28s %14llu\n", "tsc_hz", (unsigned long long) z->tsc_hz);
    if (pool != 0) {
	fprintf(fp, "%-28s %14u\n", "mempool_in_use", rte_mempool_in_use_count(pool));
	fprintf(fp, "%-28s %14u\n", "mempool_size", pool->size);
    }
    return (fflush(fp) == 0 ? 0 : -1);
}

/* dpstats_telemetry - /mxgate/stats: totals over all workers */
static int dpstats_telemetry(const char *cmd, const char *params,
			             struct rte_tel_data *d)
{
    const struct dp_stats_zone *z = dpstats_telemetry_zone;
    const struct dpstats_field *f;
    uint64_t sum;
    unsigned i;

    if (z == 0)
	return (-1);
    rte_tel_data_start_dict(d);
    for (f = dpstats_fields; f->name; f++) {
	for (sum = 0, i = 0; i < z->nworkers; i++)
	    sum += dpstats_get(&z->w[i], f->off);
	rte_tel_data_add_dict_u64(d, f->name, sum);
    }
    return (0);
}

/* dpstats_telemetry_register - expose /mxgate/stats */
int     dpstats_telemetry_register(void)
{
    if (rte_telemetry_register_cmd("/mxgate/stats", dpstats_telemetry,
				   "Data-plane counters summed over workers") < 0) {
	RTE_LOG(WARNING, USER1, "stats: register telemetry command /mxgate/stats failed\n");
	return (-1);
    }
    return (0);
}
