/*
 * test_pgstore.c - the PostgreSQL store against a real private server
 *
 *	Migrations (from an empty database and from the previous version),
 *	the message log (batched, searchable), quarantine round trip,
 *	rule sets with NOTIFY, the audit log, and the spool on its own.
 *	One server for the whole file; one database per test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgstore.h"
#include "pgstore_int.h"
#include "pgtest.h"
#include "spool.h"

static struct pgtest T;

/* open_store - a store on a new database */
static struct pgstore *open_store(const char *db, PGconn **admin)
{
	char conninfo[PATH_MAX + 64], spool[PATH_MAX + 64], err[1024];
	struct pgstore_config cfg = { 0 };
	struct pgstore *s;

	*admin = pgtest_db(&T, db, conninfo, sizeof(conninfo));
	snprintf(spool, sizeof(spool), "%s/spool-%s", T.dir, db);
	cfg.conninfo = conninfo;
	cfg.spool_dir = spool;
	cfg.node = "node-a";
	s = pgstore_open(&cfg, err, sizeof(err));
	if (s == NULL)
		fprintf(stderr, "pgstore_open: %s\n", err);
	return s;
}

/* test_migrations_from_empty_database_reach_the_latest_version */
static void test_migrations_from_empty_database_reach_the_latest_version(void **state)
{
	PGconn *c;
	struct pgstore *s = open_store("mig_empty", &c);
	char err[256];

	assert_non_null(s);
	assert_int_equal(pgtest_count(c, "SELECT max(version) FROM schema_version"),
			 pgstore_schema_latest());
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM information_schema.tables"
				      " WHERE table_name IN ('message_log', 'quarantine',"
				      " 'rule_versions', 'audit_log', 'schema_version')"), 5);
	pgstore_close(s);
	/* migrating again applies nothing */
	assert_int_equal(pgstore_schema_migrate(c, 0, err, sizeof(err)), 0);
	PQfinish(c);
	/* a second database: the same migrations again, from scratch */
	s = open_store("mig_empty_again", &c);
	assert_non_null(s);
	pgstore_close(s);
	PQfinish(c);
}

/* test_migrations_from_previous_version_keep_the_data */
static void test_migrations_from_previous_version_keep_the_data(void **state)
{
	char conninfo[PATH_MAX + 64], err[1024];
	struct pgstore_config cfg = { 0 };
	struct pgstore *s;
	PGconn *c = pgtest_db(&T, "mig_prev", conninfo, sizeof(conninfo));
	PGresult *r;

	assert_int_equal(pgstore_schema_migrate(c, 1, err, sizeof(err)), 1);
	assert_int_equal(pgtest_count(c, "SELECT max(version) FROM schema_version"), 1);
	r = PQexec(c, "INSERT INTO message_log (logged_at, node, qid, action)"
		   " VALUES (now(), 'old', 'Q1', 'pass');"
		   "INSERT INTO quarantine (qid, node, meta, message) VALUES"
		   " ('Q2', 'old', '{\"from\":\"a@example.org\",\"rcpt\":[\"b@example.org\"]}',"
		   " 'body')");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	cfg.conninfo = conninfo;
	cfg.spool_dir = T.dir;
	s = pgstore_open(&cfg, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(pgtest_count(c, "SELECT max(version) FROM schema_version"),
			 pgstore_schema_latest());
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM message_log"
				      " WHERE qid = 'Q1' AND note IS NULL"), 1);
	/* migration 2 filled the new columns from the old metadata */
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM quarantine WHERE"
				      " sender = 'a@example.org' AND"
				      " recipients = '{b@example.org}'"), 1);
	pgstore_close(s);
	PQfinish(c);
}

struct opener {
	const char *conninfo;
	const char *node;
	struct pgstore *s;
};

/* open_thread - one node starting */
static void *open_thread(void *arg)
{
	struct opener *o = arg;
	struct pgstore_config cfg = { 0 };
	char err[1024], spool[PATH_MAX + 32];

	snprintf(spool, sizeof(spool), "%s/spool-%s", T.dir, o->node);
	cfg.conninfo = o->conninfo;
	cfg.spool_dir = spool;
	cfg.node = o->node;
	if ((o->s = pgstore_open(&cfg, err, sizeof(err))) == NULL)
		fprintf(stderr, "%s: %s\n", o->node, err);
	return NULL;
}

