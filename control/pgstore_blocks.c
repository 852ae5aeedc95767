/*
 * pgstore_blocks.c - IP Profiler blocks in PostgreSQL (table ip_blocks)
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
 *	const char *pgstore_node(const struct pgstore *s);
 *
 * DESCRIPTION
 *	See pgstore.h. Expiry times are computed by the database (now() +
 *	the remaining milliseconds; read back as milliseconds left), so
 *	nodes whose clocks differ agree on when a block ends. Statements
 *	run on the query connection under its lock, with the deadline
 *	PGSTORE_QUERY_TIMEOUT_MS. The NOTIFY is part of the writing
 *	statement (pg_notify() in the same statement, hence the same
 *	transaction): PostgreSQL delivers it at COMMIT, never for a write
 *	that failed, and the other nodes read the committed rows.
 *
 * DIAGNOSTICS
 *	-1 with errno EIO, and the database's reason on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgstore_int.h"

/* blocks_run - one statement on the query connection; NULL on failure */
static PGresult *blocks_run(struct pgstore *s, const char *what, const char *sql,
			    int n, const char *const *vals, ExecStatusType want)
{
	char err[512];
	PGconn *c;
	PGresult *r;

	pthread_mutex_lock(&s->conn.lock);
	if ((c = pgstore_conn_get(s, &s->conn, NULL, err, sizeof(err))) == NULL) {
		pthread_mutex_unlock(&s->conn.lock);
		fprintf(stderr, "mxgate: pgstore: %s: %s\n", what, err);
		errno = EIO;
		return NULL;
	}
	r = pgstore_exec_timed(c, sql, n, vals, NULL, NULL, 0, PGSTORE_QUERY_TIMEOUT_MS);
	if (r && PQresultStatus(r) == want) {
		pthread_mutex_unlock(&s->conn.lock);
		return r;
	}
	fprintf(stderr, "mxgate: pgstore: %s: %s", what,
		r ? PQresultErrorMessage(r) : "no answer in time\n");
	if (r == NULL || PQstatus(c) != CONNECTION_OK)
		pgstore_conn_failed(&s->conn);
	pthread_mutex_unlock(&s->conn.lock);
	PQclear(r);
	errno = EIO;
	return NULL;
}

