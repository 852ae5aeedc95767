/*
 * pgstore_query.c - searches, quarantine fetch and delete, rule sets, audit
 *
 *	See pgstore.h. All of these share the store's query connection
 *	(under its lock) and a deadline of PGSTORE_QUERY_TIMEOUT_MS; the
 *	JSON they return is built by PostgreSQL (json_agg), so its quoting
 *	is PostgreSQL's. Each change and its audit row are one statement or
 *	one transaction: there is no change without its audit row.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgstore_int.h"

#define QUERY_PARAMS_MAX	8

/* run - one statement on the query connection (lock held); NULL on any
 * failure, with errno EIO and the reason on stderr */
static PGresult *run(struct pgstore *s, const char *what, const char *sql,
		     int n, const char *const *vals, const int *lens,
		     const int *fmts, int binary, ExecStatusType want)
{
	char err[512];
	PGconn *c = pgstore_conn_get(s, &s->conn, NULL, err, sizeof(err));
	PGresult *r;

	if (c == NULL) {
		fprintf(stderr, "mxgate: pgstore: %s: %s\n", what, err);
		errno = EIO;
		return NULL;
	}
	r = pgstore_exec_timed(c, sql, n, vals, lens, fmts, binary,
			       PGSTORE_QUERY_TIMEOUT_MS);
	if (r && PQresultStatus(r) == want)
		return r;
	fprintf(stderr, "mxgate: pgstore: %s: %s", what,
		r ? PQresultErrorMessage(r) : "no answer in time\n");
	if (r == NULL || PQstatus(c) != CONNECTION_OK)
		pgstore_conn_failed(&s->conn);
	PQclear(r);
	errno = EIO;
	return NULL;
}

/* run_locked - run() under the query connection's lock */
static PGresult *run_locked(struct pgstore *s, const char *what,
			    const char *sql, int n, const char *const *vals,
			    const int *lens, const int *fmts, int binary,
			    ExecStatusType want)
{
	PGresult *r;

	pthread_mutex_lock(&s->conn.lock);
	r = run(s, what, sql, n, vals, lens, fmts, binary, want);
	pthread_mutex_unlock(&s->conn.lock);
	return r;
}

/* json_result - the single text cell of r, malloc'd */
static int json_result(PGresult *r, char **json)
{
	if (PQntuples(r) != 1 || PQnfields(r) != 1) {
		PQclear(r);
		errno = EPROTO;
		return -1;
	}
	*json = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return *json ? 0 : -1;
}

/* query_params - q as text parameters $1..$6: sender, recipient, action,
 * since, until, limit ($7: qid, $8: upstream_qid) */
static void query_params(const struct pgstore_query *q, const char **vals,
			 char since[24], char until[24], char limit[16])
{
	unsigned lim = q && q->limit ? q->limit : PGSTORE_QUERY_LIMIT;

	if (lim > PGSTORE_QUERY_LIMIT_MAX)
		lim = PGSTORE_QUERY_LIMIT_MAX;
	snprintf(since, 24, "%lld", q ? (long long)q->since_ms : 0LL);
	snprintf(until, 24, "%lld", q ? (long long)q->until_ms : 0LL);
	snprintf(limit, 16, "%u", lim);
	vals[0] = q && q->sender ? q->sender : NULL;
	vals[1] = q && q->recipient ? q->recipient : NULL;
	vals[2] = q && q->action ? q->action : NULL;
	vals[3] = q && q->since_ms ? since : NULL;
	vals[4] = q && q->until_ms ? until : NULL;
	vals[5] = limit;
	vals[6] = q && q->qid ? q->qid : NULL;
	vals[7] = q && q->upstream_qid ? q->upstream_qid : NULL;
}

/* pgstore_messages_search - message log rows as a JSON array */
int pgstore_messages_search(struct pgstore *s, const struct pgstore_query *q,
			    char **json)
{
	static const char sql[] =
		"SELECT coalesce(json_agg(m ORDER BY m.logged_at DESC, m.id DESC),"
		" '[]')::text FROM (SELECT id, logged_at, node, qid, client_addr,"
		" client_port, client_name, helo, sender, recipients, size,"
		" action, score, rules, policy, reply_code, reply, downstream,"
		" rules_version, note, tls_version, tls_cipher, receive_ms,"
		" scan_ms, relay_ms, total_ms, upstream_qid"
		" FROM message_log"
		" WHERE ($1::text IS NULL OR lower(sender) = lower($1))"
		" AND ($2::text IS NULL OR recipients @> ARRAY[$2::text])"
		" AND ($3::text IS NULL OR action = $3)"
		" AND ($4::bigint IS NULL OR logged_at >= to_timestamp($4 / 1000.0))"
		" AND ($5::bigint IS NULL OR logged_at < to_timestamp($5 / 1000.0))"
		" AND ($7::text IS NULL OR qid = $7)"
		" AND ($8::text IS NULL OR upstream_qid = $8)"
		" ORDER BY logged_at DESC, id DESC LIMIT $6) m";
	char since[24], until[24], limit[16];
	const char *vals[QUERY_PARAMS_MAX];
	PGresult *r;

	query_params(q, vals, since, until, limit);
	r = run_locked(s, "search the message log", sql, 8, vals, NULL, NULL,
		       0, PGRES_TUPLES_OK);
	return r ? json_result(r, json) : -1;
}

