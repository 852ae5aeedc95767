/*
 * mime.c - streaming MIME parser: structure, header fields, body routing
 *
 *	struct mime_parser *mime_parser_new(const struct mime_limits *lim,
 *			const struct mime_callbacks *cb, void *ctx);
 *	int mime_parser_feed(struct mime_parser *p, const void *buf, size_t len);
 *	int mime_parser_finish(struct mime_parser *p);
 *	const struct mime_part *mime_parser_parts(const struct mime_parser *p,
 *			size_t *nparts);
 *	void mime_parser_reset(struct mime_parser *p);
 *	void mime_parser_free(struct mime_parser *p);
 *	void mime_limits_default(struct mime_limits *lim);
 *	const char *mime_encoding_name(enum mime_encoding enc);
 *
 * DESCRIPTION
 *	See mime.h for the contract. How it is done:
 *
 *	Headers are read with a small per-line state machine (a line is a
 *	header if it is "name:" with name bytes 0x21-0x7E, as RFC 5322 and
 *	Python's email package say; any other line ends the header block
 *	and is given back to the body, which is how a subpart without a
 *	blank line still sees its closing boundary). Only the unfolded field
 *	being built is kept, bounded by lim->max_header.
 *
 *	Bodies are scanned with memchr() for line ends. Only a line that
 *	starts with "-" while a multipart is open can be a boundary; such a
 *	line is checked in place, or, when a chunk ends inside it, copied to
 *	a buffer of at most MIME_CAND_MAX bytes until it is decided. The line
 *	end before a boundary belongs to the boundary (RFC 2046 5.1.1), so a
 *	line end is held back until the next line is known not to be one.
 *	Everything else reaches the leaf's decoder as a run of bytes straight
 *	from the caller's buffer. Boundaries of every open multipart are
 *	checked, innermost first, so a missing inner close boundary ends at
 *	the outer one.
 *
 *	A message/rfc822 (any message/ type but delivery-status) part has
 *	one child: the embedded message, whose own header fields are
 *	reported on that child, as for part 0. A message/ part sent with a
 *	base64 or quoted-printable encoding is decoded as a leaf instead, so
 *	its content is still scanned.
 *
 *	A multipart whose first boundary never comes (wrong or missing
 *	boundary line) becomes a leaf holding its preamble (up to
 *	MIME_PREAMBLE_MAX bytes), flagged MIME_F_UNTERMINATED, as Python's
 *	email package does, so the text is still scanned. Repeated boundary
 *	lines ("--b" right after "--b") make no empty part. To allow both,
 *	part_begin of a leaf or multipart is called when its first body
 *	byte or first boundary arrives (or at its end), never before its
 *	header fields; a message/rfc822 part is announced at once.
 *
 *	Body lines, boundaries and the leaf pipeline live in mime_body.c;
 *	the shared state in mime_parser.h.
 *
 *	Memory: the parts array (grown by doubling, at most lim->max_parts)
 *	and fixed buffers allocated by mime_parser_new(); nothing per
 *	message or per part.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "mime_parser.h"

static size_t feed_some(struct mime_parser *p, const uint8_t *b, size_t len);

/* mime_limits_default - the documented defaults */
void mime_limits_default(struct mime_limits *lim)
{
	lim->max_depth = MIME_DEPTH_DEFAULT;
	lim->max_parts = MIME_PARTS_DEFAULT;
	lim->max_header = MIME_HEADER_MAX_DEFAULT;
}

/* mime_encoding_name - name of a transfer encoding */
const char *mime_encoding_name(enum mime_encoding enc)
{
	switch (enc) {
	case MIME_ENC_7BIT: return "7bit";
	case MIME_ENC_8BIT: return "8bit";
	case MIME_ENC_BINARY: return "binary";
	case MIME_ENC_QP: return "quoted-printable";
	case MIME_ENC_BASE64: return "base64";
	default: return "unknown";
	}
}

/* stop - a resource limit ends the parse */
static void stop(struct mime_parser *p, int err)
{
	p->err = err;
	p->st = ST_STOPPED;
}

