/*
 * json.c - small JSON output helpers
 *
 *	See json.h. Output goes through stdio: the CLI writes to stdout, the
 *	control process to an open_memstream() buffer. Nothing here runs on
 *	an lcore.
 */
#include <stdint.h>
#include <string.h>

#include "json.h"

/* utf8_seq_len - length of the valid UTF-8 sequence at s, 0 if invalid */
static size_t utf8_seq_len(const unsigned char *s, size_t left)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and beyond U+10FFFF are invalid */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))
	    || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* json_string - write a quoted, escaped JSON string */
void json_string(FILE *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;

	putc('"', out);
	while (i < len) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			putc('\\', out);
			putc(c, out);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n': fputs("\\n", out); break;
			case '\r': fputs("\\r", out); break;
			case '\t': fputs("\\t", out); break;
			default: fprintf(out, "\\u%04x", c); break;
			}
			i++;
		} else if ((n = utf8_seq_len(s + i, len - i)) == 0) {
			fputs("\\ufffd", out);
			i++;
		} else {
			fwrite(s + i, 1, n, out);
			i += n;
		}
	}
	putc('"', out);
}

/* json_cstr - a NUL-terminated string, or null for NULL */
static void json_cstr(FILE *out, const char *s)
{
	if (s == NULL)
		fputs("null", out);
	else
		json_string(out, s, strlen(s));
}

/* json_part - one part's object */
static void json_part(FILE *out, const struct mime_part *p)
{
	fprintf(out, "{\"id\":%d,\"parent\":%d,\"depth\":%d,\"content_type\":",
		p->id, p->parent, p->depth);
	json_cstr(out, p->content_type);
	fputs(",\"filename\":", out);
	json_cstr(out, p->filename);
	fputs(",\"encoding\":", out);
	json_cstr(out, mime_encoding_name(p->encoding));
	fputs(",\"charset\":", out);
	json_cstr(out, p->charset);
	fprintf(out, ",\"size\":%llu,\"raw_size\":%llu,\"detected_type\":",
		(unsigned long long)p->decoded_size,
		(unsigned long long)p->raw_size);
	json_cstr(out, p->is_multipart || p->is_message ? NULL
		  : filetype_name(p->detected_type));
	fprintf(out, ",\"flags\":%u}", p->flags);
}

/* json_verdict - the members of a verdict, without braces */
void json_verdict(FILE *out, const struct verdict *v,
		  const struct mime_part *parts, size_t nparts)
{
	size_t i;

	fputs("\"action\":", out);
	json_cstr(out, action_name(v->action));
	fprintf(out, ",\"score\":%d,\"policy\":", v->score);
	json_cstr(out, v->policy);
	fputs(",\"reason\":", out);
	json_cstr(out, v->reason);
	fputs(",\"reply\":", out);
	json_cstr(out, v->reply);
	fputs(",\"rules\":[", out);
	for (i = 0; i < v->nmatches; i++) {
		const struct verdict_match *m = &v->matches[i];

		fputs(i ? ",{\"id\":" : "{\"id\":", out);
		json_cstr(out, m->rule_id);
		fputs(",\"scope\":", out);
		json_cstr(out, scope_name(m->scope));
		fprintf(out, ",\"part\":%d,\"score\":%d,\"action\":", m->part,
			m->score);
		json_cstr(out, action_name(m->action));
		fputs("}", out);
	}
	fputs("],\"parts\":[", out);
	for (i = 0; i < nparts; i++) {
		if (i)
			putc(',', out);
		json_part(out, &parts[i]);
	}
	fprintf(out, "],\"mime_flags\":%u", v->mime_flags);
}
