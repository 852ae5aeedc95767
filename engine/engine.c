/*
 * engine.c - one message through MIME parsing, scanning and policy
 *
 *	struct engine_worker *engine_worker_new(const struct ruleset *rs);
 *	int engine_worker_set_ruleset(struct engine_worker *w,
 *			const struct ruleset *rs);
 *	void engine_worker_free(struct engine_worker *w);
 *	const struct ruleset *engine_worker_ruleset(const struct engine_worker *w);
 *	struct engine_gen *engine_gen_new(const struct ruleset *rs,
 *			unsigned nmsgs);
 *	struct engine_gen *engine_gen_clone(const struct engine_gen *proto,
 *			unsigned nmsgs);
 *	void engine_gen_free(struct engine_gen *g);
 *	const struct ruleset *engine_gen_ruleset(const struct engine_gen *g);
 *	size_t engine_gen_open(const struct engine_gen *g);
 *	void engine_gen_memory(const struct engine_gen *g, size_t *scratch,
 *			size_t *databases);
 *	struct engine_gen *engine_worker_switch(struct engine_worker *w,
 *			struct engine_gen *g);
 *	struct engine_msg *engine_msg_begin(struct engine_worker *w,
 *			const struct ruleset *rs, const struct envelope *env);
 *	int engine_msg_feed(struct engine_msg *m, const void *buf, size_t len);
 *	int engine_msg_end(struct engine_msg *m, struct verdict *v);
 *	const struct mime_part *engine_msg_parts(const struct engine_msg *m,
 *			size_t *nparts);
 *	void engine_msg_free(struct engine_msg *m);
 *	const char *engine_msg_rules_version(const struct engine_msg *m);
 *
 * DESCRIPTION
 *	The MIME parser's callbacks feed the scanner directly: header values,
 *	URLs and envelope items are scanned in block mode as they appear,
 *	decoded part bytes and raw input in stream mode chunk by chunk. A
 *	rule without conditions fires at its first match. A pattern rule with
 *	conditions becomes a candidate (rule, part) and is decided at the end
 *	of the message, when sizes and true types are final; condition-only
 *	rules (part and message scopes) are decided then too, over the final
 *	part list. Each rule fires at most once per message.
 *
 *	A worker serves any number of messages at once (one per SMTP session
 *	in DATA on its core): the scratch is the generation's (one rule set
 *	as this worker uses it; a worker has one current generation, and
 *	after a rule swap the previous ones until their messages end),
 *	everything that
 *	belongs to one message (MIME parser, Hyperscan streams, per-rule
 *	marks, candidates, matches) is in its struct engine_msg. Finished
 *	messages go back to the worker's free list with their parser,
 *	streams and arrays, so a message in steady state allocates nothing.
 *	Per-rule "fired" and "candidate" marks are bitmaps cleared through
 *	the match and candidate lists at the end of a message, so starting a
 *	message does not clear anything sized by the rule set.
 *
 * DIAGNOSTICS
 *	See engine.h. A Hyperscan failure inside a callback is remembered and
 *	returned by the next engine_msg_feed() or engine_msg_end() (-1, errno
 *	EIO or ENOMEM). More than ENGINE_CAND_MAX candidates in one message
 *	drops the rest (logged in the verdict reason as "candidates cut").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "policy.h"
#include "ruleset.h"
#include "scan.h"

#define ENGINE_CAND_MAX	4096	/* (rule, part) pairs awaiting end of msg */
#define ENGINE_FEED_SLICE 65536	/* bytes scanned raw, then parsed, at once */

struct engine_cand {
	unsigned rule;
	int     part;
};

struct engine_msg {
	struct engine_gen *g;		/* the rule set it began under */
	struct engine_msg *next;	/* worker's free list */
	const struct envelope *env;
	struct mime_parser *mp;
	struct scan_streams ss;
	uint64_t size;		/* bytes fed */
	int     active;		/* between begin and free */
	int     ended;
	int     failed;		/* errno of a failure inside a callback */
	int     cand_cut;	/* ENGINE_CAND_MAX reached */
	int     cur_part;	/* part of the bytes being scanned, -1 */
	uint64_t *fired;	/* per rule bit: fired in this message */
	uint64_t *candmark;	/* per rule bit: has a candidate */
	struct engine_cand *cand;
	size_t  ncand;
	struct verdict_match *matches;	/* at most one per rule */
	unsigned *match_rule;	/* rule index of each match */
	size_t  nmatches;
};

