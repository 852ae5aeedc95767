/*
 * mgmt_quar.c - quarantine routes: list, show, raw, release, delete
 *
 *	GET    /api/v1/quarantine			list (filters as messages)
 *	GET    /api/v1/quarantine/QID			metadata
 *	GET    /api/v1/quarantine/QID?raw=1		the message (message/rfc822)
 *	POST   /api/v1/quarantine/QID/release		re-inject, then mark released
 *	DELETE /api/v1/quarantine/QID			delete
 *
 *	With a PostgreSQL store the quarantine is the store's; without one
 *	it is the local directory delivery writes (QID.eml and QID.json,
 *	quarantine.h), so that a gateway without a database is still
 *	managed the same way.
 *
 *	Release sends the stored bytes as they were received to the
 *	downstream through a relay pool of its own (relay.h: the same SMTP
 *	client as delivery, with dot-stuffing and XFORWARD), envelope from
 *	the metadata, and waits for its reply (at most
 *	MGMT_RELEASE_TIMEOUT_MS). Only a 2xx marks the message released;
 *	otherwise 502 with the downstream's reply and nothing changes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mgmt.h"
#include "mgmt_json.h"
#include "pgstore.h"
#include "relay.h"

#define MGMT_META_MAX		(1024 * 1024)	/* bytes of a local .json */
#define MGMT_MSG_MAX		(256u << 20)	/* bytes of a local .eml */
#define MGMT_LIST_MAX		1000		/* local list entries */
#define MGMT_RCPT_BUF		(64 * 1024)

struct release_wait {
	int done;
	struct relay_result res;
	int rcpt_ok;
};

