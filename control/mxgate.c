/*
 * mxgate.c - the mxgate command-line tool
 *
 *	mxgate scan [options] FILE...	scan messages, print verdicts
 *	mxgate rules check DIR		validate a rule set
 *	mxgate rules publish|rollback|versions|fetch|sign	rule publishing
 *	mxgate version
 *
 * DESCRIPTION
 *	`scan` streams each message through the same engine the gateway runs
 *	on its lcores (MIME parse, decode, Hyperscan, policy) and prints one
 *	verdict per message. Exit status: 0 every message passed, 1 at least
 *	one was flagged (any action other than pass), 2 an error (an
 *	unreadable file, a refused rule set, an engine failure); an error
 *	wins over a flag.
 *
 *	The rule set comes from --rules DIR, else $MXGATE_RULES, else the
 *	built-in default (MX_DEFAULT_RULES_DIR, set at build time).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "engine.h"
#include "mgmt_cli.h"
#include "rules.h"
#include "scan_report.h"

#ifndef MX_DEFAULT_RULES_DIR
#define MX_DEFAULT_RULES_DIR "/usr/share/mxgate/rules"
#endif
#ifndef MX_VERSION
#define MX_VERSION "unknown"
#endif

/* Exit statuses of `mxgate scan`. */
#define EXIT_CLEAN	0
#define EXIT_FLAGGED	1
#define EXIT_ERROR	2

/* `mxgate rules` by SIGHUP: how long to wait for the daemon's answer. */
#define RULES_CLI_WAIT_MS	120000	/* a 10,000-pattern set compiles long */
#define RULES_CLI_POLL_MS	10
#define RULES_CLI_HISTORY_MAX	1000	/* lines of state_dir/rules/history */

/* Most recipients `scan --rcpt` accepts. */
#define SCAN_MAX_RCPT	100

/* usage - the top-level help */
static void usage(FILE *fp)
{
	fprintf(fp,
"usage: mxgate COMMAND [ARGS]\n"
"\n"
"Commands:\n"
"  scan [options] FILE...   scan messages (RFC 5322 files, '-' for stdin)\n"
"                           and print one verdict per message\n"
"  rules check DIR          validate and compile a rule set; report the\n"
"                           first problem with file and line\n"
"  rules publish DIR | rollback | versions | fetch [URL] | sign DIR\n"
"                           rule updates on the running gateway, without\n"
"                           dropping a session ('mxgate rules --help')\n"
"  status                   the running gateway: version, rules, downstream,\n"
"                           database, per-core counters (HTTPS API)\n"
"  messages [filters]       search the message log (--sender, --recipient,\n"
"                           --action, --qid, --upstream-qid, --since,\n"
"                           --until, --limit)\n"
"  quarantine list|show|release|delete [QID]\n"
"                           the quarantine; release re-injects downstream\n"
"  blocks [list] | blocks remove ADDR\n"
"                           the IP Profiler's blocks in force; remove one\n"
"  tls reload               read the STARTTLS certificate and key again\n"
"  token add NAME           a new API token (printed once, stored hashed)\n"
"  version                  print the version\n"
"\n"
"Run 'mxgate scan --help' for the scan options, 'mxgate status --help'\n"
"for the connection options of the API commands (--url, --token, --json).\n");
}

/* scan_usage - help for `mxgate scan` */
static void scan_usage(FILE *fp)
{
	fprintf(fp,
"usage: mxgate scan [options] FILE...\n"
"\n"
"Scan each message with the gateway's engine and print its verdict.\n"
"FILE '-' reads one message from standard input.\n"
"\n"
"Options:\n"
"  -r, --rules DIR     rule set directory (default: $MXGATE_RULES, else\n"
"                      %s)\n"
"  -j, --json          one JSON object per message on one line\n"
"  -v, --verbose       text output also lists every part\n"
"      --from ADDR     envelope sender (default: the null sender)\n"
"      --rcpt ADDR     envelope recipient; repeatable (max %d)\n"
"      --client IP     client address for envelope rules\n"
"      --helo NAME     HELO name for envelope rules\n"
"      --chunk N       feed the engine N bytes at a time (testing aid:\n"
"                      the verdict never depends on it; 0 = random sizes)\n"
"      --seed N        seed for --chunk 0 (default 1)\n"
"  -h, --help          this help\n"
"\n"
"Exit status: 0 all passed, 1 at least one flagged, 2 error.\n",
	MX_DEFAULT_RULES_DIR, SCAN_MAX_RCPT);
}

