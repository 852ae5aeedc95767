/*
 * ctlplane.h - the control plane a daemon starts: store, rules, HTTPS port
 *
 *	void ctlplane_config_default(struct ctlplane_config *cfg);
 *	struct ctlplane *ctlplane_start(const struct ctlplane_config *cfg,
 *			const struct ctlplane_hooks *hooks, char *err,
 *			size_t errlen);
 *	void ctlplane_stop(struct ctlplane *cp);
 *	struct pgstore *ctlplane_store(struct ctlplane *cp);
 *	void ctlplane_set_rules(struct ctlplane *cp, struct rulesmgr *rm);
 *	const char *ctlplane_rules_version(struct ctlplane *cp);
 *
 * DESCRIPTION
 *	Both daemons (mxgate-dp after its SMTP control thread, mxgate-filter
 *	before sock_run) call ctlplane_start() once. It opens the PostgreSQL
 *	store (control/pgstore.h) unless cfg->store is 0, makes the rules
 *	manager (control/rulesmgr.h) and starts the HTTPS management server
 *	(control/mgmt.h) in threads of their own: nothing here runs on a data
 *	plane lcore or a socket-mode worker thread.
 *
 *	The daemon tells the control plane about itself through hooks, all
 *	optional (NULL: the corresponding API field says "unknown" or the
 *	route answers 503):
 *
 *	core_stats	fill up to max per-core snapshots, return how many.
 *			Called from the management thread: read the
 *			single-writer counters without locks. Set .has
 *			to what the daemon measures (CTLPLANE_HAS_*):
 *			the rest is left out of /metrics and the API.
 *	rules_swap	install a new rule set in every worker (passed on to
 *			rulesmgr); *old receives the previous one, to be
 *			freed by the caller once no worker uses it.
 *	relay_state	the downstream: address, whether the last attempt
 *			reached it, messages waiting.
 *	blocks_json	the IP Profiler's blocks in force as a malloc'd JSON
 *			array (profiler_blocks_json); -1 on failure. Set
 *			only when the sender filter has a profiler.
 *	unblock		remove addr's block (IPv4, host order) from the
 *			profiler: 1 removed, 0 none (profiler_unblock).
 *	tls_reload	read the STARTTLS certificate and key again
 *			(tls_reload): 0 and the new generation, or -1 and
 *			the refusal in err (the running pair stays). Set
 *			only when STARTTLS is configured.
 *	All three run on the management thread.
 *
 *	ctlplane_store() gives the store to delivery (quarantine, message
 *	log); NULL when none is configured or it failed to open.
 *
 *	The rules manager: a daemon that makes its own (mxgate-filter's
 *	dp/rules_sock.c) hands it over with ctlplane_set_rules() and frees
 *	it itself after ctlplane_stop(); otherwise, when the rules_swap hook
 *	is given, ctlplane_start() makes one (with the store) and frees it.
 *
 * CONFIGURATION (keys; defaults in brackets)
 *	mgmt_listen	ADDR:PORT of the HTTPS port [127.0.0.1:8445];
 *			"off" disables it. When the default cannot be bound
 *			the daemon says so and runs without the port; a
 *			configured address that cannot be bound is fatal.
 *	mgmt_cert, mgmt_key	PEM files [self-signed, made at first start
 *			in state_dir: mgmt-cert.pem, mgmt-key.pem, mode 0600]
 *	mgmt_tokens	file of hashed bearer tokens [state_dir/tokens]
 *	state_dir	[/var/lib/mxgate]
 *
 * DIAGNOSTICS
 *	ctlplane_start() returns NULL and fills err with what was attempted
 *	(bind of the management address, certificate creation, store). A
 *	store that cannot be opened is not fatal: the daemon runs without it
 *	and the API says so.
 */
#ifndef MX_CTLPLANE_H
#define MX_CTLPLANE_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

#define CTLPLANE_MGMT_LISTEN_DEFAULT	"127.0.0.1:8445"
#define CTLPLANE_STATE_DIR_DEFAULT	"/var/lib/mxgate"
/* Others must traverse it (the private PostgreSQL's data directory is
 * inside by default); the secrets in it are 0600 each. */
#define CTLPLANE_STATE_DIR_MODE		0755
#define CTLPLANE_CORES_MAX		64	/* per-core snapshots */
#define CTLPLANE_CONFIG_KEYS_MAX	64	/* GET /api/v1/config entries */

struct pgstore;
struct ruleset;
struct rulesmgr;

/* What a snapshot measures (ctlplane_core_stats.has): a daemon that
 * has no frames says so, and /metrics omits those families rather than
 * show zeros an operator would take for an idle gateway. */
#define CTLPLANE_HAS_FRAMES	(1u << 0)	/* rx/tx_pkts, drops, cycles,
						 * tx_bursts (mxgate-dp) */
#define CTLPLANE_HAS_WAKEUPS	(1u << 1)	/* ctl_wakeups (mxgate-dp) */
#define CTLPLANE_HAS_SFILTER	(1u << 2)	/* a sender filter runs */

