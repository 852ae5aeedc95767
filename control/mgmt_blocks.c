/*
 * mgmt_blocks.c - /api/v1/blocks (IP Profiler) and /api/v1/tls/reload
 *
 *	int mgmt_blocks(struct ctlplane *cp, const struct http_request *r,
 *			const char *rest, const char *actor,
 *			struct mgmt_reply *out);
 *	int mgmt_tls_reload(struct ctlplane *cp, const struct http_request *r,
 *			const char *actor, struct mgmt_reply *out);
 *
 * DESCRIPTION
 *	GET /api/v1/blocks lists the blocks in force on this node (the
 *	daemon's blocks_json hook). DELETE /api/v1/blocks/ADDR removes
 *	ADDR's block from the profiler (the unblock hook: the lcores or
 *	socket workers let it in again after the sender filter's next
 *	control pass) and, with a store, marks its rows in ip_blocks
 *	removed by the caller (every node's: the operator means the
 *	address). 404 when neither had it. POST /api/v1/tls/reload reads
 *	the STARTTLS certificate and key again; a pair that does not pass
 *	the start-up checks is refused with 409 and the reason, and the
 *	running one stays. The changes are audited (mgmt_audit), refused
 *	or not. rest is what follows "blocks" in the path ("" or "/ADDR").
 *
 * DIAGNOSTICS
 *	503 when the daemon has no profiler (no sender filter, or one
 *	without profiler_rule) or no STARTTLS; 400 for an address that is
 *	not IPv4 dotted-quad.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt.h"
#include "mgmt_json.h"
#include "pgstore.h"

#define MGMT_DETAIL_MAX		768	/* one audit row's detail */

/* detail_json - {"addr": ..., more} for the audit row */
static void detail_json(char *buf, size_t len, const char *key, const char *val,
			const char *more)
{
	FILE *fp = fmemopen(buf, len, "w");
	long n;

	buf[0] = 0;
	if (fp == NULL)
		return;
	fputs("{", fp);
	mgmt_json_str(fp, key);
	fputs(":", fp);
	mgmt_json_str(fp, val);
	fprintf(fp, "%s}", more ? more : "");
	n = ftell(fp);
	fclose(fp);
	buf[n >= 0 && (size_t)n < len ? (size_t)n : len - 1] = 0;
}

/* list_blocks - GET /api/v1/blocks */
static int list_blocks(struct ctlplane *cp, struct mgmt_reply *out)
{
	char *json = NULL;

	if (cp->hooks.blocks_json(cp->hooks.ctx, &json) < 0 || json == NULL) {
		free(json);
		return mgmt_error(out, 500, "could not list the IP Profiler's blocks");
	}
	out->status = 200;
	out->body = json;
	out->len = strlen(json);
	return 0;
}

/* remove_block - DELETE /api/v1/blocks/ADDR */
static int remove_block(struct ctlplane *cp, const char *addr, const char *actor,
			struct mgmt_reply *out)
{
	char detail[MGMT_DETAIL_MAX], more[96];
	struct in_addr a;
	int mem, rows = 0;
	FILE *fp;

	if (inet_pton(AF_INET, addr, &a) != 1)
		return mgmt_error(out, 400, "%.64s: not an IPv4 address (the IP"
				  " Profiler blocks IPv4 clients)", addr);
	mem = cp->hooks.unblock(cp->hooks.ctx, ntohl(a.s_addr));
	if (cp->store)
		rows = pgstore_block_remove(cp->store, addr, actor);
	snprintf(more, sizeof(more), ",\"in_memory\":%s,\"db_rows\":%d",
		 mem > 0 ? "true" : "false", rows);
	detail_json(detail, sizeof(detail), "addr", addr, more);
	mgmt_audit(cp, actor, mem > 0 || rows > 0 ? "blocks.remove" : "blocks.remove.none",
		   detail);
	if (mem <= 0 && rows <= 0)
		return rows < 0 ? mgmt_error(out, 503, "%s: not blocked here, and the"
					     " database could not be asked", addr)
			: mgmt_error(out, 404, "%s: no block in force", addr);
	if ((fp = mgmt_body(out, 200)) == NULL)
		return -1;
	fputs("{\"addr\":", fp);
	mgmt_json_str(fp, addr);
	fprintf(fp, ",\"removed\":true,\"in_memory\":%s,\"db_rows\":%d}\n",
		mem > 0 ? "true" : "false", rows);
	return fclose(fp) == 0 ? 0 : -1;
}

/* mgmt_blocks - /api/v1/blocks[/ADDR] */
int mgmt_blocks(struct ctlplane *cp, const struct http_request *r,
		const char *rest, const char *actor, struct mgmt_reply *out)
{
	int list = rest[0] == 0;

	if (!mgmt_method_is(r, list ? "GET" : "DELETE", out))
		return 0;
	if (rest[0] && (rest[0] != '/' || !rest[1]))
		return mgmt_error(out, 404, "no such path: /api/v1/blocks%s", rest);
	if (cp->hooks.blocks_json == NULL || cp->hooks.unblock == NULL)
		return mgmt_error(out, 503, "IP Profiler not running: no sender filter,"
				  " or one without profiler_rule");
	return list ? list_blocks(cp, out) : remove_block(cp, rest + 1, actor, out);
}

/* mgmt_tls_reload - POST /api/v1/tls/reload */
int mgmt_tls_reload(struct ctlplane *cp, const struct http_request *r,
		    const char *actor, struct mgmt_reply *out)
{
	char err[512], detail[MGMT_DETAIL_MAX];
	unsigned gen = 0;
	FILE *fp;

	if (!mgmt_method_is(r, "POST", out))
		return 0;
	if (cp->hooks.tls_reload == NULL) {
		mgmt_audit(cp, actor, "tls.reload.unavailable", "{}");
		return mgmt_error(out, 503, "STARTTLS not configured: nothing to reload");
	}
	err[0] = 0;
	if (cp->hooks.tls_reload(cp->hooks.ctx, &gen, err, sizeof(err)) < 0) {
		detail_json(detail, sizeof(detail), "error", err, NULL);
		mgmt_audit(cp, actor, "tls.reload.refused", detail);
		return mgmt_error(out, 409, "TLS reload refused, the running certificate"
				  " stays: %s", err);
	}
	snprintf(detail, sizeof(detail), "{\"generation\":%u}", gen);
	mgmt_audit(cp, actor, "tls.reload", detail);
	if ((fp = mgmt_body(out, 200)) == NULL)
		return -1;
	fprintf(fp, "{\"reloaded\":true,\"generation\":%u}\n", gen);
	return fclose(fp) == 0 ? 0 : -1;
}