/* header_begin - start reading a header block for part cur */
static void header_begin(struct mime_parser *p)
{
	p->st = ST_HEADER;
	p->hl = HL_START;
	p->hlines = 0;
	p->nname = 0;
	p->nfield = 0;
	p->field_open = 0;
	p->field_cut = 0;
	p->field_eq = 0;
	/* Only the flags and enums after the buffers need zeroing: a buffer
	 * is read after it is written or under its have_ flag (the charset
	 * always: hence its empty string). Zeroing ~750 bytes was a fixed
	 * cost of every part. */
	struct mime_hdr_info *hi = &p->hi;
	size_t flags_at = offsetof(struct mime_hdr_info, boundary) +
			  sizeof(hi->boundary);

	hi->ctype[0] = hi->charset[0] = hi->ct_name[0] = 0;
	hi->disp_filename[0] = hi->boundary[0] = 0;
	memset((char *) hi + flags_at, 0, sizeof(*hi) - flags_at);
	hi->encoding = MIME_ENC_7BIT;
	p->leaf = 0;
}

/* mime_new_part - add a part under parent, starting at input offset off */
int mime_new_part(struct mime_parser *p, int parent, uint64_t off)
{
	struct mime_part *mp;

	if (p->nparts >= p->lim.max_parts) {
		if (parent >= 0)
			p->parts[parent].flags |= MIME_F_PARTS_LIMIT;
		p->parts[0].flags |= MIME_F_PARTS_LIMIT;
		stop(p, E2BIG);
		return -1;
	}
	if (p->nparts == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : MIME_PARTS_INITIAL;
		struct mime_part *np;

		if (ncap > p->lim.max_parts)
			ncap = p->lim.max_parts;
		np = realloc(p->parts, ncap * sizeof(*np));
		if (np == NULL) {
			stop(p, ENOMEM);
			return -1;
		}
		p->parts = np;
		p->cap = ncap;
	}
	mp = &p->parts[p->nparts];
	memset(mp, 0, sizeof(*mp));
	mp->id = (int) p->nparts;
	mp->parent = parent;
	mp->depth = parent >= 0 ? p->parts[parent].depth + 1 : 0;
	mp->offset = off;
	mp->detected_type = FT_UNKNOWN;
	strcpy(mp->content_type, parent >= 0 &&
	       strcmp(p->parts[parent].content_type, "multipart/digest") == 0 ?
	       "message/rfc822" : "text/plain");
	p->cur = mp->id;
	p->nparts++;
	p->announced = 0;
	p->fresh = 0;
	header_begin(p);
	return 0;
}

/* mime_end_part - part cur is complete; cur moves to its parent */
void mime_end_part(struct mime_parser *p)
{
	struct mime_part *mp = &p->parts[p->cur];

	if (p->st == ST_HEADER) {
		/* Input or an enclosing boundary cut the header block. */
		mp->flags |= MIME_F_TRUNCATED;
	} else if (p->pre_part == p->cur) {
		mime_preamble_to_leaf(p);
	}
	mime_announce(p);
	if (p->leaf)
		mime_leaf_end(p);
	if (mp->is_multipart && p->nlevels &&
	    p->levels[p->nlevels - 1].part == p->cur) {
		mp->flags |= MIME_F_UNTERMINATED;
		p->nlevels--;
	}
	if (p->cb.part_end)
		p->cb.part_end(p->ctx, mp);
	p->cur = mp->parent;
	p->announced = 1;	/* a parent was announced before its child */
	p->leaf = 0;
	p->st = ST_BODY;
	p->bol = 1;
	p->neol = 0;
	p->cand_mode = 0;
}

/* is_name - whether a field name is `want` (lower case ASCII) */
static int is_name(const char *f, size_t n, const char *want)
{
	return n == strlen(want) && (f[0] | 0x20) == want[0] &&
	       strncasecmp(f, want, n) == 0;
}

/* has_encoded_word - whether "=?" occurs (memchr: glibc's memmem is slow
 * on two-byte needles) */
