/*
 * pgstore_writer.c - the message log's writer: queue, batches, spool, replay
 *
 *	int pgstore_log(struct pgstore *s, const struct msglog_entry *e);
 *	int pgstore_writer_start(struct pgstore *s, char *err, size_t errlen);
 *	void pgstore_writer_stop(struct pgstore *s);
 *
 * DESCRIPTION
 *	pgstore_log() serialises the entry as one JSON object (the same
 *	text goes to the database, to the spool and back) and queues it.
 *	The objects are keyed by column name: a key added later (such as
 *	upstream_qid) is simply absent from rows spooled by an older
 *	version, and those replay with the column NULL.
 *	The writer thread takes up to batch_rows rows at a time, as soon as
 *	batch_rows are waiting or the oldest has waited batch_ms, and
 *	inserts them with one statement: jsonb_to_recordset() of the batch,
 *	ON CONFLICT (node, qid) DO NOTHING. Statements run asynchronously
 *	with a deadline (PGSTORE_WRITE_TIMEOUT_MS), so a hung server costs
 *	a timeout, not a hung writer.
 *
 *	A batch goes to the spool instead when the connection is down (and
 *	its back-off not over), when the insert fails or times out, or when
 *	the queue is deeper than spill_rows (the database is too slow).
 *	While connected and the queue is short, the writer replays one spool
 *	file per round, and deletes it only after every row of it was
 *	committed: replaying it again after a crash inserts nothing twice.
 *	A row that the database refuses for its content (not for an outage)
 *	is reported and skipped, so one bad row cannot block the spool.
 *
 *	pgstore_writer_stop() flushes the queue (to the database, or to the
 *	spool when it is down) and joins the thread.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "pgstore_int.h"

#define PGSTORE_REPORT_EVERY	1000	/* dropped rows between reports */

static const char insert_sql[] =
	"INSERT INTO message_log (logged_at, node, qid, client_addr,"
	" client_port, client_name, helo, sender, recipients, size, action,"
	" score, rules, policy, reply_code, reply, downstream, rules_version,"
	" note, tls_version, tls_cipher, receive_ms, scan_ms, relay_ms,"
	" total_ms, upstream_qid)"
	" SELECT to_timestamp(r.t_ms / 1000.0), r.node, r.qid, r.client_addr,"
	" r.client_port, r.client_name, r.helo, r.sender,"
	" coalesce(r.recipients, '{}'), r.size, r.action, r.score,"
	" coalesce(r.rules, '[]'), r.policy, r.reply_code, r.reply,"
	" r.downstream, r.rules_version, r.note, nullif(r.tls_version, ''),"
	" nullif(r.tls_cipher, ''), r.receive_ms, r.scan_ms,"
	" r.relay_ms, r.total_ms, nullif(r.upstream_qid, '')"
	" FROM jsonb_to_recordset($1::jsonb) AS r(t_ms bigint, node text,"
	" qid text, client_addr text, client_port integer, client_name text,"
	" helo text, sender text, recipients text[], size bigint, action text,"
	" score integer, rules jsonb, policy text, reply_code integer,"
	" reply text, downstream text, rules_version text, note text,"
	" tls_version text, tls_cipher text,"
	" receive_ms double precision, scan_ms double precision,"
	" relay_ms double precision, total_ms double precision,"
	" upstream_qid text)"
	" ON CONFLICT (node, qid) DO NOTHING";

/* put_str - ,"name":"value" (null for NULL) */
static void put_str(FILE *f, const char *name, const char *val)
{
	fprintf(f, ",\"%s\":", name);
	if (val == NULL)
		fputs("null", f);
	else
		json_string(f, val, strlen(val));
}

/* put_ms - ,"name":x (0 for what is not a number) */
static void put_ms(FILE *f, const char *name, double v)
{
	fprintf(f, ",\"%s\":%.3f", name, isfinite(v) ? v : 0.0);
}

