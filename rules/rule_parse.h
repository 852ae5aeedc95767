/*
 * rule_parse.h - rule-language parser, private to rules/
 *
 *	void rule_build_init(struct rule_build *b, struct rules_error *err);
 *	int rule_parse_text(struct rule_build *b, const char *file,
 *			const char *text, size_t len);
 *	void rule_build_release(struct rule_build *b);
 *
 *	int rule_parse_error(struct rule_parser *p, const char *fmt, ...);
 *	int rule_parse_nomem(struct rule_parser *p);
 *	int rule_parse_string(struct rule_parser *p, const char *v,
 *			const char **rest);
 *	int rule_parse_value(struct rule_parser *p, const char *v, char **out);
 *	int rule_parse_number(struct rule_parser *p, const char *v,
 *			int64_t min, int64_t max, int suffix, int64_t *out);
 *	int rule_parse_list(struct rule_parser *p, char *v,
 *			struct rule_strlist *l,
 *			int (*check)(struct rule_parser *, const char *));
 *
 *	extern const struct rule_key rule_keys_rule[], rule_keys_policy[];
 *
 * DESCRIPTION
 *	A rule_build collects the rules and policies of one or more files
 *	(rule ids and policy names are unique across all of them) and the
 *	running FNV-1a digest of their text. rule_compile.c then turns it
 *	into a struct ruleset. The syntax is documented in docs/rules.md.
 *
 *	rule_parse.c reads lines and blocks; the meaning of each key is in
 *	rule_keys.c (tables rule_keys_rule and rule_keys_policy, ended by a
 *	NULL name), which uses the value helpers: rule_parse_string()
 *	decodes a bare or quoted string into p->buf (p->buf_len bytes, NUL
 *	allowed), rule_parse_value() a plain text value into a new string,
 *	rule_parse_number() an integer with optional K/M/G suffix,
 *	rule_parse_list() a comma/blank separated list.
 *
 * DIAGNOSTICS
 *	rule_parse_text() returns 0, or -1 with *err naming the file, the
 *	line and the reason. The helpers return 0, or -1 after
 *	rule_parse_error() filled *err.
 */
#ifndef MX_RULE_PARSE_H
#define MX_RULE_PARSE_H

#include <stdint.h>

#include "rules.h"
#include "ruleset.h"

#define RULES_LINE_MAX		4096	/* bytes in one line */
#define RULES_MAX		100000	/* rules in one rule set */
#define RULES_POLICIES_MAX	1000	/* policies in one rule set */
#define RULES_SCORE_MAX		100000	/* |score| of one rule */
#define RULES_FNV_OFFSET	0xcbf29ce484222325ULL
#define RULES_FNV_PRIME		0x100000001b3ULL

struct rule_build {
	struct rule *rules;
	size_t  nrules, rules_cap;
	struct policy *policies;	/* [0] is the default */
	size_t  npolicies, policies_cap;
	char  **files;
	size_t  nfiles, files_cap;
	uint64_t digest;
	struct rules_error *err;
};

enum rule_parse_block {
	RULE_PARSE_NONE,
	RULE_PARSE_RULE,
	RULE_PARSE_POLICY
};

/* The state of one file's parse. */
struct rule_parser {
	struct rule_build *b;
	const char *file;
	int     line;
	enum rule_parse_block in;
	int     block_line;
	uint64_t seen;		/* keys given in this block, by table index */
	struct rule rule;	/* the rule being read */
	struct policy *pol;	/* the policy being read */
	int     default_seen;
	char    buf[RULES_LINE_MAX + 1];	/* decoded string values */
	size_t  buf_len;
};

typedef int (*rule_key_fn)(struct rule_parser *p, char *value);

struct rule_key {
	const char *name;
	rule_key_fn fn;
	int     repeat;		/* may appear more than once */
	int     bare;		/* takes no value */
};

extern const struct rule_key rule_keys_rule[];
extern const struct rule_key rule_keys_policy[];

void rule_build_init(struct rule_build *b, struct rules_error *err);
int rule_parse_text(struct rule_build *b, const char *file,
		    const char *text, size_t len);
void rule_build_release(struct rule_build *b);

int rule_parse_error(struct rule_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int rule_parse_nomem(struct rule_parser *p);
int rule_parse_string(struct rule_parser *p, const char *v,
		      const char **rest);
int rule_parse_value(struct rule_parser *p, const char *v, char **out);
int rule_parse_number(struct rule_parser *p, const char *v, int64_t min,
		      int64_t max, int suffix, int64_t *out);
int rule_parse_list(struct rule_parser *p, char *v, struct rule_strlist *l,
		    int (*check)(struct rule_parser *, const char *));

#endif
