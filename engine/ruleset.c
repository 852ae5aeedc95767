/*
 * ruleset.c - release and look up a compiled rule set
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
 *	void ruleset_strlist_free(struct rule_strlist *l);
 *	int ruleset_strlist_has(const struct rule_strlist *l, const char *s);
 *
 * DESCRIPTION
 *	See ruleset.h. Building a rule set is rules/' job; this file holds
 *	only what the engine needs at scan time and the destructor.
 *
 * DIAGNOSTICS
 *	ruleset_stream_size() returns 0 when Hyperscan cannot tell (it does
 *	not fail on a valid database).
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ruleset.h"

/* ruleset_strlist_free - release a string list */
void ruleset_strlist_free(struct rule_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* ruleset_strlist_has - case-insensitive membership */
int ruleset_strlist_has(const struct rule_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

/* rule_release - release what one rule owns */
static void rule_release(struct rule *r)
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
}

/* ruleset_free - release a rule set and its databases */
void ruleset_free(struct ruleset *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->nrules; i++)
		rule_release(&rs->rules[i]);
	free(rs->rules);
	for (size_t i = 0; i < rs->npolicies; i++)
		ruleset_strlist_free(&rs->policies[i].domains);
	free(rs->policies);
	for (int s = 0; s < SCOPE_COUNT; s++) {
		if (rs->db[s] != NULL)
			hs_free_database(rs->db[s]);
		free(rs->cond_rules[s]);
	}
	for (size_t i = 0; i < rs->nfiles; i++)
		free(rs->files[i]);
	free(rs->files);
	free(rs);
}

/* ruleset_rule - rule by index (= Hyperscan id), NULL if out of range */
const struct rule *ruleset_rule(const struct ruleset *rs, unsigned id)
{
	return id < rs->nrules ? &rs->rules[id] : NULL;
}

/* ruleset_find - rule by its textual id */
const struct rule *ruleset_find(const struct ruleset *rs, const char *rule_id)
{
	for (size_t i = 0; i < rs->nrules; i++)
		if (strcmp(rs->rules[i].id, rule_id) == 0)
			return &rs->rules[i];
	return NULL;
}

/* domain_matches - "example.com" exactly, ".example.com" any subdomain */
static int domain_matches(const char *entry, const char *domain)
{
	size_t el, dl;

	if (entry[0] != '.')
		return strcasecmp(entry, domain) == 0;
	el = strlen(entry);
	dl = strlen(domain);
	/* ".example.com" also covers "example.com" itself */
	if (strcasecmp(entry + 1, domain) == 0)
		return 1;
	return dl > el && strcasecmp(domain + dl - el, entry) == 0;
}

/* ruleset_policy_for - the policy of a recipient address */
const struct policy *ruleset_policy_for(const struct ruleset *rs,
					const char *address)
{
	const char *at = address ? strrchr(address, '@') : NULL;

	if (at != NULL)
		for (size_t p = 1; p < rs->npolicies; p++)
			for (size_t d = 0; d < rs->policies[p].domains.n; d++)
				if (domain_matches(rs->policies[p].domains.v[d],
						   at + 1))
					return &rs->policies[p];
	return &rs->policies[0];
}

/* ruleset_database - the Hyperscan database of a scope, for benchmarks */
const hs_database_t *ruleset_database(const struct ruleset *rs, enum scope s)
{
	return (unsigned) s < SCOPE_COUNT ? rs->db[s] : NULL;
}

/* ruleset_compile_ms - how long Hyperscan took to compile the set */
double ruleset_compile_ms(const struct ruleset *rs)
{
	return rs->compile_ms;
}

/* ruleset_stream_size - stream state bytes per message in flight */
size_t ruleset_stream_size(const struct ruleset *rs)
{
	static const enum scope streamed[] = {
		SCOPE_BODY, SCOPE_ATTACHMENT, SCOPE_RAW
	};
	size_t total = 0, sz;

	for (size_t i = 0; i < sizeof(streamed) / sizeof(streamed[0]); i++) {
		if (rs->db[streamed[i]] == NULL)
			continue;
		if (hs_stream_size(rs->db[streamed[i]], &sz) == HS_SUCCESS)
			total += sz;
	}
	return total;
}

