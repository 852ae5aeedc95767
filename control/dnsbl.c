/*
 * dnsbl.c - DNSBL and DNSWL lookups: asynchronous, weighted, one verdict
 *
 *	See dnsbl.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "dnsbl.h"

#define DNSBL_TIMEOUT_SCAN_MS	10	/* how often timeouts are looked for */
#define DNSBL_RECV_BURST	256	/* datagrams read per dnsbl_run() */
#define DNSBL_LOOPBACK_NET	0x7f000000u	/* 127.0.0.0/8: listing answers */
#define DNSBL_IDS		65536	/* DNS query ids */
#define DNSBL_ID_TRIES		16	/* random draws before giving up a zone */

struct pending {
	bool used;
	uint32_t addr;
	uint64_t deadline_ms;
	uint32_t answered;		/* bit per zone */
	uint32_t answer[DNSBL_ZONES_MAX];	/* listing answer, 0: none */
	uint32_t ttl;			/* smallest positive-answer TTL */
	uint16_t id[DNSBL_ZONES_MAX];	/* query id per zone */
	uint32_t sent;			/* bit per zone: id[] in use */
};

struct dnsbl {
	struct dnsbl_config cfg;
	int fd;
	struct pending *pend;
	uint32_t *free_slots;
	unsigned nfree;
	uint64_t next_scan_ms;
	uint32_t *idmap;		/* id -> slot * ZONES_MAX + zone + 1, 0 free */
	uint64_t rng;			/* xorshift state for the ids */
};

/* dnsbl_config_default - no zones, defaults for the rest */
void dnsbl_config_default(struct dnsbl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->threshold = DNSBL_THRESHOLD_DEFAULT;
	cfg->timeout_ms = DNSBL_TIMEOUT_MS_DEFAULT;
	cfg->ttl_min_s = DNSBL_TTL_MIN_S_DEFAULT;
	cfg->ttl_max_s = DNSBL_TTL_MAX_S_DEFAULT;
	cfg->neg_ttl_s = DNSBL_NEG_TTL_S_DEFAULT;
	dnsbl_resolver_parse(cfg, DNSBL_RESOLVER_DEFAULT);
}

/* ipv4 - dotted quad to host order */
static int ipv4(const char *s, size_t n, uint32_t *out)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

/* zone_find - index of a configured zone name, -1 */
static int zone_find(const struct dnsbl_config *cfg, const char *name, size_t n)
{
	for (unsigned i = 0; i < cfg->nzones; i++)
		if (strlen(cfg->zones[i].name) == n && strncasecmp(cfg->zones[i].name, name, n) == 0)
			return (int)i;
	return -1;
}

/* dnsbl_zone_parse - "zone[=a.b.c.d[..e.f.g.h]][*weight]" */
int dnsbl_zone_parse(struct dnsbl_config *cfg, const char *spec)
{
	struct dnsbl_zone *z;
	const char *eq, *star;
	size_t nlen;

	if (cfg->nzones >= DNSBL_ZONES_MAX)
		return -1;
	z = &cfg->zones[cfg->nzones];
	memset(z, 0, sizeof(*z));
	star = strchr(spec, '*');
	eq = strchr(spec, '=');
	if (eq && star && eq > star)
		return -1;
	nlen = eq ? (size_t)(eq - spec) : star ? (size_t)(star - spec) : strlen(spec);
	if (nlen == 0 || nlen >= sizeof(z->name) || zone_find(cfg, spec, nlen) >= 0)
		return -1;
	memcpy(z->name, spec, nlen);
	z->lo = DNSBL_LOOPBACK_NET;
	z->hi = DNSBL_LOOPBACK_NET | 0xffffff;
	z->weight = 1;
	if (eq) {
		const char *a = eq + 1, *end = star ? star : a + strlen(a);
		const char *dots = strstr(a, "..");

		if (dots && dots < end) {
			if (ipv4(a, (size_t)(dots - a), &z->lo) < 0
			    || ipv4(dots + 2, (size_t)(end - dots - 2), &z->hi) < 0
			    || z->hi < z->lo)
				return -1;
		} else {
			if (ipv4(a, (size_t)(end - a), &z->lo) < 0)
				return -1;
			z->hi = z->lo;
		}
	}
	if (star) {
		char *e;
		long w;

		errno = 0;
		w = strtol(star + 1, &e, 10);
		if (errno || *e || e == star + 1 || w < -1000 || w > 1000)
			return -1;
		z->weight = (int)w;
	}
	cfg->nzones++;
	return 0;
}

