/*
 * rfc2047.c - decode RFC 2047 encoded words in a header value to UTF-8
 *
 *	size_t rfc2047_decode(const char *in, size_t len, char *out,
 *			size_t cap, int *cut);
 *
 * DESCRIPTION
 *	Every "=?charset?B|Q?text?=" in the value is replaced by its text in
 *	UTF-8 (charset.c converts; an unknown charset passes the decoded
 *	bytes as they are). Linear whitespace between two adjacent encoded
 *	words is dropped (RFC 2047 section 6.2); everything else is copied.
 *	Like most mail readers, words are also recognised inside a token and
 *	in quoted strings, because that is where senders put them.
 *	A charset may carry an RFC 2231 language suffix ("utf-8*en").
 *
 *	The result is NUL-terminated, at most cap - 1 bytes, cut at a
 *	character boundary; *cut is set when it had to be cut.
 */
#include <string.h>

#include "mime_int.h"

#define RFC2047_CHARSET_MAX	MIME_CHARSET_MAX
#define RFC2047_SLICE		256	/* encoded bytes decoded per step */

struct ew {
	char charset[RFC2047_CHARSET_MAX];
	int b64;
	const char *text;
	size_t text_len;
	size_t end;		/* offset just past "?=" */
};

/* parse_ew - recognise an encoded word starting at in[i] ("=?") */
static int parse_ew(const char *in, size_t len, size_t i, struct ew *w)
{
	size_t p = i + 2, n = 0;

	while (p < len && in[p] != '?' && in[p] != ' ' && in[p] != '\t') {
		if (n + 1 < sizeof(w->charset)) {
			char c = in[p];

			w->charset[n++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
		}
		p++;
	}
	w->charset[n] = 0;
	if (n == 0 || p + 3 >= len || in[p] != '?' || in[p + 2] != '?')
		return 0;
	char *star = strchr(w->charset, '*');

	if (star)
		*star = 0;
	switch (in[p + 1]) {
	case 'b': case 'B': w->b64 = 1; break;
	case 'q': case 'Q': w->b64 = 0; break;
	default: return 0;
	}
	p += 3;
	w->text = in + p;
	for (; p + 1 < len; p++) {
		if (in[p] == '?' && in[p + 1] == '=') {
			w->text_len = (size_t) (in + p - w->text);
			w->end = p + 2;
			return 1;
		}
	}
	return 0;
}

/* q_decode - the Q encoding: "_" is a space, =XX a byte */
static size_t q_decode(const char *s, size_t n, uint8_t *o)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_') {
			o[k++] = ' ';
		} else if (s[i] == '=' && i + 2 < n &&
			   mime_hexval(s[i + 1]) >= 0 && mime_hexval(s[i + 2]) >= 0) {
			o[k++] = (uint8_t) (mime_hexval(s[i + 1]) << 4 |
					    mime_hexval(s[i + 2]));
			i += 2;
		} else {
			o[k++] = (uint8_t) s[i];
		}
	}
	return k;
}

/* put - append converted text, cutting at a character boundary */
static size_t put(char *out, size_t used, size_t cap, const uint8_t *s,
		  size_t n, int *cut)
{
	if (used + n + 1 > cap) {
		n = cap - 1 - used;
		while (n > 0 && (s[n] & 0xC0) == 0x80)
			n--;
		*cut = 1;
	}
	memcpy(out + used, s, n);
	return used + n;
}

/* emit_word - decode one encoded word and append its UTF-8 form */
static size_t emit_word(const struct ew *w, char *out, size_t used,
			size_t cap, int *cut)
{
	struct decode_b64 b64;
	struct charset_conv conv;
	uint8_t raw[RFC2047_SLICE + 8];
	uint8_t utf[CHARSET_OUT_MAX(RFC2047_SLICE + 8)];
	int cs = charset_lookup(w->charset);

	decode_b64_init(&b64);
	charset_init(&conv, cs);
	for (size_t off = 0; off < w->text_len;) {
		size_t n = w->text_len - off;
		size_t rn, un;

		if (n > RFC2047_SLICE)
			n = RFC2047_SLICE;
		/* A Q escape must not straddle two slices. */
		if (!w->b64 && off + n < w->text_len) {
			if (w->text[off + n - 1] == '=')
				n -= 1;
			else if (n >= 2 && w->text[off + n - 2] == '=')
				n -= 2;
		}
		rn = w->b64 ? decode_b64_run(&b64, (const uint8_t *) w->text +
					     off, n, raw) :
			q_decode(w->text + off, n, raw);
		if (w->b64 && off + n >= w->text_len)
			rn += decode_b64_finish(&b64, raw + rn);
		const uint8_t *u = charset_run(&conv, raw, rn, utf, &un);

		used = put(out, used, cap, u, un, cut);
		off += n;
	}
	size_t un = charset_finish(&conv, utf);

	return put(out, used, cap, utf, un, cut);
}

/* rfc2047_decode - decode every encoded word of a header value */
size_t rfc2047_decode(const char *in, size_t len, char *out, size_t cap,
		      int *cut)
{
	size_t used = 0, ws_mark = 0;
	int after_word = 0;
	struct ew w;

	*cut = 0;
	if (cap == 0)
		return 0;
	for (size_t i = 0; i < len;) {
		if (used + 1 >= cap) {
			*cut = 1;
			break;
		}
		if (in[i] == '=' && i + 1 < len && in[i + 1] == '?' &&
		    parse_ew(in, len, i, &w)) {
			if (after_word)
				used = ws_mark;
			used = emit_word(&w, out, used, cap, cut);
			ws_mark = used;
			after_word = 1;
			i = w.end;
			continue;
		}
		if (in[i] != ' ' && in[i] != '\t' && in[i] != '\r' &&
		    in[i] != '\n')
			after_word = 0;
		out[used++] = in[i++];
	}
	out[used] = 0;
	return used;
}
