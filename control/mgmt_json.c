/*
 * mgmt_json.c - JSON strings out, one object's string members in
 *
 *	See mgmt_json.h. The reader is a validating recursive descent over
 *	the whole text (so "{"dir":"x"} junk" is refused), bounded in depth.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "mgmt_json.h"

struct jp {
	const char *p, *end;
};

/* utf8_len - length of the valid UTF-8 sequence at s, 0 if invalid */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
	    || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* mgmt_json_str - s as a JSON string */
void mgmt_json_str(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);

	putc('"', fp);
	while (n) {
		size_t k;

		if (*p == '"' || *p == '\\') {
			putc('\\', fp);
			putc(*p, fp);
			k = 1;
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(fp, "\\u%04x", *p);
			k = 1;
		} else if ((k = utf8_len(p, n)) == 0) {
			fputs("\\ufffd", fp);
			k = 1;
		} else {
			fwrite(p, 1, k, fp);
		}
		p += k;
		n -= k;
	}
	putc('"', fp);
}

/* ws - skip white space */
static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n'
				 || *j->p == '\r'))
		j->p++;
}

/* put_utf8 - one code point into out */
static int put_utf8(uint32_t cp, char *out, size_t outlen, size_t *o)
{
	char b[4];
	size_t n;

	if (cp < 0x80)
		b[0] = (char)cp, n = 1;
	else if (cp < 0x800)
		b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	else if (cp < 0x10000)
		b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | (cp >> 6 & 0x3f)),
		b[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	else
		b[0] = (char)(0xf0 | cp >> 18), b[1] = (char)(0x80 | (cp >> 12 & 0x3f)),
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f)),
		n = 4;
	if (out == NULL)
		return 0;
	if (*o + n >= outlen)
		return -1;
	memcpy(out + *o, b, n);
	*o += n;
	return 0;
}

/* hex4 - four hex digits */
static int hex4(struct jp *j, uint32_t *v)
{
	*v = 0;
	if (j->end - j->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)*j->p++;

		if (!isxdigit(c))
			return -1;
		*v = *v * 16 + (uint32_t)(isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return 0;
}

/* string - a string at j->p; decoded into out when out is not NULL;
 * NUL bytes are refused (the values become C strings) */
static int string(struct jp *j, char *out, size_t outlen)
{
	size_t o = 0;

	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20)
			return -1;
		if (c == '\\') {
			uint32_t cp;

			if (++j->p >= j->end)
				return -1;
			c = (unsigned char)*j->p++;
			switch (c) {
			case '"': case '\\': case '/': cp = c; break;
			case 'b': cp = '\b'; break;
			case 'f': cp = '\f'; break;
			case 'n': cp = '\n'; break;
			case 'r': cp = '\r'; break;
			case 't': cp = '\t'; break;
			case 'u':
				if (hex4(j, &cp) < 0)
					return -1;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					uint32_t lo;

					if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
						return -1;
					j->p += 2;
					if (hex4(j, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
						return -1;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				} else if (cp >= 0xdc00 && cp <= 0xdfff) {
					return -1;
				}
				if (cp == 0)
					return -1;
				break;
			default:
				return -1;
			}
			if (put_utf8(cp, out, outlen, &o) < 0)
				return -1;
			continue;
		}
		if (out) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)c;
		}
		j->p++;
	}
	if (j->p >= j->end)
		return -1;
	j->p++;
	if (out)
		out[o] = 0;
	return 0;
}

/* value - skip one value (validating it) */
static int value(struct jp *j, int depth)
{
	ws(j);
	if (j->p >= j->end || depth > MGMT_JSON_DEPTH)
		return -1;
	switch (*j->p) {
	case '"':
		return string(j, NULL, 0);
	case '{': case '[': {
		char close = *j->p == '{' ? '}' : ']';
		int obj = close == '}';

		j->p++;
		ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return 0;
		}
		for (;;) {
			if (obj) {
				ws(j);
				if (string(j, NULL, 0) < 0)
					return -1;
				ws(j);
				if (j->p >= j->end || *j->p++ != ':')
					return -1;
			}
			if (value(j, depth + 1) < 0)
				return -1;
			ws(j);
			if (j->p >= j->end)
				return -1;
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p++ != close)
				return -1;
			return 0;
		}
	}
	case 't':
		if (j->end - j->p >= 4 && memcmp(j->p, "true", 4) == 0)
			return j->p += 4, 0;
		return -1;
	case 'f':
		if (j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0)
			return j->p += 5, 0;
		return -1;
	case 'n':
		if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0)
			return j->p += 4, 0;
		return -1;
	default: {
		const char *s = j->p;

		if (j->p < j->end && *j->p == '-')
			j->p++;
		if (j->p >= j->end || !isdigit((unsigned char)*j->p))
			return -1;
		while (j->p < j->end && (isdigit((unsigned char)*j->p) || strchr(".eE+-", *j->p)))
			j->p++;
		return j->p > s ? 0 : -1;
	}
	}
}