/* pgstore_block_put - this node's block, replacing its row in force */
int pgstore_block_put(struct pgstore *s, const struct pgstore_block *b)
{
	static const char sql[] =
		"WITH w AS (INSERT INTO ip_blocks (addr, reason, kind, expires, hits, node)"
		" VALUES ($1::inet, $2, $3, CASE WHEN $3 = 'perm' THEN NULL"
		" ELSE now() + $4::bigint * interval '1 millisecond' END, $5::integer, $6)"
		" ON CONFLICT (node, addr) WHERE removed_at IS NULL DO UPDATE SET"
		" reason = EXCLUDED.reason, kind = EXCLUDED.kind, created = now(),"
		" expires = EXCLUDED.expires, hits = EXCLUDED.hits RETURNING addr)"
		" SELECT pg_notify('" PGSTORE_BLOCKS_CHANNEL "',"
		" 'block ' || host(addr) || ' ' || $6::text) FROM w";
	char ms[24], hits[16];
	const char *vals[6] = { b->addr, b->reason, b->permanent ? "perm" : "temp",
				ms, hits, s->node };
	PGresult *r;

	snprintf(ms, sizeof(ms), "%lld", (long long)(b->remaining_ms > 0 ? b->remaining_ms : 0));
	snprintf(hits, sizeof(hits), "%u", b->hits);
	if ((r = blocks_run(s, "record an IP block", sql, 6, vals, PGRES_TUPLES_OK)) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* pgstore_block_remove - mark addr's rows in force removed; how many */
int pgstore_block_remove(struct pgstore *s, const char *addr, const char *actor)
{
	/* NOTIFY even when no row was in force: a node that kept the block
	 * in memory (its row removed while it was not listening) lifts it */
	static const char sql[] =
		"WITH u AS (UPDATE ip_blocks SET removed_at = now(), removed_by = $2"
		" WHERE addr = $1::inet AND removed_at IS NULL RETURNING 1)"
		" SELECT (SELECT count(*) FROM u), pg_notify('" PGSTORE_BLOCKS_CHANNEL "',"
		" 'remove ' || host($1::inet) || ' ' || $3::text)";
	const char *vals[3] = { addr, actor ? actor : "unknown", s->node };
	PGresult *r;
	int n;

	if ((r = blocks_run(s, "remove an IP block", sql, 3, vals, PGRES_TUPLES_OK)) == NULL)
		return -1;
	n = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : 0;
	PQclear(r);
	return n;
}

/* blocks_rows - a result's rows (addr, reason, kind, ms, hits, node) */
static int blocks_rows(PGresult *r, struct pgstore_block **out, size_t *n)
{
	struct pgstore_block *b = NULL;
	int rows = PQntuples(r);

	if (rows > 0 && (b = calloc((size_t)rows, sizeof(*b))) == NULL) {
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < rows; i++) {
		snprintf(b[i].addr, sizeof(b[i].addr), "%s", PQgetvalue(r, i, 0));
		snprintf(b[i].reason, sizeof(b[i].reason), "%s", PQgetvalue(r, i, 1));
		b[i].permanent = strcmp(PQgetvalue(r, i, 2), "perm") == 0;
		b[i].remaining_ms = strtoll(PQgetvalue(r, i, 3), NULL, 10);
		b[i].hits = (unsigned)strtoul(PQgetvalue(r, i, 4), NULL, 10);
		snprintf(b[i].node, sizeof(b[i].node), "%s", PQgetvalue(r, i, 5));
	}
	PQclear(r);
	*out = b;
	*n = (size_t)rows;
	return 0;
}

/* pgstore_blocks_in_force - the blocks in force, of addr and node */
int pgstore_blocks_in_force(struct pgstore *s, const char *addr,
			    const char *node, struct pgstore_block **out,
			    size_t *n)
{
	static const char sql[] =
		"SELECT host(addr), reason, kind,"
		" CASE WHEN kind = 'perm' THEN -1 ELSE"
		" ceil(extract(epoch FROM expires - now()) * 1000)::bigint END, hits, node"
		" FROM ip_blocks WHERE removed_at IS NULL AND family(addr) = 4"
		" AND (kind = 'perm' OR expires > now())"
		" AND ($2::inet IS NULL OR addr = $2::inet)"
		" AND ($3::text IS NULL OR node = $3::text)"
		" ORDER BY created LIMIT $1::integer";
	char limit[16];
	const char *vals[3] = { limit, addr, node };
	PGresult *r;

	*out = NULL;
	*n = 0;
	snprintf(limit, sizeof(limit), "%d", PGSTORE_BLOCKS_MAX);
	if ((r = blocks_run(s, "read the IP blocks", sql, 3, vals, PGRES_TUPLES_OK)) == NULL)
		return -1;
	return blocks_rows(r, out, n);
}

/* pgstore_blocks_active - every node's blocks in force */
int pgstore_blocks_active(struct pgstore *s, struct pgstore_block **out,
			  size_t *n)
{
	return pgstore_blocks_in_force(s, NULL, NULL, out, n);
}

/* pgstore_blocks_removed - addresses lifted lately, none in force */
int pgstore_blocks_removed(struct pgstore *s, int64_t within_ms,
			   struct pgstore_block **out, size_t *n)
{
	static const char sql[] =
		"SELECT DISTINCT ON (addr) host(addr), '', 'temp', 0::bigint, 0,"
		" coalesce(removed_by, '') FROM ip_blocks o"
		" WHERE removed_at > now() - $2::bigint * interval '1 millisecond'"
		" AND family(addr) = 4 AND NOT EXISTS (SELECT 1 FROM ip_blocks i"
		" WHERE i.addr = o.addr AND i.removed_at IS NULL"
		" AND (i.kind = 'perm' OR i.expires > now()))"
		" ORDER BY addr, removed_at DESC LIMIT $1::integer";
	char limit[16], ms[24];
	const char *vals[2] = { limit, ms };
	PGresult *r;

	*out = NULL;
	*n = 0;
	snprintf(limit, sizeof(limit), "%d", PGSTORE_BLOCKS_MAX);
	snprintf(ms, sizeof(ms), "%lld", (long long)(within_ms > 0 ? within_ms : 0));
	if ((r = blocks_run(s, "read the removed IP blocks", sql, 2, vals,
			    PGRES_TUPLES_OK)) == NULL)
		return -1;
	return blocks_rows(r, out, n);
}

/* pgstore_blocks_notice_parse - "block|remove ADDR NODE" */
int pgstore_blocks_notice_parse(const char *payload,
				struct pgstore_blocks_notice *out)
{
	const char *p = payload, *sp;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (payload == NULL)
		return -1;
	if (strncmp(p, "block ", 6) == 0) {
		p += 6;
	} else if (strncmp(p, "remove ", 7) == 0) {
		out->removal = 1;
		p += 7;
	} else {
		return -1;
	}
	if ((sp = strchr(p, ' ')) == NULL || sp == p
	    || (len = (size_t)(sp - p)) >= sizeof(out->addr)
	    || strlen(sp + 1) >= sizeof(out->node) || sp[1] == 0)
		return -1;
	memcpy(out->addr, p, len);
	snprintf(out->node, sizeof(out->node), "%s", sp + 1);
	return 0;
}

/* pgstore_node - this gateway's node name */
const char *pgstore_node(const struct pgstore *s)
{
	return s->node;
}
