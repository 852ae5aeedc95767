/*
 * test_mime.c - MIME structure cases and chunking invariance
 *
 *	test_mime DIR...
 *
 * Every *.eml under the DIRs is parsed whole, byte by byte and in random
 * chunk sizes (fixed seeds); the parts array, header fields, URLs and the
 * SHA-256 of each part's decoded and UTF-8 bytes must not change.
 */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "mime.h"

#define REC_PARTS	64	/* digests kept per message in a record */
#define REC_LOG		(256 * 1024)

struct record {
	EVP_MD_CTX *data_md, *text_md;
	uint8_t data_sha[REC_PARTS][32];
	uint8_t text_sha[REC_PARTS][32];
	char log[REC_LOG];	/* headers, URLs, begin/end events */
	size_t nlog;
	int open;		/* part between begin and end, -1 none */
	const uint8_t *last_data;	/* for the same-pointer check */
	size_t last_len;
	int text_same_ptr;
	size_t nparts;
	struct mime_part parts[REC_PARTS];
	int rc_feed, rc_finish;
};

static char **g_dirs;
static int g_ndirs;

/* logf_ - append to the record's event log */
static void logf_(struct record *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logf_(struct record *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (r->nlog < REC_LOG)
		r->nlog += (size_t) vsnprintf(r->log + r->nlog, REC_LOG - r->nlog,
					      fmt, ap);
	va_end(ap);
	if (r->nlog > REC_LOG)
		r->nlog = REC_LOG;
}

static void on_header(void *ctx, const struct mime_part *mp, const char *n,
		      size_t nl, const char *v, size_t vl)
{
	logf_(ctx, "H%d %.*s: %.*s\n", mp->id, (int) nl, n, (int) vl, v);
}

static void on_begin(void *ctx, const struct mime_part *mp)
{
	struct record *r = ctx;

	logf_(r, "B%d %s\n", mp->id, mp->content_type);
	if (!mp->is_multipart && !mp->is_message) {
		assert_int_equal(r->open, -1);
		r->open = mp->id;
		assert_int_equal(EVP_DigestInit_ex(r->data_md, EVP_sha256(),
						   NULL), 1);
		assert_int_equal(EVP_DigestInit_ex(r->text_md, EVP_sha256(),
						   NULL), 1);
	}
}

static void on_data(void *ctx, const struct mime_part *mp, const uint8_t *d,
		    size_t n)
{
	struct record *r = ctx;

	assert_int_equal(r->open, mp->id);
	assert_true(n > 0);
	r->last_data = d;
	r->last_len = n;
	assert_int_equal(EVP_DigestUpdate(r->data_md, d, n), 1);
}

static void on_text(void *ctx, const struct mime_part *mp, const uint8_t *t,
		    size_t n)
{
	struct record *r = ctx;

	assert_int_equal(r->open, mp->id);
	if (t == r->last_data && n == r->last_len)
		r->text_same_ptr++;
	assert_int_equal(EVP_DigestUpdate(r->text_md, t, n), 1);
}

static void on_url(void *ctx, const struct mime_part *mp, const char *u,
		   size_t n)
{
	logf_(ctx, "U%d %.*s\n", mp->id, (int) n, u);
}

static void on_end(void *ctx, const struct mime_part *mp)
{
	struct record *r = ctx;

	logf_(r, "E%d\n", mp->id);
	if (mp->is_multipart || mp->is_message)
		return;
	assert_int_equal(r->open, mp->id);
	r->open = -1;
	if (mp->id < REC_PARTS) {
		assert_int_equal(EVP_DigestFinal_ex(r->data_md,
				 r->data_sha[mp->id], NULL), 1);
		assert_int_equal(EVP_DigestFinal_ex(r->text_md,
				 r->text_sha[mp->id], NULL), 1);
	}
}

static const struct mime_callbacks rec_cb = {
	.header = on_header, .part_begin = on_begin, .part_data = on_data,
	.part_text = on_text, .url = on_url, .part_end = on_end,
};

/* record_new - an empty record */
static struct record *record_new(void)
{
	struct record *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->data_md = EVP_MD_CTX_new();
	r->text_md = EVP_MD_CTX_new();
	assert_non_null(r->data_md);
	assert_non_null(r->text_md);
	r->open = -1;
	return r;
}

/* record_free - release a record */
static void record_free(struct record *r)
{
	EVP_MD_CTX_free(r->data_md);
	EVP_MD_CTX_free(r->text_md);
	free(r);
}

/*
 * parse - parse msg with chunk sizes from next_chunk (NULL: whole);
 * seed drives the random chunker
 */
static struct record *parse(const struct mime_limits *lim, const void *msg,
			    size_t len, size_t fixed, unsigned seed)
{
	struct record *r = record_new();
	struct mime_parser *p = mime_parser_new(lim, &rec_cb, r);
	const struct mime_part *parts;

	assert_non_null(p);
	srand(seed);
	for (size_t o = 0; o < len;) {
		size_t n = fixed ? fixed : (size_t) (rand() % 300) + 1;

		if (n > len - o)
			n = len - o;
		if (mime_parser_feed(p, (const char *) msg + o, n) < 0)
			r->rc_feed = errno;
		o += n;
	}
	r->rc_finish = mime_parser_finish(p) < 0 ? errno : 0;
	parts = mime_parser_parts(p, &r->nparts);
	memcpy(r->parts, parts, (r->nparts < REC_PARTS ? r->nparts :
				 REC_PARTS) * sizeof(*parts));
	assert_int_equal(r->open, -1);
	mime_parser_free(p);
	return r;
}

/* same_record - two parses of one message agree */
static void same_record(const struct record *a, const struct record *b,
			const char *what)
{
	size_t n = a->nparts < REC_PARTS ? a->nparts : REC_PARTS;

	if (a->nparts != b->nparts || a->nlog != b->nlog ||
	    memcmp(a->log, b->log, a->nlog) != 0 ||
	    memcmp(a->parts, b->parts, n * sizeof(a->parts[0])) != 0 ||
	    memcmp(a->data_sha, b->data_sha, sizeof(a->data_sha)) != 0 ||
	    memcmp(a->text_sha, b->text_sha, sizeof(a->text_sha)) != 0 ||
	    a->rc_finish != b->rc_finish)
		fail_msg("chunking changed the parse of %s", what);
}

/* slurp - read a whole file */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t) n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
	fclose(f);
	*len = (size_t) n;
	return buf;
}

