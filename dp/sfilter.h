/*
 * sfilter.h - the sender filter: who may talk to us, decided at connect
 *
 *	Control side (any thread but the lcores / socket workers):
 *	struct sfilter *sfilter_create(const char *conf_path, unsigned nreaders,
 *			FILE *log, const struct sfilter_table_ops *tops,
 *			char *err, size_t errlen);
 *	struct sfilter_reader *sfilter_reader(struct sfilter *sf, unsigned i);
 *	void sfilter_ctl_poll(struct sfilter *sf, uint64_t now_ms);
 *	int sfilter_ctl_fd(const struct sfilter *sf);
 *	int sfilter_reload(struct sfilter *sf, char *err, size_t errlen);
 *	int sfilter_thread_start(struct sfilter *sf);
 *	struct profiler *sfilter_profiler(struct sfilter *sf);
 *	void sfilter_report(const struct sfilter *sf, FILE *fp);
 *	void sfilter_set_report(struct sfilter *sf, FILE *fp);
 *	void sfilter_free(struct sfilter *sf);
 *
 *	Reader side (one reader per lcore or socket worker, never blocks):
 *	int sfilter_syn(struct sfilter_reader *r, uint32_t addr);
 *	void sfilter_open(struct sfilter_reader *r, struct sfilter_conn *fc,
 *			struct smtp_session *sess, uint32_t addr, uint64_t now_ms);
 *	int sfilter_gate(struct sfilter_reader *r, struct sfilter_conn *fc,
 *			struct smtp_session *sess, bool input, uint64_t now_ms);
 *	int sfilter_mail_check(struct sfilter_reader *r, struct sfilter_conn *fc,
 *			const struct smtp_txn *t, struct smtp_reply *rep);
 *	int sfilter_rcpt_check(struct sfilter_reader *r, struct sfilter_conn *fc,
 *			const struct smtp_rcpt *rcpt, struct smtp_reply *rep);
 *	void sfilter_msg_done(struct sfilter_reader *r, struct sfilter_conn *fc,
 *			const struct verdict *v, const struct envelope *env);
 *	void sfilter_close(struct sfilter_reader *r, struct sfilter_conn *fc);
 *	void sfilter_quiesce(struct sfilter_reader *r);
 *
 *	Either side:
 *	void sfilter_counters_export(struct ctlplane_sfilter_stats *o,
 *			const struct sfilter_counters *c);
 *
 * DESCRIPTION
 *	The first line of the gateway (issue 6, docs/sender-filter.md): IPv4
 *	allow and block lists, connection limits per source address,
 *	recipient validation, DNSBL/DNSWL reputation with weights, the
 *	pregreet test and the IP Profiler. No DPDK and no sockets here: the
 *	same code serves mxgate-dp (dp/sfilter_dp.c glue, rte_lpm tables
 *	from dp/sfilter_lpm.c) and mxgate-filter (dp/sfilter_sock.c glue,
 *	sorted-prefix tables from dp/sfilter_list.c).
 *
 *	Who writes what. Control (the thread calling sfilter_ctl_poll) is
 *	the only writer of the published state: the list table (a pointer
 *	swapped on reload, the old table freed once every reader passed a
 *	quiescent point: sfilter_quiesce() once per loop, a small QSBR of
 *	our own) and the address table (DNSBL results, profiler blocks,
 *	pregreet passes: entries under a sequence lock, read without locks).
 *	Readers tell control what they saw through one single-producer
 *	ring each (DNS query wanted, message and recipient outcomes for the
 *	profiler, pregreet passes, refusals to log). The only memory that
 *	readers write together is the limits table (concurrent connections
 *	and connection rate per address: atomic counters), because one
 *	address's connections land on many lcores.
 *
 *	sfilter_syn() answers TCP_FILTER_* for the SYN hook (block list when
 *	block_action is drop or rst). sfilter_open() decides at accept: the
 *	greeting may be replaced by 554 5.7.1 (smtp_session_refuse), held
 *	(pregreet delay, DNSBL budget) or the connection closed with a 421
 *	line (limits, temporary profiler block) that the transport sends
 *	from fc->text. sfilter_gate() is called by the transport's pump
 *	while fc->gate is not SFILTER_GATE_OPEN: it returns what to do now.
 *
 * DIAGNOSTICS
 *	sfilter_create() and sfilter_reload() return NULL/-1 with the file
 *	and line of the first error in err; a failed reload keeps the
 *	running lists. At run time nothing is printed by readers: counters
 *	(struct sfilter_counters) and one JSON log line per refusal,
 *	written by control.
 */
