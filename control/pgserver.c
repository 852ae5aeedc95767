/*
 * pgserver.c - a private PostgreSQL server in a data directory of our own
 *
 *	See pgserver.h. Commands run through fork/exec (no shell), as the
 *	server's user when we are root; their output is read through a
 *	pipe and its tail kept for the error message.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pgserver.h"

#define PGSERVER_CONNINFO_MAX	(PATH_MAX + 128)

struct pgserver {
	char datadir[PATH_MAX];
	char bindir[PATH_MAX];
	char conninfo[PGSERVER_CONNINFO_MAX];
	int started;		/* we started it (not adopted): we stop it */
	uid_t uid;		/* who runs the commands; 0: ourselves */
	gid_t gid;
	char user[64];
};

/* tail_keep - append to a buffer that keeps only the last bytes */
static void tail_keep(char *tail, size_t *n, const char *buf, size_t len)
{
	size_t cap = PGSERVER_OUTPUT_MAX - 1;

	if (len > cap) {
		buf += len - cap;
		len = cap;
	}
	if (*n + len > cap) {
		size_t drop = *n + len - cap;

		memmove(tail, tail + drop, *n - drop);
		*n -= drop;
	}
	memcpy(tail + *n, buf, len);
	*n += len;
	tail[*n] = 0;
}

/* run_cmd - run argv (as the server's user when root); 0 when it exits
 * 0, else -1 with err naming the command, its status and output tail */