/* load_rules - load a rule set or explain why not */
static struct ruleset *load_rules(const char *dir)
{
	struct rules_error err;
	struct ruleset *rs;

	memset(&err, 0, sizeof(err));
	rs = rules_load_dir(dir, &err);
	if (rs == NULL) {
		if (err.line > 0)
			fprintf(stderr, "mxgate: rule set %s refused: %s:%d: %s\n",
				dir, err.file, err.line, err.msg);
		else
			fprintf(stderr, "mxgate: rule set %s refused: %s%s%s\n",
				dir, err.file, err.file[0] ? ": " : "", err.msg);
	}
	return rs;
}

/* rules_dir_default - where rules come from without --rules */
static const char *rules_dir_default(void)
{
	const char *env = getenv("MXGATE_RULES");

	return env && *env ? env : MX_DEFAULT_RULES_DIR;
}

/* cmd_scan - mxgate scan */
static int cmd_scan(int argc, char **argv)
{
	enum { OPT_FROM = 256, OPT_RCPT, OPT_CLIENT, OPT_HELO, OPT_CHUNK, OPT_SEED };
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "rcpt", required_argument, NULL, OPT_RCPT },
		{ "client", required_argument, NULL, OPT_CLIENT },
		{ "helo", required_argument, NULL, OPT_HELO },
		{ "chunk", required_argument, NULL, OPT_CHUNK },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *rcpt[SCAN_MAX_RCPT];
	struct scan_options so;
	const char *dir = NULL;
	struct ruleset *rs;
	char *end;
	int c, i, rc, worst = EXIT_CLEAN;

	memset(&so, 0, sizeof(so));
	so.chunk = -1;
	so.seed = 1;
	so.env.client_addr = "";
	so.env.client_name = "";
	so.env.helo = "";
	so.env.mail_from = "";
	so.env.rcpt = rcpt;
	optind = 1;
	while ((c = getopt_long(argc, argv, "r:jvh", opts, NULL)) != -1) {
		switch (c) {
		case 'r': dir = optarg; break;
		case 'j': so.json = 1; break;
		case 'v': so.verbose = 1; break;
		case OPT_FROM: so.env.mail_from = optarg; break;
		case OPT_RCPT:
			if (so.env.nrcpt == SCAN_MAX_RCPT) {
				fprintf(stderr, "mxgate scan: more than %d --rcpt\n",
					SCAN_MAX_RCPT);
				return EXIT_ERROR;
			}
			rcpt[so.env.nrcpt++] = optarg;
			break;
		case OPT_CLIENT: so.env.client_addr = optarg; break;
		case OPT_HELO: so.env.helo = optarg; break;
		case OPT_CHUNK:
		case OPT_SEED:
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || *end || v < 0 || v > (1L << 30)) {
				fprintf(stderr, "mxgate scan: --%s wants a number"
					" from 0 to %ld, not '%s'\n",
					c == OPT_CHUNK ? "chunk" : "seed",
					1L << 30, optarg);
				return EXIT_ERROR;
			}
			if (c == OPT_CHUNK)
				so.chunk = v;
			else
				so.seed = (unsigned)v;
			break;
		case 'h': scan_usage(stdout); return EXIT_CLEAN;
		default: scan_usage(stderr); return EXIT_ERROR;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "mxgate scan: no message given (a file, or '-'"
			" for standard input)\n");
		scan_usage(stderr);
		return EXIT_ERROR;
	}
	if (dir == NULL)
		dir = rules_dir_default();
	if ((rs = load_rules(dir)) == NULL)
		return EXIT_ERROR;

	struct scan_run *run = scan_run_new(rs, &so);
	if (run == NULL) {
		fprintf(stderr, "mxgate scan: cannot set up the engine: %s\n",
			strerror(errno));
		rules_free(rs);
		return EXIT_ERROR;
	}
	for (i = optind; i < argc; i++) {
		rc = scan_run_file(run, argv[i]);
		if (rc == SCAN_FILE_ERROR)
			worst = EXIT_ERROR;
		else if (rc == SCAN_FILE_FLAGGED && worst == EXIT_CLEAN)
			worst = EXIT_FLAGGED;
	}
	scan_run_free(run);
	rules_free(rs);
	return worst;
}