static void test_every_message_parses_the_same_in_any_chunking(void **state)
{
	int nfiles = 0;

	for (int d = 0; d < g_ndirs; d++) {
		DIR *dir = opendir(g_dirs[d]);
		struct dirent *de;

		if (dir == NULL)
			continue;
		while ((de = readdir(dir)) != NULL) {
			size_t nl = strlen(de->d_name), len;
			char path[4096];

			if (nl < 4 || strcmp(de->d_name + nl - 4, ".eml") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", g_dirs[d],
				 de->d_name);
			char *msg = slurp(path, &len);
			struct record *whole = parse(NULL, msg, len, len + 1, 0);
			struct record *bytes = parse(NULL, msg, len, 1, 0);

			same_record(whole, bytes, path);
			record_free(bytes);
			for (unsigned seed = 1; seed <= 5; seed++) {
				struct record *rnd = parse(NULL, msg, len, 0,
							   seed);

				same_record(whole, rnd, path);
				record_free(rnd);
			}
			record_free(whole);
			free(msg);
			nfiles++;
		}
		closedir(dir);
	}
	assert_true(nfiles > 0);
}

#define MSG(s)	s, sizeof(s) - 1

static void test_fuzz_findings_parse_the_same_in_any_chunking(void **state)
{
	/* inputs the fuzzer once split differently, kept as regressions */
	static const char *const found[] = {
		/* a CR ending an abandoned boundary candidate ("-\r") */
		"o\nContent-Type:multipart/; boundary=\"b8\n--b8\r\n\n-\r\n",
	};

	for (size_t i = 0; i < sizeof(found) / sizeof(found[0]); i++) {
		size_t len = strlen(found[i]);
		struct record *whole = parse(NULL, found[i], len, len, 0);
		struct record *bytes = parse(NULL, found[i], len, 1, 0);

		same_record(whole, bytes, found[i]);
		record_free(whole);
		record_free(bytes);
	}
}

