/*
 * fuzz_mime.c - libFuzzer target for the streaming MIME parser
 *
 * Input layout: byte 0 seeds the chunk sizes, byte 1 picks small limits
 * (so the depth, parts and header-length limits are reached), the rest is
 * the message. The message is parsed whole and then in chunks; the parts
 * array, the header/URL event stream and a hash of each part's decoded
 * and UTF-8 bytes must be identical, or the target aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

#define FUZZ_PARTS	64	/* parts whose data hashes are compared */

struct fuzz_rec {
	uint64_t events;	/* hash of headers, URLs, begin/end order */
	uint64_t data[FUZZ_PARTS];
	uint64_t text[FUZZ_PARTS];
	int open;
};

/* fnv - FNV-1a over a byte run, continuing h */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static void on_header(void *ctx, const struct mime_part *mp, const char *n,
		      size_t nl, const char *v, size_t vl)
{
	struct fuzz_rec *r = ctx;

	r->events = fnv(r->events, &mp->id, sizeof(mp->id));
	r->events = fnv(r->events, n, nl);
	r->events = fnv(r->events, ":", 1);
	r->events = fnv(r->events, v, vl);
}

static void on_begin(void *ctx, const struct mime_part *mp)
{
	struct fuzz_rec *r = ctx;

	r->events = fnv(r->events, "B", 1);
	r->events = fnv(r->events, &mp->id, sizeof(mp->id));
	if (!mp->is_multipart && !mp->is_message) {
		if (r->open != -1)
			abort();	/* two leaves open at once */
		r->open = mp->id;
	}
}

static void on_data(void *ctx, const struct mime_part *mp, const uint8_t *d,
		    size_t n)
{
	struct fuzz_rec *r = ctx;

	if (r->open != mp->id || n == 0)
		abort();
	if (mp->id < FUZZ_PARTS)
		r->data[mp->id] = fnv(r->data[mp->id], d, n);
}

static void on_text(void *ctx, const struct mime_part *mp, const uint8_t *t,
		    size_t n)
{
	struct fuzz_rec *r = ctx;

	if (r->open != mp->id)
		abort();
	if (mp->id < FUZZ_PARTS)
		r->text[mp->id] = fnv(r->text[mp->id], t, n);
}

static void on_url(void *ctx, const struct mime_part *mp, const char *u,
		   size_t n)
{
	struct fuzz_rec *r = ctx;

	if (n == 0 || n > MIME_URL_MAX)
		abort();
	r->events = fnv(r->events, "U", 1);
	r->events = fnv(r->events, u, n);
}

static void on_end(void *ctx, const struct mime_part *mp)
{
	struct fuzz_rec *r = ctx;

	r->events = fnv(r->events, "E", 1);
	r->events = fnv(r->events, &mp->id, sizeof(mp->id));
	if (!mp->is_multipart && !mp->is_message) {
		if (r->open != mp->id)
			abort();
		r->open = -1;
	}
}

static const struct mime_callbacks fuzz_cb = {
	.header = on_header, .part_begin = on_begin, .part_data = on_data,
	.part_text = on_text, .url = on_url, .part_end = on_end,
};

/* run - parse msg in chunks (seed 0: whole); returns the parts copy */
static struct mime_part *run(const struct mime_limits *lim,
			     const uint8_t *msg, size_t len, unsigned seed,
			     struct fuzz_rec *r, size_t *nparts, int *rc)
{
	struct mime_parser *p;
	const struct mime_part *parts;
	struct mime_part *copy;
	unsigned x = seed * 2654435761u + 1;

	memset(r, 0, sizeof(*r));
	r->open = -1;
	p = mime_parser_new(lim, &fuzz_cb, r);
	if (p == NULL)
		abort();
	for (size_t o = 0; o < len;) {
		size_t n = len - o;

		if (seed) {
			x = x * 1103515245u + 12345u;
			n = (x >> 16) % (seed % 7 == 0 ? 3 : 97) + 1;
			if (n > len - o)
				n = len - o;
		}
		mime_parser_feed(p, msg + o, n);
		o += n;
	}
	*rc = mime_parser_finish(p);
	if (r->open != -1)
		abort();	/* a leaf was never ended */
	parts = mime_parser_parts(p, nparts);
	copy = malloc(*nparts * sizeof(*copy) + 1);
	if (copy == NULL)
		abort();
	memcpy(copy, parts, *nparts * sizeof(*copy));
	mime_parser_free(p);
	return copy;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - whole and chunked parses must agree */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_limits lim;
	struct fuzz_rec a, b;
	size_t na, nb;
	int rca, rcb;

	if (size < 2)
		return 0;
	mime_limits_default(&lim);
	if (data[1] & 1) {
		lim.max_depth = data[1] >> 5;
		lim.max_parts = (data[1] >> 1 & 15) + 1;
		lim.max_header = 300 + (data[1] & 0x1E) * 8;
	}
	struct mime_part *pa = run(&lim, data + 2, size - 2, 0, &a, &na, &rca);
	struct mime_part *pb = run(&lim, data + 2, size - 2, data[0] + 1u,
				   &b, &nb, &rcb);

	if (na != nb || rca != rcb ||
	    memcmp(pa, pb, na * sizeof(*pa)) != 0 ||
	    memcmp(&a, &b, sizeof(a)) != 0) {
		fprintf(stderr, "fuzz_mime: chunking changed the parse\n");
		abort();
	}
	for (size_t i = 0; i < na; i++) {
		if (pa[i].depth > (int) lim.max_depth ||
		    (i > 0 && (pa[i].parent < 0 || (size_t) pa[i].parent >= i)))
			abort();
	}
	free(pa);
	free(pb);
	return 0;
}
