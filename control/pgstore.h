/*
 * pgstore.h - the PostgreSQL store: message log, quarantine, rule sets, audit
 *
 *	struct pgstore *pgstore_open(const struct pgstore_config *cfg,
 *			char *err, size_t errlen);
 *	void pgstore_close(struct pgstore *s);
 *
 *	int pgstore_log(struct pgstore *s, const struct msglog_entry *e);
 *	int pgstore_quarantine_put(struct pgstore *s, const char *qid,
 *			const char *meta_json, const struct iovec *iov,
 *			size_t niov, char *err, size_t errlen);
 *	int pgstore_quarantine_list(struct pgstore *s,
 *			const struct pgstore_query *q, char **json);
 *	int pgstore_quarantine_get(struct pgstore *s, const char *qid,
 *			char **msg, size_t *len, char **meta_json);
 *	int pgstore_quarantine_delete(struct pgstore *s, const char *qid,
 *			const char *actor);
 *	int pgstore_messages_search(struct pgstore *s,
 *			const struct pgstore_query *q, char **json);
 *	int pgstore_audit(struct pgstore *s, const char *actor,
 *			const char *action, const char *detail_json);
 *	int pgstore_rules_put(struct pgstore *s, const char *version,
 *			const void *blob, size_t len, const char *actor);
 *	int pgstore_rules_get(struct pgstore *s, const char *version,
 *			void **blob, size_t *len, char *version_out,
 *			size_t vlen);
 *	int pgstore_rules_set_active(struct pgstore *s, const char *version,
 *			const char *actor);
 *	int pgstore_listen(struct pgstore *s, const char *channel,
 *			void (*cb)(void *ctx, const char *payload), void *ctx);
 *	int pgstore_unlisten(struct pgstore *s, const char *channel,
 *			void (*cb)(void *ctx, const char *payload), void *ctx);
 *	int pgstore_stats(struct pgstore *s, struct pgstore_stats *st);
 *
 *	int pgstore_block_put(struct pgstore *s,
 *			const struct pgstore_block *b);
 *	int pgstore_block_remove(struct pgstore *s, const char *addr,
 *			const char *actor);
 *	int pgstore_blocks_active(struct pgstore *s,
 *			struct pgstore_block **out, size_t *n);
 *	int pgstore_blocks_in_force(struct pgstore *s, const char *addr,
 *			const char *node, struct pgstore_block **out,
 *			size_t *n);
 *	int pgstore_blocks_removed(struct pgstore *s, int64_t within_ms,
 *			struct pgstore_block **out, size_t *n);
 *	int pgstore_blocks_notice_parse(const char *payload,
 *			struct pgstore_blocks_notice *out);
 *	int pgstore_listen_catchup(struct pgstore *s, const char *channel,
 *			void (*cb)(void *ctx, const char *payload), void *ctx);
 *	const char *pgstore_node(const struct pgstore *s);
 *
 * DESCRIPTION
 *	Every function is thread-safe and may be called from any thread
 *	except a DPDK lcore (they take mutexes and, except pgstore_log,
 *	talk to the database).
 *
 *	pgstore_open() connects to cfg->conninfo or, when it is NULL or
 *	"", starts a private PostgreSQL in cfg->datadir (pgserver.h), then
 *	applies the schema migrations that are missing (pgstore_schema.c;
 *	serialised between nodes by an advisory lock). It fails when the
 *	database cannot be reached at start: a daemon should not start
 *	half-configured. Later outages are survived (below).
 *
 *	pgstore_log() copies the entry (nothing of e is kept) onto a bounded
 *	in-memory queue and returns at once; a writer thread inserts queued
 *	rows in batches (at most cfg->batch_rows rows or cfg->batch_ms
 *	milliseconds). When the database is down or slow (a write fails, or
 *	the queue holds more than cfg->spill_rows rows) rows go to the
 *	on-disk spool in cfg->spool_dir (spool.h) and are replayed when the
 *	database is back. Every row's key is (node, qid) and inserts are
 *	ON CONFLICT DO NOTHING, so a replayed row is stored exactly once.
 *	Rows are lost only when both queue and spool are full: they are
 *	counted (pgstore_stats: dropped) and reported on stderr.
 *
 *	pgstore_quarantine_put() stores the message (the iovecs joined) and
 *	its metadata synchronously, on its own connection, under a statement
 *	timeout of PGSTORE_QUARANTINE_TIMEOUT_MS; it returns 0 only after
 *	the COMMIT. -1 (err says why) when the database is down or slow:
 *	the caller answers 451. After a failure it does not try to reconnect
 *	for PGSTORE_RECONNECT_MS, so a dead database costs no time per mail.
 *
 *	The query functions return malloc'd JSON built by PostgreSQL:
 *	pgstore_quarantine_list() and pgstore_messages_search() an array of
 *	objects, newest first, filtered by q (NULL members and 0 times mean
 *	"any"; limit 0 means PGSTORE_QUERY_LIMIT, at most
 *	PGSTORE_QUERY_LIMIT_MAX). q->qid is mxgate's queue id,
 *	q->upstream_qid the one the front MTA gave through XFORWARD IDENT
 *	(socket mode behind Postfix); they are separate filters, and
 *	the quarantine list ignores upstream_qid. pgstore_quarantine_get() returns 1 with
 *	the message and metadata (malloc'd) or 0 when there is no such
 *	(undeleted) qid. pgstore_quarantine_delete() marks the message
 *	deleted and released (by actor) and writes an audit row; it returns
 *	1 when a message was deleted, 0 when there was none.
 *
 *	pgstore_rules_put() stores a rule set version (a blob, e.g. a
 *	bundle) inactive and returns 0, also when that version is already
 *	stored (two nodes publishing the same bundle: the first copy stays).
 *	pgstore_rules_set_active() makes one version the active one and
 *	sends NOTIFY mxgate_rules, '<version>' in the same transaction; -1
 *	with errno ENOENT when there is no such version. Both write an audit
 *	row. pgstore_rules_get() fetches a version (NULL: the active one) and
 *	returns 1, 0 when there is none. pgstore_listen() LISTENs on a
 *	channel and returns once the LISTEN is in place: cb runs on the
 *	store's listener thread, which reconnects (and re-LISTENs) after an
 *	outage; notifications sent during an outage are lost.
 *	pgstore_unlisten() undoes one pgstore_listen(): when it returns, cb
 *	is not running (unless called from cb itself) and is not called
 *	again with ctx; -1 (ENOENT) when there was no such registration.
 *
 *	IP Profiler blocks (pgstore_blocks.c, table ip_blocks; on the
 *	query connection, so callers on a control thread queue them:
 *	control/profiler_store.h). pgstore_block_put() records a block
 *	this node started (one row in force per node and address: a new
 *	block of the same address replaces it). pgstore_block_remove()
 *	marks every row in force for addr, of every node, removed by actor
 *	and returns how many it marked. pgstore_blocks_active() gives the
 *	rows in force of every node (not removed, permanent or not yet
 *	expired by the database's clock), at most PGSTORE_BLOCKS_MAX,
 *	as a malloc'd array. pgstore_blocks_in_force() is the same with
 *	filters: addr (NULL: every address) and node (NULL: every node).
 *	pgstore_blocks_removed() gives the addresses (addr and the node
 *	that removed them in node) with a row marked removed within the
 *	last within_ms milliseconds (database clock) and no row in force:
 *	what a node that missed notifications must lift.
 *
 *	Both block writes NOTIFY PGSTORE_BLOCKS_CHANNEL in their own
 *	transaction (listeners see committed rows only) with the payload
 *	"block ADDR NODE" or "remove ADDR NODE" (NODE: the writer's node
 *	name, which may contain blanks: the rest of the payload);
 *	pgstore_blocks_notice_parse() splits one (-1: not such a payload).
 *	pgstore_listen_catchup() is pgstore_listen() for consumers that must
 *	not miss a change: cb is also called with payload NULL each time
 *	the listener has LISTENed again after losing its connection (or
 *	first LISTENs when the database was down at registration), so that
 *	it re-reads the state. pgstore_node() is this gateway's node name.
 *
 *	Who owns the handle: mxgate-filter's control plane opens it
 *	(ctlplane_start, --db) and dp/sock_main.c hands ctlplane_store() to
 *	delivery_config.store. mxgate-dp's control thread (dp/smtp_ctrl.c)
 *	opens it with the db, db_dir, spool_dir and node keys before its
 *	delivery, closes it after delivery_free(), and gives it to the
 *	control plane as ctlplane_config.pg (smtpctl_store()).
 *
 * DIAGNOSTICS
 *	Functions returning int return -1 on error; pgstore_open() returns
 *	NULL and fills err with what was attempted and libpq's or the
 *	command's message. The writer reports outages, spooling, replays
 *	and dropped rows on stderr, once per state change.
 */
