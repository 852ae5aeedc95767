/*
 * engine.c - one message through MIME parsing, scanning and policy
 *
 *	struct engine_worker *engine_worker_new(const struct ruleset *rs);
 *	int engine_worker_set_ruleset(struct engine_worker *w,
 *			const struct ruleset *rs);
 *	void engine_worker_free(struct engine_worker *w);
 *	struct engine_msg *engine_msg_begin(struct engine_worker *w,
 *			const struct ruleset *rs, const struct envelope *env);
 *	int engine_msg_feed(struct engine_msg *m, const void *buf, size_t len);
 *	int engine_msg_end(struct engine_msg *m, struct verdict *v);
 *	const struct mime_part *engine_msg_parts(const struct engine_msg *m,
 *			size_t *nparts);
 *	void engine_msg_free(struct engine_msg *m);
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
 *	All working memory is sized once per rule set (engine_worker_new,
 *	engine_worker_set_ruleset) and reused: a message in steady state
 *	allocates nothing. Per-rule "fired" marks use a message generation
 *	number, so starting a message does not clear anything.
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

struct engine_cand {
	unsigned rule;
	int     part;
};

struct engine_msg {
	struct engine_worker *w;
	const struct envelope *env;
	uint64_t size;		/* bytes fed */
	int     active;		/* between begin and free */
	int     ended;
	int     failed;		/* errno of a failure inside a callback */
	int     cand_cut;	/* ENGINE_CAND_MAX reached */
	int     cur_part;	/* part of the bytes being scanned, -1 */
};

struct engine_worker {
	const struct ruleset *rs;
	struct scan_worker *sw;
	struct mime_parser *mp;
	struct engine_msg msg;
	uint32_t gen;		/* message generation */
	uint32_t *fired_gen;	/* per rule: gen it fired in */
	uint32_t *cand_gen;	/* per rule: gen of its last candidate */
	int    *cand_part;	/* per rule: part of its last candidate */
	struct engine_cand *cand;
	size_t  ncand;
	struct verdict_match *matches;	/* at most one per rule */
	unsigned *match_rule;	/* rule index of each match */
	size_t  nmatches;
};

/* engine_fire - the rule holds: record it once */
static void engine_fire(struct engine_worker *w, unsigned rule, int part)
{
	const struct rule *r = &w->rs->rules[rule];
	struct verdict_match *vm = &w->matches[w->nmatches];

	w->fired_gen[rule] = w->gen;
	memcpy(vm->rule_id, r->id, sizeof(vm->rule_id));
	vm->scope = r->scope;
	vm->part = part;
	vm->score = r->score;
	vm->action = r->action;
	vm->description = r->description;
	w->match_rule[w->nmatches++] = rule;
}