static int has_encoded_word(const char *v, size_t n)
{
	const char *e = v + n, *q;

	while ((q = memchr(v, '=', (size_t) (e - v))) != NULL) {
		if (q + 1 < e && q[1] == '?')
			return 1;
		v = q + 1;
	}
	return 0;
}

/* finish_field - report the unfolded field and take its meaning */
static void finish_field(struct mime_parser *p)
{
	struct mime_part *mp = &p->parts[p->cur];
	/* the name holds no ':' (see name_end), so when the field has one
	 * right after p->nname bytes, that is the first; after a pushback
	 * p->nname no longer describes the field: look */
	char *colon = p->nname < p->nfield && p->field[p->nname] == ':' ?
		      p->field + p->nname : memchr(p->field, ':', p->nfield);
	size_t nn, vn;
	const char *v;
	int cut;

	p->field_open = 0;
	if (colon == NULL)
		return;
	nn = (size_t) (colon - p->field);
	v = colon + 1;
	vn = p->nfield - nn - 1;
	while (vn && (*v == ' ' || *v == '\t')) {
		v++;
		vn--;
	}
	while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t' ||
		      v[vn - 1] == '\r'))
		vn--;
	if (p->field_cut)
		mp->flags |= MIME_F_HEADER_TOOLONG;
	/* field_eq: no '=' was copied, so no "=?" to look for */
	if (p->cb.header && (!p->field_eq || !has_encoded_word(v, vn))) {
		/* No encoded word (most fields): the value as it is, uncopied. */
		p->cb.header(p->ctx, mp, p->field, nn, v, vn);
	} else if (p->cb.header) {
		size_t dn = rfc2047_decode(v, vn, p->scratch,
					   p->lim.max_header + 1, &cut);

		if (cut)
			mp->flags |= MIME_F_HEADER_TOOLONG;
		p->cb.header(p->ctx, mp, p->field, nn, p->scratch, dn);
	}
	if (is_name(p->field, nn, "content-type") && !p->hi.have_ctype)
		mime_hdr_content_type(v, vn, &p->hi);
	else if (is_name(p->field, nn, "content-transfer-encoding") &&
		 !p->hi.have_cte) {
		p->hi.have_cte = 1;
		p->hi.encoding = mime_hdr_encoding(v, vn);
	} else if (is_name(p->field, nn, "content-disposition") &&
		   !p->hi.have_disp)
		mime_hdr_disposition(v, vn, &p->hi);
}

/* headers_done - the header block of cur is complete: what is it */
static void headers_done(struct mime_parser *p, uint64_t body_off)
{
	struct mime_part *mp = &p->parts[p->cur];
	struct mime_hdr_info *hi = &p->hi;

	if (p->field_open)
		finish_field(p);
	if (hi->have_ctype)
		strcpy(mp->content_type, hi->ctype);
	strcpy(mp->charset, hi->charset);
	strcpy(mp->filename, hi->have_disp_filename ? hi->disp_filename :
	       hi->have_ct_name ? hi->ct_name : "");
	mp->encoding = hi->encoding;
	mp->disposition = hi->disposition;
	p->st = ST_BODY;
	p->bol = 1;
	p->neol = 0;
	p->cand_mode = 0;

	int depth_ok = (unsigned) mp->depth < p->lim.max_depth;

	if (memcmp(mp->content_type, "multipart/", 10) == 0) {
		if (!hi->have_boundary) {
			mp->flags |= MIME_F_NO_BOUNDARY;
		} else if (!depth_ok) {
			mp->flags |= MIME_F_DEPTH_EXCEEDED;
		} else {
			struct mime_level *lv = &p->levels[p->nlevels++];

			mp->is_multipart = 1;
			lv->part = mp->id;
			lv->started = 0;
			lv->blen = strlen(hi->boundary);
			memcpy(lv->boundary, hi->boundary, lv->blen + 1);
			/* announced at its first boundary: it may yet be a leaf */
			p->pre_part = mp->id;
			p->npre = 0;
			return;
		}
	} else if (memcmp(mp->content_type, "message/", 8) == 0 &&
		   strcmp(mp->content_type, "message/delivery-status") != 0 &&
		   mp->encoding != MIME_ENC_BASE64 &&
		   mp->encoding != MIME_ENC_QP) {
		if (depth_ok) {
			mp->is_message = 1;
			mime_announce(p);
			mime_new_part(p, mp->id, body_off);
			return;
		}
		mp->flags |= MIME_F_DEPTH_EXCEEDED;
	}
	mp->is_text = memcmp(mp->content_type, "text/", 5) == 0;
	/* announced with its first byte or its end: see boundary() */
	mime_leaf_begin(p, mp);
}