#ifndef MX_PGSTORE_H
#define MX_PGSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "msglog.h"

#define PGSTORE_QUEUE_MAX		65536	/* rows in memory */
#define PGSTORE_SPILL_ROWS		8192	/* queue depth that means "slow" */
#define PGSTORE_BATCH_ROWS		500	/* rows per INSERT */
#define PGSTORE_BATCH_MS		50	/* oldest queued row waits at most */
#define PGSTORE_SPOOL_MAX_BYTES		(256ULL << 20)
#define PGSTORE_QUARANTINE_TIMEOUT_MS	3000	/* statement_timeout */
#define PGSTORE_WRITE_TIMEOUT_MS	5000	/* a log batch, then spool */
#define PGSTORE_QUERY_TIMEOUT_MS	10000	/* searches, rules, audit */
#define PGSTORE_LISTEN_WAIT_MS		3000	/* pgstore_listen() waits */
#define PGSTORE_CONNECT_TIMEOUT_S	2	/* libpq connect_timeout */
#define PGSTORE_RECONNECT_MS		1000	/* back-off after a failure */
#define PGSTORE_QUERY_LIMIT		100
#define PGSTORE_QUERY_LIMIT_MAX		10000
#define PGSTORE_VERSION_MAX		128
#define PGSTORE_DEFAULT_DATADIR		"/var/lib/mxgate/pg"
#define PGSTORE_DEFAULT_SPOOL_DIR	"/var/lib/mxgate/spool"
#define PGSTORE_SPOOL_SUBDIR		"spool"	/* in state_dir */
#define PGSTORE_RULES_CHANNEL		"mxgate_rules"
#define PGSTORE_BLOCKS_CHANNEL		"mxgate_blocks"
#define PGSTORE_BLOCK_NODE_MAX		64	/* as the store's node name */
#define PGSTORE_BLOCKS_MAX		4096	/* rows read back at start */
#define PGSTORE_BLOCK_REASON_MAX	80

