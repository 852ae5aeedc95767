/*
 * test_pg_upstream.c - the front MTA's queue id (upstream_qid) in the
 *	PostgreSQL message log
 *
 *	Migration 006 from a version-5 database holding rows; the writer
 *	storing the field and the search filtering by it (and not mixing it
 *	up with mxgate's own qid); rows that went through the spool keep
 *	it; a spool file written by the previous version (rows without the
 *	key) replays with the column NULL. One server for the file; one
 *	database per test.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgstore.h"
#include "pgstore_int.h"
#include "pgtest.h"

#define PREVIOUS_SCHEMA		5	/* the version before upstream_qid */
#define WAIT_MS			10000
#define SPOOLED_ROWS		300

static struct pgtest T;

struct logged {
	struct pgstore *s;
	uint64_t want;
};

/* all_stored - every row committed, nothing queued or spooled */
static int all_stored(void *arg)
{
	struct logged *l = arg;
	struct pgstore_stats st;

	pgstore_stats(l->s, &st);
	return st.queued == 0 && st.spool_pending_bytes == 0
	       && st.logged >= l->want;
}

/* open_on - a store on conninfo, spooling to T.dir/spool-NAME */
static struct pgstore *open_on(const char *conninfo, const char *name,
			       struct pgstore_config *cfg)
{
	char spool[PATH_MAX + 64], err[1024];
	struct pgstore *s;

	snprintf(spool, sizeof(spool), "%s/spool-%s", T.dir, name);
	cfg->conninfo = conninfo;
	cfg->spool_dir = spool;
	if (cfg->node == NULL)
		cfg->node = "node-u";
	if ((s = pgstore_open(cfg, err, sizeof(err))) == NULL)
		fprintf(stderr, "pgstore_open: %s\n", err);
	return s;
}

/* log_one - one entry with qid and (maybe NULL) upstream_qid */
static void log_one(struct pgstore *s, const char *qid, const char *upstream)
{
	static const char *rcpt[] = { "user@example.net" };
	struct msglog_entry e;
	struct envelope env;

	pgtest_entry(&e, &env, rcpt, qid, "sender@example.org");
	e.upstream_qid = upstream;
	assert_int_equal(pgstore_log(s, &e), 0);
}

/* test_a_row_with_upstream_qid_is_found_by_it_and_one_without_is_not */
static void test_a_row_with_upstream_qid_is_found_by_it_and_one_without_is_not(void **state)
{
	char conninfo[PATH_MAX + 64], *json = NULL;
	struct pgstore_config cfg = { 0 };
	struct pgstore_query q = { 0 };
	PGconn *c = pgtest_db(&T, "up_search", conninfo, sizeof(conninfo));
	struct pgstore *s = open_on(conninfo, "search", &cfg);
	struct logged l = { s, 3 };

	assert_non_null(s);
	log_one(s, "MX0001", "4XyzAbC123");
	log_one(s, "MX0002", NULL);
	log_one(s, "MX0003", "");		/* "" means none, as in msglog */
	assert_true(pgtest_wait(all_stored, &l, WAIT_MS));
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM message_log"
				      " WHERE upstream_qid IS NULL"), 2);

	q.upstream_qid = "4XyzAbC123";
	assert_int_equal(pgstore_messages_search(s, &q, &json), 0);
	assert_non_null(strstr(json, "\"qid\":\"MX0001\""));
	assert_non_null(strstr(json, "\"upstream_qid\":\"4XyzAbC123\""));
	assert_null(strstr(json, "MX0002"));
	assert_null(strstr(json, "MX0003"));
	free(json);

	/* an exact match, not a prefix, and case matters (Postfix ids do) */
	q.upstream_qid = "4XyzAbC";
	assert_int_equal(pgstore_messages_search(s, &q, &json), 0);
	assert_string_equal(json, "[]");
	free(json);
	q.upstream_qid = "4XYZABC123";
	assert_int_equal(pgstore_messages_search(s, &q, &json), 0);
	assert_string_equal(json, "[]");
	free(json);

	/* the two ids are separate filters */
	memset(&q, 0, sizeof(q));
	q.qid = "4XyzAbC123";
	assert_int_equal(pgstore_messages_search(s, &q, &json), 0);
	assert_string_equal(json, "[]");
	free(json);

	/* every row carries the key; null where there was none */
	q.qid = "MX0002";
	assert_int_equal(pgstore_messages_search(s, &q, &json), 0);
	assert_non_null(strstr(json, "\"upstream_qid\":null"));
	free(json);
	pgstore_close(s);
	PQfinish(c);
}

