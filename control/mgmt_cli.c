/*
 * mgmt_cli.c - `mxgate status | messages | quarantine | blocks | tls | token`
 *
 *	int mgmt_cli(int argc, char **argv);
 *	int mgmt_cli_connect(int *argc, char ***argv, struct mgmt_client *c,
 *			int *json);
 *
 * DESCRIPTION
 *	The command-line side of the management API: argv[0] is the command
 *	(status, messages, quarantine, blocks, tls, token). Connection options, common to
 *	every command (mgmt_cli_connect() takes them out of argv, so `mxgate
 *	rules` can use it too):
 *
 *	--url URL	[$MXGATE_URL, else https://127.0.0.1:8445]
 *	--token T	[$MXGATE_TOKEN, else the first line of --token-file]
 *	--token-file F	[$MXGATE_TOKEN_FILE]
 *	--cacert F	certificate to trust [STATE_DIR/mgmt-cert.pem, the
 *			gateway's self-signed one, when readable; else the
 *			system's CA store]
 *	--insecure	no certificate verification
 *	--state-dir D	[$MXGATE_STATE_DIR, else /var/lib/mxgate]
 *	--json		print the API's JSON instead of tables
 *
 *	`mxgate token add NAME` needs no server: it appends the hash of a new
 *	random token to the tokens file (--tokens FILE, else STATE_DIR/tokens)
 *	and prints the token, once.
 *
 * DIAGNOSTICS
 *	Exit status 0 done, 1 the API said no (4xx/5xx, printed), 2 usage
 *	or connection errors.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctlplane.h"
#include "mgmt.h"
#include "mgmt_cli.h"
#include "mgmt_client.h"
#include "mgmt_json.h"

#define CLI_FIELD_MAX		1024	/* one table cell, decoded */
#define CLI_QUERY_MAX		2048
#define CLI_TOKEN_MAX		512

static char cli_token[CLI_TOKEN_MAX];
static char cli_cacert[MGMT_PATH_MAX];
static char cli_state[MGMT_PATH_MAX];

/* cli_usage - the management commands */
static void cli_usage(FILE *fp)
{
	fprintf(fp,
"usage: mxgate status [--json]\n"
"       mxgate messages [--sender A] [--recipient A] [--action ACT]\n"
"                       [--qid Q] [--upstream-qid Q]\n"
"                       [--since T] [--until T] [--limit N] [--json]\n"
"       mxgate quarantine list [--limit N] [--json]\n"
"       mxgate quarantine show QID [--raw]\n"
"       mxgate quarantine release QID\n"
"       mxgate quarantine delete QID\n"
"       mxgate blocks [list] [--json]\n"
"       mxgate blocks remove ADDR\n"
"       mxgate tls reload\n"
"       mxgate token add NAME [--tokens FILE]\n"
"\n"
"Connection options (any command that talks to the gateway):\n"
"  --url URL          management API [$MXGATE_URL or %s]\n"
"  --token T          bearer token [$MXGATE_TOKEN, or --token-file]\n"
"  --token-file F     file whose first line is the token [$MXGATE_TOKEN_FILE]\n"
"  --cacert F         certificate to trust [STATE_DIR/mgmt-cert.pem]\n"
"  --insecure         do not verify the gateway's certificate\n"
"  --state-dir D      [$MXGATE_STATE_DIR or %s]\n"
"T (--since/--until) is Unix milliseconds or YYYY-MM-DD[THH:MM:SSZ];\n"
"ACT is pass, tag, quarantine, discard, reject or tempfail.\n"
"--qid is mxgate's queue id; --upstream-qid the front Postfix's (XFORWARD\n"
"IDENT, socket mode), e.g. from the front Postfix's log or a Received line.\n",
		MGMT_CLIENT_URL_DEFAULT, CTLPLANE_STATE_DIR_DEFAULT);
}

/* read_token - the first word of a file */
static int read_token(const char *path)
{
	FILE *fp = fopen(path, "r");

	if (fp == NULL || fgets(cli_token, sizeof(cli_token), fp) == NULL) {
		fprintf(stderr, "mxgate: cannot read a token from %s\n", path);
		if (fp)
			fclose(fp);
		return -1;
	}
	fclose(fp);
	cli_token[strcspn(cli_token, " \t\r\n")] = 0;
	return 0;
}