/* serialise - the entry as one JSON object, malloc'd */
static char *serialise(const struct pgstore *s, const struct msglog_entry *e)
{
	const struct envelope *env = e->env;
	const struct verdict *v = e->verdict;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	fprintf(f, "{\"t_ms\":%llu", (unsigned long long)pgstore_now_ms());
	put_str(f, "node", s->node);
	put_str(f, "qid", e->qid ? e->qid : "");
	/* a row spooled before this key existed replays as NULL: the
	 * recordset gives NULL for a key the object does not have */
	put_str(f, "upstream_qid", e->upstream_qid && e->upstream_qid[0]
		? e->upstream_qid : NULL);
	put_str(f, "client_addr", env ? env->client_addr : NULL);
	fprintf(f, ",\"client_port\":%u", e->client_port);
	put_str(f, "client_name", env ? env->client_name : NULL);
	put_str(f, "helo", env ? env->helo : NULL);
	put_str(f, "sender", env ? env->mail_from : NULL);
	fputs(",\"recipients\":[", f);
	for (i = 0; env && i < env->nrcpt; i++) {
		if (i)
			putc(',', f);
		json_string(f, env->rcpt[i], strlen(env->rcpt[i]));
	}
	fprintf(f, "],\"size\":%llu", (unsigned long long)e->size);
	put_str(f, "action", e->action ? e->action : "");
	fprintf(f, ",\"score\":%d,\"rules\":[", v ? v->score : 0);
	for (i = 0; v && i < v->nmatches; i++) {
		fputs(i ? ",{\"id\":" : "{\"id\":", f);
		json_string(f, v->matches[i].rule_id, strlen(v->matches[i].rule_id));
		fprintf(f, ",\"scope\":\"%s\",\"part\":%d,\"score\":%d}",
			scope_name(v->matches[i].scope), v->matches[i].part,
			v->matches[i].score);
	}
	putc(']', f);
	put_str(f, "policy", v ? v->policy : NULL);
	fprintf(f, ",\"reply_code\":%d", e->reply_code);
	put_str(f, "reply", e->reply_text);
	put_str(f, "downstream", e->downstream);
	put_str(f, "rules_version", e->rules_version);
	put_str(f, "note", e->note);
	put_str(f, "tls_version", e->tls_version);
	put_str(f, "tls_cipher", e->tls_cipher);
	put_ms(f, "receive_ms", e->receive_ms);
	put_ms(f, "scan_ms", e->scan_ms);
	put_ms(f, "relay_ms", e->relay_ms);
	put_ms(f, "total_ms", e->total_ms);
	putc('}', f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* pgstore_log - queue a copy of the entry; never blocks on the database */
int pgstore_log(struct pgstore *s, const struct msglog_entry *e)
{
	char *row = serialise(s, e);
	uint64_t dropped = 0;

	if (row == NULL)
		return -1;
	pthread_mutex_lock(&s->qlock);
	if (s->qlen == s->cfg.queue_max || s->stopping) {
		dropped = ++s->n_dropped;
	} else {
		if (s->qlen == 0)
			s->qoldest_ms = pgstore_now_ms();
		s->queue[(s->qhead + s->qlen++) % s->cfg.queue_max] = row;
		row = NULL;
		/* the first row arms the writer's batch_ms deadline, a full
		 * batch goes at once; in between the writer sleeps */
		if (s->qlen == 1 || s->qlen == s->cfg.batch_rows)
			pthread_cond_signal(&s->qcond);
	}
	pthread_mutex_unlock(&s->qlock);
	if (row == NULL)
		return 0;
	free(row);
	if (dropped % PGSTORE_REPORT_EVERY == 1)
		fprintf(stderr, "mxgate: pgstore: message log queue full,"
			" %llu rows lost so far\n", (unsigned long long)dropped);
	errno = ENOBUFS;
	return -1;
}

/* writer_conn - the writer's connection, or NULL while it is down */
static PGconn *writer_conn(struct pgstore *s)
{
	char err[512];
	uint64_t now = pgstore_now_ms();

	if (s->wconn && PQstatus(s->wconn) == CONNECTION_OK)
		return s->wconn;
	if (s->wconn) {
		PQfinish(s->wconn);
		s->wconn = NULL;
	}
	if (now < s->wretry_at_ms)
		return NULL;
	if ((s->wconn = pgstore_connect(s, NULL, err, sizeof(err))) == NULL
	    || PQsetnonblocking(s->wconn, 1) != 0) {
		if (s->wconn) {
			PQfinish(s->wconn);
			s->wconn = NULL;
		}
		s->wretry_at_ms = now + PGSTORE_RECONNECT_MS;
		if (!s->reported_down)
			fprintf(stderr, "mxgate: pgstore: message log database"
				" unreachable, spooling rows to %s: %s\n",
				s->spool_dir, err);
		s->reported_down = 1;
		pthread_mutex_lock(&s->qlock);
		s->connected = 0;
		pthread_mutex_unlock(&s->qlock);
		return NULL;
	}
	if (s->reported_down)
		fprintf(stderr, "mxgate: pgstore: message log database is"
			" back\n");
	s->reported_down = 0;
	pthread_mutex_lock(&s->qlock);
	s->connected = 1;
	pthread_mutex_unlock(&s->qlock);
	return s->wconn;
}

/* writer_down - the connection failed: drop it, back off */
static void writer_down(struct pgstore *s, const char *what)
{
	const char *why = s->wconn ? PQerrorMessage(s->wconn) : "no connection";

	/* a statement past its deadline leaves libpq with no message */
	if (*why == 0)
		why = "no answer before the statement's deadline";
	if (!s->reported_down)
		fprintf(stderr, "mxgate: pgstore: %s failed, spooling rows to"
			" %s: %s\n", what, s->spool_dir, why);
	s->reported_down = 1;
	if (s->wconn)
		PQfinish(s->wconn);
	s->wconn = NULL;
	s->wretry_at_ms = pgstore_now_ms() + PGSTORE_RECONNECT_MS;
	pthread_mutex_lock(&s->qlock);
	s->connected = 0;
	pthread_mutex_unlock(&s->qlock);
}

/* insert_rows - one INSERT of rows[0..n): 0 done, -1 outage, -2 the
 * database refused the content */
static int insert_rows(struct pgstore *s, char *const *rows, size_t n)
{
	PGconn *c = writer_conn(s);
	PGresult *r;
	char *param;
	size_t i, len = 2, at = 0;
	int rc;

	if (c == NULL)
		return -1;
	for (i = 0; i < n; i++)
		len += strlen(rows[i]) + 1;
	if ((param = malloc(len + 1)) == NULL)
		return -1;
	param[at++] = '[';
	for (i = 0; i < n; i++) {
		size_t l = strlen(rows[i]);

		if (i)
			param[at++] = ',';
		memcpy(param + at, rows[i], l);
		at += l;
	}
	param[at++] = ']';
	param[at] = 0;
	r = pgstore_exec_timed(c, insert_sql, 1, (const char *const *)&param,
			       NULL, NULL, 0, PGSTORE_WRITE_TIMEOUT_MS);
	free(param);
	if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
		rc = 0;
	} else if (r && PQstatus(c) == CONNECTION_OK
		   && PQresultStatus(r) == PGRES_FATAL_ERROR
		   && strncmp(PQresultErrorField(r, PG_DIAG_SQLSTATE) ?
			      PQresultErrorField(r, PG_DIAG_SQLSTATE) : "", "22", 2) == 0) {
		rc = -2;	/* class 22: data exception */
	} else {
		rc = -1;
	}
	if (rc == -1)
		writer_down(s, "message log insert");
	PQclear(r);
	return rc;
}

/* count - add to one of the counters, under the queue's lock */
static void count(struct pgstore *s, uint64_t *counter, uint64_t n)
{
	pthread_mutex_lock(&s->qlock);
	*counter += n;
	if (s->spool)
		s->spool_bytes = spool_bytes(s->spool);
	pthread_mutex_unlock(&s->qlock);
}

/* to_spool - rows the database could not take now */
static void to_spool(struct pgstore *s, char *const *rows, size_t n)
{
	size_t done = s->spool ? spool_append(s->spool, rows, n) : 0;

	count(s, &s->n_spooled, done);
	if (done < n) {
		uint64_t before;

		pthread_mutex_lock(&s->qlock);
		before = s->n_dropped;
		s->n_dropped += n - done;
		pthread_mutex_unlock(&s->qlock);
		if (before / PGSTORE_REPORT_EVERY != (before + n - done) / PGSTORE_REPORT_EVERY
		    || before == 0)
			fprintf(stderr, "mxgate: pgstore: spool %s full or failing"
				" (%s): %llu message log rows lost so far\n",
				s->spool_dir, strerror(errno),
				(unsigned long long)(before + n - done));
	}
}

/* insert_each - a batch the database refused: row by row, skipping the
 * bad ones; -1 when the connection failed meanwhile */
static int insert_each(struct pgstore *s, char *const *rows, size_t n,
		       uint64_t *ok)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int rc = insert_rows(s, rows + i, 1);

		if (rc == -1)
			return -1;
		if (rc == -2)
			fprintf(stderr, "mxgate: pgstore: message log row refused,"
				" skipped: %.200s\n", rows[i]);
		else
			(*ok)++;
	}
	return 0;
}

