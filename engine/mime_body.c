/*
 * mime_body.c - body of a part: boundary lines and the leaf pipeline
 *
 *	size_t mime_body_feed(struct mime_parser *p, const uint8_t *b,
 *			size_t len);
 *	void mime_boundary_line(struct mime_parser *p, int k, int close,
 *			uint64_t next_off);
 *	int mime_match_line(const struct mime_parser *p, const char *s,
 *			size_t n, int *close);
 *	void mime_body_emit(struct mime_parser *p, const uint8_t *d, size_t n);
 *	void mime_flush_eol(struct mime_parser *p);
 *	void mime_leaf_begin(struct mime_parser *p, struct mime_part *mp);
 *	void mime_leaf_end(struct mime_parser *p);
 *	void mime_preamble_to_leaf(struct mime_parser *p);
 *	void mime_announce(struct mime_parser *p);
 *
 * DESCRIPTION
 *	Module-private half of the MIME parser (see mime.c for the design).
 *	mime_body_feed() routes body bytes: runs of data lines go to the
 *	current leaf (or are dropped in a preamble or epilogue) straight from
 *	the caller's buffer; a line that may be a boundary is decided in
 *	place or held in p->cand. Leaf bytes are transfer-decoded in slices of
 *	MIME_SLICE, handed to part_data, kept for file typing (first
 *	FILETYPE_HEAD_MAX bytes) and, for text, converted to UTF-8 for
 *	part_text and the URL scanner.
 */
#include <string.h>

#include "mime_parser.h"

/* mime_announce - part_begin for cur, once */
void mime_announce(struct mime_parser *p)
{
	if (!p->announced) {
		p->announced = 1;
		if (p->cb.part_begin)
			p->cb.part_begin(p->ctx, &p->parts[p->cur]);
	}
}

/* url_emit - a URL found in the current leaf */
static void url_emit(void *ctx, const char *url, size_t len, int cut)
{
	struct mime_parser *p = ctx;
	struct mime_part *mp = &p->parts[p->cur];

	if (cut)
		mp->flags |= MIME_F_URL_TOOLONG;
	if (p->cb.url)
		p->cb.url(p->ctx, mp, url, len);
}

/* deliver - decoded bytes of the current leaf to the callbacks */
static void deliver(struct mime_parser *p, const uint8_t *d, size_t n)
{
	struct mime_part *mp = &p->parts[p->cur];

	if (n == 0)
		return;
	mp->decoded_size += n;
	if (p->nhead < FILETYPE_HEAD_MAX) {
		size_t k = FILETYPE_HEAD_MAX - p->nhead;

		if (k > n)
			k = n;
		memcpy(p->head + p->nhead, d, k);
		p->nhead += k;
	}
	if (p->cb.part_data)
		p->cb.part_data(p->ctx, mp, d, n);
	if (!mp->is_text)
		return;
	/* Valid UTF-8 is handed on as it is: same pointer, same length. */
	if (p->conv.cs == CHARSET_UNKNOWN || (p->conv.cs == CHARSET_UTF8 &&
	    p->conv.npend == 0 && charset_utf8_valid(d, n) == n)) {
		if (p->cb.part_text)
			p->cb.part_text(p->ctx, mp, d, n);
		url_scan_run(&p->url, d, n, url_emit, p);
		return;
	}
	for (size_t o = 0; o < n; o += MIME_SLICE) {
		size_t k = n - o < MIME_SLICE ? n - o : MIME_SLICE, tn;
		const uint8_t *t = charset_run(&p->conv, d + o, k, p->tbuf, &tn);

		if (tn && p->cb.part_text)
			p->cb.part_text(p->ctx, mp, t, tn);
		url_scan_run(&p->url, t, tn, url_emit, p);
	}
}

