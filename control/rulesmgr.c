/*
 * rulesmgr.c - publish, keep and roll back rule set versions in a daemon
 *
 *	See rulesmgr.h for the interface.
 *
 * DESCRIPTION
 *	Versions on disk: state_dir/rules/<version>/ holds the *.rules files
 *	of every version published (written to a temporary folder first and
 *	renamed, so a half-copied version is never seen), and
 *	state_dir/rules/history one line per publish, oldest first:
 *	"<ms since epoch> <version> <rules> <actor>". The history is a stack:
 *	a publish pushes, a rollback pops; its last line is the running
 *	version. At most cfg->keep lines are kept, and the folders of
 *	versions no longer named in it are removed.
 *
 *	One mutex serialises publish, rollback and the JSON views: they come
 *	from the management thread, the SIGHUP path, the fetch thread and
 *	the store's follower thread (rulesmgr_store.c). A bundle download
 *	happens outside it. Only the swap hook talks to the workers.
 *
 *	Requests through SIGHUP (rulesmgr_hup): until the management API
 *	carries them, `mxgate rules publish|rollback|fetch` writes one line
 *	("publish DIR", "rollback", "fetch [URL]") to state_dir/rules/request
 *	and sends the daemon SIGHUP; the answer ("ok VERSION" or
 *	"error TEXT") goes to state_dir/rules/reply. A SIGHUP with no request
 *	re-reads cfg->rules_dir.
 *
 * DIAGNOSTICS
 *	Every outcome is one log line "<daemon>: rules: ...".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "json.h"
#include "rulesmgr.h"
#include "rulesmgr_int.h"
#include "ruleset.h"

/* rm_log - one log line */
void rm_log(struct rulesmgr *rm, const char *fmt, ...)
{
	FILE   *f = rm->cfg.log ? rm->cfg.log : stderr;
	va_list ap;

	if (fmt == NULL)	/* also tells gcc -fsanitize=undefined so */
		return;
	flockfile(f);
	fprintf(f, "%s: rules: ", rm->cfg.daemon ? rm->cfg.daemon : "mxgate");
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
	funlockfile(f);
}

