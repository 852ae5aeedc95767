/*
 * sfilter_conf.c - the sender filter's configuration file, its replies,
 *	the valid-recipient set
 *
 *	See sfilter_int.h. The file is `key = value` lines, '#' comments
 *	(on a line of their own, or after a value behind a blank);
 *	dnsbl_site, dnsbl_reply and profiler_rule may repeat. Every key and
 *	its default: docs/sender-filter.md.
 *
 * DIAGNOSTICS
 *	sfconf_load() returns -1 with "file:line: reason" in err.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfilter_int.h"

#define SFCONF_LINE_MAX		512
#define SFCONF_UINT_MAX		100000000UL
#define SF_RCPT_MAX		320	/* local@domain, lower-cased */

/* sfconf_defaults - everything off but the tables' sizes */
void sfconf_defaults(struct sfilter_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->block_text, sizeof(c->block_text), "%s", SF_BLOCK_TEXT);
	c->conn_rate_window_s = SF_CONN_RATE_WINDOW_S;
	c->limits_size = SF_LIMITS_SIZE_DEFAULT;
	c->addrs_size = SF_ADDRS_SIZE_DEFAULT;
	dnsbl_config_default(&c->dnsbl);
	c->dnsbl_budget_ms = SF_DNSBL_BUDGET_MS;
	c->pregreet_pass_s = SF_PREGREET_PASS_S;
	c->bounce_rcpts = SF_BOUNCE_RCPTS;
	snprintf(c->virus_prefix, sizeof(c->virus_prefix), "%s", SF_VIRUS_PREFIX);
	c->profiler_addrs = PROFILER_ADDRS_DEFAULT;
	c->profiler_share_blocks = 1;
	c->reload_check_s = SF_RELOAD_CHECK_S;
}

/* set_uint - strict decimal */
static int set_uint(unsigned *dst, const char *v)
{
	char *e;
	unsigned long x;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	x = strtoul(v, &e, 10);
	if (errno || *e || x > SFCONF_UINT_MAX)
		return -1;
	*dst = (unsigned)x;
	return 0;
}

/* set_str - bounded copy */
static int set_str(char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size || strpbrk(v, "\r\n"))
		return -1;
	snprintf(dst, size, "%s", v);
	return 0;
}

/* conf_set - one key; -1 unknown key or bad value */
static int conf_set(struct sfilter_conf *c, const char *k, const char *v)
{
	struct dnsbl_config *d = &c->dnsbl;

	if (!strcmp(k, "allow_list"))
		return set_str(c->allow_list, sizeof(c->allow_list), v);
	if (!strcmp(k, "block_list"))
		return set_str(c->block_list, sizeof(c->block_list), v);
	if (!strcmp(k, "block_action")) {
		if (!strcmp(v, "greet"))
			c->block_action = SF_BLOCK_GREET;
		else if (!strcmp(v, "drop"))
			c->block_action = SF_BLOCK_DROP;
		else if (!strcmp(v, "rst"))
			c->block_action = SF_BLOCK_RST;
		else
			return -1;
		return 0;
	}
	if (!strcmp(k, "block_reply"))
		return set_str(c->block_text, sizeof(c->block_text), v);
	if (!strcmp(k, "max_conns_per_addr"))
		return set_uint(&c->max_conns, v);
	if (!strcmp(k, "conn_rate_per_addr"))
		return set_uint(&c->conn_rate, v);
	if (!strcmp(k, "conn_rate_window_s"))
		return set_uint(&c->conn_rate_window_s, v) < 0 || !c->conn_rate_window_s ? -1 : 0;
	if (!strcmp(k, "limits_table_size"))
		return set_uint(&c->limits_size, v) < 0 || c->limits_size < SF_PROBE ? -1 : 0;
	if (!strcmp(k, "address_table_size"))
		return set_uint(&c->addrs_size, v) < 0 || c->addrs_size < SF_PROBE ? -1 : 0;
	if (!strcmp(k, "valid_recipients"))
		return set_str(c->recipients, sizeof(c->recipients), v);
	if (!strcmp(k, "dns_resolver"))
		return dnsbl_resolver_parse(d, v);
	if (!strcmp(k, "dnsbl_site"))
		return dnsbl_zone_parse(d, v);
	if (!strcmp(k, "dnsbl_reply"))
		return dnsbl_reply_parse(d, v);
	if (!strcmp(k, "dnsbl_threshold")) {
		char *e;
		long t = strtol(v, &e, 10);

		if (*e || e == v || t < -10000 || t > 10000)
			return -1;
		d->threshold = (int)t;
		return 0;
	}
	if (!strcmp(k, "dnsbl_timeout_ms"))
		return set_uint(&d->timeout_ms, v) < 0 || !d->timeout_ms ? -1 : 0;
	if (!strcmp(k, "dnsbl_budget_ms"))
		return set_uint(&c->dnsbl_budget_ms, v);
	if (!strcmp(k, "dnsbl_ttl_min_s"))
		return set_uint(&d->ttl_min_s, v);
	if (!strcmp(k, "dnsbl_ttl_max_s"))
		return set_uint(&d->ttl_max_s, v);
	if (!strcmp(k, "dnsbl_neg_ttl_s"))
		return set_uint(&d->neg_ttl_s, v);
	if (!strcmp(k, "pregreet_delay_ms"))
		return set_uint(&c->pregreet_delay_ms, v);
	if (!strcmp(k, "pregreet_pass_s"))
		return set_uint(&c->pregreet_pass_s, v);
	if (!strcmp(k, "profiler_rule")) {
		if (c->nrules >= PROFILER_RULES_MAX)
			return -1;
		if (profiler_rule_parse(v, &c->rules[c->nrules]) < 0)
			return -1;
		c->nrules++;
		return 0;
	}
	if (!strcmp(k, "profiler_bounce_rcpts"))
		return set_uint(&c->bounce_rcpts, v) < 0 || !c->bounce_rcpts ? -1 : 0;
	if (!strcmp(k, "profiler_virus_prefix"))
		return set_str(c->virus_prefix, sizeof(c->virus_prefix), v);
	if (!strcmp(k, "profiler_addrs"))
		return set_uint(&c->profiler_addrs, v) < 0 || !c->profiler_addrs ? -1 : 0;
	if (!strcmp(k, "profiler_share_blocks")) {
		if (strcmp(v, "yes") && strcmp(v, "no"))
			return -1;
		c->profiler_share_blocks = !strcmp(v, "yes");
		return 0;
	}
	if (!strcmp(k, "reload_check_s"))
		return set_uint(&c->reload_check_s, v);
	return -2;
}