/* leaf_data - encoded body bytes of the current leaf */
static void leaf_data(struct mime_parser *p, const uint8_t *d, size_t n)
{
	struct mime_part *mp = &p->parts[p->cur];

	mime_announce(p);
	mp->raw_size += n;
	switch (mp->encoding) {
	case MIME_ENC_BASE64:
		for (size_t o = 0; o < n; o += MIME_SLICE) {
			size_t k = n - o < MIME_SLICE ? n - o : MIME_SLICE;

			deliver(p, p->dbuf, decode_b64_run(&p->b64, d + o, k,
							   p->dbuf));
		}
		break;
	case MIME_ENC_QP:
		for (size_t o = 0; o < n; o += MIME_SLICE) {
			size_t k = n - o < MIME_SLICE ? n - o : MIME_SLICE;

			deliver(p, p->dbuf, decode_qp_run(&p->qp, d + o, k,
							  p->dbuf));
		}
		break;
	default:
		deliver(p, d, n);
		break;
	}
}

/* mime_body_emit - body bytes: to the leaf, or dropped (preamble, epilogue) */
void mime_body_emit(struct mime_parser *p, const uint8_t *d, size_t n)
{
	if (p->leaf && n) {
		leaf_data(p, d, n);
	} else if (p->pre_part >= 0 && p->pre_part == p->cur) {
		size_t k = MIME_PREAMBLE_MAX - p->npre;

		if (k > n)
			k = n;
		memcpy(p->pre + p->npre, d, k);
		p->npre += k;
		if (k < n)
			p->parts[p->cur].flags |= MIME_F_TRUNCATED;
	}
}

/* mime_flush_eol - a held line end turned out to be data */
void mime_flush_eol(struct mime_parser *p)
{
	if (p->neol) {
		size_t n = p->neol;

		p->neol = 0;
		mime_body_emit(p, p->eol, n);
	}
}

/* mime_leaf_end - flush the decoders of the current leaf */
void mime_leaf_end(struct mime_parser *p)
{
	struct mime_part *mp = &p->parts[p->cur];

	if (mp->encoding == MIME_ENC_BASE64) {
		deliver(p, p->dbuf, decode_b64_finish(&p->b64, p->dbuf));
		if (p->b64.bad)
			mp->flags |= MIME_F_BAD_BASE64;
	} else if (mp->encoding == MIME_ENC_QP) {
		deliver(p, p->dbuf, decode_qp_finish(&p->qp, p->dbuf));
		if (p->qp.bad)
			mp->flags |= MIME_F_BAD_QP;
	}
	if (mp->is_text) {
		size_t tn = charset_finish(&p->conv, p->tbuf);

		if (tn && p->cb.part_text)
			p->cb.part_text(p->ctx, mp, p->tbuf, tn);
		url_scan_run(&p->url, p->tbuf, tn, url_emit, p);
		url_scan_finish(&p->url, url_emit, p);
	}
	mp->detected_type = filetype_detect(p->head, p->nhead);
	p->leaf = 0;
}

/* mime_leaf_begin - set up the decoders of a leaf */
void mime_leaf_begin(struct mime_parser *p, struct mime_part *mp)
{
	decode_b64_init(&p->b64);
	decode_qp_init(&p->qp);
	p->nhead = 0;
	p->leaf = 1;
	if (mp->is_text) {
		int cs = charset_lookup(mp->charset);

		if (cs == CHARSET_UNKNOWN)
			mp->flags |= MIME_F_BAD_CHARSET;
		charset_init(&p->conv, cs);
		url_scan_init(&p->url, strcmp(mp->content_type,
					      "text/html") == 0);
	}
}

/*
 * mime_preamble_to_leaf - a multipart ended before its first boundary: like
 * Python's email package (and so that its bytes are scanned), it becomes
 * a leaf whose body is the text read so far
 */
void mime_preamble_to_leaf(struct mime_parser *p)
{
	struct mime_part *mp = &p->parts[p->cur];

	p->pre_part = -1;
	mp->is_multipart = 0;
	mp->flags |= MIME_F_UNTERMINATED;
	if (p->nlevels && p->levels[p->nlevels - 1].part == p->cur)
		p->nlevels--;
	mime_leaf_begin(p, mp);
	mime_announce(p);
	leaf_data(p, p->pre, p->npre);
	p->npre = 0;
}

