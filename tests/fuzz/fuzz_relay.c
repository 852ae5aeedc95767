/*
 * fuzz_relay.c - libFuzzer target: whatever a downstream MTA answers
 *
 *	The relay parses the downstream's replies (greeting, EHLO keywords,
 *	multi-line replies, PIPELINING-ordered answers). Each input is the
 *	whole byte stream a "downstream" sends: a loopback listener accepts
 *	the relay's connection, writes the input in pieces whose sizes come
 *	from the input's first byte, and closes. The relay must end the
 *	message exactly once, with a 2xx only if the stream really said so
 *	at the end of data, and never crash, hang or leak.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

/* Loop bound: the stream is finite and closed, so this is never reached
 * unless the relay stops making progress. */
#define FUZZ_RELAY_ROUNDS	100000

static int listen_fd = -1;
static uint16_t listen_port;

struct outcome {
	int calls;
	int code;
};

/* on_done - count completions */
static void on_done(void *ctx, const struct relay_result *res)
{
	struct outcome *o = ctx;

	o->calls++;
	o->code = res->code;
	if (res->code < 200 || res->code > 599)
		abort();
}

/* setup_listener - one loopback listener for the whole run */
static void setup_listener(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0
	    || listen(listen_fd, 16) < 0
	    || getsockname(listen_fd, (struct sockaddr *)&sa, &sl) < 0) {
		perror("fuzz_relay: listener");
		exit(1);
	}
	listen_port = ntohs(sa.sin_port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one downstream conversation */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const rcpt[] = { "a@example.net", "b@example.net" };
	static const char body[] = "Subject: x\r\n\r\n.dot\r\nline\r\n";
	struct envelope env = { "198.18.0.2", "c.example", "helo.example",
				"s@example.org", rcpt, 2 };
	struct iovec iov = { (void *)body, sizeof(body) - 1 };
	struct relay_config cfg;
	struct relay_msg msg;
	struct relay_pool *pool;
	struct outcome o = { 0, 0 };
	size_t step, off = 0;
	int srv = -1, rounds;

	if (listen_fd < 0)
		setup_listener();
	step = size ? 1 + data[0] % 64 : 1;
	relay_config_default(&cfg);
	snprintf(cfg.host, sizeof(cfg.host), "127.0.0.1");
	cfg.port = listen_port;
	cfg.max_conns = 1;
	if ((pool = relay_pool_new(&cfg)) == NULL)
		abort();
	memset(&msg, 0, sizeof(msg));
	msg.env = &env;
	msg.proto = "ESMTP";
	msg.source = "LOCAL";		/* XFORWARD SOURCE and IDENT (xtext) */
	msg.ident = "up+id=1";
	msg.qid = "mx1";
	msg.mail_params = " BODY=8BITMIME";
	msg.body = &iov;
	msg.nbody = 1;
	if (relay_pool_submit(pool, &msg, on_done, &o) < 0)
		abort();
	for (rounds = 0; o.calls == 0 && rounds < FUZZ_RELAY_ROUNDS; rounds++) {
		relay_pool_run(pool, (uint64_t)rounds);
		if (srv < 0) {
			srv = accept(listen_fd, NULL, NULL);
			continue;
		}
		if (off < size) {
			size_t n = size - off < step ? size - off : step;
			ssize_t w = send(srv, data + off, n, MSG_NOSIGNAL);

			if (w > 0)
				off += (size_t)w;
			else
				off = size;	/* the relay hung up: stop talking */
		} else if (srv >= 0) {
			char sink[4096];

			/* drain what the relay wrote, then hang up */
			while (recv(srv, sink, sizeof(sink), MSG_DONTWAIT) > 0)
				;
			shutdown(srv, SHUT_RDWR);
		}
	}
	if (o.calls != 1)
		abort();	/* every message ends exactly once */
	if (srv >= 0)
		close(srv);
	relay_pool_free(pool);
	if (o.calls != 1)
		abort();
	return 0;
}