/* test_two_nodes_migrating_one_database_at_once_do_not_race */
static void test_two_nodes_migrating_one_database_at_once_do_not_race(void **state)
{
	char conninfo[PATH_MAX + 64];
	PGconn *c = pgtest_db(&T, "mig_race", conninfo, sizeof(conninfo));
	struct opener o[2] = { { conninfo, "node1", NULL }, { conninfo, "node2", NULL } };
	pthread_t t[2];
	int i;

	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, open_thread, &o[i]), 0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_non_null(o[0].s);
	assert_non_null(o[1].s);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM schema_version"),
			 pgstore_schema_latest());
	pgstore_close(o[0].s);
	pgstore_close(o[1].s);
	PQfinish(c);
}

struct logged {
	struct pgstore *s;
	uint64_t want;
};

/* all_logged - the writer committed every row */
static int all_logged(void *arg)
{
	struct logged *l = arg;
	struct pgstore_stats st;

	pgstore_stats(l->s, &st);
	return st.logged >= l->want;
}

#define LOG_ROWS	2000

/* test_log_rows_are_batched_and_searchable */
static void test_log_rows_are_batched_and_searchable(void **state)
{
	static const char *rcpt[] = { "user@example.net" };
	PGconn *c;
	struct pgstore *s = open_store("log_batch", &c);
	struct pgstore_query q = { 0 };
	struct msglog_entry e;
	struct envelope env;
	struct logged l = { s, LOG_ROWS };
	char qid[32], *json = NULL;
	int i;

	assert_non_null(s);
	for (i = 0; i < LOG_ROWS; i++) {
		snprintf(qid, sizeof(qid), "B%05d", i);
		pgtest_entry(&e, &env, rcpt, qid,
			     i == 7 ? "Special@Example.org" : "bulk@example.org");
		assert_int_equal(pgstore_log(s, &e), 0);
	}
	assert_true(pgtest_wait(all_logged, &l, 10000));
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM message_log"), LOG_ROWS);
	/* batched: far fewer transactions than rows */
	assert_true(pgtest_count(c, "SELECT count(DISTINCT xmin::text)"
				 " FROM message_log") <= LOG_ROWS / 20);
	q.sender = "special@example.org";
	assert_int_equal(pgstore_messages_search(s, &q, &json), 0);
	assert_non_null(strstr(json, "\"qid\":\"B00007\""));
	assert_null(strstr(json, "B00008"));
	free(json);
	memset(&q, 0, sizeof(q));
	q.recipient = "user@example.net";
	q.limit = 5;
	assert_int_equal(pgstore_messages_search(s, &q, &json), 0);
	assert_int_equal(json[0], '[');
	assert_non_null(strstr(json, "\"rules_version\":\"test\""));
	free(json);
	q.recipient = "nobody@example.net";
	assert_int_equal(pgstore_messages_search(s, &q, &json), 0);
	assert_string_equal(json, "[]");
	free(json);
	pgstore_close(s);
	PQfinish(c);
}

/* all_stored - every row in the table, nothing queued or spooled */
static int all_stored(void *arg)
{
	struct logged *l = arg;
	struct pgstore_stats st;

	pgstore_stats(l->s, &st);
	return st.queued == 0 && st.spool_pending_bytes == 0
	       && st.logged >= l->want;
}

#define SLOW_ROWS	3000

/* test_a_slow_database_sends_rows_to_the_spool_and_back: while an insert
 * waits on a lock, the queue grows past spill_rows; those batches go to
 * the spool and are replayed once the database is fast again */
