/*
 * mgmt_api.c - the JSON API of the management port: routing and handlers
 *
 *	See mgmt.h and docs/operations.md (Management API) for every route.
 *	Unknown paths get 404, a known path with another method 405 (with
 *	Allow), malformed input 400, a missing part of the control plane
 *	(no store, no rules manager) 503 saying which. Every mutating call
 *	is audited (mgmt_audit) whether it succeeded or not.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mgmt.h"
#include "mgmt_json.h"
#include "pgstore.h"
#ifdef MX_HAVE_RULESMGR
#include "rulesmgr.h"
#endif

#define MGMT_API_PREFIX		"/api/v1/"
#define MGMT_TIME_MAX		40

/* mgmt_body - a stream writing the reply's body */
FILE *mgmt_body(struct mgmt_reply *r, int status)
{
	r->status = status;
	r->body = NULL;
	r->len = 0;
	return open_memstream(&r->body, &r->len);
}

/* mgmt_error - {"error": text} */
int mgmt_error(struct mgmt_reply *r, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	FILE *fp;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(r->body);
	if ((fp = mgmt_body(r, status)) == NULL)
		return -1;
	fputs("{\"error\":", fp);
	mgmt_json_str(fp, msg);
	fputs("}\n", fp);
	return fclose(fp) == 0 ? 0 : -1;
}

/* mgmt_audit - the audit log: the store's table, else the daemon's log */
void mgmt_audit(struct ctlplane *cp, const char *actor, const char *action,
		const char *detail_json)
{
	if (cp->store && pgstore_audit(cp->store, actor, action, detail_json) == 0)
		return;
	fprintf(stderr, "%s: audit: actor=%s action=%s detail=%s%s\n",
		cp->cfg.daemon, actor, action, detail_json,
		cp->store ? " (store refused the audit row)" : "");
}

