/*
 * mime.h - streaming MIME parser (RFC 5322, RFC 2045-2049, 2047, 2231)
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
 *
 * DESCRIPTION
 *	The parser takes a message in arbitrary chunks, exactly as the network
 *	delivers it, and reports its structure through callbacks as the bytes
 *	arrive. Feeding a message one byte at a time gives the same parts, the
 *	same headers, the same URLs and the same decoded bytes (possibly split
 *	into different callback invocations) as feeding it whole.
 *
 *	The input is the message as it will be stored: CRLF or bare LF line
 *	ends, no SMTP dot-stuffing.
 *
 *	Parts are numbered in pre-order: part 0 is the message itself; a
 *	message/rfc822 part holds the embedded message's headers and has one
 *	child for its body. Structure deeper than lim->max_depth is reported
 *	(MIME_F_DEPTH_EXCEEDED on the part where it stopped) and its content
 *	is treated as an opaque leaf, never followed.
 *
 *	Callbacks (any may be NULL):
 *	header		one header field of a part, unfolded; the value has
 *			RFC 2047 encoded words decoded to UTF-8.
 *	part_begin	a part's header is complete (type, charset, filename,
 *			encoding known).
 *	part_data	transfer-decoded bytes of a leaf part (base64 or
 *			quoted-printable undone; charset untouched).
 *	part_text	for text leaf parts only: the same bytes converted to
 *			UTF-8 from the part's charset (identical pointer and
 *			length when no conversion is needed).
 *	url		a URL found in a text or HTML leaf part (absolute
 *			http/https/ftp/www. form), whole, even when it spans
 *			chunks (bounded by MIME_URL_MAX).
 *	part_end	the part is complete: sizes, detected_type and flags
 *			are final.
 *
 *	mime_parser_parts() returns every part seen so far (all of them after
 *	mime_parser_finish()). The array is owned by the parser and valid until
 *	the next feed, reset or free.
 *
 * DIAGNOSTICS
 *	mime_parser_feed() and mime_parser_finish() return 0, or -1 with errno
 *	set when a resource limit (lim->max_parts, memory) stopped the parse.
 *	Malformed input is never an error: it is parsed as well as it can be
 *	and flagged on the part (MIME_F_*).
 */
#ifndef MX_MIME_H
#define MX_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "filetype.h"

#define MIME_DEPTH_DEFAULT	16	/* nesting depth followed */
#define MIME_PARTS_DEFAULT	1000	/* parts per message */
#define MIME_HEADER_MAX_DEFAULT	(64 * 1024) /* bytes in one unfolded field */
#define MIME_CT_MAX		128	/* "type/subtype" */
#define MIME_CHARSET_MAX	40
#define MIME_FILENAME_MAX	256	/* decoded UTF-8, longer is cut */
#define MIME_BOUNDARY_MAX	70	/* RFC 2046 5.1.1 */
#define MIME_URL_MAX		2048

enum mime_encoding {
	MIME_ENC_7BIT = 0,
	MIME_ENC_8BIT,
	MIME_ENC_BINARY,
	MIME_ENC_QP,
	MIME_ENC_BASE64,
	MIME_ENC_UNKNOWN	/* treated as 8bit */
};

enum mime_disposition {
	MIME_DISP_NONE = 0,
	MIME_DISP_INLINE,
	MIME_DISP_ATTACHMENT
};

/* Part flags: what was odd about a part. */
#define MIME_F_DEPTH_EXCEEDED	0x0001	/* nesting deeper than the limit */
#define MIME_F_NO_BOUNDARY	0x0002	/* multipart without boundary param */
#define MIME_F_UNTERMINATED	0x0004	/* closing boundary never seen */
#define MIME_F_BAD_BASE64	0x0008	/* junk skipped or bad padding */
#define MIME_F_BAD_QP		0x0010	/* invalid =XX sequences */
#define MIME_F_HEADER_TOOLONG	0x0020	/* a header field was cut */
#define MIME_F_TRUNCATED	0x0040	/* input ended inside headers/part */
#define MIME_F_BAD_CHARSET	0x0080	/* unknown charset, passed as-is */
#define MIME_F_PARTS_LIMIT	0x0100	/* max_parts reached below here */
#define MIME_F_URL_TOOLONG	0x0200	/* a URL was cut at MIME_URL_MAX */

struct mime_part {
	int id;			/* pre-order index, 0 = the message */
	int parent;		/* -1 for part 0 */
	int depth;		/* 0 for part 0 */
	char content_type[MIME_CT_MAX];	/* lower case; default text/plain
					 * (message/rfc822 in digest) */
	char charset[MIME_CHARSET_MAX];	/* lower case, "" if none */
	char filename[MIME_FILENAME_MAX]; /* disposition filename, else
					 * Content-Type name; "" if none */
	enum mime_encoding encoding;
	enum mime_disposition disposition;
	unsigned is_multipart:1;
	unsigned is_message:1;	/* message/rfc822 */
	unsigned is_text:1;	/* text/... leaf: body scope */
	uint64_t offset;	/* byte offset of the part's header in input */
	uint64_t raw_size;	/* encoded body bytes */
	uint64_t decoded_size;	/* bytes given to part_data */
	enum filetype detected_type;	/* final at part_end */
	unsigned flags;		/* MIME_F_* */
};

struct mime_limits {
	unsigned max_depth;	/* MIME_DEPTH_DEFAULT */
	unsigned max_parts;	/* MIME_PARTS_DEFAULT */
	size_t max_header;	/* MIME_HEADER_MAX_DEFAULT */
};

struct mime_callbacks {
	void (*header)(void *ctx, const struct mime_part *part,
		       const char *name, size_t name_len,
		       const char *value, size_t value_len);
	void (*part_begin)(void *ctx, const struct mime_part *part);
	void (*part_data)(void *ctx, const struct mime_part *part,
			  const uint8_t *data, size_t len);
	void (*part_text)(void *ctx, const struct mime_part *part,
			  const uint8_t *utf8, size_t len);
	void (*url)(void *ctx, const struct mime_part *part,
		    const char *url, size_t len);
	void (*part_end)(void *ctx, const struct mime_part *part);
};

struct mime_parser;

void mime_limits_default(struct mime_limits *lim);
struct mime_parser *mime_parser_new(const struct mime_limits *lim,
				    const struct mime_callbacks *cb, void *ctx);
int mime_parser_feed(struct mime_parser *p, const void *buf, size_t len);
int mime_parser_finish(struct mime_parser *p);
const struct mime_part *mime_parser_parts(const struct mime_parser *p,
					  size_t *nparts);
void mime_parser_reset(struct mime_parser *p);
void mime_parser_free(struct mime_parser *p);

const char *mime_encoding_name(enum mime_encoding enc);

#endif