/* One rule set as a worker uses it: scratch, field filter (both in the
 * scan worker) and the message objects sized for it. */
struct engine_gen {
	const struct ruleset *rs;
	struct scan_worker *sw;
	struct engine_msg *free_msgs;	/* recycled, for rs */
	size_t  active;			/* messages in progress */
};

struct engine_worker {
	struct engine_gen *cur;		/* new messages begin here */
};

#define BIT_WORDS(n)	(((n) + 63) / 64)
#define BIT_TEST(b, i)	((b)[(i) / 64] >> ((i) % 64) & 1)
#define BIT_SET(b, i)	((b)[(i) / 64] |= 1ULL << ((i) % 64))
#define BIT_CLR(b, i)	((b)[(i) / 64] &= ~(1ULL << ((i) % 64)))

/* engine_fire - the rule holds: record it once */
static void engine_fire(struct engine_msg *m, unsigned rule, int part)
{
	const struct rule *r = &m->g->rs->rules[rule];
	struct verdict_match *vm = &m->matches[m->nmatches];

	BIT_SET(m->fired, rule);
	memcpy(vm->rule_id, r->id, sizeof(vm->rule_id));
	vm->scope = r->scope;
	vm->part = part;
	vm->score = r->score;
	vm->action = r->action;
	vm->description = r->description;
	m->match_rule[m->nmatches++] = rule;
}

/* engine_has_cand - whether (rule, part) is already a candidate; a part's
 * matches all arrive before the next part's (pre-order, streamed), so only
 * the rule's latest candidate can be for this part: search backwards */
static int engine_has_cand(const struct engine_msg *m, unsigned rule,
			   int part, int any_part)
{
	if (!BIT_TEST(m->candmark, rule))
		return 0;
	for (size_t i = m->ncand; i > 0; i--)
		if (m->cand[i - 1].rule == rule)
			return any_part || m->cand[i - 1].part == part;
	return 0;
}

/* engine_hit - Hyperscan matched a rule in the current part */
static void engine_hit(void *ctx, unsigned rule)
{
	struct engine_msg *m = ctx;
	const struct rule *r = &m->g->rs->rules[rule];

	if (BIT_TEST(m->fired, rule))
		return;
	if (!r->cond.has_part && !r->cond.has_msg) {
		engine_fire(m, rule, m->cur_part);
		return;
	}
	/* message conditions do not depend on the part: one candidate */
	if (engine_has_cand(m, rule, m->cur_part, !r->cond.has_part))
		return;
	if (m->ncand == ENGINE_CAND_MAX) {
		m->cand_cut = 1;
		return;
	}
	BIT_SET(m->candmark, rule);
	m->cand[m->ncand].rule = rule;
	m->cand[m->ncand++].part = m->cur_part;
}

/* engine_failed - remember the first failure of a callback */
static void engine_failed(struct engine_msg *m)
{
	if (m->failed == 0)
		m->failed = errno ? errno : EIO;
}

/* engine_on_header - scan one header field value */
static void engine_on_header(void *ctx, const struct mime_part *part,
			     const char *name, size_t name_len,
			     const char *value, size_t value_len)
{
	struct engine_msg *m = ctx;

	m->cur_part = part->id;
	if (scan_block(m->g->sw, SCOPE_HEADER, name, name_len, value,
		       value_len, engine_hit, m) < 0)
		engine_failed(m);
}

/* engine_on_data - decoded bytes of a non-text leaf: attachment scope */
static void engine_on_data(void *ctx, const struct mime_part *part,
			   const uint8_t *data, size_t len)
{
	struct engine_msg *m = ctx;

	if (part->is_text)
		return;
	m->cur_part = part->id;
	if (scan_stream(m->g->sw, &m->ss, SCOPE_ATTACHMENT, data, len,
			engine_hit, m) < 0)
		engine_failed(m);
}

