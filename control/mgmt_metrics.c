/*
 * mgmt_metrics.c - GET /metrics (Prometheus text) and GET /api/v1/stats
 *
 *	unsigned mgmt_cores(struct ctlplane *cp,
 *			struct ctlplane_core_stats *cs, unsigned max);
 *	int mgmt_stats(struct ctlplane *cp, struct mgmt_reply *out);
 *	int mgmt_metrics(struct ctlplane *cp, struct mgmt_reply *out);
 *
 *	Both read the per-core snapshots the daemon's core_stats hook gives
 *	(single-writer counters, read without locks) plus the relay and the
 *	store. Metric names are listed in docs/operations.md; every counter
 *	ends in _total, histograms are in seconds.
 *
 *	A family the daemon does not measure (struct ctlplane_core_stats
 *	.has: mxgate-filter has no frames, no TX bursts, no control
 *	doorbell; either daemon may run without a sender filter) is left
 *	out whole, HELP and TYPE included, and so are its keys in the API:
 *	a zero would read as "nothing happened" on a busy gateway.
 *
 * DIAGNOSTICS
 *	mgmt_stats() and mgmt_metrics() return -1 when memory for the
 *	snapshots or the reply body cannot be had (the caller answers 500).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mgmt.h"
#include "mgmt_json.h"
#include "pgstore.h"

/* One per-core counter: name, help, what the daemon must measure for it
 * to exist (CTLPLANE_HAS_*, 0: always), where it is in the snapshot. */
struct core_metric {
	const char *name;
	const char *type;
	const char *help;
	unsigned need;
	size_t off;
};

#define CM(n, t, h, need, f) \
	{ n, t, h, need, offsetof(struct ctlplane_core_stats, f) }
#define FR	CTLPLANE_HAS_FRAMES
static const struct core_metric core_metrics[] = {
	CM("mxgate_rx_packets_total", "counter", "Frames received from the NIC queue", FR, rx_pkts),
	CM("mxgate_rx_bytes_total", "counter", "Bytes received: NIC queue frames (mxgate-dp), socket payload (mxgate-filter)", 0, rx_bytes),
	CM("mxgate_tx_packets_total", "counter", "Frames sent", FR, tx_pkts),
	CM("mxgate_tx_bytes_total", "counter", "Bytes sent: frames (mxgate-dp), socket payload (mxgate-filter)", 0, tx_bytes),
	CM("mxgate_drops_total", "counter", "Frames dropped, every reason", FR, drops),
	CM("mxgate_connections", "gauge", "Open TCP connections or sessions", 0, conns),
	CM("mxgate_sessions_total", "counter", "SMTP sessions accepted", 0, sessions),
	CM("mxgate_sessions_refused_total", "counter", "SMTP sessions refused (no slot, shutting down)", 0, sessions_refused),
	CM("mxgate_messages_received_total", "counter", "Messages handed to delivery", 0, messages),
	CM("mxgate_message_bytes_total", "counter", "Content bytes of those messages", 0, msg_bytes),
	CM("mxgate_messages_delivered_total", "counter", "Messages the downstream accepted", 0, msg_delivered),
	CM("mxgate_busy_cycles_total", "counter", "TSC cycles of loop iterations that did work", FR, busy_cycles),
	CM("mxgate_idle_cycles_total", "counter", "TSC cycles of loop iterations that found nothing", FR, idle_cycles),
	CM("mxgate_tx_bursts_total", "counter", "Bursts handed to the port (rte_eth_tx_burst calls)", FR, tx_bursts),
	CM("mxgate_tx_cycles_total", "counter", "TSC cycles inside those TX bursts, part of busy cycles", FR, tx_cycles),
	CM("mxgate_control_wakeups_total", "counter", "Message handovers that woke the sleeping control thread", CTLPLANE_HAS_WAKEUPS, ctl_wakeups),
};