/* mgmt_cli_connect - take the connection options out of argv */
int mgmt_cli_connect(int *argc, char ***argv, struct mgmt_client *c, int *json)
{
	const char *url = getenv("MXGATE_URL"), *token = getenv("MXGATE_TOKEN");
	const char *token_file = getenv("MXGATE_TOKEN_FILE");
	const char *cacert = NULL, *state = getenv("MXGATE_STATE_DIR");
	char **av = *argv, err[512];
	int insecure = 0, n = 0;

	for (int i = 0; i < *argc; i++) {
		const char *a = av[i];
		const char *next = i + 1 < *argc ? av[i + 1] : NULL;

#define TAKE(opt, var) \
		if (strcmp(a, opt) == 0) { \
			if (next == NULL) { \
				fprintf(stderr, "mxgate: %s needs a value\n", opt); \
				return 2; \
			} \
			var = next; i++; continue; \
		}
		TAKE("--url", url);
		TAKE("--token", token);
		TAKE("--token-file", token_file);
		TAKE("--cacert", cacert);
		TAKE("--state-dir", state);
#undef TAKE
		if (strcmp(a, "--insecure") == 0 || strcmp(a, "-k") == 0) {
			insecure = 1;
			continue;
		}
		if (json && (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0)) {
			*json = 1;
			continue;
		}
		av[n++] = av[i];
	}
	av[n] = NULL;
	*argc = n;
	if (mgmt_client_init(c, url && *url ? url : MGMT_CLIENT_URL_DEFAULT, err,
			     sizeof(err)) < 0) {
		fprintf(stderr, "mxgate: %s\n", err);
		return 2;
	}
	snprintf(cli_state, sizeof(cli_state), "%s", state && *state ? state
		 : CTLPLANE_STATE_DIR_DEFAULT);
	if (token && *token)
		snprintf(cli_token, sizeof(cli_token), "%s", token);
	else if (token_file && *token_file && read_token(token_file) < 0)
		return 2;
	c->token = cli_token[0] ? cli_token : NULL;
	c->insecure = insecure;
	if (cacert)
		c->cacert = cacert;
	else {
		if (snprintf(cli_cacert, sizeof(cli_cacert), "%s/mgmt-cert.pem", cli_state)
		    < (int)sizeof(cli_cacert) && access(cli_cacert, R_OK) == 0)
			c->cacert = cli_cacert;
	}
	return 0;
}

/* call - one request; prints API errors; 0 ok, 1 API refusal, 2 no answer */
static int call(const struct mgmt_client *c, const char *method,
		const char *path, const char *body, struct mgmt_response *r)
{
	char err[1024], msg[CLI_FIELD_MAX];

	if (mgmt_client_request(c, method, path, body, r, err, sizeof(err)) < 0) {
		fprintf(stderr, "mxgate: %s\n", err);
		return 2;
	}
	if (r->status / 100 == 2)
		return 0;
	if (mgmt_json_get(r->body, r->len, "error", msg, sizeof(msg)) != 1)
		snprintf(msg, sizeof(msg), "%.200s", r->body);
	fprintf(stderr, "mxgate: %s %s: %d: %s%s\n", method, path, r->status, msg,
		r->status == 401 ? " (--token, $MXGATE_TOKEN; `mxgate token add NAME`"
		" on the gateway makes one)" : "");
	mgmt_response_free(r);
	return 1;
}

/* field - one member as text, "-" when absent */
static const char *field(const char *obj, size_t n, const char *key, char *buf,
			 size_t len)
{
	if (mgmt_json_value(obj, n, key, buf, len) != 1 || !buf[0])
		snprintf(buf, len, "-");
	return buf;
}

