/*
 * url.c - streaming URL extraction from decoded text and HTML
 *
 *	void url_scan_init(struct url_scan *u, int html);
 *	void url_scan_run(struct url_scan *u, const uint8_t *text, size_t len,
 *			url_emit_fn emit, void *ctx);
 *	void url_scan_finish(struct url_scan *u, url_emit_fn emit, void *ctx);
 *
 * DESCRIPTION
 *	Finds absolute URLs (http://, https://, ftp://, case-insensitive)
 *	and bare "www." hosts in UTF-8 text handed over in slices of any
 *	size; a URL split across slices is reported once, whole. A URL ends
 *	at white space, a control byte, a quote, "<", ">" or one of `{}|\^;
 *	trailing sentence punctuation is not part of it. A URL longer than
 *	MIME_URL_MAX is reported cut (cut = 1) and its rest is skipped.
 *
 *	In HTML mode the text first goes through an HTML entity decoder
 *	(&amp; &lt; &gt; &quot; &apos; &nbsp; &colon; &sol; &period;
 *	&#N; &#xH;), so an href or src attribute value such as
 *	"http&#58;//host/?a=1&amp;b=2" is reported as "http://host/?a=1&b=2";
 *	quotes and angle brackets end attribute values.
 *
 *	The work per byte is a table look-up while no candidate is open.
 */
#include <string.h>

#include "mime_int.h"

static const char *const url_prefix[] = { "http://", "https://", "ftp://",
					  "www." };
#define NPREFIX		4
#define PREFIX_WWW	3


/* url_scan_init - start scanning a part */
void url_scan_init(struct url_scan *u, int html)
{
	u->html = html ? 1 : 0;
	u->in_url = 0;
	u->cut = 0;
	u->match = 0;
	u->cand = 0;
	u->prev = ' ';
	u->last = ' ';
	u->nent = 0;
	u->ulen = 0;
	u->seen = 0;
	u->fed = 0;
	memset(u->tail, ' ', sizeof(u->tail));
}

/*
 * URL bytes: not white space, a control byte, DEL, a quote, "<", ">" or
 * one of `{}|\^. A table because the body of every URL is copied through
 * this test; [1] also stops at "&", where an HTML entity may begin.
 */
#define URL_BYTES_BUT_AMP \
	[0x21] = 1, [0x23 ... 0x25] = 1, [0x28 ... 0x3B] = 1, [0x3D] = 1, \
	[0x3F ... 0x5B] = 1, [0x5D] = 1, [0x5F] = 1, [0x61 ... 0x7A] = 1, \
	[0x7E] = 1, [0x80 ... 0xFF] = 1
static const uint8_t url_bytes[2][256] = {
	{ URL_BYTES_BUT_AMP, ['&'] = 1 },
	{ URL_BYTES_BUT_AMP },
};

/* url_char - whether c may be part of a URL */
static int url_char(uint8_t c)
{
	return url_bytes[0][c];
}

/* lower - ASCII lower case */
static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* word_char - whether c glues to a following "www." */
static int word_char(uint8_t c)
{
	c = lower(c);
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '-' || c == '/' || c == '@' || c == '_' || c >= 0x80;
}

/* url_end - report the URL collected, without trailing punctuation */
static void url_end(struct url_scan *u, url_emit_fn emit, void *ctx)
{
	size_t n = u->ulen, plen;

	if (!u->cut) {
		while (n > 0 && strchr(".,;:!?)]'*", u->ubuf[n - 1]))
			n--;
		plen = lower((uint8_t) u->ubuf[0]) == 'w' ? 4 :
		       lower((uint8_t) u->ubuf[0]) == 'f' ? 6 :
		       lower((uint8_t) u->ubuf[4]) == 's' ? 8 : 7;
		if (n > plen && emit)
			emit(ctx, u->ubuf, n, 0);
	}
	u->in_url = 0;
	u->cut = 0;
	u->ulen = 0;
	u->match = 0;
}

