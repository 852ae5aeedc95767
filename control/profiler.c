/*
 * profiler.c - the IP Profiler: per-address behaviour windows and blocks
 *
 *	See profiler.h. One mutex guards everything: the control thread
 *	records events in batches, the management API reads and removes
 *	blocks now and then; neither is on a fast path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "profiler.h"

#define PROFILER_PROBE		16	/* slots looked at per address */
#define PROFILER_UNBLOCKED_MAX	256	/* removals waiting for control */
#define PROFILER_JSON_ENTRY	192	/* bytes per block in the JSON */
#define PROFILER_FLAG_BITS	8	/* ring item: time << 8 | flags */

struct window {
	uint64_t item[PROFILER_M_MAX];	/* newest at head - 1 */
	uint8_t head, count;
};

struct paddr {
	uint32_t addr;
	bool used;
	uint64_t last_ms;
	struct window msgs, rcpts;
};

struct profiler {
	pthread_mutex_t lock;
	struct profiler_rule rules[PROFILER_RULES_MAX];
	size_t nrules;
	struct paddr *addrs;
	size_t mask;
	struct profiler_block blocks[PROFILER_BLOCKS_MAX];
	size_t nblocks;
	uint32_t unblocked[PROFILER_UNBLOCKED_MAX];
	size_t nunblocked;
	uint32_t restored[PROFILER_BLOCKS_MAX];	/* not yet published */
	size_t nrestored;
	void (*observer)(void *ctx, const struct profiler_block *b);
	void *observer_ctx;
	bool share_blocks;	/* other nodes' blocks apply here */
};

static const char *const kind_names[PROFILER_KINDS] = {
	"spam", "virus", "bounce", "unknown_rcpt",
};

static const unsigned kind_flags[PROFILER_KINDS] = {
	PROFILER_F_SPAM, PROFILER_F_VIRUS, PROFILER_F_BOUNCE, PROFILER_F_UNKNOWN,
};

/* mono_ms - the clock control uses too */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* profiler_rule_parse - "KIND N/M WINDOW_S temp|perm [DURATION_S]" */
int profiler_rule_parse(const char *spec, struct profiler_rule *out)
{
	char kind[32], mode[8];
	unsigned n, m, win, dur = 0;
	int k, got;

	memset(out, 0, sizeof(*out));
	got = sscanf(spec, "%31s %u/%u %u %7s %u", kind, &n, &m, &win, mode, &dur);
	if (got < 5)
		return -1;
	for (k = 0; k < PROFILER_KINDS; k++)
		if (strcmp(kind, kind_names[k]) == 0)
			break;
	if (k == PROFILER_KINDS || n == 0 || m == 0 || n > m || m > PROFILER_M_MAX
	    || win == 0)
		return -1;
	if (strcmp(mode, "temp") == 0) {
		if (got != 6 || dur == 0)
			return -1;
	} else if (strcmp(mode, "perm") != 0 || got != 5) {
		return -1;
	}
	out->kind = (enum profiler_kind)k;
	out->n = n;
	out->m = m;
	out->window_ms = (uint64_t)win * 1000;
	out->permanent = mode[0] == 'p';
	out->duration_ms = (uint64_t)dur * 1000;
	snprintf(out->spec, sizeof(out->spec), "%s", spec);
	return 0;
}