/* The sender filter's counters of one worker, as the daemon copies them
 * from its readers (dp/sfilter_counters.h; control does not include dp). */
struct ctlplane_sfilter_stats {
	uint64_t syn_dropped, syn_reset;	/* block list at SYN */
	uint64_t refused_block, refused_conns, refused_rate;
	uint64_t refused_profiler, refused_dnsbl, refused_pregreet;
	uint64_t rcpt_unknown;
	uint64_t allowed, dnsbl_queries, held;
	uint64_t events_lost, limits_full, refusals_unlogged;
};

/* One worker (lcore or socket-mode thread) as the API reports it. */
struct ctlplane_core_stats {
	unsigned core;			/* lcore id, or thread number */
	unsigned has;			/* CTLPLANE_HAS_* */
	uint64_t rx_pkts, rx_bytes;	/* frames; socket mode: rx_bytes and
					 * tx_bytes are socket payload bytes */
	uint64_t tx_pkts, tx_bytes;
	uint64_t drops;			/* frames dropped, every reason */
	uint64_t tx_bursts, tx_cycles;	/* rte_eth_tx_burst() calls, TSC
					 * cycles inside (part of busy) */
	uint64_t ctl_wakeups;		/* handovers that woke control */
	struct ctlplane_sfilter_stats sfilter;
	uint64_t conns;			/* gauge: TCP connections / sessions */
	uint64_t sessions;		/* SMTP sessions accepted */
	uint64_t sessions_refused;
	uint64_t messages;		/* handed to delivery */
	uint64_t msg_bytes;
	uint64_t msg_pass, msg_tag, msg_quarantine, msg_discard;
	uint64_t msg_reject, msg_tempfail;
	uint64_t msg_delivered;		/* downstream said 2xx */
	uint64_t replies_4xx, replies_5xx;
	uint64_t busy_cycles, idle_cycles;	/* 0 when not measured */
	uint64_t relay_queued;		/* gauge: with the relay (socket mode) */
	struct metrics_hist scan_ms;	/* engine time per message */
	struct metrics_hist total_ms;	/* end of data to the client's reply */
};

/* The downstream MTA as the relay last saw it. */
struct ctlplane_relay_state {
	char addr[80];			/* "127.0.0.1:10026" */
	int reachable;			/* 1 yes, 0 no, -1 not yet known */
	uint64_t queued;		/* messages waiting for a connection */
	uint64_t in_flight;		/* handed to delivery, not answered */
};

struct ctlplane_hooks {
	void   *ctx;
	unsigned (*core_stats)(void *ctx, struct ctlplane_core_stats *out,
			       unsigned max);
	int     (*rules_swap)(void *ctx, struct ruleset *next,
			      struct ruleset **old);
	void    (*relay_state)(void *ctx, struct ctlplane_relay_state *out);
	int     (*blocks_json)(void *ctx, char **json);
	int     (*unblock)(void *ctx, uint32_t addr);
	int     (*tls_reload)(void *ctx, unsigned *generation, char *err,
			      size_t errlen);
};

struct ctlplane_config {
	const char *daemon;		/* "mxgate-dp", "mxgate-filter" */
	const char *version;		/* program version */
	const char *mgmt_listen;	/* NULL: CTLPLANE_MGMT_LISTEN_DEFAULT,
					 * not fatal when it is taken */
	const char *mgmt_cert;		/* NULL: self-signed in state_dir */
	const char *mgmt_key;
	const char *mgmt_tokens;	/* NULL: state_dir/tokens */
	const char *state_dir;		/* NULL: CTLPLANE_STATE_DIR_DEFAULT */
	struct pgstore *pg;		/* a store the daemon opened itself
					 * (mxgate-dp: delivery's); used,
					 * never closed here */
	int     store;			/* 1: open pgstore (when pg is NULL) */
	const char *pg_conninfo;	/* NULL or "": private server */
	const char *pg_datadir;		/* private server's data directory */
	const char *spool_dir;		/* log rows while the DB is down;
					 * NULL: state_dir/spool */
	const char *node;		/* this gateway's name in the DB */
	const char *rules_dir;		/* the rule set started with */
	const char *rules_version;	/* its version */
	const struct ruleset *rules;	/* the running set (not owned) */
	const char *quarantine_dir;	/* local quarantine (no store) */
	const char *relay_host;		/* downstream for released mail */
	uint16_t relay_port;
	const char *relay_helo;
	unsigned workers;		/* lcores or threads */
	/* GET /api/v1/config: NULL-terminated key, value, key, value ... */
	const char *const *config_kv;
};

struct ctlplane;

void ctlplane_config_default(struct ctlplane_config *cfg);
struct ctlplane *ctlplane_start(const struct ctlplane_config *cfg,
				const struct ctlplane_hooks *hooks, char *err,
				size_t errlen);
void ctlplane_stop(struct ctlplane *cp);
struct pgstore *ctlplane_store(struct ctlplane *cp);
void ctlplane_set_rules(struct ctlplane *cp, struct rulesmgr *rm);
const char *ctlplane_rules_version(struct ctlplane *cp);

#endif
