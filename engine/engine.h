/*
 * engine.h - scan one message as it streams in, and decide
 *
 *	struct engine_worker *engine_worker_new(const struct ruleset *rs);
 *	int engine_worker_set_ruleset(struct engine_worker *w,
 *			const struct ruleset *rs);
 *	void engine_worker_free(struct engine_worker *w);
 *	const struct ruleset *engine_worker_ruleset(const struct engine_worker *w);
 *
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
 *
 *	struct engine_msg *engine_msg_begin(struct engine_worker *w,
 *			const struct ruleset *rs, const struct envelope *env);
 *	int engine_msg_feed(struct engine_msg *m, const void *buf, size_t len);
 *	int engine_msg_end(struct engine_msg *m, struct verdict *v);
 *	const struct mime_part *engine_msg_parts(const struct engine_msg *m,
 *			size_t *nparts);
 *	void engine_msg_free(struct engine_msg *m);
 *	const char *engine_msg_rules_version(const struct engine_msg *m);
 *
 *	void verdict_free(struct verdict *v);
 *	const char *action_name(enum action a);
 *	int action_from_name(const char *name, enum action *out);
 *
 * DESCRIPTION
 *	One engine_worker per thread or lcore: it owns the Hyperscan scratch
 *	space (allocated for every database of the rule set it was made for)
 *	and recycles the per-message working memory (MIME parser, Hyperscan
 *	streams, rule marks), message after message. A worker is never
 *	shared between threads, but any number of its messages may be in
 *	progress at once: one per SMTP session in DATA on that core.
 *
 *	engine_msg_begin() starts a message under rule set rs, which must be
 *	the worker's current one (engine_worker_ruleset(); NULL means that);
 *	engine_msg_feed() takes the message as received (CRLF line ends, no
 *	dot-stuffing) in chunks of any size: MIME parsing, transfer decoding,
 *	charset conversion and Hyperscan stream scanning of every scope happen
 *	as bytes arrive, with no second pass. engine_msg_end() finishes the
 *	scan and fills v: the verdict is the same whatever the chunking.
 *
 *	The verdict's matches are listed in rule-set order, whatever the
 *	chunking; they and the parts stay valid until engine_msg_free().
 *
 *	engine_worker_set_ruleset() moves an idle worker to another rule set:
 *	scratch and streams are re-sized for it, on the calling thread.
 *
 *	Rule swaps under load (docs/adr/0010-rule-publishing.md) use
 *	generations instead: an engine_gen is one rule set as one worker uses
 *	it (its own Hyperscan scratch, its field filter, nmsgs message
 *	objects made in advance). Control makes them, off the data path:
 *	engine_gen_new() once per rule set (hs_alloc_scratch over its
 *	databases), engine_gen_clone() for every further worker
 *	(hs_clone_scratch). On the worker's own thread,
 *	engine_worker_switch() makes g the generation new messages begin on
 *	- no allocation, no system call - and returns the previous one. A
 *	message keeps the generation it began on until engine_msg_free(), so
 *	a message in progress ends on its own rule set and scratch. The
 *	worker owns its current generation (engine_worker_free frees it);
 *	a switched-away one belongs to the caller, who frees it with
 *	engine_gen_free() once engine_gen_open() (read on the worker's
 *	thread) is 0. engine_gen_memory() gives the Hyperscan bytes a
 *	generation holds (scratch) and refers to (databases), for the swap's
 *	log. engine_msg_rules_version() names the rule set a message
 *	began on (for its log row), valid until engine_msg_free().
 *
 *	The verdict filled by engine_msg_end() points into the message and
 *	the rule set (matches, descriptions, policy name): it is valid until
 *	engine_msg_free(); verdict_free() only clears it. What must outlive
 *	the message (a handoff record) is copied, since after a rule swap
 *	the rule set goes away once its last message is freed.
 *
 *	The JSON form of a verdict (CLI, logs) is written by json_verdict()
 *	in json.h (already implemented in json.c; use it, do not add another).
 *
 * DIAGNOSTICS
 *	engine_worker_new() and engine_msg_begin() return NULL with errno set;
 *	engine_msg_feed() and engine_msg_end() return -1 with errno set when
 *	a resource limit or Hyperscan failed (the message must then be
 *	tempfailed, never passed).
 */
