/*
 * fuzz_http.c - libFuzzer target for the management port's HTTP parser
 *
 * Input layout: byte 0 seeds the chunk sizes, the rest is a stream of
 * pipelined requests. The stream is parsed whole and then in chunks; the
 * sequence of outcomes (state, status, method, target, header fields,
 * body) must be identical, or the target aborts. Invariants checked on
 * every request: the body is never longer than HTTP_BODY_MAX, a request
 * with a body had a Content-Length, an error always carries a status.
 * Every body also goes through the API's JSON reader (mgmt_json.c), which
 * reads request bodies from the network too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "mgmt_json.h"

#define FUZZ_REQUESTS	64	/* requests compared per input */

/* fnv - FNV-1a over a byte run, continuing h */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* count - mgmt_json_each callback */
static int count(void *ctx, const char *item, size_t n)
{
	(void)item;
	(void)n;
	++*(unsigned *)ctx;
	return 0;
}

/* json_probe - the body through the JSON reader: no crash, sane answers */
static uint64_t json_probe(const struct http_request *r)
{
	char out[64];
	const char *items[8];
	unsigned n = 0;
	size_t k = 0;
	int a = mgmt_json_get(r->body, r->body_len, "dir", out, sizeof(out));
	int b = mgmt_json_value(r->body, r->body_len, "dir", out, sizeof(out));
	int c = mgmt_json_get_list(r->body, r->body_len, "rcpt", out, sizeof(out),
				   items, 8, &k);
	int d = mgmt_json_each(r->body, r->body_len, count, &n);

	if (a < -1 || a > 1 || b < -1 || b > 1 || c < -1 || c > 1 || d < -1 || d > 0
	    || k > 8)
		abort();
	if (a == 1 && b != 1)
		abort();	/* a string member is also a value */
	return (uint64_t)(a + 2) | (uint64_t)(b + 2) << 4 | (uint64_t)n << 8;
}

/* outcome - a hash of everything the server would act on */
static uint64_t outcome(const struct http_request *r)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char path[HTTP_LINE_MAX], q[256];

	if (r->state == HTTP_ERROR && (r->status < 400 || r->error == NULL))
		abort();
	if (r->body_len > HTTP_BODY_MAX || (r->body_len && !r->has_length))
		abort();
	h = fnv(h, &r->state, sizeof(r->state));
	h = fnv(h, &r->status, sizeof(r->status));
	if (r->state != HTTP_DONE)
		return h;
	h = fnv(h, r->method, strlen(r->method));
	h = fnv(h, r->target, strlen(r->target));
	h = fnv(h, &r->keep_alive, sizeof(r->keep_alive));
	for (unsigned i = 0; i < r->nfields; i++) {
		h = fnv(h, r->hbuf + r->field[i].name, strlen(r->hbuf + r->field[i].name));
		h = fnv(h, r->hbuf + r->field[i].value, strlen(r->hbuf + r->field[i].value));
	}
	h = fnv(h, r->body, r->body_len);
	if (r->body_len) {
		uint64_t j = json_probe(r);

		h = fnv(h, &j, sizeof(j));
	}
	if (http_path(r, path, sizeof(path)) == 0)
		h = fnv(h, path, strlen(path));
	if (http_query(r, "sender", q, sizeof(q)) == 1)
		h = fnv(h, q, strlen(q));
	return h;
}

/* run - parse the stream in pieces of the sizes the seed picks (0:
 * whole), recording one outcome per request */
static size_t run(struct http_request *r, const uint8_t *d, size_t n,
		  unsigned seed, uint64_t *out)
{
	size_t off = 0, nout = 0;

	http_request_init(r);
	while (off < n && nout < FUZZ_REQUESTS) {
		size_t piece = n - off;

		if (seed) {
			seed = seed * 1103515245u + 12345u;
			piece = 1 + (seed >> 16) % 97;
			if (piece > n - off)
				piece = n - off;
		}
		size_t used = http_parse(r, d + off, piece);

		off += used;
		if (r->state == HTTP_DONE || r->state == HTTP_ERROR) {
			out[nout++] = outcome(r);
			if (r->state == HTTP_ERROR)
				return nout;
			http_request_init(r);
		} else if (used != piece) {
			abort();	/* in progress, yet left bytes over */
		}
	}
	if (nout < FUZZ_REQUESTS)
		out[nout++] = outcome(r);	/* the one in progress */
	return nout;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - whole and chunked must agree */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_request r;
	uint64_t a[FUZZ_REQUESTS], b[FUZZ_REQUESTS];
	size_t na, nb;

	if (size < 1)
		return 0;
	na = run(&r, data + 1, size - 1, 0, a);
	nb = run(&r, data + 1, size - 1, data[0] | 1u, b);
	if (na != nb || memcmp(a, b, na * sizeof(a[0])) != 0)
		abort();
	return 0;
}
