/*
 * mime_int.h - private interfaces of the MIME stream: decoders, charset
 *	conversion, RFC 2047, URL extraction, header parameter parsing
 *
 *	Transfer decoders (decode.c):
 *	void decode_b64_init(struct decode_b64 *d);
 *	size_t decode_b64_run(struct decode_b64 *d, const uint8_t *in,
 *			size_t len, uint8_t *out);
 *	size_t decode_b64_finish(struct decode_b64 *d, uint8_t *out);
 *	void decode_b64_simd_limit(int level);
 *	void decode_qp_init(struct decode_qp *d);
 *	size_t decode_qp_run(struct decode_qp *d, const uint8_t *in,
 *			size_t len, uint8_t *out);
 *	size_t decode_qp_finish(struct decode_qp *d, uint8_t *out);
 *
 *	Charsets (charset.c):
 *	int charset_lookup(const char *name);
 *	void charset_init(struct charset_conv *c, int cs);
 *	const uint8_t *charset_run(struct charset_conv *c, const uint8_t *in,
 *			size_t len, uint8_t *out, size_t *outlen);
 *	size_t charset_finish(struct charset_conv *c, uint8_t *out);
 *	size_t charset_utf8_valid(const uint8_t *s, size_t len);
 *	void charset_utf8_simd_limit(int level);
 *	size_t charset_to_utf8(const char *name, const uint8_t *in, size_t len,
 *			char *out, size_t cap, int *bad);
 *
 *	RFC 2047 (rfc2047.c):
 *	size_t rfc2047_decode(const char *in, size_t len, char *out,
 *			size_t cap, int *cut);
 *
 *	URLs (url.c):
 *	void url_scan_init(struct url_scan *u, int html);
 *	void url_scan_run(struct url_scan *u, const uint8_t *text, size_t len,
 *			url_emit_fn emit, void *ctx);
 *	void url_scan_finish(struct url_scan *u, url_emit_fn emit, void *ctx);
 *
 *	Header fields (mime_header.c):
 *	void mime_hdr_content_type(const char *v, size_t len,
 *			struct mime_hdr_info *hi);
 *	void mime_hdr_disposition(const char *v, size_t len,
 *			struct mime_hdr_info *hi);
 *	enum mime_encoding mime_hdr_encoding(const char *v, size_t len);
 *
 * DESCRIPTION
 *	Every stage is a small state machine whose state survives any split
 *	of its input: feeding bytes one by one or all at once produces the
 *	same output bytes. Output buffers are supplied by the caller and must
 *	hold the worst case documented per function; nothing here allocates.
 */
#ifndef MX_MIME_INT_H
#define MX_MIME_INT_H

#include <stddef.h>
#include <stdint.h>

#include "mime.h"

/* Base64: output is at most 3/4 of input plus 3 bytes of carried state. */
#define DECODE_B64_OUT_MAX(n)	((n) / 4 * 3 + 3)

struct decode_b64 {
	uint32_t acc;		/* sextets collected in this quantum */
	unsigned nq;		/* sextets in acc (0..3) */
	unsigned pads;		/* '=' seen after a short quantum */
	unsigned padded;	/* a quantum was closed by padding */
	unsigned bad;		/* junk, bad padding or data after padding */
};

void decode_b64_init(struct decode_b64 *d);
size_t decode_b64_run(struct decode_b64 *d, const uint8_t *in, size_t len,
		      uint8_t *out);
size_t decode_b64_finish(struct decode_b64 *d, uint8_t *out);

/* SIMD kernels of the base64 decoder, slowest first (tests compare them) */
#define B64_SIMD_NONE	0	/* byte-wise and 4-character steps only */
#define B64_SIMD_AVX2	1	/* 32 characters per step */
#define B64_SIMD_VBMI	2	/* 64 characters per step (AVX-512 VBMI) */

/* Levels of UTF-8 validation for charset_utf8_simd_limit(). */
#define UTF8_SIMD_SSE2	0	/* 16 bytes per step (all of x86-64) */
#define UTF8_SIMD_AVX2	1	/* 32 bytes per step */
#define UTF8_SIMD_AVX512 2	/* 64 bytes per step (AVX-512BW) */
void decode_b64_simd_limit(int level);

/* Quoted-printable: output never exceeds input plus 3 carried bytes. */
#define DECODE_QP_OUT_MAX(n)	((n) + 3)

struct decode_qp {
	uint8_t hold[3];	/* "=", "=X" or "=\r" waiting for more */
	unsigned nhold;
	unsigned bad;		/* invalid =XX passed literally */
};

