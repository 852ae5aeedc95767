/*
 * rulesmgr_store.c - rule versions shared by several gateways through the
 *	PostgreSQL store
 *
 *	int rulesmgr_attach_store(struct rulesmgr *rm, struct pgstore *store);
 *	void rms_put(struct rulesmgr *rm, const char *dir, const char *actor);
 *	void rms_stop(struct rulesmgr *rm);
 *
 * DESCRIPTION
 *	A publish on one node (API, CLI, SIGHUP, bundle fetch, rollback)
 *	stores the version's files as one archive (the bundle format of
 *	bundle.h, unsigned: the database is already the trusted shared
 *	store) with pgstore_rules_put() and makes it active with
 *	pgstore_rules_set_active(), which NOTIFYs mxgate_rules with the
 *	version. Every node LISTENs (rulesmgr_attach_store): the store's
 *	listener thread only records the version and wakes the manager's
 *	follower thread, which fetches the archive (pgstore_rules_get),
 *	unpacks it under state_dir/rules/<version>/ and publishes it to its
 *	own workers without writing it back. The node that published
 *	receives its own NOTIFY and finds the version already running.
 *	Only the newest NOTIFY'd version is followed when several arrive
 *	while one is being compiled.
 *
 *	A node that was down during a publish learns the next one; it does
 *	not adopt the active version at start (its rules directory wins
 *	until the next publish).
 *
 * DIAGNOSTICS
 *	Store failures are logged ("rules: store: ..."); they never undo a
 *	local publish.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "pgstore.h"
#include "rulesmgr_int.h"

/* rms_put - share a version just published locally */
void rms_put(struct rulesmgr *rm, const char *dir, const char *actor)
{
	char    err[512], kept[PATH_MAX];
	char   *buf;
	size_t  len;
	struct stat st;

	/* the kept copy holds exactly the files that were compiled */
	if (rm->state_dir != NULL) {
		snprintf(kept, sizeof(kept), "%s/rules/%s", rm->state_dir,
			 rm->version);
		if (stat(kept, &st) == 0)
			dir = kept;
	}
	if (bundle_pack(dir, &buf, &len, err, sizeof(err)) < 0) {
		rm_log(rm, "store: cannot pack %s: %s", rm->version, err);
		return;
	}
	if (pgstore_rules_put(rm->store, rm->version, buf, len, actor) < 0
	    || pgstore_rules_set_active(rm->store, rm->version, actor) < 0)
		rm_log(rm, "store: %s not shared with the other nodes: %s",
		       rm->version, strerror(errno));
	else
		rm_log(rm, "store: %s is the active version of every node",
		       rm->version);
	free(buf);
}

/* rms_unpack - a stored version's files under state_dir/rules/<v> (or a
 * temporary folder without state_dir); the folder in dir */
static int rms_unpack(struct rulesmgr *rm, const char *v, const void *blob,
		      size_t len, char *dir, size_t dlen, int *temp)
{
	char    tmp[PATH_MAX], err[512];
	struct stat st;

	*temp = rm->state_dir == NULL;
	if (!*temp) {
		snprintf(dir, dlen, "%s/rules/%s", rm->state_dir, v);
		if (stat(dir, &st) == 0)
			return 0;
		snprintf(tmp, sizeof(tmp), "%s/rules/.store.XXXXXX", rm->state_dir);
	} else {
		snprintf(tmp, sizeof(tmp), "/tmp/mxgate-rules.XXXXXX");
	}
	if (mkdtemp(tmp) == NULL) {
		rm_log(rm, "store: make a folder for %s: %s", v, strerror(errno));
		return -1;
	}
	if (bundle_unpack(blob, len, tmp, err, sizeof(err)) < 0) {
		rm_log(rm, "store: version %s: %s", v, err);
		goto fail;
	}
	if (*temp) {
		snprintf(dir, dlen, "%s", tmp);
		return 0;
	}
	if (rename(tmp, dir) == 0)
		return 0;
	rm_log(rm, "store: rename %s to %s: %s", tmp, dir, strerror(errno));
fail:
	rm_rmdir(tmp);
	return -1;
}