static const struct {
	const char *action;
	size_t off;
} action_metrics[] = {
	{ "pass", offsetof(struct ctlplane_core_stats, msg_pass) },
	{ "tag", offsetof(struct ctlplane_core_stats, msg_tag) },
	{ "quarantine", offsetof(struct ctlplane_core_stats, msg_quarantine) },
	{ "discard", offsetof(struct ctlplane_core_stats, msg_discard) },
	{ "reject", offsetof(struct ctlplane_core_stats, msg_reject) },
	{ "tempfail", offsetof(struct ctlplane_core_stats, msg_tempfail) },
};

#define SF(f)	(offsetof(struct ctlplane_core_stats, sfilter) \
		 + offsetof(struct ctlplane_sfilter_stats, f))

/* mxgate_sfilter_refusals_total{reason=...}: every way a client is
 * turned away, so that one sum() is "refused by the sender filter". */
static const struct {
	const char *reason;
	size_t off;
} sfilter_refusals[] = {
	{ "block", SF(refused_block) },
	{ "conns", SF(refused_conns) },
	{ "rate", SF(refused_rate) },
	{ "profiler", SF(refused_profiler) },
	{ "dnsbl", SF(refused_dnsbl) },
	{ "pregreet", SF(refused_pregreet) },
	{ "rcpt_unknown", SF(rcpt_unknown) },
	{ "syn_dropped", SF(syn_dropped) },
	{ "syn_reset", SF(syn_reset) },
};

