/*
 * rulesmgr_int.h - private to control/rulesmgr*.c
 *
 *	void rm_log(struct rulesmgr *rm, const char *fmt, ...);
 *	int rm_publish(struct rulesmgr *rm, const char *dir, const char *actor,
 *			int flags, struct rules_error *err);	(lock held)
 *	void rm_rmdir(const char *dir);
 *	void rms_put(struct rulesmgr *rm, const char *dir, const char *actor);
 *	void rms_stop(struct rulesmgr *rm);
 *
 * DESCRIPTION
 *	rulesmgr.c keeps versions and talks to the workers; rulesmgr_store.c
 *	shares published versions with other nodes through the store.
 */
#ifndef MX_RULESMGR_INT_H
#define MX_RULESMGR_INT_H

#include <limits.h>
#include <pthread.h>

#include "rulesmgr.h"

#define RULESMGR_ACTOR_MAX	64	/* bytes of an actor name, kept */
#define RULESMGR_LINE_MAX	(PATH_MAX + 64)	/* history/request line */
#define RULESMGR_FILE_MAX	(16u << 20)	/* one copied rules file */
#define RULESMGR_HISTORY_MAX	1000	/* lines read from history */

struct rulesmgr_version {
	char    version[RULESMGR_VERSION_MAX];
	size_t  nrules;
	long long published_ms;
	char    actor[RULESMGR_ACTOR_MAX];
};

struct rulesmgr {
	struct rulesmgr_config cfg;
	struct rulesmgr_hooks hooks;
	struct pgstore *store;
	char   *state_dir;		/* NULL: nothing kept on disk */
	char   *rules_dir;
	char   *bundle_url, *bundle_ca, *bundle_key;
	pthread_mutex_t lock;
	struct ruleset *running;
	const struct ruleset *borrowed;	/* the daemon's start-up set */
	char    version[RULESMGR_VERSION_MAX];	/* under lock */
	char    pub[2][RULESMGR_VERSION_MAX];	/* rulesmgr_version() */
	int     pub_cur;
	struct rulesmgr_version *hist;	/* oldest first; last is running */
	size_t  nhist;
	pthread_t fetcher;
	int     fetcher_on;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	int     stopping;
	/* the shared store (rulesmgr_store.c) */
	pthread_t follower;
	int     follower_on;
	int     follow_pending;
	int     follow_stop;
	char    follow[RULESMGR_VERSION_MAX];	/* NOTIFY'd version */
};

/* rm_publish flags */
#define RM_KEEP_COPY	1	/* copy dir under state_dir/rules/<v> */
#define RM_TO_STORE	2	/* share the version through the store */

void rm_log(struct rulesmgr *rm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int rm_publish(struct rulesmgr *rm, const char *dir, const char *actor,
	       int flags, struct rules_error *err);
void rm_rmdir(const char *dir);
void rms_put(struct rulesmgr *rm, const char *dir, const char *actor);
void rms_stop(struct rulesmgr *rm);

#endif