/* mgmt_valid_qid - letters, digits, '.', '_', '-'; not starting with '.' */
int mgmt_valid_qid(const char *qid)
{
	size_t n = strlen(qid);

	return n > 0 && n < 64 && qid[0] != '.'
	       && strspn(qid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._-") == n;
}

/* wall_ms - Unix time in milliseconds */
static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* write_store_state - the "db" object of status */
static void write_store_state(struct ctlplane *cp, FILE *fp)
{
	struct pgstore_stats st;

	fprintf(fp, "\"db\":{\"configured\":%s", cp->cfg.store ? "true" : "false");
	if (cp->store && pgstore_stats(cp->store, &st) == 0)
		fprintf(fp, ",\"open\":true,\"connected\":%s,\"queued\":%llu,"
			"\"logged\":%llu,\"spooled\":%llu,\"spool_pending_bytes\":%llu,"
			"\"replayed\":%llu,\"dropped\":%llu",
			st.connected ? "true" : "false", (unsigned long long)st.queued,
			(unsigned long long)st.logged, (unsigned long long)st.spooled,
			(unsigned long long)st.spool_pending_bytes,
			(unsigned long long)st.replayed, (unsigned long long)st.dropped);
	else
		fputs(",\"open\":false", fp);
	if (cp->store_error[0]) {
		fputs(",\"error\":", fp);
		mgmt_json_str(fp, cp->store_error);
	}
	fputs("}", fp);
}

/* get_status - GET /api/v1/status */
static int get_status(struct ctlplane *cp, struct mgmt_reply *out)
{
	struct ctlplane_relay_state rs;
	FILE *fp = mgmt_body(out, 200);

	if (fp == NULL)
		return -1;
	fputs("{\"daemon\":", fp);
	mgmt_json_str(fp, cp->cfg.daemon);
	fputs(",\"version\":", fp);
	mgmt_json_str(fp, cp->cfg.version);
	fprintf(fp, ",\"uptime_s\":%llu,\"started_ms\":%llu,\"workers\":%u,\"rules_version\":",
		(unsigned long long)((wall_ms() - cp->start_ms) / 1000),
		(unsigned long long)cp->start_ms, cp->cfg.workers);
	mgmt_json_str(fp, ctlplane_rules_version(cp));
	fprintf(fp, ",\"rules_manager\":%s,\"downstream\":", cp->rules ? "true" : "false");
	if (cp->hooks.relay_state) {
		memset(&rs, 0, sizeof(rs));
		cp->hooks.relay_state(cp->hooks.ctx, &rs);
		if (rs.reachable < 0)
			rs.reachable = mgmt_probe_downstream(cp);
		fputs("{\"addr\":", fp);
		mgmt_json_str(fp, rs.addr);
		fprintf(fp, ",\"reachable\":%s,\"queued\":%llu,\"in_flight\":%llu}",
			rs.reachable < 0 ? "null" : rs.reachable ? "true" : "false",
			(unsigned long long)rs.queued, (unsigned long long)rs.in_flight);
	} else {
		int up = mgmt_probe_downstream(cp);

		fprintf(fp, "{\"addr\":\"%s:%u\",\"reachable\":%s}",
			cp->cfg.relay_host ? cp->cfg.relay_host : "", cp->cfg.relay_port,
			up < 0 ? "null" : up ? "true" : "false");
	}
	fputs(",", fp);
	write_store_state(cp, fp);
	fputs("}\n", fp);
	return fclose(fp) == 0 ? 0 : -1;
}

/* get_config - GET /api/v1/config: the keys the daemon runs with */
static int get_config(struct ctlplane *cp, struct mgmt_reply *out)
{
	FILE *fp = mgmt_body(out, 200);

	if (fp == NULL)
		return -1;
	fputs("{", fp);
	for (unsigned i = 0; cp->kv[i] && cp->kv[i + 1]; i += 2) {
		if (i)
			fputs(",", fp);
		mgmt_json_str(fp, cp->kv[i]);
		fputs(":", fp);
		mgmt_json_str(fp, cp->kv[i + 1]);
	}
	fputs("}\n", fp);
	return fclose(fp) == 0 ? 0 : -1;
}

/* parse_time - Unix ms (digits) or RFC 3339 "YYYY-MM-DDTHH:MM:SS[Z]" */
static int parse_time(const char *s, int64_t *ms)
{
	struct tm tm;
	char *end;

	if (*s >= '0' && *s <= '9' && strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		*ms = strtoll(s, &end, 10);
		return errno ? -1 : 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL) {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL)
			return -1;
	}
	if (*end == 'Z')
		end++;
	if (*end)
		return -1;
	*ms = (int64_t)timegm(&tm) * 1000;
	return 0;
}

/* mgmt_query_filters - ?sender=&recipient=&action=&qid=&since=&until=&limit=;
 * -1 when the answer (400) is already in out */
