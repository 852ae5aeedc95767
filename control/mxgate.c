/*
 * mxgate.c - the mxgate command-line tool
 *
 *	mxgate scan [options] FILE...	scan messages, print verdicts
 *	mxgate rules check DIR		validate a rule set
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
"  status                   the running gateway: version, rules, downstream,\n"
"                           database, per-core counters (HTTPS API)\n"
"  messages [filters]       search the message log (--sender, --recipient,\n"
"                           --action, --since, --until, --limit)\n"
"  quarantine list|show|release|delete [QID]\n"
"                           the quarantine; release re-injects downstream\n"
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

/* cmd_rules - mxgate rules check DIR */
static int cmd_rules(int argc, char **argv)
{
	struct ruleset *rs;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fprintf(argc < 2 ? stderr : stdout,
			"usage: mxgate rules check DIR\n"
			"\n"
			"Parse and compile every *.rules file of DIR as one rule set.\n"
			"Prints the rule count and version, or the file, line and\n"
			"reason of the first problem (exit 2).\n");
		return argc < 2 ? EXIT_ERROR : EXIT_CLEAN;
	}
	if (strcmp(argv[1], "check") != 0) {
		fprintf(stderr, "mxgate rules: unknown subcommand '%s' (try: check)\n",
			argv[1]);
		return EXIT_ERROR;
	}
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
	    || strcmp(argv[1], "quarantine") == 0 || strcmp(argv[1], "token") == 0)
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