/* engine_on_text - UTF-8 bytes of a text leaf: body scope */
static void engine_on_text(void *ctx, const struct mime_part *part,
			   const uint8_t *utf8, size_t len)
{
	struct engine_msg *m = ctx;

	m->cur_part = part->id;
	if (scan_stream(m->g->sw, &m->ss, SCOPE_BODY, utf8, len, engine_hit,
			m) < 0)
		engine_failed(m);
}

/* engine_on_url - one URL: url scope */
static void engine_on_url(void *ctx, const struct mime_part *part,
			  const char *url, size_t len)
{
	struct engine_msg *m = ctx;

	m->cur_part = part->id;
	if (scan_block(m->g->sw, SCOPE_URL, NULL, 0, url, len, engine_hit,
		       m) < 0)
		engine_failed(m);
}

/* engine_on_part_end - end-of-data matches of the part's stream */
static void engine_on_part_end(void *ctx, const struct mime_part *part)
{
	struct engine_msg *m = ctx;

	m->cur_part = part->id;
	if (scan_stream_end(m->g->sw, &m->ss, part->is_text ? SCOPE_BODY
			    : SCOPE_ATTACHMENT, engine_hit, m) < 0)
		engine_failed(m);
}

static const struct mime_callbacks engine_mime_callbacks = {
	.header = engine_on_header,
	.part_data = engine_on_data,
	.part_text = engine_on_text,
	.url = engine_on_url,
	.part_end = engine_on_part_end,
};

/* engine_msg_destroy - free a message object and all it holds */
static void engine_msg_destroy(struct engine_msg *m)
{
	if (m == NULL)
		return;
	scan_streams_close(&m->ss);
	if (m->mp != NULL)
		mime_parser_free(m->mp);
	free(m->fired);
	free(m->candmark);
	free(m->cand);
	free(m->matches);
	free(m->match_rule);
	free(m);
}

/* engine_msg_create - a message object sized for the generation's set */
static struct engine_msg *engine_msg_create(struct engine_gen *g)
{
	size_t  n = g->rs->nrules ? g->rs->nrules : 1;
	struct engine_msg *m = calloc(1, sizeof(*m));
	struct mime_limits lim;

	if (m == NULL)
		return NULL;
	m->g = g;
	mime_limits_default(&lim);
	m->fired = calloc(BIT_WORDS(n), sizeof(uint64_t));
	m->candmark = calloc(BIT_WORDS(n), sizeof(uint64_t));
	m->cand = calloc(ENGINE_CAND_MAX, sizeof(*m->cand));
	m->matches = calloc(n, sizeof(*m->matches));
	m->match_rule = calloc(n, sizeof(*m->match_rule));
	m->mp = mime_parser_new(&lim, &engine_mime_callbacks, m);
	if (m->fired == NULL || m->candmark == NULL || m->cand == NULL
	    || m->matches == NULL || m->match_rule == NULL || m->mp == NULL
	    || scan_streams_open(g->sw, &m->ss) < 0) {
		int     saved = errno ? errno : ENOMEM;

		engine_msg_destroy(m);
		errno = saved;
		return NULL;
	}
	return m;
}

/* engine_drop_free_msgs - forget recycled messages (rule set changed) */
static void engine_drop_free_msgs(struct engine_gen *g)
{
	while (g->free_msgs != NULL) {
		struct engine_msg *m = g->free_msgs;

		g->free_msgs = m->next;
		engine_msg_destroy(m);
	}
}

/* engine_gen_fill - nmsgs message objects made now, not on the worker */
static int engine_gen_fill(struct engine_gen *g, unsigned nmsgs)
{
	for (unsigned i = 0; i < nmsgs; i++) {
		struct engine_msg *m = engine_msg_create(g);

		if (m == NULL)
			return -1;
		m->next = g->free_msgs;
		g->free_msgs = m;
	}
	return 0;
}

/* engine_gen_make - a generation around scan worker sw (NULL: failed) */
static struct engine_gen *engine_gen_make(const struct ruleset *rs,
					  struct scan_worker *sw,
					  unsigned nmsgs)
{
	struct engine_gen *g;
	int     saved;

	if (sw == NULL)
		return NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		scan_worker_free(sw);
		errno = ENOMEM;
		return NULL;
	}
	g->rs = rs;
	g->sw = sw;
	if (engine_gen_fill(g, nmsgs) == 0)
		return g;
	saved = errno;
	engine_gen_free(g);
	errno = saved;
	return NULL;
}

