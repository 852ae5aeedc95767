/*
 * rulesmgr.h - publish, keep and roll back rule set versions in a daemon
 *
 *	void rulesmgr_config_default(struct rulesmgr_config *cfg);
 *	struct rulesmgr *rulesmgr_new(const struct rulesmgr_config *cfg,
 *			const struct rulesmgr_hooks *hooks, struct pgstore *store,
 *			char *err, size_t errlen);
 *	void rulesmgr_free(struct rulesmgr *rm);
 *	int rulesmgr_publish_dir(struct rulesmgr *rm, const char *dir,
 *			const char *actor, char *version_out, size_t vlen,
 *			struct rules_error *err);
 *	int rulesmgr_publish_version(struct rulesmgr *rm, const char *version,
 *			const char *actor, struct rules_error *err);
 *	int rulesmgr_rollback(struct rulesmgr *rm, const char *actor,
 *			char *version_out, size_t vlen, struct rules_error *err);
 *	int rulesmgr_fetch(struct rulesmgr *rm, const char *url, char *err,
 *			size_t errlen);
 *	int rulesmgr_hup(struct rulesmgr *rm);
 *	int rulesmgr_attach_store(struct rulesmgr *rm, struct pgstore *store);
 *	const char *rulesmgr_version(const struct rulesmgr *rm);
 *	int rulesmgr_versions_json(struct rulesmgr *rm, char **json);
 *	int rulesmgr_rules_json(struct rulesmgr *rm, char **json);
 *
 * DESCRIPTION
 *	One rules manager per daemon, in the control plane (never on an
 *	lcore or a socket-mode worker thread). Every entry point may be
 *	called from any control thread (management API, SIGHUP, scheduled
 *	fetch, the store's LISTEN thread): they are serialised inside.
 *
 *	rulesmgr_publish_dir() reads, checks and compiles the *.rules files
 *	of dir (rules_load_dir), copies them to state_dir/rules/<version>/,
 *	and hands the compiled set to hooks->swap. The swap hook installs it
 *	in every worker (they switch at their next message start; a message
 *	in progress ends on the set it began with) and returns only when no
 *	worker can still touch the previous set, which it gives back in *old;
 *	the manager then frees it. A set refused by the compiler or by the
 *	hook changes nothing. The published version is written to the log
 *	("rules: published VERSION (N rules) in X ms"), to the version
 *	history (state_dir/rules/history) and, with a store, to PostgreSQL
 *	(rules_put + rules_set_active, which NOTIFYs the other nodes).
 *
 *	rulesmgr_publish_version() publishes a version already kept under
 *	state_dir/rules/ by its name. rulesmgr_rollback() publishes the version
 *	before the running one in the history and removes the running one
 *	from it, so repeated rollbacks walk back.
 *
 *	rulesmgr_fetch() downloads a signed bundle (control/bundle.h) from
 *	url (NULL: cfg->bundle_url) over HTTPS, verifies the server against
 *	cfg->bundle_ca and the Ed25519 signature against cfg->bundle_key
 *	before anything parses it, unpacks it and publishes it. With
 *	cfg->bundle_interval_s > 0 the manager fetches on its own thread
 *	every that many seconds (an unchanged version is not re-published).
 *
 *	rulesmgr_hup() is what a daemon does on SIGHUP (from a control
 *	thread, never in the signal handler): carry out the request that
 *	`mxgate rules` left in state_dir/rules/request ("publish DIR",
 *	"rollback", "fetch [URL]"; the answer goes to state_dir/rules/reply
 *	as "ok VERSION" or "error TEXT"), or with no request re-read
 *	cfg->rules_dir. This is the operator's path until the management API
 *	carries the same requests, and stays one.
 *
 *	rulesmgr_attach_store() shares versions with the other gateways of
 *	one database from then on (rulesmgr_store.c): every publish here is
 *	stored and made active (NOTIFY mxgate_rules), and a version made
 *	active elsewhere is fetched and published here within seconds (not
 *	written back). rulesmgr_attach_store(rm, NULL) stops following: call
 *	it before the store is closed. A store given to rulesmgr_new() is
 *	attached the same way.
 *
 *	rulesmgr_version() is the running version (16 hex digits, as
 *	rules_version()); the string stays valid until the next publish.
 *	rulesmgr_versions_json() gives the kept versions, newest first:
 *	[{"version":..,"rules":N,"published_ms":..,"actor":..,"running":b}];
 *	rulesmgr_rules_json() the running set: {"version":..,"files":[..],
 *	"rules":[{"id":..,"scope":..,"file":..,"line":N}]}. Both malloc'd.
 *
 *	The set the daemon started with (cfg->rules) stays the daemon's: the
 *	manager never frees it. Every set it loaded itself it frees, the
 *	running one in rulesmgr_free(), which must come after the workers
 *	stopped.
 *
 * CONFIGURATION (struct rulesmgr_config; defaults in brackets)
 *	state_dir	versions kept under state_dir/rules/ [none: no copies,
 *			rollback only to versions seen since start]
 *	rules_keep	versions kept [RULESMGR_KEEP_DEFAULT]
 *	rules_bundle_url	https URL of the signed bundle [none]
 *	rules_bundle_ca		CA file the server must chain to [none: refuse]
 *	rules_bundle_key	PEM Ed25519 public key of the signer [none: refuse]
 *	rules_bundle_interval	seconds between scheduled fetches [0: off]
 *	rules_fetch_timeout_ms	connect + download limit
 *			[RULESMGR_FETCH_TIMEOUT_MS_DEFAULT]
 *
 * DIAGNOSTICS
 *	Functions returning int return 0 on success and -1 on failure with
 *	err filled: for a refused rule set the file, line and reason of
 *	rules_error (line 0 when not one line's); for the hook, the store or
 *	the network, file "" and the reason. rulesmgr_new() returns NULL and
 *	fills err. Every outcome is logged on cfg->log.
 */
