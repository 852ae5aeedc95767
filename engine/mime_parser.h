/*
 * mime_parser.h - the parser state shared by mime.c and mime_body.c
 *
 * DESCRIPTION
 *	mime.c owns the life cycle, header blocks and the part tree;
 *	mime_body.c owns body lines, boundary detection and the leaf
 *	pipeline (transfer decoding, charset conversion, URLs, file type
 *	head). Nothing here is visible outside the MIME module.
 */
#ifndef MX_MIME_PARSER_H
#define MX_MIME_PARSER_H

#include "mime_int.h"

#define MIME_HDR_NAME_MAX	256	/* longer "names" make a body line */
#define MIME_CAND_MAX		(2 + MIME_HDR_BOUNDARY_STORE + 2 + 128)
#define MIME_SLICE		16384	/* encoded bytes decoded per step */
#define MIME_PARTS_INITIAL	16
#define MIME_PREAMBLE_MAX	4096	/* preamble kept in case it is the body */

enum mime_state { ST_HEADER, ST_BODY, ST_STOPPED };
enum mime_hline { HL_START, HL_NAME, HL_VALUE, HL_SKIP, HL_CR };

struct mime_level {
	int part;		/* the multipart part */
	int started;		/* first boundary seen */
	size_t blen;
	char boundary[MIME_HDR_BOUNDARY_STORE + 1];
};

struct mime_parser {
	struct mime_limits lim;
	struct mime_callbacks cb;
	void *ctx;
	struct mime_part *parts;
	size_t nparts, cap;
	struct mime_level *levels;
	unsigned nlevels;
	uint64_t off;		/* input bytes consumed */
	uint64_t base;		/* offset of the slice being parsed */
	int cur;		/* part being read; -1 after the last */
	int leaf;		/* body bytes go to cur's decoder */
	int err;		/* sticky errno once the parse stopped */
	int announced;		/* part_begin was called for cur */
	int fresh;		/* cur: no header, first line was not one */
	enum mime_state st;

	/* header block */
	enum mime_hline hl;
	unsigned hlines;
	uint64_t line_off;
	char name[MIME_HDR_NAME_MAX];
	size_t nname;
	char *field;		/* "Name:value", lim.max_header + 1 */
	size_t nfield;
	int field_open, field_cut;
	int field_eq;		/* the value may hold '=' (an encoded word) */
	char *scratch;		/* decoded value */
	struct mime_hdr_info hi;

	/* body lines */
	int bol;
	uint8_t eol[2];
	size_t neol;
	int cand_mode;
	char cand[MIME_CAND_MAX];
	size_t ncand;

	/* leaf pipeline */
	struct decode_b64 b64;
	struct decode_qp qp;
	struct charset_conv conv;
	struct url_scan url;
	uint8_t head[FILETYPE_HEAD_MAX];
	int pre_part;		/* multipart still before its first boundary */
	size_t npre;
	uint8_t pre[MIME_PREAMBLE_MAX];
	size_t nhead;
	uint8_t dbuf[DECODE_QP_OUT_MAX(MIME_SLICE)];
	uint8_t tbuf[CHARSET_OUT_MAX(MIME_SLICE)];
};

/* mime.c: part structure */
int mime_new_part(struct mime_parser *p, int parent, uint64_t off);
void mime_end_part(struct mime_parser *p);

/* mime_body.c: body lines, boundaries and the leaf pipeline */
void mime_announce(struct mime_parser *p);
void mime_body_emit(struct mime_parser *p, const uint8_t *d, size_t n);
void mime_flush_eol(struct mime_parser *p);
void mime_leaf_begin(struct mime_parser *p, struct mime_part *mp);
void mime_leaf_end(struct mime_parser *p);
void mime_preamble_to_leaf(struct mime_parser *p);
int mime_match_line(const struct mime_parser *p, const char *s, size_t n,
		    int *close);
void mime_boundary_line(struct mime_parser *p, int k, int close,
			uint64_t next_off);
size_t mime_body_feed(struct mime_parser *p, const uint8_t *b, size_t len);

#endif
