/*
 * rule_keys.c - what each key of a rule or policy block means
 *
 *	extern const struct rule_key rule_keys_rule[];
 *	extern const struct rule_key rule_keys_policy[];
 *
 * DESCRIPTION
 *	One handler per key of the rule language (docs/rules.md): it checks
 *	the value and stores it in the rule or policy being read. Literals are
 *	turned into regular expressions here (every byte outside [A-Za-z0-9_]
 *	as \xHH) so that one hs_compile_multi() call covers a whole scope.
 *	The tables end with a NULL name.
 *
 * DIAGNOSTICS
 *	Handlers return 0, or -1 after rule_parse_error(): "bad number",
 *	"unknown file type", "bad address", "unknown regex flag", ...
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rule_parse.h"

/* rk_check_address - "user@domain" or "@domain" */
static int rk_check_address(struct rule_parser *p, const char *a)
{
	const char *at = strrchr(a, '@');

	if (at == NULL || at[1] == '\0')
		return rule_parse_error(p, "bad address (want user@domain or @domain):"
				" %.60s", a);
	return 0;
}

/* rk_check_ext - an extension without its dot */
static int rk_check_ext(struct rule_parser *p, const char *e)
{
	if (*e == '.')
		return rule_parse_error(p, "extension without the dot, please: %.40s", e);
	return 0;
}

/* rk_check_domain - a domain, or .domain for its subdomains */
static int rk_check_domain(struct rule_parser *p, const char *d)
{
	if (strchr(d, '@') != NULL || d[0] == '\0'
	    || (d[0] == '.' && d[1] == '\0'))
		return rule_parse_error(p, "bad domain: %.60s", d);
	for (size_t i = 0; i < p->b->npolicies; i++)
		if (ruleset_strlist_has(&p->b->policies[i].domains, d))
			return rule_parse_error(p, "domain %s already in policy %s", d,
					p->b->policies[i].name);
	return 0;
}

/* rk_regex_of_literal - a literal as an expression matching exactly it */
static int rk_regex_of_literal(struct rule_parser *p, const char *s, size_t len)
{
	char   *re = malloc(len * 4 + 1), *o = re;

	if (re == NULL)
		return rule_parse_nomem(p);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char) s[i];

		if (isalnum(c) || c == '_')
			*o++ = (char) c;
		else
			o += sprintf(o, "\\x%02x", c);
	}
	*o = '\0';
	p->rule.pattern = re;
	return 0;
}

/* rk_literal - literal "text" [nocase] */
static int rk_literal(struct rule_parser *p, char *v)
{
	const char *rest;

	if (p->rule.pattern != NULL)
		return rule_parse_error(p, "a rule has one pattern (literal or regex)");
	if (rule_parse_string(p, v, &rest) < 0)
		return -1;
	if (p->buf_len == 0)
		return rule_parse_error(p, "empty literal");
	if (strcasecmp(rest, "nocase") == 0)
		p->rule.hs_flags |= HS_FLAG_CASELESS;
	else if (*rest != '\0')
		return rule_parse_error(p, "unknown literal modifier: %.40s", rest);
	return rk_regex_of_literal(p, p->buf, p->buf_len);
}

/* rk_regex - regex /expression/flags */
static int rk_regex(struct rule_parser *p, char *v)
{
	char   *end = strrchr(v, '/');

	if (p->rule.pattern != NULL)
		return rule_parse_error(p, "a rule has one pattern (literal or regex)");
	if (v[0] != '/' || end == v)
		return rule_parse_error(p, "regex must be written /expression/flags");
	if (end == v + 1)
		return rule_parse_error(p, "empty regex");
	for (const char *f = end + 1; *f != '\0'; f++) {
		switch (*f) {
		case 'i': p->rule.hs_flags |= HS_FLAG_CASELESS; break;
		case 's': p->rule.hs_flags |= HS_FLAG_DOTALL; break;
		case 'm': p->rule.hs_flags |= HS_FLAG_MULTILINE; break;
		case 'u': p->rule.hs_flags |= HS_FLAG_UTF8 | HS_FLAG_UCP; break;
		default:
			return rule_parse_error(p, "unknown regex flag '%c'", *f);
		}
	}
	*end = '\0';
	if ((p->rule.pattern = strdup(v + 1)) == NULL)
		return rule_parse_nomem(p);
	return 0;
}

