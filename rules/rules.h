/*
 * rules.h - load a rule set from text and compile it for the engine
 *
 *	struct ruleset *rules_load_dir(const char *dir, struct rules_error *err);
 *	struct ruleset *rules_load_files(const char *const *paths, size_t n,
 *			struct rules_error *err);
 *	struct ruleset *rules_load_buffer(const char *name, const char *text,
 *			size_t len, struct rules_error *err);
 *	void rules_free(struct ruleset *rs);
 *	size_t rules_count(const struct ruleset *rs);
 *	const char *rules_version(const struct ruleset *rs);
 *
 * DESCRIPTION
 *	rules_load_dir() reads every "*.rules" file of dir in name order,
 *	parses them, checks them and compiles one Hyperscan database per
 *	scope. A rule set is accepted whole or refused whole.
 *
 *	rules_version() is a short stable digest of the rule text (the same
 *	files give the same version), used in logs and status.
 *
 * DIAGNOSTICS
 *	On refusal the loaders return NULL and fill err: the file, the line
 *	(0 when the problem is not one line's, e.g. an unreadable directory)
 *	and the reason, with Hyperscan's compile error where it was the one
 *	that refused.
 */
#ifndef MX_RULES_H
#define MX_RULES_H

#include <limits.h>
#include <stddef.h>

#include "engine.h"

struct rules_error {
	char file[PATH_MAX];
	int line;
	char msg[512];
};

struct ruleset *rules_load_dir(const char *dir, struct rules_error *err);
struct ruleset *rules_load_files(const char *const *paths, size_t n,
				 struct rules_error *err);
struct ruleset *rules_load_buffer(const char *name, const char *text,
				  size_t len, struct rules_error *err);
void rules_free(struct ruleset *rs);
size_t rules_count(const struct ruleset *rs);
const char *rules_version(const struct ruleset *rs);

#endif