/* dnsbl_reply_parse - "zone[=a.b.c.d] CODE X.Y.Z text" */
int dnsbl_reply_parse(struct dnsbl_config *cfg, const char *spec)
{
	struct dnsbl_reply *r;
	const char *p = spec, *eq;
	size_t n = strcspn(p, " \t");
	char *e;
	long code;

	if (cfg->nreplies >= DNSBL_REPLIES_MAX)
		return -1;
	r = &cfg->replies[cfg->nreplies];
	memset(r, 0, sizeof(*r));
	eq = memchr(p, '=', n);
	if ((r->zone = zone_find(cfg, p, eq ? (size_t)(eq - p) : n)) < 0)
		return -1;	/* dnsbl_site must come first */
	if (eq && ipv4(eq + 1, n - (size_t)(eq + 1 - p), &r->answer) < 0)
		return -1;
	p += n;
	while (*p == ' ' || *p == '\t')
		p++;
	code = strtol(p, &e, 10);
	if (e == p || (*e != ' ' && *e != '\t') || code < 400 || code > 599)
		return -1;
	r->code = (int)code;
	p = e;
	while (*p == ' ' || *p == '\t')
		p++;
	n = strcspn(p, " \t");
	if (n == 0 || n >= sizeof(r->enhanced) || p[0] != (char)('0' + code / 100))
		return -1;
	memcpy(r->enhanced, p, n);
	p += n;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == 0 || strlen(p) >= sizeof(r->text) || strpbrk(p, "\r\n"))
		return -1;
	snprintf(r->text, sizeof(r->text), "%s", p);
	cfg->nreplies++;
	return 0;
}

/* dnsbl_resolver_parse - "a.b.c.d[:port]" */
int dnsbl_resolver_parse(struct dnsbl_config *cfg, const char *spec)
{
	const char *colon = strchr(spec, ':');
	uint32_t a;
	unsigned long port = 53;

	if (ipv4(spec, colon ? (size_t)(colon - spec) : strlen(spec), &a) < 0)
		return -1;
	if (colon) {
		char *e;

		port = strtoul(colon + 1, &e, 10);
		if (*e || e == colon + 1 || port == 0 || port > 65535)
			return -1;
	}
	memset(&cfg->resolver, 0, sizeof(cfg->resolver));
	cfg->resolver.sin_family = AF_INET;
	cfg->resolver.sin_addr.s_addr = htonl(a);
	cfg->resolver.sin_port = htons((uint16_t)port);
	return 0;
}

/* dnsbl_new - a connected non-blocking UDP socket and the pending slots */
struct dnsbl *dnsbl_new(const struct dnsbl_config *cfg, char *err, size_t errlen)
{
	struct dnsbl *d = calloc(1, sizeof(*d));
	char ip[INET_ADDRSTRLEN];

	if (d)
		d->fd = -1;
	if (d == NULL || (d->pend = calloc(DNSBL_PENDING_MAX, sizeof(*d->pend))) == NULL
	    || (d->free_slots = calloc(DNSBL_PENDING_MAX, sizeof(uint32_t))) == NULL
	    || (d->idmap = calloc(DNSBL_IDS, sizeof(uint32_t))) == NULL) {
		snprintf(err, errlen, "dnsbl: out of memory");
		goto fail;
	}
	d->cfg = *cfg;
	d->fd = -1;
	d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	inet_ntop(AF_INET, &cfg->resolver.sin_addr, ip, sizeof(ip));
	if (d->fd < 0 || connect(d->fd, (const struct sockaddr *)&cfg->resolver,
				 sizeof(cfg->resolver)) < 0) {
		snprintf(err, errlen, "dnsbl: UDP socket to resolver %s:%u: %s", ip,
			 ntohs(cfg->resolver.sin_port), strerror(errno));
		goto fail;
	}
	for (unsigned i = 0; i < DNSBL_PENDING_MAX; i++)
		d->free_slots[i] = DNSBL_PENDING_MAX - 1 - i;
	d->nfree = DNSBL_PENDING_MAX;
	if (getrandom(&d->rng, sizeof(d->rng), 0) != sizeof(d->rng) || d->rng == 0)
		d->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)d;
	return d;