/* rk_scope - scope NAME */
static int rk_scope(struct rule_parser *p, char *v)
{
	if (scope_from_name(v, &p->rule.scope) < 0)
		return rule_parse_error(p, "unknown scope: %.40s", v);
	return 0;
}

/* rk_score - score N */
static int rk_score(struct rule_parser *p, char *v)
{
	int64_t n;

	if (rule_parse_number(p, v, -RULES_SCORE_MAX, RULES_SCORE_MAX, 0, &n) < 0)
		return -1;
	p->rule.score = (int) n;
	return 0;
}

/* rk_action - action NAME */
static int rk_action(struct rule_parser *p, char *v)
{
	if (action_from_name(v, &p->rule.action) < 0)
		return rule_parse_error(p, "unknown action: %.40s", v);
	return 0;
}

/* rk_reroute - reroute ADDRESS */
static int rk_reroute(struct rule_parser *p, char *v)
{
	if (rk_check_address(p, v) < 0)
		return -1;
	return rule_parse_value(p, v, &p->rule.reroute);
}

/* rk_bcc - bcc ADDRESS */
static int rk_bcc(struct rule_parser *p, char *v)
{
	if (rk_check_address(p, v) < 0)
		return -1;
	return rule_parse_value(p, v, &p->rule.bcc);
}

/* rk_description - description TEXT */
static int rk_description(struct rule_parser *p, char *v)
{
	return rule_parse_value(p, v, &p->rule.description);
}

/* rk_field - field NAME (header name, or envelope field) */
static int rk_field(struct rule_parser *p, char *v)
{
	return rule_parse_value(p, v, &p->rule.cond.field);
}

/* rk_filename - filename GLOB[, GLOB...] */
static int rk_filename(struct rule_parser *p, char *v)
{
	p->rule.cond.has_part = 1;
	return rule_parse_list(p, v, &p->rule.cond.globs, NULL);
}

/* rk_ext - ext EXT[, EXT...] */
static int rk_ext(struct rule_parser *p, char *v)
{
	p->rule.cond.has_part = 1;
	return rule_parse_list(p, v, &p->rule.cond.exts, rk_check_ext);
}

/* rk_double_ext - double-extension */
static int rk_double_ext(struct rule_parser *p, char *v)
{
	if (*v != '\0')
		return rule_parse_error(p, "double-extension takes no value");
	p->rule.cond.double_ext = 1;
	p->rule.cond.has_part = 1;
	return 0;
}

/* rk_type - type NAME[, NAME...] (filetype names, or "executable") */
static int rk_type(struct rule_parser *p, char *v)
{
	char   *item, *save = NULL;
	enum filetype t;

	for (item = strtok_r(v, ", \t", &save); item != NULL;
	     item = strtok_r(NULL, ", \t", &save)) {
		if (strcasecmp(item, "executable") == 0) {
			for (int i = 0; i < FT_COUNT; i++)
				if (filetype_is_executable((enum filetype) i))
					p->rule.cond.types |= 1ULL << i;
			continue;
		}
		if (filetype_from_name(item, &t) < 0)
			return rule_parse_error(p, "unknown file type: %.40s", item);
		p->rule.cond.types |= 1ULL << t;
	}
	if (p->rule.cond.types == 0)
		return rule_parse_error(p, "empty list");
	p->rule.cond.has_part = 1;
	return 0;
}

/* rk_bound - one of the size/count bounds */
static int rk_bound(struct rule_parser *p, char *v, uint64_t *out, int part)
{
	int64_t n;

	if (rule_parse_number(p, v, 0, INT64_MAX, 1, &n) < 0)
		return -1;
	*out = (uint64_t) n;
	if (part)
		p->rule.cond.has_part = 1;
	else
		p->rule.cond.has_msg = 1;
	return 0;
}

/* rk_size_min - size-min N: part decoded size at least N */
static int rk_size_min(struct rule_parser *p, char *v)
{
	return rk_bound(p, v, &p->rule.cond.size_min, 1);
}

/* rk_size_max - size-max N */
static int rk_size_max(struct rule_parser *p, char *v)
{
	return rk_bound(p, v, &p->rule.cond.size_max, 1);
}

/* rk_msg_size_min - message-size-min N */
static int rk_msg_size_min(struct rule_parser *p, char *v)
{
	return rk_bound(p, v, &p->rule.cond.msg_size_min, 0);
}

/* rk_msg_size_max - message-size-max N */
static int rk_msg_size_max(struct rule_parser *p, char *v)
{
	return rk_bound(p, v, &p->rule.cond.msg_size_max, 0);
}