#ifndef MX_DP_SFILTER_H
#define MX_DP_SFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine.h"
#include "sfilter_counters.h"
#include "smtp_session.h"

/* What the transport does after sfilter_gate(). */
#define SFILTER_GATE_OPEN	0	/* greeting goes, session runs */
#define SFILTER_GATE_HOLD	1	/* keep the greeting, call again */
#define SFILTER_GATE_CLOSE	2	/* send fc->text, close */

#define SFILTER_TEXT_MAX	160

/* Per-connection state, inside the transport's connection slot. */
struct sfilter_conn {
	uint32_t addr;		/* host byte order */
	uint8_t gate;		/* SFILTER_GATE_* */
	bool allowed;		/* allowlisted: no reputation, no profiling */
	bool limited;		/* holds a count in the limits table */
	bool pregreet;		/* being tested */
	bool dnsbl_wait;	/* greeting waits for DNSBL (budget) */
	bool dnsbl_done;	/* verdict applied or cleared */
	uint32_t slot;		/* limits table slot */
	uint64_t hold_until_ms;	/* reader clock */
	uint64_t dnsbl_until_ms;
	uint16_t text_len;
	char text[SFILTER_TEXT_MAX];	/* 421 line for GATE_CLOSE */
};


/* A compiled prefix table; ops chosen at sfilter_create(). */
struct sfilter_prefix {
	uint32_t net;		/* host byte order, masked */
	uint8_t len;
	uint8_t value;		/* SFILTER_LIST_* */
};

#define SFILTER_LIST_NONE	0
#define SFILTER_LIST_ALLOW	1
#define SFILTER_LIST_BLOCK	2

struct sfilter_table_ops {
	/* Build from prefixes (already merged: one value per prefix). */
	void *(*build)(const struct sfilter_prefix *p, size_t n, char *err,
		       size_t errlen);
	/* SFILTER_LIST_* for addr; reader side, read-only. */
	int (*lookup)(const void *table, uint32_t addr);
	void (*destroy)(void *table);
};

extern const struct sfilter_table_ops sfilter_sorted_ops;

struct sfilter;
struct sfilter_reader;
struct profiler;

struct sfilter *sfilter_create(const char *conf_path, unsigned nreaders,
			       FILE *log, const struct sfilter_table_ops *tops,
			       char *err, size_t errlen);
struct sfilter_reader *sfilter_reader(struct sfilter *sf, unsigned i);
struct sfilter_counters *sfilter_reader_counters(struct sfilter_reader *r);
void sfilter_reader_set_counters(struct sfilter_reader *r,
				 struct sfilter_counters *c);
void sfilter_ctl_poll(struct sfilter *sf, uint64_t now_ms);
int sfilter_ctl_fd(const struct sfilter *sf);
int sfilter_reload(struct sfilter *sf, char *err, size_t errlen);
int sfilter_thread_start(struct sfilter *sf);
struct profiler *sfilter_profiler(struct sfilter *sf);
void sfilter_report(const struct sfilter *sf, FILE *fp);
void sfilter_set_report(struct sfilter *sf, FILE *fp);
void sfilter_free(struct sfilter *sf);

int sfilter_syn(struct sfilter_reader *r, uint32_t addr);
void sfilter_open(struct sfilter_reader *r, struct sfilter_conn *fc,
		  struct smtp_session *sess, uint32_t addr, uint64_t now_ms);
int sfilter_gate(struct sfilter_reader *r, struct sfilter_conn *fc,
		 struct smtp_session *sess, bool input, uint64_t now_ms);
int sfilter_mail_check(struct sfilter_reader *r, struct sfilter_conn *fc,
		       const struct smtp_txn *t, struct smtp_reply *rep);
int sfilter_rcpt_check(struct sfilter_reader *r, struct sfilter_conn *fc,
		       const struct smtp_rcpt *rcpt, struct smtp_reply *rep);
void sfilter_msg_done(struct sfilter_reader *r, struct sfilter_conn *fc,
		      const struct verdict *v, const struct envelope *env);
void sfilter_close(struct sfilter_reader *r, struct sfilter_conn *fc);
void sfilter_quiesce(struct sfilter_reader *r);

struct ctlplane_sfilter_stats;
void sfilter_counters_export(struct ctlplane_sfilter_stats *o,
			     const struct sfilter_counters *c);

#endif