void decode_qp_init(struct decode_qp *d);
size_t decode_qp_run(struct decode_qp *d, const uint8_t *in, size_t len,
		     uint8_t *out);
size_t decode_qp_finish(struct decode_qp *d, uint8_t *out);

/* Charsets. A single input byte never yields more than 3 UTF-8 bytes. */
#define CHARSET_OUT_MAX(n)	((n) * 3 + 8)

enum {
	CHARSET_UNKNOWN = -1,
	CHARSET_UTF8 = 0,	/* also us-ascii and no charset */
	CHARSET_UTF16LE,
	CHARSET_UTF16BE,
	CHARSET_UTF16,		/* BOM decides, big endian without one */
	CHARSET_LATIN1,
	CHARSET_TABLE0		/* first table-driven single-byte set */
};

struct charset_conv {
	int cs;			/* CHARSET_* or a table index */
	uint8_t pend[4];	/* incomplete multibyte sequence */
	unsigned npend;
	unsigned need;		/* UTF-8: bytes still expected */
	uint16_t hi_surrogate;	/* UTF-16: waiting for the low half */
	unsigned bom_done:1;
	unsigned big_endian:1;
};

int charset_lookup(const char *name);
void charset_init(struct charset_conv *c, int cs);
const uint8_t *charset_run(struct charset_conv *c, const uint8_t *in,
			   size_t len, uint8_t *out, size_t *outlen);
size_t charset_finish(struct charset_conv *c, uint8_t *out);
size_t charset_utf8_valid(const uint8_t *s, size_t len);
void charset_utf8_simd_limit(int level);
size_t charset_to_utf8(const char *name, const uint8_t *in, size_t len,
		       char *out, size_t cap, int *bad);

/* RFC 2047 */
size_t rfc2047_decode(const char *in, size_t len, char *out, size_t cap,
		      int *cut);

/* URLs */
#define URL_ENTITY_MAX	12	/* "&#x1F600;" and named entities */

typedef void (*url_emit_fn)(void *ctx, const char *url, size_t len,
			    int cut);

struct url_scan {
	unsigned html:1;
	unsigned in_url:1;
	unsigned cut:1;		/* URL passed MIME_URL_MAX: skip its rest */
	unsigned match;		/* bytes of a scheme prefix matched */
	unsigned cand;		/* bitmask of prefixes still possible */
	uint8_t prev;		/* byte before the current candidate */
	uint8_t last;		/* last byte seen by the matcher */
	uint8_t tail[16];	/* last raw bytes of earlier slices */
	uint64_t seen;		/* raw bytes scanned so far */
	uint64_t fed;		/* raw bytes given to the matcher so far */
	uint8_t ent[URL_ENTITY_MAX];	/* HTML entity being read */
	unsigned nent;
	size_t ulen;
	char ubuf[MIME_URL_MAX + 8];
};

void url_scan_init(struct url_scan *u, int html);
void url_scan_run(struct url_scan *u, const uint8_t *text, size_t len,
		  url_emit_fn emit, void *ctx);
void url_scan_finish(struct url_scan *u, url_emit_fn emit, void *ctx);

/* Header parameters */
#define MIME_HDR_BOUNDARY_STORE	200	/* longer boundaries are refused */
#define MIME_HDR_PARAM_MAX	1024	/* raw bytes of one parameter kept */

struct mime_hdr_info {
	char ctype[MIME_CT_MAX];
	char charset[MIME_CHARSET_MAX];
	char ct_name[MIME_FILENAME_MAX];
	char disp_filename[MIME_FILENAME_MAX];
	char boundary[MIME_HDR_BOUNDARY_STORE + 1];
	unsigned have_ctype:1;
	unsigned ctype_invalid:1;
	unsigned have_boundary:1;
	unsigned have_cte:1;
	unsigned have_disp:1;
	unsigned have_ct_name:1;
	unsigned have_disp_filename:1;
	enum mime_encoding encoding;
	enum mime_disposition disposition;
};

void mime_hdr_content_type(const char *v, size_t len,
			   struct mime_hdr_info *hi);
void mime_hdr_disposition(const char *v, size_t len,
			  struct mime_hdr_info *hi);
enum mime_encoding mime_hdr_encoding(const char *v, size_t len);

/* mime_hexval - value of a hex digit, -1 if none (QP, RFC 2047 Q, RFC 2231) */
static inline int mime_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

#endif