/* pushback - a line that is not a header goes to the body */
static void pushback(struct mime_parser *p)
{
	char line[MIME_HDR_NAME_MAX];
	size_t n = p->nname, i = 0;
	uint64_t save = p->base;

	memcpy(line, p->name, n);
	p->nname = 0;
	int first = p->hlines == 0;

	headers_done(p, p->line_off);
	p->fresh = first && p->leaf;
	p->base = p->line_off;
	while (i < n && p->st != ST_STOPPED)
		i += feed_some(p, (const uint8_t *) line + i, n - i);
	p->base = save;
}

/* field_add - append to the field being unfolded, bounded */
static void field_add(struct mime_parser *p, const void *s, size_t n)
{
	size_t room = p->lim.max_header - p->nfield;

	if (n > room) {
		n = room;
		p->field_cut = 1;
	}
	/* a line's rest after the 16-byte steps: short, mostly empty */
	for (size_t k = 0; k < n && !p->field_eq; k++)
		p->field_eq = ((const char *) s)[k] == '=';
	memcpy(p->field + p->nfield, s, n);
	p->nfield += n;
}

/*
 * name_end - index of the first byte from b[k] on that cannot continue a
 * field name (CTL, space, 8-bit or ':'), at most lim; b holds len bytes
 */
static size_t name_end(const uint8_t *b, size_t k, size_t lim, size_t len)
{
#ifdef __SSE2__
	/* 16 at a time while the input lasts; lim only clamps the result */
	while (k < lim && k + 16 <= len) {
		__m128i v = _mm_loadu_si128((const __m128i *) (b + k));
		__m128i ok = _mm_andnot_si128(
			_mm_cmpeq_epi8(v, _mm_set1_epi8(':')),
			_mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x20)),
				      _mm_cmplt_epi8(v, _mm_set1_epi8(0x7F))));
		unsigned m = ~(unsigned) _mm_movemask_epi8(ok) & 0xFFFFu;

		if (m != 0) {
			k += (size_t) __builtin_ctz(m);
			return k < lim ? k : lim;
		}
		k += 16;
	}
	if (k >= lim)
		return lim;
#else
	(void) len;
#endif
	while (k < lim && b[k] > 0x20 && b[k] < 0x7F && b[k] != ':')
		k++;
	return k;
}

/*
 * name_copy - copy a field name of n bytes to the start of the field
 * buffer: one 16-byte step for a name that short (the name array and
 * the field buffer, above MIME_HDR_NAME_MAX bytes, both have 16), which
 * spares a memcpy() call per header line
 */
static void name_copy(char *field, const char *name, size_t n)
{
#if defined(__SSE2__) && MIME_HDR_NAME_MAX >= 16
	if (n <= 16) {
		_mm_storeu_si128((__m128i *) field,
				 _mm_loadu_si128((const __m128i *) name));
		return;
	}
#endif
	memcpy(field, name, n);
}