/* mime_match_line - which open boundary a whole line is; -1 if none */
int mime_match_line(const struct mime_parser *p, const char *s, size_t n,
		      int *close)
{
	if (n && s[n - 1] == '\r')
		n--;
	if (n < 3 || s[0] != '-' || s[1] != '-')
		return -1;
	for (int k = (int) p->nlevels - 1; k >= 0; k--) {
		const struct mime_level *lv = &p->levels[k];
		size_t j = 2 + lv->blen;

		if (n < j || memcmp(s + 2, lv->boundary, lv->blen) != 0)
			continue;
		*close = 0;
		if (n >= j + 2 && s[j] == '-' && s[j + 1] == '-') {
			*close = 1;
			j += 2;
		}
		while (j < n && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j == n)
			return k;
	}
	return -1;
}

/* cand_possible - whether a line start may still become a boundary */
static int cand_possible(const struct mime_parser *p, const char *s,
			 size_t n)
{
	for (int k = (int) p->nlevels - 1; k >= 0; k--) {
		const struct mime_level *lv = &p->levels[k];
		size_t j = 2 + lv->blen, m = n < j ? n : j, i;

		if (m >= 1 && s[0] != '-')
			continue;
		if (m >= 2 && s[1] != '-')
			continue;
		if (m > 2 && memcmp(s + 2, lv->boundary, m - 2) != 0)
			continue;
		if (n <= j)
			return 1;
		i = j;
		if (s[i] == '-') {
			if (n == i + 1)
				return 1;
			if (s[i + 1] != '-')
				continue;
			i += 2;
		}
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n || (i == n - 1 && s[i] == '\r'))
			return 1;
	}
	return 0;
}

/* mime_boundary_line - a boundary line of level k was read */
void mime_boundary_line(struct mime_parser *p, int k, int close,
		     uint64_t next_off)
{
	struct mime_level *lv = &p->levels[k];
	int mp = lv->part;

	/* A preamble that turns out to be a body keeps its last line end. */
	if (p->pre_part >= 0 && p->pre_part == p->cur)
		mime_flush_eol(p);
	p->neol = 0;
	/*
	 * "--b" right after "--b": no part in between (Python's email
	 * package reads repeated boundaries as one). The empty part was
	 * never announced, so it can be taken back.
	 */
	if (!close && p->fresh && !p->announced && p->cur >= 0 &&
	    p->parts[p->cur].parent == mp && p->cur == (int) p->nparts - 1 &&
	    p->parts[p->cur].raw_size == 0) {
		p->nparts--;
		p->cur = mp;
		p->leaf = 0;
		p->announced = 1;
	}
	while (p->cur != mp && p->cur >= 0)
		mime_end_part(p);
	p->nlevels = (unsigned) k + 1;
	if (close) {
		if (p->pre_part != mp)
			p->nlevels = (unsigned) k;
		mime_end_part(p);
		return;
	}
	if (p->pre_part == mp) {
		p->pre_part = -1;
		mime_announce(p);
	}
	lv->started = 1;
	mime_new_part(p, mp, next_off);
}

/*
 * next_dash_line - the first line end in b[i..len) that is followed by
 * '-' or by the end of the buffer (the next line may be a boundary), or
 * NULL when there is none. A line end before any other byte only
 * continues the run, so the search is for '-', not for every line end:
 * base64 text has no '-' at all, and most text lines do not start with
 * one (one memchr per line was a visible cost on large messages).
 */
static const uint8_t *next_dash_line(const uint8_t *b, size_t i, size_t len)
{
	const uint8_t *q = b + i + 1, *e = b + len;

	while (q < e && (q = memchr(q, '-', (size_t) (e - q))) != NULL) {
		if (q[-1] == '\n')
			return q - 1;
		q++;
	}
	if (len > i && b[len - 1] == '\n')
		return b + len - 1;
	return NULL;
}