/* engine_gen_new - rule set rs with a scratch grown for its databases */
struct engine_gen *engine_gen_new(const struct ruleset *rs, unsigned nmsgs)
{
	return engine_gen_make(rs, scan_worker_new(rs), nmsgs);
}

/* engine_gen_clone - the same rule set, a scratch of its own */
struct engine_gen *engine_gen_clone(const struct engine_gen *proto,
				    unsigned nmsgs)
{
	return engine_gen_make(proto->rs, scan_worker_clone(proto->sw), nmsgs);
}

/* engine_gen_free - release a generation no message is open on */
void engine_gen_free(struct engine_gen *g)
{
	if (g == NULL)
		return;
	engine_drop_free_msgs(g);
	scan_worker_free(g->sw);
	free(g);
}

/* engine_gen_ruleset - the rule set of a generation */
const struct ruleset *engine_gen_ruleset(const struct engine_gen *g)
{
	return g->rs;
}

/* engine_gen_open - messages begun on g and not yet freed */
size_t engine_gen_open(const struct engine_gen *g)
{
	return g->active;
}

/* engine_gen_memory - Hyperscan bytes: the generation's scratch and the
 * databases of its rule set (shared by every generation of that set) */
void engine_gen_memory(const struct engine_gen *g, size_t *scratch,
		       size_t *databases)
{
	size_t  n;

	*scratch = scan_worker_scratch_size(g->sw);
	*databases = 0;
	for (int s = 0; s < SCOPE_COUNT; s++)
		if (g->rs->db[s] != NULL
		    && hs_database_size(g->rs->db[s], &n) == HS_SUCCESS)
			*databases += n;
}

/* engine_worker_switch - new messages begin on g; the previous one is
 * the caller's, to free once engine_gen_open() says 0 */
struct engine_gen *engine_worker_switch(struct engine_worker *w,
					struct engine_gen *g)
{
	struct engine_gen *old = w->cur;

	w->cur = g;
	return old;
}

/* engine_worker_ruleset - the rule set new messages begin under */
const struct ruleset *engine_worker_ruleset(const struct engine_worker *w)
{
	return w->cur->rs;
}

/* engine_worker_set_ruleset - move an idle worker to another rule set */
int engine_worker_set_ruleset(struct engine_worker *w,
			      const struct ruleset *rs)
{
	struct engine_gen *g = w->cur;

	if (g->active) {
		errno = EBUSY;
		return -1;
	}
	if (scan_worker_bind(g->sw, rs) < 0)
		return -1;
	engine_drop_free_msgs(g);
	g->rs = rs;
	return 0;
}

/* engine_worker_new - a worker for rule set rs */
struct engine_worker *engine_worker_new(const struct ruleset *rs)
{
	struct engine_worker *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	if ((w->cur = engine_gen_new(rs, 0)) == NULL) {
		int     saved = errno;

		free(w);
		errno = saved;
		return NULL;
	}
	return w;
}

/* engine_worker_free - release a worker and its current generation (no
 * message may be in progress) */
void engine_worker_free(struct engine_worker *w)
{
	if (w == NULL)
		return;
	engine_gen_free(w->cur);
	free(w);
}

