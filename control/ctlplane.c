/*
 * ctlplane.c - start and stop the control plane of a daemon
 *
 *	See ctlplane.h. Order: state directory, store (optional, not fatal),
 *	rules manager (with the store, so published versions reach the other
 *	nodes), management port. Stop in the reverse order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctlplane.h"
#include "mgmt.h"
#include "pgstore.h"
#ifdef MX_HAVE_RULESMGR
#include "rulesmgr.h"
#endif

/* ctlplane_config_default - every key at its documented default */
void ctlplane_config_default(struct ctlplane_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->daemon = "mxgate";
	cfg->version = "unknown";
	cfg->mgmt_listen = NULL;	/* the default, and not fatal when taken */
	cfg->state_dir = CTLPLANE_STATE_DIR_DEFAULT;
}

/* path_in - dir/name, or the configured path when there is one */
static void path_in(char *out, size_t outlen, const char *configured,
		    const char *dir, const char *name)
{
	int n = configured && *configured ? snprintf(out, outlen, "%s", configured)
		: snprintf(out, outlen, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= outlen)
		fprintf(stderr, "path %s/%s: too long, truncated\n", dir, name);
}

/* config_list - GET /api/v1/config: the daemon's keys, then ours */
static void config_list(struct ctlplane *cp)
{
	unsigned n = 0;
	const struct {
		const char *k, *v;
	} ours[] = {
		{ "mgmt_listen", cp->listen },
		{ "mgmt_cert", cp->cert },
		{ "mgmt_key", cp->key },
		{ "mgmt_tokens", cp->tokens_path },
		{ "state_dir", cp->state_dir },
	};

	for (unsigned i = 0; cp->cfg.config_kv && cp->cfg.config_kv[i]
	     && cp->cfg.config_kv[i + 1] && n + 2 < 2 * CTLPLANE_CONFIG_KEYS_MAX; i += 2) {
		cp->kv[n++] = cp->cfg.config_kv[i];
		cp->kv[n++] = cp->cfg.config_kv[i + 1];
	}
	for (unsigned i = 0; i < sizeof(ours) / sizeof(ours[0])
	     && n + 2 <= 2 * CTLPLANE_CONFIG_KEYS_MAX; i++) {
		cp->kv[n++] = ours[i].k;
		cp->kv[n++] = ours[i].v;
	}
	cp->kv[n] = NULL;
}

/* open_store - PostgreSQL; a failure is reported, not fatal */
static void open_store(struct ctlplane *cp)
{
	struct pgstore_config pc;
	char err[256];

	memset(&pc, 0, sizeof(pc));
	pc.conninfo = cp->cfg.pg_conninfo;
	pc.datadir = cp->cfg.pg_datadir;
	pc.spool_dir = cp->cfg.spool_dir;
	pc.state_dir = cp->cfg.state_dir ? cp->cfg.state_dir : CTLPLANE_STATE_DIR_DEFAULT;
	pc.node = cp->cfg.node;
	if ((cp->store = pgstore_open(&pc, err, sizeof(err))) == NULL) {
		snprintf(cp->store_error, sizeof(cp->store_error), "%s", err);
		fprintf(stderr, "%s: PostgreSQL store not available: %s\n",
			cp->cfg.daemon, err);
	}
}

/* open_rules - the rules manager, when this build has one */
static void open_rules(struct ctlplane *cp)
{
#ifdef MX_HAVE_RULESMGR
	struct rulesmgr_config rc;
	struct rulesmgr_hooks rh;
	char err[256];

	if (cp->hooks.rules_swap == NULL)
		return;		/* the daemon may hand one over later */
	rulesmgr_config_default(&rc);
	rc.daemon = cp->cfg.daemon;
	rc.state_dir = cp->state_dir;
	rc.node = cp->cfg.node;
	rc.rules_dir = cp->cfg.rules_dir;
	rc.rules = cp->cfg.rules;
	memset(&rh, 0, sizeof(rh));
	rh.swap = cp->hooks.rules_swap;
	rh.ctx = cp->hooks.ctx;
	if ((cp->rules = rulesmgr_new(&rc, &rh, cp->store, err, sizeof(err))) == NULL)
		fprintf(stderr, "%s: rules manager not available: %s\n",
			cp->cfg.daemon, err);
	cp->own_rules = cp->rules != NULL;
#else
	(void)cp;
#endif
}