/* profiler_new - rules copied, address windows allocated */
struct profiler *profiler_new(const struct profiler_rule *rules, size_t nrules,
			      size_t max_addrs)
{
	struct profiler *p;
	size_t cap = PROFILER_PROBE;

	if (nrules > PROFILER_RULES_MAX || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	while (cap < max_addrs)
		cap <<= 1;
	if ((p->addrs = calloc(cap, sizeof(*p->addrs))) == NULL) {
		free(p);
		return NULL;
	}
	p->mask = cap - 1;
	if (nrules)
		memcpy(p->rules, rules, nrules * sizeof(*rules));
	p->nrules = nrules;
	p->share_blocks = true;
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

/* addr_hash - spread addresses over the table */
static size_t addr_hash(uint32_t a)
{
	a ^= a >> 16;
	a *= 0x7feb352dU;
	a ^= a >> 15;
	a *= 0x846ca68bU;
	a ^= a >> 16;
	return a;
}

/* addr_get - the address's windows; the stalest slot of its probe run is
 * reused when all are taken (its history is the least useful) */
static struct paddr *addr_get(struct profiler *p, uint32_t addr, uint64_t now)
{
	size_t h = addr_hash(addr), i, victim = h & p->mask;
	uint64_t oldest = UINT64_MAX;

	for (i = 0; i < PROFILER_PROBE; i++) {
		struct paddr *e = &p->addrs[(h + i) & p->mask];

		if (e->used && e->addr == addr)
			return e;
		if (!e->used) {
			victim = (h + i) & p->mask;
			oldest = 0;
		} else if (e->last_ms < oldest) {
			victim = (h + i) & p->mask;
			oldest = e->last_ms;
		}
	}
	memset(&p->addrs[victim], 0, sizeof(p->addrs[victim]));
	p->addrs[victim].used = true;
	p->addrs[victim].addr = addr;
	p->addrs[victim].last_ms = now;
	return &p->addrs[victim];
}

/* window_push - newest item in, oldest out */
static void window_push(struct window *w, uint64_t now, unsigned flags)
{
	w->item[w->head] = now << PROFILER_FLAG_BITS | (flags & 0xff);
	w->head = (uint8_t)((w->head + 1) % PROFILER_M_MAX);
	if (w->count < PROFILER_M_MAX)
		w->count++;
}

/* window_hits - of the last m items within the window, how many have flag */
static unsigned window_hits(const struct window *w, unsigned m, uint64_t since,
			    unsigned flag, unsigned *seen)
{
	unsigned i, hits = 0;

	*seen = 0;
	for (i = 0; i < w->count && i < m; i++) {
		uint64_t it = w->item[(w->head + PROFILER_M_MAX - 1 - i) % PROFILER_M_MAX];

		if (it >> PROFILER_FLAG_BITS < since)
			break;
		(*seen)++;
		if (it & flag)
			hits++;
	}
	return hits;
}

/* block_find - index of addr's block, -1 */
static int block_find(const struct profiler *p, uint32_t addr)
{
	for (size_t i = 0; i < p->nblocks; i++)
		if (p->blocks[i].addr == addr)
			return (int)i;
	return -1;
}

/* block_drop - remove block i (order does not matter) */
static void block_drop(struct profiler *p, size_t i)
{
	p->blocks[i] = p->blocks[--p->nblocks];
}

/* expire - temp blocks past their end */
static void expire(struct profiler *p, uint64_t now)
{
	size_t i = 0;

	while (i < p->nblocks) {
		if (!p->blocks[i].permanent && p->blocks[i].until_ms <= now)
			block_drop(p, i);
		else
			i++;
	}
}

/* profiler_record - one message or recipient; 1 when a block starts */
int profiler_record(struct profiler *p, uint32_t addr, bool rcpt, unsigned flags,
		    uint64_t now_ms, struct profiler_block *fired)
{
	struct paddr *e;
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	expire(p, now_ms);
	e = addr_get(p, addr, now_ms);
	e->last_ms = now_ms;
	window_push(rcpt ? &e->rcpts : &e->msgs, now_ms, flags);
	if (block_find(p, addr) >= 0)
		goto out;
	for (size_t r = 0; r < p->nrules; r++) {
		const struct profiler_rule *ru = &p->rules[r];
		bool on_rcpt = ru->kind == PROFILER_UNKNOWN_RCPT;
		uint64_t since = now_ms > ru->window_ms ? now_ms - ru->window_ms : 0;
		unsigned seen, hits;

		if (on_rcpt != rcpt)
			continue;
		hits = window_hits(on_rcpt ? &e->rcpts : &e->msgs, ru->m, since,
				   kind_flags[ru->kind], &seen);
		if (hits < ru->n || p->nblocks == PROFILER_BLOCKS_MAX)
			continue;
		struct profiler_block *b = &p->blocks[p->nblocks++];

		b->addr = addr;
		b->rule = (int)r;
		b->permanent = ru->permanent;
		b->until_ms = ru->permanent ? UINT64_MAX : now_ms + ru->duration_ms;
		b->hits = hits;
		memcpy(b->reason, ru->spec, sizeof(b->reason));	/* same size */
		/* a fresh start after the block: old evidence does not refire */
		memset(on_rcpt ? &e->rcpts : &e->msgs, 0, sizeof(struct window));
		/* under the lock: once profiler_set_observer(NULL) returned,
		 * no call is in flight (the observer only queues) */
		if (p->observer)
			p->observer(p->observer_ctx, b);
		if (fired)
			*fired = *b;
		rc = 1;
		break;
	}
out:
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* profiler_blocked - 1 and the block when addr is blocked now */
int profiler_blocked(struct profiler *p, uint32_t addr, uint64_t now_ms,
		     struct profiler_block *out)
{
	int i, rc = 0;

	pthread_mutex_lock(&p->lock);
	expire(p, now_ms);
	if ((i = block_find(p, addr)) >= 0) {
		if (out)
			*out = p->blocks[i];
		rc = 1;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* profiler_blocks_json - the blocks in force, malloc'd JSON array */
int profiler_blocks_json(struct profiler *p, char **json)
{
	uint64_t now = mono_ms();
	size_t cap, len = 0;
	char *s;

	pthread_mutex_lock(&p->lock);
	expire(p, now);
	cap = (p->nblocks + 1) * PROFILER_JSON_ENTRY + 4;
	if ((s = malloc(cap)) == NULL) {
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	s[len++] = '[';
	for (size_t i = 0; i < p->nblocks; i++) {
		const struct profiler_block *b = &p->blocks[i];
		struct in_addr a = { .s_addr = htonl(b->addr) };
		char ip[INET_ADDRSTRLEN];
		const char *spec = b->reason;
		char esc[sizeof(b->reason) * 2];
		size_t k = 0;

		/* rule specs are operator text: quotes and backslashes escaped */
		for (const char *c = spec; *c && k + 2 < sizeof(esc); c++) {
			if (*c == '"' || *c == '\\')
				esc[k++] = '\\';
			esc[k++] = (*c >= ' ') ? *c : ' ';
		}
		esc[k] = 0;
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		len += (size_t)snprintf(s + len, cap - len,
			"%s{\"addr\":\"%s\",\"rule\":\"%s\",\"permanent\":%s,"
			"\"remaining_s\":%lld,\"hits\":%u}", i ? "," : "", ip, esc,
			b->permanent ? "true" : "false",
			b->permanent ? -1LL : (long long)((b->until_ms - now + 999) / 1000),
			b->hits);
	}
	s[len++] = ']';
	s[len] = 0;
	pthread_mutex_unlock(&p->lock);
	*json = s;
	return 0;
}

/* profiler_unblock - remove addr's block; control hears of it */
int profiler_unblock(struct profiler *p, uint32_t addr)
{
	int i, rc = 0;

	pthread_mutex_lock(&p->lock);
	if ((i = block_find(p, addr)) >= 0) {
		block_drop(p, (size_t)i);
		if (p->nunblocked < PROFILER_UNBLOCKED_MAX)
			p->unblocked[p->nunblocked++] = addr;
		rc = 1;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* profiler_take_unblocked - removals since the last call, for control */
size_t profiler_take_unblocked(struct profiler *p, uint32_t *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->nunblocked < max ? p->nunblocked : max;
	memcpy(out, p->unblocked, n * sizeof(*out));
	memmove(p->unblocked, p->unblocked + n, (p->nunblocked - n) * sizeof(*out));
	p->nunblocked -= n;
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* profiler_restore - a block from the store; 1 added, 0 known, -1 full */
int profiler_restore(struct profiler *p, uint32_t addr, bool permanent,
		     uint64_t until_ms, unsigned hits, const char *reason)
{
	struct profiler_block *b;
	int i, rc = 1;

	pthread_mutex_lock(&p->lock);
	if ((i = block_find(p, addr)) >= 0) {
		b = &p->blocks[i];	/* two nodes blocked it: the longer wins */
		rc = 0;
		if (permanent)
			b->permanent = true;
		if (until_ms > b->until_ms)
			b->until_ms = until_ms;
		if (b->permanent)
			b->until_ms = UINT64_MAX;
	} else if (p->nblocks == PROFILER_BLOCKS_MAX) {
		pthread_mutex_unlock(&p->lock);
		return -1;
	} else {
		b = &p->blocks[p->nblocks++];
		memset(b, 0, sizeof(*b));
		b->addr = addr;
		b->rule = -1;
		for (size_t r = 0; r < p->nrules; r++)
			if (strcmp(p->rules[r].spec, reason) == 0)
				b->rule = (int)r;
		b->permanent = permanent;
		b->until_ms = permanent ? UINT64_MAX : until_ms;
		b->hits = hits;
		memcpy(b->reason, reason, strnlen(reason, sizeof(b->reason) - 1));
	}
	if (p->nrestored < PROFILER_BLOCKS_MAX)
		p->restored[p->nrestored++] = addr;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* profiler_take_restored - restored blocks the readers do not know yet */
size_t profiler_take_restored(struct profiler *p, struct profiler_block *out,
			      size_t max)
{
	size_t n = 0, k = 0;
	int i;

	pthread_mutex_lock(&p->lock);
	while (k < p->nrestored && n < max) {
		if ((i = block_find(p, p->restored[k++])) >= 0)
			out[n++] = p->blocks[i];	/* removed since: nothing to say */
	}
	memmove(p->restored, p->restored + k, (p->nrestored - k) * sizeof(*p->restored));
	p->nrestored -= k;
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* profiler_set_observer - who hears of each new block (NULL: nobody) */
void profiler_set_observer(struct profiler *p,
			   void (*cb)(void *ctx, const struct profiler_block *b),
			   void *ctx)
{
	pthread_mutex_lock(&p->lock);
	p->observer = cb;
	p->observer_ctx = ctx;
	pthread_mutex_unlock(&p->lock);
}

/* profiler_set_share_blocks - whether other nodes' blocks apply here */
void profiler_set_share_blocks(struct profiler *p, bool share)
{
	pthread_mutex_lock(&p->lock);
	p->share_blocks = share;
	pthread_mutex_unlock(&p->lock);
}

/* profiler_share_blocks - the setting, for profiler_store */
bool profiler_share_blocks(struct profiler *p)
{
	bool share;

	pthread_mutex_lock(&p->lock);
	share = p->share_blocks;
	pthread_mutex_unlock(&p->lock);
	return share;
}

/* profiler_rule_get - rule i, for log lines */
const struct profiler_rule *profiler_rule_get(const struct profiler *p, int i)
{
	return i >= 0 && (size_t)i < p->nrules ? &p->rules[i] : NULL;
}

/* profiler_free - release */
void profiler_free(struct profiler *p)
{
	if (p == NULL)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p->addrs);
	free(p);
}