/* write_batch - rows to the database, or to the spool */
static void write_batch(struct pgstore *s, char **rows, size_t n, int spill)
{
	uint64_t ok = 0;
	int rc;

	if (spill || (rc = insert_rows(s, rows, n)) == -1) {
		to_spool(s, rows, n);
		return;
	}
	if (rc == 0)
		ok = n;
	else if (insert_each(s, rows, n, &ok) < 0)
		to_spool(s, rows, n);	/* duplicates are ignored later */
	count(s, &s->n_logged, ok);
}

/* replay_rows - a chunk of a spool file: 0 stored (or refused and
 * skipped), -1 outage */
static int replay_rows(struct pgstore *s, char *const *rows, size_t n,
		       uint64_t *ok)
{
	int rc = insert_rows(s, rows, n);

	if (rc == 0)
		*ok += n;
	else if (rc == -2)
		rc = insert_each(s, rows, n, ok);
	return rc;
}

/* replay_file - one spool file into the database; 0 when it is done */
static int replay_file(struct pgstore *s)
{
	char *buf, *p, **rows;
	size_t len, n = 0, cap = s->cfg.batch_rows;
	uint64_t id, ok = 0;
	int rc;

	if ((rc = spool_next(s->spool, &buf, &len, &id)) <= 0)
		return rc;
	if ((rows = calloc(cap, sizeof(*rows))) == NULL) {
		free(buf);
		return -1;
	}
	rc = 0;
	for (p = buf; rc == 0 && p < buf + len;) {
		char *nl = memchr(p, '\n', (size_t)(buf + len - p));

		if (nl == NULL)
			break;		/* torn by a crash: never acknowledged */
		*nl = 0;
		if (nl > p)
			rows[n++] = p;
		p = nl + 1;
		if (n == cap) {
			rc = replay_rows(s, rows, n, &ok);
			n = 0;
		}
	}
	if (rc == 0 && n)
		rc = replay_rows(s, rows, n, &ok);
	free(rows);
	free(buf);
	count(s, &s->n_replayed, ok);
	count(s, &s->n_logged, ok);
	if (rc < 0)
		return -1;
	if (spool_done(s->spool, id) < 0) {
		fprintf(stderr, "mxgate: pgstore: remove replayed spool file %llu"
			" in %s: %s\n", (unsigned long long)id, s->spool_dir,
			strerror(errno));
		return -1;
	}
	count(s, &s->n_replayed, 0);
	return 0;
}

