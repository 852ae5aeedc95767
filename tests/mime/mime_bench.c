/*
 * mime_bench - throughput of the MIME parser on one message
 *
 *	mime_bench [-n iterations] [-c chunk] file
 *
 * DESCRIPTION
 *	Parses file again and again with one parser (mime_parser_reset
 *	between messages, as the engine does), with every callback set to a
 *	function that only touches the bytes, and prints messages/s and MB/s
 *	of input for one core.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mime.h"

struct sink {
	uint64_t bytes, text, urls;
};

static void on_data(void *ctx, const struct mime_part *mp, const uint8_t *d,
		    size_t n)
{
	((struct sink *) ctx)->bytes += n + d[n - 1];
}

static void on_text(void *ctx, const struct mime_part *mp, const uint8_t *t,
		    size_t n)
{
	((struct sink *) ctx)->text += n;
}

static void on_url(void *ctx, const struct mime_part *mp, const char *u,
		   size_t n)
{
	((struct sink *) ctx)->urls++;
}

int main(int argc, char **argv)
{
	struct mime_callbacks cb = { .part_data = on_data,
		.part_text = on_text, .url = on_url };
	struct sink s = { 0 };
	long iters = 100000;
	size_t chunk = 0, len;
	int opt;

	while ((opt = getopt(argc, argv, "n:c:")) != -1) {
		if (opt == 'n')
			iters = atol(optarg);
		else if (opt == 'c')
			chunk = strtoul(optarg, NULL, 10);
		else
			goto usage;
	}
	if (optind + 1 != argc)
		goto usage;
	FILE *f = fopen(argv[optind], "rb");

	if (f == NULL || fseek(f, 0, SEEK_END) != 0) {
		fprintf(stderr, "mime_bench: %s: %s\n", argv[optind],
			strerror(errno));
		return 1;
	}
	len = (size_t) ftell(f);
	rewind(f);
	char *buf = malloc(len + 1);

	if (buf == NULL || fread(buf, 1, len, f) != len) {
		fprintf(stderr, "mime_bench: read %s failed\n", argv[optind]);
		return 1;
	}
	fclose(f);
	if (chunk == 0)
		chunk = len;
	struct mime_parser *p = mime_parser_new(NULL, &cb, &s);

	if (p == NULL) {
		fprintf(stderr, "mime_bench: mime_parser_new: %s\n",
			strerror(errno));
		return 1;
	}
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < iters; i++) {
		mime_parser_reset(p);
		for (size_t o = 0; o < len; o += chunk)
			mime_parser_feed(p, buf + o, len - o < chunk ?
					 len - o : chunk);
		mime_parser_finish(p);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double sec = (double) (t1.tv_sec - t0.tv_sec) +
		     (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;

	printf("%s: %zu bytes, %ld msgs in %.3f s: %.0f msgs/s, %.1f MB/s "
	       "(urls %llu)\n", argv[optind], len, iters, sec,
	       (double) iters / sec, (double) len * (double) iters / sec / 1e6,
	       (unsigned long long) s.urls);
	mime_parser_free(p);
	free(buf);
	return 0;
usage:
	fprintf(stderr, "usage: mime_bench [-n iterations] [-c chunk] file\n");
	return 1;
}
