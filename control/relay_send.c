/*
 * relay_send.c - deliver message files through the relay (a test tool)
 *
 *	relay_send [-h host] [-p port] [-c conns] [-f from] [-x client-addr]
 *		[-n client-name] [-H helo] [-S source] [-I ident] [-Q qid]
 *		-r rcpt [-r rcpt...] FILE...
 *
 * DESCRIPTION
 *	Submits every FILE as one message to a relay pool and prints one JSON
 *	line per message as its delivery ends: file, code, text, stage,
 *	local, rcpt_codes. -S, -I and -Q give every message the up-stream's
 *	XFORWARD SOURCE and IDENT and our queue id (relay_msg's source, ident
 *	and qid). Exit status 0 when every message got a 2xx. Used
 *	by tests/relay against a real Postfix smtp-sink; also handy to check
 *	that a downstream accepts what mxgate will send it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "relay.h"

#define SEND_RCPT_MAX	100	/* -r options */
#define SEND_WAIT_MS	100	/* epoll wait between relay runs */

struct sent {
	const char *file;
	char *data;
	struct iovec iov;
	int done, code;
};

/* now_ms - monotonic milliseconds */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* on_done - print one delivery's outcome */
static void on_done(void *ctx, const struct relay_result *res)
{
	struct sent *s = ctx;
	size_t i;

	s->done = 1;
	s->code = res->code;
	fputs("{\"file\":", stdout);
	json_string(stdout, s->file, strlen(s->file));
	printf(",\"code\":%d,\"text\":", res->code);
	json_string(stdout, res->text, strlen(res->text));
	printf(",\"stage\":\"%s\",\"local\":%s,\"rcpt_codes\":[",
	       relay_stage_name(res->stage), res->local ? "true" : "false");
	for (i = 0; i < res->nrcpt; i++)
		printf("%s%d", i ? "," : "", res->rcpt_code[i]);
	printf("]}\n");
	fflush(stdout);
}

/* slurp - a whole file in memory */
static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0
	    && fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
		*len = fread(buf, 1, (size_t)n, fp);
	}
	fclose(fp);
	return buf;
}

/* main - submit, then run the pool until every message is done */
int main(int argc, char **argv)
{
	const char *rcpt[SEND_RCPT_MAX];
	struct relay_config cfg;
	struct envelope env = { "", "", "", "", rcpt, 0 };
	struct relay_msg msg;
	struct relay_pool *pool;
	struct sent *sent;
	const char *source = NULL, *ident = NULL, *qid = NULL;
	int c, i, n, bad = 0, pending;

	relay_config_default(&cfg);
	while ((c = getopt(argc, argv, "h:p:c:f:x:n:H:S:I:Q:r:")) != -1) {
		switch (c) {
		case 'h': snprintf(cfg.host, sizeof(cfg.host), "%s", optarg); break;
		case 'p': cfg.port = (uint16_t)atoi(optarg); break;
		case 'c': cfg.max_conns = (unsigned)atoi(optarg); break;
		case 'f': env.mail_from = optarg; break;
		case 'x': env.client_addr = optarg; break;
		case 'n': env.client_name = optarg; break;
		case 'H': env.helo = optarg; break;
		case 'S': source = optarg; break;
		case 'I': ident = optarg; break;
		case 'Q': qid = optarg; break;
		case 'r':
			if (env.nrcpt < SEND_RCPT_MAX)
				rcpt[env.nrcpt++] = optarg;
			break;
		default:
			fprintf(stderr, "usage: relay_send [-h host] [-p port] [-c conns]"
				" [-f from] [-x addr] [-n name] [-H helo] [-S source]"
				" [-I ident] [-Q qid] -r rcpt... FILE...\n");
			return 2;
		}
	}
	if (env.nrcpt == 0 || optind >= argc) {
		fprintf(stderr, "relay_send: need at least one -r and one FILE\n");
		return 2;
	}
	n = argc - optind;
	if ((sent = calloc((size_t)n, sizeof(*sent))) == NULL
	    || (pool = relay_pool_new(&cfg)) == NULL) {
		fprintf(stderr, "relay_send: %s\n", strerror(errno));
		return 2;
	}
	relay_pool_run(pool, now_ms());
	for (i = 0; i < n; i++) {
		size_t len = 0;

		sent[i].file = argv[optind + i];
		if ((sent[i].data = slurp(sent[i].file, &len)) == NULL) {
			fprintf(stderr, "relay_send: %s: %s\n", sent[i].file, strerror(errno));
			return 2;
		}
		sent[i].iov.iov_base = sent[i].data;
		sent[i].iov.iov_len = len;
		memset(&msg, 0, sizeof(msg));
		msg.env = &env;
		msg.proto = "ESMTP";
		msg.source = source;
		msg.ident = ident;
		msg.qid = qid;
		msg.client_port = 40000;
		msg.mail_params = " BODY=8BITMIME";
		msg.prepend = "X-Mxgate: relayed\r\n";
		msg.prepend_len = strlen(msg.prepend);
		msg.body = &sent[i].iov;
		msg.nbody = 1;
		if (relay_pool_submit(pool, &msg, on_done, &sent[i]) < 0) {
			fprintf(stderr, "relay_send: submit: %s\n", strerror(errno));
			return 2;
		}
	}
	do {
		struct epoll_event ev;

		epoll_wait(relay_pool_fd(pool), &ev, 1, SEND_WAIT_MS);
		relay_pool_run(pool, now_ms());
		for (pending = 0, i = 0; i < n; i++)
			pending += !sent[i].done;
	} while (pending);
	for (i = 0; i < n; i++) {
		bad += sent[i].code / 100 != 2;
		free(sent[i].data);
	}
	relay_pool_free(pool);
	free(sent);
	return bad ? 1 : 0;
}
