/*
 * sfilter_counters.h - one reader's sender-filter counters
 *
 * DESCRIPTION
 *	Kept apart from sfilter.h (no engine headers) so that the stats
 *	memzone (stats.h) can hold a block per lcore: mxgate-dp --stats
 *	prints them as sfilter_*. Single writer (the lcore or socket
 *	worker), read by anyone; monotonic.
 */
#ifndef MX_DP_SFILTER_COUNTERS_H
#define MX_DP_SFILTER_COUNTERS_H

#include <stdint.h>

struct sfilter_counters {
	uint64_t syn_dropped;		/* block list at SYN: dropped */
	uint64_t syn_reset;		/* ... answered with RST */
	uint64_t refused_block;		/* 554 at greeting: block list */
	uint64_t refused_conns;		/* 421: concurrent connections */
	uint64_t refused_rate;		/* 421: connection rate */
	uint64_t refused_profiler;	/* profiler block at connect or MAIL */
	uint64_t refused_dnsbl;		/* DNSBL verdict at MAIL/RCPT */
	uint64_t refused_pregreet;	/* talked before the greeting */
	uint64_t rcpt_unknown;		/* 550 5.1.1 */
	uint64_t allowed;		/* allowlisted connections */
	uint64_t dnsbl_queries;		/* lookups asked of control */
	uint64_t held;			/* greetings held (pregreet, DNSBL) */
	uint64_t events_lost;		/* event ring full */
	uint64_t limits_full;		/* limits table full: not limited */
	uint64_t refusals_unlogged;	/* over SF_LOG_PER_S: counted only */
};

#endif
