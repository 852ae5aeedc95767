/*
 * test_pg_outage.c - the store when PostgreSQL dies, stops or hangs
 *
 *	The store runs its own private server here (conninfo NULL), which
 *	the tests kill -9, stop and SIGSTOP: log rows written meanwhile are
 *	spooled and replayed exactly once; quarantine fails fast (the caller
 *	answers 451) and works again once the server is back.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgstore.h"
#include "pgtest.h"

#define STREAM_ROWS	3000
#define KILL_AT		1000
#define RESTART_AT	2000
#define QUARANTINE_TIMEOUT_MS	500

struct outage {
	char dir[PATH_MAX];
	char datadir[PATH_MAX + 8];
	char spool[PATH_MAX + 8];
	struct pgstore *s;
	struct pgserver *again;		/* the server we restarted */
};

static struct outage O;

/* postmaster - its pid, from postmaster.pid */
static pid_t postmaster(void)
{
	char path[PATH_MAX + 32];
	long pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/postmaster.pid", O.datadir);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = -1;
	fclose(f);
	return (pid_t)pid;
}

/* signal_cluster - sig to the postmaster and every child of it */
static void signal_cluster(int sig)
{
	pid_t pm = postmaster();
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (pm <= 0) {
		if (d)
			closedir(d);
		return;
	}
	while (d && (de = readdir(d)) != NULL) {
		char path[300];
		long ppid = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		/* pid (comm) state ppid: comm holds no ')' for postgres */
		if (fscanf(f, "%*d (%*[^)]) %*c %ld", &ppid) == 1 && ppid == pm)
			kill((pid_t)atol(de->d_name), sig);
		fclose(f);
	}
	if (d)
		closedir(d);
	kill(pm, sig);
}

/* reap - collect the killed server's processes: they were orphaned to
 * us (a child subreaper), since this machine's init may never reap them
 * and a zombie postmaster blocks a new one */
static void reap(pid_t pm)
{
	struct timespec ten = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 500; i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (pm <= 0 || (kill(pm, 0) < 0 && errno == ESRCH))
			return;
		nanosleep(&ten, NULL);
	}
}

/* restart - start the server again in the same directory */
static void restart(void)
{
	struct pgserver_config pc = { .datadir = O.datadir };
	char err[2048];

	reap(postmaster());
	if (O.again)
		pgserver_stop(O.again);
	O.again = pgserver_start(&pc, err, sizeof(err));
	if (O.again == NULL)
		fprintf(stderr, "restart: %s\n", err);
	assert_non_null(O.again);
}

/* drained - nothing queued, nothing spooled */
static int drained(void *arg)
{
	struct pgstore_stats st;

	pgstore_stats(O.s, &st);
	return st.queued == 0 && st.spool_pending_bytes == 0 && st.connected;
}

/* test_log_rows_survive_a_killed_postmaster_exactly_once */
static void test_log_rows_survive_a_killed_postmaster_exactly_once(void **state)
{
	static const char *rcpt[] = { "user@example.net" };
	struct timespec ms = { 0, 1000 * 1000 };
	struct pgstore_stats st;
	struct msglog_entry e;
	struct envelope env;
	char qid[32], ci[PATH_MAX + 64];
	PGconn *c;
	int i;

	for (i = 0; i < STREAM_ROWS; i++) {
		if (i == KILL_AT)
			assert_int_equal(kill(postmaster(), SIGKILL), 0);
		if (i == RESTART_AT)
			restart();
		snprintf(qid, sizeof(qid), "K%05d", i);
		pgtest_entry(&e, &env, rcpt, qid, "stream@example.org");
		assert_int_equal(pgstore_log(O.s, &e), 0);
		nanosleep(&ms, NULL);
	}
	assert_true(pgtest_wait(drained, NULL, 30000));
	pgstore_stats(O.s, &st);
	assert_true(st.spooled > 0);		/* the outage was real */
	assert_int_equal(st.dropped, 0);
	snprintf(ci, sizeof(ci), "host='%s' dbname=%s user=%s", O.datadir,
		 PGSERVER_DBNAME, PGSERVER_SUPERUSER);
	c = PQconnectdb(ci);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	assert_int_equal(pgtest_count(c, "SELECT count(*) FROM message_log"
				      " WHERE qid LIKE 'K%'"), STREAM_ROWS);
	assert_int_equal(pgtest_count(c, "SELECT count(DISTINCT qid) FROM"
				      " message_log WHERE qid LIKE 'K%'"),
			 STREAM_ROWS);
	PQfinish(c);
}

/* put - one quarantine put; its duration in *ms */
static int put(const char *qid, long *ms)
{
	struct iovec iov = { "Subject: x\r\n\r\nbody\r\n", 21 };
	struct timespec a, b;
	char err[512];
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = pgstore_quarantine_put(O.s, qid, "{\"from\":\"a@example.org\"}",
				    &iov, 1, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &b);
	*ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	if (rc < 0)
		fprintf(stderr, "quarantine %s: %s (%ld ms)\n", qid, err, *ms);
	return rc;
}

/* test_quarantine_fails_fast_when_the_database_is_down_or_hung */
static void test_quarantine_fails_fast_when_the_database_is_down_or_hung(void **state)
{
	struct timespec back = { PGSTORE_RECONNECT_MS / 1000 + 1, 0 };
	long ms;

	if (O.again == NULL)
		restart();
	assert_int_equal(put("QUP1", &ms), 0);
	/* hung: every server process stopped */
	signal_cluster(SIGSTOP);
	assert_int_equal(put("QHUNG", &ms), -1);
	assert_true(ms < QUARANTINE_TIMEOUT_MS + 1000);
	assert_int_equal(put("QHUNG2", &ms), -1);	/* backing off */
	assert_true(ms < 100);
	signal_cluster(SIGCONT);
	nanosleep(&back, NULL);
	assert_int_equal(put("QUP2", &ms), 0);
	/* down: stopped cleanly, no socket */
	pgserver_stop(O.again);
	O.again = NULL;
	assert_int_equal(put("QDOWN", &ms), -1);
	assert_true(ms < 1000);
	restart();
	nanosleep(&back, NULL);
	assert_int_equal(put("QUP3", &ms), 0);
}

/* setup - a store with its own private server */
static int setup(void **state)
{
	struct pgstore_config cfg = { 0 };
	char err[2048];

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return -1;
	snprintf(O.dir, sizeof(O.dir), "/tmp/mxpgo.XXXXXX");
	if (mkdtemp(O.dir) == NULL || chmod(O.dir, 0755) < 0)
		return -1;
	snprintf(O.datadir, sizeof(O.datadir), "%s/pg", O.dir);
	snprintf(O.spool, sizeof(O.spool), "%s/spool", O.dir);
	cfg.datadir = O.datadir;
	cfg.spool_dir = O.spool;
	cfg.node = "outage";
	cfg.batch_ms = 20;
	cfg.quarantine_timeout_ms = QUARANTINE_TIMEOUT_MS;
	if ((O.s = pgstore_open(&cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pgstore_open: %s\n", err);
		return -1;
	}
	return 0;
}

/* teardown - close the store (it stops the server), remove the files */
static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	signal_cluster(SIGCONT);
	pgstore_close(O.s);
	if (O.again)
		pgserver_stop(O.again);	/* already stopped: says so */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", O.dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_rows_survive_a_killed_postmaster_exactly_once),
		cmocka_unit_test(test_quarantine_fails_fast_when_the_database_is_down_or_hung),
	};

	if (!pgtest_have_server())
		return 77;
	return cmocka_run_group_tests(tests, setup, teardown);
}