fail:
	if (d && d->fd >= 0)
		close(d->fd);
	if (d) {
		free(d->pend);
		free(d->free_slots);
		free(d->idmap);
	}
	free(d);
	return NULL;
}

/* dnsbl_fd - readable when answers wait */
int dnsbl_fd(const struct dnsbl *d)
{
	return d->fd;
}

/* id_new - a random free query id for (slot, zone); -1 when none found */
static int id_new(struct dnsbl *d, uint32_t slot, unsigned zone)
{
	for (unsigned k = 0; k < DNSBL_ID_TRIES; k++) {
		uint16_t id;

		d->rng ^= d->rng << 13;
		d->rng ^= d->rng >> 7;
		d->rng ^= d->rng << 17;
		id = (uint16_t)(d->rng >> 24);
		if (d->idmap[id] == 0) {
			d->idmap[id] = slot * DNSBL_ZONES_MAX + zone + 1;
			d->pend[slot].id[zone] = id;
			d->pend[slot].sent |= 1u << zone;
			return id;
		}
	}
	return -1;
}

/* ids_free - the slot's query ids go back */
static void ids_free(struct dnsbl *d, uint32_t slot)
{
	struct pending *p = &d->pend[slot];

	for (unsigned z = 0; z < DNSBL_ZONES_MAX; z++)
		if (p->sent & (1u << z))
			d->idmap[p->id[z]] = 0;
	p->sent = 0;
}

/* dnsbl_lookup - one query per zone for addr */
int dnsbl_lookup(struct dnsbl *d, uint32_t addr, uint64_t now_ms)
{
	struct pending *p;
	uint32_t slot;
	unsigned z, sent = 0;

	if (d->nfree == 0 || d->cfg.nzones == 0)
		return -1;
	slot = d->free_slots[--d->nfree];
	p = &d->pend[slot];
	memset(p, 0, sizeof(*p));
	p->used = true;
	p->addr = addr;
	p->deadline_ms = now_ms + d->cfg.timeout_ms;
	p->ttl = UINT32_MAX;
	for (z = 0; z < d->cfg.nzones; z++) {
		uint8_t q[DNS_UDP_MAX];
		char name[DNS_NAME_MAX + 1];
		int n, id;

		if (dns_reverse_name(addr, d->cfg.zones[z].name, name, sizeof(name)) < 0
		    || (id = id_new(d, slot, z)) < 0
		    || (n = dns_query_build(q, sizeof(q), (uint16_t)id, name)) < 0)
			continue;
		if (send(d->fd, q, (size_t)n, MSG_DONTWAIT) == n)
			sent++;
	}
	if (sent == 0) {
		ids_free(d, slot);
		p->used = false;
		d->free_slots[d->nfree++] = slot;
		return -1;
	}
	return 0;
}