/* take - up to batch_rows rows off the queue, waiting for a full batch or
 * the oldest row's deadline; *depth is the queue depth before */
static size_t take(struct pgstore *s, char **rows, size_t *depth, int *stop)
{
	size_t n = 0;

	pthread_mutex_lock(&s->qlock);
	for (;;) {
		uint64_t now = pgstore_now_ms(), until;
		struct timespec ts;

		if (s->stopping || s->qlen >= s->cfg.batch_rows
		    || (s->qlen && now >= s->qoldest_ms + s->cfg.batch_ms))
			break;
		/* wake for the oldest row's deadline, or to replay */
		until = s->qlen ? s->qoldest_ms + s->cfg.batch_ms
			: now + PGSTORE_RECONNECT_MS;
		if (s->qlen == 0 && s->spool && spool_bytes(s->spool)
		    && s->connected && now >= s->replay_at_ms)
			break;
		ts.tv_sec = (time_t)(until / 1000);
		ts.tv_nsec = (long)(until % 1000) * 1000000;
		pthread_cond_timedwait(&s->qcond, &s->qlock, &ts);
		if (s->qlen == 0 && s->spool && spool_bytes(s->spool)
		    && pgstore_now_ms() >= until)
			break;	/* time to try replaying */
	}
	*depth = s->qlen;
	while (n < s->cfg.batch_rows && s->qlen) {
		rows[n++] = s->queue[s->qhead];
		s->qhead = (s->qhead + 1) % s->cfg.queue_max;
		s->qlen--;
	}
	if (s->qlen)
		s->qoldest_ms = pgstore_now_ms();	/* near enough */
	*stop = s->stopping && s->qlen == 0;
	pthread_mutex_unlock(&s->qlock);
	return n;
}

