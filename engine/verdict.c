/*
 * verdict.c - names of actions and scopes, verdict release
 *
 *	void verdict_free(struct verdict *v);
 *	const char *action_name(enum action a);
 *	int action_from_name(const char *name, enum action *out);
 *	const char *scope_name(enum scope s);
 *	int scope_from_name(const char *name, enum scope *out);
 *
 * DESCRIPTION
 *	The names are the ones of the rule language, JSON output and logs;
 *	they never change once shipped. The JSON form of a verdict is
 *	json_verdict() in json.c.
 *
 *	A verdict filled by engine_msg_end() points into the worker (matches,
 *	descriptions, policy name): verdict_free() releases nothing of it and
 *	only empties the struct. It is valid until engine_msg_free() of its
 *	message; copy what must live longer.
 *
 * DIAGNOSTICS
 *	action_from_name() and scope_from_name() return -1 for an unknown
 *	name (case-insensitive otherwise); *_name() return "?" for an
 *	out-of-range value.
 */
#include <string.h>
#include <strings.h>

#include "engine.h"

static const char *const action_names[ACT_COUNT] = {
	[ACT_PASS] = "pass",
	[ACT_TAG] = "tag",
	[ACT_QUARANTINE] = "quarantine",
	[ACT_DISCARD] = "discard",
	[ACT_TEMPFAIL] = "tempfail",
	[ACT_REJECT] = "reject",
};

static const char *const scope_names[SCOPE_COUNT] = {
	[SCOPE_HEADER] = "header",
	[SCOPE_BODY] = "body",
	[SCOPE_ATTACHMENT] = "attachment",
	[SCOPE_RAW] = "raw",
	[SCOPE_URL] = "url",
	[SCOPE_ENVELOPE] = "envelope",
	[SCOPE_MESSAGE] = "message",
	[SCOPE_PART] = "part",
};

/* verdict_free - empty a verdict (engine verdicts own no memory) */
void verdict_free(struct verdict *v)
{
	if (v == NULL)
		return;
	memset(v, 0, sizeof(*v));
}

/* action_name - the rule-language name of an action */
const char *action_name(enum action a)
{
	return (unsigned) a < ACT_COUNT ? action_names[a] : "?";
}

/* action_from_name - parse an action name */
int action_from_name(const char *name, enum action *out)
{
	for (int a = 0; a < ACT_COUNT; a++)
		if (strcasecmp(name, action_names[a]) == 0) {
			*out = (enum action) a;
			return 0;
		}
	return -1;
}

/* scope_name - the rule-language name of a scope */
const char *scope_name(enum scope s)
{
	return (unsigned) s < SCOPE_COUNT ? scope_names[s] : "?";
}

/* scope_from_name - parse a scope name */
int scope_from_name(const char *name, enum scope *out)
{
	for (int s = 0; s < SCOPE_COUNT; s++)
		if (strcasecmp(name, scope_names[s]) == 0) {
			*out = (enum scope) s;
			return 0;
		}
	return -1;
}