int mgmt_query_filters(const struct http_request *r, struct pgstore_query *q,
		       char bufs[4][MGMT_QUERY_MAX], struct mgmt_reply *out)
{
	static const char *const names[] = { "sender", "recipient", "action", "qid" };
	char t[MGMT_TIME_MAX];
	int rc;

	memset(q, 0, sizeof(*q));
	for (int i = 0; i < 4; i++) {
		if ((rc = http_query(r, names[i], bufs[i], MGMT_QUERY_MAX)) < 0)
			return mgmt_error(out, 400, "query parameter %s: malformed or longer"
					  " than %d bytes", names[i], MGMT_QUERY_MAX - 1), -1;
		if (rc == 1 && bufs[i][0]) {
			if (i == 0) q->sender = bufs[i];
			if (i == 1) q->recipient = bufs[i];
			if (i == 2) q->action = bufs[i];
			if (i == 3) q->qid = bufs[i];
		}
	}
	if (q->action && strcmp(q->action, "pass") && strcmp(q->action, "tag")
	    && strcmp(q->action, "quarantine") && strcmp(q->action, "discard")
	    && strcmp(q->action, "reject") && strcmp(q->action, "tempfail"))
		return mgmt_error(out, 400, "action: one of pass, tag, quarantine,"
				  " discard, reject, tempfail"), -1;
	if ((rc = http_query(r, "since", t, sizeof(t))) < 0
	    || (rc == 1 && parse_time(t, &q->since_ms) < 0))
		return mgmt_error(out, 400, "since: Unix milliseconds or"
				  " YYYY-MM-DDTHH:MM:SSZ"), -1;
	if ((rc = http_query(r, "until", t, sizeof(t))) < 0
	    || (rc == 1 && parse_time(t, &q->until_ms) < 0))
		return mgmt_error(out, 400, "until: Unix milliseconds or"
				  " YYYY-MM-DDTHH:MM:SSZ"), -1;
	if ((rc = http_query(r, "limit", t, sizeof(t))) < 0
	    || (rc == 1 && (strspn(t, "0123456789") != strlen(t) || !t[0]
			    || strlen(t) > 6 || atoi(t) < 1
			    || atoi(t) > PGSTORE_QUERY_LIMIT_MAX)))
		return mgmt_error(out, 400, "limit: a number from 1 to %d",
				  PGSTORE_QUERY_LIMIT_MAX), -1;
	if (rc == 1)
		q->limit = (unsigned)atoi(t);
	return 0;
}

/* get_messages - GET /api/v1/messages (the common filters, and
 * upstream_qid: the front MTA's queue id, which only the log has) */
static int get_messages(struct ctlplane *cp, const struct http_request *r,
			struct mgmt_reply *out)
{
	struct pgstore_query q;
	char bufs[4][MGMT_QUERY_MAX], upstream[MGMT_QUERY_MAX];
	char *json = NULL;
	int rc;

	if (mgmt_query_filters(r, &q, bufs, out) < 0)
		return 0;
	if ((rc = http_query(r, "upstream_qid", upstream, sizeof(upstream))) < 0)
		return mgmt_error(out, 400, "query parameter upstream_qid: malformed"
				  " or longer than %d bytes", MGMT_QUERY_MAX - 1);
	if (rc == 1 && upstream[0])
		q.upstream_qid = upstream;
	if (cp->store == NULL)
		return mgmt_error(out, 503, "message search not available: no"
				  " PostgreSQL store%s%s", cp->store_error[0] ? ": " : "",
				  cp->store_error);
	if (pgstore_messages_search(cp->store, &q, &json) < 0 || json == NULL) {
		free(json);
		return mgmt_error(out, 503, "message search failed: database"
				  " unavailable (see the daemon's log)");
	}
	out->status = 200;
	out->body = json;
	out->len = strlen(json);
	return 0;
}

/* rules_unavailable - 503 when no rules manager runs */
static int rules_unavailable(struct mgmt_reply *out)
{
	return mgmt_error(out, 503, "rules manager not available in this build"
			  " or at this start");
}

/* get_rules - GET /api/v1/rules, GET /api/v1/rules/versions */
static int get_rules(struct ctlplane *cp, int versions, struct mgmt_reply *out)
{
	FILE *fp;

#ifdef MX_HAVE_RULESMGR
	if (cp->rules) {
		char *json = NULL;
		int rc = versions ? rulesmgr_versions_json(cp->rules, &json)
				  : rulesmgr_rules_json(cp->rules, &json);

		if (rc < 0 || json == NULL) {
			free(json);
			return mgmt_error(out, 500, "rules manager could not list the rules");
		}
		out->status = 200;
		out->body = json;
		out->len = strlen(json);
		return 0;
	}
#endif
	if (versions)
		return rules_unavailable(out);
	if ((fp = mgmt_body(out, 200)) == NULL)
		return -1;
	fputs("{\"version\":", fp);
	mgmt_json_str(fp, cp->rules_version);
	fputs(",\"dir\":", fp);
	mgmt_json_str(fp, cp->cfg.rules_dir);
	fputs("}\n", fp);
	return fclose(fp) == 0 ? 0 : -1;
}