/* rules_usage - help for `mxgate rules` */
static void rules_usage(FILE *fp)
{
	fprintf(fp,
"usage: mxgate rules check DIR\n"
"       mxgate rules publish DIR   [transport options]\n"
"       mxgate rules rollback      [transport options]\n"
"       mxgate rules versions      [transport options] [--json]\n"
"       mxgate rules fetch [URL]   [transport options]\n"
"       mxgate rules sign DIR -k KEY.pem -o BUNDLE\n"
"\n"
"check     parse and compile every *.rules file of DIR as one rule set;\n"
"          print the rule count and version, or the file, line and reason\n"
"          of the first problem (exit 2).\n"
"publish   the running gateway compiles DIR (off its data path) and\n"
"          switches every worker to it at its next message; a refused set\n"
"          changes nothing and the reason is printed (exit 1).\n"
"rollback  back to the version published before the running one.\n"
"versions  the kept versions, newest first; the running one is marked.\n"
"fetch     the gateway downloads its signed bundle (rules_bundle_url, or\n"
"          URL), checks the Ed25519 signature and publishes it.\n"
"sign      pack DIR's *.rules files into BUNDLE and write its detached\n"
"          Ed25519 signature to BUNDLE.sig (KEY: PEM private key, e.g.\n"
"          from `openssl genpkey -algorithm ed25519`).\n"
"\n"
"Transport: with --pidfile FILE the request goes to the daemon by SIGHUP\n"
"through --state-dir DIR (its state_dir: DIR/rules/request and reply; the\n"
"daemon must run with the same state_dir). Without --pidfile it goes to\n"
"the management API (--url, --token, --cacert, --state-dir: see\n"
"'mxgate status --help'); `versions` and `fetch` need the SIGHUP path\n"
"where the API has no such route.\n");
}

/* rules_opt - take "--name VALUE" out of argv; NULL when absent */
static const char *rules_opt(int *argc, char **argv, const char *name)
{
	const char *v = NULL;
	int     i, j;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], name) != 0 || i + 1 >= *argc)
			continue;
		v = argv[i + 1];
		for (j = i; j + 2 <= *argc; j++)
			argv[j] = argv[j + 2];
		*argc -= 2;
		break;
	}
	return v;
}

/* rules_signal - one request to the daemon by SIGHUP; prints the reply */
static int rules_signal(const char *pidfile, const char *state_dir,
			const char *request)
{
	char    req[PATH_MAX], tmp[PATH_MAX + 8], rep[PATH_MAX], line[1024];
	struct timespec ts = { 0, RULES_CLI_POLL_MS * 1000000L };
	long    pid;
	FILE   *f;

	if (state_dir == NULL) {
		fprintf(stderr, "mxgate rules: --pidfile needs --state-dir (the"
			" daemon's)\n");
		return EXIT_ERROR;
	}
	if ((f = fopen(pidfile, "r")) == NULL || fscanf(f, "%ld", &pid) != 1
	    || pid <= 1) {
		fprintf(stderr, "mxgate rules: no daemon pid in %s: %s\n", pidfile,
			f ? "not a number" : strerror(errno));
		if (f)
			fclose(f);
		return EXIT_ERROR;
	}
	fclose(f);
	snprintf(req, sizeof(req), "%s/rules/request", state_dir);
	snprintf(tmp, sizeof(tmp), "%s.cli", req);
	snprintf(rep, sizeof(rep), "%s/rules/reply", state_dir);
	(void) unlink(rep);
	if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%s\n", request) < 0
	    || fclose(f) != 0 || rename(tmp, req) < 0) {
		fprintf(stderr, "mxgate rules: write %s: %s\n", req, strerror(errno));
		return EXIT_ERROR;
	}
	if (kill((pid_t)pid, SIGHUP) < 0) {
		fprintf(stderr, "mxgate rules: signal pid %ld: %s\n", pid,
			strerror(errno));
		(void) unlink(req);
		return EXIT_ERROR;
	}
	for (int waited = 0; waited < RULES_CLI_WAIT_MS; waited += RULES_CLI_POLL_MS) {
		if ((f = fopen(rep, "r")) != NULL) {
			if (fgets(line, sizeof(line), f) == NULL)
				line[0] = '\0';
			fclose(f);
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "ok ", 3) == 0) {
				printf("running %s\n", line + 3);
				return EXIT_CLEAN;
			}
			fprintf(stderr, "mxgate rules: %s\n",
				strncmp(line, "error ", 6) == 0 ? line + 6 : line);
			return EXIT_FLAGGED;
		}
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "mxgate rules: no answer from pid %ld within %d ms\n",
		pid, RULES_CLI_WAIT_MS);
	return EXIT_ERROR;
}