/* trim - strip surrounding blanks in place */
static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/* sfconf_load - defaults, then the file */
int sfconf_load(struct sfilter_conf *c, const char *path, char *err, size_t errlen)
{
	char line[SFCONF_LINE_MAX];
	unsigned lineno = 0;
	FILE *fp;

	sfconf_defaults(c);
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *k, *v, *eq;
		int rc;

		lineno++;
		if (line[0] == '#')
			continue;
		line[strcspn(line, "\r\n")] = 0;
		k = trim(line);
		if (*k == 0 || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(err, errlen, "%s:%u: expected key = value", path, lineno);
			goto fail;
		}
		*eq = 0;
		k = trim(k);
		v = eq + 1;
		/* a comment after the value starts at a blank and '#' */
		for (char *h = strchr(v, '#'); h; h = strchr(h + 1, '#'))
			if (h > v && (h[-1] == ' ' || h[-1] == '\t')) {
				*h = 0;
				break;
			}
		v = trim(v);
		if ((rc = conf_set(c, k, v)) < 0) {
			snprintf(err, errlen, "%s:%u: %s '%.40s'", path, lineno,
				 rc == -2 ? "unknown key" : "bad value for", rc == -2 ? k : v);
			goto fail;
		}
	}
	fclose(fp);
	return 0;
fail:
	fclose(fp);
	return -1;
}

/* reply_set - fill a reply */
static void reply_set(struct smtp_reply *r, int code, const char *enh,
		      const char *text)
{
	r->code = code;
	snprintf(r->enhanced, sizeof(r->enhanced), "%s", enh);
	snprintf(r->text, sizeof(r->text), "%s", text);
}

/* sf_reply - the reply a refusal gets (readers and the log agree) */
void sf_reply(const struct sfilter_conf *c, const struct sf_event *ev,
	      struct smtp_reply *out)
{
	const struct dnsbl_config *d = &c->dnsbl;
	char text[SMTP_REPLY_TEXT_MAX];

