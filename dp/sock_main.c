/*
 * sock_main.c - mxgate-filter: the kernel-socket content-filter mode
 *
 *	mxgate-filter [options]
 *
 * DESCRIPTION
 *	Runs the gateway's SMTP sessions, engine and relay over kernel
 *	sockets, as a Postfix after-queue content_filter: Postfix :25 ─▶
 *	mxgate-filter :10025 ─▶ Postfix :10026 (docs/postfix.md has the
 *	main.cf and master.cf lines). One line of JSON per message goes to
 *	the log (standard output by default). SIGTERM and SIGINT stop it:
 *	sessions in progress are told 421, nothing accepted is lost. SIGHUP
 *	reloads the TLS certificate and key (docs/tls.md).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctlplane.h"
#include "profiler.h"
#include "profiler_store.h"
#include "rules.h"
#include "rules_sock.h"
#include "rulesmgr.h"
#include "sock.h"
#include "sfilter_hooks.h"
#include "sock_int.h"
#include "tls.h"

#ifndef MX_DEFAULT_RULES_DIR
#define MX_DEFAULT_RULES_DIR "/usr/share/mxgate/rules"
#endif
#define QUARANTINE_DIR_DEFAULT	"/var/lib/mxgate/quarantine"

static volatile int stop_flag;
static struct rules_sock_opts rules_opts;	/* rule publishing */

/* on_signal - only set the flag (STYLE.md) */
static void on_signal(int sig)
{
	if (sig == SIGHUP)
		sock_tls_reload_requested = 1;
	else	/* atomic: worker threads read it while this runs on another */
		__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
}

/* usage - what every option does, with its default */
static void usage(FILE *fp)
{
	fprintf(fp,
"usage: mxgate-filter [options]\n"
"\n"
"The mxgate engine as a Postfix content filter over kernel sockets:\n"
"Postfix :25 -> mxgate-filter :10025 -> Postfix :10026 (docs/postfix.md).\n"
"A message is answered 250 only after the downstream accepted it (or it\n"
"was quarantined or discarded by policy); rejects are 550 at end of DATA.\n"
"\n"
"Options (defaults in brackets):\n"
"  -l, --listen ADDR:PORT     where to accept SMTP [127.0.0.1:10025]\n"
"  -r, --relay ADDR:PORT      downstream MTA [127.0.0.1:10026]\n"
"  -R, --rules DIR            rule set [$MXGATE_RULES or %s]\n"
"  -t, --threads N            worker threads [one per CPU]\n"
"  -c, --max-conns N          sessions per thread [%d]\n"
"  -q, --quarantine DIR       quarantine store [%s]\n"
"  -L, --log FILE             JSON message log, '-' = stdout [-]\n"
"  -H, --hostname NAME        name in greeting and headers [host name]\n"
"  -s, --max-size BYTES       largest message accepted [%u]\n"
"      --relay-conns N        downstream connections per thread [%d]\n"
"      --bare-lf normalise    accept bare CR/LF in DATA as CRLF\n"
"                             [default: refuse the message, 550 5.6.0]\n"
"      --xforward-nets L      CIDR,... whose XFORWARD names the client (the\n"
"                             front Postfix), 'none' to refuse it from all\n"
"                             [" SOCK_XFORWARD_NETS_DEFAULT "]\n"
"  STARTTLS (docs/tls.md; offered when --tls-cert is given):\n"
"      --tls-cert FILE        PEM certificate chain, leaf first [none: no TLS]\n"
"      --tls-key FILE         PEM private key, no passphrase [none]\n"
"      --tls-ciphers LIST     TLS 1.2 ciphers [ECDHE AES-GCM/CHACHA20]\n"
"      --tls-ciphersuites L   TLS 1.3 suites [%s]\n"
"      --tls-min-version V    TLSv1.2 or TLSv1.3 [%s]\n"
"      --tls-sessions N       handshakes/TLS sessions at once per thread [%d]\n"
"      --tls-handshake-timeout S  seconds from 220 to handshake done [%d]\n"
"      --tls-require-nets L   a.b.c.d/len,... must STARTTLS before MAIL\n"
"                             (530 5.7.0) [none]\n"
"                             SIGHUP reloads cert and key without dropping\n"
"                             sessions\n"
"  Management (docs/operations.md, Management API):\n"
"      --mgmt-listen ADDR:PORT  HTTPS API and /metrics, 'off' for none\n"
"                             [" CTLPLANE_MGMT_LISTEN_DEFAULT "]\n"
"      --mgmt-cert FILE       PEM certificate [self-signed, made at first\n"
"                             start in the state dir: mgmt-cert.pem]\n"
"      --mgmt-key FILE        PEM private key [state dir: mgmt-key.pem]\n"
"      --mgmt-tokens FILE     hashed bearer tokens (`mxgate token add`)\n"
"                             [state dir: tokens]\n"
"                             state dir: --state-dir [" CTLPLANE_STATE_DIR_DEFAULT "]\n"
"      --db CONNINFO          PostgreSQL store (libpq conninfo), 'private'\n"
"                             for a private server in /var/lib/mxgate/pg\n"
"                             [none: local quarantine, no message search]\n"
"      --node NAME            this gateway in the store [host name]\n"
"      --sender-filter FILE   sender filter configuration\n"
"                             (docs/sender-filter.md) [none]\n"
"  Rule publishing (docs/adr/0010-rule-publishing.md):\n"
"      --state-dir DIR        kept rule versions (rollback) and the requests\n"
"                             of `mxgate rules` [none: SIGHUP re-reads --rules]\n"
"      --pidfile FILE         for `mxgate rules` to signal [none]\n"
"      --rules-bundle-url URL   signed rules bundle, fetched over HTTPS [none]\n"
"      --rules-bundle-ca FILE   CA the bundle server must chain to [none]\n"
"      --rules-bundle-key FILE  Ed25519 public key (PEM) of the signer [none]\n"
"      --rules-bundle-interval S  seconds between fetches [0: on request]\n"
"                             SIGHUP: the pending `mxgate rules` request, or\n"
"                             re-read --rules; new messages use the new set,\n"
"                             messages in progress end on theirs\n"
"  -h, --help                 this help\n",
	MX_DEFAULT_RULES_DIR, SOCK_CONNS_DEFAULT, QUARANTINE_DIR_DEFAULT,
	SMTP_DEF_MSG_SIZE_MAX, RELAY_CONNS_DEFAULT, TLS_CIPHERSUITES_DEFAULT,
	TLS_MIN_VERSION_DEFAULT, TLS_SESSIONS_DEFAULT,
	TLS_HANDSHAKE_TIMEOUT_DEFAULT_S);
}

