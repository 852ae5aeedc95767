/*
 * mime_header.c - meaning of the MIME header fields of a part
 *
 *	void mime_hdr_content_type(const char *v, size_t len,
 *			struct mime_hdr_info *hi);
 *	void mime_hdr_disposition(const char *v, size_t len,
 *			struct mime_hdr_info *hi);
 *	enum mime_encoding mime_hdr_encoding(const char *v, size_t len);
 *
 * DESCRIPTION
 *	Values are the raw unfolded field bodies. Parameters are split at
 *	";" outside quoted strings (as Python's email package and most mail
 *	readers do, an unquoted value may hold spaces), names compared
 *	without case, quoted strings unescaped, a trailing "(comment)"
 *	dropped. RFC 2231 is honoured: name*=charset'lang'%XX, and
 *	continuations name*0, name*1*, ... joined in numeric order (up to
 *	MIME_2231_SEGMENTS_MAX); when both forms exist the RFC 2231 form
 *	wins, as in RFC 6266 user agents. File names then have RFC 2047
 *	encoded words decoded, and are UTF-8, cut at MIME_FILENAME_MAX - 1.
 *
 *	Only the first Content-Type, Content-Transfer-Encoding and
 *	Content-Disposition field of a part counts (the caller checks
 *	hi->have_*): that is what Python's email package and most readers
 *	use.
 *
 *	A Content-Type whose type is not "x/y" makes the part text/plain
 *	(RFC 2045 5.2); ctype_invalid records that so the digest default
 *	does not apply.
 */
#include <string.h>
#include <strings.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "mime_int.h"

#define MIME_2231_SEGMENTS_MAX	64	/* name*0 .. name*63 */
#define MIME_PARAM_NAME_MAX	64

struct param_seg {
	const char *v;
	size_t len;
	int encoded;
};

/* trim - drop white space at both ends */
static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t' || **s == '\r' || **s == '\n')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' ||
		      (*s)[*n - 1] == '\r' || (*s)[*n - 1] == '\n'))
		(*n)--;
}

/* seg_end - end of the ";"-separated segment starting at v[i] */
static size_t seg_end(const char *v, size_t len, size_t i)
{
	int inq = 0;

	for (; i < len; i++) {
#ifdef __SSE2__
		/*
		 * Every Content-Type value is walked to its end twice (type,
		 * then parameters): outside a quoted string only ';' and '"'
		 * matter, so go 16 bytes at a time to the first of them
		 * (SSE2 is part of x86-64; whole steps only).
		 */
		if (!inq) {
			while (i + 16 <= len) {
				__m128i x = _mm_loadu_si128((const __m128i *)
							    (v + i));
				unsigned m = (unsigned) _mm_movemask_epi8(
					_mm_or_si128(
					_mm_cmpeq_epi8(x, _mm_set1_epi8(';')),
					_mm_cmpeq_epi8(x, _mm_set1_epi8('"'))));

				if (m != 0) {
					i += (size_t) __builtin_ctz(m);
					break;
				}
				i += 16;
			}
			if (i >= len)
				break;
		}
#endif
		if (inq && v[i] == '\\' && i + 1 < len)
			i++;
		else if (v[i] == '"')
			inq = !inq;
		else if (v[i] == ';' && !inq)
			return i;
	}
	return len;
}

/* unquote - a parameter value without quotes, escapes or comment */
static size_t unquote(const char *v, size_t n, char *out, size_t cap)
{
	size_t k = 0;

	if (n && v[0] == '"') {
		for (size_t i = 1; i < n && v[i] != '"'; i++) {
			if (v[i] == '\\' && i + 1 < n)
				i++;
			if (k + 1 < cap)
				out[k++] = v[i];
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			/* "value (comment)": the comment is not the value */
			if (v[i] == '(' && i > 0 &&
			    (v[i - 1] == ' ' || v[i - 1] == '\t'))
				break;
			if (k + 1 < cap)
				out[k++] = v[i];
		}
		while (k && (out[k - 1] == ' ' || out[k - 1] == '\t'))
			k--;
	}
	out[k] = 0;
	return k;
}