/* pgstore_quarantine_list - quarantined messages (not deleted), JSON */
int pgstore_quarantine_list(struct pgstore *s, const struct pgstore_query *q,
			    char **json)
{
	static const char sql[] =
		"SELECT coalesce(json_agg(m ORDER BY m.quarantined_at DESC), '[]')::text"
		" FROM (SELECT qid, node, quarantined_at, sender, recipients,"
		" octet_length(message) AS size, meta, released_at, released_by"
		" FROM quarantine WHERE NOT deleted"
		" AND ($1::text IS NULL OR lower(sender) = lower($1))"
		" AND ($2::text IS NULL OR recipients @> ARRAY[$2::text])"
		" AND ($3::text IS NULL OR $3 = 'quarantine')"
		" AND ($4::bigint IS NULL OR quarantined_at >= to_timestamp($4 / 1000.0))"
		" AND ($5::bigint IS NULL OR quarantined_at < to_timestamp($5 / 1000.0))"
		" AND ($7::text IS NULL OR qid = $7)"
		" ORDER BY quarantined_at DESC LIMIT $6) m";
	char since[24], until[24], limit[16];
	const char *vals[QUERY_PARAMS_MAX];
	PGresult *r;

	query_params(q, vals, since, until, limit);
	r = run_locked(s, "list the quarantine", sql, 7, vals, NULL, NULL, 0,
		       PGRES_TUPLES_OK);
	return r ? json_result(r, json) : -1;
}

/* pgstore_quarantine_get - message bytes and metadata: 1, 0 none, -1 */
int pgstore_quarantine_get(struct pgstore *s, const char *qid, char **msg,
			   size_t *len, char **meta_json)
{
	const char *vals[1] = { qid };
	PGresult *r;
	size_t n, m;

	r = run_locked(s, "fetch from the quarantine",
		       "SELECT message, meta::text FROM quarantine"
		       " WHERE qid = $1 AND NOT deleted", 1, vals, NULL, NULL,
		       1, PGRES_TUPLES_OK);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	n = (size_t)PQgetlength(r, 0, 0);
	m = (size_t)PQgetlength(r, 0, 1);
	*msg = malloc(n + 1);
	*meta_json = meta_json ? malloc(m + 1) : NULL;
	if (*msg == NULL || (meta_json && *meta_json == NULL)) {
		free(*msg);
		if (meta_json)
			free(*meta_json);
		PQclear(r);
		return -1;
	}
	memcpy(*msg, PQgetvalue(r, 0, 0), n);
	(*msg)[n] = 0;
	*len = n;
	if (meta_json) {
		memcpy(*meta_json, PQgetvalue(r, 0, 1), m);
		(*meta_json)[m] = 0;
	}
	PQclear(r);
	return 1;
}

/* pgstore_quarantine_delete - mark deleted (and released), audit: 1 done,
 * 0 no such message */
int pgstore_quarantine_delete(struct pgstore *s, const char *qid,
			      const char *actor)
{
	static const char sql[] =
		"WITH d AS (UPDATE quarantine SET deleted = true,"
		" released_at = coalesce(released_at, now()),"
		" released_by = coalesce(released_by, $2)"
		" WHERE qid = $1 AND NOT deleted RETURNING qid)"
		" INSERT INTO audit_log (node, actor, action, detail)"
		" SELECT $3, $2, 'quarantine.delete', jsonb_build_object('qid', qid)"
		" FROM d RETURNING id";
	const char *vals[3] = { qid, actor ? actor : "unknown", s->node };
	PGresult *r;
	int n;

	r = run_locked(s, "delete from the quarantine", sql, 3, vals, NULL,
		       NULL, 0, PGRES_TUPLES_OK);
	if (r == NULL)
		return -1;
	n = PQntuples(r);
	PQclear(r);
	return n > 0;
}

/* pgstore_audit - one audit row */
int pgstore_audit(struct pgstore *s, const char *actor, const char *action,
		  const char *detail_json)
{
	const char *vals[4] = { s->node, actor ? actor : "unknown", action,
		detail_json };
	PGresult *r;

	r = run_locked(s, "write the audit log",
		       "INSERT INTO audit_log (node, actor, action, detail)"
		       " VALUES ($1, $2, $3, coalesce($4::jsonb, '{}'))", 4,
		       vals, NULL, NULL, 0, PGRES_COMMAND_OK);
	PQclear(r);
	return r ? 0 : -1;
}