/* rm_err - fill a rules_error that is not one line's */
static void rm_err(struct rules_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void rm_err(struct rules_error *err, const char *fmt, ...)
{
	va_list ap;

	memset(err, 0, sizeof(*err));
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* rm_err_text - "file:line: reason" of a refusal, for logs and replies */
static void rm_err_text(const struct rules_error *err, char *buf, size_t n)
{
	/* bounded pieces, so that the reason is never cut off by a long
	 * path: a path longer than RM_ERR_PATH shows its tail */
	enum { RM_ERR_PATH = 400, RM_ERR_MSG = 500 };
	size_t flen = strlen(err->file);
	const char *file = flen > RM_ERR_PATH ? err->file + flen - RM_ERR_PATH : err->file;
	const char *cut = flen > RM_ERR_PATH ? "..." : "";

	if (err->file[0] && err->line)
		snprintf(buf, n, "%s%.400s:%d: %.500s", cut, file, err->line, err->msg);
	else if (err->file[0])
		snprintf(buf, n, "%s%.400s: %.500s", cut, file, err->msg);
	else
		snprintf(buf, n, "%.500s", err->msg);
}

/* now_ms - wall clock, for the history */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* mono_ms - for durations */
static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* rm_path - state_dir/rules[/a[/b]] */
static void rm_path(const struct rulesmgr *rm, char *buf, size_t n,
		    const char *a, const char *b)
{
	snprintf(buf, n, "%s/rules%s%s%s%s", rm->state_dir, a ? "/" : "",
		 a ? a : "", b ? "/" : "", b ? b : "");
}

/* rm_rmdir - remove a flat folder and its files */
void rm_rmdir(const char *dir)
{
	char    path[PATH_MAX + 512];
	struct dirent *de;
	DIR    *d = opendir(dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		(void) unlink(path);
	}
	closedir(d);
	(void) rmdir(dir);
}

/* rm_copy_file - copy one file; -1 with errno */
static int rm_copy_file(const char *from, const char *to)
{
	char    buf[65536];
	ssize_t n;
	int     in, out, rc = 0;
	size_t  total = 0;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		total += (size_t)n;
		if (total > RULESMGR_FILE_MAX) {
			errno = EFBIG;
			rc = -1;
			break;
		}
		if (write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	}
	if (n < 0)
		rc = -1;
	if (close(out) < 0)
		rc = -1;
	close(in);
	return rc;
}

/* rm_keep_copy - the *.rules files of dir under state_dir/rules/<v>/ */
static int rm_keep_copy(struct rulesmgr *rm, const char *dir, const char *v,
			struct rules_error *err)
{
	char    final[PATH_MAX], tmp[PATH_MAX + 32];
	char    from[PATH_MAX + 512], to[PATH_MAX + 512];
	struct dirent *de;
	struct stat st;
	DIR    *d;
	size_t  nl;

	if (rm->state_dir == NULL)
		return 0;
	rm_path(rm, final, sizeof(final), v, NULL);
	if (stat(final, &st) == 0)
		return 0;	/* same version, same text: already kept */
	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", final, (long)getpid());
	rm_rmdir(tmp);
	if (mkdir(tmp, 0700) < 0 || (d = opendir(dir)) == NULL) {
		rm_err(err, "keep a copy in %s: %s", tmp, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		nl = strlen(de->d_name);
		if (de->d_name[0] == '.' || nl <= 6
		    || strcmp(de->d_name + nl - 6, ".rules") != 0)
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, de->d_name);
		snprintf(to, sizeof(to), "%s/%s", tmp, de->d_name);
		if (rm_copy_file(from, to) < 0) {
			rm_err(err, "copy %s to %s: %s", from, to, strerror(errno));
			closedir(d);
			rm_rmdir(tmp);
			return -1;
		}
	}
	closedir(d);
	if (rename(tmp, final) < 0) {
		rm_err(err, "rename %s to %s: %s", tmp, final, strerror(errno));
		rm_rmdir(tmp);
		return -1;
	}
	return 0;
}

/* rm_history_save - rewrite state_dir/rules/history */
static void rm_history_save(struct rulesmgr *rm)
{
	char    path[PATH_MAX], tmp[PATH_MAX + 32];
	FILE   *f;

	if (rm->state_dir == NULL)
		return;
	rm_path(rm, path, sizeof(path), "history", NULL);
	/* two daemons may share a state_dir (tests): one temporary each */
	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL) {
		rm_log(rm, "cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	for (size_t i = 0; i < rm->nhist; i++)
		fprintf(f, "%lld %s %zu %s\n", rm->hist[i].published_ms,
			rm->hist[i].version, rm->hist[i].nrules,
			rm->hist[i].actor);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		rm_log(rm, "cannot write %s: %s", path, strerror(errno));
}

/* rm_history_load - read the history kept by an earlier run */
static void rm_history_load(struct rulesmgr *rm)
{
	char    path[PATH_MAX], line[RULESMGR_LINE_MAX];
	struct rulesmgr_version v;
	FILE   *f;

	if (rm->state_dir == NULL)
		return;
	rm_path(rm, path, sizeof(path), "history", NULL);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL
	       && rm->nhist < RULESMGR_HISTORY_MAX) {
		memset(&v, 0, sizeof(v));
		if (sscanf(line, "%lld %31s %zu %63s", &v.published_ms,
			   v.version, &v.nrules, v.actor) < 3)
			continue;
		rm->hist[rm->nhist++] = v;
	}
	fclose(f);
}

/* rm_named - whether version v is still in the history */
static int rm_named(const struct rulesmgr *rm, const char *v)
{
	for (size_t i = 0; i < rm->nhist; i++)
		if (strcmp(rm->hist[i].version, v) == 0)
			return 1;
	return 0;
}

/* rm_history_push - a version became the running one */
static void rm_history_push(struct rulesmgr *rm, const char *v, size_t nrules,
			    const char *actor)
{
	struct rulesmgr_version *e;
	unsigned keep = rm->cfg.keep ? rm->cfg.keep : RULESMGR_KEEP_DEFAULT;
	char    dir[PATH_MAX];

	if (rm->nhist == keep || rm->nhist == RULESMGR_HISTORY_MAX) {
		struct rulesmgr_version gone = rm->hist[0];

		memmove(rm->hist, rm->hist + 1, (rm->nhist - 1) * sizeof(*e));
		rm->nhist--;
		if (rm->state_dir != NULL && !rm_named(rm, gone.version)
		    && strcmp(gone.version, v) != 0) {
			rm_path(rm, dir, sizeof(dir), gone.version, NULL);
			rm_rmdir(dir);
		}
	}
	e = &rm->hist[rm->nhist++];
	memset(e, 0, sizeof(*e));
	snprintf(e->version, sizeof(e->version), "%s", v);
	e->nrules = nrules;
	e->published_ms = now_ms();
	snprintf(e->actor, sizeof(e->actor), "%s", actor && *actor ? actor : "-");
	for (char *p = e->actor; *p; p++)	/* one word in the file */
		if (*p == ' ' || *p == '\n')
			*p = '_';
	rm_history_save(rm);
}

/* rm_set_version - the running version, for locked and lock-free readers
 * (rulesmgr_version: the other of two buffers, then an atomic flip) */
static void rm_set_version(struct rulesmgr *rm, const char *v)
{
	int     next = !__atomic_load_n(&rm->pub_cur, __ATOMIC_RELAXED);

	snprintf(rm->version, sizeof(rm->version), "%s", v);
	snprintf(rm->pub[next], sizeof(rm->pub[next]), "%s", v);
	__atomic_store_n(&rm->pub_cur, next, __ATOMIC_RELEASE);
}

/* rm_install - hand rs to the workers; frees rs on refusal */
static int rm_install(struct rulesmgr *rm, struct ruleset *rs,
		      const char *actor, double t0, struct rules_error *err)
{
	struct ruleset *old = NULL;
	double  t1 = mono_ms(), t2;

	if (rm->hooks.swap != NULL && rm->hooks.swap(rm->hooks.ctx, rs, &old) < 0) {
		rm_err(err, "the workers refused the rule set: %s",
		       strerror(errno));
		rules_free(rs);
		return -1;
	}
	t2 = mono_ms();
	if (rm->hooks.swap == NULL)
		old = rm->running ? rm->running : (struct ruleset *)rm->borrowed;
	if (old != NULL && old != rm->borrowed)
		rules_free(old);
	rm->running = rs;
	rm_set_version(rm, rules_version(rs));
	rm_history_push(rm, rm->version, rules_count(rs), actor);
	rm_log(rm, "published %s (%zu rules) in %.1f ms (compile %.1f ms,"
	       " switch %.1f ms) by %s", rm->version, rules_count(rs), t2 - t0,
	       t1 - t0, t2 - t1, actor && *actor ? actor : "-");
	return 0;
}

/* rm_publish - load dir and install it; lock held */
int rm_publish(struct rulesmgr *rm, const char *dir, const char *actor,
	       int flags, struct rules_error *err)
{
	double  t0 = mono_ms();
	struct ruleset *rs;
	char    why[sizeof(err->msg) + PATH_MAX + 16];

	memset(err, 0, sizeof(*err));
	if ((rs = rules_load_dir(dir, err)) == NULL) {
		rm_err_text(err, why, sizeof(why));
		rm_log(rm, "refused %s: %s; %s stays", dir, why, rm->version);
		return -1;
	}
	if (strcmp(rules_version(rs), rm->version) == 0) {
		rm_log(rm, "%s from %s is already running", rm->version, dir);
		rules_free(rs);
		return 0;
	}
	if ((flags & RM_KEEP_COPY)
	    && rm_keep_copy(rm, dir, rules_version(rs), err) < 0) {
		rm_log(rm, "refused %s: %s; %s stays", dir, err->msg, rm->version);
		rules_free(rs);
		return -1;
	}
	if (rm_install(rm, rs, actor, t0, err) < 0) {
		rm_log(rm, "refused %s: %s; %s stays", dir, err->msg, rm->version);
		return -1;
	}
	if ((flags & RM_TO_STORE) && rm->store != NULL)
		rms_put(rm, dir, actor);
	return 0;
}

/* rulesmgr_publish_dir - compile dir and make it the running set */
int rulesmgr_publish_dir(struct rulesmgr *rm, const char *dir,
			 const char *actor, char *version_out, size_t vlen,
			 struct rules_error *err)
{
	int     rc;

	pthread_mutex_lock(&rm->lock);
	rc = rm_publish(rm, dir, actor, RM_KEEP_COPY | RM_TO_STORE, err);
	if (version_out != NULL && vlen > 0)
		snprintf(version_out, vlen, "%s", rm->version);
	pthread_mutex_unlock(&rm->lock);
	return rc;
}

/* rulesmgr_publish_version - make a kept version the running one */
int rulesmgr_publish_version(struct rulesmgr *rm, const char *version,
			     const char *actor, struct rules_error *err)
{
	char    dir[PATH_MAX];
	int     rc;

	if (rm->state_dir == NULL || strchr(version, '/') != NULL
	    || version[0] == '.' || version[0] == '\0') {
		rm_err(err, "version %s is not kept (no state_dir, or a bad name)",
		       version);
		return -1;
	}
	pthread_mutex_lock(&rm->lock);
	rm_path(rm, dir, sizeof(dir), version, NULL);
	rc = rm_publish(rm, dir, actor, RM_TO_STORE, err);
	pthread_mutex_unlock(&rm->lock);
	return rc;
}

/* rulesmgr_rollback - back to the version before the running one */
int rulesmgr_rollback(struct rulesmgr *rm, const char *actor,
		      char *version_out, size_t vlen, struct rules_error *err)
{
	char    dir[PATH_MAX], prev[RULESMGR_VERSION_MAX];
	int     rc = -1;

	pthread_mutex_lock(&rm->lock);
	if (rm->state_dir == NULL || rm->nhist < 2) {
		rm_err(err, "no earlier version to roll back to");
		rm_log(rm, "rollback refused: %s; %s stays", err->msg, rm->version);
		goto out;
	}
	snprintf(prev, sizeof(prev), "%s", rm->hist[rm->nhist - 2].version);
	rm_path(rm, dir, sizeof(dir), prev, NULL);
	if ((rc = rm_publish(rm, dir, actor, RM_TO_STORE, err)) == 0
	    && strcmp(rm->version, prev) == 0 && rm->nhist >= 3) {
		/* pop the rolled-back version and the entry just pushed:
		 * the one before is the running one again */
		rm->hist[rm->nhist - 3] = rm->hist[rm->nhist - 1];
		rm->nhist -= 2;
		rm_history_save(rm);
	}
out:
	if (version_out != NULL && vlen > 0)
		snprintf(version_out, vlen, "%s", rm->version);
	pthread_mutex_unlock(&rm->lock);
	return rc;
}

/* rulesmgr_fetch - signed bundle over HTTPS, verified, then published */
int rulesmgr_fetch(struct rulesmgr *rm, const char *url, char *err,
		   size_t errlen)
{
	struct bundle_source src;
	struct rules_error rerr;
	char    dir[PATH_MAX];
	int     rc;

	memset(&src, 0, sizeof(src));
	src.url = url && *url ? url : rm->bundle_url;
	src.ca_file = rm->bundle_ca;
	src.pub_key = rm->bundle_key;
	src.timeout_ms = rm->cfg.fetch_timeout_ms ? rm->cfg.fetch_timeout_ms
		: RULESMGR_FETCH_TIMEOUT_MS_DEFAULT;
	src.max = rm->cfg.bundle_max ? rm->cfg.bundle_max
		: RULESMGR_BUNDLE_MAX_DEFAULT;
	if (src.url == NULL || src.ca_file == NULL || src.pub_key == NULL) {
		snprintf(err, errlen, "fetch needs rules_bundle_url, "
			 "rules_bundle_ca and rules_bundle_key");
		rm_log(rm, "fetch refused: %s", err);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/mxgate-bundle.XXXXXX",
		 rm->state_dir ? rm->state_dir : "/tmp");
	if (mkdtemp(dir) == NULL) {
		snprintf(err, errlen, "make a folder %s: %s", dir, strerror(errno));
		rm_log(rm, "fetch %s failed: %s", src.url, err);
		return -1;
	}
	/* the download is not under the lock: it may take the whole timeout */
	if ((rc = bundle_fetch(&src, dir, err, errlen)) < 0) {
		rm_log(rm, "fetch %s failed: %s; %s stays", src.url, err,
		       rulesmgr_version(rm));
	} else {
		pthread_mutex_lock(&rm->lock);
		rc = rm_publish(rm, dir, "fetch", RM_KEEP_COPY | RM_TO_STORE, &rerr);
		pthread_mutex_unlock(&rm->lock);
		if (rc < 0)
			rm_err_text(&rerr, err, errlen);
	}
	rm_rmdir(dir);
	return rc;
}

/* rm_fetcher - the scheduled fetch */
static void *rm_fetcher(void *arg)
{
	struct rulesmgr *rm = arg;
	char    err[512];
	struct timespec ts;

	pthread_mutex_lock(&rm->stop_lock);
	while (!rm->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += rm->cfg.bundle_interval_s;
		pthread_cond_timedwait(&rm->stop_cond, &rm->stop_lock, &ts);
		if (rm->stopping)
			break;
		pthread_mutex_unlock(&rm->stop_lock);
		(void) rulesmgr_fetch(rm, NULL, err, sizeof(err));
		pthread_mutex_lock(&rm->stop_lock);
	}
	pthread_mutex_unlock(&rm->stop_lock);
	return NULL;
}

/* rulesmgr_hup - SIGHUP: the pending request, or re-read rules_dir */
int rulesmgr_hup(struct rulesmgr *rm)
{
	char    req[PATH_MAX], rep[PATH_MAX], tmp[PATH_MAX + 32];
	char    line[RULESMGR_LINE_MAX], why[1024], v[RULESMGR_VERSION_MAX];
	struct rules_error err;
	FILE   *f = NULL;
	int     rc;

	memset(&err, 0, sizeof(err));
	line[0] = '\0';
	if (rm->state_dir != NULL) {
		rm_path(rm, req, sizeof(req), "request", NULL);
		if ((f = fopen(req, "r")) != NULL) {
			if (fgets(line, sizeof(line), f) == NULL)
				line[0] = '\0';
			fclose(f);
			(void) unlink(req);
			line[strcspn(line, "\r\n")] = '\0';
		}
	}
	if (f == NULL) {
		if (rm->rules_dir == NULL)
			return 0;
		return rulesmgr_publish_dir(rm, rm->rules_dir, "sighup", NULL, 0,
					    &err);
	}
	if (strncmp(line, "publish ", 8) == 0) {
		rc = rulesmgr_publish_dir(rm, line + 8, "cli", v, sizeof(v), &err);
		rm_err_text(&err, why, sizeof(why));
	} else if (strcmp(line, "rollback") == 0) {
		rc = rulesmgr_rollback(rm, "cli", v, sizeof(v), &err);
		rm_err_text(&err, why, sizeof(why));
	} else if (strncmp(line, "fetch", 5) == 0) {
		rc = rulesmgr_fetch(rm, line[5] == ' ' ? line + 6 : NULL, why,
				    sizeof(why));
	} else {
		snprintf(why, sizeof(why), "unknown request '%s'", line);
		rm_log(rm, "%s", why);
		rc = -1;
	}
	rm_path(rm, rep, sizeof(rep), "reply", NULL);
	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", rep, (long)getpid());
	if ((f = fopen(tmp, "w")) != NULL) {
		if (rc == 0)
			fprintf(f, "ok %s\n", rulesmgr_version(rm));
		else
			fprintf(f, "error %s\n", why);
		if (fclose(f) != 0 || rename(tmp, rep) < 0)
			rm_log(rm, "cannot write %s: %s", rep, strerror(errno));
	}
	return rc;
}

/* rulesmgr_version - the running version */
const char *rulesmgr_version(const struct rulesmgr *rm)
{
	return rm->pub[__atomic_load_n(&rm->pub_cur, __ATOMIC_ACQUIRE)];
}

/* rulesmgr_versions_json - the kept versions, newest first */
int rulesmgr_versions_json(struct rulesmgr *rm, char **json)
{
	size_t  len;
	FILE   *f = open_memstream(json, &len);

	if (f == NULL)
		return -1;
	pthread_mutex_lock(&rm->lock);
	fputc('[', f);
	for (size_t i = rm->nhist; i > 0; i--) {
		const struct rulesmgr_version *e = &rm->hist[i - 1];

		fprintf(f, "%s{\"version\":", i == rm->nhist ? "" : ",");
		json_string(f, e->version, strlen(e->version));
		fprintf(f, ",\"rules\":%zu,\"published_ms\":%lld,\"actor\":",
			e->nrules, e->published_ms);
		json_string(f, e->actor, strlen(e->actor));
		fprintf(f, ",\"running\":%s}", i == rm->nhist
			&& strcmp(e->version, rm->version) == 0 ? "true" : "false");
	}
	fputc(']', f);
	pthread_mutex_unlock(&rm->lock);
	return fclose(f) == 0 ? 0 : -1;
}

/* rulesmgr_rules_json - the running set: files and rules */
int rulesmgr_rules_json(struct rulesmgr *rm, char **json)
{
	const struct ruleset *rs;
	size_t  len;
	FILE   *f = open_memstream(json, &len);

	if (f == NULL)
		return -1;
	pthread_mutex_lock(&rm->lock);
	rs = rm->running ? rm->running : rm->borrowed;
	fputs("{\"version\":", f);
	json_string(f, rm->version, strlen(rm->version));
	fputs(",\"files\":[", f);
	for (size_t i = 0; rs != NULL && i < rs->nfiles; i++) {
		fputs(i ? "," : "", f);
		json_string(f, rs->files[i], strlen(rs->files[i]));
	}
	fputs("],\"rules\":[", f);
	for (size_t i = 0; rs != NULL && i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];

		fprintf(f, "%s{\"id\":", i ? "," : "");
		json_string(f, r->id, strlen(r->id));
		fputs(",\"scope\":", f);
		json_string(f, scope_name(r->scope), strlen(scope_name(r->scope)));
		fputs(",\"file\":", f);
		json_string(f, r->file ? r->file : "", r->file ? strlen(r->file) : 0);
		fprintf(f, ",\"line\":%d}", r->line);
	}
	fputs("]}", f);
	pthread_mutex_unlock(&rm->lock);
	return fclose(f) == 0 ? 0 : -1;
}

/* rm_strdup - copy an optional string; -1 when out of memory */
static int rm_strdup(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL || *src == '\0')
		return 0;
	return (*dst = strdup(src)) == NULL ? -1 : 0;
}