/* pct_decode - undo %XX in an RFC 2231 value, appending to out */
static size_t pct_decode(const char *v, size_t n, char *out, size_t used,
			 size_t cap)
{
	for (size_t i = 0; i < n && used + 1 < cap; i++) {
		if (v[i] == '%' && i + 2 < n &&
		    mime_hexval(v[i + 1]) >= 0 && mime_hexval(v[i + 2]) >= 0) {
			out[used++] = (char) (mime_hexval(v[i + 1]) << 4 |
					      mime_hexval(v[i + 2]));
			i += 2;
		} else {
			out[used++] = v[i];
		}
	}
	return used;
}

/* name_kind - match a parameter name against target: 0 no, 1 plain,
 * 2 extended (name*), 3 continuation (name*N or name*N*) */
static int name_kind(const char *nm, size_t nn, const char *target,
		     unsigned *idx, int *enc)
{
	size_t tl = strlen(target);

	if (nn < tl || (nm[0] | 0x20) != target[0] ||
	    strncasecmp(nm, target, tl) != 0)
		return 0;
	if (nn == tl)
		return 1;
	if (nm[tl] != '*')
		return 0;
	if (nn == tl + 1)
		return 2;
	size_t i = tl + 1;
	unsigned k = 0;

	if (nm[i] < '0' || nm[i] > '9')
		return 0;
	while (i < nn && nm[i] >= '0' && nm[i] <= '9' && k < 1000)
		k = k * 10 + (unsigned) (nm[i++] - '0');
	*enc = 0;
	if (i < nn && nm[i] == '*') {
		*enc = 1;
		i++;
	}
	if (i != nn)
		return 0;
	*idx = k;
	return 3;
}

/* ext_decode - charset'lang'%XX to UTF-8 */
static size_t ext_decode(const char *raw, size_t n, int encoded,
			 const char *charset, char *out, size_t cap)
{
	char bytes[MIME_HDR_PARAM_MAX];
	size_t b = encoded ? pct_decode(raw, n, bytes, 0, sizeof(bytes)) :
		(memcpy(bytes, raw, n < sizeof(bytes) ? n : sizeof(bytes)),
		 n < sizeof(bytes) ? n : sizeof(bytes));

	return charset_to_utf8(charset, (const uint8_t *) bytes, b, out, cap,
			       NULL);
}

/* split_ext - "charset'lang'rest": lower-case charset, rest offset */
static size_t split_ext(const char *v, size_t n, char *charset, size_t cap)
{
	const char *q1 = memchr(v, '\'', n), *q2;
	size_t k = 0;

	if (q1 == NULL)
		goto none;
	q2 = memchr(q1 + 1, '\'', (size_t) (v + n - q1 - 1));
	if (q2 == NULL)
		goto none;
	for (const char *p = v; p < q1 && k + 1 < cap; p++)
		charset[k++] = (*p >= 'A' && *p <= 'Z') ? *p + 32 : *p;
	charset[k] = 0;
	return (size_t) (q2 + 1 - v);
none:
	strcpy(charset, "us-ascii");
	return 0;
}

/* What is known of one wanted parameter while the value is scanned. */
struct param_find {
	const char *target;
	const char *plain, *ext;
	size_t plain_len, ext_len;
	uint64_t have;		/* which seg[] are set */
	unsigned nseg;
	struct param_seg seg[MIME_2231_SEGMENTS_MAX];
};

