/*
 * mgmt_json.h - the little JSON the management API reads and writes
 *
 *	void mgmt_json_str(FILE *fp, const char *s);
 *	int mgmt_json_get(const char *json, size_t len, const char *key,
 *			char *out, size_t outlen);
 *	int mgmt_json_get_list(const char *json, size_t len, const char *key,
 *			char *buf, size_t buflen, const char **items,
 *			size_t max, size_t *n);
 *	int mgmt_json_value(const char *json, size_t len, const char *key,
 *			char *out, size_t outlen);
 *	int mgmt_json_each(const char *json, size_t len,
 *			int (*fn)(void *ctx, const char *item, size_t n),
 *			void *ctx);
 *
 * DESCRIPTION
 *	mgmt_json_str() writes s as a JSON string (quotes, escapes; bytes
 *	that are not valid UTF-8 become U+FFFD so the output always parses).
 *
 *	mgmt_json_get() checks that json is one object (the whole of it, at
 *	most MGMT_JSON_DEPTH deep) and copies the string member key, decoded,
 *	into out: 1 found, 0 absent (or not a string), -1 malformed JSON or
 *	too long. mgmt_json_get_list() does the same for a member that is an
 *	array of strings: the strings are packed into buf and items[i] points
 *	at each; *n is their number.
 *
 *	mgmt_json_value() is mgmt_json_get() for any member: a string is
 *	decoded, anything else (number, true, null, an object, an array) is
 *	copied as its JSON text (-1 when it does not fit). mgmt_json_each()
 *	calls fn with the text of every element of a top-level array; a
 *	non-zero return stops it. Both are for the command-line client.
 *
 * DIAGNOSTICS
 *	None: -1 is the only error.
 */
#ifndef MX_MGMT_JSON_H
#define MX_MGMT_JSON_H

#include <stddef.h>
#include <stdio.h>

#define MGMT_JSON_DEPTH		32	/* nesting accepted in a request */

void mgmt_json_str(FILE *fp, const char *s);
int mgmt_json_get(const char *json, size_t len, const char *key, char *out,
		  size_t outlen);
int mgmt_json_get_list(const char *json, size_t len, const char *key,
		       char *buf, size_t buflen, const char **items, size_t max,
		       size_t *n);
int mgmt_json_value(const char *json, size_t len, const char *key, char *out,
		    size_t outlen);
int mgmt_json_each(const char *json, size_t len,
		   int (*fn)(void *ctx, const char *item, size_t n), void *ctx);

#endif
