/*
 * smtp_golden - run a scripted SMTP client against a session, diff the
 *	transcript with a reference
 *
 *	smtp_golden script.in script.ref
 *
 * DESCRIPTION
 *	script.in holds the client's bytes, one write per line, with escapes
 *	\r \n \t \0 \\ \xHH (the file's own newlines are not data). Lines
 *	starting with '#' are comments; lines starting with '@' steer the
 *	test:
 *
 *	@hold			msg_end does not answer; the script will
 *	@result CODE ENH TEXT	answer the waiting message, then feed what
 *				the session left unread
 *	@time MS		set the virtual clock and tick
 *	@normalise		bare CR/LF are normalised, not refused
 *	@rcpt_max N, @size_max N, @errors_max N	limits
 *	@refuse_rcpt STR	recipients containing STR get 550
 *	@fini			the connection goes away
 *
 *	The transcript shows client writes (C:), server reply lines (S:) and
 *	upper-layer events (>). The script runs twice, once a write per
 *	line and once a write per byte; both transcripts must equal
 *	script.ref. With SMTP_GOLDEN_UPDATE=1 in the environment the
 *	reference is (re)written instead.
 *
 * DIAGNOSTICS
 *	Exit 0 when both runs match, 1 with the first difference otherwise,
 *	2 on usage or I/O errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_upper.h"

#define GOLDEN_LINE_MAX	(64 * 1024)
#define GOLDEN_PENDING_MAX (256 * 1024)

struct golden {
	struct smtp_config cfg;
	struct fake_upper f;
	struct smtp_session s;
	FILE *out;
	bool bytewise;
	char partial[SMTP_OUT_CAP * 2];	/* reply bytes without CRLF yet */
	size_t partial_len;
	uint8_t pending[GOLDEN_PENDING_MAX];	/* client bytes not taken */
	size_t pending_len;
};

/* print_replies - drain the session's output as S: lines */

static void print_replies(struct golden *g)
{
	const uint8_t *p;
	size_t n = smtp_session_output(&g->s, &p), i, start = 0;

	if (n > sizeof(g->partial) - g->partial_len)
		n = sizeof(g->partial) - g->partial_len;
	memcpy(g->partial + g->partial_len, p, n);
	g->partial_len += n;
	smtp_session_output_done(&g->s, n);
	for (i = 0; i + 1 < g->partial_len; i++) {
		if (g->partial[i] == '\r' && g->partial[i + 1] == '\n') {
			fputs("S: ", g->out);
			fake_trace_escaped(g->out, (uint8_t *) g->partial + start,
					   i - start);
			fputc('\n', g->out);
			start = i + 2;
			i++;
		}
	}
	memmove(g->partial, g->partial + start, g->partial_len - start);
	g->partial_len -= start;
}

/* before_trace - replies queued so far come before the event */

static void before_trace(struct fake_upper *f)
{
	print_replies(f->user);
}

/* offer - give the session what it has not taken, then new bytes */

static void offer(struct golden *g, const uint8_t *buf, size_t len)
{
	size_t n, i, step;

	if (len > sizeof(g->pending) - g->pending_len)
		len = sizeof(g->pending) - g->pending_len;
	if (len)	/* buf may be NULL when a directive only re-offers */
		memcpy(g->pending + g->pending_len, buf, len);
	g->pending_len += len;
	for (i = 0; i < g->pending_len; i += n) {
		step = g->bytewise ? 1 : g->pending_len - i;
		n = smtp_session_input(&g->s, g->pending + i, step, g->f.now);
		print_replies(g);
		if (n == 0)
			break;
	}
	memmove(g->pending, g->pending + i, g->pending_len - i);
	g->pending_len -= i;
}

/* unescape - script escapes to bytes; returns the length */

static size_t unescape(const char *in, uint8_t *out)
{
	size_t n = 0;
	unsigned hex;

	while (*in) {
		if (*in != '\\' || in[1] == 0) {
			out[n++] = (uint8_t) *in++;
			continue;
		}
		in++;
		switch (*in) {
		case 'r': out[n++] = '\r'; break;
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case '0': out[n++] = 0; break;
		case 'x':
			if (sscanf(in + 1, "%2x", &hex) == 1) {
				out[n++] = (uint8_t) hex;
				in += 2;
			}
			break;
		default: out[n++] = (uint8_t) *in; break;
		}
		in++;
	}
	return n;
}

/* directive - one @ line */

static int directive(struct golden *g, char *line)
{
	char word[32], text[256];
	unsigned long long num = 0;
	int code;

	text[0] = 0;
	if (sscanf(line, "@%31s %llu", word, &num) < 1)
		return -1;
	if (strcmp(word, "hold") == 0) {
		g->f.hold = true;
	} else if (strcmp(word, "result") == 0) {
		char enh[16];

		if (sscanf(line, "@result %d %15s %255[^\n]", &code, enh,
			   text) < 2)
			return -1;
		fprintf(g->out, "@ result %d %s %s\n", code, enh, text);
		smtp_session_message_result(&g->s, code, enh, text, g->f.now);
		print_replies(g);
		offer(g, NULL, 0);
	} else if (strcmp(word, "time") == 0) {
		g->f.now = num;
		fprintf(g->out, "@ time %llu\n", num);
		smtp_session_tick(&g->s, g->f.now);
		print_replies(g);
		offer(g, NULL, 0);
	} else if (strcmp(word, "normalise") == 0) {
		g->cfg.bare_eol = SMTP_BARE_EOL_NORMALISE;
	} else if (strcmp(word, "rcpt_max") == 0) {
		g->cfg.rcpt_max = num;
	} else if (strcmp(word, "size_max") == 0) {
		g->cfg.msg_size_max = num;
	} else if (strcmp(word, "errors_max") == 0) {
		g->cfg.errors_max = (unsigned) num;
	} else if (strcmp(word, "refuse_rcpt") == 0) {
		static char refuse[256];

		if (sscanf(line, "@refuse_rcpt %255s", refuse) != 1)
			return -1;
		g->f.refuse_rcpt = refuse;
	} else if (strcmp(word, "fini") == 0) {
		fprintf(g->out, "@ fini\n");
		smtp_session_fini(&g->s);
	} else {
		return -1;
	}
	return 0;
}

