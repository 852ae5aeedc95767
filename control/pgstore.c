/*
 * pgstore.c - the PostgreSQL store: open, close, connections, quarantine
 *
 *	See pgstore.h for the interface. The log writer is in
 *	pgstore_writer.c, queries, rules and audit in pgstore_query.c, the
 *	listener in pgstore_listen.c, migrations in pgstore_schema.c.
 *
 *	Every statement runs asynchronously with a deadline
 *	(pgstore_exec_timed): a server that hangs (stopped, disk stalled)
 *	costs a timeout, after which the connection is dropped and not
 *	retried for PGSTORE_RECONNECT_MS.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgstore_int.h"

/* pgstore_now_ms - wall clock in ms (also the condition variable's) */
uint64_t pgstore_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* pgstore_connect - a new non-blocking connection with our timeouts */
PGconn *pgstore_connect(const struct pgstore *s, const char *options,
			char *err, size_t errlen)
{
	char timeout[16], opts[256];
	const char *keys[] = { "dbname", "connect_timeout", "application_name",
		"options", NULL };
	const char *vals[] = { s->conninfo, timeout, "mxgate", opts, NULL };
	PGconn *c;

	snprintf(timeout, sizeof(timeout), "%d", PGSTORE_CONNECT_TIMEOUT_S);
	/* NOTICEs ("already exists, skipping") are not worth a log line */
	snprintf(opts, sizeof(opts), "-c client_min_messages=warning%s%s",
		 options ? " " : "", options ? options : "");
	c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL) {
		snprintf(err, errlen, "connect to PostgreSQL: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "connect to PostgreSQL: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	if (PQsetnonblocking(c, 1) != 0) {
		snprintf(err, errlen, "PostgreSQL connection to non-blocking: %s",
			 PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* pgstore_conn_get - c's connection (c->lock held), connecting unless a
 * recent failure says to wait */
PGconn *pgstore_conn_get(struct pgstore *s, struct pgstore_conn *c,
			 const char *options, char *err, size_t errlen)
{
	uint64_t now = pgstore_now_ms();

	if (c->pg && PQstatus(c->pg) == CONNECTION_OK)
		return c->pg;
	if (c->pg) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
	if (now < c->retry_at_ms) {
		snprintf(err, errlen, "PostgreSQL unreachable (next attempt in"
			 " %llu ms)", (unsigned long long)(c->retry_at_ms - now));
		return NULL;
	}
	if ((c->pg = pgstore_connect(s, options, err, errlen)) == NULL)
		c->retry_at_ms = now + PGSTORE_RECONNECT_MS;
	return c->pg;
}

/* pgstore_conn_failed - drop c's connection after an outage; back off */
void pgstore_conn_failed(struct pgstore_conn *c)
{
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	c->retry_at_ms = pgstore_now_ms() + PGSTORE_RECONNECT_MS;
}

/* wait_fd - poll the connection's socket until the deadline: 1 ready */
static int wait_fd(PGconn *c, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = PQsocket(c), .events = events };

	for (;;) {
		uint64_t now = pgstore_now_ms();
		int rc;

		if (p.fd < 0)
			return -1;
		if (now >= deadline)
			return 0;
		rc = poll(&p, 1, (int)(deadline - now));
		if (rc < 0 && errno == EINTR)
			continue;
		return rc;
	}
}

/* pgstore_exec_timed - one statement with a deadline; NULL when it could
 * not be sent or no answer came in time (the caller drops the
 * connection), else the last result (which may be an error) */
PGresult *pgstore_exec_timed(PGconn *c, const char *sql, int nparams,
			     const char *const *values, const int *lengths,
			     const int *formats, int binary_result,
			     int timeout_ms)
{
	uint64_t deadline = pgstore_now_ms() + (uint64_t)timeout_ms;
	PGresult *r, *last = NULL;
	int f;

	if (!PQsendQueryParams(c, sql, nparams, NULL, values, lengths, formats,
			       binary_result))
		return NULL;
	while ((f = PQflush(c)) == 1) {
		if (wait_fd(c, POLLIN | POLLOUT, deadline) <= 0
		    || !PQconsumeInput(c))
			return NULL;
	}
	if (f < 0)
		return NULL;
	for (;;) {
		while (!PQisBusy(c)) {
			if ((r = PQgetResult(c)) == NULL)
				return last;
			if (last == NULL || PQresultStatus(last) != PGRES_FATAL_ERROR) {
				PQclear(last);
				last = r;
			} else {
				PQclear(r);	/* keep the first error */
			}
		}
		if (wait_fd(c, POLLIN, deadline) <= 0 || !PQconsumeInput(c)) {
			PQclear(last);
			return NULL;
		}
	}
}

/* pgstore_quarantine_put - the message in PostgreSQL, committed */
int pgstore_quarantine_put(struct pgstore *s, const char *qid,
			   const char *meta_json, const struct iovec *iov,
			   size_t niov, char *err, size_t errlen)
{
	static const char sql[] =
		"INSERT INTO quarantine (qid, node, meta, message, sender,"
		" recipients) VALUES ($1, $2, $3::jsonb, $4, $3::jsonb->>'from',"
		" ARRAY(SELECT jsonb_array_elements_text("
		" coalesce($3::jsonb->'rcpt', '[]'))))";
	char options[64], *msg;
	const char *vals[4];
	int lens[4] = { 0, 0, 0, 0 }, fmts[4] = { 0, 0, 0, 1 }, rc = -1, attempt;
	size_t total = 0, at = 0, i;
	PGresult *r;
	PGconn *c;

	for (i = 0; i < niov; i++)
		total += iov[i].iov_len;
	if (total > (size_t)INT32_MAX) {
		snprintf(err, errlen, "quarantine %s: message too large", qid);
		return -1;
	}
	if ((msg = malloc(total ? total : 1)) == NULL) {
		snprintf(err, errlen, "quarantine %s: %s", qid, strerror(errno));
		return -1;
	}
	for (i = 0; i < niov; i++) {
		memcpy(msg + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	vals[0] = qid;
	vals[1] = s->node;
	vals[2] = meta_json ? meta_json : "{}";
	vals[3] = msg;
	lens[3] = (int)total;
	snprintf(options, sizeof(options), "-c statement_timeout=%u",
		 s->cfg.quarantine_timeout_ms);
	pthread_mutex_lock(&s->qconn.lock);
	for (attempt = 0; attempt < 2 && rc < 0; attempt++) {
		/* a connection from before a server restart fails at once:
		 * one more try on a fresh one, not a 451 */
		int reused = s->qconn.pg != NULL;

		if ((c = pgstore_conn_get(s, &s->qconn, options, err, errlen)) == NULL)
			break;
		r = pgstore_exec_timed(c, sql, 4, vals, lens, fmts, 0,
				       (int)s->cfg.quarantine_timeout_ms);
		if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
			rc = 0;
		} else if (r && PQstatus(c) == CONNECTION_OK) {
			snprintf(err, errlen, "quarantine %s in PostgreSQL: %s", qid,
				 PQresultErrorMessage(r));
			PQclear(r);
			break;
		} else {
			int lost = PQstatus(c) != CONNECTION_OK;

			snprintf(err, errlen, "quarantine %s in PostgreSQL: %s%s",
				 qid, lost ? "connection lost: " : "no answer in time",
				 lost ? PQerrorMessage(c) : "");
			pgstore_conn_failed(&s->qconn);
			if (reused && lost)
				s->qconn.retry_at_ms = 0;
			else
				attempt = 2;
		}
		PQclear(r);
	}
	pthread_mutex_unlock(&s->qconn.lock);
	free(msg);
	return rc;
}

/* resolve - the configuration with defaults filled in */
static void resolve(struct pgstore *s, const struct pgstore_config *cfg)
{
	s->cfg = *cfg;
	snprintf(s->datadir, sizeof(s->datadir), "%s",
		 cfg->datadir && cfg->datadir[0] ? cfg->datadir
		 : PGSTORE_DEFAULT_DATADIR);
	if (cfg->spool_dir && cfg->spool_dir[0])
		snprintf(s->spool_dir, sizeof(s->spool_dir), "%s", cfg->spool_dir);
	else if (cfg->state_dir && cfg->state_dir[0])
		snprintf(s->spool_dir, sizeof(s->spool_dir), "%s/" PGSTORE_SPOOL_SUBDIR,
			 cfg->state_dir);
	else
		snprintf(s->spool_dir, sizeof(s->spool_dir), "%s",
			 PGSTORE_DEFAULT_SPOOL_DIR);
	if (cfg->node && cfg->node[0])
		snprintf(s->node, sizeof(s->node), "%s", cfg->node);
	else if (gethostname(s->node, sizeof(s->node)) < 0)
		snprintf(s->node, sizeof(s->node), "mxgate");
	s->node[sizeof(s->node) - 1] = 0;
	s->cfg.conninfo = NULL;
	s->cfg.datadir = s->datadir;
	s->cfg.spool_dir = s->spool_dir;
	s->cfg.node = s->node;
	s->cfg.server_user = NULL;
#define DEFAULT(field, value) if (s->cfg.field == 0) s->cfg.field = (value)
	DEFAULT(queue_max, PGSTORE_QUEUE_MAX);
	DEFAULT(spill_rows, PGSTORE_SPILL_ROWS);
	DEFAULT(batch_rows, PGSTORE_BATCH_ROWS);
	DEFAULT(batch_ms, PGSTORE_BATCH_MS);
	DEFAULT(spool_max_bytes, PGSTORE_SPOOL_MAX_BYTES);
	DEFAULT(quarantine_timeout_ms, PGSTORE_QUARANTINE_TIMEOUT_MS);
#undef DEFAULT
	if (s->cfg.spill_rows >= s->cfg.queue_max)
		s->cfg.spill_rows = s->cfg.queue_max - 1;
}

/* pgstore_open - connect (or start the private server), migrate, start
 * the writer */
struct pgstore *pgstore_open(const struct pgstore_config *cfg, char *err,
			     size_t errlen)
{
	struct pgstore *s = calloc(1, sizeof(*s));
	int n;

	if (s == NULL) {
		snprintf(err, errlen, "pgstore: %s", strerror(errno));
		return NULL;
	}
	resolve(s, cfg);
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	pthread_mutex_init(&s->qconn.lock, NULL);
	pthread_mutex_init(&s->conn.lock, NULL);
	pthread_mutex_init(&s->llock, NULL);
	pthread_cond_init(&s->lcond, NULL);
	s->lwake[0] = s->lwake[1] = -1;
	if (cfg->conninfo && cfg->conninfo[0]) {
		snprintf(s->conninfo, sizeof(s->conninfo), "%s", cfg->conninfo);
	} else {
		struct pgserver_config pc = { .datadir = s->datadir,
			.user = cfg->server_user };

		if ((s->server = pgserver_start(&pc, err, errlen)) == NULL)
			goto fail;
		snprintf(s->conninfo, sizeof(s->conninfo), "%s",
			 pgserver_conninfo(s->server));
	}
	if ((s->conn.pg = pgstore_connect(s, NULL, err, errlen)) == NULL)
		goto fail;
	if ((n = pgstore_schema_migrate(s->conn.pg, 0, err, errlen)) < 0)
		goto fail;
	if (n > 0)
		fprintf(stderr, "mxgate: pgstore: applied %d schema migration%s,"
			" schema version %d\n", n, n > 1 ? "s" : "",
			pgstore_schema_latest());
	if (pgstore_writer_start(s, err, errlen) < 0)
		goto fail;
	return s;
fail:
	pgstore_close(s);
	return NULL;
}

/* pgstore_close - flush the log, stop threads, close, stop the server */
void pgstore_close(struct pgstore *s)
{
	if (s == NULL)
		return;
	pgstore_listener_stop(s);
	pgstore_writer_stop(s);
	if (s->qconn.pg)
		PQfinish(s->qconn.pg);
	if (s->conn.pg)
		PQfinish(s->conn.pg);
	if (s->server)
		pgserver_stop(s->server);
	pthread_mutex_destroy(&s->qlock);
	pthread_cond_destroy(&s->qcond);
	pthread_mutex_destroy(&s->qconn.lock);
	pthread_mutex_destroy(&s->conn.lock);
	pthread_mutex_destroy(&s->llock);
	pthread_cond_destroy(&s->lcond);
	free(s);
}

/* pgstore_stats - counters and the writer's state */
int pgstore_stats(struct pgstore *s, struct pgstore_stats *st)
{
	pthread_mutex_lock(&s->qlock);
	st->queued = s->qlen;
	st->logged = s->n_logged;
	st->spooled = s->n_spooled;
	st->spool_pending_bytes = s->spool_bytes;
	st->replayed = s->n_replayed;
	st->dropped = s->n_dropped;
	st->connected = s->connected;
	pthread_mutex_unlock(&s->qlock);
	return 0;
}
