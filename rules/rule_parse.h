/*
 * rule_parse.h - rule-language parser, private to rules/
 *
 *	void rule_build_init(struct rule_build *b, struct rules_error *err);
 *	int rule_parse_text(struct rule_build *b, const char *file,
 *			const char *text, size_t len);
 *	void rule_build_release(struct rule_build *b);
 *
 * DESCRIPTION
 *	A rule_build collects the rules and policies of one or more files
 *	(rule ids and policy names are unique across all of them) and the
 *	running FNV-1a digest of their text. rule_compile.c then turns it
 *	into a struct ruleset. The syntax is documented in docs/rules.md.
 *
 * DIAGNOSTICS
 *	rule_parse_text() returns 0, or -1 with *err naming the file, the
 *	line and the reason.
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

void rule_build_init(struct rule_build *b, struct rules_error *err);
int rule_parse_text(struct rule_build *b, const char *file,
		    const char *text, size_t len);
void rule_build_release(struct rule_build *b);

#endif