/* header_feed - header bytes; returns bytes consumed */
static size_t header_feed(struct mime_parser *p, const uint8_t *b,
			  size_t len)
{
	size_t i = 0;

	while (i < len && p->st == ST_HEADER) {
		uint8_t c = b[i];

		switch (p->hl) {
		case HL_START:
			if (c == '\n') {
				i++;
				headers_done(p, p->base + i);
				return i;
			}
			if (c == '\r') {
				i++;
				p->hl = HL_CR;
				break;
			}
			if (c == ' ' || c == '\t') {
				p->hl = p->field_open ? HL_VALUE : HL_SKIP;
				break;
			}
			if (p->field_open)
				finish_field(p);
			p->hl = HL_NAME;
			p->nname = 0;
			p->line_off = p->base + i;
			break;
		case HL_CR:
			if (c == '\n')
				i++;
			headers_done(p, p->base + i);
			return i;
		case HL_NAME:
			if (c == ':') {
				i++;
				p->nfield = 0;
				p->field_cut = 0;
				p->field_eq = 0;
				p->field_open = 1;
				/* the name and ':' always fit: max_header is
				 * above MIME_HDR_NAME_MAX (mime_parser_new) */
				name_copy(p->field, p->name, p->nname);
				p->field[p->nname] = ':';
				p->nfield = p->nname + 1;
				p->hl = HL_VALUE;
			} else if (c > 0x20 && c < 0x7F &&
				   p->nname < MIME_HDR_NAME_MAX) {
				/* the rest of the name in one go (local index: a
				 * store through p->name could alias p->nname) */
				size_t k = i + 1, lim = len;

				if (lim - i > MIME_HDR_NAME_MAX - p->nname)
					lim = i + MIME_HDR_NAME_MAX - p->nname;
				k = name_end(b, k, lim, len);
#ifdef __SSE2__
				/* one 16-byte step when input and name have
				 * room for it (most names are that short) */
				if (k - i <= 16 && len - i >= 16 &&
				    p->nname + 16 <= MIME_HDR_NAME_MAX)
					_mm_storeu_si128((__m128i *)
						(p->name + p->nname),
						_mm_loadu_si128((const __m128i *)
								(b + i)));
				else
#endif
					memcpy(p->name + p->nname, b + i, k - i);
				p->nname += k - i;
				i = k;
			} else if (c == ' ' && p->nname == 4 &&
				   memcmp(p->name, "From", 4) == 0) {
				/* mbox "From " envelope line */
				i++;
				p->hl = HL_SKIP;
			} else {
				pushback(p);
				return i;
			}
			break;
		case HL_VALUE: {
#ifdef __SSE2__
			/*
			 * A value line is short: copy 16 bytes at a time while
			 * looking for its LF rather than call memchr() and
			 * memcpy() for it (whole steps only, with 16 bytes of
			 * input left and of room in the field). An '=' seen
			 * on the way (even past the LF) sets field_eq, which
			 * spares finish_field() its search for "=?".
			 */
			unsigned eqs = 0;

			while (len - i >= 16 &&
			       p->lim.max_header - p->nfield >= 16) {
				__m128i v = _mm_loadu_si128(
					(const __m128i *) (b + i));
				unsigned m = (unsigned) _mm_movemask_epi8(
					_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));

				_mm_storeu_si128((__m128i *) (p->field +
							      p->nfield), v);
				eqs |= (unsigned) _mm_movemask_epi8(
					_mm_cmpeq_epi8(v, _mm_set1_epi8('=')));
				if (m != 0) {
					unsigned k = (unsigned) __builtin_ctz(m);

					p->nfield += k;
					i += k;
					break;
				}
				p->nfield += 16;
				i += 16;
			}
			if (eqs != 0)
				p->field_eq = 1;
#endif
			const uint8_t *nl = i == len ? NULL : b[i] == '\n' ?
				b + i : memchr(b + i, '\n', len - i);
			size_t n = nl ? (size_t) (nl - b) - i : len - i;

			field_add(p, b + i, n);
			i += n;
			if (nl) {
				i++;
				if (p->nfield && p->field[p->nfield - 1] == '\r')
					p->nfield--;
				p->hl = HL_START;
				p->hlines++;
			}
			break;
		}
		case HL_SKIP: {
			const uint8_t *nl = memchr(b + i, '\n', len - i);

			if (nl == NULL)
				return len;
			i = (size_t) (nl - b) + 1;
			p->hl = HL_START;
			p->hlines++;
			break;
		}
		}
	}
	return i;
}

/* feed_some - parse from b in the current state; bytes consumed */
static size_t feed_some(struct mime_parser *p, const uint8_t *b, size_t len)
{
	switch (p->st) {
	case ST_HEADER:
		return header_feed(p, b, len);
	case ST_BODY:
		return mime_body_feed(p, b, len);
	default:
		return len;
	}
}