/* rulesmgr_config_default - every key at its default */
void rulesmgr_config_default(struct rulesmgr_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->keep = RULESMGR_KEEP_DEFAULT;
	cfg->fetch_timeout_ms = RULESMGR_FETCH_TIMEOUT_MS_DEFAULT;
	cfg->bundle_max = RULESMGR_BUNDLE_MAX_DEFAULT;
}

/* rm_adopt - the daemon's start-up set: running, kept, in the history */
static void rm_adopt(struct rulesmgr *rm)
{
	struct rules_error err;

	if (rm->borrowed == NULL)
		return;
	rm_set_version(rm, rules_version(rm->borrowed));
	if (rm->rules_dir != NULL
	    && rm_keep_copy(rm, rm->rules_dir, rm->version, &err) < 0)
		rm_log(rm, "start-up set %s not kept: %s", rm->version, err.msg);
	if (rm->nhist == 0
	    || strcmp(rm->hist[rm->nhist - 1].version, rm->version) != 0)
		rm_history_push(rm, rm->version, rules_count(rm->borrowed),
				"start");
	rm_log(rm, "running %s (%zu rules) from %s", rm->version,
	       rules_count(rm->borrowed), rm->rules_dir ? rm->rules_dir : "-");
}

/* rulesmgr_new - a manager for the running set cfg->rules */
struct rulesmgr *rulesmgr_new(const struct rulesmgr_config *cfg,
			      const struct rulesmgr_hooks *hooks,
			      struct pgstore *store, char *err, size_t errlen)
{
	struct rulesmgr *rm = calloc(1, sizeof(*rm));
	char    dir[PATH_MAX];