/* rms_follow - publish the version another node made active */
static void rms_follow(struct rulesmgr *rm, const char *v)
{
	struct rules_error rerr;
	char    dir[PATH_MAX], got[RULESMGR_VERSION_MAX];
	void   *blob = NULL;
	size_t  len = 0;
	int     temp = 0, rc;

	pthread_mutex_lock(&rm->lock);
	rc = strcmp(rm->version, v) == 0;
	pthread_mutex_unlock(&rm->lock);
	if (rc)
		return;		/* ours, or already followed */
	rc = pgstore_rules_get(rm->store, v, &blob, &len, got, sizeof(got));
	if (rc != 1) {
		rm_log(rm, "store: version %s announced but %s", v,
		       rc == 0 ? "not stored" : "not readable");
		free(blob);
		return;
	}
	if (rms_unpack(rm, v, blob, len, dir, sizeof(dir), &temp) == 0) {
		pthread_mutex_lock(&rm->lock);
		(void) rm_publish(rm, dir, "store", 0, &rerr);
		pthread_mutex_unlock(&rm->lock);
		if (temp)
			rm_rmdir(dir);
	}
	free(blob);
}

/* rms_follower - the thread that follows NOTIFYs */
static void *rms_follower(void *arg)
{
	struct rulesmgr *rm = arg;
	char    v[RULESMGR_VERSION_MAX];

	pthread_mutex_lock(&rm->stop_lock);
	while (!rm->stopping && !rm->follow_stop) {
		if (!rm->follow_pending) {
			pthread_cond_wait(&rm->stop_cond, &rm->stop_lock);
			continue;
		}
		rm->follow_pending = 0;
		snprintf(v, sizeof(v), "%s", rm->follow);
		pthread_mutex_unlock(&rm->stop_lock);
		rms_follow(rm, v);
		pthread_mutex_lock(&rm->stop_lock);
	}
	pthread_mutex_unlock(&rm->stop_lock);
	return NULL;
}

/* rms_on_notify - store's listener thread: note the version, wake up */
static void rms_on_notify(void *ctx, const char *payload)
{
	struct rulesmgr *rm = ctx;

	if (payload == NULL || strlen(payload) >= sizeof(rm->follow)
	    || strchr(payload, '/') != NULL || payload[0] == '.')
		return;
	pthread_mutex_lock(&rm->stop_lock);
	snprintf(rm->follow, sizeof(rm->follow), "%s", payload);
	rm->follow_pending = 1;
	pthread_cond_broadcast(&rm->stop_cond);
	pthread_mutex_unlock(&rm->stop_lock);
}

/* rulesmgr_attach_store - share versions through store from now on;
 * NULL: stop (before the store is closed) */
int rulesmgr_attach_store(struct rulesmgr *rm, struct pgstore *store)
{
	if (rm == NULL)
		return 0;
	if (store == NULL) {
		rms_stop(rm);
		pthread_mutex_lock(&rm->lock);
		rm->store = NULL;
		pthread_mutex_unlock(&rm->lock);
		return 0;
	}
	if (rm->store != NULL)
		return 0;
	if (pthread_create(&rm->follower, NULL, rms_follower, rm) != 0) {
		rm_log(rm, "store: cannot start the follower thread");
		return -1;
	}
	rm->follower_on = 1;
	pthread_mutex_lock(&rm->lock);
	rm->store = store;
	pthread_mutex_unlock(&rm->lock);
	if (pgstore_listen(store, PGSTORE_RULES_CHANNEL, rms_on_notify, rm) < 0) {
		rm_log(rm, "store: LISTEN %s failed: versions published"
		       " elsewhere are not followed", PGSTORE_RULES_CHANNEL);
		return -1;
	}
	rm_log(rm, "store: following %s", PGSTORE_RULES_CHANNEL);
	return 0;
}

/* rms_stop - stop following; the store's listener may still call
 * rms_on_notify until the store is closed (it only takes stop_lock) */
void rms_stop(struct rulesmgr *rm)
{
	if (!rm->follower_on)
		return;
	pthread_mutex_lock(&rm->stop_lock);
	rm->follow_stop = 1;
	pthread_cond_broadcast(&rm->stop_cond);
	pthread_mutex_unlock(&rm->stop_lock);
	pthread_join(rm->follower, NULL);
	rm->follower_on = 0;
}