/* find - validate the object; leave j->p at the value of key, or NULL */
static int find(const char *json, size_t len, const char *key, struct jp *at)
{
	struct jp j = { json, json + len };
	char name[256];
	int found = 0;

	at->p = NULL;
	if (value(&j, 0) < 0)
		return -1;
	ws(&j);
	if (j.p != j.end)
		return -1;	/* trailing junk */
	j.p = json;
	ws(&j);
	if (*j.p != '{')
		return -1;
	j.p++;
	ws(&j);
	while (*j.p != '}') {
		const char *np;

		ws(&j);
		np = j.p;
		if (string(&j, name, sizeof(name)) < 0) {
			/* validated already: only a name too long to be ours */
			j.p = np;
			string(&j, NULL, 0);
			name[0] = 0;
		}
		ws(&j);
		j.p++;	/* ':' (validated above) */
		ws(&j);
		if (strcmp(name, key) == 0 && !found) {
			*at = j;
			found = 1;
		}
		value(&j, 1);
		ws(&j);
		if (*j.p == ',')
			j.p++;
		ws(&j);
	}
	return found;
}

/* mgmt_json_get - one string member of an object */
int mgmt_json_get(const char *json, size_t len, const char *key, char *out,
		  size_t outlen)
{
	struct jp at;
	int rc = find(json, len, key, &at);

	if (rc <= 0)
		return rc;
	at.end = json + len;
	if (*at.p != '"')
		return 0;
	return string(&at, out, outlen) < 0 ? -1 : 1;
}

/* mgmt_json_get_list - one member that is an array of strings */
int mgmt_json_get_list(const char *json, size_t len, const char *key,
		       char *buf, size_t buflen, const char **items, size_t max,
		       size_t *n)
{
	struct jp at;
	size_t used = 0;
	int rc = find(json, len, key, &at);

	*n = 0;
	if (rc <= 0)
		return rc;
	at.end = json + len;
	if (*at.p != '[')
		return 0;
	at.p++;
	ws(&at);
	if (*at.p == ']')
		return 1;
	for (;;) {
		ws(&at);
		if (*n >= max || *at.p != '"' || used >= buflen
		    || string(&at, buf + used, buflen - used) < 0)
			return -1;
		items[(*n)++] = buf + used;
		used += strlen(buf + used) + 1;
		ws(&at);
		if (*at.p == ',') {
			at.p++;
			continue;
		}
		return *at.p == ']' ? 1 : -1;
	}
}

/* mgmt_json_value - a member as text: strings decoded, the rest as is */
int mgmt_json_value(const char *json, size_t len, const char *key, char *out,
		    size_t outlen)
{
	struct jp at;
	const char *start;
	int rc = find(json, len, key, &at);

	if (rc <= 0)
		return rc;
	at.end = json + len;
	if (*at.p == '"')
		return string(&at, out, outlen) < 0 ? -1 : 1;
	start = at.p;
	if (value(&at, 1) < 0 || (size_t)(at.p - start) >= outlen)
		return -1;
	memcpy(out, start, (size_t)(at.p - start));
	out[at.p - start] = 0;
	return 1;
}

/* mgmt_json_each - every element of a top-level array */
int mgmt_json_each(const char *json, size_t len,
		   int (*fn)(void *ctx, const char *item, size_t n), void *ctx)
{
	struct jp j = { json, json + len };

	if (value(&j, 0) < 0)
		return -1;
	j.p = json;
	ws(&j);
	if (*j.p != '[')
		return -1;
	j.p++;
	ws(&j);
	while (*j.p != ']') {
		const char *s;

		ws(&j);
		s = j.p;
		value(&j, 1);
		if (fn(ctx, s, (size_t)(j.p - s)) != 0)
			return 0;
		ws(&j);
		if (*j.p == ',')
			j.p++;
		ws(&j);
	}
	return 0;
}