static void test_a_slow_database_sends_rows_to_the_spool_and_back(void **state)
{
	static const char *rcpt[] = { "user@example.net" };
	char conninfo[PATH_MAX + 64], spool[PATH_MAX + 64], err[1024], qid[32];
	struct pgstore_config cfg = { 0 };
	struct timespec hold = { 1, 0 };
	struct pgstore_stats st;
	struct msglog_entry e;
	struct envelope env;
	struct logged l;
	PGresult *r;
	PGconn *c = pgtest_db(&T, "log_slow", conninfo, sizeof(conninfo));
	PGconn *locker;
	struct pgstore *s;
	int i;

	snprintf(spool, sizeof(spool), "%s/spool-slow", T.dir);
	cfg.conninfo = conninfo;
	cfg.spool_dir = spool;
	cfg.node = "slow";
	cfg.spill_rows = 100;
	cfg.batch_rows = 50;
	s = pgstore_open(&cfg, err, sizeof(err));
	assert_non_null(s);
	locker = PQconnectdb(conninfo);
	r = PQexec(locker, "BEGIN; LOCK TABLE message_log IN ACCESS EXCLUSIVE MODE");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	for (i = 0; i < SLOW_ROWS; i++) {
		snprintf(qid, sizeof(qid), "W%05d", i);
		pgtest_entry(&e, &env, rcpt, qid, "slow@example.org");
		assert_int_equal(pgstore_log(s, &e), 0);
	}
	nanosleep(&hold, NULL);
	r = PQexec(locker, "COMMIT");
	PQclear(r);
	PQfinish(locker);
	l.s = s;
	l.want = SLOW_ROWS;
	assert_true(pgtest_wait(all_stored, &l, 20000));
	pgstore_stats(s, &st);
	assert_true(st.spooled > 0);
	assert_true(st.replayed > 0);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(pgtest_count(c, "SELECT count(DISTINCT qid) FROM message_log"),
			 SLOW_ROWS);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM message_log"), SLOW_ROWS);
	pgstore_close(s);
	PQfinish(c);
}

/* test_a_single_row_is_committed_within_a_batch_interval: the writer
 * does not wait for a full batch when mail is sparse, nor sleep on after
 * its last batch (it would: PGSTORE_RECONNECT_MS) */
static void test_a_single_row_is_committed_within_a_batch_interval(void **state)
{
	static const char *rcpt[] = { "user@example.net" };
	PGconn *c;
	struct pgstore *s = open_store("log_single", &c);
	struct logged l = { s, 0 };
	struct msglog_entry e;
	struct envelope env;
	char qid[16];
	int i;

	assert_non_null(s);
	for (i = 0; i < 3; i++) {
		/* each row right after the previous batch: the writer has
		 * just gone back to sleep */
		snprintf(qid, sizeof(qid), "S%d", i);
		pgtest_entry(&e, &env, rcpt, qid, "one@example.org");
		assert_int_equal(pgstore_log(s, &e), 0);
		l.want = (uint64_t)i + 1;
		assert_true(pgtest_wait(all_logged, &l, PGSTORE_RECONNECT_MS / 2));
	}
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM message_log"), 3);
	pgstore_close(s);
	PQfinish(c);
}

/* test_quarantine_round_trip_is_byte_identical */
static void test_quarantine_round_trip_is_byte_identical(void **state)
{
	PGconn *c;
	struct pgstore *s = open_store("quar", &c);
	unsigned char part1[3000], part2[70000];
	struct iovec iov[2] = { { part1, sizeof(part1) }, { part2, sizeof(part2) } };
	char err[512], *msg = NULL, *meta = NULL, *json = NULL;
	size_t len = 0, i;

	assert_non_null(s);
	for (i = 0; i < sizeof(part1); i++)
		part1[i] = (unsigned char)(i * 7);	/* NULs, CR, LF, 0xff */
	for (i = 0; i < sizeof(part2); i++)
		part2[i] = (unsigned char)(i * 13 + 1);
	assert_int_equal(pgstore_quarantine_put(s, "QID1",
		"{\"from\":\"spam@example.org\",\"rcpt\":[\"u@example.net\"],"
		"\"action\":\"quarantine\"}", iov, 2, err, sizeof(err)), 0);
	assert_int_equal(pgstore_quarantine_get(s, "QID1", &msg, &len, &meta), 1);
	assert_int_equal(len, sizeof(part1) + sizeof(part2));
	assert_memory_equal(msg, part1, sizeof(part1));
	assert_memory_equal(msg + sizeof(part1), part2, sizeof(part2));
	assert_non_null(strstr(meta, "spam@example.org"));
	free(msg);
	free(meta);
	assert_int_equal(pgstore_quarantine_list(s, NULL, &json), 0);
	assert_non_null(strstr(json, "\"qid\":\"QID1\""));
	assert_non_null(strstr(json, "\"size\":73000"));
	free(json);
	/* the same qid twice is refused, not overwritten */
	assert_int_equal(pgstore_quarantine_put(s, "QID1", "{}", iov, 1, err,
						sizeof(err)), -1);
	assert_int_equal(pgstore_quarantine_delete(s, "QID1", "tester"), 1);
	assert_int_equal(pgstore_quarantine_get(s, "QID1", &msg, &len, &meta), 0);
	assert_int_equal(pgstore_quarantine_delete(s, "QID1", "tester"), 0);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM audit_log WHERE"
				      " actor = 'tester' AND action = 'quarantine.delete'"
				      " AND detail->>'qid' = 'QID1'"), 1);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM quarantine WHERE"
				      " released_by = 'tester' AND deleted"), 1);
	pgstore_close(s);
	PQfinish(c);
}