/* mime_parser_feed - parse the next chunk of the message */
int mime_parser_feed(struct mime_parser *p, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	size_t i = 0;

	while (i < len && p->st != ST_STOPPED) {
		size_t n;

		p->base = p->off;
		n = feed_some(p, b + i, len - i);
		i += n;
		p->off += n;
	}
	p->off += len - i;
	if (p->err) {
		errno = p->err;
		return -1;
	}
	return 0;
}

/* mime_parser_finish - the input ended: close every open part */
int mime_parser_finish(struct mime_parser *p)
{
	p->base = p->off;
	if (p->st == ST_HEADER) {
		int id = p->cur;

		if (p->hl != HL_START)
			p->parts[id].flags |= MIME_F_TRUNCATED;
		if (p->hl == HL_NAME)
			pushback(p);	/* a last line without colon is body */
		else
			headers_done(p, p->off);
	}
	while (p->st == ST_HEADER && p->cur >= 0)
		headers_done(p, p->off);	/* an empty embedded message */
	if (p->st == ST_BODY && p->cand_mode) {
		int close, k = mime_match_line(p, p->cand, p->ncand, &close);

		p->cand_mode = 0;
		if (k >= 0) {
			mime_boundary_line(p, k, close, p->off);
			while (p->st == ST_HEADER && p->cur >= 0)
				headers_done(p, p->off);
		} else {
			mime_flush_eol(p);
			mime_body_emit(p, (const uint8_t *) p->cand, p->ncand);
		}
	}
	if (p->st == ST_BODY && (!p->bol || p->pre_part == p->cur))
		mime_flush_eol(p);
	p->neol = 0;
	if (p->st == ST_STOPPED) {
		p->st = ST_BODY;
		p->leaf = p->leaf && p->cur >= 0;
	}
	while (p->cur >= 0)
		mime_end_part(p);
	if (p->err) {
		errno = p->err;
		return -1;
	}
	return 0;
}

/* mime_parser_parts - the parts seen so far */
const struct mime_part *mime_parser_parts(const struct mime_parser *p,
					  size_t *nparts)
{
	*nparts = p->nparts;
	return p->parts;
}

/* mime_parser_reset - ready for the next message, keeping the memory */
void mime_parser_reset(struct mime_parser *p)
{
	p->nparts = 0;
	p->nlevels = 0;
	p->off = 0;
	p->base = 0;
	p->err = 0;
	p->cur = -1;
	p->neol = 0;
	p->cand_mode = 0;
	p->bol = 1;
	p->pre_part = -1;
	p->npre = 0;
	if (mime_new_part(p, -1, 0) < 0)
		return;
}

/* mime_parser_new - a parser with its fixed buffers */
struct mime_parser *mime_parser_new(const struct mime_limits *lim,
				    const struct mime_callbacks *cb, void *ctx)
{
	struct mime_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (lim)
		p->lim = *lim;
	else
		mime_limits_default(&p->lim);
	if (p->lim.max_parts == 0)
		p->lim.max_parts = 1;
	if (p->lim.max_header < MIME_HDR_NAME_MAX + 1)
		p->lim.max_header = MIME_HDR_NAME_MAX + 1;
	if (cb)
		p->cb = *cb;
	p->ctx = ctx;
	p->field = malloc(p->lim.max_header + 1);
	p->scratch = malloc(p->lim.max_header + 1);
	p->levels = calloc(p->lim.max_depth + 1, sizeof(*p->levels));
	if (p->field == NULL || p->scratch == NULL || p->levels == NULL) {
		mime_parser_free(p);
		errno = ENOMEM;
		return NULL;
	}
	mime_parser_reset(p);
	if (p->err) {
		mime_parser_free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

/* mime_parser_free - release the parser */
void mime_parser_free(struct mime_parser *p)
{
	if (p == NULL)
		return;
	free(p->parts);
	free(p->levels);
	free(p->field);
	free(p->scratch);
	free(p);
}