/* engine_scan_envelope - envelope scope, one block per item */
static int engine_scan_envelope(struct engine_msg *m)
{
	const struct envelope *e = m->env;
	struct scan_worker *sw = m->g->sw;
	const struct {
		const char *field;
		const char *value;
	} items[] = {
		{"helo", e->helo},
		{"client-addr", e->client_addr},
		{"client-name", e->client_name},
		{"mail-from", e->mail_from},
	};

	if (m->g->rs->db[SCOPE_ENVELOPE] == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		if (items[i].value != NULL && items[i].value[0] != '\0'
		    && scan_block(sw, SCOPE_ENVELOPE, items[i].field,
				  strlen(items[i].field), items[i].value,
				  strlen(items[i].value), engine_hit, m) < 0)
			return -1;
	for (size_t i = 0; i < e->nrcpt; i++)
		if (scan_block(sw, SCOPE_ENVELOPE, "rcpt", 4, e->rcpt[i],
			       strlen(e->rcpt[i]), engine_hit, m) < 0)
			return -1;
	return 0;
}

/* engine_msg_begin - start a message (a recycled object if there is one) */
struct engine_msg *engine_msg_begin(struct engine_worker *w,
				    const struct ruleset *rs,
				    const struct envelope *env)
{
	static const struct envelope no_env = {"", "", "", "", NULL, 0};
	struct engine_gen *g = w->cur;
	struct engine_msg *m;

	if (rs != NULL && rs != g->rs) {	/* see engine_worker_switch() */
		errno = EINVAL;
		return NULL;
	}
	if ((m = g->free_msgs) != NULL) {
		g->free_msgs = m->next;
		mime_parser_reset(m->mp);
	} else if ((m = engine_msg_create(g)) == NULL) {
		return NULL;
	}
	m->next = NULL;
	m->ncand = 0;
	m->nmatches = 0;
	m->env = env != NULL ? env : &no_env;
	m->size = 0;
	m->active = 1;
	m->ended = 0;
	m->failed = 0;
	m->cand_cut = 0;
	m->cur_part = -1;
	g->active++;
	if (engine_scan_envelope(m) < 0) {
		int     saved = errno;

		engine_msg_free(m);
		errno = saved;
		return NULL;
	}
	return m;
}

/* engine_feed_slice - raw scan and parse of one cache-sized slice */
static int engine_feed_slice(struct engine_msg *m, const char *buf,
			     size_t len)
{
	if (m->failed) {
		errno = m->failed;
		return -1;
	}
	m->size += len;
	m->cur_part = -1;
	if (scan_stream(m->g->sw, &m->ss, SCOPE_RAW, buf, len, engine_hit,
			m) < 0)
		return -1;
	if (mime_parser_feed(m->mp, buf, len) < 0)
		return -1;
	if (m->failed) {
		errno = m->failed;
		return -1;
	}
	return 0;
}

/*
 * engine_msg_feed - the next bytes of the message as received. Every byte
 * is read twice (raw scope scan, then the MIME parser): a large buffer
 * is taken ENGINE_FEED_SLICE bytes at a time so that the second read
 * hits the cache. Any split gives the same verdict (see engine.h).
 */
int engine_msg_feed(struct engine_msg *m, const void *buf, size_t len)
{
	const char *p = buf;

	do {
		size_t  n = len < ENGINE_FEED_SLICE ? len : ENGINE_FEED_SLICE;

		if (engine_feed_slice(m, p, n) < 0)
			return -1;
		p += n;
		len -= n;
	} while (len > 0);
	return 0;
}

/* engine_leaf - whether part i has no child (pre-order: child is i+1) */
static int engine_leaf(const struct mime_part *parts, size_t n, size_t i)
{
	return i + 1 == n || parts[i + 1].parent != (int) i;
}

/* engine_first_leaf_holding - first leaf meeting r's part conditions */
static int engine_first_leaf_holding(const struct rule *r,
				     const struct mime_part *parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (engine_leaf(parts, n, i)
		    && ruleset_part_holds(&r->cond, &parts[i]))
			return (int) i;
	return -1;
}

/* engine_decide_rules - candidates, then part and message scope rules */
static void engine_decide_rules(struct engine_msg *m)
{
	const struct ruleset *rs = m->g->rs;
	const struct mime_part *parts;
	size_t  nparts;
	int     leaf;

	parts = mime_parser_parts(m->mp, &nparts);
	for (size_t i = 0; i < m->ncand; i++) {
		const struct engine_cand *c = &m->cand[i];
		const struct rule *r = &rs->rules[c->rule];

		if (BIT_TEST(m->fired, c->rule))
			continue;
		if (r->cond.has_part
		    && (c->part < 0 || (size_t) c->part >= nparts
			|| !ruleset_part_holds(&r->cond, &parts[c->part])))
			continue;
		if (ruleset_msg_holds(&r->cond, m->env, m->size))
			engine_fire(m, c->rule, c->part);
	}
	for (size_t i = 0; i < rs->ncond_rules[SCOPE_PART]; i++) {
		unsigned id = rs->cond_rules[SCOPE_PART][i];
		const struct rule *r = &rs->rules[id];

		if (!ruleset_msg_holds(&r->cond, m->env, m->size))
			continue;
		if ((leaf = engine_first_leaf_holding(r, parts, nparts)) >= 0)
			engine_fire(m, id, leaf);
	}
	for (size_t i = 0; i < rs->ncond_rules[SCOPE_MESSAGE]; i++) {
		unsigned id = rs->cond_rules[SCOPE_MESSAGE][i];
		const struct rule *r = &rs->rules[id];

		if (!ruleset_msg_holds(&r->cond, m->env, m->size))
			continue;
		leaf = -1;
		if (r->cond.has_part
		    && (leaf = engine_first_leaf_holding(r, parts, nparts)) < 0)
			continue;
		engine_fire(m, id, leaf);
	}
}

/* engine_sort_matches - rule-set order: the order in which matches were
 * found depends on how the message was chunked (a URL is scanned when it
 * ends, body text when it decodes); the verdict must not */
static void engine_sort_matches(struct engine_msg *m)
{
	for (size_t i = 1; i < m->nmatches; i++) {
		struct verdict_match vm = m->matches[i];
		unsigned r = m->match_rule[i];
		size_t  j = i;

		for (; j > 0 && m->match_rule[j - 1] > r; j--) {
			m->matches[j] = m->matches[j - 1];
			m->match_rule[j] = m->match_rule[j - 1];
		}
		m->matches[j] = vm;
		m->match_rule[j] = r;
	}
}

/* engine_msg_end - finish parsing and scanning; fill the verdict */
int engine_msg_end(struct engine_msg *m, struct verdict *v)
{
	struct engine_gen *g = m->g;
	const struct mime_part *parts;
	size_t  nparts;

	memset(v, 0, sizeof(*v));
	if (m->failed) {
		errno = m->failed;
		return -1;
	}
	if (mime_parser_finish(m->mp) < 0)
		return -1;
	m->cur_part = -1;
	if (scan_stream_end(g->sw, &m->ss, SCOPE_RAW, engine_hit, m) < 0)
		return -1;
	if (m->failed) {
		errno = m->failed;
		return -1;
	}
	/* a parser that skipped part_end must not leak into the next part */
	scan_stream_abort(g->sw, &m->ss);
	m->ended = 1;
	engine_decide_rules(m);
	engine_sort_matches(m);
	v->matches = m->matches;
	v->nmatches = m->nmatches;
	for (size_t i = 0; i < m->nmatches; i++) {
		const struct rule *r = &g->rs->rules[m->match_rule[i]];

		if (r->reroute != NULL && v->reroute[0] == '\0')
			snprintf(v->reroute, sizeof(v->reroute), "%s",
				 r->reroute);
		if (r->bcc != NULL && v->bcc[0] == '\0')
			snprintf(v->bcc, sizeof(v->bcc), "%s", r->bcc);
	}
	policy_decide(g->rs, m->env, v);
	if (m->cand_cut)
		strncat(v->reason, " (candidates cut)",
			sizeof(v->reason) - strlen(v->reason) - 1);
	parts = mime_parser_parts(m->mp, &nparts);
	for (size_t i = 0; i < nparts; i++)
		v->mime_flags |= parts[i].flags;
	return 0;
}

/* engine_msg_parts - the message's parts, valid until engine_msg_free */
const struct mime_part *engine_msg_parts(const struct engine_msg *m,
					 size_t *nparts)
{
	return mime_parser_parts(m->mp, nparts);
}

/* engine_msg_rules_version - version of the set the message began on */
const char *engine_msg_rules_version(const struct engine_msg *m)
{
	return m->g->rs->version;
}

/* engine_msg_free - recycle the message object; its verdict is gone */
void engine_msg_free(struct engine_msg *m)
{
	struct engine_gen *g;

	if (m == NULL || !m->active)
		return;
	g = m->g;
	if (!m->ended)
		scan_stream_abort(g->sw, &m->ss);
	/* clear the marks through the lists: O(matches), not O(rules) */
	for (size_t i = 0; i < m->nmatches; i++)
		BIT_CLR(m->fired, m->match_rule[i]);
	for (size_t i = 0; i < m->ncand; i++)
		BIT_CLR(m->candmark, m->cand[i].rule);
	m->nmatches = m->ncand = 0;
	m->active = 0;
	g->active--;
	m->next = g->free_msgs;
	g->free_msgs = m;
}