/* post_rules - POST /api/v1/rules/publish {"dir": ...}, .../rollback */
static int post_rules(struct ctlplane *cp, const struct http_request *r,
		      int publish, const char *actor, struct mgmt_reply *out)
{
	char dir[MGMT_PATH_MAX], detail[MGMT_PATH_MAX + 256];
	size_t dl;
	FILE *fp;

	dir[0] = 0;
	if (publish) {
		int rc = mgmt_json_get(r->body, r->body_len, "dir", dir, sizeof(dir));

		if (rc < 0)
			return mgmt_error(out, 400, "body: malformed JSON (want"
					  " {\"dir\": \"/path/to/rules\"})");
		if (rc == 0 || !dir[0] || dir[0] != '/')
			return mgmt_error(out, 400, "body: \"dir\" must be an absolute"
					  " directory path");
	}
	fp = fmemopen(detail, sizeof(detail), "w");
	if (fp == NULL)
		return -1;
	fputs("{\"dir\":", fp);
	mgmt_json_str(fp, dir);
	fputs("}", fp);
	dl = (size_t)ftell(fp);
	fclose(fp);
	detail[dl < sizeof(detail) ? dl : sizeof(detail) - 1] = 0;
#ifdef MX_HAVE_RULESMGR
	if (cp->rules) {
		struct rules_error err;
		char version[RULESMGR_VERSION_MAX] = "";
		int rc;

		memset(&err, 0, sizeof(err));
		rc = publish ? rulesmgr_publish_dir(cp->rules, dir, actor, version,
						    sizeof(version), &err)
			     : rulesmgr_rollback(cp->rules, actor, version,
						 sizeof(version), &err);
		mgmt_audit(cp, actor, rc == 0 ? (publish ? "rules.publish" : "rules.rollback")
			   : (publish ? "rules.publish.refused" : "rules.rollback.refused"),
			   detail);
		if (rc < 0)
			return mgmt_error(out, 422, "%s%s%.0d%s%s", err.file,
					  err.line ? ":" : "", err.line,
					  err.file[0] ? ": " : "", err.msg);
		if ((fp = mgmt_body(out, 200)) == NULL)
			return -1;
		fputs("{\"version\":", fp);
		mgmt_json_str(fp, version);
		fputs("}\n", fp);
		return fclose(fp) == 0 ? 0 : -1;
	}
#endif
	mgmt_audit(cp, actor, publish ? "rules.publish.unavailable"
		   : "rules.rollback.unavailable", detail);
	return rules_unavailable(out);
}

/* post_fetch - POST /api/v1/rules/fetch {"url": "https://..." or ""} */
static int post_fetch(struct ctlplane *cp, const struct http_request *r,
		      const char *actor, struct mgmt_reply *out)
{
	char url[MGMT_PATH_MAX], detail[MGMT_PATH_MAX + 64];
	int rc = r->body_len ? mgmt_json_get(r->body, r->body_len, "url", url, sizeof(url)) : 0;
	FILE *fp;

	if (rc < 0)
		return mgmt_error(out, 400, "body: malformed JSON (want {\"url\": \"https://...\"},"
				  " or {} for the configured URL)");
	if (rc == 0)
		url[0] = 0;
	if (url[0] && strncmp(url, "https://", 8) != 0)
		return mgmt_error(out, 400, "url: bundles are fetched over https:// only");
	if ((fp = fmemopen(detail, sizeof(detail), "w")) == NULL)
		return -1;
	fputs("{\"url\":", fp);
	mgmt_json_str(fp, url);
	fputs("}", fp);
	detail[ftell(fp) < (long)sizeof(detail) ? ftell(fp) : (long)sizeof(detail) - 1] = 0;
	fclose(fp);
#ifdef MX_HAVE_RULESMGR
	if (cp->rules) {
		char err[512] = "";

		rc = rulesmgr_fetch(cp->rules, url[0] ? url : NULL, err, sizeof(err));
		mgmt_audit(cp, actor, rc == 0 ? "rules.fetch" : "rules.fetch.failed", detail);
		if (rc < 0)
			return mgmt_error(out, 502, "fetch failed, running rules unchanged: %s", err);
		if ((fp = mgmt_body(out, 200)) == NULL)
			return -1;
		fputs("{\"version\":", fp);
		mgmt_json_str(fp, rulesmgr_version(cp->rules));
		fputs("}\n", fp);
		return fclose(fp) == 0 ? 0 : -1;
	}
#endif
	mgmt_audit(cp, actor, "rules.fetch.unavailable", detail);
	return rules_unavailable(out);
}