/* rules_history - `versions` from state_dir/rules/history, newest first */
static int rules_history(const char *state_dir, int json)
{
	char    path[PATH_MAX], line[512], v[64], actor[64];
	char  (*lines)[512] = NULL;
	long long ms;
	size_t  n = 0, nrules;
	FILE   *f;

	snprintf(path, sizeof(path), "%s/rules/history", state_dir);
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "mxgate rules: %s: %s\n", path, strerror(errno));
		return EXIT_ERROR;
	}
	if ((lines = calloc(RULES_CLI_HISTORY_MAX, sizeof(*lines))) == NULL) {
		fclose(f);
		return EXIT_ERROR;
	}
	while (n < RULES_CLI_HISTORY_MAX && fgets(line, sizeof(line), f) != NULL)
		memcpy(lines[n++], line, sizeof(line));
	fclose(f);
	printf(json ? "[" : "%-18s %7s  %-24s %s\n", "VERSION", "RULES",
	       "PUBLISHED (UTC)", "BY");
	for (size_t i = n; i > 0; i--) {
		char    when[32];
		time_t  t;
		struct tm tm;

		if (sscanf(lines[i - 1], "%lld %63s %zu %63s", &ms, v, &nrules,
			   actor) != 4)
			continue;
		t = (time_t)(ms / 1000);
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		if (json)
			printf("%s{\"version\":\"%s\",\"rules\":%zu,\"published_ms\":%lld,"
			       "\"actor\":\"%s\",\"running\":%s}", i == n ? "" : ",",
			       v, nrules, ms, actor, i == n ? "true" : "false");
		else
			printf("%-18s %7zu  %-24s %s%s\n", v, nrules, when, actor,
			       i == n ? "  (running)" : "");
	}
	if (json)
		printf("]\n");
	free(lines);
	return EXIT_CLEAN;
}

/* rules_sign - pack and sign a bundle */
static int rules_sign(int argc, char **argv)
{
	const char *key = rules_opt(&argc, argv, "-k");
	const char *out = rules_opt(&argc, argv, "-o");
	unsigned char sig[BUNDLE_SIG_LEN];
	char    err[512], sigpath[PATH_MAX];
	char   *buf;
	size_t  len;
	FILE   *f;

	if (argc != 2 || key == NULL || out == NULL) {
		rules_usage(stderr);
		return EXIT_ERROR;
	}
	if (bundle_pack(argv[1], &buf, &len, err, sizeof(err)) < 0
	    || bundle_sign(buf, len, key, sig, err, sizeof(err)) < 0) {
		fprintf(stderr, "mxgate rules sign: %s\n", err);
		return EXIT_ERROR;
	}
	snprintf(sigpath, sizeof(sigpath), "%s.sig", out);
	if ((f = fopen(out, "wb")) == NULL || fwrite(buf, 1, len, f) != len
	    || fclose(f) != 0 || (f = fopen(sigpath, "wb")) == NULL
	    || fwrite(sig, 1, sizeof(sig), f) != sizeof(sig) || fclose(f) != 0) {
		fprintf(stderr, "mxgate rules sign: write %s: %s\n", out,
			strerror(errno));
		free(buf);
		return EXIT_ERROR;
	}
	printf("%s: %zu bytes, signature in %s\n", out, len, sigpath);
	free(buf);
	return EXIT_CLEAN;
}

/* rules_api - publish, rollback, versions or fetch through the management
 * API; argv[0] is the subcommand */