/* run - one pass over the script; the transcript goes to out */

static int run(const char *script, bool bytewise, FILE *out)
{
	static struct golden g;
	static char line[GOLDEN_LINE_MAX];
	static uint8_t bytes[GOLDEN_LINE_MAX];
	FILE *in = fopen(script, "r");
	size_t n;

	if (in == NULL) {
		fprintf(stderr, "smtp_golden: open %s: %s\n", script,
			strerror(errno));
		return -1;
	}
	memset(&g, 0, sizeof(g));
	smtp_config_defaults(&g.cfg);
	g.cfg.hostname = "mx.test";
	fake_upper_init(&g.f);
	g.f.s = &g.s;
	g.f.trace = out;
	g.f.before_trace = before_trace;
	g.f.user = &g;
	g.out = out;
	g.bytewise = bytewise;
	if (smtp_session_init(&g.s, &g.cfg, &fake_upper_ops, &g.f,
			      "198.18.0.2", 40000, 0) < 0)
		return -1;
	print_replies(&g);
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0] == '#' || line[0] == 0)
			continue;
		if (line[0] == '@') {
			if (directive(&g, line) < 0) {
				fprintf(stderr, "smtp_golden: %s: bad directive"
					" '%s'\n", script, line);
				fclose(in);
				fake_upper_free(&g.f);
				return -1;
			}
			continue;
		}
		n = unescape(line, bytes);
		fputs("C: ", out);
		fake_trace_escaped(out, bytes, n);
		fputc('\n', out);
		offer(&g, bytes, n);
	}
	fclose(in);
	if (g.pending_len)
		fprintf(out, "@ unread %zu\n", g.pending_len);
	smtp_session_fini(&g.s);
	print_replies(&g);
	fake_upper_free(&g.f);
	return 0;
}

/* transcript - run into a memory buffer */

static char *transcript(const char *script, bool bytewise)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	if (out == NULL)
		return NULL;
	if (run(script, bytewise, out) < 0) {
		fclose(out);
		free(buf);
		return NULL;
	}
	fclose(out);
	return buf;
}

/* read_file - the whole reference, NUL-terminated */

static char *read_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long len;

	if (fp == NULL || fseek(fp, 0, SEEK_END) < 0 || (len = ftell(fp)) < 0) {
		if (fp)
			fclose(fp);
		return NULL;
	}
	rewind(fp);
	buf = malloc((size_t) len + 1);
	if (buf == NULL || fread(buf, 1, (size_t) len, fp) != (size_t) len) {
		free(buf);
		fclose(fp);
		return NULL;
	}
	buf[len] = 0;
	fclose(fp);
	return buf;
}

/* first_diff - report where two transcripts part */

static void first_diff(const char *what, const char *want, const char *got)
{
	int line = 1;
	const char *w = want, *g = got, *ws = want, *gs = got;

	while (*w && *w == *g) {
		if (*w == '\n') {
			line++;
			ws = w + 1;
			gs = g + 1;
		}
		w++;
		g++;
	}
	printf("%s differs at line %d\n  want: %.*s\n  got:  %.*s\n", what, line,
	       (int) strcspn(ws, "\n"), ws, (int) strcspn(gs, "\n"), gs);
	printf("--- full transcript ---\n%s", got);
}

int main(int argc, char **argv)
{
	char *lines, *bytes, *ref;
	const char *update = getenv("SMTP_GOLDEN_UPDATE");
	int rc = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: smtp_golden script.in script.ref\n");
		return 2;
	}
	lines = transcript(argv[1], false);
	bytes = transcript(argv[1], true);
	if (lines == NULL || bytes == NULL)
		return 2;
	if (update && strcmp(update, "1") == 0) {
		FILE *fp = fopen(argv[2], "w");

		if (fp == NULL || fputs(lines, fp) < 0 || fclose(fp) != 0) {
			fprintf(stderr, "smtp_golden: write %s: %s\n", argv[2],
				strerror(errno));
			return 2;
		}
	}
	ref = read_file(argv[2]);
	if (ref == NULL) {
		fprintf(stderr, "smtp_golden: read %s: %s\n", argv[2],
			strerror(errno));
		return 2;
	}
	if (strcmp(ref, lines) != 0) {
		first_diff("write-per-line run", ref, lines);
		rc = 1;
	} else if (strcmp(ref, bytes) != 0) {
		first_diff("write-per-byte run", ref, bytes);
		rc = 1;
	}
	free(lines);
	free(bytes);
	free(ref);
	return rc;
}
