/*
 * pgstore_int.h - what the pgstore_*.c files share (not for callers)
 *
 *	The store holds four connections, each used by one party only, so
 *	that a slow query never delays a quarantine and the log writer never
 *	waits for either: the writer thread's (wconn), the quarantine
 *	writer's (qconn, under qlock), the queries' (conn, under clock) and
 *	the listener thread's (lconn).
 */
#ifndef MX_PGSTORE_INT_H
#define MX_PGSTORE_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "pgserver.h"
#include "pgstore.h"
#include "spool.h"

#define PGSTORE_NODE_MAX	64
#define PGSTORE_CONNINFO_MAX	1024
#define PGSTORE_CHANNELS_MAX	8	/* pgstore_listen() channels */

/* a connection that backs off after a failure */
struct pgstore_conn {
	pthread_mutex_t lock;
	PGconn *pg;
	uint64_t retry_at_ms;	/* no new attempt before */
};

struct pgstore_channel {
	char name[64];
	void (*cb)(void *ctx, const char *payload);
	void *ctx;
	int listening;		/* LISTENed on the current connection */
	int catchup;		/* pgstore_listen_catchup(): told of gaps */
	int resync;		/* a gap: cb(ctx, NULL) after the LISTEN */
};

struct pgstore {
	struct pgstore_config cfg;	/* limits resolved; strings below */
	char conninfo[PGSTORE_CONNINFO_MAX];
	char node[PGSTORE_NODE_MAX];
	char datadir[PATH_MAX];
	char spool_dir[PATH_MAX];
	struct pgserver *server;	/* NULL: external database */

	/* log writer: queue of serialised rows (JSON objects) */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	char **queue;			/* ring of cfg.queue_max */
	size_t qhead, qlen;
	uint64_t qoldest_ms;		/* when the oldest queued row came */
	int stopping;
	pthread_t writer;
	int writer_started;
	PGconn *wconn;
	uint64_t wretry_at_ms;
	uint64_t replay_at_ms;		/* after a failed replay */
	struct spool *spool;		/* writer thread only */
	int spool_failed;		/* could not open: rows are lost */
	uint64_t n_logged, n_spooled, n_replayed, n_dropped, spool_bytes;
	int connected;
	int reported_down;		/* "database down" said once */

	struct pgstore_conn qconn;	/* quarantine puts */
	struct pgstore_conn conn;	/* queries, rules, audit */

	/* listener thread */
	pthread_mutex_t llock;
	struct pgstore_channel channels[PGSTORE_CHANNELS_MAX];
	size_t nchannels;
	int ldispatching;		/* callbacks running, lock not held */
	pthread_cond_t lcond;		/* a LISTEN done, a dispatch ended */
	int lwake[2];			/* pipe: new channel, or stop */
	pthread_t listener;
	int listener_started;
};

uint64_t pgstore_now_ms(void);
PGconn *pgstore_connect(const struct pgstore *s, const char *options,
			char *err, size_t errlen);
PGconn *pgstore_conn_get(struct pgstore *s, struct pgstore_conn *c,
			 const char *options, char *err, size_t errlen);
void pgstore_conn_failed(struct pgstore_conn *c);
PGresult *pgstore_exec_timed(PGconn *c, const char *sql, int nparams,
			     const char *const *values, const int *lengths,
			     const int *formats, int binary_result,
			     int timeout_ms);

int pgstore_schema_migrate(PGconn *c, int upto, char *err, size_t errlen);
int pgstore_schema_latest(void);

int pgstore_writer_start(struct pgstore *s, char *err, size_t errlen);
void pgstore_writer_stop(struct pgstore *s);

int pgstore_listener_start(struct pgstore *s, char *err, size_t errlen);
void pgstore_listener_stop(struct pgstore *s);

#endif