/* ms_time - Unix ms (or RFC 3339 text, kept) as "YYYY-MM-DD HH:MM:SS" */
static const char *ms_time(char *buf, size_t len)
{
	char *end;
	long long ms = strtoll(buf, &end, 10);
	struct tm tm;
	time_t t;

	if (*end || end == buf)
		return buf;
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

/* print_json - the body as it came */
static void print_json(const struct mgmt_response *r)
{
	fwrite(r->body, 1, r->len, stdout);
	if (r->len && r->body[r->len - 1] != '\n')
		putchar('\n');
}

/* core_row - one line of the per-core table */
static int core_row(void *ctx, const char *item, size_t n)
{
	char a[64], b[64], d[64], e[64], f[64], g[64], h[64], k[64], c[64], act[512];

	if (mgmt_json_value(item, n, "messages_by_action", act, sizeof(act)) != 1)
		snprintf(act, sizeof(act), "{}");
	(void)ctx;
	printf("%-6s %10s %10s %8s %8s %8s %8s %8s %8s\n",
	       field(item, n, "core", a, sizeof(a)), field(item, n, "sessions", b, sizeof(b)),
	       field(item, n, "messages_received", d, sizeof(d)),
	       field(act, strlen(act), "pass", e, sizeof(e)),
	       field(act, strlen(act), "tag", f, sizeof(f)),
	       field(act, strlen(act), "quarantine", g, sizeof(g)),
	       field(act, strlen(act), "reject", h, sizeof(h)),
	       field(act, strlen(act), "tempfail", k, sizeof(k)),
	       field(item, n, "connections", c, sizeof(c)));
	return 0;
}

/* cmd_status - `mxgate status` */
static int cmd_status(const struct mgmt_client *c, int json)
{
	struct mgmt_response r, s;
	char a[CLI_FIELD_MAX], b[CLI_FIELD_MAX], f[64], o[4096];
	int rc;

	if ((rc = call(c, "GET", "/api/v1/status", NULL, &r)) != 0)
		return rc;
	if (json) {
		print_json(&r);
		mgmt_response_free(&r);
		return 0;
	}
	printf("daemon      %s %s\n", field(r.body, r.len, "daemon", a, sizeof(a)),
	       field(r.body, r.len, "version", b, sizeof(b)));
	printf("uptime      %s s\n", field(r.body, r.len, "uptime_s", a, sizeof(a)));
	printf("workers     %s\n", field(r.body, r.len, "workers", a, sizeof(a)));
	printf("rules       %s\n", field(r.body, r.len, "rules_version", a, sizeof(a)));
	if (mgmt_json_value(r.body, r.len, "downstream", o, sizeof(o)) == 1)
		printf("downstream  %s (reachable: %s, in flight: %s)\n",
		       field(o, strlen(o), "addr", a, sizeof(a)),
		       field(o, strlen(o), "reachable", b, sizeof(b)),
		       field(o, strlen(o), "in_flight", f, sizeof(f)));
	if (mgmt_json_value(r.body, r.len, "db", o, sizeof(o)) == 1) {
		field(o, strlen(o), "open", a, sizeof(a));
		if (strcmp(a, "true") == 0)
			printf("database    %s (queued %s rows)\n",
			       strcmp(field(o, strlen(o), "connected", b, sizeof(b)), "true")
			       ? "disconnected, spooling" : "connected",
			       field(o, strlen(o), "queued", a, sizeof(a)));
		else
			printf("database    none%s%s\n",
			       mgmt_json_get(o, strlen(o), "error", b, sizeof(b)) == 1 ? ": " : "",
			       mgmt_json_get(o, strlen(o), "error", b, sizeof(b)) == 1 ? b : "");
	}
	mgmt_response_free(&r);
	if (call(c, "GET", "/api/v1/stats", NULL, &s) == 0) {
		printf("\n%-6s %10s %10s %8s %8s %8s %8s %8s %8s\n", "core", "sessions",
		       "messages", "pass", "tag", "quar", "reject", "tempfail", "conns");
		char *cores = malloc(s.len + 1);

		if (cores && mgmt_json_value(s.body, s.len, "cores", cores, s.len + 1) == 1)
			mgmt_json_each(cores, strlen(cores), core_row, NULL);
		free(cores);
		mgmt_response_free(&s);
	}
	return 0;
}

/* first_rcpt - "a@b (+2)" from a JSON array of strings */
static void first_rcpt(const char *item, size_t n, char *out, size_t len)
{
	char buf[8192];
	const char *items[64];
	size_t k = 0;

	if (mgmt_json_get_list(item, n, "rcpt", buf, sizeof(buf), items, 64, &k) != 1
	    && mgmt_json_get_list(item, n, "recipients", buf, sizeof(buf), items, 64, &k) != 1)
		k = 0;
	if (k == 0)
		snprintf(out, len, "-");
	else if (k == 1)
		snprintf(out, len, "%s", items[0]);
	else
		snprintf(out, len, "%s (+%zu)", items[0], k - 1);
}

#define CLI_QID_WIDTH		20	/* table column of a queue id */

/* a table being printed */
struct cli_table {
	int count;		/* rows printed */
	int upstream;		/* some row has an upstream_qid: show the column */
};

/* has_upstream - stop at the first row carrying an upstream_qid */
static int has_upstream(void *ctx, const char *item, size_t n)
{
	char u[128];
	int *found = ctx;

	/* mgmt_json_get: strings only, so a JSON null is "absent" */
	if (mgmt_json_get(item, n, "upstream_qid", u, sizeof(u)) == 1 && u[0])
		*found = 1;
	return *found;
}

/* table_row - one message: time, qid, [upstream qid,] sender, recipients,
 * action, score */
static int table_row(void *ctx, const char *item, size_t n)
{
	static const char *const times[] = { "logged_at", "quarantined_at", "time", "ts" };
	char t[64] = "-", q[128], uq[128], from[CLI_FIELD_MAX], rc[CLI_FIELD_MAX];
	char act[32], sc[32];
	char *meta = malloc(n + 1);
	struct cli_table *tab = ctx;

	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		if (mgmt_json_value(item, n, times[i], t, sizeof(t)) == 1)
			break;
	if (strlen(t) >= 19 && t[10] == 'T') {	/* RFC 3339 from the store */
		t[10] = ' ';
		t[19] = 0;
	} else {
		ms_time(t, sizeof(t));
	}
	if (mgmt_json_value(item, n, "from", from, sizeof(from)) != 1
	    && mgmt_json_value(item, n, "sender", from, sizeof(from)) != 1)
		snprintf(from, sizeof(from), "-");
	first_rcpt(item, n, rc, sizeof(rc));
	field(item, n, "action", act, sizeof(act));
	field(item, n, "score", sc, sizeof(sc));
	/* a stored quarantine row keeps the verdict in its metadata */
	if (meta && strcmp(act, "-") == 0
	    && mgmt_json_value(item, n, "meta", meta, n + 1) == 1) {
		field(meta, strlen(meta), "action", act, sizeof(act));
		field(meta, strlen(meta), "score", sc, sizeof(sc));
	}
	free(meta);
	printf("%-19.19s  %-*.*s  ", t, CLI_QID_WIDTH, CLI_QID_WIDTH,
	       field(item, n, "qid", q, sizeof(q)));
	/* field() would print a JSON null as "null" */
	if (tab->upstream && (mgmt_json_get(item, n, "upstream_qid", uq,
					    sizeof(uq)) != 1 || !uq[0]))
		snprintf(uq, sizeof(uq), "-");
	if (tab->upstream)
		printf("%-*.*s  ", CLI_QID_WIDTH, CLI_QID_WIDTH, uq);
	printf("%-26.26s  %-26.26s  %-10.10s %5s\n", from[0] ? from : "<>", rc,
	       act, sc);
	tab->count++;
	return 0;
}

/* print_table - a JSON array of messages as a table */
static void print_table(const struct mgmt_response *r)
{
	struct cli_table tab = { 0, 0 };

	/* the column only when it says something: DPDK mode has no front MTA */
	mgmt_json_each(r->body, r->len, has_upstream, &tab.upstream);
	printf("%-19s  %-*s  ", "time (UTC)", CLI_QID_WIDTH, "qid");
	if (tab.upstream)
		printf("%-*s  ", CLI_QID_WIDTH, "upstream qid");
	printf("%-26s  %-26s  %-10s %5s\n", "from", "to", "action", "score");
	if (mgmt_json_each(r->body, r->len, table_row, &tab) < 0)
		fprintf(stderr, "mxgate: the gateway's answer is not a JSON array\n");
	printf("(%d)\n", tab.count);
}

/* add_param - &name=value, percent-encoded */
static void add_param(char *q, size_t qlen, const char *name, const char *v)
{
	size_t n = strlen(q);

	n += (size_t)snprintf(q + n, qlen - n, "%s%s=", strchr(q, '?') ? "&" : "?", name);
	for (const unsigned char *p = (const unsigned char *)v; *p && n + 4 < qlen; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
		    || (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			q[n++] = (char)*p;
		else
			n += (size_t)snprintf(q + n, qlen - n, "%%%02X", *p);
	}
	q[n] = 0;
}

/* cmd_messages - `mxgate messages [filters]` */
static int cmd_messages(const struct mgmt_client *c, int argc, char **argv,
			int json)
{
	static const struct option opts[] = {
		{ "sender", required_argument, NULL, 's' },
		{ "recipient", required_argument, NULL, 'r' },
		{ "action", required_argument, NULL, 'a' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "limit", required_argument, NULL, 'n' },
		{ "qid", required_argument, NULL, 'q' },
		{ "upstream-qid", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const names[] = { "sender", "recipient", "action", "since",
					     "until", "limit", "qid", "upstream_qid" };
	char q[CLI_QUERY_MAX] = "/api/v1/messages";
	struct mgmt_response r;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int k;

		for (k = 0; opts[k].name && opts[k].val != ch; k++)
			;
		if (opts[k].name == NULL) {
			cli_usage(stderr);
			return 2;
		}
		add_param(q, sizeof(q), names[k], optarg);
	}
	if (optind < argc) {
		fprintf(stderr, "mxgate messages: unexpected '%s'\n", argv[optind]);
		return 2;
	}
	if ((rc = call(c, "GET", q, NULL, &r)) != 0)
		return rc;
	if (json)
		print_json(&r);
	else
		print_table(&r);
	mgmt_response_free(&r);
	return 0;
}

/* cmd_quarantine - list, show, release, delete */
static int cmd_quarantine(const struct mgmt_client *c, int argc, char **argv,
			  int json)
{
	char path[CLI_QUERY_MAX], msg[CLI_FIELD_MAX];
	struct mgmt_response r;
	const char *sub = argc > 1 ? argv[1] : "list";
	int rc;

	if (strcmp(sub, "list") == 0) {
		snprintf(path, sizeof(path), "/api/v1/quarantine");
		if (argc > 3 && strcmp(argv[2], "--limit") == 0)
			add_param(path, sizeof(path), "limit", argv[3]);
		if ((rc = call(c, "GET", path, NULL, &r)) != 0)
			return rc;
		json ? print_json(&r) : print_table(&r);
		mgmt_response_free(&r);
		return 0;
	}
	if (argc < 3 || strspn(argv[2], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(argv[2]) || argv[2][0] == '.') {
		fprintf(stderr, "mxgate quarantine %s: give a queue id (letters, digits)\n", sub);
		return 2;
	}
	if (strcmp(sub, "show") == 0) {
		int raw = argc > 3 && strcmp(argv[3], "--raw") == 0;

		snprintf(path, sizeof(path), "/api/v1/quarantine/%s%s", argv[2],
			 raw ? "?raw=1" : "");
		if ((rc = call(c, "GET", path, NULL, &r)) != 0)
			return rc;
		if (raw)
			fwrite(r.body, 1, r.len, stdout);
		else
			print_json(&r);
		mgmt_response_free(&r);
		return 0;
	}
	if (strcmp(sub, "release") == 0 || strcmp(sub, "delete") == 0) {
		int rel = sub[0] == 'r';

		snprintf(path, sizeof(path), "/api/v1/quarantine/%s%s", argv[2],
			 rel ? "/release" : "");
		if ((rc = call(c, rel ? "POST" : "DELETE", path, NULL, &r)) != 0)
			return rc;
		if (json)
			print_json(&r);
		else if (rel)
			printf("released %s: downstream said %s\n", argv[2],
			       mgmt_json_get(r.body, r.len, "downstream", msg, sizeof(msg)) == 1
			       ? msg : "ok");
		else
			printf("deleted %s\n", argv[2]);
		mgmt_response_free(&r);
		return 0;
	}
	fprintf(stderr, "mxgate quarantine: unknown '%s' (list, show, release, delete)\n", sub);
	return 2;
}

/* block_row - one line of the blocks table */
static int block_row(void *ctx, const char *item, size_t n)
{
	char a[64], rule[256], perm[16], rem[32], hits[32];

	(void)ctx;
	field(item, n, "permanent", perm, sizeof(perm));
	field(item, n, "remaining_s", rem, sizeof(rem));
	printf("%-16s %-5s %10s %6s  %s\n", field(item, n, "addr", a, sizeof(a)),
	       strcmp(perm, "true") == 0 ? "perm" : "temp",
	       strcmp(perm, "true") == 0 ? "-" : rem,
	       field(item, n, "hits", hits, sizeof(hits)),
	       field(item, n, "rule", rule, sizeof(rule)));
	return 0;
}

/* cmd_blocks - `mxgate blocks [list]`, `mxgate blocks remove ADDR` */
static int cmd_blocks(const struct mgmt_client *c, int argc, char **argv, int json)
{
	char path[CLI_QUERY_MAX];
	struct mgmt_response r;
	const char *sub = argc > 1 ? argv[1] : "list";
	int rc;

	if (strcmp(sub, "list") == 0) {
		if ((rc = call(c, "GET", "/api/v1/blocks", NULL, &r)) != 0)
			return rc;
		if (json) {
			print_json(&r);
		} else {
			printf("%-16s %-5s %10s %6s  %s\n", "ADDRESS", "KIND", "LEFT_S",
			       "HITS", "RULE");
			if (mgmt_json_each(r.body, r.len, block_row, NULL) < 0)
				print_json(&r);
		}
		mgmt_response_free(&r);
		return 0;
	}
	if (strcmp(sub, "remove") == 0) {
		if (argc < 3 || strspn(argv[2], "0123456789.") != strlen(argv[2])) {
			fprintf(stderr, "mxgate blocks remove: give an IPv4 address\n");
			return 2;
		}
		snprintf(path, sizeof(path), "/api/v1/blocks/%s", argv[2]);
		if ((rc = call(c, "DELETE", path, NULL, &r)) != 0)
			return rc;
		if (json)
			print_json(&r);
		else
			printf("removed the block of %s\n", argv[2]);
		mgmt_response_free(&r);
		return 0;
	}
	fprintf(stderr, "mxgate blocks: unknown '%s' (list, remove ADDR)\n", sub);
	return 2;
}

/* cmd_tls - `mxgate tls reload` */
static int cmd_tls(const struct mgmt_client *c, int argc, char **argv, int json)
{
	char gen[32];
	struct mgmt_response r;
	int rc;

	if (argc < 2 || strcmp(argv[1], "reload") != 0) {
		fprintf(stderr, "usage: mxgate tls reload\n");
		return 2;
	}
	if ((rc = call(c, "POST", "/api/v1/tls/reload", "{}", &r)) != 0)
		return rc;
	if (json)
		print_json(&r);
	else
		printf("TLS certificate and key reloaded (generation %s)\n",
		       field(r.body, r.len, "generation", gen, sizeof(gen)));
	mgmt_response_free(&r);
	return 0;
}

/* cmd_token - `mxgate token add NAME [--tokens FILE]` */
static int cmd_token(int argc, char **argv)
{
	char path[MGMT_PATH_MAX], token[2 * MGMT_TOKEN_BYTES + 1], err[512];

	if (argc < 3 || strcmp(argv[1], "add") != 0 || argv[2][0] == '-') {
		/* a name that looks like an option is a mistyped command
		 * (`mxgate token add --help`), not a token to create */
		fprintf(stderr, "usage: mxgate token add NAME [--tokens FILE] [--state-dir D]\n"
			"  NAME: a word that does not begin with '-'\n");
		return argc >= 3 && (strcmp(argv[2], "--help") == 0
				     || strcmp(argv[2], "-h") == 0) ? 0 : 2;
	}
	if (argc > 4 && strcmp(argv[3], "--tokens") == 0)
		snprintf(path, sizeof(path), "%s", argv[4]);
	else if (snprintf(path, sizeof(path), "%s/tokens", cli_state) >= (int)sizeof(path)) {
		fprintf(stderr, "mxgate token add: state directory path too long\n");
		return 2;
	}
	if (mgmt_token_add(path, argv[2], token, sizeof(token), err, sizeof(err)) < 0) {
		fprintf(stderr, "mxgate token add: %s\n", err);
		return 2;
	}
	printf("%s\n", token);
	fprintf(stderr, "mxgate: token '%s' added to %s; it is shown only now\n",
		argv[2], path);
	return 0;
}

/* mgmt_cli - dispatch a management command */
int mgmt_cli(int argc, char **argv)
{
	struct mgmt_client c;
	int json = 0, rc;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		cli_usage(stdout);
		return 0;
	}
	if ((rc = mgmt_cli_connect(&argc, &argv, &c, &json)) != 0)
		return rc;
	if (strcmp(argv[0], "token") == 0)
		return cmd_token(argc, argv);
	if (strcmp(argv[0], "status") == 0) {
		rc = cmd_status(&c, json);
		return rc;
	}
	if (strcmp(argv[0], "messages") == 0)
		return cmd_messages(&c, argc, argv, json);
	if (strcmp(argv[0], "quarantine") == 0)
		return cmd_quarantine(&c, argc, argv, json);
	if (strcmp(argv[0], "blocks") == 0)
		return cmd_blocks(&c, argc, argv, json);
	if (strcmp(argv[0], "tls") == 0)
		return cmd_tls(&c, argc, argv, json);
	cli_usage(stderr);
	return 2;
}