struct notified {
	pthread_mutex_t lock;
	char payload[64];
};

/* on_rules - the listener's callback */
static void on_rules(void *ctx, const char *payload)
{
	struct notified *n = ctx;

	pthread_mutex_lock(&n->lock);
	snprintf(n->payload, sizeof(n->payload), "%s", payload);
	pthread_mutex_unlock(&n->lock);
}

/* got_v2 - the notification arrived */
static int got_v2(void *arg)
{
	struct notified *n = arg;
	int ok;

	pthread_mutex_lock(&n->lock);
	ok = strcmp(n->payload, "v2") == 0;
	pthread_mutex_unlock(&n->lock);
	return ok;
}

/* test_rules_activation_notifies_listeners_and_is_audited */
static void test_rules_activation_notifies_listeners_and_is_audited(void **state)
{
	PGconn *c;
	struct pgstore *s = open_store("rules", &c);
	struct notified n = { PTHREAD_MUTEX_INITIALIZER, "" };
	char version[PGSTORE_VERSION_MAX];
	void *blob = NULL;
	size_t len = 0;

	assert_non_null(s);
	assert_int_equal(pgstore_rules_get(s, NULL, &blob, &len, version,
					   sizeof(version)), 0);
	assert_int_equal(pgstore_listen(s, PGSTORE_RULES_CHANNEL, on_rules, &n), 0);
	assert_int_equal(pgstore_listen(s, "bad channel; DROP", on_rules, &n), -1);
	assert_int_equal(pgstore_rules_put(s, "v1", "one\0x", 5, "alice"), 0);
	assert_int_equal(pgstore_rules_put(s, "v2", "two", 3, "alice"), 0);
	assert_int_equal(pgstore_rules_put(s, "v2", "two", 3, "bob"), 0);
	assert_int_equal(pgstore_rules_set_active(s, "v1", "alice"), 0);
	assert_int_equal(pgstore_rules_set_active(s, "v2", "alice"), 0);
	assert_true(pgtest_wait(got_v2, &n, 5000));
	assert_int_equal(pgstore_rules_get(s, NULL, &blob, &len, version,
					   sizeof(version)), 1);
	assert_string_equal(version, "v2");
	assert_int_equal(len, 3);
	assert_memory_equal(blob, "two", 3);
	free(blob);
	assert_int_equal(pgstore_rules_get(s, "v1", &blob, &len, NULL, 0), 1);
	assert_int_equal(len, 5);
	assert_memory_equal(blob, "one\0x", 5);
	free(blob);
	/* no callback after unlisten */
	assert_int_equal(pgstore_unlisten(s, PGSTORE_RULES_CHANNEL, on_rules, &n), 0);
	assert_int_equal(pgstore_unlisten(s, PGSTORE_RULES_CHANNEL, on_rules, &n), -1);
	assert_int_equal(pgstore_rules_set_active(s, "v1", "alice"), 0);
	nanosleep(&(struct timespec){ 0, 300 * 1000 * 1000 }, NULL);
	assert_true(got_v2(&n));
	/* listening again on the same connection works */
	assert_int_equal(pgstore_listen(s, PGSTORE_RULES_CHANNEL, on_rules, &n), 0);
	assert_int_equal(pgstore_rules_set_active(s, "v2", "alice"), 0);
	pthread_mutex_lock(&n.lock);
	n.payload[0] = 0;
	pthread_mutex_unlock(&n.lock);
	assert_int_equal(pgstore_rules_set_active(s, "v1", "alice"), 0);
	assert_int_equal(pgstore_rules_set_active(s, "v2", "alice"), 0);
	assert_true(pgtest_wait(got_v2, &n, 5000));
	errno = 0;
	assert_int_equal(pgstore_rules_set_active(s, "v9", "alice"), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM rule_versions"
				      " WHERE active"), 1);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM audit_log WHERE"
				      " action IN ('rules.put', 'rules.activate')"), 8);
	assert_int_equal(pgstore_audit(s, "carol", "config.read",
				       "{\"what\":\"all\"}"), 0);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM audit_log WHERE"
				      " actor = 'carol' AND node = 'node-a'"), 1);
	pgstore_close(s);
	PQfinish(c);
}