/* mime_body_feed - body bytes; returns bytes consumed */
size_t mime_body_feed(struct mime_parser *p, const uint8_t *b, size_t len)
{
	size_t i = 0;

	if (p->nlevels == 0) {
		/* No boundary can end this body: take everything. */
		mime_flush_eol(p);
		mime_body_emit(p, b, len);
		p->bol = 0;
		return len;
	}
	while (i < len) {
		if (p->cand_mode) {
			uint8_t c = b[i++];
			int close, k;

			if (c == '\n') {
				k = mime_match_line(p, p->cand, p->ncand, &close);
				if (k >= 0) {
					mime_boundary_line(p, k, close, p->base + i);
					return i;
				}
				/* Not a boundary: held bytes are data. */
				mime_flush_eol(p);
				size_t n = p->ncand;

				p->eol[0] = '\n';
				p->neol = 1;
				if (n && p->cand[n - 1] == '\r') {
					n--;
					p->eol[0] = '\r';
					p->eol[1] = '\n';
					p->neol = 2;
				}
				p->cand_mode = 0;
				p->bol = 1;
				mime_body_emit(p, (const uint8_t *) p->cand, n);
				continue;
			}
			p->cand[p->ncand++] = (char) c;
			if (p->ncand < MIME_CAND_MAX &&
			    cand_possible(p, p->cand, p->ncand))
				continue;
			mime_flush_eol(p);
			p->cand_mode = 0;
			p->bol = 0;
			if (c == '\r') {
				/* may be the start of a line end: hold it */
				mime_body_emit(p, (const uint8_t *) p->cand,
					  p->ncand - 1);
				p->eol[0] = '\r';
				p->neol = 1;
			} else {
				mime_body_emit(p, (const uint8_t *) p->cand, p->ncand);
			}
			continue;
		}
		if (p->bol) {
			if (b[i] == '-') {
				/* Decide in place when the whole line is here. */
				const uint8_t *nl = memchr(b + i, '\n', len - i);

				if (nl) {
					size_t n = (size_t) (nl - b) - i;
					int close, k = mime_match_line(p,
						(const char *) b + i, n, &close);

					if (k >= 0) {
						i += n + 1;
						mime_boundary_line(p, k, close, p->base + i);
						return i;
					}
				} else if (len - i < MIME_CAND_MAX &&
					   cand_possible(p, (const char *) b + i,
							 len - i)) {
					memcpy(p->cand, b + i, len - i);
					p->ncand = len - i;
					p->cand_mode = 1;
					p->bol = 0;
					return len;
				}
			}
			mime_flush_eol(p);
			p->bol = 0;
		} else if (p->neol) {
			/* A '\r' held at the end of the last chunk. */
			if (b[i] == '\n') {
				p->eol[1] = '\n';
				p->neol = 2;
				p->bol = 1;
				i++;
				continue;
			}
			mime_flush_eol(p);
		}
		/* A run of data lines, up to a line that may be a boundary. */
		size_t run = i;

		for (;;) {
			const uint8_t *nl = next_dash_line(b, i, len);

			if (nl == NULL) {
				size_t e = len;

				if (e > run && b[e - 1] == '\r') {
					e--;
					p->eol[0] = '\r';
					p->neol = 1;
				}
				mime_body_emit(p, b + run, e - run);
				return len;
			}
			size_t j = (size_t) (nl - b) + 1;

			if (j == len || b[j] == '-') {
				size_t e = j - 1;

				p->eol[0] = '\n';
				p->neol = 1;
				if (e > run && b[e - 1] == '\r') {
					e--;
					p->eol[0] = '\r';
					p->eol[1] = '\n';
					p->neol = 2;
				}
				mime_body_emit(p, b + run, e - run);
				p->bol = 1;
				i = j;
				break;
			}
			i = j;
		}
	}
	return i;
}