/* ruleset_name_end - end of a filename without the trailing dots and
 * spaces Windows ignores ("a.pdf.exe . " runs as a.pdf.exe) */
static size_t ruleset_name_end(const char *name)
{
	size_t	n = strlen(name);

	while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '.'))
		n--;
	return n;
}

/* ruleset_ext_holds - last extension listed; inner extension if asked */
static int ruleset_ext_holds(const struct rule_cond *c, const char *name)
{
	size_t	n = ruleset_name_end(name), last, inner, i;
	char	ext[MIME_FILENAME_MAX];

	for (last = n; last > 0 && name[last - 1] != '.'; last--)
		;
	if (last <= 1 || last == n)	/* no extension, or ".profile" */
		return 0;
	if (c->exts.n > 0) {
		memcpy(ext, name + last, n - last);
		ext[n - last] = '\0';
		if (!ruleset_strlist_has(&c->exts, ext))
			return 0;
	}
	if (!c->double_ext)
		return 1;
	/* inner: name.INNER.last with a short alphanumeric INNER; spaces
	 * before the last dot hide the real extension and count too */
	i = last - 1;
	while (i > 0 && name[i - 1] == ' ')
		i--;
	for (inner = i; inner > 0 && isalnum((unsigned char) name[inner - 1]);
	     inner--)
		;
	return inner > 1 && name[inner - 1] == '.' && i - inner >= 1
		&& i - inner <= RULESET_EXT_MAX;
}

/* ruleset_part_holds - part conditions of a rule, on one part */
int ruleset_part_holds(const struct rule_cond *c, const struct mime_part *part)
{
	int	ok;

	if (!c->has_part)
		return 1;
	if (part->decoded_size < c->size_min || part->decoded_size > c->size_max)
		return 0;
	if (c->types != 0 && (part->detected_type >= FT_COUNT
			      || !(c->types & (1ULL << part->detected_type))))
		return 0;
	if ((c->exts.n > 0 || c->double_ext)
	    && !ruleset_ext_holds(c, part->filename))
		return 0;
	if (c->globs.n > 0) {
		ok = 0;
		for (size_t i = 0; i < c->globs.n && !ok; i++)
			ok = fnmatch(c->globs.v[i], part->filename,
				     FNM_CASEFOLD) == 0;
		if (!ok)
			return 0;
	}
	return 1;
}

/* ruleset_addr_in - address listed exactly, or its @domain */
static int ruleset_addr_in(const struct rule_strlist *l, const char *addr)
{
	const char *at = strrchr(addr, '@');

	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i][0] == '@') {
			if (at != NULL && strcasecmp(l->v[i], at) == 0)
				return 1;
		} else if (strcasecmp(l->v[i], addr) == 0) {
			return 1;
		}
	}
	return 0;
}

/* ruleset_msg_holds - message conditions of a rule */
int ruleset_msg_holds(const struct rule_cond *c, const struct envelope *env,
		      uint64_t msg_size)
{
	size_t	nrcpt = env ? env->nrcpt : 0;
	int	ok;

	if (!c->has_msg)
		return 1;
	if (msg_size < c->msg_size_min || msg_size > c->msg_size_max)
		return 0;
	if (nrcpt < c->rcpt_min || nrcpt > c->rcpt_max)
		return 0;
	if (c->senders.n > 0
	    && !ruleset_addr_in(&c->senders,
				env && env->mail_from ? env->mail_from : ""))
		return 0;
	if (c->rcpts.n > 0) {
		ok = 0;
		for (size_t i = 0; i < nrcpt && !ok; i++)
			ok = ruleset_addr_in(&c->rcpts, env->rcpt[i]);
		if (!ok)
			return 0;
	}
	return 1;
}