/* parse_hostport - "ADDR:PORT" (or "[v6]:PORT") into its parts */
static int parse_hostport(const char *arg, char *host, size_t hostlen,
			  uint16_t *port)
{
	const char *colon = strrchr(arg, ':');
	const char *h = arg;
	size_t hl;
	char *end;
	long p;

	if (colon == NULL)
		return -1;
	hl = (size_t)(colon - arg);
	if (hl >= 2 && arg[0] == '[' && arg[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	p = strtol(colon + 1, &end, 10);
	if (*end || p <= 0 || p > 65535)
		return -1;
	memcpy(host, h, hl);
	host[hl] = 0;
	*port = (uint16_t)p;
	return 0;
}

/* number - a bounded positive option value, or exit with a clear error */
static unsigned long number(const char *opt, const char *arg, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || v == 0 || v > max) {
		fprintf(stderr, "mxgate-filter: --%s wants a number from 1 to %lu,"
			" not '%s'\n", opt, max, arg);
		exit(2);
	}
	return v;
}

/* filter_core_stats - ctlplane hook: each thread's counters */
static unsigned filter_core_stats(void *ctx, struct ctlplane_core_stats *out,
				  unsigned max)
{
	const struct sock_config *cfg = ctx;
	unsigned n = cfg->threads < max ? cfg->threads : max;

	for (unsigned i = 0; i < n; i++) {
		out[i] = cfg->stats[i];
		metrics_hist_read(&cfg->stats[i].scan_ms, &out[i].scan_ms);
		metrics_hist_read(&cfg->stats[i].total_ms, &out[i].total_ms);
		out[i].core = i;
		/* no frames, no TX bursts, no doorbell: rx/tx_bytes are
		 * what the sessions read from and wrote to their sockets */
		out[i].has = 0;
		if (cfg->sfilter) {
			const struct sfilter_counters *c = sfilter_reader_counters(
				sfilter_reader(cfg->sfilter, i));

			out[i].has |= CTLPLANE_HAS_SFILTER;
			sfilter_counters_export(&out[i].sfilter, c);
		}
	}
	return n;
}

/* filter_relay_state - ctlplane hook: the downstream's address */
static void filter_relay_state(void *ctx, struct ctlplane_relay_state *out)
{
	const struct sock_config *cfg = ctx;

	snprintf(out->addr, sizeof(out->addr), "%s:%u", cfg->relay.host,
		 cfg->relay.port);
	out->reachable = -1;	/* the control plane probes */
	for (unsigned i = 0; i < cfg->threads; i++) {
		const struct ctlplane_core_stats *c = &cfg->stats[i];
		uint64_t answered = c->msg_pass + c->msg_tag + c->msg_quarantine
			+ c->msg_discard + c->msg_reject + c->msg_tempfail;

		out->queued += c->relay_queued;
		out->in_flight += c->messages > answered ? c->messages - answered : 0;
	}
}

/* filter_blocks_json - ctlplane hook: the IP Profiler's blocks */
static int filter_blocks_json(void *ctx, char **json)
{
	const struct sock_config *cfg = ctx;

	return profiler_blocks_json(sfilter_profiler(cfg->sfilter), json);
}

/* filter_unblock - ctlplane hook: DELETE /api/v1/blocks/ADDR */
static int filter_unblock(void *ctx, uint32_t addr)
{
	const struct sock_config *cfg = ctx;

	return profiler_unblock(sfilter_profiler(cfg->sfilter), addr);
}

/* filter_tls_reload - ctlplane hook: POST /api/v1/tls/reload */
static int filter_tls_reload(void *ctx, unsigned *generation, char *err,
			     size_t errlen)
{
	const struct sock_config *cfg = ctx;

	if (tls_reload(cfg->tls, err, errlen) < 0) {
		fprintf(stderr, "mxgate-filter: TLS reload (API) refused, keeping"
			" the old certificate: %s\n", err);
		return -1;
	}
	*generation = tls_generation(cfg->tls);
	fprintf(stderr, "mxgate-filter: TLS reloaded (API, generation %u)\n",
		*generation);
	return 0;
}

static struct ctlplane_hooks filter_hooks = {
	.core_stats = filter_core_stats,
	.relay_state = filter_relay_state,
};

/* filter_ctlplane - what the control plane needs to know of us */
static int filter_ctlplane(struct ctlplane_config *cc, struct sock_config *cfg,
			   const char *rules_dir, const struct ruleset *rs,
			   const char *qdir, const char *hostname,
			   const char *state_dir)
{
	static char relay[80], threads[16];
	static const char *kv[2 * CTLPLANE_CONFIG_KEYS_MAX + 1];
	unsigned n = 0;

	if (cfg->threads == 0)
		cfg->threads = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (cfg->threads == 0)
		cfg->threads = 1;
	if (cfg->threads > SOCK_THREADS_MAX)
		cfg->threads = SOCK_THREADS_MAX;
	if ((cfg->stats = calloc(cfg->threads, sizeof(*cfg->stats))) == NULL)
		return -1;
	filter_hooks.ctx = cfg;
	if (sfilter_profiler(cfg->sfilter)) {
		filter_hooks.blocks_json = filter_blocks_json;
		filter_hooks.unblock = filter_unblock;
	}
	if (cfg->tls)
		filter_hooks.tls_reload = filter_tls_reload;
	snprintf(relay, sizeof(relay), "%s:%u", cfg->relay.host, cfg->relay.port);
	snprintf(threads, sizeof(threads), "%u", cfg->threads);
	kv[n++] = "listen"; kv[n++] = cfg->listen;
	kv[n++] = "relay"; kv[n++] = relay;
	kv[n++] = "rules"; kv[n++] = rules_dir;
	kv[n++] = "threads"; kv[n++] = threads;
	kv[n++] = "quarantine"; kv[n++] = qdir;
	kv[n++] = "hostname"; kv[n++] = hostname;
	kv[n++] = "db"; kv[n++] = !cc->store ? "none" : cc->pg_conninfo ? "(conninfo)" : "private";
	kv[n] = NULL;
	cc->daemon = "mxgate-filter";
#ifdef MX_VERSION
	cc->version = MX_VERSION;
#endif
	if (state_dir)
		cc->state_dir = state_dir;
	cc->rules_dir = rules_dir;
	cc->rules = rs;
	cc->rules_version = rules_version(rs);
	cc->quarantine_dir = qdir;
	cc->relay_host = cfg->relay.host;
	cc->relay_port = cfg->relay.port;
	cc->relay_helo = hostname;
	cc->workers = cfg->threads;
	cc->config_kv = kv;
	return 0;
}

/* main - options, rules, then run until a signal */
int main(int argc, char **argv)
{
	enum { OPT_MGMT_LISTEN = 400, OPT_MGMT_CERT, OPT_MGMT_KEY, OPT_MGMT_TOKENS,
	       OPT_DB, OPT_NODE };
	enum { OPT_RELAY_CONNS = 256, OPT_STATE_DIR = 320, OPT_PIDFILE,
	       OPT_BUNDLE_URL, OPT_BUNDLE_CA, OPT_BUNDLE_KEY, OPT_BUNDLE_EVERY,
	       OPT_BARE_LF, OPT_TLS_CERT, OPT_TLS_KEY,
	       OPT_TLS_CIPHERS, OPT_TLS_SUITES, OPT_TLS_MIN, OPT_TLS_SESSIONS,
	       OPT_TLS_TIMEOUT, OPT_TLS_NETS, OPT_XFORWARD_NETS };
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "relay", required_argument, NULL, 'r' },
		{ "rules", required_argument, NULL, 'R' },
		{ "threads", required_argument, NULL, 't' },
		{ "max-conns", required_argument, NULL, 'c' },
		{ "quarantine", required_argument, NULL, 'q' },
		{ "log", required_argument, NULL, 'L' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "max-size", required_argument, NULL, 's' },
		{ "relay-conns", required_argument, NULL, OPT_RELAY_CONNS },
		{ "bare-lf", required_argument, NULL, OPT_BARE_LF },
		{ "xforward-nets", required_argument, NULL, OPT_XFORWARD_NETS },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "pidfile", required_argument, NULL, OPT_PIDFILE },
		{ "rules-bundle-url", required_argument, NULL, OPT_BUNDLE_URL },
		{ "rules-bundle-ca", required_argument, NULL, OPT_BUNDLE_CA },
		{ "rules-bundle-key", required_argument, NULL, OPT_BUNDLE_KEY },
		{ "rules-bundle-interval", required_argument, NULL, OPT_BUNDLE_EVERY },
		{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
		{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
		{ "tls-ciphers", required_argument, NULL, OPT_TLS_CIPHERS },
		{ "tls-ciphersuites", required_argument, NULL, OPT_TLS_SUITES },
		{ "tls-min-version", required_argument, NULL, OPT_TLS_MIN },
		{ "tls-sessions", required_argument, NULL, OPT_TLS_SESSIONS },
		{ "tls-handshake-timeout", required_argument, NULL, OPT_TLS_TIMEOUT },
		{ "tls-require-nets", required_argument, NULL, OPT_TLS_NETS },
		{ "mgmt-listen", required_argument, NULL, OPT_MGMT_LISTEN },
		{ "mgmt-cert", required_argument, NULL, OPT_MGMT_CERT },
		{ "mgmt-key", required_argument, NULL, OPT_MGMT_KEY },
		{ "mgmt-tokens", required_argument, NULL, OPT_MGMT_TOKENS },
		{ "db", required_argument, NULL, OPT_DB },
		{ "node", required_argument, NULL, OPT_NODE },
		{ "sender-filter", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *rules_dir = getenv("MXGATE_RULES");
	const char *sfilter_path = NULL;
	const char *qdir = QUARANTINE_DIR_DEFAULT, *log_path = "-";
	static char hostname[256];
	struct sock_config cfg;
	struct ctlplane_config ccfg;
	struct ctlplane *cp = NULL;
	struct profiler_store *pstore;
	char cp_err[512];
	struct tls_config tcfg;
	struct tls_server *tls = NULL;
	char tls_err[512];
	struct rules_error err;
	struct ruleset *rs;
	struct sigaction sa;
	FILE *log = stdout;
	int c, rc;

	sock_config_default(&cfg);
	ctlplane_config_default(&ccfg);
	tls_config_default(&tcfg);
	cfg.smtp.timeout_tls_ms = TLS_HANDSHAKE_TIMEOUT_DEFAULT_S * 1000ull;
	if (gethostname(hostname, sizeof(hostname) - 1) != 0 || !hostname[0])
		snprintf(hostname, sizeof(hostname), "mxgate");
	if (!rules_dir || !*rules_dir)
		rules_dir = MX_DEFAULT_RULES_DIR;
	while ((c = getopt_long(argc, argv, "l:r:R:t:c:q:L:H:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (parse_hostport(optarg, cfg.listen, sizeof(cfg.listen), &cfg.port) < 0) {
				fprintf(stderr, "mxgate-filter: --listen wants ADDR:PORT"
					" with a numeric address, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'r':
			if (parse_hostport(optarg, cfg.relay.host, sizeof(cfg.relay.host),
					   &cfg.relay.port) < 0) {
				fprintf(stderr, "mxgate-filter: --relay wants ADDR:PORT"
					" with a numeric address, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'R': rules_dir = optarg; break;
		case 't': cfg.threads = (unsigned)number("threads", optarg, SOCK_THREADS_MAX); break;
		case 'c': cfg.max_conns = (unsigned)number("max-conns", optarg, 100000); break;
		case 'q': qdir = optarg; break;
		case 'L': log_path = optarg; break;
		case 'H': snprintf(hostname, sizeof(hostname), "%s", optarg); break;
		case 's': cfg.smtp.msg_size_max = number("max-size", optarg, 1UL << 31); break;
		case OPT_RELAY_CONNS:
			cfg.relay.max_conns = (unsigned)number("relay-conns", optarg, 256);
			break;
		case OPT_BARE_LF:
			if (strcmp(optarg, "normalise") && strcmp(optarg, "normalize")
			    && strcmp(optarg, "reject")) {
				fprintf(stderr, "mxgate-filter: --bare-lf is 'reject' or"
					" 'normalise', not '%s'\n", optarg);
				return 2;
			}
			cfg.smtp.bare_eol = optarg[0] == 'n' ? SMTP_BARE_EOL_NORMALISE
					    : SMTP_BARE_EOL_REJECT;
			break;
		case OPT_XFORWARD_NETS:
			if (sock_nets_parse(&cfg.xforward_nets, optarg, tls_err,
					    sizeof(tls_err)) < 0) {
				fprintf(stderr, "mxgate-filter: --xforward-nets: %s\n",
					tls_err);
				return 2;
			}
			break;
		case OPT_TLS_CERT:
			snprintf(tcfg.cert_file, sizeof(tcfg.cert_file), "%s", optarg);
			break;
		case OPT_TLS_KEY:
			snprintf(tcfg.key_file, sizeof(tcfg.key_file), "%s", optarg);
			break;
		case OPT_TLS_CIPHERS:
			snprintf(tcfg.ciphers, sizeof(tcfg.ciphers), "%s", optarg);
			break;
		case OPT_TLS_SUITES:
			snprintf(tcfg.ciphersuites, sizeof(tcfg.ciphersuites), "%s", optarg);
			break;
		case OPT_TLS_MIN:
			snprintf(tcfg.min_version, sizeof(tcfg.min_version), "%s", optarg);
			break;
		case OPT_TLS_SESSIONS:
			tcfg.sessions_max = (unsigned)number("tls-sessions", optarg, 1000000);
			break;
		case OPT_TLS_TIMEOUT:
			cfg.smtp.timeout_tls_ms = 1000ull * number("tls-handshake-timeout",
								   optarg, 3600);
			break;
		case OPT_TLS_NETS:
			snprintf(tcfg.require_nets, sizeof(tcfg.require_nets), "%s", optarg);
			break;
		case OPT_MGMT_LISTEN: ccfg.mgmt_listen = optarg; break;
		case OPT_MGMT_CERT: ccfg.mgmt_cert = optarg; break;
		case OPT_MGMT_KEY: ccfg.mgmt_key = optarg; break;
		case OPT_MGMT_TOKENS: ccfg.mgmt_tokens = optarg; break;
		case OPT_DB:
			ccfg.store = 1;
			ccfg.pg_conninfo = strcmp(optarg, "private") ? optarg : NULL;
			break;
		case OPT_NODE: ccfg.node = optarg; break;
		case 'F': sfilter_path = optarg; break;
		case OPT_STATE_DIR: rules_opts.state_dir = optarg; break;
		case OPT_PIDFILE: rules_opts.pidfile = optarg; break;
		case OPT_BUNDLE_URL: rules_opts.bundle_url = optarg; break;
		case OPT_BUNDLE_CA: rules_opts.bundle_ca = optarg; break;
		case OPT_BUNDLE_KEY: rules_opts.bundle_key = optarg; break;
		case OPT_BUNDLE_EVERY:
			rules_opts.bundle_interval_s = (unsigned)number("rules-bundle-interval",
								      optarg, 86400 * 7);
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mxgate-filter: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	memset(&err, 0, sizeof(err));
	if ((rs = rules_load_dir(rules_dir, &err)) == NULL) {
		fprintf(stderr, "mxgate-filter: rule set %s refused: %s%s%.0d%s%s\n",
			rules_dir, err.file, err.line ? ":" : "", err.line,
			err.file[0] ? ": " : "", err.msg);
		return 2;
	}
	if (mkdir(qdir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "mxgate-filter: cannot create quarantine directory"
			" %s: %s\n", qdir, strerror(errno));
		return 2;
	}
	if (strcmp(log_path, "-") != 0 && (log = fopen(log_path, "a")) == NULL) {
		fprintf(stderr, "mxgate-filter: cannot open log %s: %s\n", log_path,
			strerror(errno));
		return 2;
	}
	if (tcfg.cert_file[0] || tcfg.key_file[0]) {
		unsigned nthreads = cfg.threads ? cfg.threads
			: (unsigned)sysconf(_SC_NPROCESSORS_ONLN);

		if (nthreads == 0)
			nthreads = 1;
		if (nthreads > SOCK_THREADS_MAX)
			nthreads = SOCK_THREADS_MAX;
		if (!tcfg.cert_file[0]) {
			fprintf(stderr, "mxgate-filter: --tls-key needs --tls-cert\n");
			rules_free(rs);
			return 2;
		}
		if ((tls = tls_server_new(&tcfg, nthreads, tls_err, sizeof(tls_err))) == NULL) {
			fprintf(stderr, "mxgate-filter: TLS refused: %s\n", tls_err);
			rules_free(rs);
			return 2;
		}
		cfg.threads = nthreads;
		cfg.tls = tls;
		fprintf(stderr, "mxgate-filter: STARTTLS offered with %s (%s and up)\n",
			tcfg.cert_file, tcfg.min_version);
	} else if (tcfg.require_nets[0]) {
		fprintf(stderr, "mxgate-filter: --tls-require-nets needs --tls-cert\n");
		rules_free(rs);
		return 2;
	}
	cfg.rules = rs;
	cfg.smtp.hostname = hostname;
	snprintf(cfg.relay.helo, sizeof(cfg.relay.helo), "%s", hostname);
	cfg.delivery.quarantine_dir = qdir;
	cfg.delivery.log = log;
	cfg.delivery.rules_version = rules_version(rs);
	cfg.delivery.hostname = hostname;
	if (sfilter_path && (cfg.sfilter = sfilter_sock_start(sfilter_path, log)) == NULL)
		return 2;
	fprintf(stderr, "mxgate-filter: rules %s: %zu rules, version %s\n",
		rules_dir, rules_count(rs), rules_version(rs));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((cfg.rules_swap = rules_sock_start(&rules_opts, &cfg, rules_dir,
					       &stop_flag)) == NULL)
		return 2;
	if (filter_ctlplane(&ccfg, &cfg, rules_dir, rs, qdir, hostname, rules_opts.state_dir) < 0
	    || (cp = ctlplane_start(&ccfg, &filter_hooks, cp_err, sizeof(cp_err))) == NULL) {
		fprintf(stderr, "mxgate-filter: control plane: %s\n", cp_err);
		free(cfg.stats);
		return 2;
	}
	ctlplane_set_rules(cp, rules_sock_manager(cfg.rules_swap));
	/* with --db, rule versions are shared with the other gateways */
	rulesmgr_attach_store(rules_sock_manager(cfg.rules_swap), ctlplane_store(cp));
	/* delivery logs to and quarantines in the control plane's store */
	cfg.delivery.store = ctlplane_store(cp);
	/* with --db, profiler blocks outlive a restart (docs/sender-filter.md) */
	pstore = profiler_store_start(sfilter_profiler(cfg.sfilter), ctlplane_store(cp), stderr);
	rc = sock_run(&cfg, &stop_flag);
	profiler_store_stop(pstore);	/* before the profiler and the store */
	sfilter_free(cfg.sfilter);
	rulesmgr_attach_store(rules_sock_manager(cfg.rules_swap), NULL);
	ctlplane_stop(cp);
	free(cfg.stats);
	rules_sock_stop(cfg.rules_swap);	/* after ctlplane_stop */
	tls_server_free(tls);
	rules_free(rs);
	if (log != stdout)
		fclose(log);
	fprintf(stderr, "mxgate-filter: stopped\n");
	return rc < 0 ? 1 : 0;
}