/* pgstore_rules_put - a rule set version, inactive; 0 also when that
 * version was already stored (two nodes publishing the same bundle) */
int pgstore_rules_put(struct pgstore *s, const char *version, const void *blob,
		      size_t len, const char *actor)
{
	static const char sql[] =
		"WITH i AS (INSERT INTO rule_versions (version, actor, blob)"
		" VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING"
		" RETURNING version)"
		" INSERT INTO audit_log (node, actor, action, detail)"
		" SELECT $4, $2, 'rules.put', jsonb_build_object('version', version,"
		" 'bytes', $5::bigint) FROM i";
	char bytes[24];
	const char *vals[5] = { version, actor ? actor : "unknown", blob,
		s->node, bytes };
	int lens[5] = { 0, 0, (int)len, 0, 0 }, fmts[5] = { 0, 0, 1, 0, 0 };
	PGresult *r;

	if (len > (size_t)INT32_MAX) {
		errno = EFBIG;
		return -1;
	}
	snprintf(bytes, sizeof(bytes), "%zu", len);
	r = run_locked(s, "store a rule set", sql, 5, vals, lens, fmts, 0,
		       PGRES_COMMAND_OK);
	PQclear(r);
	return r ? 0 : -1;
}

/* pgstore_rules_get - a version's blob (NULL: the active one): 1, 0 none */
int pgstore_rules_get(struct pgstore *s, const char *version, void **blob,
		      size_t *len, char *version_out, size_t vlen)
{
	const char *vals[1] = { version };
	PGresult *r;
	size_t n;

	r = run_locked(s, "fetch a rule set",
		       "SELECT blob, version FROM rule_versions WHERE"
		       " ($1::text IS NULL AND active) OR version = $1", 1,
		       vals, NULL, NULL, 1, PGRES_TUPLES_OK);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	n = (size_t)PQgetlength(r, 0, 0);
	if ((*blob = malloc(n ? n : 1)) == NULL) {
		PQclear(r);
		return -1;
	}
	memcpy(*blob, PQgetvalue(r, 0, 0), n);
	*len = n;
	if (version_out && vlen)
		snprintf(version_out, vlen, "%.*s", PQgetlength(r, 0, 1),
			 PQgetvalue(r, 0, 1));
	PQclear(r);
	return 1;
}

/* pgstore_rules_set_active - one active version, NOTIFY, audit; one
 * transaction. -1 with errno ENOENT when there is no such version */
int pgstore_rules_set_active(struct pgstore *s, const char *version,
			     const char *actor)
{
	const char *vals[3] = { version, actor ? actor : "unknown", s->node };
	PGresult *r;
	int found;

	pthread_mutex_lock(&s->conn.lock);
	if ((r = run(s, "activate a rule set", "BEGIN", 0, NULL, NULL, NULL, 0,
		     PGRES_COMMAND_OK)) == NULL)
		goto fail_no_rollback;
	PQclear(r);
	/* two statements: the one-active index is checked row by row */
	if ((r = run(s, "activate a rule set", "UPDATE rule_versions SET"
		     " active = false WHERE active AND version <> $1", 1, vals,
		     NULL, NULL, 0, PGRES_COMMAND_OK)) == NULL)
		goto fail;
	PQclear(r);
	if ((r = run(s, "activate a rule set", "UPDATE rule_versions SET"
		     " active = true WHERE version = $1", 1, vals, NULL, NULL,
		     0, PGRES_COMMAND_OK)) == NULL)
		goto fail;
	found = atoi(PQcmdTuples(r)) > 0;
	PQclear(r);
	if (!found) {
		errno = ENOENT;
		goto fail;
	}
	if ((r = run(s, "activate a rule set", "INSERT INTO audit_log (node,"
		     " actor, action, detail) VALUES ($3, $2, 'rules.activate',"
		     " jsonb_build_object('version', $1::text))", 3, vals, NULL,
		     NULL, 0, PGRES_COMMAND_OK)) == NULL)
		goto fail;
	PQclear(r);
	if ((r = run(s, "activate a rule set", "SELECT pg_notify('"
		     PGSTORE_RULES_CHANNEL "', $1)", 1, vals, NULL, NULL, 0,
		     PGRES_TUPLES_OK)) == NULL)
		goto fail;
	PQclear(r);
	if ((r = run(s, "activate a rule set", "COMMIT", 0, NULL, NULL, NULL, 0,
		     PGRES_COMMAND_OK)) == NULL)
		goto fail_no_rollback;
	PQclear(r);
	pthread_mutex_unlock(&s->conn.lock);
	return 0;
fail:
	{
		int saved = errno;

		if (s->conn.pg)
			PQclear(pgstore_exec_timed(s->conn.pg, "ROLLBACK", 0, NULL,
						   NULL, NULL, 0,
						   PGSTORE_QUERY_TIMEOUT_MS));
		errno = saved;
	}
fail_no_rollback:
	pthread_mutex_unlock(&s->conn.lock);
	return -1;
}