/* The sender filter's other counters; key is the API's name. */
static const struct {
	const char *name;
	const char *help;
	const char *key;
	size_t off;
} sfilter_metrics[] = {
	{ "mxgate_sfilter_allowed_total", "Connections from allowlisted addresses", "allowed", SF(allowed) },
	{ "mxgate_sfilter_dnsbl_queries_total", "DNSBL lookups asked of the control thread", "dnsbl_queries", SF(dnsbl_queries) },
	{ "mxgate_sfilter_held_total", "Greetings held (pregreet test, DNSBL budget)", "held", SF(held) },
	{ "mxgate_sfilter_events_lost_total", "Events to the control thread lost: ring full", "events_lost", SF(events_lost) },
	{ "mxgate_sfilter_limits_full_total", "Connections not limited: limits table full", "limits_full", SF(limits_full) },
	{ "mxgate_sfilter_refusals_unlogged_total", "Refusals counted but not logged (log rate limit)", "refusals_unlogged", SF(refusals_unlogged) },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* field - a counter of a snapshot by offset */
static uint64_t field(const struct ctlplane_core_stats *c, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

/* measured - whether snapshot c has what need asks (0: always) */
static int measured(const struct ctlplane_core_stats *c, unsigned need)
{
	return (c->has & need) == need;
}

/* any_measured - whether one of the n snapshots has it: the family exists */
static int any_measured(const struct ctlplane_core_stats *cs, unsigned n,
			unsigned need)
{
	if (need == 0)
		return 1;
	for (unsigned i = 0; i < n; i++)
		if (measured(&cs[i], need))
			return 1;
	return 0;
}

/* json_sfilter - one core's ,"sfilter":{...} of GET /api/v1/stats */
static void json_sfilter(FILE *fp, const struct ctlplane_core_stats *c)
{
	fputs(",\"sfilter\":{\"refusals\":{", fp);
	for (size_t k = 0; k < NELEM(sfilter_refusals); k++)
		fprintf(fp, "%s\"%s\":%llu", k ? "," : "", sfilter_refusals[k].reason,
			(unsigned long long)field(c, sfilter_refusals[k].off));
	fputc('}', fp);
	for (size_t k = 0; k < NELEM(sfilter_metrics); k++)
		fprintf(fp, ",\"%s\":%llu", sfilter_metrics[k].key,
			(unsigned long long)field(c, sfilter_metrics[k].off));
	fputc('}', fp);
}

/* prom_sfilter - the sender filter's families, samples of the cores that
 * run one */
static void prom_sfilter(FILE *fp, const struct ctlplane_core_stats *cs,
			 unsigned n)
{
	fputs("# HELP mxgate_sfilter_refusals_total Clients the sender filter"
	      " turned away, by reason.\n"
	      "# TYPE mxgate_sfilter_refusals_total counter\n", fp);
	for (unsigned i = 0; i < n; i++) {
		if (!measured(&cs[i], CTLPLANE_HAS_SFILTER))
			continue;
		for (size_t k = 0; k < NELEM(sfilter_refusals); k++)
			fprintf(fp, "mxgate_sfilter_refusals_total{core=\"%u\",reason=\"%s\"}"
				" %llu\n", cs[i].core, sfilter_refusals[k].reason,
				(unsigned long long)field(&cs[i], sfilter_refusals[k].off));
	}
	for (size_t k = 0; k < NELEM(sfilter_metrics); k++) {
		fprintf(fp, "# HELP %s %s.\n# TYPE %s counter\n", sfilter_metrics[k].name,
			sfilter_metrics[k].help, sfilter_metrics[k].name);
		for (unsigned i = 0; i < n; i++)
			if (measured(&cs[i], CTLPLANE_HAS_SFILTER))
				fprintf(fp, "%s{core=\"%u\"} %llu\n", sfilter_metrics[k].name,
					cs[i].core,
					(unsigned long long)field(&cs[i], sfilter_metrics[k].off));
	}
}

/* mgmt_cores - the daemon's snapshots, histograms copied consistently */
unsigned mgmt_cores(struct ctlplane *cp, struct ctlplane_core_stats *cs,
		    unsigned max)
{
	unsigned n;

	if (cp->hooks.core_stats == NULL)
		return 0;
	memset(cs, 0, max * sizeof(*cs));
	n = cp->hooks.core_stats(cp->hooks.ctx, cs, max);
	return n > max ? max : n;
}

/* mgmt_stats - GET /api/v1/stats: {"cores":[...]} */
int mgmt_stats(struct ctlplane *cp, struct mgmt_reply *out)
{
	struct ctlplane_core_stats *cs = calloc(CTLPLANE_CORES_MAX, sizeof(*cs));
	unsigned n;
	FILE *fp;

	if (cs == NULL)
		return -1;
	n = mgmt_cores(cp, cs, CTLPLANE_CORES_MAX);
	if ((fp = mgmt_body(out, 200)) == NULL) {
		free(cs);
		return -1;
	}
	fprintf(fp, "{\"workers\":%u,\"cores\":[", n);
	for (unsigned i = 0; i < n; i++) {
		fprintf(fp, "%s{\"core\":%u", i ? "," : "", cs[i].core);
		for (size_t k = 0; k < NELEM(core_metrics); k++) {
			const char *nm = core_metrics[k].name + strlen("mxgate_");
			size_t nl = strlen(nm);

			if (!measured(&cs[i], core_metrics[k].need))
				continue;
			if (nl > 6 && strcmp(nm + nl - 6, "_total") == 0)
				nl -= 6;
			fprintf(fp, ",\"%.*s\":%llu", (int)nl, nm,
				(unsigned long long)field(&cs[i], core_metrics[k].off));
		}
		if (measured(&cs[i], CTLPLANE_HAS_SFILTER))
			json_sfilter(fp, &cs[i]);
		fputs(",\"messages_by_action\":{", fp);
		for (size_t k = 0; k < NELEM(action_metrics); k++)
			fprintf(fp, "%s\"%s\":%llu", k ? "," : "", action_metrics[k].action,
				(unsigned long long)field(&cs[i], action_metrics[k].off));
		fprintf(fp, "},\"replies_4xx\":%llu,\"replies_5xx\":%llu,"
			"\"scan_ms_count\":%llu,\"scan_ms_sum\":%.3f,"
			"\"total_ms_count\":%llu,\"total_ms_sum\":%.3f}",
			(unsigned long long)cs[i].replies_4xx,
			(unsigned long long)cs[i].replies_5xx,
			(unsigned long long)cs[i].scan_ms.count,
			(double)cs[i].scan_ms.sum_us / 1000.0,
			(unsigned long long)cs[i].total_ms.count,
			(double)cs[i].total_ms.sum_us / 1000.0);
	}
	fputs("]}\n", fp);
	free(cs);
	return fclose(fp) == 0 ? 0 : -1;
}

/* mgmt_metrics - GET /metrics */
int mgmt_metrics(struct ctlplane *cp, struct mgmt_reply *out)
{
	struct ctlplane_core_stats *cs = calloc(CTLPLANE_CORES_MAX, sizeof(*cs));
	struct metrics_hist scan, total, h;
	struct ctlplane_relay_state rs;
	struct pgstore_stats st;
	struct timespec now;
	unsigned n;
	FILE *fp;

	if (cs == NULL)
		return -1;
	n = mgmt_cores(cp, cs, CTLPLANE_CORES_MAX);
	if ((fp = mgmt_body(out, 200)) == NULL) {
		free(cs);
		return -1;
	}
	out->ctype = "text/plain; version=0.0.4; charset=utf-8";
	clock_gettime(CLOCK_REALTIME, &now);
	fputs("# HELP mxgate_info The running daemon, its version and rule set.\n"
	      "# TYPE mxgate_info gauge\n", fp);
	fprintf(fp, "mxgate_info{daemon=\"%s\",version=\"%s\"} 1\n",
		cp->cfg.daemon, cp->cfg.version);
	fputs("# HELP mxgate_rules_info The running rule set version.\n"
	      "# TYPE mxgate_rules_info gauge\n", fp);
	fprintf(fp, "mxgate_rules_info{version=\"%s\"} 1\n", ctlplane_rules_version(cp));
	fputs("# HELP mxgate_uptime_seconds Seconds since the daemon started.\n"
	      "# TYPE mxgate_uptime_seconds gauge\n", fp);
	fprintf(fp, "mxgate_uptime_seconds %llu\n",
		(unsigned long long)(((uint64_t)now.tv_sec * 1000 - cp->start_ms) / 1000));
	fputs("# HELP mxgate_workers Worker lcores or threads.\n"
	      "# TYPE mxgate_workers gauge\n", fp);
	fprintf(fp, "mxgate_workers %u\n", cp->cfg.workers);
	for (size_t k = 0; k < NELEM(core_metrics); k++) {
		if (!any_measured(cs, n, core_metrics[k].need))
			continue;
		fprintf(fp, "# HELP %s %s.\n# TYPE %s %s\n", core_metrics[k].name,
			core_metrics[k].help, core_metrics[k].name, core_metrics[k].type);
		for (unsigned i = 0; i < n; i++)
			if (measured(&cs[i], core_metrics[k].need))
				fprintf(fp, "%s{core=\"%u\"} %llu\n", core_metrics[k].name,
					cs[i].core,
					(unsigned long long)field(&cs[i], core_metrics[k].off));
	}
	if (any_measured(cs, n, CTLPLANE_HAS_SFILTER))
		prom_sfilter(fp, cs, n);
	fputs("# HELP mxgate_messages_total Messages answered, by verdict action.\n"
	      "# TYPE mxgate_messages_total counter\n", fp);
	for (unsigned i = 0; i < n; i++)
		for (size_t k = 0; k < NELEM(action_metrics); k++)
			fprintf(fp, "mxgate_messages_total{core=\"%u\",action=\"%s\"} %llu\n",
				cs[i].core, action_metrics[k].action,
				(unsigned long long)field(&cs[i], action_metrics[k].off));
	fputs("# HELP mxgate_replies_total Final replies sent to clients, by class.\n"
	      "# TYPE mxgate_replies_total counter\n", fp);
	for (unsigned i = 0; i < n; i++)
		fprintf(fp, "mxgate_replies_total{core=\"%u\",class=\"4xx\"} %llu\n"
			"mxgate_replies_total{core=\"%u\",class=\"5xx\"} %llu\n",
			cs[i].core, (unsigned long long)cs[i].replies_4xx,
			cs[i].core, (unsigned long long)cs[i].replies_5xx);
	memset(&scan, 0, sizeof(scan));
	memset(&total, 0, sizeof(total));
	for (unsigned i = 0; i < n; i++) {
		metrics_hist_read(&cs[i].scan_ms, &h);
		metrics_hist_add(&scan, &h);
		metrics_hist_read(&cs[i].total_ms, &h);
		metrics_hist_add(&total, &h);
	}
	fputs("# HELP mxgate_scan_duration_seconds Engine time per message (MIME,"
	      " decode, scan, policy).\n# TYPE mxgate_scan_duration_seconds histogram\n", fp);
	metrics_write_hist(fp, "mxgate_scan_duration_seconds", "", &scan);
	fputs("# HELP mxgate_end_to_end_duration_seconds End of data to the"
	      " client's final reply.\n# TYPE mxgate_end_to_end_duration_seconds histogram\n", fp);
	metrics_write_hist(fp, "mxgate_end_to_end_duration_seconds", "", &total);
	if (cp->hooks.relay_state) {
		memset(&rs, 0, sizeof(rs));
		cp->hooks.relay_state(cp->hooks.ctx, &rs);
		if (rs.reachable < 0)
			rs.reachable = mgmt_probe_downstream(cp);
		fputs("# HELP mxgate_relay_queue_depth Messages waiting for a downstream"
		      " connection.\n# TYPE mxgate_relay_queue_depth gauge\n", fp);
		fprintf(fp, "mxgate_relay_queue_depth %llu\n", (unsigned long long)rs.queued);
		fputs("# HELP mxgate_relay_in_flight Messages with delivery, not yet"
		      " answered.\n# TYPE mxgate_relay_in_flight gauge\n", fp);
		fprintf(fp, "mxgate_relay_in_flight %llu\n", (unsigned long long)rs.in_flight);
		fputs("# HELP mxgate_downstream_up Whether the downstream greets with 2xx"
		      " (-1 unknown).\n# TYPE mxgate_downstream_up gauge\n", fp);
		fprintf(fp, "mxgate_downstream_up %d\n", rs.reachable);
	}
	fputs("# HELP mxgate_db_up Whether the store's writer is connected to"
	      " PostgreSQL.\n# TYPE mxgate_db_up gauge\n", fp);
	if (cp->store && pgstore_stats(cp->store, &st) == 0) {
		fprintf(fp, "mxgate_db_up %d\n", st.connected ? 1 : 0);
		fputs("# HELP mxgate_db_queue_depth Log rows waiting in memory.\n"
		      "# TYPE mxgate_db_queue_depth gauge\n", fp);
		fprintf(fp, "mxgate_db_queue_depth %llu\n", (unsigned long long)st.queued);
		fputs("# HELP mxgate_db_spool_pending_bytes Spooled log rows not yet"
		      " replayed, bytes.\n# TYPE mxgate_db_spool_pending_bytes gauge\n", fp);
		fprintf(fp, "mxgate_db_spool_pending_bytes %llu\n",
			(unsigned long long)st.spool_pending_bytes);
		fputs("# HELP mxgate_db_rows_total Log rows by outcome.\n"
		      "# TYPE mxgate_db_rows_total counter\n", fp);
		fprintf(fp, "mxgate_db_rows_total{outcome=\"logged\"} %llu\n"
			"mxgate_db_rows_total{outcome=\"spooled\"} %llu\n"
			"mxgate_db_rows_total{outcome=\"replayed\"} %llu\n"
			"mxgate_db_rows_total{outcome=\"dropped\"} %llu\n",
			(unsigned long long)st.logged, (unsigned long long)st.spooled,
			(unsigned long long)st.replayed, (unsigned long long)st.dropped);
	} else {
		fputs("mxgate_db_up 0\n", fp);
	}
	free(cs);
	return fclose(fp) == 0 ? 0 : -1;
}
