/*
 * mgmt.h - the HTTPS management port (private to the control plane)
 *
 *	struct mgmt *mgmt_start(struct ctlplane *cp, char *err,
 *			size_t errlen);
 *	void mgmt_stop(struct mgmt *m);
 *
 *	int mgmt_tls_context(const struct ctlplane *cp, SSL_CTX **ctx,
 *			char *err, size_t errlen);		(mgmt_tls.c)
 *	int mgmt_tls_selfsigned(const char *cert, const char *key,
 *			char *err, size_t errlen);
 *
 *	int mgmt_token_check(struct mgmt_tokens *t, const char *header,
 *			char *name, size_t namelen);		(mgmt_auth.c)
 *	int mgmt_token_add(const char *path, const char *name, char *token,
 *			size_t toklen, char *err, size_t errlen);
 *
 *	int mgmt_api(struct ctlplane *cp, const struct http_request *r,
 *			const char *actor, struct mgmt_reply *out); (mgmt_api.c)
 *	int mgmt_quarantine(...);				(mgmt_quar.c)
 *	int mgmt_blocks(...), mgmt_tls_reload(...);		(mgmt_blocks.c)
 *	int mgmt_metrics(...), mgmt_stats(...);			(mgmt_metrics.c)
 *	int mgmt_probe_downstream(struct ctlplane *cp);		(mgmt_probe.c)
 *
 * DESCRIPTION
 *	mgmt_start() binds cp->cfg.mgmt_listen, loads or creates the
 *	certificate and key, and runs one thread with an epoll loop over
 *	non-blocking TLS connections (TLS 1.2 and later only; plaintext is
 *	never answered). A request that parses, whose bearer token is right,
 *	goes to mgmt_api(); handlers run in this thread, one at a time.
 *
 *	mgmt_tls_selfsigned() makes an EC P-256 key and a self-signed X.509
 *	certificate (CN and subjectAltName: the host name, localhost,
 *	127.0.0.1, ::1) valid for MGMT_CERT_DAYS days, each written mode 0600
 *	with O_EXCL through a temporary name.
 *
 *	The tokens file has one "NAME SHA256HEX" line per token; '#' starts a
 *	comment. mgmt_token_check() re-reads it when its mtime changed, so
 *	`mxgate token add` needs no restart, and compares in constant time:
 *	1 and the token's name, 0 wrong or missing. mgmt_token_add() makes a
 *	new random token (MGMT_TOKEN_BYTES, hex), appends its hash under NAME
 *	and gives the token back; it is never stored.
 *
 * DIAGNOSTICS
 *	Failures return -1 (NULL) and fill err with what was attempted and
 *	OpenSSL's or the system's reason.
 */
#ifndef MX_MGMT_H
#define MX_MGMT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/ssl.h>

#include "ctlplane.h"
#include "http.h"

#define MGMT_CONNS_MAX		64	/* TLS connections at once */
#define MGMT_IDLE_MS		30000	/* a connection silent this long closes */
#define MGMT_REQUEST_MS		15000	/* handshake, or one request from its
					 * first byte, must be complete by then
					 * (a trickling client holds no slot) */
#define MGMT_IN_MAX		16384	/* TLS read buffer per connection */
#define MGMT_TOKENS_MAX		256	/* tokens in the file */
#define MGMT_TOKEN_NAME_MAX	64
#define MGMT_TOKEN_BYTES	32	/* random bytes of a new token */
#define MGMT_CERT_DAYS		3650	/* self-signed certificate lifetime */
#define MGMT_RELEASE_TIMEOUT_MS	60000	/* a release waits this long */
#define MGMT_PATH_MAX		4096
#define MGMT_QUERY_MAX		512	/* one query parameter, decoded */

struct pgstore;
struct pgstore_query;
struct rulesmgr;
struct mgmt;

struct mgmt_tokens {
	char path[MGMT_PATH_MAX];
	struct timespec mtime;
	off_t size;
	unsigned n;
	struct {
		char name[MGMT_TOKEN_NAME_MAX];
		unsigned char hash[32];
	} tok[MGMT_TOKENS_MAX];
};

/* The control plane's state; ctlplane.c owns it, the API reads it. */
struct ctlplane {
	struct ctlplane_config cfg;
	struct ctlplane_hooks hooks;
	struct pgstore *store;
	int own_store;			/* opened here: closed here */
	struct rulesmgr *rules;
	int own_rules;			/* made here: freed here */
	struct mgmt *mgmt;
	uint64_t start_ms;		/* wall clock, Unix ms */
	char state_dir[MGMT_PATH_MAX];
	char listen[128];
	char cert[MGMT_PATH_MAX], key[MGMT_PATH_MAX];
	char tokens_path[MGMT_PATH_MAX];
	char store_error[256];		/* why there is no store, "" */
	char rules_version[64];		/* when there is no rules manager */
	pthread_mutex_t lock;		/* the fields below */
	const char *kv[2 * CTLPLANE_CONFIG_KEYS_MAX + 1];
};

/* What a handler answers. */
struct mgmt_reply {
	int status;
	const char *ctype;		/* NULL: application/json */
	char *body;			/* malloc'd */
	size_t len;
	const char *extra;		/* extra header lines, CRLF each */
};

struct mgmt *mgmt_start(struct ctlplane *cp, char *err, size_t errlen);
void mgmt_stop(struct mgmt *m);
int mgmt_tls_context(const struct ctlplane *cp, SSL_CTX **ctx, char *err,
		     size_t errlen);
int mgmt_tls_selfsigned(const char *cert, const char *key, char *err,
			size_t errlen);
int mgmt_token_check(struct mgmt_tokens *t, const char *header, char *name,
		     size_t namelen);
int mgmt_token_add(const char *path, const char *name, char *token,
		   size_t toklen, char *err, size_t errlen);
int mgmt_api(struct ctlplane *cp, const struct http_request *r,
	     const char *actor, struct mgmt_reply *out);

/* mgmt_api.c: helpers for the handlers */
FILE *mgmt_body(struct mgmt_reply *r, int status);
int mgmt_error(struct mgmt_reply *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void mgmt_audit(struct ctlplane *cp, const char *actor, const char *action,
		const char *detail_json);
int mgmt_valid_qid(const char *qid);
int mgmt_method_is(const struct http_request *r, const char *want,
		   struct mgmt_reply *out);

int mgmt_query_filters(const struct http_request *r, struct pgstore_query *q,
		       char bufs[4][MGMT_QUERY_MAX], struct mgmt_reply *out);

/* mgmt_quar.c: /api/v1/quarantine[/QID[/release]] */
int mgmt_quarantine(struct ctlplane *cp, const struct http_request *r,
		    const char *rest, const char *actor, struct mgmt_reply *out);

/* mgmt_blocks.c: /api/v1/blocks[/ADDR], /api/v1/tls/reload */
int mgmt_blocks(struct ctlplane *cp, const struct http_request *r,
		const char *rest, const char *actor, struct mgmt_reply *out);
int mgmt_tls_reload(struct ctlplane *cp, const struct http_request *r,
		    const char *actor, struct mgmt_reply *out);

/* mgmt_probe.c: the downstream's 220, cached */
int mgmt_probe_downstream(struct ctlplane *cp);

/* mgmt_metrics.c: GET /metrics, GET /api/v1/stats */
int mgmt_metrics(struct ctlplane *cp, struct mgmt_reply *out);
int mgmt_stats(struct ctlplane *cp, struct mgmt_reply *out);
unsigned mgmt_cores(struct ctlplane *cp, struct ctlplane_core_stats *cs,
		    unsigned max);

#endif