/* engine_hit - Hyperscan matched a rule in the current part */
static void engine_hit(void *ctx, unsigned rule)
{
	struct engine_msg *m = ctx;
	struct engine_worker *w = m->w;
	const struct rule *r = &w->rs->rules[rule];

	if (w->fired_gen[rule] == w->gen)
		return;
	if (!r->cond.has_part && !r->cond.has_msg) {
		engine_fire(w, rule, m->cur_part);
		return;
	}
	/* message conditions do not depend on the part: one candidate */
	if (w->cand_gen[rule] == w->gen
	    && (!r->cond.has_part || w->cand_part[rule] == m->cur_part))
		return;
	if (w->ncand == ENGINE_CAND_MAX) {
		m->cand_cut = 1;
		return;
	}
	w->cand_gen[rule] = w->gen;
	w->cand_part[rule] = m->cur_part;
	w->cand[w->ncand].rule = rule;
	w->cand[w->ncand++].part = m->cur_part;
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
	if (scan_block(m->w->sw, SCOPE_HEADER, name, name_len, value,
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
	if (scan_stream(m->w->sw, SCOPE_ATTACHMENT, data, len, engine_hit,
			m) < 0)
		engine_failed(m);
}

/* engine_on_text - UTF-8 bytes of a text leaf: body scope */
static void engine_on_text(void *ctx, const struct mime_part *part,
			   const uint8_t *utf8, size_t len)
{
	struct engine_msg *m = ctx;

	m->cur_part = part->id;
	if (scan_stream(m->w->sw, SCOPE_BODY, utf8, len, engine_hit, m) < 0)
		engine_failed(m);
}

/* engine_on_url - one URL: url scope */
static void engine_on_url(void *ctx, const struct mime_part *part,
			  const char *url, size_t len)
{
	struct engine_msg *m = ctx;

	m->cur_part = part->id;
	if (scan_block(m->w->sw, SCOPE_URL, NULL, 0, url, len, engine_hit,
		       m) < 0)
		engine_failed(m);
}

/* engine_on_part_end - end-of-data matches of the part's stream */
static void engine_on_part_end(void *ctx, const struct mime_part *part)
{
	struct engine_msg *m = ctx;

	m->cur_part = part->id;
	if (scan_stream_end(m->w->sw, part->is_text ? SCOPE_BODY
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

/* engine_size_for - (re)size the per-rule arrays for rs */
static int engine_size_for(struct engine_worker *w, const struct ruleset *rs)
{
	size_t  n = rs->nrules ? rs->nrules : 1;

	free(w->fired_gen);
	free(w->cand_gen);
	free(w->cand_part);
	free(w->matches);
	free(w->match_rule);
	w->fired_gen = calloc(n, sizeof(*w->fired_gen));
	w->cand_gen = calloc(n, sizeof(*w->cand_gen));
	w->cand_part = calloc(n, sizeof(*w->cand_part));
	w->matches = calloc(n, sizeof(*w->matches));
	w->match_rule = calloc(n, sizeof(*w->match_rule));
	if (w->cand == NULL)
		w->cand = calloc(ENGINE_CAND_MAX, sizeof(*w->cand));
	if (w->fired_gen == NULL || w->cand_gen == NULL || w->cand_part == NULL
	    || w->matches == NULL || w->match_rule == NULL || w->cand == NULL) {
		errno = ENOMEM;
		return -1;
	}
	w->gen = 0;
	w->rs = rs;
	return 0;
}

/* engine_worker_set_ruleset - move an idle worker to another rule set */
int engine_worker_set_ruleset(struct engine_worker *w,
			      const struct ruleset *rs)
{
	if (w->msg.active) {
		errno = EBUSY;
		return -1;
	}
	if (scan_worker_bind(w->sw, rs) < 0)
		return -1;
	return engine_size_for(w, rs);
}

/* engine_worker_new - a worker for rule set rs */
struct engine_worker *engine_worker_new(const struct ruleset *rs)
{
	struct engine_worker *w = calloc(1, sizeof(*w));
	struct mime_limits lim;

	if (w == NULL)
		return NULL;
	w->msg.w = w;
	mime_limits_default(&lim);
	if ((w->sw = scan_worker_new(rs)) == NULL
	    || (w->mp = mime_parser_new(&lim, &engine_mime_callbacks,
					&w->msg)) == NULL
	    || engine_size_for(w, rs) < 0) {
		int     saved = errno;

		engine_worker_free(w);
		errno = saved;
		return NULL;
	}
	return w;
}

/* engine_worker_free - release a worker */
void engine_worker_free(struct engine_worker *w)
{
	if (w == NULL)
		return;
	scan_worker_free(w->sw);
	if (w->mp != NULL)
		mime_parser_free(w->mp);
	free(w->fired_gen);
	free(w->cand_gen);
	free(w->cand_part);
	free(w->cand);
	free(w->matches);
	free(w->match_rule);
	free(w);
}

/* engine_scan_envelope - envelope scope, one block per item */
static int engine_scan_envelope(struct engine_msg *m)
{
	const struct envelope *e = m->env;
	struct scan_worker *sw = m->w->sw;
	const struct {
		const char *field;
		const char *value;
	} items[] = {
		{"helo", e->helo},
		{"client-addr", e->client_addr},
		{"client-name", e->client_name},
		{"mail-from", e->mail_from},
	};

	if (m->w->rs->db[SCOPE_ENVELOPE] == NULL)
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

/* engine_msg_begin - start a message on an idle worker */
struct engine_msg *engine_msg_begin(struct engine_worker *w,
				    const struct ruleset *rs,
				    const struct envelope *env)
{
	static const struct envelope no_env = {"", "", "", "", NULL, 0};
	struct engine_msg *m = &w->msg;

	if (m->active) {
		errno = EBUSY;
		return NULL;
	}
	if (rs != w->rs) {	/* see engine_worker_set_ruleset() */
		errno = EINVAL;
		return NULL;
	}
	if (++w->gen == 0) {	/* wrapped: old marks would look current */
		memset(w->fired_gen, 0, w->rs->nrules * sizeof(uint32_t));
		memset(w->cand_gen, 0, w->rs->nrules * sizeof(uint32_t));
		w->gen = 1;
	}
	mime_parser_reset(w->mp);
	w->ncand = 0;
	w->nmatches = 0;
	m->env = env != NULL ? env : &no_env;
	m->size = 0;
	m->active = 1;
	m->ended = 0;
	m->failed = 0;
	m->cand_cut = 0;
	m->cur_part = -1;
	if (engine_scan_envelope(m) < 0) {
		m->active = 0;
		return NULL;
	}
	return m;
}

/* engine_msg_feed - the next bytes of the message as received */
int engine_msg_feed(struct engine_msg *m, const void *buf, size_t len)
{
	if (m->failed) {
		errno = m->failed;
		return -1;
	}
	m->size += len;
	m->cur_part = -1;
	if (scan_stream(m->w->sw, SCOPE_RAW, buf, len, engine_hit, m) < 0)
		return -1;
	if (mime_parser_feed(m->w->mp, buf, len) < 0)
		return -1;
	if (m->failed) {
		errno = m->failed;
		return -1;
	}
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
	struct engine_worker *w = m->w;
	const struct ruleset *rs = w->rs;
	const struct mime_part *parts;
	size_t  nparts;
	int     leaf;

	parts = mime_parser_parts(w->mp, &nparts);
	for (size_t i = 0; i < w->ncand; i++) {
		const struct engine_cand *c = &w->cand[i];
		const struct rule *r = &rs->rules[c->rule];

		if (w->fired_gen[c->rule] == w->gen)
			continue;
		if (r->cond.has_part
		    && (c->part < 0 || (size_t) c->part >= nparts
			|| !ruleset_part_holds(&r->cond, &parts[c->part])))
			continue;
		if (ruleset_msg_holds(&r->cond, m->env, m->size))
			engine_fire(w, c->rule, c->part);
	}
	for (size_t i = 0; i < rs->ncond_rules[SCOPE_PART]; i++) {
		unsigned id = rs->cond_rules[SCOPE_PART][i];
		const struct rule *r = &rs->rules[id];

		if (!ruleset_msg_holds(&r->cond, m->env, m->size))
			continue;
		if ((leaf = engine_first_leaf_holding(r, parts, nparts)) >= 0)
			engine_fire(w, id, leaf);
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
		engine_fire(w, id, leaf);
	}
}

/* engine_msg_end - finish parsing and scanning; fill the verdict */
int engine_msg_end(struct engine_msg *m, struct verdict *v)
{
	struct engine_worker *w = m->w;
	const struct mime_part *parts;
	size_t  nparts;

	memset(v, 0, sizeof(*v));
	if (m->failed) {
		errno = m->failed;
		return -1;
	}
	if (mime_parser_finish(w->mp) < 0)
		return -1;
	m->cur_part = -1;
	if (scan_stream_end(w->sw, SCOPE_RAW, engine_hit, m) < 0)
		return -1;
	if (m->failed) {
		errno = m->failed;
		return -1;
	}
	/* a parser that skipped part_end must not leak into the next part */
	scan_stream_abort(w->sw);
	m->ended = 1;
	engine_decide_rules(m);
	v->matches = w->matches;
	v->nmatches = w->nmatches;
	for (size_t i = 0; i < w->nmatches; i++) {
		const struct rule *r = &w->rs->rules[w->match_rule[i]];

		if (r->reroute != NULL && v->reroute[0] == '\0')
			snprintf(v->reroute, sizeof(v->reroute), "%s",
				 r->reroute);
		if (r->bcc != NULL && v->bcc[0] == '\0')
			snprintf(v->bcc, sizeof(v->bcc), "%s", r->bcc);
	}
	policy_decide(w->rs, m->env, v);
	if (m->cand_cut)
		strncat(v->reason, " (candidates cut)",
			sizeof(v->reason) - strlen(v->reason) - 1);
	parts = mime_parser_parts(w->mp, &nparts);
	for (size_t i = 0; i < nparts; i++)
		v->mime_flags |= parts[i].flags;
	return 0;
}

/* engine_msg_parts - the message's parts, valid until engine_msg_free */
const struct mime_part *engine_msg_parts(const struct engine_msg *m,
					 size_t *nparts)
{
	return mime_parser_parts(m->w->mp, nparts);
}

/* engine_msg_free - the worker is idle again */
void engine_msg_free(struct engine_msg *m)
{
	if (m == NULL)
		return;
	if (!m->ended)
		scan_stream_abort(m->w->sw);
	m->active = 0;
}