static void test_crlf_before_boundary_belongs_to_boundary(void **state)
{
	static const char m[] = "Content-Type: multipart/mixed; boundary=b\r\n"
		"\r\npreamble\r\n--b\r\n\r\nline1\r\nline2\r\n\r\n--b--\r\n"
		"epilogue\r\n";
	struct record *r = parse(NULL, MSG(m), 0, 0);

	assert_int_equal(r->nparts, 2);
	assert_int_equal(r->parts[1].decoded_size, 14);	/* "line1\r\nline2\r\n" */
	assert_int_equal(r->parts[0].flags, 0);
	record_free(r);
}

static void test_missing_boundary_param_is_a_flagged_leaf(void **state)
{
	static const char m[] = "Content-Type: multipart/mixed\n\nbody\n";
	struct record *r = parse(NULL, MSG(m), 0, 0);

	assert_int_equal(r->nparts, 1);
	assert_true(r->parts[0].flags & MIME_F_NO_BOUNDARY);
	assert_int_equal(r->parts[0].is_multipart, 0);
	assert_int_equal(r->parts[0].decoded_size, 5);
	record_free(r);
}

static void test_missing_close_boundary_is_flagged_unterminated(void **state)
{
	static const char m[] = "Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: multipart/alternative; boundary=c\n\n--c\n"
		"\ninner\n--b\n\nsecond\n";
	struct record *r = parse(NULL, MSG(m), 0, 0);

	assert_int_equal(r->nparts, 4);
	assert_true(r->parts[0].flags & MIME_F_UNTERMINATED);
	assert_true(r->parts[1].flags & MIME_F_UNTERMINATED);
	assert_int_equal(r->parts[2].parent, 1);
	assert_int_equal(r->parts[3].parent, 0);
	record_free(r);
}

static void test_boundary_with_trailing_whitespace_still_matches(void **state)
{
	static const char m[] = "Content-Type: multipart/mixed; boundary=b\n\n"
		"--b \t\n\none\n--bx\nstill one\n--b--  \n";
	struct record *r = parse(NULL, MSG(m), 0, 0);

	assert_int_equal(r->nparts, 2);
	assert_int_equal(r->parts[1].decoded_size, 18);
	assert_int_equal(r->parts[0].flags, 0);
	record_free(r);
}

static void test_digest_children_default_to_message_rfc822(void **state)
{
	static const char m[] = "Content-Type: multipart/digest; boundary=d\n\n"
		"--d\n\nSubject: inner\n\nhello\n--d--\n";
	struct record *r = parse(NULL, MSG(m), 0, 0);

	assert_int_equal(r->nparts, 3);
	assert_string_equal(r->parts[1].content_type, "message/rfc822");
	assert_int_equal(r->parts[1].is_message, 1);
	assert_string_equal(r->parts[2].content_type, "text/plain");
	assert_int_equal(r->parts[2].parent, 1);
	assert_non_null(strstr(r->log, "H2 Subject: inner"));
	record_free(r);
}

/* bomb - a message nesting `levels` multiparts (or rfc822 messages) */
static char *bomb(int levels, int rfc822, size_t *len)
{
	size_t cap = (size_t) levels * 96 + 256, n = 0;
	char *m = malloc(cap);

	assert_non_null(m);
	for (int i = 0; i < levels; i++) {
		if (rfc822)
			n += (size_t) sprintf(m + n, "Content-Type: "
					      "message/rfc822\n\n");
		else
			n += (size_t) sprintf(m + n, "Content-Type: multipart/"
					      "mixed; boundary=b%d\n\n--b%d\n",
					      i, i);
	}
	n += (size_t) sprintf(m + n, "\nEICAR\n");
	for (int i = levels - 1; i >= 0 && !rfc822; i--)
		n += (size_t) sprintf(m + n, "--b%d--\n", i);
	*len = n;
	return m;
}