	switch (ev->reason) {
	case SF_R_BLOCKLIST:
		reply_set(out, 554, "5.7.1", c->block_text);
		break;
	case SF_R_CONNS:
		reply_set(out, 421, "4.7.0", "Too many connections from your address,"
			  " try again later");
		break;
	case SF_R_RATE:
		reply_set(out, 421, "4.7.0", "Too many connections from your address"
			  " per unit of time, try again later");
		break;
	case SF_R_PROFILER: {
		bool perm = ev->b != 0;
		bool greet = ev->stage == SF_S_CONNECT;

		snprintf(text, sizeof(text), "Blocked by the IP profiler (%s)%s",
			 ev->a >= 0 && (unsigned)ev->a < c->nrules ? c->rules[ev->a].spec : "",
			 perm ? "" : ", try again later");
		if (perm)
			reply_set(out, greet ? 554 : 550, "5.7.1", text);
		else
			reply_set(out, greet ? 421 : 450, greet ? "4.7.0" : "4.7.1", text);
		break;
	}
	case SF_R_DNSBL:
		if (ev->a >= 0 && (unsigned)ev->a < d->nreplies) {
			const struct dnsbl_reply *r = &d->replies[ev->a];

			reply_set(out, r->code, r->enhanced, r->text);
		} else {
			snprintf(text, sizeof(text), "Service unavailable; client blocked"
				 " using %s", ev->b >= 0 && (unsigned)ev->b < d->nzones
				 ? d->zones[ev->b].name : "a DNSBL");
			reply_set(out, DNSBL_DEFAULT_CODE, "5.7.1", text);
		}
		break;
	case SF_R_PREGREET:
		reply_set(out, 554, "5.7.1", "Protocol error: talked before the greeting");
		break;
	case SF_R_UNKNOWN_RCPT:
	default:
		reply_set(out, 550, "5.1.1", "Recipient address rejected: User unknown");
		break;
	}
}

/* ---- the valid-recipient set: sorted lower-case strings ---- */

struct sf_rcptset {
	char **s;
	size_t n;
};

/* str_cmp - for qsort and bsearch over char * */
static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sf_rcptset_free - release */
void sf_rcptset_free(struct sf_rcptset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->s[i]);
	free(s->s);
	free(s);
}

/* sf_rcptset_load - "user@domain" or "@domain" (or "domain") per line */
struct sf_rcptset *sf_rcptset_load(const char *path, char *err, size_t errlen)
{
	struct sf_rcptset *s = calloc(1, sizeof(*s));
	char line[SFCONF_LINE_MAX];
	size_t cap = 0;
	unsigned lineno = 0;
	FILE *fp;

	if (s == NULL || (fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(s);
		return NULL;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *t, entry[SF_RCPT_MAX + 2];

		lineno++;
		line[strcspn(line, "#\r\n")] = 0;
		t = trim(line);
		if (*t == 0)
			continue;
		if (strlen(t) > SF_RCPT_MAX || strpbrk(t, " \t<>") || t[strlen(t) - 1] == '@') {
			snprintf(err, errlen, "%s:%u: not an address or domain: '%.60s'",
				 path, lineno, t);
			goto fail;
		}
		snprintf(entry, sizeof(entry), "%s%s", strchr(t, '@') ? "" : "@", t);
		for (char *p = entry; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (s->n == cap) {
			char **n = realloc(s->s, (cap ? cap * 2 : 64) * sizeof(*n));

			if (n == NULL)
				goto oom;
			s->s = n;
			cap = cap ? cap * 2 : 64;
		}
		if ((s->s[s->n] = strdup(entry)) == NULL)
			goto oom;
		s->n++;
	}
	fclose(fp);
	if (s->n)
		qsort(s->s, s->n, sizeof(*s->s), str_cmp);
	return s;
oom:
	snprintf(err, errlen, "%s:%u: out of memory", path, lineno);
fail:
	fclose(fp);
	sf_rcptset_free(s);
	return NULL;
}

/* sf_rcptset_has - the address, or its domain, is listed */
bool sf_rcptset_has(const struct sf_rcptset *s, const char *addr)
{
	char buf[SF_RCPT_MAX + 2];
	const char *key = buf, *at;
	size_t n = strlen(addr);

	if (n > SF_RCPT_MAX || s->n == 0)
		return false;
	for (size_t i = 0; i <= n; i++)
		buf[i] = (char)tolower((unsigned char)addr[i]);
	if (bsearch(&key, s->s, s->n, sizeof(*s->s), str_cmp))
		return true;
	if ((at = strrchr(buf, '@')) == NULL)
		return false;
	key = at;
	return bsearch(&key, s->s, s->n, sizeof(*s->s), str_cmp) != NULL;
}