/* test_migration_from_5_to_6_keeps_rows_and_adds_upstream_qid */
static void test_migration_from_5_to_6_keeps_rows_and_adds_upstream_qid(void **state)
{
	char conninfo[PATH_MAX + 64], err[1024], *json = NULL;
	struct pgstore_config cfg = { 0 };
	struct pgstore_query q = { 0 };
	PGconn *c = pgtest_db(&T, "up_mig", conninfo, sizeof(conninfo));
	struct pgstore *s;
	struct logged l;
	PGresult *r;

	assert_int_equal(pgstore_schema_migrate(c, PREVIOUS_SCHEMA, err,
						sizeof(err)), PREVIOUS_SCHEMA);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM information_schema.columns"
				      " WHERE table_name = 'message_log'"
				      " AND column_name = 'upstream_qid'"), 0);
	r = PQexec(c, "INSERT INTO message_log (logged_at, node, qid, action,"
		   " sender, tls_version) VALUES"
		   " (now(), 'old', 'OLD1', 'pass', 'a@example.org', 'TLSv1.3'),"
		   " (now(), 'old', 'OLD2', 'reject', 'b@example.org', NULL);"
		   "INSERT INTO ip_blocks (addr, kind, node) VALUES"
		   " ('198.18.0.9', 'temp', 'old')");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);

	s = open_on(conninfo, "mig", &cfg);
	assert_non_null(s);
	assert_int_equal(pgtest_count(c, "SELECT max(version) FROM schema_version"),
			 pgstore_schema_latest());
	assert_true(pgstore_schema_latest() >= PREVIOUS_SCHEMA + 1);
	/* the old rows are there, untouched, with no upstream id */
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM message_log"
				      " WHERE node = 'old' AND upstream_qid IS NULL"), 2);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM message_log"
				      " WHERE qid = 'OLD1' AND sender = 'a@example.org'"
				      " AND tls_version = 'TLSv1.3'"), 1);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM ip_blocks"), 1);
	/* the lookup has its index */
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM pg_indexes WHERE"
				      " tablename = 'message_log' AND indexname ="
				      " 'message_log_upstream_qid'"), 1);

	/* and the upgraded database takes and finds new rows by it */
	log_one(s, "NEW1", "5AbCdE");
	l.s = s;
	l.want = 1;
	assert_true(pgtest_wait(all_stored, &l, WAIT_MS));
	q.upstream_qid = "5AbCdE";
	assert_int_equal(pgstore_messages_search(s, &q, &json), 0);
	assert_non_null(strstr(json, "\"qid\":\"NEW1\""));
	assert_null(strstr(json, "OLD1"));
	free(json);
	pgstore_close(s);
	/* migrating again applies nothing */
	assert_int_equal(pgstore_schema_migrate(c, 0, err, sizeof(err)), 0);
	PQfinish(c);
}

/* test_rows_that_went_through_the_spool_keep_upstream_qid: while an
 * insert waits on a lock the queue grows past spill_rows, those rows go
 * to the spool, and come back with their upstream ids */
static void test_rows_that_went_through_the_spool_keep_upstream_qid(void **state)
{
	char conninfo[PATH_MAX + 64], qid[32], up[32];
	struct pgstore_config cfg = { 0 };
	struct timespec hold = { 1, 0 };
	struct pgstore_stats st;
	PGconn *c = pgtest_db(&T, "up_spool", conninfo, sizeof(conninfo));
	PGconn *locker;
	struct pgstore *s;
	struct logged l;
	PGresult *r;
	int i;

	cfg.spill_rows = 20;
	cfg.batch_rows = 10;
	s = open_on(conninfo, "spooled", &cfg);
	assert_non_null(s);
	locker = PQconnectdb(conninfo);
	r = PQexec(locker, "BEGIN; LOCK TABLE message_log IN ACCESS EXCLUSIVE MODE");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	for (i = 0; i < SPOOLED_ROWS; i++) {
		snprintf(qid, sizeof(qid), "SP%04d", i);
		snprintf(up, sizeof(up), "UP%04d", i);
		log_one(s, qid, i % 2 ? up : NULL);
	}
	nanosleep(&hold, NULL);
	PQclear(PQexec(locker, "COMMIT"));
	PQfinish(locker);
	l.s = s;
	l.want = SPOOLED_ROWS;
	assert_true(pgtest_wait(all_stored, &l, 2 * WAIT_MS));
	pgstore_stats(s, &st);
	assert_true(st.spooled > 0);		/* the spool was really used */
	assert_true(st.replayed > 0);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM message_log"),
			 SPOOLED_ROWS);
	/* every odd row kept its own id, every even row none */
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM message_log WHERE"
				      " upstream_qid = 'UP' || substr(qid, 3)"
				      " AND substr(qid, 3)::int % 2 = 1"),
			 SPOOLED_ROWS / 2);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM message_log WHERE"
				      " upstream_qid IS NULL"
				      " AND substr(qid, 3)::int % 2 = 0"),
			 SPOOLED_ROWS / 2);
	pgstore_close(s);
	PQfinish(c);
}