/* One IP Profiler block as stored. */
struct pgstore_block {
	char addr[48];			/* "192.0.2.7" */
	char reason[PGSTORE_BLOCK_REASON_MAX];	/* the rule that fired */
	int permanent;
	int64_t remaining_ms;		/* temp: left to run; perm: -1 */
	unsigned hits;
	char node[PGSTORE_BLOCK_NODE_MAX];	/* read back: who wrote it */
};

/* One NOTIFY on PGSTORE_BLOCKS_CHANNEL, split. */
struct pgstore_blocks_notice {
	int removal;			/* 1: "remove", 0: "block" */
	char addr[48];
	char node[PGSTORE_BLOCK_NODE_MAX];
};

struct pgstore_config {
	const char *conninfo;	/* NULL or "": private server in datadir */
	const char *datadir;	/* NULL: PGSTORE_DEFAULT_DATADIR */
	const char *spool_dir;	/* NULL: state_dir/spool, else
				 * PGSTORE_DEFAULT_SPOOL_DIR: one spool per
				 * instance, two must not append to (and
				 * replay) the same files */
	const char *state_dir;	/* the daemon's; NULL: none */
	const char *node;	/* this gateway's name; NULL: hostname */
	const char *server_user; /* private server's system user when we run
				 * as root; NULL: PGSERVER_DEFAULT_USER */
	unsigned queue_max;	/* 0: PGSTORE_QUEUE_MAX */
	unsigned spill_rows;	/* 0: PGSTORE_SPILL_ROWS */
	unsigned batch_rows;	/* 0: PGSTORE_BATCH_ROWS */
	unsigned batch_ms;	/* 0: PGSTORE_BATCH_MS */
	uint64_t spool_max_bytes; /* 0: PGSTORE_SPOOL_MAX_BYTES */
	unsigned quarantine_timeout_ms; /* 0: PGSTORE_QUARANTINE_TIMEOUT_MS */
};