/* slurp - a whole file into malloc'd memory */
static char *slurp(const char *path, size_t max, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size > max
	    || (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = 0;
	*len = got;
	return buf;
}

/* local_get - QID.eml and QID.json of the local quarantine */
static int local_get(struct ctlplane *cp, const char *qid, char **msg,
		     size_t *len, char **meta)
{
	char path[MGMT_PATH_MAX];
	size_t ml;

	if (!cp->cfg.quarantine_dir)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.json", cp->cfg.quarantine_dir, qid);
	if ((*meta = slurp(path, MGMT_META_MAX, &ml)) == NULL)
		return errno == ENOENT ? 0 : -1;
	if (msg == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/%s.eml", cp->cfg.quarantine_dir, qid);
	if ((*msg = slurp(path, MGMT_MSG_MAX, len)) == NULL) {
		free(*meta);
		*meta = NULL;
		return errno == ENOENT ? 0 : -1;
	}
	return 1;
}

/* local_list - every QID.json of the local quarantine, as an array */
static int local_list(struct ctlplane *cp, unsigned limit, struct mgmt_reply *out)
{
	struct dirent *de;
	unsigned n = 0;
	DIR *d;
	FILE *fp;

	if (!cp->cfg.quarantine_dir || (d = opendir(cp->cfg.quarantine_dir)) == NULL)
		return mgmt_error(out, 503, "quarantine not available: no store and"
				  " no readable quarantine directory");
	if ((fp = mgmt_body(out, 200)) == NULL) {
		closedir(d);
		return -1;
	}
	fputs("[", fp);
	while ((de = readdir(d)) != NULL && n < limit) {
		size_t nl = strlen(de->d_name), ml;
		char qid[64], *meta;

		if (nl < 6 || nl - 5 >= sizeof(qid) || strcmp(de->d_name + nl - 5, ".json"))
			continue;
		memcpy(qid, de->d_name, nl - 5);
		qid[nl - 5] = 0;
		if (!mgmt_valid_qid(qid) || local_get(cp, qid, NULL, NULL, &meta) != 1)
			continue;
		ml = strlen(meta);
		while (ml && (meta[ml - 1] == '\n' || meta[ml - 1] == ' '))
			ml--;
		fputs(n++ ? ",\n" : "\n", fp);
		fwrite(meta, 1, ml, fp);
		free(meta);
	}
	closedir(d);
	fputs("\n]\n", fp);
	return fclose(fp) == 0 ? 0 : -1;
}

/* local_delete - remove QID.eml and QID.json */
static int local_delete(struct ctlplane *cp, const char *qid)
{
	char path[MGMT_PATH_MAX];
	int found = 0;

	snprintf(path, sizeof(path), "%s/%s.eml", cp->cfg.quarantine_dir, qid);
	found |= unlink(path) == 0;
	snprintf(path, sizeof(path), "%s/%s.json", cp->cfg.quarantine_dir, qid);
	found |= unlink(path) == 0;
	return found;
}

/* fetch - message and metadata from whichever quarantine we have */
static int fetch(struct ctlplane *cp, const char *qid, char **msg, size_t *len,
		 char **meta)
{
	*msg = *meta = NULL;
	*len = 0;
	if (cp->store)
		return pgstore_quarantine_get(cp->store, qid, msg, len, meta);
	return local_get(cp, qid, msg, len, meta);
}

/* mono_ms - monotonic milliseconds */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* release_done - the downstream answered */
static void release_done(void *ctx, const struct relay_result *res)
{
	struct release_wait *w = ctx;

	w->res = *res;
	w->rcpt_ok = 0;
	for (size_t i = 0; i < res->nrcpt; i++)
		w->rcpt_ok += res->rcpt_code[i] / 100 == 2;
	w->res.rcpt_code = NULL;
	w->done = 1;
}

/* relay_one - send one message to the downstream and wait for its reply */
static int relay_one(struct ctlplane *cp, const struct envelope *env,
		     const char *msg, size_t len, struct release_wait *w,
		     char *err, size_t errlen)
{
	struct relay_config rc;
	struct relay_pool *pool;
	struct relay_msg rm;
	struct iovec iov;
	uint64_t start = mono_ms();
	int epfd;

	relay_config_default(&rc);
	snprintf(rc.host, sizeof(rc.host), "%s", cp->cfg.relay_host ? cp->cfg.relay_host
		 : RELAY_HOST_DEFAULT);
	rc.port = cp->cfg.relay_port ? cp->cfg.relay_port : RELAY_PORT_DEFAULT;
	snprintf(rc.helo, sizeof(rc.helo), "%s", cp->cfg.relay_helo ? cp->cfg.relay_helo
		 : "mxgate");
	rc.max_conns = 1;
	rc.connect_timeout_ms = rc.cmd_timeout_ms = rc.data_timeout_ms
		= MGMT_RELEASE_TIMEOUT_MS;
	if ((pool = relay_pool_new(&rc)) == NULL) {
		snprintf(err, errlen, "relay pool: %s", strerror(errno));
		return -1;
	}
	memset(&rm, 0, sizeof(rm));
	iov.iov_base = (void *)msg;
	iov.iov_len = len;
	rm.env = env;
	rm.proto = "ESMTP";
	rm.mail_params = "";
	rm.body = &iov;
	rm.nbody = 1;
	memset(w, 0, sizeof(*w));
	if (relay_pool_submit(pool, &rm, release_done, w) < 0) {
		snprintf(err, errlen, "relay submit: %s", strerror(errno));
		relay_pool_free(pool);
		return -1;
	}
	epfd = relay_pool_fd(pool);
	while (!w->done && mono_ms() - start < MGMT_RELEASE_TIMEOUT_MS + 1000) {
		struct epoll_event ev;

		epoll_wait(epfd, &ev, 1, 100);
		relay_pool_run(pool, mono_ms());
	}
	relay_pool_free(pool);
	if (!w->done) {
		snprintf(err, errlen, "downstream did not answer in %d ms",
			 MGMT_RELEASE_TIMEOUT_MS);
		return -1;
	}
	return 0;
}

/* release - POST .../QID/release */
static int release(struct ctlplane *cp, const char *qid, const char *actor,
		   struct mgmt_reply *out)
{
	char *msg, *meta, from[1024], err[256], detail[512];
	char *rbuf = NULL;
	const char *rcpt[RELAY_RCPT_MAX];
	struct release_wait w;
	struct envelope env;
	size_t len, nrcpt = 0;
	int rc, ok;
	FILE *fp;

	if ((rc = fetch(cp, qid, &msg, &len, &meta)) <= 0)
		return rc == 0 ? mgmt_error(out, 404, "no quarantined message %s", qid)
			       : mgmt_error(out, 503, "quarantine unavailable");
	if ((rbuf = malloc(MGMT_RCPT_BUF)) == NULL) {
		rc = mgmt_error(out, 500, "out of memory");
		goto done;
	}
	if ((mgmt_json_get(meta, strlen(meta), "from", from, sizeof(from)) != 1
	     && mgmt_json_get(meta, strlen(meta), "sender", from, sizeof(from)) != 1)
	    || (mgmt_json_get_list(meta, strlen(meta), "rcpt", rbuf, MGMT_RCPT_BUF,
				   rcpt, RELAY_RCPT_MAX, &nrcpt) != 1
		&& mgmt_json_get_list(meta, strlen(meta), "recipients", rbuf,
				      MGMT_RCPT_BUF, rcpt, RELAY_RCPT_MAX, &nrcpt) != 1)
	    || nrcpt == 0) {
		rc = mgmt_error(out, 500, "quarantined message %s: metadata lacks the"
				" envelope (from, rcpt)", qid);
		goto done;
	}
	memset(&env, 0, sizeof(env));
	env.client_addr = "";
	env.client_name = "";
	env.helo = "";
	env.mail_from = from;
	env.rcpt = rcpt;
	env.nrcpt = nrcpt;
	ok = relay_one(cp, &env, msg, len, &w, err, sizeof(err)) == 0
	     && w.res.code / 100 == 2 && w.rcpt_ok > 0;
	snprintf(detail, sizeof(detail), "{\"qid\":\"%s\",\"downstream\":%d}", qid,
		 ok || err[0] == 0 ? w.res.code : 0);
	mgmt_audit(cp, actor, ok ? "quarantine.release" : "quarantine.release.failed",
		   detail);
	if (!ok) {
		rc = mgmt_error(out, 502, "release of %s failed: %s", qid,
				w.done ? w.res.text : err);
		goto done;
	}
	if (cp->store)
		pgstore_quarantine_delete(cp->store, qid, actor);
	else
		local_delete(cp, qid);
	if ((fp = mgmt_body(out, 200)) == NULL) {
		rc = -1;
		goto done;
	}
	fprintf(fp, "{\"qid\":\"%s\",\"released\":true,\"recipients\":%zu,"
		"\"accepted\":%d,\"downstream\":", qid, nrcpt, w.rcpt_ok);
	mgmt_json_str(fp, w.res.text);
	fputs("}\n", fp);
	rc = fclose(fp) == 0 ? 0 : -1;
done:
	free(rbuf);
	free(msg);
	free(meta);
	return rc;
}

/* show - GET .../QID: the metadata; ?raw=1: the message itself */
static int show(struct ctlplane *cp, const struct http_request *r,
		const char *qid, struct mgmt_reply *out)
{
	char *msg, *meta, raw[8];
	size_t len;
	int rc = http_query(r, "raw", raw, sizeof(raw));

	if (rc == 0)
		raw[0] = 0;
	if (rc < 0 || (rc == 1 && strcmp(raw, "1") && strcmp(raw, "0")))
		return mgmt_error(out, 400, "raw: 0 or 1");
	if ((rc = fetch(cp, qid, &msg, &len, &meta)) <= 0)
		return rc == 0 ? mgmt_error(out, 404, "no quarantined message %s", qid)
			       : mgmt_error(out, 503, "quarantine unavailable");
	out->status = 200;
	if (strcmp(raw, "1") == 0) {
		out->ctype = "message/rfc822";
		out->body = msg;
		out->len = len;
		free(meta);
	} else {
		out->body = meta;
		out->len = strlen(meta);
		free(msg);
	}
	return 0;
}

/* mgmt_quarantine - rest: "", "/QID" or "/QID/release" */
int mgmt_quarantine(struct ctlplane *cp, const struct http_request *r,
		    const char *rest, const char *actor, struct mgmt_reply *out)
{
	char qid[64], detail[128];
	const char *slash;
	size_t n;

	if (*rest == 0) {
		struct pgstore_query q;
		char bufs[4][MGMT_QUERY_MAX];
		char *json = NULL;

		if (strcmp(r->method, "GET") != 0) {
			out->extra = "Allow: GET\r\n";
			return mgmt_error(out, 405, "use GET to list the quarantine");
		}
		if (mgmt_query_filters(r, &q, bufs, out) < 0)
			return 0;
		if (cp->store == NULL)
			return local_list(cp, q.limit ? q.limit : MGMT_LIST_MAX, out);
		if (pgstore_quarantine_list(cp->store, &q, &json) < 0 || json == NULL) {
			free(json);
			return mgmt_error(out, 503, "quarantine list failed: database"
					  " unavailable");
		}
		out->status = 200;
		out->body = json;
		out->len = strlen(json);
		return 0;
	}
	rest++;
	slash = strchr(rest, '/');
	n = slash ? (size_t)(slash - rest) : strlen(rest);
	if (n >= sizeof(qid))
		return mgmt_error(out, 400, "queue id too long");
	memcpy(qid, rest, n);
	qid[n] = 0;
	if (!mgmt_valid_qid(qid))
		return mgmt_error(out, 400, "malformed queue id '%s'", qid);
	if (slash && strcmp(slash, "/release") == 0) {
		if (strcmp(r->method, "POST") != 0) {
			out->extra = "Allow: POST\r\n";
			return mgmt_error(out, 405, "use POST to release");
		}
		return release(cp, qid, actor, out);
	}
	if (slash)
		return mgmt_error(out, 404, "no such path under quarantine/%s", qid);
	if (strcmp(r->method, "GET") == 0)
		return show(cp, r, qid, out);
	if (strcmp(r->method, "DELETE") == 0) {
		int rc = cp->store ? pgstore_quarantine_delete(cp->store, qid, actor)
				   : cp->cfg.quarantine_dir ? local_delete(cp, qid) : -1;

		snprintf(detail, sizeof(detail), "{\"qid\":\"%s\",\"found\":%s}", qid,
			 rc > 0 ? "true" : "false");
		mgmt_audit(cp, actor, "quarantine.delete", detail);
		if (rc < 0)
			return mgmt_error(out, 503, "quarantine unavailable");
		if (rc == 0)
			return mgmt_error(out, 404, "no quarantined message %s", qid);
		out->status = 200;
		out->body = strdup("{\"deleted\":true}\n");
		out->len = out->body ? strlen(out->body) : 0;
		return out->body ? 0 : -1;
	}
	out->extra = "Allow: GET, DELETE\r\n";
	return mgmt_error(out, 405, "use GET or DELETE on a quarantined message");
}