	if (rm == NULL || (rm->hist = calloc(RULESMGR_HISTORY_MAX,
					     sizeof(*rm->hist))) == NULL) {
		free(rm);
		snprintf(err, errlen, "rules manager: out of memory");
		return NULL;
	}
	rm->cfg = *cfg;
	if (hooks != NULL)
		rm->hooks = *hooks;
	rm->borrowed = cfg->rules;
	pthread_mutex_init(&rm->lock, NULL);
	pthread_mutex_init(&rm->stop_lock, NULL);
	pthread_cond_init(&rm->stop_cond, NULL);
	if (rm_strdup(&rm->state_dir, cfg->state_dir) < 0
	    || rm_strdup(&rm->rules_dir, cfg->rules_dir) < 0
	    || rm_strdup(&rm->bundle_url, cfg->bundle_url) < 0
	    || rm_strdup(&rm->bundle_ca, cfg->bundle_ca) < 0
	    || rm_strdup(&rm->bundle_key, cfg->bundle_key) < 0) {
		snprintf(err, errlen, "rules manager: out of memory");
		goto fail;
	}
	if (rm->state_dir != NULL) {
		rm_path(rm, dir, sizeof(dir), NULL, NULL);
		/* like the control plane: reported, not fatal; the daemon
		 * runs, without kept versions (no rollback, no requests) */
		if ((mkdir(rm->state_dir, 0755) < 0 && errno != EEXIST)
		    || (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
			rm_log(rm, "cannot create %s: %s; versions are not kept",
			       dir, strerror(errno));
			free(rm->state_dir);
			rm->state_dir = NULL;
		}
	}
	rm_history_load(rm);
	rm_adopt(rm);
	if (rm->bundle_url != NULL && cfg->bundle_interval_s > 0) {
		if (pthread_create(&rm->fetcher, NULL, rm_fetcher, rm) != 0) {
			snprintf(err, errlen, "rules manager: start the fetch thread");
			goto fail;
		}
		rm->fetcher_on = 1;
	}
	if (store != NULL)
		(void) rulesmgr_attach_store(rm, store);	/* logged */
	return rm;
fail:
	rulesmgr_free(rm);
	return NULL;
}

/* rulesmgr_free - stop fetching; free the sets loaded here */
void rulesmgr_free(struct rulesmgr *rm)
{
	if (rm == NULL)
		return;
	rms_stop(rm);
	if (rm->fetcher_on) {
		pthread_mutex_lock(&rm->stop_lock);
		rm->stopping = 1;
		pthread_cond_broadcast(&rm->stop_cond);
		pthread_mutex_unlock(&rm->stop_lock);
		pthread_join(rm->fetcher, NULL);
	}
	if (rm->running != NULL)
		rules_free(rm->running);
	free(rm->state_dir);
	free(rm->rules_dir);
	free(rm->bundle_url);
	free(rm->bundle_ca);
	free(rm->bundle_key);
	free(rm->hist);
	pthread_mutex_destroy(&rm->lock);
	pthread_mutex_destroy(&rm->stop_lock);
	pthread_cond_destroy(&rm->stop_cond);
	free(rm);
}