/* params_scan - one pass over the parameters for every wanted name */
static void params_scan(const char *v, size_t len, struct param_find *f,
			int nf)
{
	size_t i = seg_end(v, len, 0);

	for (int t = 0; t < nf; t++) {
		f[t].plain = f[t].ext = NULL;
		f[t].have = 0;
		f[t].nseg = 0;
	}
	while (i < len) {
		size_t s = i + 1, e = seg_end(v, len, s);
		const char *eq = memchr(v + s, '=', e - s);

		i = e;
		if (eq == NULL)
			continue;
		const char *nm = v + s, *val = eq + 1;
		size_t nn = (size_t) (eq - nm), vn = (size_t) (v + e - val);

		trim(&nm, &nn);
		trim(&val, &vn);
		for (int t = 0; t < nf; t++) {
			struct param_find *pf = &f[t];
			unsigned idx = 0;
			int enc = 0;

			switch (name_kind(nm, nn, pf->target, &idx, &enc)) {
			case 1:
				if (pf->plain == NULL) {
					pf->plain = val;
					pf->plain_len = vn;
				}
				break;
			case 2:
				if (pf->ext == NULL) {
					pf->ext = val;
					pf->ext_len = vn;
				}
				break;
			case 3:
				if (idx < MIME_2231_SEGMENTS_MAX &&
				    !(pf->have & 1ULL << idx)) {
					pf->have |= 1ULL << idx;
					pf->seg[idx].v = val;
					pf->seg[idx].len = vn;
					pf->seg[idx].encoded = enc;
					if (idx + 1 > pf->nseg)
						pf->nseg = idx + 1;
				}
				break;
			}
		}
	}
}

/*
 * param_value - a scanned parameter decoded to UTF-8; -1 if absent.
 * The RFC 2231 form (continuations, then name*=) wins over name=.
 */
static int param_value(const struct param_find *pf, char *out, size_t cap)
{
	char charset[MIME_CHARSET_MAX] = "us-ascii";
	char raw[MIME_HDR_PARAM_MAX];
	size_t used = 0;

	if (pf->have & 1) {
		for (unsigned k = 0; k < pf->nseg && (pf->have & 1ULL << k);
		     k++) {
			const char *sv = pf->seg[k].v;
			size_t sn = pf->seg[k].len;

			if (pf->seg[k].encoded) {
				if (k == 0) {
					size_t off = split_ext(sv, sn, charset,
							       sizeof(charset));

					sv += off;
					sn -= off;
				}
				used = pct_decode(sv, sn, raw, used, sizeof(raw));
			} else {
				char tmp[MIME_HDR_PARAM_MAX];
				size_t tn = unquote(sv, sn, tmp, sizeof(tmp));

				if (tn > sizeof(raw) - 1 - used)
					tn = sizeof(raw) - 1 - used;
				memcpy(raw + used, tmp, tn);
				used += tn;
			}
		}
		ext_decode(raw, used, 0, charset, out, cap);
		return 0;
	}
	if (pf->ext != NULL) {
		char tmp[MIME_HDR_PARAM_MAX];
		size_t tn = unquote(pf->ext, pf->ext_len, tmp, sizeof(tmp));
		size_t off = split_ext(tmp, tn, charset, sizeof(charset));

		ext_decode(tmp + off, tn - off, 1, charset, out, cap);
		return 0;
	}
	if (pf->plain != NULL) {
		unquote(pf->plain, pf->plain_len, out, cap);
		return 0;
	}
	return -1;
}

/* lower_copy - copy lower-cased, cut to cap - 1 */
static void lower_copy(char *dst, size_t cap, const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < cap; i++)
		dst[k++] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i];
	dst[k] = 0;
}

/* set_filename - decode RFC 2047 words in a file name and trim it */
static void set_filename(char *dst, const char *raw)
{
	int cut;
	size_t n = rfc2047_decode(raw, strlen(raw), dst, MIME_FILENAME_MAX,
				  &cut);
	const char *s = dst;

	trim(&s, &n);
	memmove(dst, s, n);
	dst[n] = 0;
}

/* mime_hdr_content_type - type, charset, boundary and name */
void mime_hdr_content_type(const char *v, size_t len,
			   struct mime_hdr_info *hi)
{
	char buf[MIME_HDR_PARAM_MAX];
	size_t tn = seg_end(v, len, 0);
	const char *t = v;
	const char *sl, *ws;

