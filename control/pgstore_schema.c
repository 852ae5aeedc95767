/*
 * pgstore_schema.c - versioned schema migrations of the PostgreSQL store
 *
 *	int pgstore_schema_migrate(PGconn *c, int upto, char *err,
 *			size_t errlen);
 *	int pgstore_schema_latest(void);
 *
 * DESCRIPTION
 *	The schema is a list of migrations, numbered from 1, each applied
 *	once, in order, in its own transaction that also records it in
 *	schema_version. Each transaction first takes an advisory lock
 *	(PGSTORE_SCHEMA_LOCK): two nodes starting together against one
 *	database serialise, and the second finds the migration recorded
 *	and skips it. A migration is never edited once released: a change
 *	is a new migration at the end of the list.
 *
 *	pgstore_schema_migrate() applies every missing migration up to
 *	upto (0: all) and returns how many it applied; tests use upto to
 *	build "the previous version" of the schema.
 *	pgstore_schema_latest() is the number of the last migration.
 *
 * DIAGNOSTICS
 *	-1 with err naming the migration and PostgreSQL's message; the
 *	failed migration's transaction is rolled back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pgstore_int.h"

/* pg_advisory_xact_lock key: "mxgt" */
#define PGSTORE_SCHEMA_LOCK	"1836476276"

struct migration {
	int version;
	const char *name;
	const char *sql;
};

static const struct migration migrations[] = {
	{ 1, "base",
	  "CREATE TABLE message_log ("
	  "  id bigserial PRIMARY KEY,"
	  "  logged_at timestamptz NOT NULL,"
	  "  node text NOT NULL,"
	  "  qid text NOT NULL,"
	  "  client_addr text,"
	  "  client_port integer,"
	  "  helo text,"
	  "  sender text,"
	  "  recipients text[] NOT NULL DEFAULT '{}',"
	  "  size bigint,"
	  "  action text NOT NULL,"
	  "  score integer,"
	  "  rules jsonb NOT NULL DEFAULT '[]',"
	  "  reply_code integer,"
	  "  reply text,"
	  "  downstream text,"
	  "  rules_version text,"
	  "  receive_ms double precision,"
	  "  scan_ms double precision,"
	  "  relay_ms double precision,"
	  "  total_ms double precision,"
	  "  UNIQUE (node, qid));"
	  "CREATE INDEX message_log_time ON message_log (logged_at DESC);"
	  "CREATE TABLE quarantine ("
	  "  qid text PRIMARY KEY,"
	  "  quarantined_at timestamptz NOT NULL DEFAULT now(),"
	  "  node text NOT NULL,"
	  "  meta jsonb NOT NULL DEFAULT '{}',"
	  "  message bytea NOT NULL,"
	  "  released_at timestamptz,"
	  "  released_by text,"
	  "  deleted boolean NOT NULL DEFAULT false);"
	  "CREATE INDEX quarantine_time ON quarantine (quarantined_at DESC);"
	  "CREATE TABLE rule_versions ("
	  "  version text PRIMARY KEY,"
	  "  created timestamptz NOT NULL DEFAULT now(),"
	  "  actor text,"
	  "  blob bytea NOT NULL,"
	  "  active boolean NOT NULL DEFAULT false);"
	  "CREATE UNIQUE INDEX rule_versions_one_active ON rule_versions (active)"
	  "  WHERE active;"
	  "CREATE TABLE audit_log ("
	  "  id bigserial PRIMARY KEY,"
	  "  at timestamptz NOT NULL DEFAULT now(),"
	  "  node text,"
	  "  actor text NOT NULL,"
	  "  action text NOT NULL,"
	  "  detail jsonb NOT NULL DEFAULT '{}');" },
	{ 2, "message_log_details",
	  /* what msglog's JSON line carries besides the base columns */
	  "ALTER TABLE message_log ADD COLUMN client_name text,"
	  "  ADD COLUMN policy text, ADD COLUMN note text;"
	  "ALTER TABLE quarantine ADD COLUMN sender text,"
	  "  ADD COLUMN recipients text[] NOT NULL DEFAULT '{}';"
	  "UPDATE quarantine SET sender = meta->>'from',"
	  "  recipients = ARRAY(SELECT jsonb_array_elements_text("
	  "    coalesce(meta->'rcpt', '[]')));" },
	{ 3, "search_indexes",
	  "CREATE INDEX message_log_sender ON message_log (lower(sender));"
	  "CREATE INDEX message_log_recipients ON message_log USING gin (recipients);"
	  "CREATE INDEX audit_log_time ON audit_log (at DESC);" },
	{ 4, "message_log_tls",
	  "ALTER TABLE message_log ADD COLUMN tls_version text,"
	  "  ADD COLUMN tls_cipher text;" },
	{ 5, "ip_blocks",
	  /* IP Profiler blocks (pgstore_blocks.c): one row per block a node
	   * started; at most one not removed per (node, addr) */
	  "CREATE TABLE ip_blocks ("
	  "  id bigserial PRIMARY KEY,"
	  "  addr inet NOT NULL,"
	  "  reason text NOT NULL DEFAULT '',"
	  "  kind text NOT NULL CHECK (kind IN ('temp', 'perm')),"
	  "  created timestamptz NOT NULL DEFAULT now(),"
	  "  expires timestamptz,"
	  "  hits integer NOT NULL DEFAULT 0,"
	  "  node text NOT NULL,"
	  "  removed_at timestamptz,"
	  "  removed_by text);"
	  "CREATE UNIQUE INDEX ip_blocks_in_force ON ip_blocks (node, addr)"
	  "  WHERE removed_at IS NULL;"
	  "CREATE INDEX ip_blocks_addr ON ip_blocks (addr);" },
	{ 6, "message_log_upstream_qid",
	  /* the front MTA's queue id (XFORWARD IDENT), so that an operator
	   * holding it finds our verdict; most rows in DPDK mode have none,
	   * so only the rows that do are indexed */
	  "ALTER TABLE message_log ADD COLUMN upstream_qid text;"
	  "CREATE INDEX message_log_upstream_qid ON message_log (upstream_qid)"
	  "  WHERE upstream_qid IS NOT NULL;" },
};

