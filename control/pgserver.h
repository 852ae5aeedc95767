/*
 * pgserver.h - a private PostgreSQL server in a data directory of our own
 *
 *	struct pgserver *pgserver_start(const struct pgserver_config *cfg,
 *			char *err, size_t errlen);
 *	const char *pgserver_conninfo(const struct pgserver *ps);
 *	pid_t pgserver_pid(const struct pgserver *ps);
 *	void pgserver_stop(struct pgserver *ps);
 *
 * DESCRIPTION
 *	The built-in default of mxgate needs no database set-up: with no
 *	connection string configured the store runs its own PostgreSQL.
 *
 *	pgserver_start() runs initdb into cfg->datadir when it holds no
 *	cluster yet (creating it, mode 0700), writes DATADIR/mxgate.conf
 *	(no TCP at all: listen_addresses = '', the Unix socket inside the
 *	data directory, mode 0700) and starts the server with pg_ctl,
 *	waiting until it accepts connections; a server already running in
 *	that directory is adopted. It then creates the database
 *	PGSERVER_DBNAME if missing. Authentication is "trust" on the
 *	socket: only the server's user and root can reach the socket, the
 *	directory being 0700.
 *
 *	initdb refuses to run as root: when we are root, every command runs
 *	as cfg->user (default PGSERVER_DEFAULT_USER, the account of
 *	Debian's postgresql package), which then owns the data directory.
 *	Otherwise they run as ourselves.
 *
 *	pgserver_conninfo() is the libpq connection string for it;
 *	pgserver_pid() the postmaster's pid (tests kill it);
 *	pgserver_stop() stops the server (pg_ctl stop -m fast) if this
 *	handle started it, and frees ps: a server adopted from another
 *	process (two daemons sharing one data directory) stays up for it.
 *
 * DIAGNOSTICS
 *	pgserver_start() returns NULL with err naming the command that
 *	failed, its exit status and the last lines of its output.
 */
#ifndef MX_PGSERVER_H
#define MX_PGSERVER_H

#include <stddef.h>
#include <sys/types.h>

#define PGSERVER_DEFAULT_BINDIR	"/usr/lib/postgresql/15/bin"
#define PGSERVER_DEFAULT_USER	"postgres"
#define PGSERVER_DBNAME		"mxgate"
#define PGSERVER_SUPERUSER	"mxgate"	/* the cluster's role */
#define PGSERVER_START_WAIT_S	60	/* pg_ctl -t */
#define PGSERVER_START_TRIES	5	/* a killed server's backends may
					 * still hold its shared memory */
#define PGSERVER_OUTPUT_MAX	1024	/* command output kept for errors */

struct pgserver_config {
	const char *datadir;
	const char *user;	/* NULL: PGSERVER_DEFAULT_USER (root only) */
	const char *bindir;	/* NULL: PGSERVER_DEFAULT_BINDIR */
};

struct pgserver;

struct pgserver *pgserver_start(const struct pgserver_config *cfg, char *err,
				size_t errlen);
const char *pgserver_conninfo(const struct pgserver *ps);
pid_t pgserver_pid(const struct pgserver *ps);
void pgserver_stop(struct pgserver *ps);

#endif