/* finish - score the answers, tell the caller, free the slot */
static void finish(struct dnsbl *d, uint32_t slot, bool timed_out,
		   dnsbl_done_fn done, void *ctx)
{
	struct pending *p = &d->pend[slot];
	struct dnsbl_result r;
	int best = 0;

	memset(&r, 0, sizeof(r));
	r.zone = r.reply = -1;
	r.timed_out = timed_out;
	for (unsigned z = 0; z < d->cfg.nzones; z++) {
		if (p->answer[z] == 0)
			continue;
		r.score += d->cfg.zones[z].weight;
		if (d->cfg.zones[z].weight > best) {
			best = d->cfg.zones[z].weight;
			r.zone = (int)z;
			r.answer = p->answer[z];
		}
	}
	r.listed = r.score >= d->cfg.threshold && r.zone >= 0;
	if (r.listed) {
		for (unsigned i = 0; i < d->cfg.nreplies; i++) {
			const struct dnsbl_reply *rep = &d->cfg.replies[i];

			if (p->answer[rep->zone] == 0
			    || (rep->answer && rep->answer != p->answer[rep->zone]))
				continue;
			r.reply = (int)i;
			r.zone = rep->zone;
			r.answer = p->answer[rep->zone];
			break;
		}
	}
	if (p->ttl == UINT32_MAX || timed_out)
		r.ttl_s = d->cfg.neg_ttl_s;
	else
		r.ttl_s = p->ttl;
	if (r.ttl_s < d->cfg.ttl_min_s)
		r.ttl_s = d->cfg.ttl_min_s;
	if (r.ttl_s > d->cfg.ttl_max_s)
		r.ttl_s = d->cfg.ttl_max_s;
	ids_free(d, slot);
	p->used = false;
	d->free_slots[d->nfree++] = slot;
	done(ctx, p->addr, &r);
}

/* answer - one datagram: match it to its query, record the listing */
static void answer(struct dnsbl *d, const uint8_t *buf, size_t len,
		   dnsbl_done_fn done, void *ctx)
{
	struct dns_answer a;
	char want[DNS_NAME_MAX + 1];
	uint32_t slot, z;
	struct pending *p;

	if (dns_answer_parse(buf, len, &a) < 0 || d->idmap[a.id] == 0)
		return;
	slot = (d->idmap[a.id] - 1) / DNSBL_ZONES_MAX;
	z = (d->idmap[a.id] - 1) % DNSBL_ZONES_MAX;
	if (slot >= DNSBL_PENDING_MAX || z >= d->cfg.nzones)
		return;
	p = &d->pend[slot];
	if (!p->used || (p->answered & (1u << z))
	    || dns_reverse_name(p->addr, d->cfg.zones[z].name, want, sizeof(want)) < 0
	    || strcasecmp(want, a.qname) != 0)
		return;	/* stray, late or forged */
	p->answered |= 1u << z;
	if (a.rcode == DNS_RCODE_NOERROR) {
		for (unsigned i = 0; i < a.nanswers; i++)
			if (a.a[i] >= d->cfg.zones[z].lo && a.a[i] <= d->cfg.zones[z].hi) {
				p->answer[z] = a.a[i];
				if (a.ttl < p->ttl)
					p->ttl = a.ttl;
				break;
			}
	}
	if (p->answered == (1u << d->cfg.nzones) - 1)
		finish(d, slot, false, done, ctx);
}

/* dnsbl_run - read answers, finish lookups that are complete or late */
void dnsbl_run(struct dnsbl *d, uint64_t now_ms, dnsbl_done_fn done, void *ctx)
{
	uint8_t buf[DNS_UDP_MAX * 2];
	unsigned i;

	for (i = 0; i < DNSBL_RECV_BURST; i++) {
		ssize_t n = recv(d->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;	/* EAGAIN, or ICMP refused: the timeout handles it */
		answer(d, buf, (size_t)n, done, ctx);
	}
	if (now_ms < d->next_scan_ms || d->nfree == DNSBL_PENDING_MAX)
		return;
	d->next_scan_ms = now_ms + DNSBL_TIMEOUT_SCAN_MS;
	for (i = 0; i < DNSBL_PENDING_MAX; i++)
		if (d->pend[i].used && d->pend[i].deadline_ms <= now_ms)
			finish(d, i, true, done, ctx);
}

/* dnsbl_free - close and release */
void dnsbl_free(struct dnsbl *d)
{
	if (d == NULL)
		return;
	if (d->fd >= 0)
		close(d->fd);
	free(d->pend);
	free(d->free_slots);
	free(d->idmap);
	free(d);
}