/* rk_rcpt_min - rcpt-count-min N */
static int rk_rcpt_min(struct rule_parser *p, char *v)
{
	return rk_bound(p, v, &p->rule.cond.rcpt_min, 0);
}

/* rk_rcpt_max - rcpt-count-max N */
static int rk_rcpt_max(struct rule_parser *p, char *v)
{
	return rk_bound(p, v, &p->rule.cond.rcpt_max, 0);
}

/* rk_sender - sender ADDR|@DOMAIN[, ...] */
static int rk_sender(struct rule_parser *p, char *v)
{
	p->rule.cond.has_msg = 1;
	return rule_parse_list(p, v, &p->rule.cond.senders, rk_check_address);
}

/* rk_recipient - recipient ADDR|@DOMAIN[, ...] */
static int rk_recipient(struct rule_parser *p, char *v)
{
	p->rule.cond.has_msg = 1;
	return rule_parse_list(p, v, &p->rule.cond.rcpts, rk_check_address);
}

const struct rule_key rule_keys_rule[] = {
	{"scope", rk_scope, 0, 0},
	{"literal", rk_literal, 0, 0},
	{"regex", rk_regex, 0, 0},
	{"score", rk_score, 0, 0},
	{"action", rk_action, 0, 0},
	{"reroute", rk_reroute, 0, 0},
	{"bcc", rk_bcc, 0, 0},
	{"description", rk_description, 0, 0},
	{"field", rk_field, 0, 0},
	{"filename", rk_filename, 1, 0},
	{"ext", rk_ext, 1, 0},
	{"double-extension", rk_double_ext, 0, 1},
	{"type", rk_type, 1, 0},
	{"size-min", rk_size_min, 0, 0},
	{"size-max", rk_size_max, 0, 0},
	{"message-size-min", rk_msg_size_min, 0, 0},
	{"message-size-max", rk_msg_size_max, 0, 0},
	{"rcpt-count-min", rk_rcpt_min, 0, 0},
	{"rcpt-count-max", rk_rcpt_max, 0, 0},
	{"sender", rk_sender, 1, 0},
	{"recipient", rk_recipient, 1, 0},
	{NULL, NULL, 0, 0},
};

/* rk_threshold - a policy threshold: N or "off" */
static int rk_threshold(struct rule_parser *p, const char *v, int *out)
{
	int64_t n;

	if (strcasecmp(v, "off") == 0) {
		*out = POLICY_THRESHOLD_OFF;
		return 0;
	}
	if (rule_parse_number(p, v, -RULES_SCORE_MAX, RULES_SCORE_MAX, 0, &n) < 0)
		return -1;
	*out = (int) n;
	return 0;
}

/* rk_pol_tag - tag N|off */
static int rk_pol_tag(struct rule_parser *p, char *v)
{
	return rk_threshold(p, v, &p->pol->tag);
}

/* rk_pol_quarantine - quarantine N|off */
static int rk_pol_quarantine(struct rule_parser *p, char *v)
{
	return rk_threshold(p, v, &p->pol->quarantine);
}

/* rk_pol_reject - reject N|off */
static int rk_pol_reject(struct rule_parser *p, char *v)
{
	return rk_threshold(p, v, &p->pol->reject);
}

/* rk_pol_subject - subject-prefix TEXT */
static int rk_pol_subject(struct rule_parser *p, char *v)
{
	char   *s;

	if (rule_parse_value(p, v, &s) < 0)
		return -1;
	if (strlen(s) >= sizeof(p->pol->subject_prefix)) {
		free(s);
		return rule_parse_error(p, "subject-prefix longer than %zu bytes",
				sizeof(p->pol->subject_prefix) - 1);
	}
	strcpy(p->pol->subject_prefix, s);
	free(s);
	return 0;
}

/* rk_pol_domains - domains D[, D...] */
static int rk_pol_domains(struct rule_parser *p, char *v)
{
	if (p->pol == &p->b->policies[0])
		return rule_parse_error(p, "the default policy has no domains");
	return rule_parse_list(p, v, &p->pol->domains, rk_check_domain);
}

const struct rule_key rule_keys_policy[] = {
	{"tag", rk_pol_tag, 0, 0},
	{"quarantine", rk_pol_quarantine, 0, 0},
	{"reject", rk_pol_reject, 0, 0},
	{"subject-prefix", rk_pol_subject, 0, 0},
	{"domains", rk_pol_domains, 1, 0},
	{NULL, NULL, 0, 0},
};

