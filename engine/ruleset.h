/*
 * ruleset.h - a compiled rule set, private to engine/ and rules/
 *
 *	void ruleset_free(struct ruleset *rs);
 *	const struct rule *ruleset_rule(const struct ruleset *rs, unsigned id);
 *	const struct rule *ruleset_find(const struct ruleset *rs,
 *			const char *rule_id);
 *	const struct policy *ruleset_policy_for(const struct ruleset *rs,
 *			const char *address);
 *	const hs_database_t *ruleset_database(const struct ruleset *rs,
 *			enum scope s);
 *	double ruleset_compile_ms(const struct ruleset *rs);
 *	size_t ruleset_stream_size(const struct ruleset *rs);
 *	int ruleset_part_holds(const struct rule_cond *c,
 *			const struct mime_part *part);
 *	int ruleset_msg_holds(const struct rule_cond *c,
 *			const struct envelope *env, uint64_t msg_size);
 *
 * DESCRIPTION
 *	A rule set is built by rules/ (parse, check, compile) and then only
 *	read, by any number of workers at once. Every rule has an index in
 *	rules[]; that index is also its Hyperscan expression id, so a match
 *	maps back to its rule without a lookup table.
 *
 *	db[s] is the Hyperscan database of scope s (stream mode for body,
 *	attachment and raw; block mode for header, url and envelope), NULL
 *	when no rule of that scope has a pattern. Benchmarks may scan with it
 *	directly (ruleset_database) to measure the ceiling.
 *
 *	policies[0] is always the default policy; the others are chosen by
 *	recipient domain (ruleset_policy_for).
 *
 *	ruleset_stream_size() is the Hyperscan stream state a worker holds for
 *	one message: the sum of hs_stream_size() over the stream databases.
 *
 *	ruleset_part_holds() tells whether the part conditions of a rule hold
 *	for one part (filename glob, last extension, double extension, true
 *	type, decoded size); ruleset_msg_holds() the message conditions
 *	(message size, recipient count, sender, recipients). Unset
 *	conditions hold.
 */
#ifndef MX_RULESET_H
#define MX_RULESET_H

#include <stddef.h>
#include <stdint.h>

#include <hs/hs.h>

#include "engine.h"

/* Default score thresholds and subject tag of a policy. */
#define POLICY_TAG_DEFAULT		5
#define POLICY_QUARANTINE_DEFAULT	10
#define POLICY_REJECT_DEFAULT		15
#define POLICY_SUBJECT_DEFAULT		"[SPAM]"
#define POLICY_NAME_DEFAULT		"default"
#define POLICY_THRESHOLD_OFF		INT32_MAX	/* "off" in rules */
#define POLICY_NAME_MAX			64
#define POLICY_SUBJECT_MAX		64		/* incl. NUL */
#define RULESET_EXT_MAX			5	/* chars of the inner
						 * extension of a double
						 * extension: a.pdf.exe */

/* A list of strings owned by the rule set. */
struct rule_strlist {
	char  **v;
	size_t  n;
};

/* Conditions; a rule fires only when its pattern (if any) matched and
 * every condition set here holds. Unset bounds are 0 / UINT64_MAX. */
struct rule_cond {
	char   *field;		/* header name, or envelope field; NULL = any */
	/* part conditions: the part matched (part scope, pattern scopes) or
	 * any leaf part of the message (message scope) */
	struct rule_strlist globs;	/* filename globs, fnmatch, no case */
	struct rule_strlist exts;	/* last extension is one of these */
	int     double_ext;		/* name.ext1.ext2 */
	uint64_t types;			/* bit per enum filetype, 0 = any */
	uint64_t size_min, size_max;	/* part decoded size */
	/* message conditions */
	uint64_t msg_size_min, msg_size_max;
	uint64_t rcpt_min, rcpt_max;
	struct rule_strlist senders;	/* addr, @domain */
	struct rule_strlist rcpts;	/* any recipient is one of these */
	unsigned has_part:1;		/* some part condition is set */
	unsigned has_msg:1;		/* some message condition is set */
};

struct rule {
	char    id[RULE_ID_MAX];
	enum scope scope;
	char   *pattern;	/* Hyperscan expression; NULL: conditions only */
	unsigned hs_flags;
	int     score;
	enum action action;	/* ACT_PASS: score only */
	char   *reroute;	/* NULL if none */
	char   *bcc;
	char   *description;	/* NULL if none */
	const char *file;	/* owned by the rule set's files[] */
	int     line;
	struct rule_cond cond;
};

struct policy {
	char    name[POLICY_NAME_MAX];
	int     tag, quarantine, reject;	/* score thresholds */
	char    subject_prefix[POLICY_SUBJECT_MAX];
	struct rule_strlist domains;	/* "example.com"; ".example.com"
					 * for every subdomain */
	const char *file;
	int     line;
};

struct ruleset {
	struct rule *rules;
	size_t  nrules;
	struct policy *policies;	/* [0] is the default */
	size_t  npolicies;
	hs_database_t *db[SCOPE_COUNT];
	unsigned *cond_rules[SCOPE_COUNT];	/* rule indexes of the
						 * part and message scopes */
	size_t  ncond_rules[SCOPE_COUNT];
	char  **files;		/* file names rules point to */
	size_t  nfiles;
	char    version[17];	/* 64-bit FNV-1a of the text, hex */
	double  compile_ms;	/* wall time of all hs_compile_multi calls */
};

void ruleset_free(struct ruleset *rs);
const struct rule *ruleset_rule(const struct ruleset *rs, unsigned id);
const struct rule *ruleset_find(const struct ruleset *rs, const char *rule_id);
const struct policy *ruleset_policy_for(const struct ruleset *rs,
					const char *address);
const hs_database_t *ruleset_database(const struct ruleset *rs, enum scope s);
double ruleset_compile_ms(const struct ruleset *rs);
size_t ruleset_stream_size(const struct ruleset *rs);
int ruleset_part_holds(const struct rule_cond *c,
		       const struct mime_part *part);
int ruleset_msg_holds(const struct rule_cond *c, const struct envelope *env,
		      uint64_t msg_size);
void ruleset_strlist_free(struct rule_strlist *l);
int ruleset_strlist_has(const struct rule_strlist *l, const char *s);

#endif