static void test_nesting_bomb_stops_at_depth_limit_fast(void **state)
{
	for (int rfc822 = 0; rfc822 <= 1; rfc822++) {
		size_t len;
		char *m = bomb(2000, rfc822, &len);
		clock_t t0 = clock();
		struct record *r = parse(NULL, m, len, len, 0);
		double s = (double) (clock() - t0) / CLOCKS_PER_SEC;

		assert_int_equal(r->nparts, MIME_DEPTH_DEFAULT + 1);
		assert_true(r->parts[MIME_DEPTH_DEFAULT].flags &
			    MIME_F_DEPTH_EXCEEDED);
		assert_true(s < 1.0);
		record_free(r);
		free(m);
	}
}

static void test_parts_limit_stops_the_parse_with_e2big(void **state)
{
	struct mime_limits lim;
	char m[4096];
	size_t n = (size_t) sprintf(m, "Content-Type: multipart/mixed; "
				    "boundary=b\n\n");

	mime_limits_default(&lim);
	lim.max_parts = 5;
	for (int i = 0; i < 10; i++)
		n += (size_t) sprintf(m + n, "--b\n\npart %d\n", i);
	struct record *r = parse(&lim, m, n, n, 0);

	assert_int_equal(r->nparts, 5);
	assert_int_equal(r->rc_feed, E2BIG);
	assert_int_equal(r->rc_finish, E2BIG);
	assert_true(r->parts[0].flags & MIME_F_PARTS_LIMIT);
	record_free(r);
}

static void test_overlong_header_is_cut_and_flagged(void **state)
{
	static char m[300000];
	struct mime_limits lim;
	size_t n = 0;

	mime_limits_default(&lim);
	n += (size_t) sprintf(m, "Subject: ");
	memset(m + n, 'x', 200000);
	n += 200000;
	n += (size_t) sprintf(m + n, "\nContent-Type: text/html\n\n<p>x\n");
	struct record *r = parse(&lim, m, n, 0, 3);

	assert_true(r->parts[0].flags & MIME_F_HEADER_TOOLONG);
	assert_string_equal(r->parts[0].content_type, "text/html");
	record_free(r);
}

static void test_truncated_header_block_is_flagged(void **state)
{
	static const char m[] = "Subject: hi\nContent-Type: text/pl";
	struct record *r = parse(NULL, MSG(m), 0, 0);

	assert_true(r->parts[0].flags & MIME_F_TRUNCATED);
	record_free(r);
}

static void test_utf8_text_is_passed_with_the_same_pointer(void **state)
{
	static const char m[] = "Content-Type: text/plain; charset=utf-8\n\n"
		"caf\xC3\xA9 http://x.example/\n";
	struct record *r = parse(NULL, MSG(m), 0, 0);

	assert_int_equal(r->text_same_ptr, 1);
	assert_non_null(strstr(r->log, "U0 http://x.example/"));
	record_free(r);
}

/* counters for the streaming test, no per-call state beyond totals */
struct big {
	uint64_t bytes;
	uint8_t head[8];
};

static void big_data(void *ctx, const struct mime_part *mp,
		     const uint8_t *d, size_t n)
{
	struct big *b = ctx;

	if (b->bytes == 0)
		memcpy(b->head, d, n < 8 ? n : 8);
	b->bytes += n;
}