/* mgmt_method_is - the method, else 405 with Allow */
int mgmt_method_is(const struct http_request *r, const char *want,
		   struct mgmt_reply *out)
{
	static char allow[64];

	if (strcmp(r->method, want) == 0)
		return 1;
	snprintf(allow, sizeof(allow), "Allow: %s\r\n", want);
	mgmt_error(out, 405, "%s %s: method not allowed (use %s)", r->method,
		   r->target, want);
	out->extra = allow;
	return 0;
}

/* mgmt_api - route one authenticated request */
int mgmt_api(struct ctlplane *cp, const struct http_request *r,
	     const char *actor, struct mgmt_reply *out)
{
	char path[MGMT_PATH_MAX];
	const char *p;

	if (http_path(r, path, sizeof(path)) < 0)
		return mgmt_error(out, 400, "malformed path encoding");
	if (strcmp(path, "/metrics") == 0)
		return mgmt_method_is(r, "GET", out) ? mgmt_metrics(cp, out) : 0;
	if (strncmp(path, MGMT_API_PREFIX, strlen(MGMT_API_PREFIX)) != 0)
		return mgmt_error(out, 404, "no such path: %s", path);
	p = path + strlen(MGMT_API_PREFIX);
	if (strcmp(p, "status") == 0)
		return mgmt_method_is(r, "GET", out) ? get_status(cp, out) : 0;
	if (strcmp(p, "stats") == 0)
		return mgmt_method_is(r, "GET", out) ? mgmt_stats(cp, out) : 0;
	if (strcmp(p, "config") == 0)
		return mgmt_method_is(r, "GET", out) ? get_config(cp, out) : 0;
	if (strcmp(p, "messages") == 0)
		return mgmt_method_is(r, "GET", out) ? get_messages(cp, r, out) : 0;
	if (strcmp(p, "rules") == 0)
		return mgmt_method_is(r, "GET", out) ? get_rules(cp, 0, out) : 0;
	if (strcmp(p, "rules/versions") == 0)
		return mgmt_method_is(r, "GET", out) ? get_rules(cp, 1, out) : 0;
	if (strcmp(p, "rules/publish") == 0)
		return mgmt_method_is(r, "POST", out) ? post_rules(cp, r, 1, actor, out) : 0;
	if (strcmp(p, "rules/rollback") == 0)
		return mgmt_method_is(r, "POST", out) ? post_rules(cp, r, 0, actor, out) : 0;
	if (strcmp(p, "rules/fetch") == 0)
		return mgmt_method_is(r, "POST", out) ? post_fetch(cp, r, actor, out) : 0;
	if (strcmp(p, "quarantine") == 0 || strncmp(p, "quarantine/", 11) == 0)
		return mgmt_quarantine(cp, r, p + 10, actor, out);
	if (strcmp(p, "blocks") == 0 || strncmp(p, "blocks/", 7) == 0)
		return mgmt_blocks(cp, r, p + 6, actor, out);
	if (strcmp(p, "tls/reload") == 0)
		return mgmt_tls_reload(cp, r, actor, out);
	return mgmt_error(out, 404, "no such path: %s", path);
}