#ifndef MX_RULESMGR_H
#define MX_RULESMGR_H

#include <stddef.h>
#include <stdio.h>

#include "rules.h"

#define RULESMGR_VERSION_MAX		32	/* incl. NUL; versions are 16 hex */
#define RULESMGR_KEEP_DEFAULT		20	/* versions kept in state_dir */
#define RULESMGR_FETCH_TIMEOUT_MS_DEFAULT 10000
#define RULESMGR_BUNDLE_MAX_DEFAULT	(64u << 20)	/* bytes of a bundle */

struct pgstore;
struct ruleset;

struct rulesmgr_hooks {
	/* install next in every worker; return when none uses the previous
	 * set any more, given back in *old; -1 (nothing changed) to refuse */
	int     (*swap)(void *ctx, struct ruleset *next, struct ruleset **old);
	void   *ctx;
};

struct rulesmgr_config {
	const char *daemon;		/* log prefix: "mxgate-dp" */
	const char *state_dir;		/* NULL or "": nothing kept on disk */
	const char *node;		/* this gateway in the store */
	const char *rules_dir;		/* where the running set came from */
	const struct ruleset *rules;	/* the running set, not owned */
	unsigned keep;			/* 0: RULESMGR_KEEP_DEFAULT */
	const char *bundle_url;		/* NULL: no scheduled fetch */
	const char *bundle_ca;
	const char *bundle_key;
	unsigned bundle_interval_s;	/* 0: fetch only when asked */
	unsigned fetch_timeout_ms;	/* 0: the default */
	size_t  bundle_max;		/* 0: RULESMGR_BUNDLE_MAX_DEFAULT */
	FILE   *log;			/* NULL: stderr */
};

struct rulesmgr;

void rulesmgr_config_default(struct rulesmgr_config *cfg);
struct rulesmgr *rulesmgr_new(const struct rulesmgr_config *cfg,
			      const struct rulesmgr_hooks *hooks,
			      struct pgstore *store, char *err, size_t errlen);
void rulesmgr_free(struct rulesmgr *rm);
int rulesmgr_publish_dir(struct rulesmgr *rm, const char *dir,
			 const char *actor, char *version_out, size_t vlen,
			 struct rules_error *err);
int rulesmgr_publish_version(struct rulesmgr *rm, const char *version,
			     const char *actor, struct rules_error *err);
int rulesmgr_rollback(struct rulesmgr *rm, const char *actor,
		      char *version_out, size_t vlen, struct rules_error *err);
int rulesmgr_fetch(struct rulesmgr *rm, const char *url, char *err,
		   size_t errlen);
int rulesmgr_hup(struct rulesmgr *rm);
int rulesmgr_attach_store(struct rulesmgr *rm, struct pgstore *store);
const char *rulesmgr_version(const struct rulesmgr *rm);
int rulesmgr_versions_json(struct rulesmgr *rm, char **json);
int rulesmgr_rules_json(struct rulesmgr *rm, char **json);

#endif