static int run_cmd(const struct pgserver *ps, char *const argv[], int quiet,
		   char *err, size_t errlen)
{
	char tail[PGSERVER_OUTPUT_MAX] = "", buf[512];
	size_t tn = 0;
	int pfd[2], status;
	pid_t pid;
	ssize_t r;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe for %s: %s", argv[0], strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork for %s: %s", argv[0], strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul >= 0)
			dup2(nul, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		if (chdir("/") < 0)
			_exit(126);
		if (ps->uid && (setgroups(0, NULL) < 0 || setgid(ps->gid) < 0
				|| setuid(ps->uid) < 0)) {
			fprintf(stderr, "cannot become %s: %s\n", ps->user,
				strerror(errno));
			_exit(126);
		}
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	while ((r = read(pfd[0], buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		tail_keep(tail, &tn, buf, (size_t)r);
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid %s: %s", argv[0], strerror(errno));
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (!quiet) {
		while (tn && (tail[tn - 1] == '\n' || tail[tn - 1] == ' '))
			tail[--tn] = 0;
		snprintf(err, errlen, "%s %s failed (%s %d): %s", argv[0],
			 argv[1] ? argv[1] : "",
			 WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			 tail);
	}
	return WIFEXITED(status) ? -1 - WEXITSTATUS(status) : -1;
}

/* has_cluster - the data directory already holds a cluster */
static int has_cluster(const char *datadir)
{
	char path[PATH_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "%s/PG_VERSION", datadir);
	return stat(path, &st) == 0;
}

/* write_conf - DATADIR/mxgate.conf: Unix socket only, inside datadir */
static int write_conf(const struct pgserver *ps, char *err, size_t errlen)
{
	char path[PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/mxgate.conf", ps->datadir);
	if ((f = fopen(path, "w")) == NULL) {
		snprintf(err, errlen, "create %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "# written by mxgate at every start; changes are lost\n"
		"listen_addresses = ''\n"
		"unix_socket_directories = '%s'\n"
		"unix_socket_permissions = 0700\n"
		"logging_collector = off\n", ps->datadir);
	if (fclose(f) != 0 || (ps->uid && chown(path, ps->uid, ps->gid) < 0)) {
		snprintf(err, errlen, "write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* mkdir_parents - the directories above path, 0755 (the server's user
 * must be able to pass through them) */
static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

/* init_cluster - initdb, then include mxgate.conf from postgresql.conf */
static int init_cluster(struct pgserver *ps, char *err, size_t errlen)
{
	char initdb[PATH_MAX + 16], path[PATH_MAX + 32];
	char *argv[] = { initdb, "-D", ps->datadir, "-U", PGSERVER_SUPERUSER,
		"-A", "trust", "-E", "UTF8", "--no-locale", NULL };
	FILE *f;

	if (mkdir_parents(ps->datadir) < 0
	    || (mkdir(ps->datadir, 0700) < 0 && errno != EEXIST)) {
		snprintf(err, errlen, "create %s: %s", ps->datadir, strerror(errno));
		return -1;
	}
	if ((ps->uid && chown(ps->datadir, ps->uid, ps->gid) < 0)
	    || chmod(ps->datadir, 0700) < 0) {
		snprintf(err, errlen, "give %s to %s: %s", ps->datadir, ps->user,
			 strerror(errno));
		return -1;
	}
	snprintf(initdb, sizeof(initdb), "%s/initdb", ps->bindir);
	if (run_cmd(ps, argv, 0, err, errlen) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/postgresql.conf", ps->datadir);
	if ((f = fopen(path, "a")) == NULL) {
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		return -1;
	}
	fputs("\ninclude_if_exists = 'mxgate.conf'\n", f);
	if (fclose(f) != 0) {
		snprintf(err, errlen, "append to %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* start_server - pg_ctl start, unless one already runs there */
static int start_server(struct pgserver *ps, char *err, size_t errlen)
{
	char pg_ctl[PATH_MAX + 16], log[PATH_MAX + 16], wait_s[16];
	char *status_argv[] = { pg_ctl, "status", "-D", ps->datadir, NULL };
	char *start_argv[] = { pg_ctl, "start", "-D", ps->datadir, "-l", log,
		"-w", "-t", wait_s, NULL };
	int i;

	snprintf(pg_ctl, sizeof(pg_ctl), "%s/pg_ctl", ps->bindir);
	snprintf(log, sizeof(log), "%s/server.log", ps->datadir);
	snprintf(wait_s, sizeof(wait_s), "%d", PGSERVER_START_WAIT_S);
	/* adopt a running server; pg_ctl status alone would also take a
	 * killed postmaster that is not yet reaped for a live one */
	if (run_cmd(ps, status_argv, 1, err, errlen) == 0
	    && PQping(ps->conninfo) == PQPING_OK)
		return 0;
	for (i = 0; i < PGSERVER_START_TRIES; i++) {
		if (run_cmd(ps, start_argv, 0, err, errlen) == 0) {
			ps->started = 1;
			return 0;
		}
		sleep(1);
	}
	return -1;
}

/* create_db - the mxgate database, if missing */
static int create_db(struct pgserver *ps, char *err, size_t errlen)
{
	char ci[PGSERVER_CONNINFO_MAX];
	PGconn *c;
	PGresult *r;
	int rc = -1;

	snprintf(ci, sizeof(ci), "host='%s' dbname=postgres user=%s",
		 ps->datadir, PGSERVER_SUPERUSER);
	c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "connect to the private server in %s: %s",
			 ps->datadir, PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, "SELECT 1 FROM pg_database WHERE datname = '"
		   PGSERVER_DBNAME "'");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "look for database %s: %s", PGSERVER_DBNAME,
			 PQerrorMessage(c));
	} else if (PQntuples(r) == 1) {
		rc = 0;
	} else {
		PQclear(r);
		r = PQexec(c, "CREATE DATABASE " PGSERVER_DBNAME);
		if (PQresultStatus(r) == PGRES_COMMAND_OK
		    || strstr(PQerrorMessage(c), "already exists"))
			rc = 0;
		else
			snprintf(err, errlen, "create database %s: %s",
				 PGSERVER_DBNAME, PQerrorMessage(c));
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}

/* pgserver_start - initdb if needed, start, wait, create the database */
struct pgserver *pgserver_start(const struct pgserver_config *cfg, char *err,
				size_t errlen)
{
	struct pgserver *ps;
	struct sockaddr_un sun;
	const char *user = cfg->user ? cfg->user : PGSERVER_DEFAULT_USER;

	if (cfg->datadir == NULL || cfg->datadir[0] != '/') {
		snprintf(err, errlen, "private PostgreSQL: data directory must be"
			 " an absolute path, not \"%s\"",
			 cfg->datadir ? cfg->datadir : "");
		return NULL;
	}
	/* the socket lives in the data directory: its path must fit */
	if (strlen(cfg->datadir) + sizeof("/.s.PGSQL.5432") > sizeof(sun.sun_path)) {
		snprintf(err, errlen, "private PostgreSQL: data directory %s is"
			 " too long for a Unix socket path", cfg->datadir);
		return NULL;
	}
	if ((ps = calloc(1, sizeof(*ps))) == NULL) {
		snprintf(err, errlen, "private PostgreSQL: %s", strerror(errno));
		return NULL;
	}
	snprintf(ps->datadir, sizeof(ps->datadir), "%s", cfg->datadir);
	snprintf(ps->bindir, sizeof(ps->bindir), "%s",
		 cfg->bindir ? cfg->bindir : PGSERVER_DEFAULT_BINDIR);
	snprintf(ps->user, sizeof(ps->user), "%s", user);
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam(user);

		if (pw == NULL) {
			snprintf(err, errlen, "private PostgreSQL: no system user"
				 " \"%s\" to run it as (initdb refuses root)", user);
			free(ps);
			return NULL;
		}
		ps->uid = pw->pw_uid;
		ps->gid = pw->pw_gid;
	}
	snprintf(ps->conninfo, sizeof(ps->conninfo),
		 "host='%s' dbname=%s user=%s", ps->datadir, PGSERVER_DBNAME,
		 PGSERVER_SUPERUSER);
	if ((!has_cluster(ps->datadir) && init_cluster(ps, err, errlen) < 0)
	    || write_conf(ps, err, errlen) < 0
	    || start_server(ps, err, errlen) < 0
	    || create_db(ps, err, errlen) < 0) {
		free(ps);
		return NULL;
	}
	return ps;
}

/* pgserver_conninfo - how to reach it */
const char *pgserver_conninfo(const struct pgserver *ps)
{
	return ps->conninfo;
}

/* pgserver_pid - the postmaster, from the first line of postmaster.pid */
pid_t pgserver_pid(const struct pgserver *ps)
{
	char path[PATH_MAX + 32];
	long pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/postmaster.pid", ps->datadir);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = -1;
	fclose(f);
	return (pid_t)pid;
}

/* pgserver_stop - pg_ctl stop -m fast, free ps */
void pgserver_stop(struct pgserver *ps)
{
	char pg_ctl[PATH_MAX + 16], err[PGSERVER_OUTPUT_MAX + 256];
	char *argv[] = { pg_ctl, "stop", "-D", NULL, "-m", "fast", "-w", NULL };

	if (ps == NULL)
		return;
	if (!ps->started) {	/* another process's server: leave it running */
		free(ps);
		return;
	}
	argv[3] = ps->datadir;
	snprintf(pg_ctl, sizeof(pg_ctl), "%s/pg_ctl", ps->bindir);
	if (run_cmd(ps, argv, 0, err, sizeof(err)) < 0)
		fprintf(stderr, "mxgate: stopping the private PostgreSQL: %s\n", err);
	free(ps);
}