/* write_file - path with text, 0600 */
static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

/* test_a_spool_written_by_the_previous_version_replays_with_null_upstream_qid:
 * the first row is what the previous writer serialised (no upstream_qid
 * key), the second what this one does */
static void test_a_spool_written_by_the_previous_version_replays_with_null_upstream_qid(void **state)
{
	static const char old_row[] =
		"{\"t_ms\":1795860000000,\"node\":\"node-u\",\"qid\":\"PREV1\","
		"\"client_addr\":\"198.18.0.2\",\"client_port\":40000,"
		"\"client_name\":\"\",\"helo\":\"client.example\","
		"\"sender\":\"old@example.org\",\"recipients\":[\"user@example.net\"],"
		"\"size\":1234,\"action\":\"pass\",\"score\":0,\"rules\":[],"
		"\"policy\":null,\"reply_code\":250,\"reply\":\"2.0.0 Ok: queued\","
		"\"downstream\":null,\"rules_version\":\"test\",\"note\":null,"
		"\"tls_version\":null,\"tls_cipher\":null,\"receive_ms\":0.000,"
		"\"scan_ms\":0.000,\"relay_ms\":0.000,\"total_ms\":1.500}\n";
	static const char new_row[] =
		"{\"t_ms\":1795860000001,\"node\":\"node-u\",\"qid\":\"CUR1\","
		"\"upstream_qid\":\"4Xyz99\",\"client_addr\":\"198.18.0.2\","
		"\"client_port\":40000,\"client_name\":\"\",\"helo\":\"client.example\","
		"\"sender\":\"new@example.org\",\"recipients\":[\"user@example.net\"],"
		"\"size\":1234,\"action\":\"pass\",\"score\":0,\"rules\":[],"
		"\"policy\":null,\"reply_code\":250,\"reply\":\"2.0.0 Ok: queued\","
		"\"downstream\":null,\"rules_version\":\"test\",\"note\":null,"
		"\"tls_version\":null,\"tls_cipher\":null,\"receive_ms\":0.000,"
		"\"scan_ms\":0.000,\"relay_ms\":0.000,\"total_ms\":1.500}\n";
	char conninfo[PATH_MAX + 64], dir[PATH_MAX + 64], path[PATH_MAX + 128];
	struct pgstore_config cfg = { 0 };
	struct pgstore_stats st;
	PGconn *c = pgtest_db(&T, "up_prev_spool", conninfo, sizeof(conninfo));
	struct pgstore *s;
	struct logged l;

	/* the spool a previous run left: one file, written before the
	 * upgrade, a second one after it */
	snprintf(dir, sizeof(dir), "%s/spool-prev", T.dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/spool-%020d.jsonl", dir, 1);
	write_file(path, old_row);
	snprintf(path, sizeof(path), "%s/spool-%020d.jsonl", dir, 2);
	write_file(path, new_row);

	s = open_on(conninfo, "prev", &cfg);
	assert_non_null(s);
	l.s = s;
	l.want = 2;
	assert_true(pgtest_wait(all_stored, &l, WAIT_MS));
	pgstore_stats(s, &st);
	assert_int_equal(st.replayed, 2);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM message_log WHERE"
				      " qid = 'PREV1' AND upstream_qid IS NULL"
				      " AND sender = 'old@example.org'"), 1);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM message_log WHERE"
				      " qid = 'CUR1' AND upstream_qid = '4Xyz99'"), 1);
	pgstore_close(s);
	PQfinish(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_row_with_upstream_qid_is_found_by_it_and_one_without_is_not),
		cmocka_unit_test(test_migration_from_5_to_6_keeps_rows_and_adds_upstream_qid),
		cmocka_unit_test(test_rows_that_went_through_the_spool_keep_upstream_qid),
		cmocka_unit_test(test_a_spool_written_by_the_previous_version_replays_with_null_upstream_qid),
	};

	if (!pgtest_have_server())
		return 77;
	return pgtest_run_group(tests, &T);
}
