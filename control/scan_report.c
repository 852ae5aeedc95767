/*
 * scan_report.c - `mxgate scan`: stream files through the engine, print
 *
 *	See scan_report.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "scan_report.h"

/* Bytes read from a file at a time: the engine streams, so this bounds
 * the tool's memory whatever the message size. */
#define SCAN_READ_BLOCK	(64 * 1024)

/* Largest random chunk for --chunk 0. */
#define SCAN_RANDOM_CHUNK_MAX	4096

struct scan_run {
	const struct ruleset *rs;
	struct scan_options so;
	struct engine_worker *worker;
	unsigned rng;
	unsigned char buf[SCAN_READ_BLOCK];
};

/* scan_run_new - one engine worker for the whole run */
struct scan_run *scan_run_new(const struct ruleset *rs,
			      const struct scan_options *so)
{
	struct scan_run *run = calloc(1, sizeof(*run));

	if (run == NULL)
		return NULL;
	run->rs = rs;
	run->so = *so;
	run->rng = so->seed ? so->seed : 1;
	if ((run->worker = engine_worker_new(rs)) == NULL) {
		int saved = errno;

		free(run);
		errno = saved;
		return NULL;
	}
	return run;
}

/* scan_run_free - release the worker */
void scan_run_free(struct scan_run *run)
{
	if (run == NULL)
		return;
	engine_worker_free(run->worker);
	free(run);
}

/* next_chunk - how many bytes to feed next (xorshift for --chunk 0) */
static size_t next_chunk(struct scan_run *run, size_t left)
{
	size_t n;

	if (run->so.chunk < 0)
		return left;
	if (run->so.chunk > 0)
		n = (size_t)run->so.chunk;
	else {
		run->rng ^= run->rng << 13;
		run->rng ^= run->rng >> 17;
		run->rng ^= run->rng << 5;
		n = 1 + run->rng % SCAN_RANDOM_CHUNK_MAX;
	}
	return n < left ? n : left;
}

/* report_error - say why a file could not be scanned */
static int report_error(struct scan_run *run, const char *path,
			const char *what, int err)
{
	fprintf(stderr, "mxgate scan: %s: %s: %s\n", path, what, strerror(err));
	if (run->so.json) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
		fputs("{\"file\":", stdout);
		json_string(stdout, path, strlen(path));
		fputs(",\"error\":", stdout);
		json_string(stdout, msg, strlen(msg));
		fputs("}\n", stdout);
	}
	return SCAN_FILE_ERROR;
}

/* print_text - the readable form of a verdict */
static void print_text(struct scan_run *run, const char *path,
		       const struct verdict *v, const struct mime_part *parts,
		       size_t nparts)
{
	size_t i;

	printf("%s: %s (score %d", path, action_name(v->action), v->score);
	if (v->policy)
		printf(", policy %s", v->policy);
	printf(")\n");
	if (v->reply[0])
		printf("  reply: %s\n", v->reply);
	for (i = 0; i < v->nmatches; i++) {
		const struct verdict_match *m = &v->matches[i];

		printf("  rule %-28s %-10s part %-3d score %-4d %s\n",
		       m->rule_id, scope_name(m->scope), m->part, m->score,
		       m->description ? m->description : "");
	}
	if (!run->so.verbose)
		return;
	for (i = 0; i < nparts; i++) {
		const struct mime_part *p = &parts[i];

		printf("  part %-3d %*s%s%s%s%s  %llu bytes  type %s%s\n",
		       p->id, p->depth * 2, "", p->content_type,
		       p->filename[0] ? " \"" : "", p->filename,
		       p->filename[0] ? "\"" : "",
		       (unsigned long long)p->decoded_size,
		       p->is_multipart || p->is_message ? "-"
		       : filetype_name(p->detected_type),
		       p->flags ? "  (malformed: see --json flags)" : "");
	}
}

/* scan_run_file - scan one file and print its verdict */
int scan_run_file(struct scan_run *run, const char *path)
{
	struct engine_msg *msg;
	const struct mime_part *parts;
	struct verdict v;
	size_t nparts;
	ssize_t got;
	int fd, rc;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return report_error(run, path, "cannot open", errno);

	if ((msg = engine_msg_begin(run->worker, run->rs, &run->so.env)) == NULL) {
		rc = report_error(run, path, "cannot start the engine", errno);
		goto out;
	}
	for (;;) {
		got = read(fd, run->buf, sizeof(run->buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = report_error(run, path, "read error", errno);
			engine_msg_free(msg);
			goto out;
		}
		if (got == 0)
			break;
		for (size_t off = 0, n; off < (size_t)got; off += n) {
			n = next_chunk(run, (size_t)got - off);
			if (engine_msg_feed(msg, run->buf + off, n) < 0) {
				rc = report_error(run, path, "engine failed", errno);
				engine_msg_free(msg);
				goto out;
			}
		}
	}
	memset(&v, 0, sizeof(v));
	if (engine_msg_end(msg, &v) < 0) {
		rc = report_error(run, path, "engine failed", errno);
		engine_msg_free(msg);
		goto out;
	}
	parts = engine_msg_parts(msg, &nparts);
	if (run->so.json) {
		fputs("{\"file\":", stdout);
		json_string(stdout, path, strlen(path));
		putchar(',');
		json_verdict(stdout, &v, parts, nparts);
		fputs("}\n", stdout);
	} else {
		print_text(run, path, &v, parts, nparts);
	}
	fflush(stdout);
	rc = v.action == ACT_PASS ? SCAN_FILE_CLEAN : SCAN_FILE_FLAGGED;
	verdict_free(&v);
	engine_msg_free(msg);
out:
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}