/* url_byte - the URL matcher proper, after entity decoding */
static void url_byte(struct url_scan *u, uint8_t c, url_emit_fn emit,
		     void *ctx)
{
	if (u->in_url) {
		if (!url_char(c)) {
			url_end(u, emit, ctx);
			u->last = c;
			return;
		}
		if (u->cut) {
			u->last = c;
			return;
		}
		u->ubuf[u->ulen++] = (char) c;
		if (u->ulen == MIME_URL_MAX) {
			if (emit)
				emit(ctx, u->ubuf, u->ulen, 1);
			u->cut = 1;
		}
		u->last = c;
		return;
	}
	uint8_t lc = lower(c);
	unsigned cand = 0;

	if (u->match == 0) {
		for (unsigned k = 0; k < NPREFIX; k++)
			if ((uint8_t) url_prefix[k][0] == lc &&
			    (k != PREFIX_WWW || !word_char(u->last)))
				cand |= 1u << k;
		if (cand) {
			u->prev = u->last;
			u->cand = cand;
			u->ubuf[0] = (char) c;
			u->match = 1;
		}
		u->last = c;
		return;
	}
	for (unsigned k = 0; k < NPREFIX; k++)
		if ((u->cand & 1u << k) && (uint8_t) url_prefix[k][u->match] == lc)
			cand |= 1u << k;
	if (cand) {
		u->ubuf[u->match++] = (char) c;
		u->cand = cand;
		u->last = c;
		for (unsigned k = 0; k < NPREFIX; k++)
			if ((cand & 1u << k) && url_prefix[k][u->match] == 0) {
				u->in_url = 1;
				u->ulen = u->match;
				u->match = 0;
				return;
			}
		return;
	}
	if (u->match == 1) {
		/* the common miss ("he", "wi"): c alone may start a prefix */
		u->match = 0;
		u->last = (uint8_t) u->ubuf[0];
		url_byte(u, c, emit, ctx);
		return;
	}
	/* Mismatch: a prefix may start inside what was matched ("wwww."). */
	char again[16];
	unsigned n = u->match;

	memcpy(again, u->ubuf + 1, n - 1);
	again[n - 1] = (char) c;
	u->match = 0;
	u->last = (uint8_t) u->ubuf[0];
	for (unsigned i = 0; i < n; i++)
		url_byte(u, (uint8_t) again[i], emit, ctx);
}

/* entity_value - code point of a complete entity body, -1 if unknown */
static long entity_value(const uint8_t *e, size_t n)
{
	static const struct { const char *name; long cp; } named[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
		{ "apos", '\'' }, { "nbsp", ' ' }, { "colon", ':' },
		{ "sol", '/' }, { "period", '.' }, { "quest", '?' },
		{ "equals", '=' }, { "num", '#' }, { "percnt", '%' },
	};
	long v = 0;

	if (n >= 2 && e[0] == '#') {
		int hex = (e[1] == 'x' || e[1] == 'X');
		size_t i = hex ? 2 : 1;

		if (i >= n)
			return -1;
		for (; i < n; i++) {
			int d = (e[i] >= '0' && e[i] <= '9') ? e[i] - '0' :
				hex && lower(e[i]) >= 'a' && lower(e[i]) <= 'f' ?
				lower(e[i]) - 'a' + 10 : -1;

			if (d < 0 || v > 0x10FFFF)
				return -1;
			v = v * (hex ? 16 : 10) + d;
		}
		return (v > 0 && v <= 0x10FFFF) ? v : -1;
	}
	for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++)
		if (strlen(named[k].name) == n &&
		    memcmp(named[k].name, e, n) == 0)
			return named[k].cp;
	return -1;
}

/* entity_flush - pass an entity that was not one through unchanged */
static void entity_flush(struct url_scan *u, url_emit_fn emit, void *ctx)
{
	unsigned n = u->nent;

	u->nent = 0;
	for (unsigned i = 0; i < n; i++)
		url_byte(u, u->ent[i], emit, ctx);
}

/* entity_byte - HTML entity decoding in front of the matcher */
static void entity_byte(struct url_scan *u, uint8_t c, url_emit_fn emit,
			void *ctx)
{
	if (u->nent == 0) {
		if (c == '&') {
			u->ent[u->nent++] = c;
			return;
		}
		url_byte(u, c, emit, ctx);
		return;
	}
	if (c == ';') {
		long cp = entity_value(u->ent + 1, u->nent - 1);

		if (cp < 0) {
			entity_flush(u, emit, ctx);
			url_byte(u, c, emit, ctx);
			return;
		}
		u->nent = 0;
		uint8_t b[4];
		unsigned k = 0;

		if (cp < 0x80) {
			b[k++] = (uint8_t) cp;
		} else if (cp < 0x800) {
			b[k++] = (uint8_t) (0xC0 | cp >> 6);
			b[k++] = (uint8_t) (0x80 | (cp & 0x3F));
		} else if (cp < 0x10000) {
			b[k++] = (uint8_t) (0xE0 | cp >> 12);
			b[k++] = (uint8_t) (0x80 | (cp >> 6 & 0x3F));
			b[k++] = (uint8_t) (0x80 | (cp & 0x3F));
		} else {
			b[k++] = (uint8_t) (0xF0 | cp >> 18);
			b[k++] = (uint8_t) (0x80 | (cp >> 12 & 0x3F));
			b[k++] = (uint8_t) (0x80 | (cp >> 6 & 0x3F));
			b[k++] = (uint8_t) (0x80 | (cp & 0x3F));
		}
		for (unsigned i = 0; i < k; i++)
			url_byte(u, b[i], emit, ctx);
		return;
	}
	uint8_t lc = lower(c);

	if (u->nent < URL_ENTITY_MAX &&
	    ((lc >= 'a' && lc <= 'z') || (c >= '0' && c <= '9') ||
	     (c == '#' && u->nent == 1))) {
		u->ent[u->nent++] = c;
		return;
	}
	entity_flush(u, emit, ctx);
	entity_byte(u, c, emit, ctx);
}

/* raw_at - raw byte at absolute position pos (from text or the tail) */
static uint8_t raw_at(const struct url_scan *u, const uint8_t *text,
		      uint64_t base, uint64_t pos)
{
	if (pos >= base)
		return text[pos - base];
	return u->tail[sizeof(u->tail) - (base - pos)];
}