/* ctlplane_start - store, rules, management port */
struct ctlplane *ctlplane_start(const struct ctlplane_config *cfg,
				const struct ctlplane_hooks *hooks, char *err,
				size_t errlen)
{
	struct ctlplane *cp;
	struct timespec ts;

	if ((cp = calloc(1, sizeof(*cp))) == NULL) {
		snprintf(err, errlen, "control plane: out of memory");
		return NULL;
	}
	cp->cfg = *cfg;
	if (hooks)
		cp->hooks = *hooks;
	pthread_mutex_init(&cp->lock, NULL);
	clock_gettime(CLOCK_REALTIME, &ts);
	cp->start_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (!cp->cfg.daemon)
		cp->cfg.daemon = "mxgate";
	if (!cp->cfg.version)
		cp->cfg.version = "unknown";
	snprintf(cp->state_dir, sizeof(cp->state_dir), "%s",
		 cfg->state_dir && *cfg->state_dir ? cfg->state_dir
		 : CTLPLANE_STATE_DIR_DEFAULT);
	snprintf(cp->listen, sizeof(cp->listen), "%s",
		 cfg->mgmt_listen && *cfg->mgmt_listen ? cfg->mgmt_listen
		 : CTLPLANE_MGMT_LISTEN_DEFAULT);
	path_in(cp->cert, sizeof(cp->cert), cfg->mgmt_cert, cp->state_dir, "mgmt-cert.pem");
	path_in(cp->key, sizeof(cp->key), cfg->mgmt_key, cp->state_dir, "mgmt-key.pem");
	path_in(cp->tokens_path, sizeof(cp->tokens_path), cfg->mgmt_tokens,
		cp->state_dir, "tokens");
	snprintf(cp->rules_version, sizeof(cp->rules_version), "%s",
		 cfg->rules_version ? cfg->rules_version : "");
	if ((!cfg->mgmt_cert || !cfg->mgmt_tokens) && mkdir(cp->state_dir, CTLPLANE_STATE_DIR_MODE) < 0
	    && errno != EEXIST)	/* what needs it fails later, saying what */
		fprintf(stderr, "%s: create state directory %s: %s\n", cp->cfg.daemon,
			cp->state_dir, strerror(errno));
	config_list(cp);
	if (cfg->pg) {
		cp->store = cfg->pg;
		cp->cfg.store = 1;
	} else if (cfg->store) {
		open_store(cp);
		cp->own_store = cp->store != NULL;
	}
	open_rules(cp);
	if (strcmp(cp->listen, "off") != 0
	    && (cp->mgmt = mgmt_start(cp, err, errlen)) == NULL) {
		if (cfg->mgmt_listen && *cfg->mgmt_listen) {
			ctlplane_stop(cp);
			return NULL;
		}
		/* Only the default address: another daemon (a test's, a second
		 * gateway on this host) may hold it; mail must still flow. */
		fprintf(stderr, "%s: management port not started: %s\n",
			cp->cfg.daemon, err);
	}
	if (cp->mgmt)
		fprintf(stderr, "%s: management port https://%s (tokens %s)\n",
			cp->cfg.daemon, cp->listen, cp->tokens_path);
	return cp;
}

/* ctlplane_stop - management port, rules, store */
void ctlplane_stop(struct ctlplane *cp)
{
	if (cp == NULL)
		return;
	mgmt_stop(cp->mgmt);
#ifdef MX_HAVE_RULESMGR
	if (cp->rules && cp->own_rules)
		rulesmgr_free(cp->rules);
#endif
	if (cp->store && cp->own_store)
		pgstore_close(cp->store);
	pthread_mutex_destroy(&cp->lock);
	free(cp);
}

/* ctlplane_store - the store for delivery; NULL without one */
struct pgstore *ctlplane_store(struct ctlplane *cp)
{
	return cp ? cp->store : NULL;
}

/* ctlplane_set_rules - the daemon's own rules manager, for the API */
void ctlplane_set_rules(struct ctlplane *cp, struct rulesmgr *rm)
{
	if (cp == NULL || cp->own_rules)
		return;
	__atomic_store_n(&cp->rules, rm, __ATOMIC_RELEASE);
}

/* ctlplane_rules_version - the running rule set version */
const char *ctlplane_rules_version(struct ctlplane *cp)
{
#ifdef MX_HAVE_RULESMGR
	if (cp && cp->rules && rulesmgr_version(cp->rules))
		return rulesmgr_version(cp->rules);
#endif
	return cp ? cp->rules_version : "";
}