/* test_spool_keeps_lines_across_reopen_and_skips_a_torn_line */
static void test_spool_keeps_lines_across_reopen_and_skips_a_torn_line(void **state)
{
	char dir[PATH_MAX + 32], err[256], path[PATH_MAX + 128], *buf;
	char *lines[] = { "one", "two", "three" };
	struct spool *sp;
	size_t len;
	uint64_t id;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/spool-unit", T.dir);
	sp = spool_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(sp);
	assert_int_equal(spool_append(sp, lines, 3), 3);
	spool_close(sp);
	snprintf(path, sizeof(path), "%s/spool-%020d.jsonl", dir, 1);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("torn", f);	/* a crash in the middle of a line */
	fclose(f);
	sp = spool_open(dir, 1 << 20, err, sizeof(err));
	assert_non_null(sp);
	assert_int_equal(spool_bytes(sp), 18);
	assert_int_equal(spool_next(sp, &buf, &len, &id), 1);
	assert_int_equal(len, 18);
	assert_memory_equal(buf, "one\ntwo\nthree\ntorn", 18);
	free(buf);
	assert_int_equal(spool_done(sp, id), 0);
	assert_int_equal(spool_bytes(sp), 0);
	assert_int_equal(spool_next(sp, &buf, &len, &id), 0);
	spool_close(sp);
}

/* test_spool_bound_refuses_what_does_not_fit */
static void test_spool_bound_refuses_what_does_not_fit(void **state)
{
	char dir[PATH_MAX + 32], err[256];
	char *lines[] = { "aaaa", "bbbb", "cccc" };
	struct spool *sp;

	snprintf(dir, sizeof(dir), "%s/spool-bound", T.dir);
	sp = spool_open(dir, 12, err, sizeof(err));
	assert_non_null(sp);
	assert_int_equal(spool_append(sp, lines, 3), 2);	/* 5 bytes each */
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(spool_append(sp, lines, 1), 0);
	assert_int_equal(spool_bytes(sp), 10);
	spool_close(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrations_from_empty_database_reach_the_latest_version),
		cmocka_unit_test(test_migrations_from_previous_version_keep_the_data),
		cmocka_unit_test(test_two_nodes_migrating_one_database_at_once_do_not_race),
		cmocka_unit_test(test_log_rows_are_batched_and_searchable),
		cmocka_unit_test(test_a_single_row_is_committed_within_a_batch_interval),
		cmocka_unit_test(test_a_slow_database_sends_rows_to_the_spool_and_back),
		cmocka_unit_test(test_quarantine_round_trip_is_byte_identical),
		cmocka_unit_test(test_rules_activation_notifies_listeners_and_is_audited),
		cmocka_unit_test(test_spool_keeps_lines_across_reopen_and_skips_a_torn_line),
		cmocka_unit_test(test_spool_bound_refuses_what_does_not_fit),
	};

	if (!pgtest_have_server())
		return 77;
	return pgtest_run_group(tests, &T);
}