static void test_20mb_base64_attachment_streams_in_constant_memory(void **state)
{
	const size_t payload = 20u << 20, line = 76;
	size_t cap = payload / 3 * 4 + payload / 57 * 2 + 4096, n = 0;
	char *m = malloc(cap);
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		"qrstuvwxyz0123456789+/";
	struct big b = { 0 };
	struct mime_callbacks cb = { .part_data = big_data };

	assert_non_null(m);
	n += (size_t) sprintf(m, "Content-Type: multipart/mixed; boundary=z\r\n"
			      "\r\n--z\r\nContent-Type: application/x\r\n"
			      "Content-Transfer-Encoding: base64\r\n\r\n"
			      "TVqQ");	/* "MZ\x90" */
	for (size_t q = 1, col = 4; q < payload / 3; q++) {
		for (int k = 0; k < 4; k++)
			m[n++] = b64[(q * 7 + (size_t) k) % 64];
		col += 4;
		if (col >= line) {
			m[n++] = '\r';
			m[n++] = '\n';
			col = 0;
		}
	}
	n += (size_t) sprintf(m + n, "\r\n--z--\r\n");

	struct mime_parser *p = mime_parser_new(NULL, &cb, &b);
	struct mallinfo2 before, after;
	struct timespec t0, t1;

	assert_non_null(p);
	before = mallinfo2();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t o = 0; o < n; o += 65536)
		assert_int_equal(mime_parser_feed(p, m + o, n - o < 65536 ?
						  n - o : 65536), 0);
	assert_int_equal(mime_parser_finish(p), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	after = mallinfo2();

	size_t np;
	const struct mime_part *parts = mime_parser_parts(p, &np);
	double s = (double) (t1.tv_sec - t0.tv_sec) +
		   (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;

	print_message("20 MB base64 body: %.0f MB/s encoded input\n",
		      (double) n / s / 1e6);
	assert_int_equal(np, 2);
	assert_int_equal(parts[1].decoded_size, payload / 3 * 3);
	assert_int_equal(b.bytes, payload / 3 * 3);
	assert_int_equal(parts[1].detected_type, FT_PE);
	/* nothing but the parts array may grow while streaming */
	assert_true(after.uordblks <= before.uordblks + 4096);
	mime_parser_free(p);
	free(m);
}

static void test_reset_parses_the_next_message_without_growing(void **state)
{
	static const char m[] = "Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\n\na\n--b\n\nb\n--b--\n";
	struct mime_parser *p = mime_parser_new(NULL, NULL, NULL);
	struct mallinfo2 before, after;
	size_t np;

	assert_non_null(p);
	assert_int_equal(mime_parser_feed(p, MSG(m)), 0);
	assert_int_equal(mime_parser_finish(p), 0);
	before = mallinfo2();
	for (int i = 0; i < 1000; i++) {
		mime_parser_reset(p);
		assert_int_equal(mime_parser_feed(p, MSG(m)), 0);
		assert_int_equal(mime_parser_finish(p), 0);
	}
	after = mallinfo2();
	mime_parser_parts(p, &np);
	assert_int_equal(np, 3);
	assert_int_equal(after.uordblks, before.uordblks);
	mime_parser_free(p);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_message_parses_the_same_in_any_chunking),
		cmocka_unit_test(test_fuzz_findings_parse_the_same_in_any_chunking),
		cmocka_unit_test(test_crlf_before_boundary_belongs_to_boundary),
		cmocka_unit_test(test_missing_boundary_param_is_a_flagged_leaf),
		cmocka_unit_test(test_missing_close_boundary_is_flagged_unterminated),
		cmocka_unit_test(test_boundary_with_trailing_whitespace_still_matches),
		cmocka_unit_test(test_digest_children_default_to_message_rfc822),
		cmocka_unit_test(test_nesting_bomb_stops_at_depth_limit_fast),
		cmocka_unit_test(test_parts_limit_stops_the_parse_with_e2big),
		cmocka_unit_test(test_overlong_header_is_cut_and_flagged),
		cmocka_unit_test(test_truncated_header_block_is_flagged),
		cmocka_unit_test(test_utf8_text_is_passed_with_the_same_pointer),
		cmocka_unit_test(test_20mb_base64_attachment_streams_in_constant_memory),
		cmocka_unit_test(test_reset_parses_the_next_message_without_growing),
	};

	g_dirs = argv + 1;
	g_ndirs = argc - 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
