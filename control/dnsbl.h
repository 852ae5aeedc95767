/*
 * dnsbl.h - DNSBL and DNSWL lookups: asynchronous, weighted, one verdict
 *
 *	struct dnsbl *dnsbl_new(const struct dnsbl_config *cfg, char *err,
 *			size_t errlen);
 *	int dnsbl_fd(const struct dnsbl *d);
 *	int dnsbl_lookup(struct dnsbl *d, uint32_t addr, uint64_t now_ms);
 *	void dnsbl_run(struct dnsbl *d, uint64_t now_ms, dnsbl_done_fn done,
 *			void *ctx);
 *	int dnsbl_zone_parse(struct dnsbl_config *cfg, const char *spec);
 *	int dnsbl_reply_parse(struct dnsbl_config *cfg, const char *spec);
 *	void dnsbl_free(struct dnsbl *d);
 *
 * DESCRIPTION
 *	Postfix postscreen_dnsbl_sites, done by a control thread: for every
 *	address asked, one A query per configured zone goes by UDP to one
 *	resolver (non-blocking socket; the caller polls dnsbl_fd() and calls
 *	dnsbl_run()). A zone lists the address when its answer is in the
 *	zone's filter (any 127.0.0.0/8 answer by default); its weight is
 *	added to the score (negative weights: DNS allowlists). When every
 *	zone answered, or at timeout_ms, done() gets the score, whether it
 *	reaches the threshold, the reply chosen and the TTL to cache it for
 *	(smallest positive answer TTL, clamped; negative answers and
 *	timeouts: neg_ttl_s). A zone that did not answer counts 0: a dead
 *	resolver lets mail through.
 *
 *	Zone spec (dnsbl_zone_parse): "zone[=a.b.c.d[..e.f.g.h]][*weight]".
 *	Reply spec (dnsbl_reply_parse): "zone[=a.b.c.d] CODE X.Y.Z text",
 *	CODE 4xx or 5xx: used when that zone (with that answer) lists the
 *	address and the score reaches the threshold; first match in config
 *	order, else DNSBL_DEFAULT_CODE with "Service unavailable; client
 *	blocked using ZONE".
 *
 *	Query ids are random (getrandom-seeded xorshift), unique among the
 *	queries out, and map back to (pending slot, zone) through a table of
 *	65536 entries; the question name is compared too, so that a stray
 *	or blind-forged answer cannot list an address.
 *
 * DIAGNOSTICS
 *	dnsbl_new() returns NULL with err filled (socket, resolver address).
 *	dnsbl_lookup() returns -1 when no pending slot is free or the send
 *	fails (the caller treats the address as not listed).
 */
#ifndef MX_CONTROL_DNSBL_H
#define MX_CONTROL_DNSBL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define DNSBL_ZONES_MAX		16
#define DNSBL_REPLIES_MAX	32
#define DNSBL_PENDING_MAX	4096	/* addresses looked up at once */
#define DNSBL_ZONE_NAME_MAX	128
#define DNSBL_TEXT_MAX		160
#define DNSBL_DEFAULT_CODE	550
#define DNSBL_TIMEOUT_MS_DEFAULT 1000
#define DNSBL_THRESHOLD_DEFAULT	1
#define DNSBL_TTL_MIN_S_DEFAULT	60
#define DNSBL_TTL_MAX_S_DEFAULT	3600
#define DNSBL_NEG_TTL_S_DEFAULT	300
#define DNSBL_RESOLVER_DEFAULT	"127.0.0.1:53"

struct dnsbl_zone {
	char name[DNSBL_ZONE_NAME_MAX];
	uint32_t lo, hi;	/* answers that list, host byte order */
	int weight;
};

struct dnsbl_reply {
	int zone;		/* index into zones */
	uint32_t answer;	/* 0: any listing answer */
	int code;
	char enhanced[16];
	char text[DNSBL_TEXT_MAX];
};

struct dnsbl_config {
	struct dnsbl_zone zones[DNSBL_ZONES_MAX];
	unsigned nzones;
	struct dnsbl_reply replies[DNSBL_REPLIES_MAX];
	unsigned nreplies;
	int threshold;
	struct sockaddr_in resolver;
	unsigned timeout_ms;
	unsigned ttl_min_s, ttl_max_s, neg_ttl_s;
};

struct dnsbl_result {
	int score;
	bool listed;		/* score >= threshold */
	int zone;		/* listing zone with the largest weight, -1 */
	uint32_t answer;	/* its answer */
	int reply;		/* index into replies, -1: default */
	uint32_t ttl_s;
	bool timed_out;		/* some zone did not answer */
};

typedef void (*dnsbl_done_fn)(void *ctx, uint32_t addr,
			      const struct dnsbl_result *res);

struct dnsbl;

void dnsbl_config_default(struct dnsbl_config *cfg);
int dnsbl_zone_parse(struct dnsbl_config *cfg, const char *spec);
int dnsbl_reply_parse(struct dnsbl_config *cfg, const char *spec);
int dnsbl_resolver_parse(struct dnsbl_config *cfg, const char *spec);
struct dnsbl *dnsbl_new(const struct dnsbl_config *cfg, char *err, size_t errlen);
int dnsbl_fd(const struct dnsbl *d);
int dnsbl_lookup(struct dnsbl *d, uint32_t addr, uint64_t now_ms);
void dnsbl_run(struct dnsbl *d, uint64_t now_ms, dnsbl_done_fn done, void *ctx);
void dnsbl_free(struct dnsbl *d);

#endif
