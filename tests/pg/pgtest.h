/*
 * pgtest.h - helpers for the PostgreSQL tests: a private server in a
 *	temporary directory, databases, message log entries
 *
 *	int pgtest_server_up(struct pgtest *t);
 *	void pgtest_server_down(struct pgtest *t);
 *	PGconn *pgtest_db(struct pgtest *t, const char *name, char *conninfo,
 *			size_t len);
 *	long pgtest_count(PGconn *c, const char *sql);
 *	void pgtest_entry(struct msglog_entry *e, struct envelope *env,
 *			const char *const *rcpt, const char *qid,
 *			const char *sender);
 *	int pgtest_wait(int (*done)(void *), void *arg, int ms);
 *	int pgtest_have_server(void);
 *	int pgtest_run_group(const struct CMUnitTest tests[],
 *			struct pgtest *t);			(a macro)
 *
 * DESCRIPTION
 *	The server runs from a fresh directory under /tmp (0755, so that the
 *	server's user can reach it when the test runs as root). Each test
 *	makes its own database with pgtest_db(), so tests do not see each
 *	other's rows.
 *
 *	pgtest_have_server() says SKIP and returns 0 when PostgreSQL's
 *	programs are not installed (main then exits 77, meson's "skipped").
 *	pgtest_run_group() runs a cmocka group around one server in *t,
 *	started before the first test and removed after the last.
 */
#ifndef MX_PGTEST_H
#define MX_PGTEST_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "msglog.h"
#include "pgserver.h"

struct pgtest {
	char dir[PATH_MAX];
	char datadir[PATH_MAX + 8];
	struct pgserver *server;
};

/* pgtest_server_up - a temporary directory and a server in it */
static inline int pgtest_server_up(struct pgtest *t)
{
	struct pgserver_config pc = { 0 };
	char err[2048];

	snprintf(t->dir, sizeof(t->dir), "/tmp/mxpg.XXXXXX");
	if (mkdtemp(t->dir) == NULL || chmod(t->dir, 0755) < 0)
		return -1;
	snprintf(t->datadir, sizeof(t->datadir), "%s/pg", t->dir);
	pc.datadir = t->datadir;
	if ((t->server = pgserver_start(&pc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pgtest: %s\n", err);
		return -1;
	}
	return 0;
}

/* pgtest_server_down - stop the server, remove the directory */
static inline void pgtest_server_down(struct pgtest *t)
{
	char cmd[PATH_MAX + 16];

	if (t->server)
		pgserver_stop(t->server);
	t->server = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (t->dir[0] && system(cmd) != 0)
		fprintf(stderr, "pgtest: could not remove %s\n", t->dir);
}

/* pgtest_db - a new empty database; its conninfo, and a connection */
static inline PGconn *pgtest_db(struct pgtest *t, const char *name,
				char *conninfo, size_t len)
{
	char sql[128];
	PGconn *admin = PQconnectdb(pgserver_conninfo(t->server));
	PGresult *r;
	PGconn *c;

	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	r = PQexec(admin, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fprintf(stderr, "pgtest: %s: %s", sql, PQerrorMessage(admin));
	PQclear(r);
	PQfinish(admin);
	snprintf(conninfo, len, "host='%s' dbname=%s user=%s", t->datadir, name,
		 PGSERVER_SUPERUSER);
	c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK)
		fprintf(stderr, "pgtest: connect %s: %s", conninfo, PQerrorMessage(c));
	return c;
}

/* pgtest_count - the first cell of a query as a number, -1 on error */
static inline long pgtest_count(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	long n = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		n = atol(PQgetvalue(r, 0, 0));
	else
		fprintf(stderr, "pgtest: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return n;
}

/* pgtest_entry - a message log entry without a verdict */
static inline void pgtest_entry(struct msglog_entry *e, struct envelope *env,
				const char *const *rcpt, const char *qid,
				const char *sender)
{
	memset(env, 0, sizeof(*env));
	env->client_addr = "198.18.0.2";
	env->client_name = "";
	env->helo = "client.example";
	env->mail_from = sender;
	env->rcpt = rcpt;
	env->nrcpt = 1;
	memset(e, 0, sizeof(*e));
	e->qid = qid;
	e->env = env;
	e->client_port = 40000;
	e->size = 1234;
	e->action = "pass";
	e->reply_code = 250;
	e->reply_text = "2.0.0 Ok: queued";
	e->rules_version = "test";
	e->total_ms = 1.5;
}

/* pgtest_wait - poll done() every 10 ms for up to ms: 1 when done */
static inline int pgtest_wait(int (*done)(void *), void *arg, int ms)
{
	struct timespec ten = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < ms / 10; i++) {
		if (done(arg))
			return 1;
		nanosleep(&ten, NULL);
	}
	return done(arg);
}

/* pgtest_have_server - PostgreSQL's programs are there; else says SKIP */
static inline int pgtest_have_server(void)
{
	if (access(PGSERVER_DEFAULT_BINDIR "/initdb", X_OK) == 0)
		return 1;
	printf("SKIP: no PostgreSQL in %s\n", PGSERVER_DEFAULT_BINDIR);
	return 0;
}

/* pgtest_group - the server pgtest_run_group() starts for its group */
static inline struct pgtest **pgtest_group(void)
{
	static struct pgtest *t;

	return &t;
}

/* pgtest_group_up - cmocka group set-up: the group's server */
static inline int pgtest_group_up(void **state)
{
	(void)state;
	return pgtest_server_up(*pgtest_group());
}

/* pgtest_group_down - cmocka group tear-down: stop it, remove its directory */
static inline int pgtest_group_down(void **state)
{
	(void)state;
	pgtest_server_down(*pgtest_group());
	return 0;
}

/* pgtest_run_group - the tests around one server in *t (needs cmocka.h) */
#define pgtest_run_group(tests, t) \
	(*pgtest_group() = (t), \
	 cmocka_run_group_tests(tests, pgtest_group_up, pgtest_group_down))

#endif