/* next_anchor - first ':' '.' (and '&' in HTML) in [p, end), or end */
static const uint8_t *next_anchor(const uint8_t *p, const uint8_t *end,
				  int html, const uint8_t **cache)
{
	static const uint8_t anchors[3] = { ':', '.', '&' };
	const uint8_t *best = end;

	for (int k = 0; k < (html ? 3 : 2); k++) {
		if (cache[k] == NULL || (cache[k] != end && cache[k] < p)) {
			const uint8_t *q = memchr(p, anchors[k],
						  (size_t) (end - p));

			cache[k] = q ? q : end;
		}
		if (cache[k] < best)
			best = cache[k];
	}
	return best;
}

/*
 * anchor_may_start - whether a URL prefix can end at anchor a: "://"
 * after a colon, "www" before a dot (when the bytes are in this slice;
 * when they are not, the matcher decides)
 */
static int anchor_may_start(const struct url_scan *u, const uint8_t *a,
			    const uint8_t *text, const uint8_t *end)
{
	if (*a == ':') {
		if (end - a < 3)
			return 1;
		if (u->html && (a[1] == '&' || a[2] == '&'))
			return 1;
		return a[1] == '/' && a[2] == '/';
	}
	if (*a == '.') {
		if (a - text < 3)
			return 1;
		return (a[-1] | 0x20) == 'w' && (a[-2] | 0x20) == 'w' &&
		       (a[-3] | 0x20) == 'w';
	}
	return 1;
}

/*
 * url_scan_run - scan a slice of UTF-8 text
 *
 * Every URL start passes an anchor: the ':' of "scheme:", the '.' of
 * "www." or, in HTML, the '&' of an entity. While the matcher is idle
 * the text is skipped with memchr() to the next anchor and only the
 * URL_LOOKBACK bytes before it are fed to the matcher, which is enough
 * for the longest prefix; those bytes may come from an earlier slice
 * (u->tail), so the result does not depend on the split.
 */
#define URL_LOOKBACK	8
void url_scan_run(struct url_scan *u, const uint8_t *text, size_t len,
		  url_emit_fn emit, void *ctx)
{
	const uint8_t *p = text, *end = text + len;
	const uint8_t *cache[3] = { NULL, NULL, NULL };
	uint64_t base = u->seen;

	while (p < end) {
		if (u->in_url && !u->cut && u->nent == 0) {
			/* the body of a URL: copy the run of URL bytes */
			const uint8_t *q = p, *ok = url_bytes[u->html];

			while (q < end && ok[*q])
				q++;
			size_t n = (size_t) (q - p), room = MIME_URL_MAX - u->ulen;

			if (n > room)
				n = room;
			memcpy(u->ubuf + u->ulen, p, n);
			u->ulen += n;
			if (n)
				u->last = p[n - 1];
			p += n;
			if (u->ulen == MIME_URL_MAX) {
				if (emit)
					emit(ctx, u->ubuf, u->ulen, 1);
				u->cut = 1;
			}
			if (p == end)
				break;
			if (n)
				continue;
		}
		if (!u->in_url && u->match == 0 && u->nent == 0) {
			const uint8_t *a = next_anchor(p, end, u->html, cache);

			if (a == end)
				break;	/* no anchor: no URL starts here */
			if (!anchor_may_start(u, a, text, end)) {
				p = a + 1;
				continue;
			}
			/* u->fed <= p: bytes from u->fed on were skipped */
			uint64_t apos = base + (uint64_t) (a - text);
			uint64_t start = apos >= URL_LOOKBACK ?
					 apos - URL_LOOKBACK : 0;

			if (start < u->fed)
				start = u->fed;
			if (start > u->fed && start > 0)
				u->last = raw_at(u, text, base, start - 1);
			for (uint64_t k = start; k < base; k++)
				(u->html ? entity_byte : url_byte)(u,
					raw_at(u, text, base, k), emit, ctx);
			p = text + (start > base ? start - base : 0);
		}
		if (u->html)
			entity_byte(u, *p++, emit, ctx);
		else
			url_byte(u, *p++, emit, ctx);
		u->fed = base + (uint64_t) (p - text);
	}
	/* keep the raw tail for the next slice's look-back */
	if (len >= sizeof(u->tail)) {
		memcpy(u->tail, end - sizeof(u->tail), sizeof(u->tail));
	} else {
		memmove(u->tail, u->tail + len, sizeof(u->tail) - len);
		memcpy(u->tail + sizeof(u->tail) - len, text, len);
	}
	u->seen = base + len;
	if (u->in_url || u->match || u->nent)
		u->fed = u->seen;
}

/* url_scan_finish - report a URL that runs to the end of the part */
void url_scan_finish(struct url_scan *u, url_emit_fn emit, void *ctx)
{
	if (u->nent)
		entity_flush(u, emit, ctx);
	if (u->in_url)
		url_end(u, emit, ctx);
	u->match = 0;
}