/* writer_main - the writer thread */
static void *writer_main(void *arg)
{
	struct pgstore *s = arg;
	char **rows = calloc(s->cfg.batch_rows, sizeof(*rows));
	size_t n, depth, i;
	int stop = 0;

	if (rows == NULL) {
		fprintf(stderr, "mxgate: pgstore: writer: out of memory\n");
		return NULL;
	}
	while (!stop) {
		n = take(s, rows, &depth, &stop);
		if (n) {
			write_batch(s, rows, n, depth > s->cfg.spill_rows);
			for (i = 0; i < n; i++)
				free(rows[i]);
		}
		if (!stop && s->spool && spool_bytes(s->spool)
		    && depth <= s->cfg.batch_rows
		    && pgstore_now_ms() >= s->replay_at_ms && writer_conn(s)
		    && replay_file(s) < 0)
			s->replay_at_ms = pgstore_now_ms() + PGSTORE_RECONNECT_MS;
	}
	free(rows);
	if (s->wconn)
		PQfinish(s->wconn);
	s->wconn = NULL;
	return NULL;
}

/* pgstore_writer_start - the queue, the spool and the thread */
int pgstore_writer_start(struct pgstore *s, char *err, size_t errlen)
{
	int e;

	if ((s->queue = calloc(s->cfg.queue_max, sizeof(*s->queue))) == NULL) {
		snprintf(err, errlen, "message log queue: %s", strerror(errno));
		return -1;
	}
	if ((s->spool = spool_open(s->spool_dir, s->cfg.spool_max_bytes, err,
				   errlen)) == NULL)
		return -1;
	s->spool_bytes = spool_bytes(s->spool);
	if ((e = pthread_create(&s->writer, NULL, writer_main, s)) != 0) {
		snprintf(err, errlen, "start the message log writer: %s",
			 strerror(e));
		return -1;
	}
	s->writer_started = 1;
	return 0;
}

/* pgstore_writer_stop - flush the queue, join, close the spool */
void pgstore_writer_stop(struct pgstore *s)
{
	pthread_mutex_lock(&s->qlock);
	s->stopping = 1;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	if (s->writer_started)
		pthread_join(s->writer, NULL);
	s->writer_started = 0;
	while (s->queue && s->qlen) {	/* only if the thread never ran */
		free(s->queue[s->qhead]);
		s->qhead = (s->qhead + 1) % s->cfg.queue_max;
		s->qlen--;
	}
	free(s->queue);
	s->queue = NULL;
	spool_close(s->spool);
	s->spool = NULL;
}