struct pgstore_query {
	const char *sender, *recipient, *action;	/* NULL: any */
	const char *qid;				/* NULL: any */
	const char *upstream_qid;	/* the front MTA's queue id (XFORWARD
					 * IDENT); messages search only;
					 * NULL: any */
	int64_t since_ms, until_ms;			/* Unix ms; 0: open */
	unsigned limit;					/* 0: default */
};

struct pgstore_stats {
	uint64_t queued;	/* rows waiting in memory now */
	uint64_t logged;	/* rows committed to the database */
	uint64_t spooled;	/* rows written to the spool, ever */
	uint64_t spool_pending_bytes;	/* spool not yet replayed */
	uint64_t replayed;	/* rows replayed from the spool */
	uint64_t dropped;	/* rows lost: queue and spool full */
	int connected;		/* writer's connection is up */
};

struct pgstore;

struct pgstore *pgstore_open(const struct pgstore_config *cfg, char *err,
			     size_t errlen);
void pgstore_close(struct pgstore *s);

int pgstore_log(struct pgstore *s, const struct msglog_entry *e);
int pgstore_quarantine_put(struct pgstore *s, const char *qid,
			   const char *meta_json, const struct iovec *iov,
			   size_t niov, char *err, size_t errlen);
int pgstore_quarantine_list(struct pgstore *s, const struct pgstore_query *q,
			    char **json);
int pgstore_quarantine_get(struct pgstore *s, const char *qid, char **msg,
			   size_t *len, char **meta_json);
int pgstore_quarantine_delete(struct pgstore *s, const char *qid,
			      const char *actor);
int pgstore_messages_search(struct pgstore *s, const struct pgstore_query *q,
			    char **json);
int pgstore_audit(struct pgstore *s, const char *actor, const char *action,
		  const char *detail_json);
int pgstore_rules_put(struct pgstore *s, const char *version, const void *blob,
		      size_t len, const char *actor);
int pgstore_rules_get(struct pgstore *s, const char *version, void **blob,
		      size_t *len, char *version_out, size_t vlen);
int pgstore_rules_set_active(struct pgstore *s, const char *version,
			     const char *actor);
int pgstore_listen(struct pgstore *s, const char *channel,
		   void (*cb)(void *ctx, const char *payload), void *ctx);
int pgstore_unlisten(struct pgstore *s, const char *channel,
		     void (*cb)(void *ctx, const char *payload), void *ctx);
int pgstore_stats(struct pgstore *s, struct pgstore_stats *st);
int pgstore_block_put(struct pgstore *s, const struct pgstore_block *b);
int pgstore_block_remove(struct pgstore *s, const char *addr, const char *actor);
int pgstore_blocks_active(struct pgstore *s, struct pgstore_block **out,
			  size_t *n);
int pgstore_blocks_in_force(struct pgstore *s, const char *addr,
			    const char *node, struct pgstore_block **out,
			    size_t *n);
int pgstore_blocks_removed(struct pgstore *s, int64_t within_ms,
			   struct pgstore_block **out, size_t *n);
int pgstore_blocks_notice_parse(const char *payload,
				struct pgstore_blocks_notice *out);
int pgstore_listen_catchup(struct pgstore *s, const char *channel,
			   void (*cb)(void *ctx, const char *payload), void *ctx);
const char *pgstore_node(const struct pgstore *s);

#endif
