/*
 * mime_dump - print the leaf parts of a message as JSON lines
 *
 *	mime_dump [-v] [-c chunk] file
 *
 * DESCRIPTION
 *	Parses file with the engine's MIME parser and prints, per leaf part
 *	(neither multipart nor message/rfc822), one JSON object:
 *	{"id", "content_type", "filename", "size", "sha256"} where size and
 *	sha256 are over the transfer-decoded bytes (part_data). tests/mime/
 *	oracle.py compares this with Python's email package.
 *
 *	-c chunk feeds the file in chunks of that many bytes; -v also prints
 *	every part, header field and URL (for people, not for the oracle).
 *
 * DIAGNOSTICS
 *	Exit 1 on usage or I/O errors; a parse stopped by a limit is
 *	reported on stderr and the parts seen are still printed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mime.h"

struct dump {
	EVP_MD_CTX *md;
	int verbose;
};

/* json_str - print a JSON string */
static void json_str(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7F)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* on_begin - start hashing a leaf */
static void on_begin(void *ctx, const struct mime_part *mp)
{
	struct dump *d = ctx;

	if (!mp->is_multipart && !mp->is_message &&
	    EVP_DigestInit_ex(d->md, EVP_sha256(), NULL) != 1) {
		fprintf(stderr, "mime_dump: EVP_DigestInit_ex(sha256) failed\n");
		exit(1);
	}
}

/* on_data - hash decoded bytes */
static void on_data(void *ctx, const struct mime_part *mp,
		    const uint8_t *data, size_t len)
{
	struct dump *d = ctx;

	if (EVP_DigestUpdate(d->md, data, len) != 1) {
		fprintf(stderr, "mime_dump: EVP_DigestUpdate failed\n");
		exit(1);
	}
}

/* on_header - verbose: one header field */
static void on_header(void *ctx, const struct mime_part *mp,
		      const char *name, size_t nlen, const char *value,
		      size_t vlen)
{
	printf("# header %d ", mp->id);
	json_str(name, nlen);
	putchar(' ');
	json_str(value, vlen);
	putchar('\n');
}

/* on_url - verbose: one URL */
static void on_url(void *ctx, const struct mime_part *mp, const char *url,
		   size_t len)
{
	printf("# url %d ", mp->id);
	json_str(url, len);
	putchar('\n');
}

/* on_end - print a leaf */
static void on_end(void *ctx, const struct mime_part *mp)
{
	struct dump *d = ctx;
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;

	if (d->verbose)
		printf("# part %d parent %d depth %d type %s charset %s enc %s "
		       "raw %llu decoded %llu ft %s flags 0x%x\n", mp->id,
		       mp->parent, mp->depth, mp->content_type, mp->charset,
		       mime_encoding_name(mp->encoding),
		       (unsigned long long) mp->raw_size,
		       (unsigned long long) mp->decoded_size,
		       filetype_name(mp->detected_type), mp->flags);
	if (mp->is_multipart || mp->is_message)
		return;
	if (EVP_DigestFinal_ex(d->md, h, &hl) != 1) {
		fprintf(stderr, "mime_dump: EVP_DigestFinal_ex failed\n");
		exit(1);
	}
	printf("{\"id\": %d, \"content_type\": ", mp->id);
	json_str(mp->content_type, strlen(mp->content_type));
	printf(", \"filename\": ");
	json_str(mp->filename, strlen(mp->filename));
	printf(", \"size\": %llu, \"sha256\": \"",
	       (unsigned long long) mp->decoded_size);
	for (unsigned i = 0; i < hl; i++)
		printf("%02x", h[i]);
	printf("\"}\n");
}

int main(int argc, char **argv)
{
	struct dump d = { 0 };
	struct mime_callbacks cb = { .part_begin = on_begin,
		.part_data = on_data, .part_end = on_end };
	size_t chunk = 0, len = 0, cap = 1 << 16;
	int opt;

	while ((opt = getopt(argc, argv, "vc:")) != -1) {
		if (opt == 'v')
			d.verbose = 1;
		else if (opt == 'c')
			chunk = strtoul(optarg, NULL, 10);
		else
			goto usage;
	}
	if (optind + 1 != argc)
		goto usage;
	if (d.verbose) {
		cb.header = on_header;
		cb.url = on_url;
	}
	FILE *f = fopen(argv[optind], "rb");
	char *buf = malloc(cap);

	if (f == NULL || buf == NULL) {
		fprintf(stderr, "mime_dump: open %s: %s\n", argv[optind],
			strerror(errno));
		return 1;
	}
	for (size_t n; (n = fread(buf + len, 1, cap - len, f)) > 0;) {
		len += n;
		if (len == cap && (buf = realloc(buf, cap *= 2)) == NULL) {
			fprintf(stderr, "mime_dump: out of memory\n");
			return 1;
		}
	}
	fclose(f);
	d.md = EVP_MD_CTX_new();
	if (d.md == NULL) {
		fprintf(stderr, "mime_dump: EVP_MD_CTX_new failed\n");
		return 1;
	}
	struct mime_parser *p = mime_parser_new(NULL, &cb, &d);

	if (p == NULL) {
		fprintf(stderr, "mime_dump: mime_parser_new: %s\n",
			strerror(errno));
		return 1;
	}
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t o = 0; o < len; o += chunk)
		if (mime_parser_feed(p, buf + o, len - o < chunk ? len - o :
				     chunk) < 0)
			fprintf(stderr, "mime_dump: feed: %s\n", strerror(errno));
	if (mime_parser_finish(p) < 0)
		fprintf(stderr, "mime_dump: finish: %s\n", strerror(errno));
	mime_parser_free(p);
	EVP_MD_CTX_free(d.md);
	free(buf);
	return 0;
usage:
	fprintf(stderr, "usage: mime_dump [-v] [-c chunk] file\n");
	return 1;
}
