/*
 * engine_count.c - run the engine over one size class, for instruction
 *	counts (callgrind) and profiles (perf)
 *
 *	engine_count CORPUS_DIR RULES_DIR CLASS ITERATIONS
 *
 * DESCRIPTION
 *	Loads CORPUS_DIR/CLASS-*.eml (bench/gen_corpus.py names them so),
 *	then feeds every message whole through engine_msg_begin/feed/end/
 *	free ITERATIONS times, as engine_bench's BM_Engine does, with none of
 *	Google Benchmark's timing loop around it: under callgrind with
 *	collection toggled on the engine_msg_* functions, instructions
 *	divided by messages x iterations is the engine's cost per message,
 *	free of machine noise (docs/benchmarks.md, "Engine").
 *
 * DIAGNOSTICS
 *	Exit status 2 for bad arguments, unreadable input or refused rules,
 *	1 when the engine fails on a message.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "rules.h"
#include "ruleset.h"

#define COUNT_MSGS_MAX	4096	/* messages of one class kept in memory */
#define COUNT_PATH_MAX	4096	/* bytes of one corpus file name */

struct count_msg {
	char   *data;
	size_t  len;
};

/* count_load - read one file into memory; -1 on failure */
static int count_load(const char *path, struct count_msg *m)
{
	FILE   *f = fopen(path, "rb");
	long    n;

	if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0
	    || fseek(f, 0, SEEK_SET) < 0) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	m->data = malloc((size_t) n + 1);
	m->len = m->data ? fread(m->data, 1, (size_t) n, f) : 0;
	fclose(f);
	return m->data != NULL && m->len == (size_t) n ? 0 : -1;
}

/* count_class - load CLASS-*.eml of dir; the number loaded, -1 on error */
static int count_class(const char *dir, const char *cls,
		       struct count_msg *msgs)
{
	DIR    *d = opendir(dir);
	struct dirent *e;
	size_t  cl = strlen(cls);
	int     n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && n < COUNT_MSGS_MAX) {
		char    path[COUNT_PATH_MAX];

		if (strncmp(e->d_name, cls, cl) != 0 || e->d_name[cl] != '-')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (count_load(path, &msgs[n]) < 0) {
			closedir(d);
			return -1;
		}
		n++;
	}
	closedir(d);
	return n;
}

/* main - load, then run the engine over the class ITERATIONS times */
int main(int argc, char **argv)
{
	static struct count_msg msgs[COUNT_MSGS_MAX];
	const char *rcpt[] = {"bob@example.net"};
	struct envelope env = {"198.18.0.2", "", "client.example.org",
			       "alice@example.org", rcpt, 1};
	struct rules_error err = {0};
	struct ruleset *rs;
	struct engine_worker *w;
	long    flagged = 0;
	int     n, iters;

	if (argc != 5) {
		fprintf(stderr, "usage: engine_count CORPUS_DIR RULES_DIR CLASS"
			" ITERATIONS\n");
		return 2;
	}
	iters = atoi(argv[4]);
	if ((rs = rules_load_dir(argv[2], &err)) == NULL) {
		fprintf(stderr, "engine_count: rules refused: %s:%d: %s\n",
			err.file, err.line, err.msg);
		return 2;
	}
	if ((n = count_class(argv[1], argv[3], msgs)) <= 0) {
		fprintf(stderr, "engine_count: no %s-*.eml readable in %s\n",
			argv[3], argv[1]);
		return 2;
	}
	if ((w = engine_worker_new(rs)) == NULL) {
		perror("engine_count: engine_worker_new");
		return 2;
	}
	for (int it = 0; it < iters; it++) {
		for (int i = 0; i < n; i++) {
			struct verdict v;
			struct engine_msg *m = engine_msg_begin(w, rs, &env);

			if (m == NULL || engine_msg_feed(m, msgs[i].data,
							 msgs[i].len) < 0
			    || engine_msg_end(m, &v) < 0) {
				perror("engine_count: engine");
				return 1;
			}
			flagged += v.action != ACT_PASS;
			verdict_free(&v);
			engine_msg_free(m);
		}
	}
	printf("messages %d iterations %d flagged %ld\n", n, iters, flagged);
	engine_worker_free(w);
	rules_free(rs);
	for (int i = 0; i < n; i++)
		free(msgs[i].data);
	return 0;
}
