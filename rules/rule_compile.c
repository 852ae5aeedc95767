/*
 * rule_compile.c - load rule files and compile them for Hyperscan
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
 *	See rules.h. Each pattern scope becomes one database, compiled by one
 *	hs_compile_multi() call with the rule's index as expression id;
 *	stream mode for body, attachment and raw, block mode for the others.
 *	When Hyperscan refuses an expression, its index names the rule, and
 *	so the file and line, in the error.
 *
 * DIAGNOSTICS
 *	NULL with *err filled: unreadable file or directory (line 0), any
 *	parse error, or "rule ID: hyperscan: <message>".
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rule_parse.h"

#define RULES_FILE_MAX	(64L * 1024 * 1024)	/* bytes in one rule file */
#define RULES_DIR_MAX	10000			/* files in a rule directory */
#define RULES_SUFFIX	".rules"

/* rc_error - fill an error that is not one line's */
static void rc_error(struct rules_error *err, const char *file, int line,
		     const char *msg, const char *detail)
{
	snprintf(err->file, sizeof(err->file), "%s", file);
	err->line = line;
	snprintf(err->msg, sizeof(err->msg), "%s%s%s", msg,
		 detail ? ": " : "", detail ? detail : "");
}

/* rc_now_ms - monotonic time for the compile-time figure */
static double rc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* rc_is_stream_scope - scopes scanned as streams */
static int rc_is_stream_scope(enum scope s)
{
	return s == SCOPE_BODY || s == SCOPE_ATTACHMENT || s == SCOPE_RAW;
}

/* rc_compile_scope - one database for every pattern rule of scope s */
static int rc_compile_scope(struct ruleset *rs, enum scope s,
			    struct rules_error *err)
{
	const char **expr;
	unsigned *flags, *ids;
	size_t  n = 0;
	hs_compile_error_t *ce = NULL;
	hs_error_t rc;
	int     ret = 0;

	for (size_t i = 0; i < rs->nrules; i++)
		n += rs->rules[i].scope == s;
	if (n == 0)
		return 0;
	expr = calloc(n, sizeof(*expr));
	flags = calloc(n, sizeof(*flags));
	ids = calloc(n, sizeof(*ids));
	if (expr == NULL || flags == NULL || ids == NULL) {
		rc_error(err, "", 0, "out of memory", NULL);
		ret = -1;
		goto out;
	}
	n = 0;
	for (size_t i = 0; i < rs->nrules; i++) {
		if (rs->rules[i].scope != s)
			continue;
		expr[n] = rs->rules[i].pattern;
		flags[n] = rs->rules[i].hs_flags;
		ids[n++] = (unsigned) i;
	}
	rc = hs_compile_multi(expr, flags, ids, (unsigned) n,
			      rc_is_stream_scope(s) ? HS_MODE_STREAM
			      : HS_MODE_BLOCK, NULL, &rs->db[s], &ce);
	if (rc != HS_SUCCESS) {
		if (ce != NULL && ce->expression >= 0
		    && (size_t) ce->expression < n) {
			const struct rule *r = &rs->rules[ids[ce->expression]];

			snprintf(err->file, sizeof(err->file), "%s", r->file);
			err->line = r->line;
			snprintf(err->msg, sizeof(err->msg),
				 "rule %s: hyperscan: %s", r->id, ce->message);
		} else {
			snprintf(err->file, sizeof(err->file), "%s",
				 rs->nfiles ? rs->files[0] : "");
			err->line = 0;
			snprintf(err->msg, sizeof(err->msg),
				 "hs_compile_multi (%s scope): hs error %d: %s",
				 scope_name(s), (int) rc,
				 ce ? ce->message : "no detail");
		}
		ret = -1;
	}
	if (ce != NULL)
		hs_free_compile_error(ce);
out:
	free(expr);
	free(flags);
	free(ids);
	return ret;
}

/* rc_index_cond_rules - index lists of the condition-only scopes */
static int rc_index_cond_rules(struct ruleset *rs, struct rules_error *err)
{
	static const enum scope cond_scopes[] = { SCOPE_MESSAGE, SCOPE_PART };

	for (size_t k = 0; k < 2; k++) {
		enum scope s = cond_scopes[k];
		size_t  n = 0;

		for (size_t i = 0; i < rs->nrules; i++)
			n += rs->rules[i].scope == s;
		if (n == 0)
			continue;
		if ((rs->cond_rules[s] = calloc(n, sizeof(unsigned))) == NULL) {
			rc_error(err, "", 0, "out of memory", NULL);
			return -1;
		}
		for (size_t i = 0; i < rs->nrules; i++)
			if (rs->rules[i].scope == s)
				rs->cond_rules[s][rs->ncond_rules[s]++] =
					(unsigned) i;
	}
	return 0;
}

/* rc_finish - move a parsed build into a compiled rule set */
static struct ruleset *rc_finish(struct rule_build *b, struct rules_error *err)
{
	struct ruleset *rs = calloc(1, sizeof(*rs));
	double  t0;

