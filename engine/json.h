/*
 * json.h - small JSON output helpers (owner: lead)
 *
 *	void json_string(FILE *out, const char *s, size_t len);
 *	void json_verdict(FILE *out, const struct verdict *v,
 *			const struct mime_part *parts, size_t nparts);
 *
 * DESCRIPTION
 *	json_string() writes s as a quoted JSON string: quotes, backslashes
 *	and control characters escaped, invalid UTF-8 replaced by U+FFFD, so
 *	that whatever a message contains the output stays valid JSON.
 *
 *	json_verdict() writes the members of a verdict (no braces, so callers
 *	can add their own members around it): action, score, policy, reason,
 *	reply, rules (array of {id, scope, part, score, action}), parts (array
 *	of {id, parent, content_type, filename, encoding, charset, size,
 *	detected_type, flags}) and mime_flags.
 */
#ifndef MX_JSON_H
#define MX_JSON_H

#include <stddef.h>
#include <stdio.h>

#include "engine.h"

void json_string(FILE *out, const char *s, size_t len);
void json_verdict(FILE *out, const struct verdict *v,
		  const struct mime_part *parts, size_t nparts);

#endif
