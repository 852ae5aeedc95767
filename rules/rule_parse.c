/*
 * rule_parse.c - parse the line-oriented rule language
 *
 *	void rule_build_init(struct rule_build *b, struct rules_error *err);
 *	int rule_parse_text(struct rule_build *b, const char *file,
 *			const char *text, size_t len);
 *	void rule_build_release(struct rule_build *b);
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
 * DESCRIPTION
 *	Blocks "rule ID ... end" and "policy NAME ... end", one "key value"
 *	per line, whole-line "#" comments. Everything a rule can say is
 *	checked here and in rule_keys.c, except the patterns themselves,
 *	which Hyperscan checks at compile time (rule_compile.c).
 *
 * DIAGNOSTICS
 *	The first error stops the parse: "unknown key", "bad number",
 *	"duplicate rule id", "unknown file type", "missing pattern", ...
 *	with file and line in the rules_error.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rule_parse.h"

/* rule_parse_error - fill the error and fail */
int rule_parse_error(struct rule_parser *p, const char *fmt, ...)
{
	va_list ap;

	snprintf(p->b->err->file, sizeof(p->b->err->file), "%s", p->file);
	p->b->err->line = p->line;
	va_start(ap, fmt);
	vsnprintf(p->b->err->msg, sizeof(p->b->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* rule_parse_nomem - allocation failure, reported like any other refusal */
int rule_parse_nomem(struct rule_parser *p)
{
	return rule_parse_error(p, "out of memory");
}

/* rp_hexval - value of a hex digit, -1 if none */
static int rp_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* rule_parse_string - decode a value: "quoted with \\ \" \n \r \t \xHH" or bare */
int rule_parse_string(struct rule_parser *p, const char *v, const char **rest)
{
	size_t  n = 0;
	int     hi, lo;

	if (*v != '"') {
		n = strlen(v);
		memcpy(p->buf, v, n + 1);
		p->buf_len = n;
		*rest = v + n;
		return 0;
	}
	for (v++; *v != '"'; v++) {
		if (*v == '\0')
			return rule_parse_error(p, "unterminated string");
		if (*v != '\\') {
			p->buf[n++] = *v;
			continue;
		}
		switch (*++v) {
		case '\\': case '"': p->buf[n++] = *v; break;
		case 'n': p->buf[n++] = '\n'; break;
		case 'r': p->buf[n++] = '\r'; break;
		case 't': p->buf[n++] = '\t'; break;
		case 'x':
			if ((hi = rp_hexval(v[1])) < 0
			    || (lo = rp_hexval(v[2])) < 0)
				return rule_parse_error(p, "bad \\x escape");
			p->buf[n++] = (char) (hi << 4 | lo);
			v += 2;
			break;
		default:
			return rule_parse_error(p, "bad escape \\%c", *v ? *v : '0');
		}
	}
	p->buf[n] = '\0';
	p->buf_len = n;
	for (v++; isspace((unsigned char) *v); v++)
		;
	*rest = v;
	return 0;
}

/* rule_parse_value - a string value that must be plain text (no NUL, no trailer) */
int rule_parse_value(struct rule_parser *p, const char *v, char **out)
{
	const char *rest;

	if (rule_parse_string(p, v, &rest) < 0)
		return -1;
	if (*rest != '\0')
		return rule_parse_error(p, "unexpected text after string: %.40s", rest);
	if (p->buf_len == 0)
		return rule_parse_error(p, "empty value");
	if (memchr(p->buf, '\0', p->buf_len) != NULL)
		return rule_parse_error(p, "NUL byte in text value");
	if ((*out = strdup(p->buf)) == NULL)
		return rule_parse_nomem(p);
	return 0;
}

/* rule_parse_number - integer with optional K/M/G (x1024) suffix */
int rule_parse_number(struct rule_parser *p, const char *v, int64_t min, int64_t max,
		     int suffix, int64_t *out)
{
	char   *end;
	long long n;
	int64_t mult = 1;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (end == v || errno != 0 || isspace((unsigned char) *v))
		return rule_parse_error(p, "bad number: %.40s", v);
	if (suffix && *end != '\0' && end[1] == '\0') {
		switch (toupper((unsigned char) *end)) {
		case 'K': mult = 1024; end++; break;
		case 'M': mult = 1024 * 1024; end++; break;
		case 'G': mult = 1024 * 1024 * 1024; end++; break;
		}
	}
	if (*end != '\0')
		return rule_parse_error(p, "bad number: %.40s", v);
	if (n > max / mult || n < min / mult || n * mult > max
	    || n * mult < min)
		return rule_parse_error(p, "number out of range [%" PRId64 ", %"
				PRId64 "]: %.40s", min, max, v);
	*out = n * mult;
	return 0;
}

/* rule_parse_list - append comma/space separated items to a list */
int rule_parse_list(struct rule_parser *p, char *v, struct rule_strlist *l,
		   int (*check)(struct rule_parser *, const char *))
{
	char   *item, *save = NULL;
	char  **nv;

	for (item = strtok_r(v, ", \t", &save); item != NULL;
	     item = strtok_r(NULL, ", \t", &save)) {
		if (check != NULL && check(p, item) < 0)
			return -1;
		nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
		if (nv == NULL)
			return rule_parse_nomem(p);
		l->v = nv;
		if ((l->v[l->n] = strdup(item)) == NULL)
			return rule_parse_nomem(p);
		l->n++;
	}
	if (l->n == 0)
		return rule_parse_error(p, "empty list");
	return 0;
}

/* rp_id_ok - rule ids and policy names: [A-Za-z0-9_.-], bounded */
static int rp_id_ok(const char *id, size_t max)
{
	size_t  n = strlen(id);

	if (n == 0 || n >= max)
		return 0;
	for (; *id; id++)
		if (!isalnum((unsigned char) *id) && !strchr("_.-", *id))
			return 0;
	return 1;
}

/* rp_rule_begin - "rule ID" */
static int rp_rule_begin(struct rule_parser *p, const char *id)
{
	if (!rp_id_ok(id, RULE_ID_MAX))
		return rule_parse_error(p, "bad rule id (want 1-%d of [A-Za-z0-9_.-]):"
				" %.80s", RULE_ID_MAX - 1, id);
	for (size_t i = 0; i < p->b->nrules; i++)
		if (strcmp(p->b->rules[i].id, id) == 0)
			return rule_parse_error(p, "duplicate rule id %s (first at %s:%d)",
					id, p->b->rules[i].file,
					p->b->rules[i].line);
	if (p->b->nrules >= RULES_MAX)
		return rule_parse_error(p, "more than %d rules", RULES_MAX);
	memset(&p->rule, 0, sizeof(p->rule));
	strcpy(p->rule.id, id);
	p->rule.scope = SCOPE_COUNT;	/* none yet */
	p->rule.action = ACT_PASS;
	p->rule.file = p->file;
	p->rule.line = p->line;
	p->rule.cond.size_max = UINT64_MAX;
	p->rule.cond.msg_size_max = UINT64_MAX;
	p->rule.cond.rcpt_max = UINT64_MAX;
	p->rule.hs_flags = HS_FLAG_SINGLEMATCH;
	p->in = RULE_PARSE_RULE;
	p->block_line = p->line;
	p->seen = 0;
	return 0;
}

/* rp_rule_check - what "end" demands of a rule */
static int rp_rule_check(struct rule_parser *p)
{
	const struct rule *r = &p->rule;
	int     patterned = r->scope < SCOPE_MESSAGE;

	if (r->scope == SCOPE_COUNT)
		return rule_parse_error(p, "rule %s: missing scope", r->id);
	if (patterned && r->pattern == NULL)
		return rule_parse_error(p, "rule %s: missing pattern (literal or regex)"
				" for %s scope", r->id, scope_name(r->scope));
	if (!patterned && r->pattern != NULL)
		return rule_parse_error(p, "rule %s: %s scope takes no pattern",
				r->id, scope_name(r->scope));
	if (!patterned && !r->cond.has_part && !r->cond.has_msg)
		return rule_parse_error(p, "rule %s: %s scope needs a condition",
				r->id, scope_name(r->scope));
	if (r->cond.field != NULL && r->scope != SCOPE_HEADER
	    && r->scope != SCOPE_ENVELOPE)
		return rule_parse_error(p, "rule %s: field applies to header and "
				"envelope scopes only", r->id);
	/* Hyperscan's results on invalid UTF-8 under HS_FLAG_UTF8 are
	 * undefined, and these scopes carry arbitrary bytes */
	if ((r->hs_flags & HS_FLAG_UTF8) && (r->scope == SCOPE_RAW
					     || r->scope == SCOPE_ATTACHMENT))
		return rule_parse_error(p, "rule %s: regex flag u (UTF-8) "
					"not allowed in %s scope (binary data)",
					r->id, scope_name(r->scope));
	if (r->cond.has_part && (r->scope == SCOPE_RAW
				 || r->scope == SCOPE_ENVELOPE))
		return rule_parse_error(p, "rule %s: part conditions do not apply to "
				"%s scope", r->id, scope_name(r->scope));
	if (r->cond.size_min > r->cond.size_max
	    || r->cond.msg_size_min > r->cond.msg_size_max
	    || r->cond.rcpt_min > r->cond.rcpt_max)
		return rule_parse_error(p, "rule %s: a minimum exceeds its maximum",
				r->id);
	return 0;
}

/* rp_rule_end - "end" of a rule: check it and keep it */
static int rp_rule_end(struct rule_parser *p)
{
	struct rule *nr;
	size_t  cap;

	if (rp_rule_check(p) < 0)
		return -1;
	if (p->b->nrules == p->b->rules_cap) {
		cap = p->b->rules_cap ? 2 * p->b->rules_cap : 64;
		if ((nr = realloc(p->b->rules, cap * sizeof(*nr))) == NULL)
			return rule_parse_nomem(p);
		p->b->rules = nr;
		p->b->rules_cap = cap;
	}
	p->b->rules[p->b->nrules++] = p->rule;
	memset(&p->rule, 0, sizeof(p->rule));
	p->in = RULE_PARSE_NONE;
	return 0;
}

/* rp_policy_begin - "policy NAME" */
static int rp_policy_begin(struct rule_parser *p, const char *name)
{
	struct policy *np;
	size_t  cap;

	if (!rp_id_ok(name, POLICY_NAME_MAX))
		return rule_parse_error(p, "bad policy name: %.80s", name);
	if (strcmp(name, POLICY_NAME_DEFAULT) == 0) {
		if (p->default_seen)
			return rule_parse_error(p, "duplicate policy %s", name);
		p->default_seen = 1;
		p->pol = &p->b->policies[0];
		p->pol->file = p->file;
		p->pol->line = p->line;
		goto begin;
	}
	for (size_t i = 0; i < p->b->npolicies; i++)
		if (strcmp(p->b->policies[i].name, name) == 0)
			return rule_parse_error(p, "duplicate policy %s", name);
	if (p->b->npolicies >= RULES_POLICIES_MAX)
		return rule_parse_error(p, "more than %d policies", RULES_POLICIES_MAX);
	if (p->b->npolicies == p->b->policies_cap) {
		cap = 2 * p->b->policies_cap;
		np = realloc(p->b->policies, cap * sizeof(*np));
		if (np == NULL)
			return rule_parse_nomem(p);
		p->b->policies = np;
		p->b->policies_cap = cap;
	}
	p->pol = &p->b->policies[p->b->npolicies++];
	/* a named policy starts from the defaults, not from "default" */
	memset(p->pol, 0, sizeof(*p->pol));
	strcpy(p->pol->name, name);
	p->pol->tag = POLICY_TAG_DEFAULT;
	p->pol->quarantine = POLICY_QUARANTINE_DEFAULT;
	p->pol->reject = POLICY_REJECT_DEFAULT;
	strcpy(p->pol->subject_prefix, POLICY_SUBJECT_DEFAULT);
	p->pol->file = p->file;
	p->pol->line = p->line;
begin:
	p->in = RULE_PARSE_POLICY;
	p->block_line = p->line;
	p->seen = 0;
	return 0;
}

/* rp_policy_end - "end" of a policy */
static int rp_policy_end(struct rule_parser *p)
{
	if (p->pol != &p->b->policies[0] && p->pol->domains.n == 0)
		return rule_parse_error(p, "policy %s: missing domains", p->pol->name);
	p->pol = NULL;
	p->in = RULE_PARSE_NONE;
	return 0;
}

/* rp_keyword - one "key value" line inside a block */
static int rp_keyword(struct rule_parser *p, const char *key, char *value)
{
	const struct rule_key *keys = p->in == RULE_PARSE_RULE ? rule_keys_rule
		: rule_keys_policy;

	for (int i = 0; keys[i].name != NULL; i++) {
		if (strcmp(keys[i].name, key) != 0)
			continue;
		if (!keys[i].repeat && (p->seen & (1ULL << i)))
			return rule_parse_error(p, "duplicate key %s", key);
		p->seen |= 1ULL << i;
		if (*value == '\0' && !keys[i].bare)
			return rule_parse_error(p, "key %s needs a value", key);
		return keys[i].fn(p, value);
	}
	return rule_parse_error(p, "unknown key %.40s in %s", key,
			p->in == RULE_PARSE_RULE ? "rule" : "policy");
}

/* rp_line - one line, without its line end */
static int rp_line(struct rule_parser *p, char *s)
{
	char   *key, *value, *end;

	while (isspace((unsigned char) *s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char) end[-1]))
		*--end = '\0';
	if (*s == '\0' || *s == '#')
		return 0;
	key = s;
	for (value = s; *value && !isspace((unsigned char) *value); value++)
		;
	if (*value != '\0')
		*value++ = '\0';
	while (isspace((unsigned char) *value))
		value++;
	if (p->in == RULE_PARSE_NONE) {
		if (strcmp(key, "rule") == 0)
			return rp_rule_begin(p, value);
		if (strcmp(key, "policy") == 0)
			return rp_policy_begin(p, value);
		return rule_parse_error(p, "expected \"rule ID\" or \"policy NAME\", "
				"got %.40s", key);
	}
	if (strcmp(key, "end") == 0) {
		if (*value != '\0')
			return rule_parse_error(p, "end takes no value");
		return p->in == RULE_PARSE_RULE ? rp_rule_end(p) : rp_policy_end(p);
	}
	if (strcmp(key, "rule") == 0 || strcmp(key, "policy") == 0)
		return rule_parse_error(p, "%s inside a block (missing end for line %d)",
				key, p->block_line);
	return rp_keyword(p, key, value);
}

/* rp_file_name - keep a copy of the file name for rule->file */
static const char *rp_file_name(struct rule_build *b, const char *file)
{
	char  **nf;

	if (b->nfiles == b->files_cap) {
		size_t  cap = b->files_cap ? 2 * b->files_cap : 8;

		if ((nf = realloc(b->files, cap * sizeof(*nf))) == NULL)
			return NULL;
		b->files = nf;
		b->files_cap = cap;
	}
	if ((b->files[b->nfiles] = strdup(file)) == NULL)
		return NULL;
	return b->files[b->nfiles++];
}

/* rp_release_rule - free a rule that never made it into the build */
static void rp_release_rule(struct rule *r)
{
	free(r->pattern);
	free(r->reroute);
	free(r->bcc);
	free(r->description);
	free(r->cond.field);
	ruleset_strlist_free(&r->cond.globs);
	ruleset_strlist_free(&r->cond.exts);
	ruleset_strlist_free(&r->cond.senders);
	ruleset_strlist_free(&r->cond.rcpts);
	memset(r, 0, sizeof(*r));
}

/* rule_parse_text - parse one file's text into the build */
int rule_parse_text(struct rule_build *b, const char *file,
		    const char *text, size_t len)
{
	struct rule_parser *p;
	size_t  pos = 0, n;
	int     rc = 0;

	for (size_t i = 0; i < len; i++)
		b->digest = (b->digest ^ (unsigned char) text[i])
			* RULES_FNV_PRIME;
	if (b->policies == NULL || (p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(b->err->file, sizeof(b->err->file), "%s", file);
		snprintf(b->err->msg, sizeof(b->err->msg), "out of memory");
		return -1;
	}
	p->b = b;
	p->file = rp_file_name(b, file);
	if (p->file == NULL) {
		p->file = file;
		rc = rule_parse_nomem(p);
	}
	p->default_seen = b->policies[0].line != 0;
	while (rc == 0 && pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		n = nl ? (size_t) (nl - (text + pos)) : len - pos;
		p->line++;
		if (n > RULES_LINE_MAX) {
			rc = rule_parse_error(p, "line longer than %d bytes",
				      RULES_LINE_MAX);
			break;
		}
		memcpy(p->buf, text + pos, n);
		p->buf[n] = '\0';
		if (memchr(p->buf, '\0', n) != NULL) {
			rc = rule_parse_error(p, "NUL byte in line");
			break;
		}
		pos += n + 1;
		{
			char    line[RULES_LINE_MAX + 1];

			memcpy(line, p->buf, n + 1);
			rc = rp_line(p, line);
		}
	}
	if (rc == 0 && p->in != RULE_PARSE_NONE) {
		p->line = p->block_line;
		rc = rule_parse_error(p, "%s not closed by end",
			      p->in == RULE_PARSE_RULE ? "rule" : "policy");
	}
	rp_release_rule(&p->rule);
	free(p);
	return rc;
}

/* rule_build_init - an empty build holding only the default policy */
void rule_build_init(struct rule_build *b, struct rules_error *err)
{
	memset(b, 0, sizeof(*b));
	b->err = err;
	b->digest = RULES_FNV_OFFSET;
	b->policies = calloc(4, sizeof(*b->policies));
	if (b->policies == NULL)
		return;
	b->policies_cap = 4;
	b->npolicies = 1;
	strcpy(b->policies[0].name, POLICY_NAME_DEFAULT);
	b->policies[0].tag = POLICY_TAG_DEFAULT;
	b->policies[0].quarantine = POLICY_QUARANTINE_DEFAULT;
	b->policies[0].reject = POLICY_REJECT_DEFAULT;
	strcpy(b->policies[0].subject_prefix, POLICY_SUBJECT_DEFAULT);
}

/* rule_build_release - free whatever the build still owns */
void rule_build_release(struct rule_build *b)
{
	for (size_t i = 0; i < b->nrules; i++)
		rp_release_rule(&b->rules[i]);
	free(b->rules);
	for (size_t i = 0; i < b->npolicies; i++)
		ruleset_strlist_free(&b->policies[i].domains);
	free(b->policies);
	for (size_t i = 0; i < b->nfiles; i++)
		free(b->files[i]);
	free(b->files);
	memset(b, 0, sizeof(*b));
}