	if (rs == NULL) {
		rc_error(err, "", 0, "out of memory", NULL);
		rule_build_release(b);
		return NULL;
	}
	rs->rules = b->rules;
	rs->nrules = b->nrules;
	rs->policies = b->policies;
	rs->npolicies = b->npolicies;
	rs->files = b->files;
	rs->nfiles = b->nfiles;
	snprintf(rs->version, sizeof(rs->version), "%016llx",
		 (unsigned long long) b->digest);
	memset(b, 0, sizeof(*b));
	t0 = rc_now_ms();
	for (int s = 0; s < SCOPE_MESSAGE; s++)
		if (rc_compile_scope(rs, (enum scope) s, err) < 0) {
			ruleset_free(rs);
			return NULL;
		}
	rs->compile_ms = rc_now_ms() - t0;
	if (rc_index_cond_rules(rs, err) < 0) {
		ruleset_free(rs);
		return NULL;
	}
	return rs;
}

/* rules_load_buffer - parse and compile one text */
struct ruleset *rules_load_buffer(const char *name, const char *text,
				  size_t len, struct rules_error *err)
{
	struct rule_build b;

	memset(err, 0, sizeof(*err));
	rule_build_init(&b, err);
	if (rule_parse_text(&b, name, text, len) < 0) {
		rule_build_release(&b);
		return NULL;
	}
	return rc_finish(&b, err);
}

/* rc_read_file - the whole of a file, NUL-terminated */
static char *rc_read_file(const char *path, size_t *len,
			  struct rules_error *err)
{
	FILE   *fp = fopen(path, "rb");
	char   *buf = NULL;
	long    size;

	if (fp == NULL) {
		rc_error(err, path, 0, "cannot open", strerror(errno));
		return NULL;
	}
	if (fseek(fp, 0, SEEK_END) < 0 || (size = ftell(fp)) < 0
	    || fseek(fp, 0, SEEK_SET) < 0) {
		rc_error(err, path, 0, "cannot read", strerror(errno));
		goto out;
	}
	if (size > RULES_FILE_MAX) {
		rc_error(err, path, 0, "file larger than RULES_FILE_MAX", NULL);
		goto out;
	}
	if ((buf = malloc((size_t) size + 1)) == NULL) {
		rc_error(err, path, 0, "out of memory", NULL);
		goto out;
	}
	if (fread(buf, 1, (size_t) size, fp) != (size_t) size) {
		rc_error(err, path, 0, "short read", strerror(errno));
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[size] = '\0';
	*len = (size_t) size;
out:
	fclose(fp);
	return buf;
}

/* rules_load_files - parse the files in order, compile them as one set */
struct ruleset *rules_load_files(const char *const *paths, size_t n,
				 struct rules_error *err)
{
	struct rule_build b;
	char   *text;
	size_t  len = 0;

	memset(err, 0, sizeof(*err));
	rule_build_init(&b, err);
	for (size_t i = 0; i < n; i++) {
		if ((text = rc_read_file(paths[i], &len, err)) == NULL) {
			rule_build_release(&b);
			return NULL;
		}
		if (rule_parse_text(&b, paths[i], text, len) < 0) {
			free(text);
			rule_build_release(&b);
			return NULL;
		}
		free(text);
	}
	return rc_finish(&b, err);
}

/* rc_cmp_names - qsort by file name */
static int rc_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* rc_is_rules_file - "*.rules", not hidden */
static int rc_is_rules_file(const char *name)
{
	size_t  n = strlen(name), sl = strlen(RULES_SUFFIX);

	return name[0] != '.' && n > sl
		&& strcmp(name + n - sl, RULES_SUFFIX) == 0;
}

/* rules_load_dir - every *.rules file of dir, in name order */
struct ruleset *rules_load_dir(const char *dir, struct rules_error *err)
{
	struct ruleset *rs = NULL;
	struct dirent *de;
	char  **paths = NULL;
	size_t  n = 0;
	DIR    *d;

	memset(err, 0, sizeof(*err));
	if ((d = opendir(dir)) == NULL) {
		rc_error(err, dir, 0, "cannot open directory", strerror(errno));
		return NULL;
	}
	if ((paths = calloc(RULES_DIR_MAX, sizeof(*paths))) == NULL) {
		rc_error(err, dir, 0, "out of memory", NULL);
		closedir(d);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (!rc_is_rules_file(de->d_name))
			continue;
		if (n == RULES_DIR_MAX) {
			rc_error(err, dir, 0, "more than RULES_DIR_MAX files",
				 NULL);
			goto out;
		}
		if (asprintf(&paths[n], "%s/%s", dir, de->d_name) < 0) {
			paths[n] = NULL;
			rc_error(err, dir, 0, "out of memory", NULL);
			goto out;
		}
		n++;
	}
	if (n == 0) {
		rc_error(err, dir, 0, "no " RULES_SUFFIX " files in directory",
			 NULL);
		goto out;
	}
	qsort(paths, n, sizeof(*paths), rc_cmp_names);
	rs = rules_load_files((const char *const *) paths, n, err);
out:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return rs;
}

/* rules_free - release a rule set */
void rules_free(struct ruleset *rs)
{
	ruleset_free(rs);
}

/* rules_count - number of rules */
size_t rules_count(const struct ruleset *rs)
{
	return rs->nrules;
}

/* rules_version - short digest of the rule text */
const char *rules_version(const struct ruleset *rs)
{
	return rs->version;
}