	hi->have_ctype = 1;
	trim(&t, &tn);
	/* "text/html (comment)" or "text/html extra": the token only */
	ws = memchr(t, ' ', tn);
	if (ws == NULL)
		ws = memchr(t, '(', tn);
	if (ws)
		tn = (size_t) (ws - t);
	sl = memchr(t, '/', tn);
	if (sl == NULL || memchr(sl + 1, '/', (size_t) (t + tn - sl - 1)) ||
	    tn >= MIME_CT_MAX) {
		hi->ctype_invalid = 1;
		strcpy(hi->ctype, "text/plain");
	} else {
		lower_copy(hi->ctype, sizeof(hi->ctype), t, tn);
	}
	struct param_find pf[3];	/* not zeroed: params_scan sets it up */

	pf[0].target = "charset";
	pf[1].target = "name";
	pf[2].target = "boundary";

	/* only a multipart has a boundary worth the look */
	params_scan(v, len, pf, memcmp(hi->ctype, "multipart/", 10) == 0 ?
		    3 : 2);
	if (param_value(&pf[0], buf, sizeof(buf)) == 0)
		lower_copy(hi->charset, sizeof(hi->charset), buf, strlen(buf));
	if (pf[2].target && memcmp(hi->ctype, "multipart/", 10) == 0 &&
	    param_value(&pf[2], buf, sizeof(buf)) == 0) {
		size_t bn = strlen(buf);

		/* Python's get_boundary() rstrips; so do we */
		while (bn && (buf[bn - 1] == ' ' || buf[bn - 1] == '\t'))
			bn--;
		if (bn > 0 && bn <= MIME_HDR_BOUNDARY_STORE) {
			memcpy(hi->boundary, buf, bn);
			hi->boundary[bn] = 0;
			hi->have_boundary = 1;
		}
	}
	if (param_value(&pf[1], buf, sizeof(buf)) == 0) {
		set_filename(hi->ct_name, buf);
		hi->have_ct_name = 1;
	}
}

/* mime_hdr_disposition - inline or attachment, and the file name */
void mime_hdr_disposition(const char *v, size_t len,
			  struct mime_hdr_info *hi)
{
	char buf[MIME_HDR_PARAM_MAX];
	size_t tn = seg_end(v, len, 0);
	const char *t = v;

	hi->have_disp = 1;
	trim(&t, &tn);
	if (tn == 6 && strncasecmp(t, "inline", 6) == 0)
		hi->disposition = MIME_DISP_INLINE;
	else
		hi->disposition = MIME_DISP_ATTACHMENT;	/* RFC 2183 2.8 */
	struct param_find pf;

	pf.target = "filename";

	params_scan(v, len, &pf, 1);
	if (param_value(&pf, buf, sizeof(buf)) == 0) {
		set_filename(hi->disp_filename, buf);
		hi->have_disp_filename = 1;
	}
}

/* mime_hdr_encoding - Content-Transfer-Encoding value */
enum mime_encoding mime_hdr_encoding(const char *v, size_t len)
{
	static const struct { const char *name; enum mime_encoding enc; }
	encs[] = {
		{ "7bit", MIME_ENC_7BIT }, { "8bit", MIME_ENC_8BIT },
		{ "binary", MIME_ENC_BINARY },
		{ "quoted-printable", MIME_ENC_QP },
		{ "base64", MIME_ENC_BASE64 },
	};
	const char *t = v;
	size_t tn = len;

	trim(&t, &tn);
	for (size_t i = 0; i < sizeof(encs) / sizeof(encs[0]); i++)
		if (tn == strlen(encs[i].name) &&
		    strncasecmp(t, encs[i].name, tn) == 0)
			return encs[i].enc;
	return MIME_ENC_UNKNOWN;
}