#ifndef MX_ENGINE_H
#define MX_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "mime.h"

/* Verdict actions in increasing order of severity. */
enum action {
	ACT_PASS = 0,
	ACT_TAG,
	ACT_QUARANTINE,
	ACT_DISCARD,
	ACT_TEMPFAIL,
	ACT_REJECT,
	ACT_COUNT
};

/* Where a pattern looks. */
enum scope {
	SCOPE_HEADER = 0,	/* one header field's decoded value */
	SCOPE_BODY,		/* decoded text parts, UTF-8 */
	SCOPE_ATTACHMENT,	/* decoded bytes of non-text leaf parts */
	SCOPE_RAW,		/* the message as received */
	SCOPE_URL,		/* each URL found in text and HTML */
	SCOPE_ENVELOPE,		/* helo, client address/name, sender, rcpts */
	SCOPE_MESSAGE,		/* no pattern: conditions only, per message */
	SCOPE_PART,		/* no pattern: conditions only, per leaf part */
	SCOPE_COUNT
};

#define VERDICT_REPLY_MAX	256
#define RULE_ID_MAX		64

struct verdict_match {
	char rule_id[RULE_ID_MAX];
	enum scope scope;
	int part;		/* part id, -1 when not part-bound */
	int score;		/* the rule's score */
	enum action action;	/* the rule's direct action, ACT_PASS if none */
	const char *description;	/* owned by the rule set */
};

struct verdict {
	enum action action;
	int score;
	struct verdict_match *matches;	/* in rule-set order */
	size_t nmatches;
	char reply[VERDICT_REPLY_MAX];	/* "550 5.7.1 ..." for reject and
					 * tempfail, "" otherwise */
	char reason[VERDICT_REPLY_MAX];	/* one line for logs: why */
	const char *policy;		/* name of the policy applied */
	char tag_subject[64];		/* subject prefix for ACT_TAG */
	char reroute[256];		/* relay: deliver here instead, "" */
	char bcc[256];			/* relay: also deliver here, "" */
	unsigned mime_flags;		/* OR of every part's MIME_F_* */
};

struct ruleset;
struct engine_worker;
struct engine_gen;
struct engine_msg;

struct engine_worker *engine_worker_new(const struct ruleset *rs);
int engine_worker_set_ruleset(struct engine_worker *w,
			      const struct ruleset *rs);
void engine_worker_free(struct engine_worker *w);
const struct ruleset *engine_worker_ruleset(const struct engine_worker *w);
struct engine_gen *engine_gen_new(const struct ruleset *rs, unsigned nmsgs);
struct engine_gen *engine_gen_clone(const struct engine_gen *proto,
				    unsigned nmsgs);
void engine_gen_free(struct engine_gen *g);
const struct ruleset *engine_gen_ruleset(const struct engine_gen *g);
size_t engine_gen_open(const struct engine_gen *g);
void engine_gen_memory(const struct engine_gen *g, size_t *scratch,
		       size_t *databases);
struct engine_gen *engine_worker_switch(struct engine_worker *w,
					struct engine_gen *g);

struct engine_msg *engine_msg_begin(struct engine_worker *w,
				    const struct ruleset *rs,
				    const struct envelope *env);
int engine_msg_feed(struct engine_msg *m, const void *buf, size_t len);
int engine_msg_end(struct engine_msg *m, struct verdict *v);
const struct mime_part *engine_msg_parts(const struct engine_msg *m,
					 size_t *nparts);
void engine_msg_free(struct engine_msg *m);
const char *engine_msg_rules_version(const struct engine_msg *m);

void verdict_free(struct verdict *v);
const char *action_name(enum action a);
int action_from_name(const char *name, enum action *out);
const char *scope_name(enum scope s);
int scope_from_name(const char *name, enum scope *out);

#endif
