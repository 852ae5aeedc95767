/*
 * policy.c - score thresholds, direct actions and per-domain policies
 *
 *	void policy_decide(const struct ruleset *rs,
 *			const struct envelope *env, struct verdict *v);
 *
 * DESCRIPTION
 *	See policy.h. The reply text of a reject or tempfail is the
 *	description of the rule that demanded it (or, for a score verdict,
 *	of the highest-scoring rule), reduced to printable ASCII so that no
 *	message content can inject a line into the SMTP dialogue.
 *
 * DIAGNOSTICS
 *	None.
 */
#include <stdio.h>
#include <string.h>

#include "policy.h"

/* policy_by_score - what a score reaches under one policy */
static enum action policy_by_score(const struct policy *p, int score)
{
	if (score >= p->reject)
		return ACT_REJECT;
	if (score >= p->quarantine)
		return ACT_QUARANTINE;
	if (score >= p->tag)
		return ACT_TAG;
	return ACT_PASS;
}

/* policy_in_use - whether some recipient falls under policy p */
static int policy_in_use(const struct ruleset *rs, const struct envelope *env,
			 const struct policy *p)
{
	if (env == NULL || env->nrcpt == 0)
		return p == &rs->policies[0];
	for (size_t i = 0; i < env->nrcpt; i++)
		if (ruleset_policy_for(rs, env->rcpt[i]) == p)
			return 1;
	return 0;
}

/* policy_copy_text - printable ASCII copy: no CR/LF into SMTP replies */
static void policy_copy_text(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	for (; *src != '\0' && n + 1 < size; src++)
		dst[n++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	dst[n] = '\0';
}

/* policy_reply_rule - the rule whose description explains action a */
static const struct verdict_match *policy_reply_rule(const struct verdict *v,
						     enum action a)
{
	const struct verdict_match *best = NULL;

	for (size_t i = 0; i < v->nmatches; i++)
		if (v->matches[i].action == a
		    && v->matches[i].description != NULL)
			return &v->matches[i];
	for (size_t i = 0; i < v->nmatches; i++)
		if (v->matches[i].description != NULL
		    && (best == NULL || v->matches[i].score > best->score))
			best = &v->matches[i];
	return best;
}

/* policy_reply - the SMTP reply of a reject or tempfail verdict */
static void policy_reply(struct verdict *v)
{
	const struct verdict_match *m;
	/* room for the code and its space in the reply */
	char    text[VERDICT_REPLY_MAX - sizeof(POLICY_REJECT_CODE)];
	const char *code;

	if (v->action == ACT_REJECT) {
		code = POLICY_REJECT_CODE;
		policy_copy_text(text, sizeof(text), POLICY_REJECT_TEXT);
	} else if (v->action == ACT_TEMPFAIL) {
		code = POLICY_TEMPFAIL_CODE;
		policy_copy_text(text, sizeof(text), POLICY_TEMPFAIL_TEXT);
	} else {
		v->reply[0] = '\0';
		return;
	}
	m = policy_reply_rule(v, v->action);
	if (m != NULL)
		policy_copy_text(text, sizeof(text), m->description);
	snprintf(v->reply, sizeof(v->reply), "%s %s", code, text);
}

/* reason_put - append s to the reason line, cut as snprintf would */
static void reason_put(struct verdict *v, size_t *len, const char *s)
{
	size_t  room, n;

	if (*len + 1 >= sizeof(v->reason))
		return;
	room = sizeof(v->reason) - 1 - *len;
	n = strlen(s);
	if (n > room)
		n = room;
	memcpy(v->reason + *len, s, n);
	*len += n;
	v->reason[*len] = '\0';
}

/* reason_int - append a decimal integer to the reason line */
static void reason_int(struct verdict *v, size_t *len, int x)
{
	char    buf[16], *p = buf + sizeof(buf);
	unsigned u = x < 0 ? 0U - (unsigned) x : (unsigned) x;

	*--p = '\0';
	do
		*--p = (char) ('0' + u % 10);
	while ((u /= 10) != 0);
	if (x < 0)
		*--p = '-';
	reason_put(v, len, p);
}

/*
 * policy_reason - one log line: score, policy, the rules that fired.
 * Built by appending, not with snprintf: it is made for every message,
 * and formatting was a visible share of a small message's cost.
 */
static void policy_reason(struct verdict *v)
{
	size_t  len = 0;

	v->reason[0] = '\0';
	reason_put(v, &len, action_name(v->action));
	reason_put(v, &len, " score ");
	reason_int(v, &len, v->score);
	reason_put(v, &len, " policy ");
	reason_put(v, &len, v->policy);
	for (size_t i = 0; i < v->nmatches; i++) {
		reason_put(v, &len, i ? " " : ": ");
		reason_put(v, &len, v->matches[i].rule_id);
		reason_put(v, &len, "(");
		reason_int(v, &len, v->matches[i].score);
		reason_put(v, &len, ")");
	}
}

/* policy_decide - the verdict of a message whose matches are known */
void policy_decide(const struct ruleset *rs, const struct envelope *env,
		   struct verdict *v)
{
	enum action direct = ACT_PASS, best = ACT_PASS, a;
	const struct policy *chosen = NULL;
	int     score = 0;

	v->tag_subject[0] = '\0';
	for (size_t i = 0; i < v->nmatches; i++) {
		score += v->matches[i].score;
		if (v->matches[i].action > direct)
			direct = v->matches[i].action;
	}
	for (size_t p = 0; p < rs->npolicies; p++) {
		if (!policy_in_use(rs, env, &rs->policies[p]))
			continue;
		a = policy_by_score(&rs->policies[p], score);
		if (direct > a)
			a = direct;
		if (chosen == NULL || a > best) {
			best = a;
			chosen = &rs->policies[p];
		}
	}
	if (chosen == NULL)		/* every recipient maps somewhere */
		chosen = &rs->policies[0];
	v->score = score;
	v->action = best;
	v->policy = chosen->name;
	if (best == ACT_TAG)
		snprintf(v->tag_subject, sizeof(v->tag_subject), "%s",
			 chosen->subject_prefix);
	policy_reply(v);
	policy_reason(v);
}