#define NMIGRATIONS	(sizeof(migrations) / sizeof(migrations[0]))

/* exec_ok - run one command; 0 when it succeeded */
static int exec_ok(PGconn *c, const char *sql, char *err, size_t errlen,
		   const char *what)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	PQclear(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	snprintf(err, errlen, "%s: %s", what, PQerrorMessage(c));
	return -1;
}

/* applied - 1 when version is recorded in schema_version, -1 on error */
static int applied(PGconn *c, int version, char *err, size_t errlen)
{
	char v[16];
	const char *params[1] = { v };
	PGresult *r;
	int rc;

	snprintf(v, sizeof(v), "%d", version);
	r = PQexecParams(c, "SELECT 1 FROM schema_version WHERE version = $1",
			 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "read schema_version: %s", PQerrorMessage(c));
		rc = -1;
	} else {
		rc = PQntuples(r) > 0;
	}
	PQclear(r);
	return rc;
}

/* apply_one - migration m in one transaction, unless already there */
static int apply_one(PGconn *c, const struct migration *m, char *err,
		     size_t errlen)
{
	char what[128], v[16];
	const char *params[2] = { v, m->name };
	PGresult *r;
	int done;

	snprintf(what, sizeof(what), "schema migration %03d_%s", m->version,
		 m->name);
	if (exec_ok(c, "BEGIN", err, errlen, what) < 0)
		return -1;
	if (exec_ok(c, "SELECT pg_advisory_xact_lock(" PGSTORE_SCHEMA_LOCK ")",
		    err, errlen, what) < 0
	    || exec_ok(c, "CREATE TABLE IF NOT EXISTS schema_version ("
		       " version integer PRIMARY KEY, name text NOT NULL,"
		       " applied_at timestamptz NOT NULL DEFAULT now())",
		       err, errlen, what) < 0
	    || (done = applied(c, m->version, err, errlen)) < 0)
		goto fail;
	if (done) {
		if (exec_ok(c, "COMMIT", err, errlen, what) < 0)
			goto fail;
		return 0;
	}
	if (exec_ok(c, m->sql, err, errlen, what) < 0)
		goto fail;
	snprintf(v, sizeof(v), "%d", m->version);
	r = PQexecParams(c, "INSERT INTO schema_version (version, name)"
			 " VALUES ($1, $2)", 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "%s: record it: %s", what, PQerrorMessage(c));
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	if (exec_ok(c, "COMMIT", err, errlen, what) < 0)
		goto fail;
	return 1;
fail:
	PQclear(PQexec(c, "ROLLBACK"));
	return -1;
}

/* pgstore_schema_migrate - apply what is missing, up to upto (0: all) */
int pgstore_schema_migrate(PGconn *c, int upto, char *err, size_t errlen)
{
	size_t i;
	int n = 0, rc;

	for (i = 0; i < NMIGRATIONS; i++) {
		if (upto > 0 && migrations[i].version > upto)
			break;
		if ((rc = apply_one(c, &migrations[i], err, errlen)) < 0)
			return -1;
		n += rc;
	}
	return n;
}

/* pgstore_schema_latest - the last migration's number */
int pgstore_schema_latest(void)
{
	return migrations[NMIGRATIONS - 1].version;
}