static int rules_api(int argc, char **argv)
{
	const char *what = argv[0];
	struct mgmt_client c;
	struct mgmt_response r;
	char    err[512], dir[PATH_MAX], *body = NULL;
	int     json = 0, rc;

	if ((rc = mgmt_cli_connect(&argc, &argv, &c, &json)) != 0)
		return rc;
	if (strcmp(what, "publish") == 0) {
		if (argc != 2 || realpath(argv[1], dir) == NULL) {
			fprintf(stderr, "mxgate rules publish: %s: %s\n",
				argc == 2 ? argv[1] : "which DIR?",
				argc == 2 ? strerror(errno) : "missing");
			return EXIT_ERROR;
		}
		if (asprintf(&body, "{\"dir\":\"%s\"}", dir) < 0)
			return EXIT_ERROR;
		rc = mgmt_client_request(&c, "POST", "/api/v1/rules/publish", body,
					 &r, err, sizeof(err));
	} else if (strcmp(what, "rollback") == 0) {
		rc = mgmt_client_request(&c, "POST", "/api/v1/rules/rollback", "{}",
					 &r, err, sizeof(err));
	} else if (strcmp(what, "fetch") == 0) {
		if (asprintf(&body, "{\"url\":\"%s\"}", argc > 1 ? argv[1] : "") < 0)
			return EXIT_ERROR;
		rc = mgmt_client_request(&c, "POST", "/api/v1/rules/fetch", body,
					 &r, err, sizeof(err));
	} else {
		rc = mgmt_client_request(&c, "GET", "/api/v1/rules/versions", NULL,
					 &r, err, sizeof(err));
	}
	free(body);
	if (rc < 0) {
		fprintf(stderr, "mxgate rules %s: %s\n", what, err);
		return EXIT_ERROR;
	}
	if (r.body != NULL && r.len > 0) {
		/* errors to stderr, like the SIGHUP path; one newline at the end */
		fputs(r.body, r.status / 100 == 2 ? stdout : stderr);
		if (r.body[r.len - 1] != '\n')
			fputc('\n', r.status / 100 == 2 ? stdout : stderr);
	}
	rc = r.status / 100 == 2 ? EXIT_CLEAN : EXIT_FLAGGED;
	mgmt_response_free(&r);
	return rc;
}

/* cmd_rules - mxgate rules check|publish|rollback|versions|fetch|sign */
static int cmd_rules(int argc, char **argv)
{
	const char *pidfile, *state_dir = NULL;
	char    dir[PATH_MAX], request[PATH_MAX + 16];
	struct ruleset *rs;
	int     json = 0;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		rules_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_ERROR : EXIT_CLEAN;
	}
	if (strcmp(argv[1], "check") == 0) {
		if (argc != 3) {
			fprintf(stderr, "usage: mxgate rules check DIR\n");
			return EXIT_ERROR;
		}
		if ((rs = load_rules(argv[2])) == NULL)
			return EXIT_ERROR;
		printf("%s: %zu rules, version %s: ok\n", argv[2], rules_count(rs),
		       rules_version(rs));
		rules_free(rs);
		return EXIT_CLEAN;
	}
	if (strcmp(argv[1], "sign") == 0)
		return rules_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "publish") && strcmp(argv[1], "rollback")
	    && strcmp(argv[1], "versions") && strcmp(argv[1], "fetch")) {
		fprintf(stderr, "mxgate rules: unknown subcommand '%s'\n", argv[1]);
		rules_usage(stderr);
		return EXIT_ERROR;
	}
	if ((pidfile = rules_opt(&argc, argv, "--pidfile")) == NULL)
		return rules_api(argc - 1, argv + 1);
	state_dir = rules_opt(&argc, argv, "--state-dir");
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
	if (strcmp(argv[1], "versions") == 0)
		return state_dir ? rules_history(state_dir, json)
			: rules_signal(pidfile, NULL, "");
	if (strcmp(argv[1], "rollback") == 0)
		return rules_signal(pidfile, state_dir, "rollback");
	if (strcmp(argv[1], "fetch") == 0) {
		snprintf(request, sizeof(request), "fetch%s%s", argc > 2 ? " " : "",
			 argc > 2 ? argv[2] : "");
		return rules_signal(pidfile, state_dir, request);
	}
	if (argc != 3 || realpath(argv[2], dir) == NULL) {
		fprintf(stderr, "mxgate rules publish: %s: %s\n",
			argc == 3 ? argv[2] : "which DIR?",
			argc == 3 ? strerror(errno) : "missing");
		return EXIT_ERROR;
	}
	snprintf(request, sizeof(request), "publish %s", dir);
	return rules_signal(pidfile, state_dir, request);
}

/* main - dispatch a command */
int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_ERROR;
	}
	if (strcmp(argv[1], "scan") == 0)
		return cmd_scan(argc - 1, argv + 1);
	if (strcmp(argv[1], "rules") == 0)
		return cmd_rules(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0 || strcmp(argv[1], "messages") == 0
	    || strcmp(argv[1], "quarantine") == 0 || strcmp(argv[1], "token") == 0
	    || strcmp(argv[1], "blocks") == 0 || strcmp(argv[1], "tls") == 0)
		return mgmt_cli(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("mxgate %s\n", MX_VERSION);
		return EXIT_CLEAN;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0
	    || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_CLEAN;
	}
	fprintf(stderr, "mxgate: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_ERROR;
}
